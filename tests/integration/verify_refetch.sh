#!/bin/bash
# verify_refetch.sh - orphans_policy = refetch, SQLite -> real PostgreSQL:
#   - `verify --fix` fetches the missing parents of the target's orphans by
#     key from the source of the stream that writes the parent table (another
#     job on the same sink), maps them through that stream's mapping (a
#     computed column is written) and writes them through its sink, then
#     verifies again: the orphans whose parent came back are gone;
#   - a parent the source does not hold either is named and its orphan stays
#     reported: still different, exit 8; once the source has it, exit 0;
#   - no stream writing the parent table: the fix says so, nothing written.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

q "CREATE TABLE prospects (id TEXT PRIMARY KEY, name TEXT, updated_at TIMESTAMP);
   CREATE TABLE emails (id TEXT PRIMARY KEY, prospect_id TEXT, subject TEXT, updated_at TIMESTAMP);
   INSERT INTO prospects VALUES ('p1', 'Acme', '2024-01-01T00:00:00Z'), ('p2', 'Bolt', '2024-01-01T00:00:00Z'),
                                ('p3', 'Crux', '2024-01-01T00:00:00Z');
   INSERT INTO emails VALUES ('e1', 'p1', 'hello', '2024-01-01T00:00:00Z'), ('e2', 'p2', 'hi', '2024-01-01T00:00:00Z'),
                             ('e3', 'p3', 'yo', '2024-01-01T00:00:00Z'), ('e4', 'p9', 'lost', '2024-01-01T00:00:00Z'),
                             ('e5', NULL, 'none', '2024-01-01T00:00:00Z');"
pg_psql -c "CREATE TABLE prospects (id text PRIMARY KEY, name text, shout text);
            CREATE TABLE emails (id text PRIMARY KEY, prospect_id text, subject text)" >/dev/null
conf() { # WITH_PEOPLE_JOB (1/0)
    {
        cat <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job mail]
source = edge
sink = pg

[stream mail.emails]
object = emails
target = emails
source.settle = 0s

[map mail.emails]
id = id
prospect_id = prospect_id
subject = subject

[verify mail.emails]
orphans = prospect_id -> prospects.id
orphans_policy = refetch
INI
        [ "$1" = 0 ] || cat <<INI

[job people]
source = edge
sink = pg

[stream people.prospects]
object = prospects
target = prospects
source.settle = 0s

[map people.prospects]
id = id
name = name
shout = upper(name)
INI
    } >"$T/v.ini"
}
verify() { # EXPECTED_EXIT [args]
    local want=$1 code=0
    shift
    $SYNCENGINE verify -c "$T/v.ini" mail "$@" >"$T/v.out" 2>"$T/v.err" || code=$?
    [ "$code" = "$want" ] || { cat "$T/v.out" "$T/v.err" >&2; die "verify $*: exit code $code, expected $want"; }
}
parents() { pg_psql -c "SELECT id || ':' || name || ':' || shout FROM prospects ORDER BY id" | tr '\n' ' '; }
conf 1
sqlite_run "$T/v.ini" 0
[ "$(parents)" = "p1:Acme:ACME p2:Bolt:BOLT p3:Crux:CRUX " ] || die "first run: $(parents)"

note "parents deleted behind the engine's back are fetched again through people.prospects"
pg_psql -c "DELETE FROM prospects WHERE id IN ('p2', 'p3')" >/dev/null
verify 8
grep -qx "  orphans prospect_id -> prospects.id (target): 3 row(s): e2 (p2) e3 (p3) e4 (p9)" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "orphans before the fix"; }
[ "$(parents)" = "p1:Acme:ACME " ] || die "verify without --fix wrote: $(parents)"
verify 8 --fix
cat >"$T/want" <<'TXT'
mail.emails: different: source 5 rows, target 5 rows; 0 missing, 0 extra, 0 different (1 ranges summed, 0 rows fetched)
  orphans prospect_id -> prospects.id (target): 3 row(s): e2 (p2) e3 (p3) e4 (p9)
  fixed: 0 upserted, 0 deleted, 0 failed; now different
  refetch for orphans prospect_id -> prospects.id: 3 parent(s) asked of people.prospects, 2 found, 2 written, 0 failed
  not at the source (their orphans stay reported): p9
verify mail: different
TXT
diff -u "$T/want" "$T/v.out" || die "verify --fix report"
[ "$(parents)" = "p1:Acme:ACME p2:Bolt:BOLT p3:Crux:CRUX " ] || die "parents after the fix: $(parents)"
verify 8 --json
python3 - "$T/v.out" <<'PY' || { cat "$T/v.out" >&2; die "orphans after the fix"; }
import json, sys
s = json.load(open(sys.argv[1]))["jobs"][0]["streams"][0]
r = s["rules"][0]
assert (r["violations"], r["rows"]) == (1, [{"key": "e4", "value": "p9"}]), r
PY

note "once the source holds the parent, the fix brings it and verify agrees"
q "INSERT INTO prospects VALUES ('p9', 'Nine', '2024-01-01T00:00:00Z')"
verify 0 --fix --json
python3 - "$T/v.out" <<'PY' || { cat "$T/v.out" >&2; die "--fix --json"; }
import json, sys
s = json.load(open(sys.argv[1]))["jobs"][0]["streams"][0]
assert (s["status_before"], s["status"]) == ("different", "agree"), s
f = s["fix"]["refetch"][0]
assert (f["parents"], f["through"], f["source_rows"], f["upserted"], f["failed"]) == (1, "people.prospects", 1, 1, 0), f
assert "not_at_source" not in f and "error" not in f, f
assert s["fix"]["after"]["rules"][0]["violations"] == 0
PY
[ "$(parents)" = "p1:Acme:ACME p2:Bolt:BOLT p3:Crux:CRUX p9:Nine:NINE " ] || die "p9: $(parents)"

note "no stream writes the parent table: said, nothing written"
conf 0
pg_psql -c "DELETE FROM prospects WHERE id = 'p1'" >/dev/null
verify 8 --fix
grep -qx "  refetch for orphans prospect_id -> prospects.id: 1 parent(s): no stream writes table \"prospects\" through sink 'pg': the parents cannot be fetched, the orphans stay reported" "$T/v.out" ||
    { cat "$T/v.out" >&2; die "no parent stream"; }
[ "$(parents)" = "p2:Bolt:BOLT p3:Crux:CRUX p9:Nine:NINE " ] || die "written without a parent stream: $(parents)"
echo "ok: verify refetch"
