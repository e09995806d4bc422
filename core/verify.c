/*
 * core/verify.c - `syncengine verify` (verify.h): pairs each stream's source
 * and target columns through the mapping, then compares the two tables by
 * key-range summaries computed in each database, bisecting only the ranges
 * that differ, and lists the rows that do.
 */
#include "verify.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hostapi.h"
#include "log.h"
#include "status.h"
#include "timeutil.h"
#include "verify_fix.h"
#include "verify_rules.h"

/* ------------------------------------------------------------ one side */

typedef struct vside {
    const syncc_instance *in;
    const syncc_plugin *p;
    sync_ctx *ctx;
    void *inst;
    int is_source;
} vside;

static int side_open(vside *s, const syncc_instance *in, const syncc_plugin *p, int is_source, syncc_engine *e,
                     const char *job)
{
    memset(s, 0, sizeof(*s));
    s->in = in;
    s->p = p;
    s->is_source = is_source;
    if (p == NULL || p->def.compare == NULL)
        return SYNC_E_UNSUPPORTED;
    s->ctx = syncc_ctx_new(job, in->name, in->plugin_name);
    if (s->ctx == NULL)
        return SYNC_E_NOMEM;
    s->ctx->cancel = &e->stop;
    s->ctx->read_only = is_source;
    return p->compare.open(s->ctx, in->config, is_source, &s->inst);
}

static void side_close(vside *s)
{
    if (s->inst)
        s->p->compare.close(s->inst);
    s->inst = NULL;
    syncc_ctx_free(s->ctx);
    s->ctx = NULL;
}

static const char *side_error(vside *s, int rc)
{
    static __thread char buf[1200];
    const char *d = s->ctx ? syncc_ctx_error(s->ctx) : "";
    snprintf(buf, sizeof(buf), "%s %s '%s': %s%s%s", s->is_source ? "source" : "sink", s->in->plugin_name,
             s->in->name, syncc_strerror(rc), d[0] ? ": " : "", d);
    syncc_log_redact(buf, sizeof(buf));
    return buf;
}

/* ------------------------------------------------------------ one stream */

typedef struct vrow {
    char **v; /* key first */
} vrow;

typedef struct vrows {
    vrow *r;
    size_t n, cap;
    size_t width;
    int oom;
} vrows;

typedef struct vstream {
    vside *src, *dst;
    void *sts, *dts;             /* table states */
    sync_type *kinds;            /* agreed, key first */
    size_t width;                /* key + columns */
    const char **tcols;          /* target column names, key first */
    int key_int;
    int64_t summaries, rows_fetched, ranges_fetched;
    int64_t src_usec, dst_usec;  /* time each side spent computing summaries */
    int64_t split_usec, fetch_usec; /* time spent cutting ranges into parts, fetching rows */
    int64_t n_missing, n_extra, n_different;
    json_t *missing, *extra, *different;
    syncc_fix_keys *up, *del;    /* every missing or different key, every extra key (for --fix) */
    int rc;
    const char *err;
} vstream;

static void rows_add(void *payload, const char *const *values)
{
    vrows *rs = payload;
    if (rs->oom)
        return;
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        vrow *nr = realloc(rs->r, cap * sizeof(*nr));
        if (!nr) {
            rs->oom = 1;
            return;
        }
        rs->r = nr;
        rs->cap = cap;
    }
    vrow *row = &rs->r[rs->n];
    row->v = calloc(rs->width, sizeof(char *));
    if (!row->v) {
        rs->oom = 1;
        return;
    }
    for (size_t i = 0; i < rs->width; i++)
        if (values[i] && !(row->v[i] = strdup(values[i])))
            rs->oom = 1;
    rs->n++;
}

static void rows_free(vrows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        for (size_t k = 0; k < rs->width; k++)
            free(rs->r[i].v[k]);
        free(rs->r[i].v);
    }
    free(rs->r);
}

static int key_cmp(const vstream *vs, const char *a, const char *b)
{
    if (vs->key_int) {
        long long x = strtoll(a, NULL, 10), y = strtoll(b, NULL, 10);
        return x < y ? -1 : x > y;
    }
    int c = strcmp(a, b);
    return c < 0 ? -1 : c > 0;
}

static void note_key(vstream *vs, json_t *list, int64_t *count, const char *key)
{
    (*count)++;
    if (json_array_size(list) < SYNCC_VERIFY_MAX_LISTED)
        json_array_append_new(list, json_string(key));
}

/* One side's rows of a range, on a thread of its own while the other side reads its own. */
typedef struct fetch_job {
    vside *side;
    void *ts;
    const sync_type *kinds;
    const char *lo, *hi;
    vrows *out;
    int rc;
} fetch_job;

static void *fetch_thread(void *p)
{
    fetch_job *j = p;
    j->rc = j->side->p->compare.fetch(j->side->inst, j->ts, j->kinds, j->lo, j->hi, rows_add, j->out);
    return NULL;
}

/* Runs fn(a) on a thread of its own and fn(b) here, at the same time (each database works on its own);
 * both on this thread when no thread can be made. */
static void both_sides(void *(*fn)(void *), void *a, void *b)
{
    pthread_t t;
    int threaded = pthread_create(&t, NULL, fn, a) == 0;
    if (!threaded)
        fn(a);
    fn(b);
    if (threaded)
        pthread_join(t, NULL);
}

/* The first failure of the two sides (source first), kept in vs->err with its side named. */
static int sides_result(vstream *vs, int src_rc, int dst_rc)
{
    if (src_rc != SYNC_OK) {
        vs->err = side_error(vs->src, src_rc);
        return src_rc;
    }
    if (dst_rc != SYNC_OK)
        vs->err = side_error(vs->dst, dst_rc);
    return dst_rc;
}

/* Fetches both sides' rows of [lo, hi) and lists what differs. */
static int diff_rows(vstream *vs, const char *lo, const char *hi)
{
    vrows a = {.width = vs->width}, b = {.width = vs->width};
    int64_t t0 = syncc_time_now();
    /* both sides at the same time, each database on its own */
    fetch_job fa = {vs->src, vs->sts, vs->kinds, lo, hi, &a, SYNC_OK};
    fetch_job fb = {vs->dst, vs->dts, vs->kinds, lo, hi, &b, SYNC_OK};
    both_sides(fetch_thread, &fa, &fb);
    int rc = sides_result(vs, fa.rc, fb.rc);
    if (rc == SYNC_OK && (a.oom || b.oom))
        rc = SYNC_E_NOMEM;
    vs->fetch_usec += syncc_time_now() - t0;
    vs->ranges_fetched++;
    vs->rows_fetched += (int64_t)(a.n + b.n);
    size_t i = 0, j = 0;
    while (rc == SYNC_OK && (i < a.n || j < b.n)) {
        int c = i >= a.n ? 1 : j >= b.n ? -1 : key_cmp(vs, a.r[i].v[0], b.r[j].v[0]);
        if (c < 0) {
            syncc_fix_keys_add(vs->up, a.r[i].v[0]);
            note_key(vs, vs->missing, &vs->n_missing, a.r[i++].v[0]);
        } else if (c > 0) {
            syncc_fix_keys_add(vs->del, b.r[j].v[0]);
            note_key(vs, vs->extra, &vs->n_extra, b.r[j++].v[0]);
        } else {
            json_t *cols = json_array();
            for (size_t k = 1; k < vs->width; k++) {
                const char *x = a.r[i].v[k], *y = b.r[j].v[k];
                if ((x == NULL) != (y == NULL) || (x && strcmp(x, y) != 0))
                    json_array_append_new(cols, json_string(vs->tcols[k]));
            }
            if (json_array_size(cols) > 0) {
                syncc_fix_keys_add(vs->up, a.r[i].v[0]);
                vs->n_different++;
                if (json_array_size(vs->different) < SYNCC_VERIFY_MAX_LISTED)
                    json_array_append_new(vs->different, json_pack("{s:s, s:o}", "key", a.r[i].v[0], "columns", cols));
                else
                    json_decref(cols);
            } else {
                json_decref(cols);
            }
            i++;
            j++;
        }
    }
    rows_free(&a);
    rows_free(&b);
    return rc;
}

