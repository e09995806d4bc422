/*
 * sf_auth.c - OAuth token requests (POST {login_url}/services/oauth2/token).
 *
 * Refresh-token rotation: when the token response carries a new
 * refresh_token, it replaces the old one, which Salesforce may already have
 * revoked; so it is persisted at once in the state store, together with a
 * fingerprint of the configured token it descends from.  A later run uses the
 * stored token only while the configured token is unchanged: an operator who
 * re-authorizes and configures a new refresh token is never overridden by a
 * stale rotated one.  Every token seen is registered as a log secret, and
 * request bodies are wiped after use.
 *
 * A host that keeps the instance's configuration somewhere it can write (a
 * tenant's database row) gets every issued access token, its instance_url and
 * a rotated refresh token through credentials_changed (ABI 1.2) before the
 * new token is used for anything; then nothing goes to the state store, and
 * the next run is configured with them (access_token, instance_url).  Within
 * the process the newest rotated token is kept in memory either way, so a
 * later login of the same session uses it.
 */
#include "sf_auth.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_buf.h"
#include "sf_http.h"

void sf_auth_fingerprint(const char *token, char *out)
{
    /* FNV-1a 64 over a domain prefix: identifies, does not reveal, a high-entropy token. */
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    const char *prefix = "syncengine-sf-refresh:";
    for (const char *p = prefix; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    for (const char *p = token; *p; p++)
        h = (h ^ (unsigned char)*p) * UINT64_C(0x100000001b3);
    snprintf(out, SF_FINGERPRINT_LEN + 1, "%016llx", (unsigned long long)h);
}

const char *sf_auth_pick_refresh_token(const char *configured, const char *stored)
{
    char fp[SF_FINGERPRINT_LEN + 1];
    if (configured == NULL || stored == NULL)
        return configured;
    sf_auth_fingerprint(configured, fp);
    if (strlen(stored) > SF_FINGERPRINT_LEN + 1 && stored[SF_FINGERPRINT_LEN] == ':' &&
        strncmp(stored, fp, SF_FINGERPRINT_LEN) == 0)
        return stored + SF_FINGERPRINT_LEN + 1;
    return configured;
}

static void add_param(sf_buf *b, const char *name, const char *value)
{
    char *esc = curl_easy_escape(NULL, value, 0);
    if (esc == NULL) {
        b->failed = 1;
        return;
    }
    if (b->len > 0)
        sf_buf_putc(b, '&');
    sf_buf_puts(b, name);
    sf_buf_putc(b, '=');
    sf_buf_puts(b, esc);
    memset(esc, 0, strlen(esc));
    curl_free(esc);
}

static void wipe_buf(sf_buf *b)
{
    if (b->ptr != NULL)
        memset(b->ptr, 0, b->cap);
    sf_buf_free(b);
}

static const char *jstr(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

/*
 * Sets the error detail and keeps a copy on inst, so that a shared session
 * can repeat the token endpoint's refusal, advice included, to the other
 * streams of the run (sf_session.c).
 */
static void refusal(sf_instance *inst, const char *fmt, ...) SYNC_PRINTF(2, 3);
static void refusal(sf_instance *inst, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(inst->auth_refusal, sizeof inst->auth_refusal, fmt, ap);
    va_end(ap);
    sf_host->set_error(inst->ctx, "%s", inst->auth_refusal);
}

/* Interprets a token endpoint error answer. */
static int token_error(sf_instance *inst, const sf_http_response *resp)
{
    const char *section = sf_host->ctx_instance ? sf_host->ctx_instance(inst->ctx) : NULL;
    const char *err = jstr(resp->json, "error");
    const char *desc = jstr(resp->json, "error_description");
    if (section == NULL)
        section = "salesforce";
    if (strcmp(err, "invalid_grant") == 0) {
        if (inst->set.grant == SF_GRANT_REFRESH_TOKEN)
            refusal(inst,
                    "salesforce rejected the refresh token (HTTP %ld invalid_grant: %s); "
                    "re-authorize the connected app and set refresh_token in [source %s]",
                    resp->status, desc, section);
        else
            refusal(inst,
                    "salesforce rejected the client credentials grant (HTTP %ld "
                    "invalid_grant: %s); check that the connected app of client_id in "
                    "[source %s] enables the client credentials flow with a run-as user",
                    resp->status, desc, section);
        return SYNC_E_AUTH;
    }
    if (strcmp(err, "invalid_client_id") == 0 || strcmp(err, "invalid_client") == 0 ||
        strcmp(err, "invalid_client_credentials") == 0) {
        refusal(inst,
                "salesforce rejected the client (HTTP %ld %s: %s); check client_id and "
                "client_secret in [source %s]", resp->status, err, desc, section);
        return SYNC_E_AUTH;
    }
    if (strcmp(err, "unsupported_grant_type") == 0) {
        refusal(inst, "salesforce does not accept this grant_type (HTTP %ld: %s); "
                "check grant_type in [source %s]", resp->status, desc, section);
        return SYNC_E_CONFIG;
    }
    refusal(inst, "token request failed with HTTP %ld%s%s%s%s", resp->status,
            err[0] ? ": " : "", err, desc[0] ? ": " : "", desc);
    return resp->status >= 400 && resp->status < 500 ? SYNC_E_AUTH : SYNC_E_PROTOCOL;
}

/* Persists a rotated refresh token with the fingerprint of its configured origin. */
static void keep_rotated(sf_instance *inst, const char *token)
{
    char fp[SF_FINGERPRINT_LEN + 1];
    sf_buf v = SF_BUF_INIT;
    sf_auth_fingerprint(inst->set.refresh_token, fp);
    sf_buf_printf(&v, "%s:%s", fp, token);
    int rc = sf_buf_ok(&v) == SYNC_OK ? sf_host->state_put(inst->ctx, SF_STATE_REFRESH_TOKEN, v.ptr)
                                       : SYNC_E_NOMEM;
    wipe_buf(&v);
    if (rc != SYNC_OK)
        sf_host->log(inst->ctx, SYNC_LOG_WARN,
                     "could not store the rotated refresh token (%s); the next run may need a "
                     "re-authorization", sf_host->strerror(rc));
}

/*
 * Hands what the token endpoint issued to the host (credentials_changed).
 * SYNC_OK: the host stored it; SYNC_E_UNSUPPORTED: nothing asks for it to be
 * stored (no host function, or no tenant); any other status: the host could
 * not store it, and the run must stop.
 */
static int hand_over(sf_instance *inst, const char *access, const char *iurl, const char *rotated)
{
    if (!SYNC_HOST_HAS(sf_host, credentials_changed))
        return SYNC_E_UNSUPPORTED;
    const char *names[] = {"access_token", "instance_url", "refresh_token"};
    const char *values[] = {access, iurl, rotated};
    int rc = sf_host->credentials_changed(inst->ctx, names, values, rotated != NULL ? 3 : 2);
    if (rc == SYNC_OK || rc == SYNC_E_UNSUPPORTED)
        return rc;
    const char *section = sf_host->ctx_instance ? sf_host->ctx_instance(inst->ctx) : NULL;
    refusal(inst, "could not store the %s salesforce just issued for [source %s] (%s); the run "
            "stops before using them%s", rotated != NULL ? "access and rotated refresh tokens"
                                                         : "access token",
            section ? section : "salesforce", sf_host->strerror(rc),
            rotated != NULL ? ", and the connected app may need a re-authorization if the rotated "
                              "token cannot be stored by a later run" : "");
    return rc;
}

int sf_auth_login(sf_instance *inst)
{
    sf_settings *s = &inst->set;
    sf_buf body = SF_BUF_INIT;
    sf_buf url = SF_BUF_INIT;
    char *stored = NULL;
    const char *refresh = NULL;
    int rc;

    if (s->grant == SF_GRANT_REFRESH_TOKEN) {
        if (inst->rotated_refresh != NULL)
            refresh = inst->rotated_refresh; /* rotated earlier in this process: the newest */
        else {
            if (sf_host->state_get(inst->ctx, SF_STATE_REFRESH_TOKEN, &stored) != SYNC_OK)
                stored = NULL;
            refresh = sf_auth_pick_refresh_token(s->refresh_token, stored);
        }
        sf_host->log_add_secret(inst->ctx, refresh);
        add_param(&body, "grant_type", "refresh_token");
        add_param(&body, "refresh_token", refresh);
    } else {
        add_param(&body, "grant_type", "client_credentials");
    }
    add_param(&body, "client_id", s->client_id);
    if (s->client_secret != NULL && s->client_secret[0] != '\0')
        add_param(&body, "client_secret", s->client_secret);

    size_t ul = strlen(s->login_url);
    sf_buf_append(&url, s->login_url, ul > 0 && s->login_url[ul - 1] == '/' ? ul - 1 : ul);
    sf_buf_puts(&url, "/services/oauth2/token");
    if ((rc = sf_buf_ok(&body)) != SYNC_OK || (rc = sf_buf_ok(&url)) != SYNC_OK)
        goto out;

    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded",
                             "Accept: application/json"};
    sf_http_request req = {"POST", url.ptr, headers, 2, body.ptr, body.len, "token_calls", 0, 0};
    sf_http_response resp;
    rc = sf_http_send(inst->http, &req, &resp);
    if (rc == SYNC_OK && (resp.status < 200 || resp.status >= 300))
        rc = token_error(inst, &resp);
    if (rc == SYNC_OK) {
        const char *access = json_string_value(json_object_get(resp.json, "access_token"));
        const char *iurl = json_string_value(json_object_get(resp.json, "instance_url"));
        const char *rotated = json_string_value(json_object_get(resp.json, "refresh_token"));
        char why[256];
        if (access == NULL || access[0] == '\0' || iurl == NULL || iurl[0] == '\0') {
            sf_host->set_error(inst->ctx, "token response lacks access_token or instance_url");
            rc = SYNC_E_PROTOCOL;
        } else if ((rc = sf_http_url_allowed(iurl, why, sizeof why)) != SYNC_OK) {
            sf_host->set_error(inst->ctx, "token response names an unusable instance_url: %s", why);
        } else {
            sf_host->log_add_secret(inst->ctx, access);
            if (rotated != NULL && (rotated[0] == '\0' || s->grant != SF_GRANT_REFRESH_TOKEN ||
                                    strcmp(rotated, refresh) == 0))
                rotated = NULL;
            if (rotated != NULL)
                sf_host->log_add_secret(inst->ctx, rotated);
            char *tok = strdup(access), *iu = strdup(iurl);
            char *rot = rotated != NULL ? strdup(rotated) : NULL;
            if (tok == NULL || iu == NULL || (rotated != NULL && rot == NULL)) {
                rc = SYNC_E_NOMEM;
            } else {
                size_t il = strlen(iu);
                while (il > 0 && iu[il - 1] == '/')
                    iu[--il] = '\0';
                /* Kept in memory first: whatever the host answers, a later
                 * login of this process has the only refresh token that works. */
                if (rot != NULL) {
                    if (inst->rotated_refresh != NULL)
                        memset(inst->rotated_refresh, 0, strlen(inst->rotated_refresh));
                    free(inst->rotated_refresh);
                    inst->rotated_refresh = rot;
                    rot = NULL;
                }
                int kept = hand_over(inst, tok, iu, rotated);
                if (kept == SYNC_OK) {
                    if (rotated != NULL)
                        sf_host->log(inst->ctx, SYNC_LOG_INFO, "salesforce rotated the refresh token; "
                                     "the engine stored the new one");
                } else if (kept == SYNC_E_UNSUPPORTED) {
                    if (rotated != NULL) {
                        keep_rotated(inst, rotated);
                        sf_host->log(inst->ctx, SYNC_LOG_INFO, "salesforce rotated the refresh token; "
                                     "the new one is kept in the state store");
                    }
                } else {
                    rc = kept;
                }
            }
            if (rc == SYNC_OK) {
                if (inst->access_token != NULL)
                    memset(inst->access_token, 0, strlen(inst->access_token));
                free(inst->access_token);
                free(inst->instance_url);
                inst->access_token = tok;
                inst->instance_url = iu;
                tok = iu = NULL;
                sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "authenticated against %s", inst->instance_url);
            }
            if (tok != NULL)
                memset(tok, 0, strlen(tok));
            free(tok);
            free(iu);
            if (rot != NULL)
                memset(rot, 0, strlen(rot));
            free(rot);
        }
    }
    if (resp.body != NULL)
        memset(resp.body, 0, resp.body_len);
    sf_http_response_clear(&resp);
out:
    if (stored != NULL) {
        memset(stored, 0, strlen(stored));
        sf_host->free(stored);
    }
    wipe_buf(&body);
    sf_buf_free(&url);
    return rc;
}
