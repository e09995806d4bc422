/*
 * sf_buf.c - growable string buffer used wherever the connector assembles text
 * of unknown length (SOQL statements, URLs, form bodies, cursors).
 */
#include "sf_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int grow(sf_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) {
            b->failed = 1;
            return -1;
        }
        cap *= 2;
    }
    char *p = realloc(b->ptr, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    b->ptr = p;
    b->cap = cap;
    return 0;
}

void sf_buf_append(sf_buf *b, const char *data, size_t len)
{
    if (grow(b, len) != 0)
        return;
    if (len > 0)
        memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void sf_buf_puts(sf_buf *b, const char *s)
{
    sf_buf_append(b, s, strlen(s));
}

void sf_buf_putc(sf_buf *b, char c)
{
    sf_buf_append(b, &c, 1);
}

void sf_buf_printf(sf_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (grow(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sf_buf_reset(sf_buf *b)
{
    b->len = 0;
    if (b->ptr != NULL)
        b->ptr[0] = '\0';
}

int sf_buf_ok(const sf_buf *b)
{
    return b->failed ? SYNC_E_NOMEM : SYNC_OK;
}

char *sf_buf_take(sf_buf *b)
{
    char *p = NULL;
    if (!b->failed) {
        if (b->ptr == NULL)
            sf_buf_append(b, "", 0);
        p = b->ptr;
        b->ptr = NULL;
    }
    sf_buf_free(b);
    return p;
}

void sf_buf_free(sf_buf *b)
{
    free(b->ptr);
    b->ptr = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}
