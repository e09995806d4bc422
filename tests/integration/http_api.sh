#!/bin/bash
# http_api.sh - the daemon's HTTP API (core/http/, docs/operations.md), with the
# generate source and the null sink, so no database is needed:
#
#   - http_listen is checked: a non-loopback address needs http_insecure, a bad
#     address or a short token is a configuration error (exit 3);
#   - /healthz, /readyz, /api/v1/status, /api/v1/jobs/NAME/runs and /metrics
#     answer with the documented shapes;
#   - changes need the bearer token: none or a wrong one is 401 and nothing
#     runs; bad requests (unknown job, bad JSON, an oversized body, '..' in the
#     path, a wrong method) get a clear 4xx and nothing runs;
#   - POST .../run starts a run now and returns its id, which shows in status,
#     in the run history and as a field of the JSON log; a second one while it
#     runs is 409 naming where it runs; {"full_refresh": true} reads from the start;
#   - readers hammering the API while a run writes all get answers, and slow
#     clients (one sending its request byte by byte, one never reading) hold
#     up neither runs nor other requests;
#   - pause survives a restart, resume undoes it, verify is 501; requests go on
#     while SIGHUP reloads the configuration;
#   - without a token configured changes are 403; http_token_file works (and a
#     token file others may read is warned about); the token is in no answer,
#     no metric and no log line.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/http.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
export TOK=http-api-test-token-7f3c2a91
export SE_TOKEN=$TOK

conf() { # FILE, extra [engine] lines
    cat >"$1" <<INI
[engine]
state_dir = $T/state
log_format = json
$2
[source g]
plugin = generate
streams = things
records = 1000000
[source small]
plugin = generate
streams = items
records = 50
[sink s]
plugin = null
[job big]
source = g
sink = s
schedule = 0 0 1 1 *
[stream big.things]
object = things
[job small]
source = small
sink = s
schedule = 0 0 1 1 *
[stream small.items]
object = items
INI
}

note "http_listen and the token are checked like any option"
expect_conf_error() { # what, pattern, [engine] lines
    conf "$T/bad.ini" "$3"
    $SYNCENGINE check -c "$T/bad.ini" --plugin-dir "$O/plugins" >"$T/check.out" 2>&1
    rc=$?
    [ $rc -eq 3 ] || die "$1: check exited $rc, not 3: $(cat "$T/check.out")"
    grep -q "$2" "$T/check.out" || die "$1: no '$2' in: $(cat "$T/check.out")"
}
expect_conf_error "non-loopback" "option 'http_listen': 0.0.0.0:9187 is not a loopback address.*http_insecure" \
    "http_listen = 0.0.0.0:9187"
expect_conf_error "bad address" "option 'http_listen': 'localhost' is not ADDRESS:PORT" "http_listen = localhost"
expect_conf_error "short token" "option 'http_token': the token must be at least 16 characters" \
    "http_listen = 127.0.0.1:0
http_token = short"
conf "$T/ok.ini" "http_listen = 0.0.0.0:9187
http_insecure = on"
$SYNCENGINE check -c "$T/ok.ini" --plugin-dir "$O/plugins" >/dev/null 2>&1 || die "http_insecure = on was refused"

conf "$T/a.ini" "http_listen = 127.0.0.1:0
http_token = \${SE_TOKEN}"
http_daemon a "$T/a.ini"
export HTTP_URL T
mkdir -p "$T/answers"

note "read endpoints and their shapes"
python3 - <<'PY' || die "read endpoints"
import json, os, urllib.request
base = os.environ["HTTP_URL"]
def get(path):
    r = urllib.request.urlopen(base + path, timeout=30)
    return r.status, r.headers, r.read().decode()
