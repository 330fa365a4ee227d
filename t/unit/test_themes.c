/* Unit tests: libjpulse/jp_themes.c (appConfig.system.themes, §5) */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "jp_themes.h"


static char  root1[256], root2[256];


static void
put(const char *root, const char *name, const char *text)
{
    char   path[512];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/themes", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/themes/%s", root, name);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


#define META(n, src)                                                         \
    "{\"name\":\" " n " \",\"label\":\"L " n "\",\"description\":\"d\","     \
    "\"author\":\"a\",\"version\":\"1\",\"source\":\"" src "\"}"


static int
setup(void **state)
{
    snprintf(root1, sizeof(root1), "/tmp/jp_themes_site_%d", (int) getpid());
    snprintf(root2, sizeof(root2), "/tmp/jp_themes_fw_%d", (int) getpid());
    mkdir(root1, 0755);
    mkdir(root2, 0755);
    return 0;
}


static int
teardown(void **state)
{
    char  cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf %s %s", root1, root2);
    return system(cmd);
}


static void
test_color_scheme(void **state)
{
    const char  *css;

    assert_string_equal(jp_themes_color_scheme("", 0), "light");
    css = ":root { --jp-theme-color-scheme : DARK ; color-scheme: light; }";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "dark");
    css = ":root{color-scheme:dark;}";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "dark");
    /* "xcolor-scheme" is another property; the first that parses wins */
    css = "a{xcolor-scheme: dark;} b{color-scheme: blue;} c{color-scheme:"
          "\n light\t;}";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "light");
    css = "--jp-theme-color-scheme: dark";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "light");
    css = "--jp-theme-color-scheme: grey; --JP-THEME-COLOR-SCHEME:dark;";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "dark");
    css = "color-scheme: dark;";
    assert_string_equal(jp_themes_color_scheme(css, strlen(css)), "dark");
}


static char *
names(json_t *list)
{
    size_t   i;
    json_t  *e;
    char    *buf, *p;

    buf = calloc(1, 4096);
    p = buf;

    json_array_foreach(list, i, e) {
        p += sprintf(p, "%s%s:%s", i ? "," : "",
                     json_string_value(json_object_get(e, "name")),
                     json_string_value(json_object_get(e, "colorScheme")));
    }

    return buf;
}


static void
test_discover(void **state)
{
    char            *got;
    json_t          *list, *schemes, *e;
    const char      *roots[2];
    jp_tpl_host_t    host;
    jp_tpl_disk_t   *disk;

    /* the reference's example: extra site themes zz (dark) and Ab */
    put(root2, "light.json", META("light", "framework"));
    put(root2, "light.css", "x{}");
    put(root2, "light.png", "");
    put(root2, "dark.json", META("dark", "framework"));
    put(root2, "dark.css", ":root{--jp-theme-color-scheme: dark;}");
    put(root2, "dark.png", "");
    put(root1, "zz.json", META("zz", "site"));
    put(root1, "zz.css", "html { color-scheme: dark; }");
    put(root1, "zz.png", "");
    put(root1, "Ab.json", "{\"name\":\"Ab\",\"label\":\"A\","
        "\"description\":\"d\",\"author\":\"a\",\"version\":\"1\","
        "\"source\":\"plugin\",\"pluginName\":\" p \"}");
    put(root1, "Ab.css", "");
    put(root1, "Ab.png", "");
    put(root1, "b_c.json", META("b_c", "site"));
    put(root1, "b_c.css", "");
    put(root1, "b_c.png", "");
    put(root1, "b-c.json", META("b-c", "site"));
    put(root1, "b-c.css", "");
    put(root1, "b-c.png", "");
    /* skipped: no CSS, wrong name, bad source, bad JSON, missing field */
    put(root1, "aa.json", META("aa", "site"));
    put(root1, "aa.png", "");
    put(root1, "bb.json", META("other", "site"));
    put(root1, "bb.css", "");
    put(root1, "bb.png", "");
    put(root1, "cc.json", META("cc", "elsewhere"));
    put(root1, "cc.css", "");
    put(root1, "cc.png", "");
    put(root1, "dd.json", "{nope");
    put(root1, "dd.css", "");
    put(root1, "dd.png", "");
    put(root1, "ee.json", "{\"name\":\"ee\",\"label\":\" \",\"description\":"
        "\"d\",\"author\":\"a\",\"version\":\"1\",\"source\":\"site\"}");
    put(root1, "ee.css", "");
    put(root1, "ee.png", "");
    /* a site CSS without JSON still has a scheme; the site's dark wins */
    put(root1, "dark.css", "/* site */");
    put(root1, "solo.css", "a{color-scheme:dark;}");

    roots[0] = root1;
    roots[1] = root2;
    disk = jp_tpl_disk_create(roots, 2);
    assert_non_null(disk);
    jp_tpl_disk_host(disk, &host);

    list = jp_themes_discover(&host, &schemes);
    assert_non_null(list);

    got = names(list);
    assert_string_equal(got, "light:light,dark:light,Ab:light,b_c:light,"
                             "b-c:light,zz:dark");
    free(got);

    e = json_array_get(list, 2);
    assert_string_equal(json_string_value(json_object_get(e, "pluginName")),
                        "p");
    assert_null(json_object_get(json_array_get(list, 0), "pluginName"));
    e = json_array_get(list, 5);
    assert_string_equal(json_string_value(json_object_get(e, "label")),
                        "L zz");

    assert_string_equal(json_string_value(json_object_get(schemes, "solo")),
                        "dark");
    assert_null(json_object_get(schemes, "aa"));

    json_decref(schemes);
    json_decref(list);
    jp_tpl_disk_destroy(disk);
}


static void
test_builtins(void **state)
{
    char           *got, *dump;
    json_t         *list;
    const char     *roots[1];
    jp_tpl_host_t   host;
    jp_tpl_disk_t  *disk;

    roots[0] = root1;     /* no themes/ at all */
    disk = jp_tpl_disk_create(roots, 1);
    assert_non_null(disk);
    jp_tpl_disk_host(disk, &host);

    list = jp_themes_discover(&host, NULL);
    assert_non_null(list);

    got = names(list);
    assert_string_equal(got, "light:light,dark:dark");
    free(got);

    dump = json_dumps(json_array_get(list, 1), JSON_COMPACT);
    assert_string_equal(dump, "{\"name\":\"dark\",\"label\":\"Dark\","
        "\"description\":\"Default dark theme\",\"author\":"
        "\"jPulse Framework\",\"version\":\"1.0.0\",\"source\":\"framework\","
        "\"colorScheme\":\"dark\"}");
    free(dump);

    json_decref(list);
    jp_tpl_disk_destroy(disk);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_color_scheme),
        cmocka_unit_test_setup_teardown(test_discover, setup, teardown),
        cmocka_unit_test_setup_teardown(test_builtins, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
