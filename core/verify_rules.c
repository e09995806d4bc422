/*
 * core/verify_rules.c - integrity rules of `syncengine verify` (verify_rules.h):
 * parsing [verify JOB.STREAM] sections and the SQL each rule runs.
 */
#include "verify_rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"

/* A growable string. */
typedef struct vbuf {
    char *p;
    size_t len, cap;
    int oom;
} vbuf;

static void vb_add(vbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void vb_puts(vbuf *b, const char *s)
{
    vb_add(b, s, strlen(s));
}

/* One identifier, quoted. */
static void vb_ident(vbuf *b, const char *name, size_t n)
{
    vb_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        vb_add(b, name + i, 1);
        if (name[i] == '"')
            vb_add(b, "\"", 1);
    }
    vb_add(b, "\"", 1);
}

/* A table name, each dotted part quoted ("schema"."table"). */
static void vb_table(vbuf *b, const char *name)
{
    const char *p = name;
    for (;;) {
        const char *dot = strchr(p, '.');
        vb_ident(b, p, dot ? (size_t)(dot - p) : strlen(p));
        if (!dot)
            break;
        vb_add(b, ".", 1);
        p = dot + 1;
    }
}

static char *vb_take(vbuf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

static char *trimdup(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

static int is_ident(const char *s)
{
    if (!*s)
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_' || (unsigned char)*p >= 0x80))
            return 0;
    return 1;
}

static void rule_free(syncc_vrule *r)
{
    free(r->name);
    free(r->column);
    free(r->parent);
    free(r->parent_column);
    free(r->columns);
    free(r->predicate);
}

void syncc_vrules_free(syncc_vrules *rules)
{
    for (size_t i = 0; i < rules->n; i++)
        rule_free(&rules->r[i]);
    free(rules->r);
    memset(rules, 0, sizeof(*rules));
}

static syncc_vrule *add_rule(syncc_vrules *rules, syncc_vrule_kind kind, const syncc_kv *kv)
{
    syncc_vrule *nr = realloc(rules->r, (rules->n + 1) * sizeof(*nr));
    if (!nr)
        return NULL;
    rules->r = nr;
    syncc_vrule *r = &rules->r[rules->n++];
    memset(r, 0, sizeof(*r));
    r->kind = kind;
    snprintf(r->where, sizeof(r->where), "%s:%d", kv->file, kv->line);
    return r;
}

/* Splits a comma-separated value, calling each(item) with trimmed items; -1 when one fails. */
static int each_item(const char *value, int (*each)(const char *item, void *p), void *p)
{
    const char *s = value;
    for (;;) {
        const char *c = strchr(s, ',');
        char *item = trimdup(s, c ? (size_t)(c - s) : strlen(s));
        if (!item)
            return -1;
        int rc = *item ? each(item, p) : 0;
        free(item);
        if (rc < 0)
            return -1;
        if (!c)
            return 0;
        s = c + 1;
    }
}

typedef struct parse_ctx {
    syncc_vrules *rules;
    const syncc_kv *kv;
    char *err;
    size_t errlen;
} parse_ctx;

static int add_orphans(const char *item, void *p)
{
    parse_ctx *pc = p;
    const char *arrow = strstr(item, "->");
    char *col = arrow ? trimdup(item, (size_t)(arrow - item)) : NULL;
    char *ref = arrow ? trimdup(arrow + 2, strlen(arrow + 2)) : NULL;
    char *dot = ref ? strrchr(ref, '.') : NULL;
    if (!col || !ref || !dot || !is_ident(col) || dot == ref || !is_ident(dot + 1)) {
        snprintf(pc->err, pc->errlen,
                 "%s:%d: orphans item \"%s\" is not COLUMN -> TABLE.COLUMN (e.g. prospect_id -> prospects.id)",
                 pc->kv->file, pc->kv->line, item);
        free(col);
        free(ref);
        return -1;
    }
    syncc_vrule *r = add_rule(pc->rules, SYNCC_VRULE_ORPHANS, pc->kv);
    if (!r) {
        free(col);
        free(ref);
        return -1;
    }
    *dot = '\0';
    r->column = col;
    r->parent = strdup(ref);
    r->parent_column = strdup(dot + 1);
    *dot = '.';
    size_t n = strlen(col) + strlen(ref) + 20;
    r->name = malloc(n);
    if (r->name)
        snprintf(r->name, n, "orphans %s -> %s", col, ref);
    free(ref);
    return r->parent && r->parent_column && r->name ? 0 : -1;
}

int syncc_vrules_parse(const syncc_section *sec, syncc_vrules *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    for (size_t k = 0; k < sec->n_kv; k++) {
        const syncc_kv *kv = &sec->kv[k];
        const char *v = kv->value;
        if (strcmp(kv->key, "side") == 0) {
            if (strcmp(v, "source") == 0 || strcmp(v, "target") == 0) {
                out->on_source = strcmp(v, "source") == 0;
                continue;
            }
            snprintf(err, errlen, "%s:%d: side must be source or target, not \"%s\"", kv->file, kv->line, v);
            goto fail;
        }
        if (strcmp(kv->key, "orphans_policy") == 0) {
            static const char *const names[] = {"report", "delete", "refetch"};
            int found = -1;
            for (int i = 0; i < 3; i++)
                if (strcmp(v, names[i]) == 0)
                    found = i;
            if (found < 0) {
                snprintf(err, errlen, "%s:%d: orphans_policy must be report, delete or refetch, not \"%s\"",
                         kv->file, kv->line, v);
                goto fail;
            }
            out->policy = (syncc_orphans_policy)found;
            continue;
        }
        if (strcmp(kv->key, "orphans") == 0) {
            parse_ctx pc = {out, kv, err, errlen};
            err[0] = '\0';
            if (each_item(v, add_orphans, &pc) < 0) {
                if (!err[0])
                    snprintf(err, errlen, "out of memory");
                goto fail;
            }
            continue;
        }
        if (strcmp(kv->key, "unique") == 0) {
            syncc_vrule *r = add_rule(out, SYNCC_VRULE_UNIQUE, kv);
            if (!r || !(r->columns = strdup(v)))
                goto nomem;
            size_t n = strlen(v) + 10;
            if (!(r->name = malloc(n)))
                goto nomem;
            snprintf(r->name, n, "unique %s", v);
            /* every item a column name */
            const char *s = v;
            for (;;) {
                const char *c = strchr(s, ',');
                char *item = trimdup(s, c ? (size_t)(c - s) : strlen(s));
                int ok = item && is_ident(item);
                free(item);
                if (!ok) {
                    snprintf(err, errlen, "%s:%d: unique must list column names, separated by commas: \"%s\"",
                             kv->file, kv->line, v);
                    goto fail;
                }
                if (!c)
                    break;
                s = c + 1;
            }
            continue;
        }
        if (strncmp(kv->key, "rule.", 5) == 0 && kv->key[5]) {
            if (!*v) {
                snprintf(err, errlen, "%s:%d: %s is empty: give the SQL condition no row may meet", kv->file,
                         kv->line, kv->key);
                goto fail;
            }
            syncc_vrule *r = add_rule(out, SYNCC_VRULE_PREDICATE, kv);
            if (!r || !(r->predicate = strdup(v)) || !(r->name = strdup(kv->key)))
                goto nomem;
            continue;
        }
        snprintf(err, errlen, "%s:%d: unknown option '%s' in [verify %s]; valid options: orphans, orphans_policy, "
                 "rule.NAME, side, unique", kv->file, kv->line, kv->key, sec->name);
        goto fail;
    }
    return 0;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    syncc_vrules_free(out);
    return -1;
}

int syncc_verify_rules_resolve(syncc_conf *conf, char *err, size_t errlen)
{
    for (size_t i = 0; i < conf->n_sections; i++) {
        syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "verify") != 0)
            continue;
        const char *dot = strchr(sec->name, '.');
        syncc_job *job = NULL;
        syncc_stream *st = NULL;
        if (dot) {
            char *jobname = strndup(sec->name, (size_t)(dot - sec->name));
            job = jobname ? syncc_conf_job(conf, jobname) : NULL;
            free(jobname);
        }
        for (size_t s = 0; job && s < job->n_streams; s++)
            if (strcmp(job->streams[s].name, dot + 1) == 0)
                st = &job->streams[s];
        if (!st) {
            snprintf(err, errlen, "%s:%d: [verify %s]: there is no [stream %s] section", sec->file, sec->line,
                     sec->name, sec->name);
            return -1;
        }
        syncc_vrules rules;
        if (syncc_vrules_parse(sec, &rules, err, errlen) < 0)
            return -1;
        syncc_vrules_free(&rules);
        for (size_t k = 0; k < sec->n_kv; k++)
            sec->kv[k].used = 1;
        st->verify = sec;
    }
    return 0;
}

