/*
 * core/twoway_push.c - push-only streams of a two-way job (mode push and
 * mode append; core/twoway_push.h says what each does).
 *
 * Per run and stream:
 *   1. the table's column types, the links of the streams its references
 *      name (row key -> Salesforce Id), and for mode push its own links;
 *   2. the rows: mode push reads every row (the table is compared with its
 *      links: new rows, changed rows, rows gone); mode append reads the rows
 *      that have no link yet, in `order`, from the horizon on;
 *   3. Salesforce is written through the source plugin's sink in calls of up
 *      to 200 records: creates, updates by Id, deletes by Id;
 *   4. the links are written in the sink's database: created and updated
 *      records with the values pushed, failures with the error (retried when
 *      the row changes), deleted ones removed.
 * A create answered with DUPLICATE_VALUE means the record is there already (a
 * lost answer, retried; or made in Salesforce): it is linked.  A create whose
 * answer was lost is left for the next run, and with mode append nothing
 * after it is sent in this run, so the order holds.
 */
#include "twoway_push.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "hostapi.h"
#include "log.h"
#include "record.h"
#include "status.h"
#include "timeutil.h"
#include "twoway_map.h"
#include "sink_query.h"
#include "twoway_sql.h"

#define PP_CALL 200          /* records per Salesforce call */
#define PP_LINKS_CHUNK 2000  /* links per statement */
#define PP_MAX_KEYS 8

enum { PP_CREATE = 0, PP_UPDATE = 1, PP_DELETE = 2, PP_KINDS = 3 };

typedef struct pp_op {
    int kind;
    char *key;            /* the row's key (db_key) */
    const char *sf_id;    /* update, delete (borrowed from the links) */
    json_t *fields;       /* Salesforce field -> canonical value */
    json_t *types;        /* Salesforce field -> column type */
    json_t *synced;       /* column -> canonical value: the link's values once written */
    /* answer */
    int ok, dup, unanswered;
    char new_id[32];
    char error[512];
} pp_op;

typedef struct pp {
    syncc_engine *e;
    syncc_job_rt *rt;
    const char *run_id;
    syncc_tw_push_run *pr;
    void *src_inst, *snk_inst;
    sync_ctx *src_ctx, *snk_ctx;
    const syncc_stream *st;
    const syncc_tw_stream *map;
    syncc_log_ctx lc;
    int append;
    char table[300];
    char *keys[PP_MAX_KEYS];
    size_t n_keys;
    json_t *coltypes;
    int has_deleted_at;
    json_t **ref;         /* per column with via: that stream's db_key -> sf_id */
    json_t *links;        /* mode push: db_key -> {id, s} */
    char *err;
    size_t errlen;
    int stop_sending;     /* an unanswered create: nothing more is sent this run (order) */
    int64_t n_read, n_created, n_updated, n_deleted, n_failed, n_waiting, n_skipped, n_existing, n_unanswered;
} pp;

/* ------------------------------------------------------------------ helpers */

int syncc_tw_push_is(const syncc_job_rt *rt, size_t s)
{
    const char *m = rt->streams[s].conf->mode;
    return m != NULL && strcmp(m, "both") != 0;
}

/* Runs one statement through the sink; *rows (may be NULL) gets the answer's rows. */
static int pq(pp *p, const char *sql, const char *const *params, size_t n, json_t **rows)
{
    return syncc_sink_query(p->rt->sink, p->snk_inst, p->snk_ctx, sql, params, n, rows, p->err, p->errlen);
}

json_t *syncc_tw_canon(const json_t *v)
{
    char buf[64];
    if (v == NULL || json_is_null(v))
        return json_null();
    if (json_is_string(v))
        return json_string(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(v));
        return json_string(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
        return json_string(buf);
    }
    if (json_is_boolean(v))
        return json_string(json_is_true(v) ? "true" : "false");
    char *t = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_t *s = json_string(t ? t : "");
    free(t);
    return s;
}

/* The row's key: its key columns as text, joined by '/' (NULL when one is null). */
static char *row_key(pp *p, const json_t *row)
{
    size_t len = 0, cap = 64;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < p->n_keys; i++) {
        json_t *c = syncc_tw_canon(json_object_get(row, p->keys[i]));
        const char *s = json_string_value(c);
        if (s == NULL) {
            json_decref(c);
            free(out);
            return NULL;
        }
        size_t n = strlen(s);
        if (len + n + 2 > cap) {
            cap = 2 * (len + n + 2);
            char *o = realloc(out, cap);
            if (!o) {
                json_decref(c);
                free(out);
                return NULL;
            }
            out = o;
        }
        if (i > 0)
            out[len++] = '/';
        memcpy(out + len, s, n + 1);
        len += n;
        json_decref(c);
    }
    return out;
}

void syncc_tw_typed_value(const json_t *v, const char *coltype, sync_value *out)
{
    const char *s = json_string_value(v);
    memset(out, 0, sizeof(*out));
    if (s == NULL) {
        out->type = SYNC_TYPE_NULL;
        return;
    }
    if (coltype && (strncmp(coltype, "numeric", 7) == 0 || strcmp(coltype, "double precision") == 0 ||
                    strcmp(coltype, "real") == 0)) {
        char *end;
        double d = strtod(s, &end);
        if (*end == '\0') {
            out->type = SYNC_TYPE_FLOAT;
            out->u.f = d;
            return;
        }
    } else if (coltype && (strcmp(coltype, "integer") == 0 || strcmp(coltype, "bigint") == 0 ||
                           strcmp(coltype, "smallint") == 0)) {
        char *end;
        long long i = strtoll(s, &end, 10);
        if (*end == '\0') {
            out->type = SYNC_TYPE_INT;
            out->u.i = i;
            return;
        }
    } else if (coltype && strcmp(coltype, "boolean") == 0) {
        out->type = SYNC_TYPE_BOOL;
        out->u.b = strcmp(s, "true") == 0;
        return;
    } else if (coltype && (strcmp(coltype, "date") == 0 || strncmp(coltype, "timestamp", 9) == 0)) {
        int64_t us;
        int date_only = 0;
        if (syncc_time_parse(s, strlen(s), &us, &date_only) == 0) {
            const int64_t day = 86400 * INT64_C(1000000);
            if (strcmp(coltype, "date") == 0) {
                out->type = SYNC_TYPE_DATE;
                out->u.ts = us >= 0 ? us / day : -((-us + day - 1) / day);
            } else {
                out->type = SYNC_TYPE_TIMESTAMP;
                out->u.ts = us;
            }
            return;
        }
    }
    out->type = SYNC_TYPE_STRING;
    out->u.str.ptr = s;
    out->u.str.len = strlen(s);
}

