#!/bin/bash
# http_lease.sh - POST /api/v1/jobs/NAME/run respects the job's lease, and
# /healthz reports the database: two daemons share the Henk database (the
# PostgreSQL sink's leases), each with its own HTTP port.
#   - a run started over HTTP on engine A shows in A's status with its id;
#   - the same request to engine B, while A's run goes on, is 409 with
#     code running_elsewhere, and B starts nothing;
#   - after A's run, B runs the job on request;
#   - /healthz is 200 while the database answers, 503 naming the sink once it is gone.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
. "$top/tests/lib/http.sh"
henk_setup --contacts 3000 --leads 100
export TOK=lease-test-token-3e9a0c6f1d
for n in A B; do
    mkdir -p "$T/$n"
    # the job `salesforce` itself, not the template of conf/henk.ini's tenants
    henk_single_conf "$T/$n/henk.ini"
    # the service listens on a free port; the schedule never fires by itself in the test
    sed -i -e 's|^\[engine\]$|[engine]\nhttp_listen = 127.0.0.1:0\nhttp_token = ${TOK}\nstate_dir = '"$T/$n"'/state|' \
        -e 's|^schedule = .*|schedule = 0 0 1 1 *|' "$T/$n/henk.ini"
done
# pages after the first come slowly, so A's run surely lasts while B is asked
sfstub_ctl "$SF_org_URL" POST /__stub/faults '{"faults":[{"match":"next","times":-1,"kind":"slow","delay":0.7}]}' >/dev/null

http_daemon A "$T/A/henk.ini"
URL_A=$HTTP_URL PID_A=$HTTP_PID
http_daemon B "$T/B/henk.ini"
URL_B=$HTTP_URL PID_B=$HTTP_PID
export URL_A URL_B

python3 - <<'PY' || die "lease"
import json, os, time, urllib.request, urllib.error
tok = os.environ["TOK"]
def post(base, path):
    r = urllib.request.Request(base + path, method="POST", headers={"Authorization": "Bearer " + tok})
    try:
        x = urllib.request.urlopen(r, timeout=60)
        return x.status, json.loads(x.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
def job(base):
    st = json.load(urllib.request.urlopen(base + "/api/v1/status", timeout=60))
    return st["jobs"][0]
a, b = os.environ["URL_A"], os.environ["URL_B"]
assert json.load(urllib.request.urlopen(b + "/healthz", timeout=60))["status"] == "ok"
s, d = post(a, "/api/v1/jobs/salesforce/run")
assert s == 202, (s, d)
rid = d["run_id"]
j = job(a)
assert j["running"] and j["run_id"] == rid and j["state"] == "running", j
s, d = post(b, "/api/v1/jobs/salesforce/run")
assert s == 409 and d["code"] == "running_elsewhere" and d["where"], (s, d)
print("B answered:", d)
# B's status reads the shared run log: A's run is the last run there
jb = job(b)
assert jb["running"] is False and jb["last_run"]["run_id"] == rid and jb["last_run"]["status"] == "running", jb
for _ in range(600):
    j = job(a)
    if not j["running"]:
        break
    time.sleep(0.2)
assert j["last_run"]["run_id"] == rid and j["last_run"]["status"] == "success", j
s, d = post(b, "/api/v1/jobs/salesforce/run")
assert s == 202, (s, d)
PY
grep -q "job is running on another engine; skipped" "$T/B.log" || die "B did not skip the run"
# B's run goes on while the database stops: /healthz says so
i=0
until [ "$(hreq GET /api/v1/status | tail -n +2 | python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"][0]["running"])')" = False ]; do
    i=$((i + 1)); [ $i -gt 600 ] && die "B's run did not end"
    sleep 0.2
done
kill -TERM $PID_A; wait $PID_A || die "A exited $?"
pg_stop
out=$(hreq GET /healthz)
[ "$(echo "$out" | head -1)" = 503 ] || die "healthz with the database gone: $out"
echo "$out" | grep -q '"sink": "henk"' && echo "$out" | grep -q '"ok": false' || die "healthz names no sink: $out"
HTTP_PID=$PID_B
http_stop
echo ok
