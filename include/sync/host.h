/*
 * sync/host.h - the services the engine hands to every plugin.
 *
 * A plugin never links against the engine.  Everything it needs from the host
 * (logging, configuration, records, state, cancellation, counters) arrives as
 * one table of function pointers, passed to sync_plugin_entry() and valid for
 * the life of the process.  This is how SQLite hands its API to extensions and
 * Redis to modules: plugins build with -Wl,--no-undefined and keep working
 * against newer engines.
 *
 * Growth rule: members are only ever appended.  A plugin that declares ABI
 * 1.N (SYNC_PLUGIN_HEAD_MINOR) but can use a member added in 1.M (M > N) when
 * the engine has it tests it first with SYNC_HOST_HAS(host, member), which
 * checks both the table size and NULL.
 *
 * Getters return SYNC_E_INVALID for a NULL handle, never crash on one.
 * Frozen for all of 1.x (no size field, so never extended): sync_value,
 * sync_option, sync_column, sync_cursor, sync_write_result.
 *
 * Ownership, in one place:
 *  - Pointers passed into a plugin callback are borrowed for that call.
 *  - Strings returned by record/config getters stay valid until the record,
 *    batch or configuration they came from is released by the host.
 *  - Memory the host returns to the plugin for keeping (state_get) is freed
 *    with host->free().
 *  - Records created with record_new() belong to the host at once.
 *
 * Thread-safety: every host function may be called from any thread.  One
 * plugin instance is driven by one thread at a time; a source's read() and a
 * sink's write() for the same job run on different threads concurrently, on
 * different instances.
 */
#ifndef SYNC_HOST_H
#define SYNC_HOST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque handles.  Their layout is private to the engine. */
typedef struct sync_ctx sync_ctx;         /* one plugin instance's link to the engine */
typedef struct sync_config sync_config;   /* a validated option set (section or stream keys) */
typedef struct sync_record sync_record;   /* one normalized record */
typedef struct sync_batch sync_batch;     /* an ordered group of records */
typedef struct sync_emitter sync_emitter; /* where a source delivers its batches */
typedef struct sync_catalog sync_catalog; /* what a source fills during discovery */

/* Value types carried by record fields. */
typedef enum sync_type {
    SYNC_TYPE_NULL = 0,
    SYNC_TYPE_BOOL = 1,
    SYNC_TYPE_INT = 2,       /* int64_t */
    SYNC_TYPE_FLOAT = 3,     /* double */
    SYNC_TYPE_STRING = 4,    /* UTF-8 bytes with length, not necessarily NUL-free */
    SYNC_TYPE_TIMESTAMP = 5, /* microseconds since 1970-01-01T00:00:00Z */
    SYNC_TYPE_DATE = 6,      /* days since 1970-01-01 */
    SYNC_TYPE_JSON = 7       /* nested value as JSON text */
} sync_type;

/*
 * A read-only view of one field value.  For STRING and JSON, str points into
 * memory owned by the record and is also NUL-terminated at str[len].
 */
typedef struct sync_value {
    sync_type type;
    union {
        int b;
        int64_t i;
        double f;
        int64_t ts;   /* TIMESTAMP: microseconds; DATE: days */
        struct {
            const char *ptr;
            size_t len;
        } str;
    } u;
} sync_value;

/* What a record asks the sink to do with its key. */
typedef enum sync_op {
    SYNC_OP_UPSERT = 0,
    SYNC_OP_DELETE = 1
} sync_op;

typedef enum sync_log_level {
    SYNC_LOG_ERROR = 0,
    SYNC_LOG_WARN = 1,
    SYNC_LOG_INFO = 2,
    SYNC_LOG_DEBUG = 3,
    SYNC_LOG_TRACE = 4
} sync_log_level;

#if defined(__GNUC__) || defined(__clang__)
#define SYNC_PRINTF(fmt_idx, first_arg) __attribute__((format(printf, fmt_idx, first_arg)))
#else
#define SYNC_PRINTF(fmt_idx, first_arg)
#endif

