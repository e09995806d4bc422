#!/bin/sh
# twoway_echo.sh - echo suppression: what the engine wrote to one side is
# never read back as a change and sent again (conf/crm.sql schema, the
# stand-in).  A first sync with data on both sides (pulled Accounts and
# Contacts, pushed rows), then edits on both sides (pulled, pushed, merged),
# then two idle runs: each reads the engine's own writes back (Salesforce's
# SystemModstamps moved, rows inside the settle window) and writes nothing
# on either side -- the stand-in's write counter, pg_stat_user_tables'
# inserted and updated tuples, and the links stay as they were; nor does a
# --full-refresh run, which reads every record and row again.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 4 --contacts 25 --leads 0

sql "INSERT INTO companies (name, city) VALUES ('Echo Works', 'Gouda')"
sql "INSERT INTO contacts (first_name, last_name, email, company_id)
     SELECT 'E' || g, 'Echo' || g, 'e' || g || '@echo.example', (SELECT id FROM companies) FROM generate_series(1, 5) g"
ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL")" = 30 ] || die "first sync: $(sql "SELECT count(*) FROM contacts")"

note "edits on both sides go across"
sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"count\": 3, \"set\": {\"Title\": \"Pulled\"}}]" >/dev/null
sql "UPDATE contacts SET phone = '+31 182 000' WHERE email LIKE 'e%@echo.example'"
tw_settle
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "edit run exited $rc"; }
[ "$(sql "SELECT count(*) FROM contacts WHERE title = 'Pulled'")" = 3 ] || die "Salesforce's edits not pulled"
pushed=$(sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["records"] if r["Phone"] == "+31 182 000"))')
[ "$pushed" = 5 ] || die "the rows' edits reached $pushed records"

# Salesforce's write counter, and the rows written in the tables and the links since transaction $x0
counters() {
    echo "$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')" \
         "$(tw_written "$x0" companies contacts syncengine.sync_links syncengine.sync_conflicts)" \
         "$(sql "SELECT max(synced_at) FROM syncengine.sync_links")"
}
note "idle runs write nothing on either side"
tw_settle
x0=$(tw_xid)
before=$(counters)
for i in 1 2; do
    twoway_run "$ini"
    [ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run $i exited $rc"; }
    grep -q "stream=contacts.*done: [0-9]* read from Salesforce, [0-9]* from the table; 0 written to the table, 0 to Salesforce" "$T/run.log" ||
        { cat "$T/run.log"; die "idle run $i reports writes"; }
    # the first one reads the engine's own writes back: the 5 records it pushed to
    n=$(sed -n 's/.*stream=contacts .*done: \([0-9]*\) read from Salesforce.*/\1/p' "$T/run.log")
    [ $i -eq 2 ] || [ "$n" -ge 5 ] || { cat "$T/run.log"; die "the first idle run read $n records back, not the echoes"; }
done
after=$(counters)
[ "$after" = "$before" ] || die "idle runs wrote: before '$before', after '$after'"

note "a full refresh reads everything on both sides again and writes nothing"
twoway_run "$ini" --full-refresh
[ $rc -eq 0 ] || { cat "$T/run.log"; die "full refresh exited $rc"; }
grep -q "stream=contacts.*done: 30 read from Salesforce, 30 from the table; 0 written to the table, 0 to Salesforce" "$T/run.log" ||
    { cat "$T/run.log"; die "the full refresh did not read everything, or wrote"; }
after=$(counters)
[ "$after" = "$before" ] || die "the full refresh wrote: before '$before', after '$after'"
echo "ok"
