/*
 * sq_compare.c - the SQLite connector's compare operations (ABI 1.3), see
 * sq_compare.h: canonical values, the SQL functions that hash them inside
 * SQLite, and key-range summaries, splits and fetches for `syncengine verify`.
 */
#include "sq_compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>
#include <time.h>

#include "d1_compare.h"
#include "d1_conn.h"
#include "sq_conn.h"

/* ------------------------------------------------------------ MD5 (RFC 1321) */

/*
 * The 64 steps written out (RFC 1321's own layout): a loop choosing the
 * function and the word at each step costs twice as much, and verify hashes
 * every row of a table.
 */
#define MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define MD5_STEP(f, a, b, c, d, x, t, s)                                                                              \
    do {                                                                                                               \
        (a) += f((b), (c), (d)) + (x) + (uint32_t)(t);                                                                \
        (a) = ((a) << (s) | (a) >> (32 - (s))) + (b);                                                                 \
    } while (0)

static void md5_block(uint32_t h[4], const unsigned char *p)
{
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[i * 4] | (uint32_t)p[i * 4 + 1] << 8 | (uint32_t)p[i * 4 + 2] << 16 |
               (uint32_t)p[i * 4 + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    MD5_STEP(MD5_F, a, b, c, d, w[0], 0xd76aa478, 7);
    MD5_STEP(MD5_F, d, a, b, c, w[1], 0xe8c7b756, 12);
    MD5_STEP(MD5_F, c, d, a, b, w[2], 0x242070db, 17);
    MD5_STEP(MD5_F, b, c, d, a, w[3], 0xc1bdceee, 22);
    MD5_STEP(MD5_F, a, b, c, d, w[4], 0xf57c0faf, 7);
    MD5_STEP(MD5_F, d, a, b, c, w[5], 0x4787c62a, 12);
    MD5_STEP(MD5_F, c, d, a, b, w[6], 0xa8304613, 17);
    MD5_STEP(MD5_F, b, c, d, a, w[7], 0xfd469501, 22);
    MD5_STEP(MD5_F, a, b, c, d, w[8], 0x698098d8, 7);
    MD5_STEP(MD5_F, d, a, b, c, w[9], 0x8b44f7af, 12);
    MD5_STEP(MD5_F, c, d, a, b, w[10], 0xffff5bb1, 17);
    MD5_STEP(MD5_F, b, c, d, a, w[11], 0x895cd7be, 22);
    MD5_STEP(MD5_F, a, b, c, d, w[12], 0x6b901122, 7);
    MD5_STEP(MD5_F, d, a, b, c, w[13], 0xfd987193, 12);
    MD5_STEP(MD5_F, c, d, a, b, w[14], 0xa679438e, 17);
    MD5_STEP(MD5_F, b, c, d, a, w[15], 0x49b40821, 22);
    MD5_STEP(MD5_G, a, b, c, d, w[1], 0xf61e2562, 5);
    MD5_STEP(MD5_G, d, a, b, c, w[6], 0xc040b340, 9);
    MD5_STEP(MD5_G, c, d, a, b, w[11], 0x265e5a51, 14);
    MD5_STEP(MD5_G, b, c, d, a, w[0], 0xe9b6c7aa, 20);
    MD5_STEP(MD5_G, a, b, c, d, w[5], 0xd62f105d, 5);
    MD5_STEP(MD5_G, d, a, b, c, w[10], 0x02441453, 9);
    MD5_STEP(MD5_G, c, d, a, b, w[15], 0xd8a1e681, 14);
    MD5_STEP(MD5_G, b, c, d, a, w[4], 0xe7d3fbc8, 20);
    MD5_STEP(MD5_G, a, b, c, d, w[9], 0x21e1cde6, 5);
    MD5_STEP(MD5_G, d, a, b, c, w[14], 0xc33707d6, 9);
    MD5_STEP(MD5_G, c, d, a, b, w[3], 0xf4d50d87, 14);
    MD5_STEP(MD5_G, b, c, d, a, w[8], 0x455a14ed, 20);
    MD5_STEP(MD5_G, a, b, c, d, w[13], 0xa9e3e905, 5);
    MD5_STEP(MD5_G, d, a, b, c, w[2], 0xfcefa3f8, 9);
    MD5_STEP(MD5_G, c, d, a, b, w[7], 0x676f02d9, 14);
    MD5_STEP(MD5_G, b, c, d, a, w[12], 0x8d2a4c8a, 20);
    MD5_STEP(MD5_H, a, b, c, d, w[5], 0xfffa3942, 4);
    MD5_STEP(MD5_H, d, a, b, c, w[8], 0x8771f681, 11);
    MD5_STEP(MD5_H, c, d, a, b, w[11], 0x6d9d6122, 16);
    MD5_STEP(MD5_H, b, c, d, a, w[14], 0xfde5380c, 23);
    MD5_STEP(MD5_H, a, b, c, d, w[1], 0xa4beea44, 4);
    MD5_STEP(MD5_H, d, a, b, c, w[4], 0x4bdecfa9, 11);
    MD5_STEP(MD5_H, c, d, a, b, w[7], 0xf6bb4b60, 16);
    MD5_STEP(MD5_H, b, c, d, a, w[10], 0xbebfbc70, 23);
    MD5_STEP(MD5_H, a, b, c, d, w[13], 0x289b7ec6, 4);
    MD5_STEP(MD5_H, d, a, b, c, w[0], 0xeaa127fa, 11);
    MD5_STEP(MD5_H, c, d, a, b, w[3], 0xd4ef3085, 16);
    MD5_STEP(MD5_H, b, c, d, a, w[6], 0x04881d05, 23);
    MD5_STEP(MD5_H, a, b, c, d, w[9], 0xd9d4d039, 4);
    MD5_STEP(MD5_H, d, a, b, c, w[12], 0xe6db99e5, 11);
    MD5_STEP(MD5_H, c, d, a, b, w[15], 0x1fa27cf8, 16);
    MD5_STEP(MD5_H, b, c, d, a, w[2], 0xc4ac5665, 23);
    MD5_STEP(MD5_I, a, b, c, d, w[0], 0xf4292244, 6);
    MD5_STEP(MD5_I, d, a, b, c, w[7], 0x432aff97, 10);
    MD5_STEP(MD5_I, c, d, a, b, w[14], 0xab9423a7, 15);
    MD5_STEP(MD5_I, b, c, d, a, w[5], 0xfc93a039, 21);
    MD5_STEP(MD5_I, a, b, c, d, w[12], 0x655b59c3, 6);
    MD5_STEP(MD5_I, d, a, b, c, w[3], 0x8f0ccc92, 10);
    MD5_STEP(MD5_I, c, d, a, b, w[10], 0xffeff47d, 15);
    MD5_STEP(MD5_I, b, c, d, a, w[1], 0x85845dd1, 21);
    MD5_STEP(MD5_I, a, b, c, d, w[8], 0x6fa87e4f, 6);
    MD5_STEP(MD5_I, d, a, b, c, w[15], 0xfe2ce6e0, 10);
    MD5_STEP(MD5_I, c, d, a, b, w[6], 0xa3014314, 15);
    MD5_STEP(MD5_I, b, c, d, a, w[13], 0x4e0811a1, 21);
    MD5_STEP(MD5_I, a, b, c, d, w[4], 0xf7537e82, 6);
    MD5_STEP(MD5_I, d, a, b, c, w[11], 0xbd3af235, 10);
    MD5_STEP(MD5_I, c, d, a, b, w[2], 0x2ad7d2bb, 15);
    MD5_STEP(MD5_I, b, c, d, a, w[9], 0xeb86d391, 21);
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
}

void sq_md5(const void *data, size_t len, unsigned char out[16])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const unsigned char *p = data;
    size_t n = len;
    while (n >= 64) {
        md5_block(h, p);
        p += 64;
        n -= 64;
    }
    unsigned char tail[128];
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p, n);
    tail[n] = 0x80;
    size_t tl = n + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        tail[tl - 8 + i] = (unsigned char)(bits >> (8 * i));
    md5_block(h, tail);
    if (tl == 128)
        md5_block(h, tail + 64);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            out[i * 4 + j] = (unsigned char)(h[i] >> (8 * j));
}

