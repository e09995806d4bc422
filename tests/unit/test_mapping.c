/*
 * tests/unit/test_mapping.c - the mapping language and the mapping stage:
 * every operator and function, null rules, compile-time errors with their
 * file:line:col, environment variables, per-record errors, the field
 * position cache, and Henk's Contact and Lead mappings on sample records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "record.h"
#include "timeutil.h"

/* ---- helpers ------------------------------------------------------------ */

static sync_batch *g_in, *g_out;
static char g_err[1024];

static int setup(void **state)
{
    (void)state;
    g_in = syncc_batch_new();
    g_out = syncc_batch_new();
    return g_in && g_out ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    syncc_batch_free(g_in);
    syncc_batch_free(g_out);
    return 0;
}

/* Compiles "col = expr" lines as if they were lines 10, 11, ... of test.ini. */
static syncc_mapping *compile_lines(const char *const *lines, size_t n)
{
    syncc_map_src src[64];
    char cols[64][64];
    assert_true(n <= 64);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strstr(lines[i], " = ");
        assert_non_null(eq);
        snprintf(cols[i], sizeof(cols[i]), "%.*s", (int)(eq - lines[i]), lines[i]);
        src[i].column = cols[i];
        src[i].expr = eq + 3;
        src[i].file = "test.ini";
        src[i].line = 10 + (int)i;
        src[i].col = (int)(eq - lines[i]) + 4;
        src[i].vars = NULL;
    }
    g_err[0] = '\0';
    return syncc_mapping_compile(src, n, g_err, sizeof(g_err));
}

static syncc_mapping *compile1(const char *expr)
{
    size_t size = strlen(expr) + 8;
    char *line = malloc(size);
    assert_non_null(line);
    snprintf(line, size, "v = %s", expr);
    const char *lines[] = {line};
    syncc_mapping *m = compile_lines(lines, 1);
    free(line);
    return m;
}

/* Compile error message for one expression (NULL if it compiled). */
static const char *compile_error(const char *expr)
{
    syncc_mapping *m = compile1(expr);
    if (m != NULL) {
        syncc_mapping_free(m);
        return NULL;
    }
    return g_err;
}

static sync_record *new_in(const char *key)
{
    sync_record *r = syncc_batch_add(g_in, key, key ? strlen(key) : 0, SYNC_OP_UPSERT);
    assert_non_null(r);
    return r;
}

