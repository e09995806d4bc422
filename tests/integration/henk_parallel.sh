#!/bin/sh
# parallel_streams = 2 (as conf/henk.ini sets it): the Henk job's Contacts and
# Leads streams run at the same time, each with its own source and sink instance.  The database must
# match Salesforce exactly after a full run and after changes, the run must
# be one run (one sync_logs row with both streams' counts, one history entry),
# and the two source instances must share one session: one token call.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
henk_setup --contacts 20000 --leads 8000
grep -q "^parallel_streams = 2" "$top/conf/henk.ini" || die "conf/henk.ini no longer sets parallel_streams = 2"
stat() {
    sfstub_ctl "$SF_org_URL" GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}
check() {
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_org_URL" --business $BIZ --integration $INT \
        --runs "$1" --summary || die "database differs from Salesforce after: $2"
}

note "full run, both streams at once"
sfstub_ctl "$SF_org_URL" POST /__stub/stats/reset >/dev/null
engine -c "$top/conf/henk.ini" --once || die "parallel run exited $?"
check 1 "the parallel full run"
[ "$(stat token_calls)" = 1 ] || die "$(stat token_calls) token calls for two parallel streams, expected 1"
# both streams started before either finished
first_done=$(grep -n "contacts: done\|leads: done\|\] done:" "$T/engine.log" | head -n 1 | cut -d: -f1)
for obj in Contact Lead; do
    line=$(grep -n "reading $obj from" "$T/engine.log" | head -n 1 | cut -d: -f1)
    [ -n "$line" ] && [ -n "$first_done" ] && [ "$line" -lt "$first_done" ] \
        || die "stream of $obj did not start before the first stream finished: $(grep -n 'reading\|done' "$T/engine.log")"
done

note "changes in both objects"
sleep 1.1
sfstub_ctl "$SF_org_URL" POST /__stub/mutate '[{"op":"update","object":"Contact","count":300,"set":{"Title":"Parallel"}},
    {"op":"delete","object":"Lead","count":20},{"op":"convert","object":"Lead","count":5},
    {"op":"create","object":"Contact","count":40}]' >/dev/null || die "mutate"
sfstub_settle "$SF_org_URL"
engine -c "$top/conf/henk.ini" --once || die "second parallel run exited $?"
check 2 "changes"
"$O/syncengine" status -c "$top/conf/henk.ini" >"$T/status.txt" 2>&1 || die "status failed: $(cat "$T/status.txt")"
grep -q "success" "$T/status.txt" || die "status does not show the run: $(cat "$T/status.txt")"
assert_no_secrets test-client-secret test-refresh-token
echo ok
