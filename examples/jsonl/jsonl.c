/*
 * jsonl.c - an example connector that is both a source and a sink of
 * JSON-lines files (one JSON object per line).
 *
 * It is written as a plugin author outside this repository would write one:
 * it includes only the installed <sync/sync.h>, talks to the engine only
 * through the host table, and keeps its JSON library (jansson) to itself --
 * no json_t ever crosses the ABI, every value is handed over with the typed
 * record setters.
 *
 * Source: reads the file named by `path` as one stream (option `stream`,
 * default "records").  The record key is the field named by `key_field`
 * (default "id"; a dotted name reaches into nested objects).  A line with
 * "_op":"delete" becomes a delete.  Nested objects are flattened into dotted
 * field names ("account.name"), the same relationship paths a Salesforce
 * source produces, so mappings look alike for both.  The cursor is the byte
 * offset of the next unread line: an incremental run seeks there and reads
 * only what was appended since.  A last line without its newline is left for
 * the next run, because a writer may still be in the middle of it.
 *
 * Sink: appends every record to the file named by `path` as
 * {"_stream":TARGET,"_key":KEY,"_op":"upsert"|"delete",FIELD:VALUE,...} and
 * fsyncs after every batch.  A failed batch is cut off again with ftruncate,
 * so a batch is either wholly in the file or not at all.  The sink stores no
 * cursors (no SYNC_CAP_STATE): the engine keeps them in its own state file
 * and saves each one only after write() has returned.
 */
#define _POSIX_C_SOURCE 200809L
#define _FILE_OFFSET_BITS 64

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <jansson.h>
#include <sync/sync.h>

/* The host table; set by sync_plugin_entry before any callback runs. */
static const sync_host *api;

/* Discovery looks at no more than this many lines to guess field types. */
#define JL_DISCOVER_LINES 10000

/* Batch size when the engine does not ask for one. */
#define JL_DEFAULT_BATCH 500

/* ------------------------------------------------------------------ source */

typedef struct jl_source {
    sync_ctx *ctx;
    char *path;
    char *stream;
    char *key_field;
} jl_source;

static char *jl_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

static int jl_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    jl_source *src = calloc(1, sizeof(*src));
    const char *path = api->config_get_string(cfg, "path");
    const char *stream = api->config_get_string(cfg, "stream");
    const char *key_field = api->config_get_string(cfg, "key_field");

    if (src == NULL)
        return SYNC_E_NOMEM;
    /* The engine has applied defaults and checked `path` is set; be safe anyway. */
    if (path == NULL || stream == NULL || key_field == NULL) {
        api->set_error(ctx, "option \"path\", \"stream\" or \"key_field\" has no value");
        free(src);
        return SYNC_E_CONFIG;
    }
    src->ctx = ctx;
    src->path = jl_strdup(path);
    src->stream = jl_strdup(stream);
    src->key_field = jl_strdup(key_field);
    if (src->path == NULL || src->stream == NULL || src->key_field == NULL) {
        free(src->path);
        free(src->stream);
        free(src->key_field);
        free(src);
        return SYNC_E_NOMEM;
    }
    *instance = src;
    return SYNC_OK;
}

static void jl_source_close(void *instance)
{
    jl_source *src = instance;

    free(src->path);
    free(src->stream);
    free(src->key_field);
    free(src);
}

/* Opens the input file, mapping "does not exist" to NOTFOUND and the rest to IO. */
static int jl_open_input(jl_source *src, FILE **out)
{
    FILE *f = fopen(src->path, "r");

    if (f == NULL) {
        int err = errno;

        api->set_error(src->ctx, "could not open \"%s\": %s", src->path, strerror(err));
        return err == ENOENT ? SYNC_E_NOTFOUND : SYNC_E_IO;
    }
    *out = f;
    return SYNC_OK;
}

static int jl_is_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r' && line[i] != '\n')
            return 0;
    return 1;
}

/* Joins prefix and name with a dot into a fresh string. */
static char *jl_join(const char *prefix, const char *name)
{
    size_t lp = prefix != NULL ? strlen(prefix) : 0;
    size_t ln = strlen(name);
    char *s = malloc(lp + 1 + ln + 1);

    if (s == NULL)
        return NULL;
    if (lp > 0) {
        memcpy(s, prefix, lp);
        s[lp] = '.';
        memcpy(s + lp + 1, name, ln + 1);
    } else {
        memcpy(s, name, ln + 1);
    }
    return s;
}

