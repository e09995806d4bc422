/*
 * core/runner.c - one run of one job: open the sink and the source, take the
 * job's lease, run every stream through the pipeline, record the outcome.
 *
 * The outcome is reported three ways: the sink's run log (finish()), a log
 * line, and a short history in the local state store for `syncengine status`.
 * A run that fails still closes everything it opened, and its status says
 * why: failed, partial (records rejected), or rate_limited (stopped at the API
 * allowance; the saved cursors make the next run resume where it stopped).
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine.h"
#include "hostapi.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"
#include "pipeline.h"
#include "status.h"
#include "timeutil.h"

void syncc_run_id_new(char out[37])
{
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof(b)) {
        int64_t t = syncc_time_now();
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)((t >> (i % 8 * 8)) ^ (getpid() >> (i % 4)) ^ (int)i * 37);
    }
    b[6] = (b[6] & 0x0f) | 0x40; /* version 4 */
    b[8] = (b[8] & 0x3f) | 0x80; /* RFC 4122 variant */
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
             b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static sync_ctx *new_ctx(syncc_engine *e, const syncc_job_rt *rt, const syncc_instance *in, const char *run_id)
{
    sync_ctx *ctx = syncc_ctx_new(rt->conf->name, in->name, in->plugin_name);
    if (ctx == NULL)
        return NULL;
    ctx->tenant = rt->tenant;
    ctx->run_id = strdup(run_id);
    ctx->cancel = &e->stop;
    /* a tenant's plugins keep their state (describes, API usage) in a small file of its own */
    ctx->state = rt->plugin_state ? rt->plugin_state : e->state;
    return ctx;
}

/* Loads the saved cursor of a stream: from the sink if it keeps state, else from the state file. */
static char *load_cursor(syncc_engine *e, syncc_job_rt *rt, void *snk_inst, int sink_state, const char *stream,
                         int *rc)
{
    char *cursor = NULL;
    *rc = SYNC_OK;
    if (sink_state) {
        char *c = NULL;
        int r = rt->sink->sink.state_load(snk_inst, rt->conf->name, stream, &c);
        if (r == SYNC_OK && c != NULL) {
            cursor = strdup(c);
            syncc_host()->free(c);
        } else if (r != SYNC_OK && r != SYNC_E_NOTFOUND) {
            *rc = r;
        }
        return cursor;
    }
    if (e->state != NULL) {
        char ns[512];
        snprintf(ns, sizeof(ns), "cursor:%s", rt->conf->name);
        if (syncc_state_get(e->state, ns, stream, &cursor) != 0)
            *rc = SYNC_E_IO;
    }
    return cursor;
}

static json_t *counters_json(sync_ctx *a, sync_ctx *b)
{
    json_t *o = json_object();
    sync_ctx *ctxs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (ctxs[k] == NULL)
            continue;
        pthread_mutex_lock(&ctxs[k]->lock);
        for (size_t i = 0; i < ctxs[k]->n_counters; i++)
            json_object_set_new(o, ctxs[k]->counters[i].name, json_integer(ctxs[k]->counters[i].value));
        pthread_mutex_unlock(&ctxs[k]->lock);
    }
    return o;
}

static json_t *rejects_json(sync_ctx *ctx)
{
    json_t *a = json_array();
    if (ctx == NULL)
        return a;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->n_rejects; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "key", json_string(ctx->rejects[i].key));
        if (ctx->rejects[i].stream)
            json_object_set_new(r, "stream", json_string(ctx->rejects[i].stream));
        json_t *m = json_string(ctx->rejects[i].message);
        json_object_set_new(r, "error", m ? m : json_string("(message not valid UTF-8)"));
        json_array_append_new(a, r);
    }
    pthread_mutex_unlock(&ctx->lock);
    return a;
}

static void record_history(syncc_engine *e, const syncc_job *job, const char *run_id, int64_t started,
                           const syncc_run_result *res);

void syncc_job_record(syncc_engine *e, const char *job, const syncc_run_result *res)
{
    char run_id[37];
    syncc_run_id_new(run_id);
    syncc_job j;
    memset(&j, 0, sizeof(j));
    j.name = (char *)job;
    record_history(e, &j, run_id, syncc_time_now(), res);
}

