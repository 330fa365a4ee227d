/*
 * Redis Cluster: the commands of a worker (jpulse_redis cluster=...),
 * routed by the slot map of ngx_http_jpulse_redis_cluster.c.
 *
 * A command goes to the primary of its keys' slot (jp_rc_command_slot),
 * a keyless one to any ready primary. Whose primary is not ready declines
 * at once, as a single Redis does while it connects: callers fall back.
 * The command's arguments are copied, so that it can be sent again:
 *
 *   MOVED      the map is patched (or refreshed) and the command goes to
 *              the node named;
 *   ASK        ASKING and the command go to the node named, the map stays;
 *   TRYAGAIN   the command goes again after a short pause;
 *   CLUSTERDOWN, a malformed redirect: the map is refreshed, the caller
 *              gets the error.
 *
 * At most NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS times per command; a
 * node named by a redirect that is not connected yet is waited for on a
 * short timer, counted the same way. Whatever happens, the caller's
 * handler is called exactly once (a NULL reply when the command failed
 * without one): ngx_http_jpulse_redis_request()'s binding then keeps a
 * request that left in the meantime safe, as with a single Redis. The
 * timers are not cancelable, so an exiting worker answers its parked
 * requests first; exit_process answers the rest with NULL.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "jp_redis_cluster.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis_cluster.h"


typedef struct {
    ngx_queue_t                       queue;     /* while on the timer */
    ngx_event_t                       timer;
    ngx_http_jpulse_redis_reply_pt    handler;
    void                             *data;
    ngx_http_jpulse_redis_node_t     *node;      /* sent to (in flight) */
    int                               slot;      /* JP_RC_NOT_COVERED: any */
    ngx_uint_t                        redirects;
    unsigned                          asking:1;
    in_port_t                         port;      /* on the timer: where */
    u_char                            host[NGX_SOCKADDR_STRLEN + 1];
    int                               argc;
    const char                      **argv;
    size_t                           *argvlen;
} ngx_http_jpulse_redis_ccmd_t;


static ngx_int_t ngx_http_jpulse_redis_cluster_send(
    ngx_http_jpulse_redis_ccmd_t *cmd, ngx_http_jpulse_redis_node_t *node);
static void ngx_http_jpulse_redis_cluster_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_redis_cluster_redirect(
    ngx_http_jpulse_redis_ccmd_t *cmd, ngx_http_jpulse_redis_node_t *node,
    redisReply *reply);
static void ngx_http_jpulse_redis_cluster_wait(
    ngx_http_jpulse_redis_ccmd_t *cmd, ngx_http_jpulse_redis_node_t *node);
static void ngx_http_jpulse_redis_cluster_later(
    ngx_http_jpulse_redis_ccmd_t *cmd);
static void ngx_http_jpulse_redis_cluster_again(ngx_event_t *ev);
static void ngx_http_jpulse_redis_cluster_unknown(
    ngx_http_jpulse_redis_ccmd_t *cmd, const jp_rc_redirect_t *r,
    redisReply *reply);
static void ngx_http_jpulse_redis_cluster_finish(
    ngx_http_jpulse_redis_ccmd_t *cmd, redisReply *reply);


static ngx_log_t                     *ngx_http_jpulse_redis_cluster_cmd_log;
static ngx_http_jpulse_redis_conf_t  *ngx_http_jpulse_redis_cluster_cmd_conf;
static ngx_queue_t                    ngx_http_jpulse_redis_cluster_cmd_waiting;


void
ngx_http_jpulse_redis_cluster_cmd_init(ngx_log_t *log,
    ngx_http_jpulse_redis_conf_t *rcf)
{
    ngx_http_jpulse_redis_cluster_cmd_log = log;
    ngx_http_jpulse_redis_cluster_cmd_conf = rcf;

    ngx_queue_init(&ngx_http_jpulse_redis_cluster_cmd_waiting);
}


/* commands waiting to go again: failed, their requests are let go */

void
ngx_http_jpulse_redis_cluster_cmd_exit(void)
{
    ngx_queue_t                   *q;
    ngx_http_jpulse_redis_ccmd_t  *cmd;

    while (!ngx_queue_empty(&ngx_http_jpulse_redis_cluster_cmd_waiting)) {
        q = ngx_queue_head(&ngx_http_jpulse_redis_cluster_cmd_waiting);
        cmd = ngx_queue_data(q, ngx_http_jpulse_redis_ccmd_t, queue);

        ngx_queue_remove(q);

        if (cmd->timer.timer_set) {
            ngx_del_timer(&cmd->timer);
        }

        ngx_http_jpulse_redis_cluster_finish(cmd, NULL);
    }
}


