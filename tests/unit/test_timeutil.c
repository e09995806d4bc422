/*
 * tests/unit/test_timeutil.c - ISO-8601 parsing and formatting in UTC
 * microseconds (core/timeutil.c): the Salesforce form with "+0000", "Z",
 * "+HH:MM", "-HHMM" and "+HH" zones, date-only values, fractions longer than
 * microseconds, invalid dates and times (month 13, February 30th, garbage,
 * trailing junk), leap years, dates before 1970, the length argument being
 * honoured, and format/parse round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "timeutil.h"

#define SEC INT64_C(1000000)

/* Parses a NUL-terminated text that must be valid; returns microseconds. */
static int64_t parse_ok(const char *text, int *date_only)
{
    int64_t us = INT64_C(0x7eadbeef);
    int rc = syncc_time_parse(text, strlen(text), &us, date_only);
    if (rc != 0)
        fail_msg("'%s' was refused", text);
    return us;
}

static void parse_bad(const char *text)
{
    int64_t us = 12345;
    if (syncc_time_parse(text, strlen(text), &us, NULL) != -1)
        fail_msg("'%s' was accepted as %lld", text, (long long)us);
}

/* 2024-05-01T10:00:00Z */
#define T_2024_05_01_10 (INT64_C(1714557600) * SEC)

static void test_salesforce_form(void **state)
{
    (void)state;
    int date_only = -1;
    assert_int_equal(parse_ok("2024-05-01T10:00:00.000+0000", &date_only), T_2024_05_01_10);
    assert_int_equal(date_only, 0);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.123+0000", NULL), T_2024_05_01_10 + 123000);
}

static void test_zones(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-05-01T10:00:00Z", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01t10:00:00z", NULL), T_2024_05_01_10);
    /* no zone means UTC */
    assert_int_equal(parse_ok("2024-05-01T10:00:00", NULL), T_2024_05_01_10);
    /* 12:00 at +02:00 is 10:00Z */
    assert_int_equal(parse_ok("2024-05-01T12:00:00+02:00", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01T12:00:00+0200", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01T12:00:00+02", NULL), T_2024_05_01_10);
    /* 04:30 at -05:30 is 10:00Z */
    assert_int_equal(parse_ok("2024-05-01T04:30:00-0530", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01T04:30:00-05:30", NULL), T_2024_05_01_10);
    /* a zone moves the date across midnight */
    assert_int_equal(parse_ok("2024-05-02T01:00:00+15:00", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-04-30T23:00:00-11:00", NULL), T_2024_05_01_10);
    /* space instead of T, and no seconds */
    assert_int_equal(parse_ok("2024-05-01 10:00:00Z", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01T10:00Z", NULL), T_2024_05_01_10);
    assert_int_equal(parse_ok("2024-05-01T10:00", NULL), T_2024_05_01_10);
}

static void test_date_only(void **state)
{
    (void)state;
    int date_only = -1;
    assert_int_equal(parse_ok("2024-05-01", &date_only), INT64_C(1714521600) * SEC);
    assert_int_equal(date_only, 1);
    /* trailing whitespace (a line read from a file) is tolerated */
    assert_int_equal(parse_ok("2024-05-01\n", &date_only), INT64_C(1714521600) * SEC);
    assert_int_equal(date_only, 1);
    assert_int_equal(parse_ok("1970-01-01", NULL), 0);
}

static void test_fractions(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-05-01T10:00:00.5Z", NULL), T_2024_05_01_10 + 500000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00,25Z", NULL), T_2024_05_01_10 + 250000);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.000001Z", NULL), T_2024_05_01_10 + 1);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.123456Z", NULL), T_2024_05_01_10 + 123456);
    /* digits beyond microseconds are read and dropped (truncated, not rounded) */
    assert_int_equal(parse_ok("2024-05-01T10:00:00.1234567Z", NULL), T_2024_05_01_10 + 123456);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.999999999+0000", NULL), T_2024_05_01_10 + 999999);
    assert_int_equal(parse_ok("2024-05-01T10:00:00.123456789123456789Z", NULL), T_2024_05_01_10 + 123456);
}

static void test_before_1970(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("1969-12-31T23:59:59Z", NULL), -SEC);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.5Z", NULL), -SEC / 2);
    assert_int_equal(parse_ok("1969-12-31T23:59:59.999999Z", NULL), -1);
    assert_int_equal(parse_ok("1900-01-01T00:00:00Z", NULL), INT64_C(-2208988800) * SEC);
    assert_int_equal(parse_ok("1900-01-01", NULL), INT64_C(-2208988800) * SEC);
    assert_int_equal(parse_ok("0001-01-01T00:00:00Z", NULL), INT64_C(-62135596800) * SEC);
    assert_int_equal(parse_ok("9999-12-31T23:59:59Z", NULL), INT64_C(253402300799) * SEC);
}

