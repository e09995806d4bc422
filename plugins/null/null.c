/*
 * plugins/null/null.c - a sink that discards every record and counts them.
 *
 * For testing a source or a mapping without a target (like Fluent Bit's
 * `null` output): every record counts as stored, deletes as deleted, and the
 * run's end logs how many arrived per target.  Keeps no state: the engine
 * keeps the cursors.  Uses only the public ABI.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <sync/sync.h>

static const sync_host *api;

typedef struct null_target {
    struct null_target *next;
    const char *name;              /* borrowed: the engine keeps the target for the run */
    int64_t upserts, deletes;
} null_target;

typedef struct null_sink {
    sync_ctx *ctx;
    null_target *targets;
} null_sink;

static int null_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    (void)cfg;
    null_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SYNC_E_NOMEM;
    s->ctx = ctx;
    *instance = s;
    return SYNC_OK;
}

static int null_prepare(void *instance, const sync_target *target, void **target_state)
{
    null_sink *s = instance;
    null_target *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return SYNC_E_NOMEM;
    t->name = target->name;
    t->next = s->targets;
    s->targets = t;
    *target_state = t;
    return SYNC_OK;
}

static int null_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                      sync_write_result *result)
{
    null_target *t = target_state;
    (void)instance;
    (void)cursor;
    size_t n = api->batch_count(batch);
    for (size_t i = 0; i < n; i++) {
        if (api->record_op(api->batch_get(batch, i)) == SYNC_OP_DELETE) {
            t->deletes++;
            result->deleted++;
        } else {
            t->upserts++;
            result->inserted++;
        }
    }
    return SYNC_OK;
}

static int null_finish(void *instance, const sync_run_info *run)
{
    null_sink *s = instance;
    (void)run;
    for (null_target *t = s->targets; t != NULL; t = t->next)
        api->log(s->ctx, SYNC_LOG_INFO, "discarded %" PRId64 " upserts and %" PRId64 " deletes for target %s",
                 t->upserts, t->deletes, t->name);
    return SYNC_OK;
}

static void null_close(void *instance)
{
    null_sink *s = instance;
    while (s->targets != NULL) {
        null_target *next = s->targets->next;
        free(s->targets);
        s->targets = next;
    }
    free(s);
}

static const sync_option null_no_options[] = {SYNC_OPTION_END};

static const sync_sink_ops null_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = null_open,
    .prepare = null_prepare,
    .write = null_write,
    .finish = null_finish,
    .close = null_close,
};

static const sync_plugin null_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "null",
    .version = "1.0.0",
    .description = "Discards every record and counts them, for testing sources and mappings",
    .provides = SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_DELETES,
    .options = null_no_options,
    .stream_options = null_no_options,
    .target_options = null_no_options,
    .sink = &null_sink_ops,
};

SYNC_PLUGIN_DEFINE(null_plugin, api)
