/*
 * jpulse_heartbeat [interval=15s] [ttl=60s] | off;
 *
 * Every interval each worker offers the instance's heartbeat to Redis in
 * one script: the worker holding the instance's duty lease (or taking it
 * because its holder is gone) writes <ns>metrics:instance:<instanceId>
 * with the TTL and publishes the blob on jPulse's channel
 * controller:health:metrics:<instanceId>, and registers the instance in
 * <ns>metrics:registry (jp_registry.h); the others are turned away. So
 * one worker does the work, and the duty moves on by itself when that
 * worker is restarted. A graceful stop of nginx deletes the heartbeat,
 * leaves the registry and publishes jPulse's shutdown message, from the
 * master.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <poll.h>
#include <hiredis/hiredis.h>
#include <jansson.h>

#include "jp_redis_cluster.h"
#include "jp_registry.h"

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_cluster.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics_display.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_redis_conn.h"
#include "ngx_http_jpulse_redis_sentinel.h"


#define NGX_HTTP_JPULSE_CLUSTER_EXIT_TIMEOUT   500          /* ms, all */

/*
 * What one metrics answer reads of the others' heartbeats: a blob is a
 * few KB (t/140 takes 1 MB through); a bigger one (a peer gone wrong, or
 * hostile) is left out rather than held and parsed, and so is the rest
 * past the total
 */
#define NGX_HTTP_JPULSE_HEARTBEAT_MAX          (4 * 1024 * 1024)
#define NGX_HTTP_JPULSE_HEARTBEATS_MAX         (32 * 1024 * 1024)

/* Node peers heard on pub/sub, kept as jPulse keeps them (instanceTTL) */
#define NGX_HTTP_JPULSE_PEERS_MAX              256
#define NGX_HTTP_JPULSE_PEERS_BYTES            (8 * 1024 * 1024)
#define NGX_HTTP_JPULSE_PEER_TTL               60           /* s */


typedef struct {
    char                         *id;
    char                         *blob;         /* compact JSON */
    size_t                        len;
    time_t                        received;
} ngx_http_jpulse_peer_t;


typedef struct {
    ngx_str_t                     local;
} ngx_http_jpulse_collect_t;


static void ngx_http_jpulse_heartbeat_handler(ngx_event_t *ev);
static void ngx_http_jpulse_heartbeat_resync(void *data);
static void ngx_http_jpulse_heartbeat_reply(redisReply *reply, void *data);
static void ngx_http_jpulse_cluster_listed(ngx_http_request_t *r,
    redisReply *reply, void *data);
static void ngx_http_jpulse_cluster_fetched(ngx_http_request_t *r,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_jpulse_cluster_keys(ngx_cycle_t *cycle,
    ngx_pool_t *pool, ngx_http_jpulse_main_conf_t *jmcf);
static void ngx_http_jpulse_cluster_heard(ngx_str_t *channel,
    ngx_str_t *message, void *data);
static void ngx_http_jpulse_peer_forget(ngx_uint_t i);
static void ngx_http_jpulse_peers_expire(time_t now);
static ngx_int_t ngx_http_jpulse_cluster_answer(ngx_http_request_t *r,
    ngx_http_jpulse_collect_t *col, ngx_str_t *blobs, ngx_uint_t n);
static ngx_msec_t ngx_http_jpulse_cluster_now(void);
static ngx_int_t ngx_http_jpulse_cluster_exit_primary(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_msec_t deadline, char *host,
    int *port);
static ngx_int_t ngx_http_jpulse_cluster_wait(redisContext *c, short events,
    ngx_msec_t deadline);


/*
 * KEYS[1] duty lease, KEYS[2] heartbeat, KEYS[3] registry; ARGV: holder,
 * lease ms, heartbeat, ttl ms, channel, message, instance id. Returns 1
 * when this worker wrote.
 */
static const char  ngx_http_jpulse_heartbeat_script[] =
    JP_REGISTRY_LUA_PROLOGUE
    "if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then "
    "  if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end "
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "end "
    "redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4]) "
    JP_REGISTRY_LUA_ADD("KEYS[3]", "ARGV[7]", "ARGV[4]")
    "redis.call('PUBLISH', ARGV[5], ARGV[6]) "
    "return 1";


static const char  ngx_http_jpulse_registry_script[] = JP_REGISTRY_LUA_LIVE;


static ngx_event_t                   ngx_http_jpulse_heartbeat_event;
static ngx_http_jpulse_main_conf_t  *ngx_http_jpulse_cluster_conf;
static ngx_uint_t                    ngx_http_jpulse_heartbeat_failing;

static ngx_http_jpulse_peer_t  ngx_http_jpulse_peers[NGX_HTTP_JPULSE_PEERS_MAX];
static ngx_uint_t              ngx_http_jpulse_npeers;
static size_t                  ngx_http_jpulse_peers_bytes;

/*
 * MGET, but of strings no longer than ARGV[1], ARGV[2] bytes in all: a
 * larger one is the status 'large', one past the total or of another
 * type nil (MGET's answer)
 */
static const char  ngx_http_jpulse_mget_capped_lua[] =
    "local cap, total, used, r = tonumber(ARGV[1]), tonumber(ARGV[2]), 0, {} "
    "for i, k in ipairs(KEYS) do "
    "r[i] = false "
    "if redis.call('TYPE', k).ok == 'string' then "
    "local n = redis.call('STRLEN', k) "
    "if n > cap then r[i] = redis.status_reply('large') "
    "elseif used + n <= total then "
    "used = used + n r[i] = redis.call('GET', k) end end end "
    "return r";

static ngx_str_t  ngx_http_jpulse_health_prefix =
    ngx_string("controller:health:metrics:");

/* <ns>metrics:duty:<id>, <ns>metrics:instance:<id>, <ns>metrics:registry */
static ngx_str_t  ngx_http_jpulse_duty_key;
static ngx_str_t  ngx_http_jpulse_heartbeat_key;
static ngx_str_t  ngx_http_jpulse_registry_key;
static ngx_str_t  ngx_http_jpulse_health_channel;      /* <ns>bc:... */
static ngx_str_t  ngx_http_jpulse_health_name;          /* without <ns>bc: */


char *
ngx_http_jpulse_heartbeat(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t *jmcf = conf;

    ngx_str_t   *value;
    ngx_uint_t   i;

    if (jmcf->heartbeat != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2 && ngx_strcmp(value[1].data, "off") == 0) {
        jmcf->heartbeat = 0;
        return NGX_CONF_OK;
    }

    jmcf->heartbeat = 1;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "interval=", 9) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 9,
                                          &jmcf->heartbeat_interval, 0)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "ttl=", 4) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 4, &jmcf->heartbeat_ttl,
                                          0)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid jpulse_heartbeat parameter \"%V\"",
                       &value[i]);

    return NGX_CONF_ERROR;
}


