/*
 * Unit tests: libjpulse/jp_search.c and jp_search_cursor.c (parameters,
 * the exact find of first, forward and backward pages, pages and their
 * cursors, every cursor refusal), and a keyset walk over an in-memory
 * collection that evaluates the range filters with MongoDB's ordering
 * (null and missing first, ties on the sort key, dotted keys).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_search.h"
#include "jp_tz.h"


static jp_search_schema_t  *users;

static const jp_search_key_t  keys[] = {
    { (const unsigned char *) "0123456789abcdef0123456789abcdef", 32 },
    { (const unsigned char *) "an older key, still accepted....", 32 },
};

static const jp_search_key_t  gone = {
    (const unsigned char *) "a key no longer listed..........", 32
};


static int
setup(void **state)
{
    char  err[256];

    users = jp_search_schema_builtin("users", err, sizeof(err));

    return users ? 0 : -1;
}


static int
teardown(void **state)
{
    jp_search_schema_free(users);

    return 0;
}


static char *
dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT);
}


static void
parse_ok(const char *q, jp_search_request_t *req)
{
    jp_search_error_t  err;

    if (jp_search_parse(users, "users", q, strlen(q), keys, 2, 0, req, &err)
        != 0)
    {
        fail_msg("%s: %s %s %s", q, err.code, err.param, err.message);
    }
}


static void
find_is(const jp_search_request_t *req, const char *filter, const char *sort,
    long limit, long skip)
{
    long     l, s;
    char    *f, *o;
    json_t  *jf, *js;

    assert_int_equal(jp_search_find(req, &jf, &js, &l, &s), 0);
    f = dump(jf);
    o = dump(js);

    if (strcmp(f, filter) != 0 || strcmp(o, sort) != 0) {
        fail_msg("\n got: %s %s\nwant: %s %s", f, o, filter, sort);
    }

    assert_int_equal(l, limit);
    assert_int_equal(s, skip);

    free(f);
    free(o);
    json_decref(jf);
    json_decref(js);
}


static void
refused(const char *q, const char *code, const char *param)
{
    jp_search_error_t    err;
    jp_search_request_t  req;

    if (jp_search_parse(users, "users", q, strlen(q), keys, 2, 0, &req, &err)
        == 0)
    {
        fail_msg("%s: accepted", q);
    }

    assert_string_equal(err.code, code);
    assert_string_equal(err.param, param);
    jp_search_request_free(&req);
}


/* a token of cursor JSON text c signed with key k for collection coll */

static char *
token(const char *c, const char *coll, const jp_search_key_t *k)
{
    char    *t, *q;
    json_t  *j;

    j = json_loads(c, 0, NULL);
    assert_non_null(j);
    t = jp_search_cursor_encode(j, coll, k);
    json_decref(j);
    assert_non_null(t);

    q = malloc(strlen(t) + 8);
    sprintf(q, "cursor=%s", t);
    free(t);

    return q;
}


static void
test_limit_offset(void **state)
{
    jp_search_request_t  req;

    static const struct {
        const char  *q;
        long         limit;
    } cases[] = {
        { "", 50 }, { "limit=20", 20 }, { "limit=0", 50 },
        { "limit=abc", 50 }, { "limit=-5", 1 }, { "limit=5000", 1000 },
        { "limit=+12abc", 12 }, { "limit=1e3", 1 },
        { "limit=99999999999999999999999", 1000 }, { "limit=", 50 },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(cases[i].q, &req);
        assert_int_equal(req.limit, cases[i].limit);
        assert_int_equal(req.mode, JP_SEARCH_CURSOR);
        jp_search_request_free(&req);
    }

    /* offset: present is offset mode; garbage or negative is 0 */
    parse_ok("offset=0", &req);
    assert_int_equal(req.mode, JP_SEARCH_OFFSET);
    find_is(&req, "{}", "{\"_id\":1}", 51, 0);
    jp_search_request_free(&req);

    parse_ok("offset=40&limit=20&sort=-createdAt", &req);
    find_is(&req, "{}", "{\"createdAt\":-1,\"_id\":-1}", 21, 40);
    jp_search_request_free(&req);

    parse_ok("offset=x", &req);
    assert_int_equal(req.offset, 0);
    jp_search_request_free(&req);

    parse_ok("offset=-7", &req);
    assert_int_equal(req.offset, 0);
    jp_search_request_free(&req);
}


