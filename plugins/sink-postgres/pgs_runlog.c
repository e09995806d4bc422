/*
 * pgs_runlog.c - one row per run in a user table (run_log_table).
 *
 * begin() first closes runs of the same job that are still "running" in the
 * sink's own bookkeeping (the runs table, state_schema.sync_runs by default): their engine stopped or
 * crashed before finish().  Only rows this sink created are touched, found
 * through the run-log row id kept in sync_runs.  Then it inserts the new
 * row with status "running" and runs before_run_sql.  finish() fills in
 * status, counts, completion time, duration, error and details, and runs
 * after_run_sql in the same transaction.
 *
 * Which column receives which run field is configured with run_log_columns
 * (field=column); a field not listed goes to a column of the same name when
 * the table has one.  run_log_values adds constant columns (column=$N from
 * sql_params, or column=literal).  All values are bound as parameters, so the
 * server converts them to each column's type (uuid, integer, jsonb, ...).
 */
#include "pgs_runlog.h"

#include "pgs_hooks.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    RF_RUN_ID, RF_JOB, RF_SYNC_TYPE, RF_STATUS, RF_PROCESSED, RF_CREATED, RF_UPDATED, RF_UNCHANGED,
    RF_DELETED, RF_FAILED, RF_STARTED_AT, RF_COMPLETED_AT, RF_DURATION_MS, RF_ERROR_MESSAGE,
    RF_ERROR_DETAILS, RF_METADATA, RF_COUNT
};

static const char *const field_names[RF_COUNT] = {
    "run_id", "job", "sync_type", "status", "processed", "created", "updated", "unchanged",
    "deleted", "failed", "started_at", "completed_at", "duration_ms", "error_message",
    "error_details", "metadata",
};

/* The engine's run statuses as the run log writes them by default, indexed by sync_run_status. */
static const char *const run_statuses[] = {
    [SYNC_RUN_RUNNING] = "running", [SYNC_RUN_SUCCESS] = "success", [SYNC_RUN_PARTIAL] = "partial",
    [SYNC_RUN_FAILED] = "failed", [SYNC_RUN_RATE_LIMITED] = "rate_limited",
};
#define RUN_STATUS_COUNT (sizeof(run_statuses) / sizeof(run_statuses[0]))

typedef struct pgs_run {
    char *job, *run_id;
    const sync_config *opts;
    int has_log;
    char *log_schema, *log_name;  /* unquoted */
    char *log_q;                  /* "schema"."table" */
    char *key_col;                /* column identifying our row */
    char *key_val;                /* its value (text) */
    char *cols[RF_COUNT];         /* column per field, or NULL */
    char **const_cols, **const_vals;
    size_t n_const;
    /* run_log_statuses: the table's word for each engine status, or NULL (the same) */
    char *status_as[RUN_STATUS_COUNT];
} pgs_run;

/* Parameters and column list of one INSERT or UPDATE. */
typedef struct assigns {
    const char *col[RF_COUNT + 64];
    const char *val[RF_COUNT + 64];
    size_t n;
} assigns;

static void add(assigns *a, const char *col, const char *val)
{
    if (col && a->n < sizeof(a->col) / sizeof(a->col[0])) {
        a->col[a->n] = col;
        a->val[a->n] = val;
        a->n++;
    }
}

void pgs_run_free(pgs_instance *in)
{
    pgs_run *r = in->run;
    if (!r)
        return;
    free(r->job);
    free(r->run_id);
    free(r->log_schema);
    free(r->log_name);
    free(r->log_q);
    free(r->key_col);
    free(r->key_val);
    for (size_t i = 0; i < RF_COUNT; i++)
        free(r->cols[i]);
    for (size_t i = 0; i < r->n_const; i++) {
        free(r->const_cols[i]);
        free(r->const_vals[i]);
    }
    free(r->const_cols);
    free(r->const_vals);
    for (size_t i = 0; i < RUN_STATUS_COUNT; i++)
        free(r->status_as[i]);
    free(r);
    in->run = NULL;
}

