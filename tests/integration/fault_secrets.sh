#!/bin/sh
# fault_secrets.sh - no secret reaches the log, whatever happens.
#
# The Henk sync runs at --log-level trace, in JSON and in text, against an org
# that rotates its refresh token on every use (--rotate-refresh) and whose
# access tokens expire mid-run, with the database reached as a role with a
# real password (scram-sha-256).  Then runs fail with a wrong database
# password and a wrong refresh token.  Every access and refresh token the org
# issued is recorded by tests/lib/token_tap.py, a pass-through in front of
# the token endpoint.  The whole output of every command (stderr and stdout,
# `check` and `status` too) must hold none of: the client secret, the
# configured and every rotated refresh token, every access token, the
# database password, the wrong password and the wrong refresh token.
# Also: each JSON log line is one valid JSON object; the state directory is
# 0700 and state.json 0600 even under umask 000; the latest rotated refresh
# token is kept in the integration's row and no issued token in state.json;
# a configuration file holding a literal secret gets a
# warning (naming file:line and option, not the value) while its group or
# others may read it, and none once it is chmod 600.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
rand() { python3 -c 'import secrets; print(secrets.token_urlsafe(24))'; }
CS="cs-$(rand)"
RT="rt-$(rand)"
PW="pw$(rand | tr -dc 'A-Za-z0-9')"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
# two token expiries a few pages apart: with two streams both could land on
# one request and its retry, which fails by design (one re-login per request)
FK_PARALLEL_STREAMS=1
fk_setup --contacts 1500 --leads 300 --rotate-refresh --client-secret "$CS" --refresh-token "$RT"

python3 "$top/tests/lib/token_tap.py" --upstream "$SF_org_URL" --record "$T/tokens" --port-file "$T/tap.port" \
    >"$T/tap.log" 2>&1 &
tap=$!
at_exit "kill $tap 2>/dev/null"
i=0
until [ -s "$T/tap.port" ]; do i=$((i + 1)); [ $i -gt 100 ] && die "token tap did not start"; sleep 0.1; done
export SALESFORCE_LOGIN_URL="http://127.0.0.1:$(cat "$T/tap.port")"
export SALESFORCE_CLIENT_SECRET="$CS" SALESFORCE_REFRESH_TOKEN="$RT"

note "a password-protected role"
fk_sql "SET password_encryption = 'scram-sha-256'; CREATE ROLE henk_sync LOGIN SUPERUSER PASSWORD '$PW'" >/dev/null
hba="$PGCLUSTER_DIR/data/pg_hba.conf"
{ echo "local all henk_sync scram-sha-256"; cat "$hba"; } >"$hba.new" && cat "$hba.new" >"$hba"
_pg_run "$PG_BINDIR/pg_ctl" -D "$PGCLUSTER_DIR/data" reload >/dev/null || die "reload failed"
sleep 0.5
GOOD_URL="postgresql://henk_sync:$PW@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT"
PGPASSWORD=wrong psql -X -q -d "postgresql://henk_sync@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT" -c "SELECT 1" \
    >/dev/null 2>&1 && die "the role's password is not checked"
export DATABASE_URL="$GOOD_URL"

out="$T/all.log"
run() { # expected exit code, engine args...
    want=$1; shift
    rc=0
    (umask 000; $SYNCENGINE "$@" >>"$out" 2>"$T/run.log") || rc=$?
    cat "$T/run.log" >>"$out"
    [ $rc = "$want" ] || die "syncengine $*: exit code $rc, expected $want: $(tail -n 5 "$T/run.log")"
}

note "trace, JSON, with the access token expiring twice"
fk_faults '[{"match": "next", "after": 2, "times": 1, "kind": "expire_token"},
            {"match": "next", "after": 5, "times": 1, "kind": "expire_token"}]'
run 0 -c "$FK_CONF" --once --log-level trace --log-format json
python3 - "$T/run.log" <<'PY' || die "a JSON log line is not one JSON object"
import json, sys
n = 0
for line in open(sys.argv[1]):
    if line.strip():
        o = json.loads(line)
        assert isinstance(o, dict), line
        n += 1
assert n > 10, "only %d lines at trace level" % n
PY
grep -q '"level": *"trace"' "$T/run.log" || die "no trace lines: --log-level trace had no effect"

note "trace, text, changes, the access token expiring again"
fk_touch_all
fk_faults '[{"match": "next", "after": 3, "times": 1, "kind": "expire_token"}]'
run 0 -c "$FK_CONF" --once --log-level trace
fk_nofaults
fk_check --runs 2

note "status and check"
run 0 status -c "$FK_CONF"
run 0 check -c "$FK_CONF" --log-level trace

note "a wrong database password"
WRONG_PW="wrong$(rand | tr -dc 'A-Za-z0-9')"
DATABASE_URL="postgresql://henk_sync:$WRONG_PW@/postgres?host=$PGCLUSTER_DIR&port=$PGPORT" \
    run 5 -c "$FK_CONF" --once --log-level trace
grep -q "password authentication failed" "$T/run.log" || die "no clear message for a wrong password: $(tail -n 3 "$T/run.log")"

