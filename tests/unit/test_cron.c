/*
 * tests/unit/test_cron.c - cron schedule parsing and next-run computation:
 * syntax errors, lists, ranges, steps, names, macros, the Vixie day-of-month
 * / day-of-week rule, month and year ends, February 29th, and both DST
 * transitions in Europe/Amsterdam.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "timeutil.h"

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

static int tz_utc(void **state)
{
    (void)state;
    set_tz("UTC");
    return 0;
}

static int tz_amsterdam(void **state)
{
    (void)state;
    set_tz("Europe/Amsterdam");
    return 0;
}

static char g_err[512];

/* The next run after `after` (ISO, UTC) as "YYYY-MM-DDTHH:MM:SS.mmmZ", or "none". */
static const char *next_of(const char *sched, const char *after)
{
    static char buf[64];
    syncc_cron c;
    if (syncc_cron_parse(&c, sched, g_err, sizeof(g_err)) != 0)
        fail_msg("schedule '%s' did not parse: %s", sched, g_err);
    int64_t us;
    assert_int_equal(syncc_time_parse(after, strlen(after), &us, NULL), 0);
    int64_t n = syncc_cron_next(&c, us);
    if (n < 0)
        return "none";
    assert_true(n > us);
    assert_int_equal(syncc_time_format(n, buf, sizeof(buf)), 0);
    return buf;
}

static const char *parse_error(const char *sched)
{
    syncc_cron c;
    g_err[0] = '\0';
    if (syncc_cron_parse(&c, sched, g_err, sizeof(g_err)) == 0)
        return NULL;
    return g_err;
}

#define assert_next(sched, after, want) assert_string_equal(next_of(sched, after), want)

static void test_parse_errors(void **state)
{
    (void)state;
    assert_string_equal(parse_error(""), "empty schedule '': expected 5 fields (minute hour day-of-month "
                                         "month day-of-week), got 0");
    assert_string_equal(parse_error("* * * *"), "incomplete schedule '* * * *': expected 5 fields (minute "
                                                "hour day-of-month month day-of-week), got 4");
    assert_string_equal(parse_error("* * * * * *"),
                        "too many fields at position 11: a schedule has 5 (minute hour day-of-month month "
                        "day-of-week)");
    assert_string_equal(parse_error("60 * * * *"),
                        "minute field '60' at position 1: value 60 is out of range (0-59)");
    assert_string_equal(parse_error("0 24 * * *"),
                        "hour field '24' at position 3: value 24 is out of range (0-23)");
    assert_string_equal(parse_error("0 0 0 * *"),
                        "day-of-month field '0' at position 5: value 0 is out of range (1-31)");
    assert_string_equal(parse_error("0 0 1 13 *"),
                        "month field '13' at position 7: value 13 is out of range (1-12)");
    assert_string_equal(parse_error("0 0 * * 8"),
                        "day-of-week field '8' at position 9: value 8 is out of range (0-7)");
    assert_string_equal(parse_error("*/0 * * * *"),
                        "minute field '*/0' at position 1: step must be a positive number");
    assert_string_equal(parse_error("30-10 * * * *"),
                        "minute field '30-10' at position 1: range 30-10 runs backwards");
    assert_string_equal(parse_error("0 0 * foo *"),
                        "month field 'foo' at position 7: expected a number, a name, '*' or a range");
    assert_string_equal(parse_error("1,,2 * * * *"),
                        "minute field '1,,2' at position 1: expected a number, a name, '*' or a range");
    assert_string_equal(parse_error("1, * * * *"), "minute field '1,' at position 1: empty item after ','");
    assert_string_equal(parse_error("1-  * * * *"),
                        "minute field '1-' at position 1: expected the end of the range after '-'");
    assert_string_equal(parse_error("1x * * * *"),
                        "minute field '1x' at position 1: unexpected character; items are separated by ','");
    assert_string_equal(parse_error("0 0 * * mondays"),
                        "day-of-week field 'mondays' at position 9: expected a number, a name, '*' or a range");
    assert_non_null(parse_error("0 0 * jan-feb-mar *"));
    assert_string_equal(parse_error("@reboot"),
                        "unknown schedule macro '@reboot' (known: @hourly, @daily, @midnight, @weekly, "
                        "@monthly, @yearly, @annually)");
    assert_non_null(parse_error(NULL));
}

