#!/bin/bash
# d1_verify.sh - `syncengine verify` with one side on Cloudflare D1 (the
# stand-in tests/d1stub/), the other a real PostgreSQL.  D1 cannot run the
# hash functions, so the sqlite plugin mirrors the table into a scratch file
# (in the engine's TMPDIR, gone after the command) and hashes it there:
#   - PostgreSQL -> D1 after a sync: exit 0, "agree" with the exact counts,
#     the mirrored rows logged;
#   - a row changed, one deleted and one added in the stand-in's file: exit 8
#     and exactly those listed (missing, extra, different with the column);
#   - verify --fix repairs them through the D1 sink; the next verify agrees;
#   - integrity rules (unique, orphans) run on D1 itself and list their rows;
#   - verify --history lists the runs kept in D1's _syncengine_verify_runs;
#   - D1 -> PostgreSQL (D1 as the source side): agree, then one difference;
#     a rule that would write to D1 is refused;
#   - no scratch file is left in TMPDIR; the API token is never logged.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/d1.sh"
pg_start || exit $?

d1q "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, amount REAL, owner_id TEXT, updated_at TIMESTAMP);
     CREATE TABLE owners (id TEXT PRIMARY KEY);
     INSERT INTO owners VALUES ('o1'), ('o2');
     CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, updated_at TIMESTAMP)"
d1stub_start
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, amount numeric(12,4), owner_id text,
                                updated_at timestamptz);
            INSERT INTO items SELECT 'k' || lpad(i::text, 2, '0'), 'item ' || i, i * 1.25,
                                     CASE WHEN i = 20 THEN 'o9' ELSE 'o' || (1 + i % 2) END,
                                     '2024-01-01T00:00:00Z'::timestamptz + i * interval '1 second'
                               FROM generate_series(0, 29) i;
            UPDATE items SET name = 'twin' WHERE id IN ('k10', 'k11');
            CREATE TABLE notes (id bigint PRIMARY KEY, body text, updated_at timestamptz)" >/dev/null
python3 - "$d1db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO notes VALUES (?, ?, ?)",
              [(i, "note %d" % i, "2024-02-01T00:00:%02d.000Z" % i) for i in range(1, 13)])
c.commit()
PY

cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

[source app]
plugin = postgres
conninfo = \${DATABASE_URL}

$(d1_section sink edge)

$(d1_section source edge_in)

