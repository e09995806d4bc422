/*
 * core/loader.c - dlopen and the plugin checks (see loader.h).
 *
 * The checks run in a fixed order and the first failure is reported, naming
 * the file: a plugin author sees exactly one precise reason.  Definitions are
 * copied into zero-filled structures of the engine's size, so a plugin built
 * against an older (smaller) ABI 1.x layout reads as "callback absent" for
 * everything it does not know about.
 */
#include "loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "hostapi.h"

/* Sizes of the ABI 1.0 structures: the smallest a 1.x plugin may declare. */
#define PLUGIN_SIZE_1_0 (offsetof(sync_plugin, sink) + sizeof(void *))
#define SOURCE_OPS_SIZE_1_0 (offsetof(sync_source_ops, close) + sizeof(void *))
#define SINK_OPS_SIZE_1_0 (offsetof(sync_sink_ops, lease_release) + sizeof(void *))

static void copy_sized(void *dst, size_t dst_size, const void *src, uint32_t src_size)
{
    memset(dst, 0, dst_size);
    memcpy(dst, src, src_size < dst_size ? src_size : dst_size);
}

static int check_options(const char *path, const char *what, const sync_option *table, char *err,
                         size_t errlen)
{
    if (table == NULL)
        return 0;
    char detail[512];
    if (syncc_options_check(table, detail, sizeof(detail)) != 0) {
        snprintf(err, errlen, "%s: invalid %s table: %s", path, what, detail);
        return -1;
    }
    return 0;
}

