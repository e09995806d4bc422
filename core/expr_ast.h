/*
 * core/expr_ast.h - the compiled form of mapping expressions, shared by the
 * lexer/parser (expr_parse.c), the evaluator (expr_eval.c), the function
 * library (expr_func.c) and the mapping stage (mapping.c).
 *
 * An expression compiles to a tree of nodes.  Every node knows its static
 * type when it can be known at compile time (SYNCC_XT_ANY otherwise), and the
 * byte offset of its text for error messages.  Constant subtrees are folded at
 * compile time, so per-record evaluation only walks what depends on the
 * record.  Evaluation does not allocate (except in the functions that parse
 * JSON, and for a regular expression computed per record): string results
 * live in a scratch buffer (syncc_xscratch) that is emptied once per record,
 * and every call node owns a fixed slice of a value array for its evaluated
 * arguments.
 */
#ifndef SYNCC_EXPR_AST_H
#define SYNCC_EXPR_AST_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sync/host.h>

/* Static type of a node whose type depends on the record. */
#define SYNCC_XT_ANY (-1)

typedef enum syncc_xkind {
    SYNCC_XN_CONST,
    SYNCC_XN_FIELD,
    SYNCC_XN_META,
    SYNCC_XN_UNARY,
    SYNCC_XN_BINARY,
    SYNCC_XN_CALL
} syncc_xkind;

typedef enum syncc_xop {
    SYNCC_XO_NEG,
    SYNCC_XO_NOT,
    SYNCC_XO_ADD,
    SYNCC_XO_SUB,
    SYNCC_XO_MUL,
    SYNCC_XO_DIV,
    SYNCC_XO_CAT,
    SYNCC_XO_EQ,
    SYNCC_XO_NE,
    SYNCC_XO_LT,
    SYNCC_XO_LE,
    SYNCC_XO_GT,
    SYNCC_XO_GE,
    SYNCC_XO_AND,
    SYNCC_XO_OR
} syncc_xop;

typedef enum syncc_xmeta {
    SYNCC_XM_KEY,
    SYNCC_XM_OP,
    SYNCC_XM_STREAM,
    SYNCC_XM_CURSOR
} syncc_xmeta;

typedef struct syncc_xnode syncc_xnode;
typedef struct syncc_xeval syncc_xeval;
typedef struct syncc_xfunc syncc_xfunc;

struct syncc_xnode {
    syncc_xkind kind;
    int op;                 /* syncc_xop for UNARY/BINARY, syncc_xmeta for META */
    int type;               /* static sync_type, or SYNCC_XT_ANY */
    size_t pos;             /* byte offset of the node's text in the expression */
    sync_value val;         /* CONST */
    char *owned;            /* CONST string/JSON bytes, owned by the node */
    size_t slot;            /* FIELD: index into the mapping's field slots */
    const syncc_xfunc *fn;  /* CALL */
    syncc_xnode **args;     /* UNARY: 1, BINARY: 2, CALL: nargs */
    size_t nargs;
    size_t voff;            /* CALL: offset of its argument values in syncc_xeval.vals */
    int height;             /* longest path to a leaf (bounds evaluation recursion) */
    void *aux;              /* CALL: what the function prepared at compile time (a compiled
                               regular expression), freed with the node by aux_free */
    void (*aux_free)(void *aux);
};

/* ---- scratch memory for values produced during one evaluation ---------- */

typedef struct syncc_xchunk syncc_xchunk;

typedef struct syncc_xscratch {
    syncc_xchunk *cur;      /* newest chunk; older ones follow ->next */
} syncc_xscratch;

void *syncc_xscratch_alloc(syncc_xscratch *s, size_t n);
/* Forgets everything allocated; keeps (and coalesces) the memory. */
void syncc_xscratch_reset(syncc_xscratch *s);
void syncc_xscratch_free(syncc_xscratch *s);

/* Builds one string in scratch memory; nothing else may use the scratch meanwhile. */
typedef struct syncc_xbuf {
    syncc_xscratch *s;
    char *p;
    size_t len, cap;
    int oom;
} syncc_xbuf;

