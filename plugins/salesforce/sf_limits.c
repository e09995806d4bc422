/*
 * sf_limits.c - the daily API allowance and its reserve (sf_limits.h): the
 * estimate a session shares, the figure kept between runs, and the one
 * /limits call a run makes when it knows nothing recent.
 */
#include "sf_limits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sf_api.h"
#include "sf_buf.h"
#include "sf_session.h"

void sf_usage_init(sf_usage *u)
{
    memset(u, 0, sizeof *u);
    pthread_mutex_init(&u->lock, NULL);
    pthread_mutex_init(&u->probe_lock, NULL);
}

void sf_usage_destroy(sf_usage *u)
{
    pthread_mutex_destroy(&u->lock);
    pthread_mutex_destroy(&u->probe_lock);
}

int sf_limits_parse_kept(const char *value, int64_t *used, int64_t *max, int64_t *at)
{
    long long u, m, t;
    char extra;
    if (value == NULL || sscanf(value, "%lld %lld %lld %c", &u, &m, &t, &extra) != 3 || u < 0 || m <= 0 ||
        t <= 0)
        return 0;
    *used = u;
    *max = m;
    *at = t;
    return 1;
}

/* The session's usage; NULL only when no memory was left to make the session. */
static sf_usage *usage_of(sf_instance *inst)
{
    return sf_session_usage(inst);
}

/* Refuses the next call; lock held. */
static int refuse(sf_instance *inst, const sf_usage *u)
{
    sf_host->set_error(inst->ctx,
                       "salesforce daily API allowance used %" PRId64 " of %" PRId64 "; one more call "
                       "would enter the %" PRId64 "%% kept in reserve (api_reserve_percent): stopping "
                       "until the allowance recovers", u->used, u->max, inst->set.api_reserve_percent);
    return SYNC_E_RATELIMIT;
}

int sf_limits_start(sf_instance *inst, int *needs_probe)
{
    *needs_probe = 0;
    sf_usage *u = usage_of(inst);
    if (u == NULL)
        return SYNC_E_NOMEM;
    int rc = SYNC_OK;
    pthread_mutex_lock(&u->lock);
    if (!u->loaded) {
        u->loaded = 1;
        char *v = NULL;
        int64_t used, max, at;
        if (!u->known && sf_host->state_get(inst->ctx, SF_STATE_API_USAGE, &v) == SYNC_OK &&
            sf_limits_parse_kept(v, &used, &max, &at)) {
            int64_t age = sf_host->time_now() - at;
            if (age >= 0 && age < inst->set.api_usage_max_age_ms * 1000) {
                u->known = 1;
                u->probed = 1; /* recent enough: no /limits call */
                u->used = used;
                u->max = max;
                u->learned_at = at;
            }
        }
        if (v != NULL)
            sf_host->free(v);
    }
    if (u->known && !u->dirty && sf_api_over_reserve(u->used, u->max, inst->set.api_reserve_percent)) {
        /* What an earlier run learned, recently: this one does not start. */
        char when[40];
        if (sf_host->time_format(u->learned_at, when, sizeof when) != SYNC_OK)
            snprintf(when, sizeof when, "a recent run");
        sf_host->set_error(inst->ctx,
                           "salesforce daily API allowance used %" PRId64 " of %" PRId64 " at %s, inside "
                           "the %" PRId64 "%% kept in reserve (api_reserve_percent); the run does not "
                           "start (no call made) and asks again once that figure is older than "
                           "api_usage_max_age", u->used, u->max, when, inst->set.api_reserve_percent);
        rc = SYNC_E_RATELIMIT;
    } else {
        *needs_probe = !u->known && !u->probed;
    }
    pthread_mutex_unlock(&u->lock);
    return rc;
}

