#!/usr/bin/env python3
"""bench/lib/pagefetch.py - how fast the Salesforce stand-in can serve pages, alone.

The source-side ceiling of the benchmark: a minimal client fetches every page
of the same queries the engine ran (same SOQL, same page size, gzip accepted
as the engine's libcurl does), following nextRecordsUrl over one keep-alive
connection.  It decompresses each page (as any client must) but does not
parse the records: it only finds nextRecordsUrl near the start of the page,
so nearly all of the time measured is the stand-in's (query, serialization,
gzip, HTTP).  The client shares the machine's cores with the stand-in.

    pagefetch.py BASE_URL QUERY_PATH... [--batch-size N]

prints JSON {"records", "pages", "wall", "bytes"}.
"""

import argparse
import http.client
import json
import re
import sys
import time
import urllib.parse
import zlib

NEXT_RE = re.compile(rb'"nextRecordsUrl":"([^"]+)"')
TOTAL_RE = re.compile(rb'"totalSize":(\d+)')


def token(conn, client_id, secret, refresh):
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": client_id,
                                   "client_secret": secret, "refresh_token": refresh})
    conn.request("POST", "/services/oauth2/token", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise RuntimeError("token request failed: HTTP %d" % r.status)
    return json.loads(data)["access_token"]


def fetch_all(base, paths, batch_size=2000, client_id="test-client-id",
              secret="test-client-secret", refresh="test-refresh-token"):
    u = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    t0 = time.monotonic()
    hdrs = {"Authorization": "Bearer " + token(conn, client_id, secret, refresh),
            "Accept-Encoding": "gzip", "Sforce-Query-Options": "batchSize=%d" % batch_size}
    records = pages = nbytes = 0
    for path in paths:
        first = True
        while path:
            conn.request("GET", path, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            if r.status != 200:
                raise RuntimeError("GET %s: HTTP %d %s" % (path[:80], r.status, raw[:200]))
            nbytes += len(raw)
            if r.getheader("Content-Encoding") == "gzip":
                raw = zlib.decompress(raw, 16 + zlib.MAX_WBITS)
            head = raw[:600]
            if first:
                m = TOTAL_RE.search(head)
                records += int(m.group(1)) if m else 0
                first = False
            m = NEXT_RE.search(head)
            path = m.group(1).decode() if m else None
            pages += 1
    wall = time.monotonic() - t0
    conn.close()
    return {"records": records, "pages": pages, "wall": wall, "bytes": nbytes}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("base")
    p.add_argument("paths", nargs="+")
    p.add_argument("--batch-size", type=int, default=2000)
    a = p.parse_args()
    json.dump(fetch_all(a.base, a.paths, a.batch_size), sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
