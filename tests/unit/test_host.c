/*
 * tests/unit/test_host.c - the host table as a plugin sees it, through
 * syncc_host() only (core/host.c): building records through an emitter whose
 * deliver callback the test provides, reading them back with every getter,
 * rejected records (counted, details kept up to SYNCC_MAX_REJECT_DETAILS),
 * run counters, set_error with redaction, SYNC_HOST_HAS, plugin state through
 * a context with a state store, configuration getters, the catalog, and
 * robustness against NULL handles (SYNC_E_INVALID, never a crash).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "hostapi.h"
#include "log.h"
#include "state.h"

static const sync_host *H;

/* ------------------------------------------------------------- helpers */

/* What the deliver callback saw. */
typedef struct collector {
    sync_batch *got[8];
    size_t n;
    int rc;            /* what deliver returns */
    int give_next;     /* hand back a fresh batch */
} collector;

static int deliver(sync_emitter *em, sync_batch *full, sync_batch **next)
{
    collector *c = em->payload;
    assert_true(c->n < 8);
    c->got[c->n++] = full; /* ownership moves here */
    *next = c->give_next ? syncc_batch_new() : NULL;
    return c->rc;
}

static void collector_free(collector *c, sync_emitter *em)
{
    for (size_t i = 0; i < c->n; i++)
        syncc_batch_free(c->got[i]);
    syncc_batch_free(em->batch);
    em->batch = NULL;
}

static void emitter_init(sync_emitter *em, collector *c)
{
    memset(c, 0, sizeof(*c));
    c->give_next = 1;
    memset(em, 0, sizeof(*em));
    em->batch = syncc_batch_new();
    em->stream = "Contact";
    em->deliver = deliver;
    em->payload = c;
}

static FILE *cap_file;
static int cap_saved = -1;

static void capture_begin(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    assert_non_null(cap_file);
    cap_saved = dup(STDERR_FILENO);
    dup2(fileno(cap_file), STDERR_FILENO);
}

static char *capture_end(void)
{
    fflush(stderr);
    dup2(cap_saved, STDERR_FILENO);
    close(cap_saved);
    long size = ftell(cap_file);
    char *text = calloc(1, size > 0 ? (size_t)size + 1 : 1);
    rewind(cap_file);
    size_t got = size > 0 ? fread(text, 1, (size_t)size, cap_file) : 0;
    text[got] = '\0';
    fclose(cap_file);
    return text;
}

static int setup(void **state)
{
    (void)state;
    H = syncc_host();
    syncc_log_clear_secrets();
    syncc_log_set_json(0);
    syncc_log_set_level(SYNC_LOG_INFO);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    syncc_log_clear_secrets();
    return 0;
}

/* ---------------------------------------------------------- the table */

static void test_table_and_has(void **state)
{
    (void)state;
    assert_non_null(H);
    assert_ptr_equal(syncc_host(), H);
    assert_int_equal(H->abi_major, SYNC_ABI_MAJOR);
    assert_int_equal(H->abi_minor, SYNC_ABI_MINOR);
    assert_int_equal(H->struct_size, sizeof(sync_host));

    /* every member of the table is provided */
#define HAS(m) assert_true(SYNC_HOST_HAS(H, m))
    HAS(strerror); HAS(status_is_retryable); HAS(alloc); HAS(free); HAS(log); HAS(log_enabled);
    HAS(log_add_secret); HAS(set_error); HAS(config_get_string); HAS(config_get_int);
    HAS(config_get_bool); HAS(config_get_double); HAS(config_list_count); HAS(config_list_item);
    HAS(config_where); HAS(record_new); HAS(record_set_null); HAS(record_set_bool);
    HAS(record_set_int); HAS(record_set_float); HAS(record_set_string); HAS(record_set_timestamp);
    HAS(record_set_date); HAS(record_set_json); HAS(record_set_cursor); HAS(emit); HAS(batch_count);
    HAS(batch_get); HAS(record_key); HAS(record_op); HAS(record_cursor); HAS(record_field_count);
    HAS(record_field_at); HAS(record_get); HAS(record_reject); HAS(catalog_add_stream);
    HAS(catalog_add_field); HAS(state_get); HAS(state_put); HAS(cancelled); HAS(counter_add);
    HAS(time_parse); HAS(time_format); HAS(time_now); HAS(ctx_job); HAS(ctx_instance);
    HAS(record_written);
#undef HAS

    /* an older, smaller table: members past its size read as absent */
    sync_host old = *H;
    old.struct_size = (uint32_t)offsetof(sync_host, ctx_job);
    assert_true(SYNC_HOST_HAS(&old, time_now));
    assert_false(SYNC_HOST_HAS(&old, ctx_job));
    assert_false(SYNC_HOST_HAS(&old, ctx_instance));
    /* a NULL member and a NULL table */
    old.struct_size = sizeof(sync_host);
    old.counter_add = NULL;
    assert_false(SYNC_HOST_HAS(&old, counter_add));
    const sync_host *none = NULL;
    assert_false(SYNC_HOST_HAS(none, strerror));

    /* status helpers */
    assert_string_equal(H->strerror(SYNC_OK), "success");
    assert_string_equal(H->strerror(SYNC_E_RATELIMIT), "API limit reached");
    assert_string_equal(H->strerror(-12345), "unknown status");
    for (int s = SYNC_STATUS_MIN - 3; s <= 3; s++)
        assert_non_null(H->strerror(s));
    assert_true(H->status_is_retryable(SYNC_E_NETWORK));
    assert_true(H->status_is_retryable(SYNC_E_UNAVAILABLE));
    assert_false(H->status_is_retryable(SYNC_E_AUTH));
    assert_false(H->status_is_retryable(SYNC_OK));

    void *p = H->alloc(0);
    assert_non_null(p);
    H->free(p);
    p = H->alloc(100);
    memset(p, 1, 100);
    H->free(p);
    H->free(NULL);
}

