/*
 * core/verify_fix.c - `syncengine verify --fix` (verify_fix.h): repairs the
 * rows verify found with the job's own write path.  The source rows of the
 * missing and different keys are fetched through the source's compare
 * operations, turned into records of the source's own types, and handed to
 * the stream pipeline (core/pipeline.c) as if the source had read them: the
 * job's mapping, the sink's prepare and batched writes (upserts), its
 * rejections and retries all apply.  Extra rows (and orphans with
 * orphans_policy = delete) become delete records, which the sink applies by
 * its delete_mode.  No cursor moves.
 */
#include "verify_fix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostapi.h"
#include "log.h"
#include "pipeline.h"
#include "status.h"
#include "timeutil.h"

void syncc_fix_keys_add(syncc_fix_keys *k, const char *key)
{
    if (k->oom)
        return;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 32;
        char **nk = realloc(k->k, cap * sizeof(*nk));
        if (!nk) {
            k->oom = 1;
            return;
        }
        k->k = nk;
        k->cap = cap;
    }
    if (!(k->k[k->n++] = strdup(key)))
        k->oom = 1;
}

void syncc_fix_keys_free(syncc_fix_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        free(k->k[i]);
    free(k->k);
    memset(k, 0, sizeof(*k));
}

/* One source row to write: its values as canonical text, NULL for NULL. */
typedef struct fix_row {
    char **v;
} fix_row;

typedef struct fix_src {
    const char *const *fields; /* source field names, key first */
    const sync_type *kinds;    /* their natural kinds */
    size_t width;
    fix_row *rows;
    size_t n_rows, cap_rows;
    const syncc_fix_keys *deletes;
    int oom;
} fix_src;

static void fix_row_add(void *payload, const char *const *values)
{
    fix_src *f = payload;
    if (f->oom)
        return;
    if (f->n_rows == f->cap_rows) {
        size_t cap = f->cap_rows ? f->cap_rows * 2 : 32;
        fix_row *nr = realloc(f->rows, cap * sizeof(*nr));
        if (!nr) {
            f->oom = 1;
            return;
        }
        f->rows = nr;
        f->cap_rows = cap;
    }
    fix_row *r = &f->rows[f->n_rows];
    if (!(r->v = calloc(f->width, sizeof(char *)))) {
        f->oom = 1;
        return;
    }
    f->n_rows++;
    for (size_t i = 0; i < f->width; i++)
        if (values[i] && !(r->v[i] = strdup(values[i])))
            f->oom = 1;
}

/* Sets field name of rec from the canonical text of kind. */
static int set_field(const sync_host *h, sync_record *rec, const char *name, sync_type kind, const char *text)
{
    if (text == NULL)
        return h->record_set_null(rec, name);
    switch (kind) {
    case SYNC_TYPE_INT: {
        char *end;
        long long v = strtoll(text, &end, 10);
        if (*end == '\0')
            return h->record_set_int(rec, name, v);
        break;
    }
    case SYNC_TYPE_FLOAT: {
        char *end;
        double v = strtod(text, &end);
        if (*end == '\0')
            return h->record_set_float(rec, name, v);
        break;
    }
    case SYNC_TYPE_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0)
            return h->record_set_bool(rec, name, text[0] == 't');
        break;
    case SYNC_TYPE_TIMESTAMP: {
        int64_t usec;
        if (h->time_parse(text, strlen(text), &usec) == SYNC_OK)
            return h->record_set_timestamp(rec, name, usec);
        break;
    }
    case SYNC_TYPE_DATE: {
        int64_t usec;
        if (h->time_parse(text, strlen(text), &usec) == SYNC_OK)
            return h->record_set_date(rec, name, usec / 86400000000LL - (usec < 0 && usec % 86400000000LL ? 1 : 0));
        break;
    }
    case SYNC_TYPE_JSON:
        return h->record_set_json(rec, name, text, strlen(text));
    default:
        break;
    }
    return h->record_set_string(rec, name, text, strlen(text));
}

