/*
 * sf_describe.h - what the connector knows about an sObject from its
 * describe: field names, types and relationships.  Each object is described
 * at most once per instance (one run); the result also validates the fields
 * a mapping asks for before any query is sent.
 */
#ifndef SF_DESCRIBE_H
#define SF_DESCRIBE_H

#include <stddef.h>

#include <jansson.h>

#include "sf_internal.h"

/* How a field's JSON value becomes a record value. */
typedef enum sf_ftype {
    SF_FT_STRING = 0,
    SF_FT_BOOL,
    SF_FT_INT,
    SF_FT_FLOAT,
    SF_FT_DATETIME,
    SF_FT_DATE,
    SF_FT_JSON,  /* compound fields (address, location): kept as JSON */
    SF_FT_AUTO   /* unknown (behind a polymorphic relationship): follow the JSON type */
} sf_ftype;

typedef struct sf_field_desc {
    char *name;
    char *sf_type;       /* "datetime", "reference", ... */
    sf_ftype type;
    char *rel_name;      /* relationshipName of a reference field, or NULL */
    char **refs;         /* referenceTo */
    size_t n_refs;
    int nillable;
    /* Write flags of the describe (the sink); write_known is 0 for a
     * description cached by an older version that did not keep them. */
    int write_known;
    int createable;
    int updateable;
    int external_id;
    int defaulted;       /* defaultedOnCreate: may be left out of a create */
} sf_field_desc;

typedef struct sf_object_desc {
    char *name;
    int queryable;
    sf_field_desc *fields;
    size_t n_fields;
    int from_state;  /* came from the describe cache of an earlier run */
} sf_object_desc;

/* Maps a Salesforce field type ("double", "datetime", ...) to sf_ftype. */
SF_HIDDEN sf_ftype sf_describe_map_type(const char *sf_type);
/* The sync_type a field of that kind carries (SYNC_TYPE_NULL for AUTO). */
SF_HIDDEN sync_type sf_describe_sync_type(sf_ftype t);

/* Builds a description from a describe JSON body.  SYNC_E_PROTOCOL if it is not one. */
SF_HIDDEN int sf_describe_parse(const json_t *root, sf_object_desc **out);
SF_HIDDEN void sf_describe_free(sf_object_desc *d);

/* Field by API name, case-insensitively (SOQL names are); NULL if none. */
SF_HIDDEN const sf_field_desc *sf_describe_field(const sf_object_desc *d, const char *name);
/* Reference field whose relationshipName is rel, case-insensitively; NULL if none. */
SF_HIDDEN const sf_field_desc *sf_describe_relationship(const sf_object_desc *d, const char *rel);

/*
 * Description of object, from the instance cache or fetched once.
 * SYNC_E_NOTFOUND (with a message) when the org has no such object.
 */
SF_HIDDEN int sf_describe_get(sf_instance *inst, const char *object, const sf_object_desc **out);
/* Puts an already parsed description in the cache (takes ownership). */
SF_HIDDEN int sf_describe_cache_put(sf_instance *inst, sf_object_desc *d);
SF_HIDDEN void sf_describe_cache_free(sf_instance *inst);

/* A field path resolved against the describes. */
typedef struct sf_resolved {
    char *canon;   /* canonical spelling, "Account.Name" (malloc'd) */
    sf_ftype type;
} sf_resolved;

/*
 * Resolves a field or relationship path ("Email", "Account.Owner.Name") on
 * object d: each hop but the last must be the relationshipName of a reference
 * field, the last a field of the referenced object (described on demand).
 * Behind a polymorphic relationship (several referenceTo), the rest of the
 * path is taken as written and typed SF_FT_AUTO.  SYNC_E_NOTFOUND with a
 * message naming object and field when something does not exist.
 */
SF_HIDDEN int sf_describe_resolve(sf_instance *inst, const sf_object_desc *d, const char *path,
                                  sf_resolved *out);

/*
 * Forgets every describe of this run, in memory and in the state store, so
 * the next sf_describe_get asks Salesforce again (a field the cache does not
 * know, or a query refused with INVALID_FIELD).
 */
SF_HIDDEN void sf_describe_forget(sf_instance *inst);

#endif /* SF_DESCRIBE_H */
