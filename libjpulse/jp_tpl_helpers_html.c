/*
 * string.htmlToText and string.htmlToMd, as jPulse 1.7.17 computes them:
 * a fixed sequence of regular-expression replacements over the joined
 * arguments. Each replacement is one pass here, a left-to-right scan that
 * does what the global regex does, without backtracking:
 *
 * - "[^>]*>" is the first ">" after a point: one cached look-ahead;
 * - "(.*?)</x>" (no line terminator inside) is the first "</x>" after a
 *   point, when no line terminator lies before it: the closers of a pass
 *   are listed once, each with the last line terminator before it;
 * - the backtracking of '<a[^>]*href="([^"]*)"' only ever tries the last
 *   two href=" of a tag (every earlier one ends its value before the
 *   tag's first ">", as the second-last does).
 *
 * So every pass costs linear time and memory in its input, whatever the
 * input (markup from Redis included).
 */

#define _GNU_SOURCE     /* memmem */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/* the input of a pass, and its look-ahead caches */
typedef struct {
    const char      *p;
    const char      *end;
    const char      *gt;        /* the first '>' at or after gt_from */
    const char      *gt_from;
    const char      *q;         /* the first '"' at or after q_from */
    const char      *q_from;
    const char      *gt2;       /* another '>' look-ahead */
    const char      *gt2_from;
} jp_tpl_html_t;

/* the closers "</x>" of one pass */
typedef struct {
    size_t          *pos;
    size_t          *lt;        /* 1 + the last line terminator before, or
                                   0 */
    size_t           n;
} jp_tpl_closers_t;


static void
html_init(jp_tpl_html_t *h, const char *p, size_t len)
{
    memset(h, 0, sizeof(jp_tpl_html_t));
    h->p = p;
    h->end = p + len;
}


static const char *
html_next(const char **cache, const char **from_cache, const char *end,
    const char *from, int c)
{
    const char  *r;

    if (*from_cache == NULL || from < *from_cache
        || (*cache != end && from > *cache))
    {
        r = from < end ? memchr(from, c, end - from) : NULL;
        *cache = r ? r : end;
        *from_cache = from;
    }

    return *cache;
}


/* the first '>' at or after from, or h->end */
static const char *
html_gt(jp_tpl_html_t *h, const char *from)
{
    return html_next(&h->gt, &h->gt_from, h->end, from, '>');
}


static const char *
html_quote(jp_tpl_html_t *h, const char *from)
{
    return html_next(&h->q, &h->q_from, h->end, from, '"');
}


/* lit (lower case ASCII) at p, ignoring ASCII case as /i does */
static int
html_ci(const char *p, const char *end, const char *lit)
{
    char  c;

    for (/* void */; *lit; lit++, p++) {
        if (p >= end) {
            return 0;
        }

        c = *p;
        c = (c >= 'A' && c <= 'Z') ? c + 32 : c;

        if (c != *lit) {
            return 0;
        }
    }

    return 1;
}


/* a line terminator (what "." does not match) at p: its length */
static size_t
html_lt(const char *p, const char *end)
{
    if (*p == '\n' || *p == '\r') {
        return 1;
    }

    if (end - p >= 3 && (unsigned char) p[0] == 0xe2
        && (unsigned char) p[1] == 0x80
        && ((unsigned char) p[2] == 0xa8 || (unsigned char) p[2] == 0xa9))
    {
        return 3;
    }

    return 0;
}


static void
html_closers_free(jp_tpl_closers_t *c)
{
    free(c->pos);
    free(c->lt);
    c->pos = c->lt = NULL;
    c->n = 0;
}


static int
html_closers(jp_tpl_rs_t *rs, jp_tpl_html_t *h, const char *lit,
    jp_tpl_closers_t *c)
{
    size_t       cap, last, *np, *nl;
    const char  *p;

    c->pos = c->lt = NULL;
    c->n = 0;
    cap = 0;
    last = 0;

    for (p = h->p; p < h->end; p++) {
        if (html_lt(p, h->end)) {
            last = p - h->p + 1;
            continue;
        }

        if (*p != '<' || !html_ci(p, h->end, lit)) {
            continue;
        }

        if (c->n == cap) {
            cap = cap ? cap * 2 : 16;
            np = realloc(c->pos, cap * sizeof(size_t));
            if (np != NULL) {
                c->pos = np;
            }

            nl = realloc(c->lt, cap * sizeof(size_t));
            if (nl != NULL) {
                c->lt = nl;
            }

            if (np == NULL || nl == NULL) {
                html_closers_free(c);
                return jp_tpl_error(rs, "out of memory");
            }
        }

        c->pos[c->n] = p - h->p;
        c->lt[c->n] = last;
        c->n++;
    }

    return 0;
}


