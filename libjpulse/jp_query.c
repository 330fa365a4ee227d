/*
 * Query strings (see jp_query.h): what Express 4 gives as req.query, that
 * is the "qs" module's parse with allowPrototypes, depth 5, arrayLimit 20.
 * Its rules, restated: pairs are split at '&' (at most max parts, empty
 * ones counted), a pair at its first "]=", else at its first '='; names
 * and values are decoded as a whole (a malformed escape keeps the text as
 * it was); equal names gather their values in an array; a name then
 * becomes a chain "a[b][]" of at most 5 bracket groups, each "[]" an
 * array, "[n]" (n <= 20) an array index, anything else an object key;
 * the chains are merged one by one into the result. Every structure is
 * at most 7 levels deep, so the recursion below is bounded.
 */

#include <stdlib.h>
#include <string.h>

#include "jp_json.h"
#include "jp_query.h"


#define JP_QUERY_DEPTH        5
#define JP_QUERY_ARRAY_LIMIT  20


static int jp_query_hex(int c);
static size_t jp_query_decode(const char *p, const char *end, char *out);
static json_t *jp_query_chain(const char *key, size_t len, json_t *leaf);
static json_t *jp_query_merge(json_t *target, json_t *source);
static json_t *jp_query_finish(json_t *v);
static int jp_query_index(const char *p, size_t len, unsigned long *n);


static int
jp_query_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/*
 * Decodes p..end into out (at least end - p bytes) as qs does: '+' is a
 * space, then decodeURIComponent over the whole text; when that fails (a
 * '%' without two hex digits, escapes that are not UTF-8), the text with
 * only its '+' replaced. Returns the length.
 */

static size_t
jp_query_decode(const char *p, const char *end, char *out)
{
    int                   hi, lo;
    char                 *d;
    size_t                n;
    const char           *s;
    const unsigned char  *u, *ue;

    d = out;

    for (s = p; s < end; s++) {
        if (*s == '+') {
            *d++ = ' ';
            continue;
        }

        if (*s == '%') {
            if (end - s < 3
                || (hi = jp_query_hex((unsigned char) s[1])) < 0
                || (lo = jp_query_hex((unsigned char) s[2])) < 0)
            {
                goto raw;
            }

            *d++ = (char) (hi << 4 | lo);
            s += 2;
            continue;
        }

        *d++ = *s;
    }

    /* decodeURIComponent refuses escapes that do not make UTF-8 */
    u = (const unsigned char *) out;
    ue = (const unsigned char *) d;

    while (u < ue) {
        n = jp_utf8_sequence_len(u, ue);
        if (n == 0) {
            break;
        }

        u += n;
    }

    if (u == ue) {
        return d - out;
    }

    /* only the escapes are at fault when the raw bytes are UTF-8 */

raw:

    d = out;

    for (s = p; s < end; s++) {
        *d++ = (*s == '+') ? ' ' : *s;
    }

    return d - out;
}


/* a canonical array index: "0", or a digit 1-9 then digits, < 2^32 - 1 */

static int
jp_query_index(const char *p, size_t len, unsigned long *n)
{
    size_t  i;

    if (len == 0 || len > 10 || (p[0] == '0' && len > 1)) {
        return 0;
    }

    *n = 0;

    for (i = 0; i < len; i++) {
        if (p[i] < '0' || p[i] > '9') {
            return 0;
        }

        *n = *n * 10 + (p[i] - '0');
    }

    return *n <= 4294967294UL;
}


/* the first "[...]" (no bracket inside) at or after p, or NULL */

static const char *
jp_query_group(const char *p, const char *end, const char **close)
{
    const char  *q;

    for ( ; p < end; p++) {
        if (*p != '[') {
            continue;
        }

        for (q = p + 1; q < end && *q != '[' && *q != ']'; q++) {
            /* void */
        }

        if (q < end && *q == ']') {
            *close = q;
            return p;
        }

        p = q - 1;
    }

    return NULL;
}


/*
 * The object (or array) a name makes around leaf (consumed): "a[b][]"
 * gives {"a":{"b":[leaf]}}. NULL on no memory; an empty object when the
 * name makes nothing ("__proto__", a NUL in a key).
 */

#define JP_QUERY_PLAIN  0
#define JP_QUERY_GROUP  1
#define JP_QUERY_REST   2

