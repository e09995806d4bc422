#!/bin/sh
# fault_late_commit.sh - a Salesforce transaction commits 30 s after its
# SystemModstamp was taken: by then a run has read past that stamp.  With the
# shipped settings (lag 10s, lookback 5m) the next run reads the window behind
# its position again and the record arrives; a run with nothing changed still
# makes one query per stream and rewrites no row.
# docs/faults.md, row "late commit".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
fk_setup --contacts 300 --leads 200
# the shipped values, not the tests' (henk_env sets 0s for both)
unset SALESFORCE_LAG SALESFORCE_LOOKBACK

clock_advance() { sfstub_ctl "$SF_org_URL" POST /__stub/clock "{\"advance_ms\": $1}" >/dev/null; }
stat_leads() {
    # what PostgreSQL counted for the leads table (a backend reports at its exit)
    sleep 1
    fk_sql "SELECT n_tup_ins || ' ' || n_tup_upd || ' ' || n_tup_del FROM pg_stat_user_tables WHERE relname = 'leads'"
}

note "the first run"
fk_run
fk_expect_rc 0 "the first run"
fk_check --runs 1

note "a lead changes and the next run reads it (its cursor moves to that stamp)"
ids=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op": "update", "object": "Lead", "count": 2, "set": {"Title": "Early"}}]') || die "mutate failed"
early=$(echo "$ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ids"][0])')
late=$(echo "$ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ids"][1])')
clock_advance 15000
fk_run
fk_expect_rc 0 "the run after the change"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE title = 'Early'")" = 2 ] || die "the changed leads were not read"
cursor=$(fk_sql "SELECT cursor FROM syncengine.sync_state WHERE stream = 'leads'")

note "a transaction stamped 30 s ago commits now, behind that cursor ($cursor)"
fk_mutate "[{\"op\": \"update\", \"object\": \"Lead\", \"ids\": [\"$late\"], \"set\": {\"Title\": \"Late\"}, \"late_ms\": 30000}]"
clock_advance 15000
fk_run
fk_expect_rc 0 "the run after the late commit"
[ "$(fk_sql "SELECT title FROM leads WHERE source_id = '$late'")" = Late ] \
    || die "the late-committed lead $late did not arrive (title: $(fk_sql "SELECT title FROM leads WHERE source_id = '$late'"))"
fk_check --runs 3

note "a run with nothing changed: one query per stream, no row rewritten"
clock_advance 15000
before=$(stat_leads)
fk_stats_reset
fk_run
fk_expect_rc 0 "the no-change run"
after=$(stat_leads)
queries=$(sfstub_ctl "$SF_org_URL" GET /__stub/stats | python3 -c '
import json, sys
k = json.load(sys.stdin)["by_kind"]
print(sum(k.get(n, 0) for n in ("query", "queryAll", "next")))')
[ "$queries" = 2 ] || die "the no-change run made $queries query calls, expected one per stream (2)"
[ "$before" = "$after" ] || die "the no-change run wrote to leads: ins/upd/del $before -> $after"
row=$(fk_sql "SELECT records_processed || ' ' || records_created || ' ' || records_updated FROM sync_logs ORDER BY started_at DESC LIMIT 1")
set -- $row
[ "$2" = 0 ] && [ "$3" = 0 ] || die "the no-change run reports $2 created and $3 updated"
note "  the no-change run re-read $1 records in the window, rewrote 0 (leads ins/upd/del $after), $queries queries"
fk_check --runs 4
echo ok
