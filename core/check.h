/*
 * core/check.h - judging a configuration beyond its syntax: offline (what
 * `syncengine check` and every start refuse) and against the servers
 * (`check --connect`, and every run before its run-log row is written).
 *
 * Each problem is one line "FILE:LINE: message"; every problem found is
 * reported, not only the first.  The plugins judge their own options through
 * their optional check and probe callbacks (ABI 1.2, sync/plugin.h).
 */
#ifndef SYNCC_CHECK_H
#define SYNCC_CHECK_H

#include <stddef.h>

#include "engine.h"

typedef struct syncc_problems {
    char **lines;
    size_t n, cap;
} syncc_problems;

void syncc_problems_add(syncc_problems *p, const char *where, const char *message);
/* Joins the lines into buf, each after the first prefixed with "\n" + prefix. */
void syncc_problems_join(const syncc_problems *p, const char *prefix, char *buf, size_t size);
void syncc_problems_free(syncc_problems *p);

/*
 * Offline: an empty configuration, values that are not valid UTF-8,
 * schedules that never fire, and each plugin's check callback for every
 * instance, job and stream.  Returns the number of problems added.
 */
size_t syncc_check_offline(syncc_engine *e, syncc_problems *out);

/*
 * Against the servers, for one job: the sink's and the source's probe
 * callbacks on instances opened for the probe alone (closed before
 * returning), for the job and for each stream.  Writes nothing.  Returns
 * SYNC_OK (problems, if any, in out) or the status of a server that could
 * not be asked (message in err).
 */
int syncc_check_connect(syncc_engine *e, syncc_job_rt *job, syncc_problems *out, char *err, size_t errlen);
/* The same on a run's own open instances (either may be NULL: not probed). */
int syncc_check_connect_with(syncc_engine *e, syncc_job_rt *job, void *src_inst, sync_ctx *src_ctx, void *snk_inst,
                             sync_ctx *snk_ctx, syncc_problems *out, char *err, size_t errlen);

#endif /* SYNCC_CHECK_H */
