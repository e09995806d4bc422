#!/bin/bash
# example_out_of_tree.sh - the plugin SDK works from an installation alone.
#
# `make && make install PREFIX=...` (the README's commands) installs a binary, a
# syncengine.pc and a systemd unit that all name the install PREFIX, not the
# build's default; so does a staged install (PREFIX=/opt/se DESTDIR=...); the
# unit passes systemd-analyze verify; man pages and docs are installed.  The
# example is built and installed with the commands its README gives.
#
# Installs syncengine into a throwaway prefix (its own build directory, so
# build/ is left alone), builds examples/jsonl from a copy outside the source
# tree with the example's own Makefile and nothing but the installed
# syncengine.pc and headers, and runs the INSTALLED engine with that plugin:
# a JSON-lines file goes through a mapping into another JSON-lines file.  The
# output is compared line by line; then lines are appended and only they must
# arrive (the cursor lives in the engine's state file, because the jsonl sink
# stores none), and a run with no new input must add nothing.
#
# Exit 0 pass, 77 skip (no pkg-config or jansson), anything else fail.
# runs long: started first by tests/run.sh
set -eu
. "$(dirname "$0")/../lib/common.sh"
root=$top
tmp=$T

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

command -v pkg-config >/dev/null || skip "pkg-config not installed"
pkg-config --exists jansson || skip "jansson development files not installed"

# Nothing from the environment may point the compiler, pkg-config or the engine elsewhere.
unset PKG_CONFIG_PATH CPATH C_INCLUDE_PATH LIBRARY_PATH SYNCENGINE_PLUGIN_DIR CFLAGS CPPFLAGS LDFLAGS DESTDIR

prefix=$tmp/prefix
# The README's order: build with the default PREFIX, then install elsewhere;
# everything derived from PREFIX must follow the install's.
echo "== make && make install PREFIX=$prefix"
if ! { make -C "$root" -s -j2 O="$tmp/build" && make -C "$root" -s -j2 install PREFIX="$prefix" O="$tmp/build"; } \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log" >&2
    fail "make install failed"
fi
for f in bin/syncengine include/sync/sync.h include/sync/plugin.h include/sync/host.h \
         include/sync/status.h lib/pkgconfig/syncengine.pc lib/systemd/system/syncengine.service \
         share/man/man1/syncengine.1 share/man/man5/syncengine.ini.5 share/man/man3/syncengine-plugin.3 \
         share/doc/syncengine/README.md share/doc/syncengine/user-guide.md \
         share/doc/syncengine/plugins/generate.md lib/syncengine/plugins/generate.so \
         share/syncengine/conf/examples/generate-stdout.ini; do
    [ -e "$prefix/$f" ] || fail "make install did not install $f"
done
grep -q "^ExecStart=$prefix/bin/syncengine " "$prefix/lib/systemd/system/syncengine.service" ||
    fail "the installed unit does not run $prefix/bin/syncengine: $(grep ExecStart "$prefix/lib/systemd/system/syncengine.service")"
grep -aq "$prefix/lib/syncengine/plugins" "$prefix/bin/syncengine" || fail "the installed binary does not know its plugin directory"
if grep -aq "/usr/local/lib/syncengine/plugins" "$prefix/bin/syncengine"; then fail "the installed binary still says /usr/local"; fi
MANPATH=$prefix/share/man man -w syncengine.ini >/dev/null 2>&1 || fail "man cannot find syncengine.ini(5) under $prefix/share/man"

if command -v systemd-analyze >/dev/null; then
    echo "== systemd-analyze verify"
    # the unit reads its environment file at start, not when verified
    systemd-analyze verify "$prefix/lib/systemd/system/syncengine.service" >"$tmp/verify.log" 2>&1 ||
        { cat "$tmp/verify.log" >&2; fail "systemd-analyze verify rejects the installed unit"; }
    if grep -q "syncengine.service" "$tmp/verify.log"; then cat "$tmp/verify.log" >&2; fail "systemd-analyze verify warns about the unit"; fi
fi

echo "== make install PREFIX=/opt/se DESTDIR=..."
stage=$tmp/stage
make -C "$root" -s install PREFIX=/opt/se DESTDIR="$stage" O="$tmp/build" >"$tmp/install2.log" 2>&1 ||
    { cat "$tmp/install2.log" >&2; fail "make install PREFIX=/opt/se DESTDIR=$stage failed"; }
