/*
 * sf_collections.h - the shapes of Salesforce's sObject Collections calls,
 * the sink's only way of writing: up to 200 records a call, allOrNone false,
 * so that each record succeeds or fails alone.
 *
 *   create  POST   /services/data/vXX.X/composite/sobjects
 *   update  PATCH  /services/data/vXX.X/composite/sobjects            (each record has Id)
 *   upsert  PATCH  /services/data/vXX.X/composite/sobjects/OBJ/FIELD  (by external id)
 *   delete  DELETE /services/data/vXX.X/composite/sobjects?ids=...&allOrNone=false
 *
 * A well-formed call answers 200 with one result per record, in order:
 * {"id", "success", "errors": [{"statusCode", "message", "fields"}]}, plus
 * "created" for upserts.  This file builds the paths and bodies and reads the
 * results; it makes no call (sf_sink.c does, through sf_api.c).
 */
#ifndef SF_COLLECTIONS_H
#define SF_COLLECTIONS_H

#include <stddef.h>

#include <jansson.h>

#include "sf_buf.h"
#include "sf_internal.h"

/* Most records one call takes. */
#define SF_COLL_MAX 200

/* The four kinds of call, in the order a batch sends them (creates last: see sf_sink.c). */
typedef enum sf_wop {
    SF_WOP_UPSERT = 0,
    SF_WOP_UPDATE = 1,
    SF_WOP_DELETE = 2,
    SF_WOP_CREATE = 3
} sf_wop;
#define SF_WOP_COUNT 4

/* "upsert", "update", "delete", "create". */
SF_HIDDEN const char *sf_wop_name(sf_wop op);
/* The HTTP method of op's call. */
SF_HIDDEN const char *sf_wop_method(sf_wop op);

/*
 * The path of one call into out: for upserts object and ext_field name the
 * URL's sObject and external-id field; for deletes ids (n of them,
 * 15 or 18 letters and digits each, checked by the caller) form the query.
 */
SF_HIDDEN int sf_coll_path(sf_buf *out, const char *api_version, sf_wop op, const char *object,
                           const char *ext_field, const char *const *ids, size_t n);

/*
 * The body of a create, update or upsert: {"allOrNone":false,"records":[...]}
 * around the n record objects (borrowed).  Returns text to free(), or NULL
 * when out of memory.
 */
SF_HIDDEN char *sf_coll_body(json_t *const *records, size_t n, size_t *len);

/* One record's result, read from a call's answer. */
typedef struct sf_coll_result {
    int success;
    const char *id;       /* the record's Salesforce Id (borrowed from the answer), or NULL */
    int created;          /* upsert: the record was created; create: always 1 */
    const char *code;     /* first error's statusCode (borrowed), or NULL */
    char error[768];      /* "CODE: message (fields: A, B)", every error of the record */
} sf_coll_result;

/*
 * Checks that answer is an array of exactly n results.  SYNC_E_PROTOCOL with
 * the reason in why otherwise.
 */
SF_HIDDEN int sf_coll_check(const json_t *answer, size_t n, char *why, size_t why_size);

/* Reads result i of an answer sf_coll_check accepted. */
SF_HIDDEN void sf_coll_result_at(const json_t *answer, size_t i, sf_wop op, sf_coll_result *r);

/* 1 when s looks like a Salesforce Id: 15 or 18 ASCII letters and digits. */
SF_HIDDEN int sf_coll_is_id(const char *s);

#endif /* SF_COLLECTIONS_H */