static void test_parse_fields(void **state)
{
    (void)state;
    syncc_cron c;
    assert_int_equal(syncc_cron_parse(&c, "*/15 9-17 1,15 jan-MAR mon-fri", g_err, sizeof(g_err)), 0);
    assert_true(c.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
    assert_int_equal(c.hour, 0x3FE00u);
    assert_int_equal(c.dom, (1u << 1) | (1u << 15));
    assert_int_equal(c.month, 0xE);
    assert_int_equal(c.dow, 0x3E);
    assert_false(c.dom_star);
    assert_false(c.dow_star);

    assert_int_equal(syncc_cron_parse(&c, "  10/20 * * * 5-7  ", g_err, sizeof(g_err)), 0);
    assert_true(c.minute == ((1ull << 10) | (1ull << 30) | (1ull << 50)));
    assert_int_equal(c.dow, (1u << 5) | (1u << 6) | 1u); /* 7 is Sunday */
    assert_true(c.dom_star && !c.dow_star && c.hour_star);

    assert_int_equal(syncc_cron_parse(&c, "1-30/5\t*\t*\t*\tSUN,7,0", g_err, sizeof(g_err)), 0);
    assert_true(c.minute == ((1ull << 1) | (1ull << 6) | (1ull << 11) | (1ull << 16) | (1ull << 21) |
                             (1ull << 26)));
    assert_int_equal(c.dow, 1);

    assert_int_equal(syncc_cron_parse(&c, "* * * * */2", g_err, sizeof(g_err)), 0);
    assert_int_equal(c.dow, (1u << 0) | (1u << 2) | (1u << 4) | (1u << 6));
}

static void test_next_basic(void **state)
{
    (void)state;
    assert_next("*/15 * * * *", "2024-05-01T10:07:00Z", "2024-05-01T10:15:00.000Z");
    assert_next("*/15 * * * *", "2024-05-01T10:15:00Z", "2024-05-01T10:30:00.000Z"); /* strictly after */
    assert_next("*/15 * * * *", "2024-05-01T10:14:59.999Z", "2024-05-01T10:15:00.000Z");
    assert_next("*/15 * * * *", "2024-05-01T23:50:00Z", "2024-05-02T00:00:00.000Z");
    assert_next("* * * * *", "2024-05-01T10:00:30Z", "2024-05-01T10:01:00.000Z");
    assert_next("1-30/5 * * * *", "2024-05-01T10:26:00Z", "2024-05-01T11:01:00.000Z");
    assert_next("10/20 * * * *", "2024-05-01T10:31:00Z", "2024-05-01T10:50:00.000Z");
    assert_next("0 9-17/4 * * *", "2024-05-01T13:00:00Z", "2024-05-01T17:00:00.000Z");
    assert_next("0 9-17/4 * * *", "2024-05-01T17:00:00Z", "2024-05-02T09:00:00.000Z");
    assert_next("5,10 3 * * *", "2024-05-01T03:07:00Z", "2024-05-01T03:10:00.000Z");
    assert_next("0 9 * jan-mar mon-fri", "2024-05-01T00:00:00Z", "2025-01-01T09:00:00.000Z");
    assert_next("0 0 * * 7", "2024-05-01T00:00:00Z", "2024-05-05T00:00:00.000Z"); /* Sunday */
    assert_next("0 0 * * sat", "2024-05-01T00:00:00Z", "2024-05-04T00:00:00.000Z");
}

static void test_next_month_year_ends(void **state)
{
    (void)state;
    assert_next("0 0 1 * *", "2024-01-31T12:00:00Z", "2024-02-01T00:00:00.000Z");
    assert_next("0 0 31 * *", "2024-04-01T00:00:00Z", "2024-05-31T00:00:00.000Z"); /* April has 30 */
    assert_next("0 0 1 1 *", "2024-06-01T00:00:00Z", "2025-01-01T00:00:00.000Z");
    assert_next("59 23 31 12 *", "2024-12-31T23:59:00Z", "2025-12-31T23:59:00.000Z");
    assert_next("0 12 29 2 *", "2024-03-01T00:00:00Z", "2028-02-29T12:00:00.000Z");
    assert_next("0 12 29 2 *", "2024-02-28T13:00:00Z", "2024-02-29T12:00:00.000Z");
    assert_next("0 0 30 2 *", "2024-01-01T00:00:00Z", "none"); /* never */
    assert_next("0 0 31 4,6,9,11 *", "2024-01-01T00:00:00Z", "none");
    assert_next("0 0 29 2 1", "2024-03-01T00:00:00Z", "2025-02-03T00:00:00.000Z"); /* or any Monday in Feb */
}

static void test_day_or_rule(void **state)
{
    (void)state;
    /* both restricted: the 15th or any Monday */
    assert_next("0 0 15 * 1", "2024-05-01T00:00:00Z", "2024-05-06T00:00:00.000Z");
    assert_next("0 0 15 * 1", "2024-05-14T01:00:00Z", "2024-05-15T00:00:00.000Z");
    assert_next("0 0 15 * 1", "2024-05-15T01:00:00Z", "2024-05-20T00:00:00.000Z");
    /* day-of-week '*': only the 15th */
    assert_next("0 0 15 * *", "2024-05-01T00:00:00Z", "2024-05-15T00:00:00.000Z");
    /* day-of-month '*': only Mondays */
    assert_next("0 0 * * 1", "2024-05-07T00:00:00Z", "2024-05-13T00:00:00.000Z");
    /* a field starting with '*' counts as unrestricted for the rule: odd days that are Mondays */
    assert_next("0 0 */2 * 1", "2024-05-01T00:00:00Z", "2024-05-13T00:00:00.000Z");
}

static void test_macros(void **state)
{
    (void)state;
    assert_next("@hourly", "2024-05-01T10:07:00Z", "2024-05-01T11:00:00.000Z");
    assert_next("@daily", "2024-05-01T10:07:00Z", "2024-05-02T00:00:00.000Z");
    assert_next("@midnight", "2024-05-01T10:07:00Z", "2024-05-02T00:00:00.000Z");
    assert_next("@weekly", "2024-05-01T10:07:00Z", "2024-05-05T00:00:00.000Z");
    assert_next("@monthly", "2024-05-01T10:07:00Z", "2024-06-01T00:00:00.000Z");
    assert_next("@yearly", "2024-05-01T10:07:00Z", "2025-01-01T00:00:00.000Z");
    assert_next("@ANNUALLY", "2024-05-01T10:07:00Z", "2025-01-01T00:00:00.000Z");
}

static void test_local_time(void **state)
{
    (void)state;
    /* 09:00 in Amsterdam is 08:00Z in winter and 07:00Z in summer */
    assert_next("0 9 * * *", "2024-01-10T12:00:00Z", "2024-01-11T08:00:00.000Z");
    assert_next("0 9 * * *", "2024-07-10T12:00:00Z", "2024-07-11T07:00:00.000Z");
    /* midnight local on the first of the month */
    assert_next("0 0 1 * *", "2024-05-15T00:00:00Z", "2024-05-31T22:00:00.000Z");
}

static void test_dst_spring_forward(void **state)
{
    (void)state;
    /* 2024-03-31: 02:00 CET becomes 03:00 CEST (01:00Z); 02:30 does not exist that day */
    assert_next("30 2 * * *", "2024-03-30T01:30:00Z", "2024-04-01T00:30:00.000Z");
    assert_next("*/15 * * * *", "2024-03-31T00:45:00Z", "2024-03-31T01:00:00.000Z"); /* 03:00 CEST */
    assert_next("0 * * * *", "2024-03-31T00:30:00Z", "2024-03-31T01:00:00.000Z");
    assert_next("0 3 * * *", "2024-03-30T02:00:00Z", "2024-03-31T01:00:00.000Z");
    assert_next("59 1 * * *", "2024-03-30T02:00:00Z", "2024-03-31T00:59:00.000Z");
}

static void test_dst_fall_back(void **state)
{
    (void)state;
    /* 2024-10-27: 03:00 CEST becomes 02:00 CET (01:00Z); 02:00-02:59 happens twice */
    assert_next("30 2 * * *", "2024-10-26T00:30:00Z", "2024-10-27T00:30:00.000Z");  /* first pass */
    assert_next("30 2 * * *", "2024-10-27T00:30:00Z", "2024-10-28T01:30:00.000Z");  /* not again */
    /* every-N-minutes schedules keep their rhythm through the repeated hour */
    assert_next("*/30 * * * *", "2024-10-27T00:30:00Z", "2024-10-27T01:00:00.000Z");
    assert_next("*/30 * * * *", "2024-10-27T01:00:00Z", "2024-10-27T01:30:00.000Z");
    assert_next("*/30 * * * *", "2024-10-27T01:30:00Z", "2024-10-27T02:00:00.000Z");
    assert_next("0 3 * * *", "2024-10-26T12:00:00Z", "2024-10-27T02:00:00.000Z");
}

static void test_far_future_and_negative(void **state)
{
    (void)state;
    /* searches are bounded: five years, then -1 */
    assert_next("0 0 29 2 *", "2096-03-01T00:00:00Z", "none"); /* 2100 is no leap year */
    assert_next("0 0 29 2 *", "2100-01-01T00:00:00Z", "2104-02-29T00:00:00.000Z");
    assert_next("0 0 1 1 *", "1969-06-01T00:00:00Z", "1970-01-01T00:00:00.000Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_parse_errors, tz_utc),
        cmocka_unit_test_setup(test_parse_fields, tz_utc),
        cmocka_unit_test_setup(test_next_basic, tz_utc),
        cmocka_unit_test_setup(test_next_month_year_ends, tz_utc),
        cmocka_unit_test_setup(test_day_or_rule, tz_utc),
        cmocka_unit_test_setup(test_macros, tz_utc),
        cmocka_unit_test_setup(test_local_time, tz_amsterdam),
        cmocka_unit_test_setup(test_dst_spring_forward, tz_amsterdam),
        cmocka_unit_test_setup(test_dst_fall_back, tz_amsterdam),
        cmocka_unit_test_setup(test_far_future_and_negative, tz_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
