/*
 * core/tenant.c - tenant sets: reading them, scheduling their tenants,
 * instantiating a template job for one tenant's run, and writing back what
 * belongs to a tenant's row (see tenant.h).
 *
 * A tenant's instance is the configuration file loaded again with the row set
 * for ${tenant.X} (conf_interp.c, expr_parse.c), bound against the engine's
 * plugins and compiled; its job is renamed JOB@KEY.  Loading is serialized
 * (inih's settings are global), the runs themselves are not.  The values of
 * the secret columns (credentials) are registered for redaction before the
 * file is loaded, and never reach the state file: the instance's plugin state
 * is kept under a namespace of its own (core/host.c), and rotated tokens go
 * to the tenant's row through store_credentials.
 */
#include "tenant.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine.h"
#include "hostapi.h"
#include "log.h"
#include "sink_query.h"
#include "status.h"
#include "timeutil.h"

typedef struct tenant {
    char *key;
    char *job;                /* JOB@KEY */
    json_t *row;              /* latest row read */
    uint64_t hash;            /* of the row */
    char *instance;           /* value of instance_column, or NULL */
    int64_t interval_us;      /* from the row; 0: the job's schedule */
    int64_t offset_us;        /* stable: spreads starts over the period */
    int64_t next_due;
    int64_t last_start;       /* 0: never started by this engine */
    int present;              /* in the latest rows */
    int running;
    int blocked;              /* credentials rejected: waits for the row to change */
    uint64_t blocked_hash;    /* the row as it was after the failure was marked; 0: not read yet */
    int last_exit;
} tenant;

typedef struct group {
    syncc_job_rt *tmpl;       /* the template job in the engine */
    syncc_tenant_set *set;
    tenant **t;
    size_t n, cap;
    int64_t next_refresh;
    int64_t window_us;        /* the schedule's period, for offsets */
    int planned;              /* first pass done */
    int refreshing;
} group;

struct syncc_tenants {
    group *g;
    size_t n_groups;
    int refresh_soon;
};

/* inih's run-time settings are global: one instantiation at a time */
static pthread_mutex_t load_lock = PTHREAD_MUTEX_INITIALIZER;

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

/* The value at a column path of row, or NULL. */
static const json_t *row_path(const json_t *row, const char *path)
{
    const json_t *v = row;
    char part[256];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n == 0 || n >= sizeof(part) || !json_is_object(v))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        path += n;
        if (*path == '.')
            path++;
    }
    return json_is_null(v) ? NULL : v;
}

/* A row value as text (malloc'ed), or NULL. */
static char *row_text(const json_t *row, const char *path)
{
    const json_t *v = row_path(row, path);
    char buf[64];
    if (v == NULL)
        return NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
        return strdup(buf);
    }
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

/* The redaction scope of a tenant's secrets (core/log.h). */
static void secret_scope(const char *set, const char *key, char *out, size_t size)
{
    snprintf(out, size, "tenant %s %s", set, key);
}

void syncc_tenant_secret_scope(const syncc_tenant_ref *ref, char *out, size_t size)
{
    secret_scope(ref->set->name, ref->key, out, size);
}

/* Every string inside v registered for redaction (a JSON text column is parsed first). */
static void add_secrets(const char *scope, const json_t *v)
{
    if (json_is_string(v)) {
        json_t *inner = json_loads(json_string_value(v), JSON_DECODE_ANY, NULL);
        if (inner && (json_is_object(inner) || json_is_array(inner)))
            add_secrets(scope, inner);
        json_decref(inner);
        syncc_log_add_scoped_secret(scope, json_string_value(v));
    } else if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x) add_secrets(scope, x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) add_secrets(scope, x);
    }
}

/*
 * The row's secrets replace the ones registered for its tenant before: a token
 * that rotated away is no longer in the row, and the list of secrets every log
 * line is checked against does not grow with every rotation.
 */
