/*
 * sf_api.c - the one place REST calls are made from, so every call gets the
 * same treatment: session, allowance check, counters, error mapping.
 *
 * The allowance check (sf_limits.c) uses the usage Salesforce reported last
 * (the Sforce-Limit-Info header of every answer, shared by the streams of a
 * run and kept for the next run) plus the calls issued since: no call is
 * issued that would take the org's daily API usage beyond
 * (100 - api_reserve_percent) percent, leaving the rest to the org's other
 * integrations.  The run stops with SYNC_E_RATELIMIT and a later run resumes
 * from the saved cursor.
 */
#include "sf_api.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_auth.h"
#include "sf_buf.h"
#include "sf_http.h"
#include "sf_limits.h"
#include "sf_session.h"

int sf_api_parse_limit(const char *value, int64_t *used, int64_t *max)
{
    const char *p = value;
    while (p != NULL && (p = strstr(p, "api-usage=")) != NULL) {
        /* "per-app-api-usage=" ends with the same text: require a boundary. */
        if (p == value || p[-1] == ' ' || p[-1] == ',' || p[-1] == ';') {
            long long u, m;
            if (sscanf(p + 10, "%lld/%lld", &u, &m) == 2 && u >= 0 && m > 0) {
                *used = u;
                *max = m;
                return 1;
            }
            return 0;
        }
        p += 10;
    }
    return 0;
}

int sf_api_over_reserve(int64_t used, int64_t max, int64_t reserve_percent)
{
    if (max <= 0)
        return 0;
    /* (used + 1) / max > (100 - reserve) / 100, without floating point */
    return (used + 1) * 100 > max * (100 - reserve_percent);
}

int sf_api_status_for(long http_status, const char *code)
{
    if (code == NULL)
        code = "";
    if (strcmp(code, "REQUEST_LIMIT_EXCEEDED") == 0)
        return SYNC_E_RATELIMIT;
    if (strcmp(code, "INVALID_FIELD") == 0 || strcmp(code, "INVALID_TYPE") == 0 ||
        strcmp(code, "NOT_FOUND") == 0 || http_status == 404)
        return SYNC_E_NOTFOUND;
    if (strcmp(code, "INVALID_QUERY_LOCATOR") == 0)
        return SYNC_E_CONFLICT; /* the locator was released: sf_source.c queries again */
    if (strcmp(code, "QUERY_TIMEOUT") == 0)
        return SYNC_E_TIMEOUT;
    if (strcmp(code, "SERVER_UNAVAILABLE") == 0 || strcmp(code, "UNABLE_TO_LOCK_ROW") == 0)
        return SYNC_E_UNAVAILABLE;
    if (strcmp(code, "MALFORMED_QUERY") == 0 || strcmp(code, "INVALID_QUERY_FILTER_OPERATOR") == 0)
        return SYNC_E_CONFIG;
    if (http_status == 401 || http_status == 403)
        return SYNC_E_AUTH; /* API_DISABLED_FOR_ORG, INSUFFICIENT_ACCESS, ... */
    if (http_status == 400)
        return SYNC_E_INVALID;
    return SYNC_E_PROTOCOL;
}

/* errorCode and message of a REST error body: [{"errorCode": ..., "message": ...}]. */
static void error_detail(const json_t *js, const char **code, const char **msg)
{
    const json_t *e = json_is_array(js) ? json_array_get(js, 0) : js;
    *code = json_string_value(json_object_get(e, "errorCode"));
    *msg = json_string_value(json_object_get(e, "message"));
    if (*code == NULL)
        *code = json_string_value(json_object_get(e, "error"));
    if (*msg == NULL)
        *msg = json_string_value(json_object_get(e, "error_description"));
}

int sf_api_ready(sf_instance *inst)
{
    int rc, probe = 0;
    /* A run that would start inside the reserve stops before logging in. */
    if ((rc = sf_limits_start(inst, &probe)) != SYNC_OK)
        return rc;
    if (inst->access_token == NULL && (rc = sf_session_token(inst)) != SYNC_OK)
        return rc;
    if (probe && (rc = sf_limits_probe(inst)) != SYNC_OK)
        return rc;
    return SYNC_OK;
}

void sf_api_server_time(sf_instance *inst)
{
    if (sf_http_server_time_known(inst->http))
        return;
    sf_buf url = SF_BUF_INIT;
    sf_buf_printf(&url, "%s/services/data/", inst->instance_url);
    if (sf_buf_ok(&url) != SYNC_OK) {
        sf_buf_free(&url);
        return;
    }
    const char *headers[] = {"Accept: application/json"};
    sf_http_request req = {"GET", url.ptr, headers, 1, NULL, 0, NULL, 1, 0};
    sf_http_response resp;
    if (sf_http_send(inst->http, &req, &resp) != SYNC_OK || resp.status != 200)
        sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "could not read Salesforce's clock (HTTP %ld); using the local one",
                     resp.status);
    sf_http_response_clear(&resp);
    sf_buf_free(&url);
}

