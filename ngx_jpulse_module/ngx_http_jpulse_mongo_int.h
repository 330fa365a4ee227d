/*
 * Private to ngx_http_jpulse_mongo*.c: the configuration of
 * jpulse_mongodb and what the configuration file and the process
 * halves share.
 */

#ifndef NGX_HTTP_JPULSE_MONGO_INT_H
#define NGX_HTTP_JPULSE_MONGO_INT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_mongo.h"


#define NGX_HTTP_JPULSE_MONGO_PASSWORD_MAX  1024

/* each posted operation holds memory: nginx's thread pool default */
#define NGX_HTTP_JPULSE_MONGO_MAX_QUEUE_MAX  65536

/* the server's error code for a command past its maxTimeMS */
#define NGX_HTTP_JPULSE_MONGO_MAX_TIME_EXPIRED  50


typedef struct ngx_http_jpulse_mongo_conf_s {
    mongoc_uri_t               *uri;        /* with the password_file's */
    ngx_str_t                   hosts;      /* for logs: no credentials */
    ngx_str_t                   db;         /* NUL-terminated */
    ngx_str_t                   thread_pool_name;
    ngx_thread_pool_t          *thread_pool;
    ngx_uint_t                  pool_max;
    ngx_uint_t                  max_queue;
    ngx_msec_t                  ping_interval;
    ngx_msec_t                  timeout;
    size_t                      result_max;
} ngx_http_jpulse_mongo_conf_t;


/* ngx_http_jpulse_mongo_state.c: the ping, the state, the envelopes */
void ngx_http_jpulse_mongo_state_start(ngx_cycle_t *cycle,
    ngx_http_jpulse_mongo_conf_t *mcf);
void ngx_http_jpulse_mongo_state_stop(void);
ngx_uint_t ngx_http_jpulse_mongo_down(void);
void ngx_http_jpulse_mongo_set_state(ngx_uint_t up, bson_error_t *error);
void ngx_http_jpulse_mongo_ping_soon(void);

/* the server could not be reached (503; a ping at once says if down) */
ngx_uint_t ngx_http_jpulse_mongo_unreachable(bson_error_t *error);

/* the operation's maxTimeMS ran out (503, the state stays) */
ngx_uint_t ngx_http_jpulse_mongo_timed_out(bson_error_t *error);

/* ngx_http_jpulse_mongo.c: post, or with probe even while down */
ngx_int_t ngx_http_jpulse_mongo_submit(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op, ngx_uint_t probe);

/* the running configuration (the worker's cycle), NULL without one */
ngx_http_jpulse_mongo_conf_t *ngx_http_jpulse_mongo_conf(void);


#endif /* NGX_HTTP_JPULSE_MONGO_INT_H */
