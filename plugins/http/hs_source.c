/*
 * hs_source.c - reading a declarative HTTP/JSON API.
 *
 * One [source] section describes one list endpoint.  Its main stream (option
 * `stream`) has one record per listed item, merged with the item's detail
 * answer when detail_path is set; every pointer in `children` adds a stream
 * (named by the pointer's last token) with one record per element of that
 * array, carrying the parent's key and the element's 0-based position.
 *
 * A read walks the list page by page (cursor in the body, next URL, page
 * number, offset or Link header), fetches the kept items' details several at
 * a time, and emits one batch per page.  Items seen earlier in the same read
 * (a page that shifted under an insert at its head) are skipped.
 *
 * Cursors (JSON text, committed by the engine with the data):
 *  - cursor_field: {"v": VALUE, "k": [KEYS]}: the greatest cursor value
 *    emitted and the keys emitted with exactly that value.  The next read
 *    asks for cursor_param=VALUE (the API's filter is inclusive, so the
 *    boundary is read again) and drops what it emitted already: records with
 *    a smaller value, and those with VALUE whose key is listed.  Ties across
 *    pages and runs are therefore neither lost nor repeated.  Unless `sorted`
 *    says the API lists in ascending cursor order, the cursor only moves at
 *    the end of a complete read.
 *  - time_window: {"t": UNIX_SECONDS}: when the last complete read started.
 *    The next read sends window_param = t - lookback, so every run re-reads
 *    the lookback window (a sink that compares rows writes nothing for what
 *    did not change).
 *
 * The main stream's read keeps its children in memory; the child stream's
 * read, when it starts from the cursor the main read started from (the usual
 * case: both streams stored together last time), replays them with the same
 * cursors instead of asking the API again.  Otherwise it reads on its own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hs.h"

typedef struct cache_page {
    json_t *children; /* array per child stream: array of {"k": parent key, "p": position, "i": item} */
    char *cursor;     /* what the main stream emitted with the page, or NULL */
} cache_page;

struct hs_source {
    sync_ctx *ctx;
    hs_conf *c;
    hs_net *net;
    /* the main stream's last complete read */
    int cache_valid;
    char *cache_start; /* the cursor that read started from (NULL: none) */
    cache_page *pages;
    size_t n_pages, cap_pages;
    int64_t dups; /* items listed twice in the current read */
};

/* Position state of an incremental read. */
typedef struct inc {
    char *saved_v;    /* cursor_field: saved value, or NULL */
    json_t *saved_k;  /* object used as a set of keys emitted at saved_v */
    char *max_v;      /* greatest value emitted in this read */
    json_t *max_k;    /* keys emitted at max_v */
    int64_t window_t; /* time_window: saved start, or -1 */
    int64_t started;  /* time_window: this read's start */
} inc;

int hs_conf_stream_index(const hs_conf *c, const char *stream)
{
    if (stream == NULL)
        return -1;
    if (strcmp(stream, c->stream) == 0)
        return 0;
    for (size_t i = 0; i < c->n_children; i++)
        if (strcmp(stream, c->child_names[i]) == 0)
            return (int)i + 1;
    return -1;
}

static void cache_clear(hs_source *s)
{
    for (size_t i = 0; i < s->n_pages; i++) {
        json_decref(s->pages[i].children);
        free(s->pages[i].cursor);
    }
    s->n_pages = 0;
    s->cache_valid = 0;
    free(s->cache_start);
    s->cache_start = NULL;
}

int hs_source_new(sync_ctx *ctx, hs_conf *conf, hs_source **out)
{
    hs_source *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SYNC_E_NOMEM;
    s->ctx = ctx;
    s->c = conf;
    int rc = hs_net_new(ctx, conf, &s->net);
    if (rc != SYNC_OK) {
        free(s);
        return rc;
    }
    *out = s;
    return SYNC_OK;
}

