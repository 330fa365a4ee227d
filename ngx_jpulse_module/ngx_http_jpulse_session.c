/*
 * Sessions at the edge: placeholder of the shared interface (issue 14);
 * the sessions concern replaces it.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_session.h"


static ngx_http_module_t  ngx_http_jpulse_session_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_jpulse_session_module = {
    NGX_MODULE_V1,
    &ngx_http_jpulse_session_module_ctx,   /* module context */
    NULL,                                  /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


ngx_uint_t
ngx_http_jpulse_session_enabled(ngx_http_request_t *r)
{
    return 0;
}


ngx_http_jpulse_session_t *
ngx_http_jpulse_session_get(ngx_http_request_t *r)
{
    return NULL;
}


ngx_uint_t
ngx_http_jpulse_session_has_role(ngx_http_jpulse_session_t *s, u_char *role,
    size_t len)
{
    return 0;
}


ngx_uint_t
ngx_http_jpulse_session_is_admin(ngx_http_jpulse_session_t *s)
{
    return 0;
}
