/*
 * Unit tests: defects found by the review of issue 12's engine. Some of
 * them only show under the sanitizers (make asan) or valgrind: a
 * use-after-free reads memory that usually still holds the old bytes.
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


typedef struct {
    const char  *path;
    const char  *src;
} mem_file_t;


static const mem_file_t  files[] = {
    { "lib/x.tmpl",
      "{{#component \"lib.b\"}}B{{/component}}\n"
      "{{#component \"lib.c\"}}C{{/component}}\n" },
    { NULL, NULL }
};


static int
mem_read(void *data, const char *path, char **src, size_t *len)
{
    const mem_file_t  *f;

    for (f = files; f->path != NULL; f++) {
        if (strcmp(f->path, path) == 0) {
            *len = strlen(f->src);
            *src = malloc(*len + 1);
            assert_non_null(*src);
            memcpy(*src, f->src, *len + 1);
            return 0;
        }
    }

    return -1;
}


static int
mem_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    size_t             n;
    const char        *name;
    const mem_file_t  *f;

    n = strlen(dir);

    for (f = files; f->path != NULL; f++) {
        if (n == 0) {
            name = f->path;

        } else if (strncmp(f->path, dir, n) == 0 && f->path[n] == '/') {
            name = f->path + n + 1;

        } else {
            continue;
        }

        if (strchr(name, '/') == NULL && cb(arg, name, strlen(name)) != 0) {
            return -1;
        }
    }

    return 0;
}


static const jp_tpl_host_t  mem_host = {
    NULL, mem_read, NULL, mem_list, NULL, NULL
};


static char *
render(const char *src, const char *ctx_json)
{
    int                rc;
    char              *s;
    json_t            *ctx;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = ctx_json ? json_loads(ctx_json, 0, &jerr) : NULL;

    prog = jp_tpl_compile(src, strlen(src), "test.shtml", NULL, &err);
    if (prog == NULL) {
        fail_msg("%s:%u:%u: %s\n  in: %s", err.file, err.line, err.column,
                 err.message, src);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, NULL, 0, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    assert_int_equal(rc, 0);

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


#define assert_render(src, ctx, want)                                       \
    do {                                                                    \
        char  *got_ = render(src, ctx);                                     \
        assert_string_equal(got_, want);                                    \
        free(got_);                                                         \
    } while (0)


/*
 * A component's defaults that register components while they are
 * evaluated (a subexpression file.includeComponents, a component whose
 * body defines others) grew the registry under the definition being
 * called: its node was then read from freed memory.
 */
static void
test_component_defaults_register(void **state)
{
    assert_render("{{#component \"aa\" x=(file.includeComponents "
                  "\"lib/*.tmpl\")}}A{{x}}{{/component}}{{components.aa}}"
                  "{{components.lib.b}}",
                  NULL, "AB");

    assert_render("{{#component \"bb\"}}{{#component \"n1\"}}N{{/component}}"
                  "{{#component \"n2\"}}M{{/component}}{{/component}}"
                  "{{#component \"aa\" x=(components.bb)}}A[{{x}}]"
                  "{{/component}}{{components.aa}}{{components.n2}}",
                  NULL, "A[]M");
}


/*
 * Undefined behaviour the sanitizers stop on (make asan): NULL + 0 in
 * string.titlecase of "", qsort_r(NULL, 0) in file.includeComponents
 * of a pattern that lists no file (common: an empty plugin directory).
 */
static void
test_empty_inputs(void **state)
{
    assert_render("[{{string.titlecase \"\"}}]", NULL, "[]");
    assert_render("[{{string.titlecase}}]", NULL, "[]");
    assert_render("[{{file.includeComponents \"none/*.tmpl\"}}]", NULL,
                  "[]");
    assert_render("[{{file.includeComponents \"lib/*.md\"}}]", NULL, "[]");
}


/*
 * Each string a helper returns is within the page limit, but a loop of
 * copies of a large one was not bounded: 300 x 300 iterations of a 1 MB
 * string.concat held the renderer for minutes. The strings calls compute
 * now count against JP_TPL_WORK_PAGES page limits.
 */
static void
test_computed_bytes_bounded(void **state)
{
    int                rc;
    json_t            *ctx;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_limits_t    limits;
    jp_tpl_program_t  *prog;

    static const char  src[] =
        "{{let s=(string.padLeft \"\" 1000 \"x\")}}"
        "{{#each items}}{{#each items}}{{let t=(string.concat vars.s "
        "\"y\")}}{{/each}}{{/each}}{{string.length vars.t}}";

    ctx = json_loads("{\"items\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,"
                     "16,17,18,19,20]}", 0, &jerr);
    assert_non_null(ctx);

    memset(&limits, 0, sizeof(limits));
    limits.max_output = 10000;

    prog = jp_tpl_compile(src, strlen(src), "test.shtml", NULL, &err);
    assert_non_null(prog);

    /* 400 x 1001 bytes computed: more than 16 pages of 10000 bytes */
    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, &limits, 0, &out, &err);
    assert_int_equal(rc, -1);
    jp_tpl_buf_free(&out);

    /* the same page within the default limit */
    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, NULL, 0, &out, &err);
    assert_int_equal(rc, 0);
    assert_string_equal(out.data, "1001");
    jp_tpl_buf_free(&out);

    jp_tpl_free(prog);
    json_decref(ctx);
}


/*
 * file.list in a loop listed its directories again at every iteration,
 * without bound but the iterations (100000 x every directory of the
 * views). Listings now count with includes and component calls.
 */
static void
test_list_loop_bounded(void **state)
{
    int    i;
    char  *got, ctx[1024];

    strcpy(ctx, "{\"items\":[0");
    for (i = 1; i < 101; i++) {
        sprintf(ctx + strlen(ctx), ",%d", i);
    }
    strcat(ctx, "]}");

    got = render("{{#each items}}{{#each items}}"
                 "{{array.length (file.list \"lib/*.none\")}}"
                 "{{/each}}{{/each}}", ctx);
    assert_non_null(strstr(got, "more than 10000 includes, component calls "
                                "and directory listings"));
    free(got);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_component_defaults_register),
        cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_computed_bytes_bounded),
        cmocka_unit_test(test_list_loop_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
