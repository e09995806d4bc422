/*
 * core/conf.c - reading configuration files: the INI syntax (through inih),
 * section headers, includes, interpolation, and the raw key/value store.
 *
 * inih splits lines into keys and values but does not tell its handler the
 * line number, and does not report section headers to it.  Both matter here
 * (every message names file:line; an empty or duplicated section is an error),
 * so files are read into memory and fed to ini_parse_stream() by a reader that
 * hands out one line at a time: it knows which line inih is working on, and it
 * looks at each line first, opening sections itself.  inih's handler callback
 * then only stores key/value pairs into the current section.
 *
 * inih's compile-time options are globals in Debian's build; they are set
 * before every parse: no multi-line values in inih (the reader joins an
 * indented line to the value above it itself, keeping the text as written so
 * that mapping expressions keep exact line:column positions), no inline
 * comments in inih (this file strips " ;" comments itself, leaving quoted text
 * alone so that mapping expressions and SQL may contain ';'), a heap line
 * buffer that grows to MAX_LINE.  Loading is therefore not thread-safe; it
 * happens once, at start-up.  Values are interpolated when their file has been
 * read, so that a ${VAR} may sit on a continuation line.
 *
 * What the sections mean is checked afterwards, in conf_check.c.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "conf_priv.h"

#define MAX_LINE (64 * 1024)          /* longest line accepted */
#define MAX_FILE (16u * 1024 * 1024)  /* largest file accepted */
#define MAX_DEPTH 16                  /* include nesting */

typedef struct file_id {
    int known;          /* dev/ino valid (not for text loaded from memory) */
    dev_t dev;
    ino_t ino;
    const char *path;   /* interned */
} file_id;

typedef struct include_req {
    char *pattern;
    const char *file;
    int line;
} include_req;

typedef struct load_ctx {
    syncc_conf *conf;
    unsigned flags;
    size_t cap_sections, cap_files;
    file_id stack[MAX_DEPTH + 1];
    size_t depth;
    file_id *seen;
    size_t n_seen;
    char *err;
    size_t errlen;
} load_ctx;

typedef struct parse_state {
    load_ctx *lc;
    const char *file;
    int is_main;
    const char *text;
    size_t len, pos;
    int line;           /* the line inih is working on (1-based) */
    size_t line_off;    /* its offset in text */
    size_t rem;         /* bytes of it not yet handed to inih */
    long cur;           /* current section index, -1 before the first */
    long cont_sec;      /* the value that an indented line continues: section index, */
    size_t cont_kv;     /* and key index; cont_sec -1 when there is none */
    int hide;           /* the current line was consumed here; inih gets an empty line */
    size_t first_sec;   /* sections from this index on come from this file */
    include_req *inc;
    size_t n_inc;
    int failed;
} parse_state;

/* Sorted, for "valid options" messages. */
static const char *const engine_keys =
    "http_insecure, http_listen, http_tls_cert, http_tls_key, http_token, http_token_file, include, log_format, "
    "log_level, max_jobs, plugin_dir, state_dir";
static const char *const job_keys =
    "batch_size, conflict_policy, direction, enabled, full_refresh, like, merge_fields, parallel_streams, "
    "push_deletes, queue_depth, schedule, sink, sink.*, source, tenants, var.*, verify_fix, verify_schedule, "
    "write_attempts";
static const char *const stream_keys =
    "external_id, horizon, key, match, mode, object, order, sink.*, source.*, target";
static const char *const section_kinds =
    "[engine], [source NAME], [sink NAME], [tenants NAME], [job NAME], [stream JOB.NAME], [map JOB.NAME], "
    "[verify JOB.NAME]";

static int fail(parse_state *st, const char *fmt, ...) SYNCC_CONF_PRINTF(2, 3);

static int fail(parse_state *st, const char *fmt, ...)
{
    va_list ap;

    if (!st->failed && st->lc->err && st->lc->errlen) {
        va_start(ap, fmt);
        vsnprintf(st->lc->err, st->lc->errlen, fmt, ap);
        va_end(ap);
    }
    st->failed = 1;
    return -1;
}

void syncc_conf_section_desc(const syncc_section *sec, char *buf, size_t n)
{
    if (sec->name)
        snprintf(buf, n, "[%s %s]", sec->kind, sec->name);
    else
        snprintf(buf, n, "[%s]", sec->kind);
}

