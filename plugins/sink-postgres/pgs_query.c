/*
 * pgs_query.c - the sink's query operation (ABI 1.2): one statement of the
 * configuration run outside any run, for the core's tenant sets.
 *
 * The core reads its tenants with it (a SELECT on the application's own
 * tables) and writes back what belongs to a tenant's row (rotated tokens, an
 * authentication failure).  The statement runs in a transaction of its own
 * with the instance's statement_timeout; its rows come back as a JSON array
 * of objects so that nothing of libpq crosses the plugin boundary: columns of
 * type json and jsonb are embedded as JSON, every other value as its text.
 * Parameters are bound as $1..$n (only those the statement refers to; a
 * position it skips is bound as text), so values never become SQL text, and
 * they are never logged (they carry tokens).
 */
#include "pgs_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEXTOID 25
#define JSONOID 114
#define JSONBOID 3802

/* Appends s as a JSON string literal. */
static void json_string(pgs_buf *b, const char *s)
{
    pgs_buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': pgs_buf_add(b, "\\\"", 2); break;
        case '\\': pgs_buf_add(b, "\\\\", 2); break;
        case '\n': pgs_buf_add(b, "\\n", 2); break;
        case '\r': pgs_buf_add(b, "\\r", 2); break;
        case '\t': pgs_buf_add(b, "\\t", 2); break;
        default:
            if (*p < 0x20)
                pgs_buf_printf(b, "\\u%04x", *p);
            else
                pgs_buf_add(b, (const char *)p, 1);
        }
    }
    pgs_buf_add(b, "\"", 1);
}

static char *rows_json(const PGresult *res)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_add(&b, "[", 1);
    int nf = PQnfields(res);
    for (int r = 0; r < PQntuples(res); r++) {
        pgs_buf_add(&b, r ? ",{" : "{", r ? 2 : 1);
        for (int f = 0; f < nf; f++) {
            if (f)
                pgs_buf_add(&b, ",", 1);
            json_string(&b, PQfname(res, f));
            pgs_buf_add(&b, ":", 1);
            Oid type = PQftype(res, f);
            if (PQgetisnull(res, r, f))
                pgs_buf_puts(&b, "null");
            else if (type == JSONOID || type == JSONBOID)
                pgs_buf_puts(&b, PQgetvalue(res, r, f));
            else
                json_string(&b, PQgetvalue(res, r, f));
        }
        pgs_buf_add(&b, "}", 1);
    }
    pgs_buf_add(&b, "]", 1);
    return pgs_buf_take(&b);
}

int pgs_query(pgs_instance *in, const char *sql, const char *const *params, size_t n_params, char **rows_out)
{
    pgs_err err;
    memset(&err, 0, sizeof(err));
    if (rows_out)
        *rows_out = NULL;
    unsigned char used[64];
    size_t limit = n_params < sizeof(used) ? n_params : sizeof(used);
    int max = pgs_sql_param_refs(sql, used, limit);
    if (max < 0) {
        pgs_host->set_error(in->ctx, "the statement refers to a parameter beyond the %zu value(s) given", n_params);
        return SYNC_E_CONFIG;
    }
    unsigned types[64];
    for (int i = 0; i < max; i++)
        types[i] = used[i] ? 0 : TEXTOID;
    int rc = pgs_conn_ensure(&in->conn, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    rc = pgs_tx_begin(&in->conn, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    PGresult *res = pgs_exec(&in->conn, sql, max, params, types, &err);
    if (!res) {
        PQclear(PQexec(in->conn.pg, "ROLLBACK"));
        return pgs_fail(in->ctx, &err);
    }
    char *text = NULL;
    if (rows_out && PQresultStatus(res) == PGRES_TUPLES_OK) {
        text = rows_json(res);
        if (!text) {
            PQclear(res);
            PQclear(PQexec(in->conn.pg, "ROLLBACK"));
            return SYNC_E_NOMEM;
        }
    }
    PQclear(res);
    rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    if (rc != SYNC_OK) {
        free(text);
        return pgs_fail(in->ctx, &err);
    }
    if (text) {
        size_t n = strlen(text);
        *rows_out = pgs_host->alloc(n + 1);
        if (*rows_out)
            memcpy(*rows_out, text, n + 1);
        free(text);
        if (!*rows_out)
            return SYNC_E_NOMEM;
    }
    return SYNC_OK;
}
