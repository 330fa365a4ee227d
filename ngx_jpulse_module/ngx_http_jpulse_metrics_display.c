/*
 * The metrics content handler: one snapshot of the zone and the process
 * facts, then JSON (jPulse's /api/1/health/metrics) or Prometheus text.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_sysinfo.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_cluster.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_metrics_display.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_redis.h"




static ngx_str_t  ngx_http_jpulse_prometheus_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


ngx_int_t
ngx_http_jpulse_metrics_handler(ngx_http_request_t *r)
{
    ngx_int_t                     rc;
    ngx_str_t                     blob;
    ngx_http_jpulse_ctx_t        *ctx;
    ngx_http_jpulse_out_t         out;
    ngx_http_jpulse_prom_wait_t  *wait;
    ngx_http_jpulse_loc_conf_t   *jlcf;
    ngx_http_jpulse_main_conf_t  *jmcf;
    ngx_http_jpulse_snapshot_t    snap;

    ctx = ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_METRICS);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_read_only(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    /* with sessions on here, jPulse's metrics roles (and allow/deny) */
    rc = ngx_http_jpulse_access_metrics(r, jlcf->metrics_format
                                        == NGX_HTTP_JPULSE_METRICS_PROMETHEUS);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    if (ngx_http_jpulse_metrics_snapshot(r->pool, jmcf, &snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    if (jlcf->metrics_format == NGX_HTTP_JPULSE_METRICS_PROMETHEUS) {
        if (ngx_http_jpulse_metrics_prometheus(r, &snap, &out) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /*
         * the cluster view's families (instances, cachectl's refused
         * files, whether this heartbeat is listed) only when Redis can be
         * asked: a scrape while it is away answers for this instance
         */
        if (ngx_http_jpulse_metrics_heartbeat(jmcf) == 0
            || !ngx_http_jpulse_redis_ready())
        {
            return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK,
                                            &ngx_http_jpulse_prometheus_type);
        }

        wait = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_prom_wait_t));
        if (wait == NULL
            || ngx_http_jpulse_out_flatten(&out, &wait->text) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ctx->data = wait;

        ngx_http_jpulse_out_init(&out, r->pool);
    }

    /* this instance now, and the cluster's other instances from Redis */

    if (ngx_http_jpulse_metrics_blob(&snap, &out) != NGX_OK
        || ngx_http_jpulse_out_flatten(&out, &blob) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_cluster_metrics(r, &blob);
}


ngx_int_t
ngx_http_jpulse_metrics_snapshot(ngx_pool_t *pool,
    ngx_http_jpulse_main_conf_t *jmcf, ngx_http_jpulse_snapshot_t *snap)
{
    ngx_uint_t                      i, g;
    ngx_core_conf_t                *ccf;
    ngx_http_jpulse_slot_t         *slot;
    ngx_http_jpulse_metrics_shm_t  *sh;
    ngx_http_jpulse_worker_view_t  *w;

    ngx_memzero(snap, sizeof(ngx_http_jpulse_snapshot_t));

    snap->now = ngx_time();
    snap->jmcf = jmcf;
    snap->port = ngx_http_jpulse_instance.port;

    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);
    snap->worker_processes = (ngx_process == NGX_PROCESS_WORKER)
                             ? (ngx_uint_t) ccf->worker_processes : 1;

    (void) jp_host_stats(&snap->host);

    if (jp_process_rss(ngx_http_jpulse_instance.pid, &snap->master_rss)
        == 0)
    {
        snap->rss = snap->master_rss;
    }

    if (ngx_array_init(&snap->workers, pool, 4,
                       sizeof(ngx_http_jpulse_worker_view_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

#if (NGX_STAT_STUB)
    snap->stub_status = 1;
    snap->connections.accepted = *ngx_stat_accepted;
    snap->connections.handled = *ngx_stat_handled;
    snap->connections.requests = *ngx_stat_requests;
    snap->connections.active = *ngx_stat_active;
    snap->connections.reading = *ngx_stat_reading;
    snap->connections.writing = *ngx_stat_writing;
    snap->connections.waiting = *ngx_stat_waiting;
#endif

    if (snap->jmcf->metrics_zone == NULL) {
        return NGX_OK;
    }

    snap->zone = snap->jmcf->metrics_zone->data;
    sh = snap->zone->sh;

    /*
     * No lock: each slot has one writer, and a count read a moment early
     * is still a count. A free slot keeps the history of the workers that
     * owned it, so every slot ever claimed adds to the totals; the others
     * are zero. (On 32-bit platforms a 64-bit count may be read torn while
     * it is written: a one-off spike.)
     */

    for (i = 0; i < sh->used; i++) {
        slot = ngx_http_jpulse_metrics_slot_at(sh, i);

        ngx_http_jpulse_metrics_add_slot(&snap->totals, slot, snap->now);

        /* a gone owner is not running; its gauges went with it */

        if (slot->pid == 0
            || (kill(slot->pid, 0) == -1 && ngx_errno == NGX_ESRCH))
        {
            continue;
        }

        for (g = 0; g < NGX_HTTP_JPULSE_GAUGES; g++) {
            snap->totals.gauges[g] += slot->gauges[g];
        }

        w = ngx_array_push(&snap->workers);
        if (w == NULL) {
            return NGX_ERROR;
        }

        ngx_memzero(w, sizeof(ngx_http_jpulse_worker_view_t));

        w->pid = slot->pid;
        w->worker = slot->worker;
        w->slot = i;
        w->claimed = slot->claimed;

        ngx_http_jpulse_metrics_add_slot(&w->totals, slot, snap->now);

        if (w->pid == ngx_http_jpulse_instance.pid) {
            w->rss = snap->master_rss;          /* master_process off */

        } else if (jp_process_rss(w->pid, &w->rss) == 0) {
            snap->rss += w->rss;
        }
    }

    return NGX_OK;
}


ngx_http_jpulse_prom_wait_t *
ngx_http_jpulse_metrics_prom_waits(ngx_http_request_t *r)
{
    ngx_http_jpulse_ctx_t       *ctx;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    ctx = ngx_http_jpulse_ctx(r);
    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    if (ctx == NULL || ctx->handler != NGX_HTTP_JPULSE_HANDLER_METRICS
        || jlcf->metrics_format != NGX_HTTP_JPULSE_METRICS_PROMETHEUS)
    {
        return NULL;
    }

    return ctx->data;
}
