#!/bin/sh
# fault_refresh_revoked.sh - the refresh token is revoked (a user or an admin
# revoked the connected app's access): the token endpoint answers 400
# invalid_grant.  That never heals by itself, so the run fails fast: one
# token call, no retries, exit 5, run log 'failed' with a message telling
# what to do (re-authorize, set refresh_token in [source salesforce]); the
# integration is marked (conf/henk.ini's on_auth_failure: status 'error'),
# so a second run leaves it alone (no storm of token calls) until it is
# reconnected (status 'active' again).  Revoked in the middle
# of a run (the access token expires too), the run stops with the same
# message, keeping the pages it stored.  With a new refresh token the next
# run completes.  docs/faults.md, row "refresh token revoked".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 2000 --leads 300

note "revoked before the run"
sfstub_ctl "$SF_org_URL" POST /__stub/auth '{"revoke_refresh_tokens": true}' >/dev/null
fk_stats_reset
start=$(date +%s%3N)
fk_run
elapsed=$(( $(date +%s%3N) - start ))
fk_expect_rc 5 "a run with a revoked refresh token"
[ "$(fk_stat token_calls)" = 1 ] || die "$(fk_stat token_calls) token calls for a revoked refresh token, expected 1"
[ "$(fk_stat api_calls)" = 0 ] || die "$(fk_stat api_calls) API calls without a session"
[ $elapsed -lt 10000 ] || die "failing took $elapsed ms"
fk_log_has "rejected the refresh token.*invalid_grant.*re-authorize.*refresh_token in \[source salesforce\]" \
    "the message says what to do"
fk_expect_status failed "revoked refresh token"
case "$(fk_last_error)" in *re-authorize*) ;; *) die "sync_logs.error_message lacks the advice: $(fk_last_error)" ;; esac
# Both streams may start at once and share one session: one that did not ask
# the token endpoint itself must repeat the advice too, whichever wins the race
# (the second stream is not started at all when the first has failed by then).
if grep -E "stopped:.*failed reading" "$T/run.log" | grep -vq "re-authorize"; then
    die "a stream's failure lacks the advice: $(grep -E "stopped:.*failed reading" "$T/run.log")"
fi
[ "$(fk_leads)" = 0 ] || die "rows stored without a session"
[ "$(fk_sql "SELECT status FROM integrations WHERE id = '$FK_INT'")" = error ] \
    || die "the revoked integration was not marked"
fk_run
fk_expect_rc 0 "the second run, with the revoked integration marked"
[ "$(fk_stat token_calls)" = 1 ] || die "$(fk_stat token_calls) token calls over two runs, expected 1"

note "a new refresh token: the next run completes"
sfstub_ctl "$SF_org_URL" POST /__stub/auth '{"refresh_token": "test-refresh-token-2"}' >/dev/null
export SALESFORCE_REFRESH_TOKEN=test-refresh-token-2
fk_sql "UPDATE integrations SET status = 'active' WHERE id = '$FK_INT'" >/dev/null
fk_run
fk_expect_rc 0 "the run with a new refresh token"
fk_check --runs 2

note "revoked in the middle of a run"
fk_touch_all
fk_faults '[{"match": "next", "after": 3, "times": 1, "kind": "revoke_refresh"},
            {"match": "next", "after": 3, "times": 1, "kind": "expire_token"}]'
fk_stats_reset
fk_run
fk_expect_rc 5 "a run whose refresh token was revoked mid-run"
# the access token stored in the row is used first: no login, one failed refresh
[ "$(fk_stat token_calls)" = 1 ] || die "$(fk_stat token_calls) token calls, expected 1 (one failed refresh)"
fk_log_has "rejected the refresh token.*re-authorize" "mid-run revocation"
fk_expect_status failed "mid-run revocation"
fk_cursor_check
touched=$(fk_sql "SELECT count(*) FROM leads WHERE title = 'Touched'")
[ "$touched" -gt 0 ] || die "the pages before the revocation were not stored"

note "re-authorized: the next run completes"
fk_nofaults
sfstub_ctl "$SF_org_URL" POST /__stub/auth '{"refresh_token": "test-refresh-token-3"}' >/dev/null
export SALESFORCE_REFRESH_TOKEN=test-refresh-token-3
fk_sql "UPDATE integrations SET status = 'active', credentials = '{}' WHERE id = '$FK_INT'" >/dev/null
fk_run
fk_expect_rc 0 "the run after re-authorizing"
fk_check --runs 4
echo ok
