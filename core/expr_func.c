/*
 * core/expr_func.c - the function library of the mapping language.
 *
 * Each function has an entry in one table: name, arity, whether it is pure
 * (foldable when its arguments are constants), whether it evaluates its own
 * arguments (if, coalesce, default, lookup: so the branch not taken cannot
 * fail), its evaluator and its static type rule.  docs/mapping.md documents
 * every entry; keep the two in step.
 *
 * Unless a function says otherwise it returns null when an argument is null,
 * and it accepts any non-null value where it wants text, using the value's
 * canonical text form (see syncc_value_to_text).
 */
#include "expr_ast.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record.h"
#include "timeutil.h"

#define UNSET (-2)

static void set_null(sync_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = SYNC_TYPE_NULL;
}

void syncc_xset_null(sync_value *out)
{
    set_null(out);
}

static int oom(syncc_xeval *ev)
{
    return syncc_xerr(ev, "out of memory");
}

/* ---- static type rules -------------------------------------------------- */

static const char *tname(int t)
{
    return t == SYNCC_XT_ANY ? "any" : syncc_type_name((sync_type)t);
}

static int unify(int acc, int t)
{
    if (t == SYNC_TYPE_NULL)
        return acc;
    if (acc == UNSET || acc == t)
        return t;
    if (acc == SYNCC_XT_ANY || t == SYNCC_XT_ANY)
        return SYNCC_XT_ANY;
    if ((acc == SYNC_TYPE_INT && t == SYNC_TYPE_FLOAT) || (acc == SYNC_TYPE_FLOAT && t == SYNC_TYPE_INT))
        return SYNC_TYPE_FLOAT;
    return SYNCC_XT_ANY;
}

static int finish_unify(int acc)
{
    return acc == UNSET ? SYNC_TYPE_NULL : acc;
}

#define FIXED_TYPE(fname, t)                                                  \
    static int fname(syncc_xnode *n, char *err, size_t errlen, size_t *pos)   \
    {                                                                         \
        (void)err, (void)errlen, (void)pos;                                   \
        n->type = (t);                                                        \
        return 0;                                                             \
    }

FIXED_TYPE(infer_string, SYNC_TYPE_STRING)
FIXED_TYPE(infer_bool, SYNC_TYPE_BOOL)
FIXED_TYPE(infer_int, SYNC_TYPE_INT)
FIXED_TYPE(infer_float, SYNC_TYPE_FLOAT)
FIXED_TYPE(infer_timestamp, SYNC_TYPE_TIMESTAMP)
FIXED_TYPE(infer_date, SYNC_TYPE_DATE)
FIXED_TYPE(infer_json, SYNC_TYPE_JSON)
FIXED_TYPE(infer_any, SYNCC_XT_ANY)

static int infer_all(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    (void)err, (void)errlen, (void)pos;
    int acc = UNSET;
    for (size_t i = 0; i < n->nargs; i++)
        acc = unify(acc, n->args[i]->type);
    n->type = finish_unify(acc);
    return 0;
}

static int infer_first(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    (void)err, (void)errlen, (void)pos;
    n->type = n->args[0]->type;
    return 0;
}

static int infer_if(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    int c = n->args[0]->type;
    if (c == SYNC_TYPE_TIMESTAMP || c == SYNC_TYPE_DATE || c == SYNC_TYPE_JSON) {
        *pos = n->args[0]->pos;
        snprintf(err, errlen, "if(): condition is a %s, not a truth value", tname(c));
        return -1;
    }
    int acc = unify(UNSET, n->args[1]->type);
    if (n->nargs > 2)
        acc = unify(acc, n->args[2]->type);
    n->type = finish_unify(acc);
    return 0;
}

static int infer_lookup(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    (void)err, (void)errlen, (void)pos;
    int acc = UNSET;
    size_t pairs = (n->nargs - 1) / 2;
    for (size_t i = 0; i < pairs; i++)
        acc = unify(acc, n->args[2 + 2 * i]->type);
    if ((n->nargs - 1) % 2 == 1)
        acc = unify(acc, n->args[n->nargs - 1]->type);
    n->type = finish_unify(acc);
    return 0;
}