static const char *intern_file(load_ctx *lc, const char *path, int exposed)
{
    syncc_conf *conf = lc->conf;

    for (size_t i = 0; i < conf->n_files; i++)
        if (strcmp(conf->files[i], path) == 0)
            return conf->files[i];
    if (conf->n_files == lc->cap_files) {
        size_t cap = lc->cap_files ? lc->cap_files * 2 : 8;
        char **f = realloc(conf->files, cap * sizeof(*f));
        if (!f)
            return NULL;
        conf->files = f;
        unsigned char *e = realloc(conf->file_exposed, cap);
        if (!e)
            return NULL;
        conf->file_exposed = e;
        lc->cap_files = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return NULL;
    conf->files[conf->n_files] = copy;
    conf->file_exposed[conf->n_files] = (unsigned char)(exposed != 0);
    conf->n_files++;
    return copy;
}

/* ------------------------------------------------------------- sections */

static int valid_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-')
            return 0;
    return 1;
}

static int add_section(parse_state *st, const char *kind, const char *name)
{
    load_ctx *lc = st->lc;
    syncc_conf *conf = lc->conf;

    for (size_t i = 0; i < conf->n_sections; i++) {
        const syncc_section *s = &conf->sections[i];
        if (strcmp(s->kind, kind) != 0)
            continue;
        if ((s->name == NULL) != (name == NULL) || (name && strcmp(s->name, name) != 0))
            continue;
        char desc[300];
        syncc_conf_section_desc(s, desc, sizeof(desc));
        return fail(st, "%s:%d: duplicate section %s (first defined at %s:%d)", st->file, st->line, desc,
                    s->file, s->line);
    }
    if (conf->n_sections == lc->cap_sections) {
        size_t cap = lc->cap_sections ? lc->cap_sections * 2 : 16;
        syncc_section *p = realloc(conf->sections, cap * sizeof(*p));
        if (!p)
            return fail(st, "out of memory");
        conf->sections = p;
        lc->cap_sections = cap;
    }
    syncc_section *s = &conf->sections[conf->n_sections];
    memset(s, 0, sizeof(*s));
    s->kind = strdup(kind);
    s->name = name ? strdup(name) : NULL;
    s->file = st->file;
    s->line = st->line;
    conf->n_sections++; /* counted even when a strdup failed, so that free() sees it */
    if (!s->kind || (name && !s->name))
        return fail(st, "out of memory");
    st->cur = (long)(conf->n_sections - 1);
    st->cont_sec = -1;
    return 0;
}

/* p/n: the header after its '['. */
static int open_section(parse_state *st, const char *p, size_t n)
{
    const char *close = memchr(p, ']', n);
    char kind[64], name[512], words[600];

    if (!close)
        return fail(st, "%s:%d: syntax error: missing ']' in section header", st->file, st->line);
    for (const char *q = close + 1; q < p + n; q++) {
        if (*q == ';' || *q == '#')
            break;
        if (!isspace((unsigned char)*q))
            return fail(st, "%s:%d: unexpected text after section header", st->file, st->line);
    }
    /* Trim and split "kind name". */
    const char *b = p, *e = close;
    while (b < e && isspace((unsigned char)*b))
        b++;
    while (e > b && isspace((unsigned char)e[-1]))
        e--;
    snprintf(words, sizeof(words), "%.*s", (int)(e - b), b);
    const char *k_end = b;
    while (k_end < e && !isspace((unsigned char)*k_end))
        k_end++;
    const char *nb = k_end;
    while (nb < e && isspace((unsigned char)*nb))
        nb++;
    if ((size_t)(k_end - b) >= sizeof(kind) || (size_t)(e - nb) >= sizeof(name))
        return fail(st, "%s:%d: section header too long", st->file, st->line);
    snprintf(kind, sizeof(kind), "%.*s", (int)(k_end - b), b);
    snprintf(name, sizeof(name), "%.*s", (int)(e - nb), nb);

    int is_engine = strcmp(kind, "engine") == 0;
    int simple = strcmp(kind, "source") == 0 || strcmp(kind, "sink") == 0 || strcmp(kind, "job") == 0 ||
                 strcmp(kind, "tenants") == 0;
    int dotted = strcmp(kind, "stream") == 0 || strcmp(kind, "map") == 0 || strcmp(kind, "verify") == 0;
    if (!is_engine && !simple && !dotted)
        return fail(st, "%s:%d: unknown section [%s]; valid sections: %s", st->file, st->line, words,
                    section_kinds);
    if (is_engine) {
        if (*name)
            return fail(st, "%s:%d: [engine] takes no name", st->file, st->line);
        if (!st->is_main)
            return fail(st, "%s:%d: [engine] is only allowed in the main configuration file", st->file,
                        st->line);
        return add_section(st, kind, NULL);
    }
    if (!*name)
        return fail(st, "%s:%d: section [%s] needs a name: [%s %s]", st->file, st->line, kind, kind,
                    dotted ? "JOB.NAME" : "NAME");
    for (const char *q = name; *q; q++)
        if (isspace((unsigned char)*q))
            return fail(st, "%s:%d: section name '%s' must be one word", st->file, st->line, name);
    if (!valid_name(name))
        return fail(st, "%s:%d: invalid section name '%s' in [%s %s] (use letters, digits, '_', '-', '.')",
                    st->file, st->line, name, kind, name);
    if (strcmp(kind, "job") == 0 && strchr(name, '.'))
        return fail(st, "%s:%d: job name '%s' must not contain '.' (streams are named [stream JOB.NAME])",
                    st->file, st->line, name);
    if (dotted) {
        const char *dot = strchr(name, '.');
        if (!dot || dot == name || dot[1] == '\0')
            return fail(st, "%s:%d: invalid section name '%s' in [%s %s]: expected [%s JOB.NAME]", st->file,
                        st->line, name, kind, name, kind);
    }
    return add_section(st, kind, name);
}

