/*
 * sync/status.h - status codes shared by the core and every plugin.
 *
 * Every callback and host function that can fail returns one of these.  0 is
 * success, errors are negative.  Values are part of the ABI: they are never
 * renumbered, and a retired value keeps its number forever.  Each error is
 * either retryable (the engine may run the same work again later: network
 * trouble, a server restart, a rate limit) or permanent (configuration, data,
 * authentication); sync_status_is_retryable() in the host table says which.
 */
#ifndef SYNC_STATUS_H
#define SYNC_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sync_status {
    SYNC_OK            = 0,
    SYNC_ERROR         = -1,  /* unclassified failure (permanent) */
    SYNC_E_NOMEM       = -2,  /* out of memory (permanent) */
    SYNC_E_INVALID     = -3,  /* invalid argument or state (permanent) */
    SYNC_E_CONFIG      = -4,  /* bad configuration (permanent) */
    SYNC_E_ABI         = -5,  /* plugin/host ABI mismatch (permanent) */
    SYNC_E_AUTH        = -6,  /* credentials rejected or revoked (permanent) */
    SYNC_E_NETWORK     = -7,  /* connection failed, reset or truncated (retryable) */
    SYNC_E_TIMEOUT     = -8,  /* operation timed out (retryable) */
    SYNC_E_RATELIMIT   = -9,  /* API allowance used up; resume later (retryable) */
    SYNC_E_CONFLICT    = -10, /* conflicting concurrent change (retryable) */
    SYNC_E_NOTFOUND    = -11, /* object, stream, field or table missing (permanent) */
    SYNC_E_UNSUPPORTED = -12, /* operation not provided by this plugin (permanent) */
    SYNC_E_SCHEMA      = -13, /* mapping does not fit the target or source schema (permanent) */
    SYNC_E_DATA        = -14, /* a record was rejected (permanent for that record) */
    SYNC_E_PROTOCOL    = -15, /* the remote side answered something unexpected (retryable) */
    SYNC_E_CANCELLED   = -16, /* the engine asked the plugin to stop (not an error of the plugin) */
    SYNC_E_UNAVAILABLE = -17, /* service down or busy: 503, database restarting (retryable) */
    SYNC_E_IO          = -18  /* local file or state store failure (permanent) */
} sync_status;

/* The lowest status value this version of the header knows about. */
#define SYNC_STATUS_MIN SYNC_E_IO

#ifdef __cplusplus
}
#endif

#endif /* SYNC_STATUS_H */
