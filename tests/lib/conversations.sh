# tests/lib/conversations.sh - Henk's conversation sync (conf/henk-conversations.ini)
# against a throwaway PostgreSQL and the ElevenLabs stand-in (tests/elstub/).
#
# conv_setup [elstub options]: the Henk schema (no business, no integration:
#   the sync needs none), a stand-in with no conversations ($EL_URL), the
#   environment the configuration reads, a private state directory.
# conv_add START 'agent text' 'user text' ...: a conversation that started at
#   START (unix seconds) with these messages (the stand-in's roles alternate,
#   agent first); prints its id.
# conv_grow ID 'text' ...: more messages for conversation ID.
# conv_run [engine options]: one run of the shipped configuration with only
#   DATABASE_URL, ELEVENLABS_API_KEY, ELEVENLABS_API_URL, ELEVENLABS_AGENT_ID and
#   CONVERSATION_LOOKBACK (when set) of the conversation sync's variables, and
#   no PG* variable (libpq would fill gaps of the URL from them); its exit code.
# conv_runs: "full status processed inserted updated unchanged failed" of every
#   run in the engine's run log (syncengine.sync_runs), oldest first.
# conv_sql SQL: one query, unaligned.
# conv_writes TABLE: "inserts updates" the server counted for TABLE so far.
# el_ctl METHOD PATH [JSON]: the stand-in's control API.
# Needs common.sh and pgcluster.sh; exits 77 (skip) without PostgreSQL.

conv_setup() {
    pg_start || exit $?
    at_exit pg_stop
    psql -X -q -v ON_ERROR_STOP=1 -f "$top/conf/henk.sql" >/dev/null || die "schema"
    _pf="$T/elstub.port"
    python3 "$top/tests/elstub/elstub.py" --port 0 --port-file "$_pf" --conversations 0 --messages 0 "$@" \
        >"$T/elstub.log" 2>&1 &
    _pid=$!
    at_exit "kill $_pid 2>/dev/null; wait $_pid 2>/dev/null"
    _i=0
    while [ ! -s "$_pf" ]; do
        _i=$((_i + 1))
        [ $_i -gt 300 ] && { cat "$T/elstub.log" >&2; die "the ElevenLabs stand-in did not start"; }
        sleep 0.1
    done
    EL_URL=http://127.0.0.1:$(cat "$_pf")
    export ELEVENLABS_API_URL="$EL_URL" ELEVENLABS_API_KEY=xi-test-key SYNCENGINE_STATE_DIR="$T/state"
    unset ELEVENLABS_AGENT_ID CONVERSATION_LOOKBACK
}

el_ctl() {
    sfstub_ctl "$EL_URL" "$@"
}

conv_add() {
    python3 - "$EL_URL" "$@" <<'PY' || die "conv_add $*"
import json, sys, urllib.request
base, start, msgs = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def call(ops):
    req = urllib.request.Request(base + "/__stub/mutate", method="POST", data=json.dumps(ops).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)
cid = call([{"op": "insert", "start": start}])[0][0]
if msgs:
    call([{"op": "add_messages", "conversation_id": cid, "count": 1, "message": m} for m in msgs])
print(cid)
PY
}

conv_grow() {
    python3 - "$EL_URL" "$@" <<'PY' || die "conv_grow $*"
import json, sys, urllib.request
base, cid, msgs = sys.argv[1], sys.argv[2], sys.argv[3:]
ops = [{"op": "add_messages", "conversation_id": cid, "count": 1, "message": m} for m in msgs]
req = urllib.request.Request(base + "/__stub/mutate", method="POST", data=json.dumps(ops).encode(),
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=30).read()
PY
}

conv_run() {
    env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE \
        $SYNCENGINE -c "$top/conf/henk-conversations.ini" --once "$@" 2>>"$T/engine.log"
}

conv_runs() {
    conv_sql "SELECT full_refresh, status, processed, inserted, updated, unchanged, failed
              FROM syncengine.sync_runs ORDER BY started_at"
}

conv_sql() {
    psql -X -A -t -v ON_ERROR_STOP=1 -c "$1"
}

conv_writes() {
    # an ending server session reports its counts as it exits: give it a moment
    sleep 0.5
    conv_sql "SELECT n_tup_ins || ' ' || n_tup_upd FROM pg_stat_user_tables WHERE relname = '$1'"
}
