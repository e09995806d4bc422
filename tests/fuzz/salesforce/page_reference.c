/*
 * page_reference.c - the tree-based page reader the Salesforce connector used
 * before its one-pass reader (plugins/salesforce/sf_page.c): jansson builds the
 * page, each field is looked up by path.  Kept here, unchanged in behaviour,
 * as the reference fuzz_page holds the one-pass reader to.
 */
#include "page_reference.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "salesforce/sf_soql.h"

/* Member key of obj, exactly or else case-insensitively (paths typed by hand). */
static const json_t *member(const json_t *obj, const char *key, size_t klen)
{
    char buf[256];
    if (klen >= sizeof buf)
        return NULL;
    memcpy(buf, key, klen);
    buf[klen] = '\0';
    const json_t *v = json_object_get(obj, buf);
    if (v != NULL)
        return v;
    const char *k;
    json_t *val;
    json_object_foreach((json_t *)obj, k, val) {
        if (strcasecmp(k, buf) == 0)
            return val;
    }
    return NULL;
}

/* Value at path, or NULL when it or a relationship on the way is null or absent. */
static const json_t *walk(const json_t *rec, const char *path)
{
    const json_t *cur = rec;
    for (;;) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        cur = member(cur, path, len);
        if (dot == NULL || cur == NULL || !json_is_object(cur))
            return (dot == NULL) ? cur : NULL;
        path = dot + 1;
    }
}

static int bad_value(sync_ctx *ctx, const char *key, const char *field, const char *want,
                     const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    sf_host->set_error(ctx, "record %s: field \"%s\" should be a %s, got %.80s", key, field, want,
                       text ? text : "?");
    free(text);
    return SYNC_E_PROTOCOL;
}

static int set_json(sync_record *rec, const char *name, const json_t *v)
{
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text == NULL)
        return SYNC_E_NOMEM;
    int rc = sf_host->record_set_json(rec, name, text, strlen(text));
    free(text);
    return rc;
}

static int set_field(sync_ctx *ctx, sync_record *rec, const char *key, const sf_page_field *f,
                     const json_t *v)
{
    if (v == NULL || json_is_null(v))
        return sf_host->record_set_null(rec, f->name);
    switch (f->type) {
    case SF_FT_BOOL:
        if (!json_is_boolean(v))
            return bad_value(ctx, key, f->name, "boolean", v);
        return sf_host->record_set_bool(rec, f->name, json_is_true(v));
    case SF_FT_INT:
        if (json_is_integer(v))
            return sf_host->record_set_int(rec, f->name, (int64_t)json_integer_value(v));
        if (json_is_real(v)) {
            double r = json_real_value(v); /* "int" fields may arrive as 3.0 */
            if (r >= -9.0e18 && r <= 9.0e18 && r == (double)(int64_t)r)
                return sf_host->record_set_int(rec, f->name, (int64_t)r);
        }
        return bad_value(ctx, key, f->name, "integer", v);
    case SF_FT_FLOAT:
        if (!json_is_number(v))
            return bad_value(ctx, key, f->name, "number", v);
        return sf_host->record_set_float(rec, f->name, json_number_value(v));
    case SF_FT_DATETIME: {
        int64_t us;
        const char *s = json_string_value(v);
        if (s == NULL || sf_host->time_parse(s, json_string_length(v), &us) != SYNC_OK)
            return bad_value(ctx, key, f->name, "datetime", v);
        return sf_host->record_set_timestamp(rec, f->name, us);
    }
    case SF_FT_DATE: {
        int64_t days;
        const char *s = json_string_value(v);
        if (s == NULL || sf_soql_parse_date(s, json_string_length(v), &days) != SYNC_OK)
            return bad_value(ctx, key, f->name, "date", v);
        return sf_host->record_set_date(rec, f->name, days);
    }
    case SF_FT_JSON:
        return set_json(rec, f->name, v);
    case SF_FT_STRING:
    case SF_FT_AUTO:
        break;
    }
    if (json_is_string(v))
        return sf_host->record_set_string(rec, f->name, json_string_value(v), json_string_length(v));
    if (f->type == SF_FT_AUTO) {
        if (json_is_boolean(v))
            return sf_host->record_set_bool(rec, f->name, json_is_true(v));
        if (json_is_integer(v))
            return sf_host->record_set_int(rec, f->name, (int64_t)json_integer_value(v));
        if (json_is_real(v))
            return sf_host->record_set_float(rec, f->name, json_real_value(v));
        return set_json(rec, f->name, v);
    }
    if (json_is_object(v) || json_is_array(v))
        return set_json(rec, f->name, v);
    /* A number or boolean in a text field: keep its JSON spelling. */
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (text == NULL)
        return SYNC_E_NOMEM;
    int rc = sf_host->record_set_string(rec, f->name, text, strlen(text));
    free(text);
    return rc;
}

