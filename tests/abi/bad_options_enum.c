/*
 * bad_options_enum.c - a source whose target option table (sink.* keys)
 * declares an ENUM option without enum_values, so no value could ever be
 * valid.  The loader refuses it: "invalid target_options table: option
 * 'mode': enum option without values".
 */
#include <stddef.h>

#include <sync/sync.h>

static const sync_host *api;

static int be_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int be_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void be_close(void *instance)
{
}

static const sync_source_ops be_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = be_open,
    .read = be_read,
    .close = be_close,
};

static const sync_option be_target_options[] = {
    {"mode", SYNC_OPT_ENUM, NULL, 0, 0, 0, NULL, "how to write"},
    SYNC_OPTION_END,
};

static const sync_plugin be_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "bad_options_enum",
    .version = "1.0.0",
    .description = "enum option without values",
    .provides = SYNC_PROVIDES_SOURCE,
    .target_options = be_target_options,
    .source = &be_source,
};

SYNC_PLUGIN_DEFINE(be_plugin, api)
