/*
 * sf_convert.c - record values into Salesforce field values, and whether
 * they fit (see sf_convert.h).
 */
#include "sf_convert.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sf_fit_from(sf_fit *fit, const sf_field_desc *f)
{
    memset(fit, 0, sizeof *fit);
    fit->type = f->type;
    fit->multi = strcmp(f->sf_type, "multipicklist") == 0;
    fit->picklist_kind = fit->multi || strcmp(f->sf_type, "picklist") == 0;
    fit->length = f->type == SF_FT_STRING && strcmp(f->sf_type, "id") != 0 &&
                  strcmp(f->sf_type, "reference") != 0 ? f->length : 0;
    fit->restricted = fit->picklist_kind && f->restricted && f->n_picklist > 0;
    if (fit->restricted) {
        if ((fit->values = calloc(f->n_picklist, sizeof *fit->values)) == NULL)
            return SYNC_E_NOMEM;
        for (size_t i = 0; i < f->n_picklist; i++) {
            if ((fit->values[i] = strdup(f->picklist[i])) == NULL) {
                sf_fit_free(fit);
                return SYNC_E_NOMEM;
            }
            fit->n_values++;
        }
    }
    return SYNC_OK;
}

void sf_fit_free(sf_fit *fit)
{
    for (size_t i = 0; i < fit->n_values; i++)
        free(fit->values[i]);
    free(fit->values);
    fit->values = NULL;
    fit->n_values = 0;
}

static void ymd(int64_t days, char *buf, size_t size)
{
    /* civil_from_days (Howard Hinnant) */
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    snprintf(buf, size, "%04" PRId64 "-%02" PRId64 "-%02" PRId64, y + (m <= 2), m, d);
}

static int64_t day_of(int64_t usec)
{
    return usec >= 0 ? usec / 86400000000LL : -((-usec + 86399999999LL) / 86400000000LL);
}

static int is_number_field(sf_ftype t)
{
    return t == SF_FT_INT || t == SF_FT_FLOAT;
}

/* Characters of UTF-8 text. */
static size_t utf8_chars(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

static int listed(const sf_fit *fit, const char *v, size_t len)
{
    for (size_t i = 0; i < fit->n_values; i++)
        if (strlen(fit->values[i]) == len && memcmp(fit->values[i], v, len) == 0)
            return 1;
    return 0;
}

/* "YYYY-MM-DD" exactly, a real day: its day number. */
static int parse_ymd(const char *s, size_t len, int64_t *days)
{
    int y, m, d, n = 0;
    char buf[16];
    if (len != 10)
        return 0;
    memcpy(buf, s, 10);
    buf[10] = '\0';
    if (sscanf(buf, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10 || m < 1 || m > 12 || d < 1 || d > 31)
        return 0;
    /* days_from_civil */
    int64_t yy = m <= 2 ? y - 1 : y;
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    *days = era * 146097 + doe - 719468;
    char back[16];
    ymd(*days, back, sizeof back);
    return strcmp(back, buf) == 0; /* 2024-02-30 is no day */
}

/* The checks of text bound for a text field: length, picklist values. */
static int text_fits(const sf_fit *fit, const char *s, size_t len, char *why, size_t why_size)
{
    if (fit->restricted && fit->multi) {
        const char *p = s, *end = s + len;
        while (p <= end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            if (e > p && !listed(fit, p, (size_t)(e - p))) {
                snprintf(why, why_size, "'%.*s' is not a value of this restricted multi-select picklist",
                         (int)(e - p > 60 ? 60 : e - p), p);
                return 0;
            }
            p = e + 1;
        }
    } else if (fit->restricted && !listed(fit, s, len)) {
        snprintf(why, why_size, "'%.*s' is not a value of this restricted picklist", (int)(len > 60 ? 60 : len), s);
        return 0;
    }
    size_t n;
    if (fit->length > 0 && (n = utf8_chars(s, len)) > (size_t)fit->length) {
        snprintf(why, why_size, "%zu characters, the field holds at most %ld", n, fit->length);
        return 0;
    }
    return 1;
}

int sf_text_fits(const sf_fit *fit, const char *text, char *why, size_t why_size)
{
    return text_fits(fit, text, strlen(text), why, why_size);
}

/* "a ; b;;c" -> "a;b;c" (blanks around values and empty values dropped). */
static json_t *multi_from_text(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    const char *p = s, *end = s + len;
    if (out == NULL)
        return NULL;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end, *b = p;
        while (b < e && (*b == ' ' || *b == '\t'))
            b++;
        const char *t = e;
        while (t > b && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > b) {
            if (o > 0)
                out[o++] = ';';
            memcpy(out + o, b, (size_t)(t - b));
            o += (size_t)(t - b);
        }
        p = e + 1;
    }
    json_t *j = o > 0 ? json_stringn(out, o) : json_null();
    free(out);
    return j;
}

/* A JSON array of strings -> "a;b". */
static json_t *multi_from_json(const char *s, size_t len, char *why, size_t why_size)
{
    json_error_t jerr;
    json_t *arr = json_loadb(s, len, 0, &jerr);
    if (!json_is_array(arr)) {
        json_decref(arr);
        snprintf(why, why_size, "a multi-select picklist takes a JSON array of strings");
        return NULL;
    }
    size_t cap = len + 1, o = 0, i;
    char *out = malloc(cap);
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *t = json_string_value(v);
        if (t == NULL || strchr(t, ';') != NULL || out == NULL) {
            snprintf(why, why_size, "a multi-select picklist takes a JSON array of strings without ';'");
            free(out);
            json_decref(arr);
            return NULL;
        }
        size_t tl = strlen(t);
        if (tl == 0)
            continue;
        if (o + tl + 2 > cap) {
            char *n = realloc(out, cap = o + tl + 2);
            if (n == NULL)
                break;
            out = n;
        }
        if (o > 0)
            out[o++] = ';';
        memcpy(out + o, t, tl);
        o += tl;
    }
    json_t *j = o > 0 ? json_stringn(out, o) : json_null();
    free(out);
    json_decref(arr);
    return j;
}

