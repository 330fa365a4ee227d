/*
 * A hiredis async context attached to nginx's event loop.
 *
 * hiredis owns the socket; an nginx connection wraps its fd so the event
 * module can watch it (level-triggered: hiredis reads a bounded amount per
 * call, and an edge would be lost on a large reply). hiredis 0.14 has no
 * timeouts of its own, so nginx timers bound connecting, the handshake
 * and every command in flight; a connection that misses one is freed
 * (its pending callbacks get NULL replies) and retried with backoff.
 *
 * After redisAsyncHandleRead/Write nothing may touch the context or the
 * nginx connection: a callback may have freed both.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis_conn.h"
#include "ngx_http_jpulse_redis_reader.h"
#include "ngx_http_jpulse_redis_sentinel.h"
#include "ngx_http_jpulse_redis_cluster.h"


typedef struct {
    ngx_http_jpulse_redis_conn_t     *rc;
    ngx_http_jpulse_redis_reply_pt    handler;
    void                             *data;
    uint64_t                          sent;         /* usec */
} ngx_http_jpulse_redis_cmd_t;


static void ngx_http_jpulse_redis_resolved(ngx_resolver_ctx_t *ctx);
static void ngx_http_jpulse_redis_open(ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_redis_add_read(void *privdata);
static void ngx_http_jpulse_redis_del_read(void *privdata);
static void ngx_http_jpulse_redis_add_write(void *privdata);
static void ngx_http_jpulse_redis_del_write(void *privdata);
static void ngx_http_jpulse_redis_cleanup(void *privdata);
static void ngx_http_jpulse_redis_read_handler(ngx_event_t *ev);
static void ngx_http_jpulse_redis_write_handler(ngx_event_t *ev);
static void ngx_http_jpulse_redis_on_connect(const redisAsyncContext *ac,
    int status);
static void ngx_http_jpulse_redis_on_disconnect(const redisAsyncContext *ac,
    int status);
static void ngx_http_jpulse_redis_handshake_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_redis_role_reply(redisReply *reply, void *data);
static void ngx_http_jpulse_redis_reply(redisAsyncContext *ac, void *r,
    void *privdata);
static void ngx_http_jpulse_redis_retry_handler(ngx_event_t *ev);
static void ngx_http_jpulse_redis_deadline_handler(ngx_event_t *ev);
static void ngx_http_jpulse_redis_schedule(ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_redis_conn_flap(ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_redis_conn_refused(
    ngx_http_jpulse_redis_conn_t *rc, const char *what, u_char *buf,
    size_t size);
static uint64_t ngx_http_jpulse_redis_usec(void);


static ngx_uint_t  ngx_http_jpulse_redis_exiting;
static ngx_uint_t  ngx_http_jpulse_redis_pending;   /* of all connections */


ngx_uint_t
ngx_http_jpulse_redis_closing(void)
{
    return ngx_http_jpulse_redis_exiting;
}


ngx_uint_t
ngx_http_jpulse_redis_shutting_down(void)
{
    return ngx_exiting || ngx_quit || ngx_terminate
           || ngx_http_jpulse_redis_exiting;
}


void
ngx_http_jpulse_redis_conn_init(ngx_http_jpulse_redis_conn_t *rc,
    const char *role, ngx_http_jpulse_redis_conf_t *conf, ngx_log_t *log,
    ngx_http_jpulse_redis_start_pt start, ngx_event_handler_pt keepalive)
{
    ngx_memzero(rc, sizeof(ngx_http_jpulse_redis_conn_t));

    rc->role = role;
    rc->conf = conf;
    rc->log = log;
    rc->start = start;
    rc->backoff = NGX_HTTP_JPULSE_REDIS_BACKOFF_MIN;
    rc->port = conf->port;

    if (conf->host.len) {
        ngx_memcpy(rc->addr, conf->host.data,
                   ngx_min(conf->host.len, NGX_SOCKADDR_STRLEN));
    }

    rc->retry.handler = ngx_http_jpulse_redis_retry_handler;
    rc->retry.data = rc;
    rc->retry.log = log;
    rc->retry.cancelable = 1;

    rc->deadline.handler = ngx_http_jpulse_redis_deadline_handler;
    rc->deadline.data = rc;
    rc->deadline.log = log;
    rc->deadline.cancelable = 1;

    rc->keepalive.handler = keepalive;
    rc->keepalive.data = rc;
    rc->keepalive.log = log;
    rc->keepalive.cancelable = 1;
}


/*
 * With a resolver, a name is resolved again before each connect (nginx's
 * resolver, asynchronous and cached for the answer's TTL or "valid="),
 * so that a failover by DNS is followed. When that fails the last
 * address known is tried.
 */

void
ngx_http_jpulse_redis_conn_connect(ngx_http_jpulse_redis_conn_t *rc)
{
    ngx_resolver_ctx_t  *ctx;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    if (rc->resolving || rc->discovering) {
        /* its handler connects */
        return;
    }

    if (rc->roams) {
        /* the cluster's pub/sub: another node after each failure */
        ngx_http_jpulse_redis_cluster_pick(rc);
        ngx_http_jpulse_redis_open(rc);
        return;
    }

    if (rc->conf->sentinels) {
        if (ngx_http_jpulse_redis_sentinel_primary(rc) == NGX_AGAIN) {
            rc->discovering = 1;
            return;
        }

        ngx_http_jpulse_redis_open(rc);
        return;
    }

    if (rc->conf->resolver == NULL) {
        ngx_http_jpulse_redis_open(rc);
        return;
    }

    ctx = ngx_resolve_start(rc->conf->resolver, NULL);

    if (ctx == NULL || ctx == NGX_NO_RESOLVER) {
        ngx_http_jpulse_redis_open(rc);
        return;
    }

    ctx->name = rc->conf->resolve;
    ctx->handler = ngx_http_jpulse_redis_resolved;
    ctx->data = rc;

    /*
     * An unreachable DNS must not keep Redis away for resolver_timeout
     * (30 s by default): the last address known is tried after as long
     * as a connect may take. A late answer still fills the resolver's
     * cache for the next attempt.
     */

    ctx->timeout = ngx_min(rc->conf->resolver_timeout,
                           rc->conf->connect_timeout);
    ctx->cancelable = 1;

    rc->resolving = ctx;

    /* the handler may run now, from the resolver's cache */

    if (ngx_resolve_name(ctx) != NGX_OK) {
        /* ctx is freed */
        rc->resolving = NULL;
        ngx_http_jpulse_redis_open(rc);
    }
}


void
ngx_http_jpulse_redis_conn_discovered(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t found)
{
    rc->discovering = 0;

    if (found && !ngx_http_jpulse_redis_shutting_down()) {
        ngx_http_jpulse_redis_open(rc);
        return;
    }

    /* the attempt ends: requests waiting for it are answered */

    ngx_http_jpulse_redis_conn_fail(rc, found ? "worker is exiting"
                                              : "no sentinel names the "
                                                "primary");
}


static void
ngx_http_jpulse_redis_resolved(ngx_resolver_ctx_t *ctx)
{
    ngx_http_jpulse_redis_conn_t  *rc = ctx->data;

    size_t       len;
    ngx_uint_t   i;
    u_char       addr[NGX_SOCKADDR_STRLEN + 1];

    rc->resolving = NULL;

    if (ctx->state || ctx->naddrs == 0) {
        if (!rc->unresolved) {
            ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                          "jpulse_redis \"%V\": %s connection: cannot "
                          "resolve \"%V\": %s, trying %s",
                          &rc->conf->name, rc->role, &ctx->name,
                          ngx_resolver_strerror(ctx->state), rc->addr);
            rc->unresolved = 1;
        }

        ngx_resolve_name_done(ctx);
        ngx_http_jpulse_redis_open(rc);
        return;
    }

    rc->unresolved = 0;

    /*
     * nginx's resolver rotates a cached answer of several addresses: the
     * current one is kept while it is among them, so that both
     * connections stay on one server and a change means a failover.
     */

    for (i = ctx->naddrs - 1; i > 0; i--) {
        len = ngx_sock_ntop(ctx->addrs[i].sockaddr, ctx->addrs[i].socklen,
                            addr, NGX_SOCKADDR_STRLEN, 0);
        addr[len] = '\0';

        if (ngx_strcmp(addr, rc->addr) == 0) {
            break;
        }
    }

    /* the current one, or else the first */

    len = ngx_sock_ntop(ctx->addrs[i].sockaddr, ctx->addrs[i].socklen, addr,
                        NGX_SOCKADDR_STRLEN, 0);
    addr[len] = '\0';

    ngx_resolve_name_done(ctx);

    if (ngx_strcmp(addr, rc->addr) != 0) {
        ngx_log_error(NGX_LOG_NOTICE, rc->log, 0,
                      "jpulse_redis \"%V\": %s connection: \"%V\" is now "
                      "at %s", &rc->conf->name, rc->role, &rc->conf->resolve,
                      addr);

        ngx_memcpy(rc->addr, addr, len + 1);
    }

    ngx_http_jpulse_redis_open(rc);
}


static void
ngx_http_jpulse_redis_open(ngx_http_jpulse_redis_conn_t *rc)
{
    u_char              err[128];
    ngx_connection_t   *c;
    redisAsyncContext  *ac;

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    if (rc->conf->unix_path.len) {
        ac = redisAsyncConnectUnix((char *) rc->conf->unix_path.data);

    } else {
        ac = redisAsyncConnect((char *) rc->addr, rc->port);
    }

    if (ac == NULL) {
        ngx_http_jpulse_redis_conn_fail(rc, "out of memory");
        return;
    }

    if (ac->err) {
        ngx_cpystrn(err, (u_char *) ac->errstr, sizeof(err));
        redisAsyncFree(ac);
        ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
        return;
    }

    c = ngx_get_connection(ac->c.fd, rc->log);
    if (c == NULL) {
        redisAsyncFree(ac);
        ngx_http_jpulse_redis_conn_fail(rc, "no free nginx connection");
        return;
    }

    c->data = rc;
    c->read->handler = ngx_http_jpulse_redis_read_handler;
    c->write->handler = ngx_http_jpulse_redis_write_handler;
    c->read->log = rc->log;
    c->write->log = rc->log;

    rc->ac = ac;
    rc->connection = c;
    rc->state = NGX_HTTP_JPULSE_REDIS_CONNECTING;

    if (rc->conf->unix_path.len == 0) {
        /* notices a peer that vanished while nothing was being sent */
        (void) redisEnableKeepAlive(&ac->c);
    }

    ac->data = rc;
    rc->refused = NULL;

    if (ngx_http_jpulse_redis_reader_guard(ac) == NGX_ERROR) {
        ngx_log_error(NGX_LOG_ALERT, rc->log, 0,
                      "jpulse redis %s: hiredis has no reader", rc->role);
    }

    /* the hooks first: setting the connect callback adds a write event */
    ac->ev.data = rc;
    ac->ev.addRead = ngx_http_jpulse_redis_add_read;
    ac->ev.delRead = ngx_http_jpulse_redis_del_read;
    ac->ev.addWrite = ngx_http_jpulse_redis_add_write;
    ac->ev.delWrite = ngx_http_jpulse_redis_del_write;
    ac->ev.cleanup = ngx_http_jpulse_redis_cleanup;

    (void) redisAsyncSetDisconnectCallback(ac,
                                       ngx_http_jpulse_redis_on_disconnect);
    (void) redisAsyncSetConnectCallback(ac, ngx_http_jpulse_redis_on_connect);

    rc->deadline.cancelable = !rc->awaited;
    ngx_add_timer(&rc->deadline, rc->conf->connect_timeout);

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                   "jpulse redis %s: connecting to %V (%s:%d)", rc->role,
                   &rc->conf->name,
                   rc->conf->unix_path.len ? "unix" : (char *) rc->addr,
                   (int) rc->port);
}


/*
 * The connection is unusable: free it (callbacks in flight get NULL) and
 * retry later. One log line when a connection goes down, not one per
 * failed attempt while it stays down.
 */

void
ngx_http_jpulse_redis_conn_fail(ngx_http_jpulse_redis_conn_t *rc,
    const char *reason)
{
    u_char              text[128 * 4 + 1], *last;
    ngx_uint_t          level;
    redisAsyncContext  *ac;

    /* reasons may quote a peer's error: escaped, bounded */

    last = ngx_http_jpulse_redis_escape(text, (u_char *) reason,
                                        ngx_min(ngx_strlen(reason), 128));
    *last = '\0';
    reason = (const char *) text;

    if (rc->state == NGX_HTTP_JPULSE_REDIS_READY && !rc->oneshot) {
        ngx_http_jpulse_redis_conn_flap(rc);

    } else {
        /* an outage, not a server that will not serve */
        rc->flaps = 0;

        if (rc->hushed) {
            /* the losses before it were not said: this is */
            rc->failing = 0;
            rc->hushed = 0;
        }
    }

    if (rc->oneshot) {
        /*
         * A sentinel asked: the next one is, this one is named (once
         * while it keeps failing: its owner keeps "failing" per server).
         */

        if (!rc->failing && !ngx_http_jpulse_redis_shutting_down()) {
            ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                          "jpulse_redis \"%V\": %s %s:%d: %s",
                          &rc->conf->name, rc->role, rc->addr,
                          (int) rc->port, reason);
            rc->failing = 1;

        } else {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                           "jpulse redis %s %s: still failing: %s",
                           rc->role, rc->addr, reason);
        }

    } else if (!rc->failing && !ngx_http_jpulse_redis_shutting_down()) {
        /* a sentinel's pub/sub: another one is tried, Redis is not down */
        level = rc->auxiliary ? NGX_LOG_WARN : NGX_LOG_ERR;

        ngx_log_error(level, rc->log, 0,
                      "jpulse_redis \"%V\": %s connection %s: %s, "
                      "retrying", &rc->conf->name, rc->role,
                      rc->state == NGX_HTTP_JPULSE_REDIS_READY
                      ? "lost" : "failed", reason);
        rc->failing = 1;

    } else {
        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                       "jpulse redis %s: still failing: %s", rc->role,
                       reason);
    }

    ac = rc->ac;

    rc->ac = NULL;
    rc->state = NGX_HTTP_JPULSE_REDIS_IDLE;

    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (rc->keepalive.timer_set) {
        ngx_del_timer(&rc->keepalive);
    }

    if (ac) {
        /* deferred by hiredis when called from one of its callbacks */
        redisAsyncFree(ac);
    }

    if (!rc->oneshot) {
        ngx_http_jpulse_redis_schedule(rc);
    }

    rc->awaited = 0;

    if (rc->conf->sentinels) {
        ngx_http_jpulse_redis_sentinel_lost(rc);
    }

    if (rc->roams) {
        ngx_http_jpulse_redis_cluster_lost(rc);
    }

    if (rc->settled) {
        rc->settled(rc, 0);
    }
}