/* ---------------------------------------------------------------- reader */

/* Offset of the first character inih looks at: after a BOM and blanks. */
static size_t content_start(const parse_state *st, const char *s, size_t n)
{
    size_t i = 0;

    if (st->line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < n && isspace((unsigned char)s[i]))
        i++;
    return i;
}

static char *strip_comment(const char *value);

/*
 * An indented line after a key continues that key's value, as in Python's
 * configparser: the value gets a newline and the line as written (with its
 * indentation, so that mapping expressions keep exact columns).
 */
static int continue_value(parse_state *st, const char *line, size_t n)
{
    syncc_kv *kv = &st->lc->conf->sections[st->cont_sec].kv[st->cont_kv];
    char *text = strndup(line, n);
    char *more = text ? strip_comment(text) : NULL;
    size_t old = strlen(kv->value);
    char *joined = more ? realloc(kv->value, old + strlen(more) + 2) : NULL;

    free(text);
    if (!joined) {
        free(more);
        return fail(st, "out of memory");
    }
    joined[old] = '\n';
    strcpy(joined + old + 1, more);
    kv->value = joined;
    free(more);
    st->hide = 1;
    return 0;
}

/* Looks at a whole line before inih sees it. */
static int start_line(parse_state *st, size_t n)
{
    const char *s = st->text + st->line_off;
    size_t i = content_start(st, s, n);

    if (i == n) {
        st->cont_sec = -1; /* a blank line ends a value */
        return 0;
    }
    if (s[i] == ';' || s[i] == '#')
        return 0; /* comments may sit between continuation lines */
    if ((s[0] == ' ' || s[0] == '\t') && st->cont_sec >= 0)
        return continue_value(st, s, n);
    st->cont_sec = -1;
    if (s[i] == '[')
        return open_section(st, s + i + 1, n - i - 1);
    if (!memchr(s + i, '=', n - i) && !memchr(s + i, ':', n - i))
        return fail(st, "%s:%d: syntax error: expected [section] or key = value", st->file, st->line);
    return 0;
}

/* An fgets() over the text that counts lines; long lines go out in pieces. */
static char *reader(char *buf, int num, void *stream)
{
    parse_state *st = stream;

    if (st->failed || num < 2)
        return NULL;
    if (st->rem == 0) {
        if (st->pos >= st->len)
            return NULL;
        const char *s = st->text + st->pos;
        const char *nl = memchr(s, '\n', st->len - st->pos);
        size_t n = nl ? (size_t)(nl - s) : st->len - st->pos;
        st->line++;
        st->line_off = st->pos;
        st->rem = n + (nl ? 1 : 0);
        if (n > MAX_LINE) {
            fail(st, "%s:%d: line too long (more than %d bytes)", st->file, st->line, MAX_LINE);
            return NULL;
        }
        if (start_line(st, n) < 0)
            return NULL;
        if (st->hide) {
            st->hide = 0;
            st->pos += st->rem;
            st->rem = 0;
            strcpy(buf, "\n");
            return buf;
        }
    }
    size_t take = st->rem < (size_t)num - 1 ? st->rem : (size_t)num - 1;
    memcpy(buf, st->text + st->pos, take);
    buf[take] = '\0';
    st->pos += take;
    st->rem -= take;
    return buf;
}

