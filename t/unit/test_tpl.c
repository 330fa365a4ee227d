/*
 * Unit tests: the template engine (libjpulse/jp_tpl_*.c), rule by rule,
 * as jpulse-contract.md section 5 lists them.
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "jp_tpl.h"


typedef struct {
    const char  *path;
    const char  *src;
    int64_t      mtime;
} mem_file_t;


static const mem_file_t  *mem_files;


static int
mem_read(void *data, const char *path, char **src, size_t *len)
{
    const mem_file_t  *f;

    for (f = mem_files; f != NULL && f->path != NULL; f++) {
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
mem_mtime(void *data, const char *path, int64_t *ms)
{
    const mem_file_t  *f;

    for (f = mem_files; f != NULL && f->path != NULL; f++) {
        if (strcmp(f->path, path) == 0) {
            *ms = f->mtime;
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

    for (f = mem_files; f != NULL && f->path != NULL; f++) {
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


static int64_t
mem_now(void *data)
{
    return 1700000000000LL;
}


static const jp_tpl_host_t  mem_host = {
    NULL, mem_read, mem_mtime, mem_list, mem_now, NULL
};


static json_t *
ctx_parse(const char *json)
{
    json_t        *j;
    json_error_t   err;

    if (json == NULL) {
        return NULL;
    }

    j = json_loads(json, 0, &err);
    if (j == NULL) {
        fail_msg("bad test JSON: %s: %s", err.text, json);
    }

    return j;
}


/* Renders src; returns the output (malloc()ed) or NULL on a parse error,
 * whose message then is in *err. */
static char *
render_full(const char *src, const char *ctx_json, const char *i18n_json,
    unsigned flags, const jp_tpl_limits_t *limits, jp_tpl_error_t *err)
{
    int                rc;
    char              *s;
    json_t            *ctx, *i18n;
    jp_tpl_buf_t       out;
    jp_tpl_program_t  *prog;

    ctx = ctx_parse(ctx_json);
    i18n = ctx_parse(i18n_json);

    prog = jp_tpl_compile(src, strlen(src), "test.shtml", i18n, err);
    json_decref(i18n);

    if (prog == NULL) {
        json_decref(ctx);
        return NULL;
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, limits, flags, &out, err);
    jp_tpl_free(prog);
    json_decref(ctx);

    if (rc != 0) {
        jp_tpl_buf_free(&out);
        return NULL;
    }

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


static void
check_full(const char *src, const char *ctx, const char *i18n,
    unsigned flags, const char *want)
{
    char            *got;
    jp_tpl_error_t   err;

    got = render_full(src, ctx, i18n, flags, NULL, &err);
    if (got == NULL) {
        fail_msg("%s:%u:%u: %s\n  in: %s", err.file, err.line, err.column,
                 err.message, src);
    }

    if (strcmp(got, want) != 0) {
        print_error("template: %s\n    want: %s\n     got: %s\n", src, want,
                    got);
        free(got);
        fail();
    }

    free(got);
}


/*
 * Expects the template to compile (as jPulse renders it) and
 * jp_tpl_check() to report line:column with a message containing msg.
 */
static void
check_check(const char *src, unsigned line, unsigned column,
    const char *msg)
{
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile(src, strlen(src), "t", NULL, &err);
    if (prog == NULL) {
        fail_msg("template: %s\n  compile: %s", src, err.message);
    }
    jp_tpl_free(prog);

    if (jp_tpl_check(src, strlen(src), "t", NULL, 0, &err) != -1) {
        fail_msg("template: %s\n  jp_tpl_check() found nothing", src);
    }

    if (strstr(err.message, msg) == NULL || err.line != line
        || err.column != column || strcmp(err.file, "t") != 0)
    {
        fail_msg("template: %s\n  want %u:%u: ...%s...\n  got  %s:%u:%u: %s",
                 src, line, column, msg, err.file, err.line, err.column,
                 err.message);
    }
}


#define check(src, ctx, want)  check_full(src, ctx, NULL, 0, want)
#define check_strict(src, ctx, want)  check_full(src, ctx, NULL,           \
                                                 JP_TPL_STRICT, want)


/* Expects a parse error at line:column whose message contains msg. */
static void
check_parse_error(const char *src, unsigned line, unsigned column,
    const char *msg)
{
    char            *got;
    jp_tpl_error_t   err;

    got = render_full(src, NULL, NULL, 0, NULL, &err);
    if (got != NULL) {
        print_error("template: %s\n  rendered: %s\n", src, got);
        free(got);
        fail_msg("expected a parse error");
    }

    if (strstr(err.message, msg) == NULL || err.line != line
        || err.column != column)
    {
        fail_msg("template: %s\n  want %u:%u: ...%s...\n  got  %u:%u: %s",
                 src, line, column, msg, err.line, err.column, err.message);
    }

    assert_string_equal(err.file, "test.shtml");
}


/* Expects the rendered output to contain want. */
static void
check_contains(const char *src, const char *ctx, const char *want)
{
    char            *got;
    jp_tpl_error_t   err;

    got = render_full(src, ctx, NULL, 0, NULL, &err);
    if (got == NULL) {
        fail_msg("%s: %s", src, err.message);
    }

    if (strstr(got, want) == NULL) {
        print_error("template: %s\n    want: ...%s...\n     got: %s\n", src,
                    want, got);
        free(got);
        fail();
    }

    free(got);
}


#define USER  "{\"user\":{\"firstName\":\"Ann\",\"nickName\":\"annie\"," \
              "\"roles\":[\"admin\",\"user\"],\"isAdmin\":true," \
              "\"prefs\":{}},\"n\":0,\"one\":1,\"s\":\"false\"," \
              "\"empty\":\"\",\"arr\":[],\"obj\":{}," \
              "\"url\":{\"pathname\":\"/x/\",\"param\":" \
              "{\"q\":\"<b>\\\"'`${x}\"}}}"


/* lexing */

static void
test_vue_and_uppercase_pass_through(void **state)
{
    check("{{ user.firstName }}", USER, "{{ user.firstName }}");
    check("{{Upper}} {{$x}} {{_y}} {{1}}", USER,
          "{{Upper}} {{$x}} {{_y}} {{1}}");
    check("<p v-if=\"a\">{{ msg }}</p>{{user.firstName}}", USER,
          "<p v-if=\"a\">{{ msg }}</p>Ann");
    check("{{{ x }}}", USER, "{{{ x }}}");
    check("{", NULL, "{");
    check("{{", NULL, "{{");
    check("a}}b", NULL, "a}}b");
}


static void
test_comments(void **state)
{
    check("a{{!-- gone --}}b", NULL, "ab");
    check("a{{!-- multi\nline {{user.x}} --}}b", NULL, "ab");
    check("a{{! short}}b", NULL, "a{{! short}}b");
    check("a{{!-- open", NULL, "a{{!-- open");
}


/* values */

static void
test_values(void **state)
{
    check("{{user.firstName}}", USER, "Ann");
    check("{{user.roles}}", USER, "[\"admin\",\"user\"]");
    check("{{user.isAdmin}} {{n}} {{one}}", USER, "true 0 1");
    check("{{user.prefs}}", USER, "{}");
    check("[{{user.missing}}][{{nothing}}][{{user.firstName.x}}]", USER,
          "[][][]");
    check("{{x}}", "{\"x\":null}", "");
    check("{{x}} {{y}} {{z}}", "{\"x\":0.1,\"y\":2.50,\"z\":-3.0}",
          "0.1 2.5 -3");
    check("{{user.roles.1}} {{user.roles.length}}", USER, "user 2");
    check("{{user.firstName.length}}", USER, "3");
    /* strings are raw in compatible mode: i18n HTML depends on it */
    check("{{h}}", "{\"h\":\"<b>bold</b>\"}", "<b>bold</b>");
}


