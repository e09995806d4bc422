/*
 * core/check.c - judging a configuration beyond its syntax (see check.h).
 *
 * The core judges what is its own (the file as a whole, UTF-8, schedules);
 * everything that depends on what an option means to a connector is asked of
 * the plugin, through sync_check, with the file:line of the section at hand.
 * Problems are collected, never returned early, so one `check` lists them all.
 */
#include "check.h"
#include "twoway_map.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostapi.h"
#include "status.h"
#include "timeutil.h"

void syncc_problems_add(syncc_problems *p, const char *where, const char *message)
{
    /* a job-level option inherited by every stream is reported once */
    size_t wlen = where ? strlen(where) : 0;
    for (size_t i = 0; i < p->n; i++) {
        const char *l = p->lines[i];
        if (wlen && strncmp(l, where, wlen) == 0 && strncmp(l + wlen, ": ", 2) == 0 && strcmp(l + wlen + 2, message) == 0)
            return;
        if (!wlen && strcmp(l, message) == 0)
            return;
    }
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        char **n = realloc(p->lines, cap * sizeof(*n));
        if (n == NULL)
            return;
        p->lines = n;
        p->cap = cap;
    }
    char *line = NULL;
    if (where != NULL && *where && asprintf(&line, "%s: %s", where, message) < 0)
        line = NULL;
    else if (where == NULL || !*where)
        line = strdup(message);
    if (line != NULL)
        p->lines[p->n++] = line;
}

