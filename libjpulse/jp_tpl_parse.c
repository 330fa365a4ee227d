/*
 * Template compiler, second half: one expression at a time (from
 * jp_tpl_lex.c) into the tree: terms, subexpressions, k=v, helper calls,
 * component calls, and the block structure with {{else}}.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


static jp_tpl_expr_t *jp_tpl_parse_terms(jp_tpl_parser_t *ps,
    const char **pp, const char *end, unsigned depth, int in_paren,
    int headless);


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
    char            *s, *dot;
    unsigned         i, n;
    jp_tpl_expr_t   *e;

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

    /* "undefined" is no literal in jPulse: a bare unknown word, so the
     * string "undefined" (contract 5), and {{eq null undefined}} false */
    if (len == 4 && memcmp(p, "null", 4) == 0) {
        return jp_tpl_lit(ps, json_null());
    }

    /* positional args with '/' are file paths, never variables */
    if (memchr(p, '/', len) != NULL) {
        return jp_tpl_lit(ps, jp_tpl_string_new(p, len));
    }

    e = jp_tpl_expr(ps, JP_TPL_E_PATH);
    if (e == NULL) {
        return NULL;
    }

    e->text = s = jp_tpl_pstrdup(ps->prog, p, len);
    if (s == NULL) {
        jp_tpl_oom(ps);
        return NULL;
    }

    for (n = 1, i = 0; i < len; i++) {
        n += (p[i] == '.');
    }

    e->seg = jp_tpl_palloc(ps->prog, n * sizeof(jp_tpl_seg_t));
    s = jp_tpl_pstrdup(ps->prog, p, len);
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

    if (len == 0 || !((p[0] >= 'a' && p[0] <= 'z')
                      || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '_'))
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

            p = eq + 1;
            if (p == end || *p == ' ' || *p == ')') {
                jp_tpl_fail(ps, "missing value for \"%s\"", hash[nh].key);
                return NULL;
            }

            hash[nh].val = jp_tpl_parse_term(ps, &p, end, depth);
            if (hash[nh].val == NULL) {
                return NULL;
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

    if (h == NULL) {
        if (head->kind == JP_TPL_E_PATH) {
            return jp_tpl_error_expr(ps, "unknown helper \"%.*s\"",
                                     head->text, strlen(head->text));
        }

        return jp_tpl_error_expr(ps, "unexpected arguments after %.*s",
                                 "a literal", 9);
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

    } else if (c->nargs != 0 || c->nhash == 0) {
        return jp_tpl_fail(ps, "expected key=value arguments");
    }

    n->hash = c->hash;
    n->nhash = c->nhash;

    return 0;
}