static void
test_truthiness(void **state)
{
    check("{{#if arr}}y{{/if}}{{#if obj}}y{{/if}}{{#if s}}y{{/if}}", USER,
          "yyy");
    check("{{#if n}}y{{else}}n{{/if}}{{#if empty}}y{{else}}n{{/if}}", USER,
          "nn");
    /* jPulse R13: a simple name whose value is null is its own text */
    check("{{#if x}}y{{else}}n{{/if}}", "{\"x\":null}", "y");
    check("{{#if x.y}}y{{else}}n{{/if}}", "{\"x\":{\"y\":null}}", "n");
    check("{{#if x}}y{{else}}n{{/if}}", "{\"x\":0.0}", "n");
    check("{{#if user.nope}}y{{else}}n{{/if}}", USER, "n");
}


static void
test_unknown_bare_word_is_a_literal(void **state)
{
    /* jPulse: an unknown root is kept as a literal string */
    check("{{#if foo}}y{{else}}n{{/if}}", USER, "y");
    check("{{#if foo.bar}}y{{else}}n{{/if}}", USER, "y");
    check("{{string.concat foo \"-\" bar}}", USER, "foo-bar");
    check("{{string.concat a/b.tmpl}}", USER, "a/b.tmpl");
    /* strict mode drops the fallback */
    check_strict("{{#if foo}}y{{else}}n{{/if}}", USER, "n");
}


static void
test_loose_equality(void **state)
{
    check("{{eq one \"1\"}} {{eq 1 1.0}} {{eq \"a\" \"a\"}} {{eq \"a\" \"b\"}}",
          USER, "true true true false");
    check("{{eq n false}} {{eq empty 0}} {{eq null undefined}} {{eq n null}}",
          USER, "true true false false");
    check("{{ne one 2}} {{ne one \"1\"}}", USER, "true false");
    /* jPulse deep-copies each argument: two objects are never the same */
    check("{{eq arr arr}} {{eq arr obj}}", USER, "false false");
}


static void
test_comparisons(void **state)
{
    check("{{gt 2 1}} {{gt 1 2}} {{gte 2 2}} {{lt 1 2}} {{lte 3 2}}", NULL,
          "true false true true false");
    check("{{gt \"b\" \"a\"}} {{lt \"10\" \"9\"}} {{lt 10 \"9\"}}", NULL,
          "true true false");
    check("{{gt \"x\" 1}} {{lt \"x\" 1}}", NULL, "false false");
}


/* blocks */

static void
test_if_unless_else(void **state)
{
    check("{{#if user.isAdmin}}A{{else}}B{{/if}}", USER, "A");
    check("{{#unless user.isAdmin}}A{{else}}B{{/unless}}", USER, "B");
    check("{{#unless n}}zero{{/unless}}", USER, "zero");
    check("{{#if one}}{{#if n}}a{{else}}b{{/if}}{{else}}"
          "{{#if n}}c{{else}}d{{/if}}{{/if}}", USER, "b");
    /* jPulse: a nested block of another name does not hide its
     * {{else}}, which splits the outer block and breaks the pair */
    check("{{#if n}}{{#if n}}a{{else}}b{{/if}}{{else}}"
          "{{#unless one}}c{{else}}d{{/unless}}{{/if}}", USER,
          "<!-- Error: Unbalanced handlebar \"#unless one\" removed -->c");
    /* jPulse: the opener may have spaces, the closer none (R3) */
    check("{{#if  one }}x{{/if}}", USER, "x");
    check("{{#if true}}A{{/if }}|{{#if true }}B{{/if}}", NULL,
          "A<!-- Error: Unbalanced handlebar \"/if \" removed -->|"
          "<!-- Error: Unbalanced handlebar \"#if true \" removed -->B");
}


static void
test_logical_blocks(void **state)
{
    check("{{#and one user.isAdmin}}y{{else}}n{{/and}}", USER, "y");
    check("{{#or n empty}}y{{else}}n{{/or}}", USER, "n");
    check("{{#not n}}y{{/not}}", USER, "y");
    check("{{#eq user.firstName \"Ann\"}}y{{else}}n{{/eq}}", USER, "y");
    check("{{#ne one 1}}y{{else}}n{{/ne}}", USER, "n");
    check("{{#gt one 0}}y{{/gt}}{{#gte one 1}}y{{/gte}}"
          "{{#lt one 0}}y{{/lt}}{{#lte one 1}}y{{/lte}}", USER, "yyy");
}


static void
test_each_array(void **state)
{
    check("{{#each a}}{{@index}}{{this}}{{#if @first}}F{{/if}}"
          "{{#if @last}}L{{/if}},{{/each}}", "{\"a\":[\"x\",\"y\",\"z\"]}",
          "0xF,1y,2zL,");
    check("{{#each a}}{{this.n}}:{{title}};{{/each}}",
          "{\"title\":\"T\",\"a\":[{\"n\":1},{\"n\":2}]}", "1:T;2:T;");
    check("{{#each a}}[{{#each this}}{{this}}{{/each}}]{{/each}}",
          "{\"a\":[[1,2],[3]]}", "[12][3]");
    check("{{#each nothing}}x{{/each}}{{#each n}}x{{/each}}", USER, "");
    /* jPulse: outside a loop "this" is no key ("" printed) */
    check("{{#each a}}{{this}}{{/each}}{{this.title}}",
          "{\"title\":\"T\",\"a\":[1]}", "1");
}


static void
test_each_object_with_key(void **state)
{
    check("{{#each o}}{{@index}}{{@key}}={{this}}{{#if @last}}.{{/if}};"
          "{{/each}}", "{\"o\":{\"b\":1,\"a\":\"two\"}}", "0b=1;1a=two.;");
    check("{{#each o}}{{@key}}:{{this.x}} {{/each}}",
          "{\"o\":{\"k1\":{\"x\":1},\"k2\":{\"x\":2}}}", "k1:1 k2:2 ");
}


static void
test_else_not_allowed_in_each(void **state)
{
    /* jPulse: no {{else}} in #each, the word prints "" */
    check("{{#each a}}x{{else}}y{{/each}}", "{\"a\":[1,2]}", "xyxy");
    /* but inside an #if inside an #each it is */
    check("{{#each a}}{{#if this}}t{{else}}f{{/if}}{{/each}}",
          "{\"a\":[1,0]}", "tf");
}


static void
test_with(void **state)
{
    check("{{#with user}}{{firstName}}/{{nickName}}/{{n}}{{/with}}", USER,
          "Ann/annie/0");
    check("{{#with nothing}}{{user.firstName}}{{/with}}", USER, "");
}


static void
test_let_and_vars(void **state)
{
    check("{{let a=1 b.c=\"x\"}}{{vars.a}}{{vars.b.c}}{{vars.b}}", NULL,
          "1x{\"c\":\"x\"}");
    check("{{let a=1}}{{#let a=2}}{{vars.a}}{{/let}}{{vars.a}}", NULL, "21");
    check("{{vars.a}}{{let a=(user.firstName)}}{{vars.a}}",
          "{\"vars\":{\"a\":\"ctx\"},\"user\":{\"firstName\":\"Ann\"}}",
          "ctxAnn");
    check("{{let t=(string.concat \"a\" \"b\")}}"
          "{{#if vars.t}}{{vars.t}}{{/if}}", NULL, "ab");
}


