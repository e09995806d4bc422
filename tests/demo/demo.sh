#!/bin/sh
# tests/demo/demo.sh - `make demo`: the Henk sync on a laptop, no Salesforce account needed.
#
# Installs what is missing (Debian packages), builds, starts a throwaway
# PostgreSQL and the bundled Salesforce stand-in with generated data, runs the
# Henk sync (conf/henk.ini) in full, simulates changes in Salesforce, runs it
# again incrementally, prints what landed; then runs the service for the three
# businesses connected in the database, connects a fourth while it runs
# (synced without a restart), and stops everything it started.
#
#   DEMO_CONTACTS / DEMO_LEADS   how many records the stand-in generates (default 2000 / 1500)
#   DEMO_KEEP=1                  leave the database and stand-in running (Ctrl-C to stop)
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
O=${O:-build}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "checking dependencies"
sh tests/install-deps.sh
say "building"
make -s -j"$(nproc 2>/dev/null || echo 2)" O="$O"

. "$top/tests/lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
unset SYNCENGINE_NO_PROGRESS

say "starting a throwaway PostgreSQL with the Henk schema (conf/henk.sql)"
pg_start
at_exit pg_stop
BIZ=6b1f0c1e-0000-4000-8000-00000000b001
INT=6b1f0c1e-0000-4000-8000-00000000c001
henk_db_init $BIZ $INT

say "starting the Salesforce stand-in (${DEMO_CONTACTS:-2000} contacts, ${DEMO_LEADS:-1500} leads)"
sfstub_start demo --contacts "${DEMO_CONTACTS:-2000}" --leads "${DEMO_LEADS:-1500}" --same-modstamp 500
henk_env "$SF_demo_URL" $BIZ $INT
export SYNCENGINE_STATE_DIR="$T/state"

summary() {
    psql -X -q -P pager=off <<'SQL'
\echo 'leads per source and status:'
SELECT source, sync_status, count(*) FROM leads GROUP BY 1, 2 ORDER BY 1, 2;
\echo 'lead lists:'
SELECT name, lead_count, (SELECT count(*) FROM lead_list_members m WHERE m.lead_list_id = ll.id) AS members
  FROM lead_lists ll ORDER BY name;
\echo 'a few leads:'
SELECT source, source_id, first_name, last_name, company, lead_score, quality_rating, sync_status
  FROM leads ORDER BY last_activity_at DESC NULLS LAST LIMIT 5;
\echo 'sync_logs:'
SELECT sync_type, sync_status, records_processed AS processed, records_created AS created,
       records_updated AS updated, records_failed AS failed, duration_ms,
       metadata->'counters'->>'api_calls' AS api_calls
  FROM sync_logs ORDER BY started_at;
SQL
}

say "run 1: full sync   ($O/syncengine -c conf/henk.ini --once)"
"$O/syncengine" -c conf/henk.ini --once
summary

say "meanwhile in Salesforce: 100 contacts edited, 20 leads deleted, 10 converted, 50 new leads"
sfstub_ctl "$SF_demo_URL" POST /__stub/mutate '[
  {"op":"update","object":"Contact","count":100,"set":{"Title":"VP of Demos"}},
  {"op":"delete","object":"Lead","count":20},
  {"op":"convert","object":"Lead","count":10},
  {"op":"create","object":"Lead","count":50,"set":{"Rating":"Hot"}}]' >/dev/null

# A run reads up to Salesforce's clock (whole seconds in its Date header) minus
# `lag`: changes made this very second are left for the next run.
sleep 2
say "run 2: incremental sync: only the changes travel"
"$O/syncengine" -c conf/henk.ini --once
summary

say "status   ($O/syncengine status -c conf/henk.ini)"
"$O/syncengine" status -c conf/henk.ini

say "checking the database against Salesforce, field by field"
python3 tests/lib/henk_check.py --stub "$SF_demo_URL" --business $BIZ --integration $INT --runs 2 --summary

say "every business connected in the database: three, the service running"
# a stand-in with three more orgs (refresh tokens org-0001..org-0003); the rows
# carry their tokens and login URL, as the web application stores them
sfstub_start orgs --orgs 3 --org-records 300
connect() { # NUMBER: business and Salesforce connection number NUMBER, as the web application makes them
    psql -X -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO businesses (id, name) VALUES ('6b1f0c1e-0000-4000-8000-00000000b00$1', 'Business $1');
INSERT INTO integrations (id, business_id, name, type, status, credentials, config)
VALUES ('6b1f0c1e-0000-4000-8000-00000000c00$1', '6b1f0c1e-0000-4000-8000-00000000b00$1', 'Salesforce', 'crm',
        'active', '{"refreshToken": "org-000$(($1 - 1))"}',
        '{"syncEnabled": true, "syncInterval": 0.2, "loginUrl": "$SF_orgs_URL"}');
SQL
}
psql -X -q -c "UPDATE integrations SET config = config || '{\"syncInterval\": 0.2}'"
connect 2
connect 3
unset HENK_INTEGRATION_ID
export HENK_TENANTS_REFRESH=2s
say "service: $O/syncengine -c conf/henk.ini --run-at-start   (every integrations row; each every 12 s here)"
"$O/syncengine" -c conf/henk.ini --run-at-start 2>"$T/service.log" &
svc=$!
at_exit "kill $svc 2>/dev/null || true; wait $svc 2>/dev/null || true"
per_business() {
    psql -X -q -P pager=off -c "SELECT b.name AS business, i.status, count(l.id) AS leads,
        (SELECT count(*) FROM sync_logs s WHERE s.integration_id = i.id) AS runs
        FROM businesses b JOIN integrations i ON i.business_id = b.id LEFT JOIN leads l ON l.business_id = b.id
        GROUP BY b.name, i.id, i.status ORDER BY b.name"
}
wait_leads() { # BUSINESS_NUMBER: until its leads are there (60 s at most)
    i=0
    until [ "$(psql -X -A -t -c "SELECT count(*) FROM leads WHERE business_id = '6b1f0c1e-0000-4000-8000-00000000b00$1'")" -gt 0 ]; do
        i=$((i + 1)); [ $i -gt 300 ] && { tail -n 20 "$T/service.log"; echo "business $1 was not synced" >&2; exit 1; }
        sleep 0.2
    done
}
wait_leads 2
wait_leads 3
per_business
say "a fourth business connects Salesforce while the service runs"
connect 4
wait_leads 4
sleep 1
per_business
grep "tenant added\|next run at" "$T/service.log" | tail -n 3
say "status   ($O/syncengine status -c conf/henk.ini)"
"$O/syncengine" status -c conf/henk.ini
kill -TERM $svc; wait $svc || true

if [ "${DEMO_KEEP:-0}" = 1 ]; then
    say "still running: DATABASE_URL=$DATABASE_URL  stand-in: $SF_demo_URL  (Ctrl-C stops)"
    while :; do sleep 3600; done
fi
say "done; stopping the database and the stand-in"
