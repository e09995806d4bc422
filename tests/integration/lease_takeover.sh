#!/bin/sh
# lease_takeover.sh - a job never runs twice at once, even across a database
# restart (issue 14, item 1).
#
# Engine A is mid-run (slow stand-in pages) when PostgreSQL restarts: the
# server session that stood for A's lease is gone, so engine B, started while
# A is frozen (SIGSTOP) across the restart, takes the job (the lease row's
# epoch goes up).  A's connections come
# back, but every transaction checks the epoch first: A writes nothing more,
# its run ends failed saying who took the job, and it does not overwrite the
# run-log rows.  A statement trigger on `leads` records which engine
# (application_name) wrote when; no write of A may belong to a transaction
# that began after B took the lease.  Both streams are big enough that both
# of A's stream workers (parallel_streams = 2, a connection each) are
# writing when the server goes.  B completes, no two `success` rows of
# the run log overlap in time, and the data is exact.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 2500 --leads 2500

fk_sql "CREATE TABLE write_audit (app text, xact_at timestamptz);
        CREATE FUNCTION write_audit() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN INSERT INTO write_audit VALUES (current_setting('application_name'), now()); RETURN NULL; END\$\$;
        CREATE TRIGGER leads_write_audit AFTER INSERT OR UPDATE ON leads
        FOR EACH STATEMENT EXECUTE FUNCTION write_audit()" >/dev/null || die "cannot add the audit trigger"
sed 's/^application_name = .*/application_name = engine-a/' "$FK_CONF" >"$T/a.ini"
sed 's/^application_name = .*/application_name = engine-b/' "$FK_CONF" >"$T/b.ini"
grep -q "engine-a" "$T/a.ini" || die "the sink section has no application_name to change"

# pages answered slowly so that A is surely writing when the server goes
fk_faults '[{"match": "next", "after": 2, "times": -1, "kind": "slow", "delay": 0.25}]'
$SYNCENGINE -c "$T/a.ini" --once 2>"$T/a.log" &
apid=$!
at_exit "kill -CONT $apid 2>/dev/null; kill $apid 2>/dev/null"
i=0
until [ "$(fk_leads 2>/dev/null || echo 0)" -ge 800 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && die "engine A stored nothing in 30 s: $(tail -n 5 "$T/a.log")"
    sleep 0.1
done
# A is frozen across the restart, so that B surely comes first: the issue's
# race, made certain (A's connections are gone when it wakes up)
kill -STOP $apid
note "restarting PostgreSQL with $(fk_leads) rows stored by A (A frozen)"
pg_restart || die "the server did not come back"

note "engine B starts the job"
brc=0
( $SYNCENGINE -c "$T/b.ini" --once 2>"$T/b.log" || echo $? >"$T/b.rc" ) &
bpid=$!
i=0
until [ "$(fk_sql "SELECT count(*) FROM sync_logs" 2>/dev/null || echo 0)" -ge 2 ]; do
    i=$((i + 1)); [ $i -gt 200 ] && { kill -CONT $apid; die "engine B did not start its run: $(tail -n 5 "$T/b.log")"; }
    sleep 0.1
done
note "B's run started; A wakes up"
kill -CONT $apid
wait $bpid
[ -f "$T/b.rc" ] && brc=$(cat "$T/b.rc")
arc=0
wait $apid || arc=$?
cat "$T/a.log" "$T/b.log" >>"$T/engine.log"
fk_nofaults
[ $brc = 0 ] || die "engine B exited $brc: $(tail -n 5 "$T/b.log")"
grep -q "skipped" "$T/b.log" && die "engine B skipped the job: A's lease outlived its server session"

# when B took the lease; before the fix there is no lease row: B's run start bounds it
taken=$(fk_sql "SELECT acquired_at FROM syncengine.sync_leases WHERE job = 'salesforce@$FK_INT'" 2>/dev/null || true)
[ -n "$taken" ] || taken=$(fk_sql "SELECT max(started_at) FROM sync_logs")
note "B took the job at $taken; A exited $arc"
late=$(fk_sql "SELECT count(*) FROM write_audit WHERE app = 'engine-a' AND xact_at >= '$taken'")
[ "$late" = 0 ] || die "engine A wrote $late time(s) in transactions that began after B took the lease"
[ "$(fk_sql "SELECT count(*) FROM write_audit WHERE app = 'engine-b'")" -gt 0 ] || die "engine B wrote nothing"

[ $arc = 5 ] || die "engine A exited $arc, expected 5 (its run failed): $(tail -n 5 "$T/a.log")"
grep -q "lease lost: job \"salesforce@$FK_INT\" was taken over by" "$T/a.log" \
    || die "engine A's log does not say that it lost the lease: $(grep -E ' error ' "$T/a.log" | tail -n 3)"
grep -Eq 'run failed in .*lease lost' "$T/a.log" || die "A's run did not end failed with the reason: $(tail -n 3 "$T/a.log")"

overlap=$(fk_sql "SELECT count(*) FROM sync_logs x JOIN sync_logs y ON x.id < y.id
                  WHERE x.sync_status = 'success' AND y.sync_status = 'success'
                    AND x.started_at < y.completed_at AND y.started_at < x.completed_at")
[ "$overlap" = 0 ] || die "$overlap pairs of 'success' run-log rows overlap in time"
[ "$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'success'")" = 1 ] \
    || die "expected one success row (B's): $(fk_sql "SELECT sync_status, error_message FROM sync_logs")"
[ "$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'running'")" = 0 ] || die "a run-log row is left running"
fk_runs=2
fk_check --runs 2
echo "ok: A failed with the lease lost, B ran the job; nothing of A after $taken"
