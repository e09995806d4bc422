/*
 * core/expr_parse.c - lexer and parser for mapping expressions.
 *
 * Turns one expression's text into a typed node tree (expr_ast.h): a
 * hand-written lexer and a recursive-descent parser with one function per
 * precedence level (see docs/mapping.md for the table).  Static types are
 * inferred while the tree is built, so type errors, wrong arity and unknown
 * functions are reported at start-up with the offset of the offending token;
 * subtrees made only of constants are evaluated right away (constant
 * folding), which both speeds up evaluation and turns mistakes such as
 * int('abc') into compile errors.
 *
 * ${VAR} and ${VAR:-default} are tokens of the language, resolved from the
 * environment here and turned into string constants: the environment can
 * supply values but never change an expression's syntax.
 */
#include "expr_ast.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "record.h"

/* Nesting limits: keep the recursive parser and evaluator off the stack's edge. */
#define MAX_DEPTH 512
#define MAX_HEIGHT 1000

typedef enum tkind {
    T_EOF,
    T_PATH,   /* field path, or a function/keyword name when simple */
    T_STR,
    T_INT,
    T_FLOAT,
    T_ENV,    /* already resolved to its value (text) */
    T_META,
    T_LP,
    T_RP,
    T_COMMA,
    T_OP
} tkind;

typedef struct tok {
    tkind kind;
    int op;          /* T_OP: syncc_xop; T_META: syncc_xmeta */
    size_t pos;
    char *text;      /* PATH/STR/ENV: unescaped bytes (malloc'ed) */
    size_t len;
    int simple;      /* PATH: one unquoted identifier */
    int64_t i;
    double f;
} tok;

typedef struct parser {
    const char *s;
    size_t len, i;
    tok t;           /* current token */
    syncc_xslots *slots;
    char *err;
    size_t errlen;
    size_t errpos;
    int failed;
    int depth;
    const char *const *vars;  /* name, value pairs looked up before the environment */
} parser;

static int fail(parser *p, size_t pos, const char *fmt, ...) SYNC_PRINTF(3, 4);

static int fail(parser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    p->errpos = pos;
    p->failed = 1;
    return -1;
}

/* ---- lexer -------------------------------------------------------------- */

static int is_ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Appends to a malloc'ed growing string. */
static int text_add(parser *p, tok *t, const char *s, size_t n, size_t *cap)
{
    if (t->len + n + 1 > *cap) {
        size_t nc = *cap ? *cap : 32;
        while (nc < t->len + n + 1)
            nc *= 2;
        char *x = realloc(t->text, nc);
        if (x == NULL)
            return fail(p, t->pos, "out of memory");
        t->text = x;
        *cap = nc;
    }
    memcpy(t->text + t->len, s, n);
    t->len += n;
    t->text[t->len] = '\0';
    return 0;
}

static int lex_string(parser *p, tok *t)
{
    char q = p->s[p->i++];
    size_t cap = 0;
    t->kind = T_STR;
    if (text_add(p, t, "", 0, &cap) != 0)
        return -1;
    for (;;) {
        if (p->i >= p->len)
            return fail(p, t->pos, "unterminated string literal");
        char c = p->s[p->i];
        if (c == q) {
            p->i++;
            return 0;
        }
        if (c == '\\') {
            if (p->i + 1 >= p->len)
                return fail(p, t->pos, "unterminated string literal");
            char e = p->s[p->i + 1], r;
            switch (e) {
            case '\\': r = '\\'; break;
            case '\'': r = '\''; break;
            case '"': r = '"'; break;
            case 'n': r = '\n'; break;
            case 't': r = '\t'; break;
            case 'r': r = '\r'; break;
            default:
                return fail(p, p->i, "invalid escape sequence '\\%c' in string literal", e);
            }
            if (text_add(p, t, &r, 1, &cap) != 0)
                return -1;
            p->i += 2;
            continue;
        }
        if (text_add(p, t, &c, 1, &cap) != 0)
            return -1;
        p->i++;
    }
}

