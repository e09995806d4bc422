"""SOQL subset: tokenizer, parser, semantic checks, evaluation and JSON rows.

The Salesforce stand-in answers queries with the same rules the real service
applies, because a sync engine is only as correct as its handling of those
rules: keywords and field names are case-insensitive, string comparison is
case-insensitive, datetimes are compared to the millisecond, AND and OR cannot
be mixed without parentheses, quoted datetimes are rejected, long text areas
cannot be filtered, and unknown fields fail with INVALID_FIELD naming the field.

Supported: SELECT fields / relationship paths (Account.Name) / COUNT() /
COUNT(field), FROM object, WHERE with AND OR NOT and parentheses, operators
= != <> < <= > >= IN NOT IN LIKE, literals (strings with escapes, datetimes,
dates, numbers, true/false, null), ORDER BY with ASC/DESC and NULLS FIRST/LAST,
LIMIT, OFFSET.  Schemas come from data.py (duck-typed: SObject, Field).
"""

import json
import operator
import re

from data import fmt_datetime, normalize_id, parse_datetime, parse_date

_encode_str = json.encoder.encode_basestring  # C-accelerated, keeps UTF-8 as is

STRING_TYPES = frozenset(["string", "email", "phone", "textarea", "picklist", "url",
                          "combobox"])
ID_TYPES = frozenset(["id", "reference"])
NUMBER_TYPES = frozenset(["double", "currency", "int", "percent"])
MAX_OFFSET = 2000


class SoqlError(Exception):
    """A query error as Salesforce reports it: errorCode + message."""

    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