/* ------------------------------------------------------------------ keys */

/*
 * Cuts a " ;" comment off a value.  A ';' starts a comment at the start of
 * the value or after a blank, unless it is inside '...' or "...".
 */
static char *strip_comment(const char *value)
{
    char quote = 0;
    size_t i, end;

    for (i = 0; value[i]; i++) {
        char c = value[i];
        if (quote) {
            if (c == quote)
                quote = 0;
        } else if (c == '\'' || c == '"') {
            quote = c;
        } else if (c == ';' && (i == 0 || isspace((unsigned char)value[i - 1]))) {
            break;
        }
    }
    end = i;
    while (end > 0 && isspace((unsigned char)value[end - 1]))
        end--;
    return strndup(value, end);
}

static syncc_kv *find_kv(const syncc_section *sec, const char *key)
{
    for (size_t i = 0; i < sec->n_kv; i++)
        if (strcmp(sec->kv[i].key, key) == 0)
            return &sec->kv[i];
    return NULL;
}

static int has_prefix(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(key, prefix, n) == 0 && key[n] != '\0';
}

/* Is key something the engine understands in this section?  Returns 0 or fails. */
static int check_engine_key(parse_state *st, const syncc_section *sec, const char *key)
{
    static const char *const engine[] = {"state_dir", "plugin_dir", "max_jobs", "log_level", "log_format",
                                         "include", "http_listen", "http_token", "http_token_file",
                                         "http_insecure", "http_tls_cert", "http_tls_key", NULL};
    static const char *const job[] = {"source", "sink", "schedule", "enabled", "batch_size", "queue_depth",
                                      "parallel_streams", "full_refresh", "like", "tenants", "direction",
                                      "conflict_policy", "merge_fields", "push_deletes", "write_attempts",
                                      "verify_schedule", "verify_fix", NULL};
    static const char *const stream[] = {"object", "target", "match", "key", "external_id", "mode", "order",
                                         "horizon", NULL};
    const char *const *known;
    const char *list;
    char desc[300];

    syncc_conf_section_desc(sec, desc, sizeof(desc));
    if (strcmp(sec->kind, "engine") == 0) {
        known = engine;
        list = engine_keys;
    } else if (strcmp(sec->kind, "job") == 0) {
        if (has_prefix(key, "sink.") || has_prefix(key, "var."))
            return 0;
        if (has_prefix(key, "source."))
            return fail(st,
                        "%s:%d: option '%s' is not allowed in %s; source.* options belong in "
                        "[stream %s.NAME] sections",
                        st->file, st->line, key, desc, sec->name);
        known = job;
        list = job_keys;
    } else if (strcmp(sec->kind, "stream") == 0) {
        if (has_prefix(key, "sink.") || has_prefix(key, "source."))
            return 0;
        known = stream;
        list = stream_keys;
    } else {
        return 0; /* [source]/[sink]: the plugin's table decides, at bind time */
    }
    for (size_t i = 0; known[i]; i++)
        if (strcmp(known[i], key) == 0)
            return 0;
    return fail(st, "%s:%d: unknown option '%s' in %s; valid options: %s", st->file, st->line, key, desc, list);
}

static int add_include(parse_state *st, const char *pattern)
{
    if (st->lc->flags & SYNCC_CONF_NO_INCLUDE)
        return fail(st, "%s:%d: include is not allowed here", st->file, st->line);
    include_req *r = realloc(st->inc, (st->n_inc + 1) * sizeof(*r));
    if (!r)
        return fail(st, "out of memory");
    st->inc = r;
    r[st->n_inc].pattern = strdup(pattern);
    if (!r[st->n_inc].pattern)
        return fail(st, "out of memory");
    r[st->n_inc].file = st->file;
    r[st->n_inc].line = st->line;
    st->n_inc++;
    return 0;
}

