/*
 * sq_sql.h - SQL text, cursors and value formats of the SQLite connector.
 *
 * Pure functions, no database: a growable text buffer, identifier quoting,
 * the statements the source and the sink run, the cursor encoding, the
 * declared-type rules that decide how values travel, and the timestamp text
 * the sink writes.  Identifiers always go through sq_buf_ident; values never
 * appear in SQL text (they are bound as parameters), so nothing built here
 * can be steered by record contents.  Unit-tested without a database
 * (tests/unit/sqlite/).
 */
#ifndef SQ_SQL_H
#define SQ_SQL_H

#include <stddef.h>
#include <stdint.h>

#include <sync/host.h>

#if defined(__GNUC__) || defined(__clang__)
#define SQ_HIDDEN __attribute__((visibility("hidden")))
#else
#define SQ_HIDDEN
#endif

/* The engine's tables inside the SQLite file. */
#define SQ_STATE_TABLE "_syncengine_state"
#define SQ_RUNS_TABLE "_syncengine_runs"
#define SQ_LEASES_TABLE "_syncengine_leases"
#define SQ_CHANGES_TABLE "_syncengine_changes"

/* A growable NUL-terminated buffer.  After an allocation failure `oom` sticks. */
typedef struct sq_buf {
    char *p;
    size_t len, cap;
    int oom;
} sq_buf;

void sq_buf_init(sq_buf *b);
void sq_buf_free(sq_buf *b);
void sq_buf_add(sq_buf *b, const char *s, size_t n);
void sq_buf_puts(sq_buf *b, const char *s);
void sq_buf_printf(sq_buf *b, const char *fmt, ...) SYNC_PRINTF(2, 3);
/* Appends name as a quoted identifier: "a""b". */
void sq_buf_ident(sq_buf *b, const char *name);
/* Hands the text over (free with free()); NULL after an allocation failure. */
char *sq_buf_take(sq_buf *b);

/* How a column's values travel, from its declared type. */
typedef enum sq_kind {
    SQ_KIND_AUTO = 0,      /* by storage class: integer, real, text, blob, null */
    SQ_KIND_BOOL = 1,      /* declared BOOL/BOOLEAN: 0/1 */
    SQ_KIND_TIMESTAMP = 2, /* declared DATETIME/TIMESTAMP*: ISO-8601 text or epoch numbers */
    SQ_KIND_DATE = 3,      /* declared DATE: YYYY-MM-DD */
    SQ_KIND_JSON = 4       /* declared JSON*: JSON text */
} sq_kind;

/* SQLite's type affinity of a declared type (datatype3.html, section 3.1). */
typedef enum sq_affinity {
    SQ_AFF_INTEGER = 0,
    SQ_AFF_TEXT = 1,
    SQ_AFF_BLOB = 2,
    SQ_AFF_REAL = 3,
    SQ_AFF_NUMERIC = 4
} sq_affinity;

sq_kind sq_decl_kind(const char *decl);
sq_affinity sq_decl_affinity(const char *decl);

/* Units of timestamps stored as numbers. */
typedef enum sq_unit { SQ_UNIT_S = 0, SQ_UNIT_MS = 1, SQ_UNIT_US = 2 } sq_unit;
sq_unit sq_unit_parse(const char *s);
/* Microseconds per unit. */
int64_t sq_unit_usec(sq_unit u);

/*
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" (always six fraction digits, so that text
 * order is time order) into buf (at least 32 bytes).  Returns the length.
 */
int sq_format_timestamp(int64_t usec, char *buf, size_t size);
/* "YYYY-MM-DD" of days since 1970-01-01.  Returns the length. */
int sq_format_date(int64_t days, char *buf, size_t size);

/* A value of a cursor: one SQLite value, kept with its storage class. */
typedef enum sq_vtype { SQ_V_NULL = 0, SQ_V_INT = 1, SQ_V_REAL = 2, SQ_V_TEXT = 3 } sq_vtype;
typedef struct sq_val {
    sq_vtype type;
    int64_t i;
    double r;
    char *text; /* SQ_V_TEXT: malloc'd, NUL-terminated */
    size_t len;
} sq_val;

