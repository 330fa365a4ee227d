/*
 * jPulse's GET /api/1/health/metrics (jpulse-contract.md 1.3).
 *
 * Each nginx instance describes itself as one "blob" in the shape of
 * jPulse's health broadcast (host facts, instances[] with this instance
 * and its workers, components in the W-112 registry format). The answer
 * merges this instance's live blob with the heartbeats of the other
 * instances of the cluster: servers[] grouped by hostname, statistics
 * summed.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include <jansson.h>

#include "jp_sysinfo.h"
#include "jp_time.h"
#include "jp_version.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_dashboard.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics_display.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_redis.h"


#define NGX_HTTP_JPULSE_MB  (1024 * 1024)


static void ngx_http_jpulse_json_instance(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_json_workers(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_json_components(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_json_mongo(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out);
static void ngx_http_jpulse_json_database(ngx_http_jpulse_out_t *out,
    const char *fmt);
static void ngx_http_jpulse_json_sanitize(json_t *servers);
static void ngx_http_jpulse_json_sanitize_components(json_t *components);
static void ngx_http_jpulse_json_iso(ngx_http_jpulse_out_t *out,
    const char *key, time_t sec);
static void ngx_http_jpulse_json_duration(ngx_http_jpulse_out_t *out,
    const char *key, time_t sec);


ngx_int_t
ngx_http_jpulse_metrics_blob(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    ngx_uint_t                   running;
    jp_host_stats_t             *host;
    ngx_http_jpulse_instance_t  *in;

    in = &ngx_http_jpulse_instance;
    host = &snap->host;
    running = snap->zone ? snap->workers.nelts : snap->worker_processes;

    ngx_http_jpulse_out_printf(out, "{\"kind\":\"nginx\",\"hostname\":");
    ngx_http_jpulse_out_json_str(out, in->hostname.data, in->hostname.len);
    ngx_http_jpulse_out_printf(out, ",\"serverName\":");
    ngx_http_jpulse_out_json_str(out, in->server_name.data,
                                 in->server_name.len);
    ngx_http_jpulse_out_printf(out,
        ",\"serverId\":%ul,\"ip\":\"%V\",\"uptime\":%uL,",
        in->server_id, &in->ip, host->uptime);
    ngx_http_jpulse_json_duration(out, "uptimeFormatted",
                                  (time_t) host->uptime);
    ngx_http_jpulse_out_printf(out,
        ",\"platform\":\"linux\",\"arch\":\"%s\",\"nodeVersion\":null,"
        "\"nginxVersion\":\"" NGINX_VERSION "\",\"cpus\":%l,"
        "\"loadAverage\":[%.2f,%.2f,%.2f],"
        "\"freeMemory\":%uL,\"totalMemory\":%uL,",
#if defined(__x86_64__)
        "x64",
#elif defined(__aarch64__)
        "arm64",
#else
        "unknown",
#endif
        host->cpus, host->load[0], host->load[1], host->load[2],
        host->free_memory / NGX_HTTP_JPULSE_MB,
        host->total_memory / NGX_HTTP_JPULSE_MB);

    ngx_http_jpulse_json_database(out,
        "\"database\":{\"type\":\"MongoDB\",\"status\":\"%V\"},");

    ngx_http_jpulse_out_printf(out,
        "\"totalInstances\":1,\"totalProcesses\":%ui,"
        "\"runningProcesses\":%ui,\"stoppedProcesses\":0,"
        "\"erroredProcesses\":0,\"totalWebSocketConnections\":0,"
        "\"totalWebSocketMessages\":0,\"webSocketNamespaces\":[],"
        "\"instances\":[",
        ngx_max(snap->worker_processes, running), running);

    ngx_http_jpulse_json_instance(snap, out);

    ngx_http_jpulse_out_printf(out, "],\"components\":");
    ngx_http_jpulse_json_components(snap, out);
    ngx_http_jpulse_out_printf(out, ",");
    ngx_http_jpulse_out_timestamp(out);
    ngx_http_jpulse_out_printf(out, "}");

    return out->failed ? NGX_ERROR : NGX_OK;
}


static void
ngx_http_jpulse_json_instance(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                     total, rate, memory;
    ngx_http_jpulse_instance_t  *in;

    in = &ngx_http_jpulse_instance;
    memory = ngx_max(snap->host.total_memory, 1);

    total = snap->totals.recent_requests;
    /* percent with two decimals, rounded like JavaScript's toFixed(2) */
    rate = total ? (snap->totals.recent_errors * 10000 + total / 2) / total
                 : 0;

    ngx_http_jpulse_out_printf(out,
        "{\"pid\":%P,\"pm2Id\":%d,\"port\":%ui,\"instanceName\":",
        in->pid, JP_PM2ID_NGINX, snap->port);
    ngx_http_jpulse_out_json_str(out, in->instance_name.data,
                                 in->instance_name.len);
    ngx_http_jpulse_out_printf(out,
        ",\"instanceId\":\"%V\",\"pm2Available\":false,"
        "\"reason\":\"nginx instance (" JP_NAME ")\","
        "\"status\":\"online\",\"uptime\":%T,",
        &in->instance_id, ngx_http_jpulse_instance_uptime());
    ngx_http_jpulse_json_duration(out, "uptimeFormatted",
                                  ngx_http_jpulse_instance_uptime());
    ngx_http_jpulse_out_printf(out,
        ",\"memory\":{\"used\":%uL,\"total\":%uL,\"percentage\":%uL},"
        "\"cpu\":null,\"restarts\":0,"
        "\"jPulse\":{\"version\":\"" JP_VERSION "\","
        "\"release\":\"" JP_RELEASE "\"},"
        "\"site\":{\"version\":null,\"release\":null},"
        "\"environment\":\"%V\",\"siteId\":\"%V\","
        "\"redis\":{\"status\":\"%V\"},"
        "\"metrics\":{\"requestsPerMin\":%uL,\"errorsPerMin\":%uL,"
        "\"errorRate\":\"%uL.%02uL\"},"
        "\"websockets\":{\"uptime\":%T,\"localConnections\":0,"
        "\"localMessages\":0,\"namespaces\":[]},"
        "\"processInfo\":{\"memoryUsage\":{\"rss\":%uL}},"
        "\"components\":",
        snap->rss / NGX_HTTP_JPULSE_MB, memory / NGX_HTTP_JPULSE_MB,
        snap->rss * 100 / memory,
        &snap->jmcf->mode, &snap->jmcf->site_id,
        ngx_http_jpulse_dependency_state_name(
            ngx_http_jpulse_dependency_state(NGX_HTTP_JPULSE_DEP_REDIS)),
        snap->totals.recent_requests, snap->totals.recent_errors,
        rate / 100, rate % 100,
        ngx_http_jpulse_instance_uptime(),
        snap->master_rss);

    ngx_http_jpulse_json_components(snap, out);

    ngx_http_jpulse_json_database(out, ",\"database\":{\"status\":\"%V\"}");

    ngx_http_jpulse_out_printf(out, ",\"workers\":");
    ngx_http_jpulse_json_workers(snap, out);
    ngx_http_jpulse_out_printf(out, "}");
}


