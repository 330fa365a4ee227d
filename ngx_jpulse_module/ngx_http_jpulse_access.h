/*
 * Who may do what, once sessions are read (issue 14): the
 * jpulse_require_role gate of the access phase, the user object and the
 * /admin/ check of pages, and the gates of the module's own APIs. All
 * follow jPulse's AuthController (isAuthenticated, isAuthorized) and its
 * effective admin roles (siteConfig's general.adminRoles).
 */

#ifndef NGX_HTTP_JPULSE_ACCESS_H
#define NGX_HTTP_JPULSE_ACCESS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


/* jpulse_require_role ROLE ... | authenticated | off */
char *ngx_http_jpulse_require_role(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* the access phase handler and the render hooks */
ngx_int_t ngx_http_jpulse_access_postconfiguration(ngx_conf_t *cf);

/* frees the per-worker caches (admin roles) */
void ngx_http_jpulse_access_exit_process(ngx_cycle_t *cycle);

/* the effective admin roles, sorted (borrowed; NULL: no memory) */
json_t *ngx_http_jpulse_access_admin_roles(void);

/* the admin roles as jPulse's 403 message lists them: "admin, root" */
ngx_int_t ngx_http_jpulse_access_admin_list(ngx_pool_t *pool,
    ngx_str_t *out);

/* r's session is signed in, with a role of roles */
ngx_uint_t ngx_http_jpulse_access_authorized(ngx_http_request_t *r,
    json_t *roles);

ngx_uint_t ngx_http_jpulse_access_signed_in(ngx_http_request_t *r);

/* r's session has a user (signed in or not): user.* is not anonymous */
ngx_uint_t ngx_http_jpulse_access_personal(ngx_http_request_t *r);
ngx_uint_t ngx_http_jpulse_access_is_admin(ngx_http_request_t *r);

/*
 * The gate of jPulse's cache API (and of the module's other admin APIs):
 * NGX_DECLINED when sessions are off in r's location (nginx's allow and
 * deny decide) or r's user is an admin; else the 401 NOT_AUTHENTICATED or
 * 403 NOT_AUTHORIZED envelope was sent and its result is returned.
 */
ngx_int_t ngx_http_jpulse_access_admin_api(ngx_http_request_t *r);

/*
 * The gate of the broadcast publish API (and of what only signed-in users
 * may use): NGX_DECLINED when sessions are off in r's location or r's
 * user is signed in; else the 401 UNAUTHORIZED envelope was sent (as
 * jPulse's app-cluster cache endpoints answer).
 */
ngx_int_t ngx_http_jpulse_access_user_api(ngx_http_request_t *r);

/*
 * The gate of the metrics: NGX_DECLINED when sessions are off in r's
 * location or r's user holds a role of requiredRoles.metrics; else
 * jPulse's unauthorized answer was sent (JSON: a 200 with success false;
 * Prometheus: a 401 or 403 envelope).
 */
ngx_int_t ngx_http_jpulse_access_metrics(ngx_http_request_t *r,
    ngx_uint_t prometheus);

/* the metrics are obfuscated for r, as jPulse does for non-admins */
ngx_uint_t ngx_http_jpulse_access_metrics_sanitize(ngx_http_request_t *r);


#endif /* NGX_HTTP_JPULSE_ACCESS_H */
