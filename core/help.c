/*
 * core/help.c - plugin listings and option documentation.
 *
 * The option tables plugins declare are the single source of truth: the
 * engine validates INI sections against them, `plugins --describe` prints
 * them, and docs/plugins/NAME.md is generated from them (`make docs`; a test
 * fails when the committed pages are stale).  The command line's help
 * (`--help`, `help COMMAND`) and the man pages syncengine(1),
 * syncengine.ini(5) and syncengine-plugin(3) are printed from the tables
 * below and from the same option tables, so none of them can drift.
 */
#include "help.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "loader.h"
#include "status.h"

static const char *type_name(sync_option_type t)
{
    switch (t) {
    case SYNC_OPT_STRING: return "string";
    case SYNC_OPT_INT: return "integer";
    case SYNC_OPT_BOOL: return "bool";
    case SYNC_OPT_DOUBLE: return "number";
    case SYNC_OPT_DURATION: return "duration";
    case SYNC_OPT_ENUM: return "enum";
    case SYNC_OPT_LIST: return "list";
    case SYNC_OPT_URL: return "url";
    }
    return "?";
}

static const char *type_help(sync_option_type t)
{
    switch (t) {
    case SYNC_OPT_STRING: return "Any text.";
    case SYNC_OPT_INT: return "A 64-bit integer, within the option's range.";
    case SYNC_OPT_BOOL: return "true, yes, on, 1 or false, no, off, 0.";
    case SYNC_OPT_DOUBLE: return "A decimal number.";
    case SYNC_OPT_DURATION: return "A number with a unit (ms, s, m, h, d); a plain number means seconds.";
    case SYNC_OPT_ENUM: return "One of the option's listed values.";
    case SYNC_OPT_LIST: return "Comma-separated values.";
    case SYNC_OPT_URL: return "An http or https URL.";
    }
    return "";
}

static void range_text(const sync_option *o, char *buf, size_t size)
{
    if (o->type == SYNC_OPT_DURATION) {
        char a[32], b[32];
        syncc_format_duration(o->min, a, sizeof(a));
        syncc_format_duration(o->max, b, sizeof(b));
        snprintf(buf, size, "%s..%s", a, b);
    } else {
        snprintf(buf, size, "%lld..%lld", (long long)o->min, (long long)o->max);
    }
}

static void flags_text(const sync_option *o, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s%s%s", (o->flags & SYNC_OPT_REQUIRED) ? ", required" : "",
             (o->flags & SYNC_OPT_SECRET) ? ", secret" : "", (o->flags & SYNC_OPT_MULTI) ? ", repeatable" : "",
             (o->flags & SYNC_OPT_DEPRECATED) ? ", deprecated" : "");
}

static void text_table(const char *title, const char *prefix, const sync_option *t)
{
    if (t == NULL || t[0].name == NULL)
        return;
    printf("\n%s\n", title);
    for (const sync_option *o = t; o->name != NULL; o++) {
        char flags[64];
        flags_text(o, flags, sizeof(flags));
        printf("  %s%s (%s%s)\n", prefix, o->name, type_name(o->type), flags);
        if (o->description)
            printf("      %s\n", o->description);
        if (o->default_value)
            printf("      default: %s\n", o->default_value);
        if (o->max > o->min) {
            char r[80];
            range_text(o, r, sizeof(r));
            printf("      range: %s\n", r);
        }
        if (o->enum_values) {
            printf("      values:");
            for (const char *const *v = o->enum_values; *v; v++)
                printf(" %s", *v);
            printf("\n");
        }
    }
}

/* Markdown table cells must not contain '|' or newlines. */
static void md_cell(const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            fputs("\\|", stdout);
        else if (*s == '\n')
            putchar(' ');
        else
            putchar(*s);
    }
}

static void md_table(const char *title, const char *intro, const char *prefix, const sync_option *t)
{
    if (t == NULL || t[0].name == NULL)
        return;
    printf("\n## %s\n\n%s\n\n| option | type | default | description |\n|---|---|---|---|\n", title, intro);
    for (const sync_option *o = t; o->name != NULL; o++) {
        char flags[64];
        flags_text(o, flags, sizeof(flags));
        printf("| `%s%s` | %s%s", prefix, o->name, type_name(o->type), flags);
        if (o->max > o->min) {
            char r[80];
            range_text(o, r, sizeof(r));
            printf(", %s", r);
        }
        if (o->enum_values) {
            printf(": ");
            for (const char *const *v = o->enum_values; *v; v++)
                printf("%s`%s`", v == o->enum_values ? "" : ", ", *v);
        }
        printf(" | ");
        if (o->default_value) {
            printf("`");
            md_cell(o->default_value);
            printf("`");
        }
        printf(" | ");
        md_cell(o->description);
        printf(" |\n");
    }
}

