/*
 * sync/plugin.h - what a connector shared object exports.
 *
 * A connector is a shared object exporting exactly one function,
 * sync_plugin_entry(), which returns a pointer to a static, constant
 * sync_plugin definition.  Write it with SYNC_PLUGIN_DEFINE(def), which also
 * fills the version head so it cannot be got wrong.
 *
 * The loader checks, in this order, and refuses the file with a message that
 * names it: the ABI major version is the engine's; the minor version is not
 * newer than the engine's; struct sizes are at least the 1.0 sizes; the plugin
 * provides a source, a sink or both; required callbacks are present; optional
 * groups are complete; option tables are well formed.
 *
 * Lifecycle of one instance (one INI [source NAME] or [sink NAME] section used
 * by one job run):
 *
 *   open -> (discover | read ...)      -> close      (source)
 *   open -> [begin] -> prepare ... -> write ... -> finish -> close   (sink)
 *
 * close is called exactly once for every successful open, and never after a
 * failed one: a failing open cleans up after itself.  A plugin never calls
 * exit() or abort().
 */
#ifndef SYNC_PLUGIN_H
#define SYNC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "host.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SYNC_ABI_MAJOR 1
#define SYNC_ABI_MINOR 3

/* ------------------------------------------------------------------ options */

typedef enum sync_option_type {
    SYNC_OPT_STRING = 0,
    SYNC_OPT_INT = 1,      /* int64, bounded by min/max when max > min */
    SYNC_OPT_BOOL = 2,     /* true/false, yes/no, on/off, 1/0 */
    SYNC_OPT_DOUBLE = 3,
    SYNC_OPT_DURATION = 4, /* "30s", "5m", "2h", "500ms" or plain seconds; read as int milliseconds */
    SYNC_OPT_ENUM = 5,     /* one of enum_values */
    SYNC_OPT_LIST = 6,     /* comma-separated list */
    SYNC_OPT_URL = 7       /* http:// or https:// URL */
} sync_option_type;

#define SYNC_OPT_REQUIRED   (1u << 0) /* must be set (a default makes no sense then) */
#define SYNC_OPT_SECRET     (1u << 1) /* never logged or printed; should come from ${ENV} */
#define SYNC_OPT_DEPRECATED (1u << 2) /* accepted with a warning */
#define SYNC_OPT_MULTI      (1u << 3) /* may be given several times; read as a list */

typedef struct sync_option {
    const char *name;
    sync_option_type type;
    const char *default_value;      /* as it would be written in the INI file, or NULL */
    uint32_t flags;
    int64_t min, max;               /* INT bounds, DURATION bounds in milliseconds; ignored when max <= min */
    const char *const *enum_values; /* ENUM: NULL-terminated list */
    const char *description;        /* one sentence */
} sync_option;

/* Ends every option table. */
#define SYNC_OPTION_END {NULL, SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, NULL}

/* ------------------------------------------------------------------ sources */

/* What the engine asks a source to read. */
typedef struct sync_stream_request {
    uint32_t struct_size;
    const char *stream;              /* e.g. "Contact" */
    const char *const *fields;       /* fields the mapping needs; NULL = all fields */
    size_t n_fields;
    const char *cursor;              /* saved cursor, NULL on a first run or a full refresh */
    int full_refresh;                /* read everything, ignoring the cursor */
    const sync_config *options;      /* the stream's source.* options */
    size_t batch_size;               /* records per emit the engine would like */
} sync_stream_request;

