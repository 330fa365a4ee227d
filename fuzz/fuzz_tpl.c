/*
 * libFuzzer target: the template compiler and renderer on arbitrary input
 * (cachectl compiles whatever lands in a view directory, and i18n strings
 * are lexed as templates too).
 *
 * The input is compiled, then rendered twice (compatible and strict) over
 * a fixed context, with an in-memory host in which "self.tmpl" is the input
 * itself, so includes and component calls recurse into fuzzed code. Output
 * and iteration limits are small so the run stays fast; hitting one is a
 * clean -1, never a crash. When the corpus directory is empty, it is
 * seeded with jPulse-shaped pages first.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl.h"
#include "fuzz_seed.h"
#include "fuzz_tpl_host.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static json_t         *fuzz_ctx;
static json_t         *fuzz_i18n;


static const char  *const fuzz_seeds[] = {
    "<html {{appConfig.system.htmlAttrs}}>{{file.include \"header.tmpl\" "
    "title=i18n.view.title}}{{!-- c --}}{{ vue }}{{#if user.isAdmin}}"
    "a{{else}}b{{/if}}</html>",

    "{{#each items}}{{@index}}{{@first}}{{@last}}{{this.name}}{{/each}}"
    "{{#each obj}}{{@key}}={{this}}{{/each}}",

    "{{#if (and siteConfig.broadcast.enable (or (eq n 0) (not x) "
    "(lt (math.subtract (date.now) (date.parse \"2026-01-01\")) "
    "(math.multiply 4 3600000))))}}msg{{/if}}",

    "{{#component \"ns.my-card\" size=3 _inline=true}} <c {{size}}> "
    "{{components.ns.myCard}}{{/component}}{{components name=(this)}}"
    "{{components.ns.myCard size=(math.add size 1)}}",

    "{{let a=1 b.c=\"x\"}}{{#let a=2}}{{vars.a}}{{/let}}{{#with user}}"
    "{{firstName}}{{/with}}{{i18n.view.hello}}{{file.include \"self.tmpl\"}}",

    "{{string.concat (string.default a \"d\") (string.substring \"abc\" 1)"
    " (string.replace \"a-b\" \"-\" \"+\") (array.join (array.sort items "
    "sortBy=\"name\") \",\")}}{{{url.param.q}}}{{json.parse \"[1,2]\"}}"
    "{{#each file.list \"components/*.tmpl\"}}{{file.include this}}"
    "{{/each}}{{date.format 0 format=\"%DATE% %TIME%\"}}",

    "A{{#if true}}B{{#each items}}C{{/if}}D{{/each}}E{{/unless}}{{#let x=1}}"
    "F{{#foo a}}x{{/foo}}{{else}}{{#if}}U{{/if}}{{#with 5}}W{{/with}}",

    "{{file.includeComponents \"components/*.tmpl\" component=\"ns.*\" "
    "sortBy=\"name\"}}{{#each components.ns}}{{@key}}:{{this}}{{/each}}"
    "{{#component \"ns.b\" order=1}}B{{/component}}  \n",

    "{{string.htmlToText \"<p>a<br>b</p><ul><li>x</li></ul>&amp;\"}}"
    "{{string.htmlToMd \"<h1>T</h1><b>b</b><i>i</i><a href=\\\"u\\\">l</a>"
    "<img alt=\\\"x\\\">\"}}{{string.titlecase \"the lord of the rings\"}}"
    "{{string.padLeft \"7\" 3}}{{string.startsWith \"abc\"}}",

    "{{date.format \"2025-01-18T14:53:20.123Z\" format=\"%ISO% %DATETIME%\" "
    "timezone=\"America/New_York\"}}{{date.fromNow 0 format=\"long 3\"}}"
    "{{date.add 0 value=-1 unit=\"months\"}}{{date.diff 0 (date.now) "
    "unit=\"days\"}}{{date.format timezone=\"browser\"}}",

    "{{math.add \"x\" 10}}{{math.round 2.5 2}}{{math.mod 7}}"
    "{{array.at items -1}}{{array.concat items 3 \"s\"}}"
    "{{array.sort items sortBy=\"a.b\" sortAs=\"number\"}}"
    "{{json.parse \"{bad\"}}{{#with (json.parse \"[1]\")}}{{this}}{{/with}}",

    "{{string.htmlToMd \"<h1>T</h1><a href=\\\"u\\\">l</a><ul><li>x</li>"
    "</ul>\" (string.htmlToText \"<p>a&#65;&amp;</p>\")}}"
    "{{string.titlecase (string.slugify \"\xc3\x9c a.b\") "
    "(string.uppercase \"stra\xc3\x9f" "e\"))}}{{string.padLeft "
    "(string.urlDecode \"%C3%A9\") 3 \"0\"}}{{gt items \"1\"}}",
};


static const fuzz_file_t  fuzz_tpl_files[] = {
    { "header.tmpl", "<!-- @name header -->\n<h1>{{title}}</h1>" },
    { "components/a.tmpl",
      "{{#component \"ns.a\"}}A{{file.include \"self.tmpl\"}}"
      "{{/component}}" },
    { NULL, NULL }
};


static int64_t
fuzz_now(void *data)
{
    return 1700000000000LL;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_seed_corpora(*argc, *argv, fuzz_seeds,
                      sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]), 0);

    fuzz_ctx = json_loads(
        "{\"user\":{\"firstName\":\"Ann\",\"isAdmin\":true,"
        "\"roles\":[\"a\",\"b\"]},\"items\":[{\"name\":\"y\"},"
        "{\"name\":\"x\"}],\"obj\":{\"k\":1,\"l\":[]},\"n\":0,"
        "\"url\":{\"param\":{\"q\":\"<x>\"}},\"appConfig\":{\"system\":"
        "{\"htmlAttrs\":\"lang=\\\"en\\\"\"}},\"siteConfig\":{\"broadcast\":"
        "{\"enable\":true}},\"vars\":{\"v\":1}}", 0, NULL);

    fuzz_files = fuzz_tpl_files;

    fuzz_i18n = json_loads(
        "{\"view\":{\"title\":\"T\",\"hello\":\"Hi {{user.firstName}}"
        "{{#if n}}!{{/if}}\",\"self\":\"{{i18n.view.self}}\"}}", 0, NULL);

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned           flags;
    jp_tpl_buf_t       out;
    jp_tpl_host_t      host;
    jp_tpl_error_t     err;
    jp_tpl_limits_t    limits;
    jp_tpl_program_t  *prog;

    fuzz_data = data;
    fuzz_size = size;

    prog = jp_tpl_compile((const char *) data, size, "fuzz.shtml",
                          fuzz_i18n, &err);
    if (prog == NULL) {
        if (err.line == 0 || err.message[0] == '\0') {
            abort();
        }
        return 0;
    }

    memset(&host, 0, sizeof(host));
    host.read = fuzz_read;
    host.mtime = fuzz_mtime;
    host.list = fuzz_list;
    host.now = fuzz_now;

    memset(&limits, 0, sizeof(limits));
    limits.max_output = 1 << 20;
    limits.max_iterations = 2000;

    for (flags = 0; flags <= JP_TPL_STRICT; flags += JP_TPL_STRICT) {
        jp_tpl_buf_init(&out, 0);

        if (jp_tpl_render(prog, fuzz_ctx, &host, &limits, flags, &out, &err)
            == 0 && out.len > limits.max_output)
        {
            abort();
        }

        jp_tpl_buf_free(&out);
    }

    jp_tpl_free(prog);

    return 0;
}
