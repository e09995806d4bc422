/*
 * core/twoway_merge.c - the three-way comparison of one record pair (link,
 * row, Salesforce record) and its settlement by the job's conflict policy.
 * See twoway_merge.h for the rules and docs/two-way.md for why they are so.
 */
#include "twoway_merge.h"

#include <string.h>

const char *syncc_tw_policy_name(syncc_tw_policy p)
{
    switch (p) {
    case SYNCC_TW_NEWEST_WINS: return "newest_wins";
    case SYNCC_TW_SALESFORCE_WINS: return "salesforce_wins";
    case SYNCC_TW_DATABASE_WINS: return "database_wins";
    case SYNCC_TW_MANUAL: return "manual";
    }
    return "unknown";
}

const char *syncc_tw_outcome_name(syncc_tw_outcome o)
{
    switch (o) {
    case SYNCC_TW_NOTHING: return "nothing";
    case SYNCC_TW_SYNCED: return "synced";
    case SYNCC_TW_MERGED: return "merged";
    case SYNCC_TW_SALESFORCE_WON: return "salesforce_won";
    case SYNCC_TW_DATABASE_WON: return "database_won";
    case SYNCC_TW_OPEN: return "open";
    }
    return "unknown";
}

int syncc_tw_policy_parse(const char *name, syncc_tw_policy *out)
{
    static const struct { const char *name; syncc_tw_policy p; } names[] = {
        {"newest_wins", SYNCC_TW_NEWEST_WINS},
        {"salesforce_wins", SYNCC_TW_SALESFORCE_WINS},
        {"database_wins", SYNCC_TW_DATABASE_WINS},
        {"crm_wins", SYNCC_TW_DATABASE_WINS}, /* seed 002's name for the database side */
        {"manual", SYNCC_TW_MANUAL},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].p;
            return 0;
        }
    return -1;
}

void syncc_tw_result_clear(syncc_tw_result *res)
{
    json_decref(res->to_db);
    json_decref(res->to_sf);
    json_decref(res->new_base);
    json_decref(res->conflicting);
    memset(res, 0, sizeof(*res));
}

/* The value of column c on a side: a missing object or member is JSON null. */
static json_t *val(const json_t *side, const char *c)
{
    json_t *v = side ? json_object_get(side, c) : NULL;
    return v ? v : json_null();
}

static int same(json_t *a, json_t *b)
{
    return json_equal(a, b);
}

static int put(json_t *obj, const char *c, json_t *v)
{
    return json_object_set(obj, c, v);
}

