/*
 * libFuzzer target: jp_json_escape() on arbitrary bytes (request URIs are
 * reflected through it). The output must be exactly the predicted length,
 * valid UTF-8, and free of raw control characters, quotes and < > &.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jp_json.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t          n, i, seq;
    unsigned char  *out, *end;

    n = jp_json_escape_len(data, size);

    out = malloc(n + 1);
    if (out == NULL) {
        return 0;
    }

    end = jp_json_escape(out, data, size);

    if ((size_t) (end - out) != n) {
        abort();
    }

    for (i = 0; i < n; i += seq) {
        seq = jp_utf8_sequence_len(out + i, out + n);

        if (seq == 0 || out[i] < 0x20 || out[i] == '<' || out[i] == '>'
            || out[i] == '&')
        {
            abort();
        }

        if (out[i] == '"' && (i == 0 || out[i - 1] != '\\')) {
            abort();
        }
    }

    free(out);

    return 0;
}
