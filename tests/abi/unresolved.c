/*
 * unresolved.c - a plugin that calls a function nobody defines.  It links
 * (tests/abi objects are linked without --no-undefined, unlike real plugins),
 * but dlopen(RTLD_NOW) fails and the loader passes the dynamic linker's
 * reason on: "undefined symbol: syncengine_no_such_function".  A loader using
 * RTLD_LAZY would accept it and crash later, at the first call.
 */
#include <stddef.h>

#include <sync/sync.h>

extern void syncengine_no_such_function(void);

static const sync_host *api;

static int un_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    syncengine_no_such_function();
    *instance = (void *)&api;
    return SYNC_OK;
}

static int un_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void un_close(void *instance)
{
}

static const sync_source_ops un_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = un_open,
    .read = un_read,
    .close = un_close,
};

static const sync_plugin un_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "unresolved",
    .version = "1.0.0",
    .description = "needs a symbol nobody provides",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &un_source,
};

SYNC_PLUGIN_DEFINE(un_plugin, api)
