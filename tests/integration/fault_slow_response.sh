#!/bin/sh
# fault_slow_response.sh - a page answered more slowly than the source's
# timeout (2 s here): the request is abandoned at the timeout and retried;
# persistent slowness fails the run (exit 5) after max_attempts timeouts,
# i.e. in bounded time; the next run completes.
# docs/faults.md, row "response slower than the timeout".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$(echo "$FK_FAST_RETRIES" | sed 's/^timeout = .*/timeout = 1s/')
# the transient case is one request meeting two faults in a row: one stream at a time
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300
start=$(date +%s)
fk_transport_row slow '"delay": 2.5' "run failed.*(timed out|timeout)"
# bounded: about ten timeouts of 1 s in all
elapsed=$(( $(date +%s) - start ))
[ $elapsed -lt 40 ] || die "the slow responses took $elapsed s: the timeout is not applied"
echo ok
