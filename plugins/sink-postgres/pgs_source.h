/*
 * pgs_source.h - the PostgreSQL connector's source role.
 *
 * Reads a table or view (schema-qualified allowed, resolved by the server
 * like any SQL name) in pages of the engine's batch size, each page one
 * statement in a short transaction of its own (no snapshot is held across
 * the run, and it works through a transaction-mode pooler).  Incremental by
 * a tie-safe keyset cursor on (cursor column, key) that stops at the
 * database's now() minus settle, or by a change-log table filled by a trigger
 * the plugin installs (change_log = on), which also catches hard deletes and
 * writes that leave the cursor column alone.  Built on the connection layer
 * (pgs_conn) and the SQL helpers (pgs_sql.h) only; the sink's files are not
 * used.
 */
#ifndef PGS_SOURCE_H
#define PGS_SOURCE_H

#include <sync/sync.h>

/* Name of the change-log table in the section's state_schema, and of the trigger on each table. */
#define PGS_CHANGES_TABLE "sync_changes"
#define PGS_CHANGES_TRIGGER "syncengine_changes"

int pgs_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int pgs_source_discover(void *instance, sync_catalog *cat);
int pgs_source_read(void *instance, const sync_stream_request *req, sync_emitter *em);
void pgs_source_close(void *instance);
/*
 * `syncengine setup` for one stream (sync_source_ops.setup_stream, ABI 1.3):
 * with source.change_log on, the change-log table, its function and the
 * table's trigger; nothing otherwise.  Reads the catalog (the table, its
 * primary key) even when only printing.
 */
int pgs_source_setup(sync_ctx *ctx, const sync_config *cfg, const char *object, const sync_config *stream_options,
                     int apply, char **ddl_out);
/* The offline check of a source use (sync_plugin.check with chk->is_source). */
int pgs_source_check(const sync_check *chk);
/* check --connect of a source use (sync_plugin.probe with chk->is_source). */
int pgs_source_probe(void *instance, const sync_check *chk);

#endif /* PGS_SOURCE_H */
