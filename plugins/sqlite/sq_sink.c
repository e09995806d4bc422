/*
 * sq_sink.c - the SQLite connector's sink role (see sq_sink.h).
 */
#include "sq_sink.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "sq_conn.h"
#include "sq_sql.h"

typedef struct sq_sink {
    int d1;                 /* 0: this is the SQLite file backend (see sq_role) */
    sync_ctx *ctx;
    sq_settings set;
    sq_conn conn;
    sq_target **targets;
    size_t n_targets;
    char *run_id;           /* the run begin() recorded */
    char *log_table;        /* the job's sink.run_log_table, when its row was written */
} sq_sink;

const char sq_state_ddl[] =
    "CREATE TABLE IF NOT EXISTS " SQ_STATE_TABLE " (\n"
    "    job TEXT NOT NULL,\n    stream TEXT NOT NULL,\n    cursor TEXT,\n    updated_at TEXT NOT NULL,\n"
    "    PRIMARY KEY (job, stream)\n);\n"
    "CREATE TABLE IF NOT EXISTS " SQ_RUNS_TABLE " (\n"
    "    run_id TEXT PRIMARY KEY,\n    job TEXT NOT NULL,\n    status TEXT NOT NULL,\n"
    "    full_refresh INTEGER NOT NULL DEFAULT 0,\n    started_at INTEGER NOT NULL,\n    finished_at INTEGER,\n"
    "    processed INTEGER NOT NULL DEFAULT 0,\n    inserted INTEGER NOT NULL DEFAULT 0,\n"
    "    updated INTEGER NOT NULL DEFAULT 0,\n    unchanged INTEGER NOT NULL DEFAULT 0,\n"
    "    deleted INTEGER NOT NULL DEFAULT 0,\n    failed INTEGER NOT NULL DEFAULT 0,\n"
    "    error TEXT,\n    details TEXT\n);\n"
    "CREATE INDEX IF NOT EXISTS " SQ_RUNS_TABLE "_job ON " SQ_RUNS_TABLE " (job, started_at);\n"
    "CREATE TABLE IF NOT EXISTS " SQ_LEASES_TABLE " (\n"
    "    job TEXT PRIMARY KEY,\n    epoch INTEGER NOT NULL,\n    host TEXT NOT NULL,\n    pid INTEGER NOT NULL,\n"
    "    pid_start INTEGER NOT NULL,\n    acquired_at TEXT NOT NULL,\n    released INTEGER NOT NULL DEFAULT 0\n);\n";

const char *const sq_run_status[5] = {"running", "success", "partial", "failed", "rate_limited"};

const char *sq_run_status_name(sync_run_status s)
{
    return (unsigned)s < 5 ? sq_run_status[s] : "failed";
}

static void now_text(char *buf, size_t size)
{
    sq_format_timestamp(sq_host->time_now(), buf, size);
}

/* --------------------------------------------------------------- leases */

/* The lease epoch this process holds per (file, job): every instance of a run checks it in each transaction. */
typedef struct fence {
    char *path, *job;
    int64_t epoch;
} fence;

static pthread_mutex_t fences_lock = PTHREAD_MUTEX_INITIALIZER;
static fence *fences;
static size_t n_fences;

static long fence_find(const char *path, const char *job)
{
    for (size_t i = 0; i < n_fences; i++)
        if (strcmp(fences[i].path, path) == 0 && strcmp(fences[i].job, job) == 0)
            return (long)i;
    return -1;
}

int sq_fence_get(const char *path, const char *job, int64_t *epoch)
{
    pthread_mutex_lock(&fences_lock);
    long i = fence_find(path, job);
    if (i >= 0)
        *epoch = fences[i].epoch;
    pthread_mutex_unlock(&fences_lock);
    return i >= 0;
}

int sq_fence_put(const char *path, const char *job, int64_t epoch)
{
    int rc = SYNC_OK;
    pthread_mutex_lock(&fences_lock);
    long i = fence_find(path, job);
    if (i >= 0) {
        fences[i].epoch = epoch;
    } else {
        fence *grown = realloc(fences, (n_fences + 1) * sizeof(*grown));
        char *p = strdup(path), *j = strdup(job);
        if (!grown || !p || !j) {
            free(p);
            free(j);
            if (grown)
                fences = grown;
            rc = SYNC_E_NOMEM;
        } else {
            fences = grown;
            fences[n_fences++] = (fence){p, j, epoch};
        }
    }
    pthread_mutex_unlock(&fences_lock);
    return rc;
}

void sq_fence_drop(const char *path, const char *job)
{
    pthread_mutex_lock(&fences_lock);
    long i = fence_find(path, job);
    if (i >= 0) {
        free(fences[i].path);
        free(fences[i].job);
        fences[i] = fences[--n_fences];
        if (n_fences == 0) {
            free(fences);
            fences = NULL;
        }
    }
    pthread_mutex_unlock(&fences_lock);
}

/*
 * The run each (file, job) is recording in this process, so that every
 * instance of the run (parallel streams open their own) adds its batches'
 * counts to the run's row in the batch's transaction: a run killed half-way
 * is closed by the next one with the counts of what it committed.
 */
typedef struct current_run {
    char *path, *job, *run_id;
} current_run;

static current_run *runs;
static size_t n_runs;

static long run_find(const char *path, const char *job)
{
    for (size_t i = 0; i < n_runs; i++)
        if (strcmp(runs[i].path, path) == 0 && strcmp(runs[i].job, job) == 0)
            return (long)i;
    return -1;
}

static void run_drop(const char *path, const char *job)
{
    pthread_mutex_lock(&fences_lock);
    long i = run_find(path, job);
    if (i >= 0) {
        free(runs[i].path);
        free(runs[i].job);
        free(runs[i].run_id);
        runs[i] = runs[--n_runs];
        if (n_runs == 0) {
            free(runs);
            runs = NULL;
        }
    }
    pthread_mutex_unlock(&fences_lock);
}

