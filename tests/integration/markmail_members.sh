#!/bin/sh
# markmail_members.sh - list memberships as CampaignMembers (conf/markmail.ini):
#   - a contact that is not in Salesforce yet is pushed before its membership,
#     in the same run;
#   - a membership that exists in Salesforce already (DUPLICATE_VALUE,
#     "Already a campaign member.") is linked to that record, not failed;
#   - a membership deleted in the application (a hard DELETE) deletes its
#     CampaignMember, the others stay;
#   - a click on the list's email makes the member Responded (an update);
#   - a create whose answer is lost is not duplicated: the next run finds the
#     record and links it;
#   - an idle run writes nothing.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/markmail.sh"
markmail_setup --accounts 1 --contacts 0 --leads 0

sql "INSERT INTO contacts (email, first_name, last_name) VALUES
     ('c1@markmail.example', 'One', 'First'), ('c2@markmail.example', 'Two', 'Second'),
     ('c3@markmail.example', 'Three', 'Third')"
sql "INSERT INTO lists (name) VALUES ('Webinar invitees')"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
camp=$(sql "SELECT salesforce_id FROM lists")
c2=$(sql "SELECT salesforce_id FROM contacts WHERE email = 'c2@markmail.example'")
[ -n "$camp" ] && [ -n "$c2" ] || die "campaign '$camp', contact '$c2'"

note "c2 is a member in Salesforce already; c4 is new to both"
existing=$(sf POST /__stub/mutate "[{\"op\": \"create\", \"object\": \"CampaignMember\", \"records\": [{\"CampaignId\": \"$camp\", \"ContactId\": \"$c2\", \"Status\": \"Received\"}]}]" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["ids"][0])')
sql "INSERT INTO contacts (email, first_name, last_name) VALUES ('c4@markmail.example', 'Four', 'Fourth')"
sql "INSERT INTO list_members (list_id, contact_id) SELECT l.id, c.id FROM lists l, contacts c WHERE c.email <> 'c3@markmail.example'"
# the look-up of an existing member reads up to the source's lag behind Salesforce's clock, as every read
sfstub_settle "$SF_org_URL"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "membership run exited $rc"; }
grep -q "CampaignMember $existing exists already (DUPLICATE_VALUE): linked" "$T/run.log" || { cat "$T/run.log"; die "the duplicate was not linked"; }
[ "$(sql "SELECT sf_id FROM syncengine.sync_links l JOIN lists ON true JOIN contacts c ON c.email = 'c2@markmail.example'
          WHERE l.stream = 'members' AND l.db_key = lists.id || '/' || c.id")" = "$existing" ] || die "c2's membership is not linked to $existing"
sql "SELECT '$camp|' || salesforce_id FROM contacts WHERE email <> 'c3@markmail.example' ORDER BY 1" >"$T/expected"
sf_dump CampaignMember 'r["CampaignId"] + "|" + r["ContactId"]' >"$T/got"
[ "$(wc -l <"$T/expected")" = 3 ] && cmp -s "$T/expected" "$T/got" || { diff "$T/expected" "$T/got"; die "campaign members differ"; }
[ "$(sf_dump CampaignMember 'r["Status"]' | tr '\n' ,)" = "Received,Sent,Sent," ] || die "statuses: $(sf_dump CampaignMember 'r["Status"]')"

note "c1's membership is deleted in the application"
sql "DELETE FROM list_members WHERE contact_id = (SELECT id FROM contacts WHERE email = 'c1@markmail.example')"
c1=$(sql "SELECT salesforce_id FROM contacts WHERE email = 'c1@markmail.example'")
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "delete run exited $rc"; }
grep -q "CampaignMember 0 created, 0 updated, 1 deleted" "$T/run.log" || { cat "$T/run.log"; die "no delete reported"; }
[ "$(sf_count CampaignMember "r['ContactId'] == '$c1'")" = 0 ] || die "c1's CampaignMember is still there"
[ "$(sf_count CampaignMember)" = 2 ] || die "CampaignMembers: $(sf_count CampaignMember)"
[ "$(sql "SELECT count(*) FROM syncengine.sync_links WHERE stream = 'members'")" = 2 ] || die "membership links: $(sql "SELECT count(*) FROM syncengine.sync_links WHERE stream = 'members'")"

note "a click makes c4 Responded"
sql "INSERT INTO email_events (contact_id, list_id, type, occurred_at, subject)
     SELECT c.id, l.id, 'clicked', now(), 'Join us' FROM contacts c, lists l WHERE c.email = 'c4@markmail.example'"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "status run exited $rc"; }
c4=$(sql "SELECT salesforce_id FROM contacts WHERE email = 'c4@markmail.example'")
[ "$(sf_dump CampaignMember 'r["ContactId"] + "|" + r["Status"]')" = "$(printf '%s\n%s' "$c2|Received" "$c4|Responded" | sort)" ] ||
    die "statuses: $(sf_dump CampaignMember 'r["ContactId"] + "|" + r["Status"]')"

note "the answer to c3's membership create is lost"
sql "INSERT INTO list_members (list_id, contact_id) SELECT l.id, c.id FROM lists l, contacts c WHERE c.email = 'c3@markmail.example'"
sf POST /__stub/faults '{"faults": [{"match": "collections", "method": "POST", "commit": true, "kind": "reset"}]}' >/dev/null
mm
[ $rc -eq 6 ] || { cat "$T/run.log"; die "the run with a lost answer exited $rc, expected 6 (partial)"; }
c3=$(sql "SELECT salesforce_id FROM contacts WHERE email = 'c3@markmail.example'")
[ "$(sf_count CampaignMember "r['ContactId'] == '$c3'")" = 1 ] || die "the lost create did not commit: the fault did not fire"
sfstub_settle "$SF_org_URL"
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "the run after the lost answer exited $rc"; }
[ "$(sf_count CampaignMember "r['ContactId'] == '$c3'")" = 1 ] || die "c3's membership was duplicated"
[ "$(sf_count CampaignMember)" = 3 ] || die "CampaignMembers: $(sf_count CampaignMember)"
grep -q "exists already (DUPLICATE_VALUE): linked" "$T/run.log" || { cat "$T/run.log"; die "the lost create was not linked"; }

note "an idle run writes nothing"
sfstub_settle "$SF_org_URL"
sf POST /__stub/stats/reset >/dev/null
mm
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
[ "$(sf_stat 's["records_written"]')" = 0 ] || die "the idle run wrote $(sf_stat 's["records_written"]') records"
assert_no_secrets test-client-secret test-refresh-token
echo "ok"
