/*
 * core/history.c - a job's recent runs from its sink (history.h).
 */
#include "history.h"

#include <stdio.h>
#include <string.h>

#include "hostapi.h"
#include "status.h"
#include "timeutil.h"

typedef struct collect {
    json_t *runs;   /* oldest first, like the state directory's list */
    int64_t now;
} collect;

static void add_run(const sync_run_info *run, void *payload)
{
    collect *c = payload;
    char started[40];
    syncc_time_format(run->started_at, started, sizeof(started));
    int64_t end = run->finished_at ? run->finished_at : c->now; /* still running: so far */
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "started_at", started, "status",
                          syncc_run_status_name(run->status), "duration_ms",
                          (json_int_t)((end - run->started_at) / 1000), "processed", (json_int_t)run->processed,
                          "inserted", (json_int_t)run->inserted, "updated", (json_int_t)run->updated, "unchanged",
                          (json_int_t)run->unchanged, "deleted", (json_int_t)run->deleted, "failed",
                          (json_int_t)run->failed);
    if (o == NULL)
        return;
    if (run->run_id)
        json_object_set_new(o, "run_id", json_string(run->run_id));
    if (run->error)
        json_object_set_new(o, "error", json_string(run->error));
    json_array_insert_new(c->runs, 0, o); /* the sink answers newest first */
}

json_t *syncc_history_from_sink(syncc_engine *e, const syncc_job_rt *job, int max, char *why, size_t why_size)
{
    why[0] = '\0';
    const syncc_plugin *p = job->sink;
    const syncc_instance *in = job->conf->sink;
    /* the loader's copy of the ops table reads NULL for what a 1.0 plugin lacks */
    if (p == NULL || in == NULL || p->sink.runs == NULL)
        return NULL;
    sync_ctx *ctx = syncc_ctx_new(job->conf->name, in->name, in->plugin_name);
    if (ctx == NULL) {
        snprintf(why, why_size, "out of memory");
        return NULL;
    }
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    ctx->read_only = 1; /* status only reads: the sink must not create its tables */
    collect c = {json_array(), syncc_time_now()};
    void *inst = NULL;
    int rc = c.runs ? p->sink.open(ctx, in->config, &inst) : SYNC_E_NOMEM;
    if (rc == SYNC_OK) {
        rc = p->sink.runs(inst, job->conf->name, max, add_run, &c);
        p->sink.close(inst);
    }
    if (rc != SYNC_OK) {
        snprintf(why, why_size, "%s%s%s", syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        json_decref(c.runs);
        syncc_ctx_free(ctx);
        return NULL;
    }
    syncc_ctx_free(ctx);
    return c.runs;
}
