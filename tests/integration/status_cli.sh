#!/bin/bash
# status_cli.sh - `syncengine status` as cron and monitoring scripts use it.
#
# Against a throwaway PostgreSQL (the sink keeps the run log), with the
# generate source:
#   - status on a fresh database shows "never", exits 0 and creates nothing
#     (no schema, no table: it opens the sink read-only);
#   - a failed run (the target table does not exist) makes status exit 5 and
#     show that run's error; --json has the documented shape;
#   - after a successful run status exits 0 and LAST ERROR is empty: an older
#     run's error is not the job's state;
#   - an unknown job on the command line is a configuration error (exit 3),
#     for status and for run.
set -u
. "$(dirname "$0")/../lib/common.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
. "$top/tests/lib/pgcluster.sh"
pg_start || exit $?
at_exit pg_stop

cat >"$T/s.ini" <<INI
[engine]
state_dir = $T/state
[source g]
plugin = generate
records = 4
fields = name:string
[sink db]
plugin = postgres
conninfo = \${DATABASE_URL}
[job j]
source = g
sink = db
[stream j.records]
object = records
target = items
[map j.records]
id = id
name = name
INI

relations() {
    pg_psql -Atc "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')" 2>&1
}
schemas() { pg_psql -Atc "SELECT count(*) FROM pg_namespace WHERE nspname = 'syncengine'" 2>&1; }

# st EXPECTED_EXIT ARGS...: runs status; output in $T/st.out
st() {
    local want=$1 code=0
    shift
    $SYNCENGINE status -c "$T/s.ini" --plugin-dir "$O/plugins" "$@" >"$T/st.out" 2>"$T/st.err" || code=$?
    [ "$code" -eq "$want" ] || { cat "$T/st.out" "$T/st.err" >&2; die "status $*: exit $code, expected $want"; }
}

note "status on a fresh database: never, exit 0, no DDL"
st 0
grep -q "^j  *never" "$T/st.out" || { cat "$T/st.out" >&2; die "status does not say never"; }
[ "$(relations)" = 0 ] || die "status created relations: $(relations)"
[ "$(schemas)" = 0 ] || die "status created the syncengine schema"

note "a failed run: status exits 5 with that run's error"
# the table exists (check --connect passes) but the run's first hook fails when it runs
pg_psql -qc "CREATE TABLE items (id bigint PRIMARY KEY, name text);
             CREATE FUNCTION items_refuse() RETURNS int LANGUAGE plpgsql AS
             \$\$BEGIN RAISE EXCEPTION 'items refuses runs'; END\$\$" || die "create table"
cp "$T/s.ini" "$T/good.ini"
sed -i 's/^sink = db$/sink = db\nsink.before_run_sql = SELECT items_refuse()/' "$T/s.ini"
code=0
$SYNCENGINE run j -c "$T/s.ini" --plugin-dir "$O/plugins" >"$T/run.log" 2>&1 || code=$?
[ "$code" = 5 ] || { cat "$T/run.log" >&2; die "a run into a table that refuses rows exited $code, expected 5"; }
st 5
grep -q "^j .* failed .*items" "$T/st.out" || { cat "$T/st.out" >&2; die "status does not show the failed run's error"; }
st 5 --json
python3 - "$T/st.out" <<'PY' || die "status --json has the wrong shape"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and d["exit_code"] == 5, d
(j,) = d["jobs"]
assert j["name"] == "j" and j["enabled"] is True and j["runs_from"] == "sink", j
assert j["last_run"]["status"] == "failed" and "items" in j["last_run"]["error"], j
assert isinstance(j["next_run"], str) and len(j["recent_runs"]) == 1, j
PY

note "a successful run: exit 0, LAST ERROR empty"
cp "$T/good.ini" "$T/s.ini"
$SYNCENGINE run j -c "$T/s.ini" --plugin-dir "$O/plugins" >"$T/run.log" 2>&1 || { cat "$T/run.log" >&2; die "run failed"; }
st 0
grep -q "^j .* success " "$T/st.out" || { cat "$T/st.out" >&2; die "status does not show the successful run"; }
if grep -q "items" "$T/st.out"; then cat "$T/st.out" >&2; die "LAST ERROR shows an older run's error"; fi
st 0 --json
python3 - "$T/st.out" <<'PY' || die "status --json after success"
import json, sys
d = json.load(open(sys.argv[1]))
(j,) = d["jobs"]
assert d["exit_code"] == 0 and j["last_run"]["status"] == "success" and "error" not in j["last_run"], j
assert j["last_run"]["processed"] == 4 and len(j["recent_runs"]) == 2, j
PY
st 0 j

note "unknown job names"
st 3 nosuch
grep -q "no job 'nosuch'" "$T/st.err" || die "status nosuch: $(cat "$T/st.err")"
code=0
$SYNCENGINE run nosuch -c "$T/s.ini" --plugin-dir "$O/plugins" >"$T/run.log" 2>&1 || code=$?
[ "$code" = 3 ] || die "run nosuch exited $code, expected 3"
echo ok
