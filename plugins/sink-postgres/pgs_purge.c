/*
 * pgs_purge.c - a full re-sync marks the rows whose records it did not see.
 *
 * A record purged at the source (hard-deleted, or gone from the recycle bin)
 * reaches no read again, so only a complete read can tell that it is gone.
 * With the stream option purge_scope (an SQL condition selecting the rows
 * this stream owns in its table), a full refresh works in two steps:
 *
 *   1. every batch's transaction lists the keys it staged in the engine's
 *      table <state_schema>.sync_seen (job, stream, run, key as text): one
 *      INSERT ... SELECT from the staging rows, so a key is listed exactly
 *      when its row is committed, whatever connection or pooler session the
 *      next batch runs on;
 *   2. when the engine reports the read complete (ABI 1.2 full_read_done:
 *      the source reached the end, nothing failed or was rejected), one
 *      transaction applies the stream's delete_mode (soft or hard) to the
 *      rows in the scope whose key this run did not list, fills
 *      sync_affected and runs after_batch_sql for them as for any deleted
 *      record, and clears the run's keys.
 *
 * A failed, stopped or partial read never reaches step 2; its keys are
 * cleared by the stream's next full refresh.  Incremental runs do neither.
 */
#include "pgs_purge.h"

#include "pgs_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXTOID 25

static int purge_fail(pgs_target *t, pgs_err *err, const char *what)
{
    pgs_err_prefix(err, "%s for full refresh of %s: ", what, t->display);
    return pgs_fail(t->inst->ctx, err);
}

int pgs_purge_prepare(pgs_instance *in, pgs_target *t, const sync_target *st)
{
    const char *scope = pgs_opt_string(st->options, "purge_scope");
    if (scope == NULL || scope[0] == '\0')
        return SYNC_OK;
    if (t->delete_mode == PGS_DELETE_IGNORE) {
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "%s: sink.purge_scope (%s) has no effect with sink.delete_mode = "
                      "ignore", t->display, pgs_host->config_where(st->options, "purge_scope"));
        return SYNC_OK;
    }
    if (!SYNC_TARGET_HAS(st, full_refresh) || !st->full_refresh || st->run_id == NULL)
        return SYNC_OK; /* only a full refresh sees every record */
    pgs_err err;
    t->seen_q = strdup(in->seen_table_q); /* created with the engine's other tables (pgs_state.c) */
    t->purge_run = strdup(st->run_id);
    t->purge_scope = strdup(scope);
    char stage[48];
    snprintf(stage, sizeof(stage), "sync_stage_%zu", t->index);
    t->sql_seen = t->seen_q ? pgs_sql_seen_insert(t->seen_q, stage, t->sqlcols, t->n_cols) : NULL;
    if (!t->seen_q || !t->purge_run || !t->purge_scope || !t->sql_seen)
        return SYNC_E_NOMEM;
    /* keys a failed full refresh of this stream left behind */
    const char *params[] = {t->job, t->stream};
    if (pgs_exec_on_cmd(in, t->seen_q, "DELETE FROM %s WHERE job = $1 AND stream = $2", 2, params, &err) !=
        SYNC_OK)
        return purge_fail(t, &err, "cannot clear the seen keys");
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "%s: full refresh; rows in sink.purge_scope that the read does not "
                  "see will be marked deleted once it completes", t->display);
    return SYNC_OK;
}

