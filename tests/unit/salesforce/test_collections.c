/*
 * test_collections.c - sObject Collections shapes: call paths per kind,
 * request bodies, and reading per-record results (success, upsert created,
 * errors with codes and fields, answers that do not match the call).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mock_host.h"

#include "salesforce/sf_collections.h"

static int setup(void **state)
{
    (void)state;
    mock_reset();
    mock_install();
    return 0;
}

static void test_paths(void **state)
{
    (void)state;
    sf_buf b = SF_BUF_INIT;
    assert_int_equal(sf_coll_path(&b, "61.0", SF_WOP_CREATE, "Contact", NULL, NULL, 0), SYNC_OK);
    assert_string_equal(b.ptr, "/services/data/v61.0/composite/sobjects");
    assert_int_equal(sf_coll_path(&b, "61.0", SF_WOP_UPSERT, "Contact", "Ext_Id__c", NULL, 0), SYNC_OK);
    assert_string_equal(b.ptr, "/services/data/v61.0/composite/sobjects/Contact/Ext_Id__c");
    const char *ids[] = {"0035g00003H1h2wAAB", "0035g00003H1h2x"};
    assert_int_equal(sf_coll_path(&b, "59.0", SF_WOP_DELETE, "Contact", NULL, ids, 2), SYNC_OK);
    assert_string_equal(b.ptr,
                        "/services/data/v59.0/composite/sobjects?ids=0035g00003H1h2wAAB,0035g00003H1h2x&allOrNone=false");
    sf_buf_free(&b);
    assert_string_equal(sf_wop_method(SF_WOP_CREATE), "POST");
    assert_string_equal(sf_wop_method(SF_WOP_UPSERT), "PATCH");
    assert_string_equal(sf_wop_method(SF_WOP_UPDATE), "PATCH");
    assert_string_equal(sf_wop_method(SF_WOP_DELETE), "DELETE");
}

static void test_ids(void **state)
{
    (void)state;
    assert_true(sf_coll_is_id("0035g00003H1h2wAAB"));
    assert_true(sf_coll_is_id("0035g00003H1h2w"));
    assert_false(sf_coll_is_id("0035g00003H1h2wAA"));
    assert_false(sf_coll_is_id("0035g00003H1h2w'B"));
    assert_false(sf_coll_is_id(""));
    assert_false(sf_coll_is_id(NULL));
}

static void test_body(void **state)
{
    (void)state;
    json_t *a = json_pack("{s:{s:s},s:s,s:n}", "attributes", "type", "Contact", "LastName", "O'Brien", "Email");
    json_t *b = json_pack("{s:{s:s},s:s}", "attributes", "type", "Contact", "LastName", "Ünïcödé");
    json_t *recs[] = {a, b};
    size_t len = 0;
    char *text = sf_coll_body(recs, 2, &len);
    assert_non_null(text);
    assert_int_equal(len, strlen(text));
    json_t *back = json_loads(text, 0, NULL);
    assert_non_null(back);
    assert_true(json_is_false(json_object_get(back, "allOrNone")));
    assert_int_equal(json_array_size(json_object_get(back, "records")), 2);
    assert_true(json_equal(json_array_get(json_object_get(back, "records"), 0), a));
    assert_true(json_equal(json_array_get(json_object_get(back, "records"), 1), b));
    json_decref(back);
    free(text);
    json_decref(a);
    json_decref(b);
}

static void test_results(void **state)
{
    (void)state;
    const char *text =
        "[{\"id\":\"0035g00003H1h2wAAB\",\"success\":true,\"errors\":[],\"created\":true},"
        " {\"id\":\"0035g00003H1h2xAAB\",\"success\":true,\"errors\":[],\"created\":false},"
        " {\"id\":null,\"success\":false,\"errors\":[{\"statusCode\":\"INVALID_EMAIL_ADDRESS\","
        "   \"message\":\"Email: invalid email address: x\",\"fields\":[\"Email\"]},"
        "  {\"statusCode\":\"STRING_TOO_LONG\",\"message\":\"Title: data value too large\",\"fields\":[\"Title\",\"Name\"]}]},"
        " {\"success\":false,\"errors\":[]}]";
    json_t *answer = json_loads(text, 0, NULL);
    char why[200];
    assert_int_equal(sf_coll_check(answer, 4, why, sizeof why), SYNC_OK);
    sf_coll_result r;
    sf_coll_result_at(answer, 0, SF_WOP_UPSERT, &r);
    assert_true(r.success);
    assert_true(r.created);
    assert_string_equal(r.id, "0035g00003H1h2wAAB");
    sf_coll_result_at(answer, 1, SF_WOP_UPSERT, &r);
    assert_true(r.success);
    assert_false(r.created);
    sf_coll_result_at(answer, 1, SF_WOP_CREATE, &r);
    assert_true(r.created);
    sf_coll_result_at(answer, 2, SF_WOP_UPSERT, &r);
    assert_false(r.success);
    assert_null(r.id);
    assert_string_equal(r.code, "INVALID_EMAIL_ADDRESS");
    assert_string_equal(r.error, "INVALID_EMAIL_ADDRESS: Email: invalid email address: x (fields: Email); "
                                 "STRING_TOO_LONG: Title: data value too large (fields: Title, Name)");
    sf_coll_result_at(answer, 3, SF_WOP_UPDATE, &r);
    assert_false(r.success);
    assert_null(r.code);
    assert_string_equal(r.error, "the record failed without an error");
    json_decref(answer);
}

static void test_answer_mismatch(void **state)
{
    (void)state;
    char why[200];
    json_t *answer = json_loads("[{\"id\":\"x\",\"success\":true}]", 0, NULL);
    assert_int_equal(sf_coll_check(answer, 2, why, sizeof why), SYNC_E_PROTOCOL);
    assert_string_equal(why, "the answer has 1 results for 2 records");
    json_decref(answer);
    answer = json_loads("{\"records\":[]}", 0, NULL);
    assert_int_equal(sf_coll_check(answer, 1, why, sizeof why), SYNC_E_PROTOCOL);
    json_decref(answer);
    answer = json_loads("[{\"id\":\"x\"}]", 0, NULL);
    assert_int_equal(sf_coll_check(answer, 1, why, sizeof why), SYNC_E_PROTOCOL);
    assert_string_equal(why, "result 1 has no \"success\"");
    json_decref(answer);
    assert_int_equal(sf_coll_check(NULL, 0, why, sizeof why), SYNC_E_PROTOCOL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_paths, setup),
        cmocka_unit_test_setup(test_ids, setup),
        cmocka_unit_test_setup(test_body, setup),
        cmocka_unit_test_setup(test_results, setup),
        cmocka_unit_test_setup(test_answer_mismatch, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
