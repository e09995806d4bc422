/*
 * test_convert.c - record values into Salesforce field values, both ways of
 * each type the sink documents: dates, datetimes with zones (to UTC),
 * numbers, booleans, multi-select picklists (";"-joined text and JSON arrays),
 * '' versus null; and what does not fit (restricted picklists, lengths,
 * types), with its reason.  Also the describe members the fit is read from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mock_host.h"

#include "salesforce/sf_convert.h"
#include "salesforce/sf_describe.h"

static sf_object_desc *desc;

static const char *describe_json =
    "{\"name\":\"Contact\",\"label\":\"Contact\",\"custom\":false,\"fields\":["
    "{\"name\":\"LastName\",\"label\":\"Last Name\",\"type\":\"string\",\"length\":8,\"nillable\":false,"
    "\"createable\":true,\"updateable\":true,\"defaultedOnCreate\":false,\"custom\":false},"
    "{\"name\":\"Segment__c\",\"label\":\"Segment\",\"type\":\"picklist\",\"length\":255,\"nillable\":true,"
    "\"createable\":true,\"updateable\":true,\"custom\":true,\"restrictedPicklist\":true,\"picklistValues\":["
    "{\"value\":\"Enterprise\",\"active\":true},{\"value\":\"Old\",\"active\":false},{\"value\":\"SMB\",\"active\":true}]},"
    "{\"name\":\"Tags__c\",\"label\":\"Tags\",\"type\":\"picklist\",\"length\":255,\"nillable\":true,"
    "\"createable\":true,\"updateable\":true,\"custom\":true,\"restrictedPicklist\":false,\"picklistValues\":["
    "{\"value\":\"a\",\"active\":true}]},"
    "{\"name\":\"Interests__c\",\"label\":\"Interests\",\"type\":\"multipicklist\",\"length\":4099,"
    "\"nillable\":true,\"createable\":true,\"updateable\":true,\"custom\":true,\"restrictedPicklist\":true,"
    "\"picklistValues\":[{\"value\":\"News\",\"active\":true},{\"value\":\"Events\",\"active\":true}]},"
    "{\"name\":\"Score__c\",\"type\":\"double\",\"label\":\"Score\",\"nillable\":true,\"createable\":true,"
    "\"updateable\":true},"
    "{\"name\":\"Discount__c\",\"type\":\"percent\",\"label\":\"Discount\",\"nillable\":true,\"createable\":true,"
    "\"updateable\":true},"
    "{\"name\":\"Seats__c\",\"type\":\"int\",\"label\":\"Seats\",\"nillable\":true,\"createable\":true,"
    "\"updateable\":true},"
    "{\"name\":\"Newsletter__c\",\"type\":\"boolean\",\"label\":\"Newsletter\",\"nillable\":false,"
    "\"createable\":true,\"updateable\":true,\"defaultedOnCreate\":true},"
    "{\"name\":\"Signup__c\",\"type\":\"date\",\"label\":\"Signup\",\"nillable\":true,\"createable\":true,"
    "\"updateable\":true},"
    "{\"name\":\"Last_Open__c\",\"type\":\"datetime\",\"label\":\"Last Open\",\"nillable\":true,"
    "\"createable\":true,\"updateable\":true},"
    "{\"name\":\"OwnerId\",\"type\":\"reference\",\"label\":\"Owner ID\",\"length\":18,\"nillable\":false,"
    "\"createable\":true,\"updateable\":true,\"defaultedOnCreate\":true,\"referenceTo\":[\"User\"]}"
    "]}";

static int setup(void **state)
{
    (void)state;
    mock_reset();
    mock_install();
    json_t *js = json_loads(describe_json, 0, NULL);
    assert_non_null(js);
    assert_int_equal(sf_describe_parse(js, &desc), SYNC_OK);
    json_decref(js);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sf_describe_free(desc);
    desc = NULL;
    return 0;
}

/* The JSON text sf_value_json makes of v for field name, or "REJECT: why". */
static char out[512];

static const char *conv(const char *name, sync_value v)
{
    const sf_field_desc *f = sf_describe_field(desc, name);
    assert_non_null(f);
    sf_fit fit;
    assert_int_equal(sf_fit_from(&fit, f), SYNC_OK);
    char why[300] = "";
    json_t *j = sf_value_json(&fit, &v, why, sizeof why);
    if (j == NULL) {
        snprintf(out, sizeof out, "REJECT: %s", why);
    } else {
        char *t = json_dumps(j, JSON_ENCODE_ANY);
        snprintf(out, sizeof out, "%s", t);
        free(t);
        json_decref(j);
    }
    sf_fit_free(&fit);
    return out;
}

