/*
 * A search request (jp_search.h): the query string read as Express reads
 * it, jPulse's parameters (limit, sort, cursor, offset, field filters),
 * the keyset find of a page, and the page as jPulse answers it.
 *
 * Decisions where jPulse is loose (docs/directives.md says them too):
 * - limit: parseInt; 0 or garbage 50; below 1 gives 1, above 1000 1000.
 * - offset: present = offset mode; garbage or negative 0.
 * - sort: "f", "-f", "f:1", "f:-1", "f:asc", "f:desc" on "_id" or a
 *   sortable schema field; anything else is 400 INVALID_PARAMETER
 *   (jPulse sorted on whatever came, passwordHash included).
 * - a parameter we read (limit, sort, cursor, offset, a schema field, a
 *   multi-field parameter) given twice is 400 (Express made an array of
 *   it, which jPulse then half ignored); other parameters are ignored.
 * - a name or value holding NUL (%00), or bytes that are not UTF-8, is
 *   400; more than JP_SEARCH_PAIRS_MAX parameters is 400 ("query").
 * - with a valid cursor, the filter and sort parameters are ignored (the
 *   cursor's q and s are the search, as in jPulse); an explicit limit
 *   still sets the page size.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jp_json.h"
#include "jp_search_int.h"


typedef struct {
    char                       *name;
    size_t                      name_len;
    char                       *value;
    size_t                      value_len;
} jp_search_pair_t;


static int jp_search_pairs(const char *args, size_t len,
    jp_search_pair_t *pairs, size_t *npairs, jp_search_error_t *err);
static void jp_search_pairs_free(jp_search_pair_t *pairs, size_t n);
static long jp_search_parse_int(const char *p, size_t len, int *nan);
static json_t *jp_search_sort(const jp_search_schema_t *schema,
    const char *p, size_t len, jp_search_error_t *err);
static int jp_search_cursor_sort_ok(const jp_search_schema_t *schema,
    json_t *s);
static json_t *jp_search_filters(const jp_search_schema_t *schema,
    jp_search_pair_t *pairs, size_t n, int *collation,
    jp_search_error_t *err);
static json_t *jp_search_range(const jp_search_request_t *req);


/* ------------------------------------------------------ query strings */


static int
jp_search_hex(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }

    c |= 0x20;

    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}


/*
 * qs: '+' is a space, then decodeURIComponent over the whole text; if
 * that fails (a bad escape, escapes that are not UTF-8), the text with
 * only its '+' replaced. out holds len + 1 bytes; returns the length, or
 * -1 when the result holds NUL or is not UTF-8.
 */

static int
jp_search_utf8(const char *p, size_t n)
{
    size_t                i, k;
    const unsigned char  *u;

    u = (const unsigned char *) p;

    for (i = 0; i < n; i += k) {
        k = jp_utf8_sequence_len(u + i, u + n);
        if (k == 0) {
            return 0;
        }
    }

    return 1;
}


static ssize_t
jp_search_decode(const char *p, size_t len, char *out)
{
    int     hi, lo;
    size_t  i, n;

    for (n = 0, i = 0; i < len; i++) {
        if (p[i] == '+') {
            out[n++] = ' ';

        } else if (p[i] == '%') {
            if (i + 2 >= len
                || (hi = jp_search_hex((unsigned char) p[i + 1])) < 0
                || (lo = jp_search_hex((unsigned char) p[i + 2])) < 0)
            {
                goto raw;
            }

            out[n++] = (char) (hi << 4 | lo);
            i += 2;

        } else {
            out[n++] = p[i];
        }
    }

    if (jp_search_utf8(out, n)) {
        goto done;
    }

raw:

    for (n = 0; n < len; n++) {
        out[n] = (p[n] == '+') ? ' ' : p[n];
    }

done:

    out[n] = '\0';

    if (memchr(out, '\0', n) != NULL || !jp_search_utf8(out, n)) {
        return -1;
    }

    return n;
}


