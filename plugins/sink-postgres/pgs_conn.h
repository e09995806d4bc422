/*
 * pgs_conn.h - the PostgreSQL connector's libpq connection (pgs_conn.c).
 *
 * Layer 1, above pgs_host.h and the pure pgs_sql.h: opening a connection,
 * noticing that it broke and reconnecting, running statements, opening
 * transactions that rely on nothing of the session, and classifying server
 * errors (SQLSTATE) into sync statuses -- in one place.
 */
#ifndef PGS_CONN_H
#define PGS_CONN_H

#include <stdint.h>

#include <libpq-fe.h>

#include "pgs_host.h"

typedef struct pgs_conn {
    sync_ctx *ctx;
    PGconn *pg;
    char *conninfo;            /* secret: never logged */
    char *application_name;
    int64_t statement_timeout_ms;
    int64_t connect_timeout_ms;
    unsigned generation;       /* bumped on every successful (re)connect */
} pgs_conn;

/* Opens the connection once (no retries).  SYNC_E_UNAVAILABLE when the server is unreachable. */
int pgs_conn_open(pgs_conn *c);
/*
 * Makes sure the connection is usable: when it is broken, connects once (no
 * loop, no sleep: the engine owns the retry policy and calls again after its
 * backoff).  SYNC_OK, or SYNC_E_UNAVAILABLE (SYNC_E_AUTH, SYNC_E_CONFIG,
 * SYNC_E_CANCELLED) with err filled.
 */
int pgs_conn_ensure(pgs_conn *c, pgs_err *err);
void pgs_conn_close(pgs_conn *c);
/* Non-zero when the connection is gone (the last error was a connection loss). */
int pgs_conn_lost(const pgs_conn *c);

/*
 * Runs one statement with text parameters whose types the server infers
 * (types may be NULL).  Returns the result (PGRES_COMMAND_OK / TUPLES_OK) or
 * NULL after filling err (err->status is the classified sync_status).
 */
PGresult *pgs_exec(pgs_conn *c, const char *sql, int nparams, const char *const *params,
                   const unsigned *types, pgs_err *err);
/* Same, for statements without parameters or results of interest.  Returns a sync_status. */
int pgs_exec_cmd(pgs_conn *c, const char *sql, pgs_err *err);
/*
 * Opens a transaction that relies on nothing of the session: BEGIN and SET
 * LOCAL statement_timeout in one round trip, so that it behaves the same on a
 * direct connection and through a transaction-mode pooler.
 */
int pgs_tx_begin(pgs_conn *c, pgs_err *err);
/* The same, with extra (statements without parameters, ";"-separated, or NULL) in the same round trip. */
int pgs_tx_begin_with(pgs_conn *c, const char *extra, pgs_err *err);

/* Maps a SQLSTATE to a sync status. */
int pgs_sqlstate_status(const char *sqlstate);
/* Fills err from a failed result (message, SQLSTATE, column, constraint). */
void pgs_err_from_result(pgs_err *err, const PGresult *res, PGconn *pg);

#endif /* PGS_CONN_H */