static sync_value str(const char *s)
{
    sync_value v = {.type = SYNC_TYPE_STRING};
    v.u.str.ptr = s;
    v.u.str.len = strlen(s);
    return v;
}

static sync_value jsn(const char *s)
{
    sync_value v = str(s);
    v.type = SYNC_TYPE_JSON;
    return v;
}

static sync_value num(int64_t i)
{
    sync_value v = {.type = SYNC_TYPE_INT};
    v.u.i = i;
    return v;
}

static sync_value dbl(double d)
{
    sync_value v = {.type = SYNC_TYPE_FLOAT};
    v.u.f = d;
    return v;
}

static sync_value boolean(int b)
{
    sync_value v = {.type = SYNC_TYPE_BOOL};
    v.u.b = b;
    return v;
}

static sync_value ts(int64_t usec)
{
    sync_value v = {.type = SYNC_TYPE_TIMESTAMP};
    v.u.ts = usec;
    return v;
}

static sync_value day(int64_t days)
{
    sync_value v = {.type = SYNC_TYPE_DATE};
    v.u.ts = days;
    return v;
}

static void test_describe_members(void **state)
{
    (void)state;
    const sf_field_desc *f = sf_describe_field(desc, "Segment__c");
    assert_string_equal(f->label, "Segment");
    assert_int_equal(f->length, 255);
    assert_true(f->custom);
    assert_true(f->restricted);
    assert_int_equal(f->n_picklist, 2); /* the inactive value is left out */
    assert_string_equal(f->picklist[0], "Enterprise");
    assert_string_equal(f->picklist[1], "SMB");
    assert_true(sf_describe_required(sf_describe_field(desc, "LastName")));
    assert_false(sf_describe_required(sf_describe_field(desc, "OwnerId")));       /* defaulted on create */
    assert_false(sf_describe_required(sf_describe_field(desc, "Newsletter__c"))); /* a boolean */
    assert_false(sf_describe_required(f));
    assert_string_equal(desc->label, "Contact");
}

static void test_null_and_empty(void **state)
{
    (void)state;
    sync_value null = {.type = SYNC_TYPE_NULL};
    assert_string_equal(conv("LastName", null), "null");
    assert_string_equal(conv("LastName", str("")), "null");
    assert_string_equal(conv("Score__c", str("")), "null");
    assert_string_equal(conv("Signup__c", str("")), "null");
    assert_string_equal(conv("Segment__c", str("")), "null");
    assert_string_equal(conv("Interests__c", str(" ; ")), "null");
}

static void test_dates(void **state)
{
    (void)state;
    /* 2024-03-01T08:30:00Z */
    int64_t t = INT64_C(1709281800) * 1000000;
    assert_string_equal(conv("Last_Open__c", ts(t)), "\"2024-03-01T08:30:00.000Z\"");
    assert_string_equal(conv("Signup__c", ts(t)), "\"2024-03-01\"");
    assert_string_equal(conv("Signup__c", day(19783)), "\"2024-03-01\"");
    assert_string_equal(conv("Last_Open__c", day(19783)), "\"2024-03-01T00:00:00.000Z\"");
    /* zones become UTC */
    assert_string_equal(conv("Last_Open__c", str("2024-03-01T10:30:00+02:00")), "\"2024-03-01T08:30:00.000Z\"");
    assert_string_equal(conv("Last_Open__c", str("2024-02-29T23:30:00-09:00")), "\"2024-03-01T08:30:00.000Z\"");
    assert_string_equal(conv("Last_Open__c", str("2024-03-01")), "\"2024-03-01T00:00:00.000Z\"");
    assert_string_equal(conv("Signup__c", str("2024-03-01")), "\"2024-03-01\"");
    assert_string_equal(conv("Signup__c", str("2024-03-01T01:00:00+02:00")), "\"2024-02-29\"");
    assert_string_equal(conv("Signup__c", str("2024-02-30")), "REJECT: '2024-02-30' is not a date (YYYY-MM-DD)");
    assert_string_equal(conv("Last_Open__c", str("yesterday")),
                        "REJECT: 'yesterday' is not a datetime (YYYY-MM-DD or an ISO 8601 time with its zone)");
    assert_string_equal(conv("Signup__c", boolean(1)), "REJECT: bool values cannot be written to a field of this type");
}