void syncc_problems_join(const syncc_problems *p, const char *prefix, char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < p->n && n + 1 < size; i++) {
        int w = snprintf(buf + n, size - n, "%s%s%s", i ? "\n" : "", i ? prefix : "", p->lines[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

void syncc_problems_free(syncc_problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->lines[i]);
    free(p->lines);
    memset(p, 0, sizeof(*p));
}

/* Offset of the first byte that breaks UTF-8 (overlong forms, surrogates, beyond U+10FFFF), or -1. */
static long utf8_invalid_at(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; p[i];) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, c &= 0x07;
        } else {
            return (long)i;
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return (long)i;
            c = (c << 6) | (p[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return (long)i;
        i += n + 1;
    }
    return -1;
}

typedef struct check_payload {
    syncc_problems *out;
    size_t added;
    const syncc_conf *conf;  /* offline: problems about values deferred to a tenant's row are left to it */
    size_t deferred;         /* problems left to the tenants */
} check_payload;

/* Non-zero when where ("file:line") is a value that holds ${tenant.X} (judged per tenant, core/tenant.c). */
static int deferred_at(const syncc_conf *conf, const char *where)
{
    if (conf == NULL || where == NULL)
        return 0;
    for (size_t s = 0; s < conf->n_sections; s++) {
        const syncc_section *sec = &conf->sections[s];
        for (size_t k = 0; k < sec->n_kv; k++) {
            const syncc_kv *kv = &sec->kv[k];
            size_t n = strlen(kv->file);
            if (kv->deferred && strncmp(where, kv->file, n) == 0 && where[n] == ':' && atoi(where + n + 1) == kv->line)
                return 1;
        }
    }
    return 0;
}

static void report(const sync_check *chk, const char *where, const char *message)
{
    check_payload *cp = chk->payload;
    if (deferred_at(cp->conf, where)) {
        cp->deferred++;
        return;
    }
    syncc_problems_add(cp->out, where ? where : chk->stream_where, message);
    cp->added++;
}

static void kv_where(const syncc_section *sec, const char *key, char *buf, size_t size)
{
    for (size_t i = 0; i < sec->n_kv; i++) {
        if (strcmp(sec->kv[i].key, key) == 0) {
            snprintf(buf, size, "%s:%d", sec->kv[i].file, sec->kv[i].line);
            return;
        }
    }
    snprintf(buf, size, "%s:%d", sec->file, sec->line);
}

/* The columns a stream's mapping writes, for sync_check and the sink's probe. */
static sync_column *mapped_columns(const syncc_mapping *m, size_t *n)
{
    *n = m ? syncc_mapping_n_columns(m) : 0;
    sync_column *cols = calloc(*n ? *n : 1, sizeof(*cols));
    for (size_t i = 0; cols && i < *n; i++) {
        cols[i].name = syncc_mapping_column(m, i);
        cols[i].type = syncc_mapping_column_type(m, i);
    }
    return cols;
}

static const char **mapped_fields(const syncc_mapping *m, size_t *n)
{
    *n = m ? syncc_mapping_n_fields(m) : 0;
    if (m == NULL)
        return NULL;
    const char **f = calloc(*n + 1, sizeof(*f));
    for (size_t i = 0; f && i < *n; i++)
        f[i] = syncc_mapping_field(m, i);
    return f;
}

/* The text of an expression that is one string literal ('Email', 'it''s'), else NULL. */
static char *literal_text(const char *expr)
{
    while (*expr == ' ' || *expr == '\t' || *expr == '\n')
        expr++;
    if (*expr != '\'')
        return NULL;
    char *out = malloc(strlen(expr)), *o = out;
    const char *p = expr + 1;
    for (; out != NULL && *p; p++) {
        if (*p == '\'' && p[1] == '\'') {
            *o++ = *p++;
        } else if (*p == '\'') {
            break;
        } else {
            *o++ = *p;
        }
    }
    if (out == NULL || *p != '\'')
        goto no;
    for (p++; *p == ' ' || *p == '\t' || *p == '\n'; p++)
        ;
    if (*p != '\0')
        goto no;
    *o = '\0';
    return out;
no:
    free(out);
    return NULL;
}

/*
 * "file:line" of each mapped column, in the mapping's order (one [map] entry
 * per column), a NULL, then each column's literal text (ABI 1.3
 * column_constants) or NULL: 2n + 1 entries.
 */
static const char **column_wheres(const syncc_stream *st, size_t n)
{
    if (st->map == NULL || n == 0 || n > st->n_map)
        return NULL;
    char **w = calloc(2 * n + 1, sizeof(*w));
    for (size_t i = 0; w && i < n; i++) {
        if (asprintf(&w[i], "%s:%d", st->map[i].file, st->map[i].line) < 0)
            w[i] = NULL;
        w[n + 1 + i] = literal_text(st->map[i].expr);
    }
    return (const char **)w;
}

static void free_wheres(const char **w)
{
    size_t n = 0;
    for (; w && w[n]; n++)
        free((char *)w[n]);
    for (size_t i = 0; w && i < n; i++)
        free((char *)w[n + 1 + i]);
    free((void *)w);
}

/* Fills chk for one use of a plugin: the instance, then (job) the job, then (stream) the stream. */
static void fill_check(sync_check *chk, const syncc_instance *in, const syncc_job *job, const syncc_stream_rt *srt,
                       check_payload *cp, char *where, size_t wsize, sync_column **cols, const char ***fields)
{
    memset(chk, 0, sizeof(*chk));
    chk->struct_size = sizeof(*chk);
    chk->is_source = in->is_source;
    chk->instance = in->name;
    chk->config = in->config;
    chk->job = job ? job->name : NULL;
    chk->job_options = job && !in->is_source ? job->sink_options : NULL;
    chk->report = report;
    chk->payload = cp;
    const syncc_section *sec = job ? job->section : in->section;
    *cols = NULL;
    *fields = NULL;
    if (srt != NULL) {
        const syncc_stream *st = srt->conf;
        sec = st->section;
        chk->stream = st->name;
        chk->object = in->is_source ? st->object : st->target;
        chk->stream_options = in->is_source ? st->source_options : st->sink_options;
        if (in->is_source && srt->twoway) {
            /* a two-way stream reads the fields of its arrows (core/twoway_map.h) */
            chk->n_fields = srt->twoway->n_sf_fields;
            *fields = calloc(chk->n_fields + 1, sizeof(**fields));
            for (size_t i = 0; *fields && i < chk->n_fields; i++)
                (*fields)[i] = srt->twoway->sf_fields[i];
            chk->fields = *fields;
        } else if (in->is_source) {
            *fields = mapped_fields(srt->mapping, &chk->n_fields);
            chk->fields = *fields;
        } else {
            *cols = mapped_columns(srt->mapping, &chk->n_columns);
            chk->columns = *cols;
            /* owned through *fields, which a sink does not otherwise use */
            *fields = column_wheres(st, chk->n_columns);
            chk->column_where = *fields;
            chk->column_constants = *fields ? *fields + chk->n_columns + 1 : NULL;
        }
    }
    snprintf(where, wsize, "%s:%d", sec->file, sec->line);
    chk->stream_where = where;
}

static void check_plugin(const syncc_plugin *p, const syncc_instance *in, const syncc_job *job,
                         const syncc_stream_rt *srt, check_payload *cp)
{
    if (p == NULL || p->def.check == NULL)
        return;
    /* a two-way stream's table is checked by the run itself (core/twoway.c): it is no sink target */
    if (srt != NULL && srt->twoway != NULL && !in->is_source)
        return;
    sync_check chk;
    char where[300];
    sync_column *cols;
    const char **fields;
    fill_check(&chk, in, job, srt, cp, where, sizeof(where), &cols, &fields);
    size_t before = cp->added, before_deferred = cp->deferred;
    int rc = p->def.check(&chk);
    if (rc != SYNC_OK && cp->added == before && cp->deferred == before_deferred) {
        char msg[400];
        snprintf(msg, sizeof(msg), "plugin '%s' refused %s '%s'%s%s (%s)", p->def.name,
                 in->is_source ? "source" : "sink", in->name, srt ? ", stream " : "",
                 srt ? srt->conf->name : "", syncc_strerror(rc));
        syncc_problems_add(cp->out, where, msg);
        cp->added++;
    }
    if (cols != NULL)
        free_wheres(fields);
    else
        free(fields);
    free(cols);
}

size_t syncc_check_offline(syncc_engine *e, syncc_problems *out)
{
    check_payload cp = {.out = out, .conf = e->conf};
    const syncc_conf *conf = e->conf;
    char msg[600], where[300];

    if (conf->n_jobs == 0 && conf->n_instances == 0) {
        snprintf(msg, sizeof(msg), "the configuration defines no source, sink or job (is the file empty?)");
        syncc_problems_add(out, conf->path, msg);
        cp.added++;
    }
    for (size_t s = 0; s < conf->n_sections; s++) {
        const syncc_section *sec = &conf->sections[s];
        for (size_t k = 0; k < sec->n_kv; k++) {
            long at = utf8_invalid_at(sec->kv[k].value);
            if (at < 0)
                continue;
            snprintf(where, sizeof(where), "%s:%d", sec->kv[k].file, sec->kv[k].line);
            snprintf(msg, sizeof(msg), "[%s%s%s] '%s': the value is not valid UTF-8 (byte 0x%02x at offset %ld)",
                     sec->kind, sec->name ? " " : "", sec->name ? sec->name : "", sec->kv[k].key,
                     (unsigned char)sec->kv[k].value[at], at);
            syncc_problems_add(out, where, msg);
            cp.added++;
        }
    }
    int64_t now = syncc_time_now();
    for (size_t j = 0; j < e->n_jobs; j++) {
        const syncc_job_rt *rt = &e->jobs[j];
        if (syncc_cron_next(&rt->cron, now) < 0) {
            kv_where(rt->conf->section, "schedule", where, sizeof(where));
            snprintf(msg, sizeof(msg), "job '%s': option 'schedule': '%s' never fires (no such date in the "
                     "next five years)", rt->conf->name, rt->conf->schedule ? rt->conf->schedule : "");
            syncc_problems_add(out, where, msg);
            cp.added++;
        }
    }
    /* ${tenant.X} only means something in a template job (tenants = ...) and what it uses */
    for (size_t j = 0; j < e->n_jobs; j++) {
        const syncc_job *job = e->jobs[j].conf;
        if (job->tenants != NULL)
            continue;
        const syncc_section *secs[2 + 64];
        size_t n = 0;
        secs[n++] = job->section;
        size_t jl = strlen(job->name);
        for (size_t s = 0; s < job->n_streams && n < 64; s++) {
            const syncc_section *ss = job->streams[s].section; /* its own, not one copied with like */
            if (ss && ss->name && strncmp(ss->name, job->name, jl) == 0 && ss->name[jl] == '.')
                secs[n++] = ss;
        }
        const syncc_instance *ins[2] = {job->source, job->sink};
        for (int r = 0; r < 2; r++) {
            int templated = 0;
            for (size_t k = 0; k < e->n_jobs; k++)
                templated |= e->jobs[k].conf->tenants != NULL &&
                             (e->jobs[k].conf->source == ins[r] || e->jobs[k].conf->sink == ins[r]);
            if (!templated)
                secs[n++] = ins[r]->section;
        }
        const syncc_kv *first = NULL;
        size_t more = 0;
        for (size_t s = 0; s < n; s++) {
            for (size_t k = 0; secs[s] && k < secs[s]->n_kv; k++) {
                if (!secs[s]->kv[k].deferred)
                    continue;
                if (first == NULL)
                    first = &secs[s]->kv[k];
                else
                    more++;
            }
        }
        if (first != NULL) {
            /* one problem per job: the first such option names the place */
            snprintf(where, sizeof(where), "%s:%d", first->file, first->line);
            snprintf(msg, sizeof(msg), "job '%s': option '%s'%s refers to ${tenant...}, but the job is not a "
                     "template of a tenant set (tenants = NAME in [job %s])", job->name, first->key,
                     more ? " (and others it uses)" : "", job->name);
            syncc_problems_add(out, where, msg);
            cp.added++;
        }
    }
    /* the plugins: each instance, each job, each stream */
    for (size_t i = 0; i < conf->n_instances; i++) {
        const syncc_instance *in = &conf->instances[i];
        check_plugin(syncc_registry_find(&e->registry, in->plugin_name), in, NULL, NULL, &cp);
    }
    for (size_t j = 0; j < e->n_jobs; j++) {
        const syncc_job_rt *rt = &e->jobs[j];
        const syncc_instance *roles[2] = {rt->conf->source, rt->conf->sink};
        const syncc_plugin *plugins[2] = {rt->source, rt->sink};
        for (int r = 0; r < 2; r++) {
            check_plugin(plugins[r], roles[r], rt->conf, NULL, &cp);
            for (size_t s = 0; s < rt->n_streams; s++)
                check_plugin(plugins[r], roles[r], rt->conf, &rt->streams[s], &cp);
        }
    }
    return cp.added;
}

/* Whether a probe's status is a finding about the configuration (a problem to report), not a failure to check. */
static int is_finding(int prc)
{
    return prc == SYNC_E_CONFIG || prc == SYNC_E_SCHEMA || prc == SYNC_E_INVALID || prc == SYNC_E_NOTFOUND;
}

/*
 * Reports finding prc of a probe about what ("sink 'pg', stream leads") at
 * where.  The probe's own reports came through chk->report (cp->added moved
 * past before); a set_error message is one more (or the only one).
 */
static void add_finding(check_payload *cp, const char *where, size_t before, const sync_ctx *ctx, const char *what,
                        int prc)
{
    if (cp->added == before || ctx->errbuf[0]) {
        char msg[1400];
        snprintf(msg, sizeof(msg), "%s: %s%s%s", what, syncc_strerror(prc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        syncc_problems_add(cp->out, where, msg);
        cp->added++;
    }
}

/*
 * A two-way stream pushes its fields through the Salesforce plugin's sink: the
 * plugin's probe judges them as a sink's columns (createable, updateable, the
 * external id), each named by the file:line of its arrow.  inst is the source
 * instance, open: the same plugin, the same session.
 */
static int probe_twoway_push(const syncc_plugin *p, const syncc_job *job, const syncc_stream_rt *srt, void *inst,
                             sync_ctx *ctx, check_payload *cp, char *err, size_t errlen)
{
    const syncc_stream *st = srt->conf;
    const syncc_tw_stream *m = srt->twoway;
    size_t n = 0;
    int rc = SYNC_OK;
    char where[300], cerr[512];
    if (job->direction != NULL && strcmp(job->direction, "to_database") == 0)
        return SYNC_OK;
    if (!(p->def.provides & SYNC_PROVIDES_SINK) || p->def.target_options == NULL)
        return SYNC_OK; /* a run says it cannot write */
    sync_column *cols = calloc(m->n_cols + 2, sizeof(*cols));
    char **wheres = calloc(m->n_cols + 2, sizeof(*wheres));
    if (!cols || !wheres) {
        free(cols);
        free(wheres);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < m->n_cols; i++) {
        int dup = 0;
        if (m->cols[i].dir == SYNCC_TW_PULL)
            continue;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(cols[k].name, m->cols[i].sf_field) == 0;
        if (dup)
            continue;
        cols[n].name = m->cols[i].sf_field;
        if (m->n_cols == st->n_map && asprintf(&wheres[n], "%s:%d", st->map[i].file, st->map[i].line) < 0)
            wheres[n] = NULL;
        n++;
    }
    if (st->external_id != NULL) {
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(cols[k].name, st->external_id) == 0;
        if (!dup) {
            kv_where(st->section, "external_id", where, sizeof(where));
            cols[n].name = st->external_id;
            wheres[n++] = strdup(where);
        }
    }
    /* push and append streams (core/twoway_push.c) send their create-only fields on create alone:
     * judged as creates; a two-way stream as upserts (or creates and updates) */
    int creates_only = st->mode != NULL && (strcmp(st->mode, "push") == 0 || strcmp(st->mode, "append") == 0);
    const char *kv[5] = {"operation", creates_only ? "create" : st->external_id ? "upsert" : "auto", NULL, NULL,
                         NULL};
    if (st->external_id) {
        kv[2] = "external_id";
        kv[3] = st->external_id;
    }
    snprintf(where, sizeof(where), "%s:%d", st->section->file, st->section->line);
    sync_config *opts = n > 0 ? syncc_config_from_pairs(p->def.target_options, kv, where, cerr, sizeof(cerr)) : NULL;
    if (n > 0 && opts == NULL) {
        syncc_problems_add(cp->out, where, cerr);
        cp->added++;
    } else if (n > 0) {
        sync_check chk;
        memset(&chk, 0, sizeof(chk));
        chk.struct_size = sizeof(chk);
        chk.is_source = 0;
        chk.instance = job->source->name;
        chk.config = job->source->config;
        chk.job = job->name;
        chk.stream = st->name;
        chk.object = st->object;
        chk.stream_options = opts;
        chk.columns = cols;
        chk.n_columns = n;
        chk.stream_where = where;
        chk.column_where = (const char *const *)wheres;
        chk.report = report;
        chk.payload = cp;
        ctx->errbuf[0] = '\0';
        size_t before = cp->added;
        int prc = p->def.probe(inst, &chk);
        if (is_finding(prc)) {
            char what[1400];
            snprintf(what, sizeof(what), "source '%s', stream %s: the fields it pushes", job->source->name, st->name);
            add_finding(cp, where, before, ctx, what, prc);
        } else if (prc != SYNC_OK) {
            snprintf(err, errlen, "source '%s' (%s) could not be checked for writing: %s%s%s", job->source->name,
                     p->def.name, syncc_strerror(prc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
            rc = prc;
        }
    }
    syncc_config_free(opts);
    for (size_t i = 0; i < n; i++)
        free(wheres[i]);
    free(wheres);
    free(cols);
    return rc;
}

/* Runs the plugin's probe on an open instance: the job, then each stream. */
static int probe_with(syncc_engine *e, syncc_job_rt *rt, int source, void *inst, sync_ctx *ctx, check_payload *cp,
                      char *err, size_t errlen)
{
    (void)e;
    const syncc_plugin *p = source ? rt->source : rt->sink;
    const syncc_instance *in = source ? rt->conf->source : rt->conf->sink;
    int rc = SYNC_OK;
    if (p == NULL || p->def.probe == NULL || inst == NULL)
        return SYNC_OK;
    for (size_t s = 0; s <= rt->n_streams && rc == SYNC_OK; s++) {
        const syncc_stream_rt *srt = s == 0 ? NULL : &rt->streams[s - 1];
        if (srt != NULL && srt->twoway != NULL && !source)
            continue;
        sync_check chk;
        char where[300];
        sync_column *cols;
        const char **fields;
        fill_check(&chk, in, rt->conf, srt, cp, where, sizeof(where), &cols, &fields);
        syncc_ctx_set_stream(ctx, srt ? srt->conf->name : NULL);
        ctx->errbuf[0] = '\0';
        size_t before = cp->added;
        int prc = p->def.probe(inst, &chk);
        if (is_finding(prc)) {
            char what[1400];
            snprintf(what, sizeof(what), "%s '%s'%s%s", source ? "source" : "sink", in->name,
                     srt ? ", stream " : "", srt ? srt->conf->name : "");
            add_finding(cp, where, before, ctx, what, prc);
        } else if (prc != SYNC_OK) {
            snprintf(err, errlen, "%s '%s' (%s) could not be checked: %s%s%s", source ? "source" : "sink",
                     in->name, p->def.name, syncc_strerror(prc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
            rc = prc;
        }
        if (rc == SYNC_OK && source && srt != NULL && srt->twoway != NULL)
            rc = probe_twoway_push(p, rt->conf, srt, inst, ctx, cp, err, errlen);
        if (cols != NULL)
            free_wheres(fields);
        else
            free(fields);
        free(cols);
    }
    syncc_ctx_set_stream(ctx, NULL);
    ctx->errbuf[0] = '\0';
    return rc;
}

/* Opens an instance of one role for probing, probes, closes it. */
static int probe_role(syncc_engine *e, syncc_job_rt *rt, int source, check_payload *cp, char *err, size_t errlen)
{
    const syncc_plugin *p = source ? rt->source : rt->sink;
    const syncc_instance *in = source ? rt->conf->source : rt->conf->sink;
    if (p == NULL || p->def.probe == NULL)
        return SYNC_OK;
    sync_ctx *ctx = syncc_ctx_new(rt->conf->name, in->name, in->plugin_name);
    if (ctx == NULL)
        return SYNC_E_NOMEM;
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    void *inst = NULL;
    int rc = source ? p->source.open(ctx, in->config, &inst) : p->sink.open(ctx, in->config, &inst);
    if (rc != SYNC_OK) {
        snprintf(err, errlen, "%s '%s' (%s) failed to open: %s%s%s", source ? "source" : "sink", in->name,
                 p->def.name, syncc_strerror(rc), ctx->errbuf[0] ? ": " : "", ctx->errbuf);
        syncc_ctx_free(ctx);
        return rc;
    }
    rc = probe_with(e, rt, source, inst, ctx, cp, err, errlen);
    if (source)
        p->source.close(inst);
    else
        p->sink.close(inst);
    syncc_ctx_free(ctx);
    return rc;
}

int syncc_check_connect(syncc_engine *e, syncc_job_rt *job, syncc_problems *out, char *err, size_t errlen)
{
    check_payload cp = {.out = out};
    err[0] = '\0';
    int rc = probe_role(e, job, 0, &cp, err, errlen);
    if (rc == SYNC_OK)
        rc = probe_role(e, job, 1, &cp, err, errlen);
    return rc;
}

int syncc_check_connect_with(syncc_engine *e, syncc_job_rt *job, void *src_inst, sync_ctx *src_ctx, void *snk_inst,
                             sync_ctx *snk_ctx, syncc_problems *out, char *err, size_t errlen)
{
    check_payload cp = {.out = out};
    err[0] = '\0';
    int rc = probe_with(e, job, 0, snk_inst, snk_ctx, &cp, err, errlen);
    if (rc == SYNC_OK)
        rc = probe_with(e, job, 1, src_inst, src_ctx, &cp, err, errlen);
    return rc;
}
