/*
 * pgs_source_sql.c - pure helpers of the PostgreSQL source (see
 * pgs_source_sql.h): value parsing, the cursor encoding and the change-log
 * DDL.  No connection; unit-tested (tests/unit/sink-postgres/).
 */
#include "pgs_source_sql.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++, (*s)++) {
        if (!isdigit((unsigned char)**s))
            return -1;
        v = v * 10 + (**s - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD" -> days; -1 for anything else (infinity, BC, 5-digit years). */
int pgs_src_parse_date(const char *s, int64_t *days, const char **rest)
{
    int y, m, d;
    if (digits(&s, 4, &y) < 0 || *s++ != '-' || digits(&s, 2, &m) < 0 || *s++ != '-' || digits(&s, 2, &d) < 0)
        return -1;
    if (m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    *days = days_from_civil(y, (unsigned)m, (unsigned)d);
    *rest = s;
    return 0;
}

/* "YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM[:SS]]]" (DateStyle ISO) -> microseconds. */
int pgs_src_parse_timestamp(const char *s, int64_t *usec)
{
    int64_t days;
    int h, mi, se;
    if (pgs_src_parse_date(s, &days, &s) < 0 || (*s != ' ' && *s != 'T'))
        return -1;
    s++;
    if (digits(&s, 2, &h) < 0 || *s++ != ':' || digits(&s, 2, &mi) < 0 || *s++ != ':' || digits(&s, 2, &se) < 0)
        return -1;
    int64_t frac = 0;
    if (*s == '.') {
        s++;
        int nd = 0;
        while (isdigit((unsigned char)*s)) {
            if (nd < 6) {
                frac = frac * 10 + (*s - '0');
                nd++;
            }
            s++;
        }
        for (; nd < 6; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (*s == '+' || *s == '-') {
        int sign = *s++ == '-' ? -1 : 1, oh = 0, om = 0, os = 0;
        if (digits(&s, 2, &oh) < 0)
            return -1;
        if (*s == ':' && (s++, digits(&s, 2, &om) < 0))
            return -1;
        if (*s == ':' && (s++, digits(&s, 2, &os) < 0))
            return -1;
        off = sign * ((int64_t)oh * 3600 + om * 60 + os);
    }
    if (*s)
        return -1; /* " BC" and the like */
    *usec = ((days * 86400 + h * 3600 + mi * 60 + se) - off) * INT64_C(1000000) + frac;
    return 0;
}

/* Appends s with '\' and ',' escaped. */
void pgs_src_cursor_escape(pgs_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == ',')
            pgs_buf_add(b, "\\", 1);
        pgs_buf_add(b, s, 1);
    }
}

/* Splits text at its first unescaped ',' into two malloc'ed, unescaped strings; -1 when malformed. */
int pgs_src_cursor_split(const char *text, char **a, char **b)
{
    pgs_buf x[2];
    pgs_buf_init(&x[0]);
    pgs_buf_init(&x[1]);
    int part = 0;
    for (const char *s = text; *s; s++) {
        if (*s == '\\' && s[1]) {
            pgs_buf_add(&x[part], ++s, 1);
        } else if (*s == ',' && part == 0) {
            part = 1;
        } else {
            pgs_buf_add(&x[part], s, 1);
        }
    }
    pgs_buf_add(&x[0], "", 0);
    pgs_buf_add(&x[1], "", 0);
    *a = pgs_buf_take(&x[0]);
    *b = pgs_buf_take(&x[1]);
    if (part == 0 || !*a || !*b) {
        free(*a);
        free(*b);
        *a = *b = NULL;
        return -1;
    }
    return 0;
}

/* The DDL of the change log and of one table's trigger (idempotent); malloc'ed. */
char *pgs_src_change_log_ddl(const char *schema, const char *rel_q, const char *key)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, ";\nCREATE TABLE IF NOT EXISTS ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, "." PGS_CHANGES_TABLE " (\n"
                     "    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
                     "    tbl oid NOT NULL,\n"
                     "    key text,\n"
                     "    xid xid8 NOT NULL DEFAULT pg_catalog.pg_current_xact_id(),\n"
                     "    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now()\n);\n"
                     "CREATE INDEX IF NOT EXISTS " PGS_CHANGES_TABLE "_tbl ON ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, "." PGS_CHANGES_TABLE " (tbl, seq);\nCREATE OR REPLACE FUNCTION ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, ".sync_record_change() RETURNS trigger LANGUAGE plpgsql\n"
                     "    SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$\n"
                     "BEGIN\n"
                     "    IF TG_OP <> 'INSERT' THEN\n"
                     "        INSERT INTO ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, "." PGS_CHANGES_TABLE " (tbl, key) VALUES (TG_RELID, pg_catalog.to_jsonb(OLD) ->> TG_ARGV[0]);\n"
                     "    END IF;\n"
                     "    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND (pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0]) IS "
                     "DISTINCT FROM (pg_catalog.to_jsonb(OLD) ->> TG_ARGV[0])) THEN\n"
                     "        INSERT INTO ");
    pgs_quote_ident(&b, schema);
    pgs_buf_puts(&b, "." PGS_CHANGES_TABLE " (tbl, key) VALUES (TG_RELID, pg_catalog.to_jsonb(NEW) ->> TG_ARGV[0]);\n"
                     "    END IF;\n"
                     "    RETURN NULL;\n"
                     "END\n$fn$;\n");
    if (rel_q) {
        pgs_buf_printf(&b, "CREATE OR REPLACE TRIGGER " PGS_CHANGES_TRIGGER " AFTER INSERT OR UPDATE OR DELETE ON %s"
                           " FOR EACH ROW EXECUTE FUNCTION ", rel_q);
        pgs_quote_ident(&b, schema);
        pgs_buf_puts(&b, ".sync_record_change('");
        for (const char *s = key; *s; s++)
            pgs_buf_add(&b, *s == '\'' ? "''" : s, *s == '\'' ? 2 : 1);
        pgs_buf_puts(&b, "');\n");
    }
    return pgs_buf_take(&b);
}