/* ------------------------------------------------------------ records */

static void test_records_through_emitter(void **state)
{
    (void)state;
    collector c;
    sync_emitter em;
    emitter_init(&em, &c);

    sync_record *r = H->record_new(&em, "003A00000012345", 15, SYNC_OP_UPSERT);
    assert_non_null(r);
    assert_int_equal(H->record_set_null(r, "Phone"), SYNC_OK);
    assert_int_equal(H->record_set_bool(r, "IsActive", 5), SYNC_OK); /* any non-zero is true */
    assert_int_equal(H->record_set_int(r, "Score", -42), SYNC_OK);
    assert_int_equal(H->record_set_float(r, "Ratio", 0.1), SYNC_OK);
    assert_int_equal(H->record_set_string(r, "Email", "ada@example.comXXX", 15), SYNC_OK);
    assert_int_equal(H->record_set_timestamp(r, "LastModifiedDate", INT64_C(1714557600000000)), SYNC_OK);
    assert_int_equal(H->record_set_date(r, "Birthdate", -25567), SYNC_OK);
    assert_int_equal(H->record_set_json(r, "Address", "{\"city\":\"Delft\"}", 16), SYNC_OK);
    assert_int_equal(H->record_set_string(r, "Account.Name", "Acme", 4), SYNC_OK);
    assert_int_equal(H->record_set_string(r, "Nothing", NULL, 0), SYNC_OK);    /* NULL string: null */
    assert_int_equal(H->record_set_json(r, "NoJson", NULL, 5), SYNC_OK);
    assert_int_equal(H->record_set_cursor(r, "2024-05-01T10:00:00.000Z/003A00000012345"), SYNC_OK);
    /* the same field again keeps the last value, in its first position */
    assert_int_equal(H->record_set_int(r, "Score", 99), SYNC_OK);

    sync_record *d = H->record_new(&em, "003B", 4, SYNC_OP_DELETE);
    assert_non_null(d);
    sync_record *nokey = H->record_new(&em, NULL, 0, SYNC_OP_UPSERT);
    assert_non_null(nokey);

    assert_int_equal(H->emit(&em, "cursor-1"), SYNC_OK);
    assert_int_equal(c.n, 1);
    assert_non_null(em.batch);
    assert_ptr_not_equal(em.batch, c.got[0]);
    const sync_batch *b = c.got[0];
    assert_string_equal(b->cursor, "cursor-1");

    assert_int_equal(H->batch_count(b), 3);
    const sync_record *g = H->batch_get(b, 0);
    assert_ptr_equal(g, r);
    assert_null(H->batch_get(b, 3));
    assert_string_equal(H->record_key(g), "003A00000012345");
    assert_int_equal(H->record_op(g), SYNC_OP_UPSERT);
    assert_string_equal(H->record_cursor(g), "2024-05-01T10:00:00.000Z/003A00000012345");
    assert_int_equal(H->record_field_count(g), 11);

    sync_value v;
    const char *name = NULL;
    assert_int_equal(H->record_field_at(g, 0, &name, &v), SYNC_OK);
    assert_string_equal(name, "Phone");
    assert_int_equal(v.type, SYNC_TYPE_NULL);
    assert_int_equal(H->record_field_at(g, 2, &name, &v), SYNC_OK);
    assert_string_equal(name, "Score");
    assert_int_equal(v.type, SYNC_TYPE_INT);
    assert_int_equal(v.u.i, 99);
    assert_int_equal(H->record_field_at(g, 11, &name, &v), SYNC_E_NOTFOUND);
    assert_int_equal(H->record_field_at(g, 1, NULL, NULL), SYNC_OK);

    assert_int_equal(H->record_get(g, "IsActive", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_BOOL);
    assert_int_equal(v.u.b, 1);
    assert_int_equal(H->record_get(g, "Ratio", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_FLOAT);
    assert_true(v.u.f == 0.1);
    assert_int_equal(H->record_get(g, "Email", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_STRING);
    assert_int_equal(v.u.str.len, 15);
    assert_string_equal(v.u.str.ptr, "ada@example.com");
    assert_int_equal(H->record_get(g, "LastModifiedDate", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_TIMESTAMP);
    assert_int_equal(v.u.ts, INT64_C(1714557600000000));
    assert_int_equal(H->record_get(g, "Birthdate", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_DATE);
    assert_int_equal(v.u.ts, -25567);
    assert_int_equal(H->record_get(g, "Address", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_JSON);
    assert_string_equal(v.u.str.ptr, "{\"city\":\"Delft\"}");
    assert_int_equal(H->record_get(g, "Account.Name", &v), SYNC_OK);
    assert_string_equal(v.u.str.ptr, "Acme");
    assert_int_equal(H->record_get(g, "Nothing", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_NULL);
    assert_int_equal(H->record_get(g, "NoJson", &v), SYNC_OK);
    assert_int_equal(v.type, SYNC_TYPE_NULL);
    /* absent differs from null */
    assert_int_equal(H->record_get(g, "Fax", &v), SYNC_E_NOTFOUND);
    assert_int_equal(H->record_get(g, "Phone", NULL), SYNC_OK);

    const sync_record *gd = H->batch_get(b, 1);
    assert_string_equal(H->record_key(gd), "003B");
    assert_int_equal(H->record_op(gd), SYNC_OP_DELETE);
    assert_null(H->record_cursor(gd));
    assert_int_equal(H->record_field_count(gd), 0);
    assert_null(H->record_key(H->batch_get(b, 2)));

    /* the next batch: an emit without a cursor keeps none in the batch */
    sync_record *r2 = H->record_new(&em, "003C", 4, SYNC_OP_UPSERT);
    assert_int_equal(H->record_set_int(r2, "Score", 1), SYNC_OK);
    assert_int_equal(H->emit(&em, NULL), SYNC_OK);
    assert_int_equal(c.n, 2);
    assert_null(c.got[1]->cursor);
    assert_int_equal(H->batch_count(c.got[1]), 1);
    /* an empty emit still hands over a (empty) batch */
    assert_int_equal(H->emit(&em, "cursor-3"), SYNC_OK);
    assert_int_equal(c.n, 3);
    assert_int_equal(H->batch_count(c.got[2]), 0);
    assert_string_equal(c.got[2]->cursor, "cursor-3");
    collector_free(&c, &em);
}

static void test_emit_cancelled(void **state)
{
    (void)state;
    collector c;
    sync_emitter em;
    emitter_init(&em, &c);
    c.rc = SYNC_E_CANCELLED;
    c.give_next = 0;
    assert_non_null(H->record_new(&em, "k", 1, SYNC_OP_UPSERT));
    assert_int_equal(H->emit(&em, "c"), SYNC_E_CANCELLED);
    assert_int_equal(c.n, 1);
    /* the engine kept the batch and gave none back: building more fails cleanly */
    assert_null(em.batch);
    assert_null(H->record_new(&em, "k2", 2, SYNC_OP_UPSERT));
    assert_int_equal(H->emit(&em, NULL), SYNC_E_INVALID);
    collector_free(&c, &em);

    /* an emitter without deliver */
    sync_emitter bare = {0};
    bare.batch = syncc_batch_new();
    assert_int_equal(H->emit(&bare, NULL), SYNC_E_INVALID);
    syncc_batch_free(bare.batch);
}

/* --------------------------------------------------- rejects, counters */

static void test_record_reject(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("acme", "henk_db", "postgres");
    syncc_ctx_set_stream(ctx, "acme.contacts");
    H->log_add_secret(ctx, "db-password-9");
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "003A", 4, SYNC_OP_UPSERT);

    capture_begin();
    H->record_reject(ctx, r, "column %s: value too long (%d > %d)", "email", 300, 255);
    H->record_reject(ctx, NULL, "login as %s failed", "db-password-9");
    char *log = capture_end();
    assert_int_equal(ctx->n_rejected, 2);
    assert_int_equal(ctx->n_rejects, 2);
    assert_string_equal(ctx->rejects[0].key, "003A");
    assert_string_equal(ctx->rejects[0].stream, "acme.contacts");
    assert_string_equal(ctx->rejects[0].message, "column email: value too long (300 > 255)");
    assert_string_equal(ctx->rejects[1].key, "(no key)");
    /* the kept message is redacted too: it ends up in the run log table */
    assert_string_equal(ctx->rejects[1].message, "login as *** failed");
    /* and each reject is logged as a warning with the context */
    assert_non_null(strstr(log, " warn  [job=acme stream=acme.contacts plugin=postgres:henk_db] record 003A rejected: "
                                "column email: value too long (300 > 255)\n"));
    assert_null(strstr(log, "db-password-9"));
    free(log);

    /* details are capped, the count is not */
    syncc_log_set_level(SYNC_LOG_ERROR);
    for (int i = 0; i < SYNCC_MAX_REJECT_DETAILS + 50; i++)
        H->record_reject(ctx, r, "bad %d", i);
    assert_int_equal(ctx->n_rejected, SYNCC_MAX_REJECT_DETAILS + 52);
    assert_int_equal(ctx->n_rejects, SYNCC_MAX_REJECT_DETAILS);
    /* the first ones are kept */
    assert_string_equal(ctx->rejects[2].message, "bad 0");
    char last[32];
    snprintf(last, sizeof(last), "bad %d", SYNCC_MAX_REJECT_DETAILS - 3);
    assert_string_equal(ctx->rejects[SYNCC_MAX_REJECT_DETAILS - 1].message, last);

    /* a context without a stream */
    sync_ctx *ctx2 = syncc_ctx_new("acme", "henk_db", "postgres");
    H->record_reject(ctx2, r, "x");
    assert_int_equal(ctx2->n_rejected, 1);
    assert_null(ctx2->rejects[0].stream);
    syncc_ctx_free(ctx2);
    syncc_batch_free(b);
    syncc_ctx_free(ctx);
}

/* ABI 1.3: ids a sink reports go to the ctx's on_written, or to the debug log. */
typedef struct written {
    char key[32], id[32];
    int created, calls;
} written;

static void on_written(void *payload, const sync_record *rec, const char *remote_id, int created)
{
    written *w = payload;
    snprintf(w->key, sizeof w->key, "%s", H->record_key(rec));
    snprintf(w->id, sizeof w->id, "%s", remote_id);
    w->created = created;
    w->calls++;
}

static void test_record_written(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("crm", "sf", "salesforce");
    syncc_ctx_set_stream(ctx, "crm.contacts");
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "row-7", 5, SYNC_OP_UPSERT);

    syncc_log_set_level(SYNC_LOG_DEBUG);
    capture_begin();
    H->record_written(ctx, r, "0035g00003H1h2wAAB", 1);
    H->record_written(ctx, r, NULL, 0); /* nothing to report */
    char *log = capture_end();
    assert_non_null(strstr(log, "[job=crm stream=crm.contacts plugin=salesforce:sf] record row-7 stored as "
                                "0035g00003H1h2wAAB (created)\n"));
    free(log);
    assert_int_equal(ctx->n_written_ids, 1);

    written w = {{0}, {0}, 0, 0};
    ctx->on_written = on_written;
    ctx->on_written_payload = &w;
    H->record_written(ctx, r, "0035g00003H1h2xAAB", 0);
    assert_int_equal(w.calls, 1);
    assert_string_equal(w.key, "row-7");
    assert_string_equal(w.id, "0035g00003H1h2xAAB");
    assert_int_equal(w.created, 0);
    assert_int_equal(ctx->n_written_ids, 2);
    H->record_written(NULL, r, "x", 1); /* no context: ignored */
    assert_int_equal(w.calls, 1);
    syncc_batch_free(b);
    syncc_ctx_free(ctx);
}

typedef struct adder {
    sync_ctx *ctx;
    int n;
} adder;

static void *add_thread(void *arg)
{
    adder *a = arg;
    for (int i = 0; i < a->n; i++) {
        H->counter_add(a->ctx, "api_calls", 1);
        H->counter_add(a->ctx, "bytes", 10);
    }
    return NULL;
}

static void test_counters(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("acme", "sf_acme", "salesforce");
    assert_int_equal(syncc_ctx_counter(ctx, "api_calls"), 0);
    H->counter_add(ctx, "api_calls", 3);
    H->counter_add(ctx, "api_calls", 4);
    H->counter_add(ctx, "retries", -2);
    H->counter_add(ctx, NULL, 5);
    assert_int_equal(syncc_ctx_counter(ctx, "api_calls"), 7);
    assert_int_equal(syncc_ctx_counter(ctx, "retries"), -2);
    assert_int_equal(syncc_ctx_counter(ctx, "unknown"), 0);
    assert_int_equal(ctx->n_counters, 2);

    /* from several threads at once (host functions may be called from any thread) */
    enum { T = 4, N = 5000 };
    pthread_t th[T];
    adder a = {ctx, N};
    for (int i = 0; i < T; i++)
        assert_int_equal(pthread_create(&th[i], NULL, add_thread, &a), 0);
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    assert_int_equal(syncc_ctx_counter(ctx, "api_calls"), 7 + T * N);
    assert_int_equal(syncc_ctx_counter(ctx, "bytes"), 10 * T * N);
    assert_int_equal(ctx->n_counters, 3);
    syncc_ctx_free(ctx);
}

/* ------------------------------------------------- errors, log, ctx */

static void test_set_error(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("acme", "sf_acme", "salesforce");
    assert_string_equal(syncc_ctx_error(ctx), "");
    H->log_add_secret(ctx, "00D5g!AQ0AQ-access-token");
    H->set_error(ctx, "HTTP %d: INVALID_SESSION_ID for token %s", 401, "00D5g!AQ0AQ-access-token");
    assert_string_equal(syncc_ctx_error(ctx), "HTTP 401: INVALID_SESSION_ID for token ***");
    /* the URL-encoded form is redacted as well */
    H->set_error(ctx, "GET /services?token=%s failed", "00D5g%21AQ0AQ-access-token");
    assert_string_equal(syncc_ctx_error(ctx), "GET /services?token=*** failed");
    /* a long detail is cut, not overflowed */
    char big[3000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    H->set_error(ctx, "%s", big);
    assert_int_equal(strlen(syncc_ctx_error(ctx)), sizeof(ctx->errbuf) - 1);
    H->set_error(NULL, "no context %d", 1); /* ignored */
    syncc_ctx_free(ctx);
}

/*
 * syncc_ctx_error returns the last set_error detail and leaves it: the engine
 * clears errbuf itself before each callback whose detail it reports.
 */
static void test_ctx_error_clears(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("acme", "sf_acme", "salesforce");
    assert_string_equal(syncc_ctx_error(ctx), "");
    H->set_error(ctx, "first");
    assert_string_equal(syncc_ctx_error(ctx), "first");
    assert_string_equal(syncc_ctx_error(ctx), "first");
    syncc_ctx_free(ctx);
}

static void test_log_and_identity(void **state)
{
    (void)state;
    sync_ctx *ctx = syncc_ctx_new("acme", "sf_acme", "salesforce");
    syncc_ctx_set_stream(ctx, "acme.contacts");
    ctx->run_id = strdup("r7");
    assert_string_equal(H->ctx_job(ctx), "acme");
    assert_string_equal(H->ctx_instance(ctx), "sf_acme");

    assert_true(H->log_enabled(ctx, SYNC_LOG_ERROR));
    assert_true(H->log_enabled(ctx, SYNC_LOG_INFO));
    assert_false(H->log_enabled(ctx, SYNC_LOG_DEBUG));
    H->log_add_secret(ctx, "refresh-XYZ-123");
    capture_begin();
    H->log(ctx, SYNC_LOG_INFO, "refreshed with %s in %d ms", "refresh-XYZ-123", 12);
    H->log(ctx, SYNC_LOG_DEBUG, "not shown");
    H->log(NULL, SYNC_LOG_WARN, "no context");
    char *out = capture_end();
    assert_non_null(strstr(out, " info  [job=acme stream=acme.contacts plugin=salesforce:sf_acme run=r7] "
                                "refreshed with *** in 12 ms\n"));
    assert_non_null(strstr(out, " warn  no context\n"));
    assert_null(strstr(out, "not shown"));
    assert_null(strstr(out, "refresh-XYZ"));
    free(out);

    /* cancellation */
    assert_false(H->cancelled(ctx));
    volatile int stop = 0;
    ctx->cancel = &stop;
    assert_false(H->cancelled(ctx));
    stop = 1;
    assert_true(H->cancelled(ctx));
    ctx->cancel = NULL;

    /* the stream can change and be cleared */
    syncc_ctx_set_stream(ctx, "acme.leads");
    assert_string_equal(ctx->stream, "acme.leads");
    syncc_ctx_set_stream(ctx, NULL);
    assert_null(ctx->stream);
    syncc_ctx_free(ctx);
    syncc_ctx_free(NULL);

    /* a context with nothing set */
    sync_ctx *bare = syncc_ctx_new(NULL, NULL, NULL);
    assert_null(H->ctx_job(bare));
    assert_null(H->ctx_instance(bare));
    syncc_ctx_free(bare);
}

static void test_time_helpers(void **state)
{
    (void)state;
    int64_t us = 0;
    const char *t = "2024-05-01T10:00:00.000+0000";
    assert_int_equal(H->time_parse(t, strlen(t), &us), SYNC_OK);
    assert_int_equal(us, INT64_C(1714557600000000));
    assert_int_equal(H->time_parse("2024-13-01", 10, &us), SYNC_E_INVALID);
    char buf[32];
    assert_int_equal(H->time_format(us + 5000, buf, sizeof(buf)), SYNC_OK);
    assert_string_equal(buf, "2024-05-01T10:00:00.005Z");
    assert_int_equal(H->time_format(us, buf, 10), SYNC_E_INVALID);
    int64_t now = H->time_now();
    assert_true(now > INT64_C(1704067200000000));
}

/* -------------------------------------------------------------- state */

static char tmp_root[4096];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void test_state_through_ctx(void **state)
{
    (void)state;
    const char *base = getenv("TMPDIR");
    snprintf(tmp_root, sizeof(tmp_root), "%s/test_host.XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(tmp_root));
    char err[512] = "";
    syncc_state *st = syncc_state_open(tmp_root, err, sizeof(err));
    assert_non_null(st);

    sync_ctx *a = syncc_ctx_new("acme", "sf_acme", "salesforce");
    sync_ctx *b = syncc_ctx_new("other", "sf_other", "salesforce");
    a->state = st;
    b->state = st;
    char *out = (char *)0x1;
    assert_int_equal(H->state_get(a, "refresh_token", &out), SYNC_E_NOTFOUND);
    assert_null(out);
    assert_int_equal(H->state_put(a, "refresh_token", "5Aep861-rotated"), SYNC_OK);
    assert_int_equal(H->state_get(a, "refresh_token", &out), SYNC_OK);
    assert_string_equal(out, "5Aep861-rotated");
    H->free(out);
    /* instances do not see each other's keys */
    assert_int_equal(H->state_get(b, "refresh_token", &out), SYNC_E_NOTFOUND);
    assert_int_equal(H->state_put(b, "refresh_token", "other-token"), SYNC_OK);
    assert_int_equal(H->state_get(a, "refresh_token", &out), SYNC_OK);
    assert_string_equal(out, "5Aep861-rotated");
    H->free(out);
    /* kept under the instance's namespace in the store */
    char *raw = NULL;
    assert_int_equal(syncc_state_get(st, "plugin:sf_acme", "refresh_token", &raw), 0);
    assert_string_equal(raw, "5Aep861-rotated");
    free(raw);
    /* value NULL deletes */
    assert_int_equal(H->state_put(a, "refresh_token", NULL), SYNC_OK);
    assert_int_equal(H->state_get(a, "refresh_token", &out), SYNC_E_NOTFOUND);
    assert_int_equal(H->state_get(b, "refresh_token", &out), SYNC_OK);
    assert_string_equal(out, "other-token");
    H->free(out);

    /* a context without a store */
    sync_ctx *none = syncc_ctx_new("acme", "x", "salesforce");
    assert_int_equal(H->state_get(none, "k", &out), SYNC_E_UNSUPPORTED);
    assert_null(out);
    assert_int_equal(H->state_put(none, "k", "v"), SYNC_E_UNSUPPORTED);
    syncc_ctx_free(none);

    syncc_ctx_free(a);
    syncc_ctx_free(b);
    syncc_state_close(st);
    nftw(tmp_root, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* -------------------------------------------------------- config, catalog */

static void test_config_getters(void **state)
{
    (void)state;
    static const sync_option table[] = {
        {"url", SYNC_OPT_URL, NULL, SYNC_OPT_REQUIRED, 0, 0, NULL, "u"},
        {"retries", SYNC_OPT_INT, "3", 0, 0, 10, NULL, "r"},
        {"verify", SYNC_OPT_BOOL, "true", 0, 0, 0, NULL, "v"},
        {"ratio", SYNC_OPT_DOUBLE, "0.25", 0, 0, 0, NULL, "d"},
        {"timeout", SYNC_OPT_DURATION, "30s", 0, 0, 0, NULL, "t"},
        {"fields", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "f"},
        {"unset", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "n"},
        SYNC_OPTION_END,
    };
    const char *kv[] = {"url", "https://login.example.com", "fields", "Id, Email ,Name", NULL};
    char err[512] = "";
    sync_config *cfg = syncc_config_from_pairs(table, kv, "test.ini:3", err, sizeof(err));
    if (cfg == NULL)
        fail_msg("config: %s", err);
    assert_string_equal(H->config_get_string(cfg, "url"), "https://login.example.com");
    int64_t i = 0;
    assert_int_equal(H->config_get_int(cfg, "retries", &i), SYNC_OK);
    assert_int_equal(i, 3);
    assert_int_equal(H->config_get_int(cfg, "timeout", &i), SYNC_OK);
    assert_int_equal(i, 30000);
    int bv = 0;
    assert_int_equal(H->config_get_bool(cfg, "verify", &bv), SYNC_OK);
    assert_int_equal(bv, 1);
    double d = 0;
    assert_int_equal(H->config_get_double(cfg, "ratio", &d), SYNC_OK);
    assert_true(d == 0.25);
    assert_int_equal(H->config_list_count(cfg, "fields"), 3);
    assert_string_equal(H->config_list_item(cfg, "fields", 1), "Email");
    assert_null(H->config_list_item(cfg, "fields", 3));
    assert_null(H->config_get_string(cfg, "unset"));
    assert_null(H->config_get_string(cfg, "undeclared"));
    assert_int_equal(H->config_get_int(cfg, "undeclared", &i), SYNC_E_INVALID);
    assert_non_null(H->config_where(cfg, "url"));
    syncc_config_free(cfg);
}

static void test_catalog(void **state)
{
    (void)state;
    sync_catalog *cat = syncc_catalog_new();
    assert_non_null(cat);
    assert_int_equal(H->catalog_add_stream(cat, "Contact"), SYNC_OK);
    assert_int_equal(H->catalog_add_field(cat, "Contact", "Id", SYNC_TYPE_STRING), SYNC_OK);
    assert_int_equal(H->catalog_add_field(cat, "Contact", "LastModifiedDate", SYNC_TYPE_TIMESTAMP), SYNC_OK);
    assert_int_equal(H->catalog_add_stream(cat, "Lead"), SYNC_OK);
    assert_int_equal(H->catalog_add_field(cat, "Lead", "Score", SYNC_TYPE_FLOAT), SYNC_OK);
    FILE *f = tmpfile();
    syncc_catalog_print(cat, f);
    rewind(f);
    char buf[512];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    assert_string_equal(buf, "Contact\n    Id\tstring\n    LastModifiedDate\ttimestamp\nLead\n    Score\tfloat\n");
    syncc_catalog_free(cat);
    syncc_catalog_free(NULL);
}

/* ---------------------------------------------------------- NULL handles */

static void test_null_arguments(void **state)
{
    (void)state;
    sync_batch *b = syncc_batch_new();
    sync_record *r = syncc_batch_add(b, "k", 1, SYNC_OP_UPSERT);
    sync_value v;
    char *out = (char *)0x1;
    int64_t i64;
    int iv;
    double dv;

    /* setters: NULL record or NULL field name */
    assert_int_equal(H->record_set_null(NULL, "f"), SYNC_E_INVALID);
    assert_int_equal(H->record_set_bool(NULL, "f", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_int(NULL, "f", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_float(NULL, "f", 1.0), SYNC_E_INVALID);
    assert_int_equal(H->record_set_string(NULL, "f", "x", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_string(NULL, "f", NULL, 0), SYNC_E_INVALID);
    assert_int_equal(H->record_set_timestamp(NULL, "f", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_date(NULL, "f", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_json(NULL, "f", "{}", 2), SYNC_E_INVALID);
    assert_int_equal(H->record_set_cursor(NULL, "c"), SYNC_E_INVALID);
    assert_int_equal(H->record_set_null(r, NULL), SYNC_E_INVALID);
    assert_int_equal(H->record_set_bool(r, NULL, 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_int(r, NULL, 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_float(r, NULL, 1.0), SYNC_E_INVALID);
    assert_int_equal(H->record_set_string(r, NULL, "x", 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_timestamp(r, NULL, 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_date(r, NULL, 1), SYNC_E_INVALID);
    assert_int_equal(H->record_set_json(r, NULL, "{}", 2), SYNC_E_INVALID);
    assert_int_equal(H->record_field_count(r), 0);
    /* a NULL cursor clears it */
    assert_int_equal(H->record_set_cursor(r, NULL), SYNC_OK);
    assert_null(H->record_cursor(r));

    /* emitter and batch */
    assert_null(H->record_new(NULL, "k", 1, SYNC_OP_UPSERT));
    assert_int_equal(H->emit(NULL, "c"), SYNC_E_INVALID);
    assert_int_equal(H->batch_count(NULL), 0);
    assert_null(H->batch_get(NULL, 0));

    /* getters */
    assert_null(H->record_key(NULL));
    assert_int_equal(H->record_op(NULL), SYNC_OP_UPSERT);
    assert_null(H->record_cursor(NULL));
    assert_int_equal(H->record_field_count(NULL), 0);
    assert_int_equal(H->record_get(NULL, "f", &v), SYNC_E_INVALID);
    assert_int_equal(H->record_get(r, NULL, &v), SYNC_E_INVALID);

    /* context functions */
    H->log(NULL, SYNC_LOG_DEBUG, "x");
    H->log_add_secret(NULL, NULL);
    H->set_error(NULL, "x");
    H->record_reject(NULL, r, "x");
    H->counter_add(NULL, "c", 1);
    assert_int_equal(H->cancelled(NULL), 0);
    assert_null(H->ctx_job(NULL));
    assert_null(H->ctx_instance(NULL));
    assert_int_equal(H->state_get(NULL, "k", &out), SYNC_E_INVALID);
    assert_int_equal(H->state_put(NULL, "k", "v"), SYNC_E_INVALID);
    sync_ctx *ctx = syncc_ctx_new("j", "i", "p");
    assert_int_equal(H->state_get(ctx, NULL, &out), SYNC_E_INVALID);
    assert_int_equal(H->state_get(ctx, "k", NULL), SYNC_E_INVALID);
    assert_int_equal(H->state_put(ctx, NULL, "v"), SYNC_E_INVALID);
    syncc_ctx_free(ctx);

    /* catalog */
    assert_int_equal(H->catalog_add_stream(NULL, "s"), SYNC_E_INVALID);
    assert_int_equal(H->catalog_add_field(NULL, "s", "f", SYNC_TYPE_INT), SYNC_E_INVALID);
    sync_catalog *cat = syncc_catalog_new();
    assert_int_equal(H->catalog_add_stream(cat, NULL), SYNC_E_INVALID);
    assert_int_equal(H->catalog_add_field(cat, NULL, "f", SYNC_TYPE_INT), SYNC_E_INVALID);
    assert_int_equal(H->catalog_add_field(cat, "s", NULL, SYNC_TYPE_INT), SYNC_E_INVALID);
    syncc_catalog_free(cat);

    /* time */
    assert_int_equal(H->time_parse(NULL, 0, &i64), SYNC_E_INVALID);
    assert_int_equal(H->time_parse("2024-05-01", 10, NULL), SYNC_E_INVALID);
    assert_int_equal(H->time_format(0, NULL, 32), SYNC_E_INVALID);

    /* configuration */
    assert_null(H->config_get_string(NULL, "x"));
    assert_int_equal(H->config_get_int(NULL, "x", &i64), SYNC_E_INVALID);
    assert_int_equal(H->config_get_bool(NULL, "x", &iv), SYNC_E_INVALID);
    assert_int_equal(H->config_get_double(NULL, "x", &dv), SYNC_E_INVALID);
    assert_int_equal(H->config_list_count(NULL, "x"), 0);
    assert_null(H->config_list_item(NULL, "x", 0));
    assert_non_null(H->config_where(NULL, "x"));
    syncc_batch_free(b);
}

/*
 * BUG (core/host.c:229, h_field_at): record_field_at(NULL, ...) returns
 * SYNC_E_NOTFOUND, while host.c promises "a NULL where a handle belongs
 * yields SYNC_E_INVALID" and every other record function does so; a plugin
 * looping "while (field_at(rec, i++) == SYNC_OK)" cannot tell a NULL record
 * from the end of a record.  Fix: return SYNC_E_INVALID when r is NULL
 * (SYNC_E_NOTFOUND stays for an index past the end).
 */
static void test_field_at_null_record(void **state)
{
    (void)state;
    const char *name;
    sync_value v;
    assert_int_equal(H->record_field_at(NULL, 0, &name, &v), SYNC_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_table_and_has, setup, teardown),
        cmocka_unit_test_setup_teardown(test_records_through_emitter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emit_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_reject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_record_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_error, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ctx_error_clears, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_and_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_helpers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_state_through_ctx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_getters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_catalog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_field_at_null_record, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
