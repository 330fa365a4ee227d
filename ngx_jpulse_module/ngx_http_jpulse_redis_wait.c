/*
 * Requests that wait for this worker's command connection while it is
 * being made: just after the worker started (a start, a reload, a binary
 * upgrade, a worker respawned) or while it reconnects.
 *
 * Only the session load waits (ngx_http_jpulse_session.c): declining
 * would take every signed-in user for anonymous in the first moments of
 * a worker, a 401 or a login redirect under jpulse_require_role. Every
 * other caller keeps declining at once and falls back (pages from the
 * disk, and so on): none of them changes who the user is.
 *
 * The list is bounded by max_pending (the waiters become commands in
 * flight, which that bounds too); past it a request is declined at once.
 * An attempt that fails wakes the waiters as well: they are declined then,
 * and while Redis stays down (the next attempt is only scheduled) nothing
 * waits. Nothing waits either once an attempt ran into connect_timeout
 * (see ngx_http_jpulse_redis_conn_connecting()).
 *
 * A waiter holds its request: an http cleanup (run when the request is
 * terminated, client gone or shutdown timer) unlinks and frees it. The
 * waiters are woken from a posted event, never from within hiredis.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_redis_conn.h"
#include "ngx_http_jpulse_redis_cluster.h"


typedef struct {
    ngx_queue_t                         queue;
    ngx_http_request_t                 *request;
    ngx_http_cleanup_t                 *cleanup;
    ngx_http_jpulse_redis_wait_pt       handler;
    void                               *data;
} ngx_http_jpulse_redis_waiter_t;


static void ngx_http_jpulse_redis_wait_settled(
    ngx_http_jpulse_redis_conn_t *rc, ngx_uint_t ready);
static void ngx_http_jpulse_redis_wait_wake(ngx_event_t *ev);
static void ngx_http_jpulse_redis_wait_cleanup(void *data);


static ngx_http_jpulse_redis_conn_t  *ngx_http_jpulse_redis_wait_conn;
static ngx_queue_t                    ngx_http_jpulse_redis_waiters;
static ngx_uint_t                     ngx_http_jpulse_redis_nwaiters;
static ngx_event_t                    ngx_http_jpulse_redis_wake;


void
ngx_http_jpulse_redis_wait_init(ngx_http_jpulse_redis_conn_t *rc,
    ngx_log_t *log)
{
    ngx_queue_init(&ngx_http_jpulse_redis_waiters);
    ngx_http_jpulse_redis_nwaiters = 0;

    ngx_http_jpulse_redis_wake.handler = ngx_http_jpulse_redis_wait_wake;
    ngx_http_jpulse_redis_wake.data = rc;
    ngx_http_jpulse_redis_wake.log = log;

    ngx_http_jpulse_redis_wait_conn = rc;
    rc->settled = ngx_http_jpulse_redis_wait_settled;
}


ngx_int_t
ngx_http_jpulse_redis_when_ready(ngx_http_request_t *r,
    ngx_http_jpulse_redis_wait_pt handler, void *data)
{
    ngx_http_cleanup_t              *cln;
    ngx_http_jpulse_redis_conn_t    *rc;
    ngx_http_jpulse_redis_waiter_t  *w;

    rc = ngx_http_jpulse_redis_wait_conn;

    /*
     * Cluster mode: the command connection is not used; the request waits
     * for the slot map and the primaries' connections being made.
     */

    if (rc == NULL
        || !(rc->conf->cluster ? ngx_http_jpulse_redis_cluster_connecting()
                               : ngx_http_jpulse_redis_conn_connecting(rc)))
    {
        return NGX_DECLINED;
    }

    if (ngx_http_jpulse_redis_nwaiters >= rc->conf->max_pending) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "jpulse redis: %ui requests wait, declined",
                       ngx_http_jpulse_redis_nwaiters);
        return NGX_DECLINED;
    }

    /* not from the request pool: the request may go first */

    w = ngx_alloc(sizeof(ngx_http_jpulse_redis_waiter_t), r->connection->log);
    if (w == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_free(w);
        return NGX_ERROR;
    }

    w->request = r;
    w->cleanup = cln;
    w->handler = handler;
    w->data = data;

    cln->handler = ngx_http_jpulse_redis_wait_cleanup;
    cln->data = w;

    if (ngx_http_jpulse_redis_nwaiters++ == 0) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "jpulse_redis \"%V\": requests wait for the command "
                      "connection", &rc->conf->name);
    }

    ngx_queue_insert_tail(&ngx_http_jpulse_redis_waiters, &w->queue);

    if (rc->conf->cluster) {
        ngx_http_jpulse_redis_cluster_await();

    } else {
        ngx_http_jpulse_redis_conn_await(rc);
    }

    ngx_http_jpulse_redis_park(r);

    return NGX_OK;
}


