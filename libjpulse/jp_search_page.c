/*
 * A page as jPulse answers it: the rows in the page's order, as the Node
 * driver's documents reach res.json() (hidden fields removed), and the
 * next and prev cursors; the Extended JSON helpers the search shares.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_search_int.h"
#include "jp_tz.h"


static json_t *jp_search_cursor_of(const jp_search_request_t *req,
    json_t *doc, long long total, int d);
static json_t *jp_search_public_value(json_t *v);


/* ---------------------------------------------------- extended JSON */


int
jp_search_ejson_scalar(json_t *v)
{
    /* any value but an array: sort values, signed by us */
    return v != NULL && !json_is_array(v);
}


json_t *
jp_search_path_get(json_t *doc, const char *path)
{
    size_t       n;
    json_t      *cur;
    const char  *dot;
    char         seg[JP_SEARCH_NAME_MAX + 1];

    cur = doc;

    while (cur != NULL) {
        if (!json_is_object(cur)) {
            return NULL;
        }

        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);

        if (n > JP_SEARCH_NAME_MAX) {
            return NULL;
        }

        memcpy(seg, path, n);
        seg[n] = '\0';

        cur = json_object_get(cur, seg);

        if (dot == NULL) {
            return cur;
        }

        path = dot + 1;
    }

    return NULL;
}


/* v >= 0 in at least width digits, zero-padded, as printf's %0*lld */
static char *
jp_search_digits(char *p, long long v, int width)
{
    int   n;
    char  tmp[24];

    n = 0;

    do {
        tmp[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v != 0);

    while (n < width) {
        tmp[n++] = '0';
    }

    while (n > 0) {
        *p++ = tmp[--n];
    }

    return p;
}


/* Date.prototype.toISOString: 2026-11-26T00:38:57.123Z, +275760-... */

static json_t *
jp_search_iso(const char *ms_text)
{
    char       buf[64], *end, *p;
    int64_t    y;
    unsigned   m, d;
    long long  ms, days, rem;

    ms = strtoll(ms_text, &end, 10);
    if (*end != '\0' || end == ms_text || ms > 8640000000000000LL
        || ms < -8640000000000000LL)
    {
        return json_null();
    }

    days = ms / 86400000;
    rem = ms % 86400000;

    if (rem < 0) {
        rem += 86400000;
        days--;
    }

    jp_tz_civil(days, &y, &m, &d);

    /* "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", or the year as
     * "%c%06lld", written digit by digit (a page formats three dates
     * a user) */
    p = buf;

    if (y >= 0 && y <= 9999) {
        p = jp_search_digits(p, y, 4);
    } else {
        *p++ = y < 0 ? '-' : '+';
        p = jp_search_digits(p, y < 0 ? -y : y, 6);
    }

    *p++ = '-';
    p = jp_search_digits(p, m, 2);
    *p++ = '-';
    p = jp_search_digits(p, d, 2);
    *p++ = 'T';
    p = jp_search_digits(p, rem / 3600000, 2);
    *p++ = ':';
    p = jp_search_digits(p, rem / 60000 % 60, 2);
    *p++ = ':';
    p = jp_search_digits(p, rem / 1000 % 60, 2);
    *p++ = '.';
    p = jp_search_digits(p, rem % 1000, 3);
    *p++ = 'Z';
    *p = '\0';

    return json_string(buf);
}


/*
 * A canonical Extended JSON value as the Node driver's documents reach
 * res.json(): ObjectId the hex string, Date its ISO string, numbers
 * numbers (NaN and infinities null), a symbol its string, a regex {}
 * (RegExp has no JSON), undefined dropped (NULL); Decimal128,
 * timestamps, binaries, keys and code as js-bson's toJSON writes them,
 * that is mostly as they came.
 */

static json_t *
jp_search_public_value(json_t *v)
{
    void        *it;
    size_t       i, klen;
    double       d;
    json_t      *out, *x, *w;
    const char  *key, *s;

    if (json_is_array(v)) {
        out = json_array();
        if (out == NULL) {
            return NULL;
        }

        json_array_foreach(v, i, x) {
            w = jp_search_public_value(x);
            /* undefined in an array is null in JSON */
            if (json_array_append_new(out, w ? w : json_null()) != 0) {
                json_decref(out);
                return NULL;
            }
        }

        return out;
    }

    if (!json_is_object(v)) {
        return json_incref(v);
    }

    /* one key: read it once rather than look up each wrapper's name */
    if (json_object_size(v) == 1) {
        it = json_object_iter(v);
        key = json_object_iter_key(it);
        klen = json_object_iter_key_len(it);
        x = json_object_iter_value(it);

        if (key[0] != '$' || klen != strlen(key)) {
            goto object;
        }

        if (strcmp(key, "$oid") == 0) {
            if (json_is_string(x)) {
                return json_incref(x);
            }

        } else if (strcmp(key, "$date") == 0) {
            w = json_object_get(x, "$numberLong");
            if (json_is_string(w)) {
                return jp_search_iso(json_string_value(w));
            }

            if (json_is_integer(x)) {
                char  buf[24];

                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                         json_integer_value(x));
                return jp_search_iso(buf);
            }

            return json_incref(x);

        } else if (strcmp(key, "$numberInt") == 0
                   || strcmp(key, "$numberLong") == 0)
        {
            if (json_is_string(x)) {
                return json_integer(strtoll(json_string_value(x), NULL, 10));
            }

        } else if (strcmp(key, "$numberDouble") == 0) {
            if (json_is_string(x)) {
                s = json_string_value(x);
                d = strtod(s, NULL);

                if (strcmp(s, "NaN") == 0 || strcmp(s, "Infinity") == 0
                    || strcmp(s, "-Infinity") == 0)
                {
                    return json_null();
                }

                return json_real(d);
            }

        } else if (strcmp(key, "$symbol") == 0) {
            if (json_is_string(x)) {
                return json_incref(x);
            }

        } else if (strcmp(key, "$regularExpression") == 0) {
            return json_object();

        } else if (strcmp(key, "$undefined") == 0) {
            return NULL;
        }
    }

object:

    out = json_object();
    if (out == NULL) {
        return NULL;
    }

    json_object_foreach(v, key, x) {
        w = jp_search_public_value(x);
        if (w == NULL) {
            continue;
        }

        /* the key is one of v's: jansson checked it already */
        if (json_object_set_new_nocheck(out, key, w) != 0) {
            json_decref(out);
            return NULL;
        }
    }

    return out;
}


