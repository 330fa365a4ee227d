/*
 * Template compiler, second half: the tokens of jp_tpl_lex.c into the
 * tree. Block tags pair as jPulse's level annotation pairs them
 * (jp_tpl_build()), then each expression becomes terms, subexpressions,
 * k=v, helper calls and component calls.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


static jp_tpl_expr_t *jp_tpl_parse_terms(jp_tpl_parser_t *ps,
    const char **pp, const char *end, unsigned depth, int in_paren,
    int headless);
static jp_tpl_expr_t *jp_tpl_path(jp_tpl_parser_t *ps, const char *p,
    size_t len, int kept);


const char *
jp_tpl_skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) {
        p++;
    }

    return p;
}


static jp_tpl_expr_t *
jp_tpl_expr(jp_tpl_parser_t *ps, unsigned kind)
{
    jp_tpl_expr_t  *e;

    e = jp_tpl_palloc(ps->prog, sizeof(jp_tpl_expr_t));
    if (e == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    e->kind = kind;

    return e;
}


static jp_tpl_expr_t *
jp_tpl_lit(jp_tpl_parser_t *ps, json_t *j)
{
    jp_tpl_expr_t  *e;

    if (j == NULL || json_array_append_new(ps->prog->lits, j) != 0) {
        jp_tpl_oom(ps);
        return NULL;
    }

    /* held outside the arena, counted all the same (64: the json_t) */
    if (jp_tpl_account(ps->prog, 64 + (json_is_string(j)
                                       ? json_string_length(j) : 0))
        != 0)
    {
        jp_tpl_oom(ps);
        return NULL;
    }

    e = jp_tpl_expr(ps, JP_TPL_E_LIT);
    if (e != NULL) {
        e->lit = j;
    }

    return e;
}


