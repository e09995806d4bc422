/*
 * sf_plugin.c - the Salesforce connector's definition: option tables, the
 * entry point, and the instance lifecycle (open reads and checks the
 * section's options; the first network call happens on read or discover).
 *
 * The plugin is a source and a sink (sf_sink.h): both roles share the
 * instance, transport, session, allowance reserve and describes.
 */
#include <stdlib.h>
#include <string.h>

#include "sf_check.h"
#include "sf_describe.h"
#include "sf_http.h"
#include "sf_internal.h"
#include "sf_session.h"
#include "sf_sink.h"
#include "sf_source.h"

const sync_host *sf_host;

static const char *const grant_types[] = {"refresh_token", "client_credentials", NULL};

static const sync_option sf_options[] = {
    {"login_url", SYNC_OPT_URL, "https://login.salesforce.com", 0, 0, 0, NULL,
     "OAuth login host: https://login.salesforce.com, https://test.salesforce.com for sandboxes, or the org's My Domain"},
    {"grant_type", SYNC_OPT_ENUM, "refresh_token", 0, 0, 0, grant_types,
     "OAuth flow: refresh_token (a user authorized the connected app) or client_credentials"},
    {"client_id", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "consumer key of the connected app"},
    {"client_secret", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "consumer secret of the connected app (required for client_credentials)"},
    {"refresh_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "refresh token of the authorizing user (required for refresh_token); rotated tokens are kept in the state store"},
    {"access_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "access token issued earlier, used first with instance_url (no token request while it is valid); "
     "on 401 the grant gets a new one; empty = none"},
    {"instance_url", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "the org's instance URL that access_token belongs to (from the token response that issued it); "
     "empty = none"},
    {"api_version", SYNC_OPT_STRING, "61.0", 0, 0, 0, NULL, "REST API version, e.g. 61.0"},
    {"batch_size", SYNC_OPT_INT, "2000", 0, 200, 2000, NULL,
     "records per query page at most, sent as Sforce-Query-Options: batchSize; a smaller job batch_size "
     "(down to 200) makes pages smaller"},
    {"connect_timeout", SYNC_OPT_DURATION, "10s", 0, 1000, 86400000, NULL, "time allowed to connect"},
    {"timeout", SYNC_OPT_DURATION, "120s", 0, 1000, 86400000, NULL, "time allowed for one whole request"},
    {"low_speed_time", SYNC_OPT_DURATION, "30s", 0, 1000, 86400000, NULL,
     "a transfer below 1 byte per second for this long is aborted"},
    {"max_attempts", SYNC_OPT_INT, "5", 0, 1, 100, NULL,
     "attempts per request for failures worth repeating (5xx, resets, timeouts)"},
    {"retry_base", SYNC_OPT_DURATION, "500ms", 0, 1, 3600000, NULL, "first backoff step; doubles per attempt"},
    {"retry_max", SYNC_OPT_DURATION, "30s", 0, 1, 3600000, NULL,
     "longest backoff step; a longer Retry-After ends the attempts"},
    {"ca_bundle", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "CA certificates file to verify the servers with, instead of the system store"},
    {"verify_tls", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL,
     "verify server certificates and host names (turning this off logs a warning)"},
    {"api_reserve_percent", SYNC_OPT_INT, "10", 0, 0, 100, NULL,
     "percent of the org's daily API allowance left to others: no call is made that would take usage into "
     "it, in this run or a later one (a run that would start inside it does not start)"},
    {"api_usage_max_age", SYNC_OPT_DURATION, "1h", 0, 0, 86400000, NULL,
     "how long a run trusts the API usage an earlier run saw; older or unknown, it asks /limits once "
     "before its first call"},
    {"lag", SYNC_OPT_DURATION, "10s", 0, 0, 0, NULL,
     "records changed later than server time minus lag wait for the next run"},
    {"lookback", SYNC_OPT_DURATION, "5m", 0, 0, 0, NULL,
     "re-read this much before the saved cursor to catch records whose transaction committed late (up to "
     "lookback + lag after their SystemModstamp); what is re-read unchanged is not rewritten"},
    {"get_deleted", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL,
     "an incremental read also asks getDeleted (one call per stream) for records purged from the recycle "
     "bin since its position, and deletes them"},
    {"describe_cache", SYNC_OPT_DURATION, "24h", 0, 0, 2592000000, NULL,
     "how long an object's describe is reused by later runs (0 = describe every run); a field the cached "
     "describe lacks, or a query Salesforce refuses for a field, describes again at once"},
    {"discover_objects", SYNC_OPT_LIST, "Contact,Lead", 0, 0, 0, NULL,
     "objects whose fields discovery describes (one API call each)"},
    SYNC_OPTION_END,
};

static const sync_option sf_stream_options[] = {
    {"where", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "SOQL condition records must also meet, added with AND in parentheses"},
    {"fields", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "fields to read beyond those the mapping uses (relationship paths allowed)"},
    {"cursor_field", SYNC_OPT_STRING, SF_DEFAULT_CURSOR_FIELD, 0, 0, 0, NULL,
     "datetime field that orders changes (SystemModstamp, LastModifiedDate)"},
    {"include_deleted", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL,
     "read through queryAll so deleted records become deletes"},
    SYNC_OPTION_END,
};

static const sync_option sf_target_options[] = {
    {"operation", SYNC_OPT_ENUM, "auto", 0, 0, 0, sf_sink_operations,
     "what a record becomes: upsert (by sink.external_id), create, update (by Id), or auto: upsert when "
     "sink.external_id is set, else update a record with an Id and create one without"},
    {"external_id", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "external-id field of the object that upserts match records by (e.g. Ext_Id__c); its value is the "
     "mapped column of that name, else the record key; makes every write safe to repeat"},
    {"records_per_call", SYNC_OPT_INT, "200", 0, 1, 200, NULL,
     "records per sObject Collections call (at most 200, Salesforce's limit)"},
    SYNC_OPTION_END,
};

static void free_settings(sf_settings *s)
{
    free(s->login_url);
    free(s->client_id);
    if (s->client_secret != NULL)
        memset(s->client_secret, 0, strlen(s->client_secret));
    free(s->client_secret);
    if (s->refresh_token != NULL)
        memset(s->refresh_token, 0, strlen(s->refresh_token));
    free(s->refresh_token);
    if (s->access_token != NULL)
        memset(s->access_token, 0, strlen(s->access_token));
    free(s->access_token);
    free(s->instance_url);
    free(s->api_version);
    free(s->http.ca_bundle);
    for (size_t i = 0; i < s->n_discover_objects; i++)
        free(s->discover_objects[i]);
    free(s->discover_objects);
    memset(s, 0, sizeof *s);
}

/* Copies a string option (NULL stays NULL); *failed on out-of-memory. */
static char *opt_str(const sync_config *cfg, const char *name, const char *dflt, int *failed)
{
    const char *v = sf_host->config_get_string(cfg, name);
    if (v == NULL)
        v = dflt;
    if (v == NULL)
        return NULL;
    char *c = strdup(v);
    if (c == NULL)
        *failed = 1;
    return c;
}

static int64_t opt_int(const sync_config *cfg, const char *name, int64_t dflt)
{
    int64_t v;
    return sf_host->config_get_int(cfg, name, &v) == SYNC_OK ? v : dflt;
}

static int read_settings(sync_ctx *ctx, const sync_config *cfg, sf_settings *s)
{
    int failed = 0;
    memset(s, 0, sizeof *s);
    s->login_url = opt_str(cfg, "login_url", "https://login.salesforce.com", &failed);
    s->client_id = opt_str(cfg, "client_id", NULL, &failed);
    s->client_secret = opt_str(cfg, "client_secret", NULL, &failed);
    s->refresh_token = opt_str(cfg, "refresh_token", NULL, &failed);
    s->access_token = opt_str(cfg, "access_token", NULL, &failed);
    s->instance_url = opt_str(cfg, "instance_url", NULL, &failed);
    s->api_version = opt_str(cfg, "api_version", "61.0", &failed);
    s->http.ca_bundle = opt_str(cfg, "ca_bundle", NULL, &failed);
    const char *grant = sf_host->config_get_string(cfg, "grant_type");
    s->grant = (grant != NULL && strcmp(grant, "client_credentials") == 0) ? SF_GRANT_CLIENT_CREDENTIALS
                                                                           : SF_GRANT_REFRESH_TOKEN;
    s->batch_size = opt_int(cfg, "batch_size", 2000);
    s->api_reserve_percent = opt_int(cfg, "api_reserve_percent", 10);
    s->api_usage_max_age_ms = opt_int(cfg, "api_usage_max_age", 3600000);
    s->lag_ms = opt_int(cfg, "lag", 10000);
    s->lookback_ms = opt_int(cfg, "lookback", 300000);
    s->describe_cache_ms = opt_int(cfg, "describe_cache", 86400000);
    s->http.connect_timeout_ms = opt_int(cfg, "connect_timeout", 10000);
    s->http.timeout_ms = opt_int(cfg, "timeout", 120000);
    s->http.low_speed_time_ms = opt_int(cfg, "low_speed_time", 30000);
    s->http.max_attempts = opt_int(cfg, "max_attempts", 5);
    s->http.retry_base_ms = opt_int(cfg, "retry_base", 500);
    s->http.retry_max_ms = opt_int(cfg, "retry_max", 30000);
    if (sf_host->config_get_bool(cfg, "verify_tls", &s->http.verify_tls) != SYNC_OK)
        s->http.verify_tls = 1;
    if (sf_host->config_get_bool(cfg, "get_deleted", &s->get_deleted) != SYNC_OK)
        s->get_deleted = 1;

    size_t n = sf_host->config_list_count(cfg, "discover_objects");
    if (sf_host->config_get_string(cfg, "discover_objects") == NULL && n == 0) {
        static const char *const dflt[] = {"Contact", "Lead"};
        s->discover_objects = calloc(2, sizeof *s->discover_objects);
        if (s->discover_objects == NULL)
            failed = 1;
        for (size_t i = 0; s->discover_objects != NULL && i < 2; i++)
            if ((s->discover_objects[s->n_discover_objects++] = strdup(dflt[i])) == NULL)
                failed = 1;
    } else if (n > 0) {
        s->discover_objects = calloc(n, sizeof *s->discover_objects);
        if (s->discover_objects == NULL)
            failed = 1;
        for (size_t i = 0; s->discover_objects != NULL && i < n; i++) {
            const char *item = sf_host->config_list_item(cfg, "discover_objects", i);
            if ((s->discover_objects[s->n_discover_objects++] = strdup(item ? item : "")) == NULL)
                failed = 1;
        }
    }
    if (failed)
        return SYNC_E_NOMEM;

    if (s->client_id == NULL || s->client_id[0] == '\0') {
        sf_host->set_error(ctx, "%s: client_id is required", sf_host->config_where(cfg, "client_id"));
        return SYNC_E_CONFIG;
    }
    if (s->grant == SF_GRANT_REFRESH_TOKEN && (s->refresh_token == NULL || s->refresh_token[0] == '\0')) {
        sf_host->set_error(ctx, "%s: refresh_token is required with grant_type = refresh_token",
                           sf_host->config_where(cfg, "refresh_token"));
        return SYNC_E_CONFIG;
    }
    if (s->grant == SF_GRANT_CLIENT_CREDENTIALS && (s->client_secret == NULL || s->client_secret[0] == '\0')) {
        sf_host->set_error(ctx, "%s: client_secret is required with grant_type = client_credentials",
                           sf_host->config_where(cfg, "client_secret"));
        return SYNC_E_CONFIG;
    }
    if (!sf_api_version_ok(s->api_version)) {
        sf_host->set_error(ctx, "%s: api_version \"%s\" is not like \"61.0\"",
                           sf_host->config_where(cfg, "api_version"), s->api_version);
        return SYNC_E_CONFIG;
    }
    char why[256];
    if (sf_http_url_allowed(s->login_url, why, sizeof why) != SYNC_OK) {
        sf_host->set_error(ctx, "%s: login_url: %s", sf_host->config_where(cfg, "login_url"), why);
        return SYNC_E_CONFIG;
    }
    if (s->instance_url != NULL && s->instance_url[0] != '\0') {
        size_t il = strlen(s->instance_url);
        while (il > 0 && s->instance_url[il - 1] == '/')
            s->instance_url[--il] = '\0';
        if (sf_http_url_allowed(s->instance_url, why, sizeof why) != SYNC_OK) {
            sf_host->set_error(ctx, "%s: instance_url: %s", sf_host->config_where(cfg, "instance_url"), why);
            return SYNC_E_CONFIG;
        }
    }
    /* An empty value (a tenant row without one) means none. */
    if (s->access_token != NULL && s->access_token[0] == '\0') {
        free(s->access_token);
        s->access_token = NULL;
    }
    if (s->instance_url != NULL && s->instance_url[0] == '\0') {
        free(s->instance_url);
        s->instance_url = NULL;
    }
    if (s->access_token != NULL && s->instance_url == NULL) {
        sf_host->log(ctx, SYNC_LOG_WARN, "%s: access_token is not used without instance_url; the run "
                     "requests a new one", sf_host->config_where(cfg, "access_token"));
        memset(s->access_token, 0, strlen(s->access_token));
        free(s->access_token);
        s->access_token = NULL;
    }
    if (s->http.retry_max_ms < s->http.retry_base_ms)
        s->http.retry_max_ms = s->http.retry_base_ms;
    return SYNC_OK;
}

static void sf_close(void *instance)
{
    sf_instance *inst = instance;
    if (inst == NULL)
        return;
    sf_sink_release(inst);
    sf_describe_cache_free(inst);
    sf_session_release(inst);
    sf_http_free(inst->http);
    if (inst->access_token != NULL)
        memset(inst->access_token, 0, strlen(inst->access_token));
    free(inst->access_token);
    free(inst->instance_url);
    if (inst->rotated_refresh != NULL)
        memset(inst->rotated_refresh, 0, strlen(inst->rotated_refresh));
    free(inst->rotated_refresh);
    free_settings(&inst->set);
    free(inst);
}

static int sf_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    sf_instance *inst = calloc(1, sizeof *inst);
    int rc;
    *instance = NULL;
    if (inst == NULL)
        return SYNC_E_NOMEM;
    inst->ctx = ctx;
    if ((rc = read_settings(ctx, cfg, &inst->set)) != SYNC_OK ||
        (rc = sf_http_new(ctx, &inst->set.http, &inst->http)) != SYNC_OK) {
        sf_close(inst);
        return rc;
    }
    if (inst->set.refresh_token != NULL)
        sf_host->log_add_secret(ctx, inst->set.refresh_token);
    if (inst->set.client_secret != NULL)
        sf_host->log_add_secret(ctx, inst->set.client_secret);
    if (inst->set.access_token != NULL)
        sf_host->log_add_secret(ctx, inst->set.access_token);
    if (!inst->set.http.verify_tls)
        sf_host->log(ctx, SYNC_LOG_WARN, "%s: verify_tls is off: server certificates are not checked "
                     "and credentials can be intercepted", sf_host->config_where(cfg, "verify_tls"));
    *instance = inst;
    return SYNC_OK;
}

