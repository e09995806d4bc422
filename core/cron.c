/*
 * core/cron.c - parses cron schedules and computes their next firing time.
 *
 * A schedule is kept as one bit set per field.  syncc_cron_next() walks
 * forward in elapsed time (UTC) and reads each instant as local wall-clock
 * time, jumping a whole month, day or hour when that field cannot match and
 * straight to the next allowed minute otherwise.  Walking real instants
 * rather than wall-clock values is what makes DST behave: a local time that
 * does not exist is never seen, so it never fires; a local time that exists
 * twice is seen twice, and the second pass is skipped for schedules with a
 * fixed hour (a 02:30 daily job runs once on the night the clocks go back).
 */
#include "cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* names[i] is value names_base + i */
    int names_base;
} field_def;

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                          "jul", "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, month_names, 1},
    {"day-of-week", 0, 7, dow_names, 0},
};

typedef struct cparser {
    const char *text;
    char *err;
    size_t errlen;
} cparser;

static int cfail(cparser *p, int field, size_t pos, size_t flen, const char *what)
{
    snprintf(p->err, p->errlen, "%s field '%.*s' at position %zu: %s", fields[field].name, (int)flen,
             p->text + pos, pos + 1, what);
    return -1;
}

/* Reads a number or a name at text[*i]; -1 if there is none. */
static int read_value(const field_def *f, const char *s, size_t *i, size_t end, int *out)
{
    size_t j = *i;
    if (j < end && s[j] >= '0' && s[j] <= '9') {
        int v = 0;
        while (j < end && s[j] >= '0' && s[j] <= '9') {
            if (v > 1000)
                return -1;
            v = v * 10 + (s[j] - '0');
            j++;
        }
        *i = j;
        *out = v;
        return 0;
    }
    if (f->names != NULL && j + 3 <= end) {
        for (int k = 0; f->names[k] != NULL; k++) {
            if (strncasecmp(s + j, f->names[k], 3) == 0 &&
                (j + 3 == end || !((s[j + 3] | 0x20) >= 'a' && (s[j + 3] | 0x20) <= 'z'))) {
                *i = j + 3;
                *out = f->names_base + k;
                return 0;
            }
        }
    }
    return -1;
}

