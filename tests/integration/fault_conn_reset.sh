#!/bin/sh
# fault_conn_reset.sh - the server resets the TCP connection without an
# answer: retried on a new connection up to max_attempts; transient resets
# cost nothing, persistent ones fail the run (exit 5, 'failed') after exactly
# max_attempts tries, keeping what was stored; the next run completes.
# docs/faults.md, row "connection reset".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
# the transient case is one request meeting two faults in a row: one stream at a time
# (with two streams, libcurl's own silent retry of a reset reused connection can absorb both)
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300
fk_transport_row reset "" "run failed.*failed reading (Contact|Lead).*(reset|receiv|Server returned nothing|network)"
echo ok
