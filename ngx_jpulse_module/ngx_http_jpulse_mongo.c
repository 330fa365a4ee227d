/*
 * MongoDB operations on nginx thread pools (see ngx_http_jpulse_mongo.h
 * and docs/architecture.md, "MongoDB on thread pools").
 *
 * An operation is one heap block: the caller's op, the nginx thread task
 * that carries it, its binding to a request and the caller's data. The
 * block lives from op_create to the completion in the event loop (or to
 * exit_process): never in a request's pool, since a request may be freed
 * while a thread still uses the operation.
 *
 * Per worker: one mongoc_client_pool_t (made in init_process, after the
 * fork) and the list of operations posted and not yet completed (bounded
 * by max_queue). While the database is known down (the ping and the
 * state: ngx_http_jpulse_mongo_state.c), posts are declined at once.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_mongo_int.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_out.h"


/* while every client of the pool is taken (pool_max) */
#define NGX_HTTP_JPULSE_MONGO_POP_WAIT_US  1000


typedef struct {
    ngx_http_jpulse_mongo_op_t     op;
    ngx_thread_task_t              task;
    ngx_queue_t                    queue;       /* posted, not completed */
    ngx_http_request_t            *request;     /* NULL: none, or gone */
    ngx_pool_cleanup_t            *cleanup;     /* on request->pool */
    ngx_event_t                    wait;        /* while a request waits */
    mongoc_client_pool_t          *pool;
    int64_t                        posted_us;   /* monotonic */
    int64_t                        timeout_ms;
    int64_t                        elapsed_us;  /* set by the thread */
    ngx_atomic_t                   ran;         /* set by the thread */
    unsigned                       bound:1;     /* had a request */
    unsigned                       ping:1;
} ngx_http_jpulse_mongo_task_t;


static void ngx_http_jpulse_mongo_thread(void *data, ngx_log_t *log);
static void ngx_http_jpulse_mongo_complete(ngx_event_t *ev);
static void ngx_http_jpulse_mongo_detach(void *data);
static void ngx_http_jpulse_mongo_waiting(ngx_event_t *ev);
static void ngx_http_jpulse_mongo_gauges(void);
static int64_t ngx_http_jpulse_mongo_now_us(void);


static mongoc_client_pool_t         *ngx_http_jpulse_mongo_pool;
static ngx_http_jpulse_mongo_conf_t *ngx_http_jpulse_mongo_mcf;
static ngx_queue_t                   ngx_http_jpulse_mongo_posted;
static ngx_uint_t                    ngx_http_jpulse_mongo_nposted;
static ngx_atomic_t                  ngx_http_jpulse_mongo_running;
static ngx_uint_t                    ngx_http_jpulse_mongo_exiting;
static ngx_uint_t                    ngx_http_jpulse_mongo_full;
static ngx_uint_t                    ngx_http_jpulse_mongo_refused;


ngx_int_t
ngx_http_jpulse_mongo_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_main_conf_t   *jmcf;
    ngx_http_jpulse_mongo_conf_t  *mcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);
    mcf = jmcf->mongo;

    if (mcf == NULL) {
        return NGX_OK;
    }

    /*
     * Where mongoc did not initialize itself when it was loaded, its
     * counters would go into a /dev/shm/mongoc-<pid> segment that a
     * worker killed leaves behind: malloc serves as well.
     */

    if (setenv("MONGOC_DISABLE_SHM", "1", 1) != 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "jpulse_mongodb: setenv(MONGOC_DISABLE_SHM) failed");
    }

    mongoc_init();

    ngx_http_jpulse_mongo_pool = mongoc_client_pool_new(mcf->uri);

    if (ngx_http_jpulse_mongo_pool == NULL) {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "jpulse_mongodb: mongoc_client_pool_new() failed");
        mongoc_cleanup();
        return NGX_ERROR;
    }

    (void) mongoc_client_pool_set_error_api(ngx_http_jpulse_mongo_pool,
                                            MONGOC_ERROR_API_VERSION_2);

    if (!mongoc_uri_has_option(mcf->uri, MONGOC_URI_APPNAME)) {
        (void) mongoc_client_pool_set_appname(ngx_http_jpulse_mongo_pool,
                                              "ngx_jpulse");
    }

    ngx_http_jpulse_mongo_mcf = mcf;
    ngx_queue_init(&ngx_http_jpulse_mongo_posted);
    ngx_http_jpulse_mongo_nposted = 0;
    ngx_http_jpulse_mongo_exiting = 0;

    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_MONGO_POOL_MAX,
                                mcf->pool_max);
    ngx_http_jpulse_mongo_gauges();

    ngx_http_jpulse_mongo_state_start(cycle, mcf);

    return NGX_OK;
}


