#!/bin/sh
# On a terminal a run shows live progress (records, records/s, batches); without
# one it prints only log lines.  `script` gives the engine a pseudo-terminal.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
command -v script >/dev/null || skip "script(1) not installed"
henk_setup --contacts 3000 --leads 100
unset SYNCENGINE_NO_PROGRESS
script -qec "$O/syncengine -c $top/conf/henk.ini --once" "$T/tty.log" >/dev/null 2>&1 || die "run on a terminal failed"
grep -q "contacts: [0-9.k]* rec, [0-9.k]*/s, [0-9]* pages" "$T/tty.log" \
    || die "no progress line on a terminal: $(tail -c 400 "$T/tty.log")"
sfstub_settle "$SF_org_URL"
"$O/syncengine" -c "$top/conf/henk.ini" --once --full-refresh >"$T/out.log" 2>&1 || die "run without a terminal failed"
grep -q " rec, .*/s" "$T/out.log" && die "progress printed without a terminal"
echo ok
