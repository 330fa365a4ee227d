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

    got = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
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
    /* a '%' without two hex digits stays */
    check("q=100%&r=%zz&s=%4", 64,
          "{\"q\":\"100%\",\"r\":\"%zz\",\"s\":\"%4\"}");
    check("q=%C3%A9", 64, "{\"q\":\"\\u00E9\"}");
}


static void
test_last_wins_and_limit(void **state)
{
    check("a=1&a=2", 64, "{\"a\":\"2\"}");
    check("a=1&b=2&c=3", 2, "{\"a\":\"1\",\"b\":\"2\"}");
}


static void
test_hostile_bytes(void **state)
{
    /* not UTF-8: a value gets U+FFFD, a name is dropped */
    check("q=%FF%FEok", 64, "{\"q\":\"\\uFFFD\\uFFFDok\"}");
    check("%FF=1&b=2", 64, "{\"b\":\"2\"}");
    /* NUL in a name drops it; in a value it is kept as \u0000 */
    check("a%00b=1&c=%00", 64, "{\"c\":\"\\u0000\"}");
    /* an overlong '/' is not UTF-8 */
    check("p=%C0%AF", 64, "{\"p\":\"\\uFFFD\\uFFFD\"}");
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
        cmocka_unit_test(test_last_wins_and_limit),
        cmocka_unit_test(test_hostile_bytes),
        cmocka_unit_test(test_lossy_string),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
