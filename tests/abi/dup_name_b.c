/*
 * dup_name_b.c - one of two valid plugins that both call themselves
 * "dup_name".  Each loads on its own; loaded from the same plugin directories
 * the second one found (in file-name order: dup_name_b.so) is refused with a
 * message naming both files: ".../dup_name_b.so: duplicate plugin name
 * 'dup_name' (already loaded from .../dup_name_a.so); ignored".
 */
#include <stddef.h>

#include <sync/sync.h>

static const sync_host *api;

static int db_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int db_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void db_close(void *instance)
{
}

static const sync_source_ops db_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = db_open,
    .read = db_read,
    .close = db_close,
};

static const sync_plugin db_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "dup_name",
    .version = "1.0.1",
    .description = "copy b of a duplicated name",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &db_source,
};

SYNC_PLUGIN_DEFINE(db_plugin, api)