static int
jp_search_pairs(const char *args, size_t len, jp_search_pair_t *pairs,
    size_t *npairs, jp_search_error_t *err)
{
    size_t             i, s, n, nl;
    ssize_t            r;
    const char        *p, *eq;
    jp_search_pair_t  *pr;

    n = 0;

    for (s = 0, i = 0; i <= len; i++) {
        if (i < len && args[i] != '&') {
            continue;
        }

        p = args + s;
        nl = i - s;
        s = i + 1;

        if (nl == 0) {
            continue;
        }

        if (n == JP_SEARCH_PAIRS_MAX) {
            jp_search_error_set(err, "INVALID_PARAMETER", "query", 5,
                                "more than %d parameters",
                                JP_SEARCH_PAIRS_MAX);
            goto failed;
        }

        pr = &pairs[n];
        eq = memchr(p, '=', nl);

        pr->name = malloc((eq ? (size_t) (eq - p) : nl) + 1);
        pr->value = malloc((eq ? nl - (eq - p) - 1 : 0) + 1);
        n++;

        if (pr->name == NULL || pr->value == NULL) {
            jp_search_error_set(err, NULL, "query", 5, "out of memory");
            goto failed;
        }

        r = jp_search_decode(p, eq ? (size_t) (eq - p) : nl, pr->name);
        if (r < 0) {
            jp_search_error_set(err, "INVALID_PARAMETER", "query", 5,
                                "a parameter name holds NUL or is not "
                                "UTF-8");
            goto failed;
        }

        pr->name_len = r;

        if (r == 0) {
            /* qs drops a pair without a name */
            free(pr->name);
            free(pr->value);
            n--;
            continue;
        }

        r = jp_search_decode(eq ? eq + 1 : p + nl,
                             eq ? nl - (eq - p) - 1 : 0, pr->value);
        if (r < 0) {
            jp_search_error_set(err, "INVALID_PARAMETER", pr->name,
                                pr->name_len,
                                "the value holds NUL or is not UTF-8");
            goto failed;
        }

        pr->value_len = r;
    }

    *npairs = n;

    return 0;

failed:

    jp_search_pairs_free(pairs, n);
    *npairs = 0;

    return -1;
}


static void
jp_search_pairs_free(jp_search_pair_t *pairs, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
}


/* JavaScript's parseInt(p, 10); *nan when there is no digit */

static long
jp_search_parse_int(const char *p, size_t len, int *nan)
{
    int     neg;
    long    v;
    size_t  i;

    *nan = 1;
    i = 0;

    while (i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n'
                       || p[i] == '\r' || p[i] == '\f' || p[i] == '\v'))
    {
        i++;
    }

    neg = 0;

    if (i < len && (p[i] == '+' || p[i] == '-')) {
        neg = (p[i] == '-');
        i++;
    }

    v = 0;

    for (; i < len && p[i] >= '0' && p[i] <= '9'; i++) {
        *nan = 0;

        /* far beyond every bound used here: saturate */
        if (v < 1000000000000000L) {
            v = v * 10 + (p[i] - '0');
        }
    }

    return neg ? -v : v;
}


static int
jp_search_is(const jp_search_pair_t *pr, const char *name)
{
    return pr->name_len == strlen(name)
           && memcmp(pr->name, name, pr->name_len) == 0;
}


static json_t *
jp_search_sort(const jp_search_schema_t *schema, const char *p, size_t len,
    jp_search_error_t *err)
{
    int                       dir;
    size_t                    flen;
    const char               *colon, *d, *field;
    const jp_search_field_t  *f;

    while (len && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }

    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }

    if (len == 0) {
        return json_pack("{s:i}", "_id", 1);
    }

    dir = 1;
    field = p;
    flen = len;
    colon = memchr(p, ':', len);

    if (colon != NULL) {
        flen = colon - p;
        d = colon + 1;
        len = p + len - d;

        if (len == 1 && d[0] == '1') {
            dir = 1;

        } else if (len == 2 && d[0] == '-' && d[1] == '1') {
            dir = -1;

        } else if (len == 3 && strncasecmp(d, "asc", 3) == 0) {
            dir = 1;

        } else if (len == 4 && strncasecmp(d, "desc", 4) == 0) {
            dir = -1;

        } else {
            goto invalid;
        }

    } else if (p[0] == '-') {
        dir = -1;
        field++;
        flen--;
    }

    if (flen == 3 && memcmp(field, "_id", 3) == 0) {
        return json_pack("{s:i}", "_id", dir);
    }

    f = jp_search_schema_field(schema, field, flen);
    if (f == NULL || !f->sortable) {
        goto invalid;
    }

    return json_pack("{s:i,s:i}", f->name, dir, "_id", dir);

