/*
 * core/expr_eval.c - evaluates compiled mapping expressions against a record.
 *
 * This is the per-record hot path: a walk over the node tree with no
 * allocation.  Field lookups go through the mapping's slot cache (one lookup
 * per field path and record, starting at the position the field had in the
 * previous record), and every intermediate string lives in a scratch buffer
 * that is emptied once per record.  Operators follow SQL's null rules: null
 * propagates through arithmetic, ordering comparisons and ||, "and"/"or" are
 * three-valued, and "=" / "!=" treat null as a value equal only to itself.
 */
#include "expr_ast.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "record.h"
#include "timeutil.h"

/* ---- scratch memory ----------------------------------------------------- */

#define SCRATCH_MIN 4096

struct syncc_xchunk {
    syncc_xchunk *next;
    size_t cap, used;
    _Alignas(16) char data[];
};

static syncc_xchunk *chunk_new(syncc_xscratch *s, size_t need)
{
    size_t cap = SCRATCH_MIN;
    if (s->cur != NULL && s->cur->cap * 2 > cap)
        cap = s->cur->cap * 2;
    while (cap < need)
        cap *= 2;
    syncc_xchunk *c = malloc(sizeof(*c) + cap);
    if (c == NULL)
        return NULL;
    c->cap = cap;
    c->used = 0;
    c->next = s->cur;
    s->cur = c;
    return c;
}

