/*
 * core/map_suggest.c - `syncengine map --suggest -c FILE STREAM`.
 *
 * Proposes a [map JOB.STREAM] section for a stream from what the servers
 * say: the describe of the side that can describe (ABI 1.3) and the columns
 * of the other side (its describe, else its discovery).  A field and a
 * column pair when their names are equal ignoring case and underscores
 * (first_name / FirstName), or through a list of known synonyms (company /
 * Company or Account.Name, zip / MailingPostalCode, ...).  The result is
 * printed for the user to edit, with comments for what could not be paired
 * and for required fields left unmapped; nothing is ever written to a file.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "describe_cmd.h"
#include "hostapi.h"
#include "log.h"
#include "status.h"

/* Known synonyms: an application column (normalized) and the fields it may be, in order. */
typedef struct synonym {
    const char *alias;
    const char *fields[4];
} synonym;

static const synonym synonyms[] = {
    {"emailaddress", {"Email"}},
    {"mail", {"Email"}},
    {"givenname", {"FirstName"}},
    {"forename", {"FirstName"}},
    {"first", {"FirstName"}},
    {"surname", {"LastName"}},
    {"familyname", {"LastName"}},
    {"last", {"LastName"}},
    {"phonenumber", {"Phone"}},
    {"telephone", {"Phone"}},
    {"tel", {"Phone"}},
    {"mobile", {"MobilePhone"}},
    {"cell", {"MobilePhone"}},
    {"cellphone", {"MobilePhone"}},
    {"jobtitle", {"Title"}},
    {"position", {"Title"}},
    {"company", {"Company", "Account.Name"}},
    {"companyname", {"Company", "Account.Name"}},
    {"organization", {"Company", "Account.Name"}},
    {"organisation", {"Company", "Account.Name"}},
    {"street", {"Street", "MailingStreet", "BillingStreet"}},
    {"address", {"Street", "MailingStreet", "BillingStreet"}},
    {"city", {"City", "MailingCity", "BillingCity"}},
    {"state", {"State", "MailingState", "BillingState"}},
    {"region", {"State", "MailingState", "BillingState"}},
    {"zip", {"PostalCode", "MailingPostalCode", "BillingPostalCode"}},
    {"zipcode", {"PostalCode", "MailingPostalCode", "BillingPostalCode"}},
    {"postcode", {"PostalCode", "MailingPostalCode", "BillingPostalCode"}},
    {"postalcode", {"PostalCode", "MailingPostalCode", "BillingPostalCode"}},
    {"country", {"Country", "MailingCountry", "BillingCountry"}},
    {"notes", {"Description"}},
    {"note", {"Description"}},
    {"comment", {"Description"}},
    {"comments", {"Description"}},
    {"url", {"Website"}},
    {"homepage", {"Website"}},
    {"stage", {"StageName"}},
    {"duedate", {"ActivityDate"}},
    {"source", {"LeadSource"}},
    {"active", {"IsActive"}},
    {NULL, {NULL}}};

/* Lower case without underscores, and without a custom field's "__c". */
static void norm(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), j = 0;
    if (n > 3 && strcasecmp(s + n - 3, "__c") == 0)
        n -= 3;
    for (size_t i = 0; i < n && j + 1 < size; i++)
        if (s[i] != '_')
            out[j++] = (char)tolower((unsigned char)s[i]);
    out[j] = '\0';
}

/* FirstName -> first_name, Ext_Id__c -> ext_id */
static void snake(const char *s, char *out, size_t size)
{
    size_t n = strlen(s), j = 0;
    if (n > 3 && strcasecmp(s + n - 3, "__c") == 0)
        n -= 3;
    for (size_t i = 0; i < n && j + 2 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isupper(c) && i > 0 && s[i - 1] != '_' &&
            (islower((unsigned char)s[i - 1]) || (i + 1 < n && islower((unsigned char)s[i + 1]))))
            out[j++] = '_';
        out[j++] = (char)tolower(c);
    }
    out[j] = '\0';
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* A field of the describe by name (case-insensitive), or one reached by a relationship path "Account.Name". */
static const json_t *field_of(const json_t *desc, const char *name, int *is_path)
{
    *is_path = 0;
    const char *dot = strchr(name, '.');
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        if (dot == NULL && strcasecmp(jstr(f, "name"), name) == 0)
            return f;
        /* AccountId has references [Account]: the path Account.Name goes through it */
        if (dot != NULL && strcmp(jstr(f, "type"), "reference") == 0) {
            const char *fn = jstr(f, "name");
            size_t rl = (size_t)(dot - name);
            if (strlen(fn) == rl + 2 && strncasecmp(fn, name, rl) == 0 && strcasecmp(fn + rl, "Id") == 0) {
                *is_path = 1;
                return f;
            }
        }
    }
    return NULL;
}