/*
 * The closer that "(.*?)</x>" reaches from s: the first one at or after
 * s, if no line terminator lies between (any: multi-line, the "s" flag).
 */
static const char *
html_close(jp_tpl_html_t *h, jp_tpl_closers_t *c, const char *s, int any)
{
    size_t  lo, hi, mid, off;

    off = s - h->p;

    for (lo = 0, hi = c->n; lo < hi; /* void */) {
        mid = lo + (hi - lo) / 2;

        if (c->pos[mid] < off) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    if (lo == c->n || (!any && c->lt[lo] > off)) {
        return NULL;
    }

    return h->p + c->pos[lo];
}


/* ping-pong between two buffers: the output of a pass is the next input */
typedef struct {
    jp_tpl_buf_t     b[2];
    unsigned         cur;
} jp_tpl_passes_t;


static jp_tpl_buf_t *
html_in(jp_tpl_passes_t *ps)
{
    return &ps->b[ps->cur];
}


static jp_tpl_buf_t *
html_out(jp_tpl_passes_t *ps)
{
    jp_tpl_buf_t  *o;

    o = &ps->b[ps->cur ^ 1];
    o->len = 0;

    return o;
}


static int
html_swap(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    ps->cur ^= 1;

    if (ps->b[ps->cur].failed) {
        return jp_tpl_error(rs, "result too large");
    }

    return 0;
}


/* every lit replaced by rep (case-sensitive, as the entity patterns) */
static int
html_lit_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps, const char *lit,
    const char *rep)
{
    size_t         ll;
    const char    *p, *end, *hit;
    jp_tpl_buf_t  *in, *out;

    in = html_in(ps);
    ll = strlen(lit);

    if (in->len < ll || memmem(in->data, in->len, lit, ll) == NULL) {
        return 0;
    }

    out = html_out(ps);
    p = in->data;
    end = p + in->len;

    while ((hit = memmem(p, end - p, lit, ll)) != NULL) {
        jp_tpl_buf_add(out, p, hit - p);
        jp_tpl_buf_add(out, rep, strlen(rep));
        p = hit + ll;
    }

    jp_tpl_buf_add(out, p, end - p);

    return html_swap(rs, ps);
}


/* &nbsp; &lt; &gt; &quot; &#39; &#x27; &amp;, in jPulse's order */
static int
html_entities(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    size_t  i;

    static const char  *const  ent[][2] = {
        { "&nbsp;", " " }, { "&lt;", "<" }, { "&gt;", ">" },
        { "&quot;", "\"" }, { "&#39;", "'" }, { "&#x27;", "'" },
        { "&amp;", "&" }
    };

    for (i = 0; i < sizeof(ent) / sizeof(ent[0]); i++) {
        if (html_lit_pass(rs, ps, ent[i][0], ent[i][1]) != 0) {
            return -1;
        }
    }

    return 0;
}


/*
 * A tag pass: at each "<", an optional or required "/", then one of the
 * names (lower case, matched as /i does; "\w" is any word character), then
 * ">" right away (exact) or after anything but ">" ("[^>]*>"); the match
 * becomes rep.
 */
enum {
    JP_TPL_SLASH_NO = 0,
    JP_TPL_SLASH_YES,
    JP_TPL_SLASH_MAYBE
};

static int
html_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_';
}


