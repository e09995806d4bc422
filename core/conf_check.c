/*
 * core/conf_check.c - what the engine's own sections mean.
 *
 * After every file is read (conf.c), this turns the raw sections into the
 * engine settings, the source/sink instances, the jobs with their streams in
 * file order, and the mappings, and checks the references between them: a job
 * names a defined [source] and [sink], a stream belongs to a defined job, a
 * map to a defined stream, and every job has at least one stream.  The keys
 * of [engine], [job] and [stream] are described by option tables like a
 * plugin's, so that types, bounds, defaults and duplicates are checked by the
 * same code and produce the same messages.
 */
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"
#include "map_templates.h"
#include "verify_rules.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", "trace", NULL};
static const char *const log_formats[] = {"text", "json", NULL};

static const sync_option engine_options[] = {
    {"state_dir", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Directory of the local state store (default: $SYNCENGINE_STATE_DIR, $STATE_DIRECTORY or a per-user one)."},
    {"plugin_dir", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "Directory searched first for plugin shared objects."},
    {"max_jobs", SYNC_OPT_INT, "4", 0, 1, 64, NULL, "Jobs that may run at the same time."},
    {"log_level", SYNC_OPT_ENUM, "info", 0, 0, 0, log_levels, "Lowest level of messages that are logged."},
    {"log_format", SYNC_OPT_ENUM, "text", 0, 0, 0, log_formats, "Log lines as plain text or JSON objects."},
    {"include", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL,
     "Further files to read: a glob pattern relative to this file's directory."},
    {"http_listen", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Address and port of the daemon's HTTP status API, metrics and dashboard (e.g. 127.0.0.1:9187); unset: off."},
    {"http_token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL,
     "Bearer token for the HTTP endpoints that change something (use ${ENV}); unset: they answer 403."},
    {"http_token_file", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "File holding the bearer token (its first line), instead of http_token."},
    {"http_insecure", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Allow http_listen on an address other than loopback, without TLS."},
    {"http_tls_cert", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "PEM certificate (chain) file: the HTTP API speaks HTTPS; needs http_tls_key."},
    {"http_tls_key", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "PEM private key file of http_tls_cert."},
    SYNC_OPTION_END};

static const char *const stream_modes[] = {"both", "push", "append", NULL};
static const char *const twoway_directions[] = {"both", "to_database", "to_salesforce", NULL};
static const char *const twoway_policies[] = {"newest_wins", "salesforce_wins", "database_wins", "crm_wins",
                                              "manual", NULL};

static const sync_option job_options[] = {
    {"source", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "The [source NAME] section to read from."},
    {"sink", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "The [sink NAME] section to write to."},
    {"schedule", SYNC_OPT_STRING, "*/15 * * * *", 0, 0, 0, NULL, "When the job runs, as a cron expression."},
    {"enabled", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL, "Whether the scheduler runs the job."},
    {"batch_size", SYNC_OPT_INT, "2000", 0, 1, 100000, NULL, "Records per batch written to the sink."},
    {"queue_depth", SYNC_OPT_INT, "2", 0, 1, 64, NULL, "Batches in flight between reader and writer."},
    {"write_attempts", SYNC_OPT_INT, "6", 0, 1, 100, NULL,
     "Tries of a batch write that fails for a passing reason (database restarting, connection lost, deadlock), "
     "0.5 s apart doubling up to 8 s; the engine is the only one that retries."},
    {"parallel_streams", SYNC_OPT_INT, "1", 0, 1, 16, NULL,
     "Streams of one run read and written at the same time, each with its own source and sink instance."},
    {"full_refresh", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL, "Ignore saved cursors and read everything every run."},
    {"like", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Another job whose streams, mappings and job-level sink.* keys this job copies; what this job sets wins."},
    {"tenants", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "A [tenants NAME] section: the job is a template, run once per tenant as JOB@KEY with ${tenant.COLUMN} "
     "taken from the tenant's row."},
    {"direction", SYNC_OPT_ENUM, NULL, 0, 0, 0, twoway_directions,
     "Makes the job two-way (docs/two-way.md): both, to_database or to_salesforce; unset: a one-way job."},
    {"conflict_policy", SYNC_OPT_ENUM, "newest_wins", 0, 0, 0, twoway_policies,
     "Two-way: who wins a field changed on both sides; manual writes neither side and waits for `conflicts "
     "resolve`."},
    {"merge_fields", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL,
     "Two-way: changes to different fields of one record on each side merge without a conflict."},
    {"push_deletes", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "Two-way: a row soft-deleted in the table deletes its Salesforce record."},
    {"verify_schedule", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "When the daemon runs `syncengine verify` on the job, as a cron expression; a disagreement is a failed run."},
    {"verify_fix", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL,
     "The scheduled verify also repairs what it finds, as `verify --fix` does."},
    SYNC_OPTION_END};

static const sync_option tenants_options[] = {
    {"connection", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "The [sink NAME] section whose plugin runs the statements below (the PostgreSQL sink)."},
    {"query", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL,
     "The statement whose rows are the tenants, one per row; $1, $2, ... are the values of params."},
    {"params", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL,
     "Values bound to the query's $1, $2, ... (comma-separated); set but empty: one empty value."},
    {"key", SYNC_OPT_STRING, "id", 0, 0, 0, NULL,
     "The column that identifies a tenant for good: its job is named JOB@KEY (cursors, leases, run history)."},
    {"interval", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "A column (COLUMN or COLUMN.json.path) holding minutes between a tenant's runs; overrides the job's schedule "
     "when set in the row."},
    {"store_credentials", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Statement run when a source is issued new credentials, before it uses them: $1 the tenant's key, $2 a JSON "
     "object (access_token, refresh_token, instance_url)."},
    {"on_auth_failure", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Statement run when a tenant's run fails because its credentials were rejected: $1 the key, $2 the error; "
     "the tenant is not run again until its row changes."},
    {"instance_column", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "A column naming the server a tenant talks to (e.g. config.instanceUrl), for max_per_instance."},
    {"max_per_instance", SYNC_OPT_INT, "0", 0, 0, 1000, NULL,
     "Runs at the same time against one instance_column value; 0: no limit beyond [engine] max_jobs."},
    {"secret_columns", SYNC_OPT_LIST, "credentials", 0, 0, 0, NULL,
     "Columns whose every value is a secret: redacted from logs, never written to the state file."},
    {"refresh", SYNC_OPT_DURATION, "1m", 0, 1000, 86400000, NULL,
     "How often the query is read again (also on SIGHUP): new tenants start at their next slot."},
    SYNC_OPTION_END};

const sync_option *syncc_conf_tenants_options(void)
{
    return tenants_options;
}

static const sync_option stream_options[] = {
    {"object", SYNC_OPT_STRING, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "The source's stream (e.g. Contact)."},
    {"target", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "The sink's target (e.g. a table); default: the stream name."},
    {"match", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Two-way: the column whose mapped field pairs records on both sides before anything is created (email is "
     "compared trimmed and case-insensitive)."},
    {"key", SYNC_OPT_STRING, "id", 0, 0, 0, NULL, "Two-way: the table's key column."},
    {"external_id", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Two-way: the Salesforce external-id field that holds the row's key (records are upserted by it; with mode "
     "append, created with it, a duplicate value meaning the record exists)."},
    {"mode", SYNC_OPT_ENUM, "both", 0, 0, 0, stream_modes,
     "Two-way: both (the job's direction), push (rows pushed only: created, updated, and deleted in Salesforce when "
     "the row is deleted) or append (rows of an append-only table created once each, never updated)."},
    {"order", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL,
     "Two-way, mode append: the column whose order rows are created in (e.g. occurred_at), and the one horizon "
     "compares."},
    {"horizon", SYNC_OPT_DURATION, "0", 0, 0, 0, NULL,
     "Two-way, mode append: on a first sync, rows whose order column is older than this are skipped and counted "
     "(e.g. 90d); 0: none skipped."},
    SYNC_OPTION_END};

const sync_option *syncc_conf_engine_options(void)
{
    return engine_options;
}

const sync_option *syncc_conf_job_options(void)
{
    return job_options;
}

const sync_option *syncc_conf_stream_options(void)
{
    return stream_options;
}

static void sec_where(const syncc_section *sec, char *buf, size_t n)
{
    snprintf(buf, n, "%s:%d", sec->file, sec->line);
}

static int has_prefix(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(key, prefix, n) == 0 && key[n] != '\0';
}

/* A copy of kv with the first strip bytes of its key removed. */
static syncc_kv *kv_copy(const syncc_kv *kv, size_t strip)
{
    syncc_kv *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    *c = *kv;
    c->key = strdup(kv->key + strip);
    c->value = strdup(kv->value);
    if (!c->key || !c->value) {
        free(c->key);
        free(c->value);
        free(c);
        return NULL;
    }
    return c;
}

static int kv_push(syncc_kv ***list, size_t *n, syncc_kv *kv)
{
    if (!kv)
        return -1;
    syncc_kv **p = realloc(*list, (*n + 1) * sizeof(*p));
    if (!p) {
        free(kv->key);
        free(kv->value);
        free(kv);
        return -1;
    }
    *list = p;
    p[(*n)++] = kv;
    return 0;
}

/*
 * Builds a sync_config for the keys of sec that the engine owns (those
 * without one of the given prefixes) against table.
 */
static sync_config *engine_part(syncc_conf *conf, const syncc_section *sec, const sync_option *table,
                                char *err, size_t errlen)
{
    syncc_kv **own = calloc(sec->n_kv + 1, sizeof(*own));
    size_t n = 0;
    char desc[300], where[300];
    syncc_build_opts o;

    if (!own) {
        syncc_conf_errf(err, errlen, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < sec->n_kv; i++) {
        const char *k = sec->kv[i].key;
        if (has_prefix(k, "sink.") || has_prefix(k, "source.") || has_prefix(k, "var."))
            continue;
        own[n++] = &sec->kv[i];
    }
    syncc_conf_section_desc(sec, desc, sizeof(desc));
    sec_where(sec, where, sizeof(where));
    memset(&o, 0, sizeof(o));
    o.section = desc;
    o.where = where;
    o.prefix = "";
    o.check_required = 1;
    o.conf = conf;
    sync_config *cfg = syncc_config_build(table, own, n, &o, err, errlen);
    free(own);
    return cfg;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/*
 * A relative path written in a file is taken relative to that file's
 * directory.  where is "file" or "file:line" (as syncc_config_where gives).
 */
static char *relative_to(const char *where, int has_line, const char *path)
{
    const char *end = has_line ? strrchr(where, ':') : NULL;
    size_t flen = end ? (size_t)(end - where) : strlen(where);
    const char *slash = NULL;

    for (size_t i = 0; i < flen; i++)
        if (where[i] == '/')
            slash = where + i;
    if (path[0] == '/' || !slash)
        return strdup(path);
    size_t n = (size_t)(slash - where) + 1;
    char *out = malloc(n + strlen(path) + 1);
    if (!out)
        return NULL;
    memcpy(out, where, n);
    strcpy(out + n, path);
    return out;
}

/* The failure of a resolver that ran out of memory: the message, and -1. */
static int out_of_memory(char *err, size_t errlen)
{
    syncc_conf_errf(err, errlen, "out of memory");
    return -1;
}

/*
 * The job a [stream JOB.NAME] or [map JOB.NAME] section belongs to: *job (NULL
 * when there is no [job JOB]) and *dot, the '.' that ends JOB in the section's
 * name (the parser accepts these sections only with one).  Returns -1 when out
 * of memory, else 0.
 */
static int section_job(syncc_conf *conf, const syncc_section *sec, syncc_job **job, const char **dot)
{
    *dot = strchr(sec->name, '.');
    char *jobname = strndup(sec->name, (size_t)(*dot - sec->name));
    *job = NULL;
    if (!jobname)
        return -1;
    *job = syncc_conf_job(conf, jobname);
    free(jobname);
    return 0;
}

/* A new stream at the end of job's, zeroed, or NULL when out of memory (the streams are unchanged then). */
static syncc_stream *add_stream(syncc_job *job)
{
    syncc_stream *streams = realloc(job->streams, (job->n_streams + 1) * sizeof(*streams));
    if (!streams)
        return NULL;
    job->streams = streams;
    memset(&streams[job->n_streams], 0, sizeof(*streams));
    return &streams[job->n_streams++];
}

static int resolve_engine(syncc_conf *conf, char *err, size_t errlen)
{
    const syncc_section *sec = NULL;
    syncc_section empty;
    sync_config *cfg;
    int64_t max_jobs = 4;

    for (size_t i = 0; i < conf->n_sections; i++)
        if (strcmp(conf->sections[i].kind, "engine") == 0)
            sec = &conf->sections[i];
    if (!sec) {
        memset(&empty, 0, sizeof(empty));
        empty.kind = (char *)"engine";
        empty.file = conf->n_files ? conf->files[0] : conf->path;
        empty.line = 0;
        sec = &empty;
    }
    cfg = engine_part(conf, sec, engine_options, err, errlen);
    if (!cfg)
        return -1;
    syncc_config_get_int(cfg, "max_jobs", &max_jobs);
    conf->engine.max_jobs = max_jobs;
    conf->engine.log_level = dup_or_null(syncc_config_get_string(cfg, "log_level"));
    conf->engine.log_format = dup_or_null(syncc_config_get_string(cfg, "log_format"));
    conf->engine.http_listen = dup_or_null(syncc_config_get_string(cfg, "http_listen"));
    conf->engine.http_token = dup_or_null(syncc_config_get_string(cfg, "http_token"));
    const char *tf = syncc_config_get_string(cfg, "http_token_file");
    if (tf)
        conf->engine.http_token_file = relative_to(syncc_config_where(cfg, "http_token_file"), 1, tf);
    const char *tc = syncc_config_get_string(cfg, "http_tls_cert");
    const char *tk = syncc_config_get_string(cfg, "http_tls_key");
    if (tc)
        conf->engine.http_tls_cert = relative_to(syncc_config_where(cfg, "http_tls_cert"), 1, tc);
    if (tk)
        conf->engine.http_tls_key = relative_to(syncc_config_where(cfg, "http_tls_key"), 1, tk);
    int insecure = 0;
    syncc_config_get_bool(cfg, "http_insecure", &insecure);
    conf->engine.http_insecure = insecure;

    const char *sd = syncc_config_get_string(cfg, "state_dir");
    const char *pd = syncc_config_get_string(cfg, "plugin_dir");
    if (sd && !*sd) {
        syncc_conf_errf(err, errlen, "%s: option 'state_dir' must not be empty", syncc_config_where(cfg, "state_dir"));
        syncc_config_free(cfg);
        return -1;
    }
    /*
     * Unset: the engine picks $SYNCENGINE_STATE_DIR, $STATE_DIRECTORY or a
     * per-user default (engine.c), never a directory beside the file, which
     * may sit in a source tree or /etc.
     */
    if (sd)
        conf->engine.state_dir = relative_to(syncc_config_where(cfg, "state_dir"), 1, sd);
    int want_pd = pd && *pd;
    if (want_pd)
        conf->engine.plugin_dir = relative_to(syncc_config_where(cfg, "plugin_dir"), 1, pd);
    syncc_config_free(cfg);
    if ((sd && !conf->engine.state_dir) || !conf->engine.log_level || !conf->engine.log_format ||
        (want_pd && !conf->engine.plugin_dir)) {
        return out_of_memory(err, errlen);
    }
    return 0;
}

static int resolve_instances(syncc_conf *conf, char *err, size_t errlen)
{
    size_t n = 0;

    for (size_t i = 0; i < conf->n_sections; i++)
        if (strcmp(conf->sections[i].kind, "source") == 0 || strcmp(conf->sections[i].kind, "sink") == 0)
            n++;
    conf->instances = calloc(n + 1, sizeof(*conf->instances));
    if (!conf->instances) {
        return out_of_memory(err, errlen);
    }
    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *sec = &conf->sections[i];
        int is_source = strcmp(sec->kind, "source") == 0;
        if (!is_source && strcmp(sec->kind, "sink") != 0)
            continue;
        char desc[300];
        syncc_conf_section_desc(sec, desc, sizeof(desc));
        syncc_kv *plugin = NULL;
        for (size_t k = 0; k < sec->n_kv; k++) {
            syncc_kv *kv = &sec->kv[k];
            if (strcmp(kv->key, "plugin") != 0)
                continue;
            if (plugin) {
                syncc_conf_errf(err, errlen, "%s:%d: option 'plugin' is set twice in %s (first at %s:%d)", kv->file,
                                kv->line, desc, plugin->file, plugin->line);
                return -1;
            }
            plugin = kv;
        }
        if (!plugin) {
            syncc_conf_errf(err, errlen, "%s:%d: missing required option 'plugin' in %s", sec->file, sec->line,
                            desc);
            return -1;
        }
        if (!*plugin->value) {
            syncc_conf_errf(err, errlen, "%s:%d: option 'plugin' must not be empty", plugin->file, plugin->line);
            return -1;
        }
        plugin->used = 1;
        syncc_instance *in = &conf->instances[conf->n_instances++];
        in->name = strdup(sec->name);
        in->plugin_name = strdup(plugin->value);
        in->is_source = is_source;
        in->section = sec;
        if (!in->name || !in->plugin_name) {
            return out_of_memory(err, errlen);
        }
    }
    return 0;
}

static syncc_instance *find_instance(syncc_conf *conf, const char *name, int is_source)
{
    for (size_t i = 0; i < conf->n_instances; i++)
        if (conf->instances[i].is_source == is_source && strcmp(conf->instances[i].name, name) == 0)
            return &conf->instances[i];
    return NULL;
}

static int job_ref(syncc_conf *conf, sync_config *cfg, const char *key, int is_source, syncc_instance **out,
                   char *err, size_t errlen)
{
    const char *name = syncc_config_get_string(cfg, key);
    const char *where = syncc_config_where(cfg, key);

    *out = find_instance(conf, name, is_source);
    if (*out)
        return 0;
    if (find_instance(conf, name, !is_source))
        syncc_conf_errf(err, errlen, "%s: option '%s': '%s' is a [%s], not a [%s]", where, key, name,
                        is_source ? "sink" : "source", key);
    else
        syncc_conf_errf(err, errlen, "%s: option '%s': there is no [%s %s] section", where, key, key, name);
    return -1;
}

static int list_copy(const sync_config *cfg, const char *name, char ***out, size_t *n)
{
    size_t c = syncc_config_list_count(cfg, name);
    *out = calloc(c + 1, sizeof(**out));
    if (!*out)
        return -1;
    for (size_t i = 0; i < c; i++)
        if (((*out)[(*n)++] = strdup(syncc_config_list_item(cfg, name, i))) == NULL)
            return -1;
    return 0;
}

/* A column path: letters, digits, '_', '-', parts joined by '.'. */
static int valid_path(const char *p)
{
    if (p == NULL || !*p || *p == '.')
        return 0;
    for (; *p; p++) {
        if (*p == '.' && (p[1] == '.' || p[1] == '\0'))
            return 0;
        if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.')
            return 0;
    }
    return 1;
}

static int resolve_tenants(syncc_conf *conf, char *err, size_t errlen)
{
    size_t n = 0;
    for (size_t i = 0; i < conf->n_sections; i++)
        n += strcmp(conf->sections[i].kind, "tenants") == 0;
    conf->tenant_sets = calloc(n + 1, sizeof(*conf->tenant_sets));
    if (!conf->tenant_sets)
        goto nomem;
    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "tenants") != 0)
            continue;
        syncc_tenant_set *ts = &conf->tenant_sets[conf->n_tenant_sets++];
        ts->section = sec;
        if ((ts->name = strdup(sec->name)) == NULL)
            goto nomem;
        sync_config *cfg = engine_part(conf, sec, tenants_options, err, errlen);
        if (!cfg)
            return -1;
        const char *conn = syncc_config_get_string(cfg, "connection");
        ts->connection = find_instance(conf, conn, 0);
        if (!ts->connection) {
            syncc_conf_errf(err, errlen, "%s: option 'connection': there is no [sink %s] section",
                            syncc_config_where(cfg, "connection"), conn);
            syncc_config_free(cfg);
            return -1;
        }
        static const char *const paths[] = {"key", "interval", "instance_column"};
        for (size_t k = 0; k < 3; k++) {
            const char *v = syncc_config_get_string(cfg, paths[k]);
            if (v != NULL && !valid_path(v)) {
                syncc_conf_errf(err, errlen, "%s: option '%s': '%s' is not a column (COLUMN or COLUMN.json.path)",
                                syncc_config_where(cfg, paths[k]), paths[k], v);
                syncc_config_free(cfg);
                return -1;
            }
        }
        if (!*syncc_config_get_string(cfg, "query")) {
            syncc_conf_errf(err, errlen, "%s: option 'query' must not be empty", syncc_config_where(cfg, "query"));
            syncc_config_free(cfg);
            return -1;
        }
        ts->query = dup_or_null(syncc_config_get_string(cfg, "query"));
        ts->key = dup_or_null(syncc_config_get_string(cfg, "key"));
        ts->interval = dup_or_null(syncc_config_get_string(cfg, "interval"));
        ts->store_credentials = dup_or_null(syncc_config_get_string(cfg, "store_credentials"));
        ts->on_auth_failure = dup_or_null(syncc_config_get_string(cfg, "on_auth_failure"));
        ts->instance_column = dup_or_null(syncc_config_get_string(cfg, "instance_column"));
        syncc_config_get_int(cfg, "max_per_instance", &ts->max_per_instance);
        syncc_config_get_int(cfg, "refresh", &ts->refresh_ms);
        int rc = list_copy(cfg, "params", &ts->params, &ts->n_params);
        /* params set to an empty value (${ID:-}) is one empty parameter, not none */
        if (rc == 0 && ts->n_params == 0 && syncc_config_get_string(cfg, "params") != NULL &&
            ((ts->params[0] = strdup("")) == NULL || !++ts->n_params))
            rc = -1;
        if (rc == 0)
            rc = list_copy(cfg, "secret_columns", &ts->secret_columns, &ts->n_secret_columns);
        if (rc == 0 && ts->max_per_instance > 0 && ts->instance_column == NULL) {
            syncc_conf_errf(err, errlen, "%s: option 'max_per_instance' needs 'instance_column' (what an instance is)",
                            syncc_config_where(cfg, "max_per_instance"));
            syncc_config_free(cfg);
            return -1;
        }
        syncc_config_free(cfg);
        if (rc < 0 || !ts->query || !ts->key)
            goto nomem;
    }
    return 0;
nomem:
    return out_of_memory(err, errlen);
}

static int resolve_jobs(syncc_conf *conf, char *err, size_t errlen)
{
    size_t n = 0;

    for (size_t i = 0; i < conf->n_sections; i++)
        if (strcmp(conf->sections[i].kind, "job") == 0)
            n++;
    conf->jobs = calloc(n + 1, sizeof(*conf->jobs));
    if (!conf->jobs) {
        return out_of_memory(err, errlen);
    }
    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "job") != 0)
            continue;
        syncc_job *job = &conf->jobs[conf->n_jobs++];
        job->section = sec;
        job->name = strdup(sec->name);
        if (!job->name)
            goto nomem;
        sync_config *cfg = engine_part(conf, sec, job_options, err, errlen);
        if (!cfg)
            return -1;
        int64_t v = 0;
        int rc = job_ref(conf, cfg, "source", 1, &job->source, err, errlen);
        if (rc == 0)
            rc = job_ref(conf, cfg, "sink", 0, &job->sink, err, errlen);
        if (rc == 0 && !*syncc_config_get_string(cfg, "schedule")) {
            syncc_conf_errf(err, errlen, "%s: option 'schedule' must not be empty",
                            syncc_config_where(cfg, "schedule"));
            rc = -1;
        }
        if (rc < 0) {
            syncc_config_free(cfg);
            return -1;
        }
        const char *tenants = syncc_config_get_string(cfg, "tenants");
        if (tenants != NULL) {
            for (size_t t = 0; t < conf->n_tenant_sets; t++)
                if (strcmp(conf->tenant_sets[t].name, tenants) == 0)
                    job->tenants = &conf->tenant_sets[t];
            if (job->tenants == NULL) {
                syncc_conf_errf(err, errlen, "%s: option 'tenants': there is no [tenants %s] section",
                                syncc_config_where(cfg, "tenants"), tenants);
                syncc_config_free(cfg);
                return -1;
            }
        }
        job->schedule = strdup(syncc_config_get_string(cfg, "schedule"));
        const char *like = syncc_config_get_string(cfg, "like");
        if (like != NULL && (job->like = strdup(like)) == NULL) {
            syncc_config_free(cfg);
            goto nomem;
        }
        int b = 1;
        syncc_config_get_bool(cfg, "enabled", &b);
        job->enabled = b;
        b = 0;
        syncc_config_get_bool(cfg, "full_refresh", &b);
        job->full_refresh = b;
        syncc_config_get_int(cfg, "batch_size", &v);
        job->batch_size = v;
        syncc_config_get_int(cfg, "queue_depth", &v);
        job->queue_depth = v;
        syncc_config_get_int(cfg, "write_attempts", &v);
        job->write_attempts = v;
        syncc_config_get_int(cfg, "parallel_streams", &v);
        job->parallel_streams = v;
        const char *dir = syncc_config_get_string(cfg, "direction");
        if (dir != NULL) {
            job->direction = strdup(dir);
            job->conflict_policy = strdup(syncc_config_get_string(cfg, "conflict_policy"));
            b = 1;
            syncc_config_get_bool(cfg, "merge_fields", &b);
            job->merge_fields = b;
            b = 0;
            syncc_config_get_bool(cfg, "push_deletes", &b);
            job->push_deletes = b;
            if (!job->direction || !job->conflict_policy) {
                syncc_config_free(cfg);
                goto nomem;
            }
        }
        const char *vs = syncc_config_get_string(cfg, "verify_schedule");
        if (vs != NULL && (job->verify_schedule = strdup(vs)) == NULL) {
            syncc_config_free(cfg);
            goto nomem;
        }
        b = 0;
        syncc_config_get_bool(cfg, "verify_fix", &b);
        job->verify_fix = b;
        syncc_config_free(cfg);
        if (!job->schedule)
            goto nomem;
        for (size_t k = 0; k < sec->n_kv; k++) {
            if (has_prefix(sec->kv[k].key, "var.") && sec->kv[k].key[4] != '\0') {
                sec->kv[k].used = 1;
                if (kv_push(&job->vars, &job->n_vars, kv_copy(&sec->kv[k], 4)) < 0)
                    goto nomem;
                continue;
            }
            if (!has_prefix(sec->kv[k].key, "sink."))
                continue;
            sec->kv[k].used = 1;
            if (kv_push(&job->sink_kv, &job->n_sink_kv, kv_copy(&sec->kv[k], 5)) < 0)
                goto nomem;
        }
    }
    return 0;
nomem:
    return out_of_memory(err, errlen);
}

