/*
 * pgs_compare.c - the PostgreSQL connector's compare operations (ABI 1.3),
 * see pgs_compare.h.  Every value is written in SQL in the canonical text
 * docs/plugin-abi.md defines ("Canonical values"), so that a range's hash
 * here equals the one another plugin computes for the same rows.
 */
#include "pgs_compare.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

/* A growable text buffer. */
typedef struct cbuf {
    char *p;
    size_t len, cap;
    int oom;
} cbuf;

static void cb_add(cbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void cb_puts(cbuf *b, const char *s)
{
    cb_add(b, s, strlen(s));
}

static void cb_printf(cbuf *b, const char *fmt, ...) SYNC_PRINTF(2, 3);
static void cb_printf(cbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(tmp)) {
        b->oom = 1;
        return;
    }
    cb_add(b, tmp, (size_t)n);
}

/* Appends name as a quoted identifier. */
static void cb_ident(cbuf *b, const char *name)
{
    cb_add(b, "\"", 1);
    for (const char *s = name; *s; s++) {
        cb_add(b, s, 1);
        if (*s == '"')
            cb_add(b, "\"", 1);
    }
    cb_add(b, "\"", 1);
}

typedef struct pgc_col {
    char *name;
    char *typname;   /* base type name */
} pgc_col;

typedef struct pgc_table {
    char *regclass;   /* quoted, qualified */
    char *key;
    pgc_col *cols;    /* the key first */
    size_t n;
    int key_int;
    int key_collate_c; /* comparisons of the text key need COLLATE "C" to order bytewise */
    int key_collatable; /* the key's type has a collation (text, not uuid or a number) */
    char **soft_cols;  /* delete_mode = soft: rows so marked are not live */
    char **soft_vals;
    size_t n_soft;
    char *filter;      /* source: its where and soft_delete, the rows a run reads; NULL: none */
} pgc_table;

typedef struct pgc_inst {
    sync_ctx *ctx;
    PGconn *pg;
    char *schema;     /* state_schema */
    int is_source;
    int whole;        /* the session's plan settings: 1 for whole tables, 0 for key ranges, -1 not set yet */
    pgc_table **tables;
    size_t n_tables;
} pgc_inst;

static int fail(pgc_inst *in, int status, const char *what, const PGresult *res)
{
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(in->pg);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    pgs_host->set_error(in->ctx, "%s: %.*s", what, (int)n, msg);
    if (PQstatus(in->pg) != CONNECTION_OK)
        return SYNC_E_UNAVAILABLE;
    return status;
}

static PGresult *run(pgc_inst *in, const char *sql, int n, const char *const *params, const char *what, int *status)
{
    PGresult *res = PQexecParams(in->pg, sql, n, NULL, params, NULL, NULL, 0);
    ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
        return res;
    *status = fail(in, SYNC_ERROR, what, res);
    PQclear(res);
    return NULL;
}

static void quiet_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static int pgc_open(sync_ctx *ctx, const sync_config *cfg, int is_source, void **instance)
{
    pgc_inst *in = calloc(1, sizeof(*in));
    if (!in)
        return SYNC_E_NOMEM;
    in->ctx = ctx;
    in->is_source = is_source;
    in->whole = -1;
    const char *conninfo = pgs_host->config_get_string(cfg, "conninfo");
    const char *schema = pgs_host->config_get_string(cfg, "state_schema");
    in->schema = strdup(schema ? schema : "syncengine");
    in->pg = PQconnectdb(conninfo ? conninfo : "");
    if (!in->schema || !in->pg || PQstatus(in->pg) != CONNECTION_OK) {
        int st = in->pg ? fail(in, SYNC_E_UNAVAILABLE, "cannot connect to PostgreSQL", NULL) : SYNC_E_NOMEM;
        PQfinish(in->pg);
        free(in->schema);
        free(in);
        return st == SYNC_OK ? SYNC_E_UNAVAILABLE : st;
    }
    PQsetNoticeProcessor(in->pg, quiet_notice, NULL); /* "already exists, skipping" is not news */
    /*
     * No JIT: verify's statements are long expressions run once, and compiling
     * them costs more than it saves (1,000,000 rows summed: 6.6 s with JIT,
     * 5.0 s without; the parts of a 500-way split: 7.4 s with, 1.0 s without).
     */
    PGresult *r = PQexec(in->pg, "SET application_name = 'syncengine verify'; SET TIME ZONE 'UTC'; SET jit = off");
    PQclear(r);
    *instance = in;
    return SYNC_OK;
}

