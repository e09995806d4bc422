#!/bin/sh
# pg_retry_owner.sh - the engine is the one owner of the retries of a batch
# write (job option write_attempts); the PostgreSQL sink classifies a failure
# and returns, reconnecting once when a call finds its connection broken.
# The engine reaches PostgreSQL through a loopback TCP proxy that counts every
# connection opened through it; "down" makes the proxy cut the open sessions
# and close every new connection at once (what a server that went away looks
# like to libpq), "up" forwards again.
#   1. down for good in the middle of a run: the batch fails, the engine tries
#      it write_attempts (3) times in all -- one connect per retry, and one
#      more by finish to record the failed run: 3 connects, where the sink's
#      own loops used to make up to 45 -- and the run fails (exit 5) with the
#      sink's message; the next run, with the server reachable again, resumes
#      from the saved cursor and every record is there exactly once;
#   2. down for a moment (back before the last try): the retried batch is
#      stored, the run succeeds, nothing is lost or doubled.
# docs/faults.md, rows "PostgreSQL restarted mid-run" and "PostgreSQL unreachable mid-run".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
pg_start || exit $?

n=2000
pg_psql -c "CREATE TABLE items (id text PRIMARY KEY, name text, amount numeric)"

# --- the counting proxy: 127.0.0.1:<port> -> the server's socket
cat >"$T/proxy.py" <<'PY'
import os, socket, sys, threading, time
port_file, target, down_file, log_file = sys.argv[1:5]
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(64)
lock = threading.Lock()
live = set()

def cut(s):
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass

def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    cut(a)
    cut(b)
    with lock:
        live.discard(a)
        live.discard(b)

def watch():
    was = False
    while True:
        down = os.path.exists(down_file)
        if down and not was:
            with lock:
                for s in list(live):
                    cut(s)
        was = down
        time.sleep(0.02)

