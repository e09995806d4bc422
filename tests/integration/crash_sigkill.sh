#!/bin/sh
# crash_sigkill.sh - the Henk sync killed with SIGKILL at random moments loses
# nothing, duplicates nothing, and never saves a cursor ahead of its data.
#
# A stand-in org with 40,000 contacts (and a few hundred leads) is synced by
# conf/henk.ini.  One uninterrupted run measures how long a whole sync takes
# (D); the database is then emptied and the trials begin.  Each trial starts
# the engine, waits a random time and kills it with SIGKILL (no chance to
# clean up: no signal handler, no finish(), no run-log update), then checks,
# before anything else runs:
#   - every record ordered at or before a stream's saved cursor
#     (syncengine.sync_state) is in `leads` (tests/lib/cursor_check.py);
#   - no (source, source_id) is stored twice, no list membership twice;
#   - the local state file is valid JSON;
#   - at most one sync_logs row is 'running' -- the killed run's -- and the
#     row left 'running' by the previous kill was closed as 'failed' as soon
#     as a later run started (rows never stay 'running' past the next run).
# The next trial's run is the rerun: it resumes from the saved cursor.
# Kill delays: one trial in five within the first 0.6 s (login, describe,
# lease, run-log row, before_run_sql), the others I + uniform(0, CRASH_WINDOW
# x D), I being the time of a run with nothing to do (a second calibration
# run); with the default window of 0.1 a run gets about a twentieth of the
# sync done, on average, before it is killed, so 20 trials spread their kills
# over a whole sync.  When a run completes before its kill, the tables are
# emptied again so that the next trial has a whole sync to interrupt.  A
# final uninterrupted run must leave the database equal to the ground truth
# (tests/lib/henk_check.py), with every earlier row closed.
#
# Settings (environment): CRASH_TRIALS (20), CRASH_CONTACTS (40000; the soak
# form, tests/soak/run.sh, syncs 300,000),
# CRASH_LEADS (500), CRASH_WINDOW (0.1), CRASH_MUTATE=1 to apply random
# changes in Salesforce before each trial (the soak form, tests/soak/run.sh),
# CRASH_SEED (random) to replay a sequence of delays.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"

TRIALS=${CRASH_TRIALS:-20}
CONTACTS=${CRASH_CONTACTS:-40000}
LEADS=${CRASH_LEADS:-500}
WINDOW=${CRASH_WINDOW:-0.1}
MUTATE=${CRASH_MUTATE:-0}
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
note "seed $SEED (CRASH_SEED=$SEED replays the delays), $TRIALS trials, $CONTACTS contacts"

fk_setup --contacts "$CONTACTS" --leads "$LEADS" --seed 3 --daily-limit 100000000
now_ms() { date +%s%3N; }

reset_tables() {
    fk_sql "TRUNCATE lead_list_members, leads; UPDATE lead_lists SET lead_count = 0;
            TRUNCATE syncengine.sync_state" >/dev/null || die "cannot empty the tables"
}

note "calibration: one uninterrupted run"
t0=$(now_ms)
fk_run
fk_expect_rc 0 "the calibration run"
D=$(( $(now_ms) - t0 ))
[ "$(fk_leads)" = $((CONTACTS + LEADS)) ] || die "the calibration run stored $(fk_leads) rows"
t0=$(now_ms)
fk_run
fk_expect_rc 0 "an idle run"
I=$(( $(now_ms) - t0 ))
note "a whole sync takes $D ms, a run with nothing to do $I ms"
reset_tables
fk_sql "TRUNCATE sync_logs, syncengine.sync_runs" >/dev/null

# Without mutations the truth never changes: fetch it once for the cursor checks.
if [ "$MUTATE" != 1 ]; then
    python3 "$top/tests/lib/cursor_check.py" --stub "$SF_org_URL" --save-truth "$T/truth.json" \
        || die "cannot fetch the ground truth"
    FK_TRUTH="$T/truth.json"
fi

