/*
 * sq_source.c - the SQLite connector's source role (see sq_source.h).
 *
 * Why a settle window: the keyset cursor remembers the last (cursor value,
 * key) read.  A row whose cursor value is set by the application before its
 * transaction commits -- `updated_at = now()` computed in the application,
 * then more work, then COMMIT; or a writer on another machine whose clock is
 * behind -- becomes visible with a value older than rows already read, and a
 * plain "greater than the cursor" read would skip it for ever.  So a run
 * reads only rows whose cursor value is at most now - settle: a row that
 * commits at most `settle` late is still ahead of the cursor when it becomes
 * visible.  Rows newer than the bound wait for the next run.  A change log
 * needs no window: its sequence numbers are taken inside the writing
 * transaction, which holds the file's only write lock until it commits, so
 * they become visible in order.
 */
#include "sq_source.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sq_conn.h"
#include "sq_sql.h"

typedef struct sq_source {
    int d1; /* 0: the SQLite file backend (see sq_role) */
    sync_ctx *ctx;
    sq_settings set;
    sq_conn conn;
} sq_source;

void sq_plan_free(sq_plan *pl)
{
    sq_table_free(&pl->tb);
    free(pl->cols);
    free(pl->kind);
    free(pl->soft_col);
    free(pl->soft_val);
    memset(pl, 0, sizeof(*pl));
}

static long add_col(sq_plan *pl, long tbi)
{
    for (size_t i = 0; i < pl->n; i++)
        if (pl->cols[i] == pl->tb.cols[tbi])
            return (long)i;
    pl->cols[pl->n] = pl->tb.cols[tbi];
    pl->kind[pl->n] = sq_decl_kind(pl->tb.decl[tbi]);
    return (long)pl->n++;
}

static int plan_build(sq_source *in, const char *table, const sync_config *opts, const char *const *fields,
                      size_t n_fields, const char *const *field_where, const char *stream_where, sq_problems *p,
                      sq_plan *pl)
{
    memset(pl, 0, sizeof(*pl));
    int rc = sq_table_load(&in->conn, table, &pl->tb);
    if ((rc = sq_table_loaded(p, rc, SYNC_E_NOTFOUND, stream_where, "table or view", table, in->set.path)) != SYNC_OK)
        return rc;
    return sq_plan_build(pl, in->set.path, table, opts, fields, n_fields, field_where, stream_where, p);
}