/* "the server sent <what> (IP:PORT)": which server, for the log */

static void
ngx_http_jpulse_redis_conn_refused(ngx_http_jpulse_redis_conn_t *rc,
    const char *what, u_char *buf, size_t size)
{
    u_char  *p;

    if (rc->conf->unix_path.len) {
        p = ngx_snprintf(buf, size - 1, "the server sent %s (unix:%V)",
                         what, &rc->conf->unix_path);

    } else {
        p = ngx_snprintf(buf, size - 1, "the server sent %s (%s:%d)",
                         what, rc->addr, (int) rc->port);
    }

    *p = '\0';
}


/*
 * A ready connection is lost. One that served a while is retried soon,
 * as a fresh failure; one lost right after its handshake was not usable:
 * its reconnects keep backing off (the handshake proves little against a
 * server that closes, errs or sends garbage at once). From the fifth
 * such loss in a row (no attempt failed between them: the server is
 * there, it just will not serve) they are said once a minute, and the
 * restores after them not at all; a few connections killed in a row
 * (CLIENT KILL, short outages) are still all said.
 */

static void
ngx_http_jpulse_redis_conn_flap(ngx_http_jpulse_redis_conn_t *rc)
{
    if (ngx_current_msec - rc->ready_at >= NGX_HTTP_JPULSE_REDIS_STABLE) {
        rc->backoff = NGX_HTTP_JPULSE_REDIS_BACKOFF_MIN;
        rc->flaps = 0;
        return;
    }

    if (++rc->flaps >= NGX_HTTP_JPULSE_REDIS_FLAPS
        && rc->flap_logged
        && ngx_current_msec - rc->flap_logged
           < NGX_HTTP_JPULSE_REDIS_FLAP_LOG)
    {
        rc->failing = 1;
        rc->hushed = 1;
        return;
    }

    rc->flap_logged = ngx_current_msec ? ngx_current_msec : 1;
}


