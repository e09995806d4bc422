/*
 * core/twoway_sql.c - the table side of a two-way job: one statement through
 * the PostgreSQL sink's query operation, its answer read as JSON rows.  Both
 * kinds of stream (core/twoway.c, core/twoway_push.c) reach the table only
 * this way, so its errors read the same whichever kind of stream hit them.
 */
#include "twoway_sql.h"

#include <stdio.h>

#include "hostapi.h"
#include "status.h"

int syncc_tw_sql_query(const syncc_job_rt *rt, void *snk_inst, sync_ctx *snk_ctx, const char *sql,
                       const char *const *params, size_t n, json_t **rows, char *err, size_t errlen)
{
    char *text = NULL;
    json_error_t jerr;
    int rc;

    snk_ctx->errbuf[0] = '\0';
    rc = rt->sink->sink.query(snk_inst, sql, params, n, rows ? &text : NULL);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "%s%s%s", syncc_strerror(rc), snk_ctx->errbuf[0] ? ": " : "", snk_ctx->errbuf);
        syncc_host()->free(text);
        return rc;
    }
    if (rows) {
        *rows = text ? json_loads(text, 0, &jerr) : json_array();
        syncc_host()->free(text);
        if (*rows == NULL || !json_is_array(*rows)) {
            json_decref(*rows);
            *rows = NULL;
            snprintf(err, errlen, "the sink's answer is not a JSON array");
            return SYNC_E_PROTOCOL;
        }
    }
    return SYNC_OK;
}

json_t *syncc_tw_sql_first_value(json_t *rows, const char *col)
{
    json_t *r = json_array_get(rows, 0);
    return r ? json_object_get(r, col) : NULL;
}

void syncc_tw_sql_quote_ident(const char *name, char *out, size_t size, int dotted)
{
    size_t o = 0;
    out[o++] = '"';
    /* room for the widest step (3 bytes), the closing quote and the NUL */
    for (const char *q = name; *q && o + 4 < size; q++) {
        if (dotted && *q == '.') {
            out[o++] = '"';
            out[o++] = '.';
            out[o++] = '"';
            continue;
        }
        if (*q == '"')
            out[o++] = '"';
        out[o++] = *q;
    }
    out[o++] = '"';
    out[o] = '\0';
}

int syncc_tw_sql_column_types(const syncc_job_rt *rt, void *snk_inst, sync_ctx *snk_ctx, const char *table,
                              json_t **coltypes, char *err, size_t errlen)
{
    const char *params[1] = {table};
    json_t *rows = NULL;
    int rc = syncc_tw_sql_query(
        rt, snk_inst, snk_ctx,
        "SELECT coalesce(jsonb_object_agg(attname, format_type(atttypid, atttypmod)), '{}'::jsonb) AS cols "
        "FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        params, 1, &rows, err, errlen);
    if (rc != SYNC_OK)
        return rc;
    *coltypes = json_incref(syncc_tw_sql_first_value(rows, "cols"));
    json_decref(rows);
    return SYNC_OK;
}
