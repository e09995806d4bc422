/*
 * core/expr_json.c - the mapping language's functions for reading JSON
 * values: one value by JSON pointer (json_get), and what aggregating a child
 * array into its parent record takes: keep the elements whose field has a
 * value (json_filter), take one field of each (json_pluck), keep the elements
 * holding a phrase (json_grep), count them (json_length) and join their texts
 * (join).
 *
 * The input is a JSON value, or a string holding JSON text.  Unlike the other
 * functions these parse their input for every record (with jansson, so they
 * allocate); the results are compact JSON text (type json) or typed values.
 */
#include "expr_ast.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/* Parses v (json, or a string holding JSON text); NULL + ev->err when it is not JSON. */
static json_t *parse(syncc_xeval *ev, const char *fname, const sync_value *v)
{
    char q[128];
    if (v->type != SYNC_TYPE_JSON && v->type != SYNC_TYPE_STRING) {
        syncc_xerr(ev, "%s(): %s %s is not JSON", fname, syncc_type_name(v->type), syncc_xquote(v, q, sizeof(q)));
        return NULL;
    }
    json_error_t e;
    json_t *j = json_loadb(v->u.str.ptr, v->u.str.len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (j == NULL)
        syncc_xerr(ev, "%s(): invalid JSON %s: %s", fname, syncc_xquote(v, q, sizeof(q)), e.text);
    return j;
}

static json_t *parse_array(syncc_xeval *ev, const char *fname, const sync_value *v)
{
    json_t *j = parse(ev, fname, v);
    if (j != NULL && !json_is_array(j)) {
        char q[128];
        syncc_xerr(ev, "%s(): %s is not a JSON array", fname, syncc_xquote(v, q, sizeof(q)));
        json_decref(j);
        return NULL;
    }
    return j;
}

static int dump_cb(const char *p, size_t size, void *data)
{
    syncc_xbuf_add(data, p, size);
    return 0;
}

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15))

/* j as compact JSON text (type json) in scratch memory. */
static int set_json(syncc_xeval *ev, const json_t *j, sync_value *out)
{
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    json_dump_callback(j, dump_cb, &b, DUMP_FLAGS);
    out->type = SYNC_TYPE_JSON;
    if (syncc_xbuf_end(&b, &out->u.str.ptr, &out->u.str.len) != 0)
        return syncc_xerr(ev, "out of memory");
    return 0;
}

/*
 * A scalar as a record value pointing into j (valid while j lives); objects
 * and arrays give 1 (not a scalar).
 */
static int scalar_value(const json_t *j, sync_value *v)
{
    memset(v, 0, sizeof(*v));
    switch (json_typeof(j)) {
    case JSON_STRING:
        v->type = SYNC_TYPE_STRING;
        v->u.str.ptr = json_string_value(j);
        v->u.str.len = json_string_length(j);
        return 0;
    case JSON_INTEGER:
        v->type = SYNC_TYPE_INT;
        v->u.i = (int64_t)json_integer_value(j);
        return 0;
    case JSON_REAL:
        v->type = SYNC_TYPE_FLOAT;
        v->u.f = json_real_value(j);
        return 0;
    case JSON_TRUE:
    case JSON_FALSE:
        v->type = SYNC_TYPE_BOOL;
        v->u.b = json_is_true(j);
        return 0;
    case JSON_NULL:
        v->type = SYNC_TYPE_NULL;
        return 0;
    default:
        return 1;
    }
}

/* j as a record value in scratch memory: scalars typed, objects and arrays as JSON. */
static int set_value(syncc_xeval *ev, const json_t *j, sync_value *out)
{
    sync_value v;
    if (j == NULL) {
        syncc_xset_null(out);
        return 0;
    }
    if (scalar_value(j, &v) != 0)
        return set_json(ev, j, out);
    if (v.type == SYNC_TYPE_STRING) {
        char *p = syncc_xscratch_alloc(&ev->scratch, v.u.str.len + 1);
        if (p == NULL)
            return syncc_xerr(ev, "out of memory");
        memcpy(p, v.u.str.ptr, v.u.str.len);
        p[v.u.str.len] = '\0';
        v.u.str.ptr = p;
    }
    *out = v;
    return 0;
}

/*
 * Follows a JSON pointer (RFC 6901: "/a/0/b", "~1" for '/', "~0" for '~') from
 * j; NULL when the value is not there.  -1 (and ev->err) for a malformed pointer.
 */
