/*
 * plugins/stdout/stdout.c - a sink that prints every record as a JSON line.
 *
 * For trying and testing a pipeline (like Fluent Bit's `stdout` output): each
 * record becomes one line on standard output (or standard error),
 *   {"_stream":"leads","_key":"1","_op":"upsert","name":"...",...}
 * with the mapped columns in the mapping's order.  A batch is written with one
 * write(), so lines of parallel streams never interleave.  On a terminal the
 * batch starts by erasing the current row, where the engine may have drawn its
 * progress line (it draws it again below).  Keeps no state: the engine keeps
 * the cursors.  Uses only the public ABI.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sync/sync.h>

static const sync_host *api;

typedef struct out_sink {
    sync_ctx *ctx;
    int fd;
    int tty;
} out_sink;

typedef struct buf {
    char *data;
    size_t len, cap;
    int oom;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (d == NULL) {
            b->oom = 1;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A JSON string; control characters escaped, other bytes as they are (the engine's strings are UTF-8). */
static void put_str(buf *b, const char *s, size_t n)
{
    put(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof(esc), "\\u%04x", c);
            put(b, esc, 6);
        } else {
            put(b, (const char *)&s[i], 1);
        }
    }
    put(b, "\"", 1);
}

static void put_value(buf *b, const sync_value *v)
{
    char tmp[64];
    switch (v->type) {
    case SYNC_TYPE_NULL: puts_(b, "null"); return;
    case SYNC_TYPE_BOOL: puts_(b, v->u.b ? "true" : "false"); return;
    case SYNC_TYPE_INT: snprintf(tmp, sizeof(tmp), "%" PRId64, v->u.i); puts_(b, tmp); return;
    case SYNC_TYPE_FLOAT:
        if (!isfinite(v->u.f)) {
            puts_(b, "null");
            return;
        }
        /* the shortest text that reads back as the same double (0.1, not
         * 0.10000000000000001) */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v->u.f);
            if (strtod(tmp, NULL) == v->u.f)
                break;
        }
        puts_(b, tmp);
        return;
    case SYNC_TYPE_STRING: put_str(b, v->u.str.ptr, v->u.str.len); return;
    case SYNC_TYPE_JSON: put(b, v->u.str.ptr, v->u.str.len); return;
    case SYNC_TYPE_TIMESTAMP:
        api->time_format(v->u.ts, tmp, sizeof(tmp));
        put_str(b, tmp, strlen(tmp));
        return;
    case SYNC_TYPE_DATE: {
        /* civil date from days since 1970-01-01 (Howard Hinnant's algorithm) */
        int64_t z = v->u.ts + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
        int64_t doe = z - era * 146097, yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
        int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
        snprintf(tmp, sizeof(tmp), "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
        put_str(b, tmp, strlen(tmp));
        return;
    }
    }
    puts_(b, "null");
}

static int out_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    out_sink *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return SYNC_E_NOMEM;
    const char *to = api->config_get_string(cfg, "to");
    s->ctx = ctx;
    s->fd = to && strcmp(to, "stderr") == 0 ? STDERR_FILENO : STDOUT_FILENO;
    s->tty = isatty(s->fd);
    *instance = s;
    return SYNC_OK;
}

static int out_prepare(void *instance, const sync_target *target, void **target_state)
{
    (void)instance;
    *target_state = (void *)target->name; /* borrowed for the run: the engine keeps the target */
    return SYNC_OK;
}

static int out_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                     sync_write_result *result)
{
    out_sink *s = instance;
    const char *target = target_state;
    (void)cursor;
    buf b = {0};
    size_t n = api->batch_count(batch);
    if (s->tty && n > 0)
        puts_(&b, "\r\033[K"); /* the progress line's row, if it is there */
    for (size_t i = 0; i < n; i++) {
        const sync_record *rec = api->batch_get(batch, i);
        const char *key = api->record_key(rec);
        int del = api->record_op(rec) == SYNC_OP_DELETE;
        puts_(&b, "{\"_stream\":");
        put_str(&b, target, strlen(target));
        puts_(&b, ",\"_key\":");
        put_str(&b, key, strlen(key));
        puts_(&b, del ? ",\"_op\":\"delete\"" : ",\"_op\":\"upsert\"");
        size_t nf = api->record_field_count(rec);
        for (size_t f = 0; f < nf; f++) {
            const char *name;
            sync_value v;
            if (api->record_field_at(rec, f, &name, &v) != SYNC_OK)
                continue;
            puts_(&b, ",");
            put_str(&b, name, strlen(name));
            puts_(&b, ":");
            put_value(&b, &v);
        }
        puts_(&b, "}\n");
        if (del)
            result->deleted++;
        else
            result->inserted++;
    }
    if (b.oom) {
        free(b.data);
        return SYNC_E_NOMEM;
    }
    size_t off = 0;
    while (off < b.len) {
        ssize_t w = write(s->fd, b.data + off, b.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            api->set_error(s->ctx, "cannot write to standard %s: %s", s->fd == STDOUT_FILENO ? "output" : "error",
                           strerror(errno));
            free(b.data);
            return SYNC_E_IO;
        }
        off += (size_t)w;
    }
    free(b.data);
    return SYNC_OK;
}

static int out_finish(void *instance, const sync_run_info *run)
{
    (void)instance;
    (void)run;
    return SYNC_OK;
}

static void out_close(void *instance)
{
    free(instance);
}

static const char *const out_to[] = {"stdout", "stderr", NULL};

static const sync_option out_options[] = {
    {"to", SYNC_OPT_ENUM, "stdout", 0, 0, 0, out_to, "Where the JSON lines go: standard output or standard error."},
    SYNC_OPTION_END,
};

static const sync_option out_no_options[] = {SYNC_OPTION_END};

static const sync_sink_ops out_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = out_open,
    .prepare = out_prepare,
    .write = out_write,
    .finish = out_finish,
    .close = out_close,
};

static const sync_plugin out_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "stdout",
    .version = "1.0.0",
    .description = "Prints every record as one JSON line, for trying pipelines",
    .provides = SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_DELETES,
    .options = out_options,
    .stream_options = out_no_options,
    .target_options = out_no_options,
    .sink = &out_sink_ops,
};

SYNC_PLUGIN_DEFINE(out_plugin, api)