static void table_free(pgc_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->cols[i].name);
        free(t->cols[i].typname);
    }
    for (size_t i = 0; i < t->n_soft; i++) {
        free(t->soft_cols[i]);
        free(t->soft_vals[i]);
    }
    free(t->soft_cols);
    free(t->soft_vals);
    free(t->filter);
    free(t->cols);
    free(t->regclass);
    free(t->key);
    free(t);
}

static void pgc_close(void *instance)
{
    pgc_inst *in = instance;
    if (!in)
        return;
    for (size_t i = 0; i < in->n_tables; i++)
        table_free(in->tables[i]);
    free(in->tables);
    PQfinish(in->pg);
    free(in->schema);
    free(in);
}

static sync_type kind_of(const char *typ)
{
    if (!strcmp(typ, "int2") || !strcmp(typ, "int4") || !strcmp(typ, "int8"))
        return SYNC_TYPE_INT;
    if (!strcmp(typ, "numeric") || !strcmp(typ, "float4") || !strcmp(typ, "float8"))
        return SYNC_TYPE_FLOAT;
    if (!strcmp(typ, "bool"))
        return SYNC_TYPE_BOOL;
    if (!strcmp(typ, "timestamptz") || !strcmp(typ, "timestamp"))
        return SYNC_TYPE_TIMESTAMP;
    if (!strcmp(typ, "date"))
        return SYNC_TYPE_DATE;
    if (!strcmp(typ, "json") || !strcmp(typ, "jsonb"))
        return SYNC_TYPE_JSON;
    return SYNC_TYPE_STRING;
}

static int is_bytewise(const char *coll)
{
    static const char *const names[] = {"C", "POSIX", "C.UTF-8", "C.utf8", "ucs_basic", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(coll, names[i]) == 0)
            return 1;
    return 0;
}

/* Splits "col=value" (blanks trimmed); -1 when malformed. */
static int split_assign(const char *item, char **l, char **r)
{
    const char *eq = strchr(item, '=');
    if (!eq)
        return -1;
    const char *a = item, *b = eq;
    while (*a == ' ')
        a++;
    while (b > a && b[-1] == ' ')
        b--;
    const char *c = eq + 1, *d = item + strlen(item);
    while (*c == ' ')
        c++;
    while (d > c && d[-1] == ' ')
        d--;
    if (b == a)
        return -1;
    *l = strndup(a, (size_t)(b - a));
    *r = strndup(c, (size_t)(d - c));
    return *l && *r ? 0 : -1;
}