typedef struct sync_host {
    /* Head: identical layout in every ABI version. */
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size; /* sizeof(sync_host) of the running engine */

    /* ---- ABI 1.0 ------------------------------------------------------ */

    /* Status codes. strerror never returns NULL. */
    const char *(*strerror)(int status);
    int (*status_is_retryable)(int status);

    /* Memory for anything the host will free or the plugin frees from the host. */
    void *(*alloc)(size_t size);
    void (*free)(void *ptr);

    /*
     * Logging.  The host prefixes job, stream, plugin and run id, and replaces
     * every registered secret (secret options, plus anything passed to
     * log_add_secret) with "***" before the line is written anywhere.
     */
    void (*log)(sync_ctx *ctx, sync_log_level level, const char *fmt, ...) SYNC_PRINTF(3, 4);
    int (*log_enabled)(sync_ctx *ctx, sync_log_level level);
    /* Registers a value learned at run time (an access token) as a secret. */
    void (*log_add_secret)(sync_ctx *ctx, const char *secret);

    /*
     * Detail for the error the current callback is about to return (the HTTP
     * status and server message, the SQLSTATE and database message).  The
     * engine prints it beside the status and adds job, plugin and callback.
     */
    void (*set_error)(sync_ctx *ctx, const char *fmt, ...) SYNC_PRINTF(2, 3);

    /*
     * Configuration.  The engine has already validated types, bounds, enums and
     * required options and filled in defaults, so these only fail for names the
     * plugin did not declare.  A getter for an option that is unset and has no
     * default returns SYNC_E_NOTFOUND (string: NULL).
     */
    const char *(*config_get_string)(const sync_config *cfg, const char *name);
    int (*config_get_int)(const sync_config *cfg, const char *name, int64_t *out);
    int (*config_get_bool)(const sync_config *cfg, const char *name, int *out);
    int (*config_get_double)(const sync_config *cfg, const char *name, double *out);
    /* LIST options: comma-separated items, trimmed; MULTI options: one item per key. */
    size_t (*config_list_count)(const sync_config *cfg, const char *name);
    const char *(*config_list_item)(const sync_config *cfg, const char *name, size_t index);
    /* "file:line" where the option was set, or the section's location; never NULL. */
    const char *(*config_where)(const sync_config *cfg, const char *name);

    /*
     * Building records (sources).  record_new appends a record to the batch the
     * emitter is filling.  Field setters copy their inputs.  A field name may be
     * a relationship path ("Account.Name").  Setting the same field twice keeps
     * the last value.
     */
    sync_record *(*record_new)(sync_emitter *em, const char *key, size_t key_len, sync_op op);
    int (*record_set_null)(sync_record *rec, const char *field);
    int (*record_set_bool)(sync_record *rec, const char *field, int value);
    int (*record_set_int)(sync_record *rec, const char *field, int64_t value);
    int (*record_set_float)(sync_record *rec, const char *field, double value);
    int (*record_set_string)(sync_record *rec, const char *field, const char *value, size_t len);
    int (*record_set_timestamp)(sync_record *rec, const char *field, int64_t usec);
    int (*record_set_date)(sync_record *rec, const char *field, int64_t days);
    int (*record_set_json)(sync_record *rec, const char *field, const char *json, size_t len);
    /* The record's own position in the stream (e.g. "2024-05-01T10:00:00.000Z/003xx"). */
    int (*record_set_cursor)(sync_record *rec, const char *cursor);

    /*
     * Hands the records built since the last emit to the engine, with the
     * cursor that is safe to save once they are all stored (NULL keeps the
     * previous cursor).  Blocks while the engine's queue is full.  Returns
     * SYNC_E_CANCELLED when the engine is stopping: the source then returns
     * from read() promptly, with that status.
     */
    int (*emit)(sync_emitter *em, const char *cursor);

    /* Reading records (sinks, and sources that look at their own records). */
    size_t (*batch_count)(const sync_batch *batch);
    const sync_record *(*batch_get)(const sync_batch *batch, size_t index);
    const char *(*record_key)(const sync_record *rec);
    sync_op (*record_op)(const sync_record *rec);
    const char *(*record_cursor)(const sync_record *rec); /* NULL if none */
    size_t (*record_field_count)(const sync_record *rec);
    /* Field by position; mapped records carry fields in the target's column order. */
    int (*record_field_at)(const sync_record *rec, size_t index, const char **name, sync_value *value);
    /* Field by name; SYNC_E_NOTFOUND when absent (absent differs from null). */
    int (*record_get)(const sync_record *rec, const char *field, sync_value *value);

    /*
     * A sink rejects one record: the engine counts it as failed, reports the
     * key and the message in the run log, and carries on with the others.
     */
    void (*record_reject)(sync_ctx *ctx, const sync_record *rec, const char *fmt, ...) SYNC_PRINTF(3, 4);

    /* Discovery: a source lists streams and their fields. */
    int (*catalog_add_stream)(sync_catalog *cat, const char *stream);
    int (*catalog_add_field)(sync_catalog *cat, const char *stream, const char *field, sync_type type);

    /*
     * Small persistent state of this plugin instance (e.g. a rotated refresh
     * token), kept in the engine's local state store, private to the user that
     * runs the engine.  *out is allocated with alloc; free it with free.
     * state_get returns SYNC_E_NOTFOUND for an unknown key.
     */
    int (*state_get)(sync_ctx *ctx, const char *key, char **out);
    int (*state_put)(sync_ctx *ctx, const char *key, const char *value);

    /* Non-zero once the engine wants this instance to stop at the next boundary. */
    int (*cancelled)(sync_ctx *ctx);

    /* Adds to a named run counter ("api_calls"); shown in the run summary. */
    void (*counter_add)(sync_ctx *ctx, const char *name, int64_t delta);

    /* Time helpers.  Parse ISO-8601 / RFC 3339 ("2024-05-01T10:00:00.000+0000"). */
    int (*time_parse)(const char *text, size_t len, int64_t *usec);
    /* Formats as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least 32 bytes). */
    int (*time_format)(int64_t usec, char *buf, size_t size);
    int64_t (*time_now)(void);

    /* Run identity, for plugins that record it (the sink's run log). */
    const char *(*ctx_job)(sync_ctx *ctx);
    const char *(*ctx_instance)(sync_ctx *ctx); /* the INI section name */

    /* ---- append ABI 1.1 members below, never above -------------------- */

    /*
     * ABI 1.2: non-zero when the engine opened this instance only to read
     * (`syncengine status` calling a sink's `runs`): create no schema, no
     * table, nothing; answer from what exists.  Test with SYNC_HOST_HAS.
     */
    int (*ctx_read_only)(sync_ctx *ctx);

    /*
     * ABI 1.2: a source hands the host credentials it was just issued, as
     * name/value pairs ("access_token", "refresh_token", "instance_url").
     * The host stores them where the instance's configuration came from (a
     * tenant's database row) before it returns.  SYNC_OK: stored, use them;
     * an error: they could not be stored, and the plugin must fail the run
     * (a rotated refresh token that is not stored would be lost with the
     * process).  NULL or SYNC_E_UNSUPPORTED when nothing asks for them to be
     * stored (no tenant): keep them in memory as before.  Test with
     * SYNC_HOST_HAS.  Values are secrets: never logged.
     */
    int (*credentials_changed)(sync_ctx *ctx, const char *const *names, const char *const *values, size_t n);

    /*
     * ABI 1.3: a sink tells the engine what the target calls a record it
     * has just stored: remote_id is the id the target gave it (a Salesforce
     * Id), created is non-zero when this write created it.  Called during
     * write(), on the writing thread, at most once per stored record of the
     * batch (rec is one of the batch's records); everything is borrowed for
     * the call.  A record the sink rejects is never reported here.  Two-way
     * jobs learn the ids to write back from it; otherwise the engine logs it
     * at debug level.  Test with SYNC_HOST_HAS.
     */
    void (*record_written)(sync_ctx *ctx, const sync_record *rec, const char *remote_id, int created);
} sync_host;

/*
 * True if the running host provides member m.  Use before calling anything
 * added after the ABI minor version the plugin was built against.
 */
#define SYNC_HOST_HAS(host, m)                                                          \
    ((host) != NULL && (host)->struct_size >= offsetof(sync_host, m) + sizeof((host)->m) && \
     (host)->m != NULL)

#ifdef __cplusplus
}
#endif

#endif /* SYNC_HOST_H */
