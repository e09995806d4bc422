# tests/lib/twoway.sh - shared set-up of the two-way tests: a throwaway
# PostgreSQL cluster with conf/crm.sql, a Salesforce stand-in, and a
# configuration file for a two-way job over companies and contacts.
#
#   twoway_setup [sfstub options]      cluster + schema + stand-in "org"
#   twoway_ini FILE [job lines...]     writes a configuration (job crm)
#   twoway_run FILE [args]             one run; exit code in $rc, output in $T/run.log
#   sql "SELECT ..."                   one value from the database
#   sf METHOD PATH [JSON]              the stand-in's control API
#   tw_settle                          waits until the stand-in's edits are readable
#   tw_xid / tw_written TXID           the transaction counter now / rows written since

. "$top/tests/lib/pgcluster.sh"

twoway_setup() {
    pg_start
    _rc=$?
    [ $_rc -eq 0 ] || exit $_rc
    pg_psql -f "$top/conf/crm.sql" >/dev/null || die "conf/crm.sql does not load"
    sfstub_start org "$@"
    export SF_SECRET=test-client-secret SF_TOKEN=test-refresh-token
}

sql() { pg_psql -c "$1"; }
# the stand-in's control API through curl (a tenth of a python start-up under load)
sf() {
    if [ -n "${3:-}" ]; then
        curl -sS -f -X "$1" -H 'Content-Type: application/json' --data-binary "$3" "$SF_org_URL$2"
    else
        curl -sS -f -X "$1" "$SF_org_URL$2"
    fi
}

# The Salesforce source reads up to the server's time as its Date header gives
# it, in whole seconds: a record is readable once the clock is past the second
# of its stamp.  Waits exactly that long for the stand-in's latest stamp
# (sfstub_settle waits a second more, whatever the stamps).
tw_settle() {
    _last=$(sf GET /__stub/clock | sed -n 's/.*"last_stamp": *"\([^"]*\)".*/\1/p')
    [ -n "$_last" ] || return 0
    _until=$(($(date -d "$_last" +%s) + 1))
    while [ "$(date +%s)" -lt "$_until" ]; do
        sleep 0.02
    done
}

# Rows written (inserted or updated) by transactions after TXID (from tw_xid)
# in the tables named (default: the CRM's three): exact and immediate, unlike
# the statistics views.
tw_xid() { sql "SELECT txid_current()"; }
tw_written() {
    _x=$1
    shift
    [ $# -gt 0 ] || set -- companies contacts opportunities
    _q="SELECT 0"
    for _t in "$@"; do
        _q="$_q + (SELECT count(*) FROM $_t WHERE xmin::text::bigint > $_x)"
    done
    sql "$_q"
}

twoway_ini() {
    _ini=$1
    shift
    cat >"$_ini" <<INI
[engine]
state_dir = $T/state

[source salesforce]
plugin = salesforce
login_url = $SF_org_URL
client_id = test-client-id
client_secret = \${SF_SECRET}
refresh_token = \${SF_TOKEN}
lag = 0s
lookback = 0s

[sink crm]
plugin = postgres
conninfo = \${DATABASE_URL}

[job crm]
source = salesforce
sink = crm
$(printf '%s\n' "$@")

[stream crm.companies]
object = Account
target = companies
match = name

[map crm.companies]
name = <-> Name
industry = <-> Industry
phone = <-> Phone
website = <-> Website
city = <-> BillingCity

[stream crm.contacts]
object = Contact
target = contacts
match = email
${TW_CONTACTS_EXTRA:-}

[map crm.contacts]
first_name = <-> FirstName
last_name = <-> LastName
email = <-> Email
phone = <-> Phone
title = <-> Title
company_id = <-> AccountId via companies
INI
}

twoway_run() {
    _ini=$1
    shift
    $SYNCENGINE --once -c "$_ini" "$@" >"$T/run.log" 2>&1
    rc=$?
    cat "$T/run.log" >>"$T/engine.log"
}
