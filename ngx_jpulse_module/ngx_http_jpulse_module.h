/*
 * ngx_http_jpulse_module: configuration shared by every concern of the
 * module (health, metrics, and the ones later issues add).
 */

#ifndef NGX_HTTP_JPULSE_MODULE_H
#define NGX_HTTP_JPULSE_MODULE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_version.h"


/* what a location serves, for the "handler" label of request metrics */
typedef enum {
    NGX_HTTP_JPULSE_HANDLER_OTHER = 0,
    NGX_HTTP_JPULSE_HANDLER_HEALTH,
    NGX_HTTP_JPULSE_HANDLER_METRICS,
    NGX_HTTP_JPULSE_HANDLERS
} ngx_http_jpulse_handler_e;


typedef enum {
    NGX_HTTP_JPULSE_HEALTH_BY_URI = 0,
    NGX_HTTP_JPULSE_HEALTH_STATUS,
    NGX_HTTP_JPULSE_HEALTH_READY
} ngx_http_jpulse_health_mode_e;


typedef enum {
    NGX_HTTP_JPULSE_METRICS_JSON = 0,
    NGX_HTTP_JPULSE_METRICS_PROMETHEUS
} ngx_http_jpulse_metrics_format_e;


typedef struct {
    ngx_str_t                   site_id;
    ngx_str_t                   mode;
    ngx_shm_zone_t             *metrics_zone;
    ngx_flag_t                  metrics_used;   /* some jpulse_metrics */
} ngx_http_jpulse_main_conf_t;


typedef struct {
    ngx_uint_t                  handler;
    ngx_uint_t                  health_mode;
    ngx_uint_t                  metrics_format;
} ngx_http_jpulse_loc_conf_t;


extern ngx_module_t  ngx_http_jpulse_module;


#endif /* NGX_HTTP_JPULSE_MODULE_H */
