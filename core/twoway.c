/*
 * core/twoway.c - a run of a two-way job, stream by stream in file order.
 *
 * Per stream:
 *   1. the links (syncengine.sync_links: row key, Salesforce Id, the values
 *      last synced) and the stream's two positions are loaded;
 *   2. Salesforce's changes since its position are read through the
 *      Salesforce source (any number of pages, collected), the table's
 *      changes since its position through the PostgreSQL sink's query
 *      operation (updated_at, re-reading a settle window behind it);
 *   3. each change is paired through the links; a record without a link is
 *      matched by the stream's match column before anything is created (two
 *      candidates: a conflict, never a guess);
 *   4. each pair is decided (core/twoway_merge.c): an echo of the engine's
 *      own writes compares equal to the link and writes nothing;
 *   5. Salesforce is written first (its answers carry the Ids), then the
 *      table, the links, the rows' sync state and the conflicts in one
 *      statement per chunk -- one transaction: a link never describes a row
 *      write that did not commit, and the engine's writes run with
 *      syncengine.writing = on so that the CRM's updated_at trigger leaves
 *      them alone;
 *   6. the positions move.
 * References (company_id <-> AccountId via companies) are translated through
 * the links of the referenced stream, which ran before.
 */
#include "twoway.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hostapi.h"
#include "log.h"
#include "status.h"
#include "timeutil.h"
#include "twoway_map.h"
#include "twoway_merge.h"
#include "twoway_push.h"
#include "sink_query.h"
#include "twoway_sql.h"

#define TW_CHUNK 500          /* records per write statement */
#define TW_SETTLE "10 seconds" /* the table's changes are read again this far behind the position */

typedef struct tw_run {
    syncc_engine *e;
    syncc_job_rt *rt;
    const char *run_id;
    void *src_inst, *snk_inst;
    sync_ctx *src_ctx, *snk_ctx;
    void *sfw_inst;           /* the Salesforce plugin opened as a sink, on the first write */
    sync_ctx *sfw_ctx;
    int sfw_open_failed;
    syncc_tw_policy policy;
    int pull, push;           /* the job's direction */
    char err[1024];
    syncc_run_result *res;
    json_t *streams_json;
    int full_refresh;         /* read both sides from the beginning (--full-refresh, full_refresh = true) */
    sync_config **opts;       /* target options of the Salesforce sink's prepared targets */
    size_t n_opts;
} tw_run;

/* One stream's working set. */
typedef struct tw_stream {
    tw_run *tw;
    size_t index;
    const syncc_stream *st;
    const syncc_tw_stream *map;
    syncc_log_ctx lc;
    char table[300];          /* quoted identifier */
    json_t *coltypes;         /* column -> format_type() */
    int has_status;           /* salesforce_sync_status, _error, _last_sync_at exist */
    int has_sfid;             /* salesforce_id exists */
    int has_deleted_at;
    json_t *links;            /* db_key -> {id, s, d} */
    json_t *by_sf;            /* sf_id -> db_key */
    json_t **ref_sf2db;       /* per column: the referenced stream's sf_id -> db_key (NULL: no via) */
    json_t **ref_db2sf;
    json_t *ops;              /* the table writes of this run (see write_db) */
    json_t *conflicts;        /* conflicts to record */
    int64_t n_sf_read, n_db_read, n_db_written, n_sf_written, n_conflicts, n_failed, n_deleted, n_created;
    char *sf_cursor;          /* the last cursor the source emitted */
} tw_stream;

/* ------------------------------------------------------------ the table */

/* Runs one statement through the sink; *rows (may be NULL) gets the answer's rows. */
static int pgq(tw_run *tw, const char *sql, const char *const *params, size_t n, json_t **rows)
{
    return syncc_sink_query(tw->rt->sink, tw->snk_inst, tw->snk_ctx, sql, params, n, rows, tw->err, sizeof(tw->err));
}

static void quote_ident(const char *name, char *out, size_t size)
{
    size_t o = 0;
    out[o++] = '"';
    for (const char *p = name; *p && o + 3 < size; p++) {
        if (*p == '"')
            out[o++] = '"';
        out[o++] = *p;
    }
    out[o++] = '"';
    out[o] = '\0';
}

/* ------------------------------------------------------ canonical values */

/* A record value from Salesforce in the same form. */
static json_t *canon_value(const sync_value *v)
{
    char buf[64];
    switch (v->type) {
    case SYNC_TYPE_NULL:
        return json_null();
    case SYNC_TYPE_BOOL:
        return json_string(v->u.b ? "true" : "false");
    case SYNC_TYPE_INT:
        snprintf(buf, sizeof(buf), "%lld", (long long)v->u.i);
        return json_string(buf);
    case SYNC_TYPE_FLOAT:
        snprintf(buf, sizeof(buf), "%.15g", v->u.f);
        return json_string(buf);
    case SYNC_TYPE_TIMESTAMP:
        if (syncc_time_format(v->u.ts, buf, sizeof(buf)) != 0)
            return json_null();
        return json_string(buf);
    case SYNC_TYPE_DATE:
        if (syncc_time_format(v->u.ts * 86400 * INT64_C(1000000), buf, sizeof(buf)) != 0)
            return json_null();
        buf[10] = '\0';
        return json_string(buf);
    case SYNC_TYPE_STRING:
    case SYNC_TYPE_JSON:
        return json_stringn(v->u.str.ptr, v->u.str.len);
    }
    return json_null();
}

/* The match key of a value: trimmed, lower case. */
static char *match_key(const json_t *v)
{
    const char *s = json_string_value(v);
    size_t n;
    char *out;
    if (s == NULL)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    if (n == 0)
        return NULL;
    out = strndup(s, n);
    for (size_t i = 0; out && i < n; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return out;
}

static int64_t parse_ts(const json_t *v)
{
    int64_t us = 0;
    const char *s = json_string_value(v);
    if (s && syncc_time_parse(s, strlen(s), &us, NULL) == 0)
        return us;
    return 0;
}

/* ------------------------------------------------------- links, catalog */

static int load_catalog(tw_stream *ts)
{
    tw_run *tw = ts->tw;
    int rc = syncc_tw_sql_column_types(tw->rt, tw->snk_inst, tw->snk_ctx, ts->table, &ts->coltypes, tw->err,
                                       sizeof(tw->err));
    if (rc != SYNC_OK)
        return rc;
    if (!json_is_object(ts->coltypes) || json_object_get(ts->coltypes, ts->st->key) == NULL) {
        snprintf(tw->err, sizeof(tw->err), "table %s has no column '%s' (the stream's key)", ts->st->target,
                 ts->st->key);
        return SYNC_E_CONFIG;
    }
    for (size_t i = 0; i < ts->map->n_cols; i++)
        if (json_object_get(ts->coltypes, ts->map->cols[i].column) == NULL) {
            snprintf(tw->err, sizeof(tw->err), "table %s has no column '%s' (mapped to %s)", ts->st->target,
                     ts->map->cols[i].column, ts->map->cols[i].sf_field);
            return SYNC_E_CONFIG;
        }
    ts->has_status = json_object_get(ts->coltypes, "salesforce_sync_status") &&
                     json_object_get(ts->coltypes, "salesforce_sync_error") &&
                     json_object_get(ts->coltypes, "salesforce_last_sync_at");
    ts->has_sfid = json_object_get(ts->coltypes, "salesforce_id") != NULL;
    ts->has_deleted_at = json_object_get(ts->coltypes, "deleted_at") != NULL;
    if (json_object_get(ts->coltypes, "updated_at") == NULL) {
        snprintf(tw->err, sizeof(tw->err), "table %s has no column 'updated_at' (how its changes are found)",
                 ts->st->target);
        return SYNC_E_CONFIG;
    }
    return SYNC_OK;
}

/* The links of stream name: db_key -> {id, s, d}; and sf_id -> db_key when by_sf is not NULL. */
static int load_links(tw_run *tw, const char *stream, json_t **links, json_t **by_sf)
{
    const char *params[2] = {tw->rt->conf->name, stream};
    json_t *rows = NULL, *arr;
    size_t i;
    json_t *l;
    int rc = pgq(tw,
                 "SELECT coalesce(jsonb_agg(jsonb_build_object('k', db_key, 'id', sf_id, 's', synced, 'd', deleted)), "
                 "'[]'::jsonb) AS links FROM syncengine.sync_links WHERE job = $1 AND stream = $2",
                 params, 2, &rows);
    if (rc != SYNC_OK)
        return rc;
    arr = syncc_tw_sql_first_value(rows, "links");
    *links = json_object();
    if (by_sf)
        *by_sf = json_object();
    json_array_foreach(arr, i, l) {
        const char *k = json_string_value(json_object_get(l, "k"));
        const char *id = json_string_value(json_object_get(l, "id"));
        if (k == NULL)
            continue;
        json_object_set(*links, k, l);
        if (by_sf && id)
            json_object_set_new(*by_sf, id, json_string(k));
    }
    json_decref(rows);
    return SYNC_OK;
}

static int load_state(tw_stream *ts, char **db_cursor, char **sf_cursor)
{
    const char *params[2] = {ts->tw->rt->conf->name, ts->st->name};
    json_t *rows = NULL;
    int rc = pgq(ts->tw, "SELECT db_cursor, sf_cursor FROM syncengine.sync_twoway_state WHERE job = $1 AND stream = $2",
                 params, 2, &rows);
    *db_cursor = *sf_cursor = NULL;
    if (rc != SYNC_OK)
        return rc;
    const char *d = json_string_value(syncc_tw_sql_first_value(rows, "db_cursor"));
    const char *s = json_string_value(syncc_tw_sql_first_value(rows, "sf_cursor"));
    *db_cursor = d ? strdup(d) : NULL;
    *sf_cursor = s ? strdup(s) : NULL;
    json_decref(rows);
    return SYNC_OK;
}

/* ------------------------------------------------------- Salesforce reads */

typedef struct collect {
    tw_stream *ts;
    json_t *out;       /* sf_id -> {v: values in column terms, m: modstamp, del: bool, ext: external id} */
    char *cursor;
} collect;

static int collect_deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    collect *c = em->payload;
    tw_stream *ts = c->ts;
    const syncc_tw_stream *m = ts->map;

    for (size_t r = 0; r < full->n_records; r++) {
        const sync_record *rec = full->records[r];
        json_t *o = json_object(), *vals = json_object();
        const char *id = rec->key;
        long k;
        if (!o || !vals)
            return SYNC_E_NOMEM;
        for (uint32_t f = 0; f < rec->n_fields; f++) {
            const syncc_field *fd = &rec->fields[f];
            if (strcmp(fd->name, "Id") == 0 && fd->value.type == SYNC_TYPE_STRING && id == NULL)
                id = NULL; /* the key carries it */
            if (strcmp(fd->name, "SystemModstamp") == 0 && fd->value.type == SYNC_TYPE_TIMESTAMP)
                json_object_set_new(o, "m", json_integer(fd->value.u.ts));
            if (ts->st->external_id && strcmp(fd->name, ts->st->external_id) == 0)
                json_object_set_new(o, "ext", canon_value(&fd->value));
        }
        for (size_t i = 0; i < m->n_cols; i++) {
            const syncc_tw_col *col = &m->cols[i];
            k = syncc_record_find(rec, col->sf_field, i);
            json_t *v = k >= 0 ? canon_value(&rec->fields[k].value) : json_null();
            if (col->via && json_is_string(v)) {
                /* AccountId -> the referenced row's key */
                json_t *dbk = json_object_get(ts->ref_sf2db[i], json_string_value(v));
                json_decref(v);
                v = dbk ? json_incref(dbk) : json_null();
                if (!dbk)
                    syncc_log(SYNC_LOG_WARN, &ts->lc, "record %s: %s refers to a %s record that is not linked "
                              "to a row; column '%s' is left empty", rec->key ? rec->key : "?", col->sf_field,
                              col->via, col->column);
            }
            json_object_set_new(vals, col->column, v);
        }
        json_object_set_new(o, "v", vals);
        json_object_set_new(o, "del", json_boolean(rec->op == SYNC_OP_DELETE));
        if (rec->key)
            json_object_set_new(c->out, rec->key, o);
        else
            json_decref(o);
    }
    if (full->cursor) {
        free(c->cursor);
        c->cursor = strdup(full->cursor);
    }
    syncc_batch_reset(full);
    *next = full;
    return SYNC_OK;
}

