/*
 * core/host.c - the host table handed to plugins, and plugin contexts.
 *
 * Each table entry is a thin, defensive wrapper around an engine module
 * (records, configuration, state, log).  Wrappers check their arguments
 * because a plugin is a third party: a NULL where a handle belongs yields
 * SYNC_E_INVALID, never a crash inside the engine.
 */
#include "hostapi.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "log.h"
#include "state.h"
#include "status.h"
#include "tenant.h"
#include "timeutil.h"

/* ------------------------------------------------------------ contexts */

sync_ctx *syncc_ctx_new(const char *job, const char *instance, const char *plugin)
{
    sync_ctx *ctx = calloc(1, sizeof(*ctx));
    if (ctx == NULL)
        return NULL;
    ctx->job = job ? strdup(job) : NULL;
    ctx->instance = instance ? strdup(instance) : NULL;
    ctx->plugin = plugin ? strdup(plugin) : NULL;
    pthread_mutex_init(&ctx->lock, NULL);
    return ctx;
}

void syncc_ctx_free(sync_ctx *ctx)
{
    if (ctx == NULL)
        return;
    free(ctx->job);
    free(ctx->instance);
    free(ctx->plugin);
    free(ctx->stream);
    free(ctx->run_id);
    for (size_t i = 0; i < ctx->n_counters; i++)
        free(ctx->counters[i].name);
    free(ctx->counters);
    for (size_t i = 0; i < ctx->n_rejects; i++) {
        free(ctx->rejects[i].key);
        free(ctx->rejects[i].stream);
        free(ctx->rejects[i].message);
    }
    free(ctx->rejects);
    pthread_mutex_destroy(&ctx->lock);
    free(ctx);
}

static void h_counter_add(sync_ctx *ctx, const char *name, int64_t delta);

void syncc_ctx_absorb(sync_ctx *dst, sync_ctx *src)
{
    for (size_t i = 0; i < src->n_counters; i++)
        h_counter_add(dst, src->counters[i].name, src->counters[i].value);
    pthread_mutex_lock(&dst->lock);
    dst->n_rejected += src->n_rejected;
    for (size_t i = 0; i < src->n_rejects; i++) {
        syncc_reject *n = dst->n_rejects < SYNCC_MAX_REJECT_DETAILS
                              ? realloc(dst->rejects, (dst->n_rejects + 1) * sizeof(*n))
                              : NULL;
        if (n == NULL)
            break;
        dst->rejects = n;
        n[dst->n_rejects++] = src->rejects[i];
        memset(&src->rejects[i], 0, sizeof(src->rejects[i])); /* moved */
    }
    pthread_mutex_unlock(&dst->lock);
}

void syncc_ctx_set_stream(sync_ctx *ctx, const char *stream)
{
    free(ctx->stream);
    ctx->stream = stream ? strdup(stream) : NULL;
}

const char *syncc_ctx_error(sync_ctx *ctx)
{
    return ctx->errbuf;
}

int64_t syncc_ctx_counter(sync_ctx *ctx, const char *name)
{
    int64_t v = 0;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->n_counters; i++)
        if (strcmp(ctx->counters[i].name, name) == 0)
            v = ctx->counters[i].value;
    pthread_mutex_unlock(&ctx->lock);
    return v;
}

/* -------------------------------------------------------------- helpers */

static void *h_alloc(size_t size) { return malloc(size ? size : 1); }
static void h_free(void *p) { free(p); }

static void h_log(sync_ctx *ctx, sync_log_level level, const char *fmt, ...)
{
    if (level > syncc_log_level())
        return;
    char plugin[256] = "";
    syncc_log_ctx lc = {0};
    if (ctx != NULL) {
        snprintf(plugin, sizeof(plugin), "%s%s%s", ctx->plugin ? ctx->plugin : "",
                 ctx->instance ? ":" : "", ctx->instance ? ctx->instance : "");
        lc.job = ctx->job;
        lc.stream = ctx->stream;
        lc.plugin = plugin;
        lc.run_id = ctx->run_id;
    }
    va_list ap;
    va_start(ap, fmt);
    syncc_logv(level, ctx ? &lc : NULL, fmt, ap);
    va_end(ap);
}

