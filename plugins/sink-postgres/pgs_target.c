/*
 * pgs_target.c - checks a target table against its mapping (prepare).
 *
 * Reads the table's columns, types and unique indexes from the catalog and
 * fails early, naming table and column, when a mapped column is missing or
 * cannot be written (generated, identity ALWAYS), or when the conflict key is
 * not backed by a unique index or constraint: ON CONFLICT needs one, and
 * without it every run would insert duplicates.  The sink never ALTERs a user
 * table.  The table name is resolved by the server with to_regclass, so it
 * follows SQL rules (search_path, unquoted names fold to lower case,
 * "Quoted" names keep their case); mapped column names match the catalog
 * exactly, else case-insensitively when that is unambiguous.  On success the
 * statements the write path needs are built once.
 */
#include "pgs_target.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* One column of the table as the catalog describes it. */
typedef struct tcol {
    int attnum;
    char *attname;
    char *type;
    int cmp_as;
    int generated;
    int identity_always;
    long mapped;      /* index into the target's columns, or -1 */
} tcol;

typedef struct tindex {
    char *name;
    int primary;
    int *attnums;
    size_t n;
} tindex;

typedef struct intro {
    char oid[16];
    char *nspname, *relname;
    tcol *cols;
    size_t n_cols;
    tindex *idx;
    size_t n_idx;
} intro;

static void intro_free(intro *x)
{
    free(x->nspname);
    free(x->relname);
    for (size_t i = 0; i < x->n_cols; i++) {
        free(x->cols[i].attname);
        free(x->cols[i].type);
    }
    free(x->cols);
    for (size_t i = 0; i < x->n_idx; i++) {
        free(x->idx[i].name);
        free(x->idx[i].attnums);
    }
    free(x->idx);
}

static int fail(pgs_target *t, int status, const char *fmt, ...) SYNC_PRINTF(3, 4);

static int fail(pgs_target *t, int status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pgs_host->set_error(t->inst->ctx, "%s", msg);
    return status;
}

static int fail_err(pgs_target *t, const pgs_err *err)
{
    return pgs_fail(t->inst->ctx, err);
}

/* Finds a table column by a user-written name: "Quoted" exact, else exact, else unique case-insensitive. */
static long find_tcol(const intro *x, const char *name)
{
    size_t n = strlen(name);
    if (n >= 2 && name[0] == '"' && name[n - 1] == '"') {
        for (size_t i = 0; i < x->n_cols; i++)
            if (strlen(x->cols[i].attname) == n - 2 && strncmp(x->cols[i].attname, name + 1, n - 2) == 0)
                return (long)i;
        return -1;
    }
    long found = -1;
    for (size_t i = 0; i < x->n_cols; i++)
        if (strcmp(x->cols[i].attname, name) == 0)
            return (long)i;
    for (size_t i = 0; i < x->n_cols; i++) {
        if (strcasecmp(x->cols[i].attname, name) == 0) {
            if (found >= 0)
                return -2; /* "Email" and "email" both exist: the user must say which */
            found = (long)i;
        }
    }
    return found;
}