/* ------------------------------------------------------------ canonical numbers */

/*
 * Parses a JSON-like number (sign, digits, fraction, exponent; leading '+'
 * and surrounding blanks tolerated when loose) into its digits and the
 * position of the decimal point, then prints it plain: with trim, without
 * trailing fraction zeros; without, with as many fraction digits as
 * PostgreSQL's numeric keeps (the written ones minus the exponent).
 */
static int format_decimal(const char *s, size_t len, int loose, int trim, char *out, size_t size)
{
    size_t i = 0;
    if (loose)
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
    int neg = 0;
    if (i < len && (s[i] == '-' || (loose && s[i] == '+'))) {
        neg = s[i] == '-';
        i++;
    }
    char digits[400];
    size_t nd = 0, nint = 0, nfrac = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        if (nd + 1 >= sizeof(digits))
            return -1;
        digits[nd++] = s[i++];
        nint++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (nd + 1 >= sizeof(digits))
                return -1;
            digits[nd++] = s[i++];
            nfrac++;
        }
    }
    if (nd == 0)
        return -1;
    long exp = 0;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        int eneg = 0;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        if (i >= len || s[i] < '0' || s[i] > '9')
            return -1;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            exp = exp * 10 + (s[i++] - '0');
            if (exp > 300)
                return -1;
        }
        if (eneg)
            exp = -exp;
    }
    if (loose)
        while (i < len && (s[i] == ' ' || s[i] == '\t'))
            i++;
    if (i != len)
        return -1;
    long point = (long)nint + exp; /* digits before the point */
    long scale = (long)nfrac - exp;
    if (scale < 0)
        scale = 0;
    /* fraction digits: positions point .. point+scale-1 of digits (zero outside) */
    long last = point + scale; /* one past the last digit printed */
    if (trim)
        while (last > point && (last - 1 >= (long)nd || last - 1 < 0 || digits[last - 1] == '0'))
            last--;
    char buf[1024];
    size_t o = 0;
    int nonzero = 0;
    for (size_t k = 0; k < nd; k++)
        if (digits[k] != '0')
            nonzero = 1;
    if (neg && nonzero)
        buf[o++] = '-';
    /* integer part: the digits before the point (zeros past the end), leading zeros dropped */
    size_t start = o;
    for (long k = 0; k < point; k++) {
        if (o + 2 >= sizeof(buf))
            return -1;
        char d = k < (long)nd ? digits[k] : '0';
        if (o == start && d == '0')
            continue;
        buf[o++] = d;
    }
    if (o == start)
        buf[o++] = '0';
    if (last > point) {
        buf[o++] = '.';
        for (long k = point; k < last; k++) {
            if (o + 2 >= sizeof(buf))
                return -1;
            buf[o++] = (k >= 0 && k < (long)nd) ? digits[k] : '0';
        }
    }
    if (o + 1 > size)
        return -1;
    memcpy(out, buf, o);
    out[o] = '\0';
    return (int)o;
}

int sq_canon_decimal(const char *s, char *out, size_t size)
{
    return format_decimal(s, strlen(s), 1, 1, out, size);
}

/* A double as PostgreSQL's float8 -> numeric conversion sees it (15 significant digits), then canonical. */
static int canon_double(double d, char *out, size_t size)
{
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strchr(tmp, 'n') || strchr(tmp, 'N')) { /* inf, nan */
        snprintf(out, size, "%s", d != d ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
        return (int)strlen(out);
    }
    return format_decimal(tmp, strlen(tmp), 0, 1, out, size);
}

/* ------------------------------------------------------------ canonical JSON */

typedef struct jparse {
    const char *p, *end;
    sq_buf out;
} jparse;

static void jskip(jparse *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static void put_utf8(sq_buf *b, uint32_t cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        u[2] = (char)(0x80 | (cp >> 6 & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    sq_buf_add(b, u, n);
}

/* Reads a JSON string at j->p (at its quote) into raw (unescaped bytes). */
static int jstring_raw(jparse *j, sq_buf *raw)
{
    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p++;
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            sq_buf_add(raw, (const char *)&c, 1);
            continue;
        }
        if (j->p >= j->end)
            return -1;
        char e = *j->p++;
        switch (e) {
        case '"': sq_buf_add(raw, "\"", 1); break;
        case '\\': sq_buf_add(raw, "\\", 1); break;
        case '/': sq_buf_add(raw, "/", 1); break;
        case 'b': sq_buf_add(raw, "\b", 1); break;
        case 'f': sq_buf_add(raw, "\f", 1); break;
        case 'n': sq_buf_add(raw, "\n", 1); break;
        case 'r': sq_buf_add(raw, "\r", 1); break;
        case 't': sq_buf_add(raw, "\t", 1); break;
        case 'u': {
            uint32_t cp = 0;
            for (int k = 0; k < 4; k++) {
                if (j->p >= j->end || hexval(*j->p) < 0)
                    return -1;
                cp = cp << 4 | (uint32_t)hexval(*j->p++);
            }
            if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
                uint32_t lo = 0;
                int ok = 1;
                for (int k = 0; k < 4; k++) {
                    int h = hexval(j->p[2 + k]);
                    if (h < 0)
                        ok = 0;
                    else
                        lo = lo << 4 | (uint32_t)h;
                }
                if (ok && lo >= 0xdc00 && lo < 0xe000) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    j->p += 6;
                }
            }
            if (cp == 0)
                return -1; /* jsonb refuses \u0000 */
            put_utf8(raw, cp);
            break;
        }
        default: return -1;
        }
    }
    if (j->p >= j->end)
        return -1;
    j->p++;
    return 0;
}

