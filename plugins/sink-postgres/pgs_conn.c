/*
 * pgs_conn.c - the connector's libpq connection.
 *
 * One connection per instance.  It is opened once at open() (a server that is
 * down then is SYNC_E_UNAVAILABLE: the engine retries the run later) and
 * re-established, once per call, by the first call that finds it broken
 * (pgs_conn_ensure).  Nothing here loops or sleeps: a failure is classified
 * (SQLSTATE or connection state into a sync status) and returned, and the
 * engine, which owns the retry policy, tries the batch again after its
 * backoff -- so a database restart costs a retried batch, not a failed run.
 * Every session gets the configured application_name (visible in
 * pg_stat_activity); statement_timeout is set per transaction (SET LOCAL in
 * pgs_tx_begin), and nothing else of a session is relied upon by a later
 * transaction, so the connector works through a transaction-mode pooler.
 * The conninfo may hold a password: it is never logged.  libpq echoes pieces
 * of a connection string it cannot use (`invalid percent-encoded token:
 * "bad%zzSecret"`, `missing "=" after "word"`), so a failed connection's
 * message has its quoted tokens masked where they could be the password (see
 * conn_message); the host's log also redacts the conninfo and the password
 * inside it.  Server errors are classified by SQLSTATE into sync statuses
 * here, in one place.
 */
#include "pgs_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Server notices (e.g. "relation exists, skipping") go to the debug log, not stderr. */
static void notice_to_log(void *arg, const char *message)
{
    pgs_conn *c = arg;
    size_t n = strlen(message);
    while (n && message[n - 1] == '\n')
        n--;
    pgs_host->log(c->ctx, SYNC_LOG_DEBUG, "server: %.*s", (int)n, message);
}

/* Is WORD[0..n) one of libpq's connection keywords (safe to show)? */
static int is_conn_keyword(const char *word, size_t n)
{
    PQconninfoOption *opts = PQconndefaults();
    int found = 0;
    for (PQconninfoOption *o = opts; o && o->keyword && !found; o++)
        found = strlen(o->keyword) == n && strncmp(o->keyword, word, n) == 0;
    PQconninfoFree(opts);
    return found;
}

/*
 * Copies libpq's connection failure MSG into OUT with every double-quoted
 * token masked ("***") that may be a piece of the password: when the
 * conninfo parses, a token that contains the password or lies inside it;
 * when it does not (the password is then unknown), every token that is not a
 * libpq keyword.  Host names, users, databases and socket paths stay.
 */
static void conn_message(const char *conninfo, const char *msg, char *out, size_t size)
{
    char *perr = NULL;
    const char *password = NULL;
    int parsed = 1;
    PQconninfoOption *opts = NULL;
    int expanded = strchr(conninfo, '=') != NULL || strncmp(conninfo, "postgresql://", 13) == 0 ||
                   strncmp(conninfo, "postgres://", 11) == 0;
    if (expanded) {
        opts = PQconninfoParse(conninfo, &perr);
        parsed = opts != NULL;
        for (PQconninfoOption *o = opts; o && o->keyword; o++)
            if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
                password = o->val;
    }
    size_t n = 0;
    for (const char *p = msg; *p && n + 1 < size;) {
        const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
        if (end == NULL) {
            out[n++] = *p++;
            continue;
        }
        size_t len = (size_t)(end - p - 1);
        int mask;
        if (!parsed)
            mask = !is_conn_keyword(p + 1, len);
        else if (password != NULL)
            mask = (len > 0 && memmem(password, strlen(password), p + 1, len) != NULL) ||
                   memmem(p + 1, len, password, strlen(password)) != NULL;
        else
            mask = 0;
        n += (size_t)snprintf(out + n, size - n, "\"%.*s\"", mask ? 3 : (int)len, mask ? "***" : p + 1);
        if (n >= size)
            n = size - 1;
        p = end + 1;
    }
    out[n] = '\0';
    PQconninfoFree(opts);
    PQfreemem(perr);
}

