/*
 * newer_minor.c - a plugin built against a newer minor version than the
 * engine's (SYNC_ABI_MINOR + 1).  It may rely on host members or struct
 * members this engine does not have, so the loader refuses it, naming both
 * versions: "plugin needs ABI 1.1 but this engine provides 1.0".
 */
#include <sync/sync.h>

static const sync_host *api;

static int nm_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int nm_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void nm_close(void *instance)
{
}

static const sync_source_ops nm_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = nm_open,
    .read = nm_read,
    .close = nm_close,
};

static const sync_plugin nm_plugin = {
    .abi_major = SYNC_ABI_MAJOR,
    .abi_minor = SYNC_ABI_MINOR + 1,
    .struct_size = sizeof(sync_plugin),
    .name = "newer_minor",
    .version = "1.0.0",
    .description = "claims a minor version newer than the engine's",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &nm_source,
};

SYNC_PLUGIN_DEFINE(nm_plugin, api)
