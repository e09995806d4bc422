/*
 * core/conf.h - the engine's configuration: INI files parsed with inih into
 * engine settings, source/sink instances, jobs, streams and mappings.
 *
 * Loading happens in two steps.  syncc_conf_load() parses the file (and its
 * includes), interpolates ${VAR} / ${VAR:-default} from the environment and
 * checks everything the engine itself understands: section kinds, engine keys,
 * job and stream keys, references between sections.  Every value remembers the
 * file and line it came from.  syncc_conf_bind() then validates each plugin's
 * keys against the option tables of the loaded plugins (unknown keys, missing
 * required options, wrong types, bounds, enums) and builds the sync_config
 * handles that plugins read through the host table.
 *
 * Loading sets inih's run-time options and is not thread-safe: configure once,
 * at start-up, before other threads use inih.
 *
 * Values in [map ...] sections are NOT interpolated textually: they are
 * mapping expressions, and the expression compiler resolves ${VAR} itself so
 * that an environment value can never change the expression's syntax.
 */
#ifndef SYNCC_CONF_H
#define SYNCC_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <sync/plugin.h>

typedef struct syncc_kv {
    char *key;
    char *value;       /* interpolated (raw for [map] sections) */
    const char *file;  /* interned path */
    int line;
    int used;          /* consumed by a validator; leftovers are "unknown key" errors */
    int col;           /* 1-based column where the value starts in its line */
    int literal;       /* the value holds text written in the file, not only ${VAR}s */
    int deferred;      /* holds a ${tenant.X} that only an instantiation resolves: not validated */
} syncc_kv;

typedef struct syncc_section {
    char *kind;        /* "engine", "source", "sink", "job", "stream", "map" */
    char *name;        /* NULL for [engine]; "job.stream" for stream/map */
    const char *file;
    int line;
    syncc_kv *kv;
    size_t n_kv, cap_kv;
} syncc_section;

/*
 * The concrete type behind the public opaque sync_config: a validated option
 * set with defaults applied, bound to one option table.
 */
typedef struct syncc_optval {
    const sync_option *opt;
    const char *value;   /* NULL if unset and no default */
    char **items;        /* LIST / MULTI items */
    size_t n_items;
    int64_t ival;        /* INT, DURATION (ms), BOOL */
    double dval;
    char where[256];     /* "file:line" or "default" */
} syncc_optval;

struct sync_config {
    const sync_option *table;
    syncc_optval *vals;
    size_t n_vals;
    char where[256];     /* section location */
};

typedef struct syncc_instance {
    char *name;                 /* section name: [source NAME] / [sink NAME] */
    int is_source;
    char *plugin_name;          /* plugin = ... */
    const syncc_section *section;
    sync_config *config;        /* set by syncc_conf_bind */
    const sync_plugin *plugin;  /* set by syncc_conf_bind */
} syncc_instance;

typedef struct syncc_map_entry {
    char *column;               /* target column */
    char *expr;                 /* expression text */
    const char *file;
    int line;
    int col;                    /* 1-based column where the expression text starts */
} syncc_map_entry;

typedef struct syncc_stream {
    char *name;                 /* stream name within the job */
    char *object;               /* source stream (object = ...) */
    char *target;               /* sink target (target = ...) */
    const syncc_section *section;
    syncc_kv **source_kv;       /* source.* keys, prefix stripped */
    size_t n_source_kv;
    syncc_kv **sink_kv;         /* sink.* keys, prefix stripped (job-level ones merged in) */
    size_t n_sink_kv;
    syncc_map_entry *map;       /* from [map JOB.STREAM]; NULL = pass every field through */
    size_t n_map;
    sync_config *source_options; /* set by syncc_conf_bind */
    sync_config *sink_options;
    /* two-way streams (docs/two-way.md) */
    char *match;                /* column paired with a field before creating (match = email), or NULL */
    char *key;                  /* the table's key column (default id) */
    char *external_id;          /* the Salesforce field holding the row's key (upsert), or NULL */
    char *mode;                 /* both (default), push or append (core/twoway_push.c) */
    char *order;                /* append: the column rows are pushed in the order of, or NULL */
    int64_t horizon_ms;         /* append: rows older than this on a first sync are skipped; 0: none */
    const syncc_section *verify; /* [verify JOB.STREAM]: integrity rules (core/verify_rules.c), or NULL */
} syncc_stream;

