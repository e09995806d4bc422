#!/usr/bin/env python3
"""elstub.py - a stand-in for ElevenLabs' Conversational AI API, for the tests.

Written from ElevenLabs' API reference (Python standard library only):

  GET /v1/convai/conversations
      query: cursor, page_size (1..100, default 30), agent_id,
             call_start_after_unix, call_start_before_unix
      200 {"conversations": [{agent_id, agent_name, conversation_id,
           start_time_unix_secs, call_duration_secs, message_count, status,
           call_successful}], "has_more": bool, "next_cursor": str|null}
      Newest first (start_time_unix_secs descending).  The cursor is an
      opaque token that encodes an offset into that order, so a conversation
      inserted at the head while a client pages shifts the later pages (the
      client sees one conversation twice).
  GET /v1/convai/conversations/{conversation_id}
      200 {agent_id, conversation_id, status, transcript: [{role: "user" |
           "agent", message, time_in_call_secs}], metadata, analysis}
      404 {"detail": {"status": "conversation_not_found", "message": ...}}
  Authentication: the xi-api-key header; missing or wrong ->
      401 {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}
  A bad parameter -> 422 {"detail": [{"loc": ["query", NAME], "msg": ..., "type": ...}]}

Control API for tests (no authentication):
  POST   /__stub/faults  {"faults": [FAULT...]}   replace the fault list
  GET    /__stub/faults                           the list, with "fired" counts
  DELETE /__stub/faults
      FAULT: {"match": "list" | "detail" | "any", "after": N (let N matching
      requests pass first), "times": K (-1: forever), "kind": "status" |
      "reset" | "truncate" | "nonjson" | "slow", "status": 429,
      "retry_after": "1", "delay": SECONDS}
  POST   /__stub/mutate  [OP...]
      {"op": "insert", "count": N}               N new conversations, started now
      {"op": "add_messages", "conversation_id": ID, "count": N}
      {"op": "insert_on_list", "after": K, "count": N}
                                                 insert N when the K-th list
                                                 request (from now) is served,
                                                 before it is answered
      {"op": "set_nul", "conversation_id": ID, "position": P}
                                                 put a NUL character in a message
  GET    /__stub/stats   {"requests", "list", "detail", "unauthorized", "faulted"}
  POST   /__stub/stats/reset
  GET    /__stub/truth   every conversation with its transcript
"""
import argparse
import base64
import json
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
PHRASES_USER = ["Hello?", "Who is calling?", "Tell me more about the campaign.", "I will pledge fifty dollars.",
                "No thanks, not interested.", "I'll donate next month.", "Count me in!", "Not right now.",
                "What is it for?", "Okay, sounds good."]
PHRASES_AGENT = ["Hi, this is Henk calling for the food bank.", "We are raising money for winter meals.",
                 "Would you like to support us?", "Thank you so much!", "I understand, have a nice day."]


class World:
    def __init__(self, n, messages, spread, seed, agents, now):
        self.rng = random.Random(seed)
        self.convs = {}   # id -> conversation
        self.order = []   # ids, newest first
        self.next_id = 0
        self.messages = messages
        self.agents = agents
        for i in range(n):
            self._add(int(now) - 60 - i * spread)
        self.resort()
        self.faults = []
        self.triggers = []
        self.stats = {}
        self.reset_stats()

    def reset_stats(self):
        self.stats = {"requests": 0, "list": 0, "detail": 0, "unauthorized": 0, "faulted": 0}

    def _add(self, start):
        cid = "conv_%06d" % self.next_id
        self.next_id += 1
        agent = self.agents[self.next_id % len(self.agents)]
        transcript = []
        t = 0.0
        for p in range(self.messages):
            role = "agent" if p % 2 == 0 else "user"
            pool = PHRASES_AGENT if role == "agent" else PHRASES_USER
            transcript.append({"role": role, "message": pool[(self.next_id + p) % len(pool)],
                               "time_in_call_secs": round(t, 1)})
            t += 2.5
        self.convs[cid] = {"conversation_id": cid, "agent_id": agent, "agent_name": "Agent " + agent[-1],
                           "start_time_unix_secs": start, "status": "done", "call_successful": "success",
                           "transcript": transcript}
        return cid

    def resort(self):
        self.order = sorted(self.convs, key=lambda c: (-self.convs[c]["start_time_unix_secs"], c))

    def summary(self, c):
        return {"agent_id": c["agent_id"], "agent_name": c["agent_name"], "conversation_id": c["conversation_id"],
                "start_time_unix_secs": c["start_time_unix_secs"], "call_duration_secs": duration(c),
                "message_count": len(c["transcript"]), "status": c["status"],
                "call_successful": c["call_successful"]}

    def detail(self, c):
        return {"agent_id": c["agent_id"], "conversation_id": c["conversation_id"], "status": c["status"],
                "transcript": c["transcript"],
                "metadata": {"start_time_unix_secs": c["start_time_unix_secs"], "call_duration_secs": duration(c),
                             "cost": 10 * len(c["transcript"]), "termination_reason": "end_call"},
                "analysis": {"call_successful": c["call_successful"],
                             "transcript_summary": "%d messages" % len(c["transcript"])}}


