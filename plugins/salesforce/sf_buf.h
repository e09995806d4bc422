/*
 * sf_buf.h - a growable NUL-terminated byte buffer for building SOQL, URLs and
 * form bodies.  An allocation failure is sticky: later appends do nothing and
 * sf_buf_ok() reports it once, so builders check a single flag at the end.
 */
#ifndef SF_BUF_H
#define SF_BUF_H

#include <stddef.h>

#include "sf_internal.h"

typedef struct sf_buf {
    char *ptr;   /* always NUL-terminated once anything was appended */
    size_t len;
    size_t cap;
    int failed;  /* an allocation failed */
} sf_buf;

#define SF_BUF_INIT {NULL, 0, 0, 0}

SF_HIDDEN void sf_buf_append(sf_buf *b, const char *data, size_t len);
SF_HIDDEN void sf_buf_puts(sf_buf *b, const char *s);
SF_HIDDEN void sf_buf_putc(sf_buf *b, char c);
SF_HIDDEN void sf_buf_printf(sf_buf *b, const char *fmt, ...) SYNC_PRINTF(2, 3);
/* Empties the buffer, keeping its memory. */
SF_HIDDEN void sf_buf_reset(sf_buf *b);
/* SYNC_OK, or SYNC_E_NOMEM after a failed allocation. */
SF_HIDDEN int sf_buf_ok(const sf_buf *b);
/* Hands the string over (caller frees with free()); NULL after a failure. */
SF_HIDDEN char *sf_buf_take(sf_buf *b);
SF_HIDDEN void sf_buf_free(sf_buf *b);

#endif /* SF_BUF_H */