void *syncc_xscratch_alloc(syncc_xscratch *s, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    syncc_xchunk *c = s->cur;
    if (c == NULL || c->cap - c->used < n) {
        if ((c = chunk_new(s, n)) == NULL)
            return NULL;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

void syncc_xscratch_reset(syncc_xscratch *s)
{
    syncc_xchunk *c = s->cur;
    if (c == NULL)
        return;
    if (c->next != NULL) {
        /* Several chunks were needed: replace them by one of the total size,
         * so the next records of this shape need no allocation at all. */
        size_t total = 0;
        for (syncc_xchunk *k = c; k != NULL; k = k->next)
            total += k->cap;
        syncc_xscratch_free(s);
        if (chunk_new(s, total) == NULL)
            return;
        c = s->cur;
    }
    c->used = 0;
}

void syncc_xscratch_free(syncc_xscratch *s)
{
    syncc_xchunk *c = s->cur;
    while (c != NULL) {
        syncc_xchunk *next = c->next;
        free(c);
        c = next;
    }
    s->cur = NULL;
}

void syncc_xbuf_begin(syncc_xbuf *b, syncc_xscratch *s)
{
    b->s = s;
    b->len = 0;
    b->oom = 0;
    syncc_xchunk *c = s->cur;
    if (c == NULL && (c = chunk_new(s, SCRATCH_MIN)) == NULL) {
        b->p = NULL;
        b->cap = 0;
        b->oom = 1;
        return;
    }
    b->p = c->data + c->used;
    b->cap = c->cap - c->used;
}

int syncc_xbuf_grow(syncc_xbuf *b, size_t need)
{
    if (b->oom)
        return -1;
    /* Move the partial string to a fresh chunk; the old bytes stay where
     * they are (unreserved) until the scratch is reset. */
    syncc_xchunk *c = chunk_new(b->s, (b->len + need + 1) * 2);
    if (c == NULL) {
        b->oom = 1;
        return -1;
    }
    if (b->len)
        memcpy(c->data, b->p, b->len);
    b->p = c->data;
    b->cap = c->cap;
    return 0;
}

int syncc_xbuf_end(syncc_xbuf *b, const char **p, size_t *len)
{
    if (b->oom)
        return -1;
    b->p[b->len] = '\0';
    b->s->cur->used += (b->len + 1 + 15) & ~(size_t)15;
    *p = b->p;
    *len = b->len;
    return 0;
}

/* ---- errors and text ---------------------------------------------------- */

int syncc_xerr(syncc_xeval *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ev->err, sizeof(ev->err), fmt, ap);
    va_end(ap);
    return -1;
}

const char *syncc_xquote(const sync_value *v, char *buf, size_t size)
{
    char tmp[96];
    size_t len = 0;
    if (v->type == SYNC_TYPE_NULL) {
        snprintf(buf, size, "null");
        return buf;
    }
    if (v->type == SYNC_TYPE_STRING || v->type == SYNC_TYPE_JSON) {
        size_t n = v->u.str.len;
        const char *more = "";
        if (n > 60) {
            n = 60;
            while (n > 0 && ((unsigned char)v->u.str.ptr[n] & 0xC0) == 0x80)
                n--; /* do not cut a UTF-8 sequence */
            more = "...";
        }
        snprintf(buf, size, "'%.*s'%s", (int)n, v->u.str.ptr, more);
        return buf;
    }
    if (syncc_value_to_text(v, tmp, sizeof(tmp), &len) < 0)
        snprintf(tmp, sizeof(tmp), "?");
    snprintf(buf, size, "%s", tmp);
    return buf;
}

/* Civil date from days since the epoch (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + width;
}

/*
 * The text of integers, dates and timestamps without printf (this runs for
 * every timestamp put into JSON); same output as syncc_value_to_text.
 */
int syncc_xformat(const sync_value *v, char *buf, size_t size, size_t *len)
{
    if (size < 48)
        return -1;
    if (v->type == SYNC_TYPE_INT) {
        char tmp[24];
        int n = 0;
        uint64_t u = v->u.i < 0 ? (uint64_t)0 - (uint64_t)v->u.i : (uint64_t)v->u.i;
        do {
            tmp[n++] = (char)('0' + u % 10);
            u /= 10;
        } while (u);
        size_t k = 0;
        if (v->u.i < 0)
            buf[k++] = '-';
        while (n)
            buf[k++] = tmp[--n];
        buf[k] = '\0';
        *len = k;
        return 0;
    }
    if (v->type == SYNC_TYPE_TIMESTAMP || v->type == SYNC_TYPE_DATE) {
        int64_t days = v->u.ts, sod = 0, frac = 0;
        if (v->type == SYNC_TYPE_TIMESTAMP) {
            int64_t us = v->u.ts;
            int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
            frac = us - secs * 1000000;
            days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
            sod = secs - days * 86400;
        }
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        if (y < 0 || y > 9999)
            return syncc_value_to_text(v, buf, size, len);
        char *p = put_digits(buf, (uint64_t)y, 4);
        *p++ = '-';
        p = put_digits(p, m, 2);
        *p++ = '-';
        p = put_digits(p, d, 2);
        if (v->type == SYNC_TYPE_TIMESTAMP) {
            *p++ = 'T';
            p = put_digits(p, (uint64_t)(sod / 3600), 2);
            *p++ = ':';
            p = put_digits(p, (uint64_t)(sod / 60 % 60), 2);
            *p++ = ':';
            p = put_digits(p, (uint64_t)(sod % 60), 2);
            *p++ = '.';
            p = put_digits(p, (uint64_t)frac, 6);
            *p++ = 'Z';
        }
        *p = '\0';
        *len = (size_t)(p - buf);
        return 0;
    }
    if (v->type == SYNC_TYPE_BOOL) {
        *len = v->u.b ? 4 : 5;
        memcpy(buf, v->u.b ? "true" : "false", *len + 1);
        return 0;
    }
    return syncc_value_to_text(v, buf, size, len);
}

int syncc_xtext(syncc_xeval *ev, const sync_value *v, const char **p, size_t *len)
{
    if (v->type == SYNC_TYPE_STRING || v->type == SYNC_TYPE_JSON) {
        *p = v->u.str.ptr;
        *len = v->u.str.len;
        return 0;
    }
    if (v->type == SYNC_TYPE_NULL) {
        *p = "";
        *len = 0;
        return 0;
    }
    char *buf = syncc_xscratch_alloc(&ev->scratch, 48);
    if (buf == NULL || syncc_xformat(v, buf, 48, len) < 0)
        return syncc_xerr(ev, "out of memory");
    *p = buf;
    return 0;
}

/* ---- conversions used by comparisons ------------------------------------ */

int syncc_xparse_number(const char *s, size_t len, sync_value *out)
{
    char tmp[64];
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    long long i = strtoll(tmp, &end, 10);
    if (*end == '\0' && errno == 0) {
        out->type = SYNC_TYPE_INT;
        out->u.i = i;
        return 0;
    }
    errno = 0;
    double d = strtod(tmp, &end);
    if (*end != '\0' || errno == ERANGE || !isfinite(d) || tmp[0] == 'i' || tmp[0] == 'n')
        return -1;
    out->type = SYNC_TYPE_FLOAT;
    out->u.f = d;
    return 0;
}

static int is_num(sync_type t)
{
    return t == SYNC_TYPE_INT || t == SYNC_TYPE_FLOAT;
}

static int is_text(sync_type t)
{
    return t == SYNC_TYPE_STRING || t == SYNC_TYPE_JSON;
}

static int is_time(sync_type t)
{
    return t == SYNC_TYPE_TIMESTAMP || t == SYNC_TYPE_DATE;
}

int syncc_xbool_text(const char *s, size_t len, int *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    while (len > 0 && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0)
            return *out = 1, 0;
        if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0)
            return *out = 0, 0;
    }
    return -1;
}

