# tests/lib/henk.sh - a Henk database and Salesforce org for end-to-end tests and the demo.
#
# henk_db_init: loads conf/henk.sql into the throwaway cluster (tests/lib/pgcluster.sh)
# and creates business $1 with its Salesforce integration $2.
# henk_env URL BUSINESS INTEGRATION: exports what conf/henk.ini reads, pointing
# at a stand-in org (default stand-in credentials).

henk_db_init() {
    psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/henk.sql" >/dev/null || return 1
    henk_add_business "$1" "$2"
}

henk_add_business() {
    psql -X -q -v ON_ERROR_STOP=1 <<SQL >/dev/null
INSERT INTO businesses (id, name) VALUES ('$1', 'Business $1') ON CONFLICT DO NOTHING;
INSERT INTO integrations (id, business_id, name, type, status, config)
VALUES ('$2', '$1', 'Salesforce', 'crm', 'active', '{"syncEnabled": true}') ON CONFLICT DO NOTHING;
SQL
}

henk_env() {
    export SALESFORCE_LOGIN_URL="$1" HENK_BUSINESS_ID="$2" HENK_INTEGRATION_ID="$3"
    export SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
    # no lag and no lookback: each run reads exactly what changed since the last
    # one, which the tests count (fault_late_commit.sh runs the shipped values)
    export SALESFORCE_REFRESH_TOKEN=test-refresh-token SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s
}

# henk_setup [sfstub options...]: a throwaway database with the Henk schema and
# one business ($BIZ, $INT), a stand-in org ($SF_org_URL), the environment
# conf/henk.ini reads, and a private state directory.  Needs common.sh and
# pgcluster.sh; exits 77 (skip) when PostgreSQL is not installed.
henk_setup() {
    pg_start || exit $?
    at_exit pg_stop
    BIZ=11111111-1111-4111-8111-111111111111
    INT=22222222-2222-4222-8222-222222222222
    henk_db_init $BIZ $INT || die "schema"
    sfstub_start org "$@"
    henk_env "$SF_org_URL" $BIZ $INT
    export SYNCENGINE_STATE_DIR="$T/state"
}

# henk_single_conf DEST: conf/henk.ini with its job made a job of its own, not
# a template of [tenants salesforce]: ${tenant.X:-DEFAULT} becomes DEFAULT, the
# business and integration come from HENK_BUSINESS_ID and HENK_INTEGRATION_ID
# (for tests of features that address the job `salesforce` itself).
henk_single_conf() {
    PYTHONPATH="$top/tests/lib" python3 - "$top/conf/henk.ini" >"$1" <<'PY' || die "henk_single_conf"
import sys
from henk_conf import single_line
out = []
for line in open(sys.argv[1]):
    line = single_line(line)
    if line is not None:
        out.append(line)
sys.stdout.write("".join(out))
PY
}