static void
test_sort(void **state)
{
    jp_search_request_t  req;

    static const struct {
        const char  *q;
        const char  *sort;
    } cases[] = {
        { "", "{\"_id\":1}" },
        { "sort=+", "{\"_id\":1}" },
        { "sort=createdAt", "{\"createdAt\":1,\"_id\":1}" },
        { "sort=-createdAt", "{\"createdAt\":-1,\"_id\":-1}" },
        { "sort=createdAt:1", "{\"createdAt\":1,\"_id\":1}" },
        { "sort=createdAt:-1", "{\"createdAt\":-1,\"_id\":-1}" },
        { "sort=createdAt:desc", "{\"createdAt\":-1,\"_id\":-1}" },
        { "sort=createdAt:asc", "{\"createdAt\":1,\"_id\":1}" },
        { "sort=profile.lastName:DESC",
          "{\"profile.lastName\":-1,\"_id\":-1}" },
        { "sort=-_id", "{\"_id\":-1}" },
        { "sort=_id:1", "{\"_id\":1}" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        parse_ok(cases[i].q, &req);
        find_is(&req, "{}", cases[i].sort, 51, 0);
        jp_search_request_free(&req);
    }

    /* a hidden, unknown, array or mixed field, or bad syntax: 400 */
    refused("sort=passwordHash", "INVALID_PARAMETER", "sort");
    refused("sort=-passwordHash", "INVALID_PARAMETER", "sort");
    refused("sort=nope", "INVALID_PARAMETER", "sort");
    refused("sort=roles", "INVALID_PARAMETER", "sort");
    refused("sort=profile", "INVALID_PARAMETER", "sort");
    refused("sort=createdAt:2", "INVALID_PARAMETER", "sort");
    refused("sort=createdAt:-1:x", "INVALID_PARAMETER", "sort");
    refused("sort=-", "INVALID_PARAMETER", "sort");
    refused("sort=:1", "INVALID_PARAMETER", "sort");
}


static void
test_query_string(void **state)
{
    int                  i;
    char                 q[2048], *p;
    jp_search_request_t  req;

    /* + is a space, %XX decoded, a bad escape keeps the text as sent */
    parse_ok("username=a+b%2Cc", &req);
    find_is(&req, "{\"$or\":[{\"username\":\"a b\"},{\"username\":\"c\"}]}",
            "{\"_id\":1}", 51, 0);
    jp_search_request_free(&req);

    parse_ok("username=100%25&email=a%zz", &req);
    find_is(&req, "{\"username\":\"100%\",\"email\":\"a%zz\"}", "{\"_id\":1}",
            51, 0);
    jp_search_request_free(&req);

    /* a pair without a name is dropped (qs), whatever its value */
    parse_ok("user%6Eame=x&&=&foo&limit&=%00", &req);
    find_is(&req, "{\"username\":\"x\"}", "{\"_id\":1}", 51, 0);
    jp_search_request_free(&req);

    refused("username=a%00b", "INVALID_PARAMETER", "username");
    refused("user%00name=a", "INVALID_PARAMETER", "query");
    /* escapes that are not UTF-8: the text as sent (qs) */
    parse_ok("username=%C3%28", &req);
    find_is(&req, "{\"username\":\"%C3%28\"}", "{\"_id\":1}", 51, 0);
    jp_search_request_free(&req);
    refused("username=\xff", "INVALID_PARAMETER", "username");

    /* a parameter we read, given twice */
    refused("username=a&username=b", "INVALID_PARAMETER", "username");
    refused("limit=1&limit=2", "INVALID_PARAMETER", "limit");
    refused("name=a&name=b", "INVALID_PARAMETER", "name");
    refused("cursor=true&cursor=true", "INVALID_PARAMETER", "cursor");

    /* others are ignored, even twice */
    parse_ok("foo=1&foo=2&password=a&password=b", &req);
    jp_search_request_free(&req);

    /* at most 64 parameters */
    p = q;
    for (i = 0; i < 64; i++) {
        p += sprintf(p, "%sx%d=1", i ? "&" : "", i);
    }

    parse_ok(q, &req);
    jp_search_request_free(&req);

    strcat(q, "&y=1");
    refused(q, "INVALID_PARAMETER", "query");
}


/*
 * Pages over a collection: first, forward, backward, with the documents
 * MongoDB would return; the exact find of each.
 */

static void
test_pages(void **state)
{
    char                *s, *q;
    json_t              *docs, *page, *pg, *j;
    jp_search_request_t  req;

    parse_ok("sort=-createdAt&limit=2&status=active", &req);
    assert_int_equal(req.has_cursor, 0);
    find_is(&req, "{\"status\":\"active\"}",
            "{\"createdAt\":-1,\"_id\":-1}", 3, 0);

    j = jp_search_count_filter(&req);
    s = dump(j);
    assert_string_equal(s, "{\"status\":\"active\"}");
    free(s);
    json_decref(j);

    j = jp_search_collation(&req);
    s = dump(j);
    assert_string_equal(s, "{\"locale\":\"en\",\"strength\":2}");
    free(s);
    json_decref(j);

    docs = json_loads(
        "[{\"_id\":{\"$oid\":\"00000000000000000000000c\"},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"3000\"}},"
        "\"passwordHash\":\"$2b$secret\",\"status\":\"active\"},"
        "{\"_id\":{\"$oid\":\"00000000000000000000000b\"},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"2000\"}}},"
        "{\"_id\":{\"$oid\":\"00000000000000000000000a\"},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"1000\"}}}]", 0, NULL);

    page = jp_search_page(users, "users", &req, docs, 7, &keys[0]);
    assert_non_null(page);
    json_decref(docs);
    jp_search_request_free(&req);

    /* rows as jPulse's JSON, passwordHash gone, the extra row dropped */
    s = dump(json_object_get(page, "data"));
    assert_string_equal(s,
        "[{\"_id\":\"00000000000000000000000c\","
        "\"createdAt\":\"1970-01-01T00:00:03.000Z\",\"status\":\"active\"},"
        "{\"_id\":\"00000000000000000000000b\","
        "\"createdAt\":\"1970-01-01T00:00:02.000Z\"}]");
    free(s);

    pg = json_object_get(page, "pagination");
    assert_int_equal(json_integer_value(json_object_get(page, "count")), 2);
    assert_string_equal(json_string_value(json_object_get(pg, "mode")),
                        "cursor");
    assert_int_equal(json_integer_value(json_object_get(pg, "total")), 7);
    assert_true(json_is_true(json_object_get(pg, "hasMore")));
    assert_true(json_is_null(json_object_get(pg, "prevCursor")));
    assert_true(json_is_string(json_object_get(pg, "nextCursor")));

    /* page 2 (forward): the keyset range after the last row */
    q = malloc(9000);
    snprintf(q, 9000, "cursor=%s&status=ignored&sort=ignored",
             json_string_value(json_object_get(pg, "nextCursor")));
    json_decref(page);

    parse_ok(q, &req);
    assert_int_equal(req.has_cursor, 1);
    assert_int_equal(req.limit, 2);
    assert_int_equal(req.total, 7);
    assert_int_equal(req.collation, 1);
    find_is(&req,
            "{\"$and\":[{\"status\":\"active\"},{\"$or\":["
            "{\"createdAt\":{\"$lt\":{\"$date\":{\"$numberLong\":\"2000\"}}}},"
            "{\"createdAt\":null},"
            "{\"createdAt\":{\"$date\":{\"$numberLong\":\"2000\"}},"
            "\"_id\":{\"$lt\":{\"$oid\":\"00000000000000000000000b\"}}}]}]}",
            "{\"createdAt\":-1,\"_id\":-1}", 3, 0);

    /* the collation applies on every page */
    j = jp_search_collation(&req);
    s = dump(j);
    assert_string_equal(s, "{\"locale\":\"en\",\"strength\":2}");
    free(s);
    json_decref(j);

    docs = json_loads(
        "[{\"_id\":{\"$oid\":\"00000000000000000000000a\"},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"1000\"}}},"
        "{\"_id\":{\"$oid\":\"000000000000000000000009\"},"
        "\"createdAt\":{\"$date\":{\"$numberLong\":\"900\"}}},"
        "{\"_id\":{\"$oid\":\"000000000000000000000008\"}}]", 0, NULL);

    /* total stays the first page's (t), whatever count says now */
    page = jp_search_page(users, "users", &req, docs, 99, &keys[0]);
    json_decref(docs);
    jp_search_request_free(&req);

    pg = json_object_get(page, "pagination");
    assert_int_equal(json_integer_value(json_object_get(pg, "total")), 7);
    assert_true(json_is_true(json_object_get(pg, "hasMore")));
    assert_true(json_is_string(json_object_get(pg, "prevCursor")));

    /* prev from page 2 (backward): inverted sort, range before row 1 */
    snprintf(q, 9000, "cursor=%s",
             json_string_value(json_object_get(pg, "prevCursor")));
    json_decref(page);

    parse_ok(q, &req);
    assert_int_equal(req.direction, -1);
    find_is(&req,
            "{\"$and\":[{\"status\":\"active\"},{\"$or\":["
            "{\"createdAt\":{\"$gt\":{\"$date\":{\"$numberLong\":\"1000\"}}}},"
            "{\"createdAt\":{\"$date\":{\"$numberLong\":\"1000\"}},"
            "\"_id\":{\"$gt\":{\"$oid\":\"00000000000000000000000a\"}}}]}]}",
            "{\"createdAt\":1,\"_id\":1}", 3, 0);

    /* MongoDB returns them nearest first: b, c and nothing more */
    docs = json_loads(
        "[{\"_id\":{\"$oid\":\"00000000000000000000000b\"}},"
        "{\"_id\":{\"$oid\":\"00000000000000000000000c\"}}]", 0, NULL);
    page = jp_search_page(users, "users", &req, docs, 99, &keys[0]);
    json_decref(docs);
    jp_search_request_free(&req);

    s = dump(json_object_get(page, "data"));
    assert_string_equal(s, "[{\"_id\":\"00000000000000000000000c\"},"
                           "{\"_id\":\"00000000000000000000000b\"}]");
    free(s);

    /* back at the start: a next, no prev */
    pg = json_object_get(page, "pagination");
    assert_true(json_is_true(json_object_get(pg, "hasMore")));
    assert_true(json_is_string(json_object_get(pg, "nextCursor")));
    assert_true(json_is_null(json_object_get(pg, "prevCursor")));
    json_decref(page);

    free(q);
}


static void
test_offset_page(void **state)
{
    char                *s;
    json_t              *docs, *page;
    jp_search_request_t  req;

    parse_ok("offset=2&limit=2", &req);
    docs = json_loads("[{\"_id\":{\"$oid\":\"000000000000000000000003\"}},"
                      "{\"_id\":{\"$oid\":\"000000000000000000000004\"}},"
                      "{\"_id\":{\"$oid\":\"000000000000000000000005\"}}]",
                      0, NULL);
    page = jp_search_page(users, "users", &req, docs, 5, &keys[0]);
    json_decref(docs);
    jp_search_request_free(&req);

    s = dump(page);
    assert_string_equal(s,
        "{\"data\":[{\"_id\":\"000000000000000000000003\"},"
        "{\"_id\":\"000000000000000000000004\"}],\"count\":2,"
        "\"pagination\":{\"mode\":\"offset\",\"total\":5,\"limit\":2,"
        "\"offset\":2,\"hasMore\":true}}");
    free(s);
    json_decref(page);
}


static void
test_dotted_sort(void **state)
{
    char                *s, *q;
    json_t              *docs, *page, *c;
    jp_search_request_t  req;

    parse_ok("sort=profile.lastName&limit=1", &req);
    docs = json_loads(
        "[{\"_id\":{\"$oid\":\"000000000000000000000001\"},"
        "\"profile\":{\"lastName\":\"Doe\"}},"
        "{\"_id\":{\"$oid\":\"000000000000000000000002\"}}]", 0, NULL);
    page = jp_search_page(users, "users", &req, docs, 2, &keys[0]);
    json_decref(docs);
    jp_search_request_free(&req);

    q = malloc(9000);
    snprintf(q, 9000, "cursor=%s", json_string_value(json_object_get(
        json_object_get(page, "pagination"), "nextCursor")));
    json_decref(page);

    /* the value is read by path (jPulse read doc["profile.lastName"]) */
    c = jp_search_cursor_decode(q + 7, strlen(q + 7), "users", keys, 1, NULL);
    assert_non_null(c);
    s = dump(json_object_get(c, "lv"));
    assert_string_equal(s, "{\"profile.lastName\":\"Doe\","
                           "\"_id\":{\"$oid\":\"000000000000000000000001\"}}");
    free(s);
    json_decref(c);

    parse_ok(q, &req);
    find_is(&req,
            "{\"$and\":[{},{\"$or\":[{\"profile.lastName\":{\"$gt\":\"Doe\"}},"
            "{\"profile.lastName\":\"Doe\",\"_id\":{\"$gt\":{\"$oid\":"
            "\"000000000000000000000001\"}}}]}]}",
            "{\"profile.lastName\":1,\"_id\":1}", 2, 0);
    jp_search_request_free(&req);
    free(q);
}


static void
test_null_bounds(void **state)
{
    char                *q;
    jp_search_request_t  req;

    /* ascending past null: every non-null value, then the null ties */
    q = token("{\"v\":1,\"q\":{},\"s\":{\"loginCount\":1,\"_id\":1},\"l\":5,"
              "\"t\":9,\"lv\":{\"loginCount\":null,\"_id\":{\"$oid\":"
              "\"000000000000000000000005\"}},\"d\":1}", "users", &keys[0]);
    parse_ok(q, &req);
    find_is(&req,
            "{\"$and\":[{},{\"$or\":[{\"loginCount\":{\"$ne\":null}},"
            "{\"loginCount\":null,\"_id\":{\"$gt\":{\"$oid\":"
            "\"000000000000000000000005\"}}}]}]}",
            "{\"loginCount\":1,\"_id\":1}", 6, 0);
    jp_search_request_free(&req);
    free(q);

    /* descending past null: only the null ties are left */
    q = token("{\"v\":1,\"q\":{},\"s\":{\"loginCount\":-1,\"_id\":-1},"
              "\"l\":5,\"t\":9,\"lv\":{\"loginCount\":null,\"_id\":{\"$oid\":"
              "\"000000000000000000000005\"}},\"d\":1}", "users", &keys[0]);
    parse_ok(q, &req);
    find_is(&req,
            "{\"$and\":[{},{\"$or\":[{\"loginCount\":null,\"_id\":{\"$lt\":"
            "{\"$oid\":\"000000000000000000000005\"}}}]}]}",
            "{\"loginCount\":-1,\"_id\":-1}", 6, 0);
    jp_search_request_free(&req);
    free(q);
}


/*
 * Cursor refusals: tampered, foreign collection, a key no longer listed,
 * garbled, too long, wrong types, limits outside 1..1000, a sort not
 * normalized or on a field not in the schema. Lenient: the first page.
 */

static void
test_cursor_refusals(void **state)
{
    size_t               i;
    char                *q, *big;
    jp_search_error_t    err;
    jp_search_request_t  req;

    static const char  *bad[] = {
        "{\"v\":2,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
        "{\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":[],\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":0,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":1001,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":\"5\",\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":-1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":0}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1,"
        "\"x\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":2},\"l\":5,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{},\"l\":5,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"createdAt\":1},\"l\":5,\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1,\"createdAt\":1},\"l\":5,"
        "\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"createdAt\":1,\"_id\":-1},\"l\":5,"
        "\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"passwordHash\":1,\"_id\":1},\"l\":5,"
        "\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"nope\":1,\"_id\":1},\"l\":5,"
        "\"t\":1,\"d\":1}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1,"
        "\"lv\":{}}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1,"
        "\"lv\":{\"_id\":[1]}}",
        "{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1,"
        "\"c\":2}",
        "[1]",
    };

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        q = token(bad[i], "users", &keys[0]);
        refused(q, "INVALID_CURSOR", "cursor");
        free(q);
    }

    /* well signed and well formed: accepted, by either key */
    q = token("{\"v\":1,\"q\":{\"a\":1},\"s\":{\"_id\":1},\"l\":5,\"t\":1,"
              "\"d\":1}", "users", &keys[1]);
    parse_ok(q, &req);
    assert_int_equal(req.has_cursor, 1);
    jp_search_request_free(&req);
    free(q);

    /* foreign collection, a key no longer listed */
    q = token("{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
              "logs", &keys[0]);
    refused(q, "INVALID_CURSOR", "cursor");
    free(q);

    q = token("{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
              "users", &gone);
    refused(q, "INVALID_CURSOR", "cursor");

    /* tampered: one character of the JSON, of the signature */
    q[10] ^= 1;
    refused(q, "INVALID_CURSOR", "cursor");
    q[10] ^= 1;
    q[strlen(q) - 3] = (q[strlen(q) - 3] == 'A') ? 'B' : 'A';
    refused(q, "INVALID_CURSOR", "cursor");
    free(q);

    /* garbled */
    refused("cursor=garbage", "INVALID_CURSOR", "cursor");
    refused("cursor=.", "INVALID_CURSOR", "cursor");
    refused("cursor=eyJ2IjoxfQ==", "INVALID_CURSOR", "cursor");
    refused("cursor=eyJ2IjoxfQ.AAAA", "INVALID_CURSOR", "cursor");

    /* jPulse's unsigned cursor (base64 of the JSON) */
    refused("cursor=eyJ2IjoxLCJxIjp7fSwicyI6eyJfaWQiOjF9LCJsIjo1LCJ0IjoxLC"
            "JkIjoxfQ%3D%3D", "INVALID_CURSOR", "cursor");

    /* too long */
    big = malloc(JP_SEARCH_CURSOR_MAX + 32);
    strcpy(big, "cursor=");
    memset(big + 7, 'A', JP_SEARCH_CURSOR_MAX + 1);
    big[7 + JP_SEARCH_CURSOR_MAX + 1] = '\0';
    refused(big, "INVALID_CURSOR", "cursor");

    /* lenient: the first page of the request's own parameters */
    strcat(big, "&username=x");
    assert_int_equal(jp_search_parse(users, "users", big, strlen(big), keys, 2,
                                     1, &req, &err), 0);
    assert_int_equal(req.has_cursor, 0);
    find_is(&req, "{\"username\":\"x\"}", "{\"_id\":1}", 51, 0);
    jp_search_request_free(&req);
    free(big);

    /* lenient without an error record to fill */
    assert_int_equal(jp_search_parse(users, "users", "cursor=garbage", 14,
                                     keys, 2, 1, &req, NULL), 0);
    assert_int_equal(req.has_cursor, 0);
    jp_search_request_free(&req);

    /* cursor=true and an empty cursor: the first page */
    parse_ok("cursor=true&username=x", &req);
    assert_int_equal(req.has_cursor, 0);
    jp_search_request_free(&req);
    parse_ok("cursor=", &req);
    assert_int_equal(req.has_cursor, 0);
    jp_search_request_free(&req);

    /* no key at all: nothing verifies */
    q = token("{\"v\":1,\"q\":{},\"s\":{\"_id\":1},\"l\":5,\"t\":1,\"d\":1}",
              "users", &keys[0]);
    assert_int_equal(jp_search_parse(users, "users", q, strlen(q), NULL, 0, 0,
                                     &req, &err), -1);
    assert_string_equal(err.code, "INVALID_CURSOR");
    jp_search_request_free(&req);
    free(q);
}


