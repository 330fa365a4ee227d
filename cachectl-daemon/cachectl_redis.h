/*
 * cachectl's Redis: one synchronous hiredis connection (the daemon is its
 * own process; nothing else waits on it), with AUTH and SELECT.
 */

#ifndef CACHECTL_REDIS_H
#define CACHECTL_REDIS_H

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

/* the same with an argument vector */
redisReply *cachectl_redis_argv(redisContext *c, char *err, size_t size,
    int argc, const char **argv, const size_t *argvlen);


#endif /* CACHECTL_REDIS_H */
