/*
 * core/conf_interp.c - ${VAR} interpolation of configuration values.
 *
 * Secrets and per-host settings belong in the environment, not in the INI
 * file, so every value outside [map] sections may refer to environment
 * variables: ${VAR} (an error when VAR is unset), ${VAR:-default} (default when
 * VAR is unset or empty, as in the shell) and $$ for a literal dollar sign.  A
 * '$' that is not followed by '{' or '$' is kept as it is: SQL in sink options
 * uses $1, $2 for parameters, and writing $$1 everywhere would be a trap.  The
 * expansion is done once; text coming from a variable is never expanded again.
 * A default is text of the file and may itself hold references
 * (${A:-${B:-x}}).
 *
 * ${tenant.COLUMN} and ${tenant.COLUMN.json.path} (same :- rule) take their
 * value from the row of a tenant set (core/tenant.c) when a template job is
 * instantiated for it; while the file is loaded for itself they are deferred:
 * the reference text stands for the value, its default is not looked at, and
 * the key is marked so that option validation leaves it to the
 * instantiation.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"

/*
 * The tenant row that ${tenant.COLUMN} refers to while a template job is
 * instantiated (see syncc_conf_set_tenant), per thread: NULL while a file is
 * loaded for itself, when such references are deferred.
 */
static _Thread_local const json_t *tenant_row;

typedef struct strbuf {
    char *p;
    size_t len, cap;
} strbuf;

static int sb_add(strbuf *sb, const char *s, size_t n)
{
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 64;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *p = realloc(sb->p, cap);
        if (!p)
            return -1;
        sb->p = p;
        sb->cap = cap;
    }
    memcpy(sb->p + sb->len, s, n);
    sb->len += n;
    sb->p[sb->len] = '\0';
    return 0;
}

static int is_name_start(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

void syncc_conf_set_tenant(const json_t *row)
{
    tenant_row = row;
}

const json_t *syncc_conf_tenant(void)
{
    return tenant_row;
}

int syncc_conf_tenant_value(const char *path, char **out)
{
    *out = NULL;
    if (tenant_row == NULL)
        return -1;
    const json_t *v = tenant_row;
    char part[256];
    const char *p = path;
    while (*p) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof(part) || !json_is_object(v))
            return 0;
        memcpy(part, p, n);
        part[n] = '\0';
        v = json_object_get(v, part);
        if (v == NULL)
            return 0;
        p += n;
        if (*p == '.')
            p++;
    }
    char buf[64];
    switch (json_typeof(v)) {
    case JSON_STRING: *out = strdup(json_string_value(v)); break;
    case JSON_INTEGER: snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v)); *out = strdup(buf); break;
    case JSON_REAL: snprintf(buf, sizeof(buf), "%.17g", json_real_value(v)); *out = strdup(buf); break;
    case JSON_TRUE: *out = strdup("true"); break;
    case JSON_FALSE: *out = strdup("false"); break;
    case JSON_NULL: return 0;
    default: *out = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS); break;
    }
    return *out ? 1 : -2;
}

static int is_path_char(char c)
{
    return is_name_char(c) || c == '.' || c == '-';
}

/* The '}' that closes a reference whose default starts at p (nested ${...} skipped), or NULL. */
static const char *closing_brace(const char *p)
{
    int depth = 0;
    for (; *p; p++) {
        if (p[0] == '$' && p[1] == '$') {
            p++;
        } else if (p[0] == '$' && p[1] == '{') {
            depth++;
            p++;
        } else if (*p == '}') {
            if (depth == 0)
                return p;
            depth--;
        }
    }
    return NULL;
}