typedef struct sync_source_ops {
    uint32_t struct_size; /* sizeof(sync_source_ops) at build time */

    /* Required.  Create an instance from its validated section. */
    int (*open)(sync_ctx *ctx, const sync_config *cfg, void **instance);

    /* Optional.  List streams and their fields into cat. May use the network. */
    int (*discover)(void *instance, sync_catalog *cat);

    /*
     * Required.  Read one stream from req->cursor onwards, building records
     * with host->record_new/record_set_* and handing them over with
     * host->emit(em, cursor).  Returns SYNC_OK at the end of the stream.  On an
     * error after some emits, the engine keeps what was emitted and stored:
     * the next run starts from the last cursor it saved.
     */
    int (*read)(void *instance, const sync_stream_request *req, sync_emitter *em);

    /* Required. */
    void (*close)(void *instance);

    /* ---- ABI 1.3 members; append below, never above -------------------- */

    /*
     * Optional (ABI 1.3).  `syncengine setup` for one stream read from the
     * source section cfg: what the source needs on its server for that
     * stream (the PostgreSQL source: the change-log table and the table's
     * trigger), so that jobs can run as a role that may not create them.
     * Called without open, once per stream of every job reading from cfg,
     * with the stream's object and source.* options.  With apply the source
     * creates what is missing (idempotent); without, it changes nothing (it
     * may read the server's catalog to describe).  *ddl_out (when not NULL)
     * receives the statements as text, a string from host->alloc that the
     * engine frees, or NULL when the stream needs nothing.
     */
    int (*setup_stream)(sync_ctx *ctx, const sync_config *cfg, const char *object,
                        const sync_config *stream_options, int apply, char **ddl_out);
} sync_source_ops;

/* -------------------------------------------------------------------- sinks */

/* One column of a prepared target, in the order mapped records carry them. */
typedef struct sync_column {
    const char *name;
    sync_type type;  /* type of the mapping expression, SYNC_TYPE_NULL if it varies */
    int is_key;      /* part of the conflict key */
} sync_column;

typedef struct sync_target {
    uint32_t struct_size;
    const char *job;
    const char *stream;          /* the stream's name within the job (the cursor's key), e.g. "contacts" */
    const char *name;            /* target name, e.g. table "leads" */
    const sync_column *columns;
    size_t n_columns;
    const sync_config *options;  /* the stream's sink.* options */
    /* ---- ABI 1.2 members; a sink reads them only when struct_size covers them */
    const char *run_id;          /* the run this stream is part of */
    int full_refresh;            /* the stream is read from the beginning (see full_read_done) */
} sync_target;

/* True if target t (from the engine) carries member m. */
#define SYNC_TARGET_HAS(t, m) ((t)->struct_size >= offsetof(sync_target, m) + sizeof((t)->m))

/* The cursor to persist with a batch, when the sink stores state. */
typedef struct sync_cursor {
    const char *job;
    const char *stream;
    const char *value;
} sync_cursor;

typedef struct sync_write_result {
    int64_t inserted;
    int64_t updated;
    int64_t unchanged;
    int64_t deleted;
    int64_t failed;   /* records passed to host->record_reject */
} sync_write_result;

typedef enum sync_run_status {
    SYNC_RUN_RUNNING = 0,
    SYNC_RUN_SUCCESS = 1,
    SYNC_RUN_PARTIAL = 2,     /* finished, some records failed */
    SYNC_RUN_FAILED = 3,
    SYNC_RUN_RATE_LIMITED = 4 /* stopped by the API allowance; resumes next run */
} sync_run_status;

typedef struct sync_run_info {
    uint32_t struct_size;
    const char *job;
    const char *run_id;          /* unique per run */
    int64_t started_at;          /* microseconds since the epoch */
    int full_refresh;
    const sync_config *options;  /* the job's sink.* options */
    /* Filled at finish(): */
    sync_run_status status;
    int64_t finished_at;
    int64_t processed, inserted, updated, unchanged, deleted, failed;
    const char *error;           /* first error message, or NULL */
    const char *details_json;    /* JSON object: rejected records, per-stream counts, counters */
} sync_run_info;

