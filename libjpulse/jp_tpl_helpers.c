/*
 * The built-in helpers, with jPulse's names: logical, comparison and
 * string.* here; math.*, array.*, json.* in jp_tpl_helpers_data.c; file.*
 * and date.* in jp_tpl_helpers_file.c. Each one takes evaluated arguments
 * and returns a new value; a failure sets rs->msg and becomes
 * "<!-- Error: ... -->" where the expression was.
 *
 * Strings are UTF-8 here and UTF-16 in JavaScript: lengths and offsets
 * count UTF-16 units as jPulse does, and case mapping and slugify follow
 * JavaScript's Unicode tables (jp_tpl_unicode_tab.h, generated).
 */

#define _GNU_SOURCE     /* memmem */

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"
#include "jp_tpl_unicode_tab.h"


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

/* UTF-8 and JavaScript's UTF-16 */

/* the code point at p and its length in *n; a stray byte reads as U+FFFD
 * (strings are valid UTF-8: jansson and jp_tpl_string_new() see to it) */
uint32_t
jp_tpl_utf8_get(const char *s, const char *end, size_t *n)
{
    size_t                k, i;
    uint32_t              c;
    const unsigned char  *p;

    p = (const unsigned char *) s;
    c = p[0];
    *n = 1;

    if (c < 0x80) {
        return c;
    }

    if (c >= 0xc2 && c <= 0xdf) {
        k = 2;
        c &= 0x1f;

    } else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        c &= 0x0f;

    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        c &= 0x07;

    } else {
        return 0xfffd;
    }

    if ((size_t) (end - s) < k) {
        return 0xfffd;
    }

    for (i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0xfffd;
        }

        c = c << 6 | (p[i] & 0x3f);
    }

    *n = k;

    return c;
}


int
jp_tpl_utf8_add(jp_tpl_buf_t *b, uint32_t c)
{
    char  u[4];

    if (c < 0x80) {
        u[0] = (char) c;
        return jp_tpl_buf_add(b, u, 1);
    }

    if (c < 0x800) {
        u[0] = (char) (0xc0 | c >> 6);
        u[1] = (char) (0x80 | (c & 0x3f));
        return jp_tpl_buf_add(b, u, 2);
    }

    if (c < 0x10000) {
        u[0] = (char) (0xe0 | c >> 12);
        u[1] = (char) (0x80 | (c >> 6 & 0x3f));
        u[2] = (char) (0x80 | (c & 0x3f));
        return jp_tpl_buf_add(b, u, 3);
    }

    u[0] = (char) (0xf0 | c >> 18);
    u[1] = (char) (0x80 | (c >> 12 & 0x3f));
    u[2] = (char) (0x80 | (c >> 6 & 0x3f));
    u[3] = (char) (0x80 | (c & 0x3f));

    return jp_tpl_buf_add(b, u, 4);
}


/* JavaScript counts UTF-16 units: a 4-byte sequence is two */
static size_t
jp_tpl_utf16_len(const char *p, size_t len)
{
    size_t  i, n;

    for (i = 0, n = 0; i < len; i++) {
        n += ((unsigned char) p[i] & 0xc0) != 0x80;
        n += (unsigned char) p[i] >= 0xf0;
    }

    return n;
}


/*
 * The UTF-16 units from..to of p, as UTF-8. A surrogate pair cut in half
 * leaves a lone surrogate in JavaScript, which node writes as U+FFFD: so
 * do we.
 */
static int
jp_tpl_utf16_slice(jp_tpl_buf_t *b, const char *p, size_t len, size_t from,
    size_t to)
{
    size_t       k, n, u;
    const char  *s, *end;

    end = p + len;

    for (s = p, k = 0; s < end && k < to; s += n, k += u) {
        jp_tpl_utf8_get(s, end, &n);
        u = n == 4 ? 2 : 1;

        if (k + u <= from) {
            continue;
        }

        if (u == 2 && (k < from || k + 2 > to)) {
            /* one half of the pair is inside */
            if (jp_tpl_buf_add(b, "\xef\xbf\xbd", 3) != 0) {
                return -1;
            }
            continue;
        }

        if (jp_tpl_buf_add(b, s, n) != 0) {
            return -1;
        }
    }

    return 0;
}


/* JavaScript's whitespace (\s): the ASCII ones, NBSP, BOM, Zs, LS, PS */
int
jp_tpl_js_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0xa0
           || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028
           || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000
           || c == 0xfeff;
}


