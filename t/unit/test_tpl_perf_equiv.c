/*
 * The render's fast paths give what the slow ones gave (issue 12, perf).
 *
 * - the lookup cache (jp_tpl_get(): (object, name) -> value for the
 *   context's objects, names up to 16 bytes, 128 entries kept): hits,
 *   misses, names past 16 bytes or sharing a prefix, more distinct keys
 *   than it keeps, objects that are not the context's (vars after a let,
 *   #with on them) and are never cached;
 * - borrowed values (no reference taken for the context's values and the
 *   program's literals): every reference count is the same after a
 *   render, and nothing jansson allocated is left;
 * - request data found through the cache is still escaped, and so are
 *   the containers of url, held once or shared (the walk that finds
 *   them skips its seen-set for containers held once);
 * - HTML escaping sized once, numbers printed without a copy, appends
 *   inlined: the same bytes, and the same failure past the output limit.
 *
 * Every expected output below was checked against the engine before
 * these fast paths (main at a791599).
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


/* src over ctx_json: the output (malloc()ed), or NULL if the render failed */
static char *
render(const char *src, const char *ctx_json, unsigned flags,
    size_t max_output)
{
    int                rc;
    char              *s;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    json_error_t       jerr;
    jp_tpl_error_t     err;
    jp_tpl_limits_t    limits;
    jp_tpl_program_t  *prog;

    ctx = json_loads(ctx_json, 0, &jerr);
    if (ctx == NULL) {
        fail_msg("context: %s", jerr.text);
    }

    prog = jp_tpl_compile(src, strlen(src), "equiv.shtml", NULL, &err);
    if (prog == NULL) {
        fail_msg("%u:%u: %s\n  in: %s", err.line, err.column, err.message,
                 src);
    }

    memset(&limits, 0, sizeof(limits));
    limits.max_output = max_output;

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, NULL, &limits, flags, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    s = NULL;

    if (rc == 0) {
        s = strdup(out.data ? out.data : "");
        assert_non_null(s);
    }

    jp_tpl_buf_free(&out);

    return s;
}


static void
check(const char *src, const char *ctx, unsigned flags, const char *want)
{
    char  *got;

    got = render(src, ctx, flags, 0);
    if (got == NULL) {
        fail_msg("render failed: %s", src);
    }

    if (strcmp(got, want) != 0) {
        print_error("template: %s\n    want: %s\n     got: %s\n", src, want,
                    got);
        free(got);
        fail();
    }

    free(got);
}


static void
test_cache_hits_and_misses(void **state)
{
    (void) state;

    check("{{a.b}}{{a.b}}{{a.c}}{{a.c}}{{x.y}}{{x.y}}|{{a.b}}",
          "{\"a\":{\"b\":\"1\"}}", 0, "11|1");

    /* the same name in other objects, and the same objects again */
    check("{{o1.k}}{{o2.k}}{{o1.k}}{{o3.k}}{{o2.k}}",
          "{\"o1\":{\"k\":\"A\"},\"o2\":{\"k\":\"B\"},\"o3\":{}}", 0,
          "ABAB");

    /* 15, 16, 17 bytes; two names equal in their first 16 bytes */
    check("{{o.abcdefghijklmno}}.{{o.abcdefghijklmnop}}."
          "{{o.abcdefghijklmnopq1}}.{{o.abcdefghijklmnopq2}}."
          "{{o.abcdefghijklmnop}}.{{o.abcdefghijklmnopq2}}."
          "{{o.abcdefghijklmnopq1}}",
          "{\"o\":{\"abcdefghijklmno\":15,\"abcdefghijklmnop\":16,"
          "\"abcdefghijklmnopq1\":\"x\",\"abcdefghijklmnopq2\":\"y\"}}", 0,
          "15.16.x.y.16.y.x");

    /* a name and its prefixes */
    check("{{o.ab}}{{o.a}}{{o.abc}}{{o.ab}}{{o.a}}",
          "{\"o\":{\"a\":1,\"ab\":2,\"abc\":3}}", 0, "21321");

    /* arrays, length, a key named like an index */
    check("{{arr.1}}{{arr.1}}{{arr.length}}{{s.length}}{{o.1}}{{arr.9}}",
          "{\"arr\":[\"a\",\"b\"],\"s\":\"xyz\",\"o\":{\"1\":\"one\"}}", 0,
          "bb23one");

    /* "this" outside a loop (no key, as in jPulse), and a root found in
     * #with first */
    check("{{this.a}}{{#with o}}{{a}}{{this.a}}{{b}}{{/with}}{{a}}",
          "{\"a\":\"top\",\"b\":\"B\",\"o\":{\"a\":\"in\"}}", 0,
          "inBtop");
}


