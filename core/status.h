/*
 * core/status.h - engine-side helpers for sync_status (include/sync/status.h).
 */
#ifndef SYNCC_STATUS_H
#define SYNCC_STATUS_H

#include <sync/status.h>

const char *syncc_strerror(int status);
int syncc_status_is_retryable(int status);
/* A stable identifier of a status for machines ("ratelimit", "auth", ...; "unknown" for others). */
const char *syncc_status_code_name(int status);

#endif /* SYNCC_STATUS_H */
