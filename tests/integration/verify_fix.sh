#!/bin/bash
# verify_fix.sh - `syncengine verify --fix` repairs through the job's own write
# path, SQLite -> real PostgreSQL:
#   - rows deleted, changed and added behind the engine's back in the target,
#     and a source change the cursor cannot see, are found and repaired: the
#     missing and different rows are upserted through the job's mapping (a
#     computed column is written as a run writes it), the extra row is deleted
#     (sink.delete_mode = hard); verify then agrees: exit 0;
#   - no cursor moves; the tables are equal afterwards, row for row;
#   - with sink.delete_mode = ignore the extra row stays: still different, exit 8.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, updated_at TIMESTAMP)"
pg_psql -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, amount numeric, active boolean,
                                updated_at timestamptz, label text)" >/dev/null
conf() { # DELETE_MODE
    cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job to_pg]
source = edge
sink = pg
batch_size = 4
sink.delete_mode = $1

[stream to_pg.items]
object = items
target = items
source.settle = 0s

[map to_pg.items]
id = id
name = name
amount = amount
active = active
updated_at = updated_at
label = upper(name)
INI
}
conf hard
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?)",
              [(i, "item %d" % i, i * 0.5, i % 2, "2024-03-01T00:00:%02dZ" % i) for i in range(1, 31)])
c.commit()
PY
sqlite_run "$T/v.ini" 0
cursor() { pg_psql -c "SELECT cursor FROM syncengine.sync_state WHERE job = 'to_pg'"; }
before=$(cursor)
[ -n "$before" ] || die "no cursor saved"
verify() { # EXPECTED_EXIT [args]
    local want=$1 code=0
    shift
    $SYNCENGINE verify -c "$T/v.ini" "$@" >"$T/v.out" 2>"$T/v.err" || code=$?
    [ "$code" = "$want" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify $*: exit code $code, expected $want"; }
}
same() {
    q "SELECT id, coalesce(name, '-'), CAST(amount * 2 AS INTEGER), active FROM items ORDER BY id" >"$T/a"
    pg_psql -c "SELECT id, coalesce(name, '-'), (amount * 2)::int, active::int FROM items ORDER BY id" >"$T/b"
    diff -u "$T/a" "$T/b" || die "the tables differ: $1"
}

note "differences repaired through the job's write path"
pg_psql -c "DELETE FROM items WHERE id IN (4, 17); UPDATE items SET name = 'wrong', label = 'WRONG' WHERE id = 9;
            UPDATE items SET active = NOT active WHERE id = 10; INSERT INTO items (id, name) VALUES (99, 'stray')" >/dev/null
q "UPDATE items SET name = NULL WHERE id = 12"     # the cursor column untouched: no run would see it
verify 8
grep -q "2 missing, 1 extra, 3 different" "$T/v.out" || { cat "$T/v.out" >&2; die "before the fix"; }
verify 0 --fix
cat "$T/v.out"
grep -qx "  fixed: 5 upserted, 1 deleted, 0 failed; now agree" "$T/v.out" || die "the fix line"
grep -qx "to_pg.items: different: source 30 rows, target 29 rows; 2 missing, 1 extra, 3 different (1 ranges summed, 59 rows fetched)" \
    "$T/v.out" || die "the rows as found before the fix"
[ "$(tail -n 1 "$T/v.out")" = "verify to_pg: agree" ] || die "the job does not agree after the fix"
same "after the fix"
[ "$(pg_psql -c "SELECT id || ':' || coalesce(label, '-') FROM items WHERE id IN (4, 9, 12) ORDER BY id" | tr '\n' ' ')" = \
  "4:ITEM 4 9:ITEM 9 12:- " ] || die "computed column not written by the mapping"
[ "$(cursor)" = "$before" ] || die "the fix moved the cursor"
verify 0

note "delete_mode = ignore: the extra row stays and is still reported"
conf ignore
pg_psql -c "INSERT INTO items (id, name) VALUES (98, 'stray'); UPDATE items SET amount = 0 WHERE id = 3" >/dev/null
verify 8 --fix --json
python3 - "$T/v.out" <<'PY' || { cat "$T/v.out" >&2; die "--fix --json with delete_mode ignore"; }
import json, sys
s = json.load(open(sys.argv[1]))["jobs"][0]["streams"][0]
assert s["status_before"] == "different" and s["status"] == "different", s["status"]
f = s["fix"]
assert (f["upserted"], f["deleted"], f["status_after"]) == (1, 0, "different"), f
a = f["after"]
assert (a["n_missing"], a["n_extra"], a["n_different"], a["extra"]) == (0, 1, 0, ["98"]), a
PY
[ "$(pg_psql -c "SELECT amount FROM items WHERE id = 3")" = 1.5 ] || die "row 3 not repaired"
echo "ok: verify fix"
