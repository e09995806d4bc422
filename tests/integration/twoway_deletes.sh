#!/bin/sh
# twoway_deletes.sh - deletes in a two-way job (conf/crm.sql schema, the stand-in):
#   - a record deleted in Salesforce soft-deletes its row (deleted_at), and
#     the engine's write does not bump updated_at;
#   - a row soft-deleted by the application leaves its record alone while
#     push_deletes is off (the default);
#   - with push_deletes = on, a soft-deleted row deletes its record (one
#     soft-deleted while it was off stays apart);
#   - deleted pairs stay apart: the runs after write nothing.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

sql "INSERT INTO contacts (first_name, last_name, email) SELECT 'D' || g, 'Del' || g, 'd' || g || '@example.com'
     FROM generate_series(1, 4) g"
ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
twoway_ini "$ini" "direction = both"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "push run exited $rc"; }
sfid() { sql "SELECT salesforce_id FROM contacts WHERE email = 'd$1@example.com'"; }
live() {
    sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print(" ".join(sorted(r["LastName"] for r in json.load(sys.stdin)["records"])))'
}
[ "$(live)" = "Del1 Del2 Del3 Del4" ] || die "pushed: $(live)"

note "a Salesforce delete soft-deletes the row"
stamp=$(sql "SELECT updated_at FROM contacts WHERE email = 'd1@example.com'")
sf POST /__stub/mutate "[{\"op\": \"delete\", \"object\": \"Contact\", \"ids\": [\"$(sfid 1)\"]}]" >/dev/null
tw_settle
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "run exited $rc"; }
[ "$(sql "SELECT string_agg(last_name, ' ' ORDER BY last_name) FROM contacts WHERE deleted_at IS NOT NULL")" = Del1 ] ||
    die "soft-deleted rows: $(sql "SELECT string_agg(last_name, ' ') FROM contacts WHERE deleted_at IS NOT NULL")"
[ "$(sql "SELECT updated_at FROM contacts WHERE email = 'd1@example.com'")" = "$stamp" ] || die "the delete bumped updated_at"

note "a soft-deleted row leaves its record alone without push_deletes"
sql "UPDATE contacts SET deleted_at = now() WHERE email = 'd2@example.com'"
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "run exited $rc"; }
[ "$(live)" = "Del2 Del3 Del4" ] || die "without push_deletes: $(live)"

note "push_deletes = on deletes the record"
twoway_ini "$ini" "direction = both" "push_deletes = on"
sql "UPDATE contacts SET deleted_at = now() WHERE email = 'd3@example.com'"
sf POST /__stub/stats/reset >/dev/null
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "run exited $rc"; }
[ "$(live)" = "Del2 Del4" ] || die "with push_deletes: $(live)"
[ "$(sql "SELECT count(*) FROM syncengine.sync_links WHERE deleted")" = 3 ] ||
    die "deleted links: $(sql "SELECT count(*) FROM syncengine.sync_links WHERE deleted")"

note "deleted pairs stay apart"
tw_settle
sf POST /__stub/stats/reset >/dev/null
twoway_run "$ini"
[ $rc -eq 0 ] || { cat "$T/run.log"; die "run exited $rc"; }
written=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])')
[ "$written" = 0 ] || die "an idle run wrote $written records to Salesforce"
grep -q "stream=contacts.*0 written to the table, 0 to Salesforce" "$T/run.log" || { cat "$T/run.log"; die "idle run wrote"; }
[ "$(sql "SELECT count(*) FROM contacts WHERE deleted_at IS NULL")" = 1 ] || die "live rows"
echo "ok"