/* The pipeline's "source": emits the fetched rows, then the deletes. */
static int fix_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    fix_src *f = instance;
    const sync_host *h = syncc_host();
    size_t per = req->batch_size ? req->batch_size : 500, pending = 0;
    for (size_t i = 0; i < f->n_rows; i++) {
        const char *key = f->rows[i].v[0];
        sync_record *rec = h->record_new(em, key, strlen(key), SYNC_OP_UPSERT);
        if (!rec)
            return SYNC_E_NOMEM;
        for (size_t c = 0; c < f->width; c++) {
            int rc = set_field(h, rec, f->fields[c], f->kinds[c], f->rows[i].v[c]);
            if (rc != SYNC_OK)
                return rc;
        }
        if (++pending >= per) {
            int rc = h->emit(em, NULL);
            if (rc != SYNC_OK)
                return rc;
            pending = 0;
        }
    }
    for (size_t i = 0; f->deletes && i < f->deletes->n; i++) {
        sync_record *rec = h->record_new(em, f->deletes->k[i], strlen(f->deletes->k[i]), SYNC_OP_DELETE);
        if (!rec)
            return SYNC_E_NOMEM;
        /* the key field: the mapping gives the sink the target's key from it */
        int rc = set_field(h, rec, f->fields[0], f->kinds[0], f->deletes->k[i]);
        if (rc != SYNC_OK)
            return rc;
        if (++pending >= per) {
            rc = h->emit(em, NULL);
            if (rc != SYNC_OK)
                return rc;
            pending = 0;
        }
    }
    return pending ? h->emit(em, NULL) : SYNC_OK;
}

static int fix_no_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    (void)ctx;
    (void)cfg;
    (void)instance;
    return SYNC_E_UNSUPPORTED;
}

static void fix_no_close(void *instance)
{
    (void)instance;
}

/* The successor bound of key: [key, next) holds key alone. */
static void key_next(const char *key, int key_int, char *out, size_t size)
{
    if (key_int)
        snprintf(out, size, "%lld", strtoll(key, NULL, 10) + 1);
    else
        snprintf(out, size, "%s\x01", key);
}

