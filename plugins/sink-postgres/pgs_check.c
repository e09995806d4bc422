/*
 * pgs_check.c - what `syncengine check` asks of the PostgreSQL connector.
 *
 * Offline: every identifier the sink will quote into SQL -- the target
 * (schema.table allowed), the mapped columns, conflict_key, compare_exclude,
 * affected_columns, the columns of soft_delete_set, run_log_table,
 * run_log_columns and run_log_values, the engine's own schema and tables --
 * must be a plain identifier (letters, digits, _ and $, not starting with a
 * digit, at most 63 bytes): quoted, anything else names an object nobody
 * created by accident.  Every $N in a hook statement or in run_log_values
 * must be one of sql_params.  Every problem is reported.
 *
 * Against the database (probe): inside a transaction that is rolled back,
 * the target is prepared exactly as a run prepares it (the table, every
 * mapped column, the conflict key's unique index, compare_exclude,
 * soft_delete_set and affected_columns), mapped values whose type can never
 * be stored in their column are named, the staging and sync_affected tables
 * are created and the write statements and every hook statement are
 * prepared; the run log's table and columns are resolved.  Nothing is
 * written.
 */
#include "pgs_check.h"

#include "pgs_hooks.h"
#include "pgs_runlog.h"
#include "pgs_target.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void problem(const sync_check *chk, const sync_config *cfg, const char *key, const char *fmt, ...)
    SYNC_PRINTF(4, 5);

static void problem(const sync_check *chk, const sync_config *cfg, const char *key, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    chk->report(chk, cfg && key ? pgs_host->config_where(cfg, key) : NULL, msg);
}

