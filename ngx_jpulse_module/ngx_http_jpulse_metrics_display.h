/*
 * jpulse_metrics [json|prometheus];  the two views of one snapshot.
 */

#ifndef NGX_HTTP_JPULSE_METRICS_DISPLAY_H
#define NGX_HTTP_JPULSE_METRICS_DISPLAY_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_sysinfo.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_out.h"


typedef struct {
    ngx_pid_t                        pid;
    ngx_int_t                        worker;
    ngx_uint_t                       slot;
    time_t                           claimed;
    uint64_t                         rss;
    ngx_http_jpulse_totals_t         totals;
} ngx_http_jpulse_worker_view_t;


typedef struct {
    uint64_t                         accepted;
    uint64_t                         handled;
    uint64_t                         requests;
    uint64_t                         active;
    uint64_t                         reading;
    uint64_t                         writing;
    uint64_t                         waiting;
} ngx_http_jpulse_connections_t;


typedef struct {
    time_t                           now;
    ngx_http_jpulse_main_conf_t     *jmcf;
    ngx_http_jpulse_metrics_ctx_t   *zone;      /* NULL without a zone */
    ngx_http_jpulse_totals_t         totals;
    ngx_array_t                      workers;   /* worker_view_t */
    ngx_uint_t                       worker_processes;
    uint64_t                         master_rss;
    uint64_t                         rss;       /* master and workers */
    jp_host_stats_t                  host;
    ngx_uint_t                       port;      /* first listening port */
    ngx_uint_t                       stub_status;
    ngx_http_jpulse_connections_t    connections;
} ngx_http_jpulse_snapshot_t;


ngx_int_t ngx_http_jpulse_metrics_snapshot(ngx_pool_t *pool,
    ngx_http_jpulse_main_conf_t *jmcf, ngx_http_jpulse_snapshot_t *snap);

/* this instance, as jPulse's health broadcast blob */
ngx_int_t ngx_http_jpulse_metrics_blob(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);

/*
 * Sends jPulse's metrics answer for the local blob and the blobs of other
 * instances (strings as Redis returned them; unreadable ones are skipped).
 */
ngx_int_t ngx_http_jpulse_metrics_answer(ngx_http_request_t *r,
    ngx_str_t *local, ngx_str_t *remote, ngx_uint_t nremote);
ngx_int_t ngx_http_jpulse_metrics_prometheus(ngx_http_request_t *r,
    ngx_http_jpulse_snapshot_t *snap, ngx_http_jpulse_out_t *out);

/* the heartbeat interval in force, 0 when there is none */
ngx_msec_t ngx_http_jpulse_metrics_heartbeat(
    ngx_http_jpulse_main_conf_t *jmcf);

#define NGX_HTTP_JPULSE_PROM_LABEL_MAX      128
#define NGX_HTTP_JPULSE_PROM_DAEMONS_MAX    256

/* a Prometheus request waiting for the cluster view: the ctx's data */
typedef struct {
    ngx_str_t                        text;      /* this instance's */
    ngx_uint_t                       listed;    /* its heartbeat is */
} ngx_http_jpulse_prom_wait_t;

/* r waits for the cluster view as a Prometheus answer */
ngx_http_jpulse_prom_wait_t *ngx_http_jpulse_metrics_prom_waits(
    ngx_http_request_t *r);

/*
 * The Prometheus answer of r: its local text and the families of the
 * cluster view (answer, whose reference is taken over).
 */
ngx_int_t ngx_http_jpulse_metrics_prom_cluster(ngx_http_request_t *r,
    json_t *answer);


#endif /* NGX_HTTP_JPULSE_METRICS_DISPLAY_H */
