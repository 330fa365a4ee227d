/*
 * cachectl's Redis: one synchronous hiredis connection (the daemon is its
 * own process; nothing else waits on it), with AUTH and SELECT.
 */

#ifndef CACHECTL_REDIS_H
#define CACHECTL_REDIS_H

#include <stdarg.h>

#include <hiredis/hiredis.h>

#include "cachectl_conf.h"


/* NULL with err filled when Redis cannot be reached or refuses us */
redisContext *cachectl_redis_connect(cachectl_conf_t *conf, char *err,
    size_t size);

/*
 * A command; NULL (connection broken, err filled) or a reply the caller
 * frees. An error reply is returned as such.
 */
redisReply *cachectl_redis_cmd(redisContext *c, char *err, size_t size,
    const char *fmt, ...);

/*
 * c->errstr, or why a connection found through the sentinels was broken
 * on purpose (a READONLY or MASTERDOWN reply: no longer the primary)
 */
const char *cachectl_redis_errstr(redisContext *c);

/*
 * The next reply on a non-blocking context before deadline (monotonic
 * ms), at most max bytes read (0: any) and, with max_elts, no array of
 * more elements; NULL with err, c then failed. budget_ms: for the message.
 */
redisReply *cachectl_redis_await(redisContext *c, int64_t deadline,
    int budget_ms, size_t max, long max_elts, char *err, size_t size);

/* marks c failed (c->err) with why, unless it already is */
void cachectl_redis_fail(redisContext *c, const char *why);

/* 0: c is a primary; -1 (err filled): a replica, or the connection broke */
int cachectl_redis_role(redisContext *c, char *err, size_t size);

/*
 * With --redis-sentinel: 0 when the first sentinel that answers names the
 * primary we use (or none answers); 1 with err when it names another that
 * is no primary, or a primary named for the first time (kept: sentinels
 * disagree during a failover or behind a load balancer); -1 with err
 * when it names the same other primary twice in a row (a failover under a
 * connection that still works: the old primary is turned into a replica
 * only seconds later). The sentinel that answers moves to the front, a
 * mute one to the back (logged once). Once none answered, only a call
 * with always set asks them again.
 */
int cachectl_redis_confirm(cachectl_conf_t *conf, int always, char *err,
    size_t size);

/*
 * With --redis-sentinel: the primary connected to last ("IP:PORT", NULL
 * before the first), the sentinel that named it, how many times it
 * changed.
 */
const char *cachectl_redis_primary(const char **via,
    unsigned long *failovers);

/* the new primary, once, when it changed since the last connect */
const char *cachectl_redis_switched(const char **was);

/*
 * The server's replication id (INFO replication "master_replid"): it
 * changes when the dataset was replaced (the server was a replica, or
 * restarted). id "" when not said; -1 when the connection broke.
 */
int cachectl_redis_replid(redisContext *c, char *id, size_t size);

/*
 * With --redis-sentinel, after a one-shot command's writes: WAIT up to
 * 1 s for the replicas ROLE lists (at least one). 0: acknowledged (or
 * not in sentinel mode); >0: that many replicas did not acknowledge,
 * -1: ROLE or WAIT failed; err filled in both cases.
 */
int cachectl_redis_replicated(cachectl_conf_t *conf, redisContext *c,
    char *err, size_t size);

/* the same with an argument vector */
redisReply *cachectl_redis_argv(redisContext *c, char *err, size_t size,
    int argc, const char **argv, const size_t *argvlen);


/* one server at "HOST:PORT" or "unix:PATH": connect, AUTH, SELECT */
redisContext *cachectl_redis_open_addr(cachectl_conf_t *conf,
    const char *addr, char *err, size_t size);

/*
 * Pipelining: redisAppendCommand and redisGetReply, routed by slot with
 * --redis-cluster (cachectl_cluster.h), the replies in order
 */
int cachectl_redis_append(redisContext *c, const char *fmt, ...);
int cachectl_redis_append_argv(redisContext *c, int argc,
    const char **argv, const size_t *argvlen);
int cachectl_redis_reply(redisContext *c, void **reply);
int cachectl_redis_vappend(redisContext *c, const char *fmt, va_list ap);

/* redisCommand(), routed with --redis-cluster */
redisReply *cachectl_redis_command(redisContext *c, const char *fmt, ...);

/* "SCAN <cursor> <fmt>": over every primary with --redis-cluster */
redisReply *cachectl_redis_scan(redisContext *c, const char *cursor,
    char *err, size_t size, const char *fmt, ...);


#endif /* CACHECTL_REDIS_H */
