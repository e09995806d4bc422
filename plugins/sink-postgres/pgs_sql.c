/*
 * pgs_sql.c - SQL text and COPY data for the PostgreSQL connector.
 *
 * Everything that turns names and values into bytes for the server lives
 * here, so that quoting and escaping are written once and unit-tested.
 * Identifiers are always double-quoted (the catalog spelling is used as is,
 * so mixed case and odd characters survive); values only ever go into COPY
 * data or parameters.  The statements are built once per target at prepare
 * time; what varies per batch (the seq range, soft-delete values) is bound.
 */
#include "pgs_sql.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ buffer */

void pgs_buf_init(pgs_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void pgs_buf_free(pgs_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

void pgs_buf_reset(pgs_buf *b)
{
    b->len = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int buf_reserve(pgs_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int pgs_buf_reserve(pgs_buf *b, size_t extra)
{
    return buf_reserve(b, extra);
}

void pgs_buf_add(pgs_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Writes the decimal digits of v at o; returns the end. */
static char *put_u64(char *o, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = tmp[--n];
    return o;
}

static char *put_i64(char *o, int64_t v)
{
    if (v < 0) {
        *o++ = '-';
        return put_u64(o, (uint64_t)0 - (uint64_t)v);
    }
    return put_u64(o, (uint64_t)v);
}

/* v (< 10^width) zero-padded to width digits. */
static char *put_padded(char *o, unsigned v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

void pgs_buf_add_int(pgs_buf *b, int64_t v)
{
    char tmp[24];
    pgs_buf_add(b, tmp, (size_t)(put_i64(tmp, v) - tmp));
}

void pgs_buf_puts(pgs_buf *b, const char *s)
{
    pgs_buf_add(b, s, strlen(s));
}

void pgs_buf_printf(pgs_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

char *pgs_buf_take(pgs_buf *b)
{
    if (b->oom || buf_reserve(b, 0) < 0) {
        pgs_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    memset(b, 0, sizeof(*b));
    return p;
}

/* ------------------------------------------------------------------ errors */

void pgs_err_set(pgs_err *err, int status, const char *fmt, ...)
{
    va_list ap;
    memset(err, 0, sizeof(*err));
    err->status = status;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
}

void pgs_err_prefix(pgs_err *err, const char *fmt, ...)
{
    char pre[sizeof(err->message)], old[sizeof(err->message)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof(pre), fmt, ap);
    va_end(ap);
    memcpy(old, err->message, sizeof(old));
    size_t n = strlen(pre), m = strlen(old);
    if (n > sizeof(err->message) - 1)
        n = sizeof(err->message) - 1;
    if (m > sizeof(err->message) - 1 - n)
        m = sizeof(err->message) - 1 - n;
    memcpy(err->message, pre, n);
    memcpy(err->message + n, old, m);
    err->message[n + m] = '\0';
}

int pgs_sqlstate_is_record_level(const char *s)
{
    if (!s || strlen(s) != 5)
        return 0;
    /* 22: data exception (bad input, too long, out of range); 23: integrity
     * constraint; 54000: e.g. an index row too large; P0001: RAISE in a
     * trigger, which judges one row. */
    return strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0 || strcmp(s, "54000") == 0 ||
           strcmp(s, "P0001") == 0;
}

/* ------------------------------------------------------------------ quoting */

void pgs_quote_ident(pgs_buf *b, const char *name)
{
    pgs_buf_add(b, "\"", 1);
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            pgs_buf_add(b, "\"\"", 2);
        else
            pgs_buf_add(b, p, 1);
    }
    pgs_buf_add(b, "\"", 1);
}

char *pgs_quote_ident_dup(const char *name)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_quote_ident(&b, name);
    return pgs_buf_take(&b);
}

/* ------------------------------------------------------------------ COPY data */

/* Non-zero when one of the 8 bytes of x is a backslash, tab, newline or carriage return. */
static uint64_t has_special(uint64_t x)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t hit = 0;
    static const unsigned char specials[] = {'\\', '\t', '\n', '\r'};
    for (size_t k = 0; k < sizeof(specials); k++) {
        uint64_t y = x ^ (ones * specials[k]); /* a zero byte where x has specials[k] */
        hit |= (y - ones) & ~y & highs;
    }
    return hit;
}

void pgs_copy_escape(pgs_buf *b, const char *s, size_t n)
{
    /* Worst case every byte doubles: reserve once, then write in place.  This
     * runs for every text value of every record, the sink's hottest loop, so
     * it skips eight plain bytes at a time. */
    if (n > (SIZE_MAX - 1) / 2 || buf_reserve(b, 2 * n) < 0) {
        b->oom = 1;
        return;
    }
    char *o = b->p + b->len;
    size_t i = 0;
    while (i < n) {
        size_t run = i;
        while (i + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + i, 8);
            if (has_special(x))
                break;
            i += 8;
        }
        while (i < n && s[i] != '\\' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            i++;
        memcpy(o, s + run, i - run);
        o += i - run;
        if (i < n) {
            char c = s[i++];
            *o++ = '\\';
            *o++ = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
        }
    }
    b->len = (size_t)(o - b->p);
    b->p[b->len] = '\0';
}

/* Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* PostgreSQL has no year 0: astronomical year y <= 0 is year 1 - y BC. */
static int format_ymd(char *buf, size_t size, int64_t days)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return snprintf(buf, size, "%04" PRId64 "-%02u-%02u", y > 0 ? y : 1 - y, m, d);
}

static int is_bc(int64_t days)
{
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    return y <= 0;
}

void pgs_format_timestamp(int64_t usec, char *buf, size_t size)
{
    const int64_t per_day = INT64_C(86400000000);
    int64_t days = usec / per_day, rem = usec % per_day;
    if (rem < 0) {
        rem += per_day;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / 1000000, frac = rem % 1000000;
    if (y >= 1 && y <= 9999 && size >= 30) {
        /* the common case by hand: three timestamps per record went through snprintf */
        char *o = put_padded(buf, (unsigned)y, 4);
        *o++ = '-';
        o = put_padded(o, m, 2);
        *o++ = '-';
        o = put_padded(o, d, 2);
        *o++ = ' ';
        o = put_padded(o, (unsigned)(secs / 3600), 2);
        *o++ = ':';
        o = put_padded(o, (unsigned)(secs / 60 % 60), 2);
        *o++ = ':';
        o = put_padded(o, (unsigned)(secs % 60), 2);
        *o++ = '.';
        o = put_padded(o, (unsigned)frac, 6);
        memcpy(o, "+00", 4);
        return;
    }
    int n = format_ymd(buf, size, days);
    if (n < 0 || (size_t)n >= size)
        return;
    snprintf(buf + n, size - (size_t)n, " %02d:%02d:%02d.%06d+00%s", (int)(secs / 3600),
             (int)(secs / 60 % 60), (int)(secs % 60), (int)frac, y <= 0 ? " BC" : "");
}

void pgs_format_date(int64_t days, char *buf, size_t size)
{
    int n = format_ymd(buf, size, days);
    if (n > 0 && (size_t)n < size && is_bc(days))
        snprintf(buf + n, size - (size_t)n, " BC");
}

int pgs_copy_value(pgs_buf *b, const sync_value *v, const char **why)
{
    return pgs_copy_value_nul(b, v, NULL, why);
}

/* Text holding NUL bytes, written piece by piece with each NUL stripped or replaced. */
static void copy_without_nul(pgs_buf *b, const char *s, size_t n, const pgs_nul_policy *nul)
{
    const char *end = s + n;
    while (s < end) {
        const char *z = memchr(s, '\0', (size_t)(end - s));
        size_t run = z ? (size_t)(z - s) : (size_t)(end - s);
        pgs_copy_escape(b, s, run);
        if (z == NULL)
            break;
        if (nul->mode == PGS_NUL_REPLACE && nul->repl_len)
            pgs_copy_escape(b, nul->repl, nul->repl_len);
        s = z + 1;
    }
}

/* Length of the escape \u0000 at s[i] (a backslash that is not itself escaped), else 0. */
static size_t json_nul_escape(const char *s, size_t n, size_t i)
{
    return i + 6 <= n && s[i] == '\\' && s[i + 1] == 'u' && memcmp(s + i + 2, "0000", 4) == 0 ? 6 : 0;
}

/*
 * JSON text whose strings hold \u0000 (jsonb refuses it): each such escape
 * stripped or replaced (the replacement escaped for JSON).  Returns 1 when
 * something was changed, 0 when the text has none (nothing written).
 */
static int copy_json_without_nul(pgs_buf *b, const char *s, size_t n, const pgs_nul_policy *nul)
{
    size_t i = 0, from = 0;
    int changed = 0;
    while (i < n) {
        if (s[i] != '\\') {
            i++;
            continue;
        }
        size_t esc = json_nul_escape(s, n, i);
        if (esc == 0) {
            i += 2; /* any other escape, including \\ */
            continue;
        }
        changed = 1;
        pgs_copy_escape(b, s + from, i - from);
        if (nul->mode == PGS_NUL_REPLACE) {
            for (size_t k = 0; k < nul->repl_len; k++) {
                unsigned char c = (unsigned char)nul->repl[k];
                char tmp[8];
                if (c == '"' || c == '\\')
                    snprintf(tmp, sizeof(tmp), "\\%c", c);
                else if (c < 0x20)
                    snprintf(tmp, sizeof(tmp), "\\u%04x", c);
                else
                    snprintf(tmp, sizeof(tmp), "%c", c);
                pgs_copy_escape(b, tmp, strlen(tmp));
            }
        }
        i += esc;
        from = i;
    }
    if (changed)
        pgs_copy_escape(b, s + from, n - from);
    return changed;
}

/* The shortest text that reads back as the same double: 0.1 is written as
 * 0.1, not 0.10000000000000001, so a numeric column gets the value the source
 * meant (%.17g is exact but shows the binary approximation). */
static void pgs_format_double(double d, char *out, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, d);
        if (strtod(out, NULL) == d)
            return;
    }
}

int pgs_copy_value_nul(pgs_buf *b, const sync_value *v, const pgs_nul_policy *nul, const char **why)
{
    char tmp[64];
    switch (v->type) {
    case SYNC_TYPE_NULL:
        pgs_buf_add(b, "\\N", 2);
        return 0;
    case SYNC_TYPE_BOOL:
        pgs_buf_add(b, v->u.b ? "t" : "f", 1);
        return 0;
    case SYNC_TYPE_INT:
        *put_i64(tmp, v->u.i) = '\0';
        break;
    case SYNC_TYPE_FLOAT:
        if (isnan(v->u.f))
            snprintf(tmp, sizeof(tmp), "NaN");
        else if (isinf(v->u.f))
            snprintf(tmp, sizeof(tmp), "%sInfinity", v->u.f < 0 ? "-" : "");
        else
            pgs_format_double(v->u.f, tmp, sizeof(tmp));
        break;
    case SYNC_TYPE_TIMESTAMP:
        pgs_format_timestamp(v->u.ts, tmp, sizeof(tmp));
        break;
    case SYNC_TYPE_DATE:
        pgs_format_date(v->u.ts, tmp, sizeof(tmp));
        break;
    case SYNC_TYPE_STRING:
    case SYNC_TYPE_JSON:
        if (v->u.str.len && memchr(v->u.str.ptr, '\0', v->u.str.len)) {
            /* PostgreSQL text cannot hold NUL; storing a truncated value silently would be worse */
            if (nul == NULL || nul->mode == PGS_NUL_REJECT) {
                *why = "value contains a NUL character, which PostgreSQL text cannot store "
                       "(sink option text_nul = strip or replace stores it without)";
                return -1;
            }
            copy_without_nul(b, v->u.str.ptr, v->u.str.len, nul);
            return 1;
        }
        /* JSON spells NUL \u0000, which json keeps and jsonb refuses: the policy covers it too */
        if (v->type == SYNC_TYPE_JSON && nul != NULL && nul->mode != PGS_NUL_REJECT &&
            copy_json_without_nul(b, v->u.str.ptr, v->u.str.len, nul))
            return 1;
        pgs_copy_escape(b, v->u.str.ptr, v->u.str.len);
        return 0;
    default:
        *why = "value has an unknown type";
        return -1;
    }
    pgs_buf_puts(b, tmp);
    return 0;
}

/* ------------------------------------------------------------------ user SQL */

static int ident_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80 || c == '$';
}

/* Length of a dollar-quote tag starting at s ("$$" or "$tag$"), or 0. */
static size_t dollar_tag(const char *s)
{
    size_t i = 1;
    if (isdigit((unsigned char)s[1]))
        return 0;
    while (s[i] && s[i] != '$' && (isalnum((unsigned char)s[i]) || s[i] == '_' ||
                                   (unsigned char)s[i] >= 0x80))
        i++;
    return s[i] == '$' ? i + 1 : 0;
}

int pgs_sql_param_refs(const char *sql, unsigned char *used, size_t n_used)
{
    int max = 0;
    const char *p = sql;
    if (used && n_used)
        memset(used, 0, n_used);
    while (*p) {
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (p[0] == '/' && p[1] == '*') {
            int depth = 1; /* PostgreSQL block comments nest */
            p += 2;
            while (*p && depth) {
                if (p[0] == '/' && p[1] == '*') {
                    depth++;
                    p += 2;
                } else if (p[0] == '*' && p[1] == '/') {
                    depth--;
                    p += 2;
                } else {
                    p++;
                }
            }
        } else if (*p == '\'') {
            /* E'...' strings take backslash escapes; standard strings only '' */
            int backslash = p > sql && (p[-1] == 'E' || p[-1] == 'e') &&
                            (p - 1 == sql || !ident_char((unsigned char)p[-2]));
            p++;
            while (*p) {
                if (backslash && *p == '\\' && p[1]) {
                    p += 2;
                } else if (*p == '\'') {
                    if (p[1] == '\'') {
                        p += 2;
                    } else {
                        p++;
                        break;
                    }
                } else {
                    p++;
                }
            }
        } else if (*p == '"') {
            p++;
            while (*p) {
                if (*p == '"' && p[1] == '"')
                    p += 2;
                else if (*p++ == '"')
                    break;
            }
        } else if (*p == '$' && (p == sql || !ident_char((unsigned char)p[-1]))) {
            if (isdigit((unsigned char)p[1])) {
                long n = 0;
                p++;
                while (isdigit((unsigned char)*p)) {
                    if (n < 100000)
                        n = n * 10 + (*p - '0');
                    p++;
                }
                if (n < 1)
                    continue;
                if ((size_t)n > n_used)
                    return -1;
                used[n - 1] = 1;
                if (n > max)
                    max = (int)n;
            } else {
                size_t tag = dollar_tag(p);
                if (!tag) {
                    p++;
                    continue;
                }
                const char *end = p + tag;
                const char *close = NULL;
                while (*end) {
                    if (*end == '$' && strncmp(end, p, tag) == 0) {
                        close = end;
                        break;
                    }
                    end++;
                }
                p = close ? close + tag : end;
            }
        } else {
            p++;
        }
    }
    return max;
}

static char *trimmed_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

int pgs_split_assign(const char *item, char **left, char **right)
{
    *left = *right = NULL;
    const char *eq = strchr(item, '=');
    if (!eq)
        return -1;
    char *l = trimmed_dup(item, (size_t)(eq - item));
    char *r = trimmed_dup(eq + 1, strlen(eq + 1));
    if (!l || !r || !*l || !*r) {
        free(l);
        free(r);
        return -1;
    }
    size_t ll = strlen(l);
    if (ll >= 2 && l[0] == '"' && l[ll - 1] == '"') {
        /* "Mixed Case" = value: strip the quotes, undouble embedded ones */
        size_t o = 0;
        for (size_t i = 1; i + 1 < ll; i++) {
            l[o++] = l[i];
            if (l[i] == '"' && l[i + 1] == '"')
                i++;
        }
        l[o] = '\0';
        if (!*l) {
            free(l);
            free(r);
            return -1;
        }
    }
    *left = l;
    *right = r;
    return 0;
}

int pgs_cmp_for_type(const char *typname)
{
    static const char *const text_types[] = {"xml", "point", "line", "lseg", "box", "path",
                                             "polygon", "circle", NULL};
    if (strcmp(typname, "json") == 0)
        return PGS_CMP_JSONB;
    for (size_t i = 0; text_types[i]; i++)
        if (strcmp(typname, text_types[i]) == 0)
            return PGS_CMP_TEXT;
    return PGS_CMP_PLAIN;
}

/* ------------------------------------------------------------------ builders */

static void stage_ref(pgs_buf *b, const char *stage)
{
    pgs_buf_puts(b, "pg_temp.");
    pgs_quote_ident(b, stage);
}

/* `prefix."col"` with an optional alias prefix. */
static void col_ref(pgs_buf *b, const char *alias, const char *attname)
{
    if (alias) {
        pgs_buf_puts(b, alias);
        pgs_buf_puts(b, ".");
    }
    pgs_quote_ident(b, attname);
}

static void col_list(pgs_buf *b, const char *alias, const pgs_sqlcol *cols, size_t n, int keys_only)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (keys_only && !cols[i].is_key)
            continue;
        if (!first)
            pgs_buf_puts(b, ", ");
        first = 0;
        col_ref(b, alias, cols[i].attname);
    }
}