int syncc_xtruth(syncc_xeval *ev, const sync_value *v)
{
    char q[128];
    int b;
    switch (v->type) {
    case SYNC_TYPE_NULL: return 2;
    case SYNC_TYPE_BOOL: return v->u.b != 0;
    case SYNC_TYPE_INT: return v->u.i != 0;
    case SYNC_TYPE_FLOAT: return v->u.f != 0.0;
    case SYNC_TYPE_STRING:
        if (syncc_xbool_text(v->u.str.ptr, v->u.str.len, &b) == 0)
            return b;
        break;
    default:
        break;
    }
    return syncc_xerr(ev, "%s %s is not a truth value", syncc_type_name(v->type),
                      syncc_xquote(v, q, sizeof(q)));
}

static int cmp3(double a, double b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
    return a < b ? -1 : a > b ? 1 : 0;
}

static int64_t time_usec(const sync_value *v)
{
    return v->type == SYNC_TYPE_DATE ? v->u.ts * INT64_C(86400000000) : v->u.ts;
}

static int incomparable(syncc_xeval *ev, const sync_value *a, const sync_value *b)
{
    char qa[128], qb[128];
    return syncc_xerr(ev, "cannot compare %s %s with %s %s", syncc_type_name(a->type),
                      syncc_xquote(a, qa, sizeof(qa)), syncc_type_name(b->type),
                      syncc_xquote(b, qb, sizeof(qb)));
}

