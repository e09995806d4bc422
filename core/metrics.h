/*
 * core/metrics.h - the daemon's in-memory run metrics, for GET /metrics.
 *
 * The run path reports here as runs and streams end (core/runner.c); the
 * HTTP API (core/http/) renders what is collected.  Everything lives in one
 * process-wide table guarded by one mutex that is held only to add numbers
 * or to copy them out, so a slow reader never holds up a run.  Nothing here
 * survives a restart: Prometheus counters may reset, and its rate() copes.
 */
#ifndef SYNCC_METRICS_H
#define SYNCC_METRICS_H

#include <stdint.h>

#include "engine.h"

/*
 * A run of job ended.  status is the run status name ("success", "partial",
 * "failed", "rate_limited") or "skipped" (another engine held the lease);
 * counters of the run's contexts are read by name ("api_calls",
 * "api_usage", "api_limit", "retries_CAUSE", "conflicts").  Thread-safe.
 */
void syncc_metrics_run_end(const char *job, const char *status, int64_t ended_us, int64_t duration_ms,
                           int64_t rejected, const char *const *counter_names, const int64_t *counter_values,
                           size_t n_counters);

/*
 * A stream of a run ended with these counts.  cursor is the stream's saved
 * position after the run (may be NULL); when it starts with an ISO-8601 time
 * (the Salesforce source's SystemModstamp|Id), the stream's lag is the time
 * between that position and ended_us.  Thread-safe.
 */
void syncc_metrics_stream_end(const char *job, const char *stream, int64_t read, int64_t inserted, int64_t updated,
                              int64_t unchanged, int64_t deleted, int64_t failed, const char *cursor,
                              int64_t ended_us);

/*
 * The job's API calls so far (*calls), and the usage and limit the source
 * last reported; returns 1 when usage and limit are known, else 0.
 */
int syncc_metrics_job_api(const char *job, int64_t *calls, int64_t *usage, int64_t *limit);

/* The stream's lag in seconds as last measured, or -1 when not known. */
double syncc_metrics_stream_lag(const char *job, const char *stream);

/*
 * Appends the Prometheus text exposition of every family to *buf (grown with
 * realloc; *len and *cap track it).  e gives the jobs that exist (they appear
 * with zero values before their first run) and the running/paused gauges;
 * the caller holds what keeps e alive.  Returns 0, or -1 when out of memory.
 */
int syncc_metrics_render(syncc_engine *e, char **buf, size_t *len, size_t *cap);

/* Forgets everything (unit tests). */
void syncc_metrics_reset(void);

#endif /* SYNCC_METRICS_H */