/* JavaScript's String(x), appended to b */
static int
jp_tpl_js_add(jp_tpl_rs_t *rs, jp_tpl_buf_t *b, json_t *j, unsigned depth)
{
    int     len;
    char    num[64];
    size_t  i;

    switch (json_typeof(j)) {

    case JSON_STRING:
        return jp_tpl_buf_add(b, json_string_value(j), json_string_length(j));

    case JSON_INTEGER:
    case JSON_REAL:
        len = jp_tpl_format_number(jp_tpl_number(j), num, sizeof(num));
        return jp_tpl_buf_add(b, num, len);

    case JSON_TRUE:
        return jp_tpl_buf_add(b, "true", 4);

    case JSON_FALSE:
        return jp_tpl_buf_add(b, "false", 5);

    case JSON_OBJECT:
        return jp_tpl_buf_add(b, "[object Object]", 15);

    case JSON_ARRAY:
        /* join(","): null elements are empty, nested arrays flattened */
        if (depth >= JP_TPL_REQ_DEPTH_MAX) {
            return jp_tpl_error(rs, "array nested too deeply");
        }

        for (i = 0; i < json_array_size(j); i++) {
            if ((i > 0 && jp_tpl_buf_add(b, ",", 1) != 0)
                || jp_tpl_js_add(rs, b, json_array_get(j, i), depth + 1)
                   != 0)
            {
                return -1;
            }
        }

        return 0;

    default:
        return 0;
    }
}


int
jp_tpl_jstext(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_jstext_t *t)
{
    size_t  i, k, last;

    jp_tpl_buf_init(&t->b, jp_tpl_room(rs->out));
    t->p = "";
    t->len = 0;
    t->j = NULL;

    for (i = 0, k = 0, last = 0; i < n; i++) {
        if (jp_tpl_truthy(a[i].j)) {
            k++;
            last = i;
        }
    }

    if (k == 0) {
        return 0;
    }

    if (k == 1 && json_is_string(a[last].j)) {
        t->j = a[last].j;
        t->p = json_string_value(t->j);
        t->len = json_string_length(t->j);
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (jp_tpl_truthy(a[i].j) && jp_tpl_js_add(rs, &t->b, a[i].j, 0) != 0)
        {
            if (t->b.failed) {
                jp_tpl_error(rs, "result too large");
            }

            jp_tpl_buf_free(&t->b);
            return -1;
        }
    }

    t->p = t->b.data ? t->b.data : "";
    t->len = t->b.len;

    return 0;
}


/* the text itself as the result (and t is freed) */
int
jp_tpl_jstext_set(jp_tpl_rs_t *rs, jp_tpl_val_t *res, jp_tpl_jstext_t *t)
{
    int  rc;

    if (t->j != NULL) {
        return jp_tpl_set(rs, res, json_incref(t->j));
    }

    rc = jp_tpl_set(rs, res, jp_tpl_string_new(t->p, t->len));
    jp_tpl_buf_free(&t->b);

    return rc;
}


void
jp_tpl_jstext_free(jp_tpl_jstext_t *t)
{
    jp_tpl_buf_free(&t->b);
}


/* a result buffer: failing past what the page can still hold */
static void
jp_tpl_res_init(jp_tpl_rs_t *rs, jp_tpl_buf_t *b)
{
    jp_tpl_buf_init(b, jp_tpl_room(rs->out));
}


/* JavaScript's parseInt(String(x), 10): NAN when there are no digits */
static double
jp_tpl_parse_int(jp_tpl_rs_t *rs, json_t *j)
{
    int           neg;
    double        d;
    size_t        n;
    const char   *p, *end;
    jp_tpl_buf_t  b;

    if (j == NULL || json_is_null(j) || json_is_boolean(j)
        || json_is_object(j))
    {
        return NAN;
    }

    if (json_is_integer(j)) {
        return (double) json_integer_value(j);
    }

    jp_tpl_buf_init(&b, 4096);

    if (json_is_string(j)) {
        p = json_string_value(j);
        end = p + json_string_length(j);

    } else {
        /* a real (String(1e21) is "1e+21": 1) or an array ("3,4": 3) */
        if (jp_tpl_js_add(rs, &b, j, 0) != 0 && !b.failed) {
            jp_tpl_buf_free(&b);
            return NAN;
        }

        p = b.data ? b.data : "";
        end = p + b.len;
    }

    while (p < end && jp_tpl_js_space(jp_tpl_utf8_get(p, end, &n))) {
        p += n;
    }

    neg = 0;

    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p++ == '-';
    }

    if (p == end || *p < '0' || *p > '9') {
        jp_tpl_buf_free(&b);
        return NAN;
    }

    for (d = 0; p < end && *p >= '0' && *p <= '9'; p++) {
        d = d * 10 + (*p - '0');
    }

    jp_tpl_buf_free(&b);

    return neg ? -d : d;
}


/* case mapping: JavaScript's toLowerCase()/toUpperCase() (no locale) */

static const jp_tpl_case_range_t *
jp_tpl_case_range(const jp_tpl_case_range_t *r, size_t n, uint32_t c)
{
    size_t  lo, hi, mid;

    for (lo = 0, hi = n; lo < hi; /* void */) {
        mid = lo + (hi - lo) / 2;

        if (c < r[mid].lo) {
            hi = mid;

        } else if (c > r[mid].hi) {
            lo = mid + 1;

        } else {
            return (c - r[mid].lo) % r[mid].stride == 0 ? &r[mid] : NULL;
        }
    }

    return NULL;
}


