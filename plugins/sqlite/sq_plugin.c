/*
 * sq_plugin.c - the SQLite connector's definition: option tables, the offline
 * check of each use, and the entry point.  One shared object provides a
 * source (sq_source.c) and a sink (sq_sink.c) beside each other, both on the
 * connection layer (sq_conn.c) and the SQL layer (sq_sql.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "d1.h"
#include "d1_conn.h"
#include "sq_compare.h"
#include "sq_conn.h"
#include "sq_sink.h"
#include "sq_source.h"
#include "sq_sql.h"

const sync_host *sq_host;

static const char *const journal_modes[] = {"wal", "keep", NULL};
static const char *const sync_modes[] = {"full", "normal", "off", NULL};
static const char *const delete_modes[] = {"ignore", "soft", "hard", NULL};
static const char *const units[] = {"s", "ms", "us", NULL};

/* Keys of the [source NAME] and [sink NAME] sections. */
static const sync_option sq_options[] = {
    {"path", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "the SQLite database file, e.g. ${EDGE_SQLITE_PATH} (required unless d1_database_id is set)"},
    {"create", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "create the file when it does not exist (otherwise a missing file is an error)"},
    {"busy_timeout", SYNC_OPT_DURATION, "5s", 0, 0, 3600000, NULL,
     "how long a statement waits for another connection's lock on the file before the batch fails as retryable"},
    {"journal_mode", SYNC_OPT_ENUM, "wal", 0, 0, 0, journal_modes,
     "wal switches the file to write-ahead logging (readers never block the writer and the writer never "
     "blocks readers); keep leaves the file's journal mode alone"},
    {"synchronous", SYNC_OPT_ENUM, "full", 0, 0, 0, sync_modes,
     "PRAGMA synchronous of the engine's connections: full survives power loss, normal (in WAL mode) "
     "survives a crash of the process"},
    {"foreign_keys", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "enforce foreign keys on the engine's connections (a violating record is rejected)"},
    {"d1_database_id", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "a Cloudflare D1 database (its UUID): set, the section talks to D1 over its HTTP query API instead of a "
     "file, and path and the file options are not used"},
    {"d1_account_id", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "the Cloudflare account of the D1 database"},
    {"d1_api_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "API token with D1 read (source) or D1 write (sink) permission, sent as a bearer token; from the "
     "environment, e.g. ${EDGE_D1_API_TOKEN}"},
    {"d1_api_url", SYNC_OPT_STRING, "https://api.cloudflare.com/client/v4", 0, 0, 0, NULL,
     "base URL of the Cloudflare API (https; plain http only to a loopback stand-in)"},
    {"d1_timeout", SYNC_OPT_DURATION, "30s", 0, 1000, 600000, NULL,
     "how long one D1 request may take before it is retried (D1 stops a query after 30 s)"},
    {"d1_retries", SYNC_OPT_INT, "5", 0, 0, 20, NULL,
     "retries of a D1 request that failed transiently (429, 5xx, a reset or cut-short answer), with backoff and "
     "Retry-After; then the batch fails as retryable"},
    SYNC_OPTION_END,
};

/* source.* keys of a [stream ...] section. */
static const sync_option sq_stream_options[] = {
    {"key", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "column identifying a row (default: the table's one-column primary key; required for views)"},
    {"cursor_column", SYNC_OPT_STRING, "updated_at", 0, 0, 0, NULL,
     "timestamp column every write sets: rows are read in (cursor_column, key) order after the saved cursor"},
    {"settle", SYNC_OPT_DURATION, "10s", 0, 0, 86400000, NULL,
     "rows whose cursor_column is newer than now minus settle wait for the next run, so a row committed "
     "that much later than its timestamp is not missed"},
    {"timestamp_unit", SYNC_OPT_ENUM, "s", 0, 0, 0, units,
     "unit of timestamps stored as numbers (integer or real): s, ms or us since 1970-01-01 UTC"},
    {"soft_delete", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "column (or column=value) marking deleted rows: such rows are read as deletes; without a value any "
     "value but NULL, 0, '' and false marks one"},
    {"change_log", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "read changes from _syncengine_changes, filled by triggers the plugin installs on the table: catches "
     "hard deletes and writes that leave cursor_column alone; one reading job per table"},
    {"where", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "SQL condition rows must also meet, added with AND in parentheses"},
    SYNC_OPTION_END,
};