invalid:

    jp_search_error_set(err, "INVALID_PARAMETER", "sort", 4,
                        "sort on _id or a sortable field: f, -f, f:1, f:-1, "
                        "f:asc, f:desc");
    return NULL;
}


/* a cursor's s names _id, or a sortable field then _id (shape checked) */

static int
jp_search_cursor_sort_ok(const jp_search_schema_t *schema, json_t *s)
{
    void                     *it;
    const char               *key;
    const jp_search_field_t  *f;

    it = json_object_iter(s);
    key = json_object_iter_key(it);

    if (json_object_size(s) == 1) {
        return strcmp(key, "_id") == 0;
    }

    f = jp_search_schema_field(schema, key, strlen(key));

    return f != NULL && f->sortable;
}


static json_t *
jp_search_filters(const jp_search_schema_t *schema, jp_search_pair_t *pairs,
    size_t n, int *collation, jp_search_error_t *err)
{
    int                       exact, all;
    size_t                    i;
    json_t                   *parts, *q;
    const jp_search_multi_t  *m;
    const jp_search_field_t  *f;

    parts = json_array();
    if (parts == NULL) {
        jp_search_error_set(err, NULL, "query", 5, "out of memory");
        return NULL;
    }

    all = 1;

    /* the fields in the query's order, then the multi-field parameters */

    for (i = 0; i < n; i++) {
        if (jp_search_schema_ignored(schema, pairs[i].name, pairs[i].name_len)
            || jp_search_schema_multi(schema, pairs[i].name,
                                      pairs[i].name_len))
        {
            continue;
        }

        f = jp_search_schema_field(schema, pairs[i].name, pairs[i].name_len);
        if (f == NULL || !f->filter) {
            continue;
        }

        q = jp_search_filter_field(f, pairs[i].value, pairs[i].value_len,
                                   &exact, err);
        if (q == NULL) {
            goto failed;
        }

        if (json_object_size(q) == 0) {
            json_decref(q);
            continue;
        }

        all &= exact;

        if (json_array_append_new(parts, q) != 0) {
            goto nomem;
        }
    }

    for (i = 0; i < n; i++) {
        m = jp_search_schema_multi(schema, pairs[i].name, pairs[i].name_len);
        if (m == NULL) {
            continue;
        }

        q = jp_search_filter_multi(m, pairs[i].value, pairs[i].value_len,
                                   &exact, err);
        if (q == NULL) {
            goto failed;
        }

        if (json_object_size(q) == 0) {
            json_decref(q);
            continue;
        }

        all &= exact;

        if (json_array_append_new(parts, q) != 0) {
            goto nomem;
        }
    }

    *collation = all && json_array_size(parts) > 0;

    q = jp_search_filter_merge(parts);
    if (q == NULL) {
        jp_search_error_set(err, NULL, "query", 5, "out of memory");
    }

    return q;

nomem:

    jp_search_error_set(err, NULL, "query", 5, "out of memory");

failed:

    json_decref(parts);

    return NULL;
}


