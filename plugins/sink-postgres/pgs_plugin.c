/*
 * pgs_plugin.c - the PostgreSQL connector's plugin definition.
 *
 * Declares the option tables (the [sink NAME] section and the sink.* keys of
 * jobs and streams), the sink callbacks and the entry point.  The callbacks
 * here only unpack the instance and hand over to the file that does the work.
 * The connector is a sink today; the definition is laid out so a source can be
 * added beside it (provides |= SYNC_PROVIDES_SOURCE, a second ops table)
 * without disturbing it.
 */
#include "pgs.h"
#include "pgs_compare.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sync_host *pgs_host;

static const char *const delete_modes[] = {"ignore", "soft", "hard", NULL};
static const char *const nul_modes[] = {"reject", "strip", "replace", NULL};

/* Keys of the [sink NAME] section. */
static const sync_option pgs_options[] = {
    {"conninfo", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED | SYNC_OPT_SECRET, 0, 0, NULL,
     "libpq connection string or postgresql:// URI, normally ${DATABASE_URL}; may hold a password"},
    {"application_name", SYNC_OPT_STRING, "syncengine", 0, 0, 0, NULL,
     "application_name of the sessions, shown in pg_stat_activity"},
    {"statement_timeout", SYNC_OPT_DURATION, "5m", 0, 0, 86400000, NULL,
     "longest a single statement may run before the server cancels it (0 = no limit)"},
    {"connect_timeout", SYNC_OPT_DURATION, "10s", 0, 1000, 600000, NULL,
     "longest wait for a connection to be established"},
    {"reconnect_attempts", SYNC_OPT_INT, "5", 0, 0, 100, NULL,
     "reconnect attempts, with exponential backoff, before a lost connection fails the batch as retryable"},
    {"state_schema", SYNC_OPT_STRING, "syncengine", 0, 0, 0, NULL,
     "schema of the engine's own tables (cursors, runs, leases, run progress), created if missing (or by "
     "`syncengine setup`); user tables are never altered"},
    {"state_table", SYNC_OPT_STRING, "sync_state", 0, 0, 0, NULL,
     "name of the engine's cursor table in state_schema (one row per job and stream), created if missing"},
    {"runs_table", SYNC_OPT_STRING, "sync_runs", 0, 0, 0, NULL,
     "name of the engine's table of runs in state_schema (closes runs a crashed engine left open), "
     "created if missing"},
    {"lease_ttl", SYNC_OPT_DURATION, "2m", 0, 5000, 86400000, NULL,
     "how long a job's lease outlives its holder's last renewal (renewed every third of it): the longest "
     "wait before another engine may take over a job whose engine vanished without its server session "
     "ending, as through a pooler"},
    {"text_nul", SYNC_OPT_ENUM, "reject", 0, 0, 0, nul_modes,
     "what a NUL character in a text value (which PostgreSQL cannot store) does: reject (that record "
     "is rejected, naming its key and column; the run is partial), strip (left out) or replace (each "
     "becomes text_nul_replacement); strip and replace also cover \\u0000 in JSON values, which jsonb "
     "refuses"},
    {"text_nul_replacement", SYNC_OPT_STRING, "\xEF\xBF\xBD", 0, 0, 0, NULL,
     "what each NUL character becomes with text_nul = replace (default U+FFFD, the replacement "
     "character; may be empty)"},
    SYNC_OPTION_END,
};