static sync_type jl_type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return SYNC_TYPE_BOOL;
    case JSON_INTEGER:
        return SYNC_TYPE_INT;
    case JSON_REAL:
        return SYNC_TYPE_FLOAT;
    case JSON_STRING:
        return SYNC_TYPE_STRING;
    case JSON_ARRAY:
    case JSON_OBJECT:
        return SYNC_TYPE_JSON;
    case JSON_NULL:
    default:
        return SYNC_TYPE_NULL;
    }
}

/* True if the mapping asked for this field (or asked for all fields). */
static int jl_wanted(const sync_stream_request *req, const char *name)
{
    if (req == NULL || req->fields == NULL)
        return 1;
    for (size_t i = 0; i < req->n_fields; i++)
        if (strcmp(req->fields[i], name) == 0)
            return 1;
    return 0;
}

/* Sets one JSON value as a field, as JSON text (arrays, requested objects). */
static int jl_set_json_text(sync_record *rec, const char *name, const json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    int rc;

    if (text == NULL)
        return SYNC_E_NOMEM;
    rc = api->record_set_json(rec, name, text, strlen(text));
    free(text);
    return rc;
}

/*
 * Sets the members of obj on rec, nested objects flattened to dotted names.
 * A nested object the mapping names as a whole is passed as JSON text; an
 * empty one too, so that the field is not silently lost.
 */
static int jl_set_fields(sync_record *rec, const sync_stream_request *req, const char *prefix,
                         json_t *obj)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        char *name;
        int rc = SYNC_OK;

        if (prefix == NULL && strcmp(k, "_op") == 0)
            continue; /* an instruction to the engine, not data */
        name = jl_join(prefix, k);
        if (name == NULL)
            return SYNC_E_NOMEM;
        if (json_is_object(v)) {
            if ((req->fields != NULL && jl_wanted(req, name)) || json_object_size(v) == 0)
                rc = jl_set_json_text(rec, name, v);
            else
                rc = jl_set_fields(rec, req, name, v);
        } else if (jl_wanted(req, name)) {
            switch (json_typeof(v)) {
            case JSON_NULL:
                rc = api->record_set_null(rec, name);
                break;
            case JSON_TRUE:
            case JSON_FALSE:
                rc = api->record_set_bool(rec, name, json_is_true(v));
                break;
            case JSON_INTEGER:
                rc = api->record_set_int(rec, name, (int64_t)json_integer_value(v));
                break;
            case JSON_REAL:
                rc = api->record_set_float(rec, name, json_real_value(v));
                break;
            case JSON_STRING:
                /* Timestamps stay strings: turning them into types is the mapping's job. */
                rc = api->record_set_string(rec, name, json_string_value(v), json_string_length(v));
                break;
            default:
                rc = jl_set_json_text(rec, name, v);
                break;
            }
        }
        free(name);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

/* Finds the key field: a member of that exact name first, then a dotted path. */
static json_t *jl_find_key(json_t *obj, const char *key_field)
{
    json_t *v = json_object_get(obj, key_field);
    const char *p = key_field;

    if (v != NULL)
        return v;
    v = obj;
    while (v != NULL && json_is_object(v)) {
        const char *dot = strchr(p, '.');
        char part[256];
        size_t n = dot != NULL ? (size_t)(dot - p) : strlen(p);

        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        if (dot == NULL)
            return v;
        p = dot + 1;
    }
    return NULL;
}

/*
 * Turns one parsed line into a record.  Returns SYNC_E_DATA (with the detail
 * set) for a line that cannot be a record: the source cannot skip it, because
 * saving a cursor past it would lose it for good.
 */