static void cmp_cast(pgs_buf *b, int cmp_as)
{
    if (cmp_as == PGS_CMP_JSONB)
        pgs_buf_puts(b, "::jsonb");
    else if (cmp_as == PGS_CMP_TEXT)
        pgs_buf_puts(b, "::text");
}

/* a."k1" = b."k1" AND a."k2" = b."k2" */
static void key_join(pgs_buf *b, const char *l, const char *r, const pgs_sqlcol *cols, size_t n)
{
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].is_key)
            continue;
        if (!first)
            pgs_buf_puts(b, " AND ");
        first = 0;
        col_ref(b, l, cols[i].attname);
        pgs_buf_puts(b, " = ");
        col_ref(b, r, cols[i].attname);
    }
}

char *pgs_sql_stage_create(const char *stage, const pgs_sqlcol *cols, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    /* ON COMMIT DROP: created in each batch's transaction, so nothing of it
     * outlives the transaction (a pooler may hand the next one to another
     * server session).  toast_tuple_target: a staged row of up to 8 kB stays as it came, where
     * the default (2 kB) had the server compress long rows (pglz) only to
     * decompress them again to compare them with the stored row. */
    pgs_buf_puts(&b, "CREATE TEMPORARY TABLE ");
    pgs_quote_ident(&b, stage);
    pgs_buf_puts(&b, " (" "\"" PGS_SEQ_COL "\" bigint NOT NULL, \"" PGS_OP_COL "\" smallint NOT NULL");
    for (size_t i = 0; i < n; i++) {
        pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, cols[i].attname);
        pgs_buf_printf(&b, " %s", cols[i].type);
    }
    pgs_buf_puts(&b, ") WITH (toast_tuple_target = 8160) ON COMMIT DROP");
    return pgs_buf_take(&b);
}

