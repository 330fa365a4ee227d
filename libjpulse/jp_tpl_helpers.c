/*
 * The built-in helpers, with jPulse's names: logical, comparison and
 * string.* here; math.*, array.*, json.* in jp_tpl_helpers_data.c; file.*
 * and date.* in jp_tpl_helpers_file.c. Each one takes evaluated arguments
 * and returns a new value; a failure sets rs->msg and becomes
 * "<!-- Error: ... -->" where the expression was.
 *
 * Strings are UTF-8: lengths and offsets count code points; case mapping
 * and slugify only touch ASCII.
 */

#define _GNU_SOURCE     /* memmem */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/* any value as text: strings as they are, null/undefined as "" */
int
jp_tpl_str(jp_tpl_rs_t *rs, json_t *j, jp_tpl_str_t *s)
{
    s->tmp = NULL;

    if (j == NULL || json_is_null(j)) {
        s->p = "";
        s->len = 0;
        return 0;
    }

    if (json_is_string(j)) {
        s->p = json_string_value(j);
        s->len = json_string_length(j);
        return 0;
    }

    s->tmp = jp_tpl_to_string(j, &s->len);
    s->p = s->tmp;

    return s->tmp ? 0 : jp_tpl_error(rs, "out of memory");
}


int
jp_tpl_set(jp_tpl_rs_t *rs, jp_tpl_val_t *res, json_t *j)
{
    res->j = j;

    return j ? 0 : jp_tpl_error(rs, "invalid UTF-8 or out of memory");
}


int
jp_tpl_set_buf(jp_tpl_rs_t *rs, jp_tpl_val_t *res, jp_tpl_buf_t *b)
{
    int  rc;

    if (b->failed) {
        jp_tpl_buf_free(b);
        return jp_tpl_error(rs, "result too large");
    }

    rc = jp_tpl_set(rs, res,
                    jp_tpl_string_new(b->data ? b->data : "", b->len));
    jp_tpl_buf_free(b);

    return rc;
}

static size_t
jp_tpl_utf8_len(const char *p, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += (((unsigned char) p[i] & 0xc0) != 0x80);
    }

    return n;
}


/* byte offset of code point k (clamped to len) */
static size_t
jp_tpl_utf8_offset(const char *p, size_t len, size_t k)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (((unsigned char) p[i] & 0xc0) != 0x80) {
            if (k == 0) {
                return i;
            }
            k--;
        }
    }

    return len;
}

/* logical and comparison */

static int
h_and(JP_TPL_HELPER_ARGS)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!jp_tpl_truthy(a[i].j)) {
            return jp_tpl_set(rs, res, json_false());
        }
    }

    return jp_tpl_set(rs, res, json_boolean(n > 0));
}


static int
h_or(JP_TPL_HELPER_ARGS)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (jp_tpl_truthy(a[i].j)) {
            return jp_tpl_set(rs, res, json_true());
        }
    }

    return jp_tpl_set(rs, res, json_false());
}


static int
h_not(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_boolean(!jp_tpl_truthy(JP_TPL_ARG(0))));
}


static int
h_eq(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_boolean(
                          jp_tpl_loose_eq(JP_TPL_ARG(0), JP_TPL_ARG(1))));
}


static int
h_ne(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_boolean(
                          !jp_tpl_loose_eq(JP_TPL_ARG(0), JP_TPL_ARG(1))));
}


static int
jp_tpl_cmp(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int lo, int hi)
{
    int  c;

    if (jp_tpl_compare(JP_TPL_ARG(0), JP_TPL_ARG(1), &c) != 0) {
        return jp_tpl_set(rs, res, json_false());
    }

    return jp_tpl_set(rs, res, json_boolean(c >= lo && c <= hi));
}


static int
h_gt(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_cmp(rs, a, n, res, 1, 1);
}


static int
h_gte(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_cmp(rs, a, n, res, 0, 1);
}


static int
h_lt(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_cmp(rs, a, n, res, -1, -1);
}


static int
h_lte(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_cmp(rs, a, n, res, -1, 0);
}


/* string.* */

