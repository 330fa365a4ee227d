/* Unit tests: libjpulse/jp_config.c (contextFilter, siteConfig) */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_config.h"


static json_t *
load(const char *text)
{
    json_t        *j;
    json_error_t   err;

    j = json_loads(text, 0, &err);
    assert_non_null(j);

    return j;
}


static char *
dump(json_t *j)
{
    char  *s;

    s = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(s);

    return s;
}


#define assert_json(j, text)                                                 \
    do {                                                                     \
        char  *s_ = dump(j);                                                 \
        assert_string_equal(s_, text);                                       \
        free(s_);                                                            \
    } while (0)


static const char  *config_text =
    "{\"app\":{\"siteId\":\"tides\"},"
    "\"system\":{\"defaultTheme\":\"dark\",\"secret\":1},"
    "\"database\":{\"url\":\"mongodb://x\"},"
    "\"redis\":{\"password\":\"p\"},"
    "\"utils\":{\"i18n\":{\"default\":\"de\"},\"urlFetch\":{\"port\":1}},"
    "\"model\":{\"user\":{\"passwordPolicy\":{\"minLength\":8},"
    "\"reservedUsernames\":[\"root\"]}},"
    "\"controller\":{\"user\":{\"profile\":{\"a\":1}},\"auth\":{\"x\":1}},"
    "\"view\":{\"home\":{\"port\":80}}}";


static void
test_anonymous_filter(void **state)
{
    json_t  *config, *ctx;

    config = load(config_text);
    ctx = jp_config_context(config, 0);

    /* withoutAuth removes whole sections, alwaysAllow puts some back */
    assert_json(ctx,
        "{\"app\":{\"siteId\":\"tides\"},"
        "\"controller\":{\"user\":{\"profile\":{\"a\":1}}},"
        "\"model\":{\"user\":{\"passwordPolicy\":{\"minLength\":8}}},"
        "\"system\":{\"defaultTheme\":\"dark\"},"
        "\"utils\":{\"i18n\":{\"default\":\"de\"},\"urlFetch\":{\"port\":1}},"
        "\"view\":{\"home\":{\"port\":80}}}");

    /* the original is untouched */
    assert_non_null(jp_config_get(config, "database.url"));

    json_decref(ctx);
    json_decref(config);
}


static void
test_authenticated_filter(void **state)
{
    json_t  *config, *ctx;

    config = load(config_text);
    ctx = jp_config_context(config, 1);

    /* withAuth: "**.port" anywhere, "**.password" anywhere */
    assert_null(jp_config_get(ctx, "utils.urlFetch.port"));
    assert_null(jp_config_get(ctx, "view.home.port"));
    assert_null(jp_config_get(ctx, "redis"));
    assert_null(jp_config_get(ctx, "database"));
    assert_non_null(jp_config_get(ctx, "system.secret"));
    assert_non_null(jp_config_get(ctx, "model.user.passwordPolicy.minLength"));
    assert_null(jp_config_get(ctx, "model.user.reservedUsernames"));

    json_decref(ctx);
    json_decref(config);
}


static void
test_configured_filter_wins(void **state)
{
    json_t  *config, *ctx;

    config = load("{\"a\":{\"b\":1,\"c\":2},\"d\":3,\"controller\":"
                  "{\"handlebar\":{\"contextFilter\":{"
                  "\"withoutAuth\":[\"a\",\"controller\"],"
                  "\"alwaysAllow\":[\"a.c\",\"nope.x\"]}}}}");
    ctx = jp_config_context(config, 0);

    assert_json(ctx, "{\"a\":{\"c\":2},\"d\":3}");

    json_decref(ctx);
    json_decref(config);
}


/* the order a template prints: alwaysAllow's sections come back last */

