/*
 * Redis Cluster in a worker (jpulse_redis cluster=H:P[,H:P...]).
 *
 * The slot map (libjpulse's jp_rc_map_t) comes from CLUSTER SLOTS, asked
 * of any node that is ready: a seed at first, then any node of the map;
 * again every ping_interval, after a connection fails and when a reply
 * says the map is wrong (rate-limited). Each primary the map names gets
 * a connection of its own (the usual ngx_http_jpulse_redis_conn_t, with
 * its timers, backoff and keepalive), made when the map names it; nodes
 * that leave the map are dropped once idle. A worker keeps at most
 * NGX_HTTP_JPULSE_REDIS_CLUSTER_NODES of them.
 *
 * The commands are routed and redirected in
 * ngx_http_jpulse_redis_cluster_cmd.c. The pub/sub connection (the
 * usual one of ngx_http_jpulse_redis.c) roams: it connects to a primary
 * of the map, another one after it fails; any node delivers every
 * message.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "jp_redis_cluster.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis_cluster.h"
#include "ngx_http_jpulse_redis_sentinel.h"


static void ngx_http_jpulse_redis_cluster_settled(
    ngx_http_jpulse_redis_conn_t *rc, ngx_uint_t ready);
static void ngx_http_jpulse_redis_cluster_connect(ngx_event_t *ev);
static void ngx_http_jpulse_redis_cluster_soon(ngx_msec_t delay);
static void ngx_http_jpulse_redis_cluster_tick(ngx_event_t *ev);
static void ngx_http_jpulse_redis_cluster_slots(redisReply *reply,
    void *data);
static void ngx_http_jpulse_redis_cluster_map_reply(redisReply *reply,
    ngx_http_jpulse_redis_node_t *node);
static void ngx_http_jpulse_redis_cluster_install(jp_rc_map_t *map);
static void ngx_http_jpulse_redis_cluster_failed(void);
static void ngx_http_jpulse_redis_cluster_forget(void);
static size_t ngx_http_jpulse_redis_cluster_count(redisReply *r);
static jp_resp_value_t *ngx_http_jpulse_redis_cluster_convert(redisReply *r,
    jp_resp_value_t *v, jp_resp_value_t *next);


static ngx_http_jpulse_redis_conf_t   *ngx_http_jpulse_redis_cluster_conf;
static ngx_log_t                      *ngx_http_jpulse_redis_cluster_log;
static ngx_pool_t                     *ngx_http_jpulse_redis_cluster_pool;
static ngx_event_handler_pt            ngx_http_jpulse_redis_cluster_ping;

static ngx_http_jpulse_redis_node_t
    *ngx_http_jpulse_redis_cluster_nodes[NGX_HTTP_JPULSE_REDIS_CLUSTER_NODES];
static ngx_uint_t     ngx_http_jpulse_redis_cluster_nnodes;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_cursor;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_picks;

static jp_rc_map_t   *ngx_http_jpulse_redis_cluster_map;
static uint64_t       ngx_http_jpulse_redis_cluster_generation;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_refreshing;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_wanted;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_refreshed;
static ngx_msec_t     ngx_http_jpulse_redis_cluster_last;
static ngx_msec_t     ngx_http_jpulse_redis_cluster_backoff;  /* 0: fine */
static ngx_msec_t     ngx_http_jpulse_redis_cluster_interval;
static ngx_event_t    ngx_http_jpulse_redis_cluster_timer;
static ngx_uint_t     ngx_http_jpulse_redis_cluster_full_logged;