ngx_int_t
ngx_http_jpulse_redis_cluster_command(ngx_http_jpulse_redis_reply_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    int                            slot, i;
    u_char                        *p;
    size_t                         size;
    ngx_int_t                      rc;
    ngx_http_jpulse_redis_ccmd_t  *cmd;
    ngx_http_jpulse_redis_node_t  *node;

    if (argc < 1) {
        return NGX_ERROR;
    }

    slot = jp_rc_command_slot(argc, argv, argvlen);

    if (slot == JP_RC_CROSSSLOT || slot == JP_RC_BAD_COMMAND) {
        /* our bug: a key group without its tag */
        ngx_log_error(NGX_LOG_ERR, ngx_http_jpulse_redis_cluster_cmd_log, 0,
                      "jpulse_redis \"%V\": %*s not sent: %s",
                      &ngx_http_jpulse_redis_cluster_cmd_conf->name,
                      ngx_min(argvlen[0], 32), argv[0],
                      slot == JP_RC_CROSSSLOT ? "its keys are in several "
                                                "slots"
                                              : "bad number of keys");
        return NGX_ERROR;
    }

    /* NULL too while there is no map */

    node = ngx_http_jpulse_redis_cluster_route(slot);

    if (node == NULL || node->rc.state != NGX_HTTP_JPULSE_REDIS_READY) {
        if (node) {
            ngx_http_jpulse_redis_cluster_ensure(node);
        }

        return NGX_DECLINED;
    }

    /* the arguments are kept: a redirect sends them again */

    size = sizeof(ngx_http_jpulse_redis_ccmd_t)
           + argc * (sizeof(char *) + sizeof(size_t));

    for (i = 0; i < argc; i++) {
        size += argvlen[i];
    }

    cmd = ngx_alloc(size, ngx_http_jpulse_redis_cluster_cmd_log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(cmd, sizeof(ngx_http_jpulse_redis_ccmd_t));

    cmd->handler = handler;
    cmd->data = data;
    cmd->slot = slot;
    cmd->argc = argc;
    cmd->argv = (const char **) (cmd + 1);
    cmd->argvlen = (size_t *) (cmd->argv + argc);

    p = (u_char *) (cmd->argvlen + argc);

    for (i = 0; i < argc; i++) {
        cmd->argv[i] = (const char *) p;
        cmd->argvlen[i] = argvlen[i];
        p = ngx_cpymem(p, argv[i], argvlen[i]);
    }

    rc = ngx_http_jpulse_redis_cluster_send(cmd, node);

    if (rc != NGX_OK) {
        ngx_free(cmd);
        return rc;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_redis_cluster_send(ngx_http_jpulse_redis_ccmd_t *cmd,
    ngx_http_jpulse_redis_node_t *node)
{
    ngx_int_t                      rc;
    ngx_http_jpulse_redis_conn_t  *c;
    static const char             *asking[] = { "ASKING" };
    static const size_t            askinglen[] = { 6 };

    cmd->node = node;

    if (!cmd->asking) {
        return ngx_http_jpulse_redis_conn_send(&node->rc,
                                           ngx_http_jpulse_redis_cluster_reply,
                                           cmd, cmd->argc, cmd->argv,
                                           cmd->argvlen);
    }

    /*
     * ASKING lets the next command on the connection, whatever it is,
     * into a slot being imported: it goes out with its own or not at
     * all. So room for both under max_pending, and a context that takes
     * commands, before it is queued (conn_send()'s own checks).
     */

    c = &node->rc;

    if (c->ac == NULL
        || (c->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
    {
        return NGX_DECLINED;
    }

    if (c->state == NGX_HTTP_JPULSE_REDIS_READY
        && c->pending + 2 > c->conf->max_pending)
    {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_REFUSED, 1);
        return NGX_DECLINED;
    }

    /* on the same connection, so answered right before the command */

    rc = ngx_http_jpulse_redis_conn_send(c, NULL, NULL, 1, asking,
                                         askinglen);
    if (rc != NGX_OK) {
        return rc;
    }

    rc = ngx_http_jpulse_redis_conn_send(c,
                                         ngx_http_jpulse_redis_cluster_reply,
                                         cmd, cmd->argc, cmd->argv,
                                         cmd->argvlen);
    if (rc != NGX_OK) {
        /*
         * Out of memory (the checks above passed): the ASKING is queued,
         * not written yet (hiredis writes on the next write event); the
         * context is freed with it unsent.
         */
        ngx_http_jpulse_redis_conn_fail(c, "out of memory after ASKING");
    }

    return rc;
}


static void
ngx_http_jpulse_redis_cluster_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_ccmd_t  *cmd = data;

    const char                    *host;
    jp_rc_redirect_t               r;
    ngx_http_jpulse_redis_node_t  *node;

    if (reply == NULL) {
        /* the command may have run: not sent again, the node is checked */

        if (!ngx_http_jpulse_redis_shutting_down()) {
            ngx_http_jpulse_redis_cluster_refresh("a command failed");
        }

        ngx_http_jpulse_redis_cluster_finish(cmd, NULL);
        return;
    }

    if (reply->type != REDIS_REPLY_ERROR || ngx_http_jpulse_redis_closing()) {
        ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        return;
    }

    switch (jp_rc_parse_error(reply->str, reply->len, &r)) {

    case JP_RC_ERR_MOVED:
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_CLUSTER_MOVED, 1);

        node = ngx_http_jpulse_redis_cluster_moved(&r, cmd->node);

        cmd->asking = 0;

        if (node == NULL) {
            ngx_http_jpulse_redis_cluster_unknown(cmd, &r, reply);
            return;
        }

        ngx_http_jpulse_redis_cluster_redirect(cmd, node, reply);
        return;

    case JP_RC_ERR_ASK:
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_CLUSTER_ASK, 1);

        host = r.host_len ? r.host : (const char *) cmd->node->rc.addr;

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP,
                       ngx_http_jpulse_redis_cluster_cmd_log, 0,
                       "jpulse redis cluster: slot %ui ASK %s:%ui",
                       (ngx_uint_t) r.slot, host, (ngx_uint_t) r.port);

        node = ngx_http_jpulse_redis_cluster_known(host, r.port);

        if (node == NULL) {
            /* a node the map does not name (yet): not connected */
            cmd->asking = 0;
            ngx_http_jpulse_redis_cluster_refresh("ASK to an unknown node");
            ngx_http_jpulse_redis_cluster_unknown(cmd, &r, reply);
            return;
        }

        cmd->asking = 1;
        ngx_http_jpulse_redis_cluster_redirect(cmd, node, reply);
        return;

    case JP_RC_ERR_TRYAGAIN:
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_CLUSTER_TRYAGAIN, 1);

        if (cmd->redirects++ >= NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS
            || ngx_http_jpulse_redis_shutting_down())
        {
            ngx_http_jpulse_redis_cluster_finish(cmd, reply);
            return;
        }

        cmd->asking = 0;
        ngx_http_jpulse_redis_cluster_later(cmd);
        return;

    case JP_RC_ERR_CLUSTERDOWN:
    case JP_RC_ERR_MALFORMED:
        ngx_http_jpulse_redis_cluster_refresh("CLUSTERDOWN");
        ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        return;

    default:
        /* the command's own error, or CROSSSLOT (never sent again) */
        ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        return;
    }
}


