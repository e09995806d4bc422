/*
 * sf_session.c - the process-wide list of shared sessions (sf_session.h).
 * One lock guards the list; each session has a lock of its own, held across
 * its login, so that instances starting together make one token request, not
 * one each, while the logins of other orgs (tenants) go on beside it: a slow
 * token endpoint of one org never holds up another.
 */
#include "sf_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_auth.h"
#include "sf_limits.h"

struct sf_session {
    struct sf_session *next;
    char *key;            /* login URL, client id, grant, credential fingerprints */
    int users;            /* instances attached; held under sessions_lock */
    pthread_mutex_t lock; /* held across a login; guards what follows */
    char *access_token;   /* NULL until someone logged in */
    char *instance_url;
    int configured_used;  /* the configured access_token was handed out (once) */
    char *rotated_refresh; /* the newest refresh token rotated to, NULL if none */
    int refused;          /* the token endpoint refused these credentials: do not ask again */
    char refusal[512];    /* and what it said, advice included, for the other streams */
    sf_usage usage;       /* the org's daily API usage as the instances see it (sf_limits.h) */
};

static pthread_mutex_t sessions_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sf_session *sessions;

static void wipe_free(char *s)
{
    if (s != NULL)
        memset(s, 0, strlen(s));
    free(s);
}

/*
 * The org's credentials as a key: two instances share a session only when
 * every credential is the same (two tenants never share one), without the
 * secrets themselves being kept in the key.
 */
static char *session_key(const sf_settings *s)
{
    char fp_refresh[SF_FINGERPRINT_LEN + 1], fp_secret[SF_FINGERPRINT_LEN + 1];
    char fp_access[SF_FINGERPRINT_LEN + 1];
    sf_auth_fingerprint(s->refresh_token ? s->refresh_token : "", fp_refresh);
    sf_auth_fingerprint(s->client_secret ? s->client_secret : "", fp_secret);
    sf_auth_fingerprint(s->access_token ? s->access_token : "", fp_access);
    const char *iurl = s->instance_url ? s->instance_url : "";
    size_t n = strlen(s->login_url) + strlen(s->client_id) + strlen(iurl) + 3 * sizeof fp_refresh + 32;
    char *key = malloc(n);
    if (key != NULL)
        snprintf(key, n, "%s\n%s\n%d\n%s\n%s\n%s\n%s", s->login_url, s->client_id, (int)s->grant,
                 fp_refresh, fp_secret, fp_access, iurl);
    return key;
}

