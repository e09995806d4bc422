#!/bin/bash
# sf_sink.sh - the Salesforce plugin as a sink (SQLite rows -> the stand-in):
#   - upsert by the external-id field Ext_Id__c: 450 new rows are created in
#     exactly 3 sObject Collections calls (200 + 200 + 50), with exactly the
#     rows' values; each record's Salesforce Id reaches the engine;
#   - 10 changed rows are updated in place (one call, still 450 contacts);
#   - 5 soft-deleted rows delete their contacts (found by external id);
#   - a second run with nothing new makes no write call;
#   - update by Id (the record key): Account phones;
#   - create: Opportunities (picklist, currency, date, reference).
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh"

q "CREATE TABLE people (id TEXT PRIMARY KEY, first TEXT, last TEXT, email TEXT, title TEXT,
                        updated_at TEXT, deleted INTEGER NOT NULL DEFAULT 0);
   CREATE TABLE phones (id TEXT PRIMARY KEY, phone TEXT, updated_at TEXT);
   CREATE TABLE deals (id TEXT PRIMARY KEY, name TEXT, stage TEXT, amount REAL, close_date TEXT,
                       account TEXT, updated_at TEXT);"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO people (id, first, last, email, title, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
              [("p%03d" % i, "Fïrst %d" % i, "O'Last %d" % i, "p%d@example.com" % i, None if i % 7 == 0 else "T%d" % i,
                "2024-01-01T00:00:00.000Z") for i in range(450)])
c.commit()
PY

cat >"$T/sink.ini" <<INI
[engine]
state_dir = $T/state

$(sqlite_section source edge)

$(sf_sink_section sf)

[job push]
source = edge
sink = sf
batch_size = 1000

[stream push.people]
object = people
target = Contact
source.settle = 0s
source.soft_delete = deleted
sink.external_id = Ext_Id__c

[map push.people]
Ext_Id__c = id
FirstName = first
LastName = last
Email = email
Title = title
INI

# same_contacts: the stand-in's live contacts are exactly the live rows, field by field, each once
same_contacts() {
    sf_truth Contact >"$T/truth.json"
    q -json "SELECT id, first, last, email, title FROM people WHERE deleted = 0 ORDER BY id" >"$T/rows.json"
    python3 - "$T/truth.json" "$T/rows.json" <<'PY' || die "contacts differ from the rows: $1"
import json, sys
truth = json.load(open(sys.argv[1]))["records"]
rows = json.load(open(sys.argv[2]))
by_ext = {}
for t in truth:
    by_ext.setdefault(t["Ext_Id__c"], []).append(t)
dups = {k: len(v) for k, v in by_ext.items() if len(v) > 1}
if dups:
    sys.exit("duplicates: %r" % dups)
if len(truth) != len(rows) or set(by_ext) != {r["id"] for r in rows}:
    sys.exit("%d contacts for %d rows" % (len(truth), len(rows)))
for r in rows:
    t = by_ext[r["id"]][0]
    want = (r["first"], r["last"], r["email"], r["title"])
    got = (t["FirstName"], t["LastName"], t["Email"], t["Title"])
    if want != got:
        sys.exit("%s: %r != %r" % (r["id"], got, want))
PY
}

