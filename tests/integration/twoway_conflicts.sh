#!/bin/sh
# twoway_conflicts.sh - records changed on both sides since their last sync,
# under each conflict policy (conf/crm.sql schema, the stand-in):
#   - salesforce_wins and database_wins (by its seed-002 name crm_wins): the
#     same field changed to different values ends with the winner's value on
#     both sides, recorded as a resolved conflict with both versions;
#   - newest_wins: each side's own modification time decides (SystemModstamp
#     against updated_at), both ways round;
#   - different fields changed on each side merge, without a conflict;
#   - manual: neither side is written, the row shows 'conflict', `syncengine
#     conflicts` lists it open (text and --json); `conflicts resolve ID --keep
#     database` settles it on the next run.
# Exit 0 pass, 77 skip, anything else fail.
# runs long: started first by tests/run.sh
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

sql "INSERT INTO companies (name) VALUES ('Acme BV')"
sql "INSERT INTO contacts (first_name, last_name, email, title, company_id)
     SELECT 'P' || g, 'Person' || g, 'p' || g || '@example.com', 'Base', (SELECT id FROM companies)
     FROM generate_series(1, 6) g"
ini="$T/crm.ini"
TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
policy() { twoway_ini "$ini" "direction = both" "conflict_policy = $1"; }
# sfid N: contact N's Salesforce Id (read once, after the first push)
sfid() { sed -n "s/^p$1|//p" "$T/ids"; }
# sf_set N FIELD VALUE: a Salesforce user edits contact N
sf_set() {
    sf POST /__stub/mutate "[{\"op\": \"update\", \"object\": \"Contact\", \"ids\": [\"$(sfid "$1")\"], \"set\": {\"$2\": \"$3\"}}]" >/dev/null
}
# db_set N COLUMN VALUE: the application edits contact N
db_set() { sql "UPDATE contacts SET $2 = '$3' WHERE email = 'p$1@example.com'"; }
# snap: Salesforce's contacts once, as "Id|Title|FirstName|Phone" lines; sf_get N FIELD reads them
snap() {
    sf GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["records"]:
    print("|".join(r[f] or "" for f in ("Id", "Title", "FirstName", "Phone")))' >"$T/snap"
}
sf_get() {
    _col=$(case $2 in Title) echo 2 ;; FirstName) echo 3 ;; Phone) echo 4 ;; esac)
    grep "^$(sfid "$1")|" "$T/snap" | cut -d'|' -f"$_col"
}
db_get() { sql "SELECT $2 FROM contacts WHERE email = 'p$1@example.com'"; }
outcome() { sql "SELECT outcome FROM syncengine.sync_conflicts WHERE db_key = (SELECT id::text FROM contacts WHERE email = 'p$1@example.com') ORDER BY id DESC LIMIT 1"; }
run_ok() {
    tw_settle
    twoway_run "$ini"
    [ $rc -eq 0 ] || { cat "$T/run.log"; die "$1: run exited $rc"; }
    snap
}

policy newest_wins
run_ok "first push"
sql "SELECT split_part(email, '@', 1) || '|' || salesforce_id FROM contacts" >"$T/ids"
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL")" = 6 ] || die "not pushed"

note "salesforce_wins"
db_set 1 title "DB title"
sf_set 1 Title "SF title"
policy salesforce_wins
run_ok salesforce_wins
[ "$(db_get 1 title)" = "SF title" ] || die "salesforce_wins: row has '$(db_get 1 title)'"
[ "$(sf_get 1 Title)" = "SF title" ] || die "salesforce_wins: Salesforce has '$(sf_get 1 Title)'"
[ "$(outcome 1)" = salesforce_won ] || die "salesforce_wins: outcome '$(outcome 1)'"
[ "$(sql "SELECT db_version->>'title' || '|' || (sf_version->>'title') || '|' || fields::text || '|' || policy
          FROM syncengine.sync_conflicts WHERE outcome = 'salesforce_won'")" = 'DB title|SF title|["title"]|salesforce_wins' ] ||
    die "salesforce_wins: the conflict's versions are not recorded"

note "crm_wins (database_wins)"
db_set 2 title "DB title"
sf_set 2 Title "SF title"
policy crm_wins
run_ok crm_wins
[ "$(db_get 2 title)" = "DB title" ] || die "crm_wins: row has '$(db_get 2 title)'"
[ "$(sf_get 2 Title)" = "DB title" ] || die "crm_wins: Salesforce has '$(sf_get 2 Title)'"
[ "$(outcome 2)" = database_won ] || die "crm_wins: outcome '$(outcome 2)'"

