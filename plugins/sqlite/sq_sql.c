/*
 * sq_sql.c - SQL text, cursors and value formats of the SQLite connector (see
 * sq_sql.h).  Nothing here touches a database.
 */
#include "sq_sql.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- buffer */

void sq_buf_init(sq_buf *b)
{
    memset(b, 0, sizeof(*b));
}

void sq_buf_free(sq_buf *b)
{
    free(b->p);
    sq_buf_init(b);
}

static int reserve(sq_buf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 128;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

void sq_buf_add(sq_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) < 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sq_buf_puts(sq_buf *b, const char *s)
{
    sq_buf_add(b, s, strlen(s));
}

void sq_buf_printf(sq_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void sq_buf_ident(sq_buf *b, const char *name)
{
    sq_buf_add(b, "\"", 1);
    for (const char *s = name; *s; s++) {
        if (*s == '"')
            sq_buf_add(b, "\"", 1);
        sq_buf_add(b, s, 1);
    }
    sq_buf_add(b, "\"", 1);
}

/* 'text' with quotes doubled: only for names written into trigger bodies. */
static void buf_literal(sq_buf *b, const char *s)
{
    sq_buf_add(b, "'", 1);
    for (; *s; s++) {
        if (*s == '\'')
            sq_buf_add(b, "'", 1);
        sq_buf_add(b, s, 1);
    }
    sq_buf_add(b, "'", 1);
}

char *sq_buf_take(sq_buf *b)
{
    if (b->oom || !b->p) {
        sq_buf_free(b);
        return NULL;
    }
    char *p = b->p;
    sq_buf_init(b);
    return p;
}

/* ------------------------------------------------------------ type rules */

/* Case-insensitive substring test. */
static int has(const char *decl, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = decl; *p; p++)
        if (strncasecmp(p, word, n) == 0)
            return 1;
    return 0;
}

sq_kind sq_decl_kind(const char *decl)
{
    if (!decl || !*decl)
        return SQ_KIND_AUTO;
    if (has(decl, "BOOL"))
        return SQ_KIND_BOOL;
    if (has(decl, "JSON"))
        return SQ_KIND_JSON;
    if (has(decl, "TIMESTAMP") || has(decl, "DATETIME"))
        return SQ_KIND_TIMESTAMP;
    if (has(decl, "DATE"))
        return SQ_KIND_DATE;
    return SQ_KIND_AUTO;
}

sq_affinity sq_decl_affinity(const char *decl)
{
    if (!decl || !*decl)
        return SQ_AFF_BLOB;
    if (has(decl, "INT"))
        return SQ_AFF_INTEGER;
    if (has(decl, "CHAR") || has(decl, "CLOB") || has(decl, "TEXT"))
        return SQ_AFF_TEXT;
    if (has(decl, "BLOB"))
        return SQ_AFF_BLOB;
    if (has(decl, "REAL") || has(decl, "FLOA") || has(decl, "DOUB"))
        return SQ_AFF_REAL;
    return SQ_AFF_NUMERIC;
}

sq_unit sq_unit_parse(const char *s)
{
    if (s && strcmp(s, "ms") == 0)
        return SQ_UNIT_MS;
    if (s && strcmp(s, "us") == 0)
        return SQ_UNIT_US;
    return SQ_UNIT_S;
}

int64_t sq_unit_usec(sq_unit u)
{
    return u == SQ_UNIT_US ? 1 : u == SQ_UNIT_MS ? 1000 : 1000000;
}

/* Civil date of days since 1970-01-01 (Howard Hinnant's algorithm). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int sq_format_timestamp(int64_t usec, char *buf, size_t size)
{
    int64_t secs = usec / 1000000, frac = usec % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    return snprintf(buf, size, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%06dZ", y, m, d, (int)(rem / 3600),
                    (int)(rem / 60 % 60), (int)(rem % 60), (int)frac);
}

int sq_format_date(int64_t days, char *buf, size_t size)
{
    int64_t y;
    unsigned m, d;
    civil(days, &y, &m, &d);
    return snprintf(buf, size, "%04" PRId64 "-%02u-%02u", y, m, d);
}

/* ---------------------------------------------------------------- cursors */

void sq_val_clear(sq_val *v)
{
    free(v->text);
    memset(v, 0, sizeof(*v));
}

void sq_val_encode(sq_buf *b, const sq_val *v)
{
    switch (v->type) {
    case SQ_V_NULL: sq_buf_puts(b, "n"); break;
    case SQ_V_INT: sq_buf_printf(b, "i%" PRId64, v->i); break;
    case SQ_V_REAL: sq_buf_printf(b, "r%.17g", v->r); break;
    case SQ_V_TEXT:
        sq_buf_printf(b, "t%zu:", v->len);
        sq_buf_add(b, v->text ? v->text : "", v->len);
        break;
    }
}

int sq_val_decode(const char **pp, sq_val *v)
{
    const char *p = *pp;
    char *end;
    memset(v, 0, sizeof(*v));
    switch (*p) {
    case 'n':
        *pp = p + 1;
        return 0;
    case 'i':
        errno = 0;
        v->i = strtoll(p + 1, &end, 10);
        if (end == p + 1 || errno)
            return -1;
        v->type = SQ_V_INT;
        *pp = end;
        return 0;
    case 'r':
        v->r = strtod(p + 1, &end);
        if (end == p + 1)
            return -1;
        v->type = SQ_V_REAL;
        *pp = end;
        return 0;
    case 't': {
        if (!isdigit((unsigned char)p[1]))
            return -1;
        errno = 0;
        unsigned long long n = strtoull(p + 1, &end, 10);
        if (errno || *end != ':' || strnlen(end + 1, n) < n)
            return -1;
        v->text = malloc(n + 1);
        if (!v->text)
            return -1;
        memcpy(v->text, end + 1, n);
        v->text[n] = '\0';
        v->len = n;
        v->type = SQ_V_TEXT;
        *pp = end + 1 + n;
        return 0;
    }
    default: return -1;
    }
}

void sq_cursor_clear(sq_cursor *c)
{
    sq_val_clear(&c->value);
    sq_val_clear(&c->key);
    memset(c, 0, sizeof(*c));
}

int sq_cursor_parse(const char *text, sq_cursor *c)
{
    memset(c, 0, sizeof(*c));
    const char *p = text;
    if (*p == 'c') {
        char *end;
        errno = 0;
        c->change_log = 1;
        c->seq = strtoll(p + 1, &end, 10);
        if (end == p + 1 || errno || c->seq < 0)
            return -1;
        if (*end == '\0')
            return 0;
        if (*end != ',')
            return -1;
        p = end + 1;
        c->scanning = 1;
        if (sq_val_decode(&p, &c->key) < 0 || *p != '\0') {
            sq_cursor_clear(c);
            return -1;
        }
        return 0;
    }
    if (sq_val_decode(&p, &c->value) < 0 || *p++ != ',' || sq_val_decode(&p, &c->key) < 0 || *p != '\0') {
        sq_cursor_clear(c);
        return -1;
    }
    return 0;
}

char *sq_cursor_text(const sq_cursor *c)
{
    sq_buf b;
    sq_buf_init(&b);
    if (c->change_log) {
        sq_buf_printf(&b, "c%" PRId64, c->seq);
        if (c->scanning) {
            sq_buf_puts(&b, ",");
            sq_val_encode(&b, &c->key);
        }
    } else {
        sq_val_encode(&b, &c->value);
        sq_buf_puts(&b, ",");
        sq_val_encode(&b, &c->key);
    }
    return sq_buf_take(&b);
}

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

int sq_split_assign(const char *item, char **l, char **r)
{
    *l = *r = NULL;
    const char *eq = item ? strchr(item, '=') : NULL;
    if (!eq)
        return -1;
    *l = trimmed(item, (size_t)(eq - item));
    *r = trimmed(eq + 1, strlen(eq + 1));
    if (!*l || !*r || !**l) {
        free(*l);
        free(*r);
        *l = *r = NULL;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------- statements */

static void col_list(sq_buf *b, const char *const *cols, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            sq_buf_puts(b, ", ");
        sq_buf_ident(b, cols[i]);
    }
}

/* k1 = ?1 AND k2 = ?2 */
static void key_match(sq_buf *b, const char *const *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            sq_buf_puts(b, " AND ");
        sq_buf_ident(b, keys[i]);
        sq_buf_printf(b, " = ?%zu", i + 1);
    }
}

char *sq_sql_upsert(const char *table, const char *const *cols, size_t n, const int *is_key, const int *compare)
{
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "INSERT INTO ");
    sq_buf_ident(&b, table);
    sq_buf_puts(&b, " (");
    col_list(&b, cols, n);
    sq_buf_puts(&b, ") VALUES (");
    for (size_t i = 0; i < n; i++)
        sq_buf_printf(&b, "%s?%zu", i ? ", " : "", i + 1);
    sq_buf_puts(&b, ") ON CONFLICT (");
    int first = 1;
    for (size_t i = 0; i < n; i++)
        if (is_key[i]) {
            if (!first)
                sq_buf_puts(&b, ", ");
            sq_buf_ident(&b, cols[i]);
            first = 0;
        }
    sq_buf_puts(&b, ") DO ");
    size_t n_cmp = 0;
    for (size_t i = 0; i < n; i++)
        n_cmp += !is_key[i] && compare[i];
    if (n_cmp == 0) {
        sq_buf_puts(&b, "NOTHING");
        return sq_buf_take(&b);
    }
    sq_buf_puts(&b, "UPDATE SET ");
    first = 1;
    for (size_t i = 0; i < n; i++)
        if (!is_key[i]) {
            if (!first)
                sq_buf_puts(&b, ", ");
            sq_buf_ident(&b, cols[i]);
            sq_buf_puts(&b, " = excluded.");
            sq_buf_ident(&b, cols[i]);
            first = 0;
        }
    sq_buf_puts(&b, " WHERE ");
    first = 1;
    for (size_t i = 0; i < n; i++)
        if (!is_key[i] && compare[i]) {
            if (!first)
                sq_buf_puts(&b, " OR ");
            sq_buf_ident(&b, table);
            sq_buf_puts(&b, ".");
            sq_buf_ident(&b, cols[i]);
            sq_buf_puts(&b, " IS NOT excluded.");
            sq_buf_ident(&b, cols[i]);
            first = 0;
        }
    return sq_buf_take(&b);
}

