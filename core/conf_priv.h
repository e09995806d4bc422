/*
 * core/conf_priv.h - internals shared by the configuration files: the loader
 * (conf.c), value interpolation (conf_interp.c), option-table validation and
 * the sync_config getters (conf_options.c) and binding (conf_bind.c).
 * Nothing outside core/conf*.c includes this header.
 */
#ifndef SYNCC_CONF_PRIV_H
#define SYNCC_CONF_PRIV_H

#include <stdarg.h>
#include <stddef.h>

#include "conf.h"

#if defined(__GNUC__) || defined(__clang__)
#define SYNCC_CONF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define SYNCC_CONF_PRINTF(a, b)
#endif

/* Writes a message into err (which may be NULL or zero-sized). */
void syncc_conf_errf(char *err, size_t errlen, const char *fmt, ...) SYNCC_CONF_PRINTF(3, 4);

/* Reports a warning through conf->warn, or to stderr when conf is NULL or has none. */
void syncc_conf_warnf(const syncc_conf *conf, const char *fmt, ...) SYNCC_CONF_PRINTF(2, 3);

/*
 * Expands ${VAR}, ${VAR:-default} and $$ in raw.  On success *out is a new
 * string and *literal says whether the result holds text written in the file
 * itself (anything but ${VAR} references with empty defaults), and *deferred
 * (when not NULL) whether it holds a ${tenant.X} left to the instantiation
 * (no tenant row is set).  On failure
 * returns -1 with a message that the caller prefixes with file:line and the
 * option name.
 */
int syncc_conf_interpolate(const char *raw, char **out, int *literal, int *deferred, char *err, size_t errlen);

/* How syncc_config_build() describes and checks one option set. */
typedef struct syncc_build_opts {
    const char *section;     /* "[source sf_acme]", for messages */
    const char *where;       /* "file:line" of the section, or a caller's label */
    const char *prefix;      /* "source.", "sink." or "" : how keys are written */
    const char *plugin;      /* plugin name for messages, or NULL */
    const char *required_hint; /* appended to "missing required option" messages, or NULL */
    int check_required;      /* 0 for job-level sink.* keys: streams may supply them */
    syncc_conf *conf;        /* collects secrets and reports warnings; may be NULL */
    syncc_kv *const *inherited; /* keys already reported elsewhere (job-level sink.*): no warnings */
    size_t n_inherited;
} syncc_build_opts;

/*
 * Validates kv (keys without their prefix) against table, applies defaults and
 * returns a new option set, or NULL with a message naming file:line.
 */
sync_config *syncc_config_build(const sync_option *table, syncc_kv *const *kv, size_t n_kv,
                                const syncc_build_opts *o, char *err, size_t errlen);

/* Adds a copy of value to conf->secrets unless it is empty or already there. */
int syncc_conf_add_secret(syncc_conf *conf, const char *value);

/* Non-zero if file (an interned path of conf) can be read by its group or others. */
int syncc_conf_file_exposed(const syncc_conf *conf, const char *file);

/* "[engine]" or "[kind name]". */
void syncc_conf_section_desc(const syncc_section *sec, char *buf, size_t n);

/*
 * Second half of loading (conf_check.c): once every file is read, checks the
 * engine, job, stream and map sections, resolves references between them and
 * fills conf->engine, instances and jobs.  Returns 0 or -1 with a message.
 */
int syncc_conf_resolve(syncc_conf *conf, char *err, size_t errlen);

#endif /* SYNCC_CONF_PRIV_H */