static void
test_subexpressions_four_deep(void **state)
{
    check("{{#if (and user.isAdmin (or (eq n 1) (not (gt (math.add n 1) "
          "5))))}}deep{{/if}}", USER, "deep");
    check("{{string.concat \"themes/\" (string.default user.theme "
          "(string.lowercase (string.concat \"DA\" (string.uppercase "
          "\"rk\")))) \".css\"}}", USER, "themes/dark.css");
    check("{{math.add (math.multiply 2 (math.subtract 10 (math.divide 8 "
          "(math.add 1 1)))) 1}}", NULL, "13");
}


static void
test_nesting_limits(void **state)
{
    char    src[2048];
    size_t  i, n;

    n = 0;
    n += sprintf(src + n, "{{not ");
    for (i = 0; i < 40; i++) {
        n += sprintf(src + n, "(not ");
    }
    n += sprintf(src + n, "1");
    for (i = 0; i < 40; i++) {
        n += sprintf(src + n, ")");
    }
    sprintf(src + n, "}}");

    check_check(src, 1, 1, "nested deeper");

    for (n = 0, i = 0; i < 70; i++) {
        n += sprintf(src + n, "{{#if 1}}");
    }
    for (i = 0; i < 70; i++) {
        n += sprintf(src + n, "{{/if}}");
    }

    check_parse_error(src, 1, 577, "nested deeper");
}


/* parse errors */

static void
test_unbalanced_blocks(void **state)
{
    /* rendered as jPulse renders them; jp_tpl_check() says where */
    check("{{#if a}}x", NULL,
          "<!-- Error: Unbalanced handlebar \"#if a\" removed -->x");
    check_check("{{#if a}}x", 1, 1, "unbalanced \"{{#if a}}\"");
    check_check("x\n  {{/if}}", 2, 3, "unbalanced \"{{/if}}\"");
    check_check("{{#if a}}\n{{#each b}}{{/if}}{{/each}}", 1, 1,
                "no matching {{/if}}");
    check("{{else}}", NULL, "");
    check("{{#if a}}1{{else}}2{{else}}3{{/if}}", "{\"a\":false}", "2");
    check("{{#bogus a}}b{{/bogus}}", NULL,
          "<!-- Error: Handlebar \"#bogus a\": Unknown block type: #bogus "
          "-->");
    check_check("x{{#bogus a}}{{/bogus}}", 1, 2, "unknown block type");
    check("{{#if}}y{{else}}n{{/if}}", NULL, "n");
    check("{{let}}{{let a=}}{{let 1}}", NULL, "");
    check_check("{{a \"b}}", 1, 1, "unterminated string");
    check_check("{{#if (a}}{{/if}}", 1, 1, "missing \")\"");
    check_check("{{a b)}}", 1, 1, "unbalanced \")\"");
    check("{{#component}}{{/component}}", NULL,
          "<!-- Error: Handlebar \"#component \": component definition "
          "requires a name as first parameter -->");
}


static void
test_runtime_errors_are_comments(void **state)
{
    /* jPulse: a name that is no helper is a property, arguments
     * ignored; #if takes its first argument */
    check("a{{bogus x}}b", NULL, "ab");
    check("a{{bogus x}}b", "{\"bogus\":\"B\"}", "aBb");
    check("{{#if \"a\" b}}y{{/if}}", NULL, "y");
    check_contains("{{components.x y}}", NULL,
                   "unexpected argument in \"components.x\"");
    /* jPulse answers 0 and null there (t/unit/test_tpl_data.c) */
    check("{{math.divide 1 0}}|{{json.parse \"{--}\"}}", NULL, "0|");
    /* the expression and the message cannot close the comment */
    check("{{file.include \"{--}\"}}", NULL,
          "<!-- Error: Handlebar \"file.include \"{- -}\"\": Include file "
          "not found: {- -} (Module not found: view/{- -} (checked site, "
          "plugins, and framework paths)) -->");
}


/* escaping */

static void
test_url_values_are_always_escaped(void **state)
{
    const char  *esc = "&lt;b&gt;&quot;&#39;&#96;&#36;{x}";

    check("{{url.param.q}}", USER, esc);
    check("{{{url.param.q}}}", USER, esc);
    check("{{url.pathname}}", USER, "/x/");
    check("{{url.param}}",
          "{\"url\":{\"param\":{\"a\":\"<\"}}}",
          "{&quot;a&quot;:&quot;&lt;&quot;}");
    /* taint survives helpers, let, #each, #with and arguments */
    check("{{string.concat \"a\" url.param.q}}", USER,
          "a&lt;b&gt;&quot;&#39;&#96;&#36;{x}");
    check("{{let v=(url.param.q)}}{{vars.v}}", USER, esc);
    check("{{#each url.param}}{{this}}{{/each}}", USER, esc);
    check("{{#with url.param}}{{q}}{{/with}}", USER, esc);
    check("{{file.include \"echo.tmpl\" v=(url.param.q)}}", USER, esc);
}


static unsigned
uses_of(const char *src, const char *ctx_json)
{
    json_t            *ctx;
    unsigned           uses;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = ctx_parse(ctx_json);
    prog = jp_tpl_compile(src, strlen(src), "uses.shtml", NULL, &err);
    assert_non_null(prog);

    jp_tpl_buf_init(&out, 0);
    uses = 0xff;
    assert_int_equal(jp_tpl_render_uses(prog, ctx, &mem_host, NULL, 0, &out,
                                        &err, &uses), 0);
    jp_tpl_buf_free(&out);
    jp_tpl_free(prog);
    json_decref(ctx);

    return uses;
}


/* what a page read that differs between requests: it decides caching */
static void
test_render_uses(void **state)
{
    const char  *ctx = "{\"url\":{\"param\":{\"q\":\"x\"},"
                       "\"pathname\":\"/p/\",\"domain\":\"http://h\","
                       "\"search\":\"?q=x\"},"
                       "\"user\":{\"isAdmin\":false,\"timezone\":\"UTC\","
                       "\"preferences\":{\"theme\":\"dark\"}},"
                       "\"app\":{\"name\":\"A\"},\"appCluster\":{"
                       "\"available\":true}}";

    assert_int_equal(uses_of("<p>{{app.name}}</p>", ctx), 0);
    assert_int_equal(uses_of("{{#if user.isAdmin}}x{{/if}}"
                             "{{user.preferences.theme}}", ctx), 0);
    assert_int_equal(uses_of("{{url.param.q}}", ctx), JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{url.pathname}}{{url.domain}}", ctx),
                     JP_TPL_USES_URL_PATH);
    assert_int_equal(uses_of("{{url.search}}", ctx), JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{url}}", ctx), JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{let p=(url.pathname)}}{{vars.p}}", ctx),
                     JP_TPL_USES_URL_PATH | JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{#each url.param}}{{@key}}{{/each}}", ctx),
                     JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{let q=(url.param.q)}}{{app.name}}", ctx),
                     JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{this}}", ctx), 0);
    assert_int_equal(uses_of("{{appCluster.available}}", ctx),
                     JP_TPL_USES_REQUEST);
    assert_int_equal(uses_of("{{user.timezone}}", ctx), JP_TPL_USES_USER);
    assert_int_equal(uses_of("{{#with user}}{{isAdmin}}{{/with}}", ctx),
                     JP_TPL_USES_USER);
    assert_int_equal(uses_of("{{date.now}}", ctx), JP_TPL_USES_TIME);
    assert_int_equal(uses_of("{{file.include \"echo.tmpl\" "
                             "v=(url.param.q)}}", ctx), JP_TPL_USES_REQUEST);
}


