#!/bin/bash
# bench/sf_push.sh - pushing new records into Salesforce: N rows of a SQLite
# table (default 10,000) upserted as Contacts by their external id
# (Ext_Id__c) into the Salesforce stand-in, then the same run again with
# nothing new.  Prints the wall time of each run and the API calls the
# stand-in answered (sObject Collections calls: N / 200 is the floor).
#
#   bench/sf_push.sh [--records N]
#
# Environment: O (build directory, default build), TMPDIR.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-build}
case "$O" in /*) ;; *) O="$top/$O" ;; esac
N=10000
while [ $# -gt 0 ]; do
    case "$1" in
    --records) N=$2; shift 2 ;;
    *) echo "usage: bench/sf_push.sh [--records N]" >&2; exit 2 ;;
    esac
done
[ -x "$O/syncengine" ] || { echo "bench: $O/syncengine not found (run make first)" >&2; exit 2; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sf-push.XXXXXX")
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$T"' EXIT

python3 "$top/tests/sfstub/sfstub.py" --port 0 --port-file "$T/port" --contacts 0 --leads 0 --accounts 1 \
    >"$T/stub.log" 2>&1 &
pid=$!
while [ ! -s "$T/port" ]; do kill -0 $pid 2>/dev/null || { cat "$T/stub.log"; exit 1; }; sleep 0.1; done
url=http://127.0.0.1:$(cat "$T/port")
python3 - "$T/edge.db" "$N" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE people (id TEXT PRIMARY KEY, first TEXT, last TEXT, email TEXT, title TEXT, phone TEXT, updated_at TEXT)")
c.execute("CREATE INDEX people_cursor ON people (updated_at, id)")
c.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?, '2024-01-01T00:00:00.000Z')",
              [("row-%07d" % i, "First %d" % i, "Last %d" % i, "p%d@example.com" % i, "Title %d" % (i % 50),
                "+1 555 %04d" % (i % 10000)) for i in range(int(sys.argv[2]))])
c.commit()
PY
cat >"$T/push.ini" <<INI
[engine]
state_dir = $T/state

[source edge]
plugin = sqlite
path = $T/edge.db

[sink sf]
plugin = salesforce
login_url = $url
client_id = test-client-id
client_secret = \${SF_BENCH_SECRET}
refresh_token = \${SF_BENCH_TOKEN}

[job push]
source = edge
sink = sf
batch_size = 2000

[stream push.people]
object = people
target = Contact
source.settle = 0s
sink.external_id = Ext_Id__c

[map push.people]
Ext_Id__c = id
FirstName = first
LastName = last
Email = email
Title = title
Phone = phone
INI
export SF_BENCH_SECRET=test-client-secret SF_BENCH_TOKEN=test-refresh-token SYNCENGINE_NO_PROGRESS=1
stats() {
    python3 -c 'import json, sys, urllib.request
s = json.load(urllib.request.urlopen(sys.argv[1] + "/__stub/stats"))
k = s["by_kind"]
print("%d collections calls, %d API calls in all (%d token), %d records written"
      % (k.get("collections", 0), s["api_calls"], s["token_calls"], s["records_written"]))
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/__stub/stats/reset", method="POST"))' "$url"
}
for run in "first run ($N new records)" "second run (nothing new)"; do
    start=$(date +%s.%N)
    "$O/syncengine" --once -c "$T/push.ini" >"$T/run.log" 2>&1 || { tail -n 5 "$T/run.log"; exit 1; }
    end=$(date +%s.%N)
    printf '%s: %.2f s; %s\n' "$run" "$(echo "$end - $start" | bc)" "$(stats)"
    grep -o 'run success in .*' "$T/run.log"
done