typedef struct vsum {
    int64_t count;
    uint64_t hash;
} vsum;

/* One side's summary of a range, on a thread of its own while the other side computes its own. */
typedef struct sum_job {
    vside *side;
    void *ts;
    const sync_type *kinds;
    const char *lo, *hi;
    vsum *out;
    int rc;
    int64_t usec;
} sum_job;

static void *sum_thread(void *p)
{
    sum_job *j = p;
    int64_t t0 = syncc_time_now();
    j->rc = j->side->p->compare.summary(j->side->inst, j->ts, j->kinds, j->lo, j->hi, &j->out->count, &j->out->hash);
    j->usec = syncc_time_now() - t0;
    return NULL;
}

/* Both sides' summaries of [lo, hi), computed at the same time (each database works on its own). */
static int summarize(vstream *vs, const char *lo, const char *hi, vsum *s, vsum *d)
{
    vs->summaries++;
    sum_job a = {vs->src, vs->sts, vs->kinds, lo, hi, s, SYNC_OK, 0};
    sum_job b = {vs->dst, vs->dts, vs->kinds, lo, hi, d, SYNC_OK, 0};
    both_sides(sum_thread, &a, &b);
    vs->src_usec += a.usec;
    vs->dst_usec += b.usec;
    return sides_result(vs, a.rc, b.rc);
}

/* One side's summaries of the parts of a range (compare.buckets), on a thread of its own. */
typedef struct bucket_job {
    vside *side;
    void *ts;
    const sync_type *kinds;
    const char *lo, *hi;
    const char *const *bounds;
    size_t n;
    int64_t *counts;
    uint64_t *hashes;
    int rc;
    int64_t usec;
} bucket_job;

static void *bucket_thread(void *p)
{
    bucket_job *j = p;
    int64_t t0 = syncc_time_now();
    j->rc = j->side->p->compare.buckets(j->side->inst, j->ts, j->kinds, j->lo, j->hi, j->bounds, j->n, j->counts,
                                        j->hashes);
    j->usec = syncc_time_now() - t0;
    return NULL;
}

/* Both sides' summaries of every part of [lo, hi) cut at bounds, each side in one pass. */
static int summarize_parts(vstream *vs, const char *lo, const char *hi, const char *const *bounds, size_t n, vsum *s,
                           vsum *d)
{
    int64_t *c = calloc(2 * (n + 1), sizeof(int64_t));
    uint64_t *h = calloc(2 * (n + 1), sizeof(uint64_t));
    if (!c || !h) {
        free(c);
        free(h);
        return SYNC_E_NOMEM;
    }
    vs->summaries += (int64_t)n + 1;
    bucket_job a = {vs->src, vs->sts, vs->kinds, lo, hi, bounds, n, c, h, SYNC_OK, 0};
    bucket_job b = {vs->dst, vs->dts, vs->kinds, lo, hi, bounds, n, c + n + 1, h + n + 1, SYNC_OK, 0};
    both_sides(bucket_thread, &a, &b);
    vs->src_usec += a.usec;
    vs->dst_usec += b.usec;
    for (size_t i = 0; i <= n; i++) {
        s[i].count = c[i];
        s[i].hash = h[i];
        d[i].count = c[n + 1 + i];
        d[i].hash = h[n + 1 + i];
    }
    free(c);
    free(h);
    return sides_result(vs, a.rc, b.rc);
}

typedef struct vkeys {
    char **k;
    size_t n, cap;
    int oom;
} vkeys;

static void keys_add(void *payload, const char *key)
{
    vkeys *ks = payload;
    if (ks->oom)
        return;
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : 32;
        char **nk = realloc(ks->k, cap * sizeof(*nk));
        if (!nk) {
            ks->oom = 1;
            return;
        }
        ks->k = nk;
        ks->cap = cap;
    }
    if (!(ks->k[ks->n++] = strdup(key ? key : "")))
        ks->oom = 1;
}

static void keys_free(vkeys *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        free(ks->k[i]);
    free(ks->k);
    memset(ks, 0, sizeof(*ks));
}

static int diff_range(vstream *vs, const char *lo, const char *hi, const vsum *s, const vsum *d, int depth);

/*
 * Compares the parts of [lo, hi) cut at the n sorted keys ks: every part's
 * summary on both sides (in one pass per side when both can), then each part
 * that differs.  tot_s and tot_d, when given, receive the sums of all parts.
 */
static int diff_parts(vstream *vs, const char *lo, const char *hi, const vkeys *ks, int depth, vsum *tot_s,
                      vsum *tot_d)
{
    int rc = SYNC_OK;
    vsum *ps = NULL, *pd = NULL;
    int in_one = ks->n > 0 && vs->src->p->compare.buckets != NULL && vs->dst->p->compare.buckets != NULL;
    if (in_one) {
        ps = calloc(ks->n + 1, sizeof(vsum));
        pd = calloc(ks->n + 1, sizeof(vsum));
        rc = ps && pd ? summarize_parts(vs, lo, hi, (const char *const *)ks->k, ks->n, ps, pd) : SYNC_E_NOMEM;
    }
    for (size_t i = 0; rc == SYNC_OK && i <= ks->n; i++) {
        const char *a = i == 0 ? lo : ks->k[i - 1], *b = i == ks->n ? hi : ks->k[i];
        vsum ss, dd;
        if (in_one) {
            ss = ps[i];
            dd = pd[i];
        } else {
            rc = summarize(vs, a, b, &ss, &dd);
        }
        if (rc == SYNC_OK && tot_s) {
            tot_s->count += ss.count;
            tot_s->hash = (tot_s->hash + ss.hash) & ((UINT64_C(1) << 60) - 1);
            tot_d->count += dd.count;
            tot_d->hash = (tot_d->hash + dd.hash) & ((UINT64_C(1) << 60) - 1);
        }
        if (rc == SYNC_OK)
            rc = diff_range(vs, a, b, &ss, &dd, depth + 1);
        if (rc == SYNC_OK && syncc_host()->cancelled(vs->src->ctx))
            rc = SYNC_E_CANCELLED;
    }
    free(ps);
    free(pd);
    return rc;
}

/* by's keys of [lo, hi) at every step-th position into ks. */
static int split_range(vstream *vs, vside *by, const char *lo, const char *hi, int64_t step, vkeys *ks)
{
    int64_t t0 = syncc_time_now();
    int rc = by->p->compare.split(by->inst, by == vs->src ? vs->sts : vs->dts, lo, hi, step, keys_add, ks);
    vs->split_usec += syncc_time_now() - t0;
    if (rc != SYNC_OK)
        vs->err = side_error(by, rc);
    else if (ks->oom)
        rc = SYNC_E_NOMEM;
    return rc;
}

