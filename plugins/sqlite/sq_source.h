/*
 * sq_source.h - the SQLite connector's source role.
 *
 * Reads a table or view in pages of the engine's batch size, each page in a
 * short read transaction of its own (WAL: an application writing the file is
 * never blocked by the engine's reads, and no snapshot is held across the
 * run).  Incremental by a tie-safe keyset cursor on (cursor column, key) that
 * stops at now - settle, or by a change-log table filled by triggers the
 * plugin installs (change_log = on), which also catches hard deletes and
 * writes that do not touch the cursor column.  Built on sq_conn.h and
 * sq_sql.h only.
 */
#ifndef SQ_SOURCE_H
#define SQ_SOURCE_H

#include <sync/sync.h>

int sq_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int sq_source_discover(void *instance, sync_catalog *cat);
int sq_source_read(void *instance, const sync_stream_request *req, sync_emitter *em);
void sq_source_close(void *instance);
/* check --connect of a source use (see sync_plugin.probe). */
int sq_source_probe(void *instance, const sync_check *chk);

#endif /* SQ_SOURCE_H */