ngx_int_t
ngx_http_jpulse_redis_cluster_init(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf,
    ngx_http_jpulse_redis_conn_t *subscriber, ngx_event_handler_pt keepalive)
{
    ngx_uint_t                              i;
    ngx_event_t                            *ev;
    ngx_http_jpulse_redis_node_t           *node;
    ngx_http_jpulse_redis_sentinel_addr_t  *seed;

    ngx_http_jpulse_redis_cluster_conf = rcf;
    ngx_http_jpulse_redis_cluster_log = cycle->log;
    ngx_http_jpulse_redis_cluster_pool = cycle->pool;
    ngx_http_jpulse_redis_cluster_ping = keepalive;

    ngx_http_jpulse_redis_cluster_cmd_init(cycle->log, rcf);

    /* the map is checked at least as often as the connections are */

    ngx_http_jpulse_redis_cluster_interval = rcf->ping_interval
                                             ? rcf->ping_interval : 10000;

    ev = &ngx_http_jpulse_redis_cluster_timer;
    ev->handler = ngx_http_jpulse_redis_cluster_tick;
    ev->log = cycle->log;
    ev->data = rcf;
    ev->cancelable = 1;

    subscriber->roams = 1;

    /* every seed at once: the first that answers gives the map */

    seed = rcf->cluster->elts;

    for (i = 0; i < rcf->cluster->nelts; i++) {
        node = ngx_http_jpulse_redis_cluster_node((char *) seed[i].host,
                                                  seed[i].port);
        if (node == NULL) {
            return NGX_ERROR;
        }

        ngx_http_jpulse_redis_cluster_ensure(node);
    }

    ngx_http_jpulse_redis_cluster_wanted = 1;

    ngx_add_timer(ev, ngx_http_jpulse_redis_cluster_interval);

    return NGX_OK;
}


void
ngx_http_jpulse_redis_cluster_exit(void)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node;

    if (ngx_http_jpulse_redis_cluster_timer.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_redis_cluster_timer);
    }

    ngx_http_jpulse_redis_cluster_cmd_exit();

    /* the commands in flight get their NULL replies */

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        if (node->connect.posted) {
            ngx_delete_posted_event(&node->connect);
        }

        ngx_http_jpulse_redis_conn_close(&node->rc);
    }

    if (ngx_http_jpulse_redis_cluster_map) {
        jp_rc_map_free(ngx_http_jpulse_redis_cluster_map);
        ngx_http_jpulse_redis_cluster_map = NULL;
    }
}


/*
 * The node at host:port, made on first use. Only addresses: hiredis
 * would resolve a hostname with blocking DNS (a cluster announcing
 * hostnames is not supported yet). NULL: not an address, or no room.
 */

ngx_http_jpulse_redis_node_t *
ngx_http_jpulse_redis_cluster_node(const char *host, unsigned port)
{
    size_t                         len;
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node, *idle;

    len = ngx_strlen(host);
    idle = NULL;

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        if (node->rc.port == port
            && ngx_strcmp(node->rc.addr, (u_char *) host) == 0)
        {
            return node;
        }

        if (idle == NULL && !node->in_map && node->rc.ac == NULL
            && node->rc.state == NGX_HTTP_JPULSE_REDIS_IDLE
            && !node->rc.retry.timer_set && node->rc.pending == 0
            && !node->connect.posted)
        {
            idle = node;
        }
    }

    if (len == 0 || len > NGX_SOCKADDR_STRLEN || port == 0 || port > 65535
        || !ngx_http_jpulse_redis_sentinel_numeric((u_char *) host, len))
    {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log,
                       0, "jpulse redis cluster: node \"%s:%ui\" is not an "
                       "address, ignored", host, (ngx_uint_t) port);
        return NULL;
    }

    if (ngx_http_jpulse_redis_cluster_nnodes
        < NGX_HTTP_JPULSE_REDIS_CLUSTER_NODES)
    {
        node = ngx_pcalloc(ngx_http_jpulse_redis_cluster_pool,
                           sizeof(ngx_http_jpulse_redis_node_t));
        if (node == NULL) {
            return NULL;
        }

        ngx_http_jpulse_redis_cluster_nodes[
                                ngx_http_jpulse_redis_cluster_nnodes++] = node;

    } else if (idle) {
        /* a node that left the map, unused now: its entry is reused */
        node = idle;

    } else {
        if (!ngx_http_jpulse_redis_cluster_full_logged) {
            ngx_log_error(NGX_LOG_WARN, ngx_http_jpulse_redis_cluster_log, 0,
                          "jpulse_redis \"%V\": more than %d cluster nodes "
                          "in use, %s:%ui not connected",
                          &ngx_http_jpulse_redis_cluster_conf->name,
                          NGX_HTTP_JPULSE_REDIS_CLUSTER_NODES, host,
                          (ngx_uint_t) port);
            ngx_http_jpulse_redis_cluster_full_logged = 1;
        }

        return NULL;
    }

    ngx_snprintf(node->role, sizeof(node->role) - 1,
                 "cluster node %s:%ui%Z", host, (ngx_uint_t) port);

    ngx_http_jpulse_redis_conn_init(&node->rc, (char *) node->role,
                                    ngx_http_jpulse_redis_cluster_conf,
                                    ngx_http_jpulse_redis_cluster_log,
                                    ngx_http_jpulse_redis_conn_start_ping,
                                    ngx_http_jpulse_redis_cluster_ping);

    ngx_memcpy(node->rc.addr, host, len + 1);
    node->rc.port = (in_port_t) port;
    node->rc.settled = ngx_http_jpulse_redis_cluster_settled;
    node->connect.handler = ngx_http_jpulse_redis_cluster_connect;
    node->connect.data = node;
    node->connect.log = ngx_http_jpulse_redis_cluster_log;

    node->used = 1;
    node->in_map = 0;

    return node;
}