static void describe_text(const syncc_plugin *p)
{
    const sync_plugin *d = &p->def;
    int src = (d->provides & SYNC_PROVIDES_SOURCE) != 0, snk = (d->provides & SYNC_PROVIDES_SINK) != 0;
    printf("%s %s - %s\n", d->name, d->version ? d->version : "", d->description ? d->description : "");
    printf("file: %s\nABI: %u.%u\nprovides:%s%s\n", p->path, d->abi_major, d->abi_minor, src ? " source" : "",
           snk ? " sink" : "");
    printf("capabilities:%s%s%s%s%s\n", (d->caps & SYNC_CAP_INCREMENTAL) ? " incremental" : "",
           (d->caps & SYNC_CAP_DELETES) ? " deletes" : "", (d->caps & SYNC_CAP_STATE) ? " state" : "",
           (d->caps & SYNC_CAP_LEASE) ? " lease" : "", (d->caps & SYNC_CAP_RUN_LOG) ? " run-log" : "");
    text_table(src && snk ? "options ([source NAME] or [sink NAME] section):"
               : src      ? "options ([source NAME] section):"
                          : "options ([sink NAME] section):",
               "", d->options);
    text_table("stream options ([stream JOB.NAME] section):", "source.", d->stream_options);
    text_table("target options ([stream JOB.NAME] or [job NAME] section):", "sink.", d->target_options);
}

static void describe_markdown(const syncc_plugin *p)
{
    const sync_plugin *d = &p->def;
    int src = (d->provides & SYNC_PROVIDES_SOURCE) != 0, snk = (d->provides & SYNC_PROVIDES_SINK) != 0;
    printf("<!-- generated by `syncengine plugins --describe %s --markdown` (make docs); do not edit -->\n",
           d->name);
    printf("# The `%s` plugin\n\n%s\n\n", d->name, d->description ? d->description : "");
    printf("Provides: %s%s%s. Capabilities:%s%s%s%s%s. Plugin ABI %u.%u.\n", src ? "source" : "",
           src && snk ? " and " : "", snk ? "sink" : "", (d->caps & SYNC_CAP_INCREMENTAL) ? " incremental" : "",
           (d->caps & SYNC_CAP_DELETES) ? " deletes" : "", (d->caps & SYNC_CAP_STATE) ? " state" : "",
           (d->caps & SYNC_CAP_LEASE) ? " lease" : "", (d->caps & SYNC_CAP_RUN_LOG) ? " run-log" : "",
           d->abi_major, d->abi_minor);
    md_table(src && snk ? "Section options" : src ? "Source section options" : "Sink section options",
             src && snk ? "Keys of a `[source NAME]` or `[sink NAME]` section with `plugin = " "this plugin`."
             : src      ? "Keys of a `[source NAME]` section with `plugin` set to this plugin."
                        : "Keys of a `[sink NAME]` section with `plugin` set to this plugin.",
             "", d->options);
    md_table("Stream options", "Keys of a `[stream JOB.NAME]` section whose job reads from this source.", "source.",
             d->stream_options);
    md_table("Target options",
             "Keys of a `[stream JOB.NAME]` section, or of its `[job NAME]` section for every stream of the job, "
             "whose job writes to this sink.",
             "sink.", d->target_options);
    printf("\nDurations take a unit: `500ms`, `30s`, `5m`, `2h`, `1d` (a plain number means seconds). "
           "Secret options should be set from the environment (`${NAME}`); their values never appear in logs.\n");
}

static void load_registry(syncc_registry *reg, const char *const *dirs, size_t n_cli)
{
    for (size_t i = 0; i < n_cli; i++)
        syncc_registry_scan_dir(reg, dirs[i]);
    char defaults[8][4096];
    size_t n = syncc_default_plugin_dirs(defaults, 8);
    for (size_t i = 0; i < n; i++)
        syncc_registry_scan_dir(reg, defaults[i]);
}

