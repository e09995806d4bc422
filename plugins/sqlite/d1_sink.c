/*
 * d1_sink.c - the sqlite plugin's sink role on Cloudflare D1 (see d1.h).
 *
 * D1 has no BEGIN/COMMIT over HTTP; a request's statements run as one
 * transaction instead.  So a batch is one request: the lease check (an
 * insert into SQ_FENCE_TABLE whose trigger aborts the request unless the
 * job's lease still has this run's epoch), the existing-key counts, the
 * upserts and deletes, and the stream's cursor -- all committed together or
 * not at all.  A batch too large for one request (D1_MAX_STATEMENTS,
 * D1_MAX_REQUEST_BYTES) goes in several, the cursor in the last one.  An
 * answer lost after D1 committed is retried: applying the same statements
 * again is harmless (an upsert that changes nothing writes nothing, a delete
 * of a missing row deletes nothing, the cursor is set to the same value).
 */
#include "d1.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "d1_conn.h"
#include "sq_sink.h"
#include "sq_sql.h"

#define SQ_FENCE_TABLE "_syncengine_fence"

/* The lease check: inserting (job, epoch) aborts the request unless the lease row has that epoch, unreleased. */
static const char FENCE_DDL[] =
    "CREATE TABLE IF NOT EXISTS " SQ_FENCE_TABLE " (job TEXT NOT NULL, epoch INTEGER NOT NULL);\n"
    "CREATE TRIGGER IF NOT EXISTS " SQ_FENCE_TABLE "_check BEFORE INSERT ON " SQ_FENCE_TABLE " BEGIN\n"
    "    SELECT CASE WHEN EXISTS (SELECT 1 FROM " SQ_LEASES_TABLE " WHERE job = NEW.job AND epoch = NEW.epoch\n"
    "                             AND released = 0)\n"
    "        THEN RAISE(IGNORE) ELSE RAISE(ABORT, 'lease lost: another engine holds this job') END;\n"
    "END;\n";

typedef struct d1_target {
    sq_target *t;
    char *upsert, *del, *soft;
} d1_target;

typedef struct d1_sink {
    int d1;                 /* 1 (see sq_role) */
    sync_ctx *ctx;
    d1_settings set;
    d1_conn conn;
    char *fence_key;        /* "d1:<database id>" */
    d1_target **targets;
    size_t n_targets;
    char *run_id;
} d1_sink;

static char *ddl_text(void)
{
    size_t a = strlen(sq_state_ddl), b = strlen(FENCE_DDL);
    char *s = malloc(a + b + 1);
    if (s) {
        memcpy(s, sq_state_ddl, a);
        memcpy(s + a, FENCE_DDL, b + 1);
    }
    return s;
}

/* ------------------------------------------------------------ instance */

int d1_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    d1_sink *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->d1 = 1;
    in->ctx = ctx;
    int rc = d1_settings_read(ctx, cfg, &in->set);
    if (rc != SYNC_OK) {
        free(in);
        return rc;
    }
    if ((rc = d1_conn_open(&in->conn, ctx, &in->set)) != SYNC_OK ||
        asprintf(&in->fence_key, "d1:%s", in->set.database_id) < 0) {
        in->fence_key = NULL;
        d1_sink_close(in);
        return rc != SYNC_OK ? rc : SYNC_E_NOMEM;
    }
    int read_only = SYNC_HOST_HAS(sq_host, ctx_read_only) && sq_host->ctx_read_only(ctx);
    if (!read_only) {
        char *ddl = ddl_text();
        json_t *res = NULL;
        rc = ddl ? d1_exec(&in->conn, ddl, &res) : SYNC_E_NOMEM;
        json_decref(res);
        free(ddl);
        if (rc != SYNC_OK) {
            d1_sink_close(in);
            return rc;
        }
    }
    *instance = in;
    return SYNC_OK;
}

static void d1_target_free(d1_target *t)
{
    if (!t)
        return;
    free(t->upsert);
    free(t->del);
    free(t->soft);
    sq_target_free(t->t);
    free(t);
}

void d1_sink_close(void *instance)
{
    d1_sink *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_targets; i++)
        d1_target_free(in->targets[i]);
    free(in->targets);
    d1_conn_close(&in->conn);
    d1_settings_free(&in->set);
    free(in->fence_key);
    free(in->run_id);
    free(in);
}

/* ------------------------------------------------------------ targets */