/* Writes raw bytes as a JSON string the way PostgreSQL's escape_json does. */
static void jstring_put(sq_buf *b, const char *s, size_t n)
{
    sq_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': sq_buf_add(b, "\\\"", 2); break;
        case '\\': sq_buf_add(b, "\\\\", 2); break;
        case '\b': sq_buf_add(b, "\\b", 2); break;
        case '\f': sq_buf_add(b, "\\f", 2); break;
        case '\n': sq_buf_add(b, "\\n", 2); break;
        case '\r': sq_buf_add(b, "\\r", 2); break;
        case '\t': sq_buf_add(b, "\\t", 2); break;
        default:
            if (c < 0x20)
                sq_buf_printf(b, "\\u%04x", c);
            else
                sq_buf_add(b, (const char *)&c, 1);
        }
    }
    sq_buf_add(b, "\"", 1);
}

static int jvalue(jparse *j, sq_buf *out, int depth);

typedef struct jmember {
    char *key;
    size_t klen;
    char *val;
    size_t order;
} jmember;

static int jmember_cmp(const void *a, const void *b)
{
    const jmember *x = a, *y = b;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    int c = memcmp(x->key, y->key, x->klen);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static int jobject(jparse *j, sq_buf *out, int depth)
{
    j->p++; /* { */
    jmember *m = NULL;
    size_t n = 0, cap = 0;
    int rc = -1;
    jskip(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        sq_buf_puts(out, "{}");
        return 0;
    }
    for (;;) {
        jskip(j);
        sq_buf k, v;
        sq_buf_init(&k);
        sq_buf_init(&v);
        if (jstring_raw(j, &k) < 0) {
            sq_buf_free(&k);
            goto done;
        }
        jskip(j);
        if (j->p >= j->end || *j->p != ':') {
            sq_buf_free(&k);
            goto done;
        }
        j->p++;
        if (jvalue(j, &v, depth + 1) < 0 || k.oom || v.oom) {
            sq_buf_free(&k);
            sq_buf_free(&v);
            goto done;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            jmember *nm = realloc(m, cap * sizeof(*m));
            if (!nm) {
                sq_buf_free(&k);
                sq_buf_free(&v);
                goto done;
            }
            m = nm;
        }
        m[n].klen = k.len;
        m[n].key = k.p ? k.p : strdup("");
        m[n].val = v.p;
        m[n].order = n;
        n++;
        jskip(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            break;
        }
        goto done;
    }
    qsort(m, n, sizeof(*m), jmember_cmp);
    sq_buf_add(out, "{", 1);
    int first = 1;
    for (size_t i = 0; i < n; i++) {
        /* duplicate keys: the last one written wins, as in jsonb */
        if (i + 1 < n && m[i + 1].klen == m[i].klen && memcmp(m[i + 1].key, m[i].key, m[i].klen) == 0)
            continue;
        if (!first)
            sq_buf_add(out, ", ", 2);
        first = 0;
        jstring_put(out, m[i].key, m[i].klen);
        sq_buf_add(out, ": ", 2);
        sq_buf_puts(out, m[i].val);
    }
    sq_buf_add(out, "}", 1);
    rc = 0;
done:
    for (size_t i = 0; i < n; i++) {
        free(m[i].key);
        free(m[i].val);
    }
    free(m);
    return rc;
}

static int jvalue(jparse *j, sq_buf *out, int depth)
{
    if (depth > 200)
        return -1;
    jskip(j);
    if (j->p >= j->end)
        return -1;
    char c = *j->p;
    if (c == '{')
        return jobject(j, out, depth);
    if (c == '[') {
        j->p++;
        sq_buf_add(out, "[", 1);
        jskip(j);
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            sq_buf_add(out, "]", 1);
            return 0;
        }
        for (int first = 1;; first = 0) {
            if (!first)
                sq_buf_add(out, ", ", 2);
            if (jvalue(j, out, depth + 1) < 0)
                return -1;
            jskip(j);
            if (j->p < j->end && *j->p == ',') {
                j->p++;
                continue;
            }
            if (j->p < j->end && *j->p == ']') {
                j->p++;
                sq_buf_add(out, "]", 1);
                return 0;
            }
            return -1;
        }
    }
    if (c == '"') {
        sq_buf raw;
        sq_buf_init(&raw);
        int rc = jstring_raw(j, &raw);
        if (rc == 0)
            jstring_put(out, raw.p ? raw.p : "", raw.len);
        sq_buf_free(&raw);
        return rc;
    }
    static const char *const lits[] = {"true", "false", "null"};
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(lits[k]);
        if ((size_t)(j->end - j->p) >= l && memcmp(j->p, lits[k], l) == 0) {
            j->p += l;
            sq_buf_puts(out, lits[k]);
            return 0;
        }
    }
    const char *s = j->p;
    while (j->p < j->end && (strchr("+-.eE", *j->p) || (*j->p >= '0' && *j->p <= '9')))
        j->p++;
    char num[1100];
    if (format_decimal(s, (size_t)(j->p - s), 0, 0, num, sizeof(num)) < 0)
        return -1;
    sq_buf_puts(out, num);
    return 0;
}

char *sq_canon_json(const char *s, size_t len)
{
    jparse j = {s, s + len, {0}};
    sq_buf_init(&j.out);
    if (jvalue(&j, &j.out, 0) < 0) {
        sq_buf_free(&j.out);
        return NULL;
    }
    jskip(&j);
    if (j.p != j.end) {
        sq_buf_free(&j.out);
        return NULL;
    }
    return sq_buf_take(&j.out);
}

/* ------------------------------------------------------------ canonical values */

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" exactly (the canonical timestamp, as the sink writes them). */
static int is_canonical_ts(const char *s, long n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
    if (n != 27)
        return 0;
    for (int i = 0; i < 27; i++) {
        if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
            return 0;
    }
    return 1;
}

/*
 * The canonical text of v in kind (a sync_type) into *out: either pointing
 * into v / buf, or malloc'd (*owned set).  Returns the length, -1 for NULL.
 */
