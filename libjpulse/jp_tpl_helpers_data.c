/*
 * math.*, array.* and json.parse (see jp_tpl_helpers.c), as jPulse 1.7.17
 * has them (jpulse-template-helpers.md sections 7, 9 and 10).
 *
 * jPulse's math helpers return String(n); such a string turns back into a
 * number wherever it is an argument (jPulse re-tokenizes subexpression
 * results). A native number behaves the same in both places and prints
 * the same, so finite results are numbers here; only Infinity and NaN,
 * which JSON cannot hold, are returned as their JavaScript text.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


static const unsigned char *
jp_tpl_js_skip_space(const unsigned char *p, const unsigned char *end)
{
    size_t  n;

    while (p < end
           && jp_tpl_js_space(jp_tpl_utf8_get((const char *) p,
                                              (const char *) end, &n)))
    {
        p += n;
    }

    return p;
}


static size_t
jp_tpl_digits(const unsigned char *p, const unsigned char *end)
{
    const unsigned char  *s;

    for (s = p; p < end && *p >= '0' && *p <= '9'; p++) {
        /* void */
    }

    return p - s;
}


/*
 * JavaScript's Number() of a string (p must be NUL-terminated at len):
 * surrounding white space, "" is 0, decimal literals with an optional
 * sign, "Infinity", and unsigned 0x/0o/0b integers; anything else is NaN.
 * strtod() alone would also take "inf", "nan", "-0x10" and hex floats.
 */
double
jp_tpl_js_number(const char *s, size_t len)
{
    int                   v, base, neg;
    size_t                n, frac;
    double                d;
    const unsigned char  *p, *end, *start;

    p = (const unsigned char *) s;
    end = p + len;

    p = jp_tpl_js_skip_space(p, end);

    if (p == end) {
        return 0;
    }

    start = p;

    if (end - p > 2 && p[0] == '0'
        && ((p[1] | 0x20) == 'x' || (p[1] | 0x20) == 'o'
            || (p[1] | 0x20) == 'b'))
    {
        base = (p[1] | 0x20) == 'x' ? 16 : (p[1] | 0x20) == 'o' ? 8 : 2;

        for (p += 2, d = 0, n = 0; p < end; p++, n++) {
            v = (*p >= '0' && *p <= '9') ? *p - '0'
                : ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f')
                  ? (*p | 0x20) - 'a' + 10 : 99;

            if (v >= base) {
                break;
            }

            d = d * base + v;
        }

        if (n == 0) {
            return NAN;
        }

    } else {
        neg = (*p == '-');
        p += (*p == '-' || *p == '+');

        if (end - p >= 8 && memcmp(p, "Infinity", 8) == 0) {
            p += 8;
            d = neg ? -INFINITY : INFINITY;

        } else {
            n = jp_tpl_digits(p, end);
            p += n;
            frac = 0;

            if (p < end && *p == '.') {
                p++;
                frac = jp_tpl_digits(p, end);
                p += frac;
            }

            if (n + frac == 0) {
                return NAN;
            }

            if (p < end && (*p | 0x20) == 'e') {
                p++;
                p += (p < end && (*p == '-' || *p == '+'));
                n = jp_tpl_digits(p, end);
                if (n == 0) {
                    return NAN;
                }
                p += n;
            }

            /* the syntax is strtod()'s decimal subset, and what follows
             * is no digit: strtod() reads exactly this literal */
            d = strtod((const char *) start, NULL);
        }
    }

    return jp_tpl_js_skip_space(p, end) == end ? d : NAN;
}


/* JavaScript's String(v) (undefined is NULL) appended to b */
static int
jp_tpl_js_str(jp_tpl_buf_t *b, json_t *j, unsigned depth)
{
    char    num[32];
    size_t  i;
    json_t *v;

    if (j == NULL) {
        return jp_tpl_buf_add(b, "undefined", 9);
    }

    switch (json_typeof(j)) {
    case JSON_STRING:
        return jp_tpl_buf_add(b, json_string_value(j), json_string_length(j));

    case JSON_INTEGER:
    case JSON_REAL:
        jp_tpl_format_number(jp_tpl_number(j), num, sizeof(num));
        return jp_tpl_buf_add(b, num, strlen(num));

    case JSON_TRUE:
        return jp_tpl_buf_add(b, "true", 4);

    case JSON_FALSE:
        return jp_tpl_buf_add(b, "false", 5);

    case JSON_NULL:
        return jp_tpl_buf_add(b, "null", 4);

    case JSON_ARRAY:
        /* join(","): null elements are empty, nested arrays join too */
        if (depth >= JP_TPL_REQ_DEPTH_MAX) {
            return -1;
        }

        json_array_foreach(j, i, v) {
            if ((i > 0 && jp_tpl_buf_add(b, ",", 1) != 0)
                || (!json_is_null(v) && jp_tpl_js_str(b, v, depth + 1) != 0))
            {
                return -1;
            }
        }

        return 0;

    default:
        return jp_tpl_buf_add(b, "[object Object]", 15);
    }
}


