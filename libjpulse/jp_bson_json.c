/*
 * BSON to the json_t tree of its canonical Extended JSON, directly.
 *
 * What the text path gives, by type (libbson's _bson_as_json_visit_*,
 * then jansson's parser): double {"$numberDouble": "%.20g" with ".0"
 * where it printed only digits and '-', "NaN", "Infinity",
 * "-Infinity"}; string the same bytes (U+0000 printed as \u0000, loaded
 * back with JSON_ALLOW_NUL); document an object, array an array (keys
 * dropped); binary {"$binary": {"base64", "subType": "%02x"}}; undefined
 * {"$undefined": true}; ObjectId {"$oid": hex}; date {"$date":
 * {"$numberLong"}}; regex {"$regularExpression": {"pattern", "options":
 * the options of "ilmsux" it has, in that order}}; DBPointer {"$dbPointer":
 * {"$ref", "$id": {"$oid"}}}; code {"$code"}; symbol {"$symbol"}; code
 * with scope {"$code", "$scope"}; int32 {"$numberInt"}; timestamp
 * {"$timestamp": {"t", "i"}} (JSON integers); int64 {"$numberLong"};
 * decimal128 {"$numberDecimal"}; min and max key {"$minKey": 1}. A key
 * seen twice keeps its first place and its last value (json_object_set
 * in both paths). The regex pattern and the DBPointer's collection are
 * printed up to their first NUL.
 *
 * Everything else the text path does is left to it (FALLBACK): strings
 * that are not strict UTF-8, corrupt BSON. Nesting JP_BSON_JSON_DEPTH
 * deep is refused by both (see jp_bson_json.h). t/unit/
 * test_bson_json.c and fuzz/fuzz_bson_json.c compare both paths.
 */

#include <stdio.h>
#include <string.h>

#include "jp_bson_json.h"


#define JP_BSON_JSON_DOC    0
#define JP_BSON_JSON_ARRAY  1


static int jp_bson_json_iter(bson_iter_t *it, int kind, int depth,
    json_t **out);


/* RFC 3629, as jansson checks it: no overlong forms, surrogates or
 * code points past U+10FFFF; NUL only where the length is given */
static int
jp_bson_json_utf8(const unsigned char *s, size_t len, int nul)
{
    size_t         i, n;
    unsigned char  c, lo, hi;

    i = 0;

    while (i < len) {
        c = s[i];

        if (c < 0x80) {
            if (c == 0 && !nul) {
                return 0;
            }

            i++;
            continue;
        }

        lo = 0x80;
        hi = 0xBF;

        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0) {
                lo = 0xA0;
            } else if (c == 0xED) {
                hi = 0x9F;
            }
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0) {
                lo = 0x90;
            } else if (c == 0xF4) {
                hi = 0x8F;
            }
        } else {
            return 0;
        }

        if (len - i - 1 < n || s[i + 1] < lo || s[i + 1] > hi) {
            return 0;
        }

        i += 2;

        while (--n > 0) {
            if (s[i] < 0x80 || s[i] > 0xBF) {
                return 0;
            }

            i++;
        }
    }

    return 1;
}


static json_t *
jp_bson_json_str(const char *s, size_t len, int *rc)
{
    json_t  *v;

    if (!jp_bson_json_utf8((const unsigned char *) s, len, 1)) {
        *rc = JP_BSON_JSON_FALLBACK;
        return NULL;
    }

    v = json_stringn_nocheck(s, len);
    if (v == NULL) {
        *rc = JP_BSON_JSON_NOMEM;
    }

    return v;
}


/* "%" PRId64 without printf's parsing of its format (a page of users
 * prints five integers and dates a document) */
static const char *
jp_bson_json_i64(char *end, int64_t v)
{
    char      *p;
    uint64_t   u;

    p = end;
    *p = '\0';
    u = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

    do {
        *--p = (char) ('0' + u % 10);
        u /= 10;
    } while (u != 0);

    if (v < 0) {
        *--p = '-';
    }

    return p;
}


/* a one-key object {key: v}, v consumed */
static json_t *
jp_bson_json_wrap(const char *key, json_t *v)
{
    json_t  *o;

    if (v == NULL) {
        return NULL;
    }

    o = json_object();
    if (o == NULL) {
        json_decref(v);
        return NULL;
    }

    /* json_object_set_new*() releases v when it fails */
    if (json_object_set_new_nocheck(o, key, v) != 0) {
        json_decref(o);
        return NULL;
    }

    return o;
}