/* One path segment: an identifier or `anything` (`` for a backquote). */
static int lex_segment(parser *p, tok *t, size_t *cap, int *quoted)
{
    if (p->s[p->i] == '`') {
        size_t start = p->i++;
        size_t before = t->len;
        *quoted = 1;
        for (;;) {
            if (p->i >= p->len)
                return fail(p, start, "unterminated quoted field name");
            if (p->s[p->i] == '`') {
                if (p->i + 1 < p->len && p->s[p->i + 1] == '`') {
                    if (text_add(p, t, "`", 1, cap) != 0)
                        return -1;
                    p->i += 2;
                    continue;
                }
                p->i++;
                break;
            }
            if (text_add(p, t, p->s + p->i, 1, cap) != 0)
                return -1;
            p->i++;
        }
        if (t->len == before)
            return fail(p, start, "empty quoted field name");
        return 0;
    }
    size_t start = p->i;
    while (p->i < p->len && is_ident(p->s[p->i]))
        p->i++;
    return text_add(p, t, p->s + start, p->i - start, cap);
}

static int lex_path(parser *p, tok *t)
{
    size_t cap = 0;
    int quoted = 0, segments = 0;
    t->kind = T_PATH;
    for (;;) {
        if (lex_segment(p, t, &cap, &quoted) != 0)
            return -1;
        segments++;
        if (p->i + 1 < p->len && p->s[p->i] == '.' &&
            (is_ident_start(p->s[p->i + 1]) || p->s[p->i + 1] == '`')) {
            if (text_add(p, t, ".", 1, &cap) != 0)
                return -1;
            p->i++;
            continue;
        }
        break;
    }
    t->simple = segments == 1 && !quoted;
    return 0;
}

static int lex_number(parser *p, tok *t)
{
    size_t start = p->i;
    int is_float = 0;
    while (p->i < p->len && is_digit(p->s[p->i]))
        p->i++;
    if (p->i + 1 < p->len && p->s[p->i] == '.' && is_digit(p->s[p->i + 1])) {
        is_float = 1;
        p->i++;
        while (p->i < p->len && is_digit(p->s[p->i]))
            p->i++;
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        size_t j = p->i + 1;
        if (j < p->len && (p->s[j] == '+' || p->s[j] == '-'))
            j++;
        if (j < p->len && is_digit(p->s[j])) {
            is_float = 1;
            p->i = j;
            while (p->i < p->len && is_digit(p->s[p->i]))
                p->i++;
        }
    }
    if (p->i < p->len && (is_ident(p->s[p->i]) || p->s[p->i] == '.'))
        return fail(p, start, "invalid number '%.*s'", (int)(p->i - start + 1), p->s + start);
    char buf[400];
    size_t n = p->i - start;
    if (n >= sizeof(buf))
        return fail(p, start, "number literal too long");
    memcpy(buf, p->s + start, n);
    buf[n] = '\0';
    errno = 0;
    if (is_float) {
        t->kind = T_FLOAT;
        t->f = strtod(buf, NULL);
        if (errno == ERANGE || !isfinite(t->f))
            return fail(p, start, "number '%s' is out of range", buf);
    } else {
        t->kind = T_INT;
        long long v = strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            return fail(p, start, "integer '%s' is out of range", buf);
        t->i = v;
    }
    return 0;
}

