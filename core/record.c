/*
 * core/record.c - batches, records and their arena.
 *
 * Everything a batch holds lives in one arena of large chunks, so building a
 * record costs a few pointer bumps and releasing a batch costs nothing per
 * record.  Batches are reset and reused by the pipeline, which keeps memory
 * flat: the arena's chunks stay allocated across uses.
 */
#include "record.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ARENA_CHUNK (64 * 1024)

struct syncc_arena_chunk {
    syncc_arena_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void *syncc_arena_alloc(syncc_arena *a, size_t size)
{
    size = (size + 15) & ~(size_t)15;
    syncc_arena_chunk *c = a->head;
    if (c == NULL || c->size - c->used < size) {
        size_t want = size > ARENA_CHUNK / 4 ? size : ARENA_CHUNK;
        syncc_arena_chunk *n = malloc(sizeof(*n) + want);
        if (n == NULL)
            return NULL;
        n->size = want;
        n->used = 0;
        if (want > ARENA_CHUNK && c != NULL) {
            /* An oversized block goes behind the current chunk so the
             * current chunk keeps serving small allocations. */
            n->next = c->next;
            c->next = n;
            n->used = size;
            a->used_total += size;
            return n->data;
        }
        n->next = c;
        a->head = c = n;
    }
    void *p = c->data + c->used;
    c->used += size;
    a->used_total += size;
    return p;
}

char *syncc_arena_strndup(syncc_arena *a, const char *s, size_t len)
{
    char *p = syncc_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void syncc_arena_reset(syncc_arena *a)
{
    /* Keep the largest standard chunk; free the rest. */
    syncc_arena_chunk *keep = NULL, *c = a->head;
    while (c != NULL) {
        syncc_arena_chunk *next = c->next;
        if (keep == NULL && c->size == ARENA_CHUNK) {
            keep = c;
        } else {
            free(c);
        }
        c = next;
    }
    if (keep != NULL) {
        keep->next = NULL;
        keep->used = 0;
    }
    a->head = keep;
    a->used_total = 0;
}

void syncc_arena_free(syncc_arena *a)
{
    syncc_arena_chunk *c = a->head;
    while (c != NULL) {
        syncc_arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
    a->used_total = 0;
}

sync_batch *syncc_batch_new(void)
{
    sync_batch *b = calloc(1, sizeof(*b));
    return b;
}

void syncc_batch_free(sync_batch *b)
{
    if (b == NULL)
        return;
    syncc_arena_free(&b->arena);
    free(b->records);
    free(b->names);
    free(b->cursor);
    free(b);
}

void syncc_batch_reset(sync_batch *b)
{
    syncc_arena_reset(&b->arena);
    b->n_records = 0;
    if (b->names != NULL)
        memset(b->names, 0, b->cap_names * sizeof(*b->names));
    b->n_names = 0;
    free(b->cursor);
    b->cursor = NULL;
}

int syncc_batch_set_cursor(sync_batch *b, const char *cursor)
{
    char *c = NULL;
    if (cursor != NULL && (c = strdup(cursor)) == NULL)
        return SYNC_E_NOMEM;
    free(b->cursor);
    b->cursor = c;
    return SYNC_OK;
}

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int names_grow(sync_batch *b)
{
    size_t cap = b->cap_names ? b->cap_names * 2 : 64;
    const char **n = calloc(cap, sizeof(*n));
    if (n == NULL)
        return -1;
    for (size_t i = 0; i < b->cap_names; i++) {
        const char *s = b->names[i];
        if (s == NULL)
            continue;
        size_t j = hash_name(s, strlen(s)) & (cap - 1);
        while (n[j] != NULL)
            j = (j + 1) & (cap - 1);
        n[j] = s;
    }
    free(b->names);
    b->names = n;
    b->cap_names = cap;
    return 0;
}

const char *syncc_batch_intern(sync_batch *b, const char *name, size_t len)
{
    if ((b->n_names + 1) * 2 > b->cap_names && names_grow(b) != 0)
        return NULL;
    size_t j = hash_name(name, len) & (b->cap_names - 1);
    while (b->names[j] != NULL) {
        const char *s = b->names[j];
        if (strncmp(s, name, len) == 0 && s[len] == '\0')
            return s;
        j = (j + 1) & (b->cap_names - 1);
    }
    char *s = syncc_arena_strndup(&b->arena, name, len);
    if (s == NULL)
        return NULL;
    b->names[j] = s;
    b->n_names++;
    return s;
}

sync_record *syncc_batch_add(sync_batch *b, const char *key, size_t key_len, sync_op op)
{
    if (b->n_records == b->cap_records) {
        size_t cap = b->cap_records ? b->cap_records * 2 : 256;
        sync_record **r = realloc(b->records, cap * sizeof(*r));
        if (r == NULL)
            return NULL;
        b->records = r;
        b->cap_records = cap;
    }
    sync_record *r = syncc_arena_alloc(&b->arena, sizeof(*r));
    if (r == NULL)
        return NULL;
    memset(r, 0, sizeof(*r));
    r->batch = b;
    r->op = op;
    if (key != NULL && (r->key = syncc_arena_strndup(&b->arena, key, key_len)) == NULL)
        return NULL;
    b->records[b->n_records++] = r;
    return r;
}

static int copy_value(syncc_arena *a, sync_value *dst, const sync_value *src)
{
    *dst = *src;
    if (src->type == SYNC_TYPE_STRING || src->type == SYNC_TYPE_JSON) {
        char *p = syncc_arena_strndup(a, src->u.str.ptr ? src->u.str.ptr : "", src->u.str.len);
        if (p == NULL)
            return SYNC_E_NOMEM;
        dst->u.str.ptr = p;
    }
    return SYNC_OK;
}

int syncc_value_copy(syncc_arena *a, sync_value *dst, const sync_value *src)
{
    return copy_value(a, dst, src);
}

int syncc_record_append_interned(sync_record *r, const char *name, const sync_value *v)
{
    syncc_arena *a = &r->batch->arena;
    if (r->n_fields == r->cap_fields) {
        uint32_t cap = r->cap_fields ? r->cap_fields * 2 : 16;
        syncc_field *f = syncc_arena_alloc(a, cap * sizeof(*f));
        if (f == NULL)
            return SYNC_E_NOMEM;
        if (r->n_fields)
            memcpy(f, r->fields, r->n_fields * sizeof(*f));
        r->fields = f; /* the old array stays in the arena until reset */
        r->cap_fields = cap;
    }
    syncc_field *f = &r->fields[r->n_fields];
    f->name = name;
    int rc = copy_value(a, &f->value, v);
    if (rc != SYNC_OK)
        return rc;
    r->n_fields++;
    return SYNC_OK;
}

int syncc_record_set(sync_record *r, const char *name, const sync_value *v)
{
    const char *in = syncc_batch_intern(r->batch, name, strlen(name));
    if (in == NULL)
        return SYNC_E_NOMEM;
    for (uint32_t i = 0; i < r->n_fields; i++) {
        if (r->fields[i].name == in)
            return copy_value(&r->batch->arena, &r->fields[i].value, v);
    }
    return syncc_record_append_interned(r, in, v);
}

int syncc_record_set_cursor(sync_record *r, const char *cursor)
{
    if (cursor == NULL) {
        r->cursor = NULL;
        return SYNC_OK;
    }
    r->cursor = syncc_arena_strndup(&r->batch->arena, cursor, strlen(cursor));
    return r->cursor ? SYNC_OK : SYNC_E_NOMEM;
}

long syncc_record_find(const sync_record *r, const char *name, size_t hint)
{
    if (hint < r->n_fields) {
        const char *n = r->fields[hint].name;
        if (n == name || strcmp(n, name) == 0)
            return (long)hint;
    }
    for (uint32_t i = 0; i < r->n_fields; i++) {
        const char *n = r->fields[i].name;
        if (n == name || strcmp(n, name) == 0)
            return (long)i;
    }
    return -1;
}

const char *syncc_type_name(sync_type t)
{
    switch (t) {
    case SYNC_TYPE_NULL: return "null";
    case SYNC_TYPE_BOOL: return "bool";
    case SYNC_TYPE_INT: return "integer";
    case SYNC_TYPE_FLOAT: return "float";
    case SYNC_TYPE_STRING: return "string";
    case SYNC_TYPE_TIMESTAMP: return "timestamp";
    case SYNC_TYPE_DATE: return "date";
    case SYNC_TYPE_JSON: return "json";
    }
    return "unknown";
}

/* Civil date from days since the epoch (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int put(size_t size, size_t *len, int n)
{
    if (n < 0 || (size_t)n >= size)
        return -1;
    *len = (size_t)n;
    return 0;
}

int syncc_value_to_text(const sync_value *v, char *buf, size_t size, size_t *len_out)
{
    size_t len = 0;
    int rc = 0;
    switch (v->type) {
    case SYNC_TYPE_NULL:
        if (size)
            buf[0] = '\0';
        if (len_out)
            *len_out = 0;
        return 1;
    case SYNC_TYPE_BOOL:
        rc = put(size, &len, snprintf(buf, size, "%s", v->u.b ? "true" : "false"));
        break;
    case SYNC_TYPE_INT:
        rc = put(size, &len, snprintf(buf, size, "%" PRId64, v->u.i));
        break;
    case SYNC_TYPE_FLOAT:
        /* shortest representation that round-trips */
        for (int prec = 15; prec <= 17; prec++) {
            rc = put(size, &len, snprintf(buf, size, "%.*g", prec, v->u.f));
            if (rc != 0 || strtod(buf, NULL) == v->u.f)
                break;
        }
        break;
    case SYNC_TYPE_TIMESTAMP: {
        int64_t us = v->u.ts;
        int64_t secs = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
        int64_t frac = us - secs * 1000000;
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int64_t sod = secs - days * 86400;
        int y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        rc = put(size, &len,
                 snprintf(buf, size, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d, (int)(sod / 3600),
                          (int)(sod / 60 % 60), (int)(sod % 60), (int)frac));
        break;
    }
    case SYNC_TYPE_DATE: {
        int y;
        unsigned m, d;
        civil_from_days(v->u.ts, &y, &m, &d);
        rc = put(size, &len, snprintf(buf, size, "%04d-%02u-%02u", y, m, d));
        break;
    }
    case SYNC_TYPE_STRING:
    case SYNC_TYPE_JSON:
        if (v->u.str.len + 1 > size)
            return -1;
        memcpy(buf, v->u.str.ptr, v->u.str.len);
        buf[v->u.str.len] = '\0';
        len = v->u.str.len;
        break;
    }
    if (rc != 0)
        return -1;
    if (len_out)
        *len_out = len;
    return 0;
}
