/*
 * Unit tests: jPulse's logical, comparison and string.* helpers
 * (libjpulse/jp_tpl_helpers.c, jp_tpl_helpers_html.c). The vectors marked
 * in jpulse-template-helpers.md as run against jPulse 1.7.17 (sections 5
 * and 8) are reproduced exactly; the others are edge cases of ours.
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


static int
mem_read(void *data, const char *path, char **src, size_t *len)
{
    return -1;
}


static int
mem_mtime(void *data, const char *path, int64_t *ms)
{
    return -1;
}


static int
mem_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
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


/* z=0 e="" s="x" a=[] o={} as section 5.1 has them, and more */
#define CTX  "{\"z\":0,\"e\":\"\",\"s\":\"x\",\"ea\":[],\"o\":{},"             \
             "\"arr\":[1,[2,3]],\"oa\":{\"a\":1},\"n\":null,"               \
             "\"big\":\"ABC\",\"url\":{\"param\":{\"q\":\"<a'b>\"}}}"


static char *
render(const char *src, size_t len, const char *ctx_json,
    jp_tpl_limits_t *limits)
{
    int                rc;
    char              *s;
    json_t            *ctx;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = json_loads(ctx_json ? ctx_json : CTX, 0, &jerr);
    if (ctx == NULL) {
        fail_msg("bad test JSON: %s", jerr.text);
    }

    prog = jp_tpl_compile(src, len, "test.shtml", NULL, &err);
    if (prog == NULL) {
        fail_msg("%u:%u: %s\n  in: %s", err.line, err.column, err.message,
                 src);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, limits, 0, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    if (rc != 0) {
        jp_tpl_buf_free(&out);
        return NULL;
    }

    s = malloc(out.len + 1);
    assert_non_null(s);
    memcpy(s, out.data ? out.data : "", out.len);
    s[out.len] = '\0';
    jp_tpl_buf_free(&out);

    return s;
}


static void
check_ctx(const char *src, const char *ctx, const char *want)
{
    char  *got;

    got = render(src, strlen(src), ctx, NULL);
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


#define check(src, want)  check_ctx(src, NULL, want)


/* section 5.1 */
static void
test_and_or_not(void **state)
{
    check("{{and z s}} {{and s ea o}} {{or z e}} {{or z \"f\"}}",
          "false true false true");
    check("{{not z}} {{not \"false\"}} {{not ea b}} {{and \"false\"}}",
          "true false false true");
    check("{{and}}|{{or}}|{{not}}", "false|false|false");
    check("{{#and}}Y{{else}}N{{/and}} {{#not z}}Y{{else}}N{{/not}} "
          "{{#or z e}}Y{{else}}N{{/or}}", "N Y N");
    check("{{and 1 (or 0 \"x\") (not e)}}", "true");
}


/* section 5.2 and R21 */
static void
test_comparisons(void **state)
{
    check("{{eq 1 \"1\"}} {{eq \"\" 0}} {{eq true 1}} {{eq \"true\" true}}",
          "true true true false");
    check("{{gt \"10\" 5}} {{gt \"10\" \"5\"}} {{lt \"a\" 1}}",
          "true false false");
    check("{{eq null \"\"}} {{eq null undefined}}", "false false");
    check("{{eq 1}} {{eq 1 1 1}} {{gt}} {{ne 1}} {{ne 1 2 3}}",
          "false false false false false");
    check("{{#eq 1}}Y{{else}}N{{/eq}}{{#ne 1 2}}Y{{else}}N{{/ne}}", "NY");

    /* ToPrimitive: an array is its String(), an object "[object Object]" */
    check("{{eq (json.parse \"[1]\") 1}} "
          "{{eq (json.parse \"[1]\") (json.parse \"[1]\")}}", "true false");
    check("{{gt (json.parse \"[2]\") \"10\"}} {{gt (json.parse \"[2]\") 10}}",
          "true false");
    check("{{eq arr \"1,2,3\"}} {{eq oa \"[object Object]\"}} {{eq o o}} "
          "{{ne ea ea}}", "true true false true");
    check("{{eq ea \"\"}} {{eq ea 0}} {{lt ea 1}} {{gte o \"[\"}}",
          "true true true true");

    /* undefined is NaN, null is 0; NaN compares false */
    /* a name whose value is null is its own text (R13): "n" */
    check("{{gte vars.nope 0}} {{lte vars.nope 0}} {{eq vars.nope n}}",
          "false false false");
    check("{{gte n 0}} {{lte n 0}} {{eq n 0}}", "false false false");
    check("{{gt \"x\" 1}} {{lt \"x\" 1}} {{gte \"x\" \"x\"}}",
          "false false true");

    /* strings compare as UTF-16: U+FF21 sorts after U+1F600's surrogate */
    check("{{lt \"\xef\xbc\xa1\" \"\xf0\x9f\x98\x80\"}} "
          "{{gt \"\xef\xbc\xa1\" \"\xf0\x9f\x98\x80\"}} "
          "{{lt \"\xf0\x9f\x98\x80\" \"\xf0\x9f\x98\x81\"}} "
          "{{lt \"ab\" \"abc\"}} {{lt \"B\" \"a\"}}",
          "false true true true true");
}


/* section 8.1 */
static void
test_text_of_arguments(void **state)
{
    check("{{string.concat \"a\" 0 false true 1.50 arr oa}}",
          "atrue1.51,2,3[object Object]");
    check("{{string.concat (json.parse \"[0,false,null,[],[[1]],{}]\")}}",
          "0,false,,,1,[object Object]");
    check("{{string.concat}}|{{string.concat 0}}|{{string.concat n}}",
          "||n");
}


/* sections 8.2 - 8.4 */
static void
test_concat_default_replace(void **state)
{
    check("{{string.concat \"hello\" vars.missing \"world\"}}",
          "helloworld");
    check("{{string.default 0 \"\" false \"x\"}}|{{string.default \"0\" "
          "\"x\"}}|{{string.default \"\" 0}}|{{string.default vars.missing}}"
          "|{{string.default}}", "x|0|||");
    check("{{string.default e z \"a\" \"b\"}}", "a");

    check("{{string.replace \"hello\" \"\" \"x\"}}", "hxexlxlxo");
    check("{{string.replace \"hello\" \"world\"}}", "hello");
    check("{{string.replace \"a b\" \" \" \"_\" \"extra\"}}", "a b");
    check("{{string.replace 100 0 1}}", "11010");
    check("{{string.replace \"aaa\" \"aa\" \"b\"}}", "ba");
    check("{{string.replace \"a.b.c\" \".\" \"$&\"}}", "a$&b$&c");
    check("{{string.replace \"\" \"\" \"x\"}}|{{string.replace 0 \"a\"}}|"
          "{{string.replace}}", "||");
    /* split("") cuts a surrogate pair too: node prints the halves as
     * U+FFFD */
    check("{{string.replace \"\xc3\xa9\xf0\x9f\x98\x80\" \"\" \"-\"}}",
          "\xc3\xa9-\xef\xbf\xbd-\xef\xbf\xbd");
}


/* sections 8.5 - 8.8 */
static void
test_substring_pad_find_length(void **state)
{
    check("{{string.substring \"hello world\" 6 5}}", "world");
    check("{{string.substring \"hello\" -1 2}}", "hello");
    check("{{string.substring \"hello\" 1.9 2.9}}", "el");
    check("{{string.substring \"hello\" 10 2}}|", "|");
    check("{{string.substring 12345 1 2}}", "23");
    check("{{string.substring \"hello\" \"1px\" \"2\"}}", "el");
    check("{{string.substring \"hello\" \"x\" 2}} "
          "{{string.substring \"hello\" 1 true}}", "hello hello");
    check("{{string.substring \"hello\" 1}}", "hello");
    check("{{string.substring \"h\xc3\xa9llo\" 1 2}}", "\xc3\xa9l");
    check("{{string.substring \"a\xf0\x9f\x98\x80\x62\" 1 2}}|"
          "{{string.substring \"a\xf0\x9f\x98\x80\x62\" 2 2}}",
          "\xf0\x9f\x98\x80|\xef\xbf\xbd" "b");

    check("{{string.padLeft \"5\" 3 \"0\"}}", "005");
    check("[{{string.padLeft 5 3 0}}]", "[  5]");
    check("{{string.padLeft \"5\" 3 \"ab\"}}", "aa5");
    check("{{string.padLeft \"5\" \"4.7\" \"x\"}}", "xxx5");
    check("{{string.padLeft 0 3 \"0\"}}", "000");
    check("{{string.padRight \"5\" -1 \"0\"}}", "5");
    check("{{string.padRight \"5\" 3 \"\xc3\xa9\"}}|"
          "{{string.padLeft \"abcd\" 2 \"x\"}}|{{string.padLeft \"5\" 3}}",
          "5\xc3\xa9\xc3\xa9|abcd|5");
    check("{{string.padLeft \"\xf0\x9f\x98\x80\" 3 \"x\"}}",
          "x\xf0\x9f\x98\x80");

    check("{{string.startsWith 123 1}} {{string.contains \"a0\" 0}} "
          "{{string.contains \"abc\"}}", "true true false");
    check("{{string.startsWith \"abc\" \"\"}} {{string.endsWith \"abc\" "
          "\"bc\"}} {{string.endsWith \"abc\" \"abcd\"}} "
          "{{string.startsWith \"abc\" \"a\" \"b\"}}",
          "true true false false");
    check("{{#if (string.contains \"abc\" \"b\")}}Y{{/if}}", "Y");

    check("{{string.length 0}} {{string.length 12 34}} "
          "{{string.length \"\xc3\xa9\"}} "
          "{{string.length \"\xf0\x9f\x98\x80\"}} {{string.length}}",
          "0 4 1 2 0");
}


/* sections 8.9, 8.10 */
static void
test_case_mapping(void **state)
{
    check("{{string.uppercase \"stra\xc3\x9f" "e\"}}", "STRASSE");
    check("{{string.lowercase \"\xc4\xb0\"}}", "i\xcc\x87");
    check("{{string.uppercase 0 \"a\"}}|{{string.uppercase}}", "A|");
    check("{{string.lowercase big \"\xc3\x89T\xc3\x89\"}}",
          "abc\xc3\xa9t\xc3\xa9");
    /* Final_Sigma: ΟΔΟΣ, ΑΣ., Α.Σ, ΑΣΑ */
    check("{{string.lowercase \"\xce\x9f\xce\x94\xce\x9f\xce\xa3\"}} "
          "{{string.lowercase \"\xce\x91\xce\xa3.\"}} "
          "{{string.lowercase \"\xce\xa3\"}} "
          "{{string.lowercase \"\xce\x91\xce\xa3\xce\x91\"}}",
          "\xce\xbf\xce\xb4\xce\xbf\xcf\x82 \xce\xb1\xcf\x82. \xcf\x83 "
          "\xce\xb1\xcf\x83\xce\xb1");
    /* µ ÿ ŉ ﬁ */
    check("{{string.uppercase \"\xc2\xb5\xc3\xbf\xc5\x89\xef\xac\x81\"}}",
          "\xce\x9c\xc5\xb8\xca\xbcN" "FI");
    /* Deseret: beyond the BMP */
    check("{{string.uppercase \"\xf0\x90\x90\xa8\"}}", "\xf0\x90\x90\x80");
}


static void
test_titlecase(void **state)
{
    check("{{string.titlecase \"the lord of the rings\"}}",
          "The Lord of the Rings");
    check("{{string.titlecase \"of mice and men of\"}}",
          "Of Mice and Men Of");
    check("{{string.titlecase \"to be or not to be\"}}",
          "To Be or Not to Be");
    check("{{string.titlecase \"(the end)\"}}|{{string.titlecase \"go to.\"}}"
          "|{{string.titlecase \"  leading spaces\"}}",
          "(the End)|Go to.|  Leading Spaces");
    check("{{string.titlecase \"what's\"}}|"
          "{{string.titlecase \"rock'n'roll and the o'neil\"}}|"
          "{{string.titlecase 'x\"the\" y'}}",
          "What'S|Rock'N'Roll and the O'Neil|X\"the\" Y");
    check("{{string.titlecase \"hello-world foo_bar\"}}",
          "Hello-world Foo_bar");
    check("{{string.titlecase \"what's up: the (big) [deal] <x> /path/to "
          "it.the end\"}}",
          "What'S up: the (Big) [Deal] <X> /Path/to It.the End");
    check("{{string.titlecase \"NASA\"}}|{{string.titlecase}}|"
          "{{string.titlecase \"\xc3\xa9" "clair \xc3\xbc" "ber\"}}",
          "Nasa||\xc3\x89" "clair \xc3\x9c" "ber");
    check("{{string.titlecase \"\xc3\x9f" "a\"}}", "SSa");
}


static void
test_titlecase_whitespace(void **state)
{
    const char  *src = "{{string.titlecase s}}";

    check_ctx(src, "{\"s\":\"hello\\tthe\\nworld of it\"}",
              "Hello\tthe\nworld of It");
}


/* section 8.11 */
static void
test_slugify(void **state)
{
    check("{{string.slugify \"Hello World!\"}}|"
          "{{string.slugify \"My Document.pdf\"}}|"
          "{{string.slugify \"a_b-c\"}}",
          "hello-world|my-document-pdf|ab-c");
    check("{{string.slugify \"\xc3\x9cn\xc3\xaf" "c\xc3\xb6" "d\xc3\xa9 "
          "Stra\xc3\x9f" "e\"}}", "unicode-strae");
    check("{{string.slugify \"user@example.com\"}}|"
          "{{string.slugify \"(a)[b]{c}\"}}|{{string.slugify \"--x--\"}}",
          "user-example-com|a-bc|x");
    check("[{{string.slugify \"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\"}}]"
          "[{{string.slugify \"\xef\xac\x81\"}}]", "[][]");
    check("{{string.slugify \"a&b+c=d\"}}|{{string.slugify 123}}|"
          "{{string.slugify \"hello  -  world\"}}|{{string.slugify 0}}|",
          "abcd|123|hello-world||");
    /* NBSP and U+3000 are whitespace; Greek ";" (U+037E) is ";" in NFD;
     * the Kelvin sign lower-cases to k; İ is i + a mark */
    check("{{string.slugify \"a\xc2\xa0" "b\xe3\x80\x80" "c\xcd\xbe" "d "
          "\xe2\x84\xaa \xc4\xb0x\"}}", "a-b-c-d-k-ix");
}


/* sections 8.12, 8.13 */
static void
test_url_and_html(void **state)
{
    check("{{string.urlEncode \"a b&c/d?e=f#g~!*'()\"}}",
          "a%20b%26c%2Fd%3Fe%3Df%23g~!*'()");
    check("{{string.urlEncode \"\xc3\xa9\xf0\x9f\x98\x80\"}}",
          "%C3%A9%F0%9F%98%80");
    check("{{string.urlEncode}}|{{string.urlEncode 0 1}}", "|1");

    check("{{string.urlDecode \"a%20b+c\"}}|{{string.urlDecode \"%E0%A4%A\"}}|"
          "{{string.urlDecode \"%zz\" \"x\"}}", "a b+c|%E0%A4%A|%zzx");
    check("{{string.urlDecode \"%C3%A9%f0%9f%98%80\"}}",
          "\xc3\xa9\xf0\x9f\x98\x80");
    /* overlong, a surrogate, a lone continuation, cut short: unchanged */
    check("{{string.urlDecode \"x%C0%AF\"}}|{{string.urlDecode \"%ED%A0%80\"}}"
          "|{{string.urlDecode \"%80\"}}|{{string.urlDecode \"%C3\"}}|"
          "{{string.urlDecode \"%\"}}",
          "x%C0%AF|%ED%A0%80|%80|%C3|%");
    check("{{string.urlDecode \"%3C%2F%25\"}}", "</%");

    check("{{string.htmlEscape \"&amp;\"}}", "&amp;amp;");
    check("{{string.htmlEscape 'Hello \"world\"'}}|"
          "{{string.htmlEscape \"hello 'world'\"}}",
          "Hello &quot;world&quot;|hello &#39;world&#39;");
    check("{{string.htmlEscape \"<script>alert('xss')</script>`$\"}}",
          "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt;`$");
    check("{{string.htmlEscape}}|{{string.htmlEscape 1 \"<\"}}", "|1&lt;");
}


/* section 8.14; the last cases checked against node 20.20.2 */
static void
test_html_to_text(void **state)
{
    const char  *src = "{{string.htmlToText s}}";

    check_ctx(src,
              "{\"s\":\"<p>One</p><p>Two</p>\\n\\n<div class='x'>Three&nb"
              "sp;&amp;&nbsp;four</div><br/>five<span>six</span>seven &lt"
              ";b&gt; &#65;&#x42;&#X43; &copy; &#39;q&#x27; 1 < 2 > 0 <3 "
              "a<b\"}",
              "One Two Three & four five six seven <b> ABC &copy; 'q' 1 <"
              " 2 > 0 <3 a<b");
    check_ctx(src,
              "{\"s\":\"<script>alert(1)</script><style>p{}</style>T<!-- "
              "comment -->U\"}",
              "alert(1) p{} T<!-- comment -->U");
    check_ctx(src,
              "{\"s\":\"<b>hello</b>world\"}",
              "hello world");
    check_ctx(src,
              "{\"s\":\"&amp;#65; &amp;lt; [&#128512;] [&#x1F600;]\"}",
              "A &lt; [\xef\x98\x80] [\xef\x98\x80]");
    check_ctx(src,
              "{\"s\":\"&#55357;&#56832;|&#xD83D;&#56832;|&#55357;x|&#000"
              "00065;|&#1e3;\"}",
              "\xf0\x9f\x98\x80|\xf0\x9f\x98\x80|\xef\xbf\xbdx|A|&#1e3;");
    check_ctx(src,
              "{\"s\":\"<b <p>x<i> y\"}",
              "y");
    check_ctx(src,
              "{\"s\":\"a\xc2\xa0\xe3\x80\x80"
              "b\xe2\x80\xa8"
              "c  \"}",
              "a b c");
}


/* section 8.15 */
static void
test_html_to_md(void **state)
{
    const char  *src = "{{string.htmlToMd s}}";

    check_ctx(src,
              "{\"s\":\"<p>hello</p><p>world</p>\"}",
              "hello\n\nworld");
    check_ctx(src,
              "{\"s\":\"<h1>Title</h1><h2>Subtitle</h2>\"}",
              "# Title\n\n## Subtitle");
    check_ctx(src,
              "{\"s\":\"<ul><li>Item 1</li><li>Item 2</li></ul>\"}",
              "- Item 1\n- Item 2");
    check_ctx(src,
              "{\"s\":\"<ol><li>First</li><li>Second</li></ol>\"}",
              "1. First\n2. Second");
    check_ctx(src,
              "{\"s\":\"<p>Use <code>console.log()</code> for debugging</"
              "p>\"}",
              "Use `console.log()` for debugging");
    check_ctx(src,
              "{\"s\":\"<p>&lt;code&gt;</p>\"}",
              "<code>");
    check_ctx(src,
              "{\"s\":\"<h1>A\\nB</h1>\"}",
              "A\nB");
    check_ctx(src,
              "{\"s\":\"<a href=\\\"u\\\">t\\nx</a>\"}",
              "t\nx");
    check_ctx(src,
              "{\"s\":\"<h3 class=c>H</h3>\"}",
              "### H");
    check_ctx(src,
              "{\"s\":\"x<br>y</b>\"}",
              "x**y**");
    check_ctx(src,
              "{\"s\":\"line<br/>break\"}",
              "linebreak");
    check_ctx(src,
              "{\"s\":\"multi\\nline   para\"}",
              "multi\nline para");
    check_ctx(src,
              "{\"s\":\"<ul><li>outer<ul><li>inner</li></ul></li></ul>\"}",
              "- outerinner");
    check_ctx(src,
              "{\"s\":\"<ul><li>A</li><li>B <b>bold</b></li></ul><h2 id="
              "\\\"t\\\">Title</h2><p>Para with <a href=\\\"http://x.y/?a"
              "=1&amp;b=2\\\" class=\\\"l\\\">a link</a> and <a href='sin"
              "gle'>sq</a> and <a name=\\\"n\\\">anchor</a>.</p><ol><li>o"
              "ne</li><li>two</li></ol><pre>  code   block  </pre><blockq"
              "uote>quote</blockquote><img src=\\\"a.png\\\" alt=\\\"Alt "
              "text\\\"><img src=\\\"b.png\\\"><table><tr><th>H1</th><th>"
              "H2</th></tr><tr><td>c1</td><td>c2</td></tr></table><strong"
              ">S</strong> <em>E</em> <i>I</i> <code>C</code> <br> line<b"
              "r/>break\"}",
              "- A\n- B **bold**\n\n## Title\n\nPara with [a link](http:/"
              "/x.y/?a=1&b=2) and sq and anchor.\n\n1. one\n2. two\n\n co"
              "de block quote*H1 H2 \nc1 c2 \n**S** E I* `C` linebreak");
    check_ctx(src,
              "{\"s\":\"<a href=\\\"a>b\\\">t</a>\"}",
              "[t](a>b)");
    check_ctx(src,
              "{\"s\":\"<a x href=\\\"1\\\" href=\\\"2>\\\">t</a>|<a x hr"
              "ef=\\\"1\\\" href=\\\"2>\\\">t\\n</a>z</a>\"}",
              "[t](2>)|\">t\nz");
    check_ctx(src,
              "{\"s\":\"<img alt=\\\"x\\\" alt=\\\"y>z\\\"\"}",
              "xz\"");
    check_ctx(src,
              "{\"s\":\"<ul>x</ul>|<ol></ol>\"}",
              "|");
    check_ctx(src,
              "{\"s\":\"<UL><LI> a </LI><li>b<link>c</LI></UL>\"}",
              "- a\n- bc");
    check_ctx(src,
              "{\"s\":\"<h1>a<h1>b</h1>\xe2\x80\xa8</h1>\"}",
              "# ab");
    check_ctx(src,
              "{\"s\":\"<b>x</b>\\r<i>y\xe2\x80\xa9</i>\"}",
              "**x**\ry");
}


/* request data stays escaped, whatever the helper */
static void
test_request_data(void **state)
{
    check("{{string.htmlEscape url.param.q}}", "&lt;a&#39;b&gt;");
    check("{{string.urlEncode url.param.q}}", "%3Ca&#39;b%3E");
    check("{{string.lowercase url.param.q}}", "&lt;a&#39;b&gt;");
    check("{{string.urlDecode url.param.q}}", "&lt;a&#39;b&gt;");
}


/* bounded: huge pads fail as an error comment, not a huge allocation */
static void
test_limits(void **state)
{
    char             *got;
    const char       *src;
    jp_tpl_limits_t   limits;

    src = "{{string.padLeft \"x\" 1000000000 \"y\"}}";
    got = render(src, strlen(src), NULL, NULL);
    assert_non_null(got);
    assert_non_null(strstr(got, "<!-- Error: "));
    free(got);

    memset(&limits, 0, sizeof(limits));
    limits.max_output = 100;
    src = "{{string.padLeft \"x\" 200 \"y\"}}";
    got = render(src, strlen(src), NULL, &limits);
    assert_non_null(got);
    assert_non_null(strstr(got, "result too large"));
    free(got);
}


/* markup that makes a backtracking regex quadratic: 256 KiB each, linear
 * here (a quadratic pass would not end in any reasonable time) */
static void
test_html_is_linear(void **state)
{
    char         *ctx, *got;
    size_t        i, k, len;
    const char   *src;

    static const char  *const  units[] = {
        "<h1>", "<a href=\\\"href=\\\"x>", "<a<a", "<ul><li>", "<b",
        "<img alt=\\\"", "&#", "</a>", "<li", "\xce\xa3\xcc\x81"
    };

    len = 256 * 1024;
    ctx = malloc(len + 64);
    assert_non_null(ctx);

    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        k = (size_t) sprintf(ctx, "{\"s\":\"");

        while (k + strlen(units[i]) < len) {
            k += (size_t) sprintf(ctx + k, "%s", units[i]);
        }

        sprintf(ctx + k, "\"}");

        src = "{{string.length (string.htmlToMd s)}}"
              "{{string.length (string.htmlToText s)}}"
              "{{string.length (string.titlecase s)}}";

        got = render(src, strlen(src), ctx, NULL);
        assert_non_null(got);
        assert_null(strstr(got, "Error"));
        free(got);
    }

    free(ctx);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_and_or_not),
        cmocka_unit_test(test_comparisons),
        cmocka_unit_test(test_text_of_arguments),
        cmocka_unit_test(test_concat_default_replace),
        cmocka_unit_test(test_substring_pad_find_length),
        cmocka_unit_test(test_case_mapping),
        cmocka_unit_test(test_titlecase),
        cmocka_unit_test(test_titlecase_whitespace),
        cmocka_unit_test(test_slugify),
        cmocka_unit_test(test_url_and_html),
        cmocka_unit_test(test_html_to_text),
        cmocka_unit_test(test_html_to_md),
        cmocka_unit_test(test_request_data),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_html_is_linear),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
