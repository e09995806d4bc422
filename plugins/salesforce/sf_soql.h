/*
 * sf_soql.h - building SOQL text: names, string and datetime literals and the
 * incremental SELECT the source runs.  Nothing here talks to the network, so
 * all of it is unit-tested directly.
 */
#ifndef SF_SOQL_H
#define SF_SOQL_H

#include <stddef.h>
#include <stdint.h>

#include "sf_buf.h"
#include "sf_internal.h"

/* Longest datetime literal plus NUL ("2024-05-01T10:00:00.000Z"). */
#define SF_DATETIME_MAX 32

/*
 * True if name is a plain API name (letter first, then letters, digits and
 * underscores, as custom "Foo__c" names are); with allow_path, dot-separated
 * relationship paths ("Account.Owner.Name") pass too.
 */
SF_HIDDEN int sf_soql_valid_name(const char *name, int allow_path);

/*
 * Appends s as a quoted SOQL string literal.  Quotes, backslashes and the
 * control characters SOQL has escapes for (\n \r \t \b \f) are escaped; with
 * like, % and _ are escaped too so they match literally in a LIKE pattern.
 * UTF-8 passes through.  Returns SYNC_E_INVALID for invalid UTF-8 or for a
 * control character SOQL cannot express, SYNC_E_NOMEM, or SYNC_OK.
 */
SF_HIDDEN int sf_soql_quote(sf_buf *out, const char *s, size_t len, int like);

/* Formats usec as the datetime literal SOQL accepts, in UTC, millisecond precision. */
SF_HIDDEN int sf_soql_datetime(int64_t usec, char *buf, size_t size);

/*
 * Parses "YYYY-MM-DDTHH:MM:SS[.fff][Z|+HHMM|+HH:MM]" (what Salesforce returns
 * and what sf_soql_datetime writes) into microseconds since the epoch.
 */
SF_HIDDEN int sf_soql_parse_datetime(const char *s, size_t len, int64_t *usec);

/* Parses "YYYY-MM-DD" (a Salesforce date) into days since 1970-01-01. */
SF_HIDDEN int sf_soql_parse_date(const char *s, size_t len, int64_t *days);

/*
 * Checks that a user-supplied condition keeps its parentheses and quotes
 * balanced, so wrapping it in "( ... )" cannot change what the rest of the
 * WHERE clause means.  Returns SYNC_OK or SYNC_E_CONFIG.
 */
SF_HIDDEN int sf_soql_check_condition(const char *cond);

/* What one incremental (or full) read asks for. */
typedef struct sf_query {
    const char *object;
    const char *const *fields; /* canonical API names, already validated */
    size_t n_fields;
    const char *cursor_field;  /* NULL: no bounds, no ordering */
    int has_lower;             /* a saved cursor exists */
    int64_t lower_ts;
    const char *lower_id;      /* NULL or "": no tiebreak (CF >= ts) */
    int64_t lookback_us;       /* > 0: CF >= lower_ts - lookback_us, no tiebreak */
    int has_upper;
    int64_t upper_ts;          /* CF <= upper_ts */
    const char *where;         /* user condition, or NULL */
} sf_query;

/*
 * Builds
 *   SELECT f1, f2 FROM Obj
 *   WHERE (CF > ts OR (CF = ts AND Id > 'id')) AND CF <= upper AND (where)
 *   ORDER BY CF ASC, Id ASC
 * leaving out what q does not ask for.
 */
SF_HIDDEN int sf_soql_build(const sf_query *q, sf_buf *out);

#endif /* SF_SOQL_H */