static long canon_value(sqlite3_value *v, int kind, int64_t unit_usec, char *buf, size_t size, const char **out,
                        char **owned)
{
    *owned = NULL;
    int t = sqlite3_value_type(v);
    if (t == SQLITE_NULL)
        return -1;
    const char *text = NULL;
    long n = 0;
    if (t == SQLITE_TEXT || t == SQLITE_BLOB) {
        text = (const char *)(t == SQLITE_TEXT ? sqlite3_value_text(v) : sqlite3_value_blob(v));
        n = sqlite3_value_bytes(v);
        if (!text)
            text = "";
    }
    switch (kind) {
    case SYNC_TYPE_BOOL:
        if (t == SQLITE_INTEGER || t == SQLITE_FLOAT) {
            *out = sqlite3_value_double(v) != 0 ? "true" : "false";
            return (long)strlen(*out);
        }
        if (text) {
            static const char *const yes[] = {"true", "t", "1", "yes", "y", "on"}, *const no[] = {"false", "f", "0", "no", "n", "off"};
            for (int k = 0; k < 6; k++) {
                if (strcasecmp(text, yes[k]) == 0) {
                    *out = "true";
                    return 4;
                }
                if (strcasecmp(text, no[k]) == 0) {
                    *out = "false";
                    return 5;
                }
            }
        }
        break;
    case SYNC_TYPE_INT:
    case SYNC_TYPE_FLOAT:
        if (t == SQLITE_INTEGER) {
            *out = buf;
            return snprintf(buf, size, "%lld", (long long)sqlite3_value_int64(v));
        }
        if (t == SQLITE_FLOAT) {
            int l = canon_double(sqlite3_value_double(v), buf, size);
            if (l >= 0) {
                *out = buf;
                return l;
            }
        }
        if (text && n < 300) {
            char tmp[320];
            memcpy(tmp, text, (size_t)n);
            tmp[n] = '\0';
            int l = format_decimal(tmp, (size_t)n, 1, 1, buf, size);
            if (l >= 0) {
                *out = buf;
                return l;
            }
        }
        break;
    case SYNC_TYPE_TIMESTAMP: {
        int64_t usec;
        if (text && is_canonical_ts(text, n)) { /* what the sink writes: already canonical */
            *out = text;
            return n;
        }
        if (t == SQLITE_INTEGER) {
            usec = sqlite3_value_int64(v) * unit_usec;
        } else if (t == SQLITE_FLOAT) {
            usec = (int64_t)(sqlite3_value_double(v) * (double)unit_usec);
        } else if (sq_host->time_parse(text, (size_t)n, &usec) != SYNC_OK) {
            break;
        }
        *out = buf;
        return sq_format_timestamp(usec, buf, size);
    }
    case SYNC_TYPE_DATE:
        if (text && n >= 10 && text[4] == '-' && text[7] == '-') {
            *out = text;
            return 10;
        }
        if (t == SQLITE_INTEGER) {
            *out = buf;
            return sq_format_date(sqlite3_value_int64(v), buf, size);
        }
        break;
    case SYNC_TYPE_JSON:
        if (text) {
            char *j = sq_canon_json(text, (size_t)n);
            if (j) {
                *owned = j;
                *out = j;
                return (long)strlen(j);
            }
        }
        break;
    default:
        break;
    }
    if (text) {
        *out = text;
        return n;
    }
    if (t == SQLITE_INTEGER) {
        *out = buf;
        return snprintf(buf, size, "%lld", (long long)sqlite3_value_int64(v));
    }
    int l = canon_double(sqlite3_value_double(v), buf, size);
    *out = buf;
    return l < 0 ? 0 : l;
}

/* se_canon(kind, unit_usec, value): the canonical text of value, NULL for NULL. */
static void fn_canon(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    char buf[1100];
    const char *out;
    char *owned;
    long n = canon_value(argv[2], sqlite3_value_int(argv[0]), sqlite3_value_int64(argv[1]), buf, sizeof(buf), &out,
                         &owned);
    if (n < 0)
        sqlite3_result_null(c);
    else
        sqlite3_result_text(c, out, (int)n, SQLITE_TRANSIENT);
    free(owned);
}

/*
 * se_rowhash(kinds, unit_usec, v0, v1, ...): kinds is a text of one letter per
 * value ('0' + sync_type).  The first 60 bits of the MD5 of the values'
 * canonical texts joined by 0x1f, each "v" + text or "n" for NULL.
 */
/* A row's text: a stack buffer that moves to the heap when it outgrows it. */
typedef struct rowbuf {
    char *p;
    size_t len, cap;
    int heap, oom;
} rowbuf;

static void rb_add(rowbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n > b->cap) {
        size_t cap = b->cap * 2;
        while (cap < b->len + n)
            cap *= 2;
        char *np = b->heap ? realloc(b->p, cap) : malloc(cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        if (!b->heap)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = cap;
        b->heap = 1;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void fn_rowhash(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    const char *kinds = (const char *)sqlite3_value_text(argv[0]);
    size_t n_kinds = kinds ? strlen(kinds) : 0;
    int64_t unit = sqlite3_value_int64(argv[1]);
    /* the row's text: on the stack while it fits */
    char stack[4096];
    rowbuf b = {stack, 0, sizeof(stack), 0, 0};
    for (int i = 2; i < argc; i++) {
        int kind = (size_t)(i - 2) < n_kinds ? kinds[i - 2] - '0' : SYNC_TYPE_STRING;
        char buf[1100];
        const char *out;
        char *owned;
        long n = canon_value(argv[i], kind, unit, buf, sizeof(buf), &out, &owned);
        if (i > 2)
            rb_add(&b, "\x1f", 1);
        if (n < 0) {
            rb_add(&b, "n", 1);
        } else {
            rb_add(&b, "v", 1);
            rb_add(&b, out, (size_t)n);
        }
        free(owned);
    }
    if (b.oom) {
        if (b.heap)
            free(b.p);
        sqlite3_result_error_nomem(c);
        return;
    }
    unsigned char d[16];
    sq_md5(b.p, b.len, d);
    if (b.heap)
        free(b.p);
    /* the first 15 hex digits: 60 bits */
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | d[i];
    sqlite3_result_int64(c, (sqlite3_int64)(h >> 4));
}

/* se_hashsum(h): the sum of h modulo 2^60. */
static void fn_hashsum_step(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    uint64_t *acc = sqlite3_aggregate_context(c, sizeof(uint64_t));
    if (acc)
        *acc += (uint64_t)sqlite3_value_int64(argv[0]);
}

static void fn_hashsum_final(sqlite3_context *c)
{
    uint64_t *acc = sqlite3_aggregate_context(c, 0);
    sqlite3_result_int64(c, (sqlite3_int64)((acc ? *acc : 0) & ((UINT64_C(1) << 60) - 1)));
}

/*
 * se_bucket(key, key_is_int, bounds): the part of key among bounds, a text of
 * keys separated by 0x1f (parsed once per statement): the number of bounds
 * <= key, comparing integers or bytes.
 */
typedef struct bucket_bounds {
    size_t n;
    char **k;
    size_t *len;
    int64_t *i;
} bucket_bounds;

static void bounds_free(void *p)
{
    bucket_bounds *b = p;
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->k[i]);
    free(b->k);
    free(b->len);
    free(b->i);
    free(b);
}

static bucket_bounds *bounds_parse(const char *s, int n_bytes)
{
    bucket_bounds *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    size_t cap = 1;
    for (int i = 0; i < n_bytes; i++)
        cap += s[i] == '\x1f';
    b->k = calloc(cap, sizeof(char *));
    b->len = calloc(cap, sizeof(size_t));
    b->i = calloc(cap, sizeof(int64_t));
    if (!b->k || !b->len || !b->i) {
        bounds_free(b);
        return NULL;
    }
    const char *p = s, *end = s + n_bytes;
    while (n_bytes > 0 && p <= end) {
        const char *sep = memchr(p, '\x1f', (size_t)(end - p));
        size_t l = sep ? (size_t)(sep - p) : (size_t)(end - p);
        if (!(b->k[b->n] = malloc(l + 1))) {
            bounds_free(b);
            return NULL;
        }
        memcpy(b->k[b->n], p, l);
        b->k[b->n][l] = '\0';
        b->len[b->n] = l;
        b->i[b->n] = strtoll(b->k[b->n], NULL, 10);
        b->n++;
        if (!sep)
            break;
        p = sep + 1;
    }
    return b;
}

static void fn_bucket(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    bucket_bounds *b = sqlite3_get_auxdata(c, 2);
    if (!b) {
        b = bounds_parse((const char *)sqlite3_value_text(argv[2]), sqlite3_value_bytes(argv[2]));
        if (!b) {
            sqlite3_result_error_nomem(c);
            return;
        }
        sqlite3_set_auxdata(c, 2, b, bounds_free);
        b = sqlite3_get_auxdata(c, 2);
        if (!b) {
            sqlite3_result_error_nomem(c);
            return;
        }
    }
    int is_int = sqlite3_value_int(argv[1]);
    int64_t ki = is_int ? sqlite3_value_int64(argv[0]) : 0;
    const char *ks = is_int ? NULL : (const char *)sqlite3_value_text(argv[0]);
    size_t kl = is_int ? 0 : (size_t)sqlite3_value_bytes(argv[0]);
    /* the number of bounds <= key: binary search */
    size_t lo = 0, hi = b->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int le;
        if (is_int) {
            le = b->i[mid] <= ki;
        } else {
            size_t m = b->len[mid] < kl ? b->len[mid] : kl;
            int cmp = memcmp(b->k[mid], ks ? ks : "", m);
            le = cmp < 0 || (cmp == 0 && b->len[mid] <= kl);
        }
        if (le)
            lo = mid + 1;
        else
            hi = mid;
    }
    sqlite3_result_int64(c, (sqlite3_int64)lo);
}

