/*
 * sf_soql.c - SOQL text: literal escaping per the SOQL reference ("Quoted
 * String Escape Sequences"), datetime literals, and the keyset query the
 * incremental read runs (see sf_source.c for why it looks the way it does).
 *
 * Field and object names are never quoted in SOQL, so they are checked against
 * the API-name grammar instead; values only ever enter as escaped literals.
 */
#include "sf_soql.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int is_alpha(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

int sf_soql_valid_name(const char *name, int allow_path)
{
    if (name == NULL)
        return 0;
    const char *p = name;
    for (;;) {
        if (!is_alpha((unsigned char)*p))
            return 0;
        p++;
        while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p) || *p == '_')
            p++;
        if (*p == '\0')
            return (p - name) <= 255;
        if (*p != '.' || !allow_path)
            return 0;
        p++;
    }
}

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not valid UTF-8. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    unsigned cp = c & (0x7Fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

int sf_soql_quote(sf_buf *out, const char *s, size_t len, int like)
{
    const unsigned char *u = (const unsigned char *)s;
    sf_buf_putc(out, '\'');
    for (size_t i = 0; i < len;) {
        unsigned c = u[i];
        const char *esc = NULL;
        switch (c) {
        case '\'': esc = "\\'"; break;
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '%': esc = like ? "\\%" : NULL; break;
        case '_': esc = like ? "\\_" : NULL; break;
        default: break;
        }
        if (esc != NULL) {
            sf_buf_puts(out, esc);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7F)
            return SYNC_E_INVALID; /* SOQL has no escape for other control characters */
        size_t n = utf8_len(u + i, len - i);
        if (n == 0)
            return SYNC_E_INVALID;
        sf_buf_append(out, s + i, n);
        i += n;
    }
    sf_buf_putc(out, '\'');
    return sf_buf_ok(out);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int sf_soql_datetime(int64_t usec, char *buf, size_t size)
{
    int64_t secs = usec / 1000000;
    int64_t rem = usec % 1000000;
    if (rem < 0) {
        rem += 1000000;
        secs -= 1;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 1 || tm.tm_year + 1900 > 9999)
        return SYNC_E_INVALID;
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     (int)(rem / 1000));
    return (n > 0 && (size_t)n < size) ? SYNC_OK : SYNC_E_INVALID;
}

static int digits(const char *s, size_t n, int *out)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sf_soql_parse_datetime(const char *s, size_t len, int64_t *usec)
{
    int y, mo, d, h, mi, sec;
    if (len < 19 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || digits(s + 11, 2, &h) ||
        s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
        return SYNC_E_INVALID;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return SYNC_E_INVALID;
    size_t i = 19;
    int64_t frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        int64_t scale = 100000;
        size_t start = i;
        while (i < len && is_digit((unsigned char)s[i])) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start)
            return SYNC_E_INVALID;
    }
    int64_t offset = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '-' ? -1 : 1;
        int oh, om;
        i++;
        if (len - i < 2 || digits(s + i, 2, &oh))
            return SYNC_E_INVALID;
        i += 2;
        if (i < len && s[i] == ':')
            i++;
        if (len - i < 2 || digits(s + i, 2, &om))
            return SYNC_E_INVALID;
        i += 2;
        offset = sign * (oh * 3600 + om * 60);
    } else {
        return SYNC_E_INVALID; /* a datetime without a zone is ambiguous */
    }
    if (i != len)
        return SYNC_E_INVALID;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    *usec = secs * 1000000 + frac;
    return SYNC_OK;
}

int sf_soql_parse_date(const char *s, size_t len, int64_t *days)
{
    int y, mo, d;
    if (len != 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
        return SYNC_E_INVALID;
    *days = days_from_civil(y, mo, d);
    return SYNC_OK;
}

int sf_soql_check_condition(const char *cond)
{
    int depth = 0;
    for (const char *p = cond; *p; p++) {
        if (*p == '\'') {
            for (p++; *p && *p != '\''; p++)
                if (*p == '\\' && p[1] != '\0')
                    p++;
            if (*p == '\0')
                return SYNC_E_CONFIG;
        } else if (*p == '(') {
            depth++;
        } else if (*p == ')') {
            if (--depth < 0)
                return SYNC_E_CONFIG;
        }
    }
    return depth == 0 ? SYNC_OK : SYNC_E_CONFIG;
}

static int put_datetime(sf_buf *out, int64_t usec)
{
    char lit[SF_DATETIME_MAX];
    int rc = sf_soql_datetime(usec, lit, sizeof lit);
    if (rc == SYNC_OK)
        sf_buf_puts(out, lit);
    return rc;
}

int sf_soql_build(const sf_query *q, sf_buf *out)
{
    int rc;
    const char *cf = q->cursor_field;
    int nconds = 0;

    sf_buf_puts(out, "SELECT ");
    for (size_t i = 0; i < q->n_fields; i++) {
        if (i > 0)
            sf_buf_puts(out, ", ");
        sf_buf_puts(out, q->fields[i]);
    }
    sf_buf_printf(out, " FROM %s", q->object);

    if (cf != NULL && q->has_lower) {
        sf_buf_puts(out, nconds++ ? " AND " : " WHERE ");
        if (q->lookback_us > 0 || q->lower_id == NULL || q->lower_id[0] == '\0') {
            /* Without a tiebreak the bound must be inclusive, or ties are lost. */
            sf_buf_printf(out, "%s >= ", cf);
            if ((rc = put_datetime(out, q->lower_ts - (q->lookback_us > 0 ? q->lookback_us : 0))))
                return rc;
        } else {
            sf_buf_printf(out, "(%s > ", cf);
            if ((rc = put_datetime(out, q->lower_ts)))
                return rc;
            sf_buf_printf(out, " OR (%s = ", cf);
            if ((rc = put_datetime(out, q->lower_ts)))
                return rc;
            sf_buf_puts(out, " AND Id > ");
            if ((rc = sf_soql_quote(out, q->lower_id, strlen(q->lower_id), 0)))
                return rc;
            sf_buf_puts(out, "))");
        }
    }
    if (cf != NULL && q->has_upper) {
        sf_buf_puts(out, nconds++ ? " AND " : " WHERE ");
        sf_buf_printf(out, "%s <= ", cf);
        if ((rc = put_datetime(out, q->upper_ts)))
            return rc;
    }
    if (q->where != NULL && q->where[0] != '\0') {
        sf_buf_puts(out, nconds++ ? " AND " : " WHERE ");
        sf_buf_printf(out, "(%s)", q->where);
    }
    if (cf != NULL)
        sf_buf_printf(out, " ORDER BY %s ASC, Id ASC", cf);
    return sf_buf_ok(out);
}
