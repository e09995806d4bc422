#!/bin/sh
# A tenant whose credentials are rejected is not retried every cycle: with an
# on_auth_failure statement that only records the error (the row stays in
# the tenant query), the daemon runs the revoked tenant once, marks it, and
# leaves it alone while its row stays as it is -- the other tenant keeps
# running every 3 s.  Once the row changes (the business reconnects with a
# new token) the tenant runs again and succeeds.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 2
tenant_add 1 0.05
tenant_add 2 0.05
# on_auth_failure records the error but keeps the integration active
sed -e "s/^on_auth_failure = UPDATE integrations SET status = 'error',\$/on_auth_failure = UPDATE integrations SET/" \
    -e '/^include = /d' "$top/conf/henk.ini" >"$T/henk.ini"
grep -q "^on_auth_failure = UPDATE integrations SET\$" "$T/henk.ini" || die "could not rewrite on_auth_failure"
sfstub_ctl "$SF_org_URL" POST "/__stub/auth?org=$(tenant_org 2)" '{"revoke_refresh_tokens": true}' >/dev/null

$SYNCENGINE -c "$T/henk.ini" --run-at-start 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
marked() { [ -n "$(psql -X -A -t -c "SELECT config->>'lastError' FROM integrations WHERE id = '$(tenant_int 2)'")" ]; }
wait_for 30 "tenant 2 marked" marked
r1=$(tenant_runs 1 success)
sleep 8
[ "$(tenant_runs 2 failed)" = 1 ] || die "the revoked tenant was retried: $(tenant_runs 2 failed) failed runs"
[ "$(tenant_runs 1 success)" -gt "$r1" ] || die "tenant 1 stopped running"
[ "$(psql -X -A -t -c "SELECT status FROM integrations WHERE id = '$(tenant_int 2)'")" = active ] || die "row not active"

note "the business reconnects: its row changes, it runs again"
sfstub_ctl "$SF_org_URL" POST "/__stub/auth?org=$(tenant_org 2)" '{"refresh_token": "again-2"}' >/dev/null
psql -X -q -c "UPDATE integrations SET credentials = '{\"refreshToken\": \"again-2\"}' WHERE id = '$(tenant_int 2)'"
ok2() { [ "$(tenant_runs 2 success)" -ge 1 ]; }
wait_for 30 "tenant 2 synced after reconnecting" ok2
[ "$(tenant_leads 2)" = 40 ] || die "tenant 2 has $(tenant_leads 2) leads"
grep -q "job=salesforce@$(tenant_int 2)\].*row changed" "$T/engine.log" || die "no 'row changed' log line"
kill -TERM $pid; wait $pid || die "daemon exited $?"
assert_no_secrets again-2 org-0001 org-0002
echo "ok: a revoked tenant waits for its row to change"
