#!/bin/sh
# fault_rate_limit.sh - Salesforce's daily API allowance runs out in the
# middle of a run (403 REQUEST_LIMIT_EXCEEDED): the run stops at once, no
# retries, with run status 'rate_limited' (in the engine's own table; Henk's
# sync_logs knows only success/partial/failed, so conf/henk.ini writes
# 'failed' there, with the reason) and exit code 7; the pages
# stored before it keep their cursor; once the allowance is back, the next
# run resumes from that cursor (it does not start over) and completes.
# Also the engine's own brake: past (100 - api_reserve_percent) % of the
# allowance it stops before Salesforce has to refuse it.
# docs/faults.md, row "REQUEST_LIMIT_EXCEEDED".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
# Each run asks /limits before its first call (api_usage_max_age = 0): here the
# allowance comes back within seconds, where an org's takes hours, so a run
# must not trust the usage the previous run saw (fault_api_reserve.sh checks
# that it does, by default)
FK_SOURCE_OPTS="$FK_FAST_RETRIES
api_usage_max_age = 0"
# "stops at once" is checked stream by stream: with parallel streams the other
# stream stops at its own next request, which Salesforce refuses just the same
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300

note "the allowance runs out at the 5th page"
fk_faults '[{"match": "next", "after": 4, "times": 1, "kind": "limit_exceeded"}]'
fk_stats_reset
fk_run
fk_expect_rc 7 "a run that hit the API limit"
fk_log_has "REQUEST_LIMIT_EXCEEDED" "the error names Salesforce's code"
fk_expect_status failed "API limit"
case "$(fk_last_error)" in *REQUEST_LIMIT_EXCEEDED*) ;; *) die "sync_logs.error_message lacks the reason: $(fk_last_error)" ;; esac
[ "$(fk_sql "SELECT status FROM syncengine.sync_runs ORDER BY started_at DESC LIMIT 1")" = rate_limited ] \
    || die "the engine's run table lost the rate_limited status"
grep -q "attempt 1 of" "$T/run.log" && die "a refused request was retried"
calls=$(fk_stat api_calls)
stored=$(fk_leads)
[ "$stored" -gt 0 ] && [ "$stored" -lt 2300 ] || die "expected the pages before the limit stored, have $stored rows"
fk_cursor_check
cursor=$(fk_sql "SELECT cursor FROM syncengine.sync_state WHERE stream = 'contacts'")
[ -n "$cursor" ] || die "no cursor kept"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE source = 'salesforce_lead'")" = 0 ] \
    || die "the run went on with the next stream after the limit"

note "still over the limit: the next run stops at once, at the same cursor"
fk_run
fk_expect_rc 7 "a run over the limit"
[ "$(fk_sql "SELECT cursor FROM syncengine.sync_state WHERE stream = 'contacts'")" = "$cursor" ] \
    || die "the cursor moved while over the limit"

note "the allowance is back: the next run resumes and completes"
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 0}' >/dev/null
fk_nofaults
fk_run
fk_expect_rc 0 "the run after the limit"
grep -q "reading Contact from $cursor" "$T/run.log" || die "the run did not resume from the saved cursor $cursor"
fk_check --runs 3

note "api_reserve_percent stops the run before Salesforce refuses"
fk_touch_all
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 0, "max": 1000}' >/dev/null
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 895}' >/dev/null
fk_run
fk_expect_rc 7 "a run entering the reserve"
fk_log_has "api_reserve_percent" "the reserve is named"
fk_expect_status failed "reserve"
[ "$(fk_sql "SELECT status FROM syncengine.sync_runs ORDER BY started_at DESC LIMIT 1")" = rate_limited ] \
    || die "the engine's run table lost the rate_limited status (reserve)"
fk_cursor_check
used=$(sfstub_ctl "$SF_org_URL" GET /__stub/limits | python3 -c 'import json,sys; print(json.load(sys.stdin)["used"])')
[ "$used" -le 901 ] || die "the engine went on to $used of 1000 calls: past the reserve"
sfstub_ctl "$SF_org_URL" POST /__stub/limits '{"used": 0}' >/dev/null
fk_run
fk_expect_rc 0 "the run after the reserve"
fk_check --runs 5
echo ok