static void register_secrets(const syncc_tenant_set *set, const char *key, const json_t *row)
{
    char scope[600];
    secret_scope(set->name, key, scope, sizeof(scope));
    syncc_log_drop_scope(scope);
    for (size_t i = 0; i < set->n_secret_columns; i++)
        add_secrets(scope, row_path(row, set->secret_columns[i]));
}

/* ------------------------------------------------------------ statements */

/* Opens the set's connection, runs sql with params, closes.  *rows (when asked) gets the parsed rows. */
static int run_statement(syncc_engine *e, const syncc_tenant_set *set, const char *job, const char *sql,
                         const char *const *params, size_t n_params, json_t **rows, char *err, size_t errlen)
{
    const syncc_instance *in = set->connection;
    const syncc_plugin *p = syncc_registry_find(&e->registry, in->plugin_name);
    if (rows)
        *rows = NULL;
    if (p == NULL || p->sink.query == NULL) {
        snprintf(err, errlen, "%s:%d: [tenants %s]: the plugin '%s' of [sink %s] cannot run statements (it has no "
                 "query operation)", set->section->file, set->section->line, set->name, in->plugin_name, in->name);
        return SYNC_E_UNSUPPORTED;
    }
    sync_ctx *ctx = syncc_ctx_new(job, in->name, in->plugin_name);
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return SYNC_E_NOMEM;
    }
    ctx->cancel = &e->stop;
    void *inst = NULL;
    int rc = p->sink.open(ctx, in->config, &inst);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "sink '%s' failed to open: %s%s%s", in->name, syncc_strerror(rc),
                 ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        syncc_ctx_free(ctx);
        return rc;
    }
    rc = syncc_sink_query(p, inst, ctx, sql, params, n_params, rows, err, errlen);
    p->sink.close(inst);
    syncc_ctx_free(ctx);
    return rc;
}

static int read_rows(syncc_engine *e, const syncc_tenant_set *set, json_t **rows, char *err, size_t errlen)
{
    char job[300];
    snprintf(job, sizeof(job), "tenants %s", set->name);
    int rc = run_statement(e, set, job, set->query, (const char *const *)set->params, set->n_params, rows, err,
                           errlen);
    if (rc != SYNC_OK) {
        char why[1200];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s:%d: [tenants %s]: reading the tenants failed: %s", set->section->file,
                 set->section->line, set->name, why);
    }
    return rc;
}

int syncc_tenant_store_credentials(syncc_tenant_ref *ref, const char *const *names, const char *const *values,
                                   size_t n)
{
    if (ref == NULL || ref->set->store_credentials == NULL)
        return SYNC_E_UNSUPPORTED;
    json_t *o = json_object();
    for (size_t i = 0; o && i < n; i++) {
        if (names[i] == NULL)
            continue;
        json_object_set_new(o, names[i], values[i] ? json_string(values[i]) : json_null());
    }
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (text == NULL)
        return SYNC_E_NOMEM;
    const char *params[] = {ref->key, text};
    char err[1400];
    int rc = run_statement(ref->e, ref->set, ref->job, ref->set->store_credentials, params, 2, NULL, err,
                           sizeof(err));
    free(text);
    syncc_log_ctx lc = {.job = ref->job};
    if (rc != SYNC_OK)
        syncc_log(SYNC_LOG_ERROR, &lc, "storing the new credentials failed (%s:%d, store_credentials): %s",
                  ref->set->section->file, ref->set->section->line, err);
    else
        syncc_log(SYNC_LOG_INFO, &lc, "new credentials stored in the tenant's row");
    return rc;
}

/* ------------------------------------------------------------ instances */

typedef struct instance {
    syncc_conf *conf;
    syncc_job_rt rt;
    syncc_tenant_ref ref;
} instance;

static const sync_plugin *lookup_plugin(const char *name, void *payload)
{
    const syncc_plugin *p = syncc_registry_find(payload, name);
    return p ? &p->def : NULL;
}

static void quiet_warning(const char *message, void *payload)
{
    (void)payload;
    syncc_log(SYNC_LOG_DEBUG, NULL, "%s", message);
}

