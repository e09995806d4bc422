/*
 * bad_options_required.c - a source whose stream option table (source.*
 * keys) marks "where" SYNC_OPT_REQUIRED and also gives it a default: the
 * default could never apply, so the table is wrong.  The loader checks all
 * three tables and refuses the plugin: "invalid stream_options table: option
 * 'where': a required option cannot have a default".
 */
#include <stddef.h>

#include <sync/sync.h>

static const sync_host *api;

static int br_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int br_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void br_close(void *instance)
{
}

static const sync_source_ops br_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = br_open,
    .read = br_read,
    .close = br_close,
};

static const sync_option br_stream_options[] = {
    {"where", SYNC_OPT_STRING, "1 = 1", SYNC_OPT_REQUIRED, 0, 0, NULL, "filter"},
    SYNC_OPTION_END,
};

static const sync_plugin br_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "bad_options_required",
    .version = "1.0.0",
    .description = "required option with a default",
    .provides = SYNC_PROVIDES_SOURCE,
    .stream_options = br_stream_options,
    .source = &br_source,
};

SYNC_PLUGIN_DEFINE(br_plugin, api)