def duration(c):
    return int(c["transcript"][-1]["time_in_call_secs"]) + 3 if c["transcript"] else 0


WORLD = None


def encode_cursor(offset):
    return base64.urlsafe_b64encode(struct.pack(">Q", offset)).decode().rstrip("=")


def decode_cursor(tok):
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        return struct.unpack(">Q", raw)[0]
    except Exception:
        return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "elstub/1.0"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("elstub: " + (fmt % args) + "\n")

    def send_json(self, status, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def body_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(n) or b"null") if n else None

    # ---- faults
    def fault_for(self, kind):
        with LOCK:
            for f in WORLD.faults:
                if f.get("match", "any") not in ("any", kind):
                    continue
                f["seen"] = f.get("seen", 0) + 1
                if f["seen"] <= f.get("after", 0):
                    continue
                times = f.get("times", 1)
                if times != -1 and f.get("fired", 0) >= times:
                    continue
                f["fired"] = f.get("fired", 0) + 1
                WORLD.stats["faulted"] += 1
                return dict(f)
        return None

    def apply_fault(self, f, status, obj):
        k = f.get("kind", "status")
        if k == "status":
            st = f.get("status", 503)
            hdrs = {"Retry-After": str(f["retry_after"])} if "retry_after" in f else {}
            if st == 429:
                self.send_json(429, {"detail": {"status": "too_many_concurrent_requests",
                                                "message": "Too many concurrent requests"}}, hdrs)
            else:
                self.send_json(st, {"detail": {"status": "service_unavailable", "message": "try again"}}, hdrs)
            return True
        if k == "reset":
            # the status line arrives, then the connection is reset (RST): a client cannot
            # mistake it for a stale kept-alive connection and silently send it again
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
            self.wfile.flush()
            time.sleep(0.05)
            s = self.connection
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
            self.close_connection = True
            return True
        if k == "truncate":
            body = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return True
        if k == "nonjson":
            body = b"<html><body>502 Bad Gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return True
        if k == "slow":
            time.sleep(float(f.get("delay", 2)))
            return False
        return False

    # ---- API
    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/__stub/"):
            return self.control("GET", u.path)
        with LOCK:
            WORLD.stats["requests"] += 1
        if self.headers.get("xi-api-key") != self.server.api_key:
            with LOCK:
                WORLD.stats["unauthorized"] += 1
            return self.send_json(401, {"detail": {"status": "invalid_api_key", "message": "Invalid API key"}})
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        if u.path.rstrip("/") == "/v1/convai/conversations":
            return self.list(q)
        prefix = "/v1/convai/conversations/"
        if u.path.startswith(prefix) and "/" not in u.path[len(prefix):]:
            return self.get_one(urllib.parse.unquote(u.path[len(prefix):]))
        self.send_json(404, {"detail": "Not Found"})

    def bad(self, name, msg):
        self.send_json(422, {"detail": [{"loc": ["query", name], "msg": msg, "type": "value_error"}]})

    def list(self, q):
        def one(name):
            return q[name][-1] if name in q else None
        try:
            size = int(one("page_size") or 30)
        except ValueError:
            return self.bad("page_size", "value is not a valid integer")
        if size < 1 or size > 100:
            return self.bad("page_size", "ensure this value is between 1 and 100")
        after = before = None
        try:
            if one("call_start_after_unix") is not None:
                after = int(one("call_start_after_unix"))
            if one("call_start_before_unix") is not None:
                before = int(one("call_start_before_unix"))
        except ValueError:
            return self.bad("call_start_after_unix", "value is not a valid integer")
        offset = 0
        if one("cursor"):
            offset = decode_cursor(one("cursor"))
            if offset is None:
                return self.bad("cursor", "invalid cursor")
        with LOCK:
            WORLD.stats["list"] += 1
            for t in list(WORLD.triggers):
                t["after"] -= 1
                if t["after"] <= 0:
                    for _ in range(t.get("count", 1)):
                        WORLD._add(int(time.time()))
                    WORLD.resort()
                    WORLD.triggers.remove(t)
            sel = [WORLD.convs[c] for c in WORLD.order]
            agent = one("agent_id")
            if agent:
                sel = [c for c in sel if c["agent_id"] == agent]
            if after is not None:
                sel = [c for c in sel if c["start_time_unix_secs"] >= after]
            if before is not None:
                sel = [c for c in sel if c["start_time_unix_secs"] < before]
            page = [WORLD.summary(c) for c in sel[offset:offset + size]]
            more = offset + size < len(sel)
        obj = {"conversations": page, "has_more": more, "next_cursor": encode_cursor(offset + size) if more else None}
        f = self.fault_for("list")
        if f and self.apply_fault(f, 200, obj):
            return
        self.send_json(200, obj)

    def get_one(self, cid):
        with LOCK:
            WORLD.stats["detail"] += 1
            c = WORLD.convs.get(cid)
            obj = WORLD.detail(c) if c else None
        if obj is None:
            return self.send_json(404, {"detail": {"status": "conversation_not_found",
                                                   "message": "Conversation %s not found" % cid}})
        f = self.fault_for("detail")
        if f and self.apply_fault(f, 200, obj):
            return
        self.send_json(200, obj)

    # ---- control
    def do_POST(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/__stub/"):
            return self.control("POST", u.path)
        self.send_json(405, {"detail": "Method Not Allowed"})

    def do_DELETE(self):
        u = urllib.parse.urlsplit(self.path)
        if u.path.startswith("/__stub/"):
            return self.control("DELETE", u.path)
        self.send_json(405, {"detail": "Method Not Allowed"})

    def control(self, method, path):
        body = self.body_json() if method == "POST" else None
        with LOCK:
            if path == "/__stub/faults":
                if method == "POST":
                    WORLD.faults = list(body.get("faults", []))
                elif method == "DELETE":
                    WORLD.faults = []
                return self.send_json(200, {"faults": WORLD.faults})
            if path == "/__stub/stats":
                return self.send_json(200, WORLD.stats)
            if path == "/__stub/stats/reset":
                WORLD.reset_stats()
                return self.send_json(200, WORLD.stats)
            if path == "/__stub/truth":
                return self.send_json(200, [dict(WORLD.summary(WORLD.convs[c]), transcript=WORLD.convs[c]["transcript"])
                                            for c in WORLD.order])
            if path == "/__stub/mutate" and method == "POST":
                out = []
                for op in body or []:
                    kind = op.get("op")
                    if kind == "insert":
                        ids = [WORLD._add(int(op.get("start", time.time()))) for _ in range(op.get("count", 1))]
                        WORLD.resort()
                        out.append(ids)
                    elif kind == "add_messages":
                        c = WORLD.convs[op["conversation_id"]]
                        for i in range(op.get("count", 1)):
                            t = c["transcript"][-1]["time_in_call_secs"] + 2.5 if c["transcript"] else 0.0
                            role = "user" if len(c["transcript"]) % 2 else "agent"
                            c["transcript"].append({"role": role, "message": op.get("message", "And one more thing."),
                                                    "time_in_call_secs": t})
                        out.append(len(c["transcript"]))
                    elif kind == "insert_on_list":
                        WORLD.triggers.append({"after": op.get("after", 1), "count": op.get("count", 1)})
                        out.append("armed")
                    elif kind == "set_nul":
                        m = WORLD.convs[op["conversation_id"]]["transcript"][op["position"]]
                        m["message"] = "before\u0000after"
                        out.append("ok")
                    else:
                        return self.send_json(400, {"error": "unknown op %r" % kind})
                return self.send_json(200, out)
        self.send_json(404, {"error": "no such control endpoint"})


def main():
    global WORLD
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--api-key", default="xi-test-key")
    ap.add_argument("--conversations", type=int, default=50)
    ap.add_argument("--messages", type=int, default=6)
    ap.add_argument("--spread", type=int, default=60, help="seconds between conversation starts")
    ap.add_argument("--agents", default="agent_a,agent_b")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()
    WORLD = World(a.conversations, a.messages, a.spread, a.seed, a.agents.split(","), time.time())
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.daemon_threads = True
    srv.api_key = a.api_key
    srv.verbose = a.verbose
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
