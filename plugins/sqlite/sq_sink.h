/*
 * sq_sink.h - the SQLite connector's sink role.
 *
 * Batched upserts into a table, one BEGIN IMMEDIATE transaction per batch
 * holding the stream's cursor (SQ_STATE_TABLE) and a lease check; soft and
 * hard deletes; records SQLite refuses (constraints, type checks) rejected one
 * by one while the rest of the batch commits; the engine's run log
 * (SQ_RUNS_TABLE) and an optional run-log table of the user's; leases
 * (SQ_LEASES_TABLE) so that two engines on one file never write the same job
 * at once.  Built on sq_conn.h and sq_sql.h only.
 */
#ifndef SQ_SINK_H
#define SQ_SINK_H

#include <sync/sync.h>

int sq_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int sq_sink_begin(void *instance, const sync_run_info *run);
int sq_sink_prepare(void *instance, const sync_target *target, void **target_state);
int sq_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result);
int sq_sink_finish(void *instance, const sync_run_info *run);
void sq_sink_close(void *instance);
int sq_sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out);
int sq_sink_state_reset(void *instance, const char *job, const char *stream);
int sq_sink_lease_acquire(void *instance, const char *job, int *acquired);
void sq_sink_lease_release(void *instance, const char *job);
int sq_sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                 void *payload);
int sq_sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out);
/* check --connect of a sink use (see sync_plugin.probe). */
int sq_sink_probe(void *instance, const sync_check *chk);

#endif /* SQ_SINK_H */
