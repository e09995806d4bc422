#!/bin/bash
# http_source_incremental.sh - incremental reading of the http source, against stand-ins and PostgreSQL:
#   - cursor_field (issues API, updated_since, pages of 5 while five issues share each
#     timestamp): ties split across pages are all read; a second run reads nothing
#     (the boundary's keys are kept with the cursor); issues updated to one new stamp,
#     then more created with the very same stamp in a later run: each run reads
#     exactly the new ones, none lost, none repeated;
#   - time_window (ElevenLabs, call_start_after_unix, lookback 2h): every run re-reads
#     the window and PostgreSQL rewrites nothing; a conversation that gains two messages
#     gets exactly those two events inserted; a conversation inserted at the head while
#     a full read pages (the later pages shift by one) loses nothing and is read by
#     the next run; with detail_skip_unchanged an idle run makes 1 probe + 1 list
#     request and no detail request.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/elstub/lib.sh"
[ -f "$O/plugins/http.so" ] || skip "http plugin not built"
pg_start || exit $?

note "cursor_field: ties across pages and runs"
stub_start API tests/apistub/apistub.py --issues 23
export ISSUES_TOKEN=issues-test-token
pg_psql -c "CREATE TABLE issues (id bigint PRIMARY KEY, title text, updated_at timestamptz)"
cat >"$T/issues.ini" <<'INI'
[source issues]
plugin = http
base_url = ${API_URL}
auth = bearer
auth_token = ${ISSUES_TOKEN}
path = /api/issues
param = per_page=5
stream = issues
records = /items
key = /id
paginate = page
page_size = 5
incremental = cursor_field
cursor_field = /updated_at
cursor_param = updated_since
sorted = true

[sink pg]
plugin = postgres
conninfo = ${DATABASE_URL}

[job issues]
source = issues
sink = pg

[stream issues.issues]
object = issues
target = issues

[map issues.issues]
id = id
title = title
updated_at = updated_at
INI
same_issues() {
    stub_ctl "$API_URL" GET /__stub/truth |
        python3 -c 'import json, sys; [print("%d|%s" % (i["id"], i["title"])) for i in json.load(sys.stdin)]' >"$T/want"
    pg_psql -c "SELECT id, title FROM issues ORDER BY id" >"$T/got"
    diff -u "$T/want" "$T/got" >&2 || die "issues differ: $1"
}
hs_run "$T/issues.ini" 0
[ "$(hs_done issues)" = "23 23 0 0" ] || die "first run: $(hs_done issues)"
same_issues "after the first run"
stub_ctl "$API_URL" POST /__stub/stats/reset >/dev/null
hs_run "$T/issues.ini" 0
[ "$(hs_done issues)" = "0 0 0 0" ] || die "a run without changes read $(hs_done issues)"
[ "$(stub_stat "$API_URL" list)" = 2 ] || die "idle run: $(stub_stat "$API_URL" list) list requests, expected probe + 1"
stub_ctl "$API_URL" POST /__stub/mutate '[{"op": "update", "id": 3, "set": {"title": "three"}, "stamp": "2024-03-02T00:00:00Z"},
    {"op": "update", "id": 17, "set": {"title": "seventeen"}, "stamp": "2024-03-02T00:00:00Z"}]' >/dev/null
hs_run "$T/issues.ini" 0
[ "$(hs_done issues)" = "2 0 2 0" ] || die "two updates at one stamp: $(hs_done issues)"
stub_ctl "$API_URL" POST /__stub/mutate '[{"op": "insert", "count": 7, "stamp": "2024-03-02T00:00:00Z"}]' >/dev/null
hs_run "$T/issues.ini" 0
[ "$(hs_done issues)" = "7 7 0 0" ] || die "seven new issues at the boundary's stamp (pages of 5): $(hs_done issues)"
same_issues "after ties across runs"
hs_run "$T/issues.ini" 0
[ "$(hs_done issues)" = "0 0 0 0" ] || die "the boundary was read again: $(hs_done issues)"

