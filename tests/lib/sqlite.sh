# tests/lib/sqlite.sh - shared setup of the sqlite plugin's integration tests.
#
# Source it after common.sh (and pgcluster.sh, where used): it skips the test
# when the sqlite plugin or the sqlite3 shell is missing, names the test's
# database file $db with q() to query it, prints the INI sections the tests
# share, and runs the engine once with the exit code a step expects.

[ -x "$O/syncengine" ] && [ -f "$O/plugins/sqlite.so" ] || skip "sqlite plugin not built"
command -v sqlite3 >/dev/null || skip "sqlite3 shell not installed"

db=$T/edge.db
q() { sqlite3 -batch "$db" "$@"; }

# sqlite_section KIND NAME [PATH]: a [source NAME] or [sink NAME] section of the sqlite plugin on PATH ($db)
sqlite_section() {
    printf '[%s %s]\nplugin = sqlite\npath = %s\n' "$1" "$2" "${3:-$db}"
}

# pg_sink_section NAME: a [sink NAME] section of the postgres plugin on ${DATABASE_URL} (pgcluster.sh)
pg_sink_section() {
    printf '[sink %s]\nplugin = postgres\nconninfo = ${DATABASE_URL}\n' "$1"
}

# items_job JOB SOURCE SINK BATCH_SIZE [map lines...]: [job JOB] moving the generate source's items (id, name,
# amount and the map lines given) into the table items
items_job() {
    printf '[job %s]\nsource = %s\nsink = %s\nbatch_size = %s\n\n' "$1" "$2" "$3" "$4"
    printf '[stream %s.items]\nobject = items\ntarget = items\n\n' "$1"
    printf '[map %s.items]\nid = id\nname = name\namount = amount\n' "$1"
    shift 4
    [ $# = 0 ] || printf '%s\n' "$@"
}

# sqlite_run INI EXPECTED_EXIT [args]: one run of the engine; its output in $T/out.log (and $T/engine.log)
sqlite_run() {
    local ini=$1 want=$2 code=0
    shift 2
    $SYNCENGINE --once -c "$ini" "$@" >"$T/out.log" 2>&1 || code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/out.log" >&2; die "exit code $code, expected $want"; }
}
