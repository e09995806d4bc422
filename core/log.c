/*
 * core/log.c - formatting, redaction and output of log lines.
 *
 * Lines go to stderr, one write per line so concurrent jobs never interleave
 * inside a line.  The level check happens before formatting.
 */
#include "log.h"

#include "progress.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static sync_log_level log_level = SYNC_LOG_INFO;
static int log_json;
static pthread_mutex_t secrets_lock = PTHREAD_MUTEX_INITIALIZER;
static char **secrets;
static char **owners;             /* per secret: the scope that registered it, or NULL (for good) */
static size_t n_secrets, cap_secrets;
static const char *adding_owner;  /* the scope of the secret being added (secrets_lock held) */

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};

void syncc_log_set_level(sync_log_level level) { log_level = level; }
sync_log_level syncc_log_level(void) { return log_level; }
void syncc_log_set_json(int json) { log_json = json; }

int syncc_log_parse_level(const char *text, sync_log_level *out)
{
    for (int i = 0; i <= SYNC_LOG_TRACE; i++) {
        if (strcasecmp(text, level_names[i]) == 0) {
            *out = (sync_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(text, "warning") == 0) {
        *out = SYNC_LOG_WARN;
        return 0;
    }
    return -1;
}

static void add_one(const char *s)
{
    for (size_t i = 0; i < n_secrets; i++)
        if (strcmp(secrets[i], s) == 0) {
            if (adding_owner == NULL && owners[i] != NULL) {
                /* registered for good now: no scope may drop it any more */
                free(owners[i]);
                owners[i] = NULL;
            }
            return;
        }
    if (n_secrets == cap_secrets) {
        size_t cap = cap_secrets ? cap_secrets * 2 : 16;
        char **n = realloc(secrets, cap * sizeof(*n));
        if (n == NULL)
            return;
        secrets = n;
        char **o = realloc(owners, cap * sizeof(*o));
        if (o == NULL)
            return;
        owners = o;
        cap_secrets = cap;
    }
    char *copy = strdup(s);
    char *owner = adding_owner ? strdup(adding_owner) : NULL;
    if (copy == NULL || (adding_owner && owner == NULL)) {
        free(copy);
        free(owner);
        return;
    }
    /* Longest first, so a secret that contains a shorter one is replaced whole. */
    size_t len = strlen(copy), at = n_secrets;
    while (at > 0 && strlen(secrets[at - 1]) < len) {
        secrets[at] = secrets[at - 1];
        owners[at] = owners[at - 1];
        at--;
    }
    secrets[at] = copy;
    owners[at] = owner;
    n_secrets++;
}

/* Adds PIECE[0..len) when it is long enough to mean something, and its percent-decoded form. */
static void add_piece(const char *piece, size_t len)
{
    if (len < 4 || len > 4096)
        return;
    char raw[4097], dec[4097];
    memcpy(raw, piece, len);
    raw[len] = '\0';
    add_one(raw);
    size_t j = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned hi, lo;
        if (raw[i] == '%' && i + 2 < len + 1 && sscanf(raw + i + 1, "%1x%1x", &hi, &lo) == 2) {
            dec[j++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (raw[i] == '\\' && i + 1 < len) {
            dec[j++] = raw[++i];
        } else {
            dec[j++] = raw[i];
        }
    }
    dec[j] = '\0';
    if (j >= 4 && strlen(dec) == j && strcmp(dec, raw) != 0)
        add_one(dec);
}

/*
 * A connection string (a postgresql:// URI, a libpq keyword string, any URL
 * with user:password@) registered as a secret is redacted whole, but a
 * library that cannot parse it echoes pieces of it: libpq's `invalid
 * percent-encoded token: "bad%zzSecret"`, or the word after an unquoted space
 * in `password=two words`.  So the password inside is registered too: the
 * userinfo password of every URL, the value of every password= (quoted, up
 * to the closing quote or the end; unquoted, with every following word that
 * is not itself key=value), raw and decoded.
 */
static void add_conn_pieces(const char *s)
{
    for (const char *p = strstr(s, "://"); p != NULL; p = strstr(p + 3, "://")) {
        const char *auth = p + 3;
        size_t alen = strcspn(auth, "/?#\" \t");
        const char *at = NULL;
        for (const char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        if (at == NULL)
            continue;
        const char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon != NULL)
            add_piece(colon + 1, (size_t)(at - colon - 1));
    }
    for (const char *p = s; (p = strcasestr(p, "password")) != NULL;) {
        p += 8;
        const char *v = p + strspn(p, " \t");
        if (*v != '=')
            continue;
        v++;
        v += strspn(v, " \t");
        if (*v == '\'') {
            const char *e = ++v;
            while (*e && *e != '\'')
                e += (*e == '\\' && e[1]) ? 2 : 1;
            add_piece(v, (size_t)(e - v));
            for (const char *w = v; w < e;) { /* each word too: libpq may echo one */
                size_t n = strcspn(w, " \t");
                if (w + n > e)
                    n = (size_t)(e - w);
                add_piece(w, n);
                w += n;
                w += strspn(w, " \t");
            }
            continue;
        }
        size_t n = strcspn(v, " \t&");
        add_piece(v, n);
        if (v[n] == '&')
            continue;
        /* "password=two words": libpq stops at the space and complains about "words" */
        const char *w = v + n;
        for (;;) {
            w += strspn(w, " \t");
            size_t m = strcspn(w, " \t");
            if (m == 0 || memchr(w, '=', m) != NULL)
                break;
            add_piece(w, m);
            w += m;
        }
    }
}

/* Adds secret, its connection-string pieces and its URL-encoded form (secrets_lock held). */
static void add_secret_locked(const char *secret)
{
    add_one(secret);
    add_conn_pieces(secret);
    /* Also its URL-encoded form: tokens travel form-encoded and in URLs. */
    size_t len = strlen(secret);
    char *enc = malloc(len * 3 + 1);
    if (enc != NULL) {
        size_t j = 0;
        int differs = 0;
        for (size_t i = 0; i < len; i++) {
            unsigned char c = (unsigned char)secret[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                c == '_' || c == '.' || c == '~') {
                enc[j++] = (char)c;
            } else {
                j += (size_t)sprintf(enc + j, "%%%02X", c);
                differs = 1;
            }
        }
        enc[j] = '\0';
        if (differs)
            add_one(enc);
        free(enc);
    }
}

void syncc_log_add_secret(const char *secret)
{
    if (secret == NULL || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&secrets_lock);
    adding_owner = NULL;
    add_secret_locked(secret);
    pthread_mutex_unlock(&secrets_lock);
}

void syncc_log_add_scoped_secret(const char *scope, const char *secret)
{
    if (secret == NULL || strlen(secret) < 4)
        return;
    pthread_mutex_lock(&secrets_lock);
    adding_owner = scope;
    add_secret_locked(secret);
    adding_owner = NULL;
    pthread_mutex_unlock(&secrets_lock);
}

void syncc_log_drop_scope(const char *scope)
{
    pthread_mutex_lock(&secrets_lock);
    size_t j = 0;
    for (size_t i = 0; i < n_secrets; i++) {
        if (owners[i] != NULL && strcmp(owners[i], scope) == 0) {
            free(secrets[i]);
            free(owners[i]);
            continue;
        }
        secrets[j] = secrets[i];
        owners[j++] = owners[i];
    }
    n_secrets = j;
    pthread_mutex_unlock(&secrets_lock);
}

void syncc_log_clear_secrets(void)
{
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        free(secrets[i]);
        free(owners[i]);
    }
    free(secrets);
    free(owners);
    secrets = NULL;
    owners = NULL;
    n_secrets = cap_secrets = 0;
    pthread_mutex_unlock(&secrets_lock);
}

/* Replaces buf[from..to) by "***" (never longer than what it replaces, when that is 3 bytes or more). */
static char *mask_span(char *from, char *to)
{
    size_t n = (size_t)(to - from);
    if (n == 0)
        return to;
    if (n < 3) {
        memset(from, '*', n);
        return to;
    }
    memcpy(from, "***", 3);
    memmove(from + 3, to, strlen(to) + 1);
    return from + 3;
}

/*
 * Secrets nobody registered: the password of any URL (scheme://user:PASS@)
 * and the value of any password=VALUE, whatever printed them (a library
 * echoing a URL, a server's error).
 */
static void redact_patterns(char *buf)
{
    for (char *p = strstr(buf, "://"); p != NULL; p = strstr(p, "://")) {
        char *auth = p + 3;
        size_t alen = strcspn(auth, "/?#\" \t");
        char *at = NULL;
        for (char *q = auth; q < auth + alen; q++)
            if (*q == '@')
                at = q;
        p = auth;
        if (at == NULL)
            continue;
        char *colon = memchr(auth, ':', (size_t)(at - auth));
        if (colon != NULL && !(at - colon - 1 == 3 && strncmp(colon + 1, "***", 3) == 0))
            p = mask_span(colon + 1, at);
    }
    for (char *p = buf; (p = strcasestr(p, "password")) != NULL;) {
        p += 8;
        char *v = p + strspn(p, " \t");
        if (*v != '=')
            continue;
        v++;
        v += strspn(v, " \t");
        char *e;
        if (*v == '\'' || *v == '"') {
            char q = *v;
            e = v + 1;
            while (*e && *e != q)
                e += (*e == '\\' && e[1]) ? 2 : 1;
            if (*e == q)
                e++;
        } else {
            e = v + strcspn(v, " \t&\"',;)");
        }
        if (e - v == 3 && strncmp(v, "***", 3) == 0)
            continue;
        p = mask_span(v, e);
    }
}

void syncc_log_redact(char *buf, size_t size)
{
    pthread_mutex_lock(&secrets_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        const char *s = secrets[i];
        size_t slen = strlen(s);
        char *p = buf;
        while ((p = strstr(p, s)) != NULL) {
            /* "***" is never longer than a registered secret (>= 4 bytes) */
            memcpy(p, "***", 3);
            memmove(p + 3, p + slen, strlen(p + slen) + 1);
            p += 3;
        }
    }
    pthread_mutex_unlock(&secrets_lock);
    redact_patterns(buf);
    (void)size;
}

static void timestamp(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

/* Through the progress line, which is cleared for the log line and drawn again after it. */
static void write_line(const char *line, size_t len)
{
    syncc_progress_write(line, len);
}

void syncc_logv(sync_log_level level, const syncc_log_ctx *ctx, const char *fmt, va_list ap)
{
    if (level > log_level)
        return;
    char msg[8192];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* multi-line details stay on one log line */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    /* Redact before any escaping (JSON would escape a secret's quotes and
     * hide it from a later search). */
    syncc_log_redact(msg, sizeof(msg));
    char ts[40];
    timestamp(ts, sizeof(ts));
    if (log_json) {
        json_t *o = json_pack("{s:s,s:s}", "ts", ts, "level", level_names[level]);
        if (ctx != NULL) {
            const char *keys[] = {"tenant", "job", "stream", "plugin", "run", "error_code"};
            const char *vals[] = {ctx->tenant, ctx->job, ctx->stream, ctx->plugin, ctx->run_id, ctx->error_code};
            for (int i = 0; i < 6; i++) {
                if (vals[i] == NULL)
                    continue;
                char v[512];
                snprintf(v, sizeof(v), "%s", vals[i]);
                syncc_log_redact(v, sizeof(v));
                json_object_set_new(o, keys[i], json_string(v));
            }
        }
        /* invalid UTF-8 from a remote error message must not lose the line */
        json_t *m = json_string(msg);
        if (m == NULL)
            m = json_string("(message not valid UTF-8)");
        json_object_set_new(o, "msg", m);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (s == NULL)
            return;
        size_t len = strlen(s);
        char *line = realloc(s, len + 2);
        if (line == NULL) {
            free(s);
            return;
        }
        line[len++] = '\n';
        write_line(line, len);
        free(line);
        return;
    }
    char where[512] = "";
    if (ctx != NULL) {
        size_t n = 0;
        if (ctx->tenant)
            n += (size_t)snprintf(where + n, sizeof(where) - n, " tenant=%s", ctx->tenant);
        if (ctx->job && n < sizeof(where))
            n += (size_t)snprintf(where + n, sizeof(where) - n, " job=%s", ctx->job);
        if (ctx->stream && n < sizeof(where))
            n += (size_t)snprintf(where + n, sizeof(where) - n, " stream=%s", ctx->stream);
        if (ctx->plugin && n < sizeof(where))
            n += (size_t)snprintf(where + n, sizeof(where) - n, " plugin=%s", ctx->plugin);
        if (ctx->run_id && n < sizeof(where))
            n += (size_t)snprintf(where + n, sizeof(where) - n, " run=%s", ctx->run_id);
        if (ctx->error_code && n < sizeof(where))
            n += (size_t)snprintf(where + n, sizeof(where) - n, " error=%s", ctx->error_code);
    }
    char line[10240];
    snprintf(line, sizeof(line) - 1, "%s %-5s %s%s%s%s", ts, level_names[level], where[0] ? "[" : "",
             where[0] ? where + 1 : "", where[0] ? "] " : "", msg);
    syncc_log_redact(line, sizeof(line));
    size_t len = strlen(line);
    line[len++] = '\n';
    write_line(line, len);
}

void syncc_log(sync_log_level level, const syncc_log_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    syncc_logv(level, ctx, fmt, ap);
    va_end(ap);
}
