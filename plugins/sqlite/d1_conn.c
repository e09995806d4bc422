/*
 * d1_conn.c - Cloudflare D1's HTTP query API as the sqlite plugin's executor
 * (see d1_conn.h).  CURLOPT_VERBOSE is never set: it would print the
 * Authorization header.
 */
#include "d1_conn.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define D1_MAX_BODY (64u * 1024u * 1024u)

/* ------------------------------------------------------------ settings */

int d1_selected(const sync_config *cfg)
{
    const char *v = sq_host->config_get_string(cfg, "d1_database_id");
    return v && *v;
}

static char *opt_dup(const sync_config *cfg, const char *name, const char *dflt)
{
    const char *v = sq_host->config_get_string(cfg, name);
    return strdup(v ? v : dflt);
}

int d1_url_allowed(const char *url, char *why, size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = -1;
    if (!u) {
        snprintf(why, why_size, "out of memory");
        return -1;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK || curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, why_size, "\"%s\" is not a valid URL", url);
    } else if (strcasecmp(scheme, "https") == 0) {
        rc = 0;
    } else if (strcasecmp(scheme, "http") == 0) {
        struct in_addr a4;
        if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0 ||
            (inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127))
            rc = 0;
        else
            snprintf(why, why_size, "plain http is only allowed to loopback hosts, not \"%s\"; use https", host);
    } else {
        snprintf(why, why_size, "unsupported URL scheme \"%s\" (use https)", scheme);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

void d1_settings_free(d1_settings *s)
{
    free(s->account_id);
    free(s->database_id);
    free(s->api_token);
    free(s->api_url);
    free(s->label);
    memset(s, 0, sizeof(*s));
}

int d1_settings_read(sync_ctx *ctx, const sync_config *cfg, d1_settings *s)
{
    memset(s, 0, sizeof(*s));
    s->account_id = opt_dup(cfg, "d1_account_id", "");
    s->database_id = opt_dup(cfg, "d1_database_id", "");
    s->api_token = opt_dup(cfg, "d1_api_token", "");
    s->api_url = opt_dup(cfg, "d1_api_url", "https://api.cloudflare.com/client/v4");
    s->timeout_ms = 30000;
    sq_host->config_get_int(cfg, "d1_timeout", &s->timeout_ms);
    s->retries = 5;
    sq_host->config_get_int(cfg, "d1_retries", &s->retries);
    if (!s->account_id || !s->database_id || !s->api_token || !s->api_url) {
        d1_settings_free(s);
        return SYNC_E_NOMEM;
    }
    if (asprintf(&s->label, "D1 database %s", s->database_id) < 0) {
        s->label = NULL;
        d1_settings_free(s);
        return SYNC_E_NOMEM;
    }
    const char *missing = !*s->account_id ? "d1_account_id" : !*s->api_token ? "d1_api_token" : NULL;
    if (missing) {
        sq_host->set_error(ctx, "option \"%s\" is empty; D1 needs d1_account_id, d1_database_id and d1_api_token (%s)",
                           missing, sq_host->config_where(cfg, missing));
        d1_settings_free(s);
        return SYNC_E_CONFIG;
    }
    size_t n = strlen(s->api_url);
    while (n > 0 && s->api_url[n - 1] == '/')
        s->api_url[--n] = '\0';
    char why[256];
    if (d1_url_allowed(s->api_url, why, sizeof(why)) < 0) {
        sq_host->set_error(ctx, "option \"d1_api_url\": %s (%s)", why, sq_host->config_where(cfg, "d1_api_url"));
        d1_settings_free(s);
        return SYNC_E_CONFIG;
    }
    if (SYNC_HOST_HAS(sq_host, log_add_secret))
        sq_host->log_add_secret(ctx, s->api_token);
    return SYNC_OK;
}

/* ------------------------------------------------------------ connection */

typedef struct body_buf {
    char *p;
    size_t len, cap;
    int too_big;
} body_buf;

typedef struct answer {
    body_buf body;
    char retry_after[32];
} answer;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    body_buf *b = &((answer *)arg)->body;
    size_t len = size * n;
    if (b->len + len + 1 > D1_MAX_BODY) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return 0;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, len);
    b->len += len;
    b->p[b->len] = '\0';
    return len;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    answer *a = arg;
    size_t len = size * n;
    if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
        size_t i = 12, o = 0;
        while (i < len && data[i] == ' ')
            i++;
        while (i < len && data[i] != '\r' && data[i] != '\n' && o + 1 < sizeof(a->retry_after))
            a->retry_after[o++] = data[i++];
        a->retry_after[o] = '\0';
    }
    return len;
}