static void
test_public_doc(void **state)
{
    char    *s;
    json_t  *doc, *out;

    doc = json_loads(
        "{\"_id\":{\"$oid\":\"5f1d7f3e8b9c2a0017a1b2c3\"},"
        "\"passwordHash\":\"x\",\"n\":{\"$numberInt\":\"5\"},"
        "\"l\":{\"$numberLong\":\"9007199254740993\"},"
        "\"d\":{\"$numberDouble\":\"1.5\"},\"nan\":{\"$numberDouble\":\"NaN\"},"
        "\"t\":{\"$date\":{\"$numberLong\":\"-1\"}},"
        "\"far\":{\"$date\":{\"$numberLong\":\"253402300800000\"}},"
        "\"re\":{\"$regularExpression\":{\"pattern\":\"a\",\"options\":\"\"}},"
        "\"u\":{\"$undefined\":true},\"sym\":{\"$symbol\":\"s\"},"
        "\"dec\":{\"$numberDecimal\":\"1.10\"},"
        "\"a\":[{\"$oid\":\"5f1d7f3e8b9c2a0017a1b2c3\"},{\"$undefined\":true}],"
        "\"o\":{\"$oid\":\"x\",\"other\":1}}", 0, NULL);
    assert_non_null(doc);

    out = jp_search_public_doc(users, doc);
    s = dump(out);
    assert_string_equal(s,
        "{\"_id\":\"5f1d7f3e8b9c2a0017a1b2c3\",\"n\":5,"
        "\"l\":9007199254740993,\"d\":1.5,\"nan\":null,"
        "\"t\":\"1969-12-31T23:59:59.999Z\","
        "\"far\":\"+010000-01-01T00:00:00.000Z\",\"re\":{},"
        "\"sym\":\"s\",\"dec\":{\"$numberDecimal\":\"1.10\"},"
        "\"a\":[\"5f1d7f3e8b9c2a0017a1b2c3\",null],"
        "\"o\":{\"$oid\":\"x\",\"other\":1}}");
    free(s);
    json_decref(out);
    json_decref(doc);
}