static void set_str(sync_record *r, const char *f, const char *s)
{
    sync_value v = {.type = SYNC_TYPE_STRING};
    v.u.str.ptr = s;
    v.u.str.len = strlen(s);
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

static void set_int(sync_record *r, const char *f, int64_t i)
{
    sync_value v = {.type = SYNC_TYPE_INT};
    v.u.i = i;
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

static void set_float(sync_record *r, const char *f, double d)
{
    sync_value v = {.type = SYNC_TYPE_FLOAT};
    v.u.f = d;
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

static void set_bool(sync_record *r, const char *f, int b)
{
    sync_value v = {.type = SYNC_TYPE_BOOL};
    v.u.b = b;
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

static void set_null(sync_record *r, const char *f)
{
    sync_value v = {.type = SYNC_TYPE_NULL};
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

static void set_ts(sync_record *r, const char *f, const char *iso)
{
    sync_value v = {.type = SYNC_TYPE_TIMESTAMP};
    assert_int_equal(syncc_time_parse(iso, strlen(iso), &v.u.ts, NULL), 0);
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

/* Evaluates m on in into a fresh output record; returns it (fields valid until teardown). */
static sync_record *map_ok(const syncc_mapping *m, const sync_record *in)
{
    sync_record *o = syncc_batch_add(g_out, in->key, in->key ? strlen(in->key) : 0, in->op);
    assert_non_null(o);
    int rc = syncc_mapping_eval(m, in, o, g_err, sizeof(g_err));
    if (rc != SYNC_OK)
        fail_msg("mapping failed: %s", g_err);
    assert_int_equal(o->n_fields, syncc_mapping_n_columns(m));
    return o;
}

static const sync_value *col(const sync_record *o, const char *name)
{
    for (uint32_t i = 0; i < o->n_fields; i++)
        if (strcmp(o->fields[i].name, name) == 0)
            return &o->fields[i].value;
    fail_msg("no column %s", name);
    return NULL;
}

/* Evaluates one expression against in (an empty record when NULL). */
static sync_value eval_on(const char *expr, const sync_record *in)
{
    syncc_mapping *m = compile1(expr);
    if (m == NULL)
        fail_msg("compile failed for %s: %s", expr, g_err);
    if (in == NULL)
        in = new_in("k");
    sync_record *o = map_ok(m, in);
    sync_value v = o->fields[0].value; /* strings live in g_out's arena: still valid */
    syncc_mapping_free(m);
    return v;
}

static sync_value ev(const char *expr)
{
    return eval_on(expr, NULL);
}

#define assert_str_val(v, s)                                                 \
    do {                                                                     \
        sync_value v_ = (v);                                                 \
        assert_int_equal(v_.type, SYNC_TYPE_STRING);                         \
        assert_int_equal(v_.u.str.len, strlen(s));                           \
        assert_memory_equal(v_.u.str.ptr, (s), strlen(s));                   \
    } while (0)

#define assert_int_val(v, n)                                                 \
    do {                                                                     \
        sync_value v_ = (v);                                                 \
        assert_int_equal(v_.type, SYNC_TYPE_INT);                            \
        assert_int_equal(v_.u.i, (n));                                       \
    } while (0)

#define assert_float_val(v, d)                                               \
    do {                                                                     \
        sync_value v_ = (v);                                                 \
        assert_int_equal(v_.type, SYNC_TYPE_FLOAT);                          \
        assert_true(fabs(v_.u.f - (d)) < 1e-9);                              \
    } while (0)

#define assert_bool_val(v, want)                                             \
    do {                                                                     \
        sync_value v_ = (v);                                                 \
        assert_int_equal(v_.type, SYNC_TYPE_BOOL);                           \
        assert_int_equal(v_.u.b != 0, (want) != 0);                          \
    } while (0)

#define assert_null_val(v) assert_int_equal((v).type, SYNC_TYPE_NULL)

/* Checks that a message contains a fragment. */
#define assert_contains(hay, needle)                                         \
    do {                                                                     \
        const char *h_ = (hay);                                              \
        if (h_ == NULL || strstr(h_, (needle)) == NULL)                      \
            fail_msg("'%s' does not contain '%s'", h_ ? h_ : "(null)", (needle)); \
    } while (0)

/* ---- literals, operators, precedence ------------------------------------ */

static void test_literals(void **state)
{
    (void)state;
    assert_str_val(ev("'single'"), "single");
    assert_str_val(ev("\"double\""), "double");
    assert_str_val(ev("'it\\'s \\\"q\\\" a\\\\b\\n\\t'"), "it's \"q\" a\\b\n\t");
    assert_str_val(ev("\"it's\""), "it's");
    assert_int_val(ev("42"), 42);
    assert_int_val(ev("-42"), -42);
    assert_int_val(ev("9223372036854775807"), INT64_MAX);
    assert_float_val(ev("3.25"), 3.25);
    assert_float_val(ev("1e3"), 1000.0);
    assert_bool_val(ev("true"), 1);
    assert_bool_val(ev("FALSE"), 0);
    assert_null_val(ev("null"));
    assert_str_val(ev("''"), "");
}

static void test_arithmetic_and_precedence(void **state)
{
    (void)state;
    assert_int_val(ev("1 + 2 * 3"), 7);
    assert_int_val(ev("(1 + 2) * 3"), 9);
    assert_int_val(ev("10 - 4 - 3"), 3); /* left associative */
    assert_int_val(ev("24 / 4 / 2"), 3);
    assert_int_val(ev("7 / 2"), 3);      /* integer division */
    assert_int_val(ev("-7 / 2"), -3);    /* truncates toward zero */
    assert_float_val(ev("7.0 / 2"), 3.5);
    assert_float_val(ev("1 + 0.5"), 1.5);
    assert_int_val(ev("-2 * 3"), -6);
    assert_int_val(ev("- -2"), 2);
    assert_int_val(ev("+5"), 5);
    assert_int_val(ev("2 * -3"), -6);
    /* || binds looser than + and tighter than comparison */
    assert_str_val(ev("1 + 2 || 'x'"), "3x");
    assert_bool_val(ev("'a' || 'b' = 'ab'"), 1);
    /* not binds looser than comparison, tighter than and/or */
    assert_bool_val(ev("not 1 = 2"), 1);
    assert_bool_val(ev("not true and false"), 0);
    assert_bool_val(ev("true or false and false"), 1);
    assert_bool_val(ev("(true or false) and false"), 0);
    assert_bool_val(ev("not(false)"), 1);
    assert_bool_val(ev("not not true"), 1);
    assert_bool_val(ev("true = (not false)"), 1);
    assert_string_equal(compile_error("true = not false"),
                        "test.ini:10:12: column 'v': 'not' needs parentheses here, as in (not x)");
    assert_bool_val(ev("1 < 2 and 2 <= 2 and 3 > 2 and 3 >= 3 and 1 != 2 and 1 <> 2 and 1 == 1"), 1);
}

static void test_comparisons(void **state)
{
    (void)state;
    assert_bool_val(ev("'abc' < 'abd'"), 1);
    assert_bool_val(ev("'ab' < 'abc'"), 1);
    assert_bool_val(ev("'B' < 'a'"), 1);          /* bytewise */
    assert_bool_val(ev("'a' = 'A'"), 0);
    assert_bool_val(ev("1 = 1.0"), 1);
    assert_bool_val(ev("2 > 1.5"), 1);
    assert_bool_val(ev("'10' = 10"), 1);          /* string read as a number */
    assert_bool_val(ev("'9' < 10"), 1);           /* numerically, not as text */
    assert_bool_val(ev("true = 'yes'"), 1);
    assert_bool_val(ev("timestamp('2024-05-01T10:00:00Z') = '2024-05-01T12:00:00+02:00'"), 1);
    assert_bool_val(ev("date('2024-05-01') < timestamp('2024-05-01T00:00:01Z')"), 1);
    assert_bool_val(ev("date('2024-05-01') = '2024-05-01'"), 1);
    assert_non_null(compile_error("'abc' < 1"));    /* folded: cannot read 'abc' as a number */
    assert_non_null(compile_error("true < 1"));
    assert_non_null(compile_error("1 < 2 < 3"));
}

static void test_null_semantics(void **state)
{
    (void)state;
    assert_null_val(ev("null + 1"));
    assert_null_val(ev("-null"));
    assert_null_val(ev("null || 'a'"));
    assert_bool_val(ev("null = null"), 1);
    assert_bool_val(ev("null != null"), 0);
    assert_bool_val(ev("1 = null"), 0);
    assert_bool_val(ev("1 != null"), 1);
    assert_null_val(ev("null < 1"));
    assert_null_val(ev("not null"));
    assert_bool_val(ev("null or true"), 1);
    assert_null_val(ev("null or false"));
    assert_bool_val(ev("null and false"), 0);
    assert_null_val(ev("null and true"));
    assert_bool_val(ev("false and null"), 0);
    /* absent fields are null */
    assert_null_val(ev("Missing"));
    assert_bool_val(ev("Missing = null"), 1);
    assert_bool_val(ev("is_null(Missing.Deep.Path)"), 1);
    /* short-circuit: the right side is not evaluated */
    assert_bool_val(ev("false and int(Missing || 'x') = 1"), 0);
}

/* ---- functions ---------------------------------------------------------- */

static void test_string_functions(void **state)
{
    (void)state;
    assert_str_val(ev("lower('HeLLo')"), "hello");
    assert_str_val(ev("UPPER('HeLLo')"), "HELLO");
    assert_str_val(ev("lower('ÉCOLE ÀÖ Ł ΑΒΓ ДЖ')"), "école àö ł αβγ дж");
    assert_str_val(ev("upper('straße é')"), "STRAßE É");
    assert_str_val(ev("lower(12)"), "12");
    assert_null_val(ev("lower(null)"));
    assert_str_val(ev("trim('  a b \\t\\n')"), "a b");
    assert_str_val(ev("trim('')"), "");
    assert_str_val(ev("concat('a', null, 1, true, 'z')"), "a1truez");
    assert_str_val(ev("concat(null)"), "");
    assert_str_val(ev("'a' || 1.5"), "a1.5");
    assert_str_val(ev("substr('hello', 2, 3)"), "ell");
    assert_str_val(ev("substr('hello', 2)"), "ello");
    assert_str_val(ev("substr('hello', 0, 2)"), "h");        /* SQL: positions 0 and 1 */
    assert_str_val(ev("substr('hello', 10)"), "");
    assert_str_val(ev("substr('héllo wörld', 2, 4)"), "éllo"); /* counts characters */
    assert_str_val(ev("substr('日本語テキスト', 3, 2)"), "語テ");
    assert_null_val(ev("substr(null, 1)"));
    assert_non_null(compile_error("substr('abc', 1, -1)"));
    assert_non_null(compile_error("substr('abc', 'x')"));
    assert_str_val(ev("replace('a-b-c', '-', '+')"), "a+b+c");
    assert_str_val(ev("replace('aaa', 'aa', 'b')"), "ba");
    assert_str_val(ev("replace('abc', '', 'x')"), "abc");
    assert_str_val(ev("replace('abc', 'b', '')"), "ac");
    assert_int_val(ev("length('hello')"), 5);
    assert_int_val(ev("length('héllo')"), 5);
    assert_int_val(ev("length('')"), 0);
    assert_null_val(ev("length(null)"));
}

static void test_null_functions(void **state)
{
    (void)state;
    assert_int_val(ev("coalesce(null, 2, 3)"), 2);
    assert_null_val(ev("coalesce(null, null)"));
    assert_str_val(ev("coalesce('', 'x')"), "");
    assert_str_val(ev("default('', 'x')"), "x");
    assert_str_val(ev("default(null, 'x')"), "x");
    assert_str_val(ev("default('a', 'x')"), "a");
    assert_int_val(ev("default(0, 5)"), 0);
    assert_bool_val(ev("is_null(null)"), 1);
    assert_bool_val(ev("is_null('')"), 0);
    assert_null_val(ev("nullif('', '')"));
    assert_str_val(ev("nullif('a', '')"), "a");
    assert_null_val(ev("nullif(1, 1.0)"));
    assert_null_val(ev("nullif(null, 1)"));
    assert_int_val(ev("nullif(1, 'abc')"), 1); /* incomparable: not equal */
    /* coalesce(int, float) is typed float and yields floats */
    assert_float_val(ev("coalesce(int(Missing), 1, 2.5)"), 1.0);
    assert_int_val(ev("coalesce(Missing, 1, 2.5)"), 1); /* Missing may be anything: no promotion */
    /* lazy: the branch not taken cannot fail */
    assert_int_val(ev("coalesce(1, int(Missing || 'x'))"), 1);
}

static void test_if_and_lookup(void **state)
{
    (void)state;
    assert_str_val(ev("if(1 < 2, 'yes', 'no')"), "yes");
    assert_str_val(ev("IF(false, 'yes', 'no')"), "no");
    assert_str_val(ev("if(null, 'yes', 'no')"), "no");
    assert_null_val(ev("if(false, 'yes')"));
    assert_str_val(ev("if('true', 'yes', 'no')"), "yes");
    assert_int_val(ev("if(true, 1, int(Missing || 'x'))"), 1);
    assert_non_null(compile_error("if(now(), 1, 2)"));

    assert_int_val(ev("lookup('Hot', 'Hot', 90, 'Warm', 70, 50)"), 90);
    assert_int_val(ev("lookup('warm', 'Hot', 90, 'Warm', 70, 50)"), 70); /* case-insensitive */
    assert_int_val(ev("lookup('HOT', 'hot', 90, 50)"), 90);
    assert_int_val(ev("lookup('Lukewarm', 'Hot', 90, 'Warm', 70, 50)"), 50);
    assert_int_val(ev("lookup(null, 'Hot', 90, 50)"), 50);
    assert_null_val(ev("lookup('x', 'Hot', 90)"));          /* no default */
    assert_str_val(ev("lookup(null, null, 'none', 'x')"), "none");
    assert_str_val(ev("lookup(2, 1, 'one', 2, 'two')"), "two");
    assert_str_val(ev("lookup(2.0, 1, 'one', 2, 'two')"), "two");
    assert_str_val(ev("lookup(2, 'a', 'one', 2, 'two')"), "two"); /* incomparable key skipped */
    assert_non_null(compile_error("lookup('x', 'a')"));
}

static void test_conversions(void **state)
{
    (void)state;
    assert_bool_val(ev("bool('true')"), 1);
    assert_bool_val(ev("bool('FALSE')"), 0);
    assert_bool_val(ev("bool('yes')"), 1);
    assert_bool_val(ev("bool('no')"), 0);
    assert_bool_val(ev("bool('1')"), 1);
    assert_bool_val(ev("bool('0')"), 0);
    assert_bool_val(ev("bool(2)"), 1);
    assert_bool_val(ev("bool(0.0)"), 0);
    assert_null_val(ev("bool(null)"));
    assert_contains(compile_error("bool('maybe')"), "bool(): invalid boolean 'maybe'");

    assert_int_val(ev("int('42')"), 42);
    assert_int_val(ev("int(' -7 ')"), -7);
    assert_int_val(ev("int(3.9)"), 3);
    assert_int_val(ev("int(-3.9)"), -3);
    assert_int_val(ev("int('12.5')"), 12);
    assert_int_val(ev("int(true)"), 1);
    assert_contains(compile_error("int('abc')"), "int(): invalid integer 'abc'");
    assert_non_null(compile_error("int(1e30)"));

    assert_float_val(ev("float('2.5')"), 2.5);
    assert_float_val(ev("float(2)"), 2.0);
    assert_contains(compile_error("float('x1')"), "float(): invalid number 'x1'");

    assert_str_val(ev("string(42)"), "42");
    assert_str_val(ev("string(true)"), "true");
    assert_str_val(ev("string(2.5)"), "2.5");
    assert_str_val(ev("string(date('2024-02-29'))"), "2024-02-29");
    assert_null_val(ev("string(null)"));

    sync_value v = ev("timestamp('2024-05-01T10:00:00.000+0000')");
    assert_int_equal(v.type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(v.u.ts, INT64_C(1714557600000000));
    v = ev("timestamp('2024-05-01T10:00:00Z')");
    assert_int_equal(v.u.ts, INT64_C(1714557600000000));
    v = ev("timestamp('2024-05-01T12:00:00+02:00')");
    assert_int_equal(v.u.ts, INT64_C(1714557600000000));
    v = ev("timestamp('2024-05-01T10:00:00.123456Z')");
    assert_int_equal(v.u.ts, INT64_C(1714557600123456));
    v = ev("timestamp('2024-05-01')");
    assert_int_equal(v.u.ts, INT64_C(1714521600000000));
    assert_contains(compile_error("timestamp('2024-13-01')"), "timestamp(): invalid timestamp '2024-13-01'");
    assert_non_null(compile_error("timestamp('yesterday')"));

    v = ev("date('2024-02-29')");
    assert_int_equal(v.type, SYNC_TYPE_DATE);
    assert_int_equal(v.u.ts, 19782);
    v = ev("date('2024-05-01T23:30:00-02:00')"); /* the UTC date of the instant */
    assert_int_equal(v.u.ts, 19845);
    v = ev("date(timestamp('1969-12-31T23:00:00Z'))");
    assert_int_equal(v.u.ts, -1);
    assert_non_null(compile_error("date('2023-02-29')"));
}

static json_t *json_of(sync_value v)
{
    assert_int_equal(v.type, SYNC_TYPE_JSON);
    json_error_t je;
    json_t *j = json_loadb(v.u.str.ptr, v.u.str.len, 0, &je);
    if (j == NULL)
        fail_msg("invalid JSON %.*s: %s", (int)v.u.str.len, v.u.str.ptr, je.text);
    return j;
}

static void test_json(void **state)
{
    (void)state;
    sync_record *in = new_in("k1");
    set_str(in, "Name", "quote \" backslash \\ nl \n tab \t ctl \x01 é");
    set_ts(in, "Created", "2024-05-01T10:00:00.000+0000");
    sync_value raw = {.type = SYNC_TYPE_JSON};
    raw.u.str.ptr = "{\"nested\":[1,2]}";
    raw.u.str.len = strlen(raw.u.str.ptr);
    assert_int_equal(syncc_record_set(in, "Extra", &raw), SYNC_OK);
    set_float(in, "Score", 2.5);

    sync_value v = eval_on("json_object('name', Name, 'created', Created, 'extra', Extra, 'none', Missing, "
                           "'n', 1, 'f', Score, 'b', true, 'd', date('2024-02-29'))",
                           in);
    json_t *j = json_of(v);
    assert_string_equal(json_string_value(json_object_get(j, "name")),
                        "quote \" backslash \\ nl \n tab \t ctl \x01 é");
    assert_string_equal(json_string_value(json_object_get(j, "created")), "2024-05-01T10:00:00.000000Z");
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "extra"), "nested")), 2);
    assert_true(json_is_null(json_object_get(j, "none")));
    assert_int_equal(json_integer_value(json_object_get(j, "n")), 1);
    assert_true(json_real_value(json_object_get(j, "f")) == 2.5);
    assert_true(json_is_true(json_object_get(j, "b")));
    assert_string_equal(json_string_value(json_object_get(j, "d")), "2024-02-29");
    json_decref(j);

    assert_memory_equal(ev("json_object()").u.str.ptr, "{}", 2);
    v = ev("json_array(1, 'a', null, json_array(), json_object('k', 'v'))");
    assert_int_equal(v.u.str.len, strlen("[1,\"a\",null,[],{\"k\":\"v\"}]"));
    assert_memory_equal(v.u.str.ptr, "[1,\"a\",null,[],{\"k\":\"v\"}]", v.u.str.len);

    /* split(): a multi-select picklist's "a;b" as a JSON array */
    const char *const splits[][2] = {
        {"split('Events;Webinars', ';')", "[\"Events\",\"Webinars\"]"},
        {"split(' a ; ;b;', ';')", "[\"a\",\"b\"]"},
        {"split('', ';')", "[]"},
        {"split('a--b', '--')", "[\"a\",\"b\"]"},
        {"split('a;b', '')", "[\"a;b\"]"},
        {"split('say \"hi\";x', ';')", "[\"say \\\"hi\\\"\",\"x\"]"},
    };
    for (size_t i = 0; i < sizeof splits / sizeof splits[0]; i++) {
        v = ev(splits[i][0]);
        assert_int_equal(v.type, SYNC_TYPE_JSON);
        assert_int_equal(v.u.str.len, strlen(splits[i][1]));
        assert_memory_equal(v.u.str.ptr, splits[i][1], v.u.str.len);
    }
    assert_null_val(ev("split(null, ';')"));

    /* invalid UTF-8 is replaced so the result stays valid JSON */
    in = new_in("k2");
    set_str(in, "Bad", "a\xff" "b");
    j = json_of(eval_on("json_object('x', Bad)", in));
    assert_string_equal(json_string_value(json_object_get(j, "x")), "a\xef\xbf\xbd" "b");
    json_decref(j);

    assert_contains(compile_error("json_object('a')"), "odd number");
    assert_contains(compile_error("json_object(1, 2)"), "key 1 must be a string");
    assert_contains(compile_error("json_object('k', 1, null, 2)"), "key 2 must be a string");
}

static void test_now_and_meta(void **state)
{
    (void)state;
    syncc_mapping *m = compile1("now()");
    assert_non_null(m);
    syncc_mapping_set_now(m, INT64_C(1714557600000000));
    sync_record *in = new_in("k");
    sync_record *o = map_ok(m, in);
    assert_int_equal(o->fields[0].value.type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(o->fields[0].value.u.ts, INT64_C(1714557600000000));
    assert_int_equal(syncc_mapping_column_type(m, 0), SYNC_TYPE_TIMESTAMP);
    syncc_mapping_free(m);

    const char *lines[] = {"k = @key", "op = @op", "s = @stream", "c = @cursor"};
    m = compile_lines(lines, 4);
    assert_non_null(m);
    g_in->stream = "contacts";
    in = syncc_batch_add(g_in, "003A", 4, SYNC_OP_DELETE);
    assert_int_equal(syncc_record_set_cursor(in, "2024-05-01T10:00:00.000Z/003A"), SYNC_OK);
    o = map_ok(m, in);
    assert_str_val(*col(o, "k"), "003A");
    assert_str_val(*col(o, "op"), "delete");
    assert_str_val(*col(o, "s"), "contacts");
    assert_str_val(*col(o, "c"), "2024-05-01T10:00:00.000Z/003A");
    in = new_in("003B");
    o = map_ok(m, in);
    assert_str_val(*col(o, "op"), "upsert");
    assert_null_val(*col(o, "c"));
    g_in->stream = NULL;
    syncc_mapping_free(m);
    assert_contains(compile_error("@nope"), "unknown record attribute '@nope'");
}

/* ---- compile errors ----------------------------------------------------- */

static void test_compile_errors(void **state)
{
    (void)state;
    /* "v = " puts the expression at column 5 of line 10 */
    assert_string_equal(compile_error("lowr(Name)"),
                        "test.ini:10:5: column 'v': unknown function 'lowr' (did you mean 'lower'?)");
    assert_string_equal(compile_error("1 + frobnicate_all_the_things(2)"),
                        "test.ini:10:9: column 'v': unknown function 'frobnicate_all_the_things'");
    assert_string_equal(compile_error("upper('a', 'b')"),
                        "test.ini:10:5: column 'v': upper() takes 1 argument, got 2 (upper(s))");
    assert_contains(compile_error("coalesce()"), "coalesce() takes at least 1 argument, got 0");
    assert_contains(compile_error("substr('a')"), "substr() takes 2 to 3 arguments, got 1");
    assert_string_equal(compile_error("'abc"), "test.ini:10:5: column 'v': unterminated string literal");
    assert_string_equal(compile_error("'a\\qb'"),
                        "test.ini:10:7: column 'v': invalid escape sequence '\\q' in string literal");
    assert_string_equal(compile_error("(1 + 2"), "test.ini:10:11: column 'v': expected ')'");
    assert_string_equal(compile_error("1 + 2)"), "test.ini:10:10: column 'v': unbalanced ')'");
    assert_string_equal(compile_error("Id Name"),
                        "test.ini:10:8: column 'v': unexpected text after the expression");
    assert_string_equal(compile_error("Name + 'x'"),
                        "test.ini:10:10: column 'v': operator + cannot be applied to string (use || to "
                        "join strings)");
    assert_string_equal(compile_error("1 +"),
                        "test.ini:10:8: column 'v': expected an expression, found the end of the text");
    assert_contains(compile_error(""), "empty expression");
    assert_contains(compile_error("1 # 2"), "test.ini:10:7: column 'v': unexpected character '#'");
    assert_contains(compile_error("12abc"), "invalid number");
    assert_contains(compile_error("99999999999999999999"), "out of range");
    assert_contains(compile_error("`unterminated"), "unterminated quoted field name");
    assert_contains(compile_error("1 / 0"), "division by zero");
    assert_contains(compile_error("9223372036854775807 + 1"), "integer out of range");
    assert_contains(compile_error("-'a'"), "operator - cannot be applied to string");
    assert_contains(compile_error("not now()"), "operator not cannot be applied to timestamp");

    /* positions on the right line and column of a multi-line entry */
    syncc_map_src src[2] = {
        {"a", "Id", "leads.ini", 3, 5, NULL},
        {"b", "concat(Id,\n  nope(1))", "leads.ini", 4, 5, NULL},
    };
    syncc_mapping *m = syncc_mapping_compile(src, 2, g_err, sizeof(g_err));
    assert_null(m);
    assert_string_equal(g_err, "leads.ini:5:3: column 'b': unknown function 'nope' (did you mean 'now'?)");

    /* the same column twice */
    syncc_map_src dup[2] = {{"a", "1", "x.ini", 1, 5, NULL}, {"a", "2", "x.ini", 2, 5, NULL}};
    assert_null(syncc_mapping_compile(dup, 2, g_err, sizeof(g_err)));
    assert_string_equal(g_err, "x.ini:2:5: column 'a': column is mapped twice (first at x.ini:1)");
}

/* job variables (var.NAME) are found before the environment */
static void test_job_vars(void **state)
{
    (void)state;
    setenv("SYNCC_TEST_BIZ", "from-env", 1);
    const char *vars[] = {"SYNCC_TEST_BIZ", "from-var", NULL};
    syncc_map_src src[2] = {{"a", "${SYNCC_TEST_BIZ}", "j.ini", 1, 5, vars},
                            {"b", "${SYNCC_TEST_OTHER:-dflt}", "j.ini", 2, 5, vars}};
    syncc_mapping *m = syncc_mapping_compile(src, 2, g_err, sizeof(g_err));
    assert_non_null(m);
    sync_batch *in = syncc_batch_new(), *out = syncc_batch_new();
    sync_record *r = syncc_batch_add(in, "k", 1, SYNC_OP_UPSERT);
    sync_record *o = syncc_batch_add(out, "k", 1, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, r, o, g_err, sizeof(g_err)), SYNC_OK);
    assert_int_equal(o->n_fields, 2);
    assert_string_equal(o->fields[0].value.u.str.ptr, "from-var");
    assert_string_equal(o->fields[1].value.u.str.ptr, "dflt");
    syncc_batch_free(in);
    syncc_batch_free(out);
    syncc_mapping_free(m);
    /* without the variable, the environment */
    src[0].vars = NULL;
    m = syncc_mapping_compile(src, 1, g_err, sizeof(g_err));
    in = syncc_batch_new();
    out = syncc_batch_new();
    r = syncc_batch_add(in, "k", 1, SYNC_OP_UPSERT);
    o = syncc_batch_add(out, "k", 1, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, r, o, g_err, sizeof(g_err)), SYNC_OK);
    assert_string_equal(o->fields[0].value.u.str.ptr, "from-env");
    syncc_batch_free(in);
    syncc_batch_free(out);
    syncc_mapping_free(m);
}

static void test_env(void **state)
{
    (void)state;
    setenv("SYNCTEST_BIZ", "b7f1c0de-0000-4000-8000-000000000001", 1);
    unsetenv("SYNCTEST_UNSET");
    setenv("SYNCTEST_EMPTY", "", 1);
    setenv("SYNCTEST_NASTY", "x' || Secret || '", 1);
    assert_str_val(ev("${SYNCTEST_BIZ}"), "b7f1c0de-0000-4000-8000-000000000001");
    assert_str_val(ev("${SYNCTEST_BIZ:-other}"), "b7f1c0de-0000-4000-8000-000000000001");
    assert_str_val(ev("${SYNCTEST_UNSET:-fallback value}"), "fallback value");
    assert_str_val(ev("${SYNCTEST_UNSET:-}"), "");
    assert_str_val(ev("${SYNCTEST_EMPTY}"), "");
    assert_str_val(ev("${SYNCTEST_EMPTY:-used when empty}"), "used when empty");
    assert_str_val(ev("'id-' || ${SYNCTEST_BIZ}"), "id-b7f1c0de-0000-4000-8000-000000000001");
    /* the value is data, never syntax */
    assert_str_val(ev("${SYNCTEST_NASTY}"), "x' || Secret || '");
    assert_str_val(ev("'${SYNCTEST_BIZ}'"), "${SYNCTEST_BIZ}"); /* no substitution inside strings */
    assert_string_equal(compile_error("coalesce(Id, ${SYNCTEST_UNSET})"),
                        "test.ini:10:18: column 'v': environment variable SYNCTEST_UNSET is not set");
    assert_contains(compile_error("${SYNCTEST_BIZ"), "missing '}'");
    assert_contains(compile_error("${1X}"), "invalid environment variable reference");
    unsetenv("SYNCTEST_BIZ");
    unsetenv("SYNCTEST_EMPTY");
    unsetenv("SYNCTEST_NASTY");
}

/* ---- the stage ---------------------------------------------------------- */

static void test_eval_errors(void **state)
{
    (void)state;
    const char *lines[] = {"id = Id", "n = int(Amount)", "after = 'never'"};
    syncc_mapping *m = compile_lines(lines, 3);
    assert_non_null(m);
    sync_record *in = new_in("r1");
    set_str(in, "Id", "r1");
    set_str(in, "Amount", "abc");
    sync_record *o = syncc_batch_add(g_out, "r1", 2, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_E_DATA);
    assert_string_equal(g_err, "column 'n': int(): invalid integer 'abc'");
    assert_int_equal(o->n_fields, 0); /* nothing half-mapped */

    /* the next record maps fine: errors are per record */
    in = new_in("r2");
    set_str(in, "Id", "r2");
    set_str(in, "Amount", "12");
    o = map_ok(m, in);
    assert_int_val(*col(o, "n"), 12);
    syncc_mapping_free(m);

    /* long values are cut in messages */
    char big[300];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    m = compile1("Amount * 2");
    in = new_in("r3");
    set_str(in, "Amount", big);
    o = syncc_batch_add(g_out, "r3", 2, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_E_DATA);
    assert_contains(g_err, "column 'v': operator * expects numbers, got string 'xxxx");
    assert_contains(g_err, "...");
    assert_true(strlen(g_err) < 200);
    syncc_mapping_free(m);

    m = compile1("Amount / Zero");
    in = new_in("r4");
    set_int(in, "Amount", 1);
    set_int(in, "Zero", 0);
    o = syncc_batch_add(g_out, "r4", 2, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_E_DATA);
    assert_string_equal(g_err, "column 'v': division by zero");
    syncc_mapping_free(m);
}

/* ---- text matching, choice, JSON aggregation (conversation outcomes) ---- */

static void set_json_field(sync_record *r, const char *f, const char *text)
{
    sync_value v = {.type = SYNC_TYPE_JSON};
    v.u.str.ptr = text;
    v.u.str.len = strlen(text);
    assert_int_equal(syncc_record_set(r, f, &v), SYNC_OK);
}

/* Evaluates expr on in and expects a per-record error containing msg. */
static void eval_fails(const char *expr, sync_record *in, const char *msg)
{
    syncc_mapping *m = compile1(expr);
    if (m == NULL)
        fail_msg("compile failed for %s: %s", expr, g_err);
    sync_record *o = syncc_batch_add(g_out, in->key, strlen(in->key), SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_E_DATA);
    assert_contains(g_err, msg);
    syncc_mapping_free(m);
}

static void test_contains_any(void **state)
{
    (void)state;
    assert_bool_val(ev("contains_any('Yes, COUNT me IN!', 'I will pledge', 'count me in')"), 1);
    assert_bool_val(ev("contains_any('no, maybe later', 'I will pledge', 'count me in')"), 0);
    /* inside words, as the phrase lists expect: 'donate' matches 'donated' */
    assert_bool_val(ev("contains_any('I already donated', 'donate')"), 1);
    /* typographic apostrophes read as ' ; non-ASCII letters fold too */
    assert_bool_val(ev("contains_any('Sure, I\xE2\x80\x99ll pledge fifty', \"I'll pledge\")"), 1);
    assert_bool_val(ev("contains_any('\xC3\x89" "COLE', '\xC3\xA9" "cole')"), 1);
    assert_bool_val(ev("contains_any('abc', '')"), 1); /* an empty phrase is in every text */
    assert_bool_val(ev("contains_any('', 'x')"), 0);
    assert_bool_val(ev("contains_any(12345, '234')"), 1); /* any value's text */
    /* nulls like other functions */
    assert_null_val(ev("contains_any(null, 'a')"));
    assert_null_val(ev("contains_any('a', null)"));
    assert_non_null(compile_error("contains_any('a')"));
    assert_int_val(ev("count_matches('No thanks. no THANKS, not right now', 'no thanks', 'not right now')"), 3);
    assert_int_val(ev("count_matches('aaaa', 'aa')"), 2); /* non-overlapping */
    assert_int_val(ev("count_matches('nothing here', 'pledge')"), 0);
    assert_null_val(ev("count_matches(null, 'x')"));

    /* on a record: not folded */
    sync_record *in = new_in("c1");
    set_str(in, "Text", "Not interested, sorry");
    assert_bool_val(eval_on("contains_any(Text, 'not interested', 'no thanks')", in), 1);
    assert_int_val(eval_on("count_matches(Text, 'S')", in), 2);
}

static void test_matches(void **state)
{
    (void)state;
    assert_bool_val(ev("matches('I will PLEDGE 50', 'pledge [0-9]+')"), 1);
    assert_bool_val(ev("matches('I will PLEDGE 50', 'pledge [0-9]+', 'c')"), 0);
    assert_bool_val(ev("matches('I will pledge 50', 'pledge [0-9]+', 'c')"), 1);
    assert_bool_val(ev("matches('I will pledge 50', '^pledge')"), 0);
    assert_bool_val(ev("matches('donation', '(^|[^a-z])donate([^a-z]|$)')"), 0);
    assert_null_val(ev("matches(null, 'x')"));
    /* a bad literal pattern or flag is a compile error naming the map line */
    assert_string_equal(compile_error("matches(Text, 'a(b')"),
                        "test.ini:10:19: column 'v': matches(): invalid regular expression 'a(b': "
                        "Unmatched ( or \\(");
    assert_contains(compile_error("matches(Text, 'ab', 'x')"), "test.ini:10:25: column 'v': matches(): flags must be");

    sync_record *in = new_in("m1");
    set_str(in, "Text", "call me back at 5");
    set_str(in, "Pat", "back at [0-9]");
    set_str(in, "Bad", "[z-a]");
    assert_bool_val(eval_on("matches(Text, 'CALL ME')", in), 1);
    assert_bool_val(eval_on("matches(Text, Pat)", in), 1); /* compiled per record */
    eval_fails("matches(Text, Bad)", in, "column 'v': matches(): invalid regular expression '[z-a]'");
    /* text holding a NUL character is matched as a whole */
    sync_value nul = {.type = SYNC_TYPE_STRING};
    nul.u.str.ptr = "a\0pledge";
    nul.u.str.len = 8;
    assert_int_equal(syncc_record_set(in, "Nul", &nul), SYNC_OK);
    assert_bool_val(eval_on("matches(Nul, 'pledge$')", in), 1);
    assert_bool_val(eval_on("contains_any(Nul, 'PLEDGE')", in), 1);
}

static void test_choose(void **state)
{
    (void)state;
    assert_str_val(ev("choose(false, 'a', true, 'b', true, 'c')"), "b"); /* first match wins */
    assert_str_val(ev("choose(false, 'a', 'else')"), "else");
    assert_null_val(ev("choose(false, 'a', null, 'b')"));   /* a null condition is not true */
    assert_int_val(ev("choose(1 = 1, 1, 2)"), 1);
    /* only the branch taken is evaluated */
    sync_record *in = new_in("ch");
    set_str(in, "X", "x");
    assert_int_val(eval_on("choose(true, 1, false, int(X))", in), 1);
    assert_int_val(eval_on("choose(X = 'x', 1, int(X))", in), 1);
    assert_non_null(compile_error("choose(true)"));
    assert_string_equal(compile_error("choose(now(), 'a')"),
                        "test.ini:10:12: column 'v': choose(): condition 1 is a timestamp, not a truth value");
    syncc_mapping *m = compile1("choose(X > 1, 1, X > 0, 2.5)");
    assert_non_null(m);
    assert_int_equal(syncc_mapping_column_type(m, 0), SYNC_TYPE_FLOAT);
    syncc_mapping_free(m);
    m = compile1("choose(X > 1, 'a', 'b')");
    assert_int_equal(syncc_mapping_column_type(m, 0), SYNC_TYPE_STRING);
    syncc_mapping_free(m);
}

static void test_md5(void **state)
{
    (void)state;
    assert_str_val(ev("md5('')"), "d41d8cd98f00b204e9800998ecf8427e");
    assert_str_val(ev("md5('abc')"), "900150983cd24fb0d6963f7d28e17f72");
    /* 56..64 bytes: the padding takes a second block */
    assert_str_val(ev("md5('12345678901234567890123456789012345678901234567890123456789012345678901234567890')"),
                   "57edf4a22be3c955ac49da2e2107b67a");
    assert_str_val(ev("md5(42)"), "a1d0c6e83f027327d8461063f4ac58a6");
    assert_null_val(ev("md5(null)"));
}

static const char transcript[] =
    "[{\"role\":\"agent\",\"message\":\"Hi! Would you like to donate today?\",\"time_in_call_secs\":0},"
    "{\"role\":\"user\",\"message\":\"Hmm, tell me more.\",\"time_in_call_secs\":4.5},"
    "{\"role\":\"agent\",\"message\":\"It funds clean water.\",\"time_in_call_secs\":9},"
    "{\"role\":\"user\",\"message\":\"OK, count me in.\",\"time_in_call_secs\":15},"
    "{\"role\":\"user\",\"message\":null},"
    "{\"role\":\"agent\"}]";

static void test_json_aggregate(void **state)
{
    (void)state;
    sync_record *in = new_in("conv_1");
    set_json_field(in, "transcript", transcript);
    set_json_field(in, "analysis", "{\"call_successful\":\"success\",\"n\":3,\"f\":2.5,\"ok\":true,"
                                   "\"list\":[1,{\"a/b\":\"slash\",\"t~\":\"tilde\"}],\"none\":null}");
    set_str(in, "Text", "[\"x\",1]");

    /* the user's messages, joined */
    assert_str_val(eval_on("join(json_pluck(json_filter(transcript, 'role', 'user'), 'message'), ' | ')", in),
                   "Hmm, tell me more. | OK, count me in.");
    sync_value v = eval_on("json_filter(transcript, 'role', 'user')", in);
    json_t *j = json_of(v);
    assert_int_equal(json_array_size(j), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "message")), "Hmm, tell me more.");
    json_decref(j);
    /* compact JSON, numbers as they were */
    assert_string_equal(eval_on("json_pluck(transcript, 'time_in_call_secs')", in).u.str.ptr, "[0,4.5,9,15]");
    assert_int_val(eval_on("json_length(json_filter(transcript, 'role', 'agent'))", in), 3);
    assert_int_val(eval_on("json_length(transcript)", in), 6);
    /* the agent saying "donate" does not count: only the user's messages are searched */
    assert_bool_val(eval_on("contains_any(join(json_pluck(json_filter(transcript, 'role', 'user'), 'message'), "
                            "'\\n'), 'donate')",
                            in),
                    0);
    assert_string_equal(eval_on("json_grep(json_pluck(transcript, 'message'), 'donate', 'count me in')", in).u.str.ptr,
                        "[\"Hi! Would you like to donate today?\",\"OK, count me in.\"]");
    assert_string_equal(eval_on("json_grep(json_pluck(transcript, 'message'), 'pledge')", in).u.str.ptr, "[]");
    /* a field given as a JSON pointer; filter values compare like = */
    assert_int_val(eval_on("json_length(json_filter(transcript, '/time_in_call_secs', 9.0))", in), 1);
    assert_int_val(eval_on("json_length(json_filter(transcript, 'time_in_call_secs', '15'))", in), 1);

    /* json_get: typed results, RFC 6901 escapes, absent is null */
    assert_str_val(eval_on("json_get(analysis, '/call_successful')", in), "success");
    assert_int_val(eval_on("json_get(analysis, '/n')", in), 3);
    assert_float_val(eval_on("json_get(analysis, '/f')", in), 2.5);
    assert_bool_val(eval_on("json_get(analysis, '/ok')", in), 1);
    assert_null_val(eval_on("json_get(analysis, '/none')", in));
    assert_null_val(eval_on("json_get(analysis, '/missing/deeper')", in));
    assert_null_val(eval_on("json_get(analysis, '/list/7')", in));
    assert_str_val(eval_on("json_get(analysis, '/list/1/a~1b')", in), "slash");
    assert_str_val(eval_on("json_get(analysis, '/list/1/t~0')", in), "tilde");
    v = eval_on("json_get(analysis, '/list')", in);
    assert_int_equal(v.type, SYNC_TYPE_JSON);
    assert_memory_equal(v.u.str.ptr, "[1,{\"a/b\":\"slash\",\"t~\":\"tilde\"}]", v.u.str.len);
    assert_int_val(eval_on("json_get(Text, '/1')", in), 1); /* a string holding JSON is read too */
    assert_str_val(eval_on("join(Text, '-')", in), "x-1");
    assert_str_val(ev("join(json_array(), ',')"), "");
    assert_str_val(ev("join(json_array('a', null, true, 2.5, json_object('k', 1)), ',')"), "a,true,2.5,{\"k\":1}");

    /* nulls */
    assert_null_val(eval_on("json_filter(Missing, 'role', 'user')", in));
    assert_null_val(eval_on("json_get(analysis, null)", in));
    assert_null_val(eval_on("join(Missing, ',')", in));

    /* errors are the record's */
    eval_fails("json_pluck(analysis, 'x')", in, "column 'v': json_pluck(): ");
    eval_fails("json_pluck(analysis, 'x')", in, "is not a JSON array");
    eval_fails("json_get(Text || '{oops', '/a')", in, "json_get(): invalid JSON '[\"x\",1]{oops'");
    /* constant arguments are evaluated at compile time: their errors are the configuration's */
    assert_contains(compile_error("json_get('{oops', '/a')"), "test.ini:10:5: column 'v': json_get(): invalid JSON '{oops'");
    eval_fails("json_get(analysis, 'n')", in, "json_get(): JSON pointer 'n' does not start with '/'");
    set_str(in, "Scalar", "5");
    eval_fails("json_length(Scalar)", in, "json_length(): '5' is not a JSON array or object");
    eval_fails("json_length(json_get(analysis, '/n'))", in, "json_length(): integer 3 is not JSON");
    assert_contains(compile_error("json_get(5, '/a')"), "json_get(): integer 5 is not JSON");
}