static ngx_int_t
ngx_http_jpulse_cluster_keys(ngx_cycle_t *cycle, ngx_pool_t *pool,
    ngx_http_jpulse_main_conf_t *jmcf)
{
    u_char     *p;
    size_t      len;
    ngx_str_t  *ns, *keys, *id;

    ns = &jmcf->namespace;
    keys = &jmcf->ns_metrics;       /* the metrics group: one slot */
    id = &ngx_http_jpulse_instance.instance_id;

    len = keys->len + id->len + sizeof("bc:controller:health:metrics:") + 64;

    p = ngx_pnalloc(pool, 5 * len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_jpulse_duty_key.data = p;
    p = ngx_sprintf(p, "%Vmetrics:duty:%V", keys, id);
    ngx_http_jpulse_duty_key.len = p - ngx_http_jpulse_duty_key.data;

    ngx_http_jpulse_heartbeat_key.data = p;
    p = ngx_sprintf(p, "%Vmetrics:instance:%V", keys, id);
    ngx_http_jpulse_heartbeat_key.len = p
                                        - ngx_http_jpulse_heartbeat_key.data;

    ngx_http_jpulse_registry_key.data = p;
    p = ngx_sprintf(p, "%V" JP_REGISTRY_KEY, keys);
    ngx_http_jpulse_registry_key.len = p - ngx_http_jpulse_registry_key.data;

    ngx_http_jpulse_health_channel.data = p;
    p = ngx_sprintf(p, "%Vbc:controller:health:metrics:%V", ns, id);
    ngx_http_jpulse_health_channel.len =
                                     p - ngx_http_jpulse_health_channel.data;

    ngx_http_jpulse_health_name.data = ngx_http_jpulse_health_channel.data
                                       + ns->len + 3;
    ngx_http_jpulse_health_name.len = ngx_http_jpulse_health_channel.len
                                      - ns->len - 3;

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_cluster_init_process(ngx_cycle_t *cycle)
{
    ngx_event_t                  *ev;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    if (jmcf->redis == NULL || !jmcf->heartbeat
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ngx_http_jpulse_cluster_conf = jmcf;

    if (ngx_http_jpulse_cluster_keys(cycle, cycle->pool, jmcf) != NGX_OK) {
        return NGX_ERROR;
    }

    ev = &ngx_http_jpulse_heartbeat_event;

    ev->handler = ngx_http_jpulse_heartbeat_handler;
    ev->log = cycle->log;
    ev->data = jmcf;
    ev->cancelable = 1;

    /* soon after start, so that a new instance shows up at once */
    ngx_add_timer(ev, 200 + ngx_random() % 300);

    if (ngx_http_jpulse_redis_on_message(
                            (char *) ngx_http_jpulse_health_prefix.data,
                            ngx_http_jpulse_cluster_heard, NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_jpulse_redis_on_resync(ngx_http_jpulse_heartbeat_resync,
                                           NULL);
}


/*
 * jPulse's Node instances have no heartbeat key: they broadcast their
 * health blob on controller:health:metrics:<instanceId> every 20 s and
 * a shutdown message when they stop. Keep the latest blob of each, as
 * jPulse does, for 60 s. Blobs with a "kind" are ngx_jpulse's own, whose
 * heartbeat keys already describe them.
 */

static void
ngx_http_jpulse_cluster_heard(ngx_str_t *channel, ngx_str_t *message,
    void *data)
{
    char                    *text;
    size_t                   len;
    json_t                  *root, *blob, *id;
    ngx_uint_t               i, oldest;
    ngx_http_jpulse_peer_t  *peer;

    ngx_http_jpulse_peers_expire(ngx_time());

    root = json_loadb((char *) message->data, message->len, 0, NULL);
    if (root == NULL) {
        return;
    }

    blob = json_object_get(root, "data");
    id = json_object_get(root, "instanceId");

    if (!json_is_object(blob) || !json_is_string(id)) {
        goto done;
    }

    /* find the sender */

    for (i = 0; i < ngx_http_jpulse_npeers; i++) {
        if (ngx_strcmp(ngx_http_jpulse_peers[i].id, json_string_value(id))
            == 0)
        {
            break;
        }
    }

    if (channel->len > ngx_http_jpulse_health_prefix.len + 9
        && ngx_strncmp(channel->data + ngx_http_jpulse_health_prefix.len,
                       "shutdown:", 9) == 0)
    {
        if (i < ngx_http_jpulse_npeers) {
            ngx_http_jpulse_peer_forget(i);
        }

        goto done;
    }

    if (json_object_get(blob, "kind") != NULL) {
        goto done;
    }

    text = json_dumps(blob, JSON_COMPACT);
    if (text == NULL) {
        goto done;
    }

    len = ngx_strlen(text);

    if (i < ngx_http_jpulse_npeers) {
        ngx_http_jpulse_peer_forget(i);
    }

    if (ngx_http_jpulse_npeers == NGX_HTTP_JPULSE_PEERS_MAX) {
        oldest = 0;

        for (i = 1; i < ngx_http_jpulse_npeers; i++) {
            if (ngx_http_jpulse_peers[i].received
                < ngx_http_jpulse_peers[oldest].received)
            {
                oldest = i;
            }
        }

        ngx_http_jpulse_peer_forget(oldest);
    }

    if (ngx_http_jpulse_peers_bytes + len > NGX_HTTP_JPULSE_PEERS_BYTES) {
        free(text);
        goto done;
    }

    peer = &ngx_http_jpulse_peers[ngx_http_jpulse_npeers];

    peer->id = strdup(json_string_value(id));
    if (peer->id == NULL) {
        free(text);
        goto done;
    }

    peer->blob = text;
    peer->len = len;
    peer->received = ngx_time();

    ngx_http_jpulse_npeers++;
    ngx_http_jpulse_peers_bytes += len;

done:

    json_decref(root);
}


static void
ngx_http_jpulse_peer_forget(ngx_uint_t i)
{
    ngx_http_jpulse_peer_t  *peer;

    peer = &ngx_http_jpulse_peers[i];

    ngx_http_jpulse_peers_bytes -= peer->len;
    free(peer->id);
    free(peer->blob);

    *peer = ngx_http_jpulse_peers[--ngx_http_jpulse_npeers];
}


static void
ngx_http_jpulse_peers_expire(time_t now)
{
    ngx_uint_t  i;

    for (i = ngx_http_jpulse_npeers; i > 0; i--) {
        if (now - ngx_http_jpulse_peers[i - 1].received
            > NGX_HTTP_JPULSE_PEER_TTL)
        {
            ngx_http_jpulse_peer_forget(i - 1);
        }
    }
}


/* The heartbeats from Redis, the Node peers heard lately, and this one. */

static ngx_int_t
ngx_http_jpulse_cluster_answer(ngx_http_request_t *r,
    ngx_http_jpulse_collect_t *col, ngx_str_t *blobs, ngx_uint_t n)
{
    ngx_str_t   *all;
    ngx_uint_t   i;

    ngx_http_jpulse_peers_expire(ngx_time());

    if (ngx_http_jpulse_npeers == 0) {
        return ngx_http_jpulse_metrics_answer(r, &col->local, blobs, n);
    }

    all = ngx_palloc(r->pool, (n + ngx_http_jpulse_npeers)
                              * sizeof(ngx_str_t));
    if (all == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (n) {
        ngx_memcpy(all, blobs, n * sizeof(ngx_str_t));
    }

    /* the blobs stay put: nothing runs between here and the answer */

    for (i = 0; i < ngx_http_jpulse_npeers; i++) {
        all[n + i].data = (u_char *) ngx_http_jpulse_peers[i].blob;
        all[n + i].len = ngx_http_jpulse_peers[i].len;
    }

    return ngx_http_jpulse_metrics_answer(r, &col->local, all,
                                          n + ngx_http_jpulse_npeers);
}


/* Redis came back, perhaps empty: tell it who we are now. */

static void
ngx_http_jpulse_heartbeat_resync(void *data)
{
    ngx_event_t  *ev;

    ev = &ngx_http_jpulse_heartbeat_event;

    if (ev->timer_set) {
        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, 50 + ngx_random() % 100);
}


static void
ngx_http_jpulse_heartbeat_handler(ngx_event_t *ev)
{
    ngx_http_jpulse_main_conf_t *jmcf = ev->data;

    u_char                      *p;
    ngx_str_t                    blob, message;
    ngx_pool_t                  *pool;
    ngx_time_t                  *tp;
    const char                  *argv[13];
    size_t                       argvlen[13];
    u_char                       holder[NGX_INT64_LEN], lease[NGX_INT64_LEN];
    u_char                       ttl[NGX_INT64_LEN];
    ngx_http_jpulse_out_t        out;
    ngx_http_jpulse_snapshot_t   snap;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    ngx_add_timer(ev, jmcf->heartbeat_interval);

    if (!ngx_http_jpulse_redis_ready()) {
        return;
    }

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, ev->log);
    if (pool == NULL) {
        return;
    }

    ngx_http_jpulse_out_init(&out, pool);

    if (ngx_http_jpulse_metrics_snapshot(pool, jmcf, &snap) != NGX_OK
        || ngx_http_jpulse_metrics_blob(&snap, &out) != NGX_OK
        || ngx_http_jpulse_out_flatten(&out, &blob) != NGX_OK)
    {
        goto done;
    }

    /* jPulse's broadcast wire format around the blob */

    message.len = blob.len + ngx_http_jpulse_health_name.len
                  + ngx_http_jpulse_instance.instance_id.len + 128;
    message.data = ngx_pnalloc(pool, message.len);
    if (message.data == NULL) {
        goto done;
    }

    tp = ngx_timeofday();

    p = ngx_sprintf(message.data, "{\"channel\":\"%V\",\"data\":",
                    &ngx_http_jpulse_health_name);
    p = ngx_cpymem(p, blob.data, blob.len);
    p = ngx_sprintf(p, ",\"instanceId\":\"%V\",\"timestamp\":%uL}",
                    &ngx_http_jpulse_instance.instance_id,
                    (uint64_t) tp->sec * 1000 + tp->msec);
    message.len = p - message.data;

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_jpulse_heartbeat_script;
    argvlen[1] = sizeof(ngx_http_jpulse_heartbeat_script) - 1;
    argv[2] = "3";
    argvlen[2] = 1;
    argv[3] = (char *) ngx_http_jpulse_duty_key.data;
    argvlen[3] = ngx_http_jpulse_duty_key.len;
    argv[4] = (char *) ngx_http_jpulse_heartbeat_key.data;
    argvlen[4] = ngx_http_jpulse_heartbeat_key.len;
    argv[5] = (char *) ngx_http_jpulse_registry_key.data;
    argvlen[5] = ngx_http_jpulse_registry_key.len;
    argv[6] = (char *) holder;
    argvlen[6] = ngx_sprintf(holder, "%P", ngx_pid) - holder;
    argv[7] = (char *) lease;
    argvlen[7] = ngx_sprintf(lease, "%M", 2 * jmcf->heartbeat_interval)
                 - lease;
    argv[8] = (char *) blob.data;
    argvlen[8] = blob.len;
    argv[9] = (char *) ttl;
    argvlen[9] = ngx_sprintf(ttl, "%M", jmcf->heartbeat_ttl) - ttl;
    argv[10] = (char *) ngx_http_jpulse_health_channel.data;
    argvlen[10] = ngx_http_jpulse_health_channel.len;
    argv[11] = (char *) message.data;
    argvlen[11] = message.len;
    argv[12] = (char *) ngx_http_jpulse_instance.instance_id.data;
    argvlen[12] = ngx_http_jpulse_instance.instance_id.len;

    /* hiredis copies the command: the pool may go right after */

    (void) ngx_http_jpulse_redis_command(ngx_http_jpulse_heartbeat_reply,
                                         NULL, 13, argv, argvlen);

done:

    ngx_destroy_pool(pool);
}


static void
ngx_http_jpulse_heartbeat_reply(redisReply *reply, void *data)
{
    if (reply && reply->type == REDIS_REPLY_ERROR) {
        if (!ngx_http_jpulse_heartbeat_failing) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "jpulse heartbeat refused by Redis: %s",
                          reply->str);
            ngx_http_jpulse_heartbeat_failing = 1;
        }

        return;
    }

    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        ngx_http_jpulse_heartbeat_failing = 0;

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "jpulse heartbeat: %s",
                       reply->integer ? "written" : "another worker's duty");
    }
}


/*
 * The live members of the registry, then their heartbeats in one script:
 * two commands whatever else Redis holds (sessions, caches).
 */

ngx_int_t
ngx_http_jpulse_cluster_metrics(ngx_http_request_t *r, ngx_str_t *local)
{
    const char                 *argv[5];
    size_t                      argvlen[5];
    u_char                      max[NGX_INT_T_LEN];
    ngx_http_jpulse_collect_t  *col;

    if (ngx_http_jpulse_cluster_conf == NULL
        || !ngx_http_jpulse_redis_ready())
    {
        return ngx_http_jpulse_metrics_answer(r, local, NULL, 0);
    }

    col = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_collect_t));
    if (col == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    col->local = *local;

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_jpulse_registry_script;
    argvlen[1] = sizeof(ngx_http_jpulse_registry_script) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) ngx_http_jpulse_registry_key.data;
    argvlen[3] = ngx_http_jpulse_registry_key.len;
    argv[4] = (char *) max;
    argvlen[4] = ngx_sprintf(max, "%ui", (ngx_uint_t) JP_REGISTRY_MAX) - max;

    if (ngx_http_jpulse_redis_request(r, ngx_http_jpulse_cluster_listed,
                                      col, 5, argv, argvlen)
        == NGX_OK)
    {
        return NGX_DONE;
    }

    /* Redis just went away: this instance alone, like without Redis */

    return ngx_http_jpulse_metrics_answer(r, local, NULL, 0);
}


