/*
 * hs_plugin.c - the `http` connector's definition: option tables, the entry
 * point, the instance lifecycle, and what `syncengine check` asks of it
 * (offline: every option's shape and the options each choice needs; with
 * --connect: one request of the list's first page).
 *
 * The connector is configured entirely in its [source NAME] section: one
 * section per list endpoint of an API.  Built against <sync/sync.h> alone.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs.h"

const sync_host *hs_host;

static const char *const auth_values[] = {"none", "header", "bearer", "oauth_refresh", NULL};
static const char *const page_values[] = {"none", "cursor", "next_url", "page", "offset", "link", NULL};
static const char *const inc_values[] = {"none", "cursor_field", "time_window", NULL};
static const char *const fmt_values[] = {"unix_seconds", "unix_millis", "iso8601", NULL};

static const sync_option hs_options[] = {
    {"base_url", SYNC_OPT_URL, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "the API's base URL, e.g. https://api.elevenlabs.io (plain http only to loopback hosts)"},
    {"auth", SYNC_OPT_ENUM, "none", 0, 0, 0, auth_values,
     "authentication: none, header (auth_header: auth_token), bearer (Authorization: Bearer auth_token) or "
     "oauth_refresh (the refresh-token grant at token_url)"},
    {"auth_header", SYNC_OPT_STRING, "Authorization", 0, 0, 0, NULL,
     "header that carries auth_token with auth = header, e.g. xi-api-key"},
    {"auth_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "the API key or bearer token (write it as ${VAR})"},
    {"token_url", SYNC_OPT_URL, NULL, 0, 0, 0, NULL, "OAuth token endpoint (auth = oauth_refresh)"},
    {"client_id", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "OAuth client id (auth = oauth_refresh)"},
    {"client_secret", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "OAuth client secret (auth = oauth_refresh; empty = none)"},
    {"refresh_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "OAuth refresh token (auth = oauth_refresh); a rotated one is handed to the host"},
    {"header", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "an extra request header \"Name: value\" (may repeat; not for secrets)"},
    {"path", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "the list request's path below base_url, e.g. /v1/convai/conversations"},
    {"param", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "a query parameter of the list request, \"name=value\" (may repeat; an empty value sends nothing)"},
    {"stream", SYNC_OPT_STRING, "records", 0, 0, 0, NULL, "name of the stream of listed records"},
    {"records", SYNC_OPT_STRING, "", 0, 0, 0, NULL,
     "JSON pointer to the array of records in the list answer, e.g. /conversations (empty: the whole body)"},
    {"key", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "JSON pointer to a record's key, e.g. /conversation_id"},
    {"paginate", SYNC_OPT_ENUM, "none", 0, 0, 0, page_values,
     "pagination: none, cursor (page_cursor in the body), next_url (a URL in the body), page (page numbers), "
     "offset, link (Link header rel=\"next\")"},
    {"page_cursor", SYNC_OPT_STRING, "/next_cursor", 0, 0, 0, NULL,
     "paginate = cursor: JSON pointer to the next page's cursor in the answer"},
    {"page_cursor_param", SYNC_OPT_STRING, "cursor", 0, 0, 0, NULL,
     "paginate = cursor: query parameter that sends the cursor back"},
    {"has_more", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "paginate = cursor: JSON pointer to a boolean that says whether another page follows (optional)"},
    {"next_url", SYNC_OPT_STRING, "/next", 0, 0, 0, NULL,
     "paginate = next_url: JSON pointer to the next page's URL (absolute or relative to base_url)"},
    {"page_param", SYNC_OPT_STRING, "page", 0, 0, 0, NULL, "paginate = page: the page number parameter"},
    {"page_start", SYNC_OPT_INT, "1", 0, 0, 1000000, NULL, "paginate = page: the first page's number"},
    {"offset_param", SYNC_OPT_STRING, "offset", 0, 0, 0, NULL, "paginate = offset: the offset parameter"},
    {"page_size", SYNC_OPT_INT, "100", 0, 1, 100000, NULL,
     "records per page asked for; with page and offset paging a shorter page is the last"},
    {"page_size_param", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "query parameter that sends page_size, e.g. page_size (unset: not sent)"},
    {"max_pages", SYNC_OPT_INT, "100000", 0, 0, 100000000, NULL,
     "a read that would take more pages fails (protects against an API that never ends; 0 = no limit)"},
    {"detail_path", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "a request per listed record whose answer is merged into it, e.g. /v1/convai/conversations/{conversation_id} "
     "({name}: the listed record's member)"},
    {"detail_records", SYNC_OPT_STRING, "", 0, 0, 0, NULL,
     "JSON pointer to the object to merge in the detail answer (empty: the whole body)"},
    {"detail_skip_unchanged", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "ask for a record's detail (and emit it) only when its listed fields changed since the last stored read; "
     "right when the list shows every change of the detail (e.g. a message count)"},
    {"detail_concurrency", SYNC_OPT_INT, "4", 0, 1, 32, NULL, "detail requests in flight at once"},
    {"children", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "JSON pointers to arrays of a record (after the detail) emitted as streams of their own, named by the "
     "pointer's last token, e.g. /transcript"},
    {"parent_key_field", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "field of a child record holding its parent's key (default: the key pointer's last token)"},
    {"position_field", SYNC_OPT_STRING, "position", 0, 0, 0, NULL,
     "field of a child record holding its 0-based position in the array"},
    {"incremental", SYNC_OPT_ENUM, "none", 0, 0, 0, inc_values,
     "none (read everything every run), cursor_field (records at or after the saved value of cursor_field, "
     "sent as cursor_param) or time_window (window_param = last run's start - lookback)"},
    {"cursor_field", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "incremental = cursor_field: JSON pointer to the record's cursor value, e.g. /updated_at"},
    {"cursor_param", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "incremental = cursor_field: query parameter sending the saved value (the API must filter inclusively, >=)"},
    {"sorted", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "the list comes in ascending cursor_field order: the cursor moves with every page instead of at the end"},
    {"window_param", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "incremental = time_window: query parameter of the window's start, e.g. call_start_after_unix"},
    {"window_format", SYNC_OPT_ENUM, "unix_seconds", 0, 0, 0, fmt_values,
     "incremental = time_window: how the start is written"},
    {"lookback", SYNC_OPT_DURATION, "0", 0, 0, 0, NULL,
     "incremental = time_window: every run re-reads this much before the last run's start, e.g. 48h"},
    {"field_type", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "NAME:TYPE, comma-separated: read field NAME as unix_seconds, unix_millis, timestamp, date, string or json "
     "(others keep their JSON type)"},
    {"timeout", SYNC_OPT_DURATION, "30s", 0, 1000, 86400000, NULL, "time allowed for one request"},
    {"connect_timeout", SYNC_OPT_DURATION, "10s", 0, 1000, 86400000, NULL, "time allowed to connect"},
    {"max_attempts", SYNC_OPT_INT, "4", 0, 1, 100, NULL,
     "attempts per request for failures worth repeating (429, 5xx, resets, timeouts, cut-off bodies)"},
    {"retry_base", SYNC_OPT_DURATION, "1s", 0, 1, 3600000, NULL, "first backoff step; doubles per attempt"},
    {"retry_max", SYNC_OPT_DURATION, "60s", 0, 1, 3600000, NULL,
     "longest backoff step; a longer Retry-After ends the attempts"},
    {"rate_limit", SYNC_OPT_DOUBLE, "0", 0, 0, 0, NULL, "requests per second at most (0 = no limit)"},
    {"verify_tls", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL,
     "verify server certificates and host names (turning this off logs a warning)"},
    {"ca_bundle", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "CA certificates file instead of the system store"},
    SYNC_OPTION_END,
};

static const sync_option hs_no_options[] = {SYNC_OPTION_END};

static int enum_index(const char *v, const char *const *values)
{
    for (int i = 0; v != NULL && values[i]; i++)
        if (strcmp(v, values[i]) == 0)
            return i;
    return 0;
}

static const char *str(const sync_config *cfg, const char *name)
{
    return hs_host->config_get_string(cfg, name);
}

static int64_t num(const sync_config *cfg, const char *name)
{
    int64_t v = 0;
    hs_host->config_get_int(cfg, name, &v);
    return v;
}

static void conf_free(hs_conf *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_children; i++)
        free(c->child_names[i]);
    for (size_t i = 0; i < c->n_ftypes; i++)
        free((char *)c->ftypes[i].name);
    free(c->params);
    free(c->headers);
    free(c->children);
    free(c->child_names);
    free(c->ftypes);
    free((char *)c->parent_key_field);
    free(c);
}

/* Reads the section into c; problems (the first per option) go to why. */
static int conf_read(const sync_config *cfg, const char *section, hs_conf **out)
{
    hs_conf *c = calloc(1, sizeof *c);
    if (c == NULL)
        return SYNC_E_NOMEM;
    c->section = section;
    c->base_url = str(cfg, "base_url");
    c->auth = enum_index(str(cfg, "auth"), auth_values);
    c->auth_header = str(cfg, "auth_header");
    c->auth_token = str(cfg, "auth_token");
    c->token_url = str(cfg, "token_url");
    c->client_id = str(cfg, "client_id");
    c->client_secret = str(cfg, "client_secret");
    c->refresh_token = str(cfg, "refresh_token");
    c->path = str(cfg, "path");
    c->stream = str(cfg, "stream");
    c->records_ptr = str(cfg, "records");
    if (c->records_ptr == NULL)
        c->records_ptr = "";
    c->key_ptr = str(cfg, "key");
    c->paginate = enum_index(str(cfg, "paginate"), page_values);
    c->page_cursor_ptr = str(cfg, "page_cursor");
    c->page_cursor_param = str(cfg, "page_cursor_param");
    c->has_more_ptr = str(cfg, "has_more");
    c->next_url_ptr = str(cfg, "next_url");
    c->page_param = str(cfg, "page_param");
    c->offset_param = str(cfg, "offset_param");
    c->page_size_param = str(cfg, "page_size_param");
    c->page_start = num(cfg, "page_start");
    c->page_size = num(cfg, "page_size");
    c->max_pages = num(cfg, "max_pages");
    c->detail_path = str(cfg, "detail_path");
    c->detail_ptr = str(cfg, "detail_records");
    if (c->detail_ptr == NULL)
        c->detail_ptr = "";
    c->detail_concurrency = num(cfg, "detail_concurrency");
    c->position_field = str(cfg, "position_field");
    c->incremental = enum_index(str(cfg, "incremental"), inc_values);
    c->cursor_field_ptr = str(cfg, "cursor_field");
    c->cursor_param = str(cfg, "cursor_param");
    c->window_param = str(cfg, "window_param");
    c->window_format = enum_index(str(cfg, "window_format"), fmt_values);
    c->lookback_ms = num(cfg, "lookback");
    hs_host->config_get_bool(cfg, "sorted", &c->sorted);
    hs_host->config_get_bool(cfg, "detail_skip_unchanged", &c->skip_unchanged);
    c->timeout_ms = num(cfg, "timeout");
    c->connect_timeout_ms = num(cfg, "connect_timeout");
    c->max_attempts = num(cfg, "max_attempts");
    c->retry_base_ms = num(cfg, "retry_base");
    c->retry_max_ms = num(cfg, "retry_max");
    hs_host->config_get_double(cfg, "rate_limit", &c->rate_limit);
    c->verify_tls = 1;
    hs_host->config_get_bool(cfg, "verify_tls", &c->verify_tls);
    c->ca_bundle = str(cfg, "ca_bundle");

    const char *pkf = str(cfg, "parent_key_field");
    if (pkf != NULL && *pkf)
        c->parent_key_field = strdup(pkf);
    else
        c->parent_key_field = c->key_ptr ? hs_ptr_last(c->key_ptr) : NULL;
    if (c->parent_key_field == NULL)
        c->parent_key_field = strdup("parent_key");

    c->n_params = hs_host->config_list_count(cfg, "param");
    c->n_headers = hs_host->config_list_count(cfg, "header");
    c->n_children = hs_host->config_list_count(cfg, "children");
    c->n_ftypes = hs_host->config_list_count(cfg, "field_type");
    c->params = calloc(c->n_params + 1, sizeof *c->params);
    c->headers = calloc(c->n_headers + 1, sizeof *c->headers);
    c->children = calloc(c->n_children + 1, sizeof *c->children);
    c->child_names = calloc(c->n_children + 1, sizeof *c->child_names);
    c->ftypes = calloc(c->n_ftypes + 1, sizeof *c->ftypes);
    if (c->parent_key_field == NULL || !c->params || !c->headers || !c->children || !c->child_names || !c->ftypes) {
        conf_free(c);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < c->n_params; i++)
        c->params[i] = hs_host->config_list_item(cfg, "param", i);
    for (size_t i = 0; i < c->n_headers; i++)
        c->headers[i] = hs_host->config_list_item(cfg, "header", i);
    for (size_t i = 0; i < c->n_children; i++) {
        c->children[i] = hs_host->config_list_item(cfg, "children", i);
        c->child_names[i] = hs_ptr_last(c->children[i]);
        if (c->child_names[i] == NULL)
            c->child_names[i] = strdup(""); /* refused by check */
    }
    size_t nf = 0;
    for (size_t i = 0; i < c->n_ftypes; i++) {
        char *name = NULL;
        int t = hs_ftype_parse(hs_host->config_list_item(cfg, "field_type", i), &name);
        if (t >= 0) {
            c->ftypes[nf].name = name;
            c->ftypes[nf++].type = t;
        }
    }
    c->n_ftypes = nf;
    *out = c;
    return SYNC_OK;
}

