/*
 * Unit tests: the dialect core against jPulse 1.7.17 (issue 12, blocks):
 * lexing, block pairing by level, {{else}}, unbalanced and unknown blocks,
 * #if/#each/#with/#let, let. The vectors marked in the comments come from
 * jpulse-template-helpers.md (section) or jpulse-view-pipeline.md (P4.6):
 * outputs of the real engine. Our own edge cases follow each group.
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


#define UNB(t)  "<!-- Error: Unbalanced handlebar \"" t "\" removed -->"


static char *
render(const char *src, size_t len, const char *ctx_json)
{
    int                rc;
    char              *s;
    json_t            *ctx;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = NULL;
    if (ctx_json != NULL) {
        ctx = json_loads(ctx_json, 0, &jerr);
        if (ctx == NULL) {
            fail_msg("bad test JSON: %s", ctx_json);
        }
    }

    prog = jp_tpl_compile(src, len, "page.shtml", NULL, &err);
    if (prog == NULL) {
        json_decref(ctx);
        fail_msg("compile: %s:%u:%u: %s\n  in: %s", err.file, err.line,
                 err.column, err.message, src);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, NULL, NULL, 0, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    assert_int_equal(rc, 0);

    s = malloc(out.len + 1);
    assert_non_null(s);
    memcpy(s, out.data ? out.data : "", out.len);
    s[out.len] = '\0';
    jp_tpl_buf_free(&out);

    return s;
}


static void
check(const char *src, const char *ctx, const char *want)
{
    char  *got;

    got = render(src, strlen(src), ctx);

    if (strcmp(got, want) != 0) {
        print_error("template: %s\n    want: %s\n     got: %s\n", src, want,
                    got);
        free(got);
        fail();
    }

    free(got);
}


/* jp_tpl_check(): clean (line 0), or the first error at line:column */
static void
check_at(const char *src, unsigned line, unsigned column, const char *msg)
{
    int             rc;
    jp_tpl_error_t  err;

    rc = jp_tpl_check(src, strlen(src), "v/page.shtml", NULL, 0, &err);

    if (line == 0) {
        if (rc != 0) {
            fail_msg("template: %s\n  unexpected: %u:%u: %s", src, err.line,
                     err.column, err.message);
        }
        return;
    }

    if (rc != -1 || err.line != line || err.column != column
        || strstr(err.message, msg) == NULL
        || strcmp(err.file, "v/page.shtml") != 0)
    {
        fail_msg("template: %s\n  want %u:%u ...%s...\n  got %d %s:%u:%u: %s",
                 src, line, column, msg, rc, err.file, err.line, err.column,
                 err.message);
    }
}


/* P4.6: every example of the table, and the stray tags of R8 and R2 */
static void
test_unbalanced_pipeline_examples(void **state)
{
    check("A<h4>Subexpressions in {{#if}}</h4>B", NULL,
          "A<h4>Subexpressions in " UNB("#if") "</h4>B");
    check("E{{#let x=1}}F", NULL, "E" UNB("#let x=1") "F");
    check("{{#if true}}G{{/unless}}H", NULL,
          UNB("#if true") "G" UNB("/unless") "H");
    check("{{#if true}}A{{#each app.jPulse}}B{{/if}}C{{/each}}D",
          "{\"app\":{\"jPulse\":{\"v\":1}}}",
          UNB("#if true") "A" UNB("#each app.jPulse") "B" UNB("/if") "C"
          UNB("/each") "D");
    check("Q{{#unless false}}A{{/if}}B", NULL,
          "Q" UNB("#unless false") "A" UNB("/if") "B");
    check("1{{#if true}}T{{#if}}U{{/if}}V{{/if}}W", NULL, "1TVW");
    check("{{#if true}}A{{/unless}}", NULL,
          UNB("#if true") "A" UNB("/unless"));
    check("{{#myHelper}}x{{/myHelper}}", NULL,
          UNB("#myHelper") "x" UNB("/myHelper"));
    check("{{#if true}}A{{/if }}|{{#if true }}B{{/if}}", NULL,
          "A" UNB("/if ") "|" UNB("#if true ") "B");
}


/*
 * A closer before its opener: jPulse leaks "{{/if:~-1~}}" and every
 * later block is dead. Ours: the same dead blocks, each tag its error
 * comment, no level marks in the page.
 */