/* Henk's conversation outcome (conf/henk-conversations.ini), rule by rule. */
static void test_henk_outcome(void **state)
{
    (void)state;
#define USER_TEXT "join(json_pluck(json_filter(transcript, 'role', 'user'), 'message'), '\\n')"
    const char *expr = "choose(contains_any(" USER_TEXT ", 'I will pledge', \"I'll pledge\", 'count me in'), "
                       "'pledged', contains_any(" USER_TEXT ", 'donate', \"I'll donate\", 'I will donate'), "
                       "'donated', contains_any(" USER_TEXT ", 'not interested', 'no thanks', 'not right now'), "
                       "'not_interested')";
    static const struct {
        const char *transcript;
        const char *outcome;
    } cases[] = {
        {"[{\"role\":\"user\",\"message\":\"I'll PLEDGE twenty\"}]", "pledged"},
        {"[{\"role\":\"user\",\"message\":\"I will donate, no thanks needed\"}]", "donated"},
        /* pledged wins over not_interested (first rule that matches) */
        {"[{\"role\":\"user\",\"message\":\"not right now\"},{\"role\":\"user\",\"message\":\"ok count me in\"}]",
         "pledged"},
        {"[{\"role\":\"user\",\"message\":\"No thanks.\"}]", "not_interested"},
        /* the agent's words do not count */
        {"[{\"role\":\"agent\",\"message\":\"Will you donate? count me in!\"},{\"role\":\"user\",\"message\":\"bye\"}]",
         NULL},
        {"[]", NULL},
    };
    syncc_mapping *m = compile1(expr);
    if (m == NULL)
        fail_msg("%s", g_err);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sync_record *in = new_in("conv");
        set_json_field(in, "transcript", cases[i].transcript);
        sync_record *o = map_ok(m, in);
        if (cases[i].outcome)
            assert_str_val(o->fields[0].value, cases[i].outcome);
        else
            assert_null_val(o->fields[0].value);
    }
    syncc_mapping_free(m);