static int read_salesforce(tw_stream *ts, const char *cursor, json_t **out)
{
    tw_run *tw = ts->tw;
    collect c = {ts, json_object(), NULL};
    sync_stream_request req;
    sync_emitter em;
    int rc;

    memset(&req, 0, sizeof(req));
    req.struct_size = sizeof(req);
    req.stream = ts->st->object;
    req.fields = ts->map->sf_fields;
    req.n_fields = ts->map->n_sf_fields;
    req.cursor = cursor;
    req.options = ts->st->source_options;
    req.batch_size = (size_t)tw->rt->conf->batch_size;
    memset(&em, 0, sizeof(em));
    em.batch = syncc_batch_new();
    em.stream = ts->st->name;
    em.deliver = collect_deliver;
    em.payload = &c;
    if (!em.batch || !c.out) {
        syncc_batch_free(em.batch);
        json_decref(c.out);
        return SYNC_E_NOMEM;
    }
    syncc_ctx_set_stream(tw->src_ctx, ts->st->name);
    tw->src_ctx->errbuf[0] = '\0';
    rc = tw->rt->source->source.read(tw->src_inst, &req, &em);
    if (rc == SYNC_OK && em.batch && em.batch->n_records > 0)
        rc = syncc_host()->emit(&em, NULL);
    syncc_batch_free(em.batch);
    if (rc != SYNC_OK) {
        snprintf(tw->err, sizeof(tw->err), "reading %s from Salesforce: %s%s%s", ts->st->object, syncc_strerror(rc),
                 tw->src_ctx->errbuf[0] ? ": " : "", tw->src_ctx->errbuf);
        json_decref(c.out);
        free(c.cursor);
        return rc;
    }
    ts->sf_cursor = c.cursor;
    *out = c.out;
    return SYNC_OK;
}

/* ------------------------------------------------------ Salesforce writes */

/* One write to Salesforce and its answer. */
typedef struct tw_sf_op {
    int kind;            /* TW_SF_CREATE (upsert by external id when the stream has one), _UPDATE, _DELETE */
    const char *sf_id;   /* update, delete */
    const char *db_key;  /* create: the row's key (the external id's value) */
    json_t *fields;      /* Salesforce field -> canonical value (borrowed) */
    json_t *types;       /* Salesforce field -> the table column's type (borrowed) */
    /* answer */
    int ok;
    char new_id[32];
    char error[512];
} tw_sf_op;

enum { TW_SF_CREATE = 0, TW_SF_UPDATE = 1, TW_SF_DELETE = 2 };

/* What the Salesforce sink reports about the records of one call. */
typedef struct sfw_call {
    tw_sf_op *ops;
    json_t *index;   /* record key -> op index */
} sfw_call;

static void on_written(void *payload, const sync_record *rec, const char *remote_id, int created)
{
    sfw_call *c = payload;
    json_t *i = rec && rec->key ? json_object_get(c->index, rec->key) : NULL;
    (void)created;
    if (i == NULL)
        return;
    tw_sf_op *op = &c->ops[json_integer_value(i)];
    op->ok = 1;
    snprintf(op->new_id, sizeof(op->new_id), "%s", remote_id);
}

enum { TW_T_UPDATE = 0, TW_T_CREATE = 1, TW_T_DELETE = 2 };

/*
 * One prepared target of the Salesforce sink: a kind and, for updates, the
 * fields sent.  An update sends only the fields it changes (a Salesforce edit
 * of another field made between the run's read and this write survives), so
 * updates are grouped by their set of fields, one target per set.
 */
typedef struct sfw_target {
    int kind;
    char *sig;        /* the sorted field names, '\n'-separated (updates; "" otherwise) */
    void *state;
    char **cols;      /* column names */
    size_t n_cols;
} sfw_target;

typedef struct sfw_targets {
    sfw_target *t;
    size_t n;
} sfw_targets;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The signature of an update's fields: their names sorted, '\n'-separated (malloc'd). */
static char *fields_sig(const json_t *fields)
{
    size_t n = json_object_size(fields), i = 0, len = 1;
    const char **names = calloc(n + 1, sizeof(*names));
    const char *f;
    json_t *v;
    char *out;
    if (!names)
        return NULL;
    json_object_foreach((json_t *)fields, f, v) {
        names[i++] = f;
        len += strlen(f) + 1;
    }
    qsort(names, n, sizeof(*names), cmp_str);
    out = malloc(len);
    if (out) {
        out[0] = '\0';
        for (i = 0; i < n; i++) {
            strcat(out, names[i]);
            strcat(out, "\n");
        }
    }
    free(names);
    return out;
}

static int sfw_open(tw_run *tw)
{
    syncc_job_rt *rt = tw->rt;
    const syncc_instance *in = rt->conf->source;
    int rc;
    if (tw->sfw_inst != NULL)
        return SYNC_OK;
    if (tw->sfw_open_failed)
        return SYNC_E_UNSUPPORTED;
    if (!(rt->source->def.provides & SYNC_PROVIDES_SINK) || rt->source->sink.open == NULL) {
        snprintf(tw->err, sizeof(tw->err), "plugin '%s' of [source %s] cannot write (it provides no sink)",
                 rt->source->def.name, in->name);
        tw->sfw_open_failed = 1;
        return SYNC_E_UNSUPPORTED;
    }
    tw->sfw_ctx = syncc_ctx_new(rt->conf->name, in->name, in->plugin_name);
    if (tw->sfw_ctx == NULL)
        return SYNC_E_NOMEM;
    tw->sfw_ctx->run_id = strdup(tw->run_id);
    tw->sfw_ctx->cancel = &tw->e->stop;
    tw->sfw_ctx->state = rt->plugin_state ? rt->plugin_state : tw->e->state;
    rc = rt->source->sink.open(tw->sfw_ctx, in->config, &tw->sfw_inst);
    if (rc != SYNC_OK) {
        snprintf(tw->err, sizeof(tw->err), "salesforce '%s' failed to open for writing: %s%s%s", in->name,
                 syncc_strerror(rc), tw->sfw_ctx->errbuf[0] ? ": " : "", tw->sfw_ctx->errbuf);
        tw->sfw_inst = NULL;
        tw->sfw_open_failed = 1;
    }
    return rc;
}

/*
 * The target of kind for op on the Salesforce sink, prepared on first use:
 * creates send every pushed field (and the external id), updates the Id and
 * the op's own fields, deletes the Id.
 */
static int sfw_prepare(tw_stream *ts, sfw_targets *tt, int kind, const tw_sf_op *op, sfw_target **out)
{
    tw_run *tw = ts->tw;
    const char *opname = kind == TW_T_CREATE ? (ts->st->external_id ? "upsert" : "create") : "update";
    const char *kv[7] = {"operation", opname, NULL, NULL, NULL, NULL, NULL};
    char where[300], cerr[512];
    size_t n = 0;
    sync_config *opts;
    sync_column *cols;
    sfw_target *t;
    char *sig = kind == TW_T_UPDATE ? fields_sig(op->fields) : strdup("");
    int rc;

    if (!sig)
        return SYNC_E_NOMEM;
    for (size_t i = 0; i < tt->n; i++)
        if (tt->t[i].kind == kind && strcmp(tt->t[i].sig, sig) == 0) {
            free(sig);
            *out = &tt->t[i];
            return SYNC_OK;
        }
    t = realloc(tt->t, (tt->n + 1) * sizeof(*t));
    if (!t) {
        free(sig);
        return SYNC_E_NOMEM;
    }
    tt->t = t;
    t = &tt->t[tt->n++];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->sig = sig;
    t->cols = calloc(ts->map->n_cols + json_object_size(op->fields) + 3, sizeof(char *));
    if (!t->cols)
        return SYNC_E_NOMEM;
    if (kind != TW_T_CREATE)
        t->cols[n++] = strdup("Id");
    if (kind == TW_T_CREATE) {
        for (size_t i = 0; i < ts->map->n_cols; i++) {
            const syncc_tw_col *c = &ts->map->cols[i];
            int dup = 0;
            if (c->dir == SYNCC_TW_PULL)
                continue;
            for (size_t k = 0; k < n; k++)
                dup |= strcmp(t->cols[k], c->sf_field) == 0;
            if (!dup)
                t->cols[n++] = strdup(c->sf_field);
        }
        if (ts->st->external_id)
            t->cols[n++] = strdup(ts->st->external_id);
    } else if (kind == TW_T_UPDATE) {
        /* the sorted names of the signature */
        for (char *p = sig; *p;) {
            char *nl = strchr(p, '\n');
            t->cols[n++] = strndup(p, (size_t)(nl - p));
            p = nl + 1;
        }
    }
    t->n_cols = n;
    for (size_t i = 0; i < n; i++)
        if (t->cols[i] == NULL)
            return SYNC_E_NOMEM;
    if (kind == TW_T_CREATE && ts->st->external_id) {
        kv[2] = "external_id";
        kv[3] = ts->st->external_id;
    }
    snprintf(where, sizeof(where), "%s:%d", ts->st->section->file, ts->st->section->line);
    opts = syncc_config_from_pairs(tw->rt->source->def.target_options, kv, where, cerr, sizeof(cerr));
    if (opts == NULL) {
        snprintf(tw->err, sizeof(tw->err), "stream '%s': %s", ts->st->name, cerr);
        return SYNC_E_CONFIG;
    }
    cols = calloc(n + 1, sizeof(*cols));
    for (size_t i = 0; cols && i < n; i++)
        cols[i].name = t->cols[i];
    sync_target target = {.struct_size = sizeof(target), .job = tw->rt->conf->name, .stream = ts->st->name,
                          .name = ts->st->object, .columns = cols, .n_columns = n, .options = opts,
                          .run_id = tw->run_id};
    tw->sfw_ctx->errbuf[0] = '\0';
    syncc_ctx_set_stream(tw->sfw_ctx, ts->st->name);
    rc = cols ? tw->rt->source->sink.prepare(tw->sfw_inst, &target, &t->state) : SYNC_E_NOMEM;
    if (rc != SYNC_OK)
        snprintf(tw->err, sizeof(tw->err), "stream '%s': Salesforce %s refused the fields to write: %s%s%s",
                 ts->st->name, ts->st->object, syncc_strerror(rc), tw->sfw_ctx->errbuf[0] ? ": " : "",
                 tw->sfw_ctx->errbuf);
    free(cols);
    /* the sink keeps what it needs of the options: they live as long as the run */
    if (rc == SYNC_OK) {
        if (ts->tw->n_opts % 8 == 0)
            ts->tw->opts = realloc(ts->tw->opts, (ts->tw->n_opts + 8) * sizeof(*ts->tw->opts));
        ts->tw->opts[ts->tw->n_opts++] = opts;
        *out = t;
    } else {
        syncc_config_free(opts);
    }
    return rc;
}

