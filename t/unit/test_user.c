/* Unit tests: libjpulse/jp_user.c (user.*, isAuthorized, admin roles) */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_user.h"


static json_t *
parse(const char *text)
{
    json_t  *j;

    j = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    assert_non_null(j);

    return j;
}


static void
assert_json(json_t *j, const char *expect)
{
    char  *s;

    assert_non_null(j);
    s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    assert_non_null(s);
    assert_string_equal(s, expect);
    free(s);
}


static void
test_admin_roles_default(void **state)
{
    json_t  *site, *roles;

    (void) state;

    roles = jp_user_admin_roles(NULL);
    assert_json(roles, "[\"admin\",\"root\"]");
    json_decref(roles);

    /* jPulse caches the pair only when both are arrays */
    site = parse("{\"general\":{\"adminRoles\":[\"boss\"]}}");
    roles = jp_user_admin_roles(site);
    assert_json(roles, "[\"admin\",\"root\"]");
    json_decref(roles);
    json_decref(site);
}


static void
test_admin_roles_sorted(void **state)
{
    json_t  *site, *roles;

    (void) state;

    site = parse("{\"general\":{\"roles\":[],\"adminRoles\":"
                 "[\"root\",\"Boss\",\"boss\",\"admin\",7]}}");
    roles = jp_user_admin_roles(site);
    assert_json(roles, "[\"admin\",\"boss\",\"Boss\",\"root\"]");
    json_decref(roles);
    json_decref(site);

    site = parse("{\"general\":{\"roles\":[],\"adminRoles\":[]}}");
    roles = jp_user_admin_roles(site);
    assert_json(roles, "[]");
    json_decref(roles);
    json_decref(site);
}


static void
test_authorized(void **state)
{
    json_t  *roles, *req, *pub, *odd, *odd2;

    (void) state;

    roles = parse("[\"user\",\"editor\",1]");
    req = parse("[\"admin\",\"editor\"]");
    pub = parse("[\"_public\",\"user\"]");
    odd = parse("[1,\"1\"]");

    assert_true(jp_user_authorized(roles, 1, req));
    assert_false(jp_user_authorized(roles, 0, req));
    assert_true(jp_user_authorized(NULL, 0, pub));
    assert_true(jp_user_authorized(roles, 1, pub));
    /* strict equality: neither 1 nor "1" matches the other */
    assert_false(jp_user_authorized(roles, 1, odd));
    /* a user whose roles are not an array holds none */
    odd2 = json_string("editor");
    assert_false(jp_user_authorized(odd2, 1, req));
    json_decref(odd2);

    assert_true(jp_user_has_role(roles, "editor", 6));
    assert_false(jp_user_has_role(roles, "edit", 4));

    json_decref(roles);
    json_decref(req);
    json_decref(pub);
    json_decref(odd);
}


static void
test_context_user(void **state)
{
    json_t  *suser, *admin, *user;

    (void) state;

    suser = parse("{\"id\":\"65a1\",\"username\":\"ada\",\"email\":"
                  "\"ada@example.com\",\"firstName\":\"Ada\",\"lastName\":"
                  "\"Lovelace\",\"nickName\":\"Ada\",\"initials\":\"AL\","
                  "\"roles\":[\"user\",\"admin\"],\"preferences\":"
                  "{\"language\":\"de\",\"theme\":\"dark\"},"
                  "\"isAuthenticated\":true,\"helloPlugin\":1}");
    admin = jp_user_admin_roles(NULL);

    user = jp_user_context(suser, 1, admin, "Europe/Zurich", 13);
    assert_json(user,
        "{\"id\":\"65a1\",\"username\":\"ada\",\"firstName\":\"Ada\","
        "\"nickName\":\"Ada\",\"lastName\":\"Lovelace\",\"email\":"
        "\"ada@example.com\",\"initials\":\"AL\",\"roles\":[\"user\","
        "\"admin\"],\"hasRole\":{\"user\":true,\"admin\":true},"
        "\"isAuthenticated\":true,\"isAdmin\":true,\"preferences\":"
        "{\"language\":\"de\",\"theme\":\"dark\"},\"timezone\":"
        "\"Europe/Zurich\"}");
    json_decref(user);

    /* a session user not signed in: its fields, never an admin */
    user = jp_user_context(suser, 0, admin, "UTC", 3);
    assert_json(json_object_get(user, "isAdmin"), "false");
    assert_json(json_object_get(user, "isAuthenticated"), "false");
    assert_json(json_object_get(user, "username"), "\"ada\"");
    json_decref(user);

    json_decref(suser);
    json_decref(admin);
}


static void
test_context_falsy(void **state)
{
    json_t  *suser, *admin, *user;

    (void) state;

    /* || '' and || '?': null, false, 0 and "" give the default */
    suser = parse("{\"id\":0,\"username\":null,\"firstName\":false,"
                  "\"lastName\":\"\",\"nickName\":42,\"initials\":\"\","
                  "\"roles\":\"admin\",\"preferences\":null}");
    admin = jp_user_admin_roles(NULL);

    user = jp_user_context(suser, 1, admin, "UTC", 3);
    assert_json(user,
        "{\"id\":\"\",\"username\":\"\",\"firstName\":\"\",\"nickName\":42,"
        "\"lastName\":\"\",\"email\":\"\",\"initials\":\"?\",\"roles\":[],"
        "\"hasRole\":{},\"isAuthenticated\":true,\"isAdmin\":false,"
        "\"preferences\":{},\"timezone\":\"UTC\"}");
    json_decref(user);
    json_decref(suser);

    /* String(role) names hasRole's keys */
    suser = parse("{\"roles\":[\"root\",3,null,true,{\"a\":1},\"x\\u0000y\"]}");
    user = jp_user_context(suser, 1, admin, "UTC", 3);
    assert_json(json_object_get(user, "hasRole"),
                "{\"root\":true,\"3\":true,\"null\":true,\"true\":true}");
    assert_json(json_object_get(user, "isAdmin"), "true");
    json_decref(user);
    json_decref(suser);

    /* anonymous */
    user = jp_user_context(NULL, 0, admin, "UTC", 3);
    assert_json(user,
        "{\"id\":\"\",\"username\":\"\",\"firstName\":\"\",\"nickName\":\"\","
        "\"lastName\":\"\",\"email\":\"\",\"initials\":\"?\",\"roles\":[],"
        "\"hasRole\":{},\"isAuthenticated\":false,\"isAdmin\":false,"
        "\"preferences\":{},\"timezone\":\"UTC\"}");
    json_decref(user);

    json_decref(admin);
}


static void
test_truthy(void **state)
{
    json_t  *v;

    (void) state;

    assert_false(jp_user_truthy(NULL));
    v = json_real(0.0);
    assert_false(jp_user_truthy(v));
    json_decref(v);
    v = json_real(0.5);
    assert_true(jp_user_truthy(v));
    json_decref(v);
    v = json_array();
    assert_true(jp_user_truthy(v));
    json_decref(v);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_admin_roles_default),
        cmocka_unit_test(test_admin_roles_sorted),
        cmocka_unit_test(test_authorized),
        cmocka_unit_test(test_context_user),
        cmocka_unit_test(test_context_falsy),
        cmocka_unit_test(test_truthy),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