static int resolve_streams(syncc_conf *conf, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "stream") != 0)
            continue;
        const char *dot;
        syncc_job *job;
        if (section_job(conf, sec, &job, &dot) < 0)
            goto nomem;
        if (!job) {
            syncc_conf_errf(err, errlen, "%s:%d: [stream %s]: there is no [job %.*s] section", sec->file, sec->line,
                            sec->name, (int)(dot - sec->name), sec->name);
            return -1;
        }
        syncc_stream *st = add_stream(job);
        if (!st)
            goto nomem;
        st->section = sec;
        st->name = strdup(dot + 1);
        if (!st->name)
            goto nomem;

        sync_config *cfg = engine_part(conf, sec, stream_options, err, errlen);
        if (!cfg)
            return -1;
        const char *object = syncc_config_get_string(cfg, "object");
        const char *target = syncc_config_get_string(cfg, "target");
        if (!*object || (target && !*target)) {
            const char *k = !*object ? "object" : "target";
            syncc_conf_errf(err, errlen, "%s: option '%s' must not be empty", syncc_config_where(cfg, k), k);
            syncc_config_free(cfg);
            return -1;
        }
        st->object = strdup(object);
        st->target = strdup(target ? target : st->name);
        const char *match = syncc_config_get_string(cfg, "match");
        const char *ext = syncc_config_get_string(cfg, "external_id");
        st->key = strdup(syncc_config_get_string(cfg, "key"));
        st->match = match ? strdup(match) : NULL;
        st->external_id = ext ? strdup(ext) : NULL;
        const char *mode = syncc_config_get_string(cfg, "mode");
        const char *order = syncc_config_get_string(cfg, "order");
        st->mode = strdup(mode ? mode : "both");
        st->order = order ? strdup(order) : NULL;
        syncc_config_get_int(cfg, "horizon", &st->horizon_ms);
        if (st->mode && strcmp(st->mode, "append") != 0 && (order || st->horizon_ms > 0)) {
            const char *k = order ? "order" : "horizon";
            syncc_conf_errf(err, errlen, "%s: option '%s' needs mode = append", syncc_config_where(cfg, k), k);
            syncc_config_free(cfg);
            return -1;
        }
        if (st->mode && strcmp(st->mode, "append") == 0 && st->horizon_ms > 0 && !order) {
            syncc_conf_errf(err, errlen, "%s: option 'horizon' needs option 'order' (the column it compares)",
                            syncc_config_where(cfg, "horizon"));
            syncc_config_free(cfg);
            return -1;
        }
        syncc_config_free(cfg);
        if (!st->object || !st->target || !st->key || (match && !st->match) || (ext && !st->external_id) ||
            !st->mode || (order && !st->order))
            goto nomem;

        for (size_t k = 0; k < sec->n_kv; k++) {
            syncc_kv *kv = &sec->kv[k];
            if (has_prefix(kv->key, "source.")) {
                kv->used = 1;
                if (kv_push(&st->source_kv, &st->n_source_kv, kv_copy(kv, 7)) < 0)
                    goto nomem;
            } else if (has_prefix(kv->key, "sink.")) {
                kv->used = 1;
                if (kv_push(&st->sink_kv, &st->n_sink_kv, kv_copy(kv, 5)) < 0)
                    goto nomem;
            }
        }
    }
    return 0;
