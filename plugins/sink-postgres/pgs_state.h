/*
 * pgs_state.h - the engine's own tables: cursors and run progress
 * (pgs_state.c).
 *
 * Layer 3, above the session (pgs_session.h): creating or checking the state
 * schema's tables, opening an instance on them, `syncengine setup`, and the
 * cursor and progress rows that each batch saves inside its own transaction.
 */
#ifndef PGS_STATE_H
#define PGS_STATE_H

#include <stdint.h>

#include "pgs_session.h"

/*
 * The sink's open: the instance from the section's options, connected, with
 * the engine's tables created when missing -- or, when the engine opened it
 * only to read (status), merely looked for.  SYNC_OK or an error set on ctx.
 */
int pgs_state_open(sync_ctx *ctx, const sync_config *cfg, pgs_instance **out);
/*
 * The sink's setup (`syncengine setup`): the DDL of the engine's tables into
 * *ddl_out (host memory), applied as the configured role when apply is set.
 */
int pgs_state_setup_section(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out);

/* Creates the state schema and its tables when missing. */
int pgs_state_bootstrap(pgs_instance *in);
/* Only looks whether the state tables exist (state_ready); creates nothing (a read-only open). */
int pgs_state_probe(pgs_instance *in);
/*
 * The DDL of the engine's own tables, as `syncengine setup` prints or applies
 * it: a string from malloc, or NULL without memory.
 */
char *pgs_state_ddl(const pgs_instance *in);
/* Applies pgs_state_ddl (as the owner); SYNC_OK or an error set on ctx. */
int pgs_state_setup(pgs_instance *in);

/* Saves a cursor inside the caller's open transaction. */
int pgs_state_save(pgs_instance *in, const sync_cursor *cur, pgs_err *err);
int pgs_state_load(pgs_instance *in, const char *job, const char *stream, char **cursor_out);
int pgs_state_reset(pgs_instance *in, const char *job, const char *stream);
/*
 * Adds a batch's counts to the run's progress row for stream (inside the
 * batch's transaction); nothing without a run id.
 */
int pgs_progress_add(pgs_instance *in, const char *job, const char *stream, const int64_t counts[6],
                     pgs_err *err);

#endif /* PGS_STATE_H */
