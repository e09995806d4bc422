/*
 * test_pgs_source_sql.c - the PostgreSQL source's pure helpers, no server:
 * PostgreSQL's ISO text of dates and timestamps (offsets, fractions, the
 * epoch and before it, what is passed on as text), the cursor encoding round trip, and the change-log DDL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sink-postgres/pgs_source_sql.h"

static void test_dates(void **st)
{
    (void)st;
    int64_t d;
    const char *rest;
    assert_int_equal(pgs_src_parse_date("1970-01-01", &d, &rest), 0);
    assert_int_equal(d, 0);
    assert_string_equal(rest, "");
    assert_int_equal(pgs_src_parse_date("2024-02-29", &d, &rest), 0);
    assert_int_equal(d, 19782);
    assert_int_equal(pgs_src_parse_date("1969-12-31", &d, &rest), 0);
    assert_int_equal(d, -1);
    assert_int_equal(pgs_src_parse_date("0001-01-01", &d, &rest), 0);
    assert_int_equal(d, -719162);
    assert_int_equal(pgs_src_parse_date("infinity", &d, &rest), -1);
    assert_int_equal(pgs_src_parse_date("2024-13-01", &d, &rest), -1);
    assert_int_equal(pgs_src_parse_date("12024-01-01", &d, &rest), -1);
}

static void test_timestamps(void **st)
{
    (void)st;
    int64_t u;
    assert_int_equal(pgs_src_parse_timestamp("1970-01-01 00:00:00+00", &u), 0);
    assert_int_equal(u, 0);
    assert_int_equal(pgs_src_parse_timestamp("2024-05-01 08:00:00.123456+00", &u), 0);
    assert_int_equal(u, INT64_C(1714550400123456));
    /* the same instant written with an offset, and without a zone (timestamp: read as UTC) */
    assert_int_equal(pgs_src_parse_timestamp("2024-05-01 10:00:00.123456+02", &u), 0);
    assert_int_equal(u, INT64_C(1714550400123456));
    assert_int_equal(pgs_src_parse_timestamp("2024-05-01 08:00:00.123456", &u), 0);
    assert_int_equal(u, INT64_C(1714550400123456));
    assert_int_equal(pgs_src_parse_timestamp("2024-05-01 02:30:00-05:30", &u), 0);
    assert_int_equal(u, INT64_C(1714550400000000));
    assert_int_equal(pgs_src_parse_timestamp("1969-12-31 23:59:59.5+00", &u), 0);
    assert_int_equal(u, -500000);
    assert_int_equal(pgs_src_parse_timestamp("2024-01-01T00:00:00.1+00", &u), 0);
    assert_int_equal(u, INT64_C(1704067200100000));
    assert_int_equal(pgs_src_parse_timestamp("infinity", &u), -1);
    assert_int_equal(pgs_src_parse_timestamp("0044-03-15 12:00:00+00 BC", &u), -1);
    assert_int_equal(pgs_src_parse_timestamp("2024-01-01 00:00", &u), -1);
}

static void roundtrip(const char *value, const char *key, const char *want)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "k");
    pgs_src_cursor_escape(&b, value);
    pgs_buf_puts(&b, ",");
    pgs_src_cursor_escape(&b, key);
    char *text = pgs_buf_take(&b);
    assert_non_null(text);
    assert_string_equal(text, want);
    char *v = NULL, *k = NULL;
    assert_int_equal(pgs_src_cursor_split(text + 1, &v, &k), 0);
    assert_string_equal(v, value);
    assert_string_equal(k, key);
    free(v);
    free(k);
    free(text);
}

static void test_cursor(void **st)
{
    (void)st;
    roundtrip("2024-01-01 00:00:00+00", "00000000-0000-0000-0000-000000000001",
              "k2024-01-01 00:00:00+00,00000000-0000-0000-0000-000000000001");
    roundtrip("a,b", "c\\d,", "ka\\,b,c\\\\d\\,");
    roundtrip("", "", "k,");
    char *a = NULL, *b = NULL;
    assert_int_equal(pgs_src_cursor_split("no comma", &a, &b), -1);
    assert_null(a);
    assert_null(b);
    assert_int_equal(pgs_src_cursor_split("escaped\\, only", &a, &b), -1);
}

static void test_change_log_ddl(void **st)
{
    (void)st;
    char *ddl = pgs_src_change_log_ddl("sync engine", "\"app\".\"notes\"", "o'id");
    assert_non_null(ddl);
    assert_non_null(strstr(ddl, "CREATE TABLE IF NOT EXISTS \"sync engine\".sync_changes ("));
    assert_non_null(strstr(ddl, "xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id()"));
    assert_non_null(strstr(ddl, "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"));
    assert_non_null(strstr(ddl, "CREATE OR REPLACE TRIGGER syncengine_changes AFTER INSERT OR UPDATE OR DELETE ON "
                                "\"app\".\"notes\" FOR EACH ROW EXECUTE FUNCTION \"sync engine\".sync_record_change("
                                "'o''id');"));
    free(ddl);
    ddl = pgs_src_change_log_ddl("syncengine", NULL, NULL);
    assert_non_null(ddl);
    assert_null(strstr(ddl, "CREATE OR REPLACE TRIGGER"));
    free(ddl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_change_log_ddl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
