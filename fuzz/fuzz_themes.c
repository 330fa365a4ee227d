/*
 * libFuzzer target: a theme's CSS is a file of the view roots; its
 * colour scheme must be "light" or "dark" for any bytes, read in one
 * pass without leaving the buffer.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_themes.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char        *css;
    const char  *s;

    /* an exact-size copy: a read past the end is caught */
    css = malloc(size ? size : 1);
    if (css == NULL) {
        return 0;
    }

    memcpy(css, data, size);

    s = jp_themes_color_scheme(css, size);

    if (strcmp(s, "light") != 0 && strcmp(s, "dark") != 0) {
        abort();
    }

    free(css);

    return 0;
}
