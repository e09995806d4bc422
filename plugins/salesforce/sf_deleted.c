/*
 * sf_deleted.c - getDeleted: deletes for records purged from the recycle
 * bin, which no query returns any more (sf_deleted.h).
 */
#include "sf_deleted.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sf_api.h"
#include "sf_buf.h"
#include "sf_http.h"

#define MINUTE_US INT64_C(60000000)
#define DAY_US (INT64_C(86400) * 1000000)

/* The state key remembering that the org refuses getDeleted for object. */
static void refused_key(const char *object, char *key, size_t size)
{
    snprintf(key, size, "get_deleted_refused:%s", object);
}

static int set_fields(const sf_plan *plan, sync_record *rec, const char *id, int64_t deleted_us)
{
    int rc = SYNC_OK;
    for (size_t i = 0; i < plan->n_fields && rc == SYNC_OK; i++) {
        const sf_page_field *f = &plan->fields[i];
        if (strcmp(f->path, "Id") == 0)
            rc = sf_host->record_set_string(rec, f->name, id, strlen(id));
        else if (strcmp(f->path, "IsDeleted") == 0)
            rc = sf_host->record_set_bool(rec, f->name, 1);
        else if (plan->cursor_field != NULL && strcmp(f->path, plan->cursor_field) == 0 && deleted_us != 0)
            rc = sf_host->record_set_timestamp(rec, f->name, deleted_us);
        else
            rc = sf_host->record_set_null(rec, f->name);
    }
    return rc;
}

/* Emits the ids of deletedRecords, page_size at a time. */
static int emit_deleted(sf_instance *inst, const sf_plan *plan, const json_t *list, int64_t from_us,
                        sf_idset *delivered, sync_emitter *em, int64_t *n_out)
{
    size_t i, pending = 0;
    const json_t *e;
    int rc;
    json_array_foreach(list, i, e) {
        const char *id = json_string_value(json_object_get(e, "id"));
        const char *when = json_string_value(json_object_get(e, "deletedDate"));
        if (id == NULL || !sf_cursor_valid_id(id, strlen(id))) {
            sf_host->set_error(inst->ctx, "getDeleted answer for %s lists a record without a valid id",
                               plan->object);
            return SYNC_E_PROTOCOL;
        }
        int64_t us = 0;
        if (when == NULL || sf_host->time_parse(when, strlen(when), &us) != SYNC_OK)
            us = 0;
        /* at or before the saved position: an earlier read delivered it (the window starts a minute early) */
        if (us != 0 && us <= from_us)
            continue;
        if (sf_idset_has(delivered, id))
            continue; /* listed twice */
        if (sf_idset_add(delivered, id, strlen(id)) != SYNC_OK)
            return SYNC_E_NOMEM;
        sync_record *rec = sf_host->record_new(em, id, strlen(id), SYNC_OP_DELETE);
        if (rec == NULL)
            return SYNC_E_NOMEM;
        if ((rc = set_fields(plan, rec, id, us)) != SYNC_OK)
            return rc;
        (*n_out)++;
        if (++pending >= (size_t)(inst->page_size > 0 ? inst->page_size : 2000)) {
            if ((rc = sf_host->emit(em, NULL)) != SYNC_OK)
                return rc;
            pending = 0;
        }
    }
    return pending ? sf_host->emit(em, NULL) : SYNC_OK;
}

