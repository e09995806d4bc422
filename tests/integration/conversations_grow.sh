#!/bin/sh
# conversations_grow.sh - a conversation that gains messages between runs gets
# only its new conversation_events rows (and its conversations row follows:
# message count, duration, outcome); a run when nothing changed asks the API
# for one list page and writes nothing; a full re-read of everything inside
# the lookback compares every row and rewrites none (the server's insert and
# update counts of both tables stay as they were).
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/conversations.sh"
conv_setup

now=$(date +%s)
x=$(conv_add $((now - 900)) "Hello from the food bank." "Tell me more.")
y=$(conv_add $((now - 600)) "Hello from the food bank." "No thanks.")
z=$(conv_add $((now - 300)) "Hello from the food bank." "Who is this?")
run() {
    conv_run "$@"; rc=$?
    [ $rc = 0 ] || die "the run exited $rc (log: $(tail -n 5 "$T/engine.log"))"
}
last_log() {
    conv_sql "SELECT CASE WHEN full_refresh THEN 'full' ELSE 'incremental' END, status, processed, inserted,
                     updated, failed FROM syncengine.sync_runs ORDER BY started_at DESC LIMIT 1"
}
events() {
    conv_sql "SELECT c.elevenlabs_conversation_id, e.position, e.role, e.message, e.time_in_call_secs
              FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id ORDER BY 1, 2"
}

note "first run: 3 conversations, 6 events"
run
[ "$(last_log)" = "incremental|success|9|9|0|0" ] || die "first run: $(last_log)"
[ "$(conv_sql "SELECT count(*) FROM conversation_events")" = 6 ] || die "events after the first run"
ev0=$(conv_writes conversation_events); cv0=$(conv_writes conversations)
stamps0=$(conv_sql "SELECT elevenlabs_conversation_id, updated_at FROM conversations
                    WHERE elevenlabs_conversation_id <> '$x' ORDER BY 1")
old_events=$(conv_sql "SELECT e.position, e.xmin FROM conversation_events e JOIN conversations c
                       ON c.id = e.conversation_id WHERE c.elevenlabs_conversation_id = '$x' ORDER BY 1")

note "x gains two messages: only they are written"
conv_grow "$x" "Shall I put you down for a gift?" "Yes, count me in."
run
# x and its four messages are read; two of them are new
[ "$(last_log)" = "incremental|success|5|2|1|0" ] || die "the run after x grew: $(last_log)"
set -- $ev0; set -- $(conv_writes conversation_events) $1 $2
[ $(($1 - $3)) = 2 ] && [ $(($2 - $4)) = 0 ] \
    || die "conversation_events: $(($1 - $3)) inserted, $(($2 - $4)) updated (want 2, 0)"
set -- $cv0; set -- $(conv_writes conversations) $1 $2
[ $(($1 - $3)) = 0 ] && [ $(($2 - $4)) = 1 ] \
    || die "conversations: $(($1 - $3)) inserted, $(($2 - $4)) updated (want 0, 1)"
[ "$(conv_sql "SELECT e.position, e.xmin FROM conversation_events e JOIN conversations c
               ON c.id = e.conversation_id WHERE c.elevenlabs_conversation_id = '$x' AND e.position < 2
               ORDER BY 1")" = "$old_events" ] || die "x's first events were rewritten"
got=$(conv_sql "SELECT message_count, duration_secs, outcome, sentiment_score, key_points::text
                FROM conversations WHERE elevenlabs_conversation_id = '$x'")
[ "$got" = '4|10|pledged|0.8|["Yes, count me in."]' ] || die "x's row after it grew: $got"
want="$x|0|agent|Hello from the food bank.|0
$x|1|user|Tell me more.|2.5
$x|2|agent|Shall I put you down for a gift?|5
$x|3|user|Yes, count me in.|7.5
$y|0|agent|Hello from the food bank.|0
$y|1|user|No thanks.|2.5
$z|0|agent|Hello from the food bank.|0
$z|1|user|Who is this?|2.5"
[ "$(events)" = "$want" ] || die "events after x grew:
$(events)"
[ "$(conv_sql "SELECT elevenlabs_conversation_id, updated_at FROM conversations
               WHERE elevenlabs_conversation_id <> '$x' ORDER BY 1")" = "$stamps0" ] \
    || die "the conversations that did not change got a new updated_at"

# requests: the list page (its listing shows nothing changed: no detail is
# asked for), and the one-page probe the engine makes before every run
note "nothing changed: one list page (and the probe), nothing written"
ev1=$(conv_writes conversation_events); cv1=$(conv_writes conversations)
el_ctl POST /__stub/stats/reset >/dev/null
run
stats=$(el_ctl GET /__stub/stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["list"], s["detail"])')
case $stats in "1 0" | "2 0") ;; *) die "an idle run made list/detail requests: $stats (want 2 0)" ;; esac
[ "$(last_log)" = "incremental|success|0|0|0|0" ] || die "the idle run: $(last_log)"
[ "$(conv_writes conversation_events)" = "$ev1" ] || die "the idle run wrote conversation_events"
[ "$(conv_writes conversations)" = "$cv1" ] || die "the idle run wrote conversations"

note "everything read again and compared: nothing rewritten"
el_ctl POST /__stub/stats/reset >/dev/null
run --full-refresh
stats=$(el_ctl GET /__stub/stats | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["list"], s["detail"])')
case $stats in "1 3" | "2 3") ;; *) die "a full re-read made list/detail requests: $stats (want 2 3)" ;; esac
[ "$(last_log)" = "full|success|11|0|0|0" ] || die "the full re-read: $(last_log)"
[ "$(conv_writes conversation_events)" = "$ev1" ] || die "the full re-read wrote conversation_events ($ev1 -> $(conv_writes conversation_events))"
[ "$(conv_writes conversations)" = "$cv1" ] || die "the full re-read wrote conversations ($cv1 -> $(conv_writes conversations))"
[ "$(events)" = "$want" ] || die "events after the full re-read:
$(events)"
echo ok