char *pgs_sql_copy(const char *stage, const pgs_sqlcol *cols, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "COPY ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " (\"" PGS_SEQ_COL "\", \"" PGS_OP_COL "\"");
    for (size_t i = 0; i < n; i++) {
        pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, cols[i].attname);
    }
    pgs_buf_puts(&b, ") FROM STDIN");
    return pgs_buf_take(&b);
}

char *pgs_sql_dedupe(const char *stage, const pgs_sqlcol *cols, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "DELETE FROM ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS a USING ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS b WHERE ");
    key_join(&b, "a", "b", cols, n);
    pgs_buf_puts(&b, " AND a.\"" PGS_SEQ_COL "\" < b.\"" PGS_SEQ_COL "\"");
    return pgs_buf_take(&b);
}

static void seq_range(pgs_buf *b, const char *alias, int op)
{
    pgs_buf_printf(b, "%s.\"" PGS_OP_COL "\" = %d AND %s.\"" PGS_SEQ_COL "\" BETWEEN $1::bigint AND $2::bigint",
                   alias, op, alias);
}

/* ", a.extra1, a.extra2": aff's extra columns, with an optional alias prefix. */
static void affected_extra(pgs_buf *b, const char *alias, const pgs_affected *aff)
{
    for (size_t i = 0; aff && i < aff->n_extra; i++) {
        pgs_buf_puts(b, ", ");
        col_ref(b, alias, aff->extra[i].attname);
    }
}