/* {k1: v1, k2: v2}; owns v1 and v2 (either may be NULL: a failed alloc) */
static json_t *
jp_bson_json_pair(const char *k1, json_t *v1, const char *k2, json_t *v2)
{
    json_t  *o;

    o = json_object();
    if (o == NULL || v1 == NULL || v2 == NULL) {
        json_decref(o);
        json_decref(v1);
        json_decref(v2);
        return NULL;
    }

    /* json_object_set_new*() releases the value when it fails */
    if (json_object_set_new_nocheck(o, k1, v1) != 0) {
        json_decref(v2);
        json_decref(o);
        return NULL;
    }

    if (json_object_set_new_nocheck(o, k2, v2) != 0) {
        json_decref(o);
        return NULL;
    }

    return o;
}


static json_t *
jp_bson_json_wrap_str(const char *key, const char *text)
{
    return jp_bson_json_wrap(key, json_string_nocheck(text));
}


static json_t *
jp_bson_json_oid(const bson_oid_t *oid)
{
    char  hex[25];

    bson_oid_to_string(oid, hex);

    return jp_bson_json_wrap_str("$oid", hex);
}


static json_t *
jp_bson_json_double(double d)
{
    int   n;
    char  buf[48];

    if (d != d) {
        return jp_bson_json_wrap_str("$numberDouble", "NaN");
    }

    if (d * 0 != 0) {
        return jp_bson_json_wrap_str("$numberDouble",
                                     d > 0 ? "Infinity" : "-Infinity");
    }

    n = snprintf(buf, sizeof(buf) - 2, "%.20g", d);
    if (n < 0 || (size_t) n >= sizeof(buf) - 2) {
        return NULL;
    }

    /* "3" is an integer: libbson writes "3.0" (and "-0.0") */
    if (strspn(buf, "0123456789-") == (size_t) n) {
        memcpy(buf + n, ".0", 3);
    }

    return jp_bson_json_wrap_str("$numberDouble", buf);
}


static json_t *
jp_bson_json_binary(bson_subtype_t subtype, const uint8_t *p, uint32_t len)
{
    static const char  b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    char      *buf, *w, st[8];
    json_t    *o;
    uint32_t   i, x;

    buf = malloc(((size_t) len + 2) / 3 * 4 + 1);
    if (buf == NULL) {
        return NULL;
    }

    w = buf;

    for (i = 0; i + 2 < len; i += 3) {
        x = (uint32_t) p[i] << 16 | (uint32_t) p[i + 1] << 8 | p[i + 2];
        *w++ = b64[x >> 18];
        *w++ = b64[x >> 12 & 63];
        *w++ = b64[x >> 6 & 63];
        *w++ = b64[x & 63];
    }

    if (i < len) {
        x = (uint32_t) p[i] << 16 | (i + 1 < len ? (uint32_t) p[i + 1] << 8
                                                 : 0);
        *w++ = b64[x >> 18];
        *w++ = b64[x >> 12 & 63];
        *w++ = i + 1 < len ? b64[x >> 6 & 63] : '=';
        *w++ = '=';
    }

    snprintf(st, sizeof(st), "%02x", (unsigned) subtype);

    o = json_stringn_nocheck(buf, (size_t) (w - buf));
    free(buf);

    return jp_bson_json_wrap("$binary",
               jp_bson_json_pair("base64", o,
                                 "subType", json_string_nocheck(st)));
}


static json_t *
jp_bson_json_regex(const char *pattern, const char *options, int *rc)
{
    size_t       n;
    char         opts[8];
    json_t      *v, *p;
    const char  *c;

    p = jp_bson_json_str(pattern, strlen(pattern), rc);
    if (p == NULL) {
        return NULL;
    }

    n = 0;
    for (c = "ilmsux"; *c; c++) {
        if (strchr(options, *c) != NULL) {
            opts[n++] = *c;
        }
    }

    opts[n] = '\0';

    v = jp_bson_json_wrap("$regularExpression",
            jp_bson_json_pair("pattern", p,
                              "options", json_string_nocheck(opts)));
    if (v == NULL) {
        *rc = JP_BSON_JSON_NOMEM;
    }

    return v;
}