/*
 * A tenant set, [tenants NAME]: the rows of a query on a sink's database, one
 * tenant per row; jobs with tenants = NAME are templates instantiated once per
 * row as JOB@KEY (core/tenant.c).  Column paths are "col" or "col.json.path".
 */
typedef struct syncc_tenant_set {
    char *name;
    const syncc_section *section;
    syncc_instance *connection;  /* connection = SINK: the [sink] whose plugin runs the statements */
    char *query;                 /* the rows; $1.. from params */
    char **params;               /* params = ... (a list) */
    size_t n_params;
    char *key;                   /* key = COLUMN: the tenant's stable key */
    char *interval;              /* interval = COLUMN: minutes between runs, per tenant; NULL: the schedule */
    char *store_credentials;     /* $1 key, $2 JSON object of new credentials; NULL: not stored */
    char *on_auth_failure;       /* $1 key, $2 error text; NULL: nothing is marked */
    char *instance_column;       /* instance_column = COLUMN: what max_per_instance counts by; NULL: no cap */
    int64_t max_per_instance;    /* runs at once per instance value; 0: no cap */
    char **secret_columns;       /* columns whose every value is a secret (default credentials) */
    size_t n_secret_columns;
    int64_t refresh_ms;          /* how often the query is read again */
} syncc_tenant_set;

typedef struct syncc_job {
    char *name;
    syncc_instance *source;
    syncc_instance *sink;
    char *schedule;             /* cron text; default every 15 minutes */
    int enabled;
    int64_t batch_size;         /* records per batch, default 2000 */
    int64_t queue_depth;        /* batches in flight between reader and writer, default 2 */
    int64_t write_attempts;     /* tries of a failed batch write, default 6 (core/pipeline.c) */
    int64_t parallel_streams;   /* streams of a run worked on at the same time, default 1 */
    int full_refresh;           /* full_refresh = true: ignore cursors on every run */
    const syncc_section *section;
    syncc_kv **sink_kv;         /* job-level sink.* keys */
    size_t n_sink_kv;
    sync_config *sink_options;  /* set by syncc_conf_bind */
    char *like;                 /* like = JOB: streams, maps and sink.* keys copied from that job */
    syncc_kv **vars;            /* var.NAME keys (prefix stripped): ${NAME} in this job's maps */
    size_t n_vars;
    syncc_stream *streams;      /* in file order */
    size_t n_streams;
    syncc_tenant_set *tenants;  /* tenants = NAME: a template, run once per tenant as JOB@KEY */
    /* two-way jobs (docs/two-way.md); direction NULL: a one-way job as always */
    char *direction;            /* both | to_database | to_salesforce */
    char *conflict_policy;      /* newest_wins | salesforce_wins | database_wins | crm_wins | manual */
    int merge_fields;           /* changes to different fields of one record merge (default on) */
    int push_deletes;           /* soft deletes in the table delete the Salesforce record (default off) */
    char *verify_schedule;      /* verify_schedule = cron: `verify` on its own schedule (core/verify.c); NULL: never */
    int verify_fix;             /* verify_fix = on: the scheduled verify also repairs */
} syncc_job;

typedef struct syncc_engine_conf {
    char *state_dir;            /* NULL = unset: the engine chooses (core/engine.c) */
    char *plugin_dir;           /* NULL = built-in search path */
    int64_t max_jobs;           /* concurrent jobs, default 4 */
    char *log_level;            /* error|warn|info|debug|trace, default info */
    char *log_format;           /* text|json, default text */
    char *http_listen;          /* HOST:PORT of the HTTP API (core/http/); NULL = off */
    char *http_token;           /* bearer token for changes over HTTP (secret) */
    char *http_token_file;      /* or a file holding it */
    int http_insecure;          /* a non-loopback http_listen is allowed without TLS */
    char *http_tls_cert;        /* PEM files: the HTTP API speaks HTTPS */
    char *http_tls_key;
} syncc_engine_conf;

typedef struct syncc_conf {
    char *path;                 /* the main file */
    syncc_engine_conf engine;
    syncc_section *sections;
    size_t n_sections;
    syncc_instance *instances;
    size_t n_instances;
    syncc_job *jobs;
    size_t n_jobs;
    syncc_tenant_set *tenant_sets;
    size_t n_tenant_sets;
    char **files;               /* every file read (main + includes), for interned paths */
    size_t n_files;
    unsigned char *file_exposed; /* per file: readable by group or others */
    char **secrets;             /* values of SECRET options, for log redaction (after bind) */
    size_t n_secrets;
    /* Warnings from bind (deprecated options, secrets in readable files); stderr when NULL. */
    void (*warn)(const char *message, void *payload);
    void *warn_payload;
} syncc_conf;