static int fail(pgs_instance *in, int status, const char *fmt, ...) SYNC_PRINTF(3, 4);

static int fail(pgs_instance *in, int status, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgs_host->set_error(in->ctx, "%s", msg);
    return status;
}

/* What the run-log table calls an engine status (run_log_statuses). */
static const char *status_as(const pgs_run *r, const char *status)
{
    for (size_t i = 0; i < RUN_STATUS_COUNT; i++)
        if (strcmp(run_statuses[i], status) == 0)
            return r->status_as[i] ? r->status_as[i] : status;
    return status;
}

/* Reads run_log_statuses: status=word pairs, each status one of run_statuses. */
static int parse_statuses(pgs_instance *in, pgs_run *r)
{
    const char *where = pgs_host->config_where(r->opts, "run_log_statuses");
    for (size_t i = 0; i < pgs_opt_count(r->opts, "run_log_statuses"); i++) {
        const char *item = pgs_opt_item(r->opts, "run_log_statuses", i);
        char *from, *to;
        if (pgs_split_assign(item, &from, &to) < 0)
            return fail(in, SYNC_E_CONFIG, "sink.run_log_statuses item \"%s\" is not status=word (%s)", item,
                        where);
        size_t k = 0;
        while (k < RUN_STATUS_COUNT && strcmp(run_statuses[k], from) != 0)
            k++;
        if (k == RUN_STATUS_COUNT) {
            int rc = fail(in, SYNC_E_CONFIG,
                          "sink.run_log_statuses: unknown status \"%s\" (%s); statuses: running, success, "
                          "partial, failed, rate_limited", from, where);
            free(from);
            free(to);
            return rc;
        }
        free(from);
        free(r->status_as[k]);
        r->status_as[k] = to;
    }
    return SYNC_OK;
}

/* Index of attname in the list of table columns, or -1. */
static long find_col(char **names, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return (long)i;
    return -1;
}

