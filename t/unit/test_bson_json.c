/*
 * Unit tests: libjpulse/jp_bson_json.c. The direct path must build the
 * very tree json_loadb(bson_as_canonical_extended_json(doc)) builds:
 * compared by json_equal and by the bytes json_dumps writes (key order,
 * integer or real) on a document of every BSON type and edge value, on
 * strings that are not UTF-8 and on deep nesting (where it hands over
 * to the text path), and on thousands of random documents (seeded).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>
#include <malloc.h>

#include "jp_bson_json.h"


static uint64_t  rng_state;

static unsigned  n_direct, n_fallback;

/* one random document in ten may hold bytes that are not UTF-8 */
static int       bad_bytes;


static uint64_t
rng(void)
{
    /* xorshift64*: the same documents on every run */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;

    return rng_state * 2685821657736338717ULL;
}


static char *
dump(json_t *v)
{
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
}


/* both paths agree; returns whether the direct one converted it */
static int
check(const bson_t *doc)
{
    int      rc, fb;
    char                 *a, *b;
    json_t               *direct, *text, *both;
    jp_bson_json_info_t   info;

    text = jp_bson_json_text(doc);
    direct = NULL;
    rc = jp_bson_json_direct(doc, &direct);
    assert_int_not_equal(rc, JP_BSON_JSON_NOMEM);

    info.bytes = 0;
    both = jp_bson_json(doc, &info);
    fb = info.fallback;
    assert_int_equal(fb, rc == JP_BSON_JSON_FALLBACK);
    assert_int_equal(info.bytes, both ? jp_bson_json_size(both) : 0);
    assert_true(both != NULL || info.error != 0);

    if (rc == JP_BSON_JSON_OK) {
        n_direct++;
        assert_non_null(direct);

        if (text == NULL) {
            char *s = bson_as_canonical_extended_json(doc, NULL);
            fail_msg("text path refused what the direct one took: %s -> %s",
                     s ? s : "(null)", dump(direct));
        }

        a = dump(direct);
        b = dump(text);

        if (strcmp(a, b) != 0 || !json_equal(direct, text)) {
            fail_msg("direct %s\n  text %s", a, b);
        }

        free(a);
        free(b);
        json_decref(direct);

    } else {
        n_fallback++;
    }

    /* what the module calls is the text path's answer, or the same */
    a = dump(both);
    b = dump(text);
    assert_true((a == NULL && b == NULL)
                || (a != NULL && b != NULL && strcmp(a, b) == 0));
    free(a);
    free(b);

    json_decref(both);
    json_decref(text);

    return rc == JP_BSON_JSON_OK;
}