static void instance_free(instance *in)
{
    if (in == NULL)
        return;
    syncc_state_close(in->rt.plugin_state);
    for (size_t s = 0; s < in->rt.n_streams; s++)
        syncc_mapping_free(in->rt.streams[s].mapping);
    free(in->rt.streams);
    if (in->conf)
        syncc_conf_free(in->conf);
    free(in->ref.key);
    free(in->ref.job);
    free(in);
}

/*
 * The store of a tenant's plugin state: STATE_DIR/tenants/JOB@KEY/state.json.
 * The engine's state file is read and rewritten whole on every change: a
 * thousand tenants' describes in it would make every access cost them all.
 */
static syncc_state *open_plugin_state(syncc_engine *e, const char *job, char *err, size_t errlen)
{
    const char *file = syncc_state_path(e->state);
    const char *slash = strrchr(file, '/');
    char name[200], dir[4096];
    size_t n = 0;
    for (const char *p = job; *p && n + 1 < sizeof(name); p++) {
        char c = *p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                 c == '_' || c == '@' || (c == '.' && n > 0);
        name[n++] = ok ? c : '_';
    }
    name[n] = '\0';
    if (strlen(job) >= sizeof(name) - 1 || strcmp(name, job) != 0) /* shortened or changed: keep it unique */
        snprintf(name + (n > 150 ? 150 : n), sizeof(name) - (n > 150 ? 150 : n), "-%016llx",
                 (unsigned long long)fnv1a(job));
    snprintf(dir, sizeof(dir), "%.*s/tenants/%s", slash ? (int)(slash - file) : 1, slash ? file : ".", name);
    return syncc_state_open(dir, err, errlen);
}

