#!/bin/bash
# example_jsonl.sh - the jsonl example connector's behaviour through the engine.
#
# Builds examples/jsonl/jsonl.c against the source tree's headers and runs the
# build's engine with it on small files:
#   - pass-through (no [map]) in batches of 3: JSON types, flattened nested
#     objects, arrays as JSON, "_op" not passed on, every line in order;
#   - a bad line fails the run; the lines before it are stored and the cursor
#     stops at it, so after the line is fixed the next run continues there
#     without repeating anything;
#   - a record without its key field fails with a message naming the field;
#   - a file truncated below the saved cursor fails and asks for a full
#     refresh, and --full-refresh reads it all again;
#   - a dotted key_field reaches into nested objects; deletes arrive as such;
#   - a last line still without its newline is left for a later run;
#   - `syncengine discover` lists the stream and typed fields.
# (The installed, out-of-tree variant is example_out_of_tree.sh.)
#
# Exit 0 pass, 77 skip (not built / no jansson), anything else fail.
set -eu
. "$(dirname "$0")/../lib/common.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
pkg-config --exists jansson 2>/dev/null || skip "jansson development files not installed"

tmp=$T
unset SYNCENGINE_PLUGIN_DIR

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

mkdir "$tmp/plugins"
${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$top/include" $(pkg-config --cflags jansson) -fPIC -shared \
    -fvisibility=hidden -Wl,--no-undefined -o "$tmp/plugins/jsonl.so" "$top/examples/jsonl/jsonl.c" \
    $(pkg-config --libs jansson) || fail "could not build jsonl.so"

# sync INI EXPECTED_EXIT [ARGS...]: runs the engine once; output in $tmp/log.
sync() {
    local ini=$1 want=$2 code=0
    shift 2
    $SYNCENGINE --once -c "$ini" --plugin-dir "$tmp/plugins" "$@" >"$tmp/log" 2>&1 || code=$?
    if [ "$code" -ne "$want" ]; then
        cat "$tmp/log" >&2
        fail "$(basename "$ini"): exit code $code, expected $want"
    fi
}

# same FILE: FILE equals $tmp/expected.
same() {
    diff -u "$tmp/expected" "$1" >"$tmp/diff" || { cat "$tmp/diff" >&2; fail "$2: unexpected output"; }
}

write_ini() { # NAME INPUT OUTPUT KEY_FIELD [MAP...]
    local ini=$tmp/$1.ini
    cat >"$ini" <<INI
[engine]
state_dir = $tmp/state-$1

[source in]
plugin = jsonl
path = $2
stream = things
key_field = $4

[sink out]
plugin = jsonl
path = $3

[job j]
source = in
sink = out
batch_size = 3

[stream j.things]
object = things
target = things
INI
    shift 4
    if [ $# -gt 0 ]; then
        printf '\n[map j.things]\n' >>"$ini"
        printf '%s\n' "$@" >>"$ini"
    fi
}

echo "== pass-through, batches of 3"
in=$tmp/in.jsonl
out=$tmp/out.jsonl
cat >"$in" <<'JSON'
{"id": "a", "n": 1, "f": 1.5, "b": true, "z": null, "arr": [1, "x"], "obj": {"x": {"y": "deep"}}, "empty": {}, "ts": "2024-05-01T10:00:00Z"}
{"id": "b", "n": -2}
{"id": 3, "_op": "upsert", "s": "caf\u00e9 \"quoted\""}
{"id": "d", "_op": "delete"}
{"id": "e"}
{"id": "f"}
{"id": "g", "n": 9007199254740993}
JSON
write_ini pass "$in" "$out" id
sync "$tmp/pass.ini" 0
cat >"$tmp/expected" <<'JSON'
{"_stream":"things","_key":"a","_op":"upsert","id":"a","n":1,"f":1.5,"b":true,"z":null,"arr":[1,"x"],"obj.x.y":"deep","empty":{},"ts":"2024-05-01T10:00:00Z"}
{"_stream":"things","_key":"b","_op":"upsert","id":"b","n":-2}
{"_stream":"things","_key":"3","_op":"upsert","id":3,"s":"café \"quoted\""}
{"_stream":"things","_key":"d","_op":"delete","id":"d"}
{"_stream":"things","_key":"e","_op":"upsert","id":"e"}
{"_stream":"things","_key":"f","_op":"upsert","id":"f"}
{"_stream":"things","_key":"g","_op":"upsert","id":"g","n":9007199254740993}
JSON
same "$out" "pass-through"
size=$(stat -c %s "$in")
grep -q "\"$size\"" "$tmp/state-pass/state.json" || fail "saved cursor is not the file size $size: $(cat "$tmp/state-pass/state.json")"

echo "== a bad line stops the run; the lines before it are kept"
cat >>"$in" <<'JSON'
{"id": "h"}
this is not json
{"id": "i"}
JSON
sync "$tmp/pass.ini" 5
grep -q "in.jsonl: line at byte offset $((size + 12))" "$tmp/log" || { cat "$tmp/log" >&2; fail "the error does not name the file and offset"; }
echo '{"_stream":"things","_key":"h","_op":"upsert","id":"h"}' >>"$tmp/expected"
same "$out" "after the bad line"
# Fix the line in place: everything before it stays byte-identical.
sed -i 's/^this is not json$/{"id": "fixed"}/' "$in"
sync "$tmp/pass.ini" 0
printf '%s\n' '{"_stream":"things","_key":"fixed","_op":"upsert","id":"fixed"}' \
    '{"_stream":"things","_key":"i","_op":"upsert","id":"i"}' >>"$tmp/expected"
same "$out" "after fixing the bad line"

echo "== a record without its key"
echo '{"name": "no key"}' >>"$in"
sync "$tmp/pass.ini" 5
grep -q 'key field "id" is missing' "$tmp/log" || { cat "$tmp/log" >&2; fail "missing key not reported"; }
same "$out" "after the keyless line"

echo "== truncated input needs a full refresh"
printf '%s\n' '{"id": "new1"}' '{"id": "new2"}' >"$in"
sync "$tmp/pass.ini" 5
grep -q "run a full refresh" "$tmp/log" || { cat "$tmp/log" >&2; fail "truncation not reported"; }
same "$out" "after truncation"
sync "$tmp/pass.ini" 0 --full-refresh
printf '%s\n' '{"_stream":"things","_key":"new1","_op":"upsert","id":"new1"}' \
    '{"_stream":"things","_key":"new2","_op":"upsert","id":"new2"}' >>"$tmp/expected"
same "$out" "after the full refresh"
sync "$tmp/pass.ini" 0
same "$out" "incremental run after the full refresh"

echo "== dotted key_field and a mapping"
in2=$tmp/in2.jsonl
out2=$tmp/out2.jsonl
cat >"$in2" <<'JSON'
{"meta": {"uid": "u-1"}, "name": "One", "account": {"name": "Acme"}}
{"meta": {"uid": 2}, "name": "Two", "account": {"name": null}}
{"meta": {"uid": "u-1"}, "_op": "delete"}
JSON
write_ini dotted "$in2" "$out2" meta.uid "uid = meta.uid" "name = name" "company = account.name"
sync "$tmp/dotted.ini" 0
cat >"$tmp/expected" <<'JSON'
{"_stream":"things","_key":"u-1","_op":"upsert","uid":"u-1","name":"One","company":"Acme"}
{"_stream":"things","_key":"2","_op":"upsert","uid":2,"name":"Two","company":null}
{"_stream":"things","_key":"u-1","_op":"delete","uid":"u-1","name":null,"company":null}
JSON
same "$out2" "dotted key"

echo "== a last line without its newline waits"
printf '%s' '{"meta": {"uid": "u-3"}, "name": "Thr' >>"$in2"
sync "$tmp/dotted.ini" 0
same "$out2" "partial line"
printf '%s\n' 'ee"}' >>"$in2"
sync "$tmp/dotted.ini" 0
echo '{"_stream":"things","_key":"u-3","_op":"upsert","uid":"u-3","name":"Three","company":null}' >>"$tmp/expected"
same "$out2" "completed line"

echo "== discover"
$SYNCENGINE discover in -c "$tmp/dotted.ini" --plugin-dir "$tmp/plugins" >"$tmp/log" 2>&1 || { cat "$tmp/log" >&2; fail "discover failed"; }
for want in "things" "meta.uid" "name" "account.name"; do
    grep -qF -- "$want" "$tmp/log" || { cat "$tmp/log" >&2; fail "discover does not list $want"; }
done
if grep -q "_op" "$tmp/log"; then fail "discover lists _op as a field"; fi

echo "ok: jsonl connector behaves"