static int jl_emit_line(jl_source *src, const sync_stream_request *req, sync_emitter *em,
                        json_t *obj, long long offset, long long next_offset)
{
    json_t *keyv = jl_find_key(obj, src->key_field);
    json_t *opv = json_object_get(obj, "_op");
    sync_op op = SYNC_OP_UPSERT;
    char keybuf[32], cursor[32];
    const char *key;
    size_t key_len;
    sync_record *rec;

    if (keyv != NULL && json_is_string(keyv)) {
        key = json_string_value(keyv);
        key_len = json_string_length(keyv);
    } else if (keyv != NULL && json_is_integer(keyv)) {
        snprintf(keybuf, sizeof(keybuf), "%" JSON_INTEGER_FORMAT, json_integer_value(keyv));
        key = keybuf;
        key_len = strlen(keybuf);
    } else {
        api->set_error(src->ctx, "%s: line at byte offset %lld: key field \"%s\" is %s",
                       src->path, offset, src->key_field,
                       keyv == NULL ? "missing" : "neither a string nor an integer");
        return SYNC_E_DATA;
    }
    if (key_len == 0) {
        api->set_error(src->ctx, "%s: line at byte offset %lld: key field \"%s\" is empty",
                       src->path, offset, src->key_field);
        return SYNC_E_DATA;
    }

    if (opv != NULL) {
        const char *o = json_is_string(opv) ? json_string_value(opv) : "";

        if (strcmp(o, "delete") == 0)
            op = SYNC_OP_DELETE;
        else if (strcmp(o, "upsert") != 0) {
            api->set_error(src->ctx,
                           "%s: line at byte offset %lld: \"_op\" must be \"upsert\" or \"delete\"",
                           src->path, offset);
            return SYNC_E_DATA;
        }
    }

    rec = api->record_new(em, key, key_len, op);
    if (rec == NULL)
        return SYNC_E_NOMEM;
    snprintf(cursor, sizeof(cursor), "%lld", next_offset);
    if (api->record_set_cursor(rec, cursor) != SYNC_OK)
        return SYNC_E_NOMEM;
    return jl_set_fields(rec, req, NULL, obj);
}

/* Parses a saved cursor: a non-negative decimal byte offset. */
static int jl_parse_cursor(const char *text, long long *out)
{
    char *end;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < 0)
        return SYNC_E_INVALID;
    *out = v;
    return SYNC_OK;
}

static int jl_source_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    jl_source *src = instance;
    size_t batch = req->batch_size > 0 ? req->batch_size : JL_DEFAULT_BATCH;
    long long offset = 0;
    size_t pending = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    struct stat st;
    FILE *f = NULL;
    int rc;

    if (strcmp(req->stream, src->stream) != 0) {
        api->set_error(src->ctx, "stream \"%s\" does not exist: \"%s\" provides only \"%s\"",
                       req->stream, src->path, src->stream);
        return SYNC_E_NOTFOUND;
    }
    if (req->cursor != NULL && !req->full_refresh &&
        jl_parse_cursor(req->cursor, &offset) != SYNC_OK) {
        api->set_error(src->ctx, "saved cursor \"%s\" is not a byte offset", req->cursor);
        return SYNC_E_DATA;
    }

    rc = jl_open_input(src, &f);
    if (rc != SYNC_OK)
        return rc;
    if (fstat(fileno(f), &st) != 0 || (long long)st.st_size < offset) {
        /* The file was truncated or replaced: the cursor means nothing any more. */
        api->set_error(src->ctx,
                       "\"%s\" is shorter than the saved cursor (byte offset %lld); "
                       "it was truncated or replaced, run a full refresh",
                       src->path, offset);
        fclose(f);
        return SYNC_E_DATA;
    }
    if (offset > 0 && fseeko(f, (off_t)offset, SEEK_SET) != 0) {
        api->set_error(src->ctx, "could not seek in \"%s\": %s", src->path, strerror(errno));
        fclose(f);
        return SYNC_E_IO;
    }
    api->log(src->ctx, SYNC_LOG_DEBUG, "reading \"%s\" from byte offset %lld", src->path, offset);

    rc = SYNC_OK;
    while ((n = getline(&line, &cap, f)) > 0) {
        long long next = offset + n;
        json_error_t jerr;
        json_t *obj;

        if (line[n - 1] != '\n') {
            api->log(src->ctx, SYNC_LOG_WARN,
                     "%s: last line at byte offset %lld has no newline yet; it is read on a later run",
                     src->path, offset);
            break;
        }
        if (jl_is_blank(line, (size_t)n)) {
            offset = next;
            continue;
        }
        obj = json_loadb(line, (size_t)n, JSON_REJECT_DUPLICATES, &jerr);
        if (obj == NULL || !json_is_object(obj)) {
            api->set_error(src->ctx, "%s: line at byte offset %lld: %s", src->path, offset,
                           obj == NULL ? jerr.text : "not a JSON object");
            json_decref(obj);
            rc = SYNC_E_DATA;
            break;
        }
        rc = jl_emit_line(src, req, em, obj, offset, next);
        json_decref(obj);
        if (rc != SYNC_OK)
            break;
        offset = next;
        if (++pending >= batch) {
            char cursor[32];

            snprintf(cursor, sizeof(cursor), "%lld", offset);
            rc = api->emit(em, cursor);
            pending = 0;
            if (rc != SYNC_OK)
                break;
            if (api->cancelled(src->ctx)) {
                rc = SYNC_E_CANCELLED;
                break;
            }
        }
    }
    if (rc == SYNC_OK && ferror(f)) {
        api->set_error(src->ctx, "could not read \"%s\": %s", src->path, strerror(errno));
        rc = SYNC_E_IO;
    }
    /*
     * Records built before a bad line are handed over too: they are good, and
     * the cursor saved with them points exactly at the line that failed.  (A
     * data error is found before record_new, so no half-built record is among
     * them; after any other error the batch is dropped.)
     */
    if (pending > 0 && (rc == SYNC_OK || rc == SYNC_E_DATA)) {
        char cursor[32];
        int erc;

        snprintf(cursor, sizeof(cursor), "%lld", offset);
        erc = api->emit(em, cursor);
        if (rc == SYNC_OK)
            rc = erc;
    }
    free(line);
    fclose(f);
    return rc;
}