int syncc_help_plugins(const char *const *dirs, size_t n_dirs, const char *describe, int markdown)
{
    syncc_registry reg = {0};
    load_registry(&reg, dirs, n_dirs);
    int code = SYNCC_EXIT_OK;
    if (describe != NULL) {
        const syncc_plugin *p = syncc_registry_find(&reg, describe);
        if (p == NULL) {
            fprintf(stderr, "syncengine: plugin '%s' not found\n", describe);
            for (size_t i = 0; i < reg.n_errors; i++)
                fprintf(stderr, "  %s\n", reg.errors[i].reason);
            code = SYNCC_EXIT_PLUGIN;
        } else if (markdown) {
            describe_markdown(p);
        } else {
            describe_text(p);
        }
        syncc_registry_free(&reg);
        return code;
    }
    for (size_t i = 0; i < reg.n; i++) {
        const sync_plugin *d = &reg.plugins[i].def;
        int src = (d->provides & SYNC_PROVIDES_SOURCE) != 0, snk = (d->provides & SYNC_PROVIDES_SINK) != 0;
        printf("%-16s %-8s %-12s %s\n", d->name, d->version ? d->version : "",
               src && snk ? "source+sink" : src ? "source" : "sink", reg.plugins[i].path);
    }
    for (size_t i = 0; i < reg.n_errors; i++) {
        fprintf(stderr, "error: %s\n", reg.errors[i].reason);
        code = SYNCC_EXIT_PLUGIN;
    }
    if (reg.n == 0 && reg.n_errors == 0) {
        fprintf(stderr, "syncengine: no plugins found (use --plugin-dir)\n");
        code = SYNCC_EXIT_PLUGIN;
    }
    syncc_registry_free(&reg);
    return code;
}

/* ------------------------------------------------ the command line's help */

/*
 * The one description of the command line: `--help`, `help COMMAND` and
 * syncengine(1) are all printed from these tables.
 */
typedef struct opt_help {
    const char *name;   /* "-c, --config FILE" */
    const char *text;
} opt_help;

typedef struct cmd_help {
    const char *name;       /* NULL: running jobs (no command word) */
    const char *synopsis;
    const char *summary;
    const char *text;       /* paragraphs separated by "\n\n" */
    const char *opts;       /* the options it takes, by letter (see option_letter) */
} cmd_help;

/* Letters of options_help[], in order: c once F R P S l f D M j C T p G K H X V h */
static const opt_help options_help[] = {
    {"-c, --config FILE", "The configuration file (INI); see syncengine.ini(5)."},
    {"--once", "Run every enabled job once, then exit with the worst job's exit code."},
    {"--full-refresh", "Ignore saved cursors for this run and read everything again."},
    {"--run-at-start", "As a service, run every job once at start, then on its schedule."},
    {"--plugin-dir DIR", "Also look for plugins in DIR, before the default directories (repeatable)."},
    {"--state-dir DIR", "The local state directory; overrides [engine] state_dir."},
    {"-l, --log-level LEVEL", "error, warn, info, debug or trace; overrides [engine] log_level."},
    {"--log-format FMT", "text or json."},
    {"--describe NAME", "Document plugin NAME: its roles, capabilities and options."},
    {"--markdown", "With --describe: print Markdown (docs/plugins/NAME.md)."},
    {"--json", "Print JSON instead of a table (the shape is in docs/user-guide.md)."},
    {"--connect", "check: also ask the servers (describe the objects, prepare the statements); writes nothing."},
    {"--state STATE", "status: only the jobs (tenants) whose last run is ok, failing, late or never."},
    {"--print", "setup: print the statements instead of running them."},
    {"--suggest", "map: propose a [map] section from the servers' describe and the stream's fields."},
    {"--keep SIDE", "conflicts resolve: the version kept, salesforce or database."},
    {"--history", "verify: list the latest verify runs kept in each job's sink instead of verifying."},
    {"--fix", "verify: write the differing rows again through the job's own sink, then verify again."},
    {"-V, --version", "Print the version and the plugin ABI version, and exit."},
    {"-h, --help", "Print help (of the command given before it) and exit."},
};
static const char option_letters[] = "coFRPSlfDMjCTpGKHXVh";

