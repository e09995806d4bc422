#!/usr/bin/env python3
"""A recording pass-through for the Salesforce stand-in's token endpoint.

The secret-leak test must know every access and refresh token the org
issued, to look for each of them in the engine's log; the stand-in, rightly,
never shows them.  Pointed at by the source's login_url, this server forwards
POST /services/oauth2/token to the stand-in unchanged, returns the answer
unchanged (status, body; the answer's instance_url still names the stand-in,
so API calls go there directly), and appends every access_token and
refresh_token it saw to --record, one per line.  Loopback only, standard
library only.

usage: token_tap.py --upstream URL --record FILE --port-file FILE
"""
import argparse
import http.server
import json
import os
import threading
import urllib.error
import urllib.request


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--record", required=True)
    ap.add_argument("--port-file", required=True)
    a = ap.parse_args()
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() in ("content-type", "accept", "authorization")}
            req = urllib.request.Request(a.upstream + self.path, data=body, headers=headers, method="POST")
            try:
                with urllib.request.urlopen(req, timeout=30) as r:
                    status, payload, ctype = r.status, r.read(), r.headers.get("Content-Type")
            except urllib.error.HTTPError as e:
                status, payload, ctype = e.code, e.read(), e.headers.get("Content-Type")
            try:
                doc = json.loads(payload)
                seen = [doc[k] for k in ("access_token", "refresh_token") if isinstance(doc, dict) and doc.get(k)]
            except ValueError:
                seen = []
            if seen:
                with lock, open(a.record, "a") as f:
                    f.write("".join(t + "\n" for t in seen))
            self.send_response(status)
            self.send_header("Content-Type", ctype or "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