#undef USER_TEXT
}

static void test_strict(void **state)
{
    (void)state;
    syncc_mapping *m = compile1("Email");
    syncc_mapping_set_strict(m, 1);
    sync_record *in = new_in("r1");
    set_null(in, "Email");
    sync_record *o = map_ok(m, in); /* present but null: fine */
    assert_null_val(o->fields[0].value);
    in = new_in("r2");
    o = syncc_batch_add(g_out, "r2", 2, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_E_DATA);
    assert_string_equal(g_err, "column 'v': field 'Email' is absent from the record");
    syncc_mapping_free(m);
}

static void test_field_paths_and_hints(void **state)
{
    (void)state;
    const char *lines[] = {
        "a = Id",
        "b = Account.Name",
        "c = `weird name` || Account.`Odd Field`",
        "d = Id || '/' || Custom_Field__c",
        "e = Owner.Manager.Email",
    };
    syncc_mapping *m = compile_lines(lines, 5);
    assert_non_null(m);
    assert_int_equal(syncc_mapping_n_fields(m), 6);
    assert_string_equal(syncc_mapping_field(m, 0), "Id");
    assert_string_equal(syncc_mapping_field(m, 1), "Account.Name");
    assert_string_equal(syncc_mapping_field(m, 2), "weird name");
    assert_string_equal(syncc_mapping_field(m, 3), "Account.Odd Field");
    assert_string_equal(syncc_mapping_field(m, 4), "Custom_Field__c");
    assert_string_equal(syncc_mapping_field(m, 5), "Owner.Manager.Email");
    assert_null(syncc_mapping_field(m, 6));

    /* the same mapping over records whose fields come in different orders and sets */
    for (int round = 0; round < 3; round++) {
        sync_record *r1 = new_in("1");
        set_str(r1, "Id", "1");
        set_str(r1, "Account.Name", "Acme");
        set_str(r1, "weird name", "w");
        set_str(r1, "Account.Odd Field", "o");
        set_str(r1, "Custom_Field__c", "c1");
        set_str(r1, "Owner.Manager.Email", "m@x");

        sync_record *r2 = new_in("2");
        set_str(r2, "Owner.Manager.Email", "m2@x");
        set_str(r2, "Custom_Field__c", "c2");
        set_str(r2, "Id", "2");
        set_str(r2, "Account.Name", "Beta");

        sync_record *r3 = new_in("3");
        set_str(r3, "Extra1", "-");
        set_str(r3, "Extra2", "-");
        set_str(r3, "Id", "3");

        sync_record *o = map_ok(m, r1);
        assert_str_val(*col(o, "a"), "1");
        assert_str_val(*col(o, "b"), "Acme");
        assert_str_val(*col(o, "c"), "wo");
        assert_str_val(*col(o, "d"), "1/c1");
        assert_str_val(*col(o, "e"), "m@x");
        o = map_ok(m, r2);
        assert_str_val(*col(o, "a"), "2");
        assert_str_val(*col(o, "b"), "Beta");
        assert_null_val(*col(o, "c"));
        assert_str_val(*col(o, "d"), "2/c2");
        assert_str_val(*col(o, "e"), "m2@x");
        o = map_ok(m, r3);
        assert_str_val(*col(o, "a"), "3");
        assert_null_val(*col(o, "b"));
        assert_null_val(*col(o, "d"));
        assert_null_val(*col(o, "e"));
    }
    syncc_mapping_free(m);
}