void hs_source_free(hs_source *s)
{
    if (s == NULL)
        return;
    cache_clear(s);
    free(s->pages);
    hs_net_free(s->net);
    free(s);
}

/* ---- URLs */

typedef struct qbuf {
    char *p;
    size_t len, cap;
    int oom;
} qbuf;

static void qb_add(qbuf *q, const char *s)
{
    size_t n = strlen(s);
    if (q->oom)
        return;
    if (q->len + n + 1 > q->cap) {
        size_t cap = (q->len + n + 1) * 2 + 64;
        char *p = realloc(q->p, cap);
        if (p == NULL) {
            q->oom = 1;
            return;
        }
        q->p = p;
        q->cap = cap;
    }
    memcpy(q->p + q->len, s, n + 1);
    q->len += n;
}

static void qb_param(qbuf *q, const char *name, const char *value)
{
    char *n = hs_urlencode(name), *v = hs_urlencode(value);
    if (n == NULL || v == NULL) {
        q->oom = 1;
    } else {
        qb_add(q, strchr(q->p ? q->p : "", '?') ? "&" : "?");
        qb_add(q, n);
        qb_add(q, "=");
        qb_add(q, v);
    }
    free(n);
    free(v);
}

/* The list URL with its query: configured params, the incremental parameter, page size and position. */
static char *list_url(const hs_conf *c, const inc *in, const char *page_token, int64_t page_no, int64_t offset)
{
    qbuf q = {0};
    char *base = hs_net_join(c->base_url, c->path);
    if (base == NULL)
        return NULL;
    qb_add(&q, base);
    free(base);
    for (size_t i = 0; i < c->n_params; i++) {
        const char *eq = strchr(c->params[i], '=');
        if (eq == NULL || eq[1] == '\0')
            continue; /* an empty value (an unset ${VAR:-}) sends nothing */
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - c->params[i]), c->params[i]);
        qb_param(&q, name, eq + 1);
    }
    char num[64];
    if (c->incremental == HS_INC_CURSOR_FIELD && in->saved_v != NULL && c->cursor_param && *c->cursor_param)
        qb_param(&q, c->cursor_param, in->saved_v);
    if (c->incremental == HS_INC_TIME_WINDOW && in->window_t >= 0 && c->window_param && *c->window_param) {
        int64_t from = in->window_t - c->lookback_ms / 1000;
        if (c->window_format == HS_FMT_UNIX_MILLIS) {
            snprintf(num, sizeof num, "%lld", (long long)from * 1000);
        } else if (c->window_format == HS_FMT_ISO8601) {
            hs_host->time_format(from * 1000000, num, sizeof num);
        } else {
            snprintf(num, sizeof num, "%lld", (long long)from);
        }
        qb_param(&q, c->window_param, num);
    }
    if (c->page_size_param != NULL && *c->page_size_param) {
        snprintf(num, sizeof num, "%lld", (long long)c->page_size);
        qb_param(&q, c->page_size_param, num);
    }
    if (c->paginate == HS_PAGE_CURSOR && page_token != NULL)
        qb_param(&q, c->page_cursor_param, page_token);
    if (c->paginate == HS_PAGE_NUMBER) {
        snprintf(num, sizeof num, "%lld", (long long)page_no);
        qb_param(&q, c->page_param, num);
    }
    if (c->paginate == HS_PAGE_OFFSET) {
        snprintf(num, sizeof num, "%lld", (long long)offset);
        qb_param(&q, c->offset_param, num);
    }
    if (q.oom) {
        free(q.p);
        return NULL;
    }
    return q.p;
}

/* ---- cursors */

static void inc_free(inc *in)
{
    free(in->saved_v);
    free(in->max_v);
    json_decref(in->saved_k);
    json_decref(in->max_k);
}

