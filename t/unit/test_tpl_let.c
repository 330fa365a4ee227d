/*
 * {{let}} gives back every byte it took. {{let a.b=(vars)}} once stored the
 * render's own vars object under itself (vars.a.b was vars): a reference
 * cycle that json_decref() never frees, so every request of such a page
 * leaked its vars in the worker (found in the review of issue 10). Counted
 * through jansson's allocator: after the render and the context are
 * freed, nothing jansson allocated may be left.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jp_tpl.h"


static long  live;


static void *
count_malloc(size_t size)
{
    size_t  *p;

    p = malloc(sizeof(size_t) * 2 + size);
    if (p == NULL) {
        return NULL;
    }

    live++;

    return p + 2;
}


static void
count_free(void *ptr)
{
    if (ptr != NULL) {
        live--;
        free((size_t *) ptr - 2);
    }
}


static void
check_no_leak(const char *src)
{
    long              before;
    json_t           *ctx;
    unsigned          uses;
    jp_tpl_buf_t      out;
    jp_tpl_error_t    err;
    jp_tpl_program_t *prog;

    before = live;

    prog = jp_tpl_compile(src, strlen(src), "page.shtml", NULL, &err);
    assert_non_null(prog);

    ctx = json_pack("{s{} s{s{ss}}}", "vars", "url", "param", "q", "z");
    assert_non_null(ctx);

    jp_tpl_buf_init(&out, 0);
    (void) jp_tpl_render_uses(prog, ctx, NULL, NULL, JP_TPL_URL_TOP_ONLY,
                              &out, &err, &uses);
    jp_tpl_buf_free(&out);

    json_decref(ctx);
    jp_tpl_free(prog);

    assert_int_equal(live, before);
}


static void
test_let_plain(void **state)
{
    check_no_leak("{{let a.b=\"x\"}}{{vars.a.b}}");
}


static void
test_let_cycle(void **state)
{
    check_no_leak("{{let a.b=(vars)}}ok");
    check_no_leak("{{let a.b.c=(vars)}}ok");
    check_no_leak("{{let a=(vars)}}ok");
    check_no_leak("{{let x=1}}{{#with vars}}{{let a.b=(this)}}{{/with}}ok");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_let_plain),
        cmocka_unit_test(test_let_cycle),
    };

    json_set_alloc_funcs(count_malloc, count_free);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