/* ---- check */

static void problem(const sync_check *chk, const char *key, int *bad, const char *fmt, ...) SYNC_PRINTF(4, 5);

static void problem(const sync_check *chk, const char *key, int *bad, const char *fmt, ...)
{
    char msg[700], full[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key != NULL)
        snprintf(full, sizeof full, "[source %s]: option '%s': %s", chk->instance, key, msg);
    else
        snprintf(full, sizeof full, "[source %s]: %s", chk->instance, msg);
    chk->report(chk, key ? hs_host->config_where(chk->config, key) : NULL, full);
    *bad = 1;
}

static int empty(const char *s)
{
    return s == NULL || *s == '\0';
}

static void need(const sync_check *chk, const char *key, const char *because, int *bad)
{
    if (empty(str(chk->config, key)))
        problem(chk, NULL, bad, "option '%s' is required with %s", key, because);
}

static void pointer(const sync_check *chk, const char *key, int *bad)
{
    const char *v = str(chk->config, key);
    if (v != NULL && !hs_ptr_valid(v))
        problem(chk, key, bad, "\"%s\" is not a JSON pointer (write /member/member, \"\" for the whole body)", v);
}

static int check_section(const sync_check *chk)
{
    const sync_config *cfg = chk->config;
    int bad = 0;
    char why[300];
    const char *url = str(cfg, "base_url");
    if (!empty(url) && hs_net_url_allowed(url, why, sizeof why) != SYNC_OK)
        problem(chk, "base_url", &bad, "%s", why);
    int auth = enum_index(str(cfg, "auth"), auth_values);
    if (auth == HS_AUTH_HEADER || auth == HS_AUTH_BEARER)
        need(chk, "auth_token", auth == HS_AUTH_HEADER ? "auth = header" : "auth = bearer", &bad);
    if (auth == HS_AUTH_HEADER) {
        const char *h = str(cfg, "auth_header");
        if (empty(h) || strpbrk(h, ": \t\r\n") != NULL)
            problem(chk, "auth_header", &bad, "\"%s\" is not a header name", h ? h : "");
    }
    if (auth == HS_AUTH_OAUTH) {
        need(chk, "token_url", "auth = oauth_refresh", &bad);
        need(chk, "client_id", "auth = oauth_refresh", &bad);
        need(chk, "refresh_token", "auth = oauth_refresh", &bad);
        const char *t = str(cfg, "token_url");
        if (!empty(t) && hs_net_url_allowed(t, why, sizeof why) != SYNC_OK)
            problem(chk, "token_url", &bad, "%s", why);
    }
    for (size_t i = 0; i < hs_host->config_list_count(cfg, "header"); i++) {
        const char *h = hs_host->config_list_item(cfg, "header", i);
        const char *colon = strchr(h, ':');
        if (colon == NULL || colon == h || strpbrk(h, "\r\n") != NULL)
            problem(chk, "header", &bad, "\"%s\" is not \"Name: value\"", h);
    }
    for (size_t i = 0; i < hs_host->config_list_count(cfg, "param"); i++) {
        const char *p = hs_host->config_list_item(cfg, "param", i);
        if (strchr(p, '=') == NULL || p[0] == '=')
            problem(chk, "param", &bad, "\"%s\" is not \"name=value\"", p);
    }
    const char *path = str(cfg, "path");
    if (path != NULL && strpbrk(path, "?#") != NULL)
        problem(chk, "path", &bad, "\"%s\": give query parameters with param = name=value", path);
    pointer(chk, "records", &bad);
    pointer(chk, "key", &bad);
    if (str(cfg, "key") != NULL && *str(cfg, "key") == '\0')
        problem(chk, "key", &bad, "the key must point into the record (e.g. /id)");
    pointer(chk, "page_cursor", &bad);
    pointer(chk, "has_more", &bad);
    pointer(chk, "next_url", &bad);
    pointer(chk, "detail_records", &bad);
    pointer(chk, "cursor_field", &bad);
    int page = enum_index(str(cfg, "paginate"), page_values);
    if (page == HS_PAGE_CURSOR) {
        need(chk, "page_cursor", "paginate = cursor", &bad);
        need(chk, "page_cursor_param", "paginate = cursor", &bad);
    }
    if (page == HS_PAGE_NUMBER)
        need(chk, "page_param", "paginate = page", &bad);
    if (page == HS_PAGE_OFFSET)
        need(chk, "offset_param", "paginate = offset", &bad);
    if (page == HS_PAGE_NEXT_URL)
        need(chk, "next_url", "paginate = next_url", &bad);
    const char *dp = str(cfg, "detail_path");
    if (!empty(dp)) {
        const char *o = strchr(dp, '{'), *cl = o ? strchr(o, '}') : NULL;
        if ((o != NULL && cl == NULL) || (o == NULL && strchr(dp, '}') != NULL))
            problem(chk, "detail_path", &bad, "unbalanced braces in \"%s\"", dp);
        else if (o == NULL)
            problem(chk, "detail_path", &bad, "\"%s\" names no member of the record ({name})", dp);
    }
    const char *stream = str(cfg, "stream");
    for (size_t i = 0; i < hs_host->config_list_count(cfg, "children"); i++) {
        const char *ch = hs_host->config_list_item(cfg, "children", i);
        char *name = hs_ptr_valid(ch) ? hs_ptr_last(ch) : NULL;
        if (name == NULL || *name == '\0')
            problem(chk, "children", &bad, "\"%s\" is not a JSON pointer to a member (e.g. /transcript)", ch);
        else if (stream != NULL && strcmp(name, stream) == 0)
            problem(chk, "children", &bad, "child stream \"%s\" has the name of the main stream", name);
        free(name);
    }
    int inc = enum_index(str(cfg, "incremental"), inc_values);
    if (inc == HS_INC_CURSOR_FIELD) {
        need(chk, "cursor_field", "incremental = cursor_field", &bad);
        need(chk, "cursor_param", "incremental = cursor_field", &bad);
    }
    if (inc == HS_INC_TIME_WINDOW)
        need(chk, "window_param", "incremental = time_window", &bad);
    int64_t lb = num(cfg, "lookback");
    if (lb > 0 && inc != HS_INC_TIME_WINDOW)
        problem(chk, "lookback", &bad, "only used with incremental = time_window");
    for (size_t i = 0; i < hs_host->config_list_count(cfg, "field_type"); i++) {
        char *name = NULL;
        const char *it = hs_host->config_list_item(cfg, "field_type", i);
        if (hs_ftype_parse(it, &name) < 0)
            problem(chk, "field_type", &bad,
                    "\"%s\" is not NAME:TYPE with TYPE one of unix_seconds, unix_millis, timestamp, date, string, json",
                    it);
        free(name);
    }
    double rl = 0;
    hs_host->config_get_double(cfg, "rate_limit", &rl);
    if (rl < 0)
        problem(chk, "rate_limit", &bad, "must be 0 (no limit) or more requests per second");
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

static int hs_check(const sync_check *chk)
{
    if (!chk->is_source)
        return SYNC_OK;
    if (chk->job == NULL)
        return check_section(chk);
    if (chk->stream == NULL || chk->object == NULL)
        return SYNC_OK;
    /* a stream: its object is the main stream or a child */
    const char *stream = str(chk->config, "stream");
    if (stream != NULL && strcmp(chk->object, stream) == 0)
        return SYNC_OK;
    for (size_t i = 0; i < hs_host->config_list_count(chk->config, "children"); i++) {
        char *name = hs_ptr_last(hs_host->config_list_item(chk->config, "children", i));
        int same = name != NULL && strcmp(name, chk->object) == 0;
        free(name);
        if (same)
            return SYNC_OK;
    }
    char names[400];
    size_t o = (size_t)snprintf(names, sizeof names, "%s", stream ? stream : "records");
    for (size_t i = 0; i < hs_host->config_list_count(chk->config, "children") && o < sizeof names; i++) {
        char *name = hs_ptr_last(hs_host->config_list_item(chk->config, "children", i));
        o += (size_t)snprintf(names + o, sizeof names - o, ", %s", name ? name : "?");
        free(name);
    }
    char msg[900];
    snprintf(msg, sizeof msg, "[stream %s.%s]: object \"%s\" is not a stream of [source %s] (its streams: %s)",
             chk->job, chk->stream, chk->object, chk->instance, names);
    chk->report(chk, chk->stream_where, msg);
    return SYNC_E_CONFIG;
}

/* ---- lifecycle */

typedef struct hs_inst {
    sync_ctx *ctx;
    hs_conf *conf;
    hs_source *src;
} hs_inst;

static int hs_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    hs_inst *in = calloc(1, sizeof *in);
    if (in == NULL)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    const char *section = hs_host->ctx_instance ? hs_host->ctx_instance(ctx) : "http";
    int rc = conf_read(cfg, section ? section : "http", &in->conf);
    if (rc == SYNC_OK)
        rc = hs_source_new(ctx, in->conf, &in->src);
    if (rc != SYNC_OK) {
        conf_free(in->conf);
        free(in);
        return rc;
    }
    if (!in->conf->verify_tls)
        hs_host->log(ctx, SYNC_LOG_WARN, "[source %s]: verify_tls is off: server certificates are not checked",
                     in->conf->section);
    *instance = in;
    return SYNC_OK;
}

