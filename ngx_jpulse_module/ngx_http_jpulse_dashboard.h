/*
 * jpulse_dashboard: an HTML status page of the whole cluster, rendered by
 * the template engine from templates shipped with the module (a view
 * root's file of the same relative path wins), over the cluster view the
 * metrics JSON is built from. Admins only.
 */

#ifndef NGX_HTTP_JPULSE_DASHBOARD_H
#define NGX_HTTP_JPULSE_DASHBOARD_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>


/* where the shipped templates are, unless jpulse_dashboard templates= */
#ifndef NGX_HTTP_JPULSE_DASHBOARD_DIR
#define NGX_HTTP_JPULSE_DASHBOARD_DIR  "/usr/share/nginx/jpulse/dashboard"
#endif


/* jpulse_dashboard [templates=DIR] [metrics=URI] [refresh=TIME] */
char *ngx_http_jpulse_dashboard(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* r is a dashboard request: the metrics answer goes to the page */
ngx_uint_t ngx_http_jpulse_dashboard_wants(ngx_http_request_t *r);

/*
 * The page for r, from jPulse's metrics answer (answer's reference is
 * taken over); returns what a content handler returns (NGX_DONE while
 * it waits for Redis).
 */
ngx_int_t ngx_http_jpulse_dashboard_answer(ngx_http_request_t *r,
    json_t *answer);


#endif /* NGX_HTTP_JPULSE_DASHBOARD_H */