/* more distinct keys than the cache keeps: the rest go to jansson */
static void
test_cache_full(void **state)
{
    int      i;
    char    *src, *ctx, *want, *p, *c, *w;
    size_t   size;

    (void) state;

    size = 300 * 64;
    src = malloc(size);
    ctx = malloc(size);
    want = malloc(size);
    assert_non_null(src);
    assert_non_null(ctx);
    assert_non_null(want);

    p = src;
    w = want;
    c = ctx + sprintf(ctx, "{\"o\":{");

    for (i = 0; i < 300; i++) {
        c += sprintf(c, "%s\"k%d\":\"v%d\"", i ? "," : "", i, i);
    }

    sprintf(c, "}}");

    /* every key twice, then all again in reverse */
    for (i = 0; i < 300; i++) {
        p += sprintf(p, "{{o.k%d}}{{o.k%d}}", i, i);
        w += sprintf(w, "v%dv%d", i, i);
    }

    for (i = 299; i >= 0; i--) {
        p += sprintf(p, "{{o.k%d}}", i);
        w += sprintf(w, "v%d", i);
    }

    check(src, ctx, 0, want);

    free(src);
    free(ctx);
    free(want);
}


/* vars copied by a let, and objects made during the render */
static void
test_not_the_context(void **state)
{
    (void) state;

    check("{{vars.a}}{{let a=2}}{{vars.a}}{{#with vars}}{{a}}{{/with}}"
          "{{let a=3}}{{vars.a}}",
          "{\"vars\":{\"a\":1}}", 0, "1223");

    check("{{let o=(user)}}{{#with vars.o}}{{name}}{{/with}}"
          "{{let o=(app)}}{{#with vars.o}}{{name}}{{/with}}"
          "{{let o.name=\"z\"}}{{vars.o.name}}{{app.name}}",
          "{\"user\":{\"name\":\"Ada\"},\"app\":{\"name\":\"Tides\"}}", 0,
          "AdaTideszTides");

    check("{{#with vars}}{{a}}{{let a=5}}{{a}}{{vars.a}}{{/with}}",
          "{\"vars\":{\"a\":1}}", 0, "115");

    /* values only vars holds, dropped by a let inside the block */
    check("{{let a=(string.uppercase \"x\")}}{{#if vars.a}}{{let a=2}}"
          "{{vars.a}}{{/if}}{{#unless vars.b}}{{let b=3}}{{vars.b}}"
          "{{/unless}}",
          "{}", 0, "23");

    check("{{let o=(json.parse \"{\\\"k\\\":1}\")}}{{#with vars.o}}"
          "{{let o=2}}{{k}}{{vars.o}}{{/with}}"
          "{{let l=(json.parse \"[\\\"p\\\",\\\"q\\\"]\")}}{{#each vars.l}}"
          "{{let l=0}}{{this}}{{/each}}{{vars.l}}",
          "{}", 0, "12pq0");

    check("{{#each items}}{{this.n}}{{@index}}{{#with this}}{{n}}{{/with}}"
          "{{/each}}|{{#each obj}}{{@key}}={{this}};{{/each}}",
          "{\"items\":[{\"n\":\"a\"},{\"n\":\"b\"}],"
          "\"obj\":{\"x\":1,\"y\":\"2\"}}", 0,
          "a0ab1b|x=1;y=2;");
}


