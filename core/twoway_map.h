/*
 * core/twoway_map.h - the [map JOB.STREAM] of a two-way job: one line per
 * column, written once for both directions.
 *
 *   column = <-> Field              both ways
 *   column = <- Field               pulled only (formulas, read-only fields)
 *   column = -> Field               pushed only (fields the database owns)
 *   column = <-> Field via STREAM   a reference: the row's key of STREAM in the
 *                                   table, that stream's Salesforce Id in Field
 *
 * Parsed once at start-up (core/engine.c) into the fields a run needs.
 */
#ifndef SYNCC_TWOWAY_MAP_H
#define SYNCC_TWOWAY_MAP_H

#include <stddef.h>

#include "conf.h"
#include "twoway_merge.h"

typedef struct syncc_tw_col {
    char *column;       /* table column */
    char *sf_field;     /* Salesforce field */
    syncc_tw_dir dir;
    char *via;          /* referenced stream of the same job, or NULL */
    size_t via_index;   /* its index among the job's streams */
} syncc_tw_col;

typedef struct syncc_tw_stream {
    syncc_tw_col *cols;
    size_t n_cols;
    syncc_tw_field *fields;   /* column + direction of each col, for syncc_tw_decide */
    const char **sf_fields;   /* what the source reads: Id, SystemModstamp, the mapped fields */
    size_t n_sf_fields;
    size_t match_col;         /* index of the stream's match column, or (size_t)-1 */
} syncc_tw_stream;

/*
 * Parses the map of stream s of job (which has direction set).  Returns the
 * parsed form, or NULL with "FILE:LINE:COL: column 'x': <problem>" (or a
 * message naming the [stream] option) in err.  A reference to a stream that
 * comes later in the file is refused: parents are written before children
 * because streams run in file order.
 */
syncc_tw_stream *syncc_tw_map_parse(const syncc_job *job, size_t s, char *err, size_t errlen);

void syncc_tw_map_free(syncc_tw_stream *m);

#endif /* SYNCC_TWOWAY_MAP_H */
