#!/bin/bash
# d1_auth.sh - D1's credentials, against the stand-in (tests/d1stub/):
#   - a wrong API token: the run fails at once (no retries) with exit 5, a
#     message naming the D1 database, HTTP 403 and Cloudflare's "Authentication
#     error", and telling what to check; nothing is written;
#   - the token never appears in the engine's output, in check, nor in the
#     stand-in's log of the requests;
#   - a wrong database id: 404 named as such;
#   - d1_api_url with plain http to a host that is not loopback is refused by
#     check before anything is sent; an empty token too;
#   - the right token: the run succeeds.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/d1.sh"

d1q "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)"
d1stub_start
good_token=$D1_TOKEN
write_ini() {
    cat >"$T/a.ini" <<INI
[engine]
state_dir = $T/state

[source fake]
plugin = generate
streams = items
records = 20
fields = name:string

$(d1_section sink edge)

[job j]
source = fake
sink = edge

[stream j.items]
object = items
target = items

[map j.items]
id = id
name = name
INI
}
write_ini

note "a wrong token"
bad_token=wrong-$RANDOM-token-$$
export D1_TOKEN=$bad_token
before=$(d1stub_stat requests)
d1_run "$T/a.ini" 5
grep -q "D1 database $D1_DATABASE: the API token was refused (HTTP 403: Authentication error, code 10000); check d1_api_token" "$T/out.log" ||
    { cat "$T/out.log" >&2; die "no clear message for a refused token"; }
[ $(( $(d1stub_stat requests) - before )) -le 3 ] || die "a refused token was retried: $(( $(d1stub_stat requests) - before )) requests"
grep -q "retrying in" "$T/out.log" && die "a refused token was retried"
[ "$(d1q "SELECT count(*) FROM items")" = 0 ] || die "rows were written with a wrong token"
$SYNCENGINE check --connect -c "$T/a.ini" >"$T/check.log" 2>&1 && die "check --connect passed with a wrong token"
cat "$T/check.log" >>"$T/engine.log"
grep -q "API token was refused" "$T/check.log" || { cat "$T/check.log" >&2; die "check does not say the token was refused"; }
assert_no_secrets "$bad_token" "$good_token"
grep -q -- "$bad_token" "$T/d1stub.log" && die "the stand-in's request log shows the token"

note "a wrong database id"
export D1_TOKEN=$good_token
sed -i "s/^d1_database_id = .*/d1_database_id = no-such-db/" "$T/a.ini"
d1_run "$T/a.ini" 5
grep -q "D1 database no-such-db of account $D1_ACCOUNT not found (HTTP 404" "$T/out.log" || { cat "$T/out.log" >&2; die "no clear 404"; }

note "plain http to a host that is not loopback, and an empty token, are refused by check"
write_ini
sed -i "s|^d1_api_url = .*|d1_api_url = http://d1.example.com/client/v4|" "$T/a.ini"
code=0
$SYNCENGINE check -c "$T/a.ini" >"$T/check.log" 2>&1 || code=$?
[ "$code" = 3 ] || { cat "$T/check.log" >&2; die "check exit $code, expected 3"; }
grep -q 'd1_api_url.*plain http is only allowed to loopback hosts, not "d1.example.com"; use https' "$T/check.log" ||
    { cat "$T/check.log" >&2; die "the http URL is not refused"; }
write_ini
D1_TOKEN= $SYNCENGINE check -c "$T/a.ini" >"$T/check.log" 2>&1 && die "check passed with an empty token"
grep -q 'option "d1_api_token" is empty' "$T/check.log" || { cat "$T/check.log" >&2; die "an empty token is not named"; }

note "the right token"
before=$(d1stub_stat auth_failures)
d1_run "$T/a.ini" 0
[ "$(d1q "SELECT count(*) FROM items")" = 20 ] || die "the run with the right token wrote $(d1q "SELECT count(*) FROM items") rows"
[ "$(d1stub_stat auth_failures)" = "$before" ] || die "the right token was refused"
assert_no_secrets "$bad_token" "$good_token"
echo "ok: d1 auth"