/*
 * Connects a node that has no connection nor a retry scheduled, from a
 * posted event: asked from a failed command's callback, which may run
 * while conn_fail() frees that node's context and before it schedules
 * the retry, a connect made at once would be overwritten by the retry.
 */

void
ngx_http_jpulse_redis_cluster_ensure(ngx_http_jpulse_redis_node_t *node)
{
    if (!node->connect.posted && !ngx_http_jpulse_redis_shutting_down()) {
        ngx_post_event(&node->connect, &ngx_posted_events);
    }
}


static void
ngx_http_jpulse_redis_cluster_connect(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_node_t  *node = ev->data;

    if (node->rc.state == NGX_HTTP_JPULSE_REDIS_IDLE && node->rc.ac == NULL
        && !node->rc.retry.timer_set
        && !ngx_http_jpulse_redis_shutting_down())
    {
        ngx_http_jpulse_redis_conn_connect(&node->rc);
    }
}


/*
 * A node became ready: the map may wait for one. A node's connection
 * failed: it may have failed over or left, the map is asked again.
 */

static void
ngx_http_jpulse_redis_cluster_settled(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t ready)
{
    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    if (!ready || ngx_http_jpulse_redis_cluster_wanted
        || ngx_http_jpulse_redis_cluster_map == NULL)
    {
        ngx_http_jpulse_redis_cluster_refresh(ready ? "a node is ready"
                                                    : "a node failed");
    }

    /* requests waiting for the attempts: woken once all have ended */
    ngx_http_jpulse_redis_wait_notify();
}


ngx_uint_t
ngx_http_jpulse_redis_cluster_connecting(void)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return 0;
    }

    if (ngx_http_jpulse_redis_cluster_map == NULL
        && ngx_http_jpulse_redis_cluster_refreshing)
    {
        return 1;
    }

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        /* before the map, the seeds; then the primaries */

        /* a connect posted (ensure()) is about to start */

        if ((node->in_map || ngx_http_jpulse_redis_cluster_map == NULL)
            && (ngx_http_jpulse_redis_conn_connecting(&node->rc)
                || (node->connect.posted && !node->rc.timed_out
                    && !node->rc.retry.timer_set)))
        {
            return 1;
        }
    }

    return 0;
}


void
ngx_http_jpulse_redis_cluster_await(void)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node;

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        if (ngx_http_jpulse_redis_conn_connecting(&node->rc)) {
            ngx_http_jpulse_redis_conn_await(&node->rc);
        }
    }
}


static void
ngx_http_jpulse_redis_cluster_tick(ngx_event_t *ev)
{
    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    if (ngx_http_jpulse_redis_cluster_map) {
        ngx_http_jpulse_redis_cluster_forget();
    }

    /* the next periodic refresh counts from this one */

    ngx_http_jpulse_redis_cluster_refresh("periodic");

    if (!ev->timer_set) {
        ngx_add_timer(ev, ngx_http_jpulse_redis_cluster_interval);
    }
}


/* the timer fires in delay ms at the latest */

