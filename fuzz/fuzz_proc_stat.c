/*
 * libFuzzer target: the /proc text parsers of jp_sysinfo.c must never read
 * outside their input, whatever it holds.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_sysinfo.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char                *text;
    unsigned long long   value;

    /* an exact-size copy, so ASan sees any read past the end */
    text = malloc(size ? size : 1);
    if (text == NULL) {
        return 0;
    }

    memcpy(text, data, size);

    (void) jp_parse_proc_stat_starttime(text, size, &value);
    (void) jp_parse_proc_statm_resident(text, size, &value);

    free(text);

    return 0;
}
