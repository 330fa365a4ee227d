/*
 * Template engine internals shared by jp_tpl_*.c: the compiled tree, the
 * render state and the helper table. Not part of the public API.
 */

#ifndef JP_TPL_INT_H
#define JP_TPL_INT_H

#include "jp_tpl.h"


#define JP_TPL_EXPR_DEPTH_MAX   32      /* (subexpression) nesting */
#define JP_TPL_BLOCK_DEPTH_MAX  64      /* {{#block}} nesting */
#define JP_TPL_I18N_DEPTH_MAX   4       /* translations inside translations */
#define JP_TPL_ARGS_MAX         64
#define JP_TPL_MEMO_MAX         256     /* distinct includes per render */
#define JP_TPL_COMPONENTS_MAX   1024
#define JP_TPL_LIST_MAX         4096    /* file.list entries */
#define JP_TPL_DEPTH_CAP        64      /* the highest max_depth allowed */
#define JP_TPL_CALLS_MAX        10000   /* includes + component calls */
#define JP_TPL_WORK_PAGES       16      /* review: bytes computed by calls,
                                           in page limits (max_work) */
#define JP_TPL_PROGRAM_MAX      (2 * JP_TPL_SOURCE_MAX)  /* compiled bytes */
#define JP_TPL_REQ_DEPTH_MAX    2048    /* nesting of the context walked */

/* expression kinds */
enum {
    JP_TPL_E_LIT = 1,           /* string, number, true, false, null */
    JP_TPL_E_PATH,              /* a.b.c, this.x, @index */
    JP_TPL_E_CALL,              /* helper args... k=v... */
    JP_TPL_E_COMPONENT,         /* components.a.b k=v, components name=x */
    JP_TPL_E_ERROR              /* known at compile time to fail */
};

/* path roots */
enum {
    JP_TPL_R_NAME = 0,
    JP_TPL_R_THIS,
    JP_TPL_R_INDEX,
    JP_TPL_R_KEY,
    JP_TPL_R_FIRST,
    JP_TPL_R_LAST
};

/* node kinds */
enum {
    JP_TPL_N_TEXT = 1,
    JP_TPL_N_OUT,               /* {{expr}} */
    JP_TPL_N_LET,               /* {{let k=v}} */
    JP_TPL_N_BLOCK              /* {{#name ...}}...{{/name}} */
};

/* block kinds */
enum {
    JP_TPL_B_IF = 1,
    JP_TPL_B_UNLESS,
    JP_TPL_B_EACH,
    JP_TPL_B_WITH,
    JP_TPL_B_LET,
    JP_TPL_B_COMPONENT,
    JP_TPL_B_HELPER             /* #and, #eq, ...: truthiness of a helper */
};

/* helper ids that the renderer treats specially */
enum {
    JP_TPL_H_PLAIN = 0,
    JP_TPL_H_INCLUDE,
    JP_TPL_H_SAFE               /* output escaped already: not tainted */
};


typedef struct jp_tpl_expr_s    jp_tpl_expr_t;
typedef struct jp_tpl_node_s    jp_tpl_node_t;
typedef struct jp_tpl_rs_s      jp_tpl_rs_t;
typedef struct jp_tpl_chunk_s   jp_tpl_chunk_t;

/* A value during rendering: j is a held reference, NULL is undefined. */
typedef struct {
    json_t          *j;
    unsigned         taint;     /* came from the request: always escape */
} jp_tpl_val_t;

typedef int (*jp_tpl_helper_pt)(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e,
    jp_tpl_val_t *args, size_t nargs, jp_tpl_val_t *res);

typedef struct {
    const char      *name;
    jp_tpl_helper_pt fn;
    unsigned         id;
    unsigned         block;     /* usable as {{#name}} */
} jp_tpl_helper_t;

typedef struct {
    const char      *key;       /* NUL-terminated, may be dotted */
    jp_tpl_expr_t   *val;
} jp_tpl_hash_t;

typedef struct {
    const char      *name;      /* NUL-terminated */
    long             index;     /* a non-negative integer segment, or -1 */
    /* perf: set by jp_tpl_path_prepare() at compile time (0: not set) */
    size_t           len;       /* strlen(name) */
    uint64_t         key[2];    /* name's first 16 bytes, 0-padded */
    uint32_t         hash;      /* of key */
    uint32_t         cached;    /* 1: prepared and len <= 16 */
} jp_tpl_seg_t;