static int add_kv(parse_state *st, syncc_section *sec, const char *key, char *value, int col, int literal)
{
    if (sec->n_kv == sec->cap_kv) {
        size_t cap = sec->cap_kv ? sec->cap_kv * 2 : 8;
        syncc_kv *p = realloc(sec->kv, cap * sizeof(*p));
        if (!p) {
            free(value);
            return fail(st, "out of memory");
        }
        sec->kv = p;
        sec->cap_kv = cap;
    }
    syncc_kv *kv = &sec->kv[sec->n_kv];
    memset(kv, 0, sizeof(*kv));
    kv->key = strdup(key);
    kv->value = value;
    kv->file = st->file;
    kv->line = st->line;
    kv->col = col;
    kv->literal = literal;
    sec->n_kv++;
    if (!kv->key)
        return fail(st, "out of memory");
    return 0;
}

static int handle(parse_state *st, const char *name, const char *value)
{
    const char *raw_line = st->text + st->line_off;
    syncc_section *sec = st->cur >= 0 ? &st->lc->conf->sections[st->cur] : NULL;
    /* name and value point into inih's copy of the line, whose start matches ours after the blanks. */
    int col = (int)(content_start(st, raw_line, st->pos - st->line_off) + (size_t)(value - name)) + 1;
    char *stripped;
    int rc;

    if (!*name)
        return fail(st, "%s:%d: syntax error: missing option name before '='", st->file, st->line);
    if (sec && strcmp(sec->kind, "map") == 0) {
        const syncc_kv *dup = find_kv(sec, name);
        if (dup)
            return fail(st, "%s:%d: column '%s' is mapped twice in [map %s] (first at %s:%d)", st->file, st->line,
                        name, sec->name, dup->file, dup->line);
    } else if (!sec) {
        if (strcmp(name, "include") != 0)
            return fail(st, "%s:%d: option '%s' outside of any section (only include may come before the first "
                        "section)", st->file, st->line, name);
    } else if (check_engine_key(st, sec, name) < 0) {
        return -1;
    }

    /* Values are stored raw; interpolate_file() expands them once continuation lines are in. */
    stripped = strip_comment(value);
    if (!stripped)
        return fail(st, "out of memory");
    if (!sec || (strcmp(sec->kind, "engine") == 0 && strcmp(name, "include") == 0)) {
        /* An include is a single line: it is queued now. */
        rc = add_include(st, stripped);
        if (rc < 0 || !sec) {
            free(stripped);
            return rc;
        }
        return add_kv(st, sec, name, stripped, col, 0);
    }
    rc = add_kv(st, sec, name, stripped, col, 0);
    if (rc == 0) {
        st->cont_sec = st->cur;
        st->cont_kv = sec->n_kv - 1;
    }
    return rc;
}

/*
 * Expands ${VAR} in every value this file added outside [map] sections, and in
 * its include patterns.  Values lose the blanks around them (a value that
 * starts on the next line starts with a newline until now).
 */
static int interpolate_file(parse_state *st)
{
    syncc_conf *conf = st->lc->conf;
    char ierr[300];

    for (size_t i = st->first_sec; i < conf->n_sections; i++) {
        syncc_section *sec = &conf->sections[i];
        if (strcmp(sec->kind, "map") == 0)
            continue;
        for (size_t k = 0; k < sec->n_kv; k++) {
            syncc_kv *kv = &sec->kv[k];
            char *b = kv->value, *e = b + strlen(b), *out;
            while (*b && isspace((unsigned char)*b))
                b++;
            while (e > b && isspace((unsigned char)e[-1]))
                e--;
            *e = '\0';
            if (syncc_conf_interpolate(b, &out, &kv->literal, &kv->deferred, ierr, sizeof(ierr)) < 0)
                return fail(st, "%s:%d: option '%s': %s", kv->file, kv->line, kv->key, ierr);
            free(kv->value);
            kv->value = out;
        }
    }
    for (size_t i = 0; i < st->n_inc; i++) {
        include_req *r = &st->inc[i];
        char *out;
        if (syncc_conf_interpolate(r->pattern, &out, NULL, NULL, ierr, sizeof(ierr)) < 0)
            return fail(st, "%s:%d: option 'include': %s", r->file, r->line, ierr);
        free(r->pattern);
        r->pattern = out;
        if (!*out)
            return fail(st, "%s:%d: option 'include': empty file name or pattern", r->file, r->line);
    }
    return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
    parse_state *st = user;

    (void)section; /* sections are tracked by the reader */
    if (st->failed)
        return 0;
    if (!value) { /* only with INI_ALLOW_NO_VALUE, which is off; be safe */
        fail(st, "%s:%d: syntax error: expected key = value", st->file, st->line);
        return 0;
    }
    return handle(st, name, value) < 0 ? 0 : 1;
}

