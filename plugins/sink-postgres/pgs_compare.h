/*
 * pgs_compare.h - the PostgreSQL connector's compare operations (ABI 1.3):
 * what `syncengine verify` asks of a table.  Counts and hashes of key
 * ranges are computed in SQL on the server (md5 of each row's canonical
 * text, summed), so only differing ranges' rows ever leave the database.
 * Self-contained: its own connection (libpq) on the section's conninfo.
 */
#ifndef PGS_COMPARE_H
#define PGS_COMPARE_H

#include <sync/sync.h>

#include "pgs_host.h"

extern const sync_compare_ops pgs_compare_ops;

#endif /* PGS_COMPARE_H */
