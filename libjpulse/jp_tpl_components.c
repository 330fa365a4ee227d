/*
 * What jPulse does to the text of includes and component definitions
 * before it expands them, and file.includeComponents:
 *
 * - every "@name" header comment of an included file, anywhere in it,
 *   is cut with one following CR and/or LF (jp_tpl_strip_headers);
 * - the whitespace (JavaScript's \s) after each "{{/component}}" is cut,
 *   in every unit: page, include, component body (jp_tpl_after_component);
 * - file.includeComponents "GLOB" component="ns.*" sortBy="...": the
 *   component blocks of the listed files, expanded at once, sorted and
 *   registered; it prints nothing.
 *
 * The compiler keeps positions in the file as written: a stripped copy
 * is lexed, and jp_tpl_unstrip() maps its offsets back.
 */

#define _GNU_SOURCE      /* memmem */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/* the component blocks one call may collect from its files */
#define JP_TPL_ICOMP_MAX  JP_TPL_COMPONENTS_MAX


/* the length of the JavaScript whitespace character (\s) at p, 0 if none */
size_t
jp_tpl_js_space_len(const char *p, const char *end)
{
    size_t  n;

    if (p >= end) {
        return 0;
    }

    if ((unsigned char) *p < 0x80) {
        return (*p >= 0x09 && *p <= 0x0d) || *p == 0x20;
    }

    return jp_tpl_js_space(jp_tpl_utf8_get(p, end, &n)) ? n : 0;
}


/* the length of the JavaScript whitespace character ending at end */
static size_t
jp_tpl_js_space_before(const char *start, const char *end)
{
    size_t  k;

    for (k = 1; k <= 3 && (size_t) (end - start) >= k; k++) {
        if (jp_tpl_js_space_len(end - k, end) == k) {
            return k;
        }
    }

    return 0;
}


/* JavaScript's String.prototype.trim() */
static void
jp_tpl_js_trim(const char **p, const char **end)
{
    size_t  k;

    while ((k = jp_tpl_js_space_len(*p, *end)) != 0) {
        *p += k;
    }

    while ((k = jp_tpl_js_space_before(*p, *end)) != 0) {
        *end -= k;
    }
}


/*
 * The end of the first closer of a header comment ("*" "/", "-->" or
 * "--}}", whichever comes first, whatever the opener was) from p; NULL
 * when there is none.
 */
static const char *
jp_tpl_header_closer(const char *p, const char *end)
{
    for ( /* void */ ; end - p >= 2; p++) {
        if (p[0] == '*' && p[1] == '/') {
            return p + 2;
        }

        if (p[0] == '-' && p[1] == '-' && end - p >= 3) {
            if (p[2] == '>') {
                return p + 3;
            }

            if (p[2] == '}' && end - p >= 4 && p[3] == '}') {
                return p + 4;
            }
        }
    }

    return NULL;
}


/*
 * A header comment at p: an opener ("<!--", "/" "**" or "{{!--"), one or
 * more whitespace characters, "*", one or more spaces, "@name ", then
 * anything up to the first closer, then an optional CR and an optional
 * LF. Returns its end, or NULL. *none is set when no closer follows p:
 * then none follows any later position either.
 */
static const char *
jp_tpl_header_at(const char *p, const char *end, int *none)
{
    size_t       k;
    const char  *q, *c;

    if (end - p >= 4 && memcmp(p, "<!--", 4) == 0) {
        q = p + 4;

    } else if (end - p >= 3 && memcmp(p, "/**", 3) == 0) {
        q = p + 3;

    } else if (end - p >= 5 && memcmp(p, "{{!--", 5) == 0) {
        q = p + 5;

    } else {
        return NULL;
    }

    k = jp_tpl_js_space_len(q, end);
    if (k == 0) {
        return NULL;
    }

    do {
        q += k;
    } while ((k = jp_tpl_js_space_len(q, end)) != 0);

    if (end - q < 2 || q[0] != '*' || q[1] != ' ') {
        return NULL;
    }

    for (q++; q < end && *q == ' '; q++) { /* void */ }

    if (end - q < 6 || memcmp(q, "@name ", 6) != 0) {
        return NULL;
    }

    c = jp_tpl_header_closer(q + 6, end);
    if (c == NULL) {
        *none = 1;
        return NULL;
    }

    if (c < end && *c == '\r') {
        c++;
    }

    if (c < end && *c == '\n') {
        c++;
    }

    return c;
}