static json_t *
jp_bson_json_value(bson_iter_t *it, int depth, int *rc)
{
    char                 buf[BSON_DECIMAL128_STRING];
    json_t              *v, *x, *y;
    bson_t               scope;
    uint32_t             len, len2, t, i;
    bson_iter_t          child;
    const char          *s, *s2;
    const uint8_t       *p;
    bson_subtype_t       subtype;
    const bson_oid_t    *oid;
    bson_decimal128_t    dec;

    *rc = JP_BSON_JSON_NOMEM;

    switch (bson_iter_type(it)) {

    case BSON_TYPE_DOUBLE:
        return jp_bson_json_double(bson_iter_double(it));

    case BSON_TYPE_UTF8:
        s = bson_iter_utf8(it, &len);
        return jp_bson_json_str(s, len, rc);

    case BSON_TYPE_DOCUMENT:
    case BSON_TYPE_ARRAY:
        if (bson_iter_type(it) == BSON_TYPE_ARRAY) {
            bson_iter_array(it, &len, &p);
        } else {
            bson_iter_document(it, &len, &p);
        }

        /* libbson prints "{ ... }" there, which does not parse */
        if (depth >= JP_BSON_JSON_DEPTH) {
            *rc = JP_BSON_JSON_DEEP;
            return NULL;
        }

        /* libbson visits a child only if bson_init_static() takes it (it
         * checks the last byte, bson_iter_recurse() does not): it prints
         * nothing otherwise, which does not parse */
        if (!bson_init_static(&scope, p, len)
            || !bson_iter_init(&child, &scope))
        {
            *rc = JP_BSON_JSON_FALLBACK;
            return NULL;
        }

        *rc = jp_bson_json_iter(&child,
                                bson_iter_type(it) == BSON_TYPE_ARRAY
                                ? JP_BSON_JSON_ARRAY : JP_BSON_JSON_DOC,
                                depth + 1, &v);
        return *rc == JP_BSON_JSON_OK ? v : NULL;

    case BSON_TYPE_BINARY:
        bson_iter_binary(it, &subtype, &len, &p);
        return jp_bson_json_binary(subtype, p, len);

    case BSON_TYPE_UNDEFINED:
        return jp_bson_json_wrap("$undefined", json_true());

    case BSON_TYPE_OID:
        return jp_bson_json_oid(bson_iter_oid(it));

    case BSON_TYPE_BOOL:
        return json_boolean(bson_iter_bool(it));

    case BSON_TYPE_DATE_TIME:
        return jp_bson_json_wrap("$date", jp_bson_json_wrap_str(
                   "$numberLong", jp_bson_json_i64(buf + 24,
                                                   bson_iter_date_time(it))));

    case BSON_TYPE_NULL:
        return json_null();

    case BSON_TYPE_REGEX:
        s = bson_iter_regex(it, &s2);
        return jp_bson_json_regex(s, s2, rc);

    case BSON_TYPE_DBPOINTER:
        bson_iter_dbpointer(it, &len, &s, &oid);

        /* libbson checks the whole collection name (NUL allowed), and
         * refuses the document if that is not UTF-8, even past a NUL */
        if (!jp_bson_json_utf8((const unsigned char *) s, len, 1)) {
            *rc = JP_BSON_JSON_FALLBACK;
            return NULL;
        }

        /* then prints it up to its first NUL, as a C string */
        x = jp_bson_json_str(s, strlen(s), rc);
        if (x == NULL) {
            return NULL;
        }

        return jp_bson_json_wrap("$dbPointer",
                   jp_bson_json_pair("$ref", x, "$id", jp_bson_json_oid(oid)));

    case BSON_TYPE_CODE:
        s = bson_iter_code(it, &len);
        return jp_bson_json_wrap("$code", jp_bson_json_str(s, len, rc));

    case BSON_TYPE_SYMBOL:
        s = bson_iter_symbol(it, &len);
        return jp_bson_json_wrap("$symbol", jp_bson_json_str(s, len, rc));

    case BSON_TYPE_CODEWSCOPE:
        s = bson_iter_codewscope(it, &len, &len2, &p);

        /* libbson prints the scope as a document of its own, its depth
         * starting again at 0: nested scopes would recurse as deep as the
         * document is long, so they count towards the one depth here */
        if (depth >= JP_BSON_JSON_DEPTH) {
            *rc = JP_BSON_JSON_DEEP;
            return NULL;
        }

        /* corrupt: the text path decides */
        if (!bson_init_static(&scope, p, len2)
            || !bson_iter_init(&child, &scope))
        {
            *rc = JP_BSON_JSON_FALLBACK;
            return NULL;
        }

        x = jp_bson_json_str(s, len, rc);
        if (x == NULL) {
            return NULL;
        }

        *rc = jp_bson_json_iter(&child, JP_BSON_JSON_DOC, depth + 1, &y);
        if (*rc != JP_BSON_JSON_OK) {
            json_decref(x);
            return NULL;
        }

        v = jp_bson_json_pair("$code", x, "$scope", y);
        if (v == NULL) {
            *rc = JP_BSON_JSON_NOMEM;
        }

        return v;

    case BSON_TYPE_INT32:
        return jp_bson_json_wrap_str("$numberInt",
                   jp_bson_json_i64(buf + 24, bson_iter_int32(it)));

    case BSON_TYPE_TIMESTAMP:
        bson_iter_timestamp(it, &t, &i);
        return jp_bson_json_wrap("$timestamp",
                   jp_bson_json_pair("t", json_integer(t),
                                     "i", json_integer(i)));

    case BSON_TYPE_INT64:
        return jp_bson_json_wrap_str("$numberLong",
                   jp_bson_json_i64(buf + 24, bson_iter_int64(it)));

    case BSON_TYPE_DECIMAL128:
        if (!bson_iter_decimal128(it, &dec)) {
            *rc = JP_BSON_JSON_FALLBACK;
            return NULL;
        }

        bson_decimal128_to_string(&dec, buf);
        return jp_bson_json_wrap_str("$numberDecimal", buf);

    case BSON_TYPE_MINKEY:
        return jp_bson_json_wrap("$minKey", json_integer(1));

    case BSON_TYPE_MAXKEY:
        return jp_bson_json_wrap("$maxKey", json_integer(1));

    default:
        *rc = JP_BSON_JSON_FALLBACK;
        return NULL;
    }
}