static int
h_default(JP_TPL_HELPER_ARGS)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (jp_tpl_truthy(a[i].j) || i + 1 == n) {
            return jp_tpl_set(rs, res, json_incref(a[i].j ? a[i].j
                                                          : json_null()));
        }
    }

    return jp_tpl_set(rs, res, json_null());
}


static int
h_concat(JP_TPL_HELPER_ARGS)
{
    size_t        i;
    jp_tpl_buf_t  b;
    jp_tpl_str_t  s;

    jp_tpl_buf_init(&b, 0);

    for (i = 0; i < n; i++) {
        if (jp_tpl_str(rs, a[i].j, &s) != 0) {
            jp_tpl_buf_free(&b);
            return -1;
        }

        jp_tpl_buf_add(&b, s.p, s.len);
        free(s.tmp);
    }

    return jp_tpl_set_buf(rs, res, &b);
}


/* the shared shape of one-string-in, one-string-out helpers */
typedef int (*jp_tpl_map_pt)(jp_tpl_buf_t *b, const char *p, size_t len);

static int
jp_tpl_map(jp_tpl_rs_t *rs, json_t *j, jp_tpl_val_t *res, jp_tpl_map_pt map)
{
    jp_tpl_buf_t  b;
    jp_tpl_str_t  s;

    if (jp_tpl_str(rs, j, &s) != 0) {
        return -1;
    }

    jp_tpl_buf_init(&b, 0);
    map(&b, s.p, s.len);
    free(s.tmp);

    return jp_tpl_set_buf(rs, res, &b);
}


static int
map_html(jp_tpl_buf_t *b, const char *p, size_t len)
{
    return jp_tpl_buf_add_html(b, p, len);
}


static int
map_lower(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] + 32 : p[i];
        jp_tpl_buf_add(b, &c, 1);
    }

    return 0;
}


static int
map_upper(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = (p[i] >= 'a' && p[i] <= 'z') ? p[i] - 32 : p[i];
        jp_tpl_buf_add(b, &c, 1);
    }

    return 0;
}


static int
map_title(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;
    int     start;
    char    c;

    for (i = 0, start = 1; i < len; i++) {
        c = p[i];

        if (c == ' ' || c == '\t' || c == '\n') {
            start = 1;

        } else if (start) {
            c = (c >= 'a' && c <= 'z') ? c - 32 : c;
            start = 0;

        } else {
            c = (c >= 'A' && c <= 'Z') ? c + 32 : c;
        }

        jp_tpl_buf_add(b, &c, 1);
    }

    return 0;
}


/* encodeURIComponent */
static int
map_urlencode(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t       i;
    char         hex[4];
    unsigned     c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || strchr("-_.!~*'()", c) != NULL)
        {
            jp_tpl_buf_add(b, p + i, 1);
            continue;
        }

        snprintf(hex, sizeof(hex), "%%%02X", c);
        jp_tpl_buf_add(b, hex, 3);
    }

    return 0;
}


static int
jp_tpl_hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


static int
map_urldecode(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;
    char    c;

    for (i = 0; i < len; i++) {
        c = p[i];

        if (c == '%' && i + 2 < len && jp_tpl_hexval(p[i + 1]) >= 0
            && jp_tpl_hexval(p[i + 2]) >= 0)
        {
            c = (char) (jp_tpl_hexval(p[i + 1]) << 4
                        | jp_tpl_hexval(p[i + 2]));
            i += 2;
        }

        jp_tpl_buf_add(b, &c, 1);
    }

    return 0;
}


static int
map_slugify(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;
    int     dash;
    char    c;

    for (i = 0, dash = 0; i < len; i++) {
        c = p[i];

        if (c >= 'A' && c <= 'Z') {
            c += 32;
        }

        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
            if (dash && b->len > 0) {
                jp_tpl_buf_add(b, "-", 1);
            }

            dash = 0;
            jp_tpl_buf_add(b, &c, 1);

        } else {
            dash = 1;
        }
    }

    return 0;
}


static int
h_html(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_html);
}


static int
h_lower(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_lower);
}


static int
h_upper(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_upper);
}


static int
h_title(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_title);
}


static int
h_urlencode(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_urlencode);
}


static int
h_urldecode(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_urldecode);
}


static int
h_slugify(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_map(rs, JP_TPL_ARG(0), res, map_slugify);
}