static int sf_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    return sf_source_read(instance, req, em);
}

static int sf_discover(void *instance, sync_catalog *cat)
{
    return sf_source_discover(instance, cat);
}

static const sync_source_ops sf_source_ops = {
    .struct_size = sizeof(sync_source_ops),
    .open = sf_open,
    .discover = sf_discover,
    .read = sf_read,
    .close = sf_close,
};

static const sync_sink_ops sf_sink_ops = {
    .struct_size = sizeof(sync_sink_ops),
    .open = sf_open,
    .prepare = sf_sink_prepare,
    .write = sf_sink_write,
    .finish = sf_sink_finish,
    .close = sf_close,
};

static const sync_plugin sf_plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "salesforce",
    .version = SYNCENGINE_VERSION,
    .description = "Salesforce REST API: sObjects as streams, incremental by SystemModstamp, deletes via queryAll; "
                   "as a sink, creates, updates, upserts and deletes through sObject Collections",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .caps = SYNC_CAP_INCREMENTAL | SYNC_CAP_DELETES,
    .options = sf_options,
    .stream_options = sf_stream_options,
    .target_options = sf_target_options,
    .source = &sf_source_ops,
    .sink = &sf_sink_ops,
    .check = sf_check,
    .probe = sf_probe,
};

SYNC_PLUGIN_DEFINE(sf_plugin, sf_host)
