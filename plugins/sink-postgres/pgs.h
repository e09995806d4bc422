/*
 * pgs.h - shared declarations of the PostgreSQL connector.
 *
 * The connector is split by job: pgs_plugin.c declares the plugin and its
 * option tables, pgs_conn.c owns the libpq connection (connect, reconnect,
 * error classification), pgs_sql.h builds SQL text and COPY data, pgs_target.c
 * reads the catalog, pgs_write.c stores batches, pgs_state.c keeps cursors and
 * leases, pgs_runlog.c the run log, pgs_hooks.c runs user SQL, pgs_purge.c
 * the full-refresh sweep of rows whose records are gone.  Everything
 * here is internal to the shared object (hidden visibility); only
 * sync_plugin_entry is exported.
 */
#ifndef PGS_H
#define PGS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>
#include <sync/sync.h>

#include "pgs_sql.h"

/* Fixed names of the engine's lease and progress tables in state_schema. */
#define PGS_LEASES_TABLE "sync_leases"
#define PGS_PROGRESS_TABLE "sync_progress"
#define PGS_SEEN_TABLE "sync_seen"

/* The host table, set by sync_plugin_entry before any callback runs. */
extern const sync_host *pgs_host;

/* ------------------------------------------------------------ connection */

typedef struct pgs_conn {
    sync_ctx *ctx;
    PGconn *pg;
    char *conninfo;            /* secret: never logged */
    char *application_name;
    int64_t statement_timeout_ms;
    int64_t connect_timeout_ms;
    int64_t reconnect_attempts;
    unsigned generation;       /* bumped on every successful (re)connect */
} pgs_conn;

/* Opens the connection once (no retries).  SYNC_E_UNAVAILABLE when the server is unreachable. */
int pgs_conn_open(pgs_conn *c);
/*
 * Makes sure the connection is usable: reconnects with backoff (up to
 * reconnect_attempts) when it is broken.  SYNC_OK, or SYNC_E_UNAVAILABLE
 * (SYNC_E_AUTH, SYNC_E_CONFIG, SYNC_E_CANCELLED) with err filled.
 */
int pgs_conn_ensure(pgs_conn *c, pgs_err *err);
void pgs_conn_close(pgs_conn *c);
/* Non-zero when the connection is gone (the last error was a connection loss). */
int pgs_conn_lost(const pgs_conn *c);

/*
 * Runs one statement with text parameters whose types the server infers
 * (types may be NULL).  Returns the result (PGRES_COMMAND_OK / TUPLES_OK) or
 * NULL after filling err; *status receives the classified sync_status.
 */
PGresult *pgs_exec(pgs_conn *c, const char *sql, int nparams, const char *const *params,
                   const unsigned *types, pgs_err *err);
/* Same, for statements without parameters or results of interest.  Returns a sync_status. */
int pgs_exec_cmd(pgs_conn *c, const char *sql, pgs_err *err);
/*
 * Opens a transaction that relies on nothing of the session: BEGIN and SET
 * LOCAL statement_timeout in one round trip, so that it behaves the same on a
 * direct connection and through a transaction-mode pooler.
 */
int pgs_tx_begin(pgs_conn *c, pgs_err *err);
/* The same, with extra (statements without parameters, ";"-separated, or NULL) in the same round trip. */
int pgs_tx_begin_with(pgs_conn *c, const char *extra, pgs_err *err);

/* Maps a SQLSTATE to a sync status. */
int pgs_sqlstate_status(const char *sqlstate);
/* Fills err from a failed result (message, SQLSTATE, column, constraint). */
void pgs_err_from_result(pgs_err *err, const PGresult *res, PGconn *pg);

/* ------------------------------------------------------------ the instance */

