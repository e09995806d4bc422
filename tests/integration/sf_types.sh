#!/bin/bash
# sf_types.sh - type conversion into Salesforce fields, against the stand-in
# with custom fields on Contact (multi-select picklist, picklist, double,
# percent, boolean, date, datetime, short text):
#   - values written: "a; b" and JSON arrays -> "a;b", '12.5' -> 12.5, 't' ->
#     true, a datetime with an offset -> UTC, a datetime -> its UTC day on a
#     date field, '' -> null (an update clears the field);
#   - values that cannot fit are rejected before the call, each naming its
#     record, field and reason; the others commit (exit 6);
#   - check --connect refuses a type that cannot convert and a constant outside
#     a restricted picklist, naming file:line (exit 3);
#   - read back from Salesforce into SQLite: the same values, a multi-select
#     picklist also as a JSON array (split()).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh" --custom-fields

nick21=$(printf 'n%.0s' $(seq 21))
q "CREATE TABLE people (id TEXT PRIMARY KEY, last TEXT, interests TEXT, segment TEXT, score REAL, discount TEXT,
                        newsletter TEXT, signup TEXT, last_open TEXT, nickname TEXT, updated_at TEXT);
   INSERT INTO people VALUES
     ('r1', 'One', 'Events; Webinars', 'Enterprise', 4.5, '12.5', 't', '2024-03-01', '2024-03-01T10:30:00+02:00', 'Ada', '2024-01-01T00:00:00Z'),
     ('r2', 'Two', '[\"Offers\"]', '', 7, NULL, '0', '2024-03-01T01:00:00+02:00', '2024-02-29T23:30:00-09:00', '', '2024-01-01T00:00:01Z'),
     ('bad1', 'B', NULL, 'Gold', NULL, NULL, 'f', NULL, NULL, NULL, '2024-01-01T00:00:02Z'),
     ('bad2', 'B', NULL, NULL, NULL, NULL, 'f', NULL, NULL, '$nick21', '2024-01-01T00:00:03Z'),
     ('bad3', 'B', NULL, NULL, NULL, NULL, 'f', 'someday', NULL, NULL, '2024-01-01T00:00:04Z'),
     ('bad4', 'B', 'Events;Golf', NULL, NULL, NULL, 'f', NULL, NULL, NULL, '2024-01-01T00:00:05Z'),
     ('bad5', 'B', NULL, NULL, NULL, 'lots', 'f', NULL, NULL, NULL, '2024-01-01T00:00:06Z');"

write_ini() { # EXTRA-MAP-LINES
    cat >"$T/t.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source app)

$(sf_sink_section sf)

[job push]
source = app
sink = sf

[stream push.people]
object = people
target = Contact
source.settle = 0s
sink.external_id = Ext_Id__c

[map push.people]
Ext_Id__c = id
LastName = last
Interests__c = interests
Segment__c = segment
Score__c = score
Discount__c = discount
Newsletter__c = newsletter
Signup_Date__c = signup
Last_Open__c = last_open
Nickname__c = nickname
$1
INI
}
truth() { # python expression over r (the record by Ext_Id__c) printed
    sf_truth Contact | python3 -c '
import json, sys
recs = {r["Ext_Id__c"]: r for r in json.load(sys.stdin)["records"]}
keys = ["Interests__c", "Segment__c", "Score__c", "Discount__c", "Newsletter__c", "Signup_Date__c", "Last_Open__c", "Nickname__c"]
for k in sorted(recs):
    print(k, json.dumps([recs[k][f] for f in keys]))'
}

note "check --connect: a type that cannot convert, a constant outside a restricted picklist"
write_ini "LeadSource = 'Carrier Pigeon'
DoNotCall = date(signup)"
code=0; $SYNCENGINE check -c "$T/t.ini" --connect >"$T/c.log" 2>&1 || code=$?
[ "$code" = 3 ] || die "check exit $code: $(cat "$T/c.log")"
at() { echo "t.ini:$(grep -n -- "^$1" "$T/t.ini" | head -n 1 | cut -d: -f1)"; }
grep -qF "$(at LeadSource): stream 'people': column 'LeadSource': the constant 'Carrier Pigeon' does not fit field LeadSource of Contact: 'Carrier Pigeon' is not a value of this restricted picklist" "$T/c.log" \
    || die "constant: $(cat "$T/c.log")"
