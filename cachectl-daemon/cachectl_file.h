/*
 * Reading a whole file, for the config, translations and templates
 * cachectl handles (the view tree goes through libjpulse's disk host).
 */

#ifndef CACHECTL_FILE_H
#define CACHECTL_FILE_H

#include <stddef.h>


/*
 * The file's bytes, NUL-terminated, malloc()ed; NULL with errno set when
 * it cannot be read or is larger than JP_TPL_SOURCE_MAX (EFBIG). Works on
 * pipes too: it reads until the end instead of trusting the size.
 */
char *cachectl_read_file(const char *path, size_t *len);


#endif /* CACHECTL_FILE_H */
