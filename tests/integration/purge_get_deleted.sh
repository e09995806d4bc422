#!/bin/sh
# purge_get_deleted.sh - an incremental run catches records hard-deleted in
# Salesforce (purged from the recycle bin, so no query returns them) through
# the getDeleted resource:
#   - purged contacts and a lead deleted then purged are marked deleted by
#     the next incremental run; a record deleted and undeleted stays active;
#   - an org that refuses getDeleted (403) for an object: one warning, the
#     run succeeds, and later runs do not ask again;
#   - deletions Salesforce no longer lists (earliestDateAvailable after what
#     was asked for before) are reported, naming the fix.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 300 --leads 200 --log "$T/sf-requests.log"
fk_run
fk_expect_rc 0 "the first run"

ids_of() { python3 -c 'import json,sys; print(",".join("'"'"'%s'"'"'" % i for i in json.load(sys.stdin)["results"]['"$1"']["ids"]))'; }
out=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"purge","object":"Contact","count":2},
      {"op":"delete","object":"Lead","count":1}]') || die "mutate failed"
purged=$(printf '%s' "$out" | ids_of 0)
binned=$(printf '%s' "$out" | ids_of 1)
# the binned lead is emptied from the recycle bin before the engine sees it;
# another lead is deleted and undeleted
sfstub_ctl "$SF_org_URL" POST /__stub/mutate "[{\"op\":\"purge\",\"object\":\"Lead\",\"ids\":[$(echo "$binned" | tr "'" '"')]}]" >/dev/null \
    || die "purge of the binned lead failed"
out=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate \
    '[{"op":"delete","object":"Lead","where":"LastName != null","count":1}]') || die "delete failed"
back=$(printf '%s' "$out" | ids_of 0)
sfstub_ctl "$SF_org_URL" POST /__stub/mutate "[{\"op\":\"undelete\",\"object\":\"Lead\",\"ids\":[$(echo "$back" | tr "'" '"')]}]" >/dev/null \
    || die "undelete failed"
fk_settle
status_of() { fk_sql "SELECT string_agg(sync_status, ',' ORDER BY source_id) FROM leads WHERE source_id IN ($1)"; }
[ "$(status_of "$purged,$binned")" = "active,active,active" ] || die "setup: $(status_of "$purged,$binned")"

note "an incremental run marks the purged records deleted"
fk_run
fk_expect_rc 0 "incremental run with purged records"
fk_expect_status success "incremental run"
[ "$(status_of "$purged,$binned")" = "deleted,deleted,deleted" ] \
    || die "purged records are not marked deleted: $(status_of "$purged,$binned")"
[ "$(status_of "$back")" = "active" ] || die "a deleted and undeleted lead is $(status_of "$back")"
fk_log_has "getDeleted: 2 Contact record\(s\) deleted" "the contacts' getDeleted"
fk_log_has "getDeleted: 1 Lead record\(s\) deleted" "the leads' getDeleted"
fk_check

note "an org refusing getDeleted: one warning, then no more asking"
sfstub_ctl "$SF_org_URL" POST /__stub/deleted '{"refuse": ["Lead"]}' >/dev/null || die "cannot refuse"
out=$(sfstub_ctl "$SF_org_URL" POST /__stub/mutate '[{"op":"purge","object":"Lead","count":1}]') || die "purge failed"
fk_settle
fk_run
fk_expect_rc 0 "a run whose getDeleted is refused"
fk_expect_status success "refused getDeleted"
fk_log_has "salesforce refused getDeleted for Lead.*full refresh" "the warning"
asked=$(grep -c "sobjects/Lead/deleted" "$T/sf-requests.log")
fk_run
fk_expect_rc 0 "the next run"
grep -q "refused getDeleted" "$T/run.log" && die "the refusal was reported twice"
[ "$(grep -c "sobjects/Lead/deleted" "$T/sf-requests.log")" = "$asked" ] || die "getDeleted was asked again"
sfstub_ctl "$SF_org_URL" POST /__stub/deleted '{"refuse": []}' >/dev/null || die "cannot allow"

note "deletions Salesforce no longer lists are reported"
later=$(sfstub_ctl "$SF_org_URL" GET /__stub/clock | python3 -c 'import json,sys; print(json.load(sys.stdin)["now"])')
sleep 1
sfstub_ctl "$SF_org_URL" POST /__stub/deleted "{\"earliest\": \"$later\"}" >/dev/null || die "cannot trim"
# the last window asked for ended before the trimmed log's first entry
sfstub_ctl "$SF_org_URL" POST /__stub/clock '{"advance_ms": 120000}' >/dev/null
fk_mutate '[{"op":"update","object":"Contact","count":1,"set":{"Title":"Moved on"}}]'
fk_settle
fk_run
fk_expect_rc 0 "a run with a trimmed deletion log"
fk_log_has "salesforce lists deleted Contact records only from .*full refresh" "the gap is reported"
echo ok