static int
jp_tpl_strip_note(jp_tpl_strip_t *st, size_t at, size_t gone)
{
    size_t   cap, *a, *g;

    if (st->n == st->cap) {
        cap = st->cap ? st->cap * 2 : 8;

        a = realloc(st->at, cap * sizeof(size_t));
        if (a == NULL) {
            return -1;
        }
        st->at = a;

        g = realloc(st->gone, cap * sizeof(size_t));
        if (g == NULL) {
            return -1;
        }
        st->gone = g;

        st->cap = cap;
    }

    st->at[st->n] = at;
    st->gone[st->n++] = gone;

    return 0;
}


/*
 * jPulse's header stripping of an included file (only file.include: not
 * the page, nor the files read by file.includeComponents). Returns 0
 * when there is nothing to strip (*out NULL), 1 with *out (malloc()ed)
 * and *olen, -1 when out of memory. st records what was cut.
 */
int
jp_tpl_strip_headers(const char *src, size_t len, jp_tpl_strip_t *st,
    char **out, size_t *olen)
{
    int          none;
    char        *dst;
    size_t       n, gone;
    const char  *p, *end, *h, *copied;

    memset(st, 0, sizeof(jp_tpl_strip_t));
    *out = NULL;
    *olen = 0;

    dst = NULL;
    n = 0;
    gone = 0;
    none = 0;
    end = src + len;
    copied = src;

    for (p = src; p < end && !none; /* void */ ) {
        if (*p != '<' && *p != '/' && *p != '{') {
            p++;
            continue;
        }

        h = jp_tpl_header_at(p, end, &none);
        if (h == NULL) {
            p++;
            continue;
        }

        if (dst == NULL) {
            dst = malloc(len + 1);
            if (dst == NULL) {
                return -1;
            }
        }

        memcpy(dst + n, copied, p - copied);
        n += p - copied;
        gone += h - p;

        if (jp_tpl_strip_note(st, n, gone) != 0) {
            free(dst);
            jp_tpl_strip_free(st);
            return -1;
        }

        p = copied = h;
    }

    if (dst == NULL) {
        return 0;
    }

    memcpy(dst + n, copied, end - copied);
    n += end - copied;
    dst[n] = '\0';

    st->orig = src;
    st->copy = dst;
    *out = dst;
    *olen = n;

    return 1;
}


/* p in the stripped copy -> the same byte in the source as written */
const char *
jp_tpl_unstrip(jp_tpl_strip_t *st, const char *p)
{
    size_t  off;

    off = p - st->copy;

    while (st->i < st->n && st->at[st->i] <= off) {
        st->i++;
    }

    return st->orig + off + (st->i ? st->gone[st->i - 1] : 0);
}


void
jp_tpl_strip_free(jp_tpl_strip_t *st)
{
    free(st->at);
    free(st->gone);
    st->at = NULL;
    st->gone = NULL;
    st->n = st->cap = 0;
}


/*
 * After the exact text "{{/component}}": the whitespace that follows, and
 * the {{!-- --}} comments in it (jPulse removes comments first), are not
 * text. *unclosed is the lexer's "no --}} left" mark.
 */
const char *
jp_tpl_after_component(const char *p, const char *end, int *unclosed)
{
    size_t       k;
    const char  *c;

    for ( ;; ) {
        while ((k = jp_tpl_js_space_len(p, end)) != 0) {
            p += k;
        }

        if (*unclosed || end - p < 5 || memcmp(p, "{{!--", 5) != 0) {
            return p;
        }

        c = memmem(p + 5, end - p - 5, "--}}", 4);
        if (c == NULL) {
            *unclosed = 1;
            return p;
        }

        p = c + 4;
    }
}


/*
 * ctx.components: the usage name's dotted path set to val (a reference
 * is taken), objects created or replaced on the way, as jPulse does.
 */
int
jp_tpl_components_set(jp_tpl_rs_t *rs, const char *name, json_t *val)
{
    char        key[JP_TPL_PATH_MAX];
    size_t      n;
    json_t     *o, *next;
    const char *dot;

    if (rs->components == NULL) {
        rs->components = json_object();
        if (rs->components == NULL) {
            return -1;
        }
    }

    o = rs->components;

    for ( ;; ) {
        dot = strchr(name, '.');
        n = dot ? (size_t) (dot - name) : strlen(name);

        if (n >= sizeof(key)) {
            return 0;
        }

        memcpy(key, name, n);
        key[n] = '\0';

        if (dot == NULL) {
            return json_object_set(o, key, val);
        }

        next = json_object_get(o, key);
        if (!json_is_object(next)) {
            next = json_object();
            if (next == NULL || json_object_set_new(o, key, next) != 0) {
                return -1;
            }
        }

        o = next;
        name = dot + 1;
    }
}


