/*
 * core/sink_query.h - one statement through the query operation of an open
 * sink instance (the PostgreSQL sink), its answer read as JSON rows: what the
 * two-way runs, `syncengine conflicts` and the tenant sets all need.
 */
#ifndef SYNCC_SINK_QUERY_H
#define SYNCC_SINK_QUERY_H

#include <jansson.h>
#include <stddef.h>

#include "hostapi.h"
#include "loader.h"

/*
 * Runs sql with params (n of them) through p's query operation on instance
 * inst, opened with ctx (its errbuf is cleared first and read after).  *rows
 * (rows may be NULL: the answer is not wanted) gets the answer's rows, a JSON
 * array the caller owns.  Returns SYNC_OK, the sink's status, or
 * SYNC_E_PROTOCOL when the answer is not a JSON array; on error err (errlen
 * bytes) says why and no rows are handed over.
 */
int syncc_sink_query(const syncc_plugin *p, void *inst, sync_ctx *ctx, const char *sql, const char *const *params,
                     size_t n, json_t **rows, char *err, size_t errlen);

#endif /* SYNCC_SINK_QUERY_H */
