/*
 * test_hs_json.c - the http source's JSON pointers, URL templates, cursor
 * value order, field types and typed records, against the mock host table
 * of the connector tests (tests/unit/salesforce/mock_host.h: it depends on
 * nothing in the core).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../salesforce/mock_host.h"

#include "http/hs.h"

static int setup(void **state)
{
    (void)state;
    mock_reset();
    hs_host = &mock_host_table;
    return 0;
}

static void test_pointer(void **state)
{
    (void)state;
    json_t *doc = json_loads("{\"a\": {\"b/c\": [1, {\"d~e\": \"x\"}]}, \"list\": [], \"\": 5}", 0, NULL);
    assert_non_null(doc);
    assert_ptr_equal(hs_ptr_get(doc, ""), doc);
    assert_int_equal(json_integer_value(hs_ptr_get(doc, "/a/b~1c/0")), 1);
    assert_string_equal(json_string_value(hs_ptr_get(doc, "/a/b~1c/1/d~0e")), "x");
    assert_int_equal(json_integer_value(hs_ptr_get(doc, "/")), 5);
    assert_true(json_is_array(hs_ptr_get(doc, "/list")));
    assert_null(hs_ptr_get(doc, "/a/b~1c/2"));
    assert_null(hs_ptr_get(doc, "/a/b~1c/x"));
    assert_null(hs_ptr_get(doc, "/missing/deeper"));
    assert_null(hs_ptr_get(doc, "a"));
    json_decref(doc);
    assert_true(hs_ptr_valid(""));
    assert_true(hs_ptr_valid("/conversations"));
    assert_false(hs_ptr_valid("conversations"));
    assert_false(hs_ptr_valid("/a~2"));
    char *last = hs_ptr_last("/detail/transcript");
    assert_string_equal(last, "transcript");
    free(last);
    last = hs_ptr_last("/a~1b");
    assert_string_equal(last, "a/b");
    free(last);
    assert_null(hs_ptr_last(""));
}

static void test_template(void **state)
{
    (void)state;
    char why[200];
    json_t *it = json_loads("{\"conversation_id\": \"conv 1/x\", \"n\": 42, \"empty\": \"\"}", 0, NULL);
    char *p = hs_template("/v1/convai/conversations/{conversation_id}", it, why, sizeof why);
    assert_string_equal(p, "/v1/convai/conversations/conv%201%2Fx");
    free(p);
    p = hs_template("/items/{n}/comments", it, why, sizeof why);
    assert_string_equal(p, "/items/42/comments");
    free(p);
    assert_null(hs_template("/x/{missing}", it, why, sizeof why));
    assert_string_equal(why, "the record has no value for {missing}");
    assert_null(hs_template("/x/{empty}", it, why, sizeof why));
    assert_null(hs_template("/x/{n", it, why, sizeof why));
    json_decref(it);
}

static void test_value_order(void **state)
{
    (void)state;
    assert_int_equal(hs_value_cmp("9", "10"), -1); /* numbers as numbers, not text */
    assert_int_equal(hs_value_cmp("1700000000.5", "1700000000"), 1);
    assert_int_equal(hs_value_cmp("2024-03-01T10:00:00Z", "2024-03-01T10:00:00.000+00:00"), 0);
    assert_int_equal(hs_value_cmp("2024-03-01T09:00:00Z", "2024-03-01T10:00:00+01:00"), 0);
    assert_int_equal(hs_value_cmp("abc", "abd"), -1);
}

static void test_field_types(void **state)
{
    (void)state;
    char *name = NULL;
    assert_int_equal(hs_ftype_parse("start_time_unix_secs:unix_seconds", &name), HS_T_UNIX_SECONDS);
    assert_string_equal(name, "start_time_unix_secs");
    free(name);
    assert_int_equal(hs_ftype_parse("a.b : timestamp", &name), HS_T_TIMESTAMP);
    assert_string_equal(name, "a.b");
    free(name);
    assert_int_equal(hs_ftype_parse("x:epoch", &name), -1);
    assert_int_equal(hs_ftype_parse(":json", &name), -1);
    assert_int_equal(hs_ftype_parse("nocolon", &name), -1);
}

