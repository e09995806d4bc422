/*
 * core/http/api.c - the JSON answers of the HTTP API, and its actions.
 *
 * GET /api/v1/status is `syncengine status --json` (the same members, the
 * same version number) plus what only the daemon knows: whether a run is
 * going on and its id, whether the job is paused, the next run as the
 * scheduler plans it, each stream's lag, and the source's API usage.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "history.h"
#include "hostapi.h"
#include "http_priv.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "status_cmd.h"
#include "timeutil.h"

/* How long POST .../run waits for the run to take the job's lease before answering. */
#define TRIGGER_WAIT_MS 20000

int64_t http_started_at;

/* What the daemon knows of a job right now, copied under the engine lock. */
typedef struct job_now {
    int running, paused, enabled;
    int64_t next_due;
    char run_id[40];
} job_now;

static job_now job_state(syncc_engine *e, syncc_job_rt *job)
{
    job_now n;
    pthread_mutex_lock(&e->lock);
    n.running = job->running;
    n.paused = job->paused;
    n.enabled = job->conf->enabled;
    n.next_due = job->next_due;
    snprintf(n.run_id, sizeof(n.run_id), "%s", job->run_id);
    pthread_mutex_unlock(&e->lock);
    return n;
}

static const char *state_name(const job_now *n)
{
    if (n->running)
        return "running";
    if (!n->enabled)
        return "disabled";
    if (n->paused)
        return "paused";
    return "scheduled";
}

json_t *http_api_status_json(syncc_engine *e)
{
    int code = SYNCC_EXIT_OK;
    char ts[40];
    syncc_time_format(http_started_at, ts, sizeof(ts));
    json_t *out = json_pack("{s:i,s:{s:s,s:I,s:s,s:s},s:[]}", "version", SYNCC_STATUS_JSON_VERSION, "engine",
                            "version", SYNCENGINE_VERSION, "pid", (json_int_t)getpid(), "http_started_at", ts,
                            "config", e->conf->path, "jobs");
    if (out == NULL)
        return NULL;
    json_t *list = json_object_get(out, "jobs");
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *job = &e->jobs[j];
        json_t *o = syncc_status_job_json(e, job, 1, &code);
        if (o == NULL)
            continue;
        job_now n = job_state(e, job);
        json_object_set_new(o, "state", json_string(state_name(&n)));
        json_object_set_new(o, "paused", json_boolean(n.paused));
        json_object_set_new(o, "running", json_boolean(n.running));
        json_object_set_new(o, "run_id", n.run_id[0] ? json_string(n.run_id) : json_null());
        if (n.enabled && !n.paused && n.next_due > 0) {
            syncc_time_format(n.next_due, ts, sizeof(ts));
            json_object_set_new(o, "next_run", json_string(ts));
        } else {
            json_object_set_new(o, "next_run", json_null());
        }
        json_t *last = json_object_get(o, "last_run");
        json_t *err = json_object_get(last, "error");
        json_object_set(o, "last_error", err ? err : json_null());
        json_t *streams = json_array();
        for (size_t s = 0; s < job->n_streams; s++) {
            const syncc_stream *st = job->streams[s].conf;
            double lag = syncc_metrics_stream_lag(job->conf->name, st->name);
            json_array_append_new(streams, json_pack("{s:s,s:s,s:s,s:o,s:n}", "name", st->name, "object",
                                                     st->object, "target", st->target ? st->target : st->name,
                                                     "lag_seconds", lag >= 0 ? json_real(lag) : json_null(),
                                                     "pending"));
        }
        json_object_set_new(o, "streams", streams);
        int64_t calls = 0, usage = 0, limit = 0;
        if (syncc_metrics_job_api(job->conf->name, &calls, &usage, &limit))
            json_object_set_new(o, "api", json_pack("{s:s,s:I,s:I,s:I}", "source", job->conf->source->name,
                                                    "calls", (json_int_t)calls, "usage", (json_int_t)usage,
                                                    "limit", (json_int_t)limit));
        else
            json_object_set_new(o, "api", json_pack("{s:s,s:I,s:n,s:n}", "source", job->conf->source->name,
                                                    "calls", (json_int_t)calls, "usage", "limit"));
        json_array_append_new(list, o);
    }
    json_object_set_new(out, "exit_code", json_integer(code));
    return out;
}

