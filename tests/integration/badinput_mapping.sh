#!/bin/sh
# badinput_mapping.sh - mappings that do not fit the source or the target,
# and values the database rejects, through the real binary against the
# stand-in and PostgreSQL:
#   - a source field or relationship Salesforce does not have, a target
#     column or table that does not exist: `check --connect` refuses it
#     (exit 3, file:line, the object and field or the table and column) and so
#     does the run, before its run-log row is written (exit 3, no sync_logs
#     row, nothing stored); `check` offline cannot know and passes;
#   - a source.where that Salesforce refuses (the plugin returns its error):
#     exit 5, Salesforce's message passed on;
#   - a mapping producing values too long for varchar(20) postal_code on some
#     records: those records are rejected one by one with their key and the
#     server's message, in the log and in sync_logs.error_details (the first
#     100, and the total); the run is
#     'partial', exit 6; every other record is stored.  A --full-refresh with
#     a fixed mapping stores them.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS="batch_size = 200"
fk_setup --contacts 1000 --leads 100

# run_with NAME SED-SCRIPT: one --once run of conf/henk.ini edited by SED-SCRIPT.
run_with() {
    sed "$2" "$FK_CONF" >"$T/$1.ini"
    cmp -s "$T/$1.ini" "$FK_CONF" && die "$1: the edit changed nothing"
    fk_runs=$((fk_runs + 1))
    fk_rc=0
    $SYNCENGINE -c "$T/$1.ini" --once 2>"$T/run.log" || fk_rc=$?
    cat "$T/run.log" >>"$T/engine.log"
}
line_of() { grep -n -m1 -E -- "$2" "$T/$1.ini" | cut -d: -f1; }

# refused NAME MESSAGE-REGEX: the run of $T/NAME.ini was refused before its run-log row,
# and `check --connect` refuses the file the same way while `check` passes it
refused() {
    fk_expect_rc 3 "$1: a configuration the servers cannot serve"
    fk_log_has "$2" "$1: the message names what is missing"
    fk_log_has "$T/$1.ini:[0-9]+:" "$1: the message names file:line"
    [ "$(fk_sql "SELECT count(*) FROM sync_logs")" = "$runs_before" ] || die "$1: a run-log row was written"
    [ "$(fk_leads)" = 0 ] || die "$1: leads stored"
    rc=0
    $SYNCENGINE check --connect -c "$T/$1.ini" >/dev/null 2>"$T/check.log" || rc=$?
    [ $rc = 3 ] || die "$1: check --connect exit code $rc, expected 3: $(cat "$T/check.log")"
    grep -Eq -- "$2" "$T/check.log" || die "$1: check --connect does not say why: $(cat "$T/check.log")"
    rc=0
    $SYNCENGINE check -c "$T/$1.ini" >/dev/null 2>&1 || rc=$?
    [ $rc = 0 ] || die "$1: offline check exit code $rc (it cannot know)"
    echo "ok   $1: $(grep -E -m1 -- "$2" "$T/check.log" | head -c 240)"
}
runs_before=$(fk_sql "SELECT count(*) FROM sync_logs")

note "check --connect on the good file: OK, and nothing written"
fk_stats_reset
rc=0
$SYNCENGINE check --connect -c "$FK_CONF" >"$T/check.out" 2>"$T/check.log" || rc=$?
[ $rc = 0 ] || die "check --connect of the good file: exit $rc: $(cat "$T/check.log")"
grep -q "configuration OK against the servers" "$T/check.out" || die "check --connect: $(cat "$T/check.out")"
[ "$(fk_sql "SELECT count(*) FROM sync_logs")" = "$runs_before" ] || die "check --connect wrote a run-log row"
[ "$(fk_sql "SELECT count(*) FROM lead_lists")" = 0 ] || die "check --connect ran before_run_sql"
[ "$(fk_leads)" = 0 ] || die "check --connect stored leads"
[ "$(fk_stat records_served)" = 0 ] || die "check --connect read records"

note "unknown source field"
run_with src-field '0,/^first_name = FirstName/s//first_name = FirstNme/'
refused src-field 'field "FirstNme" does not exist on salesforce object Contact'

note "unknown relationship"
run_with src-rel 's/^company = Account.Name/company = Acount.Name/'
refused src-rel '"Acount" in field path "Acount.Name" is not a relationship of salesforce object Contact'

note "unknown target column"
run_with tgt-col '0,/^lead_score = 50/s//lead_scor = 50/'
refused tgt-col 'column "lead_scor" of table public.leads does not exist.*stream contacts'

