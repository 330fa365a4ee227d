/*
 * cachectl in a Redis Cluster (--redis-cluster): the slot map of
 * CLUSTER SLOTS (libjpulse's jp_rc_map_t), one synchronous connection per
 * primary, every command routed by the slot of its keys, MOVED, ASK,
 * TRYAGAIN and CLUSTERDOWN followed within a bounded time.
 *
 * The redisContext the rest of cachectl holds (the daemon's d->redis, a
 * command's c) is the connection to the primary of the l2 group's slot
 * (docs/protocol.md "Redis Cluster"), the "home": the publish
 * transaction, the lease and the cfg/i18n keys all live there, so the
 * existing transaction code runs on it unchanged. The caller owns it
 * (redisFree); the connections to the other primaries are this file's.
 * cachectl_redis_cmd(), cachectl_redis_argv(), cachectl_redis_append()
 * and cachectl_redis_reply() route through here in cluster mode.
 *
 * A cluster error read outside these functions (on the raw transaction
 * pipeline) breaks the connection it came on, as READONLY does under
 * Sentinel: callers treat that as a lost connection, reconnect (a fresh
 * map) and compare everything again.
 */

#ifndef CACHECTL_CLUSTER_H
#define CACHECTL_CLUSTER_H

#include <stdint.h>

#include <hiredis/hiredis.h>

#include "cachectl_conf.h"


/* a command is redirected at most this many times */
#define CACHECTL_CLUSTER_REDIRECTS   5

/* how long a command may chase a moving slot or a failover, in all */
#define CACHECTL_CLUSTER_DEADLINE_MS 3000


/* 1 once a cluster connect ran (the process is in cluster mode) */
int cachectl_cluster_on(void);

/* back to one server (SIGHUP took redis-cluster away) */
void cachectl_cluster_off(void);

/* the slot map, then the home connection; NULL with err on failure */
redisContext *cachectl_cluster_connect(cachectl_conf_t *conf, char *err,
    size_t size);

/* a formatted command (redisFormatCommand) routed and followed */
redisReply *cachectl_cluster_exec(redisContext *home, const char *cmd,
    size_t len, char *err, size_t size);

/* pipelining: the same routing, replies read back in order */
int cachectl_cluster_append(redisContext *home, const char *cmd,
    size_t len);
int cachectl_cluster_reply(redisContext *home, void **reply);

/*
 * SCAN over every primary, one after the other (by address): cursor is
 * "<node>:<cursor>" ("0" to start), node a hash of the primary's
 * address; the reply's cursor is rewritten in that form, "0" after the
 * last primary's last page. tail
 * is the formatted arguments that follow the cursor ("MATCH p COUNT n").
 */
redisReply *cachectl_cluster_scan(redisContext *home, const char *cursor,
    const char *tail, size_t tlen, char *err, size_t size);

/* why a connection was broken on purpose, NULL if it was not */
const char *cachectl_cluster_why(redisContext *c);

/*
 * After a one-shot command's writes: WAIT on every primary written
 * through this process (see cachectl_redis_replicated)
 */
int cachectl_cluster_replicated(redisContext *home, char *err,
    size_t size);

/*
 * For a walk that must see every session once (revoke-user): a fresh map
 * and its digest in *sig; 0 if no slot is migrating, 1 if one is, -1
 * with err. The same digest before and after a walk, both 0: no session
 * could move past it.
 */
int cachectl_cluster_layout(uint32_t *sig, char *err, size_t size);

/* "HOST:PORT" of the home primary, how many primaries the map has */
const char *cachectl_cluster_home(unsigned *primaries);

/* a map's primaries, for status: "H:P H:P ..." */
const char *cachectl_cluster_describe(void);


#endif /* CACHECTL_CLUSTER_H */