/* Compares [lo, hi) whose summaries s (source) and d (target) are known. */
static int diff_range(vstream *vs, const char *lo, const char *hi, const vsum *s, const vsum *d, int depth)
{
    if (s->count == d->count && s->hash == d->hash)
        return SYNC_OK;
    int64_t larger = s->count > d->count ? s->count : d->count;
    if (larger <= SYNCC_VERIFY_FETCH_ROWS || depth > 40)
        return diff_rows(vs, lo, hi);
    int64_t parts = (larger + SYNCC_VERIFY_PART_ROWS - 1) / SYNCC_VERIFY_PART_ROWS;
    if (parts > SYNCC_VERIFY_FACTOR)
        parts = SYNCC_VERIFY_FACTOR;
    if (parts < 2)
        parts = 2;
    vkeys ks = {0};
    int rc = split_range(vs, s->count >= d->count ? vs->src : vs->dst, lo, hi, (larger + parts - 1) / parts, &ks);
    if (rc == SYNC_OK)
        rc = diff_parts(vs, lo, hi, &ks, depth, NULL, NULL);
    keys_free(&ks);
    return rc;
}

/*
 * The whole table.  The source's keys cut it into parts first (a walk of its
 * key's index, a fraction of hashing the rows), then both sides sum every part
 * in one pass: identical tables cost that walk and one hashing pass per side,
 * and a few differences a few small fetches more, where summing the table
 * first would hash every row twice (once whole, once in parts).  A table of
 * one part is summed whole; s and d receive the table's summaries.
 */
static int diff_table(vstream *vs, vsum *s, vsum *d)
{
    vkeys ks = {0};
    int rc = SYNC_OK;
    if (vs->src->p->compare.buckets != NULL && vs->dst->p->compare.buckets != NULL)
        rc = split_range(vs, vs->src, NULL, NULL, SYNCC_VERIFY_FIRST_ROWS, &ks);
    if (rc == SYNC_OK && ks.n >= SYNCC_VERIFY_FIRST_PARTS) {
        /* a bigger table: every stride-th key, bigger parts */
        size_t stride = ks.n / SYNCC_VERIFY_FIRST_PARTS + 1, kept = 0;
        for (size_t i = 0; i < ks.n; i++) {
            if ((i + 1) % stride == 0)
                ks.k[kept++] = ks.k[i];
            else
                free(ks.k[i]);
        }
        ks.n = kept;
    }
    if (rc == SYNC_OK && ks.n == 0) {
        rc = summarize(vs, NULL, NULL, s, d);
        if (rc == SYNC_OK)
            rc = diff_range(vs, NULL, NULL, s, d, 0);
    } else if (rc == SYNC_OK) {
        rc = diff_parts(vs, NULL, NULL, &ks, 0, s, d);
    }
    keys_free(&ks);
    return rc;
}

/* The kind both sides write a column in: their natural kinds, reconciled. */
static sync_type agree_kind(sync_type a, sync_type b)
{
    if (a == b)
        return a;
#define PAIR(x, y) ((a == (x) && b == (y)) || (a == (y) && b == (x)))
    if (PAIR(SYNC_TYPE_INT, SYNC_TYPE_BOOL) || PAIR(SYNC_TYPE_FLOAT, SYNC_TYPE_BOOL))
        return SYNC_TYPE_BOOL;
    if (PAIR(SYNC_TYPE_INT, SYNC_TYPE_FLOAT))
        return SYNC_TYPE_FLOAT;
    if (a == SYNC_TYPE_TIMESTAMP || b == SYNC_TYPE_TIMESTAMP)
        return SYNC_TYPE_TIMESTAMP;
    if (PAIR(SYNC_TYPE_DATE, SYNC_TYPE_STRING))
        return SYNC_TYPE_DATE;
    if (PAIR(SYNC_TYPE_JSON, SYNC_TYPE_STRING))
        return SYNC_TYPE_JSON;
#undef PAIR
    return SYNC_TYPE_STRING;
}

/* Non-zero when expr is a plain field reference (a rename), not a computation. */
static int plain_field(const char *expr, char *out, size_t size)
{
    while (isspace((unsigned char)*expr))
        expr++;
    size_t n = strlen(expr);
    while (n && isspace((unsigned char)expr[n - 1]))
        n--;
    if (n == 0 || n >= size || !(isalpha((unsigned char)expr[0]) || expr[0] == '_'))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(isalnum((unsigned char)expr[i]) || expr[i] == '_'))
            return 0;
    memcpy(out, expr, n);
    out[n] = '\0';
    static const char *const words[] = {"true", "false", "null", "now", NULL};
    for (size_t i = 0; words[i]; i++)
        if (strcasecmp(out, words[i]) == 0)
            return 0;
    return 1;
}

