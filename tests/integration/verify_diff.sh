#!/bin/bash
# verify_diff.sh - `syncengine verify` compares each stream's source and target
# without the engine's state, SQLite -> real PostgreSQL and SQLite -> SQLite:
#   - after a sync the two sides agree: exit 0, "agree" in --json;
#   - rows changed behind the engine's back (deleted, inserted, updated in the
#     target; updated in the source without touching the cursor) are listed
#     exactly: missing, extra, different with the columns that differ; exit 8;
#   - canonical values: REAL/numeric, BOOLEAN 0/1/boolean, JSON/jsonb with
#     other key order and spacing, timestamps in other text forms agree;
#   - a column the mapping computes is listed as not compared;
#   - each run is kept in the sink's database: verify --history lists them;
#   - PostgreSQL (the postgres source) -> SQLite likewise.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON,
                       updated_at TIMESTAMP);"
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, amount numeric(12,4), active boolean, meta jsonb,
                                updated_at timestamptz, label text)"
sqlite3 "$T/copy.db" "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON,
                       updated_at TIMESTAMP, label TEXT);"

cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

$(sqlite_section sink copy "$T/copy.db")

[job to_pg]
source = edge
sink = pg

[stream to_pg.items]
object = items
target = items
source.settle = 0s

[map to_pg.items]
id = id
name = name
amount = amount
active = active
meta = meta
updated_at = updated_at
label = upper(name)

[job to_copy]
source = edge
sink = copy
like = to_pg
INI
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)",
              [("k%02d" % i, "item %d" % i, i * 1.25, i % 2, '{"n": %d, "a": [1, 2.50]}' % i,
                "2024-01-01T00:00:%02d.000Z" % i) for i in range(40)])
c.execute("UPDATE items SET name = NULL, meta = NULL WHERE id = 'k01'")
c.commit()
PY
sqlite_run "$T/v.ini" 0

verify() { # EXPECTED_EXIT JOB [args]: verify JOB; stdout in $T/v.out
    local want=$1 code=0
    shift
    $SYNCENGINE verify -c "$T/v.ini" "$@" >"$T/v.out" 2>"$T/v.err" || code=$?
    cat "$T/v.err" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify $*: exit code $code, expected $want"; }
}
field() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$T/v.out" "$1"; }

note "after a sync both targets agree"
verify 0 to_pg
grep -qx "to_pg.items: agree: source 40 rows, target 40 rows (1 ranges summed, 0 rows fetched)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "to_pg does not agree"; }
grep -qx "  not compared (computed by the mapping): label" "$T/v.out" || die "label is not listed as not compared"
verify 0 to_copy --json
[ "$(field "d['status'], d['jobs'][0]['streams'][0]['status'], d['jobs'][0]['streams'][0]['target_rows']")" = \
  "('agree', 'agree', 40)" ] || { cat "$T/v.out" >&2; die "to_copy --json does not agree"; }

note "canonical forms: the same values written differently still agree"
pg_psql -c "UPDATE items SET meta = '{ \"a\" : [1, 2.50],\"n\":2 }' WHERE id = 'k02'" >/dev/null
sqlite3 "$T/copy.db" "UPDATE items SET updated_at = '2024-01-01 00:00:03', amount = '3.750' WHERE id = 'k03';
                      UPDATE items SET active = 'true' WHERE id = 'k05'"
long=$(head -c 9000 /dev/zero | tr '\0' 'x')   # a row longer than the hashing's stack buffer
q "UPDATE items SET name = '$long' WHERE id = 'k04'"
pg_psql -c "UPDATE items SET name = '$long' WHERE id = 'k04'" >/dev/null
sqlite3 "$T/copy.db" "UPDATE items SET name = '$long' WHERE id = 'k04'"
verify 0 to_pg
verify 0 to_copy

note "rows changed behind the engine's back"
pg_psql -c "DELETE FROM items WHERE id IN ('k03', 'k30');
            INSERT INTO items (id, name) VALUES ('zz', 'stray');
            UPDATE items SET name = 'renamed', amount = 9 WHERE id = 'k05';
            UPDATE items SET updated_at = updated_at + interval '1 microsecond' WHERE id = 'k06';
            UPDATE items SET label = 'ignored' WHERE id = 'k07';" >/dev/null