static int infer_json_object(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    if (n->nargs % 2 != 0) {
        *pos = n->pos;
        snprintf(err, errlen, "json_object() takes key/value pairs, got an odd number of arguments (%zu)",
                 n->nargs);
        return -1;
    }
    for (size_t i = 0; i < n->nargs; i += 2) {
        int t = n->args[i]->type;
        if (t != SYNC_TYPE_STRING && t != SYNCC_XT_ANY) {
            *pos = n->args[i]->pos;
            snprintf(err, errlen, "json_object(): key %zu must be a string, not %s", i / 2 + 1, tname(t));
            return -1;
        }
    }
    n->type = SYNC_TYPE_JSON;
    return 0;
}

static int infer_substr(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    for (size_t i = 1; i < n->nargs; i++) {
        int t = n->args[i]->type;
        if (t != SYNC_TYPE_INT && t != SYNCC_XT_ANY && t != SYNC_TYPE_NULL) {
            *pos = n->args[i]->pos;
            snprintf(err, errlen, "substr(): %s must be an integer, not %s", i == 1 ? "start" : "length",
                     tname(t));
            return -1;
        }
    }
    n->type = SYNC_TYPE_STRING;
    return 0;
}

/* ---- text helpers ------------------------------------------------------- */

static int text_of(syncc_xeval *ev, const sync_value *v, const char **p, size_t *len)
{
    return syncc_xtext(ev, v, p, len);
}

static int set_text(syncc_xeval *ev, syncc_xbuf *b, sync_type type, sync_value *out)
{
    out->type = type;
    if (syncc_xbuf_end(b, &out->u.str.ptr, &out->u.str.len) != 0)
        return oom(ev);
    return 0;
}

/* Decodes one UTF-8 sequence; invalid bytes decode as themselves (one byte). */
static uint32_t utf8_next(const unsigned char *s, size_t len, size_t *n)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *n = 1;
        return c;
    }
    size_t need = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (need == 0 || need > len) {
        *n = 1;
        return 0xFFFFFFFFu;
    }
    uint32_t cp = c & (0x7F >> need);
    for (size_t i = 1; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            *n = 1;
            return 0xFFFFFFFFu;
        }
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((need == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (need == 4 && (cp < 0x10000 || cp > 0x10FFFF))) {
        *n = 1;
        return 0xFFFFFFFFu;
    }
    *n = need;
    return cp;
}

/* Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic. */
static uint32_t case_map(uint32_t c, int upper)
{
    if (upper) {
        if (c >= 'a' && c <= 'z')
            return c - 32;
        if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2) ||
            (c >= 0x430 && c <= 0x44F))
            return c - 32;
        if (c == 0xFF)
            return 0x178;
        if (c >= 0x450 && c <= 0x45F)
            return c - 80;
        if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F) {
            int odd_lower = (c < 0x139 || (c > 0x148 && c < 0x178));
            if (odd_lower ? (c & 1) : !(c & 1))
                return c - 1;
        }
        return c;
    }
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3A9 && c != 0x3A2) ||
        (c >= 0x410 && c <= 0x42F))
        return c + 32;
    if (c == 0x178)
        return 0xFF;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if (c >= 0x100 && c <= 0x17F && c != 0x130 && c != 0x131 && c != 0x138 && c != 0x149 && c != 0x17F &&
        c != 0x178) {
        int odd_lower = (c < 0x139 || (c > 0x148 && c < 0x178));
        if (odd_lower ? !(c & 1) : (c & 1))
            return c + 1;
    }
    return c;
}

uint32_t syncc_xutf8_next(const unsigned char *s, size_t len, size_t *n)
{
    return utf8_next(s, len, n);
}

uint32_t syncc_xcase_map(uint32_t c, int upper)
{
    return case_map(c, upper);
}