int syncc_xcompare(syncc_xeval *ev, const sync_value *a, const sync_value *b, int *cmp)
{
    sync_type ta = a->type, tb = b->type;
    if (is_num(ta) && is_num(tb)) {
        if (ta == SYNC_TYPE_INT && tb == SYNC_TYPE_INT)
            *cmp = cmp_i64(a->u.i, b->u.i);
        else
            *cmp = cmp3(ta == SYNC_TYPE_INT ? (double)a->u.i : a->u.f,
                        tb == SYNC_TYPE_INT ? (double)b->u.i : b->u.f);
        return 0;
    }
    if (is_text(ta) && is_text(tb)) {
        size_t n = a->u.str.len < b->u.str.len ? a->u.str.len : b->u.str.len;
        int c = n ? memcmp(a->u.str.ptr, b->u.str.ptr, n) : 0;
        *cmp = c != 0 ? (c < 0 ? -1 : 1) : cmp_i64((int64_t)a->u.str.len, (int64_t)b->u.str.len);
        return 0;
    }
    if (ta == SYNC_TYPE_BOOL && tb == SYNC_TYPE_BOOL) {
        *cmp = cmp_i64(a->u.b != 0, b->u.b != 0);
        return 0;
    }
    if (ta == SYNC_TYPE_DATE && tb == SYNC_TYPE_DATE) {
        *cmp = cmp_i64(a->u.ts, b->u.ts);
        return 0;
    }
    if (is_time(ta) && is_time(tb)) {
        *cmp = cmp_i64(time_usec(a), time_usec(b));
        return 0;
    }
    /* A string against a typed value: read the string as that type. */
    if (ta == SYNC_TYPE_STRING || tb == SYNC_TYPE_STRING) {
        int swap = ta != SYNC_TYPE_STRING;
        const sync_value *s = swap ? b : a, *o = swap ? a : b;
        sync_value conv;
        int ok = -1;
        if (is_num(o->type)) {
            ok = syncc_xparse_number(s->u.str.ptr, s->u.str.len, &conv);
        } else if (o->type == SYNC_TYPE_BOOL) {
            int bv;
            if ((ok = syncc_xbool_text(s->u.str.ptr, s->u.str.len, &bv)) == 0) {
                conv.type = SYNC_TYPE_BOOL;
                conv.u.b = bv;
            }
        } else if (is_time(o->type)) {
            int date_only = 0;
            int64_t us;
            if ((ok = syncc_time_parse(s->u.str.ptr, s->u.str.len, &us, &date_only)) == 0) {
                if (date_only && o->type == SYNC_TYPE_DATE) {
                    conv.type = SYNC_TYPE_DATE;
                    conv.u.ts = us / INT64_C(86400000000);
                } else {
                    conv.type = SYNC_TYPE_TIMESTAMP;
                    conv.u.ts = us;
                }
            }
        }
        if (ok != 0)
            return incomparable(ev, a, b);
        int c;
        if (syncc_xcompare(ev, &conv, o, &c) != 0)
            return -1;
        *cmp = swap ? -c : c;
        return 0;
    }
    return incomparable(ev, a, b);
}

/* ---- operators ---------------------------------------------------------- */

static const char *const op_text[] = {
    [SYNCC_XO_NEG] = "-", [SYNCC_XO_NOT] = "not", [SYNCC_XO_ADD] = "+", [SYNCC_XO_SUB] = "-",
    [SYNCC_XO_MUL] = "*", [SYNCC_XO_DIV] = "/",   [SYNCC_XO_CAT] = "||", [SYNCC_XO_EQ] = "=",
    [SYNCC_XO_NE] = "!=", [SYNCC_XO_LT] = "<",    [SYNCC_XO_LE] = "<=", [SYNCC_XO_GT] = ">",
    [SYNCC_XO_GE] = ">=", [SYNCC_XO_AND] = "and", [SYNCC_XO_OR] = "or",
};

static void set_bool(sync_value *out, int b)
{
    out->type = SYNC_TYPE_BOOL;
    out->u.b = b;
}

static void set_null(sync_value *out)
{
    memset(out, 0, sizeof(*out));
    out->type = SYNC_TYPE_NULL;
}

static int not_numeric(syncc_xeval *ev, int op, const sync_value *v)
{
    char q[128];
    return syncc_xerr(ev, "operator %s expects numbers, got %s %s", op_text[op],
                      syncc_type_name(v->type), syncc_xquote(v, q, sizeof(q)));
}

