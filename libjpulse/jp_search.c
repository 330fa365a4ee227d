/*
 * Placeholder of the shared interface (issue 13): the search-lib branch
 * replaces it.
 */

#include <string.h>

#include "jp_search.h"


jp_search_schema_t *
jp_search_schema_load(const char *path, char *err, size_t errlen)
{
    if (errlen) {
        strncpy(err, "search schemas are not built yet", errlen - 1);
        err[errlen - 1] = '\0';
    }

    return NULL;
}


jp_search_schema_t *
jp_search_schema_from_json(json_t *def, char *err, size_t errlen)
{
    return jp_search_schema_load(NULL, err, errlen);
}


void
jp_search_schema_free(jp_search_schema_t *schema)
{
}


int
jp_search_parse(const jp_search_schema_t *schema, const char *collection,
    const char *args, size_t len, const jp_search_key_t *keys, size_t nkeys,
    int lenient, jp_search_request_t *req, jp_search_error_t *err)
{
    memset(req, 0, sizeof(*req));
    return -1;
}


void
jp_search_request_free(jp_search_request_t *req)
{
}


int
jp_search_find(const jp_search_request_t *req, json_t **filter,
    json_t **sort, long *limit, long *skip)
{
    return -1;
}


json_t *
jp_search_count_filter(const jp_search_request_t *req)
{
    return NULL;
}


json_t *
jp_search_collation(const jp_search_request_t *req)
{
    return NULL;
}


json_t *
jp_search_page(const jp_search_schema_t *schema, const char *collection,
    const jp_search_request_t *req, json_t *docs, long long total,
    const jp_search_key_t *key)
{
    return NULL;
}


json_t *
jp_search_public_doc(const jp_search_schema_t *schema, json_t *doc)
{
    return NULL;
}


json_t *
jp_search_filter_string(const char *field, const char *value, size_t len,
    int *exact, jp_search_error_t *err)
{
    return NULL;
}


json_t *
jp_search_filter_date(const char *field, const char *value, size_t len,
    jp_search_error_t *err)
{
    return NULL;
}


char *
jp_search_cursor_encode(json_t *cursor, const char *collection,
    const jp_search_key_t *key)
{
    return NULL;
}


json_t *
jp_search_cursor_decode(const char *token, size_t len,
    const char *collection, const jp_search_key_t *keys, size_t nkeys,
    jp_search_error_t *err)
{
    return NULL;
}
