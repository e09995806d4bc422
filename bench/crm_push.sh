#!/bin/sh
# bench/crm_push.sh - the figures of the two-way CRM job (conf/crm.ini):
# Salesforce calls and wall time to push N new contacts (default 10,000;
# seed 004 asks under 5 minutes; N/200 calls is the floor), then to read them
# back unchanged (nothing may be written on either side).  Against a
# throwaway PostgreSQL and the Salesforce stand-in, on this machine.
#
#   bench/crm_push.sh [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
export O
N=${1:-10000}
. "$top/tests/lib/common.sh"
top=$(cd "$(dirname "$0")/.." && pwd) # common.sh expects to live two levels down
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

export SALESFORCE_LOGIN_URL="$SF_org_URL" SALESFORCE_CLIENT_ID=test-client-id SALESFORCE_CLIENT_SECRET=test-client-secret
export SALESFORCE_REFRESH_TOKEN=test-refresh-token SALESFORCE_LAG=0s SALESFORCE_LOOKBACK=0s
ini="$top/conf/crm.ini"
sql "INSERT INTO contacts (first_name, last_name, email, phone, title)
     SELECT 'First' || g, 'Last' || g, 'c' || g || '@bench.example', '+31 20 ' || g, 'Title ' || (g % 17)
     FROM generate_series(1, $N) g"

stats() { sf GET /__stub/stats | python3 -c '
import json, sys
s = json.load(sys.stdin)
k = s["by_kind"]
print("%d %d %d" % (s["api_calls"], s["records_written"], sum(v for n, v in k.items() if "sobjects" in n or "collection" in n)))'; }
now_ms() { python3 -c 'import time; print(int(time.time() * 1000))'; }
tuples() { sleep 0.6; sql "SELECT sum(n_tup_ins + n_tup_upd) FROM pg_stat_user_tables WHERE relname IN ('contacts', 'sync_links')"; }

sf POST /__stub/stats/reset >/dev/null
t0=$(now_ms)
$O/syncengine --once -c "$ini" --state-dir "$T/state" >"$T/push.log" 2>&1 || { cat "$T/push.log"; exit 1; }
t1=$(now_ms)
push_kinds=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["by_kind"], sort_keys=True))')
set -- $(stats)
push_calls=$1 push_written=$2
[ "$(sql "SELECT count(*) FROM contacts WHERE salesforce_id IS NOT NULL")" = "$N" ] || { echo "not every row was pushed"; exit 1; }

sfstub_settle "$SF_org_URL"
sf POST /__stub/stats/reset >/dev/null
tup0=$(tuples)
t2=$(now_ms)
$O/syncengine --once -c "$ini" --state-dir "$T/state" >"$T/pull.log" 2>&1 || { cat "$T/pull.log"; exit 1; }
t3=$(now_ms)
pull_kinds=$(sf GET /__stub/stats | python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin)["by_kind"], sort_keys=True))')
set -- $(stats)
pull_calls=$1 pull_written=$2
tup1=$(tuples)
read_back=$(sed -n 's/.*stream=contacts .*done: \([0-9]*\) read from Salesforce.*/\1/p' "$T/pull.log")

printf '%-34s %10s %10s %12s %14s\n' "two-way CRM job, $N contacts" "wall (s)" "SF calls" "SF writes" "table writes"
printf '%-34s %10.1f %10d %12d %14s\n' "push (upsert by Ext_Id__c)" "$(echo "($t1 - $t0) / 1000" | bc -l)" "$push_calls" "$push_written" "-"
printf '%-34s %10.1f %10d %12d %14d\n' "pull back unchanged ($read_back read)" "$(echo "($t3 - $t2) / 1000" | bc -l)" "$pull_calls" "$pull_written" "$((tup1 - tup0))"
echo "push calls by kind: $push_kinds"
echo "pull calls by kind: $pull_kinds"