static void
ngx_http_jpulse_json_workers(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                        requests, errors;
    ngx_uint_t                      i, h;
    ngx_http_jpulse_worker_view_t  *w;

    ngx_http_jpulse_out_printf(out, "[");

    w = snap->workers.elts;

    for (i = 0; i < snap->workers.nelts; i++) {
        requests = 0;
        errors = 0;

        for (h = 0; h < NGX_HTTP_JPULSE_HANDLERS; h++) {
            requests += w[i].totals.counts.requests[h][0]
                        + w[i].totals.counts.requests[h][1]
                        + w[i].totals.counts.requests[h][2]
                        + w[i].totals.counts.requests[h][3]
                        + w[i].totals.counts.requests[h][4]
                        + w[i].totals.counts.requests[h][5];
            errors += w[i].totals.counts.requests[h][4];
        }

        ngx_http_jpulse_out_printf(out,
            "%s{\"pid\":%P,\"worker\":%i,\"slot\":%ui,\"current\":%s,",
            i ? "," : "", w[i].pid, w[i].worker, w[i].slot,
            w[i].pid == ngx_pid ? "true" : "false");
        ngx_http_jpulse_json_iso(out, "since", w[i].claimed);
        ngx_http_jpulse_out_printf(out,
            ",\"requests\":%uL,\"errors\":%uL,\"requestsPerMin\":%uL,"
            "\"bytesOut\":%uL,\"memory\":{\"rss\":%uL}}",
            requests, errors, w[i].totals.recent_requests,
            w[i].totals.counts.bytes_out, w[i].rss);
    }

    ngx_http_jpulse_out_printf(out, "]");
}


