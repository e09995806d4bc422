#!/bin/sh
# Scheduling for many (conf/henk.ini's [tenants salesforce]), one daemon:
# (a) behind, least recently synced first: three tenants every 3 s, each run
#     about 2 s (their orgs answer late), max_jobs = 1, so all three are
#     always due and only one may run; the one whose last run started longest
#     ago goes next, so the starts go round (1 2 3 1 2 3 ..., in some order)
#     and none is starved (first-in-the-list would run two and starve one);
# (b) an overrunning tenant does not pile up runs: tenant 4 every 3 s, its
#     first run about 7.5 s (its org answers six requests late); no second
#     run of it starts while one runs, and afterwards its runs stay on its
#     3-second slots (no run queued for the end of the long one, no burst of
#     catch-up runs for the missed slots).
# Prints the order of the starts and the gaps between tenant 4's runs.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 4
for k in 1 2 3 4; do tenant_add $k 0.05; done
psql -X -q -c "UPDATE integrations SET config = config || '{\"syncEnabled\": false}' WHERE id = '$(tenant_int 4)'"
sed -e 's/^max_jobs = .*/max_jobs = 1/' -e '/^include = /d' "$top/conf/henk.ini" >"$T/henk1.ini"
grep -q '^max_jobs = 1$' "$T/henk1.ini" || die "no max_jobs in conf/henk.ini"
# starts of integration K's runs, in s since the epoch, oldest first
starts() {
    psql -X -A -t -c "SELECT round(extract(epoch FROM started_at)::numeric, 3) FROM sync_logs
                      WHERE integration_id = '$(tenant_int "$1")' ORDER BY started_at"
}

note "(a) three tenants due every 3 s, runs of ~2 s, one run at a time"
sfstub_ctl "$SF_org_URL" POST /__stub/faults '{"faults":[{"match":"any","times":-1,"kind":"slow","delay":0.6}]}' >/dev/null
$SYNCENGINE -c "$T/henk1.ini" --run-at-start 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
# until seven runs have started (about 20 s; longer on a busy machine, whose
# runs are slower: the order is what is checked, not the pace)
i=0
while [ "$(psql -X -A -t -c "SELECT count(*) FROM sync_logs")" -lt 7 ] && [ $i -lt 120 ]; do
    sleep 0.5; i=$((i + 1))
done
kill -TERM $pid; wait $pid || die "the daemon exited $? (log: $(tail -n 5 "$T/engine.log"))"
# the tenants' numbers in the order their runs started
seq=$(psql -X -A -t -c "SELECT right(integration_id::text, 1) FROM sync_logs ORDER BY started_at" | tr '\n' ' ')
ov=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs x, sync_logs y WHERE x.id < y.id
                       AND x.started_at < y.completed_at AND y.started_at < x.completed_at")
dur=$(psql -X -A -t -c "SELECT round(avg(duration_ms)) FROM sync_logs")
echo "(a) starts in order: $seq(runs of ${dur} ms on average)"
[ "$ov" = 0 ] || die "$ov pairs of runs overlapped with max_jobs = 1"
[ "$dur" -ge 1600 ] || die "runs of ${dur} ms: the tenants were not behind"
set -- $seq
[ $# -ge 6 ] || die "only $# runs in 60 s"
# round robin: from the fourth start on, each is the tenant that started three before
i=4; while [ $i -le $# ]; do
    eval "x=\${$i} p=\${$((i - 3))}"
    [ "$x" = "$p" ] || die "the starts did not go round: start $i was tenant $x, not $p (order: $seq)"
    i=$((i + 1))
done
for k in 1 2 3; do
    [ "$(tenant_runs $k)" -ge 2 ] || die "tenant $k ran $(tenant_runs $k) time(s) in $# runs: starved (order: $seq)"
done

note "(b) tenant 4 every 3 s, its first run ~7.5 s (six requests 1.25 s late)"
sfstub_ctl "$SF_org_URL" DELETE /__stub/faults >/dev/null
psql -X -q -c "UPDATE integrations SET config = config || jsonb_build_object('syncEnabled', id = '$(tenant_int 4)')"
sed -e 's/^max_jobs = .*/max_jobs = 4/' -e '/^include = /d' "$top/conf/henk.ini" >"$T/henk4.ini"
sfstub_ctl "$SF_org_URL" POST /__stub/faults \
    "{\"faults\":[{\"match\":\"any\",\"org\":\"$(tenant_org 4)\",\"times\":6,\"kind\":\"slow\",\"delay\":1.25}]}" >/dev/null
echo "--- (b)" >>"$T/engine.log"
$SYNCENGINE -c "$T/henk4.ini" 2>>"$T/engine.log" &
pid=$!
at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
log4() { sed -n '/^--- (b)$/,$p' "$T/engine.log" | grep "job=salesforce@$(tenant_int 4) run="; }

wait_for 20 "tenant 4's first run ended" eval 'log4 | grep -q "run success"'
sleep 10
kill -TERM $pid; wait $pid || die "the daemon exited $? (log: $(tail -n 5 "$T/engine.log"))"
first=$(psql -X -A -t -c "SELECT duration_ms FROM sync_logs WHERE integration_id = '$(tenant_int 4)' ORDER BY started_at LIMIT 1")
ov=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs x, sync_logs y WHERE x.id < y.id
                       AND x.integration_id = '$(tenant_int 4)' AND y.integration_id = '$(tenant_int 4)'
                       AND x.started_at < y.completed_at AND y.started_at < x.completed_at")
skipped=$(sed -n '/^--- (b)$/,$p' "$T/engine.log" | grep -c "job=salesforce@$(tenant_int 4)\].*previous run still going; this slot is skipped")
# gaps between consecutive starts, and each start's distance from the last start's slots
gaps=$(starts 4 | awk 'NR > 1 { printf "%.2f ", $1 - p } { p = $1 }')
echo "(b) first run ${first} ms, ${skipped} slot(s) skipped while it ran; gaps between starts (s): $gaps"
[ "$first" -ge 4500 ] || die "the first run took ${first} ms: it did not overrun its 3 s interval"
[ "$ov" = 0 ] || die "$ov pairs of tenant 4's runs overlapped"
[ "$skipped" -ge 1 ] || die "no slot was skipped while the first run went on"
set -- $gaps
[ $# -ge 2 ] || die "only $(( $# + 1 )) run(s) of tenant 4"
for g in "$@"; do
    # on the 3 s slots: a multiple of 3 s (within 0.25 s), and never two in one slot
    awk -v g="$g" 'BEGIN { r = g - 3 * int(g / 3 + 0.5); exit !(g > 2.6 && r < 0.25 && r > -0.25) }' ||
        die "a start ${g} s after the previous one: not on the tenant's 3 s slots (gaps: $gaps)"
done
echo "ok: behind, the least recently synced goes first; an overrunning tenant neither piles up nor bursts"
