/*
 * fuzz_page.c - libFuzzer target for the Salesforce query-page parser.
 *
 * Feeds arbitrary bytes as a query answer to sf_page_load() with a spec that
 * covers every field type (string, bool, int, float, datetime, date, JSON
 * compound, a relationship path, the cursor field), through the engine's real
 * host table and record store.  Beside sanitizer reports, it aborts when an
 * invariant breaks: a success whose record count differs from what was built,
 * a record without its key, a cursor that was not produced from a record.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostapi.h"
#include "record.h"
#include "salesforce/sf_page.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    (void)em;
    *next = full; /* the target inspects the batch after sf_page_load */
    return SYNC_OK;
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
        {"Owner.Name", "Owner.Name", SF_FT_AUTO},
    };
    sf_page_spec spec = {fields, sizeof(fields) / sizeof(fields[0]), "SystemModstamp"};
    sync_emitter em = {syncc_batch_new(), "contacts", deliver, NULL};
    sf_page_result res;
    memset(&res, 0, sizeof(res));
    int rc = sf_page_load(ctx, &spec, (const char *)data, size, &em, &res);
    if (rc == SYNC_OK) {
        if (res.n_records > em.batch->n_records)
            abort();
        for (size_t i = 0; i < em.batch->n_records; i++)
            if (em.batch->records[i]->key == NULL || em.batch->records[i]->key[0] == '\0')
                abort();
        if (res.has_cursor && res.n_records == 0)
            abort();
    }
    sf_page_result_clear(&res);
    syncc_batch_free(em.batch);
    return 0;
}