struct jp_tpl_expr_s {
    unsigned         kind;
    unsigned         root;
    unsigned         nseg;
    unsigned         nargs;
    unsigned         nhash;
    const jp_tpl_helper_t *helper;
    json_t          *lit;
    const char      *text;      /* PATH: literal fallback; ERROR: message;
                                   COMPONENT: static name or NULL */
    jp_tpl_seg_t    *seg;
    jp_tpl_expr_t  **args;
    jp_tpl_hash_t   *hash;
    unsigned         rname;     /* perf: PATH: JP_TPL_RN_* of seg[0] */
    json_t          *word;      /* perf: PATH: text as a JSON string, the
                                   R13 fallback (held by prog->lits) */
};

struct jp_tpl_node_s {
    jp_tpl_node_t   *next;
    unsigned         type;
    unsigned         block;
    unsigned         raw;       /* {{{x}}} */
    unsigned         line;
    unsigned         column;
    const char      *text;      /* TEXT: the bytes; else the expression */
    size_t           len;
    jp_tpl_expr_t   *expr;
    jp_tpl_hash_t   *hash;
    unsigned         nhash;
    jp_tpl_node_t   *body;
    jp_tpl_node_t   *inverse;
};

struct jp_tpl_chunk_s {
    jp_tpl_chunk_t  *next;
    size_t           used;
    size_t           size;
    /* data follows, max_align_t aligned */
};

struct jp_tpl_program_s {
    jp_tpl_chunk_t  *chunks;
    jp_tpl_node_t   *root;
    json_t          *i18n;
    json_t          *lits;      /* keeps the literals alive */
    const char      *path;
    size_t           allocated; /* bytes, against JP_TPL_PROGRAM_MAX */
    size_t           next_chunk;    /* grows to JP_TPL_CHUNK_SIZE */
    unsigned         too_big;
    unsigned         no_sidebars;   /* jp_tpl_page_disables_sidebars() of
                                       the source, before any processing */
    unsigned         refs;      /* jp_tpl_free() drops one (plans hold
                                   theirs); atomic */
};

typedef struct jp_tpl_frame_s  jp_tpl_frame_t;
typedef struct jp_tpl_rec_s    jp_tpl_rec_t;

/* one scope: an #each iteration, a #with object, or include/call args */
struct jp_tpl_frame_s {
    jp_tpl_frame_t  *up;
    unsigned         each;
    jp_tpl_val_t     self;      /* #each: this */
    const char      *key;       /* #each over an object: @key */
    size_t           index;
    size_t           count;
    json_t          *obj;       /* #with object, or the args object */
    unsigned         taint;     /* obj (#each: the walked value) came
                                   from the request */
    json_t          *tainted;   /* args object: keys whose value is tainted */
    unsigned         fixed;     /* perf: self/obj are the context's (its
                                   lookups may be cached) */
};

typedef struct {
    char            *path;
    jp_tpl_program_t *prog;
} jp_tpl_memo_t;

typedef struct {
    char            *name;
    const jp_tpl_node_t *node;
    json_t          *text;      /* from file.includeComponents: the body
                                   expanded already (node is NULL) */
} jp_tpl_comp_t;

/*
 * perf: the lookup cache of one render. The context (and the
 * translations) are read-only during a render and outlive it, so a key
 * looked up in one of their objects gives the same value every time:
 * (object, name) -> value, names up to 16 bytes, open addressing; once
 * JP_TPL_LC_MAX are kept, further lookups go to jansson uncached.
 */
#define JP_TPL_LC_BITS  8
#define JP_TPL_LC_SIZE  (1 << JP_TPL_LC_BITS)
#define JP_TPL_LC_MAX   (JP_TPL_LC_SIZE / 2)

typedef struct {
    json_t          *val;       /* NULL: the object has no such key */
    uint64_t         key[2];
    size_t           len;
} jp_tpl_lc_t;

/* perf: the root name of a path, for jp_tpl_lookup() */
enum {
    JP_TPL_RN_NONE = 0,         /* not prepared: compare the name */
    JP_TPL_RN_OTHER,
    JP_TPL_RN_VARS,
    JP_TPL_RN_URL,
    JP_TPL_RN_APPCLUSTER,
    JP_TPL_RN_USER,             /* user, user.timezone */
    JP_TPL_RN_USER_OTHER,       /* user.x, x not timezone */
    JP_TPL_RN_I18N
};

/* A set of json_t pointers: open addressing, grown at half full. */
typedef struct {
    json_t         **slots;
    size_t           cap;       /* 0, or a power of two */
    size_t           n;
} jp_tpl_ptrset_t;