/* Builds the template's job for one row; NULL with a message naming the file:line. */
static instance *instantiate(syncc_engine *e, group *g, const char *key, const char *job, const json_t *row,
                             char *err, size_t errlen)
{
    instance *in = calloc(1, sizeof(*in));
    if (in == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    in->ref.e = e;
    in->ref.set = g->set;
    in->ref.key = strdup(key);
    in->ref.job = strdup(job);
    pthread_mutex_lock(&load_lock);
    syncc_conf_set_tenant(row);
    in->conf = syncc_conf_load(e->conf->path, err, errlen);
    int ok = in->conf != NULL && in->ref.key && in->ref.job;
    if (ok) {
        in->conf->warn = quiet_warning;
        ok = syncc_conf_bind(in->conf, lookup_plugin, &e->registry, err, errlen) == 0;
    }
    syncc_job *j = ok ? syncc_conf_job(in->conf, g->tmpl->conf->name) : NULL;
    if (ok && (j == NULL || j->tenants == NULL)) {
        snprintf(err, errlen, "%s: job '%s' is no longer a template of [tenants %s] (reload with SIGHUP)",
                 e->conf->path, g->tmpl->conf->name, g->set->name);
        ok = 0;
    }
    if (ok) {
        /* the tenant's own values in its scope; the file's own were registered for good at load */
        char scope[600];
        secret_scope(g->set->name, key, scope, sizeof(scope));
        for (size_t i = 0; i < in->conf->n_secrets; i++)
            syncc_log_add_scoped_secret(scope, in->conf->secrets[i]);
        free(j->name);
        j->name = strdup(job);
        in->rt.conf = j;
        in->rt.tenant = &in->ref;
        ok = j->name != NULL && syncc_engine_compile_job(e, &in->rt, err, errlen) == SYNCC_EXIT_OK;
    }
    if (ok && e->state != NULL)
        ok = (in->rt.plugin_state = open_plugin_state(e, job, err, errlen)) != NULL;
    syncc_conf_set_tenant(NULL);
    pthread_mutex_unlock(&load_lock);
    if (!ok) {
        instance_free(in);
        return NULL;
    }
    return in;
}

/* ------------------------------------------------------------ the set */

static group *groups(syncc_engine *e, size_t *n)
{
    *n = e->tenants ? e->tenants->n_groups : 0;
    return e->tenants ? e->tenants->g : NULL;
}

int syncc_tenants_init(syncc_engine *e)
{
    e->tenants = calloc(1, sizeof(*e->tenants));
    if (e->tenants == NULL)
        return -1;
    size_t n = 0;
    for (size_t j = 0; j < e->n_jobs; j++)
        n += e->jobs[j].conf->tenants != NULL;
    e->tenants->g = calloc(n + 1, sizeof(group));
    if (e->tenants->g == NULL)
        return -1;
    for (size_t j = 0; j < e->n_jobs; j++) {
        if (e->jobs[j].conf->tenants == NULL)
            continue;
        group *g = &e->tenants->g[e->tenants->n_groups++];
        g->tmpl = &e->jobs[j];
        g->set = e->jobs[j].conf->tenants;
    }
    return 0;
}

static void tenant_free(tenant *t)
{
    if (t == NULL)
        return;
    free(t->key);
    free(t->job);
    free(t->instance);
    json_decref(t->row);
    free(t);
}

void syncc_tenants_free(syncc_engine *e)
{
    if (e->tenants == NULL)
        return;
    for (size_t i = 0; i < e->tenants->n_groups; i++) {
        group *g = &e->tenants->g[i];
        for (size_t k = 0; k < g->n; k++)
            tenant_free(g->t[k]);
        free(g->t);
    }
    free(e->tenants->g);
    free(e->tenants);
    e->tenants = NULL;
}

int syncc_tenants_running(syncc_engine *e)
{
    size_t ng;
    group *gs = groups(e, &ng);
    int n = 0;
    for (size_t i = 0; i < ng; i++)
        for (size_t k = 0; k < gs[i].n; k++)
            n += gs[i].t[k]->running;
    return n;
}

void syncc_tenants_refresh_soon(syncc_engine *e)
{
    if (e->tenants)
        e->tenants->refresh_soon = 1;
}

/* The first slot of t after now. */
static int64_t next_slot(const group *g, const tenant *t, int64_t now)
{
    if (t->interval_us > 0) {
        int64_t off = t->offset_us % t->interval_us;
        int64_t k = (now - off) / t->interval_us;
        return (k + 1) * t->interval_us + off;
    }
    int64_t off = g->window_us > 0 ? t->offset_us % g->window_us : 0;
    return syncc_cron_next(&g->tmpl->cron, now - off) + off;
}

static tenant *find_tenant(group *g, const char *key)
{
    for (size_t k = 0; k < g->n; k++)
        if (strcmp(g->t[k]->key, key) == 0)
            return g->t[k];
    return NULL;
}

/* Takes the rows just read into g.  Caller holds e->lock. */
static void apply_rows(syncc_engine *e, group *g, json_t *rows, int64_t now, int right_away)
{
    syncc_tenant_set *set = g->set;
    for (size_t k = 0; k < g->n; k++)
        g->t[k]->present = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char *key = row_text(row, set->key);
        if (key == NULL || !*key) {
            syncc_log(SYNC_LOG_ERROR, &(syncc_log_ctx){.job = g->tmpl->conf->name},
                      "[tenants %s]: row %zu has no value in its key column '%s'; skipped", set->name, i + 1,
                      set->key);
            free(key);
            continue;
        }
        register_secrets(set, key, row);
        char *text = json_dumps(row, JSON_COMPACT | JSON_SORT_KEYS);
        uint64_t h = text ? fnv1a(text) : 1;
        free(text);
        tenant *t = find_tenant(g, key);
        if (t != NULL && t->present) {
            syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = t->job},
                      "[tenants %s]: key '%s' appears in more than one row; the first is used", set->name, key);
            free(key);
            continue;
        }
        if (t == NULL) {
            t = calloc(1, sizeof(*t));
            tenant **grown = g->n == g->cap ? realloc(g->t, (g->cap ? g->cap * 2 : 16) * sizeof(*grown)) : g->t;
            if (t == NULL || grown == NULL) {
                free(t);
                free(key);
                continue;
            }
            if (g->n == g->cap)
                g->cap = g->cap ? g->cap * 2 : 16;
            g->t = grown;
            t->key = key;
            key = NULL;
            if (asprintf(&t->job, "%s@%s", g->tmpl->conf->name, t->key) < 0)
                t->job = NULL;
            t->offset_us = (int64_t)(fnv1a(t->key) % 86400ULL) * 1000000LL;
            g->t[g->n++] = t;
            t->next_due = -1;
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = t->job}, "tenant added");
        } else if (t->hash != h) {
            if (t->blocked && t->blocked_hash != 0) {
                t->blocked = 0;
                syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = t->job},
                          "tenant's row changed: its credentials are tried again");
            }
        }
        free(key);
        if (t->blocked && t->blocked_hash == 0)
            t->blocked_hash = h; /* the row as our on_auth_failure left it */
        t->present = 1;
        if (t->hash != h) {
            json_decref(t->row);
            t->row = json_incref(row);
            t->hash = h;
            free(t->instance);
            t->instance = set->instance_column ? row_text(row, set->instance_column) : NULL;
            int64_t old = t->interval_us;
            t->interval_us = 0;
            const json_t *iv = set->interval ? row_path(row, set->interval) : NULL;
            double minutes = json_is_number(iv) ? json_number_value(iv)
                             : json_is_string(iv) ? strtod(json_string_value(iv), NULL) : 0;
            if (minutes > 0)
                t->interval_us = (int64_t)(minutes * 60e6);
            if (old != t->interval_us && t->next_due >= 0) /* a new interval: from now on */
                t->next_due = next_slot(g, t, now);
        }
        if (t->next_due < 0) {
            t->next_due = right_away ? now : next_slot(g, t, now);
            char ts[40];
            syncc_time_format(t->next_due, ts, sizeof(ts));
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = t->job}, "next run at %s", ts);
        }
    }
    /* gone (or disabled): dropped now, or when its run ends */
    size_t w = 0;
    for (size_t k = 0; k < g->n; k++) {
        tenant *t = g->t[k];
        if (!t->present && !t->running) {
            syncc_log(SYNC_LOG_INFO, &(syncc_log_ctx){.job = t->job}, "tenant removed");
            tenant_free(t);
            continue;
        }
        g->t[w++] = t;
    }
    g->n = w;
    (void)e;
}

