/*
 * sf_source.h - the source side of the connector: reading a stream
 * (incrementally or in full) and discovering the org's objects.
 */
#ifndef SF_SOURCE_H
#define SF_SOURCE_H

#include <stddef.h>

#include "sf_buf.h"
#include "sf_cursor.h"
#include "sf_describe.h"
#include "sf_internal.h"
#include "sf_page.h"

/* Stream option defaults. */
#define SF_DEFAULT_CURSOR_FIELD "SystemModstamp"
/* Queries again after a lost query locator, in a row without a page between them. */
#define SF_REQUERY_MAX 5

/* What one stream reads: the SELECT list and the record fields it fills. */
typedef struct sf_plan {
    const char *object;       /* canonical object name (from the describe) */
    char **select;            /* unique canonical paths, in SELECT order */
    size_t n_select;
    sf_page_field *fields;    /* record fields; name and path point into owned strings */
    size_t n_fields;
    char **owned;             /* strings the two lists point into */
    size_t n_owned;
    const char *cursor_field; /* canonical */
    int deletes;              /* queryAll + IsDeleted */
    const char *where;        /* source.where, borrowed from the options */
} sf_plan;

/*
 * Builds the plan for req on object d: Id, the cursor field, IsDeleted (when
 * include_deleted and the object has it), req->fields (every field when NULL)
 * and the source.fields option.  Each field is checked against the describe
 * before anything is queried: SYNC_E_NOTFOUND names object and field.
 */
SF_HIDDEN int sf_plan_build(sf_instance *inst, const sf_object_desc *d,
                            const sync_stream_request *req, sf_plan *plan);
SF_HIDDEN void sf_plan_free(sf_plan *plan);

/*
 * The SOQL for plan: lower bound from start (NULL: none), upper bound
 * upper_ts, the configured lookback.  See the comment atop sf_source.c.
 */
SF_HIDDEN int sf_plan_soql(const sf_instance *inst, const sf_plan *plan, const sf_cursor *start,
                           int64_t upper_ts, sf_buf *out);

SF_HIDDEN int sf_source_read(sf_instance *inst, const sync_stream_request *req, sync_emitter *em);
SF_HIDDEN int sf_source_discover(sf_instance *inst, sync_catalog *cat);

#endif /* SF_SOURCE_H */