/* Reads the log table's columns and primary key; fills the field -> column map. */
static int resolve_log_table(pgs_instance *in, pgs_run *r, const char *table)
{
    pgs_err err;
    const char *where_tab = pgs_host->config_where(r->opts, "run_log_table");
    const char *p1[] = {table};
    PGresult *res = pgs_exec(&in->conn,
                             "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c"
                             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                             " WHERE c.oid = pg_catalog.to_regclass($1) AND c.relkind IN ('r', 'p')",
                             1, p1, NULL, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return fail(in, SYNC_E_NOTFOUND, "run log table \"%s\" does not exist (%s)", table, where_tab);
    }
    char oid[16];
    snprintf(oid, sizeof(oid), "%s", PQgetvalue(res, 0, 0));
    r->log_schema = strdup(PQgetvalue(res, 0, 1));
    r->log_name = strdup(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (!r->log_schema || !r->log_name)
        return SYNC_E_NOMEM;
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_quote_ident(&b, r->log_schema);
    pgs_buf_puts(&b, ".");
    pgs_quote_ident(&b, r->log_name);
    if (!(r->log_q = pgs_buf_take(&b)))
        return SYNC_E_NOMEM;

    const char *p2[] = {oid};
    res = pgs_exec(&in->conn,
                   "SELECT a.attname, coalesce(a.attnum = ANY (i.indkey::int2[]) AND i.indnatts = 1, false)"
                   " FROM pg_catalog.pg_attribute a"
                   " LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary"
                   " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                   1, p2, NULL, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    size_t n = (size_t)PQntuples(res);
    char **names = calloc(n ? n : 1, sizeof(char *));
    int rc = names ? SYNC_OK : SYNC_E_NOMEM;
    for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
        if (!(names[i] = strdup(PQgetvalue(res, (int)i, 0))))
            rc = SYNC_E_NOMEM;
        else if (PQgetvalue(res, (int)i, 1)[0] == 't' && !r->key_col && !(r->key_col = strdup(names[i])))
            rc = SYNC_E_NOMEM;
    }
    PQclear(res);

    /* defaults: same-named columns; then run_log_columns overrides */
    for (size_t f = 0; rc == SYNC_OK && f < RF_COUNT; f++)
        if (find_col(names, n, field_names[f]) >= 0 && !(r->cols[f] = strdup(field_names[f])))
            rc = SYNC_E_NOMEM;
    const char *where_cols = pgs_host->config_where(r->opts, "run_log_columns");
    for (size_t i = 0; rc == SYNC_OK && i < pgs_opt_count(r->opts, "run_log_columns"); i++) {
        const char *item = pgs_opt_item(r->opts, "run_log_columns", i);
        char *field, *col;
        if (pgs_split_assign(item, &field, &col) < 0) {
            rc = fail(in, SYNC_E_CONFIG, "sink.run_log_columns item \"%s\" is not field=column (%s)", item,
                      where_cols);
            break;
        }
        size_t f = 0;
        while (f < RF_COUNT && strcmp(field_names[f], field) != 0)
            f++;
        if (f == RF_COUNT) {
            rc = fail(in, SYNC_E_CONFIG,
                      "sink.run_log_columns: unknown run field \"%s\" (%s); fields: run_id, job, sync_type, "
                      "status, processed, created, updated, unchanged, deleted, failed, started_at, "
                      "completed_at, duration_ms, error_message, error_details, metadata",
                      field, where_cols);
        } else if (strcmp(col, "-") == 0) {
            free(r->cols[f]);
            r->cols[f] = NULL;
        } else if (find_col(names, n, col) < 0) {
            rc = fail(in, SYNC_E_SCHEMA, "sink.run_log_columns: column \"%s\" does not exist in table %s.%s (%s)",
                      col, r->log_schema, r->log_name, where_cols);
        } else {
            free(r->cols[f]);
            r->cols[f] = col;
            col = NULL;
        }
        free(field);
        free(col);
    }

    size_t nv = pgs_opt_count(r->opts, "run_log_values");
    const char *where_vals = pgs_host->config_where(r->opts, "run_log_values");
    if (rc == SYNC_OK && nv) {
        r->const_cols = calloc(nv, sizeof(char *));
        r->const_vals = calloc(nv, sizeof(char *));
        if (!r->const_cols || !r->const_vals)
            rc = SYNC_E_NOMEM;
    }
    size_t n_params = pgs_opt_count(r->opts, "sql_params");
    for (size_t i = 0; rc == SYNC_OK && i < nv; i++) {
        const char *item = pgs_opt_item(r->opts, "run_log_values", i);
        char *col, *val;
        if (pgs_split_assign(item, &col, &val) < 0) {
            rc = fail(in, SYNC_E_CONFIG, "sink.run_log_values item \"%s\" is not column=value (%s)", item, where_vals);
            break;
        }
        if (find_col(names, n, col) < 0) {
            rc = fail(in, SYNC_E_SCHEMA, "sink.run_log_values: column \"%s\" does not exist in table %s.%s (%s)",
                      col, r->log_schema, r->log_name, where_vals);
        } else if (val[0] == '$' && val[1] >= '0' && val[1] <= '9') {
            long k = strtol(val + 1, NULL, 10);
            if (k < 1 || (size_t)k > n_params)
                rc = fail(in, SYNC_E_CONFIG, "sink.run_log_values: %s refers to %s but sql_params has %zu value(s) (%s)",
                          col, val, n_params, where_vals);
            else {
                free(val);
                val = strdup(pgs_opt_item(r->opts, "sql_params", (size_t)k - 1));
            }
        } else {
            size_t vl = strlen(val);
            if (vl >= 2 && val[0] == '\'' && val[vl - 1] == '\'') {
                memmove(val, val + 1, vl - 2);
                val[vl - 2] = '\0';
            }
        }
        if (rc == SYNC_OK && val) {
            r->const_cols[r->n_const] = col;
            r->const_vals[r->n_const] = val;
            r->n_const++;
        } else {
            free(col);
            free(val);
            if (rc == SYNC_OK)
                rc = SYNC_E_NOMEM;
        }
    }
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (rc != SYNC_OK)
        return rc;

    if ((rc = parse_statuses(in, r)) != SYNC_OK)
        return rc;
    /* our row is found again by the primary key, else by the run_id column */
    if (!r->key_col && r->cols[RF_RUN_ID])
        r->key_col = strdup(r->cols[RF_RUN_ID]);
    if (!r->key_col)
        return fail(in, SYNC_E_SCHEMA,
                    "run log table %s.%s needs a one-column primary key, or a column for run_id "
                    "(sink.run_log_columns = run_id=COLUMN) (%s)",
                    r->log_schema, r->log_name, where_tab);
    return SYNC_OK;
}

static char *build_insert(const pgs_run *r, const assigns *a)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "INSERT INTO %s (", r->log_q);
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, a->col[i]);
    }
    pgs_buf_puts(&b, a->n ? ") VALUES (" : ") DEFAULT VALUES");
    for (size_t i = 0; i < a->n; i++)
        pgs_buf_printf(&b, "%s$%zu", i ? ", " : "", i + 1);
    if (a->n)
        pgs_buf_puts(&b, ")");
    pgs_buf_puts(&b, " RETURNING ");
    pgs_quote_ident(&b, r->key_col);
    pgs_buf_puts(&b, "::text");
    return pgs_buf_take(&b);
}

