/*
 * tests/unit/test_record.c - the core's record API (core/record.c): batches
 * and their arena, setting, overwriting and finding fields with position
 * hints, interning of field names (one pointer per name and batch), 100 000
 * records through a batch that is reset between rounds without its memory
 * growing, string values with embedded NUL bytes, and syncc_value_to_text for
 * every type, including timestamps and dates before 1970 and floats that must
 * read back to the same double.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <inttypes.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

static sync_value v_int(int64_t i)
{
    sync_value v = {.type = SYNC_TYPE_INT, .u.i = i};
    return v;
}

static sync_value v_str(const char *s, size_t len)
{
    sync_value v = {.type = SYNC_TYPE_STRING, .u.str = {s, len}};
    return v;
}

/* The text form of v; fails unless syncc_value_to_text succeeds (1 for NULL, else 0). */
static const char *text_of(sync_value v)
{
    static char buf[256];
    size_t len = 999;
    int rc = syncc_value_to_text(&v, buf, sizeof(buf), &len);
    assert_int_equal(rc, v.type == SYNC_TYPE_NULL ? 1 : 0);
    assert_int_equal(len, strlen(buf));
    return buf;
}

/* ------------------------------------------------------------------ fields */

static void test_set_and_overwrite(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    assert_non_null(b);
    sync_record *r = syncc_batch_add(b, "003xx", 5, SYNC_OP_UPSERT);
    assert_non_null(r);
    assert_ptr_equal(r->batch, b);
    assert_string_equal(r->key, "003xx");
    assert_int_equal(r->op, SYNC_OP_UPSERT);
    assert_null(r->cursor);
    assert_int_equal(r->n_fields, 0);

    sync_value v = v_int(1);
    assert_int_equal(syncc_record_set(r, "Id", &v), SYNC_OK);
    v = v_str("Acme", 4);
    assert_int_equal(syncc_record_set(r, "Account.Name", &v), SYNC_OK);
    assert_int_equal(r->n_fields, 2);

    /* the same name again replaces the value in place */
    v = v_int(2);
    assert_int_equal(syncc_record_set(r, "Id", &v), SYNC_OK);
    v = v_str("Other Corp", 10);
    assert_int_equal(syncc_record_set(r, "Account.Name", &v), SYNC_OK);
    assert_int_equal(r->n_fields, 2);
    assert_string_equal(r->fields[0].name, "Id");
    assert_int_equal(r->fields[0].value.type, SYNC_TYPE_INT);
    assert_int_equal(r->fields[0].value.u.i, 2);
    assert_string_equal(r->fields[1].name, "Account.Name");
    assert_int_equal(r->fields[1].value.u.str.len, 10);
    assert_string_equal(r->fields[1].value.u.str.ptr, "Other Corp");

    /* the type may change on overwrite */
    sync_value n = {.type = SYNC_TYPE_NULL};
    assert_int_equal(syncc_record_set(r, "Id", &n), SYNC_OK);
    assert_int_equal(r->fields[0].value.type, SYNC_TYPE_NULL);
    assert_int_equal(r->n_fields, 2);

    /* a key-less delete */
    sync_record *d = syncc_batch_add(b, NULL, 0, SYNC_OP_DELETE);
    assert_non_null(d);
    assert_null(d->key);
    assert_int_equal(d->op, SYNC_OP_DELETE);
    assert_int_equal(b->n_records, 2);
    assert_ptr_equal(b->records[0], r);
    assert_ptr_equal(b->records[1], d);

    /* key_len is honoured: only the first 3 bytes */
    sync_record *k = syncc_batch_add(b, "abcdef", 3, SYNC_OP_UPSERT);
    assert_string_equal(k->key, "abc");
    syncc_batch_free(b);
}

static void test_many_fields(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "k", 1, SYNC_OP_UPSERT);
    char name[32];
    /* past the initial capacity of the field array, several times */
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "f%03d", i);
        sync_value v = v_int(i * 7);
        assert_int_equal(syncc_record_set(r, name, &v), SYNC_OK);
    }
    assert_int_equal(r->n_fields, 200);
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof(name), "f%03d", i);
        long at = syncc_record_find(r, name, 0);
        assert_int_equal(at, i);
        assert_int_equal(r->fields[at].value.u.i, i * 7);
    }
    syncc_batch_free(b);
}

