#!/bin/sh
# One tenant never delays the others: four tenants of conf/henk.ini's
# [tenants salesforce] (max_jobs = 4) run once without faults, then again
# with tenant 4's org answering every request 3 s late (an org that hangs).
# The other three finish their cycle as fast as without it (each tenant's
# run is on its own thread); tenant 4 finishes on its own, later.  Prints
# the others' cycle wall time with and without the slow tenant.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 4 --org-records 200
for k in 1 2 3 4; do tenant_add $k; done
# the wall time of tenants 1..3 in their latest run, in ms
others_wall() {
    psql -X -A -t -c "WITH l AS (SELECT DISTINCT ON (integration_id) integration_id, created_at, completed_at
                                 FROM sync_logs WHERE integration_id <> '$(tenant_int 4)'
                                 ORDER BY integration_id, started_at DESC)
                      SELECT round(extract(epoch FROM max(completed_at) - min(created_at)) * 1000) FROM l"
}
note "a cycle without faults"
engine -c "$top/conf/henk.ini" --once || die "the first cycle exited $?"
engine -c "$top/conf/henk.ini" --once || die "the second cycle exited $?"
base=$(others_wall)

note "tenant 4's org answers every request 3 s late"
sfstub_ctl "$SF_org_URL" POST /__stub/mutate?org=$(tenant_org 4) '[{"op":"create","object":"Contact","count":5}]' >/dev/null
sfstub_ctl "$SF_org_URL" POST /__stub/faults \
    "{\"faults\":[{\"match\":\"any\",\"org\":\"$(tenant_org 4)\",\"times\":-1,\"kind\":\"slow\",\"delay\":3}]}" >/dev/null
sfstub_settle "$SF_org_URL"
start=$(date +%s%3N)
engine -c "$top/conf/henk.ini" --once || die "the cycle with a slow tenant exited $?"
total=$(( $(date +%s%3N) - start ))
slow=$(others_wall)
t4=$(psql -X -A -t -c "SELECT round(extract(epoch FROM completed_at - created_at) * 1000) FROM sync_logs
                       WHERE integration_id = '$(tenant_int 4)' ORDER BY started_at DESC LIMIT 1")
echo "others' cycle: ${base} ms without, ${slow} ms with tenant 4 slow (tenant 4's run: ${t4} ms; whole --once: ${total} ms)"
[ "$t4" -gt 6000 ] || die "tenant 4 was not slowed (${t4} ms)"
[ "$slow" -lt $((base * 2 + 2000)) ] || die "the slow tenant delayed the others: ${slow} ms against ${base} ms"
[ "$slow" -lt "$t4" ] || die "the others finished after the slow tenant"
[ "$(tenant_leads 4)" = 205 ] || die "tenant 4 has $(tenant_leads 4) leads"
echo "ok: a slow tenant delays no other"
