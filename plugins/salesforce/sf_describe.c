/*
 * sf_describe.c - sObject describes: parsing, caching per instance, and
 * resolving the field paths a stream reads.
 */
#include "sf_describe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_api.h"
#include "sf_buf.h"
#include "sf_soql.h"

/* Relationship hops followed at most (SOQL allows five levels). */
#define SF_MAX_HOPS 5

struct sf_desc_cache {
    sf_object_desc **objs;
    size_t n;
};

sf_ftype sf_describe_map_type(const char *t)
{
    if (t == NULL)
        return SF_FT_STRING;
    if (strcmp(t, "boolean") == 0)
        return SF_FT_BOOL;
    if (strcmp(t, "int") == 0 || strcmp(t, "long") == 0)
        return SF_FT_INT;
    if (strcmp(t, "double") == 0 || strcmp(t, "currency") == 0 || strcmp(t, "percent") == 0)
        return SF_FT_FLOAT;
    if (strcmp(t, "datetime") == 0)
        return SF_FT_DATETIME;
    if (strcmp(t, "date") == 0)
        return SF_FT_DATE;
    if (strcmp(t, "address") == 0 || strcmp(t, "location") == 0)
        return SF_FT_JSON;
    return SF_FT_STRING; /* id, reference, string, picklist, textarea, email, phone, time, ... */
}

sync_type sf_describe_sync_type(sf_ftype t)
{
    switch (t) {
    case SF_FT_BOOL: return SYNC_TYPE_BOOL;
    case SF_FT_INT: return SYNC_TYPE_INT;
    case SF_FT_FLOAT: return SYNC_TYPE_FLOAT;
    case SF_FT_DATETIME: return SYNC_TYPE_TIMESTAMP;
    case SF_FT_DATE: return SYNC_TYPE_DATE;
    case SF_FT_JSON: return SYNC_TYPE_JSON;
    case SF_FT_AUTO: return SYNC_TYPE_NULL;
    case SF_FT_STRING: break;
    }
    return SYNC_TYPE_STRING;
}

static char *dup_or_null(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

void sf_describe_free(sf_object_desc *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n_fields; i++) {
        sf_field_desc *f = &d->fields[i];
        free(f->name);
        free(f->sf_type);
        free(f->rel_name);
        for (size_t j = 0; j < f->n_refs; j++)
            free(f->refs[j]);
        free(f->refs);
    }
    free(d->fields);
    free(d->name);
    free(d);
}

int sf_describe_parse(const json_t *root, sf_object_desc **out)
{
    const char *name = json_string_value(json_object_get(root, "name"));
    const json_t *fields = json_object_get(root, "fields");
    *out = NULL;
    if (name == NULL || !json_is_array(fields))
        return SYNC_E_PROTOCOL;
    sf_object_desc *d = calloc(1, sizeof *d);
    if (d == NULL)
        return SYNC_E_NOMEM;
    d->name = strdup(name);
    d->queryable = json_object_get(root, "queryable") ? json_is_true(json_object_get(root, "queryable")) : 1;
    d->fields = calloc(json_array_size(fields) + 1, sizeof *d->fields);
    if (d->name == NULL || d->fields == NULL)
        goto nomem;
    size_t i;
    const json_t *jf;
    json_array_foreach(fields, i, jf) {
        const char *fname = json_string_value(json_object_get(jf, "name"));
        const char *ftype = json_string_value(json_object_get(jf, "type"));
        if (fname == NULL)
            continue;
        sf_field_desc *f = &d->fields[d->n_fields++];
        f->name = strdup(fname);
        f->sf_type = strdup(ftype ? ftype : "string");
        f->type = sf_describe_map_type(ftype);
        f->rel_name = dup_or_null(json_string_value(json_object_get(jf, "relationshipName")));
        f->nillable = json_is_true(json_object_get(jf, "nillable"));
        f->write_known = json_object_get(jf, "createable") != NULL && json_object_get(jf, "updateable") != NULL;
        f->createable = json_is_true(json_object_get(jf, "createable"));
        f->updateable = json_is_true(json_object_get(jf, "updateable"));
        f->external_id = json_is_true(json_object_get(jf, "externalId"));
        f->defaulted = json_is_true(json_object_get(jf, "defaultedOnCreate"));
        if (f->name == NULL || f->sf_type == NULL)
            goto nomem;
        const json_t *refs = json_object_get(jf, "referenceTo");
        if (json_is_array(refs) && json_array_size(refs) > 0) {
            f->refs = calloc(json_array_size(refs), sizeof *f->refs);
            if (f->refs == NULL)
                goto nomem;
            size_t j;
            const json_t *jr;
            json_array_foreach(refs, j, jr) {
                if (json_is_string(jr) && (f->refs[f->n_refs] = strdup(json_string_value(jr))) != NULL)
                    f->n_refs++;
            }
        }
    }
    *out = d;
    return SYNC_OK;
nomem:
    sf_describe_free(d);
    return SYNC_E_NOMEM;
}

