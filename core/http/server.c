/*
 * core/http/server.c - the listener, one request's life, routing and auth.
 *
 * libmicrohttpd runs a thread per connection (at most HTTP_MAX_CONNECTIONS,
 * each idle one closed after 30 s), so a client that reads slowly holds up
 * only its own thread.  A handler builds its whole answer in memory first,
 * under the engine read lock, and the lock is released before a byte is sent.
 */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_priv.h"
#include "log.h"
#include "timeutil.h"

#define HTTP_MAX_CONNECTIONS 32

struct syncc_http {
    struct MHD_Daemon *d;
    pthread_rwlock_t elock;   /* readers: requests; writer: a configuration reload */
    syncc_engine *e;
    char *token;              /* NULL: changes over HTTP are refused */
    char *tls_cert, *tls_key; /* PEM text; libmicrohttpd reads them for as long as it runs */
    unsigned port;
};

typedef struct request {
    char *body;
    size_t len;
    int too_large;
} request;

/* ------------------------------------------------------------ addresses */

/* Parses HOST:PORT, [V6]:PORT or :PORT (loopback) into ss.  Returns 0 or -1. */
static int parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *sl)
{
    char host[256];
    const char *colon;
    memset(ss, 0, sizeof(*ss));
    if (text[0] == '[') {
        const char *end = strchr(text, ']');
        if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(end - text - 1));
        host[end - text - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
    }
    char *endp;
    errno = 0;
    long port = strtol(colon + 1, &endp, 10);
    if (colon[1] == '\0' || *endp != '\0' || errno || port < 0 || port > 65535)
        return -1;
    if (host[0] == '\0' || strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *sl = sizeof(*v4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *sl = sizeof(*v6);
        return 0;
    }
    return -1;
}

static int is_loopback(const struct sockaddr *sa)
{
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return 1;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return 0;
}

/* The first line of path, malloc'ed; NULL with a message.  warn: say so when others may read it. */
static char *read_token_file(const char *path, int warn, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "option 'http_token_file': cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (warn && fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077) != 0)
        syncc_log(SYNC_LOG_WARN, NULL, "option 'http_token_file': %s is readable by other users (mode %04o); "
                  "chmod 600 it", path, (unsigned)(sb.st_mode & 07777));
    char line[1024];
    char *tok = NULL;
    if (fgets(line, sizeof(line), f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0])
            tok = strdup(line);
    }
    fclose(f);
    if (tok == NULL)
        snprintf(err, errlen, "option 'http_token_file': %s holds no token on its first line", path);
    return tok;
}

/* A whole file (at most 1 MiB) as a string, malloc'ed; NULL with a message naming option. */
static char *read_pem(const char *option, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "option '%s': cannot read %s: %s", option, path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    if (buf != NULL)
        n = fread(buf, 1, cap, f);
    int too_big = buf != NULL && n == cap && fgetc(f) != EOF;
    fclose(f);
    if (buf == NULL || too_big || n == 0 || strstr((buf[n] = '\0', buf), "-----BEGIN ") == NULL) {
        snprintf(err, errlen, "option '%s': %s is not a PEM file", option, path);
        free(buf);
        return NULL;
    }
    return buf;
}

/* Overwrites and frees a buffer that held a private key. */
static void free_secret(char *s)
{
    if (s == NULL)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
    free(s);
}

