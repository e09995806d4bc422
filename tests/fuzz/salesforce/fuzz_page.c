/*
 * fuzz_page.c - libFuzzer target for the Salesforce query-page reader.
 *
 * Feeds arbitrary bytes as a query answer to sf_page_load() (the one-pass
 * reader) and to the tree-based reference reader (page_reference.c, jansson)
 * with a spec that covers every field type (string, bool, int, float,
 * datetime, date, JSON compound, relationship paths, the cursor field),
 * through the engine's real host table and record store.  Beside sanitizer
 * reports, it aborts when:
 *
 *   - the two readers disagree on whether the page is good, or on any record
 *     (key, operation, cursor, every field's type and value) or on the page's
 *     done / nextRecordsUrl / last cursor;
 *   - the text is JSON by jansson's rules and the one-pass reader's own
 *     check (sf_json_valid) says otherwise, or the other way round;
 *   - a success holds a record without its key, or a cursor not produced
 *     from a record.
 *
 * Two exceptions, on purpose.  A page whose objects repeat a member name
 * (exactly or in another case) may be read differently, because jansson
 * keeps the last value at the first position and the one-pass reader cannot
 * take back records already handed on.  And jansson's stream reader lets a
 * NUL byte between tokens pass, where the one-pass reader refuses any NUL
 * byte.  Salesforce sends neither; both readers still have to survive them.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "hostapi.h"
#include "page_reference.h"
#include "record.h"
#include "salesforce/sf_json.h"
#include "salesforce/sf_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    (void)em;
    *next = full; /* the target inspects the batch after reading */
    return SYNC_OK;
}

/* Two members of one object named alike (any case), anywhere in v. */
static int repeats_names(const json_t *v, int depth)
{
    if (depth > 64)
        return 1; /* deep enough that nothing the spec reads is down there; treat as odd */
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e)
            if (repeats_names(e, depth + 1))
                return 1;
        return 0;
    }
    if (!json_is_object(v))
        return 0;
    const char *k1, *k2;
    json_t *v1, *v2;
    json_object_foreach((json_t *)v, k1, v1) {
        int seen = 0;
        json_object_foreach((json_t *)v, k2, v2) {
            if (k1 == k2)
                seen = 1;
            else if (seen && strcasecmp(k1, k2) == 0)
                return 1;
        }
        if (repeats_names(v1, depth + 1))
            return 1;
    }
    return 0;
}

static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int same_value(const sync_value *a, const sync_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case SYNC_TYPE_NULL:
        return 1;
    case SYNC_TYPE_BOOL:
        return !a->u.b == !b->u.b;
    case SYNC_TYPE_INT:
        return a->u.i == b->u.i;
    case SYNC_TYPE_FLOAT:
        return a->u.f == b->u.f || (isnan(a->u.f) && isnan(b->u.f));
    case SYNC_TYPE_TIMESTAMP:
    case SYNC_TYPE_DATE:
        return a->u.ts == b->u.ts;
    case SYNC_TYPE_STRING:
    case SYNC_TYPE_JSON:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.ptr, b->u.str.ptr, a->u.str.len) == 0;
    }
    return 0;
}

/* Says what differs before the abort, so a crash file explains itself. */
static void differ(const char *what, size_t rec, const char *field, const sync_value *a, const sync_value *b)
{
    fprintf(stderr, "fuzz_page: readers differ on %s (record %zu%s%s)\n", what, rec, field ? ", field " : "",
            field ? field : "");
    if (a && b) {
        fprintf(stderr, "  one-pass: type %d", a->type);
        if (a->type == SYNC_TYPE_STRING || a->type == SYNC_TYPE_JSON)
            fprintf(stderr, " \"%.*s\"", (int)a->u.str.len, a->u.str.ptr);
        fprintf(stderr, "\n  reference: type %d", b->type);
        if (b->type == SYNC_TYPE_STRING || b->type == SYNC_TYPE_JSON)
            fprintf(stderr, " \"%.*s\"", (int)b->u.str.len, b->u.str.ptr);
        fprintf(stderr, "\n");
    }
    abort();
}

