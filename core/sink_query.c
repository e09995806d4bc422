/*
 * core/sink_query.c - one statement through a sink's query operation, its
 * answer (text the host frees) read as JSON rows.  One place, so that every
 * caller reports the sink's errors and a malformed answer in the same words.
 */
#include "sink_query.h"

#include <stdio.h>

#include "status.h"

int syncc_sink_query(const syncc_plugin *p, void *inst, sync_ctx *ctx, const char *sql, const char *const *params,
                     size_t n, json_t **rows, char *err, size_t errlen)
{
    char *text = NULL;
    json_error_t jerr;
    int rc;

    ctx->errbuf[0] = '\0';
    rc = p->sink.query(inst, sql, params, n, rows ? &text : NULL);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "%s%s%s", syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
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