/* -------------------------------------------------------------- includes */

static int has_glob_magic(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The directory of path, with glob characters escaped; "" for a bare file name. */
static char *glob_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;
    char *out = malloc(2 * n + 1), *o = out;

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (strchr("*?[]\\", path[i]))
            *o++ = '\\';
        *o++ = path[i];
    }
    *o = '\0';
    return out;
}

static int load_file(load_ctx *lc, const char *path, const char *from_file, int from_line, int is_main);

static int run_include(load_ctx *lc, const include_req *r)
{
    char *pat;
    glob_t g;
    int rc;

    if (r->pattern[0] == '/') {
        pat = strdup(r->pattern);
    } else {
        char *dir = glob_dir(r->file);
        pat = dir ? malloc(strlen(dir) + strlen(r->pattern) + 1) : NULL;
        if (pat)
            sprintf(pat, "%s%s", dir, r->pattern);
        free(dir);
    }
    if (!pat) {
        syncc_conf_errf(lc->err, lc->errlen, "out of memory");
        return -1;
    }
    memset(&g, 0, sizeof(g));
    rc = glob(pat, 0, NULL, &g);
    free(pat);
    if (rc == GLOB_NOMATCH) {
        globfree(&g);
        if (has_glob_magic(r->pattern))
            return 0; /* an empty conf.d is fine */
        syncc_conf_errf(lc->err, lc->errlen, "%s:%d: include '%s': no such file", r->file, r->line, r->pattern);
        return -1;
    }
    if (rc != 0) {
        globfree(&g);
        syncc_conf_errf(lc->err, lc->errlen, "%s:%d: include '%s': cannot expand the pattern", r->file, r->line,
                        r->pattern);
        return -1;
    }
    /* Byte order, whatever the locale: 10-x.ini before 20-y.ini. */
    qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), cmp_str);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        if (load_file(lc, g.gl_pathv[i], r->file, r->line, 0) < 0) {
            globfree(&g);
            return -1;
        }
    }
    globfree(&g);
    return 0;
}

/* ----------------------------------------------------------------- files */

static int parse_text(load_ctx *lc, const char *file, const char *text, size_t len, int is_main)
{
    parse_state st;
    int rc = 0;

    const char *nul = memchr(text, '\0', len);
    if (nul) {
        int line = 1;
        for (const char *p = text; p < nul; p++)
            line += *p == '\n';
        syncc_conf_errf(lc->err, lc->errlen, "%s:%d: invalid NUL byte", file, line);
        return -1;
    }

    memset(&st, 0, sizeof(st));
    st.lc = lc;
    st.file = file;
    st.is_main = is_main;
    st.text = text;
    st.len = len;
    st.cur = -1;
    st.cont_sec = -1;
    st.first_sec = lc->conf->n_sections;

    ini_allow_multiline = false;
    ini_allow_bom = true;
    ini_allow_inline_comments = false;
    ini_allow_no_value = false;
    ini_stop_on_first_error = true;
    ini_use_stack = false;
    ini_allow_realloc = true;
    ini_max_line = MAX_LINE + 8;

    int ret = ini_parse_stream(reader, &st, handler, &st);
    if (!st.failed && ret == 0)
        interpolate_file(&st);
    if (st.failed) {
        rc = -1;
    } else if (ret == -2) {
        syncc_conf_errf(lc->err, lc->errlen, "out of memory");
        rc = -1;
    } else if (ret != 0) {
        syncc_conf_errf(lc->err, lc->errlen, "%s:%d: syntax error", file, ret > 0 ? ret : st.line);
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < st.n_inc; i++)
        rc = run_include(lc, &st.inc[i]);
    for (size_t i = 0; i < st.n_inc; i++)
        free(st.inc[i].pattern);
    free(st.inc);
    return rc;
}

