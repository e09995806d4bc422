/*
 * core/describe_cmd.c - `syncengine describe -c FILE INSTANCE [OBJECT]`.
 *
 * Opens the [source INSTANCE] or [sink INSTANCE] section's plugin for this
 * alone and asks its describe op (ABI 1.3) for an object's fields, or, without
 * OBJECT, for the objects there are.  Prints a table, or the plugin's JSON
 * document with --json.  Nothing is written anywhere.
 */
#include "describe_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostapi.h"
#include "log.h"
#include "status.h"

static const syncc_instance *find_instance(const syncc_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->n_instances; i++)
        if (strcmp(conf->instances[i].name, name) == 0)
            return &conf->instances[i];
    return NULL;
}

int syncc_describe_fetch(syncc_engine *e, const syncc_instance *in, const char *object, json_t **out, char *err,
                         size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    const syncc_plugin *p = syncc_registry_find(&e->registry, in->plugin_name);
    if (p == NULL || p->def.describe == NULL) {
        snprintf(err, errlen, "plugin '%s' cannot describe (of [%s %s])", in->plugin_name,
                 in->is_source ? "source" : "sink", in->name);
        return SYNC_E_UNSUPPORTED;
    }
    sync_ctx *ctx = syncc_ctx_new("describe", in->name, in->plugin_name);
    if (ctx == NULL)
        return SYNC_E_NOMEM;
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    void *inst = NULL;
    int rc = in->is_source ? p->source.open(ctx, in->config, &inst) : p->sink.open(ctx, in->config, &inst);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "%s '%s' (%s) failed to open: %s%s%s", in->is_source ? "source" : "sink", in->name,
                 p->def.name, syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        syncc_ctx_free(ctx);
        return rc;
    }
    char *text = NULL;
    rc = p->def.describe(inst, in->is_source, object, &text);
    if (in->is_source)
        p->source.close(inst);
    else
        p->sink.close(inst);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "describe of %s%s%s failed: %s%s%s", object ? "\"" : "the objects of ",
                 object ? object : in->name, object ? "\"" : "", syncc_strerror(rc), ctx->errbuf[0] ? ": " : "",
                 ctx->errbuf);
    } else {
        json_error_t jerr;
        *out = text != NULL ? json_loads(text, 0, &jerr) : NULL;
        if (*out == NULL) {
            snprintf(err, errlen, "plugin '%s' returned a describe that is not JSON", p->def.name);
            rc = SYNC_E_PROTOCOL;
        }
    }
    free(text);
    syncc_ctx_free(ctx);
    return rc;
}

/* ------------------------------------------------------------ the table */

typedef struct table {
    char ***cells;
    size_t rows, cols;
    size_t *width;
} table;

static void table_add(table *t, char **row)
{
    char ***n = realloc(t->cells, (t->rows + 1) * sizeof(*n));
    if (n == NULL) {
        for (size_t c = 0; c < t->cols; c++)
            free(row[c]);
        free(row);
        return;
    }
    t->cells = n;
    t->cells[t->rows++] = row;
    for (size_t c = 0; c < t->cols; c++) {
        size_t w = row[c] ? strlen(row[c]) : 0;
        if (w > t->width[c])
            t->width[c] = w;
    }
}

static void table_print(table *t, FILE *out)
{
    for (size_t r = 0; r < t->rows; r++) {
        size_t last = 0; /* no blanks at the end of a line */
        for (size_t c = 0; c < t->cols; c++)
            if (t->cells[r][c] != NULL && t->cells[r][c][0] != '\0')
                last = c;
        for (size_t c = 0; c < t->cols; c++) {
            const char *s = t->cells[r][c] ? t->cells[r][c] : "";
            if (c == last)
                fprintf(out, "%s", s);
            else if (c < last)
                fprintf(out, "%-*s  ", (int)t->width[c], s);
            free(t->cells[r][c]);
        }
        fputc('\n', out);
        free(t->cells[r]);
    }
    free(t->cells);
    free(t->width);
}

static const char *jstr(const json_t *j)
{
    const char *s = json_string_value(j);
    return s ? s : "";
}

static char *dupstr(const char *s)
{
    return strdup(s ? s : "");
}

/* Starts t: ncols columns, head its first row.  -1 when out of memory (nothing is printed then). */
static int table_begin(table *t, const char *const *head, size_t ncols)
{
    t->cells = NULL;
    t->rows = 0;
    t->cols = ncols;
    t->width = calloc(ncols, sizeof(size_t));
    if (t->width == NULL)
        return -1;
    char **row = calloc(ncols, sizeof(char *));
    for (size_t c = 0; row && c < ncols; c++)
        row[c] = dupstr(head[c]);
    if (row)
        table_add(t, row);
    return 0;
}

static char *yes(const json_t *o, const char *key)
{
    return dupstr(json_is_true(json_object_get(o, key)) ? "yes" : "");
}

