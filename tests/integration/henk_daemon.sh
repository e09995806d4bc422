#!/bin/sh
# syncengine as a service: --run-at-start runs the job right away, SIGHUP
# reloads the configuration (a changed schedule is planned with; a broken
# file is refused and the running configuration kept), SIGTERM in the middle of a run stops it at a batch
# boundary (exit 0, run-log row closed as failed "stopped by signal", cursor
# never ahead of the data), the next run completes the work, and `status`
# reports the last run (with no error: the interrupted run's is history).
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
henk_setup --contacts 12000 --leads 500
check() {
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_org_URL" --business $BIZ --integration $INT "$@" \
        || die "database differs from Salesforce"
}
wait_log() { # pattern, seconds
    i=0
    while ! grep -q "$1" "$T/engine.log"; do
        i=$((i + 1)); [ $i -gt $(($2 * 10)) ] && die "no '$1' in the log after $2 s: $(tail -n 5 "$T/engine.log")"
        sleep 0.1
    done
}

note "SIGTERM in the middle of a run"
# later pages answered slowly, so the run is surely in progress when SIGTERM comes
sfstub_ctl "$SF_org_URL" POST /__stub/faults '{"faults":[{"match":"next","after":2,"times":-1,"kind":"slow","delay":0.3}]}' >/dev/null
$SYNCENGINE -c "$top/conf/henk.ini" --run-at-start 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null"
wait_log "reading Contact" 60
# stop once some batches are stored (slow machines and valgrind take longer to get there)
i=0
while [ "$(psql -X -A -t -c 'SELECT count(*) FROM leads')" -eq 0 ]; do
    i=$((i + 1)); [ $i -gt 600 ] && die "no batch stored after 60 s"
    sleep 0.1
done
kill -TERM $pid
wait $pid; rc=$?
[ $rc -eq 0 ] || die "engine exited $rc after SIGTERM"
grep -q "stopped by signal" "$T/engine.log" || die "no 'stopped by signal' in the log"
status=$(psql -X -A -t -c "SELECT sync_status FROM sync_logs ORDER BY started_at DESC LIMIT 1")
[ "$status" = failed ] || die "interrupted run logged as '$status'"
stored=$(psql -X -A -t -c "SELECT count(*) FROM leads")
[ "$stored" -gt 0 ] && [ "$stored" -lt 12500 ] || die "expected a partial load, have $stored rows"
# the saved cursor is never ahead of the data: every contact at or before it is stored
cursor=$(psql -X -A -t -c "SELECT cursor FROM syncengine.sync_state WHERE stream = 'contacts'")
[ -n "$cursor" ] || die "no cursor saved for the batches that were stored"
python3 - "$SF_org_URL" "$cursor" <<'PY' || die "cursor ahead of the data"
import json, subprocess, sys, urllib.request
stub, cursor = sys.argv[1], sys.argv[2]
ts, _, cid = cursor.partition("|")
recs = json.load(urllib.request.urlopen(stub + "/__stub/truth?object=Contact"))["records"]
def key(r):  # Salesforce's "+0000" vs the cursor's "Z": compare as normalized text
    return (r["SystemModstamp"].replace("+0000", "Z"), r["Id"])
want = {r["Id"] for r in recs if key(r) <= (ts, cid)}
have = set(subprocess.run(["psql", "-X", "-A", "-t", "-c",
    "SELECT source_id FROM leads WHERE source = 'salesforce_contact'"],
    capture_output=True, text=True, check=True).stdout.split())
missing = want - have
if missing:
    print("%d contacts at or before the cursor are not stored, e.g. %s" % (len(missing), sorted(missing)[:3]))
    sys.exit(1)
PY
sfstub_ctl "$SF_org_URL" DELETE /__stub/faults >/dev/null

note "the next run completes the work; the interrupted run's row stays failed"
sfstub_settle "$SF_org_URL"
engine -c "$top/conf/henk.ini" --once || die "completing run failed"
check --runs 2

note "service: run at start, SIGHUP reload, SIGTERM when idle"
# the service reads a copy, so that the reload has something new to read
mkdir -p "$T/svc/henk.d"
cp "$top/conf/henk.ini" "$T/svc/henk.ini"
grep -q '^schedule = \*/15 \* \* \* \*$' "$T/svc/henk.ini" || die "conf/henk.ini no longer runs every 15 minutes"
$SYNCENGINE -c "$T/svc/henk.ini" --run-at-start 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null"
i=0
while [ "$(psql -X -A -t -c 'SELECT count(*) FROM sync_logs')" -lt 3 ] || \
      [ "$(psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE sync_status = 'running'")" -gt 0 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && die "the service did not run the job at start"
    sleep 0.1
done
# a new schedule (noon on 29 February: next in 2028) must be what the service plans with
sed -i 's|^schedule = .*|schedule = 0 12 29 2 *|' "$T/svc/henk.ini"
kill -HUP $pid
wait_log "configuration reloaded: 1 job(s)" 10
wait_log "next run at 2028-0[23]-" 10
# a broken file: the reload fails, says why, and the service goes on with what it had
echo "this line is not INI" >>"$T/svc/henk.ini"
kill -HUP $pid
wait_log "configuration reload failed, keeping the running one: .*henk.ini:" 10
sleep 0.5
kill -0 $pid 2>/dev/null || die "the service died on a broken reload"
kill -TERM $pid
wait $pid || die "service exited $? on SIGTERM"
check --runs 3

note "status"
engine status -c "$top/conf/henk.ini" >"$T/status.txt" || die "status failed"
cat "$T/status.txt"
grep -q "^salesforce@[-0-9a-f]* .*success" "$T/status.txt" || die "status does not show the last successful run"
# LAST ERROR belongs to the last run, which succeeded: the interrupted run's error is history
if grep -q "stopped by signal" "$T/status.txt"; then die "status shows an older run's error as the last error"; fi
echo ok
