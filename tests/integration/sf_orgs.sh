#!/bin/sh
# sf_orgs.sh - several Salesforce orgs (tenants) through the engine, against
# one stand-in serving each refresh token as its own org at its own
# instance_url:
#   - two jobs with their own refresh tokens copy exactly their own org's
#     records, one token call each;
#   - a source configured with a valid access_token and instance_url makes no
#     token call; with an expired one it refreshes once and carries on;
#   - an org that rotates its refresh token: a session that expires in the
#     middle of a run is renewed with the rotated token (the configured one is
#     dead by then), and the next run uses it too;
#   - one org's slow token endpoint does not delay another org's logins;
#   - no token of any org reaches the log or the state directory.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_jsonl.sh"
sf_jsonl_setup

sfstub_start sf --contacts 5 --leads 5 --accounts 2 --orgs 2 --org-records 60
ctl() { sfstub_ctl "$SF_sf_URL" "$@"; }
counter() { # ORG NAME: a counter of org ORG
    ctl GET "/__stub/orgs/$1" | python3 -c "import json, sys; print(json.load(sys.stdin)['$2'])"
}

# source NAME REFRESH [extra lines]: a source section
source_section() {
    _n=$1 _rt=$2
    shift 2
    cat <<INI
[source $_n]
plugin = salesforce
login_url = $SF_sf_URL
client_id = test-client-id
client_secret = test-client-secret
refresh_token = $_rt
lag = 0s
lookback = 0s
batch_size = 200
$(printf '%s\n' "$@")

INI
}

# job NAME SOURCE: a job copying Contacts and Leads of SOURCE into $T/NAME.jsonl
job_section() {
    cat <<INI
[sink $1]
plugin = jsonl
path = $T/$1.jsonl

[job $1]
source = $2
sink = $1

[stream $1.contacts]
object = Contact
target = contacts

[map $1.contacts]
source_id = Id
email = Email

[stream $1.leads]
object = Lead
target = leads

[map $1.leads]
source_id = Id
email = Email

INI
}

run() { # INI [ARGS]
    _ini=$1
    shift
    $SYNCENGINE --once -c "$_ini" --plugin-dir "$T/plugins" "$@" >"$T/run.log" 2>&1
    rc=$?
    cat "$T/run.log" >>"$T/engine.log"
}

# exact OUT ORG: OUT holds exactly ORG's contacts and leads, nothing of another org
exact() {
    ctl GET "/__stub/truth?object=Contact&org=$2" >"$T/c.json"
    ctl GET "/__stub/truth?object=Lead&org=$2" >"$T/l.json"
    python3 - "$1" "$T/c.json" "$T/l.json" <<'PY' || die "$1 is not exactly the records of org $2"
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
for stream, path in (("contacts", sys.argv[2]), ("leads", sys.argv[3])):
    truth = {r["Id"]: r for r in json.load(open(path))["records"]}
    got = [r for r in out if r["_stream"] == stream]
    if len(got) != len(truth) or {r["_key"] for r in got} != set(truth):
        print("%s: %d records, org has %d (or other ids)" % (stream, len(got), len(truth)))
        sys.exit(1)
    for r in got:
        if r.get("email") != truth[r["_key"]]["Email"]:
            print("%s %s: %r" % (stream, r["_key"], r))
            sys.exit(1)
PY
}

note "two orgs, two jobs, each with its own refresh token"
{
    printf '[engine]\nstate_dir = %s/state\nmax_jobs = 2\n\n' "$T"
    source_section a org-0001
    source_section b org-0002
    job_section ja a
    job_section jb b
} >"$T/two.ini"
run "$T/two.ini"
[ $rc -eq 0 ] || die "the two jobs failed ($rc): $(tail -n 5 "$T/run.log")"
exact "$T/ja.jsonl" org-0001
exact "$T/jb.jsonl" org-0002
[ "$(counter org-0001 token_calls)" = 1 ] || die "org-0001: $(counter org-0001 token_calls) token calls, expected 1"
[ "$(counter org-0002 token_calls)" = 1 ] || die "org-0002: $(counter org-0002 token_calls) token calls, expected 1"
[ "$(counter default token_calls)" = 0 ] || die "the default org was asked for a token"

note "a stored access token is used first: no token call"
ctl POST /services/oauth2/token \
    'grant_type=refresh_token&client_id=test-client-id&client_secret=test-client-secret&refresh_token=org-0001' \
    >"$T/token.json"
