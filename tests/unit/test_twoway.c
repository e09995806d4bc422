/*
 * tests/unit/test_twoway.c - the two-way decision for one record pair
 * (core/twoway_merge.c): echoes write nothing, one-sided changes go across,
 * different fields merge, the same field under each policy, manual leaves
 * both sides alone until resolved, one-way fields, a new pair, and merging
 * switched off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "twoway_merge.h"

static const syncc_tw_field fields[] = {
    {"first_name", SYNCC_TW_BOTH},
    {"last_name", SYNCC_TW_BOTH},
    {"email", SYNCC_TW_BOTH},
    {"score", SYNCC_TW_PULL},
    {"notes", SYNCC_TW_PUSH},
};

static json_t *J(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fail_msg("bad JSON in test: %s: %s", text, e.text);
    return v;
}

/* The result as compact sorted JSON text, for exact comparisons. */
static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
}

#define BASE "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"n\"}"

#define BASE_SORTED "{\"email\":\"a@x.nl\",\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"notes\":\"n\",\"score\":\"1\"}"

typedef struct expect {
    syncc_tw_outcome outcome;
    const char *to_db, *to_sf, *new_base, *conflicting;
} expect;

static void run(const char *base, const char *db, const char *sf, syncc_tw_policy policy, int merge,
                int64_t db_mod, int64_t sf_mod, const expect *x)
{
    json_t *b = base ? J(base) : NULL, *d = db ? J(db) : NULL, *s = sf ? J(sf) : NULL;
    syncc_tw_input in = {fields, 5, b, d, s, db_mod, sf_mod, policy, merge, SYNCC_TW_NEWEST_WINS, 0};
    syncc_tw_result r;
    char *t;

    assert_int_equal(syncc_tw_decide(&in, &r), 0);
    assert_string_equal(syncc_tw_outcome_name(r.outcome), syncc_tw_outcome_name(x->outcome));
    t = dump(r.to_db);
    assert_string_equal(t, x->to_db);
    free(t);
    t = dump(r.to_sf);
    assert_string_equal(t, x->to_sf);
    free(t);
    if (x->new_base) {
        t = dump(r.new_base);
        assert_string_equal(t, x->new_base);
        free(t);
    }
    t = dump(r.conflicting);
    assert_string_equal(t, x->conflicting);
    free(t);
    syncc_tw_result_clear(&r);
    json_decref(b);
    json_decref(d);
    json_decref(s);
}

static void echo_writes_nothing(void **state)
{
    (void)state;
    expect x = {SYNCC_TW_NOTHING, "{}", "{}", NULL, "[]"};
    run(BASE, BASE, BASE, SYNCC_TW_NEWEST_WINS, 1, 1, 2, &x);
    run(BASE, NULL, NULL, SYNCC_TW_MANUAL, 1, 1, 2, &x);
    run(BASE, BASE, NULL, SYNCC_TW_NEWEST_WINS, 0, 1, 2, &x);
}

static void one_side_goes_across(void **state)
{
    (void)state;
    expect push = {SYNCC_TW_SYNCED, "{}", "{\"first_name\":\"Anna\"}", NULL, "[]"};
    run(BASE,
        "{\"first_name\":\"Anna\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"n\"}",
        NULL, SYNCC_TW_MANUAL, 1, 5, 1, &push);
    expect pull = {SYNCC_TW_SYNCED, "{\"email\":\"ann@x.nl\"}", "{}",
                   "{\"email\":\"ann@x.nl\",\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"notes\":\"n\",\"score\":\"1\"}",
                   "[]"};
    run(BASE, NULL,
        "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"ann@x.nl\",\"score\":\"1\",\"notes\":\"n\"}",
        SYNCC_TW_MANUAL, 1, 1, 5, &pull);
}