static void
ngx_http_jpulse_redis_cluster_soon(ngx_msec_t delay)
{
    ngx_event_t  *ev;

    ev = &ngx_http_jpulse_redis_cluster_timer;

    if (ev->timer_set) {
        if ((ngx_msec_int_t) (ev->timer.key - (ngx_current_msec + delay))
            <= 0)
        {
            return;
        }

        ngx_del_timer(ev);
    }

    ngx_add_timer(ev, delay);
}


void
ngx_http_jpulse_redis_cluster_refresh(const char *why)
{
    ngx_uint_t                     i, n;
    ngx_msec_t                     elapsed, floor;
    const char                    *argv[2];
    size_t                         argvlen[2];
    const jp_rc_node_t            *m;
    ngx_http_jpulse_redis_node_t  *node, *ask;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    ngx_http_jpulse_redis_cluster_wanted = 1;

    if (ngx_http_jpulse_redis_cluster_refreshing) {
        /* asked again when the answer comes */
        return;
    }

    elapsed = ngx_current_msec - ngx_http_jpulse_redis_cluster_last;

    /* after failed answers, the floor is the backoff */

    floor = ngx_max(ngx_http_jpulse_redis_cluster_backoff,
                    NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH);

    if (ngx_http_jpulse_redis_cluster_refreshed && elapsed < floor) {
        ngx_http_jpulse_redis_cluster_soon(floor - elapsed);
        return;
    }

    /* any ready node, the map's first (round robin) */

    ask = NULL;
    n = ngx_http_jpulse_redis_cluster_nnodes;

    for (i = 0; i < n; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[
                           (ngx_http_jpulse_redis_cluster_cursor + i) % n];

        if (node->rc.state != NGX_HTTP_JPULSE_REDIS_READY) {
            continue;
        }

        if (node->in_map) {
            ask = node;
            break;
        }

        if (ask == NULL) {
            ask = node;
        }
    }

    if (ask == NULL) {
        /*
         * Nobody to ask: the seeds and the primaries known connect, the
         * first ready asks (settled).
         */

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log,
                       0, "jpulse redis cluster: refresh (%s): no node "
                       "ready", why);

        for (i = 0; i < n; i++) {
            ngx_http_jpulse_redis_cluster_ensure(
                                     ngx_http_jpulse_redis_cluster_nodes[i]);
        }

        if (ngx_http_jpulse_redis_cluster_map) {
            for (i = 0; i < jp_rc_map_nodes(ngx_http_jpulse_redis_cluster_map);
                 i++)
            {
                m = jp_rc_map_node(ngx_http_jpulse_redis_cluster_map, i);
                node = ngx_http_jpulse_redis_cluster_node(m->host, m->port);

                if (node) {
                    ngx_http_jpulse_redis_cluster_ensure(node);
                }
            }
        }

        return;
    }

    argv[0] = "CLUSTER";
    argvlen[0] = 7;
    argv[1] = "SLOTS";
    argvlen[1] = 5;

    if (ngx_http_jpulse_redis_conn_send(&ask->rc,
                                        ngx_http_jpulse_redis_cluster_slots,
                                        ask, 2, argv, argvlen)
        != NGX_OK)
    {
        ngx_http_jpulse_redis_cluster_soon(
                                         NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH);
        return;
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log, 0,
                   "jpulse redis cluster: refresh (%s) asks %s:%d", why,
                   ask->rc.addr, (int) ask->rc.port);

    ngx_http_jpulse_redis_cluster_refreshing = 1;
    ngx_http_jpulse_redis_cluster_refreshed = 1;
    ngx_http_jpulse_redis_cluster_wanted = 0;
    ngx_http_jpulse_redis_cluster_last = ngx_current_msec;
    ngx_http_jpulse_redis_cluster_cursor++;

    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESHES, 1);
}


static void
ngx_http_jpulse_redis_cluster_slots(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_cluster_refreshing = 0;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    ngx_http_jpulse_redis_cluster_map_reply(reply, data);

    /* a first map: requests may wait for it (and its primaries) */
    ngx_http_jpulse_redis_wait_notify();
}


/*
 * CLUSTER SLOTS gave no map (an error, a node not in cluster mode, a
 * refused reply): asked again after 200 ms, doubled up to 5 s, so that
 * a lasting cause costs neither the nodes nor the log 5 times a second.
 */

