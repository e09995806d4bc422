/*
 * d1_compare.h - what the compare operations (sq_compare.c) need of D1.
 *
 * D1 cannot run the C functions that hash rows, so a D1 table is mirrored
 * into a private scratch SQLite file (a temporary file, unlinked at close)
 * on which sq_compare.c registers them; summaries, splits and fetches then
 * run there unchanged.  Integrity-rule queries and the verify history run on
 * D1 itself.
 */
#ifndef D1_COMPARE_H
#define D1_COMPARE_H

#include <stdint.h>

#include <sync/sync.h>

#include "d1_conn.h"
#include "sq_conn.h"

/*
 * Opens the scratch database: a new file from mkstemp under $TMPDIR (or
 * /tmp), no journal on disk, a small page cache.  s->path receives its name.
 * On failure (error set) nothing is left behind.
 */
int d1_scratch_open(sq_conn *c, sq_settings *s, sync_ctx *ctx);
/* Closes the scratch database and removes its file. */
void d1_scratch_close(sq_conn *c, sq_settings *s);

/*
 * Copies D1 table tb (its columns and declared types, d1_table_load) into a
 * table of the same name, columns, types and primary key in the scratch
 * database (replacing one left there before), in key order, pages of 1,000
 * rows, one scratch transaction; key is the column the pages follow (a
 * unique one).  *rows receives the number of rows copied.
 */
int d1_mirror_table(d1_conn *d1, sq_conn *scratch, const sq_table *tb, const char *key, int64_t *rows);

/*
 * Whether sql is one statement that only reads: it begins with SELECT or WITH
 * and has no word that writes (INSERT, UPDATE, DELETE, REPLACE as a
 * statement, CREATE, DROP, PRAGMA ...) and no second statement outside quotes
 * and comments.  D1 cannot say (SQLite's sqlite3_stmt_readonly), so the text
 * is judged.
 */
int d1_sql_read_only(const char *sql);

/* compare.query on D1: one read-only SELECT with text parameters ?1..; each row's values as text. */
int d1_compare_query(d1_conn *d1, const char *sql, const char *const *params, size_t n_params,
                     void (*row)(void *payload, size_t n, const char *const *values), void *payload);

/* compare.history_add / history on D1 (the table the file backend keeps, created when missing). */
int d1_history_add(d1_conn *d1, const char *job, const char *run_id, int64_t started_at, int64_t finished_at,
                   const char *status, const char *report_json);
int d1_history(d1_conn *d1, const char *job, int max,
               void (*each)(void *payload, const char *run_id, int64_t started_at, int64_t finished_at,
                            const char *status, const char *report_json),
               void *payload);

#endif /* D1_COMPARE_H */