static const cmd_help commands_help[] = {
    {NULL, "syncengine -c FILE [--once] [--full-refresh] [--run-at-start] [options]", "run jobs on their schedule",
     "Without a command, runs every enabled job on its schedule until SIGTERM or SIGINT, which stop at the next "
     "batch boundary; SIGHUP reloads the configuration once no job is running. With --once, runs every enabled "
     "job once and exits. On a terminal, a progress line shows every running stream.",
     "coFRPSlfVh"},
    {"run", "syncengine run JOB[@KEY] -c FILE [--full-refresh] [options]", "run one job once",
     "Runs job JOB once, whatever its schedule, and exits with the run's exit code. A JOB that the "
     "configuration does not define is a configuration error (exit 3). A template job (tenants = ...) runs "
     "once for every tenant of its set; JOB@KEY runs the one tenant whose key is KEY.",
     "cFPSlfh"},
    {"check", "syncengine check -c FILE [--connect] [options]", "validate the configuration",
     "Reads the configuration, loads the plugins, checks every section against its option table and the "
     "plugins' own rules, and compiles the mappings and schedules, without touching the network or the state "
     "store. Every problem found is listed with its file:line, not only the first (exit 3).\n\n"
     "With --connect, then asks the servers: the source describes every stream's object (mapped fields exist, "
     "the cursor field is a datetime), the sink prepares its targets, columns, write and hook statements and "
     "run log inside a transaction that is rolled back. Nothing is written; every run does the same before it "
     "records itself.",
     "cCPSlfh"},
    {"status", "syncengine status [JOB...] -c FILE [--json] [--state STATE] [options]",
     "show the last runs of every job",
     "Shows, for every job (or the JOBs named), its last run: when it started, its status, counts, duration, the "
     "next scheduled run and the last run's error. The runs come from the sink when it keeps a run log (every "
     "engine sharing the database), otherwise from this engine's state directory. status only reads: it creates "
     "no table and no schema.\n\n"
     "A template job (tenants = ...) is shown as one row per tenant, JOB@KEY, read from its tenant set; a "
     "JOB may be named as JOB@KEY. --state ok, failing, late (the last run is older than two periods of the "
     "schedule) or never shows only those. A last line counts them.\n\n"
     "Exit status: 0 when every job's last run succeeded, is still running or never ran; otherwise the exit code "
     "of the worst last run: 5 failed, 6 finished with rejected records, 7 stopped at the API limit; 3 for a JOB "
     "that is not defined.",
     "cPSlfjTh"},
    {"conflicts", "syncengine conflicts [resolve ID --keep salesforce|database] -c FILE [--json] [options]",
     "list the conflicts of two-way jobs, or settle one",
     "Lists every conflict of the configuration's two-way jobs (direction = ...), oldest first: a record changed "
     "on both sides since its last sync (the fields, both versions, the policy and its outcome), or a record "
     "that matched two candidates on a first sync (ambiguous_match). Conflicts settled by the policy are listed "
     "as resolved; under conflict_policy = manual they stay open and neither side is written.\n\n"
     "conflicts resolve ID --keep salesforce|database settles open conflict ID: the next run writes the kept "
     "version to the other side and closes it. Exit status: 0; 3 for an ID that is not an open conflict or a "
     "configuration without two-way jobs; 5 when the database could not be asked.",
     "cPSlfjKh"},
    {"setup", "syncengine setup -c FILE [--print] [options]",
     "create (or print) the sinks' own tables and what sources need",
     "Has every sink that keeps tables of its own (cursors, run log, leases, progress) create them if missing, "
     "every two-way job's sink its bookkeeping tables (syncengine.sync_links, sync_conflicts, "
     "sync_twoway_state), and every source that needs something on its server for a stream (the postgres "
     "source's change-log trigger) install it, connected with the configured credentials: run it once as a role that may create "
     "them (the owner), then run jobs as a role with only the grants listed in docs/security.md. Running it "
     "twice changes nothing. With --print, prints the statements without changing anything (sinks connect "
     "nowhere; a source may read its catalog).",
     "cpPSlfh"},
    {"verify", "syncengine verify [JOB] -c FILE [--json] [--fix] [--full-refresh] [--history] [options]",
     "compare each stream's source and target",
     "Compares the source and the target of every stream of every job (or of JOB) without trusting the "
     "engine's cursors: the source's keys cut each table into key ranges, each database counts and hashes "
     "every range in one pass, and only the ranges that differ are split again, so that the work grows with "
     "the differences, not with the tables. The rows of "
     "small differing ranges are fetched and listed: missing in the target, extra in the target, and different "
     "(with the columns that differ). The columns compared are those the mapping copies (a plain field); "
     "computed ones are listed as not compared. Both plugins must offer the compare operations (ABI 1.3); a "
     "stream whose plugins do not is reported as skipped.\n\n"
     "Each run is kept in the sink's database (syncengine.verify_runs, or _syncengine_verify_runs in a "
     "SQLite file); --history lists the latest ones. --json prints the reports as JSON.\n\n"
     "With --fix, the rows found missing or different are fetched from the source, mapped and written through "
     "the job's own sink (upserts), and the extra rows are handed to the sink as deletes (applied by its "
     "sink.delete_mode); orphans too with orphans_policy = delete. No cursor moves. The stream is then "
     "verified again and its final state decides the exit status.\n\n"
     "With --full-refresh, each job first runs once reading everything again: every row is written through "
     "its sink in its batches, the table is never emptied, so readers never see it empty or partly filled, "
     "and a sink with a full-refresh sweep (the PostgreSQL sink's sink.purge_scope) deletes the rows the "
     "source no longer holds in one transaction at the end. Then the job is verified and repaired as with "
     "--fix, which deletes the extra rows left.\n\n"
     "Exit status: 0 when every compared stream agrees, 8 when some differ, 5 when a side could not be read "
     "or the full refresh failed, 3 for a JOB that is not defined.",
     "cjXFHPSlfh"},
    {"discover", "syncengine discover SOURCE -c FILE [options]", "list the streams and fields a source offers",
     "Opens the [source SOURCE] instance and prints the streams it offers and the fields of each, with their "
     "types.",
     "cPSlfh"},
    {"describe", "syncengine describe -c FILE INSTANCE [OBJECT] [--json] [options]",
     "show an object's fields as the servers describe them",
     "Opens the [source INSTANCE] or [sink INSTANCE] section's plugin and prints the fields of OBJECT (a "
     "Salesforce object such as Contact): name, label, type, length, whether a create needs it, whether it can "
     "be created and updated, external id, custom, and the picklist values (restricted or not). Without OBJECT, "
     "prints the objects there are. --json prints the plugin's document instead (docs/user-guide.md). Nothing is "
     "written. A plugin without describe says so (exit 4).",
     "cjPSlfh"},
    {"map", "syncengine map --suggest -c FILE STREAM [options]", "propose a mapping for a stream",
     "Proposes a [map JOB.STREAM] section for STREAM (JOB.STREAM, or STREAM when one job has it) from the "
     "describe of the side that can describe and the fields of the other: names equal ignoring case and "
     "underscores (first_name, FirstName), then known synonyms (company, Company or Account.Name; zip, "
     "MailingPostalCode). Fields it could not pair and required fields left unmapped are listed as comments. It "
     "prints the section for you to edit and paste; it never writes a file.",
     "cGPSlfh"},
    {"templates", "syncengine templates [NAME]", "list the shipped mapping templates, or print one",
     "Lists the mapping templates (contact, lead, account, opportunity, campaign, task) with the object each "
     "writes and the table it expects, or prints template NAME as a [map] section. A [map JOB.STREAM] section "
     "uses one with template = NAME; its own lines replace the template's line of the same column, an empty "
     "value drops it, others are added (docs/mapping.md).",
     "h"},
    {"plugins", "syncengine plugins [--describe NAME [--markdown]] [--plugin-dir DIR]",
     "list plugins, or document one",
     "Lists the plugins found in the plugin directories, or documents one from its option tables.", "PDMh"},
    {"help", "syncengine help [COMMAND | --man PAGE [--plugin-dir DIR]]", "print help",
     "Prints the help of COMMAND, or this overview. `syncengine COMMAND --help` does the same. With --man, "
     "prints man page PAGE (syncengine, syncengine.ini, syncengine-plugin) as roff; syncengine.ini(5) "
     "documents the plugins found in the --plugin-dir directories.",
     "Ph"},
};