static void
test_closer_before_opener(void **state)
{
    check("X{{/if}}Y{{#if true}}Z{{/if}}W", NULL,
          "X" UNB("/if") "Y" UNB("#if true") "Z" UNB("/if") "W");
    /* back at level 0, blocks pair again */
    check("{{/if}}{{#if a}}{{#if true}}1{{/if}}{{/if}}", NULL,
          UNB("/if") UNB("#if a") "1" UNB("/if"));
    check("{{/each}}{{#if true}}{{/if}}{{#if true}}ok{{/if}}", NULL,
          UNB("/each") UNB("#if true") UNB("/if") UNB("#if true") "ok"
          UNB("/if"));
}


/* the inner expressions of an unbalanced block still render (R8) */
static void
test_unbalanced_body_still_renders(void **state)
{
    check("{{#each list}}[{{x}}]", "{\"x\":\"X\",\"list\":[1]}",
          UNB("#each list") "[X]");
    check("{{#with o}}{{#if 1}}{{x}}{{/if}}", "{\"x\":\"X\",\"o\":{}}",
          UNB("#with o") "X");
    /* an opener left open shifts the levels: the loop is unpaired too */
    check("{{#each a}}{{#if x}}{{this}}{{/each}}", "{\"a\":[1,2]}",
          UNB("#each a") UNB("#if x") UNB("/each"));
    /* unbalanced inside a loop body: once per item */
    check("{{#each a}}{{/if}}{{this}}{{#if x}}{{/each}}", "{\"a\":[1,2]}",
          UNB("/if") "1" UNB("#if x") UNB("/if") "2" UNB("#if x"));
}


/* R10: the {{else}} split */
static void
test_else_split(void **state)
{
    check("{{#if false}}A{{else}}B{{else}}C{{/if}}", NULL, "B");
    check("{{#if true}}A{{else}}B{{else}}C{{/if}}", NULL, "A");
    check("{{#if true}}{{#unless false}}X{{else}}Y{{/unless}}{{/if}}", NULL,
          UNB("#unless false") "X");
    check("{{#if false}}{{#eq 1 1}}X{{else}}Y{{/eq}}{{else}}Z{{/if}}", NULL,
          "Y" UNB("/eq"));
    check("{{#gt 2 1}}{{#if false}}X{{else}}Y{{/if}}{{/gt}}", NULL,
          UNB("#if false") "X");
    check("{{#eq 1 1}}{{#eq 2 2}}X{{else}}Y{{/eq}}{{else}}Z{{/eq}}", NULL,
          "X");
    check("{{#if true}}A{{ else }}B{{/if}}", NULL, "A{{ else }}B");
    check("{{#if true}}A{{else if x}}B{{/if}}", NULL, "AB");
    check("{{#each items}}{{this}}{{else}}E{{/each}}",
          "{\"items\":[\"x\",\"y\"]}", "xEyE");
    check("{{#with o}}a{{else}}b{{/with}}", "{\"o\":{}}", "ab");
    check("{{#let a=1}}{{vars.a}}{{else}}b{{/let}}", NULL, "1b");
    check("x{{else}}y", NULL, "xy");
    /* a same-name pair deeper down is protected too */
    check("{{#if false}}{{#each l}}{{#if true}}a{{else}}b{{/if}}{{/each}}"
          "{{else}}c{{/if}}", "{\"l\":[1]}", "c");
    /* unless: the nested unless is protected, the nested if not */
    check("{{#unless false}}{{#unless true}}X{{else}}Y{{/unless}}{{else}}Z"
          "{{/unless}}", NULL, "Y");
    check("{{#unless nope}}A{{else}}B{{/unless}}", NULL, "B");
    /* a split in a translation or a component body: the same rule */
    check("{{#component \"cc\"}}{{#if false}}1{{else}}2{{/if}}{{/component}}"
          "{{components.cc}}", NULL, "2");
}