/*
 * nginx's thread pool module is a core module: its exit_process (which
 * lets every queued task run and then stops the threads) runs before
 * ours. What is still listed then has run on its thread, but its
 * completion never fired: only free is called. An operation a thread
 * did not finish (which that order rules out) is left, not freed.
 */

void
ngx_http_jpulse_mongo_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                     left;
    ngx_queue_t                   *q;
    ngx_http_jpulse_mongo_task_t  *t;

    if (ngx_http_jpulse_mongo_pool == NULL) {
        return;
    }

    ngx_http_jpulse_mongo_exiting = 1;

    ngx_http_jpulse_mongo_state_stop();

    left = 0;

    while (!ngx_queue_empty(&ngx_http_jpulse_mongo_posted)) {
        q = ngx_queue_head(&ngx_http_jpulse_mongo_posted);
        t = ngx_queue_data(q, ngx_http_jpulse_mongo_task_t, queue);

        ngx_queue_remove(q);
        ngx_http_jpulse_mongo_nposted--;

        if (t->cleanup) {
            t->cleanup->handler = NULL;
        }

        if (t->wait.timer_set) {
            ngx_del_timer(&t->wait);
        }

        ngx_memory_barrier();

        if (!t->ran) {
            left++;
            continue;
        }

        ngx_http_jpulse_mongo_op_free(&t->op);
    }

    if (left) {
        /* a thread may still hold a client: the pool cannot go */
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "jpulse_mongodb: %ui operations still on threads "
                      "at exit", left);
        ngx_http_jpulse_mongo_pool = NULL;
        return;
    }

    mongoc_client_pool_destroy(ngx_http_jpulse_mongo_pool);
    ngx_http_jpulse_mongo_pool = NULL;

    mongoc_cleanup();
}


ngx_http_jpulse_mongo_op_t *
ngx_http_jpulse_mongo_op_create(size_t data_size, ngx_log_t *log)
{
    size_t                         size;
    ngx_http_jpulse_mongo_task_t  *t;

    size = ngx_align(sizeof(ngx_http_jpulse_mongo_task_t), 16);

    t = ngx_calloc(size + data_size, log);
    if (t == NULL) {
        return NULL;
    }

    t->op.priv = t;
    t->op.data = data_size ? (u_char *) t + size : NULL;

    return &t->op;
}


void
ngx_http_jpulse_mongo_op_free(ngx_http_jpulse_mongo_op_t *op)
{
    if (op->free) {
        op->free(op);
    }

    ngx_free(op->priv);
}


ngx_int_t
ngx_http_jpulse_mongo_post(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    return ngx_http_jpulse_mongo_submit(r, op, 0);
}


