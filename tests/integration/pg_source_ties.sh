#!/bin/bash
# pg_source_ties.sh - the postgres source's keyset cursor loses nothing:
#   - 250 rows in five groups of 50 sharing one updated_at, read in pages of 7:
#     every page boundary falls inside a tie; exactly 250 records, each once,
#     and a second run reads nothing;
#   - rows updated (by a trigger stamping now()) while a run pages through
#     the table: after the settle window the copy equals the table;
#   - a late-committing transaction: its row is stamped at its start (now()),
#     before a row that commits earlier and is read first.  With settle = 5s
#     the run waits for it and the copy gets both; the same job with settle =
#     0s skips the late row for ever (which is what the window is for).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
[ -x "$O/syncengine" ] && [ -f "$O/plugins/sink-postgres.so" ] || skip "postgres plugin not built"
pg_start || exit $?

pg_psql -c "CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS \$\$BEGIN NEW.updated_at = now(); RETURN NEW; END\$\$;
CREATE TABLE src (id int PRIMARY KEY, v text, updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON src (updated_at, id);
CREATE TRIGGER touch BEFORE UPDATE ON src FOR EACH ROW EXECUTE FUNCTION touch();
CREATE TABLE dst (id int PRIMARY KEY, v text, updated_at timestamptz);
CREATE TABLE dst0 (id int PRIMARY KEY, v text, updated_at timestamptz);
INSERT INTO src SELECT i, 'v' || i, timestamptz '2024-01-01' + (i % 5) * interval '1 minute' FROM generate_series(1, 250) i;"

job() { # NAME TARGET SETTLE
    printf '[job %s]\nsource = pg\nsink = pgout\nbatch_size = 7\n\n' "$1"
    printf '[stream %s.src]\nobject = src\ntarget = %s\nsource.settle = %s\n\n' "$1" "$2" "$3"
    printf '[map %s.src]\nid = id\nv = v\nupdated_at = updated_at\n\n' "$1"
}
cat >"$T/a.ini" <<INI
[engine]
state_dir = $T/state

[source pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[sink pgout]
plugin = postgres
conninfo = \${DATABASE_URL}

$(job settled dst 5s)
$(job quick dst 1s)
$(job nosettle dst0 0s)
INI
run() { # EXPECTED_EXIT JOB: one run; its output in $T/out.log
    local code=0
    $SYNCENGINE run "$2" -c "$T/a.ini" >"$T/out.log" 2>&1 || code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ "$code" = "$1" ] || { cat "$T/out.log" >&2; die "$2: exit code $code, expected $1"; }
}
done_line() { grep "stream=src .*done:" "$T/out.log" | sed 's/.*done: //'; }
same() { # TARGET WHAT
    pg_psql -c "SELECT id, v, updated_at FROM src ORDER BY id" >"$T/a"
    pg_psql -c "SELECT id, v, updated_at FROM $1 ORDER BY id" >"$T/b"
    diff -u "$T/a" "$T/b" >"$T/diff" || { head -20 "$T/diff" >&2; die "$1 differs from src: $2"; }
}

note "ties: 5 groups of 50 equal timestamps, pages of 7"
run 0 quick
[ "$(done_line)" = "250 read, 250 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] ||
    die "first run: $(done_line)"
same dst "after the first run"
run 0 quick
[ "$(done_line)" = "0 read, 0 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] ||
    die "a second run read again: $(done_line)"

note "rows updated while a run pages through the table"
# one transaction: all 250 rows tie at its now(); then updates move rows past the tie while it is read
pg_psql -c "UPDATE src SET v = v || '.'"
sleep 1.1
# 300 single-row updates, 5 ms apart, beside a run reading 250 rows in pages of 7
python3 - "$DATABASE_URL" >"$T/updater.log" 2>&1 <<'PY' &
import subprocess, sys
sql = "".join("UPDATE src SET v = 'w%d' WHERE id = %d; SELECT pg_sleep(0.005);\n" % (n, 1 + (n * 37) % 250)
              for n in range(300))
subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-o", "/dev/null", sys.argv[1]], input=sql.encode(),
               check=True)
PY
updater=$!
run 0 quick
first=$(done_line)
wait $updater || { cat "$T/updater.log" >&2; die "the updater failed"; }
sleep 1.1
run 0 quick
same dst "after updates during a run (first run: $first; then: $(done_line))"

note "a late commit: stamped at its start, committed 4 s later"
run 0 nosettle
same dst0 "nosettle's first copy"
pg_psql -c "BEGIN; INSERT INTO src (id, v) VALUES (1001, 'late'); SELECT pg_sleep(4); COMMIT" >/dev/null &
late=$!
sleep 0.5
pg_psql -c "INSERT INTO src (id, v) VALUES (1002, 'early')"
run 0 nosettle
[ "$(pg_psql -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM dst0 WHERE id > 1000")" = 1002 ] ||
    die "nosettle should have read only the early row so far"
run 0 settled
wait $late
[ "$(pg_psql -c "SELECT count(*) FROM dst WHERE id > 1000")" = 0 ] || die "settled read rows inside its window"
sleep 1.7
run 0 settled
same dst "the late row, after the settle window"
run 0 nosettle
[ "$(pg_psql -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM dst0 WHERE id > 1000")" = 1002 ] ||
    die "without a settle window the late row should be lost; the test shows nothing"
echo "ok: postgres source ties, concurrent updates, late commits"