static void
test_every_type(void **state)
{
    bson_t             doc, sub, arr, scope;
    bson_oid_t         oid;
    bson_decimal128_t  dec;
    static const uint8_t  bin[] = { 0, 1, 2, 0xfb, 0xff, 0x3e, 0x3f };
    static const double   dbl[] = {
        0.0, 1.0, -1.5, 3.0, 1e300, -1e-300, 5e-324, 0.1, 1e21, 1e20,
        123456789012345678.0, 2.2250738585072014e-308, 1.7976931348623157e308
    };
    size_t             i;
    char               key[32];

    bson_init(&doc);
    bson_oid_init_from_string(&oid, "674f5a8c0000000000000001");

    for (i = 0; i < sizeof(dbl) / sizeof(dbl[0]); i++) {
        snprintf(key, sizeof(key), "d%zu", i);
        BSON_APPEND_DOUBLE(&doc, key, dbl[i]);
        snprintf(key, sizeof(key), "dn%zu", i);
        BSON_APPEND_DOUBLE(&doc, key, -dbl[i]);
    }

    BSON_APPEND_DOUBLE(&doc, "nan", NAN);
    BSON_APPEND_DOUBLE(&doc, "-nan", -NAN);
    BSON_APPEND_DOUBLE(&doc, "inf", INFINITY);
    BSON_APPEND_DOUBLE(&doc, "-inf", -INFINITY);

    BSON_APPEND_UTF8(&doc, "s", "plain");
    BSON_APPEND_UTF8(&doc, "", "empty key");
    bson_append_utf8(&doc, "nul", -1, "a\0b\0", 4);
    BSON_APPEND_UTF8(&doc, "esc", "\"\\/\b\f\n\r\t\x01\x1f\x7f");
    BSON_APPEND_UTF8(&doc, "uni", "é €  \xf0\x9f\x8c\x8a \xef\xbf\xbf");
    BSON_APPEND_UTF8(&doc, "k\xc3\xa9y \"q\"\n", "key with escapes");

    BSON_APPEND_DOCUMENT_BEGIN(&doc, "sub", &sub);
    BSON_APPEND_INT32(&sub, "a", 1);
    BSON_APPEND_ARRAY_BEGIN(&sub, "arr", &arr);
    BSON_APPEND_INT32(&arr, "0", 1);
    BSON_APPEND_UTF8(&arr, "7", "keys of an array are dropped");
    BSON_APPEND_NULL(&arr, "x");
    bson_append_array_end(&sub, &arr);
    bson_append_document_end(&doc, &sub);

    BSON_APPEND_DOCUMENT_BEGIN(&doc, "emptydoc", &sub);
    bson_append_document_end(&doc, &sub);
    BSON_APPEND_ARRAY_BEGIN(&doc, "emptyarr", &arr);
    bson_append_array_end(&doc, &arr);

    for (i = 0; i < 256; i += 1) {
        if (i == BSON_SUBTYPE_BINARY_DEPRECATED || i < 9 || i >= 0x7e) {
            snprintf(key, sizeof(key), "bin%zu", i);
            bson_append_binary(&doc, key, -1, (bson_subtype_t) i, bin,
                               (uint32_t) (i % 8));
        }
    }

    bson_append_binary(&doc, "bin0", -1, BSON_SUBTYPE_BINARY, NULL, 0);
    BSON_APPEND_UNDEFINED(&doc, "undef");
    BSON_APPEND_OID(&doc, "_id", &oid);
    BSON_APPEND_BOOL(&doc, "t", true);
    BSON_APPEND_BOOL(&doc, "f", false);
    BSON_APPEND_DATE_TIME(&doc, "date", 1756029600000LL);
    BSON_APPEND_DATE_TIME(&doc, "date-", -62198755200000LL);
    BSON_APPEND_DATE_TIME(&doc, "dmax", INT64_MAX);
    BSON_APPEND_DATE_TIME(&doc, "dmin", INT64_MIN);
    BSON_APPEND_NULL(&doc, "null");
    BSON_APPEND_REGEX(&doc, "re", "^a\"b\\.c$", "xsmli");
    BSON_APPEND_REGEX(&doc, "re2", "", "zqu");
    BSON_APPEND_REGEX(&doc, "re3", "é\n", "");
    BSON_APPEND_DBPOINTER(&doc, "dbp", "coll\"x", &oid);
    BSON_APPEND_CODE(&doc, "code", "function () { return \"x\"; }");
    BSON_APPEND_SYMBOL(&doc, "sym", "sym\tbol");

    bson_init(&scope);
    BSON_APPEND_INT64(&scope, "n", 5);
    BSON_APPEND_DOCUMENT_BEGIN(&scope, "in", &sub);
    BSON_APPEND_UTF8(&sub, "x", "y");
    bson_append_document_end(&scope, &sub);
    BSON_APPEND_CODE_WITH_SCOPE(&doc, "cws", "x + n", &scope);
    bson_destroy(&scope);
    bson_init(&scope);
    BSON_APPEND_CODE_WITH_SCOPE(&doc, "cws0", "x", &scope);
    bson_destroy(&scope);

    BSON_APPEND_INT32(&doc, "i32", 0);
    BSON_APPEND_INT32(&doc, "i32max", INT32_MAX);
    BSON_APPEND_INT32(&doc, "i32min", INT32_MIN);
    BSON_APPEND_TIMESTAMP(&doc, "ts", 1700000000u, 7u);
    BSON_APPEND_TIMESTAMP(&doc, "tsmax", UINT32_MAX, UINT32_MAX);
    BSON_APPEND_INT64(&doc, "i64", INT64_MAX);
    BSON_APPEND_INT64(&doc, "i64min", INT64_MIN);

    static const char  *decs[] = {
        "0", "-0", "1.5", "-1E+10", "NaN", "Infinity", "-Infinity",
        "1.000000000000000000000000000000000E+6144", "1E-6176",
        "9999999999999999999999999999999999", "0.0000001"
    };

    for (i = 0; i < sizeof(decs) / sizeof(decs[0]); i++) {
        assert_true(bson_decimal128_from_string(decs[i], &dec));
        snprintf(key, sizeof(key), "dec%zu", i);
        BSON_APPEND_DECIMAL128(&doc, key, &dec);
    }

    BSON_APPEND_MINKEY(&doc, "min");
    BSON_APPEND_MAXKEY(&doc, "max");

    /* a key twice: the first place, the last value, on both paths */
    BSON_APPEND_INT32(&doc, "s", 2);

    n_direct = n_fallback = 0;
    assert_true(check(&doc));
    bson_destroy(&doc);

    /* the empty document */
    bson_init(&doc);
    assert_true(check(&doc));
    bson_destroy(&doc);

    (void) state;
}