static const char *
jp_tpl_cp_str(const jp_tpl_cp_str_t *t, size_t n, uint32_t c)
{
    size_t  lo, hi, mid;

    for (lo = 0, hi = n; lo < hi; /* void */) {
        mid = lo + (hi - lo) / 2;

        if (c < t[mid].cp) {
            hi = mid;

        } else if (c > t[mid].cp) {
            lo = mid + 1;

        } else {
            return t[mid].s;
        }
    }

    return NULL;
}


static int
jp_tpl_in_ranges(const uint32_t (*r)[2], size_t n, uint32_t c)
{
    size_t  lo, hi, mid;

    for (lo = 0, hi = n; lo < hi; /* void */) {
        mid = lo + (hi - lo) / 2;

        if (c < r[mid][0]) {
            hi = mid;

        } else if (c > r[mid][1]) {
            lo = mid + 1;

        } else {
            return 1;
        }
    }

    return 0;
}


#define jp_tpl_nelts(a)  (sizeof(a) / sizeof((a)[0]))


/* c upper-cased (upper) or lower-cased, context-free, appended to b */
static int
jp_tpl_case_add(jp_tpl_buf_t *b, uint32_t c, int upper)
{
    const char                 *s;
    const jp_tpl_case_range_t  *r;

    if (c < 0x80) {
        if (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z')) {
            c ^= 0x20;
        }

        return jp_tpl_utf8_add(b, c);
    }

    if (upper) {
        r = jp_tpl_case_range(jp_tpl_upper_ranges,
                              jp_tpl_nelts(jp_tpl_upper_ranges), c);
        s = r ? NULL : jp_tpl_cp_str(jp_tpl_upper_special,
                                     jp_tpl_nelts(jp_tpl_upper_special), c);

    } else {
        r = jp_tpl_case_range(jp_tpl_lower_ranges,
                              jp_tpl_nelts(jp_tpl_lower_ranges), c);
        s = r ? NULL : jp_tpl_cp_str(jp_tpl_lower_special,
                                     jp_tpl_nelts(jp_tpl_lower_special), c);
    }

    if (s != NULL) {
        return jp_tpl_buf_add(b, s, strlen(s));
    }

    return jp_tpl_utf8_add(b, r ? (uint32_t) ((int32_t) c + r->delta) : c);
}


/*
 * Unicode's Final_Sigma: a capital sigma at p lower-cases to a final one
 * when a cased letter precedes it and none follows, case-ignorable ones
 * (marks, apostrophes, dots) skipped. Each run of those is walked at most
 * by the two sigmas around it, so a string costs linear time.
 */
static int
jp_tpl_final_sigma(const char *start, const char *p, const char *end)
{
    size_t       n;
    uint32_t     c;
    const char  *q;

    for (q = p, c = 0; q > start; /* void */) {
        do {
            q--;
        } while (q > start && ((unsigned char) *q & 0xc0) == 0x80);

        c = jp_tpl_utf8_get(q, end, &n);

        if (!jp_tpl_in_ranges(jp_tpl_case_ignorable,
                              jp_tpl_nelts(jp_tpl_case_ignorable), c))
        {
            break;
        }

        c = 0;
    }

    if (c == 0 || !jp_tpl_in_ranges(jp_tpl_cased, jp_tpl_nelts(jp_tpl_cased),
                                    c))
    {
        return 0;
    }

    for (q = p + 2; q < end; q += n) {
        c = jp_tpl_utf8_get(q, end, &n);

        if (!jp_tpl_in_ranges(jp_tpl_case_ignorable,
                              jp_tpl_nelts(jp_tpl_case_ignorable), c))
        {
            return !jp_tpl_in_ranges(jp_tpl_cased,
                                     jp_tpl_nelts(jp_tpl_cased), c);
        }
    }

    return 1;
}


static int
jp_tpl_case_map(jp_tpl_buf_t *b, const char *p, size_t len, int upper)
{
    size_t       n;
    uint32_t     c;
    const char  *s, *end;

    end = p + len;

    for (s = p; s < end; s += n) {
        c = jp_tpl_utf8_get(s, end, &n);

        if (c == 0x3a3 && !upper) {
            c = jp_tpl_final_sigma(p, s, end) ? 0x3c2 : 0x3c3;
        }

        if (jp_tpl_case_add(b, c, upper) != 0) {
            return -1;
        }
    }

    return 0;
}


/* nothing to change: the text can be returned as it is */
static int
jp_tpl_ascii_cased(const char *p, size_t len, int upper)
{
    size_t  i;
    char    lo, hi;

    lo = upper ? 'a' : 'A';
    hi = upper ? 'z' : 'Z';

    for (i = 0; i < len; i++) {
        if ((unsigned char) p[i] >= 0x80 || (p[i] >= lo && p[i] <= hi)) {
            return 0;
        }
    }

    return 1;
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


/* jPulse: any other count than one is false, {{not}} too */
static int
h_not(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res,
                      json_boolean(n == 1 && !jp_tpl_truthy(a[0].j)));
}


/*
 * JavaScript's ToPrimitive of an argument: arrays and objects become
 * their String() (jPulse deep-copies every argument, so two of them are
 * never the same object). NULL: undefined.
 */