/* the host's promise that url lives only at ctx.url: same escaping */
static void
test_url_top_only_flag(void **state)
{
    const char  *esc = "&lt;b&gt;&quot;&#39;&#96;&#36;{x}";

    check_full("{{url.param.q}}", USER, NULL, JP_TPL_URL_TOP_ONLY, esc);
    check_full("{{#each url.param}}{{this}}{{/each}}", USER, NULL,
               JP_TPL_URL_TOP_ONLY, esc);
    check_full("{{let v=(url.param.q)}}{{vars.v}}", USER, NULL,
               JP_TPL_URL_TOP_ONLY, esc);
    check_full("{{url.param}}", "{\"url\":{\"param\":{\"a\":\"<\"}}}",
               NULL, JP_TPL_URL_TOP_ONLY,
               "{&quot;a&quot;:&quot;&lt;&quot;}");
    check_full("{{n}}|{{m}}|{{f}}|{{b}}",
               "{\"n\":-42,\"m\":9007199254740993,\"f\":1.5,"
               "\"b\":1e21}", NULL, JP_TPL_URL_TOP_ONLY,
               "-42|9007199254740992|1.5|1e+21");
}


static void
test_strict_mode(void **state)
{
    check_strict("{{h}}|{{{h}}}|{{n}}", "{\"h\":\"<i>\",\"n\":1}",
                 "&lt;i&gt;|<i>|1");
    check_full("{{h}}|{{{h}}}", "{\"h\":\"<i>\"}", NULL, 0, "<i>|<i>");
}


/* i18n */

#define I18N  "{\"view\":{\"home\":{\"title\":\"Welcome\"," \
              "\"hello\":\"Hello {{user.nickName}}!\"," \
              "\"admin\":\"{{#if user.isAdmin}}<b>admin</b>{{/if}}\"," \
              "\"bad\":\"{{#if x}}\"}},\"n\":5}"

static void
test_i18n(void **state)
{
    check_full("{{i18n.view.home.title}}", USER, I18N, 0, "Welcome");
    check_full("{{@i18n.view.home.title}}", USER, I18N, 0, "Welcome");
    check_full("{{i18n.view.missing}}", USER, I18N, 0, "view.missing");
    check_full("{{i18n.n}}", USER, I18N, 0, "5");
    check_full("{{i18n.view.home}}", "{}",
               "{\"view\":{\"home\":{\"a\":\"b\"}}}", 0,
               "{\"a\":\"b\"}");
    check_full("{{i18n.view.home.title}}", USER, NULL, 0, "view.home.title");
}


static void
test_i18n_values_containing_expressions(void **state)
{
    check_full("{{i18n.view.home.hello}}", USER, I18N, 0, "Hello annie!");
    check_full("{{i18n.view.home.admin}}", USER, I18N, 0, "<b>admin</b>");
    check_full("{{#each user.roles}}{{i18n.view.home.hello}}{{/each}}",
               USER, I18N, 0, "Hello annie!Hello annie!");
}


static void
test_i18n_parse_error_points_at_the_key(void **state)
{
    char            *got;
    json_t          *i18n_obj;
    jp_tpl_error_t   err;

    got = render_full("x\n  {{i18n.view.home.bad}}", USER, I18N, 0, NULL,
                      &err);
    assert_non_null(got);
    assert_string_equal(got, "x\n  <!-- Error: Unbalanced handlebar "
                        "\"#if x\" removed -->");
    free(got);

    i18n_obj = ctx_parse(I18N);
    assert_int_equal(jp_tpl_check("x\n  {{i18n.view.home.bad}}", 26, "p",
                                  i18n_obj, 0, &err), -1);
    assert_int_equal(err.line, 2);
    assert_int_equal(err.column, 3);
    assert_non_null(strstr(err.message, "i18n.view.home.bad: unbalanced"));
    json_decref(i18n_obj);
}


/* includes and the path jail */

static const mem_file_t  files[] = {
    { "header.tmpl", "<!--\n * @name header\n-->\n<h1>{{title}}</h1>", 1000 },
    { "echo.tmpl", "{{v}}", 2000 },
    { "self.tmpl", "[{{file.include \"self.tmpl\"}}]", 3000 },
    { "deep/a.tmpl", "a{{file.include \"deep/b.tmpl\"}}", 4000 },
    { "deep/b.tmpl", "b", 5000 },
    { "bad.tmpl", "{{#if x}}", 6000 },
    { "components/b.tmpl",
      "{{#component \"ui.b-card\"}}B{{/component}}", 7000 },
    { "components/a.tmpl",
      "{{#component \"ui.a-card\" size=1}}A{{size}}{{/component}}", 8000 },
    { "components/readme.md", "x", 9000 },
    { "inc/c.tmpl", "{{k.url.param.q}}", 9100 },
    { NULL, NULL, 0 }
};


static void
test_include(void **state)
{
    check("{{file.include \"header.tmpl\" title=(user.firstName)}}", USER,
          "<h1>Ann</h1>");
    check("{{file.include 'deep/a.tmpl'}}{{file.include deep/b.tmpl}}", USER,
          "abb");
    check("{{#each user.roles}}{{file.include \"echo.tmpl\" v=(this)}}"
          "{{/each}}", USER, "adminuser");
    check("{{string.uppercase (file.include \"deep/b.tmpl\")}}", NULL, "B");
    check_contains("{{file.include \"nope.tmpl\"}}", NULL,
                   "file not found: nope.tmpl");
    check("{{file.include \"bad.tmpl\"}}", NULL,
          "<!-- Error: Unbalanced handlebar \"#if x\" removed -->");
}


static void
test_include_depth_exceeded(void **state)
{
    char             *got, *p;
    unsigned          n;
    jp_tpl_error_t    err;
    jp_tpl_limits_t   limits;

    got = render_full("{{file.include \"self.tmpl\"}}", NULL, NULL, 0, NULL,
                      &err);
    assert_non_null(got);

    for (n = 0, p = got; *p == '['; p++) {
        n++;
    }

    assert_int_equal(n, JP_TPL_DEFAULT_DEPTH);
    assert_non_null(strstr(got, "Maximum include depth (10) exceeded"));
    free(got);

    memset(&limits, 0, sizeof(limits));
    limits.max_depth = 3;
    got = render_full("{{file.include \"self.tmpl\"}}", NULL, NULL, 0,
                      &limits, &err);
    assert_non_null(got);
    assert_true(strncmp(got, "[[[<!--", 7) == 0);
    free(got);
}


static void
test_traversal_is_refused(void **state)
{
    static const char  *bad[] = {
        "../etc/passwd", "a/../../x", "/etc/passwd", "%2e%2e/x",
        "%2E%2e%2fx", "a/%2e%2e/%2e%2e/x", "..", "./x", "a//b", "a\\\\..",
        "a%00b", "%2fetc", "C:/x", "a/%", "a%zz", ""
    };
    char    src[128];
    size_t  i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(src, sizeof(src), "{{file.include \"%s\"}}", bad[i]);
        check_contains(src, NULL, bad[i][0] == '\0'
                                  ? "requires a file path"
                                  : "Prohibited path in include: ");

        /* jPulse checks nothing there; the jail makes it a missing file */
        snprintf(src, sizeof(src), "{{file.exists \"%s\"}}", bad[i]);
        check(src, NULL, "false");
    }

    /* a NUL byte inside the template's string literal */
    {
        static const char  nul[] = "{{file.include \"a\\\0b\"}}";
        char               *got;
        jp_tpl_error_t      err;
        jp_tpl_buf_t        out;
        jp_tpl_program_t   *prog;

        prog = jp_tpl_compile(nul, sizeof(nul) - 1, "t", NULL, &err);
        assert_non_null(prog);
        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render(prog, NULL, &mem_host, NULL, 0, &out,
                                       &err), 0);
        got = out.data;
        if (strstr(got, "Prohibited path in include: a. ") == NULL) {
            fail_msg("got: %s", got);
        }
        jp_tpl_buf_free(&out);
        jp_tpl_free(prog);
    }
}


