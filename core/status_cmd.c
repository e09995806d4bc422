/*
 * core/status_cmd.c - `syncengine status` (status_cmd.h).
 *
 * A job's runs come from its sink when the sink keeps a run log (every engine
 * sharing the database writes there), else from this engine's state
 * directory.  The LAST ERROR column and "error" member belong to the last run
 * alone: an error of an older run that a later run fixed is history, not state.
 */
#include "status_cmd.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "log.h"
#include "timeutil.h"


/* How bad a last run is for the exit code (the worst wins), from its status name. */
static int exit_for(const char *status)
{
    if (status == NULL || strcmp(status, "success") == 0 || strcmp(status, "running") == 0)
        return SYNCC_EXIT_OK;
    if (strcmp(status, "partial") == 0)
        return SYNCC_EXIT_PARTIAL;
    if (strcmp(status, "rate_limited") == 0)
        return SYNCC_EXIT_RATELIMIT;
    return SYNCC_EXIT_FAILED;
}

static int worse(int a, int b)
{
    static const int rank[] = {[SYNCC_EXIT_OK] = 0, [SYNCC_EXIT_RATELIMIT] = 1, [SYNCC_EXIT_PARTIAL] = 2,
                               [SYNCC_EXIT_FAILED] = 3};
    return rank[b] > rank[a] ? b : a;
}

json_t *syncc_status_job_runs(syncc_engine *e, syncc_job_rt *job, int max, int daemon, const char **from)
{
    char why[600];
    json_t *list = syncc_history_from_sink(e, job, max, why, sizeof(why));
    *from = "sink";
    if (list == NULL) {
        if (why[0] && daemon)
            syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = job->conf->name},
                      "sink '%s' cannot list the job's runs (%s); showing this engine's own runs",
                      job->conf->sink->name, why);
        else if (why[0])
            fprintf(stderr, "syncengine: status: sink '%s' cannot list the runs of job '%s' (%s); showing "
                    "this engine's own runs\n", job->conf->sink->name, job->conf->name, why);
        *from = "state";
        char *runs = syncc_state_runs(e->state, job->conf->name);
        json_error_t jerr;
        list = runs ? json_loads(runs, 0, &jerr) : NULL;
        free(runs);
    }
    if (!json_is_array(list)) {
        json_decref(list);
        list = json_array();
    }
    return list;
}

/* The last run that was not skipped (another engine held the lease), or NULL. */
static json_t *last_run(json_t *list)
{
    for (size_t i = json_array_size(list); i-- > 0;) {
        json_t *r = json_array_get(list, i);
        if (!json_is_true(json_object_get(r, "skipped")))
            return r;
    }
    return NULL;
}

static const char *str(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static long long num(json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

json_t *syncc_status_job_json(syncc_engine *e, syncc_job_rt *job, int daemon, int *code)
{
    char next[40] = "disabled";
    if (job->conf->enabled)
        syncc_time_format(syncc_cron_next(&job->cron, syncc_time_now()), next, sizeof(next));
    const char *from;
    json_t *list = syncc_status_job_runs(e, job, 20, daemon, &from);
    json_t *last = last_run(list);
    *code = worse(*code, exit_for(last ? json_string_value(json_object_get(last, "status")) : NULL));
    json_t *o = json_pack("{s:s,s:b,s:o,s:O,s:s}", "name", job->conf->name, "enabled", job->conf->enabled,
                          "next_run", job->conf->enabled ? json_string(next) : json_null(), "last_run",
                          last ? last : json_null(), "runs_from", from);
    if (o != NULL) {
        json_t *recent = json_array();
        for (size_t i = json_array_size(list); i-- > 0 && json_array_size(recent) < 10;)
            json_array_append(recent, json_array_get(list, i));
        json_object_set_new(o, "recent_runs", recent);
    }
    json_decref(list);
    return o;
}

int syncc_status_command(syncc_engine *e, const char *const *jobs, size_t n_jobs, int json)
{
    for (size_t i = 0; i < n_jobs; i++) {
        if (syncc_engine_job(e, jobs[i]) == NULL) {
            fprintf(stderr, "syncengine: no job '%s' in %s\n", jobs[i], e->conf->path);
            return SYNCC_EXIT_CONFIG;
        }
    }
    int64_t now = syncc_time_now();
    int code = SYNCC_EXIT_OK;
    json_t *out = json ? json_pack("{s:i,s:[]}", "version", SYNCC_STATUS_JSON_VERSION, "jobs") : NULL;
    if (!json)
        printf("%-20s %-24s %-12s %9s %9s %9s %9s %9s  %-24s %s\n", "JOB", "LAST RUN", "STATUS", "PROCESSED",
               "CREATED", "UPDATED", "FAILED", "DURATION", "NEXT RUN", "LAST ERROR");
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *job = &e->jobs[j];
        int wanted = n_jobs == 0;
        for (size_t i = 0; i < n_jobs && !wanted; i++)
            wanted = strcmp(jobs[i], job->conf->name) == 0;
        if (!wanted)
            continue;
        if (json) {
            json_t *o = syncc_status_job_json(e, job, 0, &code);
            if (o != NULL)
                json_array_append_new(json_object_get(out, "jobs"), o);
            continue;
        }
        char next[40] = "disabled";
        if (job->conf->enabled)
            syncc_time_format(syncc_cron_next(&job->cron, now), next, sizeof(next));
        const char *from;
        json_t *list = syncc_status_job_runs(e, job, 20, 0, &from);
        json_t *last = last_run(list);
        code = worse(code, exit_for(last ? json_string_value(json_object_get(last, "status")) : NULL));
        if (last == NULL) {
            printf("%-20s %-24s %-12s %9s %9s %9s %9s %9s  %-24s\n", job->conf->name, "never", "-", "-", "-", "-",
                   "-", "-", next);
        } else {
            char dur[32];
            snprintf(dur, sizeof(dur), "%.1fs", (double)num(last, "duration_ms") / 1000);
            printf("%-20s %-24s %-12s %9lld %9lld %9lld %9lld %9s  %-24s %s\n", job->conf->name,
                   str(last, "started_at"), str(last, "status"), num(last, "processed"), num(last, "inserted"),
                   num(last, "updated"), num(last, "failed"), dur, next, str(last, "error"));
        }
        json_decref(list);
    }
    if (json) {
        json_object_set_new(out, "exit_code", json_integer(code));
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL)
            printf("%s\n", s);
        free(s);
        json_decref(out);
    }
    return code;
}