/* Verifies one stream into the JSON object st. */
static int verify_stream(syncc_job_rt *job, syncc_stream_rt *srt, vside *src, vside *dst, json_t *st,
                         syncc_fix_keys *up, syncc_fix_keys *del, char *key_out, size_t key_size, int *key_int)
{
    syncc_stream *sc = srt->conf;
    json_t *not_compared = json_array();
    json_object_set_new(st, "not_compared", not_compared);
    if (sc->map == NULL) {
        json_object_set_new(st, "status", json_string("skipped"));
        json_object_set_new(st, "reason", json_string("the stream has no [map] section: verify compares mapped columns"));
        return SYNC_OK;
    }
    sync_compare_table tt = {.struct_size = sizeof(tt), .job = job->conf->name, .stream = sc->name,
                             .object = sc->target, .options = sc->sink_options};
    sync_type kkind[1];
    const char *tkey = NULL;
    void *dts = NULL;
    /* first the target's key alone, to learn which column it is */
    int rc = dst->p->compare.table(dst->inst, &tt, kkind, &tkey, &dts);
    if (rc != SYNC_OK) {
        json_object_set_new(st, "status", json_string("failed"));
        json_object_set_new(st, "error", json_string(side_error(dst, rc)));
        return rc;
    }
    char field[256], key_field[256] = "";
    size_t n = sc->n_map;
    const char **scols = calloc(n + 1, sizeof(char *)), **tcols = calloc(n + 1, sizeof(char *));
    char **owned = calloc(n + 1, sizeof(char *));
    size_t nc = 0;
    for (size_t i = 0; scols && tcols && owned && i < n; i++) {
        const syncc_map_entry *m = &sc->map[i];
        int plain = plain_field(m->expr, field, sizeof(field));
        if (strcmp(m->column, tkey) == 0) {
            if (plain)
                snprintf(key_field, sizeof(key_field), "%s", field);
            continue;
        }
        if (!plain) {
            json_array_append_new(not_compared, json_string(m->column));
            continue;
        }
        owned[nc] = strdup(field);
        scols[nc] = owned[nc];
        tcols[nc + 1] = m->column;
        nc++;
    }
    vstream vs = {.src = src, .dst = dst, .width = nc + 1, .tcols = tcols, .up = up, .del = del};
    if (!scols || !tcols || !owned) {
        rc = SYNC_E_NOMEM;
        goto out;
    }
    tcols[0] = tkey;
    if (!key_field[0]) {
        json_object_set_new(st, "status", json_string("skipped"));
        char why[512];
        snprintf(why, sizeof(why), "the target's key column \"%s\" is not a plain copy of a source field in [map %s.%s]",
                 tkey, job->conf->name, sc->name);
        json_object_set_new(st, "reason", json_string(why));
        goto out;
    }
    sync_type *dk = calloc(nc + 1, sizeof(sync_type)), *sk = calloc(nc + 1, sizeof(sync_type));
    vs.kinds = calloc(nc + 1, sizeof(sync_type));
    if (!dk || !sk || !vs.kinds) {
        free(dk);
        free(sk);
        rc = SYNC_E_NOMEM;
        goto out;
    }
    const char *dkey = NULL, *skey = NULL;
    tt.key = tkey;
    tt.columns = tcols + 1;
    tt.n_columns = nc;
    rc = dst->p->compare.table(dst->inst, &tt, dk, &dkey, &vs.dts);
    if (rc != SYNC_OK) {
        vs.err = side_error(dst, rc);
    } else {
        sync_compare_table ts = {.struct_size = sizeof(ts), .job = job->conf->name, .stream = sc->name,
                                 .object = sc->object, .options = sc->source_options, .key = key_field,
                                 .columns = scols, .n_columns = nc};
        rc = src->p->compare.table(src->inst, &ts, sk, &skey, &vs.sts);
        if (rc != SYNC_OK)
            vs.err = side_error(src, rc);
    }
    if (rc == SYNC_OK && sk[0] != dk[0]) {
        json_object_set_new(st, "status", json_string("skipped"));
        json_object_set_new(st, "reason", json_string("the key is an integer on one side and text on the other: "
                                                      "the two sides cannot order it alike"));
        free(dk);
        free(sk);
        goto out;
    }
    for (size_t i = 0; rc == SYNC_OK && i <= nc; i++)
        vs.kinds[i] = agree_kind(sk[i], dk[i]);
    free(dk);
    free(sk);
    vs.key_int = vs.kinds[0] == SYNC_TYPE_INT;
    *key_int = vs.key_int;
    snprintf(key_out, key_size, "%s", key_field);
    vs.missing = json_array();
    vs.extra = json_array();
    vs.different = json_array();
    vsum s = {0}, d = {0};
    if (rc == SYNC_OK)
        rc = diff_table(&vs, &s, &d);
    json_object_set_new(st, "key", json_string(tkey));
    json_t *cols = json_array();
    for (size_t i = 1; i <= nc; i++)
        json_array_append_new(cols, json_string(tcols[i]));
    json_object_set_new(st, "columns", cols);
    json_object_set_new(st, "source_rows", json_integer(s.count));
    json_object_set_new(st, "target_rows", json_integer(d.count));
    json_object_set_new(st, "n_missing", json_integer(vs.n_missing));
    json_object_set_new(st, "n_extra", json_integer(vs.n_extra));
    json_object_set_new(st, "n_different", json_integer(vs.n_different));
    json_object_set_new(st, "missing", vs.missing);
    json_object_set_new(st, "extra", vs.extra);
    json_object_set_new(st, "different", vs.different);
    json_object_set_new(st, "ranges_summed", json_integer(vs.summaries));
    json_object_set_new(st, "ranges_fetched", json_integer(vs.ranges_fetched));
    json_object_set_new(st, "rows_fetched", json_integer(vs.rows_fetched));
    json_object_set_new(st, "source_summary_ms", json_integer(vs.src_usec / 1000));
    json_object_set_new(st, "target_summary_ms", json_integer(vs.dst_usec / 1000));
    json_object_set_new(st, "split_ms", json_integer(vs.split_usec / 1000));
    json_object_set_new(st, "fetch_ms", json_integer(vs.fetch_usec / 1000));
    if (rc != SYNC_OK) {
        json_object_set_new(st, "status", json_string("failed"));
        json_object_set_new(st, "error", json_string(vs.err ? vs.err : syncc_strerror(rc)));
    } else {
        int differ = vs.n_missing || vs.n_extra || vs.n_different || s.count != d.count;
        json_object_set_new(st, "status", json_string(differ ? "different" : "agree"));
    }
out:
    free(vs.kinds);
    for (size_t i = 0; owned && i < nc; i++)
        free(owned[i]);
    free(owned);
    free(scols);
    free(tcols);
    return rc;
}


/* ------------------------------------------------------------ integrity rules */

typedef struct vq {
    json_t *rows;
    int64_t count;
    int unique;
} vq;

static void rule_row(void *payload, size_t n, const char *const *values)
{
    vq *q = payload;
    if (n < 2)
        return;
    if (q->unique)
        json_array_append_new(q->rows, json_pack("{s:s?, s:I}", "value", values[0], "rows",
                                                 (json_int_t)strtoll(values[1] ? values[1] : "0", NULL, 10)));
    else
        json_array_append_new(q->rows, values[1] ? json_pack("{s:s?, s:s}", "key", values[0], "value", values[1])
                                                 : json_pack("{s:s?}", "key", values[0]));
}

static void rule_count(void *payload, size_t n, const char *const *values)
{
    vq *q = payload;
    if (n >= 1 && values[0])
        q->count = strtoll(values[0], NULL, 10);
}

/*
 * Runs the stream's [verify] rules on the side they name; adds "rules" to st.
 * Returns the number of violations, or -1 when a rule could not run.
 */
static int64_t run_rules(syncc_job_rt *job, syncc_stream *sc, vside *src, vside *dst, json_t *st)
{
    char err[600];
    syncc_vrules rules;
    if (sc->verify == NULL || syncc_vrules_parse(sc->verify, &rules, err, sizeof(err)) < 0)
        return 0;
    vside *side = rules.on_source ? src : dst;
    const char *table = rules.on_source ? sc->object : sc->target;
    json_t *list = json_array();
    json_object_set_new(st, "rules", list);
    int64_t total = 0;
    int failed = 0;
    const char *key = NULL;
    void *ts = NULL;
    sync_type kind;
    sync_compare_table t = {.struct_size = sizeof(t), .job = job->conf->name, .stream = sc->name, .object = table,
                            .options = rules.on_source ? sc->source_options : sc->sink_options};
    int rc = side->inst == NULL ? SYNC_E_UNSUPPORTED
             : side->p->compare.query == NULL ? SYNC_E_UNSUPPORTED
                                              : side->p->compare.table(side->inst, &t, &kind, &key, &ts);
    for (size_t i = 0; i < rules.n; i++) {
        const syncc_vrule *r = &rules.r[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "rule", r->name, "side", rules.on_source ? "source" : "target",
                              "where", r->where);
        json_array_append_new(list, o);
        if (rc != SYNC_OK) {
            json_object_set_new(o, "error", json_string(rc == SYNC_E_UNSUPPORTED && side->inst
                                                            ? "the plugin cannot run queries"
                                                            : side_error(side, rc)));
            failed = 1;
            continue;
        }
        vq q = {json_array(), 0, r->kind == SYNCC_VRULE_UNIQUE};
        char *sql = syncc_vrule_sql(r, table, key, SYNCC_VERIFY_MAX_LISTED);
        char *csql = syncc_vrule_count_sql(r, table, key);
        int qrc = sql && csql ? side->p->compare.query(side->inst, csql, NULL, 0, rule_count, &q) : SYNC_E_NOMEM;
        if (qrc == SYNC_OK && q.count > 0)
            qrc = side->p->compare.query(side->inst, sql, NULL, 0, rule_row, &q);
        free(sql);
        free(csql);
        if (qrc != SYNC_OK) {
            json_object_set_new(o, "error", json_string(side_error(side, qrc)));
            json_decref(q.rows);
            failed = 1;
            continue;
        }
        json_object_set_new(o, "violations", json_integer(q.count));
        json_object_set_new(o, q.unique ? "values" : "rows", q.rows);
        total += q.count;
    }
    syncc_vrules_free(&rules);
    return failed ? -1 : total;
}

/* ------------------------------------------------------------ a job */

/* The worse of two verify exit codes: a failure beats a difference, which beats agreement. */
static int vworse(int a, int b)
{
    int ra = a == SYNCC_EXIT_OK ? 0 : a == SYNCC_EXIT_DIFFERENT ? 1 : 2;
    int rb = b == SYNCC_EXIT_OK ? 0 : b == SYNCC_EXIT_DIFFERENT ? 1 : 2;
    return rb > ra ? b : a;
}

