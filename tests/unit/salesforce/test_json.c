/*
 * test_json.c - the pull reader query pages are read with: what it accepts
 * and refuses (jansson's rules), values and their types, escapes decoded,
 * spans of skipped objects, nesting limits, and error positions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <jansson.h>

#include "salesforce/sf_json.h"

static int valid(const char *text)
{
    return sf_json_valid(text, strlen(text));
}

/* Both readers agree on text, and the answer is want. */
static void expect_valid(const char *text, int want)
{
    json_t *t = json_loadb(text, strlen(text), JSON_ALLOW_NUL, NULL);
    assert_int_equal(t != NULL, want);
    json_decref(t);
    assert_int_equal(valid(text), want);
}

static void test_accepts(void **state)
{
    (void)state;
    const char *good[] = {
        "{}", "[]", " \t\r\n{ } \n", "[1,-0,0.5,-1.25e+3,2E-2,9223372036854775807,-9223372036854775808]",
        "{\"a\":{\"b\":[true,false,null,\"\"]}}", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\"]",
        "[\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"]", "[1e-400]", "{\"\":1}", "[\"\x7f\"]",
        "[\"\\u0000\"]", "{\"LastName\":\"a\\u0000b\"}",
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        expect_valid(good[i], 1);
}

static void test_refuses(void **state)
{
    (void)state;
    const char *bad[] = {
        "", "1", "\"text\"", "null", "{", "[1,]", "{\"a\":1,}", "{\"a\"}", "{a:1}", "[01]", "[-]", "[1.]",
        "[1e]", "[.5]", "[+1]", "[tru]", "[nul]", "[truex]", "{} x", "{}{}", "[\"a\nb\"]", "[\"\\x\"]",
        "[\"\\u12\"]", "{\"k\\u0000\":1}", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"\\ud800\\u0041\"]",
        "[\"\xc0\xaf\"]", "[\"\xe0\x80\xaf\"]", "[\"\xed\xa0\x80\"]", "[\"\xf4\x90\x80\x80\"]", "[\"\xff\"]",
        "[\"\xc3\"]", "[9223372036854775808]", "[-9223372036854775809]", "[1e400]", "[-1e400]", "[\"abc",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_valid(bad[i], 0);
}

static void test_values(void **state)
{
    (void)state;
    const char *text = "{\"i\":-42,\"r\":2.5e3,\"s\":\"a\\u00e9\\n\",\"t\":true,\"o\":{\"x\":[1,{}]},\"n\":null}";
    sf_json j;
    sf_jval v, k;
    sf_json_init(&j, text, strlen(text));
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_OBJECT);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(k.len, 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_INT);
    assert_true(v.i == -42);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_REAL);
    assert_true(v.r == 2500.0);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_STRING);
    assert_true(v.escaped);
    char out[32];
    size_t n = sf_json_unescape(&v, out);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "a\xc3\xa9\n", 4);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_TRUE);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_OBJECT);
    assert_int_equal(sf_json_skip(&j, &v), 0);
    assert_int_equal(v.len, strlen("{\"x\":[1,{}]}"));
    assert_memory_equal(v.ptr, "{\"x\":[1,{}]}", v.len);

    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_any(&j, &v), 0);
    assert_int_equal(v.type, SF_J_NULL);

    assert_int_equal(sf_json_next(&j, &k), 0);
    assert_int_equal(sf_json_finish(&j), 0);
}

static void test_surrogate_pair(void **state)
{
    (void)state;
    const char *text = "[\"\\uD83D\\uDE00x\"]";
    sf_json j;
    sf_jval v;
    sf_json_init(&j, text, strlen(text));
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(sf_json_next(&j, NULL), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    char out[16];
    size_t n = sf_json_unescape(&v, out);
    assert_int_equal(n, 5);
    assert_memory_equal(out, "\xf0\x9f\x98\x80x", 5);
}

/* Nesting: 2048 levels are fine (as for jansson), a value inside them is one too many. */
static void test_depth(void **state)
{
    (void)state;
    static char text[2 * SF_JSON_MAX_DEPTH + 8];
    size_t d = SF_JSON_MAX_DEPTH;
    memset(text, '[', d);
    memset(text + d, ']', d);
    text[2 * d] = '\0';
    expect_valid(text, 1);
    memset(text, '[', d);
    text[d] = '1';
    memset(text + d + 1, ']', d);
    text[2 * d + 1] = '\0';
    expect_valid(text, 0);
}

/* \u0000 is valid JSON: it decodes to a NUL byte inside a string with a length */
static void test_nul_escape(void **state)
{
    (void)state;
    const char *text = "{\"LastName\":\"Ng\\u0000uyen\\u0000\"}";
    sf_json j;
    sf_jval v, k;
    sf_json_init(&j, text, strlen(text));
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(sf_json_next(&j, &k), 1);
    assert_int_equal(sf_json_value(&j, &v), 0);
    assert_int_equal(v.type, SF_J_STRING);
    assert_true(v.escaped);
    char out[64];
    size_t n = sf_json_unescape(&v, out);
    assert_int_equal(n, 8);
    assert_memory_equal(out, "Ng\0uyen\0", 8);
    assert_int_equal(sf_json_next(&j, &k), 0);
    assert_int_equal(sf_json_finish(&j), 0);
    /* a raw NUL byte is still no JSON */
    assert_int_equal(sf_json_valid("[\"a\0b\"]", 6), 0);
}

static void test_error_position(void **state)
{
    (void)state;
    const char *text = "{\n\"a\": 1,\n\"b\": tru\n}";
    sf_json j;
    sf_jval v;
    sf_json_init(&j, text, strlen(text));
    assert_int_equal(sf_json_any(&j, &v), -1);
    assert_non_null(j.err);
    assert_int_equal(sf_json_error_line(&j), 3);
    /* failed stays failed */
    assert_int_equal(sf_json_next(&j, NULL), -1);
    assert_int_equal(sf_json_finish(&j), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts),
        cmocka_unit_test(test_refuses),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_surrogate_pair),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_nul_escape),
        cmocka_unit_test(test_error_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
