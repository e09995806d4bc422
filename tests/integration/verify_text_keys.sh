#!/bin/bash
# verify_text_keys.sh - verify's first pass on text keys, both ways between
# PostgreSQL and SQLite, with keys whose byte order differs from a
# language's order (upper case, punctuation, accents, Greek, an emoji):
#   - 6,000 rows: the source's keys cut the table into 4 parts (every 1,536
#     keys: PostgreSQL sorts them bytewise, SQLite walks its index), both
#     sides sum the parts in one pass (PostgreSQL through its tree of CASEs,
#     SQLite through its C function), nothing is fetched, exit 0;
#   - one row changed, one deleted (a key with an accent) and one added in
#     the target: exit 8 and exactly those three listed, fetching only the
#     parts they are in; the other way, three more on the PostgreSQL side:
#     all six, listed in byte order;
#   - a PostgreSQL uuid key (a type without a collation) against SQLite text:
#     4,000 rows agree in 3 parts, and a row deleted at the edge is found.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

N=6000
# keys: k-00001 .. with every 7th upper case, every 11th accented, every 13th Greek, every 17th an emoji
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
INSERT INTO items SELECT CASE WHEN i % 17 = 0 THEN '🙂-' WHEN i % 13 = 0 THEN 'Ω-' WHEN i % 11 = 0 THEN 'é-'
                              WHEN i % 7 = 0 THEN 'K-' ELSE 'k-' END || lpad(i::text, 5, '0'),
       'item ' || i, timestamptz '2024-01-01' + i * interval '1 second' FROM generate_series(1, $N) i;
CREATE TABLE back (id text PRIMARY KEY, name text, updated_at timestamptz);
CREATE TABLE tokens (id uuid PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
INSERT INTO tokens SELECT md5(i::text)::uuid, 'token ' || i, timestamptz '2024-01-01' + i * interval '1 second'
FROM generate_series(1, 4000) i;" >/dev/null
q "CREATE TABLE items (id TEXT PRIMARY KEY, name TEXT, updated_at TIMESTAMP);
   CREATE TABLE tokens (id TEXT PRIMARY KEY, name TEXT, updated_at TIMESTAMP)"
cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

[source pg]
plugin = postgres
conninfo = \${DATABASE_URL}

$(sqlite_section sink edge)

$(sqlite_section source edge_src)

$(pg_sink_section pg_sink)

[job to_edge]
source = pg
sink = edge

[stream to_edge.items]
object = items
target = items
source.key = id
source.settle = 0s

[map to_edge.items]
id = id
name = name
updated_at = updated_at

[job back]
source = edge_src
sink = pg_sink

[stream back.items]
object = items
target = back
source.settle = 0s

[map back.items]
id = id
name = name
updated_at = updated_at

[job uuids]
source = pg
sink = edge

[stream uuids.tokens]
object = tokens
target = tokens
source.key = id
source.settle = 0s

[map uuids.tokens]
id = id
name = name
updated_at = updated_at
INI
for job in to_edge back uuids; do # one after the other: back reads what to_edge wrote
    $SYNCENGINE run $job -c "$T/v.ini" >"$T/out.log" 2>&1 || { cat "$T/out.log" >&2; die "run $job failed"; }
done
[ "$(q "SELECT count(*) FROM items")" = $N ] || die "to_edge did not copy $N rows"
[ "$(pg_psql -Atc "SELECT count(*) FROM back")" = $N ] || die "back did not copy $N rows"

verify() { # JOB EXPECTED_EXIT
    local code=0
    $SYNCENGINE verify "$1" -c "$T/v.ini" --json >"$T/v.json" 2>"$T/v.err" || code=$?
    [ "$code" = "$2" ] || { cat "$T/v.json" "$T/v.err" >&2; die "verify $1: exit $code, expected $2"; }
}
field() { python3 -c "import json,sys; s=json.load(open(sys.argv[1]))['jobs'][0]['streams'][0]; print(eval(sys.argv[2]))" "$T/v.json" "$1"; }

for job in to_edge back; do
    note "$job: $N identical rows with text keys"
    verify $job 0
    [ "$(field "s['status'], s['source_rows'], s['target_rows'], s['ranges_summed'], s['rows_fetched']")" = \
      "('agree', $N, $N, 4, 0)" ] || { cat "$T/v.json" >&2; die "$job: identical tables"; }
done

note "to_edge: a change, a delete and an insert behind the engine's back"
q "UPDATE items SET name = 'changed at the edge' WHERE id = 'K-00007';
   DELETE FROM items WHERE id = 'é-00011';
   INSERT INTO items VALUES ('zz-only-here', 'stray', '2024-06-01T00:00:00.000000Z')"
verify to_edge 8
[ "$(field "s['missing'], s['extra'], s['different']")" = \
  "(['é-00011'], ['zz-only-here'], [{'key': 'K-00007', 'columns': ['name']}])" ] ||
    { cat "$T/v.json" >&2; die "to_edge: the three differences"; }
fetched=$(field "s['rows_fetched']")
[ "$fetched" -gt 0 ] && [ "$fetched" -le $((3 * 2 * 1536 + 10)) ] || die "to_edge fetched $fetched rows for 3 differences"

note "back: three more in PostgreSQL, read against the SQLite file (which has the three above)"
pg_psql -c "UPDATE back SET name = 'changed in the database' WHERE id = '🙂-00017';
            DELETE FROM back WHERE id = 'Ω-00013'; INSERT INTO back VALUES ('a-only-here', 'stray', now())" >/dev/null
verify back 8
# listed in byte order: 'z' < 'Ω' (0xCE), 'a' < 'é' (0xC3), 'K' < '🙂' (0xF0)
[ "$(field "s['missing'], s['extra'], [d['key'] for d in s['different']]")" = \
  "(['zz-only-here', 'Ω-00013'], ['a-only-here', 'é-00011'], ['K-00007', '🙂-00017'])" ] ||
    { cat "$T/v.json" >&2; die "back: the six differences"; }
note "uuids: a uuid key in PostgreSQL, text in SQLite"
verify uuids 0
[ "$(field "s['status'], s['source_rows'], s['target_rows'], s['ranges_summed'], s['rows_fetched']")" = \
  "('agree', 4000, 4000, 3, 0)" ] || { cat "$T/v.json" >&2; die "uuids: identical tables"; }
gone=$(q "SELECT id FROM tokens ORDER BY id LIMIT 1 OFFSET 2500")
q "DELETE FROM tokens WHERE id = '$gone'"
verify uuids 8
[ "$(field "s['missing'], s['n_extra'], s['n_different']")" = "(['$gone'], 0, 0)" ] ||
    { cat "$T/v.json" >&2; die "uuids: the deleted row"; }
echo "ok: verify text keys"
