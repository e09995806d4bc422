#!/bin/sh
# fault_http_503.sh - 503 SERVER_UNAVAILABLE with Retry-After: the source
# waits what the server asks (not its own shorter backoff) and retries; the
# run succeeds.  A Retry-After longer than retry_max ends the attempts at
# once (the run fails, exit 5, instead of sleeping for an hour); the next run
# completes.  docs/faults.md, row "HTTP 503 with Retry-After".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
# the faults count the pages of one stream at a time
FK_PARALLEL_STREAMS=1
fk_setup --contacts 2000 --leads 300

note "503 with Retry-After: 1, twice"
fk_faults '[{"match": "next", "after": 2, "times": 2, "kind": "status", "status": 503, "retry_after": 1}]'
start=$(date +%s%3N)
fk_run
elapsed=$(( $(date +%s%3N) - start ))
fk_expect_rc 0 "a run meeting two 503s"
[ "$(fk_fired)" = 2 ] || die "the 503 fired $(fk_fired) times, expected 2"
fk_log_has "attempt 1 of 3 failed .*retrying in 1000 ms" "Retry-After is honoured"
[ $elapsed -ge 2000 ] || die "the run took $elapsed ms: it did not wait 2 x 1 s as asked"
fk_expect_status success "503 then success"
fk_check --runs 1

note "503 with Retry-After beyond retry_max (2 s)"
fk_touch_all
fk_faults '[{"match": "next", "after": 2, "times": -1, "kind": "status", "status": 503, "retry_after": 3600}]'
start=$(date +%s)
fk_run
fk_expect_rc 5 "a run asked to wait an hour"
[ $(( $(date +%s) - start )) -lt 30 ] || die "the run waited for the Retry-After"
[ "$(fk_fired)" = 1 ] || die "the page was tried $(fk_fired) times after a Retry-After beyond retry_max, expected 1"
fk_log_has "retry after 3600000 ms, more than retry_max" "the error explains the give-up"
fk_expect_status failed "a long Retry-After"
fk_cursor_check

note "the next run completes"
fk_nofaults
fk_run
fk_expect_rc 0 "the run after the 503s"
fk_check --runs 3
echo ok