/*
 * Components in the W-112 registry format: {component, status,
 * initialized, stats, meta{ttl, category, fields{f:{aggregate}}},
 * timestamp}, so jPulse's dashboard can aggregate them with Node peers.
 */

static void
ngx_http_jpulse_json_components(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                              count, commands, by_class[6];
    ngx_uint_t                            h, c;
    ngx_http_jpulse_counts_t             *counts;
    ngx_http_jpulse_metrics_shm_t        *sh;
    ngx_http_jpulse_redis_cluster_info_t  cluster;

    counts = &snap->totals.counts;

    ngx_memzero(by_class, sizeof(by_class));

    for (h = 0; h < NGX_HTTP_JPULSE_HANDLERS; h++) {
        for (c = 0; c < NGX_HTTP_JPULSE_STATUS_CLASSES; c++) {
            by_class[c] += counts->requests[h][c];
        }
    }

    count = by_class[0] + by_class[1] + by_class[2] + by_class[3]
            + by_class[4] + by_class[5];

    ngx_http_jpulse_out_printf(out,
        "{\"http\":{\"component\":\"HttpRequests\",\"status\":\"%s\","
        "\"initialized\":%s,\"stats\":{\"requests\":%uL,"
        "\"requests1xx\":%uL,\"requests2xx\":%uL,\"requests3xx\":%uL,"
        "\"requests4xx\":%uL,\"requests5xx\":%uL,\"bytesOut\":%uL,"
        "\"latencyMsTotal\":%uL,\"avgLatencyMs\":%uL,\"byHandler\":{",
        snap->zone ? "ok" : "warning", snap->zone ? "true" : "false",
        count, by_class[0], by_class[1], by_class[2], by_class[3],
        by_class[4], counts->bytes_out, counts->latency_ms,
        count ? (counts->latency_ms + count / 2) / count : 0);

    for (h = 0; h < NGX_HTTP_JPULSE_HANDLERS; h++) {
        ngx_http_jpulse_out_printf(out,
            "%s\"%V\":{\"1xx\":%uL,\"2xx\":%uL,\"3xx\":%uL,\"4xx\":%uL,"
            "\"5xx\":%uL}",
            h ? "," : "", &ngx_http_jpulse_handler_names[h],
            counts->requests[h][0], counts->requests[h][1],
            counts->requests[h][2], counts->requests[h][3],
            counts->requests[h][4]);
    }

    ngx_http_jpulse_out_printf(out,
        "}},\"meta\":{\"ttl\":0,\"category\":\"nginx\",\"fields\":{"
        "\"requests\":{\"aggregate\":\"sum\"},"
        "\"bytesOut\":{\"aggregate\":\"sum\"},"
        "\"avgLatencyMs\":{\"aggregate\":\"avg\"},"
        "\"byHandler\":{\"aggregate\":false}}},");
    ngx_http_jpulse_out_timestamp(out);

    ngx_http_jpulse_out_printf(out,
        "},\"module\":{\"component\":\"JPulseModule\",\"status\":\"ok\","
        "\"initialized\":true,\"stats\":{");

    for (c = 0; c < NGX_HTTP_JPULSE_COUNTERS; c++) {
        ngx_http_jpulse_out_printf(out, "%s\"%V\":%uL", c ? "," : "",
                                   &ngx_http_jpulse_counter_names[c],
                                   counts->counters[c]);
    }

    for (c = 0; c < NGX_HTTP_JPULSE_SESS_COUNTERS; c++) {
        ngx_http_jpulse_out_printf(out, ",\"%V\":%uL",
                                   &ngx_http_jpulse_session_counter_names[c],
                                   counts->sessions[c]);
    }

    ngx_http_jpulse_out_printf(out,
        ",\"template_cache_bytes\":%uL,\"redis_pending\":%uL,"
        "\"session_table_bytes\":%uL,\"session_table_entries\":%uL,"
        "\"session_cache_bytes\":%uL,\"session_cache_entries\":%uL},"
        "\"meta\":{\"ttl\":0,\"category\":\"nginx\",\"fields\":{}},",
        snap->totals.gauges[NGX_HTTP_JPULSE_CACHE_BYTES],
        snap->totals.gauges[NGX_HTTP_JPULSE_REDIS_PENDING],
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_TABLE_BYTES],
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES],
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_CACHE_BYTES],
        snap->totals.gauges[NGX_HTTP_JPULSE_SESS_CACHE_ENTRIES]);
    ngx_http_jpulse_out_timestamp(out);
    ngx_http_jpulse_out_printf(out, "}");

    if (snap->stub_status) {
        ngx_http_jpulse_out_printf(out,
            ",\"connections\":{\"component\":\"NginxConnections\","
            "\"status\":\"ok\",\"initialized\":true,\"stats\":{"
            "\"accepted\":%uL,\"handled\":%uL,\"requests\":%uL,"
            "\"active\":%uL,\"reading\":%uL,\"writing\":%uL,"
            "\"waiting\":%uL},\"meta\":{\"ttl\":0,\"category\":\"nginx\","
            "\"fields\":{}},",
            snap->connections.accepted, snap->connections.handled,
            snap->connections.requests, snap->connections.active,
            snap->connections.reading, snap->connections.writing,
            snap->connections.waiting);
        ngx_http_jpulse_out_timestamp(out);
        ngx_http_jpulse_out_printf(out, "}");
    }

    if (ngx_http_jpulse_redis_configured()) {
        commands = counts->counters[NGX_HTTP_JPULSE_REDIS_COMMANDS];

        ngx_http_jpulse_out_printf(out,
            ",\"redis\":{\"component\":\"Redis\",\"status\":\"%s\","
            "\"initialized\":true,\"stats\":{\"connected\":%s,"
            "\"commands\":%uL,\"errors\":%uL,\"reconnects\":%uL,"
            "\"avgLatencyUs\":%uL,\"p99LatencyUs\":%uL",
            ngx_http_jpulse_redis_ready() ? "ok" : "error",
            ngx_http_jpulse_redis_ready() ? "true" : "false",
            commands, counts->counters[NGX_HTTP_JPULSE_REDIS_ERRORS],
            counts->counters[NGX_HTTP_JPULSE_REDIS_RECONNECTS],
            commands ? (counts->redis_latency_us + commands / 2) / commands
                     : 0,
            ngx_http_jpulse_metrics_redis_quantile(counts, 990));

        /* the map is this worker's view; the redirects all workers' */

        if (ngx_http_jpulse_redis_cluster_info(&cluster)) {
            ngx_http_jpulse_out_printf(out,
                ",\"cluster\":{\"nodes\":%ui,\"nodesReady\":%ui,"
                "\"mapGeneration\":%uL,\"coveredSlots\":%ui,"
                "\"subscriber\":\"%s:%ui\",\"moved\":%uL,\"ask\":%uL,"
                "\"tryagain\":%uL,\"refreshes\":%uL}",
                cluster.nodes, cluster.ready, cluster.generation,
                cluster.covered, cluster.subscriber,
                cluster.subscriber_port,
                counts->counters[NGX_HTTP_JPULSE_REDIS_CLUSTER_MOVED],
                counts->counters[NGX_HTTP_JPULSE_REDIS_CLUSTER_ASK],
                counts->counters[NGX_HTTP_JPULSE_REDIS_CLUSTER_TRYAGAIN],
                counts->counters[NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESHES]);
        }

        ngx_http_jpulse_out_printf(out,
            "},\"meta\":{\"ttl\":0,\"category\":\"nginx\",\"fields\":{"
            "\"commands\":{\"aggregate\":\"sum\"},"
            "\"errors\":{\"aggregate\":\"sum\"},"
            "\"reconnects\":{\"aggregate\":\"sum\"}}},");
        ngx_http_jpulse_out_timestamp(out);
        ngx_http_jpulse_out_printf(out, "}");
    }

    ngx_http_jpulse_json_mongo(snap, out);

    if (snap->zone) {
        sh = snap->zone->sh;

        ngx_http_jpulse_out_printf(out,
            ",\"metricsZone\":{\"component\":\"MetricsZone\","
            "\"status\":\"%s\",\"initialized\":true,\"stats\":{\"name\":",
            sh->unslotted ? "warning" : "ok");
        ngx_http_jpulse_out_json_str(out, snap->zone->name.data,
                                     snap->zone->name.len);
        ngx_http_jpulse_out_printf(out,
            ",\"size\":%uz,\"slots\":%ui,\"slotsUsed\":%ui,"
            "\"reloads\":%ui,\"resizes\":%ui,\"claimFailures\":%ui,"
            "\"workersWithoutSlot\":%ui},"
            "\"meta\":{\"ttl\":0,\"category\":\"nginx\",\"fields\":{}},",
            snap->zone->size, sh->nslots, snap->workers.nelts,
            sh->reloads, sh->resizes, sh->claim_failures, sh->unslotted);
        ngx_http_jpulse_out_timestamp(out);
        ngx_http_jpulse_out_printf(out, "}");
    }

    ngx_http_jpulse_out_printf(out, "}");
}


