/*
 * missing_callback.c - a source without the required read() callback.  The
 * loader refuses it, naming the role and the callback: "required source
 * callback 'read' is missing".
 */
#include <sync/sync.h>

static const sync_host *api;

static int mc_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static void mc_close(void *instance)
{
}

static const sync_source_ops mc_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = mc_open,
    .read = NULL,
    .close = mc_close,
};

static const sync_plugin mc_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "missing_callback",
    .version = "1.0.0",
    .description = "source without read",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &mc_source,
};

SYNC_PLUGIN_DEFINE(mc_plugin, api)
