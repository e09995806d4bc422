/*
 * pgs_purge.h - the full-refresh sweep of rows whose records are gone
 * (pgs_purge.c).
 *
 * Layer 4, above the target (pgs_target.h), the session and the hooks.
 */
#ifndef PGS_PURGE_H
#define PGS_PURGE_H

#include "pgs_target.h"

/* After the target is built: sets up the sweep when the stream is a full refresh with purge_scope. */
int pgs_purge_prepare(pgs_instance *in, pgs_target *t, const sync_target *st);
/* Inside a batch's transaction, after the rows are stored: lists the batch's keys. */
int pgs_purge_batch(pgs_instance *in, pgs_target *t, pgs_err *err);
/* The sink's full_read_done: marks the unseen rows in scope, in one transaction. */
int pgs_purge_sweep(pgs_instance *in, pgs_target *t, sync_write_result *result);

#endif /* PGS_PURGE_H */
