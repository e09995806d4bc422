/*
 * core/progress.h - the progress line on a terminal.
 *
 * One line at the bottom of the terminal shows every stream being read, by
 * any job and any worker: records, records per second and batches ("pages")
 * of each.  Log lines go through syncc_progress_write(), which clears the
 * line, writes the log line and draws the line again, so a log line never
 * lands in the middle of it.  The line is drawn only when stderr is a
 * terminal (never into a log file or a pipe) and SYNCENGINE_NO_PROGRESS is
 * unset.  Every function is thread-safe.
 */
#ifndef SYNCC_PROGRESS_H
#define SYNCC_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

typedef struct syncc_progress syncc_progress;

/* Non-zero when the progress line is shown at all (decided once). */
int syncc_progress_enabled(void);
/* A stream starts: its slot on the line, or NULL when the line is not shown.  job and stream are copied. */
syncc_progress *syncc_progress_begin(const char *job, const char *stream);
/* The stream's totals so far; redraws at most a few times a second.  p may be NULL. */
void syncc_progress_update(syncc_progress *p, int64_t records, int64_t batches);
/* The stream is done: its slot goes away (the line too when it was the last).  p may be NULL. */
void syncc_progress_end(syncc_progress *p);
/* Writes one complete line (ending in '\n') to stderr around the progress line. */
void syncc_progress_write(const char *line, size_t len);

#endif /* SYNCC_PROGRESS_H */
