#!/bin/sh
# badinput_config.sh - broken configuration files are refused before anything
# is touched, with exit code 3 (configuration invalid, `syncengine --help`)
# and a message naming the file:line and the option, section, variable or
# mapping column at fault.  Each case edits one line of conf/henk.ini; each is
# checked with `syncengine check` and most also with `--once`, whose
# Salesforce and database are unreachable on purpose: a run that got past
# the configuration would exit 5, not 3.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
henk_env http://127.0.0.1:9 $FK_BIZ $FK_INT
export DATABASE_URL="postgresql://nobody@/nodb?host=$T/no-server"
export SYNCENGINE_STATE_DIR="$T/state"
fk_conf
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# bad NAME CODE SED-SCRIPT LINE-REGEX FRAGMENT...: the edited file is refused
# with CODE; the message holds FILE:LINE (the line of the edited file matching
# LINE-REGEX; "-" for no line) and every FRAGMENT.
bad() {
    name=$1 code=$2 script=$3 lre=$4
    shift 4
    f="$T/$name.ini"
    sed "$script" "$FK_CONF" >"$f"
    cmp -s "$f" "$FK_CONF" && { fail "$name: the edit changed nothing"; return; }
    for mode in check once; do
        rc=0
        if [ $mode = check ]; then
            $SYNCENGINE check -c "$f" >/dev/null 2>"$T/err" || rc=$?
        else
            $SYNCENGINE -c "$f" --once >/dev/null 2>"$T/err" || rc=$?
        fi
        msg=$(cat "$T/err")
        [ "$rc" = "$code" ] || fail "$name ($mode): exit code $rc, expected $code: $msg"
        if [ "$lre" != - ]; then
            line=$(grep -n -m1 -E -- "$lre" "$f" | cut -d: -f1)
            case "$msg" in *"$f:$line"*) ;; *) fail "$name ($mode): message does not name $f:$line: $msg" ;; esac
        fi
        for frag in "$@"; do
            case "$msg" in *"$frag"*) ;; *) fail "$name ($mode): message lacks '$frag': $msg" ;; esac
        done
        [ "$(wc -l <"$T/err")" -le 3 ] || fail "$name ($mode): more than 3 lines for one mistake: $msg"
    done
    echo "ok   $name: $(head -c 200 "$T/err")"
}

bad garbage-line 3 '5a\
this line is not ini' '^this line' "syntax error"
bad unclosed-section 3 's/^\[source salesforce\]/[source salesforce/' '^\[source salesforce$' "missing ']'"
bad unknown-section 3 's/^\[sink henk\]/[snk henk]/' '^\[snk henk\]' "unknown section [snk henk]" "[sink NAME]"
bad unknown-source-key 3 '/^\[source salesforce\]/a\
colour = blue' '^colour' "unknown option 'colour' in [source salesforce]" "valid options:"
bad unknown-engine-key 3 '/^\[engine\]/a\
max_jobz = 4' '^max_jobz' "unknown option 'max_jobz' in [engine]"
bad unknown-stream-key 3 '/^\[stream salesforce.contacts\]/a\
source.wher = Email != null' '^source.wher' "unknown option 'source.wher' in [stream salesforce.contacts]" "source.where"
bad not-a-template 3 '/^tenants = salesforce$/d' '^sink.sql_params' \
    "option 'sink.sql_params' (and others it uses) refers to \${tenant...}, but the job is not a template"
bad unknown-job-key 3 '/^\[job salesforce\]/a\
sink.conflict_keys = id' '^sink.conflict_keys' "unknown option 'sink.conflict_keys' in [job salesforce]"
bad missing-required 3 '/^client_id =/d' '^\[source salesforce\]' "missing required option 'client_id' in [source salesforce]"
bad missing-plugin-key 3 '/^plugin = salesforce/d' '^\[source salesforce\]' "plugin"
bad not-an-integer 3 '/^\[source salesforce\]/a\
batch_size = lots' '^batch_size' "option 'batch_size'" "invalid integer 'lots'"
bad out-of-range 3 '/^\[source salesforce\]/a\
batch_size = 5' '^batch_size' "option 'batch_size'" "5 is out of range (200..2000)"
bad not-a-duration 3 '/^\[source salesforce\]/a\
timeout = forever' '^timeout' "option 'timeout'" "invalid duration 'forever'"
bad not-a-bool 3 '/^\[source salesforce\]/a\
verify_tls = maybe' '^verify_tls' "option 'verify_tls'" "invalid boolean 'maybe'"
bad not-an-enum 3 '/^\[source salesforce\]/a\
grant_type = password' '^grant_type' "option 'grant_type'" "'password'" "refresh_token, client_credentials"
bad not-a-url 3 's#^login_url = .*#login_url = ftp://example.com#' '^login_url' "option 'login_url'" "ftp://example.com"
bad engine-int 3 's/^max_jobs = 4/max_jobs = many/' '^max_jobs' "option 'max_jobs'" "'many'"
bad option-twice 3 '/^\[source salesforce\]/a\
lag = 1s' '^lag = 1s' "'lag' is set twice in [source salesforce]"
bad unknown-source-section 3 's/^source = salesforce$/source = nosuch/' '^source = nosuch' "option 'source'" "no [source nosuch]"
bad bad-schedule 3 's/^schedule = .*/schedule = every fifteen minutes/' '^schedule' "option 'schedule'" "job 'salesforce'"
bad mapping-syntax 3 's/^lead_score = 50/lead_score = lookup(Rating,/' '^lead_score = lookup' "column 'lead_score'" "expected an expression"
bad mapping-function 3 's/^lead_score = 50/lead_score = frobnicate(Rating)/' '^lead_score = frob' "column 'lead_score'" "unknown function 'frobnicate'"
bad mapping-twice 3 's/^lead_score = 50/lead_score = 50\nlead_score = 51/' '^lead_score = 51' "column 'lead_score' is mapped twice in [map salesforce.contacts]"
bad plugin-wrong-role 3 '0,/^plugin = salesforce/s//plugin = postgres/' '^plugin = postgres' "plugin 'postgres' does not provide a source" "[source salesforce]"

note "unset environment variables"
(
    unset DATABASE_URL
    bad unset-variable 3 '$a\
; unchanged' '^conninfo' "option 'conninfo'" "environment variable DATABASE_URL is not set"
    exit $failures
) || failures=$((failures + $?))
(
    unset HENK_SCORE
    bad unset-variable-in-mapping 3 's/^lead_score = 50$/lead_score = ${HENK_SCORE}/' '^lead_score = .\{HENK_SCORE' \
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
