/*
 * pgs_runlog.h - one row per run in a user table, and the engine's runs
 * table (pgs_runlog.c).
 *
 * Layer 3, above the session and the hooks (before_run_sql, after_run_sql).
 */
#ifndef PGS_RUNLOG_H
#define PGS_RUNLOG_H

#include "pgs_session.h"

int pgs_run_begin(pgs_instance *in, const sync_run_info *run);
int pgs_run_finish(pgs_instance *in, const sync_run_info *run);
void pgs_run_free(pgs_instance *in);
/* The job's latest runs from the runs table, newest first (the sink's `runs` callback). */
int pgs_run_history(pgs_instance *in, const char *job, int max,
                    void (*each)(const sync_run_info *run, void *payload), void *payload);
/* The run log table and its columns as begin would resolve them, writing nothing (check). */
int pgs_run_probe(pgs_instance *in, const sync_config *opts);

#endif /* PGS_RUNLOG_H */
