#!/bin/sh
# pg_pooler.sh - the Henk sync through a real PgBouncer, in pool_mode
# transaction and session (issue 14, item 11).
#
# Through a transaction-mode pooler each transaction may run on any server
# session, and several clients' transactions share one: the sink keeps no
# state beyond a transaction (staging tables and sync_affected are ON COMMIT
# DROP, statement_timeout is SET LOCAL, the lease is a row).  With a pool of
# two server connections for six clients, two engines start the job at the
# same moment, twice (a first load, then changes): every run succeeds or is
# skipped, the job never runs on both at once (statement triggers on `leads`
# record which engine wrote when; the two engines' write spans and their
# `success` rows never overlap), and the data equals Salesforce's.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
. "$top/tests/lib/pgbouncer.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 3000 --leads 400

fk_sql "CREATE TABLE write_audit (app text, xact_at timestamptz);
        CREATE FUNCTION write_audit() RETURNS trigger LANGUAGE plpgsql AS
        \$\$BEGIN INSERT INTO write_audit VALUES (current_setting('application_name'), now()); RETURN NULL; END\$\$;
        CREATE TRIGGER leads_write_audit AFTER INSERT OR UPDATE ON leads
        FOR EACH STATEMENT EXECUTE FUNCTION write_audit()" >/dev/null || die "cannot add the audit trigger"
sed 's/^application_name = .*/application_name = engine-a/' "$FK_CONF" >"$T/a.ini"
sed 's/^application_name = .*/application_name = engine-b/' "$FK_CONF" >"$T/b.ini"

# two engines at once, through the pooler; both must end 0
both() { # what
    fk_sql "TRUNCATE write_audit" >/dev/null
    arc=0; brc=0
    DATABASE_URL=$PGB_URL $SYNCENGINE -c "$T/a.ini" --once 2>"$T/a.log" &
    apid=$!
    DATABASE_URL=$PGB_URL $SYNCENGINE -c "$T/b.ini" --once 2>"$T/b.log" || brc=$?
    wait $apid || arc=$?
    cat "$T/a.log" "$T/b.log" >>"$T/engine.log"
    [ $arc = 0 ] || die "$1: engine A exited $arc: $(grep -E ' error ' "$T/a.log" | tail -n 3)"
    [ $brc = 0 ] || die "$1: engine B exited $brc: $(grep -E ' error ' "$T/b.log" | tail -n 3)"
    # the write spans of the two engines are disjoint
    ov=$(fk_sql "SELECT count(*) FROM
                   (SELECT min(xact_at) lo, max(xact_at) hi FROM write_audit WHERE app = 'engine-a') a,
                   (SELECT min(xact_at) lo, max(xact_at) hi FROM write_audit WHERE app = 'engine-b') b
                 WHERE a.lo <= b.hi AND b.lo <= a.hi")
    [ "$ov" = 0 ] || die "$1: both engines wrote at the same time: $(fk_sql "SELECT app, min(xact_at), max(xact_at) FROM write_audit GROUP BY app")"
    ov=$(fk_sql "SELECT count(*) FROM sync_logs x JOIN sync_logs y ON x.id < y.id
                  WHERE x.sync_status = 'success' AND y.sync_status = 'success'
                    AND x.started_at < y.completed_at AND y.started_at < x.completed_at")
    [ "$ov" = 0 ] || die "$1: two 'success' run-log rows overlap in time"
    skipped=$(cat "$T/a.log" "$T/b.log" | grep -c "skipped" || true)
    fk_check --runs "$(fk_sql "SELECT count(*) FROM sync_logs")"
    note "$1: both engines exited 0, $skipped skipped, data exact"
}

for mode in transaction session; do
    pool=2
    [ $mode = session ] && pool=12   # a session holds its server connection: one each
    pgb_start $mode $pool || exit $?
    note "pool_mode = $mode (default_pool_size = $pool)"
    fk_sql "TRUNCATE lead_list_members, leads, sync_logs CASCADE; UPDATE lead_lists SET lead_count = 0;
            DROP SCHEMA IF EXISTS syncengine CASCADE" >/dev/null
    both "$mode: first load"
    fk_touch_all
    both "$mode: every record changed"
    pgb_stop
done
echo ok
