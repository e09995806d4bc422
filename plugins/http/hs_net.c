/*
 * hs_net.c - requests for the HTTP source: libcurl multi, so a page's detail
 * requests run several at a time (detail_concurrency), each with its own
 * retries.
 *
 * Retried with backoff (retry_base doubling up to retry_max, with jitter, at
 * most max_attempts tries): 429 and 5xx answers (a Retry-After header sets the
 * wait; one longer than retry_max ends the attempts), transport failures
 * (refused, reset, timed out, cut off) and 2xx bodies that are not complete
 * JSON.  A 401 with the OAuth refresh grant gets a new access token once and
 * tries again; otherwise 401/403 fail as authentication errors, and other 4xx
 * answers fail at once.  Requests are spaced by rate_limit (requests per
 * second, every request of the instance counted).  TLS is verified unless
 * verify_tls is off.  Only paths are logged, never query strings or headers:
 * secrets travel in both.
 */
#include <arpa/inet.h>
#include <pthread.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hs.h"

#define HS_MAX_BODY (256u * 1024u * 1024u)
#define HS_MAX_SLOTS 64

typedef struct xfer {
    hs_req *r;
    char *body;
    size_t len, cap;
    int too_big;
    char *retry_after;
    char *link;
    int state; /* 0 waiting, 1 running, 2 done */
    int64_t not_before;
    int refreshed;
    int64_t token_gen; /* the access token it was sent with */
    CURL *easy;
} xfer;

struct hs_net {
    sync_ctx *ctx;
    const hs_conf *c;
    CURLM *multi;
    CURL *slots[HS_MAX_SLOTS];
    int slot_busy[HS_MAX_SLOTS];
    struct curl_slist *headers;
    struct curl_slist *retired[8];
    int n_retired;
    char *access_token;
    char *refresh_token;
    int64_t token_gen;   /* bumped with every new access token */
    int64_t session_gen; /* the shared session's generation this instance's token came from */
    int64_t rate_next_us; /* when the section has no shared slot */
    uint64_t rng;
    int64_t calls;
};

/*
 * rate_limit is per [source] section: the instances of one section in this
 * process (parallel streams, the probe's, several jobs) share the next free
 * slot.  A fixed table, no heap: nothing to free when the engine unloads the
 * plugin.  Sections beyond it (or with longer names) get a slot each.
 */
#define HS_RATE_SLOTS 64
static struct {
    char section[120];
    int64_t next_us;
} rate_slots[HS_RATE_SLOTS];
static pthread_mutex_t rate_lock = PTHREAD_MUTEX_INITIALIZER;

/* Takes the next request slot of the section: 0 when a request may start now, else when it may. */
static int64_t rate_take(const char *section, int64_t now, int64_t interval, int64_t *own)
{
    int64_t *next = own;
    pthread_mutex_lock(&rate_lock);
    if (strlen(section) < sizeof rate_slots[0].section) {
        for (int i = 0; i < HS_RATE_SLOTS; i++) {
            if (strcmp(rate_slots[i].section, section) == 0) {
                next = &rate_slots[i].next_us;
                break;
            }
            if (rate_slots[i].section[0] == '\0') {
                snprintf(rate_slots[i].section, sizeof rate_slots[i].section, "%s", section);
                next = &rate_slots[i].next_us;
                break;
            }
        }
    }
    int64_t wait = 0;
    if (*next > now)
        wait = *next;
    else
        *next = now + interval;
    pthread_mutex_unlock(&rate_lock);
    return wait;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_us(int64_t us)
{
    if (us <= 0)
        return;
    struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

int hs_net_url_allowed(const char *url, char *why, size_t why_size)
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
            snprintf(why, why_size, "plain http is only allowed to loopback hosts, not \"%s\"; use https", host);
    } else {
        snprintf(why, why_size, "unsupported URL scheme \"%s\" (use https)", scheme);
    }
out:
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return rc;
}

static int origin(const char *url, char *out, size_t size)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL;
    int ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK;
    if (ok) {
        snprintf(out, size, "%s://%s:%s", scheme, host, port);
        for (char *p = out; *p; p++)
            if (*p >= 'A' && *p <= 'Z')
                *p = (char)(*p - 'A' + 'a');
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok;
}

int hs_net_same_origin(const char *base, const char *url)
{
    char a[512], b[512];
    return origin(base, a, sizeof a) && origin(url, b, sizeof b) && strcmp(a, b) == 0;
}