static const mock_field *field(const mock_record *r, const char *name)
{
    for (size_t i = 0; i < r->n_fields; i++)
        if (strcmp(r->fields[i].name, name) == 0)
            return &r->fields[i];
    return NULL;
}

static void test_record(void **state)
{
    (void)state;
    hs_ftype ft[] = {{"start", HS_T_UNIX_SECONDS}, {"ms", HS_T_UNIX_MILLIS}, {"day", HS_T_DATE},
                     {"n_as_text", HS_T_STRING}};
    hs_conf c = {.ftypes = ft, .n_ftypes = 4};
    json_t *it = json_loads("{\"id\": \"c1\", \"start\": 1700000000, \"ms\": \"1700000000123\", "
                            "\"day\": \"2024-03-01T23:00:00Z\", \"n_as_text\": 7, \"f\": 2.5, \"ok\": true, "
                            "\"none\": null, \"meta\": {\"cost\": 30, \"inner\": {\"x\": \"y\"}}, "
                            "\"transcript\": [{\"role\": \"user\"}]}", 0, NULL);
    sync_record *rec = hs_host->record_new(NULL, "c1", 2, SYNC_OP_UPSERT);
    assert_int_equal(hs_record_fill(&c, rec, it), SYNC_OK);
    const mock_record *r = &mock.records[0];
    assert_int_equal(field(r, "start")->v.type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(field(r, "start")->v.u.ts, INT64_C(1700000000000000));
    assert_int_equal(field(r, "ms")->v.u.ts, INT64_C(1700000000123000));
    assert_int_equal(field(r, "day")->v.type, SYNC_TYPE_DATE);
    assert_int_equal(field(r, "day")->v.u.ts, 19783);
    assert_int_equal(field(r, "n_as_text")->v.type, SYNC_TYPE_STRING);
    assert_string_equal(field(r, "n_as_text")->v.u.str.ptr, "7");
    assert_int_equal(field(r, "f")->v.type, SYNC_TYPE_FLOAT);
    assert_int_equal(field(r, "ok")->v.type, SYNC_TYPE_BOOL);
    assert_int_equal(field(r, "none")->v.type, SYNC_TYPE_NULL);
    assert_int_equal(field(r, "meta")->v.type, SYNC_TYPE_JSON);
    assert_int_equal(field(r, "meta.cost")->v.type, SYNC_TYPE_INT);
    assert_int_equal(field(r, "meta.cost")->v.u.i, 30);
    assert_string_equal(field(r, "meta.inner.x")->v.u.str.ptr, "y");
    assert_int_equal(field(r, "transcript")->v.type, SYNC_TYPE_JSON);
    assert_string_equal(field(r, "transcript")->v.u.str.ptr, "[{\"role\":\"user\"}]");
    json_decref(it);
}

static void test_origin(void **state)
{
    (void)state;
    assert_true(hs_net_same_origin("https://api.example.com", "https://api.example.com:443/v1/x?page=2"));
    assert_true(hs_net_same_origin("http://127.0.0.1:8080/base", "http://127.0.0.1:8080/other"));
    assert_false(hs_net_same_origin("https://api.example.com", "https://evil.example.com/v1"));
    assert_false(hs_net_same_origin("https://api.example.com", "http://api.example.com/v1"));
    assert_false(hs_net_same_origin("http://127.0.0.1:8080", "http://127.0.0.1:8081/"));
    char *u = hs_net_join("https://api.example.com/", "/v1/convai/conversations");
    assert_string_equal(u, "https://api.example.com/v1/convai/conversations");
    free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pointer, setup),     cmocka_unit_test_setup(test_template, setup),
        cmocka_unit_test_setup(test_value_order, setup), cmocka_unit_test_setup(test_field_types, setup),
        cmocka_unit_test_setup(test_record, setup),      cmocka_unit_test_setup(test_origin, setup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    mock_reset();
    free(mock.records);
    return rc;
}