/* Collects the keys of the orphans a rule found (for orphans_policy = delete). */
static void orphan_keys(const json_t *st, syncc_fix_keys *del)
{
    size_t i, k;
    json_t *r, *row;
    json_array_foreach(json_object_get(st, "rules"), i, r) {
        const char *name = json_string_value(json_object_get(r, "rule"));
        if (!name || strncmp(name, "orphans ", 8) != 0 || strcmp(json_string_value(json_object_get(r, "side")), "target") != 0)
            continue;
        json_array_foreach(json_object_get(r, "rows"), k, row)
            syncc_fix_keys_add(del, json_string_value(json_object_get(row, "key")));
    }
}

/*
 * The stream that writes table in the database of job's sink (this job's
 * streams first, then the other jobs on the same sink), or NULL.
 */
static syncc_stream_rt *parent_stream(syncc_engine *e, syncc_job_rt *job, const char *table, syncc_job_rt **pjob)
{
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t j = 0; j < e->n_jobs; j++) {
            syncc_job_rt *o = &e->jobs[j];
            if ((pass == 0) != (o == job) || o->conf->tenants != NULL ||
                strcmp(o->conf->sink->name, job->conf->sink->name) != 0)
                continue;
            for (size_t i = 0; i < o->n_streams; i++)
                if (o->streams[i].conf->target && strcmp(o->streams[i].conf->target, table) == 0) {
                    *pjob = o;
                    return &o->streams[i];
                }
        }
    return NULL;
}

/*
 * orphans_policy = refetch: the missing parents of the orphans an orphans
 * rule found in the target are fetched by key from the source of the stream
 * that writes the parent table, and written through that stream's mapping and
 * sink.  One object per rule goes to list.  Returns non-zero when a rule's
 * parents could not be fetched or written.
 */
static int refetch_parents(syncc_engine *e, syncc_job_rt *job, const syncc_vrules *rules, const json_t *st,
                           json_t *list)
{
    int failed = 0;
    size_t i, k;
    json_t *r, *row;
    json_array_foreach(json_object_get(st, "rules"), i, r) {
        const char *name = json_string_value(json_object_get(r, "rule"));
        const char *side = json_string_value(json_object_get(r, "side"));
        if (!name || !side || strcmp(side, "target") != 0 || json_array_size(json_object_get(r, "rows")) == 0)
            continue;
        const syncc_vrule *rule = NULL;
        for (size_t n = 0; n < rules->n; n++)
            if (rules->r[n].kind == SYNCC_VRULE_ORPHANS && strcmp(rules->r[n].name, name) == 0)
                rule = &rules->r[n];
        if (rule == NULL)
            continue;
        /* the parent keys, each once */
        syncc_fix_keys keys = {0}, none = {0};
        json_array_foreach(json_object_get(r, "rows"), k, row) {
            const char *v = json_string_value(json_object_get(row, "value"));
            size_t d = 0;
            while (v && d < keys.n && strcmp(keys.k[d], v) != 0)
                d++;
            if (v && d == keys.n)
                syncc_fix_keys_add(&keys, v);
        }
        json_t *o = json_pack("{s:s, s:I}", "rule", name, "parents", (json_int_t)keys.n);
        json_array_append_new(list, o);
        char err[1024] = "";
        syncc_job_rt *pjob = NULL;
        syncc_stream_rt *ps = parent_stream(e, job, rule->parent, &pjob);
        char field[256] = "";
        int plain = 0;
        for (size_t m = 0; ps && m < ps->conf->n_map; m++)
            if (strcmp(ps->conf->map[m].column, rule->parent_column) == 0)
                plain = plain_field(ps->conf->map[m].expr, field, sizeof(field));
        if (ps == NULL) {
            snprintf(err, sizeof(err), "no stream writes table \"%s\" through sink '%s': the parents cannot be "
                     "fetched, the orphans stay reported", rule->parent, job->conf->sink->name);
        } else if (!plain) {
            snprintf(err, sizeof(err), "column \"%s\" of \"%s\" is not a plain copy of a source field in [map %s.%s]: "
                     "the parents cannot be fetched by it", rule->parent_column, rule->parent, pjob->conf->name,
                     ps->conf->name);
        }
        if (ps != NULL) {
            char through[600];
            snprintf(through, sizeof(through), "%s.%s", pjob->conf->name, ps->conf->name);
            json_object_set_new(o, "through", json_string(through));
        }
        if (!err[0] && keys.oom) {
            snprintf(err, sizeof(err), "out of memory");
        } else if (!err[0]) {
            vside psrc;
            int rc = side_open(&psrc, pjob->conf->source, pjob->source, 1, e, pjob->conf->name);
            if (rc == SYNC_E_UNSUPPORTED && psrc.inst == NULL && (psrc.p == NULL || psrc.p->def.compare == NULL))
                snprintf(err, sizeof(err), "the source plugin '%s' of job '%s' cannot fetch rows by key",
                         pjob->conf->source->plugin_name, pjob->conf->name);
            else if (rc != SYNC_OK)
                snprintf(err, sizeof(err), "%s", side_error(&psrc, rc));
            else {
                syncc_fix_side fs = {psrc.p, psrc.inst, psrc.ctx};
                syncc_fix_stream(e, pjob, ps, &fs, field, -1, &keys, &none, o, err, sizeof(err));
            }
            side_close(&psrc);
        }
        if (err[0]) {
            json_object_set_new(o, "error", json_string(err));
            failed = 1;
        }
        syncc_fix_keys_free(&keys);
    }
    return failed;
}

