/*
 * core/pipeline.c - one stream of one run: source -> mapping -> sink.
 *
 * The source runs on its own thread and hands whole batches over a bounded
 * queue; this thread maps them and writes them to the sink.  Network reads and
 * database writes therefore overlap, and memory is bounded by
 * (queue_depth + 2) batches whatever the size of the stream.
 *
 * Correctness rule: a batch's cursor is saved only after the sink reported the
 * batch stored.  Sinks with SYNC_CAP_STATE store the cursor in the same
 * transaction as the rows; otherwise it goes to the local state file right
 * after the write returns.  A crash at any point leaves the saved cursor at or
 * behind the stored data, so the next run re-reads at most one batch, which
 * the sink's idempotent upsert absorbs: at-least-once delivery, exactly-once
 * effect.
 */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hostapi.h"
#include "log.h"
#include "progress.h"
#include "status.h"
#include "timeutil.h"

typedef struct queue {
    pthread_mutex_t m;
    pthread_cond_t cond;
    sync_batch **items;
    size_t cap, head, count;
    sync_batch **spare;       /* emptied batches for reuse */
    size_t n_spare, cap_spare;
    int reader_done;
    int reader_rc;
    int abort;                /* the writer gave up: the reader must stop */
} queue;

typedef struct reader_arg {
    syncc_stream_run *run;
    queue *q;
    sync_stream_request req;
    sync_emitter em;
} reader_arg;

static int stopping(const syncc_stream_run *r)
{
    return r->stop != NULL && *r->stop;
}

static sync_batch *take_spare(queue *q)
{
    sync_batch *b = NULL;
    pthread_mutex_lock(&q->m);
    if (q->n_spare > 0)
        b = q->spare[--q->n_spare];
    pthread_mutex_unlock(&q->m);
    return b ? b : syncc_batch_new();
}

static void give_spare(queue *q, sync_batch *b)
{
    syncc_batch_reset(b);
    pthread_mutex_lock(&q->m);
    int kept = q->n_spare < q->cap_spare;
    if (kept)
        q->spare[q->n_spare++] = b;
    pthread_mutex_unlock(&q->m);
    if (!kept)
        syncc_batch_free(b);
}

/* host->emit lands here, on the reader thread. */
static int deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    reader_arg *ra = em->payload;
    queue *q = ra->q;
    pthread_mutex_lock(&q->m);
    while (q->count == q->cap && !q->abort && !stopping(ra->run))
        pthread_cond_wait(&q->cond, &q->m);
    if (q->abort || stopping(ra->run)) {
        pthread_mutex_unlock(&q->m);
        /* keep the batch as the emitter's buffer; nothing of it was stored */
        syncc_batch_reset(full);
        *next = full;
        return SYNC_E_CANCELLED;
    }
    q->items[(q->head + q->count) % q->cap] = full;
    q->count++;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->m);
    *next = take_spare(q);
    if (*next == NULL)
        return SYNC_E_NOMEM;
    (*next)->stream = full->stream;
    return SYNC_OK;
}

static void *reader_main(void *p)
{
    reader_arg *ra = p;
    syncc_stream_run *r = ra->run;
    int rc = r->src->source.read(r->src_inst, &ra->req, &ra->em);
    /* Records built after the last emit are still delivered (without a new cursor). */
    if (rc == SYNC_OK && ra->em.batch != NULL && ra->em.batch->n_records > 0)
        rc = r->host->emit(&ra->em, NULL);
    pthread_mutex_lock(&ra->q->m);
    ra->q->reader_done = 1;
    ra->q->reader_rc = rc;
    pthread_cond_broadcast(&ra->q->cond);
    pthread_mutex_unlock(&ra->q->m);
    return NULL;
}

