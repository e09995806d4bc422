/*
 * pgs_session.c - the instance, its session with the database, and leases.
 *
 * The instance is built from the section's options (pgs_session_new) and
 * connects through pgs_conn.c.  The engine's tables are named here (the state
 * schema and its tables; pgs_state.c creates them), so every layer above runs
 * its statements on them through pgs_exec_on.
 *
 * A lease is a row, not a session lock: nothing about it depends on one
 * server session staying alive, or on the session a pooler hands out.
 * Acquiring is one statement that takes the row when it is free, expired, or
 * its holder's server session is gone from pg_stat_activity (a SIGKILLed
 * engine's job is free at once on a direct connection; through a pooler the
 * server session outlives the client and the TTL decides), and increments the
 * epoch.  A thread with a connection of its own renews the row every third of
 * lease_ttl while the lease is held, also while a run waits on its source.
 * Every transaction that writes for the job checks `epoch = mine` with the row
 * locked FOR SHARE (pgs_job_begin): a take-over cannot commit while a batch
 * of the old holder is open, and once it has, the old holder's next
 * transaction fails -- it writes nothing more.
 */
#include "pgs_session.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* "schema"."table", each part quoted; NULL without memory. */
static char *qualified(const char *schema, const char *table)
{
    char *s = pgs_quote_ident_dup(schema), *t = pgs_quote_ident_dup(table), *out = NULL;
    if (s && t && (out = malloc(strlen(s) + strlen(t) + 2)) != NULL)
        sprintf(out, "%s.%s", s, t);
    free(s);
    free(t);
    return out;
}

int pgs_session_new(sync_ctx *ctx, const sync_config *cfg, pgs_instance **instance)
{
    pgs_instance *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    in->conn.ctx = ctx;
    in->conn.conninfo = dup_or_null(pgs_host->config_get_string(cfg, "conninfo"));
    in->conn.application_name = dup_or_null(pgs_host->config_get_string(cfg, "application_name"));
    in->state_schema = dup_or_null(pgs_host->config_get_string(cfg, "state_schema"));
    pgs_host->config_get_int(cfg, "statement_timeout", &in->conn.statement_timeout_ms);
    pgs_host->config_get_int(cfg, "connect_timeout", &in->conn.connect_timeout_ms);
    in->lease_ttl_ms = 120000;
    pgs_host->config_get_int(cfg, "lease_ttl", &in->lease_ttl_ms);
    const char *nul = pgs_host->config_get_string(cfg, "text_nul");
    in->nul.mode = !nul || strcmp(nul, "reject") == 0 ? PGS_NUL_REJECT
                   : strcmp(nul, "strip") == 0        ? PGS_NUL_STRIP
                                                      : PGS_NUL_REPLACE;
    const char *repl = pgs_host->config_get_string(cfg, "text_nul_replacement");
    in->nul_repl = strdup(repl ? repl : "");
    in->nul.repl = in->nul_repl;
    in->nul.repl_len = in->nul_repl ? strlen(in->nul_repl) : 0;
    if (!in->conn.conninfo || !*in->conn.conninfo) {
        pgs_host->set_error(ctx, "option \"conninfo\" is empty (%s)",
                            pgs_host->config_where(cfg, "conninfo"));
        pgs_session_free(in);
        return SYNC_E_CONFIG;
    }
    if (!in->conn.application_name || !in->state_schema || !in->nul_repl) {
        pgs_session_free(in);
        return SYNC_E_NOMEM;
    }
    static const char *const names[] = {"state_schema", "state_table", "runs_table"};
    char **vals[] = {&in->state_schema, &in->cursor_table, &in->runs_table};
    for (size_t i = 0; i < 3; i++) {
        if (i > 0 && !(*vals[i] = dup_or_null(pgs_host->config_get_string(cfg, names[i])))) {
            pgs_session_free(in);
            return SYNC_E_NOMEM;
        }
        if (!**vals[i]) {
            pgs_host->set_error(ctx, "option \"%s\" is empty (%s)", names[i],
                                pgs_host->config_where(cfg, names[i]));
            pgs_session_free(in);
            return SYNC_E_CONFIG;
        }
    }
    if (strcmp(in->cursor_table, in->runs_table) == 0) {
        pgs_host->set_error(ctx, "options \"state_table\" and \"runs_table\" name the same table \"%s\" (%s)",
                            in->runs_table, pgs_host->config_where(cfg, "runs_table"));
        pgs_session_free(in);
        return SYNC_E_CONFIG;
    }
    for (size_t i = 1; i < 3; i++)
        if (strcmp(*vals[i], PGS_LEASES_TABLE) == 0 || strcmp(*vals[i], PGS_PROGRESS_TABLE) == 0 ||
            strcmp(*vals[i], PGS_SEEN_TABLE) == 0) {
            pgs_host->set_error(ctx, "option \"%s\" names the engine's table \"%s\" (%s)", names[i], *vals[i],
                                pgs_host->config_where(cfg, names[i]));
            pgs_session_free(in);
            return SYNC_E_CONFIG;
        }
    in->state_schema_q = pgs_quote_ident_dup(in->state_schema);
    in->cursor_table_q = qualified(in->state_schema, in->cursor_table);
    in->runs_table_q = qualified(in->state_schema, in->runs_table);
    in->leases_table_q = qualified(in->state_schema, PGS_LEASES_TABLE);
    in->progress_table_q = qualified(in->state_schema, PGS_PROGRESS_TABLE);
    in->seen_table_q = qualified(in->state_schema, PGS_SEEN_TABLE);
    if (!in->state_schema_q || !in->cursor_table_q || !in->runs_table_q || !in->leases_table_q ||
        !in->progress_table_q || !in->seen_table_q) {
        pgs_session_free(in);
        return SYNC_E_NOMEM;
    }
    *instance = in;
    return SYNC_OK;
}

