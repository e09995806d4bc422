/*
 * core/engine.c - building an engine from a configuration file (see engine.h).
 *
 * Everything that can be wrong in a configuration is found here, before any
 * job touches the network: missing or broken plugins, unknown options, bad
 * values, mapping expressions that do not compile, schedules that do not
 * parse.  Errors name the file and line.
 */
#include "engine.h"
#include "twoway_map.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "hostapi.h"
#include "http/http.h"
#include "log.h"

static const sync_plugin *lookup_plugin(const char *name, void *payload)
{
    const syncc_plugin *p = syncc_registry_find(payload, name);
    return p ? &p->def : NULL;
}

/* Explains why plugin NAME is not available: the search path and any load failures. */
static void explain_missing(const syncc_registry *r, char dirs[][4096], size_t n_dirs, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "searched:");
    for (size_t i = 0; i < n_dirs && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, " %s", dirs[i]);
    if (n_dirs == 0 && n < size)
        n += (size_t)snprintf(buf + n, size - n, " (no plugin directory found; use --plugin-dir)");
    for (size_t i = 0; i < r->n_errors && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "; %s", r->errors[i].reason);
}

/* Configuration warnings (deprecated options, readable secrets) go to the log. */
static void conf_warning(const char *message, void *payload)
{
    (void)payload;
    syncc_log(SYNC_LOG_WARN, NULL, "%s", message);
}

static char *default_state_dir(const syncc_conf *conf)
{
    const char *env = getenv("SYNCENGINE_STATE_DIR");
    if (env && *env)
        return strdup(env);
    env = getenv("STATE_DIRECTORY"); /* systemd StateDirectory=; the first of a ':' list is ours */
    if (env && *env)
        return strndup(env, strcspn(env, ":"));
    char *out = NULL;
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg) {
        if (asprintf(&out, "%s/syncengine", xdg) < 0)
            out = NULL;
    } else if (getuid() == 0) {
        out = strdup("/var/lib/syncengine");
    } else if (home && *home) {
        if (asprintf(&out, "%s/.local/state/syncengine", home) < 0)
            out = NULL;
    } else {
        (void)conf;
        out = strdup("./syncengine-state");
    }
    return out;
}

int syncc_engine_compile_job(syncc_engine *e, syncc_job_rt *rt, char *err, size_t errlen)
{
    syncc_job *job = rt->conf;
    rt->source = syncc_registry_find(&e->registry, job->source->plugin_name);
    rt->sink = syncc_registry_find(&e->registry, job->sink->plugin_name);
    if (rt->source == NULL || rt->sink == NULL) {
        snprintf(err, errlen, "%s:%d: job '%s': plugin not loaded", job->section->file, job->section->line,
                 job->name);
        return SYNCC_EXIT_PLUGIN;
    }
    char cerr[512];
    if (syncc_cron_parse(&rt->cron, job->schedule, cerr, sizeof(cerr)) != 0) {
        const char *where = job->section->file;
        int line = job->section->line;
        for (size_t i = 0; i < job->section->n_kv; i++) {
            if (strcmp(job->section->kv[i].key, "schedule") == 0) {
                where = job->section->kv[i].file;
                line = job->section->kv[i].line;
            }
        }
        snprintf(err, errlen, "%s:%d: job '%s': option 'schedule': %s", where, line, job->name, cerr);
        return SYNCC_EXIT_CONFIG;
    }
    if (job->verify_schedule != NULL) {
        if (syncc_cron_parse(&rt->verify_cron, job->verify_schedule, cerr, sizeof(cerr)) != 0) {
            const char *where = job->section->file;
            int line = job->section->line;
            for (size_t i = 0; i < job->section->n_kv; i++) {
                if (strcmp(job->section->kv[i].key, "verify_schedule") == 0) {
                    where = job->section->kv[i].file;
                    line = job->section->kv[i].line;
                }
            }
            snprintf(err, errlen, "%s:%d: job '%s': option 'verify_schedule': %s", where, line, job->name, cerr);
            return SYNCC_EXIT_CONFIG;
        }
        rt->has_verify = 1;
    }
    rt->streams = calloc(job->n_streams, sizeof(*rt->streams));
    const char **vars = calloc(job->n_vars * 2 + 1, sizeof(*vars));
    if (rt->streams == NULL || vars == NULL) {
        free(vars);
        return SYNCC_EXIT_INTERNAL;
    }
    for (size_t v = 0; v < job->n_vars; v++) {
        vars[2 * v] = job->vars[v]->key;
        vars[2 * v + 1] = job->vars[v]->value;
    }
    rt->n_streams = job->n_streams;
    for (size_t s = 0; s < job->n_streams; s++) {
        syncc_stream *st = &job->streams[s];
        rt->streams[s].conf = st;
        if (job->direction != NULL) {
            /* a two-way job: arrows, not expressions (core/twoway_map.c) */
            if (job->tenants != NULL) {
                snprintf(err, errlen, "%s:%d: job '%s': a two-way job (direction) cannot be a tenants template",
                         job->section->file, job->section->line, job->name);
                free(vars);
                return SYNCC_EXIT_CONFIG;
            }
            rt->streams[s].twoway = syncc_tw_map_parse(job, s, err, errlen);
            if (rt->streams[s].twoway == NULL) {
                free(vars);
                return SYNCC_EXIT_CONFIG;
            }
            continue;
        }
        if (st->map == NULL)
            continue;
        syncc_map_src *src = calloc(st->n_map ? st->n_map : 1, sizeof(*src));
        if (src == NULL) {
            free(vars);
            return SYNCC_EXIT_INTERNAL;
        }
        for (size_t i = 0; i < st->n_map; i++) {
            src[i].column = st->map[i].column;
            src[i].expr = st->map[i].expr;
            src[i].file = st->map[i].file;
            src[i].line = st->map[i].line;
            src[i].col = st->map[i].col;
            src[i].vars = vars;
        }
        rt->streams[s].mapping = syncc_mapping_compile(src, st->n_map, err, errlen);
        free(src);
        if (rt->streams[s].mapping == NULL) {
            free(vars);
            return SYNCC_EXIT_CONFIG;
        }
    }
    free(vars);
    return SYNCC_EXIT_OK;
}

