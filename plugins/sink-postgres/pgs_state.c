/*
 * pgs_state.c - cursors and run progress kept in the database itself.
 *
 * The engine's own tables live in the state schema (option state_schema,
 * default "syncengine"); the names of the first two are options too
 * (state_table, runs_table):
 *
 *   sync_state    (job, stream, cursor, updated_at)  one cursor per stream
 *   sync_runs     (run_id, job, status, log_table, log_row_id, started_at,
 *                  ..., counts)                       runs this engine opened,
 *                                                     so a crashed run can be
 *                                                     closed and `status` sees
 *                                                     every engine's runs
 *   sync_leases   (job, epoch, holder, backend_pid, backend_start,
 *                  acquired_at, renewed_at, expires_at) one lease per job
 *   sync_progress (run_id, stream, job, counts)       what a run's committed
 *                                                     batches did, per stream
 *
 * They are created at open when missing (by a role allowed to), or once by
 * `syncengine setup` as the owner (pgs_state_ddl is the text both use), after
 * which a role with only row privileges runs the engine.
 *
 * A cursor is saved by pgs_state_save inside the transaction that stores its
 * batch, so data and cursor commit or roll back together; the batch's counts
 * go to sync_progress in the same transaction (pgs_progress_add), so the run
 * closed as failed after a crash tells what its committed batches did.
 */
#include "pgs_state.h"

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
static const char leases_table_sql[] =
    "CREATE TABLE IF NOT EXISTS %s ("
    " job text PRIMARY KEY,"
    " epoch bigint NOT NULL DEFAULT 0,"
    " holder text,"
    " run_id text,"
    " backend_pid integer,"
    " backend_start timestamptz,"
    " acquired_at timestamptz,"
    " renewed_at timestamptz,"
    " expires_at timestamptz)";
static const char progress_table_sql[] =
    "CREATE TABLE IF NOT EXISTS %s ("
    " run_id text NOT NULL,"
    " stream text NOT NULL,"
    " job text NOT NULL,"
    " processed bigint NOT NULL DEFAULT 0,"
    " inserted bigint NOT NULL DEFAULT 0,"
    " updated bigint NOT NULL DEFAULT 0,"
    " unchanged bigint NOT NULL DEFAULT 0,"
    " deleted bigint NOT NULL DEFAULT 0,"
    " failed bigint NOT NULL DEFAULT 0,"
    " updated_at timestamptz NOT NULL DEFAULT now(),"
    " PRIMARY KEY (run_id, stream))";
/* Keys a full refresh with purge_scope has stored so far (pgs_purge.c). */
static const char seen_table_sql[] =
    "CREATE TABLE IF NOT EXISTS %s ("
    " job text NOT NULL,"
    " stream text NOT NULL,"
    " run_id text NOT NULL,"
    " key text NOT NULL)";

/* Every table exists, the runs table with its newest column. */
static int tables_exist(pgs_instance *in, pgs_err *err)
{
    const char *params[] = {in->state_schema, in->cursor_table, in->runs_table, PGS_LEASES_TABLE,
                            PGS_PROGRESS_TABLE, PGS_SEEN_TABLE};
    PGresult *res = pgs_exec(&in->conn,
                             "SELECT count(DISTINCT c.relname)"
                             " + (SELECT count(*) FROM pg_catalog.pg_attribute a"
                             "    JOIN pg_catalog.pg_class r ON r.oid = a.attrelid"
                             "    JOIN pg_catalog.pg_namespace rn ON rn.oid = r.relnamespace"
                             "    WHERE rn.nspname = $1 AND r.relname = $3 AND a.attname = 'failed'"
                             "      AND NOT a.attisdropped)"
                             " FROM pg_catalog.pg_class c"
                             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                             " WHERE n.nspname = $1 AND c.relname IN ($2, $3, $4, $5, $6)",
                             6, params, NULL, err);
    if (!res)
        return -1;
    int ok = strcmp(PQgetvalue(res, 0, 0), "6") == 0;
    PQclear(res);
    return ok;
}