static void
test_key_order(void **state)
{
    char    *got;
    json_t  *config, *ctx;

    config = load(
        "{\"app\":{\"x\":1},\"system\":{\"pid\":1,\"port\":8080,"
        "\"defaultTheme\":\"light\",\"htmlAttrs\":\"h\","
        "\"colorScheme\":\"light\",\"themes\":[]},"
        "\"deployment\":{\"dev\":{\"port\":1,\"mode\":\"d\"}},"
        "\"utils\":{\"i18n\":{\"default\":\"en\"}},"
        "\"view\":{\"user\":{\"index\":{\"a\":1}},\"v\":2},"
        "\"features\":[1],"
        "\"model\":{\"user\":{\"passwordPolicy\":{\"minLength\":8}}},"
        "\"controller\":{\"user\":{\"profile\":1,"
        "\"emailVerification\":2,\"disablePasswordReset\":false,"
        "\"other\":3},\"auth\":{\"localAuthRestriction\":4}}}");

    ctx = jp_config_context(config, 0);
    got = json_dumps(ctx, JSON_COMPACT);
    assert_string_equal(got,
        "{\"app\":{\"x\":1},\"utils\":{\"i18n\":{\"default\":\"en\"}},"
        "\"view\":{\"user\":{\"index\":{\"a\":1}},\"v\":2},"
        "\"features\":[1],"
        "\"system\":{\"defaultTheme\":\"light\",\"htmlAttrs\":\"h\","
        "\"colorScheme\":\"light\",\"themes\":[]},"
        "\"model\":{\"user\":{\"passwordPolicy\":{\"minLength\":8}}},"
        "\"controller\":{\"user\":{\"profile\":1,"
        "\"emailVerification\":2,\"disablePasswordReset\":false},"
        "\"auth\":{\"localAuthRestriction\":4}}}");
    free(got);
    json_decref(ctx);

    ctx = jp_config_context(config, 1);
    got = json_dumps(ctx, JSON_COMPACT);
    assert_string_equal(got,
        "{\"app\":{\"x\":1},\"system\":{\"pid\":1,"
        "\"defaultTheme\":\"light\",\"htmlAttrs\":\"h\","
        "\"colorScheme\":\"light\",\"themes\":[]},"
        "\"deployment\":{\"dev\":{\"mode\":\"d\"}},"
        "\"utils\":{\"i18n\":{\"default\":\"en\"}},"
        "\"view\":{\"user\":{\"index\":{\"a\":1}},\"v\":2},"
        "\"features\":[1],"
        "\"model\":{\"user\":{\"passwordPolicy\":{\"minLength\":8}}},"
        "\"controller\":{\"user\":{\"profile\":1,"
        "\"emailVerification\":2,\"disablePasswordReset\":false},"
        "\"auth\":{\"localAuthRestriction\":4}}}");
    free(got);
    json_decref(ctx);

    json_decref(config);
}


/* jPulse's wildcard grammar in configured lists */

static void
test_wildcards(void **state)
{
    json_t  *config, *ctx;

    config = load("{\"a\":{\"x\":{\"p\":1,\"q\":2,\"d\":{\"p\":3}},"
                  "\"y\":{\"p\":4},\"z\":5},"
                  "\"e\":{\"smtpA\":1,\"smtpB\":2,\"userPass\":3,"
                  "\"keep\":4},\"p\":6,\"f\":{\"g\":{\"p\":7}},"
                  "\"controller\":{\"handlebar\":{\"contextFilter\":{"
                  "\"withoutAuth\":[\"a.*.p\",\"e.smtp*\",\"e.*Pass\","
                  "\"*.nothing\",\"controller\"],"
                  "\"withAuth\":[\"*.p\",\"controller\"],"
                  "\"alwaysAllow\":[]}}}}");

    ctx = jp_config_context(config, 0);
    assert_json(ctx, "{\"a\":{\"x\":{\"d\":{\"p\":3},\"q\":2},"
                     "\"y\":{},\"z\":5},\"e\":{\"keep\":4},"
                     "\"f\":{\"g\":{\"p\":7}},\"p\":6}");
    json_decref(ctx);

    ctx = jp_config_context(config, 1);
    assert_json(ctx, "{\"a\":{\"x\":{\"d\":{},\"q\":2},\"y\":{},"
                     "\"z\":5},\"e\":{\"keep\":4,\"smtpA\":1,"
                     "\"smtpB\":2,\"userPass\":3},\"f\":{\"g\":{}}}");
    json_decref(ctx);

    json_decref(config);
}