static int
jp_tpl_prim(jp_tpl_rs_t *rs, json_t *j, jp_tpl_jstext_t *t, json_t **out)
{
    jp_tpl_buf_init(&t->b, jp_tpl_room(rs->out));
    t->j = NULL;
    *out = j;

    if (!json_is_array(j) && !json_is_object(j)) {
        return 0;
    }

    if (jp_tpl_js_add(rs, &t->b, j, 0) != 0) {
        if (t->b.failed) {
            jp_tpl_error(rs, "result too large");
        }

        jp_tpl_buf_free(&t->b);
        return -1;
    }

    *out = jp_tpl_string_new(t->b.data ? t->b.data : "", t->b.len);
    t->j = *out;
    jp_tpl_buf_free(&t->b);

    return *out ? 0 : jp_tpl_error(rs, "out of memory");
}


static int
jp_tpl_same_string(json_t *a, json_t *b)
{
    return json_string_length(a) == json_string_length(b)
           && memcmp(json_string_value(a), json_string_value(b),
                     json_string_length(a)) == 0;
}


/* UTF-16 order of two UTF-8 strings: it differs from the byte order
 * only between U+E000..U+FFFF and the supplementary planes */
static int
jp_tpl_utf16_cmp(json_t *a, json_t *b)
{
    size_t       i, la, lb, n;
    uint32_t     ca, cb, ua, ub;
    const char  *pa, *pb;

    pa = json_string_value(a);
    pb = json_string_value(b);
    la = json_string_length(a);
    lb = json_string_length(b);

    for (i = 0; i < la && i < lb && pa[i] == pb[i]; i++) {
        /* void */
    }

    if (i == la || i == lb) {
        return (la > lb) - (la < lb);
    }

    /* back to the start of the code point both strings differ in */
    while (i > 0 && ((unsigned char) pa[i] & 0xc0) == 0x80) {
        i--;
    }

    ca = jp_tpl_utf8_get(pa + i, pa + la, &n);
    cb = jp_tpl_utf8_get(pb + i, pb + lb, &n);

    /* the first UTF-16 unit decides: a high surrogate sorts below E000;
     * with the same high surrogate, the code points order the low ones */
    ua = ca >= 0x10000 ? 0xd800 + ((ca - 0x10000) >> 10) : ca;
    ub = cb >= 0x10000 ? 0xd800 + ((cb - 0x10000) >> 10) : cb;

    if (ua != ub) {
        return ua < ub ? -1 : 1;
    }

    return ca < cb ? -1 : 1;
}


/* JavaScript's ==, and the 0/1/-1/NaN of <, on primitives */
static int
jp_tpl_js_eq(json_t *a, json_t *b)
{
    int  na, nb;

    na = a == NULL || json_is_null(a);
    nb = b == NULL || json_is_null(b);

    if (na || nb) {
        return na && nb;
    }

    if (json_is_string(a) && json_is_string(b)) {
        return jp_tpl_same_string(a, b);
    }

    return jp_tpl_number(a) == jp_tpl_number(b);
}


/* -2: unordered (NaN) */
static int
jp_tpl_js_cmp(json_t *a, json_t *b)
{
    double  x, y;

    if (json_is_string(a) && json_is_string(b)) {
        return jp_tpl_utf16_cmp(a, b);
    }

    /* undefined is NaN, null is 0 */
    x = a ? jp_tpl_number(a) : NAN;
    y = b ? jp_tpl_number(b) : NAN;

    if (isnan(x) || isnan(y)) {
        return -2;
    }

    return (x > y) - (x < y);
}


enum {
    JP_TPL_OP_EQ = 0,
    JP_TPL_OP_NE,
    JP_TPL_OP_GT,
    JP_TPL_OP_GTE,
    JP_TPL_OP_LT,
    JP_TPL_OP_LTE
};


static int
jp_tpl_compare_op(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n,
    jp_tpl_val_t *res, unsigned op)
{
    int              r, c, objs;
    json_t          *x, *y;
    jp_tpl_jstext_t  tx, ty;

    /* exactly two arguments, or false (ne too) */
    if (n != 2) {
        return jp_tpl_set(rs, res, json_false());
    }

    objs = (json_is_array(a[0].j) || json_is_object(a[0].j))
           && (json_is_array(a[1].j) || json_is_object(a[1].j));

    if (jp_tpl_prim(rs, a[0].j, &tx, &x) != 0) {
        return -1;
    }

    if (jp_tpl_prim(rs, a[1].j, &ty, &y) != 0) {
        json_decref(tx.j);
        return -1;
    }

    switch (op) {

    case JP_TPL_OP_EQ:
    case JP_TPL_OP_NE:
        /* two objects compare by identity, and never are the same */
        r = objs ? 0 : jp_tpl_js_eq(x, y);
        r = op == JP_TPL_OP_EQ ? r : !r;
        break;

    default:
        c = jp_tpl_js_cmp(x, y);

        r = c != -2
            && ((op == JP_TPL_OP_GT && c > 0)
                || (op == JP_TPL_OP_GTE && c >= 0)
                || (op == JP_TPL_OP_LT && c < 0)
                || (op == JP_TPL_OP_LTE && c <= 0));
    }

    json_decref(tx.j);
    json_decref(ty.j);

    return jp_tpl_set(rs, res, json_boolean(r));
}


