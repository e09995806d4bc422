#!/bin/bash
# d1_faults.sh - D1's transient failures, served by the stand-in
# (tests/d1stub/) on the requests that write or read the table: nothing lost,
# nothing twice.
#   sink (generate -> D1, 100 records a run in batches of 25, each batch one
#   request with its cursor):
#   - 429 with Retry-After, 503 (twice), a reset connection, a body cut
#     short after D1 committed, an answer lost after D1 committed (the
#     connection reset: libcurl retries that itself, a retry of ours): each run
#     succeeds, the table holds every record once, and a batch that D1 had
#     committed before its answer was lost is counted unchanged the second
#     time, never inserted twice;
#   - 503 beyond d1_retries and the engine's retries: the run fails as retryable (exit 5) saying how
#     often it tried; the cursor stayed with the last committed batch, and the
#     next run writes the rest.
#   - kill -9 while D1 executes a batch (which then commits unanswered): the
#     next run takes the dead engine's lease, closes its run as failed, and the
#     table holds every record once.
#   source (D1 -> PostgreSQL, pages of 10): a reset and a lost answer on page
#   requests: every row read exactly once.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/d1.sh"
pg_start || exit $?

d1q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, quantity INTEGER, updated_at TEXT)"
d1stub_start
write_ini() { # RECORDS
    cat >"$T/sink.ini" <<INI
[engine]
state_dir = $T/state

[source fake]
plugin = generate
streams = items
records = $1
fields = name:string, quantity:int, updated:timestamp

$(d1_section sink edge)

[job j]
source = fake
sink = edge
batch_size = 25

[stream j.items]
object = items
target = items

[map j.items]
id = id
name = name
quantity = quantity
updated_at = updated
INI
}
faults() { d1stub_ctl POST /__stub/faults "{\"faults\": [$1]}" >/dev/null; }
# a fault on the 2nd request that writes the table (its second batch)
fault() { faults "{\"kind\": \"$1\", \"match\": \"INSERT INTO \\\"items\\\"\", \"after\": 1, \"count\": ${2:-1}, \"retry_after\": ${3:-0}}"; }
total=0
step() { # KIND COUNT RETRY_AFTER: a run of the next 100 records with that fault
    fault "$1" "$2" "$3"
    local fired=$(d1stub_stat faults_fired)
    total=$((total + 100))
    write_ini 100
    d1_run "$T/sink.ini" 0
    [ "$(d1stub_stat faults_fired)" = $((fired + $2)) ] || die "$1: the fault did not fire $2 time(s)"
    [ "$(d1q "SELECT count(*), count(DISTINCT id), min(id), max(id) FROM items")" = "$total|$total|1|$total" ] ||
        die "$1: items hold $(d1q "SELECT count(*), min(id), max(id) FROM items"), expected ids 1..$total"
    [ "$(d1q "SELECT cursor FROM _syncengine_state WHERE stream = 'items'")" = $total ] || die "$1: cursor not at $total"
    counts=$(d1q "SELECT status, processed, inserted + unchanged, updated, failed FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1")
    [ "$counts" = "success|100|100|0|0" ] || die "$1: run status|processed|inserted+unchanged|updated|failed = $counts"
    # (a connection reset before any answer is retried by libcurl itself, on a fresh connection)
    case $1 in reset | lost) ;; *) grep -q "retrying in" "$T/out.log" || die "$1: no retry was logged" ;; esac
}
inserted() { d1q "SELECT inserted FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1"; }

note "429 with Retry-After"
step 429 1 1
grep -q "HTTP 429: Please wait" "$T/out.log" || die "the 429 is not in the log"
[ "$(inserted)" = 100 ] || die "429: inserted $(inserted)"
note "503, twice"
step 503 2 0
[ "$(inserted)" = 100 ] || die "503: inserted $(inserted)"
note "a reset connection"
step reset 1 0
[ "$(inserted)" = 100 ] || die "reset: inserted $(inserted)"
note "a body cut short after the commit"
step truncate 1 0
[ "$(inserted)" = 75 ] || die "truncate: inserted $(inserted), expected 75 (the batch committed before is unchanged)"
note "an answer lost after the commit"
step lost 1 0
[ "$(inserted)" = 75 ] || die "lost: inserted $(inserted), expected 75 (the batch committed before is unchanged)"