char *hs_net_join(const char *base, const char *path)
{
    if (path == NULL)
        path = "";
    if (strncasecmp(path, "http://", 7) == 0 || strncasecmp(path, "https://", 8) == 0)
        return strdup(path);
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    const char *p = path;
    while (*p == '/')
        p++;
    size_t n = bl + 1 + strlen(p) + 1;
    char *out = malloc(n);
    if (out != NULL)
        snprintf(out, n, "%.*s/%s", (int)bl, base, p);
    return out;
}

/* The path of url, for messages: never the query string. */
static void url_path(const char *url, char *out, size_t size)
{
    CURLU *u = curl_url();
    char *path = NULL;
    if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK)
        curl_url_get(u, CURLUPART_PATH, &path, 0);
    snprintf(out, size, "%s", path ? path : "?");
    curl_free(path);
    curl_url_cleanup(u);
}

static int rebuild_headers(hs_net *n)
{
    const hs_conf *c = n->c;
    struct curl_slist *h = curl_slist_append(NULL, "Accept: application/json");
    char line[4096];
    for (size_t i = 0; h != NULL && i < c->n_headers; i++)
        h = curl_slist_append(h, c->headers[i]);
    const char *token = c->auth == HS_AUTH_OAUTH ? n->access_token : c->auth_token;
    if (h != NULL && c->auth == HS_AUTH_HEADER && token != NULL) {
        snprintf(line, sizeof line, "%s: %s", c->auth_header, token);
        h = curl_slist_append(h, line);
    } else if (h != NULL && (c->auth == HS_AUTH_BEARER || c->auth == HS_AUTH_OAUTH) && token != NULL) {
        snprintf(line, sizeof line, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, line);
    }
    memset(line, 0, sizeof line);
    if (h == NULL)
        return SYNC_E_NOMEM;
    if (n->headers != NULL) {
        /* transfers under way may still point at the old list: keep it until the end */
        if (n->n_retired == (int)(sizeof n->retired / sizeof n->retired[0])) {
            curl_slist_free_all(n->retired[0]);
            memmove(n->retired, n->retired + 1, sizeof n->retired - sizeof n->retired[0]);
            n->n_retired--;
        }
        n->retired[n->n_retired++] = n->headers;
    }
    n->headers = h;
    return SYNC_OK;
}

static size_t on_body(char *data, size_t size, size_t nm, void *arg)
{
    xfer *x = arg;
    size_t len = size * nm;
    if (x->len + len > HS_MAX_BODY) {
        x->too_big = 1;
        return 0;
    }
    if (x->len + len + 1 > x->cap) {
        size_t cap = (x->len + len + 1) * 2;
        char *b = realloc(x->body, cap);
        if (b == NULL)
            return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, len);
    x->len += len;
    x->body[x->len] = '\0';
    return len;
}

static char *header_value(const char *line, size_t len, const char *name)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    return strndup(v, (size_t)(end - v));
}

static size_t on_header(char *data, size_t size, size_t nm, void *arg)
{
    xfer *x = arg;
    size_t len = size * nm;
    if (len >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        free(x->retry_after);
        free(x->link);
        x->retry_after = x->link = NULL;
        return len;
    }
    char *v = header_value(data, len, "Retry-After");
    if (v != NULL) {
        free(x->retry_after);
        x->retry_after = v;
    }
    v = header_value(data, len, "Link");
    if (v != NULL) {
        if (x->link == NULL) {
            x->link = v;
        } else {
            size_t n = strlen(x->link) + strlen(v) + 3;
            char *j = malloc(n);
            if (j != NULL)
                snprintf(j, n, "%s, %s", x->link, v);
            free(x->link);
            free(v);
            x->link = j;
        }
    }
    return len;
}