static void
test_schema_files(void **state)
{
    char                 err[256], *a, *b;
    jp_search_schema_t  *s;
    json_t              *j;

    /* the shipped files and the built-in schemas are the same */
    s = jp_search_schema_load("conf/search/users.json", err, sizeof(err));
    assert_non_null(s);
    jp_search_schema_free(s);
    s = jp_search_schema_load("conf/search/logs.json", err, sizeof(err));
    assert_non_null(s);
    jp_search_schema_free(s);

    s = jp_search_schema_load("/nonexistent.json", err, sizeof(err));
    assert_null(s);
    assert_non_null(strstr(err, "/nonexistent.json"));

    static const char  *bad[] = {
        "[]", "{}", "{\"fields\":{}}",
        "{\"fields\":{\"a\":\"nope\"}}",
        "{\"fields\":{\"a$b\":\"string\"}}",
        "{\"fields\":{\"a..b\":\"string\"}}",
        "{\"fields\":{\"a\":{\"type\":\"number\",\"enum\":[\"x\"]}}}",
        "{\"fields\":{\"a\":{\"type\":\"string\",\"enum\":[1]}}}",
        "{\"fields\":{\"a\":\"string\"},\"multi\":{\"n\":[\"b\"]}}",
        "{\"fields\":{\"a\":\"string\"},\"hidden\":\"a\"}",
        "{\"fields\":{\"a\":\"string\"},\"other\":1}",
        "{\"fields\":{\"a\":{\"type\":\"string\",\"sort\":1}}}",
        ("{\"fields\":{\"m.s\":\"string\"},\"hidden\":[\"m\"],"
         "\"multi\":{\"n\":[\"m.s\"]}}"),
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        j = json_loads(bad[i], 0, NULL);
        s = jp_search_schema_from_json(j, err, sizeof(err));
        if (s != NULL) {
            fail_msg("accepted: %s", bad[i]);
        }

        json_decref(j);
    }

    assert_null(jp_search_schema_builtin("nope", err, sizeof(err)));

    /* inside a hidden path: neither filtered nor sorted on, nor returned */
    j = json_loads("{\"fields\":{\"mfa.secret\":\"string\","
                   "\"mfab\":\"string\"},\"hidden\":[\"mfa\"]}", 0, NULL);
    s = jp_search_schema_from_json(j, err, sizeof(err));
    assert_non_null(s);
    json_decref(j);

    {
        jp_search_error_t    e;
        jp_search_request_t  req;
        json_t              *doc, *out;

        assert_int_equal(jp_search_parse(s, "x", "mfa.secret=a&mfab=b", 19,
                                         keys, 1, 0, &req, &e), 0);
        a = dump(req.query);
        assert_string_equal(a, "{\"mfab\":\"b\"}");
        free(a);
        jp_search_request_free(&req);

        assert_int_equal(jp_search_parse(s, "x", "sort=mfa.secret", 15,
                                         keys, 1, 0, &req, &e), -1);
        jp_search_request_free(&req);

        doc = json_loads("{\"mfa\":{\"secret\":1},\"mfab\":2}", 0, NULL);
        out = jp_search_public_doc(s, doc);
        b = dump(out);
        assert_string_equal(b, "{\"mfab\":2}");
        free(b);
        json_decref(out);
        json_decref(doc);
    }

    jp_search_schema_free(s);
}


