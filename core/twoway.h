/*
 * core/twoway.h - one run of a two-way job (docs/two-way.md): for each
 * stream, in file order (parents before children), Salesforce's changes and
 * the table's changes are paired through the links, decided
 * (core/twoway_merge.c) and written to the other side.
 */
#ifndef SYNCC_TWOWAY_H
#define SYNCC_TWOWAY_H

#include <jansson.h>

#include "engine.h"

/*
 * Runs every stream of two-way job rt on the run's open instances: the
 * Salesforce source (src_*) and the PostgreSQL sink (snk_*, through its
 * query operation).  Adds counts to res and a per-stream object to
 * streams_json.  Returns SYNC_OK, or the status that failed the run (res->error
 * says why); records that could not be written are counted in res->failed.
 */
int syncc_twoway_run(syncc_engine *e, syncc_job_rt *rt, const char *run_id, void *src_inst, sync_ctx *src_ctx,
                     void *snk_inst, sync_ctx *snk_ctx, json_t *streams_json, syncc_run_result *res);

/*
 * `syncengine setup`: creates (or, with print, prints) the bookkeeping tables
 * of the two-way jobs (syncengine.sync_links, sync_conflicts,
 * sync_twoway_state) through each two-way job's sink, once per sink.  Returns
 * the number of sinks handled; *failed is set when one could not be set up
 * (the reason is on stderr).
 */
int syncc_twoway_setup(syncc_engine *e, int print, int *failed);

#endif /* SYNCC_TWOWAY_H */