/* request data found through the cache is escaped every time */
static void
test_request_data(void **state)
{
    static const char  ctx[] =
        "{\"url\":{\"param\":{\"q\":\"<b>&'\\\"`\\\\$\"}},"
        "\"app\":{\"n\":\"<i>\"}}";
    static const char  esc[] = "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;";

    (void) state;

    check("{{url.param.q}}|{{url.param.q}}|{{#with url}}{{param.q}}{{/with}}"
          "|{{#with url.param}}{{q}}{{/with}}|{{app.n}}{{app.n}}",
          ctx, 0,
          "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;|"
          "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;|"
          "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;|"
          "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;|<i><i>");

    check("{{string.default url.param.q \"x\"}}{{string.default url.param.z "
          "\"<x>\"}}", ctx, 0,
          "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;&lt;x&gt;");

    check("{{{app.n}}}{{app.n}}{{url.param.q}}", ctx, JP_TPL_STRICT,
          "<i>&lt;i&gt;" "&lt;b&gt;&amp;&#39;&quot;&#96;&#92;&#36;");

    check("{{url.param.q}}", ctx, JP_TPL_URL_TOP_ONLY, esc);
}


/* url held by two containers, and containers of it held once or twice */
static void
test_request_data_shared(void **state)
{
    json_t          *ctx, *url, *shared;
    jp_tpl_buf_t     out;
    jp_tpl_error_t   err;
    jp_tpl_program_t *prog;
    static const char  src[] =
        "{{a.u.q}}|{{a}}|{{s.v.u.q}}|{{t.v.u.q}}|{{s}}|{{b.c}}";

    (void) state;

    url = json_pack("{ss}", "q", "<");
    shared = json_pack("{s{sO}}", "v", "u", url);
    ctx = json_pack("{so s{sO} sO sO s{ss}}", "url", url, "a", "u", url,
                    "s", shared, "t", shared, "b", "c", "<");
    json_decref(shared);
    assert_non_null(ctx);

    prog = jp_tpl_compile(src, strlen(src), "shared.shtml", NULL, &err);
    assert_non_null(prog);

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err), 0);
    assert_string_equal(out.data,
                        "&lt;|{&quot;u&quot;:{&quot;q&quot;:&quot;&lt;"
                        "&quot;}}|&lt;|&lt;|{&quot;v&quot;:{&quot;u&quot;:"
                        "{&quot;q&quot;:&quot;&lt;&quot;}}}|<");
    jp_tpl_buf_free(&out);

    jp_tpl_free(prog);
    json_decref(ctx);
}


static void
test_output(void **state)
{
    char  *got, *big;

    (void) state;

    /* nothing to escape, only escapes, UTF-8 around them */
    check("{{url.a}}|{{url.b}}|{{url.c}}|{{url.d}}",
          "{\"url\":{\"a\":\"plain text\",\"b\":\"<<>>\",\"c\":\"\","
          "\"d\":\"\\u00e9<\\u20ac>\\u00e9\"}}", 0,
          "plain text|&lt;&lt;&gt;&gt;||\xc3\xa9&lt;\xe2\x82\xac&gt;\xc3\xa9");

    /* numbers as JavaScript prints them */
    check("{{a}} {{b}} {{c}} {{d}} {{e}} {{f}} {{g}} {{h}}",
          "{\"a\":42,\"b\":3.5,\"c\":-0.1,\"d\":1e21,\"e\":-7,"
          "\"f\":9007199254740993,\"g\":0.1,\"h\":100}", 0,
          "42 3.5 -0.1 1e+21 -7 9007199254740992 0.1 100");

    check("{{math.add 1 2}}{{math.divide 1 3}}{{t}}{{f}}{{n}}{{o}}{{a}}",
          "{\"t\":true,\"f\":false,\"n\":null,\"o\":{\"x\":1},\"a\":[1,\"2\"]}",
          0, "30.3333333333333333truefalse{\"x\":1}[1,\"2\"]");

    /* an empty page */
    check("", "{}", 0, "");
    check("{{nothing}}", "{}", 0, "");

    /* the limit counts escaped bytes: 4 + 4 fits in 8, not in 7 */
    got = render("{{url.q}}", "{\"url\":{\"q\":\"<<\"}}", 0, 8);
    assert_non_null(got);
    assert_string_equal(got, "&lt;&lt;");
    free(got);

    got = render("{{url.q}}", "{\"url\":{\"q\":\"<<\"}}", 0, 7);
    assert_null(got);

    /* the same past a page buffer that has grown: 29995 bytes, then 8 */
    big = malloc(29995 + sizeof("{{url.q}}"));
    assert_non_null(big);
    memset(big, 'a', 29995);
    strcpy(big + 29995, "{{url.q}}");

    got = render(big, "{\"url\":{\"q\":\"<<\"}}", 0, 30003);
    assert_non_null(got);
    assert_int_equal(strlen(got), 30003);
    assert_string_equal(got + 29995, "&lt;&lt;");
    free(got);

    got = render(big, "{\"url\":{\"q\":\"<<\"}}", 0, 30002);
    assert_null(got);
    free(big);

    got = render("ab{{x}}cd", "{\"x\":\"123\"}", 0, 7);
    assert_non_null(got);
    assert_string_equal(got, "ab123cd");
    free(got);

    got = render("ab{{x}}cd", "{\"x\":\"123\"}", 0, 6);
    assert_null(got);
}


