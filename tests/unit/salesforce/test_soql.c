/*
 * test_soql.c - SOQL text: literal escaping, names, datetime literals, the
 * keyset query with and without lookback and filter, and cursors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mock_host.h"

#include "salesforce/sf_cursor.h"
#include "salesforce/sf_soql.h"

static int setup(void **state)
{
    mock_reset();
    mock_install();
    return 0;
}

/* Quotes s and returns the literal (static buffer), or NULL if refused. */
static const char *quote(const char *s, size_t len, int like)
{
    static char out[512];
    sf_buf b = SF_BUF_INIT;
    int rc = sf_soql_quote(&b, s, len, like);
    if (rc != SYNC_OK) {
        sf_buf_free(&b);
        return NULL;
    }
    snprintf(out, sizeof out, "%s", b.ptr);
    sf_buf_free(&b);
    return out;
}

static void test_quote_plain_and_quotes(void **state)
{
    assert_string_equal(quote("Acme", 4, 0), "'Acme'");
    assert_string_equal(quote("", 0, 0), "''");
    assert_string_equal(quote("O'Brien", 7, 0), "'O\\'Brien'");
    assert_string_equal(quote("say \"hi\"", 8, 0), "'say \\\"hi\\\"'");
    /* the classic injection attempt stays inside the literal */
    assert_string_equal(quote("x' OR Name != '", 15, 0), "'x\\' OR Name != \\''");
}

static void test_quote_backslash_and_controls(void **state)
{
    assert_string_equal(quote("a\\b", 3, 0), "'a\\\\b'");
    assert_string_equal(quote("l1\nl2\r\t", 7, 0), "'l1\\nl2\\r\\t'");
    assert_string_equal(quote("\b\f", 2, 0), "'\\b\\f'");
    /* a trailing backslash must not escape the closing quote */
    assert_string_equal(quote("end\\", 4, 0), "'end\\\\'");
    /* control characters SOQL cannot express are refused, not passed through */
    assert_null(quote("a\001b", 3, 0));
    assert_null(quote("a\0b", 3, 0));
    assert_null(quote("\x7f", 1, 0));
}

static void test_quote_unicode(void **state)
{
    const char *s = "M\xc3\xbcller \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80"; /* Müller 東京 😀 */
    char want[128];
    snprintf(want, sizeof want, "'%s'", s);
    assert_string_equal(quote(s, strlen(s), 0), want);
    /* invalid UTF-8: stray continuation, overlong, surrogate, truncated */
    assert_null(quote("\x80", 1, 0));
    assert_null(quote("\xc0\xaf", 2, 0));
    assert_null(quote("\xed\xa0\x80", 3, 0));
    assert_null(quote("\xe6\x9d", 2, 0));
}

static void test_quote_like_wildcards(void **state)
{
    assert_string_equal(quote("50%_off", 7, 1), "'50\\%\\_off'");
    /* outside LIKE, % and _ are ordinary characters */
    assert_string_equal(quote("50%_off", 7, 0), "'50%_off'");
    assert_string_equal(quote("a'%\\", 4, 1), "'a\\'\\%\\\\'");
}

static void test_valid_names(void **state)
{
    assert_true(sf_soql_valid_name("Contact", 0));
    assert_true(sf_soql_valid_name("Custom_Object__c", 0));
    assert_true(sf_soql_valid_name("Account.Owner.Name", 1));
    assert_false(sf_soql_valid_name("Account.Name", 0));
    assert_false(sf_soql_valid_name("", 1));
    assert_false(sf_soql_valid_name("1Bad", 0));
    assert_false(sf_soql_valid_name("Name FROM User", 1));
    assert_false(sf_soql_valid_name("Name,Id", 1));
    assert_false(sf_soql_valid_name("Account..Name", 1));
    assert_false(sf_soql_valid_name("Account.", 1));
    assert_false(sf_soql_valid_name(".Name", 1));
}

static void test_datetime_literal(void **state)
{
    char buf[SF_DATETIME_MAX];
    /* 2024-05-01T10:00:00Z = 1714557600 */
    assert_int_equal(sf_soql_datetime(INT64_C(1714557600) * 1000000, buf, sizeof buf), SYNC_OK);
    assert_string_equal(buf, "2024-05-01T10:00:00.000Z");
    /* milliseconds kept, microseconds truncated */
    assert_int_equal(sf_soql_datetime(INT64_C(1714557600) * 1000000 + 123999, buf, sizeof buf), SYNC_OK);
    assert_string_equal(buf, "2024-05-01T10:00:00.123Z");
    /* before the epoch */
    assert_int_equal(sf_soql_datetime(-1000, buf, sizeof buf), SYNC_OK);
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(sf_soql_datetime(0, buf, 10), SYNC_E_INVALID);
}

