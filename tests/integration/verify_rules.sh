#!/bin/bash
# verify_rules.sh - integrity rules of [verify JOB.STREAM] sections, run by
# `syncengine verify` in the database of the side they name:
#   - orphans = prospect_id -> prospects.id lists the emails whose prospect is
#     missing (NULL references are not orphans);
#   - unique = message_id lists each duplicated value with its row count;
#   - rule.NAME = <predicate> lists the rows in an impossible state;
#   - side = source runs them in the SQLite file instead;
#   - all clear: exit 0; a violation: exit 8 even though the rows agree;
#   - a malformed rule or an unknown key is a configuration error naming its
#     file:line (exit 3).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE emails (id TEXT PRIMARY KEY, prospect_id TEXT, message_id TEXT, sent_at TIMESTAMP, opened_at TIMESTAMP,
                        updated_at TIMESTAMP);
   CREATE TABLE prospects (id TEXT PRIMARY KEY);
   INSERT INTO prospects VALUES ('p1'), ('p2');
   INSERT INTO emails VALUES ('e1', 'p1', 'm1', '2024-01-01T10:00:00Z', '2024-01-01T11:00:00Z', '2024-01-01T00:00:00Z'),
                             ('e2', 'p2', 'm2', '2024-01-01T10:00:00Z', NULL, '2024-01-01T00:00:00Z'),
                             ('e3', NULL, 'm3', '2024-01-01T10:00:00Z', NULL, '2024-01-01T00:00:00Z');"
pg_psql -c "CREATE TABLE prospects (id text PRIMARY KEY); INSERT INTO prospects VALUES ('p1'), ('p2');
            CREATE TABLE emails (id text PRIMARY KEY, prospect_id text, message_id text, sent_at timestamptz,
                                 opened_at timestamptz)" >/dev/null
conf() { # extra lines of [verify from_edge.emails]
    cat >"$T/v.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job from_edge]
source = edge
sink = pg

[stream from_edge.emails]
object = emails
target = emails
source.settle = 0s

[map from_edge.emails]
id = id
prospect_id = prospect_id
message_id = message_id
sent_at = sent_at
opened_at = opened_at

[verify from_edge.emails]
$(printf '%s\n' "$@")
INI
}
verify() { # EXPECTED_EXIT [args]
    local want=$1 code=0
    shift
    $SYNCENGINE verify -c "$T/v.ini" "$@" >"$T/v.out" 2>"$T/v.err" || code=$?
    [ "$code" = "$want" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify: exit code $code, expected $want"; }
}
conf "orphans = prospect_id -> prospects.id" "unique = message_id" "rule.opened_before_sent = opened_at < sent_at"
sqlite_run "$T/v.ini" 0

note "all rules hold"
verify 0
cat >"$T/want" <<'TXT'
from_edge.emails: agree: source 3 rows, target 3 rows (1 ranges summed, 0 rows fetched)
  orphans prospect_id -> prospects.id (target): none
  unique message_id (target): none
  rule.opened_before_sent (target): none
verify from_edge: agree
TXT
diff -u "$T/want" "$T/v.out" || die "report with every rule holding"

note "violations in the target, rows otherwise equal"
pg_psql -c "DELETE FROM prospects WHERE id = 'p2';
            INSERT INTO emails VALUES ('e4', 'p9', 'm1', now(), NULL), ('e5', 'p9', 'm1', now(), NULL),
                                      ('e6', 'p1', 'm6', '2024-01-02T10:00:00Z', '2024-01-02T09:00:00Z')" >/dev/null
q "INSERT INTO emails VALUES ('e4', 'p9', 'm1', '2024-01-03T10:00:00Z', NULL, '2024-01-01T00:00:00Z'),
                             ('e5', 'p9', 'm1', '2024-01-03T10:00:00Z', NULL, '2024-01-01T00:00:00Z'),
                             ('e6', 'p1', 'm6', '2024-01-02T10:00:00Z', '2024-01-02T09:00:00Z', '2024-01-01T00:00:00Z')"
pg_psql -c "UPDATE emails SET sent_at = '2024-01-03T10:00:00Z' WHERE id IN ('e4', 'e5')" >/dev/null
verify 8
cat >"$T/want" <<'TXT'
from_edge.emails: different: source 6 rows, target 6 rows; 0 missing, 0 extra, 0 different (1 ranges summed, 0 rows fetched)
  orphans prospect_id -> prospects.id (target): 3 row(s): e2 (p2) e4 (p9) e5 (p9)
  unique message_id (target): 1 duplicated value(s): m1 (3 rows)
  rule.opened_before_sent (target): 1 row(s): e6
verify from_edge: different
TXT
diff -u "$T/want" "$T/v.out" || die "report of the violations"
verify 8 --json
python3 - "$T/v.out" <<'PY' || die "--json rules"
import json, sys
s = json.load(open(sys.argv[1]))["jobs"][0]["streams"][0]
r = {x["rule"]: x for x in s["rules"]}
assert s["n_violations"] == 5, s
assert r["orphans prospect_id -> prospects.id"]["rows"] == [{"key": "e2", "value": "p2"}, {"key": "e4", "value": "p9"}, {"key": "e5", "value": "p9"}], r
assert r["unique message_id"]["values"] == [{"value": "m1", "rows": 3}], r
assert r["rule.opened_before_sent"]["rows"] == [{"key": "e6"}], r
PY

note "side = source: the same rules in the SQLite file"
conf "side = source" "orphans = prospect_id -> prospects.id" "unique = message_id"
verify 8
grep -qx "  orphans prospect_id -> prospects.id (source): 2 row(s): e4 (p9) e5 (p9)" "$T/v.out" &&
    grep -qx "  unique message_id (source): 1 duplicated value(s): m1 (3 rows)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "rules on the source side"; }

note "configuration errors name the file:line"
conf "orphans = prospect_id prospects.id"
code=0; $SYNCENGINE check -c "$T/v.ini" >"$T/c.out" 2>&1 || code=$?
[ "$code" = 3 ] && grep -q "v.ini:2[0-9]: orphans item \"prospect_id prospects.id\" is not COLUMN -> TABLE.COLUMN" "$T/c.out" ||
    { cat "$T/c.out" >&2; die "malformed orphans accepted (exit $code)"; }
conf "uniq = message_id"
code=0; $SYNCENGINE check -c "$T/v.ini" >"$T/c.out" 2>&1 || code=$?
[ "$code" = 3 ] && grep -q "unknown option 'uniq' in \[verify from_edge.emails\]" "$T/c.out" ||
    { cat "$T/c.out" >&2; die "unknown key accepted (exit $code)"; }
echo "ok: verify rules"