note "time_window: lookback re-reads write nothing"
el_schema
stub_start EL tests/elstub/elstub.py --conversations 12 --messages 4 --spread 3600
export ELEVENLABS_API_KEY=xi-test-key
tw="incremental = time_window
window_param = call_start_after_unix
lookback = 2h
page_size = 5"
el_conf "$T/el.ini" "$tw"
hs_run "$T/el.ini" 0
[ "$(hs_done conversations)" = "12 12 0 0" ] || die "first run: $(hs_done conversations)"
elstub_check conversations conversation_events
grep -q 'reading conversations from {"t":' "$T/out.log" && die "the first run had a cursor"
hs_run "$T/el.ini" 0
grep -q 'reading conversations from {"t":' "$T/out.log" || die "no time-window cursor was saved"
[ "$(hs_done conversations)" = "2 0 0 2" ] || die "re-read of the 2h window: $(hs_done conversations)"
[ "$(hs_done events)" = "8 0 0 8" ] || die "events re-read: $(hs_done events)"

note "time_window: a conversation that gains messages gets only the new events"
stub_ctl "$EL_URL" POST /__stub/mutate '[{"op": "add_messages", "conversation_id": "conv_000001", "count": 2}]' >/dev/null
hs_run "$T/el.ini" 0
[ "$(hs_done conversations)" = "2 0 1 1" ] || die "conversations after new messages: $(hs_done conversations)"
[ "$(hs_done events)" = "10 2 0 8" ] || die "events after new messages: $(hs_done events)"
elstub_check conversations conversation_events

note "pages that shift while a full read pages through them"
# list request 1 is the probe, 2 the first page: the insert lands before page 2 is answered
stub_ctl "$EL_URL" POST /__stub/mutate '[{"op": "insert_on_list", "after": 3, "count": 1}]' >/dev/null
hs_run "$T/el.ini" 0 --full-refresh
[ "$(hs_done conversations)" = "12 0 0 12" ] || die "a shifted page lost or repeated one: $(hs_done conversations)"
grep -q "stream conversations: 12 record(s) from 3 page(s), .* 1 listed again on a shifted page" "$T/out.log" ||
    die "the shifted page's repeat was not skipped: $(grep 'record(s) from' "$T/out.log")"
[ "$(pg_psql -c "SELECT count(*) FROM conversations")" = 12 ] || die "rows after the shifted read"
hs_run "$T/el.ini" 0
[ "$(hs_done conversations)" = "3 1 0 2" ] || die "the conversation inserted at the head: $(hs_done conversations)"
elstub_check conversations conversation_events

note "detail_skip_unchanged: requests of an idle run"
el_conf "$T/skip.ini" "$tw" "detail_skip_unchanged = true"
hs_run "$T/skip.ini" 0
stub_ctl "$EL_URL" POST /__stub/stats/reset >/dev/null
hs_run "$T/skip.ini" 0
[ "$(hs_done conversations)" = "0 0 0 0" ] || die "idle run with detail_skip_unchanged: $(hs_done conversations)"
[ "$(stub_stat "$EL_URL" list)/$(stub_stat "$EL_URL" detail)" = "2/0" ] ||
    die "idle run: $(stub_stat "$EL_URL" list) list and $(stub_stat "$EL_URL" detail) detail requests, expected 2/0"
stub_ctl "$EL_URL" POST /__stub/mutate '[{"op": "add_messages", "conversation_id": "conv_000000", "count": 1}]' >/dev/null
hs_run "$T/skip.ini" 0
[ "$(hs_done events)" = "5 1 0 4" ] || die "a grown conversation with detail_skip_unchanged: $(hs_done events)"
[ "$(stub_stat "$EL_URL" detail)" = 1 ] || die "detail requests for one grown conversation: $(stub_stat "$EL_URL" detail)"
elstub_check conversations conversation_events
echo "ok: http source incremental"
