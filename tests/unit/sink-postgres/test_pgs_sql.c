/*
 * test_pgs_sql.c - SQL text and COPY data of the PostgreSQL sink, no server.
 *
 * Quoting, COPY escaping, value formatting (timestamps around the epoch and
 * before year 1), the $N scanner that decides which hook parameters are
 * bound, column=value splitting, and the exact text of the statements the
 * write path runs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sink-postgres/pgs_sql.h"

static char *quoted(const char *name)
{
    static char out[256];
    char *q = pgs_quote_ident_dup(name);
    assert_non_null(q);
    snprintf(out, sizeof(out), "%s", q);
    free(q);
    return out;
}

static void test_quote_ident(void **st)
{
    (void)st;
    assert_string_equal(quoted("leads"), "\"leads\"");
    assert_string_equal(quoted("First Name"), "\"First Name\"");
    assert_string_equal(quoted("a\"b"), "\"a\"\"b\"");
    assert_string_equal(quoted("\"; DROP TABLE x; --"), "\"\"\"; DROP TABLE x; --\"");
    assert_string_equal(quoted("Zoë"), "\"Zoë\"");
}

/* COPY text of one value. */
static char *copy_text(const sync_value *v)
{
    static char out[512];
    pgs_buf b;
    pgs_buf_init(&b);
    const char *why = NULL;
    int rc = pgs_copy_value(&b, v, &why);
    if (rc < 0)
        snprintf(out, sizeof(out), "ERROR: %s", why);
    else
        snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
    pgs_buf_free(&b);
    return out;
}

static sync_value str(const char *s, size_t n)
{
    sync_value v;
    v.type = SYNC_TYPE_STRING;
    v.u.str.ptr = s;
    v.u.str.len = n;
    return v;
}

/* COPY text of one value under a text_nul policy; rc receives the encoder's answer. */
static char *copy_nul(const sync_value *v, pgs_nul_mode mode, const char *repl, int *rc)
{
    static char out[512];
    pgs_nul_policy nul = {mode, repl, repl ? strlen(repl) : 0};
    pgs_buf b;
    pgs_buf_init(&b);
    const char *why = NULL;
    *rc = pgs_copy_value_nul(&b, v, &nul, &why);
    if (*rc < 0)
        snprintf(out, sizeof(out), "ERROR: %s", why);
    else
        snprintf(out, sizeof(out), "%s", b.p ? b.p : "");
    pgs_buf_free(&b);
    return out;
}

static void test_copy_text_nul(void **st)
{
    (void)st;
    int rc;
    sync_value v = str("\0Ng\0\tuyen\0", 10);
    assert_non_null(strstr(copy_nul(&v, PGS_NUL_REJECT, NULL, &rc), "ERROR: value contains a NUL character"));
    assert_int_equal(rc, -1);
    assert_string_equal(copy_nul(&v, PGS_NUL_STRIP, NULL, &rc), "Ng\\tuyen");
    assert_int_equal(rc, 1);
    assert_string_equal(copy_nul(&v, PGS_NUL_REPLACE, "\xEF\xBF\xBD", &rc), "\xEF\xBF\xBDNg\xEF\xBF\xBD\\tuyen\xEF\xBF\xBD");
    assert_int_equal(rc, 1);
    /* the replacement is COPY data too: escaped like the rest */
    assert_string_equal(copy_nul(&v, PGS_NUL_REPLACE, "\\", &rc), "\\\\Ng\\\\\\tuyen\\\\");
    assert_string_equal(copy_nul(&v, PGS_NUL_REPLACE, "", &rc), "Ng\\tuyen");
    /* JSON text spells it \u0000 (jsonb refuses that): stripped or replaced the same way */
    sync_value j;
    j.type = SYNC_TYPE_JSON;
    j.u.str.ptr = "{\"a\":\"x\\u0000y\",\"b\":\"\\\\u0000\"}";
    j.u.str.len = strlen(j.u.str.ptr);
    assert_string_equal(copy_nul(&j, PGS_NUL_STRIP, NULL, &rc), "{\"a\":\"xy\",\"b\":\"\\\\\\\\u0000\"}");
    assert_int_equal(rc, 1);
    assert_string_equal(copy_nul(&j, PGS_NUL_REPLACE, "\"", &rc),
                        "{\"a\":\"x\\\\\"y\",\"b\":\"\\\\\\\\u0000\"}");
    /* reject leaves JSON to the server: a json column keeps \u0000, jsonb refuses the record */
    assert_string_equal(copy_nul(&j, PGS_NUL_REJECT, NULL, &rc),
                        "{\"a\":\"x\\\\u0000y\",\"b\":\"\\\\\\\\u0000\"}");
    assert_int_equal(rc, 0);
    /* a value without NUL is untouched whatever the policy */
    v = str("plain", 5);
    assert_string_equal(copy_nul(&v, PGS_NUL_STRIP, NULL, &rc), "plain");
    assert_int_equal(rc, 0);
}

