#!/bin/bash
# verify_schedule.sh - verify on the job's own schedule (verify_schedule, as
# the seed's 3 am checks), run by the daemon:
#   - a disagreement is a failed run of the job in the sink's run log, its
#     error naming the stream and the counts, the report in the run's details
#     (status shows it too); the daemon goes on;
#   - verify_fix = on repairs as verify --fix does: the run succeeds and the
#     tables agree;
#   - --run-at-start runs the verify once, right after the job's first run;
#   - a malformed verify_schedule is a configuration error at its file:line.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)"
pg_psql -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, updated_at timestamptz)" >/dev/null
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20)
   INSERT INTO items SELECT i, 'item ' || i, '2024-03-01T00:00:00Z' FROM n"
conf() { # VERIFY_FIX [VERIFY_SCHEDULE]
    cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job to_pg]
source = edge
sink = pg
schedule = 0 12 29 2 *
verify_schedule = ${2:-0 3 * * *}
verify_fix = $1
sink.delete_mode = hard

[stream to_pg.items]
object = items
target = items
source.settle = 0s

[map to_pg.items]
id = id
name = name
updated_at = updated_at
INI
}
conf off
sqlite_run "$T/v.ini" 0
runs() { pg_psql -c "SELECT count(*) FROM syncengine.sync_runs WHERE job = 'to_pg'"; }
daemon() { # runs the daemon until the run log holds $1 runs
    $SYNCENGINE -c "$T/v.ini" --run-at-start >>"$T/daemon.log" 2>&1 &
    local pid=$! i=0
    while [ "$(runs)" -lt "$1" ]; do
        i=$((i + 1))
        [ $i -lt 150 ] || { kill $pid; cat "$T/daemon.log" >&2; die "the run log did not reach $1 runs"; }
        kill -0 $pid 2>/dev/null || { cat "$T/daemon.log" >&2; die "the daemon exited"; }
        sleep 0.1
    done
    kill -TERM $pid
    local code=0
    wait $pid || code=$?
    [ "$code" = 0 ] || { cat "$T/daemon.log" >&2; die "daemon exit code $code"; }
}

note "a disagreement is a failed run"
pg_psql -c "DELETE FROM items WHERE id = 5; UPDATE items SET name = 'x' WHERE id = 6" >/dev/null
daemon 3    # the first --once run, the daemon's run at start, then its verify
last=$(pg_psql -c "SELECT status || '|' || error_message FROM syncengine.sync_runs WHERE job = 'to_pg'
                   ORDER BY started_at DESC LIMIT 1")
[ "$last" = "failed|verify: stream items differs: 1 missing, 0 extra, 1 different, 0 rule violations" ] ||
    { cat "$T/daemon.log" >&2; die "the verify run in the run log: $last"; }
grep -q "verify: stream items differs: 1 missing, 0 extra, 1 different" "$T/daemon.log" || die "not logged"
code=0; $SYNCENGINE status -c "$T/v.ini" --json >"$T/s.json" || code=$?
[ "$code" = 5 ] || die "status exit code $code after a failed verify"
[ "$(pg_psql -c "SELECT count(*) FROM items")" = 19 ] || die "verify_fix = off changed the target"

note "verify_fix = on repairs"
conf on
daemon 5
last=$(pg_psql -c "SELECT status || '|' || coalesce(error_message, '') FROM syncengine.sync_runs WHERE job = 'to_pg'
                   ORDER BY started_at DESC LIMIT 1")
[ "$last" = "success|" ] || { cat "$T/daemon.log" >&2; die "the fixing verify run: $last"; }
q "SELECT id, name FROM items ORDER BY id" >"$T/a"
pg_psql -c "SELECT id, name FROM items ORDER BY id" >"$T/b"
diff -u "$T/a" "$T/b" || die "the tables differ after the scheduled fix"
[ "$(pg_psql -c "SELECT status FROM syncengine.verify_runs ORDER BY started_at" | tr '\n' ' ')" = "different agree " ] ||
    die "verify_runs: $(pg_psql -c "SELECT status FROM syncengine.verify_runs ORDER BY started_at")"

note "a malformed verify_schedule names its line"
conf off "0 3 * *"
code=0; $SYNCENGINE check -c "$T/v.ini" >"$T/c.out" 2>&1 || code=$?
[ "$code" = 3 ] && grep -q "v.ini:1[0-9]: job 'to_pg': option 'verify_schedule': " "$T/c.out" ||
    { cat "$T/c.out" >&2; die "bad verify_schedule accepted (exit $code)"; }
echo "ok: verify schedule"
