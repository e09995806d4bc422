/*
 * pgs_source.c - the PostgreSQL connector's source role (see pgs_source.h).
 *
 * Keyset mode.  The cursor is the last (cursor value, key) read, and a page
 * is
 *
 *   SELECT ... WHERE c <= $bound AND (c, k) > ($c, $k) ORDER BY c, k LIMIT n
 *
 * so rows sharing a cursor value are never lost at a page boundary (the key
 * breaks the tie) and a row updated while the run pages moves ahead of the
 * cursor and is read later (or by the next run).  Why a settle window: a
 * row's updated_at is set inside its transaction (now() is the transaction's
 * start), so a transaction that commits late becomes visible with a value
 * older than rows already read, and a plain "greater than the cursor" read
 * would skip it for ever.  A run therefore reads only rows whose cursor value
 * is at most the database's now() - settle, fixed once per run: a row that
 * commits at most `settle` after its stamp is still ahead of the cursor when
 * it becomes visible.  The bound comes from the database's clock, never the
 * engine's.
 *
 * Change-log mode.  A trigger the plugin installs writes (table, key,
 * transaction id) into <state_schema>.sync_changes for every insert, update
 * and delete.  Sequence numbers are not visible in order in PostgreSQL (a
 * transaction holding seq 5 may commit after one holding seq 6 was read), so
 * the cursor is a transaction-id horizon instead: a run takes the xmin of
 * its snapshot (every transaction below it has ended), reads the changes of
 * transactions in [saved horizon, new horizon) in seq order, looks each
 * changed key up (gone: a delete), and saves the new horizon.  A
 * transaction still running is at or above the horizon and waits for the
 * next run; nothing is skipped, however late it commits.  The first run (and
 * a full refresh) scans the table by key, then reads the changes made since
 * the scan began.
 *
 * Values are read as text with fixed per-transaction settings (UTC, ISO
 * dates, round-trip floats) and typed here from the column's type; arrays and
 * composite values are read as JSON through to_json.
 */
#include "pgs_source.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pgs_conn.h"
#include "pgs_host.h"
#include "pgs_sql.h"

/* Settings of every read transaction: values come back in one format whatever the server's defaults. */
#define READ_SETTINGS                                                                                    \
    "SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; " \
    "SET LOCAL extra_float_digits = 3; SET TRANSACTION READ ONLY"

/* Type OIDs (pg_type.dat; stable across releases). */
enum {
    OID_BOOL = 16, OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_OID = 26, OID_JSON = 114,
    OID_FLOAT4 = 700, OID_FLOAT8 = 701, OID_DATE = 1082, OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184,
    OID_NUMERIC = 1700, OID_JSONB = 3802
};

typedef struct pgs_source {
    sync_ctx *ctx;
    pgs_conn conn;
    char *state_schema; /* where the change-log table lives */
} pgs_source;

/* One column of the table or view. */
typedef struct scol {
    char *name;
    unsigned oid;  /* the (base) type */
    char cat;      /* typcategory: A array, C composite, D date/time, N numeric, ... */
    char *type;    /* format_type(), for casts */
    int attnum;
} scol;

/* What one stream reads. */
typedef struct plan {
    char oid[16];
    char *rel_q;     /* "schema"."name" */
    char *display;   /* schema.name */
    int is_view;
    scol *cols;
    size_t n;
    size_t *sel;     /* selected columns (indexes into cols) */
    size_t n_sel;
    long key_c, cur_c, soft_c; /* indexes into cols */
    long key_i, cur_i, soft_i; /* positions in the select list */
    const char *where;
    char *soft_col, *soft_val;
    int change_log;
    int64_t settle_ms;
    char *list;      /* the select list */
} plan;

/* Problems found while building a plan: reported to a check, or the first one set as the error. */
typedef struct probs {
    sync_ctx *ctx;
    const sync_check *chk;
    int n;
    int status;
} probs;

static void problem(probs *p, int status, const char *where, const char *fmt, ...) SYNC_PRINTF(4, 5);

static void problem(probs *p, int status, const char *where, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (p->chk)
        p->chk->report(p->chk, where, msg);
    else if (p->n == 0)
        pgs_host->set_error(p->ctx, "%s (%s)", msg, where ? where : "?");
    if (p->n++ == 0)
        p->status = status;
}

static void plan_free(plan *pl)
{
    for (size_t i = 0; i < pl->n; i++) {
        free(pl->cols[i].name);
        free(pl->cols[i].type);
    }
    free(pl->cols);
    free(pl->sel);
    free(pl->rel_q);
    free(pl->display);
    free(pl->soft_col);
    free(pl->soft_val);
    free(pl->list);
    memset(pl, 0, sizeof(*pl));
}

static long find_col(const plan *pl, const char *name)
{
    for (size_t i = 0; i < pl->n; i++)
        if (strcmp(pl->cols[i].name, name) == 0)
            return (long)i;
    long found = -1;
    for (size_t i = 0; i < pl->n; i++)
        if (strcasecmp(pl->cols[i].name, name) == 0) {
            if (found >= 0)
                return -1; /* ambiguous */
            found = (long)i;
        }
    return found;
}

static long add_sel(plan *pl, long c)
{
    for (size_t i = 0; i < pl->n_sel; i++)
        if (pl->sel[i] == (size_t)c)
            return (long)i;
    pl->sel[pl->n_sel] = (size_t)c;
    return (long)pl->n_sel++;
}

static char *quoted(const char *name)
{
    return pgs_quote_ident_dup(name);
}

static int split_assign(const char *s, char **l, char **r)
{
    return pgs_split_assign(s, l, r);
}

/* Runs one catalog or data statement in a read transaction with READ_SETTINGS. */
static PGresult *read_exec(pgs_source *in, const char *sql, int n, const char *const *params, pgs_err *err)
{
    if (pgs_tx_begin_with(&in->conn, READ_SETTINGS, err) != SYNC_OK)
        return NULL;
    PGresult *res = pgs_exec(&in->conn, sql, n, params, NULL, err);
    pgs_err e2;
    if (!res) {
        if (!pgs_conn_lost(&in->conn))
            pgs_exec_cmd(&in->conn, "ROLLBACK", &e2);
        return NULL;
    }
    if (pgs_exec_cmd(&in->conn, "COMMIT", err) != SYNC_OK) {
        PQclear(res);
        return NULL;
    }
    return res;
}