typedef struct sync_sink_ops {
    uint32_t struct_size;

    /* Required. */
    int (*open)(sync_ctx *ctx, const sync_config *cfg, void **instance);

    /* Optional.  A run starts (the sink's run log gets a "running" row). */
    int (*begin)(void *instance, const sync_run_info *run);

    /*
     * Required.  Check the target against the mapped columns (a column that
     * does not exist, a key without a unique index) and prepare what write
     * needs.  *target_state is passed back to write.
     */
    int (*prepare)(void *instance, const sync_target *target, void **target_state);

    /*
     * Required.  Store a batch.  When the sink declared SYNC_CAP_STATE and
     * cursor is not NULL, the cursor must become durable atomically with the
     * batch.  Records the sink cannot store go to host->record_reject and do
     * not fail the call; a failure of the whole batch returns an error and
     * nothing of the batch may be left stored.
     */
    int (*write)(void *instance, void *target_state, const sync_batch *batch,
                 const sync_cursor *cursor, sync_write_result *result);

    /* Required.  The run ended; run holds the final status and counts. */
    int (*finish)(void *instance, const sync_run_info *run);

    /* Required.  Releases target states and the instance. */
    void (*close)(void *instance);

    /*
     * Optional group "state" (all or none; with SYNC_CAP_STATE).  state_load
     * sets *cursor_out to a string from host->alloc, or to NULL (or returns
     * SYNC_E_NOTFOUND) when the stream has no saved cursor yet.  The engine
     * does not call state_reset today; a full refresh simply overwrites the
     * cursor as its batches are stored.
     */
    int (*state_load)(void *instance, const char *job, const char *stream, char **cursor_out);
    int (*state_reset)(void *instance, const char *job, const char *stream);

    /*
     * Optional group "lease" (all or none).  Lets several engines share one
     * database: a job runs only where lease_acquire set *acquired.
     */
    int (*lease_acquire)(void *instance, const char *job, int *acquired);
    void (*lease_release)(void *instance, const char *job);

    /* ---- ABI 1.1 members; append below, never above -------------------- */

    /*
     * Optional (ABI 1.1).  The job's latest runs as the sink recorded them,
     * newest first: each() is called for at most max runs, with run borrowed
     * for the call (job, run_id, started_at, full_refresh, status,
     * finished_at -- 0 while running --, the counts and error; options and
     * details_json are NULL).  `syncengine status` uses it on an instance
     * opened for that alone, so that it shows the runs of every engine
     * sharing the sink, not only its own.  An error makes status fall back
     * to the engine's local history.
     */
    int (*runs)(void *instance, const char *job, int max,
                void (*each)(const sync_run_info *run, void *payload), void *payload);

    /* ---- ABI 1.2 members; append below, never above -------------------- */

    /*
     * Optional (ABI 1.2).  `syncengine setup`: the sink's own tables (cursors,
     * runs, leases, ...) for the section cfg, so that a role without CREATE
     * privileges can run jobs once an owner has set them up.  Called without
     * open.  With apply, the sink connects and creates what is missing
     * (idempotent); without, it connects to nothing and only describes.
     * *ddl_out (when not NULL) receives the statements as text, a string from
     * host->alloc that the engine frees, or NULL.
     */
    int (*setup)(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out);

    /*
     * Optional (ABI 1.2).  The stream of target_state (prepared with
     * full_refresh set) was read from the beginning to its end and every
     * record of it was stored: the source returned SYNC_OK, no write failed,
     * no record was rejected or failed mapping, and the run was not stopped.
     * Never called after a failed or partial read.  The sink may now treat
     * the rows of the target that this run did not write as deleted at the
     * source (records purged there reach no read), atomically, and adds what
     * it did to result (deleted).  Called once, on the thread and instance
     * that wrote the stream, after its last write.  An error fails the
     * stream like a failed write; the rows written stay.
     */
    int (*full_read_done)(void *instance, void *target_state, sync_write_result *result);

    /*
     * Optional (ABI 1.2).  Runs one statement of the configuration on an open
     * instance (a tenant set's query, the statement that stores a tenant's
     * new credentials), outside any run, in a transaction of its own.  params
     * are text ($1, $2, ...; NULL is SQL NULL).  When rows_out is not NULL it
     * receives the rows as a JSON array of objects, column name to value
     * (JSON-typed columns as JSON, other values as strings, NULL as null), a
     * string from host->alloc that the engine frees.  Parameters may be
     * secrets: never logged.
     */
    int (*query)(void *instance, const char *sql, const char *const *params, size_t n_params, char **rows_out);
} sync_sink_ops;

