#!/bin/sh
# conversations_nul.sh - a message holding a NUL character (valid JSON,
# \u0000, but text PostgreSQL cannot store) is stored with the character left
# out (conf/henk-conversations.ini: text_nul = strip), in conversation_events
# and inside key_points (jsonb): no event is lost, no record fails, the run
# is a success and the other conversation is stored as it came.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/conversations.sh"
conv_setup

now=$(date +%s)
n=$(conv_add $((now - 600)) "Hello from the food bank." "placeholder")
el_ctl POST /__stub/mutate "[{\"op\":\"set_nul\",\"conversation_id\":\"$n\",\"position\":1},
    {\"op\":\"add_messages\",\"conversation_id\":\"$n\",\"count\":1,\"message\":\"Anything else?\"},
    {\"op\":\"add_messages\",\"conversation_id\":\"$n\",\"count\":1,\"message\":\"Yes, count me in.\\u0000\"}]" \
    >/dev/null || die "mutate"
el_ctl GET /__stub/truth | grep -q 'before\\u0000after' || die "the stand-in has no NUL character to serve"
o=$(conv_add $((now - 300)) "Hello from the food bank." "No thanks.")

conv_run; rc=$?
[ $rc = 0 ] || die "the run exited $rc (log: $(tail -n 5 "$T/engine.log"))"
got=$(conv_sql "SELECT c.elevenlabs_conversation_id, e.position, e.role, e.message
                FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id ORDER BY 1, 2")
want="$n|0|agent|Hello from the food bank.
$n|1|user|beforeafter
$n|2|agent|Anything else?
$n|3|user|Yes, count me in.
$o|0|agent|Hello from the food bank.
$o|1|user|No thanks."
[ "$got" = "$want" ] || die "conversation_events differ:
--- got
$got
--- want
$want"
got=$(conv_sql "SELECT elevenlabs_conversation_id, message_count, outcome, key_points::text
                FROM conversations ORDER BY 1")
want="$n|4|pledged|[\"Yes, count me in.\"]
$o|2|not_interested|[\"No thanks.\"]"
[ "$got" = "$want" ] || die "conversations differ:
--- got
$got
--- want
$want"
got=$(conv_sql "SELECT status, processed, inserted, failed FROM syncengine.sync_runs")
[ "$got" = "success|8|8|0" ] || die "the run log: $got"
grep -q "NUL characters stored with them stripped" "$T/engine.log" || die "the stripped values are not logged"
echo ok