/* hidden paths inside objects: removed as from a deep copy, and the
 * caller's document is left as it was (the page reads its cursor
 * values from it afterwards) */
static void
test_public_doc_hidden(void **state)
{
    size_t               i;
    char                 err[256], *before, *after, *s;
    json_t              *j, *doc, *out;
    jp_search_schema_t  *sc;

    static const struct {
        const char  *doc;
        const char  *out;
    } cases[] = {
        /* nested, a sibling kept; order kept */
        { "{\"mfa\":{\"secret\":1,\"on\":true},\"x\":1}",
          "{\"mfa\":{\"on\":true},\"x\":1}" },
        /* two paths under one object, and the rest of it in order */
        { "{\"p\":{\"a\":1,\"c\":2,\"b\":3},\"z\":0}",
          "{\"p\":{\"c\":2},\"z\":0}" },
        /* what is left is read as Extended JSON: a lone $oid is a string */
        { "{\"w\":{\"k\":1,\"$oid\":\"674f5a8c0000000000000001\"}}",
          "{\"w\":\"674f5a8c0000000000000001\"}" },
        /* an array on the way, or a scalar, or nothing: not touched */
        { "{\"arr\":[{\"b\":1}],\"mfa\":5,\"deep\":{\"x\":[]}}",
          "{\"arr\":[{\"b\":1}],\"mfa\":5,\"deep\":{\"x\":[]}}" },
        /* three levels, the middle object shared by two paths */
        { "{\"deep\":{\"x\":{\"y\":1,\"z\":2},\"q\":{\"$numberInt\":\"3\"}},"
          "\"top\":1,\"p\":{\"a\":{\"$date\":{\"$numberLong\":\"0\"}}}}",
          "{\"deep\":{\"x\":{\"z\":2},\"q\":3},\"p\":{}}" },
        /* the whole of an object emptied */
        { "{\"p\":{\"a\":1,\"b\":2},\"mfa\":{\"secret\":{\"k\":1}}}",
          "{\"p\":{},\"mfa\":{}}" },
        { "{}", "{}" },
    };

    j = json_loads("{\"fields\":{\"x\":\"string\"},\"hidden\":"
                   "[\"mfa.secret\",\"p.a\",\"p.b\",\"w.k\",\"arr.b\","
                   "\"deep.x.y\",\"top\",\"missing.deep\",\"arr.0\"]}",
                   0, NULL);
    sc = jp_search_schema_from_json(j, err, sizeof(err));
    json_decref(j);
    if (sc == NULL) {
        fail_msg("schema: %s", err);
    }

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        doc = json_loads(cases[i].doc, 0, NULL);
        assert_non_null(doc);
        before = dump(doc);

        out = jp_search_public_doc(sc, doc);
        s = dump(out);
        after = dump(doc);

        if (strcmp(s, cases[i].out) != 0) {
            fail_msg("%s\n  gave %s\n  want %s", cases[i].doc, s,
                     cases[i].out);
        }

        assert_string_equal(before, after);

        free(s);
        free(before);
        free(after);
        json_decref(out);
        json_decref(doc);
    }

    jp_search_schema_free(sc);
    (void) state;
}