/*
 * Parses and checks a configuration file.  On error returns NULL and writes a
 * message naming file:line (and the option / variable) into err.
 */
syncc_conf *syncc_conf_load(const char *path, char *err, size_t errlen);

/* syncc_conf_load_string() flag: refuse include directives (fuzzing, tests). */
#define SYNCC_CONF_NO_INCLUDE (1u << 0)

/*
 * Same as syncc_conf_load() for text held in memory (it may contain any bytes;
 * a NUL byte is an error).  name is used in messages and as the directory that
 * includes are relative to.
 */
syncc_conf *syncc_conf_load_string(const char *text, size_t len, const char *name, unsigned flags,
                                   char *err, size_t errlen);

/* Looks up the plugin definition for a plugin name; supplied by the caller. */
typedef const sync_plugin *(*syncc_plugin_lookup_fn)(const char *plugin_name, void *payload);

/*
 * Validates every instance, job and stream against the option tables of the
 * plugins that lookup returns, and fills the sync_config handles.  A missing
 * plugin, an unknown key (the message lists the valid keys), a missing required
 * option, a bad value: error naming file:line and the option.  Returns 0 or -1.
 */
int syncc_conf_bind(syncc_conf *conf, syncc_plugin_lookup_fn lookup, void *payload,
                    char *err, size_t errlen);

void syncc_conf_free(syncc_conf *conf);

struct json_t;
/*
 * The tenant row (a JSON object, borrowed) that ${tenant.X} resolves against
 * in the files loaded and the mappings compiled by this thread from now on;
 * NULL (the default): such references are deferred (conf_interp.c).
 */
void syncc_conf_set_tenant(const struct json_t *row);
const struct json_t *syncc_conf_tenant(void);
/*
 * The value of a column path ("credentials.refreshToken") in that row as text
 * (*out malloc'ed; JSON objects and arrays as compact JSON).  1 found, 0
 * missing or null, -1 no row set, -2 out of memory.
 */
int syncc_conf_tenant_value(const char *path, char **out);

syncc_job *syncc_conf_job(syncc_conf *conf, const char *name);

/*
 * Builds a validated option set from key/value pairs, as syncc_conf_bind does
 * for one section (used by tests and by `plugins --describe`).
 * kv: NULL-terminated array of alternating keys and values.
 */
sync_config *syncc_config_from_pairs(const sync_option *table, const char *const *kv,
                                     const char *where, char *err, size_t errlen);
void syncc_config_free(sync_config *cfg);

/* The host-table getters (core/host.c forwards to these). */
const char *syncc_config_get_string(const sync_config *cfg, const char *name);
int syncc_config_get_int(const sync_config *cfg, const char *name, int64_t *out);
int syncc_config_get_bool(const sync_config *cfg, const char *name, int *out);
int syncc_config_get_double(const sync_config *cfg, const char *name, double *out);
size_t syncc_config_list_count(const sync_config *cfg, const char *name);
const char *syncc_config_list_item(const sync_config *cfg, const char *name, size_t index);
const char *syncc_config_where(const sync_config *cfg, const char *name);

/*
 * Checks that an option table is well formed (no duplicate names, defaults
 * parse as their type, enums have values, REQUIRED options have no default).
 * Used by the loader. Returns 0, or -1 with a message.
 */
int syncc_options_check(const sync_option *table, char *err, size_t errlen);

/* The engine's own keys of [engine], [job NAME] and [stream JOB.NAME], as option tables. */
const sync_option *syncc_conf_engine_options(void);
const sync_option *syncc_conf_job_options(void);
const sync_option *syncc_conf_stream_options(void);
const sync_option *syncc_conf_tenants_options(void);

/* "string", "integer", "boolean", "number", "duration", "enum", "list", "url". */
const char *syncc_option_type_name(sync_option_type type);

/* Parses a DURATION ("500ms", "30s", "5m", "2h", "1d", plain seconds) into milliseconds. */
int syncc_parse_duration(const char *text, int64_t *ms);
/* Formats milliseconds in the largest unit that divides them ("90s", "5m", "1d", "250ms"). */
void syncc_format_duration(int64_t ms, char *buf, size_t size);
/* Parses a BOOL (true/false, yes/no, on/off, 1/0). */
int syncc_parse_bool(const char *text, int *out);

#endif /* SYNCC_CONF_H */