/* string.replace str search replacement: every occurrence */
static int
h_replace(JP_TPL_HELPER_ARGS)
{
    const char    *p, *end, *hit;
    jp_tpl_buf_t   b;
    jp_tpl_str_t   s, f, r;

    if (jp_tpl_str(rs, JP_TPL_ARG(0), &s) != 0) {
        return -1;
    }

    if (jp_tpl_str(rs, JP_TPL_ARG(1), &f) != 0) {
        free(s.tmp);
        return -1;
    }

    if (jp_tpl_str(rs, JP_TPL_ARG(2), &r) != 0) {
        free(s.tmp);
        free(f.tmp);
        return -1;
    }

    jp_tpl_buf_init(&b, 0);
    jp_tpl_buf_add(&b, "", 0);

    p = s.p;
    end = s.p + s.len;

    while (f.len > 0 && (hit = memmem(p, end - p, f.p, f.len)) != NULL) {
        jp_tpl_buf_add(&b, p, hit - p);
        jp_tpl_buf_add(&b, r.p, r.len);
        p = hit + f.len;
    }

    jp_tpl_buf_add(&b, p, end - p);

    free(s.tmp);
    free(f.tmp);
    free(r.tmp);

    return jp_tpl_set_buf(rs, res, &b);
}


/* string.substring str start [end]: JavaScript's, in code points */
static int
h_substring(JP_TPL_HELPER_ARGS)
{
    int           rc;
    size_t        len, from, to, bf, bt;
    double        x, y;
    jp_tpl_str_t  s;

    if (jp_tpl_str(rs, JP_TPL_ARG(0), &s) != 0) {
        return -1;
    }

    len = jp_tpl_utf8_len(s.p, s.len);

    x = n > 1 ? jp_tpl_number(a[1].j) : 0;
    y = n > 2 ? jp_tpl_number(a[2].j) : (double) len;

    x = isnan(x) || x < 0 ? 0 : (x > len ? len : x);
    y = isnan(y) || y < 0 ? 0 : (y > len ? len : y);

    from = (size_t) (x < y ? x : y);
    to = (size_t) (x < y ? y : x);

    bf = jp_tpl_utf8_offset(s.p, s.len, from);
    bt = jp_tpl_utf8_offset(s.p, s.len, to);

    rc = jp_tpl_set(rs, res, jp_tpl_string_new(s.p + bf, bt - bf));
    free(s.tmp);

    return rc;
}


static int
jp_tpl_pad(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int left)
{
    size_t        len, want;
    double        w;
    jp_tpl_buf_t  b;
    jp_tpl_str_t  s, c;

    if (jp_tpl_str(rs, JP_TPL_ARG(0), &s) != 0) {
        return -1;
    }

    if (n > 2) {
        if (jp_tpl_str(rs, a[2].j, &c) != 0) {
            free(s.tmp);
            return -1;
        }

    } else {
        c.p = " ";
        c.len = 1;
        c.tmp = NULL;
    }

    w = jp_tpl_number(JP_TPL_ARG(1));
    want = (isnan(w) || w < 0) ? 0 : (w > 65536 ? 65536 : (size_t) w);
    len = jp_tpl_utf8_len(s.p, s.len);

    jp_tpl_buf_init(&b, 0);
    jp_tpl_buf_add(&b, "", 0);

    if (!left) {
        jp_tpl_buf_add(&b, s.p, s.len);
    }

    while (c.len > 0 && len < want) {
        jp_tpl_buf_add(&b, c.p, c.len);
        len += jp_tpl_utf8_len(c.p, c.len);
    }

    if (left) {
        jp_tpl_buf_add(&b, s.p, s.len);
    }

    free(s.tmp);
    free(c.tmp);

    return jp_tpl_set_buf(rs, res, &b);
}


static int
h_padleft(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_pad(rs, a, n, res, 1);
}


static int
h_padright(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_pad(rs, a, n, res, 0);
}


