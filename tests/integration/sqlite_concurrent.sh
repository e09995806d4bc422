#!/bin/bash
# sqlite_concurrent.sh - an application writes the SQLite file while the
# engine syncs it in both directions:
#   - a Python sqlite3 writer (busy_timeout 5 s, as an application would set)
#     inserts events and re-stamps earlier ones, one short transaction each,
#     for 8 seconds;
#   - meanwhile the engine runs again and again: generated records into
#     another table of the file (batches of 500 in write transactions), and
#     the events into PostgreSQL (pages of 100 in short read transactions);
#   - the writer is never refused and never waits anywhere near its busy
#     timeout (the longest wait is printed), no engine run fails, and after
#     a last run PostgreSQL holds every event as the file has it.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "PRAGMA journal_mode = WAL;
   CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT, version INTEGER NOT NULL, updated_at TEXT NOT NULL);
   CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, amount REAL)" >/dev/null
pg_psql -c "CREATE TABLE events (id bigint PRIMARY KEY, payload text, version int, updated_at timestamptz)"
cat >"$T/both.ini" <<INI
[engine]
state_dir = $T/state

[source fake]
plugin = generate
streams = items
records = 3000
fields = name:string, amount:float

$(sqlite_section source edge)

$(sqlite_section sink edge_sink)

$(pg_sink_section pg)

$(items_job to_edge fake edge_sink 500)

[job from_edge]
source = edge
sink = pg
batch_size = 100

[stream from_edge.events]
object = events
target = events
source.settle = 1s

[map from_edge.events]
id = id
payload = payload
version = version
updated_at = updated_at
INI

python3 - "$db" "$T/writer.out" <<'PY' &
import random, sqlite3, sys, time
db, out = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, timeout=5.0, isolation_level=None)
c.execute("PRAGMA busy_timeout = 5000")
n, worst, errors, end = 0, 0.0, 0, time.time() + 8
while time.time() < end:
    t0 = time.monotonic()
    try:
        c.execute("BEGIN IMMEDIATE")
        n += 1
        c.execute("INSERT INTO events (id, payload, version, updated_at) VALUES "
                  "(?, ?, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))", (n, "event %d" % n))
        if n > 10:
            c.execute("UPDATE events SET version = version + 1, payload = payload || '+', "
                      "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?", (random.randint(1, n - 1),))
        c.execute("COMMIT")
    except sqlite3.OperationalError as e:
        errors += 1
        print("writer error:", e, file=sys.stderr)
        c.execute("ROLLBACK") if c.in_transaction else None
    worst = max(worst, time.monotonic() - t0)
    time.sleep(0.002)
open(out, "w").write("%d %d %.1f\n" % (n, errors, worst * 1000))
PY
writer=$!
runs=0
while kill -0 $writer 2>/dev/null; do
    $SYNCENGINE --once -c "$T/both.ini" >>"$T/engine.log" 2>&1 || { tail -n 20 "$T/engine.log" >&2; die "an engine run failed while the application wrote"; }
    runs=$((runs + 1))
done
wait $writer
read -r written errors worst_ms <"$T/writer.out"
echo "writer: $written transactions, $errors refused, longest $worst_ms ms; engine: $runs runs of both jobs"
[ "$errors" = 0 ] || die "the application's writes were refused $errors time(s)"
awk -v w="$worst_ms" 'BEGIN { exit !(w < 1000) }' || die "the application waited $worst_ms ms for the file"
[ "$runs" -ge 2 ] || die "the engine ran only $runs time(s) alongside the writer"
sleep 1.2
$SYNCENGINE --once -c "$T/both.ini" >>"$T/engine.log" 2>&1 || die "the last run failed"
q "SELECT id, payload, version FROM events ORDER BY id" >"$T/a"
pg_psql -c "SELECT id, payload, version FROM events ORDER BY id" >"$T/b"
diff -q "$T/a" "$T/b" >/dev/null || { diff -u "$T/a" "$T/b" | head -n 20 >&2; die "PostgreSQL does not hold the events as the file has them"; }
[ "$(q "SELECT count(*) FROM items")" = $((3000 * (runs + 1))) ] || die "items: $(q "SELECT count(*) FROM items"), expected $((3000 * (runs + 1)))"
echo "ok: an application writing the file was never blocked long and nothing was lost"
