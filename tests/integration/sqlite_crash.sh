#!/bin/bash
# sqlite_crash.sh - kill -9 in the middle of a batch, in each direction:
#   - generate -> SQLite (batches of 20000 in BEGIN IMMEDIATE transactions):
#     after the kill the file holds exactly the records up to the saved
#     cursor (the batch in flight left nothing), the killed run's row counts
#     exactly the committed records and is closed as failed by the next run,
#     and the next run continues with nothing lost and nothing twice;
#   - SQLite -> PostgreSQL: after the kill PostgreSQL holds whole batches
#     only, up to its saved cursor; the next run makes both sides equal.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"

q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, amount REAL, updated_at TEXT)"
cat >"$T/in.ini" <<INI
[engine]
state_dir = $T/state-in

[source fake]
plugin = generate
streams = items
records = 300000
fields = name:string, amount:float, updated:timestamp

$(sqlite_section sink edge)

$(items_job to_edge fake edge 20000 "updated_at = updated")
INI

# kill_mid_batch INI COMMITTED_CMD: starts a run, waits for a first committed batch, kills it while the next is written
kill_mid_batch() {
    $SYNCENGINE --once -c "$1" >>"$T/engine.log" 2>&1 &
    local pid=$! i=0
    while [ "$(eval "$2")" = 0 ]; do
        i=$((i + 1))
        [ $i -lt 600 ] || die "no batch was committed"
        kill -0 $pid 2>/dev/null || die "the run ended before it could be killed"
        sleep 0.05
    done
    sleep 0.$((RANDOM % 3 + 1))
    kill -0 $pid 2>/dev/null || die "the run ended before it could be killed"
    kill -9 $pid
    wait $pid 2>/dev/null || true
}

note "generate -> SQLite, killed in a batch"
kill_mid_batch "$T/in.ini" 'q "SELECT count(*) FROM _syncengine_state" 2>/dev/null || echo 0'
cursor=$(q "SELECT cursor FROM _syncengine_state")
rows=$(q "SELECT count(*) || '|' || max(id) FROM items")
[ "$rows" = "$cursor|$cursor" ] || die "after the kill: rows|max(id) = $rows, saved cursor $cursor"
[ $((cursor % 20000)) = 0 ] && [ "$cursor" -lt 300000 ] || die "cursor $cursor is not a batch boundary inside the run"
[ "$(q "SELECT status || '|' || inserted FROM _syncengine_runs")" = "running|$cursor" ] ||
    die "the killed run's row: $(q "SELECT status, inserted FROM _syncengine_runs"), expected running with its committed count $cursor"
$SYNCENGINE --once -c "$T/in.ini" >>"$T/engine.log" 2>&1 || die "the run after the kill failed"
[ "$(q "SELECT count(*) || '|' || min(id) || '|' || max(id) FROM items")" = "$((cursor + 300000))|1|$((cursor + 300000))" ] ||
    die "after the next run: $(q "SELECT count(*), min(id), max(id) FROM items")"
[ "$(q "SELECT inserted FROM _syncengine_runs WHERE status = 'success'")" = 300000 ] || die "the next run did not insert exactly its own records"
q "SELECT error FROM _syncengine_runs WHERE status = 'failed'" | grep -q "stopped before it finished" || die "the killed run was not closed"
[ "$(q "SELECT inserted FROM _syncengine_runs WHERE status = 'failed'")" = "$cursor" ] || die "the closed run lost its committed counts"

note "SQLite -> PostgreSQL, killed in a batch"
pg_start || exit $?
pg_psql -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, amount double precision, updated_at text)"
q "UPDATE items SET updated_at = '2024-01-01T00:00:00.000000Z' WHERE id % 3 = 0" # ties, too
cat >"$T/out.ini" <<INI
[engine]
state_dir = $T/state-out

$(sqlite_section source edge)

$(pg_sink_section pg)

[job from_edge]
source = edge
sink = pg
batch_size = 20000

[stream from_edge.items]
object = items
target = items
source.cursor_column = updated_at

[map from_edge.items]
id = id
name = name
amount = amount
updated_at = updated_at
INI
kill_mid_batch "$T/out.ini" 'pg_psql -c "SELECT count(*) FROM syncengine.sync_state" 2>/dev/null || echo 0'
got=$(pg_psql -c "SELECT count(*) FROM items")
[ $((got % 20000)) = 0 ] && [ "$got" -gt 0 ] || die "PostgreSQL holds $got rows after the kill: not whole batches"
cursor=$(pg_psql -c "SELECT cursor FROM syncengine.sync_state")
# the rows stored are exactly the first $got in (updated_at, id) order, ending at the cursor's key
first=$(q "SELECT group_concat(id) FROM (SELECT id FROM items ORDER BY updated_at, id LIMIT $got)" | md5sum)
stored=$(pg_psql -c "SELECT string_agg(id::text, ',' ORDER BY updated_at, id) FROM items" | md5sum)
[ "$first" = "$stored" ] || die "PostgreSQL does not hold a prefix of the read order (cursor $cursor)"
$SYNCENGINE --once -c "$T/out.ini" >>"$T/engine.log" 2>&1 || die "the run after the kill failed"
q "SELECT id, name, CAST(round(amount * 100) AS INTEGER) FROM items ORDER BY id" | md5sum >"$T/a"
pg_psql -c "SELECT id, name, round(amount * 100)::bigint FROM items ORDER BY id" | md5sum >"$T/b"
cmp -s "$T/a" "$T/b" || die "SQLite and PostgreSQL differ after the run that followed the kill"
echo "ok: kill -9 mid-batch, both directions"