/* the registry: a later definition of a usage name replaces it */
int
jp_tpl_comp_add(jp_tpl_rs_t *rs, char *name, const jp_tpl_node_t *n,
    json_t *text)
{
    size_t          i;
    jp_tpl_comp_t  *c;

    for (i = 0; i < rs->ncomps; i++) {
        if (strcmp(rs->comps[i].name, name) == 0) {
            free(name);
            json_decref(rs->comps[i].text);
            rs->comps[i].node = n;
            rs->comps[i].text = json_incref(text);
            return 0;
        }
    }

    if (rs->ncomps >= JP_TPL_COMPONENTS_MAX) {
        free(name);
        return jp_tpl_error(rs, "more than %d components",
                            JP_TPL_COMPONENTS_MAX);
    }

    c = realloc(rs->comps, (rs->ncomps + 1) * sizeof(jp_tpl_comp_t));
    if (c == NULL) {
        free(name);
        return jp_tpl_error(rs, "out of memory");
    }

    rs->comps = c;
    c[rs->ncomps].name = name;
    c[rs->ncomps].node = n;
    c[rs->ncomps++].text = json_incref(text);

    return 0;
}


/* what jp_tpl_rs_done() leaves of the components */
void
jp_tpl_components_free(jp_tpl_rs_t *rs)
{
    size_t  i;

    for (i = 0; i < rs->ncomps; i++) {
        json_decref(rs->comps[i].text);
    }

    json_decref(rs->components);
    rs->components = NULL;

    for (i = 0; i < rs->nbodies; i++) {
        jp_tpl_free(rs->bodies[i]);
    }

    free(rs->bodies);
    rs->bodies = NULL;
    rs->nbodies = 0;
}


/* one block found by file.includeComponents */
typedef struct {
    char        *name;          /* as written (malloc()ed) */
    const char  *body;          /* trimmed, in the file's text */
    size_t       len;
    double       order;
    size_t       file;          /* index in the listed paths */
    size_t       seq;           /* found in this order */
    json_t      *text;          /* expanded */
} jp_tpl_icomp_t;

typedef struct {
    jp_tpl_icomp_t  *v;
    size_t           n;
    size_t           cap;
    json_t          *files;     /* the paths, for sortBy="filename" */
    unsigned         sort;
} jp_tpl_icomps_t;

enum {
    JP_TPL_SORT_ORDER = 0,
    JP_TPL_SORT_FILENAME,
    JP_TPL_SORT_NONE
};


