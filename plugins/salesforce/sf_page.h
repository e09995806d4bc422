/*
 * sf_page.h - one page of a query answer ({"totalSize", "done",
 * "nextRecordsUrl", "records": [...]}) turned into records on the emitter:
 * key Id, delete when IsDeleted, values typed from the describe, relationship
 * objects flattened to "Account.Name".
 */
#ifndef SF_PAGE_H
#define SF_PAGE_H

#include <stddef.h>

#include "sf_cursor.h"
#include "sf_describe.h"
#include "sf_internal.h"

/* One field every record of the stream carries. */
typedef struct sf_page_field {
    const char *name;  /* record field name (as the mapping asked for it) */
    const char *path;  /* canonical path to walk in the JSON ("Account.Name") */
    sf_ftype type;
} sf_page_field;

/* A set of Ids: the deletes getDeleted delivered, which the query then does not repeat. */
typedef struct sf_idset {
    char (*ids)[SF_ID_MAX];
    size_t n, cap;
    int sorted;
} sf_idset;

/* Adds id (a valid Id); SYNC_E_NOMEM. */
SF_HIDDEN int sf_idset_add(sf_idset *set, const char *id, size_t len);
/* Non-zero when id was added. */
SF_HIDDEN int sf_idset_has(sf_idset *set, const char *id);
SF_HIDDEN void sf_idset_free(sf_idset *set);

typedef struct sf_page_spec {
    const sf_page_field *fields;
    size_t n_fields;
    const char *cursor_field; /* canonical; NULL when records carry no cursor */
    /*
     * The query's upper bound on cursor_field (microseconds), or 0.  A record
     * above it was changed after the query started and served in its new
     * version, out of the query's order: it gets no cursor and does not move
     * the page's cursor, so that a position saved behind it never skips the
     * records still to come.  The next run reads it again (it is newer than
     * any cursor this run saves).
     */
    int64_t cursor_max;
    /*
     * Ids delivered as deletes already, or NULL: a deleted record (IsDeleted)
     * among them is not built again; its position still counts (n_records,
     * last).
     */
    sf_idset *delivered;
} sf_page_spec;

typedef struct sf_page_result {
    size_t n_records;
    int done;            /* no nextRecordsUrl to follow */
    char *next_url;      /* malloc'd path, or NULL */
    int has_cursor;      /* last is set */
    sf_cursor last;      /* cursor of the last record of the page (within cursor_max) */
} sf_page_result;

/*
 * Builds a record on em for each element of the "records" array of the page
 * text, in one pass over it.  Returns SYNC_OK; SYNC_E_PROTOCOL (with a
 * message) when the text is not JSON, not a query answer, or a value does not
 * fit its type; or a host status.  On an error, records built before it stay
 * on em: the caller drops the batch.
 */
SF_HIDDEN int sf_page_load(sync_ctx *ctx, const sf_page_spec *spec, const char *text, size_t len,
                           sync_emitter *em, sf_page_result *res);

SF_HIDDEN void sf_page_result_clear(sf_page_result *res);

#endif /* SF_PAGE_H */