static void
ngx_http_jpulse_cluster_listed(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_collect_t *col = data;

    u_char                       *p;
    size_t                        i, len, prefix;
    ngx_str_t                    *ns;
    ngx_uint_t                    n;
    redisReply                   *id;
    const char                  **argv;
    size_t                       *argvlen;
    ngx_http_jpulse_prom_wait_t  *wait;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements == 0)
    {
        goto local_only;
    }

    argv = ngx_palloc(r->pool, (reply->elements + 5) * sizeof(char *));
    argvlen = ngx_palloc(r->pool, (reply->elements + 5) * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        goto local_only;
    }

    n = 0;

    ns = &ngx_http_jpulse_cluster_conf->ns_metrics;
    prefix = ns->len + sizeof("metrics:instance:") - 1;

    for (i = 0; i < reply->elements; i++) {
        id = reply->element[i];

        if (id->type != REDIS_REPLY_STRING) {
            continue;
        }

        /* ours is described live, not by its heartbeat */

        if ((size_t) id->len == ngx_http_jpulse_instance.instance_id.len
            && ngx_strncmp(id->str, ngx_http_jpulse_instance.instance_id.data,
                           id->len)
               == 0)
        {
            wait = ngx_http_jpulse_metrics_prom_waits(r);

            if (wait) {
                wait->listed = 1;
            }

            continue;
        }

        len = prefix + id->len;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            goto local_only;
        }

        argv[n + 3] = (char *) p;
        argvlen[n + 3] = len;

        p = ngx_sprintf(p, "%Vmetrics:instance:", ns);
        ngx_memcpy(p, id->str, id->len);

        n++;
    }

    if (n == 0) {
        goto local_only;
    }

    if (ngx_http_jpulse_mget_capped(r, ngx_http_jpulse_cluster_fetched, col,
                                    argv, argvlen, n,
                                    NGX_HTTP_JPULSE_HEARTBEAT_MAX,
                                    NGX_HTTP_JPULSE_HEARTBEATS_MAX)
        != NGX_OK)
    {
        goto local_only;
    }

    /* the script holds the request now */
    ngx_http_finalize_request(r, NGX_DONE);
    return;

