/*
 * pgs_write.c - stores one batch: COPY into staging, one set-based upsert.
 *
 * A batch is one transaction:
 *
 *   1. the records are encoded once, client side, as COPY text lines
 *      (seq, op, mapped columns in the target's column order);
 *   2. COPY into a staging table typed like the target, created in the
 *      transaction and dropped at its end (ON COMMIT DROP: nothing outlives
 *      the transaction, so a transaction-mode pooler may hand each batch to
 *      any server session), so the server converts and checks every value;
 *   3. superseded rows go (a key seen twice in a batch keeps its last row);
 *   4. one INSERT ... SELECT ... ON CONFLICT DO UPDATE ... WHERE (columns)
 *      IS DISTINCT FROM (new values) RETURNING (xmax = 0): unchanged rows
 *      are not rewritten, and inserted / updated are counted exactly;
 *      then deletes according to delete_mode;
 *   5. after_batch_sql hooks (sync_affected lists the keys and actions),
 *      the cursor, the run's progress counts, COMMIT.
 *
 * The transaction starts by proving that this process still holds the job's
 * lease (pgs_job_begin); a lost lease fails the batch for good.
 *
 * A record the database refuses must not sink its batch.  Each COPY and each
 * apply step runs under a savepoint; when one fails with an error caused by
 * data (SQLSTATE classes 22 and 23, ...), the range is split in halves until
 * the offending records are alone, those are set aside and the rest is stored.
 * Rejections are reported to the host only after COMMIT, so a retried batch
 * never reports a record twice.  The write does not retry: when the
 * connection breaks (nothing of the batch was committed) it returns
 * SYNC_E_UNAVAILABLE, on a deadlock or serialization failure
 * SYNC_E_CONFLICT, and the engine -- the one owner of the retry policy --
 * calls it again after its backoff; the next call reconnects first.
 */
#include "pgs_write.h"

#include "pgs_hooks.h"
#include "pgs_purge.h"
#include "pgs_state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


typedef struct wctx {
    pgs_instance *in;
    pgs_target *t;
    const sync_batch *batch;
    size_t n;
    pgs_buf data;         /* COPY lines of every record */
    size_t *off;          /* record i's line is data[off[i] .. off[i+1]) (empty when set aside) */
    char **client_rej;    /* rejected before reaching the server (encoding, missing key) */
    char **db_rej;        /* rejected by the server in the current attempt */
    int64_t ins, upd, del;
    int64_t n_deletes;    /* delete records in the batch */
    const char **seen;    /* per column: a field name pointer known to spell that column's name */
    int64_t n_nul_fixed;  /* values whose NUL characters were stripped or replaced (text_nul) */
} wctx;

/* ------------------------------------------------------------ encoding */

static char *dupf(const char *fmt, ...) SYNC_PRINTF(1, 2);

static char *dupf(const char *fmt, ...)
{
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    return strdup(buf);
}

/*
 * The value of column j in rec: by position when the layout matches, else by
 * name.  Field names are interned per batch, so once a name pointer was found
 * to spell column j, the same pointer in later records of the batch matches
 * without comparing strings (30 columns by a million records otherwise).
 */
static int column_value(wctx *w, const sync_record *rec, size_t j, sync_value *v)
{
    const pgs_target *t = w->t;
    const char *fname = NULL;
    if (j < pgs_host->record_field_count(rec) &&
        pgs_host->record_field_at(rec, j, &fname, v) == SYNC_OK && fname &&
        (fname == w->seen[j] || strcmp(fname, t->cols[j].name) == 0)) {
        w->seen[j] = fname;
        return SYNC_OK;
    }
    if (pgs_host->record_get(rec, t->cols[j].name, v) == SYNC_OK)
        return SYNC_OK;
    v->type = SYNC_TYPE_NULL; /* absent: the column gets NULL */
    return SYNC_E_NOTFOUND;
}

