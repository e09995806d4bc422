#!/bin/sh
# twoway_check.sh - `check --connect` judges the fields a two-way stream
# pushes against Salesforce's describe, as the first run's write would:
#   - the two-way job as shipped by the tests passes;
#   - a pushed field Salesforce does not let anyone write (Contact.Name, a
#     derived field) is refused, exit 3, naming the file:line of its arrow;
#   - the same field pulled only (<-) passes; with direction = to_database
#     nothing is pushed, so it passes too.
# Exit 0 pass, 77 skip, anything else fail.
set -u
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/twoway.sh"
twoway_setup --accounts 0 --contacts 0 --leads 0

TW_CONTACTS_EXTRA="external_id = Ext_Id__c"
check() {
    rc=0
    $SYNCENGINE check --connect -c "$1" --state-dir "$T/state" >"$T/check.log" 2>&1 || rc=$?
    cat "$T/check.log" >>"$T/engine.log"
}

note "the shipped mapping passes"
twoway_ini "$T/good.ini" "direction = both"
check "$T/good.ini"
[ $rc -eq 0 ] || { cat "$T/check.log"; die "check --connect of a good file exited $rc"; }

note "a pushed field that is not writable is refused, with its file:line"
twoway_ini "$T/bad.ini" "direction = both"
sed -i 's/^title = <-> Title$/title = <-> Name/' "$T/bad.ini"
line=$(grep -n '^title = <-> Name$' "$T/bad.ini" | cut -d: -f1)
[ -n "$line" ] || die "the test's edit did not apply"
check "$T/bad.ini"
[ $rc -eq 3 ] || { cat "$T/check.log"; die "check --connect of a non-writable pushed field exited $rc, not 3"; }
grep -q "$T/bad.ini:$line: .*stream 'contacts': column 'Name': field Name of Contact is not createable" "$T/check.log" ||
    { cat "$T/check.log"; die "the refusal does not name the field at $T/bad.ini:$line"; }

note "pulled only, or a job that pushes nothing: accepted"
sed -i 's/^title = <-> Name$/title = <- Name/' "$T/bad.ini"
check "$T/bad.ini"
[ $rc -eq 0 ] || { cat "$T/check.log"; die "check --connect of a pulled-only Name exited $rc"; }
twoway_ini "$T/down.ini" "direction = to_database"
sed -i 's/^title = <-> Title$/title = <-> Name/' "$T/down.ini"
check "$T/down.ini"
[ $rc -eq 0 ] || { cat "$T/check.log"; die "check --connect of a to_database job exited $rc"; }
echo "ok"