/* Converts without the fit checks of text. */
static json_t *convert(const sf_fit *fit, const sync_value *v, char *why, size_t why_size)
{
    char buf[64];
    sf_ftype t = fit->type;
    switch (v->type) {
    case SYNC_TYPE_NULL:
        return json_null();
    case SYNC_TYPE_BOOL:
        if (t == SF_FT_BOOL || t == SF_FT_AUTO)
            return json_boolean(v->u.b);
        if (t == SF_FT_STRING)
            return json_string(v->u.b ? "true" : "false");
        break;
    case SYNC_TYPE_INT:
        if (t == SF_FT_BOOL && (v->u.i == 0 || v->u.i == 1))
            return json_boolean(v->u.i);
        if (is_number_field(t) || t == SF_FT_AUTO)
            return json_integer(v->u.i);
        if (t == SF_FT_STRING) {
            snprintf(buf, sizeof buf, "%" PRId64, v->u.i);
            return json_string(buf);
        }
        break;
    case SYNC_TYPE_FLOAT:
        if (!isfinite(v->u.f)) {
            snprintf(why, why_size, "%g is not a number salesforce can store", v->u.f);
            return NULL;
        }
        if (is_number_field(t) || t == SF_FT_AUTO) {
            if (t == SF_FT_INT) {
                if (v->u.f != floor(v->u.f) || fabs(v->u.f) > 9.2e18) {
                    snprintf(why, why_size, "%.17g is not an integer", v->u.f);
                    return NULL;
                }
                return json_integer((json_int_t)v->u.f);
            }
            return json_real(v->u.f);
        }
        if (t == SF_FT_STRING) {
            snprintf(buf, sizeof buf, "%.17g", v->u.f);
            return json_string(buf);
        }
        break;
    case SYNC_TYPE_TIMESTAMP:
        if (t == SF_FT_DATE) {
            ymd(day_of(v->u.ts), buf, sizeof buf);
            return json_string(buf);
        }
        if (t == SF_FT_DATETIME || t == SF_FT_STRING || t == SF_FT_AUTO) {
            if (sf_host->time_format(v->u.ts, buf, sizeof buf) != SYNC_OK) {
                snprintf(why, why_size, "timestamp out of range");
                return NULL;
            }
            return json_string(buf);
        }
        break;
    case SYNC_TYPE_DATE:
        if (t == SF_FT_DATE || t == SF_FT_STRING || t == SF_FT_AUTO) {
            ymd(v->u.ts, buf, sizeof buf);
            return json_string(buf);
        }
        if (t == SF_FT_DATETIME) {
            ymd(v->u.ts, buf, sizeof buf);
            strcat(buf, "T00:00:00.000Z");
            return json_string(buf);
        }
        break;
    case SYNC_TYPE_JSON:
        if (fit->multi)
            return multi_from_json(v->u.str.ptr, v->u.str.len, why, why_size);
        if (t == SF_FT_STRING || t == SF_FT_AUTO) {
            json_t *s = json_stringn(v->u.str.ptr, v->u.str.len);
            if (s == NULL)
                snprintf(why, why_size, "the value is not valid UTF-8");
            return s;
        }
        break;
    case SYNC_TYPE_STRING: {
        const char *s = v->u.str.ptr;
        size_t len = v->u.str.len;
        if (len == 0)
            return json_null(); /* '' is null for salesforce: written as null, so an update clears the field */
        if (t == SF_FT_BOOL) {
            static const char *const yes[] = {"true", "t", "yes", "y", "1"};
            static const char *const no[] = {"false", "f", "no", "n", "0"};
            for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
                if (len == strlen(yes[i]) && strncasecmp(s, yes[i], len) == 0)
                    return json_true();
                if (len == strlen(no[i]) && strncasecmp(s, no[i], len) == 0)
                    return json_false();
            }
            snprintf(why, why_size, "'%.40s' is not a boolean", s);
            return NULL;
        }
        if (is_number_field(t)) {
            char *end, num[80];
            if (len >= sizeof num)
                len = sizeof num - 1;
            memcpy(num, s, len);
            num[len] = '\0';
            errno = 0;
            if (t == SF_FT_INT) {
                long long n = strtoll(num, &end, 10);
                if (end == num + len && errno == 0)
                    return json_integer(n);
            } else {
                double d = strtod(num, &end);
                if (end == num + len && errno == 0 && isfinite(d))
                    return json_real(d);
            }
            snprintf(why, why_size, "'%.40s' is not a number", num);
            return NULL;
        }
        if (t == SF_FT_DATE || t == SF_FT_DATETIME) {
            int64_t days, us;
            if (parse_ymd(s, len, &days)) {
                ymd(days, buf, sizeof buf);
                if (t == SF_FT_DATETIME)
                    strcat(buf, "T00:00:00.000Z");
                return json_string(buf);
            }
            if (sf_host->time_parse(s, len, &us) == SYNC_OK) {
                if (t == SF_FT_DATE)
                    ymd(day_of(us), buf, sizeof buf);
                else if (sf_host->time_format(us, buf, sizeof buf) != SYNC_OK)
                    break;
                return json_string(buf);
            }
            snprintf(why, why_size, "'%.40s' is not a %s (YYYY-MM-DD%s)", s, t == SF_FT_DATE ? "date" : "datetime",
                     t == SF_FT_DATE ? "" : " or an ISO 8601 time with its zone");
            return NULL;
        }
        if (fit->multi) {
            if (s[0] == '[')
                return multi_from_json(s, len, why, why_size);
            return multi_from_text(s, len);
        }
        json_t *j = json_stringn(s, len);
        if (j == NULL)
            snprintf(why, why_size, "the value is not valid UTF-8");
        return j;
    }
    }
    static const char *const tnames[] = {"null", "bool", "integer", "float", "string", "timestamp", "date", "json"};
    snprintf(why, why_size, "%s values cannot be written to a field of this type",
             (unsigned)v->type < 8 ? tnames[v->type] : "?");
    return NULL;
}

