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
 */
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"

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

int syncc_conf_interpolate(const char *raw, char **out, int *literal, char *err, size_t errlen)
{
    strbuf sb = {NULL, 0, 0};
    int lit = 0;
    const char *p = raw;

    *out = NULL;
    if (sb_add(&sb, "", 0) < 0)
        goto nomem;
    while (*p) {
        const char *dollar = strchr(p, '$');
        if (!dollar) {
            if (sb_add(&sb, p, strlen(p)) < 0)
                goto nomem;
            lit = 1;
            break;
        }
        if (dollar > p) {
            if (sb_add(&sb, p, (size_t)(dollar - p)) < 0)
                goto nomem;
            lit = 1;
        }
        if (dollar[1] == '$') {
            if (sb_add(&sb, "$", 1) < 0)
                goto nomem;
            lit = 1;
            p = dollar + 2;
            continue;
        }
        if (dollar[1] != '{') {
            /* a lone '$' is literal: SQL hooks use $1, $2 for their parameters */
            if (sb_add(&sb, "$", 1) < 0)
                goto nomem;
            lit = 1;
            p = dollar + 1;
            continue;
        }
        const char *name = dollar + 2;
        const char *q = name;
        if (!is_name_start(*q)) {
            syncc_conf_errf(err, errlen, "invalid variable reference: expected ${NAME} or ${NAME:-default}");
            goto fail;
        }
        while (is_name_char(*q))
            q++;
        size_t name_len = (size_t)(q - name);
        const char *def = NULL;
        size_t def_len = 0;
        if (q[0] == ':' && q[1] == '-') {
            def = q + 2;
            const char *close = strchr(def, '}');
            if (!close) {
                syncc_conf_errf(err, errlen, "unterminated ${...} reference");
                goto fail;
            }
            def_len = (size_t)(close - def);
            q = close;
        } else if (*q != '}') {
            if (*q == '\0')
                syncc_conf_errf(err, errlen, "unterminated ${...} reference");
            else
                syncc_conf_errf(err, errlen,
                                "invalid variable reference: expected ${NAME} or ${NAME:-default}");
            goto fail;
        }
        /* q points at the closing brace. */
        char varname[256];
        if (name_len >= sizeof(varname)) {
            syncc_conf_errf(err, errlen, "variable name too long");
            goto fail;
        }
        memcpy(varname, name, name_len);
        varname[name_len] = '\0';
        const char *val = getenv(varname);
        if (def) {
            if (def_len > 0)
                lit = 1; /* the default is written in the file */
            if (!val || !*val) {
                if (sb_add(&sb, def, def_len) < 0)
                    goto nomem;
                val = NULL;
            }
        } else if (!val) {
            syncc_conf_errf(err, errlen, "environment variable %s is not set", varname);
            goto fail;
        }
        if (val && sb_add(&sb, val, strlen(val)) < 0)
            goto nomem;
        p = q + 1;
    }
    *out = sb.p;
    if (literal)
        *literal = lit;
    return 0;

nomem:
    syncc_conf_errf(err, errlen, "out of memory");
fail:
    free(sb.p);
    return -1;
}
