/*
 * The context a page is rendered over (contract 5.4): app, appConfig
 * (contextFilter applied, plus system.htmlAttrs), siteConfig, url, user,
 * i18n, vars, components and appCluster.
 */

#ifndef NGX_HTTP_JPULSE_CONTEXT_H
#define NGX_HTTP_JPULSE_CONTEXT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_lookup.h"


/*
 * rc->context for the request; code and msg, when not NULL, become
 * url.param.code and url.param.msg (the error page). NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_jpulse_context(ngx_http_jpulse_render_ctx_t *rc,
    const char *code, ngx_str_t *msg);

/*
 * The path as the client sent it (url.pathname): the request line's URI
 * up to its '?'. r->args may point elsewhere (set $args, a rewrite or an
 * include with a query), so it says nothing about where the path ends.
 */
void ngx_http_jpulse_context_raw_path(ngx_http_request_t *r,
    ngx_str_t *path);


#endif /* NGX_HTTP_JPULSE_CONTEXT_H */
