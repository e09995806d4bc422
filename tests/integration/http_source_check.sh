#!/bin/bash
# http_source_check.sh - what `syncengine plugins --describe http` and `syncengine check` say about
# the http source:
#   - --describe lists every option of the plugin's table (names checked against the .so's table
#     through the generated docs page) with its default;
#   - offline, a good configuration is OK and makes no request; a configuration with seven
#     mistakes gets all seven reported at once, each with its file:line (exit 3): a key that is
#     not a JSON pointer, plain http to a remote host, auth = header without auth_token,
#     cursor_field missing for incremental = cursor_field, an unknown field_type, a lookback
#     without a time window, a stream object the source does not provide;
#   - --connect makes exactly one request; a wrong API key is refused with the server's words
#     and without the key; a records pointer that is not an array in the answer is reported
#     against the option (exit 3).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/elstub/lib.sh"
[ -f "$O/plugins/http.so" ] || skip "http plugin not built"
stub_start EL tests/elstub/elstub.py --conversations 5 --messages 2
export ELEVENLABS_API_KEY=xi-test-key DATABASE_URL="postgresql://nobody@/nowhere?host=$T"

note "plugins --describe http"
$SYNCENGINE plugins --describe http >"$T/describe" || die "describe failed"
for opt in base_url auth auth_header auth_token token_url client_id client_secret refresh_token header path param \
    stream records key paginate page_cursor page_cursor_param has_more next_url page_param page_start offset_param \
    page_size page_size_param max_pages detail_path detail_records detail_skip_unchanged detail_concurrency children \
    parent_key_field position_field incremental cursor_field cursor_param sorted window_param window_format lookback \
    field_type timeout connect_timeout max_attempts retry_base retry_max rate_limit verify_tls ca_bundle; do
    grep -q "^  $opt (" "$T/describe" || die "--describe lacks option $opt"
done
[ "$(grep -c '^  [a-z_]* (' "$T/describe")" = 48 ] || die "--describe lists $(grep -c '^  [a-z_]* (' "$T/describe") options, expected 48"
grep -A3 '^  timeout (' "$T/describe" | grep -q "default: 30s" || die "timeout's default is not 30s"
grep -q '^  auth_token (string, secret)' "$T/describe" || die "auth_token is not marked secret"

note "offline: a good configuration"
el_conf "$T/good.ini" "page_size = 5"
sed -i 's/^plugin = postgres/plugin = stdout/; /^conninfo/d' "$T/good.ini"
$SYNCENGINE check -c "$T/good.ini" >"$T/out" 2>&1 || { cat "$T/out" >&2; die "check refused a good configuration"; }
grep -q "configuration OK (1 job(s), 2 stream(s)" "$T/out" || die "check: $(cat "$T/out")"
[ "$(stub_stat "$EL_URL" requests)" = 0 ] || die "an offline check made a request"

note "offline: seven mistakes, all reported"
sed -e 's|^key = /conversation_id|key = conversation_id|' \
    -e 's|^base_url = .*|base_url = http://api.example.com|' \
    -e 's|^auth_token = .*|field_type = start_time_unix_secs:epoch|' \
    -e 's|^page_size_param = page_size|&\nincremental = cursor_field\ncursor_param = updated_since\nlookback = 48h|' \
    -e 's|^object = transcript|object = messages|' \
    -e '/^field_type = start_time_unix_secs:unix_seconds/d' "$T/good.ini" >"$T/bad.ini"
code=0
$SYNCENGINE check -c "$T/bad.ini" >"$T/out" 2>&1 || code=$?
[ "$code" = 3 ] || die "check of seven mistakes: exit $code, expected 3: $(cat "$T/out")"
line() { grep -n -m1 -E -- "$1" "$T/bad.ini" | cut -d: -f1; }
expect() { # REGEX-OF-LINE FRAGMENT
    grep -F -- "$2" "$T/out" | grep -q -- "$T/bad.ini:$(line "$1")" ||
        die "no message '$2' naming bad.ini:$(line "$1"): $(cat "$T/out")"
}
expect '^key = ' "option 'key': \"conversation_id\" is not a JSON pointer"
expect '^base_url = ' "plain http is only allowed to loopback hosts"
expect '^\[source elevenlabs\]' "option 'auth_token' is required with auth = header"
expect '^\[source elevenlabs\]' "option 'cursor_field' is required with incremental = cursor_field"
expect '^field_type = ' "\"start_time_unix_secs:epoch\" is not NAME:TYPE"
expect '^lookback = ' "option 'lookback': only used with incremental = time_window"
expect '^\[stream conv.events\]' "object \"messages\" is not a stream of [source elevenlabs] (its streams: conversations, transcript)"
[ "$(grep -c 'bad.ini:' "$T/out")" = 7 ] || die "expected 7 problems: $(cat "$T/out")"

note "--connect: one request"
stub_ctl "$EL_URL" POST /__stub/stats/reset >/dev/null
$SYNCENGINE check --connect -c "$T/good.ini" >"$T/out" 2>&1 || { cat "$T/out" >&2; die "check --connect failed"; }
[ "$(stub_stat "$EL_URL" requests)" = 1 ] || die "check --connect made $(stub_stat "$EL_URL" requests) requests, expected 1"

note "--connect: a wrong key"
code=0
ELEVENLABS_API_KEY=xi-wrong-key $SYNCENGINE check --connect -c "$T/good.ini" >"$T/out" 2>&1 || code=$?
[ "$code" != 0 ] || die "check --connect accepted a wrong key"
grep -q "HTTP 401, credentials refused.*invalid_api_key" "$T/out" || die "wrong key: $(cat "$T/out")"
grep -q "xi-wrong-key" "$T/out" && die "the API key reached the output"

note "--connect: records is not an array in the answer"
sed 's|^records = /conversations|records = /items|' "$T/good.ini" >"$T/items.ini"
code=0
$SYNCENGINE check --connect -c "$T/items.ini" >"$T/out" 2>&1 || code=$?
[ "$code" = 3 ] || die "records pointer: exit $code, expected 3: $(cat "$T/out")"
grep -q "option 'records': /items is not an array in the answer of the list request" "$T/out" ||
    die "records pointer: $(cat "$T/out")"
echo "ok: http source check"