static int lex_env(parser *p, tok *t)
{
    size_t start = p->i;
    p->i += 2; /* ${ */
    size_t ns = p->i;
    if (p->i >= p->len || !is_ident_start(p->s[p->i]))
        return fail(p, start, "invalid environment variable reference (expected ${NAME} or ${NAME:-default})");
    int is_tenant = p->len - ns > 7 && strncmp(p->s + ns, "tenant.", 7) == 0;
    while (p->i < p->len && (is_ident(p->s[p->i]) || (is_tenant && (p->s[p->i] == '.' || p->s[p->i] == '-'))))
        p->i++;
    size_t nlen = p->i - ns;
    const char *def = NULL;
    size_t dlen = 0;
    if (p->i + 1 < p->len && p->s[p->i] == ':' && p->s[p->i + 1] == '-') {
        p->i += 2;
        def = p->s + p->i;
        while (p->i < p->len && p->s[p->i] != '}')
            p->i++;
        dlen = (size_t)(p->s + p->i - def);
    }
    if (p->i >= p->len || p->s[p->i] != '}')
        return fail(p, start, "unterminated environment variable reference (missing '}')");
    p->i++;
    char name[256];
    if (nlen >= sizeof(name))
        return fail(p, start, "environment variable name too long");
    memcpy(name, p->s + ns, nlen);
    name[nlen] = '\0';
    const char *val = NULL;
    int found = 0;
    if (is_tenant) {
        /* a tenant's column (core/tenant.c): read from its row when the template is instantiated;
         * without a row (the file checked for itself) the constant stands for it as '' */
        char *tv = NULL;
        int r = syncc_conf_tenant_value(name + 7, &tv);
        size_t cap = 0;
        t->kind = T_ENV;
        if (r == -1)
            return text_add(p, t, "", 0, &cap);
        if (r == 1 && (def == NULL || tv[0] != '\0')) {
            int rc = text_add(p, t, tv, strlen(tv), &cap);
            free(tv);
            return rc;
        }
        free(tv);
        if (def != NULL)
            return text_add(p, t, def, dlen, &cap);
        return fail(p, start, "the tenant's row has no value for ${%s}", name);
    }
    for (const char *const *v = p->vars; v != NULL && v[0] != NULL; v += 2) {
        if (strcmp(v[0], name) == 0) {
            val = v[1];
            found = 1;
        }
    }
    if (!found)
        val = getenv(name);
    size_t cap = 0;
    t->kind = T_ENV;
    if (val != NULL && (def == NULL || val[0] != '\0'))
        return text_add(p, t, val, strlen(val), &cap);
    if (def != NULL)
        return text_add(p, t, def, dlen, &cap);
    return fail(p, start, "environment variable %s is not set", name);
}

static int lex_meta(parser *p, tok *t)
{
    static const char *const names[] = {[SYNCC_XM_KEY] = "key", [SYNCC_XM_OP] = "op",
                                        [SYNCC_XM_STREAM] = "stream", [SYNCC_XM_CURSOR] = "cursor"};
    size_t start = p->i++;
    while (p->i < p->len && is_ident(p->s[p->i]))
        p->i++;
    size_t n = p->i - start - 1;
    for (int k = 0; k < 4; k++) {
        if (strlen(names[k]) == n && strncasecmp(names[k], p->s + start + 1, n) == 0) {
            t->kind = T_META;
            t->op = k;
            return 0;
        }
    }
    return fail(p, start, "unknown record attribute '@%.*s' (known: @key, @op, @stream, @cursor)",
                (int)n, p->s + start + 1);
}

static void tok_clear(tok *t)
{
    free(t->text);
    memset(t, 0, sizeof(*t));
}

static int next(parser *p)
{
    tok *t = &p->t;
    tok_clear(t);
    while (p->i < p->len && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\r' ||
                             p->s[p->i] == '\n'))
        p->i++;
    t->pos = p->i;
    if (p->i >= p->len) {
        t->kind = T_EOF;
        return 0;
    }
    char c = p->s[p->i], d = p->i + 1 < p->len ? p->s[p->i + 1] : '\0';
    if (c == '\'' || c == '"')
        return lex_string(p, t);
    if (is_ident_start(c) || c == '`')
        return lex_path(p, t);
    if (is_digit(c))
        return lex_number(p, t);
    if (c == '$' && d == '{')
        return lex_env(p, t);
    if (c == '@')
        return lex_meta(p, t);
    t->kind = T_OP;
    p->i++;
    switch (c) {
    case '(': t->kind = T_LP; return 0;
    case ')': t->kind = T_RP; return 0;
    case ',': t->kind = T_COMMA; return 0;
    case '+': t->op = SYNCC_XO_ADD; return 0;
    case '-': t->op = SYNCC_XO_SUB; return 0;
    case '*': t->op = SYNCC_XO_MUL; return 0;
    case '/': t->op = SYNCC_XO_DIV; return 0;
    case '=':
        if (d == '=')
            p->i++;
        t->op = SYNCC_XO_EQ;
        return 0;
    case '!':
        if (d == '=') {
            p->i++;
            t->op = SYNCC_XO_NE;
            return 0;
        }
        break;
    case '<':
        if (d == '=') {
            p->i++;
            t->op = SYNCC_XO_LE;
        } else if (d == '>') {
            p->i++;
            t->op = SYNCC_XO_NE;
        } else {
            t->op = SYNCC_XO_LT;
        }
        return 0;
    case '>':
        if (d == '=') {
            p->i++;
            t->op = SYNCC_XO_GE;
        } else {
            t->op = SYNCC_XO_GT;
        }
        return 0;
    case '|':
        if (d == '|') {
            p->i++;
            t->op = SYNCC_XO_CAT;
            return 0;
        }
        break;
    default:
        break;
    }
    if ((unsigned char)c < 0x20 || (unsigned char)c >= 0x7f)
        return fail(p, t->pos, "unexpected character (byte 0x%02x)", (unsigned char)c);
    return fail(p, t->pos, "unexpected character '%c'", c);
}

