#!/bin/bash
# pg_source_crash.sh - kill -9 in the middle of a batch, PostgreSQL -> SQLite,
# for both ways the postgres source reads (100,000 rows, batches of 10,000):
#   - keyset cursor, a third of the rows sharing one updated_at: after the
#     kill the file holds whole batches only, exactly the first rows in
#     (updated_at, id) order; the next run makes both sides equal, nothing
#     twice (it inserts exactly the rest);
#   - change log, killed during its first scan: the same in key order, and the
#     next run resumes the scan from the saved key.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

n=100000
pg_psql -c "CREATE TABLE items (id int PRIMARY KEY, name text, updated_at timestamptz NOT NULL);
CREATE INDEX ON items (updated_at, id);
INSERT INTO items SELECT i, 'item ' || i, CASE WHEN i % 3 = 0 THEN timestamptz '2024-01-01'
    ELSE timestamptz '2024-01-01' + ((i * 7919) % $n) * interval '1 second' END FROM generate_series(1, $n) i;
CREATE TABLE notes (id int PRIMARY KEY, body text);
INSERT INTO notes SELECT i, 'note ' || i FROM generate_series(1, $n) i;"
q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, updated_at TIMESTAMP);
   CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
ini() { # JOB STREAM MAP...: a job reading STREAM from PostgreSQL into the file
    local job=$1 stream=$2 opts=$3
    shift 3
    printf '[engine]\nstate_dir = %s\n\n[source pg]\nplugin = postgres\nconninfo = ${DATABASE_URL}\n\n' "$T/state-$job"
    sqlite_section sink edge
    printf '\n[job %s]\nsource = pg\nsink = edge\nbatch_size = 10000\n\n' "$job"
    printf '[stream %s.%s]\nobject = %s\ntarget = %s\n%s\n\n[map %s.%s]\n' "$job" "$stream" "$stream" "$stream" "$opts" \
        "$job" "$stream"
    printf '%s\n' "$@"
}
ini keyset items "source.settle = 0s" "id = id" "name = name" "updated_at = updated_at" >"$T/keyset.ini"
ini changes notes "source.change_log = on" "id = id" "body = body" >"$T/changes.ini"

# kill_mid_batch INI: starts a run, waits for a first committed batch, kills it while a later one is written.
# A batch of these narrow rows is written in milliseconds: the watcher polls the file every millisecond from one
# connection (a sqlite3 process every 50 ms missed the whole run on a busy machine) and kills up to 4 ms after
# the first commit, within the next batch or two.
kill_mid_batch() {
    $SYNCENGINE --once -c "$1" >>"$T/engine.log" 2>&1 &
    local pid=$! code=0
    python3 - "$db" "$pid" <<'PY' || code=$?
import os, random, signal, sqlite3, sys, time
db, pid = sys.argv[1], int(sys.argv[2])

def running():
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False

c = sqlite3.connect(db, timeout=0.001)
deadline = time.monotonic() + 60
while True:
    try:
        if c.execute("SELECT count(*) FROM _syncengine_state").fetchone()[0] > 0:
            break
    except sqlite3.Error:
        pass
    if not running():
        sys.exit(3)
    if time.monotonic() > deadline:
        sys.exit(4)
    time.sleep(0.001)
time.sleep(random.uniform(0, 0.004))
if not running():
    sys.exit(3)
os.kill(pid, signal.SIGKILL)
PY
    wait $pid 2>/dev/null || true
    case $code in
        0) ;;
        3) die "the run ended before it could be killed" ;;
        4) die "no batch was committed" ;;
        *) die "the watcher failed (exit $code)" ;;
    esac
}
# after_kill TABLE ORDER: the file holds whole batches, exactly the first rows in ORDER
after_kill() {
    got=$(q "SELECT count(*) FROM $1")
    [ $((got % 10000)) = 0 ] && [ "$got" -gt 0 ] && [ "$got" -lt $n ] || die "$1: $got rows after the kill, not whole batches"
    [ "$(pg_psql -c "SELECT string_agg(id::text, ',' ORDER BY $2) FROM (SELECT * FROM $1 ORDER BY $2 LIMIT $got) s" | md5sum)" = \
      "$(q "SELECT group_concat(id) FROM (SELECT id FROM $1 ORDER BY $2)" | md5sum)" ] ||
        die "$1: the file does not hold a prefix of the read order (cursor $(q "SELECT cursor FROM _syncengine_state"))"
}

note "keyset cursor, killed in a batch"
kill_mid_batch "$T/keyset.ini"
after_kill items "updated_at, id"
$SYNCENGINE --once -c "$T/keyset.ini" >"$T/out.log" 2>&1 || { cat "$T/out.log" >&2; die "the run after the kill failed"; }
grep -q "stream=items .*done: $((n - got)) read, $((n - got)) inserted, 0 updated, 0 unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "the next run did not read exactly the rest ($((n - got)))"; }
pg_psql -c "SELECT id, name, to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM items ORDER BY id" | md5sum >"$T/a"
q "SELECT id, name, updated_at FROM items ORDER BY id" | md5sum >"$T/b"
cmp -s "$T/a" "$T/b" || die "items differ after the run that followed the kill"

note "change log, killed during the first scan"
q "DELETE FROM _syncengine_state"
kill_mid_batch "$T/changes.ini"
after_kill notes id
case "$(q "SELECT cursor FROM _syncengine_state WHERE stream = 'notes'")" in s*) ;; *) die "not a scan cursor" ;; esac
$SYNCENGINE --once -c "$T/changes.ini" >"$T/out.log" 2>&1 || { cat "$T/out.log" >&2; die "the run after the kill failed"; }
grep -q "stream=notes .*done: $((n - got)) read, $((n - got)) inserted, 0 updated, 0 unchanged" "$T/out.log" ||
    { grep "done:" "$T/out.log" >&2; die "the next run did not read exactly the rest ($((n - got)))"; }
pg_psql -c "SELECT id, body FROM notes ORDER BY id" | md5sum >"$T/a"
q "SELECT id, body FROM notes ORDER BY id" | md5sum >"$T/b"
cmp -s "$T/a" "$T/b" || die "notes differ after the run that followed the kill"
echo "ok: kill -9 mid-batch, PostgreSQL -> SQLite"