local_only:

    ngx_http_finalize_request(r,
                              ngx_http_jpulse_cluster_answer(r, col, NULL, 0));
}


static void
ngx_http_jpulse_cluster_fetched(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_collect_t *col = data;

    size_t       i;
    ngx_str_t   *blobs;
    ngx_uint_t   n;
    redisReply  *v;

    n = 0;
    blobs = NULL;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements) {
        blobs = ngx_palloc(r->pool, reply->elements * sizeof(ngx_str_t));
    }

    /*
     * keys that expired since the registry was read come back nil, blobs
     * over the caps nil or 'large': only the strings are heartbeats
     */

    for (i = 0; blobs && i < reply->elements; i++) {
        v = reply->element[i];

        if (v->type == REDIS_REPLY_STRING) {
            blobs[n].data = (u_char *) v->str;
            blobs[n].len = v->len;
            n++;
        }
    }

    /* the strings are the reply's: answer before it is freed */

    ngx_http_finalize_request(r,
                              ngx_http_jpulse_cluster_answer(r, col, blobs, n));
}


ngx_int_t
ngx_http_jpulse_mget_capped(ngx_http_request_t *r,
    ngx_http_jpulse_redis_request_pt handler, void *data, const char **argv,
    size_t *argvlen, ngx_uint_t n, size_t cap, size_t total)
{
    u_char  *p, *nums;

    nums = ngx_pnalloc(r->pool, 3 * NGX_INT_T_LEN);
    if (nums == NULL) {
        return NGX_ERROR;
    }

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_jpulse_mget_capped_lua;
    argvlen[1] = sizeof(ngx_http_jpulse_mget_capped_lua) - 1;

    /* numkeys, then the two caps after the keys */

    p = ngx_sprintf(nums, "%ui", n);
    argv[2] = (char *) nums;
    argvlen[2] = p - nums;

    argv[n + 3] = (char *) p;
    p = ngx_sprintf(p, "%uz", cap);
    argvlen[n + 3] = p - (u_char *) argv[n + 3];

    argv[n + 4] = (char *) p;
    p = ngx_sprintf(p, "%uz", total);
    argvlen[n + 4] = p - (u_char *) argv[n + 4];

    return ngx_http_jpulse_redis_request(r, handler, data, (int) n + 5, argv,
                                         argvlen);
}