static int
h_eq(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_EQ);
}


static int
h_ne(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_NE);
}


static int
h_gt(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_GT);
}


static int
h_gte(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_GTE);
}


static int
h_lt(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_LT);
}


static int
h_lte(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_compare_op(rs, a, n, res, JP_TPL_OP_LTE);
}


/* string.*: arguments as jPulse's text (jp_tpl_jstext) */

/* short joins of strings (the common case) are built on the stack */
#define JP_TPL_SHORT  256

static int
h_concat(JP_TPL_HELPER_ARGS)
{
    char             buf[JP_TPL_SHORT];
    size_t           i, len, k, m;
    jp_tpl_jstext_t  t;

    for (i = 0, len = 0, m = 0; i < n && len <= JP_TPL_SHORT; i++) {
        if (!jp_tpl_truthy(a[i].j)) {
            continue;
        }

        if (!json_is_string(a[i].j)) {
            break;
        }

        len += json_string_length(a[i].j);
        m++;
    }

    if (i == n && len <= JP_TPL_SHORT && m != 1) {
        for (i = 0, len = 0; i < n; i++) {
            if (jp_tpl_truthy(a[i].j)) {
                k = json_string_length(a[i].j);
                memcpy(buf + len, json_string_value(a[i].j), k);
                len += k;
            }
        }

        /* valid UTF-8 joined is valid UTF-8 */
        return jp_tpl_set(rs, res, json_stringn_nocheck(buf, len));
    }

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    return jp_tpl_jstext_set(rs, res, &t);
}


/* the first argument before the last whose text is not empty, else the
 * last one's text */
static int
h_default(JP_TPL_HELPER_ARGS)
{
    size_t           i;
    jp_tpl_jstext_t  t;

    for (i = 0; i + 1 < n; i++) {
        if (jp_tpl_jstext(rs, &a[i], 1, &t) != 0) {
            return -1;
        }

        if (t.len > 0) {
            return jp_tpl_jstext_set(rs, res, &t);
        }

        jp_tpl_jstext_free(&t);
    }

    if (jp_tpl_jstext(rs, n > 0 ? &a[n - 1] : a, n > 0, &t) != 0) {
        return -1;
    }

    return jp_tpl_jstext_set(rs, res, &t);
}


/* what jPulse's fixed-arity string helpers return for a wrong count */
static int
jp_tpl_wrong_arity(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n,
    jp_tpl_val_t *res)
{
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n > 0, &t) != 0) {
        return -1;
    }

    return jp_tpl_jstext_set(rs, res, &t);
}


/* string.replace str search repl: split(search).join(repl) */
static int
h_replace(JP_TPL_HELPER_ARGS)
{
    int              rc;
    size_t           k;
    const char      *p, *end, *hit;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  s, f, r;

    if (n != 3) {
        return jp_tpl_wrong_arity(rs, a, n, res);
    }

    if (jp_tpl_jstext(rs, &a[0], 1, &s) != 0) {
        return -1;
    }

    if (jp_tpl_jstext(rs, &a[1], 1, &f) != 0) {
        jp_tpl_jstext_free(&s);
        return -1;
    }

    if (jp_tpl_jstext(rs, &a[2], 1, &r) != 0) {
        jp_tpl_jstext_free(&s);
        jp_tpl_jstext_free(&f);
        return -1;
    }

    jp_tpl_res_init(rs, &b);

    p = s.p;
    end = s.p + s.len;

    if (f.len == 0) {
        /* split("") cuts between UTF-16 units, surrogate pairs too */
        while (p < end) {
            jp_tpl_utf8_get(p, end, &k);

            if (p > s.p) {
                jp_tpl_buf_add(&b, r.p, r.len);
            }

            if (k == 4) {
                jp_tpl_buf_add(&b, "\xef\xbf\xbd", 3);
                jp_tpl_buf_add(&b, r.p, r.len);
                jp_tpl_buf_add(&b, "\xef\xbf\xbd", 3);

            } else {
                jp_tpl_buf_add(&b, p, k);
            }

            p += k;
        }

    } else {
        while ((hit = memmem(p, end - p, f.p, f.len)) != NULL) {
            jp_tpl_buf_add(&b, p, hit - p);
            jp_tpl_buf_add(&b, r.p, r.len);
            p = hit + f.len;
        }

        jp_tpl_buf_add(&b, p, end - p);
    }

    jp_tpl_jstext_free(&s);
    jp_tpl_jstext_free(&f);
    jp_tpl_jstext_free(&r);

    rc = jp_tpl_set_buf(rs, res, &b);

    return rc;
}


/* string.substring str start length: substring(start, start + length) in
 * UTF-16 units; str unchanged when start or length is NaN or negative */