/*
 * se_partsum(part, hash): per part (a small integer), the count and the sum of
 * the hashes modulo 2^60, as text "count hash count hash ..." from part 0 on:
 * one pass without sorting the rows into groups.
 */
typedef struct partsum {
    int64_t *count;
    uint64_t *hash;
    size_t n;
    int oom;
} partsum;

static void fn_partsum_step(sqlite3_context *c, int argc, sqlite3_value **argv)
{
    (void)argc;
    partsum *p = sqlite3_aggregate_context(c, sizeof(partsum));
    if (!p || p->oom)
        return;
    sqlite3_int64 part = sqlite3_value_int64(argv[0]);
    if (part < 0 || part > 1000000)
        return;
    if ((size_t)part >= p->n) {
        size_t n = (size_t)part + 64;
        int64_t *nc = realloc(p->count, n * sizeof(int64_t));
        if (nc)
            p->count = nc;
        uint64_t *nh = realloc(p->hash, n * sizeof(uint64_t));
        if (nh)
            p->hash = nh;
        if (!nc || !nh) {
            p->oom = 1;
            return;
        }
        for (size_t i = p->n; i < n; i++) {
            p->count[i] = 0;
            p->hash[i] = 0;
        }
        p->n = n;
    }
    p->count[part]++;
    p->hash[part] += (uint64_t)sqlite3_value_int64(argv[1]);
}

static void fn_partsum_final(sqlite3_context *c)
{
    partsum *p = sqlite3_aggregate_context(c, 0);
    if (!p) {
        sqlite3_result_text(c, "", 0, SQLITE_STATIC);
        return;
    }
    if (p->oom) {
        free(p->count);
        free(p->hash);
        sqlite3_result_error_nomem(c);
        return;
    }
    sq_buf b;
    sq_buf_init(&b);
    for (size_t i = 0; i < p->n; i++)
        sq_buf_printf(&b, "%s%lld %llu", i ? " " : "", (long long)p->count[i],
                      (unsigned long long)(p->hash[i] & ((UINT64_C(1) << 60) - 1)));
    free(p->count);
    free(p->hash);
    if (b.oom) {
        sq_buf_free(&b);
        sqlite3_result_error_nomem(c);
        return;
    }
    sqlite3_result_text(c, b.p ? b.p : "", (int)b.len, free);
}

/* ------------------------------------------------------------ instance and tables */

typedef struct sqc_table {
    char *table;
    char *key;
    char **cols;        /* the compared columns (the key first) */
    size_t n;           /* with the key */
    int key_int;        /* the key is compared as an integer */
    int64_t unit_usec;
    char *filter;       /* source: live rows only (where, soft_delete); NULL: none */
    char *soft_value;   /* bound as :sdv */
    sq_table d1;        /* D1: the table's columns, to mirror */
    int mirrored;       /* D1: the rows are in the scratch file */
} sqc_table;

/*
 * On a file, conn is the file.  On D1 (d1 set), conn is the scratch file the
 * tables are mirrored into, the compare functions registered on it as on a
 * file, and queries and the history go to D1 through d1c.
 */
typedef struct sqc_inst {
    sync_ctx *ctx;
    sq_settings set;
    sq_conn conn;
    int is_source;
    sqc_table **tables;
    size_t n_tables;
    int d1;
    d1_settings d1set;
    d1_conn d1c;
} sqc_inst;

/* What messages name: the file, or the D1 database. */
static const char *sqc_where(const sqc_inst *in)
{
    return in->d1 ? in->d1set.label : in->set.path;
}

static void table_free(sqc_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->cols[i]);
    free(t->cols);
    free(t->table);
    free(t->key);
    free(t->filter);
    free(t->soft_value);
    sq_table_free(&t->d1);
    free(t);
}