static int connect_once(pgs_conn *c, pgs_err *err)
{
    char timeout[32];
    /* libpq takes whole seconds; round up so "500ms" does not mean "forever" (0) */
    snprintf(timeout, sizeof(timeout), "%lld", (long long)((c->connect_timeout_ms + 999) / 1000));
    const char *keys[] = {"dbname", "application_name", "connect_timeout", "client_encoding", NULL};
    const char *vals[] = {c->conninfo, c->application_name, timeout, "UTF8", NULL};

    if (c->pg) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    /* expand_dbname = 1: conninfo may be "host=... dbname=..." or a postgresql:// URI */
    PGconn *pg = PQconnectdbParams(keys, vals, 1);
    if (!pg) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory creating a database connection");
        return err->status;
    }
    if (PQstatus(pg) != CONNECTION_OK) {
        char msg[512];
        conn_message(c->conninfo, PQerrorMessage(pg), msg, sizeof(msg));
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
            msg[--n] = '\0';
        /* a rejected password or a wrong database name is permanent; anything
         * else (refused, timed out, starting up) goes away by itself */
        int status = SYNC_E_UNAVAILABLE;
        if (strstr(msg, "password authentication failed") || strstr(msg, "no pg_hba.conf entry"))
            status = SYNC_E_AUTH;
        else if (strstr(msg, "does not exist") || strstr(msg, "invalid connection option") ||
                 strstr(msg, "invalid URI"))
            status = SYNC_E_CONFIG;
        pgs_err_set(err, status, "could not connect to the database: %s", msg);
        PQfinish(pg);
        return status;
    }
    PQsetNoticeProcessor(pg, notice_to_log, c);
    c->pg = pg;
    /* nothing is SET for the session: through a transaction-mode pooler the
     * next transaction may run on another server session (pgs_tx_begin sets
     * statement_timeout per transaction instead) */
    c->generation++;
    return SYNC_OK;
}

int pgs_conn_open(pgs_conn *c)
{
    pgs_err err;
    int rc = connect_once(c, &err);
    if (rc != SYNC_OK)
        return pgs_fail(c->ctx, &err);
    pgs_host->log(c->ctx, SYNC_LOG_DEBUG, "connected to PostgreSQL %d (server pid %d)",
                  PQserverVersion(c->pg), PQbackendPID(c->pg));
    return SYNC_OK;
}

int pgs_conn_lost(const pgs_conn *c)
{
    return !c->pg || PQstatus(c->pg) != CONNECTION_OK;
}

/*
 * One connect when the connection is found broken: no loop and no sleep
 * here.  The engine owns the retry policy (job option write_attempts, its
 * backoff in core/pipeline.c): a failure is classified and returned, and the
 * engine calls again after its wait.
 */
int pgs_conn_ensure(pgs_conn *c, pgs_err *errp)
{
    if (!pgs_conn_lost(c))
        return SYNC_OK;
    if (pgs_host->cancelled(c->ctx)) {
        pgs_err_set(errp, SYNC_E_CANCELLED, "cancelled while reconnecting to the database");
        return SYNC_E_CANCELLED;
    }
    pgs_err err;
    int rc = connect_once(c, &err);
    if (rc == SYNC_OK) {
        pgs_host->log(c->ctx, SYNC_LOG_INFO, "reconnected to the database");
        pgs_host->counter_add(c->ctx, "db_reconnects", 1);
        return SYNC_OK;
    }
    /* a down database is retryable whatever libpq said; a rejected login or
     * a wrong database name is not */
    if (err.status != SYNC_E_AUTH && err.status != SYNC_E_CONFIG && err.status != SYNC_E_NOMEM)
        err.status = SYNC_E_UNAVAILABLE;
    pgs_err_prefix(&err, "database connection lost; reconnecting failed: ");
    *errp = err;
    return err.status;
}

void pgs_conn_close(pgs_conn *c)
{
    if (c->pg)
        PQfinish(c->pg);
    c->pg = NULL;
}

int pgs_sqlstate_status(const char *s)
{
    if (!s || !*s)
        return SYNC_E_UNAVAILABLE; /* no SQLSTATE: the connection failed */
    if (strncmp(s, "08", 2) == 0 || strcmp(s, "57P01") == 0 || strcmp(s, "57P02") == 0 ||
        strcmp(s, "57P03") == 0 || strncmp(s, "53", 2) == 0)
        return SYNC_E_UNAVAILABLE;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0 || strcmp(s, "55P03") == 0)
        return SYNC_E_CONFLICT;
    if (strcmp(s, "57014") == 0)
        return SYNC_E_TIMEOUT;
    if (strncmp(s, "28", 2) == 0)
        return SYNC_E_AUTH;
    /* a missing privilege is not a rejected login: the role is configured short of a grant */
    if (strcmp(s, "42501") == 0)
        return SYNC_E_CONFIG;
    if (strcmp(s, "42P01") == 0 || strcmp(s, "42703") == 0 || strcmp(s, "3F000") == 0)
        return SYNC_E_SCHEMA;
    if (strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0)
        return SYNC_E_DATA;
    return SYNC_ERROR;
}