static void
test_not_an_object(void **state)
{
    json_t  *config, *ctx;

    config = load("[1,2]");
    ctx = jp_config_context(config, 0);
    assert_json(ctx, "{}");

    json_decref(ctx);
    json_decref(config);
}


static void
test_getters(void **state)
{
    json_t  *config;

    config = load("{\"a\":{\"b\":{\"c\":\"x\",\"n\":12,\"f\":2.9,"
                  "\"e\":\"\"}}}");

    assert_string_equal(jp_config_str(config, "a.b.c", "d"), "x");
    assert_string_equal(jp_config_str(config, "a.b.e", "d"), "d");
    assert_string_equal(jp_config_str(config, "a.b.n", "d"), "d");
    assert_string_equal(jp_config_str(config, "a.x.c", "d"), "d");
    assert_string_equal(jp_config_str(config, "a.b.c.d", "d"), "d");
    assert_int_equal(jp_config_int(config, "a.b.n", 5), 12);
    assert_int_equal(jp_config_int(config, "a.b.f", 5), 2);
    assert_int_equal(jp_config_int(config, "a.b.c", 5), 5);
    assert_null(jp_config_get(NULL, "a"));

    json_decref(config);
}


static void
test_site_config_strips_secrets(void **state)
{
    json_t  *site, *copy;

    site = load("{\"email\":{\"smtpServer\":\"s\",\"smtpPass\":\"p\","
                "\"adminEmail\":\"a@b\"},\"general\":{\"roles\":[\"x\"]},"
                "\"x\":{\"dbpass\":\"p\",\"keep\":1},"
                "\"manifest\":{\"license\":{\"key\":\"k\",\"tier\":\"pro\"}},"
                "\"nul\":null,\"list\":[null,1,{\"n\":null}]}");
    copy = jp_config_site(site);

    /* the reference's example (3.6): nul becomes "" */
    assert_json(copy,
        "{\"email\":{\"adminEmail\":\"a@b\"},\"general\":{\"roles\":[\"x\"]},"
        "\"list\":[\"\",1,{\"n\":\"\"}],"
        "\"manifest\":{\"license\":{\"tier\":\"pro\"}},\"nul\":\"\","
        "\"x\":{\"keep\":1}}");

    json_decref(copy);
    json_decref(site);

    copy = jp_config_site(NULL);
    assert_json(copy, "{}");
    json_decref(copy);
}


static void
test_site_config_signed_in(void **state)
{
    json_t  *site, *copy;

    site = load("{\"email\":{\"smtpServer\":\"s\",\"smtpPort\":25,"
                "\"smtpUser\":\"u\",\"smtpPass\":\"p\","
                "\"adminEmail\":\"a@b\"},\"x\":{\"dbpass\":\"p\"},"
                "\"manifest\":{\"license\":{\"key\":\"k\"}}}");

    /* withAuth: the mail server, never a password nor the license key */
    copy = jp_config_site_for(site, 1);
    assert_json(copy,
        "{\"email\":{\"adminEmail\":\"a@b\",\"smtpPort\":25,"
        "\"smtpServer\":\"s\",\"smtpUser\":\"u\"},"
        "\"manifest\":{\"license\":{}},\"x\":{}}");
    json_decref(copy);

    copy = jp_config_site_for(site, 0);
    assert_json(copy,
        "{\"email\":{\"adminEmail\":\"a@b\"},"
        "\"manifest\":{\"license\":{}},\"x\":{}}");
    json_decref(copy);

    json_decref(site);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_anonymous_filter),
        cmocka_unit_test(test_authenticated_filter),
        cmocka_unit_test(test_configured_filter_wins),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_wildcards),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_site_config_strips_secrets),
        cmocka_unit_test(test_site_config_signed_in),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
