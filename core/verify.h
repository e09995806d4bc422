/*
 * core/verify.h - `syncengine verify`: compares the source and the target of
 * each stream of a job without trusting the engine's state.
 *
 * Both sides must offer the compare operations (sync_compare_ops, ABI 1.3).
 * The columns compared are the mapped columns whose expression is a plain
 * field (a rename); the key is the target's key and the source field mapped
 * to it.  Counts and hashes of key ranges are computed in each database;
 * ranges whose summaries differ are split (on the keys of the side with more
 * rows) until they are small, then their rows are fetched and compared:
 * missing in the target, extra in the target, different (which columns).
 */
#ifndef SYNCC_VERIFY_H
#define SYNCC_VERIFY_H

#include <jansson.h>

#include "engine.h"

/*
 * Ranges of at most this many rows (on the larger side) are fetched rather
 * than split: below it, reading the rows costs less than the queries that
 * would narrow them down.
 */
#define SYNCC_VERIFY_FETCH_ROWS 2048
/* A differing range is split into parts of about this many rows ... */
#define SYNCC_VERIFY_PART_ROWS 1024
/* ... and into at most this many parts. */
#define SYNCC_VERIFY_FACTOR 512
/*
 * The first pass cuts the whole table at every this many of the source's keys
 * (fewer than a fetch, so that a part with a row or two added on the target
 * is still fetched at once) ...
 */
#define SYNCC_VERIFY_FIRST_ROWS (SYNCC_VERIFY_FETCH_ROWS * 3 / 4)
/* ... into at most this many parts (a bigger table has bigger parts). */
#define SYNCC_VERIFY_FIRST_PARTS 1024
/* Differences listed per stream (all are counted). */
#define SYNCC_VERIFY_MAX_LISTED 1000

/*
 * Verifies one job; with fix, writes the differing rows again through the
 * job's own sink (verify_fix.h), orphans per the stream's orphans_policy
 * (deleted, or their parents fetched again through the stream that writes
 * the parent table), and verifies the stream once more.  *report receives a JSON object (job, run_id, status
 * "agree" / "different" / "failed", started_at, finished_at, streams[...]),
 * which is also recorded in the sink's verify history when it keeps one.
 * Returns SYNCC_EXIT_OK when every compared stream agrees,
 * SYNCC_EXIT_DIFFERENT when some differ, SYNCC_EXIT_FAILED when a side
 * could not be read.
 */
int syncc_verify_job(syncc_engine *e, syncc_job_rt *job, int fix, json_t **report);

/*
 * A verify on the job's verify_schedule (verify_fix: with --fix): recorded
 * as a run of the job, in the sink's run log when it keeps one and in the
 * engine's history, with the report as its details; differences (or a side
 * that could not be read) make it a failed run.  Returns the exit code.
 */
int syncc_verify_scheduled(syncc_engine *e, syncc_job_rt *job);

/* Prints a job's report as text. */
void syncc_verify_print(FILE *out, const json_t *report);

/*
 * `syncengine verify [JOB] [--json]`: every job (or JOB), reports on stdout.
 * `--history`: the latest recorded verify runs instead; `--fix`: repair;
 * `--full-refresh` (refresh): each job runs once with a full refresh first
 * (every row written again; the rows the source no longer has deleted in one
 * transaction at the end by a sink with a full-refresh sweep), then is
 * verified and repaired as with fix (the remaining extra rows deleted).
 */
int syncc_verify_command(syncc_engine *e, const char *job, int json, int history, int fix, int refresh);

#endif /* SYNCC_VERIFY_H */
