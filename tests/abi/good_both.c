/*
 * good_both.c - a valid plugin providing a source and a sink, with every
 * optional callback and group (discover, begin, state, lease), every
 * capability bit, and option tables using every option type and flag.  The
 * loader must accept it; `syncengine plugins --describe good_both` shows all
 * of it, so this file also pins down what --describe has to print.
 */
#include <stddef.h>

#include <sync/sync.h>

static const sync_host *api;

static int gb_token;

static int gb_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = &gb_token;
    return api != NULL ? SYNC_OK : SYNC_E_INVALID;
}

static int gb_discover(void *instance, sync_catalog *cat)
{
    int rc = api->catalog_add_stream(cat, "things");

    if (rc == SYNC_OK)
        rc = api->catalog_add_field(cat, "things", "id", SYNC_TYPE_STRING);
    return rc;
}

static int gb_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void gb_close(void *instance)
{
}

static int gb_begin(void *instance, const sync_run_info *run)
{
    return SYNC_OK;
}

static int gb_prepare(void *instance, const sync_target *target, void **target_state)
{
    *target_state = NULL;
    return SYNC_OK;
}

static int gb_write(void *instance, void *target_state, const sync_batch *batch,
                    const sync_cursor *cursor, sync_write_result *result)
{
    result->inserted += (int64_t)api->batch_count(batch);
    return SYNC_OK;
}

static int gb_finish(void *instance, const sync_run_info *run)
{
    return SYNC_OK;
}

static int gb_state_load(void *instance, const char *job, const char *stream, char **cursor_out)
{
    *cursor_out = NULL;
    return SYNC_E_NOTFOUND;
}

static int gb_state_reset(void *instance, const char *job, const char *stream)
{
    return SYNC_OK;
}

static int gb_lease_acquire(void *instance, const char *job, int *acquired)
{
    *acquired = 1;
    return SYNC_OK;
}

static void gb_lease_release(void *instance, const char *job)
{
}

static const char *const gb_modes[] = {"fast", "safe", NULL};

static const sync_option gb_options[] = {
    {"endpoint", SYNC_OPT_URL, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "where the service lives"},
    {"token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL, "access token"},
    {"mode", SYNC_OPT_ENUM, "safe", 0, 0, 0, gb_modes, "how careful to be"},
    {"retries", SYNC_OPT_INT, "3", 0, 0, 10, NULL, "attempts before giving up"},
    {"timeout", SYNC_OPT_DURATION, "30s", 0, 1000, 600000, NULL, "time allowed for one request"},
    {"ratio", SYNC_OPT_DOUBLE, "0.5", 0, 0, 0, NULL, "a fraction"},
    {"verbose", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL, "log more"},
    {"old_name", SYNC_OPT_STRING, NULL, SYNC_OPT_DEPRECATED, 0, 0, NULL, "replaced by endpoint"},
    SYNC_OPTION_END,
};

static const sync_option gb_stream_options[] = {
    {"fields", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "fields to read"},
    {"where", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "a filter; may be repeated"},
    SYNC_OPTION_END,
};

static const sync_option gb_target_options[] = {
    {"conflict_key", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "columns identifying a row"},
    SYNC_OPTION_END,
};

static const sync_source_ops gb_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = gb_open,
    .discover = gb_discover,
    .read = gb_read,
    .close = gb_close,
};

static const sync_sink_ops gb_sink = {
    .struct_size = sizeof(sync_sink_ops),
    .open = gb_open,
    .begin = gb_begin,
    .prepare = gb_prepare,
    .write = gb_write,
    .finish = gb_finish,
    .close = gb_close,
    .state_load = gb_state_load,
    .state_reset = gb_state_reset,
    .lease_acquire = gb_lease_acquire,
    .lease_release = gb_lease_release,
};

static const sync_plugin gb_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "good_both",
    .version = "2.3.4",
    .description = "valid source and sink with every optional part",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_DELETES | SYNC_CAP_STATE | SYNC_CAP_LEASE |
            SYNC_CAP_RUN_LOG,
    .options = gb_options,
    .stream_options = gb_stream_options,
    .target_options = gb_target_options,
    .source = &gb_source,
    .sink = &gb_sink,
};

SYNC_PLUGIN_DEFINE(gb_plugin, api)