/*
 * The master, as nginx stops (not on a reload): the instance is gone, so
 * its heartbeat and its registry entry go at once and jPulse peers hear
 * the shutdown message. A short synchronous exchange is fine here: no
 * request is served any more. It has one deadline, EXIT_TIMEOUT from the
 * start, for everything (connect, AUTH, SELECT, the commands): hiredis'
 * own timeouts would restart with every step and every read. The commands
 * go out in one write, so a Redis that is only slow still runs them all.
 */

void
ngx_http_jpulse_cluster_exit_process(ngx_cycle_t *cycle)
{
    while (ngx_http_jpulse_npeers) {
        ngx_http_jpulse_peer_forget(ngx_http_jpulse_npeers - 1);
    }
}


void
ngx_http_jpulse_cluster_exit_master(ngx_cycle_t *cycle)
{
    int                                     done;
    u_char                                 *p;
    void                                   *aux;
    ngx_int_t                               rc;
    ngx_uint_t                              i, k, n, del, seed, moved;
    ngx_msec_t                              deadline;
    ngx_pool_t                             *pool;
    const char                             *why;
    redisReply                             *reply;
    int                                     port;
    redisContext                           *c;
    jp_rc_redirect_t                        redirect;
    ngx_http_jpulse_main_conf_t            *jmcf;
    ngx_http_jpulse_redis_conf_t           *rcf;
    ngx_http_jpulse_redis_sentinel_addr_t  *sa;
    u_char                                  message[1024];
    char                                    host[NGX_SOCKADDR_STRLEN + 1];

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    if (jmcf == NULL || jmcf->redis == NULL || !jmcf->heartbeat) {
        return;
    }

    rcf = jmcf->redis;

    deadline = ngx_http_jpulse_cluster_now()
               + NGX_HTTP_JPULSE_CLUSTER_EXIT_TIMEOUT;

    pool = ngx_create_pool(NGX_DEFAULT_POOL_SIZE, cycle->log);
    if (pool == NULL) {
        return;
    }

    ngx_http_jpulse_instance_init(cycle);

    if (ngx_http_jpulse_cluster_keys(cycle, pool, jmcf) != NGX_OK) {
        ngx_destroy_pool(pool);
        return;
    }

    seed = 0;
    moved = 0;
    port = 0;

again:

    why = NULL;
    c = NULL;

    if (rcf->cluster) {
        /*
         * The seeds in turn; the metrics group's primary is whichever
         * answers MOVED to the DEL (its keys share one slot): once.
         */

        if (!moved) {
            sa = rcf->cluster->elts;
            ngx_cpystrn((u_char *) host, sa[seed].host, sizeof(host));
            port = sa[seed].port;
        }

        c = redisConnectNonBlock(host, port);

    } else if (rcf->sentinels) {
        /* the primary now, asked of the sentinels within the deadline */

        if (ngx_http_jpulse_cluster_exit_primary(cycle, rcf, deadline, host,
                                                 &port)
            != NGX_OK)
        {
            why = "no sentinel named the primary";
            goto failed;
        }

        c = redisConnectNonBlock(host, port);

    } else if (rcf->unix_path.len) {
        c = redisConnectUnixNonBlock((char *) rcf->unix_path.data);

    } else {
        c = redisConnectNonBlock((char *) rcf->host.data, rcf->port);
    }

    if (c == NULL || c->err) {
        why = c ? c->errstr : "out of memory";
        goto failed;
    }

    /* the connection is made once the socket is writable */

    rc = ngx_http_jpulse_cluster_wait(c, POLLOUT, deadline);
    if (rc != NGX_OK) {
        why = (rc == NGX_AGAIN) ? "no connection in time" : c->errstr;
        goto failed;
    }

    n = 0;

    if (rcf->password.len) {
        (void) redisAppendCommand(c, "AUTH %b", rcf->password.data,
                                  rcf->password.len);
        n++;
    }

    if (rcf->db) {
        (void) redisAppendCommand(c, "SELECT %d", (int) rcf->db);
        n++;
    }

    del = n;

    (void) redisAppendCommand(c, "DEL %b %b",
                              ngx_http_jpulse_heartbeat_key.data,
                              ngx_http_jpulse_heartbeat_key.len,
                              ngx_http_jpulse_duty_key.data,
                              ngx_http_jpulse_duty_key.len);

    (void) redisAppendCommand(c, "ZREM %b %b",
                              ngx_http_jpulse_registry_key.data,
                              ngx_http_jpulse_registry_key.len,
                              ngx_http_jpulse_instance.instance_id.data,
                              ngx_http_jpulse_instance.instance_id.len);

    /* jPulse's shutdown message: peers drop this instance at once */

    p = ngx_snprintf(message, sizeof(message),
                     "{\"channel\":\"controller:health:metrics:shutdown:%V\","
                     "\"data\":{\"action\":\"shutdown\",\"instanceId\":\"%V\","
                     "\"timestamp\":%uL},\"instanceId\":\"%V\","
                     "\"timestamp\":%uL}",
                     &ngx_http_jpulse_instance.instance_id,
                     &ngx_http_jpulse_instance.instance_id,
                     (uint64_t) ngx_time() * 1000,
                     &ngx_http_jpulse_instance.instance_id,
                     (uint64_t) ngx_time() * 1000);

    (void) redisAppendCommand(c, "PUBLISH %bbc:controller:health:metrics:"
                              "shutdown:%b %b",
                              jmcf->namespace.data, jmcf->namespace.len,
                              ngx_http_jpulse_instance.instance_id.data,
                              ngx_http_jpulse_instance.instance_id.len,
                              message, (size_t) (p - message));
    n += 3;

    if (c->err) {
        why = c->errstr;
        goto failed;
    }

    do {
        if (redisBufferWrite(c, &done) != REDIS_OK) {
            why = c->errstr;
            goto failed;
        }

        if (!done) {
            rc = ngx_http_jpulse_cluster_wait(c, POLLOUT, deadline);
            if (rc != NGX_OK) {
                why = (rc == NGX_AGAIN) ? "no answer in time" : c->errstr;
                goto failed;
            }
        }

    } while (!done);

    for (i = 0; i < n; i++) {

        for ( ;; ) {
            aux = NULL;

            if (redisGetReply(c, &aux) != REDIS_OK) {
                why = c->errstr;
                goto failed;
            }

            if (aux) {
                break;
            }

            rc = ngx_http_jpulse_cluster_wait(c, POLLIN, deadline);
            if (rc == NGX_OK && redisBufferRead(c) != REDIS_OK) {
                rc = NGX_ERROR;
            }

            if (rc != NGX_OK) {
                why = (rc == NGX_AGAIN) ? "no answer in time" : c->errstr;
                goto failed;
            }
        }

        reply = aux;

        ngx_log_debug3(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                       "jpulse exit: reply %ui of %ui, %i ms left",
                       i + 1, n,
                       (ngx_int_t) (deadline - ngx_http_jpulse_cluster_now()));

        if (i == del && reply->type == REDIS_REPLY_ERROR && rcf->cluster
            && !moved
            && jp_rc_parse_error(reply->str, reply->len, &redirect)
               == JP_RC_ERR_MOVED)
        {
            moved = 1;

            /* no DNS lookup in the master: an address only */

            if (redirect.host_len
                && !ngx_http_jpulse_redis_sentinel_numeric(
                                     (u_char *) redirect.host,
                                     redirect.host_len))
            {
                why = "MOVED to a host name";
                freeReplyObject(reply);
                goto failed;
            }

            if (redirect.host_len) {
                ngx_cpystrn((u_char *) host, (u_char *) redirect.host,
                            ngx_min(sizeof(host), redirect.host_len + 1));
            }

            port = (int) redirect.port;

            /*
             * The master knows no map: a seed only. The password goes to
             * no address that a reply named.
             */

            sa = rcf->cluster->elts;

            for (k = 0; k < rcf->cluster->nelts; k++) {
                if (sa[k].port == port
                    && ngx_strcmp(sa[k].host, (u_char *) host) == 0)
                {
                    break;
                }
            }

            if (k == rcf->cluster->nelts) {
                why = "MOVED to a node that is not a seed";
                freeReplyObject(reply);
                goto failed;
            }

            freeReplyObject(reply);
            redisFree(c);
            goto again;
        }

        if (i == del && reply->type == REDIS_REPLY_ERROR) {
            ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                          "jpulse: cannot remove the heartbeat of instance "
                          "%V at exit: %s",
                          &ngx_http_jpulse_instance.instance_id, reply->str);
        }

        freeReplyObject(reply);
    }

    goto done;