/* Encodes record i at the end of w->data; on a problem sets client_rej[i] and leaves nothing. */
static int encode_record(wctx *w, size_t i)
{
    const pgs_target *t = w->t;
    pgs_buf *line = &w->data;
    const size_t start = line->len;
    const sync_record *rec = pgs_host->batch_get(w->batch, i);
    int is_delete = pgs_host->record_op(rec) == SYNC_OP_DELETE;
    int64_t fixed = 0;
    pgs_buf_add_int(line, (int64_t)i);
    pgs_buf_add(line, is_delete ? "\t1" : "\t0", 2);
    for (size_t j = 0; j < t->n_cols; j++) {
        sync_value v;
        int have = column_value(w, rec, j, &v);
        int is_key = t->sqlcols[j].is_key;
        if (is_delete && !is_key) {
            pgs_buf_add(line, "\t\\N", 3); /* a delete needs only its key */
            continue;
        }
        if (is_key && v.type == SYNC_TYPE_NULL) {
            const char *rk = pgs_host->record_key(rec);
            if (is_delete && have != SYNC_OK && t->n_keys == 1 && rk && *rk) {
                /* a bare delete (only the source key is known) of a one-column key */
                v.type = SYNC_TYPE_STRING;
                v.u.str.ptr = rk;
                v.u.str.len = strlen(rk);
            } else {
                line->len = start;
                w->client_rej[i] = dupf("table %s, column %s: conflict key value is %s", t->display,
                                        t->cols[j].attname, have == SYNC_OK ? "null" : "missing");
                return w->client_rej[i] ? SYNC_OK : SYNC_E_NOMEM;
            }
        }
        const char *why = NULL;
        pgs_buf_add(line, "\t", 1);
        int enc = pgs_copy_value_nul(line, &v, &w->in->nul, &why);
        if (enc < 0) {
            line->len = start;
            w->client_rej[i] = dupf("table %s, column %s: %s", t->display, t->cols[j].attname, why);
            return w->client_rej[i] ? SYNC_OK : SYNC_E_NOMEM;
        }
        fixed += enc;
    }
    pgs_buf_add(line, "\n", 1);
    if (line->oom)
        return SYNC_E_NOMEM;
    w->n_deletes += is_delete;
    w->n_nul_fixed += fixed;
    return SYNC_OK;
}

static int encode_batch(wctx *w)
{
    int rc = SYNC_OK;
    for (size_t i = 0; i < w->n && rc == SYNC_OK; i++) {
        w->off[i] = w->data.len;
        rc = encode_record(w, i);
    }
    w->off[w->n] = w->data.len;
    if (w->n)
        w->t->line_bytes_hint = w->data.len / w->n + 16;
    return rc;
}

/* ------------------------------------------------------------ statements */

static int cmd(wctx *w, const char *sql, pgs_err *err)
{
    return pgs_exec_cmd(&w->in->conn, sql, err);
}

static void rollback_to(wctx *w)
{
    pgs_err e;
    if (cmd(w, "ROLLBACK TO SAVEPOINT pgs_range", &e) == SYNC_OK)
        cmd(w, "RELEASE SAVEPOINT pgs_range", &e);
}

/* Sets a record aside with the server's message (reported after COMMIT). */
static int db_reject(wctx *w, size_t i, const pgs_err *err)
{
    free(w->db_rej[i]);
    if (err->column[0])
        w->db_rej[i] = dupf("table %s, column %s: %s (SQLSTATE %s)", w->t->display, err->column,
                            err->message, err->sqlstate);
    else
        w->db_rej[i] = dupf("table %s: %s (SQLSTATE %s)", w->t->display, err->message, err->sqlstate);
    return w->db_rej[i] ? SYNC_OK : SYNC_E_NOMEM;
}

/* COPY the lines of records lo..hi (inclusive). */
static int copy_lines(wctx *w, size_t lo, size_t hi, pgs_err *err)
{
    PGconn *pg = w->in->conn.pg;
    PGresult *res = PQexec(pg, w->t->sql_copy);
    if (!res || PQresultStatus(res) != PGRES_COPY_IN) {
        pgs_err_from_result(err, res, pg);
        PQclear(res);
        return err->status;
    }
    PQclear(res);
    const char *p = w->data.p + w->off[lo];
    size_t len = w->off[hi + 1] - w->off[lo];
    const size_t chunk = 1u << 20;
    int ok = 1;
    for (size_t o = 0; o < len && ok; o += chunk)
        ok = PQputCopyData(pg, p + o, (int)(len - o < chunk ? len - o : chunk)) == 1;
    if (PQputCopyEnd(pg, ok ? NULL : "client failed to send data") != 1)
        ok = 0;
    int rc = SYNC_OK;
    while ((res = PQgetResult(pg)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == SYNC_OK) {
            pgs_err_from_result(err, res, pg);
            rc = err->status ? err->status : SYNC_ERROR;
        }
        PQclear(res);
        if (PQstatus(pg) != CONNECTION_OK)
            break;
    }
    if (rc == SYNC_OK && (!ok || PQstatus(pg) != CONNECTION_OK)) {
        pgs_err_from_result(err, NULL, pg);
        rc = err->status;
    }
    return rc;
}

