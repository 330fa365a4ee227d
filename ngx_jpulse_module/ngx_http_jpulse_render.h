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
 * Who is asking (contract 5.4), in two steps that the sessions concern
 * replaces. who() runs for every request and must be cheap: it fills the
 * language and theme to render in (left empty: the config's defaults)
 * and whether the user is signed in, which pick the kept page. user()
 * builds the user object templates see, only when a page is rendered
 * (not for a redirect, a raw file or a kept page). lang and theme need
 * not outlive the call: the request keeps copies.
 */
typedef ngx_int_t (*ngx_http_jpulse_who_pt)(ngx_http_request_t *r,
    ngx_str_t *lang, ngx_str_t *theme, ngx_uint_t *authenticated);
typedef json_t *(*ngx_http_jpulse_user_pt)(ngx_http_request_t *r);

extern ngx_http_jpulse_who_pt   ngx_http_jpulse_render_who;
extern ngx_http_jpulse_user_pt  ngx_http_jpulse_render_user;


char *ngx_http_jpulse_render(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
/* jpulse_render_cache_control value | off */
char *ngx_http_jpulse_render_cache_control(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);

/* anonymous: the defaults, not signed in */
ngx_int_t ngx_http_jpulse_render_anonymous_who(ngx_http_request_t *r,
    ngx_str_t *lang, ngx_str_t *theme, ngx_uint_t *authenticated);

/* frees the per-worker anonymous user */
void ngx_http_jpulse_render_exit_process(ngx_cycle_t *cycle);

/* the anonymous user, with the timezone cookie when it is sane */
json_t *ngx_http_jpulse_render_anonymous(ngx_http_request_t *r);


/* routing (issue 12) */

/* jPulse's SPA rule names the index itself, whatever defaultTemplate is */
#define NGX_HTTP_JPULSE_SPA_INDEX   "index.shtml"

/* the first 27 characters of base64(SHA-1) in Express's weak ETag */
#define NGX_HTTP_JPULSE_DIGEST_LEN  27

void ngx_http_jpulse_render_digest(u_char *data, size_t len, u_char *out);

/*
 * jPulse's sendError for a page: 302 to
 * /error/index.shtml?msg=<encodeURIComponent(msg)>&code=<code>, as
 * Express redirects (the body follows Accept). The request body must be
 * read or discarded already.
 */
ngx_int_t ngx_http_jpulse_error_redirect(ngx_http_request_t *r,
    const char *code, ngx_str_t *msg);

/*
 * Whether a signed-in user lacks an admin role (jPulse's gate on /admin/,
 * checked only for requests who() says are signed in), installed by
 * ngx_http_jpulse_access.c.
 */
typedef ngx_uint_t (*ngx_http_jpulse_admin_pt)(ngx_http_request_t *r);

extern ngx_http_jpulse_admin_pt  ngx_http_jpulse_render_admin_check;


#endif /* NGX_HTTP_JPULSE_RENDER_H */
