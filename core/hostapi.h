/*
 * core/hostapi.h - the engine side of the host table (include/sync/host.h).
 *
 * The engine creates one sync_ctx per plugin instance; everything a plugin
 * does through the host table (log lines, secrets, errors, state, counters,
 * rejected records) is attributed to that context.  Tests use the same
 * functions to drive a plugin without the whole engine.
 */
#ifndef SYNCC_HOSTAPI_H
#define SYNCC_HOSTAPI_H

#include <stdint.h>
#include <pthread.h>

#include <sync/plugin.h>

#include "record.h"

typedef struct syncc_state syncc_state;   /* core/state.h */
typedef struct syncc_runstats syncc_runstats;

/* The table handed to every plugin. */
const sync_host *syncc_host(void);

typedef struct syncc_counter {
    char *name;
    int64_t value;
} syncc_counter;

typedef struct syncc_reject {
    char *key;
    char *stream;
    char *message;
} syncc_reject;

struct sync_ctx {
    char *job;
    char *instance;         /* INI section name */
    char *plugin;           /* plugin name */
    char *stream;           /* current stream, or NULL */
    char *run_id;
    char errbuf[1024];      /* last set_error detail */
    volatile int *cancel;   /* non-zero once the engine wants to stop; may be NULL */
    syncc_state *state;     /* local state store; may be NULL (state_get/put then fail) */
    pthread_mutex_t lock;   /* guards counters and rejects */
    syncc_counter *counters;
    size_t n_counters;
    syncc_reject *rejects;  /* first few rejected records, for the run log */
    size_t n_rejects;
    int64_t n_rejected;     /* all rejected records */
    int read_only;          /* opened only to read (status): the plugin must create nothing */
    struct syncc_tenant_ref *tenant; /* a tenant's run (core/tenant.c): credentials go to its row; else NULL */
    /* Where host->record_written goes (ABI 1.3): set by whoever drives the
     * writes and wants the ids (two-way jobs); NULL logs them at debug level. */
    void (*on_written)(void *payload, const sync_record *rec, const char *remote_id, int created);
    void *on_written_payload;
    int64_t n_written_ids;  /* records reported through record_written */
};

sync_ctx *syncc_ctx_new(const char *job, const char *instance, const char *plugin);
void syncc_ctx_free(sync_ctx *ctx);
void syncc_ctx_set_stream(sync_ctx *ctx, const char *stream);
/* Adds src's counters, rejected-record count and kept rejections to dst (a stream worker's to the run's). */
void syncc_ctx_absorb(sync_ctx *dst, sync_ctx *src);
/* The detail of the last set_error; "" if none.  The engine clears errbuf before each callback. */
const char *syncc_ctx_error(sync_ctx *ctx);
int64_t syncc_ctx_counter(sync_ctx *ctx, const char *name);

/* Maximum number of rejected records whose details are kept per run. */
#define SYNCC_MAX_REJECT_DETAILS 100

/*
 * The emitter a source fills.  deliver is called by host->emit with the full
 * batch; it takes ownership of the batch and returns a fresh one in *next (or
 * an error: SYNC_E_CANCELLED when the engine stops).
 */
struct sync_emitter {
    sync_batch *batch;
    const char *stream;
    int (*deliver)(sync_emitter *em, sync_batch *full, sync_batch **next);
    void *payload;
};

/* Discovery results (sync_catalog). */
#include <stdio.h>
sync_catalog *syncc_catalog_new(void);
void syncc_catalog_print(const sync_catalog *cat, FILE *out);
void syncc_catalog_free(sync_catalog *cat);

#endif /* SYNCC_HOSTAPI_H */
