/*
 * tests/fuzz/fuzz_config.c - fuzz target for the configuration loader.
 *
 * Feeds arbitrary bytes to syncc_conf_load_string() as an INI file (includes
 * refused, so the fuzzer cannot wander the file system), and binds whatever
 * loads against a plugin whose option tables use every option type, so that
 * the value parsers (integers, durations, enums, lists, URLs, MULTI keys) and
 * the getters run on fuzzed text too.  Every path must end in a clean free.
 *
 * Build with libFuzzer:
 *   clang -g -fsanitize=fuzzer,address,undefined -Iinclude -Icore -D_GNU_SOURCE \
 *         tests/fuzz/fuzz_config.c core/conf*.c -linih -o fuzz_config
 *   ./fuzz_config -dict=tests/fuzz/config.dict tests/fuzz/corpus/config
 * Without -fsanitize=fuzzer, define FUZZ_STANDALONE to get a main() that runs
 * the files named on the command line once each (corpus replay in CI).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static const char *const modes[] = {"fast", "safe", NULL};

static const sync_option options[] = {
    {"url", SYNC_OPT_URL, NULL, 0, 0, 0, NULL, "Where."},
    {"token", SYNC_OPT_STRING, NULL, SYNC_OPT_SECRET, 0, 0, NULL, "Token."},
    {"retries", SYNC_OPT_INT, "3", 0, 0, 10, NULL, "Attempts."},
    {"count", SYNC_OPT_INT, NULL, 0, 0, 0, NULL, "Unbounded."},
    {"verbose", SYNC_OPT_BOOL, "false", 0, 0, 0, NULL, "Chatty."},
    {"ratio", SYNC_OPT_DOUBLE, "0.5", 0, 0, 0, NULL, "Ratio."},
    {"timeout", SYNC_OPT_DURATION, "30s", 0, 1000, 3600000, NULL, "Wait."},
    {"mode", SYNC_OPT_ENUM, "safe", 0, 0, 0, modes, "How."},
    {"fields", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "Fields."},
    {"header", SYNC_OPT_STRING, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "Header."},
    {"tags", SYNC_OPT_LIST, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "Tags."},
    {"old", SYNC_OPT_STRING, NULL, SYNC_OPT_DEPRECATED, 0, 0, NULL, "Old."},
    SYNC_OPTION_END};

static const sync_option stream_options[] = {
    {"where", SYNC_OPT_STRING, NULL, 0, 0, 0, NULL, "Filter."},
    {"page", SYNC_OPT_INT, "100", 0, 1, 1000, NULL, "Page size."},
    SYNC_OPTION_END};

static const sync_option target_options[] = {
    {"key", SYNC_OPT_LIST, NULL, 0, 0, 0, NULL, "Key."},
    {"every", SYNC_OPT_DURATION, NULL, SYNC_OPT_MULTI, 0, 0, NULL, "Intervals."},
    SYNC_OPTION_END};

static const sync_plugin plugin = {
    SYNC_PLUGIN_HEAD,
    .name = "any",
    .provides = SYNC_PROVIDES_SOURCE | SYNC_PROVIDES_SINK,
    .options = options,
    .stream_options = stream_options,
    .target_options = target_options,
};

static const sync_plugin *lookup(const char *name, void *payload)
{
    (void)payload;
    return strcmp(name, "none") == 0 ? NULL : &plugin;
}

static void quiet(const char *message, void *payload)
{
    (void)message;
    (void)payload;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* A few variables for ${...} to find; FUZZ_UNSET stays unset. */
    setenv("FUZZ_A", "alpha", 1);
    setenv("FUZZ_EMPTY", "", 1);
    setenv("FUZZ_URL", "https://example.com", 1);
    unsetenv("FUZZ_UNSET");
    return 0;
}

static void read_back(const sync_config *cfg)
{
    int64_t i;
    int b;
    double d;

    for (size_t k = 0; cfg && k < cfg->n_vals; k++) {
        const char *name = cfg->vals[k].opt->name;
        (void)syncc_config_get_string(cfg, name);
        (void)syncc_config_get_int(cfg, name, &i);
        (void)syncc_config_get_bool(cfg, name, &b);
        (void)syncc_config_get_double(cfg, name, &d);
        size_t n = syncc_config_list_count(cfg, name);
        for (size_t m = 0; m <= n; m++)
            (void)syncc_config_list_item(cfg, name, m);
        (void)syncc_config_where(cfg, name);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    syncc_conf *conf = syncc_conf_load_string((const char *)data, size, "fuzz.ini", SYNCC_CONF_NO_INCLUDE, err,
                                              sizeof(err));

    if (!conf) {
        if (!err[0])
            abort(); /* every failure must say why */
        return 0;
    }
    conf->warn = quiet;
    if (syncc_conf_bind(conf, lookup, NULL, err, sizeof(err)) == 0) {
        for (size_t i = 0; i < conf->n_instances; i++)
            read_back(conf->instances[i].config);
        for (size_t j = 0; j < conf->n_jobs; j++) {
            read_back(conf->jobs[j].sink_options);
            for (size_t s = 0; s < conf->jobs[j].n_streams; s++) {
                read_back(conf->jobs[j].streams[s].source_options);
                read_back(conf->jobs[j].streams[s].sink_options);
            }
        }
    } else if (!err[0]) {
        abort();
    }
    syncc_conf_free(conf);
    return 0;
}

#ifdef FUZZ_STANDALONE
int main(int argc, char **argv)
{
    LLVMFuzzerInitialize(&argc, &argv);
    for (int a = 1; a < argc; a++) {
        FILE *f = fopen(argv[a], "rb");
        if (!f) {
            perror(argv[a]);
            return 1;
        }
        static uint8_t buf[1 << 20];
        size_t n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    return 0;
}
#endif