static void sfw_targets_free(sfw_targets *tt)
{
    for (size_t k = 0; k < tt->n; k++) {
        for (size_t i = 0; tt->t[k].cols && i < tt->t[k].n_cols; i++)
            free(tt->t[k].cols[i]);
        free(tt->t[k].cols);
        free(tt->t[k].sig);
    }
    free(tt->t);
}

static int op_kind(const tw_sf_op *op)
{
    return op->kind == TW_SF_CREATE ? TW_T_CREATE : op->kind == TW_SF_DELETE ? TW_T_DELETE : TW_T_UPDATE;
}

/*
 * Writes ops to Salesforce through the Salesforce plugin's sink: creates,
 * then updates (grouped by the fields they send), then deletes, up to 200
 * records a call.  Per-record failures are in each op; a return other than
 * SYNC_OK means nothing of the call can be trusted (the run stops; the next
 * run reads both sides again).
 */
static int sf_write(tw_stream *ts, tw_sf_op *ops, size_t n)
{
    tw_run *tw = ts->tw;
    sfw_targets tt;
    unsigned char *done;
    char **sigs;          /* each update's fields_sig(): updates with the same one share a target */
    int rc = SYNC_OK;
    static const int order[] = {TW_T_CREATE, TW_T_UPDATE, TW_T_DELETE};

    if (n == 0)
        return SYNC_OK;
    if ((rc = sfw_open(tw)) != SYNC_OK) {
        if (rc == SYNC_E_UNSUPPORTED && strstr(tw->err, "provides no sink") == NULL)
            snprintf(tw->err, sizeof(tw->err), "stream '%s': %zu record(s) must be written to Salesforce, but "
                     "plugin '%s' cannot write", ts->st->name, n, tw->rt->source->def.name);
        return rc;
    }
    done = calloc(n, 1);
    sigs = calloc(n, sizeof(*sigs));
    for (size_t i = 0; done && sigs && i < n; i++)
        if (op_kind(&ops[i]) == TW_T_UPDATE && (sigs[i] = fields_sig(ops[i].fields)) == NULL)
            rc = SYNC_E_NOMEM;
    if (!done || !sigs || rc != SYNC_OK) {
        for (size_t i = 0; sigs && i < n; i++)
            free(sigs[i]);
        free(sigs);
        free(done);
        return SYNC_E_NOMEM;
    }
    memset(&tt, 0, sizeof(tt));
    for (size_t o = 0; o < sizeof(order) / sizeof(order[0]) && rc == SYNC_OK; o++) {
        int kind = order[o];
        for (;;) {
            /* the first op not yet sent picks the target; its peers (same target) go along, 200 a call */
            size_t first = 0;
            sfw_target *t = NULL;
            while (first < n && (done[first] || op_kind(&ops[first]) != kind))
                first++;
            if (first == n)
                break;
            if ((rc = sfw_prepare(ts, &tt, kind, &ops[first], &t)) != SYNC_OK)
                break;
            const char *sig = sigs[first];
            sync_batch *b = syncc_batch_new();
            sfw_call call = {ops, json_object()};
            size_t taken = 0;
            if (!b || !call.index) {
                syncc_batch_free(b);
                json_decref(call.index);
                rc = SYNC_E_NOMEM;
                break;
            }
            for (size_t i = first; i < n && taken < 200; i++) {
                tw_sf_op *op = &ops[i];
                if (done[i] || op_kind(op) != kind)
                    continue;
                if (sig && strcmp(sigs[i], sig) != 0)
                    continue;
                done[i] = 1;
                const char *key = op->db_key ? op->db_key : op->sf_id;
                sync_record *rec = syncc_batch_add(b, key, strlen(key), kind == TW_T_DELETE ? SYNC_OP_DELETE
                                                                                             : SYNC_OP_UPSERT);
                json_object_set_new(call.index, key, json_integer((json_int_t)i));
                for (size_t c = 0; rec && c < t->n_cols; c++) {
                    const char *f = t->cols[c];
                    sync_value v;
                    if (strcmp(f, "Id") == 0) {
                        v.type = SYNC_TYPE_STRING;
                        v.u.str.ptr = op->sf_id;
                        v.u.str.len = strlen(op->sf_id);
                    } else if (kind == TW_T_CREATE && ts->st->external_id && strcmp(f, ts->st->external_id) == 0) {
                        v.type = SYNC_TYPE_STRING;
                        v.u.str.ptr = op->db_key;
                        v.u.str.len = strlen(op->db_key);
                    } else {
                        syncc_tw_typed_value(json_object_get(op->fields, f),
                                    json_string_value(json_object_get(op->types, f)), &v);
                    }
                    syncc_record_set(rec, f, &v);
                }
                taken++;
            }
            {
                sync_write_result wr;
                memset(&wr, 0, sizeof(wr));
                tw->sfw_ctx->on_written = on_written;
                tw->sfw_ctx->on_written_payload = &call;
                tw->sfw_ctx->errbuf[0] = '\0';
                rc = tw->rt->source->sink.write(tw->sfw_inst, t->state, b, NULL, &wr);
                tw->sfw_ctx->on_written = NULL;
                if (rc != SYNC_OK)
                    snprintf(tw->err, sizeof(tw->err), "stream '%s': writing %s to Salesforce: %s%s%s",
                             ts->st->name, ts->st->object, syncc_strerror(rc), tw->sfw_ctx->errbuf[0] ? ": " : "",
                             tw->sfw_ctx->errbuf);
                /* deletes are not reported as written: what was not refused went through */
                pthread_mutex_lock(&tw->sfw_ctx->lock);
                for (size_t r = 0; r < b->n_records; r++) {
                    json_t *ix = json_object_get(call.index, b->records[r]->key);
                    tw_sf_op *op = &ops[json_integer_value(ix)];
                    const char *msg = NULL;
                    for (size_t j = 0; j < tw->sfw_ctx->n_rejects; j++)
                        if (strcmp(tw->sfw_ctx->rejects[j].key, b->records[r]->key) == 0)
                            msg = tw->sfw_ctx->rejects[j].message;
                    if (kind == TW_T_DELETE && rc == SYNC_OK && msg == NULL &&
                        tw->sfw_ctx->n_rejected <= SYNCC_MAX_REJECT_DETAILS)
                        op->ok = 1;
                    if (!op->ok)
                        snprintf(op->error, sizeof(op->error), "%s", msg ? msg : "refused by Salesforce");
                }
                for (size_t j = 0; j < tw->sfw_ctx->n_rejects; j++) {
                    free(tw->sfw_ctx->rejects[j].key);
                    free(tw->sfw_ctx->rejects[j].stream);
                    free(tw->sfw_ctx->rejects[j].message);
                }
                tw->sfw_ctx->n_rejects = 0;
                tw->sfw_ctx->n_rejected = 0;
                pthread_mutex_unlock(&tw->sfw_ctx->lock);
            }
            syncc_batch_free(b);
            json_decref(call.index);
            if (rc != SYNC_OK)
                break;
        }
    }
    sfw_targets_free(&tt);
    for (size_t i = 0; i < n; i++)
        free(sigs[i]);
    free(sigs);
    free(done);
    return rc;
}

/* ------------------------------------------------------------- decisions */

/* Values of a table row (to_jsonb) in column terms. */
static json_t *row_values(tw_stream *ts, const json_t *row)
{
    json_t *vals = json_object();
    for (size_t i = 0; i < ts->map->n_cols; i++) {
        const char *c = ts->map->cols[i].column;
        json_object_set_new(vals, c, syncc_tw_canon(json_object_get(row, c)));
    }
    return vals;
}

/* Salesforce fields for a set of columns (translated through the links of referenced streams). */
static json_t *sf_fields_of(tw_stream *ts, const json_t *cols, json_t **types)
{
    json_t *out = json_object();
    *types = json_object();
    for (size_t i = 0; i < ts->map->n_cols; i++) {
        const syncc_tw_col *col = &ts->map->cols[i];
        json_t *v = json_object_get(cols, col->column);
        if (v == NULL || col->dir == SYNCC_TW_PULL)
            continue;
        if (col->via && json_is_string(v)) {
            json_t *id = json_object_get(ts->ref_db2sf[i], json_string_value(v));
            v = id ? id : json_null();
        }
        json_object_set(out, col->sf_field, v);
        json_object_set(*types, col->sf_field, json_object_get(ts->coltypes, col->column));
    }
    return out;
}

/* A table write: a = u(pdate) | i(nsert) | l(ink only) | s(tatus only) | d(elete, soft). */
static void add_op(tw_stream *ts, const char *a, const char *key, json_t *set, const char *sf_id, json_t *base,
                   int64_t db_mod, int64_t sf_mod, const char *status, const char *error)
{
    json_t *o = json_object();
    char buf[64];
    json_object_set_new(o, "a", json_string(a));
    if (key)
        json_object_set_new(o, "k", json_string(key));
    json_object_set_new(o, "set", set ? set : json_object());
    if (sf_id)
        json_object_set_new(o, "sf", json_string(sf_id));
    if (base)
        json_object_set_new(o, "base", base);
    if (db_mod > 0 && syncc_time_format(db_mod, buf, sizeof(buf)) == 0)
        json_object_set_new(o, "dm", json_string(buf));
    if (sf_mod > 0 && syncc_time_format(sf_mod, buf, sizeof(buf)) == 0)
        json_object_set_new(o, "sm", json_string(buf));
    if (status)
        json_object_set_new(o, "st", json_string(status));
    if (error)
        json_object_set_new(o, "err", json_string(error));
    json_array_append_new(ts->ops, o);
}

