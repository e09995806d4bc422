/*
 * core/expr_text.c - the mapping language's functions for reading free text:
 * case-insensitive phrase matching (contains_any, count_matches), POSIX
 * regular expressions (matches), first-match-wins choice (choose) and md5.
 *
 * Phrases are compared after simple case mapping of both sides (the letters
 * lower() knows), with the typographic apostrophes U+2018 and U+2019 read as
 * the ASCII apostrophe, so "I’ll pledge" in a transcript matches the phrase
 * "I'll pledge".  A phrase matches anywhere in the text, inside words too
 * ("donate" matches "donated"); write a regular expression when word
 * boundaries matter.
 *
 * A regular expression given as a literal is compiled once, when the mapping
 * is compiled (a bad one is a configuration error naming the map line);
 * one computed per record is compiled for that record.
 */
#include "expr_ast.h"

#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* ---- case-insensitive phrase search ------------------------------------- */

/* The code point at s[*i] folded for comparison; invalid bytes map to 0x110000 + byte. */
static uint32_t fold_next(const char *s, size_t len, size_t *i)
{
    size_t k;
    uint32_t cp = syncc_xutf8_next((const unsigned char *)s + *i, len - *i, &k);
    if (cp == 0xFFFFFFFFu)
        cp = 0x110000u + (unsigned char)s[*i];
    else if (cp == 0x2018 || cp == 0x2019)
        cp = '\'';
    else
        cp = syncc_xcase_map(cp, 0);
    *i += k;
    return cp;
}

/* Whether needle matches h at byte offset at; *end gets the offset after the match. */
static int match_at(const char *h, size_t hl, size_t at, const char *nd, size_t nl, size_t *end)
{
    size_t i = at, j = 0;
    while (j < nl) {
        if (i >= hl)
            return 0;
        /* ASCII fast path */
        unsigned char x = (unsigned char)h[i], y = (unsigned char)nd[j];
        if (x < 0x80 && y < 0x80) {
            if (syncc_xascii_lower(x) != syncc_xascii_lower(y))
                return 0;
            i++, j++;
            continue;
        }
        if (fold_next(h, hl, &i) != fold_next(nd, nl, &j))
            return 0;
    }
    *end = i;
    return 1;
}

/* Counts the non-overlapping occurrences of a phrase (at most limit); an empty phrase counts once. */
static int64_t count_phrase(const char *h, size_t hl, const char *nd, size_t nl, int64_t limit)
{
    if (nl == 0)
        return 1;
    int64_t c = 0;
    size_t i = 0, end;
    while (i < hl && c < limit) {
        if (match_at(h, hl, i, nd, nl, &end)) {
            c++;
            i = end;
            continue;
        }
        /* next character start */
        i++;
        while (i < hl && ((unsigned char)h[i] & 0xC0) == 0x80)
            i++;
    }
    return c;
}

/* Counts matches of args[1..] in args[0]; limit 1 answers whether any matches. */
static int phrase_count(syncc_xeval *ev, const syncc_xnode *n, int64_t limit, int64_t *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    const char *h;
    size_t hl;
    if (syncc_xtext(ev, &a[0], &h, &hl) != 0)
        return -1;
    int64_t total = 0;
    for (size_t k = 1; k < n->nargs && total < limit; k++) {
        const char *nd;
        size_t nl;
        if (syncc_xtext(ev, &a[k], &nd, &nl) != 0)
            return -1;
        total += count_phrase(h, hl, nd, nl, limit - total);
    }
    *out = total;
    return 0;
}

int syncc_xtext_contains_any(const char *h, size_t hl, const char *const *phrases, const size_t *lens,
                             size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (count_phrase(h, hl, phrases[k], lens[k], 1) > 0)
            return 1;
    return 0;
}

int syncc_xf_contains_any(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    if (syncc_xany_null(syncc_xargs(ev, n), n->nargs)) {
        syncc_xset_null(out);
        return 0;
    }
    int64_t c;
    if (phrase_count(ev, n, 1, &c) != 0)
        return -1;
    out->type = SYNC_TYPE_BOOL;
    out->u.b = c > 0;
    return 0;
}

int syncc_xf_count_matches(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    if (syncc_xany_null(syncc_xargs(ev, n), n->nargs)) {
        syncc_xset_null(out);
        return 0;
    }
    int64_t c;
    if (phrase_count(ev, n, INT64_MAX, &c) != 0)
        return -1;
    out->type = SYNC_TYPE_INT;
    out->u.i = c;
    return 0;
}

