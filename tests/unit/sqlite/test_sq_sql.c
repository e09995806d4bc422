/*
 * test_sq_sql.c - the SQLite connector's SQL layer, no database: identifier
 * quoting, the statements the sink and the source run, the cursor encoding
 * (values of every storage class, text with the separators inside), the
 * declared-type rules and the timestamp text the sink writes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sqlite/sq_sql.h"

static void test_quote(void **st)
{
    (void)st;
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_ident(&b, "a\"b");
    sq_buf_puts(&b, " ");
    sq_buf_ident(&b, "\"; DROP TABLE x; --");
    char *s = sq_buf_take(&b);
    assert_string_equal(s, "\"a\"\"b\" \"\"\"; DROP TABLE x; --\"");
    free(s);
}

static void test_upsert(void **st)
{
    (void)st;
    const char *cols[] = {"id", "name", "synced_at"};
    int key[] = {1, 0, 0}, cmp[] = {1, 1, 0};
    char *s = sq_sql_upsert("items", cols, 3, key, cmp);
    assert_string_equal(s, "INSERT INTO \"items\" (\"id\", \"name\", \"synced_at\") VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (\"id\") DO UPDATE SET \"name\" = excluded.\"name\", \"synced_at\" = "
                           "excluded.\"synced_at\" WHERE \"items\".\"name\" IS NOT excluded.\"name\"");
    free(s);
    int cmp0[] = {1, 0, 0};
    s = sq_sql_upsert("items", cols, 3, key, cmp0);
    assert_string_equal(s, "INSERT INTO \"items\" (\"id\", \"name\", \"synced_at\") VALUES (?1, ?2, ?3) "
                           "ON CONFLICT (\"id\") DO NOTHING");
    free(s);
}

static void test_deletes(void **st)
{
    (void)st;
    const char *keys[] = {"tenant", "id"}, *set[] = {"archived", "status"};
    char *s = sq_sql_delete("t", keys, 2);
    assert_string_equal(s, "DELETE FROM \"t\" WHERE \"tenant\" = ?1 AND \"id\" = ?2");
    free(s);
    s = sq_sql_soft_delete("t", keys, 2, set, 2);
    assert_string_equal(s, "UPDATE \"t\" SET \"archived\" = ?3, \"status\" = ?4 WHERE \"tenant\" = ?1 AND \"id\" = ?2 "
                           "AND (\"archived\" IS NOT ?3 OR \"status\" IS NOT ?4)");
    free(s);
    s = sq_sql_exists("t", keys, 1);
    assert_string_equal(s, "SELECT 1 FROM \"t\" WHERE \"tenant\" = ?1");
    free(s);
}

static void test_pages(void **st)
{
    (void)st;
    const char *cols[] = {"id", "updated_at"};
    char *s = sq_sql_keyset_page("t", cols, 2, "updated_at", "id", NULL, 1);
    assert_string_equal(s, "SELECT \"id\", \"updated_at\" FROM \"t\" WHERE (\"updated_at\" > ?1 OR (\"updated_at\" = ?1 "
                           "AND \"id\" > ?2)) AND \"updated_at\" IS NOT NULL AND CASE WHEN typeof(\"updated_at\") IN "
                           "('integer', 'real') THEN \"updated_at\" <= ?3 ELSE julianday(\"updated_at\") <= "
                           "julianday(?4) END ORDER BY \"updated_at\", \"id\" LIMIT ?5");
    free(s);
    s = sq_sql_key_page("t", cols, 1, "id", "x > 1", 0);
    assert_string_equal(s, "SELECT \"id\" FROM \"t\" WHERE 1 AND (x > 1) ORDER BY \"id\" LIMIT ?2");
    free(s);
    s = sq_sql_change_triggers("it's", "id");
    assert_non_null(strstr(s, "CREATE TRIGGER IF NOT EXISTS \"_syncengine_it's_ad\" AFTER DELETE ON \"it's\" BEGIN "
                              "INSERT INTO _syncengine_changes (tbl, key) VALUES ('it''s', OLD.\"id\"); END;"));
    assert_non_null(strstr(s, "WHERE OLD.\"id\" IS NOT NEW.\"id\""));
    free(s);
}

static void roundtrip(const char *text)
{
    sq_cursor c;
    assert_int_equal(sq_cursor_parse(text, &c), 0);
    char *back = sq_cursor_text(&c);
    assert_string_equal(back, text);
    free(back);
    sq_cursor_clear(&c);
}

static void test_cursor(void **st)
{
    (void)st;
    roundtrip("t24:2024-05-01T10:00:00.000Z,i42");
    roundtrip("i1714557600,t5:a,b/c");
    roundtrip("r1714557600.25,n");
    roundtrip("c17");
    roundtrip("c17,t3:x,y");
    sq_cursor c;
    assert_int_equal(sq_cursor_parse("t3:a,b,i1", &c), 0); /* text holding the separator */
    assert_string_equal(c.value.text, "a,b");
    assert_int_equal(c.key.i, 1);
    sq_cursor_clear(&c);
    const char *bad[] = {"", "42", "t9:short,i1", "i1", "i1,", "c", "c-1", "cx", "i1,i2,", "x1,i2"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(sq_cursor_parse(bad[i], &c), -1);
}

static void test_types(void **st)
{
    (void)st;
    assert_int_equal(sq_decl_kind("BOOLEAN"), SQ_KIND_BOOL);
    assert_int_equal(sq_decl_kind("timestamptz"), SQ_KIND_TIMESTAMP);
    assert_int_equal(sq_decl_kind("DATETIME"), SQ_KIND_TIMESTAMP);
    assert_int_equal(sq_decl_kind("DATE"), SQ_KIND_DATE);
    assert_int_equal(sq_decl_kind("JSON"), SQ_KIND_JSON);
    assert_int_equal(sq_decl_kind("TEXT"), SQ_KIND_AUTO);
    assert_int_equal(sq_decl_affinity("BIGINT"), SQ_AFF_INTEGER);
    assert_int_equal(sq_decl_affinity("VARCHAR(10)"), SQ_AFF_TEXT);
    assert_int_equal(sq_decl_affinity("DOUBLE PRECISION"), SQ_AFF_REAL);
    assert_int_equal(sq_decl_affinity(""), SQ_AFF_BLOB);
    assert_int_equal(sq_decl_affinity("DECIMAL(10,2)"), SQ_AFF_NUMERIC);
    char buf[40];
    sq_format_timestamp(INT64_C(1714557600123456), buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01T10:00:00.123456Z");
    sq_format_timestamp(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999999Z");
    sq_format_date(19844, buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01");
    char *l, *r;
    assert_int_equal(sq_split_assign(" archived = 1 ", &l, &r), 0);
    assert_string_equal(l, "archived");
    assert_string_equal(r, "1");
    free(l);
    free(r);
    assert_int_equal(sq_split_assign("=1", &l, &r), -1);
    assert_int_equal(sq_split_assign("x", &l, &r), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote),  cmocka_unit_test(test_upsert), cmocka_unit_test(test_deletes),
        cmocka_unit_test(test_pages),  cmocka_unit_test(test_cursor), cmocka_unit_test(test_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
