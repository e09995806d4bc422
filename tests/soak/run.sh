#!/bin/sh
# tests/soak/run.sh - the long forms of the reliability tests (`make soak`).
#
# Not part of `make test`: hours, not minutes.  Runs
#   1. tests/integration/crash_sigkill.sh with 200 SIGKILL trials over a
#      bigger org (300,000 contacts, 20,000 leads), random changes in
#      Salesforce before every trial, and kill delays spread over a quarter
#      of a whole sync;
#   2. tests/integration/tenants_daemons.sh with 300 tenants on three daemons;
#   3. every fault-matrix and bad-input test SOAK_REPEAT times (default 3),
#      to shake out timing-dependent failures.
# Settings: SOAK_TRIALS, SOAK_CONTACTS, SOAK_LEADS, SOAK_WINDOW, SOAK_REPEAT,
# CRASH_SEED (replays a crash sequence), O (build directory).
# Logs: $O/test-logs/soak_*.log.  Exit 0 when everything passed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
O=${O:-build}
export O
logs="$O/test-logs"
mkdir -p "$logs"
failed=""

step() { # name, command...
    name=$1; shift
    start=$(date +%s)
    if "$@" >"$logs/soak_$name.log" 2>&1; then
        printf 'PASS %-40s %6ss\n' "$name" "$(( $(date +%s) - start ))"
    else
        rc=$?
        [ $rc = 77 ] && { printf 'SKIP %-40s\n' "$name"; return; }
        printf 'FAIL %-40s %6ss (exit %d)\n' "$name" "$(( $(date +%s) - start ))" $rc
        tail -n 30 "$logs/soak_$name.log" | sed 's/^/    | /'
        failed="$failed $name"
    fi
}

step tenants_daemons_300 env TENANTS_N=300 tests/integration/tenants_daemons.sh

step crash_sigkill env CRASH_TRIALS="${SOAK_TRIALS:-200}" CRASH_CONTACTS="${SOAK_CONTACTS:-300000}" \
    CRASH_LEADS="${SOAK_LEADS:-20000}" CRASH_WINDOW="${SOAK_WINDOW:-0.25}" CRASH_MUTATE=1 \
    tests/integration/crash_sigkill.sh

i=0
while [ $i -lt "${SOAK_REPEAT:-3}" ]; do
    i=$((i + 1))
    for t in tests/integration/fault_*.sh tests/integration/badinput_*.sh; do
        [ -x "$t" ] || continue
        step "$(basename "$t" .sh)_$i" "$t"
    done
done

echo
if [ -n "$failed" ]; then
    echo "soak failed:$failed"
    exit 1
fi
echo "soak passed"
