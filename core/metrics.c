/*
 * core/metrics.c - the daemon's in-memory run metrics (metrics.h).
 *
 * One table of jobs and one of streams, found by name with a linear search:
 * a daemon runs tens of jobs, not thousands, and a lookup happens once per
 * run or stream, never per record.
 */
#include "metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"

/* Upper bounds of the run duration histogram, in seconds (a run lasts seconds to an hour). */
static const double buckets[] = {1, 5, 15, 60, 300, 900, 3600};
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

/* The run statuses counted, in the order of the output. */
static const char *const statuses[] = {"success", "partial", "failed", "rate_limited", "skipped"};
#define N_STATUSES (sizeof(statuses) / sizeof(statuses[0]))

static const char *const actions[] = {"read", "inserted", "updated", "unchanged", "deleted", "failed"};
#define N_ACTIONS (sizeof(actions) / sizeof(actions[0]))

typedef struct cause_count {
    char *cause;
    int64_t n;
} cause_count;

typedef struct job_m {
    char *name;
    int64_t runs[N_STATUSES];
    int64_t hist[N_BUCKETS];   /* non-cumulative here; summed when rendered */
    int64_t hist_count;
    double hist_sum;
    int64_t last_success_us, last_run_us;
    int64_t rejected, api_calls, conflicts;
    int64_t api_usage, api_limit;
    int has_api_usage;
    cause_count *retries;
    size_t n_retries;
} job_m;

typedef struct stream_m {
    char *job, *stream;
    int64_t counts[N_ACTIONS];
    double lag;
    int has_lag;
} stream_m;

static pthread_mutex_t mlock = PTHREAD_MUTEX_INITIALIZER;
static job_m *jobs;
static size_t n_jobs;
static stream_m *streams;
static size_t n_streams;

/* Caller holds mlock.  NULL when out of memory. */
static job_m *job_get(const char *name)
{
    for (size_t i = 0; i < n_jobs; i++)
        if (strcmp(jobs[i].name, name) == 0)
            return &jobs[i];
    job_m *p = realloc(jobs, (n_jobs + 1) * sizeof(*p));
    if (p == NULL)
        return NULL;
    jobs = p;
    memset(&jobs[n_jobs], 0, sizeof(jobs[n_jobs]));
    jobs[n_jobs].name = strdup(name);
    if (jobs[n_jobs].name == NULL)
        return NULL;
    return &jobs[n_jobs++];
}

static stream_m *stream_get(const char *job, const char *stream)
{
    for (size_t i = 0; i < n_streams; i++)
        if (strcmp(streams[i].job, job) == 0 && strcmp(streams[i].stream, stream) == 0)
            return &streams[i];
    stream_m *p = realloc(streams, (n_streams + 1) * sizeof(*p));
    if (p == NULL)
        return NULL;
    streams = p;
    stream_m *s = &streams[n_streams];
    memset(s, 0, sizeof(*s));
    s->job = strdup(job);
    s->stream = strdup(stream);
    if (s->job == NULL || s->stream == NULL) {
        free(s->job);
        free(s->stream);
        return NULL;
    }
    n_streams++;
    return s;
}

static void add_retry(job_m *j, const char *cause, int64_t n)
{
    for (size_t i = 0; i < j->n_retries; i++) {
        if (strcmp(j->retries[i].cause, cause) == 0) {
            j->retries[i].n += n;
            return;
        }
    }
    cause_count *p = realloc(j->retries, (j->n_retries + 1) * sizeof(*p));
    if (p == NULL)
        return;
    j->retries = p;
    p[j->n_retries].cause = strdup(cause);
    if (p[j->n_retries].cause == NULL)
        return;
    p[j->n_retries++].n = n;
}