/* Parses one field text[start, end) into the bits of *bits. */
static int parse_field(cparser *p, int fi, size_t start, size_t end, uint64_t *bits, int *star)
{
    const field_def *f = &fields[fi];
    const char *s = p->text;
    char msg[160];
    *bits = 0;
    *star = s[start] == '*';
    size_t i = start;
    for (;;) {
        int lo, hi, step = 1;
        int is_star = 0;
        if (i < end && s[i] == '*') {
            lo = f->lo;
            hi = f->hi == 7 ? 6 : f->hi;
            is_star = 1;
            i++;
        } else {
            if (read_value(f, s, &i, end, &lo) != 0)
                return cfail(p, fi, start, end - start, "expected a number, a name, '*' or a range");
            hi = lo;
            if (i < end && s[i] == '-') {
                i++;
                if (read_value(f, s, &i, end, &hi) != 0)
                    return cfail(p, fi, start, end - start, "expected the end of the range after '-'");
            }
            for (int k = 0; k < 2; k++) {
                int v = k ? hi : lo;
                if (v < f->lo || v > f->hi) {
                    snprintf(msg, sizeof(msg), "value %d is out of range (%d-%d)", v, f->lo, f->hi);
                    return cfail(p, fi, start, end - start, msg);
                }
            }
            if (hi < lo) {
                snprintf(msg, sizeof(msg), "range %d-%d runs backwards", lo, hi);
                return cfail(p, fi, start, end - start, msg);
            }
        }
        if (i < end && s[i] == '/') {
            i++;
            if (read_value(&(field_def){f->name, 0, 0, NULL, 0}, s, &i, end, &step) != 0 || step == 0)
                return cfail(p, fi, start, end - start, "step must be a positive number");
            if (!is_star && hi == lo)
                hi = f->hi == 7 ? 6 : f->hi; /* "10/20" = "10-max/20", as cronie reads it */
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= (uint64_t)1 << (fi == 4 && v == 7 ? 0 : v);
        if (i == end)
            break;
        if (s[i] != ',')
            return cfail(p, fi, start, end - start, "unexpected character; items are separated by ','");
        i++;
        if (i == end)
            return cfail(p, fi, start, end - start, "empty item after ','");
    }
    return 0;
}

static const struct {
    const char *name, *expansion;
} macros[] = {
    {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

int syncc_cron_parse(syncc_cron *out, const char *text, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (text == NULL)
        text = "";
    size_t len = strlen(text), a = 0;
    while (a < len && (text[a] == ' ' || text[a] == '\t'))
        a++;
    while (len > a && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\n' ||
                       text[len - 1] == '\r'))
        len--;
    if (a < len && text[a] == '@') {
        for (size_t k = 0; k < sizeof(macros) / sizeof(macros[0]); k++) {
            if (strlen(macros[k].name) == len - a && strncasecmp(text + a, macros[k].name, len - a) == 0)
                return syncc_cron_parse(out, macros[k].expansion, err, errlen);
        }
        snprintf(err, errlen,
                 "unknown schedule macro '%.*s' (known: @hourly, @daily, @midnight, @weekly, @monthly, "
                 "@yearly, @annually)",
                 (int)(len - a), text + a);
        return -1;
    }
    cparser p = {text, err, errlen};
    uint64_t bits[5];
    int star[5];
    int n = 0;
    size_t i = a;
    while (i < len) {
        size_t start = i;
        while (i < len && text[i] != ' ' && text[i] != '\t')
            i++;
        if (n == 5) {
            snprintf(err, errlen, "too many fields at position %zu: a schedule has 5 (minute hour "
                                  "day-of-month month day-of-week)", start + 1);
            return -1;
        }
        if (parse_field(&p, n, start, i, &bits[n], &star[n]) != 0)
            return -1;
        n++;
        while (i < len && (text[i] == ' ' || text[i] == '\t'))
            i++;
    }
    if (n < 5) {
        snprintf(err, errlen, "%s schedule '%.*s': expected 5 fields (minute hour day-of-month month "
                              "day-of-week), got %d",
                 n == 0 ? "empty" : "incomplete", (int)(len - a), text + a, n);
        return -1;
    }
    out->minute = bits[0];
    out->hour = (uint32_t)bits[1];
    out->dom = (uint32_t)bits[2];
    out->month = (uint16_t)bits[3];
    out->dow = (uint8_t)bits[4];
    out->dom_star = star[2];
    out->dow_star = star[4];
    out->hour_star = bits[1] == 0xFFFFFFu;
    return 0;
}

static int day_matches(const syncc_cron *c, const struct tm *tm)
{
    int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
    if (c->dom_star || c->dow_star)
        return dom && dow;
    return dom || dow;
}

/* Start of local day/month as seconds since the epoch, normalised by mktime. */
static time_t local_start(const struct tm *base, int add_days, int next_month)
{
    struct tm t;
    memset(&t, 0, sizeof(t));
    t.tm_year = base->tm_year;
    t.tm_mon = base->tm_mon + (next_month ? 1 : 0);
    t.tm_mday = next_month ? 1 : base->tm_mday + add_days;
    t.tm_isdst = -1;
    return mktime(&t);
}

/* True if the same wall-clock minute already occurred shortly before t (clocks went back). */
static int repeated_wall_time(time_t t, const struct tm *tm)
{
    static const int back[] = {3600, 1800, 7200};
    for (size_t k = 0; k < sizeof(back) / sizeof(back[0]); k++) {
        time_t e = t - back[k];
        struct tm x;
        if (localtime_r(&e, &x) != NULL && x.tm_min == tm->tm_min && x.tm_hour == tm->tm_hour &&
            x.tm_mday == tm->tm_mday && x.tm_isdst != tm->tm_isdst)
            return 1;
    }
    return 0;
}

int64_t syncc_cron_next(const syncc_cron *c, int64_t after_usec)
{
    if (c->minute == 0 || c->hour == 0 || c->month == 0 || (c->dom == 0 && c->dow == 0))
        return -1;
    int64_t secs = after_usec >= 0 ? after_usec / 1000000 : -((-after_usec + 999999) / 1000000);
    int64_t m = secs >= 0 ? secs / 60 : -((-secs + 59) / 60);
    time_t t = (time_t)((m + 1) * 60); /* strictly after, on a whole minute */
    time_t limit = t + (time_t)(5 * 366 + 1) * 86400;
    while (t <= limit) {
        struct tm tm;
        if (localtime_r(&t, &tm) == NULL)
            return -1;
        time_t nt;
        if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
            nt = local_start(&tm, 0, 1);
        } else if (!day_matches(c, &tm)) {
            nt = local_start(&tm, 1, 0);
        } else if (!((c->hour >> tm.tm_hour) & 1)) {
            nt = t + (time_t)(60 - tm.tm_min) * 60 - tm.tm_sec;
        } else if (!((c->minute >> tm.tm_min) & 1)) {
            int mm = tm.tm_min + 1;
            while (mm < 60 && !((c->minute >> mm) & 1))
                mm++;
            nt = t + (time_t)(mm - tm.tm_min) * 60 - tm.tm_sec;
        } else if (!c->hour_star && repeated_wall_time(t, &tm)) {
            nt = t + 60;
        } else {
            return (int64_t)t * 1000000;
        }
        if (nt <= t) /* mktime could not move forward (odd zone data): step a minute */
            nt = t + 60;
        t = nt;
    }
    return -1;
}
