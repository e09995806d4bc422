#!/bin/bash
# http_metrics.sh - GET /metrics after real runs (the Salesforce stand-in as the
# source, the null sink), checked by Prometheus' own `promtool check metrics`
# and scraped by a real Prometheus:
#   - a successful and a failed run give runs by status, records by stream and
#     action, the duration histogram, the last success time, the stream's lag
#     (the cursor is a SystemModstamp) and the API calls;
#   - promtool finds no problem in the text (names, types, units, help), nor in
#     the example alert rules of docs/operations.md;
#   - a Prometheus server scrapes the port and answers a query on the result.
# Skipped (77) when promtool is not installed (Debian package prometheus).
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/http.sh"
[ -x "$O/syncengine" ] || skip "$O/syncengine not built"
command -v promtool >/dev/null || skip "promtool not installed (Debian package prometheus)"

sfstub_start org --contacts 300
export SF_URL="$SF_org_URL" TOK=http-metrics-token-5d2e8b0c
cat >"$T/m.ini" <<INI
[engine]
state_dir = $T/state
http_listen = 127.0.0.1:0
http_token = \${TOK}
[source sf]
plugin = salesforce
login_url = \${SF_URL}
client_id = test-client-id
client_secret = test-client-secret
refresh_token = test-refresh-token
lag = 0s
[sink n]
plugin = null
[job contacts]
source = sf
sink = n
schedule = 0 0 1 1 *
[stream contacts.c]
object = Contact
[map contacts.c]
id = Id
name = LastName
[job broken]
source = sf
sink = n
schedule = 0 0 1 1 *
[stream broken.c]
object = Contact
[map broken.c]
id = Id
nothing = No_Such_Field__c
INI
http_daemon m "$T/m.ini"
export HTTP_URL
for job in contacts broken; do
    out=$(hreq POST /api/v1/jobs/$job/run '' "$TOK")
    [ "$(echo "$out" | head -1)" = 202 ] || die "POST $job/run: $out"
done
i=0
until hreq GET /metrics | grep -q 'syncengine_runs_total{sync_job="broken",status="failed"} 1' &&
      hreq GET /metrics | grep -q 'syncengine_runs_total{sync_job="contacts",status="success"} 1'; do
    i=$((i + 1)); [ $i -gt 300 ] && die "the runs did not end: $(tail -n 5 "$T/m.log")"
    sleep 0.1
done
hreq GET /metrics | tail -n +2 >"$T/metrics.txt"

note "the families after real runs"
for want in 'syncengine_records_total{sync_job="contacts",stream="c",action="read"} 300' \
            'syncengine_records_total{sync_job="contacts",stream="c",action="inserted"} 300' \
            'syncengine_run_duration_seconds_count{sync_job="contacts"} 1' \
            'syncengine_last_success_timestamp_seconds{sync_job="contacts"} ' \
            'syncengine_stream_lag_seconds{sync_job="contacts",stream="c"} ' \
            'syncengine_api_calls_total{sync_job="contacts",source="sf"} ' \
            'syncengine_conflicts_total{sync_job="contacts"} 0' \
            '# TYPE syncengine_run_duration_seconds histogram'; do
    grep -qF "$want" "$T/metrics.txt" || die "no '$want' in /metrics"
done
grep -q 'syncengine_api_calls_total{sync_job="contacts",source="sf"} 0$' "$T/metrics.txt" && die "no API calls counted"
grep -q 'syncengine_last_success_timestamp_seconds{sync_job="broken"}' "$T/metrics.txt" && die "a failed run counted as success"
grep -q "$TOK\|test-client-secret\|test-refresh-token" "$T/metrics.txt" && die "a secret in /metrics"

note "promtool check metrics"
promtool check metrics <"$T/metrics.txt" >"$T/promtool.out" 2>&1 || die "promtool: $(cat "$T/promtool.out")"
[ -s "$T/promtool.out" ] && die "promtool complains: $(cat "$T/promtool.out")"

note "the alert rules of docs/operations.md are valid"
python3 - "$top/docs/operations.md" >"$T/rules.yml" <<'PY' || die "no rules in docs/operations.md"
import re, sys
text = open(sys.argv[1]).read().split("### Example alert rules", 1)[1]
print(re.search(r"```yaml\n(.*?)```", text, re.S).group(1))
PY
promtool check rules "$T/rules.yml" >"$T/rules.out" 2>&1 || die "promtool check rules: $(cat "$T/rules.out")"

note "a Prometheus server scrapes it"
pport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: syncengine
    static_configs:
      - targets: ["${HTTP_URL#http://}"]
YML
prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$T/prometheus.log" 2>&1 &
ppid_=$!
at_exit "kill $ppid_ 2>/dev/null; wait $ppid_ 2>/dev/null"
python3 - "$pport" <<'PY' || { tail -n 20 "$T/prometheus.log" >&2; die "Prometheus did not scrape the engine"; }
import json, sys, time, urllib.parse, urllib.request
q = 'syncengine_runs_total{sync_job="contacts",status="success"}'
url = "http://127.0.0.1:%s/api/v1/query?query=%s" % (sys.argv[1], urllib.parse.quote(q))
for _ in range(300):
    try:
        r = json.load(urllib.request.urlopen(url, timeout=5))
        res = r["data"]["result"]
        if res and res[0]["value"][1] == "1":
            print("scraped:", res[0]["metric"])
            break
    except Exception:
        pass
    time.sleep(0.2)
else:
    sys.exit(1)
PY
http_stop
echo ok
