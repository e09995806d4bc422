/*
 * core/conflicts_cmd.c - `syncengine conflicts [resolve]`, through the query
 * operation of each two-way job's sink (the PostgreSQL sink).
 */
#include "conflicts_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "hostapi.h"
#include "sink_query.h"
#include "status.h"

/* Runs one statement on a fresh instance of job's sink; *rows gets the answer. */
static int job_query(syncc_engine *e, syncc_job_rt *rt, const char *sql, const char *const *params, size_t n,
                     json_t **rows, char *err, size_t errlen)
{
    const syncc_instance *in = rt->conf->sink;
    sync_ctx *ctx;
    void *inst = NULL;
    int rc;

    *rows = NULL;
    if (rt->sink == NULL || rt->sink->sink.query == NULL) {
        snprintf(err, errlen, "the plugin '%s' of [sink %s] cannot run statements", in->plugin_name, in->name);
        return SYNC_E_UNSUPPORTED;
    }
    ctx = syncc_ctx_new(rt->conf->name, in->name, in->plugin_name);
    if (ctx == NULL) {
        snprintf(err, errlen, "out of memory");
        return SYNC_E_NOMEM;
    }
    ctx->cancel = &e->stop;
    ctx->state = e->state;
    rc = rt->sink->sink.open(ctx, in->config, &inst);
    if (rc == SYNC_OK) {
        rc = syncc_sink_query(rt->sink, inst, ctx, sql, params, n, rows, err, errlen);
        rt->sink->sink.close(inst);
    } else {
        snprintf(err, errlen, "sink '%s' failed to open: %s%s%s", in->name, syncc_strerror(rc),
                 ctx->errbuf[0] ? ": " : "", ctx->errbuf);
    }
    syncc_ctx_free(ctx);
    return rc;
}

static const char *str(const json_t *row, const char *k)
{
    const char *s = json_string_value(json_object_get(row, k));
    return s ? s : "";
}

/* A jsonb column as compact text ("" for null). */
static char *text_of(const json_t *row, const char *k)
{
    const json_t *v = json_object_get(row, k);
    if (v == NULL || json_is_null(v))
        return strdup("");
    if (json_is_string(v))
        return strdup(json_string_value(v));
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

#define LIST_SQL                                                                                                \
    "SELECT id, job, stream, db_key, sf_id, fields, base, db_version, sf_version, "                             \
    "to_char(db_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS db_modified, "             \
    "to_char(sf_modified AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') AS sf_modified, policy, "     \
    "outcome, keep, to_char(opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS opened_at, "     \
    "to_char(resolved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS resolved_at "                 \
    "FROM syncengine.sync_conflicts WHERE job = $1 ORDER BY id"

int syncc_conflicts_command(syncc_engine *e, int json)
{
    json_t *all = json_array();
    int any = 0, code = SYNCC_EXIT_OK;
    size_t n_open = 0;
    char err[1024];

    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *rt = &e->jobs[j];
        const char *params[1] = {rt->conf->name};
        json_t *rows = NULL, *r;
        size_t i;
        if (rt->conf->direction == NULL)
            continue;
        any = 1;
        if (job_query(e, rt, LIST_SQL, params, 1, &rows, err, sizeof(err)) != SYNC_OK) {
            fprintf(stderr, "syncengine: job '%s': cannot read its conflicts: %s\n", rt->conf->name, err);
            code = SYNCC_EXIT_FAILED;
            continue;
        }
        json_array_foreach(rows, i, r) {
            /* ids as numbers, the versions as JSON */
            const char *id = str(r, "id");
            json_object_set_new(r, "id", json_integer(strtoll(id, NULL, 10)));
            if (r && strcmp(str(r, "outcome"), "open") == 0 && json_is_null(json_object_get(r, "resolved_at")))
                n_open++;
            json_array_append(all, r);
        }
        json_decref(rows);
    }
    if (!any) {
        fprintf(stderr, "syncengine: %s has no two-way job (direction = ...)\n", e->conf->path);
        json_decref(all);
        return SYNCC_EXIT_CONFIG;
    }
    if (json) {
        json_t *doc = json_pack("{s:O, s:I, s:I}", "conflicts", all, "open", (json_int_t)n_open, "total",
                                (json_int_t)json_array_size(all));
        char *t = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (t)
            printf("%s\n", t);
        free(t);
        json_decref(doc);
    } else {
        size_t i;
        json_t *r;
        printf("%-6s %-22s %-38s %-18s %-24s %-16s %-8s %s\n", "ID", "STREAM", "ROW", "RECORD", "FIELDS", "OUTCOME",
               "KEEP", "OPENED / RESOLVED");
        json_array_foreach(all, i, r) {
            char stream[256];
            char *fields = text_of(r, "fields");
            snprintf(stream, sizeof(stream), "%s.%s", str(r, "job"), str(r, "stream"));
            printf("%-6lld %-22s %-38s %-18s %-24s %-16s %-8s %s%s%s\n",
                   (long long)json_integer_value(json_object_get(r, "id")), stream, str(r, "db_key")[0] ? str(r, "db_key") : "-",
                   str(r, "sf_id")[0] ? str(r, "sf_id") : "-", fields ? fields : "", str(r, "outcome"),
                   str(r, "keep")[0] ? str(r, "keep") : "-", str(r, "opened_at"),
                   str(r, "resolved_at")[0] ? " / " : "", str(r, "resolved_at"));
            free(fields);
        }
        printf("%zu conflict(s), %zu open\n", json_array_size(all), n_open);
    }
    json_decref(all);
    return code;
}

