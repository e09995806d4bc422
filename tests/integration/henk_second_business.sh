#!/bin/sh
# henk_second_business.sh - the documented way to add a business works as
# shipped: conf/henk.ini with conf/henk.d/acme.ini.example renamed to
# acme.ini, each business reading its own Salesforce org (two stand-ins with
# different data) into the one Henk database.  Both must match their org
# exactly, in their own rows, lists, sync_logs and integrations row; a change
# in one org touches only that business's rows.  Also [engine] max_jobs: both
# jobs at once by default, one after the other with max_jobs = 1.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/henk.sh"
henk_setup --contacts 1500 --leads 400
ACME_BIZ=33333333-3333-4333-8333-333333333333
ACME_INT=44444444-4444-4444-8444-444444444444
henk_add_business $ACME_BIZ $ACME_INT || die "second business"
sfstub_start acme --seed 7 --contacts 900 --leads 250
export ACME_SALESFORCE_LOGIN_URL="$SF_acme_URL" ACME_SALESFORCE_CLIENT_ID=test-client-id
export ACME_SALESFORCE_CLIENT_SECRET=test-client-secret ACME_SALESFORCE_REFRESH_TOKEN=test-refresh-token
export ACME_BUSINESS_ID=$ACME_BIZ ACME_INTEGRATION_ID=$ACME_INT

# the shipped files, in a configuration directory of their own
mkdir -p "$T/conf/henk.d"
cp "$top/conf/henk.ini" "$T/conf/henk.ini"
cp "$top/conf/henk.d/acme.ini.example" "$T/conf/henk.d/acme.ini"
conf="$T/conf/henk.ini"

"$O/syncengine" check -c "$conf" >"$T/check.log" 2>&1 || die "check refused the shipped example: $(cat "$T/check.log")"
grep -q "configuration OK (2 job(s), 4 stream(s)" "$T/check.log" \
    || die "check does not see the second job and its streams: $(cat "$T/check.log")"

check_both() {
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_org_URL" --business $BIZ --integration $INT \
        --runs "$1" --summary --expect-run "$2" || die "the first business differs from its org after: $4"
    python3 "$top/tests/lib/henk_check.py" --stub "$SF_acme_URL" --business $ACME_BIZ --integration $ACME_INT \
        --runs "$1" --summary --expect-run "$3" || die "the second business differs from its org after: $4"
}

note "both businesses, full run"
engine -c "$conf" --once || die "the run exited $? (log: $(tail -n 5 "$T/engine.log"))"
check_both 1 processed=1900,created=1900 processed=1150,created=1150 "the full run"

# overlap of the latest runs of the two businesses: 1 when they ran at the same time
overlap() {
    psql -X -A -t -c "WITH l AS (SELECT DISTINCT ON (business_id) started_at, completed_at FROM sync_logs
                                 ORDER BY business_id, started_at DESC)
                      SELECT count(*) FROM l a JOIN l b ON a.started_at < b.started_at
                      WHERE b.started_at < a.completed_at"
}
[ "$(overlap)" = 1 ] || die "with max_jobs = 4 the two jobs did not run at the same time"

note "a change in the second org touches only the second business"
before=$(psql -X -A -t -c "SELECT md5(string_agg(l::text, ',' ORDER BY id)) FROM leads l WHERE business_id = '$BIZ'")
sfstub_ctl "$SF_acme_URL" POST /__stub/mutate '[{"op":"update","object":"Contact","count":30,"set":{"Title":"Acme only"}},
    {"op":"delete","object":"Lead","count":4}]' >/dev/null || die "mutate"
sfstub_settle "$SF_acme_URL"
engine -c "$conf" --once || die "the second run exited $?"
check_both 2 processed=0 processed=34,updated=30,deleted=4 "a change in the second org"
after=$(psql -X -A -t -c "SELECT md5(string_agg(l::text, ',' ORDER BY id)) FROM leads l WHERE business_id = '$BIZ'")
[ "$before" = "$after" ] || die "the first business's rows changed with the second org"
[ "$(psql -X -A -t -c "SELECT count(*) FROM leads WHERE title = 'Acme only' AND business_id <> '$ACME_BIZ'")" = 0 ] \
    || die "another business got the second org's change"

note "max_jobs = 1: the two jobs run one after the other"
sed -i 's/^max_jobs = .*/max_jobs = 1/' "$conf"
for url in "$SF_org_URL" "$SF_acme_URL"; do
    sfstub_ctl "$url" POST /__stub/mutate '[{"op":"update","object":"Contact","count":300,"set":{"Title":"Serial"}}]' \
        >/dev/null || die "mutate"
    sfstub_settle "$url"
done
engine -c "$conf" --once || die "the serial run exited $?"
check_both 3 processed=300,updated=300 processed=300,updated=300 "a run with max_jobs = 1"
[ "$(overlap)" = 0 ] || die "with max_jobs = 1 the two jobs ran at the same time"
assert_no_secrets test-client-secret test-refresh-token
echo ok