static int pointer_get(syncc_xeval *ev, const char *fname, json_t *j, const char *p, size_t len, json_t **out)
{
    *out = NULL;
    if (len == 0) {
        *out = j;
        return 0;
    }
    if (p[0] != '/')
        return syncc_xerr(ev, "%s(): JSON pointer '%.*s' does not start with '/'", fname, (int)(len > 100 ? 100 : len),
                          p);
    char tok[512];
    size_t i = 1;
    json_t *cur = j;
    for (;;) {
        size_t t = 0;
        while (i < len && p[i] != '/') {
            char c = p[i++];
            if (c == '~') {
                if (i < len && (p[i] == '0' || p[i] == '1')) {
                    c = p[i++] == '0' ? '~' : '/';
                } else {
                    return syncc_xerr(ev, "%s(): JSON pointer '%.*s': '~' must be followed by 0 or 1", fname,
                                      (int)(len > 100 ? 100 : len), p);
                }
            }
            if (t + 1 >= sizeof(tok))
                return syncc_xerr(ev, "%s(): JSON pointer segment too long", fname);
            tok[t++] = c;
        }
        tok[t] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, tok);
        } else if (json_is_array(cur)) {
            char *end;
            if (t == 0 || (t > 1 && tok[0] == '0') || tok[0] < '0' || tok[0] > '9')
                return 0;
            unsigned long long idx = strtoull(tok, &end, 10);
            if (*end != '\0' || idx >= json_array_size(cur))
                return 0;
            cur = json_array_get(cur, (size_t)idx);
        } else {
            return 0;
        }
        if (cur == NULL)
            return 0;
        if (i >= len)
            break;
        i++; /* past '/' */
    }
    *out = cur;
    return 0;
}

/* The field of element e: a member name, or a JSON pointer when it starts with '/'. */
static int field_of(syncc_xeval *ev, const char *fname, json_t *e, const char *f, size_t fl, json_t **out)
{
    if (fl > 0 && f[0] == '/')
        return pointer_get(ev, fname, e, f, fl, out);
    *out = NULL;
    if (!json_is_object(e))
        return 0;
    if (memchr(f, '\0', fl) != NULL)
        return 0; /* jansson looks members up by C string: such a name finds none */
    char buf[256];
    char *name = fl < sizeof(buf) ? buf : malloc(fl + 1);
    if (name == NULL)
        return syncc_xerr(ev, "out of memory");
    memcpy(name, f, fl);
    name[fl] = '\0';
    *out = json_object_get(e, name);
    if (name != buf)
        free(name);
    return 0;
}

/* ---- the functions ------------------------------------------------------ */

/*
 * The arguments of fname(array, text, ...): 1 with *out null when one is
 * null, -1 on an error, else 0 with the array parsed into *j (the caller
 * frees it) and the text of the second argument in *t.
 */
static int array_args(syncc_xeval *ev, const syncc_xnode *n, const char *fname, sync_value *out, json_t **j,
                      const char **t, size_t *tl)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (syncc_xany_null(a, n->nargs)) {
        syncc_xset_null(out);
        return 1;
    }
    if (syncc_xtext(ev, &a[1], t, tl) != 0)
        return -1;
    *j = parse_array(ev, fname, &a[0]);
    return *j != NULL ? 0 : -1;
}

/* Ends a function whose result is the array res: sets *out unless rc is an error; frees res and j. */
static int end_array(syncc_xeval *ev, int rc, json_t *res, json_t *j, sync_value *out)
{
    if (rc == 0)
        rc = set_json(ev, res, out);
    json_decref(res);
    json_decref(j);
    return rc;
}

int syncc_xf_json_get(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (syncc_xany_null(a, n->nargs)) {
        syncc_xset_null(out);
        return 0;
    }
    const char *p;
    size_t pl;
    if (syncc_xtext(ev, &a[1], &p, &pl) != 0)
        return -1;
    json_t *j = parse(ev, "json_get", &a[0]);
    if (j == NULL)
        return -1;
    json_t *v;
    int rc = pointer_get(ev, "json_get", j, p, pl, &v);
    if (rc == 0)
        rc = set_value(ev, v, out);
    json_decref(j);
    return rc;
}

/*
 * json_filter(array, field, value) and json_pluck(array, field) walk the
 * array the same way and differ only in what they keep: with equal_to, the
 * elements whose field equals it; without, the fields themselves (not null).
 */
static int select_fields(syncc_xeval *ev, const syncc_xnode *n, const char *fname, sync_value *out,
                         const sync_value *equal_to)
{
    json_t *j;
    const char *f;
    size_t fl;
    int rc = array_args(ev, n, fname, out, &j, &f, &fl);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    json_t *res = json_array();
    rc = res ? 0 : syncc_xerr(ev, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
        if (rc != 0)
            break;
        json_t *m;
        if ((rc = field_of(ev, fname, e, f, fl, &m)) != 0)
            break;
        json_t *keep = NULL;
        if (equal_to == NULL) {
            if (m != NULL && !json_is_null(m))
                keep = m;
        } else {
            sync_value v;
            int c;
            if (m == NULL || scalar_value(m, &v) != 0 || v.type == SYNC_TYPE_NULL)
                continue;
            if (syncc_xcompare(ev, &v, equal_to, &c) != 0) {
                ev->err[0] = '\0'; /* values that cannot be compared are not equal */
                continue;
            }
            if (c == 0)
                keep = e;
        }
        if (keep != NULL && json_array_append(res, keep) != 0)
            rc = syncc_xerr(ev, "out of memory");
    }
    return end_array(ev, rc, res, j, out);
}

