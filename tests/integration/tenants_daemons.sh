#!/bin/sh
# Three daemons on one database share 30 tenants (TENANTS_N; `make soak` runs
# 300) of conf/henk.ini's [tenants salesforce], each tenant every 15 s, through the sink's leases, one per
# salesforce@<id>: every tenant is served, no tenant's runs overlap, every
# daemon does its share; a daemon killed with SIGKILL loses nothing and the
# other two serve its tenants in the next cycle.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
N=${TENANTS_N:-30}
# a cycle of N tenants takes longer with more of them: two seconds each at most, two minutes at least
W=$((N * 2 > 120 ? N * 2 : 120))
tenants_setup $N --org-records 10
k=1; while [ $k -le $N ]; do tenant_add $k 0.25; k=$((k + 1)); done
# two runs at a time per daemon, one stream at a time: the test cluster allows 40 connections
sed -e 's/^max_jobs = .*/max_jobs = 2/' -e 's/^parallel_streams = .*/parallel_streams = 1/' \
    -e '/^include = /d' "$top/conf/henk.ini" >"$T/henk.ini"

for d in a b c; do
    SYNCENGINE_STATE_DIR="$T/state-$d" $SYNCENGINE -c "$T/henk.ini" --run-at-start 2>"$T/$d.log" &
    eval "pid_$d=$!"
    at_exit "kill \$pid_$d 2>/dev/null; wait \$pid_$d 2>/dev/null"
done

served() { # every tenant has a successful run (that started after $1, a timestamp)
    n=$(psql -X -A -t -c "SELECT count(DISTINCT integration_id) FROM sync_logs
                          WHERE sync_status = 'success' AND started_at > '$1'")
    [ "$n" = $N ]
}
note "every tenant served by the three daemons"
t0=$(psql -X -A -t -c "SELECT now() - interval '1 hour'")
wait_for $W "every tenant synced" served "$t0"
for k in 1 $((N / 2)) $N; do [ "$(tenant_leads $k)" = 10 ] || die "tenant $k has $(tenant_leads $k) leads"; done
for d in a b c; do
    grep -q "run success" "$T/$d.log" || die "daemon $d ran nothing"
done

# a run holds its tenant's lease from its run-log row's insert (created_at; started_at is
# the run's start, before it asks for the lease) to its completion
overlaps() {
    psql -X -A -t -c "SELECT count(*) FROM sync_logs x JOIN sync_logs y ON x.integration_id = y.integration_id
                      AND x.id < y.id AND x.created_at < coalesce(y.completed_at, now())
                      AND y.created_at < coalesce(x.completed_at, now())
                      WHERE x.sync_status <> 'running' AND y.sync_status <> 'running'"
}
[ "$(overlaps)" = 0 ] || die "$(overlaps) pairs of runs of one tenant overlapped"

note "daemon a killed with SIGKILL: b and c serve its tenants"
# kill it while it runs something
wait_for 30 "daemon a running a tenant" sh -c "tail -n 3 '$T/a.log' | grep -q 'run started'"
kill -KILL $pid_a
t1=$(psql -X -A -t -c "SELECT now()")
wait_for $W "every tenant synced again after the kill" served "$t1"
[ "$(overlaps)" = 0 ] || die "$(overlaps) pairs of runs of one tenant overlapped"
for d in b c; do kill -TERM $(eval echo \$pid_$d); done
for d in b c; do wait $(eval echo \$pid_$d) || die "daemon $d exited $?"; done
runs=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE sync_status = 'success'")
echo "ok: $N tenants, 3 daemons, $runs runs, no overlap; a killed daemon's tenants taken over"
