#!/bin/bash
# edge_conf.sh - the shipped edge sync (conf/edge.ini, conf/edge.sql,
# conf/edge-sqlite.sql) from the environment only (DATABASE_URL,
# EDGE_SQLITE_PATH; EDGE_SETTLE shortened for the test), with applications
# writing plain SQL on both sides and setting nothing else:
#   - check and setup pass; the first run copies mailboxes, campaigns and
#     prospects to the edge and emails back, column for column;
#   - updates (updated_at moved by the triggers, on both sides), a hard delete
#     in PostgreSQL, new rows, an email updated at the edge: all arrive;
#   - an idle run reads and writes nothing;
#   - a full resync of to_edge rewrites nothing.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

export EDGE_SQLITE_PATH=$db EDGE_SETTLE=1s
pg_psql -f "$top/conf/edge.sql" >/dev/null
q <"$top/conf/edge-sqlite.sql" >/dev/null
. "$top/tests/lib/edge.sh"

note "check, setup, first run"
eng check >"$T/check.out" 2>&1 || { cat "$T/check.out" >&2; die "check failed"; }
eng setup >"$T/setup.out" 2>&1 || { cat "$T/setup.out" >&2; die "setup failed"; }
edge_first_run

edge_changes
echo "ok: conf/edge.ini"
