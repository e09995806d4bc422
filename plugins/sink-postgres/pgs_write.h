/*
 * pgs_write.h - stores one batch (pgs_write.c).
 *
 * Layer 4, above the target, the state (cursor and progress rows saved in
 * the batch's transaction), the hooks and the purge's key list; it reaches
 * its connection through the session (pgs_session_ready, pgs_job_begin).
 */
#ifndef PGS_WRITE_H
#define PGS_WRITE_H

#include "pgs_target.h"

/*
 * The sink's write: one transaction for the batch, its cursor and progress.
 * A failure is classified and returned, not retried here: SYNC_E_UNAVAILABLE
 * (and the other transient statuses) tell the engine to retry the batch.
 */
int pgs_write(pgs_instance *in, pgs_target *t, const sync_batch *batch, const sync_cursor *cursor,
              sync_write_result *result);

#endif /* PGS_WRITE_H */
