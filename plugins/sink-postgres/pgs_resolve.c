/*
 * pgs_resolve.c - a column resolved through another table (sink.resolve).
 *
 * A child row often names its parent by the parent's natural key (an
 * ElevenLabs conversation id) where the table wants the parent's own id (a
 * uuid the calling side chose).  With
 *
 *   sink.resolve = conversation_id: conversations.id by elevenlabs_conversation_id
 *
 * the mapped value of conversation_id is staged in a column of its own typed
 * like conversations.elevenlabs_conversation_id, and in the batch's
 * transaction, before duplicates are dropped and the upsert runs:
 *
 *   1. one DELETE ... USING (staging LEFT JOIN parent) takes out the staged
 *      upserts whose natural key has no parent row and returns them, so each
 *      is rejected with its key and the missing value (never dropped
 *      silently); a delete of such a row finds nothing to delete (its key
 *      stays NULL) and is counted unchanged, as any delete of an absent row;
 *   2. one UPDATE ... FROM (staging LEFT JOIN parent) writes the parents' ids
 *      into the target's column.
 *
 * Set-based, whatever the batch size: two statements, no query per record.
 * Identifiers are quoted; the parent table is resolved by the server
 * (to_regclass), like the target.  A parent stored by an earlier stream of
 * the same run is found: its batch committed before this one began.
 */
#include "pgs_resolve.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ------------------------------------------------------------ parsing */

static char *trim_dup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* A column name as written: "Quoted" loses its quotes ("" becomes "), else as is. */
static char *name_dup(const char *s, size_t n, const char **why)
{
    char *t = trim_dup(s, n);
    if (!t)
        return NULL;
    size_t len = strlen(t);
    if (len == 0) {
        *why = "a name is empty";
        free(t);
        return NULL;
    }
    if (t[0] == '"') {
        if (len < 3 || t[len - 1] != '"') {
            *why = "a quoted name is not closed";
            free(t);
            return NULL;
        }
        size_t o = 0;
        for (size_t i = 1; i + 1 < len; i++) {
            t[o++] = t[i];
            if (t[i] == '"' && t[i + 1] == '"')
                i++;
        }
        t[o] = '\0';
        return t;
    }
    for (size_t i = 0; i < len; i++) {
        if (isspace((unsigned char)t[i]) || t[i] == '"' || t[i] == '.' || t[i] == ':') {
            *why = "a name holds a space, dot, colon or quote (quote it)";
            free(t);
            return NULL;
        }
    }
    return t;
}

/* The first c outside double quotes in s[0..n), or NULL; last != 0: the last one. */
static const char *find_unquoted(const char *s, size_t n, char c, int last)
{
    const char *hit = NULL;
    int q = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            q = !q;
        else if (!q && s[i] == c) {
            hit = s + i;
            if (!last)
                break;
        }
    }
    return hit;
}

/* " by " (any case, blanks around it) outside quotes; NULL when absent. */
static const char *find_by(const char *s, size_t n, size_t *len)
{
    int q = 0;
    for (size_t i = 0; i + 2 < n; i++) {
        if (s[i] == '"')
            q = !q;
        if (q || !isspace((unsigned char)s[i]) || strncasecmp(s + i + 1, "by", 2) != 0 ||
            i + 3 >= n || !isspace((unsigned char)s[i + 3]))
            continue;
        *len = 4;
        return s + i;
    }
    return NULL;
}

