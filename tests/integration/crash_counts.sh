#!/bin/sh
# crash_counts.sh - the run-log row of a killed run tells what its committed
# batches did (issue 14, item 8).
#
# A run is killed with SIGKILL mid-way (slow stand-in pages; no chance to
# write its end).  Each batch's counts were committed with the batch (one
# progress row per run and stream), so when the next run closes the killed
# run's row as failed, the row gets those counts: records_created equals the
# rows the killed run stored (the tables were empty), and so does
# syncengine.sync_runs.inserted.  The next run completes and the data is exact.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 4000 --leads 600

fk_faults '[{"match": "next", "after": 2, "times": -1, "kind": "slow", "delay": 0.2}]'
$SYNCENGINE -c "$FK_CONF" --once 2>"$T/killed.log" &
pid=$!
at_exit "kill -KILL $pid 2>/dev/null"
i=0
until [ "$(fk_leads 2>/dev/null || echo 0)" -ge 1000 ]; do
    i=$((i + 1)); [ $i -gt 300 ] && die "the run stored nothing in 30 s: $(tail -n 5 "$T/killed.log")"
    sleep 0.1
done
kill -KILL $pid
wait $pid 2>/dev/null
cat "$T/killed.log" >>"$T/engine.log"
stored=$(fk_leads)
killed=$(fk_sql "SELECT id FROM sync_logs WHERE sync_status = 'running'")
[ -n "$killed" ] || die "the killed run left no running row"
note "killed with $stored rows stored"
fk_nofaults

fk_run
fk_expect_rc 0 "the run after the kill"
row=$(fk_sql "SELECT sync_status, records_created, records_processed, records_failed FROM sync_logs WHERE id = '$killed'")
note "the killed run's row: $row"
status=${row%%|*}
created=$(echo "$row" | cut -d'|' -f2)
processed=$(echo "$row" | cut -d'|' -f3)
[ "$status" = failed ] || die "the killed run's row is '$status', expected failed"
[ "$created" = "$stored" ] || die "the killed run's row says $created created, $stored rows were stored"
[ "$processed" -ge "$stored" ] || die "the killed run's row says $processed processed, fewer than the $stored stored"
ins=$(fk_sql "SELECT inserted FROM syncengine.sync_runs r WHERE status = 'failed'")
[ "$ins" = "$stored" ] || die "syncengine.sync_runs says $ins inserted for the killed run, $stored were stored"
[ "$(fk_sql "SELECT count(*) FROM syncengine.sync_progress")" = 0 ] || die "progress rows outlive their runs"
fk_check --runs 2
echo "ok: the killed run's row counts $created created ($stored stored)"