/* §4.1-4.4 conditions */
static void
test_conditions(void **state)
{
    static const char  ctx[] =
        "{\"n\":null,\"u\":0,\"e\":\"\",\"z\":false,\"items\":[],"
        "\"user\":{}}";

    check("{{#if n}}T{{else}}F{{/if}}|{{n}}", ctx, "T|");
    check("{{#if u}}T{{else}}F{{/if}}{{#if e}}T{{else}}F{{/if}}"
          "{{#if z}}T{{else}}F{{/if}}", ctx, "FFF");
    check("{{#if user.nope}}T{{else}}F{{/if}}", ctx, "F");
    check("{{#if foo}}T{{else}}F{{/if}}", ctx, "T");
    check("{{#if items}}T{{else}}F{{/if}}", ctx, "T");
    check("{{#if}}T{{else}}F{{/if}}{{#if x=1}}T{{else}}F{{/if}}", ctx,
          "FF");
    check("{{#if string.contains \"abc\" \"z\"}}T{{else}}F{{/if}}", NULL,
          "T");
    check("{{#if (string.contains \"abc\" \"z\")}}T{{else}}F{{/if}}", NULL,
          "F");
    check("{{#if z u}}T{{else}}F{{/if}}", ctx, "F");
    check("{{#if\ttrue}}T{{/if}}", NULL, "T");
    check("{{#and}}Y{{else}}N{{/and}}", NULL, "N");
    check("{{#not u}}Y{{else}}N{{/not}}", ctx, "Y");
    check("{{#or u e}}Y{{else}}N{{/or}}", ctx, "N");
    check("{{#unless}}Y{{/unless}}", NULL, "Y");
}


/* §4.5 each */
static void
test_each(void **state)
{
    check("{{#each items}}[{{name}}|{{this.name}}|{{@index}}|{{@first}}|"
          "{{@last}}|{{@key}}]{{/each}}",
          "{\"items\":[{\"name\":\"A\"},{\"name\":\"B\"}]}",
          "[|A|0|true|false|][|B|1|false|true|]");
    check("{{#each o}}{{#each this}}{{@key}}:{{this}}:{{@index}} {{/each}}"
          "{{/each}}", "{\"o\":{\"k\":[\"p\",\"q\"]}}", "k:p:0 k:q:1 ");
    check("{{#each obj}}{{@key}}={{this}}@{{@index}};{{/each}}",
          "{\"obj\":{\"b\":2,\"a\":1,\"10\":\"ten\",\"2\":\"two\"}}",
          "2=two@0;10=ten@1;b=2@2;a=1@3;");
    check("{{#each obj}}{{@key}};{{/each}}",
          "{\"obj\":{\"01\":1,\"1\":2,\"-1\":3,\"0\":4,\"4294967295\":5}}",
          "0;1;01;-1;4294967295;");
    check("{{#each s}}x{{/each}}{{#each n}}x{{/each}}{{#each}}x{{/each}}",
          "{\"s\":\"str\",\"n\":5}", "");
    check("{{#each (json.parse '[1,2]')}}\n  <li>{{this}}</li>\n{{/each}}",
          NULL, "\n  <li>1</li>\n\n  <li>2</li>\n");
}


/* §4.6 with */
static void
test_with(void **state)
{
    check("{{#with \"str\"}}X{{/with}}|{{#with nope}}X{{/with}}|"
          "{{#with z}}X{{/with}}|{{#with}}X{{/with}}", "{\"z\":0}", "|||");
    check("{{#with u}}{{vars.v}}{{/with}}",
          "{\"u\":{\"vars\":{\"v\":\"shadow\"}},\"vars\":{\"v\":\"top\"}}",
          "shadow");
    check("{{#with u}}{{let w=1}}{{/with}}[{{vars.w}}]", "{\"u\":{}}",
          "[1]");
    check("{{#with u}}{{a}}/{{b}}{{/with}}",
          "{\"u\":{\"a\":\"A\"},\"b\":\"B\"}", "A/B");
    check("{{#with l}}in{{/with}}", "{\"l\":[1]}", "in");
    check("{{#with e}}in{{/with}}", "{\"e\":{}}", "in");
}