static void
test_path_check(void **state)
{
    char  out[64];

    assert_int_equal(jp_tpl_path_check("a/b.tmpl", 8, out, sizeof(out)), 0);
    assert_string_equal(out, "a/b.tmpl");
    assert_int_equal(jp_tpl_path_check("a%20b", 5, out, sizeof(out)), 0);
    assert_string_equal(out, "a b");
    assert_int_equal(jp_tpl_path_check("..a/b..", 7, out, sizeof(out)), 0);
    assert_int_equal(jp_tpl_path_check("a\0b", 3, out, sizeof(out)), -1);
    assert_int_equal(jp_tpl_path_check("%2e%2e", 6, out, sizeof(out)), -1);
    assert_int_equal(jp_tpl_path_check("abcdef", 6, out, 4), -1);
}


static void
test_file_helpers(void **state)
{
    check("{{file.exists \"echo.tmpl\"}} {{file.exists \"no.tmpl\"}}", NULL,
          "true false");
    check("{{file.timestamp \"echo.tmpl\"}} {{file.timestamp \"no\"}}", NULL,
          "2000 1700000000000");
    check("{{file.list \"components/*.tmpl\"}}", NULL,
          "[\"components/a.tmpl\",\"components/b.tmpl\"]");
    check("{{file.list \"deep/*\"}}", NULL,
          "[\"deep/a.tmpl\",\"deep/b.tmpl\"]");
    check("{{array.length (file.list \"*.tmpl\")}}", NULL, "4");
    /* refused as jPulse refuses them (t/unit/test_tpl_data.c) */
    check("{{file.list \"**/*.tmpl\"}}{{file.list \"../*\"}}", NULL, "[][]");
}


/* components */

static void
test_components(void **state)
{
    check("{{#component \"ns.my-card\" size=64 label=\"d\"}}"
          "<c {{size}} {{label}}>{{/component}}"
          "{{components.ns.myCard label=\"L\"}}"
          "{{components name=\"ns.myCard\" size=32}}", NULL,
          "<c 64 L><c 32 d>");
    check("{{#each file.list \"components/*.tmpl\"}}{{file.include this}}"
          "{{/each}}{{#each names}}{{components name=(this)}}{{/each}}",
          "{\"names\":[\"ui.aCard\",\"ui.bCard\"]}", "A1B");
    check("{{#component \"xy\"}}\n  <a>\n    b\n</a>\n"
          "{{/component}}[{{components.xy _inline=true}}]", NULL,
          "[ <a> b </a> ]");
}


static void
test_component_errors(void **state)
{
    check("{{components.nope}}", NULL,
          "<!-- Error: Component \"nope\" not found. Did you forget to "
          "include the component library? -->");
    check("{{#component \"aa\"}}{{components.bb}}{{/component}}"
          "{{#component \"bb\"}}{{components.aa}}{{/component}}"
          "{{components.aa}}", NULL,
          "<!-- Error: Circular component reference detected: "
          "aa \xe2\x86\x92 bb \xe2\x86\x92 aa -->");
    check("{{components}}", NULL,
          "<!-- Error: Invalid component call: \"components\". Use "
          "{{components.name}} or {{components name=\"...\"}} -->");
}


/* helpers */

static void
test_string_helpers(void **state)
{
    check("{{string.default empty \"d\"}} {{string.default \"v\" \"d\"}}",
          USER, "d v");
    check("{{string.concat \"a\" 1 true}}", NULL, "a1true");
    check("{{string.htmlEscape \"<a href='x'>&</a>\"}}", NULL,
          "&lt;a href=&#39;x&#39;&gt;&amp;&lt;/a&gt;");
    check("{{string.urlEncode \"a b&c/é\"}}", NULL, "a%20b%26c%2F%C3%A9");
    check("{{string.urlDecode \"a%20b%26\"}}", NULL, "a b&");
    check("{{string.lowercase \"AbC\"}} {{string.uppercase \"AbC\"}}", NULL,
          "abc ABC");
    check("{{string.titlecase \"hello wORLD\"}}", NULL, "Hello World");
    check("{{string.replace \"a-b-c\" \"-\" \"+\"}}", NULL, "a+b+c");
    /* (start, length); two arguments are the wrong count: unchanged */
    check("{{string.substring \"héllo\" 1 3}} {{string.substring \"abc\" 2}}",
          NULL, "éll abc");
    check("{{string.substring \"abc\" 2 0}}", NULL, "");
    check("{{string.padLeft 7 3 \"0\"}} [{{string.padRight \"a\" 3 \"\"}}]",
          NULL, "007 [a  ]");
    check("{{string.startsWith \"abc\" \"ab\"}} {{string.endsWith \"abc\" "
          "\"bc\"}} {{string.contains \"abc\" \"x\"}}", NULL,
          "true true false");
    check("{{string.length \"héllo\"}}", NULL, "5");
    check("{{string.slugify \" Hello, World! 2 \"}}", NULL, "hello-world-2");
}


static void
test_math_helpers(void **state)
{
    check("{{math.add 1 2 3}} {{math.subtract 10 3 2}} {{math.multiply 2 "
          "\"3\"}} {{math.divide 7 2}} {{math.mod 7 3}}", NULL,
          "6 5 6 3.5 1");
    check("{{math.round 2.5}} {{math.round 1.2345 2}} {{math.floor -1.5}} "
          "{{math.ceil 1.2}}", NULL, "3 0 -2 2");
    check("{{math.min 3 1 2}} {{math.max 3 1 2}} {{math.max a}}",
          "{\"a\":[4,9,2]}", "1 3 0");
    check("{{math.add 0.1 0.2}}", NULL, "0.30000000000000004");
    check("{{math.add \"x\" 1}}", NULL, "1");
}


static void
test_array_helpers(void **state)
{
    const char  *ctx = "{\"a\":[3,1,2],\"o\":[{\"n\":\"b\"},{\"n\":\"a\"}]}";

    check("{{array.length a}} {{array.join a}} {{array.join a \" | \"}}",
          ctx, "3 3,1,2 3 | 1 | 2");
    check("{{array.first a}} {{array.last a}} [{{array.at a -2}}]", ctx,
          "3 2 []");
    check("{{array.includes a 2}} {{array.includes a \"2\"}}", ctx,
          "true false");
    check("{{array.isEmpty a}} {{array.isEmpty a.nothing}} {{array.isEmpty "
          "(array.concat)}}", ctx, "false true true");
    check("{{array.concat a 4}} {{array.reverse a}} {{array.sort a}}", ctx,
          "[3,1,2] [2,1,3] [1,2,3]");
    check("{{#each (array.sort o sortBy=\"n\")}}{{this.n}}{{/each}}"
          "{{#each (array.sort o sortBy=\"n\" reverse=true)}}{{this.n}}"
          "{{/each}}", ctx, "abba");
}