static int resolve(d1_sink *in, const char *table, const sync_column *columns, size_t n_columns,
                   const char *const *column_where, const char *stream_where, const sync_config *opts, sq_problems *p,
                   sq_target *t)
{
    sq_table tb;
    int rc = d1_table_load(&in->conn, table, &tb);
    if ((rc = sq_table_loaded(p, rc, SYNC_E_SCHEMA, stream_where, "target table", table, in->set.label)) != SYNC_OK)
        return rc;
    rc = sq_target_resolve(&tb, in->set.label, d1_table_has_unique, &in->conn, table, columns, n_columns, column_where,
                           stream_where, opts, p, t);
    sq_table_free(&tb);
    if (rc == SYNC_OK && n_columns > D1_MAX_PARAMS)
        sq_problem(p, SYNC_E_SCHEMA, stream_where, "table \"%s\": %zu mapped columns, but D1 binds at most %d "
                                                   "parameters per statement", table, n_columns, D1_MAX_PARAMS);
    return p->n ? p->status : rc;
}

int d1_sink_prepare(void *instance, const sync_target *target, void **target_state)
{
    d1_sink *in = instance;
    d1_target *dt = calloc(1, sizeof(*dt));
    if (dt)
        dt->t = calloc(1, sizeof(*dt->t));
    if (!dt || !dt->t) {
        free(dt);
        return SYNC_E_NOMEM;
    }
    sq_target *t = dt->t;
    sq_problems p = {.ctx = in->ctx};
    t->job = strdup(target->job ? target->job : "");
    t->stream = strdup(target->stream ? target->stream : "");
    int rc = t->job && t->stream ? SYNC_OK : SYNC_E_NOMEM;
    if (rc == SYNC_OK)
        rc = resolve(in, target->name, target->columns, target->n_columns, NULL,
                     sq_host->config_where(target->options, "conflict_key"), target->options, &p, t);
    if (rc == SYNC_OK) {
        dt->upsert = sq_sql_upsert(t->table, (const char *const *)t->cols, t->n, t->is_key, t->compare);
        dt->del = sq_sql_delete(t->table, (const char *const *)t->keys, t->n_keys);
        dt->soft = t->n_soft ? sq_sql_soft_delete(t->table, (const char *const *)t->keys, t->n_keys,
                                                  (const char *const *)t->soft_cols, t->n_soft)
                             : NULL;
        if (!dt->upsert || !dt->del || (t->n_soft && !dt->soft))
            rc = SYNC_E_NOMEM;
        else if (strlen(dt->upsert) > D1_MAX_SQL_BYTES) {
            sq_host->set_error(in->ctx, "table \"%s\": the upsert statement is %zu bytes, more than D1's %d (%s)",
                               t->table, strlen(dt->upsert), D1_MAX_SQL_BYTES, in->set.label);
            rc = SYNC_E_SCHEMA;
        }
    }
    d1_target **grown = rc == SYNC_OK ? realloc(in->targets, (in->n_targets + 1) * sizeof(*grown)) : NULL;
    if (rc == SYNC_OK && !grown)
        rc = SYNC_E_NOMEM;
    if (rc != SYNC_OK) {
        d1_target_free(dt);
        return rc;
    }
    in->targets = grown;
    in->targets[in->n_targets++] = dt;
    *target_state = dt;
    return SYNC_OK;
}

/* ------------------------------------------------------------ values */

/* A record value as the JSON parameter the column stores it as (sq_cell_from_value); NULL: not UTF-8. */
static json_t *value_json(const sync_value *v, sq_affinity aff, sq_unit unit)
{
    sq_cell c;
    sq_cell_from_value(&c, v, aff, unit);
    switch (c.type) {
    case SQ_CELL_INT: return json_integer(c.i);
    case SQ_CELL_REAL: return json_real(c.f);
    case SQ_CELL_TEXT: return json_stringn(c.text, c.len);
    case SQ_CELL_NULL: break;
    }
    return json_null();
}

/* Rough size of a parameter in the request body. */
static size_t json_size(json_t *j)
{
    return json_is_string(j) ? json_string_length(j) + 8 : 24;
}

/*
 * The key values of rec as a JSON array (n_keys values), or NULL after the
 * record was rejected (a NULL key, text that is not UTF-8).  *bad says whether
 * it was rejected (else: out of memory).
 */
static json_t *key_values(d1_sink *in, sq_target *t, const sync_record *rec, int *bad)
{
    *bad = 0;
    json_t *a = json_array();
    for (size_t k = 0; a && k < t->n_keys; k++) {
        sync_value v;
        if (!sq_key_field(in->ctx, t, rec, k, &v)) {
            *bad = 1;
            json_decref(a);
            return NULL;
        }
        json_t *j = value_json(&v, t->aff[t->key_idx[k]], t->unit);
        if (!j) {
            sq_host->record_reject(in->ctx, rec, "table \"%s\": key column \"%s\" is not valid UTF-8 text", t->table,
                                   t->keys[k]);
            *bad = 1;
            json_decref(a);
            return NULL;
        }
        json_array_append_new(a, j);
    }
    return a;
}

/* ------------------------------------------------------------ writing */

enum { OP_UPSERT = 0, OP_DELETE = 1 };