/* The key columns, then aff's extra columns, with an optional alias prefix. */
static void affected_cols(pgs_buf *b, const char *alias, const pgs_sqlcol *cols, size_t n,
                          const pgs_affected *aff)
{
    col_list(b, alias, cols, n, 1);
    affected_extra(b, alias, aff);
}

/* , aff AS (INSERT INTO pg_temp.sync_affected (keys, extra, action) SELECT keys, extra, <action> FROM <from> [WHERE]) */
static void affected_cte(pgs_buf *b, const pgs_sqlcol *cols, size_t n, const pgs_affected *aff,
                         const char *from, const char *action_expr, const char *where)
{
    pgs_buf_puts(b, ", aff AS (INSERT INTO pg_temp." PGS_AFFECTED " (");
    affected_cols(b, NULL, cols, n, aff);
    pgs_buf_puts(b, ", action) SELECT ");
    affected_cols(b, NULL, cols, n, aff);
    pgs_buf_printf(b, ", %s FROM %s", action_expr, from);
    if (where)
        pgs_buf_printf(b, " WHERE %s", where);
    pgs_buf_puts(b, ")");
}

/* (a."c1", a."c2"::jsonb, ...) IS DISTINCT FROM (b."c1", b."c2"::jsonb, ...) over the compared columns */
static void compared_distinct(pgs_buf *b, const char *l, const char *r, const pgs_sqlcol *cols, size_t n)
{
    for (int side = 0; side < 2; side++) {
        pgs_buf_puts(b, side ? " IS DISTINCT FROM (" : "(");
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            if (cols[i].is_key || !cols[i].compare)
                continue;
            if (!first)
                pgs_buf_puts(b, ", ");
            first = 0;
            col_ref(b, side ? r : l, cols[i].attname);
            cmp_cast(b, cols[i].cmp_as);
        }
        pgs_buf_puts(b, ")");
    }
}