static void
ngx_http_jpulse_redis_cluster_failed(void)
{
    ngx_msec_t  b;

    b = ngx_http_jpulse_redis_cluster_backoff;

    b = b ? ngx_min(2 * b, NGX_HTTP_JPULSE_REDIS_CLUSTER_BACKOFF_MAX)
          : NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH;

    ngx_http_jpulse_redis_cluster_backoff = b;
    ngx_http_jpulse_redis_cluster_soon(b);
}


static void
ngx_http_jpulse_redis_cluster_map_reply(redisReply *reply,
    ngx_http_jpulse_redis_node_t *node)
{
    size_t             n;
    u_char             text[256 * 4];
    jp_rc_map_t       *map;
    jp_resp_value_t   *tree;
    jp_rc_map_conf_t   mconf;
    char               err[256];

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        if (reply && reply->type == REDIS_REPLY_ERROR
            && !ngx_http_jpulse_redis_cluster_backoff)
        {
            /* once per failing spell: asked again with a backoff */

            n = ngx_http_jpulse_redis_escape(text, (u_char *) reply->str,
                                             ngx_min(reply->len, 256))
                - text;

            ngx_log_error(NGX_LOG_WARN, ngx_http_jpulse_redis_cluster_log, 0,
                          "jpulse_redis \"%V\": CLUSTER SLOTS on %s:%d: %*s",
                          &ngx_http_jpulse_redis_cluster_conf->name,
                          node->rc.addr, (int) node->rc.port, n, text);
        }

        ngx_http_jpulse_redis_cluster_wanted = 1;
        ngx_http_jpulse_redis_cluster_failed();
        return;
    }

    err[0] = '\0';

    if (reply->elements > JP_RC_SLOTS) {
        /* jp_rc_map_build() would refuse it too: not copied first */

        ngx_snprintf((u_char *) err, sizeof(err) - 1,
                     "%uz ranges, more than slots%Z", reply->elements);
        map = NULL;

    } else {
        n = ngx_http_jpulse_redis_cluster_count(reply);

        tree = ngx_alloc(n * sizeof(jp_resp_value_t),
                         ngx_http_jpulse_redis_cluster_log);
        if (tree == NULL) {
            ngx_http_jpulse_redis_cluster_soon(
                                         NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH);
            return;
        }

        (void) ngx_http_jpulse_redis_cluster_convert(reply, tree, tree + 1);

        ngx_memzero(&mconf, sizeof(jp_rc_map_conf_t));
        mconf.origin_host = (const char *) node->rc.addr;
        mconf.generation = ngx_http_jpulse_redis_cluster_generation + 1;

        map = jp_rc_map_build(&mconf, tree, err, sizeof(err));

        ngx_free(tree);
    }

    if (map == NULL) {
        if (!ngx_http_jpulse_redis_cluster_backoff) {
            n = ngx_http_jpulse_redis_escape(text, (u_char *) err,
                                             ngx_strlen(err))
                - text;

            ngx_log_error(NGX_LOG_WARN, ngx_http_jpulse_redis_cluster_log, 0,
                          "jpulse_redis \"%V\": CLUSTER SLOTS of %s:%d "
                          "refused: %*s",
                          &ngx_http_jpulse_redis_cluster_conf->name,
                          node->rc.addr, (int) node->rc.port, n, text);
        }

        ngx_http_jpulse_redis_cluster_failed();
        return;
    }

    if (ngx_http_jpulse_redis_cluster_backoff) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_http_jpulse_redis_cluster_log, 0,
                      "jpulse_redis \"%V\": CLUSTER SLOTS answered again "
                      "by %s:%d", &ngx_http_jpulse_redis_cluster_conf->name,
                      node->rc.addr, (int) node->rc.port);

        ngx_http_jpulse_redis_cluster_backoff = 0;
    }

    if (ngx_http_jpulse_redis_cluster_map
        && jp_rc_map_same(ngx_http_jpulse_redis_cluster_map, map))
    {
        jp_rc_map_free(map);

    } else {
        ngx_http_jpulse_redis_cluster_install(map);
    }

    map = ngx_http_jpulse_redis_cluster_map;

    /*
     * Slots without a primary (a failover under way, an endpoint not yet
     * known): asked again soon, not at the next period.
     */

    if (ngx_http_jpulse_redis_cluster_wanted
        || jp_rc_map_covered(map) < JP_RC_SLOTS)
    {
        ngx_http_jpulse_redis_cluster_wanted = 1;
        ngx_http_jpulse_redis_cluster_soon(
                                     5 * NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH);
    }
}


