/*
 * core/twoway_sql.c - the table side of a two-way job that both kinds of
 * stream (core/twoway.c, core/twoway_push.c) share: quoting, the column types,
 * the one value of an answer.  Statements go through core/sink_query.c.
 */
#include "twoway_sql.h"

#include <stdio.h>

#include "sink_query.h"

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
    int rc = syncc_sink_query(
        rt->sink, snk_inst, snk_ctx,
        "SELECT coalesce(jsonb_object_agg(attname, format_type(atttypid, atttypmod)), '{}'::jsonb) AS cols "
        "FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped",
        params, 1, &rows, err, errlen);
    if (rc != SYNC_OK)
        return rc;
    *coltypes = json_incref(syncc_tw_sql_first_value(rows, "cols"));
    json_decref(rows);
    return SYNC_OK;
}
