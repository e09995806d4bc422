/*
 * pgs_plugin.c - the PostgreSQL connector's plugin definition.
 *
 * Declares the option tables (the [sink NAME] / [source NAME] section, the
 * source.* keys of streams and the sink.* keys of jobs and streams), the sink
 * callbacks and the entry point.  The callbacks here only unpack the instance
 * and hand over to the file that does the work.  The source role lives in
 * pgs_source.c, beside the sink on the same connection layer.
 */
#include "pgs_check.h"
#include "pgs_compare.h"
#include "pgs_purge.h"
#include "pgs_query.h"
#include "pgs_runlog.h"
#include "pgs_session.h"
#include "pgs_source.h"
#include "pgs_state.h"
#include "pgs_target.h"
#include "pgs_write.h"

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
    {"reconnect_attempts", SYNC_OPT_INT, "5", SYNC_OPT_DEPRECATED, 0, 100, NULL,
     "ignored: the engine alone retries a batch that failed for a passing reason (job option write_attempts); "
     "the sink reconnects once when a call finds its connection broken"},
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

/* source.* keys of a [stream ...] section whose job reads from PostgreSQL (pgs_source.c). */
static const sync_option pgs_stream_options[] = {
    {"key", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "column identifying a row (default: the table's one-column primary key; required for views)"},
    {"cursor_column", SYNC_OPT_STRING, "updated_at", 0, 0, 0, NULL,
     "column every write sets (a timestamp, kept by a trigger): rows are read in (cursor_column, key) order "
     "after the saved cursor"},
    {"settle", SYNC_OPT_DURATION, "10s", 0, 0, 86400000, NULL,
     "rows whose cursor_column is newer than the database's now() minus settle wait for the next run, so a "
     "transaction committing that much later than its timestamp is not missed"},
    {"soft_delete", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "column (or column=value) marking deleted rows: such rows are read as deletes; without a value any "
     "value but NULL, false, 0 and '' marks one"},
    {"change_log", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "read changes from state_schema.sync_changes, filled by a trigger on the table (installed by "
     "`syncengine setup`, or by the first run when the role may): catches hard deletes and writes that "
     "leave cursor_column alone; one reading job per table"},
    {"where", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "SQL condition rows must also meet, added with AND in parentheses"},
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
    {"resolve", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "column: table.id by key_column -- the mapped value of column is the key_column value of a row of "
     "table (a column with a unique index of its own); the row gets that row's id, found by a join in "
     "each batch; a record whose parent row is missing is rejected with its key; may be given several "
     "times"},
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

/* ------------------------------------------------------------ callbacks */

static int pgs_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    pgs_instance *in = NULL;
    int rc = pgs_state_open(ctx, cfg, &in);
    if (rc == SYNC_OK)
        *instance = in;
    return rc;
}

static int pgs_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    return pgs_state_setup_section(ctx, cfg, apply, ddl_out);
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
    if (rc == SYNC_OK)
        rc = pgs_purge_prepare(in, t, target);
    if (rc == SYNC_OK)
        rc = pgs_target_keep(in, t);
    if (rc != SYNC_OK) {
        pgs_target_free(t);
        return rc;
    }
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
    pgs_target_free_all(in);
    pgs_run_free(in);
    pgs_session_free(in);
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

static const sync_source_ops pgs_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = pgs_source_open,
    .discover = pgs_source_discover,
    .read = pgs_source_read,
    .close = pgs_source_close,
    .setup_stream = pgs_source_setup,
};

static int pgs_check_cb(const sync_check *chk)
{
    return chk->is_source ? pgs_source_check(chk) : pgs_check(chk);
}

static int pgs_probe_cb(void *instance, const sync_check *chk)
{
    return chk->is_source ? pgs_source_probe(instance, chk) : pgs_probe(instance, chk);
}

static const sync_plugin pgs_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "postgres",
    .version = "0.1.0",
    .description = "PostgreSQL: a table or view as a source (tie-safe keyset cursor with a settle window on "
                   "the database's clock, or a trigger-filled change log) and as a sink (set-based upserts via "
                   "COPY staging, cursors stored with the data, leases fenced by an epoch in every transaction, "
                   "a run log)",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_STATE | SYNC_CAP_LEASE | SYNC_CAP_RUN_LOG | SYNC_CAP_DELETES,
    .options = pgs_options,
    .stream_options = pgs_stream_options,
    .target_options = pgs_target_options,
    .source = &pgs_source_ops,
    .sink = &pgs_sink_ops,
    .check = pgs_check_cb,
    .probe = pgs_probe_cb,
    .compare = &pgs_compare_ops,
};

SYNC_PLUGIN_DEFINE(pgs_plugin, pgs_host)