static int load_catalog(pgs_target *t, intro *x)
{
    pgs_conn *c = &t->inst->conn;
    pgs_err err;
    const char *p1[] = {t->name};
    PGresult *res = pgs_exec(c,
                             "SELECT c.oid, n.nspname, c.relname, c.relkind"
                             " FROM pg_catalog.pg_class c"
                             " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                             " WHERE c.oid = pg_catalog.to_regclass($1)",
                             1, p1, NULL, &err);
    if (!res) {
        if (err.status == SYNC_ERROR || err.status == SYNC_E_DATA)
            err.status = SYNC_E_SCHEMA; /* e.g. "improper relation name" */
        return fail_err(t, &err);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return fail(t, SYNC_E_NOTFOUND, "target table \"%s\" does not exist (stream %s)", t->name,
                    t->stream ? t->stream : "?");
    }
    snprintf(x->oid, sizeof(x->oid), "%s", PQgetvalue(res, 0, 0));
    x->nspname = strdup(PQgetvalue(res, 0, 1));
    x->relname = strdup(PQgetvalue(res, 0, 2));
    char kind = PQgetvalue(res, 0, 3)[0];
    PQclear(res);
    if (!x->nspname || !x->relname)
        return SYNC_E_NOMEM;
    if (kind != 'r' && kind != 'p')
        return fail(t, SYNC_E_SCHEMA, "target \"%s\" is not a table (relkind %c)", t->name, kind);

    const char *p2[] = {x->oid};
    res = pgs_exec(c,
                   "SELECT a.attnum, a.attname,"
                   /* staging holds a domain's base type: a NOT NULL domain must not refuse the
                    * empty non-key columns of a delete; the target checks the domain itself */
                   "  CASE WHEN t.typtype = 'd' THEN pg_catalog.format_type(t.typbasetype, t.typtypmod)"
                   "   ELSE pg_catalog.format_type(a.atttypid, a.atttypmod) END,"
                   "  CASE WHEN t.typtype = 'd' THEN bt.typname ELSE t.typname END,"
                   "  t.typcategory = 'A', et.typname,"
                   "  a.attgenerated <> '', a.attidentity = 'a'"
                   " FROM pg_catalog.pg_attribute a"
                   " JOIN pg_catalog.pg_type t ON t.oid = a.atttypid"
                   " LEFT JOIN pg_catalog.pg_type bt ON bt.oid = t.typbasetype"
                   " LEFT JOIN pg_catalog.pg_type et ON et.oid = t.typelem"
                   " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped"
                   " ORDER BY a.attnum",
                   1, p2, NULL, &err);
    if (!res)
        return fail_err(t, &err);
    size_t n = (size_t)PQntuples(res);
    x->cols = calloc(n ? n : 1, sizeof(*x->cols));
    if (!x->cols) {
        PQclear(res);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        tcol *col = &x->cols[x->n_cols++];
        col->attnum = atoi(PQgetvalue(res, (int)i, 0));
        col->attname = strdup(PQgetvalue(res, (int)i, 1));
        col->type = strdup(PQgetvalue(res, (int)i, 2));
        int is_array = PQgetvalue(res, (int)i, 4)[0] == 't';
        col->cmp_as = pgs_cmp_for_type(is_array ? PQgetvalue(res, (int)i, 5) : PQgetvalue(res, (int)i, 3));
        if (is_array && col->cmp_as != PGS_CMP_PLAIN)
            col->cmp_as = PGS_CMP_TEXT; /* json[] has no equality and no jsonb[] cast */
        col->generated = PQgetvalue(res, (int)i, 6)[0] == 't';
        col->identity_always = PQgetvalue(res, (int)i, 7)[0] == 't';
        col->mapped = -1;
        if (!col->attname || !col->type) {
            PQclear(res);
            return SYNC_E_NOMEM;
        }
    }
    PQclear(res);

    /* Unique indexes usable as ON CONFLICT arbiters: valid, not partial, no expressions. */
    res = pgs_exec(c,
                   "SELECT ic.relname, i.indisprimary, i.indnkeyatts, i.indkey::text"
                   " FROM pg_catalog.pg_index i"
                   " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
                   " WHERE i.indrelid = $1::oid AND i.indisunique AND i.indisvalid"
                   "  AND i.indpred IS NULL AND i.indexprs IS NULL"
                   " ORDER BY NOT i.indisprimary, ic.relname",
                   1, p2, NULL, &err);
    if (!res)
        return fail_err(t, &err);
    n = (size_t)PQntuples(res);
    x->idx = calloc(n ? n : 1, sizeof(*x->idx));
    if (!x->idx) {
        PQclear(res);
        return SYNC_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        tindex *ix = &x->idx[x->n_idx++];
        int nkey = atoi(PQgetvalue(res, (int)i, 2));
        ix->name = strdup(PQgetvalue(res, (int)i, 0));
        ix->primary = PQgetvalue(res, (int)i, 1)[0] == 't';
        ix->attnums = calloc((size_t)(nkey > 0 ? nkey : 1), sizeof(int));
        if (!ix->name || !ix->attnums) {
            PQclear(res);
            return SYNC_E_NOMEM;
        }
        const char *p = PQgetvalue(res, (int)i, 3);
        for (int k = 0; k < nkey && *p; k++) {
            char *end;
            ix->attnums[ix->n++] = (int)strtol(p, &end, 10);
            p = end;
        }
    }
    PQclear(res);
    return SYNC_OK;
}