static void print_fields(const json_t *doc, FILE *out)
{
    static const char *const head[] = {"FIELD", "LABEL", "TYPE", "LENGTH", "REQUIRED", "CREATE", "UPDATE",
                                       "EXTERNAL ID", "CUSTOM", "PICKLIST VALUES"};
    enum { NCOLS = 10 };
    table t;
    if (table_begin(&t, head, NCOLS) < 0)
        return;
    char **row;
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(doc, "fields"), i, f) {
        if ((row = calloc(NCOLS, sizeof(char *))) == NULL)
            break;
        char len[32] = "";
        json_int_t n = json_integer_value(json_object_get(f, "length"));
        if (n > 0)
            snprintf(len, sizeof len, "%lld", (long long)n);
        const json_t *refs = json_object_get(f, "references");
        char type[256];
        snprintf(type, sizeof type, "%s", jstr(json_object_get(f, "type")));
        if (json_array_size(refs) > 0) {
            /* reference(Account) / reference(Contact|Lead) */
            size_t k;
            const json_t *r;
            json_array_foreach(refs, k, r) {
                size_t used = strlen(type);
                snprintf(type + used, sizeof type - used, "%s%s", k ? "|" : "(", jstr(r));
            }
            size_t used = strlen(type);
            snprintf(type + used, sizeof type - used, ")");
        }
        char *pl = NULL;
        size_t plen = 0;
        FILE *m = open_memstream(&pl, &plen);
        if (m != NULL) {
            size_t k;
            const json_t *v;
            json_array_foreach(json_object_get(f, "picklist"), k, v) {
                fprintf(m, "%s%s", k ? "; " : "", jstr(v));
            }
            if (json_array_size(json_object_get(f, "picklist")) > 0 &&
                json_is_true(json_object_get(f, "restricted_picklist")))
                fprintf(m, " (restricted)");
            fclose(m);
        }
        row[0] = dupstr(json_string_value(json_object_get(f, "name")));
        row[1] = dupstr(json_string_value(json_object_get(f, "label")));
        row[2] = dupstr(type);
        row[3] = dupstr(len);
        row[4] = yes(f, "required");
        row[5] = yes(f, "createable");
        row[6] = yes(f, "updateable");
        row[7] = yes(f, "external_id");
        row[8] = yes(f, "custom");
        row[9] = pl ? pl : dupstr("");
        table_add(&t, row);
    }
    const char *label = json_string_value(json_object_get(doc, "label"));
    fprintf(out, "%s%s%s%s: %zu field(s)\n", jstr(json_object_get(doc, "object")),
            label ? " (" : "", label ? label : "", label ? ")" : "", json_array_size(json_object_get(doc, "fields")));
    table_print(&t, out);
}

static void print_objects(const json_t *doc, FILE *out)
{
    static const char *const head[] = {"OBJECT", "LABEL", "CUSTOM", "QUERYABLE", "CREATEABLE", "UPDATEABLE"};
    enum { NCOLS = 6 };
    table t;
    if (table_begin(&t, head, NCOLS) < 0)
        return;
    char **row;
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(doc, "objects"), i, o) {
        if ((row = calloc(NCOLS, sizeof(char *))) == NULL)
            break;
        row[0] = dupstr(json_string_value(json_object_get(o, "name")));
        row[1] = dupstr(json_string_value(json_object_get(o, "label")));
        row[2] = yes(o, "custom");
        row[3] = yes(o, "queryable");
        row[4] = yes(o, "createable");
        row[5] = yes(o, "updateable");
        table_add(&t, row);
    }
    fprintf(out, "%zu object(s)\n", json_array_size(json_object_get(doc, "objects")));
    table_print(&t, out);
}

int syncc_describe_command(syncc_engine *e, const char *instance, const char *object, int json)
{
    const syncc_instance *in = find_instance(e->conf, instance);
    if (in == NULL) {
        fprintf(stderr, "syncengine: no [source %s] or [sink %s] in %s\n", instance, instance, e->conf->path);
        return SYNCC_EXIT_USAGE;
    }
    char err[2048];
    json_t *doc = NULL;
    int rc = syncc_describe_fetch(e, in, object, &doc, err, sizeof err);
    if (rc != SYNC_OK) {
        syncc_log_redact(err, sizeof err);
        fprintf(stderr, "syncengine: %s\n", err);
        if (rc == SYNC_E_UNSUPPORTED)
            return SYNCC_EXIT_PLUGIN;
        return rc == SYNC_E_NOTFOUND || rc == SYNC_E_CONFIG ? SYNCC_EXIT_CONFIG : SYNCC_EXIT_FAILED;
    }
    if (json) {
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (text != NULL)
            printf("%s\n", text);
        free(text);
    } else if (object != NULL) {
        print_fields(doc, stdout);
    } else {
        print_objects(doc, stdout);
    }
    json_decref(doc);
    return SYNCC_EXIT_OK;
}