# ---- tokens ---------------------------------------------------------------

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<number>[+-]?(?:\d+(?:\.\d*)?|\.\d+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),])
  | (?P<string>')
""", re.X)

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'",
            "\\": "\\"}


class Tok:
    __slots__ = ("kind", "text", "value", "pos", "wild")

    def __init__(self, kind, text, value, pos, wild=None):
        self.kind = kind
        self.text = text
        self.value = value
        self.pos = pos
        self.wild = wild  # for strings: per-character "is an unescaped LIKE wildcard"


def _where(src, pos):
    row = src.count("\n", 0, pos) + 1
    col = pos - (src.rfind("\n", 0, pos) + 1) + 1
    return row, col


def _malformed(src, pos, text):
    row, col = _where(src, pos)
    line_start = src.rfind("\n", 0, pos) + 1
    line_end = src.find("\n", pos)
    line = src[line_start: line_end if line_end >= 0 else len(src)]
    return SoqlError("MALFORMED_QUERY", "%s\n%s^\nERROR at Row:%d:Column:%d\n%s"
                     % (line, " " * (col - 1), row, col, text))


def tokenize(src):
    toks = []
    pos = 0
    n = len(src)
    while pos < n:
        m = _TOKEN_RE.match(src, pos)
        if not m:
            raise _malformed(src, pos, "unexpected token: '%s'" % src[pos])
        kind = m.lastgroup
        if kind == "ws":
            pos = m.end()
            continue
        if kind == "string":
            toks.append(_string_token(src, pos))
            pos = toks[-1].value[1]
            toks[-1].value = toks[-1].value[0]
            continue
        text = m.group()
        end = m.end()
        if kind in ("datetime", "date", "number") and end < n and (src[end].isalnum()
                                                                  or src[end] in "_."):
            raise _malformed(src, pos, "unexpected token: '%s'" % src[pos:end + 1])
        value = text
        if kind == "datetime":
            try:
                value = parse_datetime(text)
            except (ValueError, IndexError):
                raise _malformed(src, pos, "line 1:%d no viable alternative at character '%s'"
                                 % (pos, text)) from None
        elif kind == "date":
            try:
                value = parse_date(text)
            except ValueError:
                raise _malformed(src, pos, "invalid date: %s" % text) from None
        elif kind == "number":
            value = float(text) if "." in text else int(text)
        toks.append(Tok(kind, text, value, pos))
        pos = end
    toks.append(Tok("eof", "", None, n))
    return toks


def _string_token(src, start):
    out = []
    wild = []
    i = start + 1
    n = len(src)
    while i < n:
        c = src[i]
        if c == "'":
            tok = Tok("string", src[start:i + 1], None, start, wild)
            tok.value = ("".join(out), i + 1)
            return tok
        if c == "\\":
            if i + 1 >= n:
                break
            e = src[i + 1]
            if e in _ESCAPES:
                out.append(_ESCAPES[e])
                wild.append(False)
            elif e in "_%":
                out.append(e)
                wild.append(False)
            elif e == "u" and re.match(r"[0-9a-fA-F]{4}", src[i + 2:i + 6]):
                out.append(chr(int(src[i + 2:i + 6], 16)))
                wild.append(False)
                i += 4
            else:
                raise _malformed(src, i, "Invalid string literal '%s'. Illegal character "
                                 "sequence '\\%s' in string literal." % (src[start:i + 2], e))
            i += 2
            continue
        out.append(c)
        wild.append(c in "_%")
        i += 1
    raise _malformed(src, start, "line 1:%d mismatched character '<EOF>' expecting '''" % start)


# ---- syntax tree ----------------------------------------------------------

class Query:
    def __init__(self):
        self.items = []       # ("path", text, pos) or ("count", field_text_or_None, pos)
        self.object = None
        self.object_pos = 0
        self.where = None
        self.order = []       # (path, pos, descending, nulls_first)
        self.limit = None
        self.offset = None
        self.src = ""


class _Parser:
    def __init__(self, src):
        self.src = src
        self.toks = tokenize(src)
        self.i = 0

    def peek(self):
        return self.toks[self.i]

    def kw(self, *words):
        t = self.toks[self.i]
        return t.kind == "ident" and t.text.upper() in words

    def take(self):
        t = self.toks[self.i]
        self.i += 1
        return t

    def fail(self, tok=None, text=None):
        tok = tok or self.peek()
        if text is None:
            text = ("unexpected token: <EOF>" if tok.kind == "eof"
                    else "unexpected token: '%s'" % tok.text)
        raise _malformed(self.src, tok.pos, text)

    def expect_kw(self, word):
        if not self.kw(word):
            self.fail()
        return self.take()

    def expect(self, text):
        t = self.peek()
        if t.text != text or t.kind not in ("punct", "op"):
            self.fail()
        return self.take()

    def parse(self):
        q = Query()
        q.src = self.src
        self.expect_kw("SELECT")
        while True:
            t = self.peek()
            if t.kind != "ident":
                self.fail()
            self.take()
            if t.text.upper() == "COUNT" and self.peek().text == "(":
                self.take()
                arg = None
                if self.peek().kind == "ident":
                    arg = self.take().text
                self.expect(")")
                q.items.append(("count", arg, t.pos))
            else:
                if t.text.upper() == "FROM" and not q.items:
                    self.fail(t)
                q.items.append(("path", t.text, t.pos))
            if self.peek().text == "," and self.peek().kind == "punct":
                self.take()
                continue
            break
        self.expect_kw("FROM")
        t = self.peek()
        if t.kind != "ident" or "." in t.text:
            self.fail()
        self.take()
        q.object, q.object_pos = t.text, t.pos
        if self.kw("WHERE"):
            self.take()
            q.where = self.condition()
        if self.kw("ORDER"):
            self.take()
            self.expect_kw("BY")
            while True:
                t = self.peek()
                if t.kind != "ident":
                    self.fail()
                self.take()
                desc = False
                if self.kw("ASC", "DESC"):
                    desc = self.take().text.upper() == "DESC"
                nulls_first = not desc
                if self.kw("NULLS"):
                    self.take()
                    if not self.kw("FIRST", "LAST"):
                        self.fail()
                    nulls_first = self.take().text.upper() == "FIRST"
                q.order.append((t.text, t.pos, desc, nulls_first))
                if self.peek().text == "," and self.peek().kind == "punct":
                    self.take()
                    continue
                break
        if self.kw("LIMIT"):
            self.take()
            q.limit = self.integer()
        if self.kw("OFFSET"):
            self.take()
            q.offset = self.integer()
            if q.offset > MAX_OFFSET:
                raise SoqlError("NUMBER_OUTSIDE_VALID_RANGE",
                                "Maximum SOQL offset allowed is %d" % MAX_OFFSET)
        if self.peek().kind != "eof":
            self.fail()
        return q

    def integer(self):
        t = self.peek()
        if t.kind != "number" or not isinstance(t.value, int) or t.value < 0:
            self.fail()
        return self.take().value

    # condition := term ((AND term)* | (OR term)*) -- mixing needs parentheses
    def condition(self):
        parts = [self.term()]
        joiner = None
        while self.kw("AND", "OR"):
            t = self.peek()
            word = t.text.upper()
            if joiner is not None and word != joiner:
                self.fail(t, "unexpected token: %s" % word)
            joiner = word
            self.take()
            parts.append(self.term())
        if joiner is None:
            return parts[0]
        return (joiner.lower(), parts)

    def term(self):
        if self.peek().kind == "punct" and self.peek().text == "(":
            self.take()
            c = self.condition()
            self.expect(")")
            return c
        if self.kw("NOT"):
            self.take()
            return ("not", self.term())
        return self.comparison()

    def comparison(self):
        t = self.peek()
        if t.kind != "ident":
            self.fail()
        self.take()
        path = (t.text, t.pos)
        if self.peek().kind == "op":
            op = self.take().text
            if op == "<>":
                op = "!="
            return ("cmp", path, op, self.literal())
        if self.kw("LIKE"):
            self.take()
            lit = self.literal()
            return ("like", path, lit)
        negate = False
        if self.kw("NOT"):
            self.take()
            negate = True
            if not self.kw("IN"):
                self.fail()
        if self.kw("IN"):
            self.take()
            self.expect("(")
            values = [self.literal()]
            while self.peek().text == "," and self.peek().kind == "punct":
                self.take()
                values.append(self.literal())
            self.expect(")")
            return ("notin" if negate else "in", path, values)
        self.fail()

    def literal(self):
        t = self.peek()
        if t.kind in ("string", "datetime", "date", "number"):
            return self.take()
        if t.kind == "ident" and t.text.upper() in ("TRUE", "FALSE", "NULL"):
            self.take()
            word = t.text.upper()
            return Tok("null" if word == "NULL" else "boolean", t.text,
                       None if word == "NULL" else word == "TRUE", t.pos)
        self.fail()


def parse(src):
    """Parse SOQL text into a Query; raises SoqlError(MALFORMED_QUERY, ...)."""
    if not src or not src.strip():
        raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>")
    return _Parser(src).parse()


# ---- semantic checks and compilation --------------------------------------

def _no_such_column(q, pos, name, obj):
    row, col = _where(q.src, pos)
    return SoqlError("INVALID_FIELD",
                     "\nERROR at Row:%d:Column:%d\nNo such column '%s' on entity '%s'. If you "
                     "are attempting to use a custom field, be sure to append the '__c' after "
                     "the custom field name. Please reference your WSDL or the describe call "
                     "for the appropriate names." % (row, col, name, obj))


class Path:
    """A resolved field path: relationship hops then a final field."""

    def __init__(self, hops, field, out_names):
        self.hops = hops            # [(ref field index, target object lower, rel name)]
        self.field = field          # data.Field of the final object
        self.out_names = out_names  # canonical names along the way, e.g. ["Account","Name"]

    def getter(self, view):
        idx = self.field.index
        if not self.hops:
            return operator.itemgetter(idx)
        steps = [(ref, view[target]) for ref, target, _ in self.hops]

        def get(rec):
            for ref, table in steps:
                key = rec[ref]
                if key is None:
                    return None
                rec = table.get(key)
                if rec is None:
                    return None
            return rec[idx]
        return get


def resolve_path(q, schemas, root, text, pos):
    parts = text.split(".")
    obj = root
    if len(parts) > 1 and parts[0].lower() == root.name.lower() \
            and parts[0].lower() not in root.relationships:
        parts = parts[1:]
    hops = []
    names = []
    for rel in parts[:-1]:
        f = obj.relationships.get(rel.lower())
        if f is None:
            row, col = _where(q.src, pos)
            raise SoqlError("INVALID_FIELD",
                            "\nERROR at Row:%d:Column:%d\nDidn't understand relationship '%s' "
                            "in field path. If you are attempting to use a custom relationship, "
                            "be sure to append the '__r' after the custom relationship name. "
                            "Please reference your WSDL or the describe call for the "
                            "appropriate names." % (row, col, rel))
        target = f.reference_to[0].lower()
        hops.append((f.index, target, f.relationship_name))
        names.append(f.relationship_name)
        obj = schemas[target]
    f = obj.field(parts[-1])
    if f is None:
        raise _no_such_column(q, pos, parts[-1], obj.name)
    names.append(f.name)
    return Path(hops, f, names)


def _type_name(ftype):
    return {"datetime": "dateTime", "id": "id", "reference": "reference"}.get(ftype, ftype)


def _coerce(field, lit, op):
    """Check a literal against the field type and return the comparable value."""
    ftype = field.type
    kind = lit.kind
    if kind == "null":
        if op not in ("=", "!=", "in", "notin"):
            raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' "
                            "must not be null for operator '%s'" % (field.name, op))
        return None
    if ftype in STRING_TYPES:
        if kind != "string":
            raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must "
                            "be of type string and should be enclosed in quotes" % field.name)
        return lit.value.lower()
    if ftype in ID_TYPES:
        if kind != "string":
            raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must "
                            "be of type id and should be enclosed in quotes" % field.name)
        if lit.value == "" and op in ("=", "!="):
            return None
        norm = normalize_id(lit.value)
        if norm is None:
            raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: %s" % lit.value)
        return norm
    expected = {"boolean": "boolean", "datetime": "datetime", "date": "date"}.get(ftype)
    if ftype in NUMBER_TYPES:
        expected = "number"
    if kind != expected:
        raise SoqlError("INVALID_FIELD", "value of filter criterion for field '%s' must be of "
                        "type %s and should not be enclosed in quotes"
                        % (field.name, _type_name(ftype)))
    if ftype == "boolean" and op not in ("=", "!=", "in", "notin"):
        raise SoqlError("INVALID_QUERY_FILTER_OPERATOR", "invalid operator on boolean field")
    return lit.value


def _like_regex(lit):
    out = []
    for ch, wild in zip(lit.value, lit.wild):
        if wild and ch == "%":
            out.append(".*")
        elif wild and ch == "_":
            out.append(".")
        else:
            out.append(re.escape(ch))
    return re.compile("".join(out), re.I | re.S)


def _check_filterable(field):
    if not field.filterable:
        raise SoqlError("INVALID_FIELD", "field '%s' can not be filtered in query call"
                        % field.name)


class Plan:
    """A compiled query: resolved select paths, predicate factory, sort keys."""

    def __init__(self, q, schemas):
        self.query = q
        self.schemas = schemas
        obj = schemas.get(q.object.lower())
        if obj is None:
            raise SoqlError("INVALID_TYPE", "\n%s\n^\nERROR at Row:%d:Column:%d\nsObject type "
                            "'%s' is not supported. If you are attempting to use a custom "
                            "object, be sure to append the '__c' after the entity name. Please "
                            "reference your WSDL or the describe call for the appropriate "
                            "names." % ((q.object,) + _where(q.src, q.object_pos) + (q.object,)))
        self.obj = obj
        self.deleted_idx = obj.idx("IsDeleted") if obj.field("IsDeleted") else None
        self.count_only = False
        self.count_field = None
        self.paths = []
        counts = [it for it in q.items if it[0] == "count"]
        if counts:
            if len(q.items) != 1:
                raise _malformed(q.src, counts[0][2], "COUNT() and fields cannot be mixed")
            if counts[0][1] is None:
                self.count_only = True
            else:
                self.count_field = resolve_path(q, schemas, obj, counts[0][1], counts[0][2])
        seen = set()
        for kind, text, pos in q.items:
            if kind != "path":
                continue
            p = resolve_path(q, schemas, obj, text, pos)
            key = ".".join(p.out_names).lower()
            if key in seen:
                raise SoqlError("DUPLICATE_FIELD", "duplicate field selected: %s"
                                % ".".join(p.out_names))
            seen.add(key)
            self.paths.append(p)
        self.where = self._compile_cond(q.where) if q.where is not None else None
        self.order = []
        for text, pos, desc, nulls_first in q.order:
            p = resolve_path(q, schemas, obj, text, pos)
            if not p.field.sortable:
                raise SoqlError("INVALID_FIELD", "field '%s' can not be sorted in a query call"
                                % p.field.name)
            self.order.append((p, desc, nulls_first))
        self.limit = q.limit
        self.offset = q.offset or 0

    # WHERE compiles in two steps: here into checked nodes, and per execution
    # (when the view's related tables are known) into one Python expression,
    # which scans a million records several times faster than nested closures.
    def _compile_cond(self, node):
        tag = node[0]
        if tag in ("and", "or"):
            return (tag, [self._compile_cond(n) for n in node[1]])
        if tag == "not":
            return ("not", self._compile_cond(node[1]))
        text, pos = node[1]
        path = resolve_path(self.query, self.schemas, self.obj, text, pos)
        field = path.field
        _check_filterable(field)
        lower = field.type in STRING_TYPES
        if tag == "like":
            if field.type not in STRING_TYPES or node[2].kind != "string":
                raise SoqlError("INVALID_QUERY_FILTER_OPERATOR",
                                "invalid operator on field '%s': LIKE" % field.name)
            return ("like", path, _like_regex(node[2]))
        if tag in ("in", "notin"):
            vals = [_coerce(field, lit, tag) for lit in node[2]]
            return ("in", path, frozenset(v for v in vals if v is not None), None in vals,
                    tag == "notin", lower)
        op = node[2]
        value = _coerce(field, node[3], op)
        if value is None:
            if field.type == "boolean":  # Salesforce: = null means false, != null true
                return ("cmp", path, "=", op != "=", False)
            return ("null", path, op == "=")
        return ("cmp", path, op, value, lower)

    def _emit(self, node, ns, view):
        """Python expression text for a compiled condition node (record is `r`)."""
        tag = node[0]
        if tag in ("and", "or"):
            return "(" + (" %s " % tag).join(self._emit(n, ns, view) for n in node[1]) + ")"
        if tag == "not":
            return "(not " + self._emit(node[1], ns, view) + ")"
        n = len(ns)
        path = node[1]
        if path.hops:
            ns["_g%d" % n] = path.getter(view)
            first, again = "(_v%d := _g%d(r))" % (n, n), "_v%d" % n
        else:
            first = again = "r[%d]" % path.field.index
        if tag == "null":
            return "(%s is %sNone)" % (first, "" if node[2] else "not ")
        if tag == "like":
            ns["_k%d" % n] = node[2]
            return "(%s is not None and _k%d.fullmatch(%s) is not None)" % (first, n, again)
        if tag == "in":
            _, _, valset, has_null, negate, lower = node
            ns["_k%d" % n] = valset
            return "(%r if %s is None else ((%s%s in _k%d) != %r))" % (
                has_null != negate, first, again, ".lower()" if lower else "", n, negate)
        _, _, op, value, lower = node
        ns["_k%d" % n] = value
        pyop = "==" if op == "=" else op
        if lower:
            again = again + ".lower()"
        if op == "!=":  # SOQL: Field != 'x' also matches records where Field is null
            return "(%s is None or %s != _k%d)" % (first, again, n)
        return "(%s is not None and %s %s _k%d)" % (first, again, pyop, n)

    def predicate(self, view):
        if self.where is None:
            return None
        ns = {}
        expr = self._emit(self.where, ns, view)
        return eval("lambda r: " + expr, ns)

    def execute(self, view, include_deleted):
        """Rows (record tuples) of the result, in result order."""
        table = view[self.obj.name.lower()]
        recs = table.values()
        d = self.deleted_idx
        pred = self.predicate(view)
        if pred is None:
            rows = list(recs) if include_deleted or d is None else [r for r in recs if not r[d]]
        elif include_deleted or d is None:
            rows = [r for r in recs if pred(r)]
        else:
            rows = [r for r in recs if not r[d] and pred(r)]
        self._sort(rows, view)
        if self.offset:
            rows = rows[self.offset:]
        if self.limit is not None:
            rows = rows[:self.limit]
        return rows

    def _sort(self, rows, view):
        """ORDER BY.  Plain keys (own field, never null, not text) sharing one
        direction sort in a single pass on an itemgetter -- the sync engine's
        ORDER BY SystemModstamp, Id over a million rows; anything else sorts in
        stable passes from the last key to the first."""
        order = self.order
        # Rows arrive in Id order (tables are kept in Id order) and every pass is
        # stable, so a trailing "Id ASC" is already satisfied.
        if order and not order[-1][0].hops and order[-1][0].field.name == "Id" \
                and not order[-1][1]:
            order = order[:-1]
        if not order:
            return
        plain = all(not p.hops and not p.field.nillable and p.field.type not in STRING_TYPES
                    for p, _, _ in order)
        if plain and len({desc for _, desc, _ in order}) == 1:
            rows.sort(key=operator.itemgetter(*[p.field.index for p, _, _ in order]),
                      reverse=order[0][1])
            return
        for path, desc, nulls_first in reversed(order):
            if not path.hops and not path.field.nillable and path.field.type not in STRING_TYPES:
                rows.sort(key=operator.itemgetter(path.field.index), reverse=desc)
                continue
            g = path.getter(view)
            lower = path.field.type in STRING_TYPES
            # With reverse=True the larger flag comes first, so flip it accordingly.
            null_flag = (0 if nulls_first else 1) if not desc else (1 if nulls_first else 0)
            other = 1 - null_flag

            def key(r, g=g, lower=lower, null_flag=null_flag, other=other):
                v = g(r)
                if v is None:
                    return (null_flag,)
                return (other, v.lower() if lower else v)
            rows.sort(key=key, reverse=desc)

    def count_value(self, view, rows):
        if self.count_field is None:
            return len(rows)
        g = self.count_field.getter(view)
        return sum(1 for r in rows if g(r) is not None)

    def serializer(self, view, version):
        """Function rec -> JSON text of one result record, fields in select order,
        relationship fields nested under their relationship name."""
        return _object_writer(self.obj, self.paths, 0, view, version, self.schemas)


def compile_query(src, schemas):
    return Plan(parse(src), schemas)


# ---- JSON output ----------------------------------------------------------
# A result page of 2,000 records must serialize fast (benchmarks pull a million
# records), so each select list is compiled once into a single Python
# expression that concatenates the JSON text of one record.

def _fmt_dt_quoted(v):
    return '"' + fmt_datetime(v) + '"'


def _fmt_number(v):
    return repr(v) if isinstance(v, float) else str(int(v))


def _leaf_expr(field, ns):
    i = field.index
    t = field.type
    if t == "boolean":
        body = "('true' if rec[%d] else 'false')" % i
    elif t == "datetime":
        body = "_dt(rec[%d])" % i
    elif t == "date":
        body = "'\"' + rec[%d] + '\"'" % i
    elif t in NUMBER_TYPES:
        body = "_num(rec[%d])" % i
    else:
        body = "_str(rec[%d])" % i
    return "('null' if rec[%d] is None else %s)" % (i, body)


def _object_writer(obj, paths, depth, view, version, schemas):
    """Function rec -> JSON text of rec with the fields of `paths` at this depth."""
    ns = {"_dt": _fmt_dt_quoted, "_num": _fmt_number, "_str": _encode_str}
    head = '{"attributes":{"type":"%s","url":"/services/data/v%s/sobjects/%s/' % (
        obj.name, version, obj.name)
    ns["_head"] = head
    parts = ["_head", "rec[0]", repr('"}')]
    groups = {}    # relationship name (lower) -> list of paths under it
    order = []
    for p in paths:
        if len(p.hops) == depth:
            order.append(("leaf", p))
        else:
            key = p.out_names[depth].lower()
            if key not in groups:
                groups[key] = []
                order.append(("rel", key))
            groups[key].append(p)
    for n, (kind, item) in enumerate(order):
        if kind == "leaf":
            parts.append(repr(',"%s":' % item.field.name))
            parts.append(_leaf_expr(item.field, ns))
        else:
            sub = groups[item]
            ref_idx, target, rel_name = sub[0].hops[depth]
            writer = _object_writer(schemas[target], sub, depth + 1, view, version, schemas)

            def rel(key, table=view[target], writer=writer):
                parent = table.get(key) if key is not None else None
                return "null" if parent is None else writer(parent)
            ns["_rel%d" % n] = rel
            parts.append(repr(',"%s":' % rel_name))
            parts.append("_rel%d(rec[%d])" % (n, ref_idx))
    parts.append("'}'")
    return eval("lambda rec: " + " + ".join(parts), ns)
