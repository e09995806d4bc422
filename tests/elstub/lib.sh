# tests/elstub/lib.sh - helpers for the http source's tests (tests/integration/http_source*.sh).
#
# Source it after tests/lib/common.sh.  stub_start NAME SCRIPT [options]
# starts a stand-in (tests/elstub/elstub.py or tests/apistub/apistub.py) on a
# free loopback port and exports NAME_URL; stub_ctl URL METHOD PATH [JSON]
# calls its control API; stub_stat URL KEY prints one of its request
# counters; hs_run INI EXPECTED_EXIT [args] runs the engine once with its
# output in $T/out.log; hs_done STREAM prints the stream's "done:" counts of
# the last run ("READ INSERTED UPDATED UNCHANGED").

stub_start() {
    _name=$1 _script=$2
    shift 2
    _pf="$T/$_name.port"
    python3 "$top/$_script" --port 0 --port-file "$_pf" "$@" >"$T/$_name.log" 2>&1 &
    _pid=$!
    at_exit "kill $_pid 2>/dev/null; wait $_pid 2>/dev/null || true"
    _i=0
    while [ ! -s "$_pf" ]; do
        _i=$((_i + 1))
        [ $_i -gt 300 ] && { cat "$T/$_name.log" >&2; die "$_name did not start"; }
        kill -0 $_pid 2>/dev/null || { cat "$T/$_name.log" >&2; die "$_name exited"; }
        sleep 0.1
    done
    eval "${_name}_URL=http://127.0.0.1:$(cat "$_pf")"
    eval "export ${_name}_URL"
}

stub_ctl() {
    curl -sS --fail -X "$2" -H 'Content-Type: application/json' ${4:+--data-binary "$4"} "$1$3" ||
        die "stand-in control request $2 $3 failed"
}

stub_stat() {
    stub_ctl "$1" GET /__stub/stats | sed -n "s/.*\"$2\": \([0-9]*\).*/\1/p"
}

hs_run() {
    _ini=$1 _want=$2
    shift 2
    _code=0
    $SYNCENGINE --once -c "$_ini" "$@" >"$T/out.log" 2>&1 || _code=$?
    cat "$T/out.log" >>"$T/engine.log"
    [ -z "${HS_TIMING:-}" ] || { grep -o "run [a-z]* in [0-9]* ms" "$T/out.log"; date +%s.%N; } >&2
    [ "$_code" = "$_want" ] || { tail -n 20 "$T/out.log" >&2; die "exit code $_code, expected $_want"; }
}

hs_done() {
    sed -n "s/.*stream=$1 .*done: \([0-9]*\) read, \([0-9]*\) inserted, \([0-9]*\) updated, \([0-9]*\) unchanged.*/\1 \2 \3 \4/p" \
        "$T/out.log" | tail -n 1
}

# elstub_check TABLE_CONV TABLE_EVENTS: PostgreSQL holds exactly the stand-in's conversations and messages
elstub_check() {
    stub_ctl "$EL_URL" GET /__stub/truth >"$T/truth.json"
    psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT json_agg(c ORDER BY conversation_id) FROM (SELECT conversation_id,
        agent_id, extract(epoch FROM started_at)::bigint AS start, message_count, status FROM $1) c" >"$T/conv.json"
    psql -X -q -At -v ON_ERROR_STOP=1 -c "SELECT json_agg(e ORDER BY conversation_id, position) FROM (SELECT
        conversation_id, position, role, message, time_in_call_secs::float8 AS t FROM $2) e" >"$T/events.json"
    python3 - "$T/truth.json" "$T/conv.json" "$T/events.json" <<'PY' || die "PostgreSQL differs from the stand-in"
import json, sys
truth = json.load(open(sys.argv[1]))
conv = json.load(open(sys.argv[2])) or []
ev = json.load(open(sys.argv[3])) or []
want_c = sorted([{"conversation_id": c["conversation_id"], "agent_id": c["agent_id"], "start": c["start_time_unix_secs"],
                  "message_count": c["message_count"], "status": c["status"]} for c in truth],
                key=lambda x: x["conversation_id"])
want_e = sorted([{"conversation_id": c["conversation_id"], "position": i, "role": m["role"], "message": m["message"],
                  "t": float(m["time_in_call_secs"])} for c in truth for i, m in enumerate(c["transcript"])],
                key=lambda x: (x["conversation_id"], x["position"]))
ok = True
if conv != want_c:
    ok = False
    print("conversations: %d rows, expected %d; first difference: %s" % (len(conv), len(want_c),
          next(((a, b) for a, b in zip(conv, want_c) if a != b), None)), file=sys.stderr)
if ev != want_e:
    ok = False
    print("events: %d rows, expected %d; first difference: %s" % (len(ev), len(want_e),
          next(((a, b) for a, b in zip(ev, want_e) if a != b), None)), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# el_schema: the tables elstub_check compares
el_schema() {
    psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLE conversations (conversation_id text PRIMARY KEY, agent_id text,
        agent_name text, started_at timestamptz, duration_secs integer, message_count integer, status text,
        call_successful text, metadata jsonb, cost integer);
      CREATE TABLE conversation_events (conversation_id text REFERENCES conversations, position integer, role text,
        message text, time_in_call_secs numeric, PRIMARY KEY (conversation_id, position));" || die "schema"
}

# el_conf FILE [extra source lines...]: the ElevenLabs conversations job into PostgreSQL
el_conf() {
    _f=$1
    shift
    cat >"$_f" <<INI
[engine]
state_dir = $T/state

[source elevenlabs]
plugin = http
base_url = \${EL_URL}
auth = header
auth_header = xi-api-key
auth_token = \${ELEVENLABS_API_KEY}
path = /v1/convai/conversations
param = agent_id=\${ELEVENLABS_AGENT_ID:-}
stream = conversations
records = /conversations
key = /conversation_id
paginate = cursor
page_cursor = /next_cursor
page_cursor_param = cursor
has_more = /has_more
page_size_param = page_size
detail_path = /v1/convai/conversations/{conversation_id}
children = /transcript
field_type = start_time_unix_secs:unix_seconds
$(printf '%s\n' "$@")

[sink pg]
plugin = postgres
conninfo = \${DATABASE_URL}

[job conv]
source = elevenlabs
sink = pg

[stream conv.conversations]
object = conversations
target = conversations

[map conv.conversations]
conversation_id = conversation_id
agent_id = agent_id
agent_name = agent_name
started_at = start_time_unix_secs
duration_secs = call_duration_secs
message_count = message_count
status = status
call_successful = call_successful
metadata = metadata
cost = metadata.cost

[stream conv.events]
object = transcript
target = conversation_events

[map conv.events]
conversation_id = conversation_id
position = position
role = role
message = message
time_in_call_secs = time_in_call_secs
INI
}
