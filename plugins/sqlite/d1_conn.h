/*
 * d1_conn.h - the D1 backend's executor: Cloudflare D1's HTTP query API.
 *
 * With d1_database_id set, the sqlite plugin talks to a D1 database instead
 * of a file.  The statements are the ones the file backend runs (sq_sql.h);
 * this layer sends them: POST {d1_api_url}/accounts/{account}/d1/database/
 * {database}/query with a bearer token and a body {"batch": [{"sql",
 * "params"}, ...]}, which D1 runs as one transaction (a failing statement
 * rolls the whole request back), and reads the envelope {"result": [{
 * "results": [rows], "success", "meta"}], "success", "errors"}.
 *
 * Retried with backoff (and Retry-After): connection failures and resets,
 * timeouts, truncated or unparseable bodies, 429 and 5xx; after the last try
 * the status is retryable for the engine.  Permanent: 401/403 (the token),
 * 404 (account or database), 400 (D1's SQL error, with its message).  TLS
 * verification is always on; plain http only to loopback (a stand-in).  The
 * token is never logged.
 */
#ifndef D1_CONN_H
#define D1_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sync/sync.h>

#include "sq_conn.h"
#include "sq_sql.h"

/* D1's documented limits (developers.cloudflare.com/d1/platform/limits/). */
#define D1_MAX_PARAMS 100          /* bound parameters per statement */
#define D1_MAX_SQL_BYTES 100000    /* length of one SQL statement */
#define D1_MAX_COLUMNS 100         /* columns per table */
/* What one request carries at most; a sink batch beyond it is sent in several requests. */
#define D1_MAX_STATEMENTS 2000
#define D1_MAX_REQUEST_BYTES (4u * 1024u * 1024u)

typedef struct d1_settings {
    char *account_id, *database_id, *api_token, *api_url;
    int64_t timeout_ms;
    int64_t retries;
    char *label;              /* "D1 database ID": names the database in messages */
} d1_settings;

/* Non-zero when the section selects D1 (d1_database_id set and not empty). */
int d1_selected(const sync_config *cfg);
/* Reads and checks the D1 options (SYNC_E_CONFIG with the error set when one is missing or bad). */
int d1_settings_read(sync_ctx *ctx, const sync_config *cfg, d1_settings *s);
void d1_settings_free(d1_settings *s);
/* Checks a D1 API URL: https, or http to a loopback host.  0, or -1 with why filled. */
int d1_url_allowed(const char *url, char *why, size_t why_size);

typedef struct d1_conn {
    sync_ctx *ctx;
    const d1_settings *set;   /* borrowed from the instance */
    void *curl;
    char *url;                /* the query endpoint */
    void *headers;
    uint64_t rng;
    int64_t requests;         /* requests sent (attempts included) */
} d1_conn;

int d1_conn_open(d1_conn *c, sync_ctx *ctx, const d1_settings *set);
void d1_conn_close(d1_conn *c);

/* The statements of one request. */
typedef struct d1_batch {
    json_t *items;            /* [{"sql", "params"}, ...] */
    size_t bytes;             /* SQL and parameter text so far (an estimate of the body) */
} d1_batch;

int d1_batch_init(d1_batch *b);
void d1_batch_free(d1_batch *b);
size_t d1_batch_count(const d1_batch *b);
/* Appends a statement; returns its params array to fill (NULL without memory). */
json_t *d1_batch_add(d1_batch *b, const char *sql);
/* Adds n to the batch's size estimate (parameter text appended by the caller). */
void d1_batch_grow(d1_batch *b, size_t n);

/* Appends a cursor value as a parameter. */
int d1_param_val(json_t *params, const sq_val *v);

/*
 * Sends the batch as one request and waits for its answer, retrying what is
 * transient.  On SYNC_OK *results is the envelope's "result" array (one
 * object per statement, in order; json_decref it).  Otherwise the error is
 * set on the context ("D1 ...: message (code N)") and, for an SQL error,
 * *sql_error receives D1's message (free() it; may be NULL).
 */
int d1_run(d1_conn *c, d1_batch *b, json_t **results, char **sql_error);
/*
 * The one-request pattern: d1_run of a batch the caller has just built, then
 * d1_batch_free.  rc is how building it went; the batch is sent only when it
 * is SYNC_OK, and returned as it is otherwise.
 */
int d1_run_built(d1_conn *c, d1_batch *b, int rc, json_t **results, char **sql_error);
/* The rows (an array of objects) of statement i of results, or NULL. */
json_t *d1_rows(json_t *results, size_t i);
/* meta.changes of statement i. */
int64_t d1_changes(json_t *results, size_t i);
/* One statement without parameters; its rows (json_decref the whole result with *results). */
int d1_exec(d1_conn *c, const char *sql, json_t **results);

/* A value of a D1 row as a cursor value (JSON number, string or null). */
void d1_val_from_json(json_t *j, sq_val *v);

/* PRAGMA table_info over D1 into t (sq_conn.h); SYNC_E_NOTFOUND when there is no such table or view. */
int d1_table_load(d1_conn *c, const char *name, sq_table *t);
/* sq_unique_fn for D1 (arg: the d1_conn). */
int d1_table_has_unique(void *arg, const sq_table *t, const char *const *keys, size_t n_keys);

#endif /* D1_CONN_H */
