/*
 * Reading a whole file (see cachectl_file.h).
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "jp_tpl.h"
#include "cachectl_file.h"


char *
cachectl_read_file(const char *path, size_t *len)
{
    int      err;
    FILE    *f;
    char    *buf, *p;
    size_t   n, cap;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    cap = 65536;
    n = 0;
    err = 0;
    buf = malloc(cap + 1);

    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);

        if (n < cap) {
            break;
        }

        if (cap > JP_TPL_SOURCE_MAX) {
            err = EFBIG;
            break;
        }

        cap *= 2;
        p = realloc(buf, cap + 1);
        if (p == NULL) {
            err = ENOMEM;
            break;
        }

        buf = p;
    }

    if (buf == NULL) {
        err = ENOMEM;

    } else if (err == 0 && ferror(f)) {
        err = EIO;
    }

    fclose(f);

    if (err || n > JP_TPL_SOURCE_MAX) {
        free(buf);
        errno = err ? err : EFBIG;
        return NULL;
    }

    buf[n] = '\0';
    *len = n;

    return buf;
}
