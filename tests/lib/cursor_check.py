#!/usr/bin/env python3
"""Checks that no saved cursor of the Henk sync is ahead of the stored data.

A stream's cursor in syncengine.sync_state is "SystemModstamp|Id" of the last
record the sink committed.  Every Salesforce record ordered at or before it
(by SystemModstamp, then Id) must therefore be in `leads` -- as a live row, or
as a row marked deleted when the record is in the recycle bin (a record
deleted before it was ever synced may be absent).  Also checks that `leads`
holds no duplicate (source, source_id) and that state.json, when present, is
valid JSON (a kill during a state write must not leave it torn).

usage: cursor_check.py --stub URL --business UUID [--truth FILE] [--state-dir DIR]
       cursor_check.py --stub URL --save-truth FILE
--save-truth caches the stand-in's truth (sort keys and deleted flags of
Contacts and Leads) for repeated checks while the data does not change.
Exit 0 when consistent; otherwise prints what is wrong.
"""
import argparse
import json
import os
import subprocess
import sys
import urllib.request

STREAMS = (("contacts", "Contact", "salesforce_contact"), ("leads", "Lead", "salesforce_lead"))


def psql(sql):
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True).stdout


def norm(stamp):
    # Salesforce "2024-05-01T10:00:00.000+0000" vs the cursor's "...000Z": same width once normalized
    return stamp.replace("+0000", "Z")


def fetch_truth(stub):
    out = {}
    for _, obj, _ in STREAMS:
        with urllib.request.urlopen("%s/__stub/truth?object=%s&deleted=1" % (stub, obj), timeout=300) as r:
            recs = json.loads(r.read())["records"]
        out[obj] = [[norm(x["SystemModstamp"]), x["Id"], bool(x.get("IsDeleted"))] for x in recs]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stub", required=True)
    ap.add_argument("--business")
    ap.add_argument("--truth")
    ap.add_argument("--save-truth")
    ap.add_argument("--state-dir", default=os.environ.get("SYNCENGINE_STATE_DIR"))
    a = ap.parse_args()
    if a.save_truth:
        with open(a.save_truth, "w") as f:
            json.dump(fetch_truth(a.stub), f)
        return 0
    if a.truth:
        with open(a.truth) as f:
            truth = json.load(f)
    else:
        truth = fetch_truth(a.stub)
    problems = []
    cursors = {}
    if psql("SELECT to_regclass('syncengine.sync_state') IS NOT NULL").strip() == "t":
        for line in psql("SELECT stream || '|' || cursor FROM syncengine.sync_state "
                         "WHERE (job = 'salesforce' OR job LIKE 'salesforce@%') AND cursor IS NOT NULL").splitlines():
            stream, _, cur = line.partition("|")
            cursors[stream] = cur
    for stream, obj, source in STREAMS:
        rows = psql("SELECT source_id || '|' || coalesce(sync_status, '') FROM leads "
                    "WHERE business_id = '%s' AND source = '%s'" % (a.business, source)).split()
        have = dict(r.split("|", 1) for r in rows)
        if len(have) != len(rows):
            problems.append("%s: %d rows but %d distinct source ids" % (stream, len(rows), len(have)))
        cur = cursors.get(stream)
        if cur is None:
            continue
        ts, _, cid = cur.partition("|")
        limit = (ts, cid)
        missing = [i for s, i, deleted in truth[obj] if (s, i) <= limit and not deleted and i not in have]
        if missing:
            problems.append("%s: %d records at or before the cursor %s are not stored, e.g. %s"
                            % (stream, len(missing), cur, missing[:3]))
        wrongly_live = [i for s, i, deleted in truth[obj]
                        if (s, i) <= limit and deleted and have.get(i, "deleted") != "deleted"]
        if wrongly_live:
            problems.append("%s: %d records deleted at or before the cursor %s are still live, e.g. %s"
                            % (stream, len(wrongly_live), cur, wrongly_live[:3]))
    dup = psql("SELECT count(*) - count(DISTINCT (lead_list_id, lead_id)) FROM lead_list_members").strip()
    if dup not in ("", "0"):
        problems.append("lead_list_members has %s duplicate memberships" % dup)
    if a.state_dir:
        path = os.path.join(a.state_dir, "state.json")
        if os.path.exists(path):
            try:
                with open(path) as f:
                    json.load(f)
            except ValueError as e:
                problems.append("%s is not valid JSON: %s" % (path, e))
    for p in problems:
        print("CURSOR:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
