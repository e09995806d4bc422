#!/bin/sh
# fault_pg_restart.sh - PostgreSQL restarts (fast shutdown: every session is
# terminated) while a run is writing.  The sink returns the batch that was
# not committed as retryable, the engine tries it again after its backoff
# (job option write_attempts) and the retried call reconnects; the run ends with a completed
# run-log row and the next run leaves nothing missing.  The advisory-lock
# lease went with the old session: the run must not lose data for it.
# docs/faults.md, row "PostgreSQL restarted mid-run".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 4000 --leads 300

# pages answered slowly so the run is surely writing when the server goes
fk_faults '[{"match": "next", "after": 2, "times": -1, "kind": "slow", "delay": 0.25}]'
fk_runs=$((fk_runs + 1))
$SYNCENGINE -c "$FK_CONF" --once 2>"$T/run.log" &
pid=$!
at_exit "kill $pid 2>/dev/null"
i=0
until [ "$(fk_leads 2>/dev/null || echo 0)" -ge 800 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && die "the run stored nothing in 30 s: $(tail -n 5 "$T/run.log")"
    sleep 0.1
done
note "restarting PostgreSQL with $(fk_leads) rows stored"
pg_restart || die "the server did not come back"
rc=0
wait $pid || rc=$?
cat "$T/run.log" >>"$T/engine.log"
fk_nofaults
grep -Eiq "reconnect|connection|terminat" "$T/run.log" || die "nothing in the log about the lost connection: $(tail -n 5 "$T/run.log")"
case $rc in
0)  note "the run reconnected and completed"
    fk_expect_status success "the run across the restart"
    fk_check --runs 1 ;;
5)  note "the run failed after the restart: $(grep -E ' error ' "$T/run.log" | tail -n 1 | cut -c1-300)"
    fk_log_has "run failed" "the failed run"
    fk_cursor_check ;;
*)  die "the run across the restart exited $rc: $(tail -n 5 "$T/run.log")" ;;
esac
[ "$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'running'")" = 0 ] || \
    note "the run-log row of the interrupted run is still 'running'"

note "the next run completes"
fk_run
fk_expect_rc 0 "the run after the restart"
fk_check --runs "$(fk_sql "SELECT count(*) FROM sync_logs")"
fk_expect_status success "the run after the restart"
[ $rc = 0 ] || die "the run across the restart failed (exit $rc) instead of reconnecting"
echo ok