/* Lists the one stream and every field seen in the first lines, typed by first non-null use. */
static int jl_collect_fields(json_t *seen, const char *prefix, json_t *obj)
{
    const char *k;
    json_t *v;

    json_object_foreach(obj, k, v) {
        char *name;
        json_t *old;
        int rc = SYNC_OK;

        if (prefix == NULL && strcmp(k, "_op") == 0)
            continue;
        name = jl_join(prefix, k);
        if (name == NULL)
            return SYNC_E_NOMEM;
        if (json_is_object(v) && json_object_size(v) > 0) {
            rc = jl_collect_fields(seen, name, v);
        } else {
            old = json_object_get(seen, name);
            if (old == NULL || (json_integer_value(old) == SYNC_TYPE_NULL && !json_is_null(v)))
                if (json_object_set_new(seen, name, json_integer(jl_type_of(v))) != 0)
                    rc = SYNC_E_NOMEM;
        }
        free(name);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

static int jl_source_discover(void *instance, sync_catalog *cat)
{
    jl_source *src = instance;
    json_t *seen = json_object();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lines = 0;
    const char *k;
    json_t *v;
    FILE *f = NULL;
    int rc;

    if (seen == NULL)
        return SYNC_E_NOMEM;
    rc = jl_open_input(src, &f);
    if (rc != SYNC_OK) {
        json_decref(seen);
        return rc;
    }
    while (rc == SYNC_OK && lines++ < JL_DISCOVER_LINES && (n = getline(&line, &cap, f)) > 0) {
        json_t *obj;

        if (jl_is_blank(line, (size_t)n))
            continue;
        obj = json_loadb(line, (size_t)n, 0, NULL);
        if (obj != NULL && json_is_object(obj))
            rc = jl_collect_fields(seen, NULL, obj);
        json_decref(obj);
    }
    free(line);
    fclose(f);

    if (rc == SYNC_OK)
        rc = api->catalog_add_stream(cat, src->stream);
    json_object_foreach(seen, k, v) {
        if (rc != SYNC_OK)
            break;
        rc = api->catalog_add_field(cat, src->stream, k, (sync_type)json_integer_value(v));
    }
    json_decref(seen);
    return rc;
}

/* -------------------------------------------------------------------- sink */

/* One prepared target: the name written as "_stream". */
typedef struct jl_target {
    struct jl_target *next;
    char *name;
} jl_target;

typedef struct jl_sink {
    sync_ctx *ctx;
    char *path;
    int fd;
    jl_target *targets; /* freed at close */
} jl_sink;

/* Makes a newly created file's directory entry durable too. */
static void jl_fsync_parent(const char *path)
{
    char *dir = jl_strdup(path);
    char *slash;
    int fd;

    if (dir == NULL)
        return;
    slash = strrchr(dir, '/');
    if (slash == NULL)
        strcpy(dir, ".");
    else if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(dir);
}

static int jl_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    const char *path = api->config_get_string(cfg, "path");
    jl_sink *snk;

    if (path == NULL) {
        api->set_error(ctx, "option \"path\" has no value");
        return SYNC_E_CONFIG;
    }
    snk = calloc(1, sizeof(*snk));
    if (snk == NULL)
        return SYNC_E_NOMEM;
    snk->ctx = ctx;
    snk->path = jl_strdup(path);
    if (snk->path == NULL) {
        free(snk);
        return SYNC_E_NOMEM;
    }
    snk->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (snk->fd < 0) {
        api->set_error(ctx, "could not open \"%s\" for appending: %s", path, strerror(errno));
        free(snk->path);
        free(snk);
        return SYNC_E_IO;
    }
    jl_fsync_parent(path);
    *instance = snk;
    return SYNC_OK;
}

static void jl_sink_close(void *instance)
{
    jl_sink *snk = instance;

    while (snk->targets != NULL) {
        jl_target *t = snk->targets;

        snk->targets = t->next;
        free(t->name);
        free(t);
    }
    close(snk->fd);
    free(snk->path);
    free(snk);
}

static int jl_sink_prepare(void *instance, const sync_target *target, void **target_state)
{
    jl_sink *snk = instance;
    jl_target *t;

    /* A JSON-lines file takes any columns; there is nothing to check against. */
    t = calloc(1, sizeof(*t));
    if (t == NULL)
        return SYNC_E_NOMEM;
    t->name = jl_strdup(target->name);
    if (t->name == NULL) {
        free(t);
        return SYNC_E_NOMEM;
    }
    t->next = snk->targets;
    snk->targets = t;
    *target_state = t;
    return SYNC_OK;
}

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm). */
static void jl_format_date(int64_t days, char *buf, size_t size)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);

    snprintf(buf, size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y, m, d);
}

