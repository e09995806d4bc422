/*
 * hs.h - the declarative HTTP/JSON source: what its files share.
 *
 * The plugin is written against the public ABI only (<sync/sync.h>), the way
 * a third party writes a connector.  Layers, one way: hs_plugin.c (option
 * tables, open/close, check, probe) uses hs_source.c (the read: pages,
 * details, children, cursors), which uses hs_net.c (requests with retries,
 * rate limit, authentication, several at once over libcurl multi) and
 * hs_json.c (JSON pointers, records, cursors).  jansson and libcurl types
 * stay inside the plugin.
 */
#ifndef HS_H
#define HS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include <sync/sync.h>

extern const sync_host *hs_host;

enum { HS_AUTH_NONE, HS_AUTH_HEADER, HS_AUTH_BEARER, HS_AUTH_OAUTH };
enum { HS_PAGE_NONE, HS_PAGE_CURSOR, HS_PAGE_NEXT_URL, HS_PAGE_NUMBER, HS_PAGE_OFFSET, HS_PAGE_LINK };
enum { HS_INC_NONE, HS_INC_CURSOR_FIELD, HS_INC_TIME_WINDOW };
enum { HS_FMT_UNIX_SECONDS, HS_FMT_UNIX_MILLIS, HS_FMT_ISO8601 };
enum { HS_T_AUTO, HS_T_UNIX_SECONDS, HS_T_UNIX_MILLIS, HS_T_TIMESTAMP, HS_T_DATE, HS_T_STRING, HS_T_JSON };

/* A declared field type: field_type = NAME:TYPE. */
typedef struct hs_ftype {
    const char *name;
    int type;
} hs_ftype;

/* The section's options, read once at open (strings borrowed from the configuration). */
typedef struct hs_conf {
    const char *section;
    const char *base_url;
    int auth;
    const char *auth_header, *auth_token;
    const char *token_url, *client_id, *client_secret, *refresh_token;
    const char *path;
    const char *stream;
    const char *records_ptr, *key_ptr;
    int paginate;
    const char *page_cursor_ptr, *page_cursor_param, *has_more_ptr, *next_url_ptr;
    const char *page_param, *offset_param, *page_size_param;
    int64_t page_start, page_size, max_pages;
    const char *detail_path, *detail_ptr;
    int64_t detail_concurrency;
    const char *parent_key_field, *position_field;
    int incremental;
    const char *cursor_field_ptr, *cursor_param;
    const char *window_param;
    int window_format;
    int64_t lookback_ms;
    int sorted;
    int skip_unchanged;
    int64_t timeout_ms, connect_timeout_ms, max_attempts, retry_base_ms, retry_max_ms;
    double rate_limit;
    int verify_tls;
    const char *ca_bundle;
    /* MULTI / LIST options */
    size_t n_params, n_headers, n_children, n_ftypes;
    const char **params;   /* "name=value" */
    const char **headers;  /* "Name: value" */
    const char **children; /* pointers, e.g. "/transcript" */
    char **child_names;    /* stream names: the pointers' last tokens */
    hs_ftype *ftypes;
} hs_conf;

/* ---- hs_json.c */

/* RFC 6901 JSON pointer ("" is the whole document); NULL when absent. */
json_t *hs_ptr_get(json_t *doc, const char *ptr);
/* 1 when ptr is a syntactically valid pointer ("" or "/a/b", escapes ~0 ~1 only). */
int hs_ptr_valid(const char *ptr);
/* The pointer's last token, unescaped, malloc'd ("/transcript" -> "transcript"); NULL for "". */
char *hs_ptr_last(const char *ptr);
/* Scalar JSON as text: strings as they are, numbers and booleans as JSON; malloc'd, NULL otherwise. */
char *hs_scalar_text(const json_t *v);
/* Parses "name:type" into an hs_T_* (-1 when the type is unknown). */
int hs_ftype_parse(const char *item, char **name_out);
/* Sets every member of obj on rec (typed; nested objects also flattened as "a.b"). */
int hs_record_fill(const hs_conf *c, sync_record *rec, json_t *obj);
/* Compares two cursor values: numbers as numbers, timestamps as times, else bytes. */
int hs_value_cmp(const char *a, const char *b);
/* Percent-encodes s (RFC 3986 unreserved kept); malloc'd. */
char *hs_urlencode(const char *s);
/* Expands {name} placeholders with the record's top-level members, URL-encoded; malloc'd or NULL. */
char *hs_template(const char *tpl, json_t *obj, char *why, size_t why_size);

/* ---- hs_net.c */

typedef struct hs_net hs_net;

/* One request and, after hs_net_fetch, its answer. */
typedef struct hs_req {
    char *url;          /* absolute */
    /* answer */
    int rc;             /* SYNC_OK or the error that ended the attempts */
    long status;        /* HTTP status of the last attempt */
    json_t *json;       /* parsed body (2xx, or an error body that is JSON) */
    char *link_next;    /* Link: <...>; rel="next", absolute */
    int attempts;
    /* private to hs_net.c */
    void *priv;
} hs_req;

int hs_net_new(sync_ctx *ctx, const hs_conf *conf, hs_net **out);
void hs_net_free(hs_net *n);
/*
 * Performs every request, at most `concurrency` at a time, each retried with
 * backoff for 429/5xx (honouring Retry-After), transport failures, cut-off and
 * non-JSON 2xx bodies, up to max_attempts.  A 404 leaves rc SYNC_E_NOTFOUND on
 * that request and is not an error of the call when allow_404 is set.  Returns
 * SYNC_OK when every request succeeded, else the first failure's status (with
 * set_error); the remaining transfers are abandoned.
 */
int hs_net_fetch(hs_net *n, hs_req **reqs, size_t nreq, int concurrency, int allow_404);
void hs_req_clear(hs_req *r);
/* base_url + path (path may already be absolute); malloc'd. */
char *hs_net_join(const char *base, const char *path);
/* 0 when url may be used (https, or http to a loopback host), else why. */
int hs_net_url_allowed(const char *url, char *why, size_t why_size);
/* Requests made by this handle so far. */
int64_t hs_net_calls(const hs_net *n);

/* ---- hs_source.c */

typedef struct hs_source hs_source;

int hs_source_new(sync_ctx *ctx, hs_conf *conf, hs_source **out);
void hs_source_free(hs_source *s);
int hs_source_read(hs_source *s, const sync_stream_request *req, sync_emitter *em);
/* One request of the list's first page (check --connect); problems via set_error. */
int hs_source_probe(hs_source *s, char *detail, size_t detail_size);
/* Index of a stream name: 0 the main stream, 1.. the children; -1 unknown. */
int hs_conf_stream_index(const hs_conf *c, const char *stream);

#endif /* HS_H */
