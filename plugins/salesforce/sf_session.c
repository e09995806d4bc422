/*
 * sf_session.c - the process-wide list of shared sessions (sf_session.h).
 * One lock guards the list and is held across a login, so that instances
 * starting together make one token request, not one each.
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
    char *key;            /* login URL, client id, grant, secret fingerprint */
    int users;            /* instances attached */
    char *access_token;   /* NULL until someone logged in */
    char *instance_url;
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

static char *session_key(const sf_settings *s)
{
    const char *secret = s->grant == SF_GRANT_REFRESH_TOKEN ? s->refresh_token : s->client_secret;
    char fp[SF_FINGERPRINT_LEN + 1];
    sf_auth_fingerprint(secret ? secret : "", fp);
    size_t n = strlen(s->login_url) + strlen(s->client_id) + sizeof fp + 16;
    char *key = malloc(n);
    if (key != NULL)
        snprintf(key, n, "%s\n%s\n%d\n%s", s->login_url, s->client_id, (int)s->grant, fp);
    return key;
}

/* The entry inst uses, found or made on first use; lock held. */
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

static int adopt(sf_instance *inst, const struct sf_session *e)
{
    char *tok = strdup(e->access_token), *url = strdup(e->instance_url);
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

/* Logs inst in and publishes its session in e; lock held. */
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
    int rc = sf_auth_login(inst);
    if (rc == SYNC_E_AUTH || rc == SYNC_E_CONFIG) {
        e->refused = rc; /* a revoked token is not worth one request per stream */
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
    pthread_mutex_lock(&sessions_lock);
    struct sf_session *e = attach(inst);
    int rc;
    if (e == NULL)
        rc = sf_auth_login(inst); /* no memory to share: a session of its own */
    else if (e->access_token != NULL &&
             (inst->access_token == NULL || strcmp(e->access_token, inst->access_token) != 0))
        rc = adopt(inst, e); /* the first use, or another instance renewed it already */
    else
        rc = login_and_share(inst, e);
    pthread_mutex_unlock(&sessions_lock);
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
        wipe_free(e->access_token);
        free(e->instance_url);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&sessions_lock);
}