static json_t *
jp_query_chain(const char *key, size_t len, json_t *leaf)
{
    int             n, i, kind[JP_QUERY_DEPTH + 2];
    json_t         *obj;
    size_t          klen, slen[JP_QUERY_DEPTH + 2];
    const char     *end, *g, *close, *k, *seg[JP_QUERY_DEPTH + 2];
    unsigned long   index;

    /* the name before its first group, the groups, then the rest */
    end = key + len;
    n = 0;

    g = jp_query_group(key, end, &close);

    if (g != key) {
        kind[n] = JP_QUERY_PLAIN;
        seg[n] = key;
        slen[n++] = (g ? g : end) - key;
    }

    for (i = 0; g != NULL && i < JP_QUERY_DEPTH; i++) {
        kind[n] = JP_QUERY_GROUP;
        seg[n] = g + 1;
        slen[n++] = close - g - 1;
        g = jp_query_group(close + 1, end, &close);
    }

    if (g != NULL) {
        /* deeper than 5: the rest, brackets and all, is one key */
        kind[n] = JP_QUERY_REST;
        seg[n] = g;
        slen[n++] = end - g;
    }

    for (i = n - 1; i >= 0; i--) {
        k = seg[i];
        klen = slen[i];

        if (kind[i] == JP_QUERY_GROUP && klen == 0) {
            /* "[]": the values so far, in an array */
            obj = json_array();

            if (obj == NULL
                || (json_is_array(leaf) ? json_array_extend(obj, leaf)
                                        : json_array_append(obj, leaf))
                   != 0)
            {
                json_decref(obj);
                json_decref(leaf);
                return NULL;
            }

            json_decref(leaf);
            leaf = obj;
            continue;
        }

        if (kind[i] == JP_QUERY_GROUP && jp_query_index(k, klen, &index)
            && index <= JP_QUERY_ARRAY_LIMIT)
        {
            /* a sparse array: its holes are nulls, gone at the end */
            obj = json_array();

            while (obj != NULL && index--) {
                if (json_array_append(obj, json_null()) != 0) {
                    json_decref(obj);
                    obj = NULL;
                }
            }

            if (obj == NULL || json_array_append_new(obj, leaf) != 0) {
                json_decref(obj);
                json_decref(leaf);
                return NULL;
            }

            leaf = obj;
            continue;
        }

        obj = json_object();
        if (obj == NULL) {
            json_decref(leaf);
            return NULL;
        }

        /* qs never writes "__proto__"; jansson keys hold no NUL */
        if ((klen == 9 && memcmp(k, "__proto__", 9) == 0)
            || memchr(k, '\0', klen) != NULL)
        {
            json_decref(leaf);

        } else if (json_object_setn_new(obj, k, klen, leaf) != 0) {
            json_decref(obj);
            return NULL;
        }

        leaf = obj;
    }

    return leaf;
}


static int
jp_query_object(json_t *v)
{
    return json_is_object(v) || json_is_array(v);
}


/*
 * qs's merge: source into target, both consumed; returns the result
 * (target itself, changed, or a new array), NULL on no memory.
 */