grep -qF "$(at DoNotCall): stream 'people': column 'DoNotCall': the mapping gives date values, which field DoNotCall of Contact (boolean) cannot take" "$T/c.log" \
    || die "type: $(cat "$T/c.log")"
[ "$(grep -c "stream 'people'" "$T/c.log")" = 2 ] || die "more problems than two: $(cat "$T/c.log")"
write_ini "LeadSource = 'Web'"
$SYNCENGINE check -c "$T/t.ini" --connect >"$T/c.log" 2>&1 || die "the fixed mapping is refused: $(cat "$T/c.log")"

note "a run: conversions, and what cannot fit rejected before the call"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/t.ini" 6
[ "$(done_line people)" = "7 read, 2 inserted, 0 updated, 0 unchanged, 0 deleted, 5 failed" ] || die "people: $(done_line people)"
[ "$(sf_calls collections)" = 1 ] || die "$(sf_calls collections) calls"
expect() { # KEY TEXT
    grep -F "record $1 rejected: " "$T/out.log" | grep -qF -- "$2" \
        || die "the rejection of $1 does not say '$2': $(grep -F "record $1 " "$T/out.log")"
}
expect bad1 "column 'Segment__c': 'Gold' is not a value of this restricted picklist"
expect bad2 "column 'Nickname__c': 21 characters, the field holds at most 20"
expect bad3 "column 'Signup_Date__c': 'someday' is not a date (YYYY-MM-DD)"
expect bad4 "column 'Interests__c': 'Golf' is not a value of this restricted multi-select picklist"
expect bad5 "column 'Discount__c': 'lots' is not a number"
cat >"$T/want" <<'EOF2'
r1 ["Events;Webinars", "Enterprise", 4.5, 12.5, true, "2024-03-01", "2024-03-01T08:30:00.000+0000", "Ada"]
r2 ["Offers", null, 7.0, null, false, "2024-02-29", "2024-03-01T08:30:00.000+0000", null]
EOF2
truth >"$T/got"
diff "$T/want" "$T/got" >&2 || die "the records in the stand-in"

note "'' clears a field on update"
q "UPDATE people SET nickname = '', interests = '', updated_at = '2024-01-02T00:00:00Z' WHERE id = 'r1'"
sf_run "$T/t.ini" 0
[ "$(done_line people)" = "1 read, 0 inserted, 1 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "people: $(done_line people)"
[ "$(truth | head -n 1)" = 'r1 [null, "Enterprise", 4.5, 12.5, true, "2024-03-01", "2024-03-01T08:30:00.000+0000", null]' ] \
    || die "r1 after the update: $(truth | head -n 1)"

note "read back into SQLite"
# the last update is stamped "now" by the stand-in's clock: move the clock on, so
# that a read with lag = 0s is past it however fast it starts
sf_ctl POST /__stub/clock '{"advance_ms": 2000}' >/dev/null
cat >"$T/r.ini" <<INI
[engine]
state_dir = $T/state2

[source sfsrc]
plugin = salesforce
login_url = \${SF_URL}
client_id = test-client-id
client_secret = \${SF_SECRET}
refresh_token = \${SF_TOKEN}
lag = 0s

$(sqlite_section sink back)

[job pull]
source = sfsrc
sink = back

[stream pull.c]
object = Contact
target = back

[map pull.c]
id = Ext_Id__c
interests = Interests__c
interests_list = split(Interests__c, ';')
score = Score__c
newsletter = Newsletter__c
signup = Signup_Date__c
last_open = Last_Open__c
INI
q "CREATE TABLE back (id TEXT PRIMARY KEY, interests TEXT, interests_list TEXT, score REAL, newsletter INTEGER,
                      signup TEXT, last_open TEXT)"
sf_run "$T/r.ini" 0
[ "$(q "SELECT id, interests, interests_list, score, newsletter, signup, last_open FROM back ORDER BY id")" = "r1|||4.5|1|2024-03-01|2024-03-01T08:30:00.000000Z
r2|Offers|[\"Offers\"]|7.0|0|2024-02-29|2024-03-01T08:30:00.000000Z" ] || die "read back: $(q "SELECT * FROM back ORDER BY id")"
echo ok
