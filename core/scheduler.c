/*
 * core/scheduler.c - running jobs on their schedules, and all jobs once.
 *
 * Each job run gets its own thread, so a slow or failing job never delays the
 * others; at most engine.max_jobs run at once, and a job never overlaps
 * itself (a run that is still going when its next slot comes makes that slot
 * be skipped, not queued twice).  Signals are taken synchronously by the main
 * thread with sigtimedwait: SIGTERM/SIGINT ask running jobs to stop at their
 * next batch boundary (cursors stay consistent) and wait for them; SIGHUP
 * reloads the configuration once no job is running, keeping the old one if
 * the new file is invalid.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "http/http.h"
#include "log.h"
#include "notify.h"
#include "timeutil.h"
#include "verify.h"

typedef struct job_thread_arg {
    syncc_engine *e;
    syncc_job_rt *job;
} job_thread_arg;

static void *job_thread(void *p)
{
    job_thread_arg *a = p;
    syncc_run_result res;
    int code = a->job->verify_now ? syncc_verify_scheduled(a->e, a->job) : syncc_job_run(a->e, a->job, &res);
    pthread_mutex_lock(&a->e->lock);
    a->job->running = 0;
    a->job->verify_now = 0;
    a->job->phase = a->job->phase == SYNCC_PHASE_SKIPPED ? SYNCC_PHASE_SKIPPED : SYNCC_PHASE_DONE;
    a->job->last_exit = code;
    syncc_thread_ended(a->e);
    pthread_cond_broadcast(&a->e->changed);
    pthread_mutex_unlock(&a->e->lock);
    free(a);
    return NULL;
}

/* Runs going on: the jobs' and the tenants' (core/tenant.c).  Caller holds e->lock. */
static int running_count(syncc_engine *e)
{
    int n = syncc_tenants_running(e);
    for (size_t j = 0; j < e->n_jobs; j++)
        n += e->jobs[j].running;
    return n;
}

/* Starts job j on its own thread. Caller holds e->lock. */
static int start_job(syncc_engine *e, syncc_job_rt *job)
{
    job_thread_arg *a = malloc(sizeof(*a));
    if (a == NULL)
        return -1;
    a->e = e;
    a->job = job;
    job->running = 1;
    /* joinable: joined once ended (syncc_threads_reap), never left ending while the process exits */
    int rc = pthread_create(&job->thread, NULL, job_thread, a);
    if (rc != 0) {
        job->running = 0;
        free(a);
        return -1;
    }
    return 0;
}

static void wait_all(syncc_engine *e)
{
    pthread_mutex_lock(&e->lock);
    while (running_count(e) > 0)
        pthread_cond_wait(&e->changed, &e->lock);
    pthread_mutex_unlock(&e->lock);
    syncc_threads_reap(e);
}

int syncc_exit_worse(int a, int b)
{
    /* any failure beats partial, partial beats rate-limited, which beats success */
    static const int rank[] = {[SYNCC_EXIT_OK] = 0, [SYNCC_EXIT_RATELIMIT] = 1, [SYNCC_EXIT_PARTIAL] = 2,
                               [SYNCC_EXIT_CONFIG] = 3, [SYNCC_EXIT_PLUGIN] = 3, [SYNCC_EXIT_FAILED] = 3,
                               [SYNCC_EXIT_INTERNAL] = 4};
    int ra = a >= 0 && a <= SYNCC_EXIT_RATELIMIT ? rank[a] : 4;
    int rb = b >= 0 && b <= SYNCC_EXIT_RATELIMIT ? rank[b] : 4;
    return rb > ra ? b : a;
}

