/*
 * wrong_major.c - a plugin claiming ABI 2.0.  Everything after the version
 * head may be laid out differently in another major version, so the loader
 * must refuse it after reading only the head, with a message naming both
 * versions: "ABI version 2.0 is not supported (engine ABI 1.1)".
 */
#include <sync/sync.h>

static const sync_host *api;

static int wm_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int wm_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void wm_close(void *instance)
{
}

static const sync_source_ops wm_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = wm_open,
    .read = wm_read,
    .close = wm_close,
};

static const sync_plugin wm_plugin = {
    .abi_major = 2,
    .abi_minor = 0,
    .struct_size = sizeof(sync_plugin),
    .name = "wrong_major",
    .version = "1.0.0",
    .description = "claims ABI 2.0",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &wm_source,
};

SYNC_PLUGIN_DEFINE(wm_plugin, api)
