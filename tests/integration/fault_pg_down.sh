#!/bin/sh
# fault_pg_down.sh - PostgreSQL is not running when a run starts: the run
# fails at once with a clear message naming the sink and the connection
# problem (never the password), exit 5, without touching Salesforce (no token
# or API call); when the server is back the next run syncs everything.
# docs/faults.md, row "PostgreSQL down at start".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 2000 --leads 300

pg_server_stop
fk_stats_reset
start=$(date +%s)
fk_run
fk_expect_rc 5 "a run with the database down"
[ $(( $(date +%s) - start )) -lt 30 ] || die "failing took longer than 30 s"
# the integrations to sync are read first from the same database (conf/henk.ini's tenants)
fk_log_has "sink 'henk' (\(postgres\) )?failed to open" "the message names the sink"
fk_log_has "(connection|connect|No such file|refused)" "the message says what failed"
fk_log_has "(run failed|reading the tenants failed)" "the run's outcome"
[ "$(fk_stat token_calls)" = 0 ] && [ "$(fk_stat api_calls)" = 0 ] \
    || die "Salesforce was called although the database is down"
code=0
engine status -c "$FK_CONF" >"$T/status.txt" || code=$?
[ "$code" = 5 ] || die "status exited $code after a failed run, expected 5"
grep -q "status: .*reading the tenants failed" "$T/engine.log" || die "status does not say what failed: $(tail -n 3 "$T/engine.log")"

_pg_server_start || die "the server did not start again"
[ "$(fk_sql "SELECT count(*) FROM sync_logs")" = 0 ] || die "a run-log row was written without a database"
fk_run
fk_expect_rc 0 "the run with the database back"
fk_check --runs 1
echo ok
