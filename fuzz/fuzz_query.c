/*
 * libFuzzer target: a query string comes straight from the client and
 * becomes url.param. Any bytes must give a JSON object whose keys and
 * values are valid UTF-8 (jansson checks them on dump) and at most the
 * number of pairs asked for.
 */

#include <stdint.h>
#include <stdlib.h>

#include "jp_query.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char    *text;
    json_t  *j;

    j = jp_query_parse((const char *) data, size, 16);
    if (j == NULL) {
        return 0;
    }

    if (!json_is_object(j) || json_object_size(j) > 16) {
        abort();
    }

    text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text == NULL) {
        abort();
    }

    free(text);
    json_decref(j);

    return 0;
}