static int plain_ident(const char *s, size_t n)
{
    if (n == 0 || n > 63 || isdigit((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '$')
            return 0;
    return 1;
}

static int safe_name(const char *s, int qualified)
{
    const char *dot = qualified ? strchr(s, '.') : NULL;
    if (dot)
        return plain_ident(s, (size_t)(dot - s)) && plain_ident(dot + 1, strlen(dot + 1));
    return plain_ident(s, strlen(s));
}

#define SAFE_HINT "letters, digits, _ and $, not starting with a digit, at most 63 bytes"

/* "stream 'x': ", "job 'x': " or "[sink x]: ": which use of the sink a message is about. */
static const char *scope(const sync_check *chk, char *buf, size_t size)
{
    if (chk->stream)
        snprintf(buf, size, "stream '%s': ", chk->stream);
    else if (chk->job)
        snprintf(buf, size, "job '%s': ", chk->job);
    else
        snprintf(buf, size, "[sink %s]: ", chk->instance ? chk->instance : "");
    return buf;
}

static int check_name(const sync_check *chk, const sync_config *cfg, const char *key, const char *what,
                      const char *name, int qualified)
{
    if (name == NULL || safe_name(name, qualified))
        return 0;
    char sc[200];
    problem(chk, cfg, key, "%s%s \"%s\" is not a plain identifier (%s%s)", scope(chk, sc, sizeof(sc)), what, name,
            SAFE_HINT, qualified ? "; schema.table allowed" : "");
    return 1;
}

/* Each item of a list option, or the part of each item before '=' (pairs). */
static int check_list(const sync_check *chk, const sync_config *cfg, const char *key, const char *what, int pairs,
                      int right)
{
    int bad = 0;
    size_t n = pgs_opt_count(cfg, key);
    for (size_t i = 0; i < n; i++) {
        const char *item = pgs_opt_item(cfg, key, i);
        if (!item)
            continue;
        char buf[256];
        const char *name = item;
        if (pairs) {
            const char *eq = strchr(item, '=');
            if (!eq)
                continue; /* the run reports a malformed pair itself */
            if (right) {
                name = eq + 1;
                if (strcmp(name, "-") == 0)
                    continue;
            } else {
                snprintf(buf, sizeof(buf), "%.*s", (int)(eq - item), item);
                name = buf;
            }
        }
        while (*name == ' ')
            name++;
        bad |= check_name(chk, cfg, key, what, name, 0);
    }
    return bad;
}

/* $N beyond sql_params in each statement of a hook option. */
static int check_params(const sync_check *chk, const sync_config *cfg, const char *key)
{
    int bad = 0;
    size_t n_params = pgs_opt_count(cfg, "sql_params");
    size_t n = pgs_opt_count(cfg, key);
    for (size_t i = 0; i < n; i++) {
        const char *sql = pgs_opt_item(cfg, key, i);
        unsigned char used[64];
        if (sql && pgs_sql_param_refs(sql, used, n_params < sizeof(used) ? n_params : sizeof(used)) < 0) {
            char sc[200];
            problem(chk, cfg, key, "%s%s statement %zu refers to a parameter beyond the %zu value(s) of sql_params",
                    scope(chk, sc, sizeof(sc)), key, i + 1, n_params);
            bad = 1;
        }
    }
    return bad;
}

static int check_run_log_values(const sync_check *chk, const sync_config *cfg)
{
    int bad = 0;
    size_t n_params = pgs_opt_count(cfg, "sql_params");
    size_t n = pgs_opt_count(cfg, "run_log_values");
    for (size_t i = 0; i < n; i++) {
        const char *item = pgs_opt_item(cfg, "run_log_values", i);
        const char *eq = item ? strchr(item, '=') : NULL;
        if (!eq || eq[1] != '$')
            continue;
        char *end;
        long k = strtol(eq + 2, &end, 10);
        if (*end == '\0' && (k < 1 || (size_t)k > n_params)) {
            char sc[200];
            problem(chk, cfg, "run_log_values", "%srun_log_values \"%s\" refers to $%ld but sql_params has %zu "
                    "value(s)", scope(chk, sc, sizeof(sc)), item, k, n_params);
            bad = 1;
        }
    }
    return bad | check_list(chk, cfg, "run_log_values", "run_log_values column", 1, 0);
}

int pgs_check(const sync_check *chk)
{
    int bad = 0;
    if (chk->is_source)
        return SYNC_OK;
    if (chk->job == NULL) {
        const sync_config *cfg = chk->config;
        bad |= check_name(chk, cfg, "state_schema", "state_schema", pgs_opt_string(cfg, "state_schema"), 0);
        bad |= check_name(chk, cfg, "state_table", "state_table", pgs_opt_string(cfg, "state_table"), 0);
        bad |= check_name(chk, cfg, "runs_table", "runs_table", pgs_opt_string(cfg, "runs_table"), 0);
    } else if (chk->stream == NULL) {
        const sync_config *cfg = chk->job_options;
        bad |= check_name(chk, cfg, "run_log_table", "run_log_table", pgs_opt_string(cfg, "run_log_table"), 1);
        bad |= check_list(chk, cfg, "run_log_columns", "run_log_columns column", 1, 1);
        bad |= check_run_log_values(chk, cfg);
        bad |= check_params(chk, cfg, "before_run_sql");
        bad |= check_params(chk, cfg, "after_run_sql");
    } else {
        const sync_config *cfg = chk->stream_options;
        bad |= check_name(chk, NULL, NULL, "target", chk->object, 1);
        for (size_t i = 0; i < chk->n_columns; i++) {
            const char *name = chk->columns[i].name;
            if (name != NULL && !safe_name(name, 0)) {
                char sc[200], msg[600];
                snprintf(msg, sizeof(msg), "%smapped column \"%s\" is not a plain identifier (%s)",
                         scope(chk, sc, sizeof(sc)), name, SAFE_HINT);
                chk->report(chk, chk->column_where ? chk->column_where[i] : NULL, msg);
                bad = 1;
            }
        }
        bad |= check_list(chk, cfg, "conflict_key", "conflict_key column", 0, 0);
        bad |= check_list(chk, cfg, "compare_exclude", "compare_exclude column", 0, 0);
        bad |= check_list(chk, cfg, "affected_columns", "affected_columns column", 0, 0);
        bad |= check_list(chk, cfg, "soft_delete_set", "soft_delete_set column", 1, 0);
        bad |= check_params(chk, cfg, "after_batch_sql");
    }
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

/* ------------------------------------------------------------------ probe */

/* Can a mapped value of type t ever be stored in a column of SQL type sqltype? */
static int type_fits(sync_type t, const char *sqltype)
{
    static const char *const texty[] = {"text", "character varying", "character", "name", "citext", NULL};
    for (size_t i = 0; texty[i]; i++)
        if (strncmp(sqltype, texty[i], strlen(texty[i])) == 0)
            return 1;
    switch (t) {
    case SYNC_TYPE_BOOL:
        return strcmp(sqltype, "boolean") == 0;
    case SYNC_TYPE_INT:
    case SYNC_TYPE_FLOAT:
        return strcmp(sqltype, "smallint") == 0 || strcmp(sqltype, "integer") == 0 ||
               strcmp(sqltype, "bigint") == 0 || strncmp(sqltype, "numeric", 7) == 0 ||
               strcmp(sqltype, "real") == 0 || strcmp(sqltype, "double precision") == 0 ||
               strcmp(sqltype, "money") == 0;
    case SYNC_TYPE_TIMESTAMP:
    case SYNC_TYPE_DATE:
        return strncmp(sqltype, "timestamp", 9) == 0 || strcmp(sqltype, "date") == 0;
    case SYNC_TYPE_JSON:
        return strcmp(sqltype, "json") == 0 || strcmp(sqltype, "jsonb") == 0;
    default:
        return 1; /* strings and expressions of varying type: the server decides per value */
    }
}

static const char *type_name(sync_type t)
{
    switch (t) {
    case SYNC_TYPE_BOOL: return "boolean";
    case SYNC_TYPE_INT: return "integer";
    case SYNC_TYPE_FLOAT: return "number";
    case SYNC_TYPE_TIMESTAMP: return "timestamp";
    case SYNC_TYPE_DATE: return "date";
    case SYNC_TYPE_JSON: return "JSON";
    default: return "string";
    }
}

/* Runs sql (or prepares it, when prepare) under a savepoint; reports a failure and keeps the transaction usable. */
static int try_sql(pgs_instance *in, const sync_check *chk, const sync_config *cfg, const char *key,
                   const char *what, const char *sql, int prepare, int nparams, const unsigned *types)
{
    pgs_err err;
    if (pgs_exec_cmd(&in->conn, "SAVEPOINT pgs_probe", &err) != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    PGresult *res = prepare ? PQprepare(in->conn.pg, "", sql, nparams, (const Oid *)types)
                            : PQexec(in->conn.pg, sql);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    int rc = SYNC_OK;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        pgs_err_from_result(&err, res, in->conn.pg);
        if (err.status == SYNC_E_UNAVAILABLE || err.status == SYNC_E_TIMEOUT) {
            PQclear(res);
            return pgs_fail(in->ctx, &err);
        }
        char sc[200];
        problem(chk, cfg, key, "%s%s: %s%s%s%s", scope(chk, sc, sizeof(sc)), what, err.message,
                err.sqlstate[0] ? " (SQLSTATE " : "", err.sqlstate, err.sqlstate[0] ? ")" : "");
        rc = SYNC_E_CONFIG;
    }
    PQclear(res);
    if (pgs_exec_cmd(&in->conn, "ROLLBACK TO SAVEPOINT pgs_probe", &err) != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    return rc;
}

static int probe_hooks(pgs_instance *in, const sync_check *chk, const sync_config *cfg, const char *key)
{
    int rc = SYNC_OK;
    size_t n = pgs_opt_count(cfg, key);
    for (size_t i = 0; i < n; i++) {
        const char *sql = pgs_opt_item(cfg, key, i);
        const char *values[64];
        unsigned types[64];
        pgs_err err;
        int np = pgs_hook_params(cfg, sql, key, i, values, types, 64, &err);
        if (np < 0)
            continue; /* reported offline */
        char what[96];
        snprintf(what, sizeof(what), "%s statement %zu", key, i + 1);
        int r = try_sql(in, chk, cfg, key, what, sql, 1, np, types);
        if (r != SYNC_OK && r != SYNC_E_CONFIG)
            return r;
        if (r != SYNC_OK)
            rc = r;
    }
    return rc;
}

static int probe_target(pgs_instance *in, const sync_check *chk)
{
    sync_target st;
    memset(&st, 0, sizeof(st));
    st.struct_size = sizeof(st);
    st.job = chk->job;
    st.stream = chk->stream;
    st.name = chk->object;
    st.columns = chk->columns;
    st.n_columns = chk->n_columns;
    st.options = chk->stream_options;
    pgs_target *t = NULL;
    int rc = pgs_target_prepare(in, &st, &t);
    if (rc != SYNC_OK)
        return rc; /* its message is in the context */
    int bad = 0;
    for (size_t i = 0; i < t->n_cols && i < chk->n_columns; i++) {
        if (!type_fits(chk->columns[i].type, t->cols[i].type)) {
            char msg[600];
            snprintf(msg, sizeof(msg), "stream '%s': column \"%s\" of table %s is %s, but the mapping gives it a %s",
                     chk->stream, t->cols[i].attname, t->display, t->cols[i].type, type_name(chk->columns[i].type));
            chk->report(chk, chk->column_where ? chk->column_where[i] : NULL, msg);
            bad = 1;
        }
    }
    const char *const stmts[] = {t->sql_stage_create, t->sql_affected_create};
    for (size_t i = 0; rc == SYNC_OK && i < 2; i++) {
        if (stmts[i] == NULL || (i == 1 && t->n_after_batch == 0))
            continue;
        pgs_err err;
        rc = pgs_exec_cmd(&in->conn, stmts[i], &err);
        if (rc != SYNC_OK)
            rc = pgs_fail(in->ctx, &err);
    }
    const char *const writes[] = {t->sql_upsert, t->sql_delete};
    for (size_t i = 0; rc == SYNC_OK && i < 2; i++) {
        if (writes[i] == NULL)
            continue;
        int r = try_sql(in, chk, NULL, NULL, i ? "the delete statement" : "the upsert statement", writes[i], 1,
                        0, NULL);
        if (r != SYNC_OK && r != SYNC_E_CONFIG)
            rc = r;
        else if (r != SYNC_OK)
            bad = 1;
    }
    if (rc == SYNC_OK) {
        int r = probe_hooks(in, chk, chk->stream_options, "after_batch_sql");
        if (r != SYNC_OK && r != SYNC_E_CONFIG)
            rc = r;
        else if (r != SYNC_OK)
            bad = 1;
    }
    pgs_target_free(t);
    return rc != SYNC_OK ? rc : bad ? SYNC_E_CONFIG : SYNC_OK;
}

int pgs_probe(void *instance, const sync_check *chk)
{
    pgs_instance *in = instance;
    if (chk->is_source || chk->job == NULL)
        return SYNC_OK;
    pgs_err err;
    if (pgs_exec_cmd(&in->conn, "BEGIN", &err) != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    int rc;
    if (chk->stream == NULL) {
        rc = pgs_run_probe(in, chk->job_options);
        int bad = rc == SYNC_E_CONFIG || rc == SYNC_E_SCHEMA;
        if (rc == SYNC_OK || bad) {
            int r = probe_hooks(in, chk, chk->job_options, "before_run_sql");
            if (r == SYNC_OK || r == SYNC_E_CONFIG)
                r = probe_hooks(in, chk, chk->job_options, "after_run_sql") == SYNC_OK && r == SYNC_OK
                        ? SYNC_OK : SYNC_E_CONFIG;
            if (rc == SYNC_OK)
                rc = r;
        }
    } else {
        rc = probe_target(in, chk);
    }
    pgs_err e2;
    pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
    return rc;
}