typedef struct op {
    const sync_record *rec;
    int kind;
    json_t *params;         /* the statement's parameters */
    json_t *key;            /* the key values (upserts) */
    size_t bytes;
} op;

/* Adds the fence check of job to b when this process holds a lease on it. */
static int add_fence(d1_sink *in, d1_batch *b, const char *job)
{
    int64_t mine;
    if (!job || !sq_fence_get(in->fence_key, job, &mine))
        return SYNC_OK;
    json_t *p = d1_batch_add(b, "INSERT INTO " SQ_FENCE_TABLE " (job, epoch) VALUES (?1, ?2)");
    if (!p || json_array_append_new(p, json_string(job)) || json_array_append_new(p, json_integer(mine)))
        return SYNC_E_NOMEM;
    return SYNC_OK;
}

static int add_cursor(d1_batch *b, const sync_cursor *cursor)
{
    char at[40];
    sq_format_timestamp(sq_host->time_now(), at, sizeof(at));
    json_t *p = d1_batch_add(b, "INSERT INTO " SQ_STATE_TABLE " (job, stream, cursor, updated_at) VALUES (?1, ?2, ?3, "
                                "?4) ON CONFLICT (job, stream) DO UPDATE SET cursor = excluded.cursor, "
                                "updated_at = excluded.updated_at");
    if (!p || json_array_append_new(p, json_string(cursor->job)) || json_array_append_new(p, json_string(cursor->stream)) ||
        json_array_append_new(p, json_string(cursor->value)) || json_array_append_new(p, json_string(at)))
        return SYNC_E_NOMEM;
    return SYNC_OK;
}

/* Is key k (a JSON array) among the first n keys of ops[from..]? */
static int seen_before(op *ops, size_t from, size_t i)
{
    for (size_t j = from; j < i; j++)
        if (ops[j].kind == OP_UPSERT && json_equal(ops[j].key, ops[i].key))
            return 1;
    return 0;
}

/*
 * The count of existing keys among the upserts ops[from..to): SELECT count(*)
 * FROM t WHERE (k1, ...) IN (VALUES (?, ...), ...), D1_MAX_PARAMS at most
 * per statement.  *n_stmts receives the statements added; *distinct the
 * distinct upsert keys.
 */
static int add_counts(d1_target *dt, d1_batch *b, op *ops, size_t from, size_t to, size_t *n_stmts, size_t *distinct)
{
    sq_target *t = dt->t;
    size_t per = D1_MAX_PARAMS / (t->n_keys ? t->n_keys : 1);
    *n_stmts = 0;
    *distinct = 0;
    size_t i = from;
    while (i < to) {
        sq_buf q;
        sq_buf_init(&q);
        sq_buf_puts(&q, "SELECT count(*) AS n FROM ");
        sq_buf_ident(&q, t->table);
        sq_buf_puts(&q, " WHERE (");
        for (size_t k = 0; k < t->n_keys; k++) {
            sq_buf_puts(&q, k ? ", " : "");
            sq_buf_ident(&q, t->keys[k]);
        }
        sq_buf_puts(&q, ") IN (VALUES ");
        json_t *params = json_array();
        size_t rows = 0;
        for (; i < to && rows < per; i++) {
            if (ops[i].kind != OP_UPSERT || seen_before(ops, from, i))
                continue;
            sq_buf_puts(&q, rows ? ", (" : "(");
            for (size_t k = 0; k < t->n_keys; k++) {
                sq_buf_printf(&q, "%s?%zu", k ? ", " : "", json_array_size(params) + 1);
                json_array_append(params, json_array_get(ops[i].key, k));
            }
            sq_buf_puts(&q, ")");
            rows++;
        }
        sq_buf_puts(&q, ")");
        char *sql = sq_buf_take(&q);
        if (rows == 0) {
            free(sql);
            json_decref(params);
            continue;
        }
        json_t *p = sql && params ? d1_batch_add(b, sql) : NULL;
        free(sql);
        if (!p || json_array_extend(p, params)) {
            json_decref(params);
            return SYNC_E_NOMEM;
        }
        json_decref(params);
        *distinct += rows;
        (*n_stmts)++;
    }
    return SYNC_OK;
}

/*
 * One request: the fence, the counts, the statements of ops[from..to) and,
 * with cursor, the cursor.  Adds to result what D1 reports.  Returns the
 * request's status; *sql_error receives D1's message of an SQL error.
 */