static void record_history(syncc_engine *e, const syncc_job *job, const char *run_id, int64_t started,
                           const syncc_run_result *res)
{
    if (e->state == NULL)
        return;
    char ts[40];
    syncc_time_format(started, ts, sizeof(ts));
    json_t *o = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}", "run_id", run_id, "started_at", ts,
                          "status", syncc_run_status_name(res->status), "duration_ms", (json_int_t)res->duration_ms,
                          "processed", (json_int_t)res->processed, "inserted", (json_int_t)res->inserted,
                          "updated", (json_int_t)res->updated, "unchanged", (json_int_t)res->unchanged,
                          "deleted", (json_int_t)res->deleted, "failed", (json_int_t)res->failed, "skipped",
                          res->skipped);
    if (o == NULL)
        return;
    if (res->error[0])
        json_object_set_new(o, "error", json_string(res->error));
    char *text = json_dumps(o, JSON_COMPACT);
    if (text)
        syncc_state_add_run(e->state, job->name, text, 20);
    free(text);
    json_decref(o);
}

/* The run's outcome and its plugins' counters, for GET /metrics (core/metrics.c). */
static void report_metrics(const char *job, const syncc_run_result *res, sync_ctx *a, sync_ctx *b)
{
    const char *names[64];
    int64_t values[64];
    size_t n = 0;
    sync_ctx *ctxs[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        if (ctxs[k] == NULL)
            continue;
        pthread_mutex_lock(&ctxs[k]->lock);
        for (size_t i = 0; i < ctxs[k]->n_counters && n < 64; i++, n++) {
            names[n] = ctxs[k]->counters[i].name;
            values[n] = ctxs[k]->counters[i].value;
        }
        pthread_mutex_unlock(&ctxs[k]->lock);
    }
    /* the names stay valid: the contexts are freed after this call */
    syncc_metrics_run_end(job, res->skipped ? "skipped" : syncc_run_status_name(res->status), syncc_time_now(),
                          res->duration_ms, res->failed, names, values, n);
}

/* Fills the target columns from the mapping (empty when records pass through). */
static sync_column *target_columns(const syncc_mapping *m, size_t *n)
{
    *n = m ? syncc_mapping_n_columns(m) : 0;
    sync_column *cols = calloc(*n ? *n : 1, sizeof(*cols));
    for (size_t i = 0; cols && i < *n; i++) {
        cols[i].name = syncc_mapping_column(m, i);
        cols[i].type = syncc_mapping_column_type(m, i);
    }
    return cols;
}

/* What the stream workers of one run share; lock guards everything they write. */
typedef struct run_shared {
    pthread_mutex_t lock;
    syncc_engine *e;
    syncc_job_rt *rt;
    const char *run_id;
    int64_t started;
    int full_refresh;
    int sink_state;          /* the sink keeps cursors (state_load) */
    int show_progress;
    size_t next_stream;      /* the next stream a worker takes */
    int halt;                /* an error every stream would hit: take no more streams */
    int any_error;
    int rc;
    json_t *streams_json;
    syncc_run_result *res;
} run_shared;

/*
 * One stream worker: takes streams one at a time until none is left.  The
 * first works on the run's own instances; with parallel_streams, each other
 * one opens a source and a sink instance of its own (instances are never
 * shared between threads) and closes them when done.
 */
typedef struct stream_worker {
    run_shared *sh;
    int own;                 /* opened its own instances and contexts */
    int started;
    pthread_t thread;
    sync_ctx *src_ctx, *snk_ctx;
    void *src_inst, *snk_inst;
} stream_worker;

/*
 * An extra worker whose instances would not open (say the database allows no
 * more connections) leaves its streams to the others: the run's own instances
 * opened with the same sections, so the run can still do all of its work.
 */