ngx_int_t
ngx_http_jpulse_mongo_submit(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op, ngx_uint_t probe)
{
    ngx_log_t                     *log;
    ngx_http_jpulse_mongo_conf_t  *mcf;
    ngx_http_jpulse_mongo_task_t  *t;

    t = op->priv;
    mcf = ngx_http_jpulse_mongo_mcf;
    log = r ? r->connection->log : ngx_cycle->log;

    if (ngx_http_jpulse_mongo_pool == NULL || ngx_http_jpulse_mongo_exiting) {
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_DECLINED;
    }

    if (!probe && ngx_http_jpulse_mongo_down()) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, log, 0,
                       "jpulse mongo: \"%s\" declined, the database is down",
                       op->name ? op->name : "");
        ngx_http_jpulse_metrics_mongo(op->name,
                                      NGX_HTTP_JPULSE_MONGO_OP_UNAVAILABLE,
                                      -1);
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_DECLINED;
    }

    if (ngx_http_jpulse_mongo_nposted >= mcf->max_queue) {
        /* once per episode: a flood of refusals is one line in the log */

        if (!ngx_http_jpulse_mongo_full) {
            ngx_http_jpulse_mongo_full = 1;
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "jpulse_mongodb: %ui operations wait: \"%s\" "
                          "and the next ones refused (max_queue)",
                          ngx_http_jpulse_mongo_nposted,
                          op->name ? op->name : "");
        }

        ngx_http_jpulse_metrics_mongo(op->name,
                                      NGX_HTTP_JPULSE_MONGO_OP_BUSY, -1);
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_BUSY;
    }

    op->db = (const char *) mcf->db.data;
    op->deadline_ms = mcf->timeout;

    t->pool = ngx_http_jpulse_mongo_pool;
    t->timeout_ms = mcf->timeout;
    t->posted_us = ngx_http_jpulse_mongo_now_us();
    t->ping = probe;

    op->deadline_us = t->posted_us + (int64_t) mcf->timeout * 1000;

    t->task.ctx = t;
    t->task.handler = ngx_http_jpulse_mongo_thread;
    t->task.event.data = t;
    t->task.event.handler = ngx_http_jpulse_mongo_complete;
    t->task.event.log = ngx_cycle->log;

    if (r) {
        /* the request may be freed first: the binding is undone then */

        t->cleanup = ngx_pool_cleanup_add(r->pool, 0);
        if (t->cleanup == NULL) {
            ngx_http_jpulse_mongo_op_free(op);
            return NGX_ERROR;
        }

        t->cleanup->handler = ngx_http_jpulse_mongo_detach;
        t->cleanup->data = t;
        t->request = r;
        t->bound = 1;

        t->wait.handler = ngx_http_jpulse_mongo_waiting;
        t->wait.data = t;
        t->wait.log = ngx_cycle->log;
    }

    if (ngx_thread_task_post(mcf->thread_pool, &t->task) != NGX_OK) {
        /* nginx's own queue is full: busy, as ours is, and logged once */

        if (!ngx_http_jpulse_mongo_refused) {
            ngx_http_jpulse_mongo_refused = 1;
            ngx_log_error(NGX_LOG_WARN, log, 0,
                          "jpulse_mongodb: thread pool \"%V\" refused "
                          "\"%s\" and may refuse the next ones",
                          &mcf->thread_pool_name, op->name ? op->name : "");
        }

        if (t->cleanup) {
            t->cleanup->handler = NULL;
        }

        ngx_http_jpulse_metrics_mongo(op->name,
                                      NGX_HTTP_JPULSE_MONGO_OP_BUSY, -1);
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_BUSY;
    }

    ngx_queue_insert_tail(&ngx_http_jpulse_mongo_posted, &t->queue);
    ngx_http_jpulse_mongo_nposted++;
    ngx_http_jpulse_mongo_gauges();

    if (r) {
        r->main->count++;

        /*
         * A parked request has no timer of its own: this one keeps a
         * worker that shuts down from exiting under it (and so from
         * leaving its connection open) until the operation is back.
         */
        ngx_add_timer(&t->wait, t->timeout_ms + 1000);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "jpulse mongo: \"%s\" posted, %ui waiting",
                   op->name ? op->name : "", ngx_http_jpulse_mongo_nposted);

    return NGX_OK;
}


/*
 * On a pool thread: mongoc, libbson and the task's own values only. The
 * wait for a client (pool_max, another thread pushes one back) counts
 * against the operation's budget, as the queue does: try_pop, polled
 * until the budget is spent, rather than a pop that may wait for ever.
 */

static void
ngx_http_jpulse_mongo_thread(void *data, ngx_log_t *log)
{
    ngx_http_jpulse_mongo_task_t  *t = data;

    int64_t                      start;
    mongoc_client_t             *client;
    ngx_http_jpulse_mongo_op_t  *op;

    op = &t->op;

    (void) ngx_atomic_fetch_add(&ngx_http_jpulse_mongo_running, 1);

    start = ngx_http_jpulse_mongo_now_us();

    for ( ;; ) {
        client = mongoc_client_pool_try_pop(t->pool);

        if (client != NULL || ngx_http_jpulse_mongo_left_ms(op) <= 0) {
            break;
        }

        (void) usleep(NGX_HTTP_JPULSE_MONGO_POP_WAIT_US);
    }

    op->deadline_ms = ngx_http_jpulse_mongo_left_ms(op);

    if (client == NULL || op->deadline_ms <= 0) {
        ngx_http_jpulse_mongo_expired(op, "a thread and a connection");

    } else {
        op->rc = NGX_OK;
        op->run(op, client);
    }

    if (client != NULL) {
        mongoc_client_pool_push(t->pool, client);
    }

    t->elapsed_us = ngx_http_jpulse_mongo_now_us() - start;

    (void) ngx_atomic_fetch_add(&ngx_http_jpulse_mongo_running, -1);

    ngx_memory_barrier();
    t->ran = 1;
}


int64_t
ngx_http_jpulse_mongo_left_ms(ngx_http_jpulse_mongo_op_t *op)
{
    return (op->deadline_us - ngx_http_jpulse_mongo_now_us()) / 1000;
}


void
ngx_http_jpulse_mongo_expired(ngx_http_jpulse_mongo_op_t *op,
    const char *what)
{
    /* as the server says it (MaxTimeMSExpired): busy, not down */

    op->rc = NGX_ERROR;
    bson_set_error(&op->error, MONGOC_ERROR_SERVER,
                   NGX_HTTP_JPULSE_MONGO_MAX_TIME_EXPIRED,
                   "the operation's timeout ran out before %s", what);
}


/* In the event loop, called by nginx's thread pool handler. */