static void refresh(syncc_engine *e, group *g, int64_t now, int right_away)
{
    char err[2048];
    json_t *rows = NULL;
    int rc = read_rows(e, g->set, &rows, err, sizeof(err));
    pthread_mutex_lock(&e->lock);
    if (rc != SYNC_OK) {
        /* the tenants known stay as they are; the next pass tries again */
        syncc_log(SYNC_LOG_ERROR, &(syncc_log_ctx){.job = g->tmpl->conf->name}, "%s", err);
    } else {
        apply_rows(e, g, rows, now, right_away);
    }
    g->next_refresh = now + g->set->refresh_ms * 1000;
    pthread_mutex_unlock(&e->lock);
    json_decref(rows);
}

/* ------------------------------------------------------------ runs */

typedef struct run_arg {
    syncc_engine *e;
    group *g;
    tenant *t;
    json_t *row;              /* the run's own copy */
    char *key, *job;
} run_arg;

static int is_auth_failure(const syncc_run_result *res)
{
    return res->status == SYNC_RUN_FAILED && res->code == SYNC_E_AUTH;
}

static void *tenant_thread(void *p)
{
    run_arg *a = p;
    syncc_engine *e = a->e;
    syncc_run_result res;
    memset(&res, 0, sizeof(res));
    char err[2048];
    int code;
    syncc_log_ctx lc = {.job = a->job};
    instance *in = instantiate(e, a->g, a->key, a->job, a->row, err, sizeof(err));
    if (in == NULL) {
        /* this tenant's row does not make a valid job (a malformed credentials value...): its own failure */
        syncc_log(SYNC_LOG_ERROR, &lc, "cannot instantiate the tenant's job: %s", err);
        res.status = SYNC_RUN_FAILED;
        res.code = SYNC_E_CONFIG;
        snprintf(res.error, sizeof(res.error), "cannot instantiate the tenant's job: %s", err);
        syncc_job_record(e, a->job, &res);
        code = SYNCC_EXIT_CONFIG;
    } else {
        code = syncc_job_run(e, &in->rt, &res);
    }
    int marked = 0;
    if (is_auth_failure(&res) && a->g->set->on_auth_failure != NULL) {
        const char *params[] = {a->key, res.error};
        char merr[1400];
        int rc = run_statement(e, a->g->set, a->job, a->g->set->on_auth_failure, params, 2, NULL, merr,
                               sizeof(merr));
        if (rc != SYNC_OK)
            syncc_log(SYNC_LOG_ERROR, &lc, "on_auth_failure (%s:%d) failed: %s", a->g->set->section->file,
                      a->g->set->section->line, merr);
        else
            marked = 1;
    }
    if (is_auth_failure(&res))
        syncc_log(SYNC_LOG_WARN, &lc, "credentials rejected%s: the tenant is not run again until its row changes",
                  marked ? " (marked by on_auth_failure)" : "");
    instance_free(in);
    pthread_mutex_lock(&e->lock);
    a->t->running = 0;
    a->t->last_exit = code;
    if (is_auth_failure(&res)) {
        a->t->blocked = 1;
        a->t->blocked_hash = 0; /* taken from the next read of the row */
        if (e->tenants)
            e->tenants->refresh_soon = 1;
    }
    syncc_thread_ended(e);
    pthread_cond_broadcast(&e->changed);
    pthread_mutex_unlock(&e->lock);
    json_decref(a->row);
    free(a->key);
    free(a->job);
    free(a);
    return NULL;
}