static void test_output_batch_reuse(void **state)
{
    (void)state;
    const char *lines[] = {"x = Id", "y = lower(Id)"};
    syncc_mapping *m = compile_lines(lines, 2);
    assert_non_null(m);
    for (int round = 0; round < 3; round++) {
        syncc_batch_reset(g_out); /* names interned before the reset are gone */
        sync_record *in = new_in("K");
        set_str(in, "Id", "ABC");
        sync_record *o = map_ok(m, in);
        assert_string_equal(o->fields[0].name, "x");
        assert_ptr_equal(o->fields[0].name, syncc_batch_intern(g_out, "x", 1));
        assert_str_val(*col(o, "y"), "abc");
        sync_record *o2 = map_ok(m, in);
        assert_ptr_equal(o2->fields[1].name, o->fields[1].name);
    }
    /* another output batch */
    sync_batch *other = syncc_batch_new();
    sync_record *in = new_in("K2");
    set_str(in, "Id", "Q");
    sync_record *o = syncc_batch_add(other, "K2", 2, SYNC_OP_UPSERT);
    assert_int_equal(syncc_mapping_eval(m, in, o, g_err, sizeof(g_err)), SYNC_OK);
    assert_ptr_equal(o->fields[0].name, syncc_batch_intern(other, "x", 1));
    syncc_batch_free(other);
    syncc_mapping_free(m);
}