/* component="a.*, b.c": split on ',', each part trimmed */
static int
jp_tpl_filter_match(const char *filter, const char *name)
{
    size_t       nlen;
    const char  *p, *end, *next;

    nlen = strlen(name);

    for (p = filter; p != NULL; p = next) {
        next = strchr(p, ',');
        end = next ? next : p + strlen(p);
        if (next != NULL) {
            next++;
        }

        jp_tpl_js_trim(&p, &end);

        if (end - p >= 2 && end[-2] == '.' && end[-1] == '*') {
            /* "ns.*": the names starting with "ns." */
            if (nlen > (size_t) (end - p - 1)
                && memcmp(name, p, end - p - 1) == 0)
            {
                return 1;
            }

        } else if ((size_t) (end - p) == nlen && memcmp(name, p, nlen) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * The blocks of one file, as jPulse's pattern finds them in its raw
 * text (no comment removal, no header stripping):
 * {{#component WS+ "NAME" [WS+ order=DIGITS] WS* }}BODY{{/component}},
 * BODY the shortest; NAME anything but '"', at least one byte.
 */
static int
jp_tpl_icomp_scan(jp_tpl_rs_t *rs, jp_tpl_icomps_t *ic, const char *src,
    size_t len, size_t file, const char *filter)
{
    size_t           k;
    double           order;
    const char      *s, *q, *r, *end, *name, *nend, *body, *close;
    jp_tpl_icomp_t  *c;

    end = src + len;
    s = src;

    while (end - s >= 12
           && (s = memmem(s, end - s, "{{#component", 12)) != NULL)
    {
        q = s + 12;
        s++;

        k = jp_tpl_js_space_len(q, end);
        if (k == 0) {
            continue;
        }

        do {
            q += k;
        } while ((k = jp_tpl_js_space_len(q, end)) != 0);

        if (q >= end || *q != '"') {
            continue;
        }

        name = ++q;
        nend = memchr(q, '"', end - q);
        if (nend == NULL) {
            /* no closing quote here: none for a later block either */
            break;
        }

        if (nend == name) {
            continue;
        }

        q = nend + 1;
        order = 0;

        /* the optional " order=DIGITS" */
        r = q;
        while ((k = jp_tpl_js_space_len(r, end)) != 0) {
            r += k;
        }

        if (r > q && end - r > 6 && memcmp(r, "order=", 6) == 0
            && r[6] >= '0' && r[6] <= '9')
        {
            for (r += 6; r < end && *r >= '0' && *r <= '9'; r++) {
                order = order * 10 + (*r - '0');
            }

            q = r;
        }

        while ((k = jp_tpl_js_space_len(q, end)) != 0) {
            q += k;
        }

        if (end - q < 2 || q[0] != '}' || q[1] != '}') {
            continue;
        }

        body = q + 2;
        close = memmem(body, end - body, "{{/component}}", 14);
        if (close == NULL) {
            /* no later block can close either */
            break;
        }

        s = close + 14;

        if (ic->n == ic->cap) {
            if (ic->n >= JP_TPL_ICOMP_MAX) {
                return jp_tpl_error(rs, "more than %d components",
                                    JP_TPL_ICOMP_MAX);
            }

            k = ic->cap ? ic->cap * 2 : 16;
            c = realloc(ic->v, k * sizeof(jp_tpl_icomp_t));
            if (c == NULL) {
                return jp_tpl_error(rs, "out of memory");
            }

            ic->v = c;
            ic->cap = k;
        }

        c = &ic->v[ic->n];
        c->name = strndup(name, nend - name);
        if (c->name == NULL) {
            return jp_tpl_error(rs, "out of memory");
        }

        if (filter != NULL && !jp_tpl_filter_match(filter, c->name)) {
            free(c->name);
            continue;
        }

        q = body;
        r = close;
        jp_tpl_js_trim(&q, &r);

        c->body = q;
        c->len = r - q;
        c->order = order != 0 ? order : 99999;   /* 0 is falsy in jPulse */
        c->file = file;
        c->seq = ic->n;
        c->text = NULL;
        ic->n++;
    }

    return 0;
}


/*
 * A body, expanded at depth + 1 over the base context only (jPulse
 * passes an empty additional context: not the caller's this, #with keys
 * or include arguments). Past the depth limit it stays as written, as in
 * jPulse. Without the i18n pre-pass, as any text that is not the page.
 */
static int
jp_tpl_icomp_expand(jp_tpl_rs_t *rs, jp_tpl_icomp_t *c, const char *path)
{
    int                 rc;
    jp_tpl_buf_t        tmp, *out;
    jp_tpl_error_t      err;
    jp_tpl_frame_t     *frame;
    jp_tpl_program_t   *prog, **bodies;

    if (rs->depth + 1 > rs->max_depth) {
        c->text = jp_tpl_string_new(c->body, c->len);
        return c->text ? 0 : jp_tpl_error(rs, "out of memory");
    }

    if (++rs->calls > JP_TPL_CALLS_MAX) {
        return jp_tpl_error(rs, "more than %d includes and component calls",
                            JP_TPL_CALLS_MAX);
    }

    /* room doubles at each power of two */
    if ((rs->nbodies & (rs->nbodies - 1)) == 0) {
        bodies = realloc(rs->bodies, (rs->nbodies ? rs->nbodies * 2 : 1)
                                     * sizeof(*bodies));
        if (bodies == NULL) {
            return jp_tpl_error(rs, "out of memory");
        }

        rs->bodies = bodies;
    }

    bodies = rs->bodies;

    prog = jp_tpl_compile_text(c->body, c->len, path, &err);
    if (prog != NULL) {
        bodies[rs->nbodies++] = prog;
    }

    jp_tpl_buf_init(&tmp, jp_tpl_room(rs->out));

    if (prog == NULL) {
        rs->errors++;
        rc = (jp_tpl_buf_add(&tmp, "<!-- Error: ", 12) != 0
              || jp_tpl_buf_add_comment(&tmp, err.file, strlen(err.file))
              || jp_tpl_buf_add(&tmp, ":", 1) != 0
              || jp_tpl_buf_add_comment(&tmp, err.message,
                                        strlen(err.message))
              || jp_tpl_buf_add(&tmp, " -->", 4) != 0) ? -1 : 0;

    } else {
        out = rs->out;
        frame = rs->frame;
        rs->out = &tmp;
        rs->frame = NULL;
        rs->depth++;

        rc = jp_tpl_nodes(rs, prog->root);

        rs->depth--;
        rs->frame = frame;
        rs->out = out;
    }

    if (tmp.failed) {
        rs->out->failed = tmp.failed;
        rc = -1;
    }

    if (rc == 0) {
        c->text = jp_tpl_string_new(tmp.data ? tmp.data : "", tmp.len);
        if (c->text == NULL) {
            rc = jp_tpl_error(rs, "out of memory");
        }
    }

    jp_tpl_buf_free(&tmp);

    return rc;
}


/*
 * sortBy="filename" is JavaScript's localeCompare of the paths: letters
 * compare without case first, punctuation before digits before letters,
 * and at a tie lower case first. An approximation of ICU's root
 * collation for the ASCII names view paths have.
 */
static int
jp_tpl_locale_weight(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') {
        return 0x300 + (c - 'A') * 2;
    }

    if (c >= 'a' && c <= 'z') {
        return 0x300 + (c - 'a') * 2;
    }

    if (c >= '0' && c <= '9') {
        return 0x200 + c;
    }

    return c < 0x80 ? 0x100 + c : 0x400 + c;
}


static int
jp_tpl_locale_cmp(const char *a, const char *b)
{
    size_t  i;
    int     wa, wb, tie;

    tie = 0;

    for (i = 0; a[i] != '\0' && b[i] != '\0'; i++) {
        wa = jp_tpl_locale_weight((unsigned char) a[i]);
        wb = jp_tpl_locale_weight((unsigned char) b[i]);

        if (wa != wb) {
            return wa - wb;
        }

        if (tie == 0 && a[i] != b[i]) {
            /* the same letter: lower case first */
            tie = (a[i] >= 'a') ? -1 : 1;
        }
    }

    if (a[i] != b[i]) {
        return a[i] == '\0' ? -1 : 1;
    }

    return tie;
}


static int
jp_tpl_icomp_cmp(const void *x, const void *y, void *arg)
{
    int                     d;
    jp_tpl_icomps_t        *ic;
    const jp_tpl_icomp_t   *a, *b;

    a = x;
    b = y;
    ic = arg;

    if (ic->sort == JP_TPL_SORT_ORDER && a->order != b->order) {
        return a->order < b->order ? -1 : 1;
    }

    if (ic->sort == JP_TPL_SORT_FILENAME && a->file != b->file) {
        d = jp_tpl_locale_cmp(
                json_string_value(json_array_get(ic->files, a->file)),
                json_string_value(json_array_get(ic->files, b->file)));
        if (d != 0) {
            return d;
        }
    }

    /* JavaScript's sort is stable */
    return a->seq < b->seq ? -1 : (a->seq > b->seq);
}


static int
jp_tpl_prohibited(const char *p, size_t len)
{
    return memmem(p, len, "../", 3) != NULL
           || memmem(p, len, "..\\", 3) != NULL
           || (len > 0 && p[0] == '/');
}


/*
 * {{file.includeComponents "GLOB" component="ns.*" sortBy="..."}}.
 * Prints nothing, as jPulse; what jPulse only logs (no files, a refused
 * pattern, an unreadable file) leaves no trace either.
 */
int
jp_tpl_include_components(JP_TPL_HELPER_ARGS)
{
    int                     rc;
    char                   *usage;
    size_t                  i, nfiles;
    json_t                 *glob, *filter, *sort, *hash, *htaint, *files;
    size_t                  len;
    char                  **srcs;
    const char             *path, *fs;
    jp_tpl_val_t            la, lres;
    jp_tpl_icomps_t         ic;
    const jp_tpl_helper_t  *list;

    glob = JP_TPL_ARG(0);
    hash = rs->hash;
    htaint = rs->hash_taint;

    res->j = json_string("");
    if (res->j == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    if (!jp_tpl_truthy(glob)) {
        return 0;
    }

    if (!json_is_string(glob)) {
        return jp_tpl_error(rs, "globPattern.includes is not a function");
    }

    if (jp_tpl_prohibited(json_string_value(glob), json_string_length(glob))
        || strstr(json_string_value(glob), "**") != NULL)
    {
        return 0;
    }

    filter = json_object_get(hash, "component");
    sort = json_object_get(hash, "sortBy");
    fs = NULL;

    if (jp_tpl_truthy(filter)) {
        if (!json_is_string(filter)) {
            /* jPulse's split() throws, caught: nothing registered */
            return 0;
        }

        fs = json_string_value(filter);
    }

    memset(&ic, 0, sizeof(ic));
    ic.sort = JP_TPL_SORT_ORDER;

    if (json_is_string(sort)) {
        if (strcmp(json_string_value(sort), "filename") == 0) {
            ic.sort = JP_TPL_SORT_FILENAME;

        } else if (strcmp(json_string_value(sort), "filesystem") == 0
                   || strcmp(json_string_value(sort), "plugin-order") == 0)
        {
            /* plugin-order: no plugin load order here, all tie (99999) */
            ic.sort = JP_TPL_SORT_NONE;
        }
    }

    /* the paths, by file.list's own rules */
    list = jp_tpl_helper_find("file.list", 9);
    if (list == NULL || list->fn == NULL) {
        return 0;
    }

    la.j = glob;
    la.taint = 0;
    lres.j = NULL;
    lres.taint = 0;

    rs->hash = NULL;
    rs->hash_taint = NULL;
    rc = list->fn(rs, e, &la, 1, &lres);
    rs->hash = hash;
    rs->hash_taint = htaint;

    files = lres.j;
    if (rc != 0 || !json_is_array(files)) {
        json_decref(files);
        rs->msg[0] = '\0';
        return 0;
    }

    nfiles = json_array_size(files);
    ic.files = files;

    srcs = calloc(nfiles + 1, sizeof(char *));

    if (srcs == NULL) {
        rc = jp_tpl_error(rs, "out of memory");
        goto done;
    }

    rc = 0;

    for (i = 0; i < nfiles && rc == 0; i++) {
        path = json_string_value(json_array_get(files, i));
        if (path == NULL || rs->host == NULL || rs->host->read == NULL) {
            continue;
        }

        if (++rs->calls > JP_TPL_CALLS_MAX) {
            rc = jp_tpl_error(rs, "more than %d includes and component "
                              "calls", JP_TPL_CALLS_MAX);
            break;
        }

        if (rs->host->read(rs->host->data, path, &srcs[i], &len) != 0) {
            srcs[i] = NULL;
            continue;
        }

        rc = jp_tpl_icomp_scan(rs, &ic, srcs[i], len, i, fs);
    }

    /* expanded in file order, as found; then sorted and registered */
    for (i = 0; i < ic.n && rc == 0; i++) {
        rc = jp_tpl_icomp_expand(rs, &ic.v[i],
                json_string_value(json_array_get(files, ic.v[i].file)));
    }

    if (rc == 0) {
        /* qsort_r() must not get NULL, even for no element */
        if (ic.n > 0) {
            qsort_r(ic.v, ic.n, sizeof(jp_tpl_icomp_t), jp_tpl_icomp_cmp,
                    &ic);
        }

        rs->mutations++;
    }

    for (i = 0; i < ic.n && rc == 0; i++) {
        usage = jp_tpl_camel(ic.v[i].name);
        if (usage == NULL) {
            rc = jp_tpl_error(rs, "out of memory");
            break;
        }

        if (jp_tpl_components_set(rs, usage, ic.v[i].text) != 0) {
            free(usage);
            rc = jp_tpl_error(rs, "out of memory");
            break;
        }

        rc = jp_tpl_comp_add(rs, usage, NULL, ic.v[i].text);
    }

done:

    if (ic.v != NULL) {
        for (i = 0; i < ic.n; i++) {
            free(ic.v[i].name);
            json_decref(ic.v[i].text);
        }
    }

    if (srcs != NULL) {
        for (i = 0; i < nfiles; i++) {
            free(srcs[i]);
        }
    }

    free(srcs);
    free(ic.v);
    json_decref(files);

    return rc;
}