/* ------------------------------------------------------------------- checks */

/*
 * One use of a plugin that `syncengine check` (and every run, before it
 * writes anything) asks the plugin to judge, ABI 1.2.  The core calls the
 * plugin's check once per instance section (job and stream NULL), once per
 * job using it (stream NULL) and once per stream of such a job.  Everything
 * here is borrowed for the call.  The plugin reports each problem it finds
 * with report(), naming the file:line (host->config_where) -- every problem,
 * not only the first -- and returns SYNC_OK or SYNC_E_CONFIG.
 */
typedef struct sync_check {
    uint32_t struct_size;
    int is_source;                     /* which role of the plugin this use is */
    const char *instance;              /* NAME of [source NAME] / [sink NAME] */
    const sync_config *config;         /* that section's options */
    const char *job;                   /* NULL: the instance section alone */
    const sync_config *job_options;    /* a sink's job-level sink.* options, else NULL */
    const char *stream;                /* NULL: the job level */
    const char *object;                /* source: the stream's object; sink: its target */
    const sync_config *stream_options; /* the stream's source.* or sink.* options */
    const char *const *fields;         /* source: fields the mapping reads; NULL = all */
    size_t n_fields;
    const sync_column *columns;        /* sink: the mapped columns */
    size_t n_columns;
    const char *stream_where;          /* "file:line" of the [stream] section */
    const char *const *column_where;   /* sink: "file:line" of each column's mapping, or NULL */
    void (*report)(const struct sync_check *chk, const char *where, const char *message);
    void *payload;                     /* the core's */
    /* ---- ABI 1.3 members; read them only when struct_size covers them */
    const char *const *column_constants; /* sink: the text of each column whose expression is one string
                                            literal ('Email'), else NULL; the array itself may be NULL */
} sync_check;

/* True if chk (from the engine) carries member m. */
#define SYNC_CHECK_HAS(chk, m) ((chk)->struct_size >= offsetof(sync_check, m) + sizeof((chk)->m))

/* ------------------------------------------------------------------ compare */

/*
 * ABI 1.3: one table of a stream, as `syncengine verify` compares it.  The
 * engine pairs the source's columns with the target's through the job's
 * mapping; each side is asked about its own table with its own names.
 * Everything is borrowed for the call that receives it.
 */
typedef struct sync_compare_table {
    uint32_t struct_size;
    const char *job;
    const char *stream;
    const char *object;               /* the table: the stream's object (source) or target (sink) */
    const sync_config *options;       /* the stream's source.* or sink.* options */
    const char *key;                  /* the key column; NULL: the plugin's own default */
    const char *const *columns;       /* the compared columns, the key not among them */
    size_t n_columns;
} sync_compare_table;

/*
 * The canonical text both sides hash and return for a value, per kind
 * (docs/plugin-abi.md, "Canonical values"): SYNC_TYPE_STRING the text;
 * SYNC_TYPE_INT decimal; SYNC_TYPE_FLOAT a plain decimal without exponent or
 * trailing zeros; SYNC_TYPE_BOOL "true" / "false"; SYNC_TYPE_TIMESTAMP
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC; SYNC_TYPE_DATE "YYYY-MM-DD";
 * SYNC_TYPE_JSON the text PostgreSQL's jsonb prints.  A row's hash is the
 * first 15 hex digits of the MD5 of the values joined by 0x1f, each written
 * "v" + canonical text, or "n" for NULL, the key first; a range's hash is the
 * sum of its rows' hashes modulo 2^60.
 */