/* The compare functions on a connection (the file, or D1's scratch file). */
static int register_functions(sq_conn *c)
{
    sqlite3 *db = c->db;
    int frc = sqlite3_create_function_v2(db, "se_canon", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_canon,
                                         NULL, NULL, NULL);
    if (frc == SQLITE_OK)
        frc = sqlite3_create_function_v2(db, "se_rowhash", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                         fn_rowhash, NULL, NULL, NULL);
    if (frc == SQLITE_OK)
        frc = sqlite3_create_function_v2(db, "se_hashsum", 1, SQLITE_UTF8, NULL, NULL, fn_hashsum_step,
                                         fn_hashsum_final, NULL);
    if (frc == SQLITE_OK)
        frc = sqlite3_create_function_v2(db, "se_partsum", 2, SQLITE_UTF8, NULL, NULL, fn_partsum_step,
                                         fn_partsum_final, NULL);
    if (frc == SQLITE_OK)
        frc = sqlite3_create_function_v2(db, "se_bucket", 3, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, fn_bucket,
                                         NULL, NULL, NULL);
    return frc == SQLITE_OK ? SYNC_OK : sq_fail(c, frc, "cannot register the compare functions");
}

/* D1: a D1 connection and the scratch file. */
static int open_d1(sqc_inst *in, const sync_config *cfg)
{
    in->d1 = 1;
    int rc = d1_settings_read(in->ctx, cfg, &in->d1set);
    if (rc != SYNC_OK)
        return rc;
    rc = d1_conn_open(&in->d1c, in->ctx, &in->d1set);
    if (rc == SYNC_OK) {
        rc = d1_scratch_open(&in->conn, &in->set, in->ctx);
        if (rc != SYNC_OK)
            d1_conn_close(&in->d1c);
    }
    if (rc != SYNC_OK)
        d1_settings_free(&in->d1set);
    return rc;
}

static void close_conn(sqc_inst *in)
{
    if (in->d1) {
        d1_scratch_close(&in->conn, &in->set);
        d1_conn_close(&in->d1c);
        d1_settings_free(&in->d1set);
    } else {
        sq_conn_close(&in->conn);
        sq_settings_free(&in->set);
    }
}