/* head t WHERE k1 = ?1 AND ... */
static char *by_keys(const char *head, const char *table, const char *const *keys, size_t n_keys)
{
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, head);
    sq_buf_ident(&b, table);
    sq_buf_puts(&b, " WHERE ");
    key_match(&b, keys, n_keys);
    return sq_buf_take(&b);
}

char *sq_sql_exists(const char *table, const char *const *keys, size_t n_keys)
{
    return by_keys("SELECT 1 FROM ", table, keys, n_keys);
}

char *sq_sql_delete(const char *table, const char *const *keys, size_t n_keys)
{
    return by_keys("DELETE FROM ", table, keys, n_keys);
}

char *sq_sql_soft_delete(const char *table, const char *const *keys, size_t n_keys, const char *const *set_cols,
                         size_t n_set)
{
    sq_buf b;
    sq_buf_init(&b);
    sq_buf_puts(&b, "UPDATE ");
    sq_buf_ident(&b, table);
    sq_buf_puts(&b, " SET ");
    for (size_t i = 0; i < n_set; i++) {
        if (i)
            sq_buf_puts(&b, ", ");
        sq_buf_ident(&b, set_cols[i]);
        sq_buf_printf(&b, " = ?%zu", n_keys + i + 1);
    }
    sq_buf_puts(&b, " WHERE ");
    key_match(&b, keys, n_keys);
    sq_buf_puts(&b, " AND (");
    for (size_t i = 0; i < n_set; i++) {
        if (i)
            sq_buf_puts(&b, " OR ");
        sq_buf_ident(&b, set_cols[i]);
        sq_buf_printf(&b, " IS NOT ?%zu", n_keys + i + 1);
    }
    sq_buf_puts(&b, ")");
    return sq_buf_take(&b);
}