static void test_parse_datetime(void **state)
{
    int64_t us;
    const int64_t base = INT64_C(1714557600) * 1000000;
    assert_int_equal(sf_soql_parse_datetime("2024-05-01T10:00:00.000+0000", 28, &us), SYNC_OK);
    assert_int_equal(us, base);
    assert_int_equal(sf_soql_parse_datetime("2024-05-01T10:00:00.250Z", 24, &us), SYNC_OK);
    assert_int_equal(us, base + 250000);
    assert_int_equal(sf_soql_parse_datetime("2024-05-01T12:00:00+02:00", 25, &us), SYNC_OK);
    assert_int_equal(us, base);
    assert_int_equal(sf_soql_parse_datetime("2024-05-01T10:00:00", 19, &us), SYNC_E_INVALID);
    assert_int_equal(sf_soql_parse_datetime("2024-13-01T10:00:00Z", 20, &us), SYNC_E_INVALID);
    assert_int_equal(sf_soql_parse_datetime("2024-05-01T10:00:00Zjunk", 24, &us), SYNC_E_INVALID);
    /* literal and parser agree */
    char buf[SF_DATETIME_MAX];
    sf_soql_datetime(base + 7000, buf, sizeof buf);
    assert_int_equal(sf_soql_parse_datetime(buf, strlen(buf), &us), SYNC_OK);
    assert_int_equal(us, base + 7000);

    int64_t days;
    assert_int_equal(sf_soql_parse_date("1970-01-02", 10, &days), SYNC_OK);
    assert_int_equal(days, 1);
    assert_int_equal(sf_soql_parse_date("2024-05-01", 10, &days), SYNC_OK);
    assert_int_equal(days, 19844);
    assert_int_equal(sf_soql_parse_date("1969-12-31", 10, &days), SYNC_OK);
    assert_int_equal(days, -1);
    assert_int_equal(sf_soql_parse_date("2024-5-1", 8, &days), SYNC_E_INVALID);
}

static void test_check_condition(void **state)
{
    assert_int_equal(sf_soql_check_condition("Email != null"), SYNC_OK);
    assert_int_equal(sf_soql_check_condition("(A = 1 OR B = 2) AND C = 'x)'"), SYNC_OK);
    assert_int_equal(sf_soql_check_condition("Name = 'it\\'s (fine'"), SYNC_OK);
    assert_int_equal(sf_soql_check_condition("A = 1) OR (B = 2"), SYNC_E_CONFIG);
    assert_int_equal(sf_soql_check_condition("A = 1) OR Id != null OR (B = 2"), SYNC_E_CONFIG);
    assert_int_equal(sf_soql_check_condition("Name = 'open"), SYNC_E_CONFIG);
    assert_int_equal(sf_soql_check_condition("((A = 1)"), SYNC_E_CONFIG);
}

static const char *build(const sf_query *q)
{
    static char out[2048];
    sf_buf b = SF_BUF_INIT;
    assert_int_equal(sf_soql_build(q, &b), SYNC_OK);
    snprintf(out, sizeof out, "%s", b.ptr);
    sf_buf_free(&b);
    return out;
}

static const char *const fields[] = {"Id", "SystemModstamp", "IsDeleted", "Email", "Account.Name"};
static const int64_t T0 = INT64_C(1714557600) * 1000000; /* 2024-05-01T10:00:00Z */

static void test_build_full(void **state)
{
    sf_query q = {"Contact", fields, 5, NULL, 0, 0, NULL, 0, 0, 0, NULL};
    assert_string_equal(build(&q), "SELECT Id, SystemModstamp, IsDeleted, Email, Account.Name FROM Contact");
    q.cursor_field = "SystemModstamp";
    q.has_upper = 1;
    q.upper_ts = T0;
    assert_string_equal(build(&q), "SELECT Id, SystemModstamp, IsDeleted, Email, Account.Name FROM Contact"
                                   " WHERE SystemModstamp <= 2024-05-01T10:00:00.000Z"
                                   " ORDER BY SystemModstamp ASC, Id ASC");
}

static void test_build_keyset(void **state)
{
    sf_query q = {"Contact", fields, 2, "SystemModstamp", 1, T0 - 60000000, "003000000000001AAA", 0,
                  1, T0, NULL};
    assert_string_equal(build(&q),
                        "SELECT Id, SystemModstamp FROM Contact"
                        " WHERE (SystemModstamp > 2024-05-01T09:59:00.000Z OR"
                        " (SystemModstamp = 2024-05-01T09:59:00.000Z AND Id > '003000000000001AAA'))"
                        " AND SystemModstamp <= 2024-05-01T10:00:00.000Z"
                        " ORDER BY SystemModstamp ASC, Id ASC");
}

