/*
 * Unit tests: what the nginx template cache relies on in libjpulse, the
 * bytes a compiled program holds (its cost in a cache bounded by size) and
 * the disk host's stamps and append-mode reads over several view roots.
 *
 * Each test builds its own roots under a fresh /tmp directory, in jPulse's
 * order: the site first, the plugins, the framework last.
 */

#define _GNU_SOURCE      /* nftw */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <ftw.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "jp_tpl.h"


#define SITE    0
#define PLUGIN1 1
#define PLUGIN2 2
#define FW      3
#define NROOTS  4

#define T1      1700000000      /* seconds since the epoch */
#define T2      1700000100


typedef struct {
    char         dir[32];
    char         root[NROOTS][64];
} tree_t;


static int
tree_setup(void **state)
{
    size_t   i;
    tree_t  *t;

    static const char  *names[NROOTS] = { "site", "plugin1", "plugin2",
                                          "framework" };

    t = calloc(1, sizeof(tree_t));
    assert_non_null(t);

    snprintf(t->dir, sizeof(t->dir), "/tmp/jp_tpl_diskXXXXXX");
    assert_non_null(mkdtemp(t->dir));

    for (i = 0; i < NROOTS; i++) {
        snprintf(t->root[i], sizeof(t->root[i]), "%s/%s", t->dir, names[i]);
        assert_int_equal(mkdir(t->root[i], 0700), 0);
    }

    *state = t;

    return 0;
}


static int
tree_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}


static int
tree_teardown(void **state)
{
    tree_t  *t;

    t = *state;

    /* FTW_PHYS: remove the links, never what they point to */
    nftw(t->dir, tree_rm, 16, FTW_DEPTH | FTW_PHYS);
    free(t);

    return 0;
}


/* writes root/name (or dir/name when root is -1), mtime sec when not 0 */
static void
put(tree_t *t, int root, const char *name, const char *text, time_t sec)
{
    char             path[256];
    FILE            *f;
    struct timespec  ts[2];

    snprintf(path, sizeof(path), "%s/%s",
             root == -1 ? t->dir : t->root[root], name);

    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);

    if (sec != 0) {
        ts[0].tv_sec = ts[1].tv_sec = sec;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
    }
}


static void
gone(tree_t *t, int root, const char *name)
{
    char  path[256];

    snprintf(path, sizeof(path), "%s/%s", t->root[root], name);
    assert_int_equal(unlink(path), 0);
}


static void
link_to(tree_t *t, int root, const char *name, const char *target)
{
    char  path[256];

    snprintf(path, sizeof(path), "%s/%s", t->root[root], name);
    assert_int_equal(symlink(target, path), 0);
}


/* a disk host over the given roots, in that order */
static jp_tpl_disk_t *
disk_of(tree_t *t, size_t n, ...)
{
    size_t          i;
    va_list         ap;
    const char     *roots[NROOTS];
    jp_tpl_disk_t  *disk;

    va_start(ap, n);
    for (i = 0; i < n; i++) {
        roots[i] = t->root[va_arg(ap, int)];
    }
    va_end(ap);

    disk = jp_tpl_disk_create(roots, n);
    assert_non_null(disk);

    return disk;
}


static uint64_t
stamp_of(jp_tpl_disk_t *disk, const char *path, unsigned flags,
    int64_t *ms)
{
    uint64_t  s;

    assert_int_equal(jp_tpl_disk_stamp(disk, path, flags, &s, ms), 0);

    return s;
}


/* the file read with flags must be want, NUL-terminated */
static void
check_read(jp_tpl_disk_t *disk, const char *path, unsigned flags,
    const char *want)
{
    char    *src;
    size_t   len;

    src = NULL;
    assert_int_equal(jp_tpl_disk_read_flags(disk, path, flags, &src, &len),
                     0);
    assert_non_null(src);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(src, want, len);
    assert_int_equal(src[len], '\0');
    free(src);
}