int sq_plan_build(sq_plan *pl, const char *where_db, const char *table, const sync_config *opts,
                  const char *const *fields, size_t n_fields, const char *const *field_where,
                  const char *stream_where, sq_problems *p)
{
    pl->cols = calloc(pl->tb.n + 1, sizeof(char *));
    pl->kind = calloc(pl->tb.n + 1, sizeof(sq_kind));
    if (!pl->cols || !pl->kind)
        return SYNC_E_NOMEM;
    pl->where = opts ? sq_host->config_get_string(opts, "where") : NULL;
    pl->cursor_col = opts ? sq_host->config_get_string(opts, "cursor_column") : NULL;
    if (!pl->cursor_col)
        pl->cursor_col = "updated_at";
    pl->settle_ms = 10000;
    if (opts)
        sq_host->config_get_int(opts, "settle", &pl->settle_ms);
    if (opts)
        sq_host->config_get_bool(opts, "change_log", &pl->change_log);
    pl->unit = sq_unit_parse(opts ? sq_host->config_get_string(opts, "timestamp_unit") : NULL);
    const char *ow = opts ? NULL : stream_where;
#define WHERE(name) (ow ? ow : sq_host->config_where(opts, name))
    /* the key: configured, else the table's one-column primary key */
    pl->key = opts ? sq_host->config_get_string(opts, "key") : NULL;
    if (!pl->key)
        pl->key = sq_table_single_pk(&pl->tb);
    long kt = pl->key ? sq_table_find(&pl->tb, pl->key) : -1;
    if (!pl->key)
        sq_problem(p, SYNC_E_CONFIG, WHERE("key"),
                   "%s \"%s\" has no one-column primary key; set source.key to a column that identifies its rows",
                   pl->tb.is_view ? "view" : "table", table);
    else if (kt < 0)
        sq_problem(p, SYNC_E_SCHEMA, WHERE("key"), "key column \"%s\" does not exist in \"%s\"", pl->key, table);
    else
        pl->key = pl->tb.cols[kt];
    long ct = sq_table_find(&pl->tb, pl->cursor_col);
    if (!pl->change_log && ct < 0)
        sq_problem(p, SYNC_E_SCHEMA, WHERE("cursor_column"),
                   "cursor column \"%s\" does not exist in \"%s\" (set source.cursor_column, or source.change_log = on)",
                   pl->cursor_col, table);
    if (pl->change_log && pl->tb.is_view)
        sq_problem(p, SYNC_E_CONFIG, WHERE("change_log"),
                   "source.change_log needs a table; \"%s\" is a view (its triggers would never fire)", table);
    const char *soft = opts ? sq_host->config_get_string(opts, "soft_delete") : NULL;
    long st = -1;
    if (soft && *soft) {
        const char *eq = strchr(soft, '=');
        if (eq) {
            if (sq_split_assign(soft, &pl->soft_col, &pl->soft_val) < 0)
                sq_problem(p, SYNC_E_CONFIG, WHERE("soft_delete"),
                           "source.soft_delete \"%s\" is not column or column=value", soft);
        } else {
            pl->soft_col = strdup(soft);
        }
        if (pl->soft_col && (st = sq_table_find(&pl->tb, pl->soft_col)) < 0)
            sq_problem(p, SYNC_E_SCHEMA, WHERE("soft_delete"), "soft-delete column \"%s\" does not exist in \"%s\"",
                       pl->soft_col, table);
    }
    if (fields) {
        for (size_t i = 0; i < n_fields; i++) {
            long c = sq_table_find(&pl->tb, fields[i]);
            if (c < 0)
                sq_problem(p, SYNC_E_SCHEMA, field_where && field_where[i] ? field_where[i] : stream_where,
                           "field \"%s\" is not a column of \"%s\" in %s", fields[i], table, where_db);
            else
                add_col(pl, c);
        }
    } else {
        for (size_t c = 0; c < pl->tb.n; c++)
            add_col(pl, (long)c);
    }
#undef WHERE
    if (p->n)
        return p->status;
    pl->key_i = add_col(pl, kt);
    pl->cur_i = ct >= 0 ? add_col(pl, ct) : -1;
    pl->soft_i = st >= 0 ? add_col(pl, st) : -1;
    return SYNC_OK;
}

/* ------------------------------------------------------------ instance */