/* UPDATE log SET a = $2, ... WHERE key = $1 [AND status = 'running'] */
static char *build_update(const char *log_q, const char *key_col, const assigns *a, const char *status_col)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "UPDATE %s SET ", log_q);
    for (size_t i = 0; i < a->n; i++) {
        if (i)
            pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, a->col[i]);
        pgs_buf_printf(&b, " = $%zu", i + 2);
    }
    pgs_buf_puts(&b, " WHERE ");
    pgs_quote_ident(&b, key_col);
    pgs_buf_puts(&b, "::text = $1");
    if (status_col) {
        pgs_buf_puts(&b, " AND ");
        pgs_quote_ident(&b, status_col);
        pgs_buf_printf(&b, "::text = $%zu", a->n + 2);
    }
    return pgs_buf_take(&b);
}

/* Updates the row key_col = key_val; with status_col, only while that column says running_word. */
static int exec_update(pgs_instance *in, const char *log_q, const char *key_col, const char *key_val,
                       const assigns *a, const char *status_col, const char *running_word, pgs_err *err)
{
    if (!a->n)
        return SYNC_OK;
    char *sql = build_update(log_q, key_col, a, status_col);
    const char *params[RF_COUNT + 65];
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    params[0] = key_val;
    for (size_t i = 0; i < a->n; i++)
        params[i + 1] = a->val[i];
    if (status_col)
        params[a->n + 1] = running_word;
    PGresult *res = pgs_exec(&in->conn, sql, (int)a->n + 1 + (status_col != NULL), params, NULL, err);
    free(sql);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

/* Marks earlier runs of this job that never finished as failed (inside the caller's transaction). */
static int close_crashed(pgs_instance *in, pgs_run *r, pgs_err *err)
{
    const char *p[] = {r->job, r->run_id};
    /* the counts its committed batches left in the progress table (columns 5..10) */
    pgs_buf q;
    pgs_buf_init(&q);
    pgs_buf_printf(&q,
                   "SELECT r.run_id, r.log_table, r.log_key_column, r.log_row_id, r.started_at::text,"
                   " coalesce(sum(p.processed), 0), coalesce(sum(p.inserted), 0), coalesce(sum(p.updated), 0),"
                   " coalesce(sum(p.unchanged), 0), coalesce(sum(p.deleted), 0), coalesce(sum(p.failed), 0)"
                   " FROM %s r LEFT JOIN %s p ON p.run_id = r.run_id"
                   " WHERE r.job = $1 AND r.status = 'running' AND r.run_id <> $2"
                   " GROUP BY r.run_id ORDER BY r.started_at",
                   in->runs_table_q, in->progress_table_q);
    char *sql = pgs_buf_take(&q);
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    /* lock the rows first (FOR UPDATE is not allowed with GROUP BY) */
    PGresult *res = pgs_exec_on(in, in->runs_table_q,
                                "SELECT 1 FROM %s WHERE job = $1 AND status = 'running' AND run_id <> $2 FOR UPDATE",
                                2, p, err);
    if (res) {
        PQclear(res);
        res = pgs_exec(&in->conn, sql, 2, p, NULL, err);
    }
    free(sql);
    if (!res)
        return err->status;
    int rc = SYNC_OK;
    for (int i = 0; rc == SYNC_OK && i < PQntuples(res); i++) {
        const char *old = PQgetvalue(res, i, 0);
        char msg[512];
        snprintf(msg, sizeof(msg),
                 "run %s did not finish: the engine stopped or crashed before recording its end "
                 "(closed as failed by run %s)", old, r->run_id);
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "job \"%s\": closing unfinished run %s (started %s) as failed",
                      r->job, old, PQgetvalue(res, i, 4));
        /* the old row is only touched when it lives in the table configured now */
        char *qual = NULL;
        if (r->has_log && !PQgetisnull(res, i, 1) && !PQgetisnull(res, i, 3) && !PQgetisnull(res, i, 2)) {
            pgs_buf b;
            pgs_buf_init(&b);
            pgs_buf_printf(&b, "%s.%s", r->log_schema, r->log_name);
            qual = pgs_buf_take(&b);
        }
        if (qual && strcmp(qual, PQgetvalue(res, i, 1)) == 0) {
            assigns a = {.n = 0};
            add(&a, r->cols[RF_STATUS], status_as(r, "failed"));
            add(&a, r->cols[RF_ERROR_MESSAGE], msg);
            add(&a, r->cols[RF_COMPLETED_AT], "now");
            add(&a, r->cols[RF_PROCESSED], PQgetvalue(res, i, 5));
            add(&a, r->cols[RF_CREATED], PQgetvalue(res, i, 6));
            add(&a, r->cols[RF_UPDATED], PQgetvalue(res, i, 7));
            add(&a, r->cols[RF_UNCHANGED], PQgetvalue(res, i, 8));
            add(&a, r->cols[RF_DELETED], PQgetvalue(res, i, 9));
            add(&a, r->cols[RF_FAILED], PQgetvalue(res, i, 10));
            rc = exec_update(in, r->log_q, PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), &a, r->cols[RF_STATUS],
                             status_as(r, "running"), err);
        }
        free(qual);
        const char *p2[] = {old, msg, PQgetvalue(res, i, 5), PQgetvalue(res, i, 6), PQgetvalue(res, i, 7),
                            PQgetvalue(res, i, 8), PQgetvalue(res, i, 9), PQgetvalue(res, i, 10)};
        if (rc == SYNC_OK)
            rc = pgs_exec_on_cmd(in, in->runs_table_q,
                                "UPDATE %s SET status = 'failed', finished_at = now(), error_message = $2,"
                                " processed = $3, inserted = $4, updated = $5, unchanged = $6, deleted = $7,"
                                " failed = $8 WHERE run_id = $1",
                                8, p2, err);
        if (rc == SYNC_OK)
            rc = pgs_exec_on_cmd(in, in->progress_table_q, "DELETE FROM %s WHERE run_id = $1", 1, p2, err);
    }
    PQclear(res);
    return rc;
}