int d1_conn_open(d1_conn *c, sync_ctx *ctx, const d1_settings *set)
{
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->set = set;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SYNC_E_NOMEM;
    c->curl = curl_easy_init();
    char *auth = NULL;
    if (!c->curl || asprintf(&c->url, "%s/accounts/%s/d1/database/%s/query", set->api_url, set->account_id,
                             set->database_id) < 0 || asprintf(&auth, "Authorization: Bearer %s", set->api_token) < 0) {
        c->url = NULL;
        d1_conn_close(c);
        return SYNC_E_NOMEM;
    }
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (h)
        h = curl_slist_append(h, "Content-Type: application/json");
    free(auth);
    if (!h) {
        d1_conn_close(c);
        return SYNC_E_NOMEM;
    }
    c->headers = h;
    CURL *e = c->curl;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)set->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "syncengine-sqlite-d1/" SYNCENGINE_VERSION);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_URL, c->url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    c->rng = (uint64_t)sq_host->time_now() ^ (uint64_t)(uintptr_t)c ^ UINT64_C(0x9E3779B97F4A7C15);
    return SYNC_OK;
}

void d1_conn_close(d1_conn *c)
{
    if (c->curl) {
        curl_easy_cleanup(c->curl);
        curl_global_cleanup();
    }
    curl_slist_free_all(c->headers);
    free(c->url);
    memset(c, 0, sizeof(*c));
}

/* ------------------------------------------------------------ batches */

int d1_batch_init(d1_batch *b)
{
    b->items = json_array();
    b->bytes = 16;
    return b->items ? SYNC_OK : SYNC_E_NOMEM;
}

void d1_batch_free(d1_batch *b)
{
    json_decref(b->items);
    b->items = NULL;
    b->bytes = 0;
}

size_t d1_batch_count(const d1_batch *b)
{
    return json_array_size(b->items);
}

json_t *d1_batch_add(d1_batch *b, const char *sql)
{
    json_t *params = json_array();
    json_t *item = params ? json_pack("{s:s, s:o}", "sql", sql ? sql : "", "params", params) : NULL;
    if (!sql || !item || json_array_append_new(b->items, item) != 0)
        return NULL;
    b->bytes += strlen(sql) + 32;
    return params;
}

void d1_batch_grow(d1_batch *b, size_t n)
{
    b->bytes += n;
}

int d1_param_val(json_t *params, const sq_val *v)
{
    json_t *j = NULL;
    switch (v->type) {
    case SQ_V_INT: j = json_integer(v->i); break;
    case SQ_V_REAL: j = json_real(v->r); break;
    case SQ_V_TEXT: j = json_stringn(v->text, v->len); break;
    case SQ_V_NULL: j = json_null(); break;
    }
    return j && json_array_append_new(params, j) == 0 ? SYNC_OK : SYNC_E_NOMEM;
}

void d1_val_from_json(json_t *j, sq_val *v)
{
    sq_val_clear(v);
    if (json_is_integer(j)) {
        v->type = SQ_V_INT;
        v->i = json_integer_value(j);
    } else if (json_is_real(j)) {
        v->type = SQ_V_REAL;
        v->r = json_real_value(j);
    } else if (json_is_string(j)) {
        size_t n = json_string_length(j);
        v->text = malloc(n + 1);
        if (v->text) {
            memcpy(v->text, json_string_value(j), n);
            v->text[n] = '\0';
            v->len = n;
            v->type = SQ_V_TEXT;
        }
    } else if (json_is_true(j) || json_is_false(j)) {
        v->type = SQ_V_INT;
        v->i = json_is_true(j);
    }
}

json_t *d1_rows(json_t *results, size_t i)
{
    json_t *r = json_object_get(json_array_get(results, i), "results");
    return json_is_array(r) ? r : NULL;
}

int64_t d1_changes(json_t *results, size_t i)
{
    json_t *m = json_object_get(json_object_get(json_array_get(results, i), "meta"), "changes");
    return json_is_integer(m) ? json_integer_value(m) : json_is_real(m) ? (int64_t)json_real_value(m) : 0;
}

