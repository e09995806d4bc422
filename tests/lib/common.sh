# tests/lib/common.sh - shared helpers for integration test scripts.
#
# Source it from a test in tests/integration/: it sets $top (the repository),
# $O (the build directory), $SYNCENGINE (the engine binary, wrapped in
# valgrind when SYNC_TEST_VALGRIND=1), a scratch directory $T removed on exit,
# and helpers to start the Salesforce stand-in (sfstub_start / sfstub_ctl)
# and to fail with a message (die) or skip (skip).  Cleanup functions register
# with at_exit so several helpers can each clean up after themselves.

top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
export SYNCENGINE_NO_PROGRESS=1

_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
_run_at_exit() { eval "$_at_exit_cmds"; }
trap _run_at_exit EXIT

T=$(mktemp -d "${TMPDIR:-/tmp}/syncengine-test.XXXXXX")
chmod 755 "$T"
at_exit 'rm -rf "$T"'

die() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "skipped: $*" >&2; exit 77; }
note() { echo "--- $*"; }

if [ "${SYNC_TEST_VALGRIND:-0}" = 1 ]; then
    SYNCENGINE="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $O/syncengine"
else
    SYNCENGINE="$O/syncengine"
fi
export SYNCENGINE

# engine ARGS...: runs the engine with the build's plugins; output to $T/engine.log (appended) and stderr.
engine() {
    $SYNCENGINE "$@" 2>>"$T/engine.log"
}

# sfstub_start NAME [sfstub options]: starts a stand-in org; exports SF_<NAME>_URL. Default credentials.
sfstub_start() {
    _name=$1; shift
    _pf="$T/sfstub-$_name.port"
    python3 "$top/tests/sfstub/sfstub.py" --port 0 --port-file "$_pf" "$@" \
        >"$T/sfstub-$_name.log" 2>&1 &
    _pid=$!
    at_exit "kill $_pid 2>/dev/null; wait $_pid 2>/dev/null"
    _i=0
    while [ ! -s "$_pf" ]; do
        _i=$((_i + 1))
        [ $_i -gt 600 ] && { cat "$T/sfstub-$_name.log" >&2; die "sfstub $_name did not start"; }
        kill -0 $_pid 2>/dev/null || { cat "$T/sfstub-$_name.log" >&2; die "sfstub $_name exited"; }
        sleep 0.1
    done
    eval "SF_${_name}_URL=http://127.0.0.1:$(cat "$_pf")"
    eval "export SF_${_name}_URL"
}

# sfstub_ctl URL METHOD PATH [JSON]: calls the stand-in's control API, prints the response body.
sfstub_ctl() {
    python3 - "$1" "$2" "$3" "${4:-}" <<'PY'
import sys, urllib.request
base, method, path, body = sys.argv[1:5]
req = urllib.request.Request(base + path, method=method, data=body.encode() if body else None,
                             headers={"Content-Type": "application/json"})
with urllib.request.urlopen(req, timeout=60) as r:
    sys.stdout.write(r.read().decode())
PY
}

# sfstub_settle URL: waits until the stand-in's latest SystemModstamp lies
# behind what the next run reads.  A run's upper bound comes from the Date
# header, which has whole seconds, so it may be up to a second behind the
# stand-in's clock; and a mutation of N records stamps them 1 ms apart, up to
# N ms ahead of real time.  Waiting a fixed 1.1 s is not enough for a few
# hundred changes.
sfstub_settle() {
    sfstub_ctl "$1" GET /__stub/clock | python3 -c '
import datetime, json, sys, time
c = json.load(sys.stdin)
def ms(v):
    return datetime.datetime.fromisoformat(v.replace("Z", "+00:00").replace("+0000", "+00:00")).timestamp()
wait = ms(c["last_stamp"]) - ms(c["now"]) if c.get("last_stamp") else 0.0
time.sleep(max(wait, 0.0) + 1.1)'
}

# Fails when a secret shows up in the engine log.
assert_no_secrets() {
    for s in "$@"; do
        if grep -q -- "$s" "$T/engine.log" 2>/dev/null; then
            die "secret leaked into the log: $(grep -n -- "$s" "$T/engine.log" | head -n 3)"
        fi
    done
}
