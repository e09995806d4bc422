#!/bin/sh
# pg_least_privilege.sh - the Henk sync as a role with row privileges only
# (issue 14, item 12).
#
# On PostgreSQL 15 a careful operator grants SELECT, INSERT, UPDATE, DELETE on
# the Henk tables (conf/henk.sql) and no CREATE.  Before the engine's own
# tables exist, a run as that role fails naming the missing privilege and the
# fix (`syncengine setup`), never "authentication failed".  `setup --print`
# prints the statements without connecting; `setup` as the owner creates the
# tables (twice: idempotent); with the grants docs/security.md lists, the
# restricted role then runs the sync, and the data is exact.  A grant taken
# away again is named in the error, with the role.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
fk_setup --contacts 800 --leads 200

fk_sql "CREATE ROLE henk_sync LOGIN;
        GRANT SELECT, INSERT, UPDATE, DELETE ON businesses, integrations, leads, lead_lists, lead_list_members,
              sync_logs TO henk_sync" >/dev/null || die "cannot create the restricted role"
[ "$(fk_sql "SELECT has_database_privilege('henk_sync', current_database(), 'CREATE')
             OR has_schema_privilege('henk_sync', 'public', 'CREATE')")" = f ] || die "the role may create"
RESTRICTED="postgresql://henk_sync@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT"
OWNER=$DATABASE_URL

note "before setup, as the restricted role"
DATABASE_URL=$RESTRICTED fk_run
[ "$fk_rc" != 0 ] || die "a run without the engine's tables succeeded"
grep -q "authentication failed" "$T/run.log" && die "a missing privilege was reported as an authentication failure: $(grep -m1 'authentication failed' "$T/run.log")"
fk_log_has 'role "henk_sync" may not create them.*syncengine setup' "the error names the privilege and the fix"

note "setup --print connects to nothing"
DATABASE_URL="postgresql://nobody@127.0.0.1:1/none" $SYNCENGINE setup -c "$FK_CONF" --print >"$T/ddl.sql" 2>>"$T/engine.log" \
    || die "setup --print failed: $(tail -n 3 "$T/engine.log")"
grep -q 'CREATE TABLE IF NOT EXISTS "syncengine"."sync_leases"' "$T/ddl.sql" || die "the DDL lacks the leases table: $(cat "$T/ddl.sql")"
grep -q 'CREATE TABLE IF NOT EXISTS "syncengine"."sync_progress"' "$T/ddl.sql" || die "the DDL lacks the progress table"

note "setup as the owner, twice"
for i in 1 2; do
    DATABASE_URL=$OWNER $SYNCENGINE setup -c "$FK_CONF" >"$T/setup.out" 2>>"$T/engine.log" \
        || die "setup $i failed: $(tail -n 3 "$T/engine.log")"
    grep -q "its tables are in place" "$T/setup.out" || die "setup said: $(cat "$T/setup.out")"
done
# the grants docs/security.md lists for the engine's schema
fk_sql "GRANT USAGE ON SCHEMA syncengine TO henk_sync;
        GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA syncengine TO henk_sync" >/dev/null

note "the restricted role runs the sync"
DATABASE_URL=$RESTRICTED fk_run
fk_expect_rc 0 "the run as the restricted role"
fk_check --runs 1
[ "$(fk_sql "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
             WHERE r.rolname = 'henk_sync' AND c.relpersistence <> 't'")" = 0 ] || die "the restricted role owns a table"

note "a privilege taken away is named"
fk_sql "REVOKE UPDATE ON syncengine.sync_leases FROM henk_sync" >/dev/null
fk_touch_all
DATABASE_URL=$RESTRICTED fk_run
[ "$fk_rc" != 0 ] || die "a run without UPDATE on the leases table succeeded"
grep -q "authentication failed" "$T/run.log" && die "reported as an authentication failure: $(grep -m1 'authentication failed' "$T/run.log")"
fk_log_has 'permission denied for table sync_leases.*role "henk_sync" needs that privilege' "the missing grant is named"
echo ok