static int inc_load(const hs_conf *c, const char *cursor, inc *in, sync_ctx *ctx)
{
    memset(in, 0, sizeof *in);
    in->window_t = -1;
    in->started = (int64_t)time(NULL);
    in->saved_k = json_object();
    in->max_k = json_object();
    if (in->saved_k == NULL || in->max_k == NULL)
        return SYNC_E_NOMEM;
    if (cursor == NULL || *cursor == '\0' || c->incremental == HS_INC_NONE)
        return SYNC_OK;
    json_t *js = json_loads(cursor, 0, NULL);
    int rc = SYNC_OK;
    if (c->incremental == HS_INC_CURSOR_FIELD) {
        json_t *v = json_object_get(js, "v"), *k = json_object_get(js, "k");
        if (!json_is_string(v) || !json_is_array(k)) {
            rc = SYNC_E_DATA;
        } else {
            in->saved_v = strdup(json_string_value(v));
            size_t i;
            json_t *e;
            json_array_foreach (k, i, e)
                if (json_is_string(e))
                    json_object_set_new(in->saved_k, json_string_value(e), json_true());
        }
    } else {
        json_t *t = json_object_get(js, "t");
        if (!json_is_integer(t))
            rc = SYNC_E_DATA;
        else
            in->window_t = (int64_t)json_integer_value(t);
    }
    json_decref(js);
    if (rc != SYNC_OK)
        hs_host->set_error(ctx, "saved cursor \"%.200s\" does not fit incremental = %s; run with --full-refresh",
                           cursor, c->incremental == HS_INC_CURSOR_FIELD ? "cursor_field" : "time_window");
    return rc;
}

/* The cursor that covers everything emitted so far (NULL: keep the saved one); malloc'd. */
static char *inc_cursor(const hs_conf *c, const inc *in, int complete)
{
    json_t *js = NULL;
    if (c->incremental == HS_INC_TIME_WINDOW) {
        if (!complete)
            return NULL;
        js = json_pack("{sI}", "t", (json_int_t)in->started);
    } else if (c->incremental == HS_INC_CURSOR_FIELD) {
        if (in->max_v == NULL)
            return NULL;
        const json_t *keys = in->max_k;
        json_t *merged = NULL;
        if (in->saved_v != NULL && hs_value_cmp(in->max_v, in->saved_v) == 0) {
            merged = json_deep_copy(in->saved_k);
            json_object_update(merged, in->max_k);
            keys = merged;
        }
        json_t *arr = json_array();
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)keys, k, v)
            json_array_append_new(arr, json_string(k));
        js = json_pack("{sssO}", "v", in->max_v, "k", arr);
        json_decref(arr);
        json_decref(merged);
    }
    if (js == NULL)
        return NULL;
    char *out = json_dumps(js, JSON_COMPACT);
    json_decref(js);
    return out;
}

/*
 * Whether a listed item is new for this read: 0 to skip it (emitted before:
 * older than the saved position, or at it with a listed key), 1 to keep it
 * (and the position moves past it).
 */
static int inc_keep(const hs_conf *c, inc *in, json_t *item, const char *key)
{
    if (c->incremental != HS_INC_CURSOR_FIELD)
        return 1;
    char *v = hs_scalar_text(hs_ptr_get(item, c->cursor_field_ptr));
    if (v == NULL)
        return 1; /* no value: cannot be placed, never skipped */
    if (in->saved_v != NULL) {
        int cmp = hs_value_cmp(v, in->saved_v);
        if (cmp < 0 || (cmp == 0 && json_object_get(in->saved_k, key) != NULL)) {
            free(v);
            return 0;
        }
    }
    int cmp = in->max_v ? hs_value_cmp(v, in->max_v) : 1;
    if (cmp > 0) {
        free(in->max_v);
        in->max_v = v;
        json_object_clear(in->max_k);
        json_object_set_new(in->max_k, key, json_true());
    } else {
        if (cmp == 0)
            json_object_set_new(in->max_k, key, json_true());
        free(v);
    }
    return 1;
}

/* ---- records */