static int send_ops(d1_sink *in, d1_target *dt, op *ops, size_t from, size_t to, const sync_cursor *cursor,
                    sync_write_result *result, char **sql_error)
{
    sq_target *t = dt->t;
    d1_batch b;
    int rc = d1_batch_init(&b);
    size_t first = 0, n_counts = 0, distinct = 0;
    if (rc == SYNC_OK)
        rc = add_fence(in, &b, t->job);
    first = d1_batch_count(&b);
    if (rc == SYNC_OK)
        rc = add_counts(dt, &b, ops, from, to, &n_counts, &distinct);
    for (size_t i = from; rc == SYNC_OK && i < to; i++) {
        json_t *p = d1_batch_add(&b, ops[i].kind == OP_UPSERT ? dt->upsert : t->delete_mode == DEL_HARD ? dt->del
                                                                                                         : dt->soft);
        if (!p || json_array_extend(p, ops[i].params))
            rc = SYNC_E_NOMEM;
        d1_batch_grow(&b, ops[i].bytes);
    }
    if (rc == SYNC_OK && cursor && cursor->value)
        rc = add_cursor(&b, cursor);
    json_t *res = NULL;
    if (rc == SYNC_OK && d1_batch_count(&b) == 0) {
        d1_batch_free(&b);
        return SYNC_OK;
    }
    rc = d1_run_built(&in->conn, &b, rc, &res, sql_error);
    if (rc != SYNC_OK)
        return rc;
    int64_t existing = 0, changed = 0, upserts = 0;
    for (size_t s = 0; s < n_counts; s++)
        existing += json_integer_value(json_object_get(json_array_get(d1_rows(res, first + s), 0), "n"));
    for (size_t i = from; i < to; i++) {
        int64_t ch = d1_changes(res, first + n_counts + (i - from));
        if (ops[i].kind == OP_UPSERT) {
            upserts++;
            changed += ch > 0;
        } else if (ch > 0) {
            result->deleted++;
        } else {
            result->unchanged++;
        }
    }
    json_decref(res);
    int64_t inserted = (int64_t)distinct - existing;
    if (inserted < 0)
        inserted = 0;
    if (inserted > changed)
        inserted = changed;
    result->inserted += inserted;
    result->updated += changed - inserted;
    result->unchanged += upserts - changed;
    return SYNC_OK;
}

/*
 * A request failed with a data error (a constraint, a value too big): its
 * records are sent again in halves, and halves of the halves that fail, so
 * that the bad ones end up alone and are rejected with D1's message while the
 * good ones are written (requests: about bad records x log2 of the batch).
 */
static int bisect(d1_sink *in, d1_target *dt, op *ops, size_t from, size_t to, sync_write_result *result)
{
    if (to - from > 1) {
        size_t mid = from + (to - from) / 2;
        size_t range[2][2] = {{from, mid}, {mid, to}};
        for (int h = 0; h < 2; h++) {
            char *msg = NULL;
            int rc = send_ops(in, dt, ops, range[h][0], range[h][1], NULL, result, &msg);
            free(msg);
            if (rc == SYNC_E_DATA)
                rc = bisect(in, dt, ops, range[h][0], range[h][1], result);
            if (rc != SYNC_OK)
                return rc;
        }
        return SYNC_OK;
    }
    char *msg = NULL;
    int rc = send_ops(in, dt, ops, from, to, NULL, result, &msg);
    if (rc == SYNC_E_DATA) {
        sq_host->record_reject(in->ctx, ops[from].rec, "table \"%s\", key %s: %s", dt->t->table,
                               sq_host->record_key(ops[from].rec), msg ? msg : "refused by D1");
        result->failed++;
        rc = SYNC_OK;
    }
    free(msg);
    return rc;
}

/* The records of a refused request one by one (bisect), then the cursor in a request of its own. */
static int isolate(d1_sink *in, d1_target *dt, op *ops, size_t from, size_t to, const sync_cursor *cursor,
                   sync_write_result *result)
{
    int rc = to - from > 1 ? bisect(in, dt, ops, from, to, result) : SYNC_OK;
    if (to - from == 1)
        rc = bisect(in, dt, ops, from, to, result);
    if (rc != SYNC_OK || !cursor || !cursor->value)
        return rc;
    return send_ops(in, dt, ops, to, to, cursor, result, NULL);
}

