#!/bin/sh
# fault_state_unwritable.sh - the local state directory cannot be written
# (wrong owner, read-only mount, a file in its way): the engine refuses to
# start with an error naming the directory, exit 3, before any network or
# database call; `check` (which touches no state) still works.  Fixed, the
# next run completes.  docs/faults.md, row "state directory not writable".
# As root, permission bits do not stop writes, so the engine then runs as
# the unprivileged user "nobody".
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 500 --leads 100

as_user() { "$@"; }
if [ "$(id -u)" = 0 ]; then
    command -v setpriv >/dev/null || skip "running as root without setpriv"
    id nobody >/dev/null 2>&1 || skip "running as root without a 'nobody' user"
    as_user() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }
    chmod 755 "$T"
    chmod 644 "$FK_CONF"
    as_user test -x "$O/syncengine" || skip "the build is not reachable by user nobody"
fi

note "state directory without write permission"
mkdir -p "$T/ro-state"
chmod 555 "$T/ro-state"
fk_stats_reset
rc=0
as_user env SYNCENGINE_STATE_DIR="$T/ro-state/sub" $SYNCENGINE -c "$FK_CONF" --once 2>"$T/run.log" || rc=$?
cat "$T/run.log" >>"$T/engine.log"
[ $rc = 3 ] || die "exit code $rc with an unwritable state directory, expected 3: $(cat "$T/run.log")"
fk_log_has "state directory $T/ro-state/sub" "the error names the directory"
fk_log_has "Permission denied" "the error says why"
[ "$(fk_stat token_calls)" = 0 ] || die "Salesforce was called"
[ "$(fk_sql "SELECT count(*) FROM sync_logs")" = 0 ] || die "a run was started"

rc=0
as_user env SYNCENGINE_STATE_DIR="$T/ro-state" $SYNCENGINE -c "$FK_CONF" --once 2>"$T/run.log" || rc=$?
[ $rc = 3 ] || die "exit code $rc with an existing read-only state directory, expected 3: $(cat "$T/run.log")"
fk_log_has "state directory $T/ro-state is not writable" "the error names the directory"

note "a file where the state directory should be"
: >"$T/blocker"
fk_run --once --state-dir "$T/blocker/state"
fk_expect_rc 3 "a state directory below a file"
fk_log_has "$T/blocker/state" "the error names the path"
fk_log_has "Not a directory" "the error says why"

note "check needs no state"
rc=0
as_user env SYNCENGINE_STATE_DIR="$T/ro-state" $SYNCENGINE check -c "$FK_CONF" >/dev/null 2>"$T/run.log" || rc=$?
[ $rc = 0 ] || die "check failed with an unwritable state directory: $(cat "$T/run.log")"

note "fixed: the next run completes"
fk_run
fk_expect_rc 0 "the run with a usable state directory"
fk_check --runs 1
echo ok