static json_t *
jp_query_merge(json_t *target, json_t *source)
{
    char         num[24];
    size_t       i, n;
    json_t      *arr, *obj, *item, *t, *m;
    const char  *k;

    if (json_is_string(source) && json_string_length(source) == 0) {
        /* a falsy source changes nothing */
        json_decref(source);
        return target;
    }

    if (!jp_query_object(source)) {
        if (json_is_array(target)) {
            if (json_array_append_new(target, source) != 0) {
                json_decref(target);
                return NULL;
            }

            return target;
        }

        if (json_is_object(target)) {
            /* {"b":"1"} merged with "x" gains "x": true */
            if (json_is_string(source)
                && memchr(json_string_value(source), '\0',
                          json_string_length(source)) == NULL
                && json_object_setn_new(target, json_string_value(source),
                                        json_string_length(source),
                                        json_true()) != 0)
            {
                json_decref(source);
                json_decref(target);
                return NULL;
            }

            json_decref(source);
            return target;
        }

        arr = json_array();
        if (arr == NULL || json_array_append_new(arr, target) != 0
            || json_array_append_new(arr, source) != 0)
        {
            json_decref(arr);
            return NULL;
        }

        return arr;
    }

    if (!jp_query_object(target)) {
        /* ["x", ...source] ("" is falsy too, but is kept: [].concat) */
        arr = json_array();

        if (arr == NULL || json_array_append_new(arr, target) != 0
            || (json_is_array(source) ? json_array_extend(arr, source)
                                      : json_array_append(arr, source))
               != 0)
        {
            json_decref(arr);
            json_decref(source);
            return NULL;
        }

        json_decref(source);
        return arr;
    }

    if (json_is_array(target) && json_is_array(source)) {
        n = json_array_size(source);

        for (i = 0; i < n; i++) {
            item = json_array_get(source, i);

            if (json_is_null(item)) {
                /* a hole of source: nothing there */
                continue;
            }

            t = json_array_get(target, i);

            if (t != NULL && !json_is_null(t)) {
                if (jp_query_object(t) && jp_query_object(item)) {
                    m = jp_query_merge(json_incref(t), json_incref(item));

                    if (m == NULL || json_array_set_new(target, i, m) != 0) {
                        goto failed;
                    }

                } else if (json_array_append(target, item) != 0) {
                    goto failed;
                }

                continue;
            }

            while (json_array_size(target) < i) {
                if (json_array_append(target, json_null()) != 0) {
                    goto failed;
                }
            }

            if ((t == NULL ? json_array_append(target, item)
                           : json_array_set(target, i, item)) != 0)
            {
                goto failed;
            }
        }

        json_decref(source);
        return target;
    }

    if (json_is_array(target)) {
        /* an array merged with an object becomes {"0": ..., "1": ...} */
        obj = json_object();
        if (obj == NULL) {
            goto failed;
        }

        n = json_array_size(target);

        for (i = 0; i < n; i++) {
            item = json_array_get(target, i);

            if (json_is_null(item)) {
                continue;
            }

            snprintf(num, sizeof(num), "%zu", i);

            if (json_object_set(obj, num, item) != 0) {
                json_decref(obj);
                goto failed;
            }
        }

        json_decref(target);
        target = obj;
    }

    if (json_is_array(source)) {
        n = json_array_size(source);

        for (i = 0; i < n; i++) {
            item = json_array_get(source, i);

            if (json_is_null(item)) {
                continue;
            }

            snprintf(num, sizeof(num), "%zu", i);

            t = json_object_get(target, num);
            m = t ? jp_query_merge(json_incref(t), json_incref(item))
                  : json_incref(item);

            if (m == NULL || json_object_set_new(target, num, m) != 0) {
                goto failed;
            }
        }

        json_decref(source);
        return target;
    }

    json_object_foreach(source, k, item) {
        t = json_object_get(target, k);
        m = t ? jp_query_merge(json_incref(t), json_incref(item))
              : json_incref(item);

        if (m == NULL || json_object_set_new(target, k, m) != 0) {
            goto failed;
        }
    }

    json_decref(source);
    return target;

failed:

    json_decref(source);
    json_decref(target);
    return NULL;
}


/*
 * The result as JavaScript shows it: the holes of sparse arrays removed
 * and, in every object, the keys that are array indexes first, in
 * ascending order, then the others in the order they came.
 */

typedef struct {
    unsigned long   index;
    const char     *key;
    json_t         *value;
} jp_query_key_t;


static int
jp_query_cmp(const void *a, const void *b)
{
    const jp_query_key_t  *x = a, *y = b;

    return (x->index > y->index) - (x->index < y->index);
}


static json_t *
jp_query_finish(json_t *v)
{
    size_t           i, n;
    json_t          *out, *item, *f;
    const char      *k;
    unsigned long    a;
    jp_query_key_t  *keys;

    if (json_is_array(v)) {
        out = json_array();
        if (out == NULL) {
            return NULL;
        }

        json_array_foreach(v, i, item) {
            if (json_is_null(item)) {
                continue;
            }

            f = jp_query_finish(item);
            if (f == NULL || json_array_append_new(out, f) != 0) {
                json_decref(out);
                return NULL;
            }
        }

        return out;
    }

    if (!json_is_object(v)) {
        return json_incref(v);
    }

    out = json_object();
    keys = malloc((json_object_size(v) + 1) * sizeof(jp_query_key_t));

    if (out == NULL || keys == NULL) {
        json_decref(out);
        free(keys);
        return NULL;
    }

    n = 0;

    json_object_foreach(v, k, item) {
        if (jp_query_index(k, strlen(k), &a)) {
            keys[n].index = a;
            keys[n].key = k;
            keys[n++].value = item;
        }
    }

    qsort(keys, n, sizeof(jp_query_key_t), jp_query_cmp);

    json_object_foreach(v, k, item) {
        if (!jp_query_index(k, strlen(k), &a)) {
            keys[n].key = k;
            keys[n++].value = item;
        }
    }

    for (i = 0; i < n; i++) {
        f = jp_query_finish(keys[i].value);

        if (f == NULL || json_object_set_new(out, keys[i].key, f) != 0) {
            free(keys);
            json_decref(out);
            return NULL;
        }
    }

    free(keys);

    return out;
}