static long tcol_by_attnum(const intro *x, int attnum)
{
    for (size_t i = 0; i < x->n_cols; i++)
        if (x->cols[i].attnum == attnum)
            return (long)i;
    return -1;
}

/* True if every column of the index is mapped. */
static int index_mapped(const intro *x, const tindex *ix)
{
    for (size_t k = 0; k < ix->n; k++) {
        long c = tcol_by_attnum(x, ix->attnums[k]);
        if (c < 0 || x->cols[c].mapped < 0)
            return 0;
    }
    return ix->n > 0;
}

/* Writes "a, b" (column names of an index) into buf. */
static void index_cols(const intro *x, const tindex *ix, char *buf, size_t size)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t k = 0; k < ix->n && o < size; k++) {
        long c = tcol_by_attnum(x, ix->attnums[k]);
        o += (size_t)snprintf(buf + o, size - o, "%s%s", k ? ", " : "", c >= 0 ? x->cols[c].attname : "?");
    }
}

/* Decides the conflict key; marks key columns in key[] (indexed by target column). */
static int choose_key(pgs_target *t, const sync_target *st, intro *x, int *key)
{
    size_t n_opt = pgs_opt_count(st->options, "conflict_key");
    int any_is_key = 0;
    for (size_t i = 0; i < st->n_columns; i++)
        any_is_key |= st->columns[i].is_key;

    if (n_opt) {
        for (size_t k = 0; k < n_opt; k++) {
            const char *name = pgs_opt_item(st->options, "conflict_key", k);
            long c = find_tcol(x, name);
            if (c < 0)
                return fail(t, SYNC_E_SCHEMA, "conflict key column \"%s\" %s in table %s.%s (%s)", name,
                            c == -2 ? "is ambiguous" : "does not exist", x->nspname, x->relname,
                            pgs_host->config_where(st->options, "conflict_key"));
            if (x->cols[c].mapped < 0)
                return fail(t, SYNC_E_SCHEMA,
                            "conflict key column \"%s\" of table %s.%s is not mapped (%s)",
                            x->cols[c].attname, x->nspname, x->relname,
                            pgs_host->config_where(st->options, "conflict_key"));
            key[x->cols[c].mapped] = 1;
        }
    } else if (any_is_key) {
        for (size_t i = 0; i < st->n_columns; i++)
            key[i] = st->columns[i].is_key;
    } else {
        /* the primary key when fully mapped, else the only fully mapped unique index */
        const tindex *pick = NULL;
        size_t candidates = 0;
        for (size_t i = 0; i < x->n_idx; i++) {
            if (!index_mapped(x, &x->idx[i]))
                continue;
            if (x->idx[i].primary) {
                pick = &x->idx[i];
                candidates = 1;
                break;
            }
            if (!pick)
                pick = &x->idx[i];
            candidates++;
        }
        if (!pick)
            return fail(t, SYNC_E_SCHEMA,
                        "table %s.%s has no primary key or unique index whose columns are all mapped; "
                        "map them or set sink.conflict_key",
                        x->nspname, x->relname);
        if (candidates > 1)
            return fail(t, SYNC_E_SCHEMA,
                        "table %s.%s has several unique indexes whose columns are all mapped; "
                        "choose one with sink.conflict_key",
                        x->nspname, x->relname);
        for (size_t k = 0; k < pick->n; k++)
            key[x->cols[tcol_by_attnum(x, pick->attnums[k])].mapped] = 1;
    }

    /* ON CONFLICT (cols) needs a unique index on exactly that set of columns */
    size_t n_key = 0;
    for (size_t i = 0; i < st->n_columns; i++)
        n_key += key[i] != 0;
    for (size_t i = 0; i < x->n_idx; i++) {
        const tindex *ix = &x->idx[i];
        if (ix->n != n_key)
            continue;
        size_t hits = 0;
        for (size_t k = 0; k < ix->n; k++) {
            long c = tcol_by_attnum(x, ix->attnums[k]);
            if (c >= 0 && x->cols[c].mapped >= 0 && key[x->cols[c].mapped])
                hits++;
        }
        if (hits == n_key)
            return SYNC_OK;
    }
    char names[400];
    size_t o = 0;
    names[0] = '\0';
    for (size_t i = 0; i < st->n_columns && o < sizeof(names); i++)
        if (key[i])
            o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "",
                                  t->cols[i].attname);
    char have[400] = "none";
    o = 0;
    for (size_t i = 0; i < x->n_idx && o < sizeof(have); i++) {
        char cols[200];
        index_cols(x, &x->idx[i], cols, sizeof(cols));
        o += (size_t)snprintf(have + o, sizeof(have) - o, "%s%s (%s)", o ? ", " : "", x->idx[i].name, cols);
    }
    return fail(t, SYNC_E_SCHEMA,
                "conflict key (%s) of table %s.%s has no matching unique index or constraint "
                "(unique indexes: %s)",
                names, x->nspname, x->relname, have);
}

