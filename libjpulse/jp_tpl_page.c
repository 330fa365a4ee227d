/*
 * Facts about a page that jPulse's view controller reads from its raw
 * text, before the i18n pre-pass and the expansion.
 */

#define _GNU_SOURCE     /* memmem */

#include <string.h>

#include "jp_tpl_int.h"


#define JP_TPL_NO_SIDEBARS  "data-jp-disable-sidebars=\"true\""


int
jp_tpl_page_disables_sidebars(const char *src, size_t len)
{
    const char  *body, *gt, *end;

    end = src + len;

    body = memmem(src, len, "<body", 5);
    if (body == NULL) {
        return 0;
    }

    gt = memchr(body, '>', end - body);
    if (gt == NULL) {
        return 0;
    }

    return memmem(body, gt - body, JP_TPL_NO_SIDEBARS,
                  sizeof(JP_TPL_NO_SIDEBARS) - 1) != NULL;
}


int
jp_tpl_program_disables_sidebars(const jp_tpl_program_t *prog)
{
    return prog != NULL && prog->no_sidebars;
}
