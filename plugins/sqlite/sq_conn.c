/*
 * sq_conn.c - opening SQLite files, classifying errors, transactions and
 * table introspection (see sq_conn.h).
 */
#include "sq_conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static char *dup_opt(const sync_config *cfg, const char *name, const char *dflt)
{
    const char *v = sq_host->config_get_string(cfg, name);
    return strdup(v ? v : dflt);
}

int sq_settings_read(sync_ctx *ctx, const sync_config *cfg, sq_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->path = dup_opt(cfg, "path", "");
    s->journal_mode = dup_opt(cfg, "journal_mode", "wal");
    s->synchronous = dup_opt(cfg, "synchronous", "full");
    s->busy_timeout_ms = 5000;
    sq_host->config_get_int(cfg, "busy_timeout", &s->busy_timeout_ms);
    sq_host->config_get_bool(cfg, "create", &s->create);
    sq_host->config_get_bool(cfg, "foreign_keys", &s->foreign_keys);
    if (!s->path || !s->journal_mode || !s->synchronous) {
        sq_settings_free(s);
        return SYNC_E_NOMEM;
    }
    if (!*s->path) {
        sq_host->set_error(ctx, "option \"path\" is empty (%s)", sq_host->config_where(cfg, "path"));
        sq_settings_free(s);
        return SYNC_E_CONFIG;
    }
    return SYNC_OK;
}

void sq_settings_free(sq_settings *s)
{
    free(s->path);
    free(s->journal_mode);
    free(s->synchronous);
    memset(s, 0, sizeof(*s));
}

int sq_status(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE: return SYNC_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return SYNC_E_UNAVAILABLE; /* another connection held the file beyond busy_timeout */
    case SQLITE_PROTOCOL: return SYNC_E_UNAVAILABLE;
    case SQLITE_INTERRUPT: return SYNC_E_CANCELLED;
    case SQLITE_NOMEM: return SYNC_E_NOMEM;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE: return SYNC_E_DATA;
    case SQLITE_CANTOPEN: return SYNC_E_NOTFOUND;
    case SQLITE_AUTH:
    case SQLITE_PERM: return SYNC_E_AUTH;
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FULL: return SYNC_E_IO;
    case SQLITE_SCHEMA: return SYNC_E_CONFLICT; /* the schema changed under a prepared statement */
    case SQLITE_ERROR: return SYNC_E_SCHEMA;   /* no such table / column, a syntax error */
    default: return SYNC_ERROR;
    }
}

int sq_fail(sq_conn *c, int rc, const char *what)
{
    const char *msg = c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        sq_host->set_error(c->ctx, "%s: %s (file %s, still locked after busy_timeout %lld ms)", what, msg,
                           c->set->path, (long long)c->set->busy_timeout_ms);
    else
        sq_host->set_error(c->ctx, "%s: %s (file %s)", what, msg, c->set->path);
    return sq_status(rc);
}

int sq_exec(sq_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SYNC_OK : sq_fail(c, rc, "statement failed");
}

int sq_begin_write(sq_conn *c)
{
    int rc = sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    return rc == SQLITE_OK ? SYNC_OK : sq_fail(c, rc, "cannot take the write lock");
}

int sq_begin_read(sq_conn *c)
{
    int rc = sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL);
    return rc == SQLITE_OK ? SYNC_OK : sq_fail(c, rc, "cannot begin a read");
}

int sq_commit(sq_conn *c)
{
    int rc = sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return SYNC_OK;
    int st = sq_fail(c, rc, "commit failed");
    sq_rollback(c);
    return st;
}

void sq_rollback(sq_conn *c)
{
    if (c->db && !sqlite3_get_autocommit(c->db))
        sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}

int sq_end(sq_conn *c, int rc)
{
    if (rc == SYNC_OK)
        return sq_commit(c);
    sq_rollback(c);
    return rc;
}

sqlite3_stmt *sq_prepare(sq_conn *c, const char *sql, int *status)
{
    sqlite3_stmt *st = NULL;
    if (!sql) {
        *status = SYNC_E_NOMEM;
        return NULL;
    }
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        *status = sq_fail(c, rc, "cannot prepare a statement");
        sqlite3_finalize(st);
        return NULL;
    }
    *status = SYNC_OK;
    return st;
}