syncc_engine *syncc_engine_open(const syncc_engine_opts *opts, char *err, size_t errlen, int *exit_code)
{
    *exit_code = SYNCC_EXIT_INTERNAL;
    syncc_engine *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->changed, NULL);
    e->conf = syncc_conf_load(opts->config_path, err, errlen);
    if (e->conf == NULL) {
        *exit_code = SYNCC_EXIT_CONFIG;
        goto fail;
    }
    sync_log_level lvl;
    if (e->conf->engine.log_level && syncc_log_parse_level(e->conf->engine.log_level, &lvl) == 0 &&
        getenv("SYNCC_LOG_LEVEL_FROM_CLI") == NULL)
        syncc_log_set_level(lvl);
    /* [engine] log_format, unless --log-format said otherwise */
    if (e->conf->engine.log_format && getenv("SYNCC_LOG_FORMAT_FROM_CLI") == NULL)
        syncc_log_set_json(strcmp(e->conf->engine.log_format, "json") == 0);

    /* plugin search path: command line, then the file's plugin_dir, then the defaults */
    char dirs[16][4096];
    size_t n_dirs = 0;
    for (size_t i = 0; opts->plugin_dirs && opts->plugin_dirs[i] && n_dirs < 8; i++)
        snprintf(dirs[n_dirs++], 4096, "%s", opts->plugin_dirs[i]);
    if (e->conf->engine.plugin_dir && n_dirs < 8)
        snprintf(dirs[n_dirs++], 4096, "%s", e->conf->engine.plugin_dir);
    n_dirs += syncc_default_plugin_dirs(dirs + n_dirs, 16 - n_dirs);
    for (size_t i = 0; i < n_dirs; i++)
        syncc_registry_scan_dir(&e->registry, dirs[i]);

    /* every plugin the configuration names must have loaded */
    for (size_t i = 0; i < e->conf->n_instances; i++) {
        const syncc_instance *in = &e->conf->instances[i];
        /* a file that looks like the plugin but failed to load is never shadowed by a later directory */
        const syncc_load_error *broken = syncc_registry_failure_for(&e->registry, in->plugin_name);
        if (broken != NULL && syncc_registry_find(&e->registry, in->plugin_name) != NULL) {
            snprintf(err, errlen, "%s:%d: [%s %s]: plugin '%s' failed to load: %s", in->section->file,
                     in->section->line, in->is_source ? "source" : "sink", in->name, in->plugin_name,
                     broken->reason);
            *exit_code = SYNCC_EXIT_PLUGIN;
            goto fail;
        }
        if (syncc_registry_find(&e->registry, in->plugin_name) == NULL) {
            char why[4096];
            explain_missing(&e->registry, dirs, n_dirs, why, sizeof(why));
            snprintf(err, errlen, "%s:%d: [%s %s]: plugin '%s' not found (%s)", in->section->file,
                     in->section->line, in->is_source ? "source" : "sink", in->name, in->plugin_name, why);
            *exit_code = SYNCC_EXIT_PLUGIN;
            goto fail;
        }
    }
    e->conf->warn = conf_warning;
    if (syncc_conf_bind(e->conf, lookup_plugin, &e->registry, err, errlen) != 0) {
        *exit_code = SYNCC_EXIT_CONFIG;
        goto fail;
    }
    for (size_t i = 0; i < e->conf->n_secrets; i++)
        syncc_log_add_secret(e->conf->secrets[i]);
    if (e->conf->engine.http_token)
        syncc_log_add_secret(e->conf->engine.http_token);
    if (syncc_http_check_conf(e->conf, err, errlen) != 0) {
        *exit_code = SYNCC_EXIT_CONFIG;
        goto fail;
    }

    e->jobs = calloc(e->conf->n_jobs ? e->conf->n_jobs : 1, sizeof(*e->jobs));
    if (e->jobs == NULL)
        goto fail;
    e->n_jobs = e->conf->n_jobs;
    for (size_t j = 0; j < e->n_jobs; j++) {
        e->jobs[j].conf = &e->conf->jobs[j];
        int rc = syncc_engine_compile_job(e, &e->jobs[j], err, errlen);
        if (rc != SYNCC_EXIT_OK) {
            *exit_code = rc;
            goto fail;
        }
    }

    if (syncc_tenants_init(e) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    /* everything else that can be judged offline, every problem at once */
    syncc_problems problems = {0};
    if (syncc_check_offline(e, &problems) > 0) {
        syncc_problems_join(&problems, "syncengine: ", err, errlen);
        syncc_problems_free(&problems);
        *exit_code = SYNCC_EXIT_CONFIG;
        goto fail;
    }
    syncc_problems_free(&problems);

    if (opts->open_state) {
        char *dir = opts->state_dir ? strdup(opts->state_dir)
                    : e->conf->engine.state_dir ? strdup(e->conf->engine.state_dir)
                                                : default_state_dir(e->conf);
        if (dir == NULL)
            goto fail;
        e->state = syncc_state_open(dir, err, errlen);
        free(dir);
        if (e->state == NULL || syncc_state_check(e->state, err, errlen) != 0) {
            *exit_code = SYNCC_EXIT_CONFIG;
            goto fail;
        }
    }
    *exit_code = SYNCC_EXIT_OK;
    return e;
fail:
    syncc_engine_close(e);
    return NULL;
}

