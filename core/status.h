/*
 * core/status.h - engine-side helpers for sync_status (include/sync/status.h).
 */
#ifndef SYNCC_STATUS_H
#define SYNCC_STATUS_H

#include <sync/status.h>

const char *syncc_strerror(int status);
int syncc_status_is_retryable(int status);

#endif /* SYNCC_STATUS_H */