/* ---- nodes -------------------------------------------------------------- */

void syncc_xnode_free(syncc_xnode *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nargs; i++)
        syncc_xnode_free(n->args[i]);
    free(n->args);
    free(n->owned);
    if (n->aux_free)
        n->aux_free(n->aux);
    free(n);
}

static syncc_xnode *node_new(parser *p, syncc_xkind kind, size_t pos)
{
    syncc_xnode *n = calloc(1, sizeof(*n));
    if (n == NULL) {
        fail(p, pos, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->pos = pos;
    n->type = SYNCC_XT_ANY;
    return n;
}

static int set_const_text(parser *p, syncc_xnode *n, sync_type type, const char *s, size_t len)
{
    free(n->owned);
    n->owned = malloc(len + 1);
    if (n->owned == NULL)
        return fail(p, n->pos, "out of memory");
    if (len)
        memcpy(n->owned, s, len);
    n->owned[len] = '\0';
    n->val.type = type;
    n->val.u.str.ptr = n->owned;
    n->val.u.str.len = len;
    n->type = (int)type;
    return 0;
}

/* Sets n->height from its arguments; long chains (a + a + ... + a) are refused. */
static int set_height(parser *p, syncc_xnode *n)
{
    int h = 0;
    for (size_t i = 0; i < n->nargs; i++)
        if (n->args[i]->height > h)
            h = n->args[i]->height;
    n->height = h + 1;
    if (n->height > MAX_HEIGHT)
        return fail(p, n->pos, "expression nested too deeply");
    return 0;
}

/* Evaluates a node whose arguments are all constants and turns it into a constant. */
static int fold(parser *p, syncc_xnode *n)
{
    if (n->kind == SYNCC_XN_CALL && !n->fn->pure)
        return 0;
    for (size_t i = 0; i < n->nargs; i++)
        if (n->args[i]->kind != SYNCC_XN_CONST)
            return 0;
    syncc_xeval ev;
    memset(&ev, 0, sizeof(ev));
    ev.vals = calloc(n->nargs + 1, sizeof(sync_value));
    if (ev.vals == NULL)
        return fail(p, n->pos, "out of memory");
    n->voff = 0;
    sync_value v;
    int rc = syncc_xeval_node(&ev, n, &v);
    char *copy = NULL;
    if (rc != 0) {
        fail(p, n->pos, "%s", ev.err);
    } else if ((v.type == SYNC_TYPE_STRING || v.type == SYNC_TYPE_JSON) &&
               (copy = malloc(v.u.str.len + 1)) == NULL) {
        rc = fail(p, n->pos, "out of memory");
    } else {
        /* v may point into a constant argument or the scratch: copy before freeing them */
        if (copy != NULL) {
            memcpy(copy, v.u.str.ptr, v.u.str.len);
            copy[v.u.str.len] = '\0';
            v.u.str.ptr = copy;
        }
        int inferred = n->type;
        for (size_t i = 0; i < n->nargs; i++)
            syncc_xnode_free(n->args[i]);
        free(n->args);
        n->args = NULL;
        n->nargs = 0;
        n->fn = NULL;
        if (n->aux_free)
            n->aux_free(n->aux);
        n->aux = NULL;
        n->aux_free = NULL;
        n->kind = SYNCC_XN_CONST;
        n->height = 0;
        free(n->owned);
        n->owned = copy;
        n->val = v;
        n->type = v.type == SYNC_TYPE_NULL && inferred != SYNCC_XT_ANY ? inferred : (int)v.type;
    }
    free(ev.vals);
    syncc_xscratch_free(&ev.scratch);
    return rc;
}

static size_t slot_for(parser *p, const char *path, size_t pos)
{
    syncc_xslots *s = p->slots;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].path, path) == 0)
            return i;
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 16;
        syncc_xslot *v = realloc(s->v, nc * sizeof(*v));
        if (v == NULL) {
            fail(p, pos, "out of memory");
            return (size_t)-1;
        }
        s->v = v;
        s->cap = nc;
    }
    syncc_xslot *sl = &s->v[s->n];
    memset(sl, 0, sizeof(*sl));
    sl->pos = -1;
    if ((sl->path = strdup(path)) == NULL) {
        fail(p, pos, "out of memory");
        return (size_t)-1;
    }
    return s->n++;
}