static int run_put(const char *path, const char *job, const char *run_id)
{
    run_drop(path, job);
    pthread_mutex_lock(&fences_lock);
    current_run *grown = realloc(runs, (n_runs + 1) * sizeof(*grown));
    int rc = SYNC_E_NOMEM;
    if (grown) {
        runs = grown;
        current_run r = {strdup(path), strdup(job), strdup(run_id)};
        if (r.path && r.job && r.run_id) {
            runs[n_runs++] = r;
            rc = SYNC_OK;
        } else {
            free(r.path);
            free(r.job);
            free(r.run_id);
        }
    }
    pthread_mutex_unlock(&fences_lock);
    return rc;
}

/* Copies the run id recorded for (path, job) into buf; 0 when there is none. */
static int run_get(const char *path, const char *job, char *buf, size_t size)
{
    pthread_mutex_lock(&fences_lock);
    long i = run_find(path, job);
    if (i >= 0)
        snprintf(buf, size, "%s", runs[i].run_id);
    pthread_mutex_unlock(&fences_lock);
    return i >= 0;
}

/* Adds a batch's counts to its run's row, in the batch's transaction. */
static int add_progress(sq_sink *in, const char *job, size_t n, const sync_write_result *r)
{
    char run_id[128];
    if (!job || !run_get(in->set.path, job, run_id, sizeof(run_id)))
        return SYNC_OK;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "UPDATE " SQ_RUNS_TABLE " SET processed = processed + ?2, inserted = "
                                            "inserted + ?3, updated = updated + ?4, unchanged = unchanged + ?5, "
                                            "deleted = deleted + ?6, failed = failed + ?7 WHERE run_id = ?1 AND "
                                            "status = 'running'", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, run_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, (int64_t)n);
    sqlite3_bind_int64(s, 3, r->inserted);
    sqlite3_bind_int64(s, 4, r->updated);
    sqlite3_bind_int64(s, 5, r->unchanged);
    sqlite3_bind_int64(s, 6, r->deleted);
    sqlite3_bind_int64(s, 7, r->failed);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot record the run's progress");
}

/*
 * Inside a write transaction: fails with "lease lost" when this process holds
 * the job's lease but the row says otherwise.  Nothing to check when the
 * process took no lease for the job.
 */
static int fence_check(sq_sink *in, const char *job)
{
    int64_t mine;
    if (!job || !sq_fence_get(in->set.path, job, &mine))
        return SYNC_OK;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT epoch, host, pid, released FROM " SQ_LEASES_TABLE " WHERE job = ?1",
                                 &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_int64(s, 0) == mine && !sqlite3_column_int(s, 3)) {
        sqlite3_finalize(s);
        return SYNC_OK;
    }
    if (rc == SQLITE_ROW)
        sq_host->set_error(in->ctx, "lease lost: job \"%s\" was taken over by %s pid %lld (lease epoch %lld; "
                                    "this run held epoch %lld)", job, (const char *)sqlite3_column_text(s, 1),
                           (long long)sqlite3_column_int64(s, 2), (long long)sqlite3_column_int64(s, 0),
                           (long long)mine);
    else if (rc == SQLITE_DONE)
        sq_host->set_error(in->ctx, "lease lost: job \"%s\" has no lease row in %s (this run held epoch %lld)", job,
                           in->set.path, (long long)mine);
    else
        st = sq_fail(&in->conn, rc, "cannot check the job's lease");
    sqlite3_finalize(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SYNC_ERROR : st;
}

void sq_lease_self_get(sq_lease_self *me)
{
    memset(me->host, 0, sizeof(me->host));
    gethostname(me->host, sizeof(me->host) - 1);
    me->pid = (long)getpid();
    me->start = sq_proc_start(me->pid);
}

int sq_lease_holder_alive(const sq_lease_self *me, const char *host, long pid, int64_t start)
{
    /* on this host: alive exactly when its pid still runs with the start time it recorded (a reused pid has
     * another); on another host: taken to be alive until it releases the lease */
    if (!host || strcmp(host, me->host) != 0)
        return 1;
    return (pid != me->pid || start != me->start) && sq_proc_start(pid) == start;
}

void sq_lease_held(sync_ctx *ctx, const char *host, long long pid, long long epoch, const char *where_db)
{
    /* the engine shows this text as the holder (a 409 of the HTTP API names it) */
    sq_host->set_error(ctx, "lease held by %s pid %lld (lease epoch %lld) in %s", host ? host : "?", pid, epoch,
                       where_db);
}

int sq_sink_lease_acquire(void *instance, const char *job, int *acquired)
{
    sq_sink *in = instance;
    *acquired = 0;
    sq_lease_self me;
    sq_lease_self_get(&me);
    int rc = sq_begin_write(&in->conn);
    if (rc != SYNC_OK)
        return rc;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT epoch, host, pid, pid_start, released FROM " SQ_LEASES_TABLE
                                            " WHERE job = ?1", &st);
    if (!s) {
        sq_rollback(&in->conn);
        return st;
    }
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    int free_now = 1;
    if (step == SQLITE_ROW && !sqlite3_column_int(s, 4)) {
        const char *h = (const char *)sqlite3_column_text(s, 1);
        long hpid = (long)sqlite3_column_int64(s, 2);
        int64_t hstart = sqlite3_column_int64(s, 3);
        /* WAL needs every process on one host, so that rule decides for every holder here */
        if (sq_lease_holder_alive(&me, h, hpid, hstart)) {
            free_now = 0;
            sq_lease_held(in->ctx, h, hpid, sqlite3_column_int64(s, 0), in->set.path);
        }
    } else if (step != SQLITE_ROW && step != SQLITE_DONE) {
        st = sq_fail(&in->conn, step, "cannot read the job's lease");
        sqlite3_finalize(s);
        sq_rollback(&in->conn);
        return st;
    }
    sqlite3_finalize(s);
    if (!free_now) {
        sq_rollback(&in->conn);
        return SYNC_OK;
    }
    char at[40];
    now_text(at, sizeof(at));
    s = sq_prepare(&in->conn, "INSERT INTO " SQ_LEASES_TABLE " (job, epoch, host, pid, pid_start, acquired_at, released) "
                              "VALUES (?1, 1, ?2, ?3, ?4, ?5, 0) ON CONFLICT (job) DO UPDATE SET epoch = epoch + 1, "
                              "host = excluded.host, pid = excluded.pid, pid_start = excluded.pid_start, "
                              "acquired_at = excluded.acquired_at, released = 0 RETURNING epoch", &st);
    if (!s) {
        sq_rollback(&in->conn);
        return st;
    }
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, me.host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, me.pid);
    sqlite3_bind_int64(s, 4, me.start);
    sqlite3_bind_text(s, 5, at, -1, SQLITE_STATIC);
    step = sqlite3_step(s);
    int64_t epoch = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (step == SQLITE_ROW)
        step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        st = sq_fail(&in->conn, step, "cannot take the job's lease");
        sq_rollback(&in->conn);
        return st;
    }
    if ((rc = sq_commit(&in->conn)) != SYNC_OK)
        return rc;
    if ((rc = sq_fence_put(in->set.path, job, epoch)) != SYNC_OK)
        return rc;
    *acquired = 1;
    return SYNC_OK;
}