static int
jp_bson_json_iter(bson_iter_t *it, int kind, int depth, json_t **out)
{
    int          rc;
    json_t      *c, *v;
    const char  *key;

    c = (kind == JP_BSON_JSON_ARRAY) ? json_array() : json_object();
    if (c == NULL) {
        return JP_BSON_JSON_NOMEM;
    }

    while (bson_iter_next(it)) {

        key = bson_iter_key(it);

        /* an array's keys too: libbson's visitor checks every key */
        if (!jp_bson_json_utf8((const unsigned char *) key,
                               bson_iter_key_len(it), 0))
        {
            json_decref(c);
            return JP_BSON_JSON_FALLBACK;
        }

        v = jp_bson_json_value(it, depth, &rc);
        if (v == NULL) {
            json_decref(c);
            return rc;
        }

        if ((kind == JP_BSON_JSON_ARRAY ? json_array_append_new(c, v)
                                        : json_object_set_new_nocheck(c, key,
                                                                      v))
            != 0)
        {
            json_decref(c);
            return JP_BSON_JSON_NOMEM;
        }
    }

    /* corrupt, or a type libbson does not know: the text path says */
    if (it->err_off != 0) {
        json_decref(c);
        return JP_BSON_JSON_FALLBACK;
    }

    *out = c;

    return JP_BSON_JSON_OK;
}


int
jp_bson_json_direct(const bson_t *doc, json_t **out)
{
    bson_iter_t  it;

    if (!bson_iter_init(&it, doc)) {
        return JP_BSON_JSON_FALLBACK;
    }

    return jp_bson_json_iter(&it, JP_BSON_JSON_DOC, 0, out);
}


/*
 * Before the text path: 1 where a document or $scope it would reach is
 * nested JP_BSON_JSON_DEPTH deep. The direct path stops at the first
 * element it falls back on, so it may not have seen the rest. Children
 * are entered with bson_iter_recurse(), which takes all libbson's visitor
 * does (and more): anything it recurses into is looked at here first.
 */
