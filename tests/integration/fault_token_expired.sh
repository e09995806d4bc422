#!/bin/sh
# fault_token_expired.sh - the access token expires in the middle of a run
# (Salesforce answers 401 INVALID_SESSION_ID): the source asks for a new one
# with the refresh token, once, and carries on; the run succeeds with exactly
# one extra token call.  A session that is rejected again right after a fresh
# login is not chased in a loop: the run fails (exit 5) after one re-login
# per request, keeps what it stored, marks the integration (status 'error'),
# and once it is active again the next run completes.
# docs/faults.md, row "access token expired".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 2000 --leads 300

note "the access token expires after the 4th page"
fk_faults '[{"match": "next", "after": 3, "times": 1, "kind": "expire_token"}]'
fk_stats_reset
fk_run
fk_expect_rc 0 "a run whose token expired"
[ "$(fk_fired)" = 1 ] || die "the expiry fault fired $(fk_fired) times"
[ "$(fk_stat token_calls)" = 2 ] || die "$(fk_stat token_calls) token calls, expected 2 (login, one refresh)"
fk_expect_status success "token expiry"
fk_check --runs 1

note "every session is rejected from the 4th page on"
fk_touch_all
fk_faults '[{"match": "next", "after": 3, "times": -1, "kind": "expire_token"}]'
fk_stats_reset
fk_run
fk_expect_rc 5 "a run whose sessions are always rejected"
tokens=$(fk_stat token_calls)
# the access token stored in the integration's row opens the run (no login): one or two refreshes
[ "$tokens" -ge 1 ] && [ "$tokens" -le 2 ] || die "$tokens token calls: the source chases expiring sessions"
fk_log_has "run failed.*(401|INVALID_SESSION_ID|Session expired)" "the error names the rejected session"
fk_expect_status failed "sessions always rejected"
fk_cursor_check

note "the next run completes"
fk_nofaults
# credentials rejected after a fresh login mark the integration (conf/henk.ini's
# on_auth_failure): it runs again once the application sets it active
[ "$(fk_sql "SELECT status FROM integrations WHERE id = '$FK_INT'")" = error ] || die "the integration was not marked"
fk_sql "UPDATE integrations SET status = 'active' WHERE id = '$FK_INT'"
fk_run
fk_expect_rc 0 "the run after the expiries"
fk_check --runs 3
echo ok
