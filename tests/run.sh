#!/bin/sh
# tests/run.sh - runs the test suite and prints one summary line.
#
#   tests/run.sh              unit tests, then integration tests
#   tests/run.sh unit         unit tests only (build/tests/test_* and build/tests/*/test_*)
#   tests/run.sh integration  integration scripts only (tests/integration/*.sh)
#   TESTS=pattern tests/run.sh   only tests whose name contains pattern
#
# A unit test is a cmocka program; an integration test is a script that
# exits 0 (pass), 77 (skipped, with the reason on stderr) or anything else
# (fail).  Output of each test goes to $O/test-logs/NAME.log and is shown when
# the test fails.  SYNC_TEST_VALGRIND=1 runs every engine process and unit
# test under valgrind memcheck (see tests/lib/common.sh).
set -u
O=${O:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
what=${1:-all}
logs="$O/test-logs"
mkdir -p "$logs"
pass=0; fail=0; skip=0; failed=""

run_one() { # name, command...
    name=$1; shift
    case "$name" in *"${TESTS:-}"*) ;; *) return ;; esac
    log="$logs/$(echo "$name" | tr '/' '_').log"
    start=$(date +%s)
    "$@" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1)); printf 'PASS %-44s %4ss\n' "$name" "$secs"
    elif [ $rc -eq 77 ]; then
        skip=$((skip + 1)); printf 'SKIP %-44s %s\n' "$name" "$(tail -n 1 "$log")"
    else
        fail=$((fail + 1)); failed="$failed $name"
        printf 'FAIL %-44s %4ss (exit %d)\n' "$name" "$secs" "$rc"
        sed 's/^/    | /' "$log" | tail -n 60
    fi
}

vg=""
if [ "${SYNC_TEST_VALGRIND:-0}" = 1 ]; then
    vg="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --track-origins=yes"
fi

if [ "$what" = all ] || [ "$what" = unit ]; then
    for t in $(find "$O/tests" -type f -name 'test_*' ! -name '*.o' ! -name '*.d' 2>/dev/null | sort); do
        [ -x "$t" ] || continue
        run_one "unit/${t#$O/tests/}" $vg "$t"
    done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
    for t in tests/integration/*.sh; do
        [ -x "$t" ] || continue
        run_one "integration/$(basename "$t" .sh)" env O="$O" "$t"
    done
fi

echo
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