static void test_column_types(void **state)
{
    (void)state;
    const char *lines[] = {
        "s = 'x'",          "i = 1 + 2",         "f = 1 * 2.0",        "b = Id = 'x'",
        "any = Id",         "j = json_object()", "t = now()",          "d = date(Id)",
        "c = coalesce(Id, 'x')", "n = coalesce(1, 2.5)", "l = lookup(Id, 'a', 1, 2)", "cat = Id || 'x'",
    };
    syncc_mapping *m = compile_lines(lines, 12);
    assert_non_null(m);
    sync_type want[] = {SYNC_TYPE_STRING, SYNC_TYPE_INT,       SYNC_TYPE_FLOAT,     SYNC_TYPE_BOOL,
                        SYNC_TYPE_NULL,   SYNC_TYPE_JSON,      SYNC_TYPE_TIMESTAMP, SYNC_TYPE_DATE,
                        SYNC_TYPE_NULL,   SYNC_TYPE_FLOAT,     SYNC_TYPE_INT,       SYNC_TYPE_STRING};
    for (size_t i = 0; i < 12; i++) {
        if (syncc_mapping_column_type(m, i) != want[i])
            fail_msg("column %s: type %d, want %d", syncc_mapping_column(m, i),
                     syncc_mapping_column_type(m, i), want[i]);
    }
    assert_int_equal(syncc_mapping_n_columns(m), 12);
    assert_string_equal(syncc_mapping_column(m, 11), "cat");
    assert_null(syncc_mapping_column(m, 12));
    syncc_mapping_free(m);
}