static void add_conflict(tw_stream *ts, const char *key, const char *sf_id, const json_t *fields, const json_t *base,
                         const json_t *db, const json_t *sf, int64_t db_mod, int64_t sf_mod, const char *outcome)
{
    json_t *c = json_object();
    char buf[64];
    if (key)
        json_object_set_new(c, "k", json_string(key));
    if (sf_id)
        json_object_set_new(c, "sf", json_string(sf_id));
    json_object_set_new(c, "f", fields ? json_deep_copy(fields) : json_array());
    json_object_set_new(c, "b", base ? json_deep_copy(base) : json_null());
    json_object_set_new(c, "dv", db ? json_deep_copy(db) : json_null());
    json_object_set_new(c, "sv", sf ? json_deep_copy(sf) : json_null());
    if (db_mod > 0 && syncc_time_format(db_mod, buf, sizeof(buf)) == 0)
        json_object_set_new(c, "dm", json_string(buf));
    if (sf_mod > 0 && syncc_time_format(sf_mod, buf, sizeof(buf)) == 0)
        json_object_set_new(c, "sm", json_string(buf));
    json_object_set_new(c, "o", json_string(outcome));
    json_array_append_new(ts->conflicts, c);
    ts->n_conflicts++;
    syncc_log(SYNC_LOG_INFO, &ts->lc, "conflict on %s%s%s%s%s: %s (policy %s)", key ? "row " : "", key ? key : "",
              key && sf_id ? ", " : "", sf_id ? "record " : "", sf_id ? sf_id : "", outcome,
              syncc_tw_policy_name(ts->tw->policy));
}

/* Conflicts settled by `syncengine conflicts resolve`, not yet applied: db_key -> keep. */
static int load_resolutions(tw_stream *ts, json_t **out, json_t **blocked)
{
    const char *params[2] = {ts->tw->rt->conf->name, ts->st->name};
    json_t *rows = NULL, *r;
    size_t i;
    int rc = pgq(ts->tw,
                 "SELECT db_key, keep, sf_id, sf_version, fields, outcome, "
                 "(extract(epoch FROM sf_modified) * 1000000)::bigint AS sm "
                 "FROM syncengine.sync_conflicts WHERE job = $1 AND stream = $2 "
                 "AND outcome IN ('open', 'ambiguous_match') AND resolved_at IS NULL",
                 params, 2, &rows);
    if (rc != SYNC_OK)
        return rc;
    *out = json_object();
    *blocked = json_object();
    json_array_foreach(rows, i, r) {
        const char *k = json_string_value(json_object_get(r, "db_key"));
        const char *id = json_string_value(json_object_get(r, "sf_id"));
        if (strcmp(json_string_value(json_object_get(r, "outcome")), "ambiguous_match") == 0) {
            /* an unsettled ambiguous match holds its row and its record: neither is created again */
            if (k)
                json_object_set_new(*blocked, k, json_true());
            if (id)
                json_object_set_new(*blocked, id, json_true());
        } else if (k) {
            json_object_set(*out, k, r);
        }
    }
    json_decref(rows);
    return SYNC_OK;
}

/* ------------------------------------------------------------ table writes */

/*
 * Builds the statement that applies a chunk of ops ($3, a JSON array) to the
 * table, its links and its conflicts ($4), in one transaction.
 */
static char *write_sql(tw_stream *ts)
{
    size_t cap = 16384, len = 0;
    char *s = malloc(cap);
    char q[300], key[300];
    const syncc_tw_stream *m = ts->map;
#define APP(...)                                                                                             \
    do {                                                                                                     \
        int n_ = snprintf(s + len, cap - len, __VA_ARGS__);                                                  \
        if (n_ < 0 || (size_t)n_ >= cap - len) {                                                             \
            free(s);                                                                                         \
            return NULL;                                                                                     \
        }                                                                                                    \
        len += (size_t)n_;                                                                                   \
    } while (0)
    if (!s)
        return NULL;
    quote_ident(ts->st->key, key, sizeof(key));
    APP("WITH w AS (SELECT set_config('syncengine.writing', 'on', true) AS x), "
        "ops AS (SELECT o.* FROM w, jsonb_to_recordset($3::jsonb) AS o(a text, k text, set jsonb, sf text, "
        "base jsonb, dm timestamptz, sm timestamptz, st text, err text)), ");
    /* updates: the mapped columns present in set, the row's sync state */
    APP("upd AS (UPDATE %s t SET (", ts->table);
    for (size_t i = 0; i < m->n_cols; i++) {
        quote_ident(m->cols[i].column, q, sizeof(q));
        APP("%s, ", q);
    }
    /* without a soft delete column the first item sets the key to itself */
    APP("%s", ts->has_deleted_at ? "deleted_at" : key);
    if (ts->has_sfid)
        APP(", salesforce_id");
    if (ts->has_status)
        APP(", salesforce_sync_status, salesforce_sync_error, salesforce_last_sync_at");
    APP(") = (SELECT ");
    for (size_t i = 0; i < m->n_cols; i++) {
        quote_ident(m->cols[i].column, q, sizeof(q));
        APP("r.%s, ", q);
    }
    if (ts->has_deleted_at)
        APP("CASE WHEN o.a = 'd' THEN coalesce(t.deleted_at, now()) ELSE t.deleted_at END");
    else
        APP("t.%s", key);
    if (ts->has_sfid)
        APP(", coalesce(o.sf, t.salesforce_id)");
    if (ts->has_status)
        APP(", coalesce(o.st, t.salesforce_sync_status), CASE WHEN o.st IS NULL THEN t.salesforce_sync_error "
            "ELSE o.err END, CASE WHEN o.st = 'synced' THEN now() ELSE t.salesforce_last_sync_at END");
    APP(" FROM jsonb_populate_record(t, o.set) r) FROM ops o WHERE o.a IN ('u', 'l', 's', 'd') "
        "AND t.%s = (jsonb_populate_record(NULL::%s, jsonb_build_object('%s', o.k))).%s RETURNING t.%s::text AS k), ",
        key, ts->table, ts->st->key, key, key);
    /* inserts: rows created from Salesforce records */
    APP("ins AS (INSERT INTO %s (", ts->table);
    for (size_t i = 0; i < m->n_cols; i++) {
        quote_ident(m->cols[i].column, q, sizeof(q));
        APP("%s%s", i ? ", " : "", q);
    }
    if (ts->has_sfid)
        APP(", salesforce_id");
    if (ts->has_status)
        APP(", salesforce_sync_status, salesforce_last_sync_at");
    APP(") SELECT ");
    for (size_t i = 0; i < m->n_cols; i++) {
        quote_ident(m->cols[i].column, q, sizeof(q));
        APP("%sr.%s", i ? ", " : "", q);
    }
    if (ts->has_sfid)
        APP(", o.sf");
    if (ts->has_status)
        APP(", 'synced', now()");
    APP(" FROM ops o, jsonb_populate_record(NULL::%s, o.set) r WHERE o.a = 'i' RETURNING %s::text AS k%s), ",
        ts->table, key, ts->has_sfid ? ", salesforce_id AS sf" : ", NULL::text AS sf");
    /* links: what was synced, for every op that carries a base */
    APP("lnk AS (INSERT INTO syncengine.sync_links AS l (job, stream, db_key, sf_id, synced, db_modified, "
        "sf_modified, deleted, synced_at) SELECT $1, $2, coalesce(o.k, i.k), o.sf, o.base, o.dm, o.sm, o.a = 'd', "
        "now() FROM ops o LEFT JOIN ins i ON o.a = 'i' AND i.sf = o.sf WHERE o.base IS NOT NULL "
        "AND coalesce(o.k, i.k) IS NOT NULL "
        "ON CONFLICT (job, stream, db_key) DO UPDATE SET sf_id = coalesce(excluded.sf_id, l.sf_id), "
        "synced = excluded.synced, db_modified = coalesce(excluded.db_modified, l.db_modified), "
        "sf_modified = coalesce(excluded.sf_modified, l.sf_modified), deleted = excluded.deleted OR l.deleted, "
        "synced_at = now() RETURNING 1), ");
    /* conflicts: recorded once; a conflict still open for the pair is brought up to date */
    APP("cin AS (SELECT c.* FROM jsonb_to_recordset($4::jsonb) AS c(k text, sf text, f jsonb, b jsonb, dv jsonb, "
        "sv jsonb, dm timestamptz, sm timestamptz, o text)), "
        "cup AS (UPDATE syncengine.sync_conflicts x SET fields = c.f, db_version = coalesce(c.dv, x.db_version), "
        "sf_version = coalesce(c.sv, x.sf_version), db_modified = coalesce(c.dm, x.db_modified), "
        "sf_modified = coalesce(c.sm, x.sf_modified), outcome = CASE WHEN c.o = 'open' THEN 'open' ELSE c.o END, "
        "resolved_at = CASE WHEN c.o = 'open' THEN NULL ELSE now() END FROM cin c WHERE x.job = $1 AND x.stream = $2 "
        "AND x.outcome = 'open' AND x.resolved_at IS NULL AND x.db_key IS NOT DISTINCT FROM c.k "
        "AND x.sf_id IS NOT DISTINCT FROM c.sf RETURNING x.db_key, x.sf_id), "
        "cnew AS (INSERT INTO syncengine.sync_conflicts (job, stream, db_key, sf_id, fields, base, db_version, "
        "sf_version, db_modified, sf_modified, policy, outcome, resolved_at) SELECT $1, $2, c.k, c.sf, c.f, c.b, "
        "c.dv, c.sv, c.dm, c.sm, $5, c.o, CASE WHEN c.o IN ('open', 'ambiguous_match') THEN NULL ELSE now() END "
        "FROM cin c WHERE NOT EXISTS (SELECT 1 FROM cup u WHERE u.db_key IS NOT DISTINCT FROM c.k "
        "AND u.sf_id IS NOT DISTINCT FROM c.sf) RETURNING 1) "
        "SELECT (SELECT count(*) FROM upd) AS updated, (SELECT coalesce(jsonb_agg(jsonb_build_object('k', k, 'sf', "
        "sf)), '[]'::jsonb) FROM ins) AS inserted, (SELECT count(*) FROM lnk) AS linked, "
        "(SELECT count(*) FROM cnew) + (SELECT count(*) FROM cup) AS conflicts");
#undef APP
    return s;
}

