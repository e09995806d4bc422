#!/bin/bash
# abi_cli.sh - the loader's verdicts as a user sees them: `syncengine plugins`
# over directories holding the test plugins of tests/abi/.
#
# Each broken plugin is put alone in a directory and must be reported on
# stderr with its path and the reason of tests/abi/README.md, with exit code 4;
# each good plugin must be listed with exit code 0.  Then all of them share
# one directory: the good ones still load, each broken one is reported once,
# and of the two plugins named "dup_name" only the first (by file name) is
# kept.  Finally `plugins --describe good_both` must show everything its
# option tables declare.
#
# The engine itself links no libcurl (ldd): HTTP belongs to the plugins that
# speak it, and the Salesforce plugin links and initializes libcurl itself.
#
# The engine binary is copied into a scratch directory so that the plugins
# beside the build's own binary (build/plugins) are not loaded as well.
#
# Exit 0 pass, 77 skip (not built), anything else fail.
set -eu
. "$(dirname "$0")/../lib/common.sh"
abi=$O/tests/abi

[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
[ -f "$abi/good_source.so" ] || skip "test plugins not built (make $O/tests/abi/good_source.so)"

tmp=$T
unset SYNCENGINE_PLUGIN_DIR
mkdir "$tmp/bin"
cp "$O/syncengine" "$tmp/bin/syncengine"
if [ "${SYNC_TEST_VALGRIND:-0}" = 1 ]; then
    engine="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $tmp/bin/syncengine"
else
    engine=$tmp/bin/syncengine
fi
failures=0

fail() {
    echo "FAIL: $*" >&2
    failures=$((failures + 1))
}

# the engine does not link libcurl; the Salesforce plugin does
if command -v ldd >/dev/null; then
    ldd "$O/syncengine" >"$tmp/ldd" || fail "ldd $O/syncengine failed"
    grep -q "libjansson" "$tmp/ldd" || fail "ldd lists no libjansson for the engine: $(cat "$tmp/ldd")"
    ! grep -q "libcurl" "$tmp/ldd" || fail "the engine links libcurl: $(grep libcurl "$tmp/ldd")"
    if [ -f "$O/plugins/salesforce.so" ]; then
        ldd "$O/plugins/salesforce.so" | grep -q "libcurl" || fail "the Salesforce plugin does not link libcurl"
    fi
fi

# plugins_in DIR: runs `syncengine plugins` on DIR; sets out, err, code.
plugins_in() {
    code=0
    $engine plugins --plugin-dir "$1" >"$tmp/out" 2>"$tmp/err" || code=$?
    out=$(cat "$tmp/out")
    err=$(cat "$tmp/err")
}

# refused NAME FRAGMENT...: NAME.so alone in a directory is refused with every fragment.
refused() {
    local name=$1 d=$tmp/one-$1 frag
    shift
    mkdir -p "$d"
    if [ "$name" = not_a_plugin ]; then
        cp "$top/tests/abi/not_a_plugin.so.txt" "$d/not_a_plugin.so"
    else
        cp "$abi/$name.so" "$d/"
    fi
    plugins_in "$d"
    [ "$code" -eq 4 ] || fail "$name: exit code $code, expected 4"
    grep -qF -- "$d/$name.so: " "$tmp/err" || fail "$name: the error does not name the file: $err"
    for frag in "$@"; do
        grep -qF -- "$frag" "$tmp/err" || fail "$name: error lacks '$frag': $err"
    done
    if grep -q "^$name " "$tmp/out"; then fail "$name: listed as loaded"; fi
}

# loads NAME PLUGIN_NAME ROLE: NAME.so alone in a directory is listed.
loads() {
    local d=$tmp/one-$1
    mkdir -p "$d"
    cp "$abi/$1.so" "$d/"
    plugins_in "$d"
    [ "$code" -eq 0 ] || fail "$1: exit code $code, expected 0 (stderr: $err)"
    [ -z "$err" ] || fail "$1: unexpected errors: $err"
    awk -v n="$2" -v r="$3" -v f="$d/$1.so" '$1 == n && $3 == r && $4 == f { ok = 1 } END { exit !ok }' \
        "$tmp/out" || fail "$1: not listed as '$2 ... $3 $d/$1.so': $out"
}

echo "== good plugins"
loads good_source good_source source
loads good_both good_both source+sink
loads old_abi_1_0 old_abi_1_0 source
loads dup_name_a dup_name source
loads dup_name_b dup_name source

echo "== broken plugins, one at a time"
refused wrong_major "plugin ABI version 2.0 is not supported (engine ABI 1.3)"
refused newer_minor "plugin needs ABI 1.4 but this engine provides 1.3"
refused too_small "plugin definition is 12 bytes, smaller than the ABI 1.0 size"
refused no_role "plugin 'no_role' provides neither a source nor a sink"
refused missing_callback "plugin 'missing_callback': required source callback 'read' is missing"
refused half_group "optional group 'state' is incomplete (state_load without state_reset)"
refused compare_incomplete "plugin 'compare_incomplete': required compare callback 'fetch' is missing"
refused cap_without_group "declares SYNC_CAP_STATE without the state callbacks"
refused bad_options "invalid options table" "'path'"
refused bad_options_required "invalid stream_options table" "'where'"
refused bad_options_enum "invalid target_options table" "'mode'"
refused no_entry "no entry point sync_plugin_entry()"
refused returns_null "sync_plugin_entry() returned no plugin definition"
refused unresolved "undefined symbol: syncengine_no_such_function"
refused not_a_plugin "invalid ELF header"

echo "== everything in one directory"
all=$tmp/all
mkdir "$all"
cp "$abi"/*.so "$all/"
cp "$top/tests/abi/not_a_plugin.so.txt" "$all/not_a_plugin.so"
plugins_in "$all"
[ "$code" -eq 4 ] || fail "mixed directory: exit code $code, expected 4"
for p in good_source good_both old_abi_1_0 dup_name; do
    [ "$(grep -c "^$p " "$tmp/out")" -eq 1 ] || fail "mixed directory: '$p' not listed exactly once: $out"
done
grep -Eq "^dup_name +1\.0\.0 .*/dup_name_a\.so\$" "$tmp/out" || fail "mixed directory: dup_name should come from dup_name_a.so: $out"
grep -qF "$all/dup_name_b.so: duplicate plugin name 'dup_name' (already loaded from $all/dup_name_a.so)" "$tmp/err" ||
    fail "mixed directory: duplicate not reported as expected: $err"
broken=(wrong_major newer_minor too_small no_role missing_callback half_group compare_incomplete cap_without_group bad_options
        bad_options_required bad_options_enum no_entry returns_null unresolved not_a_plugin dup_name_b)
[ "$(wc -l <"$tmp/err")" -eq "${#broken[@]}" ] || fail "mixed directory: expected ${#broken[@]} error lines, got: $err"
for b in "${broken[@]}"; do
    grep -qF "error: $all/$b.so: " "$tmp/err" || fail "mixed directory: no error line for $b.so"
done
[ "$(wc -l <"$tmp/out")" -eq 4 ] || fail "mixed directory: expected 4 plugins listed, got: $out"

echo "== plugins --describe good_both"
code=0
$engine plugins --plugin-dir "$tmp/one-good_both" --describe good_both >"$tmp/out" 2>"$tmp/err" || code=$?
[ "$code" -eq 0 ] || fail "--describe good_both: exit code $code ($(cat "$tmp/err"))"
for want in "good_both 2.3.4 - valid source and sink with every optional part" \
            "ABI: 1.3" "provides: source sink" \
            "capabilities: incremental deletes state lease run-log" \
            "endpoint (url, required)" "where the service lives" \
            "token (string, secret)" \
            "mode (enum)" "default: safe" "values: fast safe" \
            "retries (integer)" "range: 0..10" \
            "timeout (duration)" "default: 30s" "range: 1s..10m" \
            "ratio (number)" "verbose (bool)" "old_name (string, deprecated)" \
            "source.fields (list)" "source.where (string, repeatable)" \
            "sink.conflict_key (list)"; do
    grep -qF -- "$want" "$tmp/out" || fail "--describe good_both lacks '$want'"
done

echo "== plugins --describe of a refused plugin explains why"
code=0
$engine plugins --plugin-dir "$tmp/one-wrong_major" --describe wrong_major >"$tmp/out" 2>"$tmp/err" || code=$?
[ "$code" -eq 4 ] || fail "--describe wrong_major: exit code $code, expected 4"
grep -qF "plugin 'wrong_major' not found" "$tmp/err" || fail "--describe wrong_major: $(cat "$tmp/err")"
grep -qF "ABI version 2.0 is not supported" "$tmp/err" || fail "--describe wrong_major does not say why: $(cat "$tmp/err")"

if [ "$failures" -gt 0 ]; then
    echo "$failures check(s) failed" >&2
    exit 1
fi
echo "ok: loader verdicts through the CLI"
