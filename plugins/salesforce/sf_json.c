/*
 * sf_json.c - the pull reader of sf_json.h.  Every byte is looked at once;
 * strings are checked (UTF-8, escapes, surrogates) while they are skipped
 * over, and decoded only when a caller wants their text.
 */
#include "sf_json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int fail(sf_json *j, const char *at, const char *why)
{
    if (j->err == NULL) {
        j->err = why;
        j->err_at = (size_t)(at - j->start);
    }
    return -1;
}

void sf_json_init(sf_json *j, const char *text, size_t len)
{
    memset(j, 0, sizeof *j);
    j->start = j->p = text;
    j->end = text + len;
}

int sf_json_error_line(const sf_json *j)
{
    int line = 1;
    for (size_t i = 0; i < j->err_at; i++)
        line += j->start[i] == '\n';
    return line;
}

static void skip_ws(sf_json *j)
{
    const char *p = j->p;
    while (p < j->end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    j->p = p;
}

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out)
{
    if (end - p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], cp;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
        return 0; /* overlong, a surrogate, or beyond Unicode */
    return n;
}

/* j->p at the opening quote.  A key may not hold \u0000 (jansson's rule); a value may. */
static int scan_string(sf_json *j, sf_jval *v, int is_key)
{
    const unsigned char *p = (const unsigned char *)j->p + 1;
    const unsigned char *end = (const unsigned char *)j->end;
    v->type = SF_J_STRING;
    v->ptr = (const char *)p;
    v->escaped = 0;
    for (;;) {
        /* eight plain bytes at a time: none below 0x20, none from 0x80, no '"' or '\' */
        while (end - p >= 8) {
            uint64_t x;
            memcpy(&x, p, 8);
            const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
            uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
            /* With every byte below 0x80, a subtraction sets a byte's high bit only
             * where that byte is below 0x20, or is the '"' or '\' (zero after the
             * xor), or above one that is: never when all eight are plain. */
            uint64_t special = ((x - ones * 0x20) | (q - ones) | (b - ones) | x) & highs;
            if (special != 0)
                break;
            p += 8;
        }
        while (p < end && *p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
            p++;
        if (p >= end)
            return fail(j, (const char *)p, "unterminated string");
        unsigned c = *p;
        if (c == '"')
            break;
        if (c < 0x20)
            return fail(j, (const char *)p, "control character in a string");
        if (c >= 0x80) {
            size_t n = utf8_seq(p, end);
            if (n == 0)
                return fail(j, (const char *)p, "invalid UTF-8 in a string");
            p += n;
            continue;
        }
        /* a backslash */
        v->escaped = 1;
        if (end - p < 2)
            return fail(j, (const char *)p, "unterminated string");
        switch (p[1]) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            p += 2;
            continue;
        case 'u':
            break;
        default:
            return fail(j, (const char *)p, "invalid escape in a string");
        }
        unsigned u, lo;
        if (hex4(p + 2, end, &u) < 0)
            return fail(j, (const char *)p, "invalid \\u escape in a string");
        if (u == 0 && is_key)
            return fail(j, (const char *)p, "\\u0000 in an object key");
        if (u >= 0xDC00 && u <= 0xDFFF)
            return fail(j, (const char *)p, "unpaired surrogate in a string");
        p += 6;
        if (u >= 0xD800 && u <= 0xDBFF) {
            if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) < 0 ||
                lo < 0xDC00 || lo > 0xDFFF)
                return fail(j, (const char *)p, "unpaired surrogate in a string");
            p += 6;
        }
    }
    v->len = (size_t)(p - (const unsigned char *)v->ptr);
    j->p = (const char *)p + 1;
    return 0;
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static int scan_number(sf_json *j, sf_jval *v)
{
    const char *s = j->p, *p = s, *end = j->end;
    int real = 0;
    if (p < end && *p == '-')
        p++;
    if (!is_digit(p, end))
        return fail(j, p, "invalid number");
    if (*p == '0') {
        if (is_digit(++p, end))
            return fail(j, p, "invalid number (leading zero)");
    } else {
        while (is_digit(p, end))
            p++;
    }
    if (p < end && *p == '.') {
        real = 1;
        if (!is_digit(++p, end))
            return fail(j, p, "invalid number");
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            return fail(j, p, "invalid number");
        while (is_digit(p, end))
            p++;
    }
    v->ptr = s;
    v->len = (size_t)(p - s);
    j->p = p;
    if (!real) {
        int neg = *s == '-';
        uint64_t mag = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
        for (const char *d = s + neg; d < p; d++) {
            unsigned dv = (unsigned)(*d - '0');
            if (mag > (limit - dv) / 10)
                return fail(j, s, "integer out of range");
            mag = mag * 10 + dv;
        }
        v->type = SF_J_INT;
        v->i = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
        return 0;
    }
    /* strtod wants a terminated copy; numbers are short, a long one is rare */
    char small[64], *buf = v->len < sizeof small ? small : malloc(v->len + 1);
    if (buf == NULL)
        return fail(j, s, "out of memory");
    memcpy(buf, s, v->len);
    buf[v->len] = '\0';
    errno = 0;
    double r = strtod(buf, NULL);
    int overflow = errno == ERANGE && (r == HUGE_VAL || r == -HUGE_VAL);
    if (buf != small)
        free(buf);
    if (overflow)
        return fail(j, s, "real number overflow");
    v->type = SF_J_REAL;
    v->r = r;
    return 0;
}

