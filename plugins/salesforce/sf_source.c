/*
 * sf_source.c - reading one stream (an sObject) and discovering objects.
 *
 * Incremental algorithm
 * ---------------------
 * The cursor is the keyset position (cursor_field, Id) of the last record
 * stored, written "<ISO datetime>|<Id>" (sf_cursor.c).  A run issues ONE query
 *
 *   SELECT <fields> FROM Obj
 *   WHERE (CF > ts OR (CF = ts AND Id > 'id'))      -- strictly after the cursor
 *     AND CF <= upper                                -- a fixed upper bound
 *     [AND (source.where)]
 *   ORDER BY CF ASC, Id ASC
 *
 * through /queryAll when deletes are read (IsDeleted records become deletes),
 * else /query, and follows nextRecordsUrl to the end.  There is no LIMIT and
 * no re-querying per page: the query locator behind nextRecordsUrl is the
 * pager, and the server evaluates the query once, as a snapshot.
 *
 * Why nothing is lost or read twice:
 *  - (CF, Id) is a total order, so the bound "strictly after (ts, id)" starts
 *    exactly behind the last stored record even when thousands of records
 *    share ts and a page (or a run) ended inside that tie.  A bound on CF
 *    alone would either skip the rest of the tie (>) or repeat all of it (>=).
 *  - Each page is emitted with the cursor of its last record; the engine
 *    saves it only once the page is stored, so a failure resumes behind the
 *    last stored page.  A record served with a stamp above upper (changed
 *    after the query started, if the server did not keep a snapshot) is out
 *    of order: it is stored but moves no cursor (sf_page.h, cursor_max).
 *  - upper = server time at the start of the read (the Date header of the
 *    latest answer, else the local clock) minus `lag`.  A record changed
 *    while the run is in progress gets a stamp above upper: this run's
 *    snapshot either has its old version (and the next run reads the new
 *    one) or it is caught by the next run; either way it is not missed.
 *    `lag` covers transactions that commit with a SystemModstamp slightly in
 *    the past of the moment they become visible.
 *  - `lookback` (default 5m) widens this further for late commits: the lower
 *    bound becomes CF >= ts - lookback (no Id tiebreak), re-reading a window
 *    the sink's idempotent upsert absorbs (unchanged rows are not rewritten).
 *    A transaction that commits up to lookback + lag after its stamp is read
 *    by the next run.  Cursors emitted while re-reading that window are not
 *    older than the saved one, so the position never goes back.
 *  - A query locator Salesforce released (INVALID_QUERY_LOCATOR on a
 *    queryMore) does not end the read: the query runs again with the lower
 *    bound strictly after the last record read and the same upper bound, so
 *    the rest comes exactly once more (SF_REQUERY_MAX tries in a row).
 *  - Full refresh, or no saved cursor: no lower bound; the upper bound and
 *    the ordering stay, so the cursor left behind is right for the next run.
 *
 * Records without a cursor value (a nullable custom cursor_field) are read on
 * a full refresh only; the default SystemModstamp is never null.
 */
#include "sf_source.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sf_api.h"
#include "sf_deleted.h"
#include "sf_http.h"
#include "sf_soql.h"

/* ------------------------------------------------------------------ plan */

static int own(sf_plan *p, char *s, const char **out)
{
    if (s == NULL)
        return SYNC_E_NOMEM;
    char **o = realloc(p->owned, (p->n_owned + 1) * sizeof *o);
    if (o == NULL) {
        free(s);
        return SYNC_E_NOMEM;
    }
    p->owned = o;
    p->owned[p->n_owned++] = s;
    *out = s;
    return SYNC_OK;
}