/* dates as Date.prototype.toISOString writes them, checked against
 * printf's formats over the whole range a Date holds */
static void
test_public_doc_dates(void **state)
{
    int         i;
    char        want[64], text[32], *s;
    json_t     *doc, *out;
    int64_t     y;
    unsigned    m, d;
    uint64_t    r;
    long long   ms, days, rem;

    static const long long  edge[] = {
        0, -1, 1, 86399999, 86400000, -86400000, -86400001,
        253402300799999LL, 253402300800000LL, -62167219200000LL,
        -62167219200001LL, 8640000000000000LL, -8640000000000000LL,
        951782400000LL, 4107542400000LL
    };

    r = 0x2545f4914f6cdd1dULL;

    for (i = 0; i < 2000; i++) {
        if (i < (int) (sizeof(edge) / sizeof(edge[0]))) {
            ms = edge[i];
        } else {
            r ^= r >> 12; r ^= r << 25; r ^= r >> 27;
            ms = (long long) ((r * 2685821657736338717ULL)
                              % 17280000000000001ULL) - 8640000000000000LL;
            if (i % 2) {
                ms /= 100000;                       /* near today */
            }
        }

        days = ms / 86400000;
        rem = ms % 86400000;
        if (rem < 0) {
            rem += 86400000;
            days--;
        }

        jp_tz_civil(days, &y, &m, &d);

        if (y >= 0 && y <= 9999) {
            snprintf(want, sizeof(want),
                     "{\"t\":\"%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ\"}",
                     (int) y, m, d, rem / 3600000, rem / 60000 % 60,
                     rem / 1000 % 60, rem % 1000);
        } else {
            snprintf(want, sizeof(want),
                     "{\"t\":\"%c%06lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ\"}",
                     y < 0 ? '-' : '+', (long long) (y < 0 ? -y : y), m, d,
                     rem / 3600000, rem / 60000 % 60, rem / 1000 % 60,
                     rem % 1000);
        }

        snprintf(text, sizeof(text), "%lld", ms);
        doc = json_pack("{s:{s:{s:s}}}", "t", "$date", "$numberLong", text);
        out = jp_search_public_doc(users, doc);
        s = dump(out);
        assert_string_equal(s, want);
        free(s);
        json_decref(out);
        json_decref(doc);
    }

    (void) state;
}


