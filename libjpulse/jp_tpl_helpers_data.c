/*
 * math.*, array.* and json.parse (see jp_tpl_helpers.c). Numbers follow
 * JavaScript: arguments go through Number(), integral results print
 * without a fraction, and NaN or infinite results become null.
 */

#define _GNU_SOURCE     /* qsort_r, memmem */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/* math.*: arguments go through JavaScript's Number() */

static int
jp_tpl_num(jp_tpl_rs_t *rs, jp_tpl_val_t *res, double d)
{
    return jp_tpl_set(rs, res, jp_tpl_number_new(d));
}


static int
h_add(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    for (d = 0, i = 0; i < n; i++) {
        d += jp_tpl_number(a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_subtract(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    d = jp_tpl_number(JP_TPL_ARG(0));

    for (i = 1; i < n; i++) {
        d -= jp_tpl_number(a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_multiply(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d;

    for (d = n ? 1 : 0, i = 0; i < n; i++) {
        d *= jp_tpl_number(a[i].j);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_divide(JP_TPL_HELPER_ARGS)
{
    size_t  i;
    double  d, x;

    d = jp_tpl_number(JP_TPL_ARG(0));

    for (i = 1; i < n; i++) {
        x = jp_tpl_number(a[i].j);
        if (x == 0) {
            return jp_tpl_error(rs, "division by zero");
        }
        d /= x;
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_mod(JP_TPL_HELPER_ARGS)
{
    double  x, y;

    x = jp_tpl_number(JP_TPL_ARG(0));
    y = jp_tpl_number(JP_TPL_ARG(1));

    if (y == 0) {
        return jp_tpl_error(rs, "division by zero");
    }

    return jp_tpl_num(rs, res, jp_tpl_fmod(x, y));
}


static int
h_round(JP_TPL_HELPER_ARGS)
{
    double  d, p, m;

    d = jp_tpl_number(JP_TPL_ARG(0));
    p = n > 1 ? jp_tpl_number(a[1].j) : 0;

    if (isnan(p) || p < 0 || p > 15) {
        p = 0;
    }

    for (m = 1; p >= 1; p--) {
        m *= 10;
    }

    return jp_tpl_num(rs, res, jp_tpl_floor(d * m + 0.5) / m);
}


static int
h_floor(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_num(rs, res, jp_tpl_floor(jp_tpl_number(JP_TPL_ARG(0))));
}


static int
h_ceil(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_num(rs, res, jp_tpl_ceil(jp_tpl_number(JP_TPL_ARG(0))));
}


static int
jp_tpl_minmax(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, jp_tpl_val_t *res,
    int max)
{
    size_t   i, count;
    double   d, x;
    json_t  *arr;

    /* math.max 1 2 3, or math.max someArray */
    arr = (n == 1 && json_is_array(a[0].j)) ? a[0].j : NULL;
    count = arr ? json_array_size(arr) : n;

    if (count == 0) {
        return jp_tpl_set(rs, res, json_null());
    }

    d = max ? -INFINITY : INFINITY;

    for (i = 0; i < count; i++) {
        x = jp_tpl_number(arr ? json_array_get(arr, i) : a[i].j);

        if (isnan(x)) {
            return jp_tpl_set(rs, res, json_null());
        }

        d = max ? (x > d ? x : d) : (x < d ? x : d);
    }

    return jp_tpl_num(rs, res, d);
}


static int
h_min(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_minmax(rs, a, n, res, 0);
}


static int
h_max(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_minmax(rs, a, n, res, 1);
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


static int
h_join(JP_TPL_HELPER_ARGS)
{
    size_t        i;
    json_t       *arr;
    jp_tpl_buf_t  b;
    jp_tpl_str_t  s, sep;

    arr = JP_TPL_ARG(0);

    if (!json_is_array(arr)) {
        return jp_tpl_set(rs, res, json_string(""));
    }

    if (n > 1) {
        if (jp_tpl_str(rs, a[1].j, &sep) != 0) {
            return -1;
        }

    } else {
        sep.p = ",";
        sep.len = 1;
        sep.tmp = NULL;
    }

    jp_tpl_buf_init(&b, 0);
    jp_tpl_buf_add(&b, "", 0);

    for (i = 0; i < json_array_size(arr); i++) {
        if (jp_tpl_str(rs, json_array_get(arr, i), &s) != 0) {
            free(sep.tmp);
            jp_tpl_buf_free(&b);
            return -1;
        }

        if (i > 0) {
            jp_tpl_buf_add(&b, sep.p, sep.len);
        }

        jp_tpl_buf_add(&b, s.p, s.len);
        free(s.tmp);
    }

    free(sep.tmp);

    return jp_tpl_set_buf(rs, res, &b);
}


static int
jp_tpl_at(jp_tpl_rs_t *rs, json_t *arr, double i, jp_tpl_val_t *res)
{
    size_t  size;
    json_t *j;

    if (!json_is_array(arr) || isnan(i)) {
        return jp_tpl_set(rs, res, json_null());
    }

    size = json_array_size(arr);
    i = jp_tpl_floor(i);

    if (i < 0) {
        i += size;
    }

    j = (i >= 0 && i < size) ? json_array_get(arr, (size_t) i) : NULL;

    return jp_tpl_set(rs, res, json_incref(j ? j : json_null()));
}


static int
h_first(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_at(rs, JP_TPL_ARG(0), 0, res);
}


static int
h_last(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_at(rs, JP_TPL_ARG(0), -1, res);
}


static int
h_at(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_at(rs, JP_TPL_ARG(0), jp_tpl_number(JP_TPL_ARG(1)), res);
}


/* SameValueZero */
static int
jp_tpl_same(json_t *x, json_t *y)
{
    if (json_is_number(x) && json_is_number(y)) {
        return json_number_value(x) == json_number_value(y);
    }

    return x == y || (json_typeof(x) == json_typeof(y)
                      && (json_is_string(x) || json_is_boolean(x)
                          || json_is_null(x))
                      && json_equal(x, y));
}


static int
h_includes(JP_TPL_HELPER_ARGS)
{
    size_t   i;
    json_t  *arr, *v;

    arr = JP_TPL_ARG(0);
    v = JP_TPL_ARG(1) ? JP_TPL_ARG(1) : json_null();

    if (json_is_string(arr) && json_is_string(v)) {
        return jp_tpl_set(rs, res, json_boolean(
            json_string_length(v) == 0
            || memmem(json_string_value(arr), json_string_length(arr),
                      json_string_value(v), json_string_length(v)) != NULL));
    }

    for (i = 0; json_is_array(arr) && i < json_array_size(arr); i++) {
        if (jp_tpl_same(json_array_get(arr, i), v)) {
            return jp_tpl_set(rs, res, json_true());
        }
    }

    return jp_tpl_set(rs, res, json_false());
}


static int
h_isempty(JP_TPL_HELPER_ARGS)
{
    json_t  *j;
    int      r;

    j = JP_TPL_ARG(0);

    r = j == NULL || json_is_null(j)
        || (json_is_array(j) && json_array_size(j) == 0)
        || (json_is_object(j) && json_object_size(j) == 0)
        || (json_is_string(j) && json_string_length(j) == 0);

    return jp_tpl_set(rs, res, json_boolean(r));
}


static int
h_aconcat(JP_TPL_HELPER_ARGS)
{
    size_t   i;
    json_t  *arr;
    int      rc;

    arr = json_array();
    if (arr == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0, rc = 0; i < n && rc == 0; i++) {
        if (json_is_array(a[i].j)) {
            rc = json_array_extend(arr, a[i].j);

        } else if (a[i].j != NULL) {
            rc = json_array_append(arr, a[i].j);
        }
    }

    if (rc != 0) {
        json_decref(arr);
        return jp_tpl_error(rs, "out of memory");
    }

    return jp_tpl_set(rs, res, arr);
}


static int
h_reverse(JP_TPL_HELPER_ARGS)
{
    size_t   i, size;
    json_t  *arr;

    if (!json_is_array(JP_TPL_ARG(0))) {
        return jp_tpl_set(rs, res, json_incref(JP_TPL_ARG(0) ? JP_TPL_ARG(0)
                                                      : json_null()));
    }

    arr = json_array();
    size = json_array_size(a[0].j);

    for (i = size; arr != NULL && i-- > 0; /* void */) {
        if (json_array_append(arr, json_array_get(a[0].j, i)) != 0) {
            json_decref(arr);
            arr = NULL;
        }
    }

    return jp_tpl_set(rs, res, arr);
}


typedef struct {
    const char  *key;
    int          desc;
} jp_tpl_sort_t;


static int
jp_tpl_sort_cmp(const void *x, const void *y, void *arg)
{
    int             c;
    json_t         *a, *b;
    jp_tpl_sort_t  *s;

    s = arg;
    a = *(json_t **) x;
    b = *(json_t **) y;

    if (s->key != NULL) {
        a = json_object_get(a, s->key);
        b = json_object_get(b, s->key);
    }

    if (jp_tpl_compare(a, b, &c) != 0) {
        c = (a == NULL || json_is_null(a)) - (b == NULL || json_is_null(b));
    }

    return s->desc ? -c : c;
}


/* array.sort arr [sortBy="field"] [reverse=true] */
static int
h_sort(JP_TPL_HELPER_ARGS)
{
    size_t          i, size;
    json_t         *arr, **items, *key;
    jp_tpl_sort_t   s;

    if (!json_is_array(JP_TPL_ARG(0))) {
        return jp_tpl_set(rs, res, json_incref(JP_TPL_ARG(0) ? JP_TPL_ARG(0)
                                                      : json_null()));
    }

    size = json_array_size(a[0].j);
    items = malloc((size + 1) * sizeof(json_t *));
    arr = json_array();

    if (items == NULL || arr == NULL) {
        free(items);
        json_decref(arr);
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0; i < size; i++) {
        items[i] = json_array_get(a[0].j, i);
    }

    key = json_object_get(rs->hash, "sortBy");
    s.key = json_is_string(key) ? json_string_value(key) : NULL;
    s.desc = jp_tpl_truthy(json_object_get(rs->hash, "reverse"));

    qsort_r(items, size, sizeof(json_t *), jp_tpl_sort_cmp, &s);

    for (i = 0; i < size; i++) {
        if (json_array_append(arr, items[i]) != 0) {
            free(items);
            json_decref(arr);
            return jp_tpl_error(rs, "out of memory");
        }
    }

    free(items);

    return jp_tpl_set(rs, res, arr);
}

static int
h_jparse(JP_TPL_HELPER_ARGS)
{
    json_t        *j;
    json_error_t   err;

    if (!json_is_string(JP_TPL_ARG(0))) {
        return jp_tpl_set(rs, res, json_incref(JP_TPL_ARG(0) ? JP_TPL_ARG(0)
                                                      : json_null()));
    }

    j = json_loadb(json_string_value(a[0].j), json_string_length(a[0].j),
                   JSON_DECODE_ANY, &err);
    if (j == NULL) {
        return jp_tpl_error(rs, "json.parse: %s", err.text);
    }

    res->j = j;

    return 0;
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
