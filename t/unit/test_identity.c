/* Unit tests: libjpulse/jp_identity.c and jp_time.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jp_identity.h"
#include "jp_time.h"


#define S(s)  s, sizeof(s) - 1


static void
test_server_id_is_first_digit_run(void **state)
{
    assert_int_equal(jp_server_id(S("app-012")), 12);
    assert_int_equal(jp_server_id(S("web01")), 1);
    assert_int_equal(jp_server_id(S("server123")), 123);
    assert_int_equal(jp_server_id(S("db2-replica7")), 2);
}


static void
test_server_id_without_digits_is_zero(void **state)
{
    /* app.js: parseInt(...) || 0 */
    assert_int_equal(jp_server_id(S("localhost")), 0);
    assert_int_equal(jp_server_id(S("")), 0);
}


static void
test_server_id_ignores_the_domain(void **state)
{
    assert_int_equal(jp_server_id(S("web.eu-3.example.com")), 0);
    assert_int_equal(jp_server_name_len(S("app-012.example.com")), 7);
    assert_int_equal(jp_server_name_len(S("app")), 3);
}


static void
test_server_id_does_not_overflow(void **state)
{
    assert_int_equal(jp_server_id(S("h99999999999999999999")), 999999999);
}


static void
test_instance_id(void **state)
{
    char  buf[JP_INSTANCE_ID_MAX];

    assert_int_equal(jp_instance_id(buf, sizeof(buf), 12, 100, 12345), 12);
    assert_string_equal(buf, "12:100:12345");

    assert_int_equal(jp_instance_id(buf, 5, 12, 100, 12345), 0);
    assert_string_equal(buf, "");
}


static void
test_iso8601_like_javascript(void **state)
{
    char  buf[JP_ISO8601_LEN + 1];

    assert_int_equal(jp_time_iso8601(buf, sizeof(buf), 0, 0), 24);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");

    assert_int_equal(jp_time_iso8601(buf, sizeof(buf), 1795653537, 123), 24);
    assert_string_equal(buf, "2026-11-26T00:38:57.123Z");

    assert_int_equal(jp_time_iso8601(buf, 10, 0, 0), 0);
}


static void
test_duration_format(void **state)
{
    char  buf[JP_DURATION_MAX];

    jp_duration_format(buf, sizeof(buf), 0);
    assert_string_equal(buf, "0s");
    jp_duration_format(buf, sizeof(buf), 45);
    assert_string_equal(buf, "45s");
    jp_duration_format(buf, sizeof(buf), 25 * 60 + 45);
    assert_string_equal(buf, "25m 45s");
    jp_duration_format(buf, sizeof(buf), 3 * 3600 + 25 * 60 + 45);
    assert_string_equal(buf, "3h 25m 45s");
    jp_duration_format(buf, sizeof(buf), 2 * 86400 + 3600);
    assert_string_equal(buf, "2d 1h 0m 0s");

    assert_int_equal(jp_duration_format(buf, 3, 3600), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_server_id_is_first_digit_run),
        cmocka_unit_test(test_server_id_without_digits_is_zero),
        cmocka_unit_test(test_server_id_ignores_the_domain),
        cmocka_unit_test(test_server_id_does_not_overflow),
        cmocka_unit_test(test_instance_id),
        cmocka_unit_test(test_iso8601_like_javascript),
        cmocka_unit_test(test_duration_format),
    };

    return cmocka_run_group_tests_name("jp_identity+jp_time", tests,
                                       NULL, NULL);
}