/* ------------------------------------------------------------ the table */

static int load_catalog(pp *p)
{
    int rc = syncc_tw_sql_column_types(p->rt, p->snk_inst, p->snk_ctx, p->table, &p->coltypes, p->err, p->errlen);
    if (rc != SYNC_OK)
        return rc;
    if (!json_is_object(p->coltypes) || json_object_size(p->coltypes) == 0) {
        snprintf(p->err, p->errlen, "table %s has no columns", p->st->target);
        return SYNC_E_CONFIG;
    }
    for (size_t i = 0; i < p->n_keys; i++)
        if (!json_object_get(p->coltypes, p->keys[i])) {
            snprintf(p->err, p->errlen, "table %s has no column '%s' (the stream's key)", p->st->target, p->keys[i]);
            return SYNC_E_CONFIG;
        }
    for (size_t i = 0; i < p->map->n_cols; i++)
        if (!json_object_get(p->coltypes, p->map->cols[i].column)) {
            snprintf(p->err, p->errlen, "table %s has no column '%s' (mapped to %s)", p->st->target,
                     p->map->cols[i].column, p->map->cols[i].sf_field);
            return SYNC_E_CONFIG;
        }
    if (p->st->order && !json_object_get(p->coltypes, p->st->order)) {
        snprintf(p->err, p->errlen, "table %s has no column '%s' (option 'order')", p->st->target, p->st->order);
        return SYNC_E_CONFIG;
    }
    p->has_deleted_at = json_object_get(p->coltypes, "deleted_at") != NULL;
    return SYNC_OK;
}

/* The links of stream name: db_key -> sf_id (ids only), or db_key -> {id, s} (full). */
static int load_links(pp *p, const char *stream, int full, json_t **out)
{
    const char *params[2] = {p->rt->conf->name, stream};
    json_t *rows = NULL;
    int rc = pq(p, full ? "SELECT coalesce(jsonb_object_agg(db_key, jsonb_build_object('id', sf_id, 's', synced)), "
                          "'{}'::jsonb) AS links FROM syncengine.sync_links "
                          "WHERE job = $1 AND stream = $2 AND NOT deleted"
                        : "SELECT coalesce(jsonb_object_agg(db_key, sf_id), '{}'::jsonb) AS links "
                          "FROM syncengine.sync_links "
                          "WHERE job = $1 AND stream = $2 AND sf_id IS NOT NULL AND NOT deleted",
                   params, 2, &rows);
    if (rc != SYNC_OK)
        return rc;
    *out = json_incref(syncc_tw_sql_first_value(rows, "links"));
    json_decref(rows);
    if (!json_is_object(*out)) {
        json_decref(*out);
        *out = json_object();
    }
    return SYNC_OK;
}

/*
 * The values of row for Salesforce (field -> canonical value, references
 * translated) and for the link (column -> canonical value).  Returns 0, or 1
 * when a reference has no Salesforce record yet (*waiting_col names it).
 */
static int row_values(pp *p, const json_t *row, json_t **fields, json_t **types, json_t **synced,
                      const char **waiting_col)
{
    *fields = json_object();
    *types = json_object();
    *synced = json_object();
    for (size_t i = 0; i < p->map->n_cols; i++) {
        const syncc_tw_col *c = &p->map->cols[i];
        if (c->dir == SYNCC_TW_PULL)
            continue;
        json_t *v = syncc_tw_canon(json_object_get(row, c->column));
        json_object_set(*synced, c->column, v);
        if (c->via && json_is_string(v)) {
            json_t *id = json_object_get(p->ref[i], json_string_value(v));
            json_decref(v);
            if (!json_is_string(id)) {
                *waiting_col = c->column;
                return 1;
            }
            v = json_incref(id);
            json_object_set_new(*types, c->sf_field, json_string("text"));
        } else {
            json_object_set(*types, c->sf_field, json_object_get(p->coltypes, c->column));
        }
        json_object_set_new(*fields, c->sf_field, v);
    }
    return 0;
}

/* ------------------------------------------------------- Salesforce writes */

static int sfw_open(pp *p)
{
    syncc_tw_push_run *pr = p->pr;
    const syncc_instance *in = p->rt->conf->source;
    if (pr->sfw_inst != NULL)
        return SYNC_OK;
    if (pr->open_failed)
        return SYNC_E_UNSUPPORTED;
    if (!(p->rt->source->def.provides & SYNC_PROVIDES_SINK) || p->rt->source->sink.open == NULL) {
        snprintf(p->err, p->errlen, "plugin '%s' of [source %s] cannot write (it provides no sink)",
                 p->rt->source->def.name, in->name);
        pr->open_failed = 1;
        return SYNC_E_UNSUPPORTED;
    }
    pr->sfw_ctx = syncc_ctx_new(p->rt->conf->name, in->name, in->plugin_name);
    if (pr->sfw_ctx == NULL)
        return SYNC_E_NOMEM;
    pr->sfw_ctx->run_id = strdup(p->run_id);
    pr->sfw_ctx->cancel = &p->e->stop;
    pr->sfw_ctx->state = p->rt->plugin_state ? p->rt->plugin_state : p->e->state;
    int rc = p->rt->source->sink.open(pr->sfw_ctx, in->config, &pr->sfw_inst);
    if (rc != SYNC_OK) {
        snprintf(p->err, p->errlen, "salesforce '%s' failed to open for writing: %s%s%s", in->name,
                 syncc_strerror(rc), pr->sfw_ctx->errbuf[0] ? ": " : "", pr->sfw_ctx->errbuf);
        pr->sfw_inst = NULL;
        pr->open_failed = 1;
    }
    return rc;
}