/* sink.* keys of [job ...] and [stream ...] sections. */
static const sync_option pgs_target_options[] = {
    {"conflict_key", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "columns identifying a row, backed by a unique index or constraint (default: the primary key, "
     "else the only unique index whose columns are all mapped)"},
    {"delete_mode", SYNC_OPT_ENUM, "ignore", 0, 0, 0, delete_modes,
     "what a deleted source record does: ignore (count it only), soft (apply soft_delete_set) "
     "or hard (DELETE the row)"},
    {"soft_delete_set", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "column=value assignments made on soft delete, e.g. sync_status=deleted; values are bound as "
     "parameters of the column's type"},
    {"compare_exclude", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "columns ignored when deciding whether a row changed (e.g. last_synced_at); they are written "
     "only together with a real change"},
    {"before_run_sql", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "statement run when a run begins, with sql_params as $1..$n; may be given several times"},
    {"after_batch_sql", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "statement run in each batch's transaction after the rows are stored; temp table "
     "sync_affected holds the batch's key columns and action (inserted, updated, unchanged, deleted)"},
    {"affected_actions", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "which rows sync_affected lists: any of inserted, updated, unchanged, deleted (default: all); "
     "leaving out unchanged saves a statement per batch"},
    {"affected_columns", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "more columns of the stored row listed in sync_affected besides the conflict key, e.g. the "
     "table's generated id (read by RETURNING; for unchanged rows by a lookup on the key)"},
    {"after_run_sql", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "statement run when a run ends, in the transaction that closes the run-log row"},
    {"purge_scope", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "SQL condition on the target's columns selecting the rows this stream owns (sql_params as $1..$n); "
     "a complete full refresh then applies delete_mode to the rows in it whose records it did not read "
     "(purged at the source)"},
    {"sql_params", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "values bound as $1..$n to every hook statement and usable in run_log_values"},
    {"run_log_table", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "table (schema-qualified allowed) that gets one row per run: inserted as running at the start, "
     "completed at the end"},
    {"run_log_columns", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "field=column pairs placing run fields (run_id, job, sync_type, status, processed, created, "
     "updated, unchanged, deleted, failed, started_at, completed_at, duration_ms, error_message, "
     "error_details, metadata) in run_log_table; unlisted fields go to a column of the same name "
     "if one exists, field=- drops one"},
    {"run_log_values", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "column=$N or column=literal pairs for constant run-log columns, $N being the Nth of sql_params"},
    {"run_log_statuses", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "status=word pairs renaming the run statuses (running, success, partial, failed, rate_limited) "
     "in run_log_table, for a table with a vocabulary of its own; the engine's tables keep the originals"},
    SYNC_OPTION_END,
};

/* ------------------------------------------------------------ shared helpers */

const char *pgs_opt_string(const sync_config *cfg, const char *name)
{
    return cfg ? pgs_host->config_get_string(cfg, name) : NULL;
}

size_t pgs_opt_count(const sync_config *cfg, const char *name)
{
    return cfg ? pgs_host->config_list_count(cfg, name) : 0;
}

const char *pgs_opt_item(const sync_config *cfg, const char *name, size_t i)
{
    return cfg ? pgs_host->config_list_item(cfg, name, i) : NULL;
}