static int h_log_enabled(sync_ctx *ctx, sync_log_level level)
{
    (void)ctx;
    return level <= syncc_log_level();
}

/* A tenant's secrets belong to its scope: dropped with it when its row is read again (core/tenant.c). */
static void add_ctx_secret(sync_ctx *ctx, const char *secret)
{
    if (ctx != NULL && ctx->tenant != NULL) {
        char scope[600];
        syncc_tenant_secret_scope(ctx->tenant, scope, sizeof(scope));
        syncc_log_add_scoped_secret(scope, secret);
    } else {
        syncc_log_add_secret(secret);
    }
}

static void h_log_add_secret(sync_ctx *ctx, const char *secret) { add_ctx_secret(ctx, secret); }

static void h_set_error(sync_ctx *ctx, const char *fmt, ...)
{
    if (ctx == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx->errbuf, sizeof(ctx->errbuf), fmt, ap);
    va_end(ap);
    syncc_log_redact(ctx->errbuf, sizeof(ctx->errbuf));
}

/* ------------------------------------------------------------- records */

static sync_record *h_record_new(sync_emitter *em, const char *key, size_t key_len, sync_op op)
{
    if (em == NULL || em->batch == NULL)
        return NULL;
    return syncc_batch_add(em->batch, key, key_len, op);
}

static int set_value(sync_record *rec, const char *field, const sync_value *v)
{
    if (rec == NULL || field == NULL)
        return SYNC_E_INVALID;
    return syncc_record_set(rec, field, v);
}

static int h_set_null(sync_record *rec, const char *field)
{
    sync_value v = {.type = SYNC_TYPE_NULL};
    return set_value(rec, field, &v);
}

static int h_set_bool(sync_record *rec, const char *field, int value)
{
    sync_value v = {.type = SYNC_TYPE_BOOL, .u.b = value != 0};
    return set_value(rec, field, &v);
}

static int h_set_int(sync_record *rec, const char *field, int64_t value)
{
    sync_value v = {.type = SYNC_TYPE_INT, .u.i = value};
    return set_value(rec, field, &v);
}

static int h_set_float(sync_record *rec, const char *field, double value)
{
    sync_value v = {.type = SYNC_TYPE_FLOAT, .u.f = value};
    return set_value(rec, field, &v);
}

static int h_set_string(sync_record *rec, const char *field, const char *value, size_t len)
{
    if (value == NULL)
        return h_set_null(rec, field);
    sync_value v = {.type = SYNC_TYPE_STRING, .u.str = {value, len}};
    return set_value(rec, field, &v);
}

static int h_set_timestamp(sync_record *rec, const char *field, int64_t usec)
{
    sync_value v = {.type = SYNC_TYPE_TIMESTAMP, .u.ts = usec};
    return set_value(rec, field, &v);
}

static int h_set_date(sync_record *rec, const char *field, int64_t days)
{
    sync_value v = {.type = SYNC_TYPE_DATE, .u.ts = days};
    return set_value(rec, field, &v);
}

static int h_set_json(sync_record *rec, const char *field, const char *json, size_t len)
{
    if (json == NULL)
        return h_set_null(rec, field);
    sync_value v = {.type = SYNC_TYPE_JSON, .u.str = {json, len}};
    return set_value(rec, field, &v);
}

static int h_set_cursor(sync_record *rec, const char *cursor)
{
    if (rec == NULL)
        return SYNC_E_INVALID;
    return syncc_record_set_cursor(rec, cursor);
}

