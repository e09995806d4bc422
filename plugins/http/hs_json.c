/*
 * hs_json.c - JSON pointers, typed record fields, cursor values and URL
 * templates for the HTTP source.
 *
 * Values keep the type JSON gives them (numbers as INT or FLOAT, booleans,
 * strings, null, objects and arrays as JSON text); a field declared with
 * field_type is converted (unix seconds or milliseconds to a timestamp, an
 * ISO-8601 string to a timestamp or a date, anything to text or JSON).
 * Nested objects are set whole under their name and, for their scalar
 * members, flattened as "name.member" (a few levels deep), like the other
 * sources' relationship paths.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hs.h"

#define HS_FLATTEN_DEPTH 3

int hs_ptr_valid(const char *ptr)
{
    if (ptr == NULL)
        return 0;
    if (*ptr == '\0')
        return 1;
    if (*ptr != '/')
        return 0;
    for (const char *p = ptr; *p; p++)
        if (*p == '~' && p[1] != '0' && p[1] != '1')
            return 0;
    return 1;
}

/* Copies the token starting at p (up to '/' or the end) unescaped into a malloc'd string. */
static char *token(const char *p, const char **end)
{
    size_t n = strcspn(p, "/");
    char *t = malloc(n + 1);
    if (t == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '~' && i + 1 < n && (p[i + 1] == '0' || p[i + 1] == '1')) {
            t[o++] = p[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            t[o++] = p[i];
        }
    }
    t[o] = '\0';
    *end = p + n;
    return t;
}

json_t *hs_ptr_get(json_t *doc, const char *ptr)
{
    if (doc == NULL || ptr == NULL)
        return NULL;
    json_t *v = doc;
    const char *p = ptr;
    while (*p == '/') {
        const char *end;
        char *t = token(p + 1, &end);
        if (t == NULL)
            return NULL;
        if (json_is_object(v)) {
            v = json_object_get(v, t);
        } else if (json_is_array(v)) {
            char *e;
            unsigned long i = strtoul(t, &e, 10);
            v = (*t != '\0' && *e == '\0') ? json_array_get(v, i) : NULL;
        } else {
            v = NULL;
        }
        free(t);
        if (v == NULL)
            return NULL;
        p = end;
    }
    return *p == '\0' ? v : NULL;
}

char *hs_ptr_last(const char *ptr)
{
    if (ptr == NULL || *ptr != '/')
        return NULL;
    const char *last = strrchr(ptr, '/');
    const char *end;
    return token(last + 1, &end);
}

char *hs_scalar_text(const json_t *v)
{
    char buf[64];
    if (json_is_string(v))
        return strndup(json_string_value(v), json_string_length(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return strdup(buf);
    }
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
        return strdup(buf);
    }
    if (json_is_boolean(v))
        return strdup(json_is_true(v) ? "true" : "false");
    return NULL;
}

static const char *const type_names[] = {"auto", "unix_seconds", "unix_millis", "timestamp",
                                         "date", "string", "json", NULL};

int hs_ftype_parse(const char *item, char **name_out)
{
    const char *colon = strrchr(item, ':');
    *name_out = NULL;
    if (colon == NULL || colon == item)
        return -1;
    const char *t = colon + 1;
    while (*t == ' ')
        t++;
    for (int i = 0; type_names[i]; i++) {
        if (strcmp(t, type_names[i]) == 0) {
            size_t n = (size_t)(colon - item);
            while (n > 0 && item[n - 1] == ' ')
                n--;
            *name_out = strndup(item, n);
            return *name_out ? i : -1;
        }
    }
    return -1;
}

static int declared(const hs_conf *c, const char *name)
{
    for (size_t i = 0; i < c->n_ftypes; i++)
        if (strcmp(c->ftypes[i].name, name) == 0)
            return c->ftypes[i].type;
    return HS_T_AUTO;
}

static int set_json(sync_record *rec, const char *name, json_t *v)
{
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    if (text == NULL)
        return SYNC_E_NOMEM;
    int rc = hs_host->record_set_json(rec, name, text, strlen(text));
    free(text);
    return rc;
}

static int set_number_as_time(sync_record *rec, const char *name, json_t *v, double scale_to_usec)
{
    double d;
    if (json_is_number(v)) {
        d = json_number_value(v);
    } else if (json_is_string(v)) {
        char *e;
        d = strtod(json_string_value(v), &e);
        if (e == json_string_value(v) || *e != '\0')
            return hs_host->record_set_string(rec, name, json_string_value(v), json_string_length(v));
    } else {
        return hs_host->record_set_null(rec, name);
    }
    if (!isfinite(d))
        return hs_host->record_set_null(rec, name);
    return hs_host->record_set_timestamp(rec, name, (int64_t)llround(d * scale_to_usec));
}

static int set_value(const hs_conf *c, sync_record *rec, const char *name, json_t *v, int depth);

