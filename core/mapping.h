/*
 * core/mapping.h - the mapping stage: turns a source record into a target
 * record, one column per `target_column = expression` line of a
 * [map JOB.STREAM] section.
 *
 * Expressions (docs/mapping.md) are compiled once, at start-up, into typed
 * trees; evaluation walks them per record without parsing or allocating.
 * A compiled mapping caches field positions and scratch memory, so it is
 * used by one thread at a time (one per stream pipeline).
 */
#ifndef SYNCC_MAPPING_H
#define SYNCC_MAPPING_H

#include <stddef.h>
#include <stdint.h>

#include <sync/host.h>

typedef struct syncc_mapping syncc_mapping;

/* One `column = expression` line; col is the 1-based column where expr starts. */
typedef struct syncc_map_src {
    const char *column, *expr, *file;
    int line, col;
    /* job variables: NULL-terminated name, value pairs that ${NAME} finds
     * before the environment (may be NULL) */
    const char *const *vars;
} syncc_map_src;

/*
 * Compiles all entries, resolving ${VAR} / ${VAR:-default} from the
 * environment.  On error returns NULL with the message
 * "FILE:LINE:COL: column 'x': <problem>" in err.
 */
syncc_mapping *syncc_mapping_compile(const syncc_map_src *entries, size_t n, char *err, size_t errlen);

/*
 * Evaluates every column in order and appends one field per column to out
 * (a record of the output batch).  Returns SYNC_OK, or SYNC_E_DATA with a
 * message naming the column and the offending value when this record cannot
 * be mapped (int('abc')); out then has no field added (SYNC_E_NOMEM likewise).
 */
int syncc_mapping_eval(const syncc_mapping *m, const sync_record *in, sync_record *out, char *err,
                       size_t errlen);

/* The value of now(): fixed for a whole run, so every record of a run agrees. */
void syncc_mapping_set_now(syncc_mapping *m, int64_t usec);

/* Strict mode: a field absent from a record is an error instead of null. */
void syncc_mapping_set_strict(syncc_mapping *m, int strict);

size_t syncc_mapping_n_columns(const syncc_mapping *m);
const char *syncc_mapping_column(const syncc_mapping *m, size_t i);
/* Static type of column i (the type of its non-null values); SYNC_TYPE_NULL if it varies. */
sync_type syncc_mapping_column_type(const syncc_mapping *m, size_t i);

/* Distinct source field paths referenced, in order of first use (for the source's field list). */
size_t syncc_mapping_n_fields(const syncc_mapping *m);
const char *syncc_mapping_field(const syncc_mapping *m, size_t i);

void syncc_mapping_free(syncc_mapping *m);

#endif /* SYNCC_MAPPING_H */