static void
test_not_utf8(void **state)
{
    size_t       i;
    bson_t       doc;
    static const char  *bad[] = {
        "\xc3\x28", "\xa0\xa1", "\xe2\x28\xa1", "\xe2\x82\x28",
        "\xf0\x28\x8c\xbc", "\xf0\x90\x28\xbc", "\xf8\xa1\xa1\xa1\xa1",
        "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xed\xbf\xbf",
        "\xf4\x90\x80\x80", "\xf7\xbf\xbf\xbf", "\xff", "a\xc3", "\xe2\x82",
        "x\xf0\x9f\x8c"
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        /* as a value, a key, a regex, a code, a symbol */
        bson_init(&doc);
        bson_append_utf8(&doc, "v", -1, bad[i], -1);
        BSON_APPEND_INT32(&doc, "after", 1);
        assert_false(check(&doc));
        bson_destroy(&doc);

        bson_init(&doc);
        BSON_APPEND_INT32(&doc, bad[i], 1);
        assert_false(check(&doc));
        bson_destroy(&doc);

        bson_init(&doc);
        BSON_APPEND_REGEX(&doc, "r", bad[i], "i");
        assert_false(check(&doc));
        bson_destroy(&doc);

        bson_init(&doc);
        BSON_APPEND_CODE(&doc, "c", bad[i]);
        assert_false(check(&doc));
        bson_destroy(&doc);

        bson_init(&doc);
        BSON_APPEND_SYMBOL(&doc, "y", bad[i]);
        BSON_APPEND_UTF8(&doc, "z", "é");
        assert_false(check(&doc));
        bson_destroy(&doc);
    }

    (void) state;
}


static void
nest(bson_t *doc, int depth, int array)
{
    bson_t  child;

    if (depth == 0) {
        BSON_APPEND_UTF8(doc, "leaf", "x");
        return;
    }

    if (array) {
        BSON_APPEND_ARRAY_BEGIN(doc, "0", &child);
    } else {
        BSON_APPEND_DOCUMENT_BEGIN(doc, "n", &child);
    }

    nest(&child, depth - 1, array);

    if (array) {
        bson_append_array_end(doc, &child);
    } else {
        bson_append_document_end(doc, &child);
    }
}


static void
test_depth(void **state)
{
    int     d, a;
    bson_t  doc;
    static const int  depths[] = { 1, 50, 99, 100, 101, 150, 199, 200, 201,
                                   250, 1000 };

    for (a = 0; a < 2; a++) {
        for (d = 0; d < (int) (sizeof(depths) / sizeof(depths[0])); d++) {
            bson_init(&doc);
            nest(&doc, depths[d], a);
            assert_int_equal(check(&doc), depths[d] <= JP_BSON_JSON_DEPTH);
            bson_destroy(&doc);
        }
    }

    (void) state;
}


/* what fuzz/fuzz_bson_json found: a child whose last byte is not NUL
 * (libbson prints nothing for it: the text does not parse) and a key of
 * an array that is not UTF-8 (libbson calls the BSON corrupt) */