/* ------------------------------------------------ an in-memory keyset */


#define NDOCS  23


/* MongoDB's order of the values used here: null/missing, numbers, strings */

static int
rank(json_t *v)
{
    if (v == NULL || json_is_null(v)) {
        return 0;
    }

    return json_is_object(v) ? 1 : 2;
}


static int
cmpv(json_t *a, json_t *b)
{
    long  x, y;
    int   ra, rb;

    ra = rank(a);
    rb = rank(b);

    if (ra != rb) {
        return ra - rb;
    }

    if (ra == 0) {
        return 0;
    }

    if (ra == 1) {
        /* {"$numberInt":"n"} or {"$oid":"hex"} */
        if (json_object_get(a, "$oid")) {
            return strcmp(json_string_value(json_object_get(a, "$oid")),
                          json_string_value(json_object_get(b, "$oid")));
        }

        x = atol(json_string_value(json_object_get(a, "$numberInt")));
        y = atol(json_string_value(json_object_get(b, "$numberInt")));
        return (x > y) - (x < y);
    }

    return strcmp(json_string_value(a), json_string_value(b));
}


static json_t *
getp(json_t *doc, const char *path)
{
    char     seg[64];
    const char *dot;

    while (doc && (dot = strchr(path, '.')) != NULL) {
        snprintf(seg, sizeof(seg), "%.*s", (int) (dot - path), path);
        doc = json_object_get(doc, seg);
        path = dot + 1;
    }

    return doc ? json_object_get(doc, path) : NULL;
}


static int
match(json_t *doc, json_t *f)
{
    size_t       i;
    json_t      *v, *c, *x;
    const char  *key;

    json_object_foreach(f, key, c) {
        if (strcmp(key, "$and") == 0) {
            json_array_foreach(c, i, x) {
                if (!match(doc, x)) {
                    return 0;
                }
            }

            continue;
        }

        if (strcmp(key, "$or") == 0) {
            json_array_foreach(c, i, x) {
                if (match(doc, x)) {
                    break;
                }
            }

            if (i == json_array_size(c)) {
                return 0;
            }

            continue;
        }

        v = getp(doc, key);

        if ((x = json_object_get(c, "$gt")) != NULL) {
            if (rank(v) != rank(x) || cmpv(v, x) <= 0) {
                return 0;
            }

        } else if ((x = json_object_get(c, "$lt")) != NULL) {
            if (rank(v) != rank(x) || cmpv(v, x) >= 0) {
                return 0;
            }

        } else if (json_object_get(c, "$ne") != NULL) {
            if (rank(v) == 0) {
                return 0;
            }

        } else if (cmpv(v, c) != 0 || rank(v) != rank(c)) {
            return 0;
        }
    }

    return 1;
}


static json_t  *sort_by;

static int
cmpdoc(const void *pa, const void *pb)
{
    int          r;
    json_t      *a, *b, *d;
    const char  *key;

    a = *(json_t **) pa;
    b = *(json_t **) pb;

    json_object_foreach(sort_by, key, d) {
        r = cmpv(getp(a, key), getp(b, key)) * (int) json_integer_value(d);
        if (r) {
            return r;
        }
    }

    return 0;
}


/* what MongoDB would answer to find: filter, sort, limit */

static json_t *
run(json_t *coll, const jp_search_request_t *req)
{
    long     limit, skip;
    size_t   i, n;
    json_t  *filter, *out, *doc;
    json_t  *hits[NDOCS];

    assert_int_equal(jp_search_find(req, &filter, &sort_by, &limit, &skip), 0);

    n = 0;
    json_array_foreach(coll, i, doc) {
        if (match(doc, filter)) {
            hits[n++] = doc;
        }
    }

    qsort(hits, n, sizeof(hits[0]), cmpdoc);

    out = json_array();
    for (i = 0; i < n && i < (size_t) limit; i++) {
        json_array_append(out, hits[i]);
    }

    json_decref(filter);
    json_decref(sort_by);

    return out;
}


/* walks to the end by next, back to the start by prev: each row once */