/* Stages records lo..hi, bisecting around records whose values the server refuses. */
static int stage_range(wctx *w, size_t lo, size_t hi, pgs_err *err)
{
    if (w->off[hi + 1] == w->off[lo])
        return SYNC_OK; /* every record in the range was set aside already */
    int rc = cmd(w, "SAVEPOINT pgs_range", err);
    if (rc != SYNC_OK)
        return rc;
    rc = copy_lines(w, lo, hi, err);
    if (rc == SYNC_OK)
        return cmd(w, "RELEASE SAVEPOINT pgs_range", err);
    if (pgs_conn_lost(&w->in->conn) || !pgs_sqlstate_is_record_level(err->sqlstate))
        return rc;
    rollback_to(w);
    if (lo == hi)
        return db_reject(w, lo, err);
    size_t mid = lo + (hi - lo) / 2;
    rc = stage_range(w, lo, mid, err);
    return rc == SYNC_OK ? stage_range(w, mid + 1, hi, err) : rc;
}

static int64_t field_i64(const PGresult *res, int col)
{
    return PQntuples(res) > 0 && !PQgetisnull(res, 0, col) ? strtoll(PQgetvalue(res, 0, col), NULL, 10) : 0;
}

/* Upserts and deletes the staged rows with lo <= seq <= hi; bisects on data errors. */
static int apply_range(wctx *w, size_t lo, size_t hi, pgs_err *err)
{
    pgs_target *t = w->t;
    char slo[24], shi[24];
    snprintf(slo, sizeof(slo), "%zu", lo);
    snprintf(shi, sizeof(shi), "%zu", hi);
    const char *params[3 + 64];
    params[0] = slo;
    params[1] = shi;
    size_t n_params = 2;
    if (t->delete_mode == PGS_DELETE_SOFT)
        for (size_t i = 0; i < t->n_soft && i < 64; i++)
            params[n_params++] = t->soft_vals[i];

    int rc = cmd(w, "SAVEPOINT pgs_range", err);
    if (rc != SYNC_OK)
        return rc;
    int64_t ins = 0, upd = 0, del = 0;
    PGresult *res = pgs_exec(&w->in->conn, t->prefilter ? t->sql_upsert_pre : t->sql_upsert, 2, params, NULL,
                             err);
    if (res) {
        ins = field_i64(res, 0);
        upd = field_i64(res, 1);
        PQclear(res);
        if (t->sql_delete && w->n_deletes) {
            res = pgs_exec(&w->in->conn, t->sql_delete, (int)n_params, params, NULL, err);
            if (res) {
                del = field_i64(res, 0);
                PQclear(res);
            }
        }
    }
    if (res) {
        w->ins += ins;
        w->upd += upd;
        w->del += del;
        return cmd(w, "RELEASE SAVEPOINT pgs_range", err);
    }
    if (pgs_conn_lost(&w->in->conn) || !pgs_sqlstate_is_record_level(err->sqlstate))
        return err->status;
    rollback_to(w);
    if (lo == hi) {
        rc = db_reject(w, lo, err);
        if (rc != SYNC_OK)
            return rc;
        /* out of staging, so it is neither counted nor listed in sync_affected */
        res = pgs_exec(&w->in->conn, t->sql_unstage, 1, params, NULL, err);
        if (!res)
            return err->status;
        PQclear(res);
        return SYNC_OK;
    }
    size_t mid = lo + (hi - lo) / 2;
    rc = apply_range(w, lo, mid, err);
    return rc == SYNC_OK ? apply_range(w, mid + 1, hi, err) : rc;
}

