#!/bin/sh
# conversations_429.sh - ElevenLabs answering 429 Too Many Requests (with
# Retry-After) to the conversation sync: a storm that outlasts the retries
# stops the run before anything is written (the engine's run log,
# syncengine.sync_runs, says rate_limited; the next run starts from the same place); 429s that the retries outlast (six on the
# detail requests, four of them in flight at once) cost time, not data: every
# conversation and every event is stored exactly once.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/conversations.sh"
conv_setup

now=$(date +%s)
for i in 1 2 3 4; do
    conv_add $((now - 600 * i)) "Hello from the food bank." "Answer $i, no thanks." >/dev/null
done
faults() { el_ctl POST /__stub/faults "{\"faults\": [$1]}" >/dev/null || die "faults"; }
fired() { el_ctl GET /__stub/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["faulted"])'; }

note "a storm on every request: the run fails, nothing is written"
faults '{"match": "any", "times": -1, "kind": "status", "status": 429, "retry_after": "1"}'
conv_run; rc=$?
[ $rc = 7 ] || die "a run stopped by the API's limit exited $rc, not 7 (rate limited)"
[ "$(conv_sql "SELECT count(*) FROM conversations")" = 0 ] || die "the failed run wrote conversations"
got=$(conv_sql "SELECT status, coalesce(processed, 0), error_message LIKE '%429%' FROM syncengine.sync_runs")
[ "$got" = "rate_limited|0|t" ] || die "the run log after the storm: $got"

note "six 429s on the details: retried, nothing lost, nothing twice"
el_ctl POST /__stub/stats/reset >/dev/null
faults '{"match": "detail", "times": 6, "kind": "status", "status": 429, "retry_after": "1"}'
conv_run; rc=$?
[ $rc = 0 ] || die "the run exited $rc (log: $(tail -n 5 "$T/engine.log"))"
[ "$(fired)" = 6 ] || die "the stand-in answered $(fired) 429s, not 6"
got=$(conv_sql "SELECT c.elevenlabs_conversation_id || ':' || string_agg(e.position || e.role, ',' ORDER BY e.position)
                FROM conversations c JOIN conversation_events e ON e.conversation_id = c.id
                GROUP BY c.elevenlabs_conversation_id ORDER BY 1")
want="conv_000000:0agent,1user
conv_000001:0agent,1user
conv_000002:0agent,1user
conv_000003:0agent,1user"
[ "$got" = "$want" ] || die "rows after the 429s:
$got"
[ "$(conv_sql "SELECT count(*) FROM conversations WHERE outcome = 'not_interested'")" = 4 ] || die "outcomes"
got=$(conv_sql "SELECT status, processed, inserted, failed FROM syncengine.sync_runs
                ORDER BY started_at DESC LIMIT 1")
[ "$got" = "success|12|12|0" ] || die "the run log after the 429s: $got"
[ "$(conv_sql "SELECT count(*) FROM sync_logs")" = 0 ] || die "the sync wrote sync_logs"
grep -q "HTTP 429" "$T/engine.log" || die "the retries are not logged"
echo ok
