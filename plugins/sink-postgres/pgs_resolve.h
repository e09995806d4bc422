/*
 * pgs_resolve.h - columns resolved through another table (the target option
 * sink.resolve, pgs_resolve.c).
 *
 *   sink.resolve = conversation_id: conversations.id by elevenlabs_conversation_id
 *
 * The record carries the parent's natural key (elevenlabs_conversation_id);
 * the row gets the parent's id.  The natural key is staged in a column of
 * its own (PGS_RESOLVE_COL prefix, typed like the parent's key column), and
 * after COPY two set-based statements join the staging table with the
 * parent: one takes out (and names) the staged rows whose parent has no row,
 * one writes the parents' ids into the target's column.  No query per record.
 *
 * Layer 3, beside the target (pgs_target.h holds the prepared specs): the
 * parsing and the statement builders are pure (unit-tested without a
 * server); pgs_resolve_prepare reads the catalog, pgs_resolve_stage runs the
 * two statements in a batch's transaction.
 */
#ifndef PGS_RESOLVE_H
#define PGS_RESOLVE_H

#include <stddef.h>

#include "pgs_session.h"

/* Staging columns holding the natural keys: "_sync_r0", "_sync_r1", ... */
#define PGS_RESOLVE_COL "_sync_r"

/* One resolved column, as the statement builders see it (all names unquoted). */
typedef struct pgs_sqlres {
    const char *column;        /* the target's column that gets the parent's id */
    const char *stage_col;     /* the staging column holding the mapped natural key */
    const char *parent_q;      /* the parent table, quoted: "schema"."table" */
    const char *id_col;        /* the parent's column written into column */
    const char *by_col;        /* the parent's unique column the natural key is looked up in */
} pgs_sqlres;

/*
 * Splits "column: table.id by key" (table may be schema-qualified; names may
 * be double-quoted, and then keep their quotes in *table and lose them in the
 * column names).  Returns 0 and four malloc'ed strings, or -1 with *why set
 * to what is wrong.
 */
int pgs_resolve_parse(const char *item, char **column, char **table, char **id, char **by, const char **why);

/*
 * DELETE of the staged upserts whose natural key is not NULL and has no
 * parent row (a staged delete is left: it finds nothing to delete), one anti-join per resolved column; each returned row is
 * (seq, then per resolved column the natural key as text when that one has no
 * parent, else NULL).
 */
char *pgs_sql_resolve_missing(const char *stage, const pgs_sqlres *r, size_t n);
/* UPDATE of the staging table setting every resolved column from its parent (a join per column). */
char *pgs_sql_resolve_set(const char *stage, const pgs_sqlres *r, size_t n);

/* A prepared sink.resolve item of a target. */
typedef struct pgs_resolve {
    size_t col;                /* index into the target's mapped columns */
    char *column;              /* the target's column (catalog name) */
    char *stage_col;           /* PGS_RESOLVE_COL<i> */
    char *stage_type;          /* the parent key column's type: how the natural key is staged */
    char *parent_q;            /* "schema"."table" */
    char *parent;              /* schema.table, for messages */
    char *id_col, *by_col;     /* catalog names */
} pgs_resolve;

typedef struct pgs_resolve_set {
    pgs_resolve *r;
    size_t n;
    char *sql_missing;         /* pgs_sql_resolve_missing */
    char *sql_set;             /* pgs_sql_resolve_set */
} pgs_resolve_set;

/*
 * Reads the sink.resolve items of options for a target whose mapped columns
 * are attnames[0..n_cols) with staging types types[]; checks the parent
 * tables in the catalog (the id column's type must be the target column's,
 * the key column must have a unique index of its own) and builds the
 * statements for the staging table stage.  A problem is reported through
 * the instance's context with the option's file:line (SYNC_E_CONFIG /
 * SYNC_E_SCHEMA).  An empty set (n == 0) when the option is not given.
 */
int pgs_resolve_prepare(pgs_instance *in, const sync_config *options, const char *table_display,
                        const char *const *attnames, const char *const *types, size_t n_cols,
                        const char *stage, pgs_resolve_set *out);
void pgs_resolve_free(pgs_resolve_set *rs);
/* The staged column name record field j is copied into (a resolved column's natural key, or attname). */
const char *pgs_resolve_copy_name(const pgs_resolve_set *rs, size_t j, const char *attname);

/*
 * In a batch's transaction, after COPY: takes out the staged rows whose
 * parent is missing, calling reject(arg, seq, why) for each (why names the
 * parent table, its key column and the value), then writes the parents' ids.
 * Returns SYNC_OK or the failure (err filled).
 */
int pgs_resolve_stage(pgs_conn *c, const pgs_resolve_set *rs, const char *table_display,
                      int (*reject)(void *arg, size_t seq, const char *why), void *arg, pgs_err *err);

#endif /* PGS_RESOLVE_H */
