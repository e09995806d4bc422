#!/usr/bin/env python3
"""Compares the Henk database with the Salesforce stand-in's ground truth.

This is an independent oracle for conf/henk.ini: it re-derives, in Python and
from the seed plan's rules, what every `leads` row of a business must hold, and
checks the database field by field, plus the two lead lists, their counts and
memberships, the sync_logs rows and integrations.last_sync_at.  psql is the
only database client (PGHOST/PGPORT/... from the environment).

usage: henk_check.py --stub URL --business UUID --integration UUID
                     [--runs N] [--status success] [--summary]
                     [--expect-run processed=N,created=N,updated=N,deleted=N,unchanged=N,failed=N]
Exit 0 when everything matches; otherwise prints each difference (up to 30).

The latest sync_logs row is always checked for what the run log must hold
whatever the run did: this business, a sync type, counts that agree with the
per-object counts in its metadata, API calls counted, and an
integrations.last_sync_at equal to the completion of the latest run that
stored its work.  --expect-run names the counts the latest run must have
reported (deleted and unchanged come from the per-object metadata, the
others from their sync_logs columns).
"""
import argparse
import datetime
import json
import subprocess
import sys
import urllib.request

RATING_SCORE = {"hot": 90, "warm": 70, "cold": 30}


def psql_json(sql):
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         check=True, capture_output=True, text=True, env=None).stdout.strip()
    return json.loads(out) if out else None


def truth(stub, obj):
    with urllib.request.urlopen("%s/__stub/truth?object=%s&deleted=1" % (stub, obj), timeout=120) as r:
        return json.loads(r.read())["records"]


def ts(v):
    """Parses Salesforce ("...+0000") and PostgreSQL ("...+00:00") timestamps."""
    if v is None:
        return None
    v = v.replace("Z", "+00:00")
    if len(v) > 5 and v[-5] in "+-" and v[-3] != ":":
        v = v[:-2] + ":" + v[-2:]
    return datetime.datetime.fromisoformat(v)


def expected_row(kind, rec):
    """What conf/henk.ini must produce for one truth record (None fields = NULL)."""
    if kind == "Contact":
        row = {
            "source": "salesforce_contact",
            "street": rec["MailingStreet"], "city": rec["MailingCity"], "state": rec["MailingState"],
            "postal_code": rec["MailingPostalCode"], "country": rec["MailingCountry"],
            "company": rec.get("Account.Name"), "department": rec["Department"],
            "lead_score": 50, "quality_rating": "warm", "sync_status": "active",
        }
        meta = {"salesforce_type": "Contact", "salesforce_account": rec.get("Account.Name")}
    else:
        rating = (rec["Rating"] or "").lower()
        row = {
            "source": "salesforce_lead",
            "street": rec["Street"], "city": rec["City"], "state": rec["State"],
            "postal_code": rec["PostalCode"], "country": rec["Country"],
            "company": rec["Company"], "department": None,
            "lead_score": RATING_SCORE.get(rating, 50),
            "quality_rating": rating if rating in RATING_SCORE else "unrated",
            "sync_status": "converted" if rec["IsConverted"] else "active",
        }
        meta = {"salesforce_type": "Lead", "salesforce_status": rec["Status"], "salesforce_rating": rec["Rating"]}
    row.update({
        "source_id": rec["Id"], "first_name": rec["FirstName"], "last_name": rec["LastName"],
        "email": rec["Email"], "phone": rec["Phone"], "mobile_phone": rec["MobilePhone"],
        "title": rec["Title"], "lead_source": rec["LeadSource"], "description": rec["Description"],
        "owner_id": rec["OwnerId"], "do_not_call": bool(rec["DoNotCall"]),
        "email_opt_out": bool(rec["HasOptedOutOfEmail"]),
        "last_activity_at": ts(rec["LastModifiedDate"] or rec["SystemModstamp"]),
    })
    meta.update({"salesforce_owner_id": rec["OwnerId"],
                 "salesforce_system_modstamp": ts(rec["SystemModstamp"]),
                 "salesforce_last_modified": ts(rec["LastModifiedDate"]),
                 "salesforce_created_date": ts(rec["CreatedDate"])})
    return row, meta


