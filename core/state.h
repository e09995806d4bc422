/*
 * core/state.h - the engine's local state store.
 *
 * Holds what must survive a restart when the sink cannot keep it: cursors of
 * sinks without SYNC_CAP_STATE, plugin state (a rotated refresh token) and a
 * short history of runs per job for `syncengine status`.  One JSON file in the
 * state directory, mode 0600 in a 0700 directory, rewritten atomically (temp
 * file, fsync, rename, fsync of the directory) under an flock so that several
 * engine processes sharing a directory never lose each other's updates.
 */
#ifndef SYNCC_STATE_H
#define SYNCC_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct syncc_state syncc_state;

/* Opens (creating the directory if needed). NULL + message on failure. */
syncc_state *syncc_state_open(const char *dir, char *err, size_t errlen);
void syncc_state_close(syncc_state *st);
const char *syncc_state_path(const syncc_state *st);

/*
 * Reads / writes one value under namespace ns ("cursor:JOB", "plugin:NAME",
 * "runs:JOB").  get returns a malloc'ed copy, or NULL when absent (rc 0) or on
 * error (rc < 0).  put with value NULL deletes.  Returns 0 or -1 + errno-style
 * message in err.
 */
int syncc_state_get(syncc_state *st, const char *ns, const char *key, char **out);
int syncc_state_put(syncc_state *st, const char *ns, const char *key, const char *value, char *err,
                    size_t errlen);

/* Appends a JSON run summary (text) to the job's history, keeping the last max entries. */
int syncc_state_add_run(syncc_state *st, const char *job, const char *summary_json, int max);
/* Returns the job's history as a JSON array text (malloc'ed), or NULL. */
char *syncc_state_runs(syncc_state *st, const char *job);

/*
 * A state file that exists but cannot be read or parsed is never rebuilt
 * silently (its cursors and a rotated refresh token would be lost): the
 * engine refuses to start on it, and a run that meets it fails.
 * syncc_state_check reads the file: 0, or -1 with the reason in err.
 * syncc_state_failures counts the reads and writes of the file that failed
 * since it was opened; a run compares the count before and after.
 */
int syncc_state_check(syncc_state *st, char *err, size_t errlen);
unsigned long syncc_state_failures(syncc_state *st);

#endif /* SYNCC_STATE_H */
