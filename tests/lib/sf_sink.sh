# tests/lib/sf_sink.sh - shared setup of the Salesforce sink's integration
# tests: a SQLite file as the source (tests/lib/sqlite.sh), the Salesforce
# stand-in as the target.
#
# Source it after common.sh: it skips when the plugins are missing, starts one
# stand-in org (SF_org_URL, no generated contacts), and gives
#   sf_sink_section NAME          the [sink NAME] section of that org
#   sf_ctl METHOD PATH [JSON]     the stand-in's control API
#   sf_truth OBJECT [deleted]     the stand-in's records of OBJECT (JSON) on stdout
#   sf_calls KIND                 calls of that kind since the last stats reset
#   sf_run INI EXPECTED [args]    one engine run (sqlite_run)

. "$top/tests/lib/sqlite.sh"
[ -f "$O/plugins/salesforce.so" ] || skip "salesforce plugin not built"

sfstub_start org --contacts 0 --leads 0 --accounts 3 "$@"
export SF_URL="$SF_org_URL" SF_SECRET=test-client-secret SF_TOKEN=test-refresh-token

sf_sink_section() {
    printf '[sink %s]\nplugin = salesforce\nlogin_url = ${SF_URL}\nclient_id = test-client-id\n' "$1"
    printf 'client_secret = ${SF_SECRET}\nrefresh_token = ${SF_TOKEN}\nretry_base = 50ms\n'
}

# (curl when there is one: a python start per control call adds up on a busy machine)
if command -v curl >/dev/null; then
    sf_ctl() {
        curl -sS --fail-with-body -X "$1" -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
            "$SF_org_URL$2" || die "stand-in control call $1 $2 failed"
    }
else
    sf_ctl() { sfstub_ctl "$SF_org_URL" "$@"; }
fi

sf_truth() {
    sf_ctl GET "/__stub/truth?object=$1${2:+&deleted=1}"
}

sf_calls() {
    _n=$(sf_ctl GET /__stub/stats | sed -n "s/.*\"by_kind\":{[^}]*\"$1\":\([0-9]*\).*/\1/p")
    echo "${_n:-0}"
}

sf_run() { sqlite_run "$@"; }

# done_line STREAM: the "done:" counts of STREAM in the last run ("450 read, 450 inserted, ...")
done_line() {
    sed -n "s/.*stream=$1 .*done: \(.*\)$/\1/p" "$T/out.log" | tail -n 1
}
