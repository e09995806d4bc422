/*
 * sf_check.c - what `syncengine check` asks of the Salesforce connector.
 *
 * Offline, for the [source] section: login_url usable (https, or plain http
 * to a loopback host), api_version shaped like "61.0", the credentials the
 * grant_type needs.  For each stream: the object name, source.where with
 * balanced parentheses and quotes, source.fields and source.cursor_field
 * shaped like field names, and a cursor_field that is one of the standard
 * fields known not to be a datetime refused at once.  Every problem is
 * reported.  Against the org (probe, `check --connect` and before every
 * run): the object is described and the stream's read planned exactly as a
 * run plans it -- every mapped field and relationship exists, the
 * cursor_field exists and is a datetime -- without querying any record.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_check.h"
#include "sf_describe.h"
#include "sf_http.h"
#include "sf_sink.h"
#include "sf_soql.h"
#include "sf_source.h"

static void problem(const sync_check *chk, const sync_config *cfg, const char *key, const char *fmt, ...)
    SYNC_PRINTF(4, 5);

static void problem(const sync_check *chk, const sync_config *cfg, const char *key, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    chk->report(chk, cfg && key ? sf_host->config_where(cfg, key) : NULL, msg);
}

int sf_api_version_ok(const char *v)
{
    /* "61.0": digits, a dot, digits; it becomes part of every URL path */
    const char *p = v;
    if (*p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p++ != '.' || *p < '0' || *p > '9')
        return 0;
    while (*p >= '0' && *p <= '9')
        p++;
    return *p == '\0';
}

static int empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* Standard fields that exist on (nearly) every object and are never datetimes. */
static const char *const not_datetime[] = {
    "Id", "Name", "IsDeleted", "OwnerId", "CreatedById", "LastModifiedById", "RecordTypeId", "FirstName",
    "LastName", "Email", "Phone", "Title", "Status", "Description", "CurrencyIsoCode", "MasterRecordId",
    "AccountId", "Company", "LastActivityDate", NULL};

