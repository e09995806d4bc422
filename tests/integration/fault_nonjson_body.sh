#!/bin/sh
# fault_nonjson_body.sh - a page answered 200 with an HTML maintenance page
# (a proxy or a maintenance window): not JSON, so retried like a transport
# error; persistent, the run fails (exit 5) after max_attempts tries and the
# error says the body was not JSON; the next run completes.
# docs/faults.md, row "non-JSON body".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
# the transient case is one request meeting two faults in a row: one stream at a time
# (with two streams, libcurl's own silent retry of a reset reused connection can absorb both)
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300
fk_transport_row nonjson "" "run failed.*not complete JSON"
echo ok