/* Applies ts->ops and ts->conflicts; *inserted receives [{k, sf}] of the rows created. */
static int write_db(tw_stream *ts, json_t **inserted)
{
    tw_run *tw = ts->tw;
    char *sql = write_sql(ts);
    size_t n = json_array_size(ts->ops), nc = json_array_size(ts->conflicts);
    int rc = SYNC_OK;

    *inserted = json_array();
    if (!sql) {
        snprintf(tw->err, sizeof(tw->err), "stream '%s': the write statement is too long", ts->st->name);
        return SYNC_E_CONFIG;
    }
    for (size_t off = 0; off < n || (off == 0 && nc > 0); off += TW_CHUNK) {
        json_t *chunk = json_array(), *rows = NULL;
        for (size_t i = off; i < n && i < off + TW_CHUNK; i++)
            json_array_append(chunk, json_array_get(ts->ops, i));
        char *ops_text = json_dumps(chunk, JSON_COMPACT);
        char *conf_text = json_dumps(off == 0 ? ts->conflicts : json_array(), JSON_COMPACT);
        const char *params[5] = {tw->rt->conf->name, ts->st->name, ops_text, conf_text,
                                 syncc_tw_policy_name(tw->policy)};
        json_decref(chunk);
        rc = pgq(tw, sql, params, 5, &rows);
        free(ops_text);
        free(conf_text);
        if (rc != SYNC_OK) {
            char e2[sizeof(tw->err)];
            snprintf(e2, sizeof(e2), "stream '%s': writing table %s: %s", ts->st->name, ts->st->target, tw->err);
            snprintf(tw->err, sizeof(tw->err), "%s", e2);
            break;
        }
        json_t *ins = syncc_tw_sql_first_value(rows, "inserted");
        size_t k;
        json_t *v;
        json_array_foreach(ins, k, v)
            json_array_append(*inserted, v);
        json_decref(rows);
        if (off + TW_CHUNK >= n)
            break;
    }
    free(sql);
    return rc;
}

static int save_state(tw_stream *ts, const char *db_cursor, const char *sf_cursor)
{
    const char *params[4] = {ts->tw->rt->conf->name, ts->st->name, db_cursor, sf_cursor};
    return pgq(ts->tw,
               "INSERT INTO syncengine.sync_twoway_state (job, stream, db_cursor, sf_cursor) VALUES ($1, $2, $3, $4) "
               "ON CONFLICT (job, stream) DO UPDATE SET db_cursor = coalesce(excluded.db_cursor, "
               "sync_twoway_state.db_cursor), sf_cursor = coalesce(excluded.sf_cursor, sync_twoway_state.sf_cursor), "
               "updated_at = now()",
               params, 4, NULL);
}

/* ------------------------------------------------------------ one stream */

typedef struct pending_sf {
    tw_sf_op op;
    json_t *fields, *types;
    /* what the table gets once Salesforce answered */
    char *key;
    json_t *to_db;       /* columns for the row (may be empty) */
    json_t *new_base;    /* the link after both writes */
    json_t *old_base;    /* the link's values before (NULL: none) */
    json_t *to_sf_cols;  /* the columns that went to Salesforce */
    const char *sf_id;
    int64_t db_mod, sf_mod;
} pending_sf;

/*
 * Appends a pending Salesforce write of kind for the row with key (zeroed,
 * the list grown as needed); with cols (create, update) its fields and their
 * types are those columns' Salesforce fields.
 */
static pending_sf *pend_add(pending_sf **pend, size_t *n, size_t *cap, tw_stream *ts, int kind, const char *key,
                            const json_t *cols)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *pend = realloc(*pend, *cap * sizeof(**pend));
    }
    pending_sf *p = &(*pend)[(*n)++];
    memset(p, 0, sizeof(*p));
    if (cols) {
        p->fields = sf_fields_of(ts, cols, &p->types);
        p->op.fields = p->fields;
        p->op.types = p->types;
    }
    p->op.kind = kind;
    p->key = strdup(key);
    return p;
}