/* FROM table AS c WHERE <violation> */
static void violation_from(vbuf *b, const syncc_vrule *r, const char *table)
{
    vb_puts(b, " FROM ");
    vb_table(b, table);
    vb_puts(b, " AS c WHERE ");
    if (r->kind == SYNCC_VRULE_ORPHANS) {
        vb_puts(b, "c.");
        vb_ident(b, r->column, strlen(r->column));
        vb_puts(b, " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ");
        vb_table(b, r->parent);
        vb_puts(b, " AS p WHERE p.");
        vb_ident(b, r->parent_column, strlen(r->parent_column));
        vb_puts(b, " = c.");
        vb_ident(b, r->column, strlen(r->column));
        vb_puts(b, ")");
    } else {
        vb_puts(b, "(");
        vb_puts(b, r->predicate);
        vb_puts(b, ")");
    }
}

/* The unique rule's columns, quoted, with prefix before each ("c." or ""). */
static void unique_cols(vbuf *b, const syncc_vrule *r, const char *prefix, const char *sep)
{
    const char *s = r->columns;
    for (int first = 1;; first = 0) {
        const char *c = strchr(s, ',');
        char *item = trimdup(s, c ? (size_t)(c - s) : strlen(s));
        if (!item) {
            b->oom = 1;
            return;
        }
        if (!first)
            vb_puts(b, sep);
        vb_puts(b, prefix);
        vb_ident(b, item, strlen(item));
        free(item);
        if (!c)
            return;
        s = c + 1;
    }
}

