/*
 * compare_incomplete.c - a source whose compare operations (ABI 1.3) lack
 * the required fetch.  The loader refuses it: "plugin 'compare_incomplete':
 * required compare callback 'fetch' is missing".  Everything else about it
 * is valid.
 */
#include <sync/sync.h>

static const sync_host *api;

static int ci_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int ci_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void ci_close(void *instance)
{
}

static int ci_cmp_open(sync_ctx *ctx, const sync_config *cfg, int is_source, void **instance)
{
    *instance = (void *)&api;
    return SYNC_OK;
}

static int ci_table(void *instance, const sync_compare_table *t, sync_type *kinds, const char **key_out,
                    void **table_state)
{
    return SYNC_E_UNSUPPORTED;
}

static int ci_summary(void *instance, void *table_state, const sync_type *kinds, const char *lo, const char *hi,
                      int64_t *count, uint64_t *hash)
{
    return SYNC_E_UNSUPPORTED;
}

static int ci_split(void *instance, void *table_state, const char *lo, const char *hi, int64_t step,
                    void (*key)(void *payload, const char *key), void *payload)
{
    return SYNC_E_UNSUPPORTED;
}

static const sync_source_ops ci_source = {
    .struct_size = sizeof(sync_source_ops),
    .open = ci_open,
    .read = ci_read,
    .close = ci_close,
};

static const sync_compare_ops ci_compare = {
    .struct_size = sizeof(sync_compare_ops),
    .open = ci_cmp_open,
    .table = ci_table,
    .summary = ci_summary,
    .split = ci_split,
    .fetch = NULL,
    .close = ci_close,
};

static const sync_plugin ci_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "compare_incomplete",
    .version = "1.0.0",
    .description = "source whose compare operations lack fetch",
    .provides = SYNC_PROVIDES_SOURCE,
    .source = &ci_source,
    .compare = &ci_compare,
};

SYNC_PLUGIN_DEFINE(ci_plugin, api)