void sq_sink_lease_release(void *instance, const char *job)
{
    sq_sink *in = instance;
    int64_t mine;
    if (!sq_fence_get(in->set.path, job, &mine))
        return;
    sq_fence_drop(in->set.path, job);
    if (sq_begin_write(&in->conn) != SYNC_OK)
        return; /* the row says who held it; the holder's exit frees it */
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "UPDATE " SQ_LEASES_TABLE " SET released = 1 WHERE job = ?1 AND epoch = ?2",
                                 &st);
    if (s) {
        sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, mine);
        sqlite3_step(s);
        sqlite3_finalize(s);
    }
    sq_commit(&in->conn);
}

/* ------------------------------------------------------------ instance */

int sq_sink_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    sq_sink *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    int read_only = SYNC_HOST_HAS(sq_host, ctx_read_only) && sq_host->ctx_read_only(ctx);
    int rc = sq_conn_open_config(&in->conn, &in->set, ctx, cfg, read_only);
    if (rc != SYNC_OK) {
        free(in);
        return rc;
    }
    if (!read_only)
        rc = sq_exec(&in->conn, sq_state_ddl);
    if (rc != SYNC_OK) {
        sq_sink_close(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

void sq_target_free(sq_target *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->cols[i]);
    for (size_t i = 0; i < t->n_keys; i++)
        free(t->keys[i]);
    for (size_t i = 0; i < t->n_soft; i++) {
        free(t->soft_cols[i]);
        free(t->soft_vals[i]);
    }
    free(t->cols);
    free(t->keys);
    free(t->key_idx);
    free(t->soft_cols);
    free(t->soft_vals);
    free(t->aff);
    free(t->kind);
    free(t->is_key);
    free(t->compare);
    free(t->table);
    free(t->job);
    free(t->stream);
    sqlite3_finalize(t->upsert);
    sqlite3_finalize(t->exists);
    sqlite3_finalize(t->del);
    sqlite3_finalize(t->soft);
    free(t);
}

void sq_sink_close(void *instance)
{
    sq_sink *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_targets; i++)
        sq_target_free(in->targets[i]);
    free(in->targets);
    sq_conn_close(&in->conn);
    sq_settings_free(&in->set);
    free(in->run_id);
    free(in->log_table);
    free(in);
}

/* ------------------------------------------------------------ targets */

static const char *opt_where(const sync_config *cfg, const char *name, const char *dflt)
{
    return cfg ? sq_host->config_where(cfg, name) : dflt;
}

/*
 * Resolves a target against the file: the table, the mapped columns, the
 * conflict key and its unique index, the soft-delete assignments.  t receives
 * what write needs.  Returns SYNC_OK or the first problem's status.
 */
static int file_has_unique(void *arg, const sq_table *tb, const char *const *keys, size_t n_keys)
{
    return sq_table_has_unique(arg, tb, keys, n_keys);
}

static int target_resolve(sq_sink *in, const char *table, const sync_column *columns, size_t n_columns,
                          const char *const *column_where, const char *stream_where, const sync_config *opts,
                          sq_problems *p, sq_target *t)
{
    sq_table tb;
    int rc = sq_table_load(&in->conn, table, &tb);
    if ((rc = sq_table_loaded(p, rc, SYNC_E_SCHEMA, stream_where, "target table", table, in->set.path)) != SYNC_OK)
        return rc;
    rc = sq_target_resolve(&tb, in->set.path, file_has_unique, &in->conn, table, columns, n_columns, column_where,
                           stream_where, opts, p, t);
    sq_table_free(&tb);
    return rc;
}