typedef struct pgs_target pgs_target;

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
    int state_ready;           /* schema and tables verified on this database */
    int64_t lease_ttl_ms;      /* option lease_ttl */
    pgs_nul_policy nul;        /* text_nul, text_nul_replacement */
    char *nul_repl;
    pgs_target **targets;
    size_t n_targets;
    struct pgs_lease **leases; /* leases this instance took (it renews and releases them) */
    size_t n_leases;
    struct pgs_fence *fences;  /* per job: the lease epoch every transaction of this instance checks */
    size_t n_fences;
    /* the current run (begin .. finish) */
    struct pgs_run *run;
} pgs_instance;

/* ------------------------------------------------------------ targets */

typedef struct pgs_column {
    char *name;                /* the mapped name, as records carry it */
    char *attname;             /* the column's name in the catalog */
    char *type;                /* staging type: format_type(), e.g. "character varying(255)" */
} pgs_column;

typedef enum pgs_delete_mode {
    PGS_DELETE_IGNORE = 0,
    PGS_DELETE_SOFT = 1,
    PGS_DELETE_HARD = 2
} pgs_delete_mode;

struct pgs_target {
    pgs_instance *inst;
    char *job, *stream, *name;
    char *table_q;             /* "schema"."table" */
    char *display;             /* schema.table, for messages */
    size_t index;              /* names the staging table */
    pgs_column *cols;          /* mapped columns, in the records' field order */
    pgs_sqlcol *sqlcols;       /* the same, as the SQL builders see them */
    size_t n_cols;
    size_t *key_idx;           /* indexes into cols, in conflict-key order */
    size_t n_keys;
    pgs_delete_mode delete_mode;
    char **soft_cols;          /* soft_delete_set: columns ... */
    char **soft_vals;          /* ... and the values bound to them */
    int *soft_cmp;
    size_t n_soft;
    size_t n_after_batch;      /* after_batch_sql statements (sync_affected is filled when > 0) */
    pgs_affected aff;          /* what sync_affected lists (affected_actions, affected_columns) */
    pgs_sqlcol *aff_extra;     /* affected_columns, as aff.extra points to them */
    size_t n_aff_extra;
    const sync_config *options;
    /* SQL built once at prepare */
    char *sql_stage_create;
    char *sql_copy;
    char *sql_dedupe;
    char *sql_upsert;          /* $1, $2: seq range */
    char *sql_upsert_pre;      /* the same, leaving out unchanged rows by a join first */
    int prefilter;             /* use sql_upsert_pre: most rows of the last batch were unchanged */
    char *sql_delete;          /* $1, $2: seq range, then soft-delete values */
    char *sql_affected_create;
    char *sql_affected_unchanged;
    char *sql_affected_trim;   /* NULL unless unchanged rows are listed without inserted or updated ones */
    char *sql_unstage;         /* removes one staged row (a rejected record): $1 seq */
    size_t line_bytes_hint;    /* COPY bytes per record in the previous batch */
    /* full refresh with purge_scope (pgs_purge.c); sql_seen is NULL otherwise */
    char *seen_q;              /* "schema"."sync_seen" */
    char *purge_run;           /* the run's id */
    char *purge_scope;
    char *sql_seen;            /* lists a batch's keys: $1 job, $2 stream, $3 run */
    int warned_ignored_deletes;
};

int pgs_target_prepare(pgs_instance *in, const sync_target *t, pgs_target **out);
void pgs_target_free(pgs_target *t);

/* ------------------------------------------------------------ check (pgs_check.c) */

/* The run log table and its columns as begin would resolve them, writing nothing. */
int pgs_run_probe(pgs_instance *in, const sync_config *opts);
/* The plugin's check and probe callbacks (ABI 1.2, sync_check in sync/plugin.h). */
int pgs_check(const sync_check *chk);
int pgs_probe(void *instance, const sync_check *chk);

/* ------------------------------------------------------------ full-refresh sweep (pgs_purge.c) */

/* After the target is built: sets up the sweep when the stream is a full refresh with purge_scope. */
int pgs_purge_prepare(pgs_instance *in, pgs_target *t, const sync_target *st);
/* Inside a batch's transaction, after the rows are stored: lists the batch's keys. */
int pgs_purge_batch(pgs_instance *in, pgs_target *t, pgs_err *err);
/* The sink's full_read_done: marks the unseen rows in scope, in one transaction. */
int pgs_purge_sweep(pgs_instance *in, pgs_target *t, sync_write_result *result);
void pgs_purge_free(pgs_target *t);

