/*
 * Unit tests: components and includes as jPulse renders them
 * (jpulse-template-helpers.md sections 2.1, 2.10, 2.11, 12.1, 12.5, 13;
 * jpulse-view-pipeline.md 4.2, 4.4, 4.5). The strings marked as the
 * reference's are its examples run against jPulse.
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

    /* 12.1.3: the reference's header test file */
    { "zz/inc1.tmpl",
      "<!-- top -->\n"
      "<!--\n * @name            jPulse Framework / x\n"
      " * @file            webapp/view/zz/inc1.tmpl\n-->\n"
      "BODY[{{p}}]\n"
      "/**\n * @name js header\n */\n"
      "MID\n"
      "{{!--\n * @name hb header\n--}}\n"
      "END\n"
      "<!-- * @name inline --> TAIL\n"
      "<!--  *  @name two spaces -->X\n"
      "<!--\n  @name no star\n-->Y\n" },
    { "zz/crlf.tmpl", "<!--\r\n * @name crlf\r\n-->\r\nAFTER\n" },
    { "zz/mid.tmpl", "TOP\n<!--\n * @name m\n-->\nMID<!--  * @name y -->Z" },
    { "zz/open.tmpl", "A<!-- * @name never closed\nB" },
    { "zz/cr.tmpl", "<!-- * @name a -->\rB" },
    { "zz/lines.tmpl", "<!--\n * @name h\n * @file f\n-->\n\n{{#if x}}" },

    { "zz/self.tmpl", "[{{file.include \"zz/self.tmpl\"}}" },
    { "zz/ctx.tmpl",
      "[{{p}}|{{this}}|{{vars.v}}|{{_target}}|{{_args}}|{{q}}]"
      "{{let fromInc=\"yes\"}}" },
    { "zz/lib.tmpl",
      "<!--\n * @name lib\n-->\n"
      "{{#component \"lib.x-y\"}}<{{v}}>{{/component}}\n\n"
      "{{#component \"lib.z\"}}Z{{/component}}\n" },
    { "zz/i18n.tmpl",
      "[{{i18n.view.intro}}|{{i18n.view.nope}}|{{i18n.view.sub.a}}]" },

    /* 12.5: the reference's card files */
    { "zz/cards/a.shtml",
      "<!--\n * @name a\n-->\n"
      "{{#component \"cards.ay\" order=10}} A {{/component}}\n"
      "{{#component \"cards.tie\" order=5}}TIE-A{{/component}}\n"
      "{{#component \"cards.bad_\" order=7}}BAD{{/component}}\n" },
    { "zz/cards/b.shtml",
      "{{#component \"cards.bee\" order=5}}   <i>B {{vars.g}} {{user.id}}</i>"
      "{{/component}}\n"
      "{{#component \"cards.zed\"}}\n  Z\n{{/component}}\n"
      "{{#component \"other.one\" order=1}}ONE{{/component}}\n"
      "{{#component \"cards.x\" size=\"3\"}}X{{/component}}\n"
      "{{#component 'cards.single'}}S{{/component}}\n"
      "{{!-- {{#component \"cards.commented\" order=2}}CM{{/component}} --}}"
      "\n" },
    { "zz/cards/readme.md", "{{#component \"cards.md\"}}MD{{/component}}" },
    { "zz/o/o.shtml",
      "{{#component \"o.zero\" order=0}}Z0{{/component}}"
      "{{#component \"o.one\" order=1}}O1{{/component}}"
      "{{#component \"o.neg\" order=-1}}N{{/component}}"
      "{{#component   \"o.sp\"   order=3  }}SP{{/component}}"
      "{{#component \"o.q\" order=\"2\"}}Q{{/component}}" },
    { "zz/d/deep.shtml",
      "{{#component \"d.card\"}}<{{components.d.icon}}|{{@index}}|{{p}}>"
      "{{/component}}" },
    { "zz/d/icons.tmpl", "{{#component \"d.icon\"}}I{{/component}}" },

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
mem_mtime(void *data, const char *path, int64_t *ms)
{
    const mem_file_t  *f;

    for (f = files; f->path != NULL; f++) {
        if (strcmp(f->path, path) == 0) {
            *ms = 1700000000000LL;
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
    NULL, mem_read, mem_mtime, mem_list, NULL, NULL
};


#define I18N  "{\"view\":{\"intro\":\"Home of {{app.name}}.\"," \
              "\"sub\":{\"a\":\"A\"}}}"
#define CTX   "{\"app\":{\"name\":\"Tides\"},\"items\":[\"p\",\"q\"]}"


static char *
render(const char *src, const char *ctx_json, const char *i18n_json,
    const jp_tpl_limits_t *limits)
{
    int                rc;
    char              *s;
    json_t            *ctx, *i18n;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    ctx = ctx_json ? json_loads(ctx_json, 0, &jerr) : NULL;
    i18n = i18n_json ? json_loads(i18n_json, 0, &jerr) : NULL;

    prog = jp_tpl_compile(src, strlen(src), "test.shtml", i18n, &err);
    json_decref(i18n);

    if (prog == NULL) {
        fail_msg("%s:%u:%u: %s\n  in: %s", err.file, err.line, err.column,
                 err.message, src);
    }

    jp_tpl_buf_init(&out, 0);
    rc = jp_tpl_render(prog, ctx, &mem_host, limits, 0, &out, &err);
    jp_tpl_free(prog);
    json_decref(ctx);

    assert_int_equal(rc, 0);

    s = strdup(out.data ? out.data : "");
    assert_non_null(s);
    jp_tpl_buf_free(&out);

    return s;
}


static void
check_full(const char *src, const char *ctx, const char *i18n,
    const char *want, int whole)
{
    char  *got;

    got = render(src, ctx, i18n, NULL);

    if (whole ? strcmp(got, want) != 0 : strstr(got, want) == NULL) {
        print_error("template: %s\n    want: %s%s\n     got: %s\n", src,
                    whole ? "" : "...", want, got);
        free(got);
        fail();
    }

    free(got);
}


#define check(src, ctx, want)           check_full(src, ctx, NULL, want, 1)
#define check_contains(src, ctx, want)  check_full(src, ctx, NULL, want, 0)

#define NOT_FOUND(n)                                                        \
    "<!-- Error: Component \"" n "\" not found. Did you forget to include " \
    "the component library? -->"

#define ARROW  " \xe2\x86\x92 "


/* 12.1.3 */

static void
test_header_stripping(void **state)
{
    check("{{file.include \"zz/inc1.tmpl\" p=\"P\"}}", NULL,
          "<!-- top -->\nBODY[P]\nMID\nEND\n TAIL\nX\n"
          "<!--\n  @name no star\n-->Y\n");
    check("[{{file.include \"zz/crlf.tmpl\"}}]", NULL, "[AFTER\n]");
    check("{{file.include \"zz/mid.tmpl\"}}", NULL, "TOP\nMIDZ");

    /* no closer: nothing is cut; a lone CR after the closer goes too */
    check("{{file.include \"zz/open.tmpl\"}}", NULL,
          "A<!-- * @name never closed\nB");
    check("{{file.include \"zz/cr.tmpl\"}}", NULL, "B");

    /* the page keeps its own header */
    check("<!--\n * @name page\n-->\nP", NULL, "<!--\n * @name page\n-->\nP");
}


/* an error after a cut header still points into the file as written */
static void
test_header_positions(void **state)
{
    const char        *src;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    src = files[5].src;
    prog = jp_tpl_compile_include(src, strlen(src), "zz/lines.tmpl", NULL,
                                  &err);
    if (prog != NULL) {
        /* the blocks change may render it: then there is no position */
        jp_tpl_free(prog);
        return;
    }

    assert_int_equal(err.line, 6);
    assert_int_equal(err.column, 1);
}


static void
test_strip_is_linear_on_hostile_input(void **state)
{
    size_t             i, n;
    char              *src;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    /* many openers, no closer: one scan, nothing cut */
    n = 1 << 20;
    src = malloc(n);
    assert_non_null(src);

    for (i = 0; i + 16 <= n; i += 16) {
        memcpy(src + i, "<!-- * @name ab ", 16);
    }

    prog = jp_tpl_compile_include(src, i, "big.tmpl", NULL, &err);
    assert_non_null(prog);
    jp_tpl_free(prog);

    /* many headers: all cut */
    for (i = 0; i + 16 <= n; i += 16) {
        memcpy(src + i, "<!-- * @name -->", 16);
    }

    prog = jp_tpl_compile_include(src, i, "big.tmpl", NULL, &err);
    assert_non_null(prog);
    assert_true(jp_tpl_program_size(prog) < 64 * 1024);
    jp_tpl_free(prog);

    free(src);
}


/* 2.1 step 6, 2.10 rule 1 */

static void
test_component_whitespace(void **state)
{
    check("A\n{{#component \"c-one\" size=\"5\"}}\n  <b>{{size}}</b>\n"
          "{{/component}}\n\n\n  {{!-- note --}}\nB{{components.cOne}}C",
          NULL, "A\nB\n  <b>5</b>\nC");
    check("{{#component \"pz.a-b\"}}1{{/component}}   \n\n  "
          "{{#component \"pz.c-d\"}}2{{/component}}\nAFTER", NULL, "AFTER");

    /* JavaScript's \s: NBSP, U+2028, U+3000, BOM; not after other tags */
    check("{{#component \"ab\"}}x{{/component}}\xc2\xa0\xe2\x80\xa8"
          "\xe3\x80\x80\xef\xbb\xbfZ", NULL, "Z");
    check("{{#if true}}x{{/if}}  Z", NULL, "x  Z");
    /* and such a closer pairs with nothing (jPulse's exact "{{/name}}") */
    check("{{#component \"ab\"}}x{{/component }}  Z", NULL,
          "<!-- Error: Unbalanced handlebar \"#component \"ab\"\" removed -->"
          "x<!-- Error: Unbalanced handlebar \"/component \" removed -->  Z");

    /* in an include too, and inside a body */
    check("[{{file.include \"zz/lib.tmpl\"}}]{{components.lib.xY v=1}}",
          NULL, "[]<1>");
    check("{{#component \"ou\"}}{{#component \"in\"}}I{{/component}}\n\n"
          "O{{/component}}{{components.ou}}{{components.in}}", NULL, "OI");
}


/* 13.1 */

static void
test_component_names(void **state)
{
    const char  *bad[] = { "a", "1a", "a_", "-invalid", "a b", "a.", "" };
    char         src[128], want[256];
    size_t       i;

    check("{{#component \"ab\"}}AB{{/component}}{{components.ab}}", NULL,
          "AB");
    check("{{#component \"a.b-c.d_e2\"}}E{{/component}}"
          "{{components.a.bC.d_e2}}", NULL, "E");
    check("{{#component \"logs-svg\"}}L{{/component}}"
          "{{#component \"icons.config-svg\"}}C{{/component}}"
          "{{#component \"icon-2\"}}2{{/component}}"
          "{{#component \"a--b\"}}D{{/component}}"
          "{{#component \"LogsSvg\"}}U{{/component}}"
          "{{components.logsSvg}}{{components.icons.configSvg}}"
          "{{components.icon2}}{{components name=\"a-B\"}}"
          "{{components.LogsSvg}}", NULL, "LC2DU");

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(src, sizeof(src),
                 "{{#component \"%s\"}}x{{/component}}", bad[i]);
        if (bad[i][0] == '\0') {
            snprintf(want, sizeof(want), "component definition requires a "
                     "name as first parameter -->");
        } else {
            snprintf(want, sizeof(want), "Invalid component name \"%s\". "
                     "Must start with a letter, contain only letters/"
                     "numbers/underscores/hyphens/dots, and end with a "
                     "letter or number. -->", bad[i]);
        }
        check_contains(src, NULL, want);
    }

    check_contains("{{#component}}x{{/component}}", NULL,
                   "component definition requires a name as first "
                   "parameter -->");

    /* a bare word is its own text */
    check("{{#component foo-bar}}F{{/component}}{{components.fooBar}}", NULL,
          "F");
}


/* 13.1 effects, 13.5, pipeline 4.5 */

static void
test_component_registry(void **state)
{
    check("{{#component \"dup\"}}one{{/component}}"
          "{{#component \"dup\"}}two{{/component}}{{components.dup}}", NULL,
          "two");
    check("{{#component \"ns.a\"}}LA{{/component}}"
          "{{#component \"ns.b\"}}LB{{/component}}"
          "{{#each components.ns}}[{{@key}}={{this}}]{{/each}}", NULL,
          "[a=LA][b=LB]");
    check("[{{components.q.r}}]{{#component \"q.r\"}}Q{{/component}}"
          "[{{components.q.r}}]", NULL,
          "[" NOT_FOUND("q.r") "][Q]");
    check("{{#if false}}{{#component \"br\"}}B{{/component}}{{/if}}"
          "{{components.br}}", NULL, NOT_FOUND("br"));

    /* a namespace alone is not a component */
    check("{{#component \"lib.one\"}}1{{/component}}{{components.lib}}",
          NULL, NOT_FOUND("lib"));

    /* definitions in an include stay for the caller */
    check("{{file.include \"zz/lib.tmpl\"}}{{components.lib.z}}", NULL, "Z");
}


/* 13.2 */

static void
test_component_calls(void **state)
{
    check("{{#component \"dyn-one\"}}D{{/component}}"
          "{{components name=\"dyn-one\"}}|{{components name=\"dynOne\"}}",
          NULL, NOT_FOUND("dyn-one") "|D");
    check("{{components}}", NULL,
          "<!-- Error: Invalid component call: \"components\". Use "
          "{{components.name}} or {{components name=\"...\"}} -->");
    check("{{components name=\"\"}}", NULL,
          "<!-- Error: Invalid component call: \"components\". Use "
          "{{components.name}} or {{components name=\"...\"}} -->");

    /* the caller's scope: this, @index, vars */
    check("{{let g=\"G\"}}{{#component \"show\"}}<{{this}}|{{@index}}|"
          "{{vars.g}}>{{/component}}"
          "{{#each items}}{{components.show}}{{/each}}", CTX,
          "<p|0|G><q|1|G>");

    /* defaults, overridden by the call; the call's _keys stay out */
    check("{{#component \"pp\" a=\"1\" b=\"2\"}}[{{a}}{{b}}{{name}}]"
          "{{/component}}{{components.pp b=\"3\"}}"
          "{{components name=\"pp\" a=\"4\"}}", NULL, "[13][42pp]");

    /* circular */
    check("{{#component \"cy.a\"}}a{{components.cy.b}}{{/component}}"
          "{{#component \"cy.b\"}}b{{components.cy.a}}{{/component}}"
          "{{components.cy.a}}", NULL,
          "ab<!-- Error: Circular component reference detected: cy.a" ARROW
          "cy.b" ARROW "cy.a -->");
    check("{{#component \"self\"}}s{{components.self}}{{/component}}"
          "{{components.self}}", NULL,
          "s<!-- Error: Circular component reference detected: self" ARROW
          "self -->");

    /* the same component twice in a row is not a cycle */
    check("{{#component \"tw\"}}t{{/component}}"
          "{{components.tw}}{{components.tw}}", NULL, "tt");
}


/* 13.3 */

static void
test_component_inline(void **state)
{
    const char  *def = "{{#component \"wrap\"}}<p>\n  {{body}}  \n</p>"
                       "{{/component}}";
    char         src[256];

    snprintf(src, sizeof(src), "%s[{{components.wrap body=\"z\" "
             "_inline=true}}]", def);
    check(src, NULL, "[<p> z </p>]");

    snprintf(src, sizeof(src), "%s[{{components.wrap body=\"z\" "
             "_inline=\"true\"}}]", def);
    check(src, NULL, "[<p> z </p>]");

    snprintf(src, sizeof(src), "%s[{{components.wrap body=\"z\" "
             "_inline=1}}]", def);
    check(src, NULL, "[<p>\n  z  \n</p>]");

    snprintf(src, sizeof(src), "%s[{{components.wrap body=\"z\" "
             "_inline=\"yes\"}}]", def);
    check(src, NULL, "[<p>\n  z  \n</p>]");

    /* no trim; JavaScript's \s */
    check("{{#component \"cd\"}}\n  C   D\n\n{{/component}}"
          "[{{components.cd _inline=true}}]", NULL, "[ C D ]");
    check("{{#component \"nb\"}}a\xc2\xa0\t\xe2\x80\x83" "b{{/component}}"
          "[{{components.nb _inline=true}}]", NULL, "[a b]");
    check("{{#component \"sv\"}}<svg width=\"24\">\n  <rect x=\"0\"/>\n"
          "</svg>{{/component}}{{components.sv _inline=true}}", NULL,
          "<svg width=\"24\"> <rect x=\"0\"/> </svg>");

    /* a definition's _inline is a parameter, not a framework one */
    check("{{#component \"di\" _inline=true}}\nx\n{{/component}}"
          "[{{components.di}}]", NULL, "[\nx\n]");
}


/* 2.11 */

static void
test_depth(void **state)
{
    char             *got, *p;
    unsigned          n;
    jp_tpl_limits_t   limits;

    got = render("{{file.include \"zz/self.tmpl\"}}", NULL, NULL, NULL);

    for (n = 0, p = got; *p == '['; p++) {
        n++;
    }

    assert_int_equal(n, 10);
    assert_string_equal(p, "<!-- Error: Handlebar \"file.include "
                        "\"zz/self.tmpl\"\": Maximum include depth (10) "
                        "exceeded -->");
    free(got);

    memset(&limits, 0, sizeof(limits));
    limits.max_depth = 2;
    got = render("{{#component \"c0\"}}<0>{{components.c1}}{{/component}}"
                 "{{#component \"c1\"}}<1>{{components.c2}}{{/component}}"
                 "{{#component \"c2\"}}<2>{{components.c3}}{{/component}}"
                 "{{#component \"c3\"}}<3>{{/component}}"
                 "{{components.c0}}", NULL, NULL, &limits);
    assert_string_equal(got, "<0><1><!-- Error: Component \"c2\": maximum "
                        "include depth exceeded -->");
    free(got);
}


/* 12.1, pipeline 4.4 */

static void
test_include_errors(void **state)
{
    check("{{file.include \"x\"}}", NULL,
          "<!-- Error: Handlebar \"file.include \"x\"\": Include file not "
          "found: x (Module not found: view/x (checked site, plugins, and "
          "framework paths)) -->");
    check_contains("{{file.include}}", NULL,
                   "file.include requires a file path as second argument");
    check_contains("{{file.include \"\"}}", NULL,
                   "file.include requires a file path as second argument");
    check_contains("{{file.include \"../x\"}}", NULL,
                   "Prohibited path in include: ../x. Use relative paths "
                   "from view root only.");
    check_contains("{{file.include \"/etc/passwd\"}}", NULL,
                   "Prohibited path in include: /etc/passwd.");
    check_contains("{{file.include \"a\\\\..\\\\x\"}}", NULL,
                   "Prohibited path in include: ");
    check_contains("{{file.include 5}}", NULL,
                   "includePath.includes is not a function");

    /* the caller's scope and k=v; a let inside leaks out */
    check("{{let v=\"V\"}}{{#each items}}{{file.include \"zz/ctx.tmpl\" "
          "p=\"P\" q=(this) \"extra\"}}{{/each}}[{{vars.fromInc}}]",
          "{\"items\":[\"it\"]}",
          "[P|it|V|{{_target}}|{{_args}}|it][yes]");
}


/* pipeline 4.2: the page only gets the i18n pre-pass */

static void
test_i18n_in_includes(void **state)
{
    check_full("{{i18n.view.intro}}{{file.include \"zz/i18n.tmpl\"}}", CTX,
               I18N, "Home of Tides.[Home of {{app.name}}.||A]", 1);
}


/* 12.5 */

static void
test_include_components(void **state)
{
    check("{{let g=\"GG\"}}{{file.includeComponents \"zz/cards/*.shtml\" "
          "component=\"cards.*\"}}"
          "{{#each components.cards}}[{{@key}}:{{this}}]{{/each}}", NULL,
          "[commented:CM][tie:TIE-A][bee:<i>B GG </i>][bad_:BAD][ay:A]"
          "[zed:Z]");
    check("{{file.includeComponents \"zz/cards/*.shtml\" "
          "component=\"cards.*\" sortBy=\"filesystem\"}}"
          "{{#each components.cards}}[{{@key}}]{{/each}}", NULL,
          "[ay][tie][bad_][bee][zed][commented]");
    check("{{file.includeComponents \"zz/cards/*.shtml\" "
          "component=\"cards.ay, other.one\" sortBy=\"filename\"}}"
          "{{#each components.cards}}[{{@key}}]{{/each}}"
          "{{#each components.other}}[{{@key}}]{{/each}}", NULL,
          "[ay][one]");
    check("{{file.includeComponents \"zz/cards/*.shtml\"}}"
          "{{#each components}}({{@key}}){{/each}}", NULL,
          "(other)(cards)");

    /* the hosts' contexts hold "components": {} */
    check("{{file.includeComponents \"zz/cards/*.shtml\"}}"
          "{{#each components}}({{@key}}){{/each}}", "{\"components\":{}}",
          "(other)(cards)");
    check("{{file.includeComponents \"zz/o/*.shtml\"}}"
          "{{#each components.o}}[{{@key}}:{{this}}]{{/each}}", NULL,
          "[one:O1][sp:SP][zero:Z0]");

    /* registered: callable, printed as expanded (not a second time) */
    check("{{file.includeComponents \"zz/cards/*.shtml\" "
          "component=\"cards.tie\"}}[{{components.cards.tie}}]"
          "[{{components.cards.ay}}]", NULL,
          "[TIE-A][" NOT_FOUND("cards.ay") "]");

    /* prints nothing, whatever happens */
    check("[{{file.includeComponents \"zz/none/*.x\"}}]"
          "[{{file.includeComponents \"../x/*\"}}]"
          "[{{file.includeComponents \"/x/*\"}}]"
          "[{{file.includeComponents \"zz/**\"}}]"
          "[{{file.includeComponents}}]"
          "[{{file.includeComponents \"zz/cards/*.shtml\" component=5}}]"
          "{{#each components}}x{{/each}}", NULL, "[][][][][][]");
    check_contains("{{file.includeComponents 5}}", NULL,
                   "globPattern.includes is not a function");

    /* a body sees the base context only, and earlier components */
    check("{{file.include \"zz/d/icons.tmpl\"}}{{#each items}}"
          "{{file.includeComponents \"zz/d/deep.shtml\" p=\"P\"}}{{/each}}"
          "{{components.d.card}}", CTX,
          "<I||>");
}


/* a plan re-renders file.includeComponents: what follows sees the same
 * registry as in a full render */
static void
test_include_components_in_plans(void **state)
{
    static const char  src[] =
        "{{file.includeComponents \"zz/cards/*.shtml\" "
        "component=\"cards.*\"}}"
        "{{#each components.cards}}[{{@key}}]{{/each}}<{{url.param.q}}>"
        "{{components.cards.tie}}";
    size_t             i;
    json_t            *ctx;
    unsigned           uses;
    jp_tpl_buf_t       out, full;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;
    const char        *q[] = { "a", "<b>", "" };

    prog = jp_tpl_compile(src, sizeof(src) - 1, "p.shtml", NULL, &err);
    assert_non_null(prog);

    plan = NULL;

    for (i = 0; i < 3; i++) {
        ctx = json_pack("{s{s{ss}}}", "url", "param", "q", q[i]);
        assert_non_null(ctx);

        jp_tpl_buf_init(&full, 0);
        assert_int_equal(jp_tpl_render(prog, ctx, &mem_host, NULL,
                                       JP_TPL_URL_TOP_ONLY, &full, &err), 0);

        jp_tpl_buf_init(&out, 0);

        if (i == 0) {
            assert_int_equal(jp_tpl_render_record(prog, ctx, &mem_host,
                                 NULL, JP_TPL_URL_TOP_ONLY, &out, &err,
                                 &uses, &plan), 0);
            assert_non_null(plan);

        } else {
            assert_int_equal(jp_tpl_render_plan(plan, ctx, &mem_host, NULL,
                                 JP_TPL_URL_TOP_ONLY, &out, &err, &uses),
                             0);
        }

        assert_string_equal(out.data, full.data);
        assert_non_null(strstr(out.data, "[commented][tie][bee]"));

        jp_tpl_buf_free(&out);
        jp_tpl_buf_free(&full);
        json_decref(ctx);
    }

    jp_tpl_plan_free(plan);
    jp_tpl_free(prog);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_header_stripping),
        cmocka_unit_test(test_header_positions),
        cmocka_unit_test(test_strip_is_linear_on_hostile_input),
        cmocka_unit_test(test_component_whitespace),
        cmocka_unit_test(test_component_names),
        cmocka_unit_test(test_component_registry),
        cmocka_unit_test(test_component_calls),
        cmocka_unit_test(test_component_inline),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_include_errors),
        cmocka_unit_test(test_i18n_in_includes),
        cmocka_unit_test(test_include_components),
        cmocka_unit_test(test_include_components_in_plans),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
