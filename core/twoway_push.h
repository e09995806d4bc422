/*
 * core/twoway_push.h - the streams of a two-way job that only push
 * (docs/markmail.md, "[stream] mode"):
 *
 *   mode = push     rows pushed only: a record is created for each new row,
 *                   updated when the row's pushed columns change, and deleted
 *                   in Salesforce when the row is deleted (hard or soft: the
 *                   links are compared with the table, so a DELETE that left
 *                   no trace is seen too).  Memberships -> CampaignMember.
 *   mode = append   an append-only table: each row becomes one record, once,
 *                   in the order of option `order`; never updated or deleted.
 *                   Email events -> Task.
 *
 * Both create (no upsert: a create-only field such as Task.TaskSubtype cannot
 * be upserted) and make a repeated create safe through DUPLICATE_VALUE: with
 * `external_id` the field is unique in Salesforce, and its duplicate names the
 * record that exists; without it (CampaignMember: one per campaign and
 * contact) the existing record is looked up by the pushed references.  Either
 * way the row is linked, not failed.  A row whose reference (via STREAM) has
 * no Salesforce record yet waits for a later run; so do, with mode append,
 * the later rows of the same first reference (a contact's events stay in
 * order).
 */
#ifndef SYNCC_TWOWAY_PUSH_H
#define SYNCC_TWOWAY_PUSH_H

#include <jansson.h>

#include "engine.h"

/* The Salesforce writer the push streams of one run share (opened on the first write). */
typedef struct syncc_tw_push_run {
    void *sfw_inst;
    sync_ctx *sfw_ctx;
    int open_failed;
    sync_config **opts;   /* target options of prepared targets: they live as long as the run */
    size_t n_opts;
} syncc_tw_push_run;

/* Is stream s of rt a push-only stream (mode push or append)? */
int syncc_tw_push_is(const syncc_job_rt *rt, size_t s);

/*
 * Runs push stream s of two-way job rt: the table through the PostgreSQL
 * sink (snk_*, its query operation), Salesforce through the source plugin's
 * sink (opened once per run in pr) and, for looking up a record that exists
 * already, its source (src_*).  Adds counts to res and an object to
 * streams_json.  Returns SYNC_OK or the status that stops the run, with err.
 */
int syncc_tw_push_stream(syncc_engine *e, syncc_job_rt *rt, size_t s, const char *run_id, syncc_tw_push_run *pr,
                         void *src_inst, sync_ctx *src_ctx, void *snk_inst, sync_ctx *snk_ctx, json_t *streams_json,
                         syncc_run_result *res, char *err, size_t errlen);

/*
 * A value of the table (to_jsonb()) in the form links hold: strings as they
 * are, numbers and booleans as text, null as null, others as compact JSON.
 */
json_t *syncc_tw_canon(const json_t *v);

/*
 * A canonical value (text, or JSON null) as a typed value for Salesforce, by
 * the PostgreSQL type of its table column (coltype may be NULL: a string);
 * strings are borrowed from v.
 */
void syncc_tw_typed_value(const json_t *v, const char *coltype, sync_value *out);

/* Finishes and closes pr's writer (status: the run's). */
void syncc_tw_push_finish(syncc_job_rt *rt, syncc_tw_push_run *pr, const char *run_id, int status);

#endif /* SYNCC_TWOWAY_PUSH_H */
