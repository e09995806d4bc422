/*
 * pgs_host.h - the PostgreSQL connector's view of the engine: the host table,
 * option access and error reporting.
 *
 * The lowest layer of the connector besides the pure SQL building of
 * pgs_sql.h; every other file reaches the engine through it.  Names crossing
 * files are prefixed pgs_ and hidden (the plugin is built with hidden
 * visibility): the shared object exports nothing but sync_plugin_entry.
 */
#ifndef PGS_HOST_H
#define PGS_HOST_H

#include <stddef.h>

#include <sync/sync.h>

#include "pgs_sql.h"

/* The host table, set by sync_plugin_entry (pgs_plugin.c) before any callback runs. */
extern const sync_host *pgs_host;

/* Config access that tolerates a NULL option set (no job-level keys). */
const char *pgs_opt_string(const sync_config *cfg, const char *name);
size_t pgs_opt_count(const sync_config *cfg, const char *name);
const char *pgs_opt_item(const sync_config *cfg, const char *name, size_t i);

/* Reports err through host->set_error (with its SQLSTATE); returns err->status. */
int pgs_fail(sync_ctx *ctx, const pgs_err *err);

#endif /* PGS_HOST_H */