static void
ngx_http_jpulse_mongo_complete(ngx_event_t *ev)
{
    ngx_http_jpulse_mongo_task_t  *t = ev->data;

    ngx_uint_t                   outcome, unreachable;
    ngx_connection_t            *c;
    ngx_http_request_t          *r;
    ngx_http_jpulse_mongo_op_t  *op;

    op = &t->op;

    ngx_queue_remove(&t->queue);
    ngx_http_jpulse_mongo_nposted--;
    ngx_http_jpulse_mongo_gauges();

    if (ngx_http_jpulse_mongo_full
        && ngx_http_jpulse_mongo_nposted
           <= ngx_http_jpulse_mongo_mcf->max_queue / 2)
    {
        ngx_http_jpulse_mongo_full = 0;
    }

    /* a task came back: nginx's queue has room again */
    ngx_http_jpulse_mongo_refused = 0;

    unreachable = 0;

    /* run keeps result_max itself (it stops reading); this is the net */

    if (op->rc == NGX_OK
        && op->result_size > ngx_http_jpulse_mongo_mcf->result_max)
    {
        op->rc = NGX_ERROR;
        bson_set_error(&op->error, MONGOC_ERROR_CLIENT,
                       MONGOC_ERROR_CLIENT_TOO_BIG,
                       "a result of %zu bytes is over result_max (%zu)",
                       op->result_size,
                       ngx_http_jpulse_mongo_mcf->result_max);
    }

    if (op->rc == NGX_OK) {
        outcome = NGX_HTTP_JPULSE_MONGO_OP_OK;

    } else {
        unreachable = ngx_http_jpulse_mongo_unreachable(&op->error);
        outcome = (unreachable || ngx_http_jpulse_mongo_timed_out(&op->error))
                  ? NGX_HTTP_JPULSE_MONGO_OP_UNAVAILABLE
                  : NGX_HTTP_JPULSE_MONGO_OP_ERROR;
    }

    ngx_http_jpulse_metrics_mongo(op->name, outcome,
                                  t->elapsed_us >= 0 ? t->elapsed_us : 0);

    /*
     * A command answered: the server is there. Only the ping says it is
     * down: one operation that could not reach it (a connection reset,
     * one slow server selection) brings the ping forward, so one failure
     * neither refuses the worker's next requests nor makes the state flap.
     */

    if (op->rc == NGX_OK) {
        ngx_http_jpulse_mongo_set_state(1, NULL);

    } else if (unreachable) {
        if (t->ping) {
            ngx_http_jpulse_mongo_set_state(0, &op->error);

        } else {
            ngx_http_jpulse_mongo_ping_soon();
        }
    }

    if (t->request) {
        r = t->request;
        c = r->connection;

        t->cleanup->handler = NULL;
        t->request = NULL;

        if (t->wait.timer_set) {
            ngx_del_timer(&t->wait);
        }

        ngx_http_set_log_request(c->log, r);

        ngx_log_debug2(NGX_LOG_DEBUG_HTTP, c->log, 0,
                       "jpulse mongo: \"%s\" done, rc: %i",
                       op->name ? op->name : "", op->rc);

        op->done(r, op);
        ngx_http_jpulse_mongo_op_free(op);

        ngx_http_run_posted_requests(c);
        return;
    }

    if (t->bound) {
        /* the client left: nobody waits for the result */
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "jpulse mongo: \"%s\" done, its request is gone",
                       op->name ? op->name : "");

    } else if (op->bg_done) {
        op->bg_done(op);
    }

    ngx_http_jpulse_mongo_op_free(op);
}


/*
 * r->pool is being destroyed (the request was closed: the client left,
 * a timeout, the shutdown timer) before its operation came back.
 */

static void
ngx_http_jpulse_mongo_detach(void *data)
{
    ngx_http_jpulse_mongo_task_t  *t = data;

    t->request = NULL;
    t->cleanup = NULL;

    if (t->wait.timer_set) {
        ngx_del_timer(&t->wait);
    }
}


/* the thread holds the operation past its timeout: the request waits on */

static void
ngx_http_jpulse_mongo_waiting(ngx_event_t *ev)
{
    ngx_http_jpulse_mongo_task_t  *t = ev->data;

    ngx_log_error(NGX_LOG_INFO, ev->log, 0,
                  "jpulse_mongodb: \"%s\" still runs after its timeout",
                  t->op.name ? t->op.name : "");

    ngx_add_timer(ev, t->timeout_ms);
}


static void
ngx_http_jpulse_mongo_gauges(void)
{
    ngx_atomic_uint_t  running;

    running = ngx_http_jpulse_mongo_running;

    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_MONGO_PENDING,
                                ngx_http_jpulse_mongo_nposted);
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_MONGO_RUNNING, running);
}


/* libbson's monotonic clock: safe on the threads, no nginx time */

static int64_t
ngx_http_jpulse_mongo_now_us(void)
{
    return bson_get_monotonic_time();
}
