# tests/lib/d1.sh - shared setup of the D1 integration tests (d1_*.sh, edge_d1.sh).
#
# Source it after common.sh: it skips the test when the sqlite plugin is not
# built, and gives d1stub_start (the D1 stand-in on a SQLite file $d1db,
# queried with d1q), d1stub_ctl, the INI section of the plugin on the
# stand-in, and d1_run (one engine run with the exit code a step expects).

[ -x "$O/syncengine" ] && [ -f "$O/plugins/sqlite.so" ] || skip "sqlite plugin not built"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

d1db=$T/d1.db
d1q() { sqlite3 -batch "$d1db" "$@"; }
D1_ACCOUNT=acc0123
D1_DATABASE=db-0000-1111
D1_TOKEN=d1tok-$$-$RANDOM-secret
export D1_TOKEN

# d1stub_start: starts the stand-in on $d1db; sets D1_URL (the API base) and D1_CTL (its control base)
d1stub_start() {
    local pf="$T/d1stub.port" i=0
    python3 "$top/tests/d1stub/d1stub.py" --db "$d1db" --port 0 --port-file "$pf" --token "$D1_TOKEN" \
        --account "$D1_ACCOUNT" --database "$D1_DATABASE" >"$T/d1stub.log" 2>&1 &
    _d1stub_pid=$!
    at_exit "kill $_d1stub_pid 2>/dev/null; wait $_d1stub_pid 2>/dev/null"
    while [ ! -s "$pf" ]; do
        i=$((i + 1))
        [ $i -gt 300 ] && { cat "$T/d1stub.log" >&2; die "d1stub did not start"; }
        kill -0 $_d1stub_pid 2>/dev/null || { cat "$T/d1stub.log" >&2; die "d1stub exited"; }
        sleep 0.1
    done
    D1_CTL=http://127.0.0.1:$(cat "$pf")
    D1_URL=$D1_CTL/client/v4
}

# d1stub_ctl METHOD PATH [JSON]: the stand-in's control API
d1stub_ctl() { sfstub_ctl "$D1_CTL" "$@"; }

# d1stub_stat NAME: one counter of /__stub/stats
d1stub_stat() { d1stub_ctl GET /__stub/stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# d1_section KIND NAME: a [source NAME] or [sink NAME] section of the sqlite plugin on the stand-in
d1_section() {
    printf '[%s %s]\nplugin = sqlite\nd1_account_id = %s\nd1_database_id = %s\nd1_api_token = ${D1_TOKEN}\n' \
        "$1" "$2" "$D1_ACCOUNT" "$D1_DATABASE"
    printf 'd1_api_url = %s\nd1_retries = 3\n' "$D1_URL"
}

# d1_run INI EXPECTED_EXIT [args]: one run of the engine; its output in $T/out.log (and $T/engine.log)
d1_run() {
    local ini=$1 want=$2 code=0
    shift 2
    $SYNCENGINE --once -c "$ini" "$@" >"$T/out.log" 2>&1 || code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/out.log" >&2; die "exit code $code, expected $want"; }
}
