#!/bin/bash
# pg_resolve.sh - the postgres sink's sink.resolve: a child row's parent named
# by the parent's natural key, written as the parent's id.  SQLite -> a real
# PostgreSQL, accounts first, then their contacts (one job, file order):
#   - exact rows: a contact of an account the application created already
#     gets that row's id; an account created earlier in the same run (by the
#     first stream) is found;
#   - a contact whose account has no row is rejected with its key and the
#     missing value, counted, the run partial, the other contacts stored;
#   - one set-based statement of each kind per batch (the server's statement
#     log), not a query per record;
#   - once the account exists, a full re-read stores the contact and rewrites
#     none of the others;
#   - deletes (delete_mode = hard): a contact deleted at the source goes; the
#     delete of a contact whose account never had a row finds nothing to
#     delete (unchanged, not rejected);
#   - check --connect refuses a key column without a unique index of its own
#     and a missing parent table, naming the option's file:line.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/pgcluster.sh"
. "$top/tests/lib/sqlite.sh"
pg_start || exit $?

A_ID=aaaaaaaa-0000-4000-8000-00000000000a
pg_psql -c "CREATE SCHEMA app;
CREATE TABLE app.accounts (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), ext text UNIQUE NOT NULL, name text);
CREATE TABLE contacts (account_id uuid NOT NULL REFERENCES app.accounts (id), n integer NOT NULL, name text,
                       PRIMARY KEY (account_id, n));
INSERT INTO app.accounts (id, ext, name) VALUES ('$A_ID', 'A', 'made by the application');
ALTER ROLE postgres SET log_statement = 'all';"
q "CREATE TABLE accounts (ext TEXT PRIMARY KEY, name TEXT, updated_at TIMESTAMP);
   CREATE TABLE contacts (id TEXT PRIMARY KEY, account TEXT, n INTEGER, name TEXT, updated_at TIMESTAMP,
                          deleted INTEGER NOT NULL DEFAULT 0);
   INSERT INTO accounts VALUES ('A', 'Ann Inc', '2024-01-01T00:00:00Z'), ('B', 'Bob Ltd', '2024-01-01T00:00:01Z');
   INSERT INTO contacts (id, account, n, name, updated_at) VALUES ('c1', 'A', 1, 'Ann', '2024-01-01T00:00:00Z'),
                               ('c2', 'A', 2, 'Al', '2024-01-01T00:00:01Z'),
                               ('c3', 'B', 1, 'Bob', '2024-01-01T00:00:02Z'),
                               ('c4', 'Z', 1, 'Zed', '2024-01-01T00:00:03Z');"

# conf RESOLVE: the configuration with sink.resolve = RESOLVE
conf() {
    cat <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(pg_sink_section pg)

[job crm]
source = edge
sink = pg
batch_size = 100
parallel_streams = 1

[stream crm.accounts]
object = accounts
target = app.accounts
sink.conflict_key = ext

[map crm.accounts]
ext = ext
name = name

[stream crm.contacts]
object = contacts
target = contacts
sink.resolve = $1
sink.delete_mode = hard
source.soft_delete = deleted

[map crm.contacts]
account_id = account
n = n
name = name
INI
}
conf "account_id: app.accounts.id by ext" >"$T/crm.ini"
runs() {
    pg_psql -c "SELECT full_refresh, status, processed, inserted, updated, unchanged, failed
                FROM syncengine.sync_runs ORDER BY started_at DESC LIMIT 1"
}
contacts() {
    pg_psql -c "SELECT a.ext, c.n, c.name, c.account_id = '$A_ID' FROM contacts c JOIN app.accounts a ON a.id = c.account_id
                ORDER BY 1, 2"
}
stmt_count() { # PATTERN: statements of the first run (the server's log) matching PATTERN
    grep -cE "(statement|execute [^:]*): $1" "$T/run1.log" || true
}