int d1_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result)
{
    d1_sink *in = instance;
    d1_target *dt = target_state;
    sq_target *t = dt->t;
    memset(result, 0, sizeof(*result));
    size_t n = sq_host->batch_count(batch), n_ops = 0;
    op *ops = calloc(n + 1, sizeof(*ops));
    if (!ops)
        return SYNC_E_NOMEM;
    int64_t ignored = 0;
    int rc = SYNC_OK;
    for (size_t r = 0; rc == SYNC_OK && r < n; r++) {
        const sync_record *rec = sq_host->batch_get(batch, r);
        int bad;
        op *o = &ops[n_ops];
        o->rec = rec;
        int is_delete = sq_host->record_op(rec) == SYNC_OP_DELETE;
        if (is_delete && t->delete_mode == DEL_IGNORE) {
            ignored++;
            result->unchanged++;
            continue;
        }
        /* a delete's parameters and an upsert's count both start from the key values */
        json_t *keys = key_values(in, t, rec, &bad);
        if (!keys) {
            if (!bad)
                rc = SYNC_E_NOMEM;
            result->failed++;
            continue;
        }
        if (is_delete) {
            o->kind = OP_DELETE;
            o->params = keys;
            for (size_t i = 0; t->delete_mode == DEL_SOFT && i < t->n_soft; i++)
                json_array_append_new(o->params, json_string(t->soft_vals[i]));
            o->bytes = 64;
            n_ops++;
            continue;
        }
        o->kind = OP_UPSERT;
        o->key = keys;
        o->params = json_array();
        for (size_t i = 0; o->params && i < t->n; i++) {
            sync_value v;
            const char *name;
            if (sq_host->record_field_at(rec, i, &name, &v) != SYNC_OK)
                v.type = SYNC_TYPE_NULL;
            json_t *j = value_json(&v, t->aff[i], t->unit);
            if (!j) {
                sq_host->record_reject(in->ctx, rec, "table \"%s\", key %s: column \"%s\" is not valid UTF-8 text",
                                       t->table, sq_host->record_key(rec), t->cols[i]);
                break;
            }
            o->bytes += json_size(j);
            json_array_append_new(o->params, j);
        }
        if (!o->params || json_array_size(o->params) != t->n) {
            if (!o->params)
                rc = SYNC_E_NOMEM;
            json_decref(o->params);
            json_decref(o->key);
            memset(o, 0, sizeof(*o));
            result->failed++;
            continue;
        }
        o->bytes += 2 * json_size(json_array_get(o->key, 0)); /* the key again in the count statement */
        n_ops++;
    }
    /* requests of at most D1_MAX_STATEMENTS statements and D1_MAX_REQUEST_BYTES; the cursor goes with the last */
    size_t from = 0;
    while (rc == SYNC_OK && (from < n_ops || from == 0)) {
        /* statements: the fence and the cursor, one per record, one count per `per` upserts */
        size_t per = D1_MAX_PARAMS / (t->n_keys ? t->n_keys : 1), to = from, bytes = 0, upserts = 0;
        while (to < n_ops) {
            size_t up = upserts + (ops[to].kind == OP_UPSERT);
            size_t stmts = 2 + (to - from + 1) + (up + per - 1) / per;
            size_t more = ops[to].bytes + strlen(dt->upsert);
            if (to > from && (stmts > D1_MAX_STATEMENTS || bytes + more > D1_MAX_REQUEST_BYTES))
                break;
            bytes += more;
            upserts = up;
            to++;
        }
        const sync_cursor *cur = to == n_ops ? cursor : NULL;
        char *msg = NULL;
        rc = send_ops(in, dt, ops, from, to, cur, result, &msg);
        if (rc == SYNC_E_DATA) {
            sq_host->log(in->ctx, SYNC_LOG_INFO, "table \"%s\": D1 refused a request (%s); sending its %zu record(s) "
                                                 "in halves to find the bad ones", t->table, msg ? msg : "?", to - from);
            rc = isolate(in, dt, ops, from, to, cur, result);
        }
        free(msg);
        if (to == n_ops)
            break;
        from = to;
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(ops[i].params);
        json_decref(ops[i].key);
    }
    free(ops);
    if (rc != SYNC_OK) {
        memset(result, 0, sizeof(*result));
        return rc;
    }
    sq_batch_report(in->ctx, t, n, ignored, result);
    return SYNC_OK;
}

/* ------------------------------------------------------------ cursors */

/* Runs sql with ?1 = job and ?2 = stream; its result in *res. */
static int stream_stmt(d1_sink *in, const char *sql, const char *job, const char *stream, json_t **res)
{
    d1_batch b;
    int rc = d1_batch_init(&b);
    if (rc == SYNC_OK) {
        json_t *p = d1_batch_add(&b, sql);
        if (!p || json_array_append_new(p, json_string(job)) || json_array_append_new(p, json_string(stream)))
            rc = SYNC_E_NOMEM;
    }
    rc = d1_run_built(&in->conn, &b, rc, res, NULL);
    return rc;
}

int d1_sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out)
{
    d1_sink *in = instance;
    *cursor_out = NULL;
    json_t *res = NULL;
    int rc = stream_stmt(in, "SELECT cursor FROM " SQ_STATE_TABLE " WHERE job = ?1 AND stream = ?2", job, stream, &res);
    if (rc != SYNC_OK)
        return rc == SYNC_E_SCHEMA ? SYNC_E_NOTFOUND : rc; /* no state table yet (read-only open) */
    const char *v = json_string_value(json_object_get(json_array_get(d1_rows(res, 0), 0), "cursor"));
    if (v) {
        size_t len = strlen(v);
        *cursor_out = sq_host->alloc(len + 1);
        if (*cursor_out)
            memcpy(*cursor_out, v, len + 1);
    }
    json_decref(res);
    return v ? (*cursor_out ? SYNC_OK : SYNC_E_NOMEM) : SYNC_E_NOTFOUND;
}

