/*
 * core/conflicts_cmd.h - `syncengine conflicts`: the conflicts of two-way
 * jobs (docs/two-way.md), and settling a manual one.
 */
#ifndef SYNCC_CONFLICTS_CMD_H
#define SYNCC_CONFLICTS_CMD_H

#include "engine.h"

/*
 * Lists the open and resolved conflicts of every two-way job of e, oldest
 * first, as a table or as JSON ({"conflicts": [...]}), read from each job's
 * sink (syncengine.sync_conflicts).  Returns 0, SYNCC_EXIT_CONFIG when the
 * configuration has no two-way job, or SYNCC_EXIT_FAILED when a sink could
 * not be asked.
 */
int syncc_conflicts_command(syncc_engine *e, int json);

/*
 * `conflicts resolve ID --keep salesforce|database`: marks open conflict ID
 * to be settled for that side by the job's next run.  Returns 0, or
 * SYNCC_EXIT_USAGE (bad --keep), SYNCC_EXIT_CONFIG (no such open conflict),
 * SYNCC_EXIT_FAILED.
 */
int syncc_conflicts_resolve(syncc_engine *e, const char *id, const char *keep);

#endif /* SYNCC_CONFLICTS_CMD_H */