static int
jp_bson_json_deep(bson_iter_t *it, int depth)
{
    bson_t          scope;
    uint32_t        len, len2;
    bson_iter_t     child;
    const uint8_t  *p;

    while (bson_iter_next(it)) {

        switch (bson_iter_type(it)) {

        case BSON_TYPE_DOCUMENT:
        case BSON_TYPE_ARRAY:
            if (depth >= JP_BSON_JSON_DEPTH) {
                return 1;
            }

            if (bson_iter_recurse(it, &child)
                && jp_bson_json_deep(&child, depth + 1))
            {
                return 1;
            }

            break;

        case BSON_TYPE_CODEWSCOPE:
            if (depth >= JP_BSON_JSON_DEPTH) {
                return 1;
            }

            bson_iter_codewscope(it, &len, &len2, &p);

            if (bson_init_static(&scope, p, len2)
                && bson_iter_init(&child, &scope)
                && jp_bson_json_deep(&child, depth + 1))
            {
                return 1;
            }

            break;

        default:
            break;
        }
    }

    return 0;
}


static json_t *
jp_bson_json_text_err(const bson_t *doc, jp_bson_json_info_t *info)
{
    char          *str;
    size_t         len;
    json_t        *v;
    json_error_t   jerr;

    str = bson_as_canonical_extended_json(doc, &len);
    if (str == NULL) {
        info->error = JP_BSON_JSON_EBSON;
        return NULL;
    }

    /* strings may hold U+0000: BSON allows it, JSON escapes it */
    v = json_loadb(str, len, JSON_ALLOW_NUL, &jerr);
    bson_free(str);

    if (v == NULL) {
        info->error = json_error_code(&jerr) == json_error_out_of_memory
                      ? JP_BSON_JSON_ENOMEM : JP_BSON_JSON_ETEXT;
        snprintf(info->text, sizeof(info->text), "%s", jerr.text);
    }

    return v;
}


json_t *
jp_bson_json_text(const bson_t *doc)
{
    jp_bson_json_info_t  info;

    return jp_bson_json_text_err(doc, &info);
}


size_t
jp_bson_json_size(const json_t *v)
{
    size_t       n, i;
    json_t      *x;
    const char  *key;

    switch (json_typeof(v)) {

    case JSON_OBJECT:
        n = JP_BSON_JSON_COST_OBJECT;

        json_object_foreach((json_t *) v, key, x) {
            n += JP_BSON_JSON_COST_MEMBER + strlen(key)
                 + jp_bson_json_size(x);
        }

        return n;

    case JSON_ARRAY:
        n = JP_BSON_JSON_COST_ARRAY;

        json_array_foreach(v, i, x) {
            n += JP_BSON_JSON_COST_SLOT + jp_bson_json_size(x);
        }

        return n;

    case JSON_STRING:
        return JP_BSON_JSON_COST_STRING + json_string_length(v);

    case JSON_INTEGER:
    case JSON_REAL:
        return JP_BSON_JSON_COST_NUMBER;

    default:
        /* true, false and null are shared */
        return 0;
    }
}


json_t *
jp_bson_json(const bson_t *doc, jp_bson_json_info_t *info)
{
    int                  rc;
    json_t              *v;
    bson_iter_t          it;
    jp_bson_json_info_t  local;

    if (info == NULL) {
        info = &local;
        info->bytes = 0;
    }

    info->fallback = 0;
    info->error = 0;
    info->text[0] = '\0';

    rc = jp_bson_json_direct(doc, &v);

    switch (rc) {

    case JP_BSON_JSON_OK:
        break;

    case JP_BSON_JSON_NOMEM:
        info->error = JP_BSON_JSON_ENOMEM;
        return NULL;

    case JP_BSON_JSON_DEEP:
        info->error = JP_BSON_JSON_EDEPTH;
        return NULL;

    default:
        info->fallback = 1;

        /* libbson's own recursion must stay bounded: see the header */
        if (bson_iter_init(&it, doc) && jp_bson_json_deep(&it, 0)) {
            info->error = JP_BSON_JSON_EDEPTH;
            return NULL;
        }

        v = jp_bson_json_text_err(doc, info);
        if (v == NULL) {
            return NULL;
        }
    }

    info->bytes += jp_bson_json_size(v);

    return v;
}