nomem:
    return out_of_memory(err, errlen);
}

static int has_key(syncc_kv *const *list, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i]->key, key) == 0)
            return 1;
    return 0;
}

/* Copies of every kv of list not overridden (by key) in other, appended to dst. */
static int copy_kvs(syncc_kv ***dst, size_t *n_dst, size_t n_other, syncc_kv *const *list, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (has_key(*dst, n_other, list[k]->key))
            continue;
        /* A MULTI key given several times is copied as often as it was given. */
        if (kv_push(dst, n_dst, kv_copy(list[k], 0)) < 0)
            return -1;
    }
    return 0;
}

static int copy_stream(syncc_stream *dst, const syncc_stream *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->section = src->section;
    dst->name = strdup(src->name);
    dst->object = strdup(src->object);
    dst->target = strdup(src->target);
    if (!dst->name || !dst->object || !dst->target)
        return -1;
    if (copy_kvs(&dst->source_kv, &dst->n_source_kv, 0, src->source_kv, src->n_source_kv) < 0 ||
        copy_kvs(&dst->sink_kv, &dst->n_sink_kv, 0, src->sink_kv, src->n_sink_kv) < 0)
        return -1;
    if (src->map != NULL) {
        dst->map = calloc(src->n_map ? src->n_map : 1, sizeof(*dst->map));
        if (!dst->map)
            return -1;
        for (size_t m = 0; m < src->n_map; m++) {
            dst->map[m] = src->map[m];
            dst->map[m].column = strdup(src->map[m].column);
            dst->map[m].expr = strdup(src->map[m].expr);
            dst->n_map = m + 1;
            if (!dst->map[m].column || !dst->map[m].expr)
                return -1;
        }
    }
    return 0;
}

