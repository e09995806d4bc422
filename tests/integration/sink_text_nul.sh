#!/bin/sh
# sink_text_nul.sh - a Lead whose LastName holds a NUL character (\u0000 in
# the JSON, which is valid JSON) must not stop the stream.  The page is read;
# the PostgreSQL sink then applies its text_nul policy to the value that
# PostgreSQL text cannot store:
#   - reject (the default): that one record is rejected, named with its key
#     and column; every other record of the page is stored, the cursor moves
#     on, the run is 'partial' (exit 6);
#   - strip: stored without the NUL;
#   - replace: each NUL becomes text_nul_replacement (default U+FFFD).
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 40 --leads 60
fk_run
fk_expect_rc 0 "the first run"

# sink_policy WORD: [sink henk] text_nul = WORD in the test configuration
sink_policy() {
    sed -i '/^text_nul = /d' "$FK_CONF"
    sed -i "s/^\\[sink henk\\]\$/[sink henk]\\ntext_nul = $1/" "$FK_CONF"
}

ids=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"update","object":"Lead","count":1,"set":{"LastName":"Ng\u0000uyen"},"same_stamp":true},
      {"op":"update","object":"Lead","where":"LastName != null","count":3,"set":{"Title":"Fine"},"same_stamp":true}]') \
    || die "mutate failed"
nul_id=$(printf '%s' "$ids" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["ids"][0])')
fk_settle
last_name() { fk_sql "SELECT replace(last_name, U&'\\FFFD', '<?>') FROM leads WHERE source_id = '$nul_id'"; }
before=$(last_name)

note "reject (default): one record rejected, the rest of its page stored"
fk_run
fk_expect_rc 6 "a run with one record holding a NUL character"
fk_expect_status partial "reject"
grep -q "not complete JSON" "$T/run.log" && die "the page was refused as not JSON"
fk_log_has "$nul_id.*last_name.*NUL character" "the rejected record is named with its key and column"
[ "$(last_name)" = "$before" ] || die "the rejected record's row changed: $(last_name)"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE title = 'Fine' AND source_id <> '$nul_id'")" -ge 2 ] \
    || die "the other records of the page were not stored"
fk_sql "SELECT error_details::text FROM sync_logs ORDER BY started_at DESC LIMIT 1" | grep -q "$nul_id" \
    || die "the run log does not name the rejected record"

note "strip: stored without the NUL character, in text and in JSON (jsonb)"
sink_policy strip
acct=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"update","object":"Account","count":1,"set":{"Name":"Ac\u0000me"}}]' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["ids"][0])') || die "account mutate failed"
fk_mutate "[{\"op\":\"touch\",\"object\":\"Lead\",\"ids\":[\"$nul_id\"]},
            {\"op\":\"touch\",\"object\":\"Contact\",\"where\":\"AccountId = '$acct'\"}]"
fk_settle
fk_run
fk_expect_rc 0 "text_nul = strip"
fk_expect_status success "strip"
[ "$(last_name)" = "Nguyen" ] || die "strip stored '$(last_name)'"
# Account.Name goes to company (text) and into source_metadata (jsonb, where NUL is \u0000)
n=$(fk_sql "SELECT count(*) FROM leads WHERE source = 'salesforce_contact' AND company = 'Acme'
            AND source_metadata->>'salesforce_account' = 'Acme'")
[ "$n" -ge 1 ] || die "the contacts of the account with a NUL in its name were not stored stripped"
fk_log_has "value\(s\) with NUL characters stored with them stripped" "the stripped values are logged"

note "replace: each NUL character becomes U+FFFD"
sink_policy replace
fk_mutate "[{\"op\":\"update\",\"object\":\"Lead\",\"ids\":[\"$nul_id\"],\"set\":{\"LastName\":\"\\u0000Ng\\u0000uyen\"}}]"
fk_settle
fk_run
fk_expect_rc 0 "text_nul = replace"
fk_expect_status success "replace"
[ "$(last_name)" = "<?>Ng<?>uyen" ] || die "replace stored '$(last_name)'"
echo ok