static void compare(const sync_batch *a, const sf_page_result *ra, const sync_batch *b,
                    const sf_page_result *rb)
{
    if (a->n_records != b->n_records || ra->n_records != rb->n_records || ra->done != rb->done ||
        !same_str(ra->next_url, rb->next_url) || ra->has_cursor != rb->has_cursor ||
        (ra->has_cursor && (ra->last.ts != rb->last.ts || strcmp(ra->last.id, rb->last.id) != 0)))
        differ("the page", 0, NULL, NULL, NULL);
    for (size_t i = 0; i < a->n_records; i++) {
        const sync_record *x = a->records[i], *y = b->records[i];
        if (!same_str(x->key, y->key) || x->op != y->op || !same_str(x->cursor, y->cursor) ||
            x->n_fields != y->n_fields)
            differ("key, operation or cursor", i, NULL, NULL, NULL);
        for (uint32_t f = 0; f < x->n_fields; f++)
            if (strcmp(x->fields[f].name, y->fields[f].name) != 0 ||
                !same_value(&x->fields[f].value, &y->fields[f].value))
                differ("a value", i, x->fields[f].name, &x->fields[f].value, &y->fields[f].value);
    }
}

static void check_invariants(int rc, const sync_batch *b, const sf_page_result *res)
{
    if (rc != SYNC_OK)
        return;
    if (res->n_records > b->n_records)
        abort();
    for (size_t i = 0; i < b->n_records; i++)
        if (b->records[i]->key == NULL || b->records[i]->key[0] == '\0')
            abort();
    if (res->has_cursor && res->n_records == 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sync_ctx *ctx;
    if (ctx == NULL) {
        sf_host = syncc_host();
        ctx = syncc_ctx_new("fuzz", "sf", "salesforce");
    }
    static const sf_page_field fields[] = {
        {"Id", "Id", SF_FT_STRING},
        {"IsDeleted", "IsDeleted", SF_FT_BOOL},
        {"SystemModstamp", "SystemModstamp", SF_FT_DATETIME},
        {"NumberOfEmployees", "NumberOfEmployees", SF_FT_INT},
        {"AnnualRevenue", "AnnualRevenue", SF_FT_FLOAT},
        {"Birthdate", "Birthdate", SF_FT_DATE},
        {"MailingAddress", "MailingAddress", SF_FT_JSON},
        {"Account.Name", "Account.Name", SF_FT_STRING},
        {"Account", "Account", SF_FT_AUTO},
        {"Account.Owner.Name", "Account.Owner.Name", SF_FT_AUTO},
        {"Owner.Name", "owner.name", SF_FT_AUTO},
        {"Title", "Title", SF_FT_STRING},
    };
    sf_page_spec spec = {fields, sizeof(fields) / sizeof(fields[0]), "SystemModstamp", 0, NULL};
    const char *text = (const char *)data;

    json_t *tree = json_loadb(text, size, JSON_ALLOW_NUL, NULL);
    int is_json = tree != NULL;
    /* jansson's stream reader lets a NUL byte between tokens pass; the
     * one-pass reader refuses any */
    int has_nul = memchr(text, '\0', size) != NULL;
    if (!has_nul && is_json != sf_json_valid(text, size))
        abort();
    int comparable = !has_nul && (!is_json || !repeats_names(tree, 0));
    json_decref(tree);
    if (comparable && is_json) {
        /* the tree keeps one member per name: exact repeats show only here */
        json_t *strict = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
        comparable = strict != NULL;
        json_decref(strict);
    }

    sync_emitter em = {syncc_batch_new(), "contacts", deliver, NULL};
    sync_emitter ref = {syncc_batch_new(), "contacts", deliver, NULL};
    sf_page_result res, rres;
    int rc = sf_page_load(ctx, &spec, text, size, &em, &res);
    int rrc = ref_page_load(ctx, &spec, text, size, &ref, &rres);
    check_invariants(rc, em.batch, &res);
    check_invariants(rrc, ref.batch, &rres);
    if (comparable) {
        if ((rc == SYNC_OK) != (rrc == SYNC_OK)) {
            fprintf(stderr, "fuzz_page: one-pass reader says %d, reference %d\n", rc, rrc);
            abort();
        }
        if (rc == SYNC_OK)
            compare(em.batch, &res, ref.batch, &rres);
    }
    sf_page_result_clear(&res);
    sf_page_result_clear(&rres);
    syncc_batch_free(em.batch);
    syncc_batch_free(ref.batch);
    return 0;
}
