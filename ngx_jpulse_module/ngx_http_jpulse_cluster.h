/*
 * The cluster view: every nginx instance keeps a heartbeat key in Redis,
 * registered in the instance registry, and broadcasts jPulse's health
 * blob, so that any instance (and any Node peer) can answer for the whole
 * cluster.
 */

#ifndef NGX_HTTP_JPULSE_CLUSTER_H
#define NGX_HTTP_JPULSE_CLUSTER_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_redis.h"


char *ngx_http_jpulse_heartbeat(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_jpulse_cluster_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_cluster_exit_master(ngx_cycle_t *cycle);

/* frees the Node peers heard (after Redis: no message comes any more) */
void ngx_http_jpulse_cluster_exit_process(ngx_cycle_t *cycle);

/*
 * Answers the metrics request with this instance's blob and the live
 * heartbeats of the others (the registry's live members, then one MGET,
 * the request parked meanwhile); with this instance alone when Redis is
 * not there.
 */
ngx_int_t ngx_http_jpulse_cluster_metrics(ngx_http_request_t *r,
    ngx_str_t *local);

/*
 * MGET of the n keys at argv[3] on, bounded (a plain MGET of records that
 * others write could take a worker's memory): strings of up to cap bytes
 * each and total in all; a larger one is the status 'large', one past the
 * total or of another type nil. argv, argvlen: room for n + 5 entries.
 * Returns as ngx_http_jpulse_redis_request().
 */
ngx_int_t ngx_http_jpulse_mget_capped(ngx_http_request_t *r,
    ngx_http_jpulse_redis_request_pt handler, void *data, const char **argv,
    size_t *argvlen, ngx_uint_t n, size_t cap, size_t total);

#endif /* NGX_HTTP_JPULSE_CLUSTER_H */
