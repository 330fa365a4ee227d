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
    NGX_HTTP_JPULSE_HANDLER_CLUSTER,
    NGX_HTTP_JPULSE_HANDLER_RENDER,
    NGX_HTTP_JPULSE_HANDLER_CACHE_API,
    NGX_HTTP_JPULSE_HANDLER_DASHBOARD,
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


struct ngx_http_jpulse_redis_conf_s;
struct ngx_http_jpulse_mongo_conf_s;
struct ngx_http_jpulse_view_s;


/* jpulse_view_roots and friends as merged in one location */
typedef struct {
    ngx_array_t                *roots;          /* of ngx_str_t */
    ngx_str_t                   config_path;
    ngx_str_t                   i18n_dir;
    size_t                      cache_size;
    ngx_msec_t                  check_interval;
    struct ngx_http_jpulse_view_s  *view;       /* the set they make */
} ngx_http_jpulse_view_conf_t;


typedef struct {
    ngx_str_t                   site_id;
    ngx_str_t                   mode;
    ngx_str_t                   namespace;      /* "<siteId>:<mode>:" */

    /*
     * The prefixes of the key groups (docs/protocol.md "Redis Cluster"):
     * the namespace, or in cluster mode "<ns>{<ns><group>}" so that the
     * keys a command or script touches together share a slot.
     */
    ngx_str_t                   ns_l2;
    ngx_str_t                   ns_metrics;
    ngx_str_t                   ns_sess;
    struct ngx_http_jpulse_redis_conf_s  *redis;  /* NULL: single host */
    struct ngx_http_jpulse_mongo_conf_s  *mongo;  /* NULL: no MongoDB */
    ngx_shm_zone_t             *metrics_zone;
    ngx_flag_t                  metrics_used;   /* some jpulse_metrics */
    ngx_flag_t                  heartbeat;
    ngx_msec_t                  heartbeat_interval;
    ngx_msec_t                  heartbeat_ttl;
    ngx_array_t                *views;          /* ngx_http_jpulse_view_t * */
    ngx_shm_zone_t             *views_zone;
} ngx_http_jpulse_main_conf_t;


typedef struct {
    ngx_uint_t                  handler;        /* set here, not inherited */
    ngx_uint_t                  health_mode;
    ngx_uint_t                  metrics_format;
    ngx_http_jpulse_view_conf_t view;
    ngx_uint_t                  reserved_channels;  /* 1: may publish */
    ngx_str_t                   cache_control;  /* of pages; "": none */
    ngx_array_t                *require_roles;  /* of ngx_str_t; NULL: off,
                                                   empty: authenticated */
    void                       *dashboard;      /* jpulse_dashboard's */
} ngx_http_jpulse_loc_conf_t;


/* per request, created by the module's content handlers */
typedef struct {
    ngx_uint_t                  handler;        /* for the request metrics */
    void                       *data;           /* the handler's own */
} ngx_http_jpulse_ctx_t;


#define ngx_http_jpulse_ctx(r)                                               \
    ((ngx_http_jpulse_ctx_t *) ngx_http_get_module_ctx(r,                    \
                                                       ngx_http_jpulse_module))


extern ngx_module_t  ngx_http_jpulse_module;


/* makes pt the location's content handler, refusing a second one */
char *ngx_http_jpulse_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_jpulse_loc_conf_t *jlcf, ngx_http_jpulse_handler_e handler,
    ngx_http_handler_pt pt);

/* a password_file= read into buf (max + 1 bytes), trailing blanks cut */
char *ngx_http_jpulse_conf_read_secret(ngx_conf_t *cf, const char *who,
    ngx_str_t *file, u_char *buf, size_t max, size_t *len);

/* "name=TIME" parameters: NGX_ERROR for a bad time (or 0 unless zero_ok) */
ngx_int_t ngx_http_jpulse_conf_msec(ngx_str_t *param, size_t name_len,
    ngx_msec_t *msec, ngx_uint_t zero_ok);

/* records which of our handlers serves r; NULL when out of memory */
ngx_http_jpulse_ctx_t *ngx_http_jpulse_serve(ngx_http_request_t *r,
    ngx_http_jpulse_handler_e handler);


#endif /* NGX_HTTP_JPULSE_MODULE_H */