s, h, b = get("/healthz")
assert s == 200 and json.loads(b) == {"status": "ok", "checks": [{"sink": "s", "ok": True}]}, b
s, h, b = get("/readyz")
assert s == 200 and json.loads(b)["status"] == "ready", b
s, h, b = get("/api/v1/status")
assert s == 200 and h["Content-Type"] == "application/json" and h["Cache-Control"] == "no-store", h
st = json.loads(b)
assert st["version"] == 1 and st["exit_code"] == 0 and st["engine"]["version"], st
assert [j["name"] for j in st["jobs"]] == ["big", "small"], st
for j in st["jobs"]:
    for k in ("enabled", "next_run", "last_run", "runs_from", "recent_runs", "state", "paused", "running",
              "run_id", "last_error", "streams", "api"):
        assert k in j, (k, j)
    assert j["state"] == "scheduled" and j["last_run"] is None and j["next_run"].startswith("20"), j
    assert j["streams"][0]["lag_seconds"] is None and j["api"]["calls"] == 0, j
s, h, b = get("/api/v1/jobs/small/runs")
assert s == 200 and json.loads(b) == {"version": 1, "job": "small", "runs_from": "state", "runs": []}, b
s, h, b = get("/metrics")
assert s == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4"), h
assert 'syncengine_runs_total{sync_job="small",status="success"} 0' in b, b
open(os.environ["T"] + "/answers/metrics0", "w").write(b)
PY

note "changes without the token, and bad requests, are refused and do nothing"
python3 - <<'PY' || die "refusals"
import json, os, socket, urllib.request, urllib.error
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
def req(method, path, body=None, token=None, raw=False):
    h = {"Authorization": "Bearer " + token} if token else {}
    r = urllib.request.Request(base + path, method=method, data=body, headers=h)
    try:
        x = urllib.request.urlopen(r, timeout=30)
        return x.status, x.headers, x.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()
def expect(want, code, *a, **k):
    s, h, b = req(*a, **k)
    assert s == want, (a, s, b)
    d = json.loads(b)
    assert d["code"] == code and d["error"] and d["error"][0].islower(), (a, d)
    return h, d
h, d = expect(401, "unauthorized", "POST", "/api/v1/jobs/small/run")
assert h["WWW-Authenticate"].startswith("Bearer"), h
expect(401, "unauthorized", "POST", "/api/v1/jobs/small/run", token=tok + "x")
expect(401, "unauthorized", "POST", "/api/v1/jobs/small/run", token=tok[:-1])
expect(401, "unauthorized", "POST", "/api/v1/jobs/small/pause", token="wrong")
expect(401, "unauthorized", "POST", "/api/v1/jobs/nosuchjob/run")
expect(404, "unknown_job", "POST", "/api/v1/jobs/nosuchjob/run", token=tok)
expect(404, "unknown_job", "GET", "/api/v1/jobs/nosuchjob/runs")
expect(400, "bad_json", "POST", "/api/v1/jobs/small/run", body=b"{full_refresh: yes", token=tok)
expect(400, "bad_json", "POST", "/api/v1/jobs/small/run", body=b"[true]", token=tok)
expect(400, "bad_json", "POST", "/api/v1/jobs/small/run", body=b'{"full_refresh": "yes"}', token=tok)
expect(400, "bad_json", "POST", "/api/v1/jobs/small/run", body=b'{"fullrefresh": true}', token=tok)
expect(413, "body_too_large", "POST", "/api/v1/jobs/small/run", body=b" " * 5000, token=tok)
expect(413, "body_too_large", "POST", "/api/v1/jobs/small/run", body=b"x" * 1000000, token=tok)
expect(405, "method_not_allowed", "GET", "/api/v1/jobs/small/run")
expect(405, "method_not_allowed", "DELETE", "/metrics")
expect(404, "not_found", "GET", "/api/v2/status")
expect(404, "not_found", "GET", "/etc/passwd")
expect(400, "bad_limit", "GET", "/api/v1/jobs/small/runs?limit=abc")
expect(400, "bad_limit", "GET", "/api/v1/jobs/small/runs?limit=100000")
# '..' sent as is and percent-encoded (urllib would keep it, but speak HTTP directly to be sure)
for path in ["/api/v1/jobs/../../small/run", "/api/v1/jobs/%2e%2e/small/run", "/api/v1/jobs/small%2F..%2Fbig/run",
             "/api/v1/jobs//run", "/../etc/passwd"]:
    host, port = base[7:].split(":")
    s = socket.create_connection((host, int(port)), timeout=30)
    s.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n" % (path, tok)).encode())
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    line = data.split(b"\r\n", 1)[0].decode()
    assert line.split()[1] in ("400", "404"), (path, line)
    assert b"small" not in data.split(b"\r\n\r\n", 1)[1] or b"no job" in data, (path, data)