/* Starts t's run on its own thread.  Caller holds e->lock. */
static int start_tenant(syncc_engine *e, group *g, tenant *t, int64_t now)
{
    run_arg *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return -1;
    a->e = e;
    a->g = g;
    a->t = t;
    a->row = json_deep_copy(t->row);
    a->key = strdup(t->key);
    a->job = t->job ? strdup(t->job) : NULL;
    if (a->row == NULL || a->key == NULL || a->job == NULL)
        goto fail;
    t->running = 1;
    t->last_start = now;
    pthread_t th; /* joinable: joined once ended (syncc_threads_reap) */
    int rc = pthread_create(&th, NULL, tenant_thread, a);
    if (rc == 0)
        return 0;
    t->running = 0;
fail:
    json_decref(a->row);
    free(a->key);
    free(a->job);
    free(a);
    return -1;
}

static int64_t max_jobs(syncc_engine *e)
{
    return e->conf->engine.max_jobs > 0 ? e->conf->engine.max_jobs : 4;
}

/* Running tenants of g with instance value inst. */
static int64_t on_instance(const group *g, const char *inst)
{
    int64_t n = 0;
    for (size_t k = 0; k < g->n; k++)
        n += g->t[k]->running && g->t[k]->instance && strcmp(g->t[k]->instance, inst) == 0;
    return n;
}

static int by_last_start(const void *a, const void *b)
{
    const tenant *x = *(tenant *const *)a, *y = *(tenant *const *)b;
    return (x->last_start > y->last_start) - (x->last_start < y->last_start);
}

