/*
 * pgs_state.c - cursors and leases kept in the database itself.
 *
 * The engine's own tables live in the state schema (option state_schema,
 * default "syncengine"), created on first use and never anywhere else; their
 * names are options too (state_table, runs_table):
 *
 *   sync_state (job, stream, cursor, updated_at)  one cursor per stream
 *   sync_runs  (run_id, job, status, log_table, log_row_id, started_at, ...,
 *               counts)                           runs this engine opened, so
 *                                                 a crashed run can be closed
 *                                                 and `status` sees every
 *                                                 engine's runs
 *
 * A cursor is saved by pgs_state_save inside the transaction that stores its
 * batch, so data and cursor commit or roll back together.
 *
 * Leases are session-level advisory locks keyed by hashing state schema and
 * job name: held by the instance's connection, given up by lease_release, and
 * released by the server when the holding process dies.  A reconnect loses
 * them, so pgs_lease_reacquire takes them back before any write continues;
 * if another engine got one in between, the write fails as a conflict.
 */
#include "pgs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The cursor table, the runs table, and an index of the runs table. */
static const char cursor_table_sql[] =
    "CREATE TABLE IF NOT EXISTS %s ("
    " job text NOT NULL,"
    " stream text NOT NULL,"
    " cursor text,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (job, stream))";
static const char runs_table_sql[] =
    "CREATE TABLE IF NOT EXISTS %s ("
    " run_id text PRIMARY KEY,"
    " job text NOT NULL,"
    " status text NOT NULL,"
    " log_table text,"
    " log_key_column text,"
    " log_row_id text,"
    " started_at timestamptz NOT NULL,"
    " finished_at timestamptz,"
    " error_message text)";
/* Columns added after the first release: a runs table made by it gets them. */
static const char runs_table_counts_sql[] =
    "ALTER TABLE %s"
    " ADD COLUMN IF NOT EXISTS full_refresh boolean NOT NULL DEFAULT false,"
    " ADD COLUMN IF NOT EXISTS processed bigint, ADD COLUMN IF NOT EXISTS inserted bigint,"
    " ADD COLUMN IF NOT EXISTS updated bigint, ADD COLUMN IF NOT EXISTS unchanged bigint,"
    " ADD COLUMN IF NOT EXISTS deleted bigint, ADD COLUMN IF NOT EXISTS failed bigint";

PGresult *pgs_exec_on(pgs_instance *in, const char *table_q, const char *fmt, int n,
                      const char *const *params, pgs_err *err)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, fmt, table_q);
    char *sql = pgs_buf_take(&b);
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return NULL;
    }
    PGresult *res = pgs_exec(&in->conn, sql, n, params, NULL, err);
    free(sql);
    return res;
}

