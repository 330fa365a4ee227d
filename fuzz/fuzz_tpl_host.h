/*
 * The in-memory host of the template fuzz targets: "self.tmpl" is the
 * fuzzed input itself (so includes and component calls recurse into
 * fuzzed code), other paths come from the target's fuzz_files table,
 * "header.tmpl" has a stamp, and a listing gives "a.tmpl" and
 * "self.tmpl". The target sets fuzz_data and fuzz_size for each input.
 */

#ifndef FUZZ_TPL_HOST_H
#define FUZZ_TPL_HOST_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl.h"


typedef struct {
    const char  *path;
    const char  *text;
} fuzz_file_t;


static const uint8_t      *fuzz_data;
static size_t              fuzz_size;
static const fuzz_file_t  *fuzz_files;      /* ends with { NULL, NULL } */


static int
fuzz_read(void *data, const char *path, char **src, size_t *len)
{
    const fuzz_file_t  *f;

    if (strcmp(path, "self.tmpl") == 0) {
        *src = malloc(fuzz_size + 1);
        if (*src == NULL) {
            return -1;
        }
        memcpy(*src, fuzz_data, fuzz_size);
        *len = fuzz_size;
        return 0;
    }

    for (f = fuzz_files; f->path != NULL; f++) {
        if (strcmp(path, f->path) == 0) {
            *len = strlen(f->text);
            *src = strdup(f->text);
            return *src ? 0 : -1;
        }
    }

    return -1;
}


static int
fuzz_mtime(void *data, const char *path, int64_t *ms)
{
    *ms = 1000;
    return strcmp(path, "header.tmpl") == 0 ? 0 : -1;
}


static int
fuzz_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    if (cb(arg, "a.tmpl", 6) != 0 || cb(arg, "self.tmpl", 9) != 0) {
        return -1;
    }

    return 0;
}


#endif /* FUZZ_TPL_HOST_H */