failed:

    if (rcf->cluster && !moved && ++seed < rcf->cluster->nelts
        && (ngx_msec_int_t) (deadline - ngx_http_jpulse_cluster_now()) > 0)
    {
        /* the next seed, within what is left of the deadline */

        if (c) {
            redisFree(c);
        }

        goto again;
    }

    ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                  "jpulse: cannot remove the heartbeat of instance %V at "
                  "exit (%s, %ui ms at most), it expires by itself",
                  &ngx_http_jpulse_instance.instance_id, why,
                  (ngx_uint_t) NGX_HTTP_JPULSE_CLUSTER_EXIT_TIMEOUT);

done:

    if (c) {
        redisFree(c);
    }

    ngx_destroy_pool(pool);
}


/*
 * The sentinels asked in order, each within what is left of the deadline
 * (a sentinel that does not answer may take it all: the goodbye is best
 * effort, the heartbeat expires by itself).
 */

static ngx_int_t
ngx_http_jpulse_cluster_exit_primary(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_msec_t deadline, char *host,
    int *port)
{
    int                                     done;
    void                                   *aux;
    ngx_int_t                               rc, n;
    ngx_uint_t                              i, k, want;
    redisReply                             *reply;
    redisContext                           *c;
    ngx_http_jpulse_redis_sentinel_addr_t  *sa;

    sa = rcf->sentinels->elts;

    for (i = 0; i < rcf->sentinels->nelts; i++) {

        if ((ngx_msec_int_t) (deadline - ngx_http_jpulse_cluster_now())
            <= 0)
        {
            return NGX_ERROR;
        }

        c = redisConnectNonBlock((char *) sa[i].host, sa[i].port);

        if (c == NULL || c->err) {
            goto next;
        }

        if (ngx_http_jpulse_cluster_wait(c, POLLOUT, deadline) != NGX_OK) {
            goto next;
        }

        want = 1;

        if (rcf->sentinel_password.len) {
            (void) redisAppendCommand(c, "AUTH %b",
                                      rcf->sentinel_password.data,
                                      rcf->sentinel_password.len);
            want++;
        }

        (void) redisAppendCommand(c, "SENTINEL get-master-addr-by-name %b",
                                  rcf->master.data, rcf->master.len);

        do {
            if (redisBufferWrite(c, &done) != REDIS_OK) {
                goto next;
            }

            if (!done
                && ngx_http_jpulse_cluster_wait(c, POLLOUT, deadline)
                   != NGX_OK)
            {
                goto next;
            }

        } while (!done);

        for (k = 0; k < want; k++) {

            for ( ;; ) {
                aux = NULL;

                if (redisGetReply(c, &aux) != REDIS_OK) {
                    goto next;
                }

                if (aux) {
                    break;
                }

                rc = ngx_http_jpulse_cluster_wait(c, POLLIN, deadline);
                if (rc != NGX_OK || redisBufferRead(c) != REDIS_OK) {
                    goto next;
                }
            }

            reply = aux;

            if (k + 1 < want) {
                freeReplyObject(reply);
                continue;
            }

            if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
                && reply->element[0]->type == REDIS_REPLY_STRING
                && reply->element[1]->type == REDIS_REPLY_STRING
                && reply->element[0]->len <= NGX_SOCKADDR_STRLEN)
            {
                n = ngx_atoi((u_char *) reply->element[1]->str,
                             reply->element[1]->len);

                /* numeric (IPv4, or IPv6): a name means blocking DNS */

                if (n > 0 && n < 65536
                    && ngx_http_jpulse_redis_sentinel_numeric(
                                     (u_char *) reply->element[0]->str,
                                     reply->element[0]->len))
                {
                    ngx_memcpy(host, reply->element[0]->str,
                               reply->element[0]->len);
                    host[reply->element[0]->len] = '\0';
                    *port = (int) n;

                    freeReplyObject(reply);
                    redisFree(c);

                    ngx_log_debug2(NGX_LOG_DEBUG_CORE, cycle->log, 0,
                                   "jpulse exit: primary at %s:%d",
                                   host, *port);
                    return NGX_OK;
                }
            }

            freeReplyObject(reply);
        }

    next:

        if (c) {
            redisFree(c);
        }
    }

    return NGX_ERROR;
}