static void test_find_with_hints(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    sync_record *r1 = syncc_batch_add(b, "1", 1, SYNC_OP_UPSERT);
    sync_record *r2 = syncc_batch_add(b, "2", 1, SYNC_OP_UPSERT);
    const char *names[] = {"Id", "Email", "FirstName", "LastName"};
    for (int i = 0; i < 4; i++) {
        sync_value v = v_int(i);
        assert_int_equal(syncc_record_set(r1, names[i], &v), SYNC_OK);
    }
    /* r2 has another layout: the hint from r1 is wrong for some names */
    for (int i = 3; i >= 0; i--) {
        sync_value v = v_int(10 + i);
        assert_int_equal(syncc_record_set(r2, names[i], &v), SYNC_OK);
    }
    for (int i = 0; i < 4; i++) {
        /* right hint, wrong hint, hint out of range: same answer */
        assert_int_equal(syncc_record_find(r1, names[i], (size_t)i), i);
        assert_int_equal(syncc_record_find(r1, names[i], (size_t)(3 - i)), i);
        assert_int_equal(syncc_record_find(r1, names[i], 1000), i);
        assert_int_equal(syncc_record_find(r2, names[i], (size_t)i), 3 - i);
        assert_int_equal(r2->fields[syncc_record_find(r2, names[i], (size_t)i)].value.u.i, 10 + i);
    }
    /* a name that is not interned (a different pointer) is found by content */
    char copy[16];
    strcpy(copy, "Email");
    assert_int_equal(syncc_record_find(r1, copy, 0), 1);
    /* absent names, with every hint */
    assert_int_equal(syncc_record_find(r1, "Phone", 0), -1);
    assert_int_equal(syncc_record_find(r1, "Phone", 3), -1);
    assert_int_equal(syncc_record_find(r1, "Emai", 1), -1);
    assert_int_equal(syncc_record_find(r1, "EmailX", 1), -1);
    /* an empty record */
    sync_record *r3 = syncc_batch_add(b, "3", 1, SYNC_OP_UPSERT);
    assert_int_equal(syncc_record_find(r3, "Id", 0), -1);
    syncc_batch_free(b);
}

static void test_interning(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    const char *a = syncc_batch_intern(b, "Account.Name", 12);
    assert_non_null(a);
    assert_string_equal(a, "Account.Name");
    assert_ptr_equal(syncc_batch_intern(b, "Account.Name", 12), a);
    /* a prefix given by length interns the prefix */
    const char *acc = syncc_batch_intern(b, "Account.Name", 7);
    assert_string_equal(acc, "Account");
    assert_ptr_not_equal(acc, a);
    assert_ptr_equal(syncc_batch_intern(b, "Account", 7), acc);

    /* fields of different records share the interned pointer */
    sync_record *r1 = syncc_batch_add(b, "1", 1, SYNC_OP_UPSERT);
    sync_record *r2 = syncc_batch_add(b, "2", 1, SYNC_OP_UPSERT);
    sync_value v = v_int(1);
    assert_int_equal(syncc_record_set(r1, "Account.Name", &v), SYNC_OK);
    assert_int_equal(syncc_record_set(r2, "Account.Name", &v), SYNC_OK);
    assert_ptr_equal(r1->fields[0].name, a);
    assert_ptr_equal(r2->fields[0].name, a);

    /* the table grows; earlier names keep their pointers */
    const char *first[500];
    char name[32];
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "field_%d", i);
        first[i] = syncc_batch_intern(b, name, strlen(name));
        assert_non_null(first[i]);
    }
    assert_int_equal(b->n_names, 502);
    for (int i = 0; i < 500; i++) {
        snprintf(name, sizeof(name), "field_%d", i);
        assert_ptr_equal(syncc_batch_intern(b, name, strlen(name)), first[i]);
        assert_string_equal(first[i], name);
    }
    assert_ptr_equal(syncc_batch_intern(b, "Account.Name", 12), a);
    assert_int_equal(b->n_names, 502);

    /* another batch has its own copy */
    sync_batch *b2 = syncc_batch_new();
    const char *a2 = syncc_batch_intern(b2, "Account.Name", 12);
    assert_ptr_not_equal(a2, a);
    assert_string_equal(a2, a);

    /* append_interned uses the given pointer as is */
    sync_record *r3 = syncc_batch_add(b2, "3", 1, SYNC_OP_UPSERT);
    v = v_str("x", 1);
    assert_int_equal(syncc_record_append_interned(r3, a2, &v), SYNC_OK);
    assert_ptr_equal(r3->fields[0].name, a2);
    assert_int_equal(syncc_record_find(r3, a2, 0), 0);
    syncc_batch_free(b2);
    syncc_batch_free(b);
}

