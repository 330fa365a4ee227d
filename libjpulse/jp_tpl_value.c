/*
 * Template values with JavaScript's meaning (truthiness, loose ==, Number(),
 * how a number prints), the output buffer, escaping, and the path jail.
 */

#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/*
 * perf: a helper's scratch buffer holds a few bytes, and a malloc() this
 * small is served from the thread's cache; a page's buffer starts at
 * JP_TPL_BUF_PAGE as before (jp_tpl_buf_reserve() from jp_tpl_rs_init()):
 * nginx holds it while the response is sent, so no larger.
 */
#define JP_TPL_BUF_MIN   256
#define JP_TPL_BUF_PAGE  4096


void
jp_tpl_buf_init(jp_tpl_buf_t *b, size_t max)
{
    memset(b, 0, sizeof(jp_tpl_buf_t));
    b->max = max ? max : JP_TPL_DEFAULT_OUTPUT;
}


void
jp_tpl_buf_free(jp_tpl_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}


/* perf: the rare part of jp_tpl_buf_room(), out of its way (inlined,
 * it made every append save and restore five registers) */
static __attribute__((noinline)) int
jp_tpl_buf_grow(jp_tpl_buf_t *b, size_t len)
{
    size_t  cap;
    char   *data;

    cap = b->cap ? b->cap : JP_TPL_BUF_MIN;

    while (cap < b->len + len + 1) {
        cap *= 2;
    }

    data = realloc(b->data, cap);
    if (data == NULL) {
        b->failed = JP_TPL_BUF_NOMEM;
        return -1;
    }

    b->data = data;
    b->cap = cap;

    return 0;
}


/* perf: a page's first allocation, at the size it had before scratch
 * buffers started smaller; none if no memory (the render then fails, or
 * not, as it would have) */
void
jp_tpl_buf_reserve(jp_tpl_buf_t *b)
{
    size_t  cap;
    char   *data;

    if (b->cap != 0 || b->failed) {
        return;
    }

    cap = b->max < JP_TPL_BUF_PAGE ? b->max + 1 : JP_TPL_BUF_PAGE;

    data = realloc(b->data, cap);
    if (data != NULL) {
        b->data = data;
        b->cap = cap;
        b->data[b->len] = '\0';
    }
}


/* room for len more bytes and a NUL, within the limit */
static inline int
jp_tpl_buf_room(jp_tpl_buf_t *b, size_t len)
{
    if (b->failed) {
        return -1;
    }

    if (len > b->max || b->len > b->max - len) {
        b->failed = JP_TPL_BUF_OVER;
        return -1;
    }

    /* one spare byte so callers can NUL-terminate */
    if (b->len + len + 1 > b->cap) {
        return jp_tpl_buf_grow(b, len);
    }

    return 0;
}


int
jp_tpl_buf_add(jp_tpl_buf_t *b, const char *p, size_t len)
{
    if (jp_tpl_buf_room(b, len) != 0) {
        return -1;
    }

    if (len) {
        memcpy(b->data + b->len, p, len);
        b->len += len;
    }

    b->data[b->len] = '\0';

    return 0;
}


/* what a byte becomes in HTML (NULL: itself), and how many bytes more */
static const char *const  jp_tpl_html_rep[256] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
    ['\''] = "&#39;", ['`'] = "&#96;", ['\\'] = "&#92;", ['$'] = "&#36;"
};

static const unsigned char  jp_tpl_html_more[256] = {
    ['&'] = 4, ['<'] = 3, ['>'] = 3, ['"'] = 5,
    ['\''] = 4, ['`'] = 4, ['\\'] = 4, ['$'] = 4
};


/* the same, padded: one 8-byte move writes any of them */
static const char  jp_tpl_html_rep8[256][8] = {
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;", ['"'] = "&quot;",
    ['\''] = "&#39;", ['`'] = "&#96;", ['\\'] = "&#92;", ['$'] = "&#36;"
};


/*
 * Also escapes ` \ $ so a value in a JS string cannot end it. perf: in
 * one pass when the room allocated holds the worst case (6 bytes a byte,
 * and the last 8-byte move); else the escaped size first, then one copy
 * into room made once. The limit is on the escaped bytes either way.
 */
