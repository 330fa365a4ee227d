/*
 * Redis Cluster for the commands of a worker (jpulse_redis cluster=...):
 * the slot map asked of a node (CLUSTER SLOTS), one connection per
 * primary made when a command first needs it, commands routed by their
 * keys' slot and followed through MOVED, ASK and TRYAGAIN; the pub/sub
 * connection roams over the nodes. Internal to the redis concern.
 */

#ifndef NGX_HTTP_JPULSE_REDIS_CLUSTER_H
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "jp_redis_cluster.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_redis_conn.h"


/* connections to nodes a worker keeps at most (primaries, mostly) */
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_NODES      64

/* redirects (MOVED, ASK, a node not ready yet, TRYAGAIN) per command */
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_REDIRECTS  5

/* the pause before a command goes again (TRYAGAIN, node connecting), ms */
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_RETRY      100
/* failed map refreshes: from the 200 ms floor, doubled up to this */
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_BACKOFF_MAX  5000

/* map refreshes asked by errors: at most one per this many ms */
#define NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESH    200


ngx_int_t ngx_http_jpulse_redis_cluster_init(ngx_cycle_t *cycle,
    ngx_http_jpulse_redis_conf_t *rcf,
    ngx_http_jpulse_redis_conn_t *subscriber,
    ngx_event_handler_pt keepalive);

/* after the other connections were closed (closing() is set) */
void ngx_http_jpulse_redis_cluster_exit(void);

/* ngx_http_jpulse_redis_command() in cluster mode */
ngx_int_t ngx_http_jpulse_redis_cluster_command(
    ngx_http_jpulse_redis_reply_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen);

/* the map has a primary for every slot */
ngx_uint_t ngx_http_jpulse_redis_cluster_covered(void);

void ngx_http_jpulse_redis_cluster_state(
    ngx_http_jpulse_redis_cluster_info_t *info);

/*
 * The session load's wait (ngx_http_jpulse_redis_when_ready()): the map
 * is being asked for, or a primary of the map is connecting, and none of
 * these attempts has run into connect_timeout since it was last ready.
 */
ngx_uint_t ngx_http_jpulse_redis_cluster_connecting(void);

/* requests wait for those attempts: an exiting worker lets them end */
void ngx_http_jpulse_redis_cluster_await(void);

/* the pub/sub connection: sets rc->addr and rc->port to a node's */
void ngx_http_jpulse_redis_cluster_pick(ngx_http_jpulse_redis_conn_t *rc);

/* the pub/sub connection failed: its node may be gone, ask the map */
void ngx_http_jpulse_redis_cluster_lost(ngx_http_jpulse_redis_conn_t *rc);



/* between the map (redis_cluster.c) and the commands (redis_cluster_cmd.c) */

typedef struct {
    ngx_http_jpulse_redis_conn_t      rc;        /* first: settled's */
    unsigned                          used:1;
    unsigned                          in_map:1;  /* a primary of the map */
    ngx_event_t                       connect;   /* posted by ensure() */
    u_char                            role[sizeof("cluster node :65535")
                                           + NGX_SOCKADDR_STRLEN];
} ngx_http_jpulse_redis_node_t;

/* the node at host:port, made on first use (NULL: not an address, full) */
ngx_http_jpulse_redis_node_t *ngx_http_jpulse_redis_cluster_node(
    const char *host, unsigned port);

/* that node if the map or the seeds name it (NULL: unknown, ignored) */
ngx_http_jpulse_redis_node_t *ngx_http_jpulse_redis_cluster_known(
    const char *host, unsigned port);

/* connects a node that has no connection nor a retry scheduled */
void ngx_http_jpulse_redis_cluster_ensure(ngx_http_jpulse_redis_node_t *node);

/* asks for the map again (rate-limited) */
void ngx_http_jpulse_redis_cluster_refresh(const char *why);

/* the primary of a slot, or any ready primary (NULL: none known, no map) */
ngx_http_jpulse_redis_node_t *ngx_http_jpulse_redis_cluster_route(int slot);

/* a MOVED answered by that node: the map follows; where to go now */
ngx_http_jpulse_redis_node_t *ngx_http_jpulse_redis_cluster_moved(
    const jp_rc_redirect_t *r, ngx_http_jpulse_redis_node_t *answered);

void ngx_http_jpulse_redis_cluster_cmd_init(ngx_log_t *log,
    ngx_http_jpulse_redis_conf_t *rcf);
void ngx_http_jpulse_redis_cluster_cmd_exit(void);


#endif /* NGX_HTTP_JPULSE_REDIS_CLUSTER_H */