/* -------------------------------------------------------------- memory */

static void fill(sync_batch *b, int n, int round)
{
    char key[32], email[64];
    for (int i = 0; i < n; i++) {
        int kl = snprintf(key, sizeof(key), "%d-%d", round, i);
        sync_record *r = syncc_batch_add(b, key, (size_t)kl, SYNC_OP_UPSERT);
        assert_non_null(r);
        int el = snprintf(email, sizeof(email), "user%d@example.com", i);
        sync_value v = v_str(email, (size_t)el);
        assert_int_equal(syncc_record_set(r, "Email", &v), SYNC_OK);
        v = v_int(i);
        assert_int_equal(syncc_record_set(r, "Score", &v), SYNC_OK);
        v.type = SYNC_TYPE_TIMESTAMP;
        v.u.ts = (int64_t)i * 1000000;
        assert_int_equal(syncc_record_set(r, "LastModifiedDate", &v), SYNC_OK);
    }
}

static void test_100k_records_with_reset(void **state)
{
    (void)state;
    enum { N = 100000, ROUNDS = 3 };
    sync_batch *b = syncc_batch_new();
    size_t first_used = 0, heap_round1 = 0;
    for (int round = 0; round < ROUNDS; round++) {
        fill(b, N, round);
        /*
         * Heap in use with a full batch: the same from the second round on
         * (the first round also grows the pointer array and name table).
         * Under a sanitizer mallinfo2 reports zeros and this holds trivially.
         */
        size_t heap = mallinfo2().uordblks;
        if (round == 1)
            heap_round1 = heap;
        else if (round > 1 && (heap > heap_round1 + 256 * 1024 || heap + 256 * 1024 < heap_round1))
            fail_msg("round %d: %zu bytes in use, %zu after round 1", round, heap, heap_round1);
        assert_int_equal(b->n_records, N);
        assert_int_equal(b->n_names, 3);
        /* spot-check content of this round */
        sync_record *r = b->records[N - 1];
        char key[32];
        snprintf(key, sizeof(key), "%d-%d", round, N - 1);
        assert_string_equal(r->key, key);
        assert_int_equal(r->fields[syncc_record_find(r, "Score", 1)].value.u.i, N - 1);
        assert_string_equal(r->fields[0].value.u.str.ptr, "user99999@example.com");
        if (round == 0) {
            first_used = b->arena.used_total;
            /* at least the records and their fields, at most a few times that */
            assert_true(first_used >= (size_t)N * (sizeof(sync_record) + 3 * sizeof(syncc_field)));
            assert_true(first_used < (size_t)N * 1024);
        } else {
            /* same records, same memory: nothing accumulates across resets */
            assert_int_equal(b->arena.used_total, first_used);
        }
        size_t cap = b->cap_records;
        syncc_batch_reset(b);
        assert_int_equal(b->n_records, 0);
        assert_int_equal(b->n_names, 0);
        assert_int_equal(b->arena.used_total, 0);
        assert_null(b->cursor);
        /* the pointer array and one arena chunk are kept for the next round */
        assert_int_equal(b->cap_records, cap);
        assert_non_null(b->arena.head);
    }
    syncc_batch_free(b);
}

static void test_arena(void **state)
{
    (void)state;
    syncc_arena a = {0};
    /* small allocations are 16-byte aligned */
    for (int i = 1; i < 50; i++) {
        void *p = syncc_arena_alloc(&a, (size_t)i);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xab, (size_t)i);
    }
    /* a block larger than a chunk, then small ones still served */
    char *big = syncc_arena_alloc(&a, 300 * 1024);
    assert_non_null(big);
    memset(big, 1, 300 * 1024);
    /* medium blocks (between a quarter chunk and a chunk) */
    char *mid = syncc_arena_alloc(&a, 40 * 1024);
    assert_non_null(mid);
    memset(mid, 2, 40 * 1024);
    char *s = syncc_arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    assert_int_equal(big[300 * 1024 - 1], 1);
    assert_int_equal(mid[0], 2);
    assert_true(a.used_total >= 340 * 1024);
    syncc_arena_reset(&a);
    assert_int_equal(a.used_total, 0);
    s = syncc_arena_strndup(&a, "", 0);
    assert_string_equal(s, "");
    syncc_arena_free(&a);
    assert_null(a.head);
    assert_int_equal(a.used_total, 0);
    /* freeing an empty arena is harmless */
    syncc_arena_free(&a);
}