static void
test_date_and_json_helpers(void **state)
{
    check("{{date.now}}", NULL, "1700000000000");
    check("{{date.parse \"2026-11-26T01:02:03.456Z\"}} "
          "{{date.parse \"1970-01-02\"}} {{date.parse \"bad\"}}|", NULL,
          "1795654923456 86400000 |");
    check("{{date.parse \"2026-11-26T01:00:00+01:00\"}}", NULL,
          "1795651200000");
    check("{{date.format 86400000}}", NULL, "1970-01-02T00:00:00.000Z");
    check("{{date.format \"2026-11-26T01:02:03Z\" format=\"%D%.%M%.%Y% "
          "%H%:%MIN%:%SEC%\"}}", NULL, "26.11.2026 01:02:03");
    check("{{json.parse \"[1,{\\\"a\\\":2}]\"}} "
          "{{#each (json.parse \"[5,6]\")}}{{this}}{{/each}}", NULL,
          "[1,{\"a\":2}] 56");
}


/* the footer's broadcast condition, as jPulse pages write it */
static void
test_broadcast_condition(void **state)
{
    static const char  tpl[] =
        "{{#if (and siteConfig.broadcast.enable siteConfig.broadcast.message"
        ")}}{{#if (or (eq siteConfig.broadcast.nagTime 0) "
        "(not siteConfig.broadcast.enabledAt) "
        "(lt (math.subtract (date.now) (date.parse "
        "siteConfig.broadcast.enabledAt)) (math.multiply "
        "siteConfig.broadcast.nagTime 3600000)))}}"
        "<div>{{siteConfig.broadcast.message}}</div>{{/if}}{{/if}}";

    check(tpl, "{\"siteConfig\":{\"broadcast\":{\"enable\":true,"
          "\"message\":\"Maintenance\",\"nagTime\":4,"
          "\"enabledAt\":\"2023-11-14T21:00:00Z\"}}}",
          "<div>Maintenance</div>");
    check(tpl, "{\"siteConfig\":{\"broadcast\":{\"enable\":true,"
          "\"message\":\"Maintenance\",\"nagTime\":1,"
          "\"enabledAt\":\"2023-11-14T20:00:00Z\"}}}", "");
    check(tpl, "{\"siteConfig\":{\"broadcast\":{\"enable\":false,"
          "\"message\":\"Maintenance\"}}}", "");
}


/* limits */

static void
test_output_limit(void **state)
{
    char             *got;
    jp_tpl_error_t    err;
    jp_tpl_limits_t   limits;

    memset(&limits, 0, sizeof(limits));
    limits.max_output = 10;

    got = render_full("0123456789", NULL, NULL, 0, &limits, &err);
    assert_non_null(got);
    free(got);

    got = render_full("{{#each a}}xx{{/each}}", "{\"a\":[1,2,3,4,5,6]}",
                      NULL, 0, &limits, &err);
    assert_null(got);
    assert_non_null(strstr(err.message, "output larger than 10 bytes"));
}


static void
test_iteration_limit(void **state)
{
    char             *got;
    jp_tpl_error_t    err;
    jp_tpl_limits_t   limits;

    memset(&limits, 0, sizeof(limits));
    limits.max_iterations = 5;

    got = render_full("{{#each a}}{{#each a}}x{{/each}}{{/each}}",
                      "{\"a\":[1,2,3]}", NULL, 0, &limits, &err);
    assert_non_null(got);
    assert_non_null(strstr(got, "xxx<!-- Error"));
    assert_non_null(strstr(got, "more than 5 iterations"));
    free(got);
}


static void
test_error_comment_cannot_be_closed(void **state)
{
    check("{{#bogus \"-->\"}}{{/bogus}}", NULL,
          "<!-- Error: Handlebar \"#bogus \"- -&gt;\"\": Unknown block type: "
          "#bogus -->");
    check("{{#if \"--><script>\"}}", NULL,
          "<!-- Error: Unbalanced handlebar \"#if \"- -&gt;&lt;script&gt;\"\" "
          "removed -->");
}


static void
test_program_is_reusable(void **state)
{
    int                i;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile("{{let x=(n)}}{{vars.x}}", 23, "p", NULL, &err);
    assert_non_null(prog);

    for (i = 0; i < 3; i++) {
        ctx = json_pack("{s:i}", "n", i);
        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err),
                         0);
        assert_int_equal(out.len, 1);
        assert_int_equal(out.data[0], '0' + i);
        jp_tpl_buf_free(&out);
        json_decref(ctx);
    }

    jp_tpl_free(prog);
}


static jp_tpl_program_t  *cached_prog;
static int                program_calls;


static const jp_tpl_program_t *
mem_program(void *data, const char *path, json_t *i18n, jp_tpl_error_t *err)
{
    int                i;
    char               deep[1300];
    jp_tpl_program_t  *p;

    /* still a compile error: blocks nested past the limit */
    for (i = 0; i < 70; i++) {
        memcpy(deep + i * 9, "{{#if 1}}", 9);
        memcpy(deep + 630 + i * 7, "{{/if}}", 7);
    }
    deep[1120] = '\0';

    program_calls++;

    if (strcmp(path, "cached.tmpl") == 0) {
        return cached_prog;
    }

    if (strcmp(path, "broken.tmpl") == 0) {
        p = jp_tpl_compile_include(deep, strlen(deep), path, i18n, err);
        assert_null(p);
    }

    return NULL;
}


static void
test_host_supplies_compiled_includes(void **state)
{
    static const char  src[] =
        "{{#each a}}{{file.include \"cached.tmpl\" v=(this)}}{{/each}}"
        "{{file.include \"nope.tmpl\"}}{{file.include \"broken.tmpl\"}}";
    static const char  inc[] = "<!--\n * @name cached\n-->\nC{{v}}";
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_host_t      host;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    cached_prog = jp_tpl_compile_include(inc, sizeof(inc) - 1, "cached.tmpl",
                                         NULL, &err);
    assert_non_null(cached_prog);

    prog = jp_tpl_compile(src, sizeof(src) - 1, "t", NULL, &err);
    assert_non_null(prog);

    host = mem_host;
    host.program = mem_program;
    program_calls = 0;

    ctx = ctx_parse("{\"a\":[1,2]}");
    jp_tpl_buf_init(&out, 0);
    assert_int_equal(jp_tpl_render(prog, ctx, &host, NULL, 0, &out, &err),
                     0);

    assert_true(strncmp(out.data, "C1C2<!-- Error", 14) == 0);
    assert_non_null(strstr(out.data, "Include file not found: nope.tmpl "
                                     "(Module not found: view/nope.tmpl "
                                     "(checked site, plugins, and framework "
                                     "paths))"));
    assert_non_null(strstr(out.data, "broken.tmpl:1:577: blocks nested"));
    assert_int_equal(program_calls, 4);

    jp_tpl_buf_free(&out);
    json_decref(ctx);
    jp_tpl_free(prog);
    jp_tpl_free(cached_prog);
}


static int
setup(void **state)
{
    mem_files = files;
    return 0;
}


