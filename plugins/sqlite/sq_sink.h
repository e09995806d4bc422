/*
 * sq_sink.h - the SQLite connector's sink role.
 *
 * Batched upserts into a table, one BEGIN IMMEDIATE transaction per batch
 * holding the stream's cursor (SQ_STATE_TABLE) and a lease check; soft and
 * hard deletes; records SQLite refuses (constraints, type checks) rejected one
 * by one while the rest of the batch commits; the engine's run log
 * (SQ_RUNS_TABLE) and an optional run-log table of the user's; leases
 * (SQ_LEASES_TABLE) so that two engines on one file never write the same job
 * at once.  Built on sq_conn.h and sq_sql.h only.
 */
#ifndef SQ_SINK_H
#define SQ_SINK_H

#include <sync/sync.h>

#include "sq_conn.h"

enum { DEL_IGNORE = 0, DEL_SOFT = 1, DEL_HARD = 2 };

/* A resolved target: what a batch of one stream writes, shared by the file and the D1 backend. */
typedef struct sq_target {
    char *table;
    char *job, *stream;
    size_t n;               /* mapped columns, in the records' order */
    char **cols;            /* as the table spells them */
    sq_affinity *aff;
    sq_kind *kind;
    int *is_key, *compare;
    size_t n_keys;
    char **keys;
    size_t *key_idx;        /* position of each key column among the mapped columns */
    int delete_mode;
    size_t n_soft;
    char **soft_cols, **soft_vals;
    sq_unit unit;
    sqlite3_stmt *upsert, *exists, *del, *soft; /* the file backend's prepared statements */
    int warned_ignored;
} sq_target;

/* Non-zero when tb has a primary key or full unique index on exactly keys (see sq_table_has_unique). */
typedef int (*sq_unique_fn)(void *arg, const sq_table *tb, const char *const *keys, size_t n_keys);

/*
 * Resolves a target against its table's columns tb (loaded by the caller):
 * the mapped columns, the conflict key and its unique index (has_unique), the
 * soft-delete assignments.  where_db names the database in messages (a file
 * path, or "D1 database ID").  Problems go to p; returns SYNC_OK or the first
 * problem's status.
 */
int sq_target_resolve(const sq_table *tb, const char *where_db, sq_unique_fn has_unique, void *arg,
                      const char *table, const sync_column *columns, size_t n_columns,
                      const char *const *column_where, const char *stream_where, const sync_config *opts,
                      sq_problems *p, sq_target *t);
void sq_target_free(sq_target *t);

/*
 * A record value as the SQLite value its column stores (see
 * docs/plugins/sqlite.md), for both backends: the file binds it, D1 sends it
 * as a JSON parameter.  text points into the value or into buf.
 */
typedef struct sq_cell {
    enum { SQ_CELL_NULL, SQ_CELL_INT, SQ_CELL_REAL, SQ_CELL_TEXT } type;
    int64_t i;
    double f;
    const char *text;
    size_t len;
    char buf[48];
} sq_cell;
void sq_cell_from_value(sq_cell *c, const sync_value *v, sq_affinity aff, sq_unit unit);

/*
 * The value of key column k of rec into *v: the mapped field, else (a
 * one-column key) the record's key as text.  0 after rejecting the record
 * for a NULL key.
 */
int sq_key_field(sync_ctx *ctx, const sq_target *t, const sync_record *rec, size_t k, sync_value *v);

/* After a batch: counts ignored deletes (warning once per target) and logs the batch's counts. */
void sq_batch_report(sync_ctx *ctx, sq_target *t, size_t n, int64_t ignored, const sync_write_result *result);

/* The engine's tables in the database (CREATE ... IF NOT EXISTS, ";"-separated). */
extern const char sq_state_ddl[];
/* Names of sync_run_status values as the runs table stores them ("running", "success", ...). */
extern const char *const sq_run_status[5];
const char *sq_run_status_name(sync_run_status s);

/*
 * The lease epoch this process holds per (database, job), where database is a
 * file path or "d1:<database id>": every instance writing the job checks it
 * in each batch.  get: 1 and *epoch when held.
 */
int sq_fence_get(const char *db, const char *job, int64_t *epoch);
int sq_fence_put(const char *db, const char *job, int64_t epoch);
void sq_fence_drop(const char *db, const char *job);

/* This process as a lease row names its holder: host name, pid, and the pid's start time (sq_proc_start). */
typedef struct sq_lease_self {
    char host[256];
    long pid;
    int64_t start;
} sq_lease_self;
void sq_lease_self_get(sq_lease_self *me);
/* Is the holder of an unreleased lease row (host, pid, start) still alive, seen from me? */
int sq_lease_holder_alive(const sq_lease_self *me, const char *host, long pid, int64_t start);
/* The error of a job whose lease another engine holds. */
void sq_lease_held(sync_ctx *ctx, const char *host, long long pid, long long epoch, const char *where_db);

int sq_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int sq_sink_begin(void *instance, const sync_run_info *run);
int sq_sink_prepare(void *instance, const sync_target *target, void **target_state);
int sq_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result);
int sq_sink_finish(void *instance, const sync_run_info *run);
void sq_sink_close(void *instance);
int sq_sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out);
int sq_sink_state_reset(void *instance, const char *job, const char *stream);
int sq_sink_lease_acquire(void *instance, const char *job, int *acquired);
void sq_sink_lease_release(void *instance, const char *job);
int sq_sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                 void *payload);
int sq_sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out);
/* check --connect of a sink use (see sync_plugin.probe). */
int sq_sink_probe(void *instance, const sync_check *chk);

#endif /* SQ_SINK_H */
