#!/bin/bash
# pg_source_changelog.sh - the postgres source with source.change_log = on:
#   - the first run installs the trigger and scans the table in key order
#     (pages of 7);
#   - hard deletes, an update of a table without any timestamp, an insert and
#     a key updated twice arrive as 2 deletes and 2 upserts, each key once;
#   - a transaction that stays open while a later one commits: a run then
#     reads neither (changes wait below the oldest open transaction, so the
#     open one, with the lower sequence number but committing last, can never
#     be skipped); the run after its commit reads both;
#   - changes read are pruned from syncengine.sync_changes;
#   - a full refresh scans again and rewrites nothing;
#   - least privilege: a reading role that may not create triggers fails with
#     a message saying to run `syncengine setup`; `setup --print` shows the
#     DDL and changes nothing; `setup` as the owner installs it, and then the
#     role reads, while an application role that has no grant on the change
#     log writes the table through the (SECURITY DEFINER) trigger.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
[ -x "$O/syncengine" ] && [ -f "$O/plugins/sink-postgres.so" ] || skip "postgres plugin not built"
pg_start || exit $?

pg_psql -c "CREATE TABLE notes (id bigint PRIMARY KEY, body text);
CREATE TABLE notes_copy (id bigint PRIMARY KEY, body text);
INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, 20) i;"
cat >"$T/a.ini" <<INI
[engine]
state_dir = $T/state

