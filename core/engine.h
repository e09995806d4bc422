/*
 * core/engine.h - an engine instance: configuration, loaded plugins,
 * compiled mappings and schedules, the state store; and running jobs.
 *
 * syncc_engine_open() does everything that can be checked without touching
 * the network (the `check` command stops there).  syncc_job_run() runs one
 * job once; the scheduler (core/scheduler.c) calls it on each job's schedule.
 */
#ifndef SYNCC_ENGINE_H
#define SYNCC_ENGINE_H

#include <pthread.h>
#include <stdint.h>

#include "conf.h"
#include "cron.h"
#include "loader.h"
#include "mapping.h"
#include "state.h"
#include "tenant.h"

/* Exit codes of the syncengine command (documented in docs/user-guide.md). */
enum {
    SYNCC_EXIT_OK = 0,
    SYNCC_EXIT_INTERNAL = 1,    /* unexpected failure */
    SYNCC_EXIT_USAGE = 2,       /* bad command line */
    SYNCC_EXIT_CONFIG = 3,      /* configuration or mapping invalid */
    SYNCC_EXIT_PLUGIN = 4,      /* a plugin is missing or failed to load */
    SYNCC_EXIT_FAILED = 5,      /* a job run failed */
    SYNCC_EXIT_PARTIAL = 6,     /* a job run finished but rejected some records */
    SYNCC_EXIT_RATELIMIT = 7,   /* a job stopped at the API allowance; the next run resumes */
    SYNCC_EXIT_DIFFERENT = 8    /* verify: the source and the target of a stream differ */
};

typedef struct syncc_stream_rt {
    syncc_stream *conf;
    syncc_mapping *mapping;   /* NULL: records pass through unmapped */
    struct syncc_tw_stream *twoway; /* a two-way job's stream (core/twoway_map.h), else NULL */
} syncc_stream_rt;

typedef struct syncc_job_rt {
    syncc_job *conf;
    const syncc_plugin *source;
    const syncc_plugin *sink;
    syncc_stream_rt *streams;
    size_t n_streams;
    syncc_cron cron;
    /* scheduler bookkeeping, guarded by the engine lock */
    int running;
    int64_t next_due;
    pthread_t thread;
    int last_exit;
    /* manual runs and pauses (core/http/), also guarded by the engine lock */
    int paused;               /* the scheduler leaves the job alone (kept in the state store) */
    char run_id[40];          /* the run going on now, "" when none */
    char next_run_id[40];     /* set by syncc_scheduler_trigger: the id the next run takes */
    int next_full_refresh;    /* the next run ignores the saved cursors */
    int phase;                /* SYNCC_PHASE_*: how far the current run got */
    char skip_reason[512];    /* why the last run was skipped (who holds the lease), "" when unknown */
    syncc_tenant_ref *tenant;   /* a tenant's instance of a template job (core/tenant.c), else NULL */
    syncc_state *plugin_state;  /* a tenant's own store of its plugins' state; NULL: the engine's */
    /* verify_schedule (core/verify.c), guarded by the engine lock like the above */
    int has_verify;           /* verify_schedule is set */
    syncc_cron verify_cron;
    int64_t verify_due;       /* next scheduled verify; -1: none */
    int verify_now;           /* the run being started is a verify */
} syncc_job_rt;

/* How far a run got, for a manual trigger that waits to learn whether it took the lease. */
enum {
    SYNCC_PHASE_IDLE = 0,
    SYNCC_PHASE_STARTING,     /* thread started, lease not yet taken */
    SYNCC_PHASE_RUNNING,      /* lease taken (or the sink has none), run begun */
    SYNCC_PHASE_SKIPPED,      /* another engine holds the lease */
    SYNCC_PHASE_DONE          /* ended before anyone looked */
};

typedef struct syncc_engine {
    syncc_conf *conf;
    syncc_registry registry;
    syncc_state *state;
    syncc_job_rt *jobs;
    size_t n_jobs;
    volatile int stop;        /* set by SIGTERM/SIGINT: finish the current batch and stop */
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* a job finished */
    int full_refresh;         /* --full-refresh on the command line */
    int run_at_start;         /* --run-at-start: the daemon runs every job once right away */
    syncc_tenants *tenants;   /* the tenants of template jobs (core/tenant.c) */
    /* run threads that have finished their work and wait to be joined (guarded by lock):
     * joined before the engine goes, so that no thread is still ending (its thread-local
     * destructors, libcrypto's among them) while the process exits or unloads plugins */
    pthread_t *ended;
    size_t n_ended, cap_ended;
} syncc_engine;

