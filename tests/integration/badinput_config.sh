#!/bin/sh
# badinput_config.sh - broken configuration files are refused before anything
# is touched, with exit code 3 (configuration invalid, `syncengine --help`)
# and a message naming the file:line and the option, section, variable or
# mapping column at fault.  Each case edits one line of conf/henk.ini; each is
# checked with `syncengine check` and most also with `--once`, whose
# Salesforce and database are unreachable on purpose: a run that got past
# the configuration would exit 5, not 3.
# runs long: started first by tests/run.sh
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
henk_env http://127.0.0.1:9 $FK_BIZ $FK_INT
export DATABASE_URL="postgresql://nobody@/nodb?host=$T/no-server"
export SYNCENGINE_STATE_DIR="$T/state"
fk_conf
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

fk_refused garbage-line '5a\
this line is not ini' '^this line' "syntax error"
fk_refused unclosed-section 's/^\[source salesforce\]/[source salesforce/' '^\[source salesforce$' "missing ']'"
fk_refused unknown-section 's/^\[sink henk\]/[snk henk]/' '^\[snk henk\]' "unknown section [snk henk]" "[sink NAME]"
fk_refused unknown-source-key '/^\[source salesforce\]/a\
colour = blue' '^colour' "unknown option 'colour' in [source salesforce]" "valid options:"
fk_refused unknown-engine-key '/^\[engine\]/a\
max_jobz = 4' '^max_jobz' "unknown option 'max_jobz' in [engine]"
fk_refused unknown-stream-key '/^\[stream salesforce.contacts\]/a\
source.wher = Email != null' '^source.wher' "unknown option 'source.wher' in [stream salesforce.contacts]" "source.where"
fk_refused not-a-template '/^tenants = salesforce$/d' '^sink.sql_params' \
    "option 'sink.sql_params' (and others it uses) refers to \${tenant...}, but the job is not a template"
fk_refused unknown-job-key '/^\[job salesforce\]/a\
sink.conflict_keys = id' '^sink.conflict_keys' "unknown option 'sink.conflict_keys' in [job salesforce]"
fk_refused missing-required '/^client_id =/d' '^\[source salesforce\]' "missing required option 'client_id' in [source salesforce]"
fk_refused missing-plugin-key '/^plugin = salesforce/d' '^\[source salesforce\]' "plugin"
fk_refused not-an-integer '/^\[source salesforce\]/a\
batch_size = lots' '^batch_size' "option 'batch_size'" "invalid integer 'lots'"
fk_refused out-of-range '/^\[source salesforce\]/a\
batch_size = 5' '^batch_size' "option 'batch_size'" "5 is out of range (200..2000)"
fk_refused not-a-duration '/^\[source salesforce\]/a\
timeout = forever' '^timeout' "option 'timeout'" "invalid duration 'forever'"
fk_refused not-a-bool '/^\[source salesforce\]/a\
verify_tls = maybe' '^verify_tls' "option 'verify_tls'" "invalid boolean 'maybe'"
fk_refused not-an-enum '/^\[source salesforce\]/a\
grant_type = password' '^grant_type' "option 'grant_type'" "'password'" "refresh_token, client_credentials"
fk_refused not-a-url 's#^login_url = .*#login_url = ftp://example.com#' '^login_url' "option 'login_url'" "ftp://example.com"
fk_refused engine-int 's/^max_jobs = 4/max_jobs = many/' '^max_jobs' "option 'max_jobs'" "'many'"
fk_refused option-twice '/^\[source salesforce\]/a\
lag = 1s' '^lag = 1s' "'lag' is set twice in [source salesforce]"
fk_refused unknown-source-section 's/^source = salesforce$/source = nosuch/' '^source = nosuch' "option 'source'" "no [source nosuch]"
fk_refused bad-schedule 's/^schedule = .*/schedule = every fifteen minutes/' '^schedule' "option 'schedule'" "job 'salesforce'"
fk_refused mapping-syntax 's/^lead_score = 50/lead_score = lookup(Rating,/' '^lead_score = lookup' "column 'lead_score'" "expected an expression"
fk_refused mapping-function 's/^lead_score = 50/lead_score = frobnicate(Rating)/' '^lead_score = frob' "column 'lead_score'" "unknown function 'frobnicate'"
fk_refused mapping-twice 's/^lead_score = 50/lead_score = 50\nlead_score = 51/' '^lead_score = 51' "column 'lead_score' is mapped twice in [map salesforce.contacts]"
fk_refused plugin-wrong-role '0,/^plugin = salesforce/s//plugin = null/' '^plugin = null' "plugin 'null' does not provide a source" "[source salesforce]"

note "unset environment variables"
(
    unset DATABASE_URL
    fk_refused unset-variable '$a\
; unchanged' '^conninfo' "option 'conninfo'" "environment variable DATABASE_URL is not set"
    exit $failures
) || failures=$((failures + $?))
(
    unset HENK_SCORE
    fk_refused unset-variable-in-mapping 's/^lead_score = 50$/lead_score = ${HENK_SCORE}/' '^lead_score = .\{HENK_SCORE' \
        "HENK_SCORE is not set"
    exit $failures
) || failures=$((failures + $?))

note "files that are not configurations"
for f in "$T/no-such.ini" "$T"; do
    rc=0
    $SYNCENGINE check -c "$f" 2>"$T/err" >/dev/null || rc=$?
    [ $rc = 3 ] || fail "$f: exit code $rc, expected 3"
    grep -qF "'$f'" "$T/err" || fail "$f: the message does not name the file: $(cat "$T/err")"
done
printf '[engine]\ninclude = %s/missing.d/*.ini\n' "$T" >"$T/inc.ini"
rc=0
$SYNCENGINE check -c "$T/inc.ini" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 0 ] || [ $rc = 3 ] || fail "include of nothing: exit code $rc"
rc=0
$SYNCENGINE -c "$FK_CONF" --once --log-level loud 2>"$T/err" >/dev/null || rc=$?
[ $rc = 2 ] || fail "bad --log-level: exit code $rc, expected 2 (usage)"
rc=0
$SYNCENGINE -c "$FK_CONF" --frobnicate 2>"$T/err" >/dev/null || rc=$?
[ $rc = 2 ] || fail "unknown option: exit code $rc, expected 2 (usage)"

[ $failures = 0 ] || die "$failures case(s) failed"
echo ok