static int
html_tag_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps,
    const char *const *names, unsigned slash, int exact, const char *rep)
{
    size_t         i, nl;
    const char    *p, *s, *gt, *hit, *end;
    jp_tpl_buf_t  *in, *out;
    jp_tpl_html_t  h;

    in = html_in(ps);

    if (in->len == 0 || memchr(in->data, '<', in->len) == NULL) {
        return 0;
    }

    out = html_out(ps);
    html_init(&h, in->data, in->len);
    end = h.end;

    for (p = h.p; p < end; /* void */) {
        hit = memchr(p, '<', end - p);
        if (hit == NULL) {
            break;
        }

        jp_tpl_buf_add(out, p, hit - p);
        p = hit;
        s = p + 1;

        if (slash != JP_TPL_SLASH_NO && s < end && *s == '/') {
            s++;

        } else if (slash == JP_TPL_SLASH_YES) {
            goto copy;
        }

        for (i = 0, gt = NULL; names[i] != NULL && gt == NULL; i++) {
            if (names[i][0] == '\\') {
                nl = (s < end && html_word(*s)) ? 1 : (size_t) -1;

            } else {
                nl = html_ci(s, end, names[i]) ? strlen(names[i])
                                               : (size_t) -1;
            }

            if (nl == (size_t) -1) {
                continue;
            }

            if (exact) {
                gt = (s + nl < end && s[nl] == '>') ? s + nl : NULL;

            } else {
                gt = html_gt(&h, s + nl);
                gt = gt < end ? gt : NULL;
            }
        }

        if (gt != NULL) {
            jp_tpl_buf_add(out, rep, strlen(rep));
            p = gt + 1;
            continue;
        }

    copy:

        jp_tpl_buf_add(out, p, 1);
        p++;
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    return html_swap(rs, ps);
}


/* JavaScript's String.fromCharCode(ToUint16(x)), as WTF-8: a surrogate
 * stays one here, for the last step to pair or replace */
static int
html_unit(jp_tpl_buf_t *b, double d)
{
    uint32_t  u;
    char      w[3];

    /* ToUint16: exact, as a power-of-two scaling loses nothing */
    if (d != d || d > 1e300) {
        d = 0;
    }

    d = jp_tpl_floor(d);
    u = (uint32_t) (d - jp_tpl_floor(d / 65536.0) * 65536.0);

    if (u >= 0xd800 && u <= 0xdfff) {
        w[0] = (char) 0xed;
        w[1] = (char) (0x80 | (u >> 6 & 0x3f));
        w[2] = (char) (0x80 | (u & 0x3f));
        return jp_tpl_buf_add(b, w, 3);
    }

    return jp_tpl_utf8_add(b, u);
}


/* &#NNN; (hex == 0) or &#xHH; (/i): the number, as Number() reads it */
static int
html_numeric_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps, int hex)
{
    int            rc;
    char           num[404];
    size_t         k, z;
    double         d;
    const char    *p, *s, *hit, *end;
    jp_tpl_buf_t  *in, *out;

    in = html_in(ps);

    if (in->len == 0 || memmem(in->data, in->len, "&#", 2) == NULL) {
        return 0;
    }

    out = html_out(ps);
    p = in->data;
    end = p + in->len;

    while ((hit = memmem(p, end - p, "&#", 2)) != NULL) {
        jp_tpl_buf_add(out, p, hit - p);
        s = hit + 2;

        if (hex) {
            if (s >= end || (*s != 'x' && *s != 'X')) {
                goto copy;
            }

            s++;
        }

        for (k = 0; s + k < end
                    && ((s[k] >= '0' && s[k] <= '9')
                        || (hex && ((s[k] | 0x20) >= 'a'
                                    && (s[k] | 0x20) <= 'f')));
             k++)
        {
            /* void */
        }

        if (k == 0 || s + k >= end || s[k] != ';') {
            goto copy;
        }

        /* strtod() rounds as JavaScript does ("0x" for the hex form);
         * past 400 significant digits the value is Infinity either way */
        for (z = 0; z + 1 < k && s[z] == '0'; z++) {
            /* void */
        }

        if (k - z > 400) {
            d = 0;

        } else {
            memcpy(num, "0x", 2);
            memcpy(num + 2, s + z, k - z);
            num[2 + k - z] = '\0';
            d = strtod(hex ? num : num + 2, NULL);
        }

        rc = html_unit(out, d);
        if (rc != 0) {
            break;
        }

        p = s + k + 1;
        continue;

    copy:

        jp_tpl_buf_add(out, hit, 2);
        p = hit + 2;
    }

    jp_tpl_buf_add(out, p, end - p);

    return html_swap(rs, ps);
}


