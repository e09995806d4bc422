/*
 * too_small.c - a definition whose struct_size is smaller than the ABI 1.0
 * size of sync_plugin (here: only the version head).  No released header ever
 * produced such a plugin, so the loader refuses it: "plugin definition is 12
 * bytes, smaller than the ABI 1.0 size".
 */
#include <stdint.h>

#include <sync/sync.h>

static const sync_host *api;

static const sync_plugin ts_plugin = {
    .abi_major = SYNC_ABI_MAJOR,
    .abi_minor = 0,
    .struct_size = 3 * sizeof(uint32_t),
    .name = "too_small",
};

SYNC_PLUGIN_DEFINE(ts_plugin, api)