/* The entry inst uses, found or made on first use; sessions_lock held. */
static struct sf_session *attach(sf_instance *inst)
{
    if (inst->session != NULL)
        return inst->session;
    char *key = session_key(&inst->set);
    if (key == NULL)
        return NULL;
    struct sf_session *e;
    for (e = sessions; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            break;
    if (e == NULL) {
        if ((e = calloc(1, sizeof *e)) == NULL) {
            free(key);
            return NULL;
        }
        e->key = key;
        pthread_mutex_init(&e->lock, NULL);
        sf_usage_init(&e->usage);
        e->next = sessions;
        sessions = e;
    } else {
        free(key);
    }
    e->users++;
    inst->session = e;
    return e;
}

static int adopt(sf_instance *inst, const char *access_token, const char *instance_url)
{
    char *tok = strdup(access_token), *url = strdup(instance_url);
    if (tok == NULL || url == NULL) {
        wipe_free(tok);
        free(url);
        return SYNC_E_NOMEM;
    }
    wipe_free(inst->access_token);
    free(inst->instance_url);
    inst->access_token = tok;
    inst->instance_url = url;
    return SYNC_OK;
}

/* Hands the newest rotated refresh token from one holder to another. */
static void pass_rotated(char **to, const char *from)
{
    if (from == NULL || (*to != NULL && strcmp(*to, from) == 0))
        return;
    char *c = strdup(from);
    if (c == NULL)
        return; /* the holder keeps the older one: the state store still has it */
    wipe_free(*to);
    *to = c;
}

/* Logs inst in and publishes its session in e; e->lock held. */
static int login_and_share(sf_instance *inst, struct sf_session *e)
{
    if (e->refused) {
        /* The same words as the stream that asked: whichever stream's error
         * the run log keeps, it carries the advice. */
        sf_host->set_error(inst->ctx, "%s (for another stream of this run a moment ago; not asking "
                           "again)", e->refusal);
        return e->refused;
    }
    inst->auth_refusal[0] = '\0';
    pass_rotated(&inst->rotated_refresh, e->rotated_refresh);
    int rc = sf_auth_login(inst);
    pass_rotated(&e->rotated_refresh, inst->rotated_refresh);
    /* A revoked token is not worth one request per stream; nor is a login
     * whose rotated refresh token the host could not store. */
    if (rc == SYNC_E_AUTH || rc == SYNC_E_CONFIG || (rc != SYNC_OK && inst->auth_refusal[0] != '\0')) {
        e->refused = rc;
        snprintf(e->refusal, sizeof e->refusal, "%s",
                 inst->auth_refusal[0] ? inst->auth_refusal : "salesforce refused these credentials");
    }
    if (rc != SYNC_OK)
        return rc;
    char *tok = strdup(inst->access_token), *url = strdup(inst->instance_url);
    if (tok == NULL || url == NULL) {
        wipe_free(tok);
        free(url);
        return SYNC_OK; /* inst has its session; only the sharing failed */
    }
    wipe_free(e->access_token);
    free(e->instance_url);
    e->access_token = tok;
    e->instance_url = url;
    return SYNC_OK;
}

int sf_session_token(sf_instance *inst)
{
    const sf_settings *s = &inst->set;
    pthread_mutex_lock(&sessions_lock);
    struct sf_session *e = attach(inst);
    pthread_mutex_unlock(&sessions_lock);
    if (e == NULL) { /* no memory to share: a session of its own */
        if (s->access_token != NULL && inst->access_token == NULL)
            return adopt(inst, s->access_token, s->instance_url);
        return sf_auth_login(inst);
    }
    /* inst is attached (e->users counts it), so e outlives this call. */
    pthread_mutex_lock(&e->lock);
    int rc;
    if (e->access_token != NULL &&
        (inst->access_token == NULL || strcmp(e->access_token, inst->access_token) != 0)) {
        rc = adopt(inst, e->access_token, e->instance_url); /* first use, or renewed by another */
    } else if (e->access_token == NULL && s->access_token != NULL && !e->configured_used) {
        /* The stored access token first: no token request while it is good.
         * A 401 with it comes back here and logs in. */
        e->configured_used = 1;
        e->access_token = strdup(s->access_token);
        e->instance_url = strdup(s->instance_url);
        if (e->access_token == NULL || e->instance_url == NULL) {
            wipe_free(e->access_token);
            free(e->instance_url);
            e->access_token = e->instance_url = NULL;
            rc = adopt(inst, s->access_token, s->instance_url);
        } else {
            rc = adopt(inst, e->access_token, e->instance_url);
        }
        if (rc == SYNC_OK)
            sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "using the configured access token for %s",
                         inst->instance_url);
    } else {
        rc = login_and_share(inst, e);
    }
    pthread_mutex_unlock(&e->lock);
    return rc;
}

sf_usage *sf_session_usage(sf_instance *inst)
{
    pthread_mutex_lock(&sessions_lock);
    struct sf_session *e = attach(inst);
    pthread_mutex_unlock(&sessions_lock);
    return e != NULL ? &e->usage : NULL;
}

void sf_session_release(sf_instance *inst)
{
    struct sf_session *e = inst->session;
    if (e == NULL)
        return;
    pthread_mutex_lock(&sessions_lock);
    inst->session = NULL;
    if (--e->users == 0) {
        struct sf_session **pp = &sessions;
        while (*pp != e)
            pp = &(*pp)->next;
        *pp = e->next;
        sf_limits_keep(inst->ctx, &e->usage); /* for the next run */
        sf_usage_destroy(&e->usage);
        pthread_mutex_destroy(&e->lock);
        wipe_free(e->rotated_refresh);
        wipe_free(e->access_token);
        free(e->instance_url);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&sessions_lock);
}