typedef struct sync_compare_ops {
    uint32_t struct_size;

    /* Required.  An instance on the section cfg, in the role is_source names. */
    int (*open)(sync_ctx *ctx, const sync_config *cfg, int is_source, void **instance);

    /*
     * Required.  Resolves table t: kinds[0] receives the natural kind of the
     * key (SYNC_TYPE_INT or SYNC_TYPE_STRING), kinds[1 + i] that of column i
     * (a SYNC_TYPE_*), *key_out the key column used (borrowed until close),
     * *table_state what the calls below take.  SYNC_E_NOTFOUND / SYNC_E_SCHEMA
     * with the error set when the table or a column does not exist.
     */
    int (*table)(void *instance, const sync_compare_table *t, sync_type *kinds, const char **key_out,
                 void **table_state);

    /*
     * Required.  Count and hash of the rows whose key k is lo <= k < hi (lo or
     * hi NULL: unbounded), keys as their canonical text, computed in the
     * database, each value in the kind kinds[] gives (agreed by both sides).
     */
    int (*summary)(void *instance, void *table_state, const sync_type *kinds, const char *lo, const char *hi,
                   int64_t *count, uint64_t *hash);

    /* Required.  The keys at positions step+1, 2*step+1, ... (1-based, key order) of the range. */
    int (*split)(void *instance, void *table_state, const char *lo, const char *hi, int64_t step,
                 void (*key)(void *payload, const char *key), void *payload);

    /* Required.  The rows of the range in key order: values[0] the key, values[1 + i] column i, NULL for NULL. */
    int (*fetch)(void *instance, void *table_state, const sync_type *kinds, const char *lo, const char *hi,
                 void (*row)(void *payload, const char *const *values), void *payload);

    /*
     * Optional.  Runs one read-only statement (integrity rules), with text
     * parameters ($1.. for PostgreSQL, ?1.. for SQLite), handing each row's
     * values as text (NULL for NULL).
     */
    int (*query)(void *instance, const char *sql, const char *const *params, size_t n_params,
                 void (*row)(void *payload, size_t n, const char *const *values), void *payload);

    /*
     * Optional.  Keeps a verify run's result (report, a JSON object) in the
     * database, and lists the job's latest ones newest first (job NULL:
     * every job).
     */
    int (*history_add)(void *instance, const char *job, const char *run_id, int64_t started_at,
                       int64_t finished_at, const char *status, const char *report_json);
    int (*history)(void *instance, const char *job, int max,
                   void (*each)(void *payload, const char *run_id, int64_t started_at, int64_t finished_at,
                                const char *status, const char *report_json),
                   void *payload);

    /* Required.  Releases the table states and the instance. */
    void (*close)(void *instance);

    /*
     * Optional.  summary of each part of [lo, hi) cut at bounds (n sorted
     * keys): part 0 is [lo, bounds[0]), part i [bounds[i-1], bounds[i]), part
     * n [bounds[n-1], hi); counts and hashes have n + 1 places.  In one pass
     * over the range, where a summary per part would read the table's pages
     * once per part (keys in another order than the rows).
     */
    int (*buckets)(void *instance, void *table_state, const sync_type *kinds, const char *lo, const char *hi,
                   const char *const *bounds, size_t n, int64_t *counts, uint64_t *hashes);
} sync_compare_ops;

/* ------------------------------------------------------------------ plugins */

#define SYNC_PROVIDES_SOURCE (1u << 0)
#define SYNC_PROVIDES_SINK   (1u << 1)

/* Capabilities. Unknown bits from newer plugins are ignored. */
#define SYNC_CAP_INCREMENTAL (UINT64_C(1) << 0) /* source honours cursors */
#define SYNC_CAP_DELETES     (UINT64_C(1) << 1) /* source emits deletes / sink applies them */
#define SYNC_CAP_STATE       (UINT64_C(1) << 2) /* sink stores cursors with the data */
#define SYNC_CAP_LEASE       (UINT64_C(1) << 3) /* sink coordinates several engines */
#define SYNC_CAP_RUN_LOG     (UINT64_C(1) << 4) /* sink keeps a run log */

