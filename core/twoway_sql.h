/*
 * core/twoway_sql.h - the table side of a two-way job (through the
 * PostgreSQL sink's query operation), shared by the streams that go both ways
 * (core/twoway.c) and those that only push (core/twoway_push.c).
 */
#ifndef SYNCC_TWOWAY_SQL_H
#define SYNCC_TWOWAY_SQL_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"

/* Column col of the first row of rows (borrowed), or NULL: the one value of a one-row answer. */
json_t *syncc_tw_sql_first_value(json_t *rows, const char *col);

/*
 * name as a quoted SQL identifier in out (size bytes, truncated to fit);
 * with dotted, "schema.name" becomes "schema"."name".
 */
void syncc_tw_sql_quote_ident(const char *name, char *out, size_t size, int dotted);

/*
 * The column types of table (already quoted): *coltypes gets a JSON object
 * column -> format_type(), owned by the caller.  Returns as syncc_sink_query.
 */
int syncc_tw_sql_column_types(const syncc_job_rt *rt, void *snk_inst, sync_ctx *snk_ctx, const char *table,
                              json_t **coltypes, char *err, size_t errlen);

#endif /* SYNCC_TWOWAY_SQL_H */
