/*
 * sf_cursor.h - the source's saved position: "<ISO datetime>|<Id>", the
 * (cursor_field, Id) pair of the last record stored.  Ordering cursors the
 * way Salesforce orders "ORDER BY CF ASC, Id ASC" is what keeps the keyset
 * query from skipping or repeating records.
 */
#ifndef SF_CURSOR_H
#define SF_CURSOR_H

#include <stdint.h>

#include "sf_internal.h"

/* An 18-character Id plus NUL; 15-character Ids fit too. */
#define SF_ID_MAX 19
/* datetime + '|' + Id + NUL */
#define SF_CURSOR_MAX 64

typedef struct sf_cursor {
    int64_t ts;           /* microseconds, millisecond precision */
    char id[SF_ID_MAX];   /* "" when the cursor names only a time */
} sf_cursor;

/* True if id is a 15- or 18-character Salesforce Id. */
SF_HIDDEN int sf_cursor_valid_id(const char *id, size_t len);

/*
 * Parses "<datetime>|<Id>", or a bare "<datetime>" (a position set by hand:
 * everything at or after that time).  Returns SYNC_OK or SYNC_E_INVALID.
 */
SF_HIDDEN int sf_cursor_parse(const char *text, sf_cursor *out);

/* Writes "<datetime>|<Id>" (or just the datetime when id is empty). */
SF_HIDDEN int sf_cursor_format(const sf_cursor *c, char *buf, size_t size);

/* <0, 0, >0 as a sorts before, with or after b in (CF ASC, Id ASC) order. */
SF_HIDDEN int sf_cursor_cmp(const sf_cursor *a, const sf_cursor *b);

#endif /* SF_CURSOR_H */