static int
jp_tpl_open(jp_tpl_parser_t *ps, const char *p, const char *end)
{
    size_t                  len;
    const char             *name, *q;
    jp_tpl_node_t          *n;
    const jp_tpl_helper_t  *h;

    name = p;
    while (p < end && *p >= 'a' && *p <= 'z') {
        p++;
    }

    len = p - name;
    h = NULL;

    if (ps->nopen >= JP_TPL_BLOCK_DEPTH_MAX) {
        return jp_tpl_fail(ps, "blocks nested deeper than %d",
                           JP_TPL_BLOCK_DEPTH_MAX);
    }

    n = jp_tpl_node(ps, JP_TPL_N_BLOCK);
    if (n == NULL) {
        return -1;
    }

    n->text = jp_tpl_pstrdup(ps->prog, name, len);
    n->len = len;

    if (n->text == NULL) {
        return jp_tpl_oom(ps);
    }

    if (len == 2 && memcmp(name, "if", 2) == 0) {
        n->block = JP_TPL_B_IF;

    } else if (len == 6 && memcmp(name, "unless", 6) == 0) {
        n->block = JP_TPL_B_UNLESS;

    } else if (len == 4 && memcmp(name, "each", 4) == 0) {
        n->block = JP_TPL_B_EACH;

    } else if (len == 4 && memcmp(name, "with", 4) == 0) {
        n->block = JP_TPL_B_WITH;

    } else if (len == 3 && memcmp(name, "let", 3) == 0) {
        n->block = JP_TPL_B_LET;

    } else if (len == 9 && memcmp(name, "component", 9) == 0) {
        n->block = JP_TPL_B_COMPONENT;

    } else {
        h = jp_tpl_helper_find(name, len);
        if (h == NULL || !h->block || len == 0) {
            return jp_tpl_fail(ps, "unknown block helper \"#%.*s\"",
                               (int) len, name);
        }

        n->block = JP_TPL_B_HELPER;
    }

    if (p < end && *p != ' ' && *p != '\t' && *p != '\n') {
        return jp_tpl_fail(ps, "bad block name \"#%.*s\"",
                           (int) (end - name), name);
    }

    q = jp_tpl_skip_space(p, end);

    switch (n->block) {

    case JP_TPL_B_LET:
        if (jp_tpl_hash_only(ps, n, p, end, 0) != 0) {
            return -1;
        }
        break;

    case JP_TPL_B_COMPONENT:
        if (jp_tpl_hash_only(ps, n, p, end, 1) != 0) {
            return -1;
        }
        break;

    case JP_TPL_B_HELPER:
        /* "#eq a b" is the call "eq a b" */
        n->expr = jp_tpl_parse_terms(ps, &q, end, 0, 0, 1);
        if (n->expr == NULL) {
            return -1;
        }

        n->expr->helper = h;
        break;

    default:
        if (q == end) {
            return jp_tpl_fail(ps, "#%.*s needs an argument", (int) len,
                               name);
        }

        /* components: "#each components.ns" reads ctx.components, as in
         * jPulse; only an expression's head is a component call */
        if (end - q >= 10 && memcmp(q, "components", 10) == 0
            && (end - q == 10 || q[10] == '.')
            && memchr(q, ' ', end - q) == NULL)
        {
            n->expr = jp_tpl_parse_term(ps, &q, end, 0);

        } else {
            n->expr = jp_tpl_parse_terms(ps, &q, end, 0, 0, 0);
        }

        if (n->expr == NULL) {
            return -1;
        }
    }

    ps->open[ps->nopen++] = n;
    ps->tail[ps->nopen] = &n->body;

    return 0;
}


int
jp_tpl_token(jp_tpl_parser_t *ps, const char *p, size_t len, unsigned raw)
{
    const char     *end, *q;
    jp_tpl_node_t  *n, *b;

    end = p + len;

    while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n'
                       || end[-1] == '\r'))
    {
        end--;
    }

    len = end - p;

    if (*p == '#' && !raw) {
        return jp_tpl_open(ps, p + 1, end);
    }

    if (*p == '/' && !raw) {
        q = p + 1;
        while (q < end && *q >= 'a' && *q <= 'z') {
            q++;
        }

        if (ps->nopen == 0) {
            return jp_tpl_fail(ps, "unbalanced \"{{%.*s}}\": no open block",
                               (int) len, p);
        }

        b = ps->open[ps->nopen - 1];

        if (q != end || (size_t) (q - p - 1) != b->len
            || memcmp(p + 1, b->text, b->len) != 0)
        {
            return jp_tpl_fail(ps, "unbalanced \"{{%.*s}}\": open block is "
                               "\"{{#%.*s}}\" at line %u",
                               (int) len, p, (int) b->len, b->text, b->line);
        }

        ps->nopen--;

        return 0;
    }

    if (len == 4 && memcmp(p, "else", 4) == 0 && !raw) {
        if (ps->nopen == 0) {
            return jp_tpl_fail(ps, "{{else}} outside a block");
        }

        b = ps->open[ps->nopen - 1];

        if (b->block == JP_TPL_B_EACH || b->block == JP_TPL_B_WITH
            || b->block == JP_TPL_B_LET || b->block == JP_TPL_B_COMPONENT)
        {
            return jp_tpl_fail(ps, "{{else}} is not allowed in \"#%.*s\"",
                               (int) b->len, b->text);
        }

        if (ps->tail[ps->nopen] == &b->inverse || b->inverse != NULL) {
            return jp_tpl_fail(ps, "second {{else}} in \"#%.*s\"",
                               (int) b->len, b->text);
        }

        ps->tail[ps->nopen] = &b->inverse;

        return 0;
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