static int writable(const json_t *f)
{
    return json_is_true(json_object_get(f, "createable")) || json_is_true(json_object_get(f, "updateable"));
}

/* The columns of the other side: its describe, else the stream's fields from its discovery. */
static int other_columns(syncc_engine *e, const syncc_instance *in, const char *object, char ***cols, size_t *n,
                         char *err, size_t errlen)
{
    *cols = NULL;
    *n = 0;
    const syncc_plugin *p = syncc_registry_find(&e->registry, in->plugin_name);
    json_t *doc = NULL;
    if (p != NULL && p->def.describe != NULL) {
        int rc = syncc_describe_fetch(e, in, object, &doc, err, errlen);
        if (rc != SYNC_OK)
            return rc;
        size_t i;
        const json_t *f;
        *cols = calloc(json_array_size(json_object_get(doc, "fields")) + 1, sizeof(char *));
        json_array_foreach(json_object_get(doc, "fields"), i, f) {
            if (*cols != NULL)
                (*cols)[(*n)++] = strdup(jstr(f, "name"));
        }
        json_decref(doc);
        return *cols ? SYNC_OK : SYNC_E_NOMEM;
    }
    if (p == NULL || !in->is_source || p->source.discover == NULL) {
        snprintf(err, errlen, "plugin '%s' of [%s %s] can neither describe nor discover its %s", in->plugin_name,
                 in->is_source ? "source" : "sink", in->name, in->is_source ? "fields" : "columns");
        return SYNC_E_UNSUPPORTED;
    }
    sync_ctx *ctx = syncc_ctx_new("map", in->name, in->plugin_name);
    if (ctx == NULL)
        return SYNC_E_NOMEM;
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    void *inst = NULL;
    sync_catalog *cat = syncc_catalog_new();
    int rc = cat ? p->source.open(ctx, in->config, &inst) : SYNC_E_NOMEM;
    if (rc == SYNC_OK) {
        rc = p->source.discover(inst, cat);
        p->source.close(inst);
    }
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "discovery of source '%s' failed: %s%s%s", in->name, syncc_strerror(rc),
                 ctx->errbuf[0] ? ": " : "", ctx->errbuf);
    } else {
        size_t total = syncc_catalog_size(cat), len = strlen(object);
        *cols = calloc(total + 1, sizeof(char *));
        for (size_t i = 0; *cols && i < total; i++) {
            const char *l = syncc_catalog_line(cat, i);
            const char *tab = strchr(l, '\t');
            if (tab != NULL && (size_t)(tab - l) == len && strncmp(l, object, len) == 0) {
                const char *end = strchr(tab + 1, '\t');
                (*cols)[(*n)++] = end ? strndup(tab + 1, (size_t)(end - tab - 1)) : strdup(tab + 1);
            }
        }
        if (*cols == NULL)
            rc = SYNC_E_NOMEM;
        else if (*n == 0) {
            snprintf(err, errlen, "source '%s' has no stream '%s' (see `syncengine discover %s`)", in->name, object,
                     in->name);
            rc = SYNC_E_NOTFOUND;
        }
    }
    syncc_catalog_free(cat);
    syncc_ctx_free(ctx);
    return rc;
}

static void free_cols(char **cols, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cols[i]);
    free(cols);
}

/* The field (of desc) a column pairs with, by name then by synonym; NULL if none. */
static const json_t *pair(const json_t *desc, const char *column, const char **via_path)
{
    char nc[256], nf[256];
    norm(column, nc, sizeof nc);
    *via_path = NULL;
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        if (strcasecmp(jstr(f, "name"), column) == 0)
            return f;
    }
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        norm(jstr(f, "name"), nf, sizeof nf);
        if (strcmp(nf, nc) == 0)
            return f;
    }
    for (const synonym *s = synonyms; s->alias != NULL; s++) {
        if (strcmp(s->alias, nc) != 0)
            continue;
        for (size_t k = 0; k < 4 && s->fields[k] != NULL; k++) {
            int is_path;
            const json_t *hit = field_of(desc, s->fields[k], &is_path);
            if (hit != NULL) {
                if (is_path)
                    *via_path = s->fields[k];
                return hit;
            }
        }
    }
    return NULL;
}

