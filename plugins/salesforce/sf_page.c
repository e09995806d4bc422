/*
 * sf_page.c - query answer pages to records.  The field list, not the JSON,
 * drives what a record gets: every requested field is set on every record
 * (null when Salesforce sent null, or when a relationship on the way is
 * null), so a sink always sees the same columns; "attributes" objects are
 * never copied.
 *
 * The page is read in one pass with the pull reader (sf_json.h): each record
 * object is scanned once, each member key is matched against the segment of
 * the requested paths at that depth (exactly, or else case-insensitively, as
 * paths may be typed by hand), and the matched values are kept as spans of
 * the page text until the record is complete.  Values that must come out as
 * JSON text (compound fields, numbers in text fields) go through jansson, so
 * their spelling is jansson's.
 */
#include "sf_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "sf_json.h"
#include "sf_soql.h"

/* Relationship hops a path may take ("A.B.C.D.E.Name"); Salesforce allows five. */
#define MAX_LEVELS 8

/* Scan state for one page: per slot (a field, then the cursor field) its path and value. */
typedef struct pscan {
    size_t n;                          /* slots */
    const char **path;                 /* per slot */
    const char *(*seg)[MAX_LEVELS];    /* per slot and level: segment start, NULL past the end */
    size_t (*seg_len)[MAX_LEVELS];
    int *last_level;                   /* per slot: level of its final segment, -1 when too deep */
    sf_jval *val;
    unsigned char *got;                /* 0 none, 1 case-insensitive match, 2 exact */
    size_t *act;                       /* MAX_LEVELS rows of n: slots alive at each level */
    size_t *hit;                       /* MAX_LEVELS rows of n: slots the current key ends in */
    unsigned char *hit_q;              /* and how each matched */
    sf_jval idv, deleted;
    int have_id, have_deleted;
    char *scratch;                     /* decoded strings */
    size_t scratch_cap;
    char *id;                          /* the record's Id, decoded */
    size_t id_cap;
    char keybuf[512];
} pscan;

static void pscan_free(pscan *ps)
{
    free(ps->path);
    free(ps->seg);
    free(ps->seg_len);
    free(ps->last_level);
    free(ps->val);
    free(ps->got);
    free(ps->act);
    free(ps->hit);
    free(ps->hit_q);
    free(ps->scratch);
    free(ps->id);
}

static int pscan_init(pscan *ps, const sf_page_spec *spec)
{
    memset(ps, 0, sizeof *ps);
    size_t n = spec->n_fields + (spec->cursor_field != NULL);
    ps->n = n;
    size_t m = n ? n : 1;
    ps->path = calloc(m, sizeof *ps->path);
    ps->seg = calloc(m, sizeof *ps->seg);
    ps->seg_len = calloc(m, sizeof *ps->seg_len);
    ps->last_level = calloc(m, sizeof *ps->last_level);
    ps->val = calloc(m, sizeof *ps->val);
    ps->got = calloc(m, 1);
    ps->act = calloc(m * MAX_LEVELS, sizeof *ps->act);
    ps->hit = calloc(m * MAX_LEVELS, sizeof *ps->hit);
    ps->hit_q = calloc(m * MAX_LEVELS, 1);
    if (!ps->path || !ps->seg || !ps->seg_len || !ps->last_level || !ps->val || !ps->got || !ps->act ||
        !ps->hit || !ps->hit_q) {
        pscan_free(ps);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        const char *p = i < spec->n_fields ? spec->fields[i].path : spec->cursor_field;
        ps->path[i] = p;
        ps->last_level[i] = -1;
        for (int l = 0; l < MAX_LEVELS; l++) {
            const char *dot = strchr(p, '.');
            ps->seg[i][l] = p;
            ps->seg_len[i][l] = dot ? (size_t)(dot - p) : strlen(p);
            if (dot == NULL) {
                ps->last_level[i] = l;
                break;
            }
            p = dot + 1;
        }
    }
    return SYNC_OK;
}

