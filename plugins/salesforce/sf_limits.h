/*
 * sf_limits.h - the org's daily API allowance, as one run (all its parallel
 * streams) and the runs after it see it.
 *
 * Salesforce reports the allowance on every REST answer (Sforce-Limit-Info:
 * api-usage=USED/MAX) and through GET /limits (DailyApiRequests Max and
 * Remaining).  api_reserve_percent keeps the top of it for the org's other
 * integrations: no call is issued that would take usage beyond the line
 * MAX * (100 - reserve) / 100.  The usage is an estimate shared by the
 * instances of one session (sf_session.h): the latest figure Salesforce gave,
 * plus one for every call issued since, so streams running side by side
 * cannot cross the line together.  It is kept in the plugin state when the
 * session ends ("api_usage": USED MAX and the time it was learned), so the
 * next run knows it before its first call: a run that would start inside the
 * reserve does not start (SYNC_E_RATELIMIT, no call made) while that figure
 * is younger than api_usage_max_age; older, or unknown, a run makes one
 * GET /limits call to learn it first.
 */
#ifndef SF_LIMITS_H
#define SF_LIMITS_H

#include <pthread.h>
#include <stdint.h>

#include "sf_internal.h"

/* The plugin-state key the usage is kept under. */
#define SF_STATE_API_USAGE "api_usage"

typedef struct sf_usage {
    pthread_mutex_t lock;       /* guards the members below */
    pthread_mutex_t probe_lock; /* held across the one /limits call of a session */
    int loaded;                 /* the kept figure was consulted */
    int known;                  /* used/max hold a figure */
    int probed;                 /* /limits was asked (or need not be) */
    int dirty;                  /* learned from Salesforce in this session: keep it */
    int64_t used;               /* estimate: last figure plus the calls issued since */
    int64_t max;
    int64_t learned_at;         /* local clock (microseconds) of the last figure */
} sf_usage;

SF_HIDDEN void sf_usage_init(sf_usage *u);
SF_HIDDEN void sf_usage_destroy(sf_usage *u);

/* The last figure a value kept in the plugin state holds; 1 when it parses. */
SF_HIDDEN int sf_limits_parse_kept(const char *value, int64_t *used, int64_t *max, int64_t *at);

/*
 * Before inst's first REST call (and cheap afterwards): consults the kept
 * figure, refuses with SYNC_E_RATELIMIT when a fresh one is inside the
 * reserve (no call made).  needs_probe is set when nothing recent is known:
 * the caller logs in and calls sf_limits_probe().
 */
SF_HIDDEN int sf_limits_start(sf_instance *inst, int *needs_probe);

/* The one GET /limits call of a session that knows nothing recent; statuses of sf_api_get. */
SF_HIDDEN int sf_limits_probe(sf_instance *inst);

/*
 * Before each call: SYNC_E_RATELIMIT (message set) when one more call would
 * take usage beyond the line; else counts the call into the estimate.
 */
SF_HIDDEN int sf_limits_take(sf_instance *inst);

/* A figure Salesforce gave (header or /limits body). */
SF_HIDDEN void sf_limits_seen(sf_instance *inst, int64_t used, int64_t max);

/* Keeps the session's figure in the plugin state, if it learned one (at the end of a session). */
SF_HIDDEN void sf_limits_keep(sync_ctx *ctx, sf_usage *u);

#endif /* SF_LIMITS_H */
