/* Unit tests: libjpulse/jp_json.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_json.h"


static void
expect_escape(const char *in, size_t len, const char *want)
{
    size_t          n;
    unsigned char  *buf, *end;

    n = jp_json_escape_len((const unsigned char *) in, len);
    assert_int_equal(n, strlen(want));

    buf = malloc(n + 1);
    assert_non_null(buf);

    end = jp_json_escape(buf, (const unsigned char *) in, len);
    assert_int_equal((size_t) (end - buf), n);

    *end = '\0';
    assert_string_equal((char *) buf, want);

    free(buf);
}


static void
test_plain_ascii_is_copied(void **state)
{
    expect_escape("hello /api/1", 12, "hello /api/1");
    expect_escape("", 0, "");
}


static void
test_quotes_backslash_and_controls(void **state)
{
    expect_escape("a\"b\\c", 5, "a\\\"b\\\\c");
    expect_escape("\b\f\n\r\t", 5, "\\b\\f\\n\\r\\t");
    expect_escape("\x01\x1f\x7f", 3, "\\u0001\\u001f\\u007f");
    expect_escape("a\0b", 3, "a\\u0000b");
}


static void
test_html_specials_cannot_break_out(void **state)
{
    expect_escape("</script><b>&amp;", 17,
                  "\\u003c/script\\u003e\\u003cb\\u003e\\u0026amp;");
}


static void
test_valid_utf8_is_kept(void **state)
{
    expect_escape("caf\xc3\xa9", 5, "caf\xc3\xa9");
    expect_escape("\xe2\x82\xac", 3, "\xe2\x82\xac");            /* euro */
    expect_escape("\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80");    /* emoji */
}


static void
test_js_line_separators_are_escaped(void **state)
{
    expect_escape("a\xe2\x80\xa8" "b\xe2\x80\xa9", 8, "a\\u2028b\\u2029");
}


static void
test_invalid_utf8_becomes_replacement(void **state)
{
    expect_escape("\xff", 1, "\\ufffd");
    expect_escape("\xc3", 1, "\\ufffd");                     /* truncated */
    expect_escape("\xc0\xaf", 2, "\\ufffd\\ufffd");          /* overlong / */
    expect_escape("\xed\xa0\x80", 3, "\\ufffd\\ufffd\\ufffd"); /* surrogate */
    expect_escape("\xf4\x90\x80\x80", 4,
                  "\\ufffd\\ufffd\\ufffd\\ufffd");           /* > U+10FFFF */
    expect_escape("\xe2\x82" "a", 3, "\\ufffd\\ufffda");
}


static void
test_utf8_sequence_len(void **state)
{
    const unsigned char  s[] = "\xc3\xa9";

    assert_int_equal(jp_utf8_sequence_len(s, s + 2), 2);
    assert_int_equal(jp_utf8_sequence_len(s, s + 1), 0);
    assert_int_equal(jp_utf8_sequence_len(s, s), 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_plain_ascii_is_copied),
        cmocka_unit_test(test_quotes_backslash_and_controls),
        cmocka_unit_test(test_html_specials_cannot_break_out),
        cmocka_unit_test(test_valid_utf8_is_kept),
        cmocka_unit_test(test_js_line_separators_are_escaped),
        cmocka_unit_test(test_invalid_utf8_becomes_replacement),
        cmocka_unit_test(test_utf8_sequence_len),
    };

    return cmocka_run_group_tests_name("jp_json", tests, NULL, NULL);
}
