#!/bin/bash
# http_source_example.sh - conf/examples/http-issues.ini, the second example API of the http source,
# runs as shipped against its stand-in (tests/apistub) and a real PostgreSQL:
#   - 120 issues in pages of 50 followed through the Link header, bearer token: the table equals
#     the API, 1 probe + 3 list requests; a second run reads nothing; two updated issues and one
#     new one are read by the next run and nothing else;
#   - the same file switched to auth = oauth_refresh: the first request gets a token, a token
#     the API stops accepting (401) is replaced once and the read goes on; the rotated refresh
#     token (the API accepts only the latest) is kept in the state store and used by the next
#     process; no token reaches the log.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/elstub/lib.sh"
[ -f "$O/plugins/http.so" ] || skip "http plugin not built"
pg_start || exit $?
stub_start API tests/apistub/apistub.py --issues 120 --refresh-token rt-first
export ISSUES_API_URL=$API_URL ISSUES_TOKEN=issues-test-token SYNCENGINE_STATE_DIR=$T/state
ini=$top/conf/examples/http-issues.ini
pg_psql -c "CREATE TABLE issues (id bigint PRIMARY KEY, title text, state text, labels jsonb,
                                 assignee text, updated_at timestamptz, votes integer)"
same() {
    stub_ctl "$API_URL" GET /__stub/truth | python3 -c '
import json, sys
for i in json.load(sys.stdin):
    print("%d|%s|%s|%s|%s|%s|%d" % (i["id"], i["title"], i["state"], json.dumps(i["labels"]),
          (i["assignee"] or {}).get("login", ""), i["updated_at"].replace("T", " ").replace("Z", "+00"), i["votes"]))' \
        >"$T/want"
    pg_psql -c "SELECT id, title, state, labels::text, coalesce(assignee, ''), updated_at, votes FROM issues ORDER BY id" \
        >"$T/got"
    diff -u "$T/want" "$T/got" >&2 || die "issues differ: $1"
}

note "as shipped: bearer token, Link paging, updated_since"
$SYNCENGINE check -c "$ini" >/dev/null 2>&1 || die "the example does not pass check"
hs_run "$ini" 0
[ "$(hs_done issues)" = "120 120 0 0" ] || die "first run: $(hs_done issues)"
[ "$(stub_stat "$API_URL" list)" = 4 ] || die "list requests: $(stub_stat "$API_URL" list), expected 1 + 3"
same "after the first run"
hs_run "$ini" 0
[ "$(hs_done issues)" = "0 0 0 0" ] || die "second run: $(hs_done issues)"
stub_ctl "$API_URL" POST /__stub/mutate '[{"op": "update", "id": 5, "set": {"state": "closed"}, "stamp": "2024-04-01T00:00:00Z"},
    {"op": "update", "id": 77, "set": {"votes": 99}, "stamp": "2024-04-01T00:00:00Z"},
    {"op": "insert", "count": 1, "stamp": "2024-04-01T00:00:00Z"}]' >/dev/null
hs_run "$ini" 0
[ "$(hs_done issues)" = "3 1 2 0" ] || die "after two updates and an insert: $(hs_done issues)"
same "after changes"

note "the same API with the OAuth refresh grant"
sed -e 's|^auth = bearer|auth = oauth_refresh\ntoken_url = ${ISSUES_API_URL}/oauth/token\nclient_id = example-client\nrefresh_token = ${ISSUES_REFRESH_TOKEN}|' \
    -e '/^auth_token = /d' -e 's|^param = per_page=50|param = per_page=20|' "$ini" >"$T/oauth.ini"
export ISSUES_REFRESH_TOKEN=rt-first
stub_ctl "$API_URL" POST /__stub/stats/reset >/dev/null
hs_run "$T/oauth.ini" 0 --full-refresh
[ "$(hs_done issues)" = "121 0 0 121" ] || die "oauth full read: $(hs_done issues)"
[ "$(stub_stat "$API_URL" token)" = 1 ] || die "token requests: $(stub_stat "$API_URL" token), expected 1"
stub_ctl "$API_URL" POST /__stub/stats/reset >/dev/null
# the API forgets the tokens it issued when the fourth list request (the third page) arrives
stub_ctl "$API_URL" POST /__stub/expire_tokens '{"at_list": 4}' >/dev/null
stub_ctl "$API_URL" POST /__stub/mutate '[{"op": "insert", "count": 1, "stamp": "2024-01-01T00:00:00Z"}]' >/dev/null
hs_run "$T/oauth.ini" 0 --full-refresh
[ "$(hs_done issues)" = "122 1 0 121" ] || die "oauth read with a token expiring: $(hs_done issues)"
[ "$(stub_stat "$API_URL" unauthorized)" = 1 ] || die "$(stub_stat "$API_URL" unauthorized) requests met the expired token"
[ "$(stub_stat "$API_URL" token)" = 2 ] || die "token requests: $(stub_stat "$API_URL" token), expected 2"
grep -q "access token refused (HTTP 401): asking for a new one" "$T/out.log" || die "no token refresh logged"
same "after the OAuth runs"
assert_no_secrets rt-first "at-[0-9a-f]\{16\}" "rt-[0-9a-f]\{16\}" issues-test-token
echo "ok: http source example"
