#!/bin/sh
# badinput_conninfo.sh - a malformed DATABASE_URL never shows its password.
# libpq echoes parts of a connection string it cannot parse (`invalid
# percent-encoded token: "bad%zzSecret"`, a whole URI with a bad IPv6 host, a
# word after a space that should have been quoted); libcurl can echo a URL.
# Each case below is a malformed URL or keyword string, or a Salesforce
# login_url, holding a password made of distinctive words; the engine runs it
# (--once, which fails at the sink's connect and records the run in the state
# file), `check`, `status` and `discover` (which opens only the source), and every output, the log and the state file
# are searched for each word of the password, raw and percent-decoded.
# docs/security.md, "Secrets in logs".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
henk_env http://127.0.0.1:9 $FK_BIZ $FK_INT
export SYNCENGINE_STATE_DIR="$T/state"
FK_SOURCE_OPTS='max_attempts = 1
timeout = 1s'
fk_conf
sock="$T/no-server"
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# leaks NAME URL WORD...: run everything with DATABASE_URL=URL; no WORD may appear anywhere
leaks() {
    name=$1 url=$2
    shift 2
    rm -rf "$T/state"
    out="$T/$name.out"
    : >"$out"
    for cmd in once check status discover; do
        rc=0
        case $cmd in
        once) DATABASE_URL="$url" $SYNCENGINE -c "$FK_CONF" --once >>"$out" 2>&1 || rc=$? ;;
        check) DATABASE_URL="$url" $SYNCENGINE check -c "$FK_CONF" >>"$out" 2>&1 || rc=$? ;;
        status) DATABASE_URL="$url" $SYNCENGINE status -c "$FK_CONF" >>"$out" 2>&1 || rc=$? ;;
        discover) DATABASE_URL="$url" $SYNCENGINE discover salesforce -c "$FK_CONF" >>"$out" 2>&1 || rc=$? ;;
        esac
        echo "[$cmd exit $rc]" >>"$out"
    done
    cat "$T/state"/* >>"$out" 2>/dev/null
    grep -q "exit 0\]" "$out" && grep -q "^\[once exit 0\]" "$out" && fail "$name: the run succeeded"
    for w in "$@"; do
        if grep -qF -- "$w" "$out"; then
            fail "$name: '$w' leaked: $(grep -F -- "$w" "$out" | head -n 2)"
            return
        fi
    done
    echo "ok   $name: $(grep -m1 -E "failed to open|error|invalid" "$out" | head -c 220)"
}

note "URIs"
leaks pct-in-password "postgresql://u:bad%zzSecret@/db?host=$sock" "zzSecret" "bad%zz"
leaks nul-in-password "postgresql://u:Nul%00Secret@/db?host=$sock" "Secret" "Nul%00"
leaks short-pct "postgresql://u:%zz@/db?host=$sock" '"%zz"'
leaks bad-port "postgresql://u:PortSecret@localhost:notaport/db" "PortSecret"
leaks port-range "postgresql://u:RangeSecret@localhost:99999/db" "RangeSecret"
leaks bad-ipv6 "postgresql://u:Ipv6Secret@[::1/db" "Ipv6Secret"
leaks bad-char "postgresql://u:CharSecret@host;x/db" "CharSecret"
leaks at-in-password "postgresql://u:At@Secret@/db?host=$sock&sslmode=bogus" "At@Secret" "Secret@"
leaks unknown-param "postgresql://u:ParamSecret@/db?host=$sock&passwrd=x" "ParamSecret"
leaks pw-param "postgresql://u@/db?host=$sock&password=QuerySecret&sslmode=nope" "QuerySecret"
leaks pw-param-pct "postgresql://u@/db?host=$sock&password=Query%zzSecret" "zzSecret" "Query%zz"
leaks no-equals "postgresql://u:EqSecret@/db?host=$sock&sslmode" "EqSecret"
leaks decoded "postgresql://u:Dec%2FSecret@/db?host=$sock&connect_timeout=abc" "Dec%2FSecret" "Dec/Secret"
note "keyword strings"
leaks kw-bad-port "host=$sock user=u password=KwSecret port=abc" "KwSecret"
leaks kw-unterminated "host=$sock user=u password='Open Quote Secret" "Open" "Quote" "Secret"
leaks kw-spaces "host=$sock password=FirstWord SecondWord user=u" "FirstWord" "SecondWord"
leaks kw-unknown "host=$sock passwrd=TypoSecret user=u" "TypoSecret"
leaks kw-quote-inside "host=$sock password='Quo\\'teSecret' sslmode=bogus" "teSecret" "Quo\\'te"
leaks kw-space-equals "host=$sock password = 'Spaced Secret' dbname" "Spaced" "Secret"
leaks kw-sslmode "host=$sock password=ModeSecret sslmode=ModeSecret2" "ModeSecret"

note "a Salesforce login_url with a password"
DATABASE_URL="postgresql://nobody@/nodb?host=$sock"
export SALESFORCE_LOGIN_URL="http://sfuser:CurlSecret@127.0.0.1:notaport"
leaks curl-bad-port "postgresql://nobody@/nodb?host=$sock" "CurlSecret"
export SALESFORCE_LOGIN_URL="https://sfuser:CurlSecret2@[::1"
leaks curl-bad-host "postgresql://nobody@/nodb?host=$sock" "CurlSecret2"

[ $failures = 0 ] || die "$failures case(s) failed"
echo ok