static void test_copy_escaping(void **st)
{
    (void)st;
    sync_value v = str("plain", 5);
    assert_string_equal(copy_text(&v), "plain");
    v = str("a\tb\nc\rd\\e", 9);
    assert_string_equal(copy_text(&v), "a\\tb\\nc\\rd\\\\e");
    /* the two characters \N are data, not NULL */
    v = str("\\N", 2);
    assert_string_equal(copy_text(&v), "\\\\N");
    v = str("", 0);
    assert_string_equal(copy_text(&v), "");
    v = str("Zoë 日本 🎉", strlen("Zoë 日本 🎉"));
    assert_string_equal(copy_text(&v), "Zoë 日本 🎉");
    /* NUL cannot be stored: refused, not truncated */
    v = str("a\0b", 3);
    assert_non_null(strstr(copy_text(&v), "ERROR: value contains a NUL character"));
    v.type = SYNC_TYPE_JSON;
    v.u.str.ptr = "{\"k\":\"a\\tb\"}";
    v.u.str.len = strlen(v.u.str.ptr);
    assert_string_equal(copy_text(&v), "{\"k\":\"a\\\\tb\"}");

    v.type = SYNC_TYPE_NULL;
    assert_string_equal(copy_text(&v), "\\N");
    v.type = SYNC_TYPE_BOOL;
    v.u.b = 1;
    assert_string_equal(copy_text(&v), "t");
    v.u.b = 0;
    assert_string_equal(copy_text(&v), "f");
    v.type = SYNC_TYPE_INT;
    v.u.i = INT64_MIN;
    assert_string_equal(copy_text(&v), "-9223372036854775808");
    v.type = SYNC_TYPE_FLOAT;
    v.u.f = 0.1;
    assert_string_equal(copy_text(&v), "0.1"); /* the shortest text that reads back the same */
    v.u.f = 0.1 + 0.2;
    assert_string_equal(copy_text(&v), "0.30000000000000004");
    v.u.f = 1.0 / 3;
    assert_string_equal(copy_text(&v), "0.3333333333333333");
    v.u.f = 1e300;
    assert_string_equal(copy_text(&v), "1e+300");
    v.u.f = NAN;
    assert_string_equal(copy_text(&v), "NaN");
    v.u.f = -INFINITY;
    assert_string_equal(copy_text(&v), "-Infinity");
}

