/*
 * cap_without_group.c - a sink that declares SYNC_CAP_STATE but provides
 * neither state_load nor state_reset.  The engine would hand it cursors to
 * store and never get them back, so the loader refuses it: "declares
 * SYNC_CAP_STATE without the state callbacks".
 */
#include <sync/sync.h>

static const sync_host *api;

static int cg_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int cg_prepare(void *instance, const sync_target *target, void **target_state)
{
    *target_state = NULL;
    return SYNC_OK;
}

static int cg_write(void *instance, void *target_state, const sync_batch *batch,
                    const sync_cursor *cursor, sync_write_result *result)
{
    return SYNC_OK;
}

static int cg_finish(void *instance, const sync_run_info *run)
{
    return SYNC_OK;
}

static void cg_close(void *instance)
{
}

static const sync_sink_ops cg_sink = {
    .struct_size = sizeof(sync_sink_ops),
    .open = cg_open,
    .prepare = cg_prepare,
    .write = cg_write,
    .finish = cg_finish,
    .close = cg_close,
};

static const sync_plugin cg_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "cap_without_group",
    .version = "1.0.0",
    .description = "claims SYNC_CAP_STATE without the state group",
    .provides = SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_STATE,
    .sink = &cg_sink,
};

SYNC_PLUGIN_DEFINE(cg_plugin, api)