void http_api_status(syncc_engine *e, http_reply *r)
{
    json_t *o = http_api_status_json(e);
    if (o == NULL) {
        http_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    http_reply_json(r, 200, o);
}

static syncc_job_rt *find_job(syncc_engine *e, const char *name, http_reply *r)
{
    syncc_job_rt *job = syncc_engine_job(e, name);
    if (job == NULL) {
        /* the name is not echoed back verbatim beyond what JSON escaping makes safe */
        http_reply_error(r, 404, "unknown_job", "no job '%.200s' in %s", name, e->conf->path);
    }
    return job;
}

void http_api_runs(syncc_engine *e, const char *name, const char *limit, http_reply *r)
{
    syncc_job_rt *job = find_job(e, name, r);
    if (job == NULL)
        return;
    long max = 20;
    if (limit != NULL) {
        char *end;
        max = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || max < 1 || max > 100) {
            http_reply_error(r, 400, "bad_limit", "limit must be a number from 1 to 100, not '%.40s'", limit);
            return;
        }
    }
    const char *from;
    json_t *list = syncc_status_job_runs(e, job, (int)max, 1, &from);
    json_t *runs = json_array();
    /* newest first, at most max (the state store keeps its own number) */
    for (size_t i = json_array_size(list); i-- > 0 && json_array_size(runs) < (size_t)max;)
        json_array_append(runs, json_array_get(list, i));
    json_decref(list);
    http_reply_json(r, 200, json_pack("{s:i,s:s,s:s,s:o}", "version", SYNCC_STATUS_JSON_VERSION, "job",
                                      job->conf->name, "runs_from", from, "runs", runs));
}

/* Reads the body of POST .../run: empty, or {"full_refresh": bool}.  0, or -1 with r filled. */
static int run_body(const char *body, size_t len, int *full_refresh, http_reply *r)
{
    *full_refresh = 0;
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    json_error_t jerr;
    json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (o == NULL) {
        http_reply_error(r, 400, "bad_json", "the body is not JSON: %s (line %d, column %d)", jerr.text, jerr.line,
                         jerr.column);
        return -1;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        http_reply_error(r, 400, "bad_json", "the body must be a JSON object such as {\"full_refresh\": true}");
        return -1;
    }
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v) {
        if (strcmp(k, "full_refresh") != 0) {
            http_reply_error(r, 400, "bad_json", "unknown member '%.100s' (the body knows only full_refresh)", k);
            json_decref(o);
            return -1;
        }
        if (!json_is_boolean(v)) {
            http_reply_error(r, 400, "bad_json", "full_refresh must be true or false");
            json_decref(o);
            return -1;
        }
        *full_refresh = json_is_true(v);
    }
    json_decref(o);
    return 0;
}

