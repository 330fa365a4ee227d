/*
 * libFuzzer target: search query strings are hostile. The first byte
 * picks the schema (users or logs) and the path: the rest is either a
 * whole query string (decoded, every parameter read, the filters built,
 * a find and a page made) or one value of the W-141 syntax and of a date
 * field given straight to the parsers. Every result must be a JSON
 * document jansson can write, bounded; every refusal must name its code
 * and parameter.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_search.h"
#include "fuzz_seed.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static jp_search_schema_t  *schemas[2];

static const jp_search_key_t  key = {
    (const unsigned char *) "0123456789abcdef0123456789abcdef", 32
};

static const char  *const fuzz_seeds[] = {
    "\x00" "username=a;b,c;!d&status=active&sort=-createdAt&limit=20",
    "\x00" "name=jo*,!smith&roles=admin,user&createdAt=2025-08",
    "\x00" "username=/^BC[0-9]{4}/i&email=*@example.com&offset=10",
    "\x00" "username=/a,b;c/,d&lastLogin=2025-08-24T10:00:00.5%2B02:00",
    "\x00" "_id=5f1d7f3e8b9c2a0017a1b2c3&loginCount=2.5&cursor=true",
    "\x01" "data.docType=user*&data.action=update&data.docId=global",
    "\x02" "/(a+)+/",
    "\x02" "a.b*(c)|[x]{2}",
    "\x04" "2025-03-09",
    "\x04" "2025-08-24T10:00",
};


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char  err[256];

    fuzz_seed_corpora(*argc, *argv, fuzz_seeds,
                      sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]), 1);

    setenv("TZ", "America/Los_Angeles", 1);

    schemas[0] = jp_search_schema_builtin("users", err, sizeof(err));
    schemas[1] = jp_search_schema_builtin("logs", err, sizeof(err));

    if (schemas[0] == NULL || schemas[1] == NULL) {
        abort();
    }

    return 0;
}


static void
fuzz_written(json_t *j)
{
    char  *s;

    s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (s == NULL) {
        abort();
    }

    free(s);
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                  exact;
    long                 limit, skip;
    json_t              *q, *filter, *sort, *docs, *page;
    const char          *v;
    jp_search_error_t    err;
    jp_search_request_t  req;
    jp_search_schema_t  *schema;

    if (size == 0 || size > 16384) {
        return 0;
    }

    schema = schemas[data[0] & 1];
    v = (const char *) data + 1;

    if (data[0] & 2) {
        memset(&err, 0, sizeof(err));
        q = jp_search_filter_string("f", v, size - 1, &exact, &err);

        if (q == NULL) {
            if (err.param[0] != 'f') {
                abort();
            }
        } else {
            fuzz_written(q);
            json_decref(q);
        }

        return 0;
    }

    if (data[0] & 4) {
        memset(&err, 0, sizeof(err));
        q = jp_search_filter_date("d", v, size - 1, &err);

        if (q == NULL) {
            if (err.code == NULL) {
                abort();
            }
        } else {
            fuzz_written(q);
            json_decref(q);
        }

        return 0;
    }

    if (jp_search_parse(schema, "users", v, size - 1, &key, 1, data[0] & 8,
                        &req, &err)
        != 0)
    {
        if (err.code == NULL || err.param[0] == '\0') {
            abort();
        }

        jp_search_request_free(&req);
        return 0;
    }

    if (jp_search_find(&req, &filter, &sort, &limit, &skip) != 0) {
        abort();
    }

    if (limit < 2 || limit > JP_SEARCH_LIMIT_MAX + 1 || skip < 0) {
        abort();
    }

    fuzz_written(filter);
    fuzz_written(sort);

    docs = json_pack("[{s:{s:s},s:s}]", "_id", "$oid",
                     "000000000000000000000001", "username", "u");
    if (docs != NULL) {
        page = jp_search_page(schema, "users", &req, docs, 1, &key);
        if (page != NULL) {
            fuzz_written(page);
        }

        json_decref(page);
        json_decref(docs);
    }

    json_decref(filter);
    json_decref(sort);
    jp_search_request_free(&req);

    return 0;
}
