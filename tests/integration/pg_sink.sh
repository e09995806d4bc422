#!/bin/sh
# tests/integration/pg_sink.sh - the PostgreSQL sink against a throwaway cluster.
#
# Starts a cluster (tests/lib/pgcluster.sh) and runs the plugin-level test
# program build/tests/sink-postgres/test_pg_integration against it.  The
# program gets the cluster's URL in PGS_TEST_DATABASE_URL and a command that
# restarts the server in PGS_TEST_RESTART_CMD (for the reconnect test).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
bin="$O/tests/sink-postgres/test_pg_integration"
if [ ! -x "$bin" ]; then
    echo "pg_sink: $bin not built (make $O/tests/sink-postgres/test_pg_integration); skipped" >&2
    exit 77
fi
. "$top/tests/lib/pgcluster.sh"
pg_start
rc=$?
[ $rc -eq 0 ] || exit $rc

PGS_TEST_DATABASE_URL=$DATABASE_URL
PGS_TEST_RESTART_CMD=". '$top/tests/lib/pgcluster.sh' && PGCLUSTER_DIR='$PGCLUSTER_DIR' && pg_restart"
export PGS_TEST_DATABASE_URL PGS_TEST_RESTART_CMD
"$bin"