PGresult *pgs_exec_on(pgs_instance *in, const char *table_q, const char *fmt, int n,
                      const char *const *params, pgs_err *err)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, fmt, table_q);
    char *sql = pgs_buf_take(&b);
    if (!sql) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return NULL;
    }
    PGresult *res = pgs_exec(&in->conn, sql, n, params, NULL, err);
    free(sql);
    return res;
}

int pgs_exec_on_cmd(pgs_instance *in, const char *table_q, const char *fmt, int n, const char *const *params,
                    pgs_err *err)
{
    PGresult *res = pgs_exec_on(in, table_q, fmt, n, params, err);
    if (!res)
        return err->status;
    PQclear(res);
    return SYNC_OK;
}


/* ------------------------------------------------------------------ leases */

/*
 * A lease this process holds.  The instance that took it owns it (renews and
 * releases it); the process-wide registry lets the other instances of the
 * same run -- parallel stream workers, each with a connection of its own --
 * find the epoch they must check.  Everything but the renewer's connection is
 * guarded by reg_lock.
 */
typedef struct pgs_lease {
    char *key;                 /* section, state schema and job */
    char *job;
    int64_t epoch;
    char run_id[64];
    int lost;
    char lost_msg[384];
    int registered;            /* still in the registry (not replaced by a later lease of this process) */
    /* the renewer */
    sync_ctx *ctx;
    char *conninfo, *application_name, *leases_table_q, *renew_sql;
    int64_t ttl_ms, connect_timeout_ms;
    PGconn *pg;
    pthread_t thread;
    int started, stop;
    int renew_now;             /* a connection of this process came back: renew at once */
    pthread_cond_t wake;
} pgs_lease;

typedef struct pgs_fence {
    char *job;
    int64_t epoch;             /* 0: this process held no lease of the job when the instance first wrote */
    unsigned generation;       /* the instance's connection generation at its last transaction */
} pgs_fence;

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static pgs_lease **reg;
static size_t n_reg;

static char *lease_key(pgs_instance *in, const char *job)
{
    const char *section = pgs_host->ctx_instance(in->ctx);
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "%s\x1f%s\x1f%s", section ? section : "", in->state_schema, job);
    return pgs_buf_take(&b);
}

/* The registered lease of key, or NULL (reg_lock held). */
static pgs_lease *reg_find(const char *key)
{
    for (size_t i = 0; i < n_reg; i++)
        if (strcmp(reg[i]->key, key) == 0)
            return reg[i];
    return NULL;
}

static void reg_remove(pgs_lease *l)
{
    for (size_t i = 0; i < n_reg; i++)
        if (reg[i] == l) {
            reg[i] = reg[--n_reg];
            break;
        }
    l->registered = 0;
}