int pgs_resolve_parse(const char *item, char **column, char **table, char **id, char **by, const char **why)
{
    *column = *table = *id = *by = NULL;
    *why = "out of memory";
    size_t n = strlen(item);
    const char *colon = find_unquoted(item, n, ':', 0);
    if (!colon) {
        *why = "no ':' after the column (want column: table.id by key_column)";
        return -1;
    }
    const char *rest = colon + 1;
    size_t rn = n - (size_t)(rest - item), by_len = 0;
    const char *b = find_by(rest, rn, &by_len);
    if (!b) {
        *why = "no \"by key_column\" (want column: table.id by key_column)";
        return -1;
    }
    size_t left_n = (size_t)(b - rest);
    const char *dot = find_unquoted(rest, left_n, '.', 1);
    if (!dot) {
        *why = "no table.id before \"by\" (want column: table.id by key_column)";
        return -1;
    }
    *column = name_dup(item, (size_t)(colon - item), why);
    if (*column)
        *table = trim_dup(rest, (size_t)(dot - rest));
    if (*table && !**table)
        *why = "the table is empty";
    if (*table && **table)
        *id = name_dup(dot + 1, (size_t)(b - dot - 1), why);
    if (*id)
        *by = name_dup(b + by_len, rn - left_n - by_len, why);
    if (!*by) {
        free(*column);
        free(*table);
        free(*id);
        *column = *table = *id = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------ statements */

static void stage_ref(pgs_buf *b, const char *stage)
{
    pgs_buf_puts(b, "pg_temp.");
    pgs_quote_ident(b, stage);
}

/* FROM pg_temp."stage" AS x LEFT JOIN parent AS p0 ON p0."by" = x."_sync_r0" ... */
static void joined(pgs_buf *b, const char *stage, const pgs_sqlres *r, size_t n)
{
    pgs_buf_puts(b, " FROM ");
    stage_ref(b, stage);
    pgs_buf_puts(b, " AS x");
    for (size_t i = 0; i < n; i++) {
        pgs_buf_printf(b, " LEFT JOIN %s AS p%zu ON p%zu.", r[i].parent_q, i, i);
        pgs_quote_ident(b, r[i].by_col);
        pgs_buf_puts(b, " = x.");
        pgs_quote_ident(b, r[i].stage_col);
    }
}

char *pgs_sql_resolve_missing(const char *stage, const pgs_sqlres *r, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "DELETE FROM ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s USING (SELECT x.\"" PGS_SEQ_COL "\"");
    for (size_t i = 0; i < n; i++) {
        pgs_buf_puts(&b, ", CASE WHEN x.\"" PGS_OP_COL "\" = 0 AND x.");
        pgs_quote_ident(&b, r[i].stage_col);
        pgs_buf_printf(&b, " IS NOT NULL AND p%zu.", i);
        pgs_quote_ident(&b, r[i].by_col);
        pgs_buf_puts(&b, " IS NULL THEN x.");
        pgs_quote_ident(&b, r[i].stage_col);
        pgs_buf_printf(&b, "::text END AS \"_sync_m%zu\"", i);
    }
    joined(&b, stage, r, n);
    pgs_buf_puts(&b, ") AS m WHERE s.\"" PGS_SEQ_COL "\" = m.\"" PGS_SEQ_COL "\" AND (");
    for (size_t i = 0; i < n; i++)
        pgs_buf_printf(&b, "%sm.\"_sync_m%zu\" IS NOT NULL", i ? " OR " : "", i);
    pgs_buf_puts(&b, ") RETURNING s.\"" PGS_SEQ_COL "\"");
    for (size_t i = 0; i < n; i++)
        pgs_buf_printf(&b, ", m.\"_sync_m%zu\"", i);
    return pgs_buf_take(&b);
}

char *pgs_sql_resolve_set(const char *stage, const pgs_sqlres *r, size_t n)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "UPDATE ");
    stage_ref(&b, stage);
    pgs_buf_puts(&b, " AS s SET ");
    for (size_t i = 0; i < n; i++) {
        if (i)
            pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, r[i].column);
        pgs_buf_printf(&b, " = m.\"_sync_v%zu\"", i);
    }
    pgs_buf_puts(&b, " FROM (SELECT x.\"" PGS_SEQ_COL "\"");
    for (size_t i = 0; i < n; i++) {
        pgs_buf_printf(&b, ", p%zu.", i);
        pgs_quote_ident(&b, r[i].id_col);
        pgs_buf_printf(&b, " AS \"_sync_v%zu\"", i);
    }
    joined(&b, stage, r, n);
    pgs_buf_puts(&b, ") AS m WHERE s.\"" PGS_SEQ_COL "\" = m.\"" PGS_SEQ_COL "\"");
    return pgs_buf_take(&b);
}

/* ------------------------------------------------------------ prepare */

static int res_fail(pgs_instance *in, int status, const char *fmt, ...) SYNC_PRINTF(3, 4);

static int res_fail(pgs_instance *in, int status, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgs_host->set_error(in->ctx, "%s", msg);
    return status;
}

/* Staging holds a domain's base type, as the target's columns (pgs_target.c). */
#define BASE_TYPE(a, t) \
    "CASE WHEN " t ".typtype = 'd' THEN pg_catalog.format_type(" t ".typbasetype, " t ".typtypmod)" \
    " ELSE pg_catalog.format_type(" a ".atttypid, " a ".atttypmod) END"

/* The column of relation $1 named $N: exactly, else its lower-case spelling. */
#define COLUMN_OF(alias, param)                                                                      \
    " LEFT JOIN LATERAL (SELECT a.attnum, a.attname, " BASE_TYPE("a", "ty") " AS type"                \
    "  FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"             \
    "  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"                             \
    "   AND a.attname::text IN (" param "::text, pg_catalog.lower(" param "::text))"                 \
    "  ORDER BY a.attname::text = " param "::text DESC LIMIT 1) " alias " ON true"