/*
 * The document without its hidden paths, as if they were deleted from a
 * deep copy (what jPulse's res.json() of a projected document shows),
 * but only the objects on a hidden path that is there are copied, and
 * shallowly: the rest of the tree is the caller's, shared, never
 * changed. A copy is told from the original by its pointer: where the
 * working tree and the caller's hold the same child, it is not ours yet.
 * A path goes through objects only, never into an array: with "a.b"
 * hidden, {"a": [{"b": 1}]} keeps its b (as the path deletion before
 * this did).
 */

static int
jp_search_hide(json_t **root, json_t *doc, const char *path)
{
    size_t       n;
    json_t      *cur, *orig, *c, *o;
    const char  *dot;
    char         seg[JP_SEARCH_NAME_MAX + 1];

    if (jp_search_path_get(*root, path) == NULL) {
        return 0;                               /* nothing to delete */
    }

    if (*root == doc) {
        c = json_copy(doc);
        if (c == NULL) {
            return -1;
        }

        json_decref(*root);
        *root = c;
    }

    cur = *root;
    orig = doc;

    for ( ;; ) {
        dot = strchr(path, '.');
        n = dot ? (size_t) (dot - path) : strlen(path);

        memcpy(seg, path, n);                   /* path_get checked n */
        seg[n] = '\0';

        if (dot == NULL) {
            return json_object_del(cur, seg);
        }

        c = json_object_get(cur, seg);
        o = json_object_get(orig, seg);

        if (c == o) {
            c = json_copy(o);
            if (c == NULL || json_object_set_new(cur, seg, c) != 0) {
                return -1;
            }
        }

        cur = c;
        orig = o;
        path = dot + 1;
    }
}


json_t *
jp_search_public_doc(const jp_search_schema_t *schema, json_t *doc)
{
    size_t   i;
    json_t  *root, *h, *out;

    root = json_incref(doc);

    json_array_foreach(schema->hidden, i, h) {
        if (jp_search_hide(&root, doc, json_string_value(h)) < 0) {
            json_decref(root);
            return NULL;
        }
    }

    out = jp_search_public_value(root);
    json_decref(root);

    return out ? out : json_object();
}


/* ---------------------------------------------------------------- page */


