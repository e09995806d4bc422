/*
 * core/mapping.c - compiles a [map] section and applies it to records.
 *
 * Compilation parses every column's expression (expr_parse.c), rejects
 * duplicate columns, and lays out what evaluation needs so that the per
 * record path allocates nothing: the field slots with their position hints,
 * one argument-value array shared by all call nodes, a scratch buffer, and
 * the column names interned in the output batch (re-interned only when the
 * output batch changes or starts over).
 */
#include "mapping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "expr_ast.h"
#include "record.h"

/* Evaluation state: changes on every call, hence apart from the compiled form. */
typedef struct map_state {
    syncc_xeval ev;
    const sync_batch *names_batch;   /* batch the column names were interned in */
    const char **interned;
} map_state;

struct syncc_mapping {
    size_t n;
    char **columns;
    syncc_xnode **exprs;
    syncc_xslots slots;
    map_state *st;
};

void syncc_mapping_free(syncc_mapping *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->columns[i]);
        syncc_xnode_free(m->exprs[i]);
    }
    free(m->columns);
    free(m->exprs);
    for (size_t i = 0; i < m->slots.n; i++)
        free(m->slots.v[i].path);
    free(m->slots.v);
    if (m->st != NULL) {
        syncc_xscratch_free(&m->st->ev.scratch);
        free(m->st->ev.vals);
        free(m->st->interned);
        free(m->st);
    }
    free(m);
}

/* Line and column of byte offset pos of an expression that starts at line:col. */
static void locate(const syncc_map_src *e, size_t pos, int *line, int *col)
{
    *line = e->line;
    *col = (e->col > 0 ? e->col : 1);
    size_t len = strlen(e->expr);
    if (pos > len)
        pos = len;
    for (size_t i = 0; i < pos; i++) {
        if (e->expr[i] == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

static syncc_mapping *fail_at(syncc_mapping *m, const syncc_map_src *e, size_t pos, char *err, size_t errlen,
                              const char *msg)
{
    int line, col;
    locate(e, pos, &line, &col);
    snprintf(err, errlen, "%s:%d:%d: column '%s': %s", e->file ? e->file : "mapping", line, col,
             e->column ? e->column : "", msg);
    syncc_mapping_free(m);
    return NULL;
}

syncc_mapping *syncc_mapping_compile(const syncc_map_src *entries, size_t n, char *err, size_t errlen)
{
    char msg[512];
    syncc_mapping *m = calloc(1, sizeof(*m));
    if (m == NULL || (m->st = calloc(1, sizeof(*m->st))) == NULL ||
        (m->columns = calloc(n + 1, sizeof(*m->columns))) == NULL ||
        (m->exprs = calloc(n + 1, sizeof(*m->exprs))) == NULL ||
        (m->st->interned = calloc(n + 1, sizeof(*m->st->interned))) == NULL) {
        snprintf(err, errlen, "out of memory");
        syncc_mapping_free(m);
        return NULL;
    }
    size_t nvals = 0;
    for (size_t i = 0; i < n; i++) {
        const syncc_map_src *e = &entries[i];
        if (e->column == NULL || e->column[0] == '\0')
            return fail_at(m, e, 0, err, errlen, "empty column name");
        if (e->expr == NULL)
            return fail_at(m, e, 0, err, errlen, "missing expression");
        for (size_t j = 0; j < i; j++) {
            if (strcmp(m->columns[j], e->column) == 0) {
                snprintf(msg, sizeof(msg), "column is mapped twice (first at %s:%d)",
                         entries[j].file ? entries[j].file : "mapping", entries[j].line);
                return fail_at(m, e, 0, err, errlen, msg);
            }
        }
        size_t pos = 0;
        syncc_xnode *x = syncc_xparse(e->expr, e->vars, &m->slots, msg, sizeof(msg), &pos);
        if (x == NULL)
            return fail_at(m, e, pos, err, errlen, msg);
        m->exprs[m->n] = x;
        if ((m->columns[m->n] = strdup(e->column)) == NULL) {
            m->n++;
            return fail_at(m, e, 0, err, errlen, "out of memory");
        }
        m->n++;
        nvals = syncc_xassign_vals(x, nvals);
    }
    if ((m->st->ev.vals = calloc(nvals + 1, sizeof(sync_value))) == NULL) {
        snprintf(err, errlen, "out of memory");
        syncc_mapping_free(m);
        return NULL;
    }
    m->st->ev.slots = m->slots.v;
    return m;
}

void syncc_mapping_set_now(syncc_mapping *m, int64_t usec)
{
    m->st->ev.now = usec;
}

void syncc_mapping_set_strict(syncc_mapping *m, int strict)
{
    m->st->ev.strict = strict != 0;
}

size_t syncc_mapping_n_columns(const syncc_mapping *m)
{
    return m->n;
}

const char *syncc_mapping_column(const syncc_mapping *m, size_t i)
{
    return i < m->n ? m->columns[i] : NULL;
}

sync_type syncc_mapping_column_type(const syncc_mapping *m, size_t i)
{
    if (i >= m->n || m->exprs[i]->type == SYNCC_XT_ANY)
        return SYNC_TYPE_NULL;
    return (sync_type)m->exprs[i]->type;
}

size_t syncc_mapping_n_fields(const syncc_mapping *m)
{
    return m->slots.n;
}

const char *syncc_mapping_field(const syncc_mapping *m, size_t i)
{
    return i < m->slots.n ? m->slots.v[i].path : NULL;
}

static int intern_columns(const syncc_mapping *m, sync_batch *b)
{
    map_state *st = m->st;
    for (size_t i = 0; i < m->n; i++) {
        st->interned[i] = syncc_batch_intern(b, m->columns[i], strlen(m->columns[i]));
        if (st->interned[i] == NULL) {
            st->names_batch = NULL;
            return SYNC_E_NOMEM;
        }
    }
    st->names_batch = b;
    return SYNC_OK;
}

int syncc_mapping_eval(const syncc_mapping *m, const sync_record *in, sync_record *out, char *err,
                       size_t errlen)
{
    map_state *st = m->st;
    sync_batch *b = out->batch;
    /* A reset batch forgets its names: re-intern when the batch is another one,
     * or when out is its first record (the batch may have been reset since). */
    if (b != st->names_batch || b->n_names < m->n || (b->n_records > 0 && b->records[0] == out)) {
        if (intern_columns(m, b) != SYNC_OK) {
            snprintf(err, errlen, "out of memory");
            return SYNC_E_NOMEM;
        }
    }
    st->ev.in = in;
    st->ev.serial++;
    uint32_t had = out->n_fields;
    int rc = SYNC_OK;
    for (size_t i = 0; i < m->n; i++) {
        sync_value v;
        if (syncc_xeval_node(&st->ev, m->exprs[i], &v) != 0) {
            snprintf(err, errlen, "column '%s': %s", m->columns[i], st->ev.err);
            rc = SYNC_E_DATA;
            break;
        }
        if ((rc = syncc_record_append_interned(out, st->interned[i], &v)) != SYNC_OK) {
            snprintf(err, errlen, "column '%s': out of memory", m->columns[i]);
            break;
        }
    }
    if (rc != SYNC_OK)
        out->n_fields = had; /* no half-mapped records */
    syncc_xscratch_reset(&st->ev.scratch);
    st->ev.in = NULL;
    return rc;
}