static int
h_substring(JP_TPL_HELPER_ARGS)
{
    double           x, y, len;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  s;

    if (n != 3) {
        return jp_tpl_wrong_arity(rs, a, n, res);
    }

    if (jp_tpl_jstext(rs, &a[0], 1, &s) != 0) {
        return -1;
    }

    x = jp_tpl_parse_int(rs, a[1].j);
    y = jp_tpl_parse_int(rs, a[2].j);

    if (isnan(x) || isnan(y) || x < 0 || y < 0) {
        return jp_tpl_jstext_set(rs, res, &s);
    }

    len = (double) jp_tpl_utf16_len(s.p, s.len);
    y = x + y;
    x = x > len ? len : x;
    y = y > len ? len : y;

    jp_tpl_res_init(rs, &b);
    jp_tpl_utf16_slice(&b, s.p, s.len, (size_t) x, (size_t) y);
    jp_tpl_jstext_free(&s);

    return jp_tpl_set_buf(rs, res, &b);
}


/* padStart/padEnd(len, the first UTF-16 unit of ch, or a space) */
static int
jp_tpl_pad(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int left)
{
    char             fill[4];
    size_t           k, len, fl, i;
    double           want;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  s, c;

    if (n != 3) {
        return jp_tpl_wrong_arity(rs, a, n, res);
    }

    if (jp_tpl_jstext(rs, &a[0], 1, &s) != 0) {
        return -1;
    }

    want = jp_tpl_parse_int(rs, a[1].j);
    len = jp_tpl_utf16_len(s.p, s.len);

    if (isnan(want) || want <= (double) len) {
        return jp_tpl_jstext_set(rs, res, &s);
    }

    if (jp_tpl_jstext(rs, &a[2], 1, &c) != 0) {
        jp_tpl_jstext_free(&s);
        return -1;
    }

    if (c.len == 0) {
        fill[0] = ' ';
        fl = 1;

    } else {
        jp_tpl_utf8_get(c.p, c.p + c.len, &k);

        if (k == 4) {
            /* half a surrogate pair */
            memcpy(fill, "\xef\xbf\xbd", 3);
            fl = 3;

        } else {
            memcpy(fill, c.p, k);
            fl = k;
        }
    }

    jp_tpl_jstext_free(&c);

    /* fail before looping when the page cannot hold it */
    if ((want - (double) len) * (double) fl + (double) s.len
        > (double) jp_tpl_room(rs->out))
    {
        jp_tpl_jstext_free(&s);
        return jp_tpl_error(rs, "result too large");
    }

    jp_tpl_res_init(rs, &b);

    if (!left) {
        jp_tpl_buf_add(&b, s.p, s.len);
    }

    for (i = len; i < (size_t) want; i++) {
        jp_tpl_buf_add(&b, fill, fl);
    }

    if (left) {
        jp_tpl_buf_add(&b, s.p, s.len);
    }

    jp_tpl_jstext_free(&s);

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


/* 0 startsWith, 1 endsWith, 2 contains: exactly two arguments, or false;
 * an empty needle is found everywhere */
static int
jp_tpl_find(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int how)
{
    int              r;
    jp_tpl_jstext_t  s, f;

    if (n != 2) {
        return jp_tpl_set(rs, res, json_false());
    }

    if (jp_tpl_jstext(rs, &a[0], 1, &s) != 0) {
        return -1;
    }

    if (jp_tpl_jstext(rs, &a[1], 1, &f) != 0) {
        jp_tpl_jstext_free(&s);
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

    jp_tpl_jstext_free(&s);
    jp_tpl_jstext_free(&f);

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


/* UTF-16 units, as a string (jPulse returns String(length)) */
static int
h_strlen(JP_TPL_HELPER_ARGS)
{
    int              len;
    char             num[32];
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    len = snprintf(num, sizeof(num), "%zu", jp_tpl_utf16_len(t.p, t.len));
    jp_tpl_jstext_free(&t);

    return jp_tpl_set(rs, res, json_stringn(num, len));
}


static int
jp_tpl_case_helper(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n,
    jp_tpl_val_t *res, int upper)
{
    char             c, buf[JP_TPL_SHORT];
    size_t           i;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    if (jp_tpl_ascii_cased(t.p, t.len, upper)) {
        return jp_tpl_jstext_set(rs, res, &t);
    }

    if (t.len <= JP_TPL_SHORT) {
        for (i = 0; i < t.len && (unsigned char) t.p[i] < 0x80; i++) {
            c = t.p[i];
            buf[i] = (upper ? (c >= 'a' && c <= 'z') : (c >= 'A' && c <= 'Z'))
                     ? c ^ 0x20 : c;
        }

        if (i == t.len) {
            jp_tpl_jstext_free(&t);
            return jp_tpl_set(rs, res, json_stringn_nocheck(buf, i));
        }
    }

    jp_tpl_res_init(rs, &b);
    jp_tpl_case_map(&b, t.p, t.len, upper);
    jp_tpl_jstext_free(&t);

    return jp_tpl_set_buf(rs, res, &b);
}


static int
h_lower(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_case_helper(rs, a, n, res, 0);
}


static int
h_upper(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_case_helper(rs, a, n, res, 1);
}


static int
jp_tpl_title_sep(char c)
{
    return c == ' ' || c == '.' || c == ':' || c == '/' || c == '\''
           || c == '"' || c == '(' || c == '[' || c == '<';
}


static int
jp_tpl_title_minor(const char *p, size_t len)
{
    size_t  i;

    static const char  *const  minor[] = {
        "a", "an", "and", "as", "at", "but", "by", "for", "in", "nor",
        "of", "on", "or", "so", "the", "to", "up", "yet"
    };

    for (i = 0; i < jp_tpl_nelts(minor); i++) {
        if (strlen(minor[i]) == len && memcmp(minor[i], p, len) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * jPulse's titlecase: lower-case everything, split on runs of
 * [ .:/'"([<], capitalize the first UTF-16 unit of every word except the
 * minor ones, and always the first and the last element of the split
 * (which are empty when the text starts or ends with a separator).
 */
static int
h_title(JP_TPL_HELPER_ARGS)
{
    size_t           k;
    uint32_t         c;
    const char      *p, *end, *w;
    jp_tpl_buf_t     l, b;
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    jp_tpl_res_init(rs, &l);
    jp_tpl_case_map(&l, t.p, t.len, 0);
    jp_tpl_jstext_free(&t);

    /* "": no data to walk (l.data is NULL) */
    if (l.failed || l.len == 0) {
        return jp_tpl_set_buf(rs, res, &l);
    }

    jp_tpl_res_init(rs, &b);

    p = l.data;
    end = l.data + l.len;

    while (p <= end) {
        for (w = p; p < end && !jp_tpl_title_sep(*p); p++) {
            /* void */
        }

        /* the word w..p: the first element, the last, or a minor word */
        if (p > w && (w == l.data || p == end
                      || !jp_tpl_title_minor(w, p - w)))
        {
            c = jp_tpl_utf8_get(w, p, &k);

            if (k == 4) {
                /* charAt(0) is half a pair: toUpperCase() keeps it */
                jp_tpl_buf_add(&b, w, p - w);

            } else {
                jp_tpl_case_add(&b, c, 1);
                jp_tpl_buf_add(&b, w + k, p - w - k);
            }

        } else {
            jp_tpl_buf_add(&b, w, p - w);
        }

        if (p == end) {
            break;
        }

        for (w = p; p < end && jp_tpl_title_sep(*p); p++) {
            /* void */
        }

        jp_tpl_buf_add(&b, w, p - w);
    }

    jp_tpl_buf_free(&l);

    return jp_tpl_set_buf(rs, res, &b);
}


/*
 * jPulse's slugify: lower case, NFD without the combining marks
 * U+0300..036F, keep [a-z0-9] and the separators [.,:;@()-] and
 * whitespace (deleting the rest), each run of separators is one "-", no
 * "-" at either end. The table says what NFD leaves of a non-ASCII
 * letter; a character it does not list is deleted.
 */
static int
jp_tpl_slug_add(jp_tpl_buf_t *b, uint32_t c, int *dash)
{
    const char  *s;
    char         one[2];

    if (c < 0x80) {
        one[0] = (char) c;
        one[1] = '\0';
        s = one;

    } else {
        s = jp_tpl_cp_str(jp_tpl_slug, jp_tpl_nelts(jp_tpl_slug), c);
        if (s == NULL) {
            return 0;
        }
    }

    for (/* void */; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')) {
            if (*dash && b->len > 0) {
                jp_tpl_buf_add(b, "-", 1);
            }

            *dash = 0;
            jp_tpl_buf_add(b, s, 1);

        } else if (strchr(".,:;@()- \t\n\v\f\r", *s) != NULL) {
            *dash = 1;
        }
    }

    return 0;
}


static int
h_slugify(JP_TPL_HELPER_ARGS)
{
    int              dash;
    size_t           k, m, i;
    uint32_t         c;
    const char      *p, *end;
    jp_tpl_buf_t     b, l;
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    jp_tpl_res_init(rs, &b);
    jp_tpl_buf_init(&l, 64);

    dash = 0;
    end = t.p + t.len;

    for (p = t.p; p < end; p += k) {
        c = jp_tpl_utf8_get(p, end, &k);

        if (c < 0x80) {
            jp_tpl_slug_add(&b, c >= 'A' && c <= 'Z' ? c ^ 0x20 : c, &dash);
            continue;
        }

        /* a lower-case mapping is at most a few code points */
        l.len = 0;
        l.failed = 0;
        jp_tpl_case_add(&l, c, 0);

        for (i = 0; i < l.len; i += m) {
            jp_tpl_slug_add(&b, jp_tpl_utf8_get(l.data + i, l.data + l.len,
                                                &m), &dash);
        }
    }

    jp_tpl_buf_free(&l);
    jp_tpl_jstext_free(&t);

    return jp_tpl_set_buf(rs, res, &b);
}


/* encodeURIComponent: UTF-8 bytes, upper-case hex */
static int
h_urlencode(JP_TPL_HELPER_ARGS)
{
    char             hex[3];
    size_t           i;
    unsigned         c;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  t;

    static const char  digits[] = "0123456789ABCDEF";

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    jp_tpl_res_init(rs, &b);

    for (i = 0; i < t.len; i++) {
        c = (unsigned char) t.p[i];

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
            || (c >= '0' && c <= '9') || (c && strchr("-_.!~*'()", c)))
        {
            jp_tpl_buf_add(&b, t.p + i, 1);
            continue;
        }

        hex[0] = '%';
        hex[1] = digits[c >> 4];
        hex[2] = digits[c & 0xf];
        jp_tpl_buf_add(&b, hex, 3);
    }

    jp_tpl_jstext_free(&t);

    return jp_tpl_set_buf(rs, res, &b);
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


/* the byte of "%XX" at p, or -1 */
static int
jp_tpl_pct(const char *p, const char *end)
{
    if (end - p < 3 || p[0] != '%' || jp_tpl_hexval(p[1]) < 0
        || jp_tpl_hexval(p[2]) < 0)
    {
        return -1;
    }

    return jp_tpl_hexval(p[1]) << 4 | jp_tpl_hexval(p[2]);
}


/*
 * decodeURIComponent ("+" stays): a "%" that is not "%XX", or escapes
 * that are not one whole UTF-8 character (overlong, a surrogate, beyond
 * U+10FFFF, cut short), throw in JavaScript, and jPulse then returns the
 * text unchanged.
 */
static int
h_urldecode(JP_TPL_HELPER_ARGS)
{
    int              x;
    char             u[4];
    size_t           i, k;
    uint32_t         c;
    const char      *p, *end;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    if (memchr(t.p, '%', t.len) == NULL) {
        return jp_tpl_jstext_set(rs, res, &t);
    }

    jp_tpl_res_init(rs, &b);

    end = t.p + t.len;

    for (p = t.p; p < end; /* void */) {
        if (*p != '%') {
            jp_tpl_buf_add(&b, p++, 1);
            continue;
        }

        if ((x = jp_tpl_pct(p, end)) < 0) {
            goto malformed;
        }

        p += 3;

        if (x < 0x80) {
            u[0] = (char) x;
            jp_tpl_buf_add(&b, u, 1);
            continue;
        }

        if ((x & 0xe0) == 0xc0) {
            k = 2;
            c = x & 0x1f;

        } else if ((x & 0xf0) == 0xe0) {
            k = 3;
            c = x & 0x0f;

        } else if ((x & 0xf8) == 0xf0) {
            k = 4;
            c = x & 0x07;

        } else {
            goto malformed;
        }

        u[0] = (char) x;

        for (i = 1; i < k; i++, p += 3) {
            x = jp_tpl_pct(p, end);

            if (x < 0 || (x & 0xc0) != 0x80) {
                goto malformed;
            }

            u[i] = (char) x;
            c = c << 6 | (x & 0x3f);
        }

        if ((k == 2 && c < 0x80) || (k == 3 && c < 0x800)
            || (k == 4 && c < 0x10000) || (c >= 0xd800 && c <= 0xdfff)
            || c > 0x10ffff)
        {
            goto malformed;
        }

        jp_tpl_buf_add(&b, u, k);
    }

    jp_tpl_jstext_free(&t);

    return jp_tpl_set_buf(rs, res, &b);

malformed:

    jp_tpl_buf_free(&b);

    return jp_tpl_jstext_set(rs, res, &t);
}


/*
 * jPulse escapes & < > " ' and nothing else. Request data gets the
 * page's own escaping instead, which also covers ` \ $ (url.* prints
 * that way anyway).
 */
static int
h_html(JP_TPL_HELPER_ARGS)
{
    size_t           i, start;
    unsigned         taint;
    const char      *rep;
    jp_tpl_buf_t     b;
    jp_tpl_jstext_t  t;

    if (jp_tpl_jstext(rs, a, n, &t) != 0) {
        return -1;
    }

    for (i = 0, taint = 0; i < n; i++) {
        taint |= a[i].taint;
    }

    jp_tpl_res_init(rs, &b);

    if (taint) {
        jp_tpl_buf_add_html(&b, t.p, t.len);
        jp_tpl_jstext_free(&t);
        return jp_tpl_set_buf(rs, res, &b);
    }

    for (start = 0, i = 0; i < t.len; i++) {
        switch (t.p[i]) {
        case '&':  rep = "&amp;";  break;
        case '<':  rep = "&lt;";   break;
        case '>':  rep = "&gt;";   break;
        case '"':  rep = "&quot;"; break;
        case '\'': rep = "&#39;";  break;
        default:   continue;
        }

        jp_tpl_buf_add(&b, t.p + start, i - start);
        jp_tpl_buf_add(&b, rep, strlen(rep));
        start = i + 1;
    }

    if (start == 0) {
        jp_tpl_buf_free(&b);
        return jp_tpl_jstext_set(rs, res, &t);
    }

    jp_tpl_buf_add(&b, t.p + start, t.len - start);
    jp_tpl_jstext_free(&t);

    return jp_tpl_set_buf(rs, res, &b);
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
    { "string.urlEncode", h_urlencode, JP_TPL_H_PLAIN,   0 },
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