static int read_all(int fd, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);

    if (!buf)
        return -1;
    for (;;) {
        if (n == cap) {
            if (cap >= MAX_FILE) {
                free(buf);
                errno = EFBIG;
                return -1;
            }
            cap *= 2;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                return -1;
            }
            buf = p;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            free(buf);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int load_file(load_ctx *lc, const char *path, const char *from_file, int from_line, int is_main)
{
    char where[600];
    struct stat sb;
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (from_file)
        snprintf(where, sizeof(where), "%s:%d: include '%s'", from_file, from_line, path);
    else
        snprintf(where, sizeof(where), "configuration file '%s'", path);

    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        syncc_conf_errf(lc->err, lc->errlen, "%s: cannot open: %s", where, strerror(errno));
        return -1;
    }
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
        syncc_conf_errf(lc->err, lc->errlen, "%s: not a regular file", where);
        close(fd);
        return -1;
    }
    for (size_t i = 0; i < lc->depth; i++) {
        if (lc->stack[i].known && lc->stack[i].dev == sb.st_dev && lc->stack[i].ino == sb.st_ino) {
            char chain[1024];
            size_t used = 0;
            chain[0] = '\0';
            for (size_t k = i; k < lc->depth; k++) {
                int w = snprintf(chain + used, sizeof(chain) - used, "%s -> ", lc->stack[k].path);
                if (w > 0 && (size_t)w < sizeof(chain) - used)
                    used += (size_t)w;
            }
            snprintf(chain + used, sizeof(chain) - used, "%s", path);
            syncc_conf_errf(lc->err, lc->errlen, "%s:%d: include cycle: %s", from_file, from_line, chain);
            close(fd);
            return -1;
        }
    }
    for (size_t i = 0; i < lc->n_seen; i++) {
        if (lc->seen[i].dev == sb.st_dev && lc->seen[i].ino == sb.st_ino) {
            syncc_conf_errf(lc->err, lc->errlen, "%s: the file is already part of the configuration (as '%s')",
                            where, lc->seen[i].path);
            close(fd);
            return -1;
        }
    }
    if (lc->depth >= MAX_DEPTH) {
        syncc_conf_errf(lc->err, lc->errlen, "%s: includes nested more than %d deep", where, MAX_DEPTH);
        close(fd);
        return -1;
    }
    if ((size_t)sb.st_size > MAX_FILE || read_all(fd, &text, &len) < 0) {
        syncc_conf_errf(lc->err, lc->errlen, "%s: cannot read: %s", where,
                        (size_t)sb.st_size > MAX_FILE ? "file too large" : strerror(errno));
        close(fd);
        return -1;
    }
    close(fd);

    const char *file = intern_file(lc, path, (sb.st_mode & (S_IRGRP | S_IROTH)) != 0);
    file_id *seen = realloc(lc->seen, (lc->n_seen + 1) * sizeof(*seen));
    if (!file || !seen) {
        if (seen)
            lc->seen = seen;
        free(text);
        syncc_conf_errf(lc->err, lc->errlen, "out of memory");
        return -1;
    }
    lc->seen = seen;
    file_id id = {1, sb.st_dev, sb.st_ino, file};
    lc->seen[lc->n_seen++] = id;
    lc->stack[lc->depth++] = id;
    rc = parse_text(lc, file, text, len, is_main);
    lc->depth--;
    free(text);
    return rc;
}

/* ------------------------------------------------------------------- API */

static syncc_conf *finish(syncc_conf *conf, load_ctx *lc, int rc, char *err, size_t errlen)
{
    free(lc->seen);
    if (rc == 0)
        rc = syncc_conf_resolve(conf, err, errlen);
    if (rc < 0) {
        syncc_conf_free(conf);
        return NULL;
    }
    return conf;
}

syncc_conf *syncc_conf_load(const char *path, char *err, size_t errlen)
{
    load_ctx lc;
    syncc_conf *conf = calloc(1, sizeof(*conf));

    if (err && errlen)
        err[0] = '\0';
    if (!conf || !(conf->path = strdup(path))) {
        free(conf);
        syncc_conf_errf(err, errlen, "out of memory");
        return NULL;
    }
    memset(&lc, 0, sizeof(lc));
    lc.conf = conf;
    lc.err = err;
    lc.errlen = errlen;
    return finish(conf, &lc, load_file(&lc, path, NULL, 0, 1), err, errlen);
}