PY
sleep 0.5
grep -q "run requested" "$T/a.log" && die "a refused request started a run: $(grep 'run requested' "$T/a.log")"
[ "$(hreq GET /api/v1/jobs/small/runs | tail -n +2 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["runs"]))')" = 0 ] ||
    die "a refused request left a run"

note "POST .../run: a run now, its id in status, the history and the JSON log"
python3 - <<'PY' || die "manual run"
import json, os, time, urllib.request
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
def post(path, body=b""):
    r = urllib.request.Request(base + path, method="POST", data=body, headers={"Authorization": "Bearer " + tok})
    x = urllib.request.urlopen(r, timeout=60)
    return x.status, json.loads(x.read())
def get(path):
    return json.loads(urllib.request.urlopen(base + path, timeout=30).read())
s, d = post("/api/v1/jobs/small/run")
assert s == 202 and d["job"] == "small" and len(d["run_id"]) == 36 and d["full_refresh"] is False, d
rid = d["run_id"]
for _ in range(300):
    j = [j for j in get("/api/v1/status")["jobs"] if j["name"] == "small"][0]
    if j["last_run"] and j["last_run"].get("run_id") == rid and not j["running"]:
        break
    time.sleep(0.1)
else:
    raise SystemExit("run %s never showed in status: %s" % (rid, j))
assert j["last_run"]["status"] == "success" and j["last_run"]["processed"] == 50, j
assert j["recent_runs"][0]["run_id"] == rid and j["last_error"] is None, j
runs = get("/api/v1/jobs/small/runs?limit=5")["runs"]
assert runs[0]["run_id"] == rid, runs
open(os.environ["T"] + "/rid", "w").write(rid)
s, d = post("/api/v1/jobs/small/run", b'{"full_refresh": true}')
assert s == 202 and d["full_refresh"] is True, d
open(os.environ["T"] + "/rid_full", "w").write(d["run_id"])
PY
python3 - "$T/a.log" "$(cat "$T/rid")" "$(cat "$T/rid_full")" <<'PY' || die "the JSON log lacks the run's fields"
import json, sys, time
log, rid, rfull = sys.argv[1:4]
for _ in range(100):
    lines = [json.loads(l) for l in open(log) if l.startswith("{")]
    if any(l.get("run") == rfull and "run success" in l["msg"] for l in lines):
        break
    time.sleep(0.1)
mine = [l for l in lines if l.get("run") == rid]
assert any(l["msg"] == "run requested over HTTP" and l["job"] == "small" for l in mine), (rid, lines[-8:])
assert any(l.get("stream") == "items" for l in mine), mine
assert any("run success" in l["msg"] for l in mine), mine
assert any(l.get("run") == rfull and l["msg"] == "run started (full refresh)" for l in lines), lines[-10:]
PY

note "a run of a million records: 409 while it goes, readers and slow clients do not hold it up"
start=$(date +%s)
python3 - <<'PY' || die "concurrency"
import json, os, socket, threading, time, urllib.request, urllib.error
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
host, port = base[7:].split(":")
port = int(port)
def post(path, body=b""):
    r = urllib.request.Request(base + path, method="POST", data=body, headers={"Authorization": "Bearer " + tok})
    try:
        x = urllib.request.urlopen(r, timeout=60)
        return x.status, json.loads(x.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
# slow clients first: one sends its request a byte at a time, others ask for /metrics and never read
slow = []
for i in range(4):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect((host, port))
    s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50)  # pipelined, never read
    slow.append(s)