static const struct {
    int code;
    const char *text;
} exit_help[] = {
    {SYNCC_EXIT_OK, "success"},
    {SYNCC_EXIT_INTERNAL, "internal error"},
    {SYNCC_EXIT_USAGE, "bad command line"},
    {SYNCC_EXIT_CONFIG, "configuration or mapping invalid, or an unknown job named on the command line"},
    {SYNCC_EXIT_PLUGIN, "a plugin is missing or failed to load"},
    {SYNCC_EXIT_FAILED, "a job run failed (status: a job's last run failed)"},
    {SYNCC_EXIT_PARTIAL, "a job run finished but rejected some records"},
    {SYNCC_EXIT_RATELIMIT, "a job stopped at the API allowance; the next run resumes"},
    {SYNCC_EXIT_DIFFERENT, "verify: the source and the target of a stream differ"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static const cmd_help *find_command(const char *name)
{
    for (size_t i = 0; i < N_OF(commands_help); i++)
        if ((name == NULL && commands_help[i].name == NULL) ||
            (name != NULL && commands_help[i].name != NULL && strcmp(name, commands_help[i].name) == 0))
            return &commands_help[i];
    return NULL;
}

/*
 * Prints text wrapped at 79 columns, each line indented by indent spaces
 * except the first when the caller already printed up to that column.
 */
static void wrap_at(FILE *out, const char *text, int indent, int first_done)
{
    const char *p = text;
    while (*p) {
        int col = indent;
        if (!first_done)
            fprintf(out, "%*s", indent, "");
        first_done = 0;
        int first = 1;
        while (*p && *p != '\n') {
            const char *w = p;
            while (*w && *w != ' ' && *w != '\n')
                w++;
            int len = (int)(w - p);
            if (!first && col + 1 + len > 79)
                break;
            fprintf(out, "%s%.*s", first ? "" : " ", len, p);
            col += len + (first ? 0 : 1);
            first = 0;
            p = w;
            while (*p == ' ')
                p++;
        }
        fputc('\n', out);
        if (*p == '\n') {
            p++;
            if (*p == '\n') {
                fputc('\n', out);
                p++;
            }
        }
    }
}

static void wrap(FILE *out, const char *text, int indent)
{
    wrap_at(out, text, indent, 0);
}

static void print_options(FILE *out, const char *letters)
{
    for (const char *l = letters; *l; l++) {
        const char *at = strchr(option_letters, *l);
        if (at == NULL)
            continue;
        const opt_help *o = &options_help[at - option_letters];
        if (strlen(o->name) < 24) {
            fprintf(out, "  %-24s", o->name);
            wrap_at(out, o->text, 26, 1);
        } else {
            fprintf(out, "  %s\n", o->name);
            wrap(out, o->text, 26);
        }
    }
}

void syncc_help_usage(FILE *out)
{
    fprintf(out, "usage: %s\n", commands_help[0].synopsis);
    for (size_t i = 1; i < N_OF(commands_help); i++)
        fprintf(out, "       %s\n", commands_help[i].synopsis);
    fprintf(out, "\ncommands:\n");
    for (size_t i = 1; i < N_OF(commands_help); i++)
        fprintf(out, "  %-10s %s\n", commands_help[i].name, commands_help[i].summary);
    fprintf(out, "\n");
    wrap(out, commands_help[0].text, 0);
    fprintf(out, "\noptions:\n");
    print_options(out, option_letters);
    fprintf(out, "\nexit codes:\n");
    for (size_t i = 0; i < N_OF(exit_help); i++)
        fprintf(out, "  %d  %s\n", exit_help[i].code, exit_help[i].text);
    fprintf(out, "\n`syncengine help COMMAND` or `syncengine COMMAND --help` describes one command.\n");
}

int syncc_help_command(FILE *out, const char *command)
{
    if (command == NULL) {
        syncc_help_usage(out);
        return SYNCC_EXIT_OK;
    }
    const cmd_help *c = find_command(command);
    if (c == NULL) {
        fprintf(stderr, "syncengine: unknown command '%s'\n", command);
        fprintf(stderr, "commands:");
        for (size_t i = 1; i < N_OF(commands_help); i++)
            fprintf(stderr, " %s", commands_help[i].name);
        fprintf(stderr, "\n");
        return SYNCC_EXIT_USAGE;
    }
    fprintf(out, "usage: %s\n\n", c->synopsis);
    wrap(out, c->text, 0);
    fprintf(out, "\noptions:\n");
    print_options(out, c->opts);
    return SYNCC_EXIT_OK;
}

/* ------------------------------------------------------------ man pages */

/* Text for a roff line: backslashes and hyphens escaped, no line starting with a control character. */
static void roff(FILE *out, const char *s)
{
    if (s == NULL)
        return;
    if (*s == '.' || *s == '\'')
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\n') {
            fputc('\n', out);
            if (s[1] == '.' || s[1] == '\'')
                fputs("\\&", out);
        } else
            fputc(*s, out);
    }
}