note "newest_wins both ways; different fields merge"
# one after the other: the later edit has the later modification time (checked below)
db_set 3 title "DB title"
sf_set 3 Title "SF title"
sf_set 4 Title "SF title"
db_set 4 title "DB title"
db_set 5 first_name "Pat"
sf_set 5 Phone "+31 30 123 4567"
policy newest_wins
run_ok newest_wins
[ "$(db_get 3 title)|$(sf_get 3 Title)" = "SF title|SF title" ] || die "newest_wins: Salesforce's newer edit lost"
[ "$(db_get 4 title)|$(sf_get 4 Title)" = "DB title|DB title" ] || die "newest_wins: the row's newer edit lost"
[ "$(outcome 3)|$(outcome 4)" = "salesforce_won|database_won" ] || die "newest_wins outcomes: $(outcome 3)|$(outcome 4)"
[ "$(sql "SELECT string_agg((sf_modified > db_modified)::text, ',' ORDER BY db_key = (SELECT id::text FROM contacts WHERE email = 'p4@example.com'))
          FROM syncengine.sync_conflicts WHERE policy = 'newest_wins'")" = "true,false" ] ||
    die "newest_wins: the recorded modification times are not ordered as the edits were"
[ "$(db_get 5 "first_name || '|' || phone")" = "Pat|+31 30 123 4567" ] || die "merge: row has $(db_get 5 "first_name || '|' || phone")"
[ "$(sf_get 5 FirstName)|$(sf_get 5 Phone)" = "Pat|+31 30 123 4567" ] || die "merge: Salesforce has $(sf_get 5 FirstName)|$(sf_get 5 Phone)"
[ -z "$(outcome 5)" ] || die "merge recorded a conflict"

note "manual: nothing written, the conflict waits"
db_set 6 title "DB title"
sf_set 6 Title "SF title"
policy manual
run_ok manual
[ "$(db_get 6 title)|$(sf_get 6 Title)" = "DB title|SF title" ] || die "manual wrote a side"
[ "$(db_get 6 salesforce_sync_status)" = conflict ] || die "manual: row status '$(db_get 6 salesforce_sync_status)'"
$SYNCENGINE conflicts -c "$ini" >"$T/conflicts.txt" 2>>"$T/engine.log" || die "conflicts exited $?"
grep -q "crm.contacts .* open " "$T/conflicts.txt" || { cat "$T/conflicts.txt"; die "conflicts lists no open conflict"; }
grep -q "^5 conflict(s), 1 open$" "$T/conflicts.txt" || { cat "$T/conflicts.txt"; die "conflicts' count"; }
$SYNCENGINE conflicts -c "$ini" --json >"$T/conflicts.json" 2>>"$T/engine.log" || die "conflicts --json exited $?"
id=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
o = [c for c in d["conflicts"] if c["outcome"] == "open"]
assert d["open"] == 1 and d["total"] == 5, d
assert o[0]["db_version"]["title"] == "DB title" and o[0]["sf_version"]["title"] == "SF title", o
print(o[0]["id"])' "$T/conflicts.json") || die "conflicts --json: $(cat "$T/conflicts.json")"
note "an idle run leaves it open and writes nothing"
run_ok "manual idle"
[ "$(db_get 6 title)|$(sf_get 6 Title)" = "DB title|SF title" ] || die "manual idle run wrote a side"
[ "$(sql "SELECT count(*) FROM syncengine.sync_conflicts")" = 5 ] || die "the open conflict was recorded again"
$SYNCENGINE conflicts resolve 999 --keep database -c "$ini" >/dev/null 2>&1
[ $? -eq 3 ] || die "resolving a conflict that does not exist did not exit 3"
$SYNCENGINE conflicts resolve "$id" --keep sideways -c "$ini" >/dev/null 2>&1
[ $? -eq 2 ] || die "a bad --keep did not exit 2"
$SYNCENGINE conflicts resolve "$id" --keep database -c "$ini" >"$T/resolve.txt" 2>>"$T/engine.log" ||
    die "conflicts resolve exited $?"
grep -q "the database version is kept at the next run" "$T/resolve.txt" || die "resolve said: $(cat "$T/resolve.txt")"
run_ok "resolved"
[ "$(db_get 6 title)|$(sf_get 6 Title)" = "DB title|DB title" ] || die "resolve --keep database: $(db_get 6 title)|$(sf_get 6 Title)"
[ "$(db_get 6 salesforce_sync_status)" = synced ] || die "resolved row status '$(db_get 6 salesforce_sync_status)'"
[ "$(sql "SELECT outcome || '|' || keep || '|' || (resolved_at IS NOT NULL) FROM syncengine.sync_conflicts WHERE id = $id")" = "database_won|database|true" ] ||
    die "the conflict is not closed: $(sql "SELECT outcome, keep, resolved_at FROM syncengine.sync_conflicts WHERE id = $id")"
echo "ok"
