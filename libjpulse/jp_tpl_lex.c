/*
 * Template compiler, first half: lexing exactly as jPulse (an expression
 * is "{{" followed by [a-z@#/]; anything else, such as Vue's "{{ x }}", is
 * text), comments, the i18n pre-pass, the compile entry points and the
 * program's arena. jp_tpl_parse.c turns each expression into the tree.
 *
 * Where jPulse silently renders broken markup (an unbalanced block becomes
 * an HTML comment), we return a parse error with file:line:column, so
 * cachectl can refuse the file and keep the last good version.
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

    return -1;
}


int
jp_tpl_oom(jp_tpl_parser_t *ps)
{
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


static int
jp_tpl_text(jp_tpl_parser_t *ps, const char *p, size_t len)
{
    jp_tpl_node_t  *n;

    if (len == 0) {
        return 0;
    }

    n = jp_tpl_node(ps, JP_TPL_N_TEXT);
    if (n == NULL) {
        return -1;
    }

    n->text = jp_tpl_pstrdup(ps->prog, p, len);
    n->len = len;

    return n->text ? 0 : jp_tpl_oom(ps);
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


static int
jp_tpl_expr_start(char c)
{
    return (c >= 'a' && c <= 'z') || c == '@' || c == '#' || c == '/';
}


static int
jp_tpl_lex(jp_tpl_parser_t *ps, const char *src, size_t len,
    unsigned i18n_depth)
{
    int          outer, unclosed;
    unsigned     raw;
    const char  *p, *end, *text, *open, *close, *c;

    outer = (i18n_depth == 0);
    unclosed = 0;
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

        raw = (end - open >= 4 && open[2] == '{'
               && ((open[3] >= 'a' && open[3] <= 'z') || open[3] == '@'));

        if (!raw && (end - open < 3 || !jp_tpl_expr_start(open[2]))) {
            /* "{{ x }}", "{{Upper}}", "{{$x}}": Vue's, left as text */
            p = open + 1;
            continue;
        }

        c = open + 2 + raw;
        close = jp_tpl_expr_end(c, end, raw);

        if (close == NULL) {
            return jp_tpl_fail(ps, "unclosed expression \"%.*s\"",
                               (int) (end - open > 40 ? 40 : end - open),
                               open);
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

        } else if (jp_tpl_token(ps, c, close - c, raw) != 0) {
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
    size_t      n, k;
    unsigned    nopen;
    int         w;
    json_t     *j;
    char       *dump;
    const char *seg, *dot, *end;
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

        nopen = ps->nopen;

        rc = jp_tpl_lex(ps, json_string_value(j), json_string_length(j),
                        i18n_depth + 1);

        /* a translation is a unit: one that opens a block and leaves it
         * for the page to close is broken, and says so by its key */
        if (rc == 0 && ps->nopen != nopen) {
            return jp_tpl_fail(ps, "i18n.%.*s: unbalanced block in the "
                               "translation", (int) len, p);
        }

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

    rc = jp_tpl_text(ps, dump, n);
    free(dump);

    return rc;
}

static jp_tpl_program_t *
jp_tpl_compile_flags(const char *src, size_t len, const char *path,
    json_t *i18n, jp_tpl_error_t *err, int include)
{
    char              *stripped;
    const char        *p, *end;
    jp_tpl_parser_t    ps;
    jp_tpl_program_t  *prog;
    jp_tpl_node_t     *b;
    jp_tpl_strip_t     strip;

    stripped = NULL;
    memset(&strip, 0, sizeof(strip));

    if (err != NULL) {
        memset(err, 0, sizeof(jp_tpl_error_t));
    }

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

    if (jp_tpl_lex(&ps, p, end - p, 0) != 0) {
        goto failed;
    }

    if (ps.nopen) {
        b = ps.open[ps.nopen - 1];
        ps.tline = b->line;
        ps.tcolumn = b->column;
        jp_tpl_fail(&ps, "unbalanced \"{{#%.*s}}\": no {{/%.*s}}",
                    (int) b->len, b->text, (int) b->len, b->text);
        goto failed;
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
    return jp_tpl_compile_flags(src, len, path, i18n, err, 0);
}


jp_tpl_program_t *
jp_tpl_compile_include(const char *src, size_t len, const char *path,
    json_t *i18n, jp_tpl_error_t *err)
{
    return jp_tpl_compile_flags(src, len, path, i18n, err, 1);
}


jp_tpl_program_t *
jp_tpl_compile_text(const char *src, size_t len, const char *path,
    jp_tpl_error_t *err)
{
    return jp_tpl_compile_flags(src, len, path, NULL, err, 2);
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
