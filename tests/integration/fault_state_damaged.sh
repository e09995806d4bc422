#!/bin/sh
# fault_state_damaged.sh - a state file that is damaged, a state directory
# that other users can write, and a state path that is a regular file.
# A damaged state.json is never rebuilt silently (its cursors and a rotated
# refresh token would be lost): the engine refuses to start, exit 3, with an
# error naming the file and the fix, before any network or database call
# (no run-log row, no Salesforce call); `check` needs no state and still
# works.  docs/faults.md, rows "state file damaged" and "state directory not
# writable"; docs/security.md for the warning.
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/faultkit.sh"
FK_SOURCE_OPTS=$FK_FAST_RETRIES
fk_setup --contacts 50 --leads 20
state=$T/state

note "a damaged state file fails, at error level, before anything is touched"
fk_run
fk_expect_rc 0 "the first run"
# a tenant's runs keep nothing in the engine's file (its plugin state has a file of its own):
# the file may not exist yet, and a damaged one stops the engine all the same
[ -d "$state" ] || die "the first run made no state directory"
[ -f "$state/state.json" ] || printf '{}' >"$state/state.json"
cp "$state/state.json" "$T/state.good"
printf '{"plugin:salesforce": {"token": "x"' >"$state/state.json"   # cut off
runs_before=$(fk_sql "SELECT count(*) FROM sync_logs")
fk_stats_reset
fk_run
fk_expect_rc 3 "a damaged state file"
fk_log_has "state file $state/state.json is damaged" "the error names the file"
fk_log_has "move it aside" "the error says what to do"
grep -q "run success" "$T/run.log" && die "a run ended success on a damaged state file: $(cat "$T/run.log")"
[ "$(fk_stat token_calls)" = 0 ] || die "Salesforce was called with a damaged state file"
[ "$(fk_sql "SELECT count(*) FROM sync_logs")" = "$runs_before" ] || die "a run-log row was written"
cmp -s "$state/state.json" "$T/state.good" && die "the damaged file was replaced"
rc=0
$SYNCENGINE check -c "$FK_CONF" >/dev/null 2>"$T/err" || rc=$?
[ $rc = 0 ] || die "check failed on a damaged state file (it needs no state): $(cat "$T/err")"
mv "$T/state.good" "$state/state.json"
fk_run
fk_expect_rc 0 "the run with the state file restored"

note "a state directory that others can write draws a warning"
chmod 0777 "$state"
fk_run
fk_expect_rc 0 "a run with a world-writable state directory"
fk_log_has "warn" "a warning"
fk_log_has "state directory $state is writable by every user \\(mode 0777\\)" "the warning names the directory"
chmod 0770 "$state"
fk_run
fk_log_has "state directory $state is writable by its group \\(mode 0770\\)" "a group-writable directory"
chmod 0700 "$state"
fk_run
grep -q "state directory .* is writable" "$T/run.log" && die "warning for a private directory: $(cat "$T/run.log")"

note "a state path that is a regular file"
: >"$T/plainfile"
fk_run --once --state-dir "$T/plainfile"
fk_expect_rc 3 "a state directory that is a regular file"
fk_log_has "state directory $T/plainfile is not a directory" "the error says what is wrong"
grep -q "Permission denied" "$T/run.log" && die "the error blames permissions: $(cat "$T/run.log")"
echo ok
