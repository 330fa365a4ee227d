/*
 * jpulse_render: jPulse's view routing (contract 5.1) and page rendering
 * from the L1 cache, filled from Redis (L2) or the view roots on disk.
 */

#ifndef NGX_HTTP_JPULSE_RENDER_H
#define NGX_HTTP_JPULSE_RENDER_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


/*
 * Who is asking: the user object templates see (contract 5.4), and the
 * language and theme to render in (left empty: the defaults). The
 * sessions concern replaces the anonymous default.
 */
typedef json_t *(*ngx_http_jpulse_user_pt)(ngx_http_request_t *r,
    ngx_str_t *lang, ngx_str_t *theme, ngx_uint_t *authenticated);

extern ngx_http_jpulse_user_pt  ngx_http_jpulse_render_user;


char *ngx_http_jpulse_render(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* jpulse_render_cache_control value | off */
char *ngx_http_jpulse_render_cache_control(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* the anonymous user, with the timezone cookie when it is sane */
json_t *ngx_http_jpulse_render_anonymous(ngx_http_request_t *r,
    ngx_str_t *lang, ngx_str_t *theme, ngx_uint_t *authenticated);


#endif /* NGX_HTTP_JPULSE_RENDER_H */