static int sqc_open(sync_ctx *ctx, const sync_config *cfg, int is_source, void **instance)
{
    sqc_inst *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    in->is_source = is_source;
    int rc = d1_selected(cfg) ? open_d1(in, cfg) : sq_conn_open_config(&in->conn, &in->set, ctx, cfg, is_source);
    if (rc != SYNC_OK) {
        free(in);
        return rc;
    }
    rc = register_functions(&in->conn);
    if (rc != SYNC_OK) {
        close_conn(in);
        free(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

static void sqc_close(void *instance)
{
    sqc_inst *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_tables; i++)
        table_free(in->tables[i]);
    free(in->tables);
    close_conn(in);
    free(in);
}

static sync_type kind_of(const char *decl)
{
    switch (sq_decl_kind(decl)) {
    case SQ_KIND_BOOL: return SYNC_TYPE_BOOL;
    case SQ_KIND_TIMESTAMP: return SYNC_TYPE_TIMESTAMP;
    case SQ_KIND_DATE: return SYNC_TYPE_DATE;
    case SQ_KIND_JSON: return SYNC_TYPE_JSON;
    default: break;
    }
    switch (sq_decl_affinity(decl)) {
    case SQ_AFF_INTEGER: return SYNC_TYPE_INT;
    case SQ_AFF_REAL:
    case SQ_AFF_NUMERIC: return SYNC_TYPE_FLOAT;
    default: return SYNC_TYPE_STRING;
    }
}

static int sqc_table_open(void *instance, const sync_compare_table *ct, sync_type *kinds, const char **key_out,
                          void **table_state)
{
    sqc_inst *in = instance;
    sq_table tb;
    int rc = in->d1 ? d1_table_load(&in->d1c, ct->object, &tb) : sq_table_load(&in->conn, ct->object, &tb);
    if (rc != SYNC_OK)
        return rc;
    const sync_config *o = ct->options;
    const char *key = ct->key;
    if (!key && o && in->is_source)
        key = sq_host->config_get_string(o, "key");
    if (!key && o && !in->is_source && sq_host->config_list_count(o, "conflict_key") == 1)
        key = sq_host->config_list_item(o, "conflict_key", 0);
    if (!key)
        key = sq_table_single_pk(&tb);
    if (!key) {
        sq_host->set_error(in->ctx, "table \"%s\" of %s has no one-column primary key: verify needs one key column",
                           ct->object, sqc_where(in));
        sq_table_free(&tb);
        return SYNC_E_SCHEMA;
    }
    sqc_table *t = calloc(1, sizeof(*t));
    if (!t || !(t->cols = calloc(ct->n_columns + 1, sizeof(char *)))) {
        free(t);
        sq_table_free(&tb);
        return SYNC_E_NOMEM;
    }
    t->table = strdup(ct->object);
    t->key = strdup(key);
    rc = SYNC_OK;
    for (size_t i = 0; i <= ct->n_columns; i++) {
        const char *name = i == 0 ? key : ct->columns[i - 1];
        long at = sq_table_find(&tb, name);
        if (at < 0) {
            sq_host->set_error(in->ctx, "column \"%s\" does not exist in table \"%s\" of %s", name, ct->object,
                               sqc_where(in));
            rc = SYNC_E_SCHEMA;
            break;
        }
        t->cols[t->n++] = strdup(name);
        sync_type k = kind_of(tb.decl[at]);
        if (i == 0)
            k = k == SYNC_TYPE_INT ? SYNC_TYPE_INT : SYNC_TYPE_STRING;
        kinds[i] = k;
    }
    t->key_int = kinds[0] == SYNC_TYPE_INT;
    if (in->d1)
        t->d1 = tb; /* mirrored when its rows are first needed: integrity rules only query D1 */
    else
        sq_table_free(&tb);
    const char *unit = o ? sq_host->config_get_string(o, "timestamp_unit") : NULL;
    t->unit_usec = sq_unit_usec(sq_unit_parse(unit));
    if (rc == SYNC_OK && in->is_source && o) {
        /* the rows the source reads: its where, and not soft-deleted */
        sq_buf f;
        sq_buf_init(&f);
        const char *where = sq_host->config_get_string(o, "where");
        const char *soft = sq_host->config_get_string(o, "soft_delete");
        if (where && *where)
            sq_buf_printf(&f, "(%s)", where);
        if (soft && *soft) {
            char *l = NULL, *r = NULL;
            if (f.len)
                sq_buf_puts(&f, " AND ");
            if (strchr(soft, '=') && sq_split_assign(soft, &l, &r) == 0) {
                sq_buf_puts(&f, "(");
                sq_buf_ident(&f, l);
                sq_buf_puts(&f, " IS NOT :sdv)");
                t->soft_value = r;
                free(l);
            } else {
                sq_buf_puts(&f, "(");
                sq_buf_ident(&f, soft);
                sq_buf_puts(&f, " IS NULL OR ");
                sq_buf_ident(&f, soft);
                sq_buf_puts(&f, " IN (0, '', 'false'))");
            }
        }
        t->filter = f.len ? sq_buf_take(&f) : NULL;
        if (!t->filter)
            sq_buf_free(&f);
    }
    sqc_table **nt = rc == SYNC_OK ? realloc(in->tables, (in->n_tables + 1) * sizeof(*nt)) : NULL;
    if (!nt) {
        table_free(t);
        return rc == SYNC_OK ? SYNC_E_NOMEM : rc;
    }
    in->tables = nt;
    in->tables[in->n_tables++] = t;
    *key_out = t->key;
    *table_state = t;
    return SYNC_OK;
}

/* " WHERE key >= :lo AND key < :hi AND (filter)" for the bounds given. */
static void range_where(sq_buf *b, const sqc_table *t, const char *lo, const char *hi)
{
    const char *bounds[2] = {lo, hi};
    const char *tests[2] = {" >= :lo", " < :hi"};
    const char *sep = " WHERE ";
    for (int k = 0; k < 2; k++) {
        if (!bounds[k])
            continue;
        sq_buf_puts(b, sep);
        sq_buf_ident(b, t->key);
        sq_buf_puts(b, tests[k]);
        sep = " AND ";
    }
    if (t->filter) {
        sq_buf_puts(b, sep);
        sq_buf_puts(b, t->filter);
    }
}

/* " FROM table WHERE range", and " ORDER BY key" when ordered: the rows of a key range, as every read takes them. */
static void from_range(sq_buf *b, const sqc_table *t, const char *lo, const char *hi, int ordered)
{
    sq_buf_puts(b, " FROM ");
    sq_buf_ident(b, t->table);
    range_where(b, t, lo, hi);
    if (ordered) {
        sq_buf_puts(b, " ORDER BY ");
        sq_buf_ident(b, t->key);
    }
}

static sqlite3_stmt *prepare_range(sqc_inst *in, const sqc_table *t, sq_buf *b, const char *lo, const char *hi,
                                   int *status)
{
    if (b->oom) {
        sq_buf_free(b);
        *status = SYNC_E_NOMEM;
        return NULL;
    }
    sqlite3_stmt *s = sq_prepare(&in->conn, b->p, status);
    sq_buf_free(b);
    if (!s)
        return NULL;
    const char *bounds[2] = {lo, hi};
    const char *names[2] = {":lo", ":hi"};
    for (int k = 0; k < 2; k++) {
        int at = sqlite3_bind_parameter_index(s, names[k]);
        if (!at || !bounds[k])
            continue;
        if (t->key_int)
            sqlite3_bind_int64(s, at, strtoll(bounds[k], NULL, 10));
        else
            sqlite3_bind_text(s, at, bounds[k], -1, SQLITE_TRANSIENT);
    }
    int at = sqlite3_bind_parameter_index(s, ":sdv");
    if (at)
        sqlite3_bind_text(s, at, t->soft_value, -1, SQLITE_TRANSIENT);
    return s;
}

/* Appends "se_rowhash('KINDS', unit, columns...)) FROM table WHERE range": the
   hash of each row of t's compared columns, closing the aggregate around it. */
static void rowhash_from(sq_buf *b, const sqc_table *t, const sync_type *kinds, const char *lo, const char *hi)
{
    sq_buf_puts(b, "se_rowhash('");
    for (size_t i = 0; i < t->n; i++)
        sq_buf_printf(b, "%c", (char)('0' + kinds[i]));
    sq_buf_printf(b, "', %lld", (long long)t->unit_usec);
    for (size_t i = 0; i < t->n; i++) {
        sq_buf_puts(b, ", ");
        sq_buf_ident(b, t->cols[i]);
    }
    sq_buf_puts(b, "))");
    from_range(b, t, lo, hi, 0);
}

/*
 * D1: copies the table into the scratch file the first time its rows are
 * needed (a table state is made anew for each comparison, so a verify after
 * --fix sees the rows as they are then).  Nothing on a file.
 */
static int need_rows(sqc_inst *in, sqc_table *t)
{
    if (!in->d1 || t->mirrored)
        return SYNC_OK;
    struct timespec a, z;
    clock_gettime(CLOCK_MONOTONIC, &a);
    int64_t rows = 0;
    int rc = d1_mirror_table(&in->d1c, &in->conn, &t->d1, t->key, &rows);
    if (rc != SYNC_OK)
        return rc;
    clock_gettime(CLOCK_MONOTONIC, &z);
    long long ms = (long long)(z.tv_sec - a.tv_sec) * 1000 + (z.tv_nsec - a.tv_nsec) / 1000000;
    sq_host->log(in->ctx, SYNC_LOG_INFO, "table \"%s\" of %s: %lld rows mirrored into the scratch file in %lld ms",
                 t->table, in->d1set.label, (long long)rows, ms);
    t->mirrored = 1;
    return SYNC_OK;
}

static int sqc_summary(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                       int64_t *count, uint64_t *hash)
{
    sqc_inst *in = instance;
    sqc_table *t = ts;
    int mrc = need_rows(in, t);
    if (mrc != SYNC_OK)
        return mrc;
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "SELECT count(*), se_hashsum(");
    rowhash_from(&b, t, kinds, lo, hi);
    int st;
    sqlite3_stmt *s = prepare_range(in, t, &b, lo, hi, &st);
    if (!s)
        return st;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *count = sqlite3_column_int64(s, 0);
        *hash = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? SYNC_OK : sq_fail(&in->conn, rc, "cannot sum a key range");
}

static int sqc_buckets(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                       const char *const *bounds, size_t n, int64_t *counts, uint64_t *hashes)
{
    sqc_inst *in = instance;
    sqc_table *t = ts;
    int mrc = need_rows(in, t);
    if (mrc != SYNC_OK)
        return mrc;
    sq_buf b, joined;
    sq_buf_init(&b);
    sq_buf_init(&joined);
    for (size_t i = 0; i < n; i++) {
        if (i)
            sq_buf_add(&joined, "\x1f", 1);
        sq_buf_puts(&joined, bounds[i]);
    }
    sq_buf_puts(&b, "SELECT se_partsum(se_bucket(");
    sq_buf_ident(&b, t->key);
    sq_buf_printf(&b, ", %d, :bounds), ", t->key_int);
    rowhash_from(&b, t, kinds, lo, hi);
    int st;
    if (joined.oom) {
        sq_buf_free(&b);
        sq_buf_free(&joined);
        return SYNC_E_NOMEM;
    }
    sqlite3_stmt *s = prepare_range(in, t, &b, lo, hi, &st);
    if (!s) {
        sq_buf_free(&joined);
        return st;
    }
    sqlite3_bind_text(s, sqlite3_bind_parameter_index(s, ":bounds"), joined.p ? joined.p : "", (int)joined.len,
                      SQLITE_TRANSIENT);
    sq_buf_free(&joined);
    for (size_t i = 0; i <= n; i++) {
        counts[i] = 0;
        hashes[i] = 0;
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *txt = (const char *)sqlite3_column_text(s, 0);
        char *end;
        for (size_t part = 0; txt && *txt && part <= n; part++) {
            counts[part] = strtoll(txt, &end, 10);
            hashes[part] = strtoull(end, &end, 10);
            txt = end;
            while (*txt == ' ')
                txt++;
        }
        rc = SQLITE_DONE;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot sum the parts of a key range");
}

static int sqc_split(void *instance, void *ts, const char *lo, const char *hi, int64_t step,
                     void (*key)(void *payload, const char *key), void *payload)
{
    sqc_inst *in = instance;
    sqc_table *t = ts;
    int mrc = need_rows(in, t);
    if (mrc != SYNC_OK)
        return mrc;
    if (step < 1)
        step = 1;
    sq_buf b;
    sq_buf_init(&b);
    /* the keys in order from the key's index, every step-th kept here: a window
     * function numbering the rows costs five times the walk (1,000,000 keys:
     * 1.0 s against 0.2 s) */
    sq_buf_puts(&b, "SELECT CAST(");
    sq_buf_ident(&b, t->key);
    sq_buf_puts(&b, " AS TEXT)");
    from_range(&b, t, lo, hi, 1);
    int st;
    sqlite3_stmt *s = prepare_range(in, t, &b, lo, hi, &st);
    if (!s)
        return st;
    int rc;
    int64_t row = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (row > 0 && row % step == 0)
            key(payload, (const char *)sqlite3_column_text(s, 0));
        row++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot split a key range");
}

static int sqc_fetch(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                     void (*row)(void *payload, const char *const *values), void *payload)
{
    sqc_inst *in = instance;
    sqc_table *t = ts;
    int mrc = need_rows(in, t);
    if (mrc != SYNC_OK)
        return mrc;
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "SELECT ");
    for (size_t i = 0; i < t->n; i++) {
        sq_buf_printf(&b, "%sse_canon(%d, %lld, ", i ? ", " : "", (int)kinds[i], (long long)t->unit_usec);
        sq_buf_ident(&b, t->cols[i]);
        sq_buf_printf(&b, ") AS c%zu", i);
    }
    from_range(&b, t, lo, hi, 1);
    int st;
    sqlite3_stmt *s = prepare_range(in, t, &b, lo, hi, &st);
    if (!s)
        return st;
    const char **vals = calloc(t->n, sizeof(char *));
    if (!vals) {
        sqlite3_finalize(s);
        return SYNC_E_NOMEM;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (size_t i = 0; i < t->n; i++)
            vals[i] = (const char *)sqlite3_column_text(s, (int)i);
        row(payload, vals);
    }
    free(vals);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot read a key range");
}

static int sqc_query(void *instance, const char *sql, const char *const *params, size_t n_params,
                     void (*row)(void *payload, size_t n, const char *const *values), void *payload)
{
    sqc_inst *in = instance;
    if (in->d1)
        return d1_compare_query(&in->d1c, sql, params, n_params, row, payload);
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, sql, &st);
    if (!s)
        return st;
    if (!sqlite3_stmt_readonly(s)) {
        sqlite3_finalize(s);
        sq_host->set_error(in->ctx, "the statement is not read-only: %s", sql);
        return SYNC_E_CONFIG;
    }
    for (size_t i = 0; i < n_params; i++)
        sqlite3_bind_text(s, (int)i + 1, params[i], -1, SQLITE_TRANSIENT);
    int n = sqlite3_column_count(s);
    const char **vals = calloc((size_t)n + 1, sizeof(char *));
    if (!vals) {
        sqlite3_finalize(s);
        return SYNC_E_NOMEM;
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        for (int i = 0; i < n; i++)
            vals[i] = (const char *)sqlite3_column_text(s, i);
        row(payload, (size_t)n, vals);
    }
    free(vals);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot run the statement");
}