int syncc_fix_stream(syncc_engine *e, syncc_job_rt *job, syncc_stream_rt *srt, const syncc_fix_side *src,
                     const char *key_field, int key_int, const syncc_fix_keys *upserts, const syncc_fix_keys *deletes,
                     json_t *out, char *err, size_t errlen)
{
    syncc_stream *sc = srt->conf;
    int rc = SYNC_OK;
    err[0] = '\0';
    /* the source fields the mapping reads, the key first */
    size_t nf = srt->mapping ? syncc_mapping_n_fields(srt->mapping) : 0;
    if (srt->mapping == NULL) {
        snprintf(err, errlen, "the stream has no [map] section");
        return SYNC_E_UNSUPPORTED;
    }
    const char **fields = calloc(nf + 1, sizeof(char *));
    sync_type *kinds = calloc(nf + 1, sizeof(sync_type));
    fix_src f = {0};
    if (!fields || !kinds) {
        rc = SYNC_E_NOMEM;
        goto out;
    }
    fields[0] = key_field;
    size_t w = 1;
    for (size_t i = 0; i < nf; i++) {
        const char *fl = syncc_mapping_field(srt->mapping, i);
        if (strcmp(fl, key_field) != 0)
            fields[w++] = fl;
    }
    sync_compare_table t = {.struct_size = sizeof(t), .job = job->conf->name, .stream = sc->name,
                            .object = sc->object, .options = sc->source_options, .key = key_field,
                            .columns = fields + 1, .n_columns = w - 1};
    const char *kout = NULL;
    void *ts = NULL;
    rc = src->p->compare.table(src->inst, &t, kinds, &kout, &ts);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "the source's fields: %s", syncc_ctx_error(src->ctx));
        goto out;
    }
    if (key_int < 0)
        key_int = kinds[0] == SYNC_TYPE_INT;
    f.fields = fields;
    f.kinds = kinds;
    f.width = w;
    f.deletes = deletes;
    /* the source rows, one key at a time (the natural kinds keep the source's types) */
    json_t *absent = json_array();
    for (size_t i = 0; i < upserts->n && rc == SYNC_OK; i++) {
        char next[1100];
        size_t had = f.n_rows;
        key_next(upserts->k[i], key_int, next, sizeof(next));
        rc = src->p->compare.fetch(src->inst, ts, kinds, upserts->k[i], next, fix_row_add, &f);
        if (rc != SYNC_OK)
            snprintf(err, errlen, "fetching row %s from the source: %s", upserts->k[i], syncc_ctx_error(src->ctx));
        else if (f.oom)
            rc = SYNC_E_NOMEM;
        else if (f.n_rows == had)
            json_array_append_new(absent, json_string(upserts->k[i]));
    }
    /* keys the source no longer holds: nothing to write for them */
    if (json_array_size(absent) > 0)
        json_object_set_new(out, "not_at_source", absent);
    else
        json_decref(absent);
    if (rc != SYNC_OK)
        goto out;

    /* the job's own write path: its sink, prepared with the mapping's columns, through the pipeline */
    char run_id[37];
    syncc_run_id_new(run_id);
    sync_ctx *snk_ctx = syncc_ctx_new(job->conf->name, job->conf->sink->name, job->conf->sink->plugin_name);
    sync_ctx *fx_ctx = syncc_ctx_new(job->conf->name, job->conf->source->name, job->conf->source->plugin_name);
    void *snk = NULL;
    int leased = 0;
    if (!snk_ctx || !fx_ctx) {
        syncc_ctx_free(snk_ctx);
        syncc_ctx_free(fx_ctx);
        rc = SYNC_E_NOMEM;
        goto out;
    }
    snk_ctx->cancel = fx_ctx->cancel = &e->stop;
    snk_ctx->run_id = strdup(run_id);
    snk_ctx->state = fx_ctx->state = e->state;
    syncc_ctx_set_stream(snk_ctx, sc->name);
    rc = job->sink->sink.open(snk_ctx, job->conf->sink->config, &snk);
    if (rc == SYNC_OK && job->sink->sink.lease_acquire != NULL) {
        int acquired = 0;
        rc = job->sink->sink.lease_acquire(snk, job->conf->name, &acquired);
        if (rc == SYNC_OK && !acquired) {
            snprintf(err, errlen, "the job is running on another engine (its lease is taken): nothing was fixed");
            rc = SYNC_E_CONFLICT;
        }
        leased = rc == SYNC_OK;
    }
    size_t n_cols = syncc_mapping_n_columns(srt->mapping);
    sync_column *cols = calloc(n_cols ? n_cols : 1, sizeof(*cols));
    for (size_t i = 0; cols && i < n_cols; i++) {
        cols[i].name = syncc_mapping_column(srt->mapping, i);
        cols[i].type = syncc_mapping_column_type(srt->mapping, i);
    }
    void *tstate = NULL;
    if (rc == SYNC_OK && cols) {
        sync_target target = {.struct_size = sizeof(target), .job = job->conf->name, .stream = sc->name,
                              .name = sc->target, .columns = cols, .n_columns = n_cols,
                              .options = sc->sink_options, .run_id = run_id, .full_refresh = 0};
        rc = job->sink->sink.prepare(snk, &target, &tstate);
    } else if (rc == SYNC_OK) {
        rc = SYNC_E_NOMEM;
    }
    syncc_stream_run r;
    memset(&r, 0, sizeof(r));
    syncc_plugin fake;
    if (rc == SYNC_OK) {
        fake = *job->source;
        fake.source.open = fix_no_open;
        fake.source.read = fix_read;
        fake.source.close = fix_no_close;
        fake.def.source = &fake.source;
        syncc_mapping_set_now(srt->mapping, syncc_time_now());
        r.host = syncc_host();
        r.job_name = job->conf->name;
        r.stream_name = sc->name;
        r.object = sc->object;
        r.src = &fake;
        r.src_inst = &f;
        r.src_ctx = fx_ctx;
        r.snk = job->sink;
        r.snk_inst = snk;
        r.snk_ctx = snk_ctx;
        r.target_state = tstate;
        r.sink_keeps_state = 0;
        r.state = NULL;
        r.mapping = srt->mapping;
        r.source_options = sc->source_options;
        r.batch_size = job->conf->batch_size;
        r.queue_depth = job->conf->queue_depth;
        r.write_attempts = (int)job->conf->write_attempts;
        r.stop = &e->stop;
        r.logctx = (syncc_log_ctx){.job = job->conf->name, .stream = sc->name, .run_id = run_id};
        rc = syncc_pipeline_run(&r);
        if (rc != SYNC_OK)
            snprintf(err, errlen, "%s", r.error);
        free(r.cursor_out);
    } else if (!err[0]) {
        snprintf(err, errlen, "sink '%s': %s%s%s", job->conf->sink->name, syncc_strerror(rc),
                 snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
    }
    json_object_set_new(out, "upserted", json_integer(r.inserted + r.updated));
    json_object_set_new(out, "unchanged", json_integer(r.unchanged));
    json_object_set_new(out, "deleted", json_integer(r.deleted));
    json_object_set_new(out, "failed", json_integer(r.write_failed + r.map_failed));
    json_object_set_new(out, "source_rows", json_integer((json_int_t)f.n_rows));
    if (leased)
        job->sink->sink.lease_release(snk, job->conf->name);
    if (snk)
        job->sink->sink.close(snk);
    free(cols);
    syncc_ctx_free(snk_ctx);
    syncc_ctx_free(fx_ctx);
out:
    for (size_t i = 0; i < f.n_rows; i++) {
        for (size_t c = 0; c < f.width; c++)
            free(f.rows[i].v[c]);
        free(f.rows[i].v);
    }
    free(f.rows);
    free(fields);
    free(kinds);
    if (rc != SYNC_OK && !err[0])
        snprintf(err, errlen, "%s", syncc_strerror(rc));
    syncc_log_redact(err, errlen);
    return rc;
}
