/*
 * test_d1_conn.c - the D1 backend's pure helpers, no network: which API URLs
 * are accepted (https, or http to loopback only), cursor values to and from
 * D1's JSON parameters and answers (numbers, text with a NUL and quotes,
 * null), a batch's statements and their parameters, the rows and changes of
 * an answer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlite/d1_conn.h"

static void test_urls(void **st)
{
    (void)st;
    char why[256];
    assert_int_equal(d1_url_allowed("https://api.cloudflare.com/client/v4", why, sizeof(why)), 0);
    assert_int_equal(d1_url_allowed("http://127.0.0.1:8080/client/v4", why, sizeof(why)), 0);
    assert_int_equal(d1_url_allowed("http://localhost/client/v4", why, sizeof(why)), 0);
    assert_int_equal(d1_url_allowed("http://[::1]:9/x", why, sizeof(why)), 0);
    assert_int_equal(d1_url_allowed("http://api.cloudflare.com/client/v4", why, sizeof(why)), -1);
    assert_string_equal(why, "plain http is only allowed to loopback hosts, not \"api.cloudflare.com\"; use https");
    assert_int_equal(d1_url_allowed("http://128.0.0.1/", why, sizeof(why)), -1);
    assert_int_equal(d1_url_allowed("ftp://example.com/", why, sizeof(why)), -1);
    assert_string_equal(why, "unsupported URL scheme \"ftp\" (use https)");
    assert_int_equal(d1_url_allowed("not a url", why, sizeof(why)), -1);
}

static void test_values(void **st)
{
    (void)st;
    d1_batch b;
    assert_int_equal(d1_batch_init(&b), SYNC_OK);
    json_t *p = d1_batch_add(&b, "SELECT ?1, ?2, ?3, ?4");
    assert_non_null(p);
    sq_val v[4] = {{.type = SQ_V_INT, .i = INT64_C(9007199254740993)}, {.type = SQ_V_REAL, .r = 2.5},
                   {.type = SQ_V_TEXT, .text = "a\0\"b", .len = 4}, {.type = SQ_V_NULL}};
    for (int i = 0; i < 4; i++)
        assert_int_equal(d1_param_val(p, &v[i]), SYNC_OK);
    assert_int_equal(d1_batch_count(&b), 1);
    char *dump = json_dumps(b.items, JSON_COMPACT);
    assert_string_equal(dump, "[{\"sql\":\"SELECT ?1, ?2, ?3, ?4\",\"params\":[9007199254740993,2.5,\"a\\u0000\\\"b\",null]}]");
    free(dump);
    /* and back, as an answer's values */
    sq_val out = {0};
    for (int i = 0; i < 4; i++) {
        d1_val_from_json(json_array_get(p, (size_t)i), &out);
        assert_int_equal(out.type, v[i].type);
        if (v[i].type == SQ_V_INT)
            assert_true(out.i == v[i].i);
        if (v[i].type == SQ_V_REAL)
            assert_true(out.r == v[i].r);
        if (v[i].type == SQ_V_TEXT) {
            assert_int_equal(out.len, 4);
            assert_memory_equal(out.text, "a\0\"b", 4);
        }
    }
    sq_val_clear(&out);
    d1_batch_free(&b);
}

static void test_answer(void **st)
{
    (void)st;
    json_t *res = json_loads("[{\"results\":[],\"success\":true,\"meta\":{\"changes\":0}},"
                             "{\"results\":[{\"n\":3}],\"success\":true,\"meta\":{\"changes\":2}}]", 0, NULL);
    assert_non_null(res);
    assert_int_equal(json_array_size(d1_rows(res, 0)), 0);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(d1_rows(res, 1), 0), "n")), 3);
    assert_int_equal(d1_changes(res, 0), 0);
    assert_int_equal(d1_changes(res, 1), 2);
    assert_null(d1_rows(res, 2));
    assert_int_equal(d1_changes(res, 5), 0);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_urls),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
