/*
 * core/verify_rules.h - integrity rules of `syncengine verify`, from
 * [verify JOB.STREAM] sections:
 *
 *   [verify from_edge.emails]
 *   side = target                           ; or source: the database the rules run in
 *   orphans = prospect_id -> prospects.id   ; rows whose reference has no parent (a list)
 *   orphans_policy = report                 ; verify --fix: report, delete or refetch
 *   unique = message_id                     ; duplicates on a declared unique key (a list of columns)
 *   rule.NAME = <SQL predicate>             ; an impossible state: rows where it holds are listed
 *
 * Each rule is one read-only SELECT run through the side's compare
 * operations (query); identifiers are quoted, the predicate is the
 * configuration's own SQL.
 */
#ifndef SYNCC_VERIFY_RULES_H
#define SYNCC_VERIFY_RULES_H

#include <stddef.h>

#include "conf.h"

typedef enum syncc_vrule_kind {
    SYNCC_VRULE_ORPHANS = 0,
    SYNCC_VRULE_UNIQUE = 1,
    SYNCC_VRULE_PREDICATE = 2
} syncc_vrule_kind;

typedef enum syncc_orphans_policy {
    SYNCC_ORPHANS_REPORT = 0,
    SYNCC_ORPHANS_DELETE = 1,
    SYNCC_ORPHANS_REFETCH = 2
} syncc_orphans_policy;

typedef struct syncc_vrule {
    syncc_vrule_kind kind;
    char *name;          /* "orphans prospect_id -> prospects.id", "unique message_id", "rule.NAME" */
    char *column;        /* orphans: the referencing column */
    char *parent;        /* orphans: the parent table */
    char *parent_column; /* orphans: its referenced column */
    char *columns;       /* unique: the columns as given ("a, b") */
    char *predicate;     /* rule.NAME */
    char where[300];     /* file:line */
} syncc_vrule;

typedef struct syncc_vrules {
    int on_source;       /* side = source */
    syncc_orphans_policy policy;
    syncc_vrule *r;
    size_t n;
} syncc_vrules;

/*
 * Parses a [verify JOB.STREAM] section.  -1 with "file:line: message" in err
 * for an unknown key or a malformed rule.
 */
int syncc_vrules_parse(const syncc_section *sec, syncc_vrules *out, char *err, size_t errlen);
void syncc_vrules_free(syncc_vrules *rules);

/* Attaches every [verify JOB.STREAM] section to its stream, checking it (configuration load). */
int syncc_verify_rules_resolve(syncc_conf *conf, char *err, size_t errlen);

/*
 * The statement that lists a rule's violations on table (with key its key
 * column): rows of (key, detail), at most limit; malloc'd.
 */
char *syncc_vrule_sql(const syncc_vrule *r, const char *table, const char *key, int limit);
/* The statement that counts them; malloc'd. */
char *syncc_vrule_count_sql(const syncc_vrule *r, const char *table, const char *key);

#endif /* SYNCC_VERIFY_RULES_H */
