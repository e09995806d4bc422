# tests/lib/sf_jsonl.sh - the Salesforce source into the jsonl example sink.
#
# sf_jsonl_setup: skips the test (exit 77) unless the engine, the salesforce
# plugin, python3 and jansson's development files are there; then builds
# examples/jsonl/jsonl.c into $T/plugins/jsonl.so (set plugin_dir = $T/plugins).

sf_jsonl_setup() {
    [ -x "$O/syncengine" ] || skip "$O/syncengine not built"
    [ -f "$O/plugins/salesforce.so" ] || skip "$O/plugins/salesforce.so not built"
    command -v python3 >/dev/null || skip "python3 not installed"
    pkg-config --exists jansson 2>/dev/null || skip "jansson development files not installed"
    unset SYNCENGINE_PLUGIN_DIR

    mkdir "$T/plugins"
    ${CC:-cc} -std=c11 -Wall -Wextra -Werror -I"$top/include" $(pkg-config --cflags jansson) -fPIC -shared \
        -fvisibility=hidden -Wl,--no-undefined -o "$T/plugins/jsonl.so" "$top/examples/jsonl/jsonl.c" \
        $(pkg-config --libs jansson) || die "could not build the jsonl sink"
}