/* ---- static types of operators ------------------------------------------ */

static const char *tname(int t)
{
    return t == SYNCC_XT_ANY ? "any" : syncc_type_name((sync_type)t);
}

static int maybe_numeric(int t)
{
    return t == SYNCC_XT_ANY || t == SYNC_TYPE_NULL || t == SYNC_TYPE_INT || t == SYNC_TYPE_FLOAT;
}

static int maybe_truth(int t)
{
    return t == SYNCC_XT_ANY || t == SYNC_TYPE_NULL || t == SYNC_TYPE_BOOL || t == SYNC_TYPE_INT ||
           t == SYNC_TYPE_FLOAT || t == SYNC_TYPE_STRING;
}

static int comparable(int a, int b)
{
    if (a == SYNCC_XT_ANY || b == SYNCC_XT_ANY || a == SYNC_TYPE_NULL || b == SYNC_TYPE_NULL)
        return 1;
    if (a == SYNC_TYPE_STRING || b == SYNC_TYPE_STRING)
        return 1; /* read as the other type at run time */
    int na = a == SYNC_TYPE_INT || a == SYNC_TYPE_FLOAT, nb = b == SYNC_TYPE_INT || b == SYNC_TYPE_FLOAT;
    int ta = a == SYNC_TYPE_TIMESTAMP || a == SYNC_TYPE_DATE, tb = b == SYNC_TYPE_TIMESTAMP || b == SYNC_TYPE_DATE;
    return (na && nb) || (ta && tb) || a == b;
}

static const char *op_name(int op)
{
    switch (op) {
    case SYNCC_XO_NEG: return "-";
    case SYNCC_XO_NOT: return "not";
    case SYNCC_XO_ADD: return "+";
    case SYNCC_XO_SUB: return "-";
    case SYNCC_XO_MUL: return "*";
    case SYNCC_XO_DIV: return "/";
    case SYNCC_XO_CAT: return "||";
    case SYNCC_XO_EQ: return "=";
    case SYNCC_XO_NE: return "!=";
    case SYNCC_XO_LT: return "<";
    case SYNCC_XO_LE: return "<=";
    case SYNCC_XO_GT: return ">";
    case SYNCC_XO_GE: return ">=";
    case SYNCC_XO_AND: return "and";
    default: return "or";
    }
}

static int infer_op(parser *p, syncc_xnode *n)
{
    int a = n->args[0]->type, b = n->nargs > 1 ? n->args[1]->type : SYNCC_XT_ANY;
    switch (n->op) {
    case SYNCC_XO_NEG:
        if (!maybe_numeric(a))
            return fail(p, n->pos, "operator - cannot be applied to %s", tname(a));
        n->type = a == SYNC_TYPE_NULL ? SYNCC_XT_ANY : a;
        return 0;
    case SYNCC_XO_NOT:
    case SYNCC_XO_AND:
    case SYNCC_XO_OR:
        if (!maybe_truth(a) || !maybe_truth(b))
            return fail(p, n->pos, "operator %s cannot be applied to %s", op_name(n->op),
                        tname(maybe_truth(a) ? b : a));
        n->type = SYNC_TYPE_BOOL;
        return 0;
    case SYNCC_XO_CAT:
        n->type = SYNC_TYPE_STRING;
        return 0;
    case SYNCC_XO_ADD:
    case SYNCC_XO_SUB:
    case SYNCC_XO_MUL:
    case SYNCC_XO_DIV:
        if (!maybe_numeric(a) || !maybe_numeric(b))
            return fail(p, n->pos, "operator %s cannot be applied to %s%s", op_name(n->op),
                        tname(maybe_numeric(a) ? b : a),
                        (a == SYNC_TYPE_STRING || b == SYNC_TYPE_STRING) ? " (use || to join strings)" : "");
        if (a == SYNC_TYPE_INT && b == SYNC_TYPE_INT)
            n->type = SYNC_TYPE_INT;
        else if (a == SYNC_TYPE_FLOAT || b == SYNC_TYPE_FLOAT)
            n->type = SYNC_TYPE_FLOAT;
        else
            n->type = SYNCC_XT_ANY;
        return 0;
    default:
        if (!comparable(a, b))
            return fail(p, n->pos, "cannot compare %s with %s", tname(a), tname(b));
        n->type = SYNC_TYPE_BOOL;
        return 0;
    }
}