/* The word-at-a-time escaper against the obvious byte loop, every special at every position. */
static void test_copy_escaping_positions(void **st)
{
    (void)st;
    static const char specials[] = {'\\', '\t', '\n', '\r', 'x', (char)0xc3, (char)0x80};
    char in[40], want[80];
    for (size_t len = 0; len <= 33; len++) {
        for (size_t pos = 0; pos < len; pos++) {
            for (size_t k = 0; k < sizeof(specials); k++) {
                for (size_t i = 0; i < len; i++)
                    in[i] = (char)('a' + i % 26);
                in[pos] = specials[k];
                if (len > 1)
                    in[len - 1 - pos / 2] = specials[(k + 1) % sizeof(specials)];
                size_t o = 0;
                for (size_t i = 0; i < len; i++) {
                    char c = in[i];
                    if (c == '\\' || c == '\t' || c == '\n' || c == '\r') {
                        want[o++] = '\\';
                        want[o++] = c == '\t' ? 't' : c == '\n' ? 'n' : c == '\r' ? 'r' : '\\';
                    } else {
                        want[o++] = c;
                    }
                }
                want[o] = '\0';
                pgs_buf b;
                pgs_buf_init(&b);
                pgs_buf_add(&b, "pre", 3);
                pgs_copy_escape(&b, in, len);
                assert_int_equal(b.len, 3 + o);
                assert_memory_equal(b.p + 3, want, o + 1);
                pgs_buf_free(&b);
            }
        }
    }
}

