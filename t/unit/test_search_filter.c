/*
 * Unit tests: libjpulse/jp_search_filter.c (the W-141 syntax of jPulse's
 * search, field types, dates in local time, the merge of parameters), as
 * the exact filter documents sent to MongoDB.
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
static jp_search_schema_t  *logs;

static const jp_search_key_t  key = {
    (const unsigned char *) "0123456789abcdef0123456789abcdef", 32
};


static int
setup(void **state)
{
    char  err[256];

    /* local time: the date ranges below are Los Angeles midnights */
    setenv("TZ", "America/Los_Angeles", 1);
    jp_tz_flush();

    users = jp_search_schema_builtin("users", err, sizeof(err));
    logs = jp_search_schema_builtin("logs", err, sizeof(err));

    return (users && logs) ? 0 : -1;
}


static int
teardown(void **state)
{
    jp_search_schema_free(users);
    jp_search_schema_free(logs);

    return 0;
}


/* the filter of query string q on schema s, and whether it is exact */

static void
check_on(jp_search_schema_t *s, const char *q, const char *want,
    int collation)
{
    int                  rc;
    long                 limit, skip;
    char                *got;
    json_t              *filter, *sort;
    jp_search_error_t    err;
    jp_search_request_t  req;

    rc = jp_search_parse(s, "users", q, strlen(q), &key, 1, 0, &req, &err);
    if (rc != 0) {
        fail_msg("%s: %s %s %s", q, err.code, err.param, err.message);
    }

    assert_int_equal(jp_search_find(&req, &filter, &sort, &limit, &skip), 0);

    got = json_dumps(filter, JSON_COMPACT);
    if (want != NULL && strcmp(got, want) != 0) {
        fail_msg("%s\n got: %s\nwant: %s", q, got, want);
    }

    assert_int_equal(req.collation, collation);

    free(got);
    json_decref(filter);
    json_decref(sort);
    jp_search_request_free(&req);
}


static void
check(const char *q, const char *want, int collation)
{
    check_on(users, q, want, collation);
}


static void
refused(const char *q, const char *code, const char *param)
{
    jp_search_error_t    err;
    jp_search_request_t  req;

    if (jp_search_parse(users, "users", q, strlen(q), &key, 1, 0, &req, &err)
        == 0)
    {
        fail_msg("%s: accepted", q);
    }

    assert_non_null(err.code);
    assert_string_equal(err.code, code);
    assert_string_equal(err.param, param);
    jp_search_request_free(&req);
}


#define RE(p, o)                                                             \
    "{\"$regularExpression\":{\"pattern\":\"" p "\","                      \
    "\"options\":\"" o "\"}}"

#define NRE(p, o)                                                            \
    "{\"$not\":{\"$regularExpression\":{\"pattern\":\"" p "\","             \
    "\"options\":\"" o "\"}}}"


static void
test_exact_and_operators(void **state)
{
    check("", "{}", 0);
    check("username=john", "{\"username\":\"john\"}", 1);
    check("username=+john+", "{\"username\":\"john\"}", 1);
    check("username=a,b",
          "{\"$or\":[{\"username\":\"a\"},{\"username\":\"b\"}]}", 1);
    check("username=a;b",
          "{\"$and\":[{\"username\":\"a\"},{\"username\":\"b\"}]}", 1);
    check("username=!a", "{\"username\":{\"$ne\":\"a\"}}", 1);
    /* the table's example: (a AND b) OR (c AND NOT d) */
    check("username=a;b,c;!d",
          "{\"$or\":[{\"$and\":[{\"username\":\"a\"},{\"username\":\"b\"}]},"
          "{\"$and\":[{\"username\":\"c\"},{\"username\":{\"$ne\":\"d\"}}]}]}",
          1);
    /* empty terms dropped, values trimmed */
    check("username=,+a+,,;", "{\"username\":\"a\"}", 1);
    check("username=,,;;", "{}", 0);
    check("username=", "{}", 0);
    /* "!" alone: jPulse's empty condition (anything) */
    check("username=!", "{}", 0);
    check("username=a,!", "{\"$or\":[{\"username\":\"a\"},{}]}", 0);
    check("username=!!a", "{\"username\":{\"$ne\":\"!a\"}}", 1);
}


