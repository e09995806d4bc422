# tests/lib/faultkit.sh - the Henk sync under faults, for tests/integration/fault_*.sh,
# crash_*.sh, badinput_*.sh and tests/soak/.
#
# Source it after tests/lib/common.sh.  fk_setup starts a throwaway PostgreSQL
# cluster with the Henk schema and one business, a Salesforce stand-in with the
# given options, and writes $FK_CONF: conf/henk.ini with extra [source
# salesforce] options from $FK_SOURCE_OPTS (one "key = value" per line), so a
# test can make timeouts short and retries quick without touching the shipped
# file.  fk_run runs the engine on it and leaves the exit code in $fk_rc and
# the run's stderr in $T/run.log (everything also goes to $T/engine.log);
# fk_check compares the database with the stand-in's ground truth
# (tests/lib/henk_check.py).  The other helpers read the run log (sync_logs),
# the saved cursors and the stand-in's counters.
#
# Every helper fails the test with a message (die) rather than returning an
# error, so test scripts read as the scenario they check.

. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"

FK_BIZ=11111111-1111-4111-8111-111111111111
FK_INT=22222222-2222-4222-8222-222222222222
FK_CONF="$T/henk.ini"
fk_runs=0
# FK_KEEP=DIR keeps the logs of a test (the scratch directory goes away on exit)
[ -n "${FK_KEEP:-}" ] && at_exit 'mkdir -p "$FK_KEEP" && cp "$T"/*.log "$FK_KEEP"/ 2>/dev/null'


# fk_conf [FILE]: writes conf/henk.ini plus $FK_SOURCE_OPTS into FILE (default $FK_CONF),
# with parallel_streams = $FK_PARALLEL_STREAMS when that is set (scenarios that
# count one stream's requests in order run the streams one after the other).
# The include of conf.d files is dropped: a test's configuration is exactly this file.
fk_conf() {
    FK_SOURCE_OPTS=${FK_SOURCE_OPTS:-} FK_PARALLEL_STREAMS=${FK_PARALLEL_STREAMS:-} \
        python3 - "$top/conf/henk.ini" >"${1:-$FK_CONF}" <<'PY' || die "cannot write the test configuration"
import os, sys
extra = [l.strip() for l in os.environ["FK_SOURCE_OPTS"].splitlines() if l.strip()]
parallel = os.environ["FK_PARALLEL_STREAMS"]
out, section = [], None
for line in open(sys.argv[1]):
    s = line.strip()
    if s.startswith("["):
        section = s
    if s.startswith("include ="):
        continue
    if parallel and s.startswith("parallel_streams ="):
        line = "parallel_streams = %s\n" % parallel
    out.append(line)
    if s == "[source salesforce]":
        out.extend(e + "\n" for e in extra)
sys.stdout.write("".join(out))
PY
}

# fk_setup [sfstub options...]: database, stand-in "org", environment, $FK_CONF.
fk_setup() {
    pg_start || exit $?
    henk_db_init $FK_BIZ $FK_INT || die "cannot load the Henk schema"
    sfstub_start org "$@"
    henk_env "$SF_org_URL" $FK_BIZ $FK_INT
    export SYNCENGINE_STATE_DIR="$T/state"
    fk_conf
}

