#!/bin/sh
# docs/plugins/*.md are generated from the plugins' option tables; this fails
# when an option changed and `make docs` was not run.
. "$(dirname "$0")/../lib/common.sh"
for p in salesforce postgres sqlite generate stdout null http; do
    "$O/syncengine" plugins --plugin-dir "$O/plugins" --describe $p --markdown >"$T/$p.md" || die "describe $p"
    # the written part of a plugin's page follows the generated one (make docs)
    if [ -f "$top/plugins/$p/docs.md" ]; then cat "$top/plugins/$p/docs.md" >>"$T/$p.md"; fi
    diff -u "$top/docs/plugins/$p.md" "$T/$p.md" || die "docs/plugins/$p.md is stale: run make docs"
done
echo ok