static int arith(syncc_xeval *ev, int op, const sync_value *a, const sync_value *b, sync_value *out)
{
    if (!is_num(a->type))
        return not_numeric(ev, op, a);
    if (!is_num(b->type))
        return not_numeric(ev, op, b);
    if (a->type == SYNC_TYPE_INT && b->type == SYNC_TYPE_INT) {
        int64_t x = a->u.i, y = b->u.i, r = 0;
        int overflow = 0;
        switch (op) {
        case SYNCC_XO_ADD: overflow = __builtin_add_overflow(x, y, &r); break;
        case SYNCC_XO_SUB: overflow = __builtin_sub_overflow(x, y, &r); break;
        case SYNCC_XO_MUL: overflow = __builtin_mul_overflow(x, y, &r); break;
        default:
            if (y == 0)
                return syncc_xerr(ev, "division by zero");
            if (x == INT64_MIN && y == -1)
                overflow = 1;
            else
                r = x / y;
            break;
        }
        if (overflow)
            return syncc_xerr(ev, "integer out of range in %" PRId64 " %s %" PRId64, x, op_text[op], y);
        out->type = SYNC_TYPE_INT;
        out->u.i = r;
        return 0;
    }
    double x = a->type == SYNC_TYPE_INT ? (double)a->u.i : a->u.f;
    double y = b->type == SYNC_TYPE_INT ? (double)b->u.i : b->u.f;
    double r;
    switch (op) {
    case SYNCC_XO_ADD: r = x + y; break;
    case SYNCC_XO_SUB: r = x - y; break;
    case SYNCC_XO_MUL: r = x * y; break;
    default:
        if (y == 0.0)
            return syncc_xerr(ev, "division by zero");
        r = x / y;
        break;
    }
    if (!isfinite(r))
        return syncc_xerr(ev, "float out of range in operator %s", op_text[op]);
    out->type = SYNC_TYPE_FLOAT;
    out->u.f = r;
    return 0;
}

static int eval_logic(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    sync_value a, b;
    if (syncc_xeval_node(ev, n->args[0], &a) != 0)
        return -1;
    int ta = syncc_xtruth(ev, &a);
    if (ta < 0)
        return -1;
    int decided = n->op == SYNCC_XO_AND ? 0 : 1;
    if (ta == decided) {
        set_bool(out, decided);
        return 0;
    }
    if (syncc_xeval_node(ev, n->args[1], &b) != 0)
        return -1;
    int tb = syncc_xtruth(ev, &b);
    if (tb < 0)
        return -1;
    if (tb == decided)
        set_bool(out, decided);
    else if (ta == 2 || tb == 2)
        set_null(out);
    else
        set_bool(out, !decided);
    return 0;
}

static int eval_binary(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    if (n->op == SYNCC_XO_AND || n->op == SYNCC_XO_OR)
        return eval_logic(ev, n, out);
    sync_value a, b;
    if (syncc_xeval_node(ev, n->args[0], &a) != 0 || syncc_xeval_node(ev, n->args[1], &b) != 0)
        return -1;
    int anull = a.type == SYNC_TYPE_NULL, bnull = b.type == SYNC_TYPE_NULL;
    int c;
    switch (n->op) {
    case SYNCC_XO_EQ:
    case SYNCC_XO_NE:
        if (anull || bnull) {
            c = anull && bnull ? 0 : 1;
        } else if (syncc_xcompare(ev, &a, &b, &c) != 0) {
            return -1;
        }
        set_bool(out, n->op == SYNCC_XO_EQ ? c == 0 : c != 0);
        return 0;
    case SYNCC_XO_LT:
    case SYNCC_XO_LE:
    case SYNCC_XO_GT:
    case SYNCC_XO_GE:
        if (anull || bnull) {
            set_null(out);
            return 0;
        }
        if (syncc_xcompare(ev, &a, &b, &c) != 0)
            return -1;
        set_bool(out, n->op == SYNCC_XO_LT ? c < 0 : n->op == SYNCC_XO_LE ? c <= 0
                                                 : n->op == SYNCC_XO_GT ? c > 0 : c >= 0);
        return 0;
    case SYNCC_XO_CAT: {
        if (anull || bnull) {
            set_null(out);
            return 0;
        }
        const char *pa, *pb;
        size_t la, lb;
        if (syncc_xtext(ev, &a, &pa, &la) != 0 || syncc_xtext(ev, &b, &pb, &lb) != 0)
            return -1;
        syncc_xbuf buf;
        syncc_xbuf_begin(&buf, &ev->scratch);
        syncc_xbuf_add(&buf, pa, la);
        syncc_xbuf_add(&buf, pb, lb);
        out->type = SYNC_TYPE_STRING;
        if (syncc_xbuf_end(&buf, &out->u.str.ptr, &out->u.str.len) != 0)
            return syncc_xerr(ev, "out of memory");
        return 0;
    }
    default:
        if (anull || bnull) {
            set_null(out);
            return 0;
        }
        return arith(ev, n->op, &a, &b, out);
    }
}

