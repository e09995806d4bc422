#!/bin/bash
# sqlite_source.sh - the sqlite plugin as a source, SQLite file -> real
# PostgreSQL (the postgres sink):
#   - 25 rows with one and the same timestamp, read in pages of 7: the keyset
#     cursor (timestamp, key) crosses page boundaries inside the tie and
#     loses nothing; a second run reads nothing;
#   - types: BOOLEAN 0/1 -> boolean, JSON text -> jsonb, REAL -> numeric,
#     TIMESTAMP text -> timestamptz, NULL stays NULL and '' stays '';
#   - a row stamped "now" waits for the settle window; a row committed later
#     with an older stamp (a late commit inside the window) is still read;
#   - a soft-delete column turns a row into a delete;
#   - change_log = on: triggers catch a hard delete, a write that leaves every
#     timestamp alone and an insert; the tables end up equal;
#   - a full refresh reads everything again and PostgreSQL rewrites nothing.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON,
                       updated_at TIMESTAMP, deleted INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, amount numeric, active boolean, meta jsonb,
                                updated_at timestamptz);
            CREATE TABLE notes (id bigint PRIMARY KEY, body text);"

cat >"$T/src.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job from_edge]
source = edge
sink = pg
batch_size = 7
sink.delete_mode = hard

[stream from_edge.items]
object = items
target = items
source.settle = 3s
source.soft_delete = deleted

[map from_edge.items]
id = id
name = name
amount = amount
active = active
meta = meta
updated_at = updated_at

[stream from_edge.notes]
object = notes
target = notes
source.change_log = on

[map from_edge.notes]
id = id
body = body
INI
run() { sqlite_run "$T/src.ini" "$@"; } # EXPECTED_EXIT [args]
read_count() { # STREAM: records read by the last run
    sed -n "s/.*stream=$1 .*done: \([0-9]*\) read.*/\1/p" "$T/out.log" | tail -n 1
}
same_items() {
    q "SELECT id, coalesce(name, '<null>'), deleted FROM items WHERE deleted = 0 ORDER BY id" | cut -d'|' -f1,2 >"$T/a"
    pg_psql -c "SELECT id, coalesce(name, '<null>') FROM items ORDER BY id" >"$T/b"
    diff -u "$T/a" "$T/b" || die "items differ: $1"
}

note "ties: 25 rows with the same timestamp, pages of 7"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO items (id, name, amount, active, meta, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
              [("k%02d" % i, "item %d" % i, i * 1.25, i % 2, '{"n": %d}' % i, "2024-01-01T00:00:00.000Z")
               for i in range(25)])
c.execute("UPDATE items SET name = NULL WHERE id = 'k01'")
c.execute("UPDATE items SET name = '' WHERE id = 'k02'")
c.executemany("INSERT INTO notes (id, body) VALUES (?, ?)", [(i, "note %d" % i) for i in range(1, 21)])
c.commit()
PY
run 0
[ "$(read_count items)" = 25 ] || die "read $(read_count items) items, expected 25"
same_items "after the first run"
run 0
[ "$(read_count items)" = 0 ] || die "a second run read $(read_count items) items again"

note "types"
row=$(pg_psql -c "SELECT name, amount, active, meta->>'n', updated_at AT TIME ZONE 'UTC' FROM items WHERE id = 'k03'")
[ "$row" = "item 3|3.75|t|3|2024-01-01 00:00:00" ] || die "row k03 in PostgreSQL: $row"
[ "$(pg_psql -c "SELECT name IS NULL FROM items WHERE id = 'k01'")|$(pg_psql -c "SELECT name = '' FROM items WHERE id = 'k02'")" = "t|t" ] ||
    die "NULL and '' not kept apart"

note "settle window: a fresh row waits; a late commit with an older stamp is not missed"
q "INSERT INTO items (id, name, updated_at) VALUES ('fresh', 'fresh', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
run 0
[ "$(read_count items)" = 0 ] || die "a row inside the settle window was read"
# committed now, stamped 2 s ago: older than 'fresh', still inside the window
q "INSERT INTO items (id, name, updated_at) VALUES ('late', 'late', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-2 seconds'))"
sleep 3.2
run 0
[ "$(read_count items)" = 2 ] || die "read $(read_count items) after the window, expected fresh and late"
same_items "after the settle window"

note "soft delete column"
q "UPDATE items SET deleted = 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id IN ('k05', 'k06')"
sleep 3.2
run 0
[ "$(pg_psql -c "SELECT count(*) FROM items WHERE id IN ('k05', 'k06')")" = 0 ] || die "soft-deleted rows still in PostgreSQL"
same_items "after soft deletes"

note "change log: hard deletes, an update without a timestamp, an insert"
[ "$(pg_psql -c "SELECT count(*) FROM notes")" = 20 ] || die "notes: the first full read did not arrive"
q "DELETE FROM notes WHERE id IN (3, 4); UPDATE notes SET body = 'edited' WHERE id = 7; INSERT INTO notes VALUES (21, 'new');
   UPDATE notes SET body = 'edited twice' WHERE id = 7"
run 0
[ "$(read_count notes)" = 4 ] || die "read $(read_count notes) notes, expected 4 (2 deletes, 1 update, 1 insert)"
q "SELECT id, body FROM notes ORDER BY id" >"$T/a"
pg_psql -c "SELECT id, body FROM notes ORDER BY id" >"$T/b"
diff -u "$T/a" "$T/b" || die "notes differ after the change log"
run 0
[ "$(q "SELECT count(*) FROM _syncengine_changes")" = 0 ] || die "read changes were not pruned"

note "full refresh: everything read again (the 2 soft-deleted rows as deletes), nothing rewritten"
run 0 --full-refresh
[ "$(read_count notes)" = 19 ] || die "full refresh read $(read_count notes) notes"
grep -q "stream=items .*done: 27 read, 0 inserted, 0 updated, 27 unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "full refresh of items rewrote rows"; }
same_items "after the full refresh"
echo "ok: sqlite source"
