#!/bin/sh
# badinput_records.sh - Salesforce's answers are untrusted input.  Pages
# crafted through the stand-in's fault hook (a 200 answer with a body of our
# own) must never crash the engine, never store part of a bad page, never
# move the cursor past it, and must fail the run (exit 5) with a message
# naming the record and field at fault:
#   - a record without an Id (nothing to key it by);
#   - a boolean field holding a string, a datetime that is not one;
#   - an answer that is JSON but not a page, a page claiming more without a
#     nextRecordsUrl;
#   - a token answer sending the engine to a plain-http instance_url on
#     another host (the bearer token would travel in clear): refused.
# Each bad page also carries a well-formed record that Salesforce does not
# have: had the page been stored in part, the final comparison with the
# ground truth would find it.  After all of them an ordinary run completes.
# (A string holding \u0000 is valid JSON and is read: sink_text_nul.sh.)
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 600 --leads 100

GOOD='{"attributes": {"type": "Contact", "url": "/services/data/v61.0/sobjects/Contact/0035g00009ZZZZZAAA"},
       "Id": "0035g00009ZZZZZAAA", "SystemModstamp": "2024-01-01T00:00:00.000+0000", "IsDeleted": false,
       "LastName": "Planted", "DoNotCall": false}'

# crafted NAME RECORD-OR-BODY REGEX: Contact's first page is answered with
# BODY (or a page of GOOD and RECORD); the run must fail with REGEX.
crafted() {
    name=$1 body=$2 re=$3
    case "$body" in
    '{"totalSize"'*|'{"foo"'*) ;;
    *) body="{\"totalSize\": 2, \"done\": true, \"records\": [$GOOD, $body]}" ;;
    esac
    note "$name"
    fk_faults "[{\"match\": \"queryAll\", \"object\": \"Contact\", \"times\": 1, \"kind\": \"status\", \"status\": 200, \"body\": $(printf '%s' "$body" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read()))')}]"
    fk_run
    fk_expect_rc 5 "$name"
    [ "$(fk_fired)" = 1 ] || die "$name: the crafted page was not served"
    fk_log_has "$re" "$name: the message"
    fk_expect_status failed "$name"
    [ "$(fk_sql "SELECT count(*) FROM leads WHERE source_id = '0035g00009ZZZZZAAA'")" = 0 ] \
        || die "$name: part of a bad page was stored"
    [ "$(fk_sql "SELECT count(*) FROM syncengine.sync_state WHERE stream = 'contacts'")" = 0 ] \
        || die "$name: a cursor was saved for a bad page"
}

crafted "a record without an Id" \
    '{"attributes": {"type": "Contact"}, "SystemModstamp": "2024-01-02T00:00:00.000+0000", "LastName": "NoId"}' \
    "record 1 of the page has no Id"
crafted "a null Id" \
    '{"attributes": {"type": "Contact"}, "Id": null, "SystemModstamp": "2024-01-02T00:00:00.000+0000"}' \
    "record 1 of the page has no Id"
crafted "a string in a boolean field" \
    '{"attributes": {"type": "Contact"}, "Id": "0035g00009YYYYYAAA", "SystemModstamp": "2024-01-02T00:00:00.000+0000", "DoNotCall": "yes please"}' \
    'record 0035g00009YYYYYAAA: field "DoNotCall" should be a boolean'
crafted "a SystemModstamp that is not a datetime" \
    '{"attributes": {"type": "Contact"}, "Id": "0035g00009YYYYYAAA", "SystemModstamp": "yesterday"}' \
    'record 0035g00009YYYYYAAA: field "SystemModstamp" should be a datetime'
crafted "JSON that is not a page" '{"foo": [1, 2, 3]}' "not a page of records"
crafted "more pages without a nextRecordsUrl" \
    "{\"totalSize\": 5000, \"done\": false, \"records\": [$GOOD]}" "not done but has no nextRecordsUrl"
note "a token answer naming a plain-http instance on another host"
fk_faults '[{"match": "token", "times": -1, "kind": "status", "status": 200,
             "body": {"access_token": "00Dxx0000001gPL!planted.token.value", "instance_url": "http://evil.example.com",
                      "token_type": "Bearer", "id": "x", "issued_at": "1", "signature": "x"}}]'
# the integration's stored session (written back by the earlier runs) would be used without a token call
fk_sql "UPDATE integrations SET credentials = '{}' WHERE id = '$FK_INT'" >/dev/null
fk_stats_reset
fk_run
fk_expect_rc 5 "a token answer with a foreign plain-http instance_url"
fk_log_has "unusable instance_url.*plain http is only allowed to loopback hosts" "the refusal"
[ "$(fk_stat api_calls)" = 0 ] || die "API calls were made after a bad token answer"
grep -q "planted.token.value" "$T/engine.log" && die "the access token of the answer reached the log"

note "an ordinary run completes"
fk_nofaults
fk_run
fk_expect_rc 0 "the run after the crafted pages"
fk_check --runs "$(fk_sql "SELECT count(*) FROM sync_logs")"
echo ok