int syncc_xf_json_filter(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    return select_fields(ev, n, "json_filter", out, &syncc_xargs(ev, n)[2]);
}

int syncc_xf_json_pluck(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    return select_fields(ev, n, "json_pluck", out, NULL);
}

/* The text of element e as join() and json_grep() read it: strings as they are, others as JSON. */
static char *element_text(const json_t *e, const char **p, size_t *len, char *tmp, size_t tmplen)
{
    if (json_is_string(e)) {
        *p = json_string_value(e);
        *len = json_string_length(e);
        return NULL;
    }
    if (json_is_integer(e) || json_is_real(e) || json_is_boolean(e)) {
        sync_value v;
        scalar_value(e, &v);
        if (syncc_xformat(&v, tmp, tmplen, len) != 0)
            *len = 0;
        *p = tmp;
        return NULL;
    }
    char *d = json_dumps(e, DUMP_FLAGS);
    *p = d ? d : "";
    *len = d ? strlen(d) : 0;
    return d;
}

int syncc_xf_json_grep(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (syncc_xany_null(a, n->nargs)) {
        syncc_xset_null(out);
        return 0;
    }
    size_t np = n->nargs - 1;
    const char **ph = syncc_xscratch_alloc(&ev->scratch, np * sizeof(*ph));
    size_t *pl = syncc_xscratch_alloc(&ev->scratch, np * sizeof(*pl));
    if (ph == NULL || pl == NULL)
        return syncc_xerr(ev, "out of memory");
    for (size_t k = 0; k < np; k++)
        if (syncc_xtext(ev, &a[k + 1], &ph[k], &pl[k]) != 0)
            return -1;
    json_t *j = parse_array(ev, "json_grep", &a[0]);
    if (j == NULL)
        return -1;
    json_t *res = json_array();
    int rc = res ? 0 : syncc_xerr(ev, "out of memory");
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) {
        if (rc != 0)
            break;
        if (json_is_null(e))
            continue;
        char tmp[64];
        const char *t;
        size_t tl;
        char *d = element_text(e, &t, &tl, tmp, sizeof(tmp));
        int hit = syncc_xtext_contains_any(t, tl, ph, pl, np);
        free(d);
        if (hit && json_array_append(res, e) != 0)
            rc = syncc_xerr(ev, "out of memory");
    }
    return end_array(ev, rc, res, j, out);
}

int syncc_xf_json_length(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    const sync_value *a = syncc_xargs(ev, n);
    if (a->type == SYNC_TYPE_NULL) {
        syncc_xset_null(out);
        return 0;
    }
    json_t *j = parse(ev, "json_length", a);
    if (j == NULL)
        return -1;
    int rc = 0;
    out->type = SYNC_TYPE_INT;
    if (json_is_array(j)) {
        out->u.i = (int64_t)json_array_size(j);
    } else if (json_is_object(j)) {
        out->u.i = (int64_t)json_object_size(j);
    } else {
        char q[128];
        rc = syncc_xerr(ev, "json_length(): %s is not a JSON array or object", syncc_xquote(a, q, sizeof(q)));
    }
    json_decref(j);
    return rc;
}

int syncc_xf_join(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
{
    json_t *j;
    const char *sep;
    size_t sl;
    int rc = array_args(ev, n, "join", out, &j, &sep, &sl);
    if (rc != 0)
        return rc > 0 ? 0 : -1;
    /* the separator's text is made before the builder owns the scratch */
    syncc_xbuf b;
    syncc_xbuf_begin(&b, &ev->scratch);
    size_t i, k = 0;
    json_t *e;
    json_array_foreach(j, i, e) {
        if (json_is_null(e))
            continue;
        char tmp[64];
        const char *t;
        size_t tl;
        char *d = element_text(e, &t, &tl, tmp, sizeof(tmp));
        if (k++)
            syncc_xbuf_add(&b, sep, sl);
        syncc_xbuf_add(&b, t, tl);
        free(d);
    }
    json_decref(j);
    out->type = SYNC_TYPE_STRING;
    if (syncc_xbuf_end(&b, &out->u.str.ptr, &out->u.str.len) != 0)
        return syncc_xerr(ev, "out of memory");
    return 0;
}
