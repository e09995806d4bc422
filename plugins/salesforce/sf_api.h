/*
 * sf_api.h - authenticated calls to the REST API of the org: bearer token,
 * one re-login on an expired session, the daily API allowance reserve, and
 * Salesforce error bodies turned into sync statuses.
 */
#ifndef SF_API_H
#define SF_API_H

#include <stdint.h>

#include <jansson.h>

#include "sf_internal.h"

/* Flags for sf_api_get. */
#define SF_API_QUERY 1u /* a query call: send Sforce-Query-Options: batchSize */
#define SF_API_NO_RESERVE 2u /* the /limits call that learns the usage (sf_limits.c) */
#define SF_API_NO_REPLAY 4u  /* not idempotent (sf_api_send of a create): see sf_http_request */

/*
 * GETs path (starting with "/services/data/", as nextRecordsUrl does) from
 * the instance and returns its JSON body in *out (caller json_decref()s).
 * Logs in first when there is no session.  Refuses to issue the call with
 * SYNC_E_RATELIMIT when it would enter the reserve of the daily allowance
 * (sf_limits.h).
 */
SF_HIDDEN int sf_api_get(sf_instance *inst, const char *path, unsigned flags, json_t **out);

/*
 * What precedes the first call: the reserve check against the usage an
 * earlier run kept (SYNC_E_RATELIMIT without any request), a session (one
 * token call, shared), the /limits call when nothing recent is known.
 * sf_api_get does it itself; sf_source_read calls it before taking the
 * server's clock for its upper bound, so that the clock comes from an answer.
 */
/*
 * Learns Salesforce's clock when no answer has brought it yet (a run with a
 * cached token and describe): GET /services/data/, the versions list, which
 * needs no session and counts against no allowance.  A failure leaves the
 * local clock in use.
 */
SF_HIDDEN void sf_api_server_time(sf_instance *inst);

SF_HIDDEN int sf_api_ready(sf_instance *inst);

/*
 * The same, handing the body over as text (*body, NUL-terminated, *len bytes;
 * caller free()s) after checking it is JSON: for query pages, which
 * sf_page_load reads without building a tree.
 */
SF_HIDDEN int sf_api_get_text(sf_instance *inst, const char *path, unsigned flags, char **body,
                              size_t *len);

/*
 * The same for a write: method ("POST", "PATCH", "DELETE") with a JSON body
 * (or NULL), under the same session, allowance reserve, re-login on 401 and
 * retries.  *out gets the 2xx answer.  With SF_API_NO_REPLAY the request is
 * repeated only when the server cannot have acted on it, and *maybe_applied
 * (when not NULL) says whether a failure may still have been carried out.
 */
SF_HIDDEN int sf_api_send(sf_instance *inst, const char *method, const char *path, const char *body,
                          size_t len, unsigned flags, json_t **out, int *maybe_applied);

/*
 * Parses "api-usage=used/max" out of a Sforce-Limit-Info value (which may
 * list other limits too).  Returns 1 when found.
 */
SF_HIDDEN int sf_api_parse_limit(const char *value, int64_t *used, int64_t *max);

/*
 * True when one more call would take usage beyond the line
 * max * (100 - reserve_percent) / 100, into the reserve.
 */
SF_HIDDEN int sf_api_over_reserve(int64_t used, int64_t max, int64_t reserve_percent);

/*
 * Maps a failed REST answer (HTTP status, errorCode) to a status:
 * REQUEST_LIMIT_EXCEEDED -> SYNC_E_RATELIMIT, INVALID_FIELD / NOT_FOUND ->
 * SYNC_E_NOTFOUND, and so on.
 */
SF_HIDDEN int sf_api_status_for(long http_status, const char *error_code);

#endif /* SF_API_H */
