/*
 * core/status_cmd.h - `syncengine status`: the last run of every job.
 */
#ifndef SYNCC_STATUS_CMD_H
#define SYNCC_STATUS_CMD_H

#include <stddef.h>

#include "engine.h"

/*
 * Prints the last run of every job (or of the n_jobs named) as a table, or as
 * JSON (the shape is in docs/user-guide.md).  Only reads: the sink is opened
 * read-only, so it creates nothing.  Returns 0 when every last run succeeded,
 * is running or never happened, else the exit code of the worst last run
 * (SYNCC_EXIT_FAILED, _PARTIAL, _RATELIMIT); SYNCC_EXIT_CONFIG for a job name
 * the configuration does not define.
 */
int syncc_status_command(syncc_engine *e, const char *const *jobs, size_t n_jobs, int json);

/*
 * The same, where a template job (tenants = ...) stands for its tenants,
 * read from their set: one row per tenant, JOB@KEY; a name may be JOB@KEY.
 * With state ("ok", "failing", "late", "never"; NULL: all) only the rows in
 * that state.  A summary line (JSON: "summary") counts ok, failing, late and
 * never-run rows; late: the last run is older than two periods of the
 * schedule.
 */
int syncc_status_command_state(syncc_engine *e, const char *const *jobs, size_t n_jobs, int json, const char *state);

#endif /* SYNCC_STATUS_CMD_H */
