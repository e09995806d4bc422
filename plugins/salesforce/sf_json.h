/*
 * sf_json.h - a pull reader over one JSON text in memory, for query pages.
 *
 * jansson builds a tree of the whole text, one allocation per value and per
 * object member, at some 35 MB/s on the benchmark machine: 65 ms for a page
 * of 2,000 Contacts, half of the engine's CPU time in a large load.  A query
 * page is read once, front to back, so this reader walks the text in place
 * instead: no tree, no allocation, values handed out as spans of the input.
 * jansson still reads everything else (error bodies, describes, tokens).
 *
 * It accepts what jansson's json_loadb(text, len, JSON_ALLOW_NUL) accepts:
 * a top-level object or array and nothing but whitespace after it, strict
 * RFC 8259 grammar, valid UTF-8 without raw control characters in strings
 * (the escape \u0000 is valid JSON and decodes to a NUL byte: a string is
 * text with a length, and the sink decides what to do with a NUL; in an
 * object key it is refused, as jansson does),
 * paired surrogates, integers that fit int64_t, reals that do not overflow a
 * double, nesting at most SF_JSON_MAX_DEPTH deep.  The fuzz target
 * tests/fuzz/salesforce/fuzz_page.c holds the two to the same answers.
 *
 * Use: sf_json_init; sf_json_value for the top value; inside an object or
 * array, sf_json_next until it returns 0, reading (or skipping) one value per
 * member; sf_json_finish at the end.  Every call returns -1 on the first
 * error, with the reason and offset in the reader; it stays failed.
 */
#ifndef SF_JSON_H
#define SF_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "sf_internal.h"

#define SF_JSON_MAX_DEPTH 2048

typedef enum sf_jtype {
    SF_J_NULL,
    SF_J_FALSE,
    SF_J_TRUE,
    SF_J_INT,
    SF_J_REAL,
    SF_J_STRING,
    SF_J_OBJECT, /* only its '{' is consumed: read members with sf_json_next */
    SF_J_ARRAY   /* only its '[' is consumed */
} sf_jtype;

typedef struct sf_jval {
    sf_jtype type;
    const char *ptr; /* strings: the text between the quotes; else the value's first byte */
    size_t len;      /* strings: raw length; objects and arrays: set by sf_json_skip */
    int escaped;     /* a string holding backslash escapes: decode with sf_json_unescape */
    int64_t i;       /* SF_J_INT */
    double r;        /* SF_J_REAL */
} sf_jval;

typedef struct sf_json {
    const char *start, *p, *end;
    int depth;
    int first;                  /* just inside an opener: no comma expected */
    const char *err;            /* first error (static text), NULL while fine */
    size_t err_at;              /* byte offset of the error */
    uint64_t is_object[SF_JSON_MAX_DEPTH / 64 + 1]; /* bit per open level */
} sf_json;

SF_HIDDEN void sf_json_init(sf_json *j, const char *text, size_t len);

/* Reads the next value (scalars whole; objects and arrays up to their opener). */
SF_HIDDEN int sf_json_value(sf_json *j, sf_jval *v);

/*
 * In the innermost open object or array: 1 when one more member or item
 * follows (for an object, its key is in *key, a string, and the reader stands
 * before the value), 0 after consuming the closer.  key may be NULL in arrays.
 */
SF_HIDDEN int sf_json_next(sf_json *j, sf_jval *key);

/* Reads past the value v was read as (the rest of an object or array); sets v->len. */
SF_HIDDEN int sf_json_skip(sf_json *j, sf_jval *v);

/* Reads the next value whole, whatever it is (sf_json_value + sf_json_skip). */
SF_HIDDEN int sf_json_any(sf_json *j, sf_jval *v);

/* 0 when only whitespace follows the top value, else -1. */
SF_HIDDEN int sf_json_finish(sf_json *j);

/*
 * The decoded bytes of string v into out (room for v->len bytes: decoding
 * never lengthens), returning their number.  v must come from a reader that
 * accepted it, so decoding cannot fail.
 */
SF_HIDDEN size_t sf_json_unescape(const sf_jval *v, char *out);

/* 1 when text is a JSON document json_loadb() would accept (object or array). */
SF_HIDDEN int sf_json_valid(const char *text, size_t len);

/* Line (1-based) of the reader's error, for messages. */
SF_HIDDEN int sf_json_error_line(const sf_json *j);

#endif /* SF_JSON_H */