/* Starts what is due in g within the caps; returns how many are due but waiting.  Caller holds e->lock. */
static size_t start_due(syncc_engine *e, group *g, int64_t now, int (*running)(syncc_engine *), int64_t *next)
{
    tenant **due = calloc(g->n + 1, sizeof(*due));
    size_t n_due = 0, waiting = 0;
    if (due == NULL)
        return 0;
    for (size_t k = 0; k < g->n; k++) {
        tenant *t = g->t[k];
        if (!t->present || t->blocked || t->next_due < 0)
            continue;
        if (t->next_due <= now) {
            if (t->running) {
                /* an overrunning tenant does not pile up runs: the slot is skipped */
                syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = t->job},
                          "previous run still going; this slot is skipped");
                t->next_due = next_slot(g, t, now);
            } else {
                due[n_due++] = t;
                continue;
            }
        }
        if (t->next_due < *next)
            *next = t->next_due;
    }
    /* behind: the least recently started first */
    qsort(due, n_due, sizeof(*due), by_last_start);
    for (size_t k = 0; k < n_due; k++) {
        tenant *t = due[k];
        int capped = running(e) >= max_jobs(e);
        if (!capped && g->set->max_per_instance > 0 && t->instance != NULL &&
            on_instance(g, t->instance) >= g->set->max_per_instance)
            capped = 1;
        if (capped || e->stop) {
            waiting++;
            continue;
        }
        if (start_tenant(e, g, t, now) != 0)
            syncc_log(SYNC_LOG_ERROR, &(syncc_log_ctx){.job = t->job}, "cannot start the tenant's run");
        t->next_due = next_slot(g, t, now);
        if (t->next_due < *next)
            *next = t->next_due;
    }
    free(due);
    return waiting;
}

/* All runs going on: the engine's jobs' and the tenants'.  Caller holds e->lock. */
static int all_running(syncc_engine *e)
{
    int n = syncc_tenants_running(e);
    for (size_t j = 0; j < e->n_jobs; j++)
        n += e->jobs[j].running;
    return n;
}

static void plan_group(group *g, int64_t now)
{
    int64_t a = syncc_cron_next(&g->tmpl->cron, now);
    int64_t b = a > 0 ? syncc_cron_next(&g->tmpl->cron, a) : 0;
    g->window_us = b > a ? b - a : 0;
    g->planned = 1;
}

void syncc_tenants_tick(syncc_engine *e, int64_t now, int first, int64_t *next)
{
    size_t ng;
    group *gs = groups(e, &ng);
    int soon = e->tenants && e->tenants->refresh_soon;
    if (e->tenants)
        e->tenants->refresh_soon = 0;
    for (size_t i = 0; i < ng; i++) {
        group *g = &gs[i];
        if (!g->tmpl->conf->enabled)
            continue;
        if (!g->planned)
            plan_group(g, now);
        if (soon || first || now >= g->next_refresh)
            refresh(e, g, now, first && e->run_at_start);
        if (g->next_refresh < *next)
            *next = g->next_refresh;
        pthread_mutex_lock(&e->lock);
        if (start_due(e, g, now, all_running, next) > 0 && now + 1000000 < *next)
            *next = now + 1000000;
        pthread_mutex_unlock(&e->lock);
    }
}