static void
test_wildcards(void **state)
{
    check("username=john*", "{\"username\":" RE("^john.*", "i") "}", 0);
    check("username=*son", "{\"username\":" RE(".*son$", "i") "}", 0);
    check("username=*oh*", "{\"username\":" RE(".*oh.*", "i") "}", 0);
    check("username=*", "{\"username\":" RE(".*", "i") "}", 0);
    check("username=a**b", "{\"username\":" RE("^a.*b$", "i") "}", 0);
    check("username=!j*", "{\"username\":" NRE("^j.*", "i") "}", 0);
    /* every other metacharacter escaped (jPulse left them live) */
    check("username=a.b*(c)",
          "{\"username\":" RE("^a\\\\.b.*\\\\(c\\\\)$", "i") "}", 0);
    check("username=%5E%24.%7C%3F%2B()%5B%5D%7B%7D%5C*",
          "{\"username\":" RE("^\\\\^\\\\$\\\\.\\\\|\\\\?\\\\+\\\\(\\\\)"
                              "\\\\[\\\\]\\\\{\\\\}\\\\\\\\.*", "i") "}", 0);
    /* wildcard and exact terms: no collation */
    check("username=a*,b",
          "{\"$or\":[{\"username\":" RE("^a.*", "i") "},"
          "{\"username\":\"b\"}]}", 0);
}


static void
test_regex(void **state)
{
    check("username=/%5EBC%5B0-9%5D%7B4%7D/i",
          "{\"username\":" RE("^BC[0-9]{4}", "i") "}", 0);
    /* g, y, u mean nothing to MongoDB; i, m, s kept in order */
    check("username=/x/gsyumi", "{\"username\":" RE("x", "ims") "}", 0);
    check("username=!/x/", "{\"username\":" NRE("x", "") "}", 0);
    /* , and ; inside /.../ are the pattern's */
    check("username=/a,b;c/,d",
          "{\"$or\":[{\"username\":" RE("a,b;c", "") "},"
          "{\"username\":\"d\"}]}", 0);
    /* one slash, or no flags after the last: a literal */
    check("username=America/Los_Angeles",
          "{\"username\":\"America/Los_Angeles\"}", 1);
    check("username=/a/b", "{\"username\":\"/a/b\"}", 1);
    check("username=//", "{\"username\":\"//\"}", 1);

    /* invalid, too long, unsafe, flags twice: refused (jPulse: literal) */
    refused("username=/%5B/", "INVALID_PARAMETER", "username");
    refused("username=/a(/", "INVALID_PARAMETER", "username");
    refused("username=/x/ii", "INVALID_PARAMETER", "username");
    refused("username=/(a%2B)%2B/", "INVALID_PARAMETER", "username");
    refused("username=/(a*)*$/", "INVALID_PARAMETER", "username");
    refused("username=/(a%7Ca)*/", "INVALID_PARAMETER", "username");
    refused("username=/(%5Cw%2B%5Cs?)*/", "INVALID_PARAMETER", "username");
    refused("username=/((a%2B))%7B2,%7D/", "INVALID_PARAMETER", "username");
    refused("username=/x%5CC/", "INVALID_PARAMETER", "username");
    refused("username=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaa/", "INVALID_PARAMETER", "username");
    /* 200 bytes with its slashes and flags: the most */
    check("username=/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
          "aaaaaaaaaaaa/i", NULL, 0);
    /* safe repetitions pass */
    check("username=/(ab)%2B[a-z]%2Bx%7B1,3%7D(a?b)*/",
          "{\"username\":" RE("(ab)+[a-z]+x{1,3}(a?b)*", "") "}", 0);
    check("username=/%5B(%2B%5D%2B/",
          "{\"username\":" RE("[(+]+", "") "}", 0);

    /* classes read as PCRE2 reads them: "]" first, POSIX names, escapes */
    check("username=/%5B%5Da%5D%2B%5B%5E%5Da%5Dx/",
          "{\"username\":" RE("[]a]+[^]a]x", "") "}", 0);
    check("username=/%5B%5B:alpha:%5D%5C%5D%5D%2B/",
          "{\"username\":" RE("[[:alpha:]\\\\]]+", "") "}", 0);
    /* non-capturing groups and lookarounds pass */
    check("username=/(?:ab)%2B(?=c)(?!d)(?%3C=e)(?%3C!f)(?%3Eg)/",
          "{\"username\":" RE("(?:ab)+(?=c)(?!d)(?<=e)(?<!f)(?>g)", "") "}",
          0);
}


