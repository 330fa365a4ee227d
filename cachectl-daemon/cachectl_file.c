/*
 * Reading a whole file (see cachectl_file.h).
 */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jp_tpl.h"
#include "cachectl_file.h"


static char *
cachectl_read_stream(FILE *f, size_t *len)
{
    int      err;
    char    *buf, *p;
    size_t   n, cap;

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


char *
cachectl_read_file(const char *path, size_t *len)
{
    FILE  *f;

    f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }

    return cachectl_read_stream(f, len);
}


char *
cachectl_read_file_in(const char *path, size_t *len)
{
    int           fd;
    char          dir[PATH_MAX], rdir[PATH_MAX], real[PATH_MAX], proc[64];
    char         *slash;
    FILE         *f;
    size_t        dlen;
    ssize_t       n;
    struct stat   st;

    if (snprintf(dir, sizeof(dir), "%s", path) >= (int) sizeof(dir)) {
        errno = ENAMETOOLONG;
        return NULL;
    }

    slash = strrchr(dir, '/');

    if (slash == NULL) {
        dir[0] = '.';
        dir[1] = '\0';

    } else {
        slash[slash == dir] = '\0';
    }

    if (realpath(dir, rdir) == NULL) {
        return NULL;
    }

    /* a FIFO named like a translation must not block the loop */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd == -1) {
        return NULL;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }

    /* where the descriptor really points, not what the name said */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);

    n = readlink(proc, real, sizeof(real) - 1);
    if (n <= 0) {
        close(fd);
        errno = EIO;
        return NULL;
    }

    real[n] = '\0';
    dlen = strcmp(rdir, "/") == 0 ? 0 : strlen(rdir);

    if (strncmp(real, rdir, dlen) != 0 || real[dlen] != '/') {
        close(fd);
        errno = EXDEV;
        return NULL;
    }

    f = fdopen(fd, "rb");
    if (f == NULL) {
        close(fd);
        return NULL;
    }

    return cachectl_read_stream(f, len);
}


const char *
cachectl_file_error(int err)
{
    return err == EXDEV ? "a link out of its directory, not read"
           : err == EINVAL ? "not a regular file"
           : strerror(err);
}


const char *
cachectl_json_error_kind(const json_error_t *jerr)
{
    switch (json_error_code(jerr)) {

    case json_error_out_of_memory:
        return "out of memory";

    case json_error_stack_overflow:
        return "nested too deep";

    case json_error_invalid_utf8:
        return "invalid UTF-8";

    case json_error_premature_end_of_input:
        return "premature end of input";

    case json_error_end_of_input_expected:
        return "text after the end";

    case json_error_null_character:
    case json_error_null_byte_in_key:
        return "a NUL character";

    case json_error_duplicate_key:
        return "a duplicate key";

    case json_error_numeric_overflow:
        return "a number out of range";

    default:
        return "invalid JSON";
    }
}