/* ,"mongodb":{...}: the operations of jpulse_mongodb, summed over workers */

static void
ngx_http_jpulse_json_mongo(ngx_http_jpulse_snapshot_t *snap,
    ngx_http_jpulse_out_t *out)
{
    uint64_t                   total[NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES], n;
    ngx_uint_t                 i, o, b, up;
    ngx_http_jpulse_counts_t  *counts;

    if (!ngx_http_jpulse_mongo_configured()) {
        return;
    }

    counts = &snap->totals.counts;
    up = ngx_http_jpulse_mongo_connected();

    ngx_memzero(total, sizeof(total));

    for (i = 0; i < NGX_HTTP_JPULSE_MONGO_OP_NAMES; i++) {
        for (o = 0; o < NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES; o++) {
            total[o] += counts->mongo_ops[i][o];
        }
    }

    n = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_MONGO_BUCKETS; b++) {
        n += counts->mongo_latency[b];
    }

    ngx_http_jpulse_out_printf(out,
        ",\"mongodb\":{\"component\":\"MongoDB\",\"status\":\"%s\","
        "\"initialized\":true,\"stats\":{\"connected\":%s,"
        "\"database\":",
        up ? "ok" : "error", up ? "true" : "false");
    ngx_http_jpulse_out_json_str(out,
                                 (u_char *) ngx_http_jpulse_mongo_db_name(),
                                 ngx_strlen(ngx_http_jpulse_mongo_db_name()));
    ngx_http_jpulse_out_printf(out,
        ",\"operations\":%uL,\"errors\":%uL,\"busy\":%uL,"
        "\"unavailable\":%uL,\"avgLatencyMs\":%uL,"
        "\"pending\":%uL,\"inFlight\":%uL,\"poolMax\":%uL,"
        "\"byOperation\":{",
        total[NGX_HTTP_JPULSE_MONGO_OP_OK]
        + total[NGX_HTTP_JPULSE_MONGO_OP_ERROR]
        + total[NGX_HTTP_JPULSE_MONGO_OP_BUSY]
        + total[NGX_HTTP_JPULSE_MONGO_OP_UNAVAILABLE],
        total[NGX_HTTP_JPULSE_MONGO_OP_ERROR],
        total[NGX_HTTP_JPULSE_MONGO_OP_BUSY],
        total[NGX_HTTP_JPULSE_MONGO_OP_UNAVAILABLE],
        n ? (counts->mongo_latency_us / n + 500) / 1000 : 0,
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_PENDING],
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_RUNNING],
        snap->totals.gauges[NGX_HTTP_JPULSE_MONGO_POOL_MAX]);

    for (i = 0; i < NGX_HTTP_JPULSE_MONGO_OP_NAMES; i++) {
        ngx_http_jpulse_out_printf(out, "%s\"%V\":{", i ? "," : "",
                                   &ngx_http_jpulse_mongo_op_names[i]);

        for (o = 0; o < NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES; o++) {
            ngx_http_jpulse_out_printf(out, "%s\"%V\":%uL", o ? "," : "",
                                       &ngx_http_jpulse_mongo_outcome_names[o],
                                       counts->mongo_ops[i][o]);
        }

        ngx_http_jpulse_out_printf(out, "}");
    }

    ngx_http_jpulse_out_printf(out, "},\"latencyMs\":{");

    for (b = 0; b < NGX_HTTP_JPULSE_MONGO_BUCKETS - 1; b++) {
        ngx_http_jpulse_out_printf(out, "\"le%ui\":%uL,",
                                   ngx_http_jpulse_mongo_bounds_ms[b],
                                   counts->mongo_latency[b]);
    }

    ngx_http_jpulse_out_printf(out,
        "\"over\":%uL}},"
        "\"meta\":{\"ttl\":0,\"category\":\"nginx\",\"fields\":{"
        "\"operations\":{\"aggregate\":\"sum\"},"
        "\"errors\":{\"aggregate\":\"sum\"},"
        "\"busy\":{\"aggregate\":\"sum\"},"
        "\"unavailable\":{\"aggregate\":\"sum\"}}},",
        counts->mongo_latency[b]);
    ngx_http_jpulse_out_timestamp(out);
    ngx_http_jpulse_out_printf(out, "}");
}