/* Paragraphs ("\n\n"-separated) as roff paragraphs. */
static void roff_paragraphs(FILE *out, const char *text)
{
    const char *p = text;
    while (p && *p) {
        const char *end = strstr(p, "\n\n");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char buf[4096];
        snprintf(buf, sizeof(buf), "%.*s", (int)len, p);
        fputs(".PP\n", out);
        roff(out, buf);
        fputc('\n', out);
        p = end ? end + 2 : NULL;
    }
}

static void man_head(FILE *out, const char *name, const char *section, const char *title, const char *what)
{
    fprintf(out, ".\\\" generated by `syncengine help --man %s` (make docs); do not edit\n", name);
    fprintf(out, ".TH %s %s \"\" \"syncengine %s\" \"%s\"\n.SH NAME\n", name, section, SYNCENGINE_VERSION, title);
    roff(out, name);
    fputs(" \\- ", out);
    roff(out, what);
    fputc('\n', out);
}

static void man_options(FILE *out, const char *letters)
{
    for (const char *l = letters; *l; l++) {
        const char *at = strchr(option_letters, *l);
        if (at == NULL)
            continue;
        const opt_help *o = &options_help[at - option_letters];
        fputs(".TP\n.B ", out);
        roff(out, o->name);
        fputc('\n', out);
        roff(out, o->text);
        fputc('\n', out);
    }
}

