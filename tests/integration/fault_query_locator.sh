#!/bin/sh
# fault_query_locator.sh - Salesforce releases query cursors (more than 10
# open for the user, 15 minutes idle, an org-side eviction): a queryMore then
# gets 400 INVALID_QUERY_LOCATOR.  The stream queries again from behind the
# last record it read ((SystemModstamp, Id) keyset, same upper bound) within
# the same run, and the data is exact.  A transport failure on such an answer
# is reported as a transport error, not mixed with the HTTP status.
# docs/faults.md, row "INVALID_QUERY_LOCATOR".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 2000 --leads 1200

note "every third queryMore loses its locator: one run, exact data"
fk_faults '[{"match": "next", "every": 3, "times": -1, "kind": "lose_locator"}]'
fk_stats_reset
fk_run
fk_expect_rc 0 "a run whose locators are lost"
fired=$(fk_fired)
[ "$fired" -ge 3 ] || die "the fault fired only $fired times"
fk_log_has "INVALID_QUERY_LOCATOR\); querying again from [0-9T:.Z-]+\|[0-9A-Za-z]{18}" "the re-query is logged with its position"
requeries=$(grep -c "querying again from" "$T/run.log")
[ "$requeries" = "$fired" ] || die "$fired locators lost but $requeries re-queries"
fk_expect_status success "lost locators"
fk_check --runs 1
note "  $fired locators lost, $requeries re-queries, $(fk_stat api_calls) calls"

note "a locator lost and its answer cut off: a transport error, then the re-query"
fk_touch_all
fk_faults '[{"match": "next", "after": 1, "times": 1, "kind": "lose_locator"},
            {"match": "next", "after": 1, "times": 1, "kind": "truncate"}]'
fk_run
fk_expect_rc 0 "a run with a cut-off INVALID_QUERY_LOCATOR"
fk_log_has "attempt 1 of 3 failed \(transport error: [^)]*\)" "the cut-off answer is a transport error"
grep -Eq "failed \(HTTP [0-9]+, network error\)" "$T/run.log" && die "an HTTP status and a transport error mixed in one message"
fk_log_has "querying again from" "the re-query after the cut-off answer"
fk_check --runs 2

note "lost on every queryMore: each re-query still brings a page, the run completes"
fk_touch_all
fk_faults '[{"match": "next", "times": -1, "kind": "lose_locator"}]'
fk_run
fk_expect_rc 0 "a run whose every locator is lost"
fk_log_has "querying again from" "re-queries"
grep -q "try 2 of" "$T/run.log" && die "a re-query that brought a page did not reset the tries"
fk_check --runs 3
echo ok
