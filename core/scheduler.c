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
#include "log.h"
#include "notify.h"
#include "timeutil.h"

typedef struct job_thread_arg {
    syncc_engine *e;
    syncc_job_rt *job;
} job_thread_arg;

static void *job_thread(void *p)
{
    job_thread_arg *a = p;
    syncc_run_result res;
    int code = syncc_job_run(a->e, a->job, &res);
    pthread_mutex_lock(&a->e->lock);
    a->job->running = 0;
    a->job->last_exit = code;
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
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&job->thread, &attr, job_thread, a);
    pthread_attr_destroy(&attr);
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
    int code = tcode;
    for (size_t j = 0; j < e->n_jobs; j++)
        if (e->jobs[j].conf->enabled && e->jobs[j].conf->tenants == NULL)
            code = syncc_exit_worse(code, e->jobs[j].last_exit);
    return code;
}

static void plan(syncc_engine *e, int64_t now, int right_away)
{
    for (size_t j = 0; j < e->n_jobs; j++) {
        e->jobs[j].next_due = right_away ? now : syncc_cron_next(&e->jobs[j].cron, now);
        if (e->jobs[j].conf->tenants != NULL) {
            e->jobs[j].next_due = -1; /* its tenants are planned one by one (core/tenant.c) */
            continue;
        }
        if (e->jobs[j].conf->enabled) {
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
            if (!job->conf->enabled || job->next_due < 0)
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
                syncc_engine_close(e);
                *ep = e = ne;
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
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT) {
            syncc_log(SYNC_LOG_INFO, NULL, "%s received: stopping at the next batch boundary",
                      sig == SIGTERM ? "SIGTERM" : "SIGINT");
            syncc_notify_stopping();
            e->stop = 1;
            wait_all(e);
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