int sq_target_resolve(const sq_table *tbl, const char *where_db, sq_unique_fn has_unique, void *arg,
                      const char *table, const sync_column *columns, size_t n_columns,
                      const char *const *column_where, const char *stream_where, const sync_config *opts,
                      sq_problems *p, sq_target *t)
{
    sq_table tb = *tbl;
    if (tb.is_view)
        sq_problem(p, SYNC_E_SCHEMA, stream_where, "target \"%s\" in %s is a view; the sink writes tables", table,
                   where_db);
    t->n = n_columns;
    t->cols = calloc(n_columns + 1, sizeof(char *));
    t->aff = calloc(n_columns + 1, sizeof(sq_affinity));
    t->kind = calloc(n_columns + 1, sizeof(sq_kind));
    t->is_key = calloc(n_columns + 1, sizeof(int));
    t->compare = calloc(n_columns + 1, sizeof(int));
    t->table = strdup(tb.name);
    if (!t->cols || !t->aff || !t->kind || !t->is_key || !t->compare || !t->table) {
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n_columns; i++) {
        long c = sq_table_find(&tb, columns[i].name);
        if (c < 0) {
            sq_problem(p, SYNC_E_SCHEMA, column_where && column_where[i] ? column_where[i] : stream_where,
                       "column \"%s\" does not exist in table \"%s\" of %s", columns[i].name, table, where_db);
            t->cols[i] = strdup(columns[i].name);
        } else {
            t->cols[i] = strdup(tb.cols[c]);
            t->aff[i] = sq_decl_affinity(tb.decl[c]);
            t->kind[i] = sq_decl_kind(tb.decl[c]);
        }
        t->compare[i] = 1;
        if (!t->cols[i]) {
            return SYNC_E_NOMEM;
        }
    }
    /* the conflict key: configured, else the primary key when every column of it is mapped */
    size_t nk = opts ? sq_host->config_list_count(opts, "conflict_key") : 0;
    t->keys = calloc(nk ? nk : tb.n + 1, sizeof(char *));
    t->key_idx = calloc(nk ? nk : tb.n + 1, sizeof(size_t));
    if (!t->keys || !t->key_idx) {
        return SYNC_E_NOMEM;
    }
    if (nk) {
        for (size_t k = 0; k < nk; k++)
            t->keys[t->n_keys++] = strdup(sq_host->config_list_item(opts, "conflict_key", k));
    } else {
        for (int pos = 1; pos <= (int)tb.n; pos++)
            for (size_t c = 0; c < tb.n; c++)
                if (tb.pk[c] == pos)
                    t->keys[t->n_keys++] = strdup(tb.cols[c]);
        if (t->n_keys == 0)
            sq_problem(p, SYNC_E_SCHEMA, stream_where,
                       "table \"%s\" has no primary key; set sink.conflict_key to columns with a unique index", table);
    }
    for (size_t k = 0; k < t->n_keys; k++) {
        if (!t->keys[k]) {
            return SYNC_E_NOMEM;
        }
        size_t i = 0;
        while (i < n_columns && strcasecmp(columns[i].name, t->keys[k]) != 0)
            i++;
        if (i == n_columns) {
            sq_problem(p, SYNC_E_SCHEMA, opt_where(opts, "conflict_key", stream_where),
                       "conflict key column \"%s\" of table \"%s\" is not mapped", t->keys[k], table);
            continue;
        }
        t->key_idx[k] = i;
        t->is_key[i] = 1;
    }
    if (t->n_keys && p->n == 0 && !has_unique(arg, &tb, (const char *const *)t->keys, t->n_keys))
        sq_problem(p, SYNC_E_SCHEMA, opt_where(opts, "conflict_key", stream_where),
                   "no primary key or unique index of table \"%s\" is exactly the conflict key; "
                   "ON CONFLICT needs one (a partial index cannot serve)", table);
    size_t nx = opts ? sq_host->config_list_count(opts, "compare_exclude") : 0;
    for (size_t x = 0; x < nx; x++) {
        const char *name = sq_host->config_list_item(opts, "compare_exclude", x);
        size_t i = 0;
        while (i < n_columns && strcasecmp(columns[i].name, name) != 0)
            i++;
        if (i == n_columns)
            sq_problem(p, SYNC_E_CONFIG, opt_where(opts, "compare_exclude", stream_where),
                       "sink.compare_exclude names \"%s\", which is not a mapped column", name);
        else
            t->compare[i] = 0;
    }
    const char *mode = opts ? sq_host->config_get_string(opts, "delete_mode") : NULL;
    t->delete_mode = mode && strcmp(mode, "soft") == 0 ? DEL_SOFT : mode && strcmp(mode, "hard") == 0 ? DEL_HARD
                                                                                                        : DEL_IGNORE;
    t->unit = sq_unit_parse(opts ? sq_host->config_get_string(opts, "timestamp_unit") : NULL);
    size_t ns = opts ? sq_host->config_list_count(opts, "soft_delete_set") : 0;
    if (t->delete_mode == DEL_SOFT && ns == 0)
        sq_problem(p, SYNC_E_CONFIG, opt_where(opts, "delete_mode", stream_where),
                   "sink.delete_mode = soft needs sink.soft_delete_set (e.g. deleted=1) for table \"%s\"", table);
    if (t->delete_mode == DEL_SOFT && ns) {
        t->soft_cols = calloc(ns, sizeof(char *));
        t->soft_vals = calloc(ns, sizeof(char *));
        if (!t->soft_cols || !t->soft_vals) {
            return SYNC_E_NOMEM;
        }
        for (size_t i = 0; i < ns; i++) {
            const char *item = sq_host->config_list_item(opts, "soft_delete_set", i);
            char *l, *r;
            if (sq_split_assign(item, &l, &r) < 0) {
                sq_problem(p, SYNC_E_CONFIG, opt_where(opts, "soft_delete_set", stream_where),
                           "sink.soft_delete_set item \"%s\" is not column=value", item);
                continue;
            }
            if (sq_table_find(&tb, l) < 0)
                sq_problem(p, SYNC_E_SCHEMA, opt_where(opts, "soft_delete_set", stream_where),
                           "sink.soft_delete_set column \"%s\" does not exist in table \"%s\"", l, table);
            t->soft_cols[t->n_soft] = l;
            t->soft_vals[t->n_soft++] = r;
        }
    }
    return p->n ? p->status : SYNC_OK;
}

int sq_sink_prepare(void *instance, const sync_target *target, void **target_state)
{
    sq_sink *in = instance;
    sq_target *t = calloc(1, sizeof(*t));
    if (!t)
        return SYNC_E_NOMEM;
    sq_problems p = {.ctx = in->ctx};
    t->job = strdup(target->job ? target->job : "");
    t->stream = strdup(target->stream ? target->stream : "");
    int rc = t->job && t->stream ? SYNC_OK : SYNC_E_NOMEM;
    if (rc == SYNC_OK)
        rc = target_resolve(in, target->name, target->columns, target->n_columns, NULL,
                            sq_host->config_where(target->options, "conflict_key"), target->options, &p, t);
    if (rc == SYNC_OK) {
        char *sql[4] = {sq_sql_upsert(t->table, (const char *const *)t->cols, t->n, t->is_key, t->compare),
                        sq_sql_exists(t->table, (const char *const *)t->keys, t->n_keys),
                        sq_sql_delete(t->table, (const char *const *)t->keys, t->n_keys),
                        t->n_soft ? sq_sql_soft_delete(t->table, (const char *const *)t->keys, t->n_keys,
                                                       (const char *const *)t->soft_cols, t->n_soft)
                                  : NULL};
        sqlite3_stmt **out[4] = {&t->upsert, &t->exists, &t->del, &t->soft};
        for (int i = 0; i < 4 && rc == SYNC_OK; i++)
            if (i < 3 || t->n_soft)
                *out[i] = sq_prepare(&in->conn, sql[i], &rc);
        for (int i = 0; i < 4; i++)
            free(sql[i]);
    }
    sq_target **grown = rc == SYNC_OK ? realloc(in->targets, (in->n_targets + 1) * sizeof(*grown)) : NULL;
    if (rc == SYNC_OK && !grown)
        rc = SYNC_E_NOMEM;
    if (rc != SYNC_OK) {
        sq_target_free(t);
        return rc;
    }
    in->targets = grown;
    in->targets[in->n_targets++] = t;
    *target_state = t;
    return SYNC_OK;
}