int
jp_search_parse(const jp_search_schema_t *schema, const char *collection,
    const char *args, size_t len, const jp_search_key_t *keys, size_t nkeys,
    int lenient, jp_search_request_t *req, jp_search_error_t *err)
{
    int                nan, rc;
    long               v;
    size_t             n, i, j;
    json_t            *c;
    jp_search_pair_t  *limit, *sort, *cursor, *offset;
    jp_search_error_t  cerr;
    jp_search_pair_t   pairs[JP_SEARCH_PAIRS_MAX];

    memset(req, 0, sizeof(*req));
    req->limit = JP_SEARCH_LIMIT_DEFAULT;
    req->direction = 1;
    req->total = -1;

    if (err) {
        memset(err, 0, sizeof(*err));
    }

    if (jp_search_pairs(args, len, pairs, &n, err) != 0) {
        return -1;
    }

    rc = -1;
    limit = NULL;
    sort = NULL;
    cursor = NULL;
    offset = NULL;

    for (i = 0; i < n; i++) {
        if (!jp_search_is(&pairs[i], "limit") && !jp_search_is(&pairs[i], "sort")
            && !jp_search_is(&pairs[i], "cursor")
            && !jp_search_is(&pairs[i], "offset")
            && !jp_search_schema_multi(schema, pairs[i].name,
                                       pairs[i].name_len)
            && (jp_search_schema_ignored(schema, pairs[i].name,
                                         pairs[i].name_len)
                || jp_search_schema_field(schema, pairs[i].name,
                                          pairs[i].name_len) == NULL))
        {
            continue;
        }

        for (j = 0; j < i; j++) {
            if (pairs[j].name_len == pairs[i].name_len
                && memcmp(pairs[j].name, pairs[i].name, pairs[i].name_len)
                   == 0)
            {
                jp_search_error_set(err, "INVALID_PARAMETER", pairs[i].name,
                                    pairs[i].name_len,
                                    "the parameter is given more than once");
                goto done;
            }
        }

        if (jp_search_is(&pairs[i], "limit")) {
            limit = &pairs[i];

        } else if (jp_search_is(&pairs[i], "sort")) {
            sort = &pairs[i];

        } else if (jp_search_is(&pairs[i], "cursor")) {
            cursor = &pairs[i];

        } else if (jp_search_is(&pairs[i], "offset")) {
            offset = &pairs[i];
        }
    }

    if (limit != NULL) {
        v = jp_search_parse_int(limit->value, limit->value_len, &nan);
        req->limit = (nan || v == 0) ? JP_SEARCH_LIMIT_DEFAULT
                     : (v < 1 ? 1 : (v > JP_SEARCH_LIMIT_MAX
                                     ? JP_SEARCH_LIMIT_MAX : v));
    }

    if (offset != NULL) {
        req->mode = JP_SEARCH_OFFSET;
        v = jp_search_parse_int(offset->value, offset->value_len, &nan);
        req->offset = (nan || v < 0) ? 0 : v;
    }

    if (req->mode == JP_SEARCH_CURSOR && cursor != NULL
        && cursor->value_len > 0
        && !(cursor->value_len == 4 && memcmp(cursor->value, "true", 4) == 0))
    {
        memset(&cerr, 0, sizeof(cerr));
        c = jp_search_cursor_decode(cursor->value, cursor->value_len,
                                    collection, keys, nkeys, &cerr);

        if (c != NULL && !jp_search_cursor_sort_ok(schema,
                                                   json_object_get(c, "s")))
        {
            json_decref(c);
            c = NULL;
            jp_search_error_set(&cerr, "INVALID_CURSOR", "cursor", 6,
                                "the cursor is invalid, expired or not of "
                                "this search");
        }

        if (c != NULL) {
            req->has_cursor = 1;
            req->query = json_incref(json_object_get(c, "q"));
            req->sort = json_incref(json_object_get(c, "s"));
            req->last = json_incref(json_object_get(c, "lv"));
            req->direction = (int) json_integer_value(json_object_get(c,
                                                                      "d"));
            req->total = json_integer_value(json_object_get(c, "t"));
            req->collation = json_object_get(c, "c") != NULL;

            if (limit == NULL) {
                req->limit = (long) json_integer_value(json_object_get(c,
                                                                       "l"));
            }

            json_decref(c);
            goto collation;
        }

        /* out of memory, or not lenient: refused */
        if (cerr.code == NULL || !lenient) {
            if (err) {
                *err = cerr;
            }

            goto done;
        }

        /* jPulse's fallback: the first page of the request's own filter */
    }

    req->sort = jp_search_sort(schema, sort ? sort->value : "",
                               sort ? sort->value_len : 0, err);
    if (req->sort == NULL) {
        goto done;
    }

    req->query = jp_search_filters(schema, pairs, n, &req->collation, err);
    if (req->query == NULL) {
        goto done;
    }

collation:

    if (req->collation) {
        req->collation_spec = json_incref(schema->collation);
    }

    rc = 0;

done:

    jp_search_pairs_free(pairs, n);

    return rc;
}


void
jp_search_request_free(jp_search_request_t *req)
{
    json_decref(req->query);
    json_decref(req->sort);
    json_decref(req->last);
    json_decref(req->collation_spec);
    req->query = NULL;
    req->sort = NULL;
    req->last = NULL;
    req->collation_spec = NULL;
}