/* ------------------------------------------------------------ write, state, run log, hooks */

int pgs_write(pgs_instance *in, pgs_target *t, const sync_batch *batch, const sync_cursor *cursor,
              sync_write_result *result);

/* Creates the state schema and its tables when missing. */
/*
 * Runs fmt with one of the engine's tables (a quoted, qualified name such as
 * in->runs_table_q) at its one %s; the result, or NULL with err set.
 */
PGresult *pgs_exec_on(pgs_instance *in, const char *table_q, const char *fmt, int n,
                      const char *const *params, pgs_err *err);
/* The same for a statement whose result is not needed: a status. */
int pgs_exec_on_cmd(pgs_instance *in, const char *table_q, const char *fmt, int n, const char *const *params,
                    pgs_err *err);
int pgs_state_bootstrap(pgs_instance *in);
/* Only looks whether the state tables exist (state_ready); creates nothing (a read-only open). */
int pgs_state_probe(pgs_instance *in);
/* Saves a cursor inside the caller's open transaction. */
int pgs_state_save(pgs_instance *in, const sync_cursor *cur, pgs_err *err);
int pgs_state_load(pgs_instance *in, const char *job, const char *stream, char **cursor_out);
int pgs_state_reset(pgs_instance *in, const char *job, const char *stream);
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
/*
 * Adds a batch's counts to the run's progress row for stream (inside the
 * batch's transaction); nothing without a run id.
 */
int pgs_progress_add(pgs_instance *in, const char *job, const char *stream, const int64_t counts[6],
                     pgs_err *err);
/* Makes the session usable: reconnects if needed. */
int pgs_session_ready(pgs_instance *in, pgs_err *err);
/*
 * The DDL of the engine's own tables, as `syncengine setup` prints or applies
 * it: a string from malloc, or NULL without memory.
 */
char *pgs_state_ddl(const pgs_instance *in);
/* Applies pgs_state_ddl (as the owner); SYNC_OK or an error set on ctx. */
int pgs_state_setup(pgs_instance *in);

int pgs_run_begin(pgs_instance *in, const sync_run_info *run);
int pgs_run_finish(pgs_instance *in, const sync_run_info *run);
void pgs_run_free(pgs_instance *in);
/* The job's latest runs from the runs table, newest first (the sink's `runs` callback). */
int pgs_run_history(pgs_instance *in, const char *job, int max,
                    void (*each)(const sync_run_info *run, void *payload), void *payload);

/*
 * Runs the statements of MULTI option `name` in order, each with the
 * sql_params of cfg bound as $1..$n.  `what` names the phase in errors.
 */
int pgs_hooks_run(pgs_conn *c, const sync_config *cfg, const char *name, pgs_err *err);
size_t pgs_hooks_count(const sync_config *cfg, const char *name);
/*
 * Binds sql_params for one user statement (hooks, run_log_values): fills
 * values/types (at most cap) and returns how many to pass, or -1 with err
 * set when the statement refers past the configured values.
 */
int pgs_hook_params(const sync_config *cfg, const char *sql, const char *what, size_t index,
                    const char **values, unsigned *types, size_t cap, pgs_err *err);

/* Config access that tolerates a NULL option set (no job-level keys). */
/* The query operation (pgs_query.c): one statement outside any run, rows as a JSON array. */
int pgs_query(pgs_instance *in, const char *sql, const char *const *params, size_t n_params, char **rows_out);

const char *pgs_opt_string(const sync_config *cfg, const char *name);
size_t pgs_opt_count(const sync_config *cfg, const char *name);
const char *pgs_opt_item(const sync_config *cfg, const char *name, size_t i);

/* Reports err through host->set_error and logs it; returns err->status. */
int pgs_fail(sync_ctx *ctx, const pgs_err *err);

#endif /* PGS_H */