/* The fields a kind of write sends, in order (NULL-terminated, borrowed names). */
static size_t kind_fields(pp *p, int kind, const char **out, size_t cap)
{
    size_t n = 0;
    if (kind != PP_CREATE)
        out[n++] = "Id";
    if (kind == PP_DELETE)
        return n;
    for (size_t i = 0; i < p->map->n_cols && n + 2 < cap; i++) {
        const syncc_tw_col *c = &p->map->cols[i];
        int dup = 0;
        if (c->dir == SYNCC_TW_PULL || (kind == PP_UPDATE && c->via))
            continue; /* a reference is what the record is: it is not updated */
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(out[k], c->sf_field) == 0;
        if (!dup)
            out[n++] = c->sf_field;
    }
    if (kind == PP_CREATE && p->st->external_id)
        out[n++] = p->st->external_id;
    out[n] = NULL;
    return n;
}

static int sfw_prepare(pp *p, int kind, const char **names, size_t n, void **state)
{
    const char *kv[3] = {"operation", kind == PP_CREATE ? "create" : "update", NULL};
    char where[300], cerr[512];
    snprintf(where, sizeof(where), "%s:%d", p->st->section->file, p->st->section->line);
    sync_config *opts = syncc_config_from_pairs(p->rt->source->def.target_options, kv, where, cerr, sizeof(cerr));
    if (opts == NULL) {
        snprintf(p->err, p->errlen, "%s", cerr);
        return SYNC_E_CONFIG;
    }
    sync_column *cols = calloc(n + 1, sizeof(*cols));
    if (!cols) {
        syncc_config_free(opts);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        cols[i].name = names[i];
    sync_target target = {.struct_size = sizeof(target), .job = p->rt->conf->name, .stream = p->st->name,
                          .name = p->st->object, .columns = cols, .n_columns = n, .options = opts,
                          .run_id = p->run_id};
    p->pr->sfw_ctx->errbuf[0] = '\0';
    syncc_ctx_set_stream(p->pr->sfw_ctx, p->st->name);
    int rc = p->rt->source->sink.prepare(p->pr->sfw_inst, &target, state);
    free(cols);
    if (rc != SYNC_OK) {
        snprintf(p->err, p->errlen, "Salesforce %s refused the fields to write: %s%s%s", p->st->object,
                 syncc_strerror(rc), p->pr->sfw_ctx->errbuf[0] ? ": " : "", p->pr->sfw_ctx->errbuf);
        syncc_config_free(opts);
        return rc;
    }
    sync_config **o = realloc(p->pr->opts, (p->pr->n_opts + 1) * sizeof(*o));
    if (!o) {
        syncc_config_free(opts);
        return SYNC_E_NOMEM;
    }
    p->pr->opts = o;
    o[p->pr->n_opts++] = opts;
    return SYNC_OK;
}

typedef struct pp_call {
    pp_op **ops;
    json_t *index;   /* record key -> position in ops */
} pp_call;

static void on_written(void *payload, const sync_record *rec, const char *remote_id, int created)
{
    pp_call *c = payload;
    json_t *i = rec && rec->key ? json_object_get(c->index, rec->key) : NULL;
    (void)created;
    if (i == NULL)
        return;
    pp_op *op = c->ops[json_integer_value(i)];
    op->ok = 1;
    snprintf(op->new_id, sizeof(op->new_id), "%s", remote_id);
}

/* What a refusal says: a duplicate (with the Id of the record it duplicates, when it names one). */
static void read_refusal(pp_op *op, const char *msg)
{
    const char *d = strstr(msg, "DUPLICATE_VALUE");
    if (op->kind == PP_CREATE && d != NULL) {
        op->dup = 1;
        const char *w = strstr(d, "record with id: ");
        if (w != NULL) {
            w += strlen("record with id: ");
            size_t n = 0;
            while (n < 18 && ((w[n] >= '0' && w[n] <= '9') || (w[n] >= 'a' && w[n] <= 'z') ||
                              (w[n] >= 'A' && w[n] <= 'Z')))
                n++;
            if (n == 15 || n == 18)
                snprintf(op->new_id, sizeof(op->new_id), "%.*s", (int)n, w);
        }
        return;
    }
    snprintf(op->error, sizeof(op->error), "%s", msg);
}

/* Sends ops (all of one kind) in calls of PP_CALL; each op gets its answer. */
static int sf_send(pp *p, int kind, pp_op **ops, size_t n)
{
    const char *names[64];
    size_t n_names;
    void *state = NULL;
    int rc;
    sync_ctx *ctx;

    if (n == 0 || p->stop_sending)
        return SYNC_OK;
    if ((rc = sfw_open(p)) != SYNC_OK)
        return rc;
    ctx = p->pr->sfw_ctx;
    n_names = kind_fields(p, kind, names, sizeof(names) / sizeof(names[0]));
    if (kind == PP_UPDATE && n_names < 2)
        return SYNC_OK; /* nothing that can change */
    if ((rc = sfw_prepare(p, kind, names, n_names, &state)) != SYNC_OK)
        return rc;
    for (size_t start = 0; start < n && rc == SYNC_OK && !p->stop_sending; start += PP_CALL) {
        size_t end = start + PP_CALL < n ? start + PP_CALL : n;
        sync_batch *b = syncc_batch_new();
        pp_call call = {ops + start, json_object()};
        if (!b || !call.index) {
            syncc_batch_free(b);
            json_decref(call.index);
            return SYNC_E_NOMEM;
        }
        for (size_t i = start; i < end; i++) {
            pp_op *op = ops[i];
            sync_record *rec = syncc_batch_add(b, op->key, strlen(op->key),
                                               kind == PP_DELETE ? SYNC_OP_DELETE : SYNC_OP_UPSERT);
            json_object_set_new(call.index, op->key, json_integer((json_int_t)(i - start)));
            for (size_t c = 0; rec && c < n_names; c++) {
                sync_value v;
                if (strcmp(names[c], "Id") == 0) {
                    v.type = SYNC_TYPE_STRING;
                    v.u.str.ptr = op->sf_id;
                    v.u.str.len = strlen(op->sf_id);
                } else if (kind == PP_CREATE && p->st->external_id && strcmp(names[c], p->st->external_id) == 0) {
                    v.type = SYNC_TYPE_STRING;
                    v.u.str.ptr = op->key;
                    v.u.str.len = strlen(op->key);
                } else {
                    syncc_tw_typed_value(json_object_get(op->fields, names[c]),
                                json_string_value(json_object_get(op->types, names[c])), &v);
                }
                syncc_record_set(rec, names[c], &v);
            }
        }
        sync_write_result wr;
        memset(&wr, 0, sizeof(wr));
        ctx->on_written = on_written;
        ctx->on_written_payload = &call;
        ctx->errbuf[0] = '\0';
        rc = p->rt->source->sink.write(p->pr->sfw_inst, state, b, NULL, &wr);
        ctx->on_written = NULL;
        if (rc != SYNC_OK)
            snprintf(p->err, p->errlen, "writing %s to Salesforce: %s%s%s", p->st->object, syncc_strerror(rc),
                     ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        pthread_mutex_lock(&ctx->lock);
        int complete = ctx->n_rejected <= (int64_t)SYNCC_MAX_REJECT_DETAILS;
        for (size_t i = start; i < end; i++) {
            pp_op *op = ops[i];
            const char *msg = NULL;
            if (op->ok)
                continue;
            for (size_t j = 0; j < ctx->n_rejects; j++)
                if (strcmp(ctx->rejects[j].key, op->key) == 0)
                    msg = ctx->rejects[j].message;
            if (kind == PP_DELETE && rc == SYNC_OK && msg == NULL && complete) {
                op->ok = 1; /* deletes are not reported as written: what was not refused went through */
            } else if (msg != NULL && (strstr(msg, "salesforce refused to") != NULL ||
                                       strncmp(msg, "refused before sending: ", 24) == 0 ||
                                       strncmp(msg, "cannot ", 7) == 0)) {
                /* Salesforce's answer, or the sink's own refusal of a record it never sent */
                read_refusal(op, msg);
            } else {
                /* no answer for it (lost, or the call failed): not known to be written */
                op->unanswered = 1;
                snprintf(op->error, sizeof(op->error), "%s", msg ? msg : "not answered");
            }
        }
        for (size_t j = 0; j < ctx->n_rejects; j++) {
            free(ctx->rejects[j].key);
            free(ctx->rejects[j].stream);
            free(ctx->rejects[j].message);
        }
        ctx->n_rejects = 0;
        ctx->n_rejected = 0;
        pthread_mutex_unlock(&ctx->lock);
        for (size_t i = start; i < end; i++)
            if (ops[i]->unanswered && kind == PP_CREATE && p->append)
                p->stop_sending = 1;
        syncc_batch_free(b);
        json_decref(call.index);
    }
    if (rc != SYNC_OK) {
        /* the call failed as a whole: what has no answer waits for the next run */
        for (size_t i = 0; i < n; i++)
            if (!ops[i]->ok && !ops[i]->dup && ops[i]->error[0] == '\0')
                ops[i]->unanswered = 1;
    }
    return rc;
}

/* ------------------------------------- looking up records that exist already */

typedef struct lookup {
    pp *p;
    const char **fields;   /* the reference fields that identify a record */
    size_t n_fields;
    json_t *found;         /* signature -> Id */
} lookup;

/* The signature of a record: its identifying fields' values, joined by '|'. */
static void sig_append(char *buf, size_t size, size_t *len, const char *s)
{
    int n = snprintf(buf + *len, size > *len ? size - *len : 0, "%s%s", *len ? "|" : "", s ? s : "");
    if (n > 0)
        *len += (size_t)n;
}

static int lookup_deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    lookup *l = em->payload;
    for (size_t r = 0; r < full->n_records; r++) {
        const sync_record *rec = full->records[r];
        char sig[512], text[64];
        size_t len = 0;
        if (rec->op == SYNC_OP_DELETE || rec->key == NULL)
            continue;
        for (size_t f = 0; f < l->n_fields; f++) {
            long k = syncc_record_find(rec, l->fields[f], f);
            size_t tl = 0;
            if (k < 0 || syncc_value_to_text(&rec->fields[k].value, text, sizeof(text), &tl) != 0)
                text[0] = '\0';
            sig_append(sig, sizeof(sig), &len, text);
        }
        json_object_set_new(l->found, sig, json_string(rec->key));
    }
    syncc_batch_reset(full);
    *next = full;
    return SYNC_OK;
}

/*
 * Finds the Ids of created records that Salesforce called duplicates without
 * naming the record (CampaignMember: "Already a campaign member."): the
 * object is read for the references pushed, and records pushed with the same
 * references are the ones.
 */
static int lookup_existing(pp *p, pp_op **ops, size_t n)
{
    const char *fields[16];
    size_t n_fields = 0;
    int rc = SYNC_OK;

    for (size_t i = 0; i < p->map->n_cols && n_fields < 14; i++)
        if (p->map->cols[i].via && p->map->cols[i].dir != SYNCC_TW_PULL)
            fields[n_fields++] = p->map->cols[i].sf_field;
    if (n_fields == 0)
        return SYNC_OK;
    for (size_t start = 0; start < n && rc == SYNC_OK; start += 100) {
        size_t end = start + 100 < n ? start + 100 : n;
        size_t cap = 256 + (end - start) * n_fields * 24, len = 0;
        char *where = malloc(cap);
        if (!where)
            return SYNC_E_NOMEM;
        where[0] = '\0';
        for (size_t f = 0; f < n_fields; f++) {
            len += (size_t)snprintf(where + len, cap - len, "%s%s IN (", f ? " AND " : "", fields[f]);
            for (size_t i = start; i < end; i++) {
                const char *v = json_string_value(json_object_get(ops[i]->fields, fields[f]));
                /* references are Salesforce Ids: letters and digits only, anything else is left out */
                int ok = v != NULL && *v != '\0' && strlen(v) <= 18;
                for (const char *c = v; ok && *c; c++)
                    ok = (*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z');
                len += (size_t)snprintf(where + len, cap - len, "%s'%s'", i > start ? "," : "", ok ? v : "");
            }
            len += (size_t)snprintf(where + len, cap - len, ")");
        }
        const char *kv[3] = {"where", where, NULL};
        char cerr[512];
        sync_config *opts = syncc_config_from_pairs(p->rt->source->def.stream_options, kv, p->st->name, cerr,
                                                    sizeof(cerr));
        free(where);
        if (!opts) {
            snprintf(p->err, p->errlen, "looking up existing %s records: %s", p->st->object, cerr);
            return SYNC_E_CONFIG;
        }
        const char *req_fields[18];
        req_fields[0] = "Id";
        req_fields[1] = "SystemModstamp";
        for (size_t f = 0; f < n_fields; f++)
            req_fields[2 + f] = fields[f];
        lookup l = {p, fields, n_fields, json_object()};
        sync_stream_request req;
        sync_emitter em;
        memset(&req, 0, sizeof(req));
        req.struct_size = sizeof(req);
        req.stream = p->st->object;
        req.fields = req_fields;
        req.n_fields = n_fields + 2;
        req.options = opts;
        req.batch_size = (size_t)p->rt->conf->batch_size;
        memset(&em, 0, sizeof(em));
        em.batch = syncc_batch_new();
        em.stream = p->st->name;
        em.deliver = lookup_deliver;
        em.payload = &l;
        syncc_ctx_set_stream(p->src_ctx, p->st->name);
        p->src_ctx->errbuf[0] = '\0';
        rc = em.batch ? p->rt->source->source.read(p->src_inst, &req, &em) : SYNC_E_NOMEM;
        if (rc == SYNC_OK && em.batch && em.batch->n_records > 0)
            rc = syncc_host()->emit(&em, NULL);
        syncc_batch_free(em.batch);
        syncc_config_free(opts);
        if (rc != SYNC_OK) {
            snprintf(p->err, p->errlen, "looking up existing %s records: %s%s%s", p->st->object, syncc_strerror(rc),
                     p->src_ctx->errbuf[0] ? ": " : "", p->src_ctx->errbuf);
        } else {
            for (size_t i = start; i < end; i++) {
                char sig[512];
                size_t slen = 0;
                for (size_t f = 0; f < n_fields; f++)
                    sig_append(sig, sizeof(sig), &slen, json_string_value(json_object_get(ops[i]->fields, fields[f])));
                const char *id = json_string_value(json_object_get(l.found, sig));
                if (id)
                    snprintf(ops[i]->new_id, sizeof(ops[i]->new_id), "%s", id);
            }
        }
        json_decref(l.found);
    }
    return rc;
}

/* ---------------------------------------------------------------- links */

/* Writes entries [{a: u|d, k, id, s}] into the links, in chunks. */
static int write_links(pp *p, json_t *entries)
{
    size_t n = json_array_size(entries);
    for (size_t start = 0; start < n; start += PP_LINKS_CHUNK) {
        json_t *chunk = json_array();
        for (size_t i = start; i < n && i < start + PP_LINKS_CHUNK; i++)
            json_array_append(chunk, json_array_get(entries, i));
        char *text = json_dumps(chunk, JSON_COMPACT);
        json_decref(chunk);
        if (!text)
            return SYNC_E_NOMEM;
        const char *params[3] = {p->rt->conf->name, p->st->name, text};
        int rc = pq(p,
                    "WITH x AS (SELECT e->>'a' AS a, e->>'k' AS k, e->>'id' AS id, coalesce(e->'s', '{}'::jsonb) AS s "
                    "FROM jsonb_array_elements($3::jsonb) e), "
                    "gone AS (DELETE FROM syncengine.sync_links l USING x WHERE x.a = 'd' AND l.job = $1 "
                    "AND l.stream = $2 AND l.db_key = x.k) "
                    "INSERT INTO syncengine.sync_links (job, stream, db_key, sf_id, synced) "
                    "SELECT $1, $2, k, id, s FROM x WHERE a = 'u' "
                    "ON CONFLICT (job, stream, db_key) DO UPDATE SET sf_id = excluded.sf_id, synced = excluded.synced, "
                    "deleted = false, synced_at = now()",
                    params, 3, NULL);
        free(text);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

/* ------------------------------------------------------------ one stream */

static void op_free(pp_op *op)
{
    if (!op)
        return;
    free(op->key);
    json_decref(op->fields);
    json_decref(op->types);
    json_decref(op->synced);
    free(op);
}

static int ops_push(pp_op ***arr, size_t *n, size_t *cap, pp_op *op)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 256;
        pp_op **a = realloc(*arr, c * sizeof(*a));
        if (!a)
            return -1;
        *arr = a;
        *cap = c;
    }
    (*arr)[(*n)++] = op;
    return 0;
}

/* The rows to push: mode push every live row; mode append the unlinked rows from the horizon on. */
static int read_rows(pp *p, json_t **rows_out, char **cutoff_out, int *first_out)
{
    char sql[2048], keylist[1024] = "", keyexpr[1024] = "", order[300] = "";
    size_t kl = 0, ke = 0;
    json_t *rows = NULL;
    int rc;

    for (size_t i = 0; i < p->n_keys; i++) {
        char q[300];
        syncc_tw_sql_quote_ident(p->keys[i], q, sizeof(q), 0);
        kl += (size_t)snprintf(keylist + kl, sizeof(keylist) - kl, "%st.%s", i ? ", " : "", q);
        ke += (size_t)snprintf(keyexpr + ke, sizeof(keyexpr) - ke, "%st.%s::text", i ? " || '/' || " : "", q);
    }
    *cutoff_out = NULL;
    *first_out = 0;
    if (!p->append) {
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY %s), '[]'::jsonb) AS rows FROM %s t%s", keylist,
                 p->table, p->has_deleted_at ? " WHERE t.deleted_at IS NULL" : "");
        if ((rc = pq(p, sql, NULL, 0, &rows)) != SYNC_OK)
            return rc;
        *rows_out = json_incref(syncc_tw_sql_first_value(rows, "rows"));
        json_decref(rows);
        return SYNC_OK;
    }

    /* append: the horizon is fixed by the first sync and kept as the stream's position */
    {
        const char *params[2] = {p->rt->conf->name, p->st->name};
        if ((rc = pq(p, "SELECT db_cursor FROM syncengine.sync_twoway_state WHERE job = $1 AND stream = $2", params, 2,
                     &rows)) != SYNC_OK)
            return rc;
        *first_out = json_array_size(rows) == 0;
        const char *c = json_string_value(syncc_tw_sql_first_value(rows, "db_cursor"));
        *cutoff_out = c ? strdup(c) : NULL;
        json_decref(rows);
    }
    if (p->st->order)
        syncc_tw_sql_quote_ident(p->st->order, order, sizeof(order), 0);
    if (*first_out && p->st->horizon_ms > 0) {
        char interval[64];
        snprintf(interval, sizeof(interval), "%lld milliseconds", (long long)p->st->horizon_ms);
        const char *params[3] = {p->rt->conf->name, p->st->name, interval};
        snprintf(sql, sizeof(sql),
                 "SELECT to_char((now() - $3::interval) AT TIME ZONE 'UTC', "
                 "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS cutoff, "
                 "(SELECT count(*) FROM %s t WHERE t.%s < now() - $3::interval AND NOT EXISTS (SELECT 1 FROM "
                 "syncengine.sync_links l WHERE l.job = $1 AND l.stream = $2 AND l.db_key = %s)) AS skipped",
                 p->table, order, keyexpr);
        if ((rc = pq(p, sql, params, 3, &rows)) != SYNC_OK)
            return rc;
        const char *c = json_string_value(syncc_tw_sql_first_value(rows, "cutoff"));
        free(*cutoff_out);
        *cutoff_out = c ? strdup(c) : NULL;
        json_t *sk = syncc_tw_sql_first_value(rows, "skipped");
        p->n_skipped = json_is_integer(sk) ? json_integer_value(sk)
                       : json_is_string(sk) ? strtoll(json_string_value(sk), NULL, 10) : 0;
        json_decref(rows);
    }
    {
        const char *params[3] = {p->rt->conf->name, p->st->name, *cutoff_out};
        char horizon[400] = "";
        if (p->st->order)
            snprintf(horizon, sizeof(horizon), " AND ($3::timestamptz IS NULL OR t.%s >= $3::timestamptz)", order);
        snprintf(sql, sizeof(sql),
                 "SELECT coalesce(jsonb_agg(to_jsonb(t) ORDER BY %s%s%s%s), '[]'::jsonb) AS rows FROM %s t "
                 "WHERE NOT EXISTS (SELECT 1 FROM syncengine.sync_links l WHERE l.job = $1 AND l.stream = $2 "
                 "AND l.db_key = %s)%s",
                 p->st->order ? "t." : "", order, p->st->order ? ", " : "", keylist, p->table, keyexpr, horizon);
        if ((rc = pq(p, sql, params, p->st->order ? 3 : 2, &rows)) != SYNC_OK)
            return rc;
        *rows_out = json_incref(syncc_tw_sql_first_value(rows, "rows"));
        json_decref(rows);
    }
    return SYNC_OK;
}

