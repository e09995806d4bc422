/*
 * core/history.h - a job's recent runs, for `syncengine status`.
 *
 * Two places know a job's runs: the sink, when it keeps a run table and
 * answers the ABI 1.1 `runs` callback (the PostgreSQL sink: every engine
 * that shares the database writes there), and the engine's own state
 * directory (only the runs of this engine).  status prefers the first.
 */
#ifndef SYNCC_HISTORY_H
#define SYNCC_HISTORY_H

#include <jansson.h>

#include "engine.h"

/*
 * The job's latest runs as the sink recorded them, oldest first, as the same
 * JSON objects the state directory keeps (started_at, status, duration_ms,
 * processed, inserted, updated, unchanged, deleted, failed, error).  Opens
 * an instance of the job's sink for it.  NULL when the sink has no `runs`
 * callback (why is then "") or the call failed (why says what happened).
 * The instance is opened read-only (sync_host.ctx_read_only): it creates nothing.
 */
json_t *syncc_history_from_sink(syncc_engine *e, const syncc_job_rt *job, int max, char *why, size_t why_size);

#endif /* SYNCC_HISTORY_H */
