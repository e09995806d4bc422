#!/bin/sh
# bench/tenants.sh - `make bench-tenants`: many tenants on one daemon.
#
# A throwaway PostgreSQL with conf/henk.sql and N integrations rows (default
# 1,000), each connected to its own org of one multi-org Salesforce stand-in
# (R records each, default 40); conf/henk.ini's [tenants salesforce] runs
# them all with `--once`: a full cycle (every tenant's first load), then an
# idle cycle (nothing changed, stored access tokens still good).  For each:
# wall time, the engine's CPU seconds and peak RSS, and per tenant the token
# calls and queries the stand-in answered.  Prints a table and writes it to
# bench/results/tenants-latest.md.
#
#   bench/tenants.sh [--tenants N] [--records R] [--max-jobs J]
#
# Environment: O (build directory, default build), PG_BINDIR, TMPDIR.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
N=1000 R=40 J=4
while [ $# -gt 0 ]; do
    case "$1" in
    --tenants) N=$2; shift 2 ;;
    --records) R=$2; shift 2 ;;
    --max-jobs) J=$2; shift 2 ;;
    *) echo "usage: bench/tenants.sh [--tenants N] [--records R] [--max-jobs J]" >&2; exit 2 ;;
    esac
done
[ -x "$O/syncengine" ] || { echo "bench: $O/syncengine not found (run make first)" >&2; exit 2; }

_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
trap 'eval "$_at_exit_cmds"' EXIT
trap 'exit 130' INT TERM
W=$(mktemp -d "${TMPDIR:-/tmp}/syncengine-bench-tenants.XXXXXX") || exit 1
at_exit 'rm -rf "$W"'
. "$top/tests/lib/pgcluster.sh"
pg_start || exit $?
psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/henk.sql" >/dev/null || exit 1

python3 "$top/tests/sfstub/sfstub.py" --port 0 --port-file "$W/port" --orgs "$N" --org-records "$R" \
    >"$W/sfstub.log" 2>&1 &
stub=$!
at_exit "kill $stub 2>/dev/null; wait $stub 2>/dev/null"
i=0
while [ ! -s "$W/port" ]; do
    i=$((i + 1)); [ $i -gt 1200 ] && { cat "$W/sfstub.log" >&2; exit 1; }
    sleep 0.1
done
URL="http://127.0.0.1:$(cat "$W/port")"
psql -X -q -v ON_ERROR_STOP=1 <<SQL || exit 1
INSERT INTO businesses (id, name)
SELECT ('11111111-1111-4111-8111-' || lpad(k::text, 12, '0'))::uuid, 'Business ' || k FROM generate_series(1, $N) k;
INSERT INTO integrations (id, business_id, name, type, status, credentials, config)
SELECT ('22222222-2222-4222-8222-' || lpad(k::text, 12, '0'))::uuid,
       ('11111111-1111-4111-8111-' || lpad(k::text, 12, '0'))::uuid, 'Salesforce', 'crm', 'active',
       jsonb_build_object('refreshToken', 'org-' || lpad(k::text, 4, '0')), '{"syncEnabled": true}'
  FROM generate_series(1, $N) k;
SQL
sed -e "s/^max_jobs = .*/max_jobs = $J/" -e '/^include = /d' "$top/conf/henk.ini" >"$W/henk.ini"
unset HENK_INTEGRATION_ID SALESFORCE_REFRESH_TOKEN
export SALESFORCE_LOGIN_URL="$URL" SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
export SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s SYNCENGINE_STATE_DIR="$W/state" SYNCENGINE_NO_PROGRESS=1

python3 - "$O/syncengine" "$W/henk.ini" "$URL" "$N" "$R" "$J" "$top/bench/results/tenants-latest.md" <<'PY'
import json, os, resource, subprocess, sys, time, urllib.request
engine, conf, url, n, r, j, out = sys.argv[1:8]
n = int(n)
def orgs():
    with urllib.request.urlopen(url + "/__stub/orgs", timeout=600) as f:
        return {o["name"]: o for o in json.load(f)["orgs"]}
def totals(o):
    return (sum(x["token_calls"] for x in o.values()), sum(x["queries"] for x in o.values()),
            sum(x["api_calls"] for x in o.values()))
def cycle(name):
    before = totals(orgs())
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    p = subprocess.run([engine, "-c", conf, "--once", "--log-level", "warn"], stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    after = totals(orgs())
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    rss = ru1.ru_maxrss / 1024.0  # peak of any child so far, MiB
    tok, q, api = (a - b for a, b in zip(after, before))
    ok = subprocess.run(["psql", "-X", "-A", "-t", "-c",
                         "SELECT count(DISTINCT integration_id) FROM sync_logs WHERE sync_status = 'success'"],
                        capture_output=True, text=True).stdout.strip()
    if p.returncode != 0:
        sys.stderr.write(p.stderr[-2000:])
    st = os.path.join(os.environ["SYNCENGINE_STATE_DIR"], "state.json")
    size = os.path.getsize(st) / 1024.0 if os.path.exists(st) else 0
    return dict(cycle=name, exit=p.returncode, wall=wall, cpu=cpu, rss=rss, token=tok / n, queries=q / n,
                api=api / n, tenants_ok=ok, state=size)
rows = [cycle("full (first load)"), cycle("idle (nothing changed)")]
leads = subprocess.run(["psql", "-X", "-A", "-t", "-c", "SELECT count(*) FROM leads"], capture_output=True,
                       text=True).stdout.strip()
lines = ["# %d tenants x %s records, one daemon (max_jobs = %s)" % (n, r, j), "",
         "| cycle | exit | wall s | engine CPU s | peak RSS MiB | token calls / tenant | queries / tenant | API calls / tenant | tenants synced | state.json KiB |",
         "|---|---|---|---|---|---|---|---|---|---|"]
for x in rows:
    lines.append("| %s | %d | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %s | %.0f |" % (
        x["cycle"], x["exit"], x["wall"], x["cpu"], x["rss"], x["token"], x["queries"], x["api"], x["tenants_ok"],
        x["state"]))
lines += ["", "leads stored: %s; machine: %d cores" % (leads, os.cpu_count())]
text = "\n".join(lines) + "\n"
sys.stdout.write(text)
os.makedirs(os.path.dirname(out), exist_ok=True)
open(out, "w").write(text)
PY
