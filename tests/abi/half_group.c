/*
 * half_group.c - a sink that implements half of the optional "state" group:
 * state_load without state_reset.  Optional groups are all or none, so the
 * loader refuses it: "optional group 'state' is incomplete
 * (state_load without state_reset)".  It declares SYNC_CAP_STATE so that the incomplete group is
 * the only thing wrong with it.
 */
#include <sync/sync.h>

static const sync_host *api;

static int hg_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int hg_prepare(void *instance, const sync_target *target, void **target_state)
{
    *target_state = NULL;
    return SYNC_OK;
}

static int hg_write(void *instance, void *target_state, const sync_batch *batch,
                    const sync_cursor *cursor, sync_write_result *result)
{
    return SYNC_OK;
}

static int hg_finish(void *instance, const sync_run_info *run)
{
    return SYNC_OK;
}

static void hg_close(void *instance)
{
}

static int hg_state_load(void *instance, const char *job, const char *stream, char **cursor_out)
{
    *cursor_out = NULL;
    return SYNC_E_NOTFOUND;
}

static const sync_sink_ops hg_sink = {
    .struct_size = sizeof(sync_sink_ops),
    .open = hg_open,
    .prepare = hg_prepare,
    .write = hg_write,
    .finish = hg_finish,
    .close = hg_close,
    .state_load = hg_state_load,
    .state_reset = NULL,
};

static const sync_plugin hg_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "half_group",
    .version = "1.0.0",
    .description = "sink with half of the state group",
    .provides = SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_STATE,
    .sink = &hg_sink,
};

SYNC_PLUGIN_DEFINE(hg_plugin, api)