char *pgs_sql_upsert(const char *table_q, const char *stage, const pgs_sqlcol *cols, size_t n,
                     const pgs_affected *aff, int prefilter)
{
    pgs_buf b;
    size_t n_set = 0, n_cmp = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].is_key) {
            n_set++;
            if (cols[i].compare)
                n_cmp++;
        }
    }
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "WITH up AS (INSERT INTO %s AS t (", table_q);
    col_list(&b, NULL, cols, n, 0);
    pgs_buf_puts(&b, ") SELECT ");
    col_list(&b, "s", cols, n, 0);
    pgs_buf_puts(&b, " FROM ");
    stage_ref(&b, stage);
    int can_differ = n_set > 0 && n_cmp > 0;
    if (prefilter && can_differ) {
        /* Rows whose stored twin is equal never reach ON CONFLICT, which
         * would lock (and WAL-log the lock of) every one of them before
         * finding it unchanged: a lookup and a compare instead. */
        pgs_buf_printf(&b, " AS s LEFT JOIN %s AS o ON ", table_q);
        key_join(&b, "o", "s", cols, n);
        pgs_buf_puts(&b, " WHERE ");
        seq_range(&b, "s", 0);
        pgs_buf_puts(&b, " AND (");
        for (size_t i = 0; i < n; i++) {
            if (cols[i].is_key) {
                col_ref(&b, "o", cols[i].attname); /* NULL only where no stored row matched */
                break;
            }
        }
        pgs_buf_puts(&b, " IS NULL OR ");
        compared_distinct(&b, "o", "s", cols, n);
        pgs_buf_puts(&b, ")");
    } else {
        pgs_buf_puts(&b, " AS s WHERE ");
        seq_range(&b, "s", 0);
    }
    pgs_buf_puts(&b, " ON CONFLICT (");
    col_list(&b, NULL, cols, n, 1);
    if (!can_differ) {
        /* nothing could ever differ: an existing row is always unchanged */
        pgs_buf_puts(&b, ") DO NOTHING");
    } else {
        pgs_buf_puts(&b, ") DO UPDATE SET ");
        int first = 1;
        for (size_t i = 0; i < n; i++) {
            if (cols[i].is_key)
                continue;
            if (!first)
                pgs_buf_puts(&b, ", ");
            first = 0;
            pgs_quote_ident(&b, cols[i].attname);
            pgs_buf_puts(&b, " = ");
            col_ref(&b, "EXCLUDED", cols[i].attname);
        }
        /* Unchanged rows are left alone: no new row version, no dead tuple,
         * no trigger; compare_exclude columns follow only real changes. */
        pgs_buf_puts(&b, " WHERE ");
        compared_distinct(&b, "t", "EXCLUDED", cols, n);
    }
    pgs_buf_puts(&b, " RETURNING ");
    affected_cols(&b, "t", cols, n, aff);
    pgs_buf_puts(&b, ", (t.xmax = 0) AS \"_sync_ins\")");
    /* finding the unchanged rows needs every inserted and updated one listed */
    if (aff && (aff->unchanged || (aff->inserted && aff->updated)))
        affected_cte(&b, cols, n, aff, "up", "CASE WHEN \"_sync_ins\" THEN 'inserted' ELSE 'updated' END",
                     NULL);
    else if (aff && aff->inserted)
        affected_cte(&b, cols, n, aff, "up", "'inserted'", "\"_sync_ins\"");
    else if (aff && aff->updated)
        affected_cte(&b, cols, n, aff, "up", "'updated'", "NOT \"_sync_ins\"");
    pgs_buf_puts(&b, " SELECT count(*) FILTER (WHERE \"_sync_ins\"), "
                     "count(*) FILTER (WHERE NOT \"_sync_ins\") FROM up");
    return pgs_buf_take(&b);
}

