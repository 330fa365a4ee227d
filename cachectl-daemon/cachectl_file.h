/*
 * Reading a whole file, for the config, translations and templates
 * cachectl handles (the view tree goes through libjpulse's disk host).
 */

#ifndef CACHECTL_FILE_H
#define CACHECTL_FILE_H

#include <stddef.h>

#include <jansson.h>


/*
 * The file's bytes, NUL-terminated, malloc()ed; NULL with errno set when
 * it cannot be read or is larger than JP_TPL_SOURCE_MAX (EFBIG). Works on
 * pipes too: it reads until the end instead of trusting the size.
 */
char *cachectl_read_file(const char *path, size_t *len);

/*
 * The same for a config or translation file, which must stay in its own
 * directory: a symlink whose target lies outside the real path of the
 * directory that names the file is refused (EXDEV), so that a link to
 * /etc/shadow is never read, parsed and logged.
 */
char *cachectl_read_file_in(const char *path, size_t *len);

/* why a refused file is refused, for the log: strerror() or the above */
const char *cachectl_file_error(int err);

/*
 * What kind of JSON error jansson reported ("invalid syntax", ...),
 * without its text: that quotes the file ("near 'secret'").
 */
const char *cachectl_json_error_kind(const json_error_t *jerr);


#endif /* CACHECTL_FILE_H */