/* COPY errors name the column only in the context line: "COPY t, line 3, column email: ...". */
static void column_from_context(pgs_err *err, const char *ctx)
{
    const char *p = ctx ? strstr(ctx, ", column ") : NULL;
    if (!p)
        return;
    p += 9;
    const char *end = strchr(p, ':');
    if (!end)
        end = p + strcspn(p, "\n");
    size_t n = (size_t)(end - p);
    if (n >= sizeof(err->column))
        n = sizeof(err->column) - 1;
    memcpy(err->column, p, n);
    err->column[n] = '\0';
}

void pgs_err_from_result(pgs_err *err, const PGresult *res, PGconn *pg)
{
    memset(err, 0, sizeof(*err));
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
    const char *column = res ? PQresultErrorField(res, PG_DIAG_COLUMN_NAME) : NULL;
    const char *constraint = res ? PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME) : NULL;
    if (state)
        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", state);
    if (column)
        snprintf(err->column, sizeof(err->column), "%s", column);
    else if (res)
        column_from_context(err, PQresultErrorField(res, PG_DIAG_CONTEXT));
    if (!primary) {
        const char *m = pg ? PQerrorMessage(pg) : "";
        primary = *m ? m : "database connection lost";
    }
    /* libpq's own messages span lines ("server closed the connection...\n\tThis probably...") */
    size_t n = 0;
    for (const char *p = primary; *p && n + 1 < sizeof(err->message); p++) {
        char ch = (*p == '\n' || *p == '\t' || *p == '\r') ? ' ' : *p;
        if (ch == ' ' && (n == 0 || err->message[n - 1] == ' '))
            continue;
        err->message[n++] = ch;
    }
    while (n && err->message[n - 1] == ' ')
        n--;
    err->message[n] = '\0';
    if (constraint && n < sizeof(err->message))
        n += (size_t)snprintf(err->message + n, sizeof(err->message) - n, " (constraint %s)",
                              constraint);
    /* "Key (email)=(x) already exists." helps; a whole "Failing row contains (...)" does not */
    if (detail && strlen(detail) < 200 && strncmp(detail, "Failing row", 11) != 0 &&
        n < sizeof(err->message))
        snprintf(err->message + n, sizeof(err->message) - n, ": %s", detail);
    n = strlen(err->message);
    if (state && strcmp(state, "42501") == 0 && n < sizeof(err->message))
        snprintf(err->message + n, sizeof(err->message) - n,
                 "; role \"%s\" needs that privilege: grant it as the owner (docs/security.md lists what the "
                 "engine needs; `syncengine setup` creates the engine's own tables)",
                 pg ? PQuser(pg) : "?");
    if (pg && PQstatus(pg) != CONNECTION_OK)
        err->status = SYNC_E_UNAVAILABLE;
    else
        err->status = pgs_sqlstate_status(err->sqlstate);
}

PGresult *pgs_exec(pgs_conn *c, const char *sql, int nparams, const char *const *params,
                   const unsigned *types, pgs_err *err)
{
    if (!c->pg) {
        pgs_err_set(err, SYNC_E_UNAVAILABLE, "no database connection");
        return NULL;
    }
    PGresult *res = PQexecParams(c->pg, sql, nparams, (const Oid *)types, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return res;
    pgs_err_from_result(err, res, c->pg);
    PQclear(res);
    return NULL;
}

int pgs_exec_cmd(pgs_conn *c, const char *sql, pgs_err *err)
{
    PGresult *res = pgs_exec(c, sql, 0, NULL, NULL, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}

int pgs_tx_begin(pgs_conn *c, pgs_err *err)
{
    return pgs_tx_begin_with(c, NULL, err);
}

int pgs_tx_begin_with(pgs_conn *c, const char *extra, pgs_err *err)
{
    if (!c->pg) {
        pgs_err_set(err, SYNC_E_UNAVAILABLE, "no database connection");
        return err->status;
    }
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "BEGIN; SET LOCAL statement_timeout = %lld", (long long)c->statement_timeout_ms);
    if (extra)
        pgs_buf_printf(&b, "; %s", extra);
    char *sql = pgs_buf_take(&b);
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    /* simple protocol: every statement in one round trip; the first error stops the rest */
    PGresult *res = PQexec(c->pg, sql);
    free(sql);
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK) {
        PQclear(res);
        return SYNC_OK;
    }
    pgs_err_from_result(err, res, c->pg);
    PQclear(res);
    if (!pgs_conn_lost(c)) {
        res = PQexec(c->pg, "ROLLBACK");
        PQclear(res);
    }
    return err->status ? err->status : SYNC_ERROR;
}