static void utf8_put(syncc_xbuf *b, uint32_t cp)
{
    char t[4];
    if (cp < 0x80) {
        syncc_xbuf_addc(b, (char)cp);
    } else if (cp < 0x800) {
        t[0] = (char)(0xC0 | (cp >> 6));
        t[1] = (char)(0x80 | (cp & 0x3F));
        syncc_xbuf_add(b, t, 2);
    } else if (cp < 0x10000) {
        t[0] = (char)(0xE0 | (cp >> 12));
        t[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[2] = (char)(0x80 | (cp & 0x3F));
        syncc_xbuf_add(b, t, 3);
    } else {
        t[0] = (char)(0xF0 | (cp >> 18));
        t[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        t[3] = (char)(0x80 | (cp & 0x3F));
        syncc_xbuf_add(b, t, 4);
    }
}

int syncc_xtext_arg(syncc_xeval *ev, const syncc_xnode *n, sync_value *out, const char **p, size_t *len)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (a->type == SYNC_TYPE_NULL) {
        set_null(out);
        return 1;
    }
    return text_of(ev, a, p, len) != 0 ? -1 : 0;
}

static int change_case(syncc_xeval *ev, const syncc_xnode *n, sync_value *out, int upper)
{
    const char *p;
    size_t len;
    int t = syncc_xtext_arg(ev, n, out, &p, &len);
    if (t != 0)
        return t < 0 ? -1 : 0;
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    const unsigned char *s = (const unsigned char *)p;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) { /* ASCII fast path */
            char c = (char)s[i++];
            if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
                c = (char)(c ^ 0x20);
            syncc_xbuf_addc(&b, c);
            continue;
        }
        size_t k;
        uint32_t cp = utf8_next(s + i, len - i, &k);
        if (cp == 0xFFFFFFFFu)
            syncc_xbuf_add(&b, p + i, 1); /* keep invalid bytes as they are */
        else
            utf8_put(&b, case_map(cp, upper));
        i += k;
    }
    return set_text(ev, &b, SYNC_TYPE_STRING, out);
}

static int f_lower(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    return change_case(ev, n, out, 0);
}