static int expand(const char *raw, size_t raw_len, strbuf *sb, int *lit, int *deferred, int depth, char *err,
                  size_t errlen)
{
    const char *p = raw, *end = raw + raw_len;
    if (depth > 8) {
        syncc_conf_errf(err, errlen, "references nested too deeply");
        return -1;
    }
    while (p < end) {
        const char *dollar = memchr(p, '$', (size_t)(end - p));
        if (!dollar) {
            if (sb_add(sb, p, (size_t)(end - p)) < 0)
                goto nomem;
            *lit = 1;
            break;
        }
        if (dollar > p) {
            if (sb_add(sb, p, (size_t)(dollar - p)) < 0)
                goto nomem;
            *lit = 1;
        }
        if (dollar + 1 < end && dollar[1] == '$') {
            if (sb_add(sb, "$", 1) < 0)
                goto nomem;
            *lit = 1;
            p = dollar + 2;
            continue;
        }
        if (dollar + 1 >= end || dollar[1] != '{') {
            /* a lone '$' is literal: SQL hooks use $1, $2 for their parameters */
            if (sb_add(sb, "$", 1) < 0)
                goto nomem;
            *lit = 1;
            p = dollar + 1;
            continue;
        }
        const char *name = dollar + 2;
        const char *q = name;
        if (q >= end || !is_name_start(*q)) {
            syncc_conf_errf(err, errlen, "invalid variable reference: expected ${NAME} or ${NAME:-default}");
            return -1;
        }
        int is_tenant = (size_t)(end - q) > 7 && strncmp(q, "tenant.", 7) == 0;
        while (q < end && (is_tenant ? is_path_char(*q) : is_name_char(*q)))
            q++;
        size_t name_len = (size_t)(q - name);
        const char *def = NULL;
        size_t def_len = 0;
        if (q + 1 < end && q[0] == ':' && q[1] == '-') {
            def = q + 2;
            const char *close = closing_brace(def);
            if (!close || close >= end) {
                syncc_conf_errf(err, errlen, "unterminated ${...} reference");
                return -1;
            }
            def_len = (size_t)(close - def);
            q = close;
        } else if (q >= end || *q != '}') {
            if (q >= end)
                syncc_conf_errf(err, errlen, "unterminated ${...} reference");
            else
                syncc_conf_errf(err, errlen, "invalid variable reference: expected ${NAME} or ${NAME:-default}");
            return -1;
        }
        /* q points at the closing brace. */
        char varname[256];
        if (name_len >= sizeof(varname)) {
            syncc_conf_errf(err, errlen, "variable name too long");
            return -1;
        }
        memcpy(varname, name, name_len);
        varname[name_len] = '\0';
        p = q + 1;
        if (def && def_len > 0 && !memchr(def, '$', def_len) && !is_tenant)
            *lit = 1; /* the default is written in the file */
        if (is_tenant) {
            if (varname[name_len - 1] == '.') {
                syncc_conf_errf(err, errlen, "invalid tenant reference ${%s}: expected ${tenant.COLUMN}", varname);
                return -1;
            }
            char *val = NULL;
            int found = syncc_conf_tenant_value(varname + 7, &val);
            if (found == -1) {
                /* loaded for itself: the reference stands for its value (a list keeps its items, a
                 * required option is set), and the instantiation resolves it */
                *deferred = 1;
                if (sb_add(sb, dollar, (size_t)(p - dollar)) < 0)
                    goto nomem;
                continue;
            }
            if (found == -2)
                goto nomem;
            if (found == 1 && (def == NULL || *val)) {
                int rc = sb_add(sb, val, strlen(val));
                free(val);
                if (rc < 0)
                    goto nomem;
                continue;
            }
            free(val);
            if (def && def_len > 0 && !memchr(def, '$', def_len))
                *lit = 1;
            if (def == NULL) {
                syncc_conf_errf(err, errlen, "the tenant's row has no value for ${%s}", varname);
                return -1;
            }
            if (expand(def, def_len, sb, lit, deferred, depth + 1, err, errlen) < 0)
                return -1;
            continue;
        }
        const char *val = getenv(varname);
        if (def) {
            if (!val || !*val) {
                if (expand(def, def_len, sb, lit, deferred, depth + 1, err, errlen) < 0)
                    return -1;
                continue;
            }
        } else if (!val) {
            syncc_conf_errf(err, errlen, "environment variable %s is not set", varname);
            return -1;
        }
        if (sb_add(sb, val, strlen(val)) < 0)
            goto nomem;
    }
    return 0;
nomem:
    syncc_conf_errf(err, errlen, "out of memory");
    return -1;
}

int syncc_conf_interpolate(const char *raw, char **out, int *literal, int *deferred, char *err, size_t errlen)
{
    strbuf sb = {NULL, 0, 0};
    int lit = 0, def = 0;
    *out = NULL;
    if (sb_add(&sb, "", 0) < 0 || expand(raw, strlen(raw), &sb, &lit, &def, 0, err, errlen) < 0) {
        if (sb.p == NULL)
            syncc_conf_errf(err, errlen, "out of memory");
        free(sb.p);
        return -1;
    }
    *out = sb.p;
    if (literal)
        *literal = lit;
    if (deferred)
        *deferred = def;
    return 0;
}