static void delete_tail(pgs_buf *b, const pgs_sqlcol *cols, size_t n, const pgs_affected *aff)
{
    pgs_buf_puts(b, " RETURNING ");
    affected_cols(b, "t", cols, n, aff);
    pgs_buf_puts(b, ")");
    if (aff && aff->deleted)
        affected_cte(b, cols, n, aff, "d", "'deleted'", NULL);
    pgs_buf_puts(b, " SELECT count(*) FROM d");
}

/* "c1 = $first, c2 = $first+1, ...": a soft delete's SET list. */
static void soft_set(pgs_buf *b, const char *const *set_cols, size_t n_set, size_t first)
{
    for (size_t i = 0; i < n_set; i++) {
        if (i)
            pgs_buf_puts(b, ", ");
        pgs_quote_ident(b, set_cols[i]);
        pgs_buf_printf(b, " = $%zu", first + i);
    }
}

/* " AND (t.c1, ...) IS DISTINCT FROM ($first, ...)": rows already marked stay
 * untouched (and are not counted as deleted).  Each parameter takes the
 * column's type from the SET list (soft_set). */
static void soft_not_marked(pgs_buf *b, const char *const *set_cols, const int *set_cmp, size_t n_set,
                            size_t first)
{
    pgs_buf_puts(b, " AND (");
    for (size_t i = 0; i < n_set; i++) {
        if (i)
            pgs_buf_puts(b, ", ");
        col_ref(b, "t", set_cols[i]);
        cmp_cast(b, set_cmp[i]);
    }
    pgs_buf_puts(b, ") IS DISTINCT FROM (");
    for (size_t i = 0; i < n_set; i++) {
        if (i)
            pgs_buf_puts(b, ", ");
        pgs_buf_printf(b, "$%zu", first + i);
        cmp_cast(b, set_cmp[i]);
    }
    pgs_buf_puts(b, ")");
}