/*
 * jPulse's "database" is its MongoDB connection. An instance without one
 * has nothing true to say there: the field is left out (docs/protocol.md)
 * rather than filled with a state nobody measured. A Node peer on the same
 * host still fills the server's entry with its own.
 */

static void
ngx_http_jpulse_json_database(ngx_http_jpulse_out_t *out, const char *fmt)
{
    if (ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEP_DATABASE].state
        == NULL)
    {
        return;
    }

    ngx_http_jpulse_out_printf(out, fmt,
        ngx_http_jpulse_dependency_state_name(
            ngx_http_jpulse_dependency_state(NGX_HTTP_JPULSE_DEP_DATABASE)));
}


static void
ngx_http_jpulse_json_iso(ngx_http_jpulse_out_t *out, const char *key,
    time_t sec)
{
    char    iso[JP_ISO8601_LEN + 1];
    size_t  n;

    n = jp_time_iso8601(iso, sizeof(iso), sec, 0);

    ngx_http_jpulse_out_printf(out, "\"%s\":\"%*s\"", key, n, iso);
}


static void
ngx_http_jpulse_json_duration(ngx_http_jpulse_out_t *out, const char *key,
    time_t sec)
{
    char    text[JP_DURATION_MAX];
    size_t  n;

    n = jp_duration_format(text, sizeof(text), (uint64_t) sec);

    ngx_http_jpulse_out_printf(out, "\"%s\":\"%*s\"", key, n, text);
}