struct jp_tpl_rs_s {
    const jp_tpl_host_t *host;
    json_t          *ctx;
    json_t          *url;       /* ctx.url: the request data */
    jp_tpl_ptrset_t  req;       /* url, all under it, and all the
                                   containers holding it */
    json_t          *i18n;
    json_t          *vars;
    jp_tpl_frame_t  *frame;
    jp_tpl_buf_t    *out;
    unsigned         flags;
    unsigned         depth;
    unsigned         max_depth;
    unsigned long    iterations;
    unsigned long    calls;
    unsigned long    max_iterations;
    jp_tpl_memo_t   *memo;
    size_t           nmemo;
    jp_tpl_comp_t   *comps;
    size_t           ncomps;
    json_t          *vars_taint;    /* top-level vars keys set from url.* */
    json_t          *hash;          /* the k=v of the helper being called */
    json_t          *hash_taint;
    const char      *active[JP_TPL_DEPTH_CAP];
    unsigned         nactive;
    int              hard;      /* a hard limit was hit: stop */
    unsigned         uses;      /* JP_TPL_USES_* */
    unsigned long    mutations; /* lets and component definitions */
    unsigned long    errors;    /* error comments written */
    jp_tpl_rec_t    *rec;       /* recording a plan (jp_tpl_plan.c) */
    const jp_tpl_expr_t *rec_include;   /* the include the recorder may
                                           expand at rec_depth */
    unsigned         rec_depth;
    jp_tpl_error_t  *err;
    char             msg[JP_TPL_ERRMSG_MAX];

    /* components (jp_tpl_components.c): ctx.components of this render,
     * and the file.includeComponents bodies compiled by it (kept until
     * the render ends: nodes of theirs may be registered) */
    json_t          *components;
    jp_tpl_program_t **bodies;
    size_t           nbodies;
    unsigned         fixed;     /* perf: the last path looked up is the
                                   context's (jp_tpl_lookup()) */
    /* review: the bytes of the strings calls computed, and their limit */
    size_t           work;
    size_t           max_work;
    unsigned         nlc;       /* perf: the lookup cache: entries kept, */
    const json_t    *lc_obj[JP_TPL_LC_SIZE];   /* their objects (NULL:
                                                  a free slot) */
    jp_tpl_lc_t      lc[JP_TPL_LC_SIZE];    /* and the rest, left
                                               uninitialized */
};


/* the compiler's state (jp_tpl_lex.c, jp_tpl_parse.c) */
typedef struct {
    jp_tpl_program_t  *prog;
    jp_tpl_error_t    *err;
    const char        *path;

    /* position tracking in the outermost source */
    const char        *src;
    const char        *lc_pos;
    unsigned           line;
    unsigned           column;

    /* open blocks */
    jp_tpl_node_t     *open[JP_TPL_BLOCK_DEPTH_MAX];
    jp_tpl_node_t    **tail[JP_TPL_BLOCK_DEPTH_MAX + 1];
    unsigned           nopen;

    /* position of the token being parsed */
    unsigned           tline;
    unsigned           tcolumn;

    /* bytes of translations lexed: self-referencing ones must not explode */
    size_t             expanded;

    /* components: the header comments cut out of an include's source, so
     * that positions still count in the file as written */
    struct jp_tpl_strip_s  *strip;
    unsigned           no_i18n;     /* not the page: no i18n pre-pass */
    /* blocks (issue 12): the tokens of the whole unit, then matched */
    struct jp_tpl_tok_s       *toks;
    size_t                     ntoks;
    size_t                     ctoks;
    struct jp_tpl_closer_s    *closers;
    size_t                     nclosers;
    const char        *ikey;        /* the translation being lexed */
    size_t             iklen;
    unsigned           fatal;       /* memory, size: no error comment */
    unsigned           soft;        /* error comments made so far */
    jp_tpl_error_t     first;       /* the first of them */
} jp_tpl_parser_t;

