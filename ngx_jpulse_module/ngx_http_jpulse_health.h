/*
 * jpulse_health: jPulse's GET /api/1/health/status, and readiness.
 */

#ifndef NGX_HTTP_JPULSE_HEALTH_H
#define NGX_HTTP_JPULSE_HEALTH_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


typedef enum {
    NGX_HTTP_JPULSE_DEP_NOT_CONFIGURED = 0,
    NGX_HTTP_JPULSE_DEP_UP,
    NGX_HTTP_JPULSE_DEP_DOWN
} ngx_http_jpulse_dep_state_e;


/*
 * A dependency whose state health and readiness report. The concern that
 * owns a connection (Redis, MongoDB) sets "state" once it is configured;
 * the function returns the state it already knows, it never probes.
 */
typedef struct {
    ngx_str_t                     name;
    ngx_http_jpulse_dep_state_e (*state)(void);
} ngx_http_jpulse_dependency_t;


#define NGX_HTTP_JPULSE_DEP_DATABASE  0
#define NGX_HTTP_JPULSE_DEP_REDIS     1
#define NGX_HTTP_JPULSE_DEPS          2

extern ngx_http_jpulse_dependency_t
    ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEPS];


ngx_http_jpulse_dep_state_e ngx_http_jpulse_dependency_state(ngx_uint_t dep);
ngx_str_t *ngx_http_jpulse_dependency_state_name(
    ngx_http_jpulse_dep_state_e state);

char *ngx_http_jpulse_health(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);


#endif /* NGX_HTTP_JPULSE_HEALTH_H */
