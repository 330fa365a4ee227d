/*
 * The publisher's lease (see cachectl_lease.h).
 */

#include <stdio.h>
#include <string.h>

#include "cachectl_lease.h"
#include "cachectl_redis.h"


/* KEYS[1] lease; ARGV: id, ttl ms. Returns {1|0, holder} */
static const char  cachectl_lease_take[] =
    "local v = redis.call('GET', KEYS[1]) "
    "if v == false then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "  return {1, ARGV[1]} "
    "end "
    "if v == ARGV[1] then "
    "  redis.call('PEXPIRE', KEYS[1], ARGV[2]) "
    "  return {1, v} "
    "end "
    "return {0, v}";

/* KEYS[1] lease; ARGV: id, ttl ms, the holder it must still be */
static const char  cachectl_lease_swap[] =
    "if redis.call('GET', KEYS[1]) == ARGV[3] then "
    "  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) "
    "  return 1 "
    "end "
    "return 0";

/* KEYS[1] lease; ARGV: id */
static const char  cachectl_lease_drop[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then "
    "  return redis.call('DEL', KEYS[1]) "
    "end "
    "return 0";


static int
cachectl_lease_error(redisReply *r, char *err, size_t esize)
{
    if (r == NULL) {
        return CACHECTL_LEASE_FAILED;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(err, esize, "lease: %.*s", (int) r->len, r->str);
    } else {
        snprintf(err, esize, "lease: unexpected reply from Redis");
    }

    freeReplyObject(r);

    return CACHECTL_LEASE_ERROR;
}


int
cachectl_lease_acquire(redisContext *c, cachectl_conf_t *conf,
    const char *id, long long ttl_ms, char *holder, size_t hsize, char *err,
    size_t esize)
{
    int          rc;
    redisReply  *r;

    r = cachectl_redis_cmd(c, err, esize, "EVAL %s 1 %s" CACHECTL_LEASE_KEY
                           " %s %lld", cachectl_lease_take, conf->l2, id,
                           ttl_ms);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_INTEGER
        || r->element[1]->type != REDIS_REPLY_STRING)
    {
        return cachectl_lease_error(r, err, esize);
    }

    rc = r->element[0]->integer ? CACHECTL_LEASE_OURS : CACHECTL_LEASE_OTHER;
    snprintf(holder, hsize, "%.*s", (int) r->element[1]->len,
             r->element[1]->str);

    freeReplyObject(r);

    return rc;
}


int
cachectl_lease_steal(redisContext *c, cachectl_conf_t *conf,
    const char *id, long long ttl_ms, const char *from, char *err,
    size_t esize)
{
    int          rc;
    redisReply  *r;

    r = cachectl_redis_cmd(c, err, esize, "EVAL %s 1 %s" CACHECTL_LEASE_KEY
                           " %s %lld %s", cachectl_lease_swap, conf->l2, id,
                           ttl_ms, from);

    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        return cachectl_lease_error(r, err, esize);
    }

    rc = r->integer ? CACHECTL_LEASE_OURS : CACHECTL_LEASE_OTHER;

    freeReplyObject(r);

    return rc;
}


int
cachectl_lease_release(redisContext *c, cachectl_conf_t *conf,
    const char *id, char *err, size_t esize)
{
    redisReply  *r;

    r = cachectl_redis_cmd(c, err, esize, "EVAL %s 1 %s" CACHECTL_LEASE_KEY
                           " %s", cachectl_lease_drop, conf->l2, id);

    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        return cachectl_lease_error(r, err, esize);
    }

    freeReplyObject(r);

    return 0;
}


int
cachectl_lease_holder(redisContext *c, cachectl_conf_t *conf,
    char *holder, size_t hsize, long long *pttl, char *err, size_t esize)
{
    int          rc;
    redisReply  *r;

    r = cachectl_redis_cmd(c, err, esize, "EVAL %s 1 %s" CACHECTL_LEASE_KEY,
                           "return {redis.call('GET', KEYS[1]) or '', "
                           "redis.call('PTTL', KEYS[1])}", conf->l2);

    if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_INTEGER)
    {
        return cachectl_lease_error(r, err, esize);
    }

    rc = r->element[0]->len ? 1 : 0;
    snprintf(holder, hsize, "%.*s", (int) r->element[0]->len,
             r->element[0]->str);

    if (pttl != NULL) {
        *pttl = r->element[1]->integer;
    }

    freeReplyObject(r);

    return rc;
}
