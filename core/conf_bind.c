/*
 * core/conf_bind.c - validating the plugins' keys once the plugins are known.
 *
 * Loading cannot check [source]/[sink] keys, nor the source.* and sink.* keys
 * of jobs and streams: only the plugin's option tables say what they mean.
 * Binding looks each instance's plugin up, checks that it plays the role the
 * section asks for, and builds the sync_config handles plugins read: the
 * instance's own options, each stream's source.* options (the source plugin's
 * stream_options), each stream's sink.* options merged with the job's (the
 * sink plugin's target_options, the stream's value winning), and the job's
 * sink.* options alone for the run-level callbacks.  Values of SECRET options
 * are collected into conf->secrets so that the logger can redact them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf_priv.h"

static void clear_binding(syncc_conf *conf)
{
    for (size_t i = 0; i < conf->n_instances; i++) {
        syncc_config_free(conf->instances[i].config);
        conf->instances[i].config = NULL;
        conf->instances[i].plugin = NULL;
    }
    for (size_t j = 0; j < conf->n_jobs; j++) {
        syncc_job *job = &conf->jobs[j];
        syncc_config_free(job->sink_options);
        job->sink_options = NULL;
        for (size_t s = 0; s < job->n_streams; s++) {
            syncc_config_free(job->streams[s].source_options);
            syncc_config_free(job->streams[s].sink_options);
            job->streams[s].source_options = NULL;
            job->streams[s].sink_options = NULL;
        }
    }
    for (size_t i = 0; i < conf->n_secrets; i++)
        free(conf->secrets[i]);
    free(conf->secrets);
    conf->secrets = NULL;
    conf->n_secrets = 0;
}

static int check_table(const syncc_instance *in, const syncc_kv *plugin_kv, const sync_option *table,
                       const char *which, char *err, size_t errlen)
{
    char detail[512];

    if (syncc_options_check(table, detail, sizeof(detail)) == 0)
        return 0;
    syncc_conf_errf(err, errlen, "%s:%d: plugin '%s' has a malformed %s table: %s", plugin_kv->file,
                    plugin_kv->line, in->plugin_name, which, detail);
    return -1;
}

static int bind_instance(syncc_conf *conf, syncc_instance *in, syncc_plugin_lookup_fn lookup, void *payload,
                         char *err, size_t errlen)
{
    const syncc_section *sec = in->section;
    const syncc_kv *plugin_kv = NULL;
    char desc[300], where[300];

    for (size_t k = 0; k < sec->n_kv; k++)
        if (strcmp(sec->kv[k].key, "plugin") == 0)
            plugin_kv = &sec->kv[k];
    syncc_conf_section_desc(sec, desc, sizeof(desc));

    const sync_plugin *p = lookup ? lookup(in->plugin_name, payload) : NULL;
    if (!p) {
        syncc_conf_errf(err, errlen, "%s:%d: plugin '%s' not found (used by %s)", plugin_kv->file, plugin_kv->line,
                        in->plugin_name, desc);
        return -1;
    }
    uint32_t role = in->is_source ? SYNC_PROVIDES_SOURCE : SYNC_PROVIDES_SINK;
    if (!(p->provides & role)) {
        syncc_conf_errf(err, errlen, "%s:%d: plugin '%s' does not provide a %s (used by %s)", plugin_kv->file,
                        plugin_kv->line, in->plugin_name, in->is_source ? "source" : "sink", desc);
        return -1;
    }
    if (check_table(in, plugin_kv, p->options, "options", err, errlen) < 0 ||
        check_table(in, plugin_kv, p->stream_options, "stream_options", err, errlen) < 0 ||
        check_table(in, plugin_kv, p->target_options, "target_options", err, errlen) < 0)
        return -1;
    in->plugin = p;

    syncc_kv **keys = calloc(sec->n_kv + 1, sizeof(*keys));
    size_t n = 0;
    if (!keys) {
        syncc_conf_errf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t k = 0; k < sec->n_kv; k++)
        if (&sec->kv[k] != plugin_kv)
            keys[n++] = &sec->kv[k];
    snprintf(where, sizeof(where), "%s:%d", sec->file, sec->line);
    syncc_build_opts o;
    memset(&o, 0, sizeof(o));
    o.section = desc;
    o.where = where;
    o.prefix = "";
    o.plugin = in->plugin_name;
    o.check_required = 1;
    o.conf = conf;
    in->config = syncc_config_build(p->options, keys, n, &o, err, errlen);
    free(keys);
    return in->config ? 0 : -1;
}

static int bind_job(syncc_conf *conf, syncc_job *job, char *err, size_t errlen)
{
    const sync_plugin *src = job->source->plugin;
    const sync_plugin *snk = job->sink->plugin;
    char desc[300], where[300], hint[300];
    syncc_build_opts o;

    syncc_conf_section_desc(job->section, desc, sizeof(desc));
    snprintf(where, sizeof(where), "%s:%d", job->section->file, job->section->line);
    memset(&o, 0, sizeof(o));
    o.section = desc;
    o.where = where;
    o.prefix = "sink.";
    o.plugin = job->sink->plugin_name;
    o.check_required = 0; /* a stream may supply what the job leaves out */
    o.conf = conf;
    job->sink_options = syncc_config_build(snk->target_options, job->sink_kv, job->n_sink_kv, &o, err, errlen);
    if (!job->sink_options)
        return -1;

    for (size_t s = 0; s < job->n_streams; s++) {
        syncc_stream *st = &job->streams[s];
        syncc_conf_section_desc(st->section, desc, sizeof(desc));
        snprintf(where, sizeof(where), "%s:%d", st->section->file, st->section->line);
        memset(&o, 0, sizeof(o));
        o.section = desc;
        o.where = where;
        o.prefix = "source.";
        o.plugin = job->source->plugin_name;
        o.check_required = 1;
        o.conf = conf;
        st->source_options = syncc_config_build(src->stream_options, st->source_kv, st->n_source_kv, &o, err,
                                                errlen);
        if (!st->source_options)
            return -1;
        snprintf(hint, sizeof(hint), " (set it there or in [job %s])", job->name);
        o.prefix = "sink.";
        o.plugin = job->sink->plugin_name;
        o.required_hint = hint;
        o.inherited = job->sink_kv;
        o.n_inherited = job->n_sink_kv;
        st->sink_options = syncc_config_build(snk->target_options, st->sink_kv, st->n_sink_kv, &o, err, errlen);
        if (!st->sink_options)
            return -1;
    }
    return 0;
}

