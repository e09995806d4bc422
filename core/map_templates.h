/*
 * core/map_templates.h - the mapping templates shipped with the engine:
 * `[map JOB.STREAM] template = NAME` starts the section from a template's
 * lines, which the section's own lines override field by field.
 */
#ifndef SYNCC_MAP_TEMPLATES_H
#define SYNCC_MAP_TEMPLATES_H

#include <stddef.h>
#include <stdio.h>

#include "conf.h"

typedef struct syncc_map_template {
    const char *name;         /* "contact" */
    const char *object;       /* the Salesforce object written: "Contact" */
    const char *table;        /* the typical application table it reads */
    const char *description;  /* one sentence */
    const char *const *lines; /* "Column", "expression" pairs, NULL-terminated */
} syncc_map_template;

/* The templates, ending with a zeroed entry. */
const syncc_map_template *syncc_map_templates(void);
const syncc_map_template *syncc_map_template_find(const char *name);

/*
 * Fills st->map from the [map] section sec that has a template = NAME line:
 * the template's columns in its order (a line of sec with the same column,
 * case-insensitively, replaces the expression; one with an empty value drops
 * the column), then sec's other lines in their order.  -1 with a message
 * naming file:line in err.
 */
int syncc_map_template_apply(syncc_section *sec, syncc_stream *st, char *err, size_t errlen);

/* `syncengine templates [NAME]`: the list, or one template as a [map] section. */
int syncc_templates_command(FILE *out, const char *name);

#endif /* SYNCC_MAP_TEMPLATES_H */