/* String(v) as the helper's result */
static int
jp_tpl_js_str_res(jp_tpl_rs_t *rs, json_t *j, jp_tpl_val_t *res)
{
    jp_tpl_buf_t  b;

    if (json_is_string(j)) {
        return jp_tpl_set(rs, res, json_incref(j));
    }

    jp_tpl_buf_init(&b, 0);

    if (jp_tpl_buf_add(&b, "", 0) != 0 || jp_tpl_js_str(&b, j, 0) != 0) {
        b.failed = b.failed ? b.failed : JP_TPL_BUF_OVER;
    }

    return jp_tpl_set_buf(rs, res, &b);
}


/* JavaScript's Number(v): an array through its String() */
static double
jp_tpl_js_num(json_t *j)
{
    double        d;
    jp_tpl_buf_t  b;

    if (json_is_string(j)) {
        return jp_tpl_js_number(json_string_value(j), json_string_length(j));
    }

    if (!json_is_array(j)) {
        return jp_tpl_number(j);
    }

    if (json_array_size(j) == 0) {
        return 0;
    }

    if (json_array_size(j) > 1) {
        /* "a,b": NaN whatever a and b are */
        return NAN;
    }

    jp_tpl_buf_init(&b, 0);

    if (jp_tpl_buf_add(&b, "", 0) != 0 || jp_tpl_js_str(&b, j, 0) != 0) {
        jp_tpl_buf_free(&b);
        return NAN;
    }

    d = jp_tpl_js_number(b.data, b.len);
    jp_tpl_buf_free(&b);

    return d;
}


/* math.*: the result as JavaScript's String(n) would read back */

static int
jp_tpl_num(jp_tpl_rs_t *rs, jp_tpl_val_t *res, double d)
{
    if (isnan(d)) {
        return jp_tpl_set(rs, res, json_string("NaN"));
    }

    if (isinf(d)) {
        return jp_tpl_set(rs, res, json_string(d > 0 ? "Infinity"
                                                      : "-Infinity"));
    }

    return jp_tpl_set(rs, res, jp_tpl_number_new(d));
}


/*
 * An argument of the variadic helpers: Number(x); a string that is no
 * number is tried as a date (epoch ms, jPulse's new Date(x).getTime());
 * what still is NaN counts as 0.
 */
static double
jp_tpl_math_arg(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, json_t *j)
{
    int                     rc;
    json_t                 *hash;
    double                  d;
    jp_tpl_val_t            arg, r;
    const jp_tpl_helper_t  *h;

    d = jp_tpl_js_num(j);

    if (!isnan(d)) {
        return d;
    }

    h = json_is_string(j) ? jp_tpl_helper_find("date.parse", 10) : NULL;

    if (h == NULL || h->fn == NULL) {
        return 0;
    }

    /* date.parse reads a date= of the call: the math call has none */
    hash = rs->hash;
    rs->hash = NULL;
    arg.j = j;
    arg.taint = 0;
    r.j = NULL;
    r.taint = 0;

    rc = h->fn(rs, e, &arg, 1, &r);

    rs->hash = hash;

    d = NAN;

    if (rc == 0 && json_is_number(r.j)) {
        d = jp_tpl_number(r.j);

    } else if (rc == 0 && json_is_string(r.j)
               && json_string_length(r.j) > 0)
    {
        d = jp_tpl_js_number(json_string_value(r.j),
                             json_string_length(r.j));
    }

    jp_tpl_val_free(&r);

    return isnan(d) ? 0 : d;
}


