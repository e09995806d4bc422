/*
 * sq_compare.h - the SQLite connector's compare operations (ABI 1.3):
 * what `syncengine verify` asks of a table.
 *
 * Counts and hashes of key ranges are computed inside SQLite by C functions
 * registered on the connection (se_canon, se_rowhash, se_hashsum), which
 * write each value in the canonical text docs/plugin-abi.md defines, so that
 * a range's hash here equals the hash PostgreSQL computes in SQL for the
 * same rows.  Built on sq_conn.h and sq_sql.h only.
 */
#ifndef SQ_COMPARE_H
#define SQ_COMPARE_H

#include <stddef.h>

#include <sync/sync.h>

#include "sq_sql.h"

SQ_HIDDEN extern const sync_compare_ops sq_compare_ops;

/*
 * The canonical text of a number written as text ("1.50", "-0", "1e3",
 * "00.5"): a plain decimal without exponent, leading or trailing zeros
 * ("1.5", "0", "1000", "0.5").  Returns the length, or -1 when s is not a
 * number (out is then unspecified).  Exposed for the unit tests.
 */
SQ_HIDDEN int sq_canon_decimal(const char *s, char *out, size_t size);
/* The canonical text of a JSON document (PostgreSQL's jsonb text), malloc'd; NULL when s is not JSON. */
SQ_HIDDEN char *sq_canon_json(const char *s, size_t len);
/* MD5 of data into 16 bytes. */
SQ_HIDDEN void sq_md5(const void *data, size_t len, unsigned char out[16]);

#endif /* SQ_COMPARE_H */
