/*
 * pgs_source_sql.h - pure helpers of the PostgreSQL source (pgs_source.c):
 * parsing PostgreSQL's text output (DateStyle ISO, TimeZone UTC), the
 * source's cursor encoding, and the DDL of the change log.  No connection,
 * no host: unit-tested without a server.
 */
#ifndef PGS_SOURCE_SQL_H
#define PGS_SOURCE_SQL_H

#include <stdint.h>

#include "pgs_sql.h"

/* Name of the change-log table in the section's state_schema, and of the trigger on each table. */
#define PGS_CHANGES_TABLE "sync_changes"
#define PGS_CHANGES_TRIGGER "syncengine_changes"

/* "YYYY-MM-DD" -> days since 1970-01-01; *rest after it.  -1 for anything else (infinity, BC, 5-digit years). */
int pgs_src_parse_date(const char *s, int64_t *days, const char **rest);
/* "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]" -> microseconds since the epoch (UTC); -1 otherwise. */
int pgs_src_parse_timestamp(const char *s, int64_t *usec);

/*
 * Cursors.  Keyset: "k" value "," key; change log: "s" horizon "," key while
 * the first scan runs, then "x" horizon (or "x" lo ":" hi ":" seq inside a
 * window).  Values and keys are escaped: '\' and ',' get a '\' in front.
 */
void pgs_src_cursor_escape(pgs_buf *b, const char *s);
/* Splits text at its first unescaped ',' into two malloc'ed, unescaped strings; -1 when there is none. */
int pgs_src_cursor_split(const char *text, char **a, char **b);

/*
 * The change log in schema: its table, its SECURITY DEFINER trigger function
 * and, when rel_q (a quoted, qualified table) is not NULL, that table's
 * trigger passing key; idempotent statements, malloc'ed, NULL without memory.
 */
char *pgs_src_change_log_ddl(const char *schema, const char *rel_q, const char *key);

#endif /* PGS_SOURCE_SQL_H */
