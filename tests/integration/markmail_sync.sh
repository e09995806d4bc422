#!/bin/sh
# markmail_sync.sh - the shipped MarkMail job, conf/markmail.ini with
# conf/markmail.sql, from the environment only, against the Salesforce stand-in:
#   - `check` accepts it;
#   - contacts: Salesforce's (with an email) are pulled; the application's
#     are pushed, one that exists in Salesforce with the same email (other
#     case) is paired, not duplicated; the sync hash is recorded;
#   - a list becomes a Campaign with its members (CampaignId, ContactId, Status);
#   - email events become Tasks, exact fields, one per event;
#   - an idle run writes nothing and makes no write call.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/markmail.sh"
markmail_setup --accounts 2 --contacts 6 --leads 0

note "check"
$SYNCENGINE check -c "$top/conf/markmail.ini" >"$T/check.log" 2>&1 || { cat "$T/check.log"; die "check failed"; }
sed 's/^mode = append/mode = push/' "$top/conf/markmail.ini" >"$T/bad.ini"
$SYNCENGINE check -c "$T/bad.ini" >"$T/check.log" 2>&1 && die "check accepted order without mode = append"
line=$(grep -n '^order = occurred_at' "$T/bad.ini" | cut -d: -f1)
grep -q "bad.ini:$line: option 'order' needs mode = append" "$T/check.log" || { cat "$T/check.log"; die "order without append: message"; }
sed 's/^mode = append/mode = sometimes/' "$top/conf/markmail.ini" >"$T/bad.ini"
$SYNCENGINE check -c "$T/bad.ini" >"$T/check.log" 2>&1 && die "check accepted mode = sometimes"
grep -q "mode" "$T/check.log" || { cat "$T/check.log"; die "mode = sometimes: message"; }
$SYNCENGINE check --connect -c "$top/conf/markmail.ini" --state-dir "$T/state" >"$T/check.log" 2>&1 ||
    { cat "$T/check.log"; die "check --connect failed"; }

note "a Salesforce contact with the email of an application contact"
sf POST /__stub/mutate '[{"op": "create", "object": "Contact", "records": [{"FirstName": "Ada", "LastName": "Lovelace", "Email": "ada@markmail.example"}]}]' >/dev/null
with_email=$(sf_count Contact 'r["Email"]')
sql "INSERT INTO contacts (email, first_name, last_name, company) VALUES
     ('Ada@MarkMail.example', 'Ada', 'Lovelace', 'Analytical'),
     ('grace@markmail.example', 'Grace', 'Hopper', 'Navy'),
     ('alan@markmail.example', 'Alan', 'Turing', NULL)"
sql "INSERT INTO lists (name, description) VALUES ('Spring newsletter', 'sent monthly')"
sql "INSERT INTO list_members (list_id, contact_id) SELECT l.id, c.id FROM lists l, contacts c"
sql "INSERT INTO email_events (contact_id, list_id, type, occurred_at, subject, message_id)
     SELECT c.id, l.id, t.type, now() - interval '1 hour' + t.n * interval '1 minute', 'Spring offers', 'msg-' || t.n
     FROM contacts c, lists l, (VALUES (1, 'sent'), (2, 'opened'), (3, 'clicked')) t(n, type)
     WHERE c.email = 'grace@markmail.example'"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject, message_id)
     SELECT id, 'bounced', now() - interval '10 minutes', NULL, 'msg-9' FROM contacts WHERE email = 'alan@markmail.example'"
sfstub_settle "$SF_org_URL"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }

note "contacts: pulled, pushed, paired"
[ "$(sql "SELECT count(*) FROM contacts")" = "$((with_email + 2))" ] ||
    die "contacts: $(sql "SELECT count(*) FROM contacts"), expected $with_email from Salesforce + 2"
[ "$(sf_count Contact 'r["Email"]')" = "$((with_email + 2))" ] || die "Salesforce contacts with an email: $(sf_count Contact 'r["Email"]')"
[ "$(sf_count Contact 'r["Email"] and r["Email"].strip().lower() == "ada@markmail.example"')" = 1 ] || die "ada was duplicated"
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NULL OR salesforce_sync_status <> 'synced' OR salesforce_sync_hash IS NULL")" = 0 ] ||
    die "contacts not synced: $(sql "SELECT email, salesforce_sync_status, salesforce_sync_error, salesforce_sync_hash FROM contacts WHERE salesforce_sync_hash IS NULL")"
