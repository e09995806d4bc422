#!/bin/bash
# describe_sf.sh - `syncengine describe -c FILE INSTANCE [OBJECT]` against the
# Salesforce stand-in (with custom fields on Contact):
#   - an object's fields: name, label, type, length, required, createable,
#     updateable, external id, custom, picklist values (restricted or not),
#     as a table and as --json, for a [sink] and for a [source] section;
#   - without OBJECT, the org's objects (Campaign, CampaignMember, Task too);
#   - an unknown object (exit 3), an unknown section (exit 2), a plugin that
#     cannot describe (exit 4, "plugin 'sqlite' cannot describe").
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh" --custom-fields

cat >"$T/d.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(sf_sink_section sf)

[source sfsrc]
plugin = salesforce
login_url = \${SF_URL}
client_id = test-client-id
client_secret = \${SF_SECRET}
refresh_token = \${SF_TOKEN}

[job push]
source = edge
sink = sf

[stream push.people]
object = people
target = Contact
INI
q "CREATE TABLE people (id TEXT PRIMARY KEY, last TEXT, updated_at TEXT)"

run() { # EXPECTED args...: output in $T/d.out, errors in $T/d.err
    local want=$1 code=0
    shift
    $SYNCENGINE describe -c "$T/d.ini" "$@" >"$T/d.out" 2>"$T/d.err" || code=$?
    [ "$code" = "$want" ] || { cat "$T/d.out" "$T/d.err" >&2; die "describe $* exited $code, expected $want"; }
}
line() { # FIELD: its table line, blanks squeezed
    awk -v f="$1" '$1 == f' "$T/d.out" | tr -s ' '
}

note "Contact's fields as a table, from the sink"
run 0 sf Contact
head -n 1 "$T/d.out" | grep -qx "Contact (Contact): 34 field(s)" || die "heading: $(head -n 1 "$T/d.out")"
[ "$(line LastName)" = "LastName Last Name string 80 yes yes yes" ] || die "LastName: '$(line LastName)'"
[ "$(line Id)" = "Id Id id 18" ] || die "Id: '$(line Id)'"
[ "$(line Interests__c)" = "Interests__c Interests multipicklist 4099 yes yes yes Product News; Events; Webinars; Offers (restricted)" ] \
    || die "Interests__c: '$(line Interests__c)'"
[ "$(line Tags__c)" = "Tags__c Tag picklist 255 yes yes yes a; b" ] || die "Tags__c: '$(line Tags__c)'"
[ "$(line Ext_Id__c)" = "Ext_Id__c External ID string 255 yes yes yes yes" ] || die "Ext_Id__c: '$(line Ext_Id__c)'"
[ "$(line AccountId)" = "AccountId Account ID reference(Account) 18 yes yes" ] || die "AccountId: '$(line AccountId)'"

note "--json, from the source section"
run 0 sfsrc Contact --json
python3 - "$T/d.out" <<'PY' || die "json: $(head -c 600 "$T/d.out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["object"] == "Contact" and len(d["fields"]) == 34, (d["object"], len(d["fields"]))
f = {x["name"]: x for x in d["fields"]}
assert f["Score__c"] == {"name": "Score__c", "label": "Lead Score", "type": "double", "length": 0,
    "required": False, "nillable": True, "createable": True, "updateable": True, "external_id": False,
    "custom": True, "picklist": [], "restricted_picklist": False, "references": []}, f["Score__c"]
assert f["Segment__c"]["picklist"] == ["Enterprise", "Mid-Market", "Small Business"]
assert f["Segment__c"]["restricted_picklist"] is True
assert f["LastName"]["required"] is True and f["FirstName"]["required"] is False
assert f["OwnerId"]["required"] is False  # defaulted on create
assert f["Name"]["createable"] is False and f["CreatedDate"]["updateable"] is False
assert f["Ext_Id__c"]["external_id"] is True and f["Ext_Id__c"]["custom"] is True
PY

note "Task: polymorphic WhoId"
run 0 sf Task
[ "$(line WhoId)" = "WhoId Name ID reference(Contact|Lead) 18 yes yes" ] || die "WhoId: '$(line WhoId)'"

note "the objects"
run 0 sf
head -n 1 "$T/d.out" | grep -qx "8 object(s)" || die "heading: $(head -n 1 "$T/d.out")"
for o in Account Campaign CampaignMember Contact Lead Opportunity Task User; do
    awk '{print $1}' "$T/d.out" | grep -qx "$o" || die "object $o is not listed"
done
[ "$(line User)" = "User User yes yes" ] || die "User: '$(line User)'"
run 0 sf --json
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["objects"]))' "$T/d.out")" = 8 ] \
    || die "json objects"

note "errors"
run 3 sf Nosuch
grep -qF 'salesforce object "Nosuch" does not exist' "$T/d.err" || die "unknown object: $(cat "$T/d.err")"
run 2 nosuch
grep -qF "no [source nosuch] or [sink nosuch]" "$T/d.err" || die "unknown section: $(cat "$T/d.err")"
run 4 edge people
grep -qF "plugin 'sqlite' cannot describe" "$T/d.err" || die "sqlite: $(cat "$T/d.err")"
! grep -q "test-client-secret\|test-refresh-token" "$T/d.out" "$T/d.err" || die "a secret was printed"
echo ok