static int run_stream(tw_run *tw, size_t s)
{
    syncc_job_rt *rt = tw->rt;
    syncc_job *job = rt->conf;
    tw_stream ts;
    char *db_cursor = NULL, *sf_cursor = NULL, *db_upper = NULL;
    json_t *sf_changes = NULL, *db_changes = NULL, *db_rows = NULL, *unlinked_db = NULL, *resolutions = NULL;
    json_t *inserted = NULL;
    json_t *pairs = NULL, *consumed = NULL, *creates_db = NULL, *creates_sf = NULL, *sf_unlinked = NULL;
    json_t *db_unlinked_changed = NULL, *by_match = NULL, *blocked = NULL;
    pending_sf *pend = NULL;
    size_t n_pend = 0, cap_pend = 0;
    int rc;
    const char *k;
    json_t *v;
    size_t i;

    memset(&ts, 0, sizeof(ts));
    ts.tw = tw;
    ts.index = s;
    ts.st = rt->streams[s].conf;
    ts.map = rt->streams[s].twoway;
    ts.lc = (syncc_log_ctx){.job = job->name, .stream = ts.st->name, .run_id = tw->run_id};
    syncc_tw_sql_quote_ident(ts.st->target, ts.table, sizeof(ts.table), 1);
    ts.ops = json_array();
    ts.conflicts = json_array();
    ts.ref_sf2db = calloc(ts.map->n_cols + 1, sizeof(*ts.ref_sf2db));
    ts.ref_db2sf = calloc(ts.map->n_cols + 1, sizeof(*ts.ref_db2sf));
    if (!ts.ops || !ts.conflicts || !ts.ref_sf2db || !ts.ref_db2sf) {
        rc = SYNC_E_NOMEM;
        goto out;
    }
    if ((rc = load_catalog(&ts)) != SYNC_OK || (rc = load_state(&ts, &db_cursor, &sf_cursor)) != SYNC_OK ||
        (rc = load_links(tw, ts.st->name, &ts.links, &ts.by_sf)) != SYNC_OK ||
        (rc = load_resolutions(&ts, &resolutions, &blocked)) != SYNC_OK)
        goto out;
    if (tw->full_refresh) {
        /* both sides from the beginning: what equals its link is still written nowhere */
        free(db_cursor);
        free(sf_cursor);
        db_cursor = sf_cursor = NULL;
    }
    for (i = 0; i < ts.map->n_cols; i++) {
        const syncc_tw_col *col = &ts.map->cols[i];
        if (!col->via)
            continue;
        json_t *links = NULL, *by_sf = NULL;
        if ((rc = load_links(tw, col->via, &links, &by_sf)) != SYNC_OK)
            goto out;
        ts.ref_sf2db[i] = by_sf;
        ts.ref_db2sf[i] = json_object();
        json_object_foreach(links, k, v)
            if (json_is_string(json_object_get(v, "id")))
                json_object_set(ts.ref_db2sf[i], k, json_object_get(v, "id"));
        json_decref(links);
    }

    /* Salesforce's changes */
    syncc_log(SYNC_LOG_INFO, &ts.lc, "reading %s from %s and table %s from %s", ts.st->object,
              sf_cursor ? sf_cursor : "the beginning", ts.st->target, db_cursor ? db_cursor : "the beginning");
    if ((rc = read_salesforce(&ts, sf_cursor, &sf_changes)) != SYNC_OK)
        goto out;
    ts.n_sf_read = (int64_t)json_object_size(sf_changes);

    /* the table's changes: rows stamped after the position, less the settle window */
    {
        const char *params[1] = {db_cursor};
        char sql[1024];
        snprintf(sql, sizeof(sql),
                 "SELECT (SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY t.updated_at), '[]'::jsonb) FROM %s t "
                 "WHERE $1::text IS NULL OR t.updated_at > $1::timestamptz - interval '" TW_SETTLE "') AS rows, "
                 "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS upper",
                 ts.table);
        json_t *rows = NULL;
        if ((rc = pgq(tw, sql, params, 1, &rows)) != SYNC_OK)
            goto out;
        db_rows = json_incref(syncc_tw_sql_first_value(rows, "rows"));
        const char *u = json_string_value(syncc_tw_sql_first_value(rows, "upper"));
        db_upper = u ? strdup(u) : NULL;
        json_decref(rows);
    }
    db_changes = json_object();
    json_array_foreach(db_rows, i, v) {
        json_t *key = syncc_tw_canon(json_object_get(v, ts.st->key));
        if (json_is_string(key))
            json_object_set(db_changes, json_string_value(key), v);
        json_decref(key);
    }
    ts.n_db_read = (int64_t)json_object_size(db_changes);

    /* match candidates: unlinked rows (only when some Salesforce record has no link) */
    sf_unlinked = json_object();
    db_unlinked_changed = json_object();
    json_object_foreach(sf_changes, k, v)
        if (!json_object_get(ts.by_sf, k) && !json_is_true(json_object_get(v, "del")))
            json_object_set(sf_unlinked, k, v);
    json_object_foreach(db_changes, k, v)
        if (!json_object_get(ts.links, k) && json_is_null(json_object_get(v, "deleted_at") ?
                                                          json_object_get(v, "deleted_at") : json_null()))
            json_object_set(db_unlinked_changed, k, v);
    if (json_object_size(sf_unlinked) > 0) {
        char sql[1024];
        const char *params[2] = {job->name, ts.st->name};
        json_t *rows = NULL;
        char key[300];
        quote_ident(ts.st->key, key, sizeof(key));
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) AS rows FROM %s t WHERE %s NOT EXISTS "
                 "(SELECT 1 FROM syncengine.sync_links l WHERE l.job = $1 AND l.stream = $2 AND l.db_key = t.%s::text)",
                 ts.table, ts.has_deleted_at ? "t.deleted_at IS NULL AND" : "", key);
        if ((rc = pgq(tw, sql, params, 2, &rows)) != SYNC_OK)
            goto out_pairs;
        unlinked_db = json_object();
        json_array_foreach(syncc_tw_sql_first_value(rows, "rows"), i, v) {
            json_t *key2 = syncc_tw_canon(json_object_get(v, ts.st->key));
            if (json_is_string(key2))
                json_object_set(unlinked_db, json_string_value(key2), v);
            json_decref(key2);
        }
        json_decref(rows);
    } else {
        unlinked_db = json_deep_copy(db_unlinked_changed);
    }

    /* pairs: db_key -> {sf_id, sf (record) or null, db (row) or null, base or null} */
    pairs = json_object();
    json_object_foreach(sf_changes, k, v) {
        json_t *dbk = json_object_get(ts.by_sf, k);
        if (!dbk)
            continue;
        json_t *p = json_pack("{s:s, s:O}", "sf_id", k, "sf", v);
        json_object_set_new(pairs, json_string_value(dbk), p);
    }
    json_object_foreach(db_changes, k, v) {
        json_t *l = json_object_get(ts.links, k);
        if (!l)
            continue;
        json_t *p = json_object_get(pairs, k);
        if (!p) {
            p = json_object();
            if (json_is_string(json_object_get(l, "id")))
                json_object_set(p, "sf_id", json_object_get(l, "id"));
            json_object_set_new(pairs, k, p);
        }
        json_object_set(p, "db", v);
    }

    /* conflicts settled by `conflicts resolve`: decided again, with Salesforce's version as recorded
     * (unless it changed since, then as read) and the row as it is now */
    if (json_object_size(resolutions) > 0) {
        json_t *keys = json_array(), *rows = NULL;
        json_object_foreach(resolutions, k, v)
            if (json_object_get(ts.links, k) && json_is_string(json_object_get(v, "keep")))
                json_array_append_new(keys, json_string(k));
        char *keys_text = json_dumps(keys, JSON_COMPACT);
        char sql[1024], key[300];
        const char *params[1] = {keys_text};
        quote_ident(ts.st->key, key, sizeof(key));
        snprintf(sql, sizeof(sql), "SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]'::jsonb) AS rows FROM %s t "
                 "WHERE t.%s::text IN (SELECT jsonb_array_elements_text($1::jsonb))", ts.table, key);
        rc = json_array_size(keys) > 0 ? pgq(tw, sql, params, 1, &rows) : SYNC_OK;
        free(keys_text);
        json_decref(keys);
        if (rc != SYNC_OK)
            goto out_pairs;
        json_array_foreach(syncc_tw_sql_first_value(rows, "rows"), i, v) {
            json_t *kv = syncc_tw_canon(json_object_get(v, ts.st->key));
            const char *rk = json_string_value(kv);
            json_t *res = rk ? json_object_get(resolutions, rk) : NULL;
            json_t *p = rk ? json_object_get(pairs, rk) : NULL;
            if (res && !json_is_string(json_object_get(res, "keep")))
                res = NULL;
            if (res && !p) {
                p = json_object();
                json_object_set(p, "sf_id", json_object_get(json_object_get(ts.links, rk), "id"));
                json_object_set_new(pairs, rk, p);
            }
            if (p && !json_object_get(p, "db"))
                json_object_set(p, "db", v);
            if (p && !json_object_get(p, "sf") && json_is_object(json_object_get(res, "sf_version")))
                json_object_set_new(p, "sf", json_pack("{s:O, s:O, s:b}", "v", json_object_get(res, "sf_version"),
                                                       "m", json_object_get(res, "sm"), "del", 0));
            json_decref(kv);
        }
        json_decref(rows);
    }

    /* rows that name their record already (salesforce_id set, no link: filled by hand or by an older sync):
     * paired with it, whatever the match column says */
    if (ts.has_sfid) {
        json_t *rows = json_object_size(sf_unlinked) > 0 ? unlinked_db : db_unlinked_changed;
        json_t *taken = json_array();
        json_object_foreach(rows, k, v) {
            const char *id = json_string_value(json_object_get(v, "salesforce_id"));
            if (id == NULL || *id == '\0' || json_object_get(ts.by_sf, id) || json_object_get(blocked, k) ||
                (json_object_get(v, "deleted_at") && !json_is_null(json_object_get(v, "deleted_at"))))
                continue;
            json_t *p = json_pack("{s:s, s:O, s:b}", "sf_id", id, "db", v, "new", 1);
            if (json_object_get(sf_unlinked, id))
                json_object_set(p, "sf", json_object_get(sf_unlinked, id));
            json_object_set_new(pairs, k, p);
            json_array_append_new(taken, json_pack("[s, s]", k, id));
        }
        size_t j;
        json_t *e;
        json_array_foreach(taken, j, e) {
            const char *dbk = json_string_value(json_array_get(e, 0)), *id = json_string_value(json_array_get(e, 1));
            json_object_del(db_unlinked_changed, dbk);
            json_object_del(unlinked_db, dbk);
            json_object_del(sf_unlinked, id);
        }
        json_decref(taken);
    }

    /* matching: Salesforce records without a link */
    by_match = json_object(); /* match value -> [db keys] of unlinked rows */
    size_t mc = ts.map->match_col;
    if (mc != (size_t)-1) {
        json_object_foreach(unlinked_db, k, v) {
            json_t *cv = syncc_tw_canon(json_object_get(v, ts.map->cols[mc].column));
            char *mk = match_key(cv);
            json_decref(cv);
            if (!mk)
                continue;
            json_t *lst = json_object_get(by_match, mk);
            if (!lst) {
                lst = json_array();
                json_object_set_new(by_match, mk, lst);
            }
            json_array_append_new(lst, json_string(k));
            free(mk);
        }
    }
    consumed = json_object();   /* db keys paired by matching or held by an ambiguous match */
    creates_db = json_array();  /* Salesforce records to insert as rows */
    creates_sf = json_array();  /* db keys to create in Salesforce */
    {
        /* Salesforce's unlinked records by match value; one on each side pairs, more is never guessed */
        json_t *sf_by_match = json_object();
        if (mc != (size_t)-1)
            json_object_foreach(sf_unlinked, k, v) {
                char *mk = match_key(json_object_get(json_object_get(v, "v"), ts.map->cols[mc].column));
                if (!mk)
                    continue;
                json_t *lst = json_object_get(sf_by_match, mk);
                if (!lst) {
                    lst = json_array();
                    json_object_set_new(sf_by_match, mk, lst);
                }
                json_array_append_new(lst, json_string(k));
                free(mk);
            }
        json_t *sf_done = json_object(); /* sf ids paired or held */
        const char *mk;
        json_t *sfl;
        json_object_foreach(sf_by_match, mk, sfl) {
            json_t *dbl = json_object_get(by_match, mk);
            size_t j;
            json_t *e;
            if (dbl == NULL)
                continue;
            if (json_array_size(dbl) == 1 && json_array_size(sfl) == 1) {
                const char *dbk = json_string_value(json_array_get(dbl, 0));
                const char *sid = json_string_value(json_array_get(sfl, 0));
                if (json_object_get(blocked, dbk) || json_object_get(blocked, sid))
                    goto held;
                json_t *p = json_pack("{s:s, s:O, s:O, s:b}", "sf_id", sid, "sf", json_object_get(sf_unlinked, sid),
                                      "db", json_object_get(unlinked_db, dbk), "new", 1);
                json_object_set_new(pairs, dbk, p);
                json_object_set_new(consumed, dbk, json_true());
                json_object_set_new(sf_done, sid, json_true());
                continue;
            }
            /* two candidates (or more) for one record: recorded, nothing linked or created */
            {
                json_t *f = json_pack("[s]", ts.map->cols[mc].column);
                json_t *dv = json_array(), *sv = json_array();
                json_array_foreach(dbl, j, e)
                    json_array_append_new(dv, row_values(&ts, json_object_get(unlinked_db, json_string_value(e))));
                json_array_foreach(sfl, j, e)
                    json_array_append(sv, json_object_get(json_object_get(sf_unlinked, json_string_value(e)), "v"));
                json_array_foreach(dbl, j, e)
                    if (!json_object_get(blocked, json_string_value(e)))
                        add_conflict(&ts, json_string_value(e), NULL, f, NULL, dv, sv, 0, 0, "ambiguous_match");
                json_array_foreach(sfl, j, e)
                    if (!json_object_get(blocked, json_string_value(e)))
                        add_conflict(&ts, NULL, json_string_value(e), f, NULL, dv, sv, 0, 0, "ambiguous_match");
                json_decref(f);
                json_decref(dv);
                json_decref(sv);
            }
        held:
            json_array_foreach(dbl, j, e)
                json_object_set_new(consumed, json_string_value(e), json_true());
            json_array_foreach(sfl, j, e)
                json_object_set_new(sf_done, json_string_value(e), json_true());
        }
        json_object_foreach(sf_unlinked, k, v) {
            if (json_object_get(sf_done, k) || json_object_get(blocked, k))
                continue;
            json_array_append_new(creates_db, json_pack("{s:s, s:O}", "sf_id", k, "rec", v));
        }
        json_object_foreach(db_unlinked_changed, k, v) {
            if (json_object_get(consumed, k) || json_object_get(blocked, k))
                continue;
            json_array_append_new(creates_sf, json_string(k));
        }
        json_decref(sf_done);
        json_decref(sf_by_match);
    }

    /* decide every pair */
    json_object_foreach(pairs, k, v) {
        json_t *rec = json_object_get(v, "sf"), *row = json_object_get(v, "db");
        json_t *link = json_object_get(ts.links, k);
        const char *sf_id = json_string_value(json_object_get(v, "sf_id"));
        int is_new = json_is_true(json_object_get(v, "new"));
        json_t *base = is_new ? NULL : json_object_get(link, "s");
        int64_t sf_mod = rec ? json_integer_value(json_object_get(rec, "m")) : 0;
        int64_t db_mod = row ? parse_ts(json_object_get(row, "updated_at")) : 0;
        json_t *dbv = row ? row_values(&ts, row) : NULL;
        json_t *sfv = rec ? json_object_get(rec, "v") : NULL;
        int sf_deleted = rec && json_is_true(json_object_get(rec, "del"));
        int db_deleted = row && json_object_get(row, "deleted_at") && !json_is_null(json_object_get(row, "deleted_at"));
        json_t *open = json_object_get(resolutions, k);
        json_t *keep = json_object_get(open, "keep");

        if (link && json_is_true(json_object_get(link, "d"))) {
            json_decref(dbv);
            continue; /* a pair deleted on one side stays apart */
        }
        if (open && !json_is_string(keep)) {
            /* an open conflict waits for `conflicts resolve`: nothing is written, its versions follow the sides */
            json_t *fields = json_incref(json_object_get(open, "fields"));
            add_conflict(&ts, k, sf_id, fields ? fields : json_array(), NULL, dbv, sfv, db_mod, sf_mod, "open");
            ts.n_conflicts--; /* not a new one */
            json_decref(fields);
            json_decref(dbv);
            continue;
        }
        if (sf_deleted) {
            if (tw->pull) {
                add_op(&ts, "d", k, NULL, NULL, json_deep_copy(base ? base : json_object()), db_mod, sf_mod,
                       NULL, NULL);
                ts.n_deleted++;
            }
            json_decref(dbv);
            continue;
        }
        if (db_deleted) {
            if (tw->push && job->push_deletes && sf_id) {
                pending_sf *p = pend_add(&pend, &n_pend, &cap_pend, &ts, TW_SF_DELETE, k, NULL);
                p->op.sf_id = sf_id;
                p->sf_id = sf_id;
                p->new_base = json_deep_copy(base ? base : json_object());
                p->db_mod = db_mod;
            } else if (tw->push) {
                /* not pushed: the pair is apart for good (turning push_deletes on later does not reach back) */
                add_op(&ts, "d", k, NULL, NULL, json_deep_copy(base ? base : json_object()), db_mod, 0, NULL, NULL);
            }
            json_decref(dbv);
            continue;
        }
        if (is_new && rec == NULL && dbv != NULL && tw->push) {
            /* a row that names a record not read this run: the row's values go to it */
            pending_sf *p = pend_add(&pend, &n_pend, &cap_pend, &ts, TW_SF_UPDATE, k, dbv);
            p->op.sf_id = sf_id;
            p->sf_id = sf_id;
            p->to_db = json_object();
            p->new_base = json_incref(dbv);
            p->old_base = NULL; /* no link until Salesforce took it */
            p->to_sf_cols = json_incref(dbv);
            p->db_mod = db_mod;
            json_decref(dbv);
            continue;
        }
        syncc_tw_input in;
        memset(&in, 0, sizeof(in));
        in.fields = ts.map->fields;
        in.n_fields = ts.map->n_cols;
        in.base = base;
        in.db = tw->pull && !tw->push && base ? NULL : dbv;
        in.sf = tw->push && !tw->pull && base ? NULL : sfv;
        in.db_modified = db_mod;
        in.sf_modified = sf_mod;
        in.policy = !tw->push ? SYNCC_TW_SALESFORCE_WINS : !tw->pull ? SYNCC_TW_DATABASE_WINS : tw->policy;
        in.merge_fields = job->merge_fields;
        if (keep && json_is_string(keep)) {
            in.resolved = 1;
            in.keep = strcmp(json_string_value(keep), "salesforce") == 0 ? SYNCC_TW_SALESFORCE_WINS
                                                                         : SYNCC_TW_DATABASE_WINS;
        }
        syncc_tw_result r;
        if (syncc_tw_decide(&in, &r) != 0) {
            json_decref(dbv);
            rc = SYNC_E_NOMEM;
            goto out_pairs;
        }
        if (json_array_size(r.conflicting) > 0) {
            add_conflict(&ts, k, sf_id, r.conflicting, base, dbv, sfv, db_mod, sf_mod,
                         syncc_tw_outcome_name(r.outcome));
        } else if (keep) {
            /* settled by the sides themselves since: the open conflict closes with the side kept */
            add_conflict(&ts, k, sf_id, r.conflicting, base, dbv, sfv, db_mod, sf_mod,
                         in.keep == SYNCC_TW_SALESFORCE_WINS ? "salesforce_won" : "database_won");
        }
        if (r.outcome == SYNCC_TW_OPEN) {
            add_op(&ts, "s", k, NULL, NULL, NULL, 0, 0, "conflict",
                   "changed on both sides; settle it with: syncengine conflicts resolve");
        } else if (json_object_size(r.to_sf) > 0) {
            /* only what changed on the table's side since the link: a Salesforce edit of another field,
             * made after this run's read, is not overwritten */
            pending_sf *p = pend_add(&pend, &n_pend, &cap_pend, &ts, TW_SF_UPDATE, k, r.to_sf);
            p->op.sf_id = sf_id;
            p->sf_id = sf_id;
            p->to_db = json_incref(r.to_db);
            p->new_base = json_incref(r.new_base);
            p->old_base = base ? json_deep_copy(base) : NULL; /* NULL: a new pair, no link until written */
            p->to_sf_cols = json_incref(r.to_sf);
            p->db_mod = db_mod;
            p->sf_mod = sf_mod;
        } else if (json_object_size(r.to_db) > 0 || is_new || keep) {
            add_op(&ts, "u", k, json_incref(r.to_db), is_new ? sf_id : NULL, json_incref(r.new_base), db_mod,
                   sf_mod, "synced", NULL);
        } else if (base && !json_equal(r.new_base, base)) {
            /* both sides already agree on a new value (a run stopped between its two writes): the link follows */
            add_op(&ts, "l", k, NULL, NULL, json_incref(r.new_base), db_mod, sf_mod, "synced", NULL);
        }
        syncc_tw_result_clear(&r);
        json_decref(dbv);
    }

    /* rows unknown to Salesforce: created there (upserted by the external id when the stream has one) */
    if (tw->push) {
        size_t j;
        json_t *e;
        json_array_foreach(creates_sf, j, e) {
            const char *key = json_string_value(e);
            json_t *row = json_object_get(db_changes, key);
            json_t *vals = row_values(&ts, row);
            pending_sf *p = pend_add(&pend, &n_pend, &cap_pend, &ts, TW_SF_CREATE, key, vals);
            p->op.db_key = key;
            p->to_db = json_object();
            p->new_base = vals;
            p->to_sf_cols = json_incref(vals);
            p->db_mod = parse_ts(json_object_get(row, "updated_at"));
        }
    }

    /* Salesforce first: its answers carry the Ids the table keeps */
    if (n_pend > 0) {
        tw_sf_op *ops = calloc(n_pend, sizeof(*ops));
        if (!ops) {
            rc = SYNC_E_NOMEM;
            goto out_pairs;
        }
        for (i = 0; i < n_pend; i++)
            ops[i] = pend[i].op;
        rc = sf_write(&ts, ops, n_pend);
        if (rc != SYNC_OK) {
            free(ops);
            goto out_pairs;
        }
        for (i = 0; i < n_pend; i++) {
            pending_sf *p = &pend[i];
            if (!ops[i].ok) {
                /* the row keeps what it had; the link keeps the old values for what failed, so the next
                 * change of the row tries again; the row shows the error */
                json_t *b = json_deep_copy(p->new_base);
                const char *c;
                json_t *x;
                json_object_foreach(p->to_sf_cols, c, x)
                    json_object_set(b, c, json_object_get(p->old_base, c) ? json_object_get(p->old_base, c)
                                                                            : json_null());
                add_op(&ts, json_object_size(p->to_db) > 0 ? "u" : "s", p->key, json_incref(p->to_db), NULL,
                       p->old_base && p->op.kind != TW_SF_CREATE ? b : NULL, p->db_mod, p->sf_mod, "error",
                       ops[i].error);
                if (!(p->old_base && p->op.kind != TW_SF_CREATE))
                    json_decref(b);
                ts.n_failed++;
                syncc_log(SYNC_LOG_WARN, &ts.lc, "row %s: Salesforce refused the %s: %s", p->key,
                          p->op.kind == TW_SF_CREATE ? "create" : p->op.kind == TW_SF_DELETE ? "delete" : "update",
                          ops[i].error);
                continue;
            }
            ts.n_sf_written++;
            if (p->op.kind == TW_SF_DELETE) {
                add_op(&ts, "l", p->key, NULL, NULL, json_incref(p->new_base), p->db_mod, 0, NULL, NULL);
                json_object_set_new(json_array_get(ts.ops, json_array_size(ts.ops) - 1), "a", json_string("x"));
                continue;
            }
            add_op(&ts, json_object_size(p->to_db) > 0 ? "u" : "l", p->key, json_incref(p->to_db),
                   p->op.kind == TW_SF_CREATE ? ops[i].new_id : p->sf_id, json_incref(p->new_base), p->db_mod,
                   p->sf_mod, "synced", NULL);
            if (p->op.kind == TW_SF_CREATE) {
                /* the link needs the Id before the row has it */
                json_t *last = json_array_get(ts.ops, json_array_size(ts.ops) - 1);
                json_object_set_new(last, "sf", json_string(ops[i].new_id));
                ts.n_created++;
            }
        }
        free(ops);
    }

    /* Salesforce records unknown to the table: inserted as rows */
    if (tw->pull) {
        size_t j;
        json_t *e;
        json_array_foreach(creates_db, j, e) {
            json_t *rec = json_object_get(e, "rec");
            json_t *vals = json_deep_copy(json_object_get(rec, "v"));
            /* push-only columns are the table's: not filled from Salesforce */
            for (size_t c = 0; c < ts.map->n_cols; c++)
                if (ts.map->cols[c].dir == SYNCC_TW_PUSH)
                    json_object_del(vals, ts.map->cols[c].column);
            add_op(&ts, "i", NULL, json_incref(vals), json_string_value(json_object_get(e, "sf_id")), vals, 0,
                   json_integer_value(json_object_get(rec, "m")), "synced", NULL);
            ts.n_created++;
        }
    }

    /* the table, the links, the rows' state and the conflicts */
    {
        size_t n_ops = json_array_size(ts.ops);
        json_t *o;
        json_array_foreach(ts.ops, i, o) {
            const char *a = json_string_value(json_object_get(o, "a"));
            if (strcmp(a, "x") == 0)
                json_object_set_new(o, "a", json_string("d"));
        }
        if (n_ops > 0 || json_array_size(ts.conflicts) > 0) {
            if ((rc = write_db(&ts, &inserted)) != SYNC_OK)
                goto out_pairs;
        }
        json_array_foreach(ts.ops, i, o) {
            const char *a = json_string_value(json_object_get(o, "a"));
            if (strcmp(a, "u") == 0 || strcmp(a, "i") == 0 || strcmp(a, "d") == 0)
                ts.n_db_written++;
        }
    }

    /* the row's key into the record's external-id field, for the records created as rows */
    if (tw->push && ts.st->external_id && json_array_size(inserted) > 0) {
        size_t n = json_array_size(inserted), j;
        json_t *e;
        tw_sf_op *ops = calloc(n, sizeof(*ops));
        json_t **fl = calloc(n, sizeof(*fl));
        json_t *types = json_object();
        json_object_set_new(types, ts.st->external_id, json_string("text"));
        json_array_foreach(inserted, j, e) {
            fl[j] = json_object();
            json_object_set(fl[j], ts.st->external_id, json_object_get(e, "k"));
            ops[j].kind = TW_SF_UPDATE;
            ops[j].sf_id = json_string_value(json_object_get(e, "sf"));
            ops[j].fields = fl[j];
            ops[j].types = types;
        }
        rc = sf_write(&ts, ops, n);
        for (j = 0; j < n; j++) {
            if (rc == SYNC_OK && ops[j].ok)
                ts.n_sf_written++;
            else if (rc == SYNC_OK)
                syncc_log(SYNC_LOG_WARN, &ts.lc, "record %s: its row's key could not be written to %s: %s",
                          ops[j].sf_id, ts.st->external_id, ops[j].error);
            json_decref(fl[j]);
        }
        json_decref(types);
        free(fl);
        free(ops);
        if (rc != SYNC_OK)
            goto out_pairs;
    }

    rc = save_state(&ts, db_upper, ts.sf_cursor);
    if (rc != SYNC_OK)
        snprintf(tw->err + strlen(tw->err), sizeof(tw->err) - strlen(tw->err), " (saving the stream's position)");