/* Verifies one stream; with fix, repairs what differs and verifies it again. */
static void verify_one(syncc_engine *e, syncc_job_rt *job, syncc_stream_rt *srt, vside *src, vside *dst, json_t *st,
                       int fix)
{
    syncc_fix_keys up = {0}, del = {0};
    char key_field[256] = "";
    int key_int = 0;
    verify_stream(job, srt, src, dst, st, &up, &del, key_field, sizeof(key_field), &key_int);
    int64_t violations = run_rules(job, srt->conf, src, dst, st);
    if (violations != 0 && json_object_get(st, "rules") != NULL) {
        const char *was = json_string_value(json_object_get(st, "status"));
        json_object_set_new(st, "n_violations", json_integer(violations < 0 ? 0 : violations));
        if (violations < 0)
            json_object_set_new(st, "status", json_string("failed"));
        else if (was && (strcmp(was, "agree") == 0 || strcmp(was, "skipped") == 0))
            json_object_set_new(st, "status", json_string("different"));
    }
    const char *status = json_string_value(json_object_get(st, "status"));
    syncc_vrules rules = {0};
    char err[1024];
    int have_rules = srt->conf->verify && syncc_vrules_parse(srt->conf->verify, &rules, err, sizeof(err)) == 0;
    if (have_rules && rules.policy == SYNCC_ORPHANS_DELETE)
        orphan_keys(st, &del);
    /* orphans_policy = refetch: orphans whose parents verify --fix can ask for */
    int refetch = 0;
    size_t ri;
    json_t *rr;
    json_array_foreach(json_object_get(st, "rules"), ri, rr) {
        const char *rn = json_string_value(json_object_get(rr, "rule"));
        const char *rs = json_string_value(json_object_get(rr, "side"));
        if (have_rules && rules.policy == SYNCC_ORPHANS_REFETCH && rn && rs && strncmp(rn, "orphans ", 8) == 0 &&
            strcmp(rs, "target") == 0 && json_array_size(json_object_get(rr, "rows")) > 0)
            refetch = 1;
    }
    int own = key_field[0] && (up.n > 0 || del.n > 0);
    if (fix && status && strcmp(status, "different") == 0 && (own || refetch)) {
        json_t *fx = json_object();
        json_object_set_new(st, "fix", fx);
        syncc_fix_side fs = {src->p, src->inst, src->ctx};
        int rc = SYNC_OK;
        if (own) {
            rc = up.oom || del.oom ? SYNC_E_NOMEM
                                   : syncc_fix_stream(e, job, srt, &fs, key_field, key_int, &up, &del, fx, err,
                                                      sizeof(err));
            if (rc != SYNC_OK)
                json_object_set_new(fx, "error", json_string(err));
        }
        if (refetch) {
            json_t *list = json_array();
            json_object_set_new(fx, "refetch", list);
            refetch_parents(e, job, &rules, st, list);
        }
        /* what the tables look like now */
        json_t *after = json_object();
        syncc_fix_keys u2 = {0}, d2 = {0};
        char k2[256];
        int ki2;
        verify_stream(job, srt, src, dst, after, &u2, &d2, k2, sizeof(k2), &ki2);
        int64_t v2 = run_rules(job, srt->conf, src, dst, after);
        const char *s2 = json_string_value(json_object_get(after, "status"));
        if (v2 > 0 && s2 && strcmp(s2, "agree") == 0)
            json_object_set_new(after, "status", json_string("different"));
        else if (v2 < 0)
            json_object_set_new(after, "status", json_string("failed"));
        json_object_set_new(fx, "status_after", json_string(json_string_value(json_object_get(after, "status"))));
        json_object_set_new(fx, "after", after);
        json_object_set_new(st, "status_before", json_string(status));
        json_object_set_new(st, "status", json_string(rc != SYNC_OK ? "failed"
                                                      : json_string_value(json_object_get(after, "status"))));
        syncc_fix_keys_free(&u2);
        syncc_fix_keys_free(&d2);
    }
    if (have_rules)
        syncc_vrules_free(&rules);
    syncc_fix_keys_free(&up);
    syncc_fix_keys_free(&del);
}

int syncc_verify_job(syncc_engine *e, syncc_job_rt *job, int fix, json_t **report)
{
    char run_id[37];
    syncc_run_id_new(run_id);
    int64_t started = syncc_time_now();
    json_t *r = json_object();
    json_t *streams = json_array();
    json_object_set_new(r, "job", json_string(job->conf->name));
    json_object_set_new(r, "run_id", json_string(run_id));
    json_object_set_new(r, "fix", json_boolean(fix));
    vside src, dst;
    int src_rc = side_open(&src, job->conf->source, job->source, 1, e, job->conf->name);
    int dst_rc = side_open(&dst, job->conf->sink, job->sink, 0, e, job->conf->name);
    int any_diff = 0, any_fail = 0;
    for (size_t i = 0; i < job->n_streams; i++) {
        syncc_stream_rt *srt = &job->streams[i];
        json_t *st = json_object();
        json_object_set_new(st, "stream", json_string(srt->conf->name));
        json_object_set_new(st, "source", json_string(srt->conf->object ? srt->conf->object : ""));
        json_object_set_new(st, "target", json_string(srt->conf->target ? srt->conf->target : ""));
        json_array_append_new(streams, st);
        vside *bad = src_rc != SYNC_OK ? &src : dst_rc != SYNC_OK ? &dst : NULL;
        if (bad != NULL) {
            int brc = bad == &src ? src_rc : dst_rc;
            if (brc == SYNC_E_UNSUPPORTED) {
                char why[512];
                snprintf(why, sizeof(why), "the %s plugin '%s' cannot compare tables (it has no compare operations)",
                         bad->is_source ? "source" : "sink", bad->in->plugin_name);
                json_object_set_new(st, "status", json_string("skipped"));
                json_object_set_new(st, "reason", json_string(why));
            } else {
                json_object_set_new(st, "status", json_string("failed"));
                json_object_set_new(st, "error", json_string(side_error(bad, brc)));
                any_fail = 1;
            }
            continue;
        }
        verify_one(e, job, srt, &src, &dst, st, fix);
        const char *s = json_string_value(json_object_get(st, "status"));
        if (s && strcmp(s, "different") == 0)
            any_diff = 1;
        if (s && strcmp(s, "failed") == 0)
            any_fail = 1;
    }
    const char *status = any_fail ? "failed" : any_diff ? "different" : "agree";
    int64_t finished = syncc_time_now();
    json_object_set_new(r, "status", json_string(status));
    char ts[40];
    syncc_time_format(started, ts, sizeof(ts));
    json_object_set_new(r, "started_at", json_string(ts));
    syncc_time_format(finished, ts, sizeof(ts));
    json_object_set_new(r, "finished_at", json_string(ts));
    json_object_set_new(r, "duration_ms", json_integer((finished - started) / 1000));
    json_object_set_new(r, "streams", streams);
    /* the result is kept in the sink's database, when it keeps verify runs */
    if (dst_rc == SYNC_OK && dst.p->compare.history_add != NULL) {
        char *text = json_dumps(r, JSON_COMPACT);
        int hrc = text ? dst.p->compare.history_add(dst.inst, job->conf->name, run_id, started, finished, status, text)
                       : SYNC_E_NOMEM;
        if (hrc != SYNC_OK)
            syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = job->conf->name},
                      "the verify run is not recorded: %s", side_error(&dst, hrc));
        free(text);
    }
    side_close(&src);
    side_close(&dst);
    *report = r;
    return any_fail ? SYNCC_EXIT_FAILED : any_diff ? SYNCC_EXIT_DIFFERENT : SYNCC_EXIT_OK;
}

/* ------------------------------------------------------------ scheduled */

/* "3 differences in emails (2 missing, ...)" for the run's error, from the report. */
static void summary_text(const json_t *report, char *buf, size_t size)
{
    size_t i, o = 0;
    json_t *st;
    buf[0] = '\0';
    json_array_foreach(json_object_get(report, "streams"), i, st) {
        const char *status = json_string_value(json_object_get(st, "status"));
        if (!status || strcmp(status, "agree") == 0 || strcmp(status, "skipped") == 0 || o + 2 >= size)
            continue;
        const char *name = json_string_value(json_object_get(st, "stream"));
        int n;
        if (strcmp(status, "failed") == 0)
            n = snprintf(buf + o, size - o, "%sstream %s could not be verified: %s", o ? "; " : "", name,
                         json_string_value(json_object_get(st, "error")) ? json_string_value(json_object_get(st, "error"))
                                                                        : "a rule failed");
        else
            n = snprintf(buf + o, size - o, "%sstream %s differs: %lld missing, %lld extra, %lld different, %lld rule "
                         "violations", o ? "; " : "", name,
                         (long long)json_integer_value(json_object_get(st, "n_missing")),
                         (long long)json_integer_value(json_object_get(st, "n_extra")),
                         (long long)json_integer_value(json_object_get(st, "n_different")),
                         (long long)json_integer_value(json_object_get(st, "n_violations")));
        if (n < 0 || (size_t)n >= size - o)
            break;
        o += (size_t)n;
    }
}