/* §4.7, §6 let */
static void
test_let(void **state)
{
    check("{{let _x=1 y=2}}{{vars}}", NULL, "{\"y\":2}");
    check("{{let 1=2}}{{vars}}", NULL, "{\"1\":2}");
    check("{{let}}{{let x}}{{let u=}}[{{vars}}]", NULL, "[{}]");
    check("{{let a.b=5}}{{let a.b.e=3}}{{vars.a}}", NULL,
          "{\"b\":{\"e\":3}}");
    check("{{#let}}in{{/let}}{{#let x}}2{{/let}}", NULL, "in2");
    check("{{#let a=1}}{{let b=2}}{{vars.a}}{{vars.b}}{{/let}}"
          "[{{vars.a}}{{vars.b}}]", NULL, "12[]");
    check("{{let name=\"James (Jim)\"}}{{vars.name}}", NULL, "James (Jim)");
    check("a\n{{let x=1}}\nb", NULL, "a\n\nb");
    /* §4.7: #let's vars is a shallow copy: nested writes leak out */
    check("{{let a.b=1}}{{#let a.c=2 d=3}}in:{{vars.a}}/{{vars.d}}"
          "{{let e=4}}{{/let}}|out:{{vars.a}}/{{vars.d}}/{{vars.e}}", NULL,
          "in:{\"b\":1,\"c\":2}/3|out:{\"b\":1,\"c\":2}//");
    /* values are copies: a later write does not reach what was copied */
    check("{{let a.x=1}}{{let b=(vars.a)}}{{let a.x=2}}{{vars.b.x}}", NULL,
          "1");
    check("{{let u=(user)}}{{let u.x=2}}{{user.x}}{{vars.u.x}}",
          "{\"user\":{\"x\":1}}", "12");
    /* k=v values are never resolved (D3, R13): (...) resolves */
    check("{{let a=user.id b=(user.id) c=this d=5 e=true}}{{vars}}",
          "{\"user\":{\"id\":7}}",
          "{\"a\":\"user.id\",\"b\":7,\"c\":\"this\",\"d\":5,\"e\":true}");
    check("{{#each l}}{{#let i=@index}}{{vars.i}}{{/let}}{{/each}}",
          "{\"l\":[1,2]}", "@index@index");
    check("{{#each l}}{{#let i=(@index)}}{{vars.i}}{{/let}}{{/each}}",
          "{\"l\":[1,2]}", "01");
}


/* §2.2, P4.8: what is not an expression stays text */
static void
test_lexing(void **state)
{
    check("{{Upper}}|{{ x }}|{{$x}}|{{! c}}|{{0}}|{{_inline}}|{{~x~}}", NULL,
          "{{Upper}}|{{ x }}|{{$x}}|{{! c}}|{{0}}|{{_inline}}|{{~x~}}");
    check("{{#}}|{{/}}|{{#Foo}}|{{/1}}", NULL, "{{#}}|{{/}}|{{#Foo}}|{{/1}}");
    check("a{{!-- x {{#if}} --}}b", NULL, "ab");
    check("a{{!-- unclosed {{x}}", "{\"x\":\"X\"}", "a{{!-- unclosed X");
    check("{{x", NULL, "{{x");
    check("a {{x}} {{y", "{\"x\":1}", "a 1 {{y");
    check("{{{x", NULL, "{{{x");
    /* an open quote: the first "}}" ends it, as in jPulse */
    check_at("{{x \"a}}b", 1, 1, "unterminated");
    check("{{x \"a}}b", NULL,
          "<!-- Error: Handlebar \"x \"a\": unterminated string -->b");
}


/* §4.9, §2.9: unknown blocks and compile-time error comments */
static void
test_unknown_block(void **state)
{
    check("{{#foo a}}x{{/foo}}", NULL,
          "<!-- Error: Handlebar \"#foo a\": Unknown block type: #foo -->");
    check("{{#foo x}}y{{/foo}}", NULL,
          "<!-- Error: Handlebar \"#foo x\": Unknown block type: #foo -->");
    check("{{#foo}}y{{/foo}}", NULL,
          "<!-- Error: Handlebar \"#foo \": Unknown block type: #foo -->");
    /* a helper that is no block */
    check("{{#concat a}}y{{/concat}}", NULL,
          "<!-- Error: Handlebar \"#concat a\": Unknown block type: "
          "#concat -->");
    /* unpaired, it is only unbalanced */
    check("{{#foo a}}x", NULL, UNB("#foo a") "x");
    check("{{#if (a}}x{{/if}}y", NULL,
          "<!-- Error: Handlebar \"#if (a\": missing \")\" -->y");
}


/* jp_tpl_check(): what cachectl reports */
static void
test_check(void **state)
{
    check_at("<p>{{#if a}}x{{/if}}</p>", 0, 0, NULL);
    check_at("<p>\n{{#if a}}x{{/unless}}</p>", 2, 1,
             "unbalanced \"{{#if a}}\": no matching {{/if}}");
    check_at("ok\n  x {{/each}}", 2, 5,
             "unbalanced \"{{/each}}\": no matching {{#each}}");
    check_at("{{#if a}}{{else}}{{#each b}}{{/each}}{{/if}}", 0, 0, NULL);
    check_at("{{#if a}}{{#each b}}{{else}}{{/each}}{{/if}}", 1, 10,
             "{{#each b}}");
    check_at("é{{#bogus}}{{/bogus}}", 1, 2, "unknown block type \"#bogus\"");
    check_at("{{else}}{{ x }}{{#if a}}{{/if}}", 0, 0, NULL);
}