out_pairs:
    json_decref(by_match);
    json_decref(pairs);
    json_decref(consumed);
    json_decref(creates_db);
    json_decref(creates_sf);
    json_decref(sf_unlinked);
    json_decref(db_unlinked_changed);
out:
    for (i = 0; i < n_pend; i++) {
        json_decref(pend[i].fields);
        json_decref(pend[i].types);
        json_decref(pend[i].to_db);
        json_decref(pend[i].new_base);
        json_decref(pend[i].old_base);
        json_decref(pend[i].to_sf_cols);
        free(pend[i].key);
    }
    free(pend);
    {
        json_t *sj = json_object();
        json_object_set_new(sj, "object", json_string(ts.st->object));
        json_object_set_new(sj, "salesforce_read", json_integer(ts.n_sf_read));
        json_object_set_new(sj, "table_read", json_integer(ts.n_db_read));
        json_object_set_new(sj, "table_written", json_integer(ts.n_db_written));
        json_object_set_new(sj, "salesforce_written", json_integer(ts.n_sf_written));
        json_object_set_new(sj, "created", json_integer(ts.n_created));
        json_object_set_new(sj, "deleted", json_integer(ts.n_deleted));
        json_object_set_new(sj, "conflicts", json_integer(ts.n_conflicts));
        json_object_set_new(sj, "failed", json_integer(ts.n_failed));
        if (rc != SYNC_OK)
            json_object_set_new(sj, "error", json_string(tw->err));
        syncc_log(rc == SYNC_OK ? SYNC_LOG_INFO : SYNC_LOG_ERROR, &ts.lc,
                  "%s: %lld read from Salesforce, %lld from the table; %lld written to the table, %lld to Salesforce "
                  "(%lld created, %lld deleted), %lld conflict(s), %lld failed%s%s",
                  rc == SYNC_OK ? "done" : "stopped", (long long)ts.n_sf_read, (long long)ts.n_db_read,
                  (long long)ts.n_db_written, (long long)ts.n_sf_written, (long long)ts.n_created,
                  (long long)ts.n_deleted, (long long)ts.n_conflicts, (long long)ts.n_failed,
                  rc == SYNC_OK ? "" : ": ", rc == SYNC_OK ? "" : tw->err);
        tw->res->processed += ts.n_sf_read + ts.n_db_read;
        tw->res->updated += ts.n_db_written + ts.n_sf_written;
        tw->res->inserted += ts.n_created;
        tw->res->deleted += ts.n_deleted;
        tw->res->failed += ts.n_failed;
        json_object_set_new(tw->streams_json, ts.st->name, sj);
    }
    for (i = 0; i < ts.map->n_cols; i++) {
        json_decref(ts.ref_sf2db[i]);
        json_decref(ts.ref_db2sf[i]);
    }
    free(ts.ref_sf2db);
    free(ts.ref_db2sf);
    json_decref(ts.coltypes);
    json_decref(ts.links);
    json_decref(ts.by_sf);
    json_decref(ts.ops);
    json_decref(ts.conflicts);
    json_decref(sf_changes);
    json_decref(db_changes);
    json_decref(db_rows);
    json_decref(unlinked_db);
    json_decref(resolutions);
    json_decref(blocked);
    json_decref(inserted);
    free(ts.sf_cursor);
    free(db_cursor);
    free(sf_cursor);
    free(db_upper);
    return rc;
}