static int run(pp *p)
{
    json_t *rows = NULL, *seen = NULL, *held = NULL, *entries = NULL;
    char *cutoff = NULL;
    int first = 0, rc;
    pp_op **all = NULL, **by_kind[PP_KINDS] = {NULL, NULL, NULL};
    size_t n_all = 0, cap_all = 0, n_kind[PP_KINDS] = {0, 0, 0}, cap_kind[PP_KINDS] = {0, 0, 0};
    size_t i;
    json_t *row;

    if ((rc = load_catalog(p)) != SYNC_OK)
        goto out;
    for (i = 0; i < p->map->n_cols; i++)
        if (p->map->cols[i].via && (rc = load_links(p, p->map->cols[i].via, 0, &p->ref[i])) != SYNC_OK)
            goto out;
    if (!p->append && (rc = load_links(p, p->st->name, 1, &p->links)) != SYNC_OK)
        goto out;
    if ((rc = read_rows(p, &rows, &cutoff, &first)) != SYNC_OK)
        goto out;
    p->n_read = (int64_t)json_array_size(rows);
    seen = json_object();
    held = json_object();   /* append: first-reference values whose later rows wait */
    entries = json_array();

    /* the first reference orders an append stream (a contact's events) */
    size_t group_col = (size_t)-1;
    for (i = 0; i < p->map->n_cols && group_col == (size_t)-1; i++)
        if (p->map->cols[i].via)
            group_col = i;

    json_array_foreach(rows, i, row) {
        char *key = row_key(p, row);
        json_t *fields = NULL, *types = NULL, *synced = NULL;
        const char *waiting = NULL;
        json_t *group =
            group_col != (size_t)-1 ? syncc_tw_canon(json_object_get(row, p->map->cols[group_col].column)) : NULL;
        const char *gk = json_string_value(group);
        if (key == NULL) {
            json_decref(group);
            continue; /* a row without a key cannot be linked */
        }
        json_object_set_new(seen, key, json_true());
        if (p->append && gk && json_object_get(held, gk)) {
            p->n_waiting++;
            free(key);
            json_decref(group);
            continue;
        }
        if (row_values(p, row, &fields, &types, &synced, &waiting)) {
            p->n_waiting++;
            if (p->append && gk)
                json_object_set_new(held, gk, json_true());
            syncc_log(SYNC_LOG_DEBUG, &p->lc, "row %s waits: its %s has no Salesforce record yet", key, waiting);
            free(key);
            json_decref(fields);
            json_decref(types);
            json_decref(synced);
            json_decref(group);
            continue;
        }
        json_decref(group);
        json_t *link = p->links ? json_object_get(p->links, key) : NULL;
        int kind = PP_CREATE;
        if (link) {
            json_t *s = json_object_get(link, "s");
            int failed = json_object_get(s, "_error") != NULL;
            json_t *vals = json_deep_copy(s);
            json_object_del(vals, "_error");
            int same = json_equal(vals, synced);
            json_decref(vals);
            (void)failed;
            if (same) {
                free(key);
                json_decref(fields);
                json_decref(types);
                json_decref(synced);
                continue; /* as last pushed (or refused as it is) */
            }
            kind = json_is_string(json_object_get(link, "id")) ? PP_UPDATE : PP_CREATE;
        }
        pp_op *op = calloc(1, sizeof(*op));
        if (!op) {
            free(key);
            rc = SYNC_E_NOMEM;
            goto out;
        }
        op->kind = kind;
        op->key = key;
        op->sf_id = link ? json_string_value(json_object_get(link, "id")) : NULL;
        op->fields = fields;
        op->types = types;
        op->synced = synced;
        if (ops_push(&all, &n_all, &cap_all, op) < 0) {
            op_free(op);
            rc = SYNC_E_NOMEM;
            goto out;
        }
        if (ops_push(&by_kind[kind], &n_kind[kind], &cap_kind[kind], op) < 0) {
            rc = SYNC_E_NOMEM; /* op is freed with all */
            goto out;
        }
    }
    /* rows gone (deleted, hard or soft): their records are deleted */
    if (p->links) {
        const char *k;
        json_t *l;
        json_object_foreach(p->links, k, l) {
            if (json_object_get(seen, k))
                continue;
            pp_op *op = calloc(1, sizeof(*op));
            if (!op || !(op->key = strdup(k))) {
                free(op);
                rc = SYNC_E_NOMEM;
                goto out;
            }
            op->sf_id = json_string_value(json_object_get(l, "id"));
            if (op->sf_id == NULL) {
                /* never reached Salesforce: only the link goes */
                json_array_append_new(entries, json_pack("{s:s, s:s}", "a", "d", "k", k));
                op_free(op);
                continue;
            }
            op->kind = PP_DELETE;
            if (ops_push(&all, &n_all, &cap_all, op) < 0) {
                op_free(op);
                rc = SYNC_E_NOMEM;
                goto out;
            }
            if (ops_push(&by_kind[PP_DELETE], &n_kind[PP_DELETE], &cap_kind[PP_DELETE], op) < 0) {
                rc = SYNC_E_NOMEM; /* op is freed with all */
                goto out;
            }
        }
    }

    /* Salesforce: deletes first (a membership removed and added again), then creates, then updates */
    rc = sf_send(p, PP_DELETE, by_kind[PP_DELETE], n_kind[PP_DELETE]);
    if (rc == SYNC_OK)
        rc = sf_send(p, PP_CREATE, by_kind[PP_CREATE], n_kind[PP_CREATE]);
    if (rc == SYNC_OK)
        rc = sf_send(p, PP_UPDATE, by_kind[PP_UPDATE], n_kind[PP_UPDATE]);
    {
        /* duplicates that did not name the record: looked up */
        pp_op **dups = calloc(n_kind[PP_CREATE] + 1, sizeof(*dups));
        size_t n_dups = 0;
        for (i = 0; dups && i < n_kind[PP_CREATE]; i++)
            if (by_kind[PP_CREATE][i]->dup && by_kind[PP_CREATE][i]->new_id[0] == '\0')
                dups[n_dups++] = by_kind[PP_CREATE][i];
        int lrc = rc == SYNC_OK && n_dups > 0 ? lookup_existing(p, dups, n_dups) : SYNC_OK;
        free(dups);
        if (rc == SYNC_OK)
            rc = lrc;
    }

    /* what the answers say, into the links (also when the run stops: what was written is kept) */
    for (i = 0; i < n_all; i++) {
        pp_op *op = all[i];
        if (op->kind == PP_DELETE) {
            if (op->ok) {
                p->n_deleted++;
                json_array_append_new(entries, json_pack("{s:s, s:s}", "a", "d", "k", op->key));
            } else if (op->error[0] && !op->unanswered) {
                p->n_failed++;
                syncc_log(SYNC_LOG_WARN, &p->lc, "row %s: Salesforce refused to delete %s %s: %s", op->key,
                          p->st->object, op->sf_id, op->error);
            }
            continue;
        }
        if (op->ok || (op->dup && op->new_id[0])) {
            if (op->ok && op->kind == PP_CREATE)
                p->n_created++;
            else if (op->ok)
                p->n_updated++;
            else
                p->n_existing++;
            if (op->dup)
                syncc_log(SYNC_LOG_INFO, &p->lc, "row %s: %s %s exists already (DUPLICATE_VALUE): linked", op->key,
                          p->st->object, op->new_id);
            json_array_append_new(entries, json_pack("{s:s, s:s, s:s, s:O}", "a", "u", "k", op->key, "id",
                                                     op->kind == PP_CREATE ? op->new_id : op->sf_id, "s",
                                                     op->synced));
        } else if (op->unanswered || op->dup) {
            p->n_unanswered++;
            p->n_failed++;
            syncc_log(SYNC_LOG_WARN, &p->lc, "row %s: the %s of the %s record is not confirmed (%s); the next run "
                      "tries again, safely", op->key, op->kind == PP_CREATE ? "create" : "update", p->st->object,
                      op->dup ? "a duplicate that could not be found" : op->error);
        } else if (op->error[0]) {
            p->n_failed++;
            syncc_log(SYNC_LOG_WARN, &p->lc, "row %s: %s", op->key, op->error);
            /* refused as it is: kept with the error, tried again when the row changes */
            json_t *s = json_deep_copy(op->synced);
            json_object_set_new(s, "_error", json_string(op->error));
            json_t *e = json_pack("{s:s, s:s, s:o}", "a", "u", "k", op->key, "s", s);
            if (op->sf_id)
                json_object_set_new(e, "id", json_string(op->sf_id));
            json_array_append_new(entries, e);
        } else if (p->stop_sending) {
            p->n_waiting++; /* not sent: after an unconfirmed create, the order waits for the next run */
        }
    }
    if (p->n_waiting > 0)
        syncc_log(SYNC_LOG_INFO, &p->lc, "%lld row(s) wait for a later run (a record they refer to is not in "
                  "Salesforce yet, or an earlier row of theirs is not confirmed)", (long long)p->n_waiting);
    {
        int wrc = json_array_size(entries) > 0 ? write_links(p, entries) : SYNC_OK;
        if (rc == SYNC_OK)
            rc = wrc;
    }
    if (rc == SYNC_OK && p->append && first) {
        const char *params[3] = {p->rt->conf->name, p->st->name, cutoff};
        rc = pq(p, "INSERT INTO syncengine.sync_twoway_state (job, stream, db_cursor) VALUES ($1, $2, $3) "
                   "ON CONFLICT (job, stream) DO UPDATE SET db_cursor = excluded.db_cursor, updated_at = now()",
                params, 3, NULL);
        if (p->n_skipped > 0)
            syncc_log(SYNC_LOG_INFO, &p->lc, "first sync: %lld row(s) older than the horizon skipped", (long long)
                      p->n_skipped);
    }
out:
    for (i = 0; i < n_all; i++)
        op_free(all[i]);
    free(all);
    for (int k = 0; k < PP_KINDS; k++)
        free(by_kind[k]);
    json_decref(rows);
    json_decref(seen);
    json_decref(held);
    json_decref(entries);
    free(cutoff);
    return rc;
}

