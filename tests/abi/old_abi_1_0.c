/*
 * old_abi_1_0.c - a plugin as it was compiled against the ABI 1.0 headers,
 * kept frozen while the real headers grow.
 *
 * It does not use the header's sync_plugin / sync_source_ops /
 * sync_stream_request types: it declares its own copies with exactly the 1.0
 * members, the way an old binary carries the old layout.  Once 1.1 appends
 * members, this plugin's struct_size is smaller than sizeof(sync_plugin) in
 * the engine and the loader must still accept it, read nothing past its
 * struct_size, and treat the missing members as NULL.  With the 1.0 headers
 * the two sizes are equal, and the test checks that the loader accepts a
 * definition laid out by hand (no SYNC_PLUGIN_HEAD, no SYNC_PLUGIN_DEFINE).
 *
 * The static assertions keep the frozen copy honest: every 1.0 member must
 * stay at the offset the current header gives it (append-only growth).
 */
#include <stddef.h>
#include <stdint.h>

#include <sync/host.h>
#include <sync/plugin.h> /* only for the layout assertions and SYNC_EXPORT */

typedef struct old_stream_request_1_0 {
    uint32_t struct_size;
    const char *stream;
    const char *const *fields;
    size_t n_fields;
    const char *cursor;
    int full_refresh;
    const sync_config *options;
    size_t batch_size;
} old_stream_request_1_0;

typedef struct old_source_ops_1_0 {
    uint32_t struct_size;
    int (*open)(sync_ctx *ctx, const sync_config *cfg, void **instance);
    int (*discover)(void *instance, sync_catalog *cat);
    int (*read)(void *instance, const old_stream_request_1_0 *req, sync_emitter *em);
    void (*close)(void *instance);
} old_source_ops_1_0;

typedef struct old_option_1_0 {
    const char *name;
    int type;
    const char *default_value;
    uint32_t flags;
    int64_t min, max;
    const char *const *enum_values;
    const char *description;
} old_option_1_0;

typedef struct old_plugin_1_0 {
    uint32_t abi_major;
    uint32_t abi_minor;
    uint32_t struct_size;
    const char *name;
    const char *version;
    const char *description;
    uint32_t provides;
    uint64_t caps;
    const old_option_1_0 *options;
    const old_option_1_0 *stream_options;
    const old_option_1_0 *target_options;
    const old_source_ops_1_0 *source;
    const void *sink;
} old_plugin_1_0;

#define SAME_OFFSET(old, cur, m) \
    _Static_assert(offsetof(old, m) == offsetof(cur, m), #cur "." #m " moved: the ABI is append-only")

SAME_OFFSET(old_plugin_1_0, sync_plugin, abi_major);
SAME_OFFSET(old_plugin_1_0, sync_plugin, abi_minor);
SAME_OFFSET(old_plugin_1_0, sync_plugin, struct_size);
SAME_OFFSET(old_plugin_1_0, sync_plugin, name);
SAME_OFFSET(old_plugin_1_0, sync_plugin, version);
SAME_OFFSET(old_plugin_1_0, sync_plugin, description);
SAME_OFFSET(old_plugin_1_0, sync_plugin, provides);
SAME_OFFSET(old_plugin_1_0, sync_plugin, caps);
SAME_OFFSET(old_plugin_1_0, sync_plugin, options);
SAME_OFFSET(old_plugin_1_0, sync_plugin, stream_options);
SAME_OFFSET(old_plugin_1_0, sync_plugin, target_options);
SAME_OFFSET(old_plugin_1_0, sync_plugin, source);
SAME_OFFSET(old_plugin_1_0, sync_plugin, sink);
SAME_OFFSET(old_source_ops_1_0, sync_source_ops, open);
SAME_OFFSET(old_source_ops_1_0, sync_source_ops, discover);
SAME_OFFSET(old_source_ops_1_0, sync_source_ops, read);
SAME_OFFSET(old_source_ops_1_0, sync_source_ops, close);
SAME_OFFSET(old_stream_request_1_0, sync_stream_request, batch_size);
SAME_OFFSET(old_option_1_0, sync_option, description);
_Static_assert(sizeof(old_plugin_1_0) <= sizeof(sync_plugin), "sync_plugin shrank");
_Static_assert(sizeof(old_source_ops_1_0) <= sizeof(sync_source_ops), "sync_source_ops shrank");
_Static_assert(sizeof(old_option_1_0) == sizeof(sync_option), "sync_option is not extensible");

static const sync_host *api;

static int old_open(sync_ctx *ctx, const sync_config *cfg, void **instance)
{
    static int token;

    *instance = &token;
    return SYNC_OK;
}

static int old_read(void *instance, const old_stream_request_1_0 *req, sync_emitter *em)
{
    return SYNC_OK;
}

static void old_close(void *instance)
{
}

static const old_option_1_0 old_options[] = {
    {"path", 0 /* SYNC_OPT_STRING */, "in.txt", 0, 0, 0, NULL, "a file"},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};

static const old_source_ops_1_0 old_source = {
    .struct_size = sizeof(old_source_ops_1_0),
    .open = old_open,
    .read = old_read,
    .close = old_close,
};

static const old_plugin_1_0 old_plugin = {
    .abi_major = 1,
    .abi_minor = 0,
    .struct_size = sizeof(old_plugin_1_0),
    .name = "old_abi_1_0",
    .version = "1.0.0",
    .description = "source compiled against the 1.0 layout",
    .provides = 1u << 0, /* SYNC_PROVIDES_SOURCE */
    .caps = 0,
    .options = old_options,
    .source = &old_source,
};

/* An old plugin's entry point returned its own struct type, cast. */
SYNC_EXPORT const void *sync_plugin_entry(const sync_host *host);
SYNC_EXPORT const void *sync_plugin_entry(const sync_host *host)
{
    api = host;
    return &old_plugin;
}