/* The URL of the rel="next" entry of a Link header, resolved against base; malloc'd or NULL. */
static char *link_next(const char *link, const char *base)
{
    const char *p = link;
    while (p != NULL && *p) {
        const char *lt = strchr(p, '<');
        if (lt == NULL)
            break;
        const char *gt = strchr(lt, '>');
        if (gt == NULL)
            break;
        const char *end = strchr(gt, ',');
        /* a comma may sit inside the next entry's URL, not in the parameters: params end at the next '<' */
        const char *next_lt = strchr(gt, '<');
        if (end == NULL || (next_lt != NULL && next_lt < end))
            end = next_lt ? next_lt : gt + strlen(gt);
        size_t plen = (size_t)(end - gt);
        char params[512];
        snprintf(params, sizeof params, "%.*s", (int)(plen < sizeof params ? plen : sizeof params - 1), gt + 1);
        for (char *q = params; *q; q++)
            if (*q >= 'A' && *q <= 'Z')
                *q = (char)(*q - 'A' + 'a');
        if (strstr(params, "rel=\"next\"") != NULL || strstr(params, "rel=next") != NULL ||
            strstr(params, " next\"") != NULL || strstr(params, "\"next ") != NULL) {
            char *rel = strndup(lt + 1, (size_t)(gt - lt - 1));
            CURLU *u = curl_url();
            char *abs = NULL;
            if (rel != NULL && u != NULL && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
                curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK)
                curl_url_get(u, CURLUPART_URL, &abs, 0);
            char *out = abs ? strdup(abs) : NULL;
            curl_free(abs);
            curl_url_cleanup(u);
            free(rel);
            return out;
        }
        p = end;
    }
    return NULL;
}

static void configure(hs_net *n, CURL *e)
{
    const hs_conf *c = n->c;
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, c->verify_tls ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, c->verify_tls ? 2L : 0L);
    if (c->ca_bundle != NULL && c->ca_bundle[0] != '\0')
        curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "syncengine-http/" SYNCENGINE_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
}

static void load_rotated(hs_net *n);

int hs_net_new(sync_ctx *ctx, const hs_conf *conf, hs_net **out)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return SYNC_E_NOMEM;
    hs_net *n = calloc(1, sizeof *n);
    if (n == NULL) {
        curl_global_cleanup();
        return SYNC_E_NOMEM;
    }
    n->ctx = ctx;
    n->c = conf;
    n->rng = (uint64_t)now_us() ^ (uint64_t)(uintptr_t)n ^ UINT64_C(0x9E3779B97F4A7C15);
    n->multi = curl_multi_init();
    if (conf->refresh_token != NULL && (n->refresh_token = strdup(conf->refresh_token)) == NULL) {
        hs_net_free(n);
        return SYNC_E_NOMEM;
    }
    if (conf->auth == HS_AUTH_OAUTH)
        load_rotated(n);
    if (n->multi == NULL || rebuild_headers(n) != SYNC_OK) {
        hs_net_free(n);
        return SYNC_E_NOMEM;
    }
    curl_multi_setopt(n->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)(conf->detail_concurrency + 1));
    *out = n;
    return SYNC_OK;
}

void hs_net_free(hs_net *n)
{
    if (n == NULL)
        return;
    for (int i = 0; i < HS_MAX_SLOTS; i++)
        if (n->slots[i] != NULL)
            curl_easy_cleanup(n->slots[i]);
    if (n->multi != NULL)
        curl_multi_cleanup(n->multi);
    curl_slist_free_all(n->headers);
    for (int i = 0; i < n->n_retired; i++)
        curl_slist_free_all(n->retired[i]);
    free(n->access_token);
    free(n->refresh_token);
    free(n);
    curl_global_cleanup();
}

int64_t hs_net_calls(const hs_net *n)
{
    return n ? n->calls : 0;
}

void hs_req_clear(hs_req *r)
{
    if (r == NULL)
        return;
    free(r->url);
    if (r->json != NULL)
        json_decref(r->json);
    free(r->link_next);
    memset(r, 0, sizeof *r);
}

static double next_random(hs_net *n)
{
    uint64_t x = n->rng ? n->rng : 1;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    n->rng = x;
    return (double)(x >> 11) / 9007199254740992.0;
}

static int64_t backoff_ms(hs_net *n, int attempt)
{
    int64_t d = n->c->retry_base_ms;
    for (int i = 1; i < attempt && d < n->c->retry_max_ms; i++)
        d *= 2;
    if (d > n->c->retry_max_ms)
        d = n->c->retry_max_ms;
    return d / 2 + (int64_t)(next_random(n) * (double)(d - d / 2));
}

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
    int64_t d = (int64_t)(t - time(NULL)) * 1000;
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

/* A short, single-line excerpt of an error body for messages. */
static void excerpt(const char *body, size_t len, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < size && i < 300; i++)
        out[o++] = (body[i] == '\n' || body[i] == '\r' || body[i] == '\t') ? ' ' : body[i];
    out[o] = '\0';
}

/* ---- the OAuth refresh grant (blocking, its own handle) */