/* ------------------------------------------------------------ requests */

/* The status of D1's SQL error message (the SQLite result code name ends it: "...: SQLITE_CONSTRAINT"). */
static int sql_error_status(const char *msg)
{
    if (strstr(msg, "lease lost"))
        return SYNC_ERROR;
    if (strstr(msg, "SQLITE_CONSTRAINT") || strstr(msg, "constraint failed") || strstr(msg, "SQLITE_MISMATCH") ||
        strstr(msg, "SQLITE_TOOBIG") || strstr(msg, "too long") || strstr(msg, "too big") ||
        strstr(msg, "datatype mismatch"))
        return SYNC_E_DATA;
    if (strstr(msg, "SQLITE_BUSY") || strstr(msg, "SQLITE_LOCKED") || strstr(msg, "overloaded") ||
        strstr(msg, "reset") || strstr(msg, "Network connection lost"))
        return SYNC_E_UNAVAILABLE;
    if (strstr(msg, "no such table") || strstr(msg, "no such column") || strstr(msg, "syntax error") ||
        strstr(msg, "has no column"))
        return SYNC_E_SCHEMA;
    if (strstr(msg, "SQLITE_AUTH") || strstr(msg, "not authorized"))
        return SYNC_E_AUTH;
    return SYNC_ERROR;
}

/* "message (code N)" of the first entry of an envelope's errors, into buf. */
static void first_error(json_t *env, char *buf, size_t size, long *code)
{
    json_t *e = json_array_get(json_object_get(env, "errors"), 0);
    const char *m = json_string_value(json_object_get(e, "message"));
    *code = (long)json_integer_value(json_object_get(e, "code"));
    snprintf(buf, size, "%s", m ? m : "(no message)");
}