/* Converts one field value to JSON; NULL with *why set when it cannot be. */
static json_t *jl_value_to_json(const sync_value *v, const char **why)
{
    char buf[64]; /* a date needs at most 3 x 20 digits and 2 dashes */
    json_t *j;

    switch (v->type) {
    case SYNC_TYPE_NULL:
        return json_null();
    case SYNC_TYPE_BOOL:
        return json_boolean(v->u.b);
    case SYNC_TYPE_INT:
        return json_integer((json_int_t)v->u.i);
    case SYNC_TYPE_FLOAT:
        j = json_real(v->u.f);
        if (j == NULL)
            *why = "is not a finite number";
        return j;
    case SYNC_TYPE_STRING:
        j = json_stringn(v->u.str.ptr, v->u.str.len);
        if (j == NULL)
            *why = "is not valid UTF-8";
        return j;
    case SYNC_TYPE_TIMESTAMP:
        if (api->time_format(v->u.ts, buf, sizeof(buf)) != SYNC_OK) {
            *why = "is a timestamp out of range";
            return NULL;
        }
        return json_string(buf);
    case SYNC_TYPE_DATE:
        jl_format_date(v->u.ts, buf, sizeof(buf));
        return json_string(buf);
    case SYNC_TYPE_JSON:
        j = json_loadb(v->u.str.ptr, v->u.str.len, JSON_DECODE_ANY, NULL);
        if (j == NULL)
            *why = "is not valid JSON";
        return j;
    }
    *why = "has a type this sink does not know";
    return NULL;
}

/* Growable output buffer for one batch. */
typedef struct jl_buf {
    char *data;
    size_t len, cap;
} jl_buf;

static int jl_buf_append(jl_buf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap > 0 ? b->cap : 4096;
        char *p;

        while (cap < b->len + n)
            cap *= 2;
        p = realloc(b->data, cap);
        if (p == NULL)
            return SYNC_E_NOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return SYNC_OK;
}

/*
 * Renders one record as a line.  SYNC_E_DATA means the record is rejected
 * (the reason is passed to record_reject); anything else fails the batch.
 */
static int jl_render(jl_sink *snk, const jl_target *t, const sync_record *rec, jl_buf *out)
{
    size_t nf = api->record_field_count(rec);
    const char *key = api->record_key(rec);
    sync_op op = api->record_op(rec);
    json_t *obj = json_object();
    char *text;
    int rc = SYNC_OK;

    if (obj == NULL)
        return SYNC_E_NOMEM;
    if (json_object_set_new(obj, "_stream", json_string(t->name)) != 0 ||
        json_object_set_new(obj, "_key", key != NULL ? json_string(key) : json_null()) != 0 ||
        json_object_set_new(obj, "_op", json_string(op == SYNC_OP_DELETE ? "delete" : "upsert")) != 0) {
        json_decref(obj);
        api->record_reject(snk->ctx, rec, "key is not valid UTF-8");
        return SYNC_E_DATA;
    }
    for (size_t i = 0; i < nf && rc == SYNC_OK; i++) {
        const char *name = NULL;
        const char *why = NULL;
        sync_value v;
        json_t *j;

        rc = api->record_field_at(rec, i, &name, &v);
        if (rc != SYNC_OK)
            break;
        j = jl_value_to_json(&v, &why);
        if (j == NULL) {
            api->record_reject(snk->ctx, rec, "column \"%s\" %s", name, why != NULL ? why : "could not be converted");
            rc = SYNC_E_DATA;
        } else if (json_object_set_new(obj, name, j) != 0) {
            api->record_reject(snk->ctx, rec, "column name \"%s\" is not valid UTF-8", name);
            rc = SYNC_E_DATA;
        }
    }
    if (rc != SYNC_OK) {
        json_decref(obj);
        return rc;
    }
    text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    if (text == NULL)
        return SYNC_E_NOMEM;
    rc = jl_buf_append(out, text, strlen(text));
    if (rc == SYNC_OK)
        rc = jl_buf_append(out, "\n", 1);
    free(text);
    return rc;
}