int syncc_thread_ended(syncc_engine *e)
{
    if (e->n_ended == e->cap_ended) {
        size_t cap = e->cap_ended ? e->cap_ended * 2 : 8;
        pthread_t *t = realloc(e->ended, cap * sizeof(*t));
        if (t == NULL) {
            pthread_detach(pthread_self());
            return -1;
        }
        e->ended = t;
        e->cap_ended = cap;
    }
    e->ended[e->n_ended++] = pthread_self();
    return 0;
}

void syncc_threads_reap(syncc_engine *e)
{
    pthread_mutex_lock(&e->lock);
    pthread_t *t = e->ended;
    size_t n = e->n_ended;
    e->ended = NULL;
    e->n_ended = e->cap_ended = 0;
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    free(t);
}

void syncc_engine_close(syncc_engine *e)
{
    if (e == NULL)
        return;
    syncc_threads_reap(e);
    for (size_t j = 0; j < e->n_jobs; j++) {
        for (size_t s = 0; s < e->jobs[j].n_streams; s++) {
            syncc_mapping_free(e->jobs[j].streams[s].mapping);
            syncc_tw_map_free(e->jobs[j].streams[s].twoway);
        }
        free(e->jobs[j].streams);
    }
    free(e->jobs);
    syncc_tenants_free(e);
    syncc_state_close(e->state);
    if (e->conf)
        syncc_conf_free(e->conf);
    syncc_registry_free(&e->registry);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->changed);
    free(e);
}

syncc_job_rt *syncc_engine_job(syncc_engine *e, const char *name)
{
    for (size_t j = 0; j < e->n_jobs; j++)
        if (strcmp(e->jobs[j].conf->name, name) == 0)
            return &e->jobs[j];
    return NULL;
}

const char *syncc_run_status_name(sync_run_status st)
{
    switch (st) {
    case SYNC_RUN_RUNNING: return "running";
    case SYNC_RUN_SUCCESS: return "success";
    case SYNC_RUN_PARTIAL: return "partial";
    case SYNC_RUN_FAILED: return "failed";
    case SYNC_RUN_RATE_LIMITED: return "rate_limited";
    }
    return "unknown";
}

int syncc_exit_for_status(sync_run_status st)
{
    switch (st) {
    case SYNC_RUN_SUCCESS: return SYNCC_EXIT_OK;
    case SYNC_RUN_PARTIAL: return SYNCC_EXIT_PARTIAL;
    case SYNC_RUN_RATE_LIMITED: return SYNCC_EXIT_RATELIMIT;
    default: return SYNCC_EXIT_FAILED;
    }
}
