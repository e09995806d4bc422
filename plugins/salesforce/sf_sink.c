/*
 * sf_sink.c - the sink role of the Salesforce connector (see sf_sink.h):
 * preparing a target against the object's describe, turning mapped records
 * into sObject Collections calls, and reading back each record's outcome.
 */
#include "sf_sink.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "sf_api.h"
#include "sf_buf.h"
#include "sf_collections.h"
#include "sf_convert.h"
#include "sf_describe.h"
#include "sf_soql.h"

typedef enum sf_mode {
    SF_MODE_AUTO = 0,
    SF_MODE_UPSERT,
    SF_MODE_CREATE,
    SF_MODE_UPDATE
} sf_mode;

/* One mapped column, in the order records carry their fields. */
typedef struct sf_col {
    char *name;      /* the field's API name as the describe spells it */
    sf_ftype type;
    int is_id;       /* the column Id: the record's Salesforce Id, never sent as a field */
    sf_fit fit;      /* what the field accepts (type, length, picklist) */
} sf_col;

typedef struct sf_target_state {
    struct sf_target_state *next;
    char *object;          /* canonical */
    char *stream;
    sf_mode mode;
    char *ext_field;       /* canonical external-id field, or NULL */
    long ext_col;          /* its column, or -1 (the record key is the value) */
    long id_col;           /* the Id column, or -1 */
    size_t per_call;
    sf_col *cols;
    size_t n_cols;
} sf_target_state;

/* One record on its way into a call. */
typedef struct sf_item {
    const sync_record *rec;
    json_t *body;          /* create, update, upsert */
    char *id;              /* update, delete: the Salesforce Id (owned) */
    char *ext;             /* delete by external id: the value to look up (owned) */
} sf_item;

const char *const sf_sink_operations[] = {"auto", "upsert", "create", "update", NULL};

/* --------------------------------------------------------------- options */

static sf_mode mode_of(const char *s)
{
    if (s == NULL || strcmp(s, "auto") == 0)
        return SF_MODE_AUTO;
    if (strcmp(s, "upsert") == 0)
        return SF_MODE_UPSERT;
    if (strcmp(s, "create") == 0)
        return SF_MODE_CREATE;
    return SF_MODE_UPDATE;
}