static void
test_regex_unsafe_syntax(void **state)
{
    /* \Q...\E hid a "[" from the scanner: refused outright */
    refused("username=/%5CQ%5B%5CE?(a%7Ca)*%24/", "INVALID_PARAMETER",
            "username");
    refused("username=/%5CQ%5B%5CE?(%5Cw%2B%5Cs?)*%24/", "INVALID_PARAMETER",
            "username");
    refused("username=/a%5CE/", "INVALID_PARAMETER", "username");
    /* comments, inline flags, verbs and every other (? form */
    refused("username=/(?%23%5B)(a%7Ca)*(?%23%5D)/", "INVALID_PARAMETER",
            "username");
    refused("username=/(?x)a/", "INVALID_PARAMETER", "username");
    refused("username=/(?i)a/", "INVALID_PARAMETER", "username");
    refused("username=/(?%3Cn%3Ea)/", "INVALID_PARAMETER", "username");
    refused("username=/(*UTF)a/", "INVALID_PARAMETER", "username");
    /* subroutine calls repeat a group the scanner saw once */
    refused("username=/(a%7Cb)(?:%5Cg%3C1%3E)*/", "INVALID_PARAMETER",
            "username");
    /* classes that end where PCRE2 does not end them */
    refused("username=/%5B%5B:alpha:%5D%5B%5D(a%7Ca)*%24%5D/",
            "INVALID_PARAMETER", "username");
    refused("username=/%5B%5Cc%5D%5B%5D(a%7Ca)*%24%5D/", "INVALID_PARAMETER",
            "username");
    refused("username=/%5B%5Cc%5D%5D(a%7Ca)*%24/", "INVALID_PARAMETER",
            "username");
    /* {,n} repeats in recent PCRE2 */
    refused("username=/(a%7Ca)%7B,20%7D/", "INVALID_PARAMETER", "username");
    refused("username=/(a%7Ca)%7B+2+%7D/", "INVALID_PARAMETER", "username");
}


static void
test_wildcards_bounded(void **state)
{
    char  q[300];

    /* two '*' at most: ".*x.*y.*" backtracks polynomially */
    refused("username=*a*b*", "INVALID_PARAMETER", "username");
    refused("username=***", "INVALID_PARAMETER", "username");
    refused("username=*a*a*a*a*a*a*a*a*a*a*a*a*a*a*!", "INVALID_PARAMETER",
            "username");
    refused("username=x,!*a*b*", "INVALID_PARAMETER", "username");

    /* JP_SEARCH_REGEX_MAX bytes at most */
    memset(q, 'a', sizeof(q));
    memcpy(q, "username=", 9);
    q[9] = '*';
    q[9 + JP_SEARCH_REGEX_MAX] = '\0';
    check(q, NULL, 0);

    q[9 + JP_SEARCH_REGEX_MAX] = 'a';
    q[9 + JP_SEARCH_REGEX_MAX + 1] = '\0';
    refused(q, "INVALID_PARAMETER", "username");
}


static void
test_term_limits(void **state)
{
    int     i;
    char    q[512], *p;

    /* 50 terms pass, 51 do not */
    p = q + sprintf(q, "username=");
    for (i = 0; i < 50; i++) {
        p += sprintf(p, "%sa%d", i ? "," : "", i);
    }

    check_on(users, q, NULL, 1) ;
}


static void
test_term_limits_refused(void **state)
{
    int     i;
    char    q[512], *p;

    p = q + sprintf(q, "username=");
    for (i = 0; i < 51; i++) {
        p += sprintf(p, "%sa%d", i ? "," : "", i);
    }

    refused(q, "INVALID_PARAMETER", "username");

    /* 20 in one AND group pass, 21 do not */
    p = q + sprintf(q, "username=");
    for (i = 0; i < 21; i++) {
        p += sprintf(p, "%sa%d", i ? ";" : "", i);
    }

    refused(q, "INVALID_PARAMETER", "username");
}


