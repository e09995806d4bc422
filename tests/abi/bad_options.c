/*
 * bad_options.c - a source whose section option table declares "path" twice.
 * The engine could not tell which entry validates the key, so the loader
 * refuses the plugin: "invalid options table: option 'path' is
 * declared twice".
 */
#include <stddef.h>

#include <sync/sync.h>

static const sync_host *api;

static int bo_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int bo_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void bo_close(void *instance)
{
}

static const sync_source_ops bo_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = bo_open,
    .read = bo_read,
    .close = bo_close,
};

static const sync_option bo_options[] = {
    {"path", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "input file"},
    {"limit", SYNC_OPT_INT, "10", 0, 1, 100, NULL, "records to read"},
    {"path", SYNC_OPT_STRING, "other.txt", 0, 0, 0, NULL, "the same key again"},
    SYNC_OPTION_END,
};

static const sync_plugin bo_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "bad_options",
    .version = "1.0.0",
    .description = "duplicate option name",
    .provides = SYNC_PROVIDES_SOURCE,
    .options = bo_options,
    .source = &bo_source,
};

SYNC_PLUGIN_DEFINE(bo_plugin, api)