/* Adds one message to err: the first as it is, the next ones on lines of their own. */
static void append_error(char *err, size_t errlen, const char *one)
{
    if (!err || errlen == 0)
        return;
    size_t n = strlen(err);
    if (n == 0)
        snprintf(err, errlen, "%s", one);
    else if (n + 1 < errlen)
        snprintf(err + n, errlen - n, "\nsyncengine: %s", one);
}

int syncc_conf_bind(syncc_conf *conf, syncc_plugin_lookup_fn lookup, void *payload, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (!conf) {
        syncc_conf_errf(err, errlen, "no configuration");
        return -1;
    }
    clear_binding(conf);
    /* every section is bound, so that one `check` lists the mistakes of all of them (one line
     * each, the later ones prefixed like the first is by the command); a job is bound only when
     * its source and sink bound, since its options depend on theirs */
    unsigned char *ok = calloc(conf->n_instances ? conf->n_instances : 1, 1);
    if (!ok) {
        syncc_conf_errf(err, errlen, "out of memory");
        return -1;
    }
    int failed = 0;
    char one[4096];
    for (size_t i = 0; i < conf->n_instances; i++) {
        one[0] = '\0';
        if (bind_instance(conf, &conf->instances[i], lookup, payload, one, sizeof(one)) < 0) {
            append_error(err, errlen, one);
            failed = 1;
        } else {
            ok[i] = 1;
        }
    }
    for (size_t j = 0; j < conf->n_jobs; j++) {
        syncc_job *job = &conf->jobs[j];
        if (!ok[job->source - conf->instances] || !ok[job->sink - conf->instances])
            continue;
        one[0] = '\0';
        if (bind_job(conf, job, one, sizeof(one)) < 0) {
            append_error(err, errlen, one);
            failed = 1;
        }
    }
    free(ok);
    return failed ? -1 : 0;
}