/*
 * The new map: its primaries are connected now (a command's first try
 * finds them ready), nodes that left it are dropped once idle.
 */

/*
 * Nodes outside the map, idle: dropped, their retry and posted connect
 * with them (else a dead one is reconnected, and the map asked after
 * each failure, forever). At each new map and at each periodic tick, so
 * that one busy at the map's change goes once its commands are done.
 */

static void
ngx_http_jpulse_redis_cluster_forget(void)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node;

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        if (node->in_map || node->rc.pending) {
            continue;
        }

        if (node->rc.retry.timer_set) {
            ngx_del_timer(&node->rc.retry);
        }

        if (node->connect.posted) {
            ngx_delete_posted_event(&node->connect);
        }

        if (node->rc.ac || node->rc.state != NGX_HTTP_JPULSE_REDIS_IDLE) {
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP,
                           ngx_http_jpulse_redis_cluster_log, 0,
                           "jpulse redis cluster: %s:%d left the map",
                           node->rc.addr, (int) node->rc.port);

            ngx_http_jpulse_redis_conn_drop(&node->rc);
        }
    }
}


static void
ngx_http_jpulse_redis_cluster_install(jp_rc_map_t *map)
{
    ngx_uint_t                     i, primaries;
    const jp_rc_node_t            *m;
    ngx_http_jpulse_redis_node_t  *node;

    if (ngx_http_jpulse_redis_cluster_map) {
        jp_rc_map_free(ngx_http_jpulse_redis_cluster_map);
    }

    ngx_http_jpulse_redis_cluster_map = map;
    ngx_http_jpulse_redis_cluster_generation = jp_rc_map_generation(map);

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        ngx_http_jpulse_redis_cluster_nodes[i]->in_map = 0;
    }

    primaries = 0;

    for (i = 0; i < jp_rc_map_nodes(map); i++) {
        m = jp_rc_map_node(map, i);

        if (!m->primary) {
            continue;
        }

        primaries++;

        node = ngx_http_jpulse_redis_cluster_node(m->host, m->port);
        if (node == NULL) {
            continue;
        }

        node->in_map = 1;
        ngx_http_jpulse_redis_cluster_ensure(node);
    }

    ngx_http_jpulse_redis_cluster_forget();

    ngx_log_error(NGX_LOG_NOTICE, ngx_http_jpulse_redis_cluster_log, 0,
                  "jpulse_redis \"%V\": cluster slot map %uL: %ui primaries, "
                  "%ui of %d slots covered",
                  &ngx_http_jpulse_redis_cluster_conf->name,
                  ngx_http_jpulse_redis_cluster_generation, primaries,
                  (ngx_uint_t) jp_rc_map_covered(map), JP_RC_SLOTS);
}


static size_t
ngx_http_jpulse_redis_cluster_count(redisReply *r)
{
    size_t  i, n;

    n = 1;

    if (r->type == REDIS_REPLY_ARRAY) {
        for (i = 0; i < r->elements; i++) {
            n += ngx_http_jpulse_redis_cluster_count(r->element[i]);
        }
    }

    return n;
}


/*
 * hiredis's reply as libjpulse's neutral tree: the elements of an array
 * are contiguous, taken from next; returns what is left of next.
 */