#define N_DDL 8

/* The statements creating the engine's tables, each from malloc (all NULL without memory). */
static int ddl_statements(const pgs_instance *in, char *out[N_DDL])
{
    pgs_buf name;
    pgs_buf_init(&name);
    pgs_buf_printf(&name, "%s_job_status", in->runs_table);
    char *raw = pgs_buf_take(&name);
    char *idx = raw ? pgs_quote_ident_dup(raw) : NULL;
    free(raw);
    struct {
        const char *fmt, *a, *b;
    } parts[N_DDL] = {
        {"CREATE SCHEMA IF NOT EXISTS %s", in->state_schema_q, NULL},
        {cursor_table_sql, in->cursor_table_q, NULL},
        {runs_table_sql, in->runs_table_q, NULL},
        {runs_table_counts_sql, in->runs_table_q, NULL},
        {"CREATE INDEX IF NOT EXISTS %s ON %s (job, status)", idx, in->runs_table_q},
        {leases_table_sql, in->leases_table_q, NULL},
        {progress_table_sql, in->progress_table_q, NULL},
        {seen_table_sql, in->seen_table_q, NULL},
    };
    int ok = idx != NULL;
    for (size_t i = 0; i < N_DDL; i++) {
        out[i] = NULL;
        if (!ok)
            continue;
        pgs_buf b;
        pgs_buf_init(&b);
        pgs_buf_printf(&b, parts[i].fmt, parts[i].a, parts[i].b);
        if (!(out[i] = pgs_buf_take(&b)))
            ok = 0;
    }
    free(idx);
    if (!ok)
        for (size_t i = 0; i < N_DDL; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    return ok ? SYNC_OK : SYNC_E_NOMEM;
}

char *pgs_state_ddl(const pgs_instance *in)
{
    char *st[N_DDL];
    if (ddl_statements(in, st) != SYNC_OK)
        return NULL;
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "BEGIN;\n");
    for (size_t i = 0; i < N_DDL; i++) {
        pgs_buf_printf(&b, "%s;\n", st[i]);
        free(st[i]);
    }
    pgs_buf_puts(&b, "COMMIT;\n");
    return pgs_buf_take(&b);
}

/* Runs the DDL in one transaction, serialized with other engines doing the same. */
static int apply_ddl(pgs_instance *in, pgs_err *err)
{
    char *st[N_DDL];
    if (ddl_statements(in, st) != SYNC_OK) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    /* two engines starting at once would otherwise race on the catalog's unique indexes */
    int rc = pgs_tx_begin(&in->conn, err);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "SELECT pg_advisory_xact_lock(hashtextextended('syncengine bootstrap', 0))",
                          err);
    for (size_t i = 0; i < N_DDL; i++) {
        if (rc == SYNC_OK)
            rc = pgs_exec_cmd(&in->conn, st[i], err);
        free(st[i]);
    }
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", err);
    if (rc != SYNC_OK && !pgs_conn_lost(&in->conn)) {
        pgs_err e2;
        pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
    }
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
    int rc = apply_ddl(in, &err);
    if (rc != SYNC_OK) {
        if (strcmp(err.sqlstate, "42501") == 0) {
            /* not an authentication problem: the role may log in, it may not create */
            char role[128], server[256];
            snprintf(role, sizeof(role), "%s", in->conn.pg ? PQuser(in->conn.pg) : "");
            /* the server's own words, without the generic hint pgs_err_from_result added */
            snprintf(server, sizeof(server), "%.*s", (int)strcspn(err.message, ";"), err.message);
            pgs_err_set(&err, SYNC_E_CONFIG,
                        "the engine's tables in schema \"%s\" are missing or incomplete and role \"%s\" may not "
                        "create them (%s); run `syncengine setup -c FILE` once as the database owner, or "
                        "grant the role CREATE on the database, then run again (see docs/security.md)",
                        in->state_schema, role, server);
            return pgs_fail(in->ctx, &err);
        }
        pgs_err_prefix(&err, "cannot create state schema \"%s\": ", in->state_schema);
        return pgs_fail(in->ctx, &err);
    }
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "created the engine's tables in schema %s", in->state_schema_q);
    in->state_ready = 1;
    return SYNC_OK;
}

