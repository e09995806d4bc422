#!/bin/sh
# conversations_sync.sh - Henk's conversation sync as shipped
# (conf/henk-conversations.ini, conf/henk.sql) against PostgreSQL and the
# ElevenLabs stand-in: exact conversations and conversation_events rows, the
# outcome of each rule over the user's messages only (the agent saying
# "donate" is no donation; the first rule that matches wins; a typographic
# apostrophe matches), the row the calling side created updated in place
# (same id, no duplicate, its events under that id), ELEVENLABS_AGENT_ID
# reading one agent's calls only, from the environment alone (no business,
# integration or tenant row; the runs in the engine's run log and
# `syncengine status`, nothing in sync_logs), each event's conversation_id
# resolved by the sink (sink.resolve) to the conversations row's id, a
# conversation the database refuses (rejected, and its events rejected as
# having no conversation row, each named, the run partial, the others stored;
# stored by a full re-read once the database takes it), and no API key in the
# log.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/conversations.sh"
conv_setup

now=$(date +%s)
s1=$((now - 3000)); s2=$((now - 2400)); s3=$((now - 1800)); s4=$((now - 1200)); s5=$((now - 600)); s6=$((now - 300))
a=$(conv_add $s1 "Hello, this is Henk for the food bank." "Sure, I’ll pledge twenty.")
b=$(conv_add $s2 "Would you like to help?" "Yes, I will DONATE today.")
c=$(conv_add $s3 "Would you like to help?" "No thanks.")
d=$(conv_add $s4 "Would you donate? Many say count me in." "Goodbye.")
e=$(conv_add $s5 "Would you like to help?" "Not right now." "Are you sure?" "Okay then, count me in.")
f=$(conv_add $s6)

# the calling side created a's row when it placed the call
pre=aaaaaaaa-0000-4000-8000-00000000000a
conv_sql "INSERT INTO conversations (id, elevenlabs_conversation_id, status, updated_at)
          VALUES ('$pre', '$a', 'initiated', '2020-01-01')" >/dev/null

engine check -c "$top/conf/henk-conversations.ini" >"$T/check.out" 2>&1 \
    || die "check refused the shipped configuration: $(cat "$T/check.out")"