static int f_upper(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    return change_case(ev, n, out, 1);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int f_trim(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const char *p;
    size_t len;
    int t = syncc_xtext_arg(ev, n, out, &p, &len);
    if (t != 0)
        return t < 0 ? -1 : 0;
    while (len > 0 && is_blank(*p))
        p++, len--;
    while (len > 0 && is_blank(p[len - 1]))
        len--;
    out->type = SYNC_TYPE_STRING;
    out->u.str.ptr = p; /* a slice: not NUL-terminated, which values need not be */
    out->u.str.len = len;
    return 0;
}

/* ---- null handling and choice ------------------------------------------- */

static int f_coalesce(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    for (size_t i = 0; i < n->nargs; i++) {
        if (syncc_xeval_node(ev, n->args[i], out) != 0)
            return -1;
        if (out->type != SYNC_TYPE_NULL)
            return 0;
    }
    set_null(out);
    return 0;
}

static int f_default(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    if (syncc_xeval_node(ev, n->args[0], out) != 0)
        return -1;
    if (out->type != SYNC_TYPE_NULL && !(out->type == SYNC_TYPE_STRING && out->u.str.len == 0))
        return 0;
    return syncc_xeval_node(ev, n->args[1], out);
}

static int f_if(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    sync_value c;
    if (syncc_xeval_node(ev, n->args[0], &c) != 0)
        return -1;
    int t = syncc_xtruth(ev, &c);
    if (t < 0)
        return -1;
    if (t == 1)
        return syncc_xeval_node(ev, n->args[1], out);
    if (n->nargs > 2)
        return syncc_xeval_node(ev, n->args[2], out);
    set_null(out);
    return 0;
}

static int ascii_casecmp_eq(const char *a, size_t la, const char *b, size_t lb)
{
    if (la != lb)
        return 0;
    for (size_t i = 0; i < la; i++) {
        if (syncc_xascii_lower((unsigned char)a[i]) != syncc_xascii_lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

static int f_lookup(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    sync_value x, k;
    if (syncc_xeval_node(ev, n->args[0], &x) != 0)
        return -1;
    size_t pairs = (n->nargs - 1) / 2;
    for (size_t i = 0; i < pairs; i++) {
        if (syncc_xeval_node(ev, n->args[1 + 2 * i], &k) != 0)
            return -1;
        int match;
        if (x.type == SYNC_TYPE_NULL || k.type == SYNC_TYPE_NULL) {
            match = x.type == k.type;
        } else if (x.type == SYNC_TYPE_STRING && k.type == SYNC_TYPE_STRING) {
            match = ascii_casecmp_eq(x.u.str.ptr, x.u.str.len, k.u.str.ptr, k.u.str.len);
        } else {
            int c;
            /* a key that cannot be compared with x (an integer key for 'abc') does not match */
            match = syncc_xcompare(ev, &x, &k, &c) == 0 && c == 0;
            ev->err[0] = '\0';
        }
        if (match)
            return syncc_xeval_node(ev, n->args[2 + 2 * i], out);
    }
    if ((n->nargs - 1) % 2 == 1)
        return syncc_xeval_node(ev, n->args[n->nargs - 1], out);
    set_null(out);
    return 0;
}

static int f_is_null(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    out->type = SYNC_TYPE_BOOL;
    out->u.b = syncc_xargs(ev, n)[0].type == SYNC_TYPE_NULL;
    return 0;
}

static int f_nullif(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    *out = a[0];
    if (a[0].type == SYNC_TYPE_NULL || a[1].type == SYNC_TYPE_NULL)
        return 0;
    int c;
    if (syncc_xcompare(ev, &a[0], &a[1], &c) != 0) {
        ev->err[0] = '\0'; /* values that cannot be compared are not equal */
        return 0;
    }
    if (c == 0)
        set_null(out);
    return 0;
}

/* ---- strings ------------------------------------------------------------ */

static int f_concat(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    const char *p[64];
    size_t l[64];
    /* text forms first: they may use the scratch, which the builder then owns */
    syncc_xbuf b;
    if (n->nargs <= 64) {
        for (size_t i = 0; i < n->nargs; i++)
            if (text_of(ev, &a[i], &p[i], &l[i]) != 0)
                return -1;
        syncc_xbuf_begin(&b, &ev->scratch);
        for (size_t i = 0; i < n->nargs; i++)
            syncc_xbuf_add(&b, p[i], l[i]);
        return set_text(ev, &b, SYNC_TYPE_STRING, out);
    }
    /* many arguments: join pairwise (rare; allocation is fine here) */
    const char *acc = "";
    size_t acc_len = 0;
    for (size_t i = 0; i < n->nargs; i++) {
        const char *q;
        size_t ql;
        if (text_of(ev, &a[i], &q, &ql) != 0)
            return -1;
        syncc_xbuf_begin(&b, &ev->scratch);
        syncc_xbuf_add(&b, acc, acc_len);
        syncc_xbuf_add(&b, q, ql);
        if (syncc_xbuf_end(&b, &acc, &acc_len) != 0)
            return oom(ev);
    }
    out->type = SYNC_TYPE_STRING;
    out->u.str.ptr = acc;
    out->u.str.len = acc_len;
    return 0;
}

static size_t utf8_count(const char *p, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)p[i] & 0xC0) != 0x80;
    return n;
}

/* Byte offset of the code point number cp (0-based) in p, or len. */
static size_t utf8_offset(const char *p, size_t len, int64_t cp)
{
    size_t i = 0;
    int64_t seen = -1;
    for (; i < len; i++) {
        if (((unsigned char)p[i] & 0xC0) != 0x80 && ++seen == cp)
            return i;
    }
    return len;
}

static int int_arg(syncc_xeval *ev, const char *fname, const char *what, const sync_value *v, int64_t *out)
{
    char q[128];
    if (v->type == SYNC_TYPE_INT) {
        *out = v->u.i;
        return 0;
    }
    if (v->type == SYNC_TYPE_FLOAT && v->u.f == floor(v->u.f) && fabs(v->u.f) < 9e15) {
        *out = (int64_t)v->u.f;
        return 0;
    }
    return syncc_xerr(ev, "%s(): %s must be an integer, got %s %s", fname, what, syncc_type_name(v->type),
                      syncc_xquote(v, q, sizeof(q)));
}

static int f_substr(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    for (size_t i = 0; i < n->nargs; i++) {
        if (a[i].type == SYNC_TYPE_NULL) {
            set_null(out);
            return 0;
        }
    }
    const char *p;
    size_t len;
    int64_t start, count = INT64_MAX;
    if (text_of(ev, &a[0], &p, &len) != 0 || int_arg(ev, "substr", "start", &a[1], &start) != 0)
        return -1;
    if (n->nargs > 2) {
        if (int_arg(ev, "substr", "length", &a[2], &count) != 0)
            return -1;
        if (count < 0)
            return syncc_xerr(ev, "substr(): negative length %" PRId64, count);
    }
    /* SQL semantics: characters start .. start+count-1, counted from 1, clipped to the string */
    int64_t end = count == INT64_MAX || start > INT64_MAX - count ? INT64_MAX : start + count;
    if (start < 1)
        start = 1;
    out->type = SYNC_TYPE_STRING;
    if (end <= start) {
        out->u.str.ptr = "";
        out->u.str.len = 0;
        return 0;
    }
    size_t from = utf8_offset(p, len, start - 1);
    size_t to = end == INT64_MAX ? len : utf8_offset(p, len, end - 1);
    out->u.str.ptr = p + from;
    out->u.str.len = to - from;
    return 0;
}

static int f_replace(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (a[0].type == SYNC_TYPE_NULL || a[1].type == SYNC_TYPE_NULL || a[2].type == SYNC_TYPE_NULL) {
        set_null(out);
        return 0;
    }
    const char *s, *from, *to;
    size_t ls, lf, lt;
    if (text_of(ev, &a[0], &s, &ls) != 0 || text_of(ev, &a[1], &from, &lf) != 0 ||
        text_of(ev, &a[2], &to, &lt) != 0)
        return -1;
    if (lf == 0) {
        out->type = SYNC_TYPE_STRING;
        out->u.str.ptr = s;
        out->u.str.len = ls;
        return 0;
    }
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    size_t i = 0;
    while (i < ls) {
        if (i + lf <= ls && memcmp(s + i, from, lf) == 0) {
            syncc_xbuf_add(&b, to, lt);
            i += lf;
        } else {
            syncc_xbuf_addc(&b, s[i++]);
        }
    }
    return set_text(ev, &b, SYNC_TYPE_STRING, out);
}

static int f_length(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const char *p;
    size_t len;
    int t = syncc_xtext_arg(ev, n, out, &p, &len);
    if (t != 0)
        return t < 0 ? -1 : 0;
    out->type = SYNC_TYPE_INT;
    out->u.i = (int64_t)utf8_count(p, len);
    return 0;
}

/* ---- conversions -------------------------------------------------------- */

static int bad_value(syncc_xeval *ev, const char *fname, const char *what, const sync_value *v)
{
    char q[128];
    return syncc_xerr(ev, "%s(): invalid %s %s", fname, what, syncc_xquote(v, q, sizeof(q)));
}

static int cannot_convert(syncc_xeval *ev, const char *fname, const sync_value *v)
{
    char q[128];
    return syncc_xerr(ev, "%s(): cannot convert %s %s", fname, syncc_type_name(v->type),
                      syncc_xquote(v, q, sizeof(q)));
}

static int f_bool(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    int b;
    switch (a->type) {
    case SYNC_TYPE_NULL: set_null(out); return 0;
    case SYNC_TYPE_BOOL: *out = *a; return 0;
    case SYNC_TYPE_INT: b = a->u.i != 0; break;
    case SYNC_TYPE_FLOAT: b = a->u.f != 0.0; break;
    case SYNC_TYPE_STRING:
        if (syncc_xbool_text(a->u.str.ptr, a->u.str.len, &b) != 0)
            return bad_value(ev, "bool", "boolean", a);
        break;
    default:
        return cannot_convert(ev, "bool", a);
    }
    out->type = SYNC_TYPE_BOOL;
    out->u.b = b;
    return 0;
}

static int float_to_int(syncc_xeval *ev, double d, const sync_value *orig, sync_value *out)
{
    char q[128];
    /* truncates toward zero; 2^63 itself is out of range */
    if (!isfinite(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0)
        return syncc_xerr(ev, "int(): %s is out of range for an integer", syncc_xquote(orig, q, sizeof(q)));
    out->type = SYNC_TYPE_INT;
    out->u.i = (int64_t)d;
    return 0;
}

static int f_int(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    sync_value num;
    switch (a->type) {
    case SYNC_TYPE_NULL: set_null(out); return 0;
    case SYNC_TYPE_INT: *out = *a; return 0;
    case SYNC_TYPE_BOOL:
        out->type = SYNC_TYPE_INT;
        out->u.i = a->u.b != 0;
        return 0;
    case SYNC_TYPE_FLOAT: return float_to_int(ev, a->u.f, a, out);
    case SYNC_TYPE_STRING:
        if (syncc_xparse_number(a->u.str.ptr, a->u.str.len, &num) != 0)
            return bad_value(ev, "int", "integer", a);
        if (num.type == SYNC_TYPE_INT) {
            *out = num;
            return 0;
        }
        return float_to_int(ev, num.u.f, a, out);
    default:
        return cannot_convert(ev, "int", a);
    }
}

static int f_float(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    sync_value num;
    double d;
    switch (a->type) {
    case SYNC_TYPE_NULL: set_null(out); return 0;
    case SYNC_TYPE_FLOAT: *out = *a; return 0;
    case SYNC_TYPE_INT: d = (double)a->u.i; break;
    case SYNC_TYPE_BOOL: d = a->u.b ? 1.0 : 0.0; break;
    case SYNC_TYPE_STRING:
        if (syncc_xparse_number(a->u.str.ptr, a->u.str.len, &num) != 0)
            return bad_value(ev, "float", "number", a);
        d = num.type == SYNC_TYPE_INT ? (double)num.u.i : num.u.f;
        break;
    default:
        return cannot_convert(ev, "float", a);
    }
    out->type = SYNC_TYPE_FLOAT;
    out->u.f = d;
    return 0;
}

static int f_string(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (a->type == SYNC_TYPE_NULL) {
        set_null(out);
        return 0;
    }
    out->type = SYNC_TYPE_STRING;
    return text_of(ev, a, &out->u.str.ptr, &out->u.str.len);
}

static int f_timestamp(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    int date_only;
    int64_t us;
    switch (a->type) {
    case SYNC_TYPE_NULL: set_null(out); return 0;
    case SYNC_TYPE_TIMESTAMP: *out = *a; return 0;
    case SYNC_TYPE_DATE: us = a->u.ts * INT64_C(86400000000); break;
    case SYNC_TYPE_STRING:
        if (syncc_time_parse(a->u.str.ptr, a->u.str.len, &us, &date_only) != 0)
            return bad_value(ev, "timestamp", "timestamp", a);
        break;
    default:
        return cannot_convert(ev, "timestamp", a);
    }
    out->type = SYNC_TYPE_TIMESTAMP;
    out->u.ts = us;
    return 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int f_date(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    int date_only;
    int64_t us;
    switch (a->type) {
    case SYNC_TYPE_NULL: set_null(out); return 0;
    case SYNC_TYPE_DATE: *out = *a; return 0;
    case SYNC_TYPE_TIMESTAMP: us = a->u.ts; break;
    case SYNC_TYPE_STRING:
        if (syncc_time_parse(a->u.str.ptr, a->u.str.len, &us, &date_only) != 0)
            return bad_value(ev, "date", "date", a);
        break;
    default:
        return cannot_convert(ev, "date", a);
    }
    out->type = SYNC_TYPE_DATE;
    out->u.ts = floor_div(us, INT64_C(86400000000));
    return 0;
}

static int f_now(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    (void)n;
    out->type = SYNC_TYPE_TIMESTAMP;
    out->u.ts = ev->now;
    return 0;
}

/* ---- JSON --------------------------------------------------------------- */

static void json_string(syncc_xbuf *b, const char *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)p;
    syncc_xbuf_addc(b, '"');
    size_t run = 0; /* start of the pending run of bytes copied as they are */
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7f) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k;
            if (utf8_next(s + i, len - i, &k) != 0xFFFFFFFFu) {
                i += k;
                continue;
            }
        }
        syncc_xbuf_add(b, p + run, i - run);
        switch (c) {
        case '"': syncc_xbuf_add(b, "\\\"", 2); break;
        case '\\': syncc_xbuf_add(b, "\\\\", 2); break;
        case '\n': syncc_xbuf_add(b, "\\n", 2); break;
        case '\r': syncc_xbuf_add(b, "\\r", 2); break;
        case '\t': syncc_xbuf_add(b, "\\t", 2); break;
        case '\b': syncc_xbuf_add(b, "\\b", 2); break;
        case '\f': syncc_xbuf_add(b, "\\f", 2); break;
        default:
            if (c >= 0x80) {
                syncc_xbuf_add(b, "\xEF\xBF\xBD", 3); /* invalid UTF-8 becomes U+FFFD */
            } else {
                char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                syncc_xbuf_add(b, u, 6);
            }
        }
        i++;
        run = i;
    }
    syncc_xbuf_add(b, p + run, len - run);
    syncc_xbuf_addc(b, '"');
}

