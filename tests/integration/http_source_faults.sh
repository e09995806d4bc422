#!/bin/bash
# http_source_faults.sh - the http source meets the faults of a real API (ElevenLabs stand-in,
# 30 conversations listed 10 per page, details 4 at a time, into PostgreSQL):
#   - a 429 storm on the details with Retry-After: 1 (each request refused
#     once or more): the waits follow Retry-After, the run succeeds, nothing is lost;
#   - 429 on a list page, 503 without Retry-After, connection resets, bodies cut off
#     mid-way, a 200 that is an HTML page, a detail slower than the timeout: each
#     retried with backoff, exactly as often as the fault fired, nothing lost;
#   - a persistent 503: every failing request is tried max_attempts (4) times, the
#     run fails (exit 5) without moving the cursor, and the next run completes;
#   - a Retry-After longer than retry_max ends the attempts at once (rate limited);
#   - the API key never reaches the log.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/elstub/lib.sh"
[ -f "$O/plugins/http.so" ] || skip "http plugin not built"
pg_start || exit $?
el_schema
stub_start EL tests/elstub/elstub.py --conversations 30 --messages 3
export ELEVENLABS_API_KEY=xi-test-key
el_conf "$T/el.ini" "page_size = 10" "detail_concurrency = 4" "max_attempts = 4" "retry_base = 50ms" \
    "retry_max = 2s" "timeout = 2s" "connect_timeout = 2s"
hs_run "$T/el.ini" 0
elstub_check conversations conversation_events

fired() {
    stub_ctl "$EL_URL" GET /__stub/faults | grep -o '"fired": [0-9]*' | awk '{n += $2} END {print n + 0}'
}
grow=0
# row NAME FAULTS EXPECTED_FIRED LOG_REGEX: conversations grow, the faults are set, a full read
# succeeds with every fault fired, the log shows the retry, every record arrives (the grown
# conversation's new event inserted, the rest unchanged); the tables are compared whole at the end
row() {
    note "$1"
    grow=$((grow + 1))
    stub_ctl "$EL_URL" POST /__stub/mutate "[{\"op\": \"add_messages\", \"conversation_id\": \"conv_00000$grow\", \"count\": 1}]" >/dev/null
    stub_ctl "$EL_URL" POST /__stub/faults "{\"faults\": $2}" >/dev/null
    hs_run "$T/el.ini" 0 --full-refresh
    [ "$(fired)" = "$3" ] || die "$1: the fault fired $(fired) times, expected $3"
    grep -Eq -- "$4" "$T/out.log" || { cp "$T/out.log" /tmp/hs/fail.log; die "$1: no line matching '$4' in the log"; }
    [ "$(hs_done conversations)" = "30 0 1 29" ] || die "$1: conversations $(hs_done conversations)"
    [ "$(hs_done events)" = "$((90 + grow)) 1 0 $((89 + grow))" ] || die "$1: events $(hs_done events)"
    stub_ctl "$EL_URL" DELETE /__stub/faults >/dev/null
}
# list request 1 is the probe
row "429 storm on the details, Retry-After: 1" \
    '[{"match": "detail", "after": 0, "times": 8, "kind": "status", "status": 429, "retry_after": "1"}]' 8 \
    'attempt 1 of 4 failed \(HTTP 429: .*too_many_concurrent_requests.*retrying in 1000 ms'
row "429 on a list page" \
    '[{"match": "list", "after": 2, "times": 2, "kind": "status", "status": 429, "retry_after": "0"}]' 2 \
    'GET /v1/convai/conversations attempt 2 of 4 failed \(HTTP 429'
row "503 without Retry-After" \
    '[{"match": "any", "after": 3, "times": 3, "kind": "status", "status": 503}]' 3 'failed \(HTTP 503'
row "connection reset" \
    '[{"match": "list", "after": 2, "times": 2, "kind": "reset"}]' 2 'failed \(transport error'
row "truncated body" \
    '[{"match": "detail", "after": 5, "times": 3, "kind": "truncate"}]' 3 'failed \(transport error|not complete JSON'
row "HTML instead of JSON" \
    '[{"match": "list", "after": 1, "times": 1, "kind": "nonjson"}]' 1 'not complete JSON'
row "a detail slower than the timeout" \
    '[{"match": "detail", "after": 2, "times": 1, "kind": "slow", "delay": 3}]' 1 'transport error: Timeout'

elstub_check conversations conversation_events

note "persistent 503: max_attempts per request, the run fails, the next run completes"
stub_ctl "$EL_URL" POST /__stub/mutate '[{"op": "add_messages", "conversation_id": "conv_000020", "count": 2}]' >/dev/null
stub_ctl "$EL_URL" POST /__stub/faults '{"faults": [{"match": "list", "after": 2, "times": -1, "kind": "status", "status": 503}]}' >/dev/null
hs_run "$T/el.ini" 5
[ "$(fired)" = 4 ] || die "persistent 503: fired $(fired) times, expected 4 (max_attempts of the second page)"
grep -q "attempt 3 of 4 failed" "$T/out.log" || die "persistent 503: not retried"
grep -q "attempt 4 of 4 failed" "$T/out.log" && die "persistent 503: a fifth attempt was announced"
grep -q "failed after 4 attempts: HTTP 503" "$T/out.log" || die "persistent 503: the error does not say what failed"
stub_ctl "$EL_URL" DELETE /__stub/faults >/dev/null
hs_run "$T/el.ini" 0
elstub_check conversations conversation_events

note "Retry-After longer than retry_max"
stub_ctl "$EL_URL" POST /__stub/faults '{"faults": [{"match": "list", "after": 1, "times": -1, "kind": "status", "status": 429, "retry_after": "3600"}]}' >/dev/null
code=0
$SYNCENGINE --once -c "$T/el.ini" >"$T/out.log" 2>&1 || code=$?
cat "$T/out.log" >>"$T/engine.log"
[ "$code" != 0 ] || die "a run told to come back in an hour succeeded"
[ "$(fired)" = 1 ] || die "Retry-After beyond retry_max: $(fired) requests, expected 1"
grep -q "retry after 3600000 ms, more than retry_max" "$T/out.log" || die "the message does not give the wait: $(tail -n 3 "$T/out.log")"
assert_no_secrets xi-test-key
echo "ok: http source faults"