static int wait_ms(d1_conn *c, int64_t ms)
{
    while (ms > 0) {
        if (sq_host->cancelled(c->ctx))
            return SYNC_E_CANCELLED;
        int64_t step = ms > 100 ? 100 : ms;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return SYNC_OK;
}

int d1_run(d1_conn *c, d1_batch *b, json_t **results, char **sql_error)
{
    *results = NULL;
    if (sql_error)
        *sql_error = NULL;
    json_t *req = json_pack("{s:O}", "batch", b->items);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body)
        return SYNC_E_NOMEM;
    size_t body_len = strlen(body);
    int status = SYNC_ERROR;
    char last[512] = "";
    int64_t attempts = c->set->retries + 1;
    for (int64_t attempt = 0; attempt < attempts; attempt++) {
        if (attempt > 0 && sq_host->cancelled(c->ctx)) {
            status = SYNC_E_CANCELLED;
            break;
        }
        answer a;
        memset(&a, 0, sizeof(a));
        curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &a);
        curl_easy_setopt(c->curl, CURLOPT_HEADERDATA, &a);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        c->requests++;
        CURLcode cc = curl_easy_perform(c->curl);
        long http = 0;
        curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &http);
        int64_t wait = 0;
        int retry = 0;
        json_t *env = NULL;
        if (cc != CURLE_OK) {
            retry = !a.body.too_big;
            status = cc == CURLE_OPERATION_TIMEDOUT ? SYNC_E_TIMEOUT : a.body.too_big ? SYNC_E_PROTOCOL : SYNC_E_NETWORK;
            snprintf(last, sizeof(last), "%s", a.body.too_big ? "the answer is larger than 64 MiB"
                                                              : curl_easy_strerror(cc));
            if (!retry)
                sq_host->set_error(c->ctx, "%s: %s", c->set->label, last);
        } else {
            env = a.body.p ? json_loadb(a.body.p, a.body.len, 0, NULL) : NULL;
            if (http == 429 || http >= 500) {
                retry = 1;
                status = http == 429 ? SYNC_E_RATELIMIT : SYNC_E_UNAVAILABLE;
                char m[256];
                long code = 0;
                first_error(env, m, sizeof(m), &code);
                snprintf(last, sizeof(last), "HTTP %ld: %s (code %ld)", http, m, code);
                if (a.retry_after[0]) {
                    long s = strtol(a.retry_after, NULL, 10);
                    wait = (s > 0 ? (s > 60 ? 60 : s) : 0) * 1000;
                }
            } else if (!env || !json_is_object(env)) {
                retry = 1;
                status = SYNC_E_PROTOCOL;
                snprintf(last, sizeof(last), "HTTP %ld with a body that is not JSON (%zu bytes; cut short?)", http,
                         a.body.len);
            } else if (http >= 200 && http < 300 && json_is_true(json_object_get(env, "success")) &&
                       json_is_array(json_object_get(env, "result"))) {
                *results = json_incref(json_object_get(env, "result"));
                json_decref(env);
                free(a.body.p);
                if (attempt > 0)
                    sq_host->log(c->ctx, SYNC_LOG_INFO, "%s: request succeeded after %lld retries", c->set->label,
                                 (long long)attempt);
                free(body);
                return SYNC_OK;
            } else {
                char m[400];
                long code = 0;
                first_error(env, m, sizeof(m), &code);
                if (http == 401 || http == 403) {
                    status = SYNC_E_AUTH;
                    sq_host->set_error(c->ctx, "%s: the API token was refused (HTTP %ld: %s, code %ld); check "
                                               "d1_api_token and that it grants D1 read and write",
                                       c->set->label, http, m, code);
                } else if (http == 404) {
                    status = SYNC_E_NOTFOUND;
                    sq_host->set_error(c->ctx, "%s of account %s not found (HTTP 404: %s, code %ld); check "
                                               "d1_account_id and d1_database_id", c->set->label,
                                       c->set->account_id, m, code);
                } else {
                    status = http == 413 ? SYNC_E_DATA : sql_error_status(m);
                    if (status == SYNC_E_UNAVAILABLE) {
                        retry = 1;
                        snprintf(last, sizeof(last), "HTTP %ld: %s (code %ld)", http, m, code);
                    } else {
                        sq_host->set_error(c->ctx, "%s: query failed: %s (HTTP %ld, code %ld)", c->set->label, m,
                                           http, code);
                        if (sql_error)
                            *sql_error = strdup(m);
                    }
                }
            }
        }
        json_decref(env);
        free(a.body.p);
        if (!retry)
            break;
        if (attempt + 1 < attempts) {
            /* exponential backoff with jitter: 0.5 s, 1 s, 2 s ... at most 30 s, or what Retry-After asks */
            int64_t back = 500LL << (attempt < 6 ? attempt : 6);
            if (back > 30000)
                back = 30000;
            c->rng ^= c->rng << 13;
            c->rng ^= c->rng >> 7;
            c->rng ^= c->rng << 17;
            back = back / 2 + (int64_t)(c->rng % (uint64_t)(back / 2 + 1));
            if (wait < back)
                wait = back;
            sq_host->log(c->ctx, SYNC_LOG_WARN, "%s: %s; retrying in %lld ms (try %lld of %lld)", c->set->label, last,
                         (long long)wait, (long long)(attempt + 2), (long long)attempts);
            int w = wait_ms(c, wait);
            if (w != SYNC_OK) {
                status = w;
                break;
            }
        } else {
            sq_host->set_error(c->ctx, "%s: %s; gave up after %lld tries", c->set->label, last, (long long)attempts);
        }
    }
    free(body);
    return status;
}

int d1_run_built(d1_conn *c, d1_batch *b, int rc, json_t **results, char **sql_error)
{
    if (rc == SYNC_OK)
        rc = d1_run(c, b, results, sql_error);
    d1_batch_free(b);
    return rc;
}

int d1_exec(d1_conn *c, const char *sql, json_t **results)
{
    d1_batch b;
    if (d1_batch_init(&b) != SYNC_OK || !d1_batch_add(&b, sql)) {
        d1_batch_free(&b);
        return SYNC_E_NOMEM;
    }
    int rc = d1_run(c, &b, results, NULL);
    d1_batch_free(&b);
    return rc;
}

/* ------------------------------------------------------------ tables */

