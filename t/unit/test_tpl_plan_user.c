/*
 * Plans of a signed-in user's page (JP_TPL_USER_DYNAMIC): recorded over
 * one user's context, rendered over another user's, the bytes are those
 * of a full render for that user, and nothing of the first user shows.
 * Whatever reads user.* (a path, a block, a subexpression, a let, #with,
 * a component's parameter or body, an include) is rendered again, or the
 * page gets no plan: never a plan that bakes one user in.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_tpl.h"
#include "tpl_incs.h"


#define USERS  4


static inc_t  incs[] = {
    { "echo.tmpl", "[{{v}}]", NULL },
    { "who.tmpl", "<who>{{user.firstName}}</who><site>{{app.name}}</site>"
                  "<t>{{t}}</t>", NULL },
    { "static.tmpl", "<footer>{{app.name}}</footer>", NULL },
    { NULL, NULL, NULL }
};


static const jp_tpl_host_t  host = {
    incs, NULL, NULL, NULL, NULL, tpl_incs_program
};


/* the names are unique words: found in an output, they leaked */
static const char  *names[USERS] = { "Alice", "Bob", "Carol", "Alice" };
static const char  *logins[USERS] = { "alice", "bob", "carol", "alice" };


static json_t *
ctx_of(int i)
{
    json_t  *ctx;

    ctx = json_pack("{s{ss} s{s{ss}} s{ss ss ss ss sb sb s[so*] s{ss}}}",
                    "app", "name", "Tides",
                    "url", "param", "q", "tide",
                    "user", "id", i == 1 ? "u-bob" : "u-other",
                    "username", logins[i],
                    "firstName", names[i],
                    "timezone", "UTC",
                    "isAuthenticated", 1,
                    "isAdmin", i == 1,
                    "roles", "user", i == 1 ? json_string("admin") : NULL,
                    "preferences", "theme", i == 2 ? "dark" : "light");
    assert_non_null(ctx);

    return ctx;
}


static char *
render_full(jp_tpl_program_t *prog, json_t *ctx)
{
    unsigned        uses;
    jp_tpl_buf_t    out;
    jp_tpl_error_t  err;

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_uses(prog, ctx, &host, NULL,
                                        JP_TPL_URL_TOP_ONLY
                                        | JP_TPL_USER_DYNAMIC,
                                        &out, &err, &uses), 0);
    assert_non_null(out.data);

    return out.data;
}


/*
 * Records src over user 0 (Alice), renders users 1..3 with the plan (Bob,
 * Carol, Alice again) and checks each against a full render. want_plan:
 * 1 a plan is expected, 0 none, -1 either (then it must be right).
 */
static void
check_user_plan(const char *src, int want_plan)
{
    int                i;
    char              *full;
    json_t            *ctx[USERS];
    unsigned           uses, uses2;
    jp_tpl_buf_t       out;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    assert_non_null(prog);

    for (i = 0; i < USERS; i++) {
        ctx[i] = ctx_of(i);
    }

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_record(prog, ctx[0], &host, NULL,
                                          JP_TPL_URL_TOP_ONLY
                                          | JP_TPL_USER_DYNAMIC,
                                          &out, &err, &uses, &plan), 0);

    full = render_full(prog, ctx[0]);
    assert_string_equal(out.data, full);
    free(full);
    jp_tpl_buf_free(&out);

    if (want_plan == 0) {
        assert_null(plan);
    }

    if (want_plan == 1) {
        assert_non_null(plan);
    }

    if (plan == NULL) {
        goto done;
    }

    assert_true(uses & JP_TPL_USES_USER);

    /* what the plan renders from must outlive the host's cache */
    tpl_incs_flush(incs);

    for (i = 1; i < USERS; i++) {
        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render_plan(plan, ctx[i], &host, NULL,
                                            JP_TPL_URL_TOP_ONLY
                                            | JP_TPL_USER_DYNAMIC,
                                            &out, &err, &uses2), 0);
        full = render_full(prog, ctx[i]);
        assert_string_equal(out.data, full);

        /* and the recording's user is not in another user's page */
        if (strcmp(names[i], names[0]) != 0) {
            assert_null(strstr(out.data, names[0]));
            assert_null(strstr(out.data, logins[0]));
        }

        free(full);
        jp_tpl_buf_free(&out);
    }

    jp_tpl_plan_free(plan);