static void test_big_values_and_reset(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    size_t sizes[] = {10, 20 * 1024, 64 * 1024, 200 * 1024, 5};
    char *src = malloc(200 * 1024);
    for (size_t i = 0; i < 200 * 1024; i++)
        src[i] = (char)('a' + i % 26);
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            sync_record *r = syncc_batch_add(b, "k", 1, SYNC_OP_UPSERT);
            sync_value v = {.type = SYNC_TYPE_JSON, .u.str = {src, sizes[i]}};
            assert_int_equal(syncc_record_set(r, "Body", &v), SYNC_OK);
        }
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            const sync_value *v = &b->records[i]->fields[0].value;
            assert_int_equal(v->type, SYNC_TYPE_JSON);
            assert_int_equal(v->u.str.len, sizes[i]);
            assert_memory_equal(v->u.str.ptr, src, sizes[i]);
            assert_int_equal(v->u.str.ptr[sizes[i]], '\0');
        }
        syncc_batch_reset(b);
    }
    free(src);
    syncc_batch_free(b);
}

/* ------------------------------------------------------------- strings */

static void test_strings_with_nul_bytes(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "k", 1, SYNC_OP_UPSERT);
    char src[] = {'a', '\0', 'b', '\0', '\0', 'c'};
    sync_value v = v_str(src, sizeof(src));
    assert_int_equal(syncc_record_set(r, "Blob", &v), SYNC_OK);
    memset(src, 'z', sizeof(src)); /* the record holds a copy */
    const sync_value *got = &r->fields[0].value;
    assert_int_equal(got->type, SYNC_TYPE_STRING);
    assert_int_equal(got->u.str.len, 6);
    assert_ptr_not_equal(got->u.str.ptr, src);
    assert_memory_equal(got->u.str.ptr, "a\0b\0\0c", 6);
    assert_int_equal(got->u.str.ptr[6], '\0');

    /* copying into another arena keeps all bytes */
    syncc_arena other = {0};
    sync_value copy;
    assert_int_equal(syncc_value_copy(&other, &copy, got), SYNC_OK);
    assert_ptr_not_equal(copy.u.str.ptr, got->u.str.ptr);
    assert_int_equal(copy.u.str.len, 6);
    assert_memory_equal(copy.u.str.ptr, "a\0b\0\0c", 6);
    /* and survives the batch */
    syncc_batch_free(b);
    assert_memory_equal(copy.u.str.ptr, "a\0b\0\0c", 6);

    /* the text form carries the bytes and their length */
    char buf[16];
    size_t len = 0;
    assert_int_equal(syncc_value_to_text(&copy, buf, sizeof(buf), &len), 0);
    assert_int_equal(len, 6);
    assert_memory_equal(buf, "a\0b\0\0c", 7);
    /* a non-string value copies as is */
    sync_value i = v_int(42), icopy;
    assert_int_equal(syncc_value_copy(&other, &icopy, &i), SYNC_OK);
    assert_int_equal(icopy.type, SYNC_TYPE_INT);
    assert_int_equal(icopy.u.i, 42);
    /* an empty string with a NULL pointer becomes "" */
    sync_value e = v_str(NULL, 0), ecopy;
    assert_int_equal(syncc_value_copy(&other, &ecopy, &e), SYNC_OK);
    assert_non_null(ecopy.u.str.ptr);
    assert_string_equal(ecopy.u.str.ptr, "");
    syncc_arena_free(&other);
}

static void test_cursors(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "k", 1, SYNC_OP_UPSERT);
    char cur[] = "2024-05-01T10:00:00.000Z/003xx";
    assert_int_equal(syncc_record_set_cursor(r, cur), SYNC_OK);
    cur[0] = 'X';
    assert_string_equal(r->cursor, "2024-05-01T10:00:00.000Z/003xx");
    assert_int_equal(syncc_record_set_cursor(r, NULL), SYNC_OK);
    assert_null(r->cursor);

    assert_int_equal(syncc_batch_set_cursor(b, "c1"), SYNC_OK);
    assert_string_equal(b->cursor, "c1");
    assert_int_equal(syncc_batch_set_cursor(b, "c2"), SYNC_OK);
    assert_string_equal(b->cursor, "c2");
    assert_int_equal(syncc_batch_set_cursor(b, NULL), SYNC_OK);
    assert_null(b->cursor);
    assert_int_equal(syncc_batch_set_cursor(b, "c3"), SYNC_OK);
    syncc_batch_reset(b);
    assert_null(b->cursor);
    assert_int_equal(syncc_batch_set_cursor(b, "c4"), SYNC_OK);
    syncc_batch_free(b); /* frees the cursor (checked by ASan/valgrind) */
    syncc_batch_free(NULL);
}

