#!/bin/sh
# badinput_plugin.sh - a configuration naming a plugin that cannot be used:
# missing, not a shared object, built for another ABI version, with an
# unresolved symbol or without a required callback.  Each is refused with
# exit code 4 (plugin missing or failed to load) and one message naming the
# configuration file:line and section that asked for the plugin, the
# directories searched, and the file refused with the loader's reason
# (tests/abi/README.md).  Nothing is run.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
abi=$O/tests/abi
[ -f "$abi/wrong_major.so" ] || skip "test plugins not built (make $abi/wrong_major.so)"
henk_env http://127.0.0.1:9 $FK_BIZ $FK_INT
export DATABASE_URL="postgresql://nobody@/nodb?host=$T/no-server"
export SYNCENGINE_STATE_DIR="$T/state"
fk_conf
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# refused NAME FILE-IN-DIR FRAGMENT...: [source salesforce] uses plugin NAME,
# found only as FILE in a --plugin-dir.
refused() {
    name=$1 file=$2
    shift 2
    d="$T/plugins-$name"
    mkdir -p "$d"
    case "$file" in
    not_a_plugin.so) cp "$top/tests/abi/not_a_plugin.so.txt" "$d/$file" ;;
    text.so) echo "just text" >"$d/$file" ;;
    "") ;;
    *) cp "$abi/$file" "$d/" ;;
    esac
    sed "0,/^plugin = salesforce/s//plugin = $name/" "$FK_CONF" >"$T/$name.ini"
    line=$(grep -n -m1 "^\[source salesforce\]" "$T/$name.ini" | cut -d: -f1)
    for cmd in check run; do
        rc=0
        if [ $cmd = check ]; then
            $SYNCENGINE check --plugin-dir "$d" -c "$T/$name.ini" >/dev/null 2>"$T/err" || rc=$?
        else
            $SYNCENGINE --plugin-dir "$d" -c "$T/$name.ini" --once >/dev/null 2>"$T/err" || rc=$?
        fi
        msg=$(cat "$T/err")
        [ $rc = 4 ] || fail "$name ($cmd): exit code $rc, expected 4: $msg"
        for frag in "$T/$name.ini:$line" "[source salesforce]" "plugin '$name' not found" "$d" "$@"; do
            case "$msg" in *"$frag"*) ;; *) fail "$name ($cmd): message lacks '$frag': $msg" ;; esac
        done
    done
    echo "ok   $name: $(head -c 300 "$T/err")"
}

refused nosuch "" "$O/plugins"
refused wrong_major wrong_major.so "wrong_major.so: " "ABI version 2.0 is not supported"
refused newer_minor newer_minor.so "newer_minor.so: " "needs ABI 1."
refused not_a_plugin not_a_plugin.so "not_a_plugin.so: " "invalid ELF header"
refused text text.so "text.so: " "file too short"
refused unresolved unresolved.so "unresolved.so: " "undefined symbol: syncengine_no_such_function"
refused missing_callback missing_callback.so "missing_callback.so: " "required source callback 'read' is missing"
refused too_small too_small.so "too_small.so: " "smaller than the ABI"

note "a loadable plugin of the wrong kind, or taking other options"
cp "$abi/good_source.so" "$T/plugins-nosuch/"
sed "0,/^plugin = salesforce/s//plugin = good_source/" "$FK_CONF" >"$T/gs.ini"
rc=0
$SYNCENGINE check --plugin-dir "$T/plugins-nosuch" -c "$T/gs.ini" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 3 ] || fail "good_source with salesforce options: exit code $rc, expected 3: $(cat "$T/err")"
grep -qF "unknown option 'login_url' in [source salesforce]" "$T/err" || fail "good_source: $(cat "$T/err")"

note "a broken plugin in the configured plugin_dir is not shadowed by a later directory"
# salesforce.so in [engine] plugin_dir is no plugin; a good salesforce.so lies in the
# build tree, searched later: the run must stop at the broken file, naming it and why
mkdir -p "$T/shadow"
cp "$top/tests/abi/not_a_plugin.so.txt" "$T/shadow/salesforce.so"
sed "s#^\[engine\]#[engine]\nplugin_dir = $T/shadow#" "$FK_CONF" >"$T/shadow.ini"
line=$(grep -n -m1 "^\[source salesforce\]" "$T/shadow.ini" | cut -d: -f1)
for cmd in check run; do
    rc=0
    if [ $cmd = check ]; then
        $SYNCENGINE check -c "$T/shadow.ini" >/dev/null 2>"$T/err" || rc=$?
    else
        $SYNCENGINE -c "$T/shadow.ini" --once >/dev/null 2>"$T/err" || rc=$?
    fi
    [ $rc = 4 ] || fail "shadowed ($cmd): exit code $rc, expected 4: $(cat "$T/err")"
    for frag in "$T/shadow.ini:$line" "plugin 'salesforce' failed to load" "$T/shadow/salesforce.so" \
        "invalid ELF header"; do
        grep -qF -- "$frag" "$T/err" || fail "shadowed ($cmd): message lacks '$frag': $(cat "$T/err")"
    done
done
echo "ok   shadowed: $(head -c 300 "$T/err")"
# the same directory with a working copy of the plugin is used, with no complaint
cp "$O/plugins/salesforce.so" "$T/shadow/salesforce.so"
rc=0
$SYNCENGINE check -c "$T/shadow.ini" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 0 ] || fail "working plugin in plugin_dir: exit code $rc: $(cat "$T/err")"

[ $failures = 0 ] || die "$failures case(s) failed"
echo ok