static int load_table(pgs_source *in, const char *object, plan *pl, probs *p, const char *where)
{
    pgs_err err;
    const char *p1[] = {object};
    PGresult *res = read_exec(in,
                              "SELECT c.oid, n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c"
                              " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                              " WHERE c.oid = pg_catalog.to_regclass($1)",
                              1, p1, &err);
    if (!res) {
        if (err.status == SYNC_ERROR || err.status == SYNC_E_DATA) {
            problem(p, SYNC_E_SCHEMA, where, "table or view \"%s\": %s", object, err.message);
            return p->status;
        }
        return pgs_fail(in->ctx, &err);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        problem(p, SYNC_E_NOTFOUND, where, "table or view \"%s\" does not exist", object);
        return p->status;
    }
    snprintf(pl->oid, sizeof(pl->oid), "%s", PQgetvalue(res, 0, 0));
    char *ns = quoted(PQgetvalue(res, 0, 1)), *rel = quoted(PQgetvalue(res, 0, 2));
    size_t dn = strlen(PQgetvalue(res, 0, 1)) + strlen(PQgetvalue(res, 0, 2)) + 2;
    pl->display = malloc(dn);
    if (pl->display)
        snprintf(pl->display, dn, "%s.%s", PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2));
    char kind = PQgetvalue(res, 0, 3)[0];
    PQclear(res);
    if (ns && rel && (pl->rel_q = malloc(strlen(ns) + strlen(rel) + 2)) != NULL)
        sprintf(pl->rel_q, "%s.%s", ns, rel);
    free(ns);
    free(rel);
    if (!pl->rel_q || !pl->display)
        return SYNC_E_NOMEM;
    if (kind != 'r' && kind != 'p' && kind != 'v' && kind != 'm' && kind != 'f') {
        problem(p, SYNC_E_SCHEMA, where, "\"%s\" is not a table or view (relkind %c)", object, kind);
        return p->status;
    }
    pl->is_view = kind == 'v' || kind == 'm' || kind == 'f';
    const char *p2[] = {pl->oid};
    res = read_exec(in,
                    "SELECT a.attname, CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END,"
                    " t.typcategory, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnum"
                    " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                    " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                    1, p2, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    int nt = PQntuples(res);
    pl->cols = calloc((size_t)nt + 1, sizeof(scol));
    pl->sel = calloc((size_t)nt + 1, sizeof(size_t));
    if (!pl->cols || !pl->sel) {
        PQclear(res);
        return SYNC_E_NOMEM;
    }
    for (int i = 0; i < nt; i++) {
        scol *c = &pl->cols[pl->n++];
        c->name = strdup(PQgetvalue(res, i, 0));
        c->oid = (unsigned)strtoul(PQgetvalue(res, i, 1), NULL, 10);
        c->cat = PQgetvalue(res, i, 2)[0];
        c->type = strdup(PQgetvalue(res, i, 3));
        c->attnum = atoi(PQgetvalue(res, i, 4));
        if (!c->name || !c->type) {
            PQclear(res);
            return SYNC_E_NOMEM;
        }
    }
    PQclear(res);
    return SYNC_OK;
}

/* The table's one-column primary key, or NULL (malloc'ed). */
static char *single_pk(pgs_source *in, const plan *pl)
{
    pgs_err err;
    const char *p[] = {pl->oid};
    PGresult *res = read_exec(in,
                              "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a"
                              " ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
                              " WHERE i.indrelid = $1::oid AND i.indisprimary",
                              1, p, &err);
    char *out = NULL;
    if (res && PQntuples(res) == 1)
        out = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    return out;
}

/* Non-zero when an index of the table starts with (cursor column, key). */
static int has_keyset_index(pgs_source *in, const plan *pl)
{
    char a[16], b[16];
    snprintf(a, sizeof(a), "%d", pl->cols[pl->cur_c].attnum);
    snprintf(b, sizeof(b), "%d", pl->cols[pl->key_c].attnum);
    const char *p[] = {pl->oid, a, b};
    pgs_err err;
    PGresult *res = read_exec(in,
                              "SELECT 1 FROM pg_catalog.pg_index WHERE indrelid = $1::oid AND indnkeyatts >= 2"
                              " AND indkey[0] = $2::int2 AND indkey[1] = $3::int2",
                              3, p, &err);
    int found = !res || PQntuples(res) > 0; /* cannot tell: say nothing */
    PQclear(res);
    return found;
}