/* ---------------------------------------------------------- text forms */

static void test_text_scalars(void **state)
{
    (void)state;
    sync_value v = {.type = SYNC_TYPE_NULL};
    char buf[8] = "xxxxxxx";
    size_t len = 99;
    assert_int_equal(syncc_value_to_text(&v, buf, sizeof(buf), &len), 1);
    assert_string_equal(buf, "");
    assert_int_equal(len, 0);

    v.type = SYNC_TYPE_BOOL;
    v.u.b = 1;
    assert_string_equal(text_of(v), "true");
    v.u.b = 0;
    assert_string_equal(text_of(v), "false");

    assert_string_equal(text_of(v_int(0)), "0");
    assert_string_equal(text_of(v_int(-42)), "-42");
    assert_string_equal(text_of(v_int(INT64_MAX)), "9223372036854775807");
    assert_string_equal(text_of(v_int(INT64_MIN)), "-9223372036854775808");

    assert_string_equal(text_of(v_str("héllo, \"world\"", strlen("héllo, \"world\""))), "héllo, \"world\"");
    sync_value j = {.type = SYNC_TYPE_JSON, .u.str = {"{\"a\":[1,2]}", 11}};
    assert_string_equal(text_of(j), "{\"a\":[1,2]}");
    assert_string_equal(text_of(v_str("", 0)), "");
}

static void check_float(double d, const char *want)
{
    sync_value v = {.type = SYNC_TYPE_FLOAT, .u.f = d};
    const char *t = text_of(v);
    if (want != NULL)
        assert_string_equal(t, want);
    char *end = NULL;
    double back = strtod(t, &end);
    assert_int_equal(*end, '\0');
    if (back != d)
        fail_msg("%.17g printed as '%s' reads back as %.17g", d, t, back);
}

static void test_text_floats(void **state)
{
    (void)state;
    check_float(0.0, "0");
    check_float(1.5, "1.5");
    check_float(-2.25, "-2.25");
    check_float(0.1, "0.1");      /* shortest form, not 0.10000000000000001 */
    check_float(100.0, "100");
    check_float(1e300, "1e+300");
    check_float(1.0 / 3.0, NULL);
    check_float(0.1 + 0.2, "0.30000000000000004");
    check_float(DBL_MAX, NULL);
    check_float(DBL_MIN, NULL);
    check_float(5e-324, NULL);     /* smallest subnormal */
    check_float(123456789.123456789, NULL);
    check_float(-0.0, "-0");
    /* many values round-trip */
    double d = 1.0;
    for (int i = 0; i < 2000; i++) {
        d = d * 1.0000001 + 0.3333333;
        check_float(d, NULL);
        check_float(-1.0 / d, NULL);
    }
}

static sync_value v_ts(int64_t us)
{
    sync_value v = {.type = SYNC_TYPE_TIMESTAMP, .u.ts = us};
    return v;
}

static sync_value v_date(int64_t days)
{
    sync_value v = {.type = SYNC_TYPE_DATE, .u.ts = days};
    return v;
}

static void test_text_timestamps(void **state)
{
    (void)state;
    assert_string_equal(text_of(v_ts(0)), "1970-01-01T00:00:00.000000Z");
    assert_string_equal(text_of(v_ts(INT64_C(1714557600123456))), "2024-05-01T10:00:00.123456Z");
    assert_string_equal(text_of(v_ts(INT64_C(951827696) * 1000000)), "2000-02-29T12:34:56.000000Z");
    /* negative: the fraction counts forward from the earlier second */
    assert_string_equal(text_of(v_ts(-1)), "1969-12-31T23:59:59.999999Z");
    assert_string_equal(text_of(v_ts(-1000000)), "1969-12-31T23:59:59.000000Z");
    assert_string_equal(text_of(v_ts(-1000001)), "1969-12-31T23:59:58.999999Z");
    assert_string_equal(text_of(v_ts(-500000)), "1969-12-31T23:59:59.500000Z");
    assert_string_equal(text_of(v_ts(INT64_C(-86400) * 1000000)), "1969-12-31T00:00:00.000000Z");
    assert_string_equal(text_of(v_ts(INT64_C(-86400) * 1000000 - 1)), "1969-12-30T23:59:59.999999Z");
    assert_string_equal(text_of(v_ts(INT64_C(-2208988800) * 1000000)), "1900-01-01T00:00:00.000000Z");
    assert_string_equal(text_of(v_ts(INT64_C(-62135596800) * 1000000)), "0001-01-01T00:00:00.000000Z");
    assert_string_equal(text_of(v_ts(INT64_C(253402300799) * 1000000 + 999999)), "9999-12-31T23:59:59.999999Z");
}