void syncc_xbuf_begin(syncc_xbuf *b, syncc_xscratch *s);
/* Makes room for n more bytes (and the NUL); -1 once memory ran out. */
int syncc_xbuf_grow(syncc_xbuf *b, size_t n);

static inline void syncc_xbuf_add(syncc_xbuf *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap && syncc_xbuf_grow(b, n) != 0)
        return;
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void syncc_xbuf_addc(syncc_xbuf *b, char c)
{
    if (b->len + 2 > b->cap && syncc_xbuf_grow(b, 1) != 0)
        return;
    b->p[b->len++] = c;
}
/* Finishes the string (NUL-terminated); returns -1 if memory ran out. */
int syncc_xbuf_end(syncc_xbuf *b, const char **p, size_t *len);

/* ---- evaluation --------------------------------------------------------- */

/* A source field path referenced by the mapping, with its lookup cache. */
typedef struct syncc_xslot {
    char *path;
    size_t hint;            /* the field's position in the last record that had it */
    uint64_t seen;          /* evaluation serial number of the cached lookup */
    long pos;               /* cached position in the current record, -1 absent */
} syncc_xslot;

struct syncc_xeval {
    const sync_record *in;  /* NULL while folding constants */
    syncc_xslot *slots;
    uint64_t serial;        /* bumped per record */
    int64_t now;
    int strict;             /* absent fields are errors */
    syncc_xscratch scratch;
    sync_value *vals;       /* argument values of every call node */
    char err[512];          /* the evaluation error, without the column prefix */
};

/*
 * Evaluates node n into *out.  String/JSON results point into the input
 * record, a constant or the scratch buffer, and are valid until the next
 * syncc_xscratch_reset.  Returns 0, or -1 with ev->err set.
 */
int syncc_xeval_node(syncc_xeval *ev, const syncc_xnode *n, sync_value *out);

/* Records an evaluation error; always returns -1. */
int syncc_xerr(syncc_xeval *ev, const char *fmt, ...) SYNC_PRINTF(2, 3);

/* Quotes a value for an error message ("'abc'", "42", "null"), truncated. */
const char *syncc_xquote(const sync_value *v, char *buf, size_t size);

/* Canonical text of a non-string value (as syncc_value_to_text) into buf (>= 48 bytes). */
int syncc_xformat(const sync_value *v, char *buf, size_t size, size_t *len);

/* Text form of any non-null value (strings as is), in scratch memory if needed. */
int syncc_xtext(syncc_xeval *ev, const sync_value *v, const char **p, size_t *len);

/* Parses the whole of s (blanks around allowed) as an integer, else a finite float. */
int syncc_xparse_number(const char *s, size_t len, sync_value *out);
/* true/false, 1/0, yes/no, on/off, case-insensitive; -1 for anything else. */
int syncc_xbool_text(const char *s, size_t len, int *out);
/* Truth value of v for not/and/or/if(): 1, 0, or 2 for null; -1 + ev->err on error. */
int syncc_xtruth(syncc_xeval *ev, const sync_value *v);

/* Type-aware comparison; *cmp gets <0, 0, >0.  -1 + ev->err if incomparable. */
int syncc_xcompare(syncc_xeval *ev, const sync_value *a, const sync_value *b, int *cmp);

/* ---- functions ---------------------------------------------------------- */

typedef int (*syncc_xfn_eval)(syncc_xeval *ev, const syncc_xnode *n, sync_value *out);
/* Sets n->type from the arguments' static types; -1 + message (and *pos) on a type error. */
typedef int (*syncc_xfn_infer)(syncc_xnode *n, char *err, size_t errlen, size_t *pos);

struct syncc_xfunc {
    const char *name;       /* lower case */
    int min_args, max_args; /* max_args -1: unbounded */
    int pure;               /* result depends on the arguments only (foldable) */
    int lazy;               /* evaluates its own arguments (if, coalesce, ...); otherwise
                               they are in ev->vals[n->voff ...] when eval is called */
    syncc_xfn_eval eval;
    syncc_xfn_infer infer;
    const char *signature;  /* for messages and docs */
};

