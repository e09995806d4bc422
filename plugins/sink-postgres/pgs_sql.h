/*
 * pgs_sql.h - SQL text and COPY data for the PostgreSQL connector.
 *
 * Pure functions, no connection: a growable text buffer, identifier quoting,
 * the COPY text-format encoding of record values, a scanner that finds which
 * $N parameters a user statement refers to, and the builders of every
 * statement the sink runs.  Identifiers always go through pgs_quote_ident;
 * values never appear in SQL text (they travel as parameters or COPY data),
 * so nothing built here can be steered by record contents.  Unit-tested
 * without a server (tests/unit/sink-postgres/).
 */
#ifndef PGS_SQL_H
#define PGS_SQL_H

#include <stddef.h>
#include <stdint.h>

#include <sync/host.h>

/* A growable NUL-terminated buffer.  After an allocation failure `oom` sticks. */
typedef struct pgs_buf {
    char *p;
    size_t len, cap;
    int oom;
} pgs_buf;

void pgs_buf_init(pgs_buf *b);
void pgs_buf_free(pgs_buf *b);
void pgs_buf_reset(pgs_buf *b);
void pgs_buf_add(pgs_buf *b, const char *s, size_t n);
/* Makes room for extra more bytes now; -1 (and oom) when that fails. */
int pgs_buf_reserve(pgs_buf *b, size_t extra);
void pgs_buf_puts(pgs_buf *b, const char *s);
/* Appends v in decimal. */
void pgs_buf_add_int(pgs_buf *b, int64_t v);
void pgs_buf_printf(pgs_buf *b, const char *fmt, ...) SYNC_PRINTF(2, 3);
/* Hands the text over (caller frees with free()); NULL after an allocation failure. */
char *pgs_buf_take(pgs_buf *b);

/* An error as the database (or the sink) reported it. */
typedef struct pgs_err {
    int status;            /* sync_status */
    char sqlstate[6];
    char message[768];
    char column[128];      /* column involved, when the server said */
} pgs_err;

void pgs_err_set(pgs_err *err, int status, const char *fmt, ...) SYNC_PRINTF(3, 4);
/* Puts context in front of the message: "<formatted prefix><old message>". */
void pgs_err_prefix(pgs_err *err, const char *fmt, ...) SYNC_PRINTF(2, 3);
/* Non-zero for errors caused by the values of one record (data exceptions, constraint violations). */
int pgs_sqlstate_is_record_level(const char *sqlstate);

/* Appends name as a double-quoted identifier ("" doubles an embedded quote). */
void pgs_quote_ident(pgs_buf *b, const char *name);
/* Returns a malloc'ed quoted identifier, or NULL on allocation failure. */
char *pgs_quote_ident_dup(const char *name);

/*
 * Appends the COPY text-format form of a value (without the field separator):
 * \N for NULL, t/f, integers, round-trip floats, timestamps as
 * "YYYY-MM-DD HH:MM:SS.ffffff+00", dates "YYYY-MM-DD", strings and JSON with
 * backslash, tab, newline and carriage return escaped.  Returns 0, or -1 with
 * *why set when the value cannot be stored (a NUL byte in a string).
 */
int pgs_copy_value(pgs_buf *b, const sync_value *v, const char **why);

/* What a NUL byte in a text value becomes (the sink option text_nul). */
typedef enum pgs_nul_mode {
    PGS_NUL_REJECT = 0,    /* the record is rejected, naming the column */
    PGS_NUL_STRIP = 1,     /* NUL bytes are left out */
    PGS_NUL_REPLACE = 2    /* each NUL byte becomes repl (text_nul_replacement) */
} pgs_nul_mode;

typedef struct pgs_nul_policy {
    pgs_nul_mode mode;
    const char *repl;      /* PGS_NUL_REPLACE: UTF-8 text without NUL, may be empty */
    size_t repl_len;
} pgs_nul_policy;

/*
 * pgs_copy_value with a policy for NUL bytes in strings and JSON text (NULL:
 * reject).  Returns 0, 1 when NUL bytes were stripped or replaced, or -1 with
 * *why set.
 */
int pgs_copy_value_nul(pgs_buf *b, const sync_value *v, const pgs_nul_policy *nul, const char **why);
/* Appends raw bytes with COPY escaping. */
void pgs_copy_escape(pgs_buf *b, const char *s, size_t n);

/* "YYYY-MM-DD HH:MM:SS.ffffff+00" (BC dates get " BC"); buf of at least 48 bytes. */
void pgs_format_timestamp(int64_t usec, char *buf, size_t size);
/* "YYYY-MM-DD"; buf of at least 24 bytes. */
void pgs_format_date(int64_t days, char *buf, size_t size);

/*
 * Finds the $N parameters a statement refers to, skipping string literals,
 * quoted identifiers, comments and dollar-quoted bodies.  used[i] is set
 * non-zero when $(i+1) occurs (for i < n_used).  Returns the highest N seen
 * (0 if none), or -1 when a reference is larger than n_used.
 */
int pgs_sql_param_refs(const char *sql, unsigned char *used, size_t n_used);

/*
 * Splits "column = value" (a soft_delete_set / run_log_values / run_log_columns
 * item).  Both sides are trimmed; a double-quoted left side is unquoted.
 * Returns 0 and two malloc'ed strings, or -1 when there is no '=' or a side
 * is empty.
 */