static const char *opt(const sync_config *cfg, const char *name)
{
    const char *v = cfg != NULL ? sf_host->config_get_string(cfg, name) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

/* ----------------------------------------------------------------- checks */

typedef void (*report_fn)(void *payload, const char *where, const char *msg);

typedef struct reporter {
    report_fn fn;
    void *payload;
    int problems;
} reporter;

static void problem(reporter *r, const char *where, const char *fmt, ...) SYNC_PRINTF(3, 4);

static void problem(reporter *r, const char *where, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    r->problems++;
    r->fn(r->payload, where, msg);
}

/* What the options say, offline: shared by check and prepare. */
static void check_options(reporter *r, const char *stream, const sync_config *opts, const sync_column *cols,
                          size_t n_cols, const char *const *col_where)
{
    sf_mode mode = mode_of(opt(opts, "operation"));
    const char *ext = opt(opts, "external_id");
    if (mode == SF_MODE_UPSERT && ext == NULL)
        problem(r, opts ? sf_host->config_where(opts, "operation") : NULL,
                "stream '%s': sink.operation = upsert needs sink.external_id, the external-id field records "
                "are matched by", stream);
    if (ext != NULL && !sf_soql_valid_name(ext, 0))
        problem(r, sf_host->config_where(opts, "external_id"),
                "stream '%s': sink.external_id \"%s\" is not a salesforce field name", stream, ext);
    if (ext != NULL && (mode == SF_MODE_CREATE || mode == SF_MODE_UPDATE))
        problem(r, sf_host->config_where(opts, "external_id"),
                "stream '%s': sink.external_id is only used with sink.operation = upsert or auto", stream);
    int has_id = 0;
    for (size_t i = 0; i < n_cols; i++) {
        const char *where = col_where != NULL ? col_where[i] : NULL;
        if (!sf_soql_valid_name(cols[i].name, 0))
            problem(r, where, "stream '%s': column '%s' is not a salesforce field name (letters, digits and _)",
                    stream, cols[i].name);
        if (strcasecmp(cols[i].name, "Id") == 0)
            has_id = 1;
    }
    if (mode == SF_MODE_CREATE && has_id)
        problem(r, NULL, "stream '%s': sink.operation = create cannot write the column Id (salesforce assigns it)",
                stream);
}

/*
 * Checks the columns against the object's describe and fills ts (when not
 * NULL).  Every problem is reported; returns the number found.
 */
static int check_against(sf_instance *inst, reporter *r, const sf_object_desc *d, const char *stream,
                         const sync_config *opts, const sync_column *cols, size_t n_cols,
                         const char *const *col_where, const char *const *consts, sf_target_state *ts)
{
    sf_mode mode = mode_of(opt(opts, "operation"));
    const char *ext = opt(opts, "external_id");
    int before = r->problems;
    int creates = mode != SF_MODE_UPDATE;
    int updates = mode != SF_MODE_CREATE;
    const sf_field_desc *ef = NULL;
    (void)inst;
    if (ext != NULL) {
        ef = sf_describe_field(d, ext);
        if (ef == NULL)
            problem(r, sf_host->config_where(opts, "external_id"),
                    "stream '%s': sink.external_id: %s has no field %s", stream, d->name, ext);
        else if (!ef->external_id)
            problem(r, sf_host->config_where(opts, "external_id"),
                    "stream '%s': sink.external_id: field %s of %s is not an external id (mark it External ID "
                    "in Salesforce, or choose another field)", stream, ef->name, d->name);
    }
    for (size_t i = 0; i < n_cols; i++) {
        const char *where = col_where != NULL ? col_where[i] : NULL;
        const char *name = cols[i].name;
        if (strcasecmp(name, "Id") == 0) {
            if (ts != NULL) {
                ts->id_col = (long)i;
                ts->cols[i].is_id = 1;
                ts->cols[i].name = strdup("Id");
                ts->cols[i].type = SF_FT_STRING;
            }
            continue;
        }
        const sf_field_desc *f = sf_describe_field(d, name);
        if (f == NULL) {
            problem(r, where, "stream '%s': column '%s': %s has no field %s", stream, name, d->name, name);
            continue;
        }
        if (creates && !f->createable)
            problem(r, where, "stream '%s': column '%s': field %s of %s is not createable (salesforce sets it "
                    "itself or it is read-only for this user); leave it out of the mapping", stream, name,
                    f->name, d->name);
        else if (updates && !f->updateable)
            problem(r, where, "stream '%s': column '%s': field %s of %s is not updateable (salesforce sets it "
                    "itself or it is read-only for this user); leave it out of the mapping%s", stream, name,
                    f->name, d->name, mode == SF_MODE_AUTO || mode == SF_MODE_UPSERT
                    ? ", or set sink.operation = create" : "");
        /* what the mapping writes must fit the field: its type, a constant's value */
        sf_fit fit;
        if (sf_fit_from(&fit, f) != SYNC_OK) {
            problem(r, where, "out of memory");
            continue;
        }
        static const char *const tnames[] = {"null", "bool", "integer", "float", "string", "timestamp", "date",
                                             "json"};
        char why[300];
        if (!sf_type_converts(cols[i].type, &fit))
            problem(r, where, "stream '%s': column '%s': the mapping gives %s values, which field %s of %s (%s) "
                    "cannot take", stream, name, (unsigned)cols[i].type < 8 ? tnames[cols[i].type] : "?", f->name,
                    d->name, f->sf_type);
        else if (consts != NULL && consts[i] != NULL && consts[i][0] != '\0' && f->type == SF_FT_STRING &&
                 !sf_text_fits(&fit, consts[i], why, sizeof why))
            problem(r, where, "stream '%s': column '%s': the constant '%s' does not fit field %s of %s: %s", stream,
                    name, consts[i], f->name, d->name, why);
        if (ts != NULL) {
            ts->cols[i].fit = fit;
        } else {
            sf_fit_free(&fit);
        }
        if (ts != NULL) {
            ts->cols[i].name = strdup(f->name);
            ts->cols[i].type = f->type;
            if (ef != NULL && f == ef)
                ts->ext_col = (long)i;
        }
    }
    if (ts != NULL && ef != NULL)
        ts->ext_field = strdup(ef->name);
    return r->problems - before;
}

/* Describes object; again when a cached describe lacks the write flags of a mapped field. */
static int describe_for_write(sf_instance *inst, const char *object, const sync_column *cols, size_t n_cols,
                              const char *ext, const sf_object_desc **out)
{
    int rc = sf_describe_get(inst, object, out);
    if (rc != SYNC_OK)
        return rc;
    int stale = 0;
    for (size_t i = 0; i <= n_cols && !stale; i++) {
        const char *name = i < n_cols ? cols[i].name : ext;
        const sf_field_desc *f = name != NULL ? sf_describe_field(*out, name) : NULL;
        if ((*out)->from_state &&
            (f == NULL ? name != NULL && strcasecmp(name, "Id") != 0 : !f->write_known || !f->meta_known))
            stale = 1;
    }
    if (stale) {
        sf_describe_forget(inst);
        rc = sf_describe_get(inst, object, out);
    }
    return rc;
}

/* check(): the sink's part, offline. */
static void report_chk(void *payload, const char *where, const char *msg)
{
    const sync_check *chk = payload;
    chk->report(chk, where, msg);
}

int sf_sink_check(const sync_check *chk)
{
    if (chk->stream == NULL)
        return SYNC_OK;
    reporter r = {report_chk, (void *)chk, 0};
    check_options(&r, chk->stream, chk->stream_options, chk->columns, chk->n_columns, chk->column_where);
    return r.problems ? SYNC_E_CONFIG : SYNC_OK;
}

int sf_sink_probe(sf_instance *inst, const sync_check *chk)
{
    if (chk->stream == NULL || chk->object == NULL)
        return SYNC_OK;
    const sf_object_desc *d = NULL;
    int rc = describe_for_write(inst, chk->object, chk->columns, chk->n_columns,
                                opt(chk->stream_options, "external_id"), &d);
    if (rc == SYNC_E_NOTFOUND)
        return SYNC_E_CONFIG;
    if (rc != SYNC_OK)
        return rc;
    reporter r = {report_chk, (void *)chk, 0};
    check_against(inst, &r, d, chk->stream, chk->stream_options, chk->columns, chk->n_columns, chk->column_where,
                  SYNC_CHECK_HAS(chk, column_constants) ? chk->column_constants : NULL, NULL);
    return r.problems ? SYNC_E_CONFIG : SYNC_OK;
}

/* ---------------------------------------------------------------- prepare */

static void free_state(sf_target_state *ts)
{
    if (ts == NULL)
        return;
    for (size_t i = 0; i < ts->n_cols; i++) {
        free(ts->cols[i].name);
        sf_fit_free(&ts->cols[i].fit);
    }
    free(ts->cols);
    free(ts->object);
    free(ts->stream);
    free(ts->ext_field);
    free(ts);
}

void sf_sink_release(sf_instance *inst)
{
    sf_target_state *ts = inst->sink_targets;
    while (ts != NULL) {
        sf_target_state *next = ts->next;
        free_state(ts);
        ts = next;
    }
    inst->sink_targets = NULL;
}

typedef struct first_problem {
    sf_instance *inst;
    char text[1024];
} first_problem;

static void report_prepare(void *payload, const char *where, const char *msg)
{
    first_problem *fp = payload;
    if (fp->text[0] == '\0')
        snprintf(fp->text, sizeof fp->text, "%s%s%s", where ? where : "", where ? ": " : "", msg);
    else
        sf_host->log(fp->inst->ctx, SYNC_LOG_ERROR, "%s%s%s", where ? where : "", where ? ": " : "", msg);
}

int sf_sink_prepare(void *instance, const sync_target *target, void **target_state)
{
    sf_instance *inst = instance;
    *target_state = NULL;
    const char *stream = target->stream ? target->stream : target->name;
    first_problem fp = {inst, ""};
    reporter r = {report_prepare, &fp, 0};
    check_options(&r, stream, target->options, target->columns, target->n_columns, NULL);
    if (r.problems) {
        sf_host->set_error(inst->ctx, "%s", fp.text);
        return SYNC_E_CONFIG;
    }
    const char *ext = opt(target->options, "external_id");
    const sf_object_desc *d = NULL;
    int rc = describe_for_write(inst, target->name, target->columns, target->n_columns, ext, &d);
    if (rc != SYNC_OK)
        return rc == SYNC_E_NOTFOUND ? SYNC_E_CONFIG : rc;

    sf_target_state *ts = calloc(1, sizeof *ts);
    if (ts == NULL || (ts->cols = calloc(target->n_columns + 1, sizeof *ts->cols)) == NULL) {
        free(ts);
        return SYNC_E_NOMEM;
    }
    ts->n_cols = target->n_columns;
    ts->id_col = ts->ext_col = -1;
    ts->mode = mode_of(opt(target->options, "operation"));
    int64_t per_call = SF_COLL_MAX;
    if (target->options != NULL && sf_host->config_get_int(target->options, "records_per_call", &per_call) != SYNC_OK)
        per_call = SF_COLL_MAX;
    ts->per_call = per_call >= 1 && per_call <= SF_COLL_MAX ? (size_t)per_call : SF_COLL_MAX;
    if (check_against(inst, &r, d, stream, target->options, target->columns, target->n_columns, NULL, NULL, ts) > 0) {
        sf_host->set_error(inst->ctx, "%s", fp.text);
        free_state(ts);
        return SYNC_E_CONFIG;
    }
    ts->object = strdup(d->name);
    ts->stream = strdup(stream);
    int nomem = ts->object == NULL || ts->stream == NULL || (ext != NULL && ts->ext_field == NULL);
    for (size_t i = 0; i < ts->n_cols; i++)
        nomem |= ts->cols[i].name == NULL;
    if (nomem) {
        free_state(ts);
        return SYNC_E_NOMEM;
    }
    if (ts->mode == SF_MODE_AUTO && ts->ext_field != NULL)
        ts->mode = SF_MODE_UPSERT;
    if (ts->mode == SF_MODE_CREATE || (ts->mode == SF_MODE_AUTO && ts->id_col < 0))
        sf_host->log(inst->ctx, SYNC_LOG_INFO, "stream '%s': records are created in %s without an external id: "
                     "a create whose answer is lost is not sent again (its records are rejected), so that "
                     "nothing is created twice; set sink.external_id to make every write safe to repeat",
                     stream, d->name);
    ts->next = inst->sink_targets;
    inst->sink_targets = ts;
    *target_state = ts;
    return SYNC_OK;
}

/* ----------------------------------------------------------------- values */

/* The text of a string value (an Id or external id); NULL if null or not text-like. */
static char *value_text(const sync_value *v)
{
    char buf[64];
    switch (v->type) {
    case SYNC_TYPE_STRING:
        return v->u.str.len > 0 ? strndup(v->u.str.ptr, v->u.str.len) : NULL;
    case SYNC_TYPE_INT:
        snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
        return strdup(buf);
    default:
        return NULL;
    }
}

/* ----------------------------------------------------------------- writes */

typedef struct write_ctx {
    sf_instance *inst;
    sf_target_state *ts;
    sync_write_result *res;
    int created_any;      /* a create of this batch may have been acted on */
    sf_buf path;
} write_ctx;

static void reject(write_ctx *w, const sync_record *rec, const char *fmt, ...) SYNC_PRINTF(3, 4);

static void reject(write_ctx *w, const sync_record *rec, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sf_host->record_reject(w->inst->ctx, rec, "%s", msg);
    w->res->failed++;
}

/* Builds the item of one record; rejects it (returning -1) when it cannot be written. */
static int build_item(write_ctx *w, const sync_record *rec, sf_wop *op, sf_item *it)
{
    sf_target_state *ts = w->ts;
    memset(it, 0, sizeof *it);
    it->rec = rec;
    const char *key = sf_host->record_key(rec);
    size_t nf = sf_host->record_field_count(rec);
    sync_value v;
    const char *fname;

    char *id = NULL;
    if (ts->id_col >= 0 && (size_t)ts->id_col < nf &&
        sf_host->record_field_at(rec, (size_t)ts->id_col, &fname, &v) == SYNC_OK)
        id = value_text(&v);
    char *ext = NULL;
    if (ts->ext_field != NULL) {
        if (ts->ext_col >= 0 && (size_t)ts->ext_col < nf &&
            sf_host->record_field_at(rec, (size_t)ts->ext_col, &fname, &v) == SYNC_OK)
            ext = value_text(&v);
        else if (ts->ext_col < 0 && key != NULL)
            ext = strdup(key);
    }

    if (sf_host->record_op(rec) == SYNC_OP_DELETE) {
        *op = SF_WOP_DELETE;
        /*
         * A delete often carries its key alone (its mapped columns null):
         * then the key is the external id when there is one, else the Id
         * when it looks like one.
         */
        if (id == NULL && ext == NULL && ts->ext_field != NULL && key != NULL)
            ext = strdup(key);
        if (id == NULL && ext == NULL && ts->ext_field == NULL && key != NULL &&
            (ts->id_col < 0 || sf_coll_is_id(key)))
            id = strdup(key);
        if (id != NULL && !sf_coll_is_id(id)) {
            reject(w, rec, "cannot delete from %s: '%.40s' is not a salesforce Id", ts->object, id);
            free(id);
            free(ext);
            return -1;
        }
        if (id == NULL && ext == NULL) {
            reject(w, rec, "cannot delete from %s: the record has no salesforce Id%s", ts->object,
                   ts->ext_field ? " and no external id" : "");
            return -1;
        }
        if (id == NULL) {
            /* looked up by SOQL: a value SOQL cannot express is refused here, not in the query */
            sf_buf probe = SF_BUF_INIT;
            int qrc = sf_soql_quote(&probe, ext, strlen(ext), 0);
            sf_buf_free(&probe);
            if (qrc != SYNC_OK) {
                reject(w, rec, "cannot delete from %s: the external id holds characters a query cannot express",
                       ts->object);
                free(ext);
                return -1;
            }
        }
        it->id = id;
        it->ext = id == NULL ? ext : (free(ext), NULL);
        return 0;
    }

    switch (ts->mode) {
    case SF_MODE_UPSERT: *op = SF_WOP_UPSERT; break;
    case SF_MODE_CREATE: *op = SF_WOP_CREATE; break;
    case SF_MODE_UPDATE: *op = SF_WOP_UPDATE; break;
    case SF_MODE_AUTO: *op = id != NULL ? SF_WOP_UPDATE : SF_WOP_CREATE; break;
    }
    if (*op == SF_WOP_UPDATE && id == NULL && ts->mode == SF_MODE_UPDATE && ts->id_col < 0 && key != NULL)
        id = strdup(key);
    if (*op == SF_WOP_UPDATE && (id == NULL || !sf_coll_is_id(id))) {
        reject(w, rec, "cannot update %s: %s%.40s%s", ts->object, id ? "'" : "the record has no salesforce Id",
               id ? id : "", id ? "' is not a salesforce Id" : "");
        free(id);
        free(ext);
        return -1;
    }
    if (*op == SF_WOP_UPSERT && ext == NULL) {
        reject(w, rec, "cannot upsert into %s: the external id %s is null", ts->object, ts->ext_field);
        free(id);
        return -1;
    }

    json_t *o = json_object(), *attrs = json_object();
    if (o == NULL || attrs == NULL || json_object_set_new(attrs, "type", json_string(ts->object)) != 0 ||
        json_object_set_new(o, "attributes", attrs) != 0) {
        json_decref(o);
        free(id);
        free(ext);
        reject(w, rec, "out of memory");
        return -1;
    }
    if (*op == SF_WOP_UPDATE)
        json_object_set_new(o, "Id", json_string(id));
    for (size_t i = 0; i < ts->n_cols && i < nf; i++) {
        if (ts->cols[i].is_id)
            continue;
        if (sf_host->record_field_at(rec, i, &fname, &v) != SYNC_OK)
            continue;
        char why[200] = "";
        json_t *jv = sf_value_json(&ts->cols[i].fit, &v, why, sizeof why);
        if (jv == NULL || json_object_set_new(o, ts->cols[i].name, jv) != 0) {
            /* not sent at all: a definite refusal, not an unanswered call */
            reject(w, rec, "refused before sending: column '%s': %s", ts->cols[i].name,
                   why[0] ? why : "out of memory");
            json_decref(o);
            free(id);
            free(ext);
            return -1;
        }
    }
    if (*op == SF_WOP_UPSERT && ts->ext_col < 0)
        json_object_set_new(o, ts->ext_field, json_string(ext));
    it->body = o;
    it->id = id;
    free(ext);
    return 0;
}

static void item_free(sf_item *it)
{
    json_decref(it->body);
    free(it->id);
    free(it->ext);
    memset(it, 0, sizeof *it);
}

/* Rejects every record of a call that was not (or may not have been) carried out. */
static void reject_all(write_ctx *w, sf_item *items, size_t n, const char *fmt, const char *detail)
{
    for (size_t i = 0; i < n; i++)
        reject(w, items[i].rec, fmt, detail);
}

/*
 * One call for items (all of kind op).  SYNC_OK when its records were each
 * stored or rejected; an error when the batch should fail (nothing of it was
 * created).
 */
static int send_call(write_ctx *w, sf_wop op, sf_item *items, size_t n)
{
    sf_target_state *ts = w->ts;
    sf_instance *inst = w->inst;
    const char **ids = NULL;
    char *body = NULL;
    size_t len = 0;
    int rc;
    if (op == SF_WOP_DELETE) {
        if ((ids = calloc(n, sizeof *ids)) == NULL)
            return SYNC_E_NOMEM;
        for (size_t i = 0; i < n; i++)
            ids[i] = items[i].id;
    } else {
        json_t **recs = calloc(n, sizeof *recs);
        if (recs == NULL)
            return SYNC_E_NOMEM;
        for (size_t i = 0; i < n; i++)
            recs[i] = items[i].body;
        body = sf_coll_body(recs, n, &len);
        free(recs);
        if (body == NULL)
            return SYNC_E_NOMEM;
    }
    rc = sf_coll_path(&w->path, inst->set.api_version, op, ts->object, ts->ext_field, ids, n);
    free(ids);
    if (rc != SYNC_OK) {
        free(body);
        return rc;
    }
    json_t *answer = NULL;
    int maybe_applied = 0;
    sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "%s %zu %s record(s) of %s", sf_wop_method(op), n, sf_wop_name(op),
                 ts->object);
    rc = sf_api_send(inst, sf_wop_method(op), w->path.ptr, body, len, op == SF_WOP_CREATE ? SF_API_NO_REPLAY : 0,
                     &answer, &maybe_applied);
    free(body);
    char why[256] = "";
    if (rc == SYNC_OK && sf_coll_check(answer, n, why, sizeof why) != SYNC_OK) {
        sf_host->set_error(inst->ctx, "salesforce's answer to the %s of %zu %s record(s) is not understood: %s",
                           sf_wop_name(op), n, ts->object, why);
        rc = SYNC_E_PROTOCOL;
        maybe_applied = 1;
    }
    if (rc != SYNC_OK) {
        json_decref(answer);
        /* a field gone since the describe (a cached one, say): the next run describes again */
        if (strcmp(inst->api_error_code, "INVALID_FIELD") == 0)
            sf_describe_forget(inst);
        if (op == SF_WOP_CREATE && maybe_applied) {
            w->created_any = 1;
            sf_host->log(inst->ctx, SYNC_LOG_WARN, "the answer to the create of %zu %s record(s) was lost (%s); "
                         "they may have been created, so they are rejected, not sent again", n, ts->object,
                         sf_host->strerror(rc));
            reject_all(w, items, n, "the answer to the create call was lost (%s): the record may have been "
                       "created, so it is not sent again (no duplicates); check salesforce, or set "
                       "sink.external_id to make creates safe to repeat", sf_host->strerror(rc));
            return SYNC_OK;
        }
        if (w->created_any) {
            /* an earlier create of this batch was acted on: the batch must not be sent again */
            reject_all(w, items, n, "not written: %s; not retried, because records of the same batch were "
                       "already created and sending the batch again could create them twice",
                       sf_host->strerror(rc));
            return SYNC_OK;
        }
        return rc;
    }
    if (op == SF_WOP_CREATE)
        w->created_any = 1;
    int has_written = SYNC_HOST_HAS(sf_host, record_written);
    for (size_t i = 0; i < n; i++) {
        sf_coll_result r;
        sf_coll_result_at(answer, i, op, &r);
        if (r.success) {
            switch (op) {
            case SF_WOP_CREATE: w->res->inserted++; break;
            case SF_WOP_UPDATE: w->res->updated++; break;
            case SF_WOP_UPSERT:
                if (r.created)
                    w->res->inserted++;
                else
                    w->res->updated++;
                break;
            case SF_WOP_DELETE: w->res->deleted++; break;
            }
            if (has_written && op != SF_WOP_DELETE && r.id != NULL)
                sf_host->record_written(inst->ctx, items[i].rec, r.id, r.created);
            continue;
        }
        if (op == SF_WOP_DELETE && r.code != NULL &&
            (strcmp(r.code, "ENTITY_IS_DELETED") == 0 || strcmp(r.code, "INVALID_CROSS_REFERENCE_KEY") == 0)) {
            w->res->unchanged++; /* already gone: a delete repeated after a lost answer, or deleted there */
            continue;
        }
        reject(w, items[i].rec, "salesforce refused to %s the %s record: %s", sf_wop_name(op), ts->object,
               r.error);
    }
    json_decref(answer);
    return SYNC_OK;
}

