/*
 * core/status.c - text and classification of sync_status codes.
 *
 * The text never changes meaning once published; strerror always returns a
 * string, even for codes from a newer plugin.
 */
#include "status.h"

const char *syncc_strerror(int status)
{
    switch (status) {
    case SYNC_OK: return "success";
    case SYNC_ERROR: return "error";
    case SYNC_E_NOMEM: return "out of memory";
    case SYNC_E_INVALID: return "invalid argument";
    case SYNC_E_CONFIG: return "configuration error";
    case SYNC_E_ABI: return "plugin ABI mismatch";
    case SYNC_E_AUTH: return "authentication failed";
    case SYNC_E_NETWORK: return "network error";
    case SYNC_E_TIMEOUT: return "timed out";
    case SYNC_E_RATELIMIT: return "API limit reached";
    case SYNC_E_CONFLICT: return "conflicting change";
    case SYNC_E_NOTFOUND: return "not found";
    case SYNC_E_UNSUPPORTED: return "not supported";
    case SYNC_E_SCHEMA: return "schema mismatch";
    case SYNC_E_DATA: return "record rejected";
    case SYNC_E_PROTOCOL: return "unexpected response";
    case SYNC_E_CANCELLED: return "cancelled";
    case SYNC_E_UNAVAILABLE: return "service unavailable";
    case SYNC_E_IO: return "local I/O error";
    }
    return "unknown status";
}

int syncc_status_is_retryable(int status)
{
    switch (status) {
    case SYNC_E_NETWORK:
    case SYNC_E_TIMEOUT:
    case SYNC_E_RATELIMIT:
    case SYNC_E_CONFLICT:
    case SYNC_E_PROTOCOL:
    case SYNC_E_UNAVAILABLE:
        return 1;
    default:
        return 0;
    }
}

const char *syncc_status_code_name(int status)
{
    switch (status) {
    case SYNC_OK: return "ok";
    case SYNC_ERROR: return "error";
    case SYNC_E_NOMEM: return "nomem";
    case SYNC_E_INVALID: return "invalid";
    case SYNC_E_CONFIG: return "config";
    case SYNC_E_ABI: return "abi";
    case SYNC_E_AUTH: return "auth";
    case SYNC_E_NETWORK: return "network";
    case SYNC_E_TIMEOUT: return "timeout";
    case SYNC_E_RATELIMIT: return "ratelimit";
    case SYNC_E_CONFLICT: return "conflict";
    case SYNC_E_NOTFOUND: return "notfound";
    case SYNC_E_UNSUPPORTED: return "unsupported";
    case SYNC_E_SCHEMA: return "schema";
    case SYNC_E_DATA: return "data";
    case SYNC_E_PROTOCOL: return "protocol";
    case SYNC_E_CANCELLED: return "cancelled";
    case SYNC_E_UNAVAILABLE: return "unavailable";
    case SYNC_E_IO: return "io";
    }
    return "unknown";
}
