/*
 * Template compiler, first half: lexing exactly as jPulse (an expression
 * is "{{" followed by [a-z@#/]; anything else, such as Vue's "{{ x }}", is
 * text), comments, the i18n pre-pass, the compile entry points and the
 * program's arena. jp_tpl_parse.c turns each expression into the tree.
 *
 * The lexer only makes a list of tokens (jp_tpl_push()); jp_tpl_build()
 * (jp_tpl_parse.c) pairs the block tags as jPulse does and makes the tree.
 * Broken markup renders as jPulse renders it (an unbalanced block tag
 * becomes an HTML comment); jp_tpl_check() reports where, with
 * file:line:column, for cachectl.
 */

#define _GNU_SOURCE      /* memmem */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include "jp_tpl_int.h"


#define JP_TPL_CHUNK_SIZE  16384
#define JP_TPL_LITS_SIZE   64       /* the empty json_array() of literals */


static int jp_tpl_lex(jp_tpl_parser_t *ps, const char *src, size_t len,
    unsigned i18n_depth);
static int jp_tpl_i18n(jp_tpl_parser_t *ps, const char *p, size_t len,
    unsigned i18n_depth);


/*
 * Counts bytes held by a program. i18n references multiply (a translation
 * referring to translations...) and each copy becomes nodes: the expansion
 * cap in bytes of source does not bound the memory, this does.
 */
int
jp_tpl_account(jp_tpl_program_t *prog, size_t size)
{
    if (size > JP_TPL_PROGRAM_MAX
        || prog->allocated > JP_TPL_PROGRAM_MAX - size)
    {
        prog->too_big = 1;
        return -1;
    }

    prog->allocated += size;

    return 0;
}


void *
jp_tpl_palloc(jp_tpl_program_t *prog, size_t size)
{
    size_t           align, hdr, n;
    jp_tpl_chunk_t  *c;

    align = sizeof(max_align_t);
    hdr = (sizeof(jp_tpl_chunk_t) + align - 1) & ~(align - 1);
    size = (size + align - 1) & ~(align - 1);

    c = prog->chunks;

    if (c == NULL || c->size - c->used < size) {
        /*
         * Small templates get small chunks: the first is sized from the
         * source, each next one doubles up to JP_TPL_CHUNK_SIZE, so a
         * cache bounded by bytes holds what it counts.
         */
        if (prog->next_chunk == 0) {
            prog->next_chunk = JP_TPL_CHUNK_SIZE;
        }

        n = size > prog->next_chunk ? size : prog->next_chunk;

        if (prog->next_chunk < JP_TPL_CHUNK_SIZE) {
            prog->next_chunk *= 2;
        }

        if (jp_tpl_account(prog, hdr + n) != 0) {
            return NULL;
        }

        c = malloc(hdr + n);
        if (c == NULL) {
            return NULL;
        }

        c->size = n;
        c->used = 0;
        c->next = prog->chunks;
        prog->chunks = c;
    }

    c->used += size;

    return memset((char *) c + hdr + c->used - size, 0, size);
}


char *
jp_tpl_pstrdup(jp_tpl_program_t *prog, const char *p, size_t len)
{
    char  *s;

    s = jp_tpl_palloc(prog, len + 1);
    if (s == NULL) {
        return NULL;
    }

    memcpy(s, p, len);
    s[len] = '\0';

    return s;
}


int
jp_tpl_fail(jp_tpl_parser_t *ps, const char *fmt, ...)
{
    char     msg[JP_TPL_ERRMSG_MAX];
    size_t   k, n;
    va_list  ap;

    if (ps->err == NULL || ps->err->message[0] != '\0') {
        return -1;
    }

    snprintf(ps->err->file, sizeof(ps->err->file), "%s", ps->path);
    ps->err->line = ps->tline;
    ps->err->column = ps->tcolumn;

    va_start(ap, fmt);
    vsnprintf(ps->err->message, sizeof(ps->err->message), fmt, ap);
    va_end(ap);

    /* a token from a translation: its key says where it came from */
    if (ps->ikey != NULL && strncmp(ps->err->message, "i18n.", 5) != 0) {
        k = snprintf(msg, sizeof(msg), "i18n.%.*s: ",
                     (int) (ps->iklen > 128 ? 128 : ps->iklen), ps->ikey);
        n = strlen(ps->err->message);
        if (n > sizeof(msg) - 1 - k) {
            n = sizeof(msg) - 1 - k;
        }

        memcpy(msg + k, ps->err->message, n);
        msg[k + n] = '\0';
        memcpy(ps->err->message, msg, sizeof(msg));
    }

    return -1;
}