int
jp_tpl_buf_add_html(jp_tpl_buf_t *b, const char *p, size_t len)
{
    char        *d;
    size_t       i, n;
    const char  *rep;

    if (!b->failed && len <= b->max && b->len <= b->max - len
        && b->cap > b->len + 8 && len <= (b->cap - b->len - 8) / 6)
    {
        d = b->data + b->len;

        for (i = 0; i < len; i++) {
            n = jp_tpl_html_more[(unsigned char) p[i]];

            if (n == 0) {
                *d++ = p[i];
                continue;
            }

            memcpy(d, jp_tpl_html_rep8[(unsigned char) p[i]], 8);
            d += n + 1;
        }

        n = d - b->data;

        if (n > b->max) {
            b->data[b->len] = '\0';
            b->failed = JP_TPL_BUF_OVER;
            return -1;
        }

        b->len = n;
        b->data[n] = '\0';

        return 0;
    }

    n = len;

    for (i = 0; i < len; i++) {
        n += jp_tpl_html_more[(unsigned char) p[i]];
    }

    if (n == len) {
        return jp_tpl_buf_add(b, p, len);
    }

    if (jp_tpl_buf_room(b, n) != 0) {
        return -1;
    }

    d = b->data + b->len;

    for (i = 0; i < len; i++) {
        rep = jp_tpl_html_rep[(unsigned char) p[i]];

        if (rep == NULL) {
            *d++ = p[i];
            continue;
        }

        n = jp_tpl_html_more[(unsigned char) p[i]] + 1;
        memcpy(d, rep, n);
        d += n;
    }

    b->len = d - b->data;
    b->data[b->len] = '\0';

    return 0;
}


/* Text inside "<!-- -->": no "--", no markup, no control bytes. */
int
jp_tpl_buf_add_comment(jp_tpl_buf_t *b, const char *p, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((unsigned char) p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') {
            if (jp_tpl_buf_add(b, "?", 1) != 0) {
                return -1;
            }
            continue;
        }

        if (p[i] == '-' && i + 1 < len && p[i + 1] == '-') {
            if (jp_tpl_buf_add(b, "- ", 2) != 0) {
                return -1;
            }
            continue;
        }

        if (p[i] == '<' || p[i] == '>' || p[i] == '&') {
            if (jp_tpl_buf_add_html(b, p + i, 1) != 0) {
                return -1;
            }
            continue;
        }

        if (jp_tpl_buf_add(b, p + i, 1) != 0) {
            return -1;
        }
    }

    return 0;
}


void
jp_tpl_val_free(jp_tpl_val_t *v)
{
    json_decref(v->j);
    v->j = NULL;
    v->taint = 0;
}


int
jp_tpl_truthy(json_t *j)
{
    double  d;

    if (j == NULL) {
        return 0;
    }

    switch (json_typeof(j)) {
    case JSON_STRING:
        return json_string_length(j) > 0;
    case JSON_INTEGER:
        return json_integer_value(j) != 0;
    case JSON_REAL:
        d = json_real_value(j);
        return d != 0 && !isnan(d);
    case JSON_TRUE:
    case JSON_OBJECT:
    case JSON_ARRAY:
        return 1;
    default:
        return 0;
    }
}


/* JavaScript's Number(v); NAN where JavaScript gives NaN. */
double
jp_tpl_number(json_t *j)
{
    if (j == NULL) {
        return NAN;
    }

    switch (json_typeof(j)) {
    case JSON_INTEGER:
        return (double) json_integer_value(j);
    case JSON_REAL:
        return json_real_value(j);
    case JSON_TRUE:
        return 1;
    case JSON_FALSE:
    case JSON_NULL:
        return 0;
    case JSON_STRING:
        return jp_tpl_js_number(json_string_value(j), json_string_length(j));
    default:
        return NAN;
    }
}


/*
 * floor, ceil and fmod without libm (the build links none): exact for
 * every double, since beyond 2^52 all doubles are integers.
 */
double
jp_tpl_floor(double d)
{
    double  t;

    if (!isfinite(d) || d >= 4503599627370496.0
        || d <= -4503599627370496.0)
    {
        return d;
    }

    t = (double) (int64_t) d;

    return t > d ? t - 1 : t;
}


double
jp_tpl_ceil(double d)
{
    return -jp_tpl_floor(-d);
}