/* ---------------------------------------------------------------- find */


/*
 * The rows after lv in the order s * d: for each key i, the rows equal on
 * the keys before it and beyond it on key i. MongoDB sorts null and a
 * missing field first (ascending) and $gt/$lt never match them, so:
 * ascending past a value is {$gt: v}; ascending past null is
 * {$ne: null}; descending past a value is {$lt: v} or null/missing (one
 * more disjunct); descending past null is nothing. {k: null} matches null
 * and missing alike, as the sort ties them.
 */

static json_t *
jp_search_range(const jp_search_request_t *req)
{
    int          e;
    size_t       i, j;
    json_t      *or, *dis, *v, *w;
    const char  *key, *kj;
    void        *it, *jt;

    or = json_array();
    if (or == NULL) {
        return NULL;
    }

    i = 0;

    for (it = json_object_iter(req->sort); it;
         it = json_object_iter_next(req->sort, it), i++)
    {
        key = json_object_iter_key(it);
        e = (int) json_integer_value(json_object_iter_value(it))
            * req->direction;
        v = json_object_get(req->last, key);

        if (v == NULL || json_is_null(v)) {
            if (e < 0) {
                continue;
            }
        }

        dis = json_object();
        if (dis == NULL) {
            goto nomem;
        }

        for (j = 0, jt = json_object_iter(req->sort); j < i;
             j++, jt = json_object_iter_next(req->sort, jt))
        {
            kj = json_object_iter_key(jt);
            w = json_object_get(req->last, kj);

            if (json_object_set_new(dis, kj, w ? json_deep_copy(w)
                                               : json_null())
                != 0)
            {
                json_decref(dis);
                goto nomem;
            }
        }

        if (v == NULL || json_is_null(v)) {
            w = json_pack("{s:n}", "$ne");

        } else {
            w = json_pack("{s:O}", e > 0 ? "$gt" : "$lt", v);
        }

        if (w == NULL || json_object_set_new(dis, key, w) != 0
            || json_array_append(or, dis) != 0)
        {
            json_decref(dis);
            goto nomem;
        }

        /* _id is never null nor missing */
        if (e < 0 && v != NULL && !json_is_null(v) && strcmp(key, "_id")) {
            w = json_deep_copy(dis);

            if (w == NULL || json_object_set_new(w, key, json_null()) != 0
                || json_array_append_new(or, w) != 0)
            {
                json_decref(dis);
                goto nomem;
            }
        }

        json_decref(dis);
    }

    return or;

nomem:

    json_decref(or);

    return NULL;
}


int
jp_search_find(const jp_search_request_t *req, json_t **filter,
    json_t **sort, long *limit, long *skip)
{
    int          inv;
    json_t      *or, *v;
    const char  *key;

    *filter = NULL;
    *sort = NULL;

    inv = (req->mode == JP_SEARCH_CURSOR && req->last != NULL
           && req->direction < 0);

    if (req->mode == JP_SEARCH_CURSOR && req->last != NULL) {
        or = jp_search_range(req);
        if (or == NULL) {
            return -1;
        }

        *filter = json_pack("{s:[O,{s:o}]}", "$and", req->query, "$or", or);

    } else {
        *filter = json_incref(req->query);
    }

    /* a backward page reads the rows before it nearest first */
    *sort = inv ? json_object() : json_incref(req->sort);

    if (*filter == NULL || *sort == NULL) {
        goto nomem;
    }

    if (inv) {
        json_object_foreach(req->sort, key, v) {
            if (json_object_set_new(*sort, key,
                                    json_integer(-json_integer_value(v)))
                != 0)
            {
                goto nomem;
            }
        }
    }

    *limit = req->limit + 1;
    *skip = (req->mode == JP_SEARCH_OFFSET) ? req->offset : 0;

    return 0;

nomem:

    json_decref(*filter);
    json_decref(*sort);
    *filter = NULL;
    *sort = NULL;

    return -1;
}


json_t *
jp_search_count_filter(const jp_search_request_t *req)
{
    return json_incref(req->query);
}


json_t *
jp_search_collation(const jp_search_request_t *req)
{
    return req->collation ? json_incref(req->collation_spec) : NULL;
}