int d1_sink_state_reset(void *instance, const char *job, const char *stream)
{
    d1_sink *in = instance;
    json_t *res = NULL;
    int rc = stream_stmt(in, "DELETE FROM " SQ_STATE_TABLE " WHERE job = ?1 AND stream = ?2", job, stream, &res);
    json_decref(res);
    return rc;
}

/* ------------------------------------------------------------ leases */

/* SELECT of the job's lease row: its result in *res (rows of statement 0). */
static int lease_read(d1_sink *in, const char *job, json_t **res)
{
    d1_batch b;
    int rc = d1_batch_init(&b);
    json_t *p = rc == SYNC_OK ? d1_batch_add(&b, "SELECT epoch, host, pid, pid_start, released FROM " SQ_LEASES_TABLE
                                                 " WHERE job = ?1") : NULL;
    if (!p || json_array_append_new(p, json_string(job)))
        rc = SYNC_E_NOMEM;
    rc = d1_run_built(&in->conn, &b, rc, res, NULL);
    return rc;
}

int d1_sink_lease_acquire(void *instance, const char *job, int *acquired)
{
    d1_sink *in = instance;
    *acquired = 0;
    sq_lease_self me;
    sq_lease_self_get(&me);
    json_t *res = NULL;
    int rc = lease_read(in, job, &res);
    if (rc != SYNC_OK)
        return rc;
    json_t *row = json_array_get(d1_rows(res, 0), 0);
    json_t *seen = NULL; /* the epoch read: the write below only succeeds while it is still there */
    if (row && !json_integer_value(json_object_get(row, "released"))) {
        const char *h = json_string_value(json_object_get(row, "host"));
        long hpid = (long)json_integer_value(json_object_get(row, "pid"));
        int64_t hstart = json_integer_value(json_object_get(row, "pid_start"));
        if (sq_lease_holder_alive(&me, h, hpid, hstart)) {
            sq_lease_held(in->ctx, h, hpid, json_integer_value(json_object_get(row, "epoch")), in->set.label);
            json_decref(res);
            return SYNC_OK;
        }
    }
    if (row)
        seen = json_integer(json_integer_value(json_object_get(row, "epoch")));
    json_decref(res);
    char at[40];
    sq_format_timestamp(sq_host->time_now(), at, sizeof(at));
    d1_batch b;
    rc = d1_batch_init(&b);
    json_t *p = rc == SYNC_OK ? d1_batch_add(&b, "INSERT INTO " SQ_LEASES_TABLE " (job, epoch, host, pid, pid_start, "
                                                 "acquired_at, released) VALUES (?1, 1, ?2, ?3, ?4, ?5, 0) ON CONFLICT "
                                                 "(job) DO UPDATE SET epoch = epoch + 1, host = excluded.host, "
                                                 "pid = excluded.pid, pid_start = excluded.pid_start, acquired_at = "
                                                 "excluded.acquired_at, released = 0 WHERE " SQ_LEASES_TABLE
                                                 ".epoch IS ?6 RETURNING epoch") : NULL;
    if (!p || json_array_append_new(p, json_string(job)) || json_array_append_new(p, json_string(me.host)) ||
        json_array_append_new(p, json_integer(me.pid)) || json_array_append_new(p, json_integer(me.start)) ||
        json_array_append_new(p, json_string(at)) || json_array_append_new(p, seen ? seen : json_null()))
        rc = SYNC_E_NOMEM;
    rc = d1_run_built(&in->conn, &b, rc, &res, NULL);
    if (rc != SYNC_OK)
        return rc;
    json_t *got = json_object_get(json_array_get(d1_rows(res, 0), 0), "epoch");
    int64_t epoch = json_integer_value(got);
    json_decref(res);
    if (!got) {
        /* someone else wrote the row since it was read -- or a retried request found our own write */
        if ((rc = lease_read(in, job, &res)) != SYNC_OK)
            return rc;
        row = json_array_get(d1_rows(res, 0), 0);
        const char *h = json_string_value(json_object_get(row, "host"));
        int mine = row && h && strcmp(h, me.host) == 0 && json_integer_value(json_object_get(row, "pid")) == me.pid &&
                   json_integer_value(json_object_get(row, "pid_start")) == me.start &&
                   !json_integer_value(json_object_get(row, "released"));
        epoch = json_integer_value(json_object_get(row, "epoch"));
        if (!mine)
            sq_lease_held(in->ctx, h, json_integer_value(json_object_get(row, "pid")), epoch, in->set.label);
        json_decref(res);
        if (!mine)
            return SYNC_OK;
    }
    if ((rc = sq_fence_put(in->fence_key, job, epoch)) != SYNC_OK)
        return rc;
    *acquired = 1;
    return SYNC_OK;
}

