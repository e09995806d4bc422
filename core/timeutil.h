/*
 * core/timeutil.h - ISO-8601 parsing and formatting in UTC microseconds,
 * without the local time zone (timegm-free civil arithmetic).
 */
#ifndef SYNCC_TIMEUTIL_H
#define SYNCC_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.f...]]" with "T" or " ", and an
 * optional zone "Z", "+HH", "+HHMM" or "+HH:MM" (none means UTC).  Returns 0,
 * or -1 if the text is not a valid date/time.  *is_date_only tells whether
 * only a date was given (may be NULL).
 */
int syncc_time_parse(const char *text, size_t len, int64_t *usec, int *is_date_only);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ"; size >= 32.  Returns 0 or -1. */
int syncc_time_format(int64_t usec, char *buf, size_t size);
int64_t syncc_time_now(void);
int64_t syncc_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif /* SYNCC_TIMEUTIL_H */
