/*
 * sf_convert.h - record values into Salesforce field values (the sink), and
 * what a field accepts (its type, length, picklist), so that a value that
 * cannot fit is rejected before the call with its field and reason, and
 * check --connect refuses what can never fit.
 *
 * Writing (record type -> field type; anything else is rejected):
 *   null, ''         -> null (clears the field on an update: the REST form of
 *                       fieldsToNull; a field not mapped is left alone)
 *   text fields      <- string (at most `length` characters), integer, float,
 *                       bool ("true"/"false"), timestamp (UTC, ...Z), date, json text
 *   picklist         <- string; with restrictedPicklist one of the active values
 *   multipicklist    <- string "a;b" (blanks around values dropped) or a JSON
 *                       array of strings; with restrictedPicklist each value listed
 *   boolean          <- bool, integer 0/1, string true/false/t/f/yes/no/1/0
 *   int              <- integer, integral float, string of an integer
 *   double, currency, percent <- integer, float, numeric string
 *   date             <- date, timestamp (its UTC day), "YYYY-MM-DD", an ISO
 *                       datetime string (its UTC day)
 *   datetime         <- timestamp, date (midnight UTC), ISO 8601 string with a
 *                       zone or offset (converted to UTC); written as
 *                       "YYYY-MM-DDTHH:MM:SS.sssZ"
 */
#ifndef SF_CONVERT_H
#define SF_CONVERT_H

#include <jansson.h>

#include "sf_describe.h"

/* What a field accepts, copied from its describe (it outlives the describe cache). */
typedef struct sf_fit {
    sf_ftype type;
    int multi;          /* multipicklist */
    int picklist_kind;  /* picklist or multipicklist */
    long length;        /* characters, text fields; 0: unknown */
    int restricted;
    char **values;      /* active picklist values */
    size_t n_values;
} sf_fit;

SF_HIDDEN int sf_fit_from(sf_fit *fit, const sf_field_desc *f);
SF_HIDDEN void sf_fit_free(sf_fit *fit);

/*
 * The JSON value of v for a field that accepts fit.  NULL with why filled
 * when the value cannot be one of that field (a record to reject).
 */
SF_HIDDEN json_t *sf_value_json(const sf_fit *fit, const sync_value *v, char *why, size_t why_size);

/* Whether values of a mapped column of static type t can ever be written to the field (t NULL: varies). */
SF_HIDDEN int sf_type_converts(sync_type t, const sf_fit *fit);

/* Whether text (a constant of the mapping) fits; why filled when not. */
SF_HIDDEN int sf_text_fits(const sf_fit *fit, const char *text, char *why, size_t why_size);

#endif /* SF_CONVERT_H */
