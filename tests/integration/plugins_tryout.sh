#!/bin/bash
# plugins_tryout.sh - the generate source and the stdout and null sinks.
#
#   - conf/examples/generate-stdout.ini runs as documented, with no database:
#     every line on stdout is a JSON object of the documented shape;
#   - generate is deterministic (same seed, same records; another seed, others),
#     incremental (the next run continues after the cursor), restarts on
#     --full-refresh, makes every Nth record a delete, types every field as
#     declared, and rejects an unknown field type naming the option;
#   - discover lists its streams and fields; null counts what it discards;
#   - stdout with `to = stderr` keeps stdout empty.
set -u
. "$(dirname "$0")/../lib/common.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
pd="$O/plugins"

note "conf/examples/generate-stdout.ini"
export SYNCENGINE_STATE_DIR=$T/ex1
$SYNCENGINE --once -c "$top/conf/examples/generate-stdout.ini" --plugin-dir "$pd" >"$T/ex1.out" 2>"$T/ex1.err" ||
    { cat "$T/ex1.err" >&2; die "the example failed"; }
python3 - "$T/ex1.out" <<'PY' || die "the example's output is wrong"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert [l["_stream"] for l in lines] == ["leads"] * 5 + ["accounts"] * 5, lines
assert [l["_key"] for l in lines[:5]] == ["1", "2", "3", "4", "5"], lines
for l in lines[:5]:
    assert l["_op"] == "upsert" and l["name"] == l["name"].upper() and isinstance(l["score"], int), l
    assert l["created"].startswith("2024-01-01T00:0"), l
PY
$SYNCENGINE --once -c "$top/conf/examples/generate-stdout.ini" --plugin-dir "$pd" >"$T/ex2.out" 2>/dev/null ||
    die "the second run failed"
[ "$(head -1 "$T/ex2.out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["_key"])')" = 6 ] ||
    die "the second run did not continue after the cursor: $(head -1 "$T/ex2.out")"
export SYNCENGINE_STATE_DIR=$T/ex3
$SYNCENGINE --once -c "$top/conf/examples/generate-stdout.ini" --plugin-dir "$pd" >"$T/ex3.out" 2>/dev/null || die "run 3"
cmp -s "$T/ex1.out" "$T/ex3.out" || die "the same seed gave other records"
$SYNCENGINE --once --full-refresh -c "$top/conf/examples/generate-stdout.ini" --plugin-dir "$pd" >"$T/ex4.out" 2>/dev/null ||
    die "full refresh"
cmp -s "$T/ex1.out" "$T/ex4.out" || die "--full-refresh did not start again at 1"
unset SYNCENGINE_STATE_DIR

# ini NAME SOURCE-LINES SINK-PLUGIN [SINK-LINES]
ini() {
    cat >"$T/$1.ini" <<INI
[engine]
state_dir = $T/state-$1
[source g]
plugin = generate
$2
[sink s]
plugin = $3
${4:-}
[job j]
source = g
sink = s
[stream j.things]
object = things
INI
}

note "types, deletes, seeds"
ini types "$(printf 'streams = things\nrecords = 6\nseed = 7\ndelete_every = 3\nfields = s:string, i:int, f:float, b:bool, t:timestamp, d:date, js:json')" stdout
$SYNCENGINE --once -c "$T/types.ini" --plugin-dir "$pd" >"$T/types.out" 2>"$T/types.err" || { cat "$T/types.err" >&2; die "types run"; }
python3 - "$T/types.out" <<'PY' || die "generated types are wrong"
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert len(lines) == 6, lines
for n, l in enumerate(lines, 1):
    if n % 3 == 0:
        assert l["_op"] == "delete" and l["id"] == n, l
        continue
    assert l["_op"] == "upsert" and l["id"] == n, l
    assert isinstance(l["s"], str) and isinstance(l["i"], int) and isinstance(l["f"], (int, float)), l
    assert isinstance(l["b"], bool) and re.match(r"\d{4}-\d\d-\d\dT", l["t"]) and re.match(r"^\d{4}-\d\d-\d\d$", l["d"]), l
    assert isinstance(l["js"], dict) and l["js"]["n"] == n, l
PY
sed 's/seed = 7/seed = 8/' "$T/types.ini" >"$T/types8.ini"
sed -i "s|state-types|state-types8|" "$T/types8.ini"
$SYNCENGINE --once -c "$T/types8.ini" --plugin-dir "$pd" >"$T/types8.out" 2>/dev/null || die "seed 8 run"
cmp -s "$T/types.out" "$T/types8.out" && die "another seed gave the same records"

note "null counts; stdout to stderr"
ini nul "$(printf 'streams = things\nrecords = 25')" null
$SYNCENGINE --once -c "$T/nul.ini" --plugin-dir "$pd" >"$T/nul.out" 2>&1 || { cat "$T/nul.out" >&2; die "null run"; }
grep -q "discarded 25 upserts and 0 deletes for target things" "$T/nul.out" || { cat "$T/nul.out" >&2; die "null did not count"; }
ini err "$(printf 'streams = things\nrecords = 3')" stdout "to = stderr"
$SYNCENGINE --once -c "$T/err.ini" --plugin-dir "$pd" >"$T/err.out" 2>"$T/err.err" || die "stdout to stderr run"
[ ! -s "$T/err.out" ] || die "to = stderr wrote to stdout"
[ "$(grep -c '^{"_stream":"things"' "$T/err.err")" = 3 ] || die "to = stderr did not write 3 lines to stderr"

note "discover; a bad field type"
ini disc "$(printf 'streams = one, two\nfields = name:string, when:date')" null
$SYNCENGINE discover g -c "$T/disc.ini" --plugin-dir "$pd" >"$T/disc.out" 2>&1 || { cat "$T/disc.out" >&2; die "discover"; }
for w in one two name when id; do grep -q "$w" "$T/disc.out" || { cat "$T/disc.out" >&2; die "discover does not list $w"; }; done
ini bad "fields = x:decimal" null
code=0
$SYNCENGINE --once -c "$T/bad.ini" --plugin-dir "$pd" >"$T/bad.out" 2>&1 || code=$?
[ "$code" != 0 ] || die "an unknown field type was accepted"
grep -q 'field "x" has unknown type "decimal".*bad.ini:' "$T/bad.out" || { cat "$T/bad.out" >&2; die "the error does not name the type and the file"; }
echo ok