#define HS_STATE_REFRESH "refresh_token"

/* FNV-1a of the configured refresh token: a rotated token stored for another one is ignored. */
static void token_fp(const char *t, char out[17])
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (const unsigned char *p = (const unsigned char *)(t ? t : ""); *p; p++) {
        h ^= *p;
        h *= UINT64_C(1099511628211);
    }
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* The refresh token to use: one rotated earlier for the configured token, from the state store. */
static void load_rotated(hs_net *n)
{
    char *stored = NULL, fp[17];
    if (hs_host->state_get(n->ctx, HS_STATE_REFRESH, &stored) != SYNC_OK || stored == NULL)
        return;
    token_fp(n->c->refresh_token, fp);
    if (strlen(stored) > 17 && strncmp(stored, fp, 16) == 0 && stored[16] == ':') {
        char *t = strdup(stored + 17);
        if (t != NULL) {
            free(n->refresh_token);
            n->refresh_token = t;
            hs_host->log_add_secret(n->ctx, t);
        }
    }
    memset(stored, 0, strlen(stored));
    hs_host->free(stored);
}

/* Keeps a rotated refresh token in the state store, tagged with the configured one's fingerprint. */
static void keep_rotated(hs_net *n, const char *token)
{
    char fp[17];
    token_fp(n->c->refresh_token, fp);
    size_t len = strlen(token) + 18;
    char *v = malloc(len);
    if (v == NULL)
        return;
    snprintf(v, len, "%s:%s", fp, token);
    if (hs_host->state_put(n->ctx, HS_STATE_REFRESH, v) != SYNC_OK)
        hs_host->log(n->ctx, SYNC_LOG_WARN, "could not store the rotated refresh token; the next run may need "
                     "a new one");
    memset(v, 0, len);
    free(v);
}

