/*
 * core/main.c - the syncengine command line.
 *
 *   syncengine -c FILE [--once] [--full-refresh]   run jobs (daemon, or once)
 *   syncengine run JOB -c FILE                      run one job once
 *   syncengine check -c FILE [--connect]            validate offline (and against the servers)
 *   syncengine plugins [--describe NAME]            list plugins, or document one
 *   syncengine status [JOB...] -c FILE [--json]     last runs of every job
 *   syncengine help [COMMAND]                       help (also COMMAND --help)
 *   syncengine discover SOURCE -c FILE              streams and fields a source offers
 *   syncengine setup -c FILE [--print]              create (or print) the sinks' own tables and what sources need
 *   syncengine describe -c FILE INSTANCE [OBJECT]   an object's fields (or the objects) as the servers say
 *   syncengine map --suggest -c FILE STREAM         a proposed [map] section for a stream
 *   syncengine templates [NAME]                     the shipped mapping templates
 *   syncengine verify [JOB] -c FILE [--json] [--fix] [--full-refresh]
 *                                                  compare (and repair) each stream's source and target
 *
 * Exit codes are listed in engine.h and docs/user-guide.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "describe_cmd.h"
#include "engine.h"
#include "help.h"
#include "history.h"
#include "hostapi.h"
#include "log.h"
#include "map_templates.h"
#include "status.h"
#include "status_cmd.h"
#include "conflicts_cmd.h"
#include "timeutil.h"
#include "verify.h"
#include "twoway.h"

static volatile int *stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    if (stop_flag != NULL)
        *stop_flag = 1;
}

static void usage(FILE *out)
{
    syncc_help_usage(out);
}

/* ------------------------------------------------------------ discover */

static int cmd_discover(syncc_engine *e, const char *source_name)
{
    const syncc_instance *in = NULL;
    for (size_t i = 0; i < e->conf->n_instances; i++)
        if (e->conf->instances[i].is_source && strcmp(e->conf->instances[i].name, source_name) == 0)
            in = &e->conf->instances[i];
    if (in == NULL) {
        fprintf(stderr, "syncengine: no [source %s] in %s\n", source_name, e->conf->path);
        return SYNCC_EXIT_USAGE;
    }
    const syncc_plugin *p = syncc_registry_find(&e->registry, in->plugin_name);
    if (p->source.discover == NULL) {
        fprintf(stderr, "syncengine: plugin '%s' does not support discovery\n", p->def.name);
        return SYNCC_EXIT_PLUGIN;
    }
    sync_ctx *ctx = syncc_ctx_new("discover", in->name, in->plugin_name);
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    void *inst = NULL;
    int rc = p->source.open(ctx, in->config, &inst);
    sync_catalog *cat = syncc_catalog_new();
    if (rc == SYNC_OK) {
        rc = p->source.discover(inst, cat);
        p->source.close(inst);
    }
    if (rc == SYNC_OK)
        syncc_catalog_print(cat, stdout);
    else
        fprintf(stderr, "syncengine: discovery failed: %s%s%s\n", syncc_strerror(rc), ctx->errbuf[0] ? ": " : "",
                ctx->errbuf);
    syncc_catalog_free(cat);
    syncc_ctx_free(ctx);
    return rc == SYNC_OK ? SYNCC_EXIT_OK : SYNCC_EXIT_FAILED;
}

/* --------------------------------------------------------------- setup */

/*
 * Creates (or prints) the tables each sink keeps of its own, and what each
 * source needs for a stream (a change-log trigger), with the role of its
 * configured connection: run once as the owner, so that the engine can then
 * run as a role with row privileges only.
 */
