/*
 * core/status_cmd.h - `syncengine status`: the last run of every job.
 */
#ifndef SYNCC_STATUS_CMD_H
#define SYNCC_STATUS_CMD_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"

/* The version of the JSON shape (status --json, GET /api/v1/status); bumped only when a member changes
 * meaning or goes away, never when one is added. */
#define SYNCC_STATUS_JSON_VERSION 1

/*
 * A job's recent runs, oldest first, at most max (never NULL): from the sink's
 * run log when it keeps one, else from this engine's state store (*from says
 * "sink" or "state").  daemon: a sink that cannot answer is logged rather than
 * printed on stderr.
 */
json_t *syncc_status_job_runs(syncc_engine *e, syncc_job_rt *job, int max, int daemon, const char **from);

/*
 * One job's member of the status JSON (name, enabled, next_run, last_run,
 * runs_from, recent_runs); *code becomes the worse of itself and what the
 * job's last run deserves.  New reference, NULL when out of memory.
 */
json_t *syncc_status_job_json(syncc_engine *e, syncc_job_rt *job, int daemon, int *code);

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