/* large inputs stay linear: many openers that never close */
static void
test_many_unclosed(void **state)
{
    size_t   i, n;
    char    *src, *got;

    n = 40000;
    src = malloc(n * 9 + 1);
    assert_non_null(src);

    for (i = 0; i < n; i++) {
        memcpy(src + i * 9, i % 2 ? "{{/if}}xx" : "{{#if a}}", 9);
    }
    src[n * 9] = '\0';

    /* levels 0,0,0...: every pair matches */
    got = render(src, n * 9, NULL);
    assert_int_equal(strlen(got), n);
    free(got);

    for (i = 0; i < n; i++) {
        memcpy(src + i * 9, "{{#if a}}", 9);
    }

    got = render(src, n * 9, NULL);
    assert_int_equal(strlen(got), n * strlen(UNB("#if a")));
    free(got);
    free(src);
}


/* bytes that are not UTF-8 in a stray tag pass into its comment */
static void
test_non_utf8(void **state)
{
    check("{{#if \xff}}x", NULL, UNB("#if \xff") "x");
}


/* §2.4.3 R13: quoted positional arguments resolve like bare words */
static void
test_r13_quoted(void **state)
{
    static const char  ctx[] =
        "{\"admin\":\"ADMIN!\",\"n\":null,\"url\":{\"pathname\":\"/test\"},"
        "\"user\":{\"a\":1}}";

    check("{{string.concat \"admin\"}}", ctx, "ADMIN!");
    check("{{string.concat \"url.pathname\"}}", ctx, "/test");
    check("{{string.concat \"jpIcons.star\" \"a/admin\"}}", ctx,
          "jpIcons.stara/admin");
    check("{{string.concat \"user.nope\" \"n\" \"\"}}", ctx, "n");
    check("{{string.concat \"user\"}}", ctx, "[object Object]");
    check("{{#eq \"admin\" \"ADMIN!\"}}y{{else}}n{{/eq}}", ctx, "y");
    /* hash values are not positional: never resolved this way */
    check("{{let a=\"admin\"}}{{vars.a}}", ctx, "admin");
    /* no null literal: the word, unless the context has it */
    check("{{#if null}}T{{else}}F{{/if}}{{eq null \"\"}}", NULL, "Tfalse");
    check("{{eq null undefined}}", NULL, "false");
}


/* §2.2 R7: the name ends at the first space; no line break after it */
static void
test_r7_line_breaks(void **state)
{
    check("{{string.concat\n\"a\" \"b\"}}", NULL, "");
    check("{{string.concat\t\"a\"}}|{{let\ta=1}}{{vars.a}}", NULL, "|");
    check("{{string.concat \"a\"\n \"b\"}}", NULL,
          "<!-- Error: Handlebar \"string.concat \"a\"\n \"b\"\": Cannot read "
          "properties of undefined (reading 'startsWith') -->");
    check("{{#if (and true\n true)}}Y{{else}}N{{/if}}", NULL, "N");
    check("{{#if true\n}}Y{{else}}N{{/if}}", NULL, "Y");
    check("{{string.concat \"a\"\t\"b\"}}", NULL, "ab");
    check("{{string.concat \"a\" \"b\"\n}}", NULL, "ab");
}


/* strict mode never resolves a quoted string */
static void
test_r13_quoted_strict(void **state)
{
    int                rc;
    json_t            *ctx;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    prog = jp_tpl_compile("{{string.concat \"admin\" \"x.y\"}}", 31, "p",
                          NULL, &err);
    assert_non_null(prog);
    ctx = json_pack("{ss s{si}}", "admin", "ADMIN", "x", "y", 1);
    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, NULL, NULL, JP_TPL_STRICT, &out, &err);
    assert_int_equal(rc, 0);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.data, "adminx.y", 8);
    jp_tpl_buf_free(&out);
    json_decref(ctx);
    jp_tpl_free(prog);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_unbalanced_pipeline_examples),
        cmocka_unit_test(test_closer_before_opener),
        cmocka_unit_test(test_unbalanced_body_still_renders),
        cmocka_unit_test(test_else_split),
        cmocka_unit_test(test_conditions),
        cmocka_unit_test(test_each),
        cmocka_unit_test(test_with),
        cmocka_unit_test(test_let),
        cmocka_unit_test(test_lexing),
        cmocka_unit_test(test_unknown_block),
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_many_unclosed),
        cmocka_unit_test(test_non_utf8),
        cmocka_unit_test(test_r13_quoted),
        cmocka_unit_test(test_r13_quoted_strict),
        cmocka_unit_test(test_r7_line_breaks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