double
jp_tpl_fmod(double x, double y)
{
    double  q;

    if (!isfinite(x) || !isfinite(y) || y == 0) {
        return NAN;
    }

    q = x / y;
    q = q < 0 ? jp_tpl_ceil(q) : jp_tpl_floor(q);

    return x - q * y;
}


/* Integral values stay integers so they print as JavaScript prints them;
 * NaN and infinities (which JSON cannot hold) become null. */
json_t *
jp_tpl_number_new(double d)
{
    if (!isfinite(d)) {
        return json_null();
    }

    if (d == jp_tpl_floor(d) && d < 9007199254740992.0
        && d > -9007199254740992.0)
    {
        return json_integer((json_int_t) d);
    }

    return json_real(d);
}


static int
jp_tpl_format_int(long long n, char *buf, size_t size)
{
    char                 tmp[24], *p;
    size_t               len;
    unsigned long long   u;

    u = n < 0 ? 0ULL - (unsigned long long) n : (unsigned long long) n;
    p = tmp + sizeof(tmp);

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u);

    if (n < 0) {
        *--p = '-';
    }

    len = tmp + sizeof(tmp) - p;

    if (size == 0) {
        return (int) len;
    }

    if (len >= size) {
        /* what snprintf() would do: truncate, report the full length */
        memcpy(buf, p, size - 1);
        buf[size - 1] = '\0';
        return (int) len;
    }

    memcpy(buf, p, len);
    buf[len] = '\0';

    return (int) len;
}


/*
 * JavaScript's String(n): the shortest digits that read back the same,
 * laid out plainly from 1e-7 to 1e21 and as "1.5e+21", "1e-7" beyond.
 */
int
jp_tpl_format_number(double d, char *buf, size_t size)
{
    int     prec, exp, k, i, n;
    char    tmp[40], digits[24], out[48], *p;

    if (isnan(d)) {
        return snprintf(buf, size, "NaN");
    }

    if (isinf(d)) {
        return snprintf(buf, size, d < 0 ? "-Infinity" : "Infinity");
    }

    if (d == jp_tpl_floor(d) && d < 9007199254740992.0
        && d > -9007199254740992.0)
    {
        /* exact integers without the float printer (the common case) */
        return jp_tpl_format_int((long long) d, buf, size);
    }

    for (prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d) {
            break;
        }
    }

    /* tmp: [-]D[.DDD]e[+-]XX */
    p = tmp;
    n = 0;
    p += (*p == '-');

    for (k = 0; *p != 'e'; p++) {
        if (*p != '.') {
            digits[k++] = *p;
        }
    }

    exp = atoi(p + 1);

    while (k > 1 && digits[k - 1] == '0') {
        k--;
    }

    if (d < 0) {
        out[n++] = '-';
    }

    if (exp >= 21 || exp < -6) {
        out[n++] = digits[0];

        if (k > 1) {
            out[n++] = '.';
            memcpy(out + n, digits + 1, k - 1);
            n += k - 1;
        }

        n += snprintf(out + n, sizeof(out) - n, "e%c%d", exp < 0 ? '-' : '+',
                      exp < 0 ? -exp : exp);

    } else if (exp < 0) {
        out[n++] = '0';
        out[n++] = '.';

        for (i = -1; i > exp; i--) {
            out[n++] = '0';
        }

        memcpy(out + n, digits, k);
        n += k;

    } else {
        for (i = 0; i <= exp || i < k; i++) {
            if (i == exp + 1) {
                out[n++] = '.';
            }

            out[n++] = i < k ? digits[i] : '0';
        }
    }

    out[n] = '\0';

    return snprintf(buf, size, "%s", out);
}


/* JavaScript's < between two values: -1, 0, 1 in cmp; -1 if unordered. */
int
jp_tpl_compare(json_t *a, json_t *b, int *cmp)
{
    int     r;
    size_t  la, lb;
    double  x, y;

    if (json_is_string(a) && json_is_string(b)) {
        la = json_string_length(a);
        lb = json_string_length(b);
        r = memcmp(json_string_value(a), json_string_value(b),
                   la < lb ? la : lb);
        *cmp = r ? (r < 0 ? -1 : 1) : (la < lb ? -1 : la > lb);
        return 0;
    }

    x = jp_tpl_number(a ? a : json_null());
    y = jp_tpl_number(b ? b : json_null());

    if (isnan(x) || isnan(y)) {
        return -1;
    }

    *cmp = (x > y) - (x < y);

    return 0;
}


