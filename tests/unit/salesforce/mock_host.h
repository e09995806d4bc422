/*
 * mock_host.h - a stand-in host table for unit tests of the Salesforce
 * connector.  Records, emits, errors, log lines, counters, state and catalog
 * entries land in one global `mock` the tests inspect; configuration comes
 * from key/value arrays.  It depends on nothing in the core, so the plugin is
 * tested on its own (the collectd plugin_mock.c idea).
 *
 * Include it from exactly one test file per binary; call mock_reset() in each
 * test's setup and mock_install() to hand the table to the plugin.
 */
#ifndef SF_MOCK_HOST_H
#define SF_MOCK_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sync/sync.h>

#define MOCK_UNUSED __attribute__((unused))

#define MOCK_MAX_FIELDS 64
#define MOCK_MAX_RECORDS 20000
#define MOCK_MAX_EMITS 1000
#define MOCK_MAX_KV 32

typedef struct mock_field {
    char *name;
    sync_value v; /* strings point into owned copies */
} mock_field;

typedef struct mock_record {
    char *key;
    sync_op op;
    char *cursor;
    size_t batch;  /* index of the emit that delivered it */
    mock_field fields[MOCK_MAX_FIELDS];
    size_t n_fields;
} mock_record;

typedef struct mock_kv {
    const char *key;
    const char *value;
} mock_kv;

/* A configuration: key/value pairs; LIST values are comma-separated. */
typedef struct mock_config {
    mock_kv kv[MOCK_MAX_KV];
    size_t n;
} mock_config;

typedef struct mock_state {
    mock_record *records; /* MOCK_MAX_RECORDS */
    size_t n_records;
    char *emits[MOCK_MAX_EMITS]; /* cursor per emit ("" for NULL) */
    size_t n_emits;
    int emit_rc;             /* what emit returns */
    size_t cancel_after_emits; /* cancelled() turns true after this many emits (0: never) */
    int cancel;
    char err[2048];
    char log[65536];
    char *secrets[32];
    size_t n_secrets;
    char *state_keys[MOCK_MAX_KV];
    char *state_vals[MOCK_MAX_KV];
    size_t n_state;
    char *counter_names[16];
    int64_t counters[16];
    size_t n_counters;
    char *streams[256];
    size_t n_streams;
    size_t n_catalog_fields;
    int64_t now; /* 0: the real clock */
    void (*on_emit)(size_t n_emits); /* called after each emit is recorded */
    /* credentials_changed: 0 answers SYNC_E_UNSUPPORTED (no tenant), 1 answers
     * cred_rc; the latest call's pairs are kept, and the calls counted */
    int cred_mode;
    int cred_rc;
    int cred_calls;
    char *cred_names[4];
    char *cred_vals[4];
    size_t n_cred;
} mock_state;

static mock_state mock;

static MOCK_UNUSED char *mock_strdup(const char *s, size_t len)
{
    char *c = malloc(len + 1);
    memcpy(c, s, len);
    c[len] = '\0';
    return c;
}

static MOCK_UNUSED void mock_reset(void)
{
    for (size_t i = 0; i < mock.n_records; i++) {
        mock_record *r = &mock.records[i];
        free(r->key);
        free(r->cursor);
        for (size_t j = 0; j < r->n_fields; j++) {
            free(r->fields[j].name);
            if (r->fields[j].v.type == SYNC_TYPE_STRING || r->fields[j].v.type == SYNC_TYPE_JSON)
                free((char *)r->fields[j].v.u.str.ptr);
        }
    }
    free(mock.records);
    for (size_t i = 0; i < mock.n_emits; i++)
        free(mock.emits[i]);
    for (size_t i = 0; i < mock.n_secrets; i++)
        free(mock.secrets[i]);
    for (size_t i = 0; i < mock.n_state; i++) {
        free(mock.state_keys[i]);
        free(mock.state_vals[i]);
    }
    for (size_t i = 0; i < mock.n_counters; i++)
        free(mock.counter_names[i]);
    for (size_t i = 0; i < mock.n_streams; i++)
        free(mock.streams[i]);
    for (size_t i = 0; i < mock.n_cred; i++) {
        free(mock.cred_names[i]);
        free(mock.cred_vals[i]);
    }
    memset(&mock, 0, sizeof mock);
    mock.records = calloc(MOCK_MAX_RECORDS, sizeof *mock.records);
}

/* ---- host functions */

static const char *m_strerror(int status)
{
    switch (status) {
    case SYNC_OK: return "success";
    case SYNC_E_AUTH: return "authentication failed";
    case SYNC_E_RATELIMIT: return "rate limited";
    case SYNC_E_UNAVAILABLE: return "service unavailable";
    case SYNC_E_NETWORK: return "network error";
    case SYNC_E_PROTOCOL: return "protocol error";
    default: return "error";
    }
}