void syncc_metrics_run_end(const char *job, const char *status, int64_t ended_us, int64_t duration_ms,
                           int64_t rejected, const char *const *counter_names, const int64_t *counter_values,
                           size_t n_counters)
{
    pthread_mutex_lock(&mlock);
    job_m *j = job_get(job);
    if (j == NULL) {
        pthread_mutex_unlock(&mlock);
        return;
    }
    for (size_t i = 0; i < N_STATUSES; i++)
        if (strcmp(statuses[i], status) == 0)
            j->runs[i]++;
    if (strcmp(status, "skipped") != 0) {
        double secs = (double)duration_ms / 1000.0;
        size_t b = 0;
        while (b < N_BUCKETS && secs > buckets[b])
            b++;
        if (b < N_BUCKETS)
            j->hist[b]++;
        j->hist_count++;
        j->hist_sum += secs;
        j->last_run_us = ended_us;
        if (strcmp(status, "success") == 0 || strcmp(status, "partial") == 0)
            j->last_success_us = ended_us;
        j->rejected += rejected;
    }
    for (size_t i = 0; i < n_counters; i++) {
        const char *n = counter_names[i];
        if (strcmp(n, "api_calls") == 0)
            j->api_calls += counter_values[i];
        else if (strcmp(n, "api_usage") == 0)
            j->api_usage = counter_values[i], j->has_api_usage = 1;
        else if (strcmp(n, "api_limit") == 0)
            j->api_limit = counter_values[i];
        else if (strcmp(n, "conflicts") == 0)
            j->conflicts += counter_values[i];
        else if (strncmp(n, "retries_", 8) == 0 && n[8])
            add_retry(j, n + 8, counter_values[i]);
        else if (strcmp(n, "db_reconnects") == 0)
            add_retry(j, "db_reconnect", counter_values[i]);
        else if (strcmp(n, "requeries") == 0)
            add_retry(j, "query_locator_lost", counter_values[i]);
    }
    pthread_mutex_unlock(&mlock);
}

void syncc_metrics_stream_end(const char *job, const char *stream, int64_t read, int64_t inserted, int64_t updated,
                              int64_t unchanged, int64_t deleted, int64_t failed, const char *cursor,
                              int64_t ended_us)
{
    /* a cursor of the shape TIME|... or TIME gives the lag */
    int64_t at = 0;
    int has_time = 0;
    if (cursor != NULL && cursor[0] >= '0' && cursor[0] <= '9') {
        const char *bar = strchr(cursor, '|');
        size_t len = bar ? (size_t)(bar - cursor) : strlen(cursor);
        int date_only = 0;
        has_time = len >= 19 && syncc_time_parse(cursor, len, &at, &date_only) == 0 && !date_only;
    }
    pthread_mutex_lock(&mlock);
    stream_m *s = stream_get(job, stream);
    if (s != NULL) {
        const int64_t v[N_ACTIONS] = {read, inserted, updated, unchanged, deleted, failed};
        for (size_t i = 0; i < N_ACTIONS; i++)
            s->counts[i] += v[i];
        if (has_time) {
            s->lag = at < ended_us ? (double)(ended_us - at) / 1e6 : 0;
            s->has_lag = 1;
        }
    }
    pthread_mutex_unlock(&mlock);
}

double syncc_metrics_stream_lag(const char *job, const char *stream)
{
    double lag = -1;
    pthread_mutex_lock(&mlock);
    for (size_t i = 0; i < n_streams; i++)
        if (streams[i].has_lag && strcmp(streams[i].job, job) == 0 && strcmp(streams[i].stream, stream) == 0)
            lag = streams[i].lag;
    pthread_mutex_unlock(&mlock);
    return lag;
}

int syncc_metrics_job_api(const char *job, int64_t *calls, int64_t *usage, int64_t *limit)
{
    int known = 0;
    *calls = *usage = *limit = 0;
    pthread_mutex_lock(&mlock);
    for (size_t i = 0; i < n_jobs; i++) {
        if (strcmp(jobs[i].name, job) == 0) {
            *calls = jobs[i].api_calls;
            *usage = jobs[i].api_usage;
            *limit = jobs[i].api_limit;
            known = jobs[i].has_api_usage;
        }
    }
    pthread_mutex_unlock(&mlock);
    return known;
}

void syncc_metrics_reset(void)
{
    pthread_mutex_lock(&mlock);
    for (size_t i = 0; i < n_jobs; i++) {
        free(jobs[i].name);
        for (size_t k = 0; k < jobs[i].n_retries; k++)
            free(jobs[i].retries[k].cause);
        free(jobs[i].retries);
    }
    for (size_t i = 0; i < n_streams; i++) {
        free(streams[i].job);
        free(streams[i].stream);
    }
    free(jobs);
    free(streams);
    jobs = NULL;
    streams = NULL;
    n_jobs = n_streams = 0;
    pthread_mutex_unlock(&mlock);
}

/* ------------------------------------------------------------- rendering */

typedef struct out {
    char **buf;
    size_t *len, *cap;
    int failed;
} out;

