#!/bin/sh
# Tenants from the database, live (conf/henk.ini's [tenants salesforce]): one
# daemon syncs every active Salesforce integration as salesforce@<id>, each
# from its own org with the token of its row; the access token Salesforce
# issued is written back to the row.  A row added while the daemon runs is
# synced at its next slot without a restart; a disabled row stops (after its
# current run); a changed row (a new interval) is used by its next run.  No
# token reaches the log.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 3
# every 3 seconds (syncInterval is in minutes)
tenant_add 1 0.05
tenant_add 2 0.05

$SYNCENGINE -c "$top/conf/henk.ini" --run-at-start 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"

note "both rows synced, each from its own org"
synced() { [ "$(tenant_leads "$1")" = 40 ] && [ "$(tenant_runs "$1" success)" -ge 1 ]; }
wait_for 60 "tenant 1 synced" synced 1
wait_for 60 "tenant 2 synced" synced 2
grep -q "job=salesforce@$(tenant_int 1)" "$T/engine.log" || die "no run named salesforce@<id>"
# the access token issued for the row is in the row (store_credentials)
tok=$(psql -X -A -t -c "SELECT credentials->>'accessToken' IS NOT NULL AND credentials->>'instanceUrl' LIKE '%/org/%'
                        FROM integrations WHERE id = '$(tenant_int 1)'")
[ "$tok" = t ] || die "the issued access token was not stored in the row"

note "a row added while the daemon runs"
tenant_add 3 0.05
wait_for 60 "tenant 3 synced without a restart" synced 3

note "a disabled row stops"
psql -X -q -c "UPDATE integrations SET config = config || '{\"syncEnabled\": false}' WHERE id = '$(tenant_int 2)'"
wait_for 30 "tenant 2 removed" grep -q "job=salesforce@$(tenant_int 2)\].*tenant removed" "$T/engine.log"
sleep 1
before=$(tenant_runs 2)
r1=$(tenant_runs 1)
sleep 7
[ "$(tenant_runs 2)" = "$before" ] || die "a disabled tenant kept running ($before -> $(tenant_runs 2) runs)"
[ "$(tenant_runs 1)" -gt "$r1" ] || die "tenant 1 stopped running ($r1 runs)"
# a run stopped mid-batch would be 'failed': none was
[ "$(psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE sync_status NOT IN ('success', 'running')")" = 0 ] \
    || die "runs failed: $(psql -X -A -t -c "SELECT error_message FROM sync_logs WHERE sync_status NOT IN ('success', 'running')")"

note "a changed row: a longer interval is used by the next run"
psql -X -q -c "UPDATE integrations SET config = config || '{\"syncInterval\": 60}' WHERE id = '$(tenant_int 3)'"
sleep 3
r3=$(tenant_runs 3)
sleep 7
[ "$(tenant_runs 3)" = "$r3" ] || die "tenant 3 ignored its new interval ($r3 -> $(tenant_runs 3) runs)"

note "status lists every tenant, with a summary line; --json; --state"
$SYNCENGINE status -c "$top/conf/henk.ini" >"$T/status.txt" 2>>"$T/engine.log" || die "status exited $?"
for k in 1 3; do
    grep -q "^salesforce@$(tenant_int $k) .*success" "$T/status.txt" || die "status lacks tenant $k: $(cat "$T/status.txt")"
done
grep -q "salesforce@$(tenant_int 2)" "$T/status.txt" && die "status shows the disabled tenant"
grep -q "^2 job(s): 2 ok, 0 failing, 0 late" "$T/status.txt" || die "summary line: $(tail -n 1 "$T/status.txt")"
$SYNCENGINE status -c "$top/conf/henk.ini" --json 2>>"$T/engine.log" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["summary"]["ok"] == 2 and d["summary"]["jobs"] == 2, d["summary"]
assert all(j["template"] == "salesforce" and j["name"].startswith("salesforce@") for j in d["jobs"]), d["jobs"]
' || die "status --json"
n=$($SYNCENGINE status -c "$top/conf/henk.ini" --state failing 2>>"$T/engine.log" | grep -c "^salesforce@")
[ "$n" = 0 ] || die "status --state failing lists $n tenants"
n=$($SYNCENGINE status "salesforce@$(tenant_int 3)" -c "$top/conf/henk.ini" 2>>"$T/engine.log" | grep -c "^salesforce@")
[ "$n" = 1 ] || die "status salesforce@<id> lists $n rows"

kill -TERM $pid; wait $pid || die "daemon exited $?"
assert_no_secrets test-client-secret org-0001 org-0002 org-0003
grep -q "Bearer " "$T/engine.log" && die "token material in the log"
echo "ok: tenants added, removed and changed live"