char *syncc_vrule_sql(const syncc_vrule *r, const char *table, const char *key, int limit)
{
    vbuf b = {0};
    char lim[32];
    snprintf(lim, sizeof(lim), " LIMIT %d", limit);
    if (r->kind == SYNCC_VRULE_UNIQUE) {
        /* the duplicated values, with how many rows carry each */
        vb_puts(&b, "SELECT ");
        unique_cols(&b, r, "", " || ', ' || ");
        vb_puts(&b, ", count(*) FROM ");
        vb_table(&b, table);
        vb_puts(&b, " WHERE ");
        unique_cols(&b, r, "", " IS NOT NULL AND ");
        vb_puts(&b, " IS NOT NULL GROUP BY ");
        unique_cols(&b, r, "", ", ");
        vb_puts(&b, " HAVING count(*) > 1 ORDER BY 1");
        vb_puts(&b, lim);
        return vb_take(&b);
    }
    vb_puts(&b, "SELECT c.");
    vb_ident(&b, key, strlen(key));
    if (r->kind == SYNCC_VRULE_ORPHANS) {
        vb_puts(&b, ", c.");
        vb_ident(&b, r->column, strlen(r->column));
    } else {
        vb_puts(&b, ", NULL");
    }
    violation_from(&b, r, table);
    vb_puts(&b, " ORDER BY 1");
    vb_puts(&b, lim);
    return vb_take(&b);
}

char *syncc_vrule_count_sql(const syncc_vrule *r, const char *table, const char *key)
{
    (void)key;
    vbuf b = {0};
    if (r->kind == SYNCC_VRULE_UNIQUE) {
        vb_puts(&b, "SELECT count(*) FROM (SELECT 1 FROM ");
        vb_table(&b, table);
        vb_puts(&b, " WHERE ");
        unique_cols(&b, r, "", " IS NOT NULL AND ");
        vb_puts(&b, " IS NOT NULL GROUP BY ");
        unique_cols(&b, r, "", ", ");
        vb_puts(&b, " HAVING count(*) > 1) AS d");
        return vb_take(&b);
    }
    vb_puts(&b, "SELECT count(*)");
    violation_from(&b, r, table);
    return vb_take(&b);
}