static void put(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(out *o, const char *fmt, ...)
{
    if (o->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = *o->cap - *o->len;
        int n = vsnprintf(*o->buf ? *o->buf + *o->len : NULL, *o->buf ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            o->failed = 1;
            return;
        }
        if (*o->buf != NULL && (size_t)n < room) {
            *o->len += (size_t)n;
            return;
        }
        size_t want = *o->cap ? *o->cap * 2 : 16384;
        while (want < *o->len + (size_t)n + 1)
            want *= 2;
        char *p = realloc(*o->buf, want);
        if (p == NULL) {
            o->failed = 1;
            return;
        }
        *o->buf = p;
        *o->cap = want;
    }
}

/* A label value as the text format wants it: backslash, double quote and newline escaped. */
static const char *esc(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s && n + 3 < size; s++) {
        if (*s == '\\' || *s == '"') {
            buf[n++] = '\\';
            buf[n++] = *s;
        } else if (*s == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void family(out *o, const char *name, const char *type, const char *help)
{
    put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* What rendering needs of a job, copied under the engine lock. */
typedef struct job_view {
    char name[256], source[256];
    int running, paused, enabled;
    int64_t next_due;
} job_view;

int syncc_metrics_render(syncc_engine *e, char **buf, size_t *len, size_t *cap)
{
    out o = {buf, len, cap, 0};
    size_t nv = e ? e->n_jobs : 0;
    job_view *v = calloc(nv ? nv : 1, sizeof(*v));
    if (v == NULL)
        return -1;
    if (e != NULL) {
        pthread_mutex_lock(&e->lock);
        for (size_t i = 0; i < nv; i++) {
            syncc_job_rt *j = &e->jobs[i];
            snprintf(v[i].name, sizeof(v[i].name), "%s", j->conf->name);
            snprintf(v[i].source, sizeof(v[i].source), "%s", j->conf->source ? j->conf->source->name : "");
            v[i].running = j->running;
            v[i].paused = j->paused;
            v[i].enabled = j->conf->enabled;
            v[i].next_due = j->next_due;
        }
        pthread_mutex_unlock(&e->lock);
    }
    char l1[600], l2[600], l3[600];

    put(&o, "# syncengine %s metrics\n", SYNCENGINE_VERSION);
    family(&o, "syncengine_build_info", "gauge", "The engine's version (always 1).");
    put(&o, "syncengine_build_info{version=\"%s\"} 1\n", SYNCENGINE_VERSION);
    family(&o, "syncengine_job_running", "gauge", "1 while a run of the job is going on in this engine.");
    for (size_t i = 0; i < nv; i++)
        put(&o, "syncengine_job_running{sync_job=\"%s\"} %d\n", esc(v[i].name, l1, sizeof(l1)), v[i].running);
    family(&o, "syncengine_job_paused", "gauge", "1 when the job's schedule is paused (POST .../pause).");
    for (size_t i = 0; i < nv; i++)
        put(&o, "syncengine_job_paused{sync_job=\"%s\"} %d\n", esc(v[i].name, l1, sizeof(l1)), v[i].paused);
    family(&o, "syncengine_job_next_run_timestamp_seconds", "gauge",
           "When the scheduler starts the job next (Unix time); absent when disabled or paused.");
    for (size_t i = 0; i < nv; i++)
        if (v[i].enabled && !v[i].paused && v[i].next_due > 0)
            put(&o, "syncengine_job_next_run_timestamp_seconds{sync_job=\"%s\"} %.3f\n", esc(v[i].name, l1, sizeof(l1)),
                (double)v[i].next_due / 1e6);

    pthread_mutex_lock(&mlock);
    /* every configured job appears, with zeros before its first run */
    for (size_t i = 0; i < nv; i++)
        job_get(v[i].name);
    family(&o, "syncengine_runs_total", "counter", "Runs that ended, by job and status.");
    for (size_t i = 0; i < n_jobs; i++)
        for (size_t s = 0; s < N_STATUSES; s++)
            put(&o, "syncengine_runs_total{sync_job=\"%s\",status=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
                statuses[s], (long long)jobs[i].runs[s]);
    family(&o, "syncengine_run_duration_seconds", "histogram", "How long runs took, by job (skipped runs excluded).");
    for (size_t i = 0; i < n_jobs; i++) {
        esc(jobs[i].name, l1, sizeof(l1));
        int64_t cum = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cum += jobs[i].hist[b];
            put(&o, "syncengine_run_duration_seconds_bucket{sync_job=\"%s\",le=\"%g\"} %lld\n", l1, buckets[b],
                (long long)cum);
        }
        put(&o, "syncengine_run_duration_seconds_bucket{sync_job=\"%s\",le=\"+Inf\"} %lld\n", l1,
            (long long)jobs[i].hist_count);
        put(&o, "syncengine_run_duration_seconds_sum{sync_job=\"%s\"} %.3f\n", l1, jobs[i].hist_sum);
        put(&o, "syncengine_run_duration_seconds_count{sync_job=\"%s\"} %lld\n", l1, (long long)jobs[i].hist_count);
    }
    family(&o, "syncengine_last_run_timestamp_seconds", "gauge", "When the job's last run ended (Unix time).");
    for (size_t i = 0; i < n_jobs; i++)
        if (jobs[i].last_run_us > 0)
            put(&o, "syncengine_last_run_timestamp_seconds{sync_job=\"%s\"} %.3f\n", esc(jobs[i].name, l1, sizeof(l1)),
                (double)jobs[i].last_run_us / 1e6);
    family(&o, "syncengine_last_success_timestamp_seconds", "gauge",
           "When the job's last successful (or partial) run ended (Unix time).");
    for (size_t i = 0; i < n_jobs; i++)
        if (jobs[i].last_success_us > 0)
            put(&o, "syncengine_last_success_timestamp_seconds{sync_job=\"%s\"} %.3f\n", esc(jobs[i].name, l1, sizeof(l1)),
                (double)jobs[i].last_success_us / 1e6);
    family(&o, "syncengine_records_total", "counter",
           "Records of a stream: read from the source, and what the sink did with them (action).");
    for (size_t i = 0; i < n_streams; i++)
        for (size_t a = 0; a < N_ACTIONS; a++)
            put(&o, "syncengine_records_total{sync_job=\"%s\",stream=\"%s\",action=\"%s\"} %lld\n",
                esc(streams[i].job, l1, sizeof(l1)), esc(streams[i].stream, l2, sizeof(l2)), actions[a],
                (long long)streams[i].counts[a]);
    family(&o, "syncengine_rejected_records_total", "counter", "Records the sink or the mapping rejected, by job.");
    for (size_t i = 0; i < n_jobs; i++)
        put(&o, "syncengine_rejected_records_total{sync_job=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
            (long long)jobs[i].rejected);
    family(&o, "syncengine_stream_lag_seconds", "gauge",
           "How far the stream's saved position was behind the end of its last run, where the cursor is a time.");
    for (size_t i = 0; i < n_streams; i++)
        if (streams[i].has_lag)
            put(&o, "syncengine_stream_lag_seconds{sync_job=\"%s\",stream=\"%s\"} %.3f\n", esc(streams[i].job, l1, sizeof(l1)),
                esc(streams[i].stream, l2, sizeof(l2)), streams[i].lag);
    family(&o, "syncengine_api_calls_total", "counter", "Calls made to the source's API, by job and source.");
    for (size_t i = 0; i < n_jobs; i++) {
        const char *src = "";
        for (size_t k = 0; k < nv; k++)
            if (strcmp(v[k].name, jobs[i].name) == 0)
                src = v[k].source;
        put(&o, "syncengine_api_calls_total{sync_job=\"%s\",source=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
            esc(src, l3, sizeof(l3)), (long long)jobs[i].api_calls);
    }
    family(&o, "syncengine_api_usage", "gauge",
           "The source org's API usage as it last reported it (calls in its current window), where known.");
    family(&o, "syncengine_api_limit", "gauge", "The source org's API allowance for that window, where known.");
    for (size_t i = 0; i < n_jobs; i++) {
        if (!jobs[i].has_api_usage)
            continue;
        const char *src = "";
        for (size_t k = 0; k < nv; k++)
            if (strcmp(v[k].name, jobs[i].name) == 0)
                src = v[k].source;
        put(&o, "syncengine_api_usage{sync_job=\"%s\",source=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
            esc(src, l3, sizeof(l3)), (long long)jobs[i].api_usage);
        put(&o, "syncengine_api_limit{sync_job=\"%s\",source=\"%s\"} %lld\n", l1, l3, (long long)jobs[i].api_limit);
    }
    family(&o, "syncengine_retries_total", "counter", "Retries the plugins counted, by job and cause.");
    for (size_t i = 0; i < n_jobs; i++)
        for (size_t k = 0; k < jobs[i].n_retries; k++)
            put(&o, "syncengine_retries_total{sync_job=\"%s\",cause=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
                esc(jobs[i].retries[k].cause, l2, sizeof(l2)), (long long)jobs[i].retries[k].n);
    family(&o, "syncengine_conflicts_total", "counter",
           "Conflicting changes found, by job (zero until a plugin reports conflicts).");
    for (size_t i = 0; i < n_jobs; i++)
        put(&o, "syncengine_conflicts_total{sync_job=\"%s\"} %lld\n", esc(jobs[i].name, l1, sizeof(l1)),
            (long long)jobs[i].conflicts);
    family(&o, "syncengine_verify_differences_total", "counter",
           "Differences found by verify, by job (zero: the engine has no verify yet).");
    for (size_t i = 0; i < n_jobs; i++)
        put(&o, "syncengine_verify_differences_total{sync_job=\"%s\"} 0\n", esc(jobs[i].name, l1, sizeof(l1)));
    pthread_mutex_unlock(&mlock);
    free(v);
    return o.failed ? -1 : 0;
}
