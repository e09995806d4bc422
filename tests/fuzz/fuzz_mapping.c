/*
 * tests/fuzz/fuzz_mapping.c - libFuzzer target for the mapping compiler and
 * evaluator.
 *
 * The input is one expression.  It is compiled; if it compiles, it is
 * evaluated against records with different layouts and value types, so the
 * evaluator's conversions and error paths are exercised as well as the
 * parser.  Anything but a clean result or a clean error is a bug: crashes,
 * sanitizer reports, leaks, and an output record left half-filled.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static sync_batch *in_batch, *out_batch;

static void set_str(sync_record *r, const char *f, const char *s)
{
    size_t len = strlen(s);
    sync_value v = {.type = SYNC_TYPE_STRING};
    v.u.str.ptr = s;
    v.u.str.len = len;
    syncc_record_set(r, f, &v);
}

static void set_typed(sync_record *r, const char *f, sync_type t, int64_t i, double d)
{
    sync_value v = {.type = t};
    if (t == SYNC_TYPE_FLOAT)
        v.u.f = d;
    else if (t == SYNC_TYPE_BOOL)
        v.u.b = (int)i;
    else
        v.u.i = i;
    syncc_record_set(r, f, &v);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("FUZZ_VAR", "value with 'quotes' and ${NESTED}", 1);
    in_batch = syncc_batch_new();
    out_batch = syncc_batch_new();
    in_batch->stream = "fuzz";
    sync_record *a = syncc_batch_add(in_batch, "k1", 2, SYNC_OP_UPSERT);
    set_str(a, "Id", "00Q1");
    set_str(a, "Name", "Ada \xc3\xa9 \"x\"\n");
    set_str(a, "Rating", "Hot");
    set_str(a, "Num", "42");
    set_str(a, "When", "2024-05-01T10:00:00.000+0000");
    set_str(a, "Account.Name", "Acme");
    set_typed(a, "Int", SYNC_TYPE_INT, INT64_MAX, 0);
    set_typed(a, "Float", SYNC_TYPE_FLOAT, 0, -0.5);
    set_typed(a, "Flag", SYNC_TYPE_BOOL, 1, 0);
    set_typed(a, "Ts", SYNC_TYPE_TIMESTAMP, INT64_C(1714557600000000), 0);
    set_typed(a, "Day", SYNC_TYPE_DATE, -1, 0);
    sync_value j = {.type = SYNC_TYPE_JSON};
    j.u.str.ptr = "{\"a\":[1,2]}";
    j.u.str.len = strlen(j.u.str.ptr);
    syncc_record_set(a, "Json", &j);
    sync_record *b = syncc_batch_add(in_batch, "k2", 2, SYNC_OP_DELETE);
    set_str(b, "Num", "abc");
    set_typed(b, "Id", SYNC_TYPE_INT, INT64_MIN, 0);
    set_typed(b, "Name", SYNC_TYPE_NULL, 0, 0);
    set_str(b, "Bad", "\xff\xfe");
    syncc_record_set_cursor(b, "c/2");
    syncc_batch_add(in_batch, NULL, 0, SYNC_OP_UPSERT); /* no fields at all */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *expr = malloc(size + 1);
    if (expr == NULL)
        return 0;
    memcpy(expr, data, size);
    expr[size] = '\0';
    char err[1024];
    syncc_map_src src[2] = {
        {"a", expr, "fuzz.ini", 1, 5, NULL},
        {"b", "coalesce(Id, @key) || ''", "fuzz.ini", 2, 5, NULL},
    };
    syncc_mapping *m = syncc_mapping_compile(src, 2, err, sizeof(err));
    if (m == NULL) {
        if (strncmp(err, "fuzz.ini:", 9) != 0)
            abort(); /* every compile error names its location */
        free(expr);
        return 0;
    }
    syncc_mapping_set_now(m, INT64_C(1717236000000000));
    for (int strict = 0; strict < 2; strict++) {
        syncc_mapping_set_strict(m, strict);
        for (size_t i = 0; i < in_batch->n_records; i++) {
            sync_record *o = syncc_batch_add(out_batch, "o", 1, SYNC_OP_UPSERT);
            if (o == NULL)
                abort();
            int rc = syncc_mapping_eval(m, in_batch->records[i], o, err, sizeof(err));
            if (rc == SYNC_OK && o->n_fields != 2)
                abort();
            if (rc != SYNC_OK && (o->n_fields != 0 || strncmp(err, "column '", 8) != 0))
                abort();
        }
    }
    syncc_batch_reset(out_batch);
    syncc_mapping_free(m);
    free(expr);
    return 0;
}