char *pgs_sql_delete_hard(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                          size_t n, const pgs_affected *aff)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "WITH d AS (DELETE FROM %s AS t USING ", table_q);
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s WHERE ");
    seq_range(&b, "s", 1);
    pgs_buf_puts(&b, " AND ");
    key_join(&b, "t", "s", cols, n);
    delete_tail(&b, cols, n, aff);
    return pgs_buf_take(&b);
}

char *pgs_sql_delete_soft(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                          size_t n, const char *const *set_cols, const int *set_cmp,
                          size_t n_set, const pgs_affected *aff)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "WITH d AS (UPDATE %s AS t SET ", table_q);
    soft_set(&b, set_cols, n_set, 3);
    pgs_buf_puts(&b, " FROM ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s WHERE ");
    seq_range(&b, "s", 1);
    pgs_buf_puts(&b, " AND ");
    key_join(&b, "t", "s", cols, n);
    soft_not_marked(&b, set_cols, set_cmp, n_set, 3);
    delete_tail(&b, cols, n, aff);
    return pgs_buf_take(&b);
}

char *pgs_sql_affected_create(const pgs_sqlcol *cols, size_t n, const pgs_affected *aff)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "CREATE TEMPORARY TABLE " PGS_AFFECTED " (");
    for (size_t i = 0; i < n; i++) {
        if (!cols[i].is_key)
            continue;
        pgs_quote_ident(&b, cols[i].attname);
        pgs_buf_printf(&b, " %s, ", cols[i].type);
    }
    for (size_t i = 0; aff && i < aff->n_extra; i++) {
        pgs_quote_ident(&b, aff->extra[i].attname);
        pgs_buf_printf(&b, " %s, ", aff->extra[i].type);
    }
    pgs_buf_puts(&b, "action text NOT NULL) ON COMMIT DROP");
    return pgs_buf_take(&b);
}