/* Item: top-level "this" reaches the request data: it must stay tainted. */
static void
test_this_reaches_url_taint(void **state)
{
    const char  *ctx;

    ctx = "{\"url\":{\"param\":{\"q\":\"<b>\"}},\"t\":\"<i>\"}";

    /*
     * jPulse: outside a loop, "this" is no key: the word itself as an
     * argument, "" printed. The context as a whole is out of reach.
     */
    check("{{this}}", ctx, "");
    check("{{#each this}}{{this}}{{/each}}", "{\"url\":\"<b>\"}", "");
    check("{{#with this}}{{url.param.q}}{{/with}}", ctx, "");
    check("{{let a=(this)}}{{vars.a}}{{vars.a.url.param.q}}", ctx, "this");
    check("{{file.include \"inc/c.tmpl\" k=(this)}}", ctx, "");
    /* inside a loop, this is tainted as what it walks */
    check("{{#each l}}{{#with this}}{{url.param.q}}{{/with}}{{/each}}",
          "{\"l\":[{\"url\":{\"param\":{\"q\":\"<b>\"}}}],"
          "\"url\":{}}", "<b>");
    check("{{#each url.param}}{{this}}{{/each}}", ctx, "&lt;b&gt;");
    check("{{#each url.param}}{{let a=(this)}}{{/each}}{{vars.a}}", ctx,
          "&lt;b&gt;");
    check("{{t}}{{#with url}}{{param.q}}{{/with}}", ctx, "<i>&lt;b&gt;");
}


/* Item: @key of a request object is request data. */
static void
test_key_of_request_object_is_tainted(void **state)
{
    const char  *ctx;

    ctx = "{\"url\":{\"param\":{\"<img src=x onerror=alert(1)>\":\"1\"}}}";

    check("{{#each url.param}}{{@key}}{{/each}}", ctx,
          "&lt;img src=x onerror=alert(1)&gt;");
    check("{{#each url.param}}{{let z=(@key)}}{{/each}}{{vars.z}}", ctx,
          "&lt;img src=x onerror=alert(1)&gt;");
    check("{{#each url.param}}{{string.concat @key}}{{/each}}", ctx,
          "&lt;img src=x onerror=alert(1)&gt;");
    check("{{#each o}}{{@key}}{{/each}}", "{\"o\":{\"<b>\":1}}", "<b>");
}


/* Item: let never writes into the caller's context. */
static void
test_let_does_not_mutate_context(void **state)
{
    int                i;
    char              *s;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;
    static const char  src[] = "{{user.x}}|{{let u=(user)}}{{let u.x=\"pwn\"}}"
                               "{{let u.y=(url.param.q)}}{{vars.u.x}}"
                               "{{user.y}}|{{vars.u.y}}";

    prog = jp_tpl_compile(src, sizeof(src) - 1, "p", NULL, &err);
    assert_non_null(prog);

    ctx = ctx_parse("{\"user\":{\"x\":\"ok\"},\"url\":{\"param\":"
                    "{\"q\":\"<b>\"}},\"vars\":{\"v\":{\"w\":1}}}");

    for (i = 0; i < 2; i++) {
        jp_tpl_buf_init(&out, 0);
        assert_int_equal(jp_tpl_render(prog, ctx, &mem_host, NULL, 0, &out,
                                       &err), 0);
        assert_string_equal(out.data, "ok|pwn|&lt;b&gt;");
        jp_tpl_buf_free(&out);
    }

    s = json_dumps(ctx, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(s);
    assert_string_equal(s, "{\"url\":{\"param\":{\"q\":\"<b>\"}},"
                        "\"user\":{\"x\":\"ok\"},\"vars\":{\"v\":{\"w\":1}}}");
    free(s);

    /* jPulse: #let copies vars shallowly, a write into v shows after */
    check("{{let v.w=2}}{{vars.v.w}}{{#let v.w=3}}{{vars.v.w}}{{/let}}"
          "{{vars.v.w}}", "{\"vars\":{\"v\":{\"w\":1}}}", "233");
    check("{{#let v.w=3 n=1}}{{/let}}{{vars.v.w}}[{{vars.n}}]",
          "{\"vars\":{\"v\":{\"w\":1}}}", "3[]");

    json_decref(ctx);
    jp_tpl_free(prog);
}


/* Item: #let costs no copy of vars per entry (or is counted). */
static void
test_block_let_is_bounded(void **state)
{
    char             *got;
    size_t            i;
    json_t           *ctx, *arr, *big;
    clock_t           start;
    jp_tpl_buf_t      out;
    jp_tpl_error_t    err;
    jp_tpl_program_t *prog;
    char              key[32];
    static const char src[] = "{{let b=(big)}}{{#each arr}}{{#let a=1}}"
                              "{{/let}}{{/each}}done";

    ctx = json_object();
    arr = json_array();
    big = json_object();
    assert_non_null(ctx);
    assert_non_null(arr);
    assert_non_null(big);

    for (i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "k%zu", i);
        assert_int_equal(json_array_append_new(arr, json_integer(i)), 0);
        assert_int_equal(json_object_set_new(big, key, json_integer(i)), 0);
    }

    assert_int_equal(json_object_set_new(ctx, "arr", arr), 0);
    assert_int_equal(json_object_set_new(ctx, "big", big), 0);

    prog = jp_tpl_compile(src, sizeof(src) - 1, "p", NULL, &err);
    assert_non_null(prog);

    start = clock();
    jp_tpl_buf_init(&out, 0);
    (void) jp_tpl_render(prog, ctx, &mem_host, NULL, 0, &out, &err);
    got = out.data;
    assert_true(clock() - start < CLOCKS_PER_SEC / 2);
    assert_non_null(got);
    assert_non_null(strstr(got, "done"));
    jp_tpl_buf_free(&out);

    jp_tpl_free(prog);
    json_decref(ctx);
}


/* Item: the escaping helpers' output is safe already: no double escape. */
static void
test_escaping_helpers_are_not_tainted(void **state)
{
    const char  *ctx;

    ctx = "{\"url\":{\"param\":{\"r\":\"a'b\\\"c<\"}}}";

    check("{{string.htmlEscape url.param.r}}", ctx, "a&#39;b&quot;c&lt;");
    /* encodeURIComponent keeps "'": request data stays tainted */
    check("{{string.urlEncode url.param.r}}", ctx, "a&#39;b%22c%3C");
    check("{{url.param.r}}", ctx, "a&#39;b&quot;c&lt;");
}


/* Item: invalid UTF-8 in a template is not "out of memory". */
static void
test_invalid_utf8_literal(void **state)
{
    static const mem_file_t  bad_files[] = {
        { "u/ok.tmpl", "x", 1 },
        { "u/\xe9.tmpl", "x", 2 },
        { NULL, NULL, 0 }
    };

    check("x{{string.concat \"\xe9\"}}y", NULL, "x\xef\xbf\xbdy");
    check("{{let a.b=\"\xff\"}}{{vars.a}}", NULL,
          "{\"b\":\"\xef\xbf\xbd\"}");
    check("{{string.length \"\xc3\xa9\xe9\"}}", NULL, "2");

    mem_files = bad_files;
    check("{{file.list \"u/*\"}}", NULL, "[\"u/ok.tmpl\"]");
    mem_files = files;
}


/* Item: nested translations are bounded by memory, not just by bytes. */
static void
test_i18n_compile_memory_is_bounded(void **state)
{
    int                i;
    char              *leaf, *b, *a;
    json_t            *i18n;
    clock_t            start;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    /* c: 1 KB of expressions; b: 50 c; a: 50 b: 2.5 MB of source, far
     * under the expansion cap, but half a million nodes */
    leaf = malloc(1025);
    b = malloc(50 * 11 + 1);
    a = malloc(50 * 11 + 1);
    assert_non_null(leaf);
    assert_non_null(b);
    assert_non_null(a);

    for (i = 0; i < 204; i++) {
        memcpy(leaf + i * 5, "{{x}}", 5);
    }
    leaf[1020] = '\0';

    b[0] = '\0';
    a[0] = '\0';
    for (i = 0; i < 50; i++) {
        strcat(b, "{{i18n.c}}");
        strcat(a, "{{i18n.b}}");
    }

    i18n = json_pack("{s:s,s:s,s:s}", "a", a, "b", b, "c", leaf);
    assert_non_null(i18n);

    start = clock();
    prog = jp_tpl_compile("{{i18n.a}}", 10, "p", i18n, &err);
    assert_null(prog);
    if (strstr(err.message, "larger than") == NULL) {
        fail_msg("%s", err.message);
    }
    assert_true(clock() - start < CLOCKS_PER_SEC);

    json_decref(i18n);
    free(leaf);
    free(b);
    free(a);
}