/* Adds record field name (path resolved) and its SELECT entry, each once. */
static int plan_add(sf_instance *inst, const sf_object_desc *d, sf_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_fields; i++)
        if (strcmp(p->fields[i].name, name) == 0)
            return SYNC_OK;
    sf_resolved r;
    int rc = sf_describe_resolve(inst, d, name, &r);
    if (rc != SYNC_OK)
        return rc;
    const char *canon, *nm;
    if ((rc = own(p, r.canon, &canon)) != SYNC_OK || (rc = own(p, strdup(name), &nm)) != SYNC_OK)
        return rc;
    sf_page_field *f = realloc(p->fields, (p->n_fields + 1) * sizeof *f);
    if (f == NULL)
        return SYNC_E_NOMEM;
    p->fields = f;
    p->fields[p->n_fields++] = (sf_page_field){nm, canon, r.type};
    for (size_t i = 0; i < p->n_select; i++)
        if (strcasecmp(p->select[i], canon) == 0)
            return SYNC_OK;
    char **s = realloc(p->select, (p->n_select + 1) * sizeof *s);
    if (s == NULL)
        return SYNC_E_NOMEM;
    p->select = s;
    p->select[p->n_select++] = (char *)canon;
    return SYNC_OK;
}

void sf_plan_free(sf_plan *p)
{
    for (size_t i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->owned);
    free(p->select);
    free(p->fields);
    memset(p, 0, sizeof *p);
}

int sf_plan_build(sf_instance *inst, const sf_object_desc *d, const sync_stream_request *req,
                  sf_plan *p)
{
    const sync_config *opt = req->options;
    const char *cf = opt ? sf_host->config_get_string(opt, "cursor_field") : NULL;
    int deletes = 1;
    int rc;

    memset(p, 0, sizeof *p);
    p->object = d->name;
    if (opt != NULL && sf_host->config_get_bool(opt, "include_deleted", &deletes) != SYNC_OK)
        deletes = 1;
    p->where = opt ? sf_host->config_get_string(opt, "where") : NULL;
    if (p->where != NULL && p->where[0] != '\0' && sf_soql_check_condition(p->where) != SYNC_OK) {
        sf_host->set_error(inst->ctx, "%s: source.where has unbalanced parentheses or quotes",
                           sf_host->config_where(opt, "where"));
        return SYNC_E_CONFIG;
    }
    if (cf == NULL || cf[0] == '\0')
        cf = SF_DEFAULT_CURSOR_FIELD;

    const sf_field_desc *cfd = strchr(cf, '.') ? NULL : sf_describe_field(d, cf);
    if (cfd == NULL) {
        sf_host->set_error(inst->ctx, "cursor_field \"%s\" does not exist on salesforce object %s",
                           cf, d->name);
        return SYNC_E_NOTFOUND;
    }
    if (cfd->type != SF_FT_DATETIME) {
        sf_host->set_error(inst->ctx, "cursor_field \"%s\" of salesforce object %s is a %s field; "
                           "it must be a datetime such as SystemModstamp", cfd->name, d->name,
                           cfd->sf_type);
        return SYNC_E_CONFIG;
    }
    if (cfd->nillable)
        sf_host->log(inst->ctx, SYNC_LOG_WARN, "cursor_field %s of %s may be null; such records "
                     "are only read by a full refresh", cfd->name, d->name);
    if ((rc = own(p, strdup(cfd->name), &p->cursor_field)) != SYNC_OK)
        goto fail;
    p->deletes = deletes && sf_describe_field(d, "IsDeleted") != NULL;

    if ((rc = plan_add(inst, d, p, "Id")) != SYNC_OK ||
        (rc = plan_add(inst, d, p, p->cursor_field)) != SYNC_OK ||
        (p->deletes && (rc = plan_add(inst, d, p, "IsDeleted")) != SYNC_OK))
        goto fail;
    if (req->fields != NULL) {
        for (size_t i = 0; i < req->n_fields; i++)
            if ((rc = plan_add(inst, d, p, req->fields[i])) != SYNC_OK)
                goto fail;
    } else {
        for (size_t i = 0; i < d->n_fields; i++) {
            /* base64 bodies cannot be read by a multi-record query */
            if (strcmp(d->fields[i].sf_type, "base64") == 0)
                continue;
            if ((rc = plan_add(inst, d, p, d->fields[i].name)) != SYNC_OK)
                goto fail;
        }
    }
    size_t n = opt ? sf_host->config_list_count(opt, "fields") : 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = sf_host->config_list_item(opt, "fields", i);
        if (f != NULL && f[0] != '\0' && (rc = plan_add(inst, d, p, f)) != SYNC_OK)
            goto fail;
    }
    return SYNC_OK;
