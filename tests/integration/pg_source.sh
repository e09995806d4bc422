#!/bin/bash
# pg_source.sh - the postgres plugin as a source, on a real PostgreSQL:
#   - a schema-qualified table with every common type -> the stdout sink: the
#     exact JSON lines (timestamptz, date, numeric as a number or, with more
#     digits than a double holds, exact text; bool, json/jsonb, uuid, arrays
#     and NULL);
#   - the same table -> another PostgreSQL table and -> a SQLite file: equal
#     contents; a second run reads nothing;
#   - a soft-delete column (deleted_at) turns a row into a delete in both;
#   - a full refresh reads everything again and rewrites nothing;
#   - a view needs source.key; check --connect names a missing cursor column,
#     and warns about a missing (cursor_column, key) index.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

pg_psql -c "CREATE SCHEMA app;
CREATE FUNCTION app.touch() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN NEW.updated_at = now(); RETURN NEW; END\$\$;
CREATE TABLE app.leads (id uuid PRIMARY KEY, name text, amount numeric(12,2), big numeric(40,10), score float8,
    n int4, active boolean, meta jsonb, raw json, tags text[], born date, seen_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(), deleted_at timestamptz);
CREATE INDEX ON app.leads (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON app.leads FOR EACH ROW EXECUTE FUNCTION app.touch();
CREATE TABLE leads_copy (id uuid PRIMARY KEY, name text, amount numeric(12,2), big numeric(40,10), score float8,
    n int4, active boolean, meta jsonb, raw json, tags jsonb, born date, seen_at timestamptz, updated_at timestamptz);
CREATE TABLE plain (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE VIEW plain_v AS SELECT id, v, updated_at FROM plain;
INSERT INTO app.leads VALUES
 ('00000000-0000-0000-0000-000000000001', 'Ann', 12.50, 12345678901234567890.0123456789, 0.1, 7, true,
  '{\"a\": [1, 2.50, null]}', '{\"x\":1}', '{red,\"gr een\"}', '2024-02-29', '2024-05-01 10:00:00.123456+02',
  '2024-01-01 00:00:00+00', NULL),
 ('00000000-0000-0000-0000-000000000002', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, '{}', NULL, NULL,
  '2024-01-01 00:00:01+00', NULL),
 ('00000000-0000-0000-0000-000000000003', 'Cy \"q\" é', -0.01, 1, -2.5e-7, -3, NULL, '[]', '\"s\"', NULL,
  '1999-12-31', '1970-01-01 00:00:00+00', '2024-01-01 00:00:02+00', NULL);
INSERT INTO plain (id, v, updated_at) VALUES (1, 'one', '2024-01-01'), (2, 'two', '2024-01-01');"
q "CREATE TABLE leads (id TEXT PRIMARY KEY, name TEXT, amount REAL, active BOOLEAN, meta JSON, born DATE,
                       seen_at TIMESTAMP, updated_at TIMESTAMP)"

all_fields="id = id
name = name
amount = amount
big = big
score = score
n = n
active = active
meta = meta
raw = raw
tags = tags
born = born
seen_at = seen_at
updated_at = updated_at"
cat >"$T/a.ini" <<INI
[engine]
state_dir = $T/state

[source pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[sink out]
plugin = stdout

$(pg_sink_section pgout)

$(sqlite_section sink edge)

[job show]
source = pg
sink = out
batch_size = 2

[stream show.leads]
object = app.leads
source.settle = 1s
source.soft_delete = deleted_at

[map show.leads]
$all_fields

[job copy]
source = pg
sink = pgout
batch_size = 2
sink.delete_mode = hard

[stream copy.leads]
object = app.leads
target = leads_copy
source.settle = 1s
source.soft_delete = deleted_at

[map copy.leads]
$all_fields

[job edge]
source = pg
sink = edge
batch_size = 2
sink.delete_mode = hard

[stream edge.leads]
object = app.leads
target = leads
source.settle = 1s
source.soft_delete = deleted_at

[map edge.leads]
id = id
name = name
amount = amount
active = active
meta = meta
born = born
seen_at = seen_at
updated_at = updated_at
INI
run() { # EXPECTED_EXIT JOB [args]: one run of JOB; its output in $T/out.log
    local want=$1 job=$2 code=0
    shift 2
    $SYNCENGINE run "$job" -c "$T/a.ini" "$@" >"$T/out.log" 2>&1 || code=$?
    [ "$code" = "$want" ] || { cat "$T/out.log" >&2; die "$job: exit code $code, expected $want"; }
}
read_count() { # JOB STREAM: records read by the last run
    sed -n "s/.*job=$1 .*stream=$2 .*done: \([0-9]*\) read.*/\1/p" "$T/out.log" | tail -n 1
}

note "types, as JSON lines of the stdout sink (which prints milliseconds and round-trip doubles)"
$SYNCENGINE run show -c "$T/a.ini" >"$T/show.out" 2>"$T/show.err" || { cat "$T/show.err" >&2; die "show failed"; }
cat >"$T/want" <<'OUT'
{"_stream":"leads","_key":"00000000-0000-0000-0000-000000000001","_op":"upsert","id":"00000000-0000-0000-0000-000000000001","name":"Ann","amount":12.5,"big":"12345678901234567890.0123456789","score":0.10000000000000001,"n":7,"active":true,"meta":{"a": [1, 2.50, null]},"raw":{"x":1},"tags":["red","gr een"],"born":"2024-02-29","seen_at":"2024-05-01T08:00:00.123Z","updated_at":"2024-01-01T00:00:00.000Z"}
{"_stream":"leads","_key":"00000000-0000-0000-0000-000000000002","_op":"upsert","id":"00000000-0000-0000-0000-000000000002","name":null,"amount":null,"big":null,"score":null,"n":null,"active":false,"meta":null,"raw":null,"tags":[],"born":null,"seen_at":null,"updated_at":"2024-01-01T00:00:01.000Z"}
{"_stream":"leads","_key":"00000000-0000-0000-0000-000000000003","_op":"upsert","id":"00000000-0000-0000-0000-000000000003","name":"Cy \"q\" é","amount":-0.01,"big":1,"score":-2.4999999999999999e-07,"n":-3,"active":null,"meta":[],"raw":"s","tags":null,"born":"1999-12-31","seen_at":"1970-01-01T00:00:00.000Z","updated_at":"2024-01-01T00:00:02.000Z"}
OUT
diff -u "$T/want" "$T/show.out" || die "JSON lines differ"

note "PostgreSQL -> PostgreSQL and -> SQLite: equal contents, exact to the microsecond"
run 0 copy
[ "$(read_count copy leads)" = 3 ] || die "copy read $(read_count copy leads), expected 3"
run 0 edge
[ "$(read_count edge leads)" = 3 ] || die "edge read $(read_count edge leads), expected 3"
# an array arrives as JSON (the sink stores it in a jsonb column)
cols="id, name, amount, big, score, n, active, meta, raw::text, to_jsonb(tags), born, seen_at, updated_at"
pg_psql -c "SELECT $cols FROM app.leads ORDER BY id" >"$T/src"
pg_psql -c "SELECT $cols FROM leads_copy ORDER BY id" >"$T/dst"
diff -u "$T/src" "$T/dst" || die "leads_copy differs from app.leads"
q "SELECT id, coalesce(name, '<null>'), coalesce(amount, '<null>'), coalesce(active, '<null>'), coalesce(meta, '<null>'),
          coalesce(born, '<null>'), coalesce(seen_at, '<null>'), updated_at FROM leads ORDER BY id" >"$T/edge"
cat >"$T/want" <<'OUT'
00000000-0000-0000-0000-000000000001|Ann|12.5|1|{"a": [1, 2.50, null]}|2024-02-29|2024-05-01T08:00:00.123456Z|2024-01-01T00:00:00.000000Z
00000000-0000-0000-0000-000000000002|<null>|<null>|0|<null>|<null>|<null>|2024-01-01T00:00:01.000000Z
00000000-0000-0000-0000-000000000003|Cy "q" é|-0.01|<null>|[]|1999-12-31|1970-01-01T00:00:00.000000Z|2024-01-01T00:00:02.000000Z
OUT
diff -u "$T/want" "$T/edge" || die "SQLite rows differ"
run 0 copy
[ "$(read_count copy leads)" = 0 ] || die "a second run read $(read_count copy leads) rows again"

note "soft delete: deleted_at set -> a delete on both sides"
pg_psql -c "UPDATE app.leads SET deleted_at = now() WHERE id = '00000000-0000-0000-0000-000000000002';
            UPDATE app.leads SET name = 'Ann B' WHERE id = '00000000-0000-0000-0000-000000000001'"
run 0 copy
[ "$(read_count copy leads)" = 0 ] || die "rows inside the settle window were read"
sleep 1.2
run 0 copy
[ "$(read_count copy leads)" = 2 ] || die "read $(read_count copy leads) after the window, expected 2"
grep -q "stream=leads .*done: 2 read, 0 inserted, 1 updated, 0 unchanged, 1 deleted" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "copy: expected 1 update and 1 delete"; }
run 0 edge
[ "$(pg_psql -c "SELECT string_agg(id || '=' || coalesce(name, '-'), ' ' ORDER BY id) FROM leads_copy")" = \
  "00000000-0000-0000-0000-000000000001=Ann B 00000000-0000-0000-0000-000000000003=Cy \"q\" é" ] ||
    die "leads_copy after the soft delete: $(pg_psql -c "SELECT id, name FROM leads_copy")"
[ "$(q "SELECT group_concat(id || '=' || name, ' ') FROM (SELECT * FROM leads ORDER BY id)")" = \
  "00000000-0000-0000-0000-000000000001=Ann B 00000000-0000-0000-0000-000000000003=Cy \"q\" é" ] ||
    die "SQLite leads after the soft delete: $(q "SELECT id, name FROM leads")"

note "full refresh: everything read again (the soft-deleted row as a delete), nothing rewritten"
run 0 copy --full-refresh
grep -q "stream=leads .*done: 3 read, 0 inserted, 0 updated, 3 unchanged, 0 deleted" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "full refresh rewrote rows"; }

