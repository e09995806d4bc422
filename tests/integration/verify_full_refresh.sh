#!/bin/bash
# verify_full_refresh.sh - a full resync of database streams (run --full-refresh)
# rebuilds the target without ever leaving it empty or half-filled to readers,
# unlike the seed's delete-then-reload:
#   - 20,000 rows, SQLite -> PostgreSQL and SQLite -> SQLite, in batches of
#     2,000: a reader polling the target's count during the full refresh
#     never sees fewer than 20,000 rows;
#   - rows changed behind the engine's back are rewritten by it (verify agrees
#     afterwards), unchanged rows are not rewritten;
#   - `verify JOB --full-refresh` does both in one command: a target with rows
#     changed, one extra and one the source deleted differs (exit 8); the
#     command rewrites the changed rows, deletes the two extra ones (its --fix,
#     delete_mode = hard) and agrees (exit 0).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

N=20000
q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)"
q "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $N)
   INSERT INTO items SELECT i, 'item ' || i, '2024-03-01T00:00:00Z' FROM n"
pg_psql -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, updated_at timestamptz)" >/dev/null
sqlite3 "$T/copy.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP)"
cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

$(sqlite_section sink copy "$T/copy.db")

[job to_pg]
source = edge
sink = pg
batch_size = 2000

[stream to_pg.items]
object = items
target = items
source.settle = 0s
sink.delete_mode = hard

[map to_pg.items]
id = id
name = name
updated_at = updated_at

[job to_copy]
source = edge
sink = copy
like = to_pg
INI
sqlite_run "$T/v.ini" 0
pg_psql -c "UPDATE items SET name = 'changed behind the back' WHERE id % 1000 = 0" >/dev/null
sqlite3 "$T/copy.db" "UPDATE items SET name = 'changed behind the back' WHERE id % 1000 = 0"

poll() { # NAME COMMAND...: polls the count until $T/stop exists; the smallest count seen into $T/min.NAME
    local name=$1 min=999999999 c
    shift
    while [ ! -e "$T/stop" ]; do
        c=$("$@" 2>/dev/null) || continue
        [ -n "$c" ] && [ "$c" -lt "$min" ] && min=$c
        echo "$c" >>"$T/seen.$name"
    done
    echo "$min" >"$T/min.$name"
}
poll pg pg_psql -c "SELECT count(*) FROM items" &
p1=$!
poll copy sqlite3 "$T/copy.db" "SELECT count(*) FROM items" &
p2=$!
sqlite_run "$T/v.ini" 0 --full-refresh
touch "$T/stop"
wait $p1 $p2
echo "counts seen during the full refresh: PostgreSQL $(wc -l <"$T/seen.pg") polls, min $(cat "$T/min.pg");" \
     "SQLite $(wc -l <"$T/seen.copy") polls, min $(cat "$T/min.copy")"
[ "$(wc -l <"$T/seen.pg")" -ge 2 ] && [ "$(wc -l <"$T/seen.copy")" -ge 2 ] || die "the readers did not poll during the refresh"
[ "$(cat "$T/min.pg")" = $N ] || die "a PostgreSQL reader saw $(cat "$T/min.pg") rows during the full refresh"
[ "$(cat "$T/min.copy")" = $N ] || die "a SQLite reader saw $(cat "$T/min.copy") rows during the full refresh"
grep -q "job=to_pg .*done: $N read, 0 inserted, 20 updated, $((N - 20)) unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "to_pg full refresh counts"; }
grep -q "job=to_copy .*done: $N read, 0 inserted, 20 updated, $((N - 20)) unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "to_copy full refresh counts"; }
code=0; $SYNCENGINE verify -c "$T/v.ini" >"$T/v.out" 2>&1 || code=$?
[ "$code" = 0 ] || { cat "$T/v.out" >&2; die "verify after the full refresh: exit $code"; }

note "verify --full-refresh: the rebuild, then the check"
pg_psql -c "UPDATE items SET name = 'changed again' WHERE id % 2000 = 0;
            INSERT INTO items VALUES (999999, 'only in the target', now())" >/dev/null
q "DELETE FROM items WHERE id = 5"
code=0; $SYNCENGINE verify to_pg -c "$T/v.ini" >"$T/v.out" 2>&1 || code=$?
[ "$code" = 8 ] || { cat "$T/v.out" >&2; die "verify before the refresh: exit $code, expected 8"; }
grep -q "to_pg.items: different: source $((N - 1)) rows, target $((N + 1)) rows; 0 missing, 2 extra, 10 different" \
    "$T/v.out" || { cat "$T/v.out" >&2; die "the differences before the refresh"; }
code=0; $SYNCENGINE verify to_pg -c "$T/v.ini" --full-refresh >"$T/v.out" 2>"$T/v.err" || code=$?
[ "$code" = 0 ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify --full-refresh: exit $code"; }
# the refresh rewrote the changed rows; what it leaves (rows the source no longer holds: this sink has
# no purge_scope) is found and deleted
grep -q "^to_pg.items: different: source $((N - 1)) rows, target $((N + 1)) rows; 0 missing, 2 extra, 0 different" \
    "$T/v.out" && grep -q "^  fixed: 0 upserted, 2 deleted, 0 failed; now agree" "$T/v.out" &&
    grep -qx "verify to_pg: agree" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "verify --full-refresh did not leave the tables agreeing"; }
grep -q "job=to_pg .*run started (full refresh)" "$T/v.err" || { cat "$T/v.err" >&2; die "no full refresh run"; }
[ "$(pg_psql -Atc "SELECT count(*) FROM items WHERE id IN (5, 999999) OR name = 'changed again'")" = 0 ] ||
    die "verify --full-refresh left a changed or extra row"
cat "$T/v.out"
echo "ok: verify full refresh"
