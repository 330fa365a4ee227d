/* Unit tests: libjpulse/jp_query.c (url.param from a query string) */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_query.h"


static void
check(const char *args, size_t max, const char *want)
{
    char    *got;
    json_t  *j;

    j = jp_query_parse(args, strlen(args), max);
    assert_non_null(j);

    /* key order matters: it is what {{url.param}} prints */
    got = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    assert_non_null(got);
    assert_string_equal(got, want);

    free(got);
    json_decref(j);
}


static void
test_pairs(void **state)
{
    check("", 64, "{}");
    check("a=1&b=2", 64, "{\"a\":\"1\",\"b\":\"2\"}");
    check("a", 64, "{\"a\":\"\"}");
    check("a=", 64, "{\"a\":\"\"}");
    check("a=1=2", 64, "{\"a\":\"1=2\"}");
    check("&&a=1&&", 64, "{\"a\":\"1\"}");
    check("=x&=&b=2", 64, "{\"b\":\"2\"}");
}


static void
test_decoding(void **state)
{
    check("q=x+y%20z", 64, "{\"q\":\"x y z\"}");
    check("q=%3Cb%3e", 64, "{\"q\":\"<b>\"}");
    check("a%2Bb=c%2bd", 64, "{\"a+b\":\"c+d\"}");
    /* a '%' without two hex digits: the whole value stays as sent */
    check("q=100%&r=%zz&s=%4", 64,
          "{\"q\":\"100%\",\"r\":\"%zz\",\"s\":\"%4\"}");
    check("q=%41%&r=a+%zz", 64, "{\"q\":\"%41%\",\"r\":\"a %zz\"}");
    check("q=%C3%A9", 64, "{\"q\":\"\\u00E9\"}");
}


static void
test_repeated_and_limit(void **state)
{
    check("a=1&a=2", 64, "{\"a\":[\"1\",\"2\"]}");
    check("a=1&b=0&a=2&a=", 64, "{\"a\":[\"1\",\"2\",\"\"],\"b\":\"0\"}");
    check("a=1&b=2&c=3", 2, "{\"a\":\"1\",\"b\":\"2\"}");
    /* empty parts count against the limit, as qs's split does */
    check("&&a=1&b=2", 3, "{\"a\":\"1\"}");
}


/* the pipeline reference's example (3.4), run against jPulse */

static void
test_reference(void **state)
{
    check("a=1&a=2&b%5Bc%5D=3&d=%3Cx%3E", 1000,
          "{\"a\":[\"1\",\"2\"],\"b\":{\"c\":\"3\"},\"d\":\"<x>\"}");
}


static void
test_brackets(void **state)
{
    check("b[c]=3&b[d]=4", 64, "{\"b\":{\"c\":\"3\",\"d\":\"4\"}}");
    check("a[]=1&a[]=2", 64, "{\"a\":[\"1\",\"2\"]}");
    check("a[1]=x&a[0]=y", 64, "{\"a\":[\"y\",\"x\"]}");
    check("a[5]=x", 64, "{\"a\":[\"x\"]}");
    check("a[21]=x&a[b]=y", 64, "{\"a\":{\"21\":\"x\",\"b\":\"y\"}}");
    check("a[b]=y&a[21]=x", 64, "{\"a\":{\"21\":\"x\",\"b\":\"y\"}}");
    check("a[b][c][]=1", 64, "{\"a\":{\"b\":{\"c\":[\"1\"]}}}");
    check("a[b]=1&a[b]=2", 64, "{\"a\":{\"b\":[\"1\",\"2\"]}}");
    /* depth 5: the rest is one key */
    check("a[1][2][3][4][5][6][7]=x", 64,
          "{\"a\":[[[[[{\"[6][7]\":\"x\"}]]]]]}");
    check("a[b][c][d][e][f][g]=x", 64,
          "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{\"[g]\":\"x\"}}}}}}}");
    /* not a group: the name as it is */
    check("a[b=1", 64, "{\"a[b\":\"1\"}");
    check("a]b=1", 64, "{\"a]b\":\"1\"}");
    check("a[b=c]=d", 64, "{\"a\":{\"b=c\":\"d\"}}");
    check("[a]=1", 64, "{\"a\":\"1\"}");
    check("[]=1", 64, "{\"0\":\"1\"}");
    check("a[b]x[c]=1", 64, "{\"a\":{\"b\":{\"c\":\"1\"}}}");
    /* a plain value and an object: qs's merge */
    check("a=1&a[b]=2", 64, "{\"a\":[\"1\",{\"b\":\"2\"}]}");
    check("a[b]=2&a=1", 64, "{\"a\":{\"1\":true,\"b\":\"2\"}}");
    check("a[]=1&a[b]=2", 64, "{\"a\":{\"0\":\"1\",\"b\":\"2\"}}");
    check("a[b]=2&a[]=1", 64, "{\"a\":{\"0\":\"1\",\"b\":\"2\"}}");
    /* JavaScript's key order: array indexes first */
    check("b=1&5=2&0=3", 64, "{\"0\":\"3\",\"5\":\"2\",\"b\":\"1\"}");
    check("__proto__=1&a[__proto__]=2&toString=3", 64,
          "{\"a\":{},\"toString\":\"3\"}");
}