static int h_emit(sync_emitter *em, const char *cursor)
{
    if (em == NULL || em->batch == NULL || em->deliver == NULL)
        return SYNC_E_INVALID;
    if (cursor != NULL && syncc_batch_set_cursor(em->batch, cursor) != SYNC_OK)
        return SYNC_E_NOMEM;
    sync_batch *next = NULL;
    int rc = em->deliver(em, em->batch, &next);
    em->batch = next;
    return rc;
}

static size_t h_batch_count(const sync_batch *b) { return b ? b->n_records : 0; }

static const sync_record *h_batch_get(const sync_batch *b, size_t i)
{
    return b && i < b->n_records ? b->records[i] : NULL;
}

static const char *h_record_key(const sync_record *r) { return r ? r->key : NULL; }
static sync_op h_record_op(const sync_record *r) { return r ? r->op : SYNC_OP_UPSERT; }
static const char *h_record_cursor(const sync_record *r) { return r ? r->cursor : NULL; }
static size_t h_field_count(const sync_record *r) { return r ? r->n_fields : 0; }

static int h_field_at(const sync_record *r, size_t i, const char **name, sync_value *value)
{
    if (r == NULL)
        return SYNC_E_INVALID;
    if (i >= r->n_fields)
        return SYNC_E_NOTFOUND;
    if (name)
        *name = r->fields[i].name;
    if (value)
        *value = r->fields[i].value;
    return SYNC_OK;
}

static int h_record_get(const sync_record *r, const char *field, sync_value *value)
{
    if (r == NULL || field == NULL)
        return SYNC_E_INVALID;
    long i = syncc_record_find(r, field, 0);
    if (i < 0)
        return SYNC_E_NOTFOUND;
    if (value)
        *value = r->fields[i].value;
    return SYNC_OK;
}

static void h_record_written(sync_ctx *ctx, const sync_record *rec, const char *remote_id, int created)
{
    if (ctx == NULL || remote_id == NULL)
        return;
    pthread_mutex_lock(&ctx->lock);
    ctx->n_written_ids++;
    pthread_mutex_unlock(&ctx->lock);
    if (ctx->on_written != NULL) {
        ctx->on_written(ctx->on_written_payload, rec, remote_id, created);
        return;
    }
    h_log(ctx, SYNC_LOG_DEBUG, "record %s stored as %s (%s)", rec && rec->key ? rec->key : "(no key)",
          remote_id, created ? "created" : "updated");
}

