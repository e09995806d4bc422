/*
 * pgs_query.h - the sink's query operation (pgs_query.c).
 *
 * Layer 3, on the session: one statement outside any run, rows as a JSON array.
 */
#ifndef PGS_QUERY_H
#define PGS_QUERY_H

#include <stddef.h>

#include "pgs_session.h"

int pgs_query(pgs_instance *in, const char *sql, const char *const *params, size_t n_params, char **rows_out);

#endif /* PGS_QUERY_H */
