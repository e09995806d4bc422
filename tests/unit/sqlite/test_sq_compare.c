/*
 * test_sq_compare.c - the canonical values of the SQLite connector's compare
 * operations, no database: numbers as plain decimals (what PostgreSQL's
 * trim_scale(numeric)::text prints), JSON as jsonb prints it (keys by length
 * then bytes, ", " and ": ", numbers kept at their scale), and MD5.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlite/sq_compare.h"

static void dec(const char *in, const char *want)
{
    char out[128];
    int n = sq_canon_decimal(in, out, sizeof(out));
    if (want == NULL) {
        assert_int_equal(n, -1);
        return;
    }
    assert_int_equal(n, (int)strlen(want));
    assert_string_equal(out, want);
}

static void test_decimal(void **st)
{
    (void)st;
    dec("1.50", "1.5");
    dec("-0", "0");
    dec("-0.000", "0");
    dec("00.5", "0.5");
    dec("1e3", "1000");
    dec("1.25E-3", "0.00125");
    dec("100", "100");
    dec("-12.3400", "-12.34");
    dec(" 7 ", "7");
    dec("+2.0", "2");
    dec("1e-07", "0.0000001");
    dec("abc", NULL);
    dec("1.2.3", NULL);
    dec("", NULL);
}

static void json(const char *in, const char *want)
{
    char *out = sq_canon_json(in, strlen(in));
    if (want == NULL) {
        assert_null(out);
        return;
    }
    assert_non_null(out);
    assert_string_equal(out, want);
    free(out);
}

static void test_json(void **st)
{
    (void)st;
    json("{\"bb\":1,\"a\":[1,2.50,{\"z\":null,\"y\":true}],\"ccc\":\"x\"}",
         "{\"a\": [1, 2.50, {\"y\": true, \"z\": null}], \"bb\": 1, \"ccc\": \"x\"}");
    json(" { \"a\" : 1 , \"a\" : 2 } ", "{\"a\": 2}");
    json("[1e2, -0, 1.5E-1]", "[100, 0, 0.15]");
    json("\"tab\\there \\u00e9 \\ud83d\\ude00 \\/\"", "\"tab\\there \xc3\xa9 \xf0\x9f\x98\x80 /\"");
    json("\"\\u0001\"", "\"\\u0001\"");
    /* every two-character escape read and written back as PostgreSQL's escape_json writes it */
    json("\"\\\"\\\\\\b\\f\\n\\r\\t\"", "\"\\\"\\\\\\b\\f\\n\\r\\t\"");
    /* the same bytes spelt as \u escapes; a control byte without a short escape stays \u */
    json("\"\\u0022\\u005c\\u0008\\u000c\\u000a\\u000d\\u0009\\u001f\\u002f\"",
         "\"\\\"\\\\\\b\\f\\n\\r\\t\\u001f/\"");
    json("\"\\x\"", NULL);
    json("{}", "{}");
    json("[]", "[]");
    json("{\"a\":}", NULL);
    json("[1,]", NULL);
    json("\"\\u0000\"", NULL);
    json("1 2", NULL);
}

static void test_md5(void **st)
{
    (void)st;
    static const struct {
        const char *in, *hex;
    } v[] = {{"", "d41d8cd98f00b204e9800998ecf8427e"},
             {"abc", "900150983cd24fb0d6963f7d28e17f72"},
             {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
              "57edf4a22be3c955ac49da2e2107b67a"}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unsigned char d[16];
        char hex[33];
        sq_md5(v[i].in, strlen(v[i].in), d);
        for (int k = 0; k < 16; k++)
            snprintf(hex + 2 * k, 3, "%02x", d[k]);
        assert_string_equal(hex, v[i].hex);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_md5),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
