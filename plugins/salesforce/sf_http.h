/*
 * sf_http.h - the connector's HTTP transport: one curl easy handle per
 * instance (so connections and TLS sessions are reused across pages), gzip,
 * connect/total/low-speed timeouts, TLS verification, and bounded retries
 * with exponential backoff and jitter for failures that are worth repeating.
 *
 * The layer knows nothing of OAuth and does not interpret Salesforce error
 * bodies: it hands back the final HTTP response and lets sf_api.c / sf_auth.c
 * do that.  Its messages say which of two causes a failure had: the
 * transport (the libcurl error, even when a status line came before it), or
 * the server's answer (its status, with the errorCode and message of the body
 * when it has them).
 */
#ifndef SF_HTTP_H
#define SF_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "sf_internal.h"

typedef struct sf_http_request {
    const char *method;          /* "GET", "POST", "PATCH" or "DELETE" */
    const char *url;             /* absolute */
    const char *const *headers;  /* "Name: value" lines, may be NULL */
    size_t n_headers;
    const char *body;            /* POST/PATCH body (form-encoded or JSON), or NULL */
    size_t body_len;
    const char *counter;         /* run counter bumped per attempt ("api_calls") */
    int body_text;               /* a 2xx body is only checked to be JSON, and left
                                    unparsed (resp.json NULL): query pages */
    int no_replay;               /* not idempotent (a create): repeated only when the
                                    server cannot have acted on it (no connection,
                                    429, 503) */
} sf_http_request;

typedef struct sf_http_response {
    long status;           /* HTTP status of the final attempt, 0 if none */
    char *body;            /* NUL-terminated */
    size_t body_len;
    json_t *json;          /* body parsed, when it is JSON */
    char *limit_info;      /* Sforce-Limit-Info header, or NULL */
    int attempts;
    int maybe_applied;     /* the final failure may have reached the server and been
                              acted on (cut off after sending, timeout, a 2xx body
                              that is not JSON, a 5xx other than 503) */
} sf_http_response;

/* Creates the transport.  Returns SYNC_OK, SYNC_E_NOMEM or SYNC_E_CONFIG. */
SF_HIDDEN int sf_http_new(sync_ctx *ctx, const sf_http_settings *set, sf_http **out);
SF_HIDDEN void sf_http_free(sf_http *h);

/*
 * SYNC_OK if the connector may talk to url: https://, or plain http:// to a
 * loopback host (127.0.0.0/8, ::1, localhost) for local test servers.
 * Otherwise SYNC_E_CONFIG with the reason in why.
 */
SF_HIDDEN int sf_http_url_allowed(const char *url, char *why, size_t why_size);

/*
 * Sends req, repeating it (at most max_attempts times in all) after transport
 * errors, 5xx and 429 answers and 2xx answers whose body is not complete JSON;
 * waits follow exponential backoff with jitter, or Retry-After when the
 * server sends one.  Returns SYNC_OK once an answer that is not worth
 * repeating arrived (any status: the caller interprets 4xx), or the status of
 * the last failure (SYNC_E_NETWORK, SYNC_E_TIMEOUT, SYNC_E_UNAVAILABLE,
 * SYNC_E_RATELIMIT, SYNC_E_PROTOCOL, SYNC_E_CONFIG, SYNC_E_CANCELLED) with the
 * detail passed to host->set_error.  resp is filled in both cases; release it
 * with sf_http_response_clear().
 */
SF_HIDDEN int sf_http_send(sf_http *h, const sf_http_request *req, sf_http_response *resp);
SF_HIDDEN void sf_http_response_clear(sf_http_response *resp);

/*
 * The server's clock now, in microseconds: the Date header of the latest
 * response plus the local time elapsed since it arrived; if this handle has
 * seen none yet, the local clock corrected by the latest Date any handle of
 * the process saw; the local clock alone before any response.
 */
SF_HIDDEN int64_t sf_http_server_now(const sf_http *h);

/* Whether sf_http_server_now() has a Date header to go by (not the local clock alone). */
SF_HIDDEN int sf_http_server_time_known(const sf_http *h);

/* Backoff before attempt n+1 after n failed ones (n >= 1), jitter drawn from r in [0,1). */
SF_HIDDEN int64_t sf_http_backoff_ms(const sf_http_settings *set, int n, double r);

#endif /* SF_HTTP_H */