fail:
    sf_plan_free(p);
    return rc;
}

static int plan_soql(const sf_plan *p, const sf_cursor *start, int64_t lookback_us, int64_t upper_ts,
                     sf_buf *out)
{
    sf_query q;
    memset(&q, 0, sizeof q);
    q.object = p->object;
    q.fields = (const char *const *)p->select;
    q.n_fields = p->n_select;
    q.cursor_field = p->cursor_field;
    if (start != NULL) {
        q.has_lower = 1;
        q.lower_ts = start->ts;
        q.lower_id = start->id;
        q.lookback_us = lookback_us;
    }
    q.has_upper = 1;
    q.upper_ts = upper_ts;
    q.where = p->where;
    return sf_soql_build(&q, out);
}

int sf_plan_soql(const sf_instance *inst, const sf_plan *p, const sf_cursor *start,
                 int64_t upper_ts, sf_buf *out)
{
    return plan_soql(p, start, inst->set.lookback_ms * 1000, upper_ts, out);
}

/* The REST path that runs soql through /query or /queryAll. */
static int query_path(const sf_instance *inst, const sf_plan *p, const sf_buf *soql, sf_buf *path)
{
    char *q = curl_easy_escape(NULL, soql->ptr, (int)soql->len);
    if (q == NULL)
        return SYNC_E_NOMEM;
    sf_buf_reset(path);
    sf_buf_printf(path, "/services/data/v%s/%s?q=%s", inst->set.api_version,
                  p->deletes ? "queryAll" : "query", q);
    curl_free(q);
    return sf_buf_ok(path);
}

/* ------------------------------------------------------------------ read */

static int bad_cursor(sf_instance *inst, const sync_stream_request *req)
{
    sf_host->set_error(inst->ctx, "saved cursor \"%s\" of stream %s is not \"<datetime>|<Id>\"; "
                       "run a full refresh of the stream to start over", req->cursor, req->stream);
    return SYNC_E_INVALID;
}

