/*
 * sq_conn.h - the SQLite connector's connection layer.
 *
 * Opens a database file the way both roles need it: WAL journal (readers and
 * one writer at a time, so an application writing the same file is never
 * blocked by a reader), a busy timeout (a writer waits that long for the
 * file's write lock before giving up), synchronous as configured; classifies
 * SQLite's result codes into sync statuses (busy and locked beyond the busy
 * timeout are retryable; constraint violations are data errors of one
 * record; a missing or damaged file is permanent); and runs the small
 * transactions everything else is built of.  Also the host table, the
 * settings of a [source NAME] / [sink NAME] section, and the reporting of
 * problems the source and the sink find resolving a stream or a target.
 */
#ifndef SQ_CONN_H
#define SQ_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>
#include <sync/sync.h>

#include "sq_sql.h"

/* The host table, set by sync_plugin_entry before any callback runs. */
SQ_HIDDEN extern const sync_host *sq_host;

/* Options of a [source NAME] or [sink NAME] section. */
typedef struct sq_settings {
    char *path;
    int create;               /* create the file when missing */
    int64_t busy_timeout_ms;
    char *journal_mode;       /* "wal" or "keep" */
    char *synchronous;        /* "full", "normal" or "off" */
    int foreign_keys;
} sq_settings;

/* Reads the section's options into s.  SYNC_E_CONFIG (with the error set on ctx) for an empty path. */
int sq_settings_read(sync_ctx *ctx, const sync_config *cfg, sq_settings *s);
void sq_settings_free(sq_settings *s);

typedef struct sq_conn {
    sync_ctx *ctx;
    sqlite3 *db;
    const sq_settings *set;   /* borrowed from the instance */
    int read_only;
} sq_conn;

/*
 * Opens the file: read-write (created only with create = on), or read-only
 * (no journal mode change, nothing written).  SYNC_OK, or a status with the
 * error set on the context.
 */
int sq_conn_open(sq_conn *c, sync_ctx *ctx, const sq_settings *set, int read_only);
void sq_conn_close(sq_conn *c);
/*
 * sq_settings_read then sq_conn_open: the section's settings into s and c
 * open on them.  On failure (error set) neither holds anything.
 */
int sq_conn_open_config(sq_conn *c, sq_settings *s, sync_ctx *ctx, const sync_config *cfg, int read_only);

/* The sync status of a SQLite (extended) result code. */
int sq_status(int rc);
/*
 * Sets the context's error to "what: SQLite's message (path)" and returns the
 * classified status of rc.
 */
int sq_fail(sq_conn *c, int rc, const char *what);

/* Runs statements without parameters or results.  SYNC_OK or the classified status (error set). */
int sq_exec(sq_conn *c, const char *sql);
/* BEGIN IMMEDIATE: the write lock now, waiting up to busy_timeout. */
int sq_begin_write(sq_conn *c);
/* BEGIN (a read transaction that starts with the first read). */
int sq_begin_read(sq_conn *c);
int sq_commit(sq_conn *c);
/* Rolls back whatever transaction is open (nothing when none is). */
void sq_rollback(sq_conn *c);
/*
 * Ends the open transaction by the outcome of its work: commits when rc is
 * SYNC_OK (returning the commit's status), else rolls back and returns rc.
 */
int sq_end(sq_conn *c, int rc);

/* Prepares sql; NULL with the error set (*status receives the classified status). */
sqlite3_stmt *sq_prepare(sq_conn *c, const char *sql, int *status);

/*
 * The columns of a table or view, from PRAGMA table_info: names, declared
 * types and primary-key positions (0: not in the key).  SYNC_E_NOTFOUND when
 * the object does not exist.
 */
typedef struct sq_table {
    char *name;
    size_t n;
    char **cols;
    char **decl;
    int *pk;
    int is_view;
} sq_table;

int sq_table_load(sq_conn *c, const char *name, sq_table *t);
void sq_table_free(sq_table *t);
/* Index of column name, or -1. */
long sq_table_find(const sq_table *t, const char *name);
/* The single primary-key column, or NULL (none, or several). */
const char *sq_table_single_pk(const sq_table *t);
/*
 * Non-zero when the table has a primary key or a full (non-partial) unique
 * index on exactly the columns keys (in any order), as ON CONFLICT needs.
 */
int sq_table_has_unique(sq_conn *c, const sq_table *t, const char *const *keys, size_t n_keys);
/*
 * The index rules both backends check a conflict key by (sq_table_has_unique,
 * d1_table_has_unique): sq_key_in, col is one of keys (SQLite compares names
 * ASCII case-insensitively); sq_keys_are_pk, t's primary key is exactly keys.
 */
int sq_key_in(const char *col, const char *const *keys, size_t n);
int sq_keys_are_pk(const sq_table *t, const char *const *keys, size_t n_keys);

/*
 * Problems found while resolving a stream or target: with chk (check
 * --connect) every one is reported where it was found; without (prepare,
 * read) the first becomes the context's error as "message (where)".  The
 * first problem's status stays in status; n counts them.
 */
typedef struct sq_problems {
    sync_ctx *ctx;
    const sync_check *chk; /* NULL: not a check */
    int n;
    int status;
} sq_problems;

void sq_problem(sq_problems *p, int status, const char *where, const char *fmt, ...) SYNC_PRINTF(4, 5);

/*
 * After loading table (rc of sq_table_load or d1_table_load): a missing one
 * becomes a problem of status at where, "<what> "<table>" does not exist in
 * <where_db>", and p's status is returned; any other rc is returned as it is.
 */
int sq_table_loaded(sq_problems *p, int rc, int status, const char *where, const char *what, const char *table,
                    const char *where_db);

/* Process start time of pid (from /proc), 0 when it does not exist. */
int64_t sq_proc_start(long pid);

#endif /* SQ_CONN_H */