static void
check_no_read(jp_tpl_disk_t *disk, const char *path, unsigned flags)
{
    char    *src;
    size_t   len;

    src = NULL;
    assert_int_equal(jp_tpl_disk_read_flags(disk, path, flags, &src, &len),
                     -1);
    assert_null(src);
}


static jp_tpl_program_t *
compile(const char *src, size_t len, int include)
{
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = include ? jp_tpl_compile_include(src, len, "t", NULL, &err)
                   : jp_tpl_compile(src, len, "t", NULL, &err);

    if (prog == NULL) {
        fail_msg("%s:%u:%u: %s", err.file, err.line, err.column,
                 err.message);
    }

    return prog;
}


/* n copies of unit, malloc()ed */
static char *
repeat(const char *unit, size_t n, size_t *len)
{
    char    *s;
    size_t   i, k;

    k = strlen(unit);
    s = malloc(n * k + 1);
    assert_non_null(s);

    for (i = 0; i < n; i++) {
        memcpy(s + i * k, unit, k);
    }

    s[n * k] = '\0';
    *len = n * k;

    return s;
}


static size_t
size_of(const char *unit, size_t n, int include)
{
    char              *src;
    size_t             len, size;
    jp_tpl_program_t  *prog;

    src = repeat(unit, n, &len);
    prog = compile(src, len, include);
    size = jp_tpl_program_size(prog);
    jp_tpl_free(prog);
    free(src);

    return size;
}


/* program size */

/* Item: a program costs bytes, more as its template grows. */
static void
test_program_size_grows(void **state)
{
    size_t       s0, s1, s10, s1000;
    const char  *unit;

    unit = "<p>{{user.name}} {{#if a}}{{eq b \"c\"}}{{/if}}</p>\n";

    assert_int_equal(jp_tpl_program_size(NULL), 0);

    s0 = size_of("", 1, 0);
    s1 = size_of(unit, 1, 0);
    s10 = size_of(unit, 10, 0);
    s1000 = size_of(unit, 1000, 0);

    assert_true(s0 > 0);
    assert_true(s1 > s0);
    assert_true(s10 > s1);
    assert_true(s1000 > s10);

    /* at least the nodes and the copies of the text */
    assert_true(s1000 > 1000 * strlen(unit));

    assert_true(size_of(unit, 1000, 1) > size_of(unit, 10, 1));
}


/* Item: what lives outside the arena is counted too: a long literal. */
static void
test_program_size_counts_text_and_literals(void **state)
{
    char    *src, *lit;
    size_t   len, plain;

    plain = size_of("{{string.concat \"\"}}", 1, 0);

    src = repeat("x", 100000, &len);
    assert_true(size_of(src, 1, 0) >= 100000);
    free(src);

    lit = repeat("y", 50000, &len);
    src = malloc(len + 32);
    assert_non_null(src);
    snprintf(src, len + 32, "{{string.concat \"%s\"}}", lit);

    assert_true(size_of(src, 1, 0) >= plain + 50000);

    free(src);
    free(lit);
}


/*
 * Item: a call with many long string arguments holds about its source:
 * each string once copied the rest of the expression, and this template
 * then passed the compiled-size limit.
 */
static void
test_long_string_arguments(void **state)
{
    char              *arg, *call, *src, *p;
    size_t             len, k, n, size;
    jp_tpl_program_t  *prog;

    arg = repeat("y", 2000, &len);
    call = malloc(60 * (len + 3) + 32);
    src = malloc(20 * (60 * (len + 3) + 32) + 1);
    assert_non_null(call);
    assert_non_null(src);

    p = call + sprintf(call, "{{string.concat");
    for (k = 0; k < 60; k++) {
        p += sprintf(p, " \"%s\"", arg);
    }
    sprintf(p, "}}\n");

    n = 0;
    for (k = 0; k < 20; k++) {
        n += sprintf(src + n, "%s", call);
    }

    prog = compile(src, n, 0);
    size = jp_tpl_program_size(prog);
    jp_tpl_free(prog);

    /* the expression text, and the literals once each */
    assert_true(size > 2 * 20 * 60 * len);
    assert_true(size < 4 * n);

    free(src);
    free(call);
    free(arg);
}


