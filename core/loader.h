/*
 * core/loader.h - finding, loading and checking connector shared objects.
 *
 * A plugin directory is scanned for *.so files; each is dlopen'ed and its
 * definition checked (see docs/plugin-abi.md for the order of checks).  Files
 * that fail are remembered with the reason, so `syncengine plugins` can list
 * them and a job that needs a missing plugin can say why it is missing.
 */
#ifndef SYNCC_LOADER_H
#define SYNCC_LOADER_H

#include <stddef.h>
#include <sync/plugin.h>

typedef struct syncc_plugin {
    char *path;
    void *dl;
    size_t seq;               /* order in which the file was found along the search path */
    sync_plugin def;          /* normalized copy: members beyond the plugin's size are NULL */
    sync_source_ops source;   /* normalized copies of the ops tables */
    sync_sink_ops sink;
    sync_compare_ops compare; /* zero when the plugin has none (ABI 1.3) */
} syncc_plugin;

typedef struct syncc_load_error {
    char *path;
    char *reason;
    size_t seq;               /* order in which the file was found along the search path */
} syncc_load_error;

typedef struct syncc_registry {
    syncc_plugin *plugins;
    size_t n, cap;
    syncc_load_error *errors;
    size_t n_errors, cap_errors;
    size_t next_seq;
} syncc_registry;

/* Loads and checks one file. Returns 0, or -1 with the reason in err. */
int syncc_plugin_load(const char *path, syncc_plugin *out, char *err, size_t errlen);
void syncc_plugin_unload(syncc_plugin *p);

/* Adds one file / every *.so of a directory to the registry; failures are recorded, not fatal. */
void syncc_registry_add_file(syncc_registry *r, const char *path);
int syncc_registry_scan_dir(syncc_registry *r, const char *dir);
const syncc_plugin *syncc_registry_find(const syncc_registry *r, const char *name);
/*
 * The recorded failure of a file whose plugin might have been NAME, found on
 * the search path before the plugin that did load as NAME (any, if none did):
 * a file named NAME.so, or ending in -NAME.so ("sink-postgres.so" for
 * "postgres").  Such a file must not be shadowed silently by a later
 * directory.  NULL if there is none.
 */
const syncc_load_error *syncc_registry_failure_for(const syncc_registry *r, const char *name);
void syncc_registry_free(syncc_registry *r);

/*
 * The default plugin search path: $SYNCENGINE_PLUGIN_DIR, then "plugins"
 * beside the executable (a build tree), then ../lib/syncengine/plugins
 * relative to the executable (a relocated install), then the compiled-in
 * install directory.  Fills up to max entries; returns the count.
 */
size_t syncc_default_plugin_dirs(char dirs[][4096], size_t max);

#endif /* SYNCC_LOADER_H */