static void
test_types(void **state)
{
    /* enum: exact, only its values (others ignored as jPulse) */
    check("status=active", "{\"status\":\"active\"}", 1);
    check("status=bogus", "{}", 0);
    check("status=Active", "{}", 0);
    check("preferences.theme=dark", "{\"preferences.theme\":\"dark\"}", 1);
    /* array: $in of the enum's values */
    check("roles=admin,foo,+user+",
          "{\"roles\":{\"$in\":[\"admin\",\"user\"]}}", 0);
    check("roles=foo", "{}", 0);
    /* ObjectId */
    check("_id=5F1D7F3E8B9C2A0017A1B2C3",
          "{\"_id\":{\"$oid\":\"5f1d7f3e8b9c2a0017a1b2c3\"}}", 0);
    refused("_id=xyz", "INVALID_PARAMETER", "_id");
    /* numbers as parseFloat reads them; not one: ignored */
    check("loginCount=25", "{\"loginCount\":{\"$numberInt\":\"25\"}}", 0);
    check("loginCount=2.5x",
          "{\"loginCount\":{\"$numberDouble\":\"2.5\"}}", 0);
    check("loginCount=-3e9",
          "{\"loginCount\":{\"$numberInt\":\"-3\"}}", 0);
    check("loginCount=3000000000",
          "{\"loginCount\":{\"$numberLong\":\"3000000000\"}}", 0);
    check("loginCount=abc", "{}", 0);
    /* mixed: as sent; 24 hex digits also as an ObjectId */
    check_on(logs, "data.docId=5f1d7f3e8b9c2a0017a1b2c3",
             "{\"data.docId\":{\"$in\":[\"5f1d7f3e8b9c2a0017a1b2c3\","
             "{\"$oid\":\"5f1d7f3e8b9c2a0017a1b2c3\"}]}}", 0);
    check_on(logs, "data.docId=global", "{\"data.docId\":\"global\"}", 0);
    check_on(logs, "data.action=update&data.docType=user*",
             "{\"data.action\":\"update\",\"data.docType\":"
             RE("^user.*", "i") "}", 0);
    /* unknown, ignored and hidden fields: no condition */
    check("passwordHash=/%5E%242/&password=x&foo=bar&profile=x", "{}", 0);
}


static void
test_dates(void **state)
{
    /* 2025-01-01 and 2026-01-01 at 00:00 PST (UTC-8) */
    check("createdAt=2025",
          "{\"createdAt\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1735718400000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1767254400000\"}}}}", 0);
    /* August: PDT, UTC-7 */
    check("createdAt=2025-08",
          "{\"createdAt\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1754031600000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1756710000000\"}}}}", 0);
    check("createdAt=2025-08-24",
          "{\"createdAt\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1756018800000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1756105200000\"}}}}", 0);
    /* December rolls over to the next year */
    check("lastLogin=2024-12",
          "{\"lastLogin\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1733040000000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1735718400000\"}}}}", 0);
    /* the day DST starts has 23 hours */
    check("createdAt=2025-03-09",
          "{\"createdAt\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1741507200000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1741590000000\"}}}}", 0);
    /* other dates: equality */
    check("createdAt=2025-08-24T10:00:00Z",
          "{\"createdAt\":{\"$date\":{\"$numberLong\":\"1756029600000\"}}}",
          0);
    check("createdAt=2025-08-24T10:00:00.5%2B02:00",
          "{\"createdAt\":{\"$date\":{\"$numberLong\":\"1756022400500\"}}}",
          0);
    /* no zone: local time */
    check("createdAt=2025-08-24T10:00",
          "{\"createdAt\":{\"$date\":{\"$numberLong\":\"1756054800000\"}}}",
          0);
    refused("createdAt=garbage", "INVALID_PARAMETER", "createdAt");
    refused("createdAt=2025-13", "INVALID_PARAMETER", "createdAt");
    refused("createdAt=2025-02-29", "INVALID_PARAMETER", "createdAt");
    refused("createdAt=1800-01-01T00:00Z", "INVALID_PARAMETER", "createdAt");
    check("createdAt=2024-02-29",
          "{\"createdAt\":{\"$gte\":{\"$date\":{\"$numberLong\":"
          "\"1709193600000\"}},\"$lt\":{\"$date\":{\"$numberLong\":"
          "\"1709280000000\"}}}}", 0);
}


