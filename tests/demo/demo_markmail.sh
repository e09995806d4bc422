#!/bin/sh
# tests/demo/demo_markmail.sh - `make demo-markmail`: the MarkMail job
# (conf/markmail.ini) on a laptop, no Salesforce account needed.
#
# Starts a throwaway PostgreSQL with conf/markmail.sql and the bundled
# Salesforce stand-in, then: contacts pushed and paired by email with the
# org's; a list becoming a Campaign with its members; 1,000 email events
# becoming Tasks; a membership removed; an idle run that writes nothing.
# Stops everything it started.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
export O

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

. "$top/tests/lib/common.sh"
SYNCENGINE="$O/syncengine"
. "$top/tests/lib/markmail.sh"
unset SYNCENGINE_NO_PROGRESS

say "starting a throwaway PostgreSQL with the MarkMail schema (conf/markmail.sql) and the Salesforce stand-in"
markmail_setup --accounts 2 --contacts 5 --leads 0
run() {
    sfstub_settle "$SF_org_URL"
    "$O/syncengine" --once -c conf/markmail.ini --state-dir "$T/state" 2>&1 |
        grep -E "done:|exists already|run (success|partial|failed)" | sed 's/^[0-9T:.-]*Z //; s/ run=[0-9a-f-]*//'
}
written() { sf_stat 's["records_written"]'; }
calls() { sf_stat 's["api_calls"]'; }
q() { psql -X -q -P pager=off -c "$1"; }

say "Salesforce has a contact Ada Lovelace; the application has her too, and two more"
sf POST /__stub/mutate '[{"op": "create", "object": "Contact", "records": [{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@markmail.example"}]}]' >/dev/null
sql "INSERT INTO contacts (email, first_name, last_name) VALUES
     ('Ada@MarkMail.example', 'Ada', 'Lovelace'), ('grace@markmail.example', 'Grace', 'Hopper'),
     ('alan@markmail.example', 'Alan', 'Turing')"
sql "INSERT INTO lists (name, description) VALUES ('Spring newsletter', 'monthly news')"
sql "INSERT INTO list_members (list_id, contact_id) SELECT l.id, c.id FROM lists l, contacts c"

say "run 1: Salesforce's contacts pulled, the application's pushed, Ada paired by email (not duplicated); the list becomes a Campaign with 3 members"
run
q "SELECT email, first_name, last_name, salesforce_id, salesforce_sync_status AS status FROM contacts ORDER BY email"
echo "Salesforce contacts with Ada's email: $(sf_count Contact 'r["Email"] and r["Email"].lower() == "ada@markmail.example"')"
echo "Campaigns:"
sf_dump Campaign '"  " + r["Id"] + "  " + r["Name"]'
echo "CampaignMembers:"
sf_dump CampaignMember '"  " + r["CampaignId"] + "  " + r["ContactId"] + "  " + r["Status"]'

say "the application logs 1,000 email events (sent, opened, clicked, replied, bounced) of its 3 contacts"
sql "INSERT INTO email_events (contact_id, list_id, type, occurred_at, subject, message_id)
     SELECT c.id, l.id, (ARRAY['sent','opened','clicked','replied','bounced'])[1 + g % 5],
            now() - interval '3 days' + g * interval '1 minute', 'Spring offers', 'msg-' || g
     FROM (SELECT id, row_number() OVER (ORDER BY email) AS n FROM contacts WHERE email ILIKE '%@markmail.example') c,
          lists l, generate_series(1, 1000) g WHERE c.n = 1 + g % 3"
sf POST /__stub/stats/reset >/dev/null
say "run 2: 1,000 Tasks (TaskSubtype Email, on the Contact, related to the Campaign), 200 per call; members who clicked are Responded"
run
echo "Tasks in Salesforce: $(sf_count Task); write calls: $(sf_stat 's["by_kind"].get("collections", 0)')"
sf GET "/__stub/truth?object=Task" | python3 -c '
import json, sys
recs = json.load(sys.stdin)["records"]
for r in recs[:3]:
    print("  %s  %s  %s  Who=%s What=%s %s" % (r["Id"], r["ActivityDate"], r["Subject"], r["WhoId"], r["WhatId"], r["Status"]))
print("  ...")'
sf_dump CampaignMember '"  " + r["ContactId"] + "  " + r["Status"]'

say "the application removes Alan from the list (DELETE FROM list_members); run 3 deletes his CampaignMember"
sql "DELETE FROM list_members WHERE contact_id = (SELECT id FROM contacts WHERE email = 'alan@markmail.example')"
run
echo "CampaignMembers left: $(sf_count CampaignMember)"

say "an idle run: nothing to do, nothing written on either side"
sf POST /__stub/stats/reset >/dev/null
run
echo "records written to Salesforce by the idle run: $(written); its API calls: $(calls)"
q "SELECT sync_status, records_processed AS processed, records_created AS created, records_updated AS updated,
          records_failed AS failed, duration_ms FROM sync_logs ORDER BY started_at"