/* Who this process is, for the holder column: host, pid, application_name. */
static void holder_text(const pgs_instance *in, char *out, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "unknown host");
    host[sizeof(host) - 1] = '\0';
    snprintf(out, size, "%s pid %ld (%s)", host, (long)getpid(), in->conn.application_name);
}

static PGconn *lease_connect(const char *conninfo, const char *appname, int64_t connect_timeout_ms)
{
    char timeout[32];
    snprintf(timeout, sizeof(timeout), "%lld", (long long)((connect_timeout_ms + 999) / 1000));
    const char *keys[] = {"dbname", "application_name", "connect_timeout", "client_encoding", NULL};
    const char *vals[] = {conninfo, appname, timeout, "UTF8", NULL};
    return PQconnectdbParams(keys, vals, 1);
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static const char acquire_sql[] =
    "INSERT INTO %s AS l (job, epoch, holder, backend_pid, backend_start, acquired_at, renewed_at, expires_at)"
    " VALUES ($1, 1, $2, pg_backend_pid(),"
    "  (SELECT backend_start FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid()),"
    "  now(), now(), now() + $3::bigint * interval '1 millisecond')"
    " ON CONFLICT (job) DO UPDATE SET epoch = l.epoch + 1, holder = EXCLUDED.holder, run_id = NULL,"
    "  backend_pid = EXCLUDED.backend_pid, backend_start = EXCLUDED.backend_start,"
    "  acquired_at = now(), renewed_at = now(), expires_at = EXCLUDED.expires_at"
    " WHERE l.holder IS NULL OR l.expires_at <= now()"
    "  OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = l.backend_pid"
    "                 AND (a.backend_start IS NULL OR a.backend_start = l.backend_start))"
    " RETURNING epoch";

/* The renewal keeps the server session it runs on as the holder's (the previous one may be gone). */
static const char renew_sql_fmt[] =
    "UPDATE %s SET renewed_at = now(), expires_at = now() + $3::bigint * interval '1 millisecond',"
    " backend_pid = pg_backend_pid(),"
    " backend_start = (SELECT backend_start FROM pg_catalog.pg_stat_activity WHERE pid = pg_backend_pid())"
    " WHERE job = $1 AND epoch = $2::bigint";

/* Renews once; 1 renewed, 0 lost (another process took the job), -1 could not ask. */
static int renew_once(pgs_lease *l)
{
    if (!l->pg || PQstatus(l->pg) != CONNECTION_OK) {
        if (l->pg)
            PQfinish(l->pg);
        l->pg = lease_connect(l->conninfo, l->application_name, l->connect_timeout_ms);
        if (!l->pg || PQstatus(l->pg) != CONNECTION_OK)
            return -1;
        PQsetNoticeProcessor(l->pg, quiet_notice, NULL);
    }
    char epoch[24], ttl[24];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)l->epoch);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)l->ttl_ms);
    const char *params[] = {l->job, epoch, ttl};
    PGresult *res = PQexecParams(l->pg, l->renew_sql, 3, NULL, params, NULL, NULL, 0);
    int out = -1;
    if (res && PQresultStatus(res) == PGRES_COMMAND_OK)
        out = strcmp(PQcmdTuples(res), "0") == 0 ? 0 : 1;
    PQclear(res);
    return out;
}

static void mark_lost(pgs_lease *l, const char *holder, const char *epoch)
{
    pthread_mutex_lock(&reg_lock);
    if (!l->lost) {
        l->lost = 1;
        snprintf(l->lost_msg, sizeof(l->lost_msg),
                 "lease lost: job \"%s\" was taken over by %s (lease epoch %s; this run held epoch %lld)",
                 l->job, holder && *holder ? holder : "another engine", epoch && *epoch ? epoch : "?",
                 (long long)l->epoch);
    }
    pthread_mutex_unlock(&reg_lock);
}

/* Reads who holds the job now (for the message), on conn. */
static void lost_on(pgs_lease *l, PGconn *pg, const char *leases_table_q)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT holder, epoch FROM %s WHERE job = $1", leases_table_q);
    const char *params[] = {l->job};
    PGresult *res = pg ? PQexecParams(pg, sql, 1, NULL, params, NULL, NULL, 0) : NULL;
    int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    mark_lost(l, ok ? PQgetvalue(res, 0, 0) : NULL, ok ? PQgetvalue(res, 0, 1) : NULL);
    PQclear(res);
}