/* sink.* keys of [job ...] and [stream ...] sections. */
static const sync_option sq_target_options[] = {
    {"conflict_key", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "columns identifying a row, backed by the primary key or a unique index (default: the primary key)"},
    {"delete_mode", SYNC_OPT_ENUM, "ignore", 0, 0, 0, delete_modes,
     "what a deleted source record does: ignore (count it only), soft (apply soft_delete_set) or hard (DELETE)"},
    {"soft_delete_set", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "column=value assignments made on soft delete, e.g. archived=1; values are bound as parameters"},
    {"compare_exclude", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "columns ignored when deciding whether a row changed (e.g. synced_at); written only with a real change"},
    {"timestamp_unit", SYNC_OPT_ENUM, "s", 0, 0, 0, units,
     "unit of timestamps written into INTEGER columns: s, ms or us since 1970-01-01 UTC"},
    {"run_log_table", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "table that gets one row per run (job-level): same-named columns among run_id, job, sync_type, status, "
     "processed, created, updated, unchanged, deleted, failed, started_at, completed_at, duration_ms, "
     "error_message, metadata are filled; run_id is required"},
    SYNC_OPTION_END,
};

/* ------------------------------------------------------------ check */

static void report(const sync_check *chk, const sync_config *cfg, const char *name, const char *msg)
{
    chk->report(chk, cfg ? sq_host->config_where(cfg, name) : chk->stream_where, msg);
}

static int sq_check(const sync_check *chk)
{
    int bad = 0;
    char msg[512];
    if (!chk->job) {
        const char *path = sq_host->config_get_string(chk->config, "path");
        if (d1_selected(chk->config)) {
            const char *const need[] = {"d1_account_id", "d1_api_token"};
            for (int i = 0; i < 2; i++) {
                const char *v = sq_host->config_get_string(chk->config, need[i]);
                if (!v || !*v) {
                    snprintf(msg, sizeof(msg), "option \"%s\" is empty; D1 needs d1_account_id, d1_database_id "
                                               "and d1_api_token", need[i]);
                    report(chk, chk->config, need[i], msg);
                    bad = 1;
                }
            }
            const char *url = sq_host->config_get_string(chk->config, "d1_api_url");
            char why[256];
            if (url && d1_url_allowed(url, why, sizeof(why)) < 0) {
                snprintf(msg, sizeof(msg), "option \"d1_api_url\": %s", why);
                report(chk, chk->config, "d1_api_url", msg);
                bad = 1;
            }
        } else if (!path || !*path) {
            report(chk, chk->config, "path", "option \"path\" is empty (set path, or d1_database_id for D1)");
            bad = 1;
        }
        return bad ? SYNC_E_CONFIG : SYNC_OK;
    }
    if (!chk->stream)
        return SYNC_OK;
    const sync_config *o = chk->stream_options;
    if (!chk->object || !*chk->object) {
        report(chk, NULL, NULL, "the stream names no table");
        bad = 1;
    }
    if (chk->is_source) {
        const char *soft = o ? sq_host->config_get_string(o, "soft_delete") : NULL;
        char *l, *r;
        if (soft && strchr(soft, '=') && sq_split_assign(soft, &l, &r) < 0) {
            snprintf(msg, sizeof(msg), "source.soft_delete \"%s\" is not column or column=value", soft);
            report(chk, o, "soft_delete", msg);
            bad = 1;
        } else if (soft && strchr(soft, '=')) {
            free(l);
            free(r);
        }
        const char *cc = o ? sq_host->config_get_string(o, "cursor_column") : NULL;
        if (cc && !*cc) {
            report(chk, o, "cursor_column", "source.cursor_column is empty");
            bad = 1;
        }
        return bad ? SYNC_E_CONFIG : SYNC_OK;
    }
    const char *mode = o ? sq_host->config_get_string(o, "delete_mode") : NULL;
    size_t ns = o ? sq_host->config_list_count(o, "soft_delete_set") : 0;
    if (mode && strcmp(mode, "soft") == 0 && ns == 0) {
        report(chk, o, "delete_mode", "sink.delete_mode = soft needs sink.soft_delete_set (e.g. archived=1)");
        bad = 1;
    }
    for (size_t i = 0; i < ns; i++) {
        const char *item = sq_host->config_list_item(o, "soft_delete_set", i);
        char *l, *r;
        if (sq_split_assign(item, &l, &r) < 0) {
            snprintf(msg, sizeof(msg), "sink.soft_delete_set item \"%s\" is not column=value", item);
            report(chk, o, "soft_delete_set", msg);
            bad = 1;
            continue;
        }
        free(l);
        free(r);
    }
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

/* ------------------------------------------------------------ backends */

/*
 * An instance of either backend starts with an int: 0 for a SQLite file
 * (sq_source.c, sq_sink.c), 1 for D1 (d1_source.c, d1_sink.c); open picks
 * the backend by d1_database_id, every other callback by that int.
 */
#define IS_D1(instance) (*(const int *)(instance))

static int probe(void *instance, const sync_check *chk)
{
    if (chk->is_source)
        return IS_D1(instance) ? d1_source_probe(instance, chk) : sq_source_probe(instance, chk);
    return IS_D1(instance) ? d1_sink_probe(instance, chk) : sq_sink_probe(instance, chk);
}

static int source_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    return d1_selected(cfg) ? d1_source_open(ctx, cfg, instance) : sq_source_open(ctx, cfg, instance);
}