void
ngx_http_jpulse_redis_conn_ready(ngx_http_jpulse_redis_conn_t *rc)
{
    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (rc->failing && !rc->hushed) {
        ngx_log_error(NGX_LOG_NOTICE, rc->log, 0,
                      "jpulse_redis \"%V\": %s connection restored",
                      &rc->conf->name, rc->role);

    } else if (!rc->was_ready) {
        ngx_log_error(NGX_LOG_INFO, rc->log, 0,
                      "jpulse_redis \"%V\": %s connection ready",
                      &rc->conf->name, rc->role);
    }

    if (rc->was_ready && !rc->auxiliary) {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_RECONNECTS, 1);
    }

    rc->role_logged = 0;

    rc->state = NGX_HTTP_JPULSE_REDIS_READY;
    rc->ready_at = ngx_current_msec;
    rc->failing = 0;
    rc->hushed = 0;
    rc->was_ready = 1;
    rc->timed_out = 0;
    rc->awaited = 0;

    if (rc->keepalive.handler && rc->conf->ping_interval) {
        ngx_add_timer(&rc->keepalive, rc->conf->ping_interval);
    }

    if (rc->settled) {
        rc->settled(rc, 1);
    }
}


ngx_uint_t
ngx_http_jpulse_redis_conn_connecting(ngx_http_jpulse_redis_conn_t *rc)
{
    if (rc->timed_out || ngx_http_jpulse_redis_shutting_down()) {
        return 0;
    }

    /*
     * Not while the name is resolved: the resolver's timer stays
     * cancelable, so a worker told to quit could leave before the
     * attempt ends and its waiters are answered.
     */

    return rc->state == NGX_HTTP_JPULSE_REDIS_CONNECTING
           || rc->state == NGX_HTTP_JPULSE_REDIS_HANDSHAKE
           || rc->discovering;
}