int syncc_run_all_once(syncc_engine *e)
{
    size_t enabled = 0;
    for (size_t j = 0; j < e->n_jobs; j++)
        enabled += e->jobs[j].conf->enabled != 0;
    if (enabled == 0 && e->n_jobs > 0)
        syncc_log(SYNC_LOG_WARN, NULL, "%s has no enabled job: nothing to run", e->conf->path);
    int64_t max = e->conf->engine.max_jobs > 0 ? e->conf->engine.max_jobs : 4;
    pthread_mutex_lock(&e->lock);
    for (size_t j = 0; j < e->n_jobs && !e->stop; j++) {
        if (!e->jobs[j].conf->enabled || e->jobs[j].conf->tenants != NULL)
            continue;
        while (running_count(e) >= max)
            pthread_cond_wait(&e->changed, &e->lock);
        e->jobs[j].last_exit = SYNCC_EXIT_INTERNAL;
        if (start_job(e, &e->jobs[j]) != 0)
            syncc_log(SYNC_LOG_ERROR, NULL, "cannot start job '%s'", e->jobs[j].conf->name);
    }
    pthread_mutex_unlock(&e->lock);
    /* template jobs: every tenant once, beside the jobs still running (the caps count both) */
    int any = 0;
    int tcode = syncc_tenants_run_once(e, NULL, NULL, &any);
    pthread_mutex_lock(&e->lock);
    while (running_count(e) > 0)
        pthread_cond_wait(&e->changed, &e->lock);
    pthread_mutex_unlock(&e->lock);
    syncc_threads_reap(e);
    int code = tcode;
    for (size_t j = 0; j < e->n_jobs; j++)
        if (e->jobs[j].conf->enabled && e->jobs[j].conf->tenants == NULL)
            code = syncc_exit_worse(code, e->jobs[j].last_exit);
    return code;
}

/* Is the job paused?  The state store remembers it across restarts and reloads. */
static int paused_in_state(syncc_engine *e, const char *job)
{
    char *v = NULL;
    if (e->state == NULL || syncc_state_get(e->state, "paused", job, &v) != 0 || v == NULL)
        return 0;
    int paused = strcmp(v, "1") == 0;
    free(v);
    return paused;
}

int syncc_scheduler_pause(syncc_engine *e, syncc_job_rt *job, int paused, char *why, size_t why_size)
{
    if (e->state == NULL) {
        snprintf(why, why_size, "the engine has no state store");
        return -1;
    }
    if (syncc_state_put(e->state, "paused", job->conf->name, paused ? "1" : NULL, why, why_size) != 0)
        return -1;
    pthread_mutex_lock(&e->lock);
    job->paused = paused;
    if (!paused && job->conf->enabled)
        job->next_due = syncc_cron_next(&job->cron, syncc_time_now());
    pthread_mutex_unlock(&e->lock);
    syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = job->conf->name}, "%s over HTTP",
              paused ? "schedule paused" : "schedule resumed");
    return 0;
}