syncc_conf *syncc_conf_load_string(const char *text, size_t len, const char *name, unsigned flags, char *err,
                                   size_t errlen)
{
    load_ctx lc;
    syncc_conf *conf = calloc(1, sizeof(*conf));
    int rc = -1;

    if (err && errlen)
        err[0] = '\0';
    if (!name)
        name = "<string>";
    if (!conf || !(conf->path = strdup(name))) {
        free(conf);
        syncc_conf_errf(err, errlen, "out of memory");
        return NULL;
    }
    memset(&lc, 0, sizeof(lc));
    lc.conf = conf;
    lc.flags = flags;
    lc.err = err;
    lc.errlen = errlen;
    const char *file = intern_file(&lc, name, 0);
    if (!file) {
        syncc_conf_errf(err, errlen, "out of memory");
    } else {
        file_id id = {0, 0, 0, file};
        lc.stack[lc.depth++] = id;
        rc = parse_text(&lc, file, text ? text : "", text ? len : 0, 1);
        lc.depth--;
    }
    return finish(conf, &lc, rc, err, errlen);
}

static void free_kv_list(syncc_kv **list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!list[i])
            continue;
        free(list[i]->key);
        free(list[i]->value);
        free(list[i]);
    }
    free(list);
}

void syncc_conf_free(syncc_conf *conf)
{
    if (!conf)
        return;
    for (size_t i = 0; i < conf->n_sections; i++) {
        syncc_section *s = &conf->sections[i];
        for (size_t k = 0; k < s->n_kv; k++) {
            free(s->kv[k].key);
            free(s->kv[k].value);
        }
        free(s->kv);
        free(s->kind);
        free(s->name);
    }
    free(conf->sections);
    for (size_t i = 0; i < conf->n_instances; i++) {
        free(conf->instances[i].name);
        free(conf->instances[i].plugin_name);
        syncc_config_free(conf->instances[i].config);
    }
    free(conf->instances);
    for (size_t j = 0; j < conf->n_jobs; j++) {
        syncc_job *job = &conf->jobs[j];
        free(job->name);
        free(job->schedule);
        free(job->verify_schedule);
        free(job->like);
        free(job->direction);
        free(job->conflict_policy);
        free_kv_list(job->vars, job->n_vars);
        free_kv_list(job->sink_kv, job->n_sink_kv);
        syncc_config_free(job->sink_options);
        for (size_t s = 0; s < job->n_streams; s++) {
            syncc_stream *st = &job->streams[s];
            free(st->name);
            free(st->object);
            free(st->target);
            free(st->match);
            free(st->key);
            free(st->external_id);
            free(st->mode);
            free(st->order);
            free_kv_list(st->source_kv, st->n_source_kv);
            free_kv_list(st->sink_kv, st->n_sink_kv);
            for (size_t m = 0; m < st->n_map; m++) {
                free(st->map[m].column);
                free(st->map[m].expr);
            }
            free(st->map);
            syncc_config_free(st->source_options);
            syncc_config_free(st->sink_options);
        }
        free(job->streams);
    }
    free(conf->jobs);
    for (size_t t = 0; t < conf->n_tenant_sets; t++) {
        syncc_tenant_set *ts = &conf->tenant_sets[t];
        free(ts->name);
        free(ts->query);
        for (size_t i = 0; i < ts->n_params; i++)
            free(ts->params[i]);
        free(ts->params);
        free(ts->key);
        free(ts->interval);
        free(ts->store_credentials);
        free(ts->on_auth_failure);
        free(ts->instance_column);
        for (size_t i = 0; i < ts->n_secret_columns; i++)
            free(ts->secret_columns[i]);
        free(ts->secret_columns);
    }
    free(conf->tenant_sets);
    for (size_t i = 0; i < conf->n_files; i++)
        free(conf->files[i]);
    free(conf->files);
    free(conf->file_exposed);
    for (size_t i = 0; i < conf->n_secrets; i++)
        free(conf->secrets[i]);
    free(conf->secrets);
    free(conf->engine.state_dir);
    free(conf->engine.plugin_dir);
    free(conf->engine.log_level);
    free(conf->engine.log_format);
    free(conf->engine.http_listen);
    free(conf->engine.http_token);
    free(conf->engine.http_token_file);
    free(conf->engine.http_tls_cert);
    free(conf->engine.http_tls_key);
    free(conf->path);
    free(conf);
}

syncc_job *syncc_conf_job(syncc_conf *conf, const char *name)
{
    for (size_t i = 0; conf && name && i < conf->n_jobs; i++)
        if (strcmp(conf->jobs[i].name, name) == 0)
            return &conf->jobs[i];
    return NULL;
}
