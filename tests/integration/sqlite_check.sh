#!/bin/bash
# sqlite_check.sh - the sqlite plugin's checks and description:
#   - `check` (offline) refuses sink.delete_mode = soft without
#     sink.soft_delete_set and a malformed source.soft_delete, naming the
#     file:line (exit 3);
#   - `check --connect` refuses, each with its file:line: a missing file, a
#     missing table, a mapped column the table lacks, a field the source
#     table lacks, a cursor column that does not exist, a view without
#     source.key, a conflict key without a unique index; and passes a good
#     configuration without writing to the file;
#   - `plugins --describe sqlite` lists both roles and the options.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sqlite.sh"
export LC_ALL=C

src=$T/src.db
dst=$T/dst.db
sqlite3 "$src" "CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT, updated_at TEXT);
                CREATE VIEW people_v AS SELECT * FROM people;"
sqlite3 "$dst" "CREATE TABLE people (id TEXT PRIMARY KEY, name TEXT, email TEXT, updated_at TEXT);
                CREATE TABLE loose (id TEXT, name TEXT, updated_at TEXT);"

# conf FILE [edits as sed -e scripts...]
conf() {
    local f=$1
    shift
    cat >"$f" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source a "$src")

$(sqlite_section sink b "$dst")

[job j]
source = a
sink = b

[stream j.people]
object = people
target = people
source.soft_delete = name=gone

[map j.people]
id = id
name = name
updated_at = updated_at
INI
    for e in "$@"; do sed -i -e "$e" "$f"; done
}

# expect NAME MODE FRAGMENT LINE-REGEX -- EDITS...: exit 3 (MODE offline or connect; connect5: exit 5, a
# file that cannot be opened is refused like a server that cannot be reached), the fragment and FILE:LINE
expect() {
    local name=$1 mode=$2 frag=$3 lre=$4 want=3
    shift 5
    [ "$mode" = connect5 ] && want=5
    local f=$T/$name.ini rc=0
    conf "$f" "$@"
    if [ "$mode" = offline ]; then
        $SYNCENGINE check -c "$f" >"$T/out" 2>&1 || rc=$?
    else
        $SYNCENGINE check --connect -c "$f" >"$T/out" 2>&1 || rc=$?
    fi
    [ "$rc" = $want ] || { cat "$T/out" >&2; die "$name: exit code $rc, expected $want"; }
    grep -qF -- "$frag" "$T/out" || { cat "$T/out" >&2; die "$name: message lacks '$frag'"; }
    if [ -n "$lre" ]; then
        local line
        line=$(grep -n -m1 -E -- "$lre" "$f" | cut -d: -f1)
        grep -qF "$f:$line" "$T/out" || { cat "$T/out" >&2; die "$name: message does not name $f:$line"; }
    fi
    echo "ok   $name: $(grep -F -- "$frag" "$T/out" | head -n 1 | cut -c1-200)"
}

note "a good configuration passes, offline and against the files, and adds no rows"
conf "$T/good.ini"
$SYNCENGINE check -c "$T/good.ini" >"$T/out" 2>&1 || { cat "$T/out" >&2; die "offline check of a good configuration failed"; }
$SYNCENGINE check --connect -c "$T/good.ini" >"$T/out" 2>&1 || { cat "$T/out" >&2; die "check --connect of a good configuration failed"; }

note "offline"
expect soft_without_set offline 'sink.delete_mode = soft needs sink.soft_delete_set' '^sink.delete_mode' -- \
    '/^object = people/a sink.delete_mode = soft'
expect bad_soft_delete offline 'source.soft_delete "=gone" is not column or column=value' '^source.soft_delete' -- \
    's/^source.soft_delete = .*/source.soft_delete = =gone/'

note "against the files"
expect missing_file connect5 "cannot open SQLite file $T/nothere.db" '' -- "s|^path = $dst|path = $T/nothere.db|"
expect missing_table connect 'target table "nobody" does not exist' '^\[stream j.people\]' -- 's/^target = people/target = nobody/'
expect missing_column connect 'column "phone" does not exist in table "people"' '^phone = ' -- '/^name = name/a phone = name'
expect missing_field connect 'field "email" is not a column of "people"' '' -- '/^name = name/a email = email'
expect missing_cursor connect 'cursor column "modified" does not exist' '^source.cursor_column' -- \
    '/^object = people/a source.cursor_column = modified'
expect view_without_key connect 'has no one-column primary key; set source.key' '' -- 's/^object = people/object = people_v/'
expect no_key connect 'table "loose" has no primary key; set sink.conflict_key' '^\[stream j.people\]' -- \
    's/^target = people/target = loose/'
expect no_unique_key connect 'is exactly the conflict key' '^sink.conflict_key' -- 's/^target = people/target = loose/' \
    '/^object = people/a sink.conflict_key = id'
[ "$(sqlite3 "$dst" "SELECT count(*) FROM people")" = 0 ] || die "check --connect wrote rows"

note "plugins --describe sqlite"
$SYNCENGINE plugins --describe sqlite >"$T/out" 2>&1 || { cat "$T/out" >&2; die "describe failed"; }
for want in "provides: source sink" "capabilities: incremental deletes state lease run-log" "path (string)" "d1_database_id (string)" "d1_api_token (string, secret)" \
    "source.cursor_column" "source.settle" "source.change_log" "sink.conflict_key" "sink.soft_delete_set" "busy_timeout"; do
    grep -qF -- "$want" "$T/out" || { cat "$T/out" >&2; die "describe lacks '$want'"; }
done
echo "ok: sqlite checks"