/*
 * A redirect to an address that neither the map nor the seeds name: the
 * map is being asked again (by moved() or the ASK above); the command
 * waits for it and goes to that address only if the new map names it,
 * else it fails. Never a connection to an address a reply made up.
 */

static void
ngx_http_jpulse_redis_cluster_unknown(ngx_http_jpulse_redis_ccmd_t *cmd,
    const jp_rc_redirect_t *r, redisReply *reply)
{
    size_t  len;

    len = r->host_len ? r->host_len : ngx_strlen(cmd->node->rc.addr);

    if (cmd->slot < 0 || len > NGX_SOCKADDR_STRLEN
        || cmd->redirects++ >= NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS
        || ngx_http_jpulse_redis_shutting_down())
    {
        ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        return;
    }

    ngx_memcpy(cmd->host, r->host_len ? (u_char *) r->host
                                      : cmd->node->rc.addr, len);
    cmd->host[len] = '\0';
    cmd->port = (in_port_t) r->port;
    cmd->node = NULL;

    ngx_http_jpulse_redis_cluster_later(cmd);
}


/* reply: the redirect, given to the caller when the command gives up */

static void
ngx_http_jpulse_redis_cluster_redirect(ngx_http_jpulse_redis_ccmd_t *cmd,
    ngx_http_jpulse_redis_node_t *node, redisReply *reply)
{
    if (node == NULL
        || cmd->redirects++ >= NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS
        || ngx_http_jpulse_redis_shutting_down())
    {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP,
                       ngx_http_jpulse_redis_cluster_cmd_log, 0,
                       "jpulse redis cluster: gave up after %ui redirects",
                       cmd->redirects);

        ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        return;
    }

    if (node->rc.state == NGX_HTTP_JPULSE_REDIS_READY) {
        if (ngx_http_jpulse_redis_cluster_send(cmd, node) != NGX_OK) {
            ngx_http_jpulse_redis_cluster_finish(cmd, reply);
        }

        return;
    }

    /* a node new to this worker (a failover, a reshard to a new one) */

    ngx_http_jpulse_redis_cluster_wait(cmd, node);
}


