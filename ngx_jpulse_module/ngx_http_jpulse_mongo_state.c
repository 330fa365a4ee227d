/*
 * The database's state in a worker, and what requests are told about it.
 *
 * Unknown until the first ping answers, then down only as a ping says,
 * up as a ping or any operation answered says (an operation that could
 * not reach the server sends the next ping at once). One ping at a
 * time, every ping_interval, as a background operation on the thread
 * pool: health and readiness only read the state, they never wait for
 * MongoDB. Changes are logged once and passed to the _on_state handlers.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_mongo_int.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_out.h"


#define NGX_HTTP_JPULSE_MONGO_UNKNOWN  0
#define NGX_HTTP_JPULSE_MONGO_UP       1
#define NGX_HTTP_JPULSE_MONGO_DOWN     2

#define NGX_HTTP_JPULSE_MONGO_HANDLERS  8


typedef struct {
    ngx_http_jpulse_mongo_state_pt  handler;
    void                           *data;
} ngx_http_jpulse_mongo_listener_t;


static ngx_http_jpulse_dep_state_e ngx_http_jpulse_mongo_dep_state(void);
static void ngx_http_jpulse_mongo_ping_timer(ngx_event_t *ev);
static void ngx_http_jpulse_mongo_ping_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client);
static void ngx_http_jpulse_mongo_ping_done(ngx_http_jpulse_mongo_op_t *op);


static ngx_http_jpulse_mongo_conf_t *ngx_http_jpulse_mongo_state_mcf;
static ngx_uint_t                    ngx_http_jpulse_mongo_state;
static ngx_uint_t                    ngx_http_jpulse_mongo_pinging;
static ngx_event_t                   ngx_http_jpulse_mongo_ping_ev;

static ngx_http_jpulse_mongo_listener_t
    ngx_http_jpulse_mongo_listeners[NGX_HTTP_JPULSE_MONGO_HANDLERS];
static ngx_uint_t                    ngx_http_jpulse_mongo_nlisteners;


void
ngx_http_jpulse_mongo_state_start(ngx_cycle_t *cycle,
    ngx_http_jpulse_mongo_conf_t *mcf)
{
    ngx_http_jpulse_mongo_state_mcf = mcf;
    ngx_http_jpulse_mongo_state = NGX_HTTP_JPULSE_MONGO_UNKNOWN;
    ngx_http_jpulse_mongo_pinging = 0;

    ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEP_DATABASE].state =
                                            ngx_http_jpulse_mongo_dep_state;

    ngx_http_jpulse_mongo_ping_ev.handler = ngx_http_jpulse_mongo_ping_timer;
    ngx_http_jpulse_mongo_ping_ev.log = cycle->log;
    ngx_http_jpulse_mongo_ping_ev.data = cycle;  /* for the debug log */
    ngx_http_jpulse_mongo_ping_ev.cancelable = 1;

    /* the first ping at once: the state is unknown until it answers */
    ngx_add_timer(&ngx_http_jpulse_mongo_ping_ev, 1);
}


void
ngx_http_jpulse_mongo_state_stop(void)
{
    if (ngx_http_jpulse_mongo_ping_ev.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_mongo_ping_ev);
    }
}


ngx_uint_t
ngx_http_jpulse_mongo_down(void)
{
    return ngx_http_jpulse_mongo_state == NGX_HTTP_JPULSE_MONGO_DOWN;
}


ngx_uint_t
ngx_http_jpulse_mongo_connected(void)
{
    return ngx_http_jpulse_mongo_state == NGX_HTTP_JPULSE_MONGO_UP;
}


static ngx_http_jpulse_dep_state_e
ngx_http_jpulse_mongo_dep_state(void)
{
    return ngx_http_jpulse_mongo_state == NGX_HTTP_JPULSE_MONGO_UP
           ? NGX_HTTP_JPULSE_DEP_UP : NGX_HTTP_JPULSE_DEP_DOWN;
}


ngx_int_t
ngx_http_jpulse_mongo_on_state(ngx_http_jpulse_mongo_state_pt h, void *data)
{
    ngx_http_jpulse_mongo_listener_t  *l;

    if (ngx_http_jpulse_mongo_nlisteners == NGX_HTTP_JPULSE_MONGO_HANDLERS) {
        return NGX_ERROR;
    }

    l = &ngx_http_jpulse_mongo_listeners[ngx_http_jpulse_mongo_nlisteners++];
    l->handler = h;
    l->data = data;

    return NGX_OK;
}


/*
 * The errors that say the server could not be reached: 503
 * DATABASE_UNAVAILABLE rather than 500; from the ping, the database is
 * down.
 */

ngx_uint_t
ngx_http_jpulse_mongo_unreachable(bson_error_t *error)
{
    switch (error->domain) {

    case MONGOC_ERROR_STREAM:
    case MONGOC_ERROR_SERVER_SELECTION:
        return 1;

    case MONGOC_ERROR_CLIENT:
        return error->code == MONGOC_ERROR_CLIENT_AUTHENTICATE;

    default:
        return 0;
    }
}


/* the operation's budget ran out (on the server, or before it got there) */