static void describe_hint(const json_t *f, char *buf, size_t size)
{
    const char *type = jstr(f, "type");
    json_int_t len = json_integer_value(json_object_get(f, "length"));
    size_t used = (size_t)snprintf(buf, size, "%s", type);
    if (len > 0 && used < size)
        used += (size_t)snprintf(buf + used, size - used, ", %lld characters", (long long)len);
    const json_t *pl = json_object_get(f, "picklist");
    if (json_array_size(pl) > 0 && used < size) {
        used += (size_t)snprintf(buf + used, size - used, ", %s values: ",
                                 json_is_true(json_object_get(f, "restricted_picklist")) ? "only" : "e.g.");
        size_t k;
        const json_t *v;
        json_array_foreach(pl, k, v) {
            const char *val = json_string_value(v);
            if (used < size)
                used += (size_t)snprintf(buf + used, size - used, "%s%s", k ? ", " : "", val ? val : "");
        }
    }
}

/* The sink describes (a Salesforce sink): its fields from the table's columns. */
static void suggest_into(const syncc_job *job, const syncc_stream *st, const json_t *desc, char **cols, size_t n,
                         const char *other)
{
    const char *obj = jstr(desc, "object");
    unsigned char *used = calloc(n + 1, 1);
    size_t nf = json_array_size(json_object_get(desc, "fields"));
    const char **col_of = calloc(nf + 1, sizeof(char *));
    if (used == NULL || col_of == NULL) {
        free(used);
        free(col_of);
        return;
    }
    printf("; proposed by `syncengine map --suggest` from the describe of %s and the fields of %s '%s';\n"
           "; check every line before you use it\n[map %s.%s]\n", obj, other, st->object, job->name, st->name);
    size_t w = 0;
    for (size_t c = 0; c < n; c++) {
        const char *path;
        const json_t *f = pair(desc, cols[c], &path);
        if (f == NULL || path != NULL || !writable(f) || strcmp(jstr(f, "name"), "Id") == 0)
            continue;
        size_t i;
        const json_t *x;
        json_array_foreach(json_object_get(desc, "fields"), i, x) {
            if (x != f || col_of[i] != NULL)
                continue; /* a field takes the first column that pairs with it */
            col_of[i] = cols[c];
            used[c] = 1;
            if (strlen(jstr(f, "name")) > w)
                w = strlen(jstr(f, "name"));
        }
    }
    size_t i;
    const json_t *f;
    char hint[512];
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        if (col_of[i] == NULL)
            continue;
        describe_hint(f, hint, sizeof hint);
        printf("%-*s = %-20s ; %s\n", (int)w, jstr(f, "name"), col_of[i], hint);
    }
    int head = 0;
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        if (col_of[i] != NULL || !json_is_true(json_object_get(f, "required")))
            continue;
        if (!head++)
            printf("; required fields of %s left unmapped (a create without them is refused):\n", obj);
        describe_hint(f, hint, sizeof hint);
        printf(";%-*s = ?  ; %s\n", (int)w, jstr(f, "name"), hint);
    }
    head = 0;
    const char *ext = NULL;
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        if (ext == NULL && json_is_true(json_object_get(f, "external_id")))
            ext = jstr(f, "name");
    }
    for (size_t c = 0; c < n; c++) {
        if (used[c])
            continue;
        if (!head++)
            printf("; fields of %s '%s' that match no writable field of %s:\n", other, st->object, obj);
        const char *path;
        const json_t *pf = pair(desc, cols[c], &path);
        if (strcasecmp(cols[c], "id") == 0 && ext != NULL)
            printf(";   %s: keep it in the external-id field (%s = %s, with sink.external_id = %s in "
                   "[stream %s.%s]) so that writes are safe to repeat\n", cols[c], ext, cols[c], ext, job->name,
                   st->name);
        else if (pf != NULL && path != NULL)
            printf(";   %s: like %s, which is a field of the related record (map %s to that record's Id "
                   "instead)\n", cols[c], path, jstr(pf, "name"));
        else if (pf != NULL && !writable(pf))
            printf(";   %s: like %s, which salesforce does not let this user write\n", cols[c], jstr(pf, "name"));
        else
            printf(";   %s\n", cols[c]);
    }
    free(used);
    free(col_of);
}