static const uint8_t  found_child_end[] = {
    0xb9, 0x00, 0x00, 0x00, 0x07, 0x5f, 0x69, 0x64, 0x00, 0x67, 0x4f, 0x5a,
    0x8c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x75, 0x73,
    0x65, 0x72, 0x6e, 0x61, 0x6d, 0x65, 0x00, 0x05, 0x00, 0x00, 0x00, 0x6a,
    0x64, 0x6f, 0x65, 0x00, 0x03, 0x70, 0x72, 0x6f, 0x66, 0x00, 0x23, 0x00,
    0x00, 0x00, 0x02, 0x66, 0x69, 0x72, 0x73, 0x74, 0x4e, 0x61, 0x6d, 0x65,
    0x00, 0x05, 0x00, 0x00, 0x00, 0x4a, 0x6f, 0xc3, 0xa9, 0x00, 0x0a, 0x6c,
    0x61, 0x73, 0x74, 0x4e, 0x61, 0x6d, 0x65, 0x00, 0x00, 0x04, 0x72, 0x6f,
    0x6c, 0x65, 0x73, 0x00, 0x1e, 0x00, 0x00, 0x00, 0x02, 0x30, 0x00, 0x05,
    0x00, 0x00, 0x00, 0x75, 0x73, 0x65, 0x72, 0x00, 0x02, 0x30, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13,
    0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x13, 0x00, 0x06, 0x00, 0x00, 0x00,
    0x61, 0x64, 0x4e, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xdf, 0xff,
    0x00,
};

static const uint8_t  found_array_key[] = {
    0xb9, 0x00, 0x00, 0x00, 0x07, 0x5f, 0x69, 0x64, 0x00, 0x67, 0x4f, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xad, 0x00, 0x01, 0x02, 0x75, 0x73,
    0x65, 0x72, 0x00, 0x05, 0x00, 0x00, 0x00, 0x6a, 0x64, 0x6f, 0x65, 0x00,
    0x03, 0x70, 0x72, 0x6f, 0x00, 0x23, 0x00, 0x00, 0x00, 0x02, 0x66, 0x69,
    0x72, 0x73, 0x74, 0x4e, 0x61, 0x6d, 0x65, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x4a, 0x6f, 0xc3, 0xa9, 0x00, 0x0a, 0x6c, 0x61, 0x73, 0x74, 0x4e, 0x61,
    0x6d, 0x65, 0x00, 0x00, 0x04, 0x72, 0x6f, 0x6c, 0x65, 0x73, 0x00, 0x1e,
    0x00, 0x00, 0x00, 0x02, 0x30, 0x00, 0x05, 0x00, 0x00, 0x00, 0x75, 0x73,
    0x65, 0x72, 0x00, 0x02, 0xf9, 0x00, 0x06, 0x00, 0x00, 0x00, 0x61, 0x64,
    0x6d, 0x69, 0x6e, 0x00, 0x00, 0x09, 0x63, 0x72, 0x65, 0x61, 0x74, 0x09,
    0x74, 0x00, 0x00, 0x41, 0x85, 0xdb, 0x98, 0x01, 0x00, 0x00, 0x10, 0x6c,
    0x6f, 0x67, 0x43, 0x6f, 0x75, 0x6e, 0x74, 0x00, 0x07, 0x00, 0x00, 0x00,
    0x01, 0x63, 0x6f, 0x72, 0x65, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x80, 0x12, 0x62, 0x69, 0x67, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xdf, 0xff, 0x00,
};


static void
test_corrupt(void **state)
{
    size_t          i;
    bson_t          b;
    uint8_t         buf[256];
    static const struct {
        const uint8_t  *p;
        size_t          len;
    } cases[] = {
        { found_child_end, sizeof(found_child_end) },
        { found_array_key, sizeof(found_array_key) },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(buf, 0, sizeof(buf));
        memcpy(buf, cases[i].p, cases[i].len);
        /* as the fuzz target reads its input: the length is the size */
        buf[0] = (uint8_t) cases[i].len;
        assert_true(bson_init_static(&b, buf, cases[i].len));
        assert_false(check(&b));
    }

    (void) state;
}


/* ------------------------------------------------------------ random */


static void
rand_str(char *buf, size_t *len, int allow_bad)
{
    size_t    n, i, k;
    uint64_t  r;
    static const char  *pieces[] = {
        "a", "Z", " ", "\"", "\\", "/", "\n", "\x01", "\x7f", "\0",
        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x8c\x8a", "\xef\xbf\xbf",
        "\xed\x9f\xbf", "\xee\x80\x80", "\xf4\x8f\xbf\xbf", "\xc2\x80"
    };
    static const char  *junk[] = {
        "\xc3", "\xa9", "\xed\xa0\x80", "\xc0\x80", "\xf5\x80\x80\x80", "\xff"
    };

    n = rng() % 12;
    k = 0;

    for (i = 0; i < n; i++) {
        r = rng();

        if (allow_bad && bad_bytes && r % 20 == 0) {
            const char *j = junk[(r >> 8) % 6];
            memcpy(buf + k, j, strlen(j));
            k += strlen(j);
        } else {
            const char *p = pieces[(r >> 8) % 18];
            size_t      pl = (*p == '\0') ? 1 : strlen(p);
            memcpy(buf + k, p, pl);
            k += pl;
        }
    }

    buf[k] = '\0';
    *len = k;
}