grep -q "^prefix=/opt/se$" "$stage/opt/se/lib/pkgconfig/syncengine.pc" || fail "the staged syncengine.pc does not say /opt/se"
grep -q "^includedir=/opt/se/include$" "$stage/opt/se/lib/pkgconfig/syncengine.pc" || fail "the staged includedir is wrong"
grep -q "^ExecStart=/opt/se/bin/syncengine " "$stage/opt/se/lib/systemd/system/syncengine.service" || fail "the staged unit's ExecStart is wrong"
grep -aq "/opt/se/lib/syncengine/plugins" "$stage/opt/se/bin/syncengine" || fail "the staged binary does not say /opt/se"
if grep -rq "$stage" "$stage/opt/se/lib" "$stage/opt/se/share" 2>/dev/null; then fail "DESTDIR leaked into an installed file"; fi

# The example is built with the exact command its README gives: PKG_CONFIG_PATH on
# make's command line only (GNU make 4.3 does not pass it to $(shell ...)).
unset PKG_CONFIG_PATH
cflags=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags syncengine | sed 's/[[:space:]]*$//')
[ "$cflags" = "-I$prefix/include" ] || fail "pkg-config --cflags syncengine gave '$cflags', expected '-I$prefix/include'"
plugindir=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=plugindir syncengine)
[ "$plugindir" = "$prefix/lib/syncengine/plugins" ] || fail "plugindir is '$plugindir'"
abi=$(PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --variable=abi_version syncengine)
"$prefix/bin/syncengine" --version | grep -q "(plugin ABI $abi)" ||
    fail "syncengine.pc says abi_version $abi, the engine says: $("$prefix/bin/syncengine" --version)"

echo "== build examples/jsonl out of tree: make PKG_CONFIG_PATH=\$PREFIX/lib/pkgconfig"
src=$tmp/jsonl
mkdir "$src"
cp "$root/examples/jsonl/jsonl.c" "$root/examples/jsonl/Makefile" "$src/"
MAKEFLAGS= make -C "$src" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" >"$tmp/example-build.log" 2>&1 ||
    { cat "$tmp/example-build.log" >&2; fail "building the example failed"; }
grep -q -- "-I$prefix/include" "$tmp/example-build.log" || fail "the example was not compiled against the installed headers"
if grep -q -- "$root" "$tmp/example-build.log"; then
    cat "$tmp/example-build.log" >&2
    fail "the example build refers to the source tree"
fi
MAKEFLAGS= make -C "$src" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" install DESTDIR="$tmp/exstage" >>"$tmp/example-build.log" 2>&1 ||
    { cat "$tmp/example-build.log" >&2; fail "make install DESTDIR=... of the example failed"; }
[ -f "$tmp/exstage$prefix/lib/syncengine/plugins/jsonl.so" ] || fail "the example's make install ignored DESTDIR"
MAKEFLAGS= make -C "$src" PKG_CONFIG_PATH="$prefix/lib/pkgconfig" install >>"$tmp/example-build.log" 2>&1 ||
    { cat "$tmp/example-build.log" >&2; fail "make install of the example failed"; }
[ -f "$prefix/lib/syncengine/plugins/jsonl.so" ] || fail "the example was not installed into the plugin directory"
[ -f "$src/jsonl.so" ] || fail "no jsonl.so"
exported=$(nm -D --defined-only "$src/jsonl.so" | awk '$2 == "T" { print $3 }')
[ "$exported" = "sync_plugin_entry" ] || fail "jsonl.so exports '$exported', expected only sync_plugin_entry"

if [ "${SYNC_TEST_VALGRIND:-0}" = 1 ]; then
    engine="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite $prefix/bin/syncengine"
else
    engine=$prefix/bin/syncengine
fi
pd=$prefix/lib/syncengine/plugins   # where the example's make install put jsonl.so

echo "== the installed engine runs the installed generate -> null pipeline (no --plugin-dir)"
cat >"$tmp/gen.ini" <<INI
[engine]
state_dir = $tmp/genstate
[source g]
plugin = generate
records = 7
[sink n]
plugin = null
[job j]
source = g
sink = n
[stream j.records]
object = records
INI
$engine --once -c "$tmp/gen.ini" >"$tmp/gen.out" 2>&1 || { cat "$tmp/gen.out" >&2; fail "generate -> null failed"; }
grep -q "discarded 7 upserts" "$tmp/gen.out" || { cat "$tmp/gen.out" >&2; fail "null did not count 7 records"; }
$engine plugins >"$tmp/plugins-default.out" 2>&1 || true
grep -q "^jsonl .*$prefix/lib/syncengine/plugins/jsonl.so" "$tmp/plugins-default.out" ||
    { cat "$tmp/plugins-default.out" >&2; fail "the installed engine does not find the installed jsonl.so"; }

