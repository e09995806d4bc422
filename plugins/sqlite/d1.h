/*
 * d1.h - the sqlite plugin's roles on Cloudflare D1.
 *
 * Selected by d1_database_id in a [source NAME] or [sink NAME] section; the
 * same options and behaviour as the file backend (sq_source.h, sq_sink.h),
 * the same SQL (sq_sql.h) sent through D1's HTTP query API (d1_conn.h)
 * instead of libsqlite3.  What differs: a sink batch is one request, which D1
 * runs as one transaction (the cursor and the lease check inside it); the
 * runs table gets each run's counts when it finishes; sink.run_log_table and
 * source.change_log are not available.
 */
#ifndef D1_H
#define D1_H

#include <sync/sync.h>

int d1_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int d1_source_discover(void *instance, sync_catalog *cat);
int d1_source_read(void *instance, const sync_stream_request *req, sync_emitter *em);
void d1_source_close(void *instance);
int d1_source_probe(void *instance, const sync_check *chk);

int d1_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int d1_sink_begin(void *instance, const sync_run_info *run);
int d1_sink_prepare(void *instance, const sync_target *target, void **target_state);
int d1_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result);
int d1_sink_finish(void *instance, const sync_run_info *run);
void d1_sink_close(void *instance);
int d1_sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out);
int d1_sink_state_reset(void *instance, const char *job, const char *stream);
int d1_sink_lease_acquire(void *instance, const char *job, int *acquired);
void d1_sink_lease_release(void *instance, const char *job);
int d1_sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                 void *payload);
int d1_sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out);
int d1_sink_probe(void *instance, const sync_check *chk);

#endif /* D1_H */