static int m_retryable(int status)
{
    return status == SYNC_E_NETWORK || status == SYNC_E_TIMEOUT || status == SYNC_E_RATELIMIT ||
           status == SYNC_E_UNAVAILABLE || status == SYNC_E_PROTOCOL || status == SYNC_E_CONFLICT;
}

static void *m_alloc(size_t n) { return malloc(n); }
static void m_free(void *p) { free(p); }

static void m_log(sync_ctx *ctx, sync_log_level level, const char *fmt, ...)
{
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t used = strlen(mock.log);
    snprintf(mock.log + used, sizeof mock.log - used, "[%d] %s\n", (int)level, line);
    if (getenv("MOCK_VERBOSE"))
        fprintf(stderr, "[%d] %s\n", (int)level, line);
}

static int m_log_enabled(sync_ctx *ctx, sync_log_level level) { return 1; }

static void m_add_secret(sync_ctx *ctx, const char *s)
{
    if (mock.n_secrets < 32)
        mock.secrets[mock.n_secrets++] = mock_strdup(s, strlen(s));
}

static void m_set_error(sync_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mock.err, sizeof mock.err, fmt, ap);
    va_end(ap);
    if (getenv("MOCK_VERBOSE"))
        fprintf(stderr, "set_error: %s\n", mock.err);
}

static const char *m_get_string(const sync_config *cfg, const char *name)
{
    const mock_config *c = (const mock_config *)cfg;
    for (size_t i = 0; c != NULL && i < c->n; i++)
        if (strcmp(c->kv[i].key, name) == 0)
            return c->kv[i].value;
    return NULL;
}

static int m_get_int(const sync_config *cfg, const char *name, int64_t *out)
{
    const char *v = m_get_string(cfg, name);
    if (v == NULL)
        return SYNC_E_NOTFOUND;
    *out = strtoll(v, NULL, 10);
    return SYNC_OK;
}

static int m_get_bool(const sync_config *cfg, const char *name, int *out)
{
    const char *v = m_get_string(cfg, name);
    if (v == NULL)
        return SYNC_E_NOTFOUND;
    *out = strcmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcmp(v, "yes") == 0;
    return SYNC_OK;
}

static int m_get_double(const sync_config *cfg, const char *name, double *out)
{
    const char *v = m_get_string(cfg, name);
    if (v == NULL)
        return SYNC_E_NOTFOUND;
    *out = strtod(v, NULL);
    return SYNC_OK;
}

/* LIST items are kept in a small ring so returned pointers stay valid a while. */
static char mock_items[64][256];
static size_t mock_item_next;

static size_t m_list_count(const sync_config *cfg, const char *name)
{
    const char *v = m_get_string(cfg, name);
    if (v == NULL || *v == '\0')
        return 0;
    size_t n = 1;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

static const char *m_list_item(const sync_config *cfg, const char *name, size_t index)
{
    const char *v = m_get_string(cfg, name);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < index; i++) {
        v = strchr(v, ',');
        if (v == NULL)
            return NULL;
        v++;
    }
    while (*v == ' ')
        v++;
    const char *end = strchr(v, ',');
    size_t len = end ? (size_t)(end - v) : strlen(v);
    while (len > 0 && v[len - 1] == ' ')
        len--;
    char *slot = mock_items[mock_item_next++ % 64];
    snprintf(slot, 256, "%.*s", (int)len, v);
    return slot;
}

static const char *m_where(const sync_config *cfg, const char *name) { return "test.ini:1"; }

static sync_record *m_record_new(sync_emitter *em, const char *key, size_t len, sync_op op)
{
    if (mock.n_records >= MOCK_MAX_RECORDS)
        return NULL;
    mock_record *r = &mock.records[mock.n_records++];
    r->key = mock_strdup(key, len);
    r->op = op;
    r->batch = mock.n_emits;
    return (sync_record *)r;
}

static mock_field *slot_for(sync_record *rec, const char *field)
{
    mock_record *r = (mock_record *)rec;
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, field) == 0) {
            if (r->fields[i].v.type == SYNC_TYPE_STRING || r->fields[i].v.type == SYNC_TYPE_JSON)
                free((char *)r->fields[i].v.u.str.ptr);
            return &r->fields[i];
        }
    if (r->n_fields >= MOCK_MAX_FIELDS)
        return NULL;
    mock_field *f = &r->fields[r->n_fields++];
    f->name = mock_strdup(field, strlen(field));
    return f;
}