static int source_discover(void *instance, sync_catalog *cat)
{
    return IS_D1(instance) ? d1_source_discover(instance, cat) : sq_source_discover(instance, cat);
}

static int source_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return IS_D1(instance) ? d1_source_read(instance, req, em) : sq_source_read(instance, req, em);
}

static void source_close(void *instance)
{
    if (instance && IS_D1(instance))
        d1_source_close(instance);
    else
        sq_source_close(instance);
}

static int sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    return d1_selected(cfg) ? d1_sink_open(ctx, cfg, instance) : sq_sink_open(ctx, cfg, instance);
}

static int sink_begin(void *instance, const sync_run_info *run)
{
    return IS_D1(instance) ? d1_sink_begin(instance, run) : sq_sink_begin(instance, run);
}

static int sink_prepare(void *instance, const sync_target *target, void **target_state)
{
    return IS_D1(instance) ? d1_sink_prepare(instance, target, target_state)
                           : sq_sink_prepare(instance, target, target_state);
}

static int sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                      sync_write_result *result)
{
    return IS_D1(instance) ? d1_sink_write(instance, target_state, batch, cursor, result)
                           : sq_sink_write(instance, target_state, batch, cursor, result);
}

static int sink_finish(void *instance, const sync_run_info *run)
{
    return IS_D1(instance) ? d1_sink_finish(instance, run) : sq_sink_finish(instance, run);
}

static void sink_close(void *instance)
{
    if (instance && IS_D1(instance))
        d1_sink_close(instance);
    else
        sq_sink_close(instance);
}

static int sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out)
{
    return IS_D1(instance) ? d1_sink_state_load(instance, job, stream, cursor_out)
                           : sq_sink_state_load(instance, job, stream, cursor_out);
}

static int sink_state_reset(void *instance, const char *job, const char *stream)
{
    return IS_D1(instance) ? d1_sink_state_reset(instance, job, stream) : sq_sink_state_reset(instance, job, stream);
}

static int sink_lease_acquire(void *instance, const char *job, int *acquired)
{
    return IS_D1(instance) ? d1_sink_lease_acquire(instance, job, acquired)
                           : sq_sink_lease_acquire(instance, job, acquired);
}

static void sink_lease_release(void *instance, const char *job)
{
    if (IS_D1(instance))
        d1_sink_lease_release(instance, job);
    else
        sq_sink_lease_release(instance, job);
}

static int sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                     void *payload)
{
    return IS_D1(instance) ? d1_sink_runs(instance, job, max, each, payload)
                           : sq_sink_runs(instance, job, max, each, payload);
}

static int sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    return d1_selected(cfg) ? d1_sink_setup(ctx, cfg, apply, ddl_out) : sq_sink_setup(ctx, cfg, apply, ddl_out);
}

static const sync_source_ops sq_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = source_open,
    .discover = source_discover,
    .read = source_read,
    .close = source_close,
};

static const sync_sink_ops sq_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = sink_open,
    .begin = sink_begin,
    .prepare = sink_prepare,
    .write = sink_write,
    .finish = sink_finish,
    .close = sink_close,
    .state_load = sink_state_load,
    .state_reset = sink_state_reset,
    .lease_acquire = sink_lease_acquire,
    .lease_release = sink_lease_release,
    .runs = sink_runs,
    .setup = sink_setup,
};

static const sync_plugin sq_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "sqlite",
    .version = "0.1.0",
    .description = "SQLite files and Cloudflare D1 databases: a table or view as a source (keyset cursor with a "
                   "settle window, or a trigger-filled change log) and as a sink (batched upserts, cursor and "
                   "lease in each batch's transaction, a run log), files in WAL mode, D1 over its HTTP query API",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_DELETES | SYNC_CAP_STATE | SYNC_CAP_LEASE | SYNC_CAP_RUN_LOG,
    .options = sq_options,
    .stream_options = sq_stream_options,
    .target_options = sq_target_options,
    .source = &sq_source_ops,
    .sink = &sq_sink_ops,
    .check = sq_check,
    .probe = probe,
    .compare = &sq_compare_ops,
};

SYNC_PLUGIN_DEFINE(sq_plugin, sq_host)