json_t *sf_value_json(const sf_fit *fit, const sync_value *v, char *why, size_t why_size)
{
    json_t *j = convert(fit, v, why, why_size);
    if (j != NULL && json_is_string(j) && fit->type == SF_FT_STRING &&
        !text_fits(fit, json_string_value(j), json_string_length(j), why, why_size)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

int sf_type_converts(sync_type t, const sf_fit *fit)
{
    switch (fit->type) {
    case SF_FT_AUTO:
    case SF_FT_JSON:
        return 1;
    case SF_FT_STRING:
        return t != SYNC_TYPE_JSON || fit->multi || !fit->picklist_kind;
    case SF_FT_BOOL:
        return t == SYNC_TYPE_NULL || t == SYNC_TYPE_BOOL || t == SYNC_TYPE_INT || t == SYNC_TYPE_STRING;
    case SF_FT_INT:
    case SF_FT_FLOAT:
        return t == SYNC_TYPE_NULL || t == SYNC_TYPE_INT || t == SYNC_TYPE_FLOAT || t == SYNC_TYPE_STRING;
    case SF_FT_DATE:
    case SF_FT_DATETIME:
        return t == SYNC_TYPE_NULL || t == SYNC_TYPE_DATE || t == SYNC_TYPE_TIMESTAMP || t == SYNC_TYPE_STRING;
    }
    return 1;
}