static int
h_add(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    for (d = 0, i = 0; i < n; i++) {
        d += jp_tpl_math_arg(rs, e, a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_subtract(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    d = n ? jp_tpl_math_arg(rs, e, a[0].j) : 0;

    for (i = 1; i < n; i++) {
        d -= jp_tpl_math_arg(rs, e, a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_multiply(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    for (d = n ? 1 : 0, i = 0; i < n; i++) {
        d *= jp_tpl_math_arg(rs, e, a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


/* jPulse answers 0 (and logs) when any divisor is 0 */
static int
h_divide(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d, x;

    d = n ? jp_tpl_math_arg(rs, e, a[0].j) : 0;

    for (i = 1; i < n; i++) {
        x = jp_tpl_math_arg(rs, e, a[i].j);
        if (x == 0) {
            return jp_tpl_num(rs, res, 0);
        }
        d /= x;
    }

    return jp_tpl_num(rs, res, d);
}


/*
 * JavaScript's %, exact as IEEE fmod() (no libm here): the divisor,
 * doubled while it fits, is subtracted and halved back; every step is
 * exact (Sterbenz), so 1e17 % 3 is right where x - trunc(x / y) * y
 * is not.
 */
static double
jp_tpl_js_fmod(double x, double y)
{
    double  ax, ay, t;

    if (isnan(x) || isnan(y) || isinf(x) || y == 0) {
        return NAN;
    }

    if (isinf(y) || x == 0) {
        return x;
    }

    ax = fabs(x);
    ay = fabs(y);

    if (ax >= ay) {
        for (t = ay; t <= ax / 2; t *= 2) {
            /* void */
        }

        for ( /* void */ ; t >= ay; t /= 2) {
            if (ax >= t) {
                ax -= t;
            }
        }
    }

    return x < 0 ? -ax : ax;
}


/* the unary and binary helpers: Number() only, NaN answers 0 */
static int
jp_tpl_math_unary(json_t *j, double *d)
{
    *d = jp_tpl_js_num(j);

    return isnan(*d) ? -1 : 0;
}


static int
h_mod(JP_TPL_HELPER_ARGS)
{
    double  x, y;

    if (n != 2 || jp_tpl_math_unary(a[0].j, &x) != 0
        || jp_tpl_math_unary(a[1].j, &y) != 0 || y == 0)
    {
        return jp_tpl_num(rs, res, 0);
    }

    return jp_tpl_num(rs, res, jp_tpl_js_fmod(x, y));
}


/* Math.round: halves toward +Infinity */
static int
h_round(JP_TPL_HELPER_ARGS)
{
    double  d, r;

    if (n != 1 || jp_tpl_math_unary(a[0].j, &d) != 0) {
        return jp_tpl_num(rs, res, 0);
    }

    r = jp_tpl_floor(d);

    if (d - r >= 0.5) {
        r += 1;
    }

    return jp_tpl_num(rs, res, r);
}


static int
h_floor(JP_TPL_HELPER_ARGS)
{
    double  d;

    if (n != 1 || jp_tpl_math_unary(a[0].j, &d) != 0) {
        return jp_tpl_num(rs, res, 0);
    }

    return jp_tpl_num(rs, res, jp_tpl_floor(d));
}


static int
h_ceil(JP_TPL_HELPER_ARGS)
{
    double  d;

    if (n != 1 || jp_tpl_math_unary(a[0].j, &d) != 0) {
        return jp_tpl_num(rs, res, 0);
    }

    return jp_tpl_num(rs, res, jp_tpl_ceil(d));
}


/* Math.min/Math.max of the coerced arguments: an array is not spread */
static int
jp_tpl_minmax(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *a,
    size_t n, jp_tpl_val_t *res, int max)
{
    size_t  i;
    double  d, x;

    if (n == 0) {
        return jp_tpl_num(rs, res, 0);
    }

    d = jp_tpl_math_arg(rs, e, a[0].j);

    for (i = 1; i < n; i++) {
        x = jp_tpl_math_arg(rs, e, a[i].j);
        d = max ? (x > d ? x : d) : (x < d ? x : d);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_min(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_minmax(rs, e, a, n, res, 0);
}


static int
h_max(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_minmax(rs, e, a, n, res, 1);
}


/* array.* */

static int
h_alen(JP_TPL_HELPER_ARGS)
{
    json_t  *j;

    j = JP_TPL_ARG(0);

    return jp_tpl_set(rs, res, json_integer(
        json_is_array(j) ? (json_int_t) json_array_size(j)
        : json_is_object(j) ? (json_int_t) json_object_size(j) : 0));
}


/* join(String(sep)), "," without one; null elements are empty */
static int
h_join(JP_TPL_HELPER_ARGS)
{
    size_t        i;
    json_t       *arr, *v;
    jp_tpl_buf_t  b, sep;

    arr = JP_TPL_ARG(0);

    if (!json_is_array(arr)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    jp_tpl_buf_init(&sep, 0);
    jp_tpl_buf_init(&b, 0);

    if (n > 1 && a[1].j != NULL) {
        (void) jp_tpl_js_str(&sep, a[1].j, 0);

    } else {
        (void) jp_tpl_buf_add(&sep, ",", 1);
    }

    (void) jp_tpl_buf_add(&b, "", 0);

    json_array_foreach(arr, i, v) {
        if (i > 0) {
            (void) jp_tpl_buf_add(&b, sep.data, sep.len);
        }

        if (!json_is_null(v) && jp_tpl_js_str(&b, v, 1) != 0) {
            b.failed = b.failed ? b.failed : JP_TPL_BUF_OVER;
        }

        if (b.failed) {
            break;
        }
    }

    b.failed = b.failed ? b.failed : sep.failed;
    jp_tpl_buf_free(&sep);

    return jp_tpl_set_buf(rs, res, &b);
}


/* String(element), "" when there is none */
static int
jp_tpl_elem(jp_tpl_rs_t *rs, json_t *arr, size_t i, jp_tpl_val_t *res)
{
    if (!json_is_array(arr) || i >= json_array_size(arr)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    return jp_tpl_js_str_res(rs, json_array_get(arr, i), res);
}


static int
h_first(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_elem(rs, JP_TPL_ARG(0), 0, res);
}


static int
h_last(JP_TPL_HELPER_ARGS)
{
    json_t  *arr;

    arr = JP_TPL_ARG(0);

    return jp_tpl_elem(rs, arr, json_is_array(arr)
                                ? json_array_size(arr) - 1 : 0, res);
}


/* no negative index; a fraction is a missing property: "undefined" */
static int
h_at(JP_TPL_HELPER_ARGS)
{
    double  i;

    if (n != 2 || !json_is_array(a[0].j)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    i = jp_tpl_js_num(a[1].j);

    if (isnan(i) || i < 0 || i >= (double) json_array_size(a[0].j)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    if (i != jp_tpl_floor(i)) {
        return jp_tpl_set(rs, res, json_string("undefined"));
    }

    return jp_tpl_elem(rs, a[0].j, (size_t) i, res);
}


/* SameValueZero: no coercion; undefined (NULL) is in no JSON array */
static int
jp_tpl_same(json_t *x, json_t *y)
{
    if (x == NULL || y == NULL) {
        return 0;
    }

    if (json_is_number(x) && json_is_number(y)) {
        return jp_tpl_number(x) == jp_tpl_number(y);
    }

    if (json_typeof(x) != json_typeof(y)) {
        return 0;
    }

    if (json_is_string(x)) {
        return json_string_length(x) == json_string_length(y)
               && memcmp(json_string_value(x), json_string_value(y),
                         json_string_length(x)) == 0;
    }

    /* objects and arrays by identity */
    return x == y || json_is_boolean(x) || json_is_null(x);
}


static int
h_includes(JP_TPL_HELPER_ARGS)
{
    size_t   i;
    json_t  *arr;

    arr = JP_TPL_ARG(0);

    if (n != 2 || !json_is_array(arr)) {
        return jp_tpl_set(rs, res, json_false());
    }

    for (i = 0; i < json_array_size(arr); i++) {
        if (jp_tpl_same(json_array_get(arr, i), a[1].j)) {
            return jp_tpl_set(rs, res, json_true());
        }
    }

    return jp_tpl_set(rs, res, json_false());
}


/* only an array or an object can be non-empty: "abc" is empty */
static int
h_isempty(JP_TPL_HELPER_ARGS)
{
    json_t  *j;

    j = JP_TPL_ARG(0);

    return jp_tpl_set(rs, res, json_boolean(
        json_is_array(j) ? json_array_size(j) == 0
        : json_is_object(j) ? json_object_size(j) == 0 : 1));
}


/* the elements of every array argument; other arguments are skipped */
static int
h_aconcat(JP_TPL_HELPER_ARGS)
{
    size_t   i;
    json_t  *arr;

    arr = json_array();
    if (arr == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0; i < n; i++) {
        if (json_is_array(a[i].j) && json_array_extend(arr, a[i].j) != 0) {
            json_decref(arr);
            return jp_tpl_error(rs, "out of memory");
        }
    }

    return jp_tpl_set(rs, res, arr);
}


static int
h_reverse(JP_TPL_HELPER_ARGS)
{
    size_t   i;
    json_t  *arr, *src;

    src = JP_TPL_ARG(0);
    arr = json_array();

    if (arr == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = json_is_array(src) ? json_array_size(src) : 0; i-- > 0; ) {
        if (json_array_append(arr, json_array_get(src, i)) != 0) {
            json_decref(arr);
            return jp_tpl_error(rs, "out of memory");
        }
    }

    return jp_tpl_set(rs, res, arr);
}


/*
 * array.sort's string order: ICU's root collation (what localeCompare
 * gives under en-US) for ASCII and Latin-1, by three levels: base
 * letters, then accents, then case. White space, punctuation and symbols
 * (CLDR's order) come before digits, digits before letters; an accented
 * letter is its base letter plus an accent weight (so "e" < "e acute" <
 * "f"), ae (U+00E6) and sharp s (U+00DF) expand to "ae" and "ss", eth
 * follows d and thorn follows z. Other code
 * points follow all of these in code point order, and combining marks
 * U+0300-036F are accents.
 */

#define JP_COLL_LETTER  0x100   /* primary of 'a'; 'b' is +2, ... */
#define JP_COLL_OTHER   0x200   /* beyond Latin-1: + code point */

enum {
    JP_COLL_NONE = 0,           /* no accent (the "common" secondary) */
    JP_COLL_ACUTE = 2,
    JP_COLL_GRAVE,
    JP_COLL_BREVE,
    JP_COLL_CIRCUMFLEX,
    JP_COLL_CARON,
    JP_COLL_RING,
    JP_COLL_DIAERESIS,
    JP_COLL_DACUTE,
    JP_COLL_TILDE,
    JP_COLL_DOT,
    JP_COLL_STROKE,
    JP_COLL_CEDILLA,
    JP_COLL_OGONEK,
    JP_COLL_MACRON,
    JP_COLL_EXPANSION,          /* the second part of U+00E6, 00DF */
    JP_COLL_MARK                /* other combining marks: + offset */
};

/* tertiary */
#define JP_COLL_LOWER   1
#define JP_COLL_VARIANT 2       /* NBSP, U+00AA, U+00E6 ... */
#define JP_COLL_UPPER   3
#define JP_COLL_SUPER   4       /* U+00B9, 00B2, 00B3 */

/* the variable characters, lowest first (CLDR root) */
static const char  jp_coll_punct[] =
    "\t\n\v\f\r _-,;:!\xa1?\xbf.\xb7'\"\xab\xbb()[]{}\xa7\xb6@*/\\&#%`"
    "\xb4^\xaf\xa8\xb8\xb0\xa9\xae+\xb1\xf7\xd7<=>\xac|\xa6~\xa4\xa2$\xa3\xa5";

/* Latin-1 letters U+00C0-00FF: base letter (0: not a letter), accent */
static const char  jp_coll_base[64] =
    "aaaaaaeceeeeiiiidnooooo\0ouuuuyts"
    "aaaaaaeceeeeiiiidnooooo\0ouuuuyty";

static const unsigned char  jp_coll_accent[32] = {
    JP_COLL_GRAVE, JP_COLL_ACUTE, JP_COLL_CIRCUMFLEX, JP_COLL_TILDE,
    JP_COLL_DIAERESIS, JP_COLL_RING, 0, JP_COLL_CEDILLA,
    JP_COLL_GRAVE, JP_COLL_ACUTE, JP_COLL_CIRCUMFLEX, JP_COLL_DIAERESIS,
    JP_COLL_GRAVE, JP_COLL_ACUTE, JP_COLL_CIRCUMFLEX, JP_COLL_DIAERESIS,
    0, JP_COLL_TILDE, JP_COLL_GRAVE, JP_COLL_ACUTE,
    JP_COLL_CIRCUMFLEX, JP_COLL_TILDE, JP_COLL_DIAERESIS, 0,
    JP_COLL_STROKE, JP_COLL_GRAVE, JP_COLL_ACUTE, JP_COLL_CIRCUMFLEX,
    JP_COLL_DIAERESIS, JP_COLL_ACUTE, 0, JP_COLL_DIAERESIS /* U+00FF */
};

/* U+0300-030F, 0327, 0328 as the accents above */
static const unsigned char  jp_coll_marks[16] = {
    JP_COLL_GRAVE, JP_COLL_ACUTE, JP_COLL_CIRCUMFLEX, JP_COLL_TILDE,
    JP_COLL_MACRON, 0, JP_COLL_BREVE, JP_COLL_DOT,
    JP_COLL_DIAERESIS, 0, JP_COLL_RING, JP_COLL_DACUTE,
    JP_COLL_CARON, 0, 0, 0
};

typedef struct {
    uint32_t    p;              /* primary; 0: ignorable */
    uint16_t    s;              /* secondary; 0 with p 0: ignorable */
    uint8_t     t;              /* tertiary */
} jp_coll_elem_t;

typedef struct {
    const unsigned char  *p;
    const unsigned char  *end;
    jp_coll_elem_t        pend[2];  /* the rest of an expansion */
    unsigned              npend;
} jp_coll_iter_t;


static uint32_t
jp_coll_letter(int c)
{
    /* eth after d, thorn after z: the odd slots between the letters */
    return c == 0xf0 ? JP_COLL_LETTER + ('d' - 'a') * 2 + 1
           : c == 0xfe ? JP_COLL_LETTER + ('z' - 'a') * 2 + 1
           : JP_COLL_LETTER + (uint32_t) (c - 'a') * 2;
}


/* the next collation element, 0 at the end */
static int
jp_coll_next(jp_coll_iter_t *it, jp_coll_elem_t *el)
{
    int          c, k, upper;
    uint32_t     cp;
    size_t       n;
    const char  *q;

    if (it->npend > 0) {
        *el = it->pend[0];
        it->pend[0] = it->pend[1];
        it->npend--;
        return 1;
    }

    if (it->p >= it->end) {
        return 0;
    }

    /* decode UTF-8; an invalid byte stands for itself after Latin-1 */
    c = *it->p;
    n = 1;
    cp = c;

    if (c >= 0xc2 && c <= 0xdf && it->end - it->p >= 2
        && (it->p[1] & 0xc0) == 0x80)
    {
        cp = ((c & 0x1f) << 6) | (it->p[1] & 0x3f);
        n = 2;

    } else if (c >= 0xe0 && c <= 0xef && it->end - it->p >= 3
               && (it->p[1] & 0xc0) == 0x80 && (it->p[2] & 0xc0) == 0x80)
    {
        cp = ((c & 0x0f) << 12) | ((it->p[1] & 0x3f) << 6)
             | (it->p[2] & 0x3f);
        n = 3;

    } else if (c >= 0xf0 && c <= 0xf4 && it->end - it->p >= 4
               && (it->p[1] & 0xc0) == 0x80 && (it->p[2] & 0xc0) == 0x80
               && (it->p[3] & 0xc0) == 0x80)
    {
        cp = ((c & 0x07) << 18) | ((it->p[1] & 0x3f) << 12)
             | ((it->p[2] & 0x3f) << 6) | (it->p[3] & 0x3f);
        n = 4;

    } else if (c >= 0x80) {
        cp = 0x110000 + c;
    }

    it->p += n;

    el->p = 0;
    el->s = JP_COLL_NONE;
    el->t = JP_COLL_LOWER;

    if (cp < 0x80 && ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'))) {
        el->p = jp_coll_letter(cp | 0x20);
        el->t = (cp & 0x20) ? JP_COLL_LOWER : JP_COLL_UPPER;
        return 1;
    }

    if (cp >= '0' && cp <= '9') {
        el->p = 0x80 + (cp - '0');
        return 1;
    }

    if (cp == 0xb9 || cp == 0xb2 || cp == 0xb3) {
        el->p = 0x80 + (cp == 0xb9 ? 1 : cp - 0xb0);
        el->t = JP_COLL_SUPER;
        return 1;
    }

    if (cp == 0xaa || cp == 0xba) {
        el->p = jp_coll_letter(cp == 0xaa ? 'a' : 'o');
        el->t = JP_COLL_SUPER;
        return 1;
    }

    if (cp >= 0xc0 && cp <= 0xff && jp_coll_base[cp - 0xc0] != '\0') {
        upper = cp < 0xe0 && cp != 0xdf;
        k = cp & 0x1f;

        if (cp == 0xc6 || cp == 0xe6 || cp == 0xdf) {
            /* U+00E6 = a e, U+00DF = s s, told from "ae", "ss" by an accent */
            el->p = jp_coll_letter(cp == 0xdf ? 's' : 'a');
            el->t = upper ? JP_COLL_UPPER : JP_COLL_VARIANT;
            it->pend[0].p = 0;
            it->pend[0].s = JP_COLL_EXPANSION;
            it->pend[0].t = JP_COLL_LOWER;
            it->pend[1].p = jp_coll_letter(cp == 0xdf ? 's' : 'e');
            it->pend[1].s = JP_COLL_NONE;
            it->pend[1].t = el->t;
            it->npend = 2;
            return 1;
        }

        el->p = jp_coll_letter(cp == 0xd0 || cp == 0xf0 ? 0xf0
                               : cp == 0xde || cp == 0xfe ? 0xfe
                               : jp_coll_base[cp - 0xc0]);
        el->t = upper ? JP_COLL_UPPER : JP_COLL_LOWER;

        if (jp_coll_accent[k] != 0) {
            it->pend[0].p = 0;
            it->pend[0].s = jp_coll_accent[k];
            it->pend[0].t = JP_COLL_LOWER;
            it->npend = 1;
        }

        return 1;
    }

    if (cp >= 0x300 && cp <= 0x36f) {
        el->s = cp <= 0x30f ? jp_coll_marks[cp - 0x300]
                : cp == 0x327 ? JP_COLL_CEDILLA
                : cp == 0x328 ? JP_COLL_OGONEK
                : cp == 0x338 ? JP_COLL_STROKE : 0;

        if (el->s == 0) {
            el->s = JP_COLL_MARK + (cp - 0x300);
        }

        return 1;
    }

    if (cp == 0xa0) {
        cp = ' ';
        el->t = JP_COLL_VARIANT;
    }

    if (cp < 0x100 && cp != 0 && (q = memchr(jp_coll_punct, (int) cp,
                                             sizeof(jp_coll_punct) - 1)))
    {
        el->p = 1 + (q - jp_coll_punct);
        return 1;
    }

    if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad) {
        /* controls and the soft hyphen are ignored */
        el->s = 0;
        el->t = 0;
        return 1;
    }

    el->p = cp == 0xb5 ? JP_COLL_OTHER + 0x3bc : JP_COLL_OTHER + cp;

    return 1;
}


/* one level: 0 primary, 1 secondary, 2 tertiary */
static int
jp_coll_level(const char *a, size_t alen, const char *b, size_t blen,
    int level)
{
    int             ha, hb;
    uint32_t        wa, wb;
    jp_coll_iter_t  ia, ib;
    jp_coll_elem_t  ea, eb;

    ia.p = (const unsigned char *) a;
    ia.end = ia.p + alen;
    ia.npend = 0;
    ib.p = (const unsigned char *) b;
    ib.end = ib.p + blen;
    ib.npend = 0;

    for ( ;; ) {
        wa = wb = 0;

        while ((ha = jp_coll_next(&ia, &ea)) != 0) {
            wa = level == 0 ? ea.p : level == 1 ? ea.s : ea.t;
            if (level == 1 && ea.p == 0 && ea.s == 0) {
                continue;
            }
            if (level == 1 && wa == 0) {
                wa = 1;         /* a base letter's accent slot */
            }
            if (wa != 0) {
                break;
            }
        }

        while ((hb = jp_coll_next(&ib, &eb)) != 0) {
            wb = level == 0 ? eb.p : level == 1 ? eb.s : eb.t;
            if (level == 1 && eb.p == 0 && eb.s == 0) {
                continue;
            }
            if (level == 1 && wb == 0) {
                wb = 1;
            }
            if (wb != 0) {
                break;
            }
        }

        if (!ha || !hb) {
            return ha - hb;
        }

        if (wa != wb) {
            return wa < wb ? -1 : 1;
        }
    }
}


int
jp_tpl_collate(const char *a, size_t alen, const char *b, size_t blen)
{
    int  c, level;

    for (level = 0; level < 3; level++) {
        c = jp_coll_level(a, alen, b, blen, level);
        if (c != 0) {
            return c;
        }
    }

    return 0;
}


typedef struct {
    json_t          *v;             /* the sortBy value or the element */
    json_t          *item;
    char            *s;             /* String(v), string mode */
    size_t           len;
    double           d;             /* Number(v), number mode */
    unsigned         owned;         /* s is malloc()ed */
} jp_sort_item_t;

typedef struct {
    int              by;            /* sortBy given: null/undefined last */
    int              numeric;
} jp_sort_t;


/* jPulse's comparator */
static int
jp_sort_cmp(const jp_sort_t *s, const jp_sort_item_t *x,
    const jp_sort_item_t *y)
{
    double  d;

    if (s->by) {
        if (x->v == NULL || json_is_null(x->v)) {
            return 1;
        }

        if (y->v == NULL || json_is_null(y->v)) {
            return -1;
        }
    }

    if (s->numeric) {
        d = x->d - y->d;
        return d < 0 ? -1 : d > 0;      /* NaN: "equal" */
    }

    return jp_tpl_collate(x->s, x->len, y->s, y->len);
}


/*
 * V8's TimSort for what pages sort: one natural run (a strictly
 * descending one reversed), then binary insertion; longer arrays merge
 * runs of 32 made the same way. Stable, as Array.prototype.sort, and the
 * same order as V8 for any consistent comparator.
 */
static void
jp_sort_insert(const jp_sort_t *s, jp_sort_item_t *v, size_t lo, size_t hi)
{
    size_t          i, run, l, r, m;
    jp_sort_item_t  t;

    if (hi - lo < 2) {
        return;
    }

    run = lo + 1;

    if (jp_sort_cmp(s, &v[run], &v[lo]) < 0) {
        while (run + 1 < hi && jp_sort_cmp(s, &v[run + 1], &v[run]) < 0) {
            run++;
        }

        for (l = lo, r = run; l < r; l++, r--) {
            t = v[l];
            v[l] = v[r];
            v[r] = t;
        }

    } else {
        while (run + 1 < hi && jp_sort_cmp(s, &v[run + 1], &v[run]) >= 0) {
            run++;
        }
    }

    for (i = run + 1; i < hi; i++) {
        t = v[i];
        l = lo;
        r = i;

        while (l < r) {
            m = l + (r - l) / 2;

            if (jp_sort_cmp(s, &t, &v[m]) < 0) {
                r = m;

            } else {
                l = m + 1;
            }
        }

        memmove(&v[l + 1], &v[l], (i - l) * sizeof(jp_sort_item_t));
        v[l] = t;
    }
}


static int
jp_sort_items(const jp_sort_t *s, jp_sort_item_t *v, size_t n)
{
    size_t           i, k, l, r, w, hi;
    jp_sort_item_t  *tmp;

    if (n <= 64) {
        jp_sort_insert(s, v, 0, n);
        return 0;
    }

    for (i = 0; i < n; i += 32) {
        jp_sort_insert(s, v, i, i + 32 < n ? i + 32 : n);
    }

    tmp = malloc(n * sizeof(jp_sort_item_t));
    if (tmp == NULL) {
        return -1;
    }

    for (w = 32; w < n; w *= 2) {
        for (i = 0; i + w < n; i += 2 * w) {
            hi = i + 2 * w < n ? i + 2 * w : n;

            /* the left run aside, merged back with the right one */
            memcpy(tmp, &v[i], w * sizeof(jp_sort_item_t));

            for (k = i, l = 0, r = i + w; l < w && r < hi; k++) {
                v[k] = jp_sort_cmp(s, &v[r], &tmp[l]) < 0 ? v[r++]
                                                          : tmp[l++];
            }

            while (l < w) {
                v[k++] = tmp[l++];
            }
        }
    }

    free(tmp);

    return 0;
}


/* CommonUtils.getValueByPath: own properties only, empty segments skipped */
static json_t *
jp_sort_path(json_t *j, const char *path)
{
    char         *end;
    size_t        len;
    unsigned long i;
    const char   *p, *dot;
    char          key[256];

    for (p = path; j != NULL && *p != '\0'; p = *dot ? dot + 1 : dot) {
        dot = strchr(p, '.');
        if (dot == NULL) {
            dot = p + strlen(p);
        }

        len = dot - p;

        if (len == 0) {
            continue;
        }

        if (len >= sizeof(key)) {
            return NULL;
        }

        memcpy(key, p, len);
        key[len] = '\0';

        if (json_is_object(j)) {
            j = json_object_get(j, key);

        } else if (json_is_array(j)) {
            if (key[0] < '0' || key[0] > '9' || (key[0] == '0' && len > 1)) {
                return NULL;
            }

            i = strtoul(key, &end, 10);
            j = *end == '\0' ? json_array_get(j, i) : NULL;

        } else {
            return NULL;
        }
    }

    return j;
}


/* array.sort arr [sortBy="a.b"] [sortAs="number"] [reverse=true] */
static int
h_sort(JP_TPL_HELPER_ARGS)
{
    int              rc;
    size_t           i, size;
    json_t          *src, *arr, *by, *as, *rev;
    jp_sort_t        s;
    jp_tpl_buf_t     b;
    jp_sort_item_t  *v;

    src = JP_TPL_ARG(0);
    arr = json_array();

    if (arr == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    size = json_is_array(src) ? json_array_size(src) : 0;

    if (size == 0) {
        return jp_tpl_set(rs, res, arr);
    }

    v = calloc(size, sizeof(jp_sort_item_t));
    if (v == NULL) {
        json_decref(arr);
        return jp_tpl_error(rs, "out of memory");
    }

    by = json_object_get(rs->hash, "sortBy");
    as = json_object_get(rs->hash, "sortAs");
    rev = json_object_get(rs->hash, "reverse");

    s.by = json_is_string(by) && json_string_length(by) > 0;
    s.numeric = -1;

    if (json_is_string(as) && json_string_length(as) > 0) {
        s.numeric = strcmp(json_string_value(as), "number") == 0;
    }

    for (i = 0; i < size; i++) {
        v[i].item = json_array_get(src, i);
        v[i].v = s.by ? jp_sort_path(v[i].item, json_string_value(by))
                      : v[i].item;

        /* without sortAs: numbers if the first (non-null) value is one */
        if (s.numeric == -1 && (!s.by || (v[i].v != NULL
                                          && !json_is_null(v[i].v))))
        {
            s.numeric = json_is_number(v[i].v);
        }
    }

    s.numeric = s.numeric == 1;
    rc = 0;

    for (i = 0; i < size && rc == 0; i++) {
        if (s.numeric) {
            v[i].d = jp_tpl_js_num(v[i].v);
            continue;
        }

        if (json_is_string(v[i].v)) {
            v[i].s = (char *) json_string_value(v[i].v);
            v[i].len = json_string_length(v[i].v);
            continue;
        }

        if (s.by && (v[i].v == NULL || json_is_null(v[i].v))) {
            continue;
        }

        jp_tpl_buf_init(&b, 0);
        if (jp_tpl_buf_add(&b, "", 0) != 0
            || jp_tpl_js_str(&b, v[i].v, 0) != 0)
        {
            jp_tpl_buf_free(&b);
            rc = -1;
            break;
        }

        v[i].s = b.data;
        v[i].len = b.len;
        v[i].owned = 1;
    }

    if (rc == 0) {
        rc = jp_sort_items(&s, v, size);
    }

    if (json_is_true(rev)
        || (json_is_string(rev) && strcmp(json_string_value(rev), "true")
                                   == 0))
    {
        for (i = size; rc == 0 && i-- > 0; ) {
            rc = json_array_append(arr, v[i].item);
        }

    } else {
        for (i = 0; rc == 0 && i < size; i++) {
            rc = json_array_append(arr, v[i].item);
        }
    }

    for (i = 0; i < size; i++) {
        if (v[i].owned) {
            free(v[i].s);
        }
    }

    free(v);

    if (rc != 0) {
        json_decref(arr);
        return jp_tpl_error(rs, "out of memory");
    }

    return jp_tpl_set(rs, res, arr);
}


/*
 * JSON.parse of the first argument; a missing, falsy or non-string one,
 * and invalid JSON, give null, which prints nothing (jPulse only logs).
 */
static int
h_jparse(JP_TPL_HELPER_ARGS)
{
    json_t        *j;
    json_error_t   err;

    if (!json_is_string(JP_TPL_ARG(0)) || json_string_length(a[0].j) == 0) {
        return jp_tpl_set(rs, res, json_null());
    }

    j = json_loadb(json_string_value(a[0].j), json_string_length(a[0].j),
                   JSON_DECODE_ANY, &err);

    return jp_tpl_set(rs, res, j ? j : json_null());
}


const jp_tpl_helper_t  jp_tpl_helpers_data[] = {
    { "math.add",         h_add,       JP_TPL_H_PLAIN,   0 },
    { "math.subtract",    h_subtract,  JP_TPL_H_PLAIN,   0 },
    { "math.multiply",    h_multiply,  JP_TPL_H_PLAIN,   0 },
    { "math.divide",      h_divide,    JP_TPL_H_PLAIN,   0 },
    { "math.mod",         h_mod,       JP_TPL_H_PLAIN,   0 },
    { "math.round",       h_round,     JP_TPL_H_PLAIN,   0 },
    { "math.floor",       h_floor,     JP_TPL_H_PLAIN,   0 },
    { "math.ceil",        h_ceil,      JP_TPL_H_PLAIN,   0 },
    { "math.min",         h_min,       JP_TPL_H_PLAIN,   0 },
    { "math.max",         h_max,       JP_TPL_H_PLAIN,   0 },
    { "array.length",     h_alen,      JP_TPL_H_PLAIN,   0 },
    { "array.join",       h_join,      JP_TPL_H_PLAIN,   0 },
    { "array.first",      h_first,     JP_TPL_H_PLAIN,   0 },
    { "array.last",       h_last,      JP_TPL_H_PLAIN,   0 },
    { "array.at",         h_at,        JP_TPL_H_PLAIN,   0 },
    { "array.includes",   h_includes,  JP_TPL_H_PLAIN,   0 },
    { "array.isEmpty",    h_isempty,   JP_TPL_H_PLAIN,   0 },
    { "array.concat",     h_aconcat,   JP_TPL_H_PLAIN,   0 },
    { "array.reverse",    h_reverse,   JP_TPL_H_PLAIN,   0 },
    { "array.sort",       h_sort,      JP_TPL_H_PLAIN,   0 },
    { "json.parse",       h_jparse,    JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