static int
jp_tpl_json_str(jp_tpl_buf_t *b, const char *p, size_t len)
{
    char        esc[8];
    size_t      i, start;
    const char  *rep;

    if (jp_tpl_buf_add(b, "\"", 1) != 0) {
        return -1;
    }

    for (start = 0, i = 0; i < len; i++) {
        switch (p[i]) {
        case '"':  rep = "\\\"";  break;
        case '\\': rep = "\\\\"; break;
        case '\b': rep = "\\b";  break;
        case '\f': rep = "\\f";  break;
        case '\n': rep = "\\n";  break;
        case '\r': rep = "\\r";  break;
        case '\t': rep = "\\t";  break;
        default:
            if ((unsigned char) p[i] >= 0x20) {
                continue;
            }
            snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char) p[i]);
            rep = esc;
        }

        if (jp_tpl_buf_add(b, p + start, i - start) != 0
            || jp_tpl_buf_add(b, rep, strlen(rep)) != 0)
        {
            return -1;
        }

        start = i + 1;
    }

    return jp_tpl_buf_add(b, p + start, len - start) != 0
           || jp_tpl_buf_add(b, "\"", 1) != 0 ? -1 : 0;
}


/* JSON.stringify's compact form: numbers as JavaScript prints them (not
 * jansson's "1.0" or "0.10000000000000001"), keys in insertion order */
static int
jp_tpl_json_add(jp_tpl_buf_t *b, json_t *j, unsigned depth)
{
    char         num[64];
    size_t       i, n;
    json_t      *v;
    const char  *key;

    if (depth > JP_TPL_REQ_DEPTH_MAX) {
        return -1;
    }

    switch (json_typeof(j)) {
    case JSON_OBJECT:
        if (jp_tpl_buf_add(b, "{", 1) != 0) {
            return -1;
        }

        n = 0;

        json_object_foreach(j, key, v) {
            if ((n++ > 0 && jp_tpl_buf_add(b, ",", 1) != 0)
                || jp_tpl_json_str(b, key, strlen(key)) != 0
                || jp_tpl_buf_add(b, ":", 1) != 0
                || jp_tpl_json_add(b, v, depth + 1) != 0)
            {
                return -1;
            }
        }

        return jp_tpl_buf_add(b, "}", 1);

    case JSON_ARRAY:
        if (jp_tpl_buf_add(b, "[", 1) != 0) {
            return -1;
        }

        json_array_foreach(j, i, v) {
            if ((i > 0 && jp_tpl_buf_add(b, ",", 1) != 0)
                || jp_tpl_json_add(b, v, depth + 1) != 0)
            {
                return -1;
            }
        }

        return jp_tpl_buf_add(b, "]", 1);

    case JSON_STRING:
        return jp_tpl_json_str(b, json_string_value(j),
                               json_string_length(j));

    case JSON_INTEGER:
    case JSON_REAL:
        n = (size_t) jp_tpl_format_number(jp_tpl_number(j), num,
                                          sizeof(num));
        return jp_tpl_buf_add(b, num, n < sizeof(num) ? n : 0);

    case JSON_TRUE:
        return jp_tpl_buf_add(b, "true", 4);

    case JSON_FALSE:
        return jp_tpl_buf_add(b, "false", 5);

    default:
        return jp_tpl_buf_add(b, "null", 4);
    }
}


/*
 * A value as the page shows it: strings raw, numbers as JavaScript prints
 * them, everything else as compact JSON. malloc()ed; NULL on no memory.
 */
char *
jp_tpl_to_string(json_t *j, size_t *len)
{
    char          num[64], *s;
    size_t        n;
    jp_tpl_buf_t  b;

    switch (json_typeof(j)) {
    case JSON_STRING:
        n = json_string_length(j);
        s = malloc(n + 1);
        if (s != NULL) {
            memcpy(s, json_string_value(j), n);
            s[n] = '\0';
        }
        *len = n;
        return s;

    case JSON_INTEGER:
    case JSON_REAL:
        jp_tpl_format_number(jp_tpl_number(j), num, sizeof(num));
        *len = strlen(num);
        return strdup(num);

    default:
        jp_tpl_buf_init(&b, SIZE_MAX - 1);

        if (jp_tpl_json_add(&b, j, 0) != 0 || b.data == NULL) {
            jp_tpl_buf_free(&b);
            *len = 0;
            return NULL;
        }

        *len = b.len;
        return b.data;
    }
}


