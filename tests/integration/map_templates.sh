#!/bin/bash
# map_templates.sh - shipped mapping templates:
#   - `syncengine templates` lists contact, lead, account, opportunity,
#     campaign and task; `templates NAME` prints one as a [map] section;
#   - `[map JOB.STREAM] template = contact` maps a typical contacts table to
#     Contact; the section's lines override the template field by field (a
#     replaced expression, a dropped column, an added column), checked by the
#     records the stand-in holds afterwards;
#   - an unknown template is a configuration error naming file:line.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh"

note "the list and one template"
out=$($SYNCENGINE templates)
[ "$(echo "$out" | awk 'NR > 1 && NF {print $1 "/" $2}' | head -n 6 | tr '\n' ' ')" = \
  "contact/Contact lead/Lead account/Account opportunity/Opportunity campaign/Campaign task/Task " ] \
    || die "templates: $out"
$SYNCENGINE templates contact >"$T/t.out"
grep -qx '\[map JOB.STREAM\]' "$T/t.out" || die "no [map] line: $(cat "$T/t.out")"
grep -qx 'LastName  = coalesce(nullif(last_name, '"''"'), email)' "$T/t.out" || die "contact: $(cat "$T/t.out")"
code=0; $SYNCENGINE templates nosuch 2>"$T/t.err" || code=$?
[ "$code" = 2 ] && grep -qF "no mapping template 'nosuch'" "$T/t.err" || die "unknown template: $code $(cat "$T/t.err")"

q "CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, phone TEXT,
                          mobile TEXT, title TEXT, updated_at TEXT);
   INSERT INTO contacts VALUES ('c1', 'ada@example.com', 'Ada', 'Lovelace', '+44 1', '+44 7', 'Countess', '2024-01-01T00:00:00Z');
   INSERT INTO contacts VALUES ('c2', 'bob@example.com', 'Bob', '', NULL, '+1 555', 'Builder', '2024-01-01T00:00:01Z');"

write_ini() { # MAP-LINES
    cat >"$T/t.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source app)

$(sf_sink_section sf)

[job push]
source = app
sink = sf

[stream push.people]
object = contacts
target = Contact
source.settle = 0s
sink.external_id = Ext_Id__c

[map push.people]
template = contact
$1
INI
}

note "template = contact, overridden field by field"
write_ini 'Phone = coalesce(phone, mobile)
Title =
Ext_Id__c = id'
$SYNCENGINE check -c "$T/t.ini" --connect >"$T/c.log" 2>&1 || die "check: $(cat "$T/c.log")"
sf_run "$T/t.ini" 0
sf_truth Contact | python3 -c '
import json, sys
rows = sorted(json.load(sys.stdin)["records"], key=lambda r: r["Ext_Id__c"])
got = [(r["Ext_Id__c"], r["FirstName"], r["LastName"], r["Email"], r["Phone"], r["Title"]) for r in rows]
want = [("c1", "Ada", "Lovelace", "ada@example.com", "+44 1", None),
        ("c2", "Bob", "bob@example.com", "bob@example.com", "+1 555", None)]
assert got == want, got
' || die "the contacts written"

note "an unknown template names its line"
write_ini 'Ext_Id__c = id' 
sed -i 's/^template = contact/template = contcat/' "$T/t.ini"
code=0; $SYNCENGINE check -c "$T/t.ini" >"$T/c.log" 2>&1 || code=$?
line=$(grep -n '^template' "$T/t.ini" | cut -d: -f1)
[ "$code" = 3 ] || die "exit $code: $(cat "$T/c.log")"
grep -qF "t.ini:$line: [map push.people]: unknown template 'contcat' (one of contact, lead, account, opportunity, campaign, task)" "$T/c.log" \
    || die "message: $(cat "$T/c.log")"
echo ok