void sq_val_clear(sq_val *v);
/* Appends the value's encoding: n, i<int>, r<%.17g>, t<len>:<bytes>. */
void sq_val_encode(sq_buf *b, const sq_val *v);
/* Decodes one value at *p, advancing it.  -1 when malformed (or out of memory). */
int sq_val_decode(const char **p, sq_val *v);

/*
 * A source cursor.  Keyset mode: "<cursor value>,<key value>", the last row
 * read in (cursor column, key) order.  Change-log mode: "c<seq>" once the
 * table has been read, "c<seq>,<key value>" while the first full read is
 * under way (seq: the change log's position before it started, key: the last
 * key read).
 */
typedef struct sq_cursor {
    int change_log;  /* 1: a change-log cursor */
    int64_t seq;     /* change log: last change read */
    int scanning;    /* change log: the first full read is not finished */
    sq_val value;    /* keyset: the cursor column's value */
    sq_val key;      /* keyset, and a change log's full read: the last key */
} sq_cursor;

void sq_cursor_clear(sq_cursor *c);
/* Parses text into c.  -1 when it is not a cursor of this connector. */
int sq_cursor_parse(const char *text, sq_cursor *c);
/* The text of c (free with free()), NULL without memory. */
char *sq_cursor_text(const sq_cursor *c);

/* Splits "column=value" (spaces around both trimmed).  -1 when malformed; else *l and *r are malloc'd. */
int sq_split_assign(const char *item, char **l, char **r);

/* ----------------------------------------------------------- statements */

/*
 * INSERT INTO t (cols) VALUES (?1..?n) ON CONFLICT (keys) DO UPDATE SET
 * non-key = excluded.non-key WHERE t.c IS NOT excluded.c OR ... over the
 * compared columns (non-key, not excluded): a row whose values did not change
 * is not rewritten and changes() stays 0.  Without compared columns, DO
 * NOTHING.  is_key and compare are arrays of n flags.
 */
char *sq_sql_upsert(const char *table, const char *const *cols, size_t n, const int *is_key,
                    const int *compare);
/* SELECT 1 FROM t WHERE k1 = ?1 AND ... */
char *sq_sql_exists(const char *table, const char *const *keys, size_t n_keys);
/* DELETE FROM t WHERE k1 = ?1 AND ... */
char *sq_sql_delete(const char *table, const char *const *keys, size_t n_keys);
/*
 * UPDATE t SET s1 = ?(k+1), ... WHERE k1 = ?1 AND ... AND (s1 IS NOT ?(k+1) OR ...):
 * a soft delete that leaves rows already so untouched.
 */
char *sq_sql_soft_delete(const char *table, const char *const *keys, size_t n_keys, const char *const *set_cols,
                         size_t n_set);

/*
 * One page of a keyset read: SELECT cols FROM t WHERE [keyset after ?1, ?2]
 * cursor IS NOT NULL AND <settle bound ?3 (number) / ?4 (text)> [AND (where)]
 * ORDER BY cursor, key LIMIT ?5.  after: whether the keyset bound is there.
 */
char *sq_sql_keyset_page(const char *table, const char *const *cols, size_t n, const char *cursor_col,
                         const char *key_col, const char *where, int after);
/* One page of a read in key order: SELECT cols FROM t [WHERE key > ?1] [AND (where)] ORDER BY key LIMIT ?2. */
char *sq_sql_key_page(const char *table, const char *const *cols, size_t n, const char *key_col, const char *where,
                      int after);
/* SELECT cols FROM t WHERE key = ?1 [AND (where)] */
char *sq_sql_by_key(const char *table, const char *const *cols, size_t n, const char *key_col, const char *where);
/*
 * The three change-log triggers of table t (insert, update, delete) writing
 * into SQ_CHANGES_TABLE, ";"-separated, each CREATE TRIGGER IF NOT EXISTS.
 */
char *sq_sql_change_triggers(const char *table, const char *key_col);

#endif /* SQ_SQL_H */