static void h_record_reject(sync_ctx *ctx, const sync_record *rec, const char *fmt, ...)
{
    if (ctx == NULL)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    syncc_log_redact(msg, sizeof(msg));
    const char *key = rec && rec->key ? rec->key : "(no key)";
    pthread_mutex_lock(&ctx->lock);
    ctx->n_rejected++;
    if (ctx->n_rejects < SYNCC_MAX_REJECT_DETAILS) {
        syncc_reject *n = realloc(ctx->rejects, (ctx->n_rejects + 1) * sizeof(*n));
        if (n != NULL) {
            ctx->rejects = n;
            n[ctx->n_rejects].key = strdup(key);
            n[ctx->n_rejects].stream = ctx->stream ? strdup(ctx->stream) : NULL;
            n[ctx->n_rejects].message = strdup(msg);
            ctx->n_rejects++;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    h_log(ctx, SYNC_LOG_WARN, "record %s rejected: %s", key, msg);
}

/* ------------------------------------------------------------- catalog */

struct sync_catalog {
    char **lines; /* "stream" or "stream\tfield\ttype" */
    size_t n, cap;
};

static int catalog_push(sync_catalog *cat, char *line)
{
    if (line == NULL)
        return SYNC_E_NOMEM;
    if (cat->n == cat->cap) {
        size_t cap = cat->cap ? cat->cap * 2 : 64;
        char **n = realloc(cat->lines, cap * sizeof(*n));
        if (n == NULL) {
            free(line);
            return SYNC_E_NOMEM;
        }
        cat->lines = n;
        cat->cap = cap;
    }
    cat->lines[cat->n++] = line;
    return SYNC_OK;
}

static int h_catalog_add_stream(sync_catalog *cat, const char *stream)
{
    if (cat == NULL || stream == NULL)
        return SYNC_E_INVALID;
    return catalog_push(cat, strdup(stream));
}

static int h_catalog_add_field(sync_catalog *cat, const char *stream, const char *field, sync_type type)
{
    if (cat == NULL || stream == NULL || field == NULL)
        return SYNC_E_INVALID;
    char *line = NULL;
    if (asprintf(&line, "%s\t%s\t%s", stream, field, syncc_type_name(type)) < 0)
        return SYNC_E_NOMEM;
    return catalog_push(cat, line);
}

sync_catalog *syncc_catalog_new(void) { return calloc(1, sizeof(sync_catalog)); }

void syncc_catalog_print(const sync_catalog *cat, FILE *out)
{
    for (size_t i = 0; i < cat->n; i++) {
        const char *l = cat->lines[i];
        const char *tab = strchr(l, '\t');
        if (tab == NULL)
            fprintf(out, "%s\n", l);
        else
            fprintf(out, "    %s\n", tab + 1);
    }
}

void syncc_catalog_free(sync_catalog *cat)
{
    if (cat == NULL)
        return;
    for (size_t i = 0; i < cat->n; i++)
        free(cat->lines[i]);
    free(cat->lines);
    free(cat);
}

/* --------------------------------------------------------------- state */

/*
 * The state namespace of an instance: its section, and for a tenant's run the
 * tenant too, so that tenants sharing a template's [source] keep apart what
 * their plugins remember (describes, API usage of their own org).
 */
static void state_ns(const sync_ctx *ctx, char *ns, size_t size)
{
    if (ctx->tenant != NULL)
        snprintf(ns, size, "plugin:%s@%s", ctx->instance ? ctx->instance : "", ctx->tenant->key);
    else
        snprintf(ns, size, "plugin:%s", ctx->instance ? ctx->instance : "");
}

static int h_state_get(sync_ctx *ctx, const char *key, char **out)
{
    if (ctx == NULL || key == NULL || out == NULL)
        return SYNC_E_INVALID;
    *out = NULL;
    if (ctx->state == NULL)
        return SYNC_E_UNSUPPORTED;
    char ns[600];
    state_ns(ctx, ns, sizeof(ns));
    if (syncc_state_get(ctx->state, ns, key, out) != 0)
        return SYNC_E_IO;
    return *out ? SYNC_OK : SYNC_E_NOTFOUND;
}

static int h_state_put(sync_ctx *ctx, const char *key, const char *value)
{
    if (ctx == NULL || key == NULL)
        return SYNC_E_INVALID;
    if (ctx->state == NULL)
        return SYNC_E_UNSUPPORTED;
    char ns[600], err[512];
    state_ns(ctx, ns, sizeof(ns));
    if (syncc_state_put(ctx->state, ns, key, value, err, sizeof(err)) != 0) {
        h_log(ctx, SYNC_LOG_ERROR, "%s", err);
        return SYNC_E_IO;
    }
    return SYNC_OK;
}

static int h_cancelled(sync_ctx *ctx)
{
    return ctx && ctx->cancel ? *ctx->cancel != 0 : 0;
}

static void h_counter_add(sync_ctx *ctx, const char *name, int64_t delta)
{
    if (ctx == NULL || name == NULL)
        return;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->n_counters; i++) {
        if (strcmp(ctx->counters[i].name, name) == 0) {
            ctx->counters[i].value += delta;
            pthread_mutex_unlock(&ctx->lock);
            return;
        }
    }
    syncc_counter *n = realloc(ctx->counters, (ctx->n_counters + 1) * sizeof(*n));
    if (n != NULL) {
        ctx->counters = n;
        n[ctx->n_counters].name = strdup(name);
        n[ctx->n_counters].value = delta;
        if (n[ctx->n_counters].name != NULL)
            ctx->n_counters++;
    }
    pthread_mutex_unlock(&ctx->lock);
}

static int h_time_parse(const char *text, size_t len, int64_t *usec)
{
    if (text == NULL || usec == NULL)
        return SYNC_E_INVALID;
    return syncc_time_parse(text, len, usec, NULL) == 0 ? SYNC_OK : SYNC_E_INVALID;
}

static int h_time_format(int64_t usec, char *buf, size_t size)
{
    if (buf == NULL)
        return SYNC_E_INVALID;
    return syncc_time_format(usec, buf, size) == 0 ? SYNC_OK : SYNC_E_INVALID;
}

static const char *h_ctx_job(sync_ctx *ctx) { return ctx ? ctx->job : NULL; }
static const char *h_ctx_instance(sync_ctx *ctx) { return ctx ? ctx->instance : NULL; }
static int h_ctx_read_only(sync_ctx *ctx) { return ctx ? ctx->read_only : 0; }

/* Credentials a source was issued: stored in the tenant's row before the plugin uses them (core/tenant.c). */
static int h_credentials_changed(sync_ctx *ctx, const char *const *names, const char *const *values, size_t n)
{
    if (ctx == NULL || (n > 0 && (names == NULL || values == NULL)))
        return SYNC_E_INVALID;
    for (size_t i = 0; i < n; i++)
        if (values[i] != NULL)
            add_ctx_secret(ctx, values[i]);
    if (ctx->tenant == NULL)
        return SYNC_E_UNSUPPORTED;
    return syncc_tenant_store_credentials(ctx->tenant, names, values, n);
}

static const sync_host host_table = {
    .abi_major = SYNC_ABI_MAJOR,
    .abi_minor = SYNC_ABI_MINOR,
    .struct_size = sizeof(sync_host),
    .strerror = syncc_strerror,
    .status_is_retryable = syncc_status_is_retryable,
    .alloc = h_alloc,
    .free = h_free,
    .log = h_log,
    .log_enabled = h_log_enabled,
    .log_add_secret = h_log_add_secret,
    .set_error = h_set_error,
    .config_get_string = syncc_config_get_string,
    .config_get_int = syncc_config_get_int,
    .config_get_bool = syncc_config_get_bool,
    .config_get_double = syncc_config_get_double,
    .config_list_count = syncc_config_list_count,
    .config_list_item = syncc_config_list_item,
    .config_where = syncc_config_where,
    .record_new = h_record_new,
    .record_set_null = h_set_null,
    .record_set_bool = h_set_bool,
    .record_set_int = h_set_int,
    .record_set_float = h_set_float,
    .record_set_string = h_set_string,
    .record_set_timestamp = h_set_timestamp,
    .record_set_date = h_set_date,
    .record_set_json = h_set_json,
    .record_set_cursor = h_set_cursor,
    .emit = h_emit,
    .batch_count = h_batch_count,
    .batch_get = h_batch_get,
    .record_key = h_record_key,
    .record_op = h_record_op,
    .record_cursor = h_record_cursor,
    .record_field_count = h_field_count,
    .record_field_at = h_field_at,
    .record_get = h_record_get,
    .record_reject = h_record_reject,
    .catalog_add_stream = h_catalog_add_stream,
    .catalog_add_field = h_catalog_add_field,
    .state_get = h_state_get,
    .state_put = h_state_put,
    .cancelled = h_cancelled,
    .counter_add = h_counter_add,
    .time_parse = h_time_parse,
    .time_format = h_time_format,
    .time_now = syncc_time_now,
    .ctx_job = h_ctx_job,
    .ctx_instance = h_ctx_instance,
    .ctx_read_only = h_ctx_read_only,
    .credentials_changed = h_credentials_changed,
    .record_written = h_record_written,
};

const sync_host *syncc_host(void) { return &host_table; }
