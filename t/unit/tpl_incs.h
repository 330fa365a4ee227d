/*
 * A template host for unit tests whose includes come from a table:
 * { path, source, NULL } entries ending with { NULL }, given as the
 * host's data. Each include is compiled once, on first use, and kept
 * until tpl_incs_flush().
 */

#ifndef TPL_INCS_H
#define TPL_INCS_H

#include <stdio.h>
#include <string.h>

#include "jp_tpl.h"


typedef struct {
    const char        *path;
    const char        *src;
    jp_tpl_program_t  *prog;
} inc_t;


static const jp_tpl_program_t *
tpl_incs_program(void *data, const char *path, json_t *i18n,
    jp_tpl_error_t *err)
{
    inc_t  *i;

    for (i = data; i->path != NULL; i++) {
        if (strcmp(i->path, path) == 0) {
            if (i->prog == NULL) {
                i->prog = jp_tpl_compile_include(i->src, strlen(i->src),
                                                 path, i18n, err);
            }

            return i->prog;
        }
    }

    snprintf(err->message, sizeof(err->message), "file not found");
    return NULL;
}


/* the host's cache drops everything: plans hold their own references */
static inline void
tpl_incs_flush(inc_t *incs)
{
    inc_t  *i;

    for (i = incs; i->path != NULL; i++) {
        jp_tpl_free(i->prog);
        i->prog = NULL;
    }
}


#endif /* TPL_INCS_H */