[ "$(sql "SELECT salesforce_sync_hash = markmail_sync_hash(email, first_name, last_name, phone) FROM contacts WHERE email = 'grace@markmail.example'")" = t ] ||
    die "grace's sync hash is not the hash of her values"

note "the list is a campaign with its members"
camp=$(sql "SELECT salesforce_id FROM lists WHERE name = 'Spring newsletter'")
[ -n "$camp" ] && [ "$(sf_dump Campaign 'r["Name"] + "|" + r["Id"]')" = "Spring newsletter|$camp" ] ||
    die "campaigns: $(sf_dump Campaign 'r["Name"] + "|" + r["Id"]') (row: $camp)"
sql "SELECT '$camp' || '|' || c.salesforce_id || '|' || CASE WHEN c.email = 'grace@markmail.example' THEN 'Responded' ELSE 'Sent' END
     FROM contacts c JOIN list_members m ON m.contact_id = c.id ORDER BY 1" >"$T/members.expected"
sf_dump CampaignMember 'r["CampaignId"] + "|" + r["ContactId"] + "|" + r["Status"]' >"$T/members.got"
[ "$(wc -l <"$T/members.expected")" -eq 3 ] || die "list_members: $(wc -l <"$T/members.expected")"
cmp -s "$T/members.expected" "$T/members.got" || { diff "$T/members.expected" "$T/members.got"; die "campaign members differ"; }

note "events are tasks"
sql "SELECT e.id || '|' || c.salesforce_id || '|' || coalesce(l.salesforce_id, 'None') || '|Email|Completed|Email|' ||
            (e.occurred_at AT TIME ZONE 'UTC')::date || '|Email ' || e.type || coalesce(': ' || e.subject, '')
     FROM email_events e JOIN contacts c ON c.id = e.contact_id LEFT JOIN lists l ON l.id = e.list_id ORDER BY 1" >"$T/tasks.expected"
sf_dump Task 'r["MarkMail_Event_Id__c"] + "|" + r["WhoId"] + "|" + str(r["WhatId"]) + "|" + r["TaskSubtype"] + "|" + r["Status"] + "|" + r["Type"] + "|" + r["ActivityDate"] + "|" + r["Subject"]' >"$T/tasks.got"
[ "$(wc -l <"$T/tasks.expected")" -eq 4 ] || die "events: $(wc -l <"$T/tasks.expected")"
cmp -s "$T/tasks.expected" "$T/tasks.got" || { diff "$T/tasks.expected" "$T/tasks.got"; die "tasks differ"; }
[ "$(sf_count Task 'r["Description"].startswith("MarkMail bounced at ") and r["Description"].endswith("\nmessage msg-9")')" = 1 ] ||
    die "the bounce's description: $(sf_dump Task 'repr(r["Description"])')"

note "an idle run writes nothing"
sfstub_settle "$SF_org_URL"
sf POST /__stub/stats/reset >/dev/null
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
[ "$(sf_stat 's["records_written"]')" = 0 ] || die "the idle run wrote $(sf_stat 's["records_written"]') records to Salesforce"
[ "$(sf_stat 's["by_kind"].get("collections", 0)')" = 0 ] || die "the idle run made write calls"
echo "idle run: $(sf_stat 's["api_calls"]') API calls ($(sf_stat 's["by_kind"]'))"
[ "$(grep -c "0 written to the table, 0 to Salesforce" "$T/run.log")" = 2 ] || { cat "$T/run.log"; die "the idle run wrote (two-way streams)"; }
[ "$(grep -c "0 created, 0 updated, 0 deleted, 0 linked" "$T/run.log")" = 2 ] || { cat "$T/run.log"; die "the idle run wrote (push streams)"; }
[ "$(sql "SELECT string_agg(sync_status, ',' ORDER BY started_at) FROM sync_logs")" = "success,success" ] ||
    die "sync_logs: $(sql "SELECT string_agg(sync_status, ',' ORDER BY started_at) FROM sync_logs")"
echo "ok"