static json_t *
jp_search_cursor_of(const jp_search_request_t *req, json_t *doc,
    long long total, int d)
{
    json_t      *c, *lv, *v;
    const char  *key;

    lv = json_object();
    if (lv == NULL) {
        return NULL;
    }

    json_object_foreach(req->sort, key, v) {
        v = jp_search_path_get(doc, key);

        /* an array cannot be a keyset bound (not a schema's sort field) */
        if (json_object_set_new(lv, key, (v && !json_is_array(v))
                                         ? json_deep_copy(v) : json_null())
            != 0)
        {
            json_decref(lv);
            return NULL;
        }
    }

    c = json_pack("{s:i,s:O,s:O,s:I,s:I,s:o,s:i}", "v", 1, "q", req->query,
                  "s", req->sort, "l", (json_int_t) req->limit,
                  "t", (json_int_t) total, "lv", lv, "d", d);

    if (c != NULL && req->collation
        && json_object_set_new(c, "c", json_integer(1)) != 0)
    {
        json_decref(c);
        return NULL;
    }

    return c;
}


static json_t *
jp_search_token(const char *collection, const jp_search_key_t *key,
    const jp_search_request_t *req, json_t *doc, long long total, int d)
{
    char    *t;
    json_t  *c, *s;

    if (key == NULL || doc == NULL) {
        return json_null();
    }

    c = jp_search_cursor_of(req, doc, total, d);
    if (c == NULL) {
        return NULL;
    }

    t = jp_search_cursor_encode(c, collection, key);
    json_decref(c);

    if (t == NULL) {
        return NULL;
    }

    s = json_string(t);
    free(t);

    return s;
}


json_t *
jp_search_page(const jp_search_schema_t *schema, const char *collection,
    const jp_search_request_t *req, json_t *docs, long long total,
    const jp_search_key_t *key)
{
    int          backward, more;
    size_t       n, count, i;
    json_t      *data, *rows, *first, *last, *next, *prev, *pg, *d;

    n = json_array_size(docs);
    count = n > (size_t) req->limit ? (size_t) req->limit : n;
    more = n > (size_t) req->limit;
    backward = (req->mode == JP_SEARCH_CURSOR && req->last != NULL
                && req->direction < 0);

    /* the rows in the page's order (a backward page came nearest first) */
    rows = json_array();
    data = json_array();
    if (rows == NULL || data == NULL) {
        goto nomem;
    }

    for (i = 0; i < count; i++) {
        if (json_array_append(rows, json_array_get(docs,
                                  backward ? count - 1 - i : i))
            != 0)
        {
            goto nomem;
        }
    }

    json_array_foreach(rows, i, d) {
        if (json_array_append_new(data, jp_search_public_doc(schema, d))
            != 0)
        {
            goto nomem;
        }
    }

    first = json_array_get(rows, 0);
    last = json_array_get(rows, count ? count - 1 : 0);

    if (req->mode == JP_SEARCH_OFFSET) {
        pg = json_pack("{s:s,s:I,s:I,s:I,s:b}", "mode", "offset",
                       "total", (json_int_t) total,
                       "limit", (json_int_t) req->limit,
                       "offset", (json_int_t) req->offset,
                       "hasMore", (long long) (req->offset + count) < total);
        goto done;
    }

    if (req->has_cursor) {
        total = req->total;
    }

    if (backward) {
        /* the page we came from is after it; before it only if more */
        next = jp_search_token(collection, key, req, last, total, 1);
        prev = more ? jp_search_token(collection, key, req, first, total, -1)
                    : json_null();
        more = (count > 0);

    } else {
        next = more ? jp_search_token(collection, key, req, last, total, 1)
                    : json_null();
        prev = req->has_cursor
               ? jp_search_token(collection, key, req, first, total, -1)
               : json_null();
    }

    if (next == NULL || prev == NULL) {
        json_decref(next);
        json_decref(prev);
        goto nomem;
    }

    pg = json_pack("{s:s,s:I,s:I,s:b,s:o,s:o}", "mode", "cursor",
                   "total", (json_int_t) total,
                   "limit", (json_int_t) req->limit,
                   "hasMore", more && count > 0,
                   "nextCursor", next, "prevCursor", prev);

done:

    json_decref(rows);

    if (pg == NULL) {
        json_decref(data);
        return NULL;
    }

    return json_pack("{s:o,s:I,s:o}", "data", data,
                     "count", (json_int_t) count, "pagination", pg);

nomem:

    json_decref(rows);
    json_decref(data);

    return NULL;
}