static int check_instance(const sync_check *chk)
{
    const sync_config *cfg = chk->config;
    const char *role = chk->is_source ? "source" : "sink"; /* the plugin serves both */
    int bad = 0;
    const char *url = sf_host->config_get_string(cfg, "login_url");
    char why[256];
    if (!empty(url) && sf_http_url_allowed(url, why, sizeof why) != SYNC_OK) {
        problem(chk, cfg, "login_url", "[%s %s]: option 'login_url': %s", role, chk->instance, why);
        bad = 1;
    }
    const char *iurl = sf_host->config_get_string(cfg, "instance_url");
    if (!empty(iurl) && sf_http_url_allowed(iurl, why, sizeof why) != SYNC_OK) {
        problem(chk, cfg, "instance_url", "[%s %s]: option 'instance_url': %s", role, chk->instance,
                why);
        bad = 1;
    }
    const char *v = sf_host->config_get_string(cfg, "api_version");
    if (!empty(v) && !sf_api_version_ok(v)) {
        problem(chk, cfg, "api_version", "[%s %s]: option 'api_version': \"%s\" is not a version like \"61.0\"",
                role, chk->instance, v);
        bad = 1;
    }
    const char *grant = sf_host->config_get_string(cfg, "grant_type");
    int cc = grant != NULL && strcmp(grant, "client_credentials") == 0;
    if (!cc && empty(sf_host->config_get_string(cfg, "refresh_token"))) {
        problem(chk, cfg, "refresh_token",
                "[%s %s]: option 'refresh_token' is required with grant_type = refresh_token", role,
                chk->instance);
        bad = 1;
    }
    if (cc && empty(sf_host->config_get_string(cfg, "client_secret"))) {
        problem(chk, cfg, "client_secret",
                "[%s %s]: option 'client_secret' is required with grant_type = client_credentials", role,
                chk->instance);
        bad = 1;
    }
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

static int check_stream(const sync_check *chk)
{
    const sync_config *opt = chk->stream_options;
    int bad = 0;
    if (chk->object != NULL && !sf_soql_valid_name(chk->object, 0)) {
        problem(chk, NULL, NULL, "stream '%s': object \"%s\" is not a salesforce object name", chk->stream,
                chk->object);
        bad = 1;
    }
    const char *where = opt ? sf_host->config_get_string(opt, "where") : NULL;
    if (!empty(where) && sf_soql_check_condition(where) != SYNC_OK) {
        problem(chk, opt, "where", "stream '%s': option 'source.where' has unbalanced parentheses or quotes: %s",
                chk->stream, where);
        bad = 1;
    }
    const char *cf = opt ? sf_host->config_get_string(opt, "cursor_field") : NULL;
    if (!empty(cf)) {
        if (!sf_soql_valid_name(cf, 0)) {
            problem(chk, opt, "cursor_field", "stream '%s': option 'source.cursor_field': \"%s\" is not a field "
                    "of the object itself (a datetime such as SystemModstamp)", chk->stream, cf);
            bad = 1;
        } else {
            for (size_t i = 0; not_datetime[i]; i++) {
                if (strcasecmp(cf, not_datetime[i]) == 0) {
                    problem(chk, opt, "cursor_field", "stream '%s': option 'source.cursor_field': %s is not a "
                            "datetime field; use SystemModstamp or LastModifiedDate", chk->stream, cf);
                    bad = 1;
                    break;
                }
            }
        }
    }
    size_t n = opt ? sf_host->config_list_count(opt, "fields") : 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = sf_host->config_list_item(opt, "fields", i);
        if (!empty(f) && !sf_soql_valid_name(f, 1)) {
            problem(chk, opt, "fields", "stream '%s': option 'source.fields': \"%s\" is not a field name or "
                    "relationship path", chk->stream, f);
            bad = 1;
        }
    }
    for (size_t i = 0; i < chk->n_fields; i++) {
        if (chk->fields[i] != NULL && !sf_soql_valid_name(chk->fields[i], 1)) {
            problem(chk, NULL, NULL, "stream '%s': the mapping reads \"%s\", which is not a salesforce field "
                    "name or relationship path", chk->stream, chk->fields[i]);
            bad = 1;
        }
    }
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

int sf_check(const sync_check *chk)
{
    if (!chk->is_source)
        return chk->job == NULL ? check_instance(chk) : sf_sink_check(chk);
    if (chk->job == NULL)
        return check_instance(chk);
    if (chk->stream != NULL)
        return check_stream(chk);
    return SYNC_OK;
}

int sf_probe(void *instance, const sync_check *chk)
{
    sf_instance *inst = instance;
    if (!chk->is_source)
        return sf_sink_probe(inst, chk);
    if (chk->stream == NULL || chk->object == NULL)
        return SYNC_OK;
    const sf_object_desc *d = NULL;
    int rc = sf_describe_get(inst, chk->object, &d);
    if (rc == SYNC_E_NOTFOUND)
        return SYNC_E_CONFIG;
    if (rc != SYNC_OK)
        return rc;
    if (!d->queryable) {
        sf_host->set_error(inst->ctx, "salesforce object %s cannot be queried", d->name);
        return SYNC_E_CONFIG;
    }
    sync_stream_request req;
    memset(&req, 0, sizeof req);
    req.struct_size = sizeof req;
    req.stream = chk->object;
    req.fields = chk->fields;
    req.n_fields = chk->n_fields;
    req.options = chk->stream_options;
    sf_plan plan;
    rc = sf_plan_build(inst, d, &req, &plan);
    if (rc == SYNC_E_NOTFOUND && d->from_state) {
        /* a field newer than the cached describe: ask Salesforce again, as a run does */
        sf_describe_forget(inst);
        if ((rc = sf_describe_get(inst, chk->object, &d)) != SYNC_OK)
            return rc == SYNC_E_NOTFOUND ? SYNC_E_CONFIG : rc;
        rc = sf_plan_build(inst, d, &req, &plan);
    }
    if (rc == SYNC_OK)
        sf_plan_free(&plan);
    return rc == SYNC_E_NOTFOUND ? SYNC_E_CONFIG : rc;
}
