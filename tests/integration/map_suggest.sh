#!/bin/bash
# map_suggest.sh - `syncengine map --suggest -c FILE STREAM` proposes a [map]
# section from the describe and the table's columns, and writes nothing:
#   - into Salesforce: same names ignoring case and underscores
#     (first_name/FirstName), synonyms (zip/MailingPostalCode, mobile/
#     MobilePhone, company/Company on Lead, company/Account.Name on Contact as
#     a comment), picklist values named, the id column pointed at the
#     external-id field, unmatched columns and unmapped required fields
#     (Lead.Status) as comments;
#   - from Salesforce: one snake_case column per field, company = Account.Name;
#   - the output, with its comments, is a [map] section `check` accepts;
#   - an unknown or ambiguous stream is a usage error (exit 2).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh" --custom-fields

q "CREATE TABLE contacts (id TEXT PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, company TEXT,
                          phone TEXT, mobile TEXT, zip TEXT, segment TEXT, favourite_color TEXT, updated_at TEXT)"
cat >"$T/s.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source app)

$(sf_sink_section sf)

[source sfsrc]
plugin = salesforce
login_url = \${SF_URL}
client_id = test-client-id
client_secret = \${SF_SECRET}
refresh_token = \${SF_TOKEN}

$(sqlite_section sink out)

[job push]
source = app
sink = sf

[stream push.people]
object = contacts
target = Contact

[stream push.leads]
object = contacts
target = Lead

[job pull]
source = sfsrc
sink = out

[stream pull.people]
object = Contact
target = people
INI
sum=$(md5sum <"$T/s.ini")
files=$(ls "$T" | sort)

suggest() { # EXPECTED STREAM: output in $T/s.out
    local code=0
    $SYNCENGINE map --suggest -c "$T/s.ini" "$2" >"$T/s.out" 2>"$T/s.err" || code=$?
    [ "$code" = "$1" ] || { cat "$T/s.out" "$T/s.err" >&2; die "map --suggest $2 exited $code, expected $1"; }
}
body() { grep -v '^;' "$T/s.out" | sed 's/ *;.*//; s/  */ /g'; } # the section without comments

note "into Contact"
suggest 0 push.people
[ "$(body | tr '\n' '|')" = "[map push.people]|LastName = last_name|FirstName = first_name|MailingPostalCode = zip|Phone = phone|MobilePhone = mobile|Email = email|Segment__c = segment|" ] \
    || die "Contact: $(cat "$T/s.out")"
grep -qF "Segment__c        = segment              ; picklist, 255 characters, only values: Enterprise, Mid-Market, Small Business" "$T/s.out" \
    || die "no picklist values: $(cat "$T/s.out")"
grep -qF ";   id: keep it in the external-id field (Ext_Id__c = id, with sink.external_id = Ext_Id__c in [stream push.people])" "$T/s.out" \
    || die "no external-id hint: $(cat "$T/s.out")"
grep -qF ";   company: like Account.Name, which is a field of the related record (map AccountId to that record's Id instead)" "$T/s.out" \
    || die "no Account.Name hint: $(cat "$T/s.out")"
grep -qx ";   favourite_color" "$T/s.out" || die "favourite_color not listed: $(cat "$T/s.out")"
grep -q "required fields" "$T/s.out" && die "Contact has no required field left: $(cat "$T/s.out")"

note "the proposal, pasted into the file, passes check --connect"
{ sed -n '1,/^\[stream push.leads\]/p' "$T/s.ini" | sed '$d'; cat "$T/s.out"; } >"$T/p.ini"
$SYNCENGINE check -c "$T/p.ini" --connect >"$T/c.log" 2>&1 || die "check: $(cat "$T/c.log")"

note "into Lead: company is Company, Status is required and left unmapped"
suggest 0 leads
[ "$(body | tr '\n' '|')" = "[map push.leads]|LastName = last_name|FirstName = first_name|Company = company|PostalCode = zip|Phone = phone|MobilePhone = mobile|Email = email|" ] \
    || die "Lead: $(cat "$T/s.out")"
grep -q "^; required fields of Lead left unmapped" "$T/s.out" || die "no required section: $(cat "$T/s.out")"
grep -q "^;Status *= ?  ; picklist, 255 characters, only values: Open - Not Contacted" "$T/s.out" || die "Status: $(cat "$T/s.out")"

note "from Contact into a table"
suggest 0 pull.people
body | grep -qx "first_name = FirstName" || die "first_name: $(cat "$T/s.out")"
body | grep -qx "interests = Interests__c" || die "interests: $(cat "$T/s.out")"
body | grep -qx "company = Account.Name" || die "company: $(cat "$T/s.out")"
[ "$(body | wc -l)" = 36 ] || die "the [map] line, one line per field and company: $(body | wc -l)"

note "errors"
suggest 2 people
grep -qF "more than one stream 'people'" "$T/s.err" || die "ambiguous: $(cat "$T/s.err")"
suggest 2 push.nosuch
grep -qF "no stream 'push.nosuch'" "$T/s.err" || die "unknown: $(cat "$T/s.err")"
code=0; $SYNCENGINE map -c "$T/s.ini" push.people 2>"$T/s.err" || code=$?
[ "$code" = 2 ] || die "map without --suggest exited $code"

note "nothing was written"
[ "$(md5sum <"$T/s.ini")" = "$sum" ] || die "the configuration changed"
[ "$(ls "$T" | grep -v '^s\.\|^c\.log\|^p\.ini\|^engine.log\|^state$' | sort)" = \
  "$(echo "$files" | grep -v '^s\.\|^engine.log\|^state$')" ] || die "new files: $(ls "$T")"
echo ok