threading.Thread(target=watch, daemon=True).start()
with open(port_file + ".tmp", "w") as f:
    f.write(str(ls.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
while True:
    c, _ = ls.accept()
    down = os.path.exists(down_file)
    with open(log_file, "a") as f:
        f.write("down\n" if down else "up\n")
    if down:
        c.close()
        continue
    u = socket.socket(socket.AF_UNIX)
    try:
        u.connect(target)
    except OSError:
        c.close()
        continue
    with lock:
        live.add(c)
        live.add(u)
    threading.Thread(target=pump, args=(c, u), daemon=True).start()
    threading.Thread(target=pump, args=(u, c), daemon=True).start()
PY
: >"$T/connects"
python3 "$T/proxy.py" "$T/port" "$PGCLUSTER_DIR/.s.PGSQL.$PGPORT" "$T/down" "$T/connects" &
proxy=$!
at_exit "kill $proxy 2>/dev/null"
i=0
until [ -s "$T/port" ]; do
    i=$((i + 1)); [ $i -gt 100 ] && die "the proxy did not start"
    sleep 0.05
done
pport=$(cat "$T/port")

cat >"$T/retry.ini" <<INI
[engine]
state_dir = $T/state

[source gen]
plugin = generate
streams = items
records = $n
fields = name:string, amount:float

[sink pg]
plugin = postgres
conninfo = host=127.0.0.1 port=$pport dbname=postgres user=postgres sslmode=disable gssencmode=disable
lease_ttl = 10m

[job retry]
source = gen
sink = pg
batch_size = 100
write_attempts = 3
sink.run_log_table = run_log
sink.after_batch_sql = SELECT pg_sleep(0.05)

[stream retry.items]
object = items
target = items

[map retry.items]
id = id
name = name
amount = amount
INI
pg_psql -c "CREATE TABLE run_log (run_id text PRIMARY KEY, job text, status text, processed bigint,
                                  error_message text, started_at timestamptz, completed_at timestamptz)"

rows() { pg_psql -c "SELECT count(*) FROM items"; }
downs() { grep -c '^down$' "$T/connects" || true; }

# run_until_stored ROWS: starts a run in the background ($run_pid) and waits until ROWS rows are stored
run_until_stored() {
    $SYNCENGINE -c "$T/retry.ini" --once 2>"$T/run.log" &
    run_pid=$!
    at_exit "kill $run_pid 2>/dev/null"
    i=0
    until [ "$(rows)" -ge "$1" ]; do
        i=$((i + 1)); [ $i -gt 300 ] && die "the run stored fewer than $1 rows in 30 s: $(tail -n 3 "$T/run.log")"
        sleep 0.1
    done
}

# --- 1. down for good in the middle of a run
note "1. the server goes away for good mid-run"
run_until_stored 300
touch "$T/down"
rc=0
wait $run_pid || rc=$?
cat "$T/run.log" >>"$T/engine.log"
stored=$(rows)
[ $rc = 5 ] || die "a run whose database went away exited $rc, expected 5: $(tail -n 3 "$T/run.log")"
[ "$stored" -lt $n ] || die "the run had finished before the server went away"
# the engine's tries: the first failed on the cut session, two more after 0.5 s and 1 s
retries=$(grep -c "sink write failed (.*); retrying in [0-9]* ms (attempt [23] of 3)" "$T/run.log" || true)
[ "$retries" = 2 ] || die "the engine retried the batch $retries time(s), expected 2: $(grep -i retr "$T/run.log" | head -n 5)"
grep -q "retrying in 500 ms (attempt 2 of 3)" "$T/run.log" || die "the first retry did not wait 500 ms"
grep -q "retrying in 1000 ms (attempt 3 of 3)" "$T/run.log" || die "the second retry did not wait 1 s"
grep -Eq "reconnect attempt|retrying \(attempt" "$T/run.log" && die "the sink retried by itself: $(grep -E 'reconnect attempt|retrying \(attempt' "$T/run.log" | head -n 3)"
grep -q "write failed: .*database connection lost; reconnecting failed: could not connect to the database" "$T/run.log" \
    || die "the run's error does not say the connection was lost: $(grep -i error "$T/run.log" | tail -n 2)"
# connects while down: one per retry (2) and one by finish, which tries to record the failed run
d=$(downs)
[ "$d" = 3 ] || die "$d connection(s) were attempted while the server was away, expected 3 (2 retries + finish)"
note "the server was away: $d connects (2 retries, finish), run exit $rc with $stored of $n rows stored"

# the cursor committed with the rows: exactly the records stored
[ "$(pg_psql -c "SELECT cursor FROM syncengine.sync_state WHERE job = 'retry'")" = "$stored" ] \
    || die "cursor $(pg_psql -c "SELECT cursor FROM syncengine.sync_state") after $stored rows were stored"

rm -f "$T/down"
# the next run resumes after the cursor (the generate source yields $n more records a run)
engine -c "$T/retry.ini" --once || die "the run after the outage failed: $(tail -n 3 "$T/engine.log")"
total=$((stored + n))
[ "$(rows)" = $total ] || die "$(rows) rows after the next run, expected $total"
[ "$(pg_psql -c "SELECT count(DISTINCT id) FROM items")" = $total ] || die "ids are doubled"
[ "$(pg_psql -c "SELECT cursor FROM syncengine.sync_state WHERE job = 'retry'")" = "$total" ] || die "cursor after the next run"
[ "$(pg_psql -c "SELECT string_agg(status || ' ' || processed, ',' ORDER BY started_at) FROM run_log")" = \
  "failed $stored,success $n" ] \
    || die "run log: $(pg_psql -c "SELECT string_agg(status || ' ' || processed, ',' ORDER BY started_at) FROM run_log")"

# --- 2. down for a moment
note "2. the server goes away for a moment"
pg_psql -c "TRUNCATE items, run_log; TRUNCATE syncengine.sync_state"
: >"$T/connects"
run_until_stored 300
touch "$T/down"
i=0
until grep -q "retrying in 500 ms (attempt 2 of 3)" "$T/run.log"; do
    i=$((i + 1)); [ $i -gt 100 ] && die "the engine did not retry the batch: $(tail -n 3 "$T/run.log")"
    sleep 0.05
done
rm -f "$T/down"
rc=0
wait $run_pid || rc=$?
cat "$T/run.log" >>"$T/engine.log"
[ $rc = 0 ] || die "the run across a short outage exited $rc: $(tail -n 3 "$T/run.log")"
grep -q "reconnected to the database" "$T/run.log" || die "the sink did not say it reconnected"
[ "$(rows)" = $n ] || die "$(rows) rows after the run across the outage, expected $n"
[ "$(pg_psql -c "SELECT count(DISTINCT id) FROM items")" = $n ] || die "ids are missing"
[ "$(pg_psql -c "SELECT status || ' ' || processed FROM run_log")" = "success $n" ] \
    || die "run log: $(pg_psql -c "SELECT status || ' ' || processed FROM run_log")"
d=$(downs)
[ "$d" -le 1 ] || die "$d connection(s) while the server was away for one retry's wait"
echo ok