/* One token request with n's refresh token; the new tokens become n's. */
static int oauth_request(hs_net *n)
{
    const hs_conf *c = n->c;
    char why[256];
    if (hs_net_url_allowed(c->token_url, why, sizeof why) != SYNC_OK) {
        hs_host->set_error(n->ctx, "option 'token_url': %s", why);
        return SYNC_E_CONFIG;
    }
    CURL *e = curl_easy_init();
    if (e == NULL)
        return SYNC_E_NOMEM;
    char *id = hs_urlencode(c->client_id ? c->client_id : "");
    char *sec = hs_urlencode(c->client_secret ? c->client_secret : "");
    char *rt = hs_urlencode(n->refresh_token ? n->refresh_token : "");
    size_t blen = (id ? strlen(id) : 0) + (sec ? strlen(sec) : 0) + (rt ? strlen(rt) : 0) + 96;
    char *form = malloc(blen);
    int rc = SYNC_E_NOMEM;
    xfer x = {0};
    if (id == NULL || sec == NULL || rt == NULL || form == NULL)
        goto out;
    snprintf(form, blen, "grant_type=refresh_token&client_id=%s&refresh_token=%s%s%s", id, rt,
             c->client_secret && *c->client_secret ? "&client_secret=" : "",
             c->client_secret && *c->client_secret ? sec : "");
    configure(n, e);
    curl_easy_setopt(e, CURLOPT_URL, c->token_url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, form);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
    for (int attempt = 1;; attempt++) {
        x.len = 0;
        x.too_big = 0;
        n->calls++;
        hs_host->counter_add(n->ctx, "api_calls", 1);
        hs_host->counter_add(n->ctx, "token_requests", 1);
        CURLcode cc = curl_easy_perform(e);
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        int retry = 0;
        if (cc != CURLE_OK) {
            rc = curl_status(cc);
            retry = curl_retryable(cc);
            hs_host->set_error(n->ctx, "token request failed: transport error: %s", curl_easy_strerror(cc));
        } else if (status == 429 || status >= 500) {
            rc = status == 429 ? SYNC_E_RATELIMIT : SYNC_E_UNAVAILABLE;
            retry = 1;
            hs_host->set_error(n->ctx, "token request answered HTTP %ld", status);
        } else if (status != 200) {
            char ex[320];
            json_t *js = x.body ? json_loadb(x.body, x.len, 0, NULL) : NULL;
            const char *err = json_string_value(json_object_get(js, "error"));
            const char *desc = json_string_value(json_object_get(js, "error_description"));
            excerpt(x.body ? x.body : "", x.len, ex, sizeof ex);
            if (err != NULL)
                hs_host->set_error(n->ctx, "token request refused: HTTP %ld %s%s%s", status, err, desc ? ": " : "",
                                   desc ? desc : "");
            else
                hs_host->set_error(n->ctx, "token request refused: HTTP %ld", status);
            json_decref(js);
            rc = SYNC_E_AUTH;
        } else {
            json_t *js = x.body ? json_loadb(x.body, x.len, 0, NULL) : NULL;
            const char *at = json_string_value(json_object_get(js, "access_token"));
            const char *nrt = json_string_value(json_object_get(js, "refresh_token"));
            if (at == NULL || *at == '\0') {
                rc = SYNC_E_PROTOCOL;
                retry = js == NULL;
                hs_host->set_error(n->ctx, "token response without access_token");
            } else {
                hs_host->log_add_secret(n->ctx, at);
                if (nrt != NULL && *nrt)
                    hs_host->log_add_secret(n->ctx, nrt);
                rc = SYNC_OK;
                int crc = SYNC_E_UNSUPPORTED;
                if (SYNC_HOST_HAS(hs_host, credentials_changed)) {
                    const char *names[2] = {"access_token", "refresh_token"};
                    const char *vals[2] = {at, nrt};
                    crc = hs_host->credentials_changed(n->ctx, names, vals, nrt && *nrt ? 2 : 1);
                    if (crc != SYNC_OK && crc != SYNC_E_UNSUPPORTED) {
                        hs_host->set_error(n->ctx, "the credentials just issued could not be stored; the run "
                                           "stops before using them");
                        rc = crc;
                    }
                }
                /* nothing else keeps a rotated refresh token: the state store does */
                if (rc == SYNC_OK && crc == SYNC_E_UNSUPPORTED && nrt != NULL && *nrt &&
                    (n->refresh_token == NULL || strcmp(nrt, n->refresh_token) != 0))
                    keep_rotated(n, nrt);
                if (rc == SYNC_OK) {
                    free(n->access_token);
                    n->access_token = strdup(at);
                    n->token_gen++;
                    if (nrt != NULL && *nrt) {
                        free(n->refresh_token);
                        n->refresh_token = strdup(nrt);
                    }
                    rc = n->access_token ? rebuild_headers(n) : SYNC_E_NOMEM;
                }
            }
            json_decref(js);
        }
        if (rc == SYNC_OK || !retry || attempt >= (int)c->max_attempts)
            break;
        int64_t d = backoff_ms(n, attempt);
        hs_host->log(n->ctx, SYNC_LOG_WARN, "token request attempt %d of %d failed, retrying in %lld ms", attempt,
                     (int)c->max_attempts, (long long)d);
        sleep_us(d * 1000);
    }
out:
    curl_easy_cleanup(e);
    free(x.body);
    free(x.retry_after);
    free(x.link);
    if (form != NULL) {
        memset(form, 0, strlen(form));
        free(form);
    }
    free(id);
    free(sec);
    free(rt);
    return rc;
}

/*
 * One OAuth session per grant (token URL, client id, configured refresh
 * token) in the process: the instances of a section (parallel streams, the
 * probe's) share the access token and, above all, a rotated refresh token,
 * which the server accepts only once.  Refreshes are serialized; an instance
 * whose token is older than the session's adopts the session's instead of
 * asking again.  Freed when the plugin is unloaded.
 */
#define HS_SESSIONS 32
static struct hs_session {
    char id[17];
    char *access, *refresh;
    int64_t gen;
} sessions[HS_SESSIONS];
static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((destructor)) static void sessions_free(void)
{
    for (int i = 0; i < HS_SESSIONS; i++) {
        if (sessions[i].access != NULL)
            memset(sessions[i].access, 0, strlen(sessions[i].access));
        if (sessions[i].refresh != NULL)
            memset(sessions[i].refresh, 0, strlen(sessions[i].refresh));
        free(sessions[i].access);
        free(sessions[i].refresh);
        memset(&sessions[i], 0, sizeof sessions[i]);
    }
}

