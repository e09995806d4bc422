#!/bin/sh
# tests/demo/demo_crm.sh - `make demo-crm`: the two-way CRM job (conf/crm.ini)
# on a laptop, no Salesforce account needed.
#
# Starts a throwaway PostgreSQL with conf/crm.sql and the bundled Salesforce
# stand-in, then: a first sync that pulls the org's Accounts and Contacts and
# pushes the rows an application inserted; a Salesforce edit pulled; the same
# field changed on both sides under each conflict policy; a manual conflict
# listed and resolved; an idle run that writes nothing.  Stops everything it
# started.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
export O

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

. "$top/tests/lib/common.sh"
. "$top/tests/lib/twoway.sh"
unset SYNCENGINE_NO_PROGRESS

say "starting a throwaway PostgreSQL with the CRM schema (conf/crm.sql) and the Salesforce stand-in"
twoway_setup --accounts 3 --contacts 8 --leads 0
export SALESFORCE_LOGIN_URL="$SF_org_URL" SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
export SALESFORCE_REFRESH_TOKEN=test-refresh-token SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s
ini=conf/crm.ini
crm() {
    sfstub_settle "$SF_org_URL"
    "$O/syncengine" --once -c "$ini" --state-dir "$T/state" 2>&1 | grep -E "done:|conflict on|run (success|partial|failed)" |
        sed 's/^[0-9T:.-]*Z //; s/ run=[0-9a-f-]*//'
}
written() { sf GET /__stub/stats | python3 -c 'import json, sys; print(json.load(sys.stdin)["records_written"])'; }
contact_sf() {
    sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    if r["Email"] == sys.argv[1]:
        print("Salesforce: %s %s, Title = %s" % (r["FirstName"], r["LastName"], r["Title"]))' "$1"
}
show() {
    psql -X -q -P pager=off -c "SELECT first_name, last_name, email, title, salesforce_id, salesforce_sync_status AS status
                                FROM contacts WHERE email = '$1'"
    contact_sf "$1"
}
sfid() { sql "SELECT salesforce_id FROM contacts WHERE email = '$1'"; }

say "the application inserts two companies and three contacts with plain SQL"
sql "INSERT INTO companies (name, industry, city) VALUES ('Zonnepanelen Noord', 'Energy', 'Groningen'), ('Kaasmakerij', 'Retail', 'Gouda')"
sql "INSERT INTO contacts (first_name, last_name, email, title, company_id)
     SELECT f, l, e, 'Owner', (SELECT id FROM companies WHERE name = c)
     FROM (VALUES ('Anna', 'de Vries', 'anna@zon.example', 'Zonnepanelen Noord'),
                  ('Bram', 'Jansen', 'bram@kaas.example', 'Kaasmakerij'),
                  ('Cor', 'Bakker', 'cor@kaas.example', 'Kaasmakerij')) v (f, l, e, c)"

say "run 1: the org's Accounts and Contacts are pulled, the new rows pushed (Ids written back)"
crm
psql -X -q -P pager=off -c "SELECT name, city, salesforce_id, salesforce_sync_status AS status FROM companies ORDER BY name"
show anna@zon.example

say "a Salesforce user edits Anna's title; run 2 pulls it"
sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$(sfid anna@zon.example)\"], \"set\": {\"Title\": \"CEO\"}}]" >/dev/null
crm
show anna@zon.example

for policy in salesforce_wins crm_wins newest_wins manual; do
    say "conflict_policy = $policy: Bram's title changed in the table, then in Salesforce"
    sql "UPDATE contacts SET title = 'Table: $policy' WHERE email = 'bram@kaas.example'"
    sleep 0.2
    sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$(sfid bram@kaas.example)\"], \"set\": {\"Title\": \"Salesforce: $policy\"}}]" >/dev/null
    CRM_CONFLICT_POLICY=$policy crm
    show bram@kaas.example
done

say "syncengine conflicts -c conf/crm.ini"
"$O/syncengine" conflicts -c "$ini" --state-dir "$T/state"
id=$(sql "SELECT id FROM syncengine.sync_conflicts WHERE outcome = 'open'")
say "syncengine conflicts resolve -c conf/crm.ini $id --keep database; the next run settles it"
"$O/syncengine" conflicts resolve -c "$ini" --state-dir "$T/state" "$id" --keep database
CRM_CONFLICT_POLICY=manual crm
show bram@kaas.example

say "different fields on each side merge: Cor's phone in the table, his title in Salesforce"
sql "UPDATE contacts SET phone = '+31 182 123 456' WHERE email = 'cor@kaas.example'"
sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$(sfid cor@kaas.example)\"], \"set\": {\"Title\": \"Kaasmeester\"}}]" >/dev/null
crm
psql -X -q -P pager=off -c "SELECT first_name, phone, title FROM contacts WHERE email = 'cor@kaas.example'"

say "an idle run: reads the engine's own writes back and writes nothing on either side"
before=$(written)
crm
echo "records written to Salesforce by the idle run: $(( $(written) - before ))"
psql -X -q -P pager=off -c "SELECT sync_type, sync_status, records_processed AS processed, records_updated AS updated,
                                   duration_ms FROM sync_logs ORDER BY started_at"