static int plan_build(pgs_source *in, const char *object, const sync_config *opts, const char *const *fields,
                      size_t n_fields, const char *stream_where, probs *p, plan *pl)
{
    memset(pl, 0, sizeof(*pl));
    pl->key_c = pl->cur_c = pl->soft_c = -1;
    pl->key_i = pl->cur_i = pl->soft_i = -1;
    const char *ow = opts ? NULL : stream_where;
#define WHERE(name) (ow ? ow : pgs_host->config_where(opts, name))
    int rc = load_table(in, object, pl, p, stream_where);
    if (rc != SYNC_OK)
        return rc;
    pl->where = pgs_opt_string(opts, "where");
    if (pl->where && !*pl->where)
        pl->where = NULL;
    const char *cursor_col = pgs_opt_string(opts, "cursor_column");
    if (!cursor_col)
        cursor_col = "updated_at";
    pl->settle_ms = 10000;
    if (opts)
        pgs_host->config_get_int(opts, "settle", &pl->settle_ms);
    if (opts)
        pgs_host->config_get_bool(opts, "change_log", &pl->change_log);
    const char *key = pgs_opt_string(opts, "key");
    char *pk = NULL;
    if (!key && !pl->is_view)
        key = pk = single_pk(in, pl);
    if (!key)
        problem(p, SYNC_E_CONFIG, WHERE("key"),
                "%s \"%s\" has no one-column primary key; set source.key to a column that identifies its rows",
                pl->is_view ? "view" : "table", pl->display);
    else if ((pl->key_c = find_col(pl, key)) < 0)
        problem(p, SYNC_E_SCHEMA, WHERE("key"), "key column \"%s\" does not exist in \"%s\"", key, pl->display);
    free(pk);
    pl->cur_c = find_col(pl, cursor_col);
    if (!pl->change_log && pl->cur_c < 0)
        problem(p, SYNC_E_SCHEMA, WHERE("cursor_column"),
                "cursor column \"%s\" does not exist in \"%s\" (set source.cursor_column, or source.change_log = on)",
                cursor_col, pl->display);
    if (pl->change_log && pl->is_view)
        problem(p, SYNC_E_CONFIG, WHERE("change_log"),
                "source.change_log needs a table; \"%s\" is a view (a trigger on it would never fire)", pl->display);
    const char *soft = pgs_opt_string(opts, "soft_delete");
    if (soft && *soft) {
        if (strchr(soft, '=')) {
            if (split_assign(soft, &pl->soft_col, &pl->soft_val) < 0)
                problem(p, SYNC_E_CONFIG, WHERE("soft_delete"), "source.soft_delete \"%s\" is not column or column=value",
                        soft);
        } else {
            pl->soft_col = strdup(soft);
        }
        if (pl->soft_col && (pl->soft_c = find_col(pl, pl->soft_col)) < 0)
            problem(p, SYNC_E_SCHEMA, WHERE("soft_delete"), "soft-delete column \"%s\" does not exist in \"%s\"",
                    pl->soft_col, pl->display);
    }
    if (fields) {
        for (size_t i = 0; i < n_fields; i++) {
            long c = find_col(pl, fields[i]);
            if (c < 0)
                problem(p, SYNC_E_SCHEMA, stream_where, "field \"%s\" is not a column of \"%s\"", fields[i],
                        pl->display);
            else
                add_sel(pl, c);
        }
    } else {
        for (size_t c = 0; c < pl->n; c++)
            add_sel(pl, (long)c);
    }
#undef WHERE
    if (p->n)
        return p->status;
    pl->key_i = add_sel(pl, pl->key_c);
    if (pl->cur_c >= 0)
        pl->cur_i = add_sel(pl, pl->cur_c);
    if (pl->soft_c >= 0)
        pl->soft_i = add_sel(pl, pl->soft_c);
    pgs_buf b;
    pgs_buf_init(&b);
    for (size_t i = 0; i < pl->n_sel; i++) {
        const scol *c = &pl->cols[pl->sel[i]];
        if (i)
            pgs_buf_puts(&b, ", ");
        if (c->cat == 'A' || c->cat == 'C') {
            pgs_buf_puts(&b, "pg_catalog.to_json(");
            pgs_quote_ident(&b, c->name);
            pgs_buf_puts(&b, ")::text");
        } else {
            pgs_quote_ident(&b, c->name);
        }
    }
    pl->list = pgs_buf_take(&b);
    return pl->list ? SYNC_OK : SYNC_E_NOMEM;
}

/* ------------------------------------------------------------ instance */

int pgs_source_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    pgs_source *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    in->conn.ctx = ctx;
    const char *ci = pgs_host->config_get_string(cfg, "conninfo");
    const char *app = pgs_host->config_get_string(cfg, "application_name");
    const char *schema = pgs_host->config_get_string(cfg, "state_schema");
    in->conn.conninfo = strdup(ci ? ci : "");
    in->conn.application_name = strdup(app ? app : "syncengine");
    in->state_schema = strdup(schema && *schema ? schema : "syncengine");
    pgs_host->config_get_int(cfg, "statement_timeout", &in->conn.statement_timeout_ms);
    pgs_host->config_get_int(cfg, "connect_timeout", &in->conn.connect_timeout_ms);
    int rc = SYNC_OK;
    if (!in->conn.conninfo || !in->conn.application_name || !in->state_schema) {
        rc = SYNC_E_NOMEM;
    } else if (!*in->conn.conninfo) {
        pgs_host->set_error(ctx, "option \"conninfo\" is empty (%s)", pgs_host->config_where(cfg, "conninfo"));
        rc = SYNC_E_CONFIG;
    } else {
        rc = pgs_conn_open(&in->conn);
    }
    if (rc != SYNC_OK) {
        pgs_source_close(in);
        return rc;
    }
    *instance = in;
    return SYNC_OK;
}

void pgs_source_close(void *instance)
{
    pgs_source *in = instance;
    if (!in)
        return;
    pgs_conn_close(&in->conn);
    free(in->conn.conninfo);
    free(in->conn.application_name);
    free(in->state_schema);
    free(in);
}

static sync_type oid_type(unsigned oid, char cat)
{
    switch (oid) {
    case OID_BOOL: return SYNC_TYPE_BOOL;
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return SYNC_TYPE_INT;
    case OID_FLOAT4:
    case OID_FLOAT8: return SYNC_TYPE_FLOAT;
    case OID_NUMERIC: return SYNC_TYPE_NULL; /* a number, or exact text when it has too many digits */
    case OID_DATE: return SYNC_TYPE_DATE;
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: return SYNC_TYPE_TIMESTAMP;
    case OID_JSON:
    case OID_JSONB: return SYNC_TYPE_JSON;
    default: break;
    }
    return cat == 'A' || cat == 'C' ? SYNC_TYPE_JSON : SYNC_TYPE_STRING;
}

