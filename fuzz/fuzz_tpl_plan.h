/*
 * The body of the plan fuzz targets (fuzz_tpl_plan.c for anonymous pages,
 * fuzz_tpl_plan_user.c for signed-in users' pages): the input is compiled
 * and recorded over one request's context; the plan is then rendered
 * over another request's and compared byte for byte with a full render
 * over that context. A difference is a page that served one request's
 * data to another, or lost some: abort. A replay that says it diverged
 * (JP_TPL_PLAN_DIVERGED) is rendered in full by its host, and so is not
 * compared.
 *
 * The includer defines FUZZ_PLAN_FLAGS (the render flags),
 * FUZZ_PLAN_FILES (its own files), FUZZ_PLAN_USER0 and FUZZ_PLAN_USER1
 * (the user objects of the two requests, JSON).
 */

#ifndef FUZZ_TPL_PLAN_H
#define FUZZ_TPL_PLAN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl.h"
#include "fuzz_tpl_host.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);


static int64_t         fuzz_clock;
static json_t         *fuzz_ctx[2];
static json_t         *fuzz_i18n;


static const fuzz_file_t  fuzz_plan_files[] = {
    { "header.tmpl", "<h1>{{title}}</h1><p>{{url.pathname}}</p>" },
    { "static.tmpl", "<nav>{{app.site.name}}{{i18n.view.title}}</nav>" },
    FUZZ_PLAN_FILES
    { "components/a.tmpl",
      "{{#component \"ns.a\"}}A{{url.param.q}}{{/component}}" },
    { NULL, NULL }
};


static int64_t
fuzz_now(void *data)
{
    return fuzz_clock;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char  *ctx[2] = {
        "{\"app\":{\"site\":{\"name\":\"S\"}},\"user\":" FUZZ_PLAN_USER0 ","
        "\"items\":[{\"name\":\"y\"},{\"name\":\"x\"}],\"n\":0,"
        "\"url\":{\"pathname\":\"/a/\",\"search\":\"?q=a\",\"param\":"
        "{\"q\":\"a\",\"n\":\"1\"}},\"appConfig\":{\"system\":"
        "{\"htmlAttrs\":\"lang=\\\"en\\\"\"}},\"vars\":{},"
        "\"components\":{}}",

        "{\"app\":{\"site\":{\"name\":\"S\"}},\"user\":" FUZZ_PLAN_USER1 ","
        "\"items\":[{\"name\":\"y\"},{\"name\":\"x\"}],\"n\":0,"
        "\"url\":{\"pathname\":\"/b/x\",\"search\":\"?q=<b>&m=2\",\"param\":"
        "{\"q\":\"<b>\",\"m\":\"2\",\"items\":\"z\"}},\"appConfig\":"
        "{\"system\":{\"htmlAttrs\":\"lang=\\\"en\\\"\"}},\"vars\":{},"
        "\"components\":{}}"
    };

    fuzz_files = fuzz_plan_files;

    fuzz_ctx[0] = json_loads(ctx[0], 0, NULL);
    fuzz_ctx[1] = json_loads(ctx[1], 0, NULL);

    fuzz_i18n = json_loads(
        "{\"view\":{\"title\":\"T\",\"q\":\"Q {{url.param.q}}\"}}", 0, NULL);

    if (fuzz_ctx[0] == NULL || fuzz_ctx[1] == NULL || fuzz_i18n == NULL) {
        abort();
    }

    return 0;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int                rc_plan, rc_full;
    unsigned           uses;
    jp_tpl_buf_t       out, planned, full;
    jp_tpl_host_t      host;
    jp_tpl_plan_t     *plan;
    jp_tpl_error_t     err;
    jp_tpl_limits_t    limits;
    jp_tpl_program_t  *prog;

    fuzz_data = data;
    fuzz_size = size;

    prog = jp_tpl_compile((const char *) data, size, "fuzz.shtml",
                          fuzz_i18n, &err);
    if (prog == NULL) {
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

    plan = NULL;
    fuzz_clock = 1700000000000LL;

    jp_tpl_buf_init(&out, 0);

    if (jp_tpl_render_record(prog, fuzz_ctx[0], &host, &limits,
                             FUZZ_PLAN_FLAGS, &out, &err, &uses, &plan)
        != 0 || plan == NULL)
    {
        jp_tpl_buf_free(&out);
        jp_tpl_plan_free(plan);
        jp_tpl_free(prog);
        return 0;
    }

    jp_tpl_buf_free(&out);

    /* another request, a day later */
    fuzz_clock += 86400000LL;

    jp_tpl_buf_init(&planned, 0);
    jp_tpl_buf_init(&full, 0);

    rc_plan = jp_tpl_render_plan(plan, fuzz_ctx[1], &host, &limits,
                                 FUZZ_PLAN_FLAGS,
                                 &planned, &err, &uses);
    rc_full = jp_tpl_render_uses(prog, fuzz_ctx[1], &host, &limits,
                                 FUZZ_PLAN_FLAGS,
                                 &full, &err, &uses);

    /* a request that goes where the recording did not is rendered in
     * full by the host: nothing to compare */
    if (rc_full == 0 && rc_plan != JP_TPL_PLAN_DIVERGED
        && (rc_plan != 0 || planned.len != full.len
            || memcmp(planned.data, full.data, full.len) != 0))
    {
        fprintf(stderr, "plan and full render differ:\n--- plan (%d)\n"
                "%.*s\n--- full\n%.*s\n", rc_plan, (int) planned.len,
                planned.data ? planned.data : "", (int) full.len,
                full.data ? full.data : "");
        abort();
    }

    jp_tpl_buf_free(&planned);
    jp_tpl_buf_free(&full);
    jp_tpl_plan_free(plan);
    jp_tpl_free(prog);

    return 0;
}


#endif /* FUZZ_TPL_PLAN_H */