void http_api_action(syncc_engine *e, const char *name, const char *action, const char *body, size_t len,
                     http_reply *r)
{
    syncc_job_rt *job = find_job(e, name, r);
    if (job == NULL)
        return;
    const char *jn = job->conf->name;
    if (strcmp(action, "verify") == 0) {
        http_reply_error(r, 501, "cannot_verify", "job '%s' cannot verify: this engine has no verify yet", jn);
        return;
    }
    if (strcmp(action, "pause") == 0 || strcmp(action, "resume") == 0) {
        if (len > 0 && strspn(body, " \r\n\t{}") != len) {
            http_reply_error(r, 400, "bad_json", "%s takes no body", action);
            return;
        }
        char why[600];
        int pause = strcmp(action, "pause") == 0;
        if (syncc_scheduler_pause(e, job, pause, why, sizeof(why)) != 0) {
            http_reply_error(r, 500, "state_store", "cannot record that job '%s' is %s: %s", jn,
                             pause ? "paused" : "resumed", why);
            return;
        }
        job_now n = job_state(e, job);
        http_reply_json(r, 200, json_pack("{s:s,s:b,s:s}", "job", jn, "paused", n.paused, "state", state_name(&n)));
        return;
    }
    int full;
    if (run_body(body, len, &full, r) != 0)
        return;
    char run_id[40], why[600];
    int rc = syncc_scheduler_trigger(e, job, full, TRIGGER_WAIT_MS, run_id, why, sizeof(why));
    switch (rc) {
    case SYNCC_TRIGGER_STARTED: {
        char url[400];
        snprintf(url, sizeof(url), "/api/v1/jobs/%s/runs", jn);
        http_reply_json(r, 202, json_pack("{s:s,s:s,s:b,s:s}", "job", jn, "run_id", run_id, "full_refresh", full,
                                          "runs_url", url));
        return;
    }
    case SYNCC_TRIGGER_BUSY:
        http_reply_json(r, 409, json_pack("{s:s,s:s,s:s,s:s}", "error", "the job is already running", "code",
                                          "running", "where", "this engine", "run_id", run_id));
        return;
    case SYNCC_TRIGGER_ELSEWHERE: {
        json_t *w = json_string(why[0] ? why : "another engine");
        http_reply_json(r, 409, json_pack("{s:s,s:s,s:o}", "error", "the job is running on another engine", "code",
                                          "running_elsewhere", "where", w ? w : json_string("another engine")));
        return;
    }
    case SYNCC_TRIGGER_LIMIT:
        r->retry_after = "10";
        http_reply_error(r, 503, "max_jobs", "max_jobs runs are going on already; try again when one has ended");
        return;
    case SYNCC_TRIGGER_STOPPING:
        r->retry_after = "10";
        http_reply_error(r, 503, "stopping", "the engine is stopping");
        return;
    default:
        http_reply_error(r, 500, "not_started", "the run could not start: %s", why);
        return;
    }
}

void http_api_healthz(syncc_engine *e, http_reply *r)
{
    /* alive, and every sink a job writes to can be opened (for PostgreSQL: the database answers) */
    json_t *checks = json_array();
    int ok = 1;
    for (size_t i = 0; i < e->conf->n_instances; i++) {
        const syncc_instance *in = &e->conf->instances[i];
        if (in->is_source)
            continue;
        int used = 0;
        const syncc_job_rt *job = NULL;
        for (size_t j = 0; j < e->n_jobs && !used; j++)
            if (e->jobs[j].conf->sink == in) {
                used = 1;
                job = &e->jobs[j];
            }
        if (!used)
            continue;
        sync_ctx *ctx = syncc_ctx_new("healthz", in->name, in->plugin_name);
        if (ctx == NULL) {
            ok = 0;
            continue;
        }
        ctx->cancel = &e->stop;
        ctx->state = e->state;
        ctx->read_only = 1;
        void *inst = NULL;
        int rc = job->sink->sink.open(ctx, in->config, &inst);
        if (rc == SYNC_OK) {
            job->sink->sink.close(inst);
            json_array_append_new(checks, json_pack("{s:s,s:b}", "sink", in->name, "ok", 1));
        } else {
            char msg[1400];
            snprintf(msg, sizeof(msg), "%s%s%s", syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
            json_t *m = json_string(msg);
            json_array_append_new(checks, json_pack("{s:s,s:b,s:o}", "sink", in->name, "ok", 0, "error",
                                                    m ? m : json_string("(message not valid UTF-8)")));
            ok = 0;
        }
        syncc_ctx_free(ctx);
    }
    http_reply_json(r, ok ? 200 : 503, json_pack("{s:s,s:o}", "status", ok ? "ok" : "failing", "checks", checks));
}

void http_api_readyz(syncc_engine *e, http_reply *r)
{
    if (e->stop) {
        http_reply_json(r, 503, json_pack("{s:s}", "status", "stopping"));
        return;
    }
    http_reply_json(r, 200, json_pack("{s:s,s:I}", "status", "ready", "jobs", (json_int_t)e->n_jobs));
}

void http_api_metrics(syncc_engine *e, http_reply *r)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    if (syncc_metrics_render(e, &buf, &len, &cap) != 0) {
        free(buf);
        http_reply_error(r, 500, "internal", "out of memory");
        return;
    }
    if (buf != NULL)
        syncc_log_redact(buf, cap);
    r->status = 200;
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    r->body = buf;
    r->len = buf ? strlen(buf) : 0;
}