const sf_field_desc *sf_describe_field(const sf_object_desc *d, const char *name)
{
    for (size_t i = 0; i < d->n_fields; i++)
        if (strcasecmp(d->fields[i].name, name) == 0)
            return &d->fields[i];
    return NULL;
}

const sf_field_desc *sf_describe_relationship(const sf_object_desc *d, const char *rel)
{
    for (size_t i = 0; i < d->n_fields; i++)
        if (d->fields[i].rel_name != NULL && strcasecmp(d->fields[i].rel_name, rel) == 0)
            return &d->fields[i];
    return NULL;
}

int sf_describe_cache_put(sf_instance *inst, sf_object_desc *d)
{
    if (inst->descs == NULL && (inst->descs = calloc(1, sizeof *inst->descs)) == NULL) {
        sf_describe_free(d);
        return SYNC_E_NOMEM;
    }
    sf_desc_cache *c = inst->descs;
    sf_object_desc **objs = realloc(c->objs, (c->n + 1) * sizeof *objs);
    if (objs == NULL) {
        sf_describe_free(d);
        return SYNC_E_NOMEM;
    }
    c->objs = objs;
    c->objs[c->n++] = d;
    return SYNC_OK;
}

void sf_describe_cache_free(sf_instance *inst)
{
    if (inst->descs == NULL)
        return;
    for (size_t i = 0; i < inst->descs->n; i++)
        sf_describe_free(inst->descs->objs[i]);
    free(inst->descs->objs);
    free(inst->descs);
    inst->descs = NULL;
}

/*
 * The describe cache across runs: an idle 15-minute poll should cost one
 * query per object, not a describe too.  The state store keeps, per object,
 * "<expiry in microseconds>\n<describe JSON>" with only the members this
 * plugin reads, under "describe:<Object>".
 */
static void cache_key(const char *object, char *key, size_t size)
{
    snprintf(key, size, "describe:%s", object);
}

static int load_from_state(sf_instance *inst, const char *object, sf_object_desc **out)
{
    *out = NULL;
    if (inst->set.describe_cache_ms <= 0)
        return SYNC_E_NOTFOUND;
    char key[300], *value = NULL;
    cache_key(object, key, sizeof key);
    if (sf_host->state_get(inst->ctx, key, &value) != SYNC_OK || value == NULL)
        return SYNC_E_NOTFOUND;
    char *nl = strchr(value, '\n');
    long long expires = strtoll(value, NULL, 10);
    int rc = SYNC_E_NOTFOUND;
    if (nl != NULL && expires > sf_host->time_now()) {
        json_error_t jerr;
        json_t *js = json_loads(nl + 1, 0, &jerr);
        if (js != NULL && sf_describe_parse(js, out) == SYNC_OK && strcasecmp((*out)->name, object) == 0) {
            (*out)->from_state = 1;
            rc = SYNC_OK;
        } else if (*out != NULL) {
            sf_describe_free(*out);
            *out = NULL;
        }
        json_decref(js);
    }
    sf_host->free(value);
    return rc;
}

static void store_in_state(sf_instance *inst, const char *object, const json_t *root)
{
    if (inst->set.describe_cache_ms <= 0)
        return;
    json_t *slim = json_object(), *fields = json_array();
    json_object_set(slim, "name", json_object_get(root, "name"));
    if (json_object_get(root, "queryable"))
        json_object_set(slim, "queryable", json_object_get(root, "queryable"));
    json_object_set_new(slim, "fields", fields);
    size_t i;
    const json_t *f;
    json_array_foreach(json_object_get(root, "fields"), i, f) {
        json_t *o = json_object();
        static const char *const keep[] = {"name", "type", "relationshipName", "nillable", "referenceTo",
                                           "createable", "updateable", "externalId", "defaultedOnCreate"};
        for (size_t k = 0; k < sizeof keep / sizeof keep[0]; k++)
            if (json_object_get(f, keep[k]) != NULL && !json_is_null(json_object_get(f, keep[k])))
                json_object_set(o, keep[k], json_object_get(f, keep[k]));
        json_array_append_new(fields, o);
    }
    char *text = json_dumps(slim, JSON_COMPACT);
    json_decref(slim);
    if (text == NULL)
        return;
    sf_buf value = SF_BUF_INIT;
    sf_buf_printf(&value, "%lld\n%s", (long long)(sf_host->time_now() + inst->set.describe_cache_ms * 1000),
                  text);
    free(text);
    char key[300];
    cache_key(object, key, sizeof key);
    if (sf_buf_ok(&value) == SYNC_OK)
        sf_host->state_put(inst->ctx, key, value.ptr); /* best effort: a failure only costs a describe */
    sf_buf_free(&value);
}