int sf_source_read(sf_instance *inst, const sync_stream_request *req, sync_emitter *em)
{
    const sf_object_desc *d;
    sf_plan plan;
    sf_cursor start;
    const sf_cursor *startp = NULL;
    sf_buf soql = SF_BUF_INIT, path = SF_BUF_INIT;
    char *next = NULL;
    sf_idset deleted = {0}; /* the deletes getDeleted delivered */
    int64_t records = 0, pages = 0;
    int rc;

    /* the job's batch size bounds the page (Salesforce takes 200..2000): pages are batches */
    inst->page_size = inst->set.batch_size;
    if (req->batch_size > 0 && (int64_t)req->batch_size < inst->page_size)
        inst->page_size = req->batch_size < 200 ? 200 : (int64_t)req->batch_size;

    if (req->stream == NULL || !sf_soql_valid_name(req->stream, 0)) {
        sf_host->set_error(inst->ctx, "\"%s\" is not a salesforce object name",
                           req->stream ? req->stream : "(null)");
        return SYNC_E_CONFIG;
    }
    if (!req->full_refresh && req->cursor != NULL && req->cursor[0] != '\0') {
        if (sf_cursor_parse(req->cursor, &start) != SYNC_OK)
            return bad_cursor(inst, req);
        startp = &start;
    }
    if ((rc = sf_describe_get(inst, req->stream, &d)) != SYNC_OK)
        return rc;
    if (!d->queryable) {
        sf_host->set_error(inst->ctx, "salesforce object %s cannot be queried", d->name);
        return SYNC_E_UNSUPPORTED;
    }
    rc = sf_plan_build(inst, d, req, &plan);
    if (rc == SYNC_E_NOTFOUND && d->from_state) {
        /* a field newer than the cached describe: ask Salesforce again */
        sf_plan_free(&plan);
        memset(&plan, 0, sizeof plan);
        sf_describe_forget(inst);
        if ((rc = sf_describe_get(inst, req->stream, &d)) != SYNC_OK)
            return rc;
        rc = sf_plan_build(inst, d, req, &plan);
    }
    if (rc != SYNC_OK)
        return rc;

    /* Salesforce's clock, from an answer: a cached describe may have left this
     * read without one so far (the token call, or the session's, gives it;
     * with a cached token too, the versions list does).  The local clock alone
     * could be behind Salesforce's by more than lag, and the records changed in
     * between would wait for the next run. */
    if ((rc = sf_api_ready(inst)) != SYNC_OK)
        goto out;
    sf_api_server_time(inst);
    /* Milliseconds: what SOQL datetimes carry. */
    int64_t upper = sf_http_server_now(inst->http) - inst->set.lag_ms * 1000;
    upper -= ((upper % 1000) + 1000) % 1000;
    if ((rc = sf_plan_soql(inst, &plan, startp, upper, &soql)) != SYNC_OK)
        goto out;
    if (sf_host->log_enabled(inst->ctx, SYNC_LOG_DEBUG))
        sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "%s: %s", plan.deletes ? "queryAll" : "query", soql.ptr);
    if ((rc = query_path(inst, &plan, &soql, &path)) != SYNC_OK)
        goto out;

    /*
     * Purged records reach no query: an incremental read first asks getDeleted
     * for the deletions since its position.  First, so that a saved position
     * proves the deletes before it stored (batches are stored in order), and
     * the next read asks only from there; the query then leaves out the
     * recycle-bin records getDeleted delivered.
     */
    sf_page_spec spec = {plan.fields, plan.n_fields, plan.cursor_field, upper, NULL};
    if (startp != NULL && plan.deletes && inst->set.get_deleted) {
        int64_t n_deleted = 0;
        rc = sf_deleted_read(inst, &plan, startp->ts - inst->set.lookback_ms * 1000, upper, &deleted, em,
                             &n_deleted);
        if (rc != SYNC_OK)
            goto out;
        spec.delivered = &deleted;
    }
    const char *url = path.ptr;
    /* Where the records read so far end, for querying again behind them when
     * Salesforce releases the query locator; and how often in a row it did. */
    sf_cursor pos;
    int have_pos = 0, requeries = 0;
    for (;;) {
        char *page = NULL;
        size_t page_len = 0;
        sf_page_result res;
        if ((rc = sf_api_get_text(inst, url, SF_API_QUERY, &page, &page_len)) != SYNC_OK) {
            /* INVALID_FIELD: a field went away since the describe was cached */
            if (rc == SYNC_E_NOTFOUND)
                sf_describe_forget(inst);
            /*
             * INVALID_QUERY_LOCATOR on a queryMore: the org released the cursor
             * (more than 10 open for the user, 15 minutes idle, an eviction).
             * The same query again, from behind the last record read (the
             * keyset makes that exact), with the same upper bound; bounded,
             * since a cursor lost again before a single page arrives means
             * something else is wrong.
             */
            if (rc == SYNC_E_CONFLICT && url != path.ptr &&
                strcmp(inst->api_error_code, "INVALID_QUERY_LOCATOR") == 0 &&
                requeries < SF_REQUERY_MAX && !sf_host->cancelled(inst->ctx)) {
                requeries++;
                char at[SF_CURSOR_MAX];
                if (!have_pos || sf_cursor_format(&pos, at, sizeof at) != SYNC_OK)
                    snprintf(at, sizeof at, "the start");
                sf_host->log(inst->ctx, SYNC_LOG_WARN, "salesforce released the query locator of %s "
                             "(INVALID_QUERY_LOCATOR); querying again from %s (try %d of %d)",
                             plan.object, at, requeries, SF_REQUERY_MAX);
                sf_host->counter_add(inst->ctx, "requeries", 1);
                sf_buf_reset(&soql);
                if ((rc = have_pos ? plan_soql(&plan, &pos, 0, upper, &soql)
                                   : sf_plan_soql(inst, &plan, startp, upper, &soql)) != SYNC_OK ||
                    (rc = query_path(inst, &plan, &soql, &path)) != SYNC_OK)
                    break;
                url = path.ptr;
                continue;
            }
            if (rc == SYNC_E_CONFLICT && url != path.ptr && requeries >= SF_REQUERY_MAX &&
                strcmp(inst->api_error_code, "INVALID_QUERY_LOCATOR") == 0)
                sf_host->set_error(inst->ctx, "salesforce released the query locator of %s %d times "
                                   "in a row before a page arrived (INVALID_QUERY_LOCATOR); the next "
                                   "run resumes from the saved cursor", plan.object, requeries + 1);
            break;
        }
        sf_host->counter_add(inst->ctx, "pages", 1);
        pages++;
        rc = sf_page_load(inst->ctx, &spec, page, page_len, em, &res);
        free(page);
        if (rc != SYNC_OK) {
            sf_page_result_clear(&res);
            break;
        }
        if (res.has_cursor) {
            pos = res.last;
            have_pos = 1;
        }
        if (res.n_records > 0)
            requeries = 0; /* progress: a later loss gets its own tries */
        if (res.n_records > 0) {
            char text[SF_CURSOR_MAX];
            const char *emit_cursor = NULL;
            /* Never hand back a position older than the saved one (lookback re-reads). */
            if (res.has_cursor && (startp == NULL || sf_cursor_cmp(&res.last, startp) > 0) &&
                sf_cursor_format(&res.last, text, sizeof text) == SYNC_OK)
                emit_cursor = text;
            records += (int64_t)res.n_records;
            rc = sf_host->emit(em, emit_cursor);
            if (rc != SYNC_OK) {
                sf_page_result_clear(&res);
                break;
            }
        }
        free(next);
        next = res.next_url;
        res.next_url = NULL;
        if (res.done || next == NULL)
            break;
        if (sf_host->cancelled(inst->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        url = next;
    }
    if (rc == SYNC_OK)
        sf_host->log(inst->ctx, SYNC_LOG_INFO, "read %lld records of %s in %lld pages",
                     (long long)records, plan.object, (long long)pages);
out:
    sf_idset_free(&deleted);
    free(next);
    sf_buf_free(&soql);
    sf_buf_free(&path);
    sf_plan_free(&plan);
    return rc;
}

/* ------------------------------------------------------------- discover */

static int want_fields(const sf_instance *inst, const char *object)
{
    for (size_t i = 0; i < inst->set.n_discover_objects; i++)
        if (strcasecmp(inst->set.discover_objects[i], object) == 0)
            return 1;
    return 0;
}

/*
 * Streams come from the global describe (one call); fields only for the
 * objects listed in discover_objects (default Contact, Lead), one describe
 * each: describing every queryable object of an org costs hundreds of calls.
 */
int sf_source_discover(sf_instance *inst, sync_catalog *cat)
{
    sf_buf path = SF_BUF_INIT;
    json_t *js = NULL;
    sf_buf_printf(&path, "/services/data/v%s/sobjects", inst->set.api_version);
    if (sf_buf_ok(&path) != SYNC_OK)
        return SYNC_E_NOMEM;
    int rc = sf_api_get(inst, path.ptr, 0, &js);
    sf_buf_free(&path);
    if (rc != SYNC_OK)
        return rc;
    const json_t *objs = json_object_get(js, "sobjects");
    if (!json_is_array(objs)) {
        json_decref(js);
        sf_host->set_error(inst->ctx, "global describe returned no sobjects list");
        return SYNC_E_PROTOCOL;
    }
    size_t i;
    const json_t *o;
    json_array_foreach(objs, i, o) {
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name == NULL || !json_is_true(json_object_get(o, "queryable")))
            continue;
        if ((rc = sf_host->catalog_add_stream(cat, name)) != SYNC_OK)
            break;
        if (!want_fields(inst, name))
            continue;
        const sf_object_desc *d;
        if ((rc = sf_describe_get(inst, name, &d)) != SYNC_OK)
            break;
        for (size_t f = 0; f < d->n_fields && rc == SYNC_OK; f++)
            rc = sf_host->catalog_add_field(cat, name, d->fields[f].name,
                                            sf_describe_sync_type(d->fields[f].type));
        if (rc != SYNC_OK)
            break;
        if (sf_host->cancelled(inst->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
    }
    json_decref(js);
    return rc;
}
