/*
 * tests/fuzz/fuzz_cron.c - libFuzzer target for the cron parser and
 * syncc_cron_next().
 *
 * The input is a schedule.  If it parses, next() is asked for a few runs
 * from several starting points, and each answer must be a whole minute
 * strictly after its start whose local time matches the schedule's fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    setenv("TZ", "Europe/Amsterdam", 1); /* DST transitions exercise the hard paths */
    tzset();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 512)
        return 0;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    syncc_cron c;
    char err[256];
    if (syncc_cron_parse(&c, text, err, sizeof(err)) == 0) {
        static const int64_t starts[] = {
            INT64_C(1711846800000000), /* 2024-03-31T01:00Z, spring forward */
            INT64_C(1729990800000000), /* 2024-10-27T01:00Z, fall back */
            INT64_C(1709164800000000), /* 2024-02-29T00:00Z */
            INT64_C(1735689599999999), /* just before 2025 */
        };
        for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
            int64_t t = starts[s];
            for (int k = 0; k < 3; k++) {
                int64_t n = syncc_cron_next(&c, t);
                if (n < 0)
                    break;
                if (n <= t || n % 60000000 != 0)
                    abort();
                time_t secs = (time_t)(n / 1000000);
                struct tm tm;
                localtime_r(&secs, &tm);
                if (!((c.minute >> tm.tm_min) & 1) || !((c.hour >> tm.tm_hour) & 1) ||
                    !((c.month >> (tm.tm_mon + 1)) & 1))
                    abort();
                int dom = (c.dom >> tm.tm_mday) & 1, dow = (c.dow >> tm.tm_wday) & 1;
                if ((c.dom_star || c.dow_star) ? !(dom && dow) : !(dom || dow))
                    abort();
                t = n;
            }
        }
    } else if (err[0] == '\0') {
        abort(); /* a rejected schedule always says why */
    }
    free(text);
    return 0;
}