int sq_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    sq_source *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    int rc = sq_conn_open_config(&in->conn, &in->set, ctx, cfg, 0);
    if (rc != SYNC_OK) {
        free(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

void sq_source_close(void *instance)
{
    sq_source *in = instance;
    if (!in)
        return;
    sq_conn_close(&in->conn);
    sq_settings_free(&in->set);
    free(in);
}

sync_type sq_kind_type(sq_kind k, const char *decl)
{
    switch (k) {
    case SQ_KIND_BOOL: return SYNC_TYPE_BOOL;
    case SQ_KIND_TIMESTAMP: return SYNC_TYPE_TIMESTAMP;
    case SQ_KIND_DATE: return SYNC_TYPE_DATE;
    case SQ_KIND_JSON: return SYNC_TYPE_JSON;
    case SQ_KIND_AUTO: break;
    }
    switch (sq_decl_affinity(decl)) {
    case SQ_AFF_INTEGER: return SYNC_TYPE_INT;
    case SQ_AFF_REAL: return SYNC_TYPE_FLOAT;
    case SQ_AFF_TEXT: return SYNC_TYPE_STRING;
    default: return SYNC_TYPE_NULL; /* varies */
    }
}

int sq_catalog_add(sync_catalog *cat, const char *name, const sq_table *tb)
{
    int rc = sq_host->catalog_add_stream(cat, name);
    for (size_t i = 0; rc == SYNC_OK && i < tb->n; i++)
        rc = sq_host->catalog_add_field(cat, name, tb->cols[i], sq_kind_type(sq_decl_kind(tb->decl[i]), tb->decl[i]));
    return rc;
}

int sq_source_discover(void *instance, sync_catalog *cat)
{
    sq_source *in = instance;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND "
                                            "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name NOT LIKE "
                                            "'\\_syncengine\\_%' ESCAPE '\\' ORDER BY name", &st);
    if (!s)
        return st;
    int rc = SYNC_OK, step;
    while (rc == SYNC_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        sq_table tb;
        const char *name = (const char *)sqlite3_column_text(s, 0);
        if ((rc = sq_table_load(&in->conn, name, &tb)) != SYNC_OK)
            break;
        rc = sq_catalog_add(cat, name, &tb);
        sq_table_free(&tb);
    }
    sqlite3_finalize(s);
    return rc;
}

/* ------------------------------------------------------------ rows */

static void val_from_column(sqlite3_stmt *s, int col, sq_val *v)
{
    sq_val_clear(v);
    switch (sqlite3_column_type(s, col)) {
    case SQLITE_INTEGER:
        v->type = SQ_V_INT;
        v->i = sqlite3_column_int64(s, col);
        break;
    case SQLITE_FLOAT:
        v->type = SQ_V_REAL;
        v->r = sqlite3_column_double(s, col);
        break;
    case SQLITE_NULL: break;
    default: {
        const unsigned char *t = sqlite3_column_text(s, col);
        size_t n = (size_t)sqlite3_column_bytes(s, col);
        v->text = malloc(n + 1);
        if (v->text) {
            memcpy(v->text, t ? (const char *)t : "", n);
            v->text[n] = '\0';
            v->len = n;
            v->type = SQ_V_TEXT;
        }
    }
    }
}

static void bind_val(sqlite3_stmt *s, int idx, const sq_val *v)
{
    switch (v->type) {
    case SQ_V_INT: sqlite3_bind_int64(s, idx, v->i); break;
    case SQ_V_REAL: sqlite3_bind_double(s, idx, v->r); break;
    case SQ_V_TEXT: sqlite3_bind_text64(s, idx, v->text, v->len, SQLITE_TRANSIENT, SQLITE_UTF8); break;
    case SQ_V_NULL: sqlite3_bind_null(s, idx); break;
    }
}

/* The record key: the key column's value as text. */
int sq_key_text(const sq_val *v, char *buf, size_t size, const char **out, size_t *len)
{
    switch (v->type) {
    case SQ_V_INT: *len = (size_t)snprintf(buf, size, "%" PRId64, v->i); *out = buf; return 0;
    case SQ_V_REAL: *len = (size_t)snprintf(buf, size, "%.17g", v->r); *out = buf; return 0;
    case SQ_V_TEXT: *out = v->text; *len = v->len; return 0;
    case SQ_V_NULL: break;
    }
    return -1;
}

int sq_text_true(const char *v)
{
    return strcasecmp(v, "true") == 0 || strcasecmp(v, "t") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0;
}

int sq_soft_text_deleted(const sq_plan *pl, const char *v)
{
    if (pl->soft_val)
        return v && strcmp(v, pl->soft_val) == 0;
    return v && *v && strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0 && strcasecmp(v, "f") != 0;
}

int sq_set_time(sync_record *rec, const char *f, sq_kind kind, int64_t usec)
{
    if (kind == SQ_KIND_DATE) {
        /* the day it falls on, rounded down (also before 1970) */
        int64_t days = usec / 86400000000LL;
        if (usec % 86400000000LL < 0)
            days--;
        return sq_host->record_set_date(rec, f, days);
    }
    return sq_host->record_set_timestamp(rec, f, usec);
}

int sq_row_record_new(sync_ctx *ctx, const sq_plan *pl, const sq_val *key, int deleted, sync_emitter *em,
                      sync_record **rec)
{
    char buf[64];
    const char *k;
    size_t klen;
    *rec = NULL;
    if (sq_key_text(key, buf, sizeof(buf), &k, &klen) < 0) {
        sq_host->log(ctx, SYNC_LOG_WARN, "\"%s\": a row with a NULL key \"%s\" is skipped", pl->tb.name, pl->key);
        return SYNC_OK;
    }
    *rec = sq_host->record_new(em, k, klen, deleted ? SYNC_OP_DELETE : SYNC_OP_UPSERT);
    return *rec ? SYNC_OK : SYNC_E_NOMEM;
}

/* Is the row soft-deleted? */
static int soft_deleted(const sq_plan *pl, sqlite3_stmt *s)
{
    if (pl->soft_i < 0)
        return 0;
    int t = sqlite3_column_type(s, (int)pl->soft_i);
    if (t == SQLITE_NULL)
        return 0;
    const char *v = (const char *)sqlite3_column_text(s, (int)pl->soft_i);
    if (!pl->soft_val && (t == SQLITE_INTEGER || t == SQLITE_FLOAT))
        return sqlite3_column_double(s, (int)pl->soft_i) != 0;
    return sq_soft_text_deleted(pl, v);
}

static int set_field(sq_source *in, const sq_plan *pl, sync_record *rec, sqlite3_stmt *s, int i)
{
    const char *f = pl->cols[i];
    int t = sqlite3_column_type(s, i);
    if (t == SQLITE_NULL)
        return sq_host->record_set_null(rec, f);
    switch (pl->kind[i]) {
    case SQ_KIND_BOOL:
        if (t == SQLITE_TEXT) {
            return sq_host->record_set_bool(rec, f, sq_text_true((const char *)sqlite3_column_text(s, i)));
        }
        return sq_host->record_set_bool(rec, f, sqlite3_column_double(s, i) != 0);
    case SQ_KIND_TIMESTAMP:
    case SQ_KIND_DATE: {
        int64_t usec;
        if (t == SQLITE_INTEGER) {
            usec = sqlite3_column_int64(s, i) * sq_unit_usec(pl->unit);
        } else if (t == SQLITE_FLOAT) {
            usec = (int64_t)(sqlite3_column_double(s, i) * (double)sq_unit_usec(pl->unit));
        } else {
            const char *v = (const char *)sqlite3_column_text(s, i);
            if (sq_host->time_parse(v, (size_t)sqlite3_column_bytes(s, i), &usec) != SYNC_OK) {
                sq_host->log(in->ctx, SYNC_LOG_WARN, "column \"%s\" of \"%s\": \"%s\" is not an ISO-8601 timestamp; "
                                                     "passed on as text", f, pl->tb.name, v);
                return sq_host->record_set_string(rec, f, v, (size_t)sqlite3_column_bytes(s, i));
            }
        }
        return sq_set_time(rec, f, pl->kind[i], usec);
    }
    case SQ_KIND_JSON:
        return sq_host->record_set_json(rec, f, (const char *)sqlite3_column_text(s, i),
                                        (size_t)sqlite3_column_bytes(s, i));
    case SQ_KIND_AUTO: break;
    }
    switch (t) {
    case SQLITE_INTEGER: return sq_host->record_set_int(rec, f, sqlite3_column_int64(s, i));
    case SQLITE_FLOAT: return sq_host->record_set_float(rec, f, sqlite3_column_double(s, i));
    default:
        return sq_host->record_set_string(rec, f, (const char *)sqlite3_column_text(s, i),
                                          (size_t)sqlite3_column_bytes(s, i));
    }
}

/* One row of s into a record (a delete when soft-deleted).  *key receives the key value. */
static int row_record(sq_source *in, const sq_plan *pl, sqlite3_stmt *s, sync_emitter *em, sq_val *key)
{
    val_from_column(s, (int)pl->key_i, key);
    sync_record *rec;
    int rc = sq_row_record_new(in->ctx, pl, key, soft_deleted(pl, s), em, &rec);
    if (rc != SYNC_OK || !rec)
        return rc;
    for (size_t i = 0; i < pl->n; i++) {
        rc = set_field(in, pl, rec, s, (int)i);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

int sq_emit_cursor(sync_emitter *em, const sq_cursor *c)
{
    char *text = sq_cursor_text(c);
    if (!text)
        return SYNC_E_NOMEM;
    int rc = sq_host->emit(em, text);
    free(text);
    return rc;
}

/*
 * One page in its own read transaction: a record per row of s (bound
 * already), the last row's key into cur->key and, when value is not NULL, its
 * cursor column into value.  *rows receives the rows read; s is left reset.
 */
static int read_page(sq_source *in, const sq_plan *pl, sqlite3_stmt *s, sync_emitter *em, sq_cursor *cur,
                     sq_val *value, size_t *rows)
{
    *rows = 0;
    int rc = sq_begin_read(&in->conn);
    if (rc != SYNC_OK)
        return rc;
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if ((rc = row_record(in, pl, s, em, &cur->key)) != SYNC_OK)
            break;
        if (value)
            val_from_column(s, (int)pl->cur_i, value);
        (*rows)++;
    }
    sqlite3_reset(s);
    if (rc == SYNC_OK && step != SQLITE_DONE)
        rc = sq_fail(&in->conn, step, "cannot read a page");
    return sq_end(&in->conn, rc);
}

/* ------------------------------------------------------------ keyset mode */

/* Non-zero when an index of the table starts with column (the keyset pages then seek instead of sorting). */
static int has_leading_index(sq_source *in, const char *table, const char *column)
{
    int st, found = 0;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT 1 FROM pragma_index_list(?1) AS l, pragma_index_info(l.name) AS i "
                                            "WHERE i.seqno = 0 AND i.name = ?2 COLLATE NOCASE", &st);
    if (!s)
        return 1; /* cannot tell: say nothing */
    sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, column, -1, SQLITE_STATIC);
    found = sqlite3_step(s) != SQLITE_DONE;
    sqlite3_finalize(s);
    return found;
}