static void different_fields_merge(void **state)
{
    (void)state;
    const char *db = "{\"first_name\":\"Anna\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"n\"}";
    const char *sf = "{\"first_name\":\"Ann\",\"last_name\":\"Lee-Smit\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"n\"}";
    expect m = {SYNCC_TW_MERGED, "{\"last_name\":\"Lee-Smit\"}", "{\"first_name\":\"Anna\"}",
                "{\"email\":\"a@x.nl\",\"first_name\":\"Anna\",\"last_name\":\"Lee-Smit\",\"notes\":\"n\",\"score\":\"1\"}",
                "[]"};
    run(BASE, db, sf, SYNCC_TW_MANUAL, 1, 1, 2, &m);
    /* merge_fields = off: the same changes are a whole-record conflict */
    expect sfw = {SYNCC_TW_SALESFORCE_WON, "{\"first_name\":\"Ann\",\"last_name\":\"Lee-Smit\"}", "{}", NULL,
                  "[\"first_name\",\"last_name\"]"};
    run(BASE, db, sf, SYNCC_TW_SALESFORCE_WINS, 0, 1, 2, &sfw);
    expect open = {SYNCC_TW_OPEN, "{}", "{}", BASE_SORTED, "[\"first_name\",\"last_name\"]"};
    run(BASE, db, sf, SYNCC_TW_MANUAL, 0, 1, 2, &open);
}

/* The same field changed to different values on both sides, under each policy. */
static void same_field_each_policy(void **state)
{
    (void)state;
    const char *db = "{\"first_name\":\"Anna\",\"last_name\":\"Lee\",\"email\":\"db@x.nl\",\"score\":\"1\",\"notes\":\"n\"}";
    const char *sf = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"sf@x.nl\",\"score\":\"1\",\"notes\":\"n\"}";
    /* first_name changed on the database only: it goes to Salesforce whoever wins email */
    expect sfw = {SYNCC_TW_SALESFORCE_WON, "{\"email\":\"sf@x.nl\"}", "{\"first_name\":\"Anna\"}",
                  "{\"email\":\"sf@x.nl\",\"first_name\":\"Anna\",\"last_name\":\"Lee\",\"notes\":\"n\",\"score\":\"1\"}",
                  "[\"email\"]"};
    expect dbw = {SYNCC_TW_DATABASE_WON, "{}", "{\"email\":\"db@x.nl\",\"first_name\":\"Anna\"}",
                  "{\"email\":\"db@x.nl\",\"first_name\":\"Anna\",\"last_name\":\"Lee\",\"notes\":\"n\",\"score\":\"1\"}",
                  "[\"email\"]"};
    expect open = {SYNCC_TW_OPEN, "{}", "{}", BASE_SORTED, "[\"email\"]"};

    run(BASE, db, sf, SYNCC_TW_SALESFORCE_WINS, 1, 9, 1, &sfw);
    run(BASE, db, sf, SYNCC_TW_DATABASE_WINS, 1, 1, 9, &dbw);
    run(BASE, db, sf, SYNCC_TW_NEWEST_WINS, 1, 1, 9, &sfw); /* Salesforce's change is newer */
    run(BASE, db, sf, SYNCC_TW_NEWEST_WINS, 1, 9, 1, &dbw); /* the row's change is newer */
    run(BASE, db, sf, SYNCC_TW_NEWEST_WINS, 1, 5, 5, &sfw); /* a tie goes to Salesforce */
    run(BASE, db, sf, SYNCC_TW_MANUAL, 1, 1, 9, &open);
}

/* A manual conflict resolved with --keep database is settled on the next run. */
static void manual_resolved(void **state)
{
    (void)state;
    json_t *b = J(BASE);
    json_t *d = J("{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"db@x.nl\",\"score\":\"1\",\"notes\":\"n\"}");
    json_t *s = J("{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"sf@x.nl\",\"score\":\"1\",\"notes\":\"n\"}");
    syncc_tw_input in = {fields, 5, b, d, s, 1, 9, SYNCC_TW_MANUAL, 1, SYNCC_TW_DATABASE_WINS, 1};
    syncc_tw_result r;
    char *t;

    assert_int_equal(syncc_tw_decide(&in, &r), 0);
    assert_int_equal(r.outcome, SYNCC_TW_DATABASE_WON);
    t = dump(r.to_sf);
    assert_string_equal(t, "{\"email\":\"db@x.nl\"}");
    free(t);
    assert_int_equal(json_object_size(r.to_db), 0);
    syncc_tw_result_clear(&r);
    json_decref(b);
    json_decref(d);
    json_decref(s);
}