static int soft_delete_setup(pgs_target *t, const sync_target *st, intro *x)
{
    size_t n = pgs_opt_count(st->options, "soft_delete_set");
    if (t->delete_mode != PGS_DELETE_SOFT)
        return SYNC_OK;
    if (n == 0)
        return fail(t, SYNC_E_CONFIG,
                    "sink.delete_mode = soft needs sink.soft_delete_set (e.g. sync_status=deleted) "
                    "for table %s.%s (%s)",
                    x->nspname, x->relname, pgs_host->config_where(st->options, "delete_mode"));
    t->soft_cols = calloc(n, sizeof(char *));
    t->soft_vals = calloc(n, sizeof(char *));
    t->soft_cmp = calloc(n, sizeof(int));
    if (!t->soft_cols || !t->soft_vals || !t->soft_cmp)
        return SYNC_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *item = pgs_opt_item(st->options, "soft_delete_set", i);
        char *l, *r;
        if (pgs_split_assign(item, &l, &r) < 0)
            return fail(t, SYNC_E_CONFIG, "sink.soft_delete_set item \"%s\" is not column=value (%s)",
                        item, pgs_host->config_where(st->options, "soft_delete_set"));
        long c = find_tcol(x, l);
        if (c < 0) {
            int rc = fail(t, SYNC_E_SCHEMA, "sink.soft_delete_set column \"%s\" does not exist in table %s.%s (%s)",
                          l, x->nspname, x->relname, pgs_host->config_where(st->options, "soft_delete_set"));
            free(l);
            free(r);
            return rc;
        }
        free(l);
        t->soft_cols[t->n_soft] = strdup(x->cols[c].attname);
        t->soft_vals[t->n_soft] = r;
        t->soft_cmp[t->n_soft] = x->cols[c].cmp_as;
        t->n_soft++;
        if (!t->soft_cols[t->n_soft - 1])
            return SYNC_E_NOMEM;
    }
    return SYNC_OK;
}