void
ngx_http_jpulse_redis_conn_await(ngx_http_jpulse_redis_conn_t *rc)
{
    /*
     * A worker told to quit exits once only cancelable timers are left:
     * the attempt's deadline is no longer one, so that it ends (ready or
     * not) and the requests waiting for it are answered first.
     */

    rc->awaited = 1;

    if (rc->deadline.timer_set) {
        rc->deadline.cancelable = 0;
    }

    if (rc->discovering) {
        /* the sentinel asked now keeps the worker as long */
        ngx_http_jpulse_redis_sentinel_await();
    }
}


void
ngx_http_jpulse_redis_conn_close(ngx_http_jpulse_redis_conn_t *rc)
{
    redisAsyncContext  *ac;

    ngx_http_jpulse_redis_exiting = 1;

    if (rc->retry.timer_set) {
        ngx_del_timer(&rc->retry);
    }

    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (rc->keepalive.timer_set) {
        ngx_del_timer(&rc->keepalive);
    }

    if (rc->resolving) {
        ngx_resolve_name_done(rc->resolving);
        rc->resolving = NULL;
    }

    rc->discovering = 0;

    ac = rc->ac;

    rc->ac = NULL;
    rc->state = NGX_HTTP_JPULSE_REDIS_IDLE;

    if (ac) {
        redisAsyncFree(ac);
    }
}