/* Sets the error of a failed step of opening, closes the connection and returns the status. */
static int open_fail(sq_conn *c, int rc, const char *what)
{
    int st = sq_fail(c, rc, what);
    sq_conn_close(c);
    return st;
}

int sq_conn_open(sq_conn *c, sync_ctx *ctx, const sq_settings *set, int read_only)
{
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->set = set;
    c->read_only = read_only;
    int flags = read_only ? SQLITE_OPEN_READONLY
                          : SQLITE_OPEN_READWRITE | (set->create ? SQLITE_OPEN_CREATE : 0);
    /* one connection per thread of the engine; the full mutex costs nothing measurable here */
    flags |= SQLITE_OPEN_FULLMUTEX;
    int rc = sqlite3_open_v2(set->path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        int st = sq_status(rc);
        sq_host->set_error(ctx, "cannot open SQLite file %s: %s%s", set->path,
                           c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc),
                           (rc & 0xff) == SQLITE_CANTOPEN && !set->create && !read_only
                               ? " (it must exist; create = on makes it)" : "");
        sqlite3_close(c->db);
        c->db = NULL;
        return st;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, (int)(set->busy_timeout_ms > 2147483647 ? 2147483647 : set->busy_timeout_ms));
    /* the first read of the file: a file that is not a database fails here, clearly */
    rc = sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return open_fail(c, rc, "cannot read the SQLite file");
    char sql[128];
    if (!read_only && strcmp(set->journal_mode, "wal") == 0) {
        rc = sqlite3_exec(c->db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
            return open_fail(c, rc, "cannot switch to WAL mode");
    }
    snprintf(sql, sizeof(sql), "PRAGMA synchronous = %s; PRAGMA foreign_keys = %s",
             strcmp(set->synchronous, "off") == 0 ? "OFF" : strcmp(set->synchronous, "normal") == 0 ? "NORMAL" : "FULL",
             set->foreign_keys ? "ON" : "OFF");
    rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return open_fail(c, rc, "cannot set the connection's pragmas");
    return SYNC_OK;
}

void sq_conn_close(sq_conn *c)
{
    if (c->db) {
        sq_rollback(c);
        sqlite3_close_v2(c->db);
    }
    c->db = NULL;
}

int sq_conn_open_config(sq_conn *c, sq_settings *s, sync_ctx *ctx, const sync_config *cfg, int read_only)
{
    int rc = sq_settings_read(ctx, cfg, s);
    if (rc != SYNC_OK)
        return rc;
    rc = sq_conn_open(c, ctx, s, read_only);
    if (rc != SYNC_OK)
        sq_settings_free(s);
    return rc;
}

/* ------------------------------------------------------------ tables */

void sq_table_free(sq_table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->cols[i]);
        free(t->decl[i]);
    }
    free(t->cols);
    free(t->decl);
    free(t->pk);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

int sq_table_load(sq_conn *c, const char *name, sq_table *t)
{
    memset(t, 0, sizeof(*t));
    int st;
    sqlite3_stmt *s = sq_prepare(c, "SELECT type FROM sqlite_schema WHERE name = ?1 AND type IN ('table', 'view')", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        t->is_view = strcmp((const char *)sqlite3_column_text(s, 0), "view") == 0;
    sqlite3_finalize(s);
    if (rc == SQLITE_DONE) {
        sq_host->set_error(c->ctx, "table \"%s\" does not exist in %s", name, c->set->path);
        return SYNC_E_NOTFOUND;
    }
    if (rc != SQLITE_ROW)
        return sq_fail(c, rc, "cannot read the schema");
    s = sq_prepare(c, "SELECT name, type, pk FROM pragma_table_info(?1) ORDER BY cid", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    t->name = strdup(name);
    size_t cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (t->n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nc = realloc(t->cols, cap * sizeof(char *));
            if (nc)
                t->cols = nc;
            char **nd = realloc(t->decl, cap * sizeof(char *));
            if (nd)
                t->decl = nd;
            int *np = realloc(t->pk, cap * sizeof(int));
            if (np)
                t->pk = np;
            if (!nc || !nd || !np) {
                sqlite3_finalize(s);
                sq_table_free(t);
                return SYNC_E_NOMEM;
            }
        }
        const char *cn = (const char *)sqlite3_column_text(s, 0), *ct = (const char *)sqlite3_column_text(s, 1);
        t->cols[t->n] = strdup(cn ? cn : "");
        t->decl[t->n] = strdup(ct ? ct : "");
        t->pk[t->n] = sqlite3_column_int(s, 2);
        t->n++;
        if (!t->cols[t->n - 1] || !t->decl[t->n - 1]) {
            sqlite3_finalize(s);
            sq_table_free(t);
            return SYNC_E_NOMEM;
        }
    }
    sqlite3_finalize(s);
    if (rc != SQLITE_DONE) {
        sq_table_free(t);
        return sq_fail(c, rc, "cannot read the table's columns");
    }
    if (!t->name) {
        sq_table_free(t);
        return SYNC_E_NOMEM;
    }
    return SYNC_OK;
}

long sq_table_find(const sq_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->cols[i], name) == 0)
            return (long)i;
    /* SQLite's identifiers are case-insensitive (ASCII) */
    for (size_t i = 0; i < t->n; i++)
        if (strcasecmp(t->cols[i], name) == 0)
            return (long)i;
    return -1;
}

