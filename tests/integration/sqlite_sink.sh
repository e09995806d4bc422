#!/bin/bash
# sqlite_sink.sh - the sqlite plugin as a sink, on real SQLite files, fed by
# the generate source:
#   - a first run inserts, an incremental run continues, a full refresh of
#     unchanged records rewrites nothing (counted unchanged), a row changed
#     behind the engine's back is updated;
#   - hard deletes remove rows, soft deletes set soft_delete_set once;
#   - a CHECK constraint rejects single records (key and reason in the run
#     log) while the rest of the batch and the cursor commit: the run is partial;
#   - the cursor lives in _syncengine_state, each run in _syncengine_runs and in
#     the job's run_log_table; `status` reads them back;
#   - a lease held by a live process skips the run; once that process is gone
#     the next run takes the job (epoch + 1); of two engines started at once
#     one runs the job and the other skips it;
#   - a file locked by another writer beyond busy_timeout fails the run as
#     retryable with a message naming the file; the next run loses nothing.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sqlite.sh"

q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL CHECK (amount < 9000),
                       quantity INTEGER, active BOOLEAN, updated_at TEXT, archived INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE soft_items (id INTEGER PRIMARY KEY, name TEXT, archived INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE sync_logs (run_id TEXT PRIMARY KEY, status TEXT, processed INTEGER, created INTEGER,
                           error_message TEXT, completed_at TEXT);"

busy=500ms
write_ini() { # RECORDS [extra job lines...]; busy_timeout from $busy
    local n=$1
    shift
    cat >"$T/sink.ini" <<INI
[engine]
state_dir = $T/state

[source fake]
plugin = generate
streams = items, soft
records = $n
fields = name:string, amount:float, quantity:int, active:bool, updated:timestamp
delete_every = 10

$(sqlite_section sink edge)
busy_timeout = $busy

[job j]
source = fake
sink = edge
batch_size = 7
sink.run_log_table = sync_logs
$(printf '%s\n' "$@")

[stream j.items]
object = items
target = items
sink.delete_mode = hard

[map j.items]
id = id
name = name
amount = amount
quantity = quantity
active = active
updated_at = updated

[stream j.soft]
object = soft
target = soft_items
sink.delete_mode = soft
sink.soft_delete_set = archived=1

[map j.soft]
id = id
name = name
INI
}

run() { sqlite_run "$T/sink.ini" "$@"; } # EXPECTED_EXIT [args]
last_run() { q "SELECT status, processed, inserted, updated, unchanged, deleted, failed FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1"; }

note "first run: rows 10 and 20 exist and are deleted (hard) / archived (soft)"
q "INSERT INTO items (id, name) VALUES (10, 'old ten'), (20, 'old twenty');
   INSERT INTO soft_items (id, name) VALUES (10, 'old ten'), (20, 'old twenty');"
write_ini 25
run 6   # partial: amounts >= 9000 break the CHECK
rejected=$(grep -c "CHECK constraint failed" "$T/out.log" || true)
[ "$rejected" -gt 0 ] || die "no record was rejected by the CHECK constraint"
grep -q 'table "items", key [0-9]*: CHECK constraint failed' "$T/out.log" || die "a reject does not name the key"
[ "$(q "SELECT count(*) FROM items WHERE id IN (10, 20)")" = 0 ] || die "hard deletes did not delete"
[ "$(q "SELECT count(*) FROM items")" = $((23 - rejected)) ] || die "items: $(q "SELECT count(*) FROM items") rows, expected $((23 - rejected))"
[ "$(q "SELECT group_concat(id) FROM soft_items WHERE archived = 1")" = "10,20" ] || die "soft deletes did not archive 10 and 20"
[ "$(q "SELECT count(*) FROM soft_items")" = 25 ] || die "soft_items should hold 23 new rows and the 2 archived ones"
[ "$(q "SELECT cursor FROM _syncengine_state WHERE job = 'j' AND stream = 'items'")" = 25 ] || die "cursor not stored"
[ "$(q "SELECT status, processed FROM sync_logs")" = "partial|50" ] || die "run-log table: $(q "SELECT * FROM sync_logs")"
[ "$(q "SELECT typeof(active), typeof(updated_at) FROM items LIMIT 1")" = "integer|text" ] || die "types: $(q "SELECT typeof(active), typeof(updated_at) FROM items LIMIT 1")"
q "SELECT updated_at FROM items WHERE id = 1" | grep -qx "2024-01-01T00:01:00.000000Z" || die "timestamp text: $(q "SELECT updated_at FROM items WHERE id = 1")"

note "incremental: the next 25"
run 6
[ "$(q "SELECT max(id) FROM soft_items WHERE archived = 0")" = 49 ] || die "the second run did not continue after 25"
[ "$(q "SELECT cursor FROM _syncengine_state WHERE stream = 'soft'")" = 50 ] || die "cursor not advanced"

note "full refresh: nothing changed, nothing rewritten; one row changed behind the engine's back is updated"
q "UPDATE soft_items SET name = 'changed' WHERE id = 3"
run 6 --full-refresh
last=$(q "SELECT inserted, updated, deleted FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1")
[ "$last" = "0|1|0" ] || die "full refresh counts inserted|updated|deleted = $last, expected 0|1|0"
[ "$(q "SELECT name FROM soft_items WHERE id = 3")" != changed ] || die "row 3 not repaired"

note "status reads the runs from the file"
$SYNCENGINE status -c "$T/sink.ini" >"$T/status.log" 2>&1 || true
grep -q partial "$T/status.log" || { cat "$T/status.log" >&2; die "status does not show the runs"; }

note "a lease held by a live process skips the run; a dead holder's lease is taken"
sleep 60 &
holder=$!
start=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' /proc/$holder/stat)
q "UPDATE _syncengine_leases SET pid = $holder, pid_start = $start, released = 0, host = '$(hostname)' WHERE job = 'j'"
epoch=$(q "SELECT epoch FROM _syncengine_leases WHERE job = 'j'")
before=$(q "SELECT count(*) FROM _syncengine_runs")
run 0
grep -q "job is running on another engine; skipped" "$T/out.log" || die "a held lease did not skip the run"
[ "$(q "SELECT count(*) FROM _syncengine_runs")" = "$before" ] || die "a skipped run was recorded"
kill $holder; wait $holder 2>/dev/null || true
run 6
[ "$(q "SELECT epoch, released FROM _syncengine_leases WHERE job = 'j'")" = "$((epoch + 1))|1" ] || die "lease of a dead holder not taken: $(q "SELECT * FROM _syncengine_leases")"

note "two engines start the job at once: one runs it, the other skips it"
# the second engine waits for the file's write lock between the first one's batches, which follow each other
# closely (SQLite grants the lock to whoever asks when it is free, not in turn): a longer busy_timeout
busy=10s write_ini 12000
before=$(q "SELECT count(*) FROM soft_items")
$SYNCENGINE --once -c "$T/sink.ini" >"$T/first.log" 2>&1 &
first=$!
i=0
until [ "$(q "SELECT pid || released FROM _syncengine_leases WHERE job = 'j'")" = "${first}0" ]; do
    i=$((i + 1))
    [ $i -lt 400 ] || die "the first engine did not take the lease"
    sleep 0.01
done
code=0
$SYNCENGINE --once -c "$T/sink.ini" >"$T/second.log" 2>&1 || code=$?
wait $first || [ $? = 6 ] || { cat "$T/first.log" >&2; die "the first engine failed"; }
cat "$T/first.log" "$T/second.log" >>"$T/engine.log"
[ "$code" = 0 ] && grep -q "job is running on another engine; skipped" "$T/second.log" ||
    { cat "$T/second.log" >&2; die "the second engine did not skip the job its lease held"; }
[ "$(q "SELECT count(*) FROM soft_items")" = $((before + 10800)) ] || die "soft_items after one run of 12000: $(q "SELECT count(*) FROM soft_items")"

note "another writer holds the file beyond busy_timeout: retryable failure, then nothing lost"
busy=500ms write_ini 30
python3 - "$db" <<'PY' &
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[1] + ".locked", "w").close()
time.sleep(4)
c.execute("ROLLBACK")
PY
locker=$!
while [ ! -e "$db.locked" ]; do sleep 0.05; done
before=$(q "SELECT count(*) FROM soft_items")
run 5
grep -q "still locked after busy_timeout 500 ms" "$T/out.log" || { cat "$T/out.log" >&2; die "lock failure not explained"; }
grep -q "$db" "$T/out.log" || die "lock failure does not name the file"
wait $locker
run 6
[ "$(q "SELECT count(*) FROM soft_items")" = $((before + 27)) ] || die "rows lost after the locked run: $(q "SELECT count(*) FROM soft_items"), expected $((before + 27))"
echo "ok: sqlite sink"
