/*
 * d1_source.c - the sqlite plugin's source role on Cloudflare D1 (see d1.h).
 *
 * The same keyset read as the file backend (sq_source.c): pages in
 * (cursor column, key) order after the saved cursor, bounded by now - settle,
 * each page one request.  Values come back as JSON: numbers, text and null;
 * a REAL column's whole number (D1 prints 3.0 as 3) is read as a float.
 */
#include "d1.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "d1_conn.h"
#include "sq_source.h"
#include "sq_sql.h"

typedef struct d1_source {
    int d1;                 /* 1 (see sq_role) */
    sync_ctx *ctx;
    d1_settings set;
    d1_conn conn;
} d1_source;

int d1_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    d1_source *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->d1 = 1;
    in->ctx = ctx;
    int rc = d1_settings_read(ctx, cfg, &in->set);
    if (rc == SYNC_OK && (rc = d1_conn_open(&in->conn, ctx, &in->set)) != SYNC_OK)
        d1_settings_free(&in->set);
    if (rc != SYNC_OK) {
        free(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

void d1_source_close(void *instance)
{
    d1_source *in = instance;
    if (!in)
        return;
    d1_conn_close(&in->conn);
    d1_settings_free(&in->set);
    free(in);
}

int d1_source_discover(void *instance, sync_catalog *cat)
{
    d1_source *in = instance;
    json_t *res = NULL;
    int rc = d1_exec(&in->conn, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE "
                                "'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE '\\_syncengine\\_%' ESCAPE '\\' AND name "
                                "NOT LIKE '\\_cf\\_%' ESCAPE '\\' ORDER BY name", &res);
    json_t *rows = rc == SYNC_OK ? d1_rows(res, 0) : NULL;
    for (size_t i = 0; rc == SYNC_OK && i < json_array_size(rows); i++) {
        const char *name = json_string_value(json_object_get(json_array_get(rows, i), "name"));
        sq_table tb;
        if (!name || (rc = d1_table_load(&in->conn, name, &tb)) != SYNC_OK)
            break;
        rc = sq_catalog_add(cat, name, &tb);
        sq_table_free(&tb);
    }
    json_decref(res);
    return rc;
}

static int plan_load(d1_source *in, const char *table, const sync_config *opts, const char *const *fields,
                     size_t n_fields, const char *stream_where, sq_problems *p, sq_plan *pl)
{
    memset(pl, 0, sizeof(*pl));
    int rc = d1_table_load(&in->conn, table, &pl->tb);
    if ((rc = sq_table_loaded(p, rc, SYNC_E_NOTFOUND, stream_where, "table or view", table, in->set.label)) != SYNC_OK)
        return rc;
    rc = sq_plan_build(pl, in->set.label, table, opts, fields, n_fields, NULL, stream_where, p);
    if (rc == SYNC_OK && pl->change_log)
        sq_problem(p, SYNC_E_CONFIG, opts ? sq_host->config_where(opts, "change_log") : stream_where,
                   "source.change_log is not available with D1; \"%s\" is read by its cursor column", table);
    return p->n ? p->status : rc;
}

/* Is the row soft-deleted? (sq_source.c's rule on a JSON value) */
static int soft_deleted(const sq_plan *pl, json_t *row)
{
    if (pl->soft_i < 0)
        return 0;
    json_t *j = json_object_get(row, pl->cols[pl->soft_i]);
    if (!j || json_is_null(j))
        return 0;
    char buf[64];
    const char *v = json_string_value(j);
    if (json_is_integer(j) || json_is_real(j)) {
        double d = json_number_value(j);
        if (!pl->soft_val)
            return d != 0;
        if (json_is_integer(j))
            snprintf(buf, sizeof(buf), "%lld", (long long)json_integer_value(j));
        else
            snprintf(buf, sizeof(buf), "%.17g", d);
        v = buf;
    }
    return sq_soft_text_deleted(pl, v);
}

static int set_field(d1_source *in, const sq_plan *pl, sync_record *rec, json_t *row, size_t i)
{
    const char *f = pl->cols[i];
    json_t *j = json_object_get(row, f);
    if (!j || json_is_null(j))
        return sq_host->record_set_null(rec, f);
    const char *text = json_string_value(j);
    size_t tlen = text ? json_string_length(j) : 0;
    switch (pl->kind[i]) {
    case SQ_KIND_BOOL:
        if (text)
            return sq_host->record_set_bool(rec, f, sq_text_true(text));
        return sq_host->record_set_bool(rec, f, json_number_value(j) != 0);
    case SQ_KIND_TIMESTAMP:
    case SQ_KIND_DATE: {
        int64_t usec;
        if (json_is_integer(j)) {
            usec = json_integer_value(j) * sq_unit_usec(pl->unit);
        } else if (json_is_real(j)) {
            usec = (int64_t)(json_real_value(j) * (double)sq_unit_usec(pl->unit));
        } else if (!text || sq_host->time_parse(text, tlen, &usec) != SYNC_OK) {
            sq_host->log(in->ctx, SYNC_LOG_WARN, "column \"%s\" of \"%s\": \"%s\" is not an ISO-8601 timestamp; "
                                                 "passed on as text", f, pl->tb.name, text ? text : "?");
            return text ? sq_host->record_set_string(rec, f, text, tlen) : sq_host->record_set_null(rec, f);
        }
        return sq_set_time(rec, f, pl->kind[i], usec);
    }
    case SQ_KIND_JSON:
        if (text)
            return sq_host->record_set_json(rec, f, text, tlen);
        break;
    case SQ_KIND_AUTO: break;
    }
    if (json_is_integer(j)) {
        long c = sq_table_find(&pl->tb, f);
        if (c >= 0 && sq_decl_affinity(pl->tb.decl[c]) == SQ_AFF_REAL)
            return sq_host->record_set_float(rec, f, (double)json_integer_value(j));
        return sq_host->record_set_int(rec, f, json_integer_value(j));
    }
    if (json_is_real(j))
        return sq_host->record_set_float(rec, f, json_real_value(j));
    if (text)
        return sq_host->record_set_string(rec, f, text, tlen);
    char *dump = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY); /* a BLOB comes as an array of bytes */
    int rc = dump ? sq_host->record_set_json(rec, f, dump, strlen(dump)) : SYNC_E_NOMEM;
    free(dump);
    return rc;
}

static int row_record(d1_source *in, const sq_plan *pl, json_t *row, sync_emitter *em, sq_val *key)
{
    d1_val_from_json(json_object_get(row, pl->cols[pl->key_i]), key);
    sync_record *rec;
    int rc = sq_row_record_new(in->ctx, pl, key, soft_deleted(pl, row), em, &rec);
    if (rc != SYNC_OK || !rec)
        return rc;
    for (size_t i = 0; i < pl->n; i++) {
        rc = set_field(in, pl, rec, row, i);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

int d1_source_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    d1_source *in = instance;
    sq_problems p = {.ctx = in->ctx};
    sq_plan pl;
    int rc = plan_load(in, req->stream, req->options, req->fields, req->n_fields,
                       req->options ? sq_host->config_where(req->options, "cursor_column") : in->set.label, &p, &pl);
    if (rc != SYNC_OK) {
        sq_plan_free(&pl);
        return rc;
    }
    size_t batch = req->batch_size ? req->batch_size : 1000;
    sq_cursor cur;
    memset(&cur, 0, sizeof(cur));
    if (req->cursor && !req->full_refresh && (sq_cursor_parse(req->cursor, &cur) < 0 || cur.change_log)) {
        sq_host->set_error(in->ctx, "saved cursor \"%s\" of \"%s\" is not a keyset cursor of this connector; run a "
                                    "full refresh", req->cursor, req->stream);
        sq_cursor_clear(&cur);
        sq_plan_free(&pl);
        return SYNC_E_DATA;
    }
    char *sql[2] = {sq_sql_keyset_page(pl.tb.name, pl.cols, pl.n, pl.cursor_col, pl.key, pl.where, 0),
                    sq_sql_keyset_page(pl.tb.name, pl.cols, pl.n, pl.cursor_col, pl.key, pl.where, 1)};
    rc = sql[0] && sql[1] ? SYNC_OK : SYNC_E_NOMEM;
    /* the bound is fixed for the run, so that pages agree on it */
    int64_t bound = sq_host->time_now() - pl.settle_ms * 1000;
    char bound_text[40];
    sq_format_timestamp(bound, bound_text, sizeof(bound_text));
    int have = cur.value.type != SQ_V_NULL || cur.key.type != SQ_V_NULL;
    while (rc == SYNC_OK) {
        if (sq_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        d1_batch b;
        json_t *res = NULL, *prm;
        if ((rc = d1_batch_init(&b)) != SYNC_OK)
            break;
        sq_val none = {0};
        if (!(prm = d1_batch_add(&b, sql[have])) || d1_param_val(prm, have ? &cur.value : &none) ||
            d1_param_val(prm, have ? &cur.key : &none) ||
            json_array_append_new(prm, json_real((double)bound / (double)sq_unit_usec(pl.unit))) ||
            json_array_append_new(prm, json_string(bound_text)) || json_array_append_new(prm, json_integer((json_int_t)batch)))
            rc = SYNC_E_NOMEM;
        rc = d1_run_built(&in->conn, &b, rc, &res, NULL);
        json_t *rows = rc == SYNC_OK ? d1_rows(res, 0) : NULL;
        size_t n = json_array_size(rows);
        for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
            json_t *row = json_array_get(rows, i);
            rc = row_record(in, &pl, row, em, &cur.key);
            d1_val_from_json(json_object_get(row, pl.cols[pl.cur_i]), &cur.value);
        }
        json_decref(res);
        if (rc != SYNC_OK || n == 0)
            break;
        have = 1;
        if ((rc = sq_emit_cursor(em, &cur)) != SYNC_OK || n < batch)
            break;
    }
    free(sql[0]);
    free(sql[1]);
    sq_cursor_clear(&cur);
    sq_plan_free(&pl);
    return rc;
}

int d1_source_probe(void *instance, const sync_check *chk)
{
    d1_source *in = instance;
    if (!chk->stream)
        return SYNC_OK;
    sq_problems p = {.ctx = in->ctx, .chk = chk};
    sq_plan pl;
    int rc = plan_load(in, chk->object, chk->stream_options, chk->fields, chk->n_fields, chk->stream_where, &p, &pl);
    sq_plan_free(&pl);
    if (p.n)
        return SYNC_E_CONFIG;
    return rc;
}