/* ------------------------------------------------------------ one attempt */

/*
 * The batch's counts, as pgs_write reports them after COMMIT: processed,
 * inserted, updated, unchanged, deleted, failed.
 */
static void batch_counts(const wctx *w, int64_t out[6])
{
    int64_t failed = 0;
    for (size_t i = 0; i < w->n; i++)
        failed += w->client_rej[i] || w->db_rej[i];
    out[0] = (int64_t)w->n;
    out[1] = w->ins;
    out[2] = w->upd;
    out[3] = (int64_t)w->n - w->ins - w->upd - w->del - failed;
    out[4] = w->del;
    out[5] = failed;
}

/*
 * One transaction, relying on nothing the session kept from an earlier one
 * (a transaction-mode pooler may run each on another server session): the
 * lease is checked first, and the staging table and sync_affected are
 * created in it and dropped by its COMMIT or ROLLBACK.
 */
static int attempt(wctx *w, const sync_cursor *cursor, pgs_err *err)
{
    pgs_target *t = w->t;
    w->ins = w->upd = w->del = 0;
    for (size_t i = 0; i < w->n; i++) {
        free(w->db_rej[i]);
        w->db_rej[i] = NULL;
    }
    /* with BEGIN, in one round trip: constraint violations must surface at
     * the statement that causes them, where they can be pinned to a record,
     * not at COMMIT; then the transaction's own staging tables */
    pgs_buf pre;
    pgs_buf_init(&pre);
    pgs_buf_printf(&pre, "SET CONSTRAINTS ALL IMMEDIATE; %s", t->sql_stage_create);
    if (t->n_after_batch)
        pgs_buf_printf(&pre, "; %s", t->sql_affected_create);
    char *extra = pgs_buf_take(&pre);
    if (!extra) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    int rc = pgs_job_begin_with(w->in, t->job, extra, err);
    free(extra);
    if (rc == SYNC_OK && w->n)
        rc = stage_range(w, 0, w->n - 1, err);
    if (rc == SYNC_OK && w->n)
        rc = cmd(w, t->sql_dedupe, err);
    if (rc == SYNC_OK && w->n)
        rc = apply_range(w, 0, w->n - 1, err);
    if (rc == SYNC_OK && w->n && t->n_after_batch && t->aff.unchanged)
        rc = cmd(w, t->sql_affected_unchanged, err);
    if (rc == SYNC_OK && w->n && t->sql_affected_trim)
        rc = cmd(w, t->sql_affected_trim, err);
    if (rc == SYNC_OK && t->n_after_batch)
        rc = pgs_hooks_run(&w->in->conn, t->options, "after_batch_sql", err);
    if (rc == SYNC_OK && w->n)
        rc = pgs_purge_batch(w->in, t, err); /* a full refresh lists what it stored */
    if (rc == SYNC_OK && cursor && cursor->value)
        rc = pgs_state_save(w->in, cursor, err);
    if (rc == SYNC_OK && w->n) {
        int64_t counts[6];
        batch_counts(w, counts);
        rc = pgs_progress_add(w->in, t->job, t->stream, counts, err);
    }
    if (rc == SYNC_OK)
        rc = cmd(w, "COMMIT", err);
    return rc;
}

/* ------------------------------------------------------------ write */

static void wctx_free(wctx *w)
{
    for (size_t i = 0; w->client_rej && i < w->n; i++)
        free(w->client_rej[i]);
    for (size_t i = 0; w->db_rej && i < w->n; i++)
        free(w->db_rej[i]);
    free(w->client_rej);
    free(w->db_rej);
    free(w->off);
    free(w->seen);
    pgs_buf_free(&w->data);
}