/* jp_tpl_lex.c */
void *jp_tpl_palloc(jp_tpl_program_t *prog, size_t size);
int jp_tpl_account(jp_tpl_program_t *prog, size_t size);
char *jp_tpl_pstrdup(jp_tpl_program_t *prog, const char *p, size_t len);
int jp_tpl_fail(jp_tpl_parser_t *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int jp_tpl_oom(jp_tpl_parser_t *ps);
jp_tpl_node_t *jp_tpl_node(jp_tpl_parser_t *ps, unsigned type);

/* jp_tpl_parse.c */
int jp_tpl_token(jp_tpl_parser_t *ps, const char *p, size_t len,
    unsigned raw);
const char *jp_tpl_skip_space(const char *p, const char *end);

/* jp_tpl_value.c */
void jp_tpl_val_free(jp_tpl_val_t *v);
int jp_tpl_truthy(json_t *j);
double jp_tpl_number(json_t *j);
double jp_tpl_floor(double d);
double jp_tpl_ceil(double d);
double jp_tpl_fmod(double x, double y);
json_t *jp_tpl_number_new(double d);
int jp_tpl_compare(json_t *a, json_t *b, int *cmp);
char *jp_tpl_to_string(json_t *j, size_t *len);
int jp_tpl_utf8_valid(const char *p, size_t len);
json_t *jp_tpl_string_new(const char *p, size_t len);
int jp_tpl_format_number(double d, char *buf, size_t size);
int jp_tpl_buf_add_html(jp_tpl_buf_t *b, const char *p, size_t len);
int jp_tpl_buf_add_comment(jp_tpl_buf_t *b, const char *p, size_t len);

/* the helper signature, shortened */
#define JP_TPL_HELPER_ARGS                                                  \
    jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *a, size_t n,     \
    jp_tpl_val_t *res

#define JP_TPL_ARG(i)  ((i) < n ? a[i].j : NULL)

/* a value as text, borrowed or in tmp (to free) */
typedef struct {
    const char      *p;
    size_t           len;
    char            *tmp;
} jp_tpl_str_t;

/* jp_tpl_helpers*.c */
const jp_tpl_helper_t *jp_tpl_helper_find(const char *name, size_t len);
int jp_tpl_str(jp_tpl_rs_t *rs, json_t *j, jp_tpl_str_t *s);
int jp_tpl_set(jp_tpl_rs_t *rs, jp_tpl_val_t *res, json_t *j);
int jp_tpl_set_buf(jp_tpl_rs_t *rs, jp_tpl_val_t *res, jp_tpl_buf_t *b);

extern const jp_tpl_helper_t  jp_tpl_helpers_string[];
extern const jp_tpl_helper_t  jp_tpl_helpers_data[];
extern const jp_tpl_helper_t  jp_tpl_helpers_file[];
extern const jp_tpl_helper_t  jp_tpl_helpers_date[];
extern const jp_tpl_helper_t  jp_tpl_helpers_html[];

/*
 * string.* (issue 12, strings): jPulse's text of helper arguments, T(x) of
 * its string helpers ("" when falsy, else String(x), joined), borrowed
 * when it is one string argument (j holds it), else built in b; and the
 * UTF-8 / JavaScript whitespace primitives jp_tpl_helpers_html.c shares.
 */
typedef struct {
    const char      *p;
    size_t           len;
    json_t          *j;
    jp_tpl_buf_t     b;
} jp_tpl_jstext_t;

int jp_tpl_jstext(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n,
    jp_tpl_jstext_t *t);
int jp_tpl_jstext_set(jp_tpl_rs_t *rs, jp_tpl_val_t *res, jp_tpl_jstext_t *t);
void jp_tpl_jstext_free(jp_tpl_jstext_t *t);
uint32_t jp_tpl_utf8_get(const char *s, const char *end, size_t *n);
int jp_tpl_utf8_add(jp_tpl_buf_t *b, uint32_t c);
int jp_tpl_js_space(uint32_t c);

/* data helper (jp_tpl_helpers_data.c): JavaScript's Number() of a
 * NUL-terminated string, and localeCompare's order (ICU root, Latin-1) */
double jp_tpl_js_number(const char *s, size_t len);
int jp_tpl_collate(const char *a, size_t alen, const char *b, size_t blen);
/* jp_tpl_helpers_file.c: file.list's sorted paths (jPulse's rules) */
int jp_tpl_file_list(jp_tpl_rs_t *rs, const char *glob, size_t len,
    json_t **out);

/*
 * jp_tpl_components.c: what jPulse does to the text of includes and
 * component definitions, and file.includeComponents.
 */
typedef struct jp_tpl_strip_s {
    const char      *orig;      /* the source as written */
    const char      *copy;      /* the same without its header comments */
    size_t          *at;        /* offsets in copy where bytes were cut */
    size_t          *gone;      /* bytes cut up to and including there */
    size_t           n;
    size_t           cap;
    size_t           i;         /* positions only move forward */
} jp_tpl_strip_t;

size_t jp_tpl_js_space_len(const char *p, const char *end);
int jp_tpl_strip_headers(const char *src, size_t len, jp_tpl_strip_t *st,
    char **out, size_t *olen);
const char *jp_tpl_unstrip(jp_tpl_strip_t *st, const char *p);
void jp_tpl_strip_free(jp_tpl_strip_t *st);
const char *jp_tpl_after_component(const char *p, const char *end,
    int *unclosed);
int jp_tpl_include_components(JP_TPL_HELPER_ARGS);
int jp_tpl_components_set(jp_tpl_rs_t *rs, const char *name, json_t *val);
int jp_tpl_comp_add(jp_tpl_rs_t *rs, char *name, const jp_tpl_node_t *n,
    json_t *text);
void jp_tpl_components_free(jp_tpl_rs_t *rs);
char *jp_tpl_camel(const char *s);

/* jp_tpl_lex.c, for components: text compiled without the i18n pre-pass
 * and without header stripping (a file.includeComponents body) */
jp_tpl_program_t *jp_tpl_compile_text(const char *src, size_t len,
    const char *path, jp_tpl_error_t *err);

/* jp_tpl_call.c */
const char *jp_tpl_jail(jp_tpl_rs_t *rs, json_t *path, char *buf,
    size_t size);
int jp_tpl_include(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e,
    jp_tpl_val_t *args, size_t nargs);
int jp_tpl_component(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e);
int jp_tpl_define(jp_tpl_rs_t *rs, const jp_tpl_node_t *n);

/* jp_tpl_render.c */
int jp_tpl_nodes(jp_tpl_rs_t *rs, const jp_tpl_node_t *n);
int jp_tpl_node_render(jp_tpl_rs_t *rs, const jp_tpl_node_t *n);
int jp_tpl_rs_init(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog,
    json_t *ctx, const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err);
int jp_tpl_rs_done(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog, int rc);

/* jp_tpl_plan.c */
int jp_tpl_rec_nodes(jp_tpl_rs_t *rs, const jp_tpl_node_t *n);
int jp_tpl_rec_include(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog,
    jp_tpl_frame_t *f);
void jp_tpl_rec_hold(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog);
void jp_tpl_rec_define(jp_tpl_rs_t *rs, const jp_tpl_node_t *n);
int jp_tpl_eval_hash(jp_tpl_rs_t *rs, const jp_tpl_hash_t *h, unsigned n,
    json_t **obj, json_t **taint, unsigned depth);
size_t jp_tpl_room(jp_tpl_buf_t *b);
int jp_tpl_error(jp_tpl_rs_t *rs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int64_t jp_tpl_now(jp_tpl_rs_t *rs);
int jp_tpl_eval(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *v,
    unsigned depth);
int jp_tpl_is_req(jp_tpl_rs_t *rs, json_t *j);

/* perf (jp_tpl_render.c): compile-time precomputation of a path */
void jp_tpl_path_prepare(jp_tpl_expr_t *e);
/* perf (jp_tpl_value.c): a page buffer's first allocation */
void jp_tpl_buf_reserve(jp_tpl_buf_t *b);
/*
 * blocks (issue 12): the lexer makes a list of tokens for the whole unit
 * (translations included, as jPulse's pre-pass puts them in the text),
 * then jp_tpl_build() pairs block tags by jPulse's level annotation and
 * makes the tree; a tag left unpaired becomes jPulse's error comment.
 */
enum {
    JP_TPL_T_TEXT = 1,
    JP_TPL_T_EXPR,
    JP_TPL_T_OPEN,              /* {{#name...}} */
    JP_TPL_T_CLOSE,             /* {{/name...}} */
    JP_TPL_T_ELSE               /* {{else}}, written exactly so */
};

typedef struct jp_tpl_tok_s {
    const char      *p;         /* text, or what is between the braces */
    size_t           len;
    const char      *ikey;      /* lexed from this translation, or NULL */
    size_t           iklen;
    unsigned         line;
    unsigned         column;
    long             level;     /* OPEN, CLOSE: jPulse's annotation */
    unsigned         nlen;      /* OPEN, CLOSE: length of the name */
    unsigned char    kind;
    unsigned char    raw;
    unsigned char    exact;     /* CLOSE: "{{/name}}" and nothing else */
    unsigned char    arena;     /* TEXT: p is the program's already */
} jp_tpl_tok_t;

typedef struct jp_tpl_closer_s {
    const char      *name;
    unsigned         nlen;
    long             level;
    size_t           index;
} jp_tpl_closer_t;

/* jp_tpl_parse.c */
int jp_tpl_build(jp_tpl_parser_t *ps);

#endif /* JP_TPL_INT_H */
