#!/bin/bash
# d1_sink.sh - the sqlite plugin as a sink on Cloudflare D1 (the stand-in
# tests/d1stub/, statements run on a local SQLite file), fed by the generate
# source.  The same job also runs into a SQLite file through the file backend,
# and the two tables must come out identical, row for row:
#   - a first run with hard and soft deletes and a CHECK constraint that
#     rejects single records (key and D1's message) while the rest of each
#     batch and the cursor commit: the run is partial, with the same counts as
#     the file backend's;
#   - batches of 150 records of 6 columns (900 values) are sent with no
#     statement binding more than D1's 100 parameters, one request per batch;
#   - an incremental run continues after the saved cursor; a full refresh of
#     unchanged records writes nothing (unchanged) and repairs a row changed
#     behind the engine's back (updated 1);
#   - a batch of 2,500 is sent in two requests (D1_MAX_STATEMENTS), the cursor
#     with the last;
#   - the runs are in _syncengine_runs of the D1 database; status shows them;
#   - a lease held by a live process on this host skips the run.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sqlite.sh"
. "$top/tests/lib/d1.sh"

schema="CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, amount REAL CHECK (amount < 9000),
                           quantity INTEGER, active BOOLEAN, updated_at TEXT);
        CREATE TABLE soft_items (id INTEGER PRIMARY KEY, name TEXT, archived INTEGER NOT NULL DEFAULT 0);
        INSERT INTO items (id, name) VALUES (10, 'old ten'), (20, 'old twenty');
        INSERT INTO soft_items (id, name) VALUES (10, 'old ten'), (20, 'old twenty');"
q "$schema"
d1q "$schema"
d1stub_start

