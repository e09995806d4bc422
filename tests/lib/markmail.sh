# tests/lib/markmail.sh - shared set-up of the MarkMail tests: a throwaway
# PostgreSQL cluster with conf/markmail.sql, a Salesforce stand-in, and the
# shipped conf/markmail.ini driven from the environment only.
#
#   markmail_setup [sfstub options]   cluster + schema + stand-in "org" + environment
#   mm [args]                         one run of conf/markmail.ini; exit code in $rc, output in $T/run.log
#   sql "SELECT ..."                  one value from the database
#   sf METHOD PATH [JSON]             the stand-in's control API
#   sf_count OBJECT [python condition on r]   live records of OBJECT in the stand-in
#   sf_calls                          collections calls since the last stats reset

. "$top/tests/lib/pgcluster.sh"

markmail_setup() {
    pg_start
    _rc=$?
    [ $_rc -eq 0 ] || exit $_rc
    pg_psql -f "$top/conf/markmail.sql" >/dev/null || die "conf/markmail.sql does not load"
    sfstub_start org "$@"
    export SALESFORCE_LOGIN_URL="$SF_org_URL" SALESFORCE_CLIENT_ID=test-client-id
    export SALESFORCE_CLIENT_SECRET=test-client-secret SALESFORCE_REFRESH_TOKEN=test-refresh-token
    export SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s
    unset MARKMAIL_EVENTS_HORIZON MARKMAIL_SCHEDULE
}

sql() { pg_psql -c "$1"; }
sf() { sfstub_ctl "$SF_org_URL" "$@"; }

mm() {
    $SYNCENGINE --once -c "$top/conf/markmail.ini" --state-dir "$T/state" "$@" >"$T/run.log" 2>&1
    rc=$?
    cat "$T/run.log" >>"$T/engine.log"
}

# sf_count OBJECT [CONDITION]: live records of OBJECT (r: the record as a dict) meeting CONDITION
sf_count() {
    sf GET "/__stub/truth?object=$1" | python3 -c '
import json, sys
cond = sys.argv[1]
print(sum(1 for r in json.load(sys.stdin)["records"] if not r.get("IsDeleted") and eval(cond)))' "${2:-True}"
}

# sf_dump OBJECT EXPR: one line per live record, EXPR evaluated on r, sorted
sf_dump() {
    sf GET "/__stub/truth?object=$1" | python3 -c '
import json, sys
expr = sys.argv[1]
print("\n".join(sorted(str(eval(expr)) for r in json.load(sys.stdin)["records"] if not r.get("IsDeleted"))))' "$2"
}

sf_stat() {
    sf GET /__stub/stats | python3 -c 'import json, sys; s = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