static jp_tpl_expr_t *
jp_tpl_error_expr(jp_tpl_parser_t *ps, const char *fmt, const char *p,
    size_t len)
{
    char            msg[JP_TPL_ERRMSG_MAX];
    jp_tpl_expr_t  *e;

    snprintf(msg, sizeof(msg), fmt, (int) (len > 64 ? 64 : len), p);

    e = jp_tpl_expr(ps, JP_TPL_E_ERROR);
    if (e == NULL) {
        return NULL;
    }

    e->text = jp_tpl_pstrdup(ps->prog, msg, strlen(msg));
    if (e->text == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    return e;
}


static int
jp_tpl_is_number(const char *p, size_t len)
{
    size_t  i, digits, dot;

    i = (len > 1 && p[0] == '-');
    digits = 0;
    dot = 0;

    for ( /* void */ ; i < len; i++) {
        if (p[i] >= '0' && p[i] <= '9') {
            digits++;

        } else if (p[i] == '.' && !dot && digits) {
            dot = 1;

        } else {
            return 0;
        }
    }

    return digits > 0 && p[len - 1] != '.';
}


/* A bare word: a number, true/false/null, a literal path, or a variable. */
static jp_tpl_expr_t *
jp_tpl_word(jp_tpl_parser_t *ps, const char *p, size_t len)
{
    char  *s;

    if (jp_tpl_is_number(p, len)) {
        s = jp_tpl_pstrdup(ps->prog, p, len);
        if (s == NULL) {
            jp_tpl_oom(ps);
            return NULL;
        }

        if (memchr(p, '.', len) == NULL && len < 16) {
            return jp_tpl_lit(ps, json_integer(strtoll(s, NULL, 10)));
        }

        return jp_tpl_lit(ps, json_real(strtod(s, NULL)));
    }

    if (len == 4 && memcmp(p, "true", 4) == 0) {
        return jp_tpl_lit(ps, json_true());
    }

    if (len == 5 && memcmp(p, "false", 5) == 0) {
        return jp_tpl_lit(ps, json_false());
    }

    /*
     * "null" and "undefined" are no literals in jPulse: bare words, so
     * the strings themselves unless the context has such a key
     * ({{eq null undefined}} is false, {{#if null}} true).
     */
    return jp_tpl_path(ps, p, len, 0);
}


/*
 * A name resolved against the scopes at render time (jPulse's R13): the
 * value of a root that exists, else the text itself. With '/' or '\' it
 * is always the text (file paths). kept: p is NUL-terminated and lives as
 * long as the program (a literal's), no copy of it needed.
 */
static jp_tpl_expr_t *
jp_tpl_path(jp_tpl_parser_t *ps, const char *p, size_t len, int kept)
{
    char            *s, *dot;
    unsigned         i, n;
    jp_tpl_expr_t   *e;

    if (memchr(p, '/', len) != NULL || memchr(p, '\\', len) != NULL) {
        return jp_tpl_lit(ps, jp_tpl_string_new(p, len));
    }

    e = jp_tpl_expr(ps, JP_TPL_E_PATH);
    if (e == NULL) {
        return NULL;
    }

    e->text = kept ? p : jp_tpl_pstrdup(ps->prog, p, len);
    if (e->text == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    for (n = 1, i = 0; i < len; i++) {
        n += (p[i] == '.');
    }

    /* the segments: split at the dots in a copy, or the text itself */
    e->seg = jp_tpl_palloc(ps->prog, n * sizeof(jp_tpl_seg_t));
    s = (n == 1) ? (char *) e->text : jp_tpl_pstrdup(ps->prog, p, len);
    if (e->seg == NULL || s == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        dot = strchr(s, '.');
        if (dot != NULL) {
            *dot = '\0';
        }

        e->seg[i].name = s;
        e->seg[i].index = -1;

        if (*s >= '0' && *s <= '9' && strlen(s) < 10
            && strspn(s, "0123456789") == strlen(s))
        {
            e->seg[i].index = strtol(s, NULL, 10);
        }

        s = dot ? dot + 1 : s + strlen(s);
    }

    e->nseg = n;

    if (strcmp(e->seg[0].name, "this") == 0) {
        e->root = JP_TPL_R_THIS;

    } else if (strcmp(e->seg[0].name, "@index") == 0) {
        e->root = JP_TPL_R_INDEX;

    } else if (strcmp(e->seg[0].name, "@key") == 0) {
        e->root = JP_TPL_R_KEY;

    } else if (strcmp(e->seg[0].name, "@first") == 0) {
        e->root = JP_TPL_R_FIRST;

    } else if (strcmp(e->seg[0].name, "@last") == 0) {
        e->root = JP_TPL_R_LAST;
    }

    jp_tpl_path_prepare(e);

    /*
     * perf: the word as a string, made once: a name no root has is its
     * own text (R13), which pages use on every render ({{#if flag}})
     */
    if (!kept) {
        e->word = jp_tpl_string_new(e->text, len);

        if (e->word == NULL
            || json_array_append_new(ps->prog->lits, e->word) != 0
            || jp_tpl_account(ps->prog, 64 + len) != 0)
        {
            jp_tpl_oom(ps);
            return NULL;
        }
    }

    return e;
}


static jp_tpl_expr_t *
jp_tpl_string(jp_tpl_parser_t *ps, const char **pp, const char *end)
{
    char            q, *s;
    size_t          n;
    const char     *p, *last;
    jp_tpl_expr_t  *e;

    p = *pp;
    q = *p++;

    /*
     * The closing quote first, so the unescaped copy is sized by the
     * string and not by the rest of the expression: that, once per
     * string, made a call with many long arguments quadratic.
     */
    for (last = p; last < end && *last != q; last++) {
        if (*last == '\\' && last + 1 < end) {
            last++;
        }
    }

    if (last == end) {
        jp_tpl_fail(ps, "unterminated string");
        return NULL;
    }

    /* scratch: the literal keeps its own copy */
    s = malloc(last - p + 1);
    if (s == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    for (n = 0; p < last; p++) {
        if (*p == '\\' && p + 1 < end) {
            p++;
        }
        s[n++] = *p;
    }

    *pp = last + 1;

    e = jp_tpl_lit(ps, jp_tpl_string_new(s, n));
    free(s);

    return e;
}


static jp_tpl_expr_t *
jp_tpl_parse_term(jp_tpl_parser_t *ps, const char **pp, const char *end,
    unsigned depth)
{
    const char     *p, *start;
    jp_tpl_expr_t  *e;

    p = *pp;

    if (*p == '"' || *p == '\'') {
        return jp_tpl_string(ps, pp, end);
    }

    if (*p == '(') {
        if (depth >= JP_TPL_EXPR_DEPTH_MAX) {
            jp_tpl_fail(ps, "subexpressions nested deeper than %d",
                        JP_TPL_EXPR_DEPTH_MAX);
            return NULL;
        }

        p++;
        e = jp_tpl_parse_terms(ps, &p, end, depth + 1, 1, 0);
        if (e == NULL) {
            return NULL;
        }

        *pp = p;

        return e;
    }

    start = p;
    while (p < end && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r'
           && *p != '(' && *p != ')' && *p != '"' && *p != '\'')
    {
        p++;
    }

    if (p == start) {
        jp_tpl_fail(ps, "unexpected \"%c\"", *p);
        return NULL;
    }

    *pp = p;

    return jp_tpl_word(ps, start, p - start);
}


static int
jp_tpl_is_key(const char *p, size_t len)
{
    size_t  i;

    /* jPulse's keys are \w+ segments: "{{let 1=2}}" sets vars["1"] */
    if (len == 0 || !((p[0] >= 'a' && p[0] <= 'z')
                      || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'
                      || (p[0] >= '0' && p[0] <= '9')))
    {
        return 0;
    }

    for (i = 1; i < len; i++) {
        if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')
              || (p[i] >= '0' && p[i] <= '9') || p[i] == '_' || p[i] == '.'
              || p[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


/*
 * Space-separated terms up to the end (or the closing ')') make one
 * expression: "helper args... k=v..." is a call, "components.x k=v" a
 * component call, a single term is itself.
 */
static jp_tpl_expr_t *
jp_tpl_parse_terms(jp_tpl_parser_t *ps, const char **pp, const char *end,
    unsigned depth, int in_paren, int headless)
{
    size_t                  n, nh, i;
    const char             *p, *w, *eq;
    jp_tpl_expr_t          *e, *head, *args[JP_TPL_ARGS_MAX];
    jp_tpl_hash_t           hash[JP_TPL_ARGS_MAX];
    const jp_tpl_helper_t  *h;

    n = 0;
    nh = 0;
    p = *pp;

    for ( ;; ) {
        p = jp_tpl_skip_space(p, end);

        if (p == end) {
            if (in_paren) {
                jp_tpl_fail(ps, "missing \")\"");
                return NULL;
            }
            break;
        }

        if (*p == ')') {
            if (!in_paren) {
                jp_tpl_fail(ps, "unbalanced \")\"");
                return NULL;
            }
            p++;
            break;
        }

        if (n + nh >= JP_TPL_ARGS_MAX - 1) {
            jp_tpl_fail(ps, "more than %d arguments", JP_TPL_ARGS_MAX);
            return NULL;
        }

        /* key=value */
        for (w = p; w < end && *w != '=' && *w != ' ' && *w != '('
             && *w != ')' && *w != '"' && *w != '\''; w++)
        {
            /* void */
        }

        eq = w;
        if (eq < end && *eq == '=' && jp_tpl_is_key(p, eq - p)) {
            hash[nh].key = jp_tpl_pstrdup(ps->prog, p, eq - p);
            if (hash[nh].key == NULL) {
                jp_tpl_oom(ps);
                return NULL;
            }

            /* "u=" is no k=v in jPulse: a positional word, below */
            if (eq + 1 == end || eq[1] == ' ' || eq[1] == ')'
                || eq[1] == '\t' || eq[1] == '\n' || eq[1] == '\r')
            {
                args[n] = jp_tpl_word(ps, p, eq + 1 - p);
                if (args[n] == NULL) {
                    return NULL;
                }

                n++;
                p = eq + 1;
                continue;
            }

            p = eq + 1;

            hash[nh].val = jp_tpl_parse_term(ps, &p, end, depth);
            if (hash[nh].val == NULL) {
                return NULL;
            }

            /*
             * jPulse never resolves a k=v value: a word is its text
             * ({{let a=user.id}} stores "user.id"); (user.id) is the
             * value. Numbers, true and false are typed already.
             */
            e = hash[nh].val;

            if (e->kind == JP_TPL_E_PATH && e->lit == NULL && eq[1] != '(') {
                hash[nh].val = jp_tpl_lit(ps, jp_tpl_string_new(e->text,
                                                      strlen(e->text)));
                if (hash[nh].val == NULL) {
                    return NULL;
                }
            }

            nh++;
            continue;
        }

        args[n] = jp_tpl_parse_term(ps, &p, end, depth);
        if (args[n] == NULL) {
            return NULL;
        }

        n++;
    }

    *pp = p;

    /*
     * jPulse resolves a quoted positional argument as a bare word (R13):
     * {{string.concat "user"}} is the user object, "admin" is ctx.admin
     * when there is one; else it stays the text. The literal is kept for
     * that, and for strict mode, which never resolves a quoted string.
     */
    for (i = headless ? 0 : 1; i < n; i++) {
        e = args[i];

        if (e->kind == JP_TPL_E_LIT && json_is_string(e->lit)
            && json_string_length(e->lit) > 0
            && strchr(json_string_value(e->lit), '/') == NULL
            && strchr(json_string_value(e->lit), '\\') == NULL
            && strlen(json_string_value(e->lit)) == json_string_length(e->lit))
        {
            args[i] = jp_tpl_path(ps, json_string_value(e->lit),
                                  json_string_length(e->lit), 1);
            if (args[i] == NULL) {
                return NULL;
            }

            args[i]->lit = e->lit;
        }
    }

    if (headless) {
        /* every term is an argument: a dummy head keeps the code below */
        memmove(args + 1, args, n * sizeof(jp_tpl_expr_t *));
        n++;

        e = jp_tpl_expr(ps, JP_TPL_E_CALL);
        if (e == NULL) {
            return NULL;
        }

        goto call;
    }

    if (n == 0) {
        jp_tpl_fail(ps, "empty expression");
        return NULL;
    }

    head = args[0];

    if (head->kind == JP_TPL_E_PATH && head->root == JP_TPL_R_NAME
        && strcmp(head->seg[0].name, "components") == 0)
    {
        e = jp_tpl_expr(ps, JP_TPL_E_COMPONENT);
        if (e == NULL) {
            return NULL;
        }

        if (head->nseg > 1) {
            e->text = head->text + sizeof("components");
        }

        if (n > 1) {
            return jp_tpl_error_expr(ps, "unexpected argument in \"%.*s\"",
                                     head->text, strlen(head->text));
        }

        n = 1;
        goto call;
    }

    h = NULL;
    if (head->kind == JP_TPL_E_PATH && head->root == JP_TPL_R_NAME) {
        h = jp_tpl_helper_find(head->text, strlen(head->text));
    }

    /* "(date.now)" calls; "(user.name)" is a value */
    if (n == 1 && nh == 0 && h == NULL) {
        return head;
    }

    /*
     * jPulse: a name that is no helper is a property and its arguments
     * are ignored ({{string.foo x}}, {{json.stringify x}} print "");
     * after a literal, the "name" is no property of anything.
     */
    if (h == NULL) {
        if (head->kind == JP_TPL_E_PATH) {
            return head;
        }

        return jp_tpl_lit(ps, json_null());
    }

    e = jp_tpl_expr(ps, JP_TPL_E_CALL);
    if (e == NULL) {
        return NULL;
    }

    e->helper = h;

call:

    e->nargs = n - 1;
    e->nhash = nh;

    if (n > 1) {
        e->args = jp_tpl_palloc(ps->prog, (n - 1) * sizeof(jp_tpl_expr_t *));
        if (e->args == NULL) {
            jp_tpl_oom(ps);
            return NULL;
        }

        memcpy(e->args, args + 1, (n - 1) * sizeof(jp_tpl_expr_t *));
    }

    if (nh) {
        e->hash = jp_tpl_palloc(ps->prog, nh * sizeof(jp_tpl_hash_t));
        if (e->hash == NULL) {
            jp_tpl_oom(ps);
            return NULL;
        }

        for (i = 0; i < nh; i++) {
            e->hash[i] = hash[i];
        }
    }

    return e;
}


/* "let a=1 b.c=2" and "component "name" k=v": arguments without a head */
static int
jp_tpl_hash_only(jp_tpl_parser_t *ps, jp_tpl_node_t *n, const char *p,
    const char *end, int want_name)
{
    jp_tpl_expr_t  *c;

    c = jp_tpl_parse_terms(ps, &p, end, 0, 0, 1);
    if (c == NULL) {
        return -1;
    }

    if (want_name) {
        /* the name is checked when the definition runs, as in jPulse
         * (jp_tpl_define): missing, or not a valid name, is a comment */
        n->expr = c->nargs > 0 ? c->args[0] : NULL;

    }

    /* let: positional arguments are ignored, and none at all is fine */

    n->hash = c->hash;
    n->nhash = c->nhash;

    return 0;
}


/*
 * jPulse splits an expression into its name and arguments at the first
 * space with a pattern whose "." stops at a line terminator (LF, CR,
 * U+2028, U+2029): arguments that hold one do not split at all (R7).
 */
static int
jp_tpl_has_eol(const char *p, const char *end)
{
    for ( /* void */ ; p < end; p++) {
        if (*p == '\n' || *p == '\r') {
            return 1;
        }

        if ((unsigned char) *p == 0xe2 && end - p >= 3
            && (unsigned char) p[1] == 0x80
            && ((unsigned char) p[2] == 0xa8 || (unsigned char) p[2] == 0xa9))
        {
            return 1;
        }
    }

    return 0;
}


/* the blocks whose body jPulse splits at {{else}} */
static int
jp_tpl_splits(unsigned block)
{
    return block == JP_TPL_B_IF || block == JP_TPL_B_UNLESS
           || block == JP_TPL_B_HELPER;
}


/*
 * A block opener "#name params" (params after one optional space, as
 * jPulse's block pattern takes them) into a block node. Returns 1 for a
 * name that is no block (no node made).
 */
static int
jp_tpl_open(jp_tpl_parser_t *ps, const jp_tpl_tok_t *t, jp_tpl_node_t **np)
{
    size_t                  len;
    unsigned                block;
    const char             *name, *p, *q, *end;
    jp_tpl_node_t          *n;
    jp_tpl_expr_t          *c;
    const jp_tpl_helper_t  *h;

    name = t->p + 1;
    len = t->nlen;
    p = name + len;
    end = t->p + t->len;
    h = NULL;

    if (p < end && *p == ' ') {
        p++;
    }

    if (len == 2 && memcmp(name, "if", 2) == 0) {
        block = JP_TPL_B_IF;

    } else if (len == 6 && memcmp(name, "unless", 6) == 0) {
        block = JP_TPL_B_UNLESS;

    } else if (len == 4 && memcmp(name, "each", 4) == 0) {
        block = JP_TPL_B_EACH;

    } else if (len == 4 && memcmp(name, "with", 4) == 0) {
        block = JP_TPL_B_WITH;

    } else if (len == 3 && memcmp(name, "let", 3) == 0) {
        block = JP_TPL_B_LET;

    } else if (len == 9 && memcmp(name, "component", 9) == 0) {
        block = JP_TPL_B_COMPONENT;

    } else {
        h = jp_tpl_helper_find(name, len);
        if (h == NULL || !h->block) {
            return 1;
        }

        block = JP_TPL_B_HELPER;
    }

    n = jp_tpl_node(ps, JP_TPL_N_BLOCK);
    if (n == NULL) {
        return -1;
    }

    *np = n;
    n->block = block;

    /* "#name params": what jPulse's error comments name the block by */
    n->len = 1 + len + 1 + (end - p);
    n->text = jp_tpl_palloc(ps->prog, n->len + 1);
    if (n->text == NULL) {
        return jp_tpl_oom(ps);
    }

    memcpy((char *) n->text, t->p, 1 + len);
    ((char *) n->text)[1 + len] = ' ';
    memcpy((char *) n->text + 2 + len, p, end - p);

    q = jp_tpl_skip_space(p, end);

    /* trimmed, a line break left inside: jPulse sees no argument at all */
    while (end > q && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'
                       || end[-1] == '\r'))
    {
        end--;
    }

    if (jp_tpl_has_eol(q, end)) {
        p = q = end;
    }

    switch (block) {

    case JP_TPL_B_LET:
        return jp_tpl_hash_only(ps, n, p, end, 0);

    case JP_TPL_B_COMPONENT:
        return jp_tpl_hash_only(ps, n, p, end, 1);

    case JP_TPL_B_HELPER:
        /* "#eq a b" is the call "eq a b" */
        n->expr = jp_tpl_parse_terms(ps, &q, end, 0, 0, 1);
        if (n->expr == NULL) {
            return -1;
        }

        n->expr->helper = h;
        return 0;

    case JP_TPL_B_EACH:
        /* jPulse's one special form: {{#each file.list "glob" ...}} */
        if (end - q > 10 && memcmp(q, "file.list", 9) == 0
            && (q[9] == ' ' || q[9] == '\t'))
        {
            n->expr = jp_tpl_parse_terms(ps, &q, end, 0, 0, 0);
            return n->expr ? 0 : -1;
        }

        /* fall through */

    default:
        /*
         * The first positional argument is the value; the others and
         * k=v are ignored, and none is undefined ({{#if}} is false).
         * "{{#if string.contains a b}}" tests the word string.contains.
         */
        c = jp_tpl_parse_terms(ps, &q, end, 0, 0, 1);
        if (c == NULL) {
            return -1;
        }

        n->expr = c->nargs ? c->args[0] : NULL;
        return 0;
    }
}


/* text made at compile time (an error comment) as a text node */
static int
jp_tpl_static(jp_tpl_parser_t *ps, jp_tpl_buf_t *b)
{
    jp_tpl_node_t  *n;

    if (b->failed) {
        jp_tpl_buf_free(b);
        return jp_tpl_oom(ps);
    }

    n = jp_tpl_node(ps, JP_TPL_N_TEXT);
    if (n == NULL) {
        jp_tpl_buf_free(b);
        return -1;
    }

    n->text = jp_tpl_pstrdup(ps->prog, b->data ? b->data : "", b->len);
    n->len = b->len;
    jp_tpl_buf_free(b);

    return n->text ? 0 : jp_tpl_oom(ps);
}


/* the first compile-time error comment, for jp_tpl_check() */
static void
jp_tpl_note(jp_tpl_parser_t *ps)
{
    if (ps->soft++ == 0) {
        ps->first = *ps->err;
    }

    memset(ps->err, 0, sizeof(jp_tpl_error_t));
}


/* "{{#if a}}" with no "{{/if}}" of its level, or the reverse */
static int
jp_tpl_unbalanced(jp_tpl_parser_t *ps, const jp_tpl_tok_t *t)
{
    jp_tpl_buf_t  b;

    jp_tpl_fail(ps, "unbalanced \"{{%.*s}}\": no matching {{%c%.*s}}",
                (int) (t->len > 64 ? 64 : t->len), t->p,
                t->kind == JP_TPL_T_OPEN ? '/' : '#', (int) t->nlen,
                t->p + 1);
    jp_tpl_note(ps);

    jp_tpl_buf_init(&b, 0);
    (void) (jp_tpl_buf_add(&b, "<!-- Error: Unbalanced handlebar \"", 34)
            || jp_tpl_buf_add_comment(&b, t->p, t->len)
            || jp_tpl_buf_add(&b, "\" removed -->", 13));

    return jp_tpl_static(ps, &b);
}


/*
 * An expression or block opener that does not parse (or a block name
 * jPulse does not know) renders as jPulse renders a failing expression:
 * "<!-- Error: Handlebar "text": message -->". What the failed parse
 * appended is unlinked first.
 */
static int
jp_tpl_soft(jp_tpl_parser_t *ps, jp_tpl_node_t **saved, const char *p,
    size_t len)
{
    char          msg[JP_TPL_ERRMSG_MAX];
    size_t        k;
    jp_tpl_buf_t  b;

    if (ps->fatal) {
        return -1;
    }

    *saved = NULL;
    ps->tail[ps->nopen] = saved;

    /* the message without the translation's key that jp_tpl_fail() put
     * in front for jp_tpl_check(): jPulse's comment has none */
    k = (ps->ikey != NULL) ? (ps->iklen > 128 ? 128 : ps->iklen) + 7 : 0;
    if (k > strlen(ps->err->message)) {
        k = 0;
    }

    snprintf(msg, sizeof(msg), "%s", ps->err->message + k);
    jp_tpl_note(ps);

    jp_tpl_buf_init(&b, 0);
    (void) (jp_tpl_buf_add(&b, "<!-- Error: Handlebar \"", 23)
            || jp_tpl_buf_add_comment(&b, p, len)
            || jp_tpl_buf_add(&b, "\": ", 3)
            || jp_tpl_buf_add_comment(&b, msg, strlen(msg))
            || jp_tpl_buf_add(&b, " -->", 4));

    return jp_tpl_static(ps, &b);
}


static int
jp_tpl_closer_cmp(const jp_tpl_closer_t *a, const char *name, unsigned nlen,
    long level, size_t index)
{
    int  r;

    r = memcmp(a->name, name, a->nlen < nlen ? a->nlen : nlen);
    if (r != 0) {
        return r;
    }

    if (a->nlen != nlen) {
        return a->nlen < nlen ? -1 : 1;
    }

    if (a->level != level) {
        return a->level < level ? -1 : 1;
    }

    return (a->index > index) - (a->index < index);
}


static int
jp_tpl_closer_sort(const void *a, const void *b)
{
    const jp_tpl_closer_t  *y;

    y = b;

    return jp_tpl_closer_cmp(a, y->name, y->nlen, y->level, y->index);
}


/*
 * The closer jPulse's block pattern pairs with the opener at index i: the
 * first "{{/name}}" after it with the same name and level. A binary
 * search over the sorted closers: no scan per opener, so a page of
 * unclosed openers is not quadratic.
 */
static size_t
jp_tpl_closer(jp_tpl_parser_t *ps, size_t i)
{
    size_t                  lo, hi, mid;
    const jp_tpl_tok_t     *t;
    const jp_tpl_closer_t  *c;

    t = &ps->toks[i];
    lo = 0;
    hi = ps->nclosers;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (jp_tpl_closer_cmp(&ps->closers[mid], t->p + 1, t->nlen,
                              t->level, i + 1) < 0)
        {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == ps->nclosers) {
        return (size_t) -1;
    }

    c = &ps->closers[lo];

    if (c->nlen != t->nlen || c->level != t->level
        || memcmp(c->name, t->p + 1, t->nlen) != 0)
    {
        return (size_t) -1;
    }

    return c->index;
}


static int jp_tpl_segment(jp_tpl_parser_t *ps, size_t s, size_t e,
    long base);


/*
 * A paired block from its opener at i to its closer at c. jPulse splits
 * the body of #if, #unless and the helper blocks at {{else}}: every
 * {{else}} but those inside a nested block of the same name (paired as
 * above) splits, the first part renders when true, the second when false,
 * the others never. A pair broken by the split leaves unbalanced tags in
 * its parts, as in jPulse. A component's body is paired on its own, as
 * jPulse does when it expands it.
 */
static int
jp_tpl_block_node(jp_tpl_parser_t *ps, size_t i, size_t c, long base)
{
    int                  rc;
    size_t               k, m, split[2], nsplit;
    jp_tpl_node_t       *n, **saved;
    const jp_tpl_tok_t  *t, *u;
    jp_tpl_buf_t         b;

    t = &ps->toks[i];

    if (ps->nopen >= JP_TPL_BLOCK_DEPTH_MAX) {
        ps->fatal = 1;
        return jp_tpl_fail(ps, "blocks nested deeper than %d",
                           JP_TPL_BLOCK_DEPTH_MAX);
    }

    saved = ps->tail[ps->nopen];
    n = NULL;

    rc = jp_tpl_open(ps, t, &n);

    if (rc == 1) {
        jp_tpl_fail(ps, "unknown block type \"#%.*s\"", (int) t->nlen,
                    t->p + 1);
        jp_tpl_note(ps);

        /* "#foo a" as jPulse writes it: the params after one space */
        k = 1 + t->nlen + (1 + t->nlen < t->len && t->p[1 + t->nlen] == ' ');

        jp_tpl_buf_init(&b, 0);
        (void) (jp_tpl_buf_add(&b, "<!-- Error: Handlebar \"", 23)
                || jp_tpl_buf_add_comment(&b, t->p, 1 + t->nlen)
                || jp_tpl_buf_add(&b, " ", 1)
                || jp_tpl_buf_add_comment(&b, t->p + k, t->len - k)
                || jp_tpl_buf_add(&b, "\": Unknown block type: #", 24)
                || jp_tpl_buf_add(&b, t->p + 1, t->nlen)
                || jp_tpl_buf_add(&b, " -->", 4));

        return jp_tpl_static(ps, &b);
    }

    if (rc != 0) {
        if (n == NULL || n->text == NULL) {
            return jp_tpl_soft(ps, saved, t->p, t->len);
        }

        return jp_tpl_soft(ps, saved, n->text, n->len);
    }

    ps->open[ps->nopen++] = n;
    ps->tail[ps->nopen] = &n->body;

    if (n->block == JP_TPL_B_COMPONENT) {
        rc = jp_tpl_segment(ps, i + 1, c, t->level + 1);

    } else if (!jp_tpl_splits(n->block)) {
        rc = jp_tpl_segment(ps, i + 1, c, base);

    } else {
        nsplit = 0;

        for (k = i + 1; k < c && nsplit < 2; k++) {
            u = &ps->toks[k];

            if (u->kind == JP_TPL_T_ELSE) {
                split[nsplit++] = k;
                continue;
            }

            if (u->kind == JP_TPL_T_OPEN && u->nlen == t->nlen
                && u->level >= base
                && memcmp(u->p + 1, t->p + 1, t->nlen) == 0)
            {
                m = jp_tpl_closer(ps, k);
                if (m != (size_t) -1 && m < c) {
                    k = m;
                }
            }
        }

        rc = jp_tpl_segment(ps, i + 1, nsplit ? split[0] : c, base);

        if (rc == 0 && nsplit) {
            ps->tail[ps->nopen] = &n->inverse;
            rc = jp_tpl_segment(ps, split[0] + 1,
                                nsplit > 1 ? split[1] : c, base);
        }
    }

    ps->nopen--;

    return rc;
}


/* the tokens [s, e) into the tree, at the current tail */
static int
jp_tpl_segment(jp_tpl_parser_t *ps, size_t s, size_t e, long base)
{
    int                  rc;
    size_t               i, c;
    jp_tpl_node_t       *n, **saved;
    const jp_tpl_tok_t  *t;

    for (i = s; i < e; i++) {
        t = &ps->toks[i];

        ps->tline = t->line;
        ps->tcolumn = t->column;
        ps->ikey = t->ikey;
        ps->iklen = t->iklen;

        switch (t->kind) {

        case JP_TPL_T_TEXT:
            n = jp_tpl_node(ps, JP_TPL_N_TEXT);
            if (n == NULL) {
                return -1;
            }

            n->len = t->len;
            n->text = t->arena ? t->p : jp_tpl_pstrdup(ps->prog, t->p, t->len);
            rc = n->text ? 0 : jp_tpl_oom(ps);
            break;

        case JP_TPL_T_OPEN:
            c = (t->level >= base) ? jp_tpl_closer(ps, i) : (size_t) -1;

            if (c == (size_t) -1 || c >= e) {
                rc = jp_tpl_unbalanced(ps, t);
                break;
            }

            rc = jp_tpl_block_node(ps, i, c, base);
            i = c;
            break;

        case JP_TPL_T_CLOSE:
            /* a paired one was passed over with its opener */
            rc = jp_tpl_unbalanced(ps, t);
            break;

        default:
            /* an expression; {{else}} outside a split is one too ("") */
            saved = ps->tail[ps->nopen];
            rc = jp_tpl_token(ps, t->p, t->len, t->raw);
            if (rc != 0) {
                rc = jp_tpl_soft(ps, saved, t->p, t->len);
            }
        }

        if (rc != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * jPulse's level annotation over the whole unit: an opener takes the
 * running level and raises it, a closer lowers it and takes it. Openers
 * then pair with the first exact closer of the same name and level
 * (jp_tpl_closer()); a level below 0 never pairs (jPulse leaves such
 * tags with their marks in the page; here they become error comments).
 */
int
jp_tpl_build(jp_tpl_parser_t *ps)
{
    long           level;
    size_t         i, n;
    jp_tpl_tok_t  *t;

    level = 0;
    n = 0;

    for (i = 0; i < ps->ntoks; i++) {
        t = &ps->toks[i];

        if (t->kind == JP_TPL_T_OPEN) {
            t->level = level++;

        } else if (t->kind == JP_TPL_T_CLOSE) {
            t->level = --level;
            n += t->exact;
        }
    }

    if (n > 0) {
        ps->closers = malloc(n * sizeof(jp_tpl_closer_t));
        if (ps->closers == NULL) {
            return jp_tpl_oom(ps);
        }

        for (i = 0; i < ps->ntoks; i++) {
            t = &ps->toks[i];

            if (t->kind == JP_TPL_T_CLOSE && t->exact) {
                ps->closers[ps->nclosers].name = t->p + 1;
                ps->closers[ps->nclosers].nlen = t->nlen;
                ps->closers[ps->nclosers].level = t->level;
                ps->closers[ps->nclosers].index = i;
                ps->nclosers++;
            }
        }

        qsort(ps->closers, ps->nclosers, sizeof(jp_tpl_closer_t),
              jp_tpl_closer_sort);
    }

    return jp_tpl_segment(ps, 0, ps->ntoks, 0);
}


int
jp_tpl_token(jp_tpl_parser_t *ps, const char *p, size_t len, unsigned raw)
{
    const char     *end, *q;
    jp_tpl_node_t  *n;

    end = p + len;

    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'
                       || end[-1] == '\r'))
    {
        end--;
    }

    len = end - p;

    if (len == 0) {
        return jp_tpl_fail(ps, "empty expression");
    }

    /*
     * R7: the name ends at the first space. A tab or line break before
     * it makes the whole text one name, a property nothing has (""); a
     * line break after it, no name at all: jPulse's TypeError.
     */
    q = memchr(p, ' ', len);
    q = q ? q : end;

    if (!raw && (memchr(p, '\t', q - p) || jp_tpl_has_eol(p, q)
                 || memchr(p, '\v', q - p) || memchr(p, '\f', q - p)))
    {
        n = jp_tpl_node(ps, JP_TPL_N_TEXT);
        if (n == NULL) {
            return -1;
        }

        n->text = "";
        return 0;
    }

    if (!raw && jp_tpl_has_eol(q, end)) {
        return jp_tpl_fail(ps, "Cannot read properties of undefined "
                           "(reading 'startsWith')");
    }

    if (!raw && len >= 3 && memcmp(p, "let", 3) == 0
        && (len == 3 || p[3] == ' ' || p[3] == '\t'))
    {
        n = jp_tpl_node(ps, JP_TPL_N_LET);
        if (n == NULL) {
            return -1;
        }

        n->text = jp_tpl_pstrdup(ps->prog, p, len);
        n->len = len;

        if (n->text == NULL) {
            return jp_tpl_oom(ps);
        }

        return jp_tpl_hash_only(ps, n, p + 3, end, 0);
    }

    n = jp_tpl_node(ps, JP_TPL_N_OUT);
    if (n == NULL) {
        return -1;
    }

    n->raw = raw;
    n->text = jp_tpl_pstrdup(ps->prog, p, len);
    n->len = len;

    if (n->text == NULL) {
        return jp_tpl_oom(ps);
    }

    q = p;
    n->expr = jp_tpl_parse_terms(ps, &q, end, 0, 0, 0);

    return n->expr ? 0 : -1;
}