static int emit_children(hs_source *s, sync_emitter *em, int child, const char *pkey, json_t *items, json_t *cache)
{
    const hs_conf *c = s->c;
    size_t i;
    json_t *it;
    json_array_foreach (items, i, it) {
        if (cache != NULL) {
            json_t *e = json_pack("{sssIsO}", "k", pkey, "p", (json_int_t)i, "i", it);
            if (e == NULL || json_array_append_new(cache, e) != 0)
                return SYNC_E_NOMEM;
        }
        if (em == NULL)
            continue;
        char key[1024];
        snprintf(key, sizeof key, "%s/%zu", pkey, i);
        sync_record *rec = hs_host->record_new(em, key, strlen(key), SYNC_OP_UPSERT);
        if (rec == NULL)
            return SYNC_E_NOMEM;
        int rc = json_is_object(it) ? hs_record_fill(c, rec, it) : SYNC_OK;
        if (!json_is_object(it)) {
            json_t *wrap = json_pack("{sO}", "value", it);
            rc = hs_record_fill(c, rec, wrap);
            json_decref(wrap);
        }
        if (rc == SYNC_OK)
            rc = hs_host->record_set_string(rec, c->parent_key_field, pkey, strlen(pkey));
        if (rc == SYNC_OK)
            rc = hs_host->record_set_int(rec, c->position_field, (int64_t)i);
        if (rc != SYNC_OK)
            return rc;
    }
    (void)child;
    return SYNC_OK;
}

/* Replays a child stream from the main stream's cached pages. */
static int replay(hs_source *s, int child, sync_emitter *em)
{
    int64_t n = 0;
    for (size_t p = 0; p < s->n_pages; p++) {
        json_t *items = json_array_get(s->pages[p].children, (size_t)child - 1);
        size_t i;
        json_t *e;
        json_array_foreach (items, i, e) {
            const char *pk = json_string_value(json_object_get(e, "k"));
            json_int_t pos = json_integer_value(json_object_get(e, "p"));
            json_t *it = json_object_get(e, "i");
            char key[1024];
            snprintf(key, sizeof key, "%s/%lld", pk, (long long)pos);
            sync_record *rec = hs_host->record_new(em, key, strlen(key), SYNC_OP_UPSERT);
            if (rec == NULL)
                return SYNC_E_NOMEM;
            int rc;
            if (json_is_object(it)) {
                rc = hs_record_fill(s->c, rec, it);
            } else {
                json_t *wrap = json_pack("{sO}", "value", it);
                rc = hs_record_fill(s->c, rec, wrap);
                json_decref(wrap);
            }
            if (rc == SYNC_OK)
                rc = hs_host->record_set_string(rec, s->c->parent_key_field, pk, strlen(pk));
            if (rc == SYNC_OK)
                rc = hs_host->record_set_int(rec, s->c->position_field, (int64_t)pos);
            if (rc != SYNC_OK)
                return rc;
            n++;
        }
        int rc = hs_host->emit(em, s->pages[p].cursor);
        if (rc != SYNC_OK)
            return rc;
    }
    hs_host->log(s->ctx, SYNC_LOG_DEBUG, "stream %s: %lld record(s) from the main stream's read, no request",
                 s->c->child_names[child - 1], (long long)n);
    return SYNC_OK;
}