/* Item: unclosed comments stay text, cheaply when there are many. */
static void
test_unclosed_comments(void **state)
{
    char              *src, *got;
    size_t             len, i;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    static const struct {
        const char  *src;
        const char  *want;
    } cases[] = {
        { "a{{!-- b{{!-- c --", "a{{!-- b{{!-- c --" },
        { "{{!-- x --}}y{{!-- {{x}}", "y{{!-- X" },
        { "{{!-- {{x}} {{!-- --}}z", "z" },
        { "{{!---}}", "{{!---}}" },
    };

    ctx = json_pack("{s:s}", "x", "X");
    assert_non_null(ctx);

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        prog = compile(cases[i].src, strlen(cases[i].src), 0);

        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render(prog, ctx, NULL, NULL, 0, &out,
                                       &err), 0);
        got = out.data ? out.data : "";

        if (strcmp(got, cases[i].want) != 0) {
            fail_msg("template: %s\n  want: %s\n   got: %s", cases[i].src,
                     cases[i].want, got);
        }

        jp_tpl_buf_free(&out);
        jp_tpl_free(prog);
    }

    json_decref(ctx);

    /* each opener once searched the rest of the page for its "--}}" */
    src = repeat("{{!-- x\n", 50000, &len);
    jp_tpl_free(compile(src, len, 0));
    free(src);
}


/* append mode */

/*
 * Item: every .js and .css the view controller serves, by the last
 * extension of the last component, in any case (jPulse lower-cases it).
 */
static void
test_is_append(void **state)
{
    size_t  i;

    static const struct {
        const char  *path;
        int          append;
    } cases[] = {
        { "jpulse-common.js", 1 },
        { "jpulse-common.css", 1 },
        { "js/jpulse-x.js", 1 },
        { "a/b/jpulse-x.css", 1 },
        { "jpulse-a.b.js", 1 },
        { "jpulse-.js", 1 },
        { "jpulse-.css", 1 },
        { "themes/dark.css", 1 },
        { "hello/app.js", 1 },
        { "x.CSS", 1 },
        { "x.Js", 1 },
        { ".js", 1 },
        { "my-jpulse-x.js", 1 },
        { "JPULSE-x.js", 1 },
        { "jpulse.js", 1 },
        { "common.js", 1 },
        { "jpulse-x.json", 0 },
        { "jpulse-x.jsx", 0 },
        { "jpulse-x.tmpl", 0 },
        { "jpulse-x.scss", 0 },
        { "x.css.tmpl", 0 },
        { "x.js.map", 0 },
        { "jpulse-x.js/index.shtml", 0 },
        { "a.css/b", 0 },
        { "js", 0 },
        { "css", 0 },
        { "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (jp_tpl_disk_is_append(cases[i].path) != cases[i].append) {
            fail_msg("%s: want %d", cases[i].path, cases[i].append);
        }
    }
}


/*
 * Item: jPulse's single-page-app markers in the raw text of an index
 * (a comment counts; history.pushState needs popstate too).
 */