static void select_from(sq_buf *b, const char *table, const char *const *cols, size_t n)
{
    sq_buf_puts(b, "SELECT ");
    col_list(b, cols, n);
    sq_buf_puts(b, " FROM ");
    sq_buf_ident(b, table);
}

/* The user's extra condition, when there is one: " AND (where)". */
static void and_where(sq_buf *b, const char *where)
{
    if (where && *where)
        sq_buf_printf(b, " AND (%s)", where);
}

char *sq_sql_keyset_page(const char *table, const char *const *cols, size_t n, const char *cursor_col,
                         const char *key_col, const char *where, int after)
{
    sq_buf b;
    sq_buf_init(&b);
    select_from(&b, table, cols, n);
    sq_buf_puts(&b, " WHERE ");
    if (after) {
        sq_buf_puts(&b, "(");
        sq_buf_ident(&b, cursor_col);
        sq_buf_puts(&b, " > ?1 OR (");
        sq_buf_ident(&b, cursor_col);
        sq_buf_puts(&b, " = ?1 AND ");
        sq_buf_ident(&b, key_col);
        sq_buf_puts(&b, " > ?2)) AND ");
    }
    sq_buf_ident(&b, cursor_col);
    sq_buf_puts(&b, " IS NOT NULL AND CASE WHEN typeof(");
    sq_buf_ident(&b, cursor_col);
    sq_buf_puts(&b, ") IN ('integer', 'real') THEN ");
    sq_buf_ident(&b, cursor_col);
    sq_buf_puts(&b, " <= ?3 ELSE julianday(");
    sq_buf_ident(&b, cursor_col);
    sq_buf_puts(&b, ") <= julianday(?4) END");
    and_where(&b, where);
    sq_buf_puts(&b, " ORDER BY ");
    sq_buf_ident(&b, cursor_col);
    sq_buf_puts(&b, ", ");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, " LIMIT ?5");
    return sq_buf_take(&b);
}