int syncc_scheduler_trigger(syncc_engine *e, syncc_job_rt *job, int full_refresh, int wait_ms, char run_id[40],
                            char *why, size_t why_size)
{
    why[0] = '\0';
    run_id[0] = '\0';
    pthread_mutex_lock(&e->lock);
    int64_t max = e->conf->engine.max_jobs > 0 ? e->conf->engine.max_jobs : 4;
    int rc = SYNCC_TRIGGER_STARTED;
    if (e->stop) {
        rc = SYNCC_TRIGGER_STOPPING;
    } else if (job->conf->tenants != NULL) {
        /* a template has no run of its own: its tenants run as JOB@KEY (core/tenant.c) */
        snprintf(why, why_size, "job '%s' is a template of [tenants %s]: its tenants run on their own schedule",
                 job->conf->name, job->conf->tenants->name);
        rc = SYNCC_TRIGGER_FAILED;
    } else if (job->running) {
        /* a run started a moment ago may not have taken its id yet */
        snprintf(run_id, 40, "%s", job->run_id[0] ? job->run_id : job->next_run_id);
        rc = SYNCC_TRIGGER_BUSY;
    } else if (running_count(e) >= max) {
        rc = SYNCC_TRIGGER_LIMIT;
    } else {
        char id[37];
        syncc_run_id_new(id);
        snprintf(job->next_run_id, sizeof(job->next_run_id), "%s", id);
        snprintf(run_id, 40, "%s", id);
        job->next_full_refresh = full_refresh;
        job->phase = SYNCC_PHASE_STARTING;
        job->last_exit = SYNCC_EXIT_INTERNAL;
        if (start_job(e, job) != 0) {
            job->next_run_id[0] = '\0';
            job->phase = SYNCC_PHASE_IDLE;
            snprintf(why, why_size, "cannot start a thread for the run");
            rc = SYNCC_TRIGGER_FAILED;
        } else {
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = job->conf->name, .run_id = id},
                      "run requested over HTTP%s", full_refresh ? " (full refresh)" : "");
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += wait_ms / 1000;
            until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            /* until the run has taken the lease, or was skipped, or ended */
            while (job->phase == SYNCC_PHASE_STARTING &&
                   pthread_cond_timedwait(&e->changed, &e->lock, &until) != ETIMEDOUT)
                ;
            if (job->phase == SYNCC_PHASE_SKIPPED) {
                snprintf(why, why_size, "%s", job->skip_reason);
                rc = SYNCC_TRIGGER_ELSEWHERE;
            }
        }
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* Equal strings, NULL equal to NULL. */
static int same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void plan(syncc_engine *e, int64_t now, int right_away)
{
    for (size_t j = 0; j < e->n_jobs; j++) {
        e->jobs[j].paused = paused_in_state(e, e->jobs[j].conf->name);
        e->jobs[j].next_due = right_away ? now : syncc_cron_next(&e->jobs[j].cron, now);
        /* --run-at-start: the verify too, once the job's first run is over */
        e->jobs[j].verify_due = !e->jobs[j].has_verify ? -1
                                : right_away         ? now
                                                     : syncc_cron_next(&e->jobs[j].verify_cron, now);
        if (e->jobs[j].conf->tenants != NULL) {
            e->jobs[j].next_due = -1; /* its tenants are planned one by one (core/tenant.c) */
            continue;
        }
        if (e->jobs[j].conf->enabled && e->jobs[j].paused) {
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = e->jobs[j].conf->name},
                      "paused: no scheduled runs until it is resumed");
        } else if (e->jobs[j].conf->enabled) {
            char ts[40];
            syncc_time_format(e->jobs[j].next_due, ts, sizeof(ts));
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = e->jobs[j].conf->name}, "next run at %s", ts);
        }
    }
}