/*
 * like = BASE: the job gets copies of BASE's streams (with their source.*,
 * sink.* keys and mappings) that it does not define itself, and BASE's
 * job-level sink.* keys it does not set itself.  Runs before job-level keys
 * are merged into streams, so each job's own keys win.
 */
static int resolve_likes(syncc_conf *conf, char *err, size_t errlen)
{
    for (size_t j = 0; j < conf->n_jobs; j++) {
        syncc_job *job = &conf->jobs[j];
        if (job->like == NULL)
            continue;
        const char *where = job->section->file;
        int line = job->section->line;
        for (size_t k = 0; k < job->section->n_kv; k++)
            if (strcmp(job->section->kv[k].key, "like") == 0) {
                where = job->section->kv[k].file;
                line = job->section->kv[k].line;
            }
        syncc_job *base = syncc_conf_job(conf, job->like);
        if (base == NULL || base == job || base->like != NULL) {
            syncc_conf_errf(err, errlen, "%s:%d: option 'like': %s", where, line,
                            base == NULL   ? "there is no such [job] section"
                            : base == job ? "a job cannot be like itself"
                                          : "the job named is itself like another job; name that one");
            if (base == NULL)
                snprintf(err + strlen(err), errlen - strlen(err), " ('%s')", job->like);
            return -1;
        }
        size_t own = job->n_streams;
        for (size_t s = 0; s < base->n_streams; s++) {
            int defined = 0;
            for (size_t m = 0; m < own; m++)
                if (strcmp(job->streams[m].name, base->streams[s].name) == 0)
                    defined = 1;
            if (defined)
                continue;
            syncc_stream *st = add_stream(job);
            if (!st || copy_stream(st, &base->streams[s]) < 0)
                goto nomem;
        }
        if (copy_kvs(&job->sink_kv, &job->n_sink_kv, job->n_sink_kv, base->sink_kv, base->n_sink_kv) < 0)
            goto nomem;
    }
    return 0;
nomem:
    return out_of_memory(err, errlen);
}

