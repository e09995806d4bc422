/*
 * core/twoway_merge.h - the decision for one record pair of a two-way stream:
 * given what was last synced (the link's values), the database's current
 * values and Salesforce's current values, which fields go to which side, and
 * whether the pair is in conflict.
 *
 * Values are JSON in a canonical form chosen by the caller (text, numbers as
 * their shortest text, timestamps as ISO-8601 UTC, null), keyed by the
 * database column name; two values are equal when json_equal() says so.  The
 * function is pure: it reads nothing but its arguments, so every policy is
 * unit-tested without a database or Salesforce (tests/unit/test_twoway.c).
 */
#ifndef SYNCC_TWOWAY_MERGE_H
#define SYNCC_TWOWAY_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef enum syncc_tw_dir {
    SYNCC_TW_BOTH = 0, /* column <-> Field */
    SYNCC_TW_PULL = 1, /* column <- Field: Salesforce to the database only */
    SYNCC_TW_PUSH = 2  /* column -> Field: the database to Salesforce only */
} syncc_tw_dir;

typedef enum syncc_tw_policy {
    SYNCC_TW_NEWEST_WINS = 0,
    SYNCC_TW_SALESFORCE_WINS = 1,
    SYNCC_TW_DATABASE_WINS = 2,
    SYNCC_TW_MANUAL = 3
} syncc_tw_policy;

typedef enum syncc_tw_outcome {
    SYNCC_TW_NOTHING = 0,       /* unchanged on both sides, or an echo of the engine's own write */
    SYNCC_TW_SYNCED = 1,        /* changes went across, no conflict */
    SYNCC_TW_MERGED = 2,        /* both sides changed, different fields: merged */
    SYNCC_TW_SALESFORCE_WON = 3,/* conflict settled for Salesforce's version */
    SYNCC_TW_DATABASE_WON = 4,  /* conflict settled for the database's version */
    SYNCC_TW_OPEN = 5           /* conflict left open (manual): nothing written on either side */
} syncc_tw_outcome;

/* One mapped field: its database column and direction. */
typedef struct syncc_tw_field {
    const char *column;
    syncc_tw_dir dir;
} syncc_tw_field;

typedef struct syncc_tw_input {
    const syncc_tw_field *fields;
    size_t n_fields;
    const json_t *base;    /* the link's last synced values; NULL: no link (first sync of the pair) */
    const json_t *db;      /* the row's values; NULL: not changed since the link (taken as base) */
    const json_t *sf;      /* Salesforce's values; NULL: not changed since the link (taken as base) */
    int64_t db_modified;   /* the row's updated_at, microseconds */
    int64_t sf_modified;   /* the record's SystemModstamp, microseconds */
    syncc_tw_policy policy;
    int merge_fields;      /* different fields changed on each side merge without a conflict */
    /* A manual conflict settled by `syncengine conflicts resolve`: 0 none, else the side kept. */
    syncc_tw_policy keep;  /* SYNCC_TW_SALESFORCE_WINS or SYNCC_TW_DATABASE_WINS when resolved */
    int resolved;
} syncc_tw_input;

typedef struct syncc_tw_result {
    syncc_tw_outcome outcome;
    json_t *to_db;       /* columns to write to the row (owned; empty object when none) */
    json_t *to_sf;       /* columns (database names) to write to Salesforce (owned) */
    json_t *new_base;    /* what the link holds after the writes (owned; unchanged base when open) */
    json_t *conflicting; /* array of the columns in conflict (owned; empty when none) */
} syncc_tw_result;

/* Text of a policy / outcome, and a policy from its configured name (crm_wins is database_wins). */
const char *syncc_tw_policy_name(syncc_tw_policy p);
const char *syncc_tw_outcome_name(syncc_tw_outcome o);
int syncc_tw_policy_parse(const char *name, syncc_tw_policy *out);

/*
 * Decides one pair.  Returns 0 and fills *res (free it with
 * syncc_tw_result_clear), or -1 when out of memory.
 *
 * Per field, with b the base, d the row's value and s Salesforce's:
 *   - pull-only fields follow s (d's changes are never pushed); push-only follow d;
 *   - both ways: d == b and s == b: nothing; only one changed: it goes across;
 *     both changed to the same value: nothing to write (the link moves);
 *     both changed to different values: the field conflicts.
 * Without merge_fields, changes on both sides to any fields conflict as a
 * whole record.  A conflict is settled by the policy (newest_wins compares
 * each side's own modification time; a tie goes to Salesforce); manual
 * writes nothing at all unless the conflict was resolved (keep).
 * With no base (no link), the pair is new: every field where d and s differ
 * conflicts as if both had changed it.
 */
int syncc_tw_decide(const syncc_tw_input *in, syncc_tw_result *res);

void syncc_tw_result_clear(syncc_tw_result *res);

#endif /* SYNCC_TWOWAY_MERGE_H */
