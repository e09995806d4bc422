#!/bin/sh
# Several businesses and several engines on one database:
#  - three businesses, each syncing from its own Salesforce org into the same
#    tables, never touching each other's rows;
#  - three engine processes started together, twice, each running every job:
#    a job never runs on two engines at the same time (PostgreSQL advisory
#    locks), every job runs, and the data matches each org exactly;
#  - a business whose org is down fails alone: the others succeed.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
. "$top/tests/lib/henk_multi.sh"
pg_start || exit $?
at_exit pg_stop
psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/henk.sql" >/dev/null || die "schema"
henk_env x x x   # credentials shared by the stand-ins; URLs and ids per business below
for k in 1 2 3; do
    biz=1111111$k-1111-4111-8111-111111111111
    int=2222222$k-2222-4222-8222-222222222222
    henk_add_business $biz $int
    sfstub_start org$k --seed $k --contacts $((1500 * k)) --leads $((700 * k)) --same-modstamp 300
    eval "export BIZ${k}_BUSINESS_ID=$biz BIZ${k}_INTEGRATION_ID=$int BIZ${k}_SF_URL=\$SF_org${k}_URL"
    henk_business_conf $k "$T/conf"
done
export SYNCENGINE_STATE_DIR="$T/state"
engine check -c "$T/conf/main.ini" >/dev/null || die "generated configuration invalid: $(tail -n 3 "$T/engine.log")"

check_all() {
    for k in 1 2 3; do
        eval "url=\$SF_org${k}_URL biz=\$BIZ${k}_BUSINESS_ID int=\$BIZ${k}_INTEGRATION_ID"
        python3 "$top/tests/lib/henk_check.py" --stub "$url" --business "$biz" --integration "$int" \
            || die "business $k differs from its org after: $1"
    done
}
no_overlap() {
    n=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs a JOIN sync_logs b
          ON a.integration_id = b.integration_id AND a.id < b.id
         AND a.started_at < coalesce(b.completed_at, 'infinity') AND b.started_at < coalesce(a.completed_at, 'infinity')")
    [ "$n" = 0 ] || die "$n pairs of runs of one job overlapped in time"
}
three_engines() {
    sleep 1.1
    pids=""
    for e in 1 2 3; do
        SYNCENGINE_STATE_DIR="$T/state$e" $SYNCENGINE -c "$T/conf/main.ini" --once 2>>"$T/engine$e.log" &
        pids="$pids $!"
    done
    for p in $pids; do wait $p || die "an engine failed: $(tail -n 3 "$T"/engine*.log)"; done
}

note "three engines, first load"
three_engines
check_all "the first load"
no_overlap
for k in 1 2 3; do
    n=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE integration_id = '$(eval echo \$BIZ${k}_INTEGRATION_ID)'")
    [ "$n" -ge 1 ] || die "business $k never ran"
done
skipped=$(cat "$T"/engine*.log | grep -c "running on another engine; skipped" || true)
note "$skipped job runs were skipped because another engine held them"

note "status where no job ran: every engine's runs, read from the database"
"$O/syncengine" status -c "$T/conf/main.ini" --state-dir "$T/state-none" >"$T/status.txt" 2>"$T/status.err" \
    || die "status failed: $(cat "$T/status.err")"
for k in 1 2 3; do
    want=$(psql -X -A -t -c "SELECT sync_status || ' ' || records_processed FROM sync_logs
           WHERE integration_id = '$(eval echo \$BIZ${k}_INTEGRATION_ID)' ORDER BY started_at DESC LIMIT 1")
    have=$(awk -v j=biz$k '$1 == j {print $3, $4}' "$T/status.txt")
    [ "$have" = "$want" ] || die "status shows '$have' for biz$k, the database '$want': $(cat "$T/status.txt")"
done
[ ! -s "$T/status.err" ] || die "status complained: $(cat "$T/status.err")"

note "changes in every org, three engines again"
for k in 1 2 3; do
    eval "url=\$SF_org${k}_URL"
    sfstub_ctl "$url" POST /__stub/mutate "[{\"op\":\"update\",\"object\":\"Contact\",\"count\":$((50 * k)),\"set\":{\"Title\":\"Org $k\"}},
      {\"op\":\"delete\",\"object\":\"Lead\",\"count\":$k},{\"op\":\"convert\",\"object\":\"Lead\",\"count\":2}]" >/dev/null
done
three_engines
check_all "changes"
no_overlap
cross=$(psql -X -A -t -c "SELECT count(*) FROM leads l JOIN businesses b ON b.id = l.business_id
        WHERE l.title LIKE 'Org %' AND substr(l.title, 5) <> substr(b.id::text, 8, 1)")
[ "$cross" = 0 ] || die "$cross rows carry another business's change"

note "one org down: the other businesses still sync"
sleep 1.1
sfstub_ctl "$SF_org2_URL" POST /__stub/faults '{"faults":[{"match":"any","times":-1,"kind":"status","status":503,"retry_after":0}]}' >/dev/null
for k in 1 3; do
    eval "url=\$SF_org${k}_URL"
    sfstub_ctl "$url" POST /__stub/mutate '[{"op":"create","object":"Contact","count":5}]' >/dev/null
done
sleep 1.1
engine -c "$T/conf/main.ini" --once; rc=$?
[ $rc -eq 5 ] || die "expected exit 5 (a job failed), got $rc"
for k in 1 3; do
    eval "url=\$SF_org${k}_URL biz=\$BIZ${k}_BUSINESS_ID int=\$BIZ${k}_INTEGRATION_ID"
    python3 "$top/tests/lib/henk_check.py" --stub "$url" --business "$biz" --integration "$int" \
        || die "business $k did not sync while org 2 was down"
done
st=$(psql -X -A -t -c "SELECT sync_status FROM sync_logs WHERE integration_id = '$BIZ2_INTEGRATION_ID' ORDER BY started_at DESC LIMIT 1")
[ "$st" = failed ] || die "business 2's run is '$st', expected failed"
echo ok
