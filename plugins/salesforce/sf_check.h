/*
 * sf_check.h - the connector's judgement of a configuration (ABI 1.2):
 * offline (check) and against the org (probe).  See sync_check in
 * sync/plugin.h.
 */
#ifndef SF_CHECK_H
#define SF_CHECK_H

#include "sf_internal.h"

SF_HIDDEN int sf_check(const sync_check *chk);
SF_HIDDEN int sf_probe(void *instance, const sync_check *chk);
/* api_version is shaped like "61.0" (digits, a dot, digits); v not NULL. */
SF_HIDDEN int sf_api_version_ok(const char *v);

#endif /* SF_CHECK_H */