char *sq_sql_key_page(const char *table, const char *const *cols, size_t n, const char *key_col, const char *where,
                      int after)
{
    sq_buf b;
    sq_buf_init(&b);
    select_from(&b, table, cols, n);
    sq_buf_puts(&b, " WHERE ");
    if (after) {
        sq_buf_ident(&b, key_col);
        sq_buf_puts(&b, " > ?1");
    } else {
        sq_buf_puts(&b, "1");
    }
    and_where(&b, where);
    sq_buf_puts(&b, " ORDER BY ");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, " LIMIT ?2");
    return sq_buf_take(&b);
}

char *sq_sql_by_key(const char *table, const char *const *cols, size_t n, const char *key_col, const char *where)
{
    sq_buf b;
    sq_buf_init(&b);
    select_from(&b, table, cols, n);
    sq_buf_puts(&b, " WHERE ");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, " = ?1");
    and_where(&b, where);
    return sq_buf_take(&b);
}

static void trigger_head(sq_buf *b, const char *table, const char *suffix, const char *event)
{
    sq_buf_puts(b, "CREATE TRIGGER IF NOT EXISTS ");
    sq_buf_printf(b, "\"_syncengine_");
    for (const char *s = table; *s; s++) {
        if (*s == '"')
            sq_buf_add(b, "\"", 1);
        sq_buf_add(b, s, 1);
    }
    sq_buf_printf(b, "_%s\" AFTER %s ON ", suffix, event);
    sq_buf_ident(b, table);
    sq_buf_puts(b, " BEGIN INSERT INTO " SQ_CHANGES_TABLE " (tbl, key) ");
}

/* VALUES ('table', row.key): the change-log row of the trigger's NEW or OLD row. */
static void change_values(sq_buf *b, const char *table, const char *row, const char *key_col)
{
    sq_buf_puts(b, "VALUES (");
    buf_literal(b, table);
    sq_buf_printf(b, ", %s.", row);
    sq_buf_ident(b, key_col);
    sq_buf_puts(b, ")");
}

char *sq_sql_change_triggers(const char *table, const char *key_col)
{
    sq_buf b;
    sq_buf_init(&b);
    trigger_head(&b, table, "ai", "INSERT");
    change_values(&b, table, "NEW", key_col);
    sq_buf_puts(&b, "; END;\n");

    trigger_head(&b, table, "au", "UPDATE");
    change_values(&b, table, "NEW", key_col);
    sq_buf_puts(&b, "; INSERT INTO " SQ_CHANGES_TABLE " (tbl, key) SELECT ");
    buf_literal(&b, table);
    sq_buf_puts(&b, ", OLD.");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, " WHERE OLD.");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, " IS NOT NEW.");
    sq_buf_ident(&b, key_col);
    sq_buf_puts(&b, "; END;\n");

    trigger_head(&b, table, "ad", "DELETE");
    change_values(&b, table, "OLD", key_col);
    sq_buf_puts(&b, "; END;\n");
    return sq_buf_take(&b);
}