int pgs_source_discover(void *instance, sync_catalog *cat)
{
    pgs_source *in = instance;
    pgs_err err;
    PGresult *res = read_exec(in,
                              "SELECT n.nspname || '.' || c.relname, a.attname,"
                              " CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END, t.typcategory"
                              " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                              " JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0"
                              " AND NOT a.attisdropped JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                              " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND n.nspname NOT IN"
                              " ('pg_catalog', 'information_schema', 'pg_toast') AND pg_catalog.has_table_privilege("
                              "c.oid, 'SELECT') ORDER BY 1, a.attnum",
                              0, NULL, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    int rc = SYNC_OK;
    const char *last = "";
    for (int i = 0; rc == SYNC_OK && i < PQntuples(res); i++) {
        const char *rel = PQgetvalue(res, i, 0);
        if (strcmp(rel, last) != 0)
            rc = pgs_host->catalog_add_stream(cat, rel);
        last = rel;
        if (rc == SYNC_OK)
            rc = pgs_host->catalog_add_field(cat, rel, PQgetvalue(res, i, 1),
                                             oid_type((unsigned)strtoul(PQgetvalue(res, i, 2), NULL, 10),
                                                      PQgetvalue(res, i, 3)[0]));
    }
    PQclear(res);
    return rc;
}

/* ------------------------------------------------------------ values */

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
static int parse_date(const char *s, int64_t *days, const char **rest)
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
static int parse_timestamp(const char *s, int64_t *usec)
{
    int64_t days;
    int h, mi, se;
    if (parse_date(s, &days, &s) < 0 || (*s != ' ' && *s != 'T'))
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

/* A numeric's text is kept exact: a number when a double holds it, else the text itself. */
static int numeric_fits_double(const char *s)
{
    int sig = 0, started = 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-' || *p == '+' || *p == '.')
            continue;
        if (!isdigit((unsigned char)*p))
            return 0; /* NaN, Infinity */
        if (*p != '0')
            started = 1;
        if (started)
            sig++;
    }
    /* trailing zeros after a point count too: "1.50" keeps its scale as a number 1.5 */
    return sig <= 15;
}

static int set_field(pgs_source *in, const plan *pl, sync_record *rec, const PGresult *res, int row, int i)
{
    const scol *c = &pl->cols[pl->sel[i]];
    const char *f = c->name;
    if (PQgetisnull(res, row, i))
        return pgs_host->record_set_null(rec, f);
    const char *v = PQgetvalue(res, row, i);
    size_t len = (size_t)PQgetlength(res, row, i);
    if (c->cat == 'A' || c->cat == 'C')
        return pgs_host->record_set_json(rec, f, v, len);
    switch (c->oid) {
    case OID_BOOL: return pgs_host->record_set_bool(rec, f, v[0] == 't');
    case OID_INT2:
    case OID_INT4:
    case OID_INT8:
    case OID_OID: return pgs_host->record_set_int(rec, f, strtoll(v, NULL, 10));
    case OID_FLOAT4:
    case OID_FLOAT8: {
        double d = strtod(v, NULL);
        if (isfinite(d))
            return pgs_host->record_set_float(rec, f, d);
        break;
    }
    case OID_NUMERIC:
        if (numeric_fits_double(v))
            return pgs_host->record_set_float(rec, f, strtod(v, NULL));
        break;
    case OID_DATE: {
        int64_t days;
        const char *rest;
        if (parse_date(v, &days, &rest) == 0 && !*rest)
            return pgs_host->record_set_date(rec, f, days);
        break;
    }
    case OID_TIMESTAMP:
    case OID_TIMESTAMPTZ: {
        int64_t usec;
        if (parse_timestamp(v, &usec) == 0)
            return pgs_host->record_set_timestamp(rec, f, usec);
        break;
    }
    case OID_JSON:
    case OID_JSONB: return pgs_host->record_set_json(rec, f, v, len);
    default: break;
    }
    (void)in;
    return pgs_host->record_set_string(rec, f, v, len);
}

/* Is the row soft-deleted? */
static int soft_deleted(const plan *pl, const PGresult *res, int row)
{
    if (pl->soft_i < 0 || PQgetisnull(res, row, (int)pl->soft_i))
        return 0;
    const char *v = PQgetvalue(res, row, (int)pl->soft_i);
    int is_bool = pl->cols[pl->soft_c].oid == OID_BOOL;
    if (pl->soft_val) {
        if (is_bool) {
            int want = strcasecmp(pl->soft_val, "true") == 0 || strcasecmp(pl->soft_val, "t") == 0 ||
                       strcmp(pl->soft_val, "1") == 0 || strcasecmp(pl->soft_val, "yes") == 0 ||
                       strcasecmp(pl->soft_val, "on") == 0;
            return (v[0] == 't') == want;
        }
        return strcmp(v, pl->soft_val) == 0;
    }
    if (is_bool)
        return v[0] == 't';
    if (pl->cols[pl->soft_c].cat == 'N')
        return strtod(v, NULL) != 0;
    return *v && strcasecmp(v, "false") != 0 && strcmp(v, "0") != 0 && strcasecmp(v, "f") != 0;
}

/* One row into a record (a delete when soft-deleted).  A row with a NULL key is skipped with a warning. */
static int row_record(pgs_source *in, const plan *pl, const PGresult *res, int row, sync_emitter *em)
{
    if (PQgetisnull(res, row, (int)pl->key_i)) {
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "\"%s\": a row with a NULL key \"%s\" is skipped", pl->display,
                      pl->cols[pl->key_c].name);
        pgs_host->counter_add(in->ctx, "rows_null_key", 1);
        return SYNC_OK;
    }
    const char *k = PQgetvalue(res, row, (int)pl->key_i);
    sync_record *rec = pgs_host->record_new(em, k, (size_t)PQgetlength(res, row, (int)pl->key_i),
                                            soft_deleted(pl, res, row) ? SYNC_OP_DELETE : SYNC_OP_UPSERT);
    if (!rec)
        return SYNC_E_NOMEM;
    for (size_t i = 0; i < pl->n_sel; i++) {
        int rc = set_field(in, pl, rec, res, row, (int)i);
        if (rc != SYNC_OK)
            return rc;
    }
    return SYNC_OK;
}

/* ------------------------------------------------------------ cursors */

/* Appends s with '\' and ',' escaped. */
static void cur_escape(pgs_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == ',')
            pgs_buf_add(b, "\\", 1);
        pgs_buf_add(b, s, 1);
    }
}

/* Splits text at its first unescaped ',' into two malloc'ed, unescaped strings; -1 when malformed. */
static int cur_split(const char *text, char **a, char **b)
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

static int emit_text(sync_emitter *em, pgs_buf *b)
{
    char *text = pgs_buf_take(b);
    if (!text)
        return SYNC_E_NOMEM;
    int rc = pgs_host->emit(em, text);
    free(text);
    return rc;
}

/* ------------------------------------------------------------ keyset mode */

