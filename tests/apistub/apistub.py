#!/usr/bin/env python3
"""apistub.py - a small "issues" API, the second example for the http source.

Unlike the ElevenLabs stand-in it pages by number, offset, a next URL in the
body or a Link header, authenticates with a bearer token (a static one, or one
issued by an OAuth refresh-token grant), and filters incrementally by an
updated_since timestamp.  Python standard library only.

  GET /api/issues
      query: updated_since (ISO-8601, inclusive: updated_at >= it), per_page
             (default 10, at most 100), then either page (1-based; default 1)
             or offset
      200 {"items": [ISSUE...], "next": URL|null}  and, when another page
      follows, a Link: <ABSOLUTE-URL>; rel="next" header (page mode)
      ISSUE: {"id": int, "title", "state": "open"|"closed", "labels": [..],
              "assignee": {"login"}|null, "updated_at": "2024-...Z", "votes": int}
      Sorted by (updated_at, id) ascending.
  POST /oauth/token  (form: grant_type=refresh_token, client_id, refresh_token)
      200 {"access_token", "token_type": "bearer", "refresh_token"} (rotated)
      400 {"error": "invalid_grant"} for an unknown refresh token
  Authorization: Bearer TOKEN (--token, or one the token endpoint issued)
      otherwise 401 {"message": "Bad credentials"}

Control API: POST /__stub/mutate [{"op": "update", "id": N, "set": {...},
"stamp": ISO} | {"op": "insert", "count": N, "stamp": ISO}], POST
/__stub/expire_tokens [{"at_list": N}], GET /__stub/stats, POST /__stub/stats/reset,
GET /__stub/truth.
"""
import argparse
import json
import os
import secrets
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {}


def stamp(i):
    # five issues share each timestamp: ties everywhere
    return "2024-03-01T10:%02d:00Z" % (i // 5)


def make(i, ts=None):
    return {"id": i, "title": "Issue %d" % i, "state": "closed" if i % 4 == 0 else "open",
            "labels": ["bug"] if i % 3 == 0 else [], "assignee": {"login": "dev%d" % (i % 2)} if i % 2 else None,
            "updated_at": ts or stamp(i), "votes": i % 7}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else None
        return tok is not None and (tok == STATE["token"] or tok in STATE["issued"])

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        with LOCK:
            if u.path == "/__stub/stats":
                return self.send_json(200, STATE["stats"])
            if u.path == "/__stub/truth":
                return self.send_json(200, sorted(STATE["issues"].values(), key=lambda x: x["id"]))
            STATE["stats"]["requests"] += 1
            if u.path != "/api/issues":
                return self.send_json(404, {"message": "Not Found"})
            STATE["seen_lists"] += 1
            if STATE["expire_at"] and STATE["seen_lists"] == STATE["expire_at"]:
                STATE["issued"].clear()
            if not self.authorized():
                STATE["stats"]["unauthorized"] += 1
                return self.send_json(401, {"message": "Bad credentials"})
            STATE["stats"]["list"] += 1
            q = {k: v[-1] for k, v in urllib.parse.parse_qs(u.query, keep_blank_values=True).items()}
            try:
                per = int(q.get("per_page", 10))
                page = int(q.get("page", 1))
                offset = int(q["offset"]) if "offset" in q else None
            except ValueError:
                return self.send_json(422, {"message": "Validation Failed"})
            if per < 1 or per > 100 or page < 1 or (offset is not None and offset < 0):
                return self.send_json(422, {"message": "Validation Failed"})
            rows = sorted(STATE["issues"].values(), key=lambda x: (x["updated_at"], x["id"]))
            since = q.get("updated_since")
            if since:
                rows = [r for r in rows if r["updated_at"] >= since]
            start = offset if offset is not None else (page - 1) * per
            items = rows[start:start + per]
            more = start + per < len(rows)
            nq = dict(q)
            nq["per_page"] = str(per)
            if offset is not None:
                nq["offset"] = str(start + per)
            else:
                nq["page"] = str(page + 1)
            nxt = "/api/issues?" + urllib.parse.urlencode(nq) if more else None
            hdrs = {}
            if more and offset is None:
                host = self.headers.get("Host", "127.0.0.1")
                hdrs["Link"] = '<http://%s%s>; rel="next", <http://%s/api/issues?page=1>; rel="first"' % (
                    host, nxt, host)
            return self.send_json(200, {"items": items, "next": nxt}, hdrs)

    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        raw = self.body()
        with LOCK:
            if u.path == "/oauth/token":
                STATE["stats"]["token"] += 1
                f = {k: v[-1] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
                if f.get("grant_type") != "refresh_token" or f.get("refresh_token") not in STATE["refresh"]:
                    return self.send_json(400, {"error": "invalid_grant", "error_description": "unknown token"})
                at = "at-" + secrets.token_hex(8)
                rt = "rt-" + secrets.token_hex(8)
                STATE["issued"].add(at)
                STATE["refresh"] = {rt}
                return self.send_json(200, {"access_token": at, "token_type": "bearer", "refresh_token": rt})
            if u.path == "/__stub/expire_tokens":
                # {"at_list": N}: when the N-th list request from now arrives; otherwise at once
                n = json.loads(raw or b"{}").get("at_list")
                if n:
                    STATE["seen_lists"], STATE["expire_at"] = 0, n
                else:
                    STATE["issued"].clear()
                return self.send_json(200, {})
            if u.path == "/__stub/stats/reset":
                STATE["stats"] = {"requests": 0, "list": 0, "token": 0, "unauthorized": 0}
                return self.send_json(200, {})
            if u.path == "/__stub/mutate":
                for op in json.loads(raw or b"[]"):
                    if op["op"] == "update":
                        STATE["issues"][op["id"]].update(op.get("set", {}))
                        STATE["issues"][op["id"]]["updated_at"] = op["stamp"]
                    elif op["op"] == "insert":
                        for _ in range(op.get("count", 1)):
                            i = max(STATE["issues"]) + 1
                            STATE["issues"][i] = make(i, op["stamp"])
                return self.send_json(200, {})
        self.send_json(404, {"message": "Not Found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--issues", type=int, default=23)
    ap.add_argument("--token", default="issues-test-token")
    ap.add_argument("--refresh-token", default="rt-initial")
    a = ap.parse_args()
    STATE.update(issues={i: make(i) for i in range(1, a.issues + 1)}, token=a.token, issued=set(),
                 refresh={a.refresh_token}, seen_lists=0, expire_at=0, stats={"requests": 0, "list": 0, "token": 0, "unauthorized": 0})
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(a.port_file + ".tmp", a.port_file)
    sys.stdout.flush()
    srv.serve_forever()


if __name__ == "__main__":
    main()
