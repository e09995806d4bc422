#!/bin/bash
# tests/elstub/bench.sh - throughput of the http source: N conversations of M messages from the
# ElevenLabs stand-in into PostgreSQL (pages of 100, details 4 at a time), then an idle run.
# Prints conversations/s, events/s and the requests of each run (and of an idle run that asks for
# every detail again, without detail_skip_unchanged).  Not part of the test suite.
#   tests/elstub/bench.sh [N] [M]        (default 2000 20)
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/elstub/lib.sh"
N=${1:-2000} M=${2:-20}
pg_start || exit $?
el_schema
stub_start EL tests/elstub/elstub.py --conversations "$N" --messages "$M" --spread 30
export ELEVENLABS_API_KEY=xi-test-key
el_conf "$T/el.ini" "page_size = 100" "detail_concurrency = 4" "incremental = time_window" \
    "window_param = call_start_after_unix" "lookback = 48h" "detail_skip_unchanged = true"
sed -i 's/^sink = pg/&\nbatch_size = 2000/' "$T/el.ini"
sed '/^detail_skip_unchanged/d' "$T/el.ini" >"$T/noskip.ini"
for run in full idle idle-without-detail_skip_unchanged; do
    ini=$T/el.ini
    [ "$run" = idle ] || [ "$run" = full ] || ini=$T/noskip.ini
    stub_ctl "$EL_URL" POST /__stub/stats/reset >/dev/null
    t0=$(date +%s.%N)
    hs_run "$ini" 0
    t1=$(date +%s.%N)
    python3 - "$run" "$t0" "$t1" "$(hs_done conversations)" "$(hs_done events)" "$(stub_stat "$EL_URL" list)" \
        "$(stub_stat "$EL_URL" detail)" <<'PY'
import sys
run, t0, t1, conv, ev, lists, details = sys.argv[1:]
s = float(t1) - float(t0)
c, e = int(conv.split()[0]), int(ev.split()[0])
print("%s run: %.2f s, %d conversations (%.0f/s), %d events (%.0f/s), %s list + %s detail requests"
      % (run, s, c, c / s, e, e / s, lists, details))
PY
done
