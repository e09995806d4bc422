/*
 * pgs_session.h - the connector's instance and its session with the
 * database: the engine's table names, leases and the lease fence
 * (pgs_session.c).
 *
 * Layer 2, above the connection (pgs_conn.h).  An instance is one [sink NAME]
 * section used by one run: its connection, where the engine's own tables live
 * (state_schema), the leases it took and, per job, the lease epoch every
 * transaction it opens for that job proves first (pgs_job_begin).  The layers
 * above -- state, target, write, run log, purge, query, check -- reach the
 * database through this layer (pgs_session_ready, pgs_job_begin,
 * pgs_exec_on) or the connection below it, never through each other.
 * The sink's own parts of the instance (targets, the current run) are opaque
 * here; pgs_target.h and pgs_runlog.h own them.
 */
#ifndef PGS_SESSION_H
#define PGS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "pgs_conn.h"

/* Fixed names of the engine's lease, progress and seen-keys tables in state_schema. */
#define PGS_LEASES_TABLE "sync_leases"
#define PGS_PROGRESS_TABLE "sync_progress"
#define PGS_SEEN_TABLE "sync_seen"

struct pgs_target;
struct pgs_run;
struct pgs_lease;
struct pgs_fence;

typedef struct pgs_instance {
    sync_ctx *ctx;
    pgs_conn conn;
    char *state_schema;        /* unquoted name */
    char *state_schema_q;      /* quoted */
    char *cursor_table;        /* unquoted names of the engine's two tables */
    char *runs_table;
    char *cursor_table_q;      /* "schema"."table", quoted */
    char *runs_table_q;
    char *leases_table_q;      /* "schema"."sync_leases" */
    char *progress_table_q;    /* "schema"."sync_progress" */
    char *seen_table_q;        /* "schema"."sync_seen" */
    int state_ready;           /* schema and tables verified on this database (pgs_state.c) */
    int64_t lease_ttl_ms;      /* option lease_ttl */
    pgs_nul_policy nul;        /* text_nul, text_nul_replacement */
    char *nul_repl;
    struct pgs_lease **leases; /* leases this instance took (it renews and releases them) */
    size_t n_leases;
    struct pgs_fence *fences;  /* per job: the lease epoch every transaction of this instance checks */
    size_t n_fences;
    /* the sink's parts: prepared targets (pgs_target.h) and the current run (pgs_runlog.h) */
    struct pgs_target **targets;
    size_t n_targets;
    struct pgs_run *run;
} pgs_instance;

/*
 * The instance as the section's options describe it, not connected yet.
 * SYNC_OK, or SYNC_E_CONFIG (set on ctx, naming the option) / SYNC_E_NOMEM.
 */
int pgs_session_new(sync_ctx *ctx, const sync_config *cfg, pgs_instance **out);
/*
 * Gives back the leases still held, closes the connection and frees the
 * instance.  The targets and the run must have been freed by their owners.
 */
void pgs_session_free(pgs_instance *in);

/* Makes the session usable: reconnects if needed (pgs_conn_ensure). */
int pgs_session_ready(pgs_instance *in, pgs_err *err);

/*
 * Runs fmt with one of the engine's tables (a quoted, qualified name such as
 * in->runs_table_q) at its one %s; the result, or NULL with err set.
 */
PGresult *pgs_exec_on(pgs_instance *in, const char *table_q, const char *fmt, int n,
                      const char *const *params, pgs_err *err);
/* The same for a statement whose result is not needed: a status. */
int pgs_exec_on_cmd(pgs_instance *in, const char *table_q, const char *fmt, int n, const char *const *params,
                    pgs_err *err);

/*
 * Leases are rows of the leases table with an epoch that every take-over
 * increments.  lease_acquire takes the row when it is free, expired, or its
 * holder's session is gone, and starts a thread that renews it; every
 * transaction that writes for the job (batches, run log, hooks) checks the
 * epoch first (pgs_job_begin), so a process that lost its lease writes
 * nothing more.
 */
int pgs_lease_acquire(pgs_instance *in, const char *job, int *acquired);
void pgs_lease_release(pgs_instance *in, const char *job);
/* Forgets the instance's leases and fences (close). */
void pgs_lease_free_all(pgs_instance *in);
/*
 * Opens a transaction for job (pgs_tx_begin) and, when this process holds the
 * job's lease, proves inside it that the lease is still held (the row is
 * locked FOR SHARE until COMMIT, so no take-over can commit in between).  A
 * lost lease is SYNC_ERROR with err saying who took the job; the transaction
 * is rolled back then.
 */
int pgs_job_begin(pgs_instance *in, const char *job, pgs_err *err);
/* The same, sending extra (see pgs_tx_begin_with) with BEGIN, before the lease is checked. */
int pgs_job_begin_with(pgs_instance *in, const char *job, const char *extra, pgs_err *err);
/* Non-zero when err is the lease-lost error of pgs_job_begin. */
int pgs_err_is_lease_lost(const pgs_err *err);
/* The run id this process's lease of job runs under ("" before begin, or without a lease). */
void pgs_lease_run_id(pgs_instance *in, const char *job, char *out, size_t size);
/* Records the run a lease of job belongs to (run log begin). */
void pgs_lease_set_run(pgs_instance *in, const char *job, const char *run_id);

#endif /* PGS_SESSION_H */