static void test_build_keyset_with_filter(void **state)
{
    sf_query q = {"Lead", fields, 2, "LastModifiedDate", 1, T0 - 60000000, "00Q000000000001", 0, 1, T0,
                  "Email != null OR Phone != null"};
    assert_string_equal(build(&q),
                        "SELECT Id, SystemModstamp FROM Lead"
                        " WHERE (LastModifiedDate > 2024-05-01T09:59:00.000Z OR"
                        " (LastModifiedDate = 2024-05-01T09:59:00.000Z AND Id > '00Q000000000001'))"
                        " AND LastModifiedDate <= 2024-05-01T10:00:00.000Z"
                        " AND (Email != null OR Phone != null)"
                        " ORDER BY LastModifiedDate ASC, Id ASC");
    /* a filter alone, no cursor field */
    sf_query f = {"Lead", fields, 1, NULL, 0, 0, NULL, 0, 0, 0, "IsConverted = false"};
    assert_string_equal(build(&f), "SELECT Id FROM Lead WHERE (IsConverted = false)");
}

static void test_build_lookback(void **state)
{
    /* lookback drops the Id tiebreak and makes the bound inclusive */
    sf_query q = {"Contact", fields, 1, "SystemModstamp", 1, T0, "003000000000001AAA",
                  INT64_C(300) * 1000000, 1, T0 + 3600000000, "Email != null"};
    assert_string_equal(build(&q),
                        "SELECT Id FROM Contact WHERE SystemModstamp >= 2024-05-01T09:55:00.000Z"
                        " AND SystemModstamp <= 2024-05-01T11:00:00.000Z AND (Email != null)"
                        " ORDER BY SystemModstamp ASC, Id ASC");
    /* a cursor without Id (set by hand) is an inclusive bound too */
    sf_query h = {"Contact", fields, 1, "SystemModstamp", 1, T0, "", 0, 1, T0, NULL};
    assert_string_equal(build(&h),
                        "SELECT Id FROM Contact WHERE SystemModstamp >= 2024-05-01T10:00:00.000Z"
                        " AND SystemModstamp <= 2024-05-01T10:00:00.000Z"
                        " ORDER BY SystemModstamp ASC, Id ASC");
}

static void test_cursor_roundtrip(void **state)
{
    sf_cursor c;
    char buf[SF_CURSOR_MAX];
    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000Z|003000000000001AAA", &c), SYNC_OK);
    assert_int_equal(c.ts, T0);
    assert_string_equal(c.id, "003000000000001AAA");
    assert_int_equal(sf_cursor_format(&c, buf, sizeof buf), SYNC_OK);
    assert_string_equal(buf, "2024-05-01T10:00:00.000Z|003000000000001AAA");

    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000Z", &c), SYNC_OK);
    assert_string_equal(c.id, "");
    assert_int_equal(sf_cursor_format(&c, buf, sizeof buf), SYNC_OK);
    assert_string_equal(buf, "2024-05-01T10:00:00.000Z");

    /* Salesforce's own spelling is accepted */
    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000+0000|00Q000000000001", &c), SYNC_OK);
    assert_int_equal(c.ts, T0);
}

static void test_cursor_invalid(void **state)
{
    sf_cursor c;
    assert_int_equal(sf_cursor_parse("", &c), SYNC_E_INVALID);
    assert_int_equal(sf_cursor_parse("yesterday|003000000000001AAA", &c), SYNC_E_INVALID);
    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000Z|", &c), SYNC_E_INVALID);
    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000Z|003'--", &c), SYNC_E_INVALID);
    assert_int_equal(sf_cursor_parse("2024-05-01T10:00:00.000Z|003000000000001AAAX", &c), SYNC_E_INVALID);
    assert_int_equal(sf_cursor_parse(NULL, &c), SYNC_E_INVALID);
}

static void test_cursor_order(void **state)
{
    sf_cursor a = {T0, "003000000000001AAA"};
    sf_cursor b = {T0, "003000000000002AAA"};
    sf_cursor c = {T0 + 1000, "003000000000000AAA"};
    sf_cursor lower = {T0, "003000000000001aaa"};
    assert_true(sf_cursor_cmp(&a, &b) < 0);
    assert_true(sf_cursor_cmp(&b, &c) < 0);
    assert_true(sf_cursor_cmp(&c, &a) > 0);
    assert_int_equal(sf_cursor_cmp(&a, &a), 0);
    /* base-62 order: digits < upper case < lower case */
    assert_true(sf_cursor_cmp(&a, &lower) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_quote_plain_and_quotes, setup),
        cmocka_unit_test_setup(test_quote_backslash_and_controls, setup),
        cmocka_unit_test_setup(test_quote_unicode, setup),
        cmocka_unit_test_setup(test_quote_like_wildcards, setup),
        cmocka_unit_test_setup(test_valid_names, setup),
        cmocka_unit_test_setup(test_datetime_literal, setup),
        cmocka_unit_test_setup(test_parse_datetime, setup),
        cmocka_unit_test_setup(test_check_condition, setup),
        cmocka_unit_test_setup(test_build_full, setup),
        cmocka_unit_test_setup(test_build_keyset, setup),
        cmocka_unit_test_setup(test_build_keyset_with_filter, setup),
        cmocka_unit_test_setup(test_build_lookback, setup),
        cmocka_unit_test_setup(test_cursor_roundtrip, setup),
        cmocka_unit_test_setup(test_cursor_invalid, setup),
        cmocka_unit_test_setup(test_cursor_order, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
