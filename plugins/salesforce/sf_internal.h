/*
 * sf_internal.h - what every file of the Salesforce connector shares: the host
 * table, the instance (one [source NAME] section used by one run) and the
 * settings read from its options.  Names crossing files are prefixed sf_ and
 * hidden, so the shared object exports nothing but sync_plugin_entry.
 */
#ifndef SF_INTERNAL_H
#define SF_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <sync/sync.h>

#if defined(__GNUC__) || defined(__clang__)
#define SF_HIDDEN __attribute__((visibility("hidden")))
#else
#define SF_HIDDEN
#endif

/* The host table, set by sync_plugin_entry() before any callback runs. */
SF_HIDDEN extern const sync_host *sf_host;

typedef struct sf_http sf_http;
typedef struct sf_desc_cache sf_desc_cache;

typedef enum sf_grant {
    SF_GRANT_REFRESH_TOKEN = 0,
    SF_GRANT_CLIENT_CREDENTIALS = 1
} sf_grant;

/* Transport settings; durations in milliseconds. */
typedef struct sf_http_settings {
    int64_t connect_timeout_ms;
    int64_t timeout_ms;
    int64_t low_speed_time_ms;
    int64_t max_attempts;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    char *ca_bundle; /* NULL: the system store */
    int verify_tls;
} sf_http_settings;

typedef struct sf_settings {
    char *login_url;
    sf_grant grant;
    char *client_id;
    char *client_secret;  /* may be NULL */
    char *refresh_token;  /* may be NULL for client_credentials */
    char *access_token;   /* a stored access token to use first (NULL: log in first) */
    char *instance_url;   /* and the instance it belongs to, without a trailing slash */
    char *api_version;    /* "61.0" */
    int64_t batch_size;
    int64_t api_reserve_percent;
    int64_t api_usage_max_age_ms; /* how long a run trusts the usage an earlier one saw */
    int64_t lag_ms;
    int64_t lookback_ms;
    int get_deleted;           /* incremental reads ask getDeleted for purged records */
    int64_t describe_cache_ms; /* how long a describe is reused across runs; 0 = never */
    char **discover_objects; /* objects whose fields discovery describes */
    size_t n_discover_objects;
    sf_http_settings http;
} sf_settings;

typedef struct sf_instance {
    sync_ctx *ctx;
    sf_settings set;
    sf_http *http;

    /* Session, filled by sf_auth_login() or taken from the shared one (sf_session.h). */
    char *access_token;
    char *instance_url;   /* without a trailing slash */
    struct sf_session *session;
    /* What the token endpoint said when it last refused a login (sf_auth.c). */
    char auth_refusal[512];
    /* The newest refresh token Salesforce rotated to in this process (NULL:
     * none); preferred to the configured and the stored one (sf_auth.c). */
    char *rotated_refresh;

    /* Records per query page of the current read: batch_size, or the job's smaller batch size. */
    int64_t page_size;

    /* errorCode of the latest REST answer that failed ("" if none): callers that
     * recover from one code (INVALID_QUERY_LOCATOR) tell it from the others. */
    char api_error_code[64];

    sf_desc_cache *descs; /* describe results, fetched once per run */

    struct sf_target_state *sink_targets; /* the sink's prepared targets (sf_sink.c) */
} sf_instance;

#endif /* SF_INTERNAL_H */