typedef struct sync_plugin {
    /* Head: filled by SYNC_PLUGIN_HEAD. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;

    const char *name;        /* what [source X] plugin = NAME refers to */
    const char *version;
    const char *description;
    uint32_t provides;       /* SYNC_PROVIDES_* */
    uint64_t caps;           /* SYNC_CAP_* */

    const sync_option *options;         /* keys of the [source/sink NAME] section */
    const sync_option *stream_options;  /* source.* keys of a [stream ...] section */
    const sync_option *target_options;  /* sink.* keys of [stream ...] and [job ...] */

    const sync_source_ops *source;      /* when provides & SYNC_PROVIDES_SOURCE */
    const sync_sink_ops *sink;          /* when provides & SYNC_PROVIDES_SINK */

    /* ---- append ABI 1.1 members below, never above -------------------- */

    /* ---- ABI 1.2 members; append below, never above -------------------- */

    /*
     * Optional (ABI 1.2).  Judges one use of the plugin offline (no network,
     * no files beyond the configuration): what the option tables cannot say
     * (a value's syntax, options that contradict each other, identifiers
     * that can never work, references beyond a list).  See sync_check.
     */
    int (*check)(const sync_check *chk);

    /*
     * Optional (ABI 1.2).  Judges one use against the servers, on an
     * instance opened by the role chk->is_source names: a source describes
     * the stream's object and checks the fields and the cursor field; a
     * sink checks that the target, its columns and its run log exist with
     * compatible types and that its statements prepare.  It must write
     * nothing (a sink works inside a transaction it rolls back).  Called by
     * `check --connect` and by every run before its run-log row is written,
     * with stream NULL once per job, then once per stream.  Problems are
     * reported as for check; a problem of the servers themselves (down,
     * refused) is returned as its status without a report.
     */
    int (*probe)(void *instance, const sync_check *chk);

    /* ---- ABI 1.3 members; append below, never above -------------------- */

    /*
     * Optional (ABI 1.3).  `syncengine describe`: what the servers say about
     * object (a Salesforce sObject, a table), or, with object NULL, which
     * objects there are, on an instance opened by the role is_source names.
     * Writes nothing.  *json_out receives a JSON document from host->alloc
     * that the engine frees (shape: docs/plugin-abi.md, "ABI 1.3").
     * SYNC_E_NOTFOUND (with set_error) when there is no such object.
     */
    int (*describe)(void *instance, int is_source, const char *object, char **json_out);
    /* Optional (ABI 1.3).  Comparing a table with the other side of a stream: `syncengine verify`. */
    const sync_compare_ops *compare;
} sync_plugin;

#define SYNC_PLUGIN_HEAD \
    .abi_major = SYNC_ABI_MAJOR, .abi_minor = SYNC_ABI_MINOR, .struct_size = sizeof(sync_plugin)

/*
 * The same head for a plugin that needs only ABI 1.minor although it is built
 * against newer headers: it then loads in every 1.x engine from 1.minor on,
 * and tests newer host members with SYNC_HOST_HAS before using them.
 */
#define SYNC_PLUGIN_HEAD_MINOR(minor) \
    .abi_major = SYNC_ABI_MAJOR, .abi_minor = (minor), .struct_size = sizeof(sync_plugin)

/* True if the plugin definition (or an ops table) carries member m, set. */
#define SYNC_DEF_HAS(def, type, m) \
    ((def)->struct_size >= offsetof(type, m) + sizeof((def)->m) && (def)->m != NULL)

#define SYNC_ENTRY_SYMBOL "sync_plugin_entry"

#if defined(__GNUC__) || defined(__clang__)
#define SYNC_EXPORT __attribute__((visibility("default")))
#else
#define SYNC_EXPORT
#endif

typedef const sync_plugin *(*sync_plugin_entry_fn)(const sync_host *host);

/*
 * Defines the entry point.  host_var is a `const sync_host *` variable of the
 * plugin's own (file-local or hidden) that receives the host table before any
 * callback runs.
 */
#define SYNC_PLUGIN_DEFINE(def, host_var)                                         \
    SYNC_EXPORT const sync_plugin *sync_plugin_entry(const sync_host *host);     \
    SYNC_EXPORT const sync_plugin *sync_plugin_entry(const sync_host *host)      \
    {                                                                            \
        (host_var) = host;                                                       \
        return &(def);                                                           \
    }

#ifdef __cplusplus
}
#endif

#endif /* SYNC_PLUGIN_H */