/* borrowed values: the same reference counts after a render, no leak */
static void
test_references(void **state)
{
    long               before;
    size_t             r_ctx, r_user, r_name, r_items, r_q;
    json_t            *ctx, *user, *name, *items, *q;
    unsigned           uses;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;
    static const char  src[] =
        "{{user.name}}{{string.default user.name \"x\"}}"
        "{{string.default missing \"lit\"}}{{string.uppercase user.name}}"
        "{{#with user}}{{name}}{{/with}}{{#if user.name}}y{{/if}}"
        "{{#each items}}{{this}}{{/each}}{{url.q}}{{#with url}}{{q}}{{/with}}"
        "{{#if (eq user.name \"Ada\")}}t{{/if}}{{let u=(user)}}{{vars.u.name}}"
        "{{#each vars.u}}{{this}}{{/each}}";

    (void) state;

    /* counted here only: jp_tpl_to_string() free()s what json_dumps()
     * allocated, so the other tests keep jansson's allocator */
    json_set_alloc_funcs(count_malloc, count_free);
    before = live;

    prog = jp_tpl_compile(src, strlen(src), "refs.shtml", NULL, &err);
    assert_non_null(prog);

    ctx = json_pack("{s{ss} s[ss] s{ss}}", "user", "name", "Ada",
                    "items", "a", "b", "url", "q", "<q>");
    assert_non_null(ctx);

    user = json_object_get(ctx, "user");
    name = json_object_get(user, "name");
    items = json_object_get(ctx, "items");
    q = json_object_get(json_object_get(ctx, "url"), "q");

    r_ctx = ctx->refcount;
    r_user = user->refcount;
    r_name = name->refcount;
    r_items = items->refcount;
    r_q = q->refcount;

    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_uses(prog, ctx, NULL, NULL, 0, &out,
                                        &err, &uses), 0);
    assert_string_equal(out.data,
                        "AdaAdamissingADAAday" "ab" "&lt;q&gt;&lt;q&gt;"
                        "tAdaAda");
    jp_tpl_buf_free(&out);

    /* twice: a second render over the same objects */
    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render_uses(prog, ctx, NULL, NULL,
                                        JP_TPL_URL_TOP_ONLY, &out, &err,
                                        &uses), 0);
    jp_tpl_buf_free(&out);

    assert_int_equal(ctx->refcount, r_ctx);
    assert_int_equal(user->refcount, r_user);
    assert_int_equal(name->refcount, r_name);
    assert_int_equal(items->refcount, r_items);
    assert_int_equal(q->refcount, r_q);

    json_decref(ctx);
    jp_tpl_free(prog);

    json_set_alloc_funcs(malloc, free);
    assert_int_equal(live, before);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_cache_hits_and_misses),
        cmocka_unit_test(test_cache_full),
        cmocka_unit_test(test_not_the_context),
        cmocka_unit_test(test_request_data),
        cmocka_unit_test(test_request_data_shared),
        cmocka_unit_test(test_output),
        cmocka_unit_test(test_references),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