static void man_syncengine(FILE *out)
{
    man_head(out, "syncengine", "1", "User Commands", "a plugin-based data-sync engine");
    fputs(".SH SYNOPSIS\n.nf\n", out);
    for (size_t i = 0; i < N_OF(commands_help); i++) {
        roff(out, commands_help[i].synopsis);
        fputc('\n', out);
    }
    fputs(".fi\n.SH DESCRIPTION\n", out);
    roff_paragraphs(out, "syncengine copies records from a source connector to a sink connector, both plugins "
                         "loaded at start, as jobs described in an INI file; a job runs on a cron schedule "
                         "and reads incrementally from a saved cursor.");
    roff_paragraphs(out, commands_help[0].text);
    fputs(".SH COMMANDS\n", out);
    for (size_t i = 1; i < N_OF(commands_help); i++) {
        fputs(".SS ", out);
        roff(out, commands_help[i].synopsis);
        fputc('\n', out);
        roff_paragraphs(out, commands_help[i].text);
    }
    fputs(".SH OPTIONS\n", out);
    man_options(out, option_letters);
    fputs(".SH EXIT STATUS\n", out);
    for (size_t i = 0; i < N_OF(exit_help); i++) {
        fprintf(out, ".TP\n.B %d\n", exit_help[i].code);
        roff(out, exit_help[i].text);
        fputc('\n', out);
    }
    fputs(".SH ENVIRONMENT\n.TP\n.B SYNCENGINE_PLUGIN_DIR\nA plugin directory searched before the default ones.\n"
          ".TP\n.B SYNCENGINE_STATE_DIR\nThe local state directory when the configuration names none.\n"
          ".TP\n.B SYNCENGINE_NO_PROGRESS\nSet: no progress line, even on a terminal.\n", out);
    fputs(".SH SEE ALSO\n.BR syncengine.ini (5),\n.BR syncengine\\-plugin (3),\n.BR systemd.service (5)\n", out);
}

static void man_option_table(FILE *out, const char *prefix, const sync_option *t)
{
    for (const sync_option *o = t; o && o->name != NULL; o++) {
        char flags[64];
        flags_text(o, flags, sizeof(flags));
        fputs(".TP\n.BR ", out);
        roff(out, prefix);
        roff(out, o->name);
        fputs(" \" (", out);
        roff(out, type_name(o->type));
        roff(out, flags);
        fputs(")\"\n", out);
        roff(out, o->description);
        fputc('\n', out);
        if (o->default_value) {
            fputs("Default: ", out);
            roff(out, o->default_value);
            fputs(".\n", out);
        }
        if (o->max > o->min) {
            char r[80];
            range_text(o, r, sizeof(r));
            fputs("Range: ", out);
            roff(out, r);
            fputs(".\n", out);
        }
        if (o->enum_values) {
            fputs("Values:", out);
            for (const char *const *v = o->enum_values; *v; v++) {
                fputc(' ', out);
                roff(out, *v);
            }
            fputs(".\n", out);
        }
    }
}

static void man_ini(FILE *out, const syncc_registry *reg)
{
    man_head(out, "syncengine.ini", "5", "File Formats", "syncengine configuration file");
    fputs(".SH DESCRIPTION\n", out);
    roff_paragraphs(out, "syncengine reads one INI file, plus the files it includes. [source NAME] and "
                         "[sink NAME] sections are instances of plugins (plugin = the plugin's name, then "
                         "its options); [job NAME] copies from a source to a sink on a schedule; "
                         "[stream JOB.NAME] names an object the job copies; [map JOB.NAME] maps source "
                         "fields to target columns with expressions; [tenants NAME] is a query whose rows are "
                         "tenants, and a job with tenants = NAME runs once per row as JOB@KEY.\n\n"
                         "Values may use ${NAME} and ${NAME:-default} to read the environment; secret options "
                         "should. In a template job's instance for a tenant, ${tenant.COLUMN} and "
                         "${tenant.COLUMN.json.path} (with the same :- rule) read the tenant's row. Durations take a unit: 500ms, 30s, 5m, 2h, 1d (a plain number means "
                         "seconds). Keys a section does not know are errors that list the valid keys.");
    fputs(".SH [engine]\n", out);
    man_option_table(out, "", syncc_conf_engine_options());
    fputs(".SH [job NAME]\n", out);
    man_option_table(out, "", syncc_conf_job_options());
    roff_paragraphs(out, "A job also takes its sink's target options as sink.KEY, for every stream of the job.");
    fputs(".SH [tenants NAME]\n", out);
    man_option_table(out, "", syncc_conf_tenants_options());
    fputs(".SH [stream JOB.NAME]\n", out);
    man_option_table(out, "", syncc_conf_stream_options());
    roff_paragraphs(out, "A stream also takes its source's stream options as source.KEY and its sink's target "
                         "options as sink.KEY.");
    fputs(".SH PLUGINS\n", out);
    roff_paragraphs(out, "The options of the plugins installed with syncengine follow; "
                         "`syncengine plugins --describe NAME` documents any plugin.");
    for (size_t i = 0; i < reg->n; i++) {
        const sync_plugin *d = &reg->plugins[i].def;
        fputs(".SS ", out);
        roff(out, d->name);
        fputc('\n', out);
        roff_paragraphs(out, d->description);
        man_option_table(out, "", d->options);
        man_option_table(out, "source.", d->stream_options);
        man_option_table(out, "sink.", d->target_options);
    }
    fputs(".SH SEE ALSO\n.BR syncengine (1),\n.BR syncengine\\-plugin (3)\n", out);
}

