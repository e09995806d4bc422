#!/bin/sh
# twoway_push.sh - rows an application inserted with plain SQL are pushed to
# Salesforce by a two-way job (conf/crm.sql schema, the stand-in):
#   - companies become Accounts, contacts become Contacts upserted by
#     Ext_Id__c = the row's id, their company_id becoming the AccountId of
#     the company's Account (parents first);
#   - each row gets its Salesforce Id, sync state 'synced' and a link;
#   - the run after writes nothing on either side (the stand-in's write
#     counter, no row version newer than the run), although it reads the pushed
#     records back;
#   - a row Salesforce refuses (an invalid email) shows 'error' with
#     Salesforce's code and message, the run is partial (exit 6); once the
#     application fixes the row, the next run pushes it.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

sql "INSERT INTO companies (name, industry, city) VALUES ('Acme BV', 'Energy', 'Utrecht'), ('Globex', NULL, 'Delft'),
       ('Initech', 'Technology', NULL)"
sql "INSERT INTO contacts (first_name, last_name, email, title, company_id)
     SELECT 'Ann' || g, 'Lee' || g, 'ann' || g || '@example.com', CASE WHEN g % 2 = 0 THEN 'CTO' END,
            (SELECT id FROM companies ORDER BY name OFFSET g % 3 LIMIT 1)
     FROM generate_series(1, 6) g"

ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"

note "rows are pushed, Ids written back"
sf POST /__stub/stats/reset >/dev/null
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "push run exited $rc"; }
written=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written" = 9 ] || die "expected 9 records written to Salesforce, got $written"
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL AND salesforce_sync_status = 'synced'
          AND salesforce_last_sync_at IS NOT NULL")" = 6 ] || die "contacts without their Id"
[ "$(sql "SELECT count(*) FROM companies WHERE salesforce_id IS NOT NULL")" = 3 ] || die "companies without their Id"
sf GET "/__stub/truth?object=Account" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("%s|%s|%s|%s" % (r["Id"], r["Name"], r["Industry"] or "", r["BillingCity"] or ""))' | sort >"$T/sf_accounts"
sql "SELECT salesforce_id || '|' || name || '|' || coalesce(industry, '') || '|' || coalesce(city, '') FROM companies" |
    sort >"$T/db_companies"
cmp -s "$T/sf_accounts" "$T/db_companies" || { diff "$T/sf_accounts" "$T/db_companies"; die "accounts differ"; }
sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("%s|%s|%s|%s|%s|%s" % (r["Id"], r["Ext_Id__c"], r["FirstName"], r["Email"], r["Title"] or "", r["AccountId"]))' |
    sort >"$T/sf_contacts"
sql "SELECT c.salesforce_id || '|' || c.id || '|' || c.first_name || '|' || c.email || '|' || coalesce(c.title, '') || '|' ||
            a.salesforce_id FROM contacts c JOIN companies a ON a.id = c.company_id" | sort >"$T/db_contacts"
[ "$(wc -l <"$T/sf_contacts")" = 6 ] || die "expected 6 Contacts in Salesforce"
cmp -s "$T/sf_contacts" "$T/db_contacts" || { diff "$T/sf_contacts" "$T/db_contacts"; die "contacts differ"; }

note "the next run writes nothing on either side"
tw_settle
x0=$(tw_xid)
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "second run exited $rc"; }
written2=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written2" = 9 ] || die "the second run wrote $((written2 - 9)) records to Salesforce"
[ "$(tw_written "$x0")" = 0 ] || die "the second run wrote $(tw_written "$x0") rows"
grep -q "stream=contacts.*done: 6 read from Salesforce, [0-9]* from the table; 0 written to the table, 0 to Salesforce" \
    "$T/run.log" || { cat "$T/run.log"; die "the second run did not read the pushed contacts back as echoes"; }

note "a refused row shows the error; fixed, it is pushed"
sql "INSERT INTO contacts (first_name, last_name, email) VALUES ('Bad', 'Mail', 'not-an-email')"
twoway_run "$ini"
[ $rc -eq 6 ] || { cat "$T/run.log"; die "a run with a refused record exited $rc, not 6"; }
bad=$(sql "SELECT salesforce_sync_status || '|' || (salesforce_id IS NULL) || '|' || salesforce_sync_error FROM contacts WHERE last_name = 'Mail'")
case "$bad" in
error\|true\|*INVALID_EMAIL_ADDRESS*) ;;
*) die "the refused row shows: $bad" ;;
esac
grep -q "row .*: Salesforce refused the create: .*INVALID_EMAIL_ADDRESS" "$T/run.log" || { cat "$T/run.log"; die "the refusal is not logged"; }
sql "UPDATE contacts SET email = 'bad.mail@example.com' WHERE last_name = 'Mail'"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run after the fix exited $rc"; }
[ "$(sql "SELECT salesforce_sync_status || '|' || (salesforce_id IS NOT NULL) || '|' || coalesce(salesforce_sync_error, '')
          FROM contacts WHERE last_name = 'Mail'")" = "synced|true|" ] || die "the fixed row was not pushed"
[ -n "${TW_VERBOSE:-}" ] && cat "$T/engine.log"
echo "ok"