/*
 * The batch's unchanged keys: staged upserts not already listed.  EXCEPT ALL
 * runs as one hashed set operation; an anti join here would be planned as a
 * nested loop (temporary tables have no statistics), quadratic in the batch.
 * Extra columns come from the stored row, looked up by the conflict key.
 */
char *pgs_sql_affected_unchanged(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                                 size_t n, const pgs_affected *aff)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "INSERT INTO pg_temp." PGS_AFFECTED " (");
    affected_cols(&b, NULL, cols, n, aff);
    pgs_buf_puts(&b, ", action) SELECT ");
    col_list(&b, "x", cols, n, 1);
    affected_extra(&b, "t", aff);
    pgs_buf_puts(&b, ", 'unchanged' FROM (SELECT ");
    col_list(&b, "s", cols, n, 1);
    pgs_buf_puts(&b, " FROM ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s WHERE s.\"" PGS_OP_COL "\" = 0 EXCEPT ALL SELECT ");
    col_list(&b, "a", cols, n, 1);
    pgs_buf_puts(&b, " FROM pg_temp." PGS_AFFECTED " AS a) AS x");
    if (aff && aff->n_extra) {
        pgs_buf_printf(&b, " LEFT JOIN %s AS t ON ", table_q);
        key_join(&b, "t", "x", cols, n);
    }
    return pgs_buf_take(&b);
}

char *pgs_sql_affected_trim(const pgs_affected *aff)
{
    if (!pgs_affected_needs_trim(aff))
        return NULL;
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "DELETE FROM pg_temp." PGS_AFFECTED " WHERE action IN (");
    pgs_buf_puts(&b, !aff->inserted && !aff->updated ? "'inserted', 'updated'"
                     : !aff->inserted               ? "'inserted'"
                                                    : "'updated'");
    pgs_buf_puts(&b, ")");
    return pgs_buf_take(&b);
}

/* ------------------------------------------------------------------ full-refresh sweep */

/* ROW(a."k1", a."k2")::text: a key as one text, the same for a staged row and a stored one */
static void key_text(pgs_buf *b, const char *alias, const pgs_sqlcol *cols, size_t n)
{
    pgs_buf_puts(b, "ROW(");
    col_list(b, alias, cols, n, 1);
    pgs_buf_puts(b, ")::text");
}

char *pgs_sql_seen_insert(const char *seen_q, const char *stage, const pgs_sqlcol *cols, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "INSERT INTO %s (job, stream, run_id, key) SELECT $1, $2, $3, ", seen_q);
    key_text(&b, "s", cols, n);
    pgs_buf_puts(&b, " FROM ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s WHERE s.\"" PGS_OP_COL "\" = 0");
    return pgs_buf_take(&b);
}

char *pgs_sql_sweep(const char *table_q, const char *seen_q, const char *scope, int base,
                    const pgs_sqlcol *cols, size_t n, int hard, const char *const *set_cols,
                    const int *set_cmp, size_t n_set, const pgs_affected *aff)
{
    pgs_buf b;
    pgs_buf_init(&b);
    if (hard) {
        pgs_buf_printf(&b, "WITH d AS (DELETE FROM %s AS t WHERE (", table_q);
    } else {
        pgs_buf_printf(&b, "WITH d AS (UPDATE %s AS t SET ", table_q);
        soft_set(&b, set_cols, n_set, (size_t)base + 4);
        pgs_buf_puts(&b, " WHERE (");
    }
    /* the user's condition in its own parentheses: an OR in it cannot escape */
    pgs_buf_printf(&b, "%s) AND NOT EXISTS (SELECT FROM %s AS s WHERE s.job = $%d AND s.stream = $%d"
                       " AND s.run_id = $%d AND s.key = ", scope, seen_q, base + 1, base + 2, base + 3);
    key_text(&b, "t", cols, n);
    pgs_buf_puts(&b, ")");
    if (!hard)
        soft_not_marked(&b, set_cols, set_cmp, n_set, (size_t)base + 4);
    delete_tail(&b, cols, n, aff);
    return pgs_buf_take(&b);
}