static void
test_is_spa(void **state)
{
    size_t  i;

    static const struct {
        const char  *src;
        int          spa;
    } cases[] = {
        { "<script src=\"/common/vue/vue-router.min.js\"></script>", 1 },
        { "<script src=\"/x/vue-router.js\">", 1 },
        { "const r = VueRouter.createRouter({})", 1 },
        { "jPulse.UI.docs.init({})", 1 },
        { "history.pushState(s); addEventListener('popstate', f)", 1 },
        { "popstate ... history.pushState", 1 },
        { "<!-- history.pushState popstate -->", 1 },
        { "<!-- /vue-router.js -->", 1 },
        { "history.pushState only", 0 },
        { "popstate only", 0 },
        { "vue-router.js without the slash", 0 },
        { "/vue-router.min.j", 0 },
        { "VueRouter.createrouter", 0 },
        { "jPulse.UI.docs", 0 },
        { "history.replaceState popstate", 0 },
        { "#hash routing", 0 },
        { "", 0 },
    };

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (jp_tpl_disk_is_spa(cases[i].src, strlen(cases[i].src))
            != cases[i].spa)
        {
            fail_msg("%s: want %d", cases[i].src, cases[i].spa);
        }
    }

    assert_int_equal(jp_tpl_disk_is_spa(NULL, 0), 0);

    /* the length counts, not a NUL: a marker cut by it is none, one
     * after a NUL is one */
    assert_int_equal(jp_tpl_disk_is_spa("x/vue-router.js", 10), 0);
    assert_int_equal(jp_tpl_disk_is_spa("\0/vue-router.js", 16), 1);
}


/* Item: a long text full of near misses is scanned in linear time. */
static void
test_is_spa_near_misses(void **state)
{
    char    *src;
    size_t   len;

    src = repeat("/vue-router.j", 200000, &len);
    assert_int_equal(jp_tpl_disk_is_spa(src, len), 0);
    free(src);

    src = repeat("history.pushStat", 200000, &len);
    assert_int_equal(jp_tpl_disk_is_spa(src, len), 0);
    free(src);
}


/* stamps */

/* Item: a stamp changes when the file is edited, shadowed or removed. */
static void
test_stamp_follows_the_file(void **state)
{
    int64_t         ms;
    uint64_t        s, s1, s2, s3;
    tree_t         *t;
    jp_tpl_disk_t  *disk;

    t = *state;
    disk = disk_of(t, 3, SITE, PLUGIN1, FW);

    ms = 42;
    assert_int_equal(jp_tpl_disk_stamp(disk, "a.tmpl", 0, &s, &ms), -1);
    assert_int_equal(jp_tpl_disk_stamp(disk, "a.tmpl", JP_TPL_DISK_APPEND,
                                       &s, &ms), -1);
    assert_int_equal(ms, 42);

    put(t, FW, "a.tmpl", "one", T1);
    s1 = stamp_of(disk, "a.tmpl", 0, &ms);
    assert_int_equal(ms, (int64_t) T1 * 1000);

    /* stable while nothing changes; mtime_ms may be NULL */
    assert_true(stamp_of(disk, "a.tmpl", 0, NULL) == s1);

    /* the same size, another mtime */
    put(t, FW, "a.tmpl", "two", T2);
    s2 = stamp_of(disk, "a.tmpl", 0, &ms);
    assert_true(s2 != s1);
    assert_int_equal(ms, (int64_t) T2 * 1000);

    /* the same mtime, another size */
    put(t, FW, "a.tmpl", "three", T2);
    s3 = stamp_of(disk, "a.tmpl", 0, NULL);
    assert_true(s3 != s2);

    /* shadowed by the site, then by a plugin, older though they are */
    put(t, SITE, "a.tmpl", "site", T1);
    s = stamp_of(disk, "a.tmpl", 0, &ms);
    assert_true(s != s3);
    assert_int_equal(ms, (int64_t) T1 * 1000);

    gone(t, SITE, "a.tmpl");
    assert_true(stamp_of(disk, "a.tmpl", 0, NULL) == s3);

    put(t, PLUGIN1, "a.tmpl", "plugin", T1);
    assert_true(stamp_of(disk, "a.tmpl", 0, NULL) != s3);

    gone(t, PLUGIN1, "a.tmpl");
    assert_true(stamp_of(disk, "a.tmpl", 0, NULL) == s3);

    /* removed */
    gone(t, FW, "a.tmpl");
    assert_int_equal(jp_tpl_disk_stamp(disk, "a.tmpl", 0, &s, NULL), -1);

    jp_tpl_disk_destroy(disk);
}