/* Looks up the Ids of deletes known by their external id; those not found are already gone. */
static int resolve_deletes(write_ctx *w, sf_item *items, size_t n, size_t *kept)
{
    sf_target_state *ts = w->ts;
    size_t out = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start;
        sf_buf soql = SF_BUF_INIT;
        sf_buf_printf(&soql, "SELECT Id, %s FROM %s WHERE %s IN (", ts->ext_field, ts->object, ts->ext_field);
        for (; end < n && end - start < 100; end++) {
            if (items[end].ext == NULL)
                continue;
            if (soql.ptr[soql.len - 1] != '(')
                sf_buf_putc(&soql, ',');
            if (sf_soql_quote(&soql, items[end].ext, strlen(items[end].ext), 0) != SYNC_OK) {
                sf_buf_free(&soql);
                return SYNC_E_NOMEM;
            }
        }
        sf_buf_putc(&soql, ')');
        int rc = sf_buf_ok(&soql);
        json_t *answer = NULL;
        if (rc == SYNC_OK && soql.ptr[soql.len - 2] != '(') {
            char *q = curl_easy_escape(NULL, soql.ptr, (int)soql.len);
            sf_buf path = SF_BUF_INIT;
            sf_buf_printf(&path, "/services/data/v%s/query?q=%s", w->inst->set.api_version, q ? q : "");
            curl_free(q);
            rc = q == NULL ? SYNC_E_NOMEM : sf_buf_ok(&path);
            if (rc == SYNC_OK)
                rc = sf_api_get(w->inst, path.ptr, SF_API_QUERY, &answer);
            sf_buf_free(&path);
        }
        sf_buf_free(&soql);
        if (rc != SYNC_OK)
            return rc;
        const json_t *recs = json_object_get(answer, "records");
        for (size_t i = start; i < end; i++) {
            if (items[i].ext == NULL)
                continue;
            const char *found = NULL;
            size_t j;
            const json_t *row;
            json_array_foreach(recs, j, row) {
                const char *v = json_string_value(json_object_get(row, ts->ext_field));
                if (v != NULL && strcasecmp(v, items[i].ext) == 0)
                    found = json_string_value(json_object_get(row, "Id"));
            }
            if (found != NULL && sf_coll_is_id(found) && (items[i].id = strdup(found)) != NULL) {
                items[out++] = items[i];
            } else {
                w->res->unchanged++; /* nothing in salesforce has that external id (any more) */
                item_free(&items[i]);
            }
        }
        json_decref(answer);
        start = end;
    }
    *kept = out;
    return SYNC_OK;
}