/* 0 startsWith, 1 endsWith, 2 contains */
static int
jp_tpl_find(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int how)
{
    int           r;
    jp_tpl_str_t  s, f;

    if (jp_tpl_str(rs, JP_TPL_ARG(0), &s) != 0) {
        return -1;
    }

    if (jp_tpl_str(rs, JP_TPL_ARG(1), &f) != 0) {
        free(s.tmp);
        return -1;
    }

    if (f.len > s.len) {
        r = 0;

    } else if (how == 0) {
        r = memcmp(s.p, f.p, f.len) == 0;

    } else if (how == 1) {
        r = memcmp(s.p + s.len - f.len, f.p, f.len) == 0;

    } else {
        r = f.len == 0 || memmem(s.p, s.len, f.p, f.len) != NULL;
    }

    free(s.tmp);
    free(f.tmp);

    return jp_tpl_set(rs, res, json_boolean(r));
}


static int
h_starts(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_find(rs, a, n, res, 0);
}


static int
h_ends(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_find(rs, a, n, res, 1);
}


static int
h_contains(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_find(rs, a, n, res, 2);
}


static int
h_strlen(JP_TPL_HELPER_ARGS)
{
    size_t        len;
    jp_tpl_str_t  s;

    if (jp_tpl_str(rs, JP_TPL_ARG(0), &s) != 0) {
        return -1;
    }

    len = jp_tpl_utf8_len(s.p, s.len);
    free(s.tmp);

    return jp_tpl_set(rs, res, json_integer((json_int_t) len));
}


const jp_tpl_helper_t  jp_tpl_helpers_string[] = {
    { "and",              h_and,       JP_TPL_H_PLAIN,   1 },
    { "or",               h_or,        JP_TPL_H_PLAIN,   1 },
    { "not",              h_not,       JP_TPL_H_PLAIN,   1 },
    { "eq",               h_eq,        JP_TPL_H_PLAIN,   1 },
    { "ne",               h_ne,        JP_TPL_H_PLAIN,   1 },
    { "gt",               h_gt,        JP_TPL_H_PLAIN,   1 },
    { "gte",              h_gte,       JP_TPL_H_PLAIN,   1 },
    { "lt",               h_lt,        JP_TPL_H_PLAIN,   1 },
    { "lte",              h_lte,       JP_TPL_H_PLAIN,   1 },
    { "string.default",   h_default,   JP_TPL_H_PLAIN,   0 },
    { "string.concat",    h_concat,    JP_TPL_H_PLAIN,   0 },
    { "string.htmlEscape", h_html,     JP_TPL_H_SAFE,    0 },
    { "string.urlEncode", h_urlencode, JP_TPL_H_SAFE,    0 },
    { "string.urlDecode", h_urldecode, JP_TPL_H_PLAIN,   0 },
    { "string.lowercase", h_lower,     JP_TPL_H_PLAIN,   0 },
    { "string.uppercase", h_upper,     JP_TPL_H_PLAIN,   0 },
    { "string.titlecase", h_title,     JP_TPL_H_PLAIN,   0 },
    { "string.replace",   h_replace,   JP_TPL_H_PLAIN,   0 },
    { "string.substring", h_substring, JP_TPL_H_PLAIN,   0 },
    { "string.padLeft",   h_padleft,   JP_TPL_H_PLAIN,   0 },
    { "string.padRight",  h_padright,  JP_TPL_H_PLAIN,   0 },
    { "string.startsWith", h_starts,   JP_TPL_H_PLAIN,   0 },
    { "string.endsWith",  h_ends,      JP_TPL_H_PLAIN,   0 },
    { "string.contains",  h_contains,  JP_TPL_H_PLAIN,   0 },
    { "string.length",    h_strlen,    JP_TPL_H_PLAIN,   0 },
    { "string.slugify",   h_slugify,   JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};


const jp_tpl_helper_t *
jp_tpl_helper_find(const char *name, size_t len)
{
    size_t                  i, k;
    const jp_tpl_helper_t  *t;

    static const jp_tpl_helper_t  *const  tables[] = {
        jp_tpl_helpers_string, jp_tpl_helpers_data, jp_tpl_helpers_file,
        jp_tpl_helpers_date, jp_tpl_helpers_html
    };

    for (k = 0; k < sizeof(tables) / sizeof(tables[0]); k++) {
        for (t = tables[k], i = 0; t[i].name != NULL; i++) {
            if (strlen(t[i].name) == len
                && memcmp(t[i].name, name, len) == 0)
            {
                return &t[i];
            }
        }
    }

    return NULL;
}
