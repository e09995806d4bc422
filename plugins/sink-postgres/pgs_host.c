/*
 * pgs_host.c - the host table, option access and error reporting shared by
 * every layer of the PostgreSQL connector.
 */
#include "pgs_host.h"

const sync_host *pgs_host;

const char *pgs_opt_string(const sync_config *cfg, const char *name)
{
    return cfg ? pgs_host->config_get_string(cfg, name) : NULL;
}

size_t pgs_opt_count(const sync_config *cfg, const char *name)
{
    return cfg ? pgs_host->config_list_count(cfg, name) : 0;
}

const char *pgs_opt_item(const sync_config *cfg, const char *name, size_t i)
{
    return cfg ? pgs_host->config_list_item(cfg, name, i) : NULL;
}

int pgs_fail(sync_ctx *ctx, const pgs_err *err)
{
    if (err->sqlstate[0])
        pgs_host->set_error(ctx, "%s (SQLSTATE %s)", err->message, err->sqlstate);
    else
        pgs_host->set_error(ctx, "%s", err->message);
    return err->status ? err->status : SYNC_ERROR;
}
