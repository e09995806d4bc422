#!/usr/bin/env python3
"""Salesforce REST API stand-in for syncengine's integration tests, demo and benchmarks.

A real HTTP/1.1 server on loopback that speaks the parts of the Salesforce REST
API a sync engine uses -- OAuth token endpoint, versions, describe, query,
queryAll, query locators -- with Salesforce's status codes, error bodies,
Sforce-Limit-Info header and gzip.  Query results are snapshots: a locator pages
through the rows as they were when the query ran, however the data changes
meanwhile, exactly as Salesforce does.  A control API under /__stub/ (no auth)
lets tests mutate data, read the ground truth, control the clock and inject
faults.  See README.md beside this file for the complete reference.

Standard library only.  Run `python3 sfstub.py --help`.
"""

import argparse
import base64
import collections
import gzip
import hashlib
import hmac
import itertools
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import data  # noqa: E402
import soql  # noqa: E402
import writes  # noqa: E402

JSON_TYPE = "application/json;charset=UTF-8"
ORG_ID = "00D5g000004XyZ1EAK"
MIN_BATCH, MAX_BATCH = 200, 2000
# Salesforce: "a user can have up to 10 query cursors open at a time"; opening
# an 11th releases the oldest.  The stand-in has one API user.
MAX_LOCATORS = 10
LOCATOR_IDLE_S = 15 * 60
VERSION_RE = re.compile(r"^/services/data/v(\d+\.\d)(/.*)?$")
LOCATOR_RE = re.compile(r"^/(query|queryAll)/([0-9A-Za-z]{15,18})-(\d+)$")


