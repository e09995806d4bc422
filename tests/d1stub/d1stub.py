#!/usr/bin/env python3
"""d1stub.py - a stand-in for Cloudflare D1's HTTP query API, for tests.

Serves POST {base}/accounts/{account_id}/d1/database/{database_id}/query and
.../raw the way Cloudflare documents them, and runs the statements on a local
SQLite file: one transaction per request (a batch commits whole or not at
all), the bearer token checked, D1's documented limits enforced (100 bound
parameters per statement, 100,000 bytes of SQL per statement), and faults
switchable by a control endpoint (429 with Retry-After, 503, a reset
connection, a truncated body, an answer lost after the commit).  Python's
standard library only.  See README.md beside this file.
"""

import argparse
import json
import os
import re
import signal
import socket
import sqlite3
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_PARAMS = 100           # bound parameters per query
MAX_SQL_BYTES = 100000     # SQL statement length
MAX_BODY = 32 * 1024 * 1024

FAULT_KINDS = ("429", "503", "reset", "truncate", "lost", "delay")
TXN_RE = re.compile(r"^\s*(BEGIN|COMMIT|END|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


class D1Error(Exception):
    def __init__(self, status, code, message):
        Exception.__init__(self, message)
        self.status, self.code, self.message = status, code, message


def envelope(result, success=True, errors=None):
    return {"result": result, "success": success, "errors": errors or [], "messages": []}


def split_sql(sql):
    """Statements of a text joined by semicolons (sqlite3.complete_statement decides where one ends)."""
    out, cur = [], ""
    for part in sql.split(";"):
        cur += part + ";"
        if sqlite3.complete_statement(cur):
            if cur.strip(" \t\r\n;"):
                out.append(cur.strip())
            cur = ""
    if cur.strip(" \t\r\n;"):
        out.append(cur.strip())
    return out


def sqlite_code_name(e):
    name = getattr(e, "sqlite_errorname", None)
    if name:
        return "_".join(name.split("_")[:2])
    if isinstance(e, sqlite3.IntegrityError):
        return "SQLITE_CONSTRAINT"
    return "SQLITE_ERROR"


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []
        self.fired = 0

    def replace(self, items):
        for f in items:
            if not isinstance(f, dict) or f.get("kind") not in FAULT_KINDS:
                raise ValueError("fault kind must be one of " + ", ".join(FAULT_KINDS))
            f.setdefault("after", 0)
            f.setdefault("count", 1)
            f.setdefault("match", "")
            f.setdefault("retry_after", 1)
            f.setdefault("seconds", 1.0)
            f["seen"] = 0
        with self.lock:
            self.items = items

    def take(self, sql_text):
        """The fault that fires for a query request whose SQL is sql_text, or None."""
        with self.lock:
            for f in self.items:
                if f["match"] and f["match"] not in sql_text:
                    continue
                f["seen"] += 1
                if f["seen"] > f["after"] and f["count"] > 0:
                    f["count"] -= 1
                    self.fired += 1
                    return dict(f)
        return None


class Stub:
    def __init__(self, args):
        self.args = args
        self.db_lock = threading.Lock()
        self.conn = sqlite3.connect(args.db, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA busy_timeout = 5000")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.faults = Faults()
        self.stats = {"requests": 0, "queries": 0, "statements": 0, "commits": 0, "rejected": 0,
                      "auth_failures": 0, "max_params": 0, "max_batch": 0}

    def run(self, stmts):
        """Runs [(sql, params)] in one transaction; a list of D1 result objects, or raises D1Error."""
        results = []
        with self.db_lock:
            c = self.conn
            c.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in stmts:
                    if TXN_RE.match(sql):
                        raise D1Error(400, 7500, "D1 does not support transactions over the HTTP API: "
                                      "statements of one request (a batch) run as one transaction instead")
                    if len(sql.encode()) > MAX_SQL_BYTES:
                        raise D1Error(400, 7500, "statement too long: SQLITE_TOOBIG")
                    if len(params) > MAX_PARAMS:
                        raise D1Error(400, 7500, "too many SQL variables at offset %d: SQLITE_ERROR" % len(sql))
                    self.stats["max_params"] = max(self.stats["max_params"], len(params))
                    t0 = time.monotonic()
                    before = c.total_changes
                    try:
                        cur = c.execute(sql, params)
                        cols = [d[0] for d in cur.description] if cur.description else []
                        rows = cur.fetchall()
                    except sqlite3.Error as e:
                        raise D1Error(400, 7500, "%s: %s" % (e, sqlite_code_name(e)))
                    changes = c.total_changes - before
                    self.stats["statements"] += 1
                    results.append({"cols": cols, "rows": rows, "changes": changes,
                                    "last_row_id": cur.lastrowid or 0,
                                    "duration": (time.monotonic() - t0) * 1000.0})
                c.execute("COMMIT")
                self.stats["commits"] += 1
            except BaseException:
                c.execute("ROLLBACK")
                raise
        return results


def value_out(v):
    if isinstance(v, bytes):
        return list(v)
    return v


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "d1stub/1"

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        # headers and body go out in separate writes: without this, Nagle and delayed ACKs cost 40 ms a request
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *a):
        sys.stderr.write("d1stub: " + (fmt % a) + "\n")

    def send_json(self, status, obj, headers=None, truncate=False):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if truncate:
            self.wfile.write(body[: max(1, len(body) // 2)])
            self.wfile.flush()
            self.close_hard()
            return
        self.wfile.write(body)

    def close_hard(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        except OSError:
            pass
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def fail(self, status, code, message, headers=None):
        self.send_json(status, envelope(None, False, [{"code": code, "message": message}]), headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise D1Error(413, 7500, "request body too large")
        return self.rfile.read(n) if n else b""

    # -- control API ----------------------------------------------------------
    def control(self, method, path):
        stub = self.server.stub
        if path == "/__stub/faults" and method == "POST":
            try:
                stub.faults.replace(json.loads(self.read_body() or b"{}").get("faults", []))
            except (ValueError, AttributeError) as e:
                return self.send_json(400, {"error": str(e)})
            return self.send_json(200, {"ok": True})
        if path == "/__stub/stats":
            s = dict(stub.stats)
            s["faults_fired"] = stub.faults.fired
            s["faults_left"] = sum(f["count"] for f in stub.faults.items)
            return self.send_json(200, s)
        return self.send_json(404, {"error": "no such control path"})

    def do_GET(self):
        if self.path.startswith("/__stub/"):
            return self.control("GET", self.path)
        self.fail(404, 7000, "No route for that URI")

    def do_POST(self):
        path = self.path.split("?")[0]
        if path.startswith("/__stub/"):
            return self.control("POST", path)
        stub = self.server.stub
        stub.stats["requests"] += 1
        m = re.match(r"^(.*)/accounts/([^/]+)/d1/database/([^/]+)/(query|raw)$", path)
        if not m or m.group(1) != stub.args.prefix:
            self.read_body()
            return self.fail(404, 7000, "No route for that URI")
        auth = self.headers.get("Authorization") or ""
        if not auth.startswith("Bearer "):
            self.read_body()
            stub.stats["auth_failures"] += 1
            return self.fail(401, 10000, "Authentication error")
        if auth[7:] != stub.args.token:
            self.read_body()
            stub.stats["auth_failures"] += 1
            return self.fail(403, 10000, "Authentication error")
        if m.group(2) != stub.args.account or m.group(3) != stub.args.database:
            self.read_body()
            return self.fail(404, 7404, "The database %s could not be found" % m.group(3))
        raw = m.group(4) == "raw"
        try:
            body = json.loads(self.read_body() or b"null")
            stmts = self.statements(body)
        except D1Error as e:
            return self.fail(e.status, e.code, e.message)
        except ValueError as e:
            return self.fail(400, 7400, "the request body is not valid JSON: %s" % e)
        stub.stats["queries"] += 1
        stub.stats["max_batch"] = max(stub.stats["max_batch"], len(stmts))
        fault = stub.faults.take("\n".join(s for s, _ in stmts))
        if fault and fault["kind"] == "429":
            return self.fail(429, 971, "Please wait and consider throttling your request speed",
                             {"Retry-After": str(fault["retry_after"])})
        if fault and fault["kind"] == "503":
            return self.fail(503, 7500, "D1 is temporarily unavailable", {"Retry-After": str(fault["retry_after"])})
        if fault and fault["kind"] == "reset":
            return self.close_hard()
        if fault and fault["kind"] == "delay":
            time.sleep(float(fault["seconds"]))  # then executed and answered (if anyone still listens)
        try:
            results = stub.run(stmts)
        except D1Error as e:
            stub.stats["rejected"] += 1
            return self.fail(e.status, e.code, e.message)
        if fault and fault["kind"] == "lost":
            return self.close_hard()  # committed; the answer never arrives
        out = []
        for r in results:
            meta = {"changed_db": r["changes"] > 0, "changes": r["changes"], "duration": r["duration"],
                    "last_row_id": r["last_row_id"], "rows_read": len(r["rows"]), "rows_written": r["changes"],
                    "size_after": os.path.getsize(stub.args.db)}
            if raw:
                res = {"columns": r["cols"], "rows": [[value_out(v) for v in row] for row in r["rows"]]}
            else:
                res = [dict(zip(r["cols"], [value_out(v) for v in row])) for row in r["rows"]]
            out.append({"results": res, "success": True, "meta": meta})
        self.send_json(200, envelope(out), truncate=bool(fault and fault["kind"] == "truncate"))

    @staticmethod
    def statements(body):
        """[(sql, params)] of a {sql, params} or {batch: [...]} body."""
        if isinstance(body, dict) and "batch" in body:
            items = body["batch"]
            if not isinstance(items, list) or not items:
                raise D1Error(400, 7400, "batch must be a non-empty array of {sql, params}")
        else:
            items = [body]
        out = []
        for it in items:
            if not isinstance(it, dict) or not isinstance(it.get("sql"), str):
                raise D1Error(400, 7400, "each query needs a string \"sql\"")
            params = it.get("params") or []
            if not isinstance(params, list) or any(isinstance(p, (dict, list)) for p in params):
                raise D1Error(400, 7400, "params must be an array of scalars")
            parts = split_sql(it["sql"])
            if len(parts) > 1 and params:
                raise D1Error(400, 7500, "parameters bound to several statements joined by semicolons")
            out.extend((p, params) for p in parts)
        if not out:
            raise D1Error(400, 7500, "no SQL statements in the request")
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="SQLite file the statements run on")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--token", default="d1-test-token")
    ap.add_argument("--account", default="acc0123")
    ap.add_argument("--database", default="db-0000-1111")
    ap.add_argument("--prefix", default="/client/v4", help="path the API lives under")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a test's cleanup stops it: not a failure
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.stub = Stub(args)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(srv.server_address[1]))
        os.rename(tmp, args.port_file)
    try:
        srv.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


if __name__ == "__main__":
    main()