static struct hs_session *session_of(const hs_conf *c)
{
    char id[17], *key;
    size_t len = strlen(c->token_url ? c->token_url : "") + strlen(c->client_id ? c->client_id : "") +
                 strlen(c->refresh_token ? c->refresh_token : "") + 3;
    if ((key = malloc(len)) == NULL)
        return NULL;
    snprintf(key, len, "%s\n%s\n%s", c->token_url ? c->token_url : "", c->client_id ? c->client_id : "",
             c->refresh_token ? c->refresh_token : "");
    token_fp(key, id);
    memset(key, 0, len);
    free(key);
    for (int i = 0; i < HS_SESSIONS; i++)
        if (strcmp(sessions[i].id, id) == 0)
            return &sessions[i];
    for (int i = 0; i < HS_SESSIONS; i++)
        if (sessions[i].id[0] == '\0') {
            memcpy(sessions[i].id, id, sizeof id);
            return &sessions[i];
        }
    return NULL; /* a full table: the instance refreshes on its own */
}

static int take_token(hs_net *n, const char *access, const char *refresh)
{
    char *a = strdup(access), *r = refresh ? strdup(refresh) : NULL;
    if (a == NULL || (refresh != NULL && r == NULL)) {
        free(a);
        free(r);
        return SYNC_E_NOMEM;
    }
    hs_host->log_add_secret(n->ctx, a);
    free(n->access_token);
    n->access_token = a;
    if (r != NULL) {
        hs_host->log_add_secret(n->ctx, r);
        free(n->refresh_token);
        n->refresh_token = r;
    }
    n->token_gen++;
    return rebuild_headers(n);
}

/* A new access token: the session's when it is newer than this instance's, else a token request. */
static int oauth_refresh(hs_net *n)
{
    pthread_mutex_lock(&session_lock);
    struct hs_session *ses = session_of(n->c);
    int rc;
    if (ses != NULL && ses->access != NULL && ses->gen > n->session_gen) {
        rc = take_token(n, ses->access, ses->refresh);
        n->session_gen = ses->gen;
    } else {
        if (ses != NULL && ses->refresh != NULL &&
            (n->refresh_token == NULL || strcmp(ses->refresh, n->refresh_token) != 0)) {
            char *r = strdup(ses->refresh);
            if (r != NULL) {
                free(n->refresh_token);
                n->refresh_token = r;
            }
        }
        rc = oauth_request(n);
        if (rc == SYNC_OK && ses != NULL) {
            char *a = strdup(n->access_token), *r = n->refresh_token ? strdup(n->refresh_token) : NULL;
            if (a != NULL) {
                free(ses->access);
                free(ses->refresh);
                ses->access = a;
                ses->refresh = r;
                ses->gen++;
                n->session_gen = ses->gen;
            } else {
                free(r);
            }
        }
    }
    pthread_mutex_unlock(&session_lock);
    return rc;
}

/* ---- the request loop */

static int take_slot(hs_net *n)
{
    for (int i = 0; i < HS_MAX_SLOTS; i++) {
        if (!n->slot_busy[i]) {
            if (n->slots[i] == NULL) {
                n->slots[i] = curl_easy_init();
                if (n->slots[i] == NULL)
                    return -1;
                configure(n, n->slots[i]);
            }
            n->slot_busy[i] = 1;
            return i;
        }
    }
    return -1;
}

static void release_slot(hs_net *n, CURL *e)
{
    for (int i = 0; i < HS_MAX_SLOTS; i++)
        if (n->slots[i] == e)
            n->slot_busy[i] = 0;
}

static void stop_xfer(hs_net *n, xfer *x)
{
    if (x->easy != NULL) {
        curl_multi_remove_handle(n->multi, x->easy);
        release_slot(n, x->easy);
        x->easy = NULL;
    }
}

