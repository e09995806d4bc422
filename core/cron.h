/*
 * core/cron.h - cron schedules: the five-field syntax of Vixie cron
 * (minute hour day-of-month month day-of-week) and the times they fire.
 *
 * Supported: *, lists (1,15,30), ranges (1-5), steps ("*" + "/15" for every
 * 15, 1-30/5, and 10/20 meaning 10-max/20), month and weekday names (jan-dec, sun-sat, any case),
 * 0 or 7 for Sunday, and the macros @hourly @daily @midnight @weekly @monthly
 * @yearly @annually.  As in Vixie cron, when both day-of-month and
 * day-of-week are restricted (neither starts with '*') a day matches if
 * either does.  Times are local (the TZ environment); a local time that a
 * DST change skips does not run that day, and a time that occurs twice when
 * the clocks go back runs once, unless the hour field is '*' (then the job
 * keeps its rhythm through both passes of the repeated hour).
 */
#ifndef SYNCC_CRON_H
#define SYNCC_CRON_H

#include <stddef.h>
#include <stdint.h>

typedef struct syncc_cron {
    uint64_t minute;  /* bit m: minute m (0-59) */
    uint32_t hour;    /* bit h: hour h (0-23) */
    uint32_t dom;     /* bit d: day d of the month (1-31) */
    uint16_t month;   /* bit m: month m (1-12) */
    uint8_t dow;      /* bit d: weekday d, 0 = Sunday (0-6) */
    int dom_star, dow_star; /* the field started with '*' (Vixie day rule) */
    int hour_star;          /* every hour: keep running through a repeated DST hour */
} syncc_cron;

/* Parses text into *out.  Returns 0, or -1 with a message naming the field and position. */
int syncc_cron_parse(syncc_cron *out, const char *text, char *err, size_t errlen);

/*
 * The first matching minute strictly after after_usec, in local time (TZ),
 * returned as UTC microseconds; -1 if none within 5 years (February 30th).
 */
int64_t syncc_cron_next(const syncc_cron *c, int64_t after_usec);

#endif /* SYNCC_CRON_H */