static int jl_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int jl_sink_write(void *instance, void *target_state, const sync_batch *batch,
                         const sync_cursor *cursor, sync_write_result *result)
{
    jl_sink *snk = instance;
    const jl_target *t = target_state;
    size_t count = api->batch_count(batch);
    jl_buf out = {NULL, 0, 0};
    struct stat st;
    int rc = SYNC_OK;

    (void)cursor; /* always NULL: this sink does not declare SYNC_CAP_STATE */

    for (size_t i = 0; i < count; i++) {
        const sync_record *rec = api->batch_get(batch, i);

        rc = jl_render(snk, t, rec, &out);
        if (rc == SYNC_E_DATA) {
            result->failed++;
            rc = SYNC_OK;
            continue;
        }
        if (rc != SYNC_OK)
            break;
        if (api->record_op(rec) == SYNC_OP_DELETE)
            result->deleted++;
        else
            result->inserted++;
    }
    if (rc != SYNC_OK || out.len == 0) {
        free(out.data);
        return rc;
    }

    /* Remember where the file ended so a failed batch can be cut off again. */
    if (fstat(snk->fd, &st) != 0) {
        api->set_error(snk->ctx, "could not stat \"%s\": %s", snk->path, strerror(errno));
        free(out.data);
        return SYNC_E_IO;
    }
    if (jl_write_all(snk->fd, out.data, out.len) != 0 || fsync(snk->fd) != 0) {
        int err = errno;

        api->set_error(snk->ctx, "could not write to \"%s\": %s", snk->path, strerror(err));
        if (ftruncate(snk->fd, st.st_size) != 0)
            api->log(snk->ctx, SYNC_LOG_ERROR,
                     "could not cut \"%s\" back to %lld bytes after a failed write: %s", snk->path,
                     (long long)st.st_size, strerror(errno));
        free(out.data);
        return SYNC_E_IO;
    }
    free(out.data);
    return SYNC_OK;
}

static int jl_sink_finish(void *instance, const sync_run_info *run)
{
    jl_sink *snk = instance;

    api->log(snk->ctx, SYNC_LOG_DEBUG, "run %s finished: %" PRId64 " records processed", run->run_id,
             run->processed);
    return SYNC_OK;
}

/* ------------------------------------------------------------------ plugin */

/*
 * One option table for both roles: a [source X] section uses all three keys,
 * a [sink Y] section only `path` (stream and key_field keep their defaults).
 */
static const sync_option jl_options[] = {
    {"path", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "JSON-lines file to read (source) or append to (sink)"},
    {"stream", SYNC_OPT_STRING, "records", 0, 0, 0, NULL,
     "name of the one stream the source provides"},
    {"key_field", SYNC_OPT_STRING, "id", 0, 0, 0, NULL,
     "field holding the record key (a dotted name reaches into nested objects)"},
    SYNC_OPTION_END,
};

static const sync_option jl_no_options[] = {
    SYNC_OPTION_END,
};

static const sync_source_ops jl_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = jl_source_open,
    .discover = jl_source_discover,
    .read = jl_source_read,
    .close = jl_source_close,
};

static const sync_sink_ops jl_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = jl_sink_open,
    .prepare = jl_sink_prepare,
    .write = jl_sink_write,
    .finish = jl_sink_finish,
    .close = jl_sink_close,
};

static const sync_plugin jl_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "jsonl",
    .version = "1.0.0",
    .description = "JSON-lines files, one object per line (example connector: source and sink)",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_DELETES,
    .options = jl_options,
    .stream_options = jl_no_options,
    .target_options = jl_no_options,
    .source = &jl_source_ops,
    .sink = &jl_sink_ops,
};

SYNC_PLUGIN_DEFINE(jl_plugin, api)
