#!/bin/sh
# man_current.sh - the man pages are generated from the command line's help and
# the option tables (`syncengine help --man PAGE`, make docs); this fails when
# docs/man/ is stale, when roff finds a problem in a page, or when a command's
# --help and `help COMMAND` disagree.
. "$(dirname "$0")/../lib/common.sh"
for m in syncengine.1 syncengine.ini.5 syncengine-plugin.3; do
    "$O/syncengine" help --man "${m%.*}" --plugin-dir "$O/plugins" >"$T/$m" || die "help --man ${m%.*}"
    diff -u "$top/docs/man/$m" "$T/$m" || die "docs/man/$m is stale: run make docs"
    if command -v groff >/dev/null; then
        groff -man -ww -z "$T/$m" >"$T/groff.out" 2>&1 || true
        [ ! -s "$T/groff.out" ] || { cat "$T/groff.out" >&2; die "groff warns about $m"; }
    fi
done
# every plugin built here is documented in syncengine.ini(5)
for p in salesforce postgres sqlite generate stdout null; do
    grep -q "^\.SS $p\$" "$top/docs/man/syncengine.ini.5" || die "syncengine.ini(5) does not document plugin $p"
done
for c in run check status discover plugins help; do
    "$O/syncengine" "$c" --help >"$T/a" 2>&1 || die "syncengine $c --help failed"
    "$O/syncengine" help "$c" >"$T/b" 2>&1 || die "syncengine help $c failed"
    cmp -s "$T/a" "$T/b" || die "syncengine $c --help and syncengine help $c differ"
    head -1 "$T/a" | grep -q "^usage: syncengine $c" || { cat "$T/a" >&2; die "syncengine $c --help is not $c's help"; }
done
"$O/syncengine" help nosuch >/dev/null 2>&1 && die "help of an unknown command succeeded"
echo ok
