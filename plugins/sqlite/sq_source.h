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

#include "sq_conn.h"

/* What one stream reads: the selected columns and the options that steer the read. */
typedef struct sq_plan {
    sq_table tb;
    size_t n;
    const char **cols;      /* selected columns (borrowed from tb) */
    sq_kind *kind;
    long key_i, cur_i, soft_i;
    const char *key;
    const char *cursor_col;
    const char *where;
    char *soft_col, *soft_val; /* soft_val NULL: any value but NULL, 0, '' or false means deleted */
    int change_log;
    int64_t settle_ms;
    sq_unit unit;
} sq_plan;

/*
 * Resolves what a stream reads against the columns of its table or view,
 * pl->tb (loaded by the caller): key, cursor column, soft-delete column,
 * selected fields.  where_db names the database in messages.  Problems go to
 * p; returns SYNC_OK or the first problem's status.
 */
int sq_plan_build(sq_plan *pl, const char *where_db, const char *table, const sync_config *opts,
                  const char *const *fields, size_t n_fields, const char *const *field_where,
                  const char *stream_where, sq_problems *p);
void sq_plan_free(sq_plan *pl);
/* The record type a column of declared type decl (kind k) is discovered as. */
sync_type sq_kind_type(sq_kind k, const char *decl);
/* Adds table or view name, of columns tb, to a discovered catalog: one stream, its fields typed by sq_kind_type. */
int sq_catalog_add(sync_catalog *cat, const char *name, const sq_table *tb);
/* The record key of a key value as text (into buf when it is a number); -1 for NULL. */
int sq_key_text(const sq_val *v, char *buf, size_t size, const char **out, size_t *len);
/*
 * The rules both backends read a row by (the file from sqlite3 columns, D1
 * from JSON), kept here so that a row reads the same through either:
 * sq_text_true: a text value of a boolean column that means true;
 * sq_soft_text_deleted: a soft-delete column's text that marks the row deleted;
 * sq_set_time: sets field f to usec as a timestamp, or as its day (kind DATE).
 */
int sq_text_true(const char *v);
int sq_soft_text_deleted(const sq_plan *pl, const char *v);
int sq_set_time(sync_record *rec, const char *f, sq_kind kind, int64_t usec);
/*
 * Starts the record of a row whose key value is key (a delete when deleted).
 * A NULL key: the row is skipped with a warning, *rec NULL and SYNC_OK.
 */
int sq_row_record_new(sync_ctx *ctx, const sq_plan *pl, const sq_val *key, int deleted, sync_emitter *em,
                      sync_record **rec);
/* Emits the text of cursor c. */
int sq_emit_cursor(sync_emitter *em, const sq_cursor *c);

int sq_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance);
int sq_source_discover(void *instance, sync_catalog *cat);
int sq_source_read(void *instance, const sync_stream_request *req, sync_emitter *em);
void sq_source_close(void *instance);
/* check --connect of a source use (see sync_plugin.probe). */
int sq_source_probe(void *instance, const sync_check *chk);

#endif /* SQ_SOURCE_H */
