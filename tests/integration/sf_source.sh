#!/bin/sh
# sf_source.sh - the Salesforce source through the engine, into the jsonl
# example sink (a file), against the Salesforce stand-in:
#   - mapped fields, relationship paths, source.where, source.fields and
#     include_deleted = false reach the query, and every record arrives once;
#   - a mapped field that does not exist fails the run naming object and
#     field, before any query is sent;
#   - plain http to a host that is not loopback is refused;
#   - a rotated refresh token is kept in the state directory and used by the
#     next run; a newly configured token wins over the stored one; no token
#     reaches the log;
#   - `syncengine discover` lists objects and the fields of Contact and Lead.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_jsonl.sh"
sf_jsonl_setup

sfstub_start org --contacts 400 --leads 300 --accounts 20 --same-modstamp 250 --rotate-refresh
export SF_URL="$SF_org_URL" SF_TOKEN=test-refresh-token

# write_ini NAME [extra lines for the source section]: a job copying Contacts and converted Leads.
write_ini() {
    _ini="$T/$1.ini"
    shift
    cat >"$_ini" <<INI
[engine]
state_dir = $T/state

[source sf]
plugin = salesforce
login_url = \${SF_URL}
client_id = test-client-id
client_secret = test-client-secret
refresh_token = \${SF_TOKEN}
lag = 0s
lookback = 0s
batch_size = 200
$(printf '%s\n' "$@")

[sink out]
plugin = jsonl
path = $T/out.jsonl

[job j]
source = sf
sink = out

[stream j.contacts]
object = Contact
target = contacts

[map j.contacts]
source_id = Id
email = Email
company = Account.Name

[stream j.leads]
object = Lead
target = leads
source.where = IsConverted = true
source.include_deleted = false
source.fields = Company, Account__bogus_is_not_here_on_purpose__c
INI
}

# run INI [ARGS]: one run; exit code in $rc, output in $T/run.log.
run() {
    _ini=$1
    shift
    $SYNCENGINE --once -c "$_ini" --plugin-dir "$T/plugins" "$@" >"$T/run.log" 2>&1
    rc=$?
    cat "$T/run.log" >>"$T/engine.log"
}

ctl() { sfstub_ctl "$SF_org_URL" "$@"; }

note "a field the object does not have refuses the run before any query"
write_ini bad
ctl POST /__stub/stats/reset >/dev/null
run "$T/bad.ini" --log-level debug
[ $rc -eq 3 ] || die "a missing source.fields entry did not refuse the run (exit $rc, expected 3)"
grep -q 'Account__bogus_is_not_here_on_purpose__c' "$T/run.log" || die "the error does not name the field: $(tail -n 3 "$T/run.log")"
grep -q 'Lead' "$T/run.log" || die "the error does not name the object"
# the SOQL is logged at debug level: the run was refused before any stream was queried
! grep -q 'FROM Contact' "$T/run.log" || die "Contact was queried although the run was refused"
! grep -q 'FROM Lead' "$T/run.log" || die "Lead was queried although a field is missing"
# (the state stays: it holds the refresh token the first run got in rotation)
rm -f "$T/out.jsonl"

note "mapped fields, relationship paths, where, fields and include_deleted"
sed -i 's/, Account__bogus_is_not_here_on_purpose__c//' "$T/bad.ini"
mv "$T/bad.ini" "$T/good.ini"
ctl POST /__stub/mutate '[{"op":"delete","object":"Contact","count":7},{"op":"convert","object":"Lead","count":5}]' >/dev/null \
    || die "mutate"
sleep 1.1
run "$T/good.ini" --full-refresh
[ $rc -eq 0 ] || die "run failed ($rc): $(tail -n 5 "$T/run.log")"
ctl GET "/__stub/truth?object=Contact&deleted=1" >"$T/contacts.json"
ctl GET "/__stub/truth?object=Lead" >"$T/leads.json"
python3 - "$T/out.jsonl" "$T/contacts.json" "$T/leads.json" <<'PY' || die "output differs from the stand-in's truth"
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
contacts = {r["Id"]: r for r in json.load(open(sys.argv[2]))["records"]}
leads = {r["Id"]: r for r in json.load(open(sys.argv[3]))["records"]}
got_c = [r for r in out if r["_stream"] == "contacts"]
got_l = [r for r in out if r["_stream"] == "leads"]
def fail(msg):
    print(msg); sys.exit(1)
if len(got_c) != len(contacts) or {r["_key"] for r in got_c} != set(contacts):
    fail("contacts: %d records for %d in Salesforce, or other keys" % (len(got_c), len(contacts)))
for r in got_c:
    t = contacts[r["_key"]]
    if r["_op"] != ("delete" if t["IsDeleted"] else "upsert"):
        fail("contact %s: op %s" % (r["_key"], r["_op"]))
    if r["_op"] == "upsert" and (r.get("email") != t["Email"] or r.get("company") != t["Account.Name"]):
        fail("contact %s: %r != %r" % (r["_key"], r, t))
conv = {k for k, t in leads.items() if t["IsConverted"]}
if not conv or {r["_key"] for r in got_l} != conv or len(got_l) != len(conv):
    fail("leads: got %d, want the %d converted ones" % (len(got_l), len(conv)))
if any(r["_op"] != "upsert" for r in got_l):
    fail("a lead arrived as a delete with include_deleted = false")
PY

note "rotated refresh tokens: kept, used by the next run, overridden by a new configured token"
# the first run rotated the configured token away: this run works only with the stored one
: >"$T/out.jsonl"
run "$T/good.ini"
[ $rc -eq 0 ] || die "second run failed ($rc): $(tail -n 5 "$T/run.log")"
ctl POST /__stub/auth '{"revoke_refresh_tokens": true, "refresh_token": "re-authorized-token"}' >/dev/null
SF_TOKEN=re-authorized-token
run "$T/good.ini"
[ $rc -eq 0 ] || die "a newly configured refresh token was not used ($rc): $(tail -n 5 "$T/run.log")"
run "$T/good.ini"
[ $rc -eq 0 ] || die "the token rotated from the new one was not kept ($rc): $(tail -n 5 "$T/run.log")"
assert_no_secrets test-refresh-token re-authorized-token test-client-secret Bearer

note "plain http to a remote host is refused"
SF_URL=http://login.example.com
run "$T/good.ini"
[ $rc -ne 0 ] || die "plain http to a remote host was accepted"
grep -q 'loopback' "$T/run.log" || die "the refusal does not explain itself: $(tail -n 3 "$T/run.log")"
SF_URL="$SF_org_URL"

note "discover"
$SYNCENGINE discover sf -c "$T/good.ini" --plugin-dir "$T/plugins" >"$T/discover.out" 2>>"$T/engine.log" \
    || die "discover failed: $(tail -n 3 "$T/engine.log")"
grep -q 'Contact' "$T/discover.out" && grep -q 'Lead' "$T/discover.out" && grep -q 'Email' "$T/discover.out" \
    || die "discover output lacks Contact, Lead or their fields: $(head -n 20 "$T/discover.out")"
echo ok