static int set_object(const hs_conf *c, sync_record *rec, const char *prefix, json_t *obj, int depth)
{
    const char *k;
    json_t *m;
    char name[512];
    json_object_foreach (obj, k, m) {
        if (prefix != NULL)
            snprintf(name, sizeof name, "%s.%s", prefix, k);
        else
            snprintf(name, sizeof name, "%s", k);
        int rc = set_value(c, rec, name, m, depth);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

static int set_value(const hs_conf *c, sync_record *rec, const char *name, json_t *v, int depth)
{
    switch (declared(c, name)) {
    case HS_T_UNIX_SECONDS:
        return set_number_as_time(rec, name, v, 1e6);
    case HS_T_UNIX_MILLIS:
        return set_number_as_time(rec, name, v, 1e3);
    case HS_T_TIMESTAMP:
    case HS_T_DATE: {
        int64_t us;
        if (!json_is_string(v))
            return json_is_null(v) ? hs_host->record_set_null(rec, name) : set_json(rec, name, v);
        if (hs_host->time_parse(json_string_value(v), json_string_length(v), &us) != SYNC_OK)
            return hs_host->record_set_string(rec, name, json_string_value(v), json_string_length(v));
        if (declared(c, name) == HS_T_DATE) {
            int64_t days = us >= 0 ? us / 86400000000LL : -((-us + 86400000000LL - 1) / 86400000000LL);
            return hs_host->record_set_date(rec, name, days);
        }
        return hs_host->record_set_timestamp(rec, name, us);
    }
    case HS_T_STRING: {
        if (json_is_null(v))
            return hs_host->record_set_null(rec, name);
        char *t = json_is_string(v) ? NULL : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc = json_is_string(v) ? hs_host->record_set_string(rec, name, json_string_value(v), json_string_length(v))
                                   : (t ? hs_host->record_set_string(rec, name, t, strlen(t)) : SYNC_E_NOMEM);
        free(t);
        return rc;
    }
    case HS_T_JSON:
        return set_json(rec, name, v);
    default:
        break;
    }
    switch (json_typeof(v)) {
    case JSON_STRING:
        return hs_host->record_set_string(rec, name, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        return hs_host->record_set_int(rec, name, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return hs_host->record_set_float(rec, name, json_real_value(v));
    case JSON_TRUE:
    case JSON_FALSE:
        return hs_host->record_set_bool(rec, name, json_is_true(v));
    case JSON_NULL:
        return hs_host->record_set_null(rec, name);
    case JSON_OBJECT: {
        int rc = set_json(rec, name, v);
        if (rc == SYNC_OK && depth < HS_FLATTEN_DEPTH)
            rc = set_object(c, rec, name, v, depth + 1);
        return rc;
    }
    case JSON_ARRAY:
        return set_json(rec, name, v);
    }
    return SYNC_OK;
}

int hs_record_fill(const hs_conf *c, sync_record *rec, json_t *obj)
{
    if (!json_is_object(obj))
        return SYNC_E_DATA;
    return set_object(c, rec, NULL, obj, 0);
}

static int as_number(const char *s, double *out)
{
    char *e;
    if (s == NULL || *s == '\0')
        return 0;
    *out = strtod(s, &e);
    return *e == '\0';
}

int hs_value_cmp(const char *a, const char *b)
{
    double x, y;
    int64_t ta, tb;
    if (as_number(a, &x) && as_number(b, &y))
        return x < y ? -1 : x > y ? 1 : 0;
    if (hs_host->time_parse(a, strlen(a), &ta) == SYNC_OK && hs_host->time_parse(b, strlen(b), &tb) == SYNC_OK)
        return ta < tb ? -1 : ta > tb ? 1 : 0;
    int r = strcmp(a, b);
    return r < 0 ? -1 : r > 0 ? 1 : 0;
}

char *hs_urlencode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
            *p == '_' || *p == '.' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

char *hs_template(const char *tpl, json_t *obj, char *why, size_t why_size)
{
    size_t cap = strlen(tpl) + 64, len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    for (const char *p = tpl; *p;) {
        const char *piece = p;
        size_t plen = 1;
        char *enc = NULL;
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (close == NULL) {
                snprintf(why, why_size, "unbalanced '{' in \"%s\"", tpl);
                free(out);
                return NULL;
            }
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
            char *text = hs_scalar_text(json_object_get(obj, name));
            if (text == NULL || *text == '\0') {
                snprintf(why, why_size, "the record has no value for {%s}", name);
                free(text);
                free(out);
                return NULL;
            }
            enc = hs_urlencode(text);
            free(text);
            if (enc == NULL) {
                free(out);
                return NULL;
            }
            piece = enc;
            plen = strlen(enc);
            p = close + 1;
        } else {
            p++;
        }
        if (len + plen + 1 > cap) {
            cap = (len + plen + 1) * 2;
            char *n = realloc(out, cap);
            if (n == NULL) {
                free(enc);
                free(out);
                return NULL;
            }
            out = n;
        }
        memcpy(out + len, piece, plen);
        len += plen;
        free(enc);
    }
    out[len] = '\0';
    return out;
}
