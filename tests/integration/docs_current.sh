#!/bin/sh
# docs/plugins/*.md are generated from the plugins' option tables; this fails
# when an option changed and `make docs` was not run.
. "$(dirname "$0")/../lib/common.sh"
for p in salesforce postgres generate stdout null; do
    "$O/syncengine" plugins --plugin-dir "$O/plugins" --describe $p --markdown >"$T/$p.md" || die "describe $p"
    diff -u "$top/docs/plugins/$p.md" "$T/$p.md" || die "docs/plugins/$p.md is stale: run make docs"
done
echo ok
