/*
 * The engine's limits hold on every path: a plan replayed over another
 * request stops where the full render stops (an include past the call
 * limit), and a let that deep-copies vars pays for every value it copies.
 * Both were found in the last review of issue 10.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_tpl.h"


static const char        *part_src;
static jp_tpl_program_t  *part_prog;


static const jp_tpl_program_t *
inc_program(void *data, const char *path, json_t *i18n, jp_tpl_error_t *err)
{
    if (strcmp(path, "part.tmpl") == 0) {
        if (part_prog == NULL) {
            part_prog = jp_tpl_compile_include(part_src, strlen(part_src),
                                               path, i18n, err);
        }

        return part_prog;
    }

    snprintf(err->message, sizeof(err->message), "file not found");
    return NULL;
}


static const jp_tpl_host_t  host = {
    NULL, NULL, NULL, NULL, NULL, inc_program
};


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
    jp_tpl_buf_add(&out, "", 1);
    return out.data;
}


/* records src over rec, renders the plan over req: the full render's? */
static void
check(const char *src, const char *part, json_t *rec, json_t *req)
{
    int                rc;
    char              *full, *got;
    unsigned           uses;
    jp_tpl_buf_t       out;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    part_src = part;

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    assert_non_null(prog);

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_record(prog, rec, &host, NULL,
                                          JP_TPL_URL_TOP_ONLY, &out, &err,
                                          &uses, &plan), 0);
    jp_tpl_buf_free(&out);
    assert_non_null(plan);

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render_plan(plan, req, &host, NULL, JP_TPL_URL_TOP_ONLY,
                            &out, &err, &uses);

    if (rc == JP_TPL_PLAN_DIVERGED) {
        jp_tpl_buf_free(&out);
        jp_tpl_buf_init(&out, 0);
        rc = jp_tpl_render_uses(prog, req, &host, NULL, JP_TPL_URL_TOP_ONLY,
                                &out, &err, &uses);
    }

    assert_int_equal(rc, 0);
    jp_tpl_buf_add(&out, "", 1);
    got = out.data;

    full = render_full(prog, req);

    if (strcmp(got, full) != 0) {
        fprintf(stderr, "full ends \"%s\"\nplan ends \"%s\"\n",
                full + (strlen(full) > 120 ? strlen(full) - 120 : 0),
                got + (strlen(got) > 120 ? strlen(got) - 120 : 0));
    }

    assert_string_equal(got, full);

    free(full);
    free(got);
    jp_tpl_plan_free(plan);
    jp_tpl_free(prog);
    jp_tpl_free(part_prog);
    part_prog = NULL;
}


static char *
big_array(size_t n)
{
    char    *s;
    size_t   i;

    s = malloc(2 * n + 2);
    assert_non_null(s);

    s[0] = '[';
    for (i = 0; i < n; i++) {
        s[1 + 2 * i] = '0';
        s[2 + 2 * i] = ',';
    }
    s[2 * n] = ']';
    s[2 * n + 1] = '\0';

    return s;
}


/*
 * A replayed include (JP_TPL_P_ENTER) counts its call without checking
 * the limit: a node rendered again before it used all 10000 calls on
 * this request only; the full render writes the limit's error instead of
 * the include, the plan writes the include when nothing kept follows.
 */
static void
test_enter_past_calls_limit(void **state)
{
    char    src[64000], *big;
    json_t  *rec, *req;

    big = big_array(10000);

    snprintf(src, sizeof(src),
             "<p>{{#component \"site.d\"}}.{{/component}}"
             "{{#if url.param.x}}{{#each (json.parse \"%s\")}}"
             "{{components.site.d}}{{/each}}{{/if}}"
             "{{file.include \"part.tmpl\"}}", big);
    free(big);

    rec = json_pack("{s{s{ss}}}", "url", "param", "y", "A");
    req = json_pack("{s{s{ssss}}}", "url", "param", "x", "1", "y", "Y");

    check(src, "{{url.param.y}}", rec, req);

    json_decref(rec);
    json_decref(req);
}


/*
 * c5b918b's jp_tpl_let(): a value that holds vars is stored as a deep
 * copy, and only the containers jp_tpl_holds() walks are charged as
 * iterations (none at all when the value is vars itself). In a loop,
 * {{let a.b=(vars)}} copies vars, which holds the previous copy: the work
 * and the memory grow with the square of the loop, scalars are never
 * charged, and the iteration limit (100000) does not stop it. Here 40
 * rounds copy about 8 million values (0.5 s; 160 rounds take 8 s and
 * about 100 MB) and no limit is reported. Before c5b918b the same page
 * cost nothing (and leaked a cycle).
 */
static void
test_let_vars_copies_charged(void **state)
{
    int                i;
    char              *src, *p;
    unsigned           uses;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    src = malloc(64000);
    assert_non_null(src);

    p = src;
    p += sprintf(p, "{{let big=(json.parse \"[");
    for (i = 0; i < 10000; i++) {
        p += sprintf(p, i ? ",0" : "0");
    }
    p += sprintf(p, "]\")}}{{#each (json.parse \"[");
    for (i = 0; i < 40; i++) {
        p += sprintf(p, i ? ",0" : "0");
    }
    sprintf(p, "]\")}}{{let a.b=(vars)}}{{/each}}done");

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    free(src);
    assert_non_null(prog);

    ctx = json_object();
    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_uses(prog, ctx, NULL, NULL, 0, &out,
                                        &err, &uses), 0);
    jp_tpl_buf_add(&out, "", 1);

    /* from the 10th round on, more than 100000 values copied in all */
    if (strstr(out.data, "iterations") == NULL) {
        fprintf(stderr, "no limit reached: \"%.200s\"\n", out.data);
    }

    assert_non_null(strstr(out.data, "iterations"));

    free(out.data);
    json_decref(ctx);
    jp_tpl_free(prog);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_enter_past_calls_limit),
        cmocka_unit_test(test_let_vars_copies_charged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
