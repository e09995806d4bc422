#!/bin/sh
# fault_api_reserve.sh - api_reserve_percent holds across runs and parallel
# streams.  Daily limit 100, reserve 10 % (the shipped default): repeated
# short incremental runs never take the org's usage beyond 90; the run that
# reaches the line stops ('rate_limited', exit 7) and the runs after it do not
# start, without spending a call, while the usage they know is recent
# (api_usage_max_age); an older figure costs exactly one /limits call.
# docs/faults.md, row "API usage enters the reserve".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
fk_setup --contacts 300 --leads 200 --daily-limit 100

limit_used() {
    sfstub_ctl "$SF_org_URL" GET /__stub/limits | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"])'
}
# age_kept SECONDS: the usage the plugin kept (state file) was learned SECONDS ago
age_kept() {
    # a tenant's plugin state is a file of its own (conf/henk.ini's [tenants salesforce])
    python3 - "$SYNCENGINE_STATE_DIR/tenants/salesforce@$FK_INT/state.json" "$1" "$FK_INT" <<'PY' \
        || die "cannot age the kept API usage"
import json, sys, time
path, age, key = sys.argv[1], int(sys.argv[2]), sys.argv[3]
st = json.load(open(path))
ns = st["plugin:salesforce@" + key]
used, mx, _ = ns["api_usage"].split()
ns["api_usage"] = "%s %s %d" % (used, mx, int((time.time() - age) * 1e6))
json.dump(st, open(path, "w"))
PY
}

note "others have used 70 of the org's 100 calls today"
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 70}' >/dev/null
fk_stats_reset
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 70}' >/dev/null
fk_run
fk_expect_rc 0 "the first run"
fk_check --runs 1
[ "$(fk_stat by_kind.other)" = 1 ] || die "the first run, knowing nothing, did not ask /limits exactly once"

note "repeated incremental runs until the reserve"
i=0 ok=1 limited=0 refused_calls=0
while [ $i -lt 20 ]; do
    i=$((i + 1))
    before=$(fk_stat api_calls)
    fk_run
    after=$(fk_stat api_calls)
    used=$(limit_used)
    [ "$used" -le 90 ] || die "run $i took the usage to $used of 100: into the reserve"
    case $fk_rc in
    0) [ $limited = 0 ] || die "run $i started after the reserve was reached"; ok=$((ok + 1)) ;;
    7)
        limited=$((limited + 1))
        if [ $limited = 1 ]; then
            # stopped before a call of its own, or (the line reached during a
            # run) before the next one
            fk_log_has "(one more call would enter|inside) the 10% kept in reserve \(api_reserve_percent\)" "the stopping run names the reserve"
        else
            [ "$after" = "$before" ] || die "run $i, refused, still made $((after - before)) calls"
            fk_log_has "inside the 10% kept in reserve \(api_reserve_percent\); the run does not start \(no call made\)" "the refused run says why"
        fi
        fk_expect_status failed "a run stopped by the reserve"
        [ "$(fk_sql "SELECT status FROM syncengine.sync_runs ORDER BY started_at DESC LIMIT 1")" = rate_limited ] \
            || die "run $i: the engine's run table lost the rate_limited status"
        [ $limited -ge 5 ] && break
        ;;
    *) die "run $i: exit $fk_rc: $(tail -n 5 "$T/run.log")" ;;
    esac
done
[ $limited -ge 5 ] || die "the reserve never stopped a run ($ok runs succeeded)"
used=$(limit_used)
note "  $ok runs succeeded, then $limited rate_limited; usage $used of 100, $(fk_stat api_calls) calls made by the engine"
[ "$used" = 90 ] || die "usage ended at $used, expected the line (90)"
fk_cursor_check

note "the kept usage is older than api_usage_max_age: one /limits call, still inside: refused"
age_kept 7200
before=$(fk_stat api_calls)
fk_run
fk_expect_rc 7 "a run still inside the reserve"
[ $(($(fk_stat api_calls) - before)) = 1 ] || die "asking for the usage took $(($(fk_stat api_calls) - before)) calls, expected 1"

note "the allowance recovered: after the next /limits call the run goes on"
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 10}' >/dev/null
age_kept 7200
fk_run
fk_expect_rc 0 "the run after the allowance recovered"
fk_check
echo ok
