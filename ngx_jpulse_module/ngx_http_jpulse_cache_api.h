/*
 * jpulse_cache_api: jPulse's cache endpoints (contract 2.3), cluster-wide:
 *   POST /api/1/cache/refresh[/all|/view|/i18n|/config]
 *   GET  /api/1/cache/stats
 */

#ifndef NGX_HTTP_JPULSE_CACHE_API_H
#define NGX_HTTP_JPULSE_CACHE_API_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


char *ngx_http_jpulse_cache_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


#endif /* NGX_HTTP_JPULSE_CACHE_API_H */