static int prepare_one(pgs_instance *in, const char *item, const char *where, const char *table_display,
                       const char *const *attnames, const char *const *types, size_t n_cols, size_t index,
                       pgs_resolve *r)
{
    char *column, *table, *id, *by;
    const char *why;
    if (pgs_resolve_parse(item, &column, &table, &id, &by, &why) < 0)
        return res_fail(in, SYNC_E_CONFIG, "sink.resolve \"%s\": %s (%s)", item, why, where);
    int rc = SYNC_OK;
    size_t col = n_cols;
    for (size_t j = 0; j < n_cols && col == n_cols; j++)
        if (strcmp(attnames[j], column) == 0)
            col = j;
    for (size_t j = 0; j < n_cols && col == n_cols; j++)
        if (strcasecmp(attnames[j], column) == 0)
            col = j;
    if (col == n_cols) {
        rc = res_fail(in, SYNC_E_CONFIG, "sink.resolve: column \"%s\" of table %s is not mapped (%s)", column,
                      table_display, where);
        goto out;
    }
    const char *params[] = {table, id, by};
    pgs_err err;
    PGresult *res = pgs_exec(&in->conn,
                             "SELECT n.nspname, c.relname, c.relkind, i.attname, i.type, k.attname, k.type,"
                             "  EXISTS (SELECT 1 FROM pg_catalog.pg_index x WHERE x.indrelid = c.oid"
                             "   AND x.indisunique AND x.indisvalid AND x.indpred IS NULL AND x.indexprs IS NULL"
                             "   AND x.indnkeyatts = 1 AND x.indkey[0] = k.attnum)"
                             " FROM pg_catalog.pg_class c"
                             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                             COLUMN_OF("i", "$2") COLUMN_OF("k", "$3")
                             " WHERE c.oid = pg_catalog.to_regclass($1)",
                             3, params, NULL, &err);
    if (!res) {
        if (err.status == SYNC_ERROR || err.status == SYNC_E_DATA)
            err.status = SYNC_E_SCHEMA; /* e.g. "improper relation name" */
        pgs_err_prefix(&err, "sink.resolve (%s): ", where);
        rc = pgs_fail(in->ctx, &err);
        goto out;
    }
    if (PQntuples(res) != 1) {
        rc = res_fail(in, SYNC_E_SCHEMA, "sink.resolve: table \"%s\" does not exist (%s)", table, where);
    } else if (PQgetisnull(res, 0, 3) || PQgetisnull(res, 0, 5)) {
        rc = res_fail(in, SYNC_E_SCHEMA, "sink.resolve: column \"%s\" does not exist in table %s.%s (%s)",
                      PQgetisnull(res, 0, 3) ? id : by, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), where);
    } else if (strcmp(PQgetvalue(res, 0, 4), types[col]) != 0) {
        rc = res_fail(in, SYNC_E_SCHEMA,
                      "sink.resolve: %s.%s.%s is %s, but column \"%s\" of table %s is %s (%s)",
                      PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4),
                      attnames[col], table_display, types[col], where);
    } else if (PQgetvalue(res, 0, 7)[0] != 't') {
        rc = res_fail(in, SYNC_E_SCHEMA,
                      "sink.resolve: column \"%s\" of table %s.%s has no unique index or constraint of its own, "
                      "so a key could name several rows (%s)",
                      PQgetvalue(res, 0, 5), PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), where);
    } else {
        char name[32];
        snprintf(name, sizeof(name), PGS_RESOLVE_COL "%zu", index);
        pgs_buf b;
        pgs_buf_init(&b);
        pgs_quote_ident(&b, PQgetvalue(res, 0, 0));
        pgs_buf_puts(&b, ".");
        pgs_quote_ident(&b, PQgetvalue(res, 0, 1));
        r->parent_q = pgs_buf_take(&b);
        r->col = col;
        r->column = strdup(attnames[col]);
        r->stage_col = strdup(name);
        r->stage_type = strdup(PQgetvalue(res, 0, 6));
        r->id_col = strdup(PQgetvalue(res, 0, 3));
        r->by_col = strdup(PQgetvalue(res, 0, 5));
        r->parent = malloc(strlen(PQgetvalue(res, 0, 0)) + strlen(PQgetvalue(res, 0, 1)) + 2);
        if (r->parent)
            sprintf(r->parent, "%s.%s", PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
        if (!r->parent_q || !r->column || !r->stage_col || !r->stage_type || !r->id_col || !r->by_col ||
            !r->parent)
            rc = SYNC_E_NOMEM;
    }
    PQclear(res);
out:
    free(column);
    free(table);
    free(id);
    free(by);
    return rc;
}