/* JavaScript's surrogates as UTF-8: a pair joined, a lone one U+FFFD */
static int
html_wtf8_add(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t       n, m;
    uint32_t     c, d;
    const char  *s, *end;

    end = p + len;

    for (s = p; s < end; s += n) {
        c = jp_tpl_utf8_get(s, end, &n);

        if (c < 0xd800 || c > 0xdfff) {
            jp_tpl_buf_add(b, s, n);
            continue;
        }

        if (c <= 0xdbff && s + n < end) {
            d = jp_tpl_utf8_get(s + n, end, &m);

            if (d >= 0xdc00 && d <= 0xdfff) {
                jp_tpl_utf8_add(b, 0x10000 + ((c - 0xd800) << 10)
                                   + (d - 0xdc00));
                n += m;
                continue;
            }
        }

        jp_tpl_buf_add(b, "\xef\xbf\xbd", 3);
    }

    return 0;
}


/* every run of JavaScript whitespace one space, then trimmed */
static int
html_collapse(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    int            sp;
    size_t         n;
    const char    *p, *s, *end, *word;
    jp_tpl_buf_t  *in, *out;

    in = html_in(ps);
    out = html_out(ps);
    p = in->data ? in->data : "";
    end = p + in->len;

    for (s = p, sp = 0, word = NULL; s < end; s += n) {
        if (!jp_tpl_js_space(jp_tpl_utf8_get(s, end, &n))) {
            if (word == NULL) {
                if (sp && out->len > 0) {
                    jp_tpl_buf_add(out, " ", 1);
                }

                word = s;
            }

            sp = 0;
            continue;
        }

        if (word != NULL) {
            html_wtf8_add(out, word, s - word);
            word = NULL;
        }

        sp = 1;
    }

    if (word != NULL) {
        html_wtf8_add(out, word, end - word);
    }

    return html_swap(rs, ps);
}


static int
html_start(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_passes_t *ps)
{
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    jp_tpl_buf_init(&ps->b[0], jp_tpl_room(rs->out));
    jp_tpl_buf_init(&ps->b[1], jp_tpl_room(rs->out));
    ps->cur = 0;

    jp_tpl_buf_add(&ps->b[0], t.p, t.len);
    jp_tpl_jstext_free(&t);

    if (ps->b[0].failed) {
        jp_tpl_buf_free(&ps->b[0]);
        return jp_tpl_error(rs, "result too large");
    }

    return 0;
}


static int
html_done(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps, jp_tpl_val_t *res, int rc)
{
    jp_tpl_buf_free(&ps->b[ps->cur ^ 1]);

    if (rc != 0) {
        jp_tpl_buf_free(&ps->b[ps->cur]);
        return -1;
    }

    return jp_tpl_set_buf(rs, res, &ps->b[ps->cur]);
}


static int
h_html_to_text(JP_TPL_HELPER_ARGS)
{
    int              rc;
    jp_tpl_passes_t  ps;

    static const char  *const  blocks[] = {
        "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "td", "th",
        "tr", NULL
    };
    static const char  *const  any[] = { "\\w", NULL };

    if (html_start(rs, a, n, &ps) != 0) {
        return -1;
    }

    rc = html_tag_pass(rs, &ps, blocks, JP_TPL_SLASH_YES, 1, " ");
    rc = rc ? rc : html_tag_pass(rs, &ps, blocks, JP_TPL_SLASH_NO, 0, " ");
    rc = rc ? rc : html_tag_pass(rs, &ps, any, JP_TPL_SLASH_MAYBE, 0, " ");
    rc = rc ? rc : html_entities(rs, &ps);
    rc = rc ? rc : html_numeric_pass(rs, &ps, 0);
    rc = rc ? rc : html_numeric_pass(rs, &ps, 1);
    rc = rc ? rc : html_collapse(rs, &ps);

    return html_done(rs, &ps, res, rc);
}


/* "<open[^>]*>(.*?)</close>": the pairs tried in order at each "<" */
typedef struct {
    const char      *open;
    const char      *close;
} jp_tpl_pair_t;