note "accounts, then contacts: ids resolved, the orphan rejected with its key"
sqlite_run "$T/crm.ini" 6
cp "$PGCLUSTER_DIR/server.log" "$T/run1.log"
got=$(contacts)
want="A|1|Ann|t
A|2|Al|t
B|1|Bob|f"
[ "$got" = "$want" ] || die "contacts after the first run:
$got"
[ "$(pg_psql -c "SELECT ext || ':' || name FROM app.accounts ORDER BY ext")" = "A:Ann Inc
B:Bob Ltd" ] || die "accounts after the first run"
grep -q "record c4 rejected: table public.contacts, column account_id: no row of app.accounts has ext = 'Z' (sink.resolve)" \
    "$T/engine.log" || die "the contact without an account is not rejected by name: $(grep -i rejected "$T/engine.log")"
[ "$(grep -c "record .* rejected:" "$T/engine.log")" = 1 ] || die "more than one record rejected: $(grep rejected "$T/engine.log")"
# 2 accounts (B new, A updated: its name) and 4 contacts (3 new, 1 failed)
[ "$(runs)" = "f|partial|6|4|1|0|1" ] || die "the run log after the first run: $(runs)"
# one batch of contacts: one anti-join and one update of the staging table
[ "$(stmt_count 'DELETE FROM pg_temp.*_sync_m0')" = 1 ] || die "the missing parents took $(stmt_count 'DELETE FROM pg_temp.*_sync_m0') statements"
[ "$(stmt_count 'UPDATE pg_temp.*_sync_v0')" = 1 ] || die "the parents' ids took $(stmt_count 'UPDATE pg_temp.*_sync_v0') statements"
[ "$(stmt_count '.*"app"."accounts" AS p0')" = 2 ] || die "app.accounts was joined $(stmt_count '.*"app"."accounts" AS p0') times, not twice"
[ "$(stmt_count '.*accounts')" = 3 ] || die "statements naming accounts (want the accounts' upsert and the two joins):
$(grep -E "(statement|execute [^:]*): .*accounts" "$T/run1.log")"

note "the account arrives: a full re-read stores the contact, rewrites nothing else"
q "INSERT INTO accounts VALUES ('Z', 'Zed Co', '2024-01-01T00:00:05Z')"
before=$(pg_psql -c "SELECT n, xmin FROM contacts ORDER BY account_id, n")
sqlite_run "$T/crm.ini" 0 --full-refresh
got=$(contacts)
want="A|1|Ann|t
A|2|Al|t
B|1|Bob|f
Z|1|Zed|f"
[ "$got" = "$want" ] || die "contacts after the full re-read:
$got"
# 3 accounts (Z new) and 4 contacts (c4 new), the rest unchanged
[ "$(runs)" = "t|success|7|2|0|5|0" ] || die "the run log after the full re-read: $(runs)"
[ "$(pg_psql -c "SELECT n, xmin FROM contacts c WHERE c.account_id IN (SELECT id FROM app.accounts WHERE ext <> 'Z')
                 ORDER BY account_id, n")" = "$before" ] || die "the full re-read rewrote stored contacts"

note "deletes: one stored contact, one whose account never had a row"
q "UPDATE contacts SET deleted = 1, updated_at = '2024-01-02T00:00:00Z' WHERE id = 'c3';
   INSERT INTO contacts VALUES ('c5', 'Q', 1, 'Quinn', '2024-01-02T00:00:01Z', 1)"
sqlite_run "$T/crm.ini" 0
got=$(contacts)
want="A|1|Ann|t
A|2|Al|t
Z|1|Zed|f"
[ "$got" = "$want" ] || die "contacts after the deletes:
$got"
# c3 deleted, c5 nothing to delete
got=$(pg_psql -c "SELECT status, processed, deleted, unchanged, failed FROM syncengine.sync_runs
                  ORDER BY started_at DESC LIMIT 1")
[ "$got" = "success|2|1|1|0" ] || die "the run log after the deletes: $got"
[ "$(grep -c "record .* rejected:" "$T/engine.log")" = 1 ] || die "a delete was rejected: $(grep rejected "$T/engine.log")"

note "check --connect: the good configuration passes (its statements prepared); a key column that is not unique, a table that does not exist"
$SYNCENGINE check --connect -c "$T/crm.ini" >"$T/check0.out" 2>&1 || die "check --connect refused crm.ini: $(cat "$T/check0.out")"
conf "account_id: app.accounts.id by name" >"$T/bad1.ini"
code=0; $SYNCENGINE check --connect -c "$T/bad1.ini" >"$T/check1.out" 2>&1 || code=$?
[ $code = 3 ] || die "check --connect of a non-unique key exited $code: $(cat "$T/check1.out")"
grep -q "sink.resolve: column \"name\" of table app.accounts has no unique index or constraint of its own.*bad1.ini:3[0-9]" \
    "$T/check1.out" || die "check --connect: $(cat "$T/check1.out")"
conf "account_id: app.nowhere.id by ext" >"$T/bad2.ini"
code=0; $SYNCENGINE check --connect -c "$T/bad2.ini" >"$T/check2.out" 2>&1 || code=$?
[ $code = 3 ] || die "check --connect of a missing table exited $code: $(cat "$T/check2.out")"
grep -q "sink.resolve: table \"app.nowhere\" does not exist" "$T/check2.out" || die "check --connect: $(cat "$T/check2.out")"
conf "account_id app.accounts.id by ext" >"$T/bad3.ini"
code=0; $SYNCENGINE check --connect -c "$T/bad3.ini" >"$T/check3.out" 2>&1 || code=$?
[ $code = 3 ] || die "check --connect of a malformed sink.resolve exited $code: $(cat "$T/check3.out")"
grep -q "no ':' after the column" "$T/check3.out" || die "check --connect: $(cat "$T/check3.out")"
echo ok