int syncc_tw_decide(const syncc_tw_input *in, syncc_tw_result *res)
{
    /* A side not read this run is as the link says; with no link both sides were read. */
    const json_t *db = in->db ? in->db : in->base;
    const json_t *sf = in->sf ? in->sf : in->base;
    int new_pair = in->base == NULL;
    size_t n_db_changed = 0, n_sf_changed = 0, n_conflict = 0;
    int winner_sf = 0;

    memset(res, 0, sizeof(*res));
    res->to_db = json_object();
    res->to_sf = json_object();
    res->new_base = in->base ? json_deep_copy(in->base) : json_object();
    res->conflicting = json_array();
    if (!res->to_db || !res->to_sf || !res->new_base || !res->conflicting)
        goto oom;

    /* First pass: what changed where. */
    for (size_t i = 0; i < in->n_fields; i++) {
        const char *c = in->fields[i].column;
        json_t *b = val(in->base, c), *d = val(db, c), *s = val(sf, c);
        int dc = new_pair ? !same(d, s) : !same(d, b);
        int sc = new_pair ? !same(d, s) : !same(s, b);

        /* a new pair: a value on one side only fills the other side's gap, it does not conflict */
        if (new_pair && dc && (json_is_null(d) || json_is_null(s))) {
            dc = !json_is_null(d);
            sc = !json_is_null(s);
        }

        switch (in->fields[i].dir) {
        case SYNCC_TW_PULL:
            if (!same(s, d) && (sc || new_pair))
                n_sf_changed++;
            break;
        case SYNCC_TW_PUSH:
            if (!same(s, d) && (dc || new_pair))
                n_db_changed++;
            break;
        case SYNCC_TW_BOTH:
            if (dc && sc && !same(d, s)) {
                n_conflict++;
                if (json_array_append_new(res->conflicting, json_string(c)) < 0)
                    goto oom;
            } else if (dc && !sc) {
                n_db_changed++;
            } else if (sc && !dc) {
                n_sf_changed++;
            }
            break;
        }
    }
    /* Without field merging, changes on both sides are one conflict over the changed fields. */
    if (!in->merge_fields && n_conflict == 0 && n_db_changed > 0 && n_sf_changed > 0) {
        for (size_t i = 0; i < in->n_fields; i++) {
            const char *c = in->fields[i].column;
            json_t *b = val(in->base, c), *d = val(db, c), *s = val(sf, c);
            if (in->fields[i].dir == SYNCC_TW_BOTH && !same(d, s) && (!same(d, b) || !same(s, b))) {
                n_conflict++;
                if (json_array_append_new(res->conflicting, json_string(c)) < 0)
                    goto oom;
            }
        }
    }

    if (n_conflict > 0) {
        syncc_tw_policy p = in->resolved ? in->keep : in->policy;
        if (p == SYNCC_TW_MANUAL) {
            /* Neither side is written; the link keeps what was last synced. */
            res->outcome = SYNCC_TW_OPEN;
            return 0;
        }
        if (p == SYNCC_TW_SALESFORCE_WINS)
            winner_sf = 1;
        else if (p == SYNCC_TW_DATABASE_WINS)
            winner_sf = 0;
        else
            winner_sf = in->sf_modified >= in->db_modified;
        res->outcome = winner_sf ? SYNCC_TW_SALESFORCE_WON : SYNCC_TW_DATABASE_WON;
    } else if (n_db_changed + n_sf_changed == 0) {
        res->outcome = SYNCC_TW_NOTHING;
    } else {
        res->outcome = n_db_changed > 0 && n_sf_changed > 0 ? SYNCC_TW_MERGED : SYNCC_TW_SYNCED;

    }

    /* Second pass: the writes and the new link values. */
    for (size_t i = 0; i < in->n_fields; i++) {
        const char *c = in->fields[i].column;
        json_t *b = val(in->base, c), *d = val(db, c), *s = val(sf, c);
        int in_conflict = 0;
        size_t k;
        json_t *e;

        json_array_foreach(res->conflicting, k, e)
            if (strcmp(json_string_value(e), c) == 0)
                in_conflict = 1;

        if (same(d, s)) {
            if (put(res->new_base, c, d) < 0)
                goto oom;
            continue;
        }
        switch (in->fields[i].dir) {
        case SYNCC_TW_PULL:
            if (new_pair || !same(s, b)) {
                if (put(res->to_db, c, s) < 0)
                    goto oom;
            }
            if (put(res->new_base, c, s) < 0)
                goto oom;
            break;
        case SYNCC_TW_PUSH:
            if (new_pair || !same(d, b)) {
                if (put(res->to_sf, c, d) < 0)
                    goto oom;
            }
            if (put(res->new_base, c, d) < 0)
                goto oom;
            break;
        case SYNCC_TW_BOTH:
            if (in_conflict ? winner_sf : new_pair ? json_is_null(d) : !same(s, b)) {
                if (put(res->to_db, c, s) < 0 || put(res->new_base, c, s) < 0)
                    goto oom;
            } else if (in_conflict || new_pair || !same(d, b)) {
                if (put(res->to_sf, c, d) < 0 || put(res->new_base, c, d) < 0)
                    goto oom;
            }
            break;
        }
    }
    return 0;
oom:
    syncc_tw_result_clear(res);
    return -1;
}
