/*
 * libFuzzer target: jp_bson_json's direct path against the text path it
 * replaces, json_loadb(bson_as_canonical_extended_json()), on random
 * bytes as BSON (the first four are overwritten with the length, so
 * every input reaches the elements). Where the direct path converts, the
 * text path must give the same tree (json_equal and json_dumps bytes),
 * and the BSON must be valid; jp_bson_json() must always answer what the
 * text path answers.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "jp_bson_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static char *
fuzz_dump(json_t *v)
{
    return v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
}


static int
fuzz_same(json_t *a, json_t *b)
{
    int    ok;
    char  *x, *y;

    if (a == NULL || b == NULL) {
        return a == b;
    }

    x = fuzz_dump(a);
    y = fuzz_dump(b);
    ok = x != NULL && y != NULL && strcmp(x, y) == 0 && json_equal(a, b);
    free(x);
    free(y);

    return ok;
}


/* BSON holds NULs: fuzz_seed.h writes C strings, so the seeds are
 * built here, from libbson, into every empty corpus directory */
static void
fuzz_bson_seeds(int argc, char **argv)
{
    int                i, k;
    FILE              *f;
    DIR               *d;
    bson_t            *docs[3], sub;
    char               path[4096];
    bson_oid_t         oid;
    struct dirent     *de;
    bson_decimal128_t  dec;

    bson_oid_init_from_string(&oid, "674f5a8c0000000000000001");
    docs[0] = BCON_NEW("_id", BCON_OID(&oid),
                       "username", BCON_UTF8("jdoe"),
                       "profile", "{", "firstName", BCON_UTF8("Jo\xc3\xa9"),
                       "lastName", BCON_NULL, "}",
                       "roles", "[", BCON_UTF8("user"), BCON_UTF8("admin"),
                       "]",
                       "createdAt", BCON_DATE_TIME(1756029600000LL),
                       "loginCount", BCON_INT32(7),
                       "score", BCON_DOUBLE(-0.0),
                       "big", BCON_INT64(-9007199254740993LL));

    docs[1] = bson_new();
    bson_append_utf8(docs[1], "nul", -1, "a\0b", 3);
    BSON_APPEND_REGEX(docs[1], "re", "^x", "mix");
    BSON_APPEND_BINARY(docs[1], "bin", BSON_SUBTYPE_UUID,
                       (const uint8_t *) "0123456789abcdef", 16);
    BSON_APPEND_TIMESTAMP(docs[1], "ts", 1, 2);
    BSON_APPEND_UNDEFINED(docs[1], "u");
    BSON_APPEND_MINKEY(docs[1], "min");
    BSON_APPEND_MAXKEY(docs[1], "max");
    BSON_APPEND_SYMBOL(docs[1], "sym", "s");
    BSON_APPEND_CODE(docs[1], "code", "f()");
    BSON_APPEND_DBPOINTER(docs[1], "dbp", "c", &oid);
    bson_decimal128_from_string("1.5E+3", &dec);
    BSON_APPEND_DECIMAL128(docs[1], "dec", &dec);

    docs[2] = bson_new();
    bson_init(&sub);
    BSON_APPEND_DOUBLE(&sub, "nan", 0.0 / 0.0);
    BSON_APPEND_CODE_WITH_SCOPE(docs[2], "cws", "x", &sub);
    BSON_APPEND_UTF8(docs[2], "bad", "\xc3\x28");
    bson_destroy(&sub);

    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-' || (d = opendir(argv[i])) == NULL) {
            continue;
        }

        k = 0;
        while ((de = readdir(d)) != NULL) {
            k += (de->d_name[0] != '.');
        }

        closedir(d);

        for (k = k ? 3 : 0; k < 3; k++) {
            snprintf(path, sizeof(path), "%s/seed-%d", argv[i], k);
            f = fopen(path, "wb");
            if (f != NULL) {
                fwrite(bson_get_data(docs[k]), 1, docs[k]->len, f);
                fclose(f);
            }
        }
    }

    for (k = 0; k < 3; k++) {
        bson_destroy(docs[k]);
    }
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_bson_seeds(*argc, *argv);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                   rc;
    bson_t                b;
    json_t               *direct, *text, *both;
    uint8_t              *buf;
    uint32_t              len;
    jp_bson_json_info_t   info;

    if (size < 5 || size > (1u << 20)) {
        return 0;
    }

    /* exactly the document, as mongoc hands it over: an over-read in the
     * direct path shows. libbson's own (a regex ending in a truncated
     * multibyte sequence is escaped without a bound) stays unseen: the
     * system libbson is not instrumented, so padding would hide nothing */
    buf = malloc(size);
    if (buf == NULL) {
        return 0;
    }

    memcpy(buf, data, size);
    len = (uint32_t) size;
    buf[0] = (uint8_t) len;
    buf[1] = (uint8_t) (len >> 8);
    buf[2] = (uint8_t) (len >> 16);
    buf[3] = (uint8_t) (len >> 24);

    if (!bson_init_static(&b, buf, size)) {
        free(buf);
        return 0;
    }

    /* too deep: refused, and never handed to libbson (its recursion
     * restarts at every $scope, so it could overflow the stack here) */
    info.bytes = 0;
    both = jp_bson_json(&b, &info);
    if (both == NULL && info.error == JP_BSON_JSON_EDEPTH) {
        free(buf);
        return 0;
    }

    text = jp_bson_json_text(&b);
    direct = NULL;
    rc = jp_bson_json_direct(&b, &direct);

    if (rc == JP_BSON_JSON_OK) {
        /* converted: valid BSON, and what the text path gives */
        if (!bson_validate(&b, BSON_VALIDATE_NONE, NULL)
            || !fuzz_same(direct, text))
        {
            abort();
        }

        json_decref(direct);

    } else if (rc != JP_BSON_JSON_FALLBACK) {
        abort();
    }

    if (!fuzz_same(both, text)
        || info.fallback != (rc == JP_BSON_JSON_FALLBACK)
        || (both != NULL && info.bytes != jp_bson_json_size(both)))
    {
        abort();
    }

    json_decref(both);
    json_decref(text);
    free(buf);

    return 0;
}