void d1_sink_lease_release(void *instance, const char *job)
{
    d1_sink *in = instance;
    int64_t mine;
    if (!sq_fence_get(in->fence_key, job, &mine))
        return;
    sq_fence_drop(in->fence_key, job);
    d1_batch b;
    json_t *res = NULL;
    if (d1_batch_init(&b) != SYNC_OK)
        return;
    json_t *p = d1_batch_add(&b, "UPDATE " SQ_LEASES_TABLE " SET released = 1 WHERE job = ?1 AND epoch = ?2");
    if (p && !json_array_append_new(p, json_string(job)) && !json_array_append_new(p, json_integer(mine)))
        d1_run(&in->conn, &b, &res, NULL); /* on failure the row names the holder; its exit frees it */
    json_decref(res);
    d1_batch_free(&b);
}

/* ------------------------------------------------------------ runs */

int d1_sink_begin(void *instance, const sync_run_info *run)
{
    d1_sink *in = instance;
    const char *log_table = run->options ? sq_host->config_get_string(run->options, "run_log_table") : NULL;
    if (log_table && *log_table) {
        sq_host->set_error(in->ctx, "sink.run_log_table is not available with D1 (%s); the runs are in "
                                    SQ_RUNS_TABLE, sq_host->config_where(run->options, "run_log_table"));
        return SYNC_E_CONFIG;
    }
    d1_batch b;
    json_t *p, *res = NULL;
    int rc = d1_batch_init(&b);
    if (rc == SYNC_OK)
        rc = add_fence(in, &b, run->job);
    /* runs of this job still "running" belong to an engine that died: this run holds the job now (a retried
     * request must not close its own row, hence run_id <> ?3, and finds its row there already: OR IGNORE) */
    if (rc == SYNC_OK) {
        p = d1_batch_add(&b, "UPDATE " SQ_RUNS_TABLE " SET status = 'failed', finished_at = ?2, error = 'the engine "
                             "running it stopped before it finished (closed by run ' || ?3 || ')' WHERE job = ?1 AND "
                             "status = 'running' AND run_id <> ?3");
        if (!p || json_array_append_new(p, json_string(run->job)) ||
            json_array_append_new(p, json_integer(sq_host->time_now())) ||
            json_array_append_new(p, json_string(run->run_id)))
            rc = SYNC_E_NOMEM;
    }
    if (rc == SYNC_OK) {
        p = d1_batch_add(&b, "INSERT OR IGNORE INTO " SQ_RUNS_TABLE " (run_id, job, status, full_refresh, started_at) "
                             "VALUES (?1, ?2, 'running', ?3, ?4)");
        if (!p || json_array_append_new(p, json_string(run->run_id)) || json_array_append_new(p, json_string(run->job)) ||
            json_array_append_new(p, json_integer(run->full_refresh ? 1 : 0)) ||
            json_array_append_new(p, json_integer(run->started_at)))
            rc = SYNC_E_NOMEM;
    }
    rc = d1_run_built(&in->conn, &b, rc, &res, NULL);
    json_decref(res);
    if (rc != SYNC_OK)
        return rc;
    free(in->run_id);
    in->run_id = strdup(run->run_id);
    return in->run_id ? SYNC_OK : SYNC_E_NOMEM;
}

int d1_sink_finish(void *instance, const sync_run_info *run)
{
    d1_sink *in = instance;
    if (!in->run_id || strcmp(in->run_id, run->run_id) != 0)
        return SYNC_OK;
    d1_batch b;
    json_t *res = NULL;
    int rc = d1_batch_init(&b);
    /* a run that lost its lease closes only its own row, and only while it still says running */
    json_t *p = rc == SYNC_OK ? d1_batch_add(&b, "UPDATE " SQ_RUNS_TABLE " SET status = ?2, finished_at = ?3, "
                                                 "processed = ?4, inserted = ?5, updated = ?6, unchanged = ?7, "
                                                 "deleted = ?8, failed = ?9, error = ?10, details = ?11 WHERE "
                                                 "run_id = ?1 AND status = 'running'") : NULL;
    int64_t counts[] = {run->processed, run->inserted, run->updated, run->unchanged, run->deleted, run->failed};
    if (!p || json_array_append_new(p, json_string(run->run_id)) ||
        json_array_append_new(p, json_string(sq_run_status_name(run->status))) ||
        json_array_append_new(p, json_integer(run->finished_at)))
        rc = SYNC_E_NOMEM;
    for (int i = 0; rc == SYNC_OK && i < 6; i++)
        if (json_array_append_new(p, json_integer(counts[i])))
            rc = SYNC_E_NOMEM;
    if (rc == SYNC_OK && (json_array_append_new(p, run->error ? json_string(run->error) : json_null()) ||
                          json_array_append_new(p, run->details_json ? json_string(run->details_json) : json_null())))
        rc = SYNC_E_NOMEM;
    rc = d1_run_built(&in->conn, &b, rc, &res, NULL);
    json_decref(res);
    return rc;
}

