/*
 * hiredis' replies as libjpulse's neutral tree: cachectl_resp.h.
 */

#include <stdlib.h>
#include <string.h>

#include "cachectl_resp.h"


int
cachectl_resp_tree(const redisReply *r, jp_resp_value_t *v)
{
    size_t            i;
    jp_resp_value_t  *e;

    memset(v, 0, sizeof(jp_resp_value_t));

    switch (r->type) {

    case REDIS_REPLY_INTEGER:
        v->type = JP_RESP_INTEGER;
        v->integer = r->integer;
        return 0;

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        v->type = r->type == REDIS_REPLY_STRING ? JP_RESP_STRING
                  : r->type == REDIS_REPLY_STATUS ? JP_RESP_STATUS
                  : JP_RESP_ERROR;
        v->str = r->str;
        v->len = r->len;
        return 0;

    case REDIS_REPLY_NIL:
        v->type = JP_RESP_NIL;
        return 0;

    case REDIS_REPLY_ARRAY:
        v->type = JP_RESP_ARRAY;

        if (r->elements == 0) {
            return 0;
        }

        e = calloc(r->elements, sizeof(jp_resp_value_t));
        if (e == NULL) {
            return -1;
        }

        v->element = e;
        v->elements = r->elements;

        for (i = 0; i < r->elements; i++) {
            if (cachectl_resp_tree(r->element[i], &e[i]) != 0) {
                return -1;
            }
        }

        return 0;

    default:
        v->type = JP_RESP_OTHER;
        return 0;
    }
}


void
cachectl_resp_tree_free(const jp_resp_value_t *v)
{
    size_t  i;

    if (v->type != JP_RESP_ARRAY || v->element == NULL) {
        return;
    }

    for (i = 0; i < v->elements; i++) {
        cachectl_resp_tree_free(&v->element[i]);
    }

    free((void *) v->element);
}
