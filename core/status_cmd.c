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

/* What status counts for its summary line. */
typedef struct summary {
    int ok, failing, late, never, total;
} summary;

typedef struct show_ctx {
    syncc_engine *e;
    int json;
    int64_t now;
    const char *state;       /* --state filter (ok, failing, late), or NULL */
    json_t *out;
    int code;
    summary sum;
} show_ctx;

/*
 * One row of status: a job, or a tenant of a template job (JOB@KEY, whose
 * runs are found under that name).  period: the time between its runs, for
 * "late" (its last run is older than two periods); 0: never late.
 */
static void show(show_ctx *sc, syncc_job_rt *job, const char *name, int64_t next_at, int64_t period)
{
    syncc_job jc = *job->conf;
    syncc_job_rt rt = *job;
    jc.name = (char *)name;
    rt.conf = &jc;
    int enabled = job->conf->enabled;
    char next[40] = "disabled";
    if (enabled && next_at > 0)
        syncc_time_format(next_at, next, sizeof(next));
    const char *from;
    json_t *list = syncc_status_job_runs(sc->e, &rt, 20, 0, &from);
    json_t *last = last_run(list);
    const char *st = last ? json_string_value(json_object_get(last, "status")) : NULL;
    int failing = exit_for(st) == SYNCC_EXIT_FAILED;
    int64_t started = 0;
    int date_only = 0;
    const char *sa = str(last, "started_at");
    if (last && syncc_time_parse(sa, strlen(sa), &started, &date_only) != 0)
        started = 0;
    int late = enabled && period > 0 && (last == NULL || (started > 0 && sc->now - started > 2 * period));
    const char *state = failing ? "failing" : late ? "late" : last == NULL ? "never" : "ok";
    if (sc->state != NULL && strcmp(sc->state, state) != 0 && !(strcmp(sc->state, "late") == 0 && late)) {
        json_decref(list);
        return;
    }
    sc->sum.total++;
    sc->sum.failing += failing;
    sc->sum.late += late;
    sc->sum.ok += !failing && !late && last != NULL;
    sc->sum.never += last == NULL;
    sc->code = worse(sc->code, exit_for(st));
    if (sc->json) {
        json_t *o = json_pack("{s:s,s:b,s:o,s:O,s:s,s:s}", "name", name, "enabled", enabled, "next_run",
                              enabled && next_at > 0 ? json_string(next) : json_null(), "last_run",
                              last ? last : json_null(), "runs_from", from, "state", state);
        if (o != NULL) {
            if (job->conf->tenants != NULL)
                json_object_set_new(o, "template", json_string(job->conf->name));
            json_t *recent = json_array();
            for (size_t i = json_array_size(list); i-- > 0 && json_array_size(recent) < 10;)
                json_array_append(recent, json_array_get(list, i));
            json_object_set_new(o, "recent_runs", recent);
            json_array_append_new(json_object_get(sc->out, "jobs"), o);
        }
    } else if (last == NULL) {
        printf("%-20s %-24s %-12s %9s %9s %9s %9s %9s  %-24s\n", name, "never", "-", "-", "-", "-", "-", "-", next);
    } else {
        char dur[32];
        snprintf(dur, sizeof(dur), "%.1fs", (double)num(last, "duration_ms") / 1000);
        printf("%-20s %-24s %-12s %9lld %9lld %9lld %9lld %9s  %-24s %s\n", name, str(last, "started_at"),
               str(last, "status"), num(last, "processed"), num(last, "inserted"), num(last, "updated"),
               num(last, "failed"), dur, next, str(last, "error"));
    }
    json_decref(list);
}

/* A template job's tenants, each shown (the names asked for, or all). */
typedef struct tenant_pass {
    show_ctx *sc;
    syncc_job_rt *job;
    const char *const *names;
    size_t n_names;
    int64_t now, period;
    int all;                 /* the template's own name was asked for, or nothing */
} tenant_pass;