static void *renewer_main(void *arg)
{
    pgs_lease *l = arg;
    int64_t every = l->ttl_ms / 3;
    pthread_mutex_lock(&reg_lock);
    while (!l->stop && !l->lost) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)(every / 1000);
        until.tv_nsec += (long)(every % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!l->stop && !l->renew_now && pthread_cond_timedwait(&l->wake, &reg_lock, &until) != ETIMEDOUT)
            ;
        if (l->stop)
            break;
        l->renew_now = 0;
        pthread_mutex_unlock(&reg_lock);
        int r = renew_once(l);
        if (r == 0) {
            lost_on(l, l->pg, l->leases_table_q);
            pgs_host->log(l->ctx, SYNC_LOG_ERROR, "%s", l->lost_msg);
        }
        pthread_mutex_lock(&reg_lock);
    }
    pthread_mutex_unlock(&reg_lock);
    return NULL;
}

static void lease_free(pgs_lease *l)
{
    if (!l)
        return;
    if (l->started) {
        pthread_mutex_lock(&reg_lock);
        l->stop = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&reg_lock);
        pthread_join(l->thread, NULL);
    }
    pthread_mutex_lock(&reg_lock);
    if (l->registered)
        reg_remove(l);
    if (n_reg == 0) {
        /* the plugin may be unloaded once its last lease is gone: keep no allocation behind */
        free(reg);
        reg = NULL;
    }
    pthread_mutex_unlock(&reg_lock);
    pthread_cond_destroy(&l->wake);
    if (l->pg)
        PQfinish(l->pg);
    free(l->key);
    free(l->job);
    free(l->conninfo);
    free(l->application_name);
    free(l->leases_table_q);
    free(l->renew_sql);
    free(l);
}

static long lease_index(pgs_instance *in, const char *job)
{
    for (size_t i = 0; i < in->n_leases; i++)
        if (strcmp(in->leases[i]->job, job) == 0)
            return (long)i;
    return -1;
}

static pgs_lease *lease_new(pgs_instance *in, const char *job)
{
    pgs_lease *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    pthread_cond_init(&l->wake, NULL);
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, renew_sql_fmt, in->leases_table_q);
    l->renew_sql = pgs_buf_take(&b);
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "%s lease", in->conn.application_name);
    l->application_name = pgs_buf_take(&b);
    l->key = lease_key(in, job);
    l->job = strdup(job);
    l->conninfo = strdup(in->conn.conninfo);
    l->leases_table_q = strdup(in->leases_table_q);
    l->ctx = in->ctx;
    l->ttl_ms = in->lease_ttl_ms;
    l->connect_timeout_ms = in->conn.connect_timeout_ms;
    if (!l->renew_sql || !l->application_name || !l->key || !l->job || !l->conninfo || !l->leases_table_q) {
        lease_free(l);
        return NULL;
    }
    return l;
}

