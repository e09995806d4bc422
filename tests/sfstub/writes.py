"""sObject Collections for the Salesforce stand-in: create, update, upsert by
external id and delete of up to 200 records a call, with Salesforce's request
and result shapes.

  POST   /services/data/vXX.X/composite/sobjects                    create
  PATCH  /services/data/vXX.X/composite/sobjects                    update (each record has Id)
  PATCH  /services/data/vXX.X/composite/sobjects/{Object}/{ExtId}   upsert by external id
  DELETE /services/data/vXX.X/composite/sobjects?ids=a,b&allOrNone= delete

A well-formed request answers 200 with one result per record, in request order:
{"id", "success", "errors": [{"statusCode", "message", "fields"}]} (upsert
results also carry "created").  With allOrNone false the records that pass
commit and the others fail alone; with allOrNone true one failure rolls all of
them back (ALL_OR_NONE_OPERATION_ROLLED_BACK).  A request that is not well
formed (not JSON, more than 200 records, an unknown field, a value of the wrong
JSON type, an upsert field that is not an external id) answers 400 with
[{"message", "errorCode"}] and changes nothing.

Checks per record, as Salesforce makes them: fields that are not createable
(insert) or updateable (update) -> INVALID_FIELD_FOR_INSERT_UPDATE; required
fields missing or set to null -> REQUIRED_FIELD_MISSING; text longer than the
field -> STRING_TOO_LONG; a malformed e-mail -> INVALID_EMAIL_ADDRESS; a value
not in a restricted picklist -> INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST; a
reference that is not an id of the referenced object -> MALFORMED_ID, or not a
live record -> INVALID_CROSS_REFERENCE_KEY; an external id value another
record has -> DUPLICATE_VALUE; writing a record in the recycle bin ->
ENTITY_IS_DELETED.

Every write stamps SystemModstamp and LastModifiedDate (and CreatedDate on
insert) with the stub clock, one distinct millisecond per record, so the
source reads the records back like any other change.
"""

import json
import re

import data

MAX_RECORDS = 200
READ_ONLY = ("Id", "IsDeleted", "CreatedDate", "LastModifiedDate", "SystemModstamp")
EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


class RequestError(Exception):
    """The whole request is refused: HTTP status, errorCode, message."""

    def __init__(self, status, code, message):
        Exception.__init__(self, message)
        self.status = status
        self.code = code
        self.message = message


class RecordError(Exception):
    def __init__(self, code, message, fields=()):
        Exception.__init__(self, message)
        self.code = code
        self.message = message
        self.fields = list(fields)

    def as_json(self):
        return {"statusCode": self.code, "message": self.message, "fields": self.fields}


def createable(obj, f):
    """Describe's createable: not a system field, not a derived person Name."""
    if f.name in READ_ONLY:
        return False
    if f.name == "Name" and obj.field("FirstName") is not None:
        return False
    return True


def updateable(obj, f):
    return createable(obj, f) and not f.create_only


def _label(f):
    return f.label


