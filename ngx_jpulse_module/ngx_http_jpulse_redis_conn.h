/*
 * One hiredis async connection on nginx's event loop, with its own
 * timers: connect timeout, command timeout, keepalive, and reconnect with
 * capped exponential backoff and jitter. Internal to the redis concern.
 */

#ifndef NGX_HTTP_JPULSE_REDIS_CONN_H
#define NGX_HTTP_JPULSE_REDIS_CONN_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "ngx_http_jpulse_redis.h"


/* reconnect backoff, ms (doubled up to the max, with jitter) */
#define NGX_HTTP_JPULSE_REDIS_BACKOFF_MIN  100
#define NGX_HTTP_JPULSE_REDIS_BACKOFF_MAX  1000

/* "the server sent <what> (IP:PORT)" */
#define NGX_HTTP_JPULSE_REDIS_REFUSED_LEN  (160 + NGX_SOCKADDR_STRLEN)

/*
 * A connection lost within STABLE ms of its handshake was not usable: the
 * reconnects go on backing off, and from the FLAPS-th in a row such
 * losses are logged once in FLAP_LOG ms (a server that closes, errs or
 * sends what the reader refuses right after the handshake)
 */
#define NGX_HTTP_JPULSE_REDIS_STABLE       1000
#define NGX_HTTP_JPULSE_REDIS_FLAPS        5
#define NGX_HTTP_JPULSE_REDIS_FLAP_LOG     60000


typedef enum {
    NGX_HTTP_JPULSE_REDIS_IDLE = 0,     /* no connection; maybe a retry due */
    NGX_HTTP_JPULSE_REDIS_CONNECTING,
    NGX_HTTP_JPULSE_REDIS_HANDSHAKE,    /* AUTH, SELECT, first command */
    NGX_HTTP_JPULSE_REDIS_READY
} ngx_http_jpulse_redis_state_e;


typedef struct ngx_http_jpulse_redis_conn_s  ngx_http_jpulse_redis_conn_t;

/* sends what makes a fresh connection ready (after AUTH and SELECT) */
typedef ngx_int_t (*ngx_http_jpulse_redis_start_pt)(
    ngx_http_jpulse_redis_conn_t *rc);

/* an attempt to connect ended: ready, or failed (or a ready one lost) */
typedef void (*ngx_http_jpulse_redis_settled_pt)(
    ngx_http_jpulse_redis_conn_t *rc, ngx_uint_t ready);


struct ngx_http_jpulse_redis_conn_s {
    const char                        *role;       /* for the log */
    ngx_http_jpulse_redis_conf_t      *conf;
    ngx_log_t                         *log;
    ngx_http_jpulse_redis_start_pt     start;
    ngx_http_jpulse_redis_settled_pt   settled;    /* NULL: nobody asks */

    ngx_http_jpulse_redis_state_e      state;
    redisAsyncContext                 *ac;
    ngx_connection_t                  *connection;
    ngx_uint_t                         pending;    /* commands in flight */

    ngx_msec_t                         backoff;
    unsigned                           failing:1;  /* the failure is logged */
    unsigned                           was_ready:1;
    unsigned                           unresolved:1;  /* that one is logged */
    unsigned                           timed_out:1;   /* an attempt since the
                                                         last ready did */
    unsigned                           awaited:1;  /* requests wait for
                                                      this attempt */
    unsigned                           discovering:1; /* waits for the
                                                         sentinels */
    unsigned                           oneshot:1;  /* no retry of its own */
    unsigned                           auxiliary:1; /* a sentinel's: not
                                                       counted as Redis */
    unsigned                           role_logged:1;
    unsigned                           hushed:1;   /* that loss unlogged:
                                                      so is the restore */
    unsigned                           roams:1;    /* cluster pub/sub: its
                                                      node is chosen before
                                                      each connect */

    ngx_str_t                          sub_channel;  /* what it SUBSCRIBEd */
    ngx_str_t                          sub_pattern;  /* and PSUBSCRIBEd */