static void
rand_key(char *buf)
{
    size_t  len;

    /* a key is a C string: no NUL (the short names make duplicates) */
    if (rng() % 3 == 0) {
        snprintf(buf, 8, "k%u", (unsigned) (rng() % 4));
        return;
    }

    rand_str(buf, &len, 1);
    buf[strcspn(buf, "")] = '\0';
}



/* fuzz/fuzz_bson_json's dbpointer-crash.bson (length prefix set as the
 * harness sets it): a DBPointer whose collection holds a NUL and then
 * bytes that are not UTF-8. libbson checks the whole name and refuses the
 * document; the direct path used to check only up to the NUL */
static const uint8_t  found_dbpointer[] = {
    0x33, 0x00, 0x00, 0x00, 0x0c, 0x64, 0x00, 0x0d, 0x00, 0x00, 0x00, 0x02,
    0x00, 0x00, 0x00, 0x63, 0x67, 0x00, 0x01, 0x00, 0xe6, 0x32, 0x00, 0x00,
    0x00, 0x10, 0x63, 0x73, 0xfc, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x10, 0x77, 0x73, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x10, 0x00, 0x60, 0x00,
    0x00, 0x28, 0x00,
};


static void
test_dbpointer(void **state)
{
    bson_t              doc;
    json_t             *v;
    jp_bson_json_info_t  info;
    static const uint8_t  nul_ff[] = {
        32, 0, 0, 0, 0x0c, 'p', 0, 8, 0, 0, 0,
        'u', 's', 'e', 'r', 's', 0, 0xff, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0
    };

    assert_true(bson_init_static(&doc, nul_ff, sizeof(nul_ff)));
    assert_false(check(&doc));

    memset(&info, 0, sizeof(info));
    v = jp_bson_json(&doc, &info);
    assert_null(v);
    assert_int_equal(info.error, JP_BSON_JSON_EBSON);

    assert_true(bson_init_static(&doc, found_dbpointer,
                                 sizeof(found_dbpointer)));
    assert_false(check(&doc));

    (void) state;
}


/* n code-with-scopes, each the only element of the one before's scope:
 * {s: {$code: "x", $scope: {s: ...}}}, built in place (libbson's own
 * appends would copy the whole document at every level) */
static uint8_t *
nest_scope(int n, size_t *size)
{
    int       k;
    size_t    len, at;
    uint8_t  *buf;

    len = 5 + (size_t) n * 18;
    buf = calloc(1, len);
    if (buf == NULL) {
        return NULL;
    }

    at = 0;

    for (k = n; k > 0; k--) {
        size_t  d = 5 + (size_t) k * 18;       /* this level's document */
        size_t  cws = 4 + 4 + 2 + (d - 18);    /* its code with scope */

        buf[at] = (uint8_t) d;
        buf[at + 1] = (uint8_t) (d >> 8);
        buf[at + 2] = (uint8_t) (d >> 16);
        buf[at + 3] = 0;
        buf[at + 4] = BSON_TYPE_CODEWSCOPE;
        buf[at + 5] = 's';
        buf[at + 6] = 0;
        buf[at + 7] = (uint8_t) cws;
        buf[at + 8] = (uint8_t) (cws >> 8);
        buf[at + 9] = (uint8_t) (cws >> 16);
        buf[at + 10] = 0;
        buf[at + 11] = 2;
        buf[at + 12] = 0;
        buf[at + 13] = 0;
        buf[at + 14] = 0;
        buf[at + 15] = 'x';
        buf[at + 16] = 0;
        at += 17;
    }

    buf[at] = 5;                                /* the innermost {} */
    /* then each level's trailing NUL: calloc's zeros */

    *size = len;
    return buf;
}