/*
 * The bookkeeping tables, as conf/crm.sql creates them: made by `syncengine
 * setup` (syncc_twoway_setup), or by a run when missing.
 */
static const char *const bookkeeping_ddl[] = {
    "CREATE SCHEMA IF NOT EXISTS syncengine",
    "CREATE TABLE IF NOT EXISTS syncengine.sync_links (job text NOT NULL, stream text NOT NULL, db_key text NOT NULL, "
    "sf_id text, synced jsonb NOT NULL DEFAULT '{}'::jsonb, db_modified timestamptz, sf_modified timestamptz, "
    "deleted boolean NOT NULL DEFAULT false, synced_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (job, stream, db_key))",
    "CREATE UNIQUE INDEX IF NOT EXISTS sync_links_sf ON syncengine.sync_links (job, stream, sf_id)",
    "CREATE TABLE IF NOT EXISTS syncengine.sync_conflicts (id bigserial PRIMARY KEY, job text NOT NULL, "
    "stream text NOT NULL, db_key text, sf_id text, fields jsonb NOT NULL DEFAULT '[]'::jsonb, base jsonb, "
    "db_version jsonb, sf_version jsonb, db_modified timestamptz, sf_modified timestamptz, policy text NOT NULL, "
    "outcome text NOT NULL, keep text CHECK (keep IN ('salesforce', 'database')), "
    "opened_at timestamptz NOT NULL DEFAULT now(), resolved_at timestamptz)",
    "CREATE INDEX IF NOT EXISTS sync_conflicts_open ON syncengine.sync_conflicts (job, stream) "
    "WHERE resolved_at IS NULL",
    "CREATE TABLE IF NOT EXISTS syncengine.sync_twoway_state (job text NOT NULL, stream text NOT NULL, "
    "db_cursor text, sf_cursor text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (job, stream))",
    NULL};

static int ensure_bookkeeping(tw_run *tw)
{
    json_t *rows = NULL;
    int rc = pgq(tw,
                 "SELECT to_regclass('syncengine.sync_links') IS NOT NULL AND "
                 "to_regclass('syncengine.sync_conflicts') IS NOT NULL AND "
                 "to_regclass('syncengine.sync_twoway_state') IS NOT NULL AS ok",
                 NULL, 0, &rows);
    if (rc != SYNC_OK)
        return rc;
    int ok = json_is_true(syncc_tw_sql_first_value(rows, "ok")) ||
             (json_is_string(syncc_tw_sql_first_value(rows, "ok")) && strcmp(json_string_value(syncc_tw_sql_first_value(rows, "ok")), "t") == 0);
    json_decref(rows);
    if (ok)
        return SYNC_OK;
    for (size_t i = 0; bookkeeping_ddl[i] && rc == SYNC_OK; i++)
        rc = pgq(tw, bookkeeping_ddl[i], NULL, 0, NULL);
    if (rc != SYNC_OK) {
        char e2[sizeof(tw->err)];
        snprintf(e2, sizeof(e2), "the two-way tables in schema \"syncengine\" are missing and could not be created "
                 "(%s); create them as the database owner (conf/crm.sql has them)", tw->err);
        snprintf(tw->err, sizeof(tw->err), "%s", e2);
        return rc;
    }
    syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = tw->rt->conf->name, .run_id = tw->run_id},
              "created the two-way tables in schema \"syncengine\" (sync_links, sync_conflicts, sync_twoway_state)");
    return SYNC_OK;
}

int syncc_twoway_setup(syncc_engine *e, int print, int *failed)
{
    const syncc_instance *done[64];
    size_t n_done = 0;
    int handled = 0;
    *failed = 0;
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *rt = &e->jobs[j];
        const syncc_instance *in = rt->conf->sink;
        int seen = 0;
        if (rt->conf->direction == NULL || in == NULL || rt->sink == NULL)
            continue;
        for (size_t k = 0; k < n_done; k++)
            seen |= done[k] == in;
        if (seen)
            continue;
        if (n_done < sizeof(done) / sizeof(done[0]))
            done[n_done++] = in;
        handled++;
        if (print) {
            printf("-- two-way job '%s', sink '%s': the two-way tables\n", rt->conf->name, in->name);
            for (size_t i = 0; bookkeeping_ddl[i]; i++)
                printf("%s;\n", bookkeeping_ddl[i]);
            continue;
        }
        if (rt->sink->sink.query == NULL || rt->sink->sink.open == NULL) {
            fprintf(stderr, "syncengine: job '%s' is two-way, but the plugin '%s' of its sink '%s' cannot run "
                    "statements (it has no query operation)\n", rt->conf->name, rt->sink->def.name, in->name);
            *failed = 1;
            continue;
        }
        sync_ctx *ctx = syncc_ctx_new("setup", in->name, in->plugin_name);
        void *inst = NULL;
        if (ctx == NULL) {
            *failed = 1;
            return handled;
        }
        ctx->cancel = &e->stop;
        ctx->state = e->state;
        int rc = rt->sink->sink.open(ctx, in->config, &inst);
        for (size_t i = 0; rc == SYNC_OK && bookkeeping_ddl[i]; i++) {
            ctx->errbuf[0] = '\0';
            rc = rt->sink->sink.query(inst, bookkeeping_ddl[i], NULL, 0, NULL);
        }
        if (rc != SYNC_OK) {
            fprintf(stderr, "syncengine: setup of the two-way tables of job '%s' (sink '%s') failed: %s%s%s\n",
                    rt->conf->name, in->name, syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
            *failed = 1;
        } else {
            printf("two-way job '%s' (sink '%s'): its tables are in place (syncengine.sync_links, sync_conflicts, "
                   "sync_twoway_state)\n", rt->conf->name, in->name);
        }
        if (inst != NULL)
            rt->sink->sink.close(inst);
        syncc_ctx_free(ctx);
    }
    return handled;
}

int syncc_twoway_run(syncc_engine *e, syncc_job_rt *rt, const char *run_id, void *src_inst, sync_ctx *src_ctx,
                     void *snk_inst, sync_ctx *snk_ctx, json_t *streams_json, syncc_run_result *res)
{
    tw_run tw;
    int rc = SYNC_OK;
    syncc_job *job = rt->conf;

    memset(&tw, 0, sizeof(tw));
    tw.e = e;
    tw.rt = rt;
    tw.run_id = run_id;
    tw.src_inst = src_inst;
    tw.src_ctx = src_ctx;
    tw.snk_inst = snk_inst;
    tw.snk_ctx = snk_ctx;
    tw.res = res;
    tw.pull = strcmp(job->direction, "to_salesforce") != 0;
    tw.push = strcmp(job->direction, "to_database") != 0;
    if (syncc_tw_policy_parse(job->conflict_policy, &tw.policy) != 0)
        tw.policy = SYNCC_TW_NEWEST_WINS;
    tw.full_refresh = e->full_refresh || job->full_refresh;
    tw.streams_json = streams_json;
    if (rt->sink->sink.query == NULL) {
        snprintf(res->error, sizeof(res->error), "job '%s' is two-way, but the plugin '%s' of its sink cannot run "
                 "statements (it has no query operation)", job->name, rt->sink->def.name);
        return SYNC_E_UNSUPPORTED;
    }
    rc = ensure_bookkeeping(&tw);
    if (rc != SYNC_OK) {
        snprintf(res->error, sizeof(res->error), "%s", tw.err);
        return rc;
    }
    syncc_tw_push_run pr;
    memset(&pr, 0, sizeof(pr));
    for (size_t s = 0; s < rt->n_streams && !e->stop; s++) {
        if (syncc_tw_push_is(rt, s)) {
            /* mode push / append (core/twoway_push.c): only when the job pushes */
            if (tw.push)
                rc = syncc_tw_push_stream(e, rt, s, run_id, &pr, src_inst, src_ctx, snk_inst, snk_ctx, streams_json,
                                          res, tw.err, sizeof(tw.err));
        } else {
            rc = run_stream(&tw, s);
        }
        if (rc != SYNC_OK) {
            snprintf(res->error, sizeof(res->error), "stream '%s': %s", rt->streams[s].conf->name, tw.err);
            break;
        }
    }
    if (rc == SYNC_OK && e->stop) {
        rc = SYNC_E_CANCELLED;
        snprintf(res->error, sizeof(res->error), "stopped by signal");
    }
    syncc_tw_push_finish(rt, &pr, run_id, rc);
    if (tw.sfw_inst != NULL) {
        sync_run_info info;
        memset(&info, 0, sizeof(info));
        info.struct_size = sizeof(info);
        info.job = job->name;
        info.run_id = run_id;
        info.status = rc == SYNC_OK ? SYNC_RUN_SUCCESS : SYNC_RUN_FAILED;
        info.finished_at = syncc_time_now();
        rt->source->sink.finish(tw.sfw_inst, &info);
        rt->source->sink.close(tw.sfw_inst);
    }
    for (size_t i = 0; i < tw.n_opts; i++)
        syncc_config_free(tw.opts[i]);
    free(tw.opts);
    syncc_ctx_free(tw.sfw_ctx);
    return rc;
}