/* Item: in append mode the stamp covers the file of every root. */
static void
test_stamp_append_covers_every_root(void **state)
{
    int64_t         ms;
    uint64_t        p0, a0, a1, a2;
    tree_t         *t;
    jp_tpl_disk_t  *disk;
    const char     *js;

    t = *state;
    disk = disk_of(t, 3, SITE, PLUGIN1, FW);
    js = "jpulse-common.js";

    put(t, FW, js, "F", T1);
    put(t, SITE, js, "S", T1);

    p0 = stamp_of(disk, js, 0, NULL);
    a0 = stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL);

    /* the framework's file, shadowed but appended */
    put(t, FW, js, "FF", T2);
    assert_true(stamp_of(disk, js, 0, &ms) == p0);
    assert_int_equal(ms, (int64_t) T1 * 1000);

    a1 = stamp_of(disk, js, JP_TPL_DISK_APPEND, &ms);
    assert_true(a1 != a0);
    assert_int_equal(ms, (int64_t) T2 * 1000);     /* the newest */

    /* a plugin's file appears */
    put(t, PLUGIN1, js, "P", T1);
    assert_true(stamp_of(disk, js, 0, NULL) == p0);
    a2 = stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL);
    assert_true(a2 != a1);

    /* the site's goes */
    gone(t, SITE, js);
    assert_true(stamp_of(disk, js, 0, NULL) != p0);
    assert_true(stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL) != a2);

    /* one root is enough */
    gone(t, FW, js);
    stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL);

    gone(t, PLUGIN1, js);
    assert_int_equal(jp_tpl_disk_stamp(disk, js, JP_TPL_DISK_APPEND, &a0,
                                       NULL), -1);

    jp_tpl_disk_destroy(disk);
}


/* Item: a link leaving its root is no file to the stamp either. */
static void
test_stamp_ignores_escaping_link(void **state)
{
    uint64_t        s;
    tree_t         *t;
    jp_tpl_disk_t  *disk;
    const char     *js;

    t = *state;
    disk = disk_of(t, 2, SITE, FW);
    js = "jpulse-x.js";

    put(t, -1, "outside.js", "OUT", T1);
    link_to(t, SITE, js, "../outside.js");

    assert_int_equal(jp_tpl_disk_stamp(disk, js, 0, &s, NULL), -1);
    assert_int_equal(jp_tpl_disk_stamp(disk, js, JP_TPL_DISK_APPEND, &s,
                                       NULL), -1);

    put(t, FW, js, "F", T1);
    s = stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL);

    gone(t, SITE, js);
    assert_true(stamp_of(disk, js, JP_TPL_DISK_APPEND, NULL) == s);

    jp_tpl_disk_destroy(disk);
}


/* reads */

/*
 * Item: append mode reads the framework's file, the site's, then the
 * plugins' in order, each ending with a newline; a root without the file
 * is skipped. Without the flag the first root wins.
 */
