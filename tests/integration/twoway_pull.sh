#!/bin/sh
# twoway_pull.sh - a two-way job's pull side against the Salesforce stand-in
# and a throwaway PostgreSQL with conf/crm.sql:
#   - the two-way tables (links, conflicts, positions), when missing, are
#     created by the first run;
#   - the first run with an empty database creates one row per Account and
#     Contact, references resolved through the links (contacts.company_id is
#     the row of the contact's Account), salesforce_id and the sync state set;
#   - a Salesforce edit is pulled into exactly that row and field, without
#     bumping updated_at (the engine's writes are not application changes);
#   - an idle run writes nothing: no row is written (no row version newer than the run), no link moves;
#   - a Salesforce delete soft-deletes the row (deleted_at).
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 5 --contacts 30 --leads 0

ini="$T/crm.ini"
twoway_ini "$ini" "direction = to_database"
sql "DROP TABLE syncengine.sync_links, syncengine.sync_conflicts, syncengine.sync_twoway_state"

note "first run: everything is pulled"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
grep -q 'created the two-way tables in schema "syncengine"' "$T/run.log" || { cat "$T/run.log"; die "tables not created"; }
[ "$(sql "SELECT count(*) FROM companies")" = 5 ] || die "companies: $(sql "SELECT count(*) FROM companies")"
[ "$(sql "SELECT count(*) FROM contacts")" = 30 ] || die "contacts: $(sql "SELECT count(*) FROM contacts")"
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NULL OR salesforce_sync_status <> 'synced'")" = 0 ] ||
    die "rows without their Salesforce Id or sync state"
[ "$(sql "SELECT count(*) FROM syncengine.sync_links WHERE job = 'crm'")" = 35 ] || die "links: $(sql "SELECT count(*) FROM syncengine.sync_links")"
# every contact's company is the row of its Account
sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("%s|%s|%s|%s" % (r["Id"], r["LastName"], r["Email"] or "", r["AccountId"] or ""))' | sort >"$T/sf_contacts"
sql "SELECT c.salesforce_id || '|' || c.last_name || '|' || coalesce(c.email, '') || '|' || coalesce(a.salesforce_id, '')
     FROM contacts c LEFT JOIN companies a ON a.id = c.company_id" | sort >"$T/db_contacts"
cmp -s "$T/sf_contacts" "$T/db_contacts" || { diff "$T/sf_contacts" "$T/db_contacts" | head; die "contacts differ from Salesforce"; }
[ "$(sql "SELECT count(*) FROM contacts WHERE company_id IS NOT NULL")" -gt 0 ] || die "no contact has a company"

note "a Salesforce edit is pulled into its row"
cid=$(head -1 "$T/sf_contacts" | cut -d'|' -f1)
before=$(sql "SELECT updated_at FROM contacts WHERE salesforce_id = '$cid'")
sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$cid\"], \"set\": {\"Title\": \"Chief Pull Officer\"}}]" >/dev/null
tw_settle
x0=$(tw_xid)
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "second run exited $rc"; }
[ "$(sql "SELECT title FROM contacts WHERE salesforce_id = '$cid'")" = "Chief Pull Officer" ] || die "the edit was not pulled"
[ "$(sql "SELECT updated_at FROM contacts WHERE salesforce_id = '$cid'")" = "$before" ] || die "the engine's write bumped updated_at"
[ "$(tw_written "$x0" contacts)" = 1 ] || die "expected 1 row updated, $(tw_written "$x0" contacts)"

note "an idle run writes nothing"
tw_settle
links0=$(sql "SELECT max(synced_at) FROM syncengine.sync_links")
x1=$(tw_xid)
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
[ "$(tw_written "$x1")" = 0 ] || die "idle run wrote $(tw_written "$x1") rows"
[ "$(sql "SELECT max(synced_at) FROM syncengine.sync_links")" = "$links0" ] || die "idle run moved links"
grep -q "0 written to the table, 0 to Salesforce" "$T/run.log" || { cat "$T/run.log"; die "idle run reports writes"; }

note "a Salesforce delete soft-deletes the row"
sf POST /__stub/mutate "[{\"op\": \"delete\", \"object\": \"Contact\", \"ids\": [\"$cid\"]}]" >/dev/null
tw_settle
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "delete run exited $rc"; }
[ "$(sql "SELECT deleted_at IS NOT NULL FROM contacts WHERE salesforce_id = '$cid'")" = t ] || die "row not soft-deleted"
[ "$(sql "SELECT count(*) FROM contacts WHERE deleted_at IS NOT NULL")" = 1 ] || die "other rows deleted"
echo "ok"
