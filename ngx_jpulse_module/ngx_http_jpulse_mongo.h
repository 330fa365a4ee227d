/*
 * MongoDB inside the nginx worker (issue 13).
 *
 * mongoc has no asynchronous API, so every call runs on an nginx thread
 * pool: the caller fills an operation, posts it, and gets it back in the
 * event loop once a thread has run it. Each worker makes its own
 * mongoc_client_pool_t after fork (mongoc is not fork-safe); the master
 * never talks to MongoDB.
 *
 * An operation lives on the heap, not in a request's pool: a client that
 * leaves while its operation runs (a paused database may hold it for the
 * whole socket timeout) is freed at once; the operation is freed when the
 * thread gives it back, and its done handler is not called then.
 */

#ifndef NGX_HTTP_JPULSE_MONGO_H
#define NGX_HTTP_JPULSE_MONGO_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <mongoc/mongoc.h>


typedef struct ngx_http_jpulse_mongo_op_s  ngx_http_jpulse_mongo_op_t;

/*
 * Runs on a pool thread: it may use client (popped from the worker's
 * pool for this operation, pushed back after) and op's own values, and
 * nothing of nginx (no pools, logs, events, time, request). It sets
 * op->rc (NGX_OK, or NGX_ERROR with op->error filled) and its results in
 * op->data. The budget (jpulse_mongodb timeout=) runs from the post:
 * op->deadline_ms is what was left when run started; a run of several
 * commands asks ngx_http_jpulse_mongo_left_ms() before each one, and
 * when nothing is left skips it with ngx_http_jpulse_mongo_expired().
 */
typedef void (*ngx_http_jpulse_mongo_run_pt)(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client);

/*
 * Back in the event loop, for an operation bound to a request that is
 * still there: r was parked by ngx_http_jpulse_mongo_post() (its count
 * raised); done answers it and finalizes it (ngx_http_finalize_request),
 * or resumes its phases. The operation is freed after done returns.
 */
typedef void (*ngx_http_jpulse_mongo_done_pt)(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op);

/*
 * The same for an operation without a request (a refresher: siteConfig,
 * docTypes): called in the event loop, unless the worker is exiting.
 */
typedef void (*ngx_http_jpulse_mongo_bg_done_pt)(
    ngx_http_jpulse_mongo_op_t *op);

/*
 * Frees what run left in op->data (results, BSON, JSON): always called
 * once, in the event loop, whether done ran or not (client gone, worker
 * exiting, post refused). May be NULL.
 */
typedef void (*ngx_http_jpulse_mongo_free_pt)(ngx_http_jpulse_mongo_op_t *op);


struct ngx_http_jpulse_mongo_op_s {
    /* set by the caller */
    ngx_http_jpulse_mongo_run_pt      run;
    ngx_http_jpulse_mongo_done_pt     done;       /* with a request */
    ngx_http_jpulse_mongo_bg_done_pt  bg_done;    /* without */
    ngx_http_jpulse_mongo_free_pt     free;
    void                             *data;       /* the caller's, heap:
                                                     data_size bytes after
                                                     op, zeroed */
    const char                       *name;       /* "search", "ping"...:
                                                     for logs and metrics */

    /* set by post, read by run */
    const char                       *db;         /* database name, NUL */
    int64_t                           deadline_ms;  /* for maxTimeMS */
    int64_t                           deadline_us;  /* monotonic, as
                                                       bson_get_monotonic_
                                                       time() */

    /* set by run */
    ngx_int_t                         rc;         /* NGX_OK, NGX_ERROR */
    bson_error_t                      error;      /* when NGX_ERROR */
    size_t                            result_size;  /* bytes kept: checked
                                                       against the cap */

    /* private to ngx_http_jpulse_mongo.c */
    void                             *priv;
};


/*
 * Thread-safe (no nginx): the milliseconds op's budget still holds (0 or
 * less: spent), and the error that says it ran out (503
 * DATABASE_UNAVAILABLE, as the server's MaxTimeMSExpired).
 */
int64_t ngx_http_jpulse_mongo_left_ms(ngx_http_jpulse_mongo_op_t *op);
void ngx_http_jpulse_mongo_expired(ngx_http_jpulse_mongo_op_t *op,
    const char *what);


/* jpulse_mongodb URI [db=NAME] [pool_max=N] [thread_pool=NAME] ... */
char *ngx_http_jpulse_mongodb(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* checks the thread pool exists (nginx -t names the fix), at postconf */
ngx_int_t ngx_http_jpulse_mongo_postconfiguration(ngx_conf_t *cf);

ngx_int_t ngx_http_jpulse_mongo_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_mongo_exit_process(ngx_cycle_t *cycle);

/* jpulse_mongodb is in the configuration */
ngx_uint_t ngx_http_jpulse_mongo_configured(void);

/* the last ping (or operation) reached the server */
ngx_uint_t ngx_http_jpulse_mongo_connected(void);

/* the largest result an operation may keep (result_max=, bytes) */
size_t ngx_http_jpulse_mongo_result_max(void);

/* the configured database's name (db= or the URI's), NUL-terminated */
const char *ngx_http_jpulse_mongo_db_name(void);

/*
 * An operation with data_size bytes of caller's data after it (zeroed),
 * on the heap; NULL when out of memory. Posted or freed, never both.
 */
ngx_http_jpulse_mongo_op_t *ngx_http_jpulse_mongo_op_create(size_t data_size,
    ngx_log_t *log);
void ngx_http_jpulse_mongo_op_free(ngx_http_jpulse_mongo_op_t *op);

/*
 * Posts op for r (r may be NULL: a background operation, bg_done then).
 *   NGX_OK        posted; r parked: the content handler returns NGX_DONE
 *                 (a phase handler NGX_DONE as well) and done runs later
 *   NGX_BUSY      the worker's queue is full (max_queue=), or nginx's
 *                 thread pool refused the task (its own max_queue): answer
 *                 503 DATABASE_BUSY; op was freed
 *   NGX_DECLINED  not configured, or the database is known down: answer
 *                 503 DATABASE_UNAVAILABLE (or fall back); op was freed
 *   NGX_ERROR     out of memory; op was freed
 */
ngx_int_t ngx_http_jpulse_mongo_post(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op);

/*
 * After done's op->rc == NGX_ERROR: the 503 DATABASE_UNAVAILABLE
 * (connection, timeout, server selection) or 500 DATABASE_ERROR
 * envelope for op->error, logged as operators need it; the result of
 * ngx_http_jpulse_send_error().
 */
ngx_int_t ngx_http_jpulse_mongo_send_error(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op);

/* the envelope of NGX_BUSY / NGX_DECLINED from post */
ngx_int_t ngx_http_jpulse_mongo_send_refusal(ngx_http_request_t *r,
    ngx_int_t rc);

/*
 * A callback run in the event loop whenever the database's state
 * changes (connected 1/0), from an init_process handler: siteConfig
 * re-reads on reconnect.
 */
typedef void (*ngx_http_jpulse_mongo_state_pt)(ngx_uint_t connected,
    void *data);

ngx_int_t ngx_http_jpulse_mongo_on_state(ngx_http_jpulse_mongo_state_pt h,
    void *data);


#endif /* NGX_HTTP_JPULSE_MONGO_H */
