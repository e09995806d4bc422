/*
 * sf_http.c - HTTP transport over one reused curl easy handle.
 *
 * What is retried: transport failures (connection refused or reset, timeouts,
 * truncated bodies), 5xx and 429 answers, and 2xx answers whose body does not
 * parse as JSON (a proxy's HTML page, a body cut short).  Everything else is
 * returned to the caller after one attempt.  Waiting honours Retry-After and
 * the engine's cancellation.  CURLOPT_VERBOSE is never set: it would print the
 * Authorization header.
 */
#include "sf_http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sf_buf.h"
#include "sf_json.h"

/*
 * libcurl's global state belongs to this plugin (the engine does not link
 * libcurl): set up once per load of the shared object, whichever engine
 * thread opens the first instance (pthread_once: safe whatever libcurl's own
 * thread-safety of curl_global_init), and torn down when the plugin is
 * unloaded, so instances opened and closed run after run never cycle it.
 */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

__attribute__((destructor)) static void curl_fini(void)
{
    if (curl_init_rc == CURLE_OK)
        curl_global_cleanup();
}

/* Bodies beyond this are refused rather than buffered (a page is a few MB). */
#define SF_HTTP_MAX_BODY (256u * 1024u * 1024u)

struct sf_http {
    sync_ctx *ctx;
    sf_http_settings set;
    CURL *curl;
    uint64_t rng;
    /* Date header of the latest response, and the local clock when it came. */
    int64_t date_usec;
    int64_t date_local_usec;
    /* Per-attempt capture. */
    sf_buf body;
    int too_big;
    char *retry_after;
    char *limit_info;
    char *date;
};

/*
 * The offset of the Salesforce clock from ours, from the latest Date header any
 * handle of this process saw: a handle that has not talked to the server yet
 * (a parallel stream whose session and describe were shared or cached) still
 * bounds its query by the server's clock, not by ours.
 */
static _Atomic int64_t server_offset_usec;
static atomic_int have_server_offset;

static int64_t local_now(void)
{
    if (sf_host != NULL && sf_host->time_now != NULL)
        return sf_host->time_now();
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    sf_http *h = arg;
    size_t len = size * n;
    if (h->body.len + len > SF_HTTP_MAX_BODY) {
        h->too_big = 1;
        return 0; /* aborts the transfer */
    }
    sf_buf_append(&h->body, data, len);
    return sf_buf_ok(&h->body) == SYNC_OK ? len : 0;
}

/* Keeps a copy of header value if line is "name: value". */
static void grab(const char *line, size_t len, const char *name, char **slot)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    char *copy = malloc((size_t)(end - v) + 1);
    if (copy == NULL)
        return;
    memcpy(copy, v, (size_t)(end - v));
    copy[end - v] = '\0';
    free(*slot);
    *slot = copy;
}

static void clear_headers(sf_http *h)
{
    free(h->retry_after);
    free(h->limit_info);
    free(h->date);
    h->retry_after = h->limit_info = h->date = NULL;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    sf_http *h = arg;
    size_t len = size * n;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        clear_headers(h); /* a new response (after 100 Continue): start over */
        return len;
    }
    grab(data, len, "Retry-After", &h->retry_after);
    grab(data, len, "Sforce-Limit-Info", &h->limit_info);
    grab(data, len, "Date", &h->date);
    return len;
}