int pgs_split_assign(const char *item, char **left, char **right);

/* How values of a column are compared when deciding whether a row changed. */
enum {
    PGS_CMP_PLAIN = 0,     /* the type's own equality */
    PGS_CMP_JSONB = 1,     /* json: compared as jsonb */
    PGS_CMP_TEXT = 2       /* types without equality (xml, geometric): compared as text */
};
/* Chooses PGS_CMP_* from a pg_type.typname (of the base type for arrays and domains). */
int pgs_cmp_for_type(const char *typname);

/* What the statement builders need to know about a column. */
typedef struct pgs_sqlcol {
    const char *attname;   /* catalog name, unquoted */
    const char *type;      /* format_type() text */
    int is_key;
    int compare;           /* compared when deciding whether a row changed */
    int cmp_as;            /* PGS_CMP_* */
} pgs_sqlcol;

/* Names of the two bookkeeping columns of a staging table. */
#define PGS_SEQ_COL "_sync_seq"
#define PGS_OP_COL  "_sync_op"
#define PGS_AFFECTED "sync_affected"

/*
 * Statement builders.  table_q is the quoted target ("schema"."table"),
 * stage the unquoted name of the temporary staging table.  Each returns a
 * malloc'ed statement or NULL on allocation failure.
 */
char *pgs_sql_stage_create(const char *stage, const pgs_sqlcol *cols, size_t n);
char *pgs_sql_copy(const char *stage, const pgs_sqlcol *cols, size_t n);
/* Deletes every staged row a later row of the same key supersedes. */
char *pgs_sql_dedupe(const char *stage, const pgs_sqlcol *cols, size_t n);
/*
 * What the temporary table sync_affected lists for after_batch_sql hooks (the
 * sink options affected_actions and affected_columns): rows of which actions,
 * and besides the conflict key, which more columns of the stored row.
 */
typedef struct pgs_affected {
    int inserted, updated, unchanged, deleted;
    const pgs_sqlcol *extra;   /* target columns (not key columns), read from the stored row */
    size_t n_extra;
} pgs_affected;

/*
 * Unchanged rows are found as the staged rows the upsert did not list, so
 * when they are asked for every inserted and updated row is listed first,
 * and the ones not asked for are taken away after (pgs_sql_affected_trim).
 */
static inline int pgs_affected_needs_trim(const pgs_affected *aff)
{
    return aff && aff->unchanged && !(aff->inserted && aff->updated);
}

/*
 * The set-based upsert of staged rows $1 <= seq <= $2; its one result row is
 * (inserted, updated).  With aff (may be NULL) it also lists the rows it
 * inserted or updated in sync_affected, as aff asks (all of them when
 * unchanged rows are asked for: those are found by what is not listed).
 * prefilter: staged rows equal to their stored row are left out by a join
 * before the insert (cheaper when most rows are unchanged, dearer when most
 * are new); the outcome is the same.
 */
char *pgs_sql_upsert(const char *table_q, const char *stage, const pgs_sqlcol *cols, size_t n,
                     const pgs_affected *aff, int prefilter);
/* Hard delete of staged delete rows in [$1, $2]; result: (deleted). */
char *pgs_sql_delete_hard(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                          size_t n, const pgs_affected *aff);
/*
 * Soft delete: sets set_cols[i] = $(3+i) on rows not already so; result: (deleted).
 * set_cmp gives each assigned column's PGS_CMP_* mode.
 */
char *pgs_sql_delete_soft(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                          size_t n, const char *const *set_cols, const int *set_cmp,
                          size_t n_set, const pgs_affected *aff);
char *pgs_sql_affected_create(const pgs_sqlcol *cols, size_t n, const pgs_affected *aff);
/*
 * Adds the staged upserts that changed nothing to sync_affected as
 * "unchanged", with aff's extra columns read from the target (table_q).
 */
char *pgs_sql_affected_unchanged(const char *table_q, const char *stage, const pgs_sqlcol *cols,
                                 size_t n, const pgs_affected *aff);
/*
 * Removes the inserted or updated rows aff does not ask for, once the
 * unchanged ones were found; NULL (nothing to remove) unless
 * pgs_affected_needs_trim(aff).
 */
char *pgs_sql_affected_trim(const pgs_affected *aff);

/*
 * A full re-sync's seen keys (sink option purge_scope).  Each batch of such a
 * stream lists the keys it staged as upserts in seen_q, inside its own
 * transaction: INSERT ... SELECT $1 (job), $2 (stream), $3 (run), the conflict
 * key as ROW(...)::text.
 */
char *pgs_sql_seen_insert(const char *seen_q, const char *stage, const pgs_sqlcol *cols, size_t n);
/*
 * The sweep at the end of a complete full read: rows of table_q matching
 * scope (user SQL whose $1..$base are sql_params) whose key the run did not
 * list in seen_q for $base+1 (job), $base+2 (stream), $base+3 (run) are
 * deleted (hard), or get set_cols[i] = $(base+4+i) unless already so (soft).
 * Result: (deleted).  With aff, the rows are listed in sync_affected as
 * deleted.
 */
char *pgs_sql_sweep(const char *table_q, const char *seen_q, const char *scope, int base,
                    const pgs_sqlcol *cols, size_t n, int hard, const char *const *set_cols,
                    const int *set_cmp, size_t n_set, const pgs_affected *aff);

#endif /* PGS_SQL_H */
