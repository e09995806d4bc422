/*
 * core/tenant.h - tenant sets: jobs instantiated once per row of a query.
 *
 * A [tenants NAME] section names a query on a sink's database; a job with
 * tenants = NAME is a template.  Every row of the query is a tenant whose
 * job runs as JOB@KEY (its own cursors, lease, run log rows and history),
 * with ${tenant.COLUMN} in the configuration and the mappings taken from the
 * row.  The set is read again every `refresh` and on SIGHUP: new rows start
 * at their next slot, rows that are gone stop after their current run, a
 * changed row is used by the next run.  A tenant's instance (configuration,
 * options, mappings) is built from the file for each run and freed after it,
 * so a thousand tenants cost a thousand rows of memory, not a thousand
 * engines.
 *
 * Scheduling: every tenant has a stable offset (a hash of its key) that
 * spreads the starts over the job's schedule period (or the row's interval);
 * at most [engine] max_jobs runs at once in all, max_per_instance per value
 * of instance_column; when more are due than may start, the least recently
 * started go first; a tenant whose run is still going skips its slot.
 *
 * Everything here runs on the scheduler's thread, except the tenant's run
 * thread and credentials_changed (called by a source during a run).  The
 * engine lock guards the tenants' bookkeeping.
 */
#ifndef SYNCC_TENANT_H
#define SYNCC_TENANT_H

#include <stddef.h>
#include <stdint.h>

#include <sync/plugin.h>

typedef struct syncc_engine syncc_engine;
typedef struct syncc_job_rt syncc_job_rt;
typedef struct syncc_tenants syncc_tenants;

/*
 * What a tenant's run carries to its contexts (sync_ctx.tenant): enough to
 * store its new credentials.  Owned by the run.
 */
typedef struct syncc_tenant_ref {
    syncc_engine *e;
    const struct syncc_tenant_set *set;
    char *key;
    char *job;                /* JOB@KEY */
} syncc_tenant_ref;

/* The scope under which a tenant's secrets are registered for redaction (syncc_log_add_scoped_secret). */
void syncc_tenant_secret_scope(const syncc_tenant_ref *ref, char *out, size_t size);

/* Sets up the tenant bookkeeping of e (no query yet).  0 or -1 (out of memory). */
int syncc_tenants_init(syncc_engine *e);
void syncc_tenants_free(syncc_engine *e);

/* Number of tenant runs going on.  Caller holds e->lock. */
int syncc_tenants_running(syncc_engine *e);

/*
 * One scheduler pass over the tenants at time now: reads the sets whose
 * refresh is due (without e->lock held: call it unlocked), then starts the
 * tenants that are due within the caps.  *next is lowered to when the next
 * pass is wanted.  first: the daemon's first pass (with run_at_start every
 * tenant is due right away).
 */
void syncc_tenants_tick(syncc_engine *e, int64_t now, int first, int64_t *next);

/* Asks for every set to be read again on the next pass (SIGHUP). */
void syncc_tenants_refresh_soon(syncc_engine *e);

/*
 * Runs every tenant of every template job once (--once): reads the sets,
 * runs within the caps, waits.  Returns the worst exit code (as
 * syncc_run_all_once), SYNCC_EXIT_OK when there is no template job.  With
 * only_job, that template alone; with only_key too, that one tenant
 * (`syncengine run JOB@KEY`).
 */
int syncc_tenants_run_once(syncc_engine *e, const char *only_job, const char *only_key, int *any);

/*
 * The host's credentials_changed for a tenant's run: stores them with the
 * set's store_credentials statement before it returns.  SYNC_E_UNSUPPORTED
 * when the set has no such statement.
 */
int syncc_tenant_store_credentials(syncc_tenant_ref *ref, const char *const *names, const char *const *values,
                                   size_t n);

/*
 * `check --connect` for template job tmpl: reads its tenants, instantiates
 * each and probes it against the servers (syncc_check_connect).  Problems go
 * to out; a server that could not be asked returns its status with err.
 */
struct syncc_problems;
int syncc_tenants_check_connect(syncc_engine *e, syncc_job_rt *tmpl, struct syncc_problems *out, char *err,
                                size_t errlen);

/*
 * Reads the rows of the set of template job tmpl and calls each(job name
 * JOB@KEY) for each, in the query's order (status).  0, or a sync_status with
 * err filled.
 */
int syncc_tenants_list(syncc_engine *e, const syncc_job_rt *tmpl, void (*each)(const char *job, void *payload),
                       void *payload, char *err, size_t errlen);

#endif /* SYNCC_TENANT_H */
