#!/bin/bash
# tests/run.sh - runs the test suite and prints one summary line.
#
#   tests/run.sh              unit tests, then integration tests
#   tests/run.sh unit         unit tests only (build/tests/test_* and build/tests/*/test_*)
#   tests/run.sh integration  integration scripts only (tests/integration/*.sh)
#   TESTS="a b" tests/run.sh  only tests whose name contains one of the words
#                             ("word$": whose name ends with it; "!word": none
#                             whose name contains word, whatever else matches)
#   JOBS=N tests/run.sh       N tests at a time (default 2)
#
# A unit test is a cmocka program; an integration test is a script that
# exits 0 (pass), 77 (skipped, with the reason on stderr) or anything else
# (fail).  Tests are independent (each integration test starts its own
# database and stand-in on free ports), so they run in parallel, the long ones
# first.  Output of each test goes
# to $O/test-logs/NAME.log and is shown when the test fails.
# SYNC_TEST_VALGRIND=1 runs every unit test and engine process under valgrind
# memcheck (see tests/lib/common.sh).
set -u
O=${O:-build}
JOBS=${JOBS:-2}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
what=${1:-all}
logs="$O/test-logs"
mkdir -p "$logs"
results="$logs/.results.$$"
: >"$results"

selected() {
    [ -z "${TESTS:-}" ] && return 0
    local w any=0 positive=0
    for w in $TESTS; do
        case "$w" in
            !*) case "$1" in *"${w#!}"*) return 1 ;; esac ;; # "!name": never
            *\$) positive=1; case "$1" in *"${w%\$}") any=1 ;; esac ;; # "name$": ends with name
            *) positive=1; case "$1" in *"$w"*) any=1 ;; esac ;;
        esac
    done
    [ $any = 1 ] || [ $positive = 0 ]
}

# Runs one test, prints its line, appends "STATUS name" to $results.
run_one() { # name, command...
    local name=$1; shift
    local log="$logs/$(echo "$name" | tr '/' '_').log"
    local start=$(date +%s)
    "$@" >"$log" 2>&1
    local rc=$?
    local secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        printf 'PASS %-44s %4ss\n' "$name" "$secs"
        echo "PASS $name" >>"$results"
    elif [ $rc -eq 77 ]; then
        printf 'SKIP %-44s %s\n' "$name" "$(tail -n 1 "$log")"
        echo "SKIP $name" >>"$results"
    else
        { printf 'FAIL %-44s %4ss (exit %d)\n' "$name" "$secs" "$rc"
          sed 's/^/    | /' "$log" | tail -n 60; } 
        echo "FAIL $name" >>"$results"
    fi
}

vg=""
if [ "${SYNC_TEST_VALGRIND:-0}" = 1 ]; then
    vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-origins=yes"
fi

# Every test is independent: unit and integration tests share one pool of
# $JOBS.  Tests whose script says "# runs long" (and the slowest unit tests)
# start first, so that the pool does not end waiting on one of them alone.
queue_first=""
queue_rest=""
add() { # name, command (one word)
    if [ "${3:-}" = long ]; then
        queue_first="$queue_first $1=$2"
    else
        queue_rest="$queue_rest $1=$2"
    fi
}
if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in $(find "$O/tests" -type f -name 'test_*' ! -name '*.o' ! -name '*.d' 2>/dev/null | sort); do
        [ -x "$t" ] || continue
        name="unit/${t#$O/tests/}"
        selected "$name" || continue
        case "$name" in unit/salesforce/test_stub|unit/test_state) add "$name" "$t" long ;; *) add "$name" "$t" ;; esac
    done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
    for t in tests/integration/*.sh; do
        [ -x "$t" ] || continue
        name="integration/$(basename "$t" .sh)"
        selected "$name" || continue
        if grep -q '^# runs long' "$t"; then add "$name" "$t" long; else add "$name" "$t"; fi
    done
fi
# One initdb for every test's cluster (tests/lib/pgcluster.sh copies it).
if [ -z "${PGCLUSTER_TEMPLATE:-}" ] && [ "$what" != unit ]; then
    . "$top/tests/lib/pgcluster.sh"
    PGCLUSTER_TEMPLATE=$(pg_template_make)
    if [ -n "$PGCLUSTER_TEMPLATE" ]; then
        export PGCLUSTER_TEMPLATE
        trap 'rm -rf "$PGCLUSTER_TEMPLATE"' EXIT
    fi
fi
running=0
for item in $queue_first $queue_rest; do
    name=${item%%=*}
    cmd=${item#*=}
    if [ "$running" -ge "$JOBS" ]; then
        wait -n
        running=$((running - 1))
    fi
    case "$name" in
        unit/*) run_one "$name" $vg "$cmd" & ;;
        *) run_one "$name" env O="$O" "$cmd" & ;;
    esac
    running=$((running + 1))
done
wait

pass=$(grep -c '^PASS' "$results")
fail=$(grep -c '^FAIL' "$results")
skip=$(grep -c '^SKIP' "$results")
failed=$(grep '^FAIL' "$results" | cut -d' ' -f2 | tr '\n' ' ')
rm -f "$results"
[ -n "${SYNC_TEST_SUMMARY:-}" ] && echo "$pass $fail $skip" >>"$SYNC_TEST_SUMMARY"
echo
[ -n "$failed" ] && echo "failed: $failed"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
