/*
 * sync/sync.h - everything a syncengine connector includes.
 *
 * See docs/plugin-abi.md for the contract these headers describe.
 */
#ifndef SYNC_SYNC_H
#define SYNC_SYNC_H

#include "status.h"
#include "host.h"
#include "plugin.h"

#endif /* SYNC_SYNC_H */