static void test_text_dates(void **state)
{
    (void)state;
    assert_string_equal(text_of(v_date(0)), "1970-01-01");
    assert_string_equal(text_of(v_date(-1)), "1969-12-31");
    assert_string_equal(text_of(v_date(19844)), "2024-05-01");
    assert_string_equal(text_of(v_date(11016)), "2000-02-29");
    assert_string_equal(text_of(v_date(-25567)), "1900-01-01");
    assert_string_equal(text_of(v_date(-25508)), "1900-03-01"); /* 1900 has no Feb 29 */
    assert_string_equal(text_of(v_date(-135081)), "1600-02-29");
    assert_string_equal(text_of(v_date(-719162)), "0001-01-01");
    assert_string_equal(text_of(v_date(2932896)), "9999-12-31");
}

static void test_text_overflow(void **state)
{
    (void)state;
    char buf[32];
    size_t len = 77;
    sync_value v = v_int(12345);
    assert_int_equal(syncc_value_to_text(&v, buf, 5, &len), -1);
    assert_int_equal(syncc_value_to_text(&v, buf, 6, &len), 0);
    assert_int_equal(len, 5);
    assert_string_equal(buf, "12345");
    v = v_str("hello", 5);
    assert_int_equal(syncc_value_to_text(&v, buf, 5, &len), -1);
    assert_int_equal(syncc_value_to_text(&v, buf, 6, &len), 0);
    assert_string_equal(buf, "hello");
    v = v_ts(0);
    assert_int_equal(syncc_value_to_text(&v, buf, 27, &len), -1);
    assert_int_equal(syncc_value_to_text(&v, buf, 28, &len), 0);
    assert_int_equal(len, 27);
    v = v_date(0);
    assert_int_equal(syncc_value_to_text(&v, buf, 10, &len), -1);
    v.type = SYNC_TYPE_BOOL;
    v.u.b = 0;
    assert_int_equal(syncc_value_to_text(&v, buf, 5, &len), -1);
    v.type = SYNC_TYPE_FLOAT;
    v.u.f = 0.125;
    assert_int_equal(syncc_value_to_text(&v, buf, 5, &len), -1);
    assert_int_equal(syncc_value_to_text(&v, buf, 6, &len), 0);
    assert_string_equal(buf, "0.125");
    /* len_out may be NULL */
    assert_int_equal(syncc_value_to_text(&v, buf, sizeof(buf), NULL), 0);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(syncc_type_name(SYNC_TYPE_NULL), "null");
    assert_string_equal(syncc_type_name(SYNC_TYPE_BOOL), "bool");
    assert_string_equal(syncc_type_name(SYNC_TYPE_INT), "integer");
    assert_string_equal(syncc_type_name(SYNC_TYPE_FLOAT), "float");
    assert_string_equal(syncc_type_name(SYNC_TYPE_STRING), "string");
    assert_string_equal(syncc_type_name(SYNC_TYPE_TIMESTAMP), "timestamp");
    assert_string_equal(syncc_type_name(SYNC_TYPE_DATE), "date");
    assert_string_equal(syncc_type_name(SYNC_TYPE_JSON), "json");
    assert_string_equal(syncc_type_name((sync_type)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_set_and_overwrite),
        cmocka_unit_test(test_many_fields),
        cmocka_unit_test(test_find_with_hints),
        cmocka_unit_test(test_interning),
        cmocka_unit_test(test_100k_records_with_reset),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_big_values_and_reset),
        cmocka_unit_test(test_strings_with_nul_bytes),
        cmocka_unit_test(test_cursors),
        cmocka_unit_test(test_text_scalars),
        cmocka_unit_test(test_text_floats),
        cmocka_unit_test(test_text_timestamps),
        cmocka_unit_test(test_text_dates),
        cmocka_unit_test(test_text_overflow),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
