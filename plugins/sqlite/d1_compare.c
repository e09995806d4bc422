/*
 * d1_compare.c - the D1 side of the compare operations (see d1_compare.h):
 * the scratch file, the mirror of a table, queries and the verify history
 * through D1's query API.
 */
#include "d1_compare.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define D1_MIRROR_PAGE 1000
#define D1_VERIFY_TABLE "_syncengine_verify_runs"

/* ------------------------------------------------------------ the scratch file */

int d1_scratch_open(sq_conn *c, sq_settings *s, sync_ctx *ctx)
{
    memset(c, 0, sizeof(*c));
    memset(s, 0, sizeof(*s));
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    s->journal_mode = strdup("keep");
    s->synchronous = strdup("off");
    s->busy_timeout_ms = 5000;
    if (asprintf(&s->path, "%s/syncengine-verify-XXXXXX", dir) < 0)
        s->path = NULL;
    if (!s->path || !s->journal_mode || !s->synchronous) {
        sq_settings_free(s);
        return SYNC_E_NOMEM;
    }
    int fd = mkstemp(s->path);
    if (fd < 0) {
        sq_host->set_error(ctx, "cannot create the scratch file of verify in %s: %s (TMPDIR)", dir, strerror(errno));
        sq_settings_free(s);
        return SYNC_E_IO;
    }
    close(fd);
    /* an empty file is an empty database; nothing but this connection uses it, so no journal on disk and a
     * cache of 2 MB: the table lives in the file, not in memory */
    int rc = sq_conn_open(c, ctx, s, 0);
    if (rc == SYNC_OK)
        rc = sq_exec(c, "PRAGMA journal_mode = MEMORY; PRAGMA cache_size = -2048; PRAGMA temp_store = FILE");
    if (rc != SYNC_OK) {
        sq_conn_close(c);
        unlink(s->path);
        sq_settings_free(s);
    }
    return rc;
}

void d1_scratch_close(sq_conn *c, sq_settings *s)
{
    sq_conn_close(c);
    if (s->path)
        unlink(s->path);
    sq_settings_free(s);
}

/* ------------------------------------------------------------ the mirror */

/* Binds a value of a D1 row by its JSON type (a BLOB comes as an array of bytes). */
static int bind_json(sqlite3_stmt *s, int at, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_INTEGER: return sqlite3_bind_int64(s, at, json_integer_value(v));
    case JSON_REAL: return sqlite3_bind_double(s, at, json_real_value(v));
    case JSON_STRING: return sqlite3_bind_text(s, at, json_string_value(v), (int)json_string_length(v), SQLITE_STATIC);
    case JSON_TRUE: return sqlite3_bind_int(s, at, 1);
    case JSON_FALSE: return sqlite3_bind_int(s, at, 0);
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        unsigned char *p = malloc(n ? n : 1);
        if (!p)
            return SQLITE_NOMEM;
        for (size_t i = 0; i < n; i++)
            p[i] = (unsigned char)json_integer_value(json_array_get(v, i));
        return sqlite3_bind_blob(s, at, p, (int)n, free);
    }
    case JSON_OBJECT: {
        char *t = json_dumps(v, JSON_COMPACT);
        return t ? sqlite3_bind_text(s, at, t, -1, free) : SQLITE_NOMEM;
    }
    default: return sqlite3_bind_null(s, at);
    }
}

/* The DDL of the copy: the same columns, declared types and primary key; an index on key when it is not the key. */
static char *mirror_ddl(const sq_table *tb, const char *key)
{
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "DROP TABLE IF EXISTS ");
    sq_buf_ident(&b, tb->name);
    sq_buf_puts(&b, "; CREATE TABLE ");
    sq_buf_ident(&b, tb->name);
    sq_buf_puts(&b, " (");
    int n_pk = 0;
    for (size_t i = 0; i < tb->n; i++) {
        sq_buf_puts(&b, i ? ", " : "");
        sq_buf_ident(&b, tb->cols[i]);
        if (tb->decl[i] && *tb->decl[i])
            sq_buf_printf(&b, " %s", tb->decl[i]);
        if (tb->pk[i] > n_pk)
            n_pk = tb->pk[i];
    }
    for (int k = 1; k <= n_pk; k++)
        for (size_t i = 0; i < tb->n; i++)
            if (tb->pk[i] == k) {
                sq_buf_puts(&b, k == 1 ? ", PRIMARY KEY (" : ", ");
                sq_buf_ident(&b, tb->cols[i]);
            }
    sq_buf_puts(&b, n_pk ? "))" : ")");
    const char *pk = sq_table_single_pk(tb);
    if (!pk || strcasecmp(pk, key) != 0) {
        sq_buf_puts(&b, "; CREATE INDEX ");
        char *ix = NULL;
        if (asprintf(&ix, "%s_se_verify_key", tb->name) < 0)
            ix = NULL;
        sq_buf_ident(&b, ix ? ix : "se_verify_key");
        free(ix);
        sq_buf_puts(&b, " ON ");
        sq_buf_ident(&b, tb->name);
        sq_buf_puts(&b, " (");
        sq_buf_ident(&b, key);
        sq_buf_puts(&b, ")");
    }
    if (b.oom) {
        sq_buf_free(&b);
        return NULL;
    }
    return sq_buf_take(&b);
}