static void each_tenant(const char *name, void *payload)
{
    tenant_pass *tp = payload;
    int wanted = tp->all;
    for (size_t i = 0; i < tp->n_names && !wanted; i++)
        wanted = strcmp(tp->names[i], name) == 0;
    if (!wanted)
        return;
    /* the slot comes from the schedule; a tenant's offset and interval are the daemon's to apply */
    show(tp->sc, tp->job, name, tp->job->conf->enabled ? syncc_cron_next(&tp->job->cron, tp->now) : 0, tp->period);
}

int syncc_status_command(syncc_engine *e, const char *const *jobs, size_t n_jobs, int json)
{
    return syncc_status_command_state(e, jobs, n_jobs, json, NULL);
}

int syncc_status_command_state(syncc_engine *e, const char *const *jobs, size_t n_jobs, int json, const char *state)
{
    if (state != NULL && strcmp(state, "ok") != 0 && strcmp(state, "failing") != 0 && strcmp(state, "late") != 0 &&
        strcmp(state, "never") != 0) {
        fprintf(stderr, "syncengine: status --state: '%s' is not ok, failing, late or never\n", state);
        return SYNCC_EXIT_USAGE;
    }
    for (size_t i = 0; i < n_jobs; i++) {
        char base[512];
        snprintf(base, sizeof(base), "%s", jobs[i]);
        char *at = strchr(base, '@');
        if (at != NULL)
            *at = '\0';
        syncc_job_rt *j = syncc_engine_job(e, base);
        if (j == NULL || (at != NULL && j->conf->tenants == NULL)) {
            fprintf(stderr, "syncengine: no job '%s' in %s\n", jobs[i], e->conf->path);
            return SYNCC_EXIT_CONFIG;
        }
    }
    show_ctx sc = {.e = e, .json = json, .now = syncc_time_now(), .state = state};
    sc.out = json ? json_pack("{s:i,s:[]}", "version", SYNCC_STATUS_JSON_VERSION, "jobs") : NULL;
    if (!json)
        printf("%-20s %-24s %-12s %9s %9s %9s %9s %9s  %-24s %s\n", "JOB", "LAST RUN", "STATUS", "PROCESSED",
               "CREATED", "UPDATED", "FAILED", "DURATION", "NEXT RUN", "LAST ERROR");
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *job = &e->jobs[j];
        int wanted = n_jobs == 0, some = 0;
        size_t nl = strlen(job->conf->name);
        for (size_t i = 0; i < n_jobs; i++) {
            wanted |= strcmp(jobs[i], job->conf->name) == 0;
            some |= strncmp(jobs[i], job->conf->name, nl) == 0 && jobs[i][nl] == '@';
        }
        if (!wanted && !some)
            continue;
        int64_t next_at = job->conf->enabled ? syncc_cron_next(&job->cron, sc.now) : 0;
        int64_t period = next_at > 0 ? syncc_cron_next(&job->cron, next_at) - next_at : 0;
        if (job->conf->tenants == NULL) {
            show(&sc, job, job->conf->name, next_at, period);
            continue;
        }
        /* a template: its tenants, read from their set now */
        tenant_pass tp = {.sc = &sc, .job = job, .names = jobs, .n_names = n_jobs, .now = sc.now,
                          .period = period, .all = wanted};
        char err[2048];
        if (syncc_tenants_list(e, job, each_tenant, &tp, err, sizeof(err)) != SYNC_OK) {
            fprintf(stderr, "syncengine: status: %s\n", err);
            sc.code = worse(sc.code, SYNCC_EXIT_FAILED);
        }
    }
    if (json) {
        json_object_set_new(sc.out, "summary", json_pack("{s:i,s:i,s:i,s:i,s:i}", "jobs", sc.sum.total, "ok",
                                                         sc.sum.ok, "failing", sc.sum.failing, "late", sc.sum.late,
                                                         "never_run", sc.sum.never));
        json_object_set_new(sc.out, "exit_code", json_integer(sc.code));
        char *s = json_dumps(sc.out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (s != NULL)
            printf("%s\n", s);
        free(s);
        json_decref(sc.out);
    } else {
        printf("%d job(s): %d ok, %d failing, %d late, %d never run\n", sc.sum.total, sc.sum.ok, sc.sum.failing,
               sc.sum.late, sc.sum.never);
    }
    return sc.code;
}
