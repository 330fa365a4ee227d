/*
 * Golden tests: the examples/site pages rendered through the disk host
 * (site layer over framework layer) against t/golden/<case>.html.
 *
 * The context of a case is t/golden/contexts/<ctx>.json plus app.json as
 * "app" and "appConfig", the way the render issue will build it. The clock
 * and file mtimes are fixed so the output is stable.
 *
 * Run from the repository root. JP_GOLDEN_UPDATE=1 rewrites the expected
 * files instead of comparing (review the diff before committing it).
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


#define SITE     "examples/site"
#define GOLDEN   "t/golden"
#define NOW_MS   1700000000000LL        /* 2023-11-14T22:13:20Z */
#define MTIME_MS 1767225600000LL        /* 2026-01-01T00:00:00Z */


typedef struct {
    const char  *name;
    const char  *page;
    const char  *lang;
    const char  *ctx;
    unsigned     flags;
} golden_case_t;


static const golden_case_t  cases[] = {
    { "home-en-anon",   "home/index.shtml",  "en", "anon",  0 },
    { "home-de-admin",  "home/index.shtml",  "de", "admin", 0 },
    { "home-en-strict", "home/index.shtml",  "en", "anon",  JP_TPL_STRICT },
    { "about-en-anon",  "about/index.shtml", "en", "anon",  0 },
    { "about-de-admin", "about/index.shtml", "de", "admin", 0 },
    { "error-en-xss",   "error/index.shtml", "en", "xss",   0 },
};


static jp_tpl_host_t  disk_host;


static int
fixed_mtime(void *data, const char *path, int64_t *ms)
{
    if (disk_host.mtime(data, path, ms) != 0) {
        return -1;
    }

    *ms = MTIME_MS;

    return 0;
}


static int64_t
fixed_now(void *data)
{
    return NOW_MS;
}


static json_t *
load_json(const char *path)
{
    json_t        *j;
    json_error_t   err;

    j = json_load_file(path, 0, &err);
    if (j == NULL) {
        fail_msg("%s:%d: %s (run from the repository root)", path, err.line,
                 err.text);
    }

    return j;
}


static char *
read_file(const char *path, size_t *len)
{
    FILE  *f;
    char  *buf;
    long   n;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);

    buf = malloc(n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, n, f), (size_t) n);
    buf[n] = '\0';
    fclose(f);

    *len = (size_t) n;

    return buf;
}


static void
build_host(jp_tpl_disk_t **disk, jp_tpl_host_t *host)
{
    static const char *const  roots[] = {
        SITE "/site/webapp/view", SITE "/webapp/view"
    };

    *disk = jp_tpl_disk_create(roots, 2);
    if (*disk == NULL) {
        fail_msg("%s: missing (run from the repository root)", roots[0]);
    }

    jp_tpl_disk_host(*disk, &disk_host);

    *host = disk_host;
    host->mtime = fixed_mtime;
    host->now = fixed_now;
}


static void
run_case(const golden_case_t *c)
{
    char               path[512], *src, *want;
    size_t             len, wlen = 0;
    FILE              *f;
    json_t            *app, *ctx, *cfg, *i18n;
    jp_tpl_buf_t       out;
    jp_tpl_disk_t     *disk;
    jp_tpl_host_t      host;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    build_host(&disk, &host);

    app = load_json(SITE "/app.json");

    snprintf(path, sizeof(path), GOLDEN "/contexts/%s.json", c->ctx);
    ctx = load_json(path);

    cfg = json_deep_copy(app);
    assert_non_null(cfg);
    if (json_object_get(ctx, "appConfig") != NULL) {
        assert_int_equal(json_object_update_recursive(cfg,
                             json_object_get(ctx, "appConfig")), 0);
    }
    assert_int_equal(json_object_set_new(ctx, "appConfig", cfg), 0);
    assert_int_equal(json_object_set(ctx, "app",
                                     json_object_get(app, "app")), 0);

    snprintf(path, sizeof(path), SITE "/webapp/translations/%s.json",
             c->lang);
    i18n = load_json(path);

    assert_int_equal(host.read(host.data, c->page, &src, &len), 0);

    prog = jp_tpl_compile(src, len, c->page, i18n, &err);
    if (prog == NULL) {
        fail_msg("%s:%u:%u: %s", err.file, err.line, err.column,
                 err.message);
    }

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render(prog, ctx, &host, NULL, c->flags, &out,
                                   &err), 0);

    /* a helper error in an example page is a bug in the example */
    if (strstr(out.data, "<!-- Error") != NULL) {
        fail_msg("%s: %s", c->name, strstr(out.data, "<!-- Error"));
    }

    snprintf(path, sizeof(path), GOLDEN "/%s.html", c->name);

    if (getenv("JP_GOLDEN_UPDATE") != NULL) {
        f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
        fclose(f);

    } else {
        want = read_file(path, &wlen);
        if (want == NULL) {
            fail_msg("%s missing: JP_GOLDEN_UPDATE=1 writes it", path);
        }

        if (wlen != out.len || memcmp(want, out.data, wlen) != 0) {
            print_error("%s differs; got:\n%s\n", path, out.data);
            free(want);
            fail();
        }

        free(want);
    }

    free(src);
    jp_tpl_buf_free(&out);
    jp_tpl_free(prog);
    json_decref(i18n);
    json_decref(ctx);
    json_decref(app);
    jp_tpl_disk_destroy(disk);
}


static void
test_golden_pages(void **state)
{
    size_t  i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
}


/* cachectl would accept every template of the example site */
static void
test_every_example_template_compiles(void **state)
{
    static const char  *files[] = {
        "jpulse-header.tmpl", "jpulse-footer.tmpl",
        "components/jpulse-sidebar.tmpl", "components/site-cards.tmpl",
        "home/index.shtml", "error/index.shtml", "about/index.shtml",
    };
    char              *src;
    size_t             i, len;
    json_t            *i18n;
    jp_tpl_disk_t     *disk;
    jp_tpl_host_t      host;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    build_host(&disk, &host);
    i18n = load_json(SITE "/webapp/translations/de.json");

    for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        assert_int_equal(host.read(host.data, files[i], &src, &len), 0);

        prog = jp_tpl_compile_include(src, len, files[i], i18n, &err);
        if (prog == NULL) {
            fail_msg("%s:%u:%u: %s", err.file, err.line, err.column,
                     err.message);
        }

        jp_tpl_free(prog);
        free(src);
    }

    json_decref(i18n);
    jp_tpl_disk_destroy(disk);
}


/* the disk host keeps to its roots, whatever the engine lets through */
static void
test_disk_host_jail(void **state)
{
    char            *src;
    size_t           len;
    int64_t          ms;
    jp_tpl_disk_t   *disk;
    jp_tpl_host_t    host;

    build_host(&disk, &host);

    assert_int_equal(host.read(host.data, "../app.json", &src, &len), -1);
    assert_int_equal(host.read(host.data, "../../app.json", &src, &len), -1);
    assert_int_equal(disk_host.mtime(host.data, "../../../app.json", &ms),
                     -1);
    assert_int_equal(host.read(host.data, "home", &src, &len), -1);

    /* the site layer wins over the framework's */
    assert_int_equal(host.read(host.data, "about/index.shtml", &src, &len),
                     0);
    free(src);

    jp_tpl_disk_destroy(disk);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_golden_pages),
        cmocka_unit_test(test_every_example_template_compiles),
        cmocka_unit_test(test_disk_host_jail),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