/* ---- parser ------------------------------------------------------------- */

static syncc_xnode *parse_expr(parser *p);

static int is_kw(const tok *t, const char *kw)
{
    return t->kind == T_PATH && t->simple && strcasecmp(t->text, kw) == 0;
}

static syncc_xnode *make_op(parser *p, syncc_xkind kind, int op, size_t pos, syncc_xnode *a, syncc_xnode *b)
{
    syncc_xnode *n = node_new(p, kind, pos);
    if (n == NULL || (n->args = calloc(2, sizeof(*n->args))) == NULL) {
        fail(p, pos, "out of memory");
        free(n);
        syncc_xnode_free(a);
        syncc_xnode_free(b);
        return NULL;
    }
    n->op = op;
    n->args[0] = a;
    n->nargs = 1;
    if (b != NULL) {
        n->args[1] = b;
        n->nargs = 2;
    }
    if (set_height(p, n) != 0 || infer_op(p, n) != 0 || fold(p, n) != 0) {
        syncc_xnode_free(n);
        return NULL;
    }
    return n;
}

static syncc_xnode *parse_call(parser *p, char *name, size_t pos)
{
    const syncc_xfunc *fn = syncc_xfunc_find(name, strlen(name));
    if (fn == NULL) {
        const char *near = syncc_xfunc_closest(name, strlen(name));
        if (near != NULL)
            fail(p, pos, "unknown function '%s' (did you mean '%s'?)", name, near);
        else
            fail(p, pos, "unknown function '%s'", name);
        return NULL;
    }
    syncc_xnode *n = node_new(p, SYNCC_XN_CALL, pos);
    if (n == NULL)
        return NULL;
    n->fn = fn;
    size_t cap = 0;
    if (next(p) != 0) /* past '(' */
        goto err;
    if (p->t.kind != T_RP) {
        for (;;) {
            syncc_xnode *a = parse_expr(p);
            if (a == NULL)
                goto err;
            if (n->nargs == cap) {
                size_t nc = cap ? cap * 2 : 4;
                syncc_xnode **v = realloc(n->args, nc * sizeof(*v));
                if (v == NULL) {
                    syncc_xnode_free(a);
                    fail(p, pos, "out of memory");
                    goto err;
                }
                n->args = v;
                cap = nc;
            }
            n->args[n->nargs++] = a;
            if (p->t.kind == T_COMMA) {
                if (next(p) != 0)
                    goto err;
                continue;
            }
            if (p->t.kind == T_RP)
                break;
            fail(p, p->t.pos, "expected ',' or ')' in the arguments of %s()", fn->name);
            goto err;
        }
    }
    if (next(p) != 0) /* past ')' */
        goto err;
    if ((int)n->nargs < fn->min_args || (fn->max_args >= 0 && (int)n->nargs > fn->max_args)) {
        if (fn->min_args == fn->max_args)
            fail(p, pos, "%s() takes %d argument%s, got %zu (%s)", fn->name, fn->min_args,
                 fn->min_args == 1 ? "" : "s", n->nargs, fn->signature);
        else if (fn->max_args < 0)
            fail(p, pos, "%s() takes at least %d argument%s, got %zu (%s)", fn->name, fn->min_args,
                 fn->min_args == 1 ? "" : "s", n->nargs, fn->signature);
        else
            fail(p, pos, "%s() takes %d to %d arguments, got %zu (%s)", fn->name, fn->min_args,
                 fn->max_args, n->nargs, fn->signature);
        goto err;
    }
    if (set_height(p, n) != 0)
        goto err;
    size_t epos = pos;
    if (fn->infer(n, p->err, p->errlen, &epos) != 0) {
        p->failed = 1;
        p->errpos = epos;
        goto err;
    }
    if (fold(p, n) != 0)
        goto err;
    return n;
err:
    syncc_xnode_free(n);
    return NULL;
}