/* affected_actions and affected_columns: what sync_affected lists for the hooks. */
static int affected_setup(pgs_target *t, const sync_target *st, const intro *x)
{
    static const char *const actions[] = {"inserted", "updated", "unchanged", "deleted"};
    int *flags[] = {&t->aff.inserted, &t->aff.updated, &t->aff.unchanged, &t->aff.deleted};
    size_t n_act = pgs_opt_count(st->options, "affected_actions");
    for (size_t a = 0; a < 4; a++)
        *flags[a] = n_act == 0; /* by default every action */
    for (size_t k = 0; k < n_act; k++) {
        const char *item = pgs_opt_item(st->options, "affected_actions", k);
        size_t a = 0;
        while (a < 4 && strcmp(item, actions[a]) != 0)
            a++;
        if (a == 4)
            return fail(t, SYNC_E_CONFIG,
                        "sink.affected_actions: \"%s\" is not one of inserted, updated, unchanged, deleted (%s)",
                        item, pgs_host->config_where(st->options, "affected_actions"));
        *flags[a] = 1;
    }
    size_t n_extra = pgs_opt_count(st->options, "affected_columns");
    t->aff_extra = calloc(n_extra ? n_extra : 1, sizeof(*t->aff_extra));
    if (!t->aff_extra)
        return SYNC_E_NOMEM;
    const char *where = pgs_host->config_where(st->options, "affected_columns");
    for (size_t k = 0; k < n_extra; k++) {
        const char *name = pgs_opt_item(st->options, "affected_columns", k);
        long c = find_tcol(x, name);
        if (c < 0)
            return fail(t, SYNC_E_SCHEMA, "sink.affected_columns column \"%s\" does not exist in table %s (%s)",
                        name, t->display, where);
        const char *att = x->cols[c].attname;
        int clash = strcmp(att, "action") == 0;
        for (size_t i = 0; i < t->n_keys && !clash; i++)
            clash = strcmp(t->cols[t->key_idx[i]].attname, att) == 0;
        for (size_t i = 0; i < t->n_aff_extra && !clash; i++)
            clash = strcmp(t->aff_extra[i].attname, att) == 0;
        if (clash)
            return fail(t, SYNC_E_CONFIG,
                        "sink.affected_columns column \"%s\" is listed already (a conflict key column, "
                        "\"action\" or a repeat) (%s)", att, where);
        pgs_sqlcol *e = &t->aff_extra[t->n_aff_extra++];
        e->attname = strdup(att); /* the catalog's description x goes when prepare returns */
        e->type = strdup(x->cols[c].type);
        if (!e->attname || !e->type)
            return SYNC_E_NOMEM;
    }
    t->aff.extra = t->aff_extra;
    t->aff.n_extra = t->n_aff_extra;
    return SYNC_OK;
}

static int build_sql(pgs_target *t)
{
    char stage[48];
    snprintf(stage, sizeof(stage), "sync_stage_%zu", t->index);
    const pgs_affected *aff = t->n_after_batch > 0 ? &t->aff : NULL;
    const pgs_sqlcol *c = t->sqlcols;
    size_t n = t->n_cols;
    t->sql_stage_create = pgs_sql_stage_create(stage, c, n);
    t->sql_copy = pgs_sql_copy(stage, c, n);
    t->sql_dedupe = pgs_sql_dedupe(stage, c, n);
    t->sql_upsert = pgs_sql_upsert(t->table_q, stage, c, n, aff, 0);
    t->sql_upsert_pre = pgs_sql_upsert(t->table_q, stage, c, n, aff, 1);
    if (t->delete_mode == PGS_DELETE_HARD)
        t->sql_delete = pgs_sql_delete_hard(t->table_q, stage, c, n, aff);
    else if (t->delete_mode == PGS_DELETE_SOFT)
        t->sql_delete = pgs_sql_delete_soft(t->table_q, stage, c, n, (const char *const *)t->soft_cols,
                                            t->soft_cmp, t->n_soft, aff);
    t->sql_affected_create = pgs_sql_affected_create(c, n, aff);
    t->sql_affected_unchanged = pgs_sql_affected_unchanged(t->table_q, stage, c, n, aff);
    int trim = pgs_affected_needs_trim(aff);
    t->sql_affected_trim = trim ? pgs_sql_affected_trim(aff) : NULL;
    pgs_buf b;
    pgs_buf_init(&b);
    pgs_buf_puts(&b, "DELETE FROM pg_temp.");
    pgs_quote_ident(&b, stage);
    pgs_buf_puts(&b, " WHERE \"" PGS_SEQ_COL "\" = $1::bigint");
    t->sql_unstage = pgs_buf_take(&b);
    if (!t->sql_stage_create || !t->sql_copy || !t->sql_dedupe || !t->sql_upsert || !t->sql_upsert_pre ||
        (t->delete_mode != PGS_DELETE_IGNORE && !t->sql_delete) || !t->sql_affected_create ||
        !t->sql_affected_unchanged || !t->sql_unstage || (trim && !t->sql_affected_trim))
        return SYNC_E_NOMEM;
    return SYNC_OK;
}

