/*
 * pgs_target.h - a target table checked against its mapping, and the
 * statements that write it (pgs_target.c).
 *
 * Layer 3, above the session (pgs_session.h) and the SQL builders
 * (pgs_sql.h): prepare reads the catalog once and builds every statement the
 * write path, the full-refresh sweep and check use.
 */
#ifndef PGS_TARGET_H
#define PGS_TARGET_H

#include <stddef.h>

#include "pgs_session.h"

typedef struct pgs_target pgs_target;

typedef struct pgs_column {
    char *name;                /* the mapped name, as records carry it */
    char *attname;             /* the column's name in the catalog */
    char *type;                /* staging type: format_type(), e.g. "character varying(255)" */
} pgs_column;

typedef enum pgs_delete_mode {
    PGS_DELETE_IGNORE = 0,
    PGS_DELETE_SOFT = 1,
    PGS_DELETE_HARD = 2
} pgs_delete_mode;

struct pgs_target {
    pgs_instance *inst;
    char *job, *stream, *name;
    char *table_q;             /* "schema"."table" */
    char *display;             /* schema.table, for messages */
    size_t index;              /* names the staging table */
    pgs_column *cols;          /* mapped columns, in the records' field order */
    pgs_sqlcol *sqlcols;       /* the same, as the SQL builders see them */
    size_t n_cols;
    size_t *key_idx;           /* indexes into cols, in conflict-key order */
    size_t n_keys;
    pgs_delete_mode delete_mode;
    char **soft_cols;          /* soft_delete_set: columns ... */
    char **soft_vals;          /* ... and the values bound to them */
    int *soft_cmp;
    size_t n_soft;
    size_t n_after_batch;      /* after_batch_sql statements (sync_affected is filled when > 0) */
    pgs_affected aff;          /* what sync_affected lists (affected_actions, affected_columns) */
    pgs_sqlcol *aff_extra;     /* affected_columns, as aff.extra points to them */
    size_t n_aff_extra;
    const sync_config *options;
    /* SQL built once at prepare */
    char *sql_stage_create;
    char *sql_copy;
    char *sql_dedupe;
    char *sql_upsert;          /* $1, $2: seq range */
    char *sql_upsert_pre;      /* the same, leaving out unchanged rows by a join first */
    int prefilter;             /* use sql_upsert_pre: most rows of the last batch were unchanged */
    char *sql_delete;          /* $1, $2: seq range, then soft-delete values */
    char *sql_affected_create;
    char *sql_affected_unchanged;
    char *sql_affected_trim;   /* NULL unless unchanged rows are listed without inserted or updated ones */
    char *sql_unstage;         /* removes one staged row (a rejected record): $1 seq */
    size_t line_bytes_hint;    /* COPY bytes per record in the previous batch */
    /* full refresh with purge_scope (pgs_purge.c); sql_seen is NULL otherwise */
    char *seen_q;              /* "schema"."sync_seen" */
    char *purge_run;           /* the run's id */
    char *purge_scope;
    char *sql_seen;            /* lists a batch's keys: $1 job, $2 stream, $3 run */
    int warned_ignored_deletes;
};

/*
 * Reads the table of t from the catalog and builds its statements; a
 * configuration error names the table and column.  *out is freed with
 * pgs_target_free.
 */
int pgs_target_prepare(pgs_instance *in, const sync_target *t, pgs_target **out);
/* Adds a prepared target to the instance's list (freed at close); SYNC_E_NOMEM leaves it to the caller. */
int pgs_target_keep(pgs_instance *in, pgs_target *t);
void pgs_target_free(pgs_target *t);
/* Frees every target the instance kept (close). */
void pgs_target_free_all(pgs_instance *in);

#endif /* PGS_TARGET_H */
