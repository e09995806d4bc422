/*
 * sf_cursor.c - parsing, formatting and ordering the source's cursor.  Ids
 * compare bytewise: Salesforce Ids are base-62 in the ASCII order 0-9 A-Z a-z,
 * which is also how the server orders them in "ORDER BY Id".
 */
#include "sf_cursor.h"

#include <stdio.h>
#include <string.h>

#include "sf_soql.h"

int sf_cursor_valid_id(const char *id, size_t len)
{
    if (len != 15 && len != 18)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return 0;
    }
    return 1;
}

int sf_cursor_parse(const char *text, sf_cursor *out)
{
    if (text == NULL)
        return SYNC_E_INVALID;
    const char *bar = strchr(text, '|');
    size_t tlen = bar ? (size_t)(bar - text) : strlen(text);
    sf_cursor c;
    memset(&c, 0, sizeof c);
    if (sf_soql_parse_datetime(text, tlen, &c.ts) != SYNC_OK)
        return SYNC_E_INVALID;
    if (bar != NULL) {
        size_t ilen = strlen(bar + 1);
        if (!sf_cursor_valid_id(bar + 1, ilen))
            return SYNC_E_INVALID;
        memcpy(c.id, bar + 1, ilen + 1);
    }
    *out = c;
    return SYNC_OK;
}

int sf_cursor_format(const sf_cursor *c, char *buf, size_t size)
{
    char ts[SF_DATETIME_MAX];
    int rc = sf_soql_datetime(c->ts, ts, sizeof ts);
    if (rc != SYNC_OK)
        return rc;
    int n = c->id[0] ? snprintf(buf, size, "%s|%s", ts, c->id) : snprintf(buf, size, "%s", ts);
    return (n > 0 && (size_t)n < size) ? SYNC_OK : SYNC_E_INVALID;
}

int sf_cursor_cmp(const sf_cursor *a, const sf_cursor *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts ? -1 : 1;
    return strcmp(a->id, b->id);
}
