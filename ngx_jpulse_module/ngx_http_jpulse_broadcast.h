/*
 * jpulse_app_cluster_api: jPulse's broadcast endpoints, cluster-wide over
 * Redis pub/sub, in jPulse's wire format (jpulse-contract.md 4.4):
 *   POST /api/1/app-cluster/broadcast/:channel   {data:{...}}
 *   GET  /api/1/app-cluster/broadcast/status
 */

#ifndef NGX_HTTP_JPULSE_BROADCAST_H
#define NGX_HTTP_JPULSE_BROADCAST_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


/* jpulse_app_cluster_reserved_channels allow | deny */
extern ngx_conf_enum_t  ngx_http_jpulse_reserved_channels[];

char *ngx_http_jpulse_app_cluster_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_jpulse_broadcast_init_process(ngx_cycle_t *cycle);


#endif /* NGX_HTTP_JPULSE_BROADCAST_H */
