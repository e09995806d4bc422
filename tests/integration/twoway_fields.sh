#!/bin/sh
# twoway_fields.sh - an update pushed to Salesforce sends only the fields that
# changed in the table since the link's last synced values (conf/crm.sql
# schema, the stand-in):
#   - the application changes a contact's title; a Salesforce user changes the
#     same contact's phone after the run has read Salesforce and before it
#     writes (the stand-in applies that edit when the run's first update call
#     arrives): the title arrives in Salesforce and the phone edit survives;
#   - the next run pulls the phone into the row, without a conflict, and the
#     run after it writes nothing on either side.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

sql "INSERT INTO contacts (first_name, last_name, email, phone, title)
     VALUES ('Ann', 'Lee', 'ann@example.com', '+31 30 000 0000', 'Engineer'),
            ('Bob', 'Ray', 'bob@example.com', '+31 30 111 1111', 'Analyst')"
ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "first run exited $rc"; }
ann=$(sql "SELECT salesforce_id FROM contacts WHERE email = 'ann@example.com'")
[ -n "$ann" ] || die "ann was not pushed"
# contact Id -> "Title|Phone|FirstName" in Salesforce
sf_rec() {
    sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["Id"] == sys.argv[1]:
        print("|".join(r[f] or "" for f in ("Title", "Phone", "FirstName")))' "$1"
}
[ "$(sf_rec "$ann")" = "Engineer|+31 30 000 0000|Ann" ] || die "ann in Salesforce: $(sf_rec "$ann")"

note "a Salesforce edit of another field between the run's read and its write survives"
sql "UPDATE contacts SET title = 'Director' WHERE email = 'ann@example.com'"
sf POST /__stub/faults "{\"faults\": [{\"match\": \"collections\", \"method\": \"PATCH\", \"kind\": \"mutate\",
    \"ops\": [{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$ann\"], \"set\": {\"Phone\": \"+31 6 9999 9999\"}}]}]}" >/dev/null
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "update run exited $rc"; }
fired=$(sf GET /__stub/faults | python3 -c 'import json, sys; print(json.load(sys.stdin)["faults"][0]["fired"])')
[ "$fired" = 1 ] || die "the stand-in's edit was applied $fired times, not once (no update call?)"
sf DELETE /__stub/faults >/dev/null
[ "$(sf_rec "$ann")" = "Director|+31 6 9999 9999|Ann" ] || die "after the update Salesforce has: $(sf_rec "$ann")"
[ "$(sql "SELECT title || '|' || phone || '|' || salesforce_sync_status FROM contacts WHERE email = 'ann@example.com'")" = \
    "Director|+31 30 000 0000|synced" ] || die "the row after the update: $(sql "SELECT title, phone FROM contacts WHERE email = 'ann@example.com'")"

note "the next run pulls the edit, without a conflict"
tw_settle
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "pull run exited $rc"; }
[ "$(sql "SELECT title || '|' || phone FROM contacts WHERE email = 'ann@example.com'")" = "Director|+31 6 9999 9999" ] ||
    die "the row after the pull: $(sql "SELECT title, phone FROM contacts WHERE email = 'ann@example.com'")"
[ "$(sf_rec "$ann")" = "Director|+31 6 9999 9999|Ann" ] || die "Salesforce after the pull: $(sf_rec "$ann")"
[ "$(sql "SELECT count(*) FROM syncengine.sync_conflicts")" = 0 ] || die "a conflict was recorded"
[ "$(sql "SELECT phone FROM contacts WHERE email = 'bob@example.com'")" = "+31 30 111 1111" ] || die "bob changed"

note "then nothing to write"
tw_settle
w0=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "idle run exited $rc"; }
w1=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$w1" = "$w0" ] || die "the idle run wrote $((w1 - w0)) records to Salesforce"
grep -q "stream=contacts.*0 written to the table, 0 to Salesforce" "$T/run.log" || { cat "$T/run.log"; die "the idle run wrote"; }
echo "ok"