static void hs_close(void *instance)
{
    hs_inst *in = instance;
    if (in == NULL)
        return;
    hs_source_free(in->src);
    conf_free(in->conf);
    free(in);
}

static int hs_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    hs_inst *in = instance;
    return hs_source_read(in->src, req, em);
}

static int hs_discover(void *instance, sync_catalog *cat)
{
    hs_inst *in = instance;
    int rc = hs_host->catalog_add_stream(cat, in->conf->stream);
    for (size_t i = 0; rc == SYNC_OK && i < in->conf->n_children; i++)
        rc = hs_host->catalog_add_stream(cat, in->conf->child_names[i]);
    return rc;
}

static int hs_probe(void *instance, const sync_check *chk)
{
    hs_inst *in = instance;
    if (!chk->is_source || chk->stream != NULL)
        return SYNC_OK;
    char detail[600];
    int rc = hs_source_probe(in->src, detail, sizeof detail);
    if (rc == SYNC_E_CONFIG && detail[0]) {
        char msg[800];
        snprintf(msg, sizeof msg, "[source %s]: %s", chk->instance, detail);
        chk->report(chk, NULL, msg);
    }
    return rc;
}

static const sync_source_ops hs_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = hs_open,
    .discover = hs_discover,
    .read = hs_read,
    .close = hs_close,
};

static const sync_plugin hs_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "http",
    .version = "1.0.0",
    .description = "declarative HTTP/JSON API source: list, pages, details, child arrays, incremental (configured in INI)",
    .provides = SYNC_PROVIDES_SOURCE,
    .caps = SYNC_CAP_INCREMENTAL,
    .options = hs_options,
    .stream_options = hs_no_options,
    .target_options = hs_no_options,
    .source = &hs_source_ops,
    .check = hs_check,
    .probe = hs_probe,
};

SYNC_PLUGIN_DEFINE(hs_plugin, hs_host)