done:

    for (i = 0; i < USERS; i++) {
        json_decref(ctx[i]);
    }

    jp_tpl_free(prog);
    tpl_incs_flush(incs);
}


static void
test_user_paths(void **state)
{
    check_user_plan("<h1>{{app.name}}</h1><p>Hi {{user.firstName}}</p>"
                    "<footer>{{app.name}}</footer>", 1);
    check_user_plan("{{app.name}}|{{user.username}}|{{user.id}}|"
                    "{{user.preferences.theme}}|{{user.roles.length}}", 1);
    /* a quoted argument resolves as a bare word: the user object */
    check_user_plan("{{app.name}}|{{string.concat \"user\" \"x\"}}|"
                    "{{string.concat user.firstName \"!\"}}", 1);
}


static void
test_user_blocks(void **state)
{
    check_user_plan("{{app.name}}{{#if user.isAdmin}}admin{{else}}user"
                    "{{/if}}", 1);
    check_user_plan("{{app.name}}{{#each user.roles}}<r>{{this}}</r>"
                    "{{/each}}", 1);
    check_user_plan("{{app.name}}{{#with user}}{{firstName}}/{{username}}"
                    "{{/with}}", 1);
    check_user_plan("{{app.name}}{{#each user}}{{@key}}={{this}};"
                    "{{/each}}", 1);
    /* in a subexpression, a helper's argument, a block of another's */
    check_user_plan("{{app.name}}{{string.default user.preferences.theme "
                    "\"light\"}}{{string.uppercase (string.concat "
                    "user.firstName \"x\")}}", 1);
    check_user_plan("{{#if app.name}}{{#each app.nav}}x{{/each}}"
                    "{{user.firstName}}{{/if}}<p>{{app.name}}</p>", 1);
}


static void
test_user_state(void **state)
{
    /* a let that captures the user: dynamic, or no plan */
    check_user_plan("{{let who=(user.firstName)}}<p>{{app.name}}</p>"
                    "{{vars.who}}", 0);
    check_user_plan("<p>{{app.name}}</p>{{#if user.isAdmin}}{{let r=\"a\"}}"
                    "{{else}}{{let r=\"u\"}}{{/if}}{{vars.r}}", 0);
    /* a component given the user, or reading it in its body */
    check_user_plan("{{#component \"site.card\"}}<card>{{u.firstName}}"
                    "</card>{{/component}}<p>{{app.name}}</p>"
                    "{{components.site.card u=user}}", -1);
    check_user_plan("{{#component \"site.me\"}}<me>{{user.firstName}}</me>"
                    "{{/component}}<p>{{app.name}}</p>"
                    "{{components.site.me}}{{components.site.me}}", -1);
}


static void
test_user_includes(void **state)
{
    /* arguments from the user: the whole include again */
    check_user_plan("{{file.include \"echo.tmpl\" v=(user.firstName)}}|"
                    "{{app.name}}", 1);
    /* an include that reads the user inside, its arguments static */
    check_user_plan("<html>{{file.include \"who.tmpl\" t=(app.name)}}"
                    "{{file.include \"static.tmpl\"}}", 1);
    check_user_plan("{{#each user.roles}}{{file.include \"echo.tmpl\" "
                    "v=(this)}}{{/each}}{{app.name}}", 1);
}


/* the anonymous visitor's user object is the same for all: kept whole */
static void
test_user_anonymous(void **state)
{
    unsigned           uses;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;
    const char        *src = "<p>{{user.firstName}}</p>{{app.name}}";

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    assert_non_null(prog);

    ctx = ctx_of(0);

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_record(prog, ctx, &host, NULL,
                                          JP_TPL_URL_TOP_ONLY, &out, &err,
                                          &uses, &plan), 0);
    assert_null(plan);
    assert_int_equal(uses, 0);
    jp_tpl_buf_free(&out);

    /* the same page for a signed-in user reads the request */
    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_uses(prog, ctx, &host, NULL,
                                        JP_TPL_URL_TOP_ONLY
                                        | JP_TPL_USER_DYNAMIC,
                                        &out, &err, &uses), 0);
    assert_int_equal(uses, JP_TPL_USES_USER);
    jp_tpl_buf_free(&out);

    json_decref(ctx);
    jp_tpl_free(prog);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_user_paths),
        cmocka_unit_test(test_user_blocks),
        cmocka_unit_test(test_user_state),
        cmocka_unit_test(test_user_includes),
        cmocka_unit_test(test_user_anonymous),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