static const char *status_text(sync_run_status s)
{
    return (size_t)s < RUN_STATUS_COUNT ? run_statuses[s] : "failed";
}

static void rollback(pgs_instance *in)
{
    pgs_err e;
    if (!pgs_conn_lost(&in->conn))
        pgs_exec_cmd(&in->conn, "ROLLBACK", &e);
}

static int record_end(pgs_instance *in, pgs_run *r, const sync_run_info *run, const char *status,
                      const char *error, int only_running, pgs_err *err);

int pgs_run_begin(pgs_instance *in, const sync_run_info *run)
{
    pgs_err err;
    pgs_run_free(in);
    pgs_run *r = calloc(1, sizeof(*r));
    if (!r)
        return SYNC_E_NOMEM;
    in->run = r;
    r->opts = run->options;
    r->job = strdup(run->job ? run->job : "");
    r->run_id = strdup(run->run_id ? run->run_id : "");
    if (!r->job || !r->run_id)
        return SYNC_E_NOMEM;
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    const char *table = pgs_opt_string(r->opts, "run_log_table");
    if (table && *table) {
        r->has_log = 1;
        if ((rc = resolve_log_table(in, r, table)) != SYNC_OK)
            return rc;
    }

    char started[48];
    pgs_format_timestamp(run->started_at, started, sizeof(started));
    pgs_lease_set_run(in, r->job, r->run_id);
    rc = pgs_job_begin(in, r->job, &err);
    if (rc == SYNC_OK)
        rc = close_crashed(in, r, &err);
    if (rc == SYNC_OK && r->has_log) {
        assigns a = {.n = 0};
        add(&a, r->cols[RF_RUN_ID], r->run_id);
        add(&a, r->cols[RF_JOB], r->job);
        add(&a, r->cols[RF_SYNC_TYPE], run->full_refresh ? "full" : "incremental");
        add(&a, r->cols[RF_STATUS], status_as(r, "running"));
        add(&a, r->cols[RF_STARTED_AT], started);
        for (size_t i = 0; i < r->n_const; i++)
            add(&a, r->const_cols[i], r->const_vals[i]);
        char *sql = build_insert(r, &a);
        if (!sql) {
            rollback(in);
            return SYNC_E_NOMEM;
        }
        PGresult *res = pgs_exec(&in->conn, sql, (int)a.n, a.val, NULL, &err);
        free(sql);
        if (res) {
            r->key_val = strdup(PQgetvalue(res, 0, 0));
            PQclear(res);
            if (!r->key_val) {
                rollback(in);
                return SYNC_E_NOMEM;
            }
        } else {
            rc = err.status;
        }
    }
    if (rc == SYNC_OK) {
        const char *p[] = {r->run_id, r->job, started, r->has_log ? "t" : NULL,
                           r->has_log ? r->log_schema : NULL, r->has_log ? r->log_name : NULL,
                           r->key_col, r->key_val, run->full_refresh ? "t" : "f"};
        rc = pgs_exec_on_cmd(in, in->runs_table_q,
                            "INSERT INTO %s (run_id, job, status, started_at, log_table,"
                            " log_key_column, log_row_id, full_refresh)"
                            " VALUES ($1, $2, 'running', $3::timestamptz,"
                            "  CASE WHEN $4::bool THEN $5::text || '.' || $6::text END, $7, $8, $9)"
                            " ON CONFLICT (run_id) DO NOTHING",
                            9, p, &err);
    }
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    if (rc != SYNC_OK) {
        rollback(in);
        pgs_err_prefix(&err, "starting the run log of job \"%s\"%s%s failed: ", r->job,
                       r->has_log ? " in " : "", r->has_log ? r->log_q : "");
        free(r->key_val);
        r->key_val = NULL;
        return pgs_fail(in->ctx, &err);
    }

    /* before_run_sql, committed on its own: the running row stays visible even if a hook fails */
    if (pgs_hooks_count(r->opts, "before_run_sql")) {
        rc = pgs_job_begin(in, r->job, &err);
        if (rc == SYNC_OK)
            rc = pgs_hooks_run(&in->conn, r->opts, "before_run_sql", &err);
        if (rc == SYNC_OK)
            rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
        if (rc != SYNC_OK) {
            /* the engine will not call finish(): close the row now, saying why */
            pgs_err e2;
            rollback(in);
            if (!pgs_conn_lost(&in->conn) && pgs_job_begin(in, r->job, &e2) == SYNC_OK) {
                if (record_end(in, r, run, "failed", err.message, 0, &e2) == SYNC_OK)
                    pgs_exec_cmd(&in->conn, "COMMIT", &e2);
                else
                    rollback(in);
            }
            return pgs_fail(in->ctx, &err);
        }
    }
    return SYNC_OK;
}