/* Decides what an ended attempt means: 0 done (rc in x->r->rc), 1 retry after *delay_ms. */
static int judge(hs_net *n, xfer *x, CURLcode cc, int *auth_retry, int64_t *delay_ms)
{
    hs_req *r = x->r;
    const hs_conf *c = n->c;
    char path[512], ex[320];
    long status = 0;
    url_path(r->url, path, sizeof path);
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    r->status = status;
    *auth_retry = 0;
    *delay_ms = -1;
    int retry = 0;
    int64_t hint = -1;
    char cause[400];
    if (cc != CURLE_OK) {
        if (x->too_big) {
            hs_host->set_error(n->ctx, "GET %s: response body larger than %u bytes", path, HS_MAX_BODY);
            r->rc = SYNC_E_PROTOCOL;
            return 0;
        }
        r->rc = curl_status(cc);
        retry = curl_retryable(cc);
        snprintf(cause, sizeof cause, "transport error: %s", curl_easy_strerror(cc));
        if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE)
            snprintf(cause, sizeof cause, "tls verification failed: %s; set ca_bundle to the CA file that signed "
                     "the server certificate", curl_easy_strerror(cc));
    } else if (status == 429 || status >= 500) {
        r->rc = status == 429 ? SYNC_E_RATELIMIT : SYNC_E_UNAVAILABLE;
        retry = 1;
        hint = retry_after_ms(x->retry_after);
        excerpt(x->body ? x->body : "", x->len, ex, sizeof ex);
        snprintf(cause, sizeof cause, "HTTP %ld%s%s", status, ex[0] ? ": " : "", ex);
    } else if (status == 401 && c->auth == HS_AUTH_OAUTH && !x->refreshed) {
        *auth_retry = 1;
        return 1;
    } else if (status >= 200 && status < 300) {
        json_error_t jerr;
        /* \u0000 is valid JSON: a string holding it is read whole (the sink's text_nul decides) */
        json_t *js = x->body ? json_loadb(x->body, x->len, JSON_ALLOW_NUL, &jerr) : NULL;
        if (js == NULL) {
            r->rc = SYNC_E_PROTOCOL;
            retry = 1;
            snprintf(cause, sizeof cause, "HTTP %ld with a body that is not complete JSON (%zu bytes)", status,
                     x->len);
        } else {
            r->json = js;
            r->rc = SYNC_OK;
            if (x->link != NULL)
                r->link_next = link_next(x->link, r->url);
            return 0;
        }
    } else {
        excerpt(x->body ? x->body : "", x->len, ex, sizeof ex);
        if (x->body != NULL)
            r->json = json_loadb(x->body, x->len, 0, NULL);
        if (status == 404) {
            r->rc = SYNC_E_NOTFOUND;
            hs_host->set_error(n->ctx, "GET %s: HTTP 404 not found%s%s", path, ex[0] ? ": " : "", ex);
        } else if (status == 401 || status == 403) {
            r->rc = SYNC_E_AUTH;
            hs_host->set_error(n->ctx, "GET %s: HTTP %ld, credentials refused%s%s", path, status, ex[0] ? ": " : "",
                               ex);
        } else {
            r->rc = status >= 400 ? SYNC_E_CONFIG : SYNC_E_PROTOCOL;
            hs_host->set_error(n->ctx, "GET %s: HTTP %ld%s%s", path, status, ex[0] ? ": " : "", ex);
        }
        return 0;
    }
    if (!retry || r->attempts >= (int)c->max_attempts) {
        hs_host->set_error(n->ctx, "GET %s failed after %d attempt%s: %s", path, r->attempts,
                           r->attempts == 1 ? "" : "s", cause);
        return 0;
    }
    int64_t d = backoff_ms(n, r->attempts);
    if (hint >= 0) {
        if (hint > c->retry_max_ms) {
            hs_host->set_error(n->ctx, "GET %s: %s; the server asked to retry after %lld ms, more than retry_max",
                               path, cause, (long long)hint);
            return 0;
        }
        d = hint > d ? hint : d;
    }
    hs_host->log(n->ctx, SYNC_LOG_WARN, "GET %s attempt %d of %d failed (%s), retrying in %lld ms", path,
                 r->attempts, (int)c->max_attempts, cause, (long long)d);
    if (status == 429)
        hs_host->counter_add(n->ctx, "retries_http_429", 1);
    else if (status >= 500)
        hs_host->counter_add(n->ctx, "retries_http_5xx", 1);
    else
        hs_host->counter_add(n->ctx, "retries_transport", 1);
    *delay_ms = d;
    return 1;
}

