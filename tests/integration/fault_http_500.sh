#!/bin/sh
# fault_http_500.sh - HTTP 500 UNKNOWN_EXCEPTION on query pages: retried with
# backoff up to max_attempts; a transient error costs nothing, a persistent
# one fails the run (exit 5, run log 'failed') after exactly max_attempts
# tries, keeping the pages stored before it; the next run completes.
# docs/faults.md, row "HTTP 500".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
# the transient case is one request meeting two faults in a row: one stream at a time
# (with two streams, libcurl's own silent retry of a reset reused connection can absorb both)
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300
fk_transport_row status '"status": 500' "run failed.*HTTP 500.*UNKNOWN_EXCEPTION"
echo ok
