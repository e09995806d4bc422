/*
 * test_d1_compare.c - the D1 side of verify without network: which statements
 * an integrity rule may send to D1 (one statement that only reads).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "sqlite/d1_compare.h"

static void test_read_only(void **st)
{
    (void)st;
    /* what verify's rules send */
    assert_true(d1_sql_read_only("SELECT count(*) FROM \"items\" c WHERE (amount < 0)"));
    assert_true(d1_sql_read_only("  select c.\"id\", c.\"owner_id\" FROM \"items\" c LEFT JOIN \"owners\" p "
                                 "ON p.\"id\" = c.\"owner_id\" WHERE p.\"id\" IS NULL ORDER BY 1 LIMIT 1000"));
    assert_true(d1_sql_read_only("WITH d AS (SELECT name FROM t) SELECT * FROM d;"));
    assert_true(d1_sql_read_only("SELECT 1 FROM t WHERE replace(name, 'a', 'b') <> name"));
    /* words that write, inside quotes or comments, are only text */
    assert_true(d1_sql_read_only("SELECT 1 FROM t WHERE status = 'deleted; DROP TABLE t' -- DELETE\n"));
    assert_true(d1_sql_read_only("SELECT \"update\", [insert], `drop` FROM t /* ; CREATE */"));
    assert_true(d1_sql_read_only("SELECT 'it''s; DELETE' FROM t"));
    assert_true(d1_sql_read_only("SELECT updated_at, deleted FROM t"));
    /* statements that write, or a second statement */
    assert_false(d1_sql_read_only("DELETE FROM t"));
    assert_false(d1_sql_read_only("SELECT count(*) FROM t WHERE (1); DELETE FROM owners; SELECT (1)"));
    assert_false(d1_sql_read_only("WITH d AS (SELECT id FROM t) DELETE FROM t WHERE id IN d"));
    assert_false(d1_sql_read_only("WITH d AS (SELECT 1) REPLACE INTO t VALUES (1)"));
    assert_false(d1_sql_read_only("SELECT 1; PRAGMA writable_schema = 1"));
    assert_false(d1_sql_read_only("SELECT 'a'; SELECT 'b'"));
    assert_false(d1_sql_read_only("PRAGMA table_info(t)"));
    assert_false(d1_sql_read_only(""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