# fk_run [engine args]: one run of the test configuration (--once unless args given).
fk_run() {
    fk_runs=$((fk_runs + 1))
    [ $# -gt 0 ] || set -- --once
    fk_rc=0
    $SYNCENGINE -c "$FK_CONF" "$@" 2>"$T/run.log" || fk_rc=$?
    {
        echo "=== run $fk_runs: $*  (exit $fk_rc)"
        cat "$T/run.log"
    } >>"$T/engine.log"
    cp "$T/run.log" "$T/run-$fk_runs.log"
}

# fk_expect_rc CODE WHAT: the last run exited CODE.
fk_expect_rc() {
    [ "$fk_rc" -eq "$1" ] || die "$2: exit code $fk_rc, expected $1; log: $(tail -n 8 "$T/run.log")"
}

# fk_log_has REGEX WHAT: the last run's log matches (extended regex).
fk_log_has() {
    grep -Eq -- "$1" "$T/run.log" || die "$2: no line matching '$1' in the log: $(tail -n 8 "$T/run.log")"
}

# fk_check [henk_check options]: the database equals the stand-in's ground truth.
fk_check() {
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_org_URL" --business $FK_BIZ --integration $FK_INT "$@" \
        || die "the database differs from Salesforce"
}

fk_sql() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

# Status and error message of the latest sync_logs row.
fk_last_status() { fk_sql "SELECT sync_status FROM sync_logs ORDER BY started_at DESC LIMIT 1"; }
fk_last_error() { fk_sql "SELECT coalesce(error_message, '') FROM sync_logs ORDER BY started_at DESC LIMIT 1"; }

# fk_expect_status STATUS WHAT: the latest run-log row has STATUS and is completed.
fk_expect_status() {
    _st=$(fk_last_status)
    [ "$_st" = "$1" ] || die "$2: latest sync_logs row is '$_st' ($(fk_last_error)), expected '$1'"
    [ "$(fk_sql "SELECT count(*) FROM sync_logs WHERE completed_at IS NULL OR sync_status = 'running'")" = 0 ] \
        || die "$2: a sync_logs row is left open"
}

fk_leads() { fk_sql "SELECT count(*) FROM leads WHERE business_id = '$FK_BIZ'"; }

# fk_faults JSON-LIST: replaces the stand-in's fault list; fk_nofaults clears it.
fk_faults() { sfstub_ctl "$SF_org_URL" POST /__stub/faults "{\"faults\": $1}" >/dev/null || die "cannot set faults"; }
fk_nofaults() { sfstub_ctl "$SF_org_URL" DELETE /__stub/faults >/dev/null || die "cannot clear faults"; }

# fk_stat KEY: a counter of /__stub/stats (by_kind.X for the per-kind ones).
fk_stat() {
    sfstub_ctl "$SF_org_URL" GET /__stub/stats | python3 -c '
import json, sys
v = json.load(sys.stdin)
for k in sys.argv[1].split("."):
    v = v[k]
print(v)' "$1"
}
fk_stats_reset() { sfstub_ctl "$SF_org_URL" POST /__stub/stats/reset >/dev/null; }

# fk_fired: how many times the current faults fired (sum over the list).
fk_fired() {
    sfstub_ctl "$SF_org_URL" GET /__stub/faults | python3 -c '
import json, sys
d = json.load(sys.stdin)
fl = d.get("faults", d) if isinstance(d, dict) else d
print(sum(f.get("fired", 0) for f in fl))'
}

# fk_cursor_check: every record at or before a stream's saved cursor is stored
# (the cursor is never ahead of the data).  Uses $FK_TRUTH if set (a cache of
# the truth written by fk_truth_cache), else asks the stand-in.
fk_cursor_check() {
    python3 "$top/tests/lib/cursor_check.py" --stub "$SF_org_URL" --business $FK_BIZ \
        ${FK_TRUTH:+--truth "$FK_TRUTH"} || die "a saved cursor is ahead of the stored data"
}

# fk_mutate JSON-LIST: applies stand-in mutations.
fk_mutate() { sfstub_ctl "$SF_org_URL" POST /__stub/mutate "$1" >/dev/null || die "mutate failed: $1"; }

# Source options the fault tests use: small pages (many requests to fault),
# quick bounded retries, a short timeout.
FK_FAST_RETRIES='batch_size = 200
max_attempts = 3
retry_base = 50ms
retry_max = 2s
timeout = 2s
connect_timeout = 2s'

# fk_touch_all: changes every contact and lead in Salesforce in one
# transaction (one SystemModstamp for all: the pages split a tie), so the next
# run has a whole sync to do.
fk_touch_all() {
    fk_mutate '[{"op":"update","object":"Contact","all":true,"set":{"Title":"Touched"},"same_stamp":true},
                {"op":"update","object":"Lead","all":true,"set":{"Title":"Touched"},"same_stamp":true}]'
    fk_settle
}

# fk_settle: waits until the stand-in's Date header is past every stamp given
# so far (sfstub_settle in common.sh).
fk_settle() { sfstub_settle "$SF_org_URL"; }

