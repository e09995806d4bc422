/*
 * core/http/http_priv.h - what the files of core/http/ share; not an interface.
 *
 * server.c owns the listener, the request lifecycle, routing and auth;
 * api.c builds the JSON answers and carries out the actions; dashboard.c
 * renders the HTML page.  A handler fills an http_reply and never touches
 * libmicrohttpd itself.
 */
#ifndef SYNCC_HTTP_PRIV_H
#define SYNCC_HTTP_PRIV_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"

/* The largest request body read; a longer one is answered 413 without being looked at. */
#define HTTP_MAX_BODY 4096

typedef struct http_reply {
    unsigned status;
    const char *content_type;
    char *body;               /* malloc'ed; handed to libmicrohttpd */
    size_t len;
    const char *allow;        /* Allow header for 405 */
    const char *retry_after;  /* Retry-After header for 503 */
    int html;                 /* add the page's Content-Security-Policy (nonce below) */
    char nonce[40];
} http_reply;

/* body = the JSON text of o (o is consumed); status as given. */
void http_reply_json(http_reply *r, unsigned status, json_t *o);
/* A JSON error answer: {"error": message, "code": code}. */
void http_reply_error(http_reply *r, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* When the server started (server.c sets it; status reports it). */
extern int64_t http_started_at;

/* The answers (api.c). e is held for reading by the caller. */
void http_api_status(syncc_engine *e, http_reply *r);
void http_api_runs(syncc_engine *e, const char *job, const char *limit, http_reply *r);
void http_api_action(syncc_engine *e, const char *job, const char *action, const char *body, size_t body_len,
                     http_reply *r);
void http_api_healthz(syncc_engine *e, http_reply *r);
void http_api_readyz(syncc_engine *e, http_reply *r);
void http_api_metrics(syncc_engine *e, http_reply *r);
/* The status document (as GET /api/v1/status answers it); new reference. */
json_t *http_api_status_json(syncc_engine *e);

/* The dashboard page (dashboard.c); r->nonce is already set. */
void http_dashboard(syncc_engine *e, http_reply *r);

#endif /* SYNCC_HTTP_PRIV_H */
