/*
 * libFuzzer: date.* over hostile inputs. The first byte picks the mode:
 * even: the rest is a date string and a format, rendered through every
 * date helper (V8-like parsing, token replacement, zones); odd: the rest
 * is a TZif file (jp_tz_offset_data), asked at a few instants.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl.h"
#include "jp_tz.h"


static jp_tpl_program_t  *fuzz_prog;


static int64_t
fuzz_now(void *data)
{
    return 1737212000123LL;
}


int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static const char   tpl[] =
        "{{date.parse d}}|{{date.format d format=f}}|"
        "{{date.format d format=f timezone=z}}|"
        "{{date.format d timezone=\"browser\"}}|"
        "{{date.fromNow d format=f}}|{{date.add d value=f unit=z}}|"
        "{{date.diff d (date.now) unit=z}}|{{date.diff d 0 unit=f}}";
    jp_tpl_error_t      err;

    fuzz_prog = jp_tpl_compile(tpl, sizeof(tpl) - 1, "fuzz.shtml", NULL,
                               &err);

    return fuzz_prog ? 0 : -1;
}


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          i, cut;
    json_t         *ctx;
    int32_t         off;
    jp_tpl_buf_t    out;
    jp_tpl_host_t   host;
    jp_tpl_error_t  err;

    static const int64_t  at[] = {
        -8640000000000LL, -1, 0, 1737212000, 4118097600LL, 8640000000000LL
    };

    if (size == 0) {
        return 0;
    }

    if (data[0] & 1) {
        for (i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
            (void) jp_tz_offset_data(data + 1, size - 1, at[i], &off);
        }

        return 0;
    }

    /* d | f | z, split at the first two NUL bytes */
    data++;
    size--;

    for (cut = 0; cut < size && data[cut] != 0; cut++) {
        /* void */
    }

    ctx = json_pack("{s:s%, s:s%, s:s%, s:{s:s%}}",
                    "d", (const char *) data, cut,
                    "f", cut + 1 < size ? (const char *) data + cut + 1 : "",
                    cut + 1 < size ? size - cut - 1 : 0,
                    "z", (const char *) data, cut < 64 ? cut : 64,
                    "user", "timezone", (const char *) data,
                    cut < 80 ? cut : 80);

    if (ctx == NULL) {
        /* not UTF-8: jansson refuses it, a context never holds it */
        return 0;
    }

    memset(&host, 0, sizeof(host));
    host.now = fuzz_now;

    jp_tpl_buf_init(&out, 1024 * 1024);
    (void) jp_tpl_render(fuzz_prog, ctx, &host, NULL, 0, &out, &err);
    jp_tpl_buf_free(&out);
    json_decref(ctx);

    return 0;
}