static void test_leap_years(void **state)
{
    (void)state;
    assert_int_equal(parse_ok("2024-02-29", NULL), INT64_C(1709164800) * SEC);
    assert_int_equal(parse_ok("2000-02-29T12:34:56Z", NULL), INT64_C(951827696) * SEC);
    assert_int_equal(parse_ok("1600-02-29", NULL), INT64_C(-11670998400) * SEC);
    /* the day after February 29th is March 1st */
    assert_int_equal(parse_ok("2024-03-01", NULL) - parse_ok("2024-02-29", NULL), 86400 * SEC);
    assert_int_equal(parse_ok("2023-03-01", NULL) - parse_ok("2023-02-28", NULL), 86400 * SEC);
    parse_bad("2023-02-29");
    parse_bad("1900-02-29"); /* divisible by 100, not by 400 */
    parse_bad("2100-02-29");
    parse_bad("2024-02-30");
}

static void test_invalid(void **state)
{
    (void)state;
    parse_bad("");
    parse_bad("garbage");
    parse_bad("2024");
    parse_bad("2024-05");
    parse_bad("2024-13-01");
    parse_bad("2024-00-10");
    parse_bad("2024-05-00");
    parse_bad("2024-05-32");
    parse_bad("2024-04-31");
    parse_bad("2024-02-30T00:00:00Z");
    parse_bad("2024-5-01");
    parse_bad("2024/05/01");
    parse_bad(" 2024-05-01");
    parse_bad("2024-05-01x");
    parse_bad("2024-05-01T");
    parse_bad("2024-05-01T10");
    parse_bad("2024-05-01T10:");
    parse_bad("2024-05-01T10:0");
    parse_bad("2024-05-01T25:00:00Z");
    parse_bad("2024-05-01T10:60:00Z");
    parse_bad("2024-05-01T10:00:61Z");
    parse_bad("2024-05-01T24:00:01Z");
    parse_bad("2024-05-01T10:00:00.Z");
    parse_bad("2024-05-01T10:00:00Zjunk");
    parse_bad("2024-05-01T10:00:00.000+0000junk");
    parse_bad("2024-05-01T10:00:00 junk");
    parse_bad("2024-05-01T10:00:00+2");
    parse_bad("2024-05-01T10:00:00+02:3");
    parse_bad("2024-05-01T10:00:00+24:00");
    parse_bad("2024-05-01T10:00:00+02:60");
    parse_bad("2024-05-01T10:00:00UTC");
    parse_bad("2024-05-01Z");
}

/*
 * BUG (core/timeutil.c:88-90): after the ':' of a "+HH:MM" zone the minutes
 * are optional, so "+02:" with nothing after the colon is accepted as +02:00.
 * The fix: once a ':' has been read, require the two minute digits.
 */
static void test_zone_colon_needs_minutes(void **state)
{
    (void)state;
    parse_bad("2024-05-01T10:00:00+02:");
}

static void test_edges_of_day(void **state)
{
    (void)state;
    /* 24:00:00 is the end of the day, the next midnight */
    assert_int_equal(parse_ok("2024-05-01T24:00:00Z", NULL), INT64_C(1714608000) * SEC);
    /* a leap second is clamped into the minute */
    assert_int_equal(parse_ok("2016-12-31T23:59:60Z", NULL), INT64_C(1483228799) * SEC);
}

static void test_length_is_honoured(void **state)
{
    (void)state;
    const char *text = "2024-05-01T10:00:00Zgarbage";
    int64_t us = 0;
    assert_int_equal(syncc_time_parse(text, 20, &us, NULL), 0);
    assert_int_equal(us, T_2024_05_01_10);
    assert_int_equal(syncc_time_parse(text, strlen(text), &us, NULL), -1);
    /* a buffer that is not NUL-terminated after the length */
    char buf[10];
    memcpy(buf, "2024-05-01", 10);
    int date_only = 0;
    assert_int_equal(syncc_time_parse(buf, sizeof(buf), &us, &date_only), 0);
    assert_int_equal(date_only, 1);
    assert_int_equal(us, INT64_C(1714521600) * SEC);
    /* cut inside the date */
    assert_int_equal(syncc_time_parse(buf, 9, &us, NULL), -1);
    assert_int_equal(syncc_time_parse(buf, 0, &us, NULL), -1);
}