int sf_http_url_allowed(const char *url, char *why, size_t why_size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int rc = SYNC_E_CONFIG;
    if (u == NULL) {
        snprintf(why, why_size, "out of memory");
        return SYNC_E_NOMEM;
    }
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf(why, why_size, "\"%s\" is not a valid URL", url);
        goto out;
    }
    if (strcasecmp(scheme, "https") == 0) {
        rc = SYNC_OK;
    } else if (strcasecmp(scheme, "http") == 0) {
        struct in_addr a4;
        struct in6_addr a6, lo6 = IN6ADDR_LOOPBACK_INIT;
        char bare[64];
        size_t hl = strlen(host);
        /* IPv6 literals come back in brackets. */
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']' && hl - 2 < sizeof bare) {
            memcpy(bare, host + 1, hl - 2);
            bare[hl - 2] = '\0';
        } else {
            snprintf(bare, sizeof bare, "%s", host);
        }
        if (strcasecmp(bare, "localhost") == 0 ||
            (inet_pton(AF_INET, bare, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) ||
            (inet_pton(AF_INET6, bare, &a6) == 1 && memcmp(&a6, &lo6, sizeof a6) == 0))
            rc = SYNC_OK;
        else
            snprintf(why, why_size,
                     "plain http is only allowed to loopback hosts, not \"%s\"; use https", host);
    } else {
        snprintf(why, why_size, "unsupported URL scheme \"%s\" (use https)", scheme);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

int sf_http_new(sync_ctx *ctx, const sf_http_settings *set, sf_http **out)
{
    if (pthread_once(&curl_once, curl_init_once) != 0 || curl_init_rc != CURLE_OK)
        return SYNC_E_NOMEM;
    sf_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return SYNC_E_NOMEM;
    h->ctx = ctx;
    h->set = *set;
    h->set.ca_bundle = NULL; /* owned by the settings; only used while configuring */
    h->rng = (uint64_t)local_now() ^ (uint64_t)(uintptr_t)h ^ UINT64_C(0x9E3779B97F4A7C15);
    if (h->rng == 0)
        h->rng = 1;
    h->curl = curl_easy_init();
    if (h->curl == NULL) {
        free(h);
        return SYNC_E_NOMEM;
    }
    CURL *c = h->curl;
    long low_speed_s = (long)((set->low_speed_time_ms + 999) / 1000);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* instances run on engine threads */
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl supports, gzip included */
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)set->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)set->timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed_s > 0 ? low_speed_s : 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, set->verify_tls ? 1L : 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, set->verify_tls ? 2L : 0L);
    if (set->ca_bundle != NULL && set->ca_bundle[0] != '\0')
        curl_easy_setopt(c, CURLOPT_CAINFO, set->ca_bundle);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "syncengine-salesforce/" SYNCENGINE_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
    *out = h;
    return SYNC_OK;
}

void sf_http_free(sf_http *h)
{
    if (h == NULL)
        return;
    curl_easy_cleanup(h->curl);
    sf_buf_free(&h->body);
    clear_headers(h);
    free(h);
}

void sf_http_response_clear(sf_http_response *resp)
{
    free(resp->body);
    free(resp->limit_info);
    if (resp->json != NULL)
        json_decref(resp->json);
    memset(resp, 0, sizeof *resp);
}

int64_t sf_http_server_now(const sf_http *h)
{
    int64_t now = local_now();
    if (h == NULL || h->date_usec == 0)
        return atomic_load(&have_server_offset) ? now + atomic_load(&server_offset_usec) : now;
    return h->date_usec + (now - h->date_local_usec);
}

int sf_http_server_time_known(const sf_http *h)
{
    return (h != NULL && h->date_usec != 0) || atomic_load(&have_server_offset);
}

int64_t sf_http_backoff_ms(const sf_http_settings *set, int n, double r)
{
    int64_t d = set->retry_base_ms;
    for (int i = 1; i < n && d < set->retry_max_ms; i++)
        d *= 2;
    if (d > set->retry_max_ms)
        d = set->retry_max_ms;
    /* "Equal jitter": at least half the step, so waits still grow. */
    return d / 2 + (int64_t)(r * (double)(d - d / 2));
}

static double next_random(sf_http *h)
{
    uint64_t x = h->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    h->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

/* Sleeps ms in small steps so a stopping engine is not kept waiting. */
static int wait_ms(sf_http *h, int64_t ms)
{
    while (ms > 0) {
        if (sf_host->cancelled != NULL && sf_host->cancelled(h->ctx))
            return SYNC_E_CANCELLED;
        int64_t step = ms < 100 ? ms : 100;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
    return sf_host->cancelled != NULL && sf_host->cancelled(h->ctx) ? SYNC_E_CANCELLED : SYNC_OK;
}

/* Retry-After in milliseconds (delta-seconds or an HTTP date), or -1. */
static int64_t retry_after_ms(const char *v)
{
    if (v == NULL || *v == '\0')
        return -1;
    char *end;
    long long s = strtoll(v, &end, 10);
    if (*end == '\0' && s >= 0)
        return (int64_t)s * 1000;
    time_t t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t d = ((int64_t)t * 1000000 - local_now()) / 1000;
    return d > 0 ? d : 0;
}

static int curl_retryable(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
        return 1;
    default:
        return 0;
    }
}

static int curl_status(CURLcode cc)
{
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return SYNC_E_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SYNC_E_CONFIG;
    case CURLE_OUT_OF_MEMORY:
        return SYNC_E_NOMEM;
    default:
        return SYNC_E_NETWORK;
    }
}

