#!/bin/bash
# d1_source.sh - the sqlite plugin as a source on Cloudflare D1 (the stand-in
# tests/d1stub/) into a real PostgreSQL (the postgres sink):
#   - 25 rows with one and the same timestamp, read in pages of 7 (a request
#     each): the keyset cursor (timestamp, key) crosses page boundaries inside
#     the tie and loses nothing; a second run reads nothing;
#   - types over JSON: BOOLEAN 0/1 -> boolean, JSON text -> jsonb, REAL ->
#     numeric (a whole 3.0 included), TIMESTAMP text -> timestamptz, NULL stays
#     NULL and '' stays '';
#   - a row stamped "now" waits for the settle window; a row committed later
#     with an older stamp (a late commit inside the window) is still read;
#   - a soft-delete column turns a row into a delete;
#   - a full refresh reads everything again and PostgreSQL rewrites nothing;
#   - source.change_log is refused for D1 with a message naming the option.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/d1.sh"
pg_start || exit $?

d1q "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON,
                         updated_at TIMESTAMP, deleted INTEGER NOT NULL DEFAULT 0);
     CREATE INDEX items_updated ON items (updated_at, id);"
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, amount numeric, active boolean, meta jsonb,
                                updated_at timestamptz)"
d1stub_start

write_ini() { # [extra stream lines...]
    cat >"$T/src.ini" <<INI
[engine]
state_dir = $T/state

$(d1_section source edge)

[sink pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[job from_edge]
source = edge
sink = pg
batch_size = 7
sink.delete_mode = hard

[stream from_edge.items]
object = items
target = items
source.settle = 2s
source.soft_delete = deleted
$(printf '%s\n' "$@")

[map from_edge.items]
id = id
name = name
amount = amount
active = active
meta = meta
updated_at = updated_at
INI
}
write_ini
run() { d1_run "$T/src.ini" "$@"; } # EXPECTED_EXIT [args]
read_count() { sed -n "s/.*stream=items .*done: \([0-9]*\) read.*/\1/p" "$T/out.log" | tail -n 1; }
same_items() {
    d1q "SELECT id, coalesce(name, '<null>') FROM items WHERE deleted = 0 ORDER BY id" >"$T/a"
    pg_psql -c "SELECT id, coalesce(name, '<null>') FROM items ORDER BY id" >"$T/b"
    diff -u "$T/a" "$T/b" || die "items differ: $1"
}

note "ties: 25 rows with the same timestamp, pages of 7"
python3 - "$d1db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO items (id, name, amount, active, meta, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
              [("k%02d" % i, "item %d" % i, i * 1.25, i % 2, '{"n": %d}' % i, "2024-01-01T00:00:00.000Z")
               for i in range(25)])
c.execute("UPDATE items SET name = NULL WHERE id = 'k01'")
c.execute("UPDATE items SET name = '' WHERE id = 'k02'")
c.execute("UPDATE items SET amount = 3.0 WHERE id = 'k04'")
c.commit()
PY
before=$(d1stub_stat queries)
run 0
[ "$(read_count)" = 25 ] || die "read $(read_count) items, expected 25"
same_items "after the first run"
pages=$(( $(d1stub_stat queries) - before ))
[ "$pages" -ge 4 ] || die "25 rows in pages of 7 took $pages requests"
run 0
[ "$(read_count)" = 0 ] || die "a second run read $(read_count) items again"

note "types"
row=$(pg_psql -c "SELECT name, amount, active, meta->>'n', updated_at AT TIME ZONE 'UTC' FROM items WHERE id = 'k03'")
[ "$row" = "item 3|3.75|t|3|2024-01-01 00:00:00" ] || die "row k03 in PostgreSQL: $row"
[ "$(pg_psql -c "SELECT amount FROM items WHERE id = 'k04'")" = 3 ] || die "k04's 3.0: $(pg_psql -c "SELECT amount FROM items WHERE id = 'k04'")"
[ "$(pg_psql -c "SELECT name IS NULL FROM items WHERE id = 'k01'")|$(pg_psql -c "SELECT name = '' FROM items WHERE id = 'k02'")" = "t|t" ] ||
    die "NULL and '' not kept apart"

note "settle window: a fresh row waits; a late commit with an older stamp is not missed"
d1q "INSERT INTO items (id, name, updated_at) VALUES ('fresh', 'fresh', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))"
run 0
[ "$(read_count)" = 0 ] || die "a row inside the settle window was read"
d1q "INSERT INTO items (id, name, updated_at) VALUES ('late', 'late', strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 seconds'))"
sleep 2.2
run 0
[ "$(read_count)" = 2 ] || die "read $(read_count) after the window, expected fresh and late"
same_items "after the settle window"

note "soft delete column"
d1q "UPDATE items SET deleted = 1, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id IN ('k05', 'k06')"
sleep 2.2
run 0
[ "$(pg_psql -c "SELECT count(*) FROM items WHERE id IN ('k05', 'k06')")" = 0 ] || die "soft-deleted rows still in PostgreSQL"
same_items "after soft deletes"

note "full refresh: everything read again, nothing rewritten"
run 0 --full-refresh
grep -q "stream=items .*done: 27 read, 0 inserted, 0 updated, 27 unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "full refresh rewrote rows"; }
same_items "after the full refresh"

note "source.change_log is refused for D1"
write_ini "source.change_log = on"
code=0
$SYNCENGINE --once -c "$T/src.ini" >"$T/out.log" 2>&1 || code=$?
[ "$code" != 0 ] || die "change_log over D1 ran"
grep -q 'source.change_log is not available with D1' "$T/out.log" || { cat "$T/out.log" >&2; die "no clear message"; }
assert_no_secrets "$D1_TOKEN"
echo "ok: d1 source"