void sf_describe_forget(sf_instance *inst)
{
    if (inst->descs == NULL)
        return;
    for (size_t i = 0; i < inst->descs->n; i++) {
        char key[300];
        cache_key(inst->descs->objs[i]->name, key, sizeof key);
        if (inst->descs->objs[i]->from_state)
            sf_host->state_put(inst->ctx, key, NULL);
    }
    sf_describe_cache_free(inst);
}

int sf_describe_get(sf_instance *inst, const char *object, const sf_object_desc **out)
{
    *out = NULL;
    if (inst->descs != NULL)
        for (size_t i = 0; i < inst->descs->n; i++)
            if (strcasecmp(inst->descs->objs[i]->name, object) == 0) {
                *out = inst->descs->objs[i];
                return SYNC_OK;
            }
    if (!sf_soql_valid_name(object, 0)) {
        sf_host->set_error(inst->ctx, "\"%s\" is not a valid salesforce object name", object);
        return SYNC_E_CONFIG;
    }
    sf_object_desc *cached = NULL;
    if (load_from_state(inst, object, &cached) == SYNC_OK) {
        int crc = sf_describe_cache_put(inst, cached);
        if (crc == SYNC_OK)
            *out = cached;
        return crc;
    }
    sf_buf path = SF_BUF_INIT;
    sf_buf_printf(&path, "/services/data/v%s/sobjects/%s/describe", inst->set.api_version, object);
    if (sf_buf_ok(&path) != SYNC_OK)
        return SYNC_E_NOMEM;
    json_t *js = NULL;
    int rc = sf_api_get(inst, path.ptr, 0, &js);
    sf_buf_free(&path);
    if (rc == SYNC_E_NOTFOUND) {
        sf_host->set_error(inst->ctx, "salesforce object \"%s\" does not exist or is not visible "
                           "to the connected user", object);
        return rc;
    }
    if (rc != SYNC_OK)
        return rc;
    sf_object_desc *d;
    rc = sf_describe_parse(js, &d);
    if (rc == SYNC_OK)
        store_in_state(inst, object, js);
    json_decref(js);
    if (rc == SYNC_E_PROTOCOL)
        sf_host->set_error(inst->ctx, "describe of \"%s\" returned no field list", object);
    if (rc != SYNC_OK)
        return rc;
    if ((rc = sf_describe_cache_put(inst, d)) != SYNC_OK)
        return rc;
    *out = d;
    return SYNC_OK;
}

int sf_describe_resolve(sf_instance *inst, const sf_object_desc *d, const char *path,
                        sf_resolved *out)
{
    sf_buf canon = SF_BUF_INIT;
    const char *seg = path;
    const sf_object_desc *obj = d;
    int rc = SYNC_OK;
    memset(out, 0, sizeof *out);
    if (!sf_soql_valid_name(path, 1)) {
        sf_host->set_error(inst->ctx, "\"%s\" is not a valid field name for object %s", path, d->name);
        return SYNC_E_CONFIG;
    }
    for (int hop = 0;; hop++) {
        const char *dot = strchr(seg, '.');
        char part[256];
        size_t plen = dot ? (size_t)(dot - seg) : strlen(seg);
        memcpy(part, seg, plen); /* plen <= 255: sf_soql_valid_name bounds the whole path */
        part[plen] = '\0';
        if (dot == NULL) {
            const sf_field_desc *f = sf_describe_field(obj, part);
            if (f == NULL) {
                if (obj == d)
                    sf_host->set_error(inst->ctx, "field \"%s\" does not exist on salesforce object %s",
                                       part, obj->name);
                else
                    sf_host->set_error(inst->ctx, "field \"%s\" does not exist on salesforce object %s "
                                       "(in path \"%s\" of object %s)", part, obj->name, path, d->name);
                rc = SYNC_E_NOTFOUND;
                break;
            }
            sf_buf_puts(&canon, f->name);
            out->type = f->type;
            break;
        }
        const sf_field_desc *ref = sf_describe_relationship(obj, part);
        if (ref == NULL) {
            sf_host->set_error(inst->ctx, "\"%s\" in field path \"%s\" is not a relationship of "
                               "salesforce object %s", part, path, obj->name);
            rc = SYNC_E_NOTFOUND;
            break;
        }
        sf_buf_printf(&canon, "%s.", ref->rel_name);
        if (ref->n_refs != 1 || hop + 1 >= SF_MAX_HOPS) {
            /* Polymorphic (Owner, What, Who): the target is known only per record. */
            sf_buf_puts(&canon, dot + 1);
            out->type = SF_FT_AUTO;
            break;
        }
        const sf_object_desc *next;
        if ((rc = sf_describe_get(inst, ref->refs[0], &next)) != SYNC_OK)
            break;
        obj = next;
        seg = dot + 1;
    }
    if (rc == SYNC_OK && (rc = sf_buf_ok(&canon)) == SYNC_OK)
        out->canon = sf_buf_take(&canon);
    sf_buf_free(&canon);
    return rc;
}
