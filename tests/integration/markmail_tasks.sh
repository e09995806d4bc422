#!/bin/sh
# markmail_tasks.sh - email events as Tasks (conf/markmail.ini):
#   - on a first sync, events older than MARKMAIL_EVENTS_HORIZON are skipped
#     and counted;
#   - 250 events of one contact become 250 tasks in 2 calls, created in the
#     order the events happened (inserted in another order);
#   - a call whose answer is lost before it committed stops the stream for the
#     run (nothing after it is sent); the next run sends them in order;
#   - a call whose answer is lost after it committed: the next run's creates
#     are DUPLICATE_VALUE on MarkMail_Event_Id__c and are linked, no task twice;
#   - events of a contact with no Salesforce record yet wait (not failed),
#     and are created, in order, by the run after the contact got one;
#   - an event Salesforce refuses (STRING_TOO_LONG) is rejected with its key,
#     the other one of the call is written, and it is not sent again;
#   - an idle run writes nothing.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/markmail.sh"
markmail_setup --accounts 1 --contacts 0 --leads 0
export MARKMAIL_EVENTS_HORIZON=30d

# order: Task Ids (creation order) against the events' occurred_at order, per contact
check_order() {
    sql "SELECT e.id FROM email_events e JOIN contacts c ON c.id = e.contact_id WHERE c.email = '$1'
         AND e.occurred_at > now() - interval '30 days' ORDER BY e.occurred_at" >"$T/order.expected"
    sf GET "/__stub/truth?object=Task" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:   # Id order: creation order
    if r["WhoId"] == sys.argv[1]:
        print(r["MarkMail_Event_Id__c"])' "$(sql "SELECT salesforce_id FROM contacts WHERE email = '$1'")" >"$T/order.got"
    cmp -s "$T/order.expected" "$T/order.got" || { diff "$T/order.expected" "$T/order.got" | head; die "tasks of $1 out of order"; }
}

note "first sync: old events are skipped"
sql "INSERT INTO contacts (email, first_name, last_name) VALUES ('c1@markmail.example', 'One', 'First')"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject)
     SELECT id, 'sent', now() - interval '40 days' + g * interval '1 hour', 'Old ' || g
     FROM contacts, generate_series(1, 3) g"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject)
     SELECT id, 'opened', now() - interval '2 days' + g * interval '1 hour', 'Recent ' || g
     FROM contacts, generate_series(1, 2) g"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
grep -q "first sync: 3 row(s) older than the horizon skipped" "$T/run.log" || { cat "$T/run.log"; die "no skipped count"; }
grep -q "Task 2 created, 0 updated, 0 deleted, 0 linked to records that existed, 0 waiting, 3 skipped" "$T/run.log" ||
    { cat "$T/run.log"; die "first run's counts"; }
[ "$(sf_dump Task 'r["Subject"]' | tr '\n' ,)" = "Email opened: Recent 1,Email opened: Recent 2," ] || die "tasks: $(sf_dump Task 'r["Subject"]')"

note "250 events, inserted out of order, 2 calls, in order"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject, message_id)
     SELECT id, 'sent', now() - interval '1 day' + ((g * 7919) % 250) * interval '1 second', 'Batch', 'm' || g
     FROM contacts, generate_series(1, 250) g"
sf POST /__stub/stats/reset >/dev/null
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "batch run exited $rc"; }
[ "$(sf_count Task)" = 252 ] || die "tasks: $(sf_count Task)"
[ "$(sf_stat 's["by_kind"].get("collections", 0)')" = 2 ] || die "calls for 250 events: $(sf_stat 's["by_kind"]')"
check_order c1@markmail.example

note "a lost answer before the commit: nothing after it is sent"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject)
     SELECT id, 'clicked', now() - interval '12 hours' + g * interval '1 second', 'Lost ' || g
     FROM contacts, generate_series(1, 210) g"
sf POST /__stub/faults '{"faults": [{"match": "collections", "method": "POST", "kind": "reset"}]}' >/dev/null
mm
[ $rc -eq 6 ] || { cat "$T/run.log"; die "the run with a lost answer exited $rc, expected 6"; }
[ "$(sf_count Task)" = 252 ] || die "tasks after the lost call: $(sf_count Task) (a call after it was sent?)"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run after the lost answer exited $rc"; }
[ "$(sf_count Task)" = 462 ] || die "tasks: $(sf_count Task)"
check_order c1@markmail.example