void syncc_xjson_string(syncc_xbuf *b, const char *p, size_t len)
{
    json_string(b, p, len);
}

static void json_value(syncc_xbuf *b, const sync_value *v)
{
    char tmp[64];
    size_t len;
    switch (v->type) {
    case SYNC_TYPE_NULL:
        syncc_xbuf_add(b, "null", 4);
        return;
    case SYNC_TYPE_STRING:
        json_string(b, v->u.str.ptr, v->u.str.len);
        return;
    case SYNC_TYPE_JSON:
        if (v->u.str.len == 0)
            syncc_xbuf_add(b, "null", 4);
        else
            syncc_xbuf_add(b, v->u.str.ptr, v->u.str.len);
        return;
    case SYNC_TYPE_FLOAT:
        if (!isfinite(v->u.f)) {
            syncc_xbuf_add(b, "null", 4);
            return;
        }
        break;
    default:
        break;
    }
    if (syncc_xformat(v, tmp, sizeof(tmp), &len) != 0) {
        syncc_xbuf_add(b, "null", 4);
        return;
    }
    if (v->type == SYNC_TYPE_TIMESTAMP || v->type == SYNC_TYPE_DATE)
        json_string(b, tmp, len);
    else
        syncc_xbuf_add(b, tmp, len);
}