static void
test_read_append_order(void **state)
{
    tree_t         *t;
    jp_tpl_disk_t  *disk;
    const char     *js;

    t = *state;
    disk = disk_of(t, 4, SITE, PLUGIN1, PLUGIN2, FW);
    js = "jpulse-common.js";

    check_no_read(disk, js, 0);
    check_no_read(disk, js, JP_TPL_DISK_APPEND);

    put(t, FW, js, "F", 0);
    put(t, SITE, js, "S\n", 0);
    put(t, PLUGIN1, js, "P1", 0);
    put(t, PLUGIN2, js, "P2\r\n", 0);

    /* one "\n" between neighbours: a part ending in one gives an empty
     * line; none after the last */
    check_read(disk, js, JP_TPL_DISK_APPEND, "F\nS\n\nP1\nP2\r\n");
    check_read(disk, js, 0, "S\n");

    /* an empty part is a part: its neighbours get their "\n" each */
    put(t, PLUGIN1, js, "", 0);
    check_read(disk, js, JP_TPL_DISK_APPEND, "F\nS\n\n\nP2\r\n");

    gone(t, SITE, js);
    check_read(disk, js, JP_TPL_DISK_APPEND, "F\n\nP2\r\n");
    check_read(disk, js, 0, "");

    gone(t, FW, js);
    gone(t, PLUGIN1, js);
    check_read(disk, js, JP_TPL_DISK_APPEND, "P2\r\n");

    gone(t, PLUGIN2, js);
    check_no_read(disk, js, JP_TPL_DISK_APPEND);

    jp_tpl_disk_destroy(disk);

    /* two roots: the framework's first; one root: that file */
    put(t, FW, js, "f", 0);
    put(t, SITE, js, "s", 0);

    disk = disk_of(t, 2, SITE, FW);
    check_read(disk, js, JP_TPL_DISK_APPEND, "f\ns");
    jp_tpl_disk_destroy(disk);

    disk = disk_of(t, 1, SITE);
    check_read(disk, js, JP_TPL_DISK_APPEND, "s");
    jp_tpl_disk_destroy(disk);

    /* only empty parts */
    put(t, FW, js, "", 0);
    put(t, SITE, js, "", 0);
    disk = disk_of(t, 2, SITE, FW);
    check_read(disk, js, JP_TPL_DISK_APPEND, "\n");
    jp_tpl_disk_destroy(disk);
}


/* Item: a link leaving its root is skipped; one inside it is followed. */
static void
test_read_append_ignores_escaping_link(void **state)
{
    tree_t         *t;
    jp_tpl_disk_t  *disk;
    const char     *js;

    t = *state;
    disk = disk_of(t, 3, SITE, PLUGIN1, FW);
    js = "jpulse-x.css";

    put(t, -1, "outside.css", "OUT", 0);
    link_to(t, SITE, js, "../outside.css");

    check_no_read(disk, js, 0);
    check_no_read(disk, js, JP_TPL_DISK_APPEND);

    /* into another root is out of its own all the same */
    put(t, FW, "real.css", "R", 0);
    link_to(t, PLUGIN1, js, "../framework/real.css");
    check_no_read(disk, js, JP_TPL_DISK_APPEND);

    link_to(t, FW, js, "real.css");
    check_read(disk, js, JP_TPL_DISK_APPEND, "R");
    check_read(disk, js, 0, "R");

    jp_tpl_disk_destroy(disk);
}


/* Item: which kind of root the first hit is in (site, plugin, framework). */
static void
test_in_plugin(void **state)
{
    tree_t         *t;
    jp_tpl_disk_t  *disk;
    const char     *f;

    t = *state;
    disk = disk_of(t, 4, SITE, PLUGIN1, PLUGIN2, FW);
    f = "index.shtml";

    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), -1);

    put(t, PLUGIN2, f, "P2", 0);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 1);

    put(t, FW, f, "F", 0);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 1);

    put(t, PLUGIN1, f, "P1", 0);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 1);

    put(t, SITE, f, "S", 0);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 0);

    gone(t, SITE, f);
    gone(t, PLUGIN1, f);
    gone(t, PLUGIN2, f);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 0);

    jp_tpl_disk_destroy(disk);

    /* one root: the site and the framework at once */
    disk = disk_of(t, 1, FW);
    assert_int_equal(jp_tpl_disk_in_plugin(disk, f), 0);
    jp_tpl_disk_destroy(disk);
}


/*
 * Item: a path is a directory when the first root that has it, as a file
 * or a directory, has a directory; a link out of the root is nothing.
 */
