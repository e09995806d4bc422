/*
 * core/log.h - the engine's log: one line per event, text or JSON, with job,
 * stream, plugin and run id, and every known secret replaced by "***".  In
 * JSON each of them (and tenant and error_code) is a member of its own:
 * ts, level, tenant, job, stream, plugin, run (the run id), error_code, msg.
 *
 * Secrets are registered globally (configuration values of SECRET options,
 * tokens plugins learn at run time); redaction runs on the final formatted
 * line, so no code path can print a secret by accident, whatever it formats.
 */
#ifndef SYNCC_LOG_H
#define SYNCC_LOG_H

#include <stdarg.h>
#include <sync/host.h>

typedef struct syncc_log_ctx {
    const char *job;
    const char *stream;
    const char *plugin;   /* "source:sf_acme" style */
    const char *run_id;
    const char *tenant;       /* NULL until tenants exist */
    const char *error_code;   /* a status name (syncc_status_code_name) on lines that report an error */
} syncc_log_ctx;

void syncc_log_set_level(sync_log_level level);
sync_log_level syncc_log_level(void);
void syncc_log_set_json(int json);
int syncc_log_parse_level(const char *text, sync_log_level *out);

/* Registers a secret (copied); strings shorter than 4 bytes are ignored. */
void syncc_log_add_secret(const char *secret);
/*
 * The same for secrets that belong to a scope (a tenant: "tenant NAME KEY"),
 * which syncc_log_drop_scope forgets together, so that a long-running daemon
 * whose tenants' tokens rotate keeps a bounded list.  A secret also
 * registered with syncc_log_add_secret is never dropped.
 */
void syncc_log_add_scoped_secret(const char *scope, const char *secret);
void syncc_log_drop_scope(const char *scope);
void syncc_log_clear_secrets(void);

/* Replaces every registered secret in buf (in place, NUL-terminated). */
void syncc_log_redact(char *buf, size_t size);

void syncc_logv(sync_log_level level, const syncc_log_ctx *ctx, const char *fmt, va_list ap);
void syncc_log(sync_log_level level, const syncc_log_ctx *ctx, const char *fmt, ...) SYNC_PRINTF(3, 4);

/* Engine-level shorthands (no job context). */
#define syncc_error(...) syncc_log(SYNC_LOG_ERROR, NULL, __VA_ARGS__)
#define syncc_warn(...)  syncc_log(SYNC_LOG_WARN, NULL, __VA_ARGS__)
#define syncc_info(...)  syncc_log(SYNC_LOG_INFO, NULL, __VA_ARGS__)
#define syncc_debug(...) syncc_log(SYNC_LOG_DEBUG, NULL, __VA_ARGS__)

#endif /* SYNCC_LOG_H */