/* monotonic ms: ngx_current_msec is not updated while the master exits */

static ngx_msec_t
ngx_http_jpulse_cluster_now(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (ngx_msec_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* NGX_OK: c's socket is ready; NGX_AGAIN: deadline passed; NGX_ERROR */

static ngx_int_t
ngx_http_jpulse_cluster_wait(redisContext *c, short events,
    ngx_msec_t deadline)
{
    int             n, err;
    socklen_t       len;
    ngx_msec_int_t  left;
    struct pollfd   pfd;

    for ( ;; ) {
        left = (ngx_msec_int_t) (deadline - ngx_http_jpulse_cluster_now());
        if (left <= 0) {
            return NGX_AGAIN;
        }

        pfd.fd = c->fd;
        pfd.events = events;
        pfd.revents = 0;

        n = poll(&pfd, 1, (int) left);

        if (n == -1 && ngx_errno == NGX_EINTR) {
            continue;
        }

        if (n == 0) {
            return NGX_AGAIN;
        }

        if (n == -1) {
            ngx_cpystrn((u_char *) c->errstr, (u_char *) strerror(ngx_errno),
                        sizeof(c->errstr));
            return NGX_ERROR;
        }

        break;
    }

    if (events == POLLOUT) {
        /* a connect that failed reports it here */

        err = 0;
        len = sizeof(int);

        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, (void *) &err, &len)
            == -1)
        {
            err = ngx_errno;
        }

        if (err) {
            ngx_cpystrn((u_char *) c->errstr, (u_char *) strerror(err),
                        sizeof(c->errstr));
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}