/* Fetches the details of items[0..n) (concurrently) and merges each into its item. */
static int fetch_details(hs_source *s, json_t **items, char **keys, size_t n)
{
    const hs_conf *c = s->c;
    if (n == 0)
        return SYNC_OK;
    hs_req *reqs = calloc(n, sizeof *reqs);
    hs_req **ptrs = calloc(n, sizeof *ptrs);
    int rc = reqs && ptrs ? SYNC_OK : SYNC_E_NOMEM;
    for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
        char why[300];
        char *path = hs_template(c->detail_path, items[i], why, sizeof why);
        if (path == NULL) {
            hs_host->set_error(s->ctx, "detail_path of record \"%s\": %s", keys[i], why);
            rc = SYNC_E_DATA;
            break;
        }
        reqs[i].url = hs_net_join(c->base_url, path);
        free(path);
        ptrs[i] = &reqs[i];
        if (reqs[i].url == NULL)
            rc = SYNC_E_NOMEM;
    }
    if (rc == SYNC_OK)
        rc = hs_net_fetch(s->net, ptrs, n, (int)c->detail_concurrency, 1);
    for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
        if (reqs[i].rc == SYNC_E_NOTFOUND) {
            hs_host->log(s->ctx, SYNC_LOG_WARN, "record \"%s\": its detail answered 404 (gone since it was "
                         "listed); the listed fields are used", keys[i]);
            hs_host->counter_add(s->ctx, "detail_not_found", 1);
            continue;
        }
        json_t *d = hs_ptr_get(reqs[i].json, c->detail_ptr);
        if (!json_is_object(d)) {
            hs_host->set_error(s->ctx, "record \"%s\": detail_records %s is not an object in the detail answer",
                               keys[i], *c->detail_ptr ? c->detail_ptr : "(the whole body)");
            rc = SYNC_E_PROTOCOL;
            break;
        }
        json_object_update(items[i], d);
    }
    for (size_t i = 0; reqs && i < n; i++)
        hs_req_clear(&reqs[i]);
    free(reqs);
    free(ptrs);
    return rc;
}