static void test_numbers(void **state)
{
    (void)state;
    assert_string_equal(conv("Score__c", num(42)), "42");
    assert_string_equal(conv("Score__c", dbl(4.5)), "4.5");
    assert_string_equal(conv("Discount__c", str("12.5")), "12.5");
    assert_string_equal(conv("Seats__c", str("12")), "12");
    assert_string_equal(conv("Seats__c", dbl(3.0)), "3");
    assert_string_equal(conv("Seats__c", dbl(3.5)), "REJECT: 3.5 is not an integer");
    assert_string_equal(conv("Seats__c", str("12.5")), "REJECT: '12.5' is not a number");
    assert_string_equal(conv("Score__c", str("abc")), "REJECT: 'abc' is not a number");
    assert_string_equal(conv("LastName", num(7)), "\"7\"");
}

static void test_booleans(void **state)
{
    (void)state;
    assert_string_equal(conv("Newsletter__c", boolean(1)), "true");
    assert_string_equal(conv("Newsletter__c", num(0)), "false");
    assert_string_equal(conv("Newsletter__c", str("t")), "true");
    assert_string_equal(conv("Newsletter__c", str("No")), "false");
    assert_string_equal(conv("Newsletter__c", str("TRUE")), "true");
    assert_string_equal(conv("Newsletter__c", str("maybe")), "REJECT: 'maybe' is not a boolean");
    assert_string_equal(conv("Newsletter__c", num(2)), "REJECT: integer values cannot be written to a field of this type");
    assert_string_equal(conv("LastName", boolean(0)), "\"false\"");
}

static void test_picklists(void **state)
{
    (void)state;
    assert_string_equal(conv("Segment__c", str("SMB")), "\"SMB\"");
    assert_string_equal(conv("Segment__c", str("Old")), "REJECT: 'Old' is not a value of this restricted picklist");
    assert_string_equal(conv("Segment__c", str("smb")), "REJECT: 'smb' is not a value of this restricted picklist");
    assert_string_equal(conv("Tags__c", str("anything")), "\"anything\""); /* not restricted */
    /* multi-select: ";"-joined text or a JSON array, both ways to "a;b" */
    assert_string_equal(conv("Interests__c", str("News;Events")), "\"News;Events\"");
    assert_string_equal(conv("Interests__c", str(" News ; Events ;")), "\"News;Events\"");
    assert_string_equal(conv("Interests__c", jsn("[\"News\",\"Events\"]")), "\"News;Events\"");
    assert_string_equal(conv("Interests__c", str("[\"Events\"]")), "\"Events\"");
    assert_string_equal(conv("Interests__c", jsn("[]")), "null");
    assert_string_equal(conv("Interests__c", str("News;Golf")),
                        "REJECT: 'Golf' is not a value of this restricted multi-select picklist");
    assert_string_equal(conv("Interests__c", jsn("[\"News\",3]")),
                        "REJECT: a multi-select picklist takes a JSON array of strings without ';'");
    assert_string_equal(conv("Interests__c", jsn("{\"a\":1}")),
                        "REJECT: a multi-select picklist takes a JSON array of strings");
}

static void test_lengths(void **state)
{
    (void)state;
    assert_string_equal(conv("LastName", str("Lovelace")), "\"Lovelace\"");
    assert_string_equal(conv("LastName", str("Lovelaces")), "REJECT: 9 characters, the field holds at most 8");
    /* characters, not bytes */
    assert_string_equal(conv("LastName", str("\xc3\x89l\xc3\xa9onore")), "\"\xc3\x89l\xc3\xa9onore\"");
    assert_string_equal(conv("LastName", num(123456789)), "REJECT: 9 characters, the field holds at most 8");
}

static void test_static_checks(void **state)
{
    (void)state;
    sf_fit fit;
    char why[200];
    assert_int_equal(sf_fit_from(&fit, sf_describe_field(desc, "Signup__c")), SYNC_OK);
    assert_true(sf_type_converts(SYNC_TYPE_TIMESTAMP, &fit));
    assert_true(sf_type_converts(SYNC_TYPE_STRING, &fit));
    assert_false(sf_type_converts(SYNC_TYPE_BOOL, &fit));
    assert_false(sf_type_converts(SYNC_TYPE_FLOAT, &fit));
    sf_fit_free(&fit);
    assert_int_equal(sf_fit_from(&fit, sf_describe_field(desc, "Segment__c")), SYNC_OK);
    assert_true(sf_text_fits(&fit, "Enterprise", why, sizeof why));
    assert_false(sf_text_fits(&fit, "Gold", why, sizeof why));
    assert_string_equal(why, "'Gold' is not a value of this restricted picklist");
    sf_fit_free(&fit);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_describe_members, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_numbers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_booleans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_picklists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_static_checks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