static int f_json_object(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    const char *kp[64];
    size_t kl[64];
    size_t npairs = n->nargs / 2;
    for (size_t i = 0; i < npairs; i++) {
        const sync_value *k = &a[2 * i];
        if (k->type == SYNC_TYPE_NULL)
            return syncc_xerr(ev, "json_object(): key %zu is null", i + 1);
        if (i < 64 && text_of(ev, k, &kp[i], &kl[i]) != 0)
            return -1;
    }
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    syncc_xbuf_addc(&b, '{');
    for (size_t i = 0; i < npairs; i++) {
        const sync_value *k = &a[2 * i];
        if (i)
            syncc_xbuf_addc(&b, ',');
        if (i < 64)
            json_string(&b, kp[i], kl[i]);
        else if (k->type == SYNC_TYPE_STRING || k->type == SYNC_TYPE_JSON)
            json_string(&b, k->u.str.ptr, k->u.str.len);
        else {
            /* beyond 64 pairs the key's text is made here, without the scratch */
            char tmp[64];
            size_t tl = 0;
            if (syncc_value_to_text(k, tmp, sizeof(tmp), &tl) != 0)
                tl = 0;
            json_string(&b, tmp, tl);
        }
        syncc_xbuf_addc(&b, ':');
        json_value(&b, &a[2 * i + 1]);
    }
    syncc_xbuf_addc(&b, '}');
    return set_text(ev, &b, SYNC_TYPE_JSON, out);
}