static void
test_scope_depth(void **state)
{
    int                  i, fb;
    bson_t               doc, *pre;
    size_t               size = 0;
    json_t              *v;
    uint8_t             *buf;
    jp_bson_json_info_t  info;
    static const int     levels[] = { 1, 150, 199, 200, 201, 3000, 30000 };

    for (i = 0; i < (int) (sizeof(levels) / sizeof(levels[0])); i++) {
        buf = nest_scope(levels[i], &size);
        assert_non_null(buf);
        assert_true(bson_init_static(&doc, buf, size));
        /* bson_validate() recurses without bound too: not at 30,000 */
        if (levels[i] < 1000) {
            assert_true(bson_validate(&doc, BSON_VALIDATE_NONE, NULL));
        }

        /* the scopes count as documents do: 201 levels are refused, and
         * never handed to libbson (30,000 overflowed its stack) */
        memset(&info, 0, sizeof(info));
        v = jp_bson_json(&doc, &info);
        assert_int_equal(v != NULL, levels[i] <= JP_BSON_JSON_DEPTH);
        if (v == NULL) {
            assert_int_equal(info.error, JP_BSON_JSON_EDEPTH);
        }
        json_decref(v);

        /* deeper, libbson's text would still parse (its depth restarts
         * at each $scope): refusing there is the point */
        if (levels[i] <= JP_BSON_JSON_DEPTH) {
            check(&doc);
        }

        /* the same after a string the direct path falls back on: the
         * rest of the document is looked at before the text path */
        pre = bson_new();
        assert_true(bson_append_utf8(pre, "a", 1, "\xff", 1));
        assert_true(bson_concat(pre, &doc));
        memset(&info, 0, sizeof(info));
        v = jp_bson_json(pre, &info);
        fb = info.fallback;
        assert_int_equal(fb, 1);
        if (levels[i] > JP_BSON_JSON_DEPTH) {
            assert_null(v);
            assert_int_equal(info.error, JP_BSON_JSON_EDEPTH);
        }
        json_decref(v);
        bson_destroy(pre);

        free(buf);
    }

    (void) state;
}


/* result_max charges the tree: a document of many small int32s (each a
 * {"$numberInt": "1"} object) is charged about what jansson allocates,
 * some 40 times its BSON */
static void
test_tree_bytes(void **state)
{
    int                  i;
    bson_t               doc, arr;
    size_t               before, after, used;
    json_t              *v;
    const char          *key;
    char                 kb[16];
    jp_bson_json_info_t  info;
    struct mallinfo2     mi;

    bson_init(&doc);
    bson_append_array_begin(&doc, "a", 1, &arr);

    for (i = 0; i < 20000; i++) {
        bson_uint32_to_string((uint32_t) i, &key, kb, sizeof(kb));
        assert_true(bson_append_int32(&arr, key, -1, 1));
    }

    bson_append_array_end(&doc, &arr);

    mi = mallinfo2();
    before = mi.uordblks;

    memset(&info, 0, sizeof(info));
    info.bytes = 1000;                  /* it adds to what is there */
    v = jp_bson_json(&doc, &info);
    assert_non_null(v);

    mi = mallinfo2();
    after = mi.uordblks;

    assert_int_equal(info.bytes - 1000, jp_bson_json_size(v));
    assert_true(info.bytes - 1000 > 30 * (size_t) doc.len);

    /* glibc's count (ASan's allocator does not keep one): within 25 % */
    used = after - before;
    if (after > before && used > 1000000) {
        assert_true(info.bytes - 1000 > used * 3 / 4);
        assert_true(info.bytes - 1000 < used * 5 / 4);
    }

    json_decref(v);
    bson_destroy(&doc);

    (void) state;
}

static void rand_doc(bson_t *doc, int depth, int array);