static int read_keyset(pgs_source *in, const plan *pl, const char *cursor, sync_emitter *em, size_t batch)
{
    const scol *cc = &pl->cols[pl->cur_c], *kc = &pl->cols[pl->key_c];
    char *cval = NULL, *kval = NULL;
    if (cursor && (cursor[0] != 'k' || cur_split(cursor + 1, &cval, &kval) < 0)) {
        pgs_host->set_error(in->ctx, "saved cursor \"%s\" of \"%s\" is not a keyset cursor of this connector "
                                     "(was source.change_log changed?); run a full refresh", cursor, pl->display);
        return SYNC_E_DATA;
    }
    pgs_err err;
    char *bound = NULL;
    int rc = SYNC_OK;
    if (cc->cat == 'D') {
        /* the database's clock, fixed for the run so that every page agrees on it */
        char settle[48];
        snprintf(settle, sizeof(settle), "%" PRId64 " milliseconds", pl->settle_ms);
        pgs_buf q;
        pgs_buf_init(&q);
        pgs_buf_printf(&q, "SELECT (pg_catalog.now() - $1::interval)::%s::text", cc->type);
        char *sql = pgs_buf_take(&q);
        const char *p[] = {settle};
        PGresult *res = NULL;
        if (sql && pgs_tx_begin_with(&in->conn, "SET LOCAL DateStyle = 'ISO, YMD'", &err) == SYNC_OK) {
            res = pgs_exec(&in->conn, sql, 1, p, NULL, &err);
            if (pgs_exec_cmd(&in->conn, res ? "COMMIT" : "ROLLBACK", res ? &err : &(pgs_err){0}) != SYNC_OK && res) {
                PQclear(res);
                res = NULL;
            }
        }
        free(sql);
        if (!res) {
            free(cval);
            free(kval);
            return sql ? pgs_fail(in->ctx, &err) : SYNC_E_NOMEM;
        }
        bound = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
    } else if (pl->settle_ms > 0) {
        pgs_host->log(in->ctx, SYNC_LOG_DEBUG, "cursor column \"%s\" of \"%s\" is %s, not a time: no settle window",
                      cc->name, pl->display, cc->type);
    }
    if (!has_keyset_index(in, pl))
        pgs_host->log(in->ctx, SYNC_LOG_WARN, "\"%s\" has no index on (\"%s\", \"%s\"): every page scans and sorts "
                                             "the table; CREATE INDEX ON %s (\"%s\", \"%s\") makes pages seek",
                      pl->display, cc->name, kc->name, pl->rel_q, cc->name, kc->name);
    /* two statements: the first page, and the pages after a (value, key) */
    char *sql[2] = {NULL, NULL};
    for (int after = 0; after < 2; after++) {
        pgs_buf b;
        pgs_buf_init(&b);
        int np = 0;
        pgs_buf_printf(&b, "SELECT %s FROM %s WHERE ", pl->list, pl->rel_q);
        pgs_quote_ident(&b, cc->name);
        if (bound)
            pgs_buf_printf(&b, " <= $%d::%s", ++np, cc->type);
        else
            pgs_buf_puts(&b, " IS NOT NULL");
        if (after) {
            pgs_buf_puts(&b, " AND (");
            pgs_quote_ident(&b, cc->name);
            pgs_buf_puts(&b, ", ");
            pgs_quote_ident(&b, kc->name);
            pgs_buf_printf(&b, ") > ($%d::%s, ", np + 1, cc->type);
            pgs_buf_printf(&b, "$%d::%s)", np + 2, kc->type);
        }
        if (pl->where)
            pgs_buf_printf(&b, " AND (%s)", pl->where);
        pgs_buf_puts(&b, " ORDER BY ");
        pgs_quote_ident(&b, cc->name);
        pgs_buf_puts(&b, ", ");
        pgs_quote_ident(&b, kc->name);
        pgs_buf_printf(&b, " LIMIT %zu", batch);
        sql[after] = pgs_buf_take(&b);
        if (!sql[after])
            rc = SYNC_E_NOMEM;
    }
    int have = cval != NULL;
    while (rc == SYNC_OK) {
        if (pgs_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        const char *params[3];
        int np = 0;
        if (bound)
            params[np++] = bound;
        if (have) {
            params[np++] = cval;
            params[np++] = kval;
        }
        PGresult *res = read_exec(in, sql[have], np, params, &err);
        if (!res) {
            rc = pgs_fail(in->ctx, &err);
            break;
        }
        int rows = PQntuples(res);
        for (int r = 0; rc == SYNC_OK && r < rows; r++)
            rc = row_record(in, pl, res, r, em);
        if (rc == SYNC_OK && rows > 0) {
            /* the last row's (value, key); a NULL key row cannot be last of a page in a useful way, but
             * its cursor value still moves the cursor forward */
            char *nv = strdup(PQgetvalue(res, rows - 1, (int)pl->cur_i));
            char *nk = strdup(PQgetvalue(res, rows - 1, (int)pl->key_i));
            free(cval);
            free(kval);
            cval = nv;
            kval = nk;
            have = 1;
            if (!cval || !kval) {
                rc = SYNC_E_NOMEM;
            } else {
                pgs_buf b;
                pgs_buf_init(&b);
                pgs_buf_puts(&b, "k");
                cur_escape(&b, cval);
                pgs_buf_puts(&b, ",");
                cur_escape(&b, kval);
                rc = emit_text(em, &b);
            }
        }
        PQclear(res);
        if ((size_t)rows < batch)
            break;
    }
    free(sql[0]);
    free(sql[1]);
    free(bound);
    free(cval);
    free(kval);
    return rc;
}

/* ------------------------------------------------------------ change-log mode */

/* "schema"."sync_changes" (malloc'ed) */
static char *changes_table(const pgs_source *in)
{
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_quote_ident(&b, in->state_schema);
    pgs_buf_puts(&b, "." PGS_CHANGES_TABLE);
    return pgs_buf_take(&b);
}

/* The DDL of the change log and of one table's trigger (idempotent); malloc'ed. */
static char *change_log_ddl(const char *schema, const char *rel_q, const char *key)
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

/* Non-zero when the table's trigger and the change-log table are in place. */
static int change_log_installed(pgs_source *in, const plan *pl, int *installed)
{
    char *ct = changes_table(in);
    if (!ct)
        return SYNC_E_NOMEM;
    pgs_err err;
    const char *p[] = {pl->oid, ct};
    PGresult *res = read_exec(in,
                              "SELECT count(*) FROM pg_catalog.pg_trigger WHERE tgrelid = $1::oid AND tgname = '"
                              PGS_CHANGES_TRIGGER "' AND pg_catalog.to_regclass($2) IS NOT NULL",
                              2, p, &err);
    free(ct);
    if (!res)
        return pgs_fail(in->ctx, &err);
    *installed = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    return SYNC_OK;
}

/* Installs the change log for the stream's table unless it is there (as `syncengine setup` would). */
static int install_change_log(pgs_source *in, const plan *pl)
{
    int installed = 0;
    int rc = change_log_installed(in, pl, &installed);
    if (rc != SYNC_OK || installed)
        return rc;
    char *ddl = change_log_ddl(in->state_schema, pl->rel_q, pl->cols[pl->key_c].name);
    if (!ddl)
        return SYNC_E_NOMEM;
    pgs_err err;
    /* several statements: sent with BEGIN in one simple-protocol round trip (rolled back on an error) */
    rc = pgs_tx_begin_with(&in->conn, ddl, &err);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    free(ddl);
    if (rc != SYNC_OK) {
        pgs_err_prefix(&err, "cannot install the change-log trigger on \"%s\" (run `syncengine setup` as the "
                             "table's owner, or grant that role what it needs): ", pl->display);
        return pgs_fail(in->ctx, &err);
    }
    pgs_host->log(in->ctx, SYNC_LOG_INFO, "installed the change-log trigger on \"%s\"", pl->display);
    return SYNC_OK;
}

/* The xmin of a fresh snapshot: every transaction below it has ended. */
static int horizon(pgs_source *in, char *out, size_t size)
{
    pgs_err err;
    PGresult *res = pgs_exec(&in->conn, "SELECT pg_catalog.pg_snapshot_xmin(pg_catalog.pg_current_snapshot())::text",
                             0, NULL, NULL, &err);
    if (!res)
        return pgs_fail(in->ctx, &err);
    snprintf(out, size, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return SYNC_OK;
}

/* The first full read of a change-log stream, in key order, resumable from *key. */
static int scan_table(pgs_source *in, const plan *pl, const char *lo, char **key, sync_emitter *em, size_t batch)
{
    const scol *kc = &pl->cols[pl->key_c];
    char *sql[2] = {NULL, NULL};
    for (int after = 0; after < 2; after++) {
        pgs_buf b;
        pgs_buf_init(&b);
        pgs_buf_printf(&b, "SELECT %s FROM %s WHERE ", pl->list, pl->rel_q);
        pgs_quote_ident(&b, kc->name);
        if (after)
            pgs_buf_printf(&b, " > $1::%s", kc->type);
        else
            pgs_buf_puts(&b, " IS NOT NULL");
        if (pl->where)
            pgs_buf_printf(&b, " AND (%s)", pl->where);
        pgs_buf_puts(&b, " ORDER BY ");
        pgs_quote_ident(&b, kc->name);
        pgs_buf_printf(&b, " LIMIT %zu", batch);
        sql[after] = pgs_buf_take(&b);
    }
    int rc = sql[0] && sql[1] ? SYNC_OK : SYNC_E_NOMEM;
    pgs_err err;
    while (rc == SYNC_OK) {
        if (pgs_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        const char *params[1] = {*key};
        PGresult *res = read_exec(in, sql[*key != NULL], *key ? 1 : 0, params, &err);
        if (!res) {
            rc = pgs_fail(in->ctx, &err);
            break;
        }
        int rows = PQntuples(res);
        for (int r = 0; rc == SYNC_OK && r < rows; r++)
            rc = row_record(in, pl, res, r, em);
        int more = (size_t)rows == batch;
        if (rc == SYNC_OK && rows > 0) {
            free(*key);
            *key = strdup(PQgetvalue(res, rows - 1, (int)pl->key_i));
            if (!*key)
                rc = SYNC_E_NOMEM;
        }
        PQclear(res);
        if (rc != SYNC_OK)
            break;
        pgs_buf b;
        pgs_buf_init(&b);
        if (more) {
            pgs_buf_printf(&b, "s%s,", lo);
            cur_escape(&b, *key);
        } else {
            pgs_buf_printf(&b, "x%s", lo);
        }
        rc = emit_text(em, &b);
        if (!more)
            break;
    }
    free(sql[0]);
    free(sql[1]);
    return rc;
}

/* Forgets the table's changes below the saved horizon (one reading job per table). */
static int prune_changes(pgs_source *in, const plan *pl, const char *lo)
{
    char *ct = changes_table(in);
    if (!ct)
        return SYNC_E_NOMEM;
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "DELETE FROM %s WHERE tbl = $1::oid AND xid < $2::xid8", ct);
    free(ct);
    char *sql = pgs_buf_take(&b);
    if (!sql)
        return SYNC_E_NOMEM;
    pgs_err err;
    const char *p[] = {pl->oid, lo};
    int rc = pgs_tx_begin(&in->conn, &err);
    PGresult *res = rc == SYNC_OK ? pgs_exec(&in->conn, sql, 2, p, NULL, &err) : NULL;
    free(sql);
    if (rc == SYNC_OK && !res) {
        rc = err.status;
        if (!pgs_conn_lost(&in->conn))
            pgs_exec_cmd(&in->conn, "ROLLBACK", &(pgs_err){0});
    }
    PQclear(res);
    if (rc == SYNC_OK)
        rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
    return rc == SYNC_OK ? SYNC_OK : pgs_fail(in->ctx, &err);
}

/*
 * Changes of transactions in [lo, hi) after seq: each changed key once per
 * page, as its row now is (a delete when it is gone or no longer meets where).
 */
static int read_changes(pgs_source *in, const plan *pl, const char *lo, const char *hi, int64_t seq,
                        sync_emitter *em, size_t batch)
{
    const scol *kc = &pl->cols[pl->key_c];
    char *ct = changes_table(in);
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_printf(&b, "SELECT seq, key FROM %s WHERE tbl = $1::oid AND xid >= $2::xid8 AND xid < $3::xid8"
                       " AND seq > $4::bigint ORDER BY seq LIMIT %zu", ct ? ct : "", batch);
    char *sql_ch = pgs_buf_take(&b);
    free(ct);
    pgs_buf_init(&b);
    /* the changed rows of a page in one statement: keys as a text array, compared in the key's type */
    pgs_buf_printf(&b, "SELECT %s FROM %s WHERE ", pl->list, pl->rel_q);
    pgs_quote_ident(&b, kc->name);
    pgs_buf_printf(&b, " = ANY ($1::text[]::%s[])", kc->type);
    if (pl->where)
        pgs_buf_printf(&b, " AND (%s)", pl->where);
    char *sql_rows = pgs_buf_take(&b);
    int rc = sql_ch && sql_rows ? SYNC_OK : SYNC_E_NOMEM;
    pgs_err err;
    while (rc == SYNC_OK) {
        if (pgs_host->cancelled(in->ctx)) {
            rc = SYNC_E_CANCELLED;
            break;
        }
        char seqt[32];
        snprintf(seqt, sizeof(seqt), "%" PRId64, seq);
        const char *p[] = {pl->oid, lo, hi, seqt};
        PGresult *ch = read_exec(in, sql_ch, 4, p, &err);
        if (!ch) {
            rc = pgs_fail(in->ctx, &err);
            break;
        }
        int n = PQntuples(ch);
        /* distinct keys of the page, as an array literal */
        pgs_buf arr;
        pgs_buf_init(&arr);
        pgs_buf_puts(&arr, "{");
        int nk = 0;
        for (int i = 0; i < n; i++) {
            if (PQgetisnull(ch, i, 1))
                continue;
            const char *k = PQgetvalue(ch, i, 1);
            int later = 0;
            for (int j = i + 1; !later && j < n; j++)
                later = !PQgetisnull(ch, j, 1) && strcmp(PQgetvalue(ch, j, 1), k) == 0;
            if (later)
                continue;
            pgs_buf_puts(&arr, nk++ ? ",\"" : "\"");
            for (const char *s = k; *s; s++) {
                if (*s == '"' || *s == '\\')
                    pgs_buf_add(&arr, "\\", 1);
                pgs_buf_add(&arr, s, 1);
            }
            pgs_buf_puts(&arr, "\"");
        }
        pgs_buf_puts(&arr, "}");
        char *keys = pgs_buf_take(&arr);
        PGresult *rows = NULL;
        if (!keys) {
            rc = SYNC_E_NOMEM;
        } else if (nk > 0) {
            const char *p1[] = {keys};
            rows = read_exec(in, sql_rows, 1, p1, &err);
            if (!rows)
                rc = pgs_fail(in->ctx, &err);
        }
        /* each key once: the row as it is now, or a delete */
        for (int i = 0; rc == SYNC_OK && i < n; i++) {
            if (PQgetisnull(ch, i, 1))
                continue;
            const char *k = PQgetvalue(ch, i, 1);
            int later = 0;
            for (int j = i + 1; !later && j < n; j++)
                later = !PQgetisnull(ch, j, 1) && strcmp(PQgetvalue(ch, j, 1), k) == 0;
            if (later)
                continue;
            int found = -1;
            for (int r = 0; rows && found < 0 && r < PQntuples(rows); r++)
                if (!PQgetisnull(rows, r, (int)pl->key_i) && strcmp(PQgetvalue(rows, r, (int)pl->key_i), k) == 0)
                    found = r;
            if (found >= 0) {
                rc = row_record(in, pl, rows, found, em);
            } else {
                sync_record *rec = pgs_host->record_new(em, k, strlen(k), SYNC_OP_DELETE);
                rc = rec ? pgs_host->record_set_string(rec, kc->name, k, strlen(k)) : SYNC_E_NOMEM;
            }
        }
        if (rc == SYNC_OK && n > 0)
            seq = strtoll(PQgetvalue(ch, n - 1, 0), NULL, 10);
        PQclear(rows);
        PQclear(ch);
        free(keys);
        if (rc != SYNC_OK)
            break;
        pgs_buf c;
        pgs_buf_init(&c);
        if (n == (int)batch)
            pgs_buf_printf(&c, "x%s:%s:%" PRId64, lo, hi, seq);
        else
            pgs_buf_printf(&c, "x%s", hi);
        rc = emit_text(em, &c);
        if (n < (int)batch)
            break;
    }
    free(sql_ch);
    free(sql_rows);
    return rc;
}

static int read_change_log(pgs_source *in, const plan *pl, const char *cursor, sync_emitter *em, size_t batch)
{
    int rc = install_change_log(in, pl);
    if (rc != SYNC_OK)
        return rc;
    char lo[32] = "", hi[32] = "";
    int64_t seq = 0;
    char *scan_key = NULL;
    int scanning = 0;
    if (!cursor) {
        /* first run: changes from here on are read after the scan (some twice: harmless) */
        if ((rc = horizon(in, lo, sizeof(lo))) != SYNC_OK)
            return rc;
        scanning = 1;
    } else if (cursor[0] == 's') {
        char *a = NULL;
        if (cur_split(cursor + 1, &a, &scan_key) < 0 || strlen(a) >= sizeof(lo))
            rc = SYNC_E_DATA;
        else
            snprintf(lo, sizeof(lo), "%s", a);
        free(a);
        scanning = 1;
    } else if (cursor[0] == 'x') {
        unsigned long long l, h;
        long long s;
        int nf = sscanf(cursor + 1, "%llu:%llu:%lld", &l, &h, &s);
        if (nf == 1) {
            snprintf(lo, sizeof(lo), "%llu", l);
        } else if (nf == 3) {
            snprintf(lo, sizeof(lo), "%llu", l);
            snprintf(hi, sizeof(hi), "%llu", h);
            seq = s;
        } else {
            rc = SYNC_E_DATA;
        }
    } else {
        rc = SYNC_E_DATA;
    }
    if (rc != SYNC_OK) {
        free(scan_key);
        pgs_host->set_error(in->ctx, "saved cursor \"%s\" of \"%s\" is not a change-log cursor of this connector "
                                     "(was source.change_log changed?); run a full refresh", cursor, pl->display);
        return rc;
    }
    if (scanning) {
        rc = scan_table(in, pl, lo, &scan_key, em, batch);
        free(scan_key);
        if (rc != SYNC_OK)
            return rc;
    } else if ((rc = prune_changes(in, pl, lo)) != SYNC_OK) {
        return rc;
    }
    if (hi[0]) {
        /* finish the window a stopped run was in */
        if ((rc = read_changes(in, pl, lo, hi, seq, em, batch)) != SYNC_OK)
            return rc;
        snprintf(lo, sizeof(lo), "%s", hi);
    }
    if ((rc = horizon(in, hi, sizeof(hi))) != SYNC_OK)
        return rc;
    return read_changes(in, pl, lo, hi, 0, em, batch);
}

int pgs_source_read(void *instance, const sync_stream_request *req, sync_emitter *em)
{
    pgs_source *in = instance;
    pgs_err err;
    int rc = pgs_conn_ensure(&in->conn, &err);
    if (rc != SYNC_OK)
        return pgs_fail(in->ctx, &err);
    probs p = {.ctx = in->ctx};
    plan pl;
    rc = plan_build(in, req->stream, req->options, req->fields, req->n_fields,
                    req->options ? pgs_host->config_where(req->options, "cursor_column") : "?", &p, &pl);
    if (rc == SYNC_OK) {
        size_t batch = req->batch_size ? req->batch_size : 1000;
        const char *cursor = req->full_refresh ? NULL : req->cursor;
        rc = pl.change_log ? read_change_log(in, &pl, cursor, em, batch) : read_keyset(in, &pl, cursor, em, batch);
    }
    plan_free(&pl);
    return rc;
}

/* ------------------------------------------------------------ setup (ABI 1.3) */

int pgs_source_setup(sync_ctx *ctx, const sync_config *cfg, const char *object, const sync_config *opts, int apply,
                     char **ddl_out)
{
    if (ddl_out)
        *ddl_out = NULL;
    int cl = 0;
    if (opts)
        pgs_host->config_get_bool(opts, "change_log", &cl);
    if (!cl)
        return SYNC_OK; /* a keyset stream needs nothing on the server */
    void *inst = NULL;
    int rc = pgs_source_open(ctx, cfg, &inst);
    if (rc != SYNC_OK)
        return rc;
    pgs_source *in = inst;
    probs p = {.ctx = ctx};
    plan pl;
    rc = plan_build(in, object, opts, NULL, 0, pgs_host->config_where(opts, "change_log"), &p, &pl);
    char *ddl = rc == SYNC_OK ? change_log_ddl(in->state_schema, pl.rel_q, pl.cols[pl.key_c].name) : NULL;
    if (rc == SYNC_OK && !ddl)
        rc = SYNC_E_NOMEM;
    if (rc == SYNC_OK && apply) {
        pgs_err err;
        rc = pgs_tx_begin_with(&in->conn, ddl, &err);
        if (rc == SYNC_OK)
            rc = pgs_exec_cmd(&in->conn, "COMMIT", &err);
        if (rc != SYNC_OK) {
            pgs_err_prefix(&err, "cannot install the change-log trigger on \"%s\": ", pl.display);
            rc = pgs_fail(ctx, &err);
        }
    }
    if (rc == SYNC_OK && ddl_out) {
        size_t n = strlen(ddl);
        if ((*ddl_out = pgs_host->alloc(n + 1)) != NULL)
            memcpy(*ddl_out, ddl, n + 1);
        else
            rc = SYNC_E_NOMEM;
    }
    free(ddl);
    plan_free(&pl);
    pgs_source_close(in);
    return rc;
}

/* ------------------------------------------------------------ check */

static void report(const sync_check *chk, const sync_config *cfg, const char *name, const char *msg)
{
    chk->report(chk, cfg ? pgs_host->config_where(cfg, name) : chk->stream_where, msg);
}

int pgs_source_check(const sync_check *chk)
{
    int bad = 0;
    char msg[600];
    if (!chk->job) {
        const char *ci = pgs_opt_string(chk->config, "conninfo");
        if (!ci || !*ci) {
            report(chk, chk->config, "conninfo", "option \"conninfo\" is empty");
            bad = 1;
        }
        return bad ? SYNC_E_CONFIG : SYNC_OK;
    }
    if (!chk->stream)
        return SYNC_OK;
    const sync_config *o = chk->stream_options;
    if (!chk->object || !*chk->object) {
        report(chk, NULL, NULL, "the stream names no table or view (object)");
        bad = 1;
    }
    const char *soft = pgs_opt_string(o, "soft_delete");
    char *l, *r;
    if (soft && strchr(soft, '=')) {
        if (split_assign(soft, &l, &r) < 0) {
            snprintf(msg, sizeof(msg), "source.soft_delete \"%s\" is not column or column=value", soft);
            report(chk, o, "soft_delete", msg);
            bad = 1;
        } else {
            free(l);
            free(r);
        }
    }
    static const char *const names[] = {"cursor_column", "key", "soft_delete"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = pgs_opt_string(o, names[i]);
        if (v && !*v && i < 2) {
            snprintf(msg, sizeof(msg), "source.%s is empty", names[i]);
            report(chk, o, names[i], msg);
            bad = 1;
        }
    }
    const char *w = pgs_opt_string(o, "where");
    if (w && strchr(w, ';')) {
        snprintf(msg, sizeof(msg), "source.where \"%s\" holds a ';': it must be one SQL condition", w);
        report(chk, o, "where", msg);
        bad = 1;
    }
    return bad ? SYNC_E_CONFIG : SYNC_OK;
}

int pgs_source_probe(void *instance, const sync_check *chk)
{
    pgs_source *in = instance;
    if (!chk->stream)
        return SYNC_OK;
    probs p = {.ctx = in->ctx, .chk = chk};
    plan pl;
    int rc = plan_build(in, chk->object, chk->stream_options, chk->fields, chk->n_fields, chk->stream_where, &p, &pl);
    if (rc == SYNC_OK && p.n == 0) {
        if (!pl.change_log && pl.cur_c >= 0 && !has_keyset_index(in, &pl))
            pgs_host->log(in->ctx, SYNC_LOG_WARN, "%s: \"%s\" has no index on (\"%s\", \"%s\"): every page of a run "
                                                 "scans and sorts the table",
                          chk->stream_where, pl.display, pl.cols[pl.cur_c].name, pl.cols[pl.key_c].name);
        if (pl.where) {
            /* the condition must at least parse and refer to real columns */
            pgs_buf b;
            pgs_buf_init(&b);
            pgs_buf_printf(&b, "SELECT 1 FROM %s WHERE (%s) LIMIT 0", pl.rel_q, pl.where);
            char *sql = pgs_buf_take(&b);
            pgs_err err;
            PGresult *res = sql ? read_exec(in, sql, 0, NULL, &err) : NULL;
            if (!res && sql) {
                char msg[900];
                snprintf(msg, sizeof(msg), "source.where of \"%s\" does not work: %s", pl.display, err.message);
                chk->report(chk, pgs_host->config_where(chk->stream_options, "where"), msg);
                p.n++;
            }
            PQclear(res);
            free(sql);
        }
    }
    plan_free(&pl);
    if (p.n)
        return SYNC_E_CONFIG;
    return rc;
}
