/*
 * core/conf_options.c - option tables and validated option sets.
 *
 * A plugin declares its keys in sync_option tables; this file checks such a
 * table (syncc_options_check), turns the key/value pairs of one section into a
 * sync_config against it (syncc_config_build: unknown keys, duplicates,
 * types, bounds, enums, required options, defaults, deprecations, secrets),
 * and answers the host-table getters plugins use to read the result.  Parsing
 * happens once here so that a getter can never fail on a value the user
 * wrote: a plugin only sees values that already have the declared type.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_priv.h"

/* --------------------------------------------------------------- messages */

void syncc_conf_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

void syncc_conf_warnf(const syncc_conf *conf, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (conf && conf->warn)
        conf->warn(buf, conf->warn_payload);
    else
        fprintf(stderr, "warning: %s\n", buf);
}

/* ---------------------------------------------------------- value parsers */

int syncc_parse_bool(const char *text, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1", NULL};
    static const char *const no[] = {"false", "no", "off", "0", NULL};

    if (!text)
        return -1;
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(text, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(text, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/*
 * "500ms", "30s", "5m", "2h", "1d", a sum of such parts ("1h30m"), or a plain
 * number of seconds.  Negative durations make no sense for timeouts and
 * intervals, so there is no sign.
 */
int syncc_parse_duration(const char *text, int64_t *ms)
{
    const char *p = text;
    int64_t total = 0;
    int parts = 0;

    if (!p || !*p)
        return -1;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        int64_t n = 0;
        while (*p >= '0' && *p <= '9') {
            int d = *p - '0';
            if (n > (INT64_MAX - d) / 10)
                return -1;
            n = n * 10 + d;
            p++;
        }
        int64_t mult;
        if (*p == '\0') {
            if (parts > 0)
                return -1; /* "1m30" is ambiguous */
            mult = 1000;
        } else if (p[0] == 'm' && p[1] == 's') {
            mult = 1;
            p += 2;
        } else if (*p == 's') {
            mult = 1000;
            p++;
        } else if (*p == 'm') {
            mult = 60000;
            p++;
        } else if (*p == 'h') {
            mult = 3600000;
            p++;
        } else if (*p == 'd') {
            mult = 86400000;
            p++;
        } else {
            return -1;
        }
        if (n > INT64_MAX / mult)
            return -1;
        n *= mult;
        if (total > INT64_MAX - n)
            return -1;
        total += n;
        parts++;
    }
    *ms = total;
    return 0;
}

void syncc_format_duration(int64_t ms, char *buf, size_t n)
{
    if (ms != 0 && ms % 86400000 == 0)
        snprintf(buf, n, "%" PRId64 "d", ms / 86400000);
    else if (ms != 0 && ms % 3600000 == 0)
        snprintf(buf, n, "%" PRId64 "h", ms / 3600000);
    else if (ms != 0 && ms % 60000 == 0)
        snprintf(buf, n, "%" PRId64 "m", ms / 60000);
    else if (ms % 1000 == 0)
        snprintf(buf, n, "%" PRId64 "s", ms / 1000);
    else
        snprintf(buf, n, "%" PRId64 "ms", ms);
}

static int parse_int(const char *s, int64_t *out)
{
    char *end;

    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;

    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int check_url(const char *s)
{
    size_t n;

    if (strncasecmp(s, "https://", 8) == 0)
        n = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        n = 7;
    else
        return -1;
    if (s[n] == '\0' || s[n] == '/')
        return -1; /* no host */
    for (const char *p = s; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return -1;
    return 0;
}

static const char *type_name(sync_option_type t)
{
    switch (t) {
    case SYNC_OPT_STRING: return "string";
    case SYNC_OPT_INT: return "integer";
    case SYNC_OPT_BOOL: return "boolean";
    case SYNC_OPT_DOUBLE: return "number";
    case SYNC_OPT_DURATION: return "duration";
    case SYNC_OPT_ENUM: return "enum";
    case SYNC_OPT_LIST: return "list";
    case SYNC_OPT_URL: return "url";
    }
    return "unknown";
}

/* Whether x lies within opt's bounds (none unless max > min). */
static int in_bounds(const sync_option *opt, int64_t x)
{
    return !(opt->max > opt->min) || (x >= opt->min && x <= opt->max);
}

/*
 * The detail for a value that does not parse as a what; shown is the quoted
 * value ("" for a secret), hint how to write one.  Returns NULL, parse_value's
 * failure.
 */
static const char *invalid_value(char *detail, size_t dlen, const char *what, const char *shown, const char *hint)
{
    syncc_conf_errf(detail, dlen, "invalid %s%s%s", what, shown, hint);
    return NULL;
}

/* The detail for a number outside opt's bounds lo..hi (as text); a secret's value is not quoted.  Returns NULL. */
static const char *out_of_range(const sync_option *opt, const char *text, const char *lo, const char *hi,
                                char *detail, size_t dlen)
{
    syncc_conf_errf(detail, dlen, "%s is out of range (%s..%s)", (opt->flags & SYNC_OPT_SECRET) ? "value" : text, lo,
                    hi);
    return NULL;
}

/*
 * Checks text against opt's type and bounds.  On success stores the parsed
 * number in v (ival/dval) and returns the canonical text (the enum value as
 * declared, otherwise text itself).  On failure writes a detail message
 * (without file:line and option name) and returns NULL.  Values of SECRET
 * options are never quoted in messages.
 */
static const char *parse_value(const sync_option *opt, const char *text, syncc_optval *v,
                               char *detail, size_t dlen)
{
    char shown[128] = "";
    char lo[32], hi[32];

    if (!(opt->flags & SYNC_OPT_SECRET)) {
        if (strlen(text) > 80)
            snprintf(shown, sizeof(shown), " '%.80s...'", text);
        else
            snprintf(shown, sizeof(shown), " '%s'", text);
    }
    switch (opt->type) {
    case SYNC_OPT_STRING:
    case SYNC_OPT_LIST:
        return text;
    case SYNC_OPT_INT: {
        int64_t i;
        if (parse_int(text, &i) < 0)
            return invalid_value(detail, dlen, "integer", shown, "");
        if (!in_bounds(opt, i)) {
            snprintf(lo, sizeof(lo), "%" PRId64, opt->min);
            snprintf(hi, sizeof(hi), "%" PRId64, opt->max);
            return out_of_range(opt, text, lo, hi, detail, dlen);
        }
        v->ival = i;
        v->dval = (double)i;
        return text;
    }
    case SYNC_OPT_BOOL: {
        int b;
        if (syncc_parse_bool(text, &b) < 0)
            return invalid_value(detail, dlen, "boolean", shown, " (use true/false, yes/no, on/off, 1/0)");
        v->ival = b;
        return text;
    }
    case SYNC_OPT_DOUBLE: {
        double d;
        if (parse_double(text, &d) < 0)
            return invalid_value(detail, dlen, "number", shown, "");
        v->dval = d;
        return text;
    }
    case SYNC_OPT_DURATION: {
        int64_t ms;
        if (syncc_parse_duration(text, &ms) < 0)
            return invalid_value(detail, dlen, "duration", shown, " (use e.g. 500ms, 30s, 5m, 2h, 1d)");
        if (!in_bounds(opt, ms)) {
            syncc_format_duration(opt->min, lo, sizeof(lo));
            syncc_format_duration(opt->max, hi, sizeof(hi));
            return out_of_range(opt, text, lo, hi, detail, dlen);
        }
        v->ival = ms;
        v->dval = (double)ms;
        return text;
    }
    case SYNC_OPT_ENUM: {
        char list[512] = "";
        size_t used = 0;
        for (size_t i = 0; opt->enum_values && opt->enum_values[i]; i++) {
            if (strcasecmp(text, opt->enum_values[i]) == 0) {
                v->ival = (int64_t)i;
                return opt->enum_values[i];
            }
            int n = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", opt->enum_values[i]);
            if (n > 0 && (size_t)n < sizeof(list) - used)
                used += (size_t)n;
        }
        syncc_conf_errf(detail, dlen, "invalid value%s; valid values: %s", shown, list);
        return NULL;
    }
    case SYNC_OPT_URL:
        if (check_url(text) < 0)
            return invalid_value(detail, dlen, "URL", shown, " (must start with http:// or https:// and name a host)");
        return text;
    }
    syncc_conf_errf(detail, dlen, "option type %d is not supported", (int)opt->type);
    return NULL;
}

/* ------------------------------------------------------------ table check */

static int valid_option_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
            return 0;
    return 1;
}

int syncc_options_check(const sync_option *table, char *err, size_t errlen)
{
    if (!table)
        return 0;
    for (size_t i = 0; table[i].name; i++) {
        const sync_option *o = &table[i];
        if (!valid_option_name(o->name)) {
            syncc_conf_errf(err, errlen, "option %zu: invalid name '%s' (use letters, digits, '_', '-', '.')", i,
                            o->name);
            return -1;
        }
        if ((int)o->type < SYNC_OPT_STRING || (int)o->type > SYNC_OPT_URL) {
            syncc_conf_errf(err, errlen, "option '%s': unknown type %d", o->name, (int)o->type);
            return -1;
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(table[j].name, o->name) == 0) {
                syncc_conf_errf(err, errlen, "option '%s' is declared twice", o->name);
                return -1;
            }
        }
        if (o->type == SYNC_OPT_ENUM) {
            if (!o->enum_values || !o->enum_values[0]) {
                syncc_conf_errf(err, errlen, "option '%s': enum option without values", o->name);
                return -1;
            }
            for (size_t k = 0; o->enum_values[k]; k++) {
                if (!*o->enum_values[k]) {
                    syncc_conf_errf(err, errlen, "option '%s': empty enum value", o->name);
                    return -1;
                }
                for (size_t m = 0; m < k; m++) {
                    if (strcasecmp(o->enum_values[m], o->enum_values[k]) == 0) {
                        syncc_conf_errf(err, errlen, "option '%s': enum value '%s' is listed twice", o->name,
                                        o->enum_values[k]);
                        return -1;
                    }
                }
            }
        }
        if ((o->flags & SYNC_OPT_REQUIRED) && o->default_value) {
            syncc_conf_errf(err, errlen, "option '%s': a required option cannot have a default", o->name);
            return -1;
        }
        if (o->default_value) {
            syncc_optval tmp;
            char detail[512];
            memset(&tmp, 0, sizeof(tmp));
            if (!parse_value(o, o->default_value, &tmp, detail, sizeof(detail))) {
                syncc_conf_errf(err, errlen, "option '%s': bad default: %s", o->name, detail);
                return -1;
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------ option sets */

static size_t table_len(const sync_option *table)
{
    size_t n = 0;

    while (table && table[n].name)
        n++;
    return n;
}

static int push_item(syncc_optval *v, const char *s, size_t n)
{
    char **items = realloc(v->items, (v->n_items + 1) * sizeof(*items));
    if (!items)
        return -1;
    v->items = items;
    items[v->n_items] = strndup(s, n);
    if (!items[v->n_items])
        return -1;
    v->n_items++;
    return 0;
}

/* Comma-separated items, each trimmed; empty items are dropped. */
static int push_list(syncc_optval *v, const char *text)
{
    const char *p = text;

    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        const char *b = p, *e = end;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b && push_item(v, b, (size_t)(e - b)) < 0)
            return -1;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

static void clear_value(syncc_optval *v)
{
    free((char *)v->value);
    v->value = NULL;
    for (size_t i = 0; i < v->n_items; i++)
        free(v->items[i]);
    free(v->items);
    v->items = NULL;
    v->n_items = 0;
}

/* Stores one occurrence; MULTI options accumulate, others replace. */
static int store_value(syncc_optval *v, const char *canon, const char *where)
{
    const sync_option *opt = v->opt;

    if (!(opt->flags & SYNC_OPT_MULTI))
        clear_value(v);
    if (opt->flags & SYNC_OPT_MULTI) {
        if (opt->type == SYNC_OPT_LIST) {
            if (push_list(v, canon) < 0)
                return -1;
        } else if (push_item(v, canon, strlen(canon)) < 0) {
            return -1;
        }
        /* value: every occurrence joined, for get_string and --describe. */
        size_t len = v->value ? strlen(v->value) : 0;
        char *joined = malloc(len + strlen(canon) + 3);
        if (!joined)
            return -1;
        if (v->value)
            sprintf(joined, "%s, %s", v->value, canon);
        else
            strcpy(joined, canon);
        free((char *)v->value);
        v->value = joined;
    } else {
        v->value = strdup(canon);
        if (!v->value)
            return -1;
        if (opt->type == SYNC_OPT_LIST && push_list(v, canon) < 0)
            return -1;
    }
    snprintf(v->where, sizeof(v->where), "%s", where);
    return 0;
}

static void list_names(const sync_option *table, const char *prefix, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; table && table[i].name; i++) {
        int w = snprintf(buf + used, n - used, "%s%s%s", i ? ", " : "", prefix, table[i].name);
        if (w < 0 || (size_t)w >= n - used) {
            if (n > 4)
                strcpy(buf + n - 4, "...");
            return;
        }
        used += (size_t)w;
    }
}

static void kv_where(const syncc_kv *kv, char *buf, size_t n)
{
    if (kv->line > 0)
        snprintf(buf, n, "%s:%d", kv->file, kv->line);
    else
        snprintf(buf, n, "%s", kv->file);
}

/* Was e copied from a key the caller has already warned about? */
static int is_inherited(const syncc_build_opts *o, const syncc_kv *e)
{
    for (size_t i = 0; i < o->n_inherited; i++)
        if (o->inherited[i]->file == e->file && o->inherited[i]->line == e->line)
            return 1;
    return 0;
}

sync_config *syncc_config_build(const sync_option *table, syncc_kv *const *kv, size_t n_kv,
                                const syncc_build_opts *o, char *err, size_t errlen)
{
    size_t n_opts = table_len(table);
    const char *prefix = o->prefix ? o->prefix : "";
    const char *section = o->section ? o->section : "the option set";
    sync_config *cfg = calloc(1, sizeof(*cfg));
    const syncc_kv **first = calloc(n_opts + 1, sizeof(*first));
    char where[300], detail[600];

    if (!cfg || !first || !(cfg->vals = calloc(n_opts + 1, sizeof(*cfg->vals)))) {
        syncc_conf_errf(err, errlen, "out of memory");
        goto fail;
    }
    cfg->table = table;
    cfg->n_vals = n_opts;
    snprintf(cfg->where, sizeof(cfg->where), "%s", o->where ? o->where : "default");
    for (size_t i = 0; i < n_opts; i++)
        cfg->vals[i].opt = &table[i];

    for (size_t k = 0; k < n_kv; k++) {
        syncc_kv *e = kv[k];
        size_t idx;
        kv_where(e, where, sizeof(where));
        for (idx = 0; idx < n_opts; idx++)
            if (strcmp(table[idx].name, e->key) == 0)
                break;
        if (idx == n_opts) {
            if (n_opts == 0) {
                if (o->plugin && *prefix)
                    syncc_conf_errf(err, errlen, "%s: unknown option '%s%s' in %s; plugin '%s' has no %s* options",
                                    where, prefix, e->key, section, o->plugin, prefix);
                else if (o->plugin)
                    syncc_conf_errf(err, errlen, "%s: unknown option '%s' in %s; plugin '%s' takes no options",
                                    where, e->key, section, o->plugin);
                else
                    syncc_conf_errf(err, errlen, "%s: unknown option '%s%s' in %s; there are no valid options",
                                    where, prefix, e->key, section);
            } else {
                char names[800];
                list_names(table, prefix, names, sizeof(names));
                syncc_conf_errf(err, errlen, "%s: unknown option '%s%s' in %s; valid options: %s", where, prefix,
                                e->key, section, names);
            }
            goto fail;
        }
        const sync_option *opt = &table[idx];
        syncc_optval *v = &cfg->vals[idx];
        if (first[idx] && !(opt->flags & SYNC_OPT_MULTI)) {
            char w1[300];
            kv_where(first[idx], w1, sizeof(w1));
            syncc_conf_errf(err, errlen, "%s: option '%s%s' is set twice in %s (first at %s)", where, prefix,
                            e->key, section, w1);
            goto fail;
        }
        if (!first[idx])
            first[idx] = e;
        e->used = 1;
        /* a value that waits for a tenant's row is judged when a tenant is instantiated */
        const char *canon = e->deferred ? e->value : parse_value(opt, e->value, v, detail, sizeof(detail));
        if (!canon) {
            syncc_conf_errf(err, errlen, "%s: option '%s%s': %s", where, prefix, e->key, detail);
            goto fail;
        }
        if (store_value(v, canon, where) < 0) {
            syncc_conf_errf(err, errlen, "out of memory");
            goto fail;
        }
        int quiet = is_inherited(o, e);
        if ((opt->flags & SYNC_OPT_DEPRECATED) && !quiet)
            syncc_conf_warnf(o->conf, "%s: option '%s%s' in %s is deprecated%s%s", where, prefix, e->key, section,
                             opt->description ? ": " : "", opt->description ? opt->description : "");
        if (opt->flags & SYNC_OPT_SECRET) {
            if (o->conf && syncc_conf_add_secret(o->conf, e->value) < 0) {
                syncc_conf_errf(err, errlen, "out of memory");
                goto fail;
            }
            if (e->literal && !quiet && syncc_conf_file_exposed(o->conf, e->file))
                syncc_conf_warnf(o->conf,
                                 "%s: option '%s%s' holds a secret written in a file that its group or others "
                                 "can read; store it in the environment (%s%s = ${VARIABLE}) or chmod 600 the file",
                                 where, prefix, e->key, prefix, e->key);
        }
    }

    for (size_t i = 0; i < n_opts; i++) {
        const sync_option *opt = &table[i];
        syncc_optval *v = &cfg->vals[i];
        if (first[i])
            continue;
        if (opt->default_value) {
            const char *canon = parse_value(opt, opt->default_value, v, detail, sizeof(detail));
            if (!canon) {
                syncc_conf_errf(err, errlen, "option '%s%s': bad default in the plugin: %s", prefix, opt->name,
                                detail);
                goto fail;
            }
            if (store_value(v, canon, "default") < 0) {
                syncc_conf_errf(err, errlen, "out of memory");
                goto fail;
            }
        } else if ((opt->flags & SYNC_OPT_REQUIRED) && o->check_required) {
            syncc_conf_errf(err, errlen, "%s: missing required option '%s%s' in %s%s", cfg->where, prefix,
                            opt->name, section, o->required_hint ? o->required_hint : "");
            goto fail;
        }
    }
    free(first);
    return cfg;

fail:
    free(first);
    syncc_config_free(cfg);
    return NULL;
}

void syncc_config_free(sync_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; cfg->vals && i < cfg->n_vals; i++)
        clear_value(&cfg->vals[i]);
    free(cfg->vals);
    free(cfg);
}

sync_config *syncc_config_from_pairs(const sync_option *table, const char *const *kv, const char *where,
                                     char *err, size_t errlen)
{
    size_t n = 0;
    syncc_kv *items = NULL;
    syncc_kv **ptrs = NULL;
    sync_config *cfg = NULL;
    syncc_build_opts o;

    if (syncc_options_check(table, err, errlen) < 0)
        return NULL;
    while (kv && kv[2 * n]) {
        if (!kv[2 * n + 1]) {
            syncc_conf_errf(err, errlen, "option '%s' has no value", kv[2 * n]);
            return NULL;
        }
        n++;
    }
    items = calloc(n + 1, sizeof(*items));
    ptrs = calloc(n + 1, sizeof(*ptrs));
    if (!items || !ptrs) {
        syncc_conf_errf(err, errlen, "out of memory");
        goto out;
    }
    if (!where)
        where = "arguments";
    for (size_t i = 0; i < n; i++) {
        /* Borrowed strings: the build copies what it keeps. */
        items[i].key = (char *)kv[2 * i];
        items[i].value = (char *)kv[2 * i + 1];
        items[i].file = where;
        items[i].line = 0;
        ptrs[i] = &items[i];
    }
    memset(&o, 0, sizeof(o));
    o.section = where;
    o.where = where;
    o.prefix = "";
    o.check_required = 1;
    cfg = syncc_config_build(table, ptrs, n, &o, err, errlen);
out:
    free(items);
    free(ptrs);
    return cfg;
}

/* ---------------------------------------------------------------- getters */

static const syncc_optval *find_val(const sync_config *cfg, const char *name)
{
    if (!cfg || !name)
        return NULL;
    for (size_t i = 0; i < cfg->n_vals; i++)
        if (strcmp(cfg->vals[i].opt->name, name) == 0)
            return &cfg->vals[i];
    return NULL;
}

const char *syncc_config_get_string(const sync_config *cfg, const char *name)
{
    const syncc_optval *v = find_val(cfg, name);
    return v ? v->value : NULL;
}

#define TYPE_BIT(t) (1u << (unsigned)(t))

/*
 * The value of option name for a typed getter: *vp is set and SYNC_OK
 * returned when the option exists, out is not NULL, its type is one of types
 * (TYPE_BIT()s) and it has a value; SYNC_E_INVALID or SYNC_E_NOTFOUND else.
 */
static int typed_val(const sync_config *cfg, const char *name, const void *out, unsigned types,
                     const syncc_optval **vp)
{
    const syncc_optval *v = find_val(cfg, name);

    /* the bound keeps the shift defined for a type this build does not know */
    if (!v || !out || (unsigned)v->opt->type >= 32 || !(types & TYPE_BIT(v->opt->type)))
        return SYNC_E_INVALID;
    if (!v->value)
        return SYNC_E_NOTFOUND;
    *vp = v;
    return SYNC_OK;
}

int syncc_config_get_int(const sync_config *cfg, const char *name, int64_t *out)
{
    const syncc_optval *v = NULL;
    /* an enum reads as the index into enum_values */
    int rc = typed_val(cfg, name, out,
                       TYPE_BIT(SYNC_OPT_INT) | TYPE_BIT(SYNC_OPT_DURATION) | TYPE_BIT(SYNC_OPT_BOOL) |
                           TYPE_BIT(SYNC_OPT_ENUM),
                       &v);

    if (rc == SYNC_OK)
        *out = v->ival;
    return rc;
}

int syncc_config_get_bool(const sync_config *cfg, const char *name, int *out)
{
    const syncc_optval *v = NULL;
    int rc = typed_val(cfg, name, out, TYPE_BIT(SYNC_OPT_BOOL), &v);

    if (rc == SYNC_OK)
        *out = v->ival != 0;
    return rc;
}

int syncc_config_get_double(const sync_config *cfg, const char *name, double *out)
{
    const syncc_optval *v = NULL;
    int rc = typed_val(cfg, name, out, TYPE_BIT(SYNC_OPT_DOUBLE) | TYPE_BIT(SYNC_OPT_INT) | TYPE_BIT(SYNC_OPT_DURATION),
                       &v);

    if (rc == SYNC_OK)
        *out = v->dval;
    return rc;
}

static int is_listy(const syncc_optval *v)
{
    return v->opt->type == SYNC_OPT_LIST || (v->opt->flags & SYNC_OPT_MULTI);
}

size_t syncc_config_list_count(const sync_config *cfg, const char *name)
{
    const syncc_optval *v = find_val(cfg, name);

    if (!v)
        return 0;
    if (is_listy(v))
        return v->n_items;
    return v->value ? 1 : 0;
}

const char *syncc_config_list_item(const sync_config *cfg, const char *name, size_t index)
{
    const syncc_optval *v = find_val(cfg, name);

    if (!v)
        return NULL;
    if (is_listy(v))
        return index < v->n_items ? v->items[index] : NULL;
    return index == 0 ? v->value : NULL;
}

const char *syncc_config_where(const sync_config *cfg, const char *name)
{
    const syncc_optval *v = find_val(cfg, name);

    if (!cfg)
        return "unknown";
    if (v && v->where[0] && strcmp(v->where, "default") != 0)
        return v->where;
    return cfg->where;
}

/* ------------------------------------------------------------------ misc */

int syncc_conf_add_secret(syncc_conf *conf, const char *value)
{
    if (!value || !*value)
        return 0;
    for (size_t i = 0; i < conf->n_secrets; i++)
        if (strcmp(conf->secrets[i], value) == 0)
            return 0;
    char **s = realloc(conf->secrets, (conf->n_secrets + 1) * sizeof(*s));
    if (!s)
        return -1;
    conf->secrets = s;
    s[conf->n_secrets] = strdup(value);
    if (!s[conf->n_secrets])
        return -1;
    conf->n_secrets++;
    return 0;
}

int syncc_conf_file_exposed(const syncc_conf *conf, const char *file)
{
    if (!conf || !conf->file_exposed || !file)
        return 0;
    for (size_t i = 0; i < conf->n_files; i++)
        if (conf->files[i] == file || strcmp(conf->files[i], file) == 0)
            return conf->file_exposed[i];
    return 0;
}

const char *syncc_option_type_name(sync_option_type t)
{
    return type_name(t);
}