int sf_limits_probe(sf_instance *inst)
{
    sf_usage *u = usage_of(inst);
    if (u == NULL)
        return SYNC_E_NOMEM;
    int rc = SYNC_OK;
    /* One caller asks; streams starting together wait for its answer. */
    pthread_mutex_lock(&u->probe_lock);
    pthread_mutex_lock(&u->lock);
    int need = !u->known && !u->probed;
    pthread_mutex_unlock(&u->lock);
    if (need) {
        sf_buf path = SF_BUF_INIT;
        json_t *js = NULL;
        sf_buf_printf(&path, "/services/data/v%s/limits", inst->set.api_version);
        rc = sf_buf_ok(&path);
        if (rc == SYNC_OK)
            rc = sf_api_get(inst, path.ptr, SF_API_NO_RESERVE, &js);
        sf_buf_free(&path);
        if (rc == SYNC_OK) {
            const json_t *d = json_object_get(js, "DailyApiRequests");
            json_int_t max = json_integer_value(json_object_get(d, "Max"));
            json_int_t rem = json_integer_value(json_object_get(d, "Remaining"));
            if (json_is_integer(json_object_get(d, "Max")) && max > 0 && rem >= 0 && rem <= max)
                sf_limits_seen(inst, (int64_t)(max - rem), (int64_t)max);
        }
        json_decref(js);
        pthread_mutex_lock(&u->lock);
        u->probed = 1;
        pthread_mutex_unlock(&u->lock);
        if (rc != SYNC_OK && rc != SYNC_E_RATELIMIT && rc != SYNC_E_CANCELLED && rc != SYNC_E_NOMEM &&
            !sf_host->status_is_retryable(rc)) {
            /* e.g. no "View Setup and Configuration": the answers' headers tell the usage instead */
            sf_host->log(inst->ctx, SYNC_LOG_WARN, "cannot read the org's API usage from /limits (%s); "
                         "going on with what the answers report", sf_host->strerror(rc));
            rc = SYNC_OK;
        }
        if (rc == SYNC_OK)
            sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "asked salesforce for the daily API usage (nothing "
                         "recent was known)");
    }
    pthread_mutex_unlock(&u->probe_lock);
    return rc;
}

int sf_limits_take(sf_instance *inst)
{
    sf_usage *u = usage_of(inst);
    if (u == NULL)
        return SYNC_E_NOMEM;
    int rc = SYNC_OK;
    pthread_mutex_lock(&u->lock);
    if (u->known) {
        if (sf_api_over_reserve(u->used, u->max, inst->set.api_reserve_percent))
            rc = refuse(inst, u);
        else
            u->used++; /* this call, until an answer reports it */
    }
    pthread_mutex_unlock(&u->lock);
    return rc;
}

void sf_limits_seen(sf_instance *inst, int64_t used, int64_t max)
{
    sf_usage *u = usage_of(inst);
    if (u == NULL)
        return;
    pthread_mutex_lock(&u->lock);
    /* Answers of parallel streams arrive in any order: the estimate only grows
     * within a session, unless the allowance itself changed. */
    if (!u->known || max != u->max || used > u->used)
        u->used = used;
    u->max = max;
    u->known = 1;
    u->dirty = 1;
    u->learned_at = sf_host->time_now();
    pthread_mutex_unlock(&u->lock);
}

void sf_limits_keep(sync_ctx *ctx, sf_usage *u)
{
    char v[80];
    pthread_mutex_lock(&u->lock);
    int dirty = u->dirty && u->known, known = u->known;
    int64_t used = u->used, max = u->max;
    snprintf(v, sizeof v, "%" PRId64 " %" PRId64 " %" PRId64, u->used, u->max, u->learned_at);
    u->dirty = 0;
    pthread_mutex_unlock(&u->lock);
    if (known) {
        /* the org's usage as the run leaves it, for status and /metrics: reported once, by the
         * session's last user, so that the counters of parallel streams do not add up twice */
        sf_host->counter_add(ctx, "api_usage", used);
        sf_host->counter_add(ctx, "api_limit", max);
    }
    if (dirty)
        sf_host->state_put(ctx, SF_STATE_API_USAGE, v); /* best effort: the next run asks /limits */
}
