/*
 * libFuzzer target: channel names come from request URIs and from any
 * Redis publisher; both rules must stay inside their input, and a name
 * the REST rule accepts must pass the general rule too.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_channel.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char  *name;
    int    rest, general;

    name = malloc(size ? size : 1);
    if (name == NULL) {
        return 0;
    }

    memcpy(name, data, size);

    rest = jp_channel_valid_rest(name, size);
    general = jp_channel_valid(name, size);

    /* REST names have no dots; the general rule caps segments at 16 */
    if (rest && !general && memchr(name, '.', size) == NULL) {
        size_t  i, colons = 0;

        for (i = 0; i < size; i++) {
            colons += (name[i] == ':');
        }

        if (colons <= 16) {
            abort();
        }
    }

    free(name);

    return 0;
}