/*
 * "CODE: message" from a Salesforce error body ([{"errorCode", "message"}] or
 * the token endpoint's {"error", "error_description"}), for messages; "" when
 * the body is no such thing.
 */
static void error_words(const char *body, size_t len, char *out, size_t size)
{
    out[0] = '\0';
    if (body == NULL || len == 0)
        return;
    json_error_t jerr;
    json_t *js = json_loadb(body, len, 0, &jerr);
    const json_t *e = json_is_array(js) ? json_array_get(js, 0) : js;
    const char *code = json_string_value(json_object_get(e, "errorCode"));
    const char *msg = json_string_value(json_object_get(e, "message"));
    if (code == NULL)
        code = json_string_value(json_object_get(e, "error"));
    if (msg == NULL)
        msg = json_string_value(json_object_get(e, "error_description"));
    if (code != NULL)
        snprintf(out, size, "%s%s%.300s", code, msg ? ": " : "", msg ? msg : "");
    json_decref(js);
}

/* Path of url for TRACE lines: no query string (it can be long), never headers. */
static void trace_request(sf_http *h, const char *method, const char *url, int attempt)
{
    if (sf_host->log_enabled == NULL || !sf_host->log_enabled(h->ctx, SYNC_LOG_TRACE))
        return;
    CURLU *u = curl_url();
    char *path = NULL;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
        curl_url_get(u, CURLUPART_PATH, &path, 0);
    sf_host->log(h->ctx, SYNC_LOG_TRACE, "%s %s (attempt %d)", method, path ? path : "?", attempt);
    curl_free(path);
    curl_url_cleanup(u);
}