static void
walk(json_t *coll, const char *first, const char *expected)
{
    int                  pages;
    char                 q[9000], seen[NDOCS * 4 + 1], back[NDOCS * 4 + 1];
    size_t               i;
    json_t              *docs, *page, *pg, *d, *c;
    jp_search_request_t  req;

    strcpy(q, first);
    seen[0] = '\0';

    for (pages = 0; pages < 50; pages++) {
        parse_ok(q, &req);
        docs = run(coll, &req);
        page = jp_search_page(users, "users", &req, docs, NDOCS, &keys[0]);
        jp_search_request_free(&req);
        json_decref(docs);

        json_array_foreach(json_object_get(page, "data"), i, d) {
            strcat(seen, json_string_value(json_object_get(d, "username")));
        }

        pg = json_object_get(page, "pagination");
        c = json_object_get(pg, "nextCursor");

        if (!json_is_string(c)) {
            json_decref(page);
            break;
        }

        snprintf(q, sizeof(q), "cursor=%s", json_string_value(c));
        json_decref(page);
    }

    if (strcmp(seen, expected) != 0) {
        fail_msg("%s forward:\n got: %s\nwant: %s", first, seen, expected);
    }

    /* back from the last page: the last page again, then prev to the start */
    back[0] = '\0';
    q[0] = '\0';
    seen[0] = '\0';

    /* the last page's prev goes to the page before it; collect them all */
    strcpy(q, first);
    {
        char  last[9000];

        last[0] = '\0';

        for (pages = 0; pages < 50; pages++) {
            parse_ok(q, &req);
            docs = run(coll, &req);
            page = jp_search_page(users, "users", &req, docs, NDOCS,
                                  &keys[0]);
            jp_search_request_free(&req);
            json_decref(docs);

            pg = json_object_get(page, "pagination");
            c = json_object_get(pg, "nextCursor");

            if (!json_is_string(c)) {
                /* on the last page: remember its rows and its prev */
                json_array_foreach(json_object_get(page, "data"), i, d) {
                    strcat(back, json_string_value(json_object_get(d,
                                                               "username")));
                }

                c = json_object_get(pg, "prevCursor");
                if (json_is_string(c)) {
                    snprintf(last, sizeof(last), "cursor=%s",
                             json_string_value(c));
                }

                json_decref(page);
                break;
            }

            snprintf(q, sizeof(q), "cursor=%s", json_string_value(c));
            json_decref(page);
        }

        strcpy(q, last);
    }

    while (q[0]) {
        parse_ok(q, &req);
        docs = run(coll, &req);
        page = jp_search_page(users, "users", &req, docs, NDOCS, &keys[0]);
        jp_search_request_free(&req);
        json_decref(docs);

        /* prepend this page's rows */
        seen[0] = '\0';
        json_array_foreach(json_object_get(page, "data"), i, d) {
            strcat(seen, json_string_value(json_object_get(d, "username")));
        }

        strcat(seen, back);
        strcpy(back, seen);

        c = json_object_get(json_object_get(page, "pagination"),
                            "prevCursor");
        q[0] = '\0';

        if (json_is_string(c)) {
            snprintf(q, sizeof(q), "cursor=%s", json_string_value(c));
        }

        json_decref(page);
    }

    if (strcmp(back, expected) != 0) {
        fail_msg("%s backward:\n got: %s\nwant: %s", first, back, expected);
    }
}


static void
test_keyset_walk(void **state)
{
    int      i;
    char     name[8];
    json_t  *coll, *doc;

    /*
     * 23 users A..W; loginCount in ties (i % 4), null for every fifth,
     * missing for every seventh; profile.lastName ties, some missing.
     */
    coll = json_array();

    for (i = 0; i < NDOCS; i++) {
        snprintf(name, sizeof(name), "%c", 'A' + i);
        doc = json_pack("{s:{s:s},s:s}", "_id", "$oid", "", "username", name);

        {
            char  oid[25];

            snprintf(oid, sizeof(oid), "%024x", 0x100 + i * 7 % NDOCS);
            json_object_set_new(doc, "_id", json_pack("{s:s}", "$oid", oid));
        }

        if (i % 7 == 3) {
            /* missing loginCount */
        } else if (i % 5 == 0) {
            json_object_set_new(doc, "loginCount", json_null());
        } else {
            char  n[8];

            snprintf(n, sizeof(n), "%d", i % 4);
            json_object_set_new(doc, "loginCount",
                                json_pack("{s:s}", "$numberInt", n));
        }

        if (i % 6 != 2) {
            json_object_set_new(doc, "profile",
                                json_pack("{s:s}", "lastName",
                                          (i % 3) ? "Smith" : "Jones"));
        }

        json_array_append_new(coll, doc);
    }

    /* the expected orders, from the same comparison as the fake server */
    {
        static const char  *sorts[] = {
            "sort=loginCount&limit=3", "{\"loginCount\":1,\"_id\":1}",
            "sort=-loginCount&limit=4", "{\"loginCount\":-1,\"_id\":-1}",
            "sort=profile.lastName:desc&limit=5",
            "{\"profile.lastName\":-1,\"_id\":-1}",
            "sort=profile.lastName&limit=2",
            "{\"profile.lastName\":1,\"_id\":1}",
            "limit=6", "{\"_id\":1}",
            "sort=-_id&limit=1", "{\"_id\":-1}",
            "sort=loginCount&limit=1000", "{\"loginCount\":1,\"_id\":1}",
        };
        size_t   k, n, j;
        char     want[NDOCS + 1];
        json_t  *all[NDOCS];

        for (k = 0; k < sizeof(sorts) / sizeof(sorts[0]); k += 2) {
            sort_by = json_loads(sorts[k + 1], 0, NULL);
            n = 0;
            json_array_foreach(coll, j, doc) {
                all[n++] = doc;
            }

            qsort(all, n, sizeof(all[0]), cmpdoc);
            json_decref(sort_by);

            for (j = 0; j < n; j++) {
                want[j] = json_string_value(json_object_get(all[j],
                                                            "username"))[0];
            }

            want[n] = '\0';
            walk(coll, sorts[k], want);
        }
    }

    json_decref(coll);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_limit_offset),
        cmocka_unit_test(test_sort),
        cmocka_unit_test(test_query_string),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_offset_page),
        cmocka_unit_test(test_dotted_sort),
        cmocka_unit_test(test_null_bounds),
        cmocka_unit_test(test_cursor_refusals),
        cmocka_unit_test(test_public_doc),
        cmocka_unit_test(test_public_doc_hidden),
        cmocka_unit_test(test_public_doc_dates),
        cmocka_unit_test(test_schema_files),
        cmocka_unit_test(test_keyset_walk),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
