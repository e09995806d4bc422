/*
 * plugins/generate/generate.c - a source that makes up records.
 *
 * For trying and testing a pipeline without a real source (like Fluent Bit's
 * `dummy` input): every stream named in `streams` yields `records` records per
 * run with the fields `fields` declares.  It is incremental: the cursor is the
 * sequence number of the last record, and the next run continues after it;
 * a full refresh starts again at 1.  Values depend only on the seed, the
 * stream, the sequence number and the field, so two runs with the same
 * settings produce the same records.  Uses only the public ABI.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sync/sync.h>

static const sync_host *api;

#define GEN_MAX_FIELDS 64

typedef struct gen_field {
    char name[64];
    sync_type type;
} gen_field;

typedef struct gen {
    sync_ctx *ctx;
    int64_t records, seed, delete_every;
    gen_field fields[GEN_MAX_FIELDS];
    size_t n_fields;
    const sync_config *cfg;
} gen;

static const struct {
    const char *name;
    sync_type type;
} gen_types[] = {{"string", SYNC_TYPE_STRING}, {"int", SYNC_TYPE_INT},   {"float", SYNC_TYPE_FLOAT},
                 {"bool", SYNC_TYPE_BOOL},     {"timestamp", SYNC_TYPE_TIMESTAMP},
                 {"date", SYNC_TYPE_DATE},     {"json", SYNC_TYPE_JSON}};

/* splitmix64: a small, well-mixed hash, so every value is a pure function of its inputs. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = mix(h ^ (unsigned char)*s);
    return h;
}

static int parse_fields(gen *g, const sync_config *cfg)
{
    size_t n = api->config_list_count(cfg, "fields");
    for (size_t i = 0; i < n; i++) {
        const char *item = api->config_list_item(cfg, "fields", i);
        const char *colon = strchr(item, ':');
        const char *type = colon ? colon + 1 : "string";
        size_t len = colon ? (size_t)(colon - item) : strlen(item);
        if (g->n_fields == GEN_MAX_FIELDS || len == 0 || len >= sizeof(g->fields[0].name)) {
            api->set_error(g->ctx, "field \"%s\" has no name, a name longer than 63 bytes, or is one too many "
                           "(at most %d) (%s)", item, GEN_MAX_FIELDS, api->config_where(cfg, "fields"));
            return SYNC_E_CONFIG;
        }
        gen_field *f = &g->fields[g->n_fields];
        memcpy(f->name, item, len);
        f->name[len] = '\0';
        size_t t = 0;
        while (t < sizeof(gen_types) / sizeof(gen_types[0]) && strcmp(gen_types[t].name, type) != 0)
            t++;
        if (t == sizeof(gen_types) / sizeof(gen_types[0])) {
            api->set_error(g->ctx, "field \"%s\" has unknown type \"%s\" (string, int, float, bool, timestamp, "
                           "date, json) (%s)", f->name, type, api->config_where(cfg, "fields"));
            return SYNC_E_CONFIG;
        }
        f->type = gen_types[t].type;
        g->n_fields++;
    }
    return SYNC_OK;
}

static int gen_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    gen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return SYNC_E_NOMEM;
    g->ctx = ctx;
    g->cfg = cfg;
    api->config_get_int(cfg, "records", &g->records);
    api->config_get_int(cfg, "seed", &g->seed);
    api->config_get_int(cfg, "delete_every", &g->delete_every);
    int rc = parse_fields(g, cfg);
    if (rc != SYNC_OK) {
        free(g);
        return rc;
    }
    *instance = g;
    return SYNC_OK;
}

static int known_stream(const gen *g, const char *stream)
{
    size_t n = api->config_list_count(g->cfg, "streams");
    for (size_t i = 0; i < n; i++)
        if (strcmp(api->config_list_item(g->cfg, "streams", i), stream) == 0)
            return 1;
    return 0;
}

static int gen_discover(void *instance, sync_catalog *cat)
{
    gen *g = instance;
    size_t n = api->config_list_count(g->cfg, "streams");
    for (size_t i = 0; i < n; i++) {
        const char *s = api->config_list_item(g->cfg, "streams", i);
        int rc = api->catalog_add_stream(cat, s);
        if (rc == SYNC_OK)
            rc = api->catalog_add_field(cat, s, "id", SYNC_TYPE_INT);
        for (size_t f = 0; rc == SYNC_OK && f < g->n_fields; f++)
            rc = api->catalog_add_field(cat, s, g->fields[f].name, g->fields[f].type);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

/* 2024-01-01T00:00:00Z: record n was "updated" n minutes later. */
#define GEN_EPOCH_SECONDS INT64_C(1704067200)

