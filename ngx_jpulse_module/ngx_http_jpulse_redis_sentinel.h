/*
 * Redis Sentinel for the connections of a worker (jpulse_redis
 * sentinel=... master=...): which server is the primary, asked of the
 * sentinels in order, shared by both connections so that they stay on
 * one server; a subscriber to +switch-master on a sentinel to follow a
 * failover as soon as it happens. Internal to the redis concern.
 */

#ifndef NGX_HTTP_JPULSE_REDIS_SENTINEL_H
#define NGX_HTTP_JPULSE_REDIS_SENTINEL_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_redis_conn.h"


ngx_int_t ngx_http_jpulse_redis_sentinel_init(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_http_jpulse_redis_conn_t *commands,
    ngx_http_jpulse_redis_conn_t *subscriber);
void ngx_http_jpulse_redis_sentinel_exit(void);

/*
 * NGX_OK: rc->addr and rc->port are the primary's. NGX_AGAIN: the
 * sentinels are being asked; ngx_http_jpulse_redis_conn_discovered()
 * follows for every connection that is discovering.
 */
ngx_int_t ngx_http_jpulse_redis_sentinel_primary(
    ngx_http_jpulse_redis_conn_t *rc);

/* rc failed: if it was on the primary known, the sentinels are asked */
void ngx_http_jpulse_redis_sentinel_lost(ngx_http_jpulse_redis_conn_t *rc);

/* rc's server answered ROLE with something else than "master" */
void ngx_http_jpulse_redis_sentinel_not_primary(
    ngx_http_jpulse_redis_conn_t *rc);

/* a -READONLY or -MASTERDOWN reply: the failover happened, follow it */
void ngx_http_jpulse_redis_sentinel_moved(ngx_http_jpulse_redis_conn_t *rc,
    const char *error);

/* requests wait for the connection that is discovering */
void ngx_http_jpulse_redis_sentinel_await(void);

/* an IPv4 or IPv6 address: nothing getaddrinfo() would look up */
ngx_uint_t ngx_http_jpulse_redis_sentinel_numeric(u_char *p, size_t len);


#endif /* NGX_HTTP_JPULSE_REDIS_SENTINEL_H */
