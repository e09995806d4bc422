# tests/lib/tenants.sh - a Henk database whose integrations rows are tenants of
# conf/henk.ini, each connected to its own org of one multi-org stand-in.
#
# tenants_setup N [sfstub options...]: a throwaway cluster with conf/henk.sql,
# a stand-in with N orgs (org-0001.., refresh token = name, 40 records each),
# the environment conf/henk.ini reads (no HENK_INTEGRATION_ID: every row), a
# private state directory; no rows yet.
# tenant_add K [INTERVAL_MINUTES]: business and integration number K (uuids
# ...K), connected to org K (its refresh token in the row).
# tenant_int K / tenant_biz K: the uuids.

tenant_int() { printf '22222222-2222-4222-8222-%012d' "$1"; }
tenant_biz() { printf '11111111-1111-4111-8111-%012d' "$1"; }
tenant_org() { printf 'org-%04d' "$1"; }

tenants_setup() {
    _n=$1; shift
    pg_start || exit $?
    at_exit pg_stop
    psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/henk.sql" >/dev/null || die "schema"
    sfstub_start org --orgs "$_n" "$@"
    unset HENK_INTEGRATION_ID HENK_BUSINESS_ID SALESFORCE_REFRESH_TOKEN
    export SALESFORCE_LOGIN_URL="$SF_org_URL"
    export SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
    export SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s HENK_TENANTS_REFRESH=1s
    export SYNCENGINE_STATE_DIR="$T/state"
}

tenant_add() {
    _iv=${2:-}
    _cfg='{"syncEnabled": true}'
    [ -n "$_iv" ] && _cfg="{\"syncEnabled\": true, \"syncInterval\": $_iv}"
    psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null || die "tenant_add $1"
INSERT INTO businesses (id, name) VALUES ('$(tenant_biz "$1")', 'Business $1') ON CONFLICT DO NOTHING;
INSERT INTO integrations (id, business_id, name, type, status, credentials, config)
VALUES ('$(tenant_int "$1")', '$(tenant_biz "$1")', 'Salesforce', 'crm', 'active',
        '{"refreshToken": "$(tenant_org "$1")"}', '$_cfg') ON CONFLICT DO NOTHING;
SQL
}

# tenant_leads K: leads stored for business K
tenant_leads() { psql -X -A -t -c "SELECT count(*) FROM leads WHERE business_id = '$(tenant_biz "$1")'"; }
# tenant_runs K [STATUS]: sync_logs rows of integration K (with that status)
tenant_runs() {
    psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE integration_id = '$(tenant_int "$1")'
                      ${2:+AND sync_status = '$2'}"
}
# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds
wait_for() {
    _s=$1; _d=$2; shift 2
    _i=0
    until "$@"; do
        _i=$((_i + 1)); [ $_i -gt $((_s * 5)) ] && die "$_d: not after $_s s (log: $(tail -n 5 "$T/engine.log"))"
        sleep 0.2
    done
}
