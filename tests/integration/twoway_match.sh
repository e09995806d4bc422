#!/bin/sh
# twoway_match.sh - the first sync of a two-way job with data on both sides
# (conf/crm.sql schema, the stand-in): records are paired by the match
# column before anything is created:
#   - a company and a contact that exist on both sides (the name and the
#     email compared trimmed and case-insensitive) are linked, not duplicated;
#   - a record only in Salesforce becomes a row, a row only in the table a
#     record (upserted by Ext_Id__c);
#   - an email that two rows share is two candidates for one record: a
#     conflict (ambiguous_match) is recorded and neither side is written, on
#     this run and on the next;
#   - a row that already names its record (salesforce_id set by hand, no
#     link) is paired with it, whatever its email says;
#   - the run after writes nothing.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

sf POST /__stub/mutate '[{"op": "create", "object": "Account", "records": [{"Name": "  ACME bv "}]}]' >/dev/null
acct=$(sf GET "/__stub/truth?object=Account" | python3 -c 'import json, sys; print(json.load(sys.stdin)["records"][0]["Id"])')
sf POST /__stub/mutate "[{\"op\": \"create\", \"object\": \"Contact\", \"records\": [
    {\"FirstName\": \"Ann\", \"LastName\": \"Lee\", \"Email\": \" Ann.Lee@Example.COM\", \"AccountId\": \"$acct\"},
    {\"FirstName\": \"Bob\", \"LastName\": \"Sf\", \"Email\": \"bob@example.com\"},
    {\"FirstName\": \"Dup\", \"LastName\": \"Sf\", \"Email\": \"dup@example.com\"},
    {\"FirstName\": \"Eve\", \"LastName\": \"Sf\", \"Email\": \"eve@new.example\"}]}]" >/dev/null
eve=$(sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print([r["Id"] for r in json.load(sys.stdin)["records"] if r["FirstName"] == "Eve"][0])')
sql "INSERT INTO companies (name, city) VALUES ('Acme BV', 'Utrecht')"
sql "INSERT INTO contacts (first_name, last_name, email, company_id) VALUES
       ('Ann', 'Lee', 'ann.lee@example.com', (SELECT id FROM companies)),
       ('Carol', 'Db', 'carol@example.com', NULL),
       ('Dup', 'One', 'dup@example.com', NULL), ('Dup', 'Two', 'DUP@example.com', NULL)"
sql "INSERT INTO contacts (first_name, last_name, email, salesforce_id) VALUES ('Eve', 'Sf', 'eve@old.example', '$eve')"
ann_row=$(sql "SELECT id FROM contacts WHERE first_name = 'Ann'")

ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"
tw_settle
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }

note "existing pairs are linked, not duplicated"
[ "$(sql "SELECT count(*) FROM companies")" = 1 ] || die "companies: $(sql "SELECT name FROM companies")"
[ "$(sql "SELECT salesforce_id FROM companies")" = "$acct" ] || die "the company is not linked to its Account"
sf GET "/__stub/truth?object=Account" | python3 -c '
import json, sys
r = json.load(sys.stdin)["records"]
assert len(r) == 1, r
print(r[0]["BillingCity"])' >"$T/acct" || die "accounts were duplicated"
[ "$(cat "$T/acct")" = Utrecht ] || die "the row's city did not reach the matched Account: $(cat "$T/acct")"
sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("%s|%s|%s|%s" % (r["FirstName"], r["LastName"], r["Ext_Id__c"] or "", r["Id"]))' | sort >"$T/sf"
[ "$(cut -d'|' -f1,2 "$T/sf" | tr '\n' ' ')" = "Ann|Lee Bob|Sf Carol|Db Dup|Sf Eve|Sf " ] ||
    die "Salesforce contacts: $(cat "$T/sf")"
ann_sf=$(grep '^Ann|' "$T/sf" | cut -d'|' -f4)
[ "$(sql "SELECT salesforce_id FROM contacts WHERE id = '$ann_row'")" = "$ann_sf" ] || die "Ann is not linked"
[ "$(sql "SELECT count(*) FROM contacts WHERE first_name = 'Ann'")" = 1 ] || die "Ann was duplicated"
[ "$(grep '^Carol|' "$T/sf" | cut -d'|' -f3)" = "$(sql "SELECT id FROM contacts WHERE first_name = 'Carol'")" ] ||
    die "Carol was not created with her row's id in Ext_Id__c"
[ "$(sql "SELECT count(*) FROM contacts WHERE first_name = 'Bob' AND salesforce_id IS NOT NULL")" = 1 ] ||
    die "Bob did not become a row"
[ "$(grep '^Bob|' "$T/sf" | cut -d'|' -f3)" = "$(sql "SELECT id FROM contacts WHERE first_name = 'Bob'")" ] ||
    die "Bob's record did not get his row's id in Ext_Id__c"

[ "$(sql "SELECT count(*) || '|' || min(email) FROM contacts WHERE first_name = 'Eve'")" = "1|eve@old.example" ] ||
    die "Eve: $(sql "SELECT email, salesforce_id FROM contacts WHERE first_name = 'Eve'")"
[ "$(sql "SELECT sf_id FROM syncengine.sync_links WHERE db_key = (SELECT id::text FROM contacts WHERE first_name = 'Eve')")" = "$eve" ] ||
    die "Eve's row is not linked to her record"

note "two candidates: a conflict, nothing guessed"
[ "$(sql "SELECT count(*) FROM contacts WHERE first_name = 'Dup'")" = 2 ] || die "dup rows changed"
[ "$(sql "SELECT count(*) FROM contacts WHERE first_name = 'Dup' AND salesforce_id IS NOT NULL")" = 0 ] || die "a dup row was linked"
[ "$(sql "SELECT count(*) FROM syncengine.sync_conflicts WHERE outcome = 'ambiguous_match' AND resolved_at IS NULL")" = 3 ] ||
    die "ambiguous conflicts: $(sql "SELECT count(*) FROM syncengine.sync_conflicts")"

# the matched pairs differ in text (the name, the email's case, the stand-in's generated city):
# settled by newest_wins for the rows, written after the records, and recorded
[ "$(sql "SELECT string_agg(outcome || ':' || fields::text, ' ' ORDER BY stream) FROM syncengine.sync_conflicts
          WHERE outcome <> 'ambiguous_match'")" = 'database_won:["name", "city"] database_won:["email"] database_won:["email"]' ] ||
    die "matched pairs' conflicts: $(sql "SELECT stream, outcome, fields FROM syncengine.sync_conflicts")"
[ "$(sql "SELECT email FROM contacts WHERE id = '$ann_row'")" = "ann.lee@example.com" ] || die "Ann's row changed"

note "the next run writes nothing and creates nothing"
tw_settle
sf POST /__stub/stats/reset >/dev/null
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "second run exited $rc"; }
written=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written" = 0 ] || die "the second run wrote $written records to Salesforce"
[ "$(sql "SELECT count(*) FROM contacts")" = 6 ] || die "rows: $(sql "SELECT count(*) FROM contacts")"
[ "$(sql "SELECT count(*) FROM syncengine.sync_conflicts")" = 6 ] || die "conflicts recorded again: $(sql "SELECT id, db_key, sf_id, outcome, fields FROM syncengine.sync_conflicts")"
grep -q "stream=contacts.*0 written to the table, 0 to Salesforce" "$T/run.log" || { cat "$T/run.log"; die "second run wrote"; }
echo "ok"