void
ngx_http_jpulse_redis_conn_drop(ngx_http_jpulse_redis_conn_t *rc)
{
    redisAsyncContext  *ac;

    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    if (rc->keepalive.timer_set) {
        ngx_del_timer(&rc->keepalive);
    }

    ac = rc->ac;

    rc->ac = NULL;
    rc->state = NGX_HTTP_JPULSE_REDIS_IDLE;
    rc->awaited = 0;

    if (ac) {
        /* deferred by hiredis when called from one of its callbacks */
        redisAsyncFree(ac);
    }
}


ngx_int_t
ngx_http_jpulse_redis_conn_send(ngx_http_jpulse_redis_conn_t *rc,
    ngx_http_jpulse_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_http_jpulse_redis_cmd_t  *cmd;

    /*
     * A context that the server closed is still ours while hiredis hands
     * the pending callbacks their NULL replies, before on_disconnect: it
     * takes no command, and callers must fall back as if Redis were down.
     */

    if (rc->ac == NULL
        || (rc->ac->c.flags & (REDIS_DISCONNECTING|REDIS_FREEING)))
    {
        return NGX_DECLINED;
    }

    /*
     * A slow Redis must not queue request rate x command_timeout commands
     * (and their callers' memory): past the cap, a render falls back to
     * the disk as if Redis were down. The handshake's few are not counted
     * against it.
     */

    if (rc->state == NGX_HTTP_JPULSE_REDIS_READY
        && rc->pending >= rc->conf->max_pending)
    {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_REDIS_REFUSED, 1);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                       "jpulse redis %s: %ui commands in flight, refused",
                       rc->role, rc->pending);

        return NGX_DECLINED;
    }

    cmd = ngx_alloc(sizeof(ngx_http_jpulse_redis_cmd_t), rc->log);
    if (cmd == NULL) {
        return NGX_ERROR;
    }

    cmd->rc = rc;
    cmd->handler = handler;
    cmd->data = data;
    cmd->sent = ngx_http_jpulse_redis_usec();

    if (redisAsyncCommandArgv(rc->ac, ngx_http_jpulse_redis_reply, cmd, argc,
                              argv, argvlen)
        != REDIS_OK)
    {
        ngx_free(cmd);
        return NGX_ERROR;
    }

    rc->pending++;

    /* the gauge is Redis's: a sentinel's commands are not counted */

    if (!rc->auxiliary) {
        ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_REDIS_PENDING,
                                    ++ngx_http_jpulse_redis_pending);
    }

    /*
     * While commands are in flight the deadline keeps an exiting worker
     * alive until they are answered or time out.
     */

    if (rc->state == NGX_HTTP_JPULSE_REDIS_READY && !rc->deadline.timer_set) {
        rc->deadline.cancelable = 0;
        ngx_add_timer(&rc->deadline, rc->conf->command_timeout);
    }

    return NGX_OK;
}