int syncc_conflicts_resolve(syncc_engine *e, const char *id, const char *keep)
{
    char err[1024];
    char *end = NULL;
    long long n = strtoll(id ? id : "", &end, 10);
    int any = 0;

    if (id == NULL || *id == '\0' || *end != '\0' || n <= 0) {
        fprintf(stderr, "syncengine: conflicts resolve needs a conflict ID (a number, as `conflicts` lists)\n");
        return SYNCC_EXIT_USAGE;
    }
    if (keep == NULL || (strcmp(keep, "salesforce") != 0 && strcmp(keep, "database") != 0)) {
        fprintf(stderr, "syncengine: conflicts resolve needs --keep salesforce or --keep database\n");
        return SYNCC_EXIT_USAGE;
    }
    for (size_t j = 0; j < e->n_jobs; j++) {
        syncc_job_rt *rt = &e->jobs[j];
        const char *params[3] = {rt->conf->name, id, keep};
        json_t *rows = NULL;
        if (rt->conf->direction == NULL)
            continue;
        any = 1;
        if (job_query(e, rt,
                      "UPDATE syncengine.sync_conflicts SET keep = $3, resolved_at = CASE WHEN outcome = "
                      "'ambiguous_match' THEN now() END WHERE job = $1 AND id = $2::bigint AND resolved_at IS NULL "
                      "AND ((outcome = 'open' AND db_key IS NOT NULL) OR outcome = 'ambiguous_match') "
                      "RETURNING id, stream, coalesce(db_key, sf_id) AS db_key, outcome",
                      params, 3, &rows, err, sizeof(err)) != SYNC_OK) {
            fprintf(stderr, "syncengine: job '%s': %s\n", rt->conf->name, err);
            return SYNCC_EXIT_FAILED;
        }
        if (json_array_size(rows) == 1) {
            json_t *r = json_array_get(rows, 0);
            if (strcmp(str(r, "outcome"), "ambiguous_match") == 0)
                printf("conflict %s (%s.%s, %s): closed; the next change of the record is matched or created "
                       "again\n", id, rt->conf->name, str(r, "stream"), str(r, "db_key"));
            else
                printf("conflict %s (%s.%s, row %s): the %s version is kept at the next run\n", id, rt->conf->name,
                       str(r, "stream"), str(r, "db_key"), keep);
            json_decref(rows);
            return SYNCC_EXIT_OK;
        }
        json_decref(rows);
    }
    if (!any) {
        fprintf(stderr, "syncengine: %s has no two-way job (direction = ...)\n", e->conf->path);
        return SYNCC_EXIT_CONFIG;
    }
    fprintf(stderr, "syncengine: there is no open conflict %s (see syncengine conflicts); a conflict settled by "
            "its policy is not resolved again\n", id);
    return SYNCC_EXIT_CONFIG;
}