/* ------------------------------------------------------------ writing */

/*
 * The SQLite value a record value is stored as in a column of affinity aff
 * (see docs/plugins/sqlite.md).  One rule for both backends: the file binds
 * the cell (bind_value), D1 sends it as a JSON parameter (d1_sink.c), so a
 * row reads back the same whichever wrote it.
 */
void sq_cell_from_value(sq_cell *c, const sync_value *v, sq_affinity aff, sq_unit unit)
{
    c->type = SQ_CELL_NULL;
    switch (v->type) {
    case SYNC_TYPE_NULL: return;
    case SYNC_TYPE_BOOL: c->type = SQ_CELL_INT; c->i = v->u.b ? 1 : 0; return;
    case SYNC_TYPE_INT: c->type = SQ_CELL_INT; c->i = v->u.i; return;
    case SYNC_TYPE_FLOAT: c->type = SQ_CELL_REAL; c->f = v->u.f; return;
    case SYNC_TYPE_STRING:
    case SYNC_TYPE_JSON:
        c->type = SQ_CELL_TEXT;
        c->text = v->u.str.ptr;
        c->len = v->u.str.len;
        return;
    case SYNC_TYPE_TIMESTAMP:
        if (aff == SQ_AFF_INTEGER) {
            /* whole units, rounded down (also before 1970) */
            int64_t per = sq_unit_usec(unit), q = v->u.ts / per;
            if (v->u.ts % per < 0)
                q--;
            c->type = SQ_CELL_INT;
            c->i = q;
            return;
        }
        if (aff == SQ_AFF_REAL) {
            c->type = SQ_CELL_REAL;
            c->f = (double)v->u.ts / 1e6;
            return;
        }
        sq_format_timestamp(v->u.ts, c->buf, sizeof(c->buf));
        break;
    case SYNC_TYPE_DATE:
        if (aff == SQ_AFF_INTEGER) {
            c->type = SQ_CELL_INT;
            c->i = v->u.ts * 86400 * (1000000 / sq_unit_usec(unit));
            return;
        }
        sq_format_date(v->u.ts, c->buf, sizeof(c->buf));
        break;
    }
    if (v->type == SYNC_TYPE_TIMESTAMP || v->type == SYNC_TYPE_DATE) {
        c->type = SQ_CELL_TEXT;
        c->text = c->buf;
        c->len = strlen(c->buf);
    }
}

int sq_key_field(sync_ctx *ctx, const sq_target *t, const sync_record *rec, size_t k, sync_value *v)
{
    const char *name;
    if (sq_host->record_field_at(rec, t->key_idx[k], &name, v) == SYNC_OK && v->type != SYNC_TYPE_NULL)
        return 1;
    const char *key = sq_host->record_key(rec);
    if (t->n_keys == 1 && key && *key) {
        v->type = SYNC_TYPE_STRING;
        v->u.str.ptr = key;
        v->u.str.len = strlen(key);
        return 1;
    }
    sq_host->record_reject(ctx, rec, "table \"%s\": key column \"%s\" is null", t->table, t->keys[k]);
    return 0;
}

void sq_batch_report(sync_ctx *ctx, sq_target *t, size_t n, int64_t ignored, const sync_write_result *result)
{
    if (ignored) {
        sq_host->counter_add(ctx, "deletes_ignored", ignored);
        if (!t->warned_ignored)
            sq_host->log(ctx, SYNC_LOG_WARN, "table \"%s\": ignoring deleted source records "
                                             "(sink.delete_mode = ignore)", t->table);
        t->warned_ignored = 1;
    }
    sq_host->log(ctx, SYNC_LOG_DEBUG,
                 "table \"%s\": %zu record(s): %lld inserted, %lld updated, %lld unchanged, %lld deleted, %lld failed",
                 t->table, n, (long long)result->inserted, (long long)result->updated, (long long)result->unchanged,
                 (long long)result->deleted, (long long)result->failed);
}

/* Binds one record value the way the column stores it (sq_cell_from_value). */
static int bind_value(sqlite3_stmt *s, int idx, const sync_value *v, sq_affinity aff, sq_unit unit)
{
    sq_cell c;
    sq_cell_from_value(&c, v, aff, unit);
    switch (c.type) {
    case SQ_CELL_INT: return sqlite3_bind_int64(s, idx, c.i);
    case SQ_CELL_REAL: return sqlite3_bind_double(s, idx, c.f);
    case SQ_CELL_TEXT:
        /* a formatted date lives in c, so sqlite copies it; a value's text outlives the statement's step */
        return sqlite3_bind_text64(s, idx, c.text, c.len, c.text == c.buf ? SQLITE_TRANSIENT : SQLITE_STATIC,
                                   SQLITE_UTF8);
    case SQ_CELL_NULL: break;
    }
    return sqlite3_bind_null(s, idx);
}

/* Binds the key columns of rec as ?1..?k; a NULL key value is refused (returns 0 after rejecting). */
static int bind_keys(sq_sink *in, sq_target *t, sqlite3_stmt *s, const sync_record *rec)
{
    for (size_t k = 0; k < t->n_keys; k++) {
        sync_value v;
        if (!sq_key_field(in->ctx, t, rec, k, &v))
            return 0;
        bind_value(s, (int)k + 1, &v, t->aff[t->key_idx[k]], t->unit);
    }
    return 1;
}

