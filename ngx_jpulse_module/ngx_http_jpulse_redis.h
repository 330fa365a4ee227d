/*
 * Redis inside the nginx worker: two hiredis async connections per worker
 * (pipelined commands, and pub/sub) driven by nginx's event loop.
 *
 * Nothing here blocks: a command goes out when the socket is writable and
 * its callback runs when the reply has been read. When Redis is not ready
 * (not configured, connecting, down) every call returns NGX_DECLINED at
 * once, so callers fall back instead of waiting. One exception, for the
 * session load only: ngx_http_jpulse_redis_when_ready().
 */

#ifndef NGX_HTTP_JPULSE_REDIS_H
#define NGX_HTTP_JPULSE_REDIS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>


#define NGX_HTTP_JPULSE_REDIS_SENTINELS_MAX  16


/* a sentinel of "sentinel=": numeric, resolved at load */
typedef struct {
    u_char                      host[NGX_SOCKADDR_STRLEN + 1];
    in_port_t                   port;
    ngx_str_t                   name;       /* as written, for logs */
} ngx_http_jpulse_redis_sentinel_addr_t;


typedef struct ngx_http_jpulse_redis_conf_s {
    ngx_str_t                   host;       /* numeric, resolved at load */
    in_port_t                   port;
    ngx_str_t                   resolve;    /* the name, if host was one */
    ngx_http_core_loc_conf_t   *http;       /* its resolver: http{} level */
    ngx_resolver_t             *resolver;   /* NULL: keep host */
    ngx_msec_t                  resolver_timeout;
    ngx_str_t                   unix_path;  /* or a unix socket */
    ngx_str_t                   name;       /* as written, for logs */
    ngx_uint_t                  db;
    ngx_str_t                   password;
    ngx_msec_t                  connect_timeout;
    ngx_msec_t                  command_timeout;
    ngx_msec_t                  ping_interval;
    ngx_uint_t                  max_pending; /* commands in flight */

    /* "sentinel=": the primary is asked of them; host is then unset */
    ngx_array_t                *sentinels;  /* sentinel_addr_t */
    ngx_str_t                   master;
    ngx_str_t                   sentinel_password;

    /* "cluster=": the seed nodes (sentinel_addr_t); host is then unset */
    ngx_array_t                *cluster;
    unsigned                    db_set:1;   /* "db=" was given */
} ngx_http_jpulse_redis_conf_t;


/* what this worker knows of a Redis Cluster (metrics, health) */
typedef struct {
    ngx_uint_t                  nodes;      /* connections known */
    ngx_uint_t                  ready;      /* of them ready */
    ngx_uint_t                  covered;    /* slots with a primary */
    uint64_t                    generation; /* of the slot map */
    ngx_uint_t                  subscriber_port;
    u_char                     *subscriber; /* its node's address */
} ngx_http_jpulse_redis_cluster_info_t;


/*
 * A command's reply: NULL when the command failed without a reply
 * (connection lost, command timeout, worker exiting). A reply of type
 * REDIS_REPLY_ERROR is Redis's own error. The reply is freed after the
 * callback returns: copy what must outlive it.
 */
typedef void (*ngx_http_jpulse_redis_reply_pt)(redisReply *reply,
    void *data);

/* the same, for a command bound to a request that is still alive */
typedef void (*ngx_http_jpulse_redis_request_pt)(ngx_http_request_t *r,
    redisReply *reply, void *data);

/* the command connection's attempt ended: ready or not */
typedef void (*ngx_http_jpulse_redis_wait_pt)(ngx_http_request_t *r,
    ngx_uint_t ready, void *data);

/* a message on <ns>bc:<channel>: channel without the "<ns>bc:" prefix */
typedef void (*ngx_http_jpulse_redis_message_pt)(ngx_str_t *channel,
    ngx_str_t *message, void *data);

/*
 * Called after every (re)subscription: messages may have been lost while
 * the pub/sub connection was down, so whatever they keep fresh must be
 * treated as stale now.
 */
typedef void (*ngx_http_jpulse_redis_resync_pt)(void *data);


char *ngx_http_jpulse_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
ngx_int_t ngx_http_jpulse_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_redis_exit_process(ngx_cycle_t *cycle);

/*
 * exit_process has closed the connections: the NULL replies now coming
 * must not resume requests (the process and its requests are going away)
 */
ngx_uint_t ngx_http_jpulse_redis_closing(void);

/*
 * Cluster mode: 1 and info filled in, 0 outside it (info untouched).
 */
ngx_uint_t ngx_http_jpulse_redis_cluster_info(
    ngx_http_jpulse_redis_cluster_info_t *info);

/* configured, and both connections ready (cluster: the map covers every
 * slot and the subscriber is up) */
ngx_uint_t ngx_http_jpulse_redis_configured(void);
ngx_uint_t ngx_http_jpulse_redis_ready(void);

/*
 * Sends a command; handler (may be NULL: fire and forget) is called once
 * with the reply. NGX_DECLINED: Redis is not ready, handler not called.
 */
ngx_int_t ngx_http_jpulse_redis_command(ngx_http_jpulse_redis_reply_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen);

/*
 * The same, bound to a request. On NGX_OK the request is parked
 * (r->main->count is raised): the content handler returns NGX_DONE, and
 * handler, called later, sends the response and finalizes the request.
 * If the request ends first (client gone), handler is not called: data
 * must belong to the request's pool (or be owned elsewhere), nothing else
 * frees it. What must outlive the request and be freed with it needs a
 * binding of its own (ngx_http_jpulse_l2_fetch).
 */
ngx_int_t ngx_http_jpulse_redis_request(ngx_http_request_t *r,
    ngx_http_jpulse_redis_request_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);
void ngx_http_jpulse_redis_park(ngx_http_request_t *r);

/*
 * For a caller that has no fallback worth the name (the session load:
 * without it a signed-in user is taken for anonymous), after
 * ngx_http_jpulse_redis_request() declined: while the command connection
 * is being made (a worker that just started, a reconnect), the request
 * is parked as ngx_http_jpulse_redis_request() parks it, and handler is
 * called once when the attempt ends, ready (send the command now) or
 * not. The handler owns the park's reference, as a reply handler does.
 * NGX_DECLINED: Redis is down or not configured, or too many requests
 * (max_pending) wait already; nothing parked. Every other caller keeps
 * declining at once.
 */
ngx_int_t ngx_http_jpulse_redis_when_ready(ngx_http_request_t *r,
    ngx_http_jpulse_redis_wait_pt handler, void *data);

/*
 * Registers, from an init_process handler, a callback for messages whose
 * channel (after "<ns>bc:") starts with prefix ("" for every message).
 */
ngx_int_t ngx_http_jpulse_redis_on_message(const char *prefix,
    ngx_http_jpulse_redis_message_pt handler, void *data);

/* runs this worker's listeners, as if the message came from Redis */
void ngx_http_jpulse_redis_deliver(ngx_str_t *channel, ngx_str_t *message);

ngx_int_t ngx_http_jpulse_redis_on_resync(
    ngx_http_jpulse_redis_resync_pt handler, void *data);


#endif /* NGX_HTTP_JPULSE_REDIS_H */