static jp_resp_value_t *
ngx_http_jpulse_redis_cluster_convert(redisReply *r, jp_resp_value_t *v,
    jp_resp_value_t *next)
{
    size_t            i;
    jp_resp_value_t  *elts;

    ngx_memzero(v, sizeof(jp_resp_value_t));

    switch (r->type) {

    case REDIS_REPLY_INTEGER:
        v->type = JP_RESP_INTEGER;
        v->integer = r->integer;
        break;

    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        v->type = r->type == REDIS_REPLY_STRING ? JP_RESP_STRING
                  : r->type == REDIS_REPLY_STATUS ? JP_RESP_STATUS
                  : JP_RESP_ERROR;
        v->str = r->str;
        v->len = r->len;
        break;

    case REDIS_REPLY_NIL:
        v->type = JP_RESP_NIL;
        break;

    case REDIS_REPLY_ARRAY:
        v->type = JP_RESP_ARRAY;
        v->elements = r->elements;

        elts = next;
        next += r->elements;
        v->element = elts;

        for (i = 0; i < r->elements; i++) {
            next = ngx_http_jpulse_redis_cluster_convert(r->element[i],
                                                         &elts[i], next);
        }

        break;

    default:
        v->type = JP_RESP_OTHER;
        break;
    }

    return next;
}


ngx_uint_t
ngx_http_jpulse_redis_cluster_covered(void)
{
    return ngx_http_jpulse_redis_cluster_map != NULL
           && jp_rc_map_covered(ngx_http_jpulse_redis_cluster_map)
              == JP_RC_SLOTS;
}


void
ngx_http_jpulse_redis_cluster_state(ngx_http_jpulse_redis_cluster_info_t *info)
{
    ngx_uint_t                     i;
    ngx_http_jpulse_redis_node_t  *node;

    ngx_memzero(info, sizeof(ngx_http_jpulse_redis_cluster_info_t));

    for (i = 0; i < ngx_http_jpulse_redis_cluster_nnodes; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[i];

        if (node->in_map || node->rc.ac) {
            info->nodes++;
        }

        if (node->rc.state == NGX_HTTP_JPULSE_REDIS_READY) {
            info->ready++;
        }
    }

    if (ngx_http_jpulse_redis_cluster_map) {
        info->covered = jp_rc_map_covered(ngx_http_jpulse_redis_cluster_map);
        info->generation = ngx_http_jpulse_redis_cluster_generation;
    }
}


/*
 * The pub/sub connection goes to the primaries of the map in turn, to
 * another one than before when there is another (to the seeds before
 * there is a map): any node delivers every message.
 */

void
ngx_http_jpulse_redis_cluster_pick(ngx_http_jpulse_redis_conn_t *rc)
{
    size_t                                  len;
    ngx_uint_t                              i, n, k;
    const jp_rc_node_t                     *m, *same;
    ngx_http_jpulse_redis_sentinel_addr_t  *seed;

    k = ngx_http_jpulse_redis_cluster_picks++;

    if (ngx_http_jpulse_redis_cluster_map) {
        n = jp_rc_map_nodes(ngx_http_jpulse_redis_cluster_map);
        same = NULL;

        for (i = 0; i < n; i++) {
            m = jp_rc_map_node(ngx_http_jpulse_redis_cluster_map,
                               (k + i) % n);
            len = ngx_strlen(m->host);

            if (!m->primary || len == 0 || len > NGX_SOCKADDR_STRLEN
                || !ngx_http_jpulse_redis_sentinel_numeric((u_char *) m->host,
                                                           len))
            {
                continue;
            }

            /* the node it was on last is taken only if it is the only one */

            if (m->port == rc->port
                && ngx_strcmp(rc->addr, (u_char *) m->host) == 0)
            {
                same = m;
                continue;
            }

            ngx_memcpy(rc->addr, m->host, len + 1);
            rc->port = (in_port_t) m->port;
            return;
        }

        if (same) {
            return;
        }
    }

    seed = ngx_http_jpulse_redis_cluster_conf->cluster->elts;
    n = ngx_http_jpulse_redis_cluster_conf->cluster->nelts;

    ngx_cpystrn(rc->addr, seed[k % n].host, NGX_SOCKADDR_STRLEN + 1);
    rc->port = seed[k % n].port;
}


void
ngx_http_jpulse_redis_cluster_lost(ngx_http_jpulse_redis_conn_t *rc)
{
    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log, 0,
                   "jpulse redis cluster: pub/sub on %s:%d failed",
                   rc->addr, (int) rc->port);

    if (!ngx_http_jpulse_redis_shutting_down()) {
        ngx_http_jpulse_redis_cluster_refresh("pub/sub connection failed");
    }
}


