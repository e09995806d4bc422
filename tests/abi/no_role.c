/*
 * no_role.c - a well-formed definition that provides neither a source nor a
 * sink (provides == 0).  The loader refuses it: "plugin 'no_role' provides
 * neither a source nor a sink".
 */
#include <sync/sync.h>

static const sync_host *api;

static const sync_plugin nr_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "no_role",
    .version = "1.0.0",
    .description = "provides nothing",
    .provides = 0,
};

SYNC_PLUGIN_DEFINE(nr_plugin, api)
