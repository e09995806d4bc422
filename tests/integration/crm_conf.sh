#!/bin/sh
# crm_conf.sh - the shipped CRM job, conf/crm.ini with conf/crm.sql, from the
# environment only, against the Salesforce stand-in:
#   - `check` and `check --connect` accept it;
#   - the first run with an empty database pulls every Account, Contact and
#     Opportunity, references resolved (company_id), one sync_logs row;
#   - rows the application inserts with plain SQL are pushed (Ids written
#     back, Ext_Id__c = the contact's id, the Opportunity's AccountId);
#   - an idle run writes nothing on either side;
#   - CRM_SYNC_DIRECTION = to_database leaves a row's edit in the table.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 3 --contacts 10 --leads 0

accts=$(sf GET "/__stub/truth?object=Account" | python3 -c 'import json, sys; print(",".join(r["Id"] for r in json.load(sys.stdin)["records"]))')
a1=${accts%%,*}

export SALESFORCE_LOGIN_URL="$SF_org_URL" SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
export SALESFORCE_REFRESH_TOKEN=test-refresh-token SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s
unset CRM_SYNC_DIRECTION CRM_CONFLICT_POLICY
ini="$top/conf/crm.ini"
crm() { $SYNCENGINE --once -c "$ini" --state-dir "$T/state" "$@" >"$T/run.log" 2>&1; rc=$?; cat "$T/run.log" >>"$T/engine.log"; }

note "check"
$SYNCENGINE check -c "$ini" >"$T/check.log" 2>&1 || { cat "$T/check.log"; die "check failed"; }

$SYNCENGINE check --connect -c "$ini" --state-dir "$T/state" >"$T/check.log" 2>&1 ||
    { cat "$T/check.log"; die "check --connect failed"; }
grep -q "configuration OK against the servers" "$T/check.log" || { cat "$T/check.log"; die "check --connect: $(cat "$T/check.log")"; }

note "the first run pulls everything"
tw_settle
crm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
[ "$(sql "SELECT count(*) FROM companies")|$(sql "SELECT count(*) FROM contacts")|$(sql "SELECT count(*) FROM opportunities")" = "3|10|0" ] ||
    die "pulled: $(sql "SELECT count(*) FROM companies")|$(sql "SELECT count(*) FROM contacts")|$(sql "SELECT count(*) FROM opportunities")"
sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["records"] if r["AccountId"]))' >"$T/with_account"
[ "$(sql "SELECT count(*) FROM contacts c JOIN companies a ON a.id = c.company_id")" = "$(cat "$T/with_account")" ] ||
    die "contacts with a company: $(sql "SELECT count(*) FROM contacts WHERE company_id IS NOT NULL"), in Salesforce $(cat "$T/with_account")"
[ "$(sql "SELECT sync_status || '|' || sync_type FROM sync_logs")" = "success|incremental" ] ||
    die "sync_logs: $(sql "SELECT sync_status, sync_type FROM sync_logs")"

note "rows inserted with plain SQL are pushed"
sql "INSERT INTO contacts (first_name, last_name, email, company_id)
     VALUES ('New', 'Person', 'new@crm.example', (SELECT id FROM companies WHERE salesforce_id = '$a1'))"
sql "INSERT INTO opportunities (name, stage, amount, close_date, company_id)
     VALUES ('Pushed deal', 'Qualification', 12500.50, '2027-01-15', (SELECT id FROM companies WHERE salesforce_id = '$a1'))"
crm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "push run exited $rc"; }
row=$(sql "SELECT id || '|' || salesforce_id FROM contacts WHERE email = 'new@crm.example'")
sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["Email"] == "new@crm.example":
        print("%s|%s|%s" % (r["Ext_Id__c"], r["Id"], r["AccountId"]))' >"$T/new"
[ "$(cat "$T/new")" = "$row|$a1" ] || die "pushed contact: $(cat "$T/new") for row $row"
sf GET "/__stub/truth?object=Opportunity" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["Name"] == "Pushed deal":
        print("%s|%s|%s|%s|%s" % (r["Id"], r["StageName"], r["Amount"], r["CloseDate"], r["AccountId"]))' >"$T/opp"
[ "$(cat "$T/opp")" = "$(sql "SELECT salesforce_id FROM opportunities WHERE name = 'Pushed deal'")|Qualification|12500.5|2027-01-15|$a1" ] ||
    die "pushed opportunity: $(cat "$T/opp")"

note "a Salesforce edit of the opportunity is pulled"
opp=$(sql "SELECT salesforce_id FROM opportunities WHERE name = 'Pushed deal'")
sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Opportunity\", \"ids\": [\"$opp\"], \"set\": {\"StageName\": \"Closed Won\", \"Amount\": 13000}}]" >/dev/null
tw_settle
crm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "pull run exited $rc"; }
[ "$(sql "SELECT stage || '|' || amount || '|' || close_date FROM opportunities WHERE name = 'Pushed deal'")" = "Closed Won|13000|2027-01-15" ] ||
    die "opportunity edit: $(sql "SELECT stage, amount FROM opportunities")"

note "an idle run writes nothing"
tw_settle
sf POST /__stub/stats/reset >/dev/null
crm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
written=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written" = 0 ] || die "the idle run wrote $written records to Salesforce"
[ "$(grep -c "0 written to the table, 0 to Salesforce" "$T/run.log")" = 3 ] || { cat "$T/run.log"; die "the idle run wrote"; }

note "CRM_SYNC_DIRECTION = to_database"
sql "UPDATE contacts SET title = 'Local only' WHERE email = 'new@crm.example'"
sf POST /__stub/stats/reset >/dev/null
CRM_SYNC_DIRECTION=to_database crm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "to_database run exited $rc"; }
written=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written" = 0 ] || die "to_database wrote $written records to Salesforce"
[ "$(sql "SELECT title FROM contacts WHERE email = 'new@crm.example'")" = "Local only" ] || die "to_database undid the row's edit"
[ "$(sql "SELECT count(*) FROM sync_logs WHERE sync_status = 'success'")" = 5 ] || die "sync_logs: $(sql "SELECT sync_status FROM sync_logs")"
echo "ok"