int d1_table_load(d1_conn *c, const char *name, sq_table *t)
{
    memset(t, 0, sizeof(*t));
    sq_buf q;
    sq_buf_init(&q);
    sq_buf_puts(&q, "PRAGMA table_info(");
    sq_buf_ident(&q, name);
    sq_buf_puts(&q, ")");
    char *info = sq_buf_take(&q);
    d1_batch b;
    json_t *p;
    if (!info || d1_batch_init(&b) != SYNC_OK) {
        free(info);
        return SYNC_E_NOMEM;
    }
    int rc = SYNC_E_NOMEM;
    json_t *res = NULL;
    if ((p = d1_batch_add(&b, "SELECT type FROM sqlite_master WHERE name = ?1 AND type IN ('table', 'view')")) &&
        json_array_append_new(p, json_string(name)) == 0 && d1_batch_add(&b, info))
        rc = d1_run(c, &b, &res, NULL);
    free(info);
    d1_batch_free(&b);
    if (rc != SYNC_OK)
        return rc;
    json_t *kind = d1_rows(res, 0), *cols = d1_rows(res, 1);
    if (json_array_size(kind) == 0) {
        json_decref(res);
        sq_host->set_error(c->ctx, "table \"%s\" does not exist in %s", name, c->set->label);
        return SYNC_E_NOTFOUND;
    }
    const char *type = json_string_value(json_object_get(json_array_get(kind, 0), "type"));
    t->is_view = type && strcmp(type, "view") == 0;
    size_t n = json_array_size(cols);
    t->name = strdup(name);
    t->cols = calloc(n + 1, sizeof(char *));
    t->decl = calloc(n + 1, sizeof(char *));
    t->pk = calloc(n + 1, sizeof(int));
    rc = t->name && t->cols && t->decl && t->pk ? SYNC_OK : SYNC_E_NOMEM;
    for (size_t i = 0; rc == SYNC_OK && i < n; i++) {
        json_t *row = json_array_get(cols, i);
        const char *cn = json_string_value(json_object_get(row, "name"));
        const char *ct = json_string_value(json_object_get(row, "type"));
        t->cols[i] = strdup(cn ? cn : "");
        t->decl[i] = strdup(ct ? ct : "");
        t->pk[i] = (int)json_integer_value(json_object_get(row, "pk"));
        t->n = i + 1;
        if (!t->cols[i] || !t->decl[i])
            rc = SYNC_E_NOMEM;
    }
    json_decref(res);
    if (rc != SYNC_OK)
        sq_table_free(t);
    return rc;
}

int d1_table_has_unique(void *arg, const sq_table *t, const char *const *keys, size_t n_keys)
{
    d1_conn *c = arg;
    if (sq_keys_are_pk(t, keys, n_keys))
        return 1;
    sq_buf q;
    sq_buf_init(&q);
    sq_buf_puts(&q, "PRAGMA index_list(");
    sq_buf_ident(&q, t->name);
    sq_buf_puts(&q, ")");
    char *sql = sq_buf_take(&q);
    json_t *res = NULL;
    int rc = sql ? d1_exec(c, sql, &res) : SYNC_E_NOMEM;
    free(sql);
    if (rc != SYNC_OK)
        return 0;
    json_t *list = d1_rows(res, 0);
    d1_batch b;
    int found = 0;
    if (d1_batch_init(&b) == SYNC_OK) {
        size_t asked = 0;
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *ix = json_array_get(list, i);
            if (!json_integer_value(json_object_get(ix, "unique")) || json_integer_value(json_object_get(ix, "partial")))
                continue;
            sq_buf_init(&q);
            sq_buf_puts(&q, "PRAGMA index_info(");
            sq_buf_ident(&q, json_string_value(json_object_get(ix, "name")) ? json_string_value(json_object_get(ix, "name")) : "");
            sq_buf_puts(&q, ")");
            sql = sq_buf_take(&q);
            if (sql && d1_batch_add(&b, sql))
                asked++;
            free(sql);
        }
        json_t *infos = NULL;
        if (asked && d1_run(c, &b, &infos, NULL) == SYNC_OK) {
            for (size_t i = 0; !found && i < asked; i++) {
                json_t *cols = d1_rows(infos, i);
                size_t n = json_array_size(cols), h = 0;
                int expr = 0;
                for (size_t k = 0; k < n; k++) {
                    const char *cn = json_string_value(json_object_get(json_array_get(cols, k), "name"));
                    if (!cn)
                        expr = 1;
                    else
                        h += sq_key_in(cn, keys, n_keys);
                }
                found = !expr && n == n_keys && h == n_keys;
            }
        }
        json_decref(infos);
        d1_batch_free(&b);
    }
    json_decref(res);
    return found;
}