[source pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[sink pgout]
plugin = postgres
conninfo = \${DATABASE_URL}

[job notes]
source = pg
sink = pgout
batch_size = 7
sink.delete_mode = hard

[stream notes.notes]
object = notes
target = notes_copy
source.change_log = on

[map notes.notes]
id = id
body = body
INI
run() { # EXPECTED_EXIT [args]: one run; its output in $T/out.log
    local want=$1 code=0
    shift
    $SYNCENGINE run notes -c "$T/a.ini" "$@" >"$T/out.log" 2>&1 || code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/out.log" >&2; die "exit code $code, expected $want"; }
}
done_line() { grep "stream=notes .*done:" "$T/out.log" | sed 's/.*done: //'; }
same() {
    pg_psql -c "SELECT id, body FROM notes ORDER BY id" >"$T/a"
    pg_psql -c "SELECT id, body FROM notes_copy ORDER BY id" >"$T/b"
    diff -u "$T/a" "$T/b" || die "notes_copy differs: $1"
}
changes() { pg_psql -c "SELECT count(*) FROM syncengine.sync_changes"; }

note "first run: trigger installed, table scanned"
run 0
[ "$(done_line)" = "20 read, 20 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "first run: $(done_line)"
grep -q 'installed the change-log trigger on "public.notes"' "$T/out.log" || die "no word of the trigger"
[ "$(pg_psql -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'notes'::regclass AND tgname = 'syncengine_changes'")" = 1 ] ||
    die "trigger missing"
same "after the scan"

note "hard deletes, an update without a timestamp, an insert, a key changed twice"
pg_psql -c "DELETE FROM notes WHERE id IN (3, 4); UPDATE notes SET body = 'edited' WHERE id = 7;
            INSERT INTO notes VALUES (21, 'new'); UPDATE notes SET body = 'edited twice' WHERE id = 7"
run 0
[ "$(done_line)" = "4 read, 1 inserted, 1 updated, 0 unchanged, 2 deleted, 0 failed" ] || die "changes: $(done_line)"
same "after the changes"

note "a transaction open while a later one commits and is read"
pg_psql -c "BEGIN; UPDATE notes SET body = 'slow' WHERE id = 9; SELECT pg_sleep(5); COMMIT" >/dev/null &
slow=$!
sleep 0.5
pg_psql -c "UPDATE notes SET body = 'fast' WHERE id = 10"
run 0
[ "$(done_line)" = "0 read, 0 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "beside the open one: $(done_line)"
wait $slow
run 0
[ "$(done_line)" = "2 read, 0 inserted, 2 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "after its commit: $(done_line)"
same "after the slow transaction committed"

note "read changes are pruned"
run 0
[ "$(done_line)" = "0 read, 0 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "an idle run: $(done_line)"
[ "$(changes)" = 0 ] || die "$(changes) changes left in syncengine.sync_changes"

note "full refresh: a new scan, nothing rewritten"
run 0 --full-refresh
[ "$(done_line)" = "19 read, 0 inserted, 0 updated, 19 unchanged, 0 deleted, 0 failed" ] || die "full refresh: $(done_line)"

note "least privilege: setup by the owner, reads by a role with row privileges only"
pg_psql -c "CREATE TABLE tags (id int PRIMARY KEY, name text);
CREATE TABLE tags_copy (id int PRIMARY KEY, name text);
INSERT INTO tags VALUES (1, 'a'), (2, 'b');
CREATE ROLE reader LOGIN; GRANT SELECT ON tags TO reader;
GRANT USAGE ON SCHEMA syncengine TO reader; GRANT SELECT, DELETE ON syncengine.sync_changes TO reader;
CREATE ROLE app LOGIN; GRANT SELECT, INSERT, UPDATE, DELETE ON tags TO app;"
reader_url="postgresql://reader@/postgres?host=$PGHOST&port=$PGPORT"
cat >"$T/b.ini" <<INI
[engine]
state_dir = $T/state2

[source pg]
plugin = postgres
conninfo = \${READER_URL}

[sink owner]
plugin = postgres
conninfo = \${DATABASE_URL}

[job tags]
source = pg
sink = owner
sink.delete_mode = hard

[stream tags.tags]
object = tags
target = tags_copy
source.change_log = on

[map tags.tags]
id = id
name = name
INI
code=0
READER_URL=$reader_url $SYNCENGINE run tags -c "$T/b.ini" >"$T/out.log" 2>&1 || code=$?
[ "$code" = 5 ] || { cat "$T/out.log" >&2; die "reader without setup: exit $code, expected 5"; }
grep -q 'cannot install the change-log trigger on "public.tags" (run `syncengine setup` as the table.s owner' "$T/out.log" ||
    { cat "$T/out.log" >&2; die "no hint at setup"; }
READER_URL=$DATABASE_URL $SYNCENGINE setup --print -c "$T/b.ini" >"$T/setup.out" 2>&1 || { cat "$T/setup.out" >&2; die "setup --print failed"; }
grep -q '^-- source .pg. (postgres), stream tags.tags$' "$T/setup.out" || { cat "$T/setup.out" >&2; die "setup --print: no source part"; }
grep -q 'CREATE OR REPLACE TRIGGER syncengine_changes AFTER INSERT OR UPDATE OR DELETE ON "public"."tags"' "$T/setup.out" ||
    { cat "$T/setup.out" >&2; die "setup --print: no trigger"; }
[ "$(pg_psql -c "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'tags'::regclass AND NOT tgisinternal")" = 0 ] ||
    die "setup --print installed something"
READER_URL=$DATABASE_URL $SYNCENGINE setup -c "$T/b.ini" >"$T/setup.out" 2>&1 || { cat "$T/setup.out" >&2; die "setup failed"; }
grep -q "^source 'pg' (postgres): stream tags.tags is set up$" "$T/setup.out" || { cat "$T/setup.out" >&2; die "setup said nothing of the source"; }
READER_URL=$reader_url $SYNCENGINE run tags -c "$T/b.ini" >"$T/out.log" 2>&1 || { cat "$T/out.log" >&2; die "reader after setup failed"; }
grep -q "stream=tags .*done: 2 read, 2 inserted" "$T/out.log" || { cat "$T/out.log" >&2; die "reader: not 2 inserted"; }
psql -X -q -v ON_ERROR_STOP=1 "postgresql://app@/postgres?host=$PGHOST&port=$PGPORT" \
    -c "DELETE FROM tags WHERE id = 1; INSERT INTO tags VALUES (3, 'c')" || die "the application role cannot write its table"
READER_URL=$reader_url $SYNCENGINE run tags -c "$T/b.ini" >"$T/out.log" 2>&1 || { cat "$T/out.log" >&2; die "reader run failed"; }
[ "$(pg_psql -c "SELECT string_agg(id || name, ',' ORDER BY id) FROM tags_copy")" = "2b,3c" ] ||
    die "tags_copy: $(pg_psql -c "SELECT * FROM tags_copy")"
echo "ok: postgres source change log"