/* what a blob says about its host, copied into its entry of servers[] */
static const char  *ngx_http_jpulse_server_fields[] = {
    "serverName", "serverId", "hostname", "ip", "uptime", "uptimeFormatted",
    "platform", "arch", "nodeVersion", "nginxVersion", "cpus", "loadAverage",
    "freeMemory", "totalMemory", "database", NULL
};


/* counts of a blob that add up into statistics */
static const char  *ngx_http_jpulse_summed_fields[] = {
    "totalProcesses", "runningProcesses", "stoppedProcesses",
    "erroredProcesses", "totalWebSocketConnections",
    "totalWebSocketMessages", NULL
};

#define NGX_HTTP_JPULSE_SUMMED  6

#if JSON_INTEGER_IS_LONG_LONG
#define NGX_HTTP_JPULSE_JSON_INT_MAX  LLONG_MAX
#else
#define NGX_HTTP_JPULSE_JSON_INT_MAX  LONG_MAX
#endif


/* Adds one blob's instances to its host's entry; 0 for a malformed blob. */

static ngx_uint_t
ngx_http_jpulse_json_merge(json_t *servers, json_t *blob,
    json_int_t *sums, json_int_t *instances_total)
{
    size_t       i;
    json_t      *hostname, *instances, *server, *v;
    const char  *name;

    hostname = json_object_get(blob, "hostname");
    instances = json_object_get(blob, "instances");

    if (!json_is_string(hostname) || !json_is_array(instances)) {
        return 0;
    }

    name = json_string_value(hostname);
    server = NULL;

    json_array_foreach(servers, i, v) {
        if (ngx_strcmp(json_string_value(json_object_get(v, "hostname")),
                       name)
            == 0)
        {
            server = v;
            break;
        }
    }

    if (server == NULL) {
        server = json_object();
        if (server == NULL || json_array_append_new(servers, server) != 0) {
            return 0;
        }
    }

    /*
     * The first blob of a host describes it; a later one adds what the
     * first had nothing to say about (e.g. a Node peer's "database").
     */

    for (i = 0; ngx_http_jpulse_server_fields[i]; i++) {
        v = json_object_get(blob, ngx_http_jpulse_server_fields[i]);

        if (v && json_object_get(server, ngx_http_jpulse_server_fields[i])
                 == NULL)
        {
            (void) json_object_set(server, ngx_http_jpulse_server_fields[i],
                                   v);
        }
    }

    if (json_object_get(server, "instances") == NULL) {
        (void) json_object_set_new(server, "instances", json_array());
    }

    (void) json_array_extend(json_object_get(server, "instances"), instances);

    *instances_total += json_array_size(instances);

    /*
     * Peers' counts come from Redis and may be anything: a negative one
     * adds nothing, and a sum that would pass the largest integer stays
     * there rather than overflow.
     */

    for (i = 0; ngx_http_jpulse_summed_fields[i]; i++) {
        v = json_object_get(blob, ngx_http_jpulse_summed_fields[i]);

        if (json_is_integer(v) && json_integer_value(v) > 0
            && __builtin_add_overflow(sums[i], json_integer_value(v),
                                      &sums[i]))
        {
            sums[i] = NGX_HTTP_JPULSE_JSON_INT_MAX;
        }
    }

    return 1;
}