static syncc_xnode *parse_primary(parser *p)
{
    tok *t = &p->t;
    size_t pos = t->pos;
    syncc_xnode *n = NULL;
    switch (t->kind) {
    case T_EOF:
        fail(p, pos, "expected an expression, found the end of the text");
        return NULL;
    case T_LP: {
        if (next(p) != 0)
            return NULL;
        n = parse_expr(p);
        if (n == NULL)
            return NULL;
        if (p->t.kind != T_RP) {
            fail(p, p->t.pos, "expected ')'");
            syncc_xnode_free(n);
            return NULL;
        }
        break;
    }
    case T_STR:
    case T_ENV:
        if ((n = node_new(p, SYNCC_XN_CONST, pos)) == NULL)
            return NULL;
        if (set_const_text(p, n, SYNC_TYPE_STRING, t->text, t->len) != 0) {
            syncc_xnode_free(n);
            return NULL;
        }
        break;
    case T_INT:
    case T_FLOAT:
        if ((n = node_new(p, SYNCC_XN_CONST, pos)) == NULL)
            return NULL;
        if (t->kind == T_INT) {
            n->val.type = SYNC_TYPE_INT;
            n->val.u.i = t->i;
        } else {
            n->val.type = SYNC_TYPE_FLOAT;
            n->val.u.f = t->f;
        }
        n->type = (int)n->val.type;
        break;
    case T_META:
        if ((n = node_new(p, SYNCC_XN_META, pos)) == NULL)
            return NULL;
        n->op = t->op;
        n->type = SYNC_TYPE_STRING;
        break;
    case T_PATH:
        if (t->simple && (is_kw(t, "true") || is_kw(t, "false") || is_kw(t, "null"))) {
            if ((n = node_new(p, SYNCC_XN_CONST, pos)) == NULL)
                return NULL;
            if (is_kw(t, "null")) {
                n->val.type = SYNC_TYPE_NULL;
            } else {
                n->val.type = SYNC_TYPE_BOOL;
                n->val.u.b = is_kw(t, "true");
            }
            n->type = (int)n->val.type;
            break;
        }
        if (is_kw(t, "and") || is_kw(t, "or")) {
            fail(p, pos, "expected an expression, found '%s'", t->text);
            return NULL;
        }
        if (is_kw(t, "not")) {
            /* "a = not b": not binds looser than comparisons and operators */
            fail(p, pos, "'not' needs parentheses here, as in (not x)");
            return NULL;
        }
        if (t->simple) {
            /* a name followed by '(' is a function call */
            size_t j = p->i;
            while (j < p->len && (p->s[j] == ' ' || p->s[j] == '\t'))
                j++;
            if (j < p->len && p->s[j] == '(') {
                char *name = t->text;
                t->text = NULL;
                p->i = j;
                if (next(p) != 0) { /* now at '(' */
                    free(name);
                    return NULL;
                }
                n = parse_call(p, name, pos);
                free(name);
                return n;
            }
        }
        if ((n = node_new(p, SYNCC_XN_FIELD, pos)) == NULL)
            return NULL;
        n->slot = slot_for(p, t->text, pos);
        if (n->slot == (size_t)-1) {
            syncc_xnode_free(n);
            return NULL;
        }
        break;
    case T_RP:
        fail(p, pos, "unexpected ')'");
        return NULL;
    case T_COMMA:
        fail(p, pos, "unexpected ','");
        return NULL;
    case T_OP:
        fail(p, pos, "expected an expression, found operator '%s'", op_name(t->op));
        return NULL;
    }
    if (next(p) != 0) {
        syncc_xnode_free(n);
        return NULL;
    }
    return n;
}

static syncc_xnode *parse_unary(parser *p)
{
    if (p->t.kind == T_OP && (p->t.op == SYNCC_XO_SUB || p->t.op == SYNCC_XO_ADD)) {
        int neg = p->t.op == SYNCC_XO_SUB;
        size_t pos = p->t.pos;
        if (++p->depth > MAX_DEPTH) {
            fail(p, pos, "expression nested too deeply");
            return NULL;
        }
        if (next(p) != 0)
            return NULL;
        syncc_xnode *a = parse_unary(p);
        p->depth--;
        if (a == NULL)
            return NULL;
        if (!neg) {
            if (!maybe_numeric(a->type)) {
                fail(p, pos, "operator + cannot be applied to %s", tname(a->type));
                syncc_xnode_free(a);
                return NULL;
            }
            return a;
        }
        return make_op(p, SYNCC_XN_UNARY, SYNCC_XO_NEG, pos, a, NULL);
    }
    return parse_primary(p);
}