int syncc_http_check_conf(const syncc_conf *conf, char *err, size_t errlen)
{
    const syncc_engine_conf *ec = &conf->engine;
    if (ec->http_listen == NULL) {
        if (ec->http_token || ec->http_token_file) {
            syncc_log(SYNC_LOG_WARN, NULL, "%s: http_token is set but http_listen is not: the HTTP API is off",
                      conf->path);
        }
        return 0;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_listen(ec->http_listen, &ss, &sl) != 0) {
        snprintf(err, errlen, "%s: option 'http_listen': '%s' is not ADDRESS:PORT (e.g. 127.0.0.1:9187 or [::1]:9187)",
                 conf->path, ec->http_listen);
        return -1;
    }
    int tls = ec->http_tls_cert != NULL || ec->http_tls_key != NULL;
    if (tls && (ec->http_tls_cert == NULL || ec->http_tls_key == NULL)) {
        snprintf(err, errlen, "%s: option '%s' needs '%s' as well", conf->path,
                 ec->http_tls_cert ? "http_tls_cert" : "http_tls_key", ec->http_tls_cert ? "http_tls_key" : "http_tls_cert");
        return -1;
    }
    if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
        snprintf(err, errlen, "%s: option 'http_tls_cert': this libmicrohttpd was built without TLS", conf->path);
        return -1;
    }
    if (tls) {
        char why[1024];
        const char *opt[2] = {"http_tls_cert", "http_tls_key"};
        const char *path[2] = {ec->http_tls_cert, ec->http_tls_key};
        for (int i = 0; i < 2; i++) {
            char *pem = read_pem(opt[i], path[i], why, sizeof(why));
            if (pem == NULL) {
                snprintf(err, errlen, "%s: %s", conf->path, why);
                return -1;
            }
            free_secret(pem);
        }
    }
    if (!is_loopback((struct sockaddr *)&ss) && !ec->http_insecure && !tls) {
        snprintf(err, errlen, "%s: option 'http_listen': %s is not a loopback address; serving the HTTP API "
                 "elsewhere needs TLS (http_tls_cert and http_tls_key) or 'http_insecure = on'",
                 conf->path, ec->http_listen);
        return -1;
    }
    if (ec->http_token && ec->http_token_file) {
        snprintf(err, errlen, "%s: options 'http_token' and 'http_token_file' are both set; use one", conf->path);
        return -1;
    }
    if (ec->http_token && strlen(ec->http_token) < 16) {
        snprintf(err, errlen, "%s: option 'http_token': the token must be at least 16 characters", conf->path);
        return -1;
    }
    if (ec->http_token_file) {
        char why[1024];
        char *tok = read_token_file(ec->http_token_file, 1, why, sizeof(why));
        if (tok == NULL) {
            snprintf(err, errlen, "%s: %s", conf->path, why);
            return -1;
        }
        size_t n = strlen(tok);
        free(tok);
        if (n < 16) {
            snprintf(err, errlen, "%s: option 'http_token_file': the token in %s must be at least 16 characters",
                     conf->path, ec->http_token_file);
            return -1;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- replies */

void http_reply_json(http_reply *r, unsigned status, json_t *o)
{
    r->status = status;
    r->content_type = "application/json";
    char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s == NULL) {
        r->status = 500;
        s = strdup("{\"error\": \"out of memory\", \"code\": \"internal\"}");
    }
    size_t n = s ? strlen(s) : 0;
    char *b = s ? realloc(s, n + 2) : NULL;
    if (b != NULL) {
        b[n++] = '\n';
        b[n] = '\0';
    } else {
        b = s;
    }
    /* an error message can quote a sink's words: no known secret leaves the process */
    if (b != NULL) {
        syncc_log_redact(b, n + 1);
        n = strlen(b);
    }
    r->body = b;
    r->len = b ? n : 0;
}

void http_reply_error(http_reply *r, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *m = json_string(msg);
    http_reply_json(r, status, json_pack("{s:o,s:s}", "error", m ? m : json_string("(message not valid UTF-8)"),
                                         "code", code));
}

/* ------------------------------------------------------------------ auth */

/* Constant time in the length of want: no early exit on the first differing byte. */
static int token_equal(const char *given, const char *want)
{
    size_t gl = strlen(given), wl = strlen(want);
    unsigned char d = gl != wl;
    for (size_t i = 0; i < wl; i++)
        d |= (unsigned char)want[i] ^ (unsigned char)(i < gl ? given[i] : 0);
    return d == 0;
}

/* 0 when the request carries the token; else fills r (401 or 403) and returns -1. */
static int authorize(syncc_http *h, struct MHD_Connection *c, http_reply *r)
{
    if (h->token == NULL) {
        http_reply_error(r, 403, "no_token_configured",
                         "changes over HTTP are off: set [engine] http_token or http_token_file");
        return -1;
    }
    const char *a = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0) {
        a += 7;
        while (*a == ' ')
            a++;
        if (token_equal(a, h->token))
            return 0;
    }
    http_reply_error(r, 401, "unauthorized", "%s", a == NULL ? "this needs the bearer token (Authorization: Bearer ...)"
                                                             : "wrong token");
    return -1;
}

/* --------------------------------------------------------------- routing */

static void random_nonce(char out[40])
{
    unsigned char b[18];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t n = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
    if (fd >= 0)
        close(fd);
    if (n != (ssize_t)sizeof(b))
        for (size_t i = 0; i < sizeof(b); i++)
            b[i] = (unsigned char)(rand() & 0xff);
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < sizeof(b); i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[2 * sizeof(b)] = '\0';
}

static int method_is(const char *m, const char *want)
{
    return strcmp(m, want) == 0;
}

/* A GET-only path: HEAD is fine too; anything else is 405. */
static int want_get(const char *method, http_reply *r)
{
    if (method_is(method, "GET") || method_is(method, "HEAD"))
        return 1;
    r->allow = "GET, HEAD";
    http_reply_error(r, 405, "method_not_allowed", "method %s is not allowed here (use GET)", method);
    return 0;
}