/*
 * jPulse's obfuscation of the metrics for a caller allowed to see them
 * who is not an admin (contract 1.3): what names or locates a host, a
 * process or a database. Only fields that are there are replaced.
 */

static void
ngx_http_jpulse_json_mask(json_t *obj, const char *key, json_t *value)
{
    if (json_is_object(obj) && json_object_get(obj, key) != NULL) {
        (void) json_object_set(obj, key, value);
    }
}


static void
ngx_http_jpulse_json_mask_str(json_t *obj, const char *key,
    const char *text)
{
    json_t  *v;

    if (json_is_object(obj) && json_object_get(obj, key) != NULL) {
        v = json_string(text);
        if (v != NULL) {
            (void) json_object_set_new(obj, key, v);
        }
    }
}


static void
ngx_http_jpulse_json_mask_all(json_t *obj, json_t *value)
{
    void  *it;

    if (!json_is_object(obj)) {
        return;
    }

    for (it = json_object_iter(obj); it; it = json_object_iter_next(obj, it))
    {
        (void) json_object_iter_set(obj, it, value);
    }
}


static void
ngx_http_jpulse_json_sanitize(json_t *servers)
{
    char         buf[64], id[40];
    size_t       i, j;
    json_t      *server, *instance, *db, *stars, *n99999, *n9999, *pm2;
    json_t      *pi;

    stars = json_string("********");
    n99999 = json_integer(99999);
    n9999 = json_integer(9999);

    if (stars == NULL || n99999 == NULL || n9999 == NULL) {
        goto done;
    }

    json_array_foreach(servers, i, server) {
        ngx_http_jpulse_json_mask(server, "serverName", stars);
        ngx_http_jpulse_json_mask(server, "hostname", stars);

        ngx_http_jpulse_json_mask_str(server, "serverId", "999");
        ngx_http_jpulse_json_mask_str(server, "ip", "192.99.99.99");

        db = json_object_get(server, "database");
        ngx_http_jpulse_json_mask(db, "hostname", stars);
        ngx_http_jpulse_json_mask(db, "database", stars);
        ngx_http_jpulse_json_mask_all(json_object_get(db, "connections"),
                                      n99999);
        ngx_http_jpulse_json_mask(db, "dataSize", n99999);
        ngx_http_jpulse_json_mask(db, "storageSize", n99999);

        json_array_foreach(json_object_get(server, "instances"), j,
                           instance)
        {
            ngx_http_jpulse_json_mask(instance, "pid", n99999);
            ngx_http_jpulse_json_mask(instance, "port", n9999);

            pi = json_object_get(instance, "processInfo");
            ngx_http_jpulse_json_mask(pi, "ppid", n99999);
            ngx_http_jpulse_json_mask_all(json_object_get(pi, "memoryUsage"),
                                          n99999);
            ngx_http_jpulse_json_mask_all(json_object_get(pi,
                                                          "resourceUsage"),
                                          n99999);

            ngx_http_jpulse_json_mask(json_object_get(instance, "database"),
                                      "name", stars);

            /* '********:' + pm2Id + ':99999', String() of the id */
            pm2 = json_object_get(instance, "pm2Id");

            if (json_is_integer(pm2)) {
                (void) snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT,
                                json_integer_value(pm2));

            } else if (json_is_string(pm2) && json_string_length(pm2) < 32) {
                (void) snprintf(id, sizeof(id), "%s",
                                json_string_value(pm2));

            } else {
                (void) snprintf(id, sizeof(id), "undefined");
            }

            (void) snprintf(buf, sizeof(buf), "********:%s:99999", id);
            ngx_http_jpulse_json_mask_str(instance, "instanceName", buf);

            (void) snprintf(buf, sizeof(buf), "999:%s:99999", id);
            ngx_http_jpulse_json_mask_str(instance, "instanceId", buf);

            ngx_http_jpulse_json_sanitize_components(
                                   json_object_get(instance, "components"));
        }
    }

done:

    json_decref(stars);
    json_decref(n99999);
    json_decref(n9999);
}


/* a component's stats field with sanitize: field's, else component's */

