/*
 * libFuzzer target: search cursors are hostile. The first byte picks the
 * path: odd, the rest is a token as a client sends it (decoded, verified
 * against two keys, then the whole request parsed, strict and lenient);
 * even, the rest is cursor JSON signed with the first key, so the shape
 * checks, the sort against the schema, the keyset find and a page built
 * from it are reached. A token of the first path must never verify (no
 * forgery); an accepted cursor must give a find and a page.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_search.h"
#include "fuzz_seed.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static jp_search_schema_t  *schema;

static const jp_search_key_t  keys[] = {
    { (const unsigned char *) "0123456789abcdef0123456789abcdef", 32 },
    { (const unsigned char *) "an older key, still accepted....", 32 },
};

static const char  *const fuzz_seeds[] = {
    "\x00" "{\"v\":1,\"q\":{\"status\":\"active\"},\"s\":{\"createdAt\":-1,"
    "\"_id\":-1},\"l\":20,\"t\":1547,\"lv\":{\"createdAt\":{\"$date\":"
    "{\"$numberLong\":\"1756029600000\"}},\"_id\":{\"$oid\":"
    "\"674f5a8c0000000000000001\"}},\"d\":1}",
    "\x00" "{\"v\":1,\"q\":{},\"s\":{\"profile.lastName\":1,\"_id\":1},"
    "\"l\":5,\"t\":9,\"lv\":{\"profile.lastName\":null,\"_id\":{\"$oid\":"
    "\"000000000000000000000005\"}},\"d\":-1,\"c\":1}",
    "\x00" "{\"v\":1,\"q\":{\"$or\":[{\"a\":1}]},\"s\":{\"_id\":1},\"l\":1000,"
    "\"t\":0,\"d\":1}",
    "\x01" "eyJ2IjoxLCJxIjp7fSwicyI6eyJfaWQiOjF9LCJsIjo1LCJ0IjoxLCJkIjoxfQ."
    "J7y9E6jg-tqg-OOHO7c7SM2KuoY_YbuKL1NDhcRJhxI",
    "\x01" "eyJ2IjoxLCJxIjp7fSwicyI6eyJfaWQiOjF9LCJsIjo1LCJ0IjoxLCJkIjoxfQ==",
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[256];

    fuzz_seed_corpora(*argc, *argv, fuzz_seeds,
                      sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]), 1);

    schema = jp_search_schema_builtin("users", err, sizeof(err));
    if (schema == NULL) {
        abort();
    }

    return 0;
}


static void
fuzz_request(const char *args, size_t len, int lenient, int must_fail)
{
    int                  rc;
    long                 limit, skip;
    json_t              *filter, *sort, *docs, *page;
    jp_search_error_t    err;
    jp_search_request_t  req;

    rc = jp_search_parse(schema, "users", args, len, keys, 2, lenient, &req,
                         &err);

    if (rc != 0) {
        if (err.code == NULL) {
            abort();
        }

        jp_search_request_free(&req);
        return;
    }

    if (must_fail && req.has_cursor) {
        /* a token nobody signed was accepted: a forgery */
        abort();
    }

    if (req.limit < 1 || req.limit > JP_SEARCH_LIMIT_MAX
        || req.query == NULL || req.sort == NULL
        || json_object_size(req.sort) < 1 || json_object_size(req.sort) > 2)
    {
        abort();
    }

    if (jp_search_find(&req, &filter, &sort, &limit, &skip) != 0) {
        abort();
    }

    /* a page of two rows shaped from the cursor's own bounds */
    docs = json_pack("[{s:O?},{s:{s:s}}]", "_id",
                     json_object_get(req.last, "_id"), "_id", "$oid",
                     "000000000000000000000001");
    if (docs != NULL) {
        page = jp_search_page(schema, "users", &req, docs, 2, &keys[0]);
        json_decref(page);
        json_decref(docs);
    }

    json_decref(filter);
    json_decref(sort);
    jp_search_request_free(&req);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *args, *tok;
    size_t   n;
    json_t  *c;

    if (size == 0 || size > 2 * JP_SEARCH_CURSOR_MAX) {
        return 0;
    }

    if (data[0] & 1) {
        /* a client's token, as the cursor parameter's raw value */
        args = malloc(size + 8);
        if (args == NULL) {
            return 0;
        }

        memcpy(args, "cursor=", 7);
        memcpy(args + 7, data + 1, size - 1);
        n = size + 6;

        fuzz_request(args, n, data[0] & 2, 1);

        c = jp_search_cursor_decode((const char *) data + 1, size - 1,
                                    "users", keys, 2, NULL);
        if (c != NULL) {
            abort();
        }

        free(args);
        return 0;
    }

    /* JSON we signed: the shape checks decide */
    c = json_loadb((const char *) data + 1, size - 1, 0, NULL);
    if (c == NULL) {
        return 0;
    }

    tok = jp_search_cursor_encode(c, "users", &keys[data[0] >> 7]);
    json_decref(c);

    if (tok == NULL) {
        return 0;
    }

    n = strlen(tok);
    args = malloc(n + 32);
    if (args != NULL) {
        n = sprintf(args, "cursor=%s%s", tok,
                    (data[0] & 2) ? "&limit=7" : "");
        fuzz_request(args, n, data[0] & 4, 0);
        free(args);
    }

    free(tok);

    return 0;
}