static void
rand_value(bson_t *doc, const char *key, int depth)
{
    char               s[128], s2[16];
    size_t             len;
    double             d;
    bson_t             child;
    uint64_t           r, bits;
    uint8_t            bin[20];
    bson_oid_t         oid;
    bson_decimal128_t  dec;

    r = rng() % 22;

    switch (r) {
    case 0:
        bits = rng();
        memcpy(&d, &bits, sizeof(d));
        BSON_APPEND_DOUBLE(doc, key, d);
        break;
    case 1:
        BSON_APPEND_DOUBLE(doc, key, (double) (int64_t) rng()
                                     / (double) (rng() % 1000 + 1));
        break;
    case 2:
    case 3:
        rand_str(s, &len, 1);
        bson_append_utf8(doc, key, -1, s, (int) len);
        break;
    case 4:
        if (depth < 6) {
            BSON_APPEND_DOCUMENT_BEGIN(doc, key, &child);
            rand_doc(&child, depth + 1, 0);
            bson_append_document_end(doc, &child);
        } else {
            BSON_APPEND_NULL(doc, key);
        }
        break;
    case 5:
        if (depth < 6) {
            BSON_APPEND_ARRAY_BEGIN(doc, key, &child);
            rand_doc(&child, depth + 1, 1);
            bson_append_array_end(doc, &child);
        } else {
            BSON_APPEND_UNDEFINED(doc, key);
        }
        break;
    case 6:
        for (len = 0; len < sizeof(bin); len++) {
            bin[len] = (uint8_t) rng();
        }
        len = rng() % sizeof(bin);
        bson_append_binary(doc, key, -1, (bson_subtype_t) (rng() % 256), bin,
                           (uint32_t) len);
        break;
    case 7:
        BSON_APPEND_UNDEFINED(doc, key);
        break;
    case 8:
        for (len = 0; len < 12; len++) {
            oid.bytes[len] = (uint8_t) rng();
        }
        BSON_APPEND_OID(doc, key, &oid);
        break;
    case 9:
        BSON_APPEND_BOOL(doc, key, rng() & 1);
        break;
    case 10:
        BSON_APPEND_DATE_TIME(doc, key, (int64_t) rng()
                                        >> (rng() % 64));
        break;
    case 11:
        BSON_APPEND_NULL(doc, key);
        break;
    case 12:
        rand_str(s, &len, 1);
        snprintf(s2, sizeof(s2), "%s", &"imxslu\"gaz"[rng() % 10]);
        BSON_APPEND_REGEX(doc, key, s, s2);
        break;
    case 13:
        rand_str(s, &len, 1);
        for (len = 0; len < 12; len++) {
            oid.bytes[len] = (uint8_t) rng();
        }
        BSON_APPEND_DBPOINTER(doc, key, s, &oid);
        break;
    case 14:
        rand_str(s, &len, 1);
        bson_append_code(doc, key, -1, s);
        break;
    case 15:
        rand_str(s, &len, 1);
        bson_append_symbol(doc, key, -1, s, (int) len);
        break;
    case 16:
        rand_str(s, &len, 0);
        bson_init(&child);
        if (depth < 6) {
            rand_doc(&child, depth + 1, 0);
        }
        bson_append_code_with_scope(doc, key, -1, s, &child);
        bson_destroy(&child);
        break;
    case 17:
        BSON_APPEND_INT32(doc, key, (int32_t) rng());
        break;
    case 18:
        BSON_APPEND_TIMESTAMP(doc, key, (uint32_t) rng(), (uint32_t) rng());
        break;
    case 19:
        BSON_APPEND_INT64(doc, key, (int64_t) rng() >> (rng() % 64));
        break;
    case 20:
        dec.high = rng();
        dec.low = rng();
        BSON_APPEND_DECIMAL128(doc, key, &dec);
        break;
    default:
        if (rng() & 1) {
            BSON_APPEND_MINKEY(doc, key);
        } else {
            BSON_APPEND_MAXKEY(doc, key);
        }
        break;
    }
}


static void
rand_doc(bson_t *doc, int depth, int array)
{
    char      key[128];
    unsigned  i, n;

    n = (unsigned) (rng() % (depth ? 5 : 12));

    for (i = 0; i < n; i++) {
        if (array) {
            snprintf(key, sizeof(key), "%u", i);
        } else {
            rand_key(key);
        }

        rand_value(doc, key, depth);
    }
}


static void
test_random(void **state)
{
    int     i;
    bson_t  doc;

    rng_state = 0x9e3779b97f4a7c15ULL;
    n_direct = n_fallback = 0;

    for (i = 0; i < 5000; i++) {
        bad_bytes = (i % 10 == 0);
        bson_init(&doc);
        rand_doc(&doc, 0, 0);
        (void) check(&doc);
        bson_destroy(&doc);
    }

    /* both kinds were met, most directly */
    print_message("random: %u direct, %u to the text path\n", n_direct,
                  n_fallback);
    assert_true(n_direct > 3000);
    assert_true(n_fallback > 50);

    (void) state;
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_corrupt),
        cmocka_unit_test(test_dbpointer),
        cmocka_unit_test(test_scope_depth),
        cmocka_unit_test(test_tree_bytes),
        cmocka_unit_test(test_random),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
