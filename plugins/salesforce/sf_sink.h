/*
 * sf_sink.h - the Salesforce connector as a sink: mapped records become
 * creates, updates, upserts by external id and deletes of one sObject,
 * written through sObject Collections (sf_collections.h) on the same
 * session, allowance reserve, retries and secrets as the source.
 *
 * What a record becomes (sink.operation):
 *   upsert  PATCH by the external-id field sink.external_id (the mapped
 *           column of that name, else the record key); safe to repeat.
 *   update  PATCH by Id (the mapped column Id, else the record key).
 *   create  POST; never repeated once Salesforce may have acted on it.
 *   auto    upsert when sink.external_id is set; otherwise update when the
 *           record has an Id, create when it has none.
 * A delete record deletes by Id (the Id column, else the record found by its
 * external id, else the key when it is an Id); one already gone counts as
 * unchanged.
 *
 * No duplicates: upserts, updates and deletes are idempotent and retried like
 * reads.  A create is sent once: when its answer is lost after sending
 * (reset, timeout, cut-off body, 5xx other than 503) its records are rejected
 * with that reason instead of being sent again, and once a create of a batch
 * has been acted on, the batch never fails as a whole (later failures reject
 * their records), so neither the engine nor a later run sends it again.
 * Creates go last in a batch, so a failure of the other calls retries the
 * batch before anything is created.
 *
 * Per-record results: a record Salesforce refuses is rejected with its key,
 * statusCode, message and fields; the others of the call commit.  Each stored
 * record's Salesforce Id is handed to the engine with host->record_written
 * (ABI 1.3).
 */
#ifndef SF_SINK_H
#define SF_SINK_H

#include "sf_internal.h"

/* Values of sink.operation, NULL-terminated (the option table in sf_plugin.c). */
SF_HIDDEN extern const char *const sf_sink_operations[];

SF_HIDDEN int sf_sink_prepare(void *instance, const sync_target *target, void **target_state);
SF_HIDDEN int sf_sink_write(void *instance, void *target_state, const sync_batch *batch,
                            const sync_cursor *cursor, sync_write_result *result);
SF_HIDDEN int sf_sink_finish(void *instance, const sync_run_info *run);
/* Frees the target states of inst (from close). */
SF_HIDDEN void sf_sink_release(sf_instance *inst);

/* Offline checks of one sink use (sf_check): operation and external_id, column names. */
SF_HIDDEN int sf_sink_check(const sync_check *chk);
/* The same against the describe: fields exist and are writable (sf_probe). */
SF_HIDDEN int sf_sink_probe(sf_instance *inst, const sync_check *chk);

#endif /* SF_SINK_H */