int pgs_purge_batch(pgs_instance *in, pgs_target *t, pgs_err *err)
{
    if (t->sql_seen == NULL)
        return SYNC_OK;
    const char *params[] = {t->job, t->stream, t->purge_run};
    PGresult *res = pgs_exec(&in->conn, t->sql_seen, 3, params, NULL, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

/* The sweep's statement and parameters: sql_params first (as the scope uses them), then ours. */
static int sweep_statement(pgs_target *t, char **sql, const char **values, unsigned *types, size_t cap,
                           int *n_params, pgs_err *err)
{
    int base = pgs_hook_params(t->options, t->purge_scope, "purge_scope", 0, values, types, cap - 3 - t->n_soft,
                               err);
    if (base < 0)
        return err->status;
    values[base] = t->job;
    values[base + 1] = t->stream;
    values[base + 2] = t->purge_run;
    types[base] = types[base + 1] = types[base + 2] = TEXTOID;
    int np = base + 3;
    if (t->delete_mode == PGS_DELETE_SOFT)
        for (size_t i = 0; i < t->n_soft; i++) {
            values[np] = t->soft_vals[i];
            types[np++] = 0;
        }
    *n_params = np;
    const pgs_affected *aff = t->n_after_batch ? &t->aff : NULL;
    *sql = pgs_sql_sweep(t->table_q, t->seen_q, t->purge_scope, base, t->sqlcols, t->n_cols,
                         t->delete_mode == PGS_DELETE_HARD, (const char *const *)t->soft_cols, t->soft_cmp,
                         t->n_soft, aff);
    if (*sql == NULL) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    return SYNC_OK;
}

static int sweep_once(pgs_instance *in, pgs_target *t, int64_t *deleted, pgs_err *err)
{
    const char *values[64 + 3 + 64];
    unsigned types[64 + 3 + 64];
    char *sql = NULL;
    int np = 0;
    int rc = sweep_statement(t, &sql, values, types, sizeof(values) / sizeof(values[0]), &np, err);
    if (rc != SYNC_OK)
        return rc;
    int hooks = t->n_after_batch > 0;
    /* the job's lease is proved inside this transaction, as for every batch; sync_affected
     * (ON COMMIT DROP) is this transaction's own, with this target's columns */
    rc = pgs_job_begin_with(in, t->job, hooks ? t->sql_affected_create : NULL, err);
    /* The seen keys were written moments ago, so the table has no statistics yet: the
     * planner would pair every row in scope with a scan of them (minutes for 10^4 x 10^5).
     * One hash of the run's keys, probed once per row, is the plan wanted whatever the sizes. */
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "SET LOCAL enable_nestloop = off", err);
    if (rc == SYNC_OK) {
        PGresult *res = pgs_exec(&in->conn, sql, np, values, types, err);
        if (res) {
            *deleted = PQntuples(res) > 0 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
            PQclear(res);
        } else {
            pgs_err_prefix(err, "sink.purge_scope (%s): ", pgs_host->config_where(t->options, "purge_scope"));
            rc = err->status;
        }
    }
    free(sql);
    if (rc == SYNC_OK && hooks && *deleted > 0)
        rc = pgs_hooks_run(&in->conn, t->options, "after_batch_sql", err);
    if (rc == SYNC_OK) {
        const char *params[] = {t->job, t->stream};
        rc = pgs_exec_on_cmd(in, t->seen_q, "DELETE FROM %s WHERE job = $1 AND stream = $2", 2, params, err);
    }
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", err);
    if (rc != SYNC_OK && !pgs_conn_lost(&in->conn)) {
        pgs_err e2;
        pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
    }
    return rc;
}

int pgs_purge_sweep(pgs_instance *in, pgs_target *t, sync_write_result *result)
{
    memset(result, 0, sizeof(*result));
    if (t->sql_seen == NULL)
        return SYNC_OK;
    pgs_err err;
    int64_t deleted = 0;
    /* the seen keys are committed rows: after a lost connection the engine
     * calls again (it owns the retries) and the sweep simply runs again */
    int rc = pgs_session_ready(in, &err);
    if (rc == SYNC_OK)
        rc = sweep_once(in, t, &deleted, &err);
    if (rc != SYNC_OK)
        return purge_fail(t, &err, "marking the rows the read did not see failed");
    result->deleted = deleted;
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "%s: full refresh complete; %lld row(s) in sink.purge_scope that the "
                  "read did not see marked deleted (%s)", t->display, (long long)deleted,
                  t->delete_mode == PGS_DELETE_HARD ? "hard" : "soft");
    free(t->sql_seen);
    t->sql_seen = NULL; /* once per run */
    return SYNC_OK;
}
