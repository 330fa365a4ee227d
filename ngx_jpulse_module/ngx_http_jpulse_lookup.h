/*
 * Finding what a render needs in the L1 cache, and filling it on a miss:
 * from Redis (by recording a need: the request fetches, then runs again)
 * or from the view roots on disk, revalidated at most every
 * jpulse_template_check_interval. Also the template engine's host
 * callbacks, which serve includes, file.list and file.timestamp the same
 * way.
 */

#ifndef NGX_HTTP_JPULSE_LOOKUP_H
#define NGX_HTTP_JPULSE_LOOKUP_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_tpl.h"
#include "ngx_http_jpulse_view.h"


/* one request's rendering state */
typedef struct {
    ngx_http_request_t         *request;
    ngx_http_jpulse_view_rt_t  *rt;

    ngx_str_t                   path;       /* relative to the view roots */
    ngx_str_t                   lang;
    ngx_str_t                   theme;
    ngx_str_t                   variant;    /* "lang theme": output key */
    ngx_str_t                   url_variant;    /* + the URL, no query */
    ngx_str_t                   plan_variant;   /* + the auth class */
    ngx_uint_t                  status;
    ngx_uint_t                  rounds;     /* fetch-and-retry rounds */
    ngx_uint_t                  authenticated;
    ngx_uint_t                  personal;   /* the page shows a session's
                                               user: never kept */

    ngx_array_t                *needs;      /* ngx_http_jpulse_need_t */
    json_t                     *i18n;       /* borrowed from the cache */
    uint64_t                    i18n_stamp;
    json_t                     *user;
    json_t                     *context;

    jp_tpl_host_t               host;

    unsigned                    raw:1;
    unsigned                    append:1;
    unsigned                    not_found:1;    /* rendering the 404 page */
    unsigned                    no_l2:1;        /* Redis refused: disk only */
    unsigned                    broken:1;       /* the page does not compile */

    /* routing (issue 12) */
    ngx_str_t                   spa;        /* "<ns>/index.shtml" to ask */
    u_char                     *digest;     /* ETag's 27 bytes, or NULL */
    unsigned                    gate:1;     /* /admin/: the access rule */
} ngx_http_jpulse_render_ctx_t;


/* the translations for rc->lang (rc->i18n, may stay NULL) */
void ngx_http_jpulse_lookup_i18n(ngx_http_jpulse_render_ctx_t *rc);

/*
 * The entry of kind (T_PAGE, T_INCLUDE, T_RAW) for path. NULL when it must
 * be fetched first (a need was added), or it fails to compile with no good
 * version to fall back on (rc->broken). A negative entry (from
 * FROM_NONE) when there is no such file.
 */
ngx_http_jpulse_tentry_t *ngx_http_jpulse_lookup(
    ngx_http_jpulse_render_ctx_t *rc, ngx_uint_t kind, u_char *path,
    size_t len, ngx_uint_t append);

/* points rc->host at the callbacks below */
void ngx_http_jpulse_lookup_host(ngx_http_jpulse_render_ctx_t *rc);


#endif /* NGX_HTTP_JPULSE_LOOKUP_H */
