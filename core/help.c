/*
 * core/help.c - plugin listings and option documentation.
 *
 * The option tables plugins declare are the single source of truth: the
 * engine validates INI sections against them, `plugins --describe` prints
 * them, and docs/plugins/NAME.md is generated from them (`make docs`; a test
 * fails when the committed pages are stale).
 */
#include "help.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "engine.h"
#include "loader.h"

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