    const char                        *refused;    /* the reply the reader
                                                      refused, for the log */
    size_t                             elements_left;  /* of the reply */
    size_t                             bytes_left;     /* being read */

    ngx_msec_t                         ready_at;
    ngx_msec_t                         flap_logged; /* a loss right after
                                                       ready, last said */
    ngx_uint_t                         flaps;      /* such losses in a row */
    ngx_resolver_ctx_t                *resolving;
    u_char                             addr[NGX_SOCKADDR_STRLEN + 1];
    in_port_t                          port;

    ngx_event_t                        retry;
    ngx_event_t                        deadline;   /* connect or command */
    ngx_event_t                        keepalive;
};


/*
 * The start of a connection that needs nothing but to know it works: a
 * PING, whose PONG comes after AUTH's and SELECT's answers
 */
ngx_int_t ngx_http_jpulse_redis_conn_start_ping(
    ngx_http_jpulse_redis_conn_t *rc);

void ngx_http_jpulse_redis_conn_init(ngx_http_jpulse_redis_conn_t *rc,
    const char *role, ngx_http_jpulse_redis_conf_t *conf, ngx_log_t *log,
    ngx_http_jpulse_redis_start_pt start, ngx_event_handler_pt keepalive);
void ngx_http_jpulse_redis_conn_connect(ngx_http_jpulse_redis_conn_t *rc);
void ngx_http_jpulse_redis_conn_fail(ngx_http_jpulse_redis_conn_t *rc,
    const char *reason);
void ngx_http_jpulse_redis_conn_ready(ngx_http_jpulse_redis_conn_t *rc);
void ngx_http_jpulse_redis_conn_close(ngx_http_jpulse_redis_conn_t *rc);

/* closes it quietly: no log, no retry, settled not called */
void ngx_http_jpulse_redis_conn_drop(ngx_http_jpulse_redis_conn_t *rc);

/* the sentinels answered (rc->addr and rc->port are set) or did not */
void ngx_http_jpulse_redis_conn_discovered(ngx_http_jpulse_redis_conn_t *rc,
    ngx_uint_t found);

/*
 * An attempt is under way that has a chance to end soon: connecting or
 * in the handshake (or resolving the name first), and no attempt since
 * the last ready one ran into connect_timeout (a Redis that drops SYNs
 * would make every waiter wait that long, attempt after attempt).
 */
ngx_uint_t ngx_http_jpulse_redis_conn_connecting(
    ngx_http_jpulse_redis_conn_t *rc);

/* requests wait for this attempt: an exiting worker lets it end */
void ngx_http_jpulse_redis_conn_await(ngx_http_jpulse_redis_conn_t *rc);

/* a counted command: the deadline runs while any is in flight */
ngx_int_t ngx_http_jpulse_redis_conn_send(ngx_http_jpulse_redis_conn_t *rc,
    ngx_http_jpulse_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/* ngx_http_jpulse_redis_wait.c: the waiters of rc, the command connection */
void ngx_http_jpulse_redis_wait_init(ngx_http_jpulse_redis_conn_t *rc,
    ngx_log_t *log);
void ngx_http_jpulse_redis_wait_exit(void);

/* cluster mode: the attempts waited for may have ended, wake if so */
void ngx_http_jpulse_redis_wait_notify(void);

/* ngx_http_jpulse_redis.c: ping (and the pub/sub echo) every interval */
void ngx_http_jpulse_redis_keepalive(ngx_event_t *ev);

/* a peer's string made safe for error.log; dst: 4 * len bytes */
u_char *ngx_http_jpulse_redis_escape(u_char *dst, u_char *src, size_t len);

/* nginx is stopping this process (reload, quit, terminate) */
ngx_uint_t ngx_http_jpulse_redis_shutting_down(void);


#endif /* NGX_HTTP_JPULSE_REDIS_CONN_H */