/* Steps a write statement: 1 done, 0 the record was rejected (statement rolled back), -1 the batch fails. */
static int step_write(sq_sink *in, sq_target *t, sqlite3_stmt *s, const sync_record *rec, int *status)
{
    int rc = sqlite3_step(s);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return 1;
    int prim = rc & 0xff;
    if ((prim == SQLITE_CONSTRAINT || prim == SQLITE_MISMATCH || prim == SQLITE_TOOBIG) &&
        !sqlite3_get_autocommit(in->conn.db)) {
        sq_host->record_reject(in->ctx, rec, "table \"%s\", key %s: %s", t->table, sq_host->record_key(rec),
                               sqlite3_errmsg(in->conn.db));
        return 0;
    }
    *status = sq_fail(&in->conn, rc, "cannot write a batch");
    return -1;
}

static int save_cursor(sq_sink *in, const sync_cursor *cursor)
{
    int st;
    char at[40];
    now_text(at, sizeof(at));
    sqlite3_stmt *s = sq_prepare(&in->conn, "INSERT INTO " SQ_STATE_TABLE " (job, stream, cursor, updated_at) "
                                            "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (job, stream) DO UPDATE SET "
                                            "cursor = excluded.cursor, updated_at = excluded.updated_at", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, cursor->job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, cursor->stream, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, cursor->value, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, at, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot save the cursor");
}

int sq_sink_write(void *instance, void *target_state, const sync_batch *batch, const sync_cursor *cursor,
                  sync_write_result *result)
{
    sq_sink *in = instance;
    sq_target *t = target_state;
    memset(result, 0, sizeof(*result));
    size_t n = sq_host->batch_count(batch);
    int status = sq_begin_write(&in->conn);
    if (status != SYNC_OK)
        return status;
    if ((status = fence_check(in, t->job)) != SYNC_OK) {
        sq_rollback(&in->conn);
        return status;
    }
    int64_t ignored = 0;
    for (size_t r = 0; r < n; r++) {
        const sync_record *rec = sq_host->batch_get(batch, r);
        if (sq_host->record_op(rec) == SYNC_OP_DELETE) {
            if (t->delete_mode == DEL_IGNORE) {
                ignored++;
                result->unchanged++;
                continue;
            }
            sqlite3_stmt *s = t->delete_mode == DEL_HARD ? t->del : t->soft;
            sqlite3_clear_bindings(s);
            if (!bind_keys(in, t, s, rec)) {
                result->failed++;
                continue;
            }
            for (size_t i = 0; t->delete_mode == DEL_SOFT && i < t->n_soft; i++)
                sqlite3_bind_text(s, (int)(t->n_keys + i + 1), t->soft_vals[i], -1, SQLITE_STATIC);
            int w = step_write(in, t, s, rec, &status);
            if (w < 0)
                goto fail;
            if (w == 0)
                result->failed++;
            else if (sqlite3_changes(in->conn.db) > 0)
                result->deleted++;
            else
                result->unchanged++;
            continue;
        }
        /* is the key there already?  (inserted and updated are told apart by it) */
        sqlite3_clear_bindings(t->exists);
        if (!bind_keys(in, t, t->exists, rec)) {
            result->failed++;
            continue;
        }
        int rc = sqlite3_step(t->exists);
        int existed = rc == SQLITE_ROW;
        sqlite3_reset(t->exists);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
            status = sq_fail(&in->conn, rc, "cannot write a batch");
            goto fail;
        }
        sqlite3_clear_bindings(t->upsert);
        for (size_t i = 0; i < t->n; i++) {
            sync_value v;
            const char *name;
            if (sq_host->record_field_at(rec, i, &name, &v) != SYNC_OK)
                v.type = SYNC_TYPE_NULL;
            bind_value(t->upsert, (int)i + 1, &v, t->aff[i], t->unit);
        }
        int w = step_write(in, t, t->upsert, rec, &status);
        if (w < 0)
            goto fail;
        if (w == 0)
            result->failed++;
        else if (sqlite3_changes(in->conn.db) == 0)
            result->unchanged++;
        else if (existed)
            result->updated++;
        else
            result->inserted++;
    }
    if (cursor && cursor->value && (status = save_cursor(in, cursor)) != SYNC_OK)
        goto fail;
    if ((status = add_progress(in, t->job, n, result)) != SYNC_OK)
        goto fail;
    if ((status = sq_commit(&in->conn)) != SYNC_OK)
        return status;
    sq_batch_report(in->ctx, t, n, ignored, result);
    return SYNC_OK;
fail:
    sq_rollback(&in->conn);
    memset(result, 0, sizeof(*result));
    return status;
}

/* ------------------------------------------------------------ cursors */

int sq_sink_state_load(void *instance, const char *job, const char *stream, char **cursor_out)
{
    sq_sink *in = instance;
    *cursor_out = NULL;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT cursor FROM " SQ_STATE_TABLE " WHERE job = ?1 AND stream = ?2",
                                 &st);
    if (!s)
        return in->conn.read_only ? SYNC_E_NOTFOUND : st;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, stream, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        size_t len = strlen(v);
        *cursor_out = sq_host->alloc(len + 1);
        if (*cursor_out)
            memcpy(*cursor_out, v, len + 1);
        else
            rc = SQLITE_NOMEM;
    }
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return *cursor_out ? SYNC_OK : SYNC_E_NOMEM;
    if (rc == SQLITE_DONE)
        return SYNC_E_NOTFOUND;
    return sq_fail(&in->conn, rc, "cannot read the saved cursor");
}

int sq_sink_state_reset(void *instance, const char *job, const char *stream)
{
    sq_sink *in = instance;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "DELETE FROM " SQ_STATE_TABLE " WHERE job = ?1 AND stream = ?2", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, stream, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot reset the cursor");
}

/* ------------------------------------------------------------ run log */

/* Fields of the user's run-log table, filled where a column of the same name exists. */
static const char *const LOG_BEGIN_FIELDS[] = {"run_id", "job", "sync_type", "status", "started_at", NULL};
static const char *const LOG_END_FIELDS[] = {"status", "processed", "created", "updated", "unchanged", "deleted",
                                             "failed", "completed_at", "duration_ms", "error_message", "metadata",
                                             NULL};