#define SQ_VERIFY_TABLE "_syncengine_verify_runs"

static int sqc_history_add(void *instance, const char *job, const char *run_id, int64_t started_at,
                           int64_t finished_at, const char *status, const char *report_json)
{
    sqc_inst *in = instance;
    if (in->d1)
        return d1_history_add(&in->d1c, job, run_id, started_at, finished_at, status, report_json);
    if (in->conn.read_only) {
        sq_host->set_error(in->ctx, "%s is open read-only: verify results are kept in the sink's file", in->set.path);
        return SYNC_E_UNSUPPORTED;
    }
    int rc = sq_exec(&in->conn, "CREATE TABLE IF NOT EXISTS " SQ_VERIFY_TABLE
                                " (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT NOT NULL,"
                                " finished_at TEXT NOT NULL, status TEXT NOT NULL, report TEXT NOT NULL)");
    if (rc != SYNC_OK)
        return rc;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn,
                                 "INSERT INTO " SQ_VERIFY_TABLE
                                 " (run_id, job, started_at, finished_at, status, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                                 &st);
    if (!s)
        return st;
    char a[40], z[40];
    sq_format_timestamp(started_at, a, sizeof(a));
    sq_format_timestamp(finished_at, z, sizeof(z));
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, a, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, z, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, status, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, report_json, -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    sqlite3_finalize(s);
    return src == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, src, "cannot record the verify run");
}

static int sqc_history(void *instance, const char *job, int max,
                       void (*each)(void *payload, const char *run_id, int64_t started_at, int64_t finished_at,
                                    const char *status, const char *report_json),
                       void *payload)
{
    sqc_inst *in = instance;
    if (in->d1)
        return d1_history(&in->d1c, job, max, each, payload);
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn,
                                 "SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = '" SQ_VERIFY_TABLE "'",
                                 &st);
    if (!s)
        return st;
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot read the schema");
    s = sq_prepare(&in->conn,
                   "SELECT run_id, started_at, finished_at, status, report FROM " SQ_VERIFY_TABLE
                   " WHERE ?1 IS NULL OR job = ?1 ORDER BY started_at DESC, rowid DESC LIMIT ?2",
                   &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, max);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t a = 0, z = 0;
        const char *at = (const char *)sqlite3_column_text(s, 1), *zt = (const char *)sqlite3_column_text(s, 2);
        sq_host->time_parse(at, strlen(at), &a);
        sq_host->time_parse(zt, strlen(zt), &z);
        each(payload, (const char *)sqlite3_column_text(s, 0), a, z, (const char *)sqlite3_column_text(s, 3),
             (const char *)sqlite3_column_text(s, 4));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot read the verify runs");
}

const sync_compare_ops sq_compare_ops = {
    .struct_size = sizeof(sync_compare_ops),
    .open = sqc_open,
    .table = sqc_table_open,
    .summary = sqc_summary,
    .split = sqc_split,
    .fetch = sqc_fetch,
    .query = sqc_query,
    .history_add = sqc_history_add,
    .history = sqc_history,
    .close = sqc_close,
    .buckets = sqc_buckets,
};
