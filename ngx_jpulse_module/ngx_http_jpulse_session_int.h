/*
 * Sessions at the edge: what the session module's files share (not for
 * the rest of the module: ngx_http_jpulse_session.h is).
 */

#ifndef NGX_HTTP_JPULSE_SESSION_INT_H
#define NGX_HTTP_JPULSE_SESSION_INT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_session.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_session.h"


typedef struct {
    ngx_flag_t                  enable;
    ngx_array_t                *secrets;    /* jp_session_secret_t, in
                                               order: the first signs */
    ngx_str_t                   cookie;
    ngx_msec_t                  touch_interval;  /* 0: never touch */
} ngx_http_jpulse_session_loc_conf_t;


/* per request (the main one), kept across internal redirects */
typedef struct {
    ngx_http_jpulse_session_t   session;
    jp_session_t                record;     /* data owned here */
    ngx_uint_t                  loaded;     /* session is final */
    ngx_uint_t                  waiting;    /* GET in flight */
    ngx_uint_t                  cache_token; /* session cache: drops
                                                seen before the GET */
} ngx_http_jpulse_session_ctx_t;


/* ngx_http_jpulse_session.c: a record (from Redis or a cache) applied */
void ngx_http_jpulse_session_apply(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, u_char *json, size_t len);

/* ngx_http_jpulse_session_touch.c */
void ngx_http_jpulse_session_touch(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx);
ngx_uint_t ngx_http_jpulse_session_log_allowed(ngx_http_request_t *r);
ngx_int_t ngx_http_jpulse_session_touch_init(ngx_cycle_t *cycle);

/* ngx_http_jpulse_session_vars.c */
ngx_int_t ngx_http_jpulse_session_add_variables(ngx_conf_t *cf);
ngx_int_t ngx_http_jpulse_session_who(ngx_http_request_t *r,
    ngx_str_t *lang, ngx_str_t *theme, ngx_uint_t *authenticated);


#endif /* NGX_HTTP_JPULSE_SESSION_INT_H */
