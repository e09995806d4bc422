#!/bin/sh
# bench/run.sh - the end-to-end performance benchmark (make bench, make bench-quick).
#
# Salesforce stand-in (tests/sfstub/) -> build/syncengine with conf/henk.ini
# -> a throwaway PostgreSQL 15 cluster, at 10,000, 100,000 and 1,000,000
# records (--quick: 10,000 and 50,000): initial load, idle incremental run,
# incremental run with 10 % changed, full re-sync with nothing changed, and in
# the same run the physical limit (psql COPY, COPY + upsert) on the same rows.
# Prints one table of medians and writes it to bench/results/latest.md (raw
# figures: latest.json).  See docs/performance.md.
#
#   bench/run.sh [--quick] [--runs N] [--sizes N,N,...] [--keep] [--out FILE]
#   bench/run.sh --profile [--sizes N]     where the engine's time goes (perf)
#
# Environment: O (build directory, default build), PG_BINDIR, TMPDIR.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
[ -x "$O/syncengine" ] || { echo "bench: $O/syncengine not found (run make first)" >&2; exit 2; }
command -v psql >/dev/null 2>&1 || { echo "bench: psql not found (make deps)" >&2; exit 2; }

_at_exit_cmds=""
at_exit() { _at_exit_cmds="$1; $_at_exit_cmds"; }
trap 'eval "$_at_exit_cmds"' EXIT
trap 'exit 130' INT TERM

profile=0
for arg in "$@"; do [ "$arg" = --profile ] && profile=1; done

. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"

W=$(mktemp -d "${TMPDIR:-/tmp}/syncengine-bench.XXXXXX") || exit 1
chmod 755 "$W"
at_exit 'rm -rf "$W"'

pg_start || exit $?
# Room for a million rows without checkpoint storms; no autovacuum racing the
# measurements (the driver vacuums between phases, outside the timings).
# pg_stat_statements only when profiling: it tells which statements the time goes to.
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL || exit 1
ALTER SYSTEM SET shared_buffers = '256MB';
ALTER SYSTEM SET max_wal_size = '8GB';
ALTER SYSTEM SET checkpoint_timeout = '30min';
ALTER SYSTEM SET autovacuum = off;
ALTER SYSTEM SET max_connections = 40;
$( [ $profile = 1 ] && echo "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements';" )
SQL
pg_restart || exit 1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench_template" || exit 1
PGDATABASE=bench_template henk_db_init 11111111-1111-4111-8111-111111111111 \
    22222222-2222-4222-8222-222222222222 || { echo "bench: schema" >&2; exit 1; }

if [ $profile = 1 ]; then
    python3 "$top/bench/lib/profile.py" --top "$top" --engine "$O/syncengine" --work "$W" "$@"
else
    python3 "$top/bench/lib/bench.py" --top "$top" --engine "$O/syncengine" --work "$W" "$@"
fi
