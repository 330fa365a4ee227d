/* Unit tests: libjpulse/jp_siphash.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jp_siphash.h"


static void
key_0_to_15(jp_siphash_key_t *key)
{
    unsigned char  k[JP_SIPHASH_KEY_LEN];
    unsigned       i;

    for (i = 0; i < sizeof(k); i++) {
        k[i] = (unsigned char) i;
    }

    jp_siphash_key(key, k);
}


/* the paper's appendix A: key 00..0f, message 00..0e */
static void
test_paper_vector(void **state)
{
    unsigned char     msg[15];
    unsigned          i;
    jp_siphash_key_t  key;

    key_0_to_15(&key);

    assert_true(key.k0 == 0x0706050403020100ULL);
    assert_true(key.k1 == 0x0f0e0d0c0b0a0908ULL);

    for (i = 0; i < sizeof(msg); i++) {
        msg[i] = (unsigned char) i;
    }

    assert_true(jp_siphash24(&key, msg, sizeof(msg))
                == 0xa129ca6149be45e5ULL);
}


/* the empty message: only the length block and finalisation */
static void
test_empty_message(void **state)
{
    jp_siphash_key_t  key;

    key_0_to_15(&key);

    assert_true(jp_siphash24(&key, "", 0) == 0x726fdb47dd0e0e31ULL);
}


static void
test_key_changes_the_hash(void **state)
{
    jp_siphash_key_t  a, b;

    key_0_to_15(&a);
    b = a;
    b.k1 ^= 1;

    assert_true(jp_siphash24(&a, "/home/", 6)
                != jp_siphash24(&b, "/home/", 6));

    /* every length up to two blocks: the same input, the same hash */
    assert_true(jp_siphash24(&a, "0123456789abcdef", 16)
                == jp_siphash24(&a, "0123456789abcdef", 16));
    assert_true(jp_siphash24(&a, "0123456789abcdef", 16)
                != jp_siphash24(&a, "0123456789abcdef", 15));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_paper_vector),
        cmocka_unit_test(test_empty_message),
        cmocka_unit_test(test_key_changes_the_hash),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