static int pgc_table_open(void *instance, const sync_compare_table *ct, sync_type *kinds, const char **key_out,
                          void **table_state)
{
    pgc_inst *in = instance;
    int st = SYNC_OK;
    const char *p1[] = {ct->object};
    PGresult *res = run(in,
                        "SELECT c.oid::regclass::text, (SELECT datcollate FROM pg_catalog.pg_database"
                        "  WHERE datname = pg_catalog.current_database())"
                        " FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
                        1, p1, "cannot look up the table", &st);
    if (!res)
        return st == SYNC_ERROR ? SYNC_E_SCHEMA : st;
    if (PQntuples(res) != 1) {
        PQclear(res);
        pgs_host->set_error(in->ctx, "table \"%s\" does not exist", ct->object);
        return SYNC_E_NOTFOUND;
    }
    pgc_table *t = calloc(1, sizeof(*t));
    if (!t || !(t->cols = calloc(ct->n_columns + 1, sizeof(pgc_col)))) {
        free(t);
        PQclear(res);
        return SYNC_E_NOMEM;
    }
    t->regclass = strdup(PQgetvalue(res, 0, 0));
    char *datcollate = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    const sync_config *o = ct->options;
    const char *key = ct->key;
    if (!key && o && in->is_source)
        key = pgs_host->config_get_string(o, "key");
    if (!key && o && !in->is_source && pgs_host->config_list_count(o, "conflict_key") == 1)
        key = pgs_host->config_list_item(o, "conflict_key", 0);
    char *pk = NULL;
    if (!key) {
        const char *p2[] = {t->regclass};
        res = run(in,
                  "SELECT a.attname FROM pg_catalog.pg_index i JOIN pg_catalog.pg_attribute a"
                  " ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)"
                  " WHERE i.indrelid = $1::regclass AND i.indisprimary",
                  1, p2, "cannot read the primary key", &st);
        if (!res)
            goto out;
        if (PQntuples(res) == 1)
            key = pk = strdup(PQgetvalue(res, 0, 0));
        PQclear(res);
        if (!key) {
            pgs_host->set_error(in->ctx,
                                "table \"%s\" has no one-column primary key: verify needs one key column "
                                "(sink.conflict_key)", ct->object);
            st = SYNC_E_SCHEMA;
            goto out;
        }
    }
    t->key = strdup(key);
    for (size_t i = 0; i <= ct->n_columns; i++) {
        const char *name = i == 0 ? key : ct->columns[i - 1];
        const char *p3[] = {t->regclass, name};
        res = run(in,
                  "SELECT CASE WHEN ty.typtype = 'd' THEN bt.typname ELSE ty.typname END,"
                  "  coalesce(co.collname, '')"
                  " FROM pg_catalog.pg_attribute a"
                  " JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
                  " LEFT JOIN pg_catalog.pg_type bt ON bt.oid = ty.typbasetype"
                  " LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation"
                  " WHERE a.attrelid = $1::regclass AND a.attname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                  2, p3, "cannot read the table's columns", &st);
        if (!res)
            goto out;
        if (PQntuples(res) != 1) {
            PQclear(res);
            pgs_host->set_error(in->ctx, "column \"%s\" does not exist in table \"%s\"", name, ct->object);
            st = SYNC_E_SCHEMA;
            goto out;
        }
        t->cols[t->n].name = strdup(name);
        t->cols[t->n].typname = strdup(PQgetvalue(res, 0, 0));
        sync_type k = kind_of(t->cols[t->n].typname);
        if (i == 0) {
            const char *coll = PQgetvalue(res, 0, 1);
            if (strcmp(coll, "default") == 0)
                coll = datcollate ? datcollate : "";
            k = k == SYNC_TYPE_INT ? SYNC_TYPE_INT : SYNC_TYPE_STRING;
            t->key_int = k == SYNC_TYPE_INT;
            t->key_collate_c = *coll && !is_bytewise(coll);
            t->key_collatable = *coll != '\0';
        }
        kinds[i] = k;
        t->n++;
        PQclear(res);
    }
    if (in->is_source && o) {
        /* the rows the source reads: its where, and not soft-deleted */
        cbuf f = {0};
        const char *where = pgs_host->config_get_string(o, "where");
        const char *soft = pgs_host->config_get_string(o, "soft_delete");
        if (where && *where)
            cb_printf(&f, "(%s)", where);
        if (soft && *soft) {
            char *l = NULL, *r = NULL;
            if (f.len)
                cb_puts(&f, " AND ");
            if (strchr(soft, '=') && split_assign(soft, &l, &r) == 0) {
                /* the value as a literal: it is the configuration's, compared as text */
                cb_puts(&f, "(");
                cb_ident(&f, l);
                cb_puts(&f, "::text IS DISTINCT FROM ");
                char *lit = PQescapeLiteral(in->pg, r, strlen(r));
                cb_puts(&f, lit ? lit : "NULL");
                PQfreemem(lit);
                cb_puts(&f, ")");
            } else {
                cb_puts(&f, "(");
                cb_ident(&f, soft);
                cb_puts(&f, " IS NULL OR ");
                cb_ident(&f, soft);
                cb_puts(&f, "::text IN ('0', '', 'false', 'f'))");
            }
            free(l);
            free(r);
        }
        t->filter = f.oom ? (free(f.p), NULL) : f.p;
    }
    /* a soft-deleting sink keeps the rows the source deleted: they are not compared */
    const char *mode = o && !in->is_source ? pgs_host->config_get_string(o, "delete_mode") : NULL;
    size_t ns = o ? pgs_host->config_list_count(o, "soft_delete_set") : 0;
    if (mode && strcmp(mode, "soft") == 0 && ns > 0) {
        t->soft_cols = calloc(ns, sizeof(char *));
        t->soft_vals = calloc(ns, sizeof(char *));
        for (size_t i = 0; t->soft_cols && t->soft_vals && i < ns; i++)
            if (split_assign(pgs_host->config_list_item(o, "soft_delete_set", i), &t->soft_cols[t->n_soft],
                             &t->soft_vals[t->n_soft]) == 0)
                t->n_soft++;
    }
out:
    free(pk);
    free(datcollate);
    if (st != SYNC_OK) {
        table_free(t);
        return st == SYNC_ERROR ? SYNC_E_SCHEMA : st;
    }
    pgc_table **nt = realloc(in->tables, (in->n_tables + 1) * sizeof(*nt));
    if (!nt) {
        table_free(t);
        return SYNC_E_NOMEM;
    }
    in->tables = nt;
    in->tables[in->n_tables++] = t;
    *key_out = t->key;
    *table_state = t;
    return SYNC_OK;
}

/* The canonical text of column c (of type typ) in kind, as a SQL expression that is NULL for NULL. */
static void canon_expr(cbuf *b, const pgc_col *c, sync_type kind)
{
    const char *typ = c->typname;
    sync_type nat = kind_of(typ);
    cbuf id = {0};
    cb_ident(&id, c->name);
    const char *q = id.p ? id.p : "\"\"";
    switch (kind) {
    case SYNC_TYPE_INT:
    case SYNC_TYPE_FLOAT:
        if (!strcmp(typ, "numeric"))
            cb_printf(b, "pg_catalog.trim_scale(%s)::text", q);
        else if (!strcmp(typ, "float4") || !strcmp(typ, "float8"))
            cb_printf(b, "pg_catalog.trim_scale(%s::numeric)::text", q);
        else if (nat == SYNC_TYPE_BOOL)
            cb_printf(b, "(%s::int)::text", q);
        else
            cb_printf(b, "%s::text", q);
        break;
    case SYNC_TYPE_BOOL:
        if (nat == SYNC_TYPE_BOOL)
            cb_printf(b, "CASE WHEN %s THEN 'true' WHEN NOT %s THEN 'false' END", q, q);
        else if (nat == SYNC_TYPE_INT || nat == SYNC_TYPE_FLOAT)
            cb_printf(b, "CASE WHEN %s <> 0 THEN 'true' WHEN %s = 0 THEN 'false' END", q, q);
        else
            cb_printf(b, "%s::text", q);
        break;
    case SYNC_TYPE_TIMESTAMP:
        if (!strcmp(typ, "timestamptz"))
            cb_printf(b, "pg_catalog.to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", q);
        else if (!strcmp(typ, "timestamp") || !strcmp(typ, "date"))
            cb_printf(b, "pg_catalog.to_char(%s::timestamp, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", q);
        else
            cb_printf(b, "%s::text", q);
        break;
    case SYNC_TYPE_DATE:
        if (!strcmp(typ, "timestamptz"))
            cb_printf(b, "pg_catalog.to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD')", q);
        else if (!strcmp(typ, "timestamp") || !strcmp(typ, "date"))
            cb_printf(b, "pg_catalog.to_char(%s, 'YYYY-MM-DD')", q);
        else
            cb_printf(b, "%s::text", q);
        break;
    case SYNC_TYPE_JSON:
        if (!strcmp(typ, "json"))
            cb_printf(b, "%s::jsonb::text", q);
        else
            cb_printf(b, "%s::text", q);
        break;
    default:
        cb_printf(b, "%s::text", q);
        break;
    }
    free(id.p);
}

/*
 * A bounded key range is read through the key's index: with generic bounds
 * the planner may prefer to scan the whole table for each of a bisection's
 * many small ranges, which makes the cost grow with the table again.  The
 * whole table (no bounds) is read in one sequential scan, and sorted where key
 * order is needed: walking the index visits the heap in key order, one page
 * per row where the visibility map is not set (1,000,000 keys split: 5.0 s
 * through the index, 1.1 s sorted), and the planner picks the index anyway.
 */
static void plan_for(pgc_inst *in, const char *lo, const char *hi)
{
    int want = lo == NULL && hi == NULL;
    if (want == in->whole)
        return;
    PGresult *r = PQexec(in->pg, want ? "SET enable_seqscan = on; SET enable_indexscan = off;"
                                        " SET enable_indexonlyscan = off; SET enable_bitmapscan = off"
                                      : "SET enable_seqscan = off; SET enable_indexscan = on;"
                                        " SET enable_indexonlyscan = on; SET enable_bitmapscan = on");
    if (PQresultStatus(r) == PGRES_COMMAND_OK)
        in->whole = want;
    PQclear(r);
}

/*
 * " WHERE <live> AND key >= $a AND key < $b" into b and the parameters into
 * params (soft-delete values first, then the bounds); returns their count.
 */
static int range_where(cbuf *b, const pgc_table *t, const char *lo, const char *hi, const char **params)
{
    int n = 0;
    const char *sep = " WHERE ";
    if (t->n_soft) {
        cb_puts(b, sep);
        cb_puts(b, "NOT (");
        for (size_t i = 0; i < t->n_soft; i++) {
            if (i)
                cb_puts(b, " AND ");
            cb_ident(b, t->soft_cols[i]);
            params[n] = t->soft_vals[i];
            cb_printf(b, " IS NOT DISTINCT FROM $%d", ++n);
        }
        cb_puts(b, ")");
        sep = " AND ";
    }
    if (t->filter) {
        cb_puts(b, sep);
        cb_puts(b, t->filter);
        sep = " AND ";
    }
    const char *bounds[2] = {lo, hi};
    for (int k = 0; k < 2; k++) {
        if (!bounds[k])
            continue;
        cb_puts(b, sep);
        cb_ident(b, t->key);
        if (t->key_collate_c)
            cb_puts(b, " COLLATE \"C\"");
        params[n] = bounds[k];
        cb_printf(b, " %s $%d", k == 0 ? ">=" : "<", ++n);
        sep = " AND ";
    }
    return n;
}

/*
 * The key to order [lo, hi) by, bytewise.  A range reads the key's index, so
 * a text key keeps its column's collation where that is bytewise already; the
 * whole table is sorted (plan_for), and "C" sorts with memcmp where the
 * column's collation calls strcoll for each comparison (1.1 s against 3 s of
 * 1,000,000 keys).  A key without a collation (uuid) orders bytewise as it is.
 */
static void order_by(cbuf *b, const pgc_table *t, const char *lo, const char *hi)
{
    cb_ident(b, t->key);
    if (t->key_collate_c || (lo == NULL && hi == NULL && t->key_collatable))
        cb_puts(b, " COLLATE \"C\"");
}

/* A row's 60-bit hash: the first 15 hex digits of the MD5 of its canonical values. */
static void hash_expr(cbuf *b, const pgc_table *t, const sync_type *kinds)
{
    cb_puts(b, "('x' || substr(md5(");
    /* one concat_ws call builds the row's text at once (a function takes at most 100 arguments) */
    int ws = t->n < 90;
    cb_puts(b, ws ? "concat_ws(E'\\x1f', 'v' || " : "'v' || ");
    for (size_t i = 0; i < t->n; i++) {
        if (i) {
            cb_puts(b, ws ? ", coalesce('v' || " : " || E'\\x1f' || coalesce('v' || ");
            canon_expr(b, &t->cols[i], kinds[i]);
            cb_puts(b, ", 'n')");
        } else {
            canon_expr(b, &t->cols[i], kinds[i]);
        }
    }
    cb_puts(b, ws ? ")), 1, 15))::bit(60)::bigint" : "), 1, 15))::bit(60)::bigint");
}

/*
 * The part of a text key k among the bounds $first .. $first+n-1 (sorted): the
 * number of bounds <= k, as a tree of CASEs that compares k about log2(n)
 * times.  width_bucket() over a text[] walks the array element by element
 * (variable-width elements), n comparisons a row: 2.4 s of 1,000,000 rows cut
 * 500 ways, where the tree takes 0.7 s.
 */
static void part_tree(cbuf *b, size_t lo, size_t hi, int first)
{
    if (lo == hi) {
        cb_printf(b, "%zu", lo);
        return;
    }
    size_t mid = lo + (hi - lo) / 2;
    cb_printf(b, "CASE WHEN k < $%d::text COLLATE \"C\" THEN ", first + (int)mid);
    part_tree(b, lo, mid, first);
    cb_puts(b, " ELSE ");
    part_tree(b, mid + 1, hi, first);
    cb_puts(b, " END");
}

/* The bounds as one array literal for an integer key: {"k1","k2",...}. */
static void int_array(cbuf *arr, const char *const *bounds, size_t n)
{
    cb_puts(arr, "{");
    for (size_t i = 0; i < n; i++) {
        cb_puts(arr, i ? ",\"" : "\"");
        for (const char *c = bounds[i]; *c; c++) {
            if (*c == '"' || *c == '\\')
                cb_add(arr, "\\", 1);
            cb_add(arr, c, 1);
        }
        cb_puts(arr, "\"");
    }
    cb_puts(arr, "}");
}

static int pgc_buckets(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                       const char *const *bounds, size_t n, int64_t *counts, uint64_t *hashes)
{
    pgc_inst *in = instance;
    pgc_table *t = ts;
    /* the range's parameters come first (at most 64), then the bounds */
    const char **params = calloc(n + 66, sizeof(char *));
    if (!params)
        return SYNC_E_NOMEM;
    cbuf where = {0}, arr = {0}, b = {0};
    int np = range_where(&where, t, lo, hi, params);
    cb_puts(&b, "SELECT part, count(*), (coalesce(sum(h), 0) % 1152921504606846976)::text FROM (SELECT ");
    if (t->key_int) {
        int_array(&arr, bounds, n);
        params[np] = arr.p;
        cb_printf(&b, "width_bucket(k, $%d::bigint[])", np + 1); /* fixed-width elements: a binary search */
        np++;
    } else {
        for (size_t i = 0; i < n; i++)
            params[np + (int)i] = bounds[i];
        part_tree(&b, 0, n, np + 1);
        np += (int)n;
    }
    cb_puts(&b, " AS part, h FROM (SELECT ");
    cb_ident(&b, t->key);
    cb_puts(&b, t->key_int ? "::bigint AS k, " : "::text COLLATE \"C\" AS k, ");
    hash_expr(&b, t, kinds);
    cb_puts(&b, " AS h FROM ");
    cb_puts(&b, t->regclass);
    cb_puts(&b, where.p ? where.p : "");
    /*
     * OFFSET 0 keeps the rows' query apart: flattened, the planner counts one
     * group per key (the part is an expression of the key), so it sorts every
     * row by its part and hashes the rows after the sort on one process (8.1 s
     * of 1,000,000 rows); apart, it hashes them in its parallel workers and
     * groups the parts in a small hash table (3.7 s).
     */
    cb_puts(&b, ") r OFFSET 0) s GROUP BY part");
    int st = SYNC_OK;
    PGresult *res = NULL;
    if (b.oom || arr.oom || where.oom) {
        st = SYNC_E_NOMEM;
    } else {
        plan_for(in, lo, hi); /* the whole table in one sequential pass, a bounded range through the index */
        res = run(in, b.p, np, params, "cannot sum the parts of a key range", &st);
    }
    free(b.p);
    free(arr.p);
    free(where.p);
    free(params);
    if (!res)
        return st;
    for (size_t i = 0; i <= n; i++) {
        counts[i] = 0;
        hashes[i] = 0;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        long long part = strtoll(PQgetvalue(res, r, 0), NULL, 10);
        if (part >= 0 && (size_t)part <= n) {
            counts[part] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
            hashes[part] = strtoull(PQgetvalue(res, r, 2), NULL, 10);
        }
    }
    PQclear(res);
    return SYNC_OK;
}

static int pgc_summary(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                       int64_t *count, uint64_t *hash)
{
    pgc_inst *in = instance;
    pgc_table *t = ts;
    cbuf b = {0};
    cb_puts(&b, "SELECT count(*), (coalesce(sum(h), 0) % 1152921504606846976)::text FROM (SELECT ");
    hash_expr(&b, t, kinds);
    cb_puts(&b, " AS h FROM ");
    cb_puts(&b, t->regclass);
    const char *params[64];
    int np = range_where(&b, t, lo, hi, params);
    cb_puts(&b, ") s");
    if (b.oom) {
        free(b.p);
        return SYNC_E_NOMEM;
    }
    int st = SYNC_OK;
    plan_for(in, lo, hi);
    PGresult *res = run(in, b.p, np, params, "cannot sum a key range", &st);
    free(b.p);
    if (!res)
        return st;
    *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    *hash = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    return SYNC_OK;
}

static int pgc_split(void *instance, void *ts, const char *lo, const char *hi, int64_t step,
                     void (*key)(void *payload, const char *key), void *payload)
{
    pgc_inst *in = instance;
    pgc_table *t = ts;
    if (step < 1)
        step = 1;
    cbuf b = {0};
    cb_puts(&b, "SELECT k::text FROM (SELECT ");
    cb_ident(&b, t->key);
    cb_puts(&b, " AS k, row_number() OVER (ORDER BY ");
    order_by(&b, t, lo, hi);
    cb_puts(&b, ") AS rn FROM ");
    cb_puts(&b, t->regclass);
    const char *params[64];
    int np = range_where(&b, t, lo, hi, params);
    cb_printf(&b, ") s WHERE rn > 1 AND (rn - 1) %% %lld = 0 ORDER BY rn", (long long)step);
    if (b.oom) {
        free(b.p);
        return SYNC_E_NOMEM;
    }
    int st = SYNC_OK;
    plan_for(in, lo, hi);
    PGresult *res = run(in, b.p, np, params, "cannot split a key range", &st);
    free(b.p);
    if (!res)
        return st;
    for (int i = 0; i < PQntuples(res); i++)
        key(payload, PQgetvalue(res, i, 0));
    PQclear(res);
    return SYNC_OK;
}

static int pgc_fetch(void *instance, void *ts, const sync_type *kinds, const char *lo, const char *hi,
                     void (*row)(void *payload, const char *const *values), void *payload)
{
    pgc_inst *in = instance;
    pgc_table *t = ts;
    cbuf b = {0};
    cb_puts(&b, "SELECT ");
    for (size_t i = 0; i < t->n; i++) {
        if (i)
            cb_puts(&b, ", ");
        canon_expr(&b, &t->cols[i], kinds[i]);
        cb_printf(&b, " AS c%zu", i); /* not the column's name: ORDER BY must see the column, not this text */
    }
    cb_puts(&b, " FROM ");
    cb_puts(&b, t->regclass);
    const char *params[64];
    int np = range_where(&b, t, lo, hi, params);
    cb_puts(&b, " ORDER BY ");
    order_by(&b, t, lo, hi);
    if (b.oom) {
        free(b.p);
        return SYNC_E_NOMEM;
    }
    int st = SYNC_OK;
    plan_for(in, lo, hi);
    PGresult *res = run(in, b.p, np, params, "cannot read a key range", &st);
    free(b.p);
    if (!res)
        return st;
    const char **vals = calloc(t->n, sizeof(char *));
    if (!vals) {
        PQclear(res);
        return SYNC_E_NOMEM;
    }
    for (int r = 0; r < PQntuples(res); r++) {
        for (size_t i = 0; i < t->n; i++)
            vals[i] = PQgetisnull(res, r, (int)i) ? NULL : PQgetvalue(res, r, (int)i);
        row(payload, vals);
    }
    free(vals);
    PQclear(res);
    return SYNC_OK;
}

static int pgc_query(void *instance, const char *sql, const char *const *params, size_t n_params,
                     void (*row)(void *payload, size_t n, const char *const *values), void *payload)
{
    pgc_inst *in = instance;
    int st = SYNC_OK;
    PGresult *res = run(in, "BEGIN READ ONLY", 0, NULL, "cannot begin", &st);
    if (!res)
        return st;
    PQclear(res);
    res = run(in, sql, (int)n_params, params, "the statement failed", &st);
    if (res) {
        int nc = PQnfields(res);
        const char **vals = calloc((size_t)nc + 1, sizeof(char *));
        for (int r = 0; vals && r < PQntuples(res); r++) {
            for (int i = 0; i < nc; i++)
                vals[i] = PQgetisnull(res, r, i) ? NULL : PQgetvalue(res, r, i);
            row(payload, (size_t)nc, vals);
        }
        if (!vals)
            st = SYNC_E_NOMEM;
        free(vals);
        PQclear(res);
    }
    PQclear(PQexec(in->pg, "ROLLBACK"));
    return st == SYNC_ERROR ? SYNC_E_CONFIG : st;
}

static char *verify_table(pgc_inst *in)
{
    cbuf b = {0};
    cb_ident(&b, in->schema);
    cb_puts(&b, ".verify_runs");
    return b.oom ? (free(b.p), NULL) : b.p;
}

static int pgc_history_add(void *instance, const char *job, const char *run_id, int64_t started_at,
                           int64_t finished_at, const char *status, const char *report_json)
{
    pgc_inst *in = instance;
    char *vt = verify_table(in);
    if (!vt)
        return SYNC_E_NOMEM;
    cbuf b = {0};
    cb_puts(&b, "CREATE SCHEMA IF NOT EXISTS ");
    cb_ident(&b, in->schema);
    int st = SYNC_OK;
    PGresult *res = NULL;
    /* the schema may exist already and the role lack CREATE on the database: only create what is missing */
    const char *p0[] = {in->schema};
    res = run(in, "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", 1, p0, "cannot look up the schema", &st);
    if (res && PQntuples(res) == 0) {
        PQclear(res);
        res = run(in, b.p, 0, NULL, "cannot create the state schema", &st);
    }
    free(b.p);
    if (!res) {
        free(vt);
        return st;
    }
    PQclear(res);
    b = (cbuf){0};
    cb_printf(&b, "CREATE TABLE IF NOT EXISTS %s (run_id text PRIMARY KEY, job text NOT NULL,"
                  " started_at timestamptz NOT NULL, finished_at timestamptz NOT NULL, status text NOT NULL,"
                  " report jsonb NOT NULL)", vt);
    res = run(in, b.p, 0, NULL, "cannot create the verify_runs table", &st);
    free(b.p);
    if (!res) {
        free(vt);
        return st;
    }
    PQclear(res);
    char a[32], z[32];
    snprintf(a, sizeof(a), "%lld", (long long)started_at);
    snprintf(z, sizeof(z), "%lld", (long long)finished_at);
    const char *p[] = {run_id, job, a, z, status, report_json};
    b = (cbuf){0};
    cb_printf(&b, "INSERT INTO %s (run_id, job, started_at, finished_at, status, report) VALUES ($1, $2,"
                  " to_timestamp($3::bigint / 1e6), to_timestamp($4::bigint / 1e6), $5, $6::jsonb)", vt);
    res = run(in, b.p, 6, p, "cannot record the verify run", &st);
    free(b.p);
    free(vt);
    if (!res)
        return st;
    PQclear(res);
    return SYNC_OK;
}

static int pgc_history(void *instance, const char *job, int max,
                       void (*each)(void *payload, const char *run_id, int64_t started_at, int64_t finished_at,
                                    const char *status, const char *report_json),
                       void *payload)
{
    pgc_inst *in = instance;
    char *vt = verify_table(in);
    if (!vt)
        return SYNC_E_NOMEM;
    int st = SYNC_OK;
    const char *p0[] = {vt};
    PGresult *res = run(in, "SELECT pg_catalog.to_regclass($1) IS NOT NULL", 1, p0, "cannot look up verify_runs", &st);
    if (!res || PQgetvalue(res, 0, 0)[0] != 't') {
        PQclear(res);
        free(vt);
        return res ? SYNC_OK : st;
    }
    PQclear(res);
    cbuf b = {0};
    cb_printf(&b, "SELECT run_id, (extract(epoch FROM started_at) * 1e6)::bigint,"
                  " (extract(epoch FROM finished_at) * 1e6)::bigint, status, report::text FROM %s"
                  " WHERE $1::text IS NULL OR job = $1 ORDER BY started_at DESC, run_id LIMIT $2::int", vt);
    char lim[16];
    snprintf(lim, sizeof(lim), "%d", max);
    const char *p[] = {job, lim};
    res = run(in, b.p, 2, p, "cannot read the verify runs", &st);
    free(b.p);
    free(vt);
    if (!res)
        return st;
    for (int r = 0; r < PQntuples(res); r++)
        each(payload, PQgetvalue(res, r, 0), strtoll(PQgetvalue(res, r, 1), NULL, 10),
             strtoll(PQgetvalue(res, r, 2), NULL, 10), PQgetvalue(res, r, 3), PQgetvalue(res, r, 4));
    PQclear(res);
    return SYNC_OK;
}

const sync_compare_ops pgs_compare_ops = {
    .struct_size = sizeof(sync_compare_ops),
    .open = pgc_open,
    .table = pgc_table_open,
    .summary = pgc_summary,
    .split = pgc_split,
    .fetch = pgc_fetch,
    .query = pgc_query,
    .history_add = pgc_history_add,
    .history = pgc_history,
    .close = pgc_close,
    .buckets = pgc_buckets,
};
