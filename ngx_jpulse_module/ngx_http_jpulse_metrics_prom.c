/*
 * Prometheus text exposition format 0.0.4: one HELP and TYPE per family,
 * every family named jpulse_*, counters ending in _total.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "jp_version.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics_display.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_redis.h"


static ngx_str_t  ngx_http_jpulse_prom_type =
    ngx_string("text/plain; version=0.0.4; charset=utf-8");


#define ngx_http_jpulse_prom_family(out, name, type, help)                   \
    ngx_http_jpulse_out_printf(out, "# HELP " name " " help "\n"             \
                                    "# TYPE " name " " type "\n")


static void ngx_http_jpulse_prom_requests(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_latency(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_mongo(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_redis(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_cluster(ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_sessions(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_counters(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_connections(
    ngx_http_jpulse_snapshot_t *snap, ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_prom_zone(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);


ngx_int_t
ngx_http_jpulse_metrics_prometheus(ngx_http_request_t *r,
    ngx_http_jpulse_snapshot_t *snap, ngx_http_jpulse_out_t *out)
{
    ngx_uint_t                   i;
    ngx_http_jpulse_dep_state_e  state;
    ngx_http_jpulse_instance_t  *in;

    in = &ngx_http_jpulse_instance;

    ngx_http_jpulse_prom_family(out, "jpulse_info", "gauge",
        "Version and identity of this ngx_jpulse instance.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_info{version=\"" JP_VERSION "\",release=\"" JP_RELEASE "\","
        "nginx_version=\"" NGINX_VERSION "\",site_id=\"%V\",mode=\"%V\","
        "instance_id=\"%V\"} 1\n",
        &snap->jmcf->site_id, &snap->jmcf->mode, &in->instance_id);

    ngx_http_jpulse_prom_family(out, "jpulse_start_time_seconds", "gauge",
        "When this nginx instance started, in seconds since the epoch.");
    ngx_http_jpulse_out_printf(out, "jpulse_start_time_seconds %T\n",
                               in->start);

    ngx_http_jpulse_prom_family(out, "jpulse_worker_processes", "gauge",
        "Worker processes: configured, and running with a metrics slot.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_worker_processes{state=\"configured\"} %ui\n",
        snap->worker_processes);

    if (snap->zone) {
        ngx_http_jpulse_out_printf(out,
            "jpulse_worker_processes{state=\"running\"} %ui\n",
            snap->workers.nelts);
    }

    ngx_http_jpulse_prom_family(out, "jpulse_resident_memory_bytes",
        "gauge", "Resident memory of the nginx master and its workers.");
    ngx_http_jpulse_out_printf(out, "jpulse_resident_memory_bytes %uL\n",
                               snap->rss);

    ngx_http_jpulse_prom_family(out, "jpulse_dependency_up", "gauge",
        "1 while a configured dependency is reachable, else 0; "
        "-1 when it is not configured.");

    for (i = 0; i < NGX_HTTP_JPULSE_DEPS; i++) {
        state = ngx_http_jpulse_dependency_state(i);

        ngx_http_jpulse_out_printf(out,
            "jpulse_dependency_up{dependency=\"%V\"} %s\n",
            &ngx_http_jpulse_dependencies[i].name,
            state == NGX_HTTP_JPULSE_DEP_UP ? "1"
            : state == NGX_HTTP_JPULSE_DEP_DOWN ? "0" : "-1");
    }

    ngx_http_jpulse_prom_family(out, "jpulse_heartbeat_interval_seconds",
        "gauge", "How often this instance writes its heartbeat to Redis; "
        "0 when jpulse_heartbeat is off or there is no Redis.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_heartbeat_interval_seconds %ui.%03ui\n",
        ngx_http_jpulse_metrics_heartbeat(snap->jmcf) / 1000,
        ngx_http_jpulse_metrics_heartbeat(snap->jmcf) % 1000);

    ngx_http_jpulse_prom_connections(snap, out);

    if (snap->zone) {
        ngx_http_jpulse_prom_requests(snap, out);
        ngx_http_jpulse_prom_latency(snap, out);
        ngx_http_jpulse_prom_counters(snap, out);
        ngx_http_jpulse_prom_redis(snap, out);
        ngx_http_jpulse_prom_mongo(snap, out);
        ngx_http_jpulse_prom_zone(snap, out);
    }

    return out->failed ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_jpulse_prom_requests(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_uint_t  h, c;

    ngx_http_jpulse_prom_family(out, "jpulse_http_requests_total",
        "counter", "HTTP requests by jPulse handler and status class.");

    for (h = 0; h < NGX_HTTP_JPULSE_HANDLERS; h++) {
        for (c = 0; c < NGX_HTTP_JPULSE_STATUS_CLASSES; c++) {
            ngx_http_jpulse_out_printf(out,
                "jpulse_http_requests_total{handler=\"%V\",code=\"%V\"} "
                "%uL\n",
                &ngx_http_jpulse_handler_names[h],
                &ngx_http_jpulse_status_class_names[c],
                snap->totals.counts.requests[h][c]);
        }
    }

    ngx_http_jpulse_prom_family(out, "jpulse_http_response_bytes_total",
        "counter", "Bytes sent to clients, headers included.");
    ngx_http_jpulse_out_printf(out, "jpulse_http_response_bytes_total %uL\n",
                               snap->totals.counts.bytes_out);
}


static void
ngx_http_jpulse_prom_latency(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t    cumulative, ms;
    ngx_uint_t  b, bound;

    ngx_http_jpulse_prom_family(out, "jpulse_http_request_duration_seconds",
        "histogram", "Time from the first byte of a request to its log, "
        "in seconds (millisecond resolution).");

    cumulative = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_LATENCY_BUCKETS - 1; b++) {
        cumulative += snap->totals.counts.latency[b];
        bound = ngx_http_jpulse_latency_bounds_ms[b];

        ngx_http_jpulse_out_printf(out,
            "jpulse_http_request_duration_seconds_bucket{le=\"%ui.%03ui\"} "
            "%uL\n", bound / 1000, bound % 1000, cumulative);
    }

    cumulative += snap->totals.counts.latency[b];
    ms = snap->totals.counts.latency_ms;

    ngx_http_jpulse_out_printf(out,
        "jpulse_http_request_duration_seconds_bucket{le=\"+Inf\"} %uL\n"
        "jpulse_http_request_duration_seconds_sum %uL.%03uL\n"
        "jpulse_http_request_duration_seconds_count %uL\n",
        cumulative, ms / 1000, ms % 1000, cumulative);
}


static void
ngx_http_jpulse_prom_redis(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                   cumulative, us;
    ngx_uint_t                 b, bound;
    ngx_http_jpulse_counts_t  *counts;

    counts = &snap->totals.counts;

    ngx_http_jpulse_prom_family(out,
        "jpulse_redis_command_duration_seconds", "histogram",
        "Time from sending a Redis command to its reply (or failure).");

    cumulative = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_REDIS_BUCKETS - 1; b++) {
        cumulative += counts->redis_latency[b];
        bound = ngx_http_jpulse_redis_bounds_us[b];

        ngx_http_jpulse_out_printf(out,
            "jpulse_redis_command_duration_seconds_bucket"
            "{le=\"%ui.%06ui\"} %uL\n",
            bound / 1000000, bound % 1000000, cumulative);
    }

    cumulative += counts->redis_latency[b];
    us = counts->redis_latency_us;

    ngx_http_jpulse_out_printf(out,
        "jpulse_redis_command_duration_seconds_bucket{le=\"+Inf\"} %uL\n"
        "jpulse_redis_command_duration_seconds_sum %uL.%06uL\n"
        "jpulse_redis_command_duration_seconds_count %uL\n",
        cumulative, us / 1000000, us % 1000000, cumulative);
}


/* MongoDB (issue 13): operations, their time on a thread, the queue */

