#!/bin/sh
# twoway_setup.sh - a two-way job as a role with row privileges only:
#   - `setup --print` shows the two-way tables (syncengine.sync_links,
#     sync_conflicts, sync_twoway_state) without connecting;
#   - `setup` as the owner creates them (twice: idempotent), besides the
#     sink's own tables;
#   - with DML grants only (no CREATE anywhere), the restricted role runs the
#     two-way job: rows pushed, records pulled, links written, and it owns
#     no table.
# The application's schema is conf/crm.sql without its two-way tables (an
# application that leaves the engine's tables to the engine).
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 2 --contacts 3 --leads 0

sql "DROP TABLE syncengine.sync_links, syncengine.sync_conflicts, syncengine.sync_twoway_state" >/dev/null
sql "CREATE ROLE crm_sync LOGIN;
     GRANT SELECT, INSERT, UPDATE, DELETE ON companies, contacts, opportunities, sync_logs TO crm_sync" >/dev/null ||
    die "cannot create the restricted role"
[ "$(sql "SELECT has_database_privilege('crm_sync', current_database(), 'CREATE')
          OR has_schema_privilege('crm_sync', 'public', 'CREATE')")" = f ] || die "the role may create"
RESTRICTED="postgresql://crm_sync@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT"
OWNER=$DATABASE_URL
sql "INSERT INTO contacts (first_name, last_name, email) VALUES ('Ann', 'Lee', 'ann@setup.example')"
ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"

note "setup --print connects to nothing and shows the two-way tables"
DATABASE_URL="postgresql://nobody@127.0.0.1:1/none" $SYNCENGINE setup -c "$ini" --print >"$T/ddl.sql" 2>>"$T/engine.log" ||
    die "setup --print failed: $(tail -n 3 "$T/engine.log")"
for t in sync_links sync_conflicts sync_twoway_state; do
    grep -q "^CREATE TABLE IF NOT EXISTS syncengine.$t (" "$T/ddl.sql" || die "the DDL lacks $t: $(cat "$T/ddl.sql")"
done
[ "$(sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'syncengine' AND tablename LIKE 'sync_%'")" = 0 ] ||
    die "setup --print created tables"

note "setup as the owner, twice"
for i in 1 2; do
    DATABASE_URL=$OWNER $SYNCENGINE setup -c "$ini" >"$T/setup.out" 2>>"$T/engine.log" ||
        die "setup $i failed: $(tail -n 3 "$T/engine.log")"
    grep -q "^two-way job 'crm' (sink 'crm'): its tables are in place" "$T/setup.out" || die "setup said: $(cat "$T/setup.out")"
done
[ "$(sql "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'syncengine'
          AND tablename IN ('sync_links', 'sync_conflicts', 'sync_twoway_state')")" = "sync_conflicts,sync_links,sync_twoway_state" ] ||
    die "setup did not create the two-way tables"
sql "GRANT USAGE ON SCHEMA syncengine TO crm_sync;
     GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA syncengine TO crm_sync;
     GRANT USAGE ON ALL SEQUENCES IN SCHEMA syncengine TO crm_sync" >/dev/null
[ "$(sql "SELECT has_schema_privilege('crm_sync', 'syncengine', 'CREATE')")" = f ] || die "the role may create in syncengine"

note "the restricted role runs the two-way job"
DATABASE_URL=$RESTRICTED twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run as the restricted role exited $rc"; }
[ "$(sql "SELECT count(*) FROM companies WHERE salesforce_id IS NOT NULL")|$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL")" = "2|4" ] ||
    die "synced: $(sql "SELECT count(*) FROM companies")|$(sql "SELECT count(*) FROM contacts")"
[ "$(sql "SELECT count(*) FROM syncengine.sync_links WHERE job = 'crm'")" = 6 ] || die "links: $(sql "SELECT count(*) FROM syncengine.sync_links")"
[ "$(sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["records"] if r["Email"] == "ann@setup.example"))')" = 1 ] || die "ann was not pushed"
[ "$(sql "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
          WHERE r.rolname = 'crm_sync' AND c.relpersistence <> 't'")" = 0 ] || die "the restricted role owns a table"
grep -q "created the two-way tables" "$T/engine.log" && die "a run created the two-way tables"
echo "ok"