/* the primary of a slot, or any ready primary (NULL: none known) */

ngx_http_jpulse_redis_node_t *
ngx_http_jpulse_redis_cluster_route(int slot)
{
    ngx_uint_t                     i, n;
    const jp_rc_node_t            *m;
    ngx_http_jpulse_redis_node_t  *node;

    if (ngx_http_jpulse_redis_cluster_map == NULL) {
        return NULL;
    }

    if (slot >= 0) {
        m = jp_rc_map_primary(ngx_http_jpulse_redis_cluster_map,
                              (unsigned) slot);

        if (m == NULL) {
            ngx_http_jpulse_redis_cluster_refresh("a slot without primary");
            return NULL;
        }

        return ngx_http_jpulse_redis_cluster_node(m->host, m->port);
    }

    n = ngx_http_jpulse_redis_cluster_nnodes;

    for (i = 0; i < n; i++) {
        node = ngx_http_jpulse_redis_cluster_nodes[
                           (ngx_http_jpulse_redis_cluster_cursor + i) % n];

        if (node->in_map && node->rc.state == NGX_HTTP_JPULSE_REDIS_READY) {
            ngx_http_jpulse_redis_cluster_cursor++;
            return node;
        }
    }

    return NULL;
}


/*
 * The node at host:port if the map or the seeds name it, else NULL: a
 * redirect names any address it likes, and each connection is given
 * the password and commands; only the cluster's own nodes get them.
 */

ngx_http_jpulse_redis_node_t *
ngx_http_jpulse_redis_cluster_known(const char *host, unsigned port)
{
    ngx_uint_t                              i;
    ngx_http_jpulse_redis_sentinel_addr_t  *seed;

    if (ngx_http_jpulse_redis_cluster_map
        && jp_rc_map_find(ngx_http_jpulse_redis_cluster_map, host, port))
    {
        return ngx_http_jpulse_redis_cluster_node(host, port);
    }

    seed = ngx_http_jpulse_redis_cluster_conf->cluster->elts;

    for (i = 0; i < ngx_http_jpulse_redis_cluster_conf->cluster->nelts; i++) {
        if (seed[i].port == port
            && ngx_strcmp(seed[i].host, (u_char *) host) == 0)
        {
            return ngx_http_jpulse_redis_cluster_node(host, port);
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log, 0,
                   "jpulse redis cluster: %s:%ui is not a node of the map, "
                   "not followed", host, (ngx_uint_t) port);

    return NULL;
}


/*
 * After a MOVED: the map is patched when it knows the node named as a
 * primary, else asked again. The node to send the command to: NULL for
 * a node that is not one of the map or a seed (not connected; the
 * command goes again by the map once asked again).
 */

ngx_http_jpulse_redis_node_t *
ngx_http_jpulse_redis_cluster_moved(const jp_rc_redirect_t *r,
    ngx_http_jpulse_redis_node_t *answered)
{
    int                            moved;
    const char                    *host;
    jp_rc_map_t                   *map;
    ngx_http_jpulse_redis_node_t  *node;

    map = ngx_http_jpulse_redis_cluster_map;

    /* an empty host: the node that answered, at the port given */

    host = r->host_len ? r->host : (const char *) answered->rc.addr;

    moved = 0;

    if (map) {
        moved = r->host_len
                ? jp_rc_map_moved(map, r)
                : jp_rc_map_moved_to(map, r->slot,
                                     jp_rc_map_find(map, host, r->port));
    }

    if (moved == 1) {
        ngx_http_jpulse_redis_cluster_generation = jp_rc_map_generation(map);

    } else {
        ngx_http_jpulse_redis_cluster_refresh("MOVED to a new primary");
    }

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ngx_http_jpulse_redis_cluster_log, 0,
                   "jpulse redis cluster: slot %ui MOVED to %s:%ui",
                   (ngx_uint_t) r->slot, host, (ngx_uint_t) r->port);

    node = ngx_http_jpulse_redis_cluster_known(host, r->port);

    if (node && moved == 1) {
        /* a primary of the map now */
        node->in_map = 1;
    }

    return node;
}