int sf_deleted_read(sf_instance *inst, const sf_plan *plan, int64_t from_us, int64_t to_us,
                    sf_idset *delivered, sync_emitter *em, int64_t *n_out)
{
    char key[160], *refused = NULL;
    *n_out = 0;
    refused_key(plan->object, key, sizeof key);
    if (sf_host->state_get(inst->ctx, key, &refused) == SYNC_OK) {
        sf_host->free(refused);
        sf_host->log(inst->ctx, SYNC_LOG_DEBUG, "getDeleted of %s skipped: the org refused it before", plan->object);
        return SYNC_OK;
    }
    /* Salesforce takes whole minutes, at most 30 days back, and a window of at least one minute */
    int64_t now = sf_http_server_now(inst->http);
    int64_t oldest = now - SF_DELETED_MAX_DAYS * DAY_US + 15 * MINUTE_US; /* a margin for clock skew */
    int64_t start = from_us < oldest ? oldest : from_us;
    start -= ((start % MINUTE_US) + MINUTE_US) % MINUTE_US;
    int64_t end = to_us > start + MINUTE_US ? to_us : start + MINUTE_US;
    char s_text[40], e_text[40];
    if (sf_host->time_format(start, s_text, sizeof s_text) != SYNC_OK ||
        sf_host->time_format(end, e_text, sizeof e_text) != SYNC_OK)
        return SYNC_E_INVALID;
    sf_buf path = SF_BUF_INIT;
    sf_buf_printf(&path, "/services/data/v%s/sobjects/%s/deleted/?start=%s&end=%s", inst->set.api_version,
                  plan->object, s_text, e_text);
    if (sf_buf_ok(&path) != SYNC_OK)
        return SYNC_E_NOMEM;
    json_t *js = NULL;
    int rc = sf_api_get(inst, path.ptr, 0, &js);
    sf_buf_free(&path);
    if (rc == SYNC_E_NOTFOUND || rc == SYNC_E_AUTH) {
        /* the org or the user may not use the resource: the query still catches the recycle bin */
        sf_host->log(inst->ctx, SYNC_LOG_WARN, "salesforce refused getDeleted for %s (HTTP %s: not allowed for this "
                     "org or user); records purged from the recycle bin are found only by a full refresh "
                     "(sink.purge_scope); not asked again", plan->object, rc == SYNC_E_AUTH ? "403" : "404");
        sf_host->state_put(inst->ctx, key, "1");
        return SYNC_OK;
    }
    if (rc == SYNC_E_INVALID) {
        sf_host->log(inst->ctx, SYNC_LOG_WARN, "salesforce refused the getDeleted window %s .. %s of %s; records "
                     "purged in it are found only by a full refresh (sink.purge_scope)", s_text, e_text,
                     plan->object);
        return SYNC_OK;
    }
    if (rc != SYNC_OK)
        return rc;
    const json_t *list = json_object_get(js, "deletedRecords");
    if (!json_is_array(list)) {
        json_decref(js);
        sf_host->set_error(inst->ctx, "getDeleted answer for %s has no deletedRecords list", plan->object);
        return SYNC_E_PROTOCOL;
    }
    /*
     * Covered already: the stream's position, or the end of the last window
     * asked for (this machine's state) when that is later.  Deletions before
     * earliestDateAvailable, or beyond the 30 days, and after what was
     * covered cannot be listed any more: say so, and what finds them.
     */
    int64_t covered = from_us;
    char ukey[160], *until = NULL;
    snprintf(ukey, sizeof ukey, "get_deleted_until:%s", plan->object);
    int64_t until_us = 0;
    int have_until = sf_host->state_get(inst->ctx, ukey, &until) == SYNC_OK && until != NULL &&
                     sf_host->time_parse(until, strlen(until), &until_us) == SYNC_OK;
    sf_host->free(until);
    if (have_until && until_us > covered)
        covered = until_us;
    const char *earliest = json_string_value(json_object_get(js, "earliestDateAvailable"));
    int64_t earliest_us = 0;
    if (earliest == NULL || sf_host->time_parse(earliest, strlen(earliest), &earliest_us) != SYNC_OK)
        earliest_us = 0;
    int64_t listable = earliest_us > start ? earliest_us : start;
    if (listable > covered && (earliest_us > covered || have_until)) {
        char c_text[40], l_text[40];
        sf_host->time_format(covered, c_text, sizeof c_text);
        sf_host->time_format(listable, l_text, sizeof l_text);
        sf_host->log(inst->ctx, SYNC_LOG_WARN, "salesforce lists deleted %s records only from %s on, but deletions "
                     "since %s were not asked for yet: records purged in between cannot be listed; a full "
                     "refresh (--full-refresh, with sink.purge_scope) marks them", plan->object, l_text, c_text);
    }
    rc = emit_deleted(inst, plan, list, from_us, delivered, em, n_out);
    json_decref(js);
    if (rc == SYNC_OK)
        sf_host->state_put(inst->ctx, ukey, e_text);
    if (rc == SYNC_OK && *n_out > 0)
        sf_host->log(inst->ctx, SYNC_LOG_INFO, "getDeleted: %lld %s record(s) deleted between %s and %s",
                     (long long)*n_out, plan->object, s_text, e_text);
    return rc;
}