write_ini() { # RECORDS KIND(file|d1)
    cat >"$T/$2.ini" <<INI
[engine]
state_dir = $T/state-$2

[source fake]
plugin = generate
streams = items, soft
records = $1
fields = name:string, amount:float, quantity:int, active:bool, updated:timestamp
delete_every = 10

$(if [ "$2" = d1 ]; then d1_section sink edge; else sqlite_section sink edge; fi)

[job j]
source = fake
sink = edge
batch_size = 150

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
both() { # EXPECTED_EXIT RECORDS [args]: the same run into the file and into D1
    local want=$1 n=$2
    shift 2
    write_ini "$n" file
    write_ini "$n" d1
    sqlite_run "$T/file.ini" "$want" "$@"
    cp "$T/out.log" "$T/file.log"
    d1_run "$T/d1.ini" "$want" "$@"
}
dump() { # DB: both tables, every column, in key order
    sqlite3 -batch "$1" "SELECT id, name, quote(amount), quantity, active, updated_at FROM items ORDER BY id;
                         SELECT id, name, archived FROM soft_items ORDER BY id"
}
same() { # WHAT
    dump "$db" >"$T/file.rows"
    dump "$d1db" >"$T/d1.rows"
    diff -u "$T/file.rows" "$T/d1.rows" >&2 || die "D1 and the file differ $1"
}
last_run() { # DB
    sqlite3 -batch "$1" "SELECT status, processed, inserted, updated, unchanged, deleted, failed FROM _syncengine_runs
                         ORDER BY started_at DESC LIMIT 1"
}

note "first run: 300 records a stream, deletes, CHECK rejections"
both 6 300
rejected=$(grep -c 'table "items", key [0-9]*: CHECK constraint failed: amount < 9000' "$T/out.log" || true)
[ "$rejected" -gt 0 ] || die "no record was rejected by the CHECK constraint"
[ "$rejected" = "$(grep -c 'CHECK constraint failed' "$T/file.log")" ] || die "D1 rejected $rejected, the file backend otherwise"
same "after the first run"
[ "$(d1q "SELECT count(*) FROM items")" = $((270 - rejected)) ] || die "items: $(d1q "SELECT count(*) FROM items"), expected $((270 - rejected))"
[ "$(d1q "SELECT group_concat(id) FROM (SELECT id FROM soft_items WHERE archived = 1 AND id IN (10, 20) ORDER BY id)")" = "10,20" ] ||
    die "soft deletes did not archive 10 and 20"
[ "$(last_run "$d1db")" = "$(last_run "$db")" ] || die "run counts: D1 $(last_run "$d1db"), file $(last_run "$db")"
last_run "$d1db" | grep -q "^partial|600|" || die "run: $(last_run "$d1db")"
[ "$(d1q "SELECT cursor FROM _syncengine_state WHERE job = 'j' AND stream = 'items'")" = 300 ] || die "cursor not stored"
[ "$(d1q "SELECT typeof(active), typeof(updated_at), typeof(amount) FROM items WHERE id = 1")" = "integer|text|real" ] ||
    die "types: $(d1q "SELECT typeof(active), typeof(updated_at), typeof(amount) FROM items WHERE id = 1")"

note "the parameter limit: no statement over 100, one request per batch of 150 (900 values)"
[ "$(d1stub_stat max_params)" -le 100 ] || die "a statement bound $(d1stub_stat max_params) parameters"
[ "$(d1stub_stat max_batch)" -ge 150 ] || die "a batch of 150 was split into requests of at most $(d1stub_stat max_batch) statements"

note "incremental: the next 300"
both 6 300
same "after the incremental run"
[ "$(d1q "SELECT max(id) FROM soft_items WHERE archived = 0")" = 599 ] || die "the second run did not continue after 300"
[ "$(d1q "SELECT cursor FROM _syncengine_state WHERE stream = 'soft'")" = 600 ] || die "cursor not advanced"

note "full refresh: nothing rewritten, a row changed behind the engine's back repaired"
q "UPDATE soft_items SET name = 'changed' WHERE id = 3"
d1q "UPDATE soft_items SET name = 'changed' WHERE id = 3"
both 6 600 --full-refresh
same "after the full refresh"
[ "$(d1q "SELECT inserted, updated, deleted FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1")" = "0|1|0" ] ||
    die "full refresh counts inserted|updated|deleted = $(d1q "SELECT inserted, updated, deleted FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1")"
[ "$(d1q "SELECT count(*) FROM _syncengine_runs WHERE status = 'partial'")" = 3 ] || die "runs: $(d1q "SELECT * FROM _syncengine_runs")"

note "a batch of 2,500 records goes in two requests of at most 2,000 statements, the cursor in the second"
sed -i 's/^batch_size = 150/batch_size = 2500/; s/^records = 600/records = 2500/' "$T/d1.ini" "$T/file.ini"
sqlite_run "$T/file.ini" 6
before=$(d1stub_stat queries)
d1_run "$T/d1.ini" 6
[ "$(d1stub_stat max_batch)" -le 2000 ] || die "a request carried $(d1stub_stat max_batch) statements"
[ $(( $(d1stub_stat queries) - before )) -ge 4 ] || die "2 streams of 2,500 took $(( $(d1stub_stat queries) - before )) requests"
same "after batches of 2,500"
[ "$(d1q "SELECT max(id) FROM soft_items")" = 3099 ] || die "soft_items: $(d1q "SELECT count(*), max(id) FROM soft_items")"
[ "$(d1q "SELECT cursor FROM _syncengine_state WHERE stream = 'soft'")" = 3100 ] || die "cursor not at 3100"

note "status reads the runs from D1"
$SYNCENGINE status -c "$T/d1.ini" >"$T/status.log" 2>&1 || true
grep -q partial "$T/status.log" || { cat "$T/status.log" >&2; die "status does not show the runs"; }

note "a lease held by a live process skips the run"
sleep 60 &
holder=$!
at_exit "kill $holder 2>/dev/null || true"
start=$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' /proc/$holder/stat)
d1q "UPDATE _syncengine_leases SET pid = $holder, pid_start = $start, released = 0, host = '$(hostname)' WHERE job = 'j'"
before=$(d1q "SELECT count(*) FROM _syncengine_runs")
d1_run "$T/d1.ini" 0
grep -q "job is running on another engine; skipped" "$T/out.log" || die "a held lease did not skip the run"
[ "$(d1q "SELECT count(*) FROM _syncengine_runs")" = "$before" ] || die "a skipped run was recorded"
kill $holder
wait $holder 2>/dev/null || true
d1_run "$T/d1.ini" 6
[ "$(d1q "SELECT released FROM _syncengine_leases WHERE job = 'j'")" = 1 ] || die "the lease of a dead holder was not taken and released"
assert_no_secrets "$D1_TOKEN"
echo "ok: d1 sink"
