/*
 * pgs_hooks.h - user SQL run at fixed points of a run (pgs_hooks.c).
 *
 * Layer 2, on the connection (pgs_conn.h) only: the caller opens the
 * transaction the statements run in.
 */
#ifndef PGS_HOOKS_H
#define PGS_HOOKS_H

#include <stddef.h>

#include "pgs_conn.h"

/*
 * Runs the statements of MULTI option `name` in order, each with the
 * sql_params of cfg bound as $1..$n.  `name` names the phase in errors.
 */
int pgs_hooks_run(pgs_conn *c, const sync_config *cfg, const char *name, pgs_err *err);
size_t pgs_hooks_count(const sync_config *cfg, const char *name);
/*
 * Binds sql_params for one user statement (hooks, run_log_values): fills
 * values/types (at most cap) and returns how many to pass, or -1 with err
 * set when the statement refers past the configured values.
 */
int pgs_hook_params(const sync_config *cfg, const char *sql, const char *what, size_t index,
                    const char **values, unsigned *types, size_t cap, pgs_err *err);

#endif /* PGS_HOOKS_H */