int pgs_fail(sync_ctx *ctx, const pgs_err *err)
{
    if (err->sqlstate[0])
        pgs_host->set_error(ctx, "%s (SQLSTATE %s)", err->message, err->sqlstate);
    else
        pgs_host->set_error(ctx, "%s", err->message);
    return err->status ? err->status : SYNC_ERROR;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------ callbacks */

static void pgs_close(void *instance);

/* "schema"."table", each part quoted; NULL without memory. */
static char *qualified(const char *schema, const char *table)
{
    char *s = pgs_quote_ident_dup(schema), *t = pgs_quote_ident_dup(table), *out = NULL;
    if (s && t && (out = malloc(strlen(s) + strlen(t) + 2)) != NULL)
        sprintf(out, "%s.%s", s, t);
    free(s);
    free(t);
    return out;
}

/* The instance as the configuration describes it, not connected yet. */
static int instance_from_config(sync_ctx *ctx, const sync_config *cfg, pgs_instance **instance)
{
    pgs_instance *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    in->conn.ctx = ctx;
    in->conn.conninfo = dup_or_null(pgs_host->config_get_string(cfg, "conninfo"));
    in->conn.application_name = dup_or_null(pgs_host->config_get_string(cfg, "application_name"));
    in->state_schema = dup_or_null(pgs_host->config_get_string(cfg, "state_schema"));
    pgs_host->config_get_int(cfg, "statement_timeout", &in->conn.statement_timeout_ms);
    pgs_host->config_get_int(cfg, "connect_timeout", &in->conn.connect_timeout_ms);
    pgs_host->config_get_int(cfg, "reconnect_attempts", &in->conn.reconnect_attempts);
    in->lease_ttl_ms = 120000;
    pgs_host->config_get_int(cfg, "lease_ttl", &in->lease_ttl_ms);
    const char *nul = pgs_host->config_get_string(cfg, "text_nul");
    in->nul.mode = !nul || strcmp(nul, "reject") == 0 ? PGS_NUL_REJECT
                   : strcmp(nul, "strip") == 0        ? PGS_NUL_STRIP
                                                      : PGS_NUL_REPLACE;
    const char *repl = pgs_host->config_get_string(cfg, "text_nul_replacement");
    in->nul_repl = strdup(repl ? repl : "");
    in->nul.repl = in->nul_repl;
    in->nul.repl_len = in->nul_repl ? strlen(in->nul_repl) : 0;
    if (!in->conn.conninfo || !*in->conn.conninfo) {
        pgs_host->set_error(ctx, "option \"conninfo\" is empty (%s)",
                            pgs_host->config_where(cfg, "conninfo"));
        pgs_close(in);
        return SYNC_E_CONFIG;
    }
    if (!in->conn.application_name || !in->state_schema || !in->nul_repl) {
        pgs_close(in);
        return SYNC_E_NOMEM;
    }
    static const char *const names[] = {"state_schema", "state_table", "runs_table"};
    char **vals[] = {&in->state_schema, &in->cursor_table, &in->runs_table};
    for (size_t i = 0; i < 3; i++) {
        if (i > 0 && !(*vals[i] = dup_or_null(pgs_host->config_get_string(cfg, names[i])))) {
            pgs_close(in);
            return SYNC_E_NOMEM;
        }
        if (!**vals[i]) {
            pgs_host->set_error(ctx, "option \"%s\" is empty (%s)", names[i],
                                pgs_host->config_where(cfg, names[i]));
            pgs_close(in);
            return SYNC_E_CONFIG;
        }
    }
    if (strcmp(in->cursor_table, in->runs_table) == 0) {
        pgs_host->set_error(ctx, "options \"state_table\" and \"runs_table\" name the same table \"%s\" (%s)",
                            in->runs_table, pgs_host->config_where(cfg, "runs_table"));
        pgs_close(in);
        return SYNC_E_CONFIG;
    }
    for (size_t i = 1; i < 3; i++)
        if (strcmp(*vals[i], PGS_LEASES_TABLE) == 0 || strcmp(*vals[i], PGS_PROGRESS_TABLE) == 0 ||
            strcmp(*vals[i], PGS_SEEN_TABLE) == 0) {
            pgs_host->set_error(ctx, "option \"%s\" names the engine's table \"%s\" (%s)", names[i], *vals[i],
                                pgs_host->config_where(cfg, names[i]));
            pgs_close(in);
            return SYNC_E_CONFIG;
        }
    in->state_schema_q = pgs_quote_ident_dup(in->state_schema);
    in->cursor_table_q = qualified(in->state_schema, in->cursor_table);
    in->runs_table_q = qualified(in->state_schema, in->runs_table);
    in->leases_table_q = qualified(in->state_schema, PGS_LEASES_TABLE);
    in->progress_table_q = qualified(in->state_schema, PGS_PROGRESS_TABLE);
    in->seen_table_q = qualified(in->state_schema, PGS_SEEN_TABLE);
    if (!in->state_schema_q || !in->cursor_table_q || !in->runs_table_q || !in->leases_table_q ||
        !in->progress_table_q || !in->seen_table_q) {
        pgs_close(in);
        return SYNC_E_NOMEM;
    }
    *instance = in;
    return SYNC_OK;
}

static int pgs_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    pgs_instance *in = NULL;
    int rc = instance_from_config(ctx, cfg, &in);
    if (rc != SYNC_OK)
        return rc;
    rc = pgs_conn_open(&in->conn);
    /* opened only to read (status, ABI 1.2): tables that do not exist yet are not created */
    int read_only = SYNC_HOST_HAS(pgs_host, ctx_read_only) && pgs_host->ctx_read_only(ctx);
    if (rc == SYNC_OK)
        rc = read_only ? pgs_state_probe(in) : pgs_state_bootstrap(in);
    if (rc != SYNC_OK) {
        pgs_close(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

/* `syncengine setup`: the DDL of the engine's tables, applied as the configured role unless only printed. */
static int pgs_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    pgs_instance *in = NULL;
    if (ddl_out)
        *ddl_out = NULL;
    int rc = instance_from_config(ctx, cfg, &in);
    if (rc != SYNC_OK)
        return rc;
    char *ddl = pgs_state_ddl(in);
    if (!ddl) {
        pgs_close(in);
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
    pgs_close(in);
    return rc;
}

static int pgs_begin(void *instance, const sync_run_info *run)
{
    return pgs_run_begin(instance, run);
}

static int pgs_prepare(void *instance, const sync_target *target, void **target_state)
{
    pgs_instance *in = instance;
    pgs_target *t = NULL;
    int rc = pgs_target_prepare(in, target, &t);
    if (rc != SYNC_OK)
        return rc;
    pgs_target **grown = realloc(in->targets, (in->n_targets + 1) * sizeof(*grown));
    if (!grown) {
        pgs_target_free(t);
        return SYNC_E_NOMEM;
    }
    in->targets = grown;
    in->targets[in->n_targets++] = t;
    *target_state = t;
    return SYNC_OK;
}

static int pgs_write_cb(void *instance, void *target_state, const sync_batch *batch,
                        const sync_cursor *cursor, sync_write_result *result)
{
    return pgs_write(instance, target_state, batch, cursor, result);
}

static int pgs_full_read_done_cb(void *instance, void *target_state, sync_write_result *result)
{
    return pgs_purge_sweep(instance, target_state, result);
}

static int pgs_finish(void *instance, const sync_run_info *run)
{
    return pgs_run_finish(instance, run);
}

static void pgs_close(void *instance)
{
    pgs_instance *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_targets; i++)
        pgs_target_free(in->targets[i]);
    free(in->targets);
    pgs_run_free(in);
    /* a lease still held is given back (the engine releases before close) */
    pgs_lease_free_all(in);
    pgs_conn_close(&in->conn);
    free(in->conn.conninfo);
    free(in->conn.application_name);
    free(in->nul_repl);
    free(in->state_schema);
    free(in->state_schema_q);
    free(in->cursor_table);
    free(in->runs_table);
    free(in->cursor_table_q);
    free(in->runs_table_q);
    free(in->leases_table_q);
    free(in->progress_table_q);
    free(in->seen_table_q);
    free(in);
}

static int pgs_state_load_cb(void *instance, const char *job, const char *stream, char **cursor_out)
{
    return pgs_state_load(instance, job, stream, cursor_out);
}

static int pgs_state_reset_cb(void *instance, const char *job, const char *stream)
{
    return pgs_state_reset(instance, job, stream);
}

static int pgs_lease_acquire_cb(void *instance, const char *job, int *acquired)
{
    return pgs_lease_acquire(instance, job, acquired);
}

static void pgs_lease_release_cb(void *instance, const char *job)
{
    pgs_lease_release(instance, job);
}

static int pgs_runs_cb(void *instance, const char *job, int max,
                       void (*each)(const sync_run_info *run, void *payload), void *payload)
{
    return pgs_run_history(instance, job, max, each, payload);
}

static int pgs_query_cb(void *instance, const char *sql, const char *const *params, size_t n_params,
                        char **rows_out)
{
    return pgs_query(instance, sql, params, n_params, rows_out);
}

static const sync_sink_ops pgs_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = pgs_open,
    .begin = pgs_begin,
    .prepare = pgs_prepare,
    .write = pgs_write_cb,
    .finish = pgs_finish,
    .close = pgs_close,
    .state_load = pgs_state_load_cb,
    .state_reset = pgs_state_reset_cb,
    .lease_acquire = pgs_lease_acquire_cb,
    .lease_release = pgs_lease_release_cb,
    .runs = pgs_runs_cb,
    .setup = pgs_setup,
    .full_read_done = pgs_full_read_done_cb,
    .query = pgs_query_cb,
};

static const sync_plugin pgs_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "postgres",
    .version = "0.1.0",
    .description = "PostgreSQL: set-based upserts via COPY staging, cursors stored with the data, "
                   "leases fenced by an epoch in every transaction, a run log",
    .provides = SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_STATE | SYNC_CAP_LEASE | SYNC_CAP_RUN_LOG | SYNC_CAP_DELETES,
    .options = pgs_options,
    .stream_options = NULL,
    .target_options = pgs_target_options,
    .source = NULL,
    .sink = &pgs_sink_ops,
    .check = pgs_check,
    .probe = pgs_probe,
    .compare = &pgs_compare_ops,
};

SYNC_PLUGIN_DEFINE(pgs_plugin, pgs_host)