int pgs_exec_on_cmd(pgs_instance *in, const char *table_q, const char *fmt, int n, const char *const *params,
                    pgs_err *err)
{
    PGresult *res = pgs_exec_on(in, table_q, fmt, n, params, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

/* Both tables exist, the runs table with its newest column. */
static int tables_exist(pgs_instance *in, pgs_err *err)
{
    const char *params[] = {in->state_schema, in->cursor_table, in->runs_table};
    PGresult *res = pgs_exec(&in->conn,
                             "SELECT count(DISTINCT c.relname)"
                             " + (SELECT count(*) FROM pg_catalog.pg_attribute a"
                             "    JOIN pg_catalog.pg_class r ON r.oid = a.attrelid"
                             "    JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace"
                             "    WHERE rn.nspname = $1 AND r.relname = $3 AND a.attname = 'failed'"
                             "      AND NOT a.attisdropped)"
                             " FROM pg_catalog.pg_class c"
                             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                             " WHERE n.nspname = $1 AND c.relname IN ($2, $3)",
                             3, params, NULL, err);
    if (!res)
        return -1;
    int ok = strcmp(PQgetvalue(res, 0, 0), "3") == 0;
    PQclear(res);
    return ok;
}

/* CREATE INDEX IF NOT EXISTS "<runs_table>_job_status" ON <runs> (job, status). */
static int create_runs_index(pgs_instance *in, pgs_err *err)
{
    pgs_buf name;
    pgs_buf_init(&name);
    pgs_buf_printf(&name, "%s_job_status", in->runs_table);
    char *raw = pgs_buf_take(&name);
    char *idx = raw ? pgs_quote_ident_dup(raw) : NULL;
    free(raw);
    if (!idx) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "CREATE INDEX IF NOT EXISTS %s ON %s (job, status)", idx, in->runs_table_q);
    free(idx);
    char *sql = pgs_buf_take(&b);
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    int rc = pgs_exec_cmd(&in->conn, sql, err);
    free(sql);
    return rc;
}

int pgs_state_probe(pgs_instance *in)
{
    pgs_err err;
    int have = tables_exist(in, &err);
    if (have < 0)
        return pgs_fail(in->ctx, &err);
    in->state_ready = have;
    return SYNC_OK;
}

int pgs_state_bootstrap(pgs_instance *in)
{
    pgs_err err;
    int have = tables_exist(in, &err);
    if (have < 0)
        return pgs_fail(in->ctx, &err);
    if (have) {
        in->state_ready = 1;
        return SYNC_OK;
    }
    /* Serialize concurrent bootstraps (two engines starting at once would
     * otherwise race on the catalog's unique indexes). */
    int rc = pgs_exec_cmd(&in->conn, "BEGIN", &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn,
                          "SELECT pg_advisory_xact_lock(hashtextextended('syncengine bootstrap', 0))",
                          &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->state_schema_q, "CREATE SCHEMA IF NOT EXISTS %s", 0, NULL, &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->cursor_table_q, cursor_table_sql, 0, NULL, &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->runs_table_q, runs_table_sql, 0, NULL, &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->runs_table_q, runs_table_counts_sql, 0, NULL, &err);
    if (rc == SYNC_OK)
        rc = create_runs_index(in, &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    if (rc != SYNC_OK) {
        pgs_err e2;
        if (!pgs_conn_lost(&in->conn))
            pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
        pgs_err_prefix(&err, "cannot create state schema \"%s\": ", in->state_schema);
        return pgs_fail(in->ctx, &err);
    }
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "created state tables %s and %s", in->cursor_table_q,
                  in->runs_table_q);
    in->state_ready = 1;
    return SYNC_OK;
}

int pgs_state_save(pgs_instance *in, const sync_cursor *cur, pgs_err *err)
{
    const char *params[] = {cur->job, cur->stream ? cur->stream : "", cur->value};
    PGresult *res = pgs_exec_on(in, in->cursor_table_q,
                                "INSERT INTO %s AS s (job, stream, cursor, updated_at)"
                                " VALUES ($1, $2, $3, now())"
                                " ON CONFLICT (job, stream) DO UPDATE"
                                " SET cursor = EXCLUDED.cursor, updated_at = EXCLUDED.updated_at",
                                3, params, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

int pgs_state_load(pgs_instance *in, const char *job, const char *stream, char **cursor_out)
{
    pgs_err err;
    *cursor_out = NULL;
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    const char *params[] = {job, stream ? stream : ""};
    PGresult *res = pgs_exec_on(in, in->cursor_table_q, "SELECT cursor FROM %s WHERE job = $1 AND stream = $2",
                                2, params, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    /* no row, or a NULL cursor: no saved position (SYNC_OK, *cursor_out NULL) */
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        const char *v = PQgetvalue(res, 0, 0);
        size_t n = strlen(v);
        *cursor_out = pgs_host->alloc(n + 1);
        if (!*cursor_out) {
            PQclear(res);
            return SYNC_E_NOMEM;
        }
        memcpy(*cursor_out, v, n + 1);
    }
    PQclear(res);
    return SYNC_OK;
}

int pgs_state_reset(pgs_instance *in, const char *job, const char *stream)
{
    pgs_err err;
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    const char *params[] = {job, stream};
    PGresult *res = stream ? pgs_exec_on(in, in->cursor_table_q, "DELETE FROM %s WHERE job = $1 AND stream = $2",
                                         2, params, &err)
                           : pgs_exec_on(in, in->cursor_table_q, "DELETE FROM %s WHERE job = $1", 1,
                                         params, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "reset %s cursor(s) of job \"%s\"%s%s%s",
                  PQcmdTuples(res), job, stream ? ", stream \"" : "", stream ? stream : "",
                  stream ? "\"" : "");
    PQclear(res);
    return SYNC_OK;
}

/* ------------------------------------------------------------------ leases */

/* The lock key: 64-bit hash of "<state_schema>/<job>", computed by the server. */
static int try_lock(pgs_instance *in, const char *job, int *acquired, pgs_err *err)
{
    char *key = malloc(strlen(in->state_schema) + strlen(job) + 2);
    if (!key) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    sprintf(key, "%s/%s", in->state_schema, job);
    const char *params[] = {key};
    PGresult *res = pgs_exec(&in->conn, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", 1,
                             params, NULL, err);
    free(key);
    if (!res)
        return err->status;
    *acquired = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return SYNC_OK;
}

static long lease_index(pgs_instance *in, const char *job)
{
    for (size_t i = 0; i < in->n_leases; i++)
        if (strcmp(in->leases[i], job) == 0)
            return (long)i;
    return -1;
}

int pgs_lease_acquire(pgs_instance *in, const char *job, int *acquired)
{
    pgs_err err;
    *acquired = 0;
    if (lease_index(in, job) >= 0) {
        *acquired = 1; /* session locks stack; holding one is enough */
        return SYNC_OK;
    }
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    rc = try_lock(in, job, acquired, &err);
    if (rc != SYNC_OK && pgs_conn_lost(&in->conn) && pgs_session_ready(in, &err) == SYNC_OK)
        rc = try_lock(in, job, acquired, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    if (!*acquired) {
        pgs_host->log(in->ctx, SYNC_LOG_INFO, "job \"%s\" is running elsewhere (lease held by another session)",
                      job);
        return SYNC_OK;
    }
    char **grown = realloc(in->leases, (in->n_leases + 1) * sizeof(*grown));
    char *copy = strdup(job);
    if (!grown || !copy) {
        free(copy);
        if (grown)
            in->leases = grown;
        pgs_lease_release(in, job);
        *acquired = 0;
        return SYNC_E_NOMEM;
    }
    in->leases = grown;
    in->leases[in->n_leases++] = copy;
    return SYNC_OK;
}

void pgs_lease_release(pgs_instance *in, const char *job)
{
    long i = lease_index(in, job);
    if (i >= 0) {
        free(in->leases[i]);
        in->leases[i] = in->leases[--in->n_leases];
    }
    if (pgs_conn_lost(&in->conn))
        return; /* the server already dropped the lock with the session */
    char *key = malloc(strlen(in->state_schema) + strlen(job) + 2);
    if (!key)
        return;
    sprintf(key, "%s/%s", in->state_schema, job);
    const char *params[] = {key};
    pgs_err err;
    PGresult *res = pgs_exec(&in->conn, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", 1,
                             params, NULL, &err);
    free(key);
    if (res)
        PQclear(res);
    else
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "releasing the lease of job \"%s\" failed: %s", job,
                      err.message);
}

int pgs_session_ready(pgs_instance *in, pgs_err *err)
{
    int rc = pgs_conn_ensure(&in->conn, err);
    if (rc != SYNC_OK)
        return rc;
    if (in->lease_generation == in->conn.generation)
        return SYNC_OK;
    for (size_t i = 0; i < in->n_leases; i++) {
        int got = 0;
        if ((rc = try_lock(in, in->leases[i], &got, err)) != SYNC_OK)
            return rc;
        if (!got) {
            pgs_err_set(err, SYNC_E_CONFLICT,
                        "lease of job \"%s\" was lost with the connection and another engine holds it now",
                        in->leases[i]);
            return SYNC_E_CONFLICT;
        }
    }
    in->lease_generation = in->conn.generation;
    return SYNC_OK;
}