int pgs_lease_acquire(pgs_instance *in, const char *job, int *acquired)
{
    pgs_err err;
    *acquired = 0;
    if (lease_index(in, job) >= 0) {
        *acquired = 1; /* this instance holds it already */
        return SYNC_OK;
    }
    pgs_lease *l = lease_new(in, job);
    if (!l)
        return SYNC_E_NOMEM;
    /* the lease's own connection: its server session stands for this process in pg_stat_activity */
    l->pg = lease_connect(l->conninfo, l->application_name, l->connect_timeout_ms);
    if (!l->pg || PQstatus(l->pg) != CONNECTION_OK) {
        pgs_err_set(&err, SYNC_E_UNAVAILABLE, "could not connect to the database to take the lease of job \"%s\"",
                    job);
        lease_free(l);
        return pgs_fail(in->ctx, &err);
    }
    PQsetNoticeProcessor(l->pg, quiet_notice, NULL);
    char holder[400], ttl[24];
    holder_text(in, holder, sizeof(holder));
    snprintf(ttl, sizeof(ttl), "%lld", (long long)in->lease_ttl_ms);
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, acquire_sql, in->leases_table_q);
    char *sql = pgs_buf_take(&b);
    if (!sql) {
        lease_free(l);
        return SYNC_E_NOMEM;
    }
    const char *params[] = {job, holder, ttl};
    PGresult *res = PQexecParams(l->pg, sql, 3, NULL, params, NULL, NULL, 0);
    free(sql);
    if (!res || PQresultStatus(res) != PGRES_TUPLES_OK) {
        pgs_err_from_result(&err, res, l->pg);
        PQclear(res);
        pgs_err_prefix(&err, "taking the lease of job \"%s\" failed: ", job);
        lease_free(l);
        return pgs_fail(in->ctx, &err);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        char q[256];
        snprintf(q, sizeof(q), "SELECT holder, expires_at FROM %s WHERE job = $1", in->leases_table_q);
        const char *p1[] = {job};
        res = PQexecParams(l->pg, q, 1, NULL, p1, NULL, NULL, 0);
        int ok = res && PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
        pgs_host->log(in->ctx, SYNC_LOG_INFO, "job \"%s\" is running elsewhere (lease held by %s until %s)", job,
                      ok ? PQgetvalue(res, 0, 0) : "another engine", ok ? PQgetvalue(res, 0, 1) : "?");
        /* who holds it, for the engine to show (POST .../run answers 409 with it) */
        pgs_host->set_error(in->ctx, "lease held by %s until %s", ok ? PQgetvalue(res, 0, 0) : "another engine",
                            ok ? PQgetvalue(res, 0, 1) : "?");
        PQclear(res);
        lease_free(l);
        return SYNC_OK;
    }
    l->epoch = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    pgs_lease **grown = realloc(in->leases, (in->n_leases + 1) * sizeof(*grown));
    pthread_mutex_lock(&reg_lock);
    pgs_lease **rgrown = realloc(reg, (n_reg + 1) * sizeof(*rgrown));
    if (rgrown)
        reg = rgrown;
    if (!grown || !rgrown) {
        pthread_mutex_unlock(&reg_lock);
        if (grown)
            in->leases = grown;
        lease_free(l);
        return SYNC_E_NOMEM;
    }
    /* a lease of this process that was taken over in between is lost now */
    pgs_lease *old = reg_find(l->key);
    if (old) {
        reg_remove(old);
        if (!old->lost) {
            old->lost = 1;
            snprintf(old->lost_msg, sizeof(old->lost_msg),
                     "lease lost: job \"%s\" was taken over by %s (lease epoch %lld; this run held epoch %lld)",
                     job, holder, (long long)l->epoch, (long long)old->epoch);
        }
    }
    reg[n_reg++] = l;
    l->registered = 1;
    pthread_mutex_unlock(&reg_lock);
    in->leases = grown;
    in->leases[in->n_leases++] = l;
    for (size_t i = 0; i < in->n_fences; i++)
        if (strcmp(in->fences[i].job, job) == 0)
            in->fences[i].epoch = l->epoch; /* this instance writes under the new lease from now on */
    if (pthread_create(&l->thread, NULL, renewer_main, l) == 0)
        l->started = 1;
    else
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "cannot start the lease renewer of job \"%s\": the lease is renewed "
                      "by batches only", job);
    *acquired = 1;
    pgs_host->log(in->ctx, SYNC_LOG_DEBUG, "took the lease of job \"%s\" (epoch %lld, ttl %lld ms)", job,
                  (long long)l->epoch, (long long)in->lease_ttl_ms);
    return SYNC_OK;
}

void pgs_lease_release(pgs_instance *in, const char *job)
{
    long i = lease_index(in, job);
    if (i < 0)
        return;
    pgs_lease *l = in->leases[i];
    in->leases[i] = in->leases[--in->n_leases];
    /* stop renewing first: the release must be the last word */
    if (l->started) {
        pthread_mutex_lock(&reg_lock);
        l->stop = 1;
        pthread_cond_signal(&l->wake);
        pthread_mutex_unlock(&reg_lock);
        pthread_join(l->thread, NULL);
        l->started = 0;
    }
    char epoch[24];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)l->epoch);
    const char *params[] = {job, epoch};
    pgs_err err;
    PGresult *res = pgs_exec_on(in, in->leases_table_q,
                                "UPDATE %s SET holder = NULL, run_id = NULL, backend_pid = NULL,"
                                " backend_start = NULL, expires_at = now() WHERE job = $1 AND epoch = $2::bigint",
                                2, params, &err);
    if (res)
        PQclear(res);
    else if (!pgs_conn_lost(&in->conn))
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "releasing the lease of job \"%s\" failed: %s", job, err.message);
    lease_free(l);
}