static void
test_hostile_bytes(void **state)
{
    /* escapes that are not UTF-8: the text stays as sent */
    check("q=%FF%FEok", 64, "{\"q\":\"%FF%FEok\"}");
    check("%FF=1&b=2", 64, "{\"%FF\":\"1\",\"b\":\"2\"}");
    /* raw bytes that are not UTF-8 become U+FFFD */
    check("q=\xff\xfeok&\xff=1", 64,
          "{\"q\":\"\\uFFFD\\uFFFDok\",\"\\uFFFD\":\"1\"}");
    /* NUL in a name drops it; in a value it is kept as \u0000 */
    check("a%00b=1&c=%00&d[%00]=2", 64, "{\"c\":\"\\u0000\"}");
    /* an overlong '/' is not UTF-8 */
    check("p=%C0%AF", 64, "{\"p\":\"%C0%AF\"}");
}


/* bounded: many parts, deep names, many repeats, big indexes */

static void
test_huge(void **state)
{
    char    *buf, *p;
    json_t  *j;
    size_t   i, len;

    len = 200000;
    buf = malloc(len + 1);
    assert_non_null(buf);

    for (p = buf, i = 0; p + 16 < buf + len; i++) {
        p += sprintf(p, i % 3 ? "a[]=%zu&" : "a[%zu]=x&", i % 25);
    }

    j = jp_query_parse(buf, p - buf, 1000);
    assert_non_null(j);
    assert_true(json_is_object(j));
    json_decref(j);

    memset(buf, '[', len);
    j = jp_query_parse(buf, len, 1000);
    assert_non_null(j);
    json_decref(j);

    for (p = buf; p + 4 < buf + len; p += 3) {
        memcpy(p, "[a]", 3);
    }

    *p = '\0';
    j = jp_query_parse(buf, p - buf, 1000);
    assert_non_null(j);
    json_decref(j);

    free(buf);
}


static void
test_lossy_string(void **state)
{
    json_t  *j;

    j = jp_json_string_lossy("ok\xe2\x82", 4);
    assert_non_null(j);
    assert_int_equal(json_string_length(j), 2 + 3 + 3);
    json_decref(j);

    j = jp_json_string_lossy("", 0);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);

    j = jp_json_string_lossy(NULL, 0);
    assert_non_null(j);
    assert_string_equal(json_string_value(j), "");
    json_decref(j);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_pairs),
        cmocka_unit_test(test_decoding),
        cmocka_unit_test(test_repeated_and_limit),
        cmocka_unit_test(test_reference),
        cmocka_unit_test(test_brackets),
        cmocka_unit_test(test_huge),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_lossy_string),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