static void test_timestamps_and_dates(void **st)
{
    (void)st;
    char buf[64];
    pgs_format_timestamp(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01 00:00:00.000000+00");
    pgs_format_timestamp(INT64_C(1714557600123456), buf, sizeof(buf));
    assert_string_equal(buf, "2024-05-01 10:00:00.123456+00");
    pgs_format_timestamp(-1, buf, sizeof(buf)); /* one microsecond before the epoch */
    assert_string_equal(buf, "1969-12-31 23:59:59.999999+00");
    pgs_format_timestamp(INT64_C(951782400000000), buf, sizeof(buf)); /* leap day 2000 */
    assert_string_equal(buf, "2000-02-29 00:00:00.000000+00");
    pgs_format_date(19723, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-01");
    pgs_format_date(-719528, buf, sizeof(buf)); /* astronomical year 0 = 1 BC */
    assert_string_equal(buf, "0001-01-01 BC");
    pgs_format_date(-719162, buf, sizeof(buf));
    assert_string_equal(buf, "0001-01-01");
    sync_value v;
    v.type = SYNC_TYPE_TIMESTAMP;
    v.u.ts = INT64_C(-62135596800000000) - INT64_C(86400000000); /* 0001-01-01 minus a day */
    assert_string_equal(copy_text(&v), "0001-12-31 00:00:00.000000+00 BC");
}

static void test_param_refs(void **st)
{
    (void)st;
    unsigned char used[8];
    assert_int_equal(pgs_sql_param_refs("SELECT 1", used, 8), 0);
    assert_int_equal(pgs_sql_param_refs("UPDATE t SET a = $2 WHERE id = $2", used, 8), 2);
    assert_false(used[0]);
    assert_true(used[1]);
    /* inside literals, identifiers, comments and dollar quotes: not parameters */
    assert_int_equal(pgs_sql_param_refs("SELECT '$1', \"$2\", $$ $3 $$, $tag$ $4 $tag$ -- $5\n"
                                        "/* $6 /* nested $7 */ $8 */ , $1",
                                        used, 8), 1);
    assert_true(used[0]);
    assert_false(used[2]);
    assert_int_equal(pgs_sql_param_refs("SELECT E'it\\'s $2', 'it''s $3', $4", used, 8), 4);
    assert_false(used[1]);
    assert_false(used[2]);
    /* part of an identifier */
    assert_int_equal(pgs_sql_param_refs("SELECT a$1 FROM t", used, 8), 0);
    /* more than configured */
    assert_int_equal(pgs_sql_param_refs("SELECT $3", used, 2), -1);
    assert_int_equal(pgs_sql_param_refs("SELECT $1::uuid", used, 2), 1);
}

static void test_split_assign(void **st)
{
    (void)st;
    char *l, *r;
    assert_int_equal(pgs_split_assign(" sync_status = deleted ", &l, &r), 0);
    assert_string_equal(l, "sync_status");
    assert_string_equal(r, "deleted");
    free(l);
    free(r);
    assert_int_equal(pgs_split_assign("\"Odd \"\"Col\"\"\"=a=b", &l, &r), 0);
    assert_string_equal(l, "Odd \"Col\"");
    assert_string_equal(r, "a=b");
    free(l);
    free(r);
    assert_int_equal(pgs_split_assign("novalue", &l, &r), -1);
    assert_int_equal(pgs_split_assign("col=", &l, &r), -1);
    assert_int_equal(pgs_split_assign(" =x", &l, &r), -1);
}

static void test_cmp_for_type(void **st)
{
    (void)st;
    assert_int_equal(pgs_cmp_for_type("json"), PGS_CMP_JSONB);
    assert_int_equal(pgs_cmp_for_type("jsonb"), PGS_CMP_PLAIN);
    assert_int_equal(pgs_cmp_for_type("xml"), PGS_CMP_TEXT);
    assert_int_equal(pgs_cmp_for_type("point"), PGS_CMP_TEXT);
    assert_int_equal(pgs_cmp_for_type("text"), PGS_CMP_PLAIN);
}

static const pgs_sqlcol cols[] = {
    {"Id", "text", 1, 1, PGS_CMP_PLAIN},
    {"src", "character varying(50)", 1, 1, PGS_CMP_PLAIN},
    {"name", "text", 0, 1, PGS_CMP_PLAIN},
    {"doc", "json", 0, 1, PGS_CMP_JSONB},
    {"seen", "timestamp with time zone", 0, 0, PGS_CMP_PLAIN},
};

static const pgs_affected all_actions = {1, 1, 1, 1, NULL, 0};

static void test_builders(void **st)
{
    (void)st;
    char *s = pgs_sql_stage_create("sync_stage_0", cols, 5);
    assert_string_equal(s, "CREATE TEMPORARY TABLE \"sync_stage_0\" (\"_sync_seq\" bigint NOT NULL, "
                           "\"_sync_op\" smallint NOT NULL, \"Id\" text, \"src\" character varying(50), "
                           "\"name\" text, \"doc\" json, \"seen\" timestamp with time zone) WITH (toast_tuple_target = 8160) ON COMMIT DROP");
    free(s);
    s = pgs_sql_copy("sync_stage_0", cols, 5);
    assert_string_equal(s, "COPY pg_temp.\"sync_stage_0\" (\"_sync_seq\", \"_sync_op\", \"Id\", \"src\", \"name\", "
                           "\"doc\", \"seen\") FROM STDIN");
    free(s);
    s = pgs_sql_dedupe("sync_stage_0", cols, 5);
    assert_string_equal(s, "DELETE FROM pg_temp.\"sync_stage_0\" AS a USING pg_temp.\"sync_stage_0\" AS b "
                           "WHERE a.\"Id\" = b.\"Id\" AND a.\"src\" = b.\"src\" AND a.\"_sync_seq\" < b.\"_sync_seq\"");
    free(s);
    s = pgs_sql_upsert("\"s\".\"t\"", "sync_stage_0", cols, 5, NULL, 0);
    assert_string_equal(s,
        "WITH up AS (INSERT INTO \"s\".\"t\" AS t (\"Id\", \"src\", \"name\", \"doc\", \"seen\") "
        "SELECT s.\"Id\", s.\"src\", s.\"name\", s.\"doc\", s.\"seen\" FROM pg_temp.\"sync_stage_0\" AS s "
        "WHERE s.\"_sync_op\" = 0 AND s.\"_sync_seq\" BETWEEN $1::bigint AND $2::bigint "
        "ON CONFLICT (\"Id\", \"src\") DO UPDATE SET \"name\" = EXCLUDED.\"name\", \"doc\" = EXCLUDED.\"doc\", "
        "\"seen\" = EXCLUDED.\"seen\" "
        "WHERE (t.\"name\", t.\"doc\"::jsonb) IS DISTINCT FROM (EXCLUDED.\"name\", EXCLUDED.\"doc\"::jsonb) "
        "RETURNING t.\"Id\", t.\"src\", (t.xmax = 0) AS \"_sync_ins\") "
        "SELECT count(*) FILTER (WHERE \"_sync_ins\"), count(*) FILTER (WHERE NOT \"_sync_ins\") FROM up");
    free(s);
    /* prefiltered: a stored row equal in the compared columns never reaches ON CONFLICT; the
     * rest of the statement is the plain one's */
    char *plain = pgs_sql_upsert("\"s\".\"t\"", "sync_stage_0", cols, 5, NULL, 0);
    s = pgs_sql_upsert("\"s\".\"t\"", "sync_stage_0", cols, 5, NULL, 1);
    const char *join = " LEFT JOIN \"s\".\"t\" AS o ON o.\"Id\" = s.\"Id\" AND o.\"src\" = s.\"src\"";
    const char *filter = " AND (o.\"Id\" IS NULL OR (o.\"name\", o.\"doc\"::jsonb) IS DISTINCT FROM "
                         "(s.\"name\", s.\"doc\"::jsonb))";
    const char *at_where = strstr(plain, " WHERE s.");
    const char *at_conflict = strstr(plain, " ON CONFLICT");
    assert_non_null(at_where);
    assert_non_null(at_conflict);
    char want[4096];
    snprintf(want, sizeof(want), "%.*s%s%.*s%s%s", (int)(at_where - plain), plain, join,
             (int)(at_conflict - at_where), at_where, filter, at_conflict);
    assert_string_equal(s, want);
    free(plain);
    free(s);
    s = pgs_sql_upsert("\"t\"", "st", cols, 2, &all_actions, 1); /* key columns only: nothing can change */
    assert_null(strstr(s, "LEFT JOIN"));
    free(s);
    s = pgs_sql_upsert("\"t\"", "st", cols, 2, &all_actions, 0); /* key columns only: nothing can change */
    assert_non_null(strstr(s, "ON CONFLICT (\"Id\", \"src\") DO NOTHING RETURNING"));
    assert_non_null(strstr(s, ", aff AS (INSERT INTO pg_temp.sync_affected (\"Id\", \"src\", action) SELECT \"Id\", "
                              "\"src\", CASE WHEN \"_sync_ins\" THEN 'inserted' ELSE 'updated' END FROM up)"));
    free(s);
    s = pgs_sql_delete_hard("\"t\"", "st", cols, 5, NULL);
    assert_string_equal(s, "WITH d AS (DELETE FROM \"t\" AS t USING pg_temp.\"st\" AS s WHERE s.\"_sync_op\" = 1 "
                           "AND s.\"_sync_seq\" BETWEEN $1::bigint AND $2::bigint AND t.\"Id\" = s.\"Id\" AND "
                           "t.\"src\" = s.\"src\" RETURNING t.\"Id\", t.\"src\") SELECT count(*) FROM d");
    free(s);
    const char *set[] = {"sync_status", "meta"};
    const int cmp[] = {PGS_CMP_PLAIN, PGS_CMP_JSONB};
    s = pgs_sql_delete_soft("\"t\"", "st", cols, 5, set, cmp, 2, &all_actions);
    assert_string_equal(s, "WITH d AS (UPDATE \"t\" AS t SET \"sync_status\" = $3, \"meta\" = $4 FROM pg_temp.\"st\" AS s "
                           "WHERE s.\"_sync_op\" = 1 AND s.\"_sync_seq\" BETWEEN $1::bigint AND $2::bigint AND "
                           "t.\"Id\" = s.\"Id\" AND t.\"src\" = s.\"src\" AND (t.\"sync_status\", t.\"meta\"::jsonb) "
                           "IS DISTINCT FROM ($3, $4::jsonb) RETURNING t.\"Id\", t.\"src\"), "
                           "aff AS (INSERT INTO pg_temp.sync_affected (\"Id\", \"src\", action) SELECT \"Id\", \"src\", "
                           "'deleted' FROM d) SELECT count(*) FROM d");
    free(s);
    s = pgs_sql_affected_create(cols, 5, &all_actions);
    assert_string_equal(s, "CREATE TEMPORARY TABLE sync_affected (\"Id\" text, \"src\" character varying(50), "
                           "action text NOT NULL) ON COMMIT DROP");
    free(s);
    s = pgs_sql_affected_unchanged("\"t\"", "st", cols, 5, &all_actions);
    assert_string_equal(s, "INSERT INTO pg_temp.sync_affected (\"Id\", \"src\", action) SELECT x.\"Id\", x.\"src\", "
                           "'unchanged' FROM (SELECT s.\"Id\", s.\"src\" FROM pg_temp.\"st\" AS s WHERE s.\"_sync_op\" = 0 "
                           "EXCEPT ALL SELECT a.\"Id\", a.\"src\" FROM pg_temp.sync_affected AS a) AS x");
    free(s);
    assert_null(pgs_sql_affected_trim(&all_actions));

    /* affected_columns: the stored row's id rides along; affected_actions: inserted only */
    static const pgs_sqlcol id_col[] = {{"id", "uuid", 0, 0, PGS_CMP_PLAIN}};
    pgs_affected ins = {1, 0, 0, 0, id_col, 1};
    s = pgs_sql_affected_create(cols, 5, &ins);
    assert_string_equal(s, "CREATE TEMPORARY TABLE sync_affected (\"Id\" text, \"src\" character varying(50), "
                           "\"id\" uuid, action text NOT NULL) ON COMMIT DROP");
    free(s);
    s = pgs_sql_upsert("\"t\"", "st", cols, 5, &ins, 0);
    assert_non_null(strstr(s, "RETURNING t.\"Id\", t.\"src\", t.\"id\", (t.xmax = 0) AS \"_sync_ins\"), "
                              "aff AS (INSERT INTO pg_temp.sync_affected (\"Id\", \"src\", \"id\", action) "
                              "SELECT \"Id\", \"src\", \"id\", 'inserted' FROM up WHERE \"_sync_ins\") SELECT"));
    free(s);
    s = pgs_sql_delete_hard("\"t\"", "st", cols, 5, &ins); /* deleted rows not asked for */
    assert_null(strstr(s, "aff AS"));
    free(s);
    pgs_affected upd = {0, 1, 0, 1, id_col, 1};
    s = pgs_sql_upsert("\"t\"", "st", cols, 5, &upd, 0);
    assert_non_null(strstr(s, "SELECT \"Id\", \"src\", \"id\", 'updated' FROM up WHERE NOT \"_sync_ins\")"));
    free(s);
    s = pgs_sql_delete_hard("\"t\"", "st", cols, 5, &upd);
    assert_non_null(strstr(s, "RETURNING t.\"Id\", t.\"src\", t.\"id\"), aff AS (INSERT INTO pg_temp.sync_affected "
                              "(\"Id\", \"src\", \"id\", action) SELECT \"Id\", \"src\", \"id\", 'deleted' FROM d)"));
    free(s);
    /* unchanged rows without the inserted ones: all listed first, inserted ones taken away after */
    pgs_affected unch = {0, 1, 1, 0, id_col, 1};
    s = pgs_sql_upsert("\"t\"", "st", cols, 5, &unch, 0);
    assert_non_null(strstr(s, "CASE WHEN \"_sync_ins\" THEN 'inserted' ELSE 'updated' END FROM up)"));
    free(s);
    s = pgs_sql_affected_unchanged("\"t\"", "st", cols, 5, &unch);
    assert_string_equal(s, "INSERT INTO pg_temp.sync_affected (\"Id\", \"src\", \"id\", action) SELECT x.\"Id\", "
                           "x.\"src\", t.\"id\", 'unchanged' FROM (SELECT s.\"Id\", s.\"src\" FROM pg_temp.\"st\" AS s "
                           "WHERE s.\"_sync_op\" = 0 EXCEPT ALL SELECT a.\"Id\", a.\"src\" FROM pg_temp.sync_affected AS a) "
                           "AS x LEFT JOIN \"t\" AS t ON t.\"Id\" = x.\"Id\" AND t.\"src\" = x.\"src\"");
    free(s);
    s = pgs_sql_affected_trim(&unch);
    assert_string_equal(s, "DELETE FROM pg_temp.sync_affected WHERE action IN ('inserted')");
    free(s);
    pgs_affected only_unch = {0, 0, 1, 0, NULL, 0};
    s = pgs_sql_affected_trim(&only_unch);
    assert_string_equal(s, "DELETE FROM pg_temp.sync_affected WHERE action IN ('inserted', 'updated')");
    free(s);
}

static void test_buf_and_errors(void **st)
{
    (void)st;
    pgs_buf b;
    pgs_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        pgs_buf_printf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.p));
    assert_non_null(strstr(b.p, ",999,"));
    pgs_buf_free(&b);

    pgs_err e;
    pgs_err_set(&e, -14, "value too long");
    pgs_err_prefix(&e, "table %s: ", "t");
    assert_string_equal(e.message, "table t: value too long");
    assert_true(pgs_sqlstate_is_record_level("22001"));
    assert_true(pgs_sqlstate_is_record_level("23505"));
    assert_false(pgs_sqlstate_is_record_level("57014")); /* statement timeout: not the record's fault */
    assert_false(pgs_sqlstate_is_record_level("42P01"));
    assert_false(pgs_sqlstate_is_record_level(NULL));
}