[sink pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[job to_d1]
source = app
sink = edge
sink.delete_mode = hard

[stream to_d1.items]
object = items
target = items
source.settle = 0s

[map to_d1.items]
id = id
name = name
amount = amount
owner_id = owner_id
updated_at = updated_at

[job from_d1]
source = edge_in
sink = pg

[stream from_d1.notes]
object = notes
target = notes
source.settle = 0s

[map from_d1.notes]
id = id
body = body
updated_at = updated_at
INI
d1_run "$T/v.ini" 0

mkdir "$T/tmp"
verify() { # EXPECTED_EXIT JOB [args]: verify JOB; stdout in $T/v.out; no scratch file left behind
    local want=$1 code=0
    shift
    TMPDIR=$T/tmp $SYNCENGINE verify -c "$T/v.ini" --log-level info "$@" >"$T/v.out" 2>"$T/v.err" || code=$?
    cat "$T/v.err" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify $*: exit code $code, expected $want"; }
    [ "$(find "$T/tmp" -mindepth 1 | wc -l)" = 0 ] || die "verify $* left files in TMPDIR: $(ls -A "$T/tmp")"
}

note "PostgreSQL -> D1: after a sync both sides agree"
verify 0 to_d1
cat >"$T/want" <<'TXT'
to_d1.items: agree: source 30 rows, target 30 rows (1 ranges summed, 0 rows fetched)
verify to_d1: agree
TXT
diff -u "$T/want" "$T/v.out" || die "to_d1 does not agree"
grep -q 'table "items" of D1 database db-0000-1111: 30 rows mirrored into the scratch file in [0-9]* ms' "$T/v.err" ||
    { cat "$T/v.err" >&2; die "the mirror is not logged"; }

note "rows changed behind the engine's back in D1"
d1q "UPDATE items SET name = 'changed' WHERE id = 'k05'; DELETE FROM items WHERE id = 'k07';
     INSERT INTO items (id, name, amount) VALUES ('zz', 'stray', 1)"
verify 8 to_d1
cat >"$T/want" <<'TXT'
to_d1.items: different: source 30 rows, target 30 rows; 1 missing, 1 extra, 1 different (1 ranges summed, 60 rows fetched)
  missing in the target (1): k07
  extra in the target (1): zz
  different k05: name
verify to_d1: different
TXT
diff -u "$T/want" "$T/v.out" || die "the report of the differences"

note "verify --fix repairs them through the D1 sink"
verify 0 to_d1 --fix
grep -qx "  fixed: 2 upserted, 1 deleted, 0 failed; now agree" "$T/v.out" || { cat "$T/v.out" >&2; die "the fix line"; }
[ "$(d1q "SELECT count(*), sum(id = 'zz'), (SELECT name FROM items WHERE id = 'k05'),
                 (SELECT name FROM items WHERE id = 'k07') FROM items")" = "30|0|item 5|item 7" ] ||
    die "D1 after the fix: $(d1q "SELECT count(*) FROM items")"
verify 0 to_d1
grep -qx "to_d1.items: agree: source 30 rows, target 30 rows (1 ranges summed, 0 rows fetched)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "not agreeing after the fix"; }

note "integrity rules on D1"
cat >>"$T/v.ini" <<'INI'

[verify to_d1.items]
unique = name
orphans = owner_id -> owners.id
INI
before=$(d1stub_stat queries)
verify 8 to_d1
cat >"$T/want" <<'TXT'
to_d1.items: different: source 30 rows, target 30 rows; 0 missing, 0 extra, 0 different (1 ranges summed, 0 rows fetched)
  unique name (target): 1 duplicated value(s): twin (2 rows)
  orphans owner_id -> owners.id (target): 1 row(s): k20 (o9)
verify to_d1: different
TXT
diff -u "$T/want" "$T/v.out" || die "the rules' report"
[ "$(grep -c "rows mirrored" "$T/v.err")" = 1 ] || die "the rules mirrored the table again"

note "the history is kept in D1"
verify 0 to_d1 --history
[ "$(grep -c '^to_d1 ' "$T/v.out")" = 5 ] || { cat "$T/v.out" >&2; die "to_d1 history has not 5 runs"; }
[ "$(head -n 1 "$T/v.out" | awk '{print $4}')" = different ] || { cat "$T/v.out" >&2; die "newest run first"; }
[ "$(d1q "SELECT group_concat(status, ',') FROM (SELECT status FROM _syncengine_verify_runs WHERE job = 'to_d1'
                                                 ORDER BY rowid)")" = "agree,different,agree,agree,different" ] ||
    die "_syncengine_verify_runs: $(d1q "SELECT status FROM _syncengine_verify_runs")"
# (verify --fix is one run: its status is the one after the fix)

note "D1 -> PostgreSQL: D1 as the source side"
verify 0 from_d1
grep -qx "from_d1.notes: agree: source 12 rows, target 12 rows (1 ranges summed, 0 rows fetched)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "from_d1 does not agree"; }
pg_psql -c "UPDATE notes SET body = 'edited' WHERE id = 3" >/dev/null
verify 8 from_d1
cat >"$T/want" <<'TXT'
from_d1.notes: different: source 12 rows, target 12 rows; 0 missing, 0 extra, 1 different (1 ranges summed, 24 rows fetched)
  different 3: body
verify from_d1: different
TXT
diff -u "$T/want" "$T/v.out" || die "from_d1 report"
[ "$(pg_psql -c "SELECT count(*) FROM syncengine.verify_runs WHERE job = 'from_d1'")" = 2 ] ||
    die "the history of from_d1 is not in PostgreSQL"

note "a rule on the D1 source side is a read-only statement"
cat >>"$T/v.ini" <<'INI'

[verify from_d1.notes]
side = source
rule.sneaky = 1); DELETE FROM owners; SELECT (1
INI
verify 5 from_d1
grep -q "rule.sneaky (source): .*the statement is not read-only" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "a writing rule was not refused"; }
[ "$(d1q "SELECT count(*) FROM owners")" = 2 ] || die "a rule wrote to D1"

note "an error names the D1 database and the table"
d1q "ALTER TABLE notes RENAME COLUMN body TO text_body"
verify 5 from_d1
grep -q 'column "body" does not exist in table "notes" of D1 database db-0000-1111' "$T/v.out" ||
    { cat "$T/v.out" >&2; die "the error does not name the D1 database and the table"; }
assert_no_secrets "$D1_TOKEN"
echo "ok: d1 verify"