static void route(syncc_http *h, struct MHD_Connection *c, const char *url, const char *method, request *q,
                  http_reply *r)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    int local = ci != NULL && is_loopback(ci->client_addr);

    if (strlen(url) > 512) {
        http_reply_error(r, 414, "uri_too_long", "the path is longer than 512 bytes");
        return;
    }
    if (strstr(url, "/../") != NULL || strstr(url, "/./") != NULL || strstr(url, "//") != NULL ||
        (strlen(url) >= 3 && strcmp(url + strlen(url) - 3, "/..") == 0)) {
        http_reply_error(r, 400, "bad_path", "the path may not contain '.', '..' or empty segments");
        return;
    }
    if (q->too_large) {
        http_reply_error(r, 413, "body_too_large", "the request body is larger than %d bytes", HTTP_MAX_BODY);
        return;
    }
    /* probes are for anyone who can reach the port */
    if (strcmp(url, "/healthz") == 0) {
        if (want_get(method, r))
            http_api_healthz(h->e, r);
        return;
    }
    if (strcmp(url, "/readyz") == 0) {
        if (want_get(method, r))
            http_api_readyz(h->e, r);
        return;
    }
    const char *jobs = "/api/v1/jobs/";
    int mutating = strncmp(url, jobs, strlen(jobs)) == 0 && !method_is(method, "GET") && !method_is(method, "HEAD");
    /* reading from a non-loopback client needs the token too */
    if ((mutating || !local) && authorize(h, c, r) != 0)
        return;

    if (strcmp(url, "/") == 0) {
        if (want_get(method, r)) {
            random_nonce(r->nonce);
            r->html = 1;
            http_dashboard(h->e, r);
        }
        return;
    }
    if (strcmp(url, "/metrics") == 0) {
        if (want_get(method, r))
            http_api_metrics(h->e, r);
        return;
    }
    if (strcmp(url, "/api/v1/status") == 0) {
        if (want_get(method, r))
            http_api_status(h->e, r);
        return;
    }
    if (strncmp(url, jobs, strlen(jobs)) == 0) {
        /* /api/v1/jobs/NAME/WHAT */
        const char *name = url + strlen(jobs);
        const char *slash = strchr(name, '/');
        if (slash == NULL || slash == name || strchr(slash + 1, '/') != NULL) {
            http_reply_error(r, 404, "not_found", "no such endpoint: %s (see /api/v1/jobs/NAME/runs)", url);
            return;
        }
        char job[256];
        if ((size_t)(slash - name) >= sizeof(job)) {
            http_reply_error(r, 404, "unknown_job", "no such job");
            return;
        }
        memcpy(job, name, (size_t)(slash - name));
        job[slash - name] = '\0';
        const char *what = slash + 1;
        if (strcmp(what, "runs") == 0) {
            if (want_get(method, r))
                http_api_runs(h->e, job, MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit"), r);
            return;
        }
        if (strcmp(what, "run") == 0 || strcmp(what, "pause") == 0 || strcmp(what, "resume") == 0 ||
            strcmp(what, "verify") == 0) {
            if (!method_is(method, "POST")) {
                r->allow = "POST";
                http_reply_error(r, 405, "method_not_allowed", "method %s is not allowed here (use POST)", method);
                return;
            }
            http_api_action(h->e, job, what, q->body, q->len, r);
            return;
        }
    }
    http_reply_error(r, 404, "not_found", "no such endpoint: %s", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
    syncc_http *h = cls;
    (void)version;
    request *q = *con_cls;
    if (q == NULL) {
        q = calloc(1, sizeof(*q));
        if (q == NULL)
            return MHD_NO;
        *con_cls = q;
        return MHD_YES;
    }
    if (*upload_size > 0) {
        /* the body arrives in pieces; past the limit it is dropped, and answered 413 */
        if (!q->too_large && q->len + *upload_size <= HTTP_MAX_BODY) {
            char *b = realloc(q->body, q->len + *upload_size + 1);
            if (b == NULL)
                return MHD_NO;
            memcpy(b + q->len, upload, *upload_size);
            q->body = b;
            q->len += *upload_size;
            q->body[q->len] = '\0';
        } else {
            q->too_large = 1;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    http_reply r;
    memset(&r, 0, sizeof(r));
    pthread_rwlock_rdlock(&h->elock);
    route(h, c, url, method, q, &r);
    pthread_rwlock_unlock(&h->elock);
    if (r.body == NULL)
        http_reply_error(&r, 500, "internal", "no answer");
    struct MHD_Response *resp = MHD_create_response_from_buffer(r.len, r.body, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(r.body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r.content_type ? r.content_type : "text/plain");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (r.allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r.allow);
    if (r.retry_after)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r.retry_after);
    if (r.status == 401)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"syncengine\"");
    if (r.html) {
        char csp[400];
        /* everything the page needs is in it: its one script and style carry this answer's nonce */
        snprintf(csp, sizeof(csp),
                 "default-src 'none'; script-src 'nonce-%s'; style-src 'nonce-%s'; connect-src 'self'; "
                 "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                 r.nonce, r.nonce);
        MHD_add_response_header(resp, "Content-Security-Policy", csp);
        MHD_add_response_header(resp, "X-Frame-Options", "DENY");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    }
    enum MHD_Result ok = MHD_queue_response(c, r.status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *q = *con_cls;
    if (q != NULL) {
        free(q->body);
        free(q);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '.'))
        msg[--n] = '\0';
    if (msg[0] >= 'A' && msg[0] <= 'Z')
        msg[0] = (char)(msg[0] - 'A' + 'a');
    syncc_log(SYNC_LOG_WARN, NULL, "http: %s", msg);
}

syncc_http *syncc_http_start(syncc_engine *e, char *err, size_t errlen)
{
    err[0] = '\0';
    const syncc_engine_conf *ec = &e->conf->engine;
    if (ec->http_listen == NULL)
        return NULL;
    /* syncc_engine_open checked the keys (syncc_http_check_conf) */
    struct sockaddr_storage ss;
    socklen_t sl;
    if (parse_listen(ec->http_listen, &ss, &sl) != 0) {
        snprintf(err, errlen, "%s: option 'http_listen': '%s' is not ADDRESS:PORT", e->conf->path, ec->http_listen);
        return NULL;
    }
    syncc_http *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    /* a reload waiting for the lock must not be starved by a stream of requests */
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&h->elock, &ra);
    pthread_rwlockattr_destroy(&ra);
    h->e = e;
    if (ec->http_token)
        h->token = strdup(ec->http_token);
    else if (ec->http_token_file)
        h->token = read_token_file(ec->http_token_file, 0, err, errlen);
    if (ec->http_token_file && h->token == NULL)
        goto fail;
    if (h->token)
        syncc_log_add_secret(h->token);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_OptionItem tls_opts[3] = {{MHD_OPTION_END, 0, NULL}, {MHD_OPTION_END, 0, NULL},
                                         {MHD_OPTION_END, 0, NULL}};
    if (ec->http_tls_cert && ec->http_tls_key) {
        h->tls_cert = read_pem("http_tls_cert", ec->http_tls_cert, err, errlen);
        h->tls_key = h->tls_cert ? read_pem("http_tls_key", ec->http_tls_key, err, errlen) : NULL;
        if (h->tls_key == NULL)
            goto fail;
        flags |= MHD_USE_TLS;
        tls_opts[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert};
        tls_opts[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key};
    }
    h->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT,
                            (unsigned)HTTP_MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536, MHD_OPTION_NOTIFY_COMPLETED,
                            on_completed, h, MHD_OPTION_ARRAY, tls_opts, MHD_OPTION_END);
    if (h->d == NULL) {
        snprintf(err, errlen, "option 'http_listen': cannot listen on %s (address in use or not available%s)",
                 ec->http_listen, h->tls_key ? ", or the TLS certificate and key do not fit" : "");
        goto fail;
    }
    http_started_at = syncc_time_now();
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    h->port = di ? di->port : 0;
    char addr[INET6_ADDRSTRLEN] = "";
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, addr, sizeof(addr));
    else
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, addr, sizeof(addr));
    syncc_log(SYNC_LOG_INFO, NULL, "http: listening on %s%s%s:%u (%s%s)", ss.ss_family == AF_INET6 ? "[" : "", addr,
              ss.ss_family == AF_INET6 ? "]" : "", h->port, h->tls_key ? "https; " : "",
              h->token ? "changes need the bearer token" : "no token: changes over HTTP are off");
    return h;
fail:
    pthread_rwlock_destroy(&h->elock);
    free(h->token);
    free(h->tls_cert);
    free_secret(h->tls_key);
    free(h);
    return NULL;
}

void syncc_http_engine_lock(syncc_http *h)
{
    if (h != NULL)
        pthread_rwlock_wrlock(&h->elock);
}

void syncc_http_engine_unlock(syncc_http *h, syncc_engine *e)
{
    if (h == NULL)
        return;
    h->e = e;
    pthread_rwlock_unlock(&h->elock);
}

unsigned syncc_http_port(const syncc_http *h)
{
    return h ? h->port : 0;
}

void syncc_http_stop(syncc_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d);
    pthread_rwlock_destroy(&h->elock);
    free(h->token);
    free(h->tls_cert);
    free_secret(h->tls_key);
    free(h);
}