static char *insert_sql(const sq_table *tb)
{
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "INSERT INTO ");
    sq_buf_ident(&b, tb->name);
    sq_buf_puts(&b, " (");
    for (size_t i = 0; i < tb->n; i++) {
        sq_buf_puts(&b, i ? ", " : "");
        sq_buf_ident(&b, tb->cols[i]);
    }
    sq_buf_puts(&b, ") VALUES (");
    for (size_t i = 0; i < tb->n; i++)
        sq_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
    sq_buf_puts(&b, ")");
    if (b.oom) {
        sq_buf_free(&b);
        return NULL;
    }
    return sq_buf_take(&b);
}

/* Copies the rows of one answer; *last receives the key of the last row (a new reference). */
static int copy_rows(sq_conn *db, const sq_table *tb, const char *key, sqlite3_stmt *ins, json_t *rows,
                     json_t **last, const char *what)
{
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        int rc = SQLITE_OK;
        for (size_t c = 0; rc == SQLITE_OK && c < tb->n; c++)
            rc = bind_json(ins, (int)c + 1, json_object_get(row, tb->cols[c]));
        if (rc == SQLITE_OK) {
            rc = sqlite3_step(ins);
            rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
        }
        sqlite3_reset(ins);
        sqlite3_clear_bindings(ins);
        if (rc != SQLITE_OK)
            return sq_fail(db, rc, what);
    }
    json_decref(*last);
    *last = json_deep_copy(json_object_get(json_array_get(rows, json_array_size(rows) - 1), key));
    return SYNC_OK;
}