int pgs_target_prepare(pgs_instance *in, const sync_target *st, pgs_target **out)
{
    pgs_err err;
    intro x;
    memset(&x, 0, sizeof(x));
    *out = NULL;
    pgs_target *t = calloc(1, sizeof(*t));
    if (!t)
        return SYNC_E_NOMEM;
    t->inst = in;
    t->index = in->n_targets;
    t->options = st->options;
    t->job = strdup(st->job ? st->job : "");
    t->stream = strdup(st->stream ? st->stream : "");
    t->name = strdup(st->name ? st->name : "");
    if (!t->job || !t->stream || !t->name) {
        pgs_target_free(t);
        return SYNC_E_NOMEM;
    }
    int rc = SYNC_OK;
    int *key = NULL;
    if (!*t->name || st->n_columns == 0) {
        rc = fail(t, SYNC_E_SCHEMA, "stream %s: %s", t->stream,
                  *t->name ? "no mapped columns (the postgres sink needs a [map] section naming the columns)"
                           : "no target table");
        goto done;
    }
    rc = pgs_session_ready(in, &err);
    if (rc != SYNC_OK) {
        rc = pgs_fail(in->ctx, &err);
        goto done;
    }
    if ((rc = load_catalog(t, &x)) != SYNC_OK)
        goto done;

    pgs_buf b;
    pgs_buf_init(&b);
    pgs_quote_ident(&b, x.nspname);
    pgs_buf_puts(&b, ".");
    pgs_quote_ident(&b, x.relname);
    t->table_q = pgs_buf_take(&b);
    t->display = malloc(strlen(x.nspname) + strlen(x.relname) + 2);
    t->cols = calloc(st->n_columns, sizeof(*t->cols));
    t->sqlcols = calloc(st->n_columns, sizeof(*t->sqlcols));
    key = calloc(st->n_columns, sizeof(int));
    if (!t->table_q || !t->display || !t->cols || !t->sqlcols || !key) {
        rc = SYNC_E_NOMEM;
        goto done;
    }
    sprintf(t->display, "%s.%s", x.nspname, x.relname);

    /* every mapped column must exist and be writable */
    for (size_t i = 0; i < st->n_columns; i++) {
        const char *name = st->columns[i].name;
        long c = find_tcol(&x, name);
        if (c < 0) {
            rc = fail(t, SYNC_E_SCHEMA, "column \"%s\" of table %s %s (stream %s)", name, t->display,
                      c == -2 ? "is ambiguous: several columns differ only in case" : "does not exist",
                      t->stream);
            goto done;
        }
        if (x.cols[c].mapped >= 0) {
            rc = fail(t, SYNC_E_SCHEMA, "column \"%s\" of table %s is mapped twice (stream %s)",
                      x.cols[c].attname, t->display, t->stream);
            goto done;
        }
        if (x.cols[c].generated || x.cols[c].identity_always) {
            rc = fail(t, SYNC_E_SCHEMA, "column \"%s\" of table %s is %s and cannot be written",
                      x.cols[c].attname, t->display,
                      x.cols[c].generated ? "generated" : "an identity column (GENERATED ALWAYS)");
            goto done;
        }
        if (strcmp(x.cols[c].attname, PGS_SEQ_COL) == 0 || strcmp(x.cols[c].attname, PGS_OP_COL) == 0) {
            rc = fail(t, SYNC_E_SCHEMA, "column \"%s\" of table %s clashes with the sink's staging columns",
                      x.cols[c].attname, t->display);
            goto done;
        }
        x.cols[c].mapped = (long)i;
        t->cols[i].name = strdup(name);
        t->cols[i].attname = strdup(x.cols[c].attname);
        t->cols[i].type = strdup(x.cols[c].type);
        t->n_cols++;
        if (!t->cols[i].name || !t->cols[i].attname || !t->cols[i].type) {
            rc = SYNC_E_NOMEM;
            goto done;
        }
        t->sqlcols[i].attname = t->cols[i].attname;
        t->sqlcols[i].type = t->cols[i].type;
        t->sqlcols[i].compare = 1;
        t->sqlcols[i].cmp_as = x.cols[c].cmp_as;
    }

    if ((rc = choose_key(t, st, &x, key)) != SYNC_OK)
        goto done;
    t->key_idx = calloc(st->n_columns, sizeof(size_t));
    if (!t->key_idx) {
        rc = SYNC_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < t->n_cols; i++) {
        t->sqlcols[i].is_key = key[i];
        if (key[i])
            t->key_idx[t->n_keys++] = i;
    }

    for (size_t k = 0; k < pgs_opt_count(st->options, "compare_exclude"); k++) {
        const char *name = pgs_opt_item(st->options, "compare_exclude", k);
        long c = find_tcol(&x, name);
        if (c < 0) {
            rc = fail(t, SYNC_E_SCHEMA, "sink.compare_exclude column \"%s\" does not exist in table %s (%s)",
                      name, t->display, pgs_host->config_where(st->options, "compare_exclude"));
            goto done;
        }
        if (x.cols[c].mapped >= 0)
            t->sqlcols[x.cols[c].mapped].compare = 0;
    }

    const char *mode = pgs_opt_string(st->options, "delete_mode");
    t->delete_mode = !mode || strcmp(mode, "ignore") == 0 ? PGS_DELETE_IGNORE
                     : strcmp(mode, "soft") == 0          ? PGS_DELETE_SOFT
                                                          : PGS_DELETE_HARD;
    if ((rc = soft_delete_setup(t, st, &x)) != SYNC_OK)
        goto done;
    t->n_after_batch = pgs_opt_count(st->options, "after_batch_sql");
    if ((rc = affected_setup(t, st, &x)) != SYNC_OK)
        goto done;
    if (t->n_after_batch) {
        for (size_t i = 0; i < t->n_keys; i++) {
            if (strcmp(t->cols[t->key_idx[i]].attname, "action") == 0) {
                rc = fail(t, SYNC_E_SCHEMA, "key column \"action\" of table %s clashes with sync_affected.action",
                          t->display);
                goto done;
            }
        }
    }
    rc = build_sql(t);
    if (rc == SYNC_OK) {
        pgs_host->log(in->ctx, SYNC_LOG_DEBUG, "target %s: %zu columns, conflict key of %zu, deletes %s",
                      t->display, t->n_cols, t->n_keys,
                      t->delete_mode == PGS_DELETE_HARD ? "hard" : t->delete_mode == PGS_DELETE_SOFT ? "soft" : "ignored");
    }

done:
    free(key);
    intro_free(&x);
    if (rc != SYNC_OK) {
        pgs_target_free(t);
        return rc;
    }
    *out = t;
    return SYNC_OK;
}