const char *sq_table_single_pk(const sq_table *t)
{
    const char *found = NULL;
    for (size_t i = 0; i < t->n; i++)
        if (t->pk[i]) {
            if (found)
                return NULL;
            found = t->cols[i];
        }
    return found;
}

int sq_key_in(const char *col, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(col, keys[i]) == 0)
            return 1;
    return 0;
}

int sq_keys_are_pk(const sq_table *t, const char *const *keys, size_t n_keys)
{
    size_t n_pk = 0, hit = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->pk[i]) {
            n_pk++;
            hit += sq_key_in(t->cols[i], keys, n_keys);
        }
    return n_pk && n_pk == n_keys && hit == n_keys;
}

int sq_table_has_unique(sq_conn *c, const sq_table *t, const char *const *keys, size_t n_keys)
{
    if (sq_keys_are_pk(t, keys, n_keys))
        return 1;
    int st;
    sqlite3_stmt *il = sq_prepare(c, "SELECT name FROM pragma_index_list(?1) WHERE \"unique\" AND NOT partial", &st);
    sqlite3_stmt *ii = sq_prepare(c, "SELECT name FROM pragma_index_info(?1)", &st);
    int found = 0;
    if (il && ii) {
        sqlite3_bind_text(il, 1, t->name, -1, SQLITE_STATIC);
        while (!found && sqlite3_step(il) == SQLITE_ROW) {
            sqlite3_reset(ii);
            sqlite3_bind_text(ii, 1, (const char *)sqlite3_column_text(il, 0), -1, SQLITE_TRANSIENT);
            size_t n = 0, h = 0;
            int expr = 0;
            while (sqlite3_step(ii) == SQLITE_ROW) {
                const char *cn = (const char *)sqlite3_column_text(ii, 0);
                n++;
                if (!cn)
                    expr = 1;
                else
                    h += sq_key_in(cn, keys, n_keys);
            }
            found = !expr && n == n_keys && h == n_keys;
        }
    }
    sqlite3_finalize(il);
    sqlite3_finalize(ii);
    return found;
}

/* ------------------------------------------------------------ problems */

void sq_problem(sq_problems *p, int status, const char *where, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->chk)
        p->chk->report(p->chk, where, msg);
    else if (p->n == 0)
        sq_host->set_error(p->ctx, "%s (%s)", msg, where);
    if (p->n++ == 0)
        p->status = status;
}

int sq_table_loaded(sq_problems *p, int rc, int status, const char *where, const char *what, const char *table,
                    const char *where_db)
{
    if (rc != SYNC_E_NOTFOUND)
        return rc;
    /* a missing table is the user's to fix, so it is reported where it was named, like any other problem */
    sq_problem(p, status, where, "%s \"%s\" does not exist in %s", what, table, where_db);
    return p->status;
}

int64_t sq_proc_start(long pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* field 22 (starttime) counted after the command's closing parenthesis */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    int field = 2;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoll(p, NULL, 10);
}