static void
ngx_http_jpulse_redis_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply                    *reply = r;
    ngx_http_jpulse_redis_cmd_t   *cmd = privdata;

    uint64_t                       usec;
    ngx_http_jpulse_redis_conn_t  *rc;

    rc = cmd->rc;
    rc->pending--;

    if (!rc->auxiliary) {
        ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_REDIS_PENDING,
                                    --ngx_http_jpulse_redis_pending);
    }

    usec = ngx_http_jpulse_redis_usec() - cmd->sent;

    if (!rc->auxiliary) {
        ngx_http_jpulse_metrics_redis(usec, reply == NULL
                                      || reply->type == REDIS_REPLY_ERROR);
    }

    if (rc->ac == ac && rc->state == NGX_HTTP_JPULSE_REDIS_READY) {

        /* progress: the deadline counts from the last reply */

        if (rc->deadline.timer_set) {
            ngx_del_timer(&rc->deadline);
        }

        if (rc->pending) {
            rc->deadline.cancelable = 0;
            ngx_add_timer(&rc->deadline, rc->conf->command_timeout);
        }
    }

    if (cmd->handler) {
        cmd->handler(reply, cmd->data);
    }

    ngx_free(cmd);

    /*
     * A primary that was demoted refuses writes, one that lost its
     * replicas may refuse everything: the failover happened (or is under
     * way), whatever command met it.
     */

    if (reply && reply->type == REDIS_REPLY_ERROR && rc->conf->sentinels
        && rc->ac == ac
        && ((reply->len >= 8 && ngx_strncmp(reply->str, "READONLY", 8) == 0)
            || (reply->len >= 10
                && ngx_strncmp(reply->str, "MASTERDOWN", 10) == 0)))
    {
        ngx_http_jpulse_redis_sentinel_moved(rc, reply->str);
    }
}


static void
ngx_http_jpulse_redis_on_connect(const redisAsyncContext *ac, int status)
{
    ngx_str_t                      *pw;
    const char                     *argv[2];
    size_t                          argvlen[2];
    u_char                          db[NGX_INT_T_LEN];
    ngx_http_jpulse_redis_conn_t   *rc;

    rc = ac->data;

    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns */
        rc->ac = NULL;
        ngx_http_jpulse_redis_conn_fail(rc, ac->errstr);
        return;
    }

    rc->state = NGX_HTTP_JPULSE_REDIS_HANDSHAKE;

    if (rc->deadline.timer_set) {
        ngx_del_timer(&rc->deadline);
    }

    rc->deadline.cancelable = !rc->awaited;
    ngx_add_timer(&rc->deadline, rc->conf->command_timeout);

    /* pipelined: Redis answers in order, a failure fails the handshake */

    pw = &rc->conf->password;

    if (pw->len) {
        argv[0] = "AUTH";
        argvlen[0] = 4;
        argv[1] = (char *) pw->data;
        argvlen[1] = pw->len;

        if (ngx_http_jpulse_redis_conn_send(rc,
                                        ngx_http_jpulse_redis_handshake_reply,
                                        rc, 2, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_jpulse_redis_conn_fail(rc, "cannot send AUTH");
            return;
        }
    }

    if (rc->conf->db) {
        argv[0] = "SELECT";
        argvlen[0] = 6;
        argv[1] = (char *) db;
        argvlen[1] = ngx_sprintf(db, "%ui", rc->conf->db) - db;

        if (ngx_http_jpulse_redis_conn_send(rc,
                                        ngx_http_jpulse_redis_handshake_reply,
                                        rc, 2, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_jpulse_redis_conn_fail(rc, "cannot send SELECT");
            return;
        }
    }

    /* a server named by the sentinels must still be the primary */

    if (rc->conf->sentinels) {
        argv[0] = "ROLE";
        argvlen[0] = 4;

        if (ngx_http_jpulse_redis_conn_send(rc,
                                        ngx_http_jpulse_redis_role_reply,
                                        rc, 1, argv, argvlen)
            != NGX_OK)
        {
            ngx_http_jpulse_redis_conn_fail(rc, "cannot send ROLE");
            return;
        }
    }

    if (rc->start(rc) != NGX_OK) {
        ngx_http_jpulse_redis_conn_fail(rc, "cannot start");
    }
}


/*
 * ROLE answers "master", "slave" (a replica: "slave" even in Redis 7) or
 * "sentinel" first. Anything but "master" fails the attempt before the
 * connection is used: nothing is ever written to a replica.
 */

static void
ngx_http_jpulse_redis_role_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_conn_t  *rc = data;

    u_char       text[32 * 4];
    ngx_str_t    role;
    redisReply  *first;

    if (reply == NULL || rc->state != NGX_HTTP_JPULSE_REDIS_HANDSHAKE) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        /* "NOPERM ...": the handshake is refused as for AUTH's errors */
        ngx_http_jpulse_redis_handshake_reply(reply, rc);
        return;
    }

    ngx_str_set(&role, "unknown");

    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0) {
        first = reply->element[0];

        if (first->type == REDIS_REPLY_STRING
            || first->type == REDIS_REPLY_STATUS)
        {
            role.data = (u_char *) first->str;
            role.len = ngx_min(first->len, 32);
        }
    }

    if (role.len == 6 && ngx_strncmp(role.data, "master", 6) == 0) {
        return;
    }

    if (!rc->role_logged) {
        /* the peer's string: no control bytes into error.log */
        role.len = ngx_http_jpulse_redis_escape(text, role.data, role.len)
                   - text;
        role.data = text;

        ngx_log_error(NGX_LOG_WARN, rc->log, 0,
                      "jpulse_redis \"%V\": %s connection: %s:%d has role "
                      "\"%V\", not master: refused, asking the sentinels "
                      "again", &rc->conf->name, rc->role, rc->addr,
                      (int) rc->port, &role);
        rc->role_logged = 1;
    }

    ngx_http_jpulse_redis_sentinel_not_primary(rc);
    ngx_http_jpulse_redis_conn_fail(rc, "not the primary");
}


