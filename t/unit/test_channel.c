/* Unit tests: libjpulse/jp_channel.c */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jp_channel.h"


#define VALID(s)       jp_channel_valid(s, strlen(s))
#define VALID_REST(s)  jp_channel_valid_rest(s, strlen(s))


static void
test_known_channels(void **state)
{
    assert_true(VALID("controller:config:data:changed"));
    assert_true(VALID("controller:cache:invalidate:view"));
    assert_true(VALID("controller:health:metrics:12:0:12345"));
    assert_true(VALID("view:helloNotification:message:sent"));
    assert_true(VALID("controller:websocket:broadcast:api:1:ws:hello-todo"));
    assert_true(VALID("model:user:profile:v1.2"));
}


static void
test_wildcards(void **state)
{
    assert_false(VALID("controller:*"));          /* needs a component */
    assert_true(VALID("controller:cache:*"));
    assert_true(VALID("controller:cache:invalidate:*"));
    assert_false(VALID("controller*"));
    assert_false(VALID("controller:*:x"));
}


static void
test_segment_counts(void **state)
{
    assert_false(VALID("controller:config:data"));
    assert_false(VALID("controller"));
    assert_true(VALID("view:a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p"));     /* 16 */
    assert_false(VALID("view:a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q"));  /* 17 */
}


static void
test_bad_names(void **state)
{
    assert_false(VALID(""));
    assert_false(VALID("service:a:b:c"));
    assert_false(VALID("controller:a::c:d"));
    assert_false(VALID("controller:a:b:c:"));
    assert_false(VALID("controller:a b:c:d"));
    assert_false(VALID("controller:a:b:c\n"));
    assert_false(VALID("controllerx:a:b:c"));
    assert_false(jp_channel_valid("controller:a:b:c\0d", 18));
}


static void
test_rest_rule_is_stricter(void **state)
{
    assert_true(VALID_REST("controller:helloClusterTodo:item:added"));
    assert_true(VALID_REST("view:a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q"));
    assert_false(VALID_REST("model:user:profile:v1.2"));
    assert_false(VALID_REST("controller:cache:invalidate:*"));
    assert_false(VALID_REST("controller:a:b"));
}


#define RESERVED(s)  jp_channel_reserved(s, strlen(s))

static void
test_reserved(void **state)
{
    /* what l2.c and cluster.c act on */
    assert_true(RESERVED("controller:cache:invalidate:view"));
    assert_true(RESERVED("controller:cache:invalidate:all"));
    assert_true(RESERVED("controller:cache:invalidate:x:y"));
    assert_true(RESERVED("controller:health:metrics:12:0:12345"));
    assert_true(RESERVED("controller:health:metrics:shutdown:12:0:1"));
    assert_true(RESERVED("controller:config:data:changed"));
    /* the listeners match by prefix, so does the check */
    assert_true(RESERVED("controller:config:data:changed:more"));
    assert_true(RESERVED("controller:config:data:changedX"));
    assert_true(RESERVED("controller:session:cache:revoked"));
    assert_true(RESERVED("controller:session:cache:revoked:x"));

    /* neighbours are the application's */
    assert_false(RESERVED("controller:cache:invalidated:view"));
    assert_false(RESERVED("controller:cache:stats:read"));
    assert_false(RESERVED("controller:health:metricsx:a"));
    assert_false(RESERVED("controller:config:data:change"));
    assert_false(RESERVED("controller:session:cache:revoke"));
    assert_false(RESERVED("controller:session:cache:stats"));
    assert_false(RESERVED("view:cache:invalidate:view"));
    assert_false(RESERVED("model:health:metrics:a"));
    assert_false(RESERVED("controller:helloClusterTodo:item:added"));
    assert_false(RESERVED(""));

    /* byte for byte, as the listeners match */
    assert_false(RESERVED("controller:Cache:invalidate:view"));
    assert_false(jp_channel_reserved("controller:cache:invalidate:view", 20));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_known_channels),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_segment_counts),
        cmocka_unit_test(test_bad_names),
        cmocka_unit_test(test_rest_rule_is_stricter),
        cmocka_unit_test(test_reserved),
    };

    return cmocka_run_group_tests_name("jp_channel", tests, NULL, NULL);
}