/* Text and JSON functions (expr_text.c, expr_json.c), listed in expr_func.c's table. */
#define SYNCC_XFUNC_DECL(name) int name(syncc_xeval *ev, const syncc_xnode *n, sync_value *out)
#define SYNCC_XINFER_DECL(name) int name(syncc_xnode *n, char *err, size_t errlen, size_t *pos)
SYNCC_XFUNC_DECL(syncc_xf_contains_any);
SYNCC_XFUNC_DECL(syncc_xf_count_matches);
SYNCC_XFUNC_DECL(syncc_xf_matches);
SYNCC_XFUNC_DECL(syncc_xf_choose);
SYNCC_XFUNC_DECL(syncc_xf_md5);
SYNCC_XFUNC_DECL(syncc_xf_json_get);
SYNCC_XFUNC_DECL(syncc_xf_json_filter);
SYNCC_XFUNC_DECL(syncc_xf_json_pluck);
SYNCC_XFUNC_DECL(syncc_xf_json_grep);
SYNCC_XFUNC_DECL(syncc_xf_json_length);
SYNCC_XFUNC_DECL(syncc_xf_join);
SYNCC_XINFER_DECL(syncc_xi_matches);
SYNCC_XINFER_DECL(syncc_xi_choose);

/* Shared by the function files. */
void syncc_xset_null(sync_value *out);
/*
 * The text of call n's first argument, for functions that give null for a null
 * argument.  Returns 1 when it is null (out is then null: the function's
 * result), -1 on error, 0 with the text in *p, *len.
 */
int syncc_xtext_arg(syncc_xeval *ev, const syncc_xnode *n, sync_value *out, const char **p, size_t *len);
/* c lower-cased if it is an ASCII capital: the comparisons that ignore case fold only ASCII by byte. */
static inline unsigned char syncc_xascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}
/* The argument values of call node n. */
static inline const sync_value *syncc_xargs(syncc_xeval *ev, const syncc_xnode *n)
{
    return ev->vals + n->voff;
}
/* Whether any of the n values a[] is null. */
static inline int syncc_xany_null(const sync_value *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].type == SYNC_TYPE_NULL)
            return 1;
    return 0;
}
/* Decodes one UTF-8 sequence into *n bytes; 0xFFFFFFFF for an invalid byte (*n = 1). */
uint32_t syncc_xutf8_next(const unsigned char *s, size_t len, size_t *n);
/* Simple case mapping (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic). */
uint32_t syncc_xcase_map(uint32_t c, int upper);
/* Whether text h holds any of the n phrases (case-insensitive, as contains_any). */
int syncc_xtext_contains_any(const char *h, size_t hl, const char *const *phrases, const size_t *lens,
                             size_t n);
/* The MD5 digest of p as 32 lower-case hex digits and a NUL. */
void syncc_xmd5_hex(const char *p, size_t len, char hex[33]);
/* A string as a JSON string literal (escaped, invalid UTF-8 as U+FFFD). */
void syncc_xjson_string(syncc_xbuf *b, const char *p, size_t len);

/* Case-insensitive lookup; NULL if unknown. */
const syncc_xfunc *syncc_xfunc_find(const char *name, size_t len);
/* The known function whose name is closest to name (for "did you mean"). */
const char *syncc_xfunc_closest(const char *name, size_t len);

/* ---- compiling ---------------------------------------------------------- */

typedef struct syncc_xslots {
    syncc_xslot *v;
    size_t n, cap;
} syncc_xslots;

/*
 * Parses and type-checks one expression.  Field paths are added to slots
 * (deduplicated).  On error returns NULL, with the message in err and the
 * byte offset of the problem in *errpos.
 */
syncc_xnode *syncc_xparse(const char *text, const char *const *vars, syncc_xslots *slots, char *err,
                          size_t errlen, size_t *errpos);
void syncc_xnode_free(syncc_xnode *n);

/* Numbers every call node's argument slice; returns the total number of values needed. */
size_t syncc_xassign_vals(syncc_xnode *n, size_t base);

#endif /* SYNCC_EXPR_AST_H */