void pgs_lease_free_all(pgs_instance *in)
{
    while (in->n_leases)
        pgs_lease_release(in, in->leases[in->n_leases - 1]->job);
    free(in->leases);
    in->leases = NULL;
    for (size_t i = 0; i < in->n_fences; i++)
        free(in->fences[i].job);
    free(in->fences);
    in->fences = NULL;
    in->n_fences = 0;
}

/*
 * The fence of job for this instance: bound at its first transaction for the
 * job to the epoch this process holds then (0: no lease in this process, no
 * check).  NULL without memory.
 */
static pgs_fence *fence_of(pgs_instance *in, const char *job)
{
    char *key = lease_key(in, job);
    for (size_t i = 0; key && i < in->n_fences; i++)
        if (strcmp(in->fences[i].job, job) == 0) {
            if (!in->fences[i].epoch) {
                /* no lease when first seen: bind to one this process took since */
                pthread_mutex_lock(&reg_lock);
                pgs_lease *l = reg_find(key);
                in->fences[i].epoch = l ? l->epoch : 0;
                pthread_mutex_unlock(&reg_lock);
            }
            free(key);
            return &in->fences[i];
        }
    pgs_fence *grown = realloc(in->fences, (in->n_fences + 1) * sizeof(*grown));
    char *copy = strdup(job);
    if (!key || !grown || !copy) {
        free(key);
        free(copy);
        if (grown)
            in->fences = grown;
        return NULL;
    }
    in->fences = grown;
    pgs_fence *f = &in->fences[in->n_fences++];
    f->job = copy;
    f->generation = 0;
    pthread_mutex_lock(&reg_lock);
    pgs_lease *l = reg_find(key);
    f->epoch = l ? l->epoch : 0;
    pthread_mutex_unlock(&reg_lock);
    free(key);
    return f;
}

/* SYNC_OK while the lease bound in f is this process's and not known to be lost; else fills err. */
static int fence_local(pgs_instance *in, const pgs_fence *f, pgs_err *err)
{
    if (!f->epoch)
        return SYNC_OK;
    char *key = lease_key(in, f->job);
    if (!key) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    int rc = SYNC_OK;
    pthread_mutex_lock(&reg_lock);
    /* the owner's own lease may be unregistered (replaced) but still carries the reason */
    pgs_lease *l = NULL;
    for (size_t i = 0; !l && i < in->n_leases; i++)
        if (strcmp(in->leases[i]->job, f->job) == 0 && in->leases[i]->epoch == f->epoch)
            l = in->leases[i];
    if (!l)
        l = reg_find(key);
    if (!l || l->epoch != f->epoch || l->lost) {
        const char *why = l && l->lost && l->epoch == f->epoch ? l->lost_msg : NULL;
        if (why)
            pgs_err_set(err, SYNC_ERROR, "%s", why);
        else
            pgs_err_set(err, SYNC_ERROR, "lease lost: job \"%s\" is no longer held by this run (epoch %lld)",
                        f->job, (long long)f->epoch);
        rc = SYNC_ERROR;
    }
    pthread_mutex_unlock(&reg_lock);
    free(key);
    return rc;
}

int pgs_err_is_lease_lost(const pgs_err *err)
{
    return err->status == SYNC_ERROR && strncmp(err->message, "lease lost: ", 12) == 0;
}

int pgs_job_begin(pgs_instance *in, const char *job, pgs_err *err)
{
    return pgs_job_begin_with(in, job, NULL, err);
}