static int m_set_null(sync_record *rec, const char *field)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_NULL;
    return SYNC_OK;
}
static int m_set_bool(sync_record *rec, const char *field, int value)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_BOOL;
    f->v.u.b = value;
    return SYNC_OK;
}
static int m_set_int(sync_record *rec, const char *field, int64_t value)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_INT;
    f->v.u.i = value;
    return SYNC_OK;
}
static int m_set_float(sync_record *rec, const char *field, double value)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_FLOAT;
    f->v.u.f = value;
    return SYNC_OK;
}
static int m_set_str(sync_record *rec, const char *field, const char *value, size_t len)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_STRING;
    f->v.u.str.ptr = mock_strdup(value, len);
    f->v.u.str.len = len;
    return SYNC_OK;
}
static int m_set_ts(sync_record *rec, const char *field, int64_t usec)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_TIMESTAMP;
    f->v.u.ts = usec;
    return SYNC_OK;
}
static int m_set_date(sync_record *rec, const char *field, int64_t days)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_DATE;
    f->v.u.ts = days;
    return SYNC_OK;
}
static int m_set_json(sync_record *rec, const char *field, const char *json, size_t len)
{
    mock_field *f = slot_for(rec, field);
    if (!f) return SYNC_E_NOMEM;
    f->v.type = SYNC_TYPE_JSON;
    f->v.u.str.ptr = mock_strdup(json, len);
    f->v.u.str.len = len;
    return SYNC_OK;
}
static int m_set_cursor(sync_record *rec, const char *cursor)
{
    mock_record *r = (mock_record *)rec;
    free(r->cursor);
    r->cursor = mock_strdup(cursor, strlen(cursor));
    return SYNC_OK;
}

static int m_emit(sync_emitter *em, const char *cursor)
{
    if (mock.emit_rc != SYNC_OK)
        return mock.emit_rc;
    if (mock.n_emits < MOCK_MAX_EMITS)
        mock.emits[mock.n_emits++] = mock_strdup(cursor ? cursor : "", cursor ? strlen(cursor) : 0);
    if (mock.on_emit != NULL)
        mock.on_emit(mock.n_emits);
    return SYNC_OK;
}

static int m_add_stream(sync_catalog *cat, const char *stream)
{
    if (mock.n_streams < 256)
        mock.streams[mock.n_streams++] = mock_strdup(stream, strlen(stream));
    return SYNC_OK;
}

static int m_add_field(sync_catalog *cat, const char *stream, const char *field, sync_type type)
{
    mock.n_catalog_fields++;
    return SYNC_OK;
}

static int m_state_get(sync_ctx *ctx, const char *key, char **out)
{
    for (size_t i = 0; i < mock.n_state; i++)
        if (strcmp(mock.state_keys[i], key) == 0) {
            *out = mock_strdup(mock.state_vals[i], strlen(mock.state_vals[i]));
            return SYNC_OK;
        }
    return SYNC_E_NOTFOUND;
}

static int m_state_put(sync_ctx *ctx, const char *key, const char *value)
{
    for (size_t i = 0; i < mock.n_state; i++)
        if (strcmp(mock.state_keys[i], key) == 0) {
            free(mock.state_vals[i]);
            mock.state_vals[i] = mock_strdup(value, strlen(value));
            return SYNC_OK;
        }
    if (mock.n_state >= MOCK_MAX_KV)
        return SYNC_E_IO;
    mock.state_keys[mock.n_state] = mock_strdup(key, strlen(key));
    mock.state_vals[mock.n_state++] = mock_strdup(value, strlen(value));
    return SYNC_OK;
}

static int m_credentials_changed(sync_ctx *ctx, const char *const *names, const char *const *values,
                                 size_t n)
{
    if (mock.cred_mode == 0)
        return SYNC_E_UNSUPPORTED;
    for (size_t i = 0; i < mock.n_cred; i++) {
        free(mock.cred_names[i]);
        free(mock.cred_vals[i]);
    }
    mock.n_cred = 0;
    for (size_t i = 0; i < n && i < 4; i++) {
        mock.cred_names[i] = mock_strdup(names[i], strlen(names[i]));
        mock.cred_vals[i] = mock_strdup(values[i], strlen(values[i]));
        mock.n_cred++;
    }
    mock.cred_calls++;
    return mock.cred_rc;
}

static MOCK_UNUSED const char *mock_cred(const char *name)
{
    for (size_t i = 0; i < mock.n_cred; i++)
        if (strcmp(mock.cred_names[i], name) == 0)
            return mock.cred_vals[i];
    return NULL;
}

static int m_cancelled(sync_ctx *ctx)
{
    return mock.cancel || (mock.cancel_after_emits > 0 && mock.n_emits >= mock.cancel_after_emits);
}