note "503 beyond d1_retries (1) and the engine's own retries of the batch: retryable failure, then nothing lost"
fault 503 100 0
write_ini 100
sed -i 's/^d1_retries = 3/d1_retries = 1/' "$T/sink.ini"
d1_run "$T/sink.ini" 5
grep -q "HTTP 503: D1 is temporarily unavailable (code 7500); gave up after 2 tries" "$T/out.log" ||
    { cat "$T/out.log" >&2; die "the failure does not say what happened"; }
[ "$(d1q "SELECT count(*) FROM items")" = $((total + 25)) ] || die "after the failed run: $(d1q "SELECT count(*) FROM items") rows"
[ "$(d1q "SELECT cursor FROM _syncengine_state WHERE stream = 'items'")" = $((total + 25)) ] || die "the cursor is not with the last committed batch"
faults ""
d1_run "$T/sink.ini" 0
total=$((total + 125))
[ "$(d1q "SELECT count(*), count(DISTINCT id), max(id) FROM items")" = "$total|$total|$total" ] ||
    die "rows after the resumed run: $(d1q "SELECT count(*), count(DISTINCT id), max(id) FROM items"), expected 1..$total"

note "kill -9 while D1 executes a batch: the next run takes the dead engine's lease, nothing lost or twice"
faults '{"kind": "delay", "match": "INSERT INTO \"items\"", "after": 1, "count": 1, "seconds": 3}'
write_ini 100
$SYNCENGINE --once -c "$T/sink.ini" >"$T/killed.log" 2>&1 &
victim=$!
i=0
until curl -s "$D1_CTL/__stub/stats" | grep -q '"faults_left": 0'; do
    i=$((i + 1))
    [ $i -lt 400 ] || die "the engine did not reach its second batch"
    sleep 0.05
done
kill -9 $victim || { cat "$T/killed.log" >&2; d1stub_ctl GET /__stub/stats >&2; die "the engine was gone before the kill"; }
wait $victim 2>/dev/null || true
cat "$T/killed.log" >>"$T/engine.log"
i=0 # the stand-in finishes the request it had: committed, unanswered
until [ "$(d1q "SELECT cursor FROM _syncengine_state WHERE stream = 'items'")" = $((total + 50)) ]; do
    i=$((i + 1))
    [ $i -lt 100 ] || die "the batch D1 committed after the kill did not keep its cursor"
    sleep 0.1
done
[ "$(d1q "SELECT status FROM _syncengine_runs ORDER BY started_at DESC LIMIT 1")" = running ] || die "the killed run is not left running"
d1_run "$T/sink.ini" 0
total=$((total + 150))
[ "$(d1q "SELECT count(*), count(DISTINCT id), max(id) FROM items")" = "$total|$total|$total" ] ||
    die "rows after the killed run: $(d1q "SELECT count(*), count(DISTINCT id), max(id) FROM items"), expected 1..$total"
[ "$(d1q "SELECT count(*) FROM _syncengine_runs WHERE status = 'failed' AND error LIKE 'the engine running it stopped%'")" -ge 1 ] ||
    die "the killed run was not closed as failed"
[ "$(d1q "SELECT released FROM _syncengine_leases WHERE job = 'j'")" = 1 ] || die "the dead engine's lease was not taken"

note "source: a reset and a lost answer on page requests"
d1q "UPDATE items SET updated_at = '2024-01-01T00:00:00.000000Z' WHERE id <= 60"
pg_psql -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, quantity bigint, updated_at timestamptz)"
cat >"$T/src.ini" <<INI
[engine]
state_dir = $T/state-src

$(d1_section source edge)

[sink pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[job from_edge]
source = edge
sink = pg
batch_size = 10

[stream from_edge.items]
object = items
target = items
source.settle = 0s
source.where = id <= 60

[map from_edge.items]
id = id
name = name
quantity = quantity
updated_at = updated_at
INI
faults '{"kind": "reset", "match": "\"items\"", "after": 2, "count": 1}, {"kind": "lost", "match": "\"items\"", "after": 4, "count": 1}'
d1_run "$T/src.ini" 0
grep -q "stream=items .*done: 60 read, 60 inserted" "$T/out.log" || { grep "done:" "$T/out.log" >&2; die "source read not exactly once"; }
[ "$(d1stub_stat faults_left)" = 0 ] || die "the source faults did not fire"
[ "$(pg_psql -c "SELECT count(*), sum(quantity) FROM items")" = "$(d1q "SELECT count(*), sum(quantity) FROM items WHERE id <= 60")" ] ||
    die "PostgreSQL and D1 differ"
assert_no_secrets "$D1_TOKEN"
echo "ok: d1 faults"
