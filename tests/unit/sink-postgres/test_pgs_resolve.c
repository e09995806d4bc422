/*
 * test_pgs_resolve.c - sink.resolve of the PostgreSQL sink, no server: the
 * option's syntax (schema-qualified and quoted names, what is refused) and
 * the exact text of the two set-based statements a batch runs (names quoted,
 * one join per resolved column, no values in the text).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sink-postgres/pgs_resolve.h"

static void parse_ok(const char *item, const char *column, const char *table, const char *id, const char *by)
{
    char *c, *t, *i, *b;
    const char *why = NULL;
    assert_int_equal(pgs_resolve_parse(item, &c, &t, &i, &b, &why), 0);
    assert_string_equal(c, column);
    assert_string_equal(t, table);
    assert_string_equal(i, id);
    assert_string_equal(b, by);
    free(c);
    free(t);
    free(i);
    free(b);
}

static void parse_bad(const char *item, const char *want_why)
{
    char *c = (char *)1, *t = (char *)1, *i = (char *)1, *b = (char *)1;
    const char *why = NULL;
    assert_int_equal(pgs_resolve_parse(item, &c, &t, &i, &b, &why), -1);
    assert_null(c);
    assert_null(t);
    assert_null(i);
    assert_null(b);
    assert_non_null(why);
    assert_non_null(strstr(why, want_why));
}

static void test_parse(void **st)
{
    (void)st;
    parse_ok("conversation_id: conversations.id by elevenlabs_conversation_id", "conversation_id", "conversations",
             "id", "elevenlabs_conversation_id");
    parse_ok("  conversation_id:conversations.id   BY  ext_id  ", "conversation_id", "conversations", "id", "ext_id");
    parse_ok("parent: app.\"Parent Table\".\"Id\" by \"Ext.Key\"", "parent", "app.\"Parent Table\"", "Id", "Ext.Key");
    parse_ok("\"Owner Id\": crm.\"a.b\".uid by \"say \"\"x\"\"\"", "Owner Id", "crm.\"a.b\"", "uid", "say \"x\"");
    /* "by" inside a name is no separator */
    parse_ok("baby: maybe.id by bystander", "baby", "maybe", "id", "bystander");

    parse_bad("conversation_id conversations.id by x", "no ':'");
    parse_bad("conversation_id: conversations.id x", "no \"by");
    parse_bad("conversation_id: conversations by x", "no table.id");
    parse_bad(": conversations.id by x", "empty");
    parse_bad("c: .id by x", "table is empty");
    parse_bad("c: t.id by ", "empty");
    parse_bad("c: t.id by two words", "space");
    parse_bad("c: t.\"id by x", "no \"by");
}

static void test_statements(void **st)
{
    (void)st;
    pgs_sqlres r[2] = {
        {"conversation_id", PGS_RESOLVE_COL "0", "\"public\".\"conversations\"", "id", "elevenlabs_conversation_id"},
        {"Agent \"X\"", PGS_RESOLVE_COL "1", "\"app\".\"Agents\"", "uid", "code"},
    };
    char *sql = pgs_sql_resolve_missing("sync_stage_1", r, 1);
    assert_non_null(sql);
    assert_string_equal(sql,
        "DELETE FROM pg_temp.\"sync_stage_1\" AS s USING (SELECT x.\"_sync_seq\", CASE WHEN x.\"_sync_op\" = 0 AND x.\"_sync_r0\" IS NOT NULL"
        " AND p0.\"elevenlabs_conversation_id\" IS NULL THEN x.\"_sync_r0\"::text END AS \"_sync_m0\""
        " FROM pg_temp.\"sync_stage_1\" AS x LEFT JOIN \"public\".\"conversations\" AS p0"
        " ON p0.\"elevenlabs_conversation_id\" = x.\"_sync_r0\") AS m"
        " WHERE s.\"_sync_seq\" = m.\"_sync_seq\" AND (m.\"_sync_m0\" IS NOT NULL) RETURNING s.\"_sync_seq\", m.\"_sync_m0\"");
    free(sql);

    sql = pgs_sql_resolve_set("sync_stage_1", r, 1);
    assert_non_null(sql);
    assert_string_equal(sql,
        "UPDATE pg_temp.\"sync_stage_1\" AS s SET \"conversation_id\" = m.\"_sync_v0\""
        " FROM (SELECT x.\"_sync_seq\", p0.\"id\" AS \"_sync_v0\" FROM pg_temp.\"sync_stage_1\" AS x"
        " LEFT JOIN \"public\".\"conversations\" AS p0 ON p0.\"elevenlabs_conversation_id\" = x.\"_sync_r0\") AS m"
        " WHERE s.\"_sync_seq\" = m.\"_sync_seq\"");
    free(sql);

    /* two resolved columns: one join each, in one statement each; quotes doubled */
    sql = pgs_sql_resolve_missing("st", r, 2);
    assert_non_null(sql);
    assert_non_null(strstr(sql, " LEFT JOIN \"app\".\"Agents\" AS p1 ON p1.\"code\" = x.\"_sync_r1\")"));
    assert_non_null(strstr(sql, "AND (m.\"_sync_m0\" IS NOT NULL OR m.\"_sync_m1\" IS NOT NULL)"));
    assert_non_null(strstr(sql, "RETURNING s.\"_sync_seq\", m.\"_sync_m0\", m.\"_sync_m1\""));
    free(sql);
    sql = pgs_sql_resolve_set("st", r, 2);
    assert_non_null(sql);
    assert_non_null(strstr(sql, "SET \"conversation_id\" = m.\"_sync_v0\", \"Agent \"\"X\"\"\" = m.\"_sync_v1\" FROM"));
    assert_non_null(strstr(sql, "p1.\"uid\" AS \"_sync_v1\""));
    free(sql);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_statements),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