def run_log_diffs(row, biz, expect):
    """What is wrong with one sync_logs row of this business."""
    diffs = []
    if row["business_id"] != biz:
        diffs.append("sync_logs row %s belongs to business %s" % (row["id"], row["business_id"]))
    if row["sync_type"] not in ("incremental", "full"):
        diffs.append("sync_logs row %s has sync_type %r" % (row["id"], row["sync_type"]))
    if row["sync_status"] not in ("success", "partial"):
        return diffs  # a run that stopped early may not have reached every stream
    meta = row.get("metadata") or {}
    streams = meta.get("streams") or {}
    objects = sorted(x.get("object") for x in streams.values())
    if objects != ["Contact", "Lead"]:
        diffs.append("sync_logs metadata names the objects %r, expected Contact and Lead" % objects)
    total = {k: sum(x.get(k, 0) for x in streams.values())
             for k in ("processed", "inserted", "updated", "deleted", "unchanged", "failed")}
    have = {"processed": row["records_processed"], "created": row["records_created"],
            "updated": row["records_updated"], "failed": row["records_failed"],
            "deleted": total["deleted"], "unchanged": total["unchanged"]}
    for col, k in (("processed", "processed"), ("created", "inserted"), ("updated", "updated"),
                   ("failed", "failed")):
        if have[col] != total[k]:
            diffs.append("sync_logs records_%s is %s but its objects add up to %s" % (col, have[col], total[k]))
    if total["processed"] != sum(total[k] for k in ("inserted", "updated", "deleted", "unchanged", "failed")):
        diffs.append("sync_logs metadata: processed %s is not the sum of its outcomes %r" % (total["processed"], total))
    if not (meta.get("counters") or {}).get("api_calls"):
        diffs.append("sync_logs metadata counts no API calls: %r" % meta.get("counters"))
    for item in filter(None, expect.split(",")):
        k, v = item.split("=")
        if have.get(k) != int(v):
            diffs.append("latest run reported %s=%s, expected %s" % (k, have.get(k), v))
    return diffs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--stub", required=True)
    ap.add_argument("--business", required=True)
    ap.add_argument("--integration", required=True)
    ap.add_argument("--runs", type=int, help="expected number of sync_logs rows")
    ap.add_argument("--status", default="success", help="expected status of the latest run")
    ap.add_argument("--summary", action="store_true")
    ap.add_argument("--expect-run", default="", help="counts of the latest run, k=v,...")
    a = ap.parse_args()
    diffs = []
    biz = a.business
    rows = psql_json("SELECT coalesce(json_agg(l), '[]') FROM leads l WHERE business_id = '%s'" % biz)
    by_key = {(r["source"], r["source_id"]): r for r in rows}
    seen = set()
    counts = {}
    for kind, source in (("Contact", "salesforce_contact"), ("Lead", "salesforce_lead")):
        n_live = 0
        for rec in truth(a.stub, kind):
            key = (source, rec["Id"])
            seen.add(key)
            got = by_key.get(key)
            if rec.get("IsDeleted"):
                if got is not None and got["sync_status"] != "deleted":
                    diffs.append("%s %s is deleted in Salesforce but sync_status=%r" % (kind, rec["Id"], got["sync_status"]))
                continue
            n_live += 1
            if got is None:
                diffs.append("%s %s missing from leads" % (kind, rec["Id"]))
                continue
            exp, meta = expected_row(kind, rec)
            for col, val in exp.items():
                have = got.get(col)
                if col == "last_activity_at":
                    have = ts(have)
                if have != val:
                    diffs.append("%s %s: %s is %r, expected %r" % (kind, rec["Id"], col, have, val))
            gm = got.get("source_metadata") or {}
            for k, val in meta.items():
                have = gm.get(k)
                if isinstance(val, datetime.datetime):
                    have = ts(have)
                if have != val:
                    diffs.append("%s %s: source_metadata.%s is %r, expected %r" % (kind, rec["Id"], k, have, val))
            if got.get("last_synced_at") is None:
                diffs.append("%s %s: last_synced_at is NULL" % (kind, rec["Id"]))
        counts[source] = n_live
    for key, r in by_key.items():
        # a record purged in Salesforce (not even in queryAll) may stay as a row marked deleted
        if key not in seen and r["source"].startswith("salesforce_") and r["sync_status"] != "deleted":
            diffs.append("leads has %s %s which Salesforce does not have" % key)

    # lists: one per source, members = the live rows of that source, count right
    lists = psql_json("SELECT coalesce(json_agg(x), '[]') FROM (SELECT ll.name, ll.lead_count, "
                      "(SELECT count(*) FROM lead_list_members m WHERE m.lead_list_id = ll.id) AS members, "
                      "(SELECT count(*) FROM lead_list_members m JOIN leads l ON l.id = m.lead_id "
                      " WHERE m.lead_list_id = ll.id AND l.source = CASE ll.name WHEN 'Salesforce Contacts' "
                      " THEN 'salesforce_contact' ELSE 'salesforce_lead' END AND l.sync_status <> 'deleted') AS right_members "
                      "FROM lead_lists ll WHERE ll.business_id = '%s' AND ll.source = 'salesforce_sync') x" % biz)
    names = sorted(x["name"] for x in lists)
    if names != ["Salesforce Contacts", "Salesforce Leads"]:
        diffs.append("lead lists are %r" % names)
    for x in lists:
        want = counts["salesforce_contact" if x["name"] == "Salesforce Contacts" else "salesforce_lead"]
        if not (x["members"] == x["right_members"] == x["lead_count"] == want):
            diffs.append("list %s: lead_count %s, members %s (%s right), expected %s"
                         % (x["name"], x["lead_count"], x["members"], x["right_members"], want))

    logs = psql_json("SELECT coalesce(json_agg(s ORDER BY started_at), '[]') FROM sync_logs s "
                     "WHERE integration_id = '%s'" % a.integration)
    if a.runs is not None and len(logs) != a.runs:
        diffs.append("sync_logs has %d rows, expected %d" % (len(logs), a.runs))
    if logs:
        last = logs[-1]
        if last["sync_status"] != a.status:
            diffs.append("latest sync_logs row has status %r (error %r), expected %r"
                         % (last["sync_status"], last.get("error_message"), a.status))
        if last["completed_at"] is None or last["duration_ms"] is None:
            diffs.append("latest sync_logs row is not completed")
        diffs += run_log_diffs(last, a.business, a.expect_run)
    else:
        diffs.append("no sync_logs rows")
    integ = psql_json("SELECT json_agg(i) FROM integrations i WHERE id = '%s'" % a.integration)
    stored = [x for x in logs if x["sync_status"] in ("success", "partial")]
    have = ts(integ[0]["last_sync_at"]) if integ else None
    want = ts(stored[-1]["completed_at"]) if stored else None
    if have != want:
        diffs.append("integrations.last_sync_at is %s, expected %s (the latest run that stored its work)"
                     % (have, want))

    if a.summary:
        print("leads: %d contacts, %d leads live; %d rows in leads; %d sync_logs rows"
              % (counts["salesforce_contact"], counts["salesforce_lead"], len(rows), len(logs)))
    for d in diffs[:30]:
        print("DIFF:", d)
    if len(diffs) > 30:
        print("... and %d more differences" % (len(diffs) - 30))
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