note "upsert: 450 new rows, 3 calls"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0 --log-level debug
[ "$(done_line people)" = "450 read, 450 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] \
    || die "counts: $(done_line people)"
[ "$(sf_calls collections)" = 3 ] || die "$(sf_calls collections) collections calls, expected 3"
same_contacts "after the first run"
# each stored record's Id came back to the engine (host->record_written, logged at debug level)
[ "$(grep -c 'record p[0-9]* stored as 003[0-9A-Za-z]\{15\} (created)' "$T/out.log")" = 450 ] \
    || die "the engine did not learn 450 created Ids: $(grep -c 'stored as' "$T/out.log")"
id7=$(sf_truth Contact | python3 -c 'import json,sys; print([r["Id"] for r in json.load(sys.stdin)["records"] if r["Ext_Id__c"] == "p007"][0])')
grep -q "record p007 stored as $id7 (created)" "$T/out.log" || die "p007's Id $id7 was not reported"

note "nothing new: no write call"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(sf_calls collections)" = 0 ] || die "an idle run wrote: $(sf_calls collections) calls"

note "update: 10 changed rows, in place (the session expires on the way: one re-login)"
q "UPDATE people SET title = 'Changed ' || id, updated_at = '2024-02-01T00:00:00.000Z' WHERE id < 'p010'"
sf_ctl POST /__stub/faults '{"faults": [{"match": "collections", "kind": "expire_token"}]}' >/dev/null
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0 --log-level debug
sf_ctl DELETE /__stub/faults >/dev/null
[ "$(done_line people)" = "10 read, 0 inserted, 10 updated, 0 unchanged, 0 deleted, 0 failed" ] \
    || die "counts: $(done_line people)"
# the run's own login, then one re-login
[ "$(sf_calls collections)" = 2 ] && [ "$(sf_calls token)" = 2 ] \
    || die "$(sf_calls collections) calls and $(sf_calls token) token calls for 10 updates after an expired session"
grep -q "record p003 stored as [0-9A-Za-z]* (updated)" "$T/out.log" || die "the updated Id was not reported"
same_contacts "after the update"

note "delete: 5 soft-deleted rows"
q "UPDATE people SET deleted = 1, updated_at = '2024-03-01T00:00:00.000Z' WHERE id IN ('p100', 'p101', 'p102', 'p103', 'p449')"
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(done_line people)" = "5 read, 0 inserted, 0 updated, 0 unchanged, 5 deleted, 0 failed" ] \
    || die "counts: $(done_line people)"
[ "$(sf_calls collections)" = 1 ] && [ "$(sf_calls query)" = 1 ] \
    || die "$(sf_calls collections) delete calls and $(sf_calls query) lookups, expected 1 and 1"
same_contacts "after the deletes"
[ "$(sf_truth Contact deleted | python3 -c 'import json,sys; print(sorted(r["Ext_Id__c"] for r in json.load(sys.stdin)["records"] if r["IsDeleted"]))')" \
  = "['p100', 'p101', 'p102', 'p103', 'p449']" ] || die "the wrong contacts were deleted"

note "update by Id (the key), create with picklist, currency, date and reference"
accounts=$(sf_truth Account | python3 -c 'import json,sys; print(" ".join(r["Id"] for r in json.load(sys.stdin)["records"]))')
set -- $accounts
q "INSERT INTO phones VALUES ('$1', '+31 20 555 0101', '2024-01-01T00:00:00Z'), ('$2', '+31 20 555 0102', '2024-01-01T00:00:00Z');
   INSERT INTO deals VALUES ('d1', 'Deal one', 'Prospecting', 1250.5, '2024-09-30', '$1', '2024-01-01T00:00:00Z'),
                            ('d2', 'Deal two', 'Closed Won', 99, '2024-10-01', NULL, '2024-01-01T00:00:00Z'),
                            ('d3', 'Deal three', 'Qualification', NULL, '2025-01-15', '$3', '2024-01-01T00:00:00Z');"
cat >>"$T/sink.ini" <<INI

[job more]
source = edge
sink = sf

[stream more.phones]
object = phones
target = Account
source.settle = 0s
sink.operation = update

[map more.phones]
Phone = phone

[stream more.deals]
object = deals
target = Opportunity
source.settle = 0s
sink.operation = create

[map more.deals]
Name = name
StageName = stage
Amount = amount
CloseDate = close_date
AccountId = account
INI
sf_run "$T/sink.ini" 0   # push has nothing new: only the new job writes
[ "$(done_line phones)" = "2 read, 0 inserted, 2 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "phones: $(done_line phones)"
[ "$(done_line deals)" = "3 read, 3 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "deals: $(done_line deals)"
sf_truth Account >"$T/accounts.json"
sf_truth Opportunity >"$T/opps.json"
python3 - "$T/accounts.json" "$T/opps.json" "$1" "$2" "$3" <<'PY' || die "accounts or opportunities differ"
import json, sys
acc = {r["Id"]: r for r in json.load(open(sys.argv[1]))["records"]}
a1, a2, a3 = sys.argv[3:6]
assert (acc[a1]["Phone"], acc[a2]["Phone"]) == ("+31 20 555 0101", "+31 20 555 0102"), (acc[a1]["Phone"], acc[a2]["Phone"])
assert acc[a3]["Phone"] not in ("+31 20 555 0101", "+31 20 555 0102")
opps = sorted((r["Name"], r["StageName"], r["Amount"], r["CloseDate"], r["AccountId"])
              for r in json.load(open(sys.argv[2]))["records"])
want = sorted([("Deal one", "Prospecting", 1250.5, "2024-09-30", a1), ("Deal two", "Closed Won", 99.0, "2024-10-01", None),
               ("Deal three", "Qualification", None, "2025-01-15", a3)])
assert opps == want, opps
PY
note "a hard delete (the change log: the key alone) deletes by external id"
q "CREATE TABLE leads_tbl (id TEXT PRIMARY KEY, last TEXT, updated_at TEXT);
   INSERT INTO leads_tbl VALUES ('h1', 'Hard one', '2024-01-01T00:00:00Z'), ('h2', 'Hard two', '2024-01-01T00:00:00Z');"
cat >>"$T/sink.ini" <<INI

[job hard]
source = edge
sink = sf

[stream hard.rows]
object = leads_tbl
target = Contact
source.settle = 0s
source.change_log = on
sink.external_id = Ext_Id__c

[map hard.rows]
Ext_Id__c = id
LastName = last
INI
sf_run "$T/sink.ini" 0
[ "$(done_line rows)" = "2 read, 2 inserted, 0 updated, 0 unchanged, 0 deleted, 0 failed" ] || die "rows: $(done_line rows)"
q "DELETE FROM leads_tbl WHERE id = 'h1'"
sf_run "$T/sink.ini" 0
[ "$(done_line rows)" = "1 read, 0 inserted, 0 updated, 0 unchanged, 1 deleted, 0 failed" ] || die "rows: $(done_line rows)"
[ "$(sf_truth Contact | python3 -c 'import json,sys; print(sorted(r["Ext_Id__c"] for r in json.load(sys.stdin)["records"] if r["Ext_Id__c"].startswith("h")))')" \
  = "['h2']" ] || die "the hard-deleted row's contact is still there, or the other one is gone"

assert_no_secrets test-refresh-token test-client-secret Bearer
echo ok