static void
ngx_http_jpulse_redis_wait_settled(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t ready)
{
    /* called within hiredis's callbacks: the requests run later */

    if (ngx_http_jpulse_redis_nwaiters && !ngx_http_jpulse_redis_wake.posted)
    {
        ngx_post_event(&ngx_http_jpulse_redis_wake, &ngx_posted_events);
    }
}


void
ngx_http_jpulse_redis_wait_notify(void)
{
    if (ngx_http_jpulse_redis_nwaiters
        && !ngx_http_jpulse_redis_wake.posted
        && !ngx_http_jpulse_redis_cluster_connecting())
    {
        ngx_post_event(&ngx_http_jpulse_redis_wake, &ngx_posted_events);
    }
}


static void
ngx_http_jpulse_redis_wait_wake(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_conn_t  *rc = ev->data;

    void                            *data;
    ngx_uint_t                       ready;
    ngx_queue_t                     *q;
    ngx_connection_t                *c;
    ngx_http_request_t              *r;
    ngx_http_jpulse_redis_wait_pt    handler;
    ngx_http_jpulse_redis_waiter_t  *w;

    if (ngx_http_jpulse_redis_closing()) {
        return;
    }

    /*
     * Whoever waits now waited for the attempt that ended: ready or not,
     * each is woken once. A resumed request may end another one (two
     * streams of a connection): the head is taken afresh each time.
     */

    while (!ngx_queue_empty(&ngx_http_jpulse_redis_waiters)) {
        q = ngx_queue_head(&ngx_http_jpulse_redis_waiters);
        w = ngx_queue_data(q, ngx_http_jpulse_redis_waiter_t, queue);

        ngx_queue_remove(q);
        ngx_http_jpulse_redis_nwaiters--;

        w->cleanup->handler = NULL;

        r = w->request;
        handler = w->handler;
        data = w->data;

        ngx_free(w);

        ready = rc->conf->cluster ? ngx_http_jpulse_redis_ready()
                                  : rc->state == NGX_HTTP_JPULSE_REDIS_READY;
        c = r->connection;

        ngx_http_set_log_request(c->log, r);

        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "jpulse redis: a waiting request resumes, ready: %ui",
                       ready);

        handler(r, ready, data);

        ngx_http_run_posted_requests(c);
    }
}


static void
ngx_http_jpulse_redis_wait_cleanup(void *data)
{
    ngx_http_jpulse_redis_waiter_t  *w = data;

    /* the request ends while it waits: it is forgotten */

    ngx_queue_remove(&w->queue);
    ngx_http_jpulse_redis_nwaiters--;

    ngx_free(w);
}


/*
 * exit_process: the process and its requests are going away; nothing is
 * resumed (as with the NULL replies of the commands in flight).
 */

void
ngx_http_jpulse_redis_wait_exit(void)
{
    ngx_queue_t                     *q;
    ngx_http_jpulse_redis_waiter_t  *w;

    if (ngx_http_jpulse_redis_wait_conn == NULL) {
        return;
    }

    if (ngx_http_jpulse_redis_wake.posted) {
        ngx_delete_posted_event(&ngx_http_jpulse_redis_wake);
    }

    while (!ngx_queue_empty(&ngx_http_jpulse_redis_waiters)) {
        q = ngx_queue_head(&ngx_http_jpulse_redis_waiters);
        w = ngx_queue_data(q, ngx_http_jpulse_redis_waiter_t, queue);

        ngx_queue_remove(q);
        w->cleanup->handler = NULL;
        ngx_free(w);
    }

    ngx_http_jpulse_redis_nwaiters = 0;
    ngx_http_jpulse_redis_wait_conn->settled = NULL;
}
