/*
 * core/http/http.h - the daemon's HTTP API: status, metrics, a dashboard and
 * manual runs, over GNU libmicrohttpd.  The one header of core/http/.
 *
 * Off unless [engine] http_listen is set.  It listens on loopback unless
 * it speaks TLS (http_tls_cert, http_tls_key) or http_insecure allows
 * another address.  Reading needs no
 * token from a loopback client; everything that changes something needs the
 * bearer token of http_token or http_token_file, compared in constant time;
 * without one configured, changes over HTTP are refused.  Every connection
 * has a thread of its own, so a slow client holds up nothing but itself.
 * The endpoints and the JSON shapes are documented in docs/operations.md.
 */
#ifndef SYNCC_HTTP_H
#define SYNCC_HTTP_H

#include <stddef.h>

#include "conf.h"
#include "engine.h"

typedef struct syncc_http syncc_http;

/*
 * Checks the http_* keys of [engine] (the address parses; a non-loopback
 * address needs TLS or http_insecure; the token file, the certificate and
 * the key are readable).
 * Returns 0, or -1 with a message naming the option.  Touches no socket.
 */
int syncc_http_check_conf(const syncc_conf *conf, char *err, size_t errlen);

/*
 * Starts the server when e's configuration sets http_listen.  Returns NULL
 * with err[0] == '\0' when it is off, NULL with a message when it cannot
 * listen, else the server.  The server reads e (and its jobs) from its own
 * threads; the caller keeps e alive until syncc_http_stop, and replaces it
 * only between syncc_http_engine_lock and syncc_http_engine_unlock.
 */
syncc_http *syncc_http_start(syncc_engine *e, char *err, size_t errlen);

/* Waits for running requests to finish and keeps new ones from looking at the engine. NULL: no-op. */
void syncc_http_engine_lock(syncc_http *h);
/* Lets requests in again, now on engine e (after a configuration reload). NULL: no-op. */
void syncc_http_engine_unlock(syncc_http *h, syncc_engine *e);

/* Stops listening, waits for running requests, frees h. NULL: no-op. */
void syncc_http_stop(syncc_http *h);

/* The port the server listens on (useful with port 0), 0 when h is NULL. */
unsigned syncc_http_port(const syncc_http *h);

#endif /* SYNCC_HTTP_H */
