#!/bin/bash
# http_source.sh - the declarative http source against stand-ins, into a real PostgreSQL:
#   - ElevenLabs (tests/elstub): 45 conversations of 4 messages listed 10 per page with
#     the cursor in the body, one detail request each (4 at a time), the transcript
#     as a second stream (parent key + position): the tables equal the stand-in, typed
#     (unix seconds -> timestamptz, numbers, JSON -> jsonb, a flattened member), and
#     the requests are exactly 1 (probe) + 5 pages + 45 details: the events stream is
#     replayed from the conversations' read, no request of its own;
#   - the issues API (tests/apistub) read with each other paging style: page numbers,
#     offsets, a next URL in the body and the Link header, bearer authentication:
#     23 issues in pages of 5 each time, exact rows, 1 + 5 list requests per style.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/elstub/lib.sh"
[ -f "$O/plugins/http.so" ] || skip "http plugin not built"
pg_start || exit $?
el_schema
stub_start EL tests/elstub/elstub.py --conversations 45 --messages 4
export ELEVENLABS_API_KEY=xi-test-key

note "ElevenLabs: list (cursor paging), details, transcript stream"
el_conf "$T/el.ini" "page_size = 10" "detail_concurrency = 4"
hs_run "$T/el.ini" 0
[ "$(hs_done conversations)" = "45 45 0 0" ] || die "conversations: $(hs_done conversations)"
[ "$(hs_done events)" = "180 180 0 0" ] || die "events: $(hs_done events)"
elstub_check conversations conversation_events
[ "$(stub_stat "$EL_URL" list)" = 6 ] || die "list requests: $(stub_stat "$EL_URL" list), expected 1 probe + 5 pages"
[ "$(stub_stat "$EL_URL" detail)" = 45 ] || die "detail requests: $(stub_stat "$EL_URL" detail), expected 45"
row=$(pg_psql -c "SELECT agent_name, duration_secs, metadata->>'termination_reason', cost, call_successful,
                         started_at = to_timestamp((metadata->>'start_time_unix_secs')::bigint)
                  FROM conversations WHERE conversation_id = 'conv_000007'")
[ "$row" = "Agent a|10|end_call|40|success|t" ] || die "typed row: $row"
[ "$(pg_psql -c "SELECT role || ':' || time_in_call_secs FROM conversation_events
                 WHERE conversation_id = 'conv_000003' AND position = 3")" = "user:7.5" ] || die "event row"

note "ElevenLabs: a filter parameter from the environment; an empty one is not sent"
ELEVENLABS_AGENT_ID=agent_b hs_run "$T/el.ini" 0 --full-refresh
[ "$(hs_done conversations)" = "23 0 0 23" ] || die "agent_id filter: $(hs_done conversations)"

note "issues API: page, offset, next_url and link paging with a bearer token"
stub_start API tests/apistub/apistub.py --issues 23
export ISSUES_TOKEN=issues-test-token
{
    printf '[engine]\nstate_dir = %s/state2\n\n[sink pg]\nplugin = postgres\nconninfo = ${DATABASE_URL}\n\n' "$T"
    for style in page offset next_url link; do
        pg_psql -c "CREATE TABLE issues_$style (id bigint PRIMARY KEY, title text, state text, labels jsonb,
                                                assignee text, updated_at timestamptz, votes integer)"
        cat <<INI
[source issues_$style]
plugin = http
base_url = \${API_URL}
auth = bearer
auth_token = \${ISSUES_TOKEN}
path = /api/issues
param = per_page=5
stream = issues
records = /items
key = /id
paginate = $style
next_url = /next
page_size = 5
field_type = updated_at:timestamp

[job j_$style]
source = issues_$style
sink = pg

[stream j_$style.issues]
object = issues
target = issues_$style

[map j_$style.issues]
id = id
title = title
state = state
labels = labels
assignee = assignee.login
updated_at = updated_at
votes = votes

INI
    done
} >"$T/issues.ini"
hs_run "$T/issues.ini" 0
stub_ctl "$API_URL" GET /__stub/truth | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    print("%d|%s|%s|%s|%s|%s|%d" % (i["id"], i["title"], i["state"], json.dumps(i["labels"]),
          (i["assignee"] or {}).get("login", ""), i["updated_at"].replace("T", " ").replace("Z", "+00"), i["votes"]))' \
    >"$T/issues.want"
for style in page offset next_url link; do
    [ "$(hs_done issues | head -n 1)" != "" ] || die "no counts"
    pg_psql -c "SELECT id, title, state, labels::text, coalesce(assignee, ''), updated_at, votes FROM issues_$style ORDER BY id" \
        >"$T/issues.$style"
    diff -u "$T/issues.want" "$T/issues.$style" >&2 || die "issues read with paginate = $style differ"
done
[ "$(stub_stat "$API_URL" list)" = 24 ] || die "list requests: $(stub_stat "$API_URL" list), expected 4 x (1 + 5)"
[ "$(stub_stat "$API_URL" unauthorized)" = 0 ] || die "a request went without the token"
echo "ok: http source"
