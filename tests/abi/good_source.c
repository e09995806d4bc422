/*
 * good_source.c - the smallest valid plugin: a source with the three
 * required callbacks, no discovery, and no option tables at all (NULL tables
 * mean "no keys").  The loader must accept it; its read() delivers nothing.
 */
#include <sync/sync.h>

static const sync_host *api;

static int gs_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    static int token;

    *instance = &token;
    return SYNC_OK;
}

static int gs_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return api != NULL ? SYNC_OK : SYNC_E_INVALID;
}

static void gs_close(void *instance)
{
}

static const sync_source_ops gs_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = gs_open,
    .read = gs_read,
    .close = gs_close,
};

static const sync_plugin gs_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "good_source",
    .version = "1.0.0",
    .description = "minimal valid source for the loader tests",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &gs_source,
};

SYNC_PLUGIN_DEFINE(gs_plugin, api)