static int set_field(const gen_field *f, sync_record *rec, uint64_t h, int64_t seq)
{
    char buf[96];
    switch (f->type) {
    case SYNC_TYPE_STRING: {
        int n = snprintf(buf, sizeof(buf), "%s-%06" PRIx64, f->name, h & 0xffffff);
        return api->record_set_string(rec, f->name, buf, (size_t)n);
    }
    case SYNC_TYPE_INT: return api->record_set_int(rec, f->name, (int64_t)(h % 1000000));
    case SYNC_TYPE_FLOAT: return api->record_set_float(rec, f->name, (double)(h % 1000000) / 100.0);
    case SYNC_TYPE_BOOL: return api->record_set_bool(rec, f->name, (int)(h & 1));
    case SYNC_TYPE_TIMESTAMP:
        return api->record_set_timestamp(rec, f->name, (GEN_EPOCH_SECONDS + seq * 60) * INT64_C(1000000));
    case SYNC_TYPE_DATE: return api->record_set_date(rec, f->name, GEN_EPOCH_SECONDS / 86400 + (int64_t)(h % 3650));
    case SYNC_TYPE_JSON: {
        int n = snprintf(buf, sizeof(buf), "{\"n\":%" PRId64 ",\"tags\":[\"t%d\"]}", seq, (int)(h % 10));
        return api->record_set_json(rec, f->name, buf, (size_t)n);
    }
    case SYNC_TYPE_NULL: break;
    }
    return api->record_set_null(rec, f->name);
}

static int gen_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    gen *g = instance;
    if (!known_stream(g, req->stream)) {
        api->set_error(g->ctx, "stream \"%s\" is not one of this source's streams (%s)", req->stream,
                       api->config_where(g->cfg, "streams"));
        return SYNC_E_NOTFOUND;
    }
    int64_t last = 0;
    if (req->cursor != NULL && !req->full_refresh) {
        char *end;
        last = strtoll(req->cursor, &end, 10);
        if (*end != '\0' || last < 0) {
            api->set_error(g->ctx, "saved cursor \"%s\" is not a sequence number; run a full refresh",
                           req->cursor);
            return SYNC_E_DATA;
        }
    }
    size_t batch = req->batch_size ? req->batch_size : 1000;
    uint64_t base = hash_str(mix((uint64_t)g->seed), req->stream);
    size_t pending = 0;
    char cursor[32];
    for (int64_t seq = last + 1; seq <= last + g->records; seq++) {
        char key[32];
        int klen = snprintf(key, sizeof(key), "%" PRId64, seq);
        int del = g->delete_every > 0 && seq % g->delete_every == 0;
        sync_record *rec = api->record_new(em, key, (size_t)klen, del ? SYNC_OP_DELETE : SYNC_OP_UPSERT);
        if (rec == NULL)
            return SYNC_E_NOMEM;
        int rc = api->record_set_int(rec, "id", seq);
        for (size_t f = 0; rc == SYNC_OK && !del && f < g->n_fields; f++)
            rc = set_field(&g->fields[f], rec, mix(base ^ mix((uint64_t)seq) ^ (uint64_t)f), seq);
        if (rc != SYNC_OK)
            return rc;
        snprintf(cursor, sizeof(cursor), "%" PRId64, seq);
        if (++pending == batch) {
            if ((rc = api->emit(em, cursor)) != SYNC_OK)
                return rc;
            pending = 0;
        }
    }
    return pending ? api->emit(em, cursor) : SYNC_OK;
}

static void gen_close(void *instance)
{
    free(instance);
}

static const sync_option gen_options[] = {
    {"streams", SYNC_OPT_LIST, "records", 0, 0, 0, NULL, "The streams this source offers (comma-separated)."},
    {"records", SYNC_OPT_INT, "10", 0, 0, 1000000000, NULL,
     "Records each stream yields per run; the next run continues after the last one."},
    {"fields", SYNC_OPT_LIST, "name:string,amount:float,quantity:int,active:bool,updated:timestamp", 0, 0, 0, NULL,
     "The shape of a record: NAME:TYPE pairs, TYPE one of string, int, float, bool, timestamp, date, json; "
     "every record also has its sequence number as id (the key)."},
    {"seed", SYNC_OPT_INT, "1", 0, 0, INT64_MAX, NULL, "Values depend only on the seed, the stream and the record."},
    {"delete_every", SYNC_OPT_INT, "0", 0, 0, 1000000000, NULL,
     "Every Nth record is a delete of its key (0: none)."},
    SYNC_OPTION_END,
};

static const sync_option gen_no_options[] = {SYNC_OPTION_END};

static const sync_source_ops gen_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = gen_open,
    .discover = gen_discover,
    .read = gen_read,
    .close = gen_close,
};

static const sync_plugin gen_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "generate",
    .version = "1.0.0",
    .description = "Made-up records of a configured shape, incremental and deterministic, for trying pipelines",
    .provides = SYNC_PROVIDES_SOURCE,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_DELETES,
    .options = gen_options,
    .stream_options = gen_no_options,
    .target_options = gen_no_options,
    .source = &gen_source_ops,
};

SYNC_PLUGIN_DEFINE(gen_plugin, api)