static int cmd_setup(syncc_engine *e, int print)
{
    int code = SYNCC_EXIT_OK, any = 0;
    for (size_t i = 0; i < e->conf->n_instances; i++) {
        const syncc_instance *in = &e->conf->instances[i];
        if (in->is_source)
            continue;
        const syncc_plugin *p = syncc_registry_find(&e->registry, in->plugin_name);
        if (p == NULL || p->sink.setup == NULL)
            continue;
        any = 1;
        sync_ctx *ctx = syncc_ctx_new("setup", in->name, in->plugin_name);
        if (ctx == NULL)
            return SYNCC_EXIT_INTERNAL;
        ctx->cancel = &e->stop;
        char *ddl = NULL;
        int rc = p->sink.setup(ctx, in->config, !print, &ddl);
        if (rc != SYNC_OK) {
            fprintf(stderr, "syncengine: setup of sink '%s' (%s) failed: %s%s%s\n", in->name, p->def.name,
                    syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
            code = SYNCC_EXIT_FAILED;
        } else if (print) {
            printf("-- sink '%s' (%s)\n%s", in->name, p->def.name, ddl ? ddl : "");
        } else {
            printf("sink '%s' (%s): its tables are in place\n", in->name, p->def.name);
        }
        free(ddl);
        syncc_ctx_free(ctx);
    }
    /* ABI 1.3: what a source needs on its server for each stream it serves (a change-log trigger) */
    for (size_t j = 0; j < e->conf->n_jobs; j++) {
        const syncc_job *job = &e->conf->jobs[j];
        const syncc_instance *in = job->source;
        const syncc_plugin *p = in ? syncc_registry_find(&e->registry, in->plugin_name) : NULL;
        if (p == NULL || p->source.setup_stream == NULL)
            continue;
        for (size_t k = 0; k < job->n_streams; k++) {
            const syncc_stream *st = &job->streams[k];
            sync_ctx *ctx = syncc_ctx_new("setup", in->name, in->plugin_name);
            if (ctx == NULL)
                return SYNCC_EXIT_INTERNAL;
            ctx->cancel = &e->stop;
            char *ddl = NULL;
            int rc = p->source.setup_stream(ctx, in->config, st->object, st->source_options, !print, &ddl);
            if (rc != SYNC_OK) {
                fprintf(stderr, "syncengine: setup of source '%s' (%s) for stream %s.%s failed: %s%s%s\n", in->name,
                        p->def.name, job->name, st->name, syncc_strerror(rc), ctx->errbuf[0] ? ": " : "",
                        ctx->errbuf);
                code = SYNCC_EXIT_FAILED;
            } else if (ddl != NULL) {
                any = 1;
                if (print)
                    printf("-- source '%s' (%s), stream %s.%s\n%s", in->name, p->def.name, job->name, st->name, ddl);
                else
                    printf("source '%s' (%s): stream %s.%s is set up\n", in->name, p->def.name, job->name,
                           st->name);
            }
            free(ddl);
            syncc_ctx_free(ctx);
        }
    }
    /* the bookkeeping tables of two-way jobs, through their sink */
    int tw_failed = 0;
    if (syncc_twoway_setup(e, print, &tw_failed) > 0)
        any = 1;
    if (tw_failed)
        code = SYNCC_EXIT_FAILED;
    if (!any)
        printf("%s: no sink keeps tables of its own and no source needs anything; nothing to set up\n",
               e->conf->path);
    return code;
}

/* ---------------------------------------------------------------- main */

/* What the command line asked for. */
typedef struct cli {
    const char *cmd;         /* the command, once known: --help prints its help */
    const char *man;         /* help --man PAGE */
    int json;                /* status --json */
    const char *state_filter; /* status --state STATE */
    const char *keep;        /* conflicts resolve --keep SIDE */
    const char *config, *state_dir, *describe;
    const char *plugin_dirs[9];
    size_t n_dirs;
    int once, full_refresh, run_at_start, markdown, print, connect, suggest;
    int history;             /* verify --history */
    int fix;                 /* verify --fix */
} cli;

/*
 * Parses options until the first non-option (the command) or the end.
 * Returns -1 to go on, or the exit code (--help, --version, a bad option).
 */
static int parse_options(cli *o, int argc, char **argv, const char *optstring)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},     {"once", no_argument, NULL, 'o'},
        {"full-refresh", no_argument, NULL, 'F'},     {"run-at-start", no_argument, NULL, 'R'},
        {"plugin-dir", required_argument, NULL, 'P'}, {"state-dir", required_argument, NULL, 'S'},
        {"log-level", required_argument, NULL, 'l'},  {"log-format", required_argument, NULL, 'f'},
        {"describe", required_argument, NULL, 'D'},   {"markdown", no_argument, NULL, 'M'},
        {"version", no_argument, NULL, 'V'},          {"help", no_argument, NULL, 'h'},
        {"print", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},             {"man", required_argument, NULL, 'N'},
        {"connect", no_argument, NULL, 'C'},          {"state", required_argument, NULL, 'T'},
        {"suggest", no_argument, NULL, 'G'},
        {"keep", required_argument, NULL, 'K'},
        {"history", no_argument, NULL, 'H'},          {"fix", no_argument, NULL, 'X'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, optstring, longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'o': o->once = 1; break;
        case 'F': o->full_refresh = 1; break;
        case 'R': o->run_at_start = 1; break;
        case 'P':
            if (o->n_dirs < 8)
                o->plugin_dirs[o->n_dirs++] = optarg;
            break;
        case 'S': o->state_dir = optarg; break;
        case 'D': o->describe = optarg; break;
        case 'M': o->markdown = 1; break;
        case 'p': o->print = 1; break;
        case 'j': o->json = 1; break;
        case 'N': o->man = optarg; break;
        case 'C': o->connect = 1; break;
        case 'T': o->state_filter = optarg; break;
        case 'G': o->suggest = 1; break;
        case 'K': o->keep = optarg; break;
        case 'H': o->history = 1; break;
        case 'X': o->fix = 1; break;
        case 'l': {
            sync_log_level lvl;
            if (syncc_log_parse_level(optarg, &lvl) != 0) {
                fprintf(stderr, "syncengine: unknown log level '%s' (error, warn, info, debug, trace)\n", optarg);
                return SYNCC_EXIT_USAGE;
            }
            syncc_log_set_level(lvl);
            /* the command line wins over [engine] log_level */
            setenv("SYNCC_LOG_LEVEL_FROM_CLI", "1", 1);
            break;
        }
        case 'f':
            setenv("SYNCC_LOG_FORMAT_FROM_CLI", "1", 1); /* the command line wins over [engine] log_format */
            if (strcmp(optarg, "json") == 0)
                syncc_log_set_json(1);
            else if (strcmp(optarg, "text") != 0) {
                fprintf(stderr, "syncengine: unknown log format '%s' (text, json)\n", optarg);
                return SYNCC_EXIT_USAGE;
            }
            break;
        case 'V':
            printf("syncengine %s (plugin ABI %d.%d)\n", SYNCENGINE_VERSION, SYNC_ABI_MAJOR, SYNC_ABI_MINOR);
            return SYNCC_EXIT_OK;
        case 'h': return syncc_help_command(stdout, o->cmd);
        default: usage(stderr); return SYNCC_EXIT_USAGE;
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    cli o;
    memset(&o, 0, sizeof(o));
    /* options, the command (and its argument), then options may follow it too */
    int rc = parse_options(&o, argc, argv, "+c:l:Vh");
    if (rc >= 0)
        return rc;
    const char *cmd = optind < argc ? argv[optind++] : NULL;
    const char *arg = NULL;
    if (cmd != NULL && (strcmp(cmd, "run") == 0 || strcmp(cmd, "discover") == 0 || strcmp(cmd, "help") == 0 ||
                        strcmp(cmd, "verify") == 0) &&
        optind < argc && argv[optind][0] != '-')
        arg = argv[optind++];
    /* conflicts resolve ID */
    const char *resolve_id = NULL;
    int resolve = 0;
    if (cmd != NULL && strcmp(cmd, "conflicts") == 0 && optind < argc && strcmp(argv[optind], "resolve") == 0) {
        resolve = 1;
        optind++;
        if (optind < argc && argv[optind][0] != '-')
            resolve_id = argv[optind++];
    }
    /* status JOB...: the job names, up to the first option */
    const char *jobs[32];
    size_t n_jobs = 0;
    while (cmd != NULL && strcmp(cmd, "status") == 0 && optind < argc && argv[optind][0] != '-' &&
           n_jobs < sizeof(jobs) / sizeof(jobs[0]))
        jobs[n_jobs++] = argv[optind++];
    o.cmd = cmd;
    /* describe INSTANCE [OBJECT], map STREAM, templates [NAME]: operands and options in any order */
    const char *pos[2] = {NULL, NULL};
    size_t n_pos = 0, max_pos = 0;
    if (cmd != NULL)
        max_pos = strcmp(cmd, "describe") == 0 ? 2 : strcmp(cmd, "map") == 0 || strcmp(cmd, "templates") == 0 ? 1 : 0;
    for (;;) {
        while (max_pos > 0 && optind < argc && argv[optind][0] != '-' && n_pos < max_pos)
            pos[n_pos++] = argv[optind++];
        int before = optind;
        rc = parse_options(&o, argc, argv, "c:l:Vh");
        if (rc >= 0)
            return rc;
        if (max_pos == 0 || optind == before || optind >= argc)
            break;
    }
    while (cmd != NULL && strcmp(cmd, "status") == 0 && optind < argc && n_jobs < sizeof(jobs) / sizeof(jobs[0]))
        jobs[n_jobs++] = argv[optind++]; /* job names after the options */
    if (cmd != NULL && strcmp(cmd, "verify") == 0 && arg == NULL && optind < argc) {
        arg = argv[optind++]; /* verify -c FILE JOB [options] */
        rc = parse_options(&o, argc, argv, "c:l:Vh");
        if (rc >= 0)
            return rc;
    }
    if (resolve && resolve_id == NULL && optind < argc && argv[optind][0] != '-') {
        resolve_id = argv[optind++]; /* conflicts resolve -c FILE ID [--keep SIDE] */
        rc = parse_options(&o, argc, argv, "c:l:Vh");
        if (rc >= 0)
            return rc;
    }
    const char *config = o.config, *state_dir = o.state_dir, *describe = o.describe;
    const char *const *plugin_dirs = o.plugin_dirs;
    size_t n_dirs = o.n_dirs;
    int once = o.once, full_refresh = o.full_refresh, run_at_start = o.run_at_start, markdown = o.markdown;
    if (optind < argc) {
        fprintf(stderr, "syncengine: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return SYNCC_EXIT_USAGE;
    }
    if (cmd != NULL && strcmp(cmd, "run") != 0 && strcmp(cmd, "check") != 0 && strcmp(cmd, "plugins") != 0 &&
        strcmp(cmd, "status") != 0 && strcmp(cmd, "discover") != 0 && strcmp(cmd, "help") != 0 &&
        strcmp(cmd, "setup") != 0 && strcmp(cmd, "describe") != 0 && strcmp(cmd, "map") != 0 &&
        strcmp(cmd, "templates") != 0 && strcmp(cmd, "conflicts") != 0 && strcmp(cmd, "verify") != 0) {
        fprintf(stderr, "syncengine: unknown command '%s'\n", cmd);
        usage(stderr);
        return SYNCC_EXIT_USAGE;
    }

    if (cmd != NULL && strcmp(cmd, "templates") == 0)
        return syncc_templates_command(stdout, pos[0]);
    if (cmd != NULL && strcmp(cmd, "describe") == 0 && pos[0] == NULL) {
        fprintf(stderr, "syncengine: describe needs a [source NAME] or [sink NAME] name\n");
        return SYNCC_EXIT_USAGE;
    }
    if (cmd != NULL && strcmp(cmd, "map") == 0 && (!o.suggest || pos[0] == NULL)) {
        fprintf(stderr, "syncengine: map needs --suggest and a stream name (map --suggest -c FILE STREAM)\n");
        return SYNCC_EXIT_USAGE;
    }
    if (cmd != NULL && strcmp(cmd, "help") == 0)
        return o.man ? syncc_help_man(o.man, plugin_dirs, n_dirs) : syncc_help_command(stdout, arg);

    int code;
    if (cmd != NULL && strcmp(cmd, "plugins") == 0) {
        code = syncc_help_plugins(plugin_dirs, n_dirs, describe, markdown);
        return code;
    }
    if (config == NULL) {
        fprintf(stderr, "syncengine: no configuration file given (-c FILE)\n");
        usage(stderr);
        return SYNCC_EXIT_USAGE;
    }
    if ((cmd != NULL && (strcmp(cmd, "run") == 0 || strcmp(cmd, "discover") == 0)) && arg == NULL) {
        fprintf(stderr, "syncengine: %s needs a %s name\n", cmd, strcmp(cmd, "run") == 0 ? "job" : "source");
        return SYNCC_EXIT_USAGE;
    }

    syncc_engine_opts opts = {.config_path = config, .plugin_dirs = plugin_dirs, .state_dir = state_dir,
                              .open_state = !(cmd != NULL && (strcmp(cmd, "check") == 0 || strcmp(cmd, "setup") == 0)) ||
                                            o.connect};

    char err[8192];
    syncc_engine *e = syncc_engine_open(&opts, err, sizeof(err), &code);
    if (e == NULL) {
        syncc_log_redact(err, sizeof(err));
        fprintf(stderr, "syncengine: %s\n", err);
        return code;
    }
    e->full_refresh = full_refresh;
    e->run_at_start = run_at_start;
    stop_flag = &e->stop;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (cmd != NULL && strcmp(cmd, "check") == 0) {
        size_t n_streams = 0;
        for (size_t j = 0; j < e->n_jobs; j++)
            n_streams += e->jobs[j].n_streams;
        code = SYNCC_EXIT_OK;
        if (o.connect) {
            /* every job against its servers; every problem listed, then the verdict */
            syncc_problems probs = {0};
            for (size_t j = 0; j < e->n_jobs; j++) {
                char why[2048];
                /* a template: each of its tenants, as its runs will be */
                int crc = e->jobs[j].conf->tenants != NULL
                              ? syncc_tenants_check_connect(e, &e->jobs[j], &probs, why, sizeof(why))
                              : syncc_check_connect(e, &e->jobs[j], &probs, why, sizeof(why));
                if (crc != SYNC_OK) {
                    syncc_log_redact(why, sizeof(why));
                    fprintf(stderr, "syncengine: job '%s': %s\n", e->jobs[j].conf->name, why);
                    code = SYNCC_EXIT_FAILED;
                }
            }
            for (size_t i = 0; i < probs.n; i++) {
                syncc_log_redact(probs.lines[i], strlen(probs.lines[i]) + 1);
                fprintf(stderr, "syncengine: %s\n", probs.lines[i]);
            }
            if (probs.n > 0)
                code = SYNCC_EXIT_CONFIG;
            syncc_problems_free(&probs);
        }
        if (code == SYNCC_EXIT_OK)
            printf("%s: configuration OK%s (%zu job(s), %zu stream(s), %zu plugin instance(s))\n", config,
                   o.connect ? " against the servers" : "", e->n_jobs, n_streams, e->conf->n_instances);
    } else if (cmd != NULL && strcmp(cmd, "status") == 0) {
        code = syncc_status_command_state(e, jobs, n_jobs, o.json, o.state_filter);
    } else if (cmd != NULL && strcmp(cmd, "conflicts") == 0) {
        code = resolve ? syncc_conflicts_resolve(e, resolve_id, o.keep) : syncc_conflicts_command(e, o.json);
    } else if (cmd != NULL && strcmp(cmd, "verify") == 0) {
        code = syncc_verify_command(e, arg, o.json, o.history, o.fix, full_refresh);
    } else if (cmd != NULL && strcmp(cmd, "setup") == 0) {
        code = cmd_setup(e, o.print);
    } else if (cmd != NULL && strcmp(cmd, "discover") == 0) {
        code = cmd_discover(e, arg);
    } else if (cmd != NULL && strcmp(cmd, "describe") == 0) {
        code = syncc_describe_command(e, pos[0], pos[1], o.json);
    } else if (cmd != NULL && strcmp(cmd, "map") == 0) {
        code = syncc_map_suggest_command(e, pos[0]);
    } else if (cmd != NULL && strcmp(cmd, "run") == 0) {
        /* JOB@KEY: one tenant of a template job; a template: every tenant once */
        char tname[512];
        snprintf(tname, sizeof(tname), "%s", arg);
        char *at = strchr(tname, '@');
        if (at != NULL)
            *at = '\0';
        syncc_job_rt *job = syncc_engine_job(e, tname);
        if (job != NULL && (job->conf->tenants != NULL || at != NULL)) {
            int any = 0;
            if (job->conf->tenants == NULL) {
                fprintf(stderr, "syncengine: job '%s' has no tenants (no tenants = in [job %s])\n", tname, tname);
                code = SYNCC_EXIT_CONFIG;
            } else {
                code = syncc_tenants_run_once(e, tname, at != NULL ? at + 1 : NULL, &any);
            }
        } else if (job == NULL) {
            fprintf(stderr, "syncengine: no job '%s' in %s\n", arg, config);
            code = SYNCC_EXIT_CONFIG;
        } else {
            syncc_run_result res;
            code = syncc_job_run(e, job, &res);
        }
    } else if (once) {
        code = syncc_run_all_once(e);
    } else {
        code = syncc_scheduler_run(&e, &opts);
    }
    stop_flag = NULL;
    syncc_engine_close(e);
    syncc_log_clear_secrets();
    return code;
}