/* The source describes (a Salesforce source into a table): table columns from its fields. */
static void suggest_from(const syncc_job *job, const syncc_stream *st, const json_t *desc)
{
    printf("; proposed by `syncengine map --suggest` from the describe of %s: one column per field, named\n"
           "; like the field in snake_case; rename them to the table's columns and drop what you do not need\n"
           "[map %s.%s]\n", jstr(desc, "object"), job->name, st->name);
    size_t i, w = 0;
    const json_t *f;
    char col[256];
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        snake(jstr(f, "name"), col, sizeof col);
        if (strlen(col) > w)
            w = strlen(col);
    }
    json_array_foreach(json_object_get(desc, "fields"), i, f) {
        const char *type = jstr(f, "type");
        if (strcmp(type, "address") == 0 || strcmp(type, "location") == 0)
            continue;
        snake(jstr(f, "name"), col, sizeof col);
        printf("%-*s = %s\n", (int)w, col, jstr(f, "name"));
    }
    int is_path;
    if (field_of(desc, "Account.Name", &is_path) != NULL && is_path)
        printf("%-*s = Account.Name\n", (int)w, "company");
}

int syncc_map_suggest_command(syncc_engine *e, const char *name)
{
    /* JOB.STREAM, or STREAM when one job has it */
    const syncc_job *job = NULL;
    const syncc_stream *st = NULL;
    int found = 0;
    const char *dot = strchr(name, '.');
    for (size_t j = 0; j < e->conf->n_jobs; j++) {
        const syncc_job *jb = &e->conf->jobs[j];
        if (dot != NULL && (strncmp(jb->name, name, (size_t)(dot - name)) != 0 || jb->name[dot - name] != '\0'))
            continue;
        for (size_t s = 0; s < jb->n_streams; s++)
            if (strcmp(jb->streams[s].name, dot ? dot + 1 : name) == 0) {
                job = jb;
                st = &jb->streams[s];
                found++;
            }
    }
    if (found != 1) {
        fprintf(stderr, "syncengine: %s stream '%s' in %s%s\n", found ? "more than one" : "no", name, e->conf->path,
                found ? "; name it JOB.STREAM" : "");
        return SYNCC_EXIT_USAGE;
    }
    const syncc_plugin *sp = syncc_registry_find(&e->registry, job->sink->plugin_name);
    const syncc_plugin *pp = syncc_registry_find(&e->registry, job->source->plugin_name);
    char err[2048] = "";
    json_t *desc = NULL;
    int rc;
    if (sp != NULL && sp->def.describe != NULL) {
        rc = syncc_describe_fetch(e, job->sink, st->target, &desc, err, sizeof err);
        char **cols = NULL;
        size_t n = 0;
        if (rc == SYNC_OK)
            rc = other_columns(e, job->source, st->object, &cols, &n, err, sizeof err);
        if (rc == SYNC_OK)
            suggest_into(job, st, desc, cols, n, "source");
        free_cols(cols, n);
    } else if (pp != NULL && pp->def.describe != NULL) {
        rc = syncc_describe_fetch(e, job->source, st->object, &desc, err, sizeof err);
        if (rc == SYNC_OK)
            suggest_from(job, st, desc);
    } else {
        snprintf(err, sizeof err, "neither plugin '%s' nor plugin '%s' of job '%s' can describe",
                 job->source->plugin_name, job->sink->plugin_name, job->name);
        rc = SYNC_E_UNSUPPORTED;
    }
    json_decref(desc);
    if (rc != SYNC_OK) {
        syncc_log_redact(err, sizeof err);
        fprintf(stderr, "syncengine: map --suggest %s: %s\n", name, err);
        return rc == SYNC_E_UNSUPPORTED ? SYNCC_EXIT_PLUGIN
               : rc == SYNC_E_NOTFOUND || rc == SYNC_E_CONFIG ? SYNCC_EXIT_CONFIG
                                                              : SYNCC_EXIT_FAILED;
    }
    return SYNCC_EXIT_OK;
}