/*
 * Updates the run-log row and sync_runs for the end of a run (inside a
 * transaction), and drops the run's progress rows (the final counts are
 * here).  only_running: touch the rows only while they still say running (a
 * run that lost its lease must not overwrite what the new holder wrote).
 */
static int record_end(pgs_instance *in, pgs_run *r, const sync_run_info *run, const char *status,
                      const char *error, int only_running, pgs_err *err)
{
    char n[6][24], completed[48], duration[24];
    const int64_t counts[6] = {run->processed, run->inserted, run->updated, run->unchanged, run->deleted,
                               run->failed};
    for (int i = 0; i < 6; i++)
        snprintf(n[i], sizeof(n[i]), "%lld", (long long)counts[i]);
    int64_t finished = run->finished_at ? run->finished_at : pgs_host->time_now();
    pgs_format_timestamp(finished, completed, sizeof(completed));
    snprintf(duration, sizeof(duration), "%lld", (long long)((finished - run->started_at) / 1000));
    int ok_status = strcmp(status, "success") == 0;
    int rc = SYNC_OK;
    if (r->has_log && r->key_val) {
        assigns a = {.n = 0};
        add(&a, r->cols[RF_STATUS], status_as(r, status));
        add(&a, r->cols[RF_PROCESSED], n[0]);
        add(&a, r->cols[RF_CREATED], n[1]);
        add(&a, r->cols[RF_UPDATED], n[2]);
        add(&a, r->cols[RF_UNCHANGED], n[3]);
        add(&a, r->cols[RF_DELETED], n[4]);
        add(&a, r->cols[RF_FAILED], n[5]);
        add(&a, r->cols[RF_COMPLETED_AT], completed);
        add(&a, r->cols[RF_DURATION_MS], duration);
        add(&a, r->cols[RF_ERROR_MESSAGE], error);
        /* details list rejected records: error_details when something went wrong */
        add(&a, r->cols[RF_ERROR_DETAILS], ok_status ? NULL : run->details_json);
        if (run->details_json)
            add(&a, r->cols[RF_METADATA], run->details_json);
        rc = exec_update(in, r->log_q, r->key_col, r->key_val, &a, only_running ? r->cols[RF_STATUS] : NULL,
                         status_as(r, "running"), err);
    }
    const char *p[] = {r->run_id, status, completed, error, n[0], n[1], n[2], n[3], n[4], n[5]};
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->runs_table_q,
                            only_running
                                ? "UPDATE %s SET status = $2, finished_at = $3::timestamptz,"
                                  " error_message = $4, processed = $5, inserted = $6, updated = $7,"
                                  " unchanged = $8, deleted = $9, failed = $10 WHERE run_id = $1"
                                  " AND status = 'running'"
                                : "UPDATE %s SET status = $2, finished_at = $3::timestamptz,"
                                  " error_message = $4, processed = $5, inserted = $6, updated = $7,"
                                  " unchanged = $8, deleted = $9, failed = $10 WHERE run_id = $1",
                            10, p, err);
    if (rc == SYNC_OK)
        rc = pgs_exec_on_cmd(in, in->progress_table_q, "DELETE FROM %s WHERE run_id = $1", 1, p, err);
    return rc;
}

