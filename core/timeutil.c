/*
 * core/timeutil.c - see timeutil.h.
 */
#include "timeutil.h"

#include <stdio.h>
#include <time.h>

int64_t syncc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char *s, size_t len, size_t *pos, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (*pos >= len || s[*pos] < '0' || s[*pos] > '9')
            return -1;
        v = v * 10 + (s[*pos] - '0');
        (*pos)++;
    }
    *out = v;
    return 0;
}

static int days_in_month(int y, int m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

int syncc_time_parse(const char *s, size_t len, int64_t *usec, int *is_date_only)
{
    size_t p = 0;
    int y, mo, d, h = 0, mi = 0, sec = 0;
    int64_t frac = 0;
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\n'))
        len--;
    if (digits(s, len, &p, 4, &y) || p >= len || s[p++] != '-' || digits(s, len, &p, 2, &mo) || p >= len ||
        s[p++] != '-' || digits(s, len, &p, 2, &d))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo))
        return -1;
    int date_only = 1;
    int64_t offset = 0;
    if (p < len && (s[p] == 'T' || s[p] == 't' || s[p] == ' ')) {
        p++;
        date_only = 0;
        if (digits(s, len, &p, 2, &h) || p >= len || s[p++] != ':' || digits(s, len, &p, 2, &mi))
            return -1;
        if (p < len && s[p] == ':') {
            p++;
            if (digits(s, len, &p, 2, &sec))
                return -1;
            if (p < len && (s[p] == '.' || s[p] == ',')) {
                p++;
                int nd = 0;
                while (p < len && s[p] >= '0' && s[p] <= '9') {
                    if (nd < 6) {
                        frac = frac * 10 + (s[p] - '0');
                        nd++;
                    }
                    p++;
                }
                if (nd == 0)
                    return -1;
                while (nd++ < 6)
                    frac *= 10;
            }
        }
        if (h > 24 || mi > 59 || sec > 60 || (h == 24 && (mi || sec || frac)))
            return -1;
        if (p < len) {
            if (s[p] == 'Z' || s[p] == 'z') {
                p++;
            } else if (s[p] == '+' || s[p] == '-') {
                int sign = s[p++] == '-' ? -1 : 1, oh, om = 0;
                if (digits(s, len, &p, 2, &oh))
                    return -1;
                if (p < len && s[p] == ':') {
                    p++;
                    if (digits(s, len, &p, 2, &om)) /* "+02:" needs its minutes */
                        return -1;
                } else if (p < len && digits(s, len, &p, 2, &om)) {
                    return -1;
                }
                if (oh > 23 || om > 59)
                    return -1;
                offset = sign * ((int64_t)oh * 3600 + om * 60);
            }
        }
    }
    if (p != len)
        return -1;
    if (sec == 60)
        sec = 59; /* leap second: clamp */
    int64_t days = syncc_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + sec - offset;
    *usec = secs * 1000000 + frac;
    if (is_date_only)
        *is_date_only = date_only;
    return 0;
}

int syncc_time_format(int64_t usec, char *buf, size_t size)
{
    int64_t secs = usec >= 0 ? usec / 1000000 : -((-usec + 999999) / 1000000);
    int64_t us = usec - secs * 1000000;
    time_t t = (time_t)secs;
    struct tm tm;
    if (gmtime_r(&t, &tm) == NULL)
        return -1;
    int n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us / 1000));
    return n > 0 && (size_t)n < size ? 0 : -1;
}

int64_t syncc_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