/* Item: a translation with a broken block names its key. */
static void
test_i18n_broken_block_names_the_key(void **state)
{
    char              *got;
    jp_tpl_error_t     err;
    json_t            *i18n;

    i18n = ctx_parse("{\"v\":{\"open\":\"{{#if x}}a\","
                     "\"close\":\"a{{/if}}\"}}");

    /* jPulse pairs a translation's tags with the page's */
    got = render_full("x{{#if y}}{{i18n.v.close}}", NULL,
                      "{\"v\":{\"close\":\"a{{/if}}\"}}", 0, NULL, &err);
    assert_non_null(got);
    assert_string_equal(got, "xa");
    free(got);

    assert_int_equal(jp_tpl_check("x{{i18n.v.open}}y", 17, "p", i18n, 0,
                                  &err), -1);
    assert_non_null(strstr(err.message, "i18n.v.open"));
    assert_int_equal(err.column, 2);

    assert_int_equal(jp_tpl_check("x{{#if y}}{{i18n.v.close}}", 26, "p",
                                  i18n, 0, &err), 0);

    json_decref(i18n);
}


static void
write_file(const char *path, const char *text)
{
    FILE  *f;

    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}


static char *
render_host(const char *src, const jp_tpl_host_t *host)
{
    int                rc;
    char              *s;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile(src, strlen(src), "p", NULL, &err);
    assert_non_null(prog);

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, NULL, host, NULL, 0, &out, &err);
    jp_tpl_free(prog);
    assert_int_equal(rc, 0);

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


/* Item: the disk host lists and opens only what lies under its root. */
static void
test_disk_host_links_and_root(void **state)
{
    char            *got, *src, dir[] = "/tmp/jp_tpl_diskXXXXXX";
    char             path[512], rel[512];
    size_t           len;
    jp_tpl_host_t    host;
    jp_tpl_disk_t   *disk;
    const char      *root;

    assert_non_null(mkdtemp(dir));

    snprintf(path, sizeof(path), "%s/in", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    snprintf(path, sizeof(path), "%s/in/a.tmpl", dir);
    write_file(path, "A");
    snprintf(path, sizeof(path), "%s/secret.tmpl", dir);
    write_file(path, "SECRET");
    snprintf(path, sizeof(path), "%s/in/out.tmpl", dir);
    assert_int_equal(symlink("../secret.tmpl", path), 0);
    snprintf(path, sizeof(path), "%s/in/same.tmpl", dir);
    assert_int_equal(symlink("a.tmpl", path), 0);

    snprintf(path, sizeof(path), "%s/in", dir);
    root = path;
    disk = jp_tpl_disk_create(&root, 1);
    assert_non_null(disk);
    jp_tpl_disk_host(disk, &host);

    got = render_host("{{file.list \"*.tmpl\"}}", &host);
    assert_string_equal(got, "[\"a.tmpl\",\"same.tmpl\"]");
    free(got);

    assert_int_equal(host.read(host.data, "out.tmpl", &src, &len), -1);
    assert_int_equal(host.read(host.data, "same.tmpl", &src, &len), 0);
    assert_string_equal(src, "A");
    free(src);
    jp_tpl_disk_destroy(disk);

    /* a root of "/" */
    root = "/";
    disk = jp_tpl_disk_create(&root, 1);
    assert_non_null(disk);
    jp_tpl_disk_host(disk, &host);

    snprintf(rel, sizeof(rel), "%s/in/a.tmpl", dir + 1);
    assert_int_equal(host.read(host.data, rel, &src, &len), 0);
    assert_string_equal(src, "A");
    free(src);
    jp_tpl_disk_destroy(disk);

    snprintf(path, sizeof(path), "%s/in/out.tmpl", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/in/same.tmpl", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/in/a.tmpl", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/secret.tmpl", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/in", dir);
    rmdir(path);
    rmdir(dir);
}


/* Item: "undefined" is a bare word (the literal string), not null. */
static void
test_undefined_is_a_word(void **state)
{
    check("{{eq null undefined}}|{{string.concat undefined}}|{{undefined}}",
          NULL, "false|undefined|");
    check_strict("{{eq null undefined}}", NULL, "true");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_vue_and_uppercase_pass_through),
        cmocka_unit_test(test_comments),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_truthiness),
        cmocka_unit_test(test_unknown_bare_word_is_a_literal),
        cmocka_unit_test(test_loose_equality),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_if_unless_else),
        cmocka_unit_test(test_logical_blocks),
        cmocka_unit_test(test_each_array),
        cmocka_unit_test(test_each_object_with_key),
        cmocka_unit_test(test_else_not_allowed_in_each),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_let_and_vars),
        cmocka_unit_test(test_subexpressions_four_deep),
        cmocka_unit_test(test_nesting_limits),
        cmocka_unit_test(test_unbalanced_blocks),
        cmocka_unit_test(test_runtime_errors_are_comments),
        cmocka_unit_test(test_url_values_are_always_escaped),
        cmocka_unit_test(test_url_top_only_flag),
        cmocka_unit_test(test_render_uses),
        cmocka_unit_test(test_strict_mode),
        cmocka_unit_test(test_i18n),
        cmocka_unit_test(test_i18n_values_containing_expressions),
        cmocka_unit_test(test_i18n_parse_error_points_at_the_key),
        cmocka_unit_test(test_include),
        cmocka_unit_test(test_include_depth_exceeded),
        cmocka_unit_test(test_traversal_is_refused),
        cmocka_unit_test(test_path_check),
        cmocka_unit_test(test_file_helpers),
        cmocka_unit_test(test_components),
        cmocka_unit_test(test_component_errors),
        cmocka_unit_test(test_string_helpers),
        cmocka_unit_test(test_math_helpers),
        cmocka_unit_test(test_array_helpers),
        cmocka_unit_test(test_date_and_json_helpers),
        cmocka_unit_test(test_broadcast_condition),
        cmocka_unit_test(test_output_limit),
        cmocka_unit_test(test_iteration_limit),
        cmocka_unit_test(test_error_comment_cannot_be_closed),
        cmocka_unit_test(test_program_is_reusable),
        cmocka_unit_test(test_host_supplies_compiled_includes),
        cmocka_unit_test(test_this_reaches_url_taint),
        cmocka_unit_test(test_key_of_request_object_is_tainted),
        cmocka_unit_test(test_let_does_not_mutate_context),
        cmocka_unit_test(test_block_let_is_bounded),
        cmocka_unit_test(test_escaping_helpers_are_not_tainted),
        cmocka_unit_test(test_invalid_utf8_literal),
        cmocka_unit_test(test_i18n_compile_memory_is_bounded),
        cmocka_unit_test(test_i18n_broken_block_names_the_key),
        cmocka_unit_test(test_disk_host_links_and_root),
        cmocka_unit_test(test_undefined_is_a_word),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