note "check --connect: a view needs source.key; a missing cursor column is named; a missing index warned about"
cat >"$T/b.ini" <<INI
[engine]
state_dir = $T/state2

[source pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[sink out]
plugin = stdout

[job v]
source = pg
sink = out

[stream v.plain]
object = plain_v

[map v.plain]
id = id
v = v

[job w]
source = pg
sink = out

[stream w.plain]
object = public.plain
source.cursor_column = changed_at

[map w.plain]
id = id
INI
code=0
$SYNCENGINE check --connect -c "$T/b.ini" >"$T/check.out" 2>&1 || code=$?
[ "$code" = 3 ] || { cat "$T/check.out" >&2; die "check --connect exited $code, expected 3"; }
grep -q 'b.ini:[0-9]*.*view "public.plain_v" has no one-column primary key; set source.key' "$T/check.out" ||
    { cat "$T/check.out" >&2; die "no message about the view's key"; }
grep -q 'b.ini:[0-9]*.*cursor column "changed_at" does not exist in "public.plain"' "$T/check.out" ||
    { cat "$T/check.out" >&2; die "no message about the cursor column"; }
sed -i 's/^source.cursor_column = changed_at$/source.cursor_column = updated_at/; s/^object = plain_v$/object = plain_v\nsource.key = id/' "$T/b.ini"
$SYNCENGINE check --connect -c "$T/b.ini" >"$T/check.out" 2>&1 || { cat "$T/check.out" >&2; die "check --connect failed"; }
grep -q 'no index on ("updated_at", "id")' "$T/check.out" || { cat "$T/check.out" >&2; die "no index warning"; }
$SYNCENGINE run v -c "$T/b.ini" >"$T/v.out" 2>"$T/v.err" || { cat "$T/v.err" >&2; die "reading the view failed"; }
[ "$(grep -c '"_op":"upsert"' "$T/v.out")" = 2 ] || die "the view gave $(grep -c . "$T/v.out") lines, expected 2"

note "discover lists the tables and views with their columns' types"
$SYNCENGINE discover pg -c "$T/a.ini" >"$T/disc.out" 2>&1 || { cat "$T/disc.out" >&2; die "discover failed"; }
grep -qx "app.leads" "$T/disc.out" && grep -qx "public.plain_v" "$T/disc.out" || { cat "$T/disc.out" >&2; die "discover: streams"; }
sed -n '/^app.leads$/,/^[^ ]/p' "$T/disc.out" | tr '\t' ' ' >"$T/disc.leads"
for f in "id string" "n integer" "score float" "active bool" "meta json" "tags json" "born date" "seen_at timestamp"; do
    grep -qx "    $f" "$T/disc.leads" || { cat "$T/disc.leads" >&2; die "discover: app.leads lacks \"$f\""; }
done
echo "ok: postgres source"