static void
ngx_http_jpulse_redis_handshake_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_conn_t  *rc = data;

    u_char  err[256];

    if (reply == NULL || reply->type != REDIS_REPLY_ERROR
        || rc->state != NGX_HTTP_JPULSE_REDIS_HANDSHAKE)
    {
        return;
    }

    /* "WRONGPASS ...", "NOAUTH ...", "ERR DB index is out of range" */

    ngx_snprintf(err, sizeof(err) - 1, "handshake refused: %*s%Z",
                 ngx_min(reply->len, sizeof(err) - 32), reply->str);
    err[sizeof(err) - 1] = '\0';

    ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
}


static void
ngx_http_jpulse_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    u_char                         err[NGX_HTTP_JPULSE_REDIS_REFUSED_LEN];
    ngx_http_jpulse_redis_conn_t  *rc;

    rc = ac->data;

    if (rc->ac != ac) {
        /* we freed it ourselves */
        return;
    }

    /* the server closed it, or a read or write failed */

    rc->ac = NULL;

    if (rc->refused) {
        /* hiredis reports the refusal as "Out of memory" */
        ngx_http_jpulse_redis_conn_refused(rc, rc->refused, err, sizeof(err));
        rc->refused = NULL;

        ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
        return;
    }

    ngx_http_jpulse_redis_conn_fail(rc, status == REDIS_OK
                                        ? "closed" : ac->errstr);
}


static void
ngx_http_jpulse_redis_retry_handler(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_conn_t  *rc = ev->data;

    /* called once more, not timed out, when an exiting worker cancels it */

    if (ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    ngx_http_jpulse_redis_conn_connect(rc);
}


static void
ngx_http_jpulse_redis_deadline_handler(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_conn_t  *rc = ev->data;

    if (ev->cancelable && ngx_http_jpulse_redis_shutting_down()) {
        return;
    }

    switch (rc->state) {

    case NGX_HTTP_JPULSE_REDIS_CONNECTING:
        rc->timed_out = 1;
        ngx_http_jpulse_redis_conn_fail(rc, "connect timed out");
        return;

    case NGX_HTTP_JPULSE_REDIS_HANDSHAKE:
        rc->timed_out = 1;
        ngx_http_jpulse_redis_conn_fail(rc, "no answer to the handshake");
        return;

    case NGX_HTTP_JPULSE_REDIS_READY:
        ngx_http_jpulse_redis_conn_fail(rc, rc->pending
                                            ? "command timed out"
                                            : "keepalive not answered");
        return;

    default:
        return;
    }
}


static void
ngx_http_jpulse_redis_schedule(ngx_http_jpulse_redis_conn_t *rc)
{
    ngx_msec_t  delay;

    if (ngx_http_jpulse_redis_shutting_down() || rc->retry.timer_set) {
        return;
    }

    /* jitter, so that the workers of many hosts do not retry in step */

    delay = rc->backoff * (80 + ngx_random() % 41) / 100;

    rc->backoff = ngx_min(rc->backoff * 2, NGX_HTTP_JPULSE_REDIS_BACKOFF_MAX);

    ngx_add_timer(&rc->retry, delay);
}


static void
ngx_http_jpulse_redis_read_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c = ev->data;
    ngx_http_jpulse_redis_conn_t  *rc = c->data;

    u_char                         err[NGX_HTTP_JPULSE_REDIS_REFUSED_LEN];
    redisReader                   *reader;

    if (c->close) {
        /*
         * worker_shutdown_timeout has passed: nginx closes every
         * connection of the exiting worker. The commands in flight get
         * their NULL replies now rather than keep the worker alive until
         * command_timeout; no retry is scheduled while exiting.
         */

        if (rc->ac) {
            ngx_http_jpulse_redis_conn_fail(rc, "worker is exiting");
        }

        return;
    }

    if (rc->ac == NULL) {
        return;
    }

    /*
     * hiredis 0.14 keeps reading a reply it cannot parse yet (a bulk
     * string announced as 1 GB) into one buffer: past the cap, the
     * connection goes instead of the worker's memory. Each call reads at
     * most 16 KB more.
     */

    reader = rc->ac->c.reader;

    if (reader != NULL
        && reader->len - reader->pos > NGX_HTTP_JPULSE_REDIS_REPLY_BYTES)
    {
        ngx_http_jpulse_redis_conn_refused(rc, "a reply of more than "
                                           NGX_HTTP_JPULSE_REDIS_REPLY_BYTES_S,
                                           err, sizeof(err));
        ngx_http_jpulse_redis_conn_fail(rc, (char *) err);
        return;
    }

    redisAsyncHandleRead(rc->ac);
}