static void
test_is_dir(void **state)
{
    char            path[256];
    tree_t         *t;
    jp_tpl_disk_t  *disk;

    t = *state;
    disk = disk_of(t, 3, SITE, PLUGIN1, FW);

    assert_int_equal(jp_tpl_disk_is_dir(disk, "d"), 0);

    snprintf(path, sizeof(path), "%s/d", t->root[FW]);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(jp_tpl_disk_is_dir(disk, "d"), 1);

    /* a file in an earlier root wins */
    put(t, PLUGIN1, "d", "file", 0);
    assert_int_equal(jp_tpl_disk_is_dir(disk, "d"), 0);

    gone(t, PLUGIN1, "d");
    assert_int_equal(jp_tpl_disk_is_dir(disk, "d"), 1);

    put(t, FW, "f", "file", 0);
    assert_int_equal(jp_tpl_disk_is_dir(disk, "f"), 0);

    /* a directory outside, through a link: not one of the tree's */
    link_to(t, SITE, "out", "..");
    assert_int_equal(jp_tpl_disk_is_dir(disk, "out"), 0);

    jp_tpl_disk_destroy(disk);
}


/* Item: a root behind a symlink follows the link when refreshed. */
static void
test_refresh_follows_a_swapped_root(void **state)
{
    char            cur[128], tmp[128], real[256];
    size_t          changed;
    uint64_t        s;
    tree_t         *t;
    const char     *roots[2];
    jp_tpl_disk_t  *disk;

    t = *state;

    put(t, SITE, "a.tmpl", "site", T1);
    put(t, PLUGIN1, "b.tmpl", "plugin", T1);

    snprintf(cur, sizeof(cur), "%s/current", t->dir);
    snprintf(tmp, sizeof(tmp), "%s/current.new", t->dir);
    assert_int_equal(symlink(t->root[SITE], cur), 0);

    roots[0] = cur;
    roots[1] = t->root[FW];
    disk = jp_tpl_disk_create(roots, 2);
    assert_non_null(disk);

    assert_non_null(realpath(t->root[SITE], real));
    assert_string_equal(jp_tpl_disk_root(disk, 0), real);
    assert_null(jp_tpl_disk_root(disk, 2));
    assert_int_equal(jp_tpl_disk_refresh(disk, &changed), 0);

    assert_int_equal(jp_tpl_disk_stamp(disk, "a.tmpl", 0, &s, NULL), 0);
    assert_int_equal(jp_tpl_disk_stamp(disk, "b.tmpl", 0, &s, NULL), -1);

    /* swapped: not seen until refreshed */
    assert_int_equal(symlink(t->root[PLUGIN1], tmp), 0);
    assert_int_equal(rename(tmp, cur), 0);
    assert_int_equal(jp_tpl_disk_stamp(disk, "b.tmpl", 0, &s, NULL), -1);

    changed = 9;
    assert_int_equal(jp_tpl_disk_refresh(disk, &changed), 1);
    assert_int_equal(changed, 0);
    assert_int_equal(jp_tpl_disk_stamp(disk, "a.tmpl", 0, &s, NULL), -1);
    assert_int_equal(jp_tpl_disk_stamp(disk, "b.tmpl", 0, &s, NULL), 0);
    assert_int_equal(jp_tpl_disk_refresh(disk, NULL), 0);

    /* gone: the last real path stays */
    assert_int_equal(unlink(cur), 0);
    assert_int_equal(jp_tpl_disk_refresh(disk, &changed), -1);
    assert_int_equal(jp_tpl_disk_stamp(disk, "b.tmpl", 0, &s, NULL), 0);

    jp_tpl_disk_destroy(disk);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_program_size_grows),
        cmocka_unit_test(test_program_size_counts_text_and_literals),
        cmocka_unit_test(test_long_string_arguments),
        cmocka_unit_test(test_unclosed_comments),
        cmocka_unit_test(test_is_append),
        cmocka_unit_test(test_is_spa),
        cmocka_unit_test(test_is_spa_near_misses),
        cmocka_unit_test_setup_teardown(test_in_plugin,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_is_dir,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_stamp_follows_the_file,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_stamp_append_covers_every_root,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_stamp_ignores_escaping_link,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(test_read_append_order,
                                        tree_setup, tree_teardown),
        cmocka_unit_test_setup_teardown(
            test_read_append_ignores_escaping_link, tree_setup,
            tree_teardown),
        cmocka_unit_test_setup_teardown(test_refresh_follows_a_swapped_root,
                                        tree_setup, tree_teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