int d1_mirror_table(d1_conn *d1, sq_conn *db, const sq_table *tb, const char *key, int64_t *rows)
{
    *rows = 0;
    char what[512];
    snprintf(what, sizeof(what), "cannot copy table \"%s\" of %s into the scratch file", tb->name, d1->set->label);
    /* SELECT cols FROM t [WHERE key > ?1] ORDER BY key LIMIT ?2, the file source's key-order page */
    const char *const *cols = (const char *const *)tb->cols;
    char *ddl = mirror_ddl(tb, key), *first = sq_sql_key_page(tb->name, cols, tb->n, key, NULL, 0),
         *next = sq_sql_key_page(tb->name, cols, tb->n, key, NULL, 1);
    char *ins_sql = insert_sql(tb);
    sqlite3_stmt *ins = NULL;
    int rc = ddl && first && next && ins_sql ? sq_begin_write(db) : SYNC_E_NOMEM;
    if (rc == SYNC_OK) {
        int src = sqlite3_exec(db->db, ddl, NULL, NULL, NULL);
        rc = src == SQLITE_OK ? SYNC_OK : sq_fail(db, src, what);
    }
    if (rc == SYNC_OK && !(ins = sq_prepare(db, ins_sql, &rc)))
        rc = rc == SYNC_OK ? SYNC_E_NOMEM : rc;
    json_t *last = NULL;
    for (int page = 0; rc == SYNC_OK; page++) {
        if (sq_host->cancelled(d1->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        d1_batch b;
        json_t *params, *res = NULL;
        char *sql_error = NULL;
        /* ?1 the last key read (unused by the first page), ?2 the page size */
        if ((rc = d1_batch_init(&b)) == SYNC_OK &&
            (!(params = d1_batch_add(&b, page ? next : first)) ||
             json_array_append(params, page ? last : json_null()) != 0 ||
             json_array_append_new(params, json_integer(D1_MIRROR_PAGE)) != 0))
            rc = SYNC_E_NOMEM;
        rc = d1_run_built(d1, &b, rc, &res, &sql_error);
        if (rc != SYNC_OK) {
            if (sql_error)
                sq_host->set_error(d1->ctx, "cannot read table \"%s\" of %s: %s", tb->name, d1->set->label,
                                   sql_error);
            free(sql_error);
            break;
        }
        json_t *got = d1_rows(res, 0);
        size_t n = json_array_size(got);
        if (n)
            rc = copy_rows(db, tb, key, ins, got, &last, what);
        json_decref(res);
        *rows += (int64_t)n;
        if (rc != SYNC_OK || n < D1_MIRROR_PAGE)
            break;
        if (!last || json_is_null(last)) {
            sq_host->set_error(d1->ctx, "cannot read table \"%s\" of %s in pages of key \"%s\": more than %d rows "
                               "have a NULL key", tb->name, d1->set->label, key, D1_MIRROR_PAGE);
            rc = SYNC_E_SCHEMA;
        }
    }
    json_decref(last);
    sqlite3_finalize(ins);
    rc = sq_end(db, rc);
    free(ddl);
    free(first);
    free(next);
    free(ins_sql);
    return rc;
}

/* ------------------------------------------------------------ queries */

/* Whether the word at s (n bytes) is one that writes (REPLACE only as a statement, not the function). */
static int writing_word(const char *s, size_t n, const char *after)
{
    static const char *const words[] = {"INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "ATTACH",
                                        "DETACH", "PRAGMA", "VACUUM", "REINDEX", "ANALYZE", "BEGIN", "COMMIT"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
            return 1;
    if (n == 7 && strncasecmp(s, "REPLACE", 7) == 0) {
        while (*after == ' ' || *after == '\t' || *after == '\n' || *after == '\r')
            after++;
        return *after != '(';
    }
    return 0;
}

/*
 * D1 cannot say whether a statement writes (sqlite3_stmt_readonly), so the
 * text is judged: one statement beginning with SELECT or WITH, no word that
 * writes outside quotes and comments.
 */
int d1_sql_read_only(const char *sql)
{
    const char *p = sql;
    while (isspace((unsigned char)*p))
        p++;
    if (strncasecmp(p, "SELECT", 6) != 0 && strncasecmp(p, "WITH", 4) != 0)
        return 0;
    while (*p) {
        char c = *p;
        if (c == '\'' || c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : c;
            for (p++; *p; p++)
                if (*p == close) {
                    if (close != ']' && p[1] == close) {
                        p++;
                        continue;
                    }
                    break;
                }
            if (*p)
                p++;
        } else if (c == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (c == '/' && p[1] == '*') {
            const char *e = strstr(p + 2, "*/");
            p = e ? e + 2 : p + strlen(p);
        } else if (c == ';') {
            for (p++; *p; p++)
                if (!isspace((unsigned char)*p))
                    return 0;
        } else if (isalpha((unsigned char)c) || c == '_') {
            const char *w = p;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            if (writing_word(w, (size_t)(p - w), p))
                return 0;
        } else {
            p++;
        }
    }
    return 1;
}

/* A JSON value as the text SQLite gives a column (NULL for null); buf holds numbers. */
static const char *json_text(json_t *v, char *buf, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_STRING: return json_string_value(v);
    case JSON_INTEGER: snprintf(buf, size, "%lld", (long long)json_integer_value(v)); return buf;
    case JSON_REAL:
        snprintf(buf, size, "%.15g", json_real_value(v));
        if (!strpbrk(buf, ".eEnN"))
            strncat(buf, ".0", size - strlen(buf) - 1);
        return buf;
    case JSON_TRUE: return "1";
    case JSON_FALSE: return "0";
    default: return NULL;
    }
}

int d1_compare_query(d1_conn *d1, const char *sql, const char *const *params, size_t n_params,
                     void (*row)(void *payload, size_t n, const char *const *values), void *payload)
{
    if (!d1_sql_read_only(sql)) {
        sq_host->set_error(d1->ctx, "the statement is not read-only: %s (%s)", sql, d1->set->label);
        return SYNC_E_CONFIG;
    }
    d1_batch b;
    json_t *p, *res = NULL;
    if (d1_batch_init(&b) != SYNC_OK || !(p = d1_batch_add(&b, sql))) {
        d1_batch_free(&b);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n_params; i++)
        json_array_append_new(p, params[i] ? json_string(params[i]) : json_null());
    int rc = d1_run(d1, &b, &res, NULL);
    d1_batch_free(&b);
    if (rc != SYNC_OK)
        return rc;
    json_t *rows = d1_rows(res, 0), *r;
    size_t i;
    json_array_foreach(rows, i, r) {
        size_t n = json_object_size(r), k = 0;
        const char **vals = calloc(n + 1, sizeof(char *));
        char *nums = malloc((n + 1) * 40);
        if (!vals || !nums) {
            free(vals);
            free(nums);
            rc = SYNC_E_NOMEM;
            break;
        }
        const char *name;
        json_t *v;
        json_object_foreach(r, name, v) {
            vals[k] = json_text(v, nums + k * 40, 40);
            k++;
        }
        row(payload, k, vals);
        free(vals);
        free(nums);
    }
    json_decref(res);
    return rc;
}

/* ------------------------------------------------------------ the verify history */

int d1_history_add(d1_conn *d1, const char *job, const char *run_id, int64_t started_at, int64_t finished_at,
                   const char *status, const char *report_json)
{
    char a[40], z[40];
    sq_format_timestamp(started_at, a, sizeof(a));
    sq_format_timestamp(finished_at, z, sizeof(z));
    d1_batch b;
    json_t *p, *res = NULL;
    int rc = SYNC_E_NOMEM;
    if (d1_batch_init(&b) == SYNC_OK &&
        d1_batch_add(&b, "CREATE TABLE IF NOT EXISTS " D1_VERIFY_TABLE
                         " (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, started_at TEXT NOT NULL,"
                         " finished_at TEXT NOT NULL, status TEXT NOT NULL, report TEXT NOT NULL)") &&
        (p = d1_batch_add(&b, "INSERT INTO " D1_VERIFY_TABLE
                              " (run_id, job, started_at, finished_at, status, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")) &&
        json_array_append_new(p, json_string(run_id)) == 0 && json_array_append_new(p, json_string(job)) == 0 &&
        json_array_append_new(p, json_string(a)) == 0 && json_array_append_new(p, json_string(z)) == 0 &&
        json_array_append_new(p, json_string(status)) == 0 && json_array_append_new(p, json_string(report_json)) == 0)
        rc = d1_run(d1, &b, &res, NULL);
    d1_batch_free(&b);
    json_decref(res);
    return rc;
}

int d1_history(d1_conn *d1, const char *job, int max,
               void (*each)(void *payload, const char *run_id, int64_t started_at, int64_t finished_at,
                            const char *status, const char *report_json),
               void *payload)
{
    json_t *res = NULL;
    int rc = d1_exec(d1, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '" D1_VERIFY_TABLE "'", &res);
    if (rc != SYNC_OK)
        return rc;
    size_t found = json_array_size(d1_rows(res, 0));
    json_decref(res);
    res = NULL;
    if (!found)
        return SYNC_OK;
    d1_batch b;
    json_t *p;
    rc = SYNC_E_NOMEM;
    if (d1_batch_init(&b) == SYNC_OK &&
        (p = d1_batch_add(&b, "SELECT run_id, started_at, finished_at, status, report FROM " D1_VERIFY_TABLE
                              " WHERE ?1 IS NULL OR job = ?1 ORDER BY started_at DESC, rowid DESC LIMIT ?2")) &&
        json_array_append_new(p, job ? json_string(job) : json_null()) == 0 &&
        json_array_append_new(p, json_integer(max)) == 0)
        rc = d1_run(d1, &b, &res, NULL);
    d1_batch_free(&b);
    if (rc != SYNC_OK)
        return rc;
    size_t i;
    json_t *r;
    json_array_foreach(d1_rows(res, 0), i, r) {
        const char *at = json_string_value(json_object_get(r, "started_at"));
        const char *zt = json_string_value(json_object_get(r, "finished_at"));
        int64_t a = 0, z = 0;
        if (at)
            sq_host->time_parse(at, strlen(at), &a);
        if (zt)
            sq_host->time_parse(zt, strlen(zt), &z);
        each(payload, json_string_value(json_object_get(r, "run_id")), a, z,
             json_string_value(json_object_get(r, "status")), json_string_value(json_object_get(r, "report")));
    }
    json_decref(res);
    return SYNC_OK;
}