static int eval_unary(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    sync_value a;
    if (syncc_xeval_node(ev, n->args[0], &a) != 0)
        return -1;
    if (a.type == SYNC_TYPE_NULL) {
        set_null(out);
        return 0;
    }
    if (n->op == SYNCC_XO_NOT) {
        int t = syncc_xtruth(ev, &a);
        if (t < 0)
            return -1;
        set_bool(out, !t);
        return 0;
    }
    if (a.type == SYNC_TYPE_INT) {
        if (a.u.i == INT64_MIN)
            return syncc_xerr(ev, "integer out of range in unary -");
        out->type = SYNC_TYPE_INT;
        out->u.i = -a.u.i;
        return 0;
    }
    if (a.type == SYNC_TYPE_FLOAT) {
        out->type = SYNC_TYPE_FLOAT;
        out->u.f = -a.u.f;
        return 0;
    }
    return not_numeric(ev, SYNCC_XO_NEG, &a);
}

static int eval_field(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    syncc_xslot *s = &ev->slots[n->slot];
    if (s->seen != ev->serial) {
        s->seen = ev->serial;
        s->pos = ev->in != NULL ? syncc_record_find(ev->in, s->path, s->hint) : -1;
        if (s->pos >= 0)
            s->hint = (size_t)s->pos;
    }
    if (s->pos < 0) {
        if (ev->strict)
            return syncc_xerr(ev, "field '%s' is absent from the record", s->path);
        set_null(out);
        return 0;
    }
    *out = ev->in->fields[s->pos].value;
    return 0;
}

static void set_cstr(sync_value *out, const char *s)
{
    if (s == NULL) {
        set_null(out);
        return;
    }
    out->type = SYNC_TYPE_STRING;
    out->u.str.ptr = s;
    out->u.str.len = strlen(s);
}

static int eval_meta(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_record *r = ev->in;
    if (r == NULL) {
        set_null(out);
        return 0;
    }
    switch (n->op) {
    case SYNCC_XM_KEY: set_cstr(out, r->key); break;
    case SYNCC_XM_OP: set_cstr(out, r->op == SYNC_OP_DELETE ? "delete" : "upsert"); break;
    case SYNCC_XM_STREAM: set_cstr(out, r->batch != NULL ? r->batch->stream : NULL); break;
    default: set_cstr(out, r->cursor); break;
    }
    return 0;
}

int syncc_xeval_node(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    switch (n->kind) {
    case SYNCC_XN_CONST:
        *out = n->val;
        return 0;
    case SYNCC_XN_FIELD:
        return eval_field(ev, n, out);
    case SYNCC_XN_META:
        return eval_meta(ev, n, out);
    case SYNCC_XN_UNARY:
        return eval_unary(ev, n, out);
    case SYNCC_XN_BINARY:
        return eval_binary(ev, n, out);
    case SYNCC_XN_CALL:
        if (!n->fn->lazy) {
            sync_value *v = ev->vals + n->voff;
            for (size_t i = 0; i < n->nargs; i++)
                if (syncc_xeval_node(ev, n->args[i], &v[i]) != 0)
                    return -1;
        }
        if (n->fn->eval(ev, n, out) != 0)
            return -1;
        /* A call typed float by the compiler (coalesce(int, float)) yields floats only. */
        if (n->type == SYNC_TYPE_FLOAT && out->type == SYNC_TYPE_INT) {
            double d = (double)out->u.i;
            out->type = SYNC_TYPE_FLOAT;
            out->u.f = d;
        }
        return 0;
    }
    return syncc_xerr(ev, "internal error: bad node");
}