static int read_keyset(sq_source *in, const sq_plan *pl, const sync_stream_request *req, sq_cursor *cur,
                       sync_emitter *em, size_t batch)
{
    char *sql_first = sq_sql_keyset_page(pl->tb.name, pl->cols, pl->n, pl->cursor_col, pl->key, pl->where, 0);
    char *sql_after = sq_sql_keyset_page(pl->tb.name, pl->cols, pl->n, pl->cursor_col, pl->key, pl->where, 1);
    int rc;
    sqlite3_stmt *first = sq_prepare(&in->conn, sql_first, &rc), *after = first ? sq_prepare(&in->conn, sql_after, &rc)
                                                                               : NULL;
    free(sql_first);
    free(sql_after);
    if (!first || !after) {
        sqlite3_finalize(first);
        return rc;
    }
    /* the bound is fixed for the run, so that pages agree on it */
    int64_t bound = sq_host->time_now() - pl->settle_ms * 1000;
    char bound_text[40];
    sq_format_timestamp(bound, bound_text, sizeof(bound_text));
    int have = cur->value.type != SQ_V_NULL || cur->key.type != SQ_V_NULL;
    if (!pl->tb.is_view && !has_leading_index(in, pl->tb.name, pl->cursor_col))
        sq_host->log(in->ctx, SYNC_LOG_WARN, "table \"%s\" has no index starting with \"%s\": every page scans and "
                                             "sorts the table; an index on \"%s\" (\"%s\", \"%s\") makes pages seek",
                     pl->tb.name, pl->cursor_col, pl->tb.name, pl->cursor_col, pl->key);
    rc = SYNC_OK;
    for (;;) {
        if (sq_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        sqlite3_stmt *s = have ? after : first;
        sqlite3_reset(s);
        if (have) {
            bind_val(s, 1, &cur->value);
            bind_val(s, 2, &cur->key);
        }
        sqlite3_bind_double(s, 3, (double)bound / (double)sq_unit_usec(pl->unit));
        sqlite3_bind_text(s, 4, bound_text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 5, (int64_t)batch);
        size_t rows;
        if ((rc = read_page(in, pl, s, em, cur, &cur->value, &rows)) != SYNC_OK || rows == 0)
            break;
        have = 1;
        if ((rc = sq_emit_cursor(em, cur)) != SYNC_OK || rows < batch)
            break;
    }
    (void)req;
    sqlite3_finalize(first);
    sqlite3_finalize(after);
    return rc;
}

/* ------------------------------------------------------------ change-log mode */

/* The change-log table and this table's triggers (idempotent, one short write transaction). */
static int install_change_log(sq_source *in, const sq_plan *pl)
{
    char *trig = sq_sql_change_triggers(pl->tb.name, pl->key);
    if (!trig)
        return SYNC_E_NOMEM;
    int rc = sq_begin_write(&in->conn);
    if (rc == SYNC_OK)
        rc = sq_exec(&in->conn, "CREATE TABLE IF NOT EXISTS " SQ_CHANGES_TABLE " (\n"
                                "    seq INTEGER PRIMARY KEY AUTOINCREMENT,\n    tbl TEXT NOT NULL,\n    key,\n"
                                "    changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))\n);\n"
                                "CREATE INDEX IF NOT EXISTS " SQ_CHANGES_TABLE "_tbl ON " SQ_CHANGES_TABLE
                                " (tbl, seq);");
    if (rc == SYNC_OK)
        rc = sq_exec(&in->conn, trig);
    free(trig);
    return sq_end(&in->conn, rc);
}

static int change_log_max(sq_source *in, int64_t *seq)
{
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT coalesce(max(seq), 0) FROM " SQ_CHANGES_TABLE, &st);
    if (!s)
        return st;
    int rc = sqlite3_step(s);
    *seq = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return rc == SQLITE_ROW ? SYNC_OK : sq_fail(&in->conn, rc, "cannot read the change log");
}

/* The first full read of a change-log stream, in key order, resumable from cur->key. */
static int scan_table(sq_source *in, const sq_plan *pl, sq_cursor *cur, sync_emitter *em, size_t batch)
{
    char *sql = sq_sql_key_page(pl->tb.name, pl->cols, pl->n, pl->key, pl->where, 1);
    char *sql0 = sq_sql_key_page(pl->tb.name, pl->cols, pl->n, pl->key, pl->where, 0);
    int rc;
    sqlite3_stmt *after = sq_prepare(&in->conn, sql, &rc), *first = after ? sq_prepare(&in->conn, sql0, &rc) : NULL;
    free(sql);
    free(sql0);
    if (!after || !first) {
        sqlite3_finalize(after);
        return rc;
    }
    rc = SYNC_OK;
    for (;;) {
        if (sq_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        sqlite3_stmt *s = cur->key.type != SQ_V_NULL ? after : first;
        sqlite3_reset(s);
        bind_val(s, 1, &cur->key);
        sqlite3_bind_int64(s, 2, (int64_t)batch);
        size_t rows;
        if ((rc = read_page(in, pl, s, em, cur, NULL, &rows)) != SYNC_OK)
            break;
        cur->scanning = rows == batch; /* a short page is the last one */
        if (!cur->scanning)
            sq_val_clear(&cur->key);
        if ((rc = sq_emit_cursor(em, cur)) != SYNC_OK || !cur->scanning)
            break;
    }
    sqlite3_finalize(first);
    sqlite3_finalize(after);
    return rc;
}

/* Changes after cur->seq: each changed key once per page, as its row now is (or a delete when it is gone). */
static int read_changes(sq_source *in, const sq_plan *pl, sq_cursor *cur, sync_emitter *em, size_t batch)
{
    int rc;
    char *by_key = sq_sql_by_key(pl->tb.name, pl->cols, pl->n, pl->key, pl->where);
    sqlite3_stmt *look = sq_prepare(&in->conn, by_key, &rc);
    free(by_key);
    if (!look)
        return rc;
    sqlite3_stmt *ch = sq_prepare(&in->conn, "SELECT seq, key FROM " SQ_CHANGES_TABLE
                                             " WHERE tbl = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3", &rc);
    sq_val *keys = calloc(batch, sizeof(sq_val));
    if (!ch || !keys) {
        sqlite3_finalize(look);
        sqlite3_finalize(ch);
        free(keys);
        return ch ? SYNC_E_NOMEM : rc;
    }
    rc = SYNC_OK;
    for (;;) {
        if (sq_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        if ((rc = sq_begin_read(&in->conn)) != SYNC_OK)
            break;
        sqlite3_reset(ch);
        sqlite3_bind_text(ch, 1, pl->tb.name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(ch, 2, cur->seq);
        sqlite3_bind_int64(ch, 3, (int64_t)batch);
        size_t n = 0;
        int64_t last = cur->seq;
        int step;
        while ((step = sqlite3_step(ch)) == SQLITE_ROW) {
            last = sqlite3_column_int64(ch, 0);
            val_from_column(ch, 1, &keys[n++]);
        }
        sqlite3_reset(ch);
        if (step != SQLITE_DONE)
            rc = sq_fail(&in->conn, step, "cannot read the change log");
        for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
            /* a key changed again later in the page is read once, at its last change */
            int later = 0;
            for (size_t j = i + 1; !later && j < n; j++)
                later = keys[j].type == keys[i].type &&
                        (keys[i].type == SQ_V_TEXT ? keys[i].len == keys[j].len &&
                                                         memcmp(keys[i].text, keys[j].text, keys[i].len) == 0
                         : keys[i].type == SQ_V_INT ? keys[i].i == keys[j].i
                                                    : keys[i].r == keys[j].r);
            if (later || keys[i].type == SQ_V_NULL)
                continue;
            sqlite3_reset(look);
            bind_val(look, 1, &keys[i]);
            step = sqlite3_step(look);
            sq_val k = {0};
            if (step == SQLITE_ROW) {
                rc = row_record(in, pl, look, em, &k);
            } else if (step == SQLITE_DONE) {
                char buf[64];
                const char *kt;
                size_t klen;
                sq_key_text(&keys[i], buf, sizeof(buf), &kt, &klen);
                sync_record *rec = sq_host->record_new(em, kt, klen, SYNC_OP_DELETE);
                if (!rec)
                    rc = SYNC_E_NOMEM;
                else if (keys[i].type == SQ_V_INT)
                    rc = sq_host->record_set_int(rec, pl->key, keys[i].i);
                else if (keys[i].type == SQ_V_REAL)
                    rc = sq_host->record_set_float(rec, pl->key, keys[i].r);
                else
                    rc = sq_host->record_set_string(rec, pl->key, keys[i].text, keys[i].len);
            } else {
                rc = sq_fail(&in->conn, step, "cannot read a changed row");
            }
            sq_val_clear(&k);
            sqlite3_reset(look);
        }
        for (size_t i = 0; i < n; i++)
            sq_val_clear(&keys[i]);
        rc = sq_end(&in->conn, rc);
        if (rc != SYNC_OK || n == 0)
            break;
        cur->seq = last;
        if ((rc = sq_emit_cursor(em, cur)) != SYNC_OK || n < batch)
            break;
    }
    free(keys);
    sqlite3_finalize(look);
    sqlite3_finalize(ch);
    return rc;
}

/* Forgets changes this stream has read (the change log serves one reader per table). */
static int prune_changes(sq_source *in, const sq_plan *pl, int64_t upto)
{
    if (upto <= 0)
        return SYNC_OK;
    int rc = sq_begin_write(&in->conn);
    if (rc != SYNC_OK)
        return rc;
    sqlite3_stmt *s = sq_prepare(&in->conn, "DELETE FROM " SQ_CHANGES_TABLE " WHERE tbl = ?1 AND seq <= ?2", &rc);
    if (s) {
        sqlite3_bind_text(s, 1, pl->tb.name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, upto);
        int step = sqlite3_step(s);
        sqlite3_finalize(s);
        rc = step == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, step, "cannot prune the change log");
    }
    return sq_end(&in->conn, rc);
}

int sq_source_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    sq_source *in = instance;
    sq_problems p = {.ctx = in->ctx};
    sq_plan pl;
    int rc = plan_build(in, req->stream, req->options, req->fields, req->n_fields, NULL,
                        req->options ? sq_host->config_where(req->options, "cursor_column") : in->set.path, &p, &pl);
    if (rc != SYNC_OK) {
        sq_plan_free(&pl);
        return rc;
    }
    size_t batch = req->batch_size ? req->batch_size : 1000;
    sq_cursor cur;
    memset(&cur, 0, sizeof(cur));
    if (req->cursor && !req->full_refresh) {
        if (sq_cursor_parse(req->cursor, &cur) < 0 || cur.change_log != pl.change_log) {
            sq_host->set_error(in->ctx, "saved cursor \"%s\" of \"%s\" is not a %s cursor of this connector "
                                        "(was source.change_log changed?); run a full refresh",
                               req->cursor, req->stream, pl.change_log ? "change-log" : "keyset");
            sq_cursor_clear(&cur);
            sq_plan_free(&pl);
            return SYNC_E_DATA;
        }
    }
    if (!pl.change_log) {
        rc = read_keyset(in, &pl, req, &cur, em, batch);
    } else {
        rc = install_change_log(in, &pl);
        if (rc == SYNC_OK && (!req->cursor || req->full_refresh)) {
            cur.change_log = 1;
            cur.scanning = 1;
            rc = change_log_max(in, &cur.seq);
        }
        if (rc == SYNC_OK && cur.scanning)
            rc = scan_table(in, &pl, &cur, em, batch);
        if (rc == SYNC_OK && req->cursor && !req->full_refresh)
            rc = prune_changes(in, &pl, cur.seq);
        if (rc == SYNC_OK)
            rc = read_changes(in, &pl, &cur, em, batch);
    }
    sq_cursor_clear(&cur);
    sq_plan_free(&pl);
    return rc;
}

int sq_source_probe(void *instance, const sync_check *chk)
{
    sq_source *in = instance;
    if (!chk->stream)
        return SYNC_OK;
    sq_problems p = {.ctx = in->ctx, .chk = chk};
    sq_plan pl;
    int rc = plan_build(in, chk->object, chk->stream_options, chk->fields, chk->n_fields, NULL, chk->stream_where, &p,
                        &pl);
    sq_plan_free(&pl);
    if (p.n)
        return SYNC_E_CONFIG;
    return rc;
}