/* Sorts record indices by key, then position: later duplicates of a key supersede earlier ones. */
static const sync_batch *sort_batch;

static int by_key(const void *a, const void *b)
{
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const char *ka = sf_host->record_key(sf_host->batch_get(sort_batch, ia));
    const char *kb = sf_host->record_key(sf_host->batch_get(sort_batch, ib));
    int c = strcmp(ka ? ka : "", kb ? kb : "");
    return c != 0 ? c : (ia < ib ? -1 : ia > ib);
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

/* superseded[i] is set for a record whose key comes again later in the batch. */
static int mark_superseded(const sync_batch *batch, size_t n, unsigned char *superseded)
{
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    if (idx == NULL)
        return SYNC_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    pthread_mutex_lock(&sort_lock);
    sort_batch = batch;
    qsort(idx, n, sizeof *idx, by_key);
    pthread_mutex_unlock(&sort_lock);
    for (size_t i = 0; i + 1 < n; i++) {
        const char *a = sf_host->record_key(sf_host->batch_get(batch, idx[i]));
        const char *b = sf_host->record_key(sf_host->batch_get(batch, idx[i + 1]));
        if (strcmp(a ? a : "", b ? b : "") == 0)
            superseded[idx[i]] = 1;
    }
    free(idx);
    return SYNC_OK;
}

int sf_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result)
{
    sf_instance *inst = instance;
    sf_target_state *ts = target_state;
    (void)cursor;
    size_t n = sf_host->batch_count(batch);
    if (n == 0)
        return SYNC_OK;
    write_ctx w = {inst, ts, result, 0, SF_BUF_INIT};
    sf_item *items[SF_WOP_COUNT] = {NULL};
    size_t count[SF_WOP_COUNT] = {0};
    unsigned char *superseded = calloc(n, 1);
    int rc = superseded == NULL ? SYNC_E_NOMEM : mark_superseded(batch, n, superseded);
    for (int k = 0; rc == SYNC_OK && k < SF_WOP_COUNT; k++)
        if ((items[k] = calloc(n, sizeof *items[k])) == NULL)
            rc = SYNC_E_NOMEM;
    for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
        if (superseded[i]) {
            result->unchanged++; /* a later record of the batch has the same key and wins */
            continue;
        }
        sf_wop op = SF_WOP_CREATE;
        sf_item it;
        if (build_item(&w, sf_host->batch_get(batch, i), &op, &it) == 0)
            items[op][count[op]++] = it;
    }
    if (rc == SYNC_OK && count[SF_WOP_DELETE] > 0 && ts->ext_field != NULL) {
        /* deletes known only by external id: look their Ids up (those with an Id go through as they are) */
        size_t with_ext = 0, kept = 0;
        sf_item *d = items[SF_WOP_DELETE];
        for (size_t i = 0; i < count[SF_WOP_DELETE]; i++)
            if (d[i].id == NULL)
                with_ext++;
        if (with_ext > 0) {
            sf_item *tmp = calloc(with_ext, sizeof *tmp);
            size_t a = 0, b = 0;
            if (tmp == NULL) {
                rc = SYNC_E_NOMEM;
            } else {
                for (size_t i = 0; i < count[SF_WOP_DELETE]; i++) {
                    if (d[i].id == NULL)
                        tmp[a++] = d[i];
                    else
                        d[b++] = d[i];
                }
                rc = resolve_deletes(&w, tmp, with_ext, &kept);
                for (size_t i = 0; i < kept; i++)
                    d[b++] = tmp[i];
                if (rc != SYNC_OK)
                    for (size_t i = kept; i < with_ext; i++)
                        item_free(&tmp[i]);
                count[SF_WOP_DELETE] = b;
                free(tmp);
            }
        }
    }
    /* upserts, updates and deletes first, creates last: see sf_sink.h */
    for (int k = 0; rc == SYNC_OK && k < SF_WOP_COUNT; k++) {
        for (size_t start = 0; rc == SYNC_OK && start < count[k]; start += ts->per_call) {
            size_t m = count[k] - start < ts->per_call ? count[k] - start : ts->per_call;
            if (!w.created_any && sf_host->cancelled(inst->ctx)) {
                rc = SYNC_E_CANCELLED;
                break;
            }
            rc = send_call(&w, (sf_wop)k, items[k] + start, m);
        }
    }
    for (int k = 0; k < SF_WOP_COUNT; k++) {
        for (size_t i = 0; items[k] != NULL && i < count[k]; i++)
            item_free(&items[k][i]);
        free(items[k]);
    }
    free(superseded);
    sf_buf_free(&w.path);
    return rc;
}

int sf_sink_finish(void *instance, const sync_run_info *run)
{
    (void)instance;
    (void)run;
    return SYNC_OK;
}

