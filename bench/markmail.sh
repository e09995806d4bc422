#!/bin/sh
# bench/markmail.sh - the figures of the MarkMail job (conf/markmail.ini):
# Salesforce calls and wall time to push N new contacts (default 10,000; seed
# 004 asks under 5 minutes; N/200 calls is the floor), then E email events
# (default 100,000; E/200 calls is the floor) spread over them, then the calls
# of an idle run.  Against a throwaway PostgreSQL and the Salesforce
# stand-in, on this machine.
#
#   bench/markmail.sh [N [E]]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
export O
N=${1:-10000}
E=${2:-100000}
. "$top/tests/lib/common.sh"
top=$(cd "$(dirname "$0")/.." && pwd) # common.sh expects to live two levels down
SYNCENGINE="${MM_WRAP:-} $O/syncengine"
. "$top/tests/lib/markmail.sh"
markmail_setup --accounts 0 --contacts 0 --leads 0

now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
kinds() { sf GET /__stub/stats | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["by_kind"], sort_keys=True))'; }
row() {
    printf '%-40s %10.1f %10s %12s\n' "$1" "$(echo "($3 - $2) / 1000" | bc -l)" "$(sf_stat 's["api_calls"]')" "$(sf_stat 's["records_written"]')"
}

sql "INSERT INTO contacts (email, first_name, last_name, phone)
     SELECT 'c' || g || '@bench.example', 'First' || g, 'Last' || g, '+31 20 ' || g FROM generate_series(1, $N) g"
sql "INSERT INTO lists (name) VALUES ('Bench list')"
printf '%-40s %10s %10s %12s\n' "MarkMail job" "wall (s)" "SF calls" "SF writes"

sf POST /__stub/stats/reset >/dev/null
t0=$(now_ms); mm; t1=$(now_ms)
[ $rc -eq 0 ] || { cat "$T/run.log"; exit 1; }
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL")" = "$N" ] || { echo "not every contact was pushed"; exit 1; }
row "$N new contacts (+1 campaign)" "$t0" "$t1"
k1=$(kinds)

sql "INSERT INTO email_events (contact_id, list_id, type, occurred_at, subject, message_id)
     SELECT c.id, l.id, (ARRAY['sent','opened','clicked','replied','bounced'])[1 + g % 5],
            now() - interval '1 day' + g * interval '1 millisecond', 'Bench mail', 'm' || g
     FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM contacts) c, lists l, generate_series(1, $E) g
     WHERE c.n = 1 + g % $N"
sfstub_settle "$SF_org_URL"
sf POST /__stub/stats/reset >/dev/null
t0=$(now_ms); mm; t1=$(now_ms)
[ $rc -eq 0 ] || { cat "$T/run.log"; exit 1; }
[ "$(sf_count Task)" = "$E" ] || { echo "tasks: $(sf_count Task), expected $E"; exit 1; }
row "$E email events" "$t0" "$t1"
[ -n "${MM_KEEP_LOG:-}" ] && cp "$T/run.log" "$MM_KEEP_LOG"
k2=$(kinds)

sfstub_settle "$SF_org_URL"
sf POST /__stub/stats/reset >/dev/null
t0=$(now_ms); mm; t1=$(now_ms)
[ $rc -eq 0 ] || { cat "$T/run.log"; exit 1; }
row "idle run" "$t0" "$t1"
echo "contacts calls by kind: $k1"
echo "events calls by kind:   $k2"
echo "idle calls by kind:     $(kinds)"