/* Decoded text of string v: in the page itself when it has no escapes. */
static const char *text_of(pscan *ps, const sf_jval *v, size_t *len)
{
    if (!v->escaped) {
        *len = v->len;
        return v->ptr;
    }
    if (v->len + 1 > ps->scratch_cap) {
        size_t cap = v->len + 1 > 4096 ? v->len + 1 : 4096;
        char *s = realloc(ps->scratch, cap);
        if (s == NULL)
            return NULL;
        ps->scratch = s;
        ps->scratch_cap = cap;
    }
    *len = sf_json_unescape(v, ps->scratch);
    ps->scratch[*len] = '\0';
    return ps->scratch;
}

/* jansson's compact spelling of the value whose text is v (any JSON value). */
static char *dump_value(const sf_jval *v)
{
    const char *p = v->type == SF_J_STRING ? v->ptr - 1 : v->ptr;
    size_t len = v->type == SF_J_STRING ? v->len + 2 : v->len;
    json_t *js = json_loadb(p, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    char *text = js ? json_dumps(js, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    json_decref(js);
    return text;
}

static int bad_value(sync_ctx *ctx, const char *key, const char *field, const char *want,
                     const sf_jval *v)
{
    char *text = dump_value(v);
    sf_host->set_error(ctx, "record %s: field \"%s\" should be a %s, got %.80s", key, field, want,
                       text ? text : "?");
    free(text);
    return SYNC_E_PROTOCOL;
}

static int set_json(sync_record *rec, const char *name, const sf_jval *v)
{
    char *text = dump_value(v);
    if (text == NULL)
        return SYNC_E_NOMEM;
    int rc = sf_host->record_set_json(rec, name, text, strlen(text));
    free(text);
    return rc;
}

static int is_compound(const sf_jval *v)
{
    return v->type == SF_J_OBJECT || v->type == SF_J_ARRAY;
}

static int set_field(pscan *ps, sync_ctx *ctx, sync_record *rec, const char *key,
                     const sf_page_field *f, const sf_jval *v)
{
    if (v == NULL || v->type == SF_J_NULL)
        return sf_host->record_set_null(rec, f->name);
    const char *s;
    size_t len;
    switch (f->type) {
    case SF_FT_BOOL:
        if (v->type != SF_J_TRUE && v->type != SF_J_FALSE)
            return bad_value(ctx, key, f->name, "boolean", v);
        return sf_host->record_set_bool(rec, f->name, v->type == SF_J_TRUE);
    case SF_FT_INT:
        if (v->type == SF_J_INT)
            return sf_host->record_set_int(rec, f->name, v->i);
        if (v->type == SF_J_REAL) {
            double r = v->r; /* "int" fields may arrive as 3.0 */
            if (r >= -9.0e18 && r <= 9.0e18 && r == (double)(int64_t)r)
                return sf_host->record_set_int(rec, f->name, (int64_t)r);
        }
        return bad_value(ctx, key, f->name, "integer", v);
    case SF_FT_FLOAT:
        if (v->type == SF_J_INT)
            return sf_host->record_set_float(rec, f->name, (double)v->i);
        if (v->type == SF_J_REAL)
            return sf_host->record_set_float(rec, f->name, v->r);
        return bad_value(ctx, key, f->name, "number", v);
    case SF_FT_DATETIME: {
        int64_t us;
        if (v->type != SF_J_STRING)
            return bad_value(ctx, key, f->name, "datetime", v);
        if ((s = text_of(ps, v, &len)) == NULL)
            return SYNC_E_NOMEM;
        if (sf_host->time_parse(s, len, &us) != SYNC_OK)
            return bad_value(ctx, key, f->name, "datetime", v);
        return sf_host->record_set_timestamp(rec, f->name, us);
    }
    case SF_FT_DATE: {
        int64_t days;
        if (v->type != SF_J_STRING)
            return bad_value(ctx, key, f->name, "date", v);
        if ((s = text_of(ps, v, &len)) == NULL)
            return SYNC_E_NOMEM;
        if (sf_soql_parse_date(s, len, &days) != SYNC_OK)
            return bad_value(ctx, key, f->name, "date", v);
        return sf_host->record_set_date(rec, f->name, days);
    }
    case SF_FT_JSON:
        return set_json(rec, f->name, v);
    case SF_FT_STRING:
    case SF_FT_AUTO:
        break;
    }
    if (v->type == SF_J_STRING) {
        if ((s = text_of(ps, v, &len)) == NULL)
            return SYNC_E_NOMEM;
        return sf_host->record_set_string(rec, f->name, s, len);
    }
    if (f->type == SF_FT_AUTO) {
        if (v->type == SF_J_TRUE || v->type == SF_J_FALSE)
            return sf_host->record_set_bool(rec, f->name, v->type == SF_J_TRUE);
        if (v->type == SF_J_INT)
            return sf_host->record_set_int(rec, f->name, v->i);
        if (v->type == SF_J_REAL)
            return sf_host->record_set_float(rec, f->name, v->r);
        return set_json(rec, f->name, v);
    }
    if (is_compound(v))
        return set_json(rec, f->name, v);
    /* A number or boolean in a text field: keep its JSON spelling. */
    char *text = dump_value(v);
    if (text == NULL)
        return SYNC_E_NOMEM;
    int rc = sf_host->record_set_string(rec, f->name, text, strlen(text));
    free(text);
    return rc;
}

static int key_is(const char *k, size_t klen, const char *word)
{
    size_t n = strlen(word);
    return k != NULL && klen == n && memcmp(k, word, n) == 0;
}

/*
 * A member key's text, decoded when it holds escapes; NULL for an escaped key
 * longer than the buffer, which no field name or page member could spell.
 */
static const char *key_text(pscan *ps, const sf_jval *key, size_t *len)
{
    *len = key->len;
    if (!key->escaped)
        return key->ptr;
    if (key->len >= sizeof ps->keybuf)
        return NULL;
    *len = sf_json_unescape(key, ps->keybuf);
    return ps->keybuf;
}

/*
 * Reads the members of the object just opened at nesting `level` of the
 * record, keeping the values of the slots in act[0..n_act) whose path
 * continues here.  Returns 0, or -1 when the text is not JSON.
 */
static int scan_object(pscan *ps, sf_json *j, const size_t *act, size_t n_act, int level)
{
    size_t *child = level + 1 < MAX_LEVELS ? ps->act + (size_t)(level + 1) * ps->n : NULL;
    size_t *hit = ps->hit + (size_t)level * ps->n;
    unsigned char *hit_q = ps->hit_q + (size_t)level * ps->n;
    sf_jval key;
    int r;
    while ((r = sf_json_next(j, &key)) == 1) {
        size_t klen;
        const char *k = key_text(ps, &key, &klen);
        size_t n_child = 0, n_hit = 0;
        for (size_t a = 0; k != NULL && a < n_act; a++) {
            size_t s = act[a];
            if (ps->seg_len[s][level] != klen)
                continue;
            const char *seg = ps->seg[s][level];
            int q = memcmp(seg, k, klen) == 0 ? 2 : strncasecmp(seg, k, klen) == 0 ? 1 : 0;
            if (q == 0)
                continue;
            if (ps->last_level[s] == level) {
                if (q == 2 || ps->got[s] == 0) {
                    hit[n_hit] = s;
                    hit_q[n_hit++] = (unsigned char)q;
                }
            } else if (child != NULL) {
                child[n_child++] = s;
            }
        }
        sf_jval v;
        if (sf_json_value(j, &v) < 0)
            return -1;
        if (v.type == SF_J_OBJECT && n_child > 0) {
            if (scan_object(ps, j, child, n_child, level + 1) < 0)
                return -1;
            v.len = (size_t)(j->p - v.ptr);
        } else if (sf_json_skip(j, &v) < 0) {
            return -1;
        }
        for (size_t h = 0; h < n_hit; h++) {
            ps->val[hit[h]] = v;
            ps->got[hit[h]] = hit_q[h];
        }
        if (level == 0) {
            /* the record's key and delete flag: exact names only, as the API spells them */
            if (key_is(k, klen, "Id")) {
                ps->idv = v;
                ps->have_id = 1;
            } else if (key_is(k, klen, "IsDeleted")) {
                ps->deleted = v;
                ps->have_deleted = 1;
            }
        }
    }
    return r;
}

static int not_json(sync_ctx *ctx, const sf_json *j)
{
    sf_host->set_error(ctx, "query answer is not JSON: %s at line %d", j->err ? j->err : "invalid text",
                       sf_json_error_line(j));
    return SYNC_E_PROTOCOL;
}

static int one_record(pscan *ps, sync_ctx *ctx, const sf_page_spec *spec, sf_json *j, size_t index,
                      sync_emitter *em, sf_page_result *res)
{
    sf_jval rv;
    if (sf_json_value(j, &rv) < 0)
        return not_json(ctx, j);
    memset(ps->got, 0, ps->n);
    ps->have_id = ps->have_deleted = 0;
    if (rv.type == SF_J_OBJECT) {
        for (size_t i = 0; i < ps->n; i++)
            ps->act[i] = i;
        if (scan_object(ps, j, ps->act, ps->n, 0) < 0)
            return not_json(ctx, j);
    }
    /* the Id is copied: decoding other strings reuses the scratch buffer */
    size_t id_len = 0;
    if (ps->have_id && ps->idv.type == SF_J_STRING) {
        const char *s = text_of(ps, &ps->idv, &id_len);
        if (s == NULL)
            return SYNC_E_NOMEM;
        if (id_len + 1 > ps->id_cap) {
            char *b = realloc(ps->id, id_len + 64);
            if (b == NULL)
                return SYNC_E_NOMEM;
            ps->id = b;
            ps->id_cap = id_len + 64;
        }
        memcpy(ps->id, s, id_len);
        ps->id[id_len] = '\0';
    }
    const char *id = ps->id;
    /* An empty Id would become a record without a key: no sink could store it (nor one holding NUL). */
    if (rv.type != SF_J_OBJECT || id_len == 0 || memchr(id, '\0', id_len) != NULL) {
        sf_host->set_error(ctx, "record %zu of the page has no Id", index);
        return SYNC_E_PROTOCOL;
    }
    sync_op op = ps->have_deleted && ps->deleted.type == SF_J_TRUE ? SYNC_OP_DELETE : SYNC_OP_UPSERT;

    sf_cursor cur;
    int has_cursor = 0;
    if (spec->cursor_field != NULL) {
        size_t c = spec->n_fields;
        if (ps->got[c] && ps->val[c].type != SF_J_NULL) {
            const char *s = NULL;
            size_t len = 0;
            if (ps->val[c].type == SF_J_STRING && (s = text_of(ps, &ps->val[c], &len)) == NULL)
                return SYNC_E_NOMEM;
            if (s == NULL || sf_soql_parse_datetime(s, len, &cur.ts) != SYNC_OK ||
                !sf_cursor_valid_id(id, id_len))
                return bad_value(ctx, id, spec->cursor_field, "datetime", &ps->val[c]);
            memcpy(cur.id, id, id_len + 1);
            has_cursor = 1;
        }
    }

    int within = has_cursor && (spec->cursor_max == 0 || cur.ts <= spec->cursor_max);
    if (op == SYNC_OP_DELETE && spec->delivered != NULL && sf_idset_has(spec->delivered, id)) {
        /* delivered as a delete already (getDeleted): only its position counts */
        if (within) {
            res->last = cur;
            res->has_cursor = 1;
        }
        res->n_records++;
        return SYNC_OK;
    }
    sync_record *rec = sf_host->record_new(em, id, id_len, op);
    if (rec == NULL)
        return SYNC_E_NOMEM;
    int rc;
    for (size_t i = 0; i < spec->n_fields; i++)
        if ((rc = set_field(ps, ctx, rec, id, &spec->fields[i], ps->got[i] ? &ps->val[i] : NULL)) != SYNC_OK)
            return rc;
    if (within) {
        char text[SF_CURSOR_MAX];
        if ((rc = sf_cursor_format(&cur, text, sizeof text)) != SYNC_OK ||
            (rc = sf_host->record_set_cursor(rec, text)) != SYNC_OK)
            return rc;
        res->last = cur;
        res->has_cursor = 1;
    }
    res->n_records++;
    return SYNC_OK;
}

/* The records array: one record per element. */
static int read_records(pscan *ps, sync_ctx *ctx, const sf_page_spec *spec, sf_json *j,
                        sync_emitter *em, sf_page_result *res)
{
    size_t index = 0;
    int r;
    while ((r = sf_json_next(j, NULL)) == 1) {
        int rc = one_record(ps, ctx, spec, j, index++, em, res);
        if (rc != SYNC_OK)
            return rc;
    }
    return r < 0 ? not_json(ctx, j) : SYNC_OK;
}

static int not_a_page(sync_ctx *ctx)
{
    sf_host->set_error(ctx, "query answer is not a page of records");
    return SYNC_E_PROTOCOL;
}

static int read_page(pscan *ps, sync_ctx *ctx, const sf_page_spec *spec, sf_json *j, sync_emitter *em,
                     sf_page_result *res)
{
    sf_jval top, key, v, done = {.type = SF_J_NULL}, next = {.type = SF_J_NULL};
    int have_records = 0, r, rc;
    if (sf_json_value(j, &top) < 0)
        return not_json(ctx, j);
    if (top.type == SF_J_ARRAY) /* an error list, or something else that is no page */
        return sf_json_skip(j, &top) < 0 || sf_json_finish(j) < 0 ? not_json(ctx, j) : not_a_page(ctx);
    if (top.type != SF_J_OBJECT) {
        j->err = "'[' or '{' expected";
        return not_json(ctx, j);
    }
    while ((r = sf_json_next(j, &key)) == 1) {
        size_t klen;
        const char *k = key_text(ps, &key, &klen);
        if (sf_json_value(j, &v) < 0)
            return not_json(ctx, j);
        if (key_is(k, klen, "records") && v.type == SF_J_ARRAY) {
            /* records go to the emitter as they are read, so a second array cannot replace the first */
            if (have_records) {
                sf_host->set_error(ctx, "query answer has two \"records\" arrays");
                return SYNC_E_PROTOCOL;
            }
            have_records = 1;
            if ((rc = read_records(ps, ctx, spec, j, em, res)) != SYNC_OK)
                return rc;
            continue;
        }
        if (key_is(k, klen, "records"))
            have_records = -1; /* not an array: no page, once the text proves to be JSON */
        if (sf_json_skip(j, &v) < 0)
            return not_json(ctx, j);
        if (key_is(k, klen, "done"))
            done = v;
        else if (key_is(k, klen, "nextRecordsUrl"))
            next = v;
    }
    if (r < 0 || sf_json_finish(j) < 0)
        return not_json(ctx, j);
    if (have_records != 1 || (done.type != SF_J_TRUE && done.type != SF_J_FALSE))
        return not_a_page(ctx);
    res->done = done.type == SF_J_TRUE;
    if (!res->done) {
        size_t len = 0;
        const char *url = next.type == SF_J_STRING ? text_of(ps, &next, &len) : NULL;
        if (url == NULL || len == 0 || url[0] != '/') {
            sf_host->set_error(ctx, "query answer is not done but has no nextRecordsUrl");
            return SYNC_E_PROTOCOL;
        }
        if ((res->next_url = strndup(url, len)) == NULL)
            return SYNC_E_NOMEM;
    }
    return SYNC_OK;
}

int sf_page_load(sync_ctx *ctx, const sf_page_spec *spec, const char *text, size_t len,
                 sync_emitter *em, sf_page_result *res)
{
    memset(res, 0, sizeof *res);
    pscan ps;
    if (pscan_init(&ps, spec) != SYNC_OK)
        return SYNC_E_NOMEM;
    sf_json j;
    sf_json_init(&j, text, len);
    int rc = read_page(&ps, ctx, spec, &j, em, res);
    pscan_free(&ps);
    return rc;
}

void sf_page_result_clear(sf_page_result *res)
{
    free(res->next_url);
    memset(res, 0, sizeof *res);
}

int sf_idset_add(sf_idset *set, const char *id, size_t len)
{
    if (len >= SF_ID_MAX)
        return SYNC_E_INVALID;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        char(*ids)[SF_ID_MAX] = realloc(set->ids, cap * sizeof *ids);
        if (ids == NULL)
            return SYNC_E_NOMEM;
        set->ids = ids;
        set->cap = cap;
    }
    memcpy(set->ids[set->n], id, len);
    set->ids[set->n++][len] = '\0';
    set->sorted = 0;
    return SYNC_OK;
}

static int id_cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

int sf_idset_has(sf_idset *set, const char *id)
{
    if (set->n == 0)
        return 0;
    if (!set->sorted) {
        qsort(set->ids, set->n, sizeof *set->ids, id_cmp);
        set->sorted = 1;
    }
    return bsearch(id, set->ids, set->n, sizeof *set->ids, id_cmp) != NULL;
}

void sf_idset_free(sf_idset *set)
{
    free(set->ids);
    memset(set, 0, sizeof *set);
}