static void
ngx_http_jpulse_json_sanitize_components(json_t *components)
{
    void        *it, *f;
    json_t      *c, *meta, *fields, *stats, *field, *flag, *stars;
    const char  *key;

    if (!json_is_object(components)) {
        return;
    }

    stars = json_string("********");
    if (stars == NULL) {
        return;
    }

    for (it = json_object_iter(components); it;
         it = json_object_iter_next(components, it))
    {
        c = json_object_iter_value(it);
        meta = json_object_get(c, "meta");
        fields = json_object_get(meta, "fields");
        stats = json_object_get(c, "stats");

        if (!json_is_object(stats)) {
            continue;
        }

        for (f = json_object_iter(stats); f;
             f = json_object_iter_next(stats, f))
        {
            key = json_object_iter_key(f);
            field = json_object_get(fields, key);
            flag = json_object_get(field, "sanitize");

            if (!json_is_boolean(flag)) {
                flag = json_object_get(meta, "sanitize");
            }

            if (json_is_true(flag)) {
                (void) json_object_iter_set(stats, f, stars);
            }
        }
    }

    json_decref(stars);
}


ngx_int_t
ngx_http_jpulse_metrics_answer(ngx_http_request_t *r, ngx_str_t *local,
    ngx_str_t *remote, ngx_uint_t nremote)
{
    char                   *text, iso[JP_ISO8601_LEN + 1];
    json_t                 *mine, *blob, *servers, *stats, *data, *answer;
    ngx_int_t               rc;
    ngx_uint_t              i;
    ngx_time_t             *tp;
    json_int_t              sums[NGX_HTTP_JPULSE_SUMMED], instances;
    ngx_msec_int_t          elapsed;
    json_error_t            err;
    ngx_http_jpulse_out_t   out;

    mine = json_loadb((char *) local->data, local->len, 0, &err);
    servers = json_array();

    if (mine == NULL || servers == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "jpulse: the metrics blob of this instance is not "
                      "valid JSON: %s", err.text);
        json_decref(mine);
        json_decref(servers);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(sums, sizeof(sums));
    instances = 0;

    (void) ngx_http_jpulse_json_merge(servers, mine, sums, &instances);

    for (i = 0; i < nremote; i++) {
        blob = json_loadb((char *) remote[i].data, remote[i].len, 0, &err);

        if (blob == NULL
            || !ngx_http_jpulse_json_merge(servers, blob, sums, &instances))
        {
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "jpulse: skipping an unreadable instance "
                          "heartbeat of %uz bytes", remote[i].len);
        }

        json_decref(blob);
    }

    if (ngx_http_jpulse_access_metrics_sanitize(r)) {
        ngx_http_jpulse_json_sanitize(servers);
        ngx_http_jpulse_json_sanitize_components(
                                       json_object_get(mine, "components"));
    }

    tp = ngx_timeofday();
    (void) jp_time_iso8601(iso, sizeof(iso), tp->sec, (unsigned) tp->msec);

    elapsed = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                                + (tp->msec - r->start_msec));

    stats = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:[],s:O,s:s}",
                      "totalServers", (json_int_t) json_array_size(servers),
                      "totalInstances", instances,
                      "totalProcesses", sums[0],
                      "runningProcesses", sums[1],
                      "stoppedProcesses", sums[2],
                      "erroredProcesses", sums[3],
                      "totalWebSocketConnections", sums[4],
                      "totalWebSocketMessages", sums[5],
                      "totalWebSocketNamespaces", 0,
                      "webSocketNamespaces",
                      "components", json_object_get(mine, "components"),
                      "lastUpdated", iso);

    data = json_pack("{s:s,s:o,s:o}", "timestamp", iso,
                     "statistics", stats, "servers", servers);

    answer = json_pack("{s:b,s:s,s:I,s:o}", "success", 1,
                       "message", "jPulse Framework metrics data",
                       "elapsed", (json_int_t) ngx_max(elapsed, 0),
                       "data", data);

    json_decref(mine);

    /* the same cluster view, as the dashboard's page */
    if (answer && ngx_http_jpulse_dashboard_wants(r)) {
        return ngx_http_jpulse_dashboard_answer(r, answer);
    }

    /* or as Prometheus families */
    if (answer && ngx_http_jpulse_metrics_prom_waits(r)) {
        return ngx_http_jpulse_metrics_prom_cluster(r, answer);
    }

    text = answer ? json_dumps(answer, JSON_COMPACT) : NULL;

    json_decref(answer);

    if (text == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, (u_char *) text, ngx_strlen(text));

    free(text);

    rc = ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);

    return rc;
}