int syncc_tenants_run_once(syncc_engine *e, const char *only_job, const char *only_key, int *any)
{
    size_t ng;
    group *gs = groups(e, &ng);
    int code = SYNCC_EXIT_OK;
    *any = 0;
    for (size_t i = 0; i < ng && !e->stop; i++) {
        group *g = &gs[i];
        if (only_job != NULL ? strcmp(only_job, g->tmpl->conf->name) != 0 : !g->tmpl->conf->enabled)
            continue;
        *any = 1;
        plan_group(g, syncc_time_now());
        char err[2048];
        json_t *rows = NULL;
        if (read_rows(e, g->set, &rows, err, sizeof(err)) != SYNC_OK) {
            syncc_log(SYNC_LOG_ERROR, &(syncc_log_ctx){.job = g->tmpl->conf->name}, "%s", err);
            code = SYNCC_EXIT_FAILED;
            continue;
        }
        int64_t now = syncc_time_now();
        pthread_mutex_lock(&e->lock);
        apply_rows(e, g, rows, now, 1);
        json_decref(rows);
        if (g->n == 0)
            syncc_log(SYNC_LOG_WARN, &(syncc_log_ctx){.job = g->tmpl->conf->name},
                      "[tenants %s] has no rows: nothing to run", g->set->name);
        size_t matched = 0;
        for (size_t k = 0; k < g->n; k++) {
            g->t[k]->last_exit = SYNCC_EXIT_OK;
            if (only_key != NULL && strcmp(only_key, g->t[k]->key) != 0)
                g->t[k]->next_due = INT64_MAX; /* `run JOB@KEY`: that tenant alone */
            else
                matched++;
        }
        if (only_key != NULL && matched == 0) {
            syncc_log(SYNC_LOG_ERROR, &(syncc_log_ctx){.job = g->tmpl->conf->name},
                      "no tenant '%s' in [tenants %s] (not among its rows)", only_key, g->set->name);
            code = SYNCC_EXIT_CONFIG;
        }
        for (;;) {
            int64_t next = INT64_MAX;
            size_t waiting = start_due(e, g, now, all_running, &next);
            int pending = 0;
            for (size_t k = 0; k < g->n; k++)
                pending += g->t[k]->present && !g->t[k]->blocked && g->t[k]->next_due <= now;
            if ((waiting == 0 && pending == 0) || e->stop)
                break;
            pthread_cond_wait(&e->changed, &e->lock);
        }
        while (syncc_tenants_running(e) > 0)
            pthread_cond_wait(&e->changed, &e->lock);
        for (size_t k = 0; k < g->n; k++)
            code = syncc_exit_worse(code, g->t[k]->last_exit);
        pthread_mutex_unlock(&e->lock);
    }
    return code;
}

int syncc_tenants_list(syncc_engine *e, const syncc_job_rt *tmpl, void (*each)(const char *job, void *payload),
                       void *payload, char *err, size_t errlen)
{
    json_t *rows = NULL;
    int rc = read_rows(e, tmpl->conf->tenants, &rows, err, errlen);
    if (rc != SYNC_OK)
        return rc;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char *key = row_text(row, tmpl->conf->tenants->key);
        if (key && *key) {
            char job[512];
            snprintf(job, sizeof(job), "%s@%s", tmpl->conf->name, key);
            each(job, payload);
        }
        free(key);
    }
    json_decref(rows);
    return SYNC_OK;
}

int syncc_tenants_check_connect(syncc_engine *e, syncc_job_rt *tmpl, syncc_problems *out, char *err, size_t errlen)
{
    group g;
    memset(&g, 0, sizeof(g));
    g.tmpl = tmpl;
    g.set = tmpl->conf->tenants;
    json_t *rows = NULL;
    err[0] = '\0';
    int rc = read_rows(e, g.set, &rows, err, errlen);
    if (rc != SYNC_OK)
        return rc;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        char *key = row_text(row, g.set->key);
        char job[512], why[2048];
        snprintf(job, sizeof(job), "%s@%s", tmpl->conf->name, key ? key : "");
        if (key == NULL || !*key) {
            snprintf(why, sizeof(why), "[tenants %s]: row %zu has no value in its key column '%s'", g.set->name,
                     i + 1, g.set->key);
            syncc_problems_add(out, g.set->section->file, why);
            free(key);
            continue;
        }
        register_secrets(g.set, key, row);
        instance *in = instantiate(e, &g, key, job, row, why, sizeof(why));
        if (in == NULL) {
            char msg[2300];
            snprintf(msg, sizeof(msg), "job '%s': %s", job, why);
            syncc_problems_add(out, e->conf->path, msg);
        } else {
            why[0] = '\0';
            int crc = syncc_check_connect(e, &in->rt, out, why, sizeof(why));
            if (crc != SYNC_OK) {
                snprintf(err, errlen, "job '%s': %s", job, why);
                rc = crc;
            }
            instance_free(in);
        }
        free(key);
    }
    json_decref(rows);
    return rc;
}