static void
test_multi_field(void **state)
{
    check("name=john",
          "{\"$or\":[{\"profile.firstName\":\"john\"},"
          "{\"profile.lastName\":\"john\"},{\"username\":\"john\"}]}", 1);
    check("name=john,jane",
          "{\"$or\":[{\"profile.firstName\":\"john\"},"
          "{\"profile.lastName\":\"john\"},{\"username\":\"john\"},"
          "{\"profile.firstName\":\"jane\"},{\"profile.lastName\":\"jane\"},"
          "{\"username\":\"jane\"}]}", 1);
    check("name=a;b",
          "{\"$and\":[{\"$or\":[{\"profile.firstName\":\"a\"},"
          "{\"profile.lastName\":\"a\"},{\"username\":\"a\"}]},"
          "{\"$or\":[{\"profile.firstName\":\"b\"},"
          "{\"profile.lastName\":\"b\"},{\"username\":\"b\"}]}]}", 1);
    /* NOT: none of the fields matches */
    check("name=!john",
          "{\"$nor\":[{\"profile.firstName\":\"john\"},"
          "{\"profile.lastName\":\"john\"},{\"username\":\"john\"}]}", 1);
    check("name=jo*",
          "{\"$or\":[{\"profile.firstName\":" RE("^jo.*", "i") "},"
          "{\"profile.lastName\":" RE("^jo.*", "i") "},"
          "{\"username\":" RE("^jo.*", "i") "}]}", 0);
}


static void
test_merge(void **state)
{
    /* plain conditions side by side */
    check("username=x&status=active",
          "{\"username\":\"x\",\"status\":\"active\"}", 1);
    /* one $or beside them */
    check("status=active&username=a,b",
          "{\"status\":\"active\",\"$or\":[{\"username\":\"a\"},"
          "{\"username\":\"b\"}]}", 1);
    /* two $or groups, or an $and: all in one $and */
    check("username=a,b&name=c&status=active",
          "{\"$and\":[{\"status\":\"active\"},{\"$or\":[{\"username\":\"a\"},"
          "{\"username\":\"b\"}]},{\"$or\":[{\"profile.firstName\":\"c\"},"
          "{\"profile.lastName\":\"c\"},{\"username\":\"c\"}]}]}", 1);
    check("email=a;b",
          "{\"$and\":[{\"email\":\"a\"},{\"email\":\"b\"}]}", 1);
    /* one part not exact: no collation for any */
    check("username=x&loginCount=1",
          "{\"username\":\"x\",\"loginCount\":{\"$numberInt\":\"1\"}}", 0);
}


static void
test_direct_api(void **state)
{
    int                 exact;
    char               *s;
    json_t             *q;
    jp_search_error_t   err;

    q = jp_search_filter_string("f", "a*", 2, &exact, &err);
    assert_non_null(q);
    s = json_dumps(q, JSON_COMPACT);
    assert_string_equal(s, "{\"f\":" RE("^a.*", "i") "}");
    assert_int_equal(exact, 0);
    free(s);
    json_decref(q);

    q = jp_search_filter_string("f", "/(/", 3, &exact, &err);
    assert_null(q);
    assert_string_equal(err.code, "INVALID_PARAMETER");
    assert_string_equal(err.param, "f");

    q = jp_search_filter_date("d", "2025", 4, &err);
    assert_non_null(q);
    json_decref(q);

    q = jp_search_filter_date("d", "x", 1, &err);
    assert_null(q);
    assert_string_equal(err.param, "d");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_exact_and_operators),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_regex),
        cmocka_unit_test(test_regex_unsafe_syntax),
        cmocka_unit_test(test_wildcards_bounded),
        cmocka_unit_test(test_term_limits),
        cmocka_unit_test(test_term_limits_refused),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_multi_field),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_direct_api),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
