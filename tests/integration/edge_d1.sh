#!/bin/bash
# edge_d1.sh - the shipped edge sync (conf/edge.ini) with its edge on
# Cloudflare D1 (the stand-in tests/d1stub/, conf/edge-sqlite.sql applied to
# its SQLite file), switched from the environment only: DATABASE_URL,
# EDGE_D1_DATABASE_ID, EDGE_D1_ACCOUNT_ID, EDGE_D1_API_TOKEN, EDGE_D1_API_URL
# (no EDGE_SQLITE_PATH; EDGE_SETTLE shortened for the test), applications
# writing plain SQL on both sides and setting nothing else:
#   - check, setup and check --connect (against D1) pass; the first run
#     copies mailboxes, campaigns and prospects to the edge and emails back,
#     column for column;
#   - updates (updated_at moved by the triggers, on both sides), a hard delete
#     in PostgreSQL, new rows, an email updated at the edge: all arrive;
#   - an idle run reads and writes nothing;
#   - a full resync of to_edge rewrites nothing.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/d1.sh"
pg_start || exit $?

q() { d1q "$@"; }
q <"$top/conf/edge-sqlite.sql" >/dev/null
d1stub_start
unset EDGE_SQLITE_PATH
export EDGE_SETTLE=1s EDGE_D1_DATABASE_ID=$D1_DATABASE EDGE_D1_ACCOUNT_ID=$D1_ACCOUNT EDGE_D1_API_TOKEN=$D1_TOKEN \
    EDGE_D1_API_URL=$D1_URL
pg_psql -f "$top/conf/edge.sql" >/dev/null
. "$top/tests/lib/edge.sh"

note "check, setup, first run"
eng check >"$T/check.out" 2>&1 || { cat "$T/check.out" >&2; die "check failed"; }
eng setup >"$T/setup.out" 2>&1 || { cat "$T/setup.out" >&2; die "setup failed"; }
eng check --connect >"$T/check.out" 2>&1 || { cat "$T/check.out" >&2; die "check --connect against D1 failed"; }
edge_first_run

edge_changes
[ "$(q "SELECT count(*) FROM _syncengine_runs WHERE job = 'to_edge' AND status = 'success'")" = 4 ] ||
    die "the runs of to_edge are not in D1: $(q "SELECT job, status FROM _syncengine_runs")"
[ -z "$(find "$T" -maxdepth 1 -name '*.db' ! -name d1.db)" ] || die "a SQLite file was used besides the stand-in's"
assert_no_secrets "$D1_TOKEN"
echo "ok: conf/edge.ini on D1"