/* ---- Henk's mappings ---------------------------------------------------- */

static const char *const lead_map[] = {
    "business_id = ${HENK_BUSINESS_ID}",
    "source = 'salesforce_lead'",
    "source_id = Id",
    "source_metadata = json_object('salesforce_type', 'Lead', 'salesforce_created_date', CreatedDate, "
    "'salesforce_last_modified', LastModifiedDate, 'salesforce_system_modstamp', SystemModstamp, "
    "'salesforce_owner_id', OwnerId, 'salesforce_status', Status, 'salesforce_rating', Rating)",
    "first_name = nullif(FirstName, '')",
    "last_name = nullif(LastName, '')",
    "email = nullif(lower(trim(Email)), '')",
    "phone = nullif(Phone, '')",
    "company = nullif(Company, '')",
    "department = null",
    "lead_score = lookup(Rating, 'Hot', 90, 'Warm', 70, 'Cold', 30, 50)",
    "quality_rating = lookup(Rating, 'Hot','hot','Warm','warm','Cold','cold','unrated')",
    "do_not_call = coalesce(DoNotCall, false)",
    "email_opt_out = coalesce(HasOptedOutOfEmail, false)",
    "last_synced_at = now()",
    "sync_status = if(IsConverted, 'converted', 'active')",
    "last_activity_at = coalesce(LastModifiedDate, now())",
};

static const char *const contact_map[] = {
    "business_id = ${HENK_BUSINESS_ID}",
    "source = 'salesforce_contact'",
    "source_id = Id",
    "source_metadata = json_object('salesforce_type', 'Contact', 'salesforce_created_date', CreatedDate, "
    "'salesforce_last_modified', LastModifiedDate, 'salesforce_system_modstamp', SystemModstamp, "
    "'salesforce_owner_id', OwnerId, 'salesforce_account', Account.Name)",
    "first_name = nullif(FirstName, '')",
    "email = nullif(Email, '')",
    "street = nullif(MailingStreet, '')",
    "company = Account.Name",
    "lead_score = 50",
    "quality_rating = 'warm'",
    "do_not_call = coalesce(DoNotCall, false)",
    "sync_status = 'active'",
    "last_activity_at = coalesce(LastModifiedDate, now())",
};

#define RUN_START INT64_C(1717236000000000) /* 2024-06-01T10:00:00Z */

static void test_henk_lead(void **state)
{
    (void)state;
    setenv("HENK_BUSINESS_ID", "2c1f6a3e-9d0b-4c55-8f1e-0a6b7c8d9e01", 1);
    syncc_mapping *m = compile_lines(lead_map, sizeof(lead_map) / sizeof(lead_map[0]));
    if (m == NULL)
        fail_msg("%s", g_err);
    syncc_mapping_set_now(m, RUN_START);
    assert_int_equal(syncc_mapping_column_type(m, 10), SYNC_TYPE_INT);    /* lead_score */
    assert_int_equal(syncc_mapping_column_type(m, 11), SYNC_TYPE_STRING); /* quality_rating */
    assert_int_equal(syncc_mapping_column_type(m, 3), SYNC_TYPE_JSON);    /* source_metadata */

    sync_record *hot = new_in("00Q1");
    set_str(hot, "Id", "00Q1");
    set_str(hot, "FirstName", "Ada");
    set_str(hot, "LastName", "");
    set_str(hot, "Email", "  Ada@Example.COM ");
    set_str(hot, "Company", "Acme BV");
    set_str(hot, "Rating", "Hot");
    set_bool(hot, "DoNotCall", 1);
    set_bool(hot, "IsConverted", 0);
    set_str(hot, "Status", "Open - Not Contacted");
    set_str(hot, "OwnerId", "005X");
    set_ts(hot, "CreatedDate", "2024-05-01T10:00:00.000+0000");
    set_ts(hot, "LastModifiedDate", "2024-05-02T11:30:00.000+0000");
    set_ts(hot, "SystemModstamp", "2024-05-02T11:30:01.000+0000");

    sync_record *o = map_ok(m, hot);
    assert_str_val(*col(o, "business_id"), "2c1f6a3e-9d0b-4c55-8f1e-0a6b7c8d9e01");
    assert_str_val(*col(o, "source"), "salesforce_lead");
    assert_str_val(*col(o, "source_id"), "00Q1");
    assert_str_val(*col(o, "first_name"), "Ada");
    assert_null_val(*col(o, "last_name"));
    assert_str_val(*col(o, "email"), "ada@example.com");
    assert_null_val(*col(o, "phone"));
    assert_str_val(*col(o, "company"), "Acme BV");
    assert_null_val(*col(o, "department"));
    assert_int_val(*col(o, "lead_score"), 90);
    assert_str_val(*col(o, "quality_rating"), "hot");
    assert_bool_val(*col(o, "do_not_call"), 1);
    assert_bool_val(*col(o, "email_opt_out"), 0);
    assert_str_val(*col(o, "sync_status"), "active");
    assert_int_equal(col(o, "last_synced_at")->u.ts, RUN_START);
    assert_int_equal(col(o, "last_activity_at")->type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(col(o, "last_activity_at")->u.ts, INT64_C(1714649400000000));
    json_t *j = json_of(*col(o, "source_metadata"));
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_type")), "Lead");
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_created_date")),
                        "2024-05-01T10:00:00.000000Z");
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_status")), "Open - Not Contacted");
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_rating")), "Hot");
    json_decref(j);

    /* a sparse lead: nulls omitted by the source, lower-case rating, converted */
    sync_record *sparse = new_in("00Q2");
    set_str(sparse, "Id", "00Q2");
    set_str(sparse, "Rating", "warm");
    set_bool(sparse, "IsConverted", 1);
    o = map_ok(m, sparse);
    assert_int_val(*col(o, "lead_score"), 70);
    assert_str_val(*col(o, "quality_rating"), "warm");
    assert_bool_val(*col(o, "do_not_call"), 0);
    assert_str_val(*col(o, "sync_status"), "converted");
    assert_null_val(*col(o, "first_name"));
    assert_null_val(*col(o, "email"));
    assert_int_equal(col(o, "last_activity_at")->u.ts, RUN_START); /* falls back to now() */
    j = json_of(*col(o, "source_metadata"));
    assert_true(json_is_null(json_object_get(j, "salesforce_created_date")));
    json_decref(j);

    /* unknown and missing ratings */
    const char *ratings[] = {"Cold", "Lukewarm", NULL};
    const int64_t scores[] = {30, 50, 50};
    const char *quality[] = {"cold", "unrated", "unrated"};
    for (int i = 0; i < 3; i++) {
        sync_record *r = new_in("00Q3");
        set_str(r, "Id", "00Q3");
        if (ratings[i])
            set_str(r, "Rating", ratings[i]);
        else
            set_null(r, "Rating");
        o = map_ok(m, r);
        assert_int_val(*col(o, "lead_score"), scores[i]);
        assert_str_val(*col(o, "quality_rating"), quality[i]);
    }
    syncc_mapping_free(m);

    unsetenv("HENK_BUSINESS_ID");
    m = compile_lines(lead_map, sizeof(lead_map) / sizeof(lead_map[0]));
    assert_null(m);
    assert_string_equal(g_err, "test.ini:10:15: column 'business_id': environment variable HENK_BUSINESS_ID "
                               "is not set");
}