# fk_transport_row KIND [FAULT-KEYS]: one row of the fault matrix for an HTTP
# fault on query pages (sfstub kinds status, reset, truncate, nonjson, slow).
#  1. transient: two faulted page requests in a row -> retried, run succeeds;
#  2. persistent: every page from the third on is faulted -> exactly
#     max_attempts (3) tries of that page, run 'failed', exit 5, a log line
#     for each retry, the pages before it stored with their cursor;
#  3. faults gone -> the next run completes the work.
# FAULT-KEYS are extra JSON members of the fault, e.g. '"status": 500';
# ERROR-REGEX must match the failed run's log (the error it reports).
fk_transport_row() {
    _kind=$1; _keys=${2:+, $2}; _err=${3:-.}
    note "$_kind: transient"
    fk_faults "[{\"match\": \"next\", \"after\": 2, \"times\": 2, \"kind\": \"$_kind\"$_keys}]"
    fk_run
    fk_expect_rc 0 "a run meeting two $_kind faults"
    [ "$(fk_fired)" = 2 ] || die "$_kind: the fault fired $(fk_fired) times, expected 2"
    fk_log_has "attempt 1 of 3 failed.*retrying" "$_kind: transient"
    fk_check --runs 1

    note "$_kind: persistent"
    fk_touch_all
    fk_faults "[{\"match\": \"next\", \"after\": 2, \"times\": -1, \"kind\": \"$_kind\"$_keys}]"
    fk_run
    fk_expect_rc 5 "a run meeting $_kind on every page"
    # every faulted request is tried exactly max_attempts times (a stream may
    # go on with the next one after its error; each failing one counts)
    _failing=$(grep -c "attempt 1 of 3 failed" "$T/run.log")
    _fired=$(fk_fired)
    [ "$_failing" -ge 1 ] || die "$_kind: no retry logged"
    grep -q "attempt 3 of 3 failed" "$T/run.log" && die "$_kind: a request was tried more than max_attempts times"
    [ "$(grep -c "attempt 2 of 3 failed" "$T/run.log")" = "$_failing" ] || die "$_kind: not every failing request was retried"
    if [ "$_kind" = reset ]; then
        # libcurl itself retries a request whose reused connection was reset, once
        [ "$_fired" -ge $((3 * _failing)) ] && [ "$_fired" -le $((6 * _failing)) ] \
            || die "$_kind: $_fired faulted answers for $_failing failing requests (3 attempts each)"
    else
        [ "$_fired" = $((3 * _failing)) ] \
            || die "$_kind: $_fired faulted answers for $_failing failing requests, expected 3 each (max_attempts)"
    fi
    fk_log_has "run failed" "$_kind: persistent"
    fk_log_has "$_err" "$_kind: the error says what failed"
    fk_expect_status failed "$_kind: persistent"
    fk_cursor_check
    _touched=$(fk_sql "SELECT count(*) FROM leads WHERE title = 'Touched'")
    [ "$_touched" -gt 0 ] || die "$_kind: the pages before the fault were not stored"
    _all=$(fk_leads)
    [ "$_touched" -lt "$_all" ] || die "$_kind: every row was stored although a page failed"

    note "$_kind: the next run completes the work"
    fk_nofaults
    fk_run
    fk_expect_rc 0 "the run after $_kind"
    fk_check --runs 3
}

# fk_refused NAME SED-SCRIPT LINE-REGEX FRAGMENT...: $FK_CONF edited by
# SED-SCRIPT (into $T/NAME.ini) is refused with exit 3 (configuration invalid)
# by `syncengine check` and by --once, in at most 3 lines; the message holds
# FILE:LINE: or FILE:LINE) (the line of the edited file matching LINE-REGEX)
# and every FRAGMENT.  Mismatches go to the test's own fail function.
fk_refused() {
    name=$1 script=$2 lre=$3
    shift 3
    f="$T/$name.ini"
    sed "$script" "$FK_CONF" >"$f"
    cmp -s "$f" "$FK_CONF" && { fail "$name: the edit changed nothing"; return; }
    for mode in check once; do
        rc=0
        if [ $mode = check ]; then
            $SYNCENGINE check -c "$f" >/dev/null 2>"$T/err" || rc=$?
        else
            $SYNCENGINE -c "$f" --once >/dev/null 2>"$T/err" || rc=$?
        fi
        msg=$(cat "$T/err")
        [ "$rc" = 3 ] || fail "$name ($mode): exit code $rc, expected 3: $msg"
        line=$(grep -n -m1 -E -- "$lre" "$f" | cut -d: -f1)
        case "$msg" in *"$f:$line:"* | *"$f:$line)"*) ;; *) fail "$name ($mode): message does not name $f:$line: $msg" ;; esac
        for frag in "$@"; do
            case "$msg" in *"$frag"*) ;; *) fail "$name ($mode): message lacks '$frag': $msg" ;; esac
        done
        [ "$(wc -l <"$T/err")" -le 3 ] || fail "$name ($mode): more than 3 lines for one mistake: $msg"
    done
    echo "ok   $name: $(head -c 220 "$T/err")"
}