int d1_sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                 void *payload)
{
    d1_sink *in = instance;
    d1_batch b;
    json_t *res = NULL;
    int rc = d1_batch_init(&b);
    json_t *p = rc == SYNC_OK ? d1_batch_add(&b, "SELECT run_id, job, status, full_refresh, started_at, finished_at, "
                                                 "processed, inserted, updated, unchanged, deleted, failed, error FROM "
                                                 SQ_RUNS_TABLE " WHERE job = ?1 ORDER BY started_at DESC, rowid DESC "
                                                 "LIMIT ?2") : NULL;
    if (!p || json_array_append_new(p, json_string(job)) || json_array_append_new(p, json_integer(max)))
        rc = SYNC_E_NOMEM;
    rc = d1_run_built(&in->conn, &b, rc, &res, NULL);
    if (rc != SYNC_OK)
        return rc;
    json_t *rows = d1_rows(res, 0);
    for (size_t i = 0; i < json_array_size(rows); i++) {
        json_t *row = json_array_get(rows, i);
        sync_run_info r;
        memset(&r, 0, sizeof(r));
        r.struct_size = sizeof(r);
        r.run_id = json_string_value(json_object_get(row, "run_id"));
        r.job = json_string_value(json_object_get(row, "job"));
        const char *status = json_string_value(json_object_get(row, "status"));
        r.status = SYNC_RUN_FAILED;
        for (int s = 0; s < 5; s++)
            if (status && strcmp(status, sq_run_status[s]) == 0)
                r.status = (sync_run_status)s;
        r.full_refresh = (int)json_integer_value(json_object_get(row, "full_refresh"));
        r.started_at = json_integer_value(json_object_get(row, "started_at"));
        r.finished_at = json_integer_value(json_object_get(row, "finished_at"));
        r.processed = json_integer_value(json_object_get(row, "processed"));
        r.inserted = json_integer_value(json_object_get(row, "inserted"));
        r.updated = json_integer_value(json_object_get(row, "updated"));
        r.unchanged = json_integer_value(json_object_get(row, "unchanged"));
        r.deleted = json_integer_value(json_object_get(row, "deleted"));
        r.failed = json_integer_value(json_object_get(row, "failed"));
        r.error = json_string_value(json_object_get(row, "error"));
        each(&r, payload);
    }
    json_decref(res);
    return SYNC_OK;
}

int d1_sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    char *ddl = ddl_text();
    if (!ddl)
        return SYNC_E_NOMEM;
    if (ddl_out) {
        size_t n = strlen(ddl) + 1;
        *ddl_out = sq_host->alloc(n);
        if (!*ddl_out) {
            free(ddl);
            return SYNC_E_NOMEM;
        }
        memcpy(*ddl_out, ddl, n);
    }
    int rc = SYNC_OK;
    if (apply) {
        d1_settings set;
        d1_conn c;
        rc = d1_settings_read(ctx, cfg, &set);
        if (rc == SYNC_OK) {
            json_t *res = NULL;
            rc = d1_conn_open(&c, ctx, &set);
            if (rc == SYNC_OK)
                rc = d1_exec(&c, ddl, &res);
            json_decref(res);
            d1_conn_close(&c);
            d1_settings_free(&set);
        }
    }
    free(ddl);
    return rc;
}

int d1_sink_probe(void *instance, const sync_check *chk)
{
    d1_sink *in = instance;
    sq_problems p = {.ctx = in->ctx, .chk = chk};
    if (!chk->stream) {
        const char *log_table =
            chk->job_options ? sq_host->config_get_string(chk->job_options, "run_log_table") : NULL;
        if (log_table && *log_table)
            sq_problem(&p, SYNC_E_CONFIG, sq_host->config_where(chk->job_options, "run_log_table"),
                       "sink.run_log_table is not available with D1; the runs are in " SQ_RUNS_TABLE);
        return p.n ? SYNC_E_CONFIG : SYNC_OK;
    }
    sq_target *heap = calloc(1, sizeof(*heap));
    if (!heap)
        return SYNC_E_NOMEM;
    int rc = resolve(in, chk->object, chk->columns, chk->n_columns, chk->column_where, chk->stream_where,
                     chk->stream_options, &p, heap);
    sq_target_free(heap);
    if (p.n)
        return SYNC_E_CONFIG;
    return rc;
}
