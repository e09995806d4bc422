#!/bin/sh
# The Henk sync end to end, through the real binaries: Salesforce stand-in ->
# syncengine (conf/henk.ini) -> PostgreSQL.  After a full run and after each
# kind of change in Salesforce (updates, deletes, undeletes, conversions, new
# records, thousands of changes sharing one SystemModstamp), the leads table,
# the lists, sync_logs and integrations.last_sync_at must match the stand-in's
# ground truth exactly (tests/lib/henk_check.py).  50,000 contacts, 2,500 of
# them sharing one SystemModstamp.  No token may reach the log.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
henk_setup --contacts 50000 --leads 2500 --same-modstamp 2500 --rotate-refresh
runs=0
sync_once() {
    # Salesforce's Date header has whole seconds and bounds what a run reads:
    # let changes made just now fall behind it
    sfstub_settle "$SF_org_URL"
    runs=$((runs + 1))
    engine -c "$top/conf/henk.ini" --once || die "run $runs exited $? (log: $(tail -n 5 "$T/engine.log"))"
}
# check WHAT [COUNTS]: the database matches Salesforce, and the latest
# sync_logs row reports COUNTS (henk_check.py --expect-run)
check() {
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_org_URL" --business $BIZ --integration $INT \
        --runs $runs --summary --expect-run "${2:-}" || die "database differs from Salesforce after: $1"
}
mutate() { sfstub_ctl "$SF_org_URL" POST /__stub/mutate "$1" >/dev/null || die "mutate $1"; }

note "full run"
sync_once; check "the full run" processed=52500,created=52500,updated=0,deleted=0,failed=0

note "updates"
mutate '[{"op":"update","object":"Contact","count":40,"set":{"Title":"Chief Tester","Email":"new@example.com"}},
         {"op":"update","object":"Lead","count":25,"set":{"Rating":"Hot","Company":"Ünïcödé GmbH"}}]'
sync_once; check "updates" processed=65,created=0,updated=65,deleted=0

note "deletes, conversions, new records"
mutate '[{"op":"delete","object":"Contact","count":15},{"op":"delete","object":"Lead","count":10},
         {"op":"convert","object":"Lead","count":7},{"op":"create","object":"Contact","count":30},
         {"op":"create","object":"Lead","count":20,"set":{"Rating":"Cold"}}]'
# 25 soft deletes; the 7 converted leads are updates (sync_status 'converted')
# and their conversion made 7 contacts, created with the 50 new records
sync_once; check "deletes, conversions and new records" processed=89,created=57,updated=7,deleted=25

note "undeletes"
ids=$(sfstub_ctl "$SF_org_URL" GET "/__stub/truth?object=Contact&deleted=1" | python3 -c '
import json, sys
print(json.dumps([r["Id"] for r in json.load(sys.stdin)["records"] if r["IsDeleted"]][:5]))')
mutate "[{\"op\":\"undelete\",\"object\":\"Contact\",\"ids\":$ids}]"
sync_once; check "undeletes" processed=5,created=0,updated=5,deleted=0

note "3000 changes sharing one SystemModstamp, across page boundaries"
sleep 1
tie=$(python3 -c 'import datetime as d; print((d.datetime.now(d.timezone.utc) - d.timedelta(milliseconds=300)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z")')
mutate "[{\"op\":\"update\",\"object\":\"Contact\",\"count\":3000,\"set\":{\"Department\":\"Tied\"},\"modstamp\":\"$tie\"}]"
sync_once; check "a tie of 3000 records" processed=3000,updated=3000

note "nothing changed: nothing rewritten, by an incremental run or a full re-sync"
before=$(psql -X -A -t -c "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'leads'")
sync_once; check "an idle run" processed=0,created=0,updated=0,deleted=0
# a full re-sync reads and compares every record: none may be rewritten; and it
# puts back list memberships removed by hand (conf/henk.ini's after_run_sql)
removed=$(psql -X -A -t -c "WITH d AS (DELETE FROM lead_list_members WHERE ctid IN
    (SELECT ctid FROM lead_list_members ORDER BY lead_id LIMIT 7) RETURNING 1) SELECT count(*) FROM d")
[ "$removed" = 7 ] || die "could not remove memberships by hand ($removed)"
runs=$((runs + 1))
engine -c "$top/conf/henk.ini" --once --full-refresh || die "the full re-sync exited $?"
# (queryAll: the deleted records are read again too, and found already marked)
all=$(psql -X -A -t -c "SELECT count(*) FROM leads WHERE business_id = '$BIZ'")
check "a full re-sync with nothing changed" processed=$all,created=0,updated=0,deleted=0,unchanged=$all
sleep 1   # the statistics collector reports with a delay
after=$(psql -X -A -t -c "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'leads'")
[ "$before" = "$after" ] || die "an idle run and a full re-sync rewrote leads rows ($before -> $after updates)"

assert_no_secrets test-client-secret test-refresh-token
grep -q "access_token\|Bearer " "$T/engine.log" && die "token material in the log"
echo "ok: $runs runs match Salesforce"
