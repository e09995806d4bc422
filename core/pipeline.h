/*
 * core/pipeline.h - running one stream of a job (see pipeline.c).
 */
#ifndef SYNCC_PIPELINE_H
#define SYNCC_PIPELINE_H

#include <stdint.h>

#include "hostapi.h"
#include "loader.h"
#include "log.h"
#include "mapping.h"
#include "state.h"

typedef struct syncc_stream_run {
    /* inputs */
    const sync_host *host;
    const char *job_name;
    const char *stream_name;      /* stream name within the job */
    const char *object;           /* the source's stream */
    const syncc_plugin *src;
    void *src_inst;
    sync_ctx *src_ctx;
    const syncc_plugin *snk;
    void *snk_inst;
    sync_ctx *snk_ctx;
    void *target_state;
    int sink_keeps_state;         /* the sink stores cursors with the data */
    syncc_state *state;           /* local state store for the others */
    const syncc_mapping *mapping; /* NULL: pass through */
    const char *const *fields;    /* fields the source must deliver, NULL = all */
    size_t n_fields;
    const sync_config *source_options;
    const char *cursor_in;
    int full_refresh;
    int64_t batch_size;
    int64_t queue_depth;
    int write_attempts;           /* tries of a sink write (job option write_attempts); see retry_wait */
    volatile int *stop;
    int show_progress;            /* on the terminal's progress line (core/progress.h) */
    syncc_log_ctx logctx;
    /* outputs */
    int rc;
    char error[1024];
    char *cursor_out;             /* last cursor saved (malloc'ed) */
    int64_t read, batches, inserted, updated, unchanged, deleted, write_failed, map_failed;
    /* internal */
    int64_t started;
} syncc_stream_run;

/* The backoff between tries of a failed sink write: doubling from the base, at most the max. */
#define SYNCC_WRITE_RETRY_BASE_MS 500
#define SYNCC_WRITE_RETRY_MAX_MS 8000

/* Runs the stream to its end, an error or a stop. Returns r->rc. */
int syncc_pipeline_run(syncc_stream_run *r);

#endif /* SYNCC_PIPELINE_H */