static void check_format(int64_t us, const char *want)
{
    char buf[64];
    assert_int_equal(syncc_time_format(us, buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);
}

static void test_format(void **state)
{
    (void)state;
    check_format(0, "1970-01-01T00:00:00.000Z");
    check_format(T_2024_05_01_10 + 123456, "2024-05-01T10:00:00.123Z");
    check_format(T_2024_05_01_10 + 999999, "2024-05-01T10:00:00.999Z");
    check_format(-1, "1969-12-31T23:59:59.999Z");
    check_format(-SEC, "1969-12-31T23:59:59.000Z");
    check_format(-SEC - 1, "1969-12-31T23:59:58.999Z");
    check_format(INT64_C(-2208988800) * SEC, "1900-01-01T00:00:00.000Z");
    check_format(INT64_C(951827696) * SEC, "2000-02-29T12:34:56.000Z");
    check_format(INT64_C(253402300799) * SEC, "9999-12-31T23:59:59.000Z");

    /* 24 characters need 25 bytes */
    char buf[32];
    assert_int_equal(syncc_time_format(0, buf, 25), 0);
    assert_int_equal(strlen(buf), 24);
    assert_int_equal(syncc_time_format(0, buf, 24), -1);
    assert_int_equal(syncc_time_format(0, buf, 1), -1);
}

static void test_round_trip(void **state)
{
    (void)state;
    /* milliseconds survive format -> parse exactly, on both sides of 1970 */
    int64_t start = INT64_C(-2208988800) * SEC;
    int64_t step = INT64_C(86400) * SEC * 37 + INT64_C(3723) * SEC + 456000; /* odd stride */
    int n = 0;
    for (int64_t us = start; us < INT64_C(4102444800) * SEC; us += step, n++) {
        char buf[32];
        assert_int_equal(syncc_time_format(us, buf, sizeof(buf)), 0);
        int64_t back = 0;
        if (syncc_time_parse(buf, strlen(buf), &back, NULL) != 0)
            fail_msg("formatted '%s' does not parse", buf);
        if (back != us)
            fail_msg("%lld -> '%s' -> %lld", (long long)us, buf, (long long)back);
    }
    assert_true(n > 1000);
    /* parse -> format -> parse for the accepted spellings */
    const char *texts[] = {"2024-05-01T12:00:00.250+02:00", "1969-07-20T20:17:40.000Z", "2024-02-29T23:59:59.999-0100"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int64_t a = parse_ok(texts[i], NULL), b;
        char buf[32];
        assert_int_equal(syncc_time_format(a, buf, sizeof(buf)), 0);
        b = parse_ok(buf, NULL);
        assert_int_equal(a, b);
    }
    check_format(parse_ok("2024-02-29T23:59:59.999-0100", NULL), "2024-03-01T00:59:59.999Z");
}

static void test_days_from_civil(void **state)
{
    (void)state;
    assert_int_equal(syncc_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(syncc_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(syncc_days_from_civil(2024, 5, 1), 19844);
    assert_int_equal(syncc_days_from_civil(2000, 2, 29), 11016);
    assert_int_equal(syncc_days_from_civil(1900, 1, 1), -25567);
    assert_int_equal(syncc_days_from_civil(1, 1, 1), -719162);
}

static void test_now(void **state)
{
    (void)state;
    int64_t now = syncc_time_now();
    int64_t t = (int64_t)time(NULL) * SEC;
    assert_true(now > INT64_C(1704067200) * SEC); /* after 2024-01-01 */
    assert_true(now - t < 2 * SEC && t - now < 2 * SEC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_salesforce_form),
        cmocka_unit_test(test_zones),
        cmocka_unit_test(test_date_only),
        cmocka_unit_test(test_fractions),
        cmocka_unit_test(test_before_1970),
        cmocka_unit_test(test_leap_years),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_zone_colon_needs_minutes),
        cmocka_unit_test(test_edges_of_day),
        cmocka_unit_test(test_length_is_honoured),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
