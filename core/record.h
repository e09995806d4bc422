/*
 * core/record.h - the engine's representation of normalized records.
 *
 * A batch owns an arena: every record, field array and string of the batch
 * lives in it, so a batch is freed (or reset for reuse) in one step and the
 * pipeline's memory stays flat however many records flow through.  Field
 * names are interned per batch, so two fields with the same name share one
 * pointer and lookups compare pointers first.
 *
 * These are the concrete types behind the opaque sync_record / sync_batch of
 * the public ABI.  Thread-safety: a batch is used by one thread at a time; the
 * pipeline hands whole batches between threads.
 */
#ifndef SYNCC_RECORD_H
#define SYNCC_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include <sync/host.h>

typedef struct syncc_arena_chunk syncc_arena_chunk;

typedef struct syncc_arena {
    syncc_arena_chunk *head;
    size_t used_total;
} syncc_arena;

void *syncc_arena_alloc(syncc_arena *a, size_t size);
char *syncc_arena_strndup(syncc_arena *a, const char *s, size_t len);
void syncc_arena_reset(syncc_arena *a);   /* keeps the first chunk */
void syncc_arena_free(syncc_arena *a);

typedef struct syncc_field {
    const char *name;   /* interned in the owning batch */
    sync_value value;
} syncc_field;

struct sync_record {
    sync_batch *batch;  /* owner */
    const char *key;
    const char *cursor;
    sync_op op;
    uint32_t n_fields, cap_fields;
    syncc_field *fields;
};

struct sync_batch {
    syncc_arena arena;
    sync_record **records;   /* malloc'ed array of pointers into the arena */
    size_t n_records, cap_records;
    /* interned field names: open addressing, power-of-two size */
    const char **names;
    size_t n_names, cap_names;
    char *cursor;            /* malloc'ed; safe position after this batch */
    const char *stream;      /* borrowed from the job; may be NULL */
};

sync_batch *syncc_batch_new(void);
void syncc_batch_free(sync_batch *b);
/* Empties the batch for reuse, keeping its memory. */
void syncc_batch_reset(sync_batch *b);
int syncc_batch_set_cursor(sync_batch *b, const char *cursor);

/* Interns a field name in the batch; NULL on out-of-memory. */
const char *syncc_batch_intern(sync_batch *b, const char *name, size_t len);

/* Appends a new, empty record; NULL on out-of-memory. key may be NULL. */
sync_record *syncc_batch_add(sync_batch *b, const char *key, size_t key_len, sync_op op);

/*
 * Sets a field, copying strings into the batch arena.  An existing field of
 * the same name is overwritten.  Returns SYNC_OK or SYNC_E_NOMEM.
 */
int syncc_record_set(sync_record *r, const char *name, const sync_value *v);

/*
 * Same as syncc_record_set, for a name already interned in r's batch: skips
 * the interning and appends without looking for a duplicate (the caller
 * guarantees there is none).  Used by the mapping stage on its hot path.
 */
int syncc_record_append_interned(sync_record *r, const char *interned_name, const sync_value *v);

int syncc_record_set_cursor(sync_record *r, const char *cursor);

/*
 * Looks a field up by name.  hint is a position to try first (the position
 * the same name had in the previous record), which makes lookups O(1) when
 * records share a layout.  Returns the index, or -1 when absent.
 */
long syncc_record_find(const sync_record *r, const char *name, size_t hint);

/* Value helpers shared by the mapping stage and the sinks. */

/* Copies the bytes of string/JSON values into arena a (for values outliving their record). */
int syncc_value_copy(syncc_arena *a, sync_value *dst, const sync_value *src);

/*
 * Appends the value's canonical text form to buf (NUL-terminated):
 * "true"/"false", integers, shortest round-trip floats, timestamps as
 * "YYYY-MM-DDTHH:MM:SS.ffffffZ", dates as "YYYY-MM-DD", strings/JSON raw.
 * NULL appends nothing and returns 1; otherwise returns 0, or -1 on overflow.
 */
int syncc_value_to_text(const sync_value *v, char *buf, size_t size, size_t *len_out);

const char *syncc_type_name(sync_type t);

#endif /* SYNCC_RECORD_H */
