#!/bin/sh
# Tenants on one Salesforce instance are capped (conf/henk.ini's [tenants
# salesforce] with max_per_instance = 1 and instance_column =
# config.instanceUrl): six tenants, three on instance A and three on B, run
# once with max_jobs = 4; no two runs on one instance overlap, while the
# global cap still lets A and B run side by side.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/tenants.sh"
tenants_setup 6 --org-records 400
for k in 1 2 3 4 5 6; do tenant_add $k; done
psql -X -q -c "UPDATE integrations SET config = config || jsonb_build_object('instanceUrl',
               CASE WHEN right(id::text, 1)::int <= 3 THEN 'https://a.example' ELSE 'https://b.example' END)"
sed -e 's/^max_per_instance = .*/max_per_instance = 1/' -e '/^include = /d' "$top/conf/henk.ini" >"$T/henk.ini"
# each org answers a little slowly, so that runs would overlap without the cap
sfstub_ctl "$SF_org_URL" POST /__stub/faults '{"faults":[{"match":"any","times":-1,"kind":"slow","delay":0.3}]}' >/dev/null
engine -c "$T/henk.ini" --once || die "the cycle exited $? (log: $(tail -n 5 "$T/engine.log"))"
[ "$(psql -X -A -t -c "SELECT count(*) FROM sync_logs WHERE sync_status = 'success'")" = 6 ] || die "not every tenant synced"
overlaps() { # instance: pairs of runs on it that overlapped
    psql -X -A -t -c "SELECT count(*) FROM sync_logs x JOIN integrations ix ON ix.id = x.integration_id,
                             sync_logs y JOIN integrations iy ON iy.id = y.integration_id
                      WHERE x.id < y.id AND ix.config->>'instanceUrl' = '$1' AND iy.config->>'instanceUrl' = '$1'
                        AND x.created_at < y.completed_at AND y.created_at < x.completed_at"
}
[ "$(overlaps https://a.example)" = 0 ] || die "$(overlaps https://a.example) pairs of runs overlapped on instance A"
[ "$(overlaps https://b.example)" = 0 ] || die "$(overlaps https://b.example) pairs of runs overlapped on instance B"
across=$(psql -X -A -t -c "SELECT count(*) FROM sync_logs x, sync_logs y WHERE x.id < y.id
                           AND x.created_at < y.completed_at AND y.created_at < x.completed_at")
[ "$across" -gt 0 ] || die "no two runs ran side by side: the global cap (max_jobs = 4) was not used"
echo "ok: one run at a time per instance, $across overlapping pairs across instances"