/* ---- regular expressions ------------------------------------------------ */

typedef struct xregex {
    regex_t re;
} xregex;

static void regex_free(void *p)
{
    xregex *x = p;
    if (x) {
        regfree(&x->re);
        free(x);
    }
}

/* Flags text -> 1 case-insensitive, 0 case-sensitive, -1 unknown. */
static int regex_icase(const char *f, size_t len)
{
    if (len == 1 && f[0] == 'c')
        return 0;
    if (len == 0 || (len == 1 && f[0] == 'i'))
        return 1;
    return -1;
}

/* Compiles pattern (len bytes, no NUL inside) into x; 0, or -1 with the reason in err. */
static int regex_compile(xregex *x, const char *pat, size_t len, int icase, char *err, size_t errlen)
{
    if (memchr(pat, '\0', len) != NULL) {
        snprintf(err, errlen, "contains a NUL character");
        return -1;
    }
    char *z = malloc(len + 1);
    if (z == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(z, pat, len);
    z[len] = '\0';
    int rc = regcomp(&x->re, z, REG_EXTENDED | REG_NOSUB | (icase ? REG_ICASE : 0));
    free(z);
    if (rc != 0) {
        regerror(rc, &x->re, err, errlen);
        return -1;
    }
    return 0;
}

int syncc_xi_matches(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    n->type = SYNC_TYPE_BOOL;
    int icase = 1;
    if (n->nargs > 2) {
        const syncc_xnode *f = n->args[2];
        if (f->kind != SYNCC_XN_CONST)
            return 0; /* flags known per record only: compiled per record */
        if (f->val.type != SYNC_TYPE_NULL) {
            if (f->val.type != SYNC_TYPE_STRING ||
                (icase = regex_icase(f->val.u.str.ptr, f->val.u.str.len)) < 0) {
                *pos = f->pos;
                snprintf(err, errlen, "matches(): flags must be 'c' (case-sensitive) or 'i' (the default)");
                return -1;
            }
        }
    }
    const syncc_xnode *p = n->args[1];
    if (p->kind != SYNCC_XN_CONST || p->val.type != SYNC_TYPE_STRING)
        return 0;
    xregex *x = calloc(1, sizeof(*x));
    if (x == NULL) {
        *pos = p->pos;
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char why[256];
    if (regex_compile(x, p->val.u.str.ptr, p->val.u.str.len, icase, why, sizeof(why)) != 0) {
        free(x);
        *pos = p->pos;
        snprintf(err, errlen, "matches(): invalid regular expression '%.*s': %s",
                 (int)(p->val.u.str.len > 200 ? 200 : p->val.u.str.len), p->val.u.str.ptr, why);
        return -1;
    }
    n->aux = x;
    n->aux_free = regex_free;
    return 0;
}

/* Runs re over the whole of text (which may hold NUL characters). */
static int regex_run(const regex_t *re, const char *text, size_t len)
{
    regmatch_t m[1];
    m[0].rm_so = 0;
    m[0].rm_eo = (regoff_t)len;
    return regexec(re, text, 1, m, REG_STARTEND) == 0;
}

int syncc_xf_matches(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (syncc_xany_null(a, n->nargs)) {
        syncc_xset_null(out);
        return 0;
    }
    const char *t;
    size_t tl;
    if (syncc_xtext(ev, &a[0], &t, &tl) != 0)
        return -1;
    out->type = SYNC_TYPE_BOOL;
    if (n->aux != NULL) {
        out->u.b = regex_run(&((const xregex *)n->aux)->re, t, tl);
        return 0;
    }
    /* a pattern (or flags) computed per record */
    int icase = 1;
    if (n->nargs > 2) {
        const char *f;
        size_t fl;
        if (syncc_xtext(ev, &a[2], &f, &fl) != 0)
            return -1;
        if ((icase = regex_icase(f, fl)) < 0)
            return syncc_xerr(ev, "matches(): flags must be 'c' (case-sensitive) or 'i' (the default)");
    }
    const char *p;
    size_t pl;
    if (syncc_xtext(ev, &a[1], &p, &pl) != 0)
        return -1;
    xregex x;
    char why[256];
    if (regex_compile(&x, p, pl, icase, why, sizeof(why)) != 0) {
        char q[128];
        return syncc_xerr(ev, "matches(): invalid regular expression %s: %s", syncc_xquote(&a[1], q, sizeof(q)),
                          why);
    }
    out->u.b = regex_run(&x.re, t, tl);
    regfree(&x.re);
    return 0;
}

/* ---- choose ------------------------------------------------------------- */

static const char *tname(int t)
{
    return t == SYNCC_XT_ANY ? "any" : syncc_type_name((sync_type)t);
}

int syncc_xi_choose(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
{
    size_t pairs = n->nargs / 2;
    int acc = -2, seen = 0;
    for (size_t i = 0; i < pairs; i++) {
        int c = n->args[2 * i]->type;
        if (c == SYNC_TYPE_TIMESTAMP || c == SYNC_TYPE_DATE || c == SYNC_TYPE_JSON) {
            *pos = n->args[2 * i]->pos;
            snprintf(err, errlen, "choose(): condition %zu is a %s, not a truth value", i + 1, tname(c));
            return -1;
        }
    }
    for (size_t i = 0; i < n->nargs; i++) {
        if (i % 2 == 0 && i + 1 < n->nargs)
            continue; /* a condition */
        int t = n->args[i]->type;
        if (t == SYNC_TYPE_NULL)
            continue;
        if (!seen)
            acc = t, seen = 1;
        else if (acc == t)
            ;
        else if ((acc == SYNC_TYPE_INT && t == SYNC_TYPE_FLOAT) || (acc == SYNC_TYPE_FLOAT && t == SYNC_TYPE_INT))
            acc = SYNC_TYPE_FLOAT;
        else
            acc = SYNCC_XT_ANY;
    }
    n->type = seen ? acc : SYNC_TYPE_NULL;
    return 0;
}

int syncc_xf_choose(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    size_t pairs = n->nargs / 2;
    for (size_t i = 0; i < pairs; i++) {
        sync_value c;
        if (syncc_xeval_node(ev, n->args[2 * i], &c) != 0)
            return -1;
        int t = syncc_xtruth(ev, &c);
        if (t < 0)
            return -1;
        if (t == 1)
            return syncc_xeval_node(ev, n->args[2 * i + 1], out);
    }
    if (n->nargs % 2 == 1)
        return syncc_xeval_node(ev, n->args[n->nargs - 1], out);
    syncc_xset_null(out);
    return 0;
}

/* ---- md5 ---------------------------------------------------------------- */

/* RFC 1321, as PostgreSQL's md5() computes it (so md5(x)::uuid agrees on both sides). */
static void md5_block(uint32_t h[4], const unsigned char *p)
{
    static const uint32_t k[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
    static const unsigned char r[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                                        5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                                        4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                                        6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 | (uint32_t)p[4 * i + 2] << 16 |
               (uint32_t)p[4 * i + 3] << 24;
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
    for (int i = 0; i < 64; i++) {
        uint32_t f;
        int g;
        if (i < 16)
            f = (b & c) | (~b & d), g = i;
        else if (i < 32)
            f = (d & b) | (~d & c), g = (5 * i + 1) % 16;
        else if (i < 48)
            f = b ^ c ^ d, g = (3 * i + 5) % 16;
        else
            f = c ^ (b | ~d), g = (7 * i) % 16;
        uint32_t t = d;
        d = c;
        c = b;
        uint32_t x = a + f + k[i] + w[g];
        b = b + ((x << r[i]) | (x >> (32 - r[i])));
        a = t;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
}

void syncc_xmd5_hex(const char *p, size_t len, char hex[33])
{
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        md5_block(h, s + i);
    unsigned char tail[128];
    size_t rest = len - i;
    memset(tail, 0, sizeof(tail));
    if (rest)
        memcpy(tail, s + i, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int b = 0; b < 8; b++)
        tail[tl - 8 + b] = (unsigned char)(bits >> (8 * b));
    md5_block(h, tail);
    if (tl == 128)
        md5_block(h, tail + 64);
    static const char digits[] = "0123456789abcdef";
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 4; b++) {
            unsigned char byte = (unsigned char)(h[w] >> (8 * b));
            hex[8 * w + 2 * b] = digits[byte >> 4];
            hex[8 * w + 2 * b + 1] = digits[byte & 15];
        }
    hex[32] = '\0';
}

int syncc_xf_md5(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const char *p;
    size_t len;
    int t = syncc_xtext_arg(ev, n, out, &p, &len);
    if (t != 0)
        return t < 0 ? -1 : 0;
    char *hex = syncc_xscratch_alloc(&ev->scratch, 33);
    if (hex == NULL)
        return syncc_xerr(ev, "out of memory");
    syncc_xmd5_hex(p, len, hex);
    out->type = SYNC_TYPE_STRING;
    out->u.str.ptr = hex;
    out->u.str.len = 32;
    return 0;
}
