/*
 * no_entry.c - a shared object that exports no sync_plugin_entry.  It makes
 * the two mistakes that lead there: the entry point exists but was built
 * without SYNC_EXPORT (hidden by -fvisibility=hidden), and an exported
 * function has the wrong name.  The loader refuses the file: "no entry point
 * sync_plugin_entry()".
 */
#include <sync/sync.h>

static const sync_host *api;

static const sync_plugin ne_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "no_entry",
    .provides = SYNC_PROVIDES_SOURCE,
};

/* Hidden: not in the dynamic symbol table. */
const sync_plugin *sync_plugin_entry(const sync_host *host);
const sync_plugin *sync_plugin_entry(const sync_host *host)
{
    api = host;
    return &ne_plugin;
}

/* Exported, but under a name the loader does not look for. */
SYNC_EXPORT const sync_plugin *sync_plugin_init(const sync_host *host);
SYNC_EXPORT const sync_plugin *sync_plugin_init(const sync_host *host)
{
    return sync_plugin_entry(host);
}