int syncc_plugin_load(const char *path, syncc_plugin *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (dl == NULL) {
        const char *why = dlerror();
        if (why != NULL && strstr(why, "invalid ELF header") != NULL)
            snprintf(err, errlen, "%s: not a shared object (invalid ELF header)", path);
        else if (why != NULL && strstr(why, "undefined symbol") != NULL)
            snprintf(err, errlen, "%s: unresolved symbol: %s", path, why);
        else
            snprintf(err, errlen, "%s: cannot load: %s", path, why ? why : "unknown error");
        return -1;
    }
    sync_plugin_entry_fn entry;
    *(void **)(&entry) = dlsym(dl, SYNC_ENTRY_SYMBOL);
    if (entry == NULL) {
        snprintf(err, errlen, "%s: no entry point %s() (is it a syncengine plugin?)", path, SYNC_ENTRY_SYMBOL);
        dlclose(dl);
        return -1;
    }
    const sync_plugin *def = entry(syncc_host());
    if (def == NULL) {
        snprintf(err, errlen, "%s: %s() returned no plugin definition", path, SYNC_ENTRY_SYMBOL);
        goto fail;
    }
    if (def->abi_major != SYNC_ABI_MAJOR) {
        snprintf(err, errlen, "%s: plugin ABI version %u.%u is not supported (engine ABI %d.%d); rebuild the plugin",
                 path, def->abi_major, def->abi_minor, SYNC_ABI_MAJOR, SYNC_ABI_MINOR);
        goto fail;
    }
    if (def->abi_minor > SYNC_ABI_MINOR) {
        snprintf(err, errlen, "%s: plugin needs ABI %u.%u but this engine provides %d.%d; upgrade syncengine",
                 path, def->abi_major, def->abi_minor, SYNC_ABI_MAJOR, SYNC_ABI_MINOR);
        goto fail;
    }
    if (def->struct_size < PLUGIN_SIZE_1_0) {
        snprintf(err, errlen, "%s: plugin definition is %u bytes, smaller than the ABI 1.0 size %zu", path,
                 def->struct_size, (size_t)PLUGIN_SIZE_1_0);
        goto fail;
    }
    copy_sized(&out->def, sizeof(out->def), def, def->struct_size);
    if (out->def.name == NULL || out->def.name[0] == '\0') {
        snprintf(err, errlen, "%s: plugin has no name", path);
        goto fail;
    }
    uint32_t provides = out->def.provides & (SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK);
    if (provides == 0) {
        snprintf(err, errlen, "%s: plugin '%s' provides neither a source nor a sink", path, out->def.name);
        goto fail;
    }
    if (provides & SYNC_PROVIDES_SOURCE) {
        const sync_source_ops *s = out->def.source;
        if (s == NULL || s->struct_size < SOURCE_OPS_SIZE_1_0) {
            snprintf(err, errlen, "%s: plugin '%s' declares a source but its source table is %s", path,
                     out->def.name, s == NULL ? "missing" : "smaller than ABI 1.0");
            goto fail;
        }
        copy_sized(&out->source, sizeof(out->source), s, s->struct_size);
        const char *missing = !out->source.open ? "open" : !out->source.read ? "read" : !out->source.close ? "close" : NULL;
        if (missing != NULL) {
            snprintf(err, errlen, "%s: plugin '%s': required source callback '%s' is missing", path,
                     out->def.name, missing);
            goto fail;
        }
    }
    if (provides & SYNC_PROVIDES_SINK) {
        const sync_sink_ops *k = out->def.sink;
        if (k == NULL || k->struct_size < SINK_OPS_SIZE_1_0) {
            snprintf(err, errlen, "%s: plugin '%s' declares a sink but its sink table is %s", path,
                     out->def.name, k == NULL ? "missing" : "smaller than ABI 1.0");
            goto fail;
        }
        copy_sized(&out->sink, sizeof(out->sink), k, k->struct_size);
        const sync_sink_ops *o = &out->sink;
        const char *missing = !o->open ? "open" : !o->prepare ? "prepare" : !o->write ? "write"
                            : !o->finish ? "finish" : !o->close ? "close" : NULL;
        if (missing != NULL) {
            snprintf(err, errlen, "%s: plugin '%s': required sink callback '%s' is missing", path,
                     out->def.name, missing);
            goto fail;
        }
        if ((o->state_load == NULL) != (o->state_reset == NULL)) {
            snprintf(err, errlen, "%s: plugin '%s': optional group 'state' is incomplete (%s without %s)", path,
                     out->def.name, o->state_load ? "state_load" : "state_reset",
                     o->state_load ? "state_reset" : "state_load");
            goto fail;
        }
        if ((o->lease_acquire == NULL) != (o->lease_release == NULL)) {
            snprintf(err, errlen, "%s: plugin '%s': optional group 'lease' is incomplete (%s without %s)", path,
                     out->def.name, o->lease_acquire ? "lease_acquire" : "lease_release",
                     o->lease_acquire ? "lease_release" : "lease_acquire");
            goto fail;
        }
        if ((out->def.caps & SYNC_CAP_STATE) && o->state_load == NULL) {
            snprintf(err, errlen, "%s: plugin '%s' declares SYNC_CAP_STATE without the state callbacks", path,
                     out->def.name);
            goto fail;
        }
    }
    if (check_options(path, "options", out->def.options, err, errlen) ||
        check_options(path, "stream_options", out->def.stream_options, err, errlen) ||
        check_options(path, "target_options", out->def.target_options, err, errlen))
        goto fail;
    /* Point the definition at the normalized tables. */
    out->def.source = (provides & SYNC_PROVIDES_SOURCE) ? &out->source : NULL;
    out->def.sink = (provides & SYNC_PROVIDES_SINK) ? &out->sink : NULL;
    out->path = strdup(path);
    out->dl = dl;
    return 0;
fail:
    dlclose(dl);
    memset(out, 0, sizeof(*out));
    return -1;
}

void syncc_plugin_unload(syncc_plugin *p)
{
    if (p->dl != NULL)
        dlclose(p->dl);
    free(p->path);
    memset(p, 0, sizeof(*p));
}

static void add_error(syncc_registry *r, const char *path, const char *reason, size_t seq)
{
    if (r->n_errors == r->cap_errors) {
        size_t cap = r->cap_errors ? r->cap_errors * 2 : 8;
        syncc_load_error *n = realloc(r->errors, cap * sizeof(*n));
        if (n == NULL)
            return;
        r->errors = n;
        r->cap_errors = cap;
    }
    r->errors[r->n_errors].path = strdup(path);
    r->errors[r->n_errors].reason = strdup(reason);
    r->errors[r->n_errors].seq = seq;
    r->n_errors++;
}

