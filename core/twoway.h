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

#endif /* SYNCC_TWOWAY_H */