/* Job-level sink.* keys apply to each stream unless the stream sets the same key. */
static int merge_job_sink_keys(syncc_conf *conf, char *err, size_t errlen)
{
    for (size_t j = 0; j < conf->n_jobs; j++) {
        syncc_job *job = &conf->jobs[j];
        for (size_t s = 0; s < job->n_streams; s++) {
            syncc_stream *st = &job->streams[s];
            if (copy_kvs(&st->sink_kv, &st->n_sink_kv, st->n_sink_kv, job->sink_kv, job->n_sink_kv) < 0) {
                return out_of_memory(err, errlen);
            }
        }
    }
    return 0;
}

static syncc_stream *find_stream(syncc_job *job, const char *name)
{
    for (size_t i = 0; i < job->n_streams; i++)
        if (strcmp(job->streams[i].name, name) == 0)
            return &job->streams[i];
    return NULL;
}

static int resolve_maps(syncc_conf *conf, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "map") != 0)
            continue;
        const char *dot;
        syncc_job *job;
        if (section_job(conf, sec, &job, &dot) < 0)
            goto nomem;
        syncc_stream *st = job ? find_stream(job, dot + 1) : NULL;
        if (!st) {
            syncc_conf_errf(err, errlen, "%s:%d: [map %s]: there is no [stream %s] section", sec->file, sec->line,
                            sec->name, sec->name);
            return -1;
        }
        if (sec->n_kv == 0) {
            syncc_conf_errf(err, errlen, "%s:%d: [map %s] has no entries", sec->file, sec->line, sec->name);
            return -1;
        }
        int templated = 0;
        for (size_t k = 0; k < sec->n_kv; k++)
            templated |= strcmp(sec->kv[k].key, "template") == 0;
        if (templated) { /* core/map_templates.c */
            if (syncc_map_template_apply((syncc_section *)sec, st, err, errlen) < 0)
                return -1;
            continue;
        }
        st->map = calloc(sec->n_kv, sizeof(*st->map));
        if (!st->map)
            goto nomem;
        for (size_t k = 0; k < sec->n_kv; k++) {
            syncc_kv *kv = &sec->kv[k];
            if (!*kv->value) {
                syncc_conf_errf(err, errlen, "%s:%d: column '%s' in [map %s] has an empty expression", kv->file,
                                kv->line, kv->key, sec->name);
                return -1;
            }
            kv->used = 1;
            syncc_map_entry *e = &st->map[st->n_map++];
            e->column = strdup(kv->key);
            e->expr = strdup(kv->value);
            e->file = kv->file;
            e->line = kv->line;
            e->col = kv->col;
            if (!e->column || !e->expr)
                goto nomem;
        }
    }
    return 0;
nomem:
    return out_of_memory(err, errlen);
}

int syncc_conf_resolve(syncc_conf *conf, char *err, size_t errlen)
{
    if (resolve_engine(conf, err, errlen) < 0 || resolve_instances(conf, err, errlen) < 0 ||
        resolve_tenants(conf, err, errlen) < 0 || resolve_jobs(conf, err, errlen) < 0 || resolve_streams(conf, err, errlen) < 0 ||
        resolve_maps(conf, err, errlen) < 0 || syncc_verify_rules_resolve(conf, err, errlen) < 0 ||
        resolve_likes(conf, err, errlen) < 0 ||
        merge_job_sink_keys(conf, err, errlen) < 0)
        return -1;
    for (size_t j = 0; j < conf->n_jobs; j++) {
        const syncc_job *job = &conf->jobs[j];
        if (job->n_streams == 0) {
            syncc_conf_errf(err, errlen, "%s:%d: [job %s] has no streams; add a [stream %s.NAME] section",
                            job->section->file, job->section->line, job->name, job->name);
            return -1;
        }
    }
    return 0;
}