int pgs_write(pgs_instance *in, pgs_target *t, const sync_batch *batch, const sync_cursor *cursor,
              sync_write_result *result)
{
    wctx w;
    pgs_err err;
    memset(&w, 0, sizeof(w));
    memset(result, 0, sizeof(*result));
    w.in = in;
    w.t = t;
    w.batch = batch;
    w.n = pgs_host->batch_count(batch);
    pgs_buf_init(&w.data);
    w.off = calloc(w.n + 1, sizeof(size_t));
    w.client_rej = calloc(w.n ? w.n : 1, sizeof(char *));
    w.db_rej = calloc(w.n ? w.n : 1, sizeof(char *));
    w.seen = calloc(t->n_cols ? t->n_cols : 1, sizeof(char *));
    /* the size of the previous batch's lines: the buffer grows once, not a dozen times */
    if (pgs_buf_reserve(&w.data, w.n * t->line_bytes_hint) < 0) {
        pgs_buf_free(&w.data); /* only a hint: grow as needed instead */
        pgs_buf_init(&w.data);
    }
    if (!w.off || !w.client_rej || !w.db_rej || !w.seen || encode_batch(&w) != SYNC_OK) {
        wctx_free(&w);
        return SYNC_E_NOMEM;
    }

    /* one try: a failure is classified (SYNC_E_UNAVAILABLE for a lost
     * connection, SYNC_E_CONFLICT for a deadlock or serialization failure,
     * ...) and returned; the engine owns the retry policy */
    int rc = pgs_session_ready(in, &err);
    if (rc == SYNC_OK) {
        rc = attempt(&w, cursor, &err);
        if (rc != SYNC_OK && !pgs_conn_lost(&in->conn)) {
            pgs_err e2;
            cmd(&w, "ROLLBACK", &e2);
        } else if (rc != SYNC_OK && rc != SYNC_E_NOMEM) {
            /* the connection went during the batch: whatever the step said,
             * nothing is known to be committed, and a new try may succeed */
            rc = err.status = SYNC_E_UNAVAILABLE;
        }
    }
    if (rc != SYNC_OK) {
        if (err.status == SYNC_OK)
            err.status = rc;
        pgs_err_prefix(&err, "writing %zu record(s) to %s failed: ", w.n, t->display);
        rc = pgs_fail(in->ctx, &err);
        wctx_free(&w);
        return rc;
    }

    int used_prefilter = t->prefilter;
    /* committed: now the rejections are final */
    for (size_t i = 0; i < w.n; i++) {
        const char *why = w.client_rej[i] ? w.client_rej[i] : w.db_rej[i];
        if (!why)
            continue;
        pgs_host->record_reject(in->ctx, pgs_host->batch_get(batch, i), "%s", why);
        result->failed++;
    }
    result->inserted = w.ins;
    result->updated = w.upd;
    result->deleted = w.del;
    /* unchanged rows, superseded duplicates and deletes of absent (or ignored) rows */
    result->unchanged = (int64_t)w.n - w.ins - w.upd - w.del - result->failed;
    /* Batches come alike in a run (a first load inserts, a full re-sync of
     * an unchanged source compares): the next batch takes the upsert that
     * suits a batch like this one. */
    t->prefilter = result->unchanged > w.ins + w.upd;
    if (w.n_nul_fixed) {
        pgs_host->counter_add(in->ctx, in->nul.mode == PGS_NUL_STRIP ? "text_nul_stripped" : "text_nul_replaced",
                              w.n_nul_fixed);
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "%s: %lld value(s) with NUL characters stored with them %s "
                      "(sink option text_nul)", t->display, (long long)w.n_nul_fixed,
                      in->nul.mode == PGS_NUL_STRIP ? "stripped" : "replaced");
    }
    if (t->delete_mode == PGS_DELETE_IGNORE && w.n_deletes) {
        pgs_host->counter_add(in->ctx, "deletes_ignored", w.n_deletes);
        if (!t->warned_ignored_deletes)
            pgs_host->log(in->ctx, SYNC_LOG_WARN,
                          "%s: ignoring deleted source records (sink.delete_mode = ignore)", t->display);
        t->warned_ignored_deletes = 1;
    }
    pgs_host->log(in->ctx, SYNC_LOG_DEBUG,
                  "%s: %zu record(s): %lld inserted, %lld updated, %lld unchanged, %lld deleted, %lld failed%s",
                  t->display, w.n, (long long)result->inserted, (long long)result->updated,
                  (long long)result->unchanged, (long long)result->deleted, (long long)result->failed,
                  used_prefilter ? " (unchanged rows left out before the upsert)" : "");
    wctx_free(&w);
    return SYNC_OK;
}