static int literal(sf_json *j, sf_jval *v, const char *word, size_t n, sf_jtype type)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return fail(j, j->p, "invalid literal");
    v->type = type;
    v->ptr = j->p;
    v->len = n;
    j->p += n;
    return 0;
}

int sf_json_value(sf_json *j, sf_jval *v)
{
    if (j->err != NULL)
        return -1;
    skip_ws(j);
    if (j->p >= j->end)
        return fail(j, j->p, "unexpected end of text");
    /* jansson's limit, counted the same way: values inside that many levels */
    if (j->depth >= SF_JSON_MAX_DEPTH)
        return fail(j, j->p, "nesting too deep");
    v->escaped = 0;
    v->len = 0;
    switch (*j->p) {
    case '{':
    case '[': {
        int obj = *j->p == '{';
        uint64_t bit = (uint64_t)1 << (j->depth % 64);
        if (obj)
            j->is_object[j->depth / 64] |= bit;
        else
            j->is_object[j->depth / 64] &= ~bit;
        j->depth++;
        j->first = 1;
        v->type = obj ? SF_J_OBJECT : SF_J_ARRAY;
        v->ptr = j->p++;
        return 0;
    }
    case '"':
        return scan_string(j, v, 0);
    case 't':
        return literal(j, v, "true", 4, SF_J_TRUE);
    case 'f':
        return literal(j, v, "false", 5, SF_J_FALSE);
    case 'n':
        return literal(j, v, "null", 4, SF_J_NULL);
    default:
        if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
            return scan_number(j, v);
        return fail(j, j->p, "unexpected character");
    }
}

int sf_json_next(sf_json *j, sf_jval *key)
{
    if (j->err != NULL)
        return -1;
    if (j->depth == 0)
        return fail(j, j->p, "not inside an object or array");
    int level = j->depth - 1;
    int obj = (int)(j->is_object[level / 64] >> (level % 64) & 1);
    skip_ws(j);
    if (j->p >= j->end)
        return fail(j, j->p, "unexpected end of text");
    if (*j->p == (obj ? '}' : ']')) {
        j->p++;
        j->depth--;
        j->first = 0;
        return 0;
    }
    if (!j->first) {
        if (*j->p != ',')
            return fail(j, j->p, obj ? "',' or '}' expected" : "',' or ']' expected");
        j->p++;
        skip_ws(j);
    }
    j->first = 0;
    if (!obj)
        return 1;
    sf_jval k;
    if (key == NULL)
        key = &k;
    if (j->p >= j->end || *j->p != '"')
        return fail(j, j->p, "string expected as object key");
    if (scan_string(j, key, 1) < 0)
        return -1;
    skip_ws(j);
    if (j->p >= j->end || *j->p != ':')
        return fail(j, j->p, "':' expected");
    j->p++;
    return 1;
}

int sf_json_skip(sf_json *j, sf_jval *v)
{
    if (v->type != SF_J_OBJECT && v->type != SF_J_ARRAY)
        return j->err != NULL ? -1 : 0;
    int target = j->depth - 1;
    while (j->depth > target) {
        int r = sf_json_next(j, NULL);
        if (r < 0)
            return -1;
        sf_jval inner;
        if (r == 1 && sf_json_value(j, &inner) < 0)
            return -1;
    }
    v->len = (size_t)(j->p - v->ptr);
    return 0;
}

int sf_json_any(sf_json *j, sf_jval *v)
{
    if (sf_json_value(j, v) < 0)
        return -1;
    return sf_json_skip(j, v);
}

int sf_json_finish(sf_json *j)
{
    if (j->err != NULL)
        return -1;
    if (j->depth != 0)
        return fail(j, j->p, "unexpected end of text");
    skip_ws(j);
    if (j->p != j->end)
        return fail(j, j->p, "end of text expected");
    return 0;
}

static size_t utf8_put(unsigned cp, char *out)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t sf_json_unescape(const sf_jval *v, char *out)
{
    const char *p = v->ptr, *end = v->ptr + v->len;
    char *o = out;
    if (!v->escaped) {
        memcpy(out, p, v->len);
        return v->len;
    }
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        size_t n = bs ? (size_t)(bs - p) : (size_t)(end - p);
        memcpy(o, p, n);
        o += n;
        p += n;
        if (bs == NULL)
            break;
        char c = p[1];
        p += 2;
        switch (c) {
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned u = 0, lo = 0;
            hex4((const unsigned char *)p, (const unsigned char *)end, &u);
            p += 4;
            if (u >= 0xD800 && u <= 0xDBFF) {
                hex4((const unsigned char *)p + 2, (const unsigned char *)end, &lo);
                p += 6;
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            o += utf8_put(u, o);
            break;
        }
        default: *o++ = c; break; /* '"', '\\', '/' */
        }
    }
    return (size_t)(o - out);
}

int sf_json_valid(const char *text, size_t len)
{
    sf_json j;
    sf_jval v;
    sf_json_init(&j, text, len);
    if (sf_json_value(&j, &v) < 0 || (v.type != SF_J_OBJECT && v.type != SF_J_ARRAY))
        return 0;
    return sf_json_skip(&j, &v) == 0 && sf_json_finish(&j) == 0;
}