/* A full refresh's seen keys and the sweep of the rows it did not see (sink.purge_scope). */
static void test_sweep_statements(void **st)
{
    (void)st;
    char *s = pgs_sql_seen_insert("\"e\".\"sync_seen\"", "st", cols, 5);
    assert_string_equal(s, "INSERT INTO \"e\".\"sync_seen\" (job, stream, run_id, key) SELECT $1, $2, $3, "
                           "ROW(s.\"Id\", s.\"src\")::text FROM pg_temp.\"st\" AS s WHERE s.\"_sync_op\" = 0");
    free(s);
    /* the scope's own $1 stays the first of sql_params; the sweep's values come after */
    s = pgs_sql_sweep("\"t\"", "\"e\".\"sync_seen\"", "src = 'x' OR src = $1", 1, cols, 5, 1, NULL, NULL, 0, NULL);
    assert_string_equal(s, "WITH d AS (DELETE FROM \"t\" AS t WHERE (src = 'x' OR src = $1) AND NOT EXISTS "
                           "(SELECT FROM \"e\".\"sync_seen\" AS s WHERE s.job = $2 AND s.stream = $3 AND "
                           "s.run_id = $4 AND s.key = ROW(t.\"Id\", t.\"src\")::text) RETURNING t.\"Id\", "
                           "t.\"src\") SELECT count(*) FROM d");
    free(s);
    const char *set[] = {"sync_status"};
    const int cmp[] = {PGS_CMP_PLAIN};
    s = pgs_sql_sweep("\"t\"", "\"e\".\"sync_seen\"", "true", 0, cols, 5, 0, set, cmp, 1, &all_actions);
    assert_string_equal(s, "WITH d AS (UPDATE \"t\" AS t SET \"sync_status\" = $4 WHERE (true) AND NOT EXISTS "
                           "(SELECT FROM \"e\".\"sync_seen\" AS s WHERE s.job = $1 AND s.stream = $2 AND "
                           "s.run_id = $3 AND s.key = ROW(t.\"Id\", t.\"src\")::text) AND (t.\"sync_status\") "
                           "IS DISTINCT FROM ($4) RETURNING t.\"Id\", t.\"src\"), aff AS (INSERT INTO "
                           "pg_temp.sync_affected (\"Id\", \"src\", action) SELECT \"Id\", \"src\", 'deleted' "
                           "FROM d) SELECT count(*) FROM d");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quote_ident),
        cmocka_unit_test(test_copy_escaping),
        cmocka_unit_test(test_copy_text_nul),
        cmocka_unit_test(test_sweep_statements),
        cmocka_unit_test(test_copy_escaping_positions),
        cmocka_unit_test(test_timestamps_and_dates),
        cmocka_unit_test(test_param_refs),
        cmocka_unit_test(test_split_assign),
        cmocka_unit_test(test_cmp_for_type),
        cmocka_unit_test(test_builders),
        cmocka_unit_test(test_buf_and_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