/* the length of the valid UTF-8 sequence at p, or 0 */
static size_t
jp_tpl_utf8_seq(const unsigned char *p, size_t len)
{
    size_t    n, i;
    uint32_t  c;

    if (p[0] < 0x80) {
        return 1;
    }

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        n = 2;
        c = p[0] & 0x1f;

    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        n = 3;
        c = p[0] & 0x0f;

    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        n = 4;
        c = p[0] & 0x07;

    } else {
        return 0;
    }

    if (len < n) {
        return 0;
    }

    for (i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        c = (c << 6) | (p[i] & 0x3f);
    }

    /* overlong forms, surrogates, beyond U+10FFFF */
    if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000)
        || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
    {
        return 0;
    }

    return n;
}


int
jp_tpl_utf8_valid(const char *p, size_t len)
{
    size_t  i, n;

    for (i = 0; i < len; i += n) {
        n = jp_tpl_utf8_seq((const unsigned char *) p + i, len - i);
        if (n == 0) {
            return 0;
        }
    }

    return 1;
}


/*
 * A string from template or file bytes. jansson refuses invalid UTF-8
 * (json_stringn() returns NULL, which looked like "out of memory" and
 * refused the page); every such byte becomes U+FFFD instead, so all
 * strings stay valid and json_dumps() of a value holding them works.
 */
json_t *
jp_tpl_string_new(const char *p, size_t len)
{
    char    *s;
    size_t   i, k, n;
    json_t  *j;

    if (jp_tpl_utf8_valid(p, len)) {
        return json_stringn_nocheck(p, len);
    }

    if (len > (SIZE_MAX - 1) / 3) {
        return NULL;
    }

    s = malloc(len * 3 + 1);
    if (s == NULL) {
        return NULL;
    }

    for (i = 0, k = 0; i < len; i += n) {
        n = jp_tpl_utf8_seq((const unsigned char *) p + i, len - i);

        if (n == 0) {
            memcpy(s + k, "\xef\xbf\xbd", 3);
            k += 3;
            n = 1;
            continue;
        }

        memcpy(s + k, p + i, n);
        k += n;
    }

    j = json_stringn_nocheck(s, k);
    free(s);

    return j;
}


static int
jp_tpl_hex(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


static int
jp_tpl_path_ok(const char *p, size_t len)
{
    size_t       n;
    const char  *seg, *end, *slash;

    if (len == 0 || p[0] == '/' || memchr(p, '\\', len) != NULL
        || memchr(p, '\0', len) != NULL
        || (len >= 2 && p[1] == ':'))
    {
        return -1;
    }

    end = p + len;

    for (seg = p; seg < end; seg = slash + 1) {
        slash = memchr(seg, '/', end - seg);
        if (slash == NULL) {
            slash = end;
        }

        n = slash - seg;

        if (n == 0 || (n == 1 && seg[0] == '.')
            || (n == 2 && seg[0] == '.' && seg[1] == '.'))
        {
            return -1;
        }
    }

    return 0;
}


int
jp_tpl_path_check(const char *path, size_t len, char *out, size_t size)
{
    int     hi, lo;
    size_t  i, n;

    if (jp_tpl_path_ok(path, len) != 0) {
        return -1;
    }

    for (i = 0, n = 0; i < len; i++) {
        if (n + 1 >= size) {
            return -1;
        }

        if (path[i] == '%') {
            hi = i + 2 < len ? jp_tpl_hex(path[i + 1]) : -1;
            lo = i + 2 < len ? jp_tpl_hex(path[i + 2]) : -1;

            if (hi < 0 || lo < 0) {
                return -1;
            }

            out[n++] = (char) (hi << 4 | lo);
            i += 2;
            continue;
        }

        out[n++] = path[i];
    }

    out[n] = '\0';

    return jp_tpl_path_ok(out, n);
}