note "agent_a's calls only"
ELEVENLABS_AGENT_ID=agent_a conv_run; rc=$?
[ $rc = 0 ] || die "the run for agent_a exited $rc (log: $(tail -n 5 "$T/engine.log"))"
got=$(conv_sql "SELECT elevenlabs_conversation_id, coalesce(agent_id, '-'), status FROM conversations ORDER BY 1")
[ "$got" = "$a|-|initiated
$b|agent_a|done
$d|agent_a|done
$f|agent_a|done" ] || die "after the run for agent_a: $got"

note "every agent's calls"
conv_run; rc=$?
[ $rc = 0 ] || die "the run exited $rc (log: $(tail -n 5 "$T/engine.log"))"

got=$(conv_sql "SELECT elevenlabs_conversation_id, agent_id, status, extract(epoch FROM started_at)::bigint,
                       duration_secs, message_count, coalesce(outcome, '-'), coalesce(sentiment_score::text, '-'),
                       key_points::text, metadata->>'agent_name', metadata->'analysis'->>'call_successful',
                       metadata->'metadata'->>'termination_reason', updated_at > now() - interval '1 minute'
                FROM conversations ORDER BY elevenlabs_conversation_id")
want="$a|agent_b|done|$s1|5|2|pledged|0.8|[\"Sure, I’ll pledge twenty.\"]|Agent b|success|end_call|t
$b|agent_a|done|$s2|5|2|donated|0.9|[\"Yes, I will DONATE today.\"]|Agent a|success|end_call|t
$c|agent_b|done|$s3|5|2|not_interested|0.2|[\"No thanks.\"]|Agent b|success|end_call|t
$d|agent_a|done|$s4|5|2|-|-|[]|Agent a|success|end_call|t
$e|agent_b|done|$s5|10|4|pledged|0.8|[\"Not right now.\", \"Okay then, count me in.\"]|Agent b|success|end_call|t
$f|agent_a|done|$s6|0|0|-|-|[]|Agent a|success|end_call|t"
[ "$got" = "$want" ] || die "conversations differ:
--- got
$got
--- want
$want"

[ "$(conv_sql "SELECT id FROM conversations WHERE elevenlabs_conversation_id = '$a'")" = "$pre" ] \
    || die "the row the calling side created was not updated in place"

got=$(conv_sql "SELECT c.elevenlabs_conversation_id, e.position, e.role, e.message, e.time_in_call_secs
                FROM conversation_events e JOIN conversations c ON c.id = e.conversation_id
                ORDER BY 1, 2")
want="$a|0|agent|Hello, this is Henk for the food bank.|0
$a|1|user|Sure, I’ll pledge twenty.|2.5
$b|0|agent|Would you like to help?|0
$b|1|user|Yes, I will DONATE today.|2.5
$c|0|agent|Would you like to help?|0
$c|1|user|No thanks.|2.5
$d|0|agent|Would you donate? Many say count me in.|0
$d|1|user|Goodbye.|2.5
$e|0|agent|Would you like to help?|0
$e|1|user|Not right now.|2.5
$e|2|agent|Are you sure?|5
$e|3|user|Okay then, count me in.|7.5"
[ "$got" = "$want" ] || die "conversation_events differ:
--- got
$got
--- want
$want"
[ "$(conv_sql "SELECT count(*) FROM conversation_events WHERE conversation_id = '$pre'")" = 2 ] \
    || die "a's events are not under the id its row had"

# a row of the engine's run log per run of the one job: agent_a's 3
# conversations and 4 events; then agent_b's 3 (a's row updated) and 8 events
# (agent_a's, listed unchanged, are not asked for again)
got=$(conv_sql "SELECT job, status, processed, inserted, updated, failed, full_refresh
                FROM syncengine.sync_runs ORDER BY started_at")
[ "$got" = "conversations|success|7|7|0|0|f
conversations|success|11|10|1|0|f" ] || die "the run log: $got"
[ "$(conv_sql "SELECT count(*) FROM sync_logs")" = 0 ] || die "the sync wrote sync_logs"
[ "$(conv_sql "SELECT count(*) FROM businesses") $(conv_sql "SELECT count(*) FROM integrations")" = "0 0" ] \
    || die "the test database is meant to have no business and no integration"
env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
    $SYNCENGINE status -c "$top/conf/henk-conversations.ini" --json >"$T/status.json" 2>>"$T/engine.log" \
    || die "status exited $? (log: $(tail -n 3 "$T/engine.log"))"
got=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
jobs = d["jobs"] if isinstance(d, dict) else d
print(" ".join("%s:%s:%s:%d:%s" % (j["name"], j["last_run"]["status"], j["last_run"]["processed"],
                                   len(j["recent_runs"]), j["runs_from"]) for j in jobs))' "$T/status.json") \
    || die "status --json: $(cat "$T/status.json")"
[ "$got" = "conversations:success:11:2:sink" ] || die "status: $got"

note "a conversation the database refuses: it and its events are rejected, named, the rest stored"
g=$(conv_add $((now - 200)) "Hello from the food bank." "I will pledge ten.")
h=$(conv_add $((now - 100)) "Hello from the food bank." "Not interested.")
conv_sql "ALTER TABLE conversations ADD CONSTRAINT test_refuse CHECK (elevenlabs_conversation_id <> '$g')" >/dev/null
conv_run; rc=$?
[ $rc = 6 ] || die "a run with rejected records exited $rc, not 6 (partial)"
got=$(conv_sql "SELECT status, processed, inserted, failed FROM syncengine.sync_runs
                ORDER BY started_at DESC LIMIT 1")
[ "$got" = "partial|6|3|3" ] || die "the run log after the refused conversation: $got"
for k in "$g" "$g/0" "$g/1"; do
    grep -q "record $k rejected" "$T/engine.log" || die "record $k is not named as rejected"
done
for k in "$g/0" "$g/1"; do
    grep -q "record $k rejected.*column conversation_id: no row of public.conversations has elevenlabs_conversation_id = '$g' (sink.resolve)" "$T/engine.log" \
        || die "the orphaned event $k's reason is not its missing conversation row"
done
[ "$(conv_sql "SELECT count(*) FROM conversations WHERE elevenlabs_conversation_id = '$g'")" = 0 ] \
    || die "the refused conversation was stored"
got=$(conv_sql "SELECT c.outcome, count(e.*) FROM conversations c JOIN conversation_events e ON e.conversation_id = c.id
                WHERE c.elevenlabs_conversation_id = '$h' GROUP BY 1")
[ "$got" = "not_interested|2" ] || die "the conversation after the refused one: $got"

note "once the database takes it, a full re-read stores it"
conv_sql "ALTER TABLE conversations DROP CONSTRAINT test_refuse" >/dev/null
conv_run --full-refresh; rc=$?
[ $rc = 0 ] || die "the full re-read exited $rc"
got=$(conv_sql "SELECT c.outcome, count(e.*) FROM conversations c JOIN conversation_events e ON e.conversation_id = c.id
                WHERE c.elevenlabs_conversation_id = '$g' GROUP BY 1")
[ "$got" = "pledged|2" ] || die "the once refused conversation: $got"
[ "$(conv_sql "SELECT count(*) FROM conversations")" = 8 ] || die "conversations duplicated"
assert_no_secrets xi-test-key
echo ok
