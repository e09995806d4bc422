#!/bin/bash
# sf_sink_check.sh - what the Salesforce sink cannot write is a configuration
# error naming it, before anything is written:
#   - offline (`check`): a malformed api_version in the [sink] section,
#     sink.operation = upsert without sink.external_id, a column that is no
#     field name;
#   - against the describe (`check --connect`, and every run before it writes):
#     a field that is not createable (Contact.Name, CreatedDate), a field the
#     object does not have, an external_id that is not an external id; each
#     named with its file:line, object and field; exit 3, no write call.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh"

q "CREATE TABLE people (id TEXT PRIMARY KEY, last TEXT, updated_at TEXT);
   INSERT INTO people VALUES ('p1', 'One', '2024-01-01T00:00:00Z');"

write_ini() { # OPTIONS MAP: the stream's sink.* lines and the map lines
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
$1

[map push.people]
$2
INI
}
check() { # EXPECTED [args]: syncengine check; output in $T/check.log
    local want=$1 code=0
    shift
    $SYNCENGINE check -c "$T/sink.ini" "$@" >"$T/check.log" 2>&1 || code=$?
    cat "$T/check.log" >>"$T/engine.log"
    [ "$code" = "$want" ] || { cat "$T/check.log" >&2; die "check exit code $code, expected $want"; }
}
at() { echo "sink.ini:$(grep -n -- "^$1" "$T/sink.ini" | head -n 1 | cut -d: -f1)"; } # the file:line of a line
says() { grep -qF -- "$1" "$T/check.log" || die "the check does not say '$1': $(cat "$T/check.log")"; }

note "offline: upsert without external_id, a column that is no field name"
write_ini 'sink.operation = upsert' 'LastName = last
`Last Name` = last'
sed -i 's/^plugin = salesforce$/&\napi_version = 61/' "$T/sink.ini"
sf_ctl POST /__stub/stats/reset >/dev/null
check 3
says "$(at api_version): [sink sf]: option 'api_version': \"61\" is not a version like \"61.0\""
says "$(at sink.operation): stream 'people': sink.operation = upsert needs sink.external_id"
says "$(at '`Last'): stream 'people': column '\`Last Name\`' is not a salesforce field name"
[ "$(sf_calls token)" = 0 ] || die "the offline check used the network"

note "against the describe: not createable, unknown field, not an external id"
write_ini 'sink.external_id = Email' 'Ext_Id__c = id
LastName = last
Name = last
CreatedDate = updated_at
Nickname__c = last'
check 0
check 3 --connect
says "$(at sink.external_id): stream 'people': sink.external_id: field Email of Contact is not an external id"
says "$(at 'Name ='): stream 'people': column 'Name': field Name of Contact is not createable"
says "$(at CreatedDate): stream 'people': column 'CreatedDate': field CreatedDate of Contact is not createable"
says "$(at Nickname__c): stream 'people': column 'Nickname__c': Contact has no field Nickname__c"
! grep -q "column 'LastName'\|column 'Ext_Id__c'" "$T/check.log" || die "a writable field was reported"

note "a run refuses before writing"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 3
grep -qF "field Name of Contact is not createable" "$T/out.log" || die "the run does not name the field: $(tail -n 3 "$T/out.log")"
[ "$(sf_calls collections)" = 0 ] || die "the run wrote"

note "fixed: the same run writes"
write_ini 'sink.external_id = Ext_Id__c' 'Ext_Id__c = id
LastName = last'
check 0 --connect
sf_run "$T/sink.ini" 0
[ "$(sf_truth Contact | python3 -c 'import json,sys; print([r["LastName"] for r in json.load(sys.stdin)["records"]])')" = "['One']" ] \
    || die "the contact was not written"
echo ok