def _convert(obj, f, v, view):
    """JSON value -> stored value of field f; RequestError for a wrong JSON type
    (Salesforce cannot deserialize it), RecordError for a value the field refuses."""
    if v is None:
        return None
    t = f.type
    bad = RequestError(400, "JSON_PARSER_ERROR",
                       "Cannot deserialize instance of %s from %s value %s for field %s"
                       % (t, type(v).__name__, json.dumps(v)[:60], f.name))
    if t == "boolean":
        if not isinstance(v, bool):
            raise bad
        return v
    if t in ("double", "currency", "percent"):
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise bad
        try:
            return float(v)
        except ValueError:
            raise bad from None
    if t == "int":
        if isinstance(v, bool) or not isinstance(v, (int, str)):
            raise bad
        try:
            return int(v)
        except ValueError:
            raise bad from None
    if not isinstance(v, str):
        raise bad
    if t == "datetime":
        try:
            return data.parse_datetime(v)
        except (ValueError, IndexError):
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                              "%s: value not of required type: %s" % (_label(f), v), [f.name]) from None
    if t == "date":
        try:
            return data.parse_date(v)
        except (ValueError, IndexError):
            raise RecordError("INVALID_TYPE_ON_FIELD_IN_RECORD",
                              "%s: value not of required type: %s" % (_label(f), v), [f.name]) from None
    if t == "reference":
        rid = data.normalize_id(v)
        target = None
        if rid is not None:
            for name in f.reference_to:
                o = data_schema(view, name)
                if o is not None and rid.startswith(o[0].key_prefix):
                    target = o
        if rid is None or target is None:
            raise RecordError("MALFORMED_ID", "%s: id value of incorrect type: %s" % (_label(f), v),
                              [f.name])
        tobj, ttbl = target
        rec = ttbl.get(rid)
        if rec is None or (tobj.field("IsDeleted") and rec[tobj.idx("IsDeleted")]):
            raise RecordError("INVALID_CROSS_REFERENCE_KEY",
                              "invalid cross reference id", [f.name])
        return rid
    if f.length and len(v) > f.length:
        raise RecordError("STRING_TOO_LONG", "%s: data value too large: %s (max length=%d)"
                          % (_label(f), v[:40] + ("..." if len(v) > 40 else ""), f.length), [f.name])
    if t == "email" and v != "" and not EMAIL_RE.match(v):
        raise RecordError("INVALID_EMAIL_ADDRESS", "%s: invalid email address: %s" % (_label(f), v),
                          [f.name])
    if t == "multipicklist" and f.restricted and v != "":
        for part in v.split(";"):
            if part not in f.picklist:
                raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                  "%s: bad value for restricted picklist field: %s" % (_label(f), part),
                                  [f.name])
    if t == "picklist" and f.restricted and v not in f.picklist:
        raise RecordError("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                          "%s: bad value for restricted picklist field: %s" % (_label(f), v), [f.name])
    return v


def data_schema(view, name):
    """(schema, table) of an object by name, from the writer's view."""
    s = view.schemas.get(name.lower())
    if s is None:
        return None
    return s, view.table(s.name.lower())


class View:
    """The tables one request reads and writes: copy-on-write per object."""

    def __init__(self, store):
        self.store = store
        self.schemas = store.schemas
        self.work = {}
        self.indexes = {}

    def ext_index(self, obj, f):
        """{lower-case value: set of Ids} of external-id field f over live records,
        built once per request and kept current by note_ext (a call of 200
        upserts must not scan a large table 200 times)."""
        key = (obj.name.lower(), f.index)
        idx = self.indexes.get(key)
        if idx is None:
            idx = {}
            i_del = obj.idx("IsDeleted") if obj.field("IsDeleted") else None
            for rid, rec in self.table(obj.name.lower()).items():
                v = rec[f.index]
                if isinstance(v, str) and (i_del is None or not rec[i_del]):
                    idx.setdefault(v.lower(), set()).add(rid)
            self.indexes[key] = idx
        return idx

    def note_ext(self, obj, old, new):
        """Keeps the built indexes of obj current after a record changed (old or new may be None)."""
        for (name, fi), idx in self.indexes.items():
            if name != obj.name.lower():
                continue
            if old is not None and isinstance(old[fi], str):
                idx.get(old[fi].lower(), set()).discard(old[0])
            if new is not None and isinstance(new[fi], str) and \
                    not (obj.field("IsDeleted") and new[obj.idx("IsDeleted")]):
                idx.setdefault(new[fi].lower(), set()).add(new[0])

    def table(self, name):
        if name not in self.work:
            return self.store.tables[name]
        return self.work[name]

    def writable(self, name):
        if name not in self.work:
            self.work[name] = dict(self.store.tables[name])
        return self.work[name]


class Writer:
    def __init__(self, store):
        self.store = store

    # -- entry points; each returns the result list (raises RequestError) --
    def create(self, body):
        records, all_or_none = self._records(body)
        return self._run(records, all_or_none, self._create_one)

    def update(self, body):
        records, all_or_none = self._records(body)
        return self._run(records, all_or_none, self._update_one)

    def upsert(self, obj_name, ext_name, body):
        obj = self.store.schemas.get(obj_name.lower())
        if obj is None:
            raise RequestError(404, "NOT_FOUND", "The requested resource does not exist")
        ext = obj.field(ext_name)
        if ext is None or not (ext.external_id or ext.name == "Id"):
            raise RequestError(400, "INVALID_FIELD",
                               "Field name provided, %s is not an External ID or indexed field for %s"
                               % (ext_name, obj.name))
        if ext.name == "Id":
            raise RequestError(400, "INVALID_FIELD", "Only external ids are supported, not Id")
        records, all_or_none = self._records(body)
        for r in records:
            t = (r.get("attributes") or {}).get("type") if isinstance(r, dict) else None
            if t is not None and t.lower() != obj.name.lower():
                raise RequestError(400, "INVALID_TYPE",
                                   "Record type %s does not match the object %s of the request"
                                   % (t, obj.name))
        # the same external id twice in one call: each of them fails
        seen = {}
        for r in records:
            v = r.get(ext.name) if isinstance(r, dict) else None
            if v is None:
                for k in r:
                    if k.lower() == ext.name.lower():
                        v = r[k]
            if isinstance(v, str):
                seen[v.lower()] = seen.get(v.lower(), 0) + 1
        return self._run(records, all_or_none,
                         lambda view, r, ms: self._upsert_one(view, r, ms, obj, ext, seen))

    def delete(self, query):
        ids = [i for i in (query.get("ids") or "").split(",") if i != ""]
        all_or_none = (query.get("allOrNone") or "false").lower() == "true"
        if not ids:
            raise RequestError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > MAX_RECORDS:
            raise RequestError(400, "EXCEEDED_ID_LIMIT",
                               "record limit reached. cannot submit more than 200 records into this call")
        return self._run([{"Id": i} for i in ids], all_or_none, self._delete_one)

    # -- the common frame --
    @staticmethod
    def _records(body):
        try:
            req = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError) as e:
            raise RequestError(400, "JSON_PARSER_ERROR", "The request body is not JSON: %s" % e) from None
        if not isinstance(req, dict) or not isinstance(req.get("records"), list):
            raise RequestError(400, "JSON_PARSER_ERROR",
                               "The request body must be {\"allOrNone\": ..., \"records\": [...]}")
        records = req["records"]
        if len(records) > MAX_RECORDS:
            raise RequestError(400, "EXCEEDED_ID_LIMIT",
                               "record limit reached. cannot submit more than 200 records into this call")
        if not records:
            raise RequestError(400, "MISSING_ARGUMENT", "records: no records")
        for r in records:
            if not isinstance(r, dict):
                raise RequestError(400, "JSON_PARSER_ERROR", "each record must be a JSON object")
        return records, bool(req.get("allOrNone"))

    def _run(self, records, all_or_none, one):
        store = self.store
        with store.lock:
            view = View(store)
            results, log = [], []
            for r in records:
                try:
                    res = one(view, r, store.clock.stamp)
                    results.append(res)
                    log.extend(res.pop("_log", []))
                except RecordError as e:
                    res = {"success": False, "errors": [e.as_json()]}
                    if r.get("Id") and one == self._delete_one:
                        res["id"] = r["Id"]
                    else:
                        res["id"] = None
                    results.append(res)
            if all_or_none and any(not r["success"] for r in results):
                for r in results:
                    if r["success"]:
                        r.update({"id": None, "success": False, "errors": [{
                            "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                            "message": "Record rolled back because not all records were valid and the "
                                       "request was using AllOrNone header", "fields": []}]})
                        r.pop("created", None)
                return results
            store.tables.update(view.work)
            for name, rid, ms in log:
                store.deleted_log.setdefault(name, {}).setdefault(rid, ms)
            store.records_written += sum(1 for r in results if r["success"])
        return results

    # -- one record --
    def _fields(self, view, obj, r, creating):
        """[(index, value)] of the record's fields, checked."""
        out = []
        for key, v in r.items():
            if key == "attributes":
                continue
            f = obj.field(key)
            if f is None:
                raise RequestError(400, "INVALID_FIELD",
                                   "No such column '%s' on sobject of type %s" % (key, obj.name))
            if f.name == "Id":
                continue
            if not (createable(obj, f) if creating else updateable(obj, f)):
                raise RecordError("INVALID_FIELD_FOR_INSERT_UPDATE",
                                  "Unable to %s fields: %s. Please check the security settings of this "
                                  "field and verify that it is read/write for your profile or permission "
                                  "set." % ("create" if creating else "update", f.name), [f.name])
            out.append((f, _convert(obj, f, v, view)))
        # conversion errors of the wrong JSON type came first (the whole request);
        # now the per-record checks, in field order
        return out

    @staticmethod
    def _type(r, dflt=None):
        a = r.get("attributes")
        t = a.get("type") if isinstance(a, dict) else None
        return t or dflt

    def _object(self, r, dflt=None):
        t = self._type(r, dflt)
        if t is None:
            raise RecordError("INVALID_TYPE", "sObject type must be specified in attributes", [])
        obj = self.store.schemas.get(t.lower())
        if obj is None or obj.name == "User":
            raise RecordError("INVALID_TYPE", "sObject type '%s' is not supported." % t, [])
        return obj

    def _check_required(self, obj, lst):
        missing = [f.name for f in obj.fields
                   if not f.nillable and f.type != "boolean" and createable(obj, f)
                   and not f.defaulted and lst[f.index] is None]
        if missing:
            raise RecordError("REQUIRED_FIELD_MISSING",
                              "Required fields are missing: [%s]" % ", ".join(missing), missing)

    def _check_unique(self, view, obj, lst, own_id):
        for f in obj.fields:
            v = lst[f.index]
            if f.external_id and v is not None:
                for rid in sorted(view.ext_index(obj, f).get(v.lower(), ())):
                    if rid != own_id:
                        raise RecordError("DUPLICATE_VALUE", "duplicate value found: %s duplicates value "
                                          "on record with id: %s" % (f.name, rid), [f.name])

    @staticmethod
    def _check_member(view, obj, lst):
        """A campaign member is a Contact or a Lead, at most once per campaign."""
        i_camp, i_con, i_lead = obj.idx("CampaignId"), obj.idx("ContactId"), obj.idx("LeadId")
        if lst[i_con] is None and lst[i_lead] is None:
            raise RecordError("REQUIRED_FIELD_MISSING", "Required fields are missing: [ContactId, LeadId]",
                              ["ContactId", "LeadId"])
        i_del = obj.idx("IsDeleted")
        for rec in view.table("campaignmember").values():
            if rec[i_del] or rec[i_camp] != lst[i_camp]:
                continue
            if (lst[i_con] is not None and rec[i_con] == lst[i_con]) or \
                    (lst[i_lead] is not None and rec[i_lead] == lst[i_lead]):
                raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", [])

    def _derive(self, obj, lst):
        if obj.field("FirstName") is not None and obj.field("Name") is not None:
            first, last = lst[obj.idx("FirstName")], lst[obj.idx("LastName")]
            lst[obj.idx("Name")] = last if not first else "%s %s" % (first, last)

    def _insert(self, view, obj, fields, stamp):
        name = obj.name.lower()
        lst = [None] * len(obj.fields)
        for f in obj.fields:
            if f.type == "boolean":
                lst[f.index] = False
        if obj.field("OwnerId") is not None:
            lst[obj.idx("OwnerId")] = next(iter(view.table("user")))
        for f, v in fields:
            lst[f.index] = v
        for f in obj.fields:
            if f.default is not None and lst[f.index] is None:
                lst[f.index] = f.default
        self._check_required(obj, lst)
        self._check_unique(view, obj, lst, None)
        if obj.name == "CampaignMember":
            self._check_member(view, obj, lst)
        store = self.store
        seq = store.next_seq[name]
        store.next_seq[name] = seq + 1
        rid = data.make_id(obj.key_prefix, store.id_base + seq)
        lst[0] = rid
        ms = stamp()
        for f in ("CreatedDate", "LastModifiedDate", "SystemModstamp"):
            lst[obj.idx(f)] = ms
        self._derive(obj, lst)
        view.writable(name)[rid] = tuple(lst)
        view.note_ext(obj, None, view.table(name)[rid])
        return rid

    def _live(self, view, obj, rid):
        rec = view.table(obj.name.lower()).get(rid)
        if rec is None:
            raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [])
        if obj.field("IsDeleted") and rec[obj.idx("IsDeleted")]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        return rec

    def _modify(self, view, obj, rec, fields, stamp):
        lst = list(rec)
        for f, v in fields:
            lst[f.index] = v
        self._check_required(obj, lst)
        self._check_unique(view, obj, lst, rec[0])
        self._derive(obj, lst)
        ms = stamp()
        lst[obj.idx("LastModifiedDate")] = ms
        lst[obj.idx("SystemModstamp")] = ms
        view.writable(obj.name.lower())[rec[0]] = tuple(lst)
        view.note_ext(obj, rec, view.table(obj.name.lower())[rec[0]])

    def _object_of_id(self, rid):
        for obj in self.store.schemas.values():
            if rid.startswith(obj.key_prefix) and obj.name != "User":
                return obj
        return None

    def _create_one(self, view, r, stamp):
        obj = self._object(r)
        for k in r:
            if k.lower() == "id":
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        fields = self._fields(view, obj, r, True)
        return {"id": self._insert(view, obj, fields, stamp), "success": True, "errors": []}

    def _update_one(self, view, r, stamp):
        raw = None
        for k in r:
            if k.lower() == "id":
                raw = r[k]
        if raw is None:
            raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
        rid = data.normalize_id(raw)
        obj = self._object_of_id(rid) if rid else None
        if obj is None or (self._type(r) and self._type(r).lower() != obj.name.lower()):
            raise RecordError("MALFORMED_ID", "malformed id %s" % raw, ["Id"])
        fields = self._fields(view, obj, r, False)
        rec = self._live(view, obj, rid)
        self._modify(view, obj, rec, fields, stamp)
        return {"id": rid, "success": True, "errors": []}

    def _upsert_one(self, view, r, stamp, obj, ext, seen):
        value = None
        for k in r:
            if k.lower() == ext.name.lower():
                value = r[k]
        if value is None or value == "":
            raise RecordError("MISSING_ARGUMENT", "%s not specified" % ext.name, [ext.name])
        if not isinstance(value, str):
            value = json.dumps(value)
        if seen.get(value.lower(), 0) > 1:
            raise RecordError("DUPLICATE_VALUE", "Duplicate external id specified: %s" % value,
                              [ext.name])
        for k in r:
            if k.lower() == "id":
                raise RecordError("INVALID_FIELD", "Only external ids are supported in an upsert, "
                                  "not Id", ["Id"])
        tbl = view.table(obj.name.lower())
        matches = [tbl[rid] for rid in sorted(view.ext_index(obj, ext).get(value.lower(), ()))]
        if len(matches) > 1:
            raise RecordError("DUPLICATE_EXTERNAL_ID", "%s: more than one record found for external "
                              "id field: %s" % (ext.name, [m[0] for m in matches]), [ext.name])
        if matches:
            fields = self._fields(view, obj, r, False)
            self._modify(view, obj, matches[0], fields, stamp)
            return {"id": matches[0][0], "success": True, "errors": [], "created": False}
        fields = self._fields(view, obj, r, True)
        rid = self._insert(view, obj, fields, stamp)
        return {"id": rid, "success": True, "errors": [], "created": True}

    def _delete_one(self, view, r, stamp):
        raw = r["Id"]
        rid = data.normalize_id(raw)
        obj = self._object_of_id(rid) if rid else None
        if obj is None:
            raise RecordError("MALFORMED_ID", "malformed id %s" % raw, [])
        rec = self._live(view, obj, rid)
        if not obj.field("IsDeleted"):
            raise RecordError("CANNOT_DELETE", "records of %s cannot be deleted" % obj.name, [])
        lst = list(rec)
        lst[obj.idx("IsDeleted")] = True
        ms = stamp()
        lst[obj.idx("LastModifiedDate")] = ms
        lst[obj.idx("SystemModstamp")] = ms
        view.writable(obj.name.lower())[rid] = tuple(lst)
        view.note_ext(obj, rec, view.table(obj.name.lower())[rid])
        return {"id": rid, "success": True, "errors": [], "_log": [(obj.name.lower(), rid, ms)]}