static void test_henk_contact(void **state)
{
    (void)state;
    setenv("HENK_BUSINESS_ID", "biz-1", 1);
    syncc_mapping *m = compile_lines(contact_map, sizeof(contact_map) / sizeof(contact_map[0]));
    if (m == NULL)
        fail_msg("%s", g_err);
    syncc_mapping_set_now(m, RUN_START);
    /* the seed plan's own unit-test record */
    sync_record *in = new_in("SF123");
    set_str(in, "Id", "SF123");
    set_str(in, "FirstName", "John");
    set_str(in, "LastName", "Doe");
    set_str(in, "Email", "john@example.com");
    set_str(in, "Phone", "+1234567890");
    set_str(in, "Account.Name", "Acme Corp");
    sync_record *o = map_ok(m, in);
    assert_str_val(*col(o, "business_id"), "biz-1");
    assert_str_val(*col(o, "source"), "salesforce_contact");
    assert_str_val(*col(o, "source_id"), "SF123");
    assert_str_val(*col(o, "first_name"), "John");
    assert_str_val(*col(o, "email"), "john@example.com");
    assert_str_val(*col(o, "quality_rating"), "warm");
    assert_str_val(*col(o, "company"), "Acme Corp");
    assert_int_val(*col(o, "lead_score"), 50);
    assert_bool_val(*col(o, "do_not_call"), 0);
    assert_null_val(*col(o, "street"));
    assert_int_equal(col(o, "last_activity_at")->u.ts, RUN_START);
    json_t *j = json_of(*col(o, "source_metadata"));
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_type")), "Contact");
    assert_string_equal(json_string_value(json_object_get(j, "salesforce_account")), "Acme Corp");
    json_decref(j);

    /* a source that sends datetimes as text: kept as given */
    in = new_in("SF124");
    set_str(in, "Id", "SF124");
    set_str(in, "LastModifiedDate", "2024-05-02T11:30:00.000+0000");
    set_bool(in, "DoNotCall", 1);
    o = map_ok(m, in);
    assert_str_val(*col(o, "last_activity_at"), "2024-05-02T11:30:00.000+0000");
    assert_bool_val(*col(o, "do_not_call"), 1);
    assert_null_val(*col(o, "company"));

    /* the field list the source is asked for */
    const char *want[] = {"Id", "CreatedDate", "LastModifiedDate", "SystemModstamp", "OwnerId",
                          "Account.Name", "FirstName", "Email", "MailingStreet", "DoNotCall"};
    assert_int_equal(syncc_mapping_n_fields(m), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_string_equal(syncc_mapping_field(m, i), want[i]);
    syncc_mapping_free(m);
    unsetenv("HENK_BUSINESS_ID");
}

static void test_many_arguments(void **state)
{
    (void)state;
    /* more than the 64 arguments the fast paths keep on the stack */
    char expr[8192];
    size_t n = 0;
    n += (size_t)snprintf(expr + n, sizeof(expr) - n, "concat(");
    for (int i = 0; i < 100; i++)
        n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%s%d", i ? ", " : "", i % 10);
    snprintf(expr + n, sizeof(expr) - n, ", Id)");
    sync_record *in = new_in("x");
    set_str(in, "Id", "!");
    sync_value v = eval_on(expr, in);
    assert_int_equal(v.u.str.len, 101);
    assert_int_equal(v.u.str.ptr[100], '!');

    n = (size_t)snprintf(expr, sizeof(expr), "json_object(");
    for (int i = 0; i < 70; i++)
        n += (size_t)snprintf(expr + n, sizeof(expr) - n, "%s'k%d', Id", i ? ", " : "", i);
    snprintf(expr + n, sizeof(expr) - n, ")");
    json_t *j = json_of(eval_on(expr, in));
    assert_int_equal(json_object_size(j), 70);
    assert_string_equal(json_string_value(json_object_get(j, "k69")), "!");
    json_decref(j);

    /* deep nesting is refused, not a stack overflow */
    char deep[2048];
    memset(deep, '(', 600);
    deep[600] = '1';
    memset(deep + 601, ')', 600);
    deep[1201] = '\0';
    assert_contains(compile_error(deep), "nested too deeply");
    /* so is a very long chain, which would nest as deeply when evaluated */
    char *chain = malloc(20 * 3000);
    assert_non_null(chain);
    n = 0;
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(chain + n, "%sId", i ? " || " : "");
    assert_contains(compile_error(chain), "nested too deeply");
    /* constants fold as they go, so long constant chains are fine */
    n = 0;
    for (int i = 0; i < 3000; i++)
        n += (size_t)sprintf(chain + n, "%s1", i ? " + " : "");
    assert_int_val(ev(chain), 3000);
    free(chain);
}

static void test_large_values(void **state)
{
    (void)state;
    /* results larger than the scratch chunk, over many records */
    size_t big = 100000;
    char *s = malloc(big + 1);
    assert_non_null(s);
    memset(s, 'a', big);
    s[big] = '\0';
    const char *lines[] = {"u = upper(Body)", "c = Body || Body", "j = json_array(Body, Body)"};
    syncc_mapping *m = compile_lines(lines, 3);
    assert_non_null(m);
    for (int i = 0; i < 5; i++) {
        sync_record *in = new_in("x");
        set_str(in, "Body", s);
        sync_record *o = map_ok(m, in);
        assert_int_equal(col(o, "u")->u.str.len, big);
        assert_int_equal(col(o, "u")->u.str.ptr[big - 1], 'A');
        assert_int_equal(col(o, "c")->u.str.len, 2 * big);
        assert_int_equal(col(o, "j")->u.str.len, 2 * big + 7);
        syncc_batch_reset(g_in);
        syncc_batch_reset(g_out);
    }
    syncc_mapping_free(m);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_literals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_arithmetic_and_precedence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_comparisons, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_semantics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_string_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_functions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_if_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_now_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_job_vars, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eval_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strict, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_paths_and_hints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_batch_reuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_column_types, setup, teardown),
        cmocka_unit_test_setup_teardown(test_henk_lead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_henk_contact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contains_any, setup, teardown),
        cmocka_unit_test_setup_teardown(test_matches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_choose, setup, teardown),
        cmocka_unit_test_setup_teardown(test_md5, setup, teardown),
        cmocka_unit_test_setup_teardown(test_json_aggregate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_henk_outcome, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