/* Pops the next batch; NULL when the reader is done and the queue empty. */
static sync_batch *pop(syncc_stream_run *r, queue *q)
{
    pthread_mutex_lock(&q->m);
    while (q->count == 0 && !q->reader_done)
        pthread_cond_wait(&q->cond, &q->m);
    sync_batch *b = NULL;
    if (q->count > 0 && !stopping(r)) {
        b = q->items[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_broadcast(&q->cond);
    }
    pthread_mutex_unlock(&q->m);
    return b;
}

/* Maps one source batch into out; records that fail mapping are rejected, not dropped. */
static void map_batch(syncc_stream_run *r, const sync_batch *in, sync_batch *out)
{
    const sync_host *h = r->host;
    char err[1024];
    for (size_t i = 0; i < in->n_records; i++) {
        const sync_record *rec = in->records[i];
        if (rec->key == NULL || rec->key[0] == '\0') {
            h->record_reject(r->snk_ctx, rec, "record has no key (source stream %s)", r->stream_name);
            r->map_failed++;
            continue;
        }
        size_t klen = strlen(rec->key);
        sync_record *o = syncc_batch_add(out, rec->key, klen, rec->op);
        if (o == NULL) {
            h->record_reject(r->snk_ctx, rec, "out of memory while mapping");
            r->map_failed++;
            continue;
        }
        o->cursor = rec->cursor ? syncc_arena_strndup(&out->arena, rec->cursor, strlen(rec->cursor)) : NULL;
        if (r->mapping == NULL) {
            for (uint32_t f = 0; f < rec->n_fields; f++)
                syncc_record_set(o, rec->fields[f].name, &rec->fields[f].value);
            continue;
        }
        if (syncc_mapping_eval(r->mapping, rec, o, err, sizeof(err)) != SYNC_OK) {
            h->record_reject(r->snk_ctx, rec, "mapping failed: %s", err);
            r->map_failed++;
            out->n_records--; /* drop the half-built output record; the reject keeps its trace */
        }
    }
}

/*
 * The engine owns the retry policy of sink calls that store data: a sink
 * classifies a failure (retryable statuses: syncc_status_is_retryable) and
 * returns; it does not loop.  Before each further attempt the writer
 * waits 0.5 s doubling up to 8 s, waking every 100 ms to notice a stop.
 * Returns 0 when the call should be tried again, -1 when not: the status is
 * permanent, the job's write_attempts are spent, or the engine is stopping.
 */
static int retry_wait(syncc_stream_run *r, int rc, int attempt, const char *what)
{
    int attempts = r->write_attempts > 0 ? r->write_attempts : 1;
    if (!syncc_status_is_retryable(rc) || attempt >= attempts || stopping(r))
        return -1;
    int64_t delay_ms = SYNCC_WRITE_RETRY_BASE_MS << (attempt - 1 < 5 ? attempt - 1 : 5);
    if (delay_ms > SYNCC_WRITE_RETRY_MAX_MS)
        delay_ms = SYNCC_WRITE_RETRY_MAX_MS;
    syncc_log(SYNC_LOG_WARN, &r->logctx, "%s failed (%s: %s); retrying in %lld ms (attempt %d of %d)", what,
              syncc_strerror(rc), r->snk_ctx->errbuf, (long long)delay_ms, attempt + 1, attempts);
    for (int64_t waited = 0; waited < delay_ms && !stopping(r); waited += 100)
        usleep(100000);
    return stopping(r) ? -1 : 0;
}

static int write_with_retry(syncc_stream_run *r, sync_batch *out, const char *cursor)
{
    sync_cursor cur = {r->job_name, r->stream_name, cursor};
    const sync_cursor *curp = (cursor != NULL && r->sink_keeps_state) ? &cur : NULL;
    int rc = SYNC_OK;
    for (int attempt = 1;; attempt++) {
        sync_write_result wr = {0};
        r->snk_ctx->errbuf[0] = '\0';
        int64_t rejected_before = r->snk_ctx->n_rejected;
        rc = r->snk->sink.write(r->snk_inst, r->target_state, out, curp, &wr);
        if (rc == SYNC_OK) {
            r->inserted += wr.inserted;
            r->updated += wr.updated;
            r->unchanged += wr.unchanged;
            r->deleted += wr.deleted;
            /* trust the engine's own count of rejects if the sink forgot to fill failed */
            int64_t rej = r->snk_ctx->n_rejected - rejected_before;
            r->write_failed += wr.failed > rej ? wr.failed : rej;
            break;
        }
        if (retry_wait(r, rc, attempt, "sink write") != 0)
            break;
    }
    if (rc != SYNC_OK) {
        snprintf(r->error, sizeof(r->error), "sink '%s' (%s) write failed: %s%s%s", r->snk_ctx->instance,
                 r->snk->def.name, syncc_strerror(rc), r->snk_ctx->errbuf[0] ? ": " : "", r->snk_ctx->errbuf);
        return rc;
    }
    if (cursor != NULL && !r->sink_keeps_state && r->state != NULL) {
        char ns[512], err[512];
        snprintf(ns, sizeof(ns), "cursor:%s", r->job_name);
        if (syncc_state_put(r->state, ns, r->stream_name, cursor, err, sizeof(err)) != 0) {
            snprintf(r->error, sizeof(r->error), "cannot save cursor: %s", err);
            return SYNC_E_IO;
        }
    }
    if (cursor != NULL) {
        free(r->cursor_out);
        r->cursor_out = strdup(cursor);
    }
    return SYNC_OK;
}

/*
 * A full read ended well: the sink may now settle what the read did not see
 * (ABI 1.2 full_read_done).  Only when every record of the stream was
 * stored: a rejected record was read but not written, and a sink that
 * treated its row as unseen would delete a record the source still has.
 */
static int full_read_done(syncc_stream_run *r)
{
    if (r->snk->sink.full_read_done == NULL)
        return SYNC_OK;
    if (r->write_failed + r->map_failed > 0) {
        syncc_log(SYNC_LOG_WARN, &r->logctx, "full refresh of %s: %lld record(s) were not stored, so rows "
                  "that the read did not see are not marked deleted", r->stream_name,
                  (long long)(r->write_failed + r->map_failed));
        return SYNC_OK;
    }
    sync_write_result wr = {0};
    int rc;
    for (int attempt = 1;; attempt++) {
        memset(&wr, 0, sizeof(wr));
        r->snk_ctx->errbuf[0] = '\0';
        rc = r->snk->sink.full_read_done(r->snk_inst, r->target_state, &wr);
        if (rc == SYNC_OK || retry_wait(r, rc, attempt, "completing the full refresh") != 0)
            break;
    }
    if (rc != SYNC_OK) {
        snprintf(r->error, sizeof(r->error), "sink '%s' (%s) failed to complete the full refresh: %s%s%s",
                 r->snk_ctx->instance, r->snk->def.name, syncc_strerror(rc), r->snk_ctx->errbuf[0] ? ": " : "",
                 r->snk_ctx->errbuf);
        return rc;
    }
    /* rows the sink settled count like the records of a batch: processed, and by outcome */
    r->read += wr.inserted + wr.updated + wr.unchanged + wr.deleted + wr.failed;
    r->inserted += wr.inserted;
    r->updated += wr.updated;
    r->unchanged += wr.unchanged;
    r->deleted += wr.deleted;
    r->write_failed += wr.failed;
    return SYNC_OK;
}

int syncc_pipeline_run(syncc_stream_run *r)
{
    queue q;
    memset(&q, 0, sizeof(q));
    pthread_mutex_init(&q.m, NULL);
    pthread_cond_init(&q.cond, NULL);
    q.cap = r->queue_depth > 0 ? (size_t)r->queue_depth : 2;
    q.items = calloc(q.cap, sizeof(*q.items));
    q.cap_spare = q.cap + 1;
    q.spare = calloc(q.cap_spare, sizeof(*q.spare));
    sync_batch *out = syncc_batch_new();
    reader_arg ra;
    memset(&ra, 0, sizeof(ra));
    ra.run = r;
    ra.q = &q;
    ra.req.struct_size = sizeof(ra.req);
    ra.req.stream = r->object;
    ra.req.fields = r->fields;
    ra.req.n_fields = r->n_fields;
    ra.req.cursor = r->full_refresh ? NULL : r->cursor_in;
    ra.req.full_refresh = r->full_refresh;
    ra.req.options = r->source_options;
    ra.req.batch_size = r->batch_size > 0 ? (size_t)r->batch_size : 2000;
    ra.em.batch = syncc_batch_new();
    ra.em.stream = r->stream_name;
    ra.em.deliver = deliver;
    ra.em.payload = &ra;
    r->started = syncc_time_now();
    if (q.items == NULL || q.spare == NULL || out == NULL || ra.em.batch == NULL) {
        snprintf(r->error, sizeof(r->error), "out of memory");
        r->rc = SYNC_E_NOMEM;
        goto done_nothread;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, reader_main, &ra) != 0) {
        snprintf(r->error, sizeof(r->error), "cannot start reader thread: %s", strerror(errno));
        r->rc = SYNC_ERROR;
        goto done_nothread;
    }

    int wrc = SYNC_OK;
    sync_batch *b;
    /* this stream's part of the terminal's progress line */
    syncc_progress *bar = r->show_progress ? syncc_progress_begin(r->job_name, r->stream_name) : NULL;
    while ((b = pop(r, &q)) != NULL) {
        r->batches++;
        r->read += (int64_t)b->n_records;
        syncc_batch_reset(out);
        map_batch(r, b, out);
        /* An empty batch with a cursor still moves the cursor (e.g. all records rejected). */
        if (out->n_records > 0 || b->cursor != NULL)
            wrc = write_with_retry(r, out, b->cursor);
        give_spare(&q, b);
        syncc_progress_update(bar, r->read, r->batches);
        if (wrc != SYNC_OK)
            break;
    }
    if (wrc != SYNC_OK || stopping(r)) {
        pthread_mutex_lock(&q.m);
        q.abort = 1;
        pthread_cond_broadcast(&q.cond);
        pthread_mutex_unlock(&q.m);
    }
    pthread_join(th, NULL);
    /* drop whatever the writer did not take */
    while (q.count > 0) {
        syncc_batch_free(q.items[q.head]);
        q.head = (q.head + 1) % q.cap;
        q.count--;
    }
    syncc_progress_end(bar);
    if (wrc != SYNC_OK) {
        r->rc = wrc;
    } else if (q.reader_rc != SYNC_OK) {
        r->rc = q.reader_rc;
        if (q.reader_rc == SYNC_E_CANCELLED && stopping(r)) {
            snprintf(r->error, sizeof(r->error), "stopped by signal");
        } else {
            const char *detail = r->src_ctx->errbuf;
            snprintf(r->error, sizeof(r->error), "source '%s' (%s) failed reading %s: %s%s%s",
                     r->src_ctx->instance, r->src->def.name, r->object, syncc_strerror(q.reader_rc),
                     detail[0] ? ": " : "", detail);
        }
    } else if (stopping(r)) {
        r->rc = SYNC_E_CANCELLED;
        snprintf(r->error, sizeof(r->error), "stopped by signal");
    } else if (r->full_refresh) {
        r->rc = full_read_done(r);
    }

done_nothread:
    syncc_batch_free(ra.em.batch);
    syncc_batch_free(out);
    for (size_t i = 0; i < q.n_spare; i++)
        syncc_batch_free(q.spare[i]);
    free(q.spare);
    free(q.items);
    pthread_mutex_destroy(&q.m);
    pthread_cond_destroy(&q.cond);
    return r->rc;
}