json_t *
jp_json_string_lossy(const char *p, size_t len)
{
    char                 *buf, *d;
    size_t                n;
    json_t               *j;
    const unsigned char  *s, *end;

    if (len == 0) {
        return json_string("");     /* p may be NULL */
    }

    s = (const unsigned char *) p;
    end = s + len;

    while (s < end && (n = jp_utf8_sequence_len(s, end)) != 0) {
        s += n;
    }

    if (s == end) {
        return json_stringn(p, len);
    }

    buf = malloc(len * 3 + 1);
    if (buf == NULL) {
        return NULL;
    }

    d = buf;

    for (s = (const unsigned char *) p; s < end; s += n ? n : 1) {
        n = jp_utf8_sequence_len(s, end);

        if (n == 0) {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            continue;
        }

        memcpy(d, s, n);
        d += n;
    }

    j = json_stringn(buf, d - buf);
    free(buf);

    return j;
}


/* the pairs by name, equal names' values gathered in an array */

static json_t *
jp_query_pairs(const char *args, size_t len, size_t max, char *buf)
{
    size_t       nlen, vlen, parts;
    json_t      *pairs, *name, *v, *old, *arr;
    const char  *p, *end, *amp, *eq;

    pairs = json_object();
    if (pairs == NULL) {
        return NULL;
    }

    end = args + len;
    parts = 0;

    for (p = args; p <= end && parts < max; p = amp + 1) {
        parts++;

        amp = memchr(p, '&', end - p);
        if (amp == NULL) {
            amp = end;
        }

        /* "a[b=c]=d" is "a[b=c]" and "d": the first "]=", else '=' */
        for (eq = p; eq + 1 < amp; eq++) {
            if (eq[0] == ']' && eq[1] == '=') {
                break;
            }
        }

        eq = (eq + 1 < amp) ? eq + 1 : memchr(p, '=', amp - p);
        if (eq == NULL) {
            eq = amp;
        }

        nlen = jp_query_decode(p, eq, buf);

        if (nlen == 0 || memchr(buf, '\0', nlen) != NULL) {
            continue;
        }

        /* names as JSON keys: UTF-8, U+FFFD where the bytes are not */
        name = jp_json_string_lossy(buf, nlen);

        vlen = eq < amp ? jp_query_decode(eq + 1, amp, buf) : 0;
        v = jp_json_string_lossy(buf, vlen);

        if (name == NULL || v == NULL) {
            json_decref(name);
            json_decref(v);
            break;
        }

        old = json_object_getn(pairs, json_string_value(name),
                               json_string_length(name));

        if (old == NULL) {
            if (json_object_setn_new(pairs, json_string_value(name),
                                     json_string_length(name), v) != 0)
            {
                json_decref(name);
                break;
            }

        } else if (json_is_array(old)) {
            if (json_array_append_new(old, v) != 0) {
                json_decref(name);
                break;
            }

        } else {
            arr = json_array();

            if (arr == NULL || json_array_append(arr, old) != 0
                || json_array_append_new(arr, v) != 0
                || json_object_setn_new(pairs, json_string_value(name),
                                        json_string_length(name), arr)
                   != 0)
            {
                json_decref(arr);
                json_decref(name);
                break;
            }
        }

        json_decref(name);

        if (amp == end) {
            break;
        }
    }

    return pairs;
}


json_t *
jp_query_parse(const char *args, size_t len, size_t max)
{
    char           *buf;
    size_t          i, n;
    json_t         *pairs, *param, *obj, *v, *out;
    const char     *k;
    unsigned long   a;
    jp_query_key_t *keys;

    if (len == 0) {
        return json_object();
    }

    buf = malloc(len + 1);
    if (buf == NULL) {
        return NULL;
    }

    pairs = jp_query_pairs(args, len, max, buf);
    free(buf);

    if (pairs == NULL) {
        return NULL;
    }

    /* as JavaScript walks them: index-like names first */
    keys = malloc((json_object_size(pairs) + 1) * sizeof(jp_query_key_t));
    param = json_object();

    if (keys == NULL || param == NULL) {
        goto failed;
    }

    n = 0;

    json_object_foreach(pairs, k, v) {
        if (jp_query_index(k, strlen(k), &a)) {
            keys[n].index = a;
            keys[n].key = k;
            keys[n++].value = v;
        }
    }

    qsort(keys, n, sizeof(jp_query_key_t), jp_query_cmp);

    json_object_foreach(pairs, k, v) {
        if (!jp_query_index(k, strlen(k), &a)) {
            keys[n].key = k;
            keys[n++].value = v;
        }
    }

    for (i = 0; i < n; i++) {
        obj = jp_query_chain(keys[i].key, strlen(keys[i].key),
                             json_incref(keys[i].value));
        if (obj == NULL) {
            goto failed;
        }

        param = jp_query_merge(param, obj);
        if (param == NULL) {
            goto failed;
        }
    }

    out = jp_query_finish(param);

    free(keys);
    json_decref(param);
    json_decref(pairs);

    return out;

failed:

    free(keys);
    json_decref(param);
    json_decref(pairs);

    return NULL;
}
