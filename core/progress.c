/*
 * core/progress.c - the progress line on a terminal (progress.h).
 *
 * The line is one terminal row, cut to the terminal's width, so that "\r" and
 * "erase line" always remove all of it: a line that wrapped could not be
 * cleared.  Drawing and log output share one lock, which is what keeps them
 * from breaking each other.
 */
#include "progress.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "timeutil.h"

struct syncc_progress {
    syncc_progress *next;
    char name[160];       /* job/stream */
    int64_t started, records, batches;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int enabled;
static syncc_progress *slots;   /* in start order: newest last */
static int drawn;               /* the line is on the screen now */
static int64_t last_draw;

static void decide(void)
{
    enabled = isatty(STDERR_FILENO) && getenv("SYNCENGINE_NO_PROGRESS") == NULL;
}

int syncc_progress_enabled(void)
{
    pthread_once(&once, decide);
    return enabled;
}

static void write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(STDERR_FILENO, p, n);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static size_t columns(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
        return ws.ws_col;
    return 80;
}

/* Human-friendly counts: 950, 12.3k, 4.1M. */
static void count_text(double n, char *buf, size_t size)
{
    if (n < 10000)
        snprintf(buf, size, "%.0f", n);
    else if (n < 10e6)
        snprintf(buf, size, "%.1fk", n / 1e3);
    else
        snprintf(buf, size, "%.1fM", n / 1e6);
}

/* Draws the line from the slots; lock held. */
static void draw(int64_t now)
{
    char line[1024];
    size_t width = columns() - 1; /* the last column would wrap on some terminals */
    if (width > sizeof(line) - 1)
        width = sizeof(line) - 1;
    size_t n = 0;
    int streams = 0;
    for (syncc_progress *p = slots; p != NULL; p = p->next)
        streams++;
    for (syncc_progress *p = slots; p != NULL && n < sizeof(line); p = p->next) {
        double secs = (double)(now - p->started) / 1e6;
        char rec[32], rate[32];
        count_text((double)p->records, rec, sizeof(rec));
        count_text(secs > 0 ? (double)p->records / secs : 0, rate, sizeof(rate));
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s: %s rec, %s/s, %lld pages", n ? " | " : "",
                              p->name, rec, rate, (long long)p->batches);
    }
    if (n >= sizeof(line))
        n = sizeof(line) - 1;
    if (n > width) {
        /* cut, and say how many streams there are in all */
        char tail[32];
        int t = snprintf(tail, sizeof(tail), " ..(%d)", streams);
        n = width > (size_t)t ? width - (size_t)t : 0;
        memcpy(line + n, tail, (size_t)t < width ? (size_t)t : width);
        n += (size_t)t < width ? (size_t)t : width;
    }
    char out[1100];
    int len = snprintf(out, sizeof(out), "\r\033[K%.*s", (int)n, line);
    write_all(out, (size_t)len);
    drawn = n > 0;
    last_draw = now;
}

/* Removes the line from the screen; lock held. */
static void clear(void)
{
    if (drawn)
        write_all("\r\033[K", 4);
    drawn = 0;
}

syncc_progress *syncc_progress_begin(const char *job, const char *stream)
{
    if (!syncc_progress_enabled())
        return NULL;
    syncc_progress *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    snprintf(p->name, sizeof(p->name), "%s/%s", job, stream);
    p->started = syncc_time_now();
    pthread_mutex_lock(&lock);
    syncc_progress **at = &slots;
    while (*at != NULL)
        at = &(*at)->next;
    *at = p;
    draw(p->started);
    pthread_mutex_unlock(&lock);
    return p;
}

void syncc_progress_update(syncc_progress *p, int64_t records, int64_t batches)
{
    if (p == NULL)
        return;
    int64_t now = syncc_time_now();
    pthread_mutex_lock(&lock);
    p->records = records;
    p->batches = batches;
    if (now - last_draw >= 200000)
        draw(now);
    pthread_mutex_unlock(&lock);
}

void syncc_progress_end(syncc_progress *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&lock);
    for (syncc_progress **at = &slots; *at != NULL; at = &(*at)->next) {
        if (*at == p) {
            *at = p->next;
            break;
        }
    }
    if (slots == NULL)
        clear();
    else
        draw(syncc_time_now());
    pthread_mutex_unlock(&lock);
    free(p);
}

void syncc_progress_write(const char *line, size_t len)
{
    if (!syncc_progress_enabled()) {
        write_all(line, len);
        return;
    }
    pthread_mutex_lock(&lock);
    int was = drawn;
    clear();
    write_all(line, len);
    if (was && slots != NULL)
        draw(syncc_time_now());
    pthread_mutex_unlock(&lock);
}