static void m_counter_add(sync_ctx *ctx, const char *name, int64_t delta)
{
    for (size_t i = 0; i < mock.n_counters; i++)
        if (strcmp(mock.counter_names[i], name) == 0) {
            mock.counters[i] += delta;
            return;
        }
    if (mock.n_counters < 16) {
        mock.counter_names[mock.n_counters] = mock_strdup(name, strlen(name));
        mock.counters[mock.n_counters++] = delta;
    }
}

/* "YYYY-MM-DDTHH:MM:SS[.fff](Z|+HHMM|+HH:MM)" */
static int m_time_parse(const char *text, size_t len, int64_t *usec)
{
    char buf[64];
    if (len >= sizeof buf)
        return SYNC_E_INVALID;
    memcpy(buf, text, len);
    buf[len] = '\0';
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    int n = 0;
    if (sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return SYNC_E_INVALID;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = buf + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000;
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    int64_t off = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int hh, mm;
        int sign = *p == '-' ? -1 : 1;
        if (sscanf(p + 1, "%2d%*[:]%2d", &hh, &mm) != 2 && sscanf(p + 1, "%2d%2d", &hh, &mm) != 2)
            return SYNC_E_INVALID;
        off = sign * (hh * 3600 + mm * 60);
        p += strlen(p);
    } else {
        return SYNC_E_INVALID;
    }
    if (*p != '\0')
        return SYNC_E_INVALID;
    *usec = ((int64_t)timegm(&tm) - off) * 1000000 + frac;
    return SYNC_OK;
}

static int m_time_format(int64_t usec, char *buf, size_t size)
{
    time_t t = (time_t)(usec / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)((usec % 1000000) / 1000));
    return SYNC_OK;
}

static int64_t m_time_now(void)
{
    if (mock.now != 0)
        return mock.now;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static const char *m_ctx_job(sync_ctx *ctx) { return "acme"; }
static const char *m_ctx_instance(sync_ctx *ctx) { return "sf_test"; }

static const sync_host mock_host_table = {
    .abi_major = SYNC_ABI_MAJOR,
    .abi_minor = SYNC_ABI_MINOR,
    .struct_size = sizeof(sync_host),
    .strerror = m_strerror,
    .status_is_retryable = m_retryable,
    .alloc = m_alloc,
    .free = m_free,
    .log = m_log,
    .log_enabled = m_log_enabled,
    .log_add_secret = m_add_secret,
    .set_error = m_set_error,
    .config_get_string = m_get_string,
    .config_get_int = m_get_int,
    .config_get_bool = m_get_bool,
    .config_get_double = m_get_double,
    .config_list_count = m_list_count,
    .config_list_item = m_list_item,
    .config_where = m_where,
    .record_new = m_record_new,
    .record_set_null = m_set_null,
    .record_set_bool = m_set_bool,
    .record_set_int = m_set_int,
    .record_set_float = m_set_float,
    .record_set_string = m_set_str,
    .record_set_timestamp = m_set_ts,
    .record_set_date = m_set_date,
    .record_set_json = m_set_json,
    .record_set_cursor = m_set_cursor,
    .emit = m_emit,
    .catalog_add_stream = m_add_stream,
    .catalog_add_field = m_add_field,
    .state_get = m_state_get,
    .state_put = m_state_put,
    .cancelled = m_cancelled,
    .counter_add = m_counter_add,
    .time_parse = m_time_parse,
    .time_format = m_time_format,
    .time_now = m_time_now,
    .ctx_job = m_ctx_job,
    .ctx_instance = m_ctx_instance,
    .credentials_changed = m_credentials_changed,
};

/* Hands the table to the plugin the way the engine does. */
const sync_plugin *sync_plugin_entry(const sync_host *host);
static MOCK_UNUSED const sync_plugin *mock_install(void)
{
    return sync_plugin_entry(&mock_host_table);
}

/* ---- inspection helpers */

static MOCK_UNUSED const sync_value *mock_get(const mock_record *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i].v;
    return NULL;
}

static MOCK_UNUSED int64_t mock_counter(const char *name)
{
    for (size_t i = 0; i < mock.n_counters; i++)
        if (strcmp(mock.counter_names[i], name) == 0)
            return mock.counters[i];
    return 0;
}

/* True if no registered secret occurs in the log or in the error text. */
static MOCK_UNUSED int mock_no_secret_leaked(void)
{
    for (size_t i = 0; i < mock.n_secrets; i++)
        if (mock.secrets[i][0] && (strstr(mock.log, mock.secrets[i]) || strstr(mock.err, mock.secrets[i])))
            return 0;
    return 1;
}

#endif /* SF_MOCK_HOST_H */