/* Pull-only fields never go to Salesforce, push-only fields never to the row. */
static void one_way_fields(void **state)
{
    (void)state;
    const char *db = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"7\",\"notes\":\"new\"}";
    const char *sf = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"sfnote\"}";
    /* the row changed both: notes is pushed, its score is not; Salesforce's notes edit is not pulled */
    expect x = {SYNCC_TW_SYNCED, "{}", "{\"notes\":\"new\"}", NULL, "[]"};
    run(BASE, db, sf, SYNCC_TW_NEWEST_WINS, 1, 1, 2, &x);
    const char *sf2 = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"3\",\"notes\":\"n\"}";
    expect y = {SYNCC_TW_SYNCED, "{\"score\":\"3\"}", "{}", NULL, "[]"};
    run(BASE, BASE, sf2, SYNCC_TW_DATABASE_WINS, 1, 9, 1, &y);
}

/* A pair matched on a first sync (no link): differing fields are settled by the policy. */
static void new_pair(void **state)
{
    (void)state;
    const char *db = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":null,\"notes\":\"n\"}";
    const char *sf = "{\"first_name\":\"Annie\",\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"4\",\"notes\":null}";
    expect x = {SYNCC_TW_DATABASE_WON, "{\"score\":\"4\"}", "{\"first_name\":\"Ann\",\"notes\":\"n\"}",
                "{\"email\":\"a@x.nl\",\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"notes\":\"n\",\"score\":\"4\"}",
                "[\"first_name\"]"};
    run(NULL, db, sf, SYNCC_TW_NEWEST_WINS, 1, 9, 1, &x);
    expect same = {SYNCC_TW_NOTHING, "{}", "{}", NULL, "[]"};
    run(NULL, BASE, BASE, SYNCC_TW_MANUAL, 1, 9, 1, &same);
    /* a value on one side only fills the other side's gap, even under manual */
    const char *gap = "{\"first_name\":null,\"last_name\":\"Lee\",\"email\":\"a@x.nl\",\"score\":\"1\",\"notes\":\"n\"}";
    const char *gap2 = "{\"first_name\":\"Ann\",\"last_name\":\"Lee\",\"email\":null,\"score\":\"1\",\"notes\":\"n\"}";
    expect fill = {SYNCC_TW_MERGED, "{\"first_name\":\"Ann\"}", "{\"email\":\"a@x.nl\"}", BASE_SORTED, "[]"};
    run(NULL, gap, gap2, SYNCC_TW_MANUAL, 1, 9, 1, &fill);
}

static void policy_names(void **state)
{
    (void)state;
    syncc_tw_policy p;
    assert_int_equal(syncc_tw_policy_parse("crm_wins", &p), 0);
    assert_int_equal(p, SYNCC_TW_DATABASE_WINS);
    assert_int_equal(syncc_tw_policy_parse("newest_wins", &p), 0);
    assert_int_equal(p, SYNCC_TW_NEWEST_WINS);
    assert_int_equal(syncc_tw_policy_parse("manual", &p), 0);
    assert_int_equal(p, SYNCC_TW_MANUAL);
    assert_int_equal(syncc_tw_policy_parse("oldest_wins", &p), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(echo_writes_nothing),
        cmocka_unit_test(one_side_goes_across),
        cmocka_unit_test(different_fields_merge),
        cmocka_unit_test(same_field_each_policy),
        cmocka_unit_test(manual_resolved),
        cmocka_unit_test(one_way_fields),
        cmocka_unit_test(new_pair),
        cmocka_unit_test(policy_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