access=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$T/token.json")
iurl=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["instance_url"])' "$T/token.json")
case "$iurl" in "$SF_sf_URL"/org/*) ;; *) die "org-0001's instance_url is $iurl" ;; esac
{
    printf '[engine]\nstate_dir = %s/state\n\n' "$T"
    source_section a org-0001 "access_token = $access" "instance_url = $iurl"
    job_section ja a
} >"$T/stored.ini"
ctl POST '/__stub/stats/reset?org=org-0001' >/dev/null
run "$T/stored.ini" --full-refresh
[ $rc -eq 0 ] || die "a run with a stored access token failed ($rc): $(tail -n 5 "$T/run.log")"
[ "$(counter org-0001 token_calls)" = 0 ] || die "$(counter org-0001 token_calls) token calls with a valid stored access token"
[ "$(counter org-0001 queries)" -ge 2 ] || die "org-0001 was not queried"

note "an expired stored access token: one refresh, and the run goes on"
ctl POST '/__stub/auth?org=org-0001' '{"expire_access_tokens": true}' >/dev/null
: >"$T/ja.jsonl"
run "$T/stored.ini" --full-refresh
[ $rc -eq 0 ] || die "a run with an expired stored access token failed ($rc): $(tail -n 5 "$T/run.log")"
[ "$(counter org-0001 token_calls)" = 1 ] || die "$(counter org-0001 token_calls) token calls after the expiry, expected 1"
exact "$T/ja.jsonl" org-0001

note "rotation: a session renewed in the middle of a run uses the rotated refresh token"
ctl POST /__stub/orgs '{"refresh_token": "rotating-org-token", "name": "rot", "records": 1200, "rotate": true}' >/dev/null
{
    printf '[engine]\nstate_dir = %s/state\n\n' "$T"
    source_section r rotating-org-token
    job_section jr r
} >"$T/rot.ini"
# the 2nd query page (of Contacts, 600 records in pages of 200) expires the session
ctl POST /__stub/faults '{"faults": [{"match": "next", "after": 1, "times": 1, "kind": "expire_token"}]}' >/dev/null
run "$T/rot.ini"
[ $rc -eq 0 ] || die "the run whose session expired after a rotation failed ($rc): $(tail -n 5 "$T/run.log")"
[ "$(counter rot token_calls)" = 2 ] || die "$(counter rot token_calls) token calls, expected 2 (login, one refresh)"
exact "$T/jr.jsonl" rot
ctl DELETE /__stub/faults >/dev/null
ctl POST '/__stub/auth?org=rot' '{"expire_access_tokens": true}' >/dev/null
run "$T/rot.ini"
[ $rc -eq 0 ] || die "the next run did not use the rotated refresh token ($rc): $(tail -n 5 "$T/run.log")"
[ "$(counter rot token_calls)" = 3 ] || die "$(counter rot token_calls) token calls, expected 3"

note "one org's slow token endpoint holds up no other org's login"
# org-0001's token endpoint takes 8 s; org-0002's session expires before its
# second stream, so its re-login happens while org-0001's login is under way
ctl POST /__stub/faults '{"faults": [
  {"match": "token", "org": "org-0001", "kind": "slow", "delay": 8, "times": -1},
  {"match": "queryAll", "org": "org-0002", "after": 1, "times": 1, "kind": "expire_token"}]}' >/dev/null
rm -f "$T/ja.jsonl" "$T/jb.jsonl"
start=$(date +%s)
$SYNCENGINE --once -c "$T/two.ini" --plugin-dir "$T/plugins" --full-refresh >"$T/run.log" 2>&1 &
pid=$!
want=$(( $(ctl GET '/__stub/truth?object=Contact&org=org-0002' | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])') + \
         $(ctl GET '/__stub/truth?object=Lead&org=org-0002' | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])') ))
while [ "$(cat "$T/jb.jsonl" 2>/dev/null | wc -l)" -lt "$want" ] && [ $(( $(date +%s) - start )) -lt 20 ]; do
    sleep 0.2
done
took=$(( $(date +%s) - start ))
wait $pid
rc=$?
cat "$T/run.log" >>"$T/engine.log"
[ $rc -eq 0 ] || die "the two jobs failed ($rc): $(tail -n 5 "$T/run.log")"
[ "$took" -le 5 ] || die "org-0002's job took ${took}s: it waited for org-0001's slow login"
[ "$(ctl GET /__stub/faults | python3 -c 'import json,sys; print(json.load(sys.stdin)["faults"][1]["fired"])')" = 1 ] \
    || die "org-0002's session did not expire"
exact "$T/jb.jsonl" org-0002
exact "$T/ja.jsonl" org-0001
ctl DELETE /__stub/faults >/dev/null

note "no token reaches the log or the state directory"
assert_no_secrets org-0001 org-0002 rotating-org-token "$access" test-client-secret Bearer
if grep -rqF -e "$access" -e org-0001 -e org-0002 -e rotating-org-token "$T/state"; then
    die "a token was written to the state directory: $(grep -rlF -e "$access" -e org-0001 -e org-0002 -e rotating-org-token "$T/state")"
fi
echo ok