static void
ngx_http_jpulse_redis_write_handler(ngx_event_t *ev)
{
    ngx_connection_t              *c = ev->data;
    ngx_http_jpulse_redis_conn_t  *rc = c->data;

    if (rc->ac) {
        redisAsyncHandleWrite(rc->ac);
    }
}


static void
ngx_http_jpulse_redis_add_read(void *privdata)
{
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_event_t  *ev;

    ev = rc->connection->read;

    if (!ev->active) {
        if (ngx_add_event(ev, NGX_READ_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "jpulse redis %s: cannot watch reads", rc->role);
        }
    }
}


static void
ngx_http_jpulse_redis_del_read(void *privdata)
{
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_event_t  *ev;

    ev = rc->connection->read;

    if (ev->active) {
        (void) ngx_del_event(ev, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_jpulse_redis_add_write(void *privdata)
{
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_event_t  *ev;

    ev = rc->connection->write;

    if (!ev->active) {
        if (ngx_add_event(ev, NGX_WRITE_EVENT, NGX_LEVEL_EVENT) != NGX_OK) {
            ngx_log_error(NGX_LOG_ERR, rc->log, 0,
                          "jpulse redis %s: cannot watch writes", rc->role);
        }
    }
}


static void
ngx_http_jpulse_redis_del_write(void *privdata)
{
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_event_t  *ev;

    ev = rc->connection->write;

    if (ev->active) {
        (void) ngx_del_event(ev, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis is about to close the socket: give the nginx connection back */

static void
ngx_http_jpulse_redis_cleanup(void *privdata)
{
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_connection_t  *c;

    c = rc->connection;

    if (c == NULL) {
        return;
    }

    rc->connection = NULL;

    if (c->read->active) {
        (void) ngx_del_event(c->read, NGX_READ_EVENT, 0);
    }

    if (c->write->active) {
        (void) ngx_del_event(c->write, NGX_WRITE_EVENT, 0);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;

    ngx_free_connection(c);
}


static uint64_t
ngx_http_jpulse_redis_usec(void)
{
    struct timespec  ts;

    (void) clock_gettime(CLOCK_MONOTONIC, &ts);

    return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}


/*
 * A peer's string for error.log: printable ASCII as is, anything else
 * (CR, LF, other control bytes, non-ASCII) and the backslash as \xHH.
 * dst has room for 4 * len bytes.
 */

u_char *
ngx_http_jpulse_redis_escape(u_char *dst, u_char *src, size_t len)
{
    static u_char  hex[] = "0123456789abcdef";

    while (len--) {
        if (*src >= 0x20 && *src < 0x7f && *src != '\\') {
            *dst++ = *src++;
            continue;
        }

        *dst++ = '\\';
        *dst++ = 'x';
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src & 0xf];
        src++;
    }

    return dst;
}


static void
ngx_http_jpulse_redis_conn_pong(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_conn_t  *rc = data;

    if (reply == NULL || rc->state != NGX_HTTP_JPULSE_REDIS_HANDSHAKE) {
        return;
    }

    if (reply->type == REDIS_REPLY_ERROR) {
        ngx_http_jpulse_redis_conn_fail(rc, reply->str);
        return;
    }

    ngx_http_jpulse_redis_conn_ready(rc);
}


ngx_int_t
ngx_http_jpulse_redis_conn_start_ping(ngx_http_jpulse_redis_conn_t *rc)
{
    static const char    *argv[] = { "PING" };
    static const size_t   argvlen[] = { 4 };

    return ngx_http_jpulse_redis_conn_send(rc, ngx_http_jpulse_redis_conn_pong,
                                           rc, 1, argv, argvlen);
}