static sync_run_status status_from_text(const char *s)
{
    for (size_t i = 0; i < RUN_STATUS_COUNT; i++)
        if (strcmp(run_statuses[i], s) == 0)
            return (sync_run_status)i;
    return SYNC_RUN_FAILED;
}

static int64_t int_or_zero(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int pgs_run_history(pgs_instance *in, const char *job, int max,
                    void (*each)(const sync_run_info *run, void *payload), void *payload)
{
    pgs_err err;
    if (!in->state_ready)
        return SYNC_OK; /* opened read-only on a database without the run table: no runs yet */
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    char limit[24];
    snprintf(limit, sizeof(limit), "%d", max > 0 ? max : 1);
    const char *p[] = {job, limit};
    /* times as microseconds since the epoch, as sync_run_info carries them */
    PGresult *res = pgs_exec_on(in, in->runs_table_q,
                                "SELECT run_id, status, full_refresh,"
                                " (extract(epoch FROM started_at) * 1000000)::bigint,"
                                " (extract(epoch FROM finished_at) * 1000000)::bigint,"
                                " processed, inserted, updated, unchanged, deleted, failed, error_message"
                                " FROM %s WHERE job = $1 ORDER BY started_at DESC, run_id LIMIT $2::int",
                                2, p, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    for (int i = 0; i < PQntuples(res); i++) {
        sync_run_info run = {.struct_size = sizeof(run), .job = job, .run_id = PQgetvalue(res, i, 0)};
        run.status = status_from_text(PQgetvalue(res, i, 1));
        run.full_refresh = PQgetvalue(res, i, 2)[0] == 't';
        run.started_at = int_or_zero(res, i, 3);
        run.finished_at = int_or_zero(res, i, 4);
        run.processed = int_or_zero(res, i, 5);
        run.inserted = int_or_zero(res, i, 6);
        run.updated = int_or_zero(res, i, 7);
        run.unchanged = int_or_zero(res, i, 8);
        run.deleted = int_or_zero(res, i, 9);
        run.failed = int_or_zero(res, i, 10);
        run.error = PQgetisnull(res, i, 11) ? NULL : PQgetvalue(res, i, 11);
        each(&run, payload);
    }
    PQclear(res);
    return SYNC_OK;
}

int pgs_run_finish(pgs_instance *in, const sync_run_info *run)
{
    pgs_err err;
    pgs_run *r = in->run;
    int rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    const char *status = status_text(run->status);
    const sync_config *opts = r ? r->opts : run->options;

    rc = pgs_job_begin(in, r ? r->job : run->job, &err);
    if (rc != SYNC_OK && r && pgs_err_is_lease_lost(&err)) {
        /* another engine runs the job now: close this run's own rows as failed
         * if it has not done so already, and write nothing else */
        pgs_err e2;
        pgs_host->log(in->ctx, SYNC_LOG_ERROR, "%s", err.message);
        int rc2 = pgs_tx_begin(&in->conn, &e2);
        if (rc2 == SYNC_OK)
            rc2 = record_end(in, r, run, "failed", err.message, 1, &e2);
        if (rc2 == SYNC_OK)
            rc2 = pgs_exec_cmd(&in->conn, "COMMIT", &e2);
        if (rc2 != SYNC_OK)
            rollback(in);
        pgs_run_free(in);
        return pgs_fail(in->ctx, &err);
    }
    if (rc == SYNC_OK && r)
        rc = record_end(in, r, run, status, run->error, 0, &err);
    if (rc == SYNC_OK)
        rc = pgs_hooks_run(&in->conn, opts, "after_run_sql", &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    if (rc != SYNC_OK && r && !pgs_conn_lost(&in->conn)) {
        /* a hook failed: the run still gets closed, as failed, saying why */
        pgs_err e2;
        rollback(in);
        int rc2 = pgs_job_begin(in, r->job, &e2);
        if (rc2 == SYNC_OK)
            rc2 = record_end(in, r, run, "failed", err.message, 0, &e2);
        if (rc2 == SYNC_OK)
            rc2 = pgs_exec_cmd(&in->conn, "COMMIT", &e2);
        if (rc2 != SYNC_OK)
            rollback(in);
    } else if (rc != SYNC_OK) {
        rollback(in);
    }
    pgs_run_free(in);
    return rc == SYNC_OK ? SYNC_OK : pgs_fail(in->ctx, &err);
}

int pgs_run_probe(pgs_instance *in, const sync_config *opts)
{
    const char *table = pgs_opt_string(opts, "run_log_table");
    if (!table || !*table)
        return SYNC_OK;
    pgs_run *saved = in->run;
    pgs_run *r = calloc(1, sizeof(*r));
    if (!r)
        return SYNC_E_NOMEM;
    in->run = r;
    r->opts = opts;
    r->has_log = 1;
    r->job = strdup("");
    r->run_id = strdup("");
    int rc = r->job && r->run_id ? resolve_log_table(in, r, table) : SYNC_E_NOMEM;
    pgs_run_free(in);
    in->run = saved;
    return rc;
}