int sf_http_send(sf_http *h, const sf_http_request *req, sf_http_response *resp)
{
    char why[256];
    int rc = sf_http_url_allowed(req->url, why, sizeof why);
    memset(resp, 0, sizeof *resp);
    if (rc != SYNC_OK) {
        sf_host->set_error(h->ctx, "refusing request: %s", why);
        return rc;
    }
    struct curl_slist *hdrs = NULL;
    for (size_t i = 0; i < req->n_headers; i++) {
        struct curl_slist *n = curl_slist_append(hdrs, req->headers[i]);
        if (n == NULL) {
            curl_slist_free_all(hdrs);
            return SYNC_E_NOMEM;
        }
        hdrs = n;
    }
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(req->method, "GET") != 0 && (strcmp(req->method, "DELETE") != 0 || req->body != NULL)) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    }
    /*
     * libcurl silently sends a request again on a new connection when a
     * reused one dies before any answer: for a request that is not
     * idempotent that is a second create.  Such a request gets a connection
     * of its own, which libcurl never repeats that way.
     */
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, req->no_replay ? 1L : 0L);
    /* PATCH and DELETE keep POST's or GET's body handling under their own name */
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                     strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0 ? NULL : req->method);

    int max_attempts = h->set.max_attempts > 0 ? (int)h->set.max_attempts : 1;
    rc = SYNC_ERROR;
    for (int attempt = 1;; attempt++) {
        sf_buf_reset(&h->body);
        h->too_big = 0;
        clear_headers(h);
        if (req->counter != NULL)
            sf_host->counter_add(h->ctx, req->counter, 1);
        trace_request(h, req->method, req->url, attempt);

        CURLcode cc = curl_easy_perform(c);
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        resp->attempts = attempt;

        if (h->date != NULL) {
            time_t t = curl_getdate(h->date, NULL);
            if (t != (time_t)-1) {
                h->date_usec = (int64_t)t * 1000000;
                h->date_local_usec = local_now();
                atomic_store(&server_offset_usec, h->date_usec - h->date_local_usec);
                atomic_store(&have_server_offset, 1);
            }
        }

        int retry = 0;
        int64_t wait_hint = -1;
        if (cc != CURLE_OK) {
            if (h->too_big) {
                sf_host->set_error(h->ctx, "%s %s: response body larger than %u bytes",
                                   req->method, req->url, SF_HTTP_MAX_BODY);
                rc = SYNC_E_PROTOCOL;
                resp->maybe_applied = 1;
                break;
            }
            rc = curl_status(cc);
            retry = curl_retryable(cc);
            /* The transport failed; a status line that arrived first is not the answer. */
            if (status > 0)
                sf_host->set_error(h->ctx, "%s request failed: transport error: %s (the HTTP %ld answer "
                                   "was cut off)", req->method, curl_easy_strerror(cc), status);
            else
                sf_host->set_error(h->ctx, "%s request failed: transport error: %s", req->method,
                                   curl_easy_strerror(cc));
            if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
                sf_host->set_error(h->ctx,
                                   "tls verification failed: %s; set ca_bundle to the CA file that "
                                   "signed the server certificate", curl_easy_strerror(cc));
        } else if (status >= 500 || status == 429) {
            rc = status == 429 ? SYNC_E_RATELIMIT : SYNC_E_UNAVAILABLE;
            retry = 1;
            wait_hint = retry_after_ms(h->retry_after);
            char words[400];
            error_words(h->body.ptr, h->body.len, words, sizeof words);
            if (words[0] != '\0')
                sf_host->set_error(h->ctx, "salesforce answered HTTP %ld %s", status, words);
            else
                sf_host->set_error(h->ctx, "HTTP %ld from server: %.300s", status,
                                   h->body.ptr ? h->body.ptr : "");
        } else {
            json_error_t jerr;
            json_t *js = NULL;
            int is_json;
            if (req->body_text && status >= 200 && status < 300) {
                is_json = sf_json_valid(h->body.ptr, h->body.len);
            } else {
                if (h->body.len > 0)
                    js = json_loadb(h->body.ptr, h->body.len, 0, &jerr);
                is_json = js != NULL;
            }
            if (status >= 200 && status < 300 && !is_json) {
                /* A 2xx that is not JSON is a cut-off body or an intermediary's page. */
                rc = SYNC_E_PROTOCOL;
                retry = 1;
                sf_host->set_error(h->ctx, "HTTP %ld with a body that is not complete JSON (%zu bytes)",
                                   status, h->body.len);
            } else {
                resp->json = js;
                rc = SYNC_OK;
            }
        }

        /*
         * A request that is not idempotent is repeated only when the server
         * cannot have acted on it: no connection was made, or it answered
         * 429 or 503 (refused before any work).  Otherwise a lost answer may
         * hide a committed write, and the caller must find out, not resend.
         */
        int not_sent = cc == CURLE_COULDNT_RESOLVE_HOST || cc == CURLE_COULDNT_CONNECT ||
                       (cc == CURLE_OK && (status == 429 || status == 503));
        resp->maybe_applied = rc != SYNC_OK && !not_sent && (cc != CURLE_OK || status >= 500 ||
                                                               (status >= 200 && status < 300));
        if (req->no_replay && !not_sent)
            retry = 0;
        if (rc == SYNC_OK || !retry || attempt >= max_attempts) {
            resp->status = status;
            break;
        }
        int64_t delay = sf_http_backoff_ms(&h->set, attempt, next_random(h));
        if (wait_hint >= 0) {
            if (wait_hint > h->set.retry_max_ms) {
                sf_host->set_error(h->ctx,
                                   "HTTP %ld: server asked to retry after %lld ms, more than "
                                   "retry_max allows", status, (long long)wait_hint);
                resp->status = status;
                break;
            }
            delay = wait_hint;
        }
        /* One cause per line: the transport's error, or the server's status and words. */
        char words[400];
        words[0] = '\0';
        if (cc == CURLE_OK)
            error_words(h->body.ptr, h->body.len, words, sizeof words);
        if (cc != CURLE_OK)
            sf_host->log(h->ctx, SYNC_LOG_WARN, "%s attempt %d of %d failed (transport error: %s), "
                         "retrying in %lld ms", req->method, attempt, max_attempts,
                         curl_easy_strerror(cc), (long long)delay);
        else if (words[0] != '\0')
            sf_host->log(h->ctx, SYNC_LOG_WARN, "%s attempt %d of %d failed (HTTP %ld %s), retrying in "
                         "%lld ms", req->method, attempt, max_attempts, status, words, (long long)delay);
        else
            sf_host->log(h->ctx, SYNC_LOG_WARN, "%s attempt %d of %d failed (HTTP %ld, %s), retrying in "
                         "%lld ms", req->method, attempt, max_attempts, status, sf_host->strerror(rc),
                         (long long)delay);
        int w = wait_ms(h, delay);
        if (w != SYNC_OK) {
            rc = w;
            break;
        }
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
    curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 0L);
    curl_slist_free_all(hdrs);

    /* Hand the last body and headers over, whatever the outcome. */
    resp->body_len = h->body.len;
    resp->body = sf_buf_take(&h->body);
    resp->limit_info = h->limit_info;
    h->limit_info = NULL;
    return rc;
}