note "unknown target table"
run_with tgt-table '0,/^target = leads/s//target = leadz/'
refused tgt-table 'target table "leadz" does not exist'

note "a value type the column can never hold"
run_with tgt-type '0,/^lead_score = 50/s//lead_score = now()/'
refused tgt-type 'column "lead_score" of table public.leads is integer, but the mapping gives it a timestamp'

note "a hook statement the database cannot prepare"
run_with hook-sql '0,/^sink.after_run_sql = /s//sink.after_run_sql = UPDATE no_such_table SET x = 1\nsink.after_run_sql = /'
refused hook-sql 'after_run_sql statement 1: relation "no_such_table" does not exist'

note "a run-log column that does not exist"
run_with runlog-col 's/status=sync_status/status=sync_statuz/'
refused runlog-col 'sync_statuz'

note "a source.where Salesforce refuses"
run_with where '0,/^object = Contact/s//object = Contact\nsource.where = Email = 5/'
fk_expect_rc 5 "a where clause Salesforce refuses"
fk_log_has "INVALID_FIELD.*'Email'" "Salesforce's message is passed on"
[ "$(fk_sql "SELECT count(*) FROM syncengine.sync_state WHERE stream = 'contacts'")" = 0 ] \
    || die "a cursor was saved for a stream that never read"

note "values too long for postal_code varchar(20) on some records"
fk_sql "TRUNCATE lead_list_members, leads, sync_logs; TRUNCATE syncengine.sync_state" >/dev/null
run_with too-long "s/^postal_code = MailingPostalCode/postal_code = if(substr(Id, 18, 1) = 'B', 'P-' || Id || '-TOO-LONG', MailingPostalCode)/"
fk_expect_rc 6 "a run with rejected records"
fk_log_has "run partial" "the run's outcome"
fk_expect_status partial "records rejected"
sfstub_ctl "$SF_org_URL" GET "/__stub/truth?object=Contact" | python3 -c '
import json, sys
print("\n".join(r["Id"] for r in json.load(sys.stdin)["records"] if r["Id"][17] == "B"))' | sort >"$T/bad-ids"
n_bad=$(wc -l <"$T/bad-ids")
[ "$n_bad" -gt 0 ] || die "the test data has no contact id ending in B"
# each rejected record: its key and the server's message, once
for id in $(cat "$T/bad-ids"); do
    n=$(grep -c "record $id rejected: table public.leads, column postal_code: value too long for type character varying(20)" "$T/run.log")
    [ "$n" = 1 ] || die "record $id: rejected $n times in the log, expected once"
done
fk_sql "SELECT source_id FROM leads WHERE source = 'salesforce_contact'" | sort >"$T/stored"
[ -z "$(comm -12 "$T/bad-ids" "$T/stored")" ] || die "a rejected record was stored"
[ "$(wc -l <"$T/stored")" = $((1000 - n_bad)) ] || die "$(wc -l <"$T/stored") contacts stored, expected $((1000 - n_bad))"
[ "$(fk_sql "SELECT records_failed FROM sync_logs ORDER BY started_at DESC LIMIT 1")" = "$n_bad" ] \
    || die "sync_logs.records_failed is not $n_bad"
fk_sql "SELECT r->>'key' FROM sync_logs, jsonb_array_elements(error_details->'rejected') r
        WHERE r->>'error' LIKE '%postal_code%too long%'" | sort >"$T/logged"
# the details list the first 100 rejects and count them all
[ -z "$(comm -23 "$T/logged" "$T/bad-ids")" ] || die "sync_logs.error_details lists keys that were not rejected"
want=$n_bad; [ $want -gt 100 ] && want=100
[ "$(wc -l <"$T/logged")" = $want ] || die "sync_logs.error_details lists $(wc -l <"$T/logged") rejects, expected $want"
[ "$(fk_sql "SELECT error_details->>'rejected_total' FROM sync_logs ORDER BY started_at DESC LIMIT 1")" = "$n_bad" ] \
    || die "sync_logs.error_details.rejected_total is not $n_bad"
[ "$(fk_sql "SELECT count(*) FROM leads WHERE source = 'salesforce_lead'")" = 100 ] || die "leads not all stored"

note "fixed mapping, --full-refresh: everything stored"
fk_run --once --full-refresh
fk_expect_rc 0 "the full refresh"
fk_check --runs 2
echo ok
