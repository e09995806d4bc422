"""Self-test of the Salesforce stand-in: run with `python3 -m unittest` in this
directory (or `python3 tests/sfstub/test_sfstub.py`).

The integration tests of syncengine trust this server to behave like
Salesforce, so its own behaviour is pinned here: OAuth grants and rotation,
query paging that covers every record exactly once, snapshot semantics of
query locators under concurrent mutation, query versus queryAll, the SOQL
rules (escapes, datetimes to the millisecond, AND/OR mixing, ORDER BY with
several keys), every fault kind, the API limit header and 403, and gzip.
"""

import gzip
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import data  # noqa: E402
import sfstub  # noqa: E402
import soql  # noqa: E402
import writes  # noqa: E402

CONTACT_Q = ("SELECT Id, FirstName, LastName, Email, Account.Name, SystemModstamp, DoNotCall "
             "FROM Contact")


class StubProcess:
    """The stand-in as the integration tests run it: a separate process."""

    def __init__(self, *args):
        self.dir = tempfile.TemporaryDirectory()
        self.port_file = os.path.join(self.dir.name, "port")
        self.log = os.path.join(self.dir.name, "log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "sfstub.py"), "--port", "0",
             "--port-file", self.port_file, "--log", self.log] + list(args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("stand-in did not start: %s" % self.proc.stderr.read())
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.conn = None

    def stop(self):
        if self.conn is not None:
            self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(10)
        out, err = self.proc.communicate()
        self.dir.cleanup()
        return rc, err.decode()

    def request(self, method, path, body=None, headers=None, fresh=False):
        """(status, headers dict lower-case, body bytes) over a kept-alive connection."""
        if fresh or self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
            hdrs.setdefault("Content-Type", "application/json")
        try:
            self.conn.request(method, path, body=body, headers=hdrs)
            r = self.conn.getresponse()
            payload = r.read()
        except Exception:
            self.conn.close()
            self.conn = None
            raise
        return r.status, {k.lower(): v for k, v in r.getheaders()}, payload

    def control(self, method, path, body=None):
        status, _, payload = self.request(method, "/__stub/" + path, body)
        return status, json.loads(payload)

    def token(self, **form):
        fields = {"grant_type": "refresh_token", "client_id": "test-client-id",
                  "client_secret": "test-client-secret", "refresh_token": "test-refresh-token"}
        fields.update(form)
        fields = {k: v for k, v in fields.items() if v is not None}
        status, _, payload = self.request(
            "POST", "/services/oauth2/token", urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded"})
        return status, json.loads(payload)

    def api(self, path, token, headers=None, fresh=False):
        hdrs = {"Authorization": "Bearer " + token}
        hdrs.update(headers or {})
        return self.request("GET", path, headers=hdrs, fresh=fresh)

    def query(self, soql_text, token, all_rows=False, batch=None):
        path = "/services/data/v61.0/%s?q=%s" % ("queryAll" if all_rows else "query",
                                                 urllib.parse.quote(soql_text))
        headers = {"Sforce-Query-Options": "batchSize=%d" % batch} if batch else None
        status, hdrs, payload = self.api(path, token, headers)
        return status, hdrs, json.loads(payload)

    def query_all_pages(self, soql_text, token, all_rows=False, batch=None):
        status, _, page = self.query(soql_text, token, all_rows, batch)
        assert status == 200, page
        pages = [page]
        while not pages[-1]["done"]:
            status, _, payload = self.api(pages[-1]["nextRecordsUrl"], token)
            assert status == 200, payload
            pages.append(json.loads(payload))
        return pages


# ---- SOQL, in process ------------------------------------------------------

class SoqlTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.store = sfstub.Store(7, 20, 300, 300, 0)
        cls.schemas = cls.store.schemas

    def run_q(self, text, include_deleted=False):
        plan = soql.compile_query(text, self.schemas)
        view = self.store.view()
        return plan, plan.execute(view, include_deleted)

    def err(self, text):
        with self.assertRaises(soql.SoqlError) as cm:
            self.run_q(text)
        return cm.exception

    def contacts(self):
        return list(self.store.view()["contact"].values())

    def test_string_escapes(self):
        toks = soql.tokenize(r"'O\'Brien \"x\" a\\b \n\t\r\b\f \_ \%'")
        self.assertEqual(toks[0].value, "O'Brien \"x\" a\\b \n\t\r\b\f _ %")
        like = soql.tokenize(r"'a\_b%'")[0]
        self.assertEqual(like.wild, [False, False, False, True])
        self.assertEqual(self.err(r"SELECT Id FROM Contact WHERE LastName = 'a\qb'").code,
                         "MALFORMED_QUERY")
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE LastName = 'open").code,
                         "MALFORMED_QUERY")

    def test_escaped_quote_matches_data(self):
        _, rows = self.run_q(r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien'")
        expected = [r[0] for r in self.contacts() if r[3] == "O'Brien" and not r[1]]
        self.assertTrue(expected)
        self.assertEqual([r[0] for r in rows], expected)

    def test_datetime_literals_are_exact_to_the_millisecond(self):
        recs = self.contacts()
        i_mod = self.schemas["contact"].idx("SystemModstamp")
        target = sorted(recs, key=lambda r: r[i_mod])[150]
        stamp = data.fmt_datetime(target[i_mod])          # 2023-..T..:..:..mmm+0000
        iso_ms = stamp[:23] + "Z"
        _, rows = self.run_q("SELECT Id FROM Contact WHERE SystemModstamp = %s" % iso_ms)
        self.assertEqual([r[0] for r in rows], [target[0]])
        _, rows = self.run_q("SELECT Id FROM Contact WHERE SystemModstamp > %s" % iso_ms)
        self.assertEqual(len(rows), sum(1 for r in recs if r[i_mod] > target[i_mod]))
        self.assertNotIn(target[0], [r[0] for r in rows])
        # Whole seconds: the record's own millisecond part decides.
        whole = stamp[:19] + "Z"
        _, rows = self.run_q("SELECT Id FROM Contact WHERE SystemModstamp > %s" % whole)
        self.assertEqual(target[0] in [r[0] for r in rows], target[i_mod] % 1000 > 0)
        # A +02:00 offset is the same instant two hours earlier in UTC.
        ms = target[i_mod]
        local = data.fmt_datetime(ms + 2 * 3600 * 1000)[:23] + "+02:00"
        _, rows = self.run_q("SELECT Id FROM Contact WHERE SystemModstamp = %s" % local)
        self.assertEqual([r[0] for r in rows], [target[0]])
        self.assertEqual(data.parse_datetime("2024-05-01T10:00:00Z"), 1714557600000)
        self.assertEqual(data.parse_datetime("2024-05-01T10:00:00.5Z"), 1714557600500)
        self.assertEqual(data.parse_datetime("2024-05-01T12:00:00.000+02:00"), 1714557600000)
        self.assertEqual(data.parse_datetime("2024-05-01T10:00:00-0130"), 1714563000000)

    def test_quoted_datetime_and_bad_literals_are_rejected(self):
        e = self.err("SELECT Id FROM Contact WHERE SystemModstamp > '2024-05-01T10:00:00Z'")
        self.assertEqual(e.code, "INVALID_FIELD")
        self.assertIn("SystemModstamp", e.message)
        self.assertIn("dateTime", e.message)
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE SystemModstamp > "
                                  "2024-05-01T10:00:00").code, "MALFORMED_QUERY")
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE DoNotCall = 'true'").code,
                         "INVALID_FIELD")
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE Email = 5").code,
                         "INVALID_FIELD")
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE AccountId = 'nope'").code,
                         "INVALID_QUERY_FILTER_OPERATOR")
        self.assertEqual(self.err("SELECT Id FROM Contact WHERE Description = 'x'").code,
                         "INVALID_FIELD")

    def test_unknown_field_object_relationship(self):
        e = self.err("SELECT Id, Foo FROM Contact")
        self.assertEqual(e.code, "INVALID_FIELD")
        self.assertIn("No such column 'Foo' on entity 'Contact'", e.message)
        e = self.err("SELECT Id FROM Contact WHERE Bar = 1")
        self.assertIn("No such column 'Bar' on entity 'Contact'", e.message)
        e = self.err("SELECT Account.Nope FROM Contact")
        self.assertIn("No such column 'Nope' on entity 'Account'", e.message)
        self.assertEqual(self.err("SELECT Foo.Name FROM Contact").code, "INVALID_FIELD")
        self.assertEqual(self.err("SELECT Id FROM Contactz").code, "INVALID_TYPE")
        self.assertEqual(self.err("SELECT Id, Id FROM Contact").code, "DUPLICATE_FIELD")

    def test_keywords_and_fields_are_case_insensitive(self):
        plan, rows = self.run_q("select id, lastname, account.name from CONTACT where "
                                "lastname != null order by LASTNAME desc limit 3")
        self.assertEqual(len(rows), 3)
        self.assertEqual([p.out_names for p in plan.paths],
                         [["Id"], ["LastName"], ["Account", "Name"]])

    def test_and_or_need_parentheses_to_mix(self):
        e = self.err("SELECT Id FROM Contact WHERE DoNotCall = true AND "
                     "LastName = 'Smith' OR LastName = 'Lee'")
        self.assertEqual(e.code, "MALFORMED_QUERY")
        self.assertIn("unexpected token: OR", e.message)
        recs = [r for r in self.contacts() if not r[1]]
        _, a = self.run_q("SELECT Id FROM Contact WHERE (DoNotCall = true AND "
                          "LastName = 'Smith') OR LastName = 'Lee'")
        self.assertEqual({r[0] for r in a},
                         {r[0] for r in recs if (r[19] and r[3] == "Smith") or r[3] == "Lee"})
        _, b = self.run_q("SELECT Id FROM Contact WHERE DoNotCall = true AND "
                          "(LastName = 'Smith' OR LastName = 'Lee')")
        self.assertEqual({r[0] for r in b},
                         {r[0] for r in recs if r[19] and r[3] in ("Smith", "Lee")})
        _, c = self.run_q("SELECT Id FROM Contact WHERE NOT (LastName = 'Smith' OR "
                          "LastName = 'Lee')")
        self.assertEqual({r[0] for r in c}, {r[0] for r in recs if r[3] not in ("Smith", "Lee")})
        self.assertNotEqual(a, b)

    def test_operators_in_like_null(self):
        recs = [r for r in self.contacts() if not r[1]]
        _, rows = self.run_q("SELECT Id FROM Contact WHERE LastName IN ('smith', 'LEE')")
        self.assertEqual({r[0] for r in rows}, {r[0] for r in recs if r[3] in ("Smith", "Lee")})
        _, rows = self.run_q("SELECT Id FROM Contact WHERE LastName NOT IN ('Smith')")
        self.assertEqual(len(rows), sum(1 for r in recs if r[3] != "Smith"))
        _, rows = self.run_q("SELECT Id FROM Contact WHERE Email LIKE '%@EXAMPLE.org'")
        self.assertEqual({r[0] for r in rows},
                         {r[0] for r in recs if r[13] and r[13].endswith("@example.org")})
        _, rows = self.run_q("SELECT Id FROM Contact WHERE Email = null")
        self.assertEqual({r[0] for r in rows}, {r[0] for r in recs if r[13] is None})
        # SOQL's != also matches null values.
        _, rows = self.run_q("SELECT Id FROM Contact WHERE Title != 'CEO'")
        self.assertEqual(len(rows), sum(1 for r in recs if r[14] != "CEO"))
        self.assertTrue(any(r[14] is None for r in rows))
        _, rows = self.run_q("SELECT Id FROM Contact WHERE Title <> 'CEO' AND Title != null")
        self.assertFalse(any(r[14] is None for r in rows))
        # On a boolean field, null means false.
        _, rows = self.run_q("SELECT Id FROM Contact WHERE DoNotCall = null")
        self.assertEqual({r[0] for r in rows}, {r[0] for r in recs if not r[19]})
        _, rows = self.run_q("SELECT Id FROM Contact WHERE DoNotCall != null")
        self.assertEqual({r[0] for r in rows}, {r[0] for r in recs if r[19]})

    def test_order_by_several_keys_and_nulls(self):
        _, rows = self.run_q("SELECT Id FROM Contact ORDER BY Title DESC NULLS LAST, "
                             "LastName ASC, Id DESC")
        titles = [r[14] for r in rows]
        nn = [t for t in titles if t is not None]
        self.assertEqual(titles[len(nn):], [None] * (len(titles) - len(nn)))
        self.assertEqual(nn, sorted(nn, key=str.lower, reverse=True))
        for a, b in zip(rows, rows[1:]):
            if a[14] == b[14]:
                self.assertLessEqual(a[3].lower(), b[3].lower())
                if a[3].lower() == b[3].lower():
                    self.assertGreater(a[0], b[0])
        _, rows = self.run_q("SELECT Id FROM Contact ORDER BY Title ASC")  # nulls first
        self.assertIsNone(rows[0][14])

    def test_limit_offset_count(self):
        _, all_rows = self.run_q("SELECT Id FROM Contact ORDER BY Id")
        _, rows = self.run_q("SELECT Id FROM Contact ORDER BY Id LIMIT 5 OFFSET 10")
        self.assertEqual(rows, all_rows[10:15])
        plan, rows = self.run_q("SELECT COUNT() FROM Contact")
        self.assertTrue(plan.count_only)
        self.assertEqual(len(rows), 300)
        self.assertEqual(self.err("SELECT Id FROM Contact OFFSET 2001").code,
                         "NUMBER_OUTSIDE_VALID_RANGE")

    def test_determinism_and_same_modstamp(self):
        a = sfstub.Store(3, 5, 50, 50, 7)
        b = sfstub.Store(3, 5, 50, 50, 7)
        self.assertEqual(a.tables, b.tables)
        for name in ("contact", "lead"):
            i_mod = a.schemas[name].idx("SystemModstamp")
            stamps = [r[i_mod] for r in a.tables[name].values()]
            counts = {}
            for s in stamps:
                counts[s] = counts.get(s, 0) + 1
            self.assertEqual(sorted(counts.values())[-1], 7)
            self.assertEqual(sorted(counts.values())[-2], 1)
        # Ties on SystemModstamp are broken by Id, in both directions.
        i_mod = a.schemas["contact"].idx("SystemModstamp")
        for direction in ("ASC", "DESC"):
            plan = soql.compile_query("SELECT Id FROM Contact ORDER BY SystemModstamp %s, Id %s"
                                      % (direction, direction), a.schemas)
            rows = plan.execute(a.view(), False)
            self.assertEqual(rows, sorted(a.tables["contact"].values(),
                                          key=lambda r: (r[i_mod], r[0]),
                                          reverse=direction == "DESC"))
        for rid in a.tables["contact"]:
            self.assertRegex(rid, r"^003[0-9A-Za-z]{15}$")
            self.assertEqual(data.id18(rid[:15]), rid)

    def test_serialization_shape(self):
        plan, rows = self.run_q("SELECT Id, LastName, Account.Name, Account.Owner.Name, "
                                "DoNotCall, SystemModstamp, CreatedDate FROM Contact")
        w = plan.serializer(self.store.view(), "61.0")
        objs = [json.loads(w(r)) for r in rows]
        with_acc = [o for o in objs if o["Account"] is not None]
        without = [o for o in objs if o["Account"] is None]
        self.assertTrue(with_acc and without)
        o = with_acc[0]
        self.assertEqual(list(o), ["attributes", "Id", "LastName", "Account", "DoNotCall",
                                   "SystemModstamp", "CreatedDate"])
        self.assertEqual(o["attributes"]["url"], "/services/data/v61.0/sobjects/Contact/" + o["Id"])
        self.assertEqual(list(o["Account"]), ["attributes", "Name", "Owner"])
        self.assertEqual(o["Account"]["attributes"]["type"], "Account")
        self.assertIsInstance(o["Account"]["Owner"]["Name"], str)
        self.assertRegex(o["SystemModstamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
        self.assertIsInstance(o["DoNotCall"], bool)

    def test_render_cache_follows_changes(self):
        # A store of its own: this test mutates records.
        store = sfstub.Store(11, 5, 40, 0, 0)
        cache = sfstub.RenderCache()
        q = soql.compile_query("SELECT Id, LastName, Title, Account.Name, Account.Owner.Name "
                               "FROM Contact", store.schemas)

        def served():
            view = store.view()
            w = cache.writer(q, view, "61.0")
            return [w(r).raw.decode() for r in q.execute(view, False)]

        def fresh():
            view = store.view()
            w = q.serializer(view, "61.0")
            return [w(r) for r in q.execute(view, False)]

        first = served()
        self.assertEqual(first, fresh())
        self.assertEqual(served(), first)          # a second query: every record from the cache
        store.mutate([{"op": "update", "object": "Contact", "count": 3,
                       "set": {"Title": "Changed"}}])
        after_edit = served()
        self.assertEqual(after_edit, fresh())
        self.assertEqual(sum(1 for t in after_edit if '"Title":"Changed"' in t), 3)
        # a parent's change shows in every child, though no child changed
        acc = next(iter(store.tables["account"]))
        store.mutate([{"op": "update", "object": "Account", "ids": [acc],
                       "set": {"Name": "Renamed Account"}}])
        after_parent = served()
        self.assertEqual(after_parent, fresh())
        self.assertNotEqual(after_parent, after_edit)
        # a page of cached records is the same bytes as a page of fresh ones, and
        # its gzip form (runs of records compressed once, head anew) is one valid member
        recs = after_parent[:5] + ['{"Name":"Zoë\\t日本"}']
        pages = sfstub.PageCache()

        def gunzip(gz):
            d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = d.decompress(gz) + d.flush()
            self.assertTrue(d.eof)
            self.assertEqual(d.unused_data, b"")
            self.assertEqual(gzip.decompress(gz), out)
            return out

        for n in (0, 1, len(recs)):
            head = '{"totalSize":%d,"done":true,"records":[' % n
            rendered = [sfstub.RenderedRecord(t, "id%d" % i) for i, t in enumerate(recs[:n])]
            cached_page = sfstub.page_body(head, rendered, "]}")
            raw = cached_page.raw if n else cached_page
            self.assertEqual(raw, sfstub.page_body(head, recs[:n], "]}"))
            self.assertEqual(json.loads(raw)["records"], [json.loads(t) for t in recs[:n]])
            if n:
                self.assertEqual(gunzip(cached_page.gzip(pages)), raw)
                misses, hits = pages.misses, pages.hits
                self.assertEqual(gunzip(cached_page.gzip(pages)), raw)
                self.assertEqual(pages.misses, misses)         # nothing compressed twice
                self.assertGreater(pages.hits, hits)

        # 300 records in runs; the same records moved by one place still find most runs
        many = [sfstub.RenderedRecord('{"Id":"%05d","Name":"n%d"}' % (i, i), "%05d" % i) for i in range(300)]
        self.assertTrue(2 <= sum(r.cut for r in many) < 30)
        page = sfstub.page_body('{"records":[', many[:200], "]}")
        self.assertEqual(gunzip(page.gzip(pages)), page.raw)
        misses = pages.misses
        moved = sfstub.page_body('{"records":[', many[1:201], "]}")
        self.assertEqual(gunzip(moved.gzip(pages)), moved.raw)
        self.assertLessEqual(pages.misses - misses, 2)        # only the runs at the edges are new
        # a changed record (a new object) makes its run anew, and only that one
        changed = many[:50] + [sfstub.RenderedRecord('{"Id":"changed"}', "00050")] + many[51:200]
        misses = pages.misses
        page = sfstub.page_body('{"records":[', changed, "]}")
        self.assertEqual(gunzip(page.gzip(pages)), page.raw)
        self.assertEqual(pages.misses - misses, 1)
        # another API version renders other attribute URLs
        w = cache.writer(q, store.view(), "62.0")
        self.assertIn(b"/v62.0/", w(next(iter(store.tables["contact"].values()))).raw)


# ---- the server --------------------------------------------------------------

# ---- sObject Collections, in process -----------------------------------------

class WriteTests(unittest.TestCase):
    def setUp(self):
        self.store = sfstub.Store(3, 3, 5, 0, 0)
        self.w = writes.Writer(self.store)

    @staticmethod
    def body(records, all_or_none=False):
        return json.dumps({"allOrNone": all_or_none, "records": records}).encode()

    def test_create_partial_and_stamps(self):
        before = self.store.clock.now()
        res = self.w.create(self.body([
            {"attributes": {"type": "Contact"}, "LastName": "Ok", "Email": "ok@example.com"},
            {"attributes": {"type": "Contact"}, "FirstName": "No last name"},
            {"attributes": {"type": "Contact"}, "LastName": "L", "Email": "not an address"},
            {"attributes": {"type": "Contact"}, "LastName": "x" * 81},
            {"attributes": {"type": "Opportunity"}, "Name": "O", "StageName": "Won?",
             "CloseDate": "2024-05-01"},
        ]))
        self.assertTrue(res[0]["success"])
        self.assertEqual([r["errors"][0]["statusCode"] for r in res[1:]],
                         ["REQUIRED_FIELD_MISSING", "INVALID_EMAIL_ADDRESS", "STRING_TOO_LONG",
                          "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"])
        self.assertEqual(res[1]["errors"][0]["fields"], ["LastName"])
        rec = self.store.tables["contact"][res[0]["id"]]
        c = self.store.schemas["contact"]
        self.assertGreaterEqual(rec[c.idx("SystemModstamp")], before)
        self.assertEqual(rec[c.idx("Name")], "Ok")
        self.assertEqual(self.store.records_written, 1)

    def test_upsert_update_delete(self):
        up = lambda recs: self.w.upsert("Contact", "Ext_Id__c", self.body(recs))  # noqa: E731
        r1 = up([{"attributes": {"type": "Contact"}, "LastName": "A", "Ext_Id__c": "row-1"}])
        self.assertTrue(r1[0]["created"])
        r2 = up([{"attributes": {"type": "Contact"}, "LastName": "B", "Ext_Id__c": "ROW-1"}])
        self.assertEqual((r2[0]["id"], r2[0]["created"]), (r1[0]["id"], False))
        dup = up([{"LastName": "C", "Ext_Id__c": "x"}, {"LastName": "D", "Ext_Id__c": "X"}])
        self.assertEqual([r["errors"][0]["statusCode"] for r in dup], ["DUPLICATE_VALUE"] * 2)
        with self.assertRaises(writes.RequestError) as cm:
            self.w.upsert("Contact", "Email", self.body([{"LastName": "E", "Email": "e@example.com"}]))
        self.assertEqual(cm.exception.code, "INVALID_FIELD")
        u = self.w.update(self.body([{"attributes": {"type": "Contact"}, "Id": r1[0]["id"], "Title": "CTO"}]))
        self.assertTrue(u[0]["success"])
        d = self.w.delete({"ids": r1[0]["id"]})
        self.assertTrue(d[0]["success"])
        again = self.w.delete({"ids": r1[0]["id"]})
        self.assertEqual(again[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED")
        u2 = self.w.update(self.body([{"attributes": {"type": "Contact"}, "Id": r1[0]["id"], "Title": "x"}]))
        self.assertEqual(u2[0]["errors"][0]["statusCode"], "ENTITY_IS_DELETED")

    def test_all_or_none_and_limits(self):
        res = self.w.create(self.body([{"attributes": {"type": "Account"}, "Name": "A"},
                                       {"attributes": {"type": "Account"}}], True))
        self.assertEqual(res[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK")
        self.assertEqual(self.store.records_written, 0)
        with self.assertRaises(writes.RequestError) as cm:
            self.w.create(self.body([{"attributes": {"type": "Account"}, "Name": "A"}] * 201))
        self.assertEqual(cm.exception.code, "EXCEEDED_ID_LIMIT")
        with self.assertRaises(writes.RequestError) as cm:
            self.w.create(self.body([{"attributes": {"type": "Account"}, "Nmae": "A"}]))
        self.assertEqual(cm.exception.code, "INVALID_FIELD")

    def test_custom_fields_and_picklists(self):
        store = sfstub.Store(3, 3, 5, 0, 0, schemas=data.build_schemas(custom_fields=True))
        w = writes.Writer(store)
        c = store.schemas["contact"]
        self.assertEqual([f.name for f in c.fields[-9:]], [n for n, _, _ in data.CONTACT_CUSTOM])
        # generated rows are as wide as the schema, custom booleans false
        row = next(iter(store.tables["contact"].values()))
        self.assertEqual(len(row), len(c.fields))
        self.assertIs(row[c.idx("Newsletter__c")], False)
        res = w.create(self.body([
            {"attributes": {"type": "Contact"}, "LastName": "A", "Interests__c": "Events;Offers",
             "Tags__c": "anything", "Discount__c": 12.5},
            {"attributes": {"type": "Contact"}, "LastName": "B", "Interests__c": "Events;Golf"},
            {"attributes": {"type": "Contact"}, "LastName": "C", "Segment__c": "Gold"},
            {"attributes": {"type": "Contact"}, "LastName": "D", "Nickname__c": "n" * 21},
        ]))
        self.assertTrue(res[0]["success"], res[0])
        self.assertEqual([r["errors"][0]["statusCode"] for r in res[1:]],
                         ["INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"] * 2 + ["STRING_TOO_LONG"])
        self.assertEqual(res[1]["errors"][0]["message"],
                         "Interests: bad value for restricted picklist field: Golf")
        # the new objects, described and empty
        for name in ("campaign", "campaignmember", "task"):
            self.assertEqual(store.tables[name], {})
        who = store.schemas["task"].field("WhoId")
        self.assertEqual((who.reference_to, who.relationship_name), (["Contact", "Lead"], "Who"))
        self.assertFalse(store.schemas["campaignmember"].field("Status").restricted)

    def test_campaign_member_task(self):
        self.store = sfstub.Store(3, 3, 5, 2, 0)
        self.w = writes.Writer(self.store)
        camp = self.w.create(self.body([{"attributes": {"type": "Campaign"}, "Name": "Spring"},
                                        {"attributes": {"type": "Campaign"}, "Type": "Email"}]))
        self.assertTrue(camp[0]["success"])
        self.assertTrue(camp[0]["id"].startswith("701"))
        self.assertEqual(camp[1]["errors"][0]["fields"], ["Name"])
        cid = camp[0]["id"]
        con = next(iter(self.store.tables["contact"]))
        lead = next(iter(self.store.tables["lead"]))
        m = lambda **kw: dict({"attributes": {"type": "CampaignMember"}}, **kw)  # noqa: E731
        res = self.w.create(self.body([m(CampaignId=cid, ContactId=con), m(CampaignId=cid, LeadId=lead),
                                       m(CampaignId=cid, ContactId=con), m(CampaignId=cid),
                                       m(ContactId=con), m(CampaignId=cid, ContactId=lead)]))
        self.assertTrue(res[0]["success"] and res[1]["success"])
        self.assertTrue(res[0]["id"].startswith("00v"))
        self.assertEqual([r["errors"][0]["statusCode"] for r in res[2:]],
                         ["DUPLICATE_VALUE", "REQUIRED_FIELD_MISSING", "REQUIRED_FIELD_MISSING",
                          "MALFORMED_ID"])
        cm = self.store.schemas["campaignmember"]
        self.assertEqual(self.store.tables["campaignmember"][res[0]["id"]][cm.idx("Status")], "Sent")
        # CampaignId and ContactId are set on create only
        u = self.w.update(self.body([m(Id=res[0]["id"], ContactId=con)]))
        self.assertEqual(u[0]["errors"][0]["statusCode"], "INVALID_FIELD_FOR_INSERT_UPDATE")
        # deleted, the contact can join again
        self.assertTrue(self.w.delete({"ids": res[0]["id"]})[0]["success"])
        self.assertTrue(self.w.create(self.body([m(CampaignId=cid, ContactId=con)]))[0]["success"])
        up = lambda recs: self.w.upsert("Task", "MarkMail_Event_Id__c", self.body(recs))  # noqa: E731
        t = {"attributes": {"type": "Task"}, "MarkMail_Event_Id__c": "ev-1", "WhoId": lead,
             "WhatId": cid, "Subject": "Email: Hello", "TaskSubtype": "Email", "Status": "Completed"}
        r1 = up([t])
        self.assertTrue(r1[0]["created"])
        # TaskSubtype is createable only: an upsert that finds the task cannot set it
        r2 = up([t])
        self.assertEqual(r2[0]["errors"][0]["statusCode"], "INVALID_FIELD_FOR_INSERT_UPDATE")
        r3 = up([{k: v for k, v in t.items() if k != "TaskSubtype"}])
        self.assertEqual((r3[0]["created"], r3[0]["id"]), (False, r1[0]["id"]))
        # a second create with the same external id names the task that has it
        r4 = self.w.create(self.body([t]))
        self.assertEqual(r4[0]["errors"][0]["statusCode"], "DUPLICATE_VALUE")
        self.assertIn("record with id: " + r1[0]["id"], r4[0]["errors"][0]["message"])
        task = self.store.schemas["task"]
        rec = self.store.tables["task"][r1[0]["id"]]
        self.assertEqual((rec[task.idx("Priority")], rec[task.idx("TaskSubtype")], rec[task.idx("WhoId")]),
                         ("Normal", "Email", lead))
        bad = up([dict(t, MarkMail_Event_Id__c="ev-2", WhoId=cid), dict(t, MarkMail_Event_Id__c="ev-3",
                                                                         Status="Done")])
        self.assertEqual([r["errors"][0]["statusCode"] for r in bad],
                         ["MALFORMED_ID", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"])
        self.assertEqual(len(self.store.tables["task"]), 1)


class ServerTests(unittest.TestCase):
    N_CONTACTS = 2500
    N_LEADS = 700

    @classmethod
    def setUpClass(cls):
        cls.stub = StubProcess("--contacts", str(cls.N_CONTACTS), "--leads", str(cls.N_LEADS),
                               "--accounts", "30", "--same-modstamp", "250", "--seed", "5")

    @classmethod
    def tearDownClass(cls):
        rc, err = cls.stub.stop()
        assert rc == 0, "stand-in exited %d: %s" % (rc, err)
        assert "Traceback" not in err, err
        for secret in ("test-client-secret", "test-refresh-token"):
            assert secret not in err

    def setUp(self):
        self.stub.request("DELETE", "/__stub/faults")
        self.stub.control("POST", "limits", {"used": 0, "max": 15000})
        status, body = self.stub.token()
        self.assertEqual(status, 200, body)
        self.tok = body["access_token"]

    # -- OAuth --
    def test_token_grant_shape(self):
        status, body = self.stub.token()
        self.assertEqual(status, 200)
        for key in ("access_token", "instance_url", "id", "token_type", "issued_at",
                    "signature", "scope"):
            self.assertIn(key, body)
        self.assertEqual(body["instance_url"], "http://127.0.0.1:%d" % self.stub.port)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertRegex(body["issued_at"], r"^\d{13}$")
        self.assertNotIn("refresh_token", body)
        status, body = self.stub.token(grant_type="client_credentials", refresh_token=None)
        self.assertEqual(status, 200, body)

    def test_token_errors(self):
        self.assertEqual(self.stub.token(refresh_token="nope"),
                         (400, {"error": "invalid_grant",
                                "error_description": "expired access/refresh token"}))
        status, body = self.stub.token(client_id="other")
        self.assertEqual((status, body["error"]), (400, "invalid_client_id"))
        status, body = self.stub.token(client_secret="wrong")
        self.assertEqual((status, body["error"]), (400, "invalid_client"))
        status, body = self.stub.token(grant_type="password")
        self.assertEqual((status, body["error"]), (400, "unsupported_grant_type"))

    def test_api_requires_a_valid_token(self):
        status, hdrs, body = self.stub.api("/services/data/v61.0/sobjects/", "bogus")
        self.assertEqual(status, 401)
        self.assertEqual(json.loads(body), [{"message": "Session expired or invalid",
                                             "errorCode": "INVALID_SESSION_ID"}])
        status, _, _ = self.stub.request("GET", "/services/data/v61.0/sobjects/")
        self.assertEqual(status, 401)

    def test_token_ttl_expiry(self):
        self.stub.control("POST", "auth", {"token_ttl": 1.0})
        try:
            _, body = self.stub.token()
            tok = body["access_token"]
            self.assertEqual(self.stub.api("/services/data/v61.0/sobjects/", tok)[0], 200)
            time.sleep(1.05)
            self.assertEqual(self.stub.api("/services/data/v61.0/sobjects/", tok)[0], 401)
        finally:
            self.stub.control("POST", "auth", {"token_ttl": 7200})

    # -- describe --
    def test_versions_and_describe(self):
        status, _, body = self.stub.request("GET", "/services/data/")
        self.assertEqual(status, 200)
        self.assertIn("61.0", [v["version"] for v in json.loads(body)])
        status, _, body = self.stub.api("/services/data/v61.0/sobjects/", self.tok)
        self.assertIn("Lead", [o["name"] for o in json.loads(body)["sobjects"]])
        status, hdrs, body = self.stub.api("/services/data/v59.0/sobjects/Contact/describe",
                                           self.tok)
        self.assertEqual(status, 200)
        d = json.loads(body)
        fields = {f["name"]: f for f in d["fields"]}
        self.assertEqual(d["name"], "Contact")
        self.assertEqual(fields["AccountId"]["type"], "reference")
        self.assertEqual(fields["AccountId"]["relationshipName"], "Account")
        self.assertEqual(fields["AccountId"]["referenceTo"], ["Account"])
        self.assertEqual(fields["SystemModstamp"]["type"], "datetime")
        self.assertEqual(fields["DoNotCall"]["type"], "boolean")
        self.assertEqual(fields["Email"]["type"], "email")
        self.assertFalse(fields["LastName"]["nillable"])
        self.assertEqual(fields["LastName"]["length"], 80)
        status, _, body = self.stub.api("/services/data/v61.0/sobjects/Nope/describe", self.tok)
        self.assertEqual(status, 404)
        self.assertEqual(json.loads(body)[0]["errorCode"], "NOT_FOUND")

    # -- query --
    def test_paging_covers_every_record_once(self):
        q = CONTACT_Q + " ORDER BY SystemModstamp ASC"
        truth = self.stub.control("GET", "truth?object=Contact")[1]
        n = truth["count"]
        self.assertGreaterEqual(n, 2000)
        pages = self.stub.query_all_pages(q, self.tok, batch=300)
        self.assertEqual(len(pages), (n + 299) // 300)
        ids = [r["Id"] for p in pages for r in p["records"]]
        self.assertEqual(sorted(ids), sorted(r["Id"] for r in truth["records"]))
        self.assertEqual(len(set(ids)), n)
        self.assertTrue(all(p["totalSize"] == n for p in pages))
        self.assertRegex(pages[0]["nextRecordsUrl"],
                         r"^/services/data/v61\.0/query/01g[0-9A-Za-z]{15}-300$")
        self.assertNotIn("nextRecordsUrl", pages[-1])
        stamps = [r["SystemModstamp"] for p in pages for r in p["records"]]
        self.assertEqual(stamps, sorted(stamps))
        self.assertEqual(list(pages[0]["records"][0])[:2], ["attributes", "Id"])
        # Default batch is 2000; out-of-range sizes are clamped to 200..2000.
        self.assertEqual(len(self.stub.query(q, self.tok)[2]["records"]), 2000)
        self.assertEqual(len(self.stub.query(q, self.tok, batch=10)[2]["records"]), 200)
        self.assertEqual(len(self.stub.query(q, self.tok, batch=5000)[2]["records"]), 2000)

    def test_snapshot_survives_concurrent_mutation(self):
        q = "SELECT Id, LastName, SystemModstamp FROM Lead ORDER BY SystemModstamp"
        status, _, first = self.stub.query(q, self.tok, batch=200)
        self.assertFalse(first["done"])
        before = {r["Id"]: r for r in first["records"]}
        # Change records on later pages, delete some, create some, purge some.
        truth = self.stub.control("GET", "truth?object=Lead")[1]["records"]
        later = [r["Id"] for r in truth if r["Id"] not in before][:50]
        status, res = self.stub.control("POST", "mutate", [
            {"op": "update", "object": "Lead", "ids": later[:20], "set": {"LastName": "Changed"}},
            {"op": "delete", "object": "Lead", "ids": later[20:30]},
            {"op": "purge", "object": "Lead", "ids": later[30:40]},
            {"op": "create", "object": "Lead", "count": 15}])
        self.assertEqual(status, 200, res)
        rest = []
        page = first
        while not page["done"]:
            status, _, body = self.stub.api(page["nextRecordsUrl"], self.tok)
            self.assertEqual(status, 200, body)
            page = json.loads(body)
            rest.extend(page["records"])
        got = list(before) + [r["Id"] for r in rest]
        self.assertEqual(len(got), len(truth))
        self.assertEqual(set(got), {r["Id"] for r in truth})
        self.assertNotIn("Changed", [r["LastName"] for r in rest])
        # A new query sees the new state.
        pages = self.stub.query_all_pages(q, self.tok)
        now = [r for p in pages for r in p["records"]]
        self.assertEqual(len(now), len(truth) - 20 + 15)
        self.assertEqual(sum(1 for r in now if r["LastName"] == "Changed"), 20)
        self.assertLessEqual(set(res["results"][3]["ids"]), {r["Id"] for r in now})

    def test_query_vs_query_all(self):
        truth = self.stub.control("GET", "truth?object=Contact")[1]
        victims = [r["Id"] for r in truth["records"][-5:]]
        self.stub.control("POST", "mutate", [{"op": "delete", "object": "Contact",
                                              "ids": victims}])
        q = "SELECT Id, IsDeleted FROM Contact WHERE Id IN ('%s')" % "','".join(victims)
        self.assertEqual(self.stub.query(q, self.tok)[2]["totalSize"], 0)
        all_rows = self.stub.query(q, self.tok, all_rows=True)[2]
        self.assertEqual(all_rows["totalSize"], 5)
        self.assertTrue(all(r["IsDeleted"] for r in all_rows["records"]))
        deleted = self.stub.control("GET", "truth?object=Contact&deleted=1")[1]
        self.assertEqual(deleted["count"], truth["count"])
        live = self.stub.control("GET", "truth?object=Contact")[1]
        self.assertEqual(live["count"], truth["count"] - 5)
        # undelete two, purge the rest: purged records are gone from queryAll too
        self.stub.control("POST", "mutate", [
            {"op": "undelete", "object": "Contact", "ids": victims[:2]},
            {"op": "purge", "object": "Contact", "ids": victims[2:]}])
        self.assertEqual(self.stub.query(q, self.tok)[2]["totalSize"], 2)
        self.assertEqual(self.stub.query(q, self.tok, all_rows=True)[2]["totalSize"], 2)

    def test_query_errors(self):
        status, _, body = self.stub.query("SELECT Id, Foo FROM Contact", self.tok)
        self.assertEqual(status, 400)
        self.assertEqual(body[0]["errorCode"], "INVALID_FIELD")
        self.assertIn("'Foo'", body[0]["message"])
        status, _, body = self.stub.query("SELEKT Id FROM Contact", self.tok)
        self.assertEqual((status, body[0]["errorCode"]), (400, "MALFORMED_QUERY"))
        status, _, body = self.stub.api("/services/data/v61.0/query/01g5g00003H1h2mAAB-2000",
                                        self.tok)
        self.assertEqual(status, 400)
        self.assertEqual(json.loads(body)[0]["errorCode"], "INVALID_QUERY_LOCATOR")

    def test_record_count_limit_and_method(self):
        truth = self.stub.control("GET", "truth?object=Account")[1]["records"]
        rid = truth[0]["Id"]
        status, _, body = self.stub.api("/services/data/v61.0/sobjects/Account/" + rid, self.tok)
        rec = json.loads(body)
        self.assertEqual(status, 200)
        self.assertEqual((rec["Id"], rec["Name"]), (rid, truth[0]["Name"]))
        status, _, body = self.stub.api("/services/data/v61.0/sobjects/Account/" + rid[:15],
                                        self.tok)
        self.assertEqual(json.loads(body)["Id"], rid)
        _, _, body = self.stub.query("SELECT COUNT(Email) FROM Contact", self.tok)
        contacts = self.stub.control("GET", "truth?object=Contact")[1]["records"]
        self.assertEqual(body["records"][0]["expr0"], sum(1 for c in contacts if c["Email"]))
        _, _, body = self.stub.query("SELECT Id FROM Contact ORDER BY Id LIMIT 450", self.tok,
                                     batch=200)
        self.assertEqual(body["totalSize"], 450)
        self.assertEqual(len(body["records"]), 200)
        self.assertEqual([r["Id"] for r in body["records"]],
                         [c["Id"] for c in contacts[:200]])
        status, _, body = self.stub.request("POST", "/services/data/v61.0/query?q=x",
                                            headers={"Authorization": "Bearer " + self.tok})
        self.assertEqual(status, 405)
        self.assertEqual(json.loads(body)[0]["errorCode"], "METHOD_NOT_ALLOWED")

    def test_relationship_values_are_nested(self):
        pages = self.stub.query_all_pages("SELECT Id, Account.Name FROM Contact", self.tok)
        recs = [r for p in pages for r in p["records"]]
        truth = {r["Id"]: r for r in
                 self.stub.control("GET", "truth?object=Contact")[1]["records"]}
        for r in recs:
            if truth[r["Id"]]["Account.Name"] is None:
                self.assertIsNone(r["Account"])
            else:
                self.assertEqual(r["Account"]["Name"], truth[r["Id"]]["Account.Name"])

    # -- control API --
    def test_mutate_modstamps_clock_and_atomicity(self):
        self.stub.control("POST", "clock", {"now": "2030-01-02T03:04:05.006Z", "freeze": True})
        try:
            status, res = self.stub.control("POST", "mutate", [
                {"op": "update", "object": "Contact", "count": 3, "set": {"Title": "Boss"}},
                {"op": "update", "object": "Lead", "count": 2,
                 "modstamp": "2030-06-01T00:00:00Z"}])
            self.assertEqual(status, 200, res)
            truth = {r["Id"]: r for r in
                     self.stub.control("GET", "truth?object=Contact")[1]["records"]}
            stamps = [truth[i]["SystemModstamp"] for i in res["results"][0]["ids"]]
            self.assertEqual(stamps, ["2030-01-02T03:04:05.006+0000",
                                      "2030-01-02T03:04:05.007+0000",
                                      "2030-01-02T03:04:05.008+0000"])
            self.assertTrue(all(truth[i]["Title"] == "Boss" for i in res["results"][0]["ids"]))
            leads = {r["Id"]: r for r in
                     self.stub.control("GET", "truth?object=Lead")[1]["records"]}
            self.assertEqual({leads[i]["SystemModstamp"] for i in res["results"][1]["ids"]},
                             {"2030-06-01T00:00:00.000+0000"})
            # The Date header follows the same clock.
            _, hdrs, _ = self.stub.query("SELECT Id FROM Account", self.tok)
            self.assertEqual(hdrs["date"], "Wed, 02 Jan 2030 03:04:05 GMT")
            # same_stamp: one stamp for the whole operation, the next one after it.
            _, res = self.stub.control("POST", "mutate", [
                {"op": "touch", "object": "Contact", "count": 4, "same_stamp": True},
                {"op": "touch", "object": "Account", "count": 1}])
            truth = {r["Id"]: r for r in
                     self.stub.control("GET", "truth?object=Contact")[1]["records"]}
            self.assertEqual({truth[i]["SystemModstamp"] for i in res["results"][0]["ids"]},
                             {"2030-01-02T03:04:05.009+0000"})
            acc = self.stub.control("GET", "truth?object=Account")[1]["records"]
            self.assertIn("2030-01-02T03:04:05.010+0000", [a["SystemModstamp"] for a in acc])
            # A bad operation rejects the whole batch.
            status, res = self.stub.control("POST", "mutate", [
                {"op": "update", "object": "Contact", "count": 1, "set": {"Title": "Nope"}},
                {"op": "update", "object": "Contact", "count": 1, "set": {"Bogus": 1}}])
            self.assertEqual(status, 400)
            self.assertIn("Bogus", res["error"])
            truth = self.stub.control("GET", "truth?object=Contact")[1]["records"]
            self.assertNotIn("Nope", [r["Title"] for r in truth])
        finally:
            self.stub.control("POST", "clock", {"real": True})

    def test_running_clock(self):
        try:
            _, state = self.stub.control("POST", "clock", {"now": "2031-03-04T05:06:07Z"})
            self.assertFalse(state["frozen"])
            _, res = self.stub.control("POST", "mutate", [
                {"op": "touch", "object": "Account", "count": 2}])
            acc = {a["Id"]: a for a in
                   self.stub.control("GET", "truth?object=Account")[1]["records"]}
            stamps = [acc[i]["SystemModstamp"] for i in res["ids"]]
            self.assertTrue(stamps[0].startswith("2031-03-04T05:06:"), stamps)
            self.assertLess(stamps[0], stamps[1])
            time.sleep(0.05)
            _, state = self.stub.control("GET", "clock")
            self.assertGreater(state["now"], "2031-03-04T05:06:07.040")
            _, hdrs, _ = self.stub.query("SELECT Id FROM Account", self.tok)
            self.assertRegex(hdrs["date"], r"^Tue, 04 Mar 2031 05:06:\d\d GMT$")
        finally:
            self.stub.control("POST", "clock", {"real": True})

    def test_convert(self):
        status, res = self.stub.control("POST", "mutate", [
            {"op": "convert", "object": "Lead", "where": "IsConverted = false", "count": 2}])
        self.assertEqual(status, 200, res)
        r = res["results"][0]
        self.assertEqual(len(r["ids"]), 2)
        leads = {x["Id"]: x for x in self.stub.control("GET", "truth?object=Lead")[1]["records"]}
        for lid, cid in zip(r["ids"], r["contacts"]):
            self.assertTrue(leads[lid]["IsConverted"])
            self.assertEqual(leads[lid]["ConvertedContactId"], cid)
            self.assertRegex(leads[lid]["ConvertedDate"], r"^\d{4}-\d\d-\d\d$")
        q = "SELECT Id FROM Contact WHERE Id IN ('%s')" % "','".join(r["contacts"])
        self.assertEqual(self.stub.query(q, self.tok)[2]["totalSize"], 2)

    # -- faults --
    def set_faults(self, *faults):
        status, body = self.stub.control("POST", "faults", {"faults": list(faults)})
        self.assertEqual(status, 200, body)

    def test_fault_status_after_and_times(self):
        self.set_faults({"match": "query", "after": 1, "times": 2, "kind": "status",
                         "status": 503, "retry_after": 1})
        q = "SELECT Id FROM Account"
        codes = [self.stub.query(q, self.tok)[0] for _ in range(4)]
        self.assertEqual(codes, [200, 503, 503, 200])
        self.set_faults({"match": "any", "kind": "status", "status": 500, "times": 1})
        status, hdrs, body = self.stub.query(q, self.tok)
        self.assertEqual(status, 500)
        self.assertEqual(body[0]["errorCode"], "UNKNOWN_EXCEPTION")
        self.set_faults({"match": "query", "kind": "status", "status": 503, "retry_after": 7})
        status, hdrs, body = self.stub.query(q, self.tok)
        self.assertEqual((status, hdrs.get("retry-after")), (503, "7"))
        self.assertEqual(body[0]["errorCode"], "SERVER_UNAVAILABLE")
        self.set_faults({"match": "token", "kind": "status", "status": 503})
        status, body = self.stub.token()
        self.assertEqual(status, 503)
        self.assertIn("error", body)

    def test_fault_next_only(self):
        q = "SELECT Id FROM Contact"
        status, _, first = self.stub.query(q, self.tok, batch=1000)
        self.set_faults({"match": "next", "kind": "status", "status": 502, "times": 1})
        self.assertEqual(self.stub.query(q, self.tok)[0], 200)
        self.assertEqual(self.stub.api(first["nextRecordsUrl"], self.tok)[0], 502)
        self.assertEqual(self.stub.api(first["nextRecordsUrl"], self.tok)[0], 200)

    def test_fault_reset(self):
        self.set_faults({"match": "query", "kind": "reset"})
        with self.assertRaises((ConnectionError, http.client.HTTPException, OSError)):
            self.stub.query("SELECT Id FROM Account", self.tok)
        self.assertEqual(self.stub.query("SELECT Id FROM Account", self.tok)[0], 200)

    def test_fault_truncate(self):
        self.set_faults({"match": "query", "kind": "truncate"})
        with self.assertRaises(http.client.IncompleteRead):
            self.stub.query("SELECT Id FROM Contact", self.tok)
        self.assertEqual(self.stub.query("SELECT Id FROM Account", self.tok)[0], 200)

    def test_fault_nonjson(self):
        self.set_faults({"match": "describe", "kind": "nonjson"})
        status, hdrs, body = self.stub.api("/services/data/v61.0/sobjects/", self.tok)
        self.assertEqual(status, 200)
        self.assertTrue(hdrs["content-type"].startswith("text/html"))
        self.assertRaises(ValueError, json.loads, body)

    def test_fault_slow(self):
        self.set_faults({"match": "query", "kind": "slow", "delay": 0.3})
        t0 = time.monotonic()
        self.assertEqual(self.stub.query("SELECT Id FROM Account", self.tok)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.3)

    def test_fault_expire_token(self):
        self.set_faults({"match": "query", "after": 1, "kind": "expire_token"})
        self.assertEqual(self.stub.query("SELECT Id FROM Account", self.tok)[0], 200)
        status, _, body = self.stub.query("SELECT Id FROM Account", self.tok)
        self.assertEqual((status, body[0]["errorCode"]), (401, "INVALID_SESSION_ID"))
        _, fresh = self.stub.token()
        self.assertEqual(self.stub.query("SELECT Id FROM Account", fresh["access_token"])[0], 200)

    def test_fault_revoke_refresh(self):
        self.set_faults({"match": "token", "kind": "revoke_refresh"})
        try:
            status, body = self.stub.token()
            self.assertEqual((status, body["error"]), (400, "invalid_grant"))
            status, body = self.stub.token()
            self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        finally:
            self.stub.request("DELETE", "/__stub/faults")
            self.stub.control("POST", "auth", {"refresh_token": "test-refresh-token"})
        self.assertEqual(self.stub.token()[0], 200)

    def test_fault_limit_exceeded_and_limit_header(self):
        _, hdrs, _ = self.stub.query("SELECT Id FROM Account", self.tok)
        self.assertRegex(hdrs["sforce-limit-info"], r"^api-usage=\d+/15000$")
        used = int(hdrs["sforce-limit-info"].split("=")[1].split("/")[0])
        _, hdrs, _ = self.stub.query("SELECT Id FROM Account", self.tok)
        self.assertEqual(hdrs["sforce-limit-info"], "api-usage=%d/15000" % (used + 1))
        self.set_faults({"match": "query", "kind": "limit_exceeded"})
        status, hdrs, body = self.stub.query("SELECT Id FROM Account", self.tok)
        self.assertEqual(status, 403)
        self.assertEqual(body, [{"message": "TotalRequests Limit exceeded.",
                                 "errorCode": "REQUEST_LIMIT_EXCEEDED"}])
        self.assertEqual(hdrs["sforce-limit-info"], "api-usage=15000/15000")
        self.assertEqual(self.stub.token()[0], 200)  # the token endpoint is not limited

    def test_ten_locators_per_user(self):
        """Salesforce keeps 10 query cursors per user; an 11th releases the oldest."""
        firsts = []
        for _ in range(11):
            status, _, page = self.stub.query("SELECT Id FROM Contact", self.tok, batch=200)
            self.assertEqual(status, 200)
            firsts.append(page["nextRecordsUrl"])
        status, _, body = self.stub.api(firsts[0], self.tok)
        self.assertEqual((status, json.loads(body)[0]["errorCode"]), (400, "INVALID_QUERY_LOCATOR"))
        for url in firsts[1:]:
            self.assertEqual(self.stub.api(url, self.tok)[0], 200)
        self.assertLessEqual(self.stub.control("GET", "stats")[1]["open_locators"], 10)

    def test_fault_lose_locator_every_third(self):
        self.set_faults({"match": "next", "every": 3, "times": -1, "kind": "lose_locator"})
        _, _, page = self.stub.query("SELECT Id FROM Contact", self.tok, batch=200)
        codes = []
        for _ in range(6):
            status, _, body = self.stub.api(page["nextRecordsUrl"], self.tok)
            codes.append(status)
            if status == 200:
                page = json.loads(body)
            else:
                self.assertEqual(json.loads(body)[0]["errorCode"], "INVALID_QUERY_LOCATOR")
                _, _, page = self.stub.query("SELECT Id FROM Contact", self.tok, batch=200)
        self.assertEqual(codes, [200, 200, 400, 200, 200, 400])
        status, body = self.stub.control("POST", "faults", {"faults": [
            {"match": "query", "kind": "lose_locator"}]})
        self.assertEqual(status, 400)

    def test_fault_mutate(self):
        _, _, page = self.stub.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 1", self.tok)
        aid = page["records"][0]["Id"]
        self.set_faults({"match": "query", "kind": "mutate", "ops": [
            {"op": "update", "object": "Account", "ids": [aid], "set": {"Name": "Edited Meanwhile"}}]})
        # applied before the request is carried out: this very query sees it
        _, _, page = self.stub.query("SELECT Name FROM Account WHERE Id = '%s'" % aid, self.tok)
        self.assertEqual(page["records"][0]["Name"], "Edited Meanwhile")
        self.assertEqual(self.stub.control("GET", "faults")[1]["faults"][0]["fired"], 1)
        status, body = self.stub.control("POST", "faults", {"faults": [{"match": "query", "kind": "mutate"}]})
        self.assertEqual(status, 400, body)

    def test_mutate_late_commit(self):
        before = data.parse_datetime(self.stub.control("GET", "clock")[1]["now"])
        status, res = self.stub.control("POST", "mutate", [
            {"op": "update", "object": "Lead", "count": 1, "set": {"Title": "Late"},
             "late_ms": 30000}])
        self.assertEqual(status, 200, res)
        _, _, page = self.stub.query("SELECT Id, SystemModstamp FROM Lead WHERE Id = '%s'"
                                     % res["ids"][0], self.tok)
        stamp = data.parse_datetime(page["records"][0]["SystemModstamp"])
        self.assertLess(stamp, before - 29000)
        self.assertGreater(stamp, before - 31000)

    def test_daily_limit_reached(self):
        self.stub.control("POST", "limits", {"used": 0, "max": 3})
        codes = [self.stub.query("SELECT Id FROM Account", self.tok)[0] for _ in range(4)]
        self.assertEqual(codes, [200, 200, 200, 403])

    def test_gzip(self):
        q = urllib.parse.quote("SELECT Id, Description FROM Contact")
        status, hdrs, body = self.stub.api("/services/data/v61.0/query?q=" + q, self.tok,
                                           {"Accept-Encoding": "gzip"})
        self.assertEqual((status, hdrs.get("content-encoding")), (200, "gzip"))
        plain = json.loads(gzip.decompress(body))
        self.assertEqual(len(plain["records"]), 2000)
        status, hdrs, body = self.stub.api("/services/data/v61.0/query?q=" + q, self.tok)
        self.assertNotIn("content-encoding", hdrs)
        self.assertEqual(json.loads(body)["records"], plain["records"])

    def test_stats(self):
        self.stub.request("POST", "/__stub/stats/reset")
        self.stub.token()
        self.stub.query("SELECT Id FROM Account", self.tok)
        _, s = self.stub.control("GET", "stats")
        self.assertEqual((s["token_calls"], s["api_calls"], s["api_usage"]), (1, 1, 1))
        self.assertEqual(s["by_kind"], {"token": 1, "query": 1})


class FreshServerTests(unittest.TestCase):
    """Behaviour that needs a server nobody else has touched."""

    def test_same_modstamp_ties_and_clean_exit(self):
        stub = StubProcess("--contacts", "900", "--leads", "600", "--same-modstamp", "250")
        try:
            _, body = stub.token()
            tok = body["access_token"]
            for obj, n in (("Contact", 900), ("Lead", 600)):
                pages = stub.query_all_pages("SELECT Id, SystemModstamp FROM %s" % obj, tok,
                                             batch=200)
                counts = {}
                for p in pages:
                    for r in p["records"]:
                        counts[r["SystemModstamp"]] = counts.get(r["SystemModstamp"], 0) + 1
                self.assertEqual(sum(counts.values()), n)
                self.assertEqual(sorted(counts.values())[-2:], [1, 250])
            with open(stub.log) as f:
                log = f.read()
            self.assertIn("GET /services/data/v61.0/query?q=", log)
            self.assertNotIn(tok, log)
            self.assertNotIn("test-refresh-token", log)
            self.assertNotIn("test-client-secret", log)
        finally:
            rc, err = stub.stop()
        self.assertEqual(rc, 0, err)
    def test_get_deleted(self):
        """getDeleted lists recycle-bin and purged records of its window, forgets
        undeleted ones, keeps Salesforce's limits, and can be trimmed or refused."""
        stub = StubProcess("--contacts", "20", "--leads", "10")
        try:
            _, body = stub.token()
            tok = body["access_token"]

            def now():
                return stub.control("GET", "clock")[1]["now"]

            def deleted(obj, start, end):
                path = "/services/data/v61.0/sobjects/%s/deleted/?start=%s&end=%s" % (
                    obj, urllib.parse.quote(start), urllib.parse.quote(end))
                status, _, payload = stub.api(path, tok)
                return status, json.loads(payload)

            start = now()
            _, res = stub.control("POST", "mutate", [
                {"op": "delete", "object": "Contact", "count": 3},
                {"op": "purge", "object": "Lead", "count": 1}])
            binned, purged = res["results"][0]["ids"], res["results"][1]["ids"]
            stub.control("POST", "mutate", [{"op": "undelete", "object": "Contact", "ids": binned[:1]},
                                            {"op": "purge", "object": "Contact", "ids": binned[1:2]}])
            stub.control("POST", "clock", {"advance_ms": 120000})
            end = now()
            status, res = deleted("Contact", start, end)
            self.assertEqual(status, 200, res)
            self.assertEqual(sorted(r["id"] for r in res["deletedRecords"]), sorted(binned[1:]))
            for key in ("earliestDateAvailable", "latestDateCovered"):
                self.assertIn(key, res)
            self.assertEqual([r["id"] for r in deleted("Lead", start, end)[1]["deletedRecords"]], purged)
            # a window before the deletions lists none; Salesforce's limits hold
            self.assertEqual(deleted("Contact", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z")[0], 400)
            self.assertEqual(deleted("Contact", start, start)[0], 400)
            status, res = deleted("User", start, end)  # users are never deleted
            self.assertEqual(status, 404, res)
            # trimmed: deletions before earliest are no longer listed
            stub.control("POST", "deleted", {"earliest": end})
            status, res = deleted("Contact", start, end)
            self.assertEqual((status, res["deletedRecords"]), (200, []))
            self.assertEqual(res["earliestDateAvailable"][:16], end[:16])
            # refused, as for a user without access
            stub.control("POST", "deleted", {"refuse": ["Lead"]})
            status, res = deleted("Lead", start, end)
            self.assertEqual((status, res[0]["errorCode"]), (403, "INSUFFICIENT_ACCESS"))
        finally:
            rc, err = stub.stop()
        self.assertEqual(rc, 0, err)
        self.assertNotIn("Traceback", err)

    def test_rotate_refresh(self):
        stub = StubProcess("--contacts", "10", "--leads", "10", "--rotate-refresh",
                           "--client-id", "cid", "--client-secret", "sec",
                           "--refresh-token", "rt0")
        try:
            status, body = stub.token(client_id="cid", client_secret="sec", refresh_token="rt0")
            self.assertEqual(status, 200, body)
            new = body["refresh_token"]
            self.assertNotEqual(new, "rt0")
            self.assertEqual(stub.token(client_id="cid", client_secret="sec",
                                        refresh_token="rt0")[1]["error"], "invalid_grant")
            status, body = stub.token(client_id="cid", client_secret="sec", refresh_token=new)
            self.assertEqual(status, 200, body)
            self.assertNotEqual(body["refresh_token"], new)
        finally:
            rc, err = stub.stop()
        self.assertEqual(rc, 0, err)


class OrgTests(unittest.TestCase):
    """Several orgs in one stand-in: each refresh token its own org, with its
    own data, instance_url, API counter, limit and tokens; rotation per org."""

    def test_many_orgs(self):
        stub = StubProcess("--contacts", "10", "--leads", "10", "--orgs", "3",
                           "--org-records", "8")
        try:
            status, orgs = stub.control("GET", "orgs")
            self.assertEqual(status, 200)
            self.assertEqual([o["name"] for o in orgs["orgs"]],
                             ["default", "org-0001", "org-0002", "org-0003"])
            status, added = stub.control("POST", "orgs", {"refresh_token": "rt-new", "records": 6,
                                                          "api_limit": 3})
            self.assertEqual(status, 200, added)
            self.assertEqual(added["name"], "rt-new")
            self.assertEqual(added["records"], {"account": 1, "contact": 3, "lead": 3, "opportunity": 0,
                                                "campaign": 0, "campaignmember": 0, "task": 0})
            self.assertEqual(stub.control("POST", "orgs", {"refresh_token": "rt-new"})[0], 400)
            ids, urls = {}, {}
            for name in ("org-0001", "org-0002", "rt-new"):
                status, body = stub.token(refresh_token=name)
                self.assertEqual(status, 200, body)
                url = body["instance_url"]
                _, one = stub.control("GET", "orgs/" + name)
                self.assertEqual(url, one["instance_url"])
                self.assertTrue(url.endswith("/org/" + one["org_id"]), url)
                self.assertNotIn(name, url)
                self.assertNotIn("refresh_token", body)
                path = urllib.parse.urlsplit(url).path
                urls[name] = (path, body["access_token"])
                pages = []
                status, _, payload = stub.api(path + "/services/data/v61.0/query?q=" +
                                              urllib.parse.quote("SELECT Id FROM Lead"),
                                              body["access_token"])
                self.assertEqual(status, 200, payload)
                pages = json.loads(payload)["records"]
                ids[name] = {r["Id"] for r in pages}
                _, truth = stub.control("GET", "truth?object=Lead&org=" + name)
                self.assertEqual(ids[name], {r["Id"] for r in truth["records"]})
            self.assertEqual(len(ids["org-0001"]), 4)
            self.assertFalse(ids["org-0001"] & ids["org-0002"])   # ids unique across orgs
            # a token of one org is no good at another org's instance
            status, _, _ = stub.api(urls["org-0002"][0] + "/services/data/v61.0/limits",
                                    urls["org-0001"][1])
            self.assertEqual(status, 401)
            # the default org is unchanged: its own token, its own root instance
            status, body = stub.token()
            self.assertEqual(urllib.parse.urlsplit(body["instance_url"]).path, "")
            # per-org API counter and limit: rt-new allows 3 calls (one was the query)
            path, tok = urls["rt-new"]
            for _ in range(2):
                self.assertEqual(stub.api(path + "/services/data/v61.0/limits", tok)[0], 200)
            status, hdrs, payload = stub.api(path + "/services/data/v61.0/limits", tok)
            self.assertEqual(status, 403, payload)
            self.assertIn(b"REQUEST_LIMIT_EXCEEDED", payload)
            _, one = stub.control("GET", "orgs/rt-new")
            self.assertEqual((one["token_calls"], one["queries"], one["api_usage"]), (1, 1, 3))
            _, other = stub.control("GET", "orgs/org-0002")
            self.assertEqual((other["token_calls"], other["api_usage"]), (1, 1))
            _, every = stub.control("GET", "orgs")
            self.assertEqual(every["totals"]["token_calls"], 4)  # the default org's too
            self.assertEqual(every["totals"]["queries"], 3)
            self.assertEqual(stub.control("POST", "stats/reset?org=*")[1], {"orgs": 5})
            _, every = stub.control("GET", "orgs")
            self.assertEqual((every["totals"]["token_calls"], every["totals"]["api_usage"]), (0, 0))
            # data is deterministic per org: a second stand-in serves the same records
            stub2 = StubProcess("--orgs", "1", "--org-records", "8", "--contacts", "1")
            try:
                _, t2 = stub2.control("GET", "truth?object=Lead&org=org-0001")
                _, t1 = stub.control("GET", "truth?object=Lead&org=org-0001")
                self.assertEqual(t1["records"], t2["records"])
            finally:
                stub2.stop()
            self.assertEqual(stub.request("GET", "/org/00D5g000000000000A/services/data/v61.0/"
                                                 "limits")[0], 404)
            with open(stub.log) as f:
                log = f.read()
            for _, tok in urls.values():
                self.assertNotIn(tok, log)
        finally:
            rc, err = stub.stop()
        self.assertEqual(rc, 0, err)

    def test_rotation_revocation_expiry_per_org(self):
        stub = StubProcess("--contacts", "1", "--leads", "1")
        try:
            stub.control("POST", "orgs", {"refresh_token": "rot-a", "records": 4, "rotate": True})
            stub.control("POST", "orgs", {"refresh_token": "plain-b", "records": 4})
            status, a = stub.token(refresh_token="rot-a")
            self.assertEqual(status, 200, a)
            new = a["refresh_token"]
            self.assertNotEqual(new, "rot-a")
            self.assertEqual(stub.token(refresh_token="rot-a"),
                             (400, {"error": "invalid_grant",
                                    "error_description": "expired access/refresh token"}))
            status, a2 = stub.token(refresh_token=new)
            self.assertEqual(status, 200, a2)
            # the old access token stays valid until it expires (also for a new process)
            path = urllib.parse.urlsplit(a["instance_url"]).path
            limits = path + "/services/data/v61.0/limits"
            self.assertEqual(stub.api(limits, a["access_token"], fresh=True)[0], 200)
            _, orgs = stub.control("GET", "orgs/rot-a")
            self.assertEqual((orgs["token_calls"], orgs["rotate"]), (3, True))  # the refusal too
            # expiring org A's access tokens leaves org B's alone
            _, b = stub.token(refresh_token="plain-b")
            self.assertNotIn("refresh_token", b)
            blimits = urllib.parse.urlsplit(b["instance_url"]).path + "/services/data/v61.0/limits"
            status, res = stub.control("POST", "auth?org=rot-a", {"expire_access_tokens": True})
            self.assertEqual(res["live_access_tokens"], 0)
            status, _, payload = stub.api(limits, a2["access_token"])
            self.assertEqual(status, 401)
            self.assertIn(b"INVALID_SESSION_ID", payload)
            self.assertEqual(stub.api(blimits, b["access_token"])[0], 200)
            # revocation of org B: its refresh token stops working, org A's goes on
            stub.control("POST", "auth?org=plain-b", {"revoke_refresh_tokens": True})
            self.assertEqual(stub.token(refresh_token="plain-b")[1]["error"], "invalid_grant")
            self.assertEqual(stub.token(refresh_token=a2["refresh_token"])[0], 200)
            # rotation switched on later, per org
            stub.control("POST", "auth?org=default", {"rotate": True})
            self.assertIn("refresh_token", stub.token()[1])
            self.assertEqual(stub.control("GET", "stats?org=nope")[0], 400)
            # a fault for one org leaves the others alone
            stub.control("POST", "faults", {"faults": [{"match": "token", "org": "rot-a",
                                                        "kind": "status", "status": 503,
                                                        "times": -1}]})
            self.assertEqual(stub.token(refresh_token=a2["refresh_token"])[0], 503)
            self.assertEqual(stub.token(refresh_token="plain-b")[0], 400)  # revoked, not faulted
        finally:
            rc, err = stub.stop()
        self.assertEqual(rc, 0, err)


if __name__ == "__main__":
    unittest.main()