int pgs_resolve_prepare(pgs_instance *in, const sync_config *options, const char *table_display,
                        const char *const *attnames, const char *const *types, size_t n_cols,
                        const char *stage, pgs_resolve_set *out)
{
    memset(out, 0, sizeof(*out));
    size_t n = pgs_opt_count(options, "resolve");
    if (n == 0)
        return SYNC_OK;
    const char *where = pgs_host->config_where(options, "resolve");
    for (size_t j = 0; j < n_cols; j++)
        if (strncmp(attnames[j], PGS_RESOLVE_COL, strlen(PGS_RESOLVE_COL)) == 0)
            return res_fail(in, SYNC_E_SCHEMA, "column \"%s\" of table %s clashes with the sink's staging "
                            "columns of sink.resolve (%s)", attnames[j], table_display, where);
    out->r = calloc(n, sizeof(*out->r));
    pgs_sqlres *sr = calloc(n, sizeof(*sr));
    int rc = out->r && sr ? SYNC_OK : SYNC_E_NOMEM;
    for (size_t k = 0; k < n && rc == SYNC_OK; k++) {
        rc = prepare_one(in, pgs_opt_item(options, "resolve", k), where, table_display, attnames, types, n_cols,
                         k, &out->r[k]);
        if (rc != SYNC_OK)
            break;
        out->n++;
        for (size_t m = 0; m < k; m++)
            if (out->r[m].col == out->r[k].col)
                rc = res_fail(in, SYNC_E_CONFIG, "sink.resolve: column \"%s\" is resolved twice (%s)",
                              out->r[k].column, where);
        sr[k].column = out->r[k].column;
        sr[k].stage_col = out->r[k].stage_col;
        sr[k].parent_q = out->r[k].parent_q;
        sr[k].id_col = out->r[k].id_col;
        sr[k].by_col = out->r[k].by_col;
    }
    if (rc == SYNC_OK) {
        out->sql_missing = pgs_sql_resolve_missing(stage, sr, n);
        out->sql_set = pgs_sql_resolve_set(stage, sr, n);
        if (!out->sql_missing || !out->sql_set)
            rc = SYNC_E_NOMEM;
    }
    free(sr);
    if (rc != SYNC_OK)
        pgs_resolve_free(out);
    return rc;
}

void pgs_resolve_free(pgs_resolve_set *rs)
{
    for (size_t i = 0; rs->r && i < rs->n; i++) {
        pgs_resolve *r = &rs->r[i];
        free(r->column);
        free(r->stage_col);
        free(r->stage_type);
        free(r->parent_q);
        free(r->parent);
        free(r->id_col);
        free(r->by_col);
    }
    free(rs->r);
    free(rs->sql_missing);
    free(rs->sql_set);
    memset(rs, 0, sizeof(*rs));
}

const char *pgs_resolve_copy_name(const pgs_resolve_set *rs, size_t j, const char *attname)
{
    for (size_t i = 0; i < rs->n; i++)
        if (rs->r[i].col == j)
            return rs->r[i].stage_col;
    return attname;
}

/* ------------------------------------------------------------ a batch */

int pgs_resolve_stage(pgs_conn *c, const pgs_resolve_set *rs, const char *table_display,
                      int (*reject)(void *arg, size_t seq, const char *why), void *arg, pgs_err *err)
{
    if (rs->n == 0)
        return SYNC_OK;
    PGresult *res = pgs_exec(c, rs->sql_missing, 0, NULL, NULL, err);
    if (!res)
        return err->status;
    int rc = SYNC_OK;
    for (int row = 0; row < PQntuples(res) && rc == SYNC_OK; row++) {
        size_t seq = (size_t)strtoull(PQgetvalue(res, row, 0), NULL, 10);
        for (size_t i = 0; i < rs->n; i++) {
            if (PQgetisnull(res, row, (int)i + 1))
                continue;
            const pgs_resolve *r = &rs->r[i];
            char why[700];
            snprintf(why, sizeof(why), "table %s, column %s: no row of %s has %s = '%.200s' (sink.resolve)",
                     table_display, r->column, r->parent, r->by_col, PQgetvalue(res, row, (int)i + 1));
            rc = reject(arg, seq, why);
            break;
        }
    }
    PQclear(res);
    if (rc != SYNC_OK) {
        pgs_err_set(err, rc, "out of memory");
        return rc;
    }
    res = pgs_exec(c, rs->sql_set, 0, NULL, NULL, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}