echo "== syncengine plugins"
$engine plugins --plugin-dir "$pd" >"$tmp/plugins.out" 2>&1 || { cat "$tmp/plugins.out" >&2; fail "syncengine plugins failed"; }
grep -q "jsonl" "$tmp/plugins.out" || { cat "$tmp/plugins.out" >&2; fail "jsonl not listed by syncengine plugins"; }
$engine plugins --plugin-dir "$pd" --describe jsonl >"$tmp/describe.out" 2>&1 ||
    { cat "$tmp/describe.out" >&2; fail "syncengine plugins --describe jsonl failed"; }
for word in path stream key_field records; do
    grep -q -- "$word" "$tmp/describe.out" || { cat "$tmp/describe.out" >&2; fail "--describe jsonl does not mention $word"; }
done

echo "== first run"
data=$tmp/data
mkdir "$data"
cat >"$data/people.jsonl" <<'JSON'
{"id": 1, "name": "Ada Lovelace", "email": "ada@example.com", "account": {"name": "Analytical Engines"}, "score": 9.5, "active": true, "updated": "2024-05-01T10:00:00Z"}

{"id": 2, "name": "Grace Hopper", "email": null, "account": {"name": "US Navy"}, "score": 7, "active": false, "updated": "2024-05-02T09:30:00Z"}
JSON
cat >"$data/copy.ini" <<INI
[engine]
state_dir = $data/state
log_level = info

[source people_in]
plugin = jsonl
path = $data/people.jsonl
stream = people
key_field = id

[sink people_out]
plugin = jsonl
path = $data/out.jsonl

[job copy]
source = people_in
sink = people_out

[stream copy.people]
object = people
target = contacts

[map copy.people]
id = id
name = name
email = email
company = account.name
score = score
active = active
updated = updated
origin = 'jsonl'
INI

$engine check -c "$data/copy.ini" --plugin-dir "$pd" >"$tmp/check.out" 2>&1 ||
    { cat "$tmp/check.out" >&2; fail "syncengine check rejected a valid configuration"; }

run() {
    if ! $engine --once -c "$data/copy.ini" --plugin-dir "$pd" >"$tmp/run.out" 2>&1; then
        cat "$tmp/run.out" >&2
        fail "syncengine --once failed ($1)"
    fi
}

expect() {
    if ! diff -u "$tmp/expected" "$data/out.jsonl" >"$tmp/diff"; then
        cat "$tmp/diff" >&2
        fail "$1: output differs from the expected lines"
    fi
}

run "first run"
cat >"$tmp/expected" <<'JSON'
{"_stream":"contacts","_key":"1","_op":"upsert","id":1,"name":"Ada Lovelace","email":"ada@example.com","company":"Analytical Engines","score":9.5,"active":true,"updated":"2024-05-01T10:00:00Z","origin":"jsonl"}
{"_stream":"contacts","_key":"2","_op":"upsert","id":2,"name":"Grace Hopper","email":null,"company":"US Navy","score":7,"active":false,"updated":"2024-05-02T09:30:00Z","origin":"jsonl"}
JSON
expect "first run"
[ -n "$(ls -A "$data/state" 2>/dev/null)" ] || fail "the engine kept no state in $data/state"

echo "== second run: only appended lines"
cat >>"$data/people.jsonl" <<'JSON'
{"id": "x-3", "name": "Edsger Dijkstra", "email": "ewd@example.com", "account": {"name": "THE"}, "score": 8.25, "active": true, "updated": "2024-05-03T08:00:00Z"}
{"id": 2, "_op": "delete"}
JSON
run "second run"
cat >>"$tmp/expected" <<'JSON'
{"_stream":"contacts","_key":"x-3","_op":"upsert","id":"x-3","name":"Edsger Dijkstra","email":"ewd@example.com","company":"THE","score":8.25,"active":true,"updated":"2024-05-03T08:00:00Z","origin":"jsonl"}
{"_stream":"contacts","_key":"2","_op":"delete","id":2,"name":null,"email":null,"company":null,"score":null,"active":null,"updated":null,"origin":"jsonl"}
JSON
expect "second run"

echo "== third run: no new input, nothing written"
run "third run"
expect "third run"

echo "== a half-written last line waits for its newline"
printf '%s' '{"id": 4, "name": "Barbara Liskov", "email": "bl@example.com", "account": {"name": "MIT"}, "score": 10, "active": true,' >>"$data/people.jsonl"
run "run with a partial line"
expect "run with a partial line"
printf '%s\n' ' "updated": "2024-05-04T07:00:00Z"}' >>"$data/people.jsonl"
run "run after the line was completed"
cat >>"$tmp/expected" <<'JSON'
{"_stream":"contacts","_key":"4","_op":"upsert","id":4,"name":"Barbara Liskov","email":"bl@example.com","company":"MIT","score":10,"active":true,"updated":"2024-05-04T07:00:00Z","origin":"jsonl"}
JSON
expect "run after the line was completed"

echo "ok: out-of-tree example built against the installation and synced incrementally"