int syncc_verify_scheduled(syncc_engine *e, syncc_job_rt *job)
{
    syncc_log_ctx lc = {.job = job->conf->name};
    syncc_log(SYNC_LOG_INFO, &lc, "verify started (its verify_schedule)%s", job->conf->verify_fix ? ", fixing" : "");
    int64_t started = syncc_time_now();
    json_t *report = NULL;
    int code = syncc_verify_job(e, job, job->conf->verify_fix, &report);
    const char *run_id = json_string_value(json_object_get(report, "run_id"));
    lc.run_id = run_id;
    char why[1024];
    summary_text(report, why, sizeof(why));
    json_t *details = json_pack("{s:s, s:O}", "kind", "verify", "verify", report);
    char *details_text = details ? json_dumps(details, JSON_COMPACT) : NULL;
    json_decref(details);
    sync_run_status status = code == SYNCC_EXIT_OK ? SYNC_RUN_SUCCESS : SYNC_RUN_FAILED;
    if (code != SYNCC_EXIT_OK)
        syncc_log(SYNC_LOG_ERROR, &lc, "verify: %s", why[0] ? why : "the sides differ");
    else
        syncc_log(SYNC_LOG_INFO, &lc, "verify: source and target agree");
    /* the run log of the sink: a run like the others, failed when the sides disagree */
    syncc_run_result res;
    memset(&res, 0, sizeof(res));
    res.status = status;
    res.duration_ms = (syncc_time_now() - started) / 1000;
    snprintf(res.error, sizeof(res.error), "%s%s", code != SYNCC_EXIT_OK ? "verify: " : "",
             code != SYNCC_EXIT_OK ? (why[0] ? why : "the sides differ") : "");
    sync_ctx *ctx = syncc_ctx_new(job->conf->name, job->conf->sink->name, job->conf->sink->plugin_name);
    void *snk = NULL;
    int rc = ctx ? job->sink->sink.open(ctx, job->conf->sink->config, &snk) : SYNC_E_NOMEM;
    if (ctx)
        ctx->run_id = strdup(run_id ? run_id : "");
    if (rc == SYNC_OK && job->sink->sink.begin != NULL) {
        sync_run_info info;
        memset(&info, 0, sizeof(info));
        info.struct_size = sizeof(info);
        info.job = job->conf->name;
        info.run_id = run_id;
        info.started_at = started;
        info.options = job->conf->sink_options;
        info.status = SYNC_RUN_RUNNING;
        rc = job->sink->sink.begin(snk, &info);
        if (rc == SYNC_OK) {
            info.status = status;
            info.finished_at = syncc_time_now();
            info.error = res.error[0] ? res.error : NULL;
            info.details_json = details_text;
            rc = job->sink->sink.finish(snk, &info);
        }
    }
    if (rc != SYNC_OK)
        syncc_log(SYNC_LOG_WARN, &lc, "the verify run is not in the sink's run log: %s%s%s", syncc_strerror(rc),
                  ctx && ctx->errbuf[0] ? ": " : "", ctx ? ctx->errbuf : "");
    if (snk)
        job->sink->sink.close(snk);
    syncc_ctx_free(ctx);
    syncc_job_record(e, job->conf->name, &res);
    free(details_text);
    json_decref(report);
    return code == SYNCC_EXIT_OK ? SYNCC_EXIT_OK : SYNCC_EXIT_FAILED;
}

/* ------------------------------------------------------------ reports */

static void print_keys(FILE *out, const char *what, const json_t *list, json_int_t total)
{
    if (total <= 0)
        return;
    fprintf(out, "  %s (%lld):", what, (long long)total);
    size_t i;
    json_t *k;
    json_array_foreach(list, i, k) {
        if (i >= 20) {
            fprintf(out, " ...");
            break;
        }
        fprintf(out, " %s", json_string_value(k));
    }
    fputc('\n', out);
}

static void print_rules(FILE *out, const json_t *st)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(st, "rules"), i, r) {
        const char *err = json_string_value(json_object_get(r, "error"));
        fprintf(out, "  %s (%s): ", json_string_value(json_object_get(r, "rule")),
                json_string_value(json_object_get(r, "side")));
        if (err) {
            fprintf(out, "failed: %s\n", err);
            continue;
        }
        json_int_t n = json_integer_value(json_object_get(r, "violations"));
        if (n == 0) {
            fprintf(out, "none\n");
            continue;
        }
        fprintf(out, "%lld", (long long)n);
        json_t *vals = json_object_get(r, "values"), *rows = json_object_get(r, "rows"), *x;
        size_t k;
        if (vals) {
            fprintf(out, " duplicated value(s):");
            json_array_foreach(vals, k, x) {
                if (k >= 20) {
                    fprintf(out, " ...");
                    break;
                }
                fprintf(out, " %s (%lld rows)", json_string_value(json_object_get(x, "value")),
                        (long long)json_integer_value(json_object_get(x, "rows")));
            }
        } else {
            fprintf(out, " row(s):");
            json_array_foreach(rows, k, x) {
                if (k >= 20) {
                    fprintf(out, " ...");
                    break;
                }
                const char *v = json_string_value(json_object_get(x, "value"));
                fprintf(out, " %s", json_string_value(json_object_get(x, "key")));
                if (v)
                    fprintf(out, " (%s)", v);
            }
        }
        fputc('\n', out);
    }
}

/* "  refetched for orphans ...: ..." (orphans_policy = refetch) */
static void print_refetch(FILE *out, const json_t *rf)
{
    const char *through = json_string_value(json_object_get(rf, "through"));
    const char *rerr = json_string_value(json_object_get(rf, "error"));
    fprintf(out, "  refetch for %s: %lld parent(s)", json_string_value(json_object_get(rf, "rule")),
            (long long)json_integer_value(json_object_get(rf, "parents")));
    if (through)
        fprintf(out, " asked of %s", through);
    if (json_object_get(rf, "source_rows") != NULL)
        fprintf(out, ", %lld found, %lld written, %lld failed",
                (long long)json_integer_value(json_object_get(rf, "source_rows")),
                (long long)json_integer_value(json_object_get(rf, "upserted")),
                (long long)json_integer_value(json_object_get(rf, "failed")));
    if (rerr)
        fprintf(out, ": %s", rerr);
    fputc('\n', out);
    json_t *absent = json_object_get(rf, "not_at_source");
    if (json_array_size(absent) > 0) {
        fprintf(out, "  not at the source (their orphans stay reported):");
        size_t i;
        json_t *k;
        json_array_foreach(absent, i, k) {
            if (i >= 20) {
                fprintf(out, " ...");
                break;
            }
            fprintf(out, " %s", json_string_value(k));
        }
        fputc('\n', out);
    }
}