static void man_plugin(FILE *out)
{
    man_head(out, "syncengine-plugin", "3", "Library Functions Manual", "writing syncengine connector plugins");
    fputs(".SH SYNOPSIS\n.nf\n.B #include <sync/sync.h>\n.PP\n"
          "cc $(pkg\\-config \\-\\-cflags syncengine) \\-fPIC \\-shared \\-fvisibility=hidden \\e\n"
          "    \\-Wl,\\-\\-no\\-undefined \\-o NAME.so NAME.c\n.fi\n.SH DESCRIPTION\n", out);
    roff_paragraphs(out,
                    "A connector is a shared object that exports one function, sync_plugin_entry, written by "
                    "SYNC_PLUGIN_DEFINE(definition, host_variable). It returns a const sync_plugin whose head "
                    "(SYNC_PLUGIN_HEAD) carries the ABI version and struct size; provides says whether it is a "
                    "source, a sink or both, and the source and sink tables hold its callbacks. Everything the "
                    "plugin needs from the engine arrives through the sync_host table; it never links against "
                    "the engine.\n\n"
                    "Options are declared in sync_option tables (options, stream_options, target_options): the "
                    "engine validates the INI sections against them, redacts secrets and documents them "
                    "(syncengine plugins --describe NAME). Install the object into the directory "
                    "`pkg-config --variable=plugindir syncengine` names.");
    fprintf(out, ".PP\nThis engine provides plugin ABI %d.%d.\n", SYNC_ABI_MAJOR, SYNC_ABI_MINOR);
    fputs(".SH OPTION TYPES\n", out);
    for (int t = SYNC_OPT_STRING; t <= SYNC_OPT_URL; t++) {
        fputs(".TP\n.B ", out);
        roff(out, type_name((sync_option_type)t));
        fputc('\n', out);
        roff(out, type_help((sync_option_type)t));
        fputc('\n', out);
    }
    fputs(".SH STATUS CODES\n", out);
    roff_paragraphs(out, "Callbacks return SYNC_OK (0) or a negative code; the engine retries the retryable "
                         "ones with backoff. Codes are never renumbered.");
    for (int c = 0; c >= SYNC_STATUS_MIN; c--) {
        fprintf(out, ".TP\n.B %d\n", c);
        roff(out, syncc_strerror(c));
        fputs(syncc_status_is_retryable(c) ? " (retryable)\n" : "\n", out);
    }
    fputs(".SH SEE ALSO\n.BR syncengine (1),\n.BR syncengine.ini (5);\n"
          "plugin\\-abi.md and plugin\\-guide.md in the documentation directory\n", out);
}

int syncc_help_man(const char *page, const char *const *dirs, size_t n_dirs)
{
    if (strcmp(page, "syncengine") == 0) {
        man_syncengine(stdout);
        return SYNCC_EXIT_OK;
    }
    if (strcmp(page, "syncengine-plugin") == 0) {
        man_plugin(stdout);
        return SYNCC_EXIT_OK;
    }
    if (strcmp(page, "syncengine.ini") == 0) {
        /* only the --plugin-dir directories: the page documents what is built, not what is installed */
        syncc_registry reg = {0};
        for (size_t i = 0; i < n_dirs; i++)
            syncc_registry_scan_dir(&reg, dirs[i]);
        man_ini(stdout, &reg);
        syncc_registry_free(&reg);
        return SYNCC_EXIT_OK;
    }
    fprintf(stderr, "syncengine: no man page '%s' (syncengine, syncengine.ini, syncengine-plugin)\n", page);
    return SYNCC_EXIT_USAGE;
}