class ApiError(Exception):
    """An error answered as Salesforce does: [{"message", "errorCode"}]."""

    def __init__(self, status, code, message, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or []


class BadControl(Exception):
    """A malformed control-API request (answered 400 {"error": ...})."""


def dumps(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# ---- clock ----------------------------------------------------------------

class Clock:
    """The stand-in's notion of 'now' for SystemModstamp and friends.

    Real time by default, optionally shifted or frozen by tests.  `stamp()`
    never returns the same millisecond twice, so every mutated record gets its
    own SystemModstamp unless a test asks for an explicit (tied) one."""

    def __init__(self):
        self.frozen = None
        self.offset = 0
        self.last = data.GEN_END_MS
        # one clock for all orgs (Salesforce's time is global), whose stores
        # stamp under their own locks
        self.stamp_lock = threading.Lock()

    def now(self):
        if self.frozen is not None:
            return self.frozen
        return int(time.time() * 1000) + self.offset

    def stamp(self):
        with self.stamp_lock:
            v = max(self.now(), self.last + 1)
            self.last = v
            return v

    def set_now(self, ms, freeze):
        """Continue from ms: running on from there, or stopped there if freeze."""
        self.frozen = ms if freeze else None
        self.offset = 0 if freeze else ms - int(time.time() * 1000)
        self.last = ms - 1

    def freeze(self):
        self.frozen = self.now()

    def advance(self, ms):
        if self.frozen is not None:
            self.frozen += ms
        else:
            self.offset += ms

    def real(self):
        """Back to real time, stamps included: a test that moved the clock ahead
        must not leave later stamps ahead of the Date header."""
        self.frozen = None
        self.offset = 0
        self.last = min(self.last, self.now() - 1)

    def state(self):
        return {"now": data.fmt_datetime(self.now()), "frozen": self.frozen is not None,
                "last_stamp": data.fmt_datetime(self.last)}


# ---- data store -----------------------------------------------------------

class Store:
    """All records.  Each object's table is a dict Id -> tuple kept in Id order.

    Tables are copy-on-write: a mutation builds new dicts and swaps them in
    under the lock, so a view taken for a query (a dict of table references)
    never changes underneath it.  That is what makes locator snapshots cheap."""

    PERSON_NAME = ("contact", "lead", "user")

    def __init__(self, seed, accounts, contacts, leads, same_modstamp, schemas=None, clock=None,
                 id_base=0):
        self.schemas = schemas if schemas is not None else data.build_schemas()
        self.gen = data.Generator(self.schemas, seed, id_base)
        rows = self.gen.generate(accounts, contacts, leads, same_modstamp)
        self.tables = {name: {r[0]: r for r in recs} for name, recs in rows.items()}
        self.next_seq = {name: len(recs) for name, recs in rows.items()}
        self.id_base = id_base
        self.lock = threading.Lock()
        self.clock = clock if clock is not None else Clock()
        self.create_rng = self.gen._rng("created")
        # getDeleted: object -> {Id: deletion ms} (recycle bin and purged), the
        # earliest deletion still listed (older ones were trimmed), and objects
        # whose getDeleted the org refuses (403)
        self.deleted_log = {}
        self.deleted_earliest = data.GEN_START_MS
        self.deleted_refused = set()
        # records written through sObject Collections (successful results)
        self.records_written = 0

    def view(self):
        with self.lock:
            return dict(self.tables)

    def get_deleted(self, obj, start_ms, end_ms):
        """getDeleted: records of obj deleted in [start, end] (whole minutes,
        as Salesforce takes them), still listed (not before the earliest)."""
        with self.lock:
            start_ms -= start_ms % 60000
            end_ms -= end_ms % 60000
            log = self.deleted_log.get(obj.name.lower(), {})
            rows = sorted((ms, rid) for rid, ms in log.items()
                          if start_ms <= ms <= end_ms + 59999 and ms >= self.deleted_earliest)
            return {"deletedRecords": [{"id": rid, "deletedDate": data.fmt_datetime(ms)} for ms, rid in rows],
                    "earliestDateAvailable": data.fmt_datetime(self.deleted_earliest),
                    "latestDateCovered": data.fmt_datetime(min(end_ms, self.clock.now()))}

    # -- mutation --
    def mutate(self, ops):
        if not isinstance(ops, list):
            raise BadControl("mutate body must be a JSON list of operations")
        with self.lock:
            work = {}
            saved_last = self.clock.last
            saved_seq = dict(self.next_seq)
            self._log_work = []  # (object, Id, ms or None to forget), applied with the tables

            def table(name):
                if name not in work:
                    work[name] = dict(self.tables[name])
                return work[name]
            try:
                results = [self._apply(op, table, work) for op in ops]
            except BadControl:
                self.clock.last = saved_last
                self.next_seq = saved_seq
                raise
            self.tables.update(work)
            for name, rid, ms in self._log_work:
                log = self.deleted_log.setdefault(name, {})
                if ms is None:
                    log.pop(rid, None)
                else:
                    log.setdefault(rid, ms)
        out = {"ids": [i for r in results for i in r["ids"]], "results": results}
        return out

    def _schema(self, op):
        name = op.get("object")
        if not isinstance(name, str) or name.lower() not in self.schemas:
            raise BadControl("unknown object %r" % (name,))
        return self.schemas[name.lower()]

    def _values(self, obj, setmap, allow_name=False):
        if setmap is None:
            return []
        if not isinstance(setmap, dict):
            raise BadControl("\"set\" must be an object of field: value")
        out = []
        for key, value in setmap.items():
            f = obj.field(key)
            if f is None:
                raise BadControl("no such field %r on %s" % (key, obj.name))
            if f.name in ("Id", "IsDeleted", "SystemModstamp"):
                raise BadControl("field %s is set by the operation itself (use op delete/"
                                 "undelete or \"modstamp\")" % f.name)
            if f.name == "Name" and obj.name.lower() in self.PERSON_NAME and not allow_name:
                raise BadControl("field Name of %s is derived from FirstName and LastName"
                                 % obj.name)
            out.append((f.index, convert_value(f, value)))
        return out

    def _select(self, op, obj, tbl, eligible, view):
        if "ids" in op:
            ids = op["ids"]
            if not isinstance(ids, list):
                raise BadControl("\"ids\" must be a list")
            out = []
            for raw in ids:
                rid = data.normalize_id(raw)
                rec = tbl.get(rid)
                if rec is None:
                    raise BadControl("no %s with id %r" % (obj.name, raw))
                if not eligible(rec):
                    raise BadControl("%s %s is not eligible for %s" % (obj.name, rid, op["op"]))
                out.append(rid)
            return out
        if "where" in op:
            try:
                plan = soql.compile_query("SELECT Id FROM %s WHERE %s" % (obj.name, op["where"]),
                                          self.schemas)
            except soql.SoqlError as e:
                raise BadControl("where: %s: %s" % (e.code, e.message)) from None
            rows = plan.execute(view, True)
            ids = [r[0] for r in rows if eligible(r)]
        elif isinstance(op.get("count"), int) and op["count"] >= 0:
            # first N only: stop early, tables can hold a million records
            ids = list(itertools.islice((rid for rid, rec in tbl.items() if eligible(rec)),
                                        op["count"]))
        else:
            ids = [rid for rid, rec in tbl.items() if eligible(rec)]
        if "count" in op:
            n = op["count"]
            if not isinstance(n, int) or n < 0:
                raise BadControl("\"count\" must be a non-negative integer")
            if n > len(ids):
                raise BadControl("%s: only %d eligible %s records, %d asked"
                                 % (op["op"], len(ids), obj.name, n))
            ids = ids[:n]
        elif "where" not in op and not op.get("all"):
            raise BadControl("%s needs \"ids\", \"count\", \"where\" or \"all\"" % op["op"])
        return ids

    def _apply(self, op, table, work):
        if not isinstance(op, dict) or "op" not in op:
            raise BadControl("each operation must be an object with \"op\"")
        kind = op["op"]
        obj = self._schema(op)
        name = obj.name.lower()
        tbl = table(name)
        view = dict(self.tables)
        view.update(work)
        if "modstamp" in op:
            try:
                fixed = data.parse_datetime(op["modstamp"])
            except (ValueError, TypeError, AttributeError, IndexError):
                raise BadControl("bad modstamp %r" % (op.get("modstamp"),)) from None

            def stamp():
                return fixed
        elif "late_ms" in op:
            # a transaction that commits late: stamped late_ms before the moment
            # it becomes visible (now), so readers that already passed that
            # stamp only see it by reading behind their position
            late = op["late_ms"]
            if not isinstance(late, int) or isinstance(late, bool) or late < 0:
                raise BadControl("late_ms must be a non-negative integer")
            fixed_late = self.clock.now() - late

            def stamp():
                return fixed_late
        elif op.get("same_stamp"):
            fixed_now = []

            def stamp():  # one stamp for the whole operation, like one Salesforce transaction
                if not fixed_now:
                    fixed_now.append(self.clock.stamp())
                return fixed_now[0]
        else:
            stamp = self.clock.stamp
        i_mod = obj.idx("SystemModstamp")
        i_lmd = obj.idx("LastModifiedDate")
        i_del = obj.idx("IsDeleted") if obj.field("IsDeleted") else None
        live = (lambda r: not r[i_del]) if i_del is not None else (lambda r: True)

        def bump(lst, system_only=False):
            ms = stamp()
            lst[i_mod] = ms
            if not system_only:
                lst[i_lmd] = ms
            return ms

        if kind == "create":
            return {"op": kind, "ids": self._create(op, obj, tbl, stamp)}
        if kind in ("update", "touch"):
            sets = self._values(obj, op.get("set")) if kind == "update" else []
            ids = self._select(op, obj, tbl, live, view)
            for rid in ids:
                lst = list(tbl[rid])
                for idx, v in sets:
                    lst[idx] = v
                self._derive(obj, lst)
                bump(lst, system_only=(kind == "touch"))
                tbl[rid] = tuple(lst)
            return {"op": kind, "ids": ids}
        if kind in ("delete", "undelete"):
            if i_del is None:
                raise BadControl("%s records cannot be deleted" % obj.name)
            want = kind == "undelete"
            ids = self._select(op, obj, tbl, lambda r: bool(r[i_del]) == want, view)
            for rid in ids:
                lst = list(tbl[rid])
                lst[i_del] = not want
                ms = bump(lst)
                tbl[rid] = tuple(lst)
                # an undeleted record is no longer listed by getDeleted
                self._log_work.append((name, rid, None if want else ms))
            return {"op": kind, "ids": ids}
        if kind == "purge":
            ids = self._select(op, obj, tbl, lambda r: True, view)
            for rid in ids:
                del tbl[rid]
                # a record purged from the recycle bin keeps its deletion time
                if i_del is not None:
                    self._log_work.append((name, rid, self.clock.stamp()))
            return {"op": kind, "ids": ids}
        if kind == "convert":
            if name != "lead":
                raise BadControl("only Lead records can be converted")
            return self._convert(op, obj, tbl, table, stamp, view)
        raise BadControl("unknown op %r" % (kind,))

    def _derive(self, obj, lst):
        if obj.name.lower() in self.PERSON_NAME:
            first = lst[obj.idx("FirstName")]
            last = lst[obj.idx("LastName")]
            lst[obj.idx("Name")] = last if not first else "%s %s" % (first, last)

    def _create(self, op, obj, tbl, stamp):
        name = obj.name.lower()
        builders = {"account": self.gen.account_row, "contact": self.gen.contact_row,
                    "lead": self.gen.lead_row}
        if name in ("campaign", "campaignmember", "task"):
            # no generated values: the record has what "records"/"set" give, and the defaults
            def blank(rid, rng, ms, seq):
                lst = [None] * len(obj.fields)
                for f in obj.fields:
                    lst[f.index] = False if f.type == "boolean" else f.default
                lst[0] = rid
                if obj.field("OwnerId") is not None:
                    lst[obj.idx("OwnerId")] = next(iter(self.tables["user"]))
                return lst
            builders[name] = blank
        if name not in builders:
            raise BadControl("%s records cannot be created" % obj.name)
        if "records" in op:
            if not isinstance(op["records"], list):
                raise BadControl("\"records\" must be a list of objects")
            per_record = [self._values(obj, r) for r in op["records"]]
        else:
            n = op.get("count", 1)
            if not isinstance(n, int) or n < 0:
                raise BadControl("\"count\" must be a non-negative integer")
            per_record = [[] for _ in range(n)]
        common = self._values(obj, op.get("set"))
        i_created = obj.idx("CreatedDate")
        ids = []
        for extra in per_record:
            seq = self.next_seq[name]
            self.next_seq[name] = seq + 1
            rid = data.make_id(obj.key_prefix, self.id_base + seq)
            ms = stamp()
            lst = list(builders[name](rid, self.create_rng, ms, seq))
            if name == "lead":  # new leads start unconverted
                lst[obj.idx("IsConverted")] = False
                for f in ("ConvertedDate", "ConvertedAccountId", "ConvertedContactId"):
                    lst[obj.idx(f)] = None
                if lst[obj.idx("Status")] == "Closed - Converted":
                    lst[obj.idx("Status")] = "Open - Not Contacted"
            lst[i_created] = ms
            lst[obj.idx("LastModifiedDate")] = ms
            lst[obj.idx("SystemModstamp")] = ms
            for idx, v in common + extra:
                lst[idx] = v
            self._derive(obj, lst)
            tbl[rid] = tuple(lst)
            ids.append(rid)
        return ids

    def _convert(self, op, lead, tbl, table, stamp, view):
        i_conv = lead.idx("IsConverted")
        i_del = lead.idx("IsDeleted")
        ids = self._select(op, lead, tbl, lambda r: not r[i_del] and not r[i_conv], view)
        contact_s = self.schemas["contact"]
        account_s = self.schemas["account"]
        contacts = table("contact")
        accounts = table("account")
        fixed_account = op.get("account_id")
        if fixed_account is not None:
            fixed_account = data.normalize_id(fixed_account)
            if fixed_account not in accounts:
                raise BadControl("no Account with id %r" % op.get("account_id"))
        new_contacts, new_accounts = [], []
        for rid in ids:
            lst = list(tbl[rid])
            g = lambda f: lst[lead.idx(f)]  # noqa: E731
            ms = stamp()
            acc_id = fixed_account
            if acc_id is None:
                seq = self.next_seq["account"]
                self.next_seq["account"] = seq + 1
                acc_id = data.make_id("001", self.id_base + seq)
                acc = list(self.gen.account_row(acc_id, self.create_rng, ms, seq,
                                                name=g("Company")))
                acc[account_s.idx("CreatedDate")] = ms
                acc[account_s.idx("LastModifiedDate")] = ms
                acc[account_s.idx("OwnerId")] = g("OwnerId")
                accounts[acc_id] = tuple(acc)
                new_accounts.append(acc_id)
            seq = self.next_seq["contact"]
            self.next_seq["contact"] = seq + 1
            con_id = data.make_id("003", self.id_base + seq)
            con = list(self.gen.contact_row(con_id, self.create_rng, ms, seq))
            for cf, lf in (("FirstName", "FirstName"), ("LastName", "LastName"),
                           ("Name", "Name"), ("Email", "Email"), ("Phone", "Phone"),
                           ("MobilePhone", "MobilePhone"), ("Title", "Title"),
                           ("MailingStreet", "Street"), ("MailingCity", "City"),
                           ("MailingState", "State"), ("MailingPostalCode", "PostalCode"),
                           ("MailingCountry", "Country"), ("LeadSource", "LeadSource"),
                           ("Description", "Description"), ("OwnerId", "OwnerId"),
                           ("DoNotCall", "DoNotCall"),
                           ("HasOptedOutOfEmail", "HasOptedOutOfEmail")):
                con[contact_s.idx(cf)] = g(lf)
            con[contact_s.idx("AccountId")] = acc_id
            for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
                con[contact_s.idx(f)] = ms
            contacts[con_id] = tuple(con)
            new_contacts.append(con_id)
            lst[i_conv] = True
            lst[lead.idx("ConvertedDate")] = data.date_of_ms(ms)
            lst[lead.idx("ConvertedContactId")] = con_id
            lst[lead.idx("ConvertedAccountId")] = acc_id
            lst[lead.idx("Status")] = "Closed - Converted"
            lst[lead.idx("SystemModstamp")] = ms
            lst[lead.idx("LastModifiedDate")] = ms
            tbl[rid] = tuple(lst)
        return {"op": "convert", "ids": ids, "contacts": new_contacts, "accounts": new_accounts}

    # -- ground truth --
    def truth(self, name, include_deleted):
        obj = self.schemas.get((name or "").lower())
        if obj is None:
            raise BadControl("unknown object %r" % (name,))
        view = self.view()
        tbl = view[obj.name.lower()]
        i_del = obj.idx("IsDeleted") if obj.field("IsDeleted") else None
        rels = []
        for f in obj.fields:
            if f.relationship_name:
                target = self.schemas[f.reference_to[0].lower()]
                if target.field("Name"):
                    rels.append((f.relationship_name + ".Name", f.index, view[target.name.lower()],
                                 target.idx("Name")))
        out = []
        for rec in tbl.values():
            if i_del is not None and rec[i_del] and not include_deleted:
                continue
            row = {}
            for f in obj.fields:
                row[f.name] = json_value(f, rec[f.index])
            for key, ref, ttbl, nidx in rels:
                parent = ttbl.get(rec[ref]) if rec[ref] else None
                row[key] = parent[nidx] if parent else None
            out.append(row)
        return {"object": obj.name, "count": len(out), "records": out}


def json_value(field, v):
    if v is None:
        return None
    if field.type == "datetime":
        return data.fmt_datetime(v)
    return v


def convert_value(f, v):
    """JSON value from a control request -> stored representation of field f."""
    if v is None:
        if not f.nillable:
            raise BadControl("field %s cannot be null" % f.name)
        return None
    t = f.type
    try:
        if t == "boolean":
            if not isinstance(v, bool):
                raise ValueError
            return v
        if t == "datetime":
            return data.parse_datetime(v) if isinstance(v, str) else int(v)
        if t == "date":
            return data.parse_date(v)
        if t in ("double", "currency", "percent"):
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError
            return float(v)
        if t == "int":
            if isinstance(v, bool) or not isinstance(v, int):
                raise ValueError
            return v
        if t in ("id", "reference"):
            rid = data.normalize_id(v)
            if rid is None:
                raise ValueError
            return rid
        if not isinstance(v, str):
            raise ValueError
        if f.length and len(v) > f.length:
            raise BadControl("value for %s is %d characters, limit %d (STRING_TOO_LONG)"
                             % (f.name, len(v), f.length))
        return v
    except (ValueError, TypeError, IndexError):
        raise BadControl("bad value %r for field %s of type %s" % (v, f.name, t)) from None


# ---- OAuth ----------------------------------------------------------------

class Auth:
    """Token endpoint state: the connected app, refresh tokens, access tokens."""

    def __init__(self, client_id, client_secret, refresh_token, ttl, rotate, org_id=ORG_ID):
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {refresh_token}
        # refresh tokens of this org that stopped working (rotated away, revoked):
        # a request with one still counts against this org
        self.retired = set()
        self.ttl = ttl
        self.rotate = rotate
        self.org_id = org_id
        self.access = {}  # token -> monotonic expiry
        self.lock = threading.Lock()

    def knows(self, rt):
        with self.lock:
            return rt in self.refresh_tokens or rt in self.retired

    def grant(self, form, basic, base_url, user_id):
        """Returns (status, body dict)."""
        def err(status, code, desc):
            return status, {"error": code, "error_description": desc}
        gt = form.get("grant_type")
        cid = form.get("client_id")
        secret = form.get("client_secret")
        if basic:
            cid, secret = basic
        if gt not in ("refresh_token", "client_credentials"):
            return err(400, "unsupported_grant_type", "grant type not supported")
        if cid != self.client_id:
            return err(400, "invalid_client_id", "client identifier invalid")
        if secret is None and gt == "refresh_token":
            return err(400, "invalid_client", "client secret required")
        if secret is None or not hmac.compare_digest(secret.encode(), self.client_secret.encode()):
            return err(400, "invalid_client", "invalid client credentials")
        with self.lock:
            new_refresh = None
            if gt == "refresh_token":
                rt = form.get("refresh_token")
                if not rt or rt not in self.refresh_tokens:
                    return err(400, "invalid_grant", "expired access/refresh token")
                if self.rotate:
                    # refresh token rotation: the answer carries a new refresh
                    # token and the one just used stops working
                    self.refresh_tokens.discard(rt)
                    self.retired.add(rt)
                    new_refresh = "5Aep861" + secrets.token_urlsafe(40)
                    self.refresh_tokens.add(new_refresh)
            token = self.org_id[:15] + "!" + secrets.token_urlsafe(60).replace("-", ".")
            self.access[token] = time.monotonic() + self.ttl
            if len(self.access) > 10000:
                now = time.monotonic()
                self.access = {t: e for t, e in self.access.items() if e > now}
        issued = str(int(time.time() * 1000))
        ident = "%s/id/%s/%s" % (base_url, self.org_id, user_id)
        sig = base64.b64encode(hmac.new(self.client_secret.encode(), (ident + issued).encode(),
                                        hashlib.sha256).digest()).decode()
        body = {"access_token": token}
        if new_refresh:
            body["refresh_token"] = new_refresh
        body.update({"signature": sig,
                     "scope": "api refresh_token" if gt == "refresh_token" else "api",
                     "instance_url": base_url, "id": ident, "token_type": "Bearer",
                     "issued_at": issued})
        return 200, body

    def valid(self, header):
        if not header:
            return False
        parts = header.split(None, 1)
        if len(parts) != 2 or parts[0].lower() not in ("bearer", "oauth"):
            return False
        with self.lock:
            exp = self.access.get(parts[1].strip())
            return exp is not None and exp > time.monotonic()

    def expire_all(self):
        with self.lock:
            self.access.clear()

    def revoke_refresh(self):
        with self.lock:
            self.retired.update(self.refresh_tokens)
            self.refresh_tokens.clear()

    def counts(self):
        with self.lock:
            now = time.monotonic()
            return {"live_access_tokens": sum(1 for e in self.access.values() if e > now),
                    "refresh_tokens": len(self.refresh_tokens), "rotate": self.rotate}


# ---- faults, limits, stats, locators --------------------------------------

FAULT_MATCHES = ("query", "queryAll", "next", "token", "describe", "collections", "any")
FAULT_KINDS = ("status", "reset", "truncate", "nonjson", "slow", "expire_token",
               "revoke_refresh", "limit_exceeded", "lose_locator", "mutate")
SIDE_EFFECT_KINDS = ("slow", "expire_token", "revoke_refresh", "limit_exceeded", "lose_locator", "mutate")


class Fault:
    def __init__(self, spec):
        if not isinstance(spec, dict):
            raise BadControl("each fault must be an object")
        self.match = spec.get("match", "any")
        self.kind = spec.get("kind")
        if self.match not in FAULT_MATCHES:
            raise BadControl("fault match must be one of %s" % ", ".join(FAULT_MATCHES))
        if self.kind not in FAULT_KINDS:
            raise BadControl("fault kind must be one of %s" % ", ".join(FAULT_KINDS))
        self.after = spec.get("after", 0)
        self.times = spec.get("times", 1)
        self.status = spec.get("status", 503)
        self.body = spec.get("body")
        self.retry_after = spec.get("retry_after")
        self.delay = spec.get("delay", 5)
        # only requests of this HTTP method (collections: POST create, PATCH update/upsert, DELETE)
        self.method = spec.get("method")
        if self.method is not None and self.method not in ("GET", "POST", "PATCH", "DELETE"):
            raise BadControl("fault method must be GET, POST, PATCH or DELETE")
        # the request is carried out first, then its answer is lost (reset,
        # truncate) or replaced (status, nonjson): a write that committed
        # although the client never learned it
        self.commit = bool(spec.get("commit", False))
        # fire on every Nth matching request only (after `after`), e.g. every third queryMore
        self.every = spec.get("every", 1)
        # only queries of this object (FROM <object> in q): streams read in parallel
        self.object = spec.get("object")
        # only requests to this org (its name; token requests: the org of the refresh token)
        self.org = spec.get("org")
        if self.org is not None and not isinstance(self.org, str):
            raise BadControl("fault org must be an org name")
        if self.object is not None and (not isinstance(self.object, str) or
                                        not re.fullmatch(r"\w+", self.object)):
            raise BadControl("fault object must be an object name")
        for name in ("after", "times", "status", "every"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                raise BadControl("fault %s must be an integer" % name)
        if self.every < 1:
            raise BadControl("fault every must be at least 1")
        if self.kind == "lose_locator" and self.match != "next":
            raise BadControl("fault kind lose_locator needs match \"next\"")
        if not isinstance(self.delay, (int, float)) or self.delay < 0:
            raise BadControl("fault delay must be a non-negative number")
        # mutate: these /__stub/mutate operations are applied just before the
        # request is carried out (a user's edit landing between a client's
        # read and its write)
        self.ops = spec.get("ops")
        if self.kind == "mutate" and not (isinstance(self.ops, list) and self.ops):
            raise BadControl("fault kind mutate needs \"ops\", a non-empty list of mutate operations")
        self.seen = 0
        self.fired = 0

    def describe(self):
        return {"match": self.match, "object": self.object, "org": self.org, "kind": self.kind,
                "method": self.method, "commit": self.commit,
                "after": self.after,
                "times": self.times, "every": self.every, "status": self.status, "seen": self.seen,
                "fired": self.fired}


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.items = []

    def replace(self, specs):
        items = [Fault(s) for s in specs]
        with self.lock:
            self.items = items

    def fire(self, kind, soql=None, org=None, method=None):
        """Advance every matching fault's counter; return those that fire now."""
        out = []
        with self.lock:
            for f in self.items:
                if f.match != "any" and f.match != kind:
                    continue
                if f.method is not None and f.method != method:
                    continue
                if f.org is not None and f.org != org:
                    continue
                if f.object is not None and not (
                        soql and re.search(r"\bFROM\s+%s\b" % f.object, soql, re.I)):
                    continue
                f.seen += 1
                if f.seen > f.after and (f.seen - f.after) % f.every == 0 and \
                        (f.times < 0 or f.fired < f.times):
                    f.fired += 1
                    out.append(f)
        return out


class Limits:
    def __init__(self, daily):
        self.max = daily
        self.used = 0
        self.lock = threading.Lock()

    def take(self):
        """Count one API call; False when the daily limit is already reached."""
        with self.lock:
            if self.used >= self.max:
                return False
            self.used += 1
            return True

    def header(self):
        return "api-usage=%d/%d" % (self.used, self.max)


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.token_calls = 0
        self.api_calls = 0
        self.by_kind = collections.Counter()
        self.faults_fired = 0
        self.records_served = 0

    def note(self, kind):
        with self.lock:
            self.by_kind[kind] += 1
            if kind == "token":
                self.token_calls += 1
            else:
                self.api_calls += 1


class Locator:
    __slots__ = ("rows", "writer", "batch", "version", "used")

    def __init__(self, rows, writer, batch, version):
        self.rows = rows
        self.writer = writer
        self.batch = batch
        self.version = version
        self.used = time.monotonic()


class Locators:
    """Open query cursors; the oldest are dropped past MAX_LOCATORS or when idle."""

    def __init__(self):
        self.lock = threading.Lock()
        self.items = collections.OrderedDict()
        self.counter = secrets.randbelow(10 ** 6)

    def add(self, loc):
        with self.lock:
            self.counter += 1
            lid = data.make_id("01g", self.counter)
            now = time.monotonic()
            for key in [k for k, v in self.items.items() if now - v.used > LOCATOR_IDLE_S]:
                del self.items[key]
            while len(self.items) >= MAX_LOCATORS:
                self.items.popitem(last=False)
            self.items[lid] = loc
            return lid

    def drop(self, lid):
        with self.lock:
            self.items.pop(lid, None)

    def get(self, lid):
        with self.lock:
            loc = self.items.get(lid)
            if loc is not None:
                loc.used = time.monotonic()
                self.items.move_to_end(lid)
            return loc


class RenderCache:
    """The JSON text of records already served, reused while nothing it shows changed.

    Salesforce renders query results on its own machines; the stand-in shares
    the engine's cores in tests and benchmarks, so it renders each record once
    per select list and keeps the text.  An entry is valid while the record is
    the same tuple (a mutation replaces the tuple) and the tables that
    relationship fields read from are the same dicts (a mutation replaces the
    dict), so a cached record is byte for byte what a fresh rendering gives."""

    def __init__(self, enabled=True):
        self.enabled = enabled
        self.lock = threading.Lock()
        self.slots = {}   # (object, select paths, version) -> (parent tables, {Id: (rec, text)})

    def writer(self, plan, view, version):
        render = plan.serializer(view, version)
        if not self.enabled:
            return render
        targets = sorted({target for p in plan.paths for _, target, _ in p.hops})
        deps = tuple(view[t] for t in targets)
        key = (plan.obj.name, tuple(tuple(p.out_names) for p in plan.paths), version)
        with self.lock:
            slot = self.slots.get(key)
            # the same select list reads the same parent tables: compare them pairwise
            if slot is None or any(a is not b for a, b in zip(slot[0], deps)):
                slot = (deps, {})
                self.slots[key] = slot
        memo = slot[1]

        def cached(rec):
            hit = memo.get(rec[0])
            if hit is not None and hit[0] is rec:
                return hit[1]
            text = RenderedRecord(render(rec), rec[0])
            memo[rec[0]] = (rec, text)   # one dict store: atomic under the GIL
            return text
        return cached


class RenderedRecord:
    """A record's JSON text, kept as UTF-8: a page of cached records is one
    join of these bytes (page_body), not a join and an encode of text.  `cut`
    marks about one record in 64, by its Id, as the end of a run of records
    that PageBody.gzip compresses as one piece."""

    __slots__ = ("raw", "cut")

    def __init__(self, text, rid):
        self.raw = text.encode()
        self.cut = (zlib.crc32(rid.encode()) & 63) == 0


def page_body(head, records, tail):
    """The bytes of a result page: head, the records separated by commas, tail;
    a PageBody when the records come from the RenderCache."""
    if records and isinstance(records[0], RenderedRecord):
        return PageBody(head, records, tail)
    return (head + ",".join(records) + tail).encode()


def deflate_piece(raw):
    """raw as a self-contained piece of a deflate stream: it refers to no
    earlier data and ends on a byte boundary without the final-block bit, so
    such pieces concatenate into one valid stream (RFC 1951, section 3.2.3)."""
    co = zlib.compressobj(1, zlib.DEFLATED, -15)
    return co.compress(raw) + co.flush(zlib.Z_FULL_FLUSH)


GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"   # RFC 1952: no name, no mtime
DEFLATE_END = b"\x03\x00"                                        # an empty final block
COMMA_DEFLATED = deflate_piece(b",")


class PageBody:
    """A result page of cached records.  Its gzip form is made of compressed
    runs of records that earlier pages had too (PageCache): runs end at records
    chosen by their Id, not by their place in a page, so a page whose records
    moved by some places (a change re-sorts the changed records to the end)
    still finds most of its runs.  Salesforce compresses its pages on its own
    machines, not on the cores the engine and the database share in a
    benchmark; only the page's head (totalSize, locator) and the runs at its
    edges are compressed anew."""

    __slots__ = ("head", "records", "tail", "raw")

    def __init__(self, head, records, tail):
        self.head, self.records, self.tail = head.encode(), records, tail.encode()
        parts = [self.head]
        for n, rec in enumerate(records):
            if n:
                parts.append(b",")
            parts.append(rec.raw)
        parts.append(self.tail)
        self.raw = b"".join(parts)

    def gzip(self, cache):
        parts = [GZIP_HEADER, deflate_piece(self.head)]
        recs, start = self.records, 0
        for i, rec in enumerate(recs):
            if rec.cut or i == len(recs) - 1:
                if start:
                    parts.append(COMMA_DEFLATED)
                parts.append(cache.block(recs[start:i + 1]))
                start = i + 1
        parts += [deflate_piece(self.tail), DEFLATE_END,
                  struct.pack("<II", zlib.crc32(self.raw) & 0xffffffff, len(self.raw) & 0xffffffff)]
        return b"".join(parts)


class PageCache:
    """Compressed runs of records, keyed by the run's first record and length,
    valid while every record of the run is the same RenderedRecord object (a
    changed record is rendered into a new one)."""

    MAX = 1 << 16

    def __init__(self):
        self.lock = threading.Lock()
        self.blocks = {}
        self.hits = self.misses = 0

    def block(self, records):
        key = (id(records[0]), len(records))
        hit = self.blocks.get(key)
        if hit is not None and all(a is b for a, b in zip(hit[0], records)):
            self.hits += 1
            return hit[1]
        self.misses += 1
        packed = deflate_piece(b",".join([r.raw for r in records]))
        with self.lock:
            if len(self.blocks) >= self.MAX:
                self.blocks.pop(next(iter(self.blocks)))
            self.blocks[key] = (tuple(records), packed)
        return packed


# ---- orgs -----------------------------------------------------------------

ORG_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
ORG_PATH_RE = re.compile(r"^/org/([0-9A-Za-z]{18})(/.*)?$")
# ids of org number n start at n * ORG_ID_STRIDE: unique across the stand-in's orgs
ORG_ID_STRIDE = 10_000_000


class Org:
    """One Salesforce org: its records, users, connected-app grants, access and
    refresh tokens, daily API limit, counters and query cursors.  The default
    org (number 0) answers at the server's root; another at /org/ORGID (its
    18-character org id), which is the instance_url its token responses name:
    like a real instance URL it shows no name, which may be a refresh token."""

    def __init__(self, name, number, *, seed, accounts, contacts, leads, same_modstamp=0,
                 client_id, client_secret, refresh_token, ttl, rotate, daily_limit,
                 schemas, clock, render_cache=True):
        self.name = name
        self.number = number
        self.org_id = ORG_ID if number == 0 else data.make_id("00D", number)
        self.prefix = "" if number == 0 else "/org/" + self.org_id
        self.store = Store(seed, accounts, contacts, leads, same_modstamp, schemas, clock,
                           number * ORG_ID_STRIDE)
        self.auth = Auth(client_id, client_secret, refresh_token, ttl, rotate, self.org_id)
        self.limits = Limits(daily_limit)
        self.stats = Stats()
        self.locators = Locators()
        self.render_cache = RenderCache(render_cache)

    def summary(self, base_url):
        """Counters and settings, never a token."""
        with self.stats.lock:
            out = {"name": self.name, "org_id": self.org_id,
                   "instance_url": base_url + self.prefix,
                   "token_calls": self.stats.token_calls, "api_calls": self.stats.api_calls,
                   "queries": self.stats.by_kind["query"] + self.stats.by_kind["queryAll"],
                   "by_kind": dict(self.stats.by_kind),
                   "records_served": self.stats.records_served}
        out["api_usage"] = self.limits.used
        out["daily_limit"] = self.limits.max
        out.update(self.auth.counts())
        with self.store.lock:
            out["records"] = {k: len(v) for k, v in self.store.tables.items() if k != "user"}
        return out


def org_seed(name, base_seed):
    """The data seed of a named org: the same name gives the same data."""
    return "%s/%s" % (base_seed, name)


# ---- the application ------------------------------------------------------

def _season(v):
    season = ("Winter", "Spring", "Summer")[(v - 59) % 3]
    return "%s '%02d" % (season, 24 + (v - 59) // 3)


class App:
    def __init__(self, args):
        self.args = args
        self.schemas = data.build_schemas(custom_fields=args.custom_fields)
        self.clock = Clock()
        default = Org("default", 0, seed=args.seed, accounts=args.accounts,
                      contacts=args.contacts, leads=args.leads,
                      same_modstamp=args.same_modstamp, client_id=args.client_id,
                      client_secret=args.client_secret, refresh_token=args.refresh_token,
                      ttl=args.token_ttl, rotate=args.rotate_refresh,
                      daily_limit=args.daily_limit, schemas=self.schemas, clock=self.clock,
                      render_cache=not args.no_render_cache)
        # name -> Org, replaced (never changed in place) when an org is added, so
        # that request threads can look orgs up without a lock
        self.orgs = {"default": default}
        self.orgs_by_id = {default.org_id: default}
        self.orgs_lock = threading.Lock()
        self.default = default
        # the default org under its old names: the single-org control API
        self.store, self.auth, self.limits = default.store, default.auth, default.limits
        self.stats, self.locators = default.stats, default.locators
        self.faults = Faults()
        self.page_cache = PageCache()
        width = max(4, len(str(args.orgs)))
        for i in range(1, args.orgs + 1):
            name = "%s%0*d" % (args.org_prefix, width, i)
            self.add_org({"name": name, "refresh_token": name, "records": args.org_records,
                          "api_limit": args.org_daily_limit, "rotate": args.org_rotate})
        self.base_url = None
        self.describe_cache = {}
        self.log_file = open(args.log, "a", encoding="utf-8", buffering=1) if args.log else None
        self.log_lock = threading.Lock()

    def log(self, line):
        if self.log_file:
            with self.log_lock:
                self.log_file.write(line + "\n")

    # -- orgs --
    def add_org(self, spec):
        """Creates an org from {"refresh_token", ["name",] ["records" | "contacts",
        "leads", "accounts",] ["api_limit",] ["rotate",] ["token_ttl",] ["seed"]}."""
        if not isinstance(spec, dict):
            raise BadControl("org body must be an object")
        rt = spec.get("refresh_token")
        if not isinstance(rt, str) or not rt:
            raise BadControl("an org needs \"refresh_token\" (a non-empty string)")
        name = spec.get("name", rt)
        if not isinstance(name, str) or not ORG_NAME_RE.match(name):
            raise BadControl("org name must be 1-64 characters of A-Z a-z 0-9 _ . - "
                             "(give \"name\" when the refresh token is not like that)")

        def count(key, dflt):
            v = spec.get(key, dflt)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise BadControl("org %s must be a non-negative integer" % key)
            return v
        records = count("records", 40)
        contacts = count("contacts", records // 2)
        leads = count("leads", records - records // 2)
        accounts = count("accounts", max(1, records // 10))
        limit = count("api_limit", self.args.daily_limit)
        ttl = spec.get("token_ttl", self.args.token_ttl)
        if not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0:
            raise BadControl("org token_ttl must be a positive number of seconds")
        seed = spec.get("seed", org_seed(name, self.args.seed))
        with self.orgs_lock:
            if name in self.orgs:
                raise BadControl("org %s exists already" % name)
            if any(o.auth.knows(rt) for o in self.orgs.values()):
                raise BadControl("refresh token of org %s belongs to another org" % name)
            org = Org(name, len(self.orgs), seed=seed, accounts=accounts, contacts=contacts,
                      leads=leads, client_id=spec.get("client_id", self.args.client_id),
                      client_secret=spec.get("client_secret", self.args.client_secret),
                      refresh_token=rt, ttl=ttl, rotate=bool(spec.get("rotate")),
                      daily_limit=limit, schemas=self.schemas, clock=self.clock,
                      render_cache=not self.args.no_render_cache)
            orgs = dict(self.orgs)
            orgs[name] = org
            by_id = dict(self.orgs_by_id)
            by_id[org.org_id] = org
            self.orgs, self.orgs_by_id = orgs, by_id
        return org

    def org_named(self, name):
        """The org of a control request's ?org=NAME (the default org without one)."""
        if name is None or name == "":
            return self.default
        org = self.orgs.get(name)
        if org is None:
            raise BadControl("no org %r" % (name,))
        return org

    def org_for_token_request(self, body):
        """The org a token request addresses: the one whose refresh token it
        carries (current or retired), else the default org."""
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return self.default
        rt = (form.get("refresh_token") or [None])[0]
        if rt:
            for org in self.orgs.values():
                if org.auth.knows(rt):
                    return org
        return self.default

    # -- classification (for faults and stats) --
    @staticmethod
    def classify(path):
        if path.rstrip("/") == "/services/oauth2/token":
            return "token"
        m = VERSION_RE.match(path)
        if not m:
            return "other"
        rest = (m.group(2) or "/").rstrip("/")
        if rest in ("/query", "/queryAll"):
            return rest[1:]
        if LOCATOR_RE.match(rest):
            return "next"
        if rest.startswith("/sobjects") and (rest.count("/") <= 2 or rest.endswith("/describe")):
            return "describe"
        if rest == "/composite/sobjects" or rest.startswith("/composite/sobjects/"):
            return "collections"
        return "other"

    # -- Salesforce endpoints --
    def api(self, org, method, path, query, headers, body):
        """Returns (status, extra headers, payload bytes, content type)."""
        if path.rstrip("/") == "/services/oauth2/token":
            return self.token(org, method, headers, body)
        if path.rstrip("/") == "/services/data":
            versions = [{"label": _season(v), "url": "/services/data/v%d.0" % v,
                         "version": "%d.0" % v} for v in range(31, 63)]
            return 200, [], dumps(versions).encode(), JSON_TYPE
        m = VERSION_RE.match(path)
        if not m:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        version = m.group(1)
        rest = (m.group(2) or "/").rstrip("/")
        if not org.auth.valid(headers.get("Authorization")):
            raise ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid",
                           [("WWW-Authenticate", "Token")])
        if not org.limits.take():
            raise ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
        if rest == "/composite/sobjects" or rest.startswith("/composite/sobjects/"):
            return self.collections(org, method, rest, query, body)
        if method != "GET":
            raise ApiError(405, "METHOD_NOT_ALLOWED",
                           "HTTP Method '%s' not allowed. Allowed are GET,HEAD" % method)
        if rest in ("/query", "/queryAll"):
            return self.query(org, version, query, headers, rest == "/queryAll")
        lm = LOCATOR_RE.match(rest)
        if lm:
            return self.next_page(org, lm.group(2), int(lm.group(3)))
        if rest == "":
            base = "/services/data/v" + version
            res = {k: base + "/" + k for k in ("sobjects", "query", "queryAll", "limits")}
            return 200, [], dumps(res).encode(), JSON_TYPE
        if rest == "/limits":
            res = {"DailyApiRequests": {"Max": org.limits.max,
                                        "Remaining": max(0, org.limits.max - org.limits.used)}}
            return 200, [], dumps(res).encode(), JSON_TYPE
        parts = rest.split("/")[1:]
        if parts and parts[0] == "sobjects":
            return self.sobjects(org, version, parts[1:], query)
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def collections(self, org, method, rest, query, body):
        """sObject Collections (writes.py): create, update, upsert, delete."""
        w = writes.Writer(org.store)
        parts = rest.split("/")[3:]  # after /composite/sobjects
        try:
            if not parts and method == "POST":
                res = w.create(body)
            elif not parts and method == "PATCH":
                res = w.update(body)
            elif not parts and method == "DELETE":
                res = w.delete(query)
            elif len(parts) == 2 and method == "PATCH":
                res = w.upsert(parts[0], parts[1], body)
            else:
                raise ApiError(405, "METHOD_NOT_ALLOWED",
                               "HTTP Method '%s' not allowed. Allowed are POST,PATCH,DELETE" % method)
        except writes.RequestError as e:
            raise ApiError(e.status, e.code, e.message) from None
        return 200, [], dumps(res).encode(), JSON_TYPE

    def token(self, org, method, headers, body):
        if method != "POST":
            return 400, [], dumps({"error": "invalid_request",
                                   "error_description": "must use HTTP POST"}).encode(), JSON_TYPE
        try:
            form = {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True)
                    .items()}
        except UnicodeDecodeError:
            form = {}
        basic = None
        ah = headers.get("Authorization") or ""
        if ah.lower().startswith("basic "):
            try:
                cid, _, sec = base64.b64decode(ah[6:].strip()).decode().partition(":")
                basic = (cid, sec)
            except ValueError:
                basic = ("", "")
        users = org.store.tables["user"]
        status, res = org.auth.grant(form, basic, self.base_url + org.prefix, next(iter(users)))
        return status, [], dumps(res).encode(), JSON_TYPE

    def sobjects(self, org, version, parts, query=None):
        schemas = org.store.schemas
        if not parts:
            res = {"encoding": "UTF-8", "maxBatchSize": 200,
                   "sobjects": [self._object_summary(o, version) for o in schemas.values()]}
            return 200, [], dumps(res).encode(), JSON_TYPE
        obj = schemas.get(parts[0].lower()) if parts[0] == parts[0].strip() else None
        if obj is None:
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        if len(parts) == 1:
            res = {"objectDescribe": self._object_summary(obj, version), "recentItems": []}
            return 200, [], dumps(res).encode(), JSON_TYPE
        if len(parts) == 2 and parts[1] == "describe":
            return 200, [], self._describe(obj, version), JSON_TYPE
        if len(parts) == 2 and parts[1] == "deleted":
            return self.get_deleted(org, obj, query or {})
        if len(parts) == 2:
            rid = data.normalize_id(parts[1])
            rec = org.store.view()[obj.name.lower()].get(rid) if rid else None
            if rec is None:
                raise ApiError(404, "NOT_FOUND", "Provided external ID field does not exist or "
                               "is not accessible: " + parts[1])
            if obj.field("IsDeleted") and rec[obj.idx("IsDeleted")]:
                raise ApiError(404, "ENTITY_IS_DELETED", "entity is deleted")
            paths = [soql.Path([], f, [f.name]) for f in obj.fields]
            writer = soql._object_writer(obj, paths, 0, org.store.view(), version, schemas)
            return 200, [], writer(rec).encode(), JSON_TYPE
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")

    def get_deleted(self, org, obj, query):
        """GET .../sobjects/{Object}/deleted/?start=ISO&end=ISO, with Salesforce's limits."""
        if obj.name.lower() in org.store.deleted_refused:
            raise ApiError(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id")
        if not obj.field("IsDeleted"):
            raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
        try:
            start = data.parse_datetime(query["start"])
            end = data.parse_datetime(query["end"])
        except (KeyError, ValueError, TypeError, AttributeError, IndexError):
            raise ApiError(400, "INVALID_REPLICATION_DATE",
                           "start and end must be datetimes such as 2024-05-01T10:00:00Z") from None
        now = org.store.clock.now()
        if end < start + 60000:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "end date must be at least one minute after start date")
        if start < now - 30 * 86400000:
            raise ApiError(400, "INVALID_REPLICATION_DATE", "start date cannot be more than 30 days ago")
        res = org.store.get_deleted(obj, start, end)
        return 200, [], dumps(res).encode(), JSON_TYPE

    @staticmethod
    def _object_summary(obj, version):
        base = "/services/data/v%s/sobjects/%s" % (version, obj.name)
        return {"name": obj.name, "label": obj.label, "labelPlural": obj.label_plural,
                "keyPrefix": obj.key_prefix, "custom": False, "queryable": True,
                "retrieveable": True, "replicateable": True, "searchable": True,
                "createable": obj.name != "User", "updateable": True,
                "deletable": obj.name != "User", "undeletable": obj.name != "User",
                "urls": {"sobject": base, "describe": base + "/describe",
                         "rowTemplate": base + "/{ID}"}}

    def _describe(self, obj, version):
        key = (obj.name, version)
        cached = self.describe_cache.get(key)
        if cached is not None:
            return cached
        soap = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean",
                "datetime": "xsd:dateTime", "date": "xsd:date", "double": "xsd:double",
                "currency": "xsd:double", "percent": "xsd:double", "int": "xsd:int"}
        fields = []
        for f in obj.fields:
            text = f.type not in soap
            fields.append({
                "name": f.name, "type": f.type, "label": f.label, "nillable": f.nillable,
                "length": f.length if text or f.type in ("id", "reference") else 0,
                "byteLength": f.length * 3 if text else (18 if f.type in ("id", "reference")
                                                         else 0),
                "digits": 9 if f.type == "int" else 0,
                "precision": 18 if f.type in ("double", "currency", "percent") else 0,
                "scale": 2 if f.type in ("double", "currency", "percent") else 0,
                "soapType": soap.get(f.type, "xsd:string"),
                "relationshipName": f.relationship_name, "referenceTo": f.reference_to,
                "picklistValues": [{"active": True, "defaultValue": False, "label": v,
                                    "validFor": None, "value": v} for v in f.picklist],
                "filterable": f.filterable, "sortable": f.sortable, "groupable": f.sortable,
                "custom": f.name.endswith("__c"), "calculated": f.name == "Name" and f.type == "string"
                and obj.field("FirstName") is not None,
                "createable": writes.createable(obj, f),
                "updateable": writes.updateable(obj, f),
                "defaultedOnCreate": f.defaulted or f.type == "boolean",
                "restrictedPicklist": f.restricted,
                "idLookup": f.type == "id" or f.type == "email" or f.external_id,
                "unique": f.external_id, "externalId": f.external_id,
                "caseSensitive": False,
            })
        res = self._object_summary(obj, version)
        res.update({"fields": fields, "childRelationships": [], "recordTypeInfos": []})
        out = dumps(res).encode()
        self.describe_cache[key] = out
        return out

    def query(self, org, version, query, headers, include_deleted):
        q = query.get("q")
        if q is None:
            raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
        try:
            plan = soql.compile_query(q, org.store.schemas)
        except soql.SoqlError as e:
            raise ApiError(400, e.code, e.message) from None
        view = org.store.view()
        rows = plan.execute(view, include_deleted)
        if plan.count_only:
            res = '{"totalSize":%d,"done":true,"records":[]}' % len(rows)
            return 200, [], res.encode(), JSON_TYPE
        if plan.count_field is not None:
            res = {"totalSize": 1, "done": True,
                   "records": [{"attributes": {"type": "AggregateResult"},
                                "expr0": plan.count_value(view, rows)}]}
            return 200, [], dumps(res).encode(), JSON_TYPE
        batch = MAX_BATCH
        opts = headers.get("Sforce-Query-Options") or ""
        m = re.search(r"batchSize\s*=\s*(\d+)", opts, re.I)
        if m:
            batch = min(MAX_BATCH, max(MIN_BATCH, int(m.group(1))))
        writer = org.render_cache.writer(plan, view, version)
        loc = Locator(rows, writer, batch, version)
        lid = org.locators.add(loc) if len(rows) > batch else None
        return 200, [], self._page(org, loc, lid, 0), JSON_TYPE

    def next_page(self, org, lid, offset):
        loc = org.locators.get(lid)
        if loc is None or offset > len(loc.rows):
            raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return 200, [], self._page(org, loc, lid, offset), JSON_TYPE

    def _page(self, org, loc, lid, offset):
        total = len(loc.rows)
        page = loc.rows[offset:offset + loc.batch]
        end = offset + len(page)
        writer = loc.writer
        with org.stats.lock:
            org.stats.records_served += len(page)
        if end < total:
            head = '{"totalSize":%d,"done":false,"nextRecordsUrl":"/services/data/v%s/query/%s-%d",' \
                   % (total, loc.version, lid, end)
        else:
            head = '{"totalSize":%d,"done":true,' % total
        return page_body(head + '"records":[', [writer(r) for r in page], "]}")

    # -- control API --
    def control(self, method, path, query, body):
        """Returns (status, payload object)."""
        def payload():
            if not body:
                return None
            try:
                return json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as e:
                raise BadControl("body is not JSON: %s" % e) from None

        route = path[len("/__stub"):].rstrip("/")
        if route == "/stats/reset" and method == "POST" and query.get("org") == "*":
            for o in list(self.orgs.values()):   # every org at once: a benchmark's next cycle
                with o.stats.lock:
                    o.stats.reset()
                with o.limits.lock:
                    o.limits.used = 0
            return 200, {"orgs": len(self.orgs)}
        org = self.org_named(query.get("org"))
        if route == "/health" and method == "GET":
            return 200, {"ok": True, "base_url": self.base_url}
        if route == "/mutate" and method == "POST":
            return 200, org.store.mutate(payload())
        if route == "/truth" and method == "GET":
            return 200, org.store.truth(query.get("object"),
                                         query.get("deleted") in ("1", "true", "yes"))
        if route == "/faults":
            if method == "GET":
                with self.faults.lock:
                    return 200, {"faults": [f.describe() for f in self.faults.items]}
            if method == "DELETE":
                self.faults.replace([])
                return 200, {"faults": []}
            if method == "POST":
                p = payload()
                specs = p.get("faults") if isinstance(p, dict) else None
                if not isinstance(specs, list):
                    raise BadControl("body must be {\"faults\": [...]}")
                self.faults.replace(specs)
                return 200, {"faults": len(specs)}
        if route == "/deleted":
            # getDeleted: {"earliest": ISO} trims the deletion log (older deletions are
            # no longer listed), {"refuse": [objects]} makes the org refuse it (403)
            if method == "POST":
                p = payload() or {}
                if not isinstance(p, dict):
                    raise BadControl("body must be an object")
                with org.store.lock:
                    if "earliest" in p:
                        try:
                            org.store.deleted_earliest = data.parse_datetime(p["earliest"])
                        except (ValueError, TypeError, AttributeError, IndexError):
                            raise BadControl("bad earliest %r" % (p.get("earliest"),)) from None
                    if "refuse" in p:
                        if not isinstance(p["refuse"], list):
                            raise BadControl("\"refuse\" must be a list of object names")
                        org.store.deleted_refused = {str(o).lower() for o in p["refuse"]}
            with org.store.lock:
                return 200, {"earliest": data.fmt_datetime(org.store.deleted_earliest),
                             "refused": sorted(org.store.deleted_refused),
                             "log": {k: len(v) for k, v in org.store.deleted_log.items()}}
        if route == "/stats" and method == "GET":
            return 200, self.stats_json(org)
        if route == "/stats/reset" and method == "POST":
            with org.stats.lock:
                org.stats.reset()
            with org.store.lock:
                org.store.records_written = 0
            with org.limits.lock:
                org.limits.used = 0
            return 200, self.stats_json(org)
        if route == "/clock":
            if method == "POST":
                p = payload() or {}
                if not isinstance(p, dict):
                    raise BadControl("clock body must be an object")
                with self.clock.stamp_lock:
                    if p.get("real"):
                        self.clock.real()
                    if "now" in p:
                        try:
                            ms = data.parse_datetime(p["now"])
                        except (ValueError, TypeError, AttributeError, IndexError):
                            raise BadControl("bad \"now\" %r" % (p["now"],)) from None
                        self.clock.set_now(ms, bool(p.get("freeze")))
                    elif p.get("freeze"):
                        self.clock.freeze()
                    if "advance_ms" in p:
                        if not isinstance(p["advance_ms"], int):
                            raise BadControl("\"advance_ms\" must be an integer")
                        self.clock.advance(p["advance_ms"])
            if method in ("GET", "POST"):
                with self.clock.stamp_lock:
                    return 200, self.clock.state()
        if route == "/limits" and method in ("GET", "POST"):
            p = payload() if method == "POST" else None
            with org.limits.lock:
                if isinstance(p, dict):
                    if isinstance(p.get("max"), int):
                        org.limits.max = p["max"]
                    if isinstance(p.get("used"), int):
                        org.limits.used = p["used"]
                return 200, {"used": org.limits.used, "max": org.limits.max}
        if route == "/auth" and method == "POST":
            p = payload() or {}
            if not isinstance(p, dict):
                raise BadControl("auth body must be an object")
            if p.get("expire_access_tokens"):
                org.auth.expire_all()
            if p.get("revoke_refresh_tokens"):
                org.auth.revoke_refresh()
            if isinstance(p.get("refresh_token"), str):
                with org.auth.lock:
                    org.auth.refresh_tokens.add(p["refresh_token"])
            if isinstance(p.get("token_ttl"), (int, float)):
                org.auth.ttl = p["token_ttl"]
            if isinstance(p.get("rotate"), bool):
                org.auth.rotate = p["rotate"]
            with org.auth.lock:
                now = time.monotonic()
                live = sum(1 for e in org.auth.access.values() if e > now)
                return 200, {"live_access_tokens": live,
                             "refresh_tokens": len(org.auth.refresh_tokens)}
        if route == "/orgs" and method == "POST":
            new = self.add_org(payload())
            return 200, new.summary(self.base_url)
        if route == "/orgs" and method == "GET":
            orgs = list(self.orgs.values())
            if query.get("names") in ("1", "true", "yes"):
                return 200, {"count": len(orgs), "orgs": [o.name for o in orgs]}
            summaries = [o.summary(self.base_url) for o in orgs]
            totals = {k: sum(o[k] for o in summaries)
                      for k in ("token_calls", "api_calls", "queries", "records_served", "api_usage")}
            return 200, {"count": len(orgs), "totals": totals, "orgs": summaries}
        if route.startswith("/orgs/") and method == "GET":
            return 200, self.org_named(route[len("/orgs/"):]).summary(self.base_url)
        return 404, {"error": "no control endpoint %s %s" % (method, path)}

    def stats_json(self, org):
        with org.stats.lock:
            s = {"token_calls": org.stats.token_calls, "api_calls": org.stats.api_calls,
                 "by_kind": dict(org.stats.by_kind), "faults_fired": org.stats.faults_fired,
                 "records_served": org.stats.records_served}
        s["records_written"] = org.store.records_written
        s["api_usage"] = org.limits.used
        s["daily_limit"] = org.limits.max
        with org.locators.lock:
            s["open_locators"] = len(org.locators.items)
        return s


# ---- HTTP plumbing --------------------------------------------------------

FAULT_ERRORS = {
    400: ("INVALID_OPERATION", "The request could not be processed"),
    401: ("INVALID_SESSION_ID", "Session expired or invalid"),
    403: ("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."),
    404: ("NOT_FOUND", "The requested resource does not exist"),
    429: ("REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."),
    500: ("UNKNOWN_EXCEPTION", "An unexpected error occurred. Please include this ErrorId "
                               "if you contact support: 1234567890-12345 (-1234567890)"),
    502: ("SERVER_UNAVAILABLE", "Bad gateway"),
    503: ("SERVER_UNAVAILABLE", "Server is unavailable; please try again later."),
    504: ("SERVER_UNAVAILABLE", "Gateway timeout"),
}
MAINTENANCE_HTML = (b"<!DOCTYPE html>\n<html><head><title>Salesforce - Maintenance</title></head>"
                    b"<body><h1>Down for maintenance</h1><p>This site is temporarily unavailable."
                    b"</p></body></html>\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfstub"
    sys_version = ""
    timeout = 300

    def setup(self):
        BaseHTTPRequestHandler.setup(self)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # the app keeps its own, secret-free log
        pass

    def date_time_string(self, timestamp=None):
        # The Date header comes from the same clock as SystemModstamp, as on
        # Salesforce: clients may use it as the upper bound of what they read.
        if timestamp is None:
            timestamp = self.server.app.store.clock.now() / 1000.0
        return BaseHTTPRequestHandler.date_time_string(self, timestamp)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def read_body(self):
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def dispatch(self, method):
        app = self.server.app
        t0 = time.monotonic()
        split = urlsplit(self.path)
        path = split.path
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        body = self.read_body()
        if path.startswith("/__stub/") or path == "/__stub":
            try:
                status, obj = app.control(method, path, query, body)
            except BadControl as e:
                status, obj = 400, {"error": str(e)}
            self.send(status, [], dumps(obj).encode(), JSON_TYPE, gzip_ok=False)
            app.log("%s %s %d control" % (method, path, status))
            return
        org = app.default
        om = ORG_PATH_RE.match(path)
        if om:
            # another org's instance: /org/ORGID is its instance_url
            org = app.orgs_by_id.get(om.group(1))
            path = om.group(2) or "/"
            if org is None:
                payload = dumps([{"message": "The requested resource does not exist",
                                  "errorCode": "NOT_FOUND"}]).encode()
                self.send(404, [], payload, JSON_TYPE)
                app.log("%s %s 404 (no such org)" % (method, split.path))
                return
        kind = app.classify(path)
        if kind == "token":
            org = app.org_for_token_request(body)
        org.stats.note(kind)
        firing = app.faults.fire(kind, query.get("q"), org.name, method)
        terminal = None
        for f in firing:
            with org.stats.lock:
                org.stats.faults_fired += 1
            if f.kind == "slow":
                time.sleep(f.delay)
            elif f.kind == "expire_token":
                org.auth.expire_all()
            elif f.kind == "revoke_refresh":
                org.auth.revoke_refresh()
            elif f.kind == "limit_exceeded":
                with org.limits.lock:
                    org.limits.used = org.limits.max
            elif f.kind == "mutate":
                try:
                    org.store.mutate(f.ops)
                except BadControl as e:
                    app.log("fault mutate refused: %s" % e)
            elif f.kind == "lose_locator":
                # the org dropped this cursor (eviction, idle expiry): the request
                # itself then gets 400 INVALID_QUERY_LOCATOR
                vm = VERSION_RE.match(path)
                lm = LOCATOR_RE.match((vm.group(2) or "").rstrip("/")) if vm else None
                if lm:
                    org.locators.drop(lm.group(2))
            elif terminal is None:
                terminal = f
        logpath = split.path if kind == "token" else self.path
        if terminal is not None and terminal.commit:
            # the request takes effect; the client never learns it
            try:
                app.api(org, method, path, query, self.headers, body)
            except ApiError:
                pass
        if terminal is not None and terminal.kind == "reset":
            app.log("%s %s reset (fault)" % (method, logpath))
            self.abort(rst=True)
            return
        extra = []
        if terminal is not None and terminal.kind == "status":
            status, extra, payload, ctype = self.fault_response(terminal, kind)
        elif terminal is not None and terminal.kind == "nonjson":
            status, payload, ctype = 200, MAINTENANCE_HTML, "text/html;charset=UTF-8"
        else:
            try:
                status, extra, payload, ctype = app.api(org, method, path, query, self.headers,
                                                        body)
            except ApiError as e:
                status, extra, ctype = e.status, e.headers, JSON_TYPE
                payload = dumps([{"message": e.message, "errorCode": e.code}]).encode()
            except Exception:  # a bug in the stand-in must still answer like a server
                traceback.print_exc()
                status, ctype = 500, JSON_TYPE
                payload = dumps([{"message": "stand-in internal error",
                                  "errorCode": "UNKNOWN_EXCEPTION"}]).encode()
        if kind != "token" and path.startswith("/services/data/"):
            extra = list(extra) + [("Sforce-Limit-Info", org.limits.header())]
        truncate = terminal is not None and terminal.kind == "truncate"
        sent = self.send(status, extra, payload, ctype, truncate=truncate)
        app.log("%s %s %d %d %.1fms%s" % (method, logpath, status, sent,
                                          (time.monotonic() - t0) * 1000,
                                          " (fault %s)" % terminal.kind if terminal else ""))

    def fault_response(self, fault, kind):
        extra = []
        if fault.retry_after is not None:
            extra.append(("Retry-After", str(fault.retry_after)))
        if fault.body is not None:
            body = fault.body if isinstance(fault.body, str) else dumps(fault.body)
            return fault.status, extra, body.encode(), JSON_TYPE
        if kind == "token":
            if fault.status >= 500:
                obj = {"error": "unknown_error", "error_description": "retry your request"}
            else:
                obj = {"error": "invalid_request", "error_description": "bad request"}
            return fault.status, extra, dumps(obj).encode(), JSON_TYPE
        code, msg = FAULT_ERRORS.get(fault.status, ("UNKNOWN_EXCEPTION", "HTTP %d" % fault.status))
        if fault.status == 401:
            extra.append(("WWW-Authenticate", "Token"))
        return fault.status, extra, dumps([{"message": msg, "errorCode": code}]).encode(), JSON_TYPE

    def send(self, status, extra, payload, ctype, gzip_ok=True, truncate=False):
        headers = [("Content-Type", ctype)]
        accept = self.headers.get("Accept-Encoding") or ""
        page = payload if isinstance(payload, PageBody) else None
        if page is not None:
            payload = page.raw
        if gzip_ok and "gzip" in accept.lower() and payload:
            payload = page.gzip(self.server.app.page_cache) if page is not None \
                else gzip.compress(payload, compresslevel=1)
            headers.append(("Content-Encoding", "gzip"))
        headers.append(("Content-Length", str(len(payload))))
        self.send_response(status)
        for k, v in headers + list(extra):
            self.send_header(k, v)
        # Headers and body in one write: avoids a Nagle/delayed-ACK stall per request.
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(payload[:len(payload) // 2] if truncate else payload)
        self.flush_headers()
        if truncate:
            self.abort(rst=False)
            return len(payload) // 2
        return len(payload)

    def abort(self, rst):
        """Close the connection now; with rst, as a TCP reset (no FIN).

        The descriptor is detached from the socket object and closed directly:
        the handler's file objects still hold the socket, which would otherwise
        delay the close until after the handler returns."""
        self.close_connection = True
        try:
            if rst:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        os.close(self.connection.detach())


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, OSError)):
            return  # clients hanging up mid-request are normal in fault tests
        ThreadingHTTPServer.handle_error(self, request, client_address)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="Salesforce REST API stand-in (loopback only).")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port, 0 = any free one (default)")
    p.add_argument("--port-file", help="write the bound port here once listening")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--contacts", type=int, default=1000)
    p.add_argument("--leads", type=int, default=1000)
    p.add_argument("--accounts", type=int, default=100)
    p.add_argument("--same-modstamp", type=int, default=0, metavar="K",
                   help="K contacts (and K leads) share one SystemModstamp")
    p.add_argument("--client-id", default="test-client-id")
    p.add_argument("--client-secret", default="test-client-secret")
    p.add_argument("--refresh-token", default="test-refresh-token")
    p.add_argument("--token-ttl", type=float, default=7200.0, metavar="SECONDS")
    p.add_argument("--rotate-refresh", action="store_true",
                   help="issue a new refresh token on every refresh; the old one stops working")
    p.add_argument("--daily-limit", type=int, default=15000)
    p.add_argument("--orgs", type=int, default=0, metavar="N",
                   help="also create N more orgs at start, each with refresh token and name "
                        "PREFIX0001... (see --org-prefix), at instance_url BASE/org/ORGID")
    p.add_argument("--org-records", type=int, default=40, metavar="N",
                   help="records of each of those orgs: N/2 contacts, the rest leads, N/10 "
                        "accounts (default 40)")
    p.add_argument("--org-prefix", default="org-", help="name prefix of those orgs (default org-)")
    p.add_argument("--org-daily-limit", type=int, default=15000, metavar="N",
                   help="API request limit of each of those orgs (default 15000)")
    p.add_argument("--org-rotate", action="store_true",
                   help="those orgs rotate their refresh token on every refresh")
    p.add_argument("--log", help="append one line per request here (never tokens)")
    p.add_argument("--custom-fields", action="store_true",
                   help="Contact carries custom fields of every kind (multipicklist, "
                        "percent, double, date, datetime, boolean, short text)")
    p.add_argument("--no-render-cache", action="store_true",
                   help="render every record of every page anew (default: keep each "
                        "record's JSON text until the record changes)")
    args = p.parse_args(argv)
    if not ORG_NAME_RE.match(args.org_prefix + "1"):
        p.error("--org-prefix must be made of A-Z a-z 0-9 _ . -")
    for name in ("contacts", "leads", "accounts", "same_modstamp", "orgs", "org_records",
                 "org_daily_limit"):
        if getattr(args, name) < 0:
            p.error("--%s must not be negative" % name.replace("_", "-"))
    return args


def main(argv=None):
    args = parse_args(argv)
    t0 = time.monotonic()
    app = App(args)
    server = Server((args.host, args.port), Handler)
    server.app = app
    host, port = server.server_address[:2]
    app.base_url = "http://%s:%d" % (host if ":" not in host else "[%s]" % host, port)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        write_port_file(args.port_file, port)
    sys.stderr.write("sfstub: listening on %s (%d contacts, %d leads, %d accounts; "
                     "%d more orgs; ready in %.1fs)\n" % (app.base_url, args.contacts, args.leads,
                                                         args.accounts, args.orgs,
                                                         time.monotonic() - t0))
    sys.stderr.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        if app.log_file:
            app.log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