dribble = socket.create_connection((host, port))
stop = threading.Event()
def drip():
    for ch in b"GET /metrics HTTP/1.1\r\nHost: x\r\n":
        if stop.is_set():
            return
        dribble.send(bytes([ch]))
        time.sleep(0.3)
threading.Thread(target=drip, daemon=True).start()

s, d = post("/api/v1/jobs/big/run")
assert s == 202, (s, d)
rid = d["run_id"]
s, d = post("/api/v1/jobs/big/run")
assert s == 409 and d["code"] == "running" and d["where"] == "this engine" and d["run_id"] == rid, (s, d)

errors, count = [], [0]
def reader(paths):
    while not stop.is_set():
        for p in paths:
            try:
                t0 = time.time()
                r = urllib.request.urlopen(base + p, timeout=30)
                r.read()
                if r.status != 200:
                    errors.append((p, r.status))
                count[0] += 1
            except Exception as e:
                errors.append((p, repr(e)))
threads = [threading.Thread(target=reader, args=(ps,)) for ps in
           [["/metrics"], ["/api/v1/status"], ["/"], ["/api/v1/jobs/big/runs", "/healthz"]] * 2]
for t in threads:
    t.start()
seen_running = False
t0 = time.time()
while time.time() - t0 < 120:
    j = [j for j in json.loads(urllib.request.urlopen(base + "/api/v1/status", timeout=30).read())["jobs"]
         if j["name"] == "big"][0]
    seen_running |= j["running"] and j["run_id"] == rid and j["state"] == "running"
    if j["last_run"] and j["last_run"].get("run_id") == rid and not j["running"]:
        break
    time.sleep(0.2)
else:
    raise SystemExit("the big run did not end in 120 s")
t1 = time.time()
r = urllib.request.urlopen(base + "/healthz", timeout=5)
assert r.status == 200 and time.time() - t1 < 2, "healthz slow while slow clients hold connections"
stop.set()
for t in threads:
    t.join()
for s in slow:
    s.close()
dribble.close()
assert seen_running, "status never showed the run going on"
assert j["last_run"]["status"] == "success" and j["last_run"]["processed"] == 1000000, j
assert not errors, errors[:5]
assert count[0] > 20, count
print("%d answers while the run went on (%.1f s)" % (count[0], t1 - t0))
m = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
assert 'syncengine_records_total{sync_job="big",stream="things",action="inserted"} 1000000' in m, m
assert 'syncengine_runs_total{sync_job="big",status="success"} 1' in m, m
assert 'syncengine_runs_total{sync_job="small",status="success"} 2' in m, m
PY

