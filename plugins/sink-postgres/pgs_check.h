/*
 * pgs_check.h - what `syncengine check` asks of the connector (pgs_check.c).
 *
 * Layer 4, above the target, the run log and the hooks: the plugin's check
 * and probe callbacks (ABI 1.2, sync_check in sync/plugin.h).
 */
#ifndef PGS_CHECK_H
#define PGS_CHECK_H

#include "pgs_session.h"

int pgs_check(const sync_check *chk);
int pgs_probe(void *instance, const sync_check *chk);

#endif /* PGS_CHECK_H */