ngx_uint_t
ngx_http_jpulse_mongo_timed_out(bson_error_t *error)
{
    return error->domain == MONGOC_ERROR_SERVER
           && error->code == NGX_HTTP_JPULSE_MONGO_MAX_TIME_EXPIRED;
}


void
ngx_http_jpulse_mongo_set_state(ngx_uint_t up, bson_error_t *error)
{
    ngx_uint_t                     i, state;
    ngx_http_jpulse_mongo_conf_t  *mcf;

    state = up ? NGX_HTTP_JPULSE_MONGO_UP : NGX_HTTP_JPULSE_MONGO_DOWN;

    if (state == ngx_http_jpulse_mongo_state) {
        return;
    }

    mcf = ngx_http_jpulse_mongo_state_mcf;

    if (up) {
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "jpulse_mongodb %V: connected, database \"%V\"",
                      &mcf->hosts, &mcf->db);

    } else {
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "jpulse_mongodb %V: unreachable: %s",
                      &mcf->hosts, error->message);
    }

    ngx_http_jpulse_mongo_state = state;

    for (i = 0; i < ngx_http_jpulse_mongo_nlisteners; i++) {
        ngx_http_jpulse_mongo_listeners[i].handler(up,
                                   ngx_http_jpulse_mongo_listeners[i].data);
    }
}


/*
 * An operation could not reach the server: ask now rather than at the
 * next ping_interval. With a ping on its thread already, that one says.
 */

void
ngx_http_jpulse_mongo_ping_soon(void)
{
    if (ngx_exiting || ngx_http_jpulse_mongo_pinging
        || ngx_http_jpulse_mongo_state_mcf == NULL)
    {
        return;
    }

    ngx_add_timer(&ngx_http_jpulse_mongo_ping_ev, 1);
}


/* one ping at a time, ping_interval after the last one answered */

static void
ngx_http_jpulse_mongo_ping_timer(ngx_event_t *ev)
{
    ngx_int_t                    rc;
    ngx_http_jpulse_mongo_op_t  *op;

    if (ngx_exiting || ngx_http_jpulse_mongo_pinging) {
        return;
    }

    op = ngx_http_jpulse_mongo_op_create(0, ev->log);

    if (op != NULL) {
        op->name = "ping";
        op->run = ngx_http_jpulse_mongo_ping_run;
        op->bg_done = ngx_http_jpulse_mongo_ping_done;

        rc = ngx_http_jpulse_mongo_submit(NULL, op, 1);

        if (rc == NGX_OK) {
            ngx_http_jpulse_mongo_pinging = 1;
            return;
        }
    }

    /* out of memory, or the queue is full: try again later */
    ngx_add_timer(ev, ngx_http_jpulse_mongo_state_mcf->ping_interval);
}


static void
ngx_http_jpulse_mongo_ping_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client)
{
    bson_t  cmd, reply;

    bson_init(&cmd);
    BSON_APPEND_INT32(&cmd, "ping", 1);

    if (!mongoc_client_command_simple(client, "admin", &cmd, NULL, &reply,
                                      &op->error))
    {
        op->rc = NGX_ERROR;
    }

    bson_destroy(&reply);
    bson_destroy(&cmd);
}


static void
ngx_http_jpulse_mongo_ping_done(ngx_http_jpulse_mongo_op_t *op)
{
    /* the state was set from op->rc by the completion */

    ngx_http_jpulse_mongo_pinging = 0;

    if (op->rc != NGX_OK
        && !ngx_http_jpulse_mongo_unreachable(&op->error)
        && !ngx_http_jpulse_mongo_timed_out(&op->error))
    {
        /*
         * the server answered, with an error: not usable; a ping that
         * waited past its timeout for a connection only says the pool
         * is busy, the state stays
         */
        ngx_http_jpulse_mongo_set_state(0, &op->error);
    }

    if (!ngx_exiting) {
        ngx_add_timer(&ngx_http_jpulse_mongo_ping_ev,
                      ngx_http_jpulse_mongo_state_mcf->ping_interval);
    }
}


ngx_int_t
ngx_http_jpulse_mongo_send_error(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_mongo_conf_t  *mcf;

    mcf = ngx_http_jpulse_mongo_state_mcf;

    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                  "jpulse_mongodb %V: \"%s\" failed: %s (domain %uD, "
                  "code %uD)", mcf ? &mcf->hosts : NULL,
                  op->name ? op->name : "", op->error.message,
                  op->error.domain, op->error.code);

    if (ngx_http_jpulse_mongo_unreachable(&op->error)
        || ngx_http_jpulse_mongo_timed_out(&op->error))
    {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "DATABASE_UNAVAILABLE",
                                          "Database unavailable", NULL);
    }

    return ngx_http_jpulse_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "DATABASE_ERROR", "Database error",
                                      NULL);
}


ngx_int_t
ngx_http_jpulse_mongo_send_refusal(ngx_http_request_t *r, ngx_int_t rc)
{
    if (rc == NGX_BUSY) {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "DATABASE_BUSY",
                                          "Database busy, try again later",
                                          NULL);
    }

    if (rc == NGX_DECLINED) {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                          "DATABASE_UNAVAILABLE",
                                          "Database unavailable", NULL);
    }

    return ngx_http_jpulse_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                      "DATABASE_ERROR", "Database error",
                                      NULL);
}
