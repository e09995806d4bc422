/*
 * returns_null.c - an entry point that returns NULL (a plugin that decided it
 * cannot run, or forgot its return value).  The loader refuses the file:
 * "sync_plugin_entry() returned no plugin definition".
 */
#include <stddef.h>

#include <sync/sync.h>

SYNC_EXPORT const sync_plugin *sync_plugin_entry(const sync_host *host);
SYNC_EXPORT const sync_plugin *sync_plugin_entry(const sync_host *host)
{
    return NULL;
}