typedef struct syncc_engine_opts {
    const char *config_path;
    const char *const *plugin_dirs;  /* from --plugin-dir; NULL-terminated or NULL */
    const char *state_dir;           /* --state-dir, overrides the file */
    int open_state;                  /* 0 for `check`: touch nothing */
} syncc_engine_opts;

/*
 * Loads configuration and plugins, binds options, compiles mappings and
 * schedules, opens the state store.  Returns NULL with a message and an exit
 * code (SYNCC_EXIT_CONFIG / SYNCC_EXIT_PLUGIN) on failure.
 */
syncc_engine *syncc_engine_open(const syncc_engine_opts *opts, char *err, size_t errlen, int *exit_code);
void syncc_engine_close(syncc_engine *e);

/* A run thread's last step, under e->lock: it may be joined now.  Returns -1 when out of memory
 * (the thread then detaches itself). */
int syncc_thread_ended(syncc_engine *e);
/* Joins the run threads that have ended.  Caller does not hold e->lock. */
void syncc_threads_reap(syncc_engine *e);
syncc_job_rt *syncc_engine_job(syncc_engine *e, const char *name);

typedef struct syncc_run_result {
    sync_run_status status;
    int skipped;              /* another engine holds the job's lease */
    int refused;              /* the servers' answers refuse the configuration: nothing was recorded in the sink */
    int64_t processed, inserted, updated, unchanged, deleted, failed;
    int64_t duration_ms;
    char error[1024];
    int code;                 /* the sync_status that failed the run (SYNC_E_AUTH: credentials rejected), or 0 */
} syncc_run_result;

/* Runs one job once. Returns the exit code the run deserves. */
int syncc_job_run(syncc_engine *e, syncc_job_rt *job, syncc_run_result *res);

/* Records a run that could not start (res filled by the caller) in job's local history, for status. */
void syncc_job_record(syncc_engine *e, const char *job, const syncc_run_result *res);

/*
 * Compiles rt->conf (plugins looked up, schedule, mappings) into rt.  Used
 * for the engine's jobs and for a tenant's instance of a template job.
 * Returns an exit code with err filled.
 */
int syncc_engine_compile_job(syncc_engine *e, syncc_job_rt *rt, char *err, size_t errlen);

/* The worse of two exit codes (any failure beats partial, which beats rate-limited, which beats success). */
int syncc_exit_worse(int a, int b);

/* The scheduler: runs every enabled job on its schedule until SIGTERM/SIGINT; SIGHUP reloads. */
int syncc_scheduler_run(syncc_engine **e, const syncc_engine_opts *opts);

/* Outcomes of syncc_scheduler_trigger. */
enum {
    SYNCC_TRIGGER_STARTED = 0,  /* the run began; run_id says which */
    SYNCC_TRIGGER_BUSY,         /* a run of the job is going on in this engine (run_id) */
    SYNCC_TRIGGER_ELSEWHERE,    /* another engine holds the job's lease (why says which, if the sink told) */
    SYNCC_TRIGGER_LIMIT,        /* engine.max_jobs runs are going on */
    SYNCC_TRIGGER_STOPPING,     /* the daemon is stopping or reloading */
    SYNCC_TRIGGER_FAILED        /* the run could not start, or failed before taking the lease (why) */
};

/*
 * Starts a run of job now, outside its schedule (the HTTP API's POST
 * .../run), and waits up to wait_ms for it to take the job's lease, so that
 * a job running on another engine is reported as such.  run_id receives the
 * run's id.  Thread-safe; must not be called with e->lock held.
 */
int syncc_scheduler_trigger(syncc_engine *e, syncc_job_rt *job, int full_refresh, int wait_ms, char run_id[40],
                            char *why, size_t why_size);

/* Pauses (1) or resumes (0) a job's schedule, kept in the state store across restarts. Returns 0 or -1 + why. */
int syncc_scheduler_pause(syncc_engine *e, syncc_job_rt *job, int paused, char *why, size_t why_size);

/* A fresh run id (a random UUID). */
void syncc_run_id_new(char out[37]);
/* Runs every enabled job once (concurrently up to max_jobs); returns the worst exit code. */
int syncc_run_all_once(syncc_engine *e);

/* Maps a run status to the exit code. */
int syncc_exit_for_status(sync_run_status st);
const char *syncc_run_status_name(sync_run_status st);

#endif /* SYNCC_ENGINE_H */
