/*
 * core/verify_fix.h - `syncengine verify --fix`: writes the differing rows
 * of a stream again through the job's own sink (see verify_fix.c).
 */
#ifndef SYNCC_VERIFY_FIX_H
#define SYNCC_VERIFY_FIX_H

#include <jansson.h>

#include "engine.h"

/* A list of keys (canonical text). */
typedef struct syncc_fix_keys {
    char **k;
    size_t n, cap;
    int oom;
} syncc_fix_keys;

void syncc_fix_keys_add(syncc_fix_keys *k, const char *key);
void syncc_fix_keys_free(syncc_fix_keys *k);

/* The source side, as verify opened it. */
typedef struct syncc_fix_side {
    const syncc_plugin *p;
    void *inst;      /* its compare instance */
    sync_ctx *ctx;
} syncc_fix_side;

/*
 * Fetches the source rows of upserts (keys of the source's key_field) and
 * writes them, mapped, through the job's sink, then deletes deletes (keys of
 * the target) through it; counts go to out (upserted, unchanged, deleted,
 * failed, source_rows, and not_at_source: the upsert keys the source does
 * not hold).  key_int < 0: the key is an integer when the source says so.
 * SYNC_OK, or a status with err filled.
 */
int syncc_fix_stream(syncc_engine *e, syncc_job_rt *job, syncc_stream_rt *srt, const syncc_fix_side *src,
                     const char *key_field, int key_int, const syncc_fix_keys *upserts, const syncc_fix_keys *deletes,
                     json_t *out, char *err, size_t errlen);

#endif /* SYNCC_VERIFY_FIX_H */