int
jp_tpl_oom(jp_tpl_parser_t *ps)
{
    ps->fatal = 1;

    if (ps->prog != NULL && ps->prog->too_big) {
        return jp_tpl_fail(ps, "compiled template larger than %d bytes",
                           JP_TPL_PROGRAM_MAX);
    }

    return jp_tpl_fail(ps, "out of memory");
}


/* Moves the line/column counter to p (only forward, in the outer source). */
static void
jp_tpl_advance(jp_tpl_parser_t *ps, const char *p)
{
    if (ps->strip != NULL) {
        p = jp_tpl_unstrip(ps->strip, p);
    }

    for ( /* void */ ; ps->lc_pos < p; ps->lc_pos++) {
        if (*ps->lc_pos == '\n') {
            ps->line++;
            ps->column = 1;

        } else if (((unsigned char) *ps->lc_pos & 0xc0) != 0x80) {
            ps->column++;
        }
    }
}


jp_tpl_node_t *
jp_tpl_node(jp_tpl_parser_t *ps, unsigned type)
{
    jp_tpl_node_t  *n;

    n = jp_tpl_palloc(ps->prog, sizeof(jp_tpl_node_t));
    if (n == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    n->type = type;
    n->line = ps->tline;
    n->column = ps->tcolumn;

    *ps->tail[ps->nopen] = n;
    ps->tail[ps->nopen] = &n->next;

    return n;
}


/*
 * One token of the unit. Expressions are classified the way jPulse's
 * level annotation sees them: "{{#" or "{{/" and a lower-case name.
 */
static int
jp_tpl_push(jp_tpl_parser_t *ps, unsigned kind, const char *p, size_t len,
    unsigned raw)
{
    size_t         n, i;
    jp_tpl_tok_t  *t;

    if (kind == JP_TPL_T_TEXT && len == 0) {
        return 0;
    }

    if (ps->ntoks == ps->ctoks) {
        n = ps->ctoks ? ps->ctoks * 2 : 64;

        /* counted while compiling: the program's bound holds for them */
        if (jp_tpl_account(ps->prog, (n - ps->ctoks) * sizeof(jp_tpl_tok_t))
            != 0)
        {
            return jp_tpl_oom(ps);
        }

        t = realloc(ps->toks, n * sizeof(jp_tpl_tok_t));
        if (t == NULL) {
            return jp_tpl_oom(ps);
        }

        ps->toks = t;
        ps->ctoks = n;
    }

    t = &ps->toks[ps->ntoks++];
    memset(t, 0, sizeof(jp_tpl_tok_t));

    t->kind = (unsigned char) kind;
    t->raw = (unsigned char) raw;
    t->p = p;
    t->len = len;
    t->line = ps->tline;
    t->column = ps->tcolumn;
    t->ikey = ps->ikey;
    t->iklen = ps->iklen;

    if (kind != JP_TPL_T_EXPR || raw) {
        return 0;
    }

    if ((p[0] == '#' || p[0] == '/') && len > 1
        && p[1] >= 'a' && p[1] <= 'z')
    {
        for (i = 1; i < len && p[i] >= 'a' && p[i] <= 'z'; i++) {
            /* void */
        }

        t->kind = (p[0] == '#') ? JP_TPL_T_OPEN : JP_TPL_T_CLOSE;
        t->nlen = (unsigned) (i - 1);
        t->exact = (i == len);

    } else if (len == 4 && memcmp(p, "else", 4) == 0) {
        t->kind = JP_TPL_T_ELSE;
    }

    return 0;
}


static int
jp_tpl_text(jp_tpl_parser_t *ps, const char *p, size_t len)
{
    return jp_tpl_push(ps, JP_TPL_T_TEXT, p, len, 0);
}


/* The end of an expression starting at p: the first "}}" (or "}}}" when
 * raw) outside a quoted string; NULL if there is none. */
static const char *
jp_tpl_expr_end(const char *p, const char *end, unsigned raw)
{
    char  q;

    while (p < end) {
        if (*p == '"' || *p == '\'') {
            q = *p++;

            while (p < end && *p != q) {
                if (*p == '\\' && p + 1 < end) {
                    p++;
                }
                p++;
            }

            if (p == end) {
                return NULL;
            }

            p++;
            continue;
        }

        if (*p == '}' && end - p >= 2 && p[1] == '}'
            && (!raw || (end - p >= 3 && p[2] == '}')))
        {
            return p;
        }

        p++;
    }

    return NULL;
}


/* "{{" starts an expression before a-z, "@", or "#"/"/" and a name */
static int
jp_tpl_expr_start(const char *p, const char *end)
{
    if (p >= end) {
        return 0;
    }

    if (*p == '#' || *p == '/') {
        return end - p >= 2 && p[1] >= 'a' && p[1] <= 'z';
    }

    return (*p >= 'a' && *p <= 'z') || *p == '@';
}


static int
jp_tpl_lex(jp_tpl_parser_t *ps, const char *src, size_t len,
    unsigned i18n_depth)
{
    int          outer, unclosed, plain, noraw;
    unsigned     raw;
    const char  *p, *end, *text, *open, *close, *c;

    outer = (i18n_depth == 0);
    unclosed = 0;
    plain = 0;
    noraw = 0;
    p = src;
    text = src;
    end = src + len;

    while (end - p >= 2) {
        open = memchr(p, '{', end - p - 1);
        if (open == NULL) {
            break;
        }

        if (open[1] != '{') {
            p = open + 1;
            continue;
        }

        if (outer) {
            jp_tpl_advance(ps, open);
            ps->tline = ps->line;
            ps->tcolumn = ps->column;
        }

        /* {{!-- comment --}}: stripped; an unclosed one stays text */
        if (end - open >= 5 && memcmp(open + 2, "!--", 3) == 0) {
            c = NULL;

            /* no "--}}" after one opener: none after any later one either,
             * and searching again for each would be quadratic */
            if (!unclosed) {
                c = memmem(open + 5, end - open - 5, "--}}", 4);
                unclosed = (c == NULL);
            }

            if (c != NULL) {
                if (jp_tpl_text(ps, text, open - text) != 0) {
                    return -1;
                }

                p = text = c + 4;
                continue;
            }

            p = open + 2;
            continue;
        }

        raw = (!noraw && end - open >= 4 && open[2] == '{'
               && ((open[3] >= 'a' && open[3] <= 'z') || open[3] == '@'));

        if (!raw && !jp_tpl_expr_start(open + 2, end)) {
            /* "{{ x }}", "{{Upper}}", "{{$x}}": Vue's, left as text */
            p = open + 1;
            continue;
        }

        c = open + 2 + raw;
        close = plain ? NULL : jp_tpl_expr_end(c, end, raw);

        if (close == NULL) {
            /*
             * A quote left open: jPulse's own rule, the first "}}", from
             * here on (the quoted scan reached the end once, so it would
             * again: quadratic). No "}}}": "{" is text, as in jPulse.
             * No "}}" at all: the rest is text.
             */
            plain = 1;
            close = memmem(c, end - c, raw ? "}}}" : "}}", raw ? 3 : 2);

            if (close == NULL) {
                if (raw) {
                    noraw = 1;
                    p = open + 1;
                    continue;
                }

                break;
            }
        }

        if (jp_tpl_text(ps, text, open - text) != 0) {
            return -1;
        }

        if (!raw && !ps->no_i18n && close - c > 5
            && (memcmp(c, "i18n.", 5) == 0
                || (c[0] == '@' && close - c > 6
                    && memcmp(c + 1, "i18n.", 5) == 0))
            && memchr(c, '}', close - c) == NULL
            && i18n_depth < JP_TPL_I18N_DEPTH_MAX)
        {
            if (jp_tpl_i18n(ps, c + (c[0] == '@'), close - c - (c[0] == '@'),
                            i18n_depth) != 0)
            {
                return -1;
            }

        } else if (jp_tpl_push(ps, JP_TPL_T_EXPR, c, close - c, raw) != 0) {
            return -1;
        }

        p = text = close + 2 + raw;

        /* jPulse: whitespace after "{{/component}}" is not text */
        if (!raw && close - c == 10 && memcmp(c, "/component", 10) == 0) {
            p = text = jp_tpl_after_component(p, end, &unclosed);
        }
    }

    return jp_tpl_text(ps, text, end - text);
}


/*
 * The i18n pre-pass, done while lexing so that errors keep their position:
 * a string translation is lexed in place (it may hold expressions, which
 * then resolve: jPulse's two-pass meaning), a subtree becomes JSON and a
 * missing key stays as its key path.
 */
static int
jp_tpl_i18n(jp_tpl_parser_t *ps, const char *p, size_t len,
    unsigned i18n_depth)
{
    char        key[256], msg[JP_TPL_ERRMSG_MAX];
    size_t      n, k, iklen;
    int         w;
    json_t     *j;
    char       *dump, *c;
    const char *seg, *dot, *end, *ikey;
    int         rc;

    /* "i18n.a.b" -> "a.b" */
    p += 5;
    len -= 5;

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    j = ps->prog->i18n;
    end = p + len;

    for (seg = p; j != NULL && seg < end; seg = dot + 1) {
        dot = memchr(seg, '.', end - seg);
        if (dot == NULL) {
            dot = end;
        }

        n = dot - seg;
        if (n >= sizeof(key) || !json_is_object(j)) {
            j = NULL;
            break;
        }

        memcpy(key, seg, n);
        key[n] = '\0';
        j = json_object_get(j, key);
    }

    if (j == NULL) {
        return jp_tpl_text(ps, p, len);
    }

    if (json_is_string(j)) {
        ps->expanded += json_string_length(j);

        if (ps->expanded > JP_TPL_SOURCE_MAX) {
            return jp_tpl_fail(ps, "i18n expansion larger than %d bytes",
                               JP_TPL_SOURCE_MAX);
        }

        /*
         * jPulse's pre-pass puts the translation in the text before the
         * blocks are paired: its block tags pair with the page's. Its
         * tokens remember its key for the messages.
         */
        ikey = ps->ikey;
        iklen = ps->iklen;
        ps->ikey = p;
        ps->iklen = len;

        rc = jp_tpl_lex(ps, json_string_value(j), json_string_length(j),
                        i18n_depth + 1);

        ps->ikey = ikey;
        ps->iklen = iklen;

        if (rc != 0 && ps->err != NULL
            && strncmp(ps->err->message, "i18n.", 5) != 0)
        {
            w = snprintf(msg, sizeof(msg), "i18n.%.*s: ", (int) len, p);

            if (w > 0 && (size_t) w < sizeof(msg) - 1) {
                k = strlen(ps->err->message);
                if (k > sizeof(msg) - 1 - w) {
                    k = sizeof(msg) - 1 - w;
                }

                memcpy(msg + w, ps->err->message, k);
                msg[w + k] = '\0';
                memcpy(ps->err->message, msg, sizeof(ps->err->message));
            }
        }

        return rc;
    }

    dump = jp_tpl_to_string(j, &n);
    if (dump == NULL) {
        return jp_tpl_oom(ps);
    }

    /* the token outlives this function: its text in the program */
    c = jp_tpl_pstrdup(ps->prog, dump, n);
    free(dump);

    if (c == NULL) {
        return jp_tpl_oom(ps);
    }

    rc = jp_tpl_text(ps, c, n);
    if (rc == 0 && n > 0) {
        ps->toks[ps->ntoks - 1].arena = 1;
    }

    return rc;
}

static jp_tpl_program_t *
jp_tpl_compile_flags(const char *src, size_t len, const char *path,
    json_t *i18n, jp_tpl_error_t *err, int include, jp_tpl_error_t *first)
{
    int                rc;
    char              *stripped;
    const char        *p, *end;
    jp_tpl_error_t     local;
    jp_tpl_parser_t    ps;
    jp_tpl_program_t  *prog;
    jp_tpl_strip_t     strip;

    stripped = NULL;
    memset(&strip, 0, sizeof(strip));

    /* the error comments made at compile time need the messages */
    if (err == NULL) {
        err = &local;
    }

    memset(err, 0, sizeof(jp_tpl_error_t));
    memset(&ps, 0, sizeof(ps));
    ps.err = err;
    ps.path = path ? path : "";
    ps.line = ps.column = ps.tline = ps.tcolumn = 1;

    if (len > JP_TPL_SOURCE_MAX) {
        jp_tpl_fail(&ps, "template larger than %d bytes", JP_TPL_SOURCE_MAX);
        return NULL;
    }

    prog = calloc(1, sizeof(jp_tpl_program_t));

    /* about what a template needs: nodes take ~4x the bytes of source */
    if (prog != NULL) {
        prog->refs = 1;
        prog->next_chunk = len * 4 + 512 < JP_TPL_CHUNK_SIZE
                           ? len * 4 + 512 : JP_TPL_CHUNK_SIZE;
    }
    if (prog == NULL) {
        jp_tpl_oom(&ps);
        return NULL;
    }

    ps.prog = prog;
    prog->lits = json_array();
    prog->path = jp_tpl_pstrdup(prog, ps.path, strlen(ps.path));

    if (prog->lits == NULL || prog->path == NULL) {
        jp_tpl_oom(&ps);
        goto failed;
    }

    if (i18n != NULL) {
        prog->i18n = json_incref(i18n);
    }

    ps.src = ps.lc_pos = src;
    ps.tail[0] = &prog->root;

    prog->no_sidebars = jp_tpl_page_disables_sidebars(src, len);

    p = src;
    end = src + len;

    /* jPulse pre-passes i18n in the page only (include: 1 or 2) */
    ps.no_i18n = (include != 0);

    /* an included file's "@name" header comments are documentation */
    if (include == 1) {
        switch (jp_tpl_strip_headers(src, len, &strip, &stripped, &len)) {
        case -1:
            jp_tpl_oom(&ps);
            goto failed;
        case 1:
            ps.strip = &strip;
            p = stripped;
            end = stripped + len;
            break;
        default:
            break;
        }
    }

    rc = jp_tpl_lex(&ps, p, end - p, 0);

    if (rc == 0) {
        rc = jp_tpl_build(&ps);
    }

    /* the tokens were counted while they lived: the program holds none */
    prog->allocated -= ps.ctoks * sizeof(jp_tpl_tok_t);
    free(ps.toks);
    free(ps.closers);

    if (rc != 0) {
        goto failed;
    }

    if (first != NULL && ps.soft) {
        *first = ps.first;
    }

    jp_tpl_strip_free(&strip);
    free(stripped);

    return prog;

failed:

    jp_tpl_strip_free(&strip);
    free(stripped);
    jp_tpl_free(prog);
    return NULL;
}


jp_tpl_program_t *
jp_tpl_compile(const char *src, size_t len, const char *path, json_t *i18n,
    jp_tpl_error_t *err)
{
    return jp_tpl_compile_flags(src, len, path, i18n, err, 0, NULL);
}


jp_tpl_program_t *
jp_tpl_compile_include(const char *src, size_t len, const char *path,
    json_t *i18n, jp_tpl_error_t *err)
{
    return jp_tpl_compile_flags(src, len, path, i18n, err, 1, NULL);
}


/*
 * Compiles as jp_tpl_compile() (include: as jp_tpl_compile_include())
 * and reports the first place where the page renders an error comment
 * known at compile time: an unbalanced block tag, an unknown block, an
 * expression that does not parse. The program itself is dropped.
 */
int
jp_tpl_check(const char *src, size_t len, const char *path, json_t *i18n,
    int include, jp_tpl_error_t *err)
{
    jp_tpl_error_t     first;
    jp_tpl_program_t  *prog;

    memset(&first, 0, sizeof(first));

    prog = jp_tpl_compile_flags(src, len, path, i18n, err, include, &first);
    if (prog == NULL) {
        return -1;
    }

    jp_tpl_free(prog);

    if (first.message[0] == '\0') {
        return 0;
    }

    if (err != NULL) {
        *err = first;
    }

    return -1;
}


jp_tpl_program_t *
jp_tpl_compile_text(const char *src, size_t len, const char *path,
    jp_tpl_error_t *err)
{
    return jp_tpl_compile_flags(src, len, path, NULL, err, 2, NULL);
}


/*
 * O(1): every byte the program holds was counted by jp_tpl_account() as
 * it was allocated (arena chunks whole, with their unused tails, and the
 * literals); add the program itself and the array holding the literals.
 * The translations are shared by every program of a language and not
 * counted here.
 */
size_t
jp_tpl_program_size(const jp_tpl_program_t *prog)
{
    if (prog == NULL) {
        return 0;
    }

    return sizeof(jp_tpl_program_t) + JP_TPL_LITS_SIZE + prog->allocated;
}


void
jp_tpl_free(jp_tpl_program_t *prog)
{
    jp_tpl_chunk_t  *c, *next;

    if (prog == NULL
        || __atomic_sub_fetch(&prog->refs, 1, __ATOMIC_ACQ_REL) != 0)
    {
        return;
    }

    for (c = prog->chunks; c != NULL; c = next) {
        next = c->next;
        free(c);
    }

    json_decref(prog->lits);
    json_decref(prog->i18n);
    free(prog);
}


jp_tpl_program_t *
jp_tpl_program_ref(const jp_tpl_program_t *prog)
{
    jp_tpl_program_t  *p;

    /* the count is not what a render reads: const for the renderers */
    p = (jp_tpl_program_t *) prog;
    __atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);

    return p;
}
