#!/bin/bash
# sf_sink_errors.sh - records Salesforce refuses are rejected one by one, with
# the record's key, Salesforce's statusCode, message and fields; the other
# records of the same call commit and the run ends `partial` (exit 6):
#   INVALID_EMAIL_ADDRESS, REQUIRED_FIELD_MISSING, STRING_TOO_LONG (upsert),
#   INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST (create), ENTITY_IS_DELETED
#   (update of a deleted record), and a value the field cannot hold, refused
#   before sending.  A second run does not send them again.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh"

long=$(printf 'x%.0s' $(seq 81))
accounts=$(sf_truth Account | python3 -c 'import json,sys; print(" ".join(r["Id"] for r in json.load(sys.stdin)["records"]))')
set -- $accounts
sf_ctl POST /__stub/mutate "[{\"op\": \"delete\", \"object\": \"Account\", \"ids\": [\"$2\"]}]" >/dev/null
q "CREATE TABLE people (id TEXT PRIMARY KEY, last TEXT, email TEXT, updated_at TEXT);
   CREATE TABLE deals (id TEXT PRIMARY KEY, name TEXT, stage TEXT, amount TEXT, close_date TEXT, updated_at TEXT);
   CREATE TABLE phones (id TEXT PRIMARY KEY, phone TEXT, updated_at TEXT);
   INSERT INTO people VALUES ('good1', 'Good', 'good1@example.com', '2024-01-01T00:00:00Z'),
                             ('bademail', 'Bad', 'not-an-address', '2024-01-01T00:00:00Z'),
                             ('good2', 'Good', NULL, '2024-01-01T00:00:00Z'),
                             ('nolast', NULL, 'nolast@example.com', '2024-01-01T00:00:00Z'),
                             ('toolong', '$long', 'long@example.com', '2024-01-01T00:00:00Z'),
                             ('good3', 'Good', 'good3@example.com', '2024-01-01T00:00:00Z');
   INSERT INTO deals VALUES ('okdeal', 'Fine', 'Prospecting', '10', '2024-09-30', '2024-01-01T00:00:00Z'),
                            ('badstage', 'Odd', 'Almost Won', '10', '2024-09-30', '2024-01-01T00:00:00Z'),
                            ('badamount', 'Odd', 'Prospecting', 'lots', '2024-09-30', '2024-01-01T00:00:00Z');
   INSERT INTO phones VALUES ('$1', '+1 555 0100', '2024-01-01T00:00:00Z'), ('$2', '+1 555 0199', '2024-01-01T00:00:00Z');"

cat >"$T/sink.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(sf_sink_section sf)

[job push]
source = edge
sink = sf

[stream push.people]
object = people
target = Contact
source.settle = 0s
sink.operation = upsert
sink.external_id = Ext_Id__c

[map push.people]
LastName = last
Email = email

[stream push.deals]
object = deals
target = Opportunity
source.settle = 0s
sink.operation = create
sink.records_per_call = 1

[map push.deals]
Name = name
StageName = stage
Amount = amount
CloseDate = close_date

[stream push.phones]
object = phones
target = Account
source.settle = 0s

[map push.phones]
Id = id
Phone = phone
INI

note "one call per stream (two for deals: one record a call, the third is refused before sending); the refused records are rejected, the others commit"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 6
[ "$(done_line people)" = "6 read, 3 inserted, 0 updated, 0 unchanged, 0 deleted, 3 failed" ] || die "people: $(done_line people)"
[ "$(done_line deals)" = "3 read, 1 inserted, 0 updated, 0 unchanged, 0 deleted, 2 failed" ] || die "deals: $(done_line deals)"
[ "$(done_line phones)" = "2 read, 0 inserted, 1 updated, 0 unchanged, 0 deleted, 1 failed" ] || die "phones: $(done_line phones)"
[ "$(sf_calls collections)" = 4 ] || die "$(sf_calls collections) calls, expected 1 + 2 + 1"
grep -q 'run partial' "$T/out.log" || die "the run is not partial"
expect() { # KEY TEXT: the rejection of KEY says TEXT
    grep -F "record $1 rejected: " "$T/out.log" | grep -qF -- "$2" \
        || die "the rejection of $1 does not say '$2': $(grep -F "record $1 " "$T/out.log")"
}
expect bademail "salesforce refused to upsert the Contact record: INVALID_EMAIL_ADDRESS: Email: invalid email address: not-an-address (fields: Email)"
expect nolast "REQUIRED_FIELD_MISSING: Required fields are missing: [LastName] (fields: LastName)"
expect toolong "STRING_TOO_LONG: Last Name: data value too large"
expect toolong "(fields: LastName)"
expect badstage "salesforce refused to create the Opportunity record: INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST: Stage: bad value for restricted picklist field: Almost Won (fields: StageName)"
expect badamount "column 'Amount': 'lots' is not a number"
expect "$2" "salesforce refused to update the Account record: ENTITY_IS_DELETED: entity is deleted"
[ "$(grep -c ' rejected: ' "$T/out.log")" = 6 ] || die "$(grep -c ' rejected: ' "$T/out.log") rejections, expected 6"

sf_truth Contact >"$T/c.json"
sf_truth Opportunity >"$T/o.json"
sf_truth Account >"$T/a.json"
python3 - "$T/c.json" "$T/o.json" "$T/a.json" "$1" <<'PY' || die "the stand-in does not hold exactly the good records"
import json, sys
c = sorted((r["Ext_Id__c"], r["LastName"], r["Email"]) for r in json.load(open(sys.argv[1]))["records"])
assert c == [("good1", "Good", "good1@example.com"), ("good2", "Good", None), ("good3", "Good", "good3@example.com")], c
o = [(r["Name"], r["StageName"]) for r in json.load(open(sys.argv[2]))["records"]]
assert o == [("Fine", "Prospecting")], o
a = {r["Id"]: r["Phone"] for r in json.load(open(sys.argv[3]))["records"]}
assert a[sys.argv[4]] == "+1 555 0100", a
PY

note "the next run sends nothing again"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(sf_calls collections)" = 0 ] || die "rejected records were sent again ($(sf_calls collections) calls)"
echo ok