static int f_json_array(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    syncc_xbuf_addc(&b, '[');
    for (size_t i = 0; i < n->nargs; i++) {
        if (i)
            syncc_xbuf_addc(&b, ',');
        json_value(&b, &a[i]);
    }
    syncc_xbuf_addc(&b, ']');
    return set_text(ev, &b, SYNC_TYPE_JSON, out);
}

/*
 * split(s, sep): the parts of s between occurrences of sep as a JSON array of
 * strings, blanks around each part trimmed and empty parts left out; a
 * Salesforce multi-select picklist "a;b" becomes ["a","b"].  Null if s is.
 */
static int f_split(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (a[0].type == SYNC_TYPE_NULL || a[1].type == SYNC_TYPE_NULL) {
        set_null(out);
        return 0;
    }
    const char *s, *sep;
    size_t ls, lsep;
    if (text_of(ev, &a[0], &s, &ls) != 0 || text_of(ev, &a[1], &sep, &lsep) != 0)
        return -1;
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    syncc_xbuf_addc(&b, '[');
    size_t i = 0, parts = 0;
    while (i <= ls) {
        size_t e = i;
        while (e < ls && !(lsep > 0 && e + lsep <= ls && memcmp(s + e, sep, lsep) == 0))
            e++;
        size_t from = i, to = e;
        while (from < to && (s[from] == ' ' || s[from] == '\t'))
            from++;
        while (to > from && (s[to - 1] == ' ' || s[to - 1] == '\t'))
            to--;
        if (to > from) {
            if (parts++)
                syncc_xbuf_addc(&b, ',');
            json_string(&b, s + from, to - from);
        }
        i = e + (lsep > 0 ? lsep : 1);
    }
    syncc_xbuf_addc(&b, ']');
    return set_text(ev, &b, SYNC_TYPE_JSON, out);
}

/* ---- the table ---------------------------------------------------------- */