static void
ngx_http_jpulse_prom_mongo(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                   cumulative, us;
    ngx_uint_t                 n, o, b;
    ngx_http_jpulse_counts_t  *counts;

    if (ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEP_DATABASE].state
        == NULL)
    {
        return;
    }

    counts = &snap->totals.counts;

    ngx_http_jpulse_prom_family(out, "jpulse_mongodb_operations_total",
        "counter",
        "MongoDB operations by name and outcome (busy: refused at "
        "max_queue; unavailable: refused while the database is down, or "
        "it could not be reached).");

    for (n = 0; n < NGX_HTTP_JPULSE_MONGO_OP_NAMES; n++) {
        for (o = 0; o < NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES; o++) {
            ngx_http_jpulse_out_printf(out,
                "jpulse_mongodb_operations_total"
                "{operation=\"%V\",outcome=\"%V\"} %uL\n",
                &ngx_http_jpulse_mongo_op_names[n],
                &ngx_http_jpulse_mongo_outcome_names[o],
                counts->mongo_ops[n][o]);
        }
    }

    ngx_http_jpulse_prom_family(out,
        "jpulse_mongodb_operation_duration_seconds", "histogram",
        "Time an operation held a pool thread (taking a connection "
        "included).");

    cumulative = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_MONGO_BUCKETS - 1; b++) {
        cumulative += counts->mongo_latency[b];

        ngx_http_jpulse_out_printf(out,
            "jpulse_mongodb_operation_duration_seconds_bucket"
            "{le=\"%ui.%03ui\"} %uL\n",
            ngx_http_jpulse_mongo_bounds_ms[b] / 1000,
            ngx_http_jpulse_mongo_bounds_ms[b] % 1000, cumulative);
    }

    cumulative += counts->mongo_latency[b];
    us = counts->mongo_latency_us;

    ngx_http_jpulse_out_printf(out,
        "jpulse_mongodb_operation_duration_seconds_bucket{le=\"+Inf\"} %uL\n"
        "jpulse_mongodb_operation_duration_seconds_sum %uL.%06uL\n"
        "jpulse_mongodb_operation_duration_seconds_count %uL\n",
        cumulative, us / 1000000, us % 1000000, cumulative);

    ngx_http_jpulse_prom_family(out, "jpulse_mongodb_pending", "gauge",
        "MongoDB operations posted and not yet completed (queued or on "
        "a thread) in running workers.");
    ngx_http_jpulse_out_printf(out, "jpulse_mongodb_pending %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_PENDING]);

    ngx_http_jpulse_prom_family(out, "jpulse_mongodb_in_flight", "gauge",
        "MongoDB operations on a pool thread now, in running workers.");
    ngx_http_jpulse_out_printf(out, "jpulse_mongodb_in_flight %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_RUNNING]);

    ngx_http_jpulse_prom_family(out, "jpulse_mongodb_pool_max", "gauge",
        "The most MongoDB connections running workers may open "
        "(pool_max times the workers).");
    ngx_http_jpulse_out_printf(out, "jpulse_mongodb_pool_max %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_POOL_MAX]);
}


static void
ngx_http_jpulse_prom_counters(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_uint_t  c;

    for (c = 0; c < NGX_HTTP_JPULSE_COUNTERS; c++) {
        ngx_http_jpulse_out_printf(out,
            "# HELP jpulse_%V_total Module events: %V.\n"
            "# TYPE jpulse_%V_total counter\n"
            "jpulse_%V_total %uL\n",
            &ngx_http_jpulse_counter_names[c],
            &ngx_http_jpulse_counter_names[c],
            &ngx_http_jpulse_counter_names[c],
            &ngx_http_jpulse_counter_names[c],
            snap->totals.counts.counters[c]);
    }

    ngx_http_jpulse_prom_family(out, "jpulse_template_cache_bytes", "gauge",
        "Bytes held by the compiled template caches of running workers.");
    ngx_http_jpulse_out_printf(out, "jpulse_template_cache_bytes %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_CACHE_BYTES]);

    ngx_http_jpulse_prom_family(out, "jpulse_redis_pending", "gauge",
        "Redis commands in flight in running workers.");
    ngx_http_jpulse_out_printf(out, "jpulse_redis_pending %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_REDIS_PENDING]);

    ngx_http_jpulse_prom_cluster(out);

    ngx_http_jpulse_prom_sessions(snap, out);
}


/* Redis Cluster: the slot map as the worker answering sees it */

static void
ngx_http_jpulse_prom_cluster(ngx_http_jpulse_out_t *out)
{
    ngx_http_jpulse_redis_cluster_info_t  info;

    if (!ngx_http_jpulse_redis_cluster_info(&info)) {
        return;
    }

    ngx_http_jpulse_prom_family(out, "jpulse_redis_cluster_nodes", "gauge",
        "Primaries of this worker's slot map, connected or not, and other "
        "cluster nodes it has a connection to.");
    ngx_http_jpulse_out_printf(out, "jpulse_redis_cluster_nodes %ui\n",
                               info.nodes);

    ngx_http_jpulse_prom_family(out, "jpulse_redis_cluster_nodes_ready",
        "gauge", "Cluster node connections of this worker that are ready.");
    ngx_http_jpulse_out_printf(out, "jpulse_redis_cluster_nodes_ready %ui\n",
                               info.ready);

    ngx_http_jpulse_prom_family(out, "jpulse_redis_cluster_covered_slots",
        "gauge", "Hash slots with a primary in this worker's slot map.");
    ngx_http_jpulse_out_printf(out,
                               "jpulse_redis_cluster_covered_slots %ui\n",
                               info.covered);

    ngx_http_jpulse_prom_family(out, "jpulse_redis_cluster_map_generation",
        "gauge", "Generation of this worker's slot map (changes and "
        "MOVED patches).");
    ngx_http_jpulse_out_printf(out,
                               "jpulse_redis_cluster_map_generation %uL\n",
                               info.generation);
}


static void
ngx_http_jpulse_prom_sessions(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_uint_t   c;
    uint64_t    *s;
    static const char  *states[] = { "none", "invalid", "anonymous", "user",
                                     "error" };

    s = snap->totals.counts.sessions;

    ngx_http_jpulse_prom_family(out, "jpulse_session_loads_total", "counter",
        "Requests whose session was loaded, by its state.");

    for (c = 0; c <= NGX_HTTP_JPULSE_SESS_LOADS_ERROR; c++) {
        ngx_http_jpulse_out_printf(out,
            "jpulse_session_loads_total{state=\"%s\"} %uL\n",
            states[c], s[c]);
    }

    for (c = NGX_HTTP_JPULSE_SESS_LOADS_ERROR + 1;
         c < NGX_HTTP_JPULSE_SESS_COUNTERS;
         c++)
    {
        ngx_http_jpulse_out_printf(out,
            "# HELP jpulse_%V_total Session events: %V.\n"
            "# TYPE jpulse_%V_total counter\n"
            "jpulse_%V_total %uL\n",
            &ngx_http_jpulse_session_counter_names[c],
            &ngx_http_jpulse_session_counter_names[c],
            &ngx_http_jpulse_session_counter_names[c],
            &ngx_http_jpulse_session_counter_names[c], s[c]);
    }

    ngx_http_jpulse_prom_family(out, "jpulse_session_table_bytes", "gauge",
        "Bytes of the per-worker session tables (touches, log limits).");
    ngx_http_jpulse_out_printf(out, "jpulse_session_table_bytes %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_TABLE_BYTES]);

    ngx_http_jpulse_prom_family(out, "jpulse_session_table_entries", "gauge",
        "Entries in use in the per-worker session tables.");
    ngx_http_jpulse_out_printf(out, "jpulse_session_table_entries %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES]);

    ngx_http_jpulse_prom_family(out, "jpulse_session_cache_bytes", "gauge",
        "Bytes held by the per-worker session caches.");
    ngx_http_jpulse_out_printf(out, "jpulse_session_cache_bytes %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_CACHE_BYTES]);

    ngx_http_jpulse_prom_family(out, "jpulse_session_cache_entries", "gauge",
        "Sessions held by the per-worker session caches.");
    ngx_http_jpulse_out_printf(out, "jpulse_session_cache_entries %uL\n",
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_CACHE_ENTRIES]);
}


static void
ngx_http_jpulse_prom_connections(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_http_jpulse_connections_t  *c;

    if (!snap->stub_status) {
        return;
    }

    c = &snap->connections;

    ngx_http_jpulse_prom_family(out,
        "jpulse_nginx_connections_accepted_total", "counter",
        "Client connections accepted by nginx.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_nginx_connections_accepted_total %uL\n", c->accepted);

    ngx_http_jpulse_prom_family(out,
        "jpulse_nginx_connections_handled_total", "counter",
        "Client connections handled by nginx.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_nginx_connections_handled_total %uL\n", c->handled);

    ngx_http_jpulse_prom_family(out, "jpulse_nginx_requests_total",
        "counter", "Client requests read by nginx (stub_status).");
    ngx_http_jpulse_out_printf(out, "jpulse_nginx_requests_total %uL\n",
                               c->requests);

    ngx_http_jpulse_prom_family(out, "jpulse_nginx_connections", "gauge",
        "Client connections by state.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_nginx_connections{state=\"active\"} %uL\n"
        "jpulse_nginx_connections{state=\"reading\"} %uL\n"
        "jpulse_nginx_connections{state=\"writing\"} %uL\n"
        "jpulse_nginx_connections{state=\"waiting\"} %uL\n",
        c->active, c->reading, c->writing, c->waiting);
}


static void
ngx_http_jpulse_prom_zone(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_http_jpulse_metrics_shm_t  *sh;

    sh = snap->zone->sh;

    ngx_http_jpulse_prom_family(out, "jpulse_metrics_zone_size_bytes",
        "gauge", "Size of the jpulse_metrics_zone.");
    ngx_http_jpulse_out_printf(out, "jpulse_metrics_zone_size_bytes %uz\n",
                               snap->zone->size);

    ngx_http_jpulse_prom_family(out, "jpulse_metrics_zone_slots", "gauge",
        "Worker slots of the metrics zone.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_metrics_zone_slots{state=\"used\"} %ui\n"
        "jpulse_metrics_zone_slots{state=\"free\"} %ui\n",
        snap->workers.nelts, sh->nslots - snap->workers.nelts);

    ngx_http_jpulse_prom_family(out, "jpulse_metrics_zone_reloads_total",
        "counter", "Configuration reloads the metrics zone survived.");
    ngx_http_jpulse_out_printf(out, "jpulse_metrics_zone_reloads_total %ui\n",
                               sh->reloads);

    ngx_http_jpulse_prom_family(out,
        "jpulse_metrics_zone_claim_failures_total", "counter",
        "Workers that found no free slot and were not counted.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_metrics_zone_claim_failures_total %ui\n",
        sh->claim_failures);

    ngx_http_jpulse_prom_family(out, "jpulse_metrics_zone_workers_without_slot",
        "gauge", "Running workers whose requests are not counted.");
    ngx_http_jpulse_out_printf(out,
        "jpulse_metrics_zone_workers_without_slot %ui\n", sh->unslotted);
}


ngx_msec_t
ngx_http_jpulse_metrics_heartbeat(ngx_http_jpulse_main_conf_t *jmcf)
{
    return (jmcf->heartbeat && jmcf->redis) ? jmcf->heartbeat_interval : 0;
}


/*
 * A label value from Redis (a peer wrote it): escaped as the exposition
 * format wants, cut to a length no dashboard needs more of.
 */

static void
ngx_http_jpulse_prom_label(ngx_http_jpulse_out_t *out, const char *s)
{
    u_char  *p, *last, buf[2 * NGX_HTTP_JPULSE_PROM_LABEL_MAX];
    size_t   len;

    len = ngx_strlen(s);
    len = ngx_min(len, NGX_HTTP_JPULSE_PROM_LABEL_MAX);

    p = buf;
    last = (u_char *) s + len;

    for ( /* void */ ; (u_char *) s < last; s++) {
        switch (*s) {
        case '\\':
            *p++ = '\\'; *p++ = '\\';
            break;
        case '"':
            *p++ = '\\'; *p++ = '"';
            break;
        case '\n':
            *p++ = '\\'; *p++ = 'n';
            break;
        default:
            *p++ = (u_char) *s;
        }
    }

    ngx_http_jpulse_out_raw(out, buf, p - buf);
}


static json_int_t
ngx_http_jpulse_prom_json_int(json_t *v)
{
    json_int_t  n;

    n = json_is_integer(v) ? json_integer_value(v) : 0;

    return n > 0 ? n : 0;
}


ngx_int_t
ngx_http_jpulse_metrics_prom_cluster(ngx_http_request_t *r, json_t *answer)
{
    const char             *kind, *id;
    json_t                 *servers, *server, *instances, *inst, *v;
    ngx_int_t                     rc;
    ngx_uint_t                    i, j, k, daemons, counts[3];
    ngx_http_jpulse_out_t         out;
    ngx_http_jpulse_prom_wait_t  *wait;

    static const char  *kinds[3] = { "nginx", "node", "cachectl" };

    wait = ngx_http_jpulse_metrics_prom_waits(r);

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, wait->text.data, wait->text.len);

    ngx_http_jpulse_prom_family((&out), "jpulse_heartbeat_listed", "gauge",
        "1 while this instance's heartbeat is in Redis's instance registry "
        "(what the other instances, the dashboard and jPulse's admin pages "
        "see), else 0.");
    ngx_http_jpulse_out_printf(&out, "jpulse_heartbeat_listed %ui\n",
                               wait->listed);

    ngx_memzero(counts, sizeof(counts));

    ngx_http_jpulse_prom_family((&out), "jpulse_cachectl_refused_files",
        "gauge", "Files a cachectl daemon of the cluster refuses (they do "
        "not validate: their last good version is served).");

    daemons = 0;
    servers = json_object_get(json_object_get(answer, "data"), "servers");

    json_array_foreach(servers, i, server) {
        instances = json_object_get(server, "instances");

        json_array_foreach(instances, j, inst) {
            if (!json_is_object(inst)) {
                continue;
            }

            v = json_object_get(inst, "kind");
            kind = json_is_string(v) ? json_string_value(v)
                   : ngx_http_jpulse_prom_json_int(
                         json_object_get(inst, "pm2Id")) == JP_PM2ID_NGINX
                     ? "nginx" : "node";

            for (k = 0; k < 3; k++) {
                if (ngx_strcmp(kind, kinds[k]) == 0) {
                    counts[k]++;
                    break;
                }
            }

            v = json_object_get(inst, "instanceId");

            if (k != 2 || !json_is_string(v)
                || daemons++ >= NGX_HTTP_JPULSE_PROM_DAEMONS_MAX)
            {
                continue;
            }

            id = json_string_value(v);

            ngx_http_jpulse_out_printf(&out,
                "jpulse_cachectl_refused_files{instance_id=\"");
            ngx_http_jpulse_prom_label(&out, id);
            ngx_http_jpulse_out_printf(&out, "\"} %L\n",
                ngx_http_jpulse_prom_json_int(json_object_get(
                    json_object_get(json_object_get(json_object_get(
                        inst, "components"), "cachectl"), "stats"),
                    "refused")));
        }
    }

    ngx_http_jpulse_prom_family((&out), "jpulse_cluster_instances", "gauge",
        "Instances in the cluster view this instance read from Redis "
        "(heartbeats and Node peers heard on pub/sub), by kind.");

    for (k = 0; k < 3; k++) {
        ngx_http_jpulse_out_printf(&out,
            "jpulse_cluster_instances{kind=\"%s\"} %ui\n", kinds[k],
            counts[k]);
    }

    json_decref(answer);

    if (out.failed) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK,
                                  &ngx_http_jpulse_prom_type);

    return rc;
}