/* One call; the answer as a tree (out) or as checked text (body, len). */
static int api_call(sf_instance *inst, const char *method, const char *path, const char *send,
                    size_t send_len, unsigned flags, json_t **out, char **body, size_t *len,
                    int *maybe_applied)
{
    int rc;
    int relogged = 0;
    if (out)
        *out = NULL;
    if (body) {
        *body = NULL;
        *len = 0;
    }
    inst->api_error_code[0] = '\0';
    if (path == NULL || path[0] != '/') {
        sf_host->set_error(inst->ctx, "unexpected API path \"%s\"", path ? path : "(null)");
        return SYNC_E_PROTOCOL;
    }
    int reserve = !(flags & SF_API_NO_RESERVE);
    if (reserve ? (rc = sf_api_ready(inst)) != SYNC_OK
                : inst->access_token == NULL && (rc = sf_session_token(inst)) != SYNC_OK)
        return rc;

    for (;;) {
        if (reserve && (rc = sf_limits_take(inst)) != SYNC_OK)
            return rc;
        sf_buf url = SF_BUF_INIT, auth = SF_BUF_INIT, opts = SF_BUF_INIT;
        sf_buf_printf(&url, "%s%s", inst->instance_url, path);
        sf_buf_printf(&auth, "Authorization: Bearer %s", inst->access_token);
        sf_buf_printf(&opts, "Sforce-Query-Options: batchSize=%" PRId64,
                      inst->page_size > 0 ? inst->page_size : inst->set.batch_size);
        if (sf_buf_ok(&url) || sf_buf_ok(&auth) || sf_buf_ok(&opts)) {
            sf_buf_free(&url);
            sf_buf_free(&auth);
            sf_buf_free(&opts);
            return SYNC_E_NOMEM;
        }
        const char *headers[] = {auth.ptr, "Accept: application/json",
                                 send != NULL ? "Content-Type: application/json" : opts.ptr};
        sf_http_request req = {method, url.ptr, headers, (flags & SF_API_QUERY) || send != NULL ? 3 : 2,
                               send, send_len, "api_calls", body != NULL, (flags & SF_API_NO_REPLAY) != 0};
        sf_http_response resp;
        rc = sf_http_send(inst->http, &req, &resp);
        if (maybe_applied != NULL)
            *maybe_applied = resp.maybe_applied;
        sf_buf_free(&url);
        sf_buf_free(&opts);
        memset(auth.ptr, 0, auth.len);
        sf_buf_free(&auth);

        int64_t used, max;
        if (resp.limit_info != NULL && sf_api_parse_limit(resp.limit_info, &used, &max))
            sf_limits_seen(inst, used, max);
        if (rc == SYNC_OK && resp.status >= 200 && resp.status < 300) {
            if (body) {
                *body = resp.body;
                *len = resp.body_len;
                resp.body = NULL;
            } else {
                *out = resp.json;
                resp.json = NULL;
            }
            sf_http_response_clear(&resp);
            return SYNC_OK;
        }
        if (rc != SYNC_OK) {
            sf_http_response_clear(&resp);
            return rc;
        }
        const char *code, *msg;
        error_detail(resp.json, &code, &msg);
        snprintf(inst->api_error_code, sizeof inst->api_error_code, "%s", code ? code : "");
        if (resp.status == 401 && !relogged) {
            /* INVALID_SESSION_ID: the access token expired or was revoked; log in once more. */
            sf_http_response_clear(&resp);
            sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "session expired, requesting a new access token");
            relogged = 1;
            if ((rc = sf_session_token(inst)) != SYNC_OK)
                return rc;
            continue;
        }
        rc = sf_api_status_for(resp.status, code);
        if (rc == SYNC_E_RATELIMIT)
            sf_host->set_error(inst->ctx,
                               "salesforce API request limit exceeded (HTTP %ld %s: %s); the run "
                               "resumes from the saved cursor once the allowance recovers",
                               resp.status, code ? code : "", msg ? msg : "");
        else
            sf_host->set_error(inst->ctx, "salesforce answered HTTP %ld%s%s%s%s", resp.status,
                               code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
        sf_http_response_clear(&resp);
        return rc;
    }
}

int sf_api_get(sf_instance *inst, const char *path, unsigned flags, json_t **out)
{
    return api_call(inst, "GET", path, NULL, 0, flags, out, NULL, NULL, NULL);
}

int sf_api_get_text(sf_instance *inst, const char *path, unsigned flags, char **body, size_t *len)
{
    return api_call(inst, "GET", path, NULL, 0, flags, NULL, body, len, NULL);
}

int sf_api_send(sf_instance *inst, const char *method, const char *path, const char *body, size_t len,
                unsigned flags, json_t **out, int *maybe_applied)
{
    if (maybe_applied != NULL)
        *maybe_applied = 0;
    return api_call(inst, method, path, body, len, flags, out, NULL, NULL, maybe_applied);
}