void pgs_target_free(pgs_target *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_cols; i++) {
        free(t->cols[i].name);
        free(t->cols[i].attname);
        free(t->cols[i].type);
    }
    free(t->cols);
    free(t->sqlcols);
    free(t->key_idx);
    for (size_t i = 0; i < t->n_soft; i++) {
        free(t->soft_cols[i]);
        free(t->soft_vals[i]);
    }
    free(t->soft_cols);
    free(t->soft_vals);
    free(t->soft_cmp);
    free(t->job);
    free(t->stream);
    free(t->name);
    free(t->table_q);
    free(t->display);
    free(t->sql_stage_create);
    free(t->sql_copy);
    free(t->sql_dedupe);
    free(t->sql_upsert);
    free(t->sql_upsert_pre);
    free(t->sql_delete);
    free(t->sql_affected_create);
    free(t->sql_affected_unchanged);
    free(t->sql_affected_trim);
    for (size_t i = 0; i < t->n_aff_extra; i++) {
        free((char *)t->aff_extra[i].attname);
        free((char *)t->aff_extra[i].type);
    }
    free(t->aff_extra);
    free(t->sql_unstage);
    /* the full-refresh sweep's (pgs_purge.c) */
    free(t->seen_q);
    free(t->purge_run);
    free(t->purge_scope);
    free(t->sql_seen);
    free(t);
}

int pgs_target_keep(pgs_instance *in, pgs_target *t)
{
    struct pgs_target **grown = realloc(in->targets, (in->n_targets + 1) * sizeof(*grown));
    if (!grown)
        return SYNC_E_NOMEM;
    in->targets = grown;
    in->targets[in->n_targets++] = t;
    return SYNC_OK;
}

void pgs_target_free_all(pgs_instance *in)
{
    for (size_t i = 0; i < in->n_targets; i++)
        pgs_target_free(in->targets[i]);
    free(in->targets);
    in->targets = NULL;
    in->n_targets = 0;
}