static syncc_xnode *parse_binary_level(parser *p, int level);

/* Levels, loosest first: or, and, not, comparison, ||, + -, * / */
static int level_of(const tok *t, int level)
{
    switch (level) {
    case 0: return is_kw(t, "or") ? SYNCC_XO_OR : -1;
    case 1: return is_kw(t, "and") ? SYNCC_XO_AND : -1;
    case 3:
        if (t->kind == T_OP && t->op >= SYNCC_XO_EQ && t->op <= SYNCC_XO_GE)
            return t->op;
        return -1;
    case 4: return t->kind == T_OP && t->op == SYNCC_XO_CAT ? SYNCC_XO_CAT : -1;
    case 5:
        return t->kind == T_OP && (t->op == SYNCC_XO_ADD || t->op == SYNCC_XO_SUB) ? t->op : -1;
    case 6:
        return t->kind == T_OP && (t->op == SYNCC_XO_MUL || t->op == SYNCC_XO_DIV) ? t->op : -1;
    default: return -1;
    }
}

static syncc_xnode *parse_binary_level(parser *p, int level)
{
    if (level == 7)
        return parse_unary(p);
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->t.pos, "expression nested too deeply");
        return NULL;
    }
    syncc_xnode *n = NULL;
    if (level == 2) {
        if (is_kw(&p->t, "not")) {
            size_t pos = p->t.pos;
            if (next(p) == 0) {
                syncc_xnode *a = parse_binary_level(p, 2);
                if (a != NULL)
                    n = make_op(p, SYNCC_XN_UNARY, SYNCC_XO_NOT, pos, a, NULL);
            }
        } else {
            n = parse_binary_level(p, 3);
        }
        p->depth--;
        return n;
    }
    n = parse_binary_level(p, level + 1);
    int op;
    while (n != NULL && (op = level_of(&p->t, level)) >= 0) {
        size_t pos = p->t.pos;
        if (next(p) != 0) {
            syncc_xnode_free(n);
            n = NULL;
            break;
        }
        syncc_xnode *b = parse_binary_level(p, level + 1);
        if (b == NULL) {
            syncc_xnode_free(n);
            n = NULL;
            break;
        }
        n = make_op(p, SYNCC_XN_BINARY, op, pos, n, b);
        if (level == 3 && n != NULL && level_of(&p->t, 3) >= 0) {
            fail(p, p->t.pos, "comparison operators do not chain; use parentheses and 'and'");
            syncc_xnode_free(n);
            n = NULL;
        }
    }
    p->depth--;
    return n;
}

static syncc_xnode *parse_expr(parser *p)
{
    return parse_binary_level(p, 0);
}

syncc_xnode *syncc_xparse(const char *text, const char *const *vars, syncc_xslots *slots, char *err,
                          size_t errlen, size_t *errpos)
{
    parser p;
    memset(&p, 0, sizeof(p));
    p.vars = vars;
    p.s = text;
    p.len = strlen(text);
    p.slots = slots;
    p.err = err;
    p.errlen = errlen;
    syncc_xnode *n = NULL;
    if (next(&p) == 0) {
        if (p.t.kind == T_EOF)
            fail(&p, 0, "empty expression");
        else if ((n = parse_expr(&p)) != NULL && p.t.kind != T_EOF) {
            if (p.t.kind == T_RP)
                fail(&p, p.t.pos, "unbalanced ')'");
            else
                fail(&p, p.t.pos, "unexpected text after the expression");
            syncc_xnode_free(n);
            n = NULL;
        }
    }
    tok_clear(&p.t);
    if (n == NULL && !p.failed)
        fail(&p, 0, "invalid expression");
    *errpos = p.errpos;
    return n;
}

static size_t assign(syncc_xnode *n, size_t next_free)
{
    if (n->kind == SYNCC_XN_CALL) {
        n->voff = next_free;
        next_free += n->nargs;
    }
    for (size_t i = 0; i < n->nargs; i++)
        next_free = assign(n->args[i], next_free);
    return next_free;
}

size_t syncc_xassign_vals(syncc_xnode *n, size_t base)
{
    return assign(n, base);
}