note "pause survives a restart; resume; verify is 501"
python3 - <<'PY' || die "pause"
import json, os, urllib.request, urllib.error
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
def post(path):
    r = urllib.request.Request(base + path, method="POST", headers={"Authorization": "Bearer " + tok})
    try:
        x = urllib.request.urlopen(r, timeout=60)
        return x.status, json.loads(x.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
s, d = post("/api/v1/jobs/small/pause")
assert s == 200 and d == {"job": "small", "paused": True, "state": "paused"}, d
s, d = post("/api/v1/jobs/small/verify")
assert s == 501 and d["code"] == "cannot_verify" and "small" in d["error"], d
m = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
assert 'syncengine_job_paused{sync_job="small"} 1' in m, m
PY
http_stop
http_daemon a2 "$T/a.ini"
grep -q '"job":"small".*paused: no scheduled runs' "$T/a2.log" || die "the restarted daemon forgot the pause"
python3 - <<'PY' || die "resume"
import json, os, urllib.request
base, tok = os.environ["HTTP_URL"], os.environ["TOK"]
j = [j for j in json.loads(urllib.request.urlopen(base + "/api/v1/status").read())["jobs"] if j["name"] == "small"][0]
assert j["paused"] is True and j["state"] == "paused" and j["next_run"] is None, j
r = urllib.request.Request(base + "/api/v1/jobs/small/resume", method="POST", headers={"Authorization": "Bearer " + tok})
d = json.loads(urllib.request.urlopen(r, timeout=30).read())
assert d == {"job": "small", "paused": False, "state": "scheduled"}, d
j = [j for j in json.loads(urllib.request.urlopen(base + "/api/v1/status").read())["jobs"] if j["name"] == "small"][0]
assert j["paused"] is False and j["next_run"], j
PY
# a configuration reload replaces the engine under the server: requests go on, the pause is still known
python3 - <<'PY' &
import os, time, urllib.request
base = os.environ["HTTP_URL"]
end = time.time() + 3
while time.time() < end:
    assert urllib.request.urlopen(base + "/api/v1/status", timeout=30).status == 200
PY
readers=$!
sleep 0.5
kill -HUP $HTTP_PID
i=0
until grep -q "configuration reloaded: 2 job" "$T/a2.log"; do
    i=$((i + 1)); [ $i -gt 100 ] && die "no reload: $(tail -n 3 "$T/a2.log")"
    sleep 0.1
done
wait $readers || die "requests failed around the reload"
hreq POST /api/v1/jobs/small/pause '' "$TOK" | head -1 | grep -q 200 || die "pause after the reload"
[ "$(hreq GET /metrics | grep -c 'syncengine_job_paused{sync_job="small"} 1')" = 1 ] || die "the reloaded engine does not know the pause"
hreq POST /api/v1/jobs/small/resume '' "$TOK" | head -1 | grep -q 200 || die "resume after the reload"
# collect every kind of answer once more for the secret check
for p in / /api/v1/status /metrics /healthz /api/v1/jobs/big/runs; do hreq GET "$p" >>"$T/answers/all"; done
hreq POST /api/v1/jobs/big/run '' "$TOK" >>"$T/answers/all"
hreq POST /api/v1/jobs/big/run '' "wrong" >>"$T/answers/all"
http_stop

note "no token configured: changes are 403, reads work"
conf "$T/b.ini" "http_listen = 127.0.0.1:0"
http_daemon b "$T/b.ini"
out=$(hreq POST /api/v1/jobs/small/run '' "$TOK")
[ "$(echo "$out" | head -1)" = 403 ] && echo "$out" | grep -q '"code": "no_token_configured"' ||
    die "without a token a change answered: $out"
[ "$(hreq GET /api/v1/status | head -1)" = 200 ] || die "reads fail without a token"
http_stop

note "http_token_file: the token from a file (a warning when others may read it)"
printf '%s\n' "$TOK-from-file" >"$T/token"
chmod 644 "$T/token"
conf "$T/c.ini" "http_listen = 127.0.0.1:0
http_token_file = token"
$SYNCENGINE check -c "$T/c.ini" --plugin-dir "$O/plugins" >"$T/check.out" 2>&1 || die "check: $(cat "$T/check.out")"
grep -q "option 'http_token_file': .*/token is readable by other users (mode 0644); chmod 600 it" "$T/check.out" ||
    die "no warning about a readable token file: $(cat "$T/check.out")"
chmod 600 "$T/token"
http_daemon c "$T/c.ini"
grep -q "readable by other users" "$T/c.log" && die "a warning about a private token file"
[ "$(hreq POST /api/v1/jobs/small/run '' "$TOK" | head -1)" = 401 ] || die "the configured token of another file worked"
[ "$(hreq POST /api/v1/jobs/small/run '' "$TOK-from-file" | head -1)" = 202 ] || die "the file's token was refused"
cp "$T/last.headers" "$T/answers/headers-c"
http_stop

note "the token is in no answer and no log line"
for f in "$T"/answers/* "$T"/a.log "$T"/a2.log "$T"/b.log "$T"/c.log "$T"/last.headers; do
    if grep -q "$TOK" "$f"; then die "the token appears in $f"; fi
done
echo ok
