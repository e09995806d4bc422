/*
 * pgs_hooks.c - user SQL run at fixed points of a run.
 *
 * before_run_sql (at begin), after_batch_sql (inside each batch's
 * transaction, after the rows are stored, with the temp table sync_affected
 * listing what the batch did) and after_run_sql (at finish).  Each option
 * may be given several times; the statements run in the order written, one
 * statement per item.  The values of sql_params are bound as $1..$n, so ids
 * from the environment never become SQL text.  The server must know every
 * bound parameter's type, so only $1..$max of the statement are bound, and
 * a position the statement skips is bound as text.
 */
#include "pgs_hooks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXTOID 25

size_t pgs_hooks_count(const sync_config *cfg, const char *name)
{
    return pgs_opt_count(cfg, name);
}

/*
 * Prepares the parameters of one statement: values[] from sql_params and
 * types[] (0 = inferred, text for unreferenced positions).  Returns the number
 * to bind, or -1 (err filled) when the statement refers past sql_params.
 */
int pgs_hook_params(const sync_config *cfg, const char *sql, const char *what, size_t index,
                    const char **values, unsigned *types, size_t cap, pgs_err *err)
{
    size_t n_params = pgs_opt_count(cfg, "sql_params");
    unsigned char used[64];
    size_t limit = n_params < sizeof(used) ? n_params : sizeof(used);
    if (limit > cap)
        limit = cap;
    int max = pgs_sql_param_refs(sql, used, limit);
    if (max < 0) {
        pgs_err_set(err, SYNC_E_CONFIG,
                    "%s statement %zu (%s) refers to a parameter beyond the %zu value(s) of sql_params",
                    what, index + 1, pgs_host->config_where(cfg, what), n_params);
        return -1;
    }
    for (int i = 0; i < max; i++) {
        values[i] = pgs_opt_item(cfg, "sql_params", (size_t)i);
        types[i] = used[i] ? 0 : TEXTOID;
    }
    return max;
}

int pgs_hooks_run(pgs_conn *c, const sync_config *cfg, const char *name, pgs_err *err)
{
    size_t n = pgs_opt_count(cfg, name);
    for (size_t i = 0; i < n; i++) {
        const char *sql = pgs_opt_item(cfg, name, i);
        const char *values[64];
        unsigned types[64];
        int np = pgs_hook_params(cfg, sql, name, i, values, types, 64, err);
        if (np < 0)
            return err->status;
        PGresult *res = pgs_exec(c, sql, np, values, types, err);
        if (!res) {
            pgs_err_prefix(err, "%s statement %zu (%s) failed: ", name, i + 1,
                           pgs_host->config_where(cfg, name));
            /* a failing hook is a configuration problem unless the database went away */
            if (err->status != SYNC_E_UNAVAILABLE && err->status != SYNC_E_CONFLICT &&
                err->status != SYNC_E_TIMEOUT)
                err->status = SYNC_E_CONFIG;
            return err->status;
        }
        pgs_host->log(c->ctx, SYNC_LOG_DEBUG, "%s statement %zu: %s %s", name, i + 1, PQcmdStatus(res),
                      PQcmdTuples(res));
        PQclear(res);
    }
    return SYNC_OK;
}