# Random changes in Salesforce (soak form): updates, creations, deletions,
# undeletions and conversions of random records, some sharing one stamp.
mutate_randomly() {
    python3 - "$SF_org_URL" "$SEED-mutation-$trial" <<'PY' || die "mutation failed"
import json, random, sys, urllib.error, urllib.request
stub, seed = sys.argv[1], sys.argv[2]
r = random.Random(seed)
def get(obj):
    with urllib.request.urlopen("%s/__stub/truth?object=%s&deleted=1" % (stub, obj), timeout=300) as f:
        return json.load(f)["records"]
def pick(recs, n):
    return [x["Id"] for x in r.sample(recs, min(n, len(recs)))]
ops = []
for obj in ("Contact", "Lead"):
    recs = get(obj)
    live = [x for x in recs if not x["IsDeleted"]]
    dead = [x for x in recs if x["IsDeleted"]]
    ops.append({"op": "update", "object": obj, "ids": pick(live, r.randrange(1, 3000)),
                "set": {"Title": "T%d" % r.randrange(10**6)}, "same_stamp": r.random() < 0.3})
    ops.append({"op": "create", "object": obj, "count": r.randrange(1, 200)})
    ops.append({"op": "delete", "object": obj, "ids": pick(live, r.randrange(0, 50))})
    ops.append({"op": "undelete", "object": obj, "ids": pick(dead, r.randrange(0, 20))})
    if obj == "Lead":
        open_leads = [x for x in live if not x["IsConverted"]]
        ops.append({"op": "convert", "object": obj, "ids": pick(open_leads, r.randrange(0, 10))})
# one operation list: the ids picked for different operations may overlap, so
# apply them one by one, in order, each on its own
for op in ops:
    if "ids" in op and not op["ids"]:
        continue
    req = urllib.request.Request(stub + "/__stub/mutate", data=json.dumps([op]).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        urllib.request.urlopen(req, timeout=300).read()
    except urllib.error.HTTPError as e:
        msg = e.read().decode()
        if "eligible" not in msg:  # a record deleted by an earlier operation, say
            sys.exit("mutation %s: %s" % (op["op"], msg))
PY
}

killed=0; completed=0; resets=0; started_rows=0
prev_running=""
trial=0
while [ $trial -lt "$TRIALS" ]; do
    trial=$((trial + 1))
    if [ "$MUTATE" = 1 ]; then
        mutate_randomly
        fk_settle
    fi
    delay_ms=$(python3 -c "
import random
r = random.Random('$SEED-delay-$trial')
r1, r2 = r.random(), r.random()
print(int(r2 * 600) if r1 < 0.2 else $I + int(r2 * $D * $WINDOW))")
    rows_before=$(fk_sql "SELECT count(*) FROM sync_logs")
    echo "=== trial $trial: kill after $delay_ms ms" >>"$T/engine.log"
    $SYNCENGINE -c "$FK_CONF" --once 2>>"$T/engine.log" &
    pid=$!
    sleep "$(python3 -c "print($delay_ms / 1000)")"
    kill -KILL $pid 2>/dev/null
    rc=0
    wait $pid || rc=$?
    case $rc in
    137) killed=$((killed + 1)); what=killed ;;
    0) completed=$((completed + 1)); what=completed ;;
    *) die "trial $trial: the engine exited $rc before its kill: $(tail -n 5 "$T/engine.log")" ;;
    esac

    # a later run closed the row the previous kill left open
    rows_after=$(fk_sql "SELECT count(*) FROM sync_logs")
    if [ -n "$prev_running" ] && [ "$rows_after" -gt "$rows_before" ]; then
        st=$(fk_sql "SELECT sync_status FROM sync_logs WHERE id = '$prev_running'")
        [ "$st" = failed ] || die "trial $trial: the run killed in trial $((trial - 1)) is still '$st' after a later run started"
        prev_running=""
    fi
    open=$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'running'")
    [ "$open" -le 1 ] || die "trial $trial: $open sync_logs rows are 'running'"
    if [ "$open" = 1 ]; then
        latest=$(fk_sql "SELECT id FROM sync_logs ORDER BY started_at DESC LIMIT 1")
        prev_running=$(fk_sql "SELECT id FROM sync_logs WHERE sync_status = 'running'")
        [ "$prev_running" = "$latest" ] || die "trial $trial: a run-log row other than the latest is 'running'"
        [ $what = killed ] || die "trial $trial: a completed run left a 'running' row"
    fi
    fk_cursor_check
    stored=$(fk_leads)
    note "trial $trial: $what after $delay_ms ms; $stored rows stored"

    if [ $what = completed ] && [ "$MUTATE" != 1 ]; then
        # all synced: start over so the next kill interrupts a sync again
        fk_check
        reset_tables
        resets=$((resets + 1))
    fi
done
[ $killed -gt 0 ] || die "no trial killed a running engine"

note "final uninterrupted run"
fk_settle
fk_run
fk_expect_rc 0 "the final run"
runs=$(fk_sql "SELECT count(*) FROM sync_logs")
fk_check --runs "$runs" --summary
fk_expect_status success "the final run"
failed=$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'failed'")
[ "$failed" -le "$killed" ] || die "$failed failed runs but only $killed kills"
[ "$(fk_sql "SELECT count(*) FROM syncengine.sync_runs WHERE status = 'running'")" = 0 ] \
    || die "syncengine.sync_runs keeps 'running' rows"
for src in salesforce_contact:Contact salesforce_lead:Lead; do
    have=$(fk_sql "SELECT count(*) FROM leads WHERE source = '${src%%:*}' AND sync_status <> 'deleted'")
    want=$(sfstub_ctl "$SF_org_URL" GET "/__stub/truth?object=${src#*:}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
    [ "$have" = "$want" ] || die "${src#*:}: $have live rows, Salesforce has $want"
done
echo "ok: $TRIALS trials ($killed killed mid-run, $completed completed, $resets resets), $failed runs closed as failed; D = $D ms"