static void bind_run_field(sqlite3_stmt *s, int idx, const char *f, const sync_run_info *run)
{
    char buf[40];
    if (strcmp(f, "run_id") == 0)
        sqlite3_bind_text(s, idx, run->run_id, -1, SQLITE_TRANSIENT);
    else if (strcmp(f, "job") == 0)
        sqlite3_bind_text(s, idx, run->job, -1, SQLITE_TRANSIENT);
    else if (strcmp(f, "sync_type") == 0)
        sqlite3_bind_text(s, idx, run->full_refresh ? "full" : "incremental", -1, SQLITE_STATIC);
    else if (strcmp(f, "status") == 0)
        sqlite3_bind_text(s, idx, sq_run_status_name(run->status), -1, SQLITE_STATIC);
    else if (strcmp(f, "started_at") == 0 || strcmp(f, "completed_at") == 0) {
        sq_format_timestamp(f[0] == 's' ? run->started_at : run->finished_at, buf, sizeof(buf));
        sqlite3_bind_text(s, idx, buf, -1, SQLITE_TRANSIENT);
    } else if (strcmp(f, "processed") == 0)
        sqlite3_bind_int64(s, idx, run->processed);
    else if (strcmp(f, "created") == 0)
        sqlite3_bind_int64(s, idx, run->inserted);
    else if (strcmp(f, "updated") == 0)
        sqlite3_bind_int64(s, idx, run->updated);
    else if (strcmp(f, "unchanged") == 0)
        sqlite3_bind_int64(s, idx, run->unchanged);
    else if (strcmp(f, "deleted") == 0)
        sqlite3_bind_int64(s, idx, run->deleted);
    else if (strcmp(f, "failed") == 0)
        sqlite3_bind_int64(s, idx, run->failed);
    else if (strcmp(f, "duration_ms") == 0)
        sqlite3_bind_int64(s, idx, (run->finished_at - run->started_at) / 1000);
    else if (strcmp(f, "error_message") == 0 && run->error)
        sqlite3_bind_text(s, idx, run->error, -1, SQLITE_TRANSIENT);
    else if (strcmp(f, "metadata") == 0 && run->details_json)
        sqlite3_bind_text(s, idx, run->details_json, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, idx);
}

/* INSERT (begin) or UPDATE ... WHERE run_id (finish) of the user's run-log table, with the fields it has. */
static int user_log(sq_sink *in, const char *table, const sync_run_info *run, int at_begin)
{
    sq_table tb;
    int rc = sq_table_load(&in->conn, table, &tb);
    if (rc != SYNC_OK)
        return rc;
    const char *const *fields = at_begin ? LOG_BEGIN_FIELDS : LOG_END_FIELDS;
    const char *used[16];
    size_t n = 0;
    for (size_t i = 0; fields[i]; i++)
        if (sq_table_find(&tb, fields[i]) >= 0)
            used[n++] = fields[i];
    int has_run_id = sq_table_find(&tb, "run_id") >= 0;
    sq_table_free(&tb);
    if (!has_run_id) {
        sq_host->set_error(in->ctx, "run-log table \"%s\" has no run_id column", table);
        return SYNC_E_SCHEMA;
    }
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, at_begin ? "INSERT INTO " : "UPDATE ");
    sq_buf_ident(&b, table);
    sq_buf_puts(&b, at_begin ? " (" : " SET ");
    for (size_t i = 0; i < n; i++) {
        sq_buf_puts(&b, i ? ", " : "");
        sq_buf_ident(&b, used[i]);
        if (!at_begin)
            sq_buf_printf(&b, " = ?%zu", i + 1);
    }
    if (at_begin) {
        sq_buf_puts(&b, ") VALUES (");
        for (size_t i = 0; i < n; i++)
            sq_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
        sq_buf_puts(&b, ")");
    } else {
        sq_buf_printf(&b, " WHERE \"run_id\" = ?%zu", n + 1);
    }
    char *sql = sq_buf_take(&b);
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, sql, &st);
    free(sql);
    if (!s)
        return st;
    for (size_t i = 0; i < n; i++)
        bind_run_field(s, (int)i + 1, used[i], run);
    if (!at_begin)
        sqlite3_bind_text(s, (int)n + 1, run->run_id, -1, SQLITE_TRANSIENT);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot write the run-log table");
}

int sq_sink_begin(void *instance, const sync_run_info *run)
{
    sq_sink *in = instance;
    int rc = sq_begin_write(&in->conn);
    if (rc != SYNC_OK)
        return rc;
    if ((rc = fence_check(in, run->job)) != SYNC_OK)
        goto fail;
    int st;
    /* runs of this job still "running" belong to an engine that died: this run holds the job now */
    sqlite3_stmt *s = sq_prepare(&in->conn, "UPDATE " SQ_RUNS_TABLE " SET status = 'failed', finished_at = ?2, "
                                            "error = 'the engine running it stopped before it finished (closed by "
                                            "run ' || ?3 || ')' WHERE job = ?1 AND status = 'running'", &st);
    if (!s) {
        rc = st;
        goto fail;
    }
    sqlite3_bind_text(s, 1, run->job, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, sq_host->time_now());
    sqlite3_bind_text(s, 3, run->run_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        rc = sq_fail(&in->conn, step, "cannot close earlier runs");
        goto fail;
    }
    s = sq_prepare(&in->conn, "INSERT INTO " SQ_RUNS_TABLE " (run_id, job, status, full_refresh, started_at) "
                              "VALUES (?1, ?2, 'running', ?3, ?4)", &st);
    if (!s) {
        rc = st;
        goto fail;
    }
    sqlite3_bind_text(s, 1, run->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, run->job, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, run->full_refresh ? 1 : 0);
    sqlite3_bind_int64(s, 4, run->started_at);
    step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        rc = sq_fail(&in->conn, step, "cannot record the run");
        goto fail;
    }
    const char *log_table = run->options ? sq_host->config_get_string(run->options, "run_log_table") : NULL;
    if (log_table && *log_table && (rc = user_log(in, log_table, run, 1)) != SYNC_OK)
        goto fail;
    if ((rc = sq_commit(&in->conn)) != SYNC_OK)
        return rc;
    free(in->run_id);
    free(in->log_table);
    in->run_id = strdup(run->run_id);
    in->log_table = log_table && *log_table ? strdup(log_table) : NULL;
    return run_put(in->set.path, run->job, run->run_id);
fail:
    sq_rollback(&in->conn);
    return rc;
}

