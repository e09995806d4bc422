"""bench/lib/stub.py - starting and talking to the Salesforce stand-in (tests/sfstub/).

The benchmark starts one stand-in org per data size, with the records split
evenly between Contacts and Leads, an API limit high enough never to matter,
and a request log (method, path with the SOQL, status, bytes, milliseconds;
never tokens).  The control API gives the per-phase API call counts
(/__stub/stats) and makes the "10 % changed" edits (/__stub/mutate).
"""

import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request


class Stub:
    def __init__(self, top, work, contacts, leads, seed=1):
        self.work = work
        self.port_file = os.path.join(work, "sfstub.port")
        self.log_path = os.path.join(work, "sfstub-requests.log")
        self.err_path = os.path.join(work, "sfstub.log")
        for p in (self.port_file, self.log_path):
            if os.path.exists(p):
                os.unlink(p)
        self.err = open(self.err_path, "ab")
        argv = [sys.executable, os.path.join(top, "tests", "sfstub", "sfstub.py"),
                "--port", "0", "--port-file", self.port_file, "--seed", str(seed),
                "--contacts", str(contacts), "--leads", str(leads),
                "--daily-limit", "100000000", "--log", self.log_path]
        self.proc = subprocess.Popen(argv, stdout=self.err, stderr=self.err)
        deadline = time.monotonic() + 600
        while not (os.path.exists(self.port_file) and os.path.getsize(self.port_file) > 0):
            if self.proc.poll() is not None:
                raise RuntimeError("sfstub exited with %d (see %s)" % (self.proc.returncode,
                                                                       self.err_path))
            if time.monotonic() > deadline:
                raise RuntimeError("sfstub did not start within 10 minutes")
            time.sleep(0.2)
        with open(self.port_file) as f:
            self.url = "http://127.0.0.1:%d" % int(f.read())
        self.pid = self.proc.pid

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.err.close()

    def ctl(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, method=method, data=data,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=600) as r:
            return json.loads(r.read().decode())

    def reset_stats(self):
        self.ctl("POST", "/__stub/stats/reset")

    def stats(self):
        return self.ctl("GET", "/__stub/stats")

    def mutate(self, ops):
        return self.ctl("POST", "/__stub/mutate", ops)

    def log_size(self):
        try:
            return os.path.getsize(self.log_path)
        except OSError:
            return 0

    def first_queries(self, since=0):
        """Request paths (with ?q=...) of the query/queryAll calls logged after byte offset since."""
        out = []
        with open(self.log_path, "rb") as f:
            f.seek(since)
            for line in f.read().decode("utf-8", "replace").splitlines():
                parts = line.split(" ")
                if len(parts) >= 3 and parts[0] == "GET":
                    path = urllib.parse.urlsplit(parts[1]).path
                    if path.endswith("/query") or path.endswith("/queryAll"):
                        out.append(parts[1])
        return out