q "UPDATE items SET meta = '{\"n\": 8}' WHERE id = 'k08'"   # the source changes without a new cursor value
verify 8 to_pg
cat "$T/v.out"
cat >"$T/want" <<'TXT'
to_pg.items: different: source 40 rows, target 39 rows; 2 missing, 1 extra, 3 different (1 ranges summed, 79 rows fetched)
  missing in the target (2): k03 k30
  extra in the target (1): zz
  different k05: name, amount
  different k06: updated_at
  different k08: meta
  not compared (computed by the mapping): label
verify to_pg: different
TXT
diff -u "$T/want" "$T/v.out" || die "the text report differs"
verify 8 to_pg --json
[ "$(field "[d['jobs'][0]['streams'][0][k] for k in ('n_missing', 'n_extra', 'n_different', 'missing', 'extra')]")" = \
  "[2, 1, 3, ['k03', 'k30'], ['zz']]" ] || { cat "$T/v.out" >&2; die "--json counts"; }
[ "$(field "d['jobs'][0]['streams'][0]['different']")" = \
  "[{'key': 'k05', 'columns': ['name', 'amount']}, {'key': 'k06', 'columns': ['updated_at']}, {'key': 'k08', 'columns': ['meta']}]" ] ||
    die "--json different rows"

note "the SQLite target: a NULL made a value, a row deleted"
sqlite3 "$T/copy.db" "UPDATE items SET name = 'was null' WHERE id = 'k01'; DELETE FROM items WHERE id = 'k39'"
verify 8 to_copy
grep -qx "to_copy.items: different: source 40 rows, target 39 rows; 1 missing, 0 extra, 2 different (1 ranges summed, 79 rows fetched)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "to_copy report"; }
grep -qx "  different k01: name" "$T/v.out" && grep -qx "  different k08: meta" "$T/v.out" &&
    grep -qx "  missing in the target (1): k39" "$T/v.out" || { cat "$T/v.out" >&2; die "to_copy rows"; }

note "history: every verify run is kept in the sink's database"
verify 0 to_pg --history
[ "$(grep -c '^to_pg ' "$T/v.out")" = 4 ] || { cat "$T/v.out" >&2; die "to_pg history has not 4 runs"; }
[ "$(head -n 1 "$T/v.out" | awk '{print $4, $5}')" = "different 6" ] || { cat "$T/v.out" >&2; die "newest run first"; }
[ "$(pg_psql -c "SELECT count(*), count(*) FILTER (WHERE status = 'agree') FROM syncengine.verify_runs WHERE job = 'to_pg'")" = "4|2" ] ||
    die "syncengine.verify_runs"
[ "$(sqlite3 "$T/copy.db" "SELECT group_concat(status, ',') FROM (SELECT status FROM _syncengine_verify_runs ORDER BY rowid)")" = \
  "agree,agree,different" ] || die "_syncengine_verify_runs in the SQLite target"

note "PostgreSQL -> SQLite: the other direction"
sqlite3 "$T/back.db" "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON,
                       updated_at TIMESTAMP)"
cat >>"$T/v.ini" <<INI

[source app]
plugin = postgres
conninfo = \${DATABASE_URL}

$(sqlite_section sink back "$T/back.db")

[job back]
source = app
sink = back

[stream back.items]
object = items
target = items
source.settle = 0s

[map back.items]
id = id
name = name
amount = amount
active = active
meta = meta
updated_at = updated_at
INI
pg_psql -c "UPDATE items SET updated_at = '2024-02-01' WHERE id = 'zz'" >/dev/null   # a NULL cursor is never read
sqlite_run "$T/v.ini" 0
verify 0 back
grep -qx "back.items: agree: source 39 rows, target 39 rows (1 ranges summed, 0 rows fetched)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "back does not agree"; }
sqlite3 "$T/back.db" "UPDATE items SET meta = '{\"a\": 1}' WHERE id = 'k09'; DELETE FROM items WHERE id = 'zz'"
verify 8 back
grep -qx "back.items: different: source 39 rows, target 38 rows; 1 missing, 0 extra, 1 different (1 ranges summed, 77 rows fetched)" "$T/v.out" &&
    grep -qx "  different k09: meta" "$T/v.out" && grep -qx "  missing in the target (1): zz" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "back report"; }

note "a plugin without compare operations is named"
cat >>"$T/v.ini" <<INI

[source gen]
plugin = generate
records = 5

[job gen_pg]
source = gen
sink = pg
[stream gen_pg.items]
object = items
target = items
[map gen_pg.items]
id = id
INI
verify 0 gen_pg
grep -qx "gen_pg.items: skipped: the source plugin 'generate' cannot compare tables (it has no compare operations)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "generate is not named"; }
echo "ok: verify diff"