/* FNV-1a of the listed item's canonical JSON, as hex. */
static void fingerprint(json_t *it, char out[32])
{
    char *text = json_dumps(it, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    free(text);
    snprintf(out, 32, "%016llx", (unsigned long long)h);
}

/*
 * Reads the list from the position in `in`.  stream_idx 0 emits the main
 * records (and caches the children when cache is set), 1.. that child stream.
 */
static int walk(hs_source *s, int stream_idx, inc *in, sync_emitter *em, int cache, json_t *prior, json_t *fresh,
                int64_t *n_out, int64_t *pages_out)
{
    const hs_conf *c = s->c;
    char *token = NULL, *next = NULL;
    int64_t page_no = c->page_start, offset = 0, pages = 0, emitted = 0;
    json_t *seen = json_object();
    int rc = seen ? SYNC_OK : SYNC_E_NOMEM;
    char *url = rc == SYNC_OK ? list_url(c, in, NULL, page_no, 0) : NULL;
    if (rc == SYNC_OK && url == NULL)
        rc = SYNC_E_NOMEM;
    while (rc == SYNC_OK) {
        hs_req r = {0};
        r.url = url;
        url = NULL;
        hs_req *rp = &r;
        rc = hs_net_fetch(s->net, &rp, 1, 1, 0);
        if (rc != SYNC_OK) {
            hs_req_clear(&r);
            break;
        }
        pages++;
        json_t *list = hs_ptr_get(r.json, c->records_ptr);
        if (!json_is_array(list)) {
            hs_host->set_error(s->ctx, "records %s is not an array in the list answer (page %lld)",
                               *c->records_ptr ? c->records_ptr : "(the whole body)", (long long)pages);
            hs_req_clear(&r);
            rc = SYNC_E_PROTOCOL;
            break;
        }
        size_t nl = json_array_size(list);
        json_t **items = calloc(nl ? nl : 1, sizeof *items);
        char **keys = calloc(nl ? nl : 1, sizeof *keys);
        size_t nk = 0;
        if (items == NULL || keys == NULL)
            rc = SYNC_E_NOMEM;
        for (size_t i = 0; rc == SYNC_OK && i < nl; i++) {
            json_t *it = json_array_get(list, i);
            char *key = hs_scalar_text(hs_ptr_get(it, c->key_ptr));
            if (key == NULL)
                key = strdup("");
            if (key == NULL) {
                rc = SYNC_E_NOMEM;
                break;
            }
            if (*key != '\0' && json_object_get(seen, key) != NULL) {
                hs_host->counter_add(s->ctx, "duplicates_skipped", 1);
                s->dups++;
                free(key);
                continue;
            }
            if (!inc_keep(c, in, it, key)) {
                free(key);
                continue;
            }
            if (*key != '\0')
                json_object_set_new(seen, key, json_true());
            if (fresh != NULL && *key != '\0') {
                char fp[32];
                fingerprint(it, fp);
                json_object_set_new(fresh, key, json_string(fp));
                const char *old = json_string_value(json_object_get(prior, key));
                if (old != NULL && strcmp(old, fp) == 0) {
                    hs_host->counter_add(s->ctx, "unchanged_skipped", 1);
                    free(key);
                    continue;
                }
            }
            items[nk] = json_is_object(it) ? json_deep_copy(it) : json_pack("{sO}", "value", it);
            keys[nk++] = key;
        }
        if (rc == SYNC_OK && c->detail_path != NULL && *c->detail_path) {
            /* items without a key cannot be asked about; they reach the engine, which rejects them */
            size_t nd = 0;
            json_t **ditems = calloc(nk ? nk : 1, sizeof *ditems);
            char **dkeys = calloc(nk ? nk : 1, sizeof *dkeys);
            if (ditems == NULL || dkeys == NULL)
                rc = SYNC_E_NOMEM;
            for (size_t i = 0; rc == SYNC_OK && i < nk; i++)
                if (*keys[i] != '\0') {
                    ditems[nd] = items[i];
                    dkeys[nd++] = keys[i];
                }
            if (rc == SYNC_OK)
                rc = fetch_details(s, ditems, dkeys, nd);
            free(ditems);
            free(dkeys);
        }
        json_t *page_children = NULL;
        if (rc == SYNC_OK && cache && c->n_children > 0) {
            page_children = json_array();
            for (size_t j = 0; page_children && j < c->n_children; j++)
                json_array_append_new(page_children, json_array());
            if (page_children == NULL)
                rc = SYNC_E_NOMEM;
        }
        for (size_t i = 0; rc == SYNC_OK && i < nk; i++) {
            if (stream_idx == 0) {
                sync_record *rec = hs_host->record_new(em, keys[i], strlen(keys[i]), SYNC_OP_UPSERT);
                rc = rec ? hs_record_fill(c, rec, items[i]) : SYNC_E_NOMEM;
                emitted++;
            }
            for (size_t j = 0; rc == SYNC_OK && j < c->n_children; j++) {
                int want = stream_idx == (int)j + 1;
                json_t *kids = hs_ptr_get(items[i], c->children[j]);
                if (!json_is_array(kids) || *keys[i] == '\0' || (!want && page_children == NULL))
                    continue;
                rc = emit_children(s, want ? em : NULL, (int)j + 1, keys[i], kids,
                                   page_children ? json_array_get(page_children, j) : NULL);
                if (want)
                    emitted += (int64_t)json_array_size(kids);
            }
        }
        for (size_t i = 0; i < nk; i++) {
            json_decref(items[i]);
            free(keys[i]);
        }
        free(items);
        free(keys);
        if (rc != SYNC_OK) {
            json_decref(page_children);
            hs_req_clear(&r);
            break;
        }

        /* where the next page is */
        int more = 0;
        free(next);
        next = NULL;
        switch (c->paginate) {
        case HS_PAGE_CURSOR: {
            json_t *hm = c->has_more_ptr && *c->has_more_ptr ? hs_ptr_get(r.json, c->has_more_ptr) : NULL;
            next = hs_scalar_text(hs_ptr_get(r.json, c->page_cursor_ptr));
            more = next != NULL && *next != '\0' && (hm == NULL || json_is_true(hm));
            if (more && token != NULL && strcmp(next, token) == 0) {
                hs_host->set_error(s->ctx, "the list answered the same next cursor twice (page %lld)",
                                   (long long)pages);
                rc = SYNC_E_PROTOCOL;
            }
            if (more && rc == SYNC_OK) {
                free(token);
                token = strdup(next);
                url = list_url(c, in, token, page_no, offset);
            }
            break;
        }
        case HS_PAGE_NEXT_URL:
            next = hs_scalar_text(hs_ptr_get(r.json, c->next_url_ptr));
            more = next != NULL && *next != '\0';
            if (more)
                url = hs_net_join(c->base_url, next);
            break;
        case HS_PAGE_LINK:
            more = r.link_next != NULL;
            if (more)
                url = strdup(r.link_next);
            break;
        case HS_PAGE_NUMBER:
        case HS_PAGE_OFFSET:
            more = nl > 0 && (int64_t)nl >= c->page_size;
            page_no++;
            offset += (int64_t)nl;
            if (more)
                url = list_url(c, in, NULL, page_no, offset);
            break;
        default:
            break;
        }
        hs_req_clear(&r);
        if (rc == SYNC_OK && more && url == NULL)
            rc = SYNC_E_NOMEM;
        if (rc == SYNC_OK && more && c->max_pages > 0 && pages >= c->max_pages) {
            hs_host->set_error(s->ctx, "the list has more than max_pages (%lld) pages", (long long)c->max_pages);
            rc = SYNC_E_PROTOCOL;
        }
        /* hand the page over: the cursor moves only when it covers everything read */
        char *cur = rc == SYNC_OK ? inc_cursor(c, in, !more) : NULL;
        if (rc == SYNC_OK && (c->sorted || !more || c->incremental == HS_INC_NONE)) {
            /* sorted, or the end: safe */
        } else {
            free(cur);
            cur = NULL;
        }
        if (page_children != NULL) {
            if (s->n_pages == s->cap_pages) {
                size_t cap = s->cap_pages ? s->cap_pages * 2 : 16;
                cache_page *np = realloc(s->pages, cap * sizeof *np);
                if (np == NULL) {
                    json_decref(page_children);
                    free(cur);
                    rc = SYNC_E_NOMEM;
                    break;
                }
                s->pages = np;
                s->cap_pages = cap;
            }
            s->pages[s->n_pages].children = page_children;
            s->pages[s->n_pages].cursor = cur ? strdup(cur) : NULL;
            s->n_pages++;
        }
        if (rc == SYNC_OK)
            rc = hs_host->emit(em, cur);
        free(cur);
        if (!more)
            break;
    }
    free(url);
    free(token);
    free(next);
    json_decref(seen);
    *n_out = emitted;
    *pages_out = pages;
    return rc;
}

int hs_source_read(hs_source *s, const sync_stream_request *req, sync_emitter *em)
{
    const hs_conf *c = s->c;
    int idx = hs_conf_stream_index(c, req->stream);
    if (idx < 0) {
        hs_host->set_error(s->ctx, "[source %s] has no stream \"%s\" (streams: %s and its children)", c->section,
                           req->stream, c->stream);
        return SYNC_E_NOTFOUND;
    }
    const char *cursor = req->full_refresh ? NULL : req->cursor;
    if (idx > 0 && s->cache_valid &&
        ((cursor == NULL && s->cache_start == NULL) ||
         (cursor != NULL && s->cache_start != NULL && strcmp(cursor, s->cache_start) == 0)))
        return replay(s, idx, em);

    inc in;
    int rc = inc_load(c, cursor, &in, s->ctx);
    if (rc != SYNC_OK) {
        inc_free(&in);
        return rc;
    }
    int cache = idx == 0 && c->n_children > 0;
    if (idx == 0) {
        cache_clear(s);
        if (cursor != NULL && (s->cache_start = strdup(cursor)) == NULL) {
            inc_free(&in);
            return SYNC_E_NOMEM;
        }
    }
    /*
     * detail_skip_unchanged: the fingerprints of the items the last complete
     * read listed, tagged with the cursor it ended with.  They are trusted
     * only when this read starts from exactly that cursor: then the engine
     * stored everything that read emitted (and, for the children, the child
     * stream starts there too, or it reads on its own without skipping).
     */
    json_t *prior = NULL, *fresh = NULL;
    char fpkey[600];
    snprintf(fpkey, sizeof fpkey, "fingerprints:%s:%s", hs_host->ctx_job ? hs_host->ctx_job(s->ctx) : "",
             req->stream);
    if (idx == 0 && c->skip_unchanged && c->detail_path != NULL) {
        fresh = json_object();
        char *saved = NULL;
        if (cursor != NULL && hs_host->state_get(s->ctx, fpkey, &saved) == SYNC_OK && saved != NULL) {
            json_t *js = json_loads(saved, 0, NULL);
            const char *tag = json_string_value(json_object_get(js, "tag"));
            if (tag != NULL && strcmp(tag, cursor) == 0)
                prior = json_incref(json_object_get(js, "fp"));
            json_decref(js);
        }
        if (saved != NULL)
            hs_host->free(saved);
    }
    int64_t calls0 = hs_net_calls(s->net), n = 0, pages = 0;
    s->dups = 0;
    rc = walk(s, idx, &in, em, cache, prior, fresh, &n, &pages);
    if (rc == SYNC_OK && cache)
        s->cache_valid = 1;
    if (rc == SYNC_OK && fresh != NULL) {
        char *end = inc_cursor(c, &in, 1);
        json_t *js = end ? json_pack("{sssO}", "tag", end, "fp", fresh) : NULL;
        char *text = js ? json_dumps(js, JSON_COMPACT) : NULL;
        if (text != NULL && hs_host->state_put(s->ctx, fpkey, text) != SYNC_OK)
            hs_host->log(s->ctx, SYNC_LOG_WARN, "cannot keep the fingerprints of stream %s; the next run asks "
                         "for every detail again", req->stream);
        free(text);
        json_decref(js);
        free(end);
    }
    json_decref(prior);
    json_decref(fresh);
    if (rc == SYNC_OK)
        hs_host->log(s->ctx, SYNC_LOG_INFO, "stream %s: %lld record(s) from %lld page(s), %lld request(s), "
                     "%lld listed again on a shifted page and skipped", req->stream, (long long)n, (long long)pages,
                     (long long)(hs_net_calls(s->net) - calls0), (long long)s->dups);
    inc_free(&in);
    return rc;
}

int hs_source_probe(hs_source *s, char *detail, size_t detail_size)
{
    const hs_conf *c = s->c;
    inc in;
    int rc = inc_load(c, NULL, &in, s->ctx);
    hs_req r = {0};
    hs_req *rp = &r;
    detail[0] = '\0';
    if (rc == SYNC_OK && (r.url = list_url(c, &in, NULL, c->page_start, 0)) == NULL)
        rc = SYNC_E_NOMEM;
    if (rc == SYNC_OK)
        rc = hs_net_fetch(s->net, &rp, 1, 1, 0);
    if (rc == SYNC_OK) {
        json_t *list = hs_ptr_get(r.json, c->records_ptr);
        if (!json_is_array(list)) {
            snprintf(detail, detail_size, "option 'records': %s is not an array in the answer of the list request",
                     *c->records_ptr ? c->records_ptr : "(the whole body)");
            rc = SYNC_E_CONFIG;
        } else if (json_array_size(list) > 0 && hs_ptr_get(json_array_get(list, 0), c->key_ptr) == NULL) {
            snprintf(detail, detail_size, "option 'key': the first listed record has no %s", c->key_ptr);
            rc = SYNC_E_CONFIG;
        }
    }
    hs_req_clear(&r);
    inc_free(&in);
    return rc;
}