int syncc_tw_push_stream(syncc_engine *e, syncc_job_rt *rt, size_t s, const char *run_id, syncc_tw_push_run *pr,
                         void *src_inst, sync_ctx *src_ctx, void *snk_inst, sync_ctx *snk_ctx, json_t *streams_json,
                         syncc_run_result *res, char *err, size_t errlen)
{
    pp p;
    int rc;
    memset(&p, 0, sizeof(p));
    p.e = e;
    p.rt = rt;
    p.run_id = run_id;
    p.pr = pr;
    p.src_inst = src_inst;
    p.src_ctx = src_ctx;
    p.snk_inst = snk_inst;
    p.snk_ctx = snk_ctx;
    p.st = rt->streams[s].conf;
    p.map = rt->streams[s].twoway;
    p.append = strcmp(p.st->mode, "append") == 0;
    p.lc = (syncc_log_ctx){.job = rt->conf->name, .stream = p.st->name, .run_id = run_id};
    p.err = err;
    p.errlen = errlen;
    err[0] = '\0';
    syncc_tw_sql_quote_ident(p.st->target, p.table, sizeof(p.table), 1);
    {
        /* key = a, b: a key of several columns */
        char *copy = strdup(p.st->key), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ", ", &save) : NULL; t && p.n_keys < PP_MAX_KEYS;
             t = strtok_r(NULL, ", ", &save))
            p.keys[p.n_keys++] = strdup(t);
        free(copy);
    }
    p.ref = calloc(p.map->n_cols + 1, sizeof(*p.ref));
    rc = p.ref && p.n_keys > 0 ? run(&p) : SYNC_E_NOMEM;

    json_t *sj = json_object();
    json_object_set_new(sj, "object", json_string(p.st->object));
    json_object_set_new(sj, "mode", json_string(p.st->mode));
    json_object_set_new(sj, "table_read", json_integer(p.n_read));
    json_object_set_new(sj, "created", json_integer(p.n_created));
    json_object_set_new(sj, "updated", json_integer(p.n_updated));
    json_object_set_new(sj, "deleted", json_integer(p.n_deleted));
    json_object_set_new(sj, "existing", json_integer(p.n_existing));
    json_object_set_new(sj, "waiting", json_integer(p.n_waiting));
    json_object_set_new(sj, "skipped", json_integer(p.n_skipped));
    json_object_set_new(sj, "failed", json_integer(p.n_failed));
    if (rc != SYNC_OK)
        json_object_set_new(sj, "error", json_string(err));
    json_object_set_new(streams_json, p.st->name, sj);
    syncc_log(rc == SYNC_OK ? SYNC_LOG_INFO : SYNC_LOG_ERROR, &p.lc,
              "%s: %lld row(s) read; %s %lld created, %lld updated, %lld deleted, %lld linked to records that "
              "existed, %lld waiting, %lld skipped (horizon), %lld failed%s%s",
              rc == SYNC_OK ? "done" : "stopped", (long long)p.n_read, p.st->object, (long long)p.n_created,
              (long long)p.n_updated, (long long)p.n_deleted, (long long)p.n_existing, (long long)p.n_waiting,
              (long long)p.n_skipped, (long long)p.n_failed, rc == SYNC_OK ? "" : ": ", rc == SYNC_OK ? "" : err);
    res->processed += p.n_read;
    res->inserted += p.n_created;
    res->updated += p.n_updated + p.n_existing;
    res->deleted += p.n_deleted;
    res->failed += p.n_failed;

    for (size_t i = 0; p.ref && i < p.map->n_cols; i++)
        json_decref(p.ref[i]);
    free(p.ref);
    for (size_t i = 0; i < p.n_keys; i++)
        free(p.keys[i]);
    json_decref(p.coltypes);
    json_decref(p.links);
    return rc;
}

void syncc_tw_push_finish(syncc_job_rt *rt, syncc_tw_push_run *pr, const char *run_id, int status)
{
    if (pr->sfw_inst != NULL) {
        sync_run_info info;
        memset(&info, 0, sizeof(info));
        info.struct_size = sizeof(info);
        info.job = rt->conf->name;
        info.run_id = run_id;
        info.status = status == SYNC_OK ? SYNC_RUN_SUCCESS : SYNC_RUN_FAILED;
        info.finished_at = syncc_time_now();
        rt->source->sink.finish(pr->sfw_inst, &info);
        rt->source->sink.close(pr->sfw_inst);
        pr->sfw_inst = NULL;
    }
    for (size_t i = 0; i < pr->n_opts; i++)
        syncc_config_free(pr->opts[i]);
    free(pr->opts);
    pr->opts = NULL;
    pr->n_opts = 0;
    syncc_ctx_free(pr->sfw_ctx);
    pr->sfw_ctx = NULL;
}