note "a lost answer after the commit: linked, no task twice"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject)
     SELECT id, 'replied', now() - interval '6 hours' + g * interval '1 second', 'Committed ' || g
     FROM contacts, generate_series(1, 5) g"
sf POST /__stub/faults '{"faults": [{"match": "collections", "method": "POST", "commit": true, "kind": "reset"}]}' >/dev/null
mm
[ $rc -eq 6 ] || { cat "$T/run.log"; die "the run with a lost committed answer exited $rc, expected 6"; }
[ "$(sf_count Task)" = 467 ] || die "the committed call: $(sf_count Task) tasks"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run after the lost committed answer exited $rc"; }
grep -q "Task 0 created, 0 updated, 0 deleted, 5 linked to records that existed" "$T/run.log" || { cat "$T/run.log"; die "not linked"; }
[ "$(sf_count Task)" = 467 ] || die "tasks: $(sf_count Task): duplicated"
[ "$(sf_dump Task 'r["MarkMail_Event_Id__c"]' | uniq -d | wc -l)" = 0 ] || die "an event has two tasks"
[ "$(sql "SELECT count(*) FROM syncengine.sync_links WHERE stream = 'events' AND sf_id IS NOT NULL")" = 467 ] || die "event links"

note "events of a contact with no Salesforce record wait"
sql "INSERT INTO contacts (email, first_name) VALUES ('c5@markmail.example', 'No last name')"
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject)
     SELECT id, 'sent', now() - interval '1 hour' + g * interval '1 minute', 'Waiting ' || g FROM contacts, generate_series(1, 3) g
     WHERE email = 'c5@markmail.example'"
mm
[ $rc -eq 6 ] || { cat "$T/run.log"; die "the run with a refused contact exited $rc, expected 6"; }
grep -q "REQUIRED_FIELD_MISSING" "$T/run.log" || die "c5 was not refused"
grep -q "Task 0 created, 0 updated, 0 deleted, 0 linked to records that existed, 3 waiting" "$T/run.log" || { cat "$T/run.log"; die "events did not wait"; }
mm
grep -q "3 waiting" "$T/run.log" || { cat "$T/run.log"; die "events did not wait again"; }
sql "UPDATE contacts SET last_name = 'Fifth' WHERE email = 'c5@markmail.example'"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run after the fix exited $rc"; }
grep -q "Task 3 created, 0 updated, 0 deleted, 0 linked to records that existed, 0 waiting" "$T/run.log" || { cat "$T/run.log"; die "waiting events not created"; }
check_order c5@markmail.example

note "an event that cannot fit is rejected with its key and reason before sending, the other is written"
bad=$(sql "INSERT INTO email_events (contact_id, type, occurred_at, subject, message_id)
           SELECT id, 'sent', now(), 'Too long', repeat('x', 33000) FROM contacts WHERE email = 'c1@markmail.example' RETURNING id")
sql "INSERT INTO email_events (contact_id, type, occurred_at, subject) SELECT id, 'sent', now(), 'Fine' FROM contacts WHERE email = 'c1@markmail.example'"
mm
[ $rc -eq 6 ] || { cat "$T/run.log"; die "the run with a refused event exited $rc, expected 6"; }
grep -q "row $bad: refused before sending: column 'Description': 330[0-9][0-9] characters, the field holds at most 32000" "$T/run.log" || { cat "$T/run.log"; die "the refusal is not reported with its key"; }
grep -q "Task 1 created, 0 updated, 0 deleted, 0 linked to records that existed, 0 waiting, 0 skipped (horizon), 1 failed" "$T/run.log" ||
    { cat "$T/run.log"; die "counts with a refused event"; }
[ "$(sf_count Task 'r["Subject"] == "Email sent: Fine"')" = 1 ] || die "the good event was not written"

note "an idle run writes nothing (the refused event is not sent again)"
sf POST /__stub/stats/reset >/dev/null
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
[ "$(sf_stat 's["records_written"]')" = 0 ] || die "the idle run wrote $(sf_stat 's["records_written"]') records"
[ "$(sf_stat 's["by_kind"].get("collections", 0)')" = 0 ] || die "the idle run made write calls"
[ "$(sf_count Task)" = 471 ] || die "tasks: $(sf_count Task)"
echo "ok"
