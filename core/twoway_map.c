/*
 * core/twoway_map.c - parses the arrows of a two-way job's mapping (see
 * twoway_map.h for the syntax).
 */
#include "twoway_map.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void syncc_tw_map_free(syncc_tw_stream *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_cols; i++) {
        free(m->cols[i].column);
        free(m->cols[i].sf_field);
        free(m->cols[i].via);
    }
    free(m->cols);
    free(m->fields);
    free(m->sf_fields);
    free(m);
}

/* A Salesforce field name: letters, digits, underscores, starting with a letter. */
static size_t ident_len(const char *p)
{
    size_t n = 0;
    if (!isalpha((unsigned char)p[0]))
        return 0;
    while (isalnum((unsigned char)p[n]) || p[n] == '_')
        n++;
    return n;
}

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static int add_sf_field(syncc_tw_stream *m, const char *f)
{
    for (size_t i = 0; i < m->n_sf_fields; i++)
        if (strcmp(m->sf_fields[i], f) == 0)
            return 0;
    m->sf_fields[m->n_sf_fields++] = f;
    return 0;
}

syncc_tw_stream *syncc_tw_map_parse(const syncc_job *job, size_t s, char *err, size_t errlen)
{
    const syncc_stream *st = &job->streams[s];
    syncc_tw_stream *m = calloc(1, sizeof(*m));

    if (m == NULL)
        goto nomem;
    m->match_col = (size_t)-1;
    if (st->map == NULL || st->n_map == 0) {
        snprintf(err, errlen, "%s:%d: [stream %s.%s]: a stream of a two-way job needs a [map %s.%s] section",
                 st->section->file, st->section->line, job->name, st->name, job->name, st->name);
        goto fail;
    }
    m->cols = calloc(st->n_map, sizeof(*m->cols));
    m->fields = calloc(st->n_map, sizeof(*m->fields));
    m->sf_fields = calloc(st->n_map + 3, sizeof(*m->sf_fields));
    if (!m->cols || !m->fields || !m->sf_fields)
        goto nomem;
    m->sf_fields[m->n_sf_fields++] = "Id";
    m->sf_fields[m->n_sf_fields++] = "SystemModstamp";
    for (size_t i = 0; i < st->n_map; i++) {
        const syncc_map_entry *me = &st->map[i];
        const char *p = skip_blank(me->expr);
        syncc_tw_col *c = &m->cols[m->n_cols];
        size_t n;

        if (strncmp(p, "<->", 3) == 0) {
            c->dir = SYNCC_TW_BOTH;
            p += 3;
        } else if (strncmp(p, "<-", 2) == 0) {
            c->dir = SYNCC_TW_PULL;
            p += 2;
        } else if (strncmp(p, "->", 2) == 0) {
            c->dir = SYNCC_TW_PUSH;
            p += 2;
        } else {
            snprintf(err, errlen, "%s:%d:%d: column '%s': a two-way job maps with arrows: '%s = <-> Field' (both "
                     "ways), '<- Field' (pulled only) or '-> Field' (pushed only)", me->file, me->line, me->col,
                     me->column, me->column);
            goto fail;
        }
        p = skip_blank(p);
        n = ident_len(p);
        if (n == 0) {
            snprintf(err, errlen, "%s:%d:%d: column '%s': expected a Salesforce field name after the arrow",
                     me->file, me->line, me->col, me->column);
            goto fail;
        }
        c->column = strdup(me->column);
        c->sf_field = strndup(p, n);
        m->n_cols++;
        if (!c->column || !c->sf_field)
            goto nomem;
        p = skip_blank(p + n);
        if (strncmp(p, "via", 3) == 0 && (p[3] == ' ' || p[3] == '\t')) {
            p = skip_blank(p + 3);
            n = ident_len(p);
            if (n == 0) {
                snprintf(err, errlen, "%s:%d:%d: column '%s': expected a stream name after 'via'", me->file,
                         me->line, me->col, me->column);
                goto fail;
            }
            c->via = strndup(p, n);
            if (!c->via)
                goto nomem;
            p = skip_blank(p + n);
            c->via_index = (size_t)-1;
            for (size_t k = 0; k < s; k++)
                if (strcmp(job->streams[k].name, c->via) == 0)
                    c->via_index = k;
            if (c->via_index == (size_t)-1) {
                snprintf(err, errlen, "%s:%d:%d: column '%s': 'via %s' must name a stream of job '%s' whose "
                         "[stream] section comes before this one (parents are synced first)", me->file, me->line,
                         me->col, me->column, c->via, job->name);
                goto fail;
            }
        }
        if (*p != '\0') {
            snprintf(err, errlen, "%s:%d:%d: column '%s': unexpected text after the field: '%s'", me->file,
                     me->line, me->col, me->column, p);
            goto fail;
        }
        if (strcmp(c->column, st->key) == 0) {
            snprintf(err, errlen, "%s:%d:%d: column '%s': the table's key is not mapped; it travels in the "
                     "stream's external_id field", me->file, me->line, me->col, me->column);
            goto fail;
        }
        m->fields[i].column = c->column;
        m->fields[i].dir = c->dir;
        add_sf_field(m, c->sf_field);
        if (st->match && strcmp(st->match, c->column) == 0)
            m->match_col = i;
    }
    if (st->external_id)
        add_sf_field(m, st->external_id);
    if (st->match && m->match_col == (size_t)-1) {
        snprintf(err, errlen, "%s:%d: [stream %s.%s]: option 'match': column '%s' is not mapped", st->section->file,
                 st->section->line, job->name, st->name, st->match);
        goto fail;
    }
    return m;
nomem:
    snprintf(err, errlen, "out of memory");
fail:
    syncc_tw_map_free(m);
    return NULL;
}