void syncc_verify_print(FILE *out, const json_t *report)
{
    const char *job = json_string_value(json_object_get(report, "job"));
    size_t i;
    json_t *st;
    json_array_foreach(json_object_get(report, "streams"), i, st) {
        const char *name = json_string_value(json_object_get(st, "stream"));
        const char *status = json_string_value(json_object_get(st, "status"));
        if (strcmp(status, "skipped") == 0 || (strcmp(status, "failed") == 0 && !json_object_get(st, "source_rows"))) {
            const char *why = json_string_value(json_object_get(st, strcmp(status, "skipped") == 0 ? "reason" : "error"));
            fprintf(out, "%s.%s: %s: %s\n", job, name, status, why ? why : "");
            print_rules(out, st);
            continue;
        }
        if (json_object_get(st, "status_before") != NULL) /* --fix: the rows as found; the fix line says the rest */
            status = json_string_value(json_object_get(st, "status_before"));
        fprintf(out, "%s.%s: %s: source %lld rows, target %lld rows", job, name, status,
                (long long)json_integer_value(json_object_get(st, "source_rows")),
                (long long)json_integer_value(json_object_get(st, "target_rows")));
        if (strcmp(status, "different") == 0)
            fprintf(out, "; %lld missing, %lld extra, %lld different",
                    (long long)json_integer_value(json_object_get(st, "n_missing")),
                    (long long)json_integer_value(json_object_get(st, "n_extra")),
                    (long long)json_integer_value(json_object_get(st, "n_different")));
        fprintf(out, " (%lld ranges summed, %lld rows fetched)\n",
                (long long)json_integer_value(json_object_get(st, "ranges_summed")),
                (long long)json_integer_value(json_object_get(st, "rows_fetched")));
        if (strcmp(status, "failed") == 0)
            fprintf(out, "  error: %s\n", json_string_value(json_object_get(st, "error")));
        print_keys(out, "missing in the target", json_object_get(st, "missing"),
                   json_integer_value(json_object_get(st, "n_missing")));
        print_keys(out, "extra in the target", json_object_get(st, "extra"),
                   json_integer_value(json_object_get(st, "n_extra")));
        json_t *d;
        size_t k;
        json_array_foreach(json_object_get(st, "different"), k, d) {
            if (k >= 20) {
                fprintf(out, "  ...\n");
                break;
            }
            fprintf(out, "  different %s:", json_string_value(json_object_get(d, "key")));
            size_t c;
            json_t *col;
            json_array_foreach(json_object_get(d, "columns"), c, col)
                fprintf(out, "%s %s", c ? "," : "", json_string_value(col));
            fputc('\n', out);
        }
        print_rules(out, st);
        json_t *fx = json_object_get(st, "fix");
        if (fx != NULL) {
            const char *ferr = json_string_value(json_object_get(fx, "error"));
            fprintf(out, "  fixed: %lld upserted, %lld deleted, %lld failed%s%s; now %s\n",
                    (long long)json_integer_value(json_object_get(fx, "upserted")),
                    (long long)json_integer_value(json_object_get(fx, "deleted")),
                    (long long)json_integer_value(json_object_get(fx, "failed")), ferr ? ": " : "", ferr ? ferr : "",
                    json_string_value(json_object_get(fx, "status_after")));
            json_t *rf;
            size_t n;
            json_array_foreach(json_object_get(fx, "refetch"), n, rf)
                print_refetch(out, rf);
        }
        json_t *nc = json_object_get(st, "not_compared");
        if (json_array_size(nc) > 0) {
            fprintf(out, "  not compared (computed by the mapping):");
            json_t *col;
            json_array_foreach(nc, k, col)
                fprintf(out, " %s", json_string_value(col));
            fputc('\n', out);
        }
    }
    fprintf(out, "verify %s: %s\n", job, json_string_value(json_object_get(report, "status")));
}

typedef struct hist_acc {
    json_t *list;
} hist_acc;

static void hist_each(void *payload, const char *run_id, int64_t started_at, int64_t finished_at, const char *status,
                      const char *report_json)
{
    hist_acc *h = payload;
    (void)run_id;
    (void)started_at;
    (void)finished_at;
    (void)status;
    json_error_t jerr;
    json_t *r = json_loads(report_json, 0, &jerr);
    if (r)
        json_array_append_new(h->list, r);
}

static int history_job(syncc_engine *e, syncc_job_rt *job, int json, json_t *all)
{
    vside dst;
    int rc = side_open(&dst, job->conf->sink, job->sink, 0, e, job->conf->name);
    if (rc == SYNC_OK && dst.p->compare.history == NULL)
        rc = SYNC_E_UNSUPPORTED;
    hist_acc h = {json_array()};
    if (rc == SYNC_OK)
        rc = dst.p->compare.history(dst.inst, job->conf->name, 20, hist_each, &h);
    if (rc != SYNC_OK) {
        fprintf(stderr, "syncengine: verify --history: job '%s': %s\n", job->conf->name,
                rc == SYNC_E_UNSUPPORTED ? "the sink keeps no verify history" : side_error(&dst, rc));
        side_close(&dst);
        json_decref(h.list);
        return SYNCC_EXIT_FAILED;
    }
    side_close(&dst);
    size_t i;
    json_t *r;
    if (json) {
        json_array_foreach(h.list, i, r)
            json_array_append(all, r);
    } else {
        if (json_array_size(h.list) == 0)
            printf("%s: no verify runs recorded\n", job->conf->name);
        json_array_foreach(h.list, i, r) {
            long long diffs = 0, viol = 0;
            size_t k;
            json_t *st;
            json_array_foreach(json_object_get(r, "streams"), k, st) {
                diffs += json_integer_value(json_object_get(st, "n_missing")) +
                         json_integer_value(json_object_get(st, "n_extra")) +
                         json_integer_value(json_object_get(st, "n_different"));
                viol += json_integer_value(json_object_get(st, "n_violations"));
            }
            printf("%-20s %-36s %-24s %-9s %lld difference(s), %lld rule violation(s)%s\n", job->conf->name,
                   json_string_value(json_object_get(r, "run_id")),
                   json_string_value(json_object_get(r, "started_at")),
                   json_string_value(json_object_get(r, "status")), diffs, viol,
                   json_is_true(json_object_get(r, "fix")) ? ", fixed" : "");
        }
    }
    json_decref(h.list);
    return SYNCC_EXIT_OK;
}

int syncc_verify_command(syncc_engine *e, const char *job_name, int json, int history, int fix, int refresh)
{
    int code = SYNCC_EXIT_OK, any = 0;
    json_t *all = json_array();
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *job = &e->jobs[j];
        if (job_name != NULL && strcmp(job->conf->name, job_name) != 0)
            continue;
        if (job->conf->tenants != NULL) {
            if (job_name != NULL)
                fprintf(stderr, "syncengine: verify: job '%s' is a tenant template: verify its tenants' databases "
                        "with a job of their own\n", job->conf->name);
            continue;
        }
        any = 1;
        if (history) {
            code = vworse(code, history_job(e, job, json, all));
            continue;
        }
        if (refresh) {
            /* the table rebuilt through the job's own run (never emptied: upserts, then the
             * rows not seen deleted at once), then checked */
            syncc_run_result res;
            e->full_refresh = 1;
            int rrc = syncc_job_run(e, job, &res);
            if (rrc != SYNCC_EXIT_OK && rrc != SYNCC_EXIT_PARTIAL) {
                fprintf(stderr, "syncengine: verify: the full refresh of job '%s' failed (exit %d); not verified\n",
                        job->conf->name, rrc);
                code = vworse(code, SYNCC_EXIT_FAILED);
                continue;
            }
        }
        json_t *report = NULL;
        /* after a refresh, what it could not do itself (rows the source no longer holds, where the
         * sink has no full-refresh sweep) is repaired as --fix does */
        int rc = syncc_verify_job(e, job, fix || refresh, &report);
        code = vworse(code, rc);
        if (json)
            json_array_append(all, report);
        else
            syncc_verify_print(stdout, report);
        json_decref(report);
        if (e->stop)
            break;
    }
    if (!any) {
        if (job_name != NULL)
            fprintf(stderr, "syncengine: no job '%s' in %s\n", job_name, e->conf->path);
        json_decref(all);
        return job_name != NULL ? SYNCC_EXIT_CONFIG : SYNCC_EXIT_OK;
    }
    if (json) {
        json_t *top = history ? json_pack("{s:o}", "runs", all)
                              : json_pack("{s:s, s:o}", "status",
                                          code == SYNCC_EXIT_OK ? "agree" : code == SYNCC_EXIT_DIFFERENT ? "different"
                                                                                                         : "failed",
                                          "jobs", all);
        char *text = json_dumps(top, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
        json_decref(top);
    } else {
        json_decref(all);
    }
    return code;
}