static int
html_pair_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps,
    const jp_tpl_pair_t *pairs, size_t npairs, const char *before,
    const char *after)
{
    int               rc;
    size_t            i;
    const char       *p, *gt, *c, *hit, *end;
    jp_tpl_buf_t     *in, *out;
    jp_tpl_html_t     h;
    jp_tpl_closers_t  cl[2];

    in = html_in(ps);

    if (in->len == 0 || memchr(in->data, '<', in->len) == NULL) {
        return 0;
    }

    html_init(&h, in->data, in->len);

    for (i = 0; i < npairs; i++) {
        if (html_closers(rs, &h, pairs[i].close, &cl[i]) != 0) {
            while (i-- > 0) {
                html_closers_free(&cl[i]);
            }
            return -1;
        }
    }

    out = html_out(ps);
    end = h.end;

    for (p = h.p; p < end; /* void */) {
        hit = memchr(p, '<', end - p);
        if (hit == NULL) {
            break;
        }

        jp_tpl_buf_add(out, p, hit - p);
        p = hit;

        for (i = 0, c = NULL; i < npairs && c == NULL; i++) {
            if (!html_ci(p, end, pairs[i].open)) {
                continue;
            }

            gt = html_gt(&h, p + strlen(pairs[i].open));
            c = gt < end ? html_close(&h, &cl[i], gt + 1, 0) : NULL;
        }

        if (c == NULL) {
            jp_tpl_buf_add(out, p, 1);
            p++;
            continue;
        }

        i--;
        jp_tpl_buf_add(out, before, strlen(before));
        jp_tpl_buf_add(out, gt + 1, c - gt - 1);
        jp_tpl_buf_add(out, after, strlen(after));
        p = c + strlen(pairs[i].close);
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    for (i = 0; i < npairs; i++) {
        html_closers_free(&cl[i]);
    }

    rc = html_swap(rs, ps);

    return rc;
}


/*
 * '<TAG[^>]*ATTR="([^"]*)"[^>]*>': the greedy "[^>]*" takes the last
 * ATTR=" before the tag's first ">" (whose value may run past it), and
 * backtracks to the one before, if any, whose value ends before that ">"
 * (so does every earlier one, with the same result). Returns the two
 * candidates: the value, and where the tag ends, in v[0] (last) and v[1].
 */
typedef struct {
    const char      *at;        /* where ATTR=" starts, or NULL */
    const char      *val;       /* NULL: this one fails */
    const char      *val_end;
    const char      *gt;
} jp_tpl_attr_t;

/* the candidates of the tag whose first ">" is g1 */
typedef struct {
    const char      *g1;
    jp_tpl_attr_t    v[2];
} jp_tpl_attrs_t;


static int
html_attr(jp_tpl_html_t *h, const char *from, const char *attr,
    jp_tpl_attrs_t *c, jp_tpl_attr_t v[2])
{
    size_t       al, i;
    ptrdiff_t    k;
    const char  *g1, *q, *s;

    g1 = html_gt(h, from);
    if (g1 == h->end) {
        return 0;
    }

    al = strlen(attr);

    /* once per tag: the tags of later "<" before g1 end there too */
    if (c->g1 != g1) {
        c->g1 = g1;
        c->v[0].at = NULL;
        c->v[1].at = NULL;

        for (k = (g1 - from) - (ptrdiff_t) al, i = 0; k >= 0 && i < 2; k--) {
            if (html_ci(from + k, g1, attr)) {
                c->v[i++].at = from + k;
                k -= (ptrdiff_t) al - 1;
            }
        }

        for (i = 0; i < 2; i++) {
            c->v[i].val = NULL;

            if (c->v[i].at == NULL) {
                continue;
            }

            s = c->v[i].at + al;

            if (i == 0) {
                /* the last one's value may run past g1 */
                q = html_quote(h, s);
                if (q == h->end) {
                    continue;
                }

                c->v[i].gt = html_next(&h->gt2, &h->gt2_from, h->end,
                                       q + 1, '>');
                if (c->v[i].gt == h->end) {
                    continue;
                }

            } else {
                /* the last one's ATTR=" holds a '"' before g1 */
                q = memchr(s, '"', g1 - s);
                c->v[i].gt = g1;
            }

            c->v[i].val = s;
            c->v[i].val_end = q;
        }
    }

    for (i = 0; i < 2; i++) {
        v[i] = c->v[i];

        if (v[i].at == NULL || v[i].at < from) {
            v[i].val = NULL;
        }
    }

    return 1;
}


/* links: [TEXT](URL); "TEXT" on one line (the closer's rule) */
static int
html_link_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    size_t            i;
    const char       *p, *c, *hit, *end;
    jp_tpl_buf_t     *in, *out;
    jp_tpl_html_t     h;
    jp_tpl_attr_t     v[2];
    jp_tpl_attrs_t    ac;
    jp_tpl_closers_t  cl;

    in = html_in(ps);

    if (in->len == 0 || memchr(in->data, '<', in->len) == NULL) {
        return 0;
    }

    html_init(&h, in->data, in->len);

    if (html_closers(rs, &h, "</a>", &cl) != 0) {
        return -1;
    }

    memset(&ac, 0, sizeof(ac));
    out = html_out(ps);
    end = h.end;

    for (p = h.p; p < end; /* void */) {
        hit = memchr(p, '<', end - p);
        if (hit == NULL) {
            break;
        }

        jp_tpl_buf_add(out, p, hit - p);
        p = hit;
        c = NULL;

        if (html_ci(p, end, "<a") && html_attr(&h, p + 2, "href=\"", &ac, v))
        {
            for (i = 0; i < 2 && c == NULL; i++) {
                if (v[i].val != NULL) {
                    c = html_close(&h, &cl, v[i].gt + 1, 0);
                }
            }
        }

        if (c == NULL) {
            jp_tpl_buf_add(out, p, 1);
            p++;
            continue;
        }

        i--;
        jp_tpl_buf_add(out, "[", 1);
        jp_tpl_buf_add(out, v[i].gt + 1, c - v[i].gt - 1);
        jp_tpl_buf_add(out, "](", 2);
        jp_tpl_buf_add(out, v[i].val, v[i].val_end - v[i].val);
        jp_tpl_buf_add(out, ")", 1);
        p = c + 4;
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    html_closers_free(&cl);

    return html_swap(rs, ps);
}


/* <img ...alt="X"...> becomes X */
static int
html_img_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    size_t          i;
    const char     *p, *hit, *end;
    jp_tpl_buf_t   *in, *out;
    jp_tpl_html_t   h;
    jp_tpl_attr_t   v[2];
    jp_tpl_attrs_t  ac;

    in = html_in(ps);

    if (in->len == 0 || memchr(in->data, '<', in->len) == NULL) {
        return 0;
    }

    html_init(&h, in->data, in->len);
    memset(&ac, 0, sizeof(ac));
    out = html_out(ps);
    end = h.end;

    for (p = h.p; p < end; /* void */) {
        hit = memchr(p, '<', end - p);
        if (hit == NULL) {
            break;
        }

        jp_tpl_buf_add(out, p, hit - p);
        p = hit;
        i = 2;

        if (html_ci(p, end, "<img") && html_attr(&h, p + 4, "alt=\"", &ac, v))
        {
            i = v[0].val != NULL ? 0 : (v[1].val != NULL ? 1 : 2);
        }

        if (i == 2) {
            jp_tpl_buf_add(out, p, 1);
            p++;
            continue;
        }

        jp_tpl_buf_add(out, v[i].val, v[i].val_end - v[i].val);
        p = v[i].gt + 1;
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    return html_swap(rs, ps);
}


/* JavaScript's trim() of p..len: the bounds in *s, *e */
static void
html_trim(const char *p, size_t len, const char **s, const char **e)
{
    size_t       n;
    const char  *a, *b, *end;

    end = p + len;

    for (a = p; a < end && jp_tpl_js_space(jp_tpl_utf8_get(a, end, &n));
         a += n)
    {
        /* void */
    }

    for (b = a; b < end; b += n) {
        if (!jp_tpl_js_space(jp_tpl_utf8_get(b, end, &n))) {
            *e = b + n;
        }
    }

    *s = a;

    if (a == end) {
        *e = a;
    }
}


/* one list item: <li> and </li> tags ("<\\/?li[^>]*>") out, trimmed */
static void
html_item(jp_tpl_buf_t *out, const char *p, const char *end)
{
    size_t         start;
    const char    *s, *e, *gt, *hit;
    jp_tpl_html_t  h;

    html_init(&h, p, end - p);
    start = out->len;

    while (p < end && (hit = memchr(p, '<', end - p)) != NULL) {
        jp_tpl_buf_add(out, p, hit - p);
        s = hit + 1 + (hit + 1 < end && hit[1] == '/');
        gt = html_ci(s, end, "li") ? html_gt(&h, s + 2) : end;

        if (gt == end) {
            jp_tpl_buf_add(out, hit, 1);
            p = hit + 1;
            continue;
        }

        p = gt + 1;
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    if (out->failed || out->len == start) {
        return;
    }

    html_trim(out->data + start, out->len - start, &s, &e);
    memmove(out->data + start, s, e - s);
    out->len = start + (e - s);
    out->data[out->len] = '\0';
}


/* the first "<li" at or after p, before end */
static const char *
html_find_ci(const char *p, const char *end, const char *lit)
{
    const char  *hit;

    while (p < end && (hit = memchr(p, '<', end - p)) != NULL) {
        if (html_ci(hit, end, lit)) {
            return hit;
        }

        p = hit + 1;
    }

    return NULL;
}


/* "<ul[^>]*>(.*?)</ul>" over lines: the "<li[^>]*>(.*?)</li>" in it,
 * as "- item" or "N. item" lines; anything else in the list is dropped */
static int
html_list_pass(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps, const char *open,
    const char *close, int ordered)
{
    int               num;
    char              nb[32];
    size_t            k;
    const char       *p, *c, *s, *gt, *hit, *li, *lc, *end;
    jp_tpl_buf_t     *in, *out;
    jp_tpl_html_t     h;
    jp_tpl_closers_t  cl;

    in = html_in(ps);

    if (in->len == 0 || memchr(in->data, '<', in->len) == NULL) {
        return 0;
    }

    html_init(&h, in->data, in->len);

    if (html_closers(rs, &h, close, &cl) != 0) {
        return -1;
    }

    out = html_out(ps);
    end = h.end;

    for (p = h.p; p < end; /* void */) {
        hit = memchr(p, '<', end - p);
        if (hit == NULL) {
            break;
        }

        jp_tpl_buf_add(out, p, hit - p);
        p = hit;
        c = NULL;

        if (html_ci(p, end, open)) {
            gt = html_gt(&h, p + strlen(open));
            c = gt < end ? html_close(&h, &cl, gt + 1, 1) : NULL;
        }

        if (c == NULL) {
            jp_tpl_buf_add(out, p, 1);
            p++;
            continue;
        }

        jp_tpl_buf_add(out, "\n\n", 2);

        for (s = gt + 1, num = 0;
             (li = html_find_ci(s, c, "<li")) != NULL;
             s = lc + 5)
        {
            hit = memchr(li + 3, '>', c - li - 3);
            lc = hit ? html_find_ci(hit + 1, c, "</li>") : NULL;

            if (lc == NULL) {
                break;
            }

            if (num > 0) {
                jp_tpl_buf_add(out, "\n", 1);
            }

            num++;

            if (ordered) {
                k = snprintf(nb, sizeof(nb), "%d. ", num);
                jp_tpl_buf_add(out, nb, k);

            } else {
                jp_tpl_buf_add(out, "- ", 2);
            }

            html_item(out, li, lc + 5);
        }

        jp_tpl_buf_add(out, "\n\n", 2);
        p = c + strlen(close);
    }

    if (p < end) {
        jp_tpl_buf_add(out, p, end - p);
    }

    html_closers_free(&cl);

    return html_swap(rs, ps);
}


/* each run of c cut to at most keep of them, into the other buffer */
static int
html_md_runs(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps, char c, size_t keep)
{
    size_t         k, i;
    const char    *p, *end;
    jp_tpl_buf_t  *in, *out;

    in = html_in(ps);
    out = html_out(ps);
    p = in->data ? in->data : "";
    end = p + in->len;

    while (p < end) {
        for (k = 0; p + k < end && p[k] == c; k++) {
            /* void */
        }

        if (k > 0) {
            for (i = 0; i < (k < keep ? k : keep); i++) {
                jp_tpl_buf_add(out, &c, 1);
            }

            p += k;
            continue;
        }

        for (i = 0; p + i < end && p[i] != c; i++) {
            /* void */
        }

        jp_tpl_buf_add(out, p, i);
        p += i;
    }

    return html_swap(rs, ps);
}


/* a run of 3 or more "\n" is 2; of 2 or more spaces is 1; then trim */
static int
html_md_tidy(jp_tpl_rs_t *rs, jp_tpl_passes_t *ps)
{
    const char    *s, *e;
    jp_tpl_buf_t  *in, *out;

    if (html_md_runs(rs, ps, '\n', 2) != 0
        || html_md_runs(rs, ps, ' ', 1) != 0)
    {
        return -1;
    }

    in = html_in(ps);
    out = html_out(ps);

    if (in->len > 0) {
        html_trim(in->data, in->len, &s, &e);
        jp_tpl_buf_add(out, s, e - s);
    }

    return html_swap(rs, ps);
}


static int
h_html_to_md(JP_TPL_HELPER_ARGS)
{
    int              rc;
    size_t           i;
    char             open[4], close[6], before[16];
    jp_tpl_pair_t    pair;
    jp_tpl_passes_t  ps;

    static const jp_tpl_pair_t  bold[] = {
        { "<strong", "</strong>" }, { "<b", "</b>" }
    };
    static const jp_tpl_pair_t  italic[] = {
        { "<em", "</em>" }, { "<i", "</i>" }
    };
    static const jp_tpl_pair_t  code[] = { { "<code", "</code>" } };
    static const char  *const  pdiv[] = { "p", "div", NULL };
    static const char  *const  img[] = { "img", NULL };
    static const char  *const  tr[] = { "tr", NULL };
    static const char  *const  cell[] = { "td", "th", NULL };
    static const char  *const  any[] = { "", NULL };

    if (html_start(rs, a, n, &ps) != 0) {
        return -1;
    }

    rc = 0;

    for (i = 1; rc == 0 && i <= 6; i++) {
        memcpy(open, "<h", 2);
        open[2] = (char) ('0' + i);
        open[3] = '\0';
        memcpy(close, "</h", 3);
        close[3] = (char) ('0' + i);
        close[4] = '>';
        close[5] = '\0';
        pair.open = open;
        pair.close = close;

        memcpy(before, "\n\n######", 2 + i);
        before[2 + i] = ' ';
        before[3 + i] = '\0';

        rc = html_pair_pass(rs, &ps, &pair, 1, before, "\n\n");
    }

    rc = rc ? rc : html_link_pass(rs, &ps);
    rc = rc ? rc : html_pair_pass(rs, &ps, bold, 2, "**", "**");
    rc = rc ? rc : html_pair_pass(rs, &ps, italic, 2, "*", "*");
    rc = rc ? rc : html_pair_pass(rs, &ps, code, 1, "`", "`");
    rc = rc ? rc : html_list_pass(rs, &ps, "<ul", "</ul>", 0);
    rc = rc ? rc : html_list_pass(rs, &ps, "<ol", "</ol>", 1);
    rc = rc ? rc : html_tag_pass(rs, &ps, pdiv, JP_TPL_SLASH_YES, 1,
                                 "\n\n");
    rc = rc ? rc : html_tag_pass(rs, &ps, pdiv, JP_TPL_SLASH_NO, 0, "");
    rc = rc ? rc : html_img_pass(rs, &ps);
    rc = rc ? rc : html_tag_pass(rs, &ps, img, JP_TPL_SLASH_NO, 0, "");
    rc = rc ? rc : html_tag_pass(rs, &ps, tr, JP_TPL_SLASH_YES, 1, "\n");
    rc = rc ? rc : html_tag_pass(rs, &ps, tr, JP_TPL_SLASH_NO, 0, "");
    rc = rc ? rc : html_tag_pass(rs, &ps, cell, JP_TPL_SLASH_YES, 1, " ");
    rc = rc ? rc : html_tag_pass(rs, &ps, cell, JP_TPL_SLASH_NO, 0, "");
    rc = rc ? rc : html_tag_pass(rs, &ps, any, JP_TPL_SLASH_NO, 0, "");
    rc = rc ? rc : html_entities(rs, &ps);
    rc = rc ? rc : html_md_tidy(rs, &ps);

    return html_done(rs, &ps, res, rc);
}


const jp_tpl_helper_t  jp_tpl_helpers_html[] = {
    { "string.htmlToText", h_html_to_text, JP_TPL_H_PLAIN,   0 },
    { "string.htmlToMd",   h_html_to_md,   JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