int syncc_scheduler_run(syncc_engine **ep, const syncc_engine_opts *opts)
{
    syncc_engine *e = *ep;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    /* Job threads inherit this mask, so only sigtimedwait below sees these signals. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    syncc_log(SYNC_LOG_INFO, NULL, "syncengine %s started with %zu job(s) from %s", SYNCENGINE_VERSION, e->n_jobs,
              e->conf->path);
    plan(e, syncc_time_now(), e->run_at_start);
    /* the HTTP API (off unless [engine] http_listen is set) lives as long as this loop */
    char herr[1024];
    syncc_http *http = syncc_http_start(e, herr, sizeof(herr));
    if (http == NULL && herr[0]) {
        syncc_log(SYNC_LOG_ERROR, NULL, "%s", herr);
        return SYNCC_EXIT_CONFIG;
    }
    syncc_notify_ready();
    int64_t watchdog = syncc_notify_watchdog_usec();
    int reload = 0, first = 1;
    for (;;) {
        syncc_notify_watchdog();
        int64_t now = syncc_time_now();
        int64_t next = now + 60 * 1000000LL;
        /* tenants of template jobs: the sets read when due, due tenants started within the caps */
        if (!reload && !e->stop)
            syncc_tenants_tick(e, now, first, &next);
        first = 0;
        pthread_mutex_lock(&e->lock);
        int64_t max = e->conf->engine.max_jobs > 0 ? e->conf->engine.max_jobs : 4;
        for (size_t j = 0; j < e->n_jobs && !reload; j++) {
            syncc_job_rt *job = &e->jobs[j];
            if (!job->conf->enabled || job->next_due < 0 || job->paused)
                continue;
            if (job->next_due <= now) {
                if (job->running) {
                    syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = job->conf->name},
                              "previous run still going; this slot is skipped");
                    job->next_due = syncc_cron_next(&job->cron, now);
                } else if (running_count(e) < max) {
                    if (start_job(e, job) != 0)
                        syncc_log(SYNC_LOG_ERROR, NULL, "cannot start job '%s'", job->conf->name);
                    job->next_due = syncc_cron_next(&job->cron, now);
                } else {
                    /* due but at the concurrency limit: stays due, checked again soon */
                    if (now + 1000000 < next)
                        next = now + 1000000;
                    continue;
                }
            }
            if (job->next_due > 0 && job->next_due < next)
                next = job->next_due;
            /* verify_schedule: a verify run once the job is idle (a run going on is waited for) */
            if (job->verify_due > 0 && job->verify_due <= now) {
                if (job->running) {
                    if (now + 1000000 < next)
                        next = now + 1000000;
                    continue;
                } else if (running_count(e) < max) {
                    job->verify_now = 1;
                    if (start_job(e, job) != 0) {
                        job->verify_now = 0;
                        syncc_log(SYNC_LOG_ERROR, NULL, "cannot start the verify of job '%s'", job->conf->name);
                    }
                    job->verify_due = syncc_cron_next(&job->verify_cron, now);
                }
            }
            if (job->verify_due > 0 && job->verify_due < next)
                next = job->verify_due;
        }
        int idle = running_count(e) == 0;
        pthread_mutex_unlock(&e->lock);

        if (reload && idle) {
            char err[4096];
            int code;
            syncc_engine *ne = syncc_engine_open(opts, err, sizeof(err), &code);
            if (ne == NULL) {
                syncc_log(SYNC_LOG_ERROR, NULL, "configuration reload failed, keeping the running one: %s", err);
            } else {
                ne->full_refresh = e->full_refresh;
                if (!same(e->conf->engine.http_listen, ne->conf->engine.http_listen) ||
                    !same(e->conf->engine.http_token, ne->conf->engine.http_token) ||
                    !same(e->conf->engine.http_token_file, ne->conf->engine.http_token_file) ||
                    !same(e->conf->engine.http_tls_cert, ne->conf->engine.http_tls_cert) ||
                    !same(e->conf->engine.http_tls_key, ne->conf->engine.http_tls_key))
                    syncc_log(SYNC_LOG_WARN, NULL, "the http_* options changed: they take effect when the "
                              "daemon restarts");
                /* no HTTP request may look at the engine while it is replaced */
                syncc_http_engine_lock(http);
                syncc_engine_close(e);
                *ep = e = ne;
                syncc_http_engine_unlock(http, e);
                syncc_log(SYNC_LOG_INFO, NULL, "configuration reloaded: %zu job(s)", e->n_jobs);
                plan(e, syncc_time_now(), 0);
                first = 1; /* the tenant sets of the new configuration are read right away */
            }
            syncc_notify_ready();
            reload = 0;
            continue;
        }

        /* wake at least every second to notice finished jobs and pending reloads */
        int64_t wait = next - syncc_time_now();
        if (wait > 1000000)
            wait = 1000000;
        if (watchdog > 0 && wait > watchdog)
            wait = watchdog;
        if (wait < 1000)
            wait = 1000;
        struct timespec ts = {(time_t)(wait / 1000000), (long)(wait % 1000000) * 1000};
        syncc_threads_reap(e); /* the runs that ended since the last turn */
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            syncc_log(SYNC_LOG_INFO, NULL, "%s received: stopping at the next batch boundary",
                      sig == SIGTERM ? "SIGTERM" : "SIGINT");
            syncc_notify_stopping();
            e->stop = 1;
            wait_all(e);
            syncc_http_stop(http);
            syncc_log(SYNC_LOG_INFO, NULL, "stopped");
            return SYNCC_EXIT_OK;
        }
        if (sig == SIGHUP) {
            syncc_log(SYNC_LOG_INFO, NULL, "SIGHUP received: reloading once running jobs finish");
            syncc_notify_reloading();
            reload = 1;
            /* the tenant sets are read again at once, even while runs keep the reload waiting */
            syncc_tenants_refresh_soon(e);
        }
    }
}