int sq_sink_finish(void *instance, const sync_run_info *run)
{
    sq_sink *in = instance;
    if (!in->run_id || strcmp(in->run_id, run->run_id) != 0)
        return SYNC_OK;
    run_drop(in->set.path, run->job);
    int rc = sq_begin_write(&in->conn);
    if (rc != SYNC_OK)
        return rc;
    int fenced = fence_check(in, run->job);
    int st;
    /* a run that lost its lease closes only its own row, and only while it still says running */
    sqlite3_stmt *s = sq_prepare(&in->conn, "UPDATE " SQ_RUNS_TABLE " SET status = ?2, finished_at = ?3, "
                                            "processed = ?4, inserted = ?5, updated = ?6, unchanged = ?7, deleted = ?8, "
                                            "failed = ?9, error = ?10, details = ?11 WHERE run_id = ?1 AND "
                                            "status = 'running'", &st);
    if (!s) {
        rc = st;
        goto fail;
    }
    sqlite3_bind_text(s, 1, run->run_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, sq_run_status_name(run->status), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, run->finished_at);
    int64_t counts[] = {run->processed, run->inserted, run->updated, run->unchanged, run->deleted, run->failed};
    for (int i = 0; i < 6; i++)
        sqlite3_bind_int64(s, 4 + i, counts[i]);
    if (run->error)
        sqlite3_bind_text(s, 10, run->error, -1, SQLITE_STATIC);
    if (run->details_json)
        sqlite3_bind_text(s, 11, run->details_json, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    sqlite3_finalize(s);
    if (step != SQLITE_DONE) {
        rc = sq_fail(&in->conn, step, "cannot close the run");
        goto fail;
    }
    if (fenced == SYNC_OK && in->log_table && (rc = user_log(in, in->log_table, run, 0)) != SYNC_OK)
        goto fail;
    return sq_commit(&in->conn);
fail:
    sq_rollback(&in->conn);
    return rc;
}

int sq_sink_runs(void *instance, const char *job, int max, void (*each)(const sync_run_info *run, void *payload),
                 void *payload)
{
    sq_sink *in = instance;
    int st;
    sqlite3_stmt *s = sq_prepare(&in->conn, "SELECT run_id, job, status, full_refresh, started_at, finished_at, "
                                            "processed, inserted, updated, unchanged, deleted, failed, error FROM "
                                            SQ_RUNS_TABLE " WHERE job = ?1 ORDER BY started_at DESC, rowid DESC "
                                            "LIMIT ?2", &st);
    if (!s)
        return st;
    sqlite3_bind_text(s, 1, job, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, max);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        sync_run_info r;
        memset(&r, 0, sizeof(r));
        r.struct_size = sizeof(r);
        r.run_id = (const char *)sqlite3_column_text(s, 0);
        r.job = (const char *)sqlite3_column_text(s, 1);
        const char *status = (const char *)sqlite3_column_text(s, 2);
        r.status = SYNC_RUN_FAILED;
        for (int i = 0; i < 5; i++)
            if (status && strcmp(status, sq_run_status[i]) == 0)
                r.status = (sync_run_status)i;
        r.full_refresh = sqlite3_column_int(s, 3);
        r.started_at = sqlite3_column_int64(s, 4);
        r.finished_at = sqlite3_column_int64(s, 5);
        r.processed = sqlite3_column_int64(s, 6);
        r.inserted = sqlite3_column_int64(s, 7);
        r.updated = sqlite3_column_int64(s, 8);
        r.unchanged = sqlite3_column_int64(s, 9);
        r.deleted = sqlite3_column_int64(s, 10);
        r.failed = sqlite3_column_int64(s, 11);
        r.error = (const char *)sqlite3_column_text(s, 12);
        each(&r, payload);
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? SYNC_OK : sq_fail(&in->conn, rc, "cannot read the runs");
}

int sq_sink_setup(sync_ctx *ctx, const sync_config *cfg, int apply, char **ddl_out)
{
    if (ddl_out) {
        *ddl_out = sq_host->alloc(sizeof(sq_state_ddl));
        if (!*ddl_out)
            return SYNC_E_NOMEM;
        memcpy(*ddl_out, sq_state_ddl, sizeof(sq_state_ddl));
    }
    if (!apply)
        return SYNC_OK;
    sq_settings set;
    sq_conn c;
    int rc = sq_conn_open_config(&c, &set, ctx, cfg, 0);
    if (rc != SYNC_OK)
        return rc;
    rc = sq_exec(&c, sq_state_ddl);
    sq_conn_close(&c);
    sq_settings_free(&set);
    return rc;
}

/* ------------------------------------------------------------ probe */

int sq_sink_probe(void *instance, const sync_check *chk)
{
    sq_sink *in = instance;
    sq_problems p = {.ctx = in->ctx, .chk = chk};
    if (!chk->stream) {
        const char *log_table =
            chk->job_options ? sq_host->config_get_string(chk->job_options, "run_log_table") : NULL;
        if (log_table && *log_table) {
            sq_table tb;
            int rc = sq_table_load(&in->conn, log_table, &tb);
            if (rc == SYNC_E_NOTFOUND)
                sq_problem(&p, SYNC_E_SCHEMA, sq_host->config_where(chk->job_options, "run_log_table"),
                           "run-log table \"%s\" does not exist in %s", log_table, in->set.path);
            else if (rc != SYNC_OK)
                return rc;
            else {
                if (sq_table_find(&tb, "run_id") < 0)
                    sq_problem(&p, SYNC_E_SCHEMA, sq_host->config_where(chk->job_options, "run_log_table"),
                               "run-log table \"%s\" has no run_id column", log_table);
                sq_table_free(&tb);
            }
        }
        return p.n ? SYNC_E_CONFIG : SYNC_OK;
    }
    sq_target *t = calloc(1, sizeof(*t));
    if (!t)
        return SYNC_E_NOMEM;
    int rc = target_resolve(in, chk->object, chk->columns, chk->n_columns, chk->column_where, chk->stream_where,
                            chk->stream_options, &p, t);
    sq_target_free(t);
    if (p.n)
        return SYNC_E_CONFIG;
    return rc;
}
