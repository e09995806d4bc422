/*
 * sf_collections.c - paths, bodies and results of sObject Collections calls
 * (see sf_collections.h).  Pure functions over jansson trees and buffers.
 */
#include "sf_collections.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sf_wop_name(sf_wop op)
{
    switch (op) {
    case SF_WOP_UPSERT: return "upsert";
    case SF_WOP_UPDATE: return "update";
    case SF_WOP_DELETE: return "delete";
    case SF_WOP_CREATE: return "create";
    }
    return "write";
}

const char *sf_wop_method(sf_wop op)
{
    switch (op) {
    case SF_WOP_CREATE: return "POST";
    case SF_WOP_DELETE: return "DELETE";
    case SF_WOP_UPSERT:
    case SF_WOP_UPDATE: break;
    }
    return "PATCH";
}

int sf_coll_is_id(const char *s)
{
    size_t n = 0;
    if (s == NULL)
        return 0;
    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
            return 0;
    }
    return n == 15 || n == 18;
}

int sf_coll_path(sf_buf *out, const char *api_version, sf_wop op, const char *object, const char *ext_field,
                 const char *const *ids, size_t n)
{
    sf_buf_reset(out);
    sf_buf_printf(out, "/services/data/v%s/composite/sobjects", api_version);
    if (op == SF_WOP_UPSERT) {
        /* object and field are API names (checked against the describe): no escaping needed */
        sf_buf_printf(out, "/%s/%s", object, ext_field);
    } else if (op == SF_WOP_DELETE) {
        sf_buf_puts(out, "?ids=");
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                sf_buf_putc(out, ',');
            sf_buf_puts(out, ids[i]);
        }
        sf_buf_puts(out, "&allOrNone=false");
    }
    return sf_buf_ok(out);
}

char *sf_coll_body(json_t *const *records, size_t n, size_t *len)
{
    json_t *root = json_object(), *arr = json_array();
    char *text = NULL;
    if (root == NULL || arr == NULL)
        goto out;
    if (json_object_set_new(root, "allOrNone", json_false()) != 0)
        goto out;
    for (size_t i = 0; i < n; i++)
        if (json_array_append(arr, records[i]) != 0)
            goto out;
    if (json_object_set(root, "records", arr) != 0)
        goto out;
    text = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (text != NULL)
        *len = strlen(text);
out:
    json_decref(arr);
    json_decref(root);
    return text;
}

int sf_coll_check(const json_t *answer, size_t n, char *why, size_t why_size)
{
    if (!json_is_array(answer)) {
        snprintf(why, why_size, "the answer is not a list of results");
        return SYNC_E_PROTOCOL;
    }
    if (json_array_size(answer) != n) {
        snprintf(why, why_size, "the answer has %zu results for %zu records", json_array_size(answer), n);
        return SYNC_E_PROTOCOL;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = json_array_get(answer, i);
        if (!json_is_object(r) || !json_is_boolean(json_object_get(r, "success"))) {
            snprintf(why, why_size, "result %zu has no \"success\"", i + 1);
            return SYNC_E_PROTOCOL;
        }
    }
    return SYNC_OK;
}

void sf_coll_result_at(const json_t *answer, size_t i, sf_wop op, sf_coll_result *r)
{
    const json_t *item = json_array_get(answer, i);
    memset(r, 0, sizeof *r);
    r->success = json_is_true(json_object_get(item, "success"));
    r->id = json_string_value(json_object_get(item, "id"));
    r->created = op == SF_WOP_CREATE || (op == SF_WOP_UPSERT && json_is_true(json_object_get(item, "created")));
    if (r->success)
        return;
    size_t used = 0;
    size_t k;
    const json_t *e;
    json_array_foreach(json_object_get(item, "errors"), k, e) {
        const char *code = json_string_value(json_object_get(e, "statusCode"));
        const char *msg = json_string_value(json_object_get(e, "message"));
        if (r->code == NULL)
            r->code = code;
        if (used < sizeof r->error)
            used += (size_t)snprintf(r->error + used, sizeof r->error - used, "%s%s: %s", used ? "; " : "",
                                     code ? code : "UNKNOWN", msg ? msg : "(no message)");
        const json_t *fields = json_object_get(e, "fields");
        if (json_array_size(fields) > 0 && used < sizeof r->error) {
            used += (size_t)snprintf(r->error + used, sizeof r->error - used, " (fields: ");
            size_t j;
            const json_t *f;
            json_array_foreach(fields, j, f) {
                if (used < sizeof r->error)
                    used += (size_t)snprintf(r->error + used, sizeof r->error - used, "%s%s", j ? ", " : "",
                                             json_string_value(f) ? json_string_value(f) : "?");
            }
            if (used < sizeof r->error)
                used += (size_t)snprintf(r->error + used, sizeof r->error - used, ")");
        }
    }
    if (r->error[0] == '\0')
        snprintf(r->error, sizeof r->error, "the record failed without an error");
}