int pgs_job_begin_with(pgs_instance *in, const char *job, const char *extra, pgs_err *err)
{
    pgs_fence *f = fence_of(in, job);
    if (!f) {
        pgs_err_set(err, SYNC_E_NOMEM, "out of memory");
        return SYNC_E_NOMEM;
    }
    int rc = fence_local(in, f, err);
    if (rc != SYNC_OK)
        return rc;
    if (f->epoch && f->generation && f->generation != in->conn.generation) {
        /* this instance reconnected (a restart?): the lease's own session may
         * be gone too, and until it is renewed the lease looks free */
        char *key = lease_key(in, job);
        pthread_mutex_lock(&reg_lock);
        pgs_lease *l = key ? reg_find(key) : NULL;
        if (l && l->epoch == f->epoch) {
            l->renew_now = 1;
            pthread_cond_signal(&l->wake);
        }
        pthread_mutex_unlock(&reg_lock);
        free(key);
    }
    f->generation = in->conn.generation;
    rc = pgs_tx_begin_with(&in->conn, extra, err);
    if (rc != SYNC_OK || !f->epoch)
        return rc;
    char epoch[24];
    snprintf(epoch, sizeof(epoch), "%lld", (long long)f->epoch);
    const char *params[] = {job, epoch};
    /* FOR SHARE: batches of parallel streams do not wait for each other, a take-over waits for them */
    PGresult *res = pgs_exec_on(in, in->leases_table_q,
                                "SELECT 1 FROM %s WHERE job = $1 AND epoch = $2::bigint FOR SHARE", 2, params,
                                err);
    if (!res) {
        if (!pgs_conn_lost(&in->conn)) {
            pgs_err e2;
            pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
        }
        return err->status;
    }
    int held = PQntuples(res) == 1;
    PQclear(res);
    if (held)
        return SYNC_OK;
    /* taken over: say by whom, mark the lease lost for every instance of this process */
    res = pgs_exec_on(in, in->leases_table_q, "SELECT holder, epoch FROM %s WHERE job = $1", 1, params, err);
    int ok = res && PQntuples(res) == 1;
    char holder[300], cur[24];
    snprintf(holder, sizeof(holder), "%s", ok && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
    snprintf(cur, sizeof(cur), "%s", ok ? PQgetvalue(res, 0, 1) : "?");
    PQclear(res);
    pgs_err e2;
    pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
    char *key = lease_key(in, job);
    pthread_mutex_lock(&reg_lock);
    pgs_lease *l = key ? reg_find(key) : NULL;
    if (l && l->epoch == f->epoch && !l->lost) {
        l->lost = 1;
        snprintf(l->lost_msg, sizeof(l->lost_msg),
                 "lease lost: job \"%s\" was taken over by %s (lease epoch %s; this run held epoch %lld)", job,
                 *holder ? holder : "another engine", cur, (long long)f->epoch);
    }
    pthread_mutex_unlock(&reg_lock);
    free(key);
    pgs_err_set(err, SYNC_ERROR,
                "lease lost: job \"%s\" was taken over by %s (lease epoch %s; this run held epoch %lld)", job,
                *holder ? holder : "another engine", cur, (long long)f->epoch);
    return SYNC_ERROR;
}

void pgs_lease_run_id(pgs_instance *in, const char *job, char *out, size_t size)
{
    out[0] = '\0';
    char *key = lease_key(in, job);
    if (!key)
        return;
    pthread_mutex_lock(&reg_lock);
    pgs_lease *l = reg_find(key);
    if (l)
        snprintf(out, size, "%s", l->run_id);
    pthread_mutex_unlock(&reg_lock);
    free(key);
}

void pgs_lease_set_run(pgs_instance *in, const char *job, const char *run_id)
{
    long i = lease_index(in, job);
    if (i < 0)
        return;
    pthread_mutex_lock(&reg_lock);
    snprintf(in->leases[i]->run_id, sizeof(in->leases[i]->run_id), "%s", run_id);
    pthread_mutex_unlock(&reg_lock);
}

int pgs_session_ready(pgs_instance *in, pgs_err *err)
{
    return pgs_conn_ensure(&in->conn, err);
}

void pgs_session_free(pgs_instance *in)
{
    if (!in)
        return;
    /* a lease still held is given back (the engine releases before close) */
    pgs_lease_free_all(in);
    pgs_conn_close(&in->conn);
    free(in->conn.conninfo);
    free(in->conn.application_name);
    free(in->nul_repl);
    free(in->state_schema);
    free(in->state_schema_q);
    free(in->cursor_table);
    free(in->runs_table);
    free(in->cursor_table_q);
    free(in->runs_table_q);
    free(in->leases_table_q);
    free(in->progress_table_q);
    free(in->seen_table_q);
    free(in);
}