int hs_net_fetch(hs_net *n, hs_req **reqs, size_t nreq, int concurrency, int allow_404)
{
    if (nreq == 0)
        return SYNC_OK;
    if (concurrency < 1)
        concurrency = 1;
    if (concurrency > HS_MAX_SLOTS)
        concurrency = HS_MAX_SLOTS;
    const hs_conf *c = n->c;
    if (c->auth == HS_AUTH_OAUTH && n->access_token == NULL) {
        int rc = oauth_refresh(n);
        if (rc != SYNC_OK)
            return rc;
    }
    xfer *xs = calloc(nreq, sizeof *xs);
    if (xs == NULL)
        return SYNC_E_NOMEM;
    for (size_t i = 0; i < nreq; i++) {
        xs[i].r = reqs[i];
        reqs[i]->rc = SYNC_OK;
        reqs[i]->attempts = 0;
        char why[256];
        if (hs_net_url_allowed(reqs[i]->url, why, sizeof why) != SYNC_OK) {
            hs_host->set_error(n->ctx, "refusing request: %s", why);
            free(xs);
            return SYNC_E_CONFIG;
        }
    }
    int64_t interval_us = c->rate_limit > 0 ? (int64_t)(1e6 / c->rate_limit) : 0;
    size_t done = 0;
    int running = 0, rc = SYNC_OK;
    while (done < nreq && rc == SYNC_OK) {
        if (hs_host->cancelled(n->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        int64_t now = now_us(), wake = now + 100000;
        /* start what may start */
        for (size_t i = 0; i < nreq && running < concurrency; i++) {
            xfer *x = &xs[i];
            if (x->state != 0)
                continue;
            if (x->not_before > now) {
                if (x->not_before < wake)
                    wake = x->not_before;
                continue;
            }
            if (interval_us > 0) {
                int64_t at = rate_take(c->section, now, interval_us, &n->rate_next_us);
                if (at > 0) {
                    if (at < wake)
                        wake = at;
                    break;
                }
            }
            int s = take_slot(n);
            if (s < 0) {
                rc = SYNC_E_NOMEM;
                break;
            }
            x->easy = n->slots[s];
            x->len = 0;
            x->too_big = 0;
            free(x->retry_after);
            free(x->link);
            x->retry_after = x->link = NULL;
            curl_easy_setopt(x->easy, CURLOPT_URL, x->r->url);
            curl_easy_setopt(x->easy, CURLOPT_HTTPHEADER, n->headers);
            curl_easy_setopt(x->easy, CURLOPT_HTTPGET, 1L);
            curl_easy_setopt(x->easy, CURLOPT_WRITEDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
            curl_easy_setopt(x->easy, CURLOPT_PRIVATE, x);
            curl_multi_add_handle(n->multi, x->easy);
            x->state = 1;
            x->token_gen = n->token_gen;
            x->r->attempts++;
            running++;
            n->calls++;
            hs_host->counter_add(n->ctx, "api_calls", 1);
            if (hs_host->log_enabled(n->ctx, SYNC_LOG_TRACE)) {
                char path[512];
                url_path(x->r->url, path, sizeof path);
                hs_host->log(n->ctx, SYNC_LOG_TRACE, "GET %s (attempt %d)", path, x->r->attempts);
            }
        }
        if (rc != SYNC_OK)
            break;
        int still = 0;
        curl_multi_perform(n->multi, &still);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(n->multi, &left)) != NULL) {
            if (m->msg != CURLMSG_DONE)
                continue;
            xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            if (x == NULL)
                continue;
            CURLcode cc = m->data.result;
            int auth_retry = 0;
            int64_t delay = -1;
            int again = judge(n, x, cc, &auth_retry, &delay);
            stop_xfer(n, x);
            running--;
            if (auth_retry) {
                x->refreshed = 1;
                x->r->attempts--;
                /* requests in flight with the same old token: one new token serves them all */
                int arc = SYNC_OK;
                if (x->token_gen == n->token_gen) {
                    hs_host->log(n->ctx, SYNC_LOG_INFO, "access token refused (HTTP 401): asking for a new one");
                    arc = oauth_refresh(n);
                }
                if (arc != SYNC_OK) {
                    x->r->rc = arc;
                    x->state = 2;
                    done++;
                    rc = arc;
                    break;
                }
                x->state = 0;
                x->not_before = 0;
            } else if (again) {
                x->state = 0;
                x->not_before = now_us() + delay * 1000;
            } else {
                x->state = 2;
                done++;
                if (x->r->rc != SYNC_OK && !(allow_404 && x->r->rc == SYNC_E_NOTFOUND)) {
                    rc = x->r->rc;
                    break;
                }
            }
        }
        if (rc != SYNC_OK || done == nreq)
            break;
        if (running > 0) {
            int64_t t = (wake - now_us()) / 1000;
            curl_multi_poll(n->multi, NULL, 0, t < 1 ? 1 : (t > 100 ? 100 : (int)t), NULL);
        } else {
            int64_t t = wake - now_us();
            sleep_us(t > 100000 ? 100000 : t);
        }
    }
    for (size_t i = 0; i < nreq; i++) {
        if (xs[i].state == 1)
            stop_xfer(n, &xs[i]);
        free(xs[i].body);
        free(xs[i].retry_after);
        free(xs[i].link);
    }
    free(xs);
    return rc;
}