/*
 * The command waits on the timer for a node that is connecting. An ASK
 * (or a keyless command) goes to that node when it resumes: its address
 * is kept and looked up again then, not the entry, which may have been
 * given to another address meanwhile (cluster_node() reuses an idle
 * entry of a node that left the map). Others go by the map.
 */

static void
ngx_http_jpulse_redis_cluster_wait(ngx_http_jpulse_redis_ccmd_t *cmd,
    ngx_http_jpulse_redis_node_t *node)
{
    ngx_http_jpulse_redis_cluster_ensure(node);

    cmd->node = NULL;

    if (cmd->asking || cmd->slot < 0) {
        ngx_cpystrn(cmd->host, node->rc.addr, NGX_SOCKADDR_STRLEN + 1);
        cmd->port = node->rc.port;
    }

    ngx_http_jpulse_redis_cluster_later(cmd);
}


static void
ngx_http_jpulse_redis_cluster_later(ngx_http_jpulse_redis_ccmd_t *cmd)
{
    ngx_event_t  *ev;

    ev = &cmd->timer;

    ngx_memzero(ev, sizeof(ngx_event_t));

    ev->handler = ngx_http_jpulse_redis_cluster_again;
    ev->data = cmd;
    ev->log = ngx_http_jpulse_redis_cluster_cmd_log;

    /* not cancelable: an exiting worker answers the request first */

    ngx_queue_insert_tail(&ngx_http_jpulse_redis_cluster_cmd_waiting,
                          &cmd->queue);

    ngx_add_timer(ev, NGX_HTTP_JPULSE_REDIS_CLUSTER_RETRY);
}


static void
ngx_http_jpulse_redis_cluster_again(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_ccmd_t  *cmd = ev->data;

    ngx_http_jpulse_redis_node_t  *node;

    ngx_queue_remove(&cmd->queue);

    /* ASK and a node connecting go where they were going; others by map */

    if (cmd->port) {
        /* only while the map (or the seeds) names that address */

        node = ngx_http_jpulse_redis_cluster_known((char *) cmd->host,
                                                   cmd->port);

        if (node == NULL) {
            if (cmd->redirects++ >= NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS
                || ngx_http_jpulse_redis_shutting_down())
            {
                ngx_http_jpulse_redis_cluster_finish(cmd, NULL);
                return;
            }

            /* the map may not have come yet */
            ngx_http_jpulse_redis_cluster_later(cmd);
            return;
        }

        cmd->port = 0;

    } else {
        /* TRYAGAIN, a MOVED's node connecting; keyless: any ready one */
        node = ngx_http_jpulse_redis_cluster_route(cmd->slot);
    }

    if (node && node->rc.state == NGX_HTTP_JPULSE_REDIS_READY) {
        if (ngx_http_jpulse_redis_cluster_send(cmd, node) != NGX_OK) {
            ngx_http_jpulse_redis_cluster_finish(cmd, NULL);
        }

        return;
    }

    if (node == NULL
        || cmd->redirects++ >= NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS
        || ngx_http_jpulse_redis_shutting_down())
    {
        ngx_http_jpulse_redis_cluster_finish(cmd, NULL);
        return;
    }

    ngx_http_jpulse_redis_cluster_wait(cmd, node);
}


static void
ngx_http_jpulse_redis_cluster_finish(ngx_http_jpulse_redis_ccmd_t *cmd,
    redisReply *reply)
{
    if (cmd->handler) {
        cmd->handler(reply, cmd->data);
    }

    ngx_free(cmd);
}
