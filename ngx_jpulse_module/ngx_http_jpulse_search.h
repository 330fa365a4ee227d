/*
 * Cursor-paginated search (issue 13): jpulse_search serves jPulse's
 * /api/1/user/search and /api/1/log/search from MongoDB. The query
 * string is parsed and the find is built in the event loop (libjpulse
 * jp_search), the find runs on a thread pool (ngx_http_jpulse_mongo.h),
 * and the page is answered in the event loop again.
 */

#ifndef NGX_HTTP_JPULSE_SEARCH_H
#define NGX_HTTP_JPULSE_SEARCH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>
#include <jp_search.h>

#include "ngx_http_jpulse_mongo.h"


/* a location's search, as its directives left it */
typedef struct {
    ngx_str_t                   collection;     /* NUL-terminated */
    jp_search_schema_t         *schema;
    json_t                     *projection;
    ngx_str_t                   message;        /* "... {{count}} ..." */
    ngx_array_t                *keys;           /* jp_search_key_t */
    ngx_flag_t                  fallback;
} ngx_http_jpulse_search_loc_conf_t;


/*
 * What one search hands to its thread: plain heap copies only (the
 * thread may outlive the request and even a reload's old cycle), all
 * freed by ngx_http_jpulse_search_free().
 */
typedef struct {
    char                       *collection;
    char                       *filter;      /* Extended JSON */
    char                       *sort;
    char                       *projection;  /* or NULL */
    char                       *collation;   /* or NULL */
    char                       *count;       /* the count's filter, or NULL:
                                                no count on this page */
    int64_t                     limit;
    int64_t                     skip;
    size_t                      result_max;  /* BSON bytes of the documents */

    /* results */
    json_t                     *docs;        /* array, find's order */
    int64_t                     total;
    size_t                      bytes;
    unsigned                    too_large:1;
} ngx_http_jpulse_search_op_t;


/* the content handler (ngx_http_jpulse_search.c) */
ngx_int_t ngx_http_jpulse_search_handler(ngx_http_request_t *r);

/* thread side (ngx_http_jpulse_search_run.c) */
void ngx_http_jpulse_search_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client);
void ngx_http_jpulse_search_free(ngx_http_jpulse_mongo_op_t *op);


extern ngx_module_t  ngx_http_jpulse_search_module;


#endif /* NGX_HTTP_JPULSE_SEARCH_H */
