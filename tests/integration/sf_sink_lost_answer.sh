#!/bin/bash
# sf_sink_lost_answer.sh - a write Salesforce carried out but whose answer
# never arrived must not create a second record:
#   - upsert by external id: the answer is lost (connection reset, then a
#     cut-off body) after the stand-in committed; the call is repeated and
#     matches the same records: no duplicate, the run succeeds;
#   - create without an external id: a lost answer is not repeated; the
#     call's records are rejected with the reason (partial), each exists
#     exactly once, and the next run sends nothing again;
#   - create refused with 503 (nothing done): repeated, created once.
set -eu
. "$(dirname "$0")/../lib/common.sh"
. "$top/tests/lib/sf_sink.sh"

q "CREATE TABLE people (id TEXT PRIMARY KEY, last TEXT, updated_at TEXT);
   CREATE TABLE deals (id TEXT PRIMARY KEY, name TEXT, updated_at TEXT);"
python3 - "$db" <<'PY'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.executemany("INSERT INTO people VALUES (?, ?, '2024-01-01T00:00:00Z')", [("p%03d" % i, "Last %d" % i) for i in range(250)])
c.executemany("INSERT INTO deals VALUES (?, ?, '2024-01-01T00:00:00Z')", [("d%03d" % i, "Deal %d" % i) for i in range(250)])
c.commit()
PY

write_ini() { # STREAMS...: a job pushing those streams
    {
        printf '[engine]\nstate_dir = %s\n\n' "$T/state"
        sqlite_section source edge
        echo
        sf_sink_section sf
        printf '\n[job push]\nsource = edge\nsink = sf\nbatch_size = 1000\n'
        for s in "$@"; do
            case $s in
            people) printf '\n[stream push.people]\nobject = people\ntarget = Contact\nsource.settle = 0s\n'
                    printf 'sink.external_id = Ext_Id__c\n\n[map push.people]\nExt_Id__c = id\nLastName = last\n' ;;
            deals) printf '\n[stream push.deals]\nobject = deals\ntarget = Opportunity\nsource.settle = 0s\n'
                   printf 'sink.operation = create\n\n[map push.deals]\nName = name\nStageName = '"'"'Prospecting'"'"'\n'
                   printf 'CloseDate = '"'"'2024-12-31'"'"'\n' ;;
            esac
        done
    } >"$T/sink.ini"
}
# once OBJECT FIELD COUNT: the stand-in holds COUNT records of OBJECT, each FIELD value once
once() {
    sf_truth "$1" | python3 -c '
import collections, json, sys
recs = json.load(sys.stdin)["records"]
c = collections.Counter(r[sys.argv[1]] for r in recs)
dups = {k: n for k, n in c.items() if n > 1}
if dups or len(recs) != int(sys.argv[2]):
    sys.exit("%d records, duplicates: %r" % (len(recs), dups))' "$2" "$3" || die "$1 is not $3 records, each once"
}
faults() { sf_ctl POST /__stub/faults "{\"faults\": [$1]}" >/dev/null; }

note "upsert: the first call's answer is lost after it committed (reset)"
write_ini people
faults '{"match": "collections", "kind": "reset", "commit": true}'
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(sf_calls collections)" = 3 ] || die "$(sf_calls collections) calls, expected 3 (one repeated)"
[ "$(done_line people)" = "250 read, 50 inserted, 200 updated, 0 unchanged, 0 deleted, 0 failed" ] \
    || die "counts: $(done_line people)"
once Contact Ext_Id__c 250

note "upsert: a cut-off answer to a committed update"
q "UPDATE people SET last = last || ' (new)', updated_at = '2024-02-01T00:00:00Z' WHERE id < 'p010'"
faults '{"match": "collections", "kind": "truncate", "commit": true}'
sf_run "$T/sink.ini" 0
[ "$(done_line people)" = "10 read, 0 inserted, 10 updated, 0 unchanged, 0 deleted, 0 failed" ] \
    || die "counts: $(done_line people)"
once Contact Ext_Id__c 250
[ "$(sf_truth Contact | python3 -c 'import json,sys; print(sum(r["LastName"].endswith("(new)") for r in json.load(sys.stdin)["records"]))')" = 10 ] \
    || die "the updates did not land"

note "create: a lost answer is not repeated; its records are rejected and exist once"
write_ini deals
faults '{"match": "collections", "method": "POST", "kind": "reset", "commit": true}'
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 6
[ "$(sf_calls collections)" = 2 ] || die "$(sf_calls collections) calls, expected 2 (nothing repeated)"
[ "$(done_line deals)" = "250 read, 50 inserted, 0 updated, 0 unchanged, 0 deleted, 200 failed" ] \
    || die "counts: $(done_line deals)"
grep -F 'record d000 rejected: the answer to the create call was lost' "$T/out.log" | grep -qF 'not sent again (no duplicates)' \
    || die "the rejection does not say why: $(grep -F 'record d000' "$T/out.log")"
once Opportunity Name 250
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(sf_calls collections)" = 0 ] || die "the next run sent the creates again"
once Opportunity Name 250

note "create: a 503 (nothing done) is repeated and creates once"
q "INSERT INTO deals VALUES ('e1', 'Extra 1', '2024-03-01T00:00:00Z'), ('e2', 'Extra 2', '2024-03-01T00:00:00Z')"
faults '{"match": "collections", "kind": "status", "status": 503}'
sf_ctl POST /__stub/stats/reset >/dev/null
sf_run "$T/sink.ini" 0
[ "$(sf_calls collections)" = 2 ] || die "$(sf_calls collections) calls, expected 2 (one refused, one repeated)"
once Opportunity Name 252
echo ok
