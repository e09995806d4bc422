#!/bin/sh
# purge_full_refresh.sh - records purged in Salesforce (hard-deleted: gone
# from queryAll too) are marked deleted by a complete full re-sync, and only
# by one:
#   - a full refresh whose read fails half-way marks nothing (its stored
#     pages stay; the purged rows stay active), nor does a stream in which a
#     record was rejected (the run is partial; a stream read and stored
#     whole in the same run does mark its own);
#   - a complete full refresh marks exactly the purged rows of each stream's
#     sink.purge_scope (conf/henk.ini: this business, this source) as
#     sync_status = 'deleted', takes them out of their lead list, and counts
#     them as deleted; rows of another business or source stay untouched;
#   - an incremental run never does it (getDeleted, off here, is
#     purge_get_deleted.sh).
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
# getDeleted off: purges older than its window (or an org refusing it) leave the sweep alone to find them
FK_SOURCE_OPTS="$FK_FAST_RETRIES
get_deleted = false"
# contacts are read first and fail first in the failed run
FK_PARALLEL_STREAMS=1
fk_setup --contacts 500 --leads 300
fk_run
fk_expect_rc 0 "the first run"

# rows no stream of this job owns: another business's contact, a manual lead
OTHER=7d0c3c1e-5b8e-4a51-9d4e-2f3a4b5c6d7e
fk_sql "INSERT INTO businesses (id, name) VALUES ('$OTHER', 'Other');
        INSERT INTO leads (business_id, source, source_id, last_name, sync_status)
        VALUES ('$OTHER', 'salesforce_contact', '003000000000999AAA', 'Elsewhere', 'active'),
               ('$FK_BIZ', 'manual', NULL, 'Typed in', 'active')" >/dev/null

out=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"purge","object":"Contact","count":3},{"op":"purge","object":"Lead","count":2}]') || die "purge failed"
purged=$(printf '%s' "$out" | python3 -c 'import json,sys; print(" ".join("'"'"'%s'"'"'" % i for i in json.load(sys.stdin)["ids"]))' | tr ' ' ',')
active_purged() { fk_sql "SELECT count(*) FROM leads WHERE source_id IN ($purged) AND sync_status = 'active'"; }
[ "$(active_purged)" = 5 ] || die "setup: the purged records are not all active rows"

note "an incremental run does not sweep"
fk_run
fk_expect_rc 0 "incremental run"
[ "$(active_purged)" = 5 ] || die "an incremental run marked purged records"

note "a full refresh whose read fails half-way marks nothing"
fk_faults '[{"match": "next", "after": 1, "times": -1, "kind": "status", "status": 500}]'
fk_run --once --full-refresh
fk_expect_rc 5 "a full refresh failing on its second page"
fk_expect_status failed "failed full refresh"
[ "$(fk_sql "SELECT count(*) FROM sync_logs WHERE sync_type = 'full'")" -ge 1 ] || die "no full run logged"
[ "$(active_purged)" = 5 ] || die "a failed full refresh marked purged records deleted"
grep -q "did not see marked deleted" "$T/run.log" && die "a failed read swept"
fk_nofaults

note "a full refresh with a rejected record marks nothing"
out=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"update","object":"Contact","where":"LastName != null","count":1,"set":{"LastName":"Nul\u0000"}}]') \
    || die "mutate failed"
bad=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ids"][0])')
fk_settle
fk_run --once --full-refresh
fk_expect_rc 6 "a full refresh with a rejected record"
fk_expect_status partial "partial full refresh"
# per stream: the leads were read and stored whole, so their purged rows are marked
[ "$(fk_sql "SELECT count(*) FROM leads WHERE source_id IN ($purged) AND sync_status = 'active' AND source = 'salesforce_contact'")" = 3 ] \
    || die "a partial full refresh marked purged contacts deleted"
[ "$(active_purged)" = 3 ] || die "the complete stream of a partial run did not mark its purged leads"
fk_log_has "full refresh of contacts: 1 record\(s\) were not stored, so rows that the read did not see are not marked deleted" \
    "the skipped sweep is said"
fk_mutate "[{\"op\":\"update\",\"object\":\"Contact\",\"ids\":[\"$bad\"],\"set\":{\"LastName\":\"Fixed\"}}]"
fk_settle

note "a complete full refresh marks exactly the purged rows in scope"
fk_run --once --full-refresh
fk_expect_rc 0 "full refresh"
fk_expect_status success "full refresh"
[ "$(active_purged)" = 0 ] || die "$(active_purged) purged record(s) still active after a complete full refresh"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE source_id IN ($purged) AND sync_status = 'deleted'")" = 5 ] \
    || die "the purged rows are not marked deleted"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE last_name IN ('Elsewhere', 'Typed in') AND sync_status = 'active'")" = 2 ] \
    || die "a row outside the streams' purge_scope was touched"
[ "$(fk_sql "SELECT count(*) FROM lead_list_members m JOIN leads l ON l.id = m.lead_id WHERE l.source_id IN ($purged)")" = 0 ] \
    || die "a purged lead is still in its list"
fk_log_has "3 row\(s\) in sink.purge_scope that the read did not see marked deleted" "contacts sweep"
fk_log_has "0 row\(s\) in sink.purge_scope that the read did not see marked deleted" "leads: swept already"
# 795 records read and 3 rows marked (the leads' 2 were marked by the partial run): processed 798
[ "$(fk_sql "SELECT records_processed || ' ' || (metadata->'streams'->'contacts'->>'deleted') || ' ' || (metadata->'streams'->'leads'->>'deleted') FROM sync_logs ORDER BY started_at DESC LIMIT 1")" = "798 3 0" ] \
    || die "counts: $(fk_sql "SELECT records_processed, metadata FROM sync_logs ORDER BY started_at DESC LIMIT 1")"
[ "$(fk_sql "SELECT count(*) FROM syncengine.sync_seen")" = 0 ] || die "the run's seen keys were left behind"
fk_check

note "a second full refresh finds nothing more"
fk_run --once --full-refresh
fk_expect_rc 0 "second full refresh"
fk_log_has "0 row\(s\) in sink.purge_scope that the read did not see marked deleted" "nothing more"
echo ok