note "a wrong refresh token"
# the tokens the org issued are in the integration's row (conf/henk.ini's
# store_credentials), never in the state file; without them the environment's is used
stored_rt=$(fk_sql "SELECT credentials->>'refreshToken' FROM integrations WHERE id = '$FK_INT'")
fk_sql "UPDATE integrations SET credentials = '{}' WHERE id = '$FK_INT'"
WRONG_RT="rt-$(rand)"
SALESFORCE_REFRESH_TOKEN="$WRONG_RT" run 5 -c "$FK_CONF" --once --log-level trace --log-format json
grep -q "rejected the refresh token" "$T/run.log" || die "no clear message for a wrong refresh token"

note "looking for secrets in $(wc -l <"$out") lines of output"
n_tokens=$(sort -u "$T/tokens" | wc -l)
n_access=$(grep -c '!' "$T/tokens")
[ "$n_access" -ge 4 ] || die "only $n_access access tokens issued: the expiries did not happen"
[ $((n_tokens - n_access)) -ge 4 ] || die "only $((n_tokens - n_access)) rotated refresh tokens seen"
leaks=0
check_secret() { # what, value
    [ ${#2} -ge 8 ] || die "secret '$1' too short to search for"
    # the whole value, and a 12-character piece of it (a truncated print is a leak too)
    piece=$(printf '%s' "$2" | cut -c 5-16)
    if grep -qF -- "$2" "$out" || grep -qF -- "$piece" "$out"; then
        echo "LEAK: $1 appears in the output: $(grep -nF -- "$piece" "$out" | head -n 2 | cut -c1-200)" >&2
        leaks=$((leaks + 1))
    fi
}
check_secret "client secret" "$CS"
check_secret "configured refresh token" "$RT"
check_secret "database password" "$PW"
check_secret "wrong database password" "$WRONG_PW"
check_secret "wrong refresh token" "$WRONG_RT"
for t in $(sort -u "$T/tokens"); do
    case "$t" in *!*) check_secret "access token" "${t#*!}" ;; *) check_secret "rotated refresh token" "$t" ;; esac
done
[ $leaks = 0 ] || die "$leaks secret(s) leaked"

note "state directory and file modes (engine run under umask 000)"
st="$SYNCENGINE_STATE_DIR"
[ "$(stat -c %a "$st")" = 700 ] || die "state directory mode $(stat -c %a "$st"), expected 700"
# every file and folder below it: the engine's state file and each tenant's own (tenants/JOB@KEY/)
files=$(find "$st" -type f -name 'state.json')
[ -n "$files" ] || die "no state file under $st"
find "$st" -mindepth 1 | while read -r f; do
    m=$(stat -c %a "$f")
    if [ -d "$f" ]; then
        case $m in 700|500) ;; *) die "$f has mode $m: open to others" ;; esac
    else
        case $m in 600|400) ;; *) die "$f has mode $m: readable by others" ;; esac
    fi
done || exit 1
last_rt=$(grep -v '!' "$T/tokens" | tail -n 1)
[ "$stored_rt" = "$last_rt" ] || die "the latest rotated refresh token was not kept in the integration's row"
for t in $(sort -u "$T/tokens"); do
    grep -rqF -- "${t#*!}" "$st" && die "a token the org issued is in a state file"
done

note "a literal secret in a readable configuration file"
sed "s|^client_secret = .*|client_secret = $CS|" "$FK_CONF" >"$T/literal.ini"
line=$(grep -n '^client_secret' "$T/literal.ini" | cut -d: -f1)
for mode in 644 640 604; do
    chmod $mode "$T/literal.ini"
    rc=0
    $SYNCENGINE check -c "$T/literal.ini" >"$T/check.out" 2>&1 || rc=$?
    [ $rc = 0 ] || die "check of the literal-secret file failed: $(cat "$T/check.out")"
    grep -q "warn\|warning" "$T/check.out" || die "mode $mode: no warning about the literal secret: $(cat "$T/check.out")"
    grep -qF "$T/literal.ini:$line" "$T/check.out" || die "mode $mode: the warning does not name the file:line: $(cat "$T/check.out")"
    grep -qF "client_secret" "$T/check.out" || die "mode $mode: the warning does not name the option"
    grep -qF -- "$CS" "$T/check.out" && die "mode $mode: the warning shows the secret"
done
chmod 600 "$T/literal.ini"
$SYNCENGINE check -c "$T/literal.ini" >"$T/check.out" 2>&1 || die "check failed: $(cat "$T/check.out")"
grep -qi "group or others" "$T/check.out" && die "a warning for a file only its owner can read: $(cat "$T/check.out")"
sed "s|^conninfo = .*|conninfo = $GOOD_URL|" "$FK_CONF" >"$T/literal-db.ini"
chmod 644 "$T/literal-db.ini"
$SYNCENGINE check -c "$T/literal-db.ini" >"$T/check.out" 2>&1 || die "check failed: $(cat "$T/check.out")"
grep -qF "conninfo" "$T/check.out" || die "no warning for a database password in a readable file: $(cat "$T/check.out")"
grep -qF -- "$PW" "$T/check.out" && die "the warning shows the database password"
echo "ok: $n_tokens tokens and 5 other secrets absent from $(wc -l <"$out") lines"