int pgs_state_setup(pgs_instance *in)
{
    pgs_err err;
    int rc = apply_ddl(in, &err);
    if (rc != SYNC_OK) {
        pgs_err_prefix(&err, "setting up schema \"%s\" failed: ", in->state_schema);
        return pgs_fail(in->ctx, &err);
    }
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

int pgs_progress_add(pgs_instance *in, const char *job, const char *stream, const int64_t counts[6],
                     pgs_err *err)
{
    char run_id[64];
    pgs_lease_run_id(in, job, run_id, sizeof(run_id));
    if (!run_id[0])
        return SYNC_OK;
    char n[6][24];
    for (int i = 0; i < 6; i++)
        snprintf(n[i], sizeof(n[i]), "%lld", (long long)counts[i]);
    const char *params[] = {run_id, stream ? stream : "", job, n[0], n[1], n[2], n[3], n[4], n[5]};
    /* one row per (run, stream): parallel streams never wait on each other's row */
    PGresult *res = pgs_exec_on(in, in->progress_table_q,
                                "INSERT INTO %s AS p (run_id, stream, job, processed, inserted, updated, unchanged,"
                                " deleted, failed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
                                " ON CONFLICT (run_id, stream) DO UPDATE SET"
                                " processed = p.processed + EXCLUDED.processed,"
                                " inserted = p.inserted + EXCLUDED.inserted, updated = p.updated + EXCLUDED.updated,"
                                " unchanged = p.unchanged + EXCLUDED.unchanged,"
                                " deleted = p.deleted + EXCLUDED.deleted, failed = p.failed + EXCLUDED.failed,"
                                " updated_at = now()",
                                9, params, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

int pgs_state_open(sync_ctx *ctx, const sync_config *cfg, pgs_instance **out)
{
    pgs_instance *in = NULL;
    int rc = pgs_session_new(ctx, cfg, &in);
    if (rc != SYNC_OK)
        return rc;
    rc = pgs_conn_open(&in->conn);
    /* opened only to read (status, ABI 1.2): tables that do not exist yet are not created */
    int read_only = SYNC_HOST_HAS(pgs_host, ctx_read_only) && pgs_host->ctx_read_only(ctx);
    if (rc == SYNC_OK)
        rc = read_only ? pgs_state_probe(in) : pgs_state_bootstrap(in);
    if (rc != SYNC_OK) {
        pgs_session_free(in);
        return rc;
    }
    *out = in;
    return SYNC_OK;
}

int pgs_state_setup_section(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    pgs_instance *in = NULL;
    if (ddl_out)
        *ddl_out = NULL;
    int rc = pgs_session_new(ctx, cfg, &in);
    if (rc != SYNC_OK)
        return rc;
    char *ddl = pgs_state_ddl(in);
    if (!ddl) {
        pgs_session_free(in);
        return SYNC_E_NOMEM;
    }
    if (apply) {
        rc = pgs_conn_open(&in->conn);
        if (rc == SYNC_OK)
            rc = pgs_state_setup(in);
    }
    if (rc == SYNC_OK && ddl_out) {
        size_t n = strlen(ddl);
        *ddl_out = pgs_host->alloc(n + 1);
        if (*ddl_out)
            memcpy(*ddl_out, ddl, n + 1);
        else
            rc = SYNC_E_NOMEM;
    }
    free(ddl);
    pgs_session_free(in);
    return rc;
}
