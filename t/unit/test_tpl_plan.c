/*
 * Plans (jp_tpl_render_record, jp_tpl_render_plan): a page recorded over
 * one request's context renders, over another's, the same bytes as a full
 * render of that context; and no plan is made where replaying could
 * differ.
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


static inc_t  incs[] = {
    { "nav.tmpl",
      "<!-- @name nav -->\n<nav>{{title}}|{{#each app.nav}}"
      "<a{{#eq this url.pathname}} class=\"on\"{{/eq}}>{{this}}</a>"
      "{{/each}}</nav>|{{app.name}}|{{string.uppercase title}}", NULL },
    { "echo.tmpl", "[{{v}}]", NULL },
    { "comps.tmpl",
      "{{#component \"site.card\"}}<card>{{t}}</card>{{/component}}", NULL },
    { "static.tmpl", "<footer>{{app.name}}</footer>", NULL },
    { NULL, NULL, NULL }
};


static int
inc_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    return cb(arg, "comps.tmpl", 10);
}


static const jp_tpl_host_t  host = {
    incs, NULL, NULL, inc_list, NULL, tpl_incs_program
};


static json_t *
ctx_of(const char *q, const char *path)
{
    json_t  *ctx;

    ctx = json_pack("{s{ss s[sss]} s{s{ss} ss} s{ss}}",
                    "app", "name", "Tides", "nav", "/a/", "/b/", "/c/",
                    "url", "param", "q", q, "pathname", path,
                    "user", "timezone", "UTC");
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
                                        JP_TPL_URL_TOP_ONLY, &out, &err,
                                        &uses), 0);
    return out.data;
}


/*
 * Records src over the first context, then renders each context with the
 * plan and checks it against a full render. want_plan: whether a plan is
 * expected at all.
 */
static void
check_plan(const char *src, int want_plan)
{
    size_t             i;
    char              *full;
    json_t            *ctx[4];
    unsigned           uses, uses2;
    jp_tpl_buf_t       out;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    assert_non_null(prog);

    ctx[0] = ctx_of("tide", "/a/");
    ctx[1] = ctx_of("<b>\"x\"</b>", "/b/");
    ctx[2] = ctx_of("", "/c/");
    ctx[3] = ctx_of("tide", "/a/");

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_record(prog, ctx[0], &host, NULL,
                                          JP_TPL_URL_TOP_ONLY, &out, &err,
                                          &uses, &plan), 0);

    full = render_full(prog, ctx[0]);
    assert_string_equal(out.data, full);
    free(full);
    jp_tpl_buf_free(&out);

    if (!want_plan) {
        assert_null(plan);
        goto done;
    }

    assert_non_null(plan);
    assert_true(uses != 0);
    assert_ptr_equal(jp_tpl_plan_program(plan), prog);
    assert_true(jp_tpl_plan_size(plan) > 0);

    /* what the plan renders from must outlive the host's cache */
    tpl_incs_flush(incs);

    for (i = 1; i < 4; i++) {
        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render_plan(plan, ctx[i], &host, NULL,
                                            JP_TPL_URL_TOP_ONLY, &out, &err,
                                            &uses2), 0);
        full = render_full(prog, ctx[i]);
        assert_string_equal(out.data, full);
        assert_int_equal(uses2, uses);
        free(full);
        jp_tpl_buf_free(&out);
    }

    jp_tpl_plan_free(plan);

done:

    for (i = 0; i < 4; i++) {
        json_decref(ctx[i]);
    }

    jp_tpl_free(prog);
    tpl_incs_flush(incs);
}


static void
test_plan_page(void **state)
{
    /* the query in one place, tainted (escaped) as in a full render */
    check_plan("<h1>{{app.name}}</h1>\n<p>{{url.param.q}}</p>"
               "{{#each app.nav}}<i>{{this}}</i>{{/each}}", 1);
    check_plan("{{#if url.param.q}}found {{url.param.q}}{{else}}none"
               "{{/if}} {{app.name}}", 1);
    check_plan("{{user.timezone}}|{{app.name}}", 1);
}


static void
test_plan_includes(void **state)
{
    /* the nav reads the path inside its loop: only that node again */
    check_plan("<html>{{file.include \"nav.tmpl\" title=(app.name)}}"
               "{{url.param.q}}{{file.include \"static.tmpl\"}}", 1);
    /* arguments from the request: the whole include again */
    check_plan("{{file.include \"echo.tmpl\" v=(url.param.q)}}|{{app.name}}",
               1);
    /* includes within includes, and an include in a loop */
    check_plan("{{#each app.nav}}{{file.include \"echo.tmpl\" v=(this)}}"
               "{{/each}}{{url.pathname}}", 1);
}


static void
test_plan_state(void **state)
{
    /* components defined by a static node are defined again */
    check_plan("{{#each file.list \"*.tmpl\"}}{{file.include this}}{{/each}}"
               "{{components.site.card t=(url.param.q)}}"
               "{{components.site.card t=(app.name)}}", 1);
    /* a let that reads nothing of the request runs again */
    check_plan("{{let n=(app.name)}}{{url.param.q}}{{vars.n}}", 1);

    /* state set differently per request: no plan */
    check_plan("{{#if url.param.q}}{{let x=\"a\"}}{{else}}{{let x=\"b\"}}"
               "{{/if}}{{vars.x}}", 0);
    check_plan("{{let x=(url.param.q)}}{{vars.x}}", 0);
}


static void
test_plan_none(void **state)
{
    /* nothing of the request: the host keeps the page itself */
    check_plan("<p>{{app.name}}</p>", 0);
    /* everything from the request: nothing to keep */
    check_plan("{{url.param.q}}", 0);
    /* an error comment: limits and errors depend on what ran before */
    check_plan("{{url.param.q}}{{file.include \"nope.tmpl\"}}", 0);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_plan_page),
        cmocka_unit_test(test_plan_includes),
        cmocka_unit_test(test_plan_state),
        cmocka_unit_test(test_plan_none),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