static const syncc_xfunc funcs[] = {
    {"bool", 1, 1, 1, 0, f_bool, infer_bool, "bool(x)"},
    {"choose", 2, -1, 1, 1, syncc_xf_choose, syncc_xi_choose,
     "choose(condition1, value1, condition2, value2, ..., [else])"},
    {"coalesce", 1, -1, 1, 1, f_coalesce, infer_all, "coalesce(a, b, ...)"},
    {"concat", 1, -1, 1, 0, f_concat, infer_string, "concat(a, b, ...)"},
    {"contains_any", 2, -1, 1, 0, syncc_xf_contains_any, infer_bool, "contains_any(text, 'phrase1', 'phrase2', ...)"},
    {"count_matches", 2, -1, 1, 0, syncc_xf_count_matches, infer_int,
     "count_matches(text, 'phrase1', 'phrase2', ...)"},
    {"date", 1, 1, 1, 0, f_date, infer_date, "date(x)"},
    {"default", 2, 2, 1, 1, f_default, infer_all, "default(a, b)"},
    {"float", 1, 1, 1, 0, f_float, infer_float, "float(x)"},
    {"if", 2, 3, 1, 1, f_if, infer_if, "if(condition, then, else)"},
    {"int", 1, 1, 1, 0, f_int, infer_int, "int(x)"},
    {"is_null", 1, 1, 1, 0, f_is_null, infer_bool, "is_null(x)"},
    {"join", 2, 2, 1, 0, syncc_xf_join, infer_string, "join(array, separator)"},
    {"json_array", 0, -1, 1, 0, f_json_array, infer_json, "json_array(v1, v2, ...)"},
    {"json_filter", 3, 3, 1, 0, syncc_xf_json_filter, infer_json, "json_filter(array, 'field', value)"},
    {"json_get", 2, 2, 1, 0, syncc_xf_json_get, infer_any, "json_get(json, '/pointer')"},
    {"json_grep", 2, -1, 1, 0, syncc_xf_json_grep, infer_json, "json_grep(array, 'phrase1', 'phrase2', ...)"},
    {"json_length", 1, 1, 1, 0, syncc_xf_json_length, infer_int, "json_length(json)"},
    {"json_object", 0, -1, 1, 0, f_json_object, infer_json_object, "json_object('key', value, ...)"},
    {"json_pluck", 2, 2, 1, 0, syncc_xf_json_pluck, infer_json, "json_pluck(array, 'field')"},
    {"length", 1, 1, 1, 0, f_length, infer_int, "length(s)"},
    {"lookup", 3, -1, 1, 1, f_lookup, infer_lookup, "lookup(x, key1, value1, key2, value2, ..., [default])"},
    {"lower", 1, 1, 1, 0, f_lower, infer_string, "lower(s)"},
    {"matches", 2, 3, 1, 0, syncc_xf_matches, syncc_xi_matches, "matches(text, 'regex', ['c'])"},
    {"md5", 1, 1, 1, 0, syncc_xf_md5, infer_string, "md5(s)"},
    {"now", 0, 0, 0, 0, f_now, infer_timestamp, "now()"},
    {"nullif", 2, 2, 1, 0, f_nullif, infer_first, "nullif(a, b)"},
    {"replace", 3, 3, 1, 0, f_replace, infer_string, "replace(s, from, to)"},
    {"split", 2, 2, 1, 0, f_split, infer_json, "split(s, separator)"},
    {"string", 1, 1, 1, 0, f_string, infer_string, "string(x)"},
    {"substr", 2, 3, 1, 0, f_substr, infer_substr, "substr(s, start, [length])"},
    {"timestamp", 1, 1, 1, 0, f_timestamp, infer_timestamp, "timestamp(x)"},
    {"trim", 1, 1, 1, 0, f_trim, infer_string, "trim(s)"},
    {"upper", 1, 1, 1, 0, f_upper, infer_string, "upper(s)"},
};

#define N_FUNCS (sizeof(funcs) / sizeof(funcs[0]))

const syncc_xfunc *syncc_xfunc_find(const char *name, size_t len)
{
    for (size_t i = 0; i < N_FUNCS; i++)
        if (strlen(funcs[i].name) == len && strncasecmp(funcs[i].name, name, len) == 0)
            return &funcs[i];
    return NULL;
}

static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[32];
    if (la >= 31 || lb >= 31)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            char x = a[i - 1], y = b[j - 1];
            if (x >= 'A' && x <= 'Z')
                x += 32;
            size_t sub = diag + (x != y);
            size_t del = row[j] + 1, ins = row[j - 1] + 1;
            diag = row[j];
            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
    }
    return row[lb];
}

const char *syncc_xfunc_closest(const char *name, size_t len)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < N_FUNCS; i++) {
        size_t d = edit_distance(name, len, funcs[i].name, strlen(funcs[i].name));
        if (d < best_d) {
            best_d = d;
            best = funcs[i].name;
        }
    }
    size_t limit = len / 2 > 2 ? len / 2 : 2;
    return best_d <= limit ? best : NULL;
}
