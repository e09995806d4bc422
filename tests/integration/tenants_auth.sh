#!/bin/sh
# Tenants' credentials (conf/henk.ini's [tenants salesforce]): orgs that
# rotate their refresh token on every refresh.  The rotated token is stored
# in the tenant's row before it is used, so the next run -- a new process --
# refreshes with it once the access token has expired; while the stored
# access token is good, a run makes no token call.  A revoked refresh token
# fails that tenant's run only (its own run-log row), marks its row
# (on_auth_failure: status 'error' and the error text), and the tenant is
# left alone until the business reconnects (its row changes).
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 3 --org-rotate
for k in 1 2 3; do tenant_add $k; done
once() { engine -c "$top/conf/henk.ini" --once; }
org_stat() { sfstub_ctl "$SF_org_URL" GET "/__stub/orgs/$(tenant_org "$1")" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
row() { psql -X -A -t -c "SELECT $2 FROM integrations WHERE id = '$(tenant_int "$1")'"; }

note "first run: every tenant synced, the rotated refresh token stored in its row"
once || die "first run exited $?"
for k in 1 2 3; do
    [ "$(tenant_leads $k)" = 40 ] || die "tenant $k has $(tenant_leads $k) leads"
    rt=$(row $k "credentials->>'refreshToken'")
    [ -n "$rt" ] && [ "$rt" != "$(tenant_org $k)" ] || die "tenant $k: the rotated refresh token is not in its row"
done

note "a second run with the stored access tokens: no token call"
calls=$(org_stat 1 token_calls)
once || die "second run exited $?"
[ "$(org_stat 1 token_calls)" = "$calls" ] || die "a run with a good stored access token asked for a token"

note "access tokens expired: a new process refreshes with the rotated token from the row"
for k in 1 2 3; do sfstub_ctl "$SF_org_URL" POST "/__stub/auth?org=$(tenant_org $k)" '{"expire_access_tokens": true}' >/dev/null; done
sfstub_ctl "$SF_org_URL" POST "/__stub/mutate?org=$(tenant_org 1)" '[{"op":"create","object":"Contact","count":3}]' >/dev/null
sfstub_settle "$SF_org_URL"
once || die "the run after expiry exited $? (log: $(tail -n 5 "$T/engine.log"))"
[ "$(tenant_leads 1)" = 43 ] || die "tenant 1 has $(tenant_leads 1) leads after 3 new contacts"

note "tenant 2's refresh token revoked: only tenant 2 fails, and its row is marked"
sfstub_ctl "$SF_org_URL" POST "/__stub/auth?org=$(tenant_org 2)" '{"revoke_refresh_tokens": true, "expire_access_tokens": true}' >/dev/null
ok1=$(tenant_runs 1 success); ok3=$(tenant_runs 3 success)
once; rc=$?
[ $rc = 5 ] || die "a run with one revoked tenant exited $rc, expected 5"
[ "$(tenant_runs 2 failed)" = 1 ] || die "tenant 2's failure has no run-log row of its own"
[ "$(tenant_runs 1 success)" -gt "$ok1" ] && [ "$(tenant_runs 3 success)" -gt "$ok3" ] \
    || die "the other tenants did not succeed beside the revoked one"
[ "$(row 2 status)" = error ] || die "tenant 2 not marked (status $(row 2 status))"
case "$(row 2 "config->>'lastError'")" in *refresh*|*invalid_grant*|*re-authorize*) ;; *) die "tenant 2's error text: $(row 2 "config->>'lastError'")" ;; esac
grep -q "job=salesforce@$(tenant_int 2)\].*credentials rejected" "$T/engine.log" || die "no 'credentials rejected' log line"

note "not tried again until it reconnects"
runs2=$(tenant_runs 2)
once || die "run without the revoked tenant exited $?"
[ "$(tenant_runs 2)" = "$runs2" ] || die "the revoked tenant was tried again"
sfstub_ctl "$SF_org_URL" POST "/__stub/auth?org=$(tenant_org 2)" '{"refresh_token": "reconnected-2"}' >/dev/null
psql -X -q -c "UPDATE integrations SET status = 'active', credentials = '{\"refreshToken\": \"reconnected-2\"}' WHERE id = '$(tenant_int 2)'"
once || die "the run after reconnecting exited $? (log: $(tail -n 5 "$T/engine.log"))"
[ "$(tenant_runs 2 success)" -ge 2 ] || die "tenant 2 did not sync after reconnecting"

assert_no_secrets test-client-secret org-0001 org-0002 org-0003 reconnected-2
for k in 1 3; do
    rt=$(row $k "credentials->>'refreshToken'")
    assert_no_secrets "$rt"
done
echo "ok: rotated tokens kept in the rows, a revoked tenant isolated and marked"