void syncc_registry_add_file(syncc_registry *r, const char *path)
{
    /* The same file found twice through two search paths is one plugin. */
    char real[PATH_MAX];
    const char *p = realpath(path, real) ? real : path;
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->plugins[i].path, p) == 0)
            return;
    syncc_plugin pl;
    char err[9000];
    size_t seq = r->next_seq++;
    if (syncc_plugin_load(p, &pl, err, sizeof(err)) != 0) {
        add_error(r, p, err, seq);
        return;
    }
    pl.seq = seq;
    for (size_t i = 0; i < r->n; i++) {
        if (strcmp(r->plugins[i].def.name, pl.def.name) == 0) {
            snprintf(err, sizeof(err), "%s: duplicate plugin name '%s' (already loaded from %s); ignored", p,
                     pl.def.name, r->plugins[i].path);
            add_error(r, p, err, seq);
            syncc_plugin_unload(&pl);
            return;
        }
    }
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 8;
        syncc_plugin *n = realloc(r->plugins, cap * sizeof(*n));
        if (n == NULL) {
            syncc_plugin_unload(&pl);
            return;
        }
        r->plugins = n;
        r->cap = cap;
        /* def.source/def.sink point into the moved structs: re-aim them */
        for (size_t i = 0; i < r->n; i++) {
            if (r->plugins[i].def.source)
                r->plugins[i].def.source = &r->plugins[i].source;
            if (r->plugins[i].def.sink)
                r->plugins[i].def.sink = &r->plugins[i].sink;
        }
    }
    r->plugins[r->n] = pl;
    if (pl.def.source)
        r->plugins[r->n].def.source = &r->plugins[r->n].source;
    if (pl.def.sink)
        r->plugins[r->n].def.sink = &r->plugins[r->n].sink;
    r->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int syncc_registry_scan_dir(syncc_registry *r, const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 4 || strcmp(e->d_name + len - 3, ".so") != 0)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (nn == NULL)
                break;
            names = nn;
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), cmp_str); /* deterministic: duplicates resolve the same way */
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        syncc_registry_add_file(r, path);
        free(names[i]);
    }
    free(names);
    return 0;
}

const syncc_plugin *syncc_registry_find(const syncc_registry *r, const char *name)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->plugins[i].def.name, name) == 0)
            return &r->plugins[i];
    return NULL;
}

/* Does the file name at PATH say it holds plugin NAME: NAME.so or *-NAME.so? */
static int file_names_plugin(const char *path, const char *name)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base), nlen = strlen(name);
    if (len < 3 || strcmp(base + len - 3, ".so") != 0)
        return 0;
    len -= 3;
    if (len < nlen || strncmp(base + len - nlen, name, nlen) != 0)
        return 0;
    return len == nlen || base[len - nlen - 1] == '-';
}

const syncc_load_error *syncc_registry_failure_for(const syncc_registry *r, const char *name)
{
    const syncc_plugin *found = syncc_registry_find(r, name);
    for (size_t i = 0; i < r->n_errors; i++) {
        const syncc_load_error *e = &r->errors[i];
        if (found != NULL && e->seq > found->seq)
            continue;
        /* a second copy of a plugin that did load is not broken, only redundant */
        if (strstr(e->reason, ": duplicate plugin name '") != NULL)
            continue;
        if (file_names_plugin(e->path, name))
            return e;
    }
    return NULL;
}

void syncc_registry_free(syncc_registry *r)
{
    for (size_t i = 0; i < r->n; i++)
        syncc_plugin_unload(&r->plugins[i]);
    free(r->plugins);
    for (size_t i = 0; i < r->n_errors; i++) {
        free(r->errors[i].path);
        free(r->errors[i].reason);
    }
    free(r->errors);
    memset(r, 0, sizeof(*r));
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

size_t syncc_default_plugin_dirs(char dirs[][4096], size_t max)
{
    size_t n = 0;
    const char *env = getenv("SYNCENGINE_PLUGIN_DIR");
    if (env != NULL && env[0] != '\0' && n < max)
        snprintf(dirs[n++], 4096, "%s", env);
    char exe[3800];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash != NULL) {
            *slash = '\0';
            char cand[4096];
            snprintf(cand, sizeof(cand), "%s/plugins", exe);
            if (is_dir(cand) && n < max)
                snprintf(dirs[n++], 4096, "%s", cand);
            snprintf(cand, sizeof(cand), "%s/../lib/syncengine/plugins", exe);
            if (is_dir(cand) && n < max)
                snprintf(dirs[n++], 4096, "%s", cand);
        }
    }
    if (n < max && is_dir(SYNCENGINE_PLUGINDIR))
        snprintf(dirs[n++], 4096, "%s", SYNCENGINE_PLUGINDIR);
    return n;
}
