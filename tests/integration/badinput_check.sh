#!/bin/sh
# badinput_check.sh - configurations that parse but can never run are
# refused by `syncengine check` offline (exit 3, file:line), and by a run
# before it touches anything (exit 3; the database and Salesforce here are
# unreachable on purpose: a run that got past the configuration would exit
# 5).  Each case edits conf/henk.ini; docs/faults.md, "Bad input".  What
# needs the servers (a field Salesforce lacks, a missing column) is refused
# by `check --connect` and before a run's run-log row: badinput_mapping.sh.
# Several mistakes in one file are all reported, each with its file:line.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
henk_env http://127.0.0.1:9 $FK_BIZ $FK_INT
export DATABASE_URL="postgresql://nobody@/nodb?host=$T/no-server"
export SYNCENGINE_STATE_DIR="$T/state"
export LC_ALL=C
fk_conf
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

rc=0
$SYNCENGINE check -c "$FK_CONF" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 0 ] || die "the unedited configuration fails check: $(cat "$T/err")"

note "Salesforce source"
fk_refused where-parens '/^object = Contact/a\
source.where = (Email != null AND (LastName != null)' '^source.where' "source.where" "unbalanced parentheses or quotes"
fk_refused where-quote "/^object = Contact/a\\
source.where = LastName = 'O" '^source.where' "source.where" "unbalanced"
fk_refused api-version '/^\[source salesforce\]/a\
api_version = v61' '^api_version' "option 'api_version'" '"v61" is not a version like "61.0"'
fk_refused api-version-short '/^\[source salesforce\]/a\
api_version = 61' '^api_version' "option 'api_version'"
fk_refused cursor-not-datetime '/^object = Contact/a\
source.cursor_field = Name' '^source.cursor_field' "source.cursor_field" "Name is not a datetime field"
fk_refused cursor-path '/^object = Contact/a\
source.cursor_field = Account.LastModifiedDate' '^source.cursor_field' "source.cursor_field" "not a field of the object itself"
fk_refused login-plain-http 's#^login_url = .*#login_url = http://login.salesforce.com#' '^login_url' "option 'login_url'" "plain http"
fk_refused object-name 's/^object = Contact/object = Con tact/' '^\[stream salesforce.contacts\]' '"Con tact" is not a salesforce object name'
fk_refused fields-name '/^object = Contact/a\
source.fields = Account.Name, Bad Field' '^source.fields' "source.fields" '"Bad Field"'

note "PostgreSQL sink"
fk_refused param-beyond-hook '/^sink.after_run_sql = UPDATE integrations/a\
sink.after_run_sql = UPDATE integrations SET updated_at = now() WHERE id = $3::uuid' 'WHERE id = \$3::uuid' \
    "after_run_sql statement 4 refers to a parameter beyond the 2 value(s) of sql_params"
fk_refused param-beyond-runlog 's/integration_id=\$2$/integration_id=$3/' '^sink.run_log_values' 'refers to $3 but sql_params has 2'
fk_refused target-unsafe 's/^target = leads/target = leads drop/' '^\[stream salesforce.contacts\]' 'target "leads drop" is not a plain identifier'
fk_refused conflict-key-unsafe 's/^sink.conflict_key = .*/sink.conflict_key = business_id, source, "source_id"/' '^sink.conflict_key' \
    'conflict_key column ""source_id"" is not a plain identifier'
fk_refused runlog-table-unsafe 's/^sink.run_log_table = sync_logs/sink.run_log_table = sync_logs x/' '^sink.run_log_table' \
    'run_log_table "sync_logs x" is not a plain identifier'
fk_refused runlog-column-unsafe 's/status=sync_status/status=sync-status/' '^sink.run_log_columns' \
    'run_log_columns column "sync-status" is not a plain identifier'
fk_refused mapped-column-unsafe 's/^first_name = FirstName/first-name = FirstName/' '^first-name' \
    'mapped column "first-name" is not a plain identifier'
fk_refused state-schema-unsafe '/^\[sink henk\]/a\
state_schema = sync.engine' '^state_schema' 'state_schema "sync.engine" is not a plain identifier'

note "the core"
bad1=$(printf '\377')
fk_refused invalid-utf8 "s/^quality_rating = 'warm'/quality_rating = 'w${bad1}arm'/" '^quality_rating' \
    "'quality_rating': the value is not valid UTF-8 (byte 0xff at offset 2)"
fk_refused cron-never 's/^schedule = .*/schedule = 0 0 31 2 */' '^schedule' "'0 0 31 2 *' never fires"

note "an empty configuration file"
: >"$T/empty.ini"
for cmd in check once; do
    rc=0
    if [ $cmd = check ]; then $SYNCENGINE check -c "$T/empty.ini" >/dev/null 2>"$T/err" || rc=$?
    else $SYNCENGINE -c "$T/empty.ini" --once >/dev/null 2>"$T/err" || rc=$?; fi
    [ $rc = 3 ] || fail "empty ($cmd): exit code $rc, expected 3: $(cat "$T/err")"
    grep -qF "$T/empty.ini: the configuration defines no source, sink or job" "$T/err" || fail "empty ($cmd): $(cat "$T/err")"
done
printf '; only a comment\n\n' >"$T/comment.ini"
rc=0
$SYNCENGINE check -c "$T/comment.ini" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 3 ] || fail "a file of comments: exit code $rc, expected 3"

note "every mistake of a file is reported, each at its line"
f="$T/many.ini"
sed -e 's/^schedule = .*/schedule = 0 0 30 2 */' -e 's/^target = leads/target = leads drop/' \
    -e 's/integration_id=\$2$/integration_id=$7/' -e '/^\[source salesforce\]/a\
api_version = 61.x' "$FK_CONF" >"$f"
rc=0
$SYNCENGINE check -c "$f" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 3 ] || fail "many: exit code $rc, expected 3"
for lre in '^schedule' '^api_version' '^sink.run_log_values' '^\[stream salesforce.contacts\]' '^\[stream salesforce.leads\]'; do
    line=$(grep -n -m1 -E -- "$lre" "$f" | cut -d: -f1)
    grep -qF "$f:$line:" "$T/err" || fail "many: no problem reported at $f:$line ($lre): $(cat "$T/err")"
done
[ "$(grep -c '' "$T/err")" -ge 5 ] || fail "many: fewer than 5 problems: $(cat "$T/err")"
echo "ok   many: $(grep -c '' "$T/err") problems"

# unknown options in two sections: both named (a file with such mistakes stops
# there: the checks above need options that mean something)
f="$T/two-unknown.ini"
sed -e '/^\[source salesforce\]/a\
colour = blue' -e '/^\[sink henk\]/a\
flavour = mint' "$FK_CONF" >"$f"
rc=0
$SYNCENGINE check -c "$f" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 3 ] || fail "two-unknown: exit code $rc, expected 3"
for lre in '^colour' '^flavour'; do
    line=$(grep -n -m1 -E -- "$lre" "$f" | cut -d: -f1)
    grep -qF "$f:$line:" "$T/err" || fail "two-unknown: nothing reported at $f:$line ($lre): $(cat "$T/err")"
done
echo "ok   two-unknown: $(grep -c '' "$T/err") problems"

[ $failures = 0 ] || die "$failures case(s) failed"
echo ok