static int one_record(sync_ctx *ctx, const sf_page_spec *spec, const json_t *jr, size_t index,
                      sync_emitter *em, sf_page_result *res)
{
    const json_t *jid = json_object_get(jr, "Id");
    const char *id = json_string_value(jid);
    /* An empty Id would become a record without a key: no sink could store it. */
    if (!json_is_object(jr) || id == NULL || id[0] == '\0' || strlen(id) != json_string_length(jid)) {
        sf_host->set_error(ctx, "record %zu of the page has no Id", index);
        return SYNC_E_PROTOCOL;
    }
    const json_t *del = json_object_get(jr, "IsDeleted");
    sync_op op = json_is_true(del) ? SYNC_OP_DELETE : SYNC_OP_UPSERT;

    sf_cursor cur;
    int has_cursor = 0;
    if (spec->cursor_field != NULL) {
        const json_t *cv = walk(jr, spec->cursor_field);
        if (cv != NULL && !json_is_null(cv)) {
            const char *s = json_string_value(cv);
            if (s == NULL || sf_soql_parse_datetime(s, json_string_length(cv), &cur.ts) != SYNC_OK ||
                !sf_cursor_valid_id(id, strlen(id)))
                return bad_value(ctx, id, spec->cursor_field, "datetime", cv);
            memcpy(cur.id, id, strlen(id) + 1);
            has_cursor = 1;
        }
    }

    sync_record *rec = sf_host->record_new(em, id, json_string_length(jid), op);
    if (rec == NULL)
        return SYNC_E_NOMEM;
    int rc;
    for (size_t i = 0; i < spec->n_fields; i++)
        if ((rc = set_field(ctx, rec, id, &spec->fields[i], walk(jr, spec->fields[i].path))) != SYNC_OK)
            return rc;
    if (has_cursor) {
        char text[SF_CURSOR_MAX];
        if ((rc = sf_cursor_format(&cur, text, sizeof text)) != SYNC_OK ||
            (rc = sf_host->record_set_cursor(rec, text)) != SYNC_OK)
            return rc;
        res->last = cur;
        res->has_cursor = 1;
    }
    res->n_records++;
    return SYNC_OK;
}

static int page_records(sync_ctx *ctx, const sf_page_spec *spec, const json_t *page, sync_emitter *em,
                        sf_page_result *res)
{
    memset(res, 0, sizeof *res);
    const json_t *records = json_object_get(page, "records");
    const json_t *done = json_object_get(page, "done");
    if (!json_is_object(page) || !json_is_array(records) || !json_is_boolean(done)) {
        sf_host->set_error(ctx, "query answer is not a page of records");
        return SYNC_E_PROTOCOL;
    }
    res->done = json_is_true(done);
    if (!res->done) {
        const char *next = json_string_value(json_object_get(page, "nextRecordsUrl"));
        if (next == NULL || next[0] != '/') {
            sf_host->set_error(ctx, "query answer is not done but has no nextRecordsUrl");
            return SYNC_E_PROTOCOL;
        }
        if ((res->next_url = strdup(next)) == NULL)
            return SYNC_E_NOMEM;
    }
    size_t i;
    const json_t *jr;
    json_array_foreach(records, i, jr) {
        int rc = one_record(ctx, spec, jr, i, em, res);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

int ref_page_load(sync_ctx *ctx, const sf_page_spec *spec, const char *text, size_t len,
                  sync_emitter *em, sf_page_result *res)
{
    json_error_t err;
    json_t *page = json_loadb(text, len, JSON_ALLOW_NUL, &err);
    memset(res, 0, sizeof *res);
    if (page == NULL) {
        sf_host->set_error(ctx, "query answer is not JSON: %s at line %d", err.text, err.line);
        return SYNC_E_PROTOCOL;
    }
    int rc = page_records(ctx, spec, page, em, res);
    json_decref(page);
    return rc;
}