static void worker_failed(run_shared *sh, int rc, const char *kind, const char *name, sync_ctx *ctx)
{
    syncc_log_ctx lc = {.job = sh->rt->conf->name, .run_id = sh->run_id};
    syncc_log(SYNC_LOG_WARN, &lc, "%s '%s' failed to open for a parallel stream (%s%s%s); its streams run on the "
              "other workers", kind, name, syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
}

static void run_stream(stream_worker *w, size_t s)
{
    run_shared *sh = w->sh;
    syncc_engine *e = sh->e;
    syncc_job_rt *rt = sh->rt;
    syncc_job *job = rt->conf;
    syncc_run_result *res = sh->res;
    sync_ctx *snk_ctx = w->snk_ctx, *src_ctx = w->src_ctx;
    syncc_stream_rt *srt = &rt->streams[s];
    syncc_stream *st = srt->conf;
    syncc_ctx_set_stream(snk_ctx, st->name);
    syncc_ctx_set_stream(src_ctx, st->name);
    syncc_log_ctx slc = {.job = job->name, .stream = st->name, .run_id = sh->run_id};
    if (srt->mapping)
        syncc_mapping_set_now(srt->mapping, sh->started);
    size_t n_cols = 0;
    sync_column *cols = target_columns(srt->mapping, &n_cols);
    sync_target target = {.struct_size = sizeof(target), .job = job->name, .stream = st->name,
                          .name = st->target, .columns = cols, .n_columns = n_cols,
                          .options = st->sink_options, .run_id = sh->run_id,
                          .full_refresh = sh->full_refresh};
    void *tstate = NULL;
    snk_ctx->errbuf[0] = '\0';
    int prc = rt->sink->sink.prepare(w->snk_inst, &target, &tstate);
    json_t *sj = json_object();
    pthread_mutex_lock(&sh->lock);
    json_object_set_new(sh->streams_json, st->name, sj);
    pthread_mutex_unlock(&sh->lock);
    if (prc != SYNC_OK) {
        char msg[sizeof(res->error)];
        snprintf(msg, sizeof(msg), "stream '%s': target '%s' rejected the mapping: %s%s%s", st->name,
                 st->target, syncc_strerror(prc), snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
        syncc_log(SYNC_LOG_ERROR, &slc, "%s", msg);
        pthread_mutex_lock(&sh->lock);
        snprintf(res->error, sizeof(res->error), "%s", msg);
        json_object_set_new(sj, "error", json_string(msg));
        sh->any_error = 1;
        sh->rc = prc;
        pthread_mutex_unlock(&sh->lock);
        free(cols);
        return;
    }
    int crc;
    char *cursor = load_cursor(e, rt, w->snk_inst, sh->sink_state, st->name, &crc);
    if (crc != SYNC_OK) {
        pthread_mutex_lock(&sh->lock);
        snprintf(res->error, sizeof(res->error), "stream '%s': cannot read the saved cursor: %s%s%s", st->name,
                 syncc_strerror(crc), snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
        sh->any_error = 1;
        sh->rc = crc;
        sh->halt = 1;
        pthread_mutex_unlock(&sh->lock);
        free(cols);
        return;
    }
    syncc_log(SYNC_LOG_INFO, &slc, "reading %s from %s", st->object,
              cursor && !sh->full_refresh ? cursor : "the beginning");

    size_t n_fields = srt->mapping ? syncc_mapping_n_fields(srt->mapping) : 0;
    const char **fields = NULL;
    if (srt->mapping) {
        fields = calloc(n_fields + 1, sizeof(*fields));
        for (size_t i = 0; fields && i < n_fields; i++)
            fields[i] = syncc_mapping_field(srt->mapping, i);
    }
    syncc_stream_run r;
    memset(&r, 0, sizeof(r));
    r.host = syncc_host();
    r.job_name = job->name;
    r.stream_name = st->name;
    r.object = st->object;
    r.src = rt->source;
    r.src_inst = w->src_inst;
    r.src_ctx = src_ctx;
    r.snk = rt->sink;
    r.snk_inst = w->snk_inst;
    r.snk_ctx = snk_ctx;
    r.target_state = tstate;
    r.sink_keeps_state = sh->sink_state;
    r.state = e->state;
    r.mapping = srt->mapping;
    r.fields = fields;
    r.n_fields = n_fields;
    r.source_options = st->source_options;
    r.cursor_in = cursor;
    r.full_refresh = sh->full_refresh;
    r.batch_size = job->batch_size;
    r.queue_depth = job->queue_depth;
    r.write_attempts = (int)job->write_attempts;
    r.stop = &e->stop;
    r.show_progress = sh->show_progress;
    r.logctx = slc;
    int prc2 = syncc_pipeline_run(&r);
    json_object_set_new(sj, "object", json_string(st->object));
    json_object_set_new(sj, "processed", json_integer(r.read));
    json_object_set_new(sj, "inserted", json_integer(r.inserted));
    json_object_set_new(sj, "updated", json_integer(r.updated));
    json_object_set_new(sj, "unchanged", json_integer(r.unchanged));
    json_object_set_new(sj, "deleted", json_integer(r.deleted));
    json_object_set_new(sj, "failed", json_integer(r.write_failed + r.map_failed));
    json_object_set_new(sj, "batches", json_integer(r.batches));
    if (cursor)
        json_object_set_new(sj, "cursor_before", json_string(cursor));
    if (r.cursor_out)
        json_object_set_new(sj, "cursor_after", json_string(r.cursor_out));
    if (prc2 != SYNC_OK)
        json_object_set_new(sj, "error", json_string(r.error));
    syncc_log_ctx elc = slc;
    if (prc2 != SYNC_OK)
        elc.error_code = syncc_status_code_name(prc2);
    syncc_log(prc2 == SYNC_OK ? SYNC_LOG_INFO : SYNC_LOG_ERROR, &elc,
              "%s: %lld read, %lld inserted, %lld updated, %lld unchanged, %lld deleted, %lld failed%s%s",
              prc2 == SYNC_OK ? "done" : "stopped", (long long)r.read, (long long)r.inserted,
              (long long)r.updated, (long long)r.unchanged, (long long)r.deleted,
              (long long)(r.write_failed + r.map_failed), prc2 == SYNC_OK ? "" : ": ", prc2 == SYNC_OK ? "" : r.error);
    syncc_metrics_stream_end(job->name, st->name, r.read, r.inserted, r.updated, r.unchanged, r.deleted,
                             r.write_failed + r.map_failed, r.cursor_out ? r.cursor_out : cursor, syncc_time_now());
    pthread_mutex_lock(&sh->lock);
    res->processed += r.read;
    res->inserted += r.inserted;
    res->updated += r.updated;
    res->unchanged += r.unchanged;
    res->deleted += r.deleted;
    res->failed += r.write_failed + r.map_failed;
    if (prc2 != SYNC_OK) {
        if (!res->error[0] || prc2 == SYNC_E_RATELIMIT)
            snprintf(res->error, sizeof(res->error), "stream '%s': %s", st->name, r.error);
        sh->rc = prc2;
        sh->any_error = 1;
    }
    /* stop the run on errors that would fail every stream alike */
    if (prc2 == SYNC_E_RATELIMIT || prc2 == SYNC_E_AUTH || prc2 == SYNC_E_CANCELLED ||
        prc2 == SYNC_E_UNAVAILABLE || prc2 == SYNC_E_IO || prc2 == SYNC_E_NETWORK || prc2 == SYNC_E_TIMEOUT)
        sh->halt = 1;
    pthread_mutex_unlock(&sh->lock);
    free(r.cursor_out);
    free(fields);
    free(cursor);
    free(cols);
}

static void worker_loop(stream_worker *w)
{
    run_shared *sh = w->sh;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        size_t s = sh->next_stream;
        int go = !sh->halt && !sh->e->stop && s < sh->rt->n_streams;
        if (go)
            sh->next_stream++;
        pthread_mutex_unlock(&sh->lock);
        if (!go)
            return;
        run_stream(w, s);
    }
}

static void *worker_main(void *p)
{
    stream_worker *w = p;
    run_shared *sh = w->sh;
    syncc_job_rt *rt = sh->rt;
    syncc_job *job = rt->conf;
    w->snk_ctx = new_ctx(sh->e, rt, job->sink, sh->run_id);
    w->src_ctx = new_ctx(sh->e, rt, job->source, sh->run_id);
    if (w->snk_ctx == NULL || w->src_ctx == NULL)
        return NULL;
    int rc = rt->sink->sink.open(w->snk_ctx, job->sink->config, &w->snk_inst);
    if (rc != SYNC_OK) {
        w->snk_inst = NULL;
        worker_failed(sh, rc, "sink", job->sink->name, w->snk_ctx);
        return NULL;
    }
    rc = rt->source->source.open(w->src_ctx, job->source->config, &w->src_inst);
    if (rc != SYNC_OK) {
        w->src_inst = NULL;
        worker_failed(sh, rc, "source", job->source->name, w->src_ctx);
    } else {
        worker_loop(w);
        rt->source->source.close(w->src_inst);
    }
    rt->sink->sink.close(w->snk_inst);
    return NULL;
}

int syncc_job_run(syncc_engine *e, syncc_job_rt *rt, syncc_run_result *res)
{
    memset(res, 0, sizeof(*res));
    syncc_job *job = rt->conf;
    char run_id[37];
    int manual_full = 0;
    pthread_mutex_lock(&e->lock);
    if (rt->next_run_id[0]) {
        /* a manual run (syncc_scheduler_trigger) told its caller this id already */
        snprintf(run_id, sizeof(run_id), "%s", rt->next_run_id);
        manual_full = rt->next_full_refresh;
        rt->next_run_id[0] = '\0';
        rt->next_full_refresh = 0;
    } else {
        syncc_run_id_new(run_id);
    }
    snprintf(rt->run_id, sizeof(rt->run_id), "%s", run_id);
    rt->phase = SYNCC_PHASE_STARTING;
    rt->skip_reason[0] = '\0';
    pthread_mutex_unlock(&e->lock);
    int64_t started = syncc_time_now();
    syncc_log_ctx lc = {.job = job->name, .run_id = run_id};
    sync_ctx *snk_ctx = new_ctx(e, rt, job->sink, run_id);
    sync_ctx *src_ctx = new_ctx(e, rt, job->source, run_id);
    void *snk_inst = NULL, *src_inst = NULL;
    int leased = 0, begun = 0;
    int rc = SYNC_OK;
    json_t *streams_json = json_object();
    res->status = SYNC_RUN_FAILED;
    if (snk_ctx == NULL || src_ctx == NULL || streams_json == NULL) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        goto out;
    }
    int full_refresh = e->full_refresh || job->full_refresh || manual_full;
    syncc_log(SYNC_LOG_INFO, &lc, "run started (%s)", full_refresh ? "full refresh" : "incremental");
    /* a damaged state file fails the run before anything is touched (see state.h) */
    unsigned long state_failures = 0;
    if (e->state != NULL) {
        char why[600];
        if (syncc_state_check(e->state, why, sizeof(why)) != 0) {
            snprintf(res->error, sizeof(res->error), "%s", why);
            goto out;
        }
        state_failures = syncc_state_failures(e->state);
    }

    rc = rt->sink->sink.open(snk_ctx, job->sink->config, &snk_inst);
    if (rc != SYNC_OK) {
        snprintf(res->error, sizeof(res->error), "sink '%s' (%s) failed to open: %s%s%s", job->sink->name,
                 rt->sink->def.name, syncc_strerror(rc), snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
        snk_inst = NULL;
        goto out;
    }
    if (rt->sink->sink.lease_acquire != NULL) {
        int acquired = 0;
        snk_ctx->errbuf[0] = '\0'; /* a sink may say who holds the lease (POST .../run answers with it) */
        rc = rt->sink->sink.lease_acquire(snk_inst, job->name, &acquired);
        if (rc != SYNC_OK) {
            snprintf(res->error, sizeof(res->error), "cannot take the job's lease: %s%s%s", syncc_strerror(rc),
                     snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
            goto out;
        }
        if (!acquired) {
            res->skipped = 1;
            res->status = SYNC_RUN_SUCCESS;
            syncc_log(SYNC_LOG_INFO, &lc, "job is running on another engine; skipped");
            pthread_mutex_lock(&e->lock);
            snprintf(rt->skip_reason, sizeof(rt->skip_reason), "%s", snk_ctx->errbuf);
            pthread_mutex_unlock(&e->lock);
            goto out;
        }
        leased = 1;
    }
    /* the source's instance opens before the run is recorded: its options were judged offline already */
    rc = rt->source->source.open(src_ctx, job->source->config, &src_inst);
    if (rc != SYNC_OK) {
        snprintf(res->error, sizeof(res->error), "source '%s' (%s) failed to open: %s%s%s", job->source->name,
                 rt->source->def.name, syncc_strerror(rc), src_ctx->errbuf[0] ? ": " : "", src_ctx->errbuf);
        src_inst = NULL;
        goto out;
    }
    /* the checks of `check --connect`, on the run's own instances, before its run-log row: a
     * configuration the servers cannot serve is refused without a trace in the sink; a server that
     * could not be asked fails the run as the run itself would have (below, once the row exists) */
    char probe_err[1024] = "";
    int probe_rc = SYNC_OK;
    {
        syncc_problems probs = {0};
        probe_rc = syncc_check_connect_with(e, rt, src_inst, src_ctx, snk_inst, snk_ctx, &probs, probe_err,
                                            sizeof(probe_err));
        if (probs.n > 0) {
            for (size_t i = 0; i < probs.n; i++)
                syncc_log(SYNC_LOG_ERROR, &lc, "%s", probs.lines[i]);
            snprintf(res->error, sizeof(res->error), "the configuration does not fit the servers: %s%s",
                     probs.lines[0], probs.n > 1 ? " (and more, logged)" : "");
            res->refused = 1;
            syncc_problems_free(&probs);
            goto out;
        }
        syncc_problems_free(&probs);
    }
    sync_run_info info;
    memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    info.job = job->name;
    info.run_id = run_id;
    info.started_at = started;
    info.full_refresh = full_refresh;
    info.options = job->sink_options;
    info.status = SYNC_RUN_RUNNING;
    if (rt->sink->sink.begin != NULL) {
        rc = rt->sink->sink.begin(snk_inst, &info);
        if (rc != SYNC_OK) {
            snprintf(res->error, sizeof(res->error), "sink '%s' could not start the run: %s%s%s", job->sink->name,
                     syncc_strerror(rc), snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
            goto out;
        }
    }
    begun = 1;
    pthread_mutex_lock(&e->lock);
    rt->phase = SYNCC_PHASE_RUNNING;
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    if (probe_rc != SYNC_OK) {
        res->code = probe_rc;
        snprintf(res->error, sizeof(res->error), "%s", probe_err);
        res->status = probe_rc == SYNC_E_RATELIMIT ? SYNC_RUN_RATE_LIMITED : SYNC_RUN_FAILED;
        goto finish;
    }

    run_shared sh;
    memset(&sh, 0, sizeof(sh));
    pthread_mutex_init(&sh.lock, NULL);
    sh.e = e;
    sh.rt = rt;
    sh.run_id = run_id;
    sh.started = started;
    sh.full_refresh = full_refresh;
    sh.sink_state = (rt->sink->def.caps & SYNC_CAP_STATE) && rt->sink->sink.state_load != NULL;
    sh.streams_json = streams_json;
    sh.res = res;
    sh.rc = SYNC_OK;
    size_t n_workers = job->parallel_streams > 1 ? (size_t)job->parallel_streams : 1;
    if (n_workers > rt->n_streams)
        n_workers = rt->n_streams ? rt->n_streams : 1;
    /* every worker's streams share the one progress line (core/progress.c) */
    sh.show_progress = syncc_progress_enabled();
    stream_worker *workers = calloc(n_workers, sizeof(*workers));
    if (workers == NULL) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        pthread_mutex_destroy(&sh.lock);
        goto finish;
    }
    /* the first worker is this thread, with the run's instances; the others open their own */
    workers[0] = (stream_worker){.sh = &sh, .src_ctx = src_ctx, .snk_ctx = snk_ctx, .src_inst = src_inst,
                                 .snk_inst = snk_inst};
    for (size_t w = 1; w < n_workers; w++) {
        workers[w].sh = &sh;
        workers[w].own = 1;
        if (pthread_create(&workers[w].thread, NULL, worker_main, &workers[w]) == 0)
            workers[w].started = 1;
    }
    worker_loop(&workers[0]);
    for (size_t w = 1; w < n_workers; w++) {
        if (!workers[w].started)
            continue;
        pthread_join(workers[w].thread, NULL);
        if (workers[w].src_ctx)
            syncc_ctx_absorb(src_ctx, workers[w].src_ctx);
        if (workers[w].snk_ctx)
            syncc_ctx_absorb(snk_ctx, workers[w].snk_ctx);
        syncc_ctx_free(workers[w].src_ctx);
        syncc_ctx_free(workers[w].snk_ctx);
    }
    free(workers);
    pthread_mutex_destroy(&sh.lock);
    int any_error = sh.any_error;
    rc = sh.rc;
    if (!any_error && e->stop) {
        any_error = 1;
        rc = SYNC_E_CANCELLED;
        snprintf(res->error, sizeof(res->error), "stopped by signal");
    }
    /* a plugin whose state could not be kept (a rotated token) was told so; the run cannot be a success */
    if (!any_error && e->state != NULL && syncc_state_failures(e->state) != state_failures) {
        any_error = 1;
        rc = SYNC_E_IO;
        char why[600];
        if (syncc_state_check(e->state, why, sizeof(why)) == 0)
            snprintf(why, sizeof(why), "the local state file %s could not be read or written during the run",
                     syncc_state_path(e->state));
        snprintf(res->error, sizeof(res->error), "%s", why);
    }
    if (any_error)
        res->status = rc == SYNC_E_RATELIMIT ? SYNC_RUN_RATE_LIMITED : SYNC_RUN_FAILED;
    else
        res->status = res->failed > 0 ? SYNC_RUN_PARTIAL : SYNC_RUN_SUCCESS;
    if (res->status == SYNC_RUN_PARTIAL && !res->error[0])
        snprintf(res->error, sizeof(res->error), "%lld record(s) rejected (see the run's details)",
                 (long long)res->failed);

finish:
    if (begun) {
        json_t *details = json_object();
        json_object_set_new(details, "run_id", json_string(run_id));
        json_object_set_new(details, "streams", json_incref(streams_json));
        json_object_set_new(details, "counters", counters_json(src_ctx, snk_ctx));
        json_object_set_new(details, "rejected", rejects_json(snk_ctx));
        json_object_set_new(details, "rejected_total", json_integer(snk_ctx->n_rejected));
        char *details_text = json_dumps(details, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(details);
        info.status = res->status;
        info.finished_at = syncc_time_now();
        info.processed = res->processed;
        info.inserted = res->inserted;
        info.updated = res->updated;
        info.unchanged = res->unchanged;
        info.deleted = res->deleted;
        info.failed = res->failed;
        info.error = res->error[0] ? res->error : NULL;
        info.details_json = details_text;
        snk_ctx->errbuf[0] = '\0';
        syncc_ctx_set_stream(snk_ctx, NULL);
        int frc = rt->sink->sink.finish(snk_inst, &info);
        if (frc != SYNC_OK) {
            syncc_log(SYNC_LOG_ERROR, &lc, "sink could not record the end of the run: %s%s%s", syncc_strerror(frc),
                      snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
            if (res->status == SYNC_RUN_SUCCESS || res->status == SYNC_RUN_PARTIAL) {
                res->status = SYNC_RUN_FAILED;
                snprintf(res->error, sizeof(res->error), "finishing the run failed: %s", syncc_strerror(frc));
            }
        }
        free(details_text);
    }
out:
    if (res->code == 0 && res->status != SYNC_RUN_SUCCESS && res->status != SYNC_RUN_PARTIAL && rc != SYNC_OK)
        res->code = rc;
    if (src_inst != NULL)
        rt->source->source.close(src_inst);
    if (leased)
        rt->sink->sink.lease_release(snk_inst, job->name);
    if (snk_inst != NULL)
        rt->sink->sink.close(snk_inst);
    res->duration_ms = (syncc_time_now() - started) / 1000;
    if (!res->skipped) {
        if (res->status != SYNC_RUN_SUCCESS)
            lc.error_code = res->status == SYNC_RUN_PARTIAL ? syncc_status_code_name(SYNC_E_DATA)
                            : syncc_status_code_name(rc != SYNC_OK ? rc : SYNC_ERROR);
        syncc_log(res->status == SYNC_RUN_SUCCESS ? SYNC_LOG_INFO : SYNC_LOG_ERROR, &lc,
                  "run %s in %lld ms: %lld processed, %lld inserted, %lld updated, %lld unchanged, %lld deleted, "
                  "%lld failed%s%s",
                  syncc_run_status_name(res->status), (long long)res->duration_ms, (long long)res->processed,
                  (long long)res->inserted, (long long)res->updated, (long long)res->unchanged,
                  (long long)res->deleted, (long long)res->failed, res->error[0] ? "; " : "", res->error);
        /* a tenant's runs are in its sink's run log (status reads them there): the local file, which is
         * rewritten whole on every change, is not made to hold a thousand tenants' histories */
        if (rt->tenant == NULL || rt->sink->sink.runs == NULL)
            record_history(e, job, run_id, started, res);
    }
    report_metrics(job->name, res, src_ctx, snk_ctx);
    pthread_mutex_lock(&e->lock);
    rt->phase = res->skipped ? SYNCC_PHASE_SKIPPED : SYNCC_PHASE_DONE;
    rt->run_id[0] = '\0';
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    json_decref(streams_json);
    syncc_ctx_free(src_ctx);
    syncc_ctx_free(snk_ctx);
    return res->skipped ? SYNCC_EXIT_OK : res->refused ? SYNCC_EXIT_CONFIG : syncc_exit_for_status(res->status);
}
