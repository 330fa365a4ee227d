/*
 * Synchronous Redis for cachectl (see cachectl_redis.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "cachectl_redis.h"


#define CACHECTL_REDIS_TIMEOUT_MS  2000


redisContext *
cachectl_redis_connect(cachectl_conf_t *conf, char *err, size_t size)
{
    char            host[256];
    long            port;
    const char     *colon;
    redisReply     *r;
    redisContext   *c;
    struct timeval  tv;

    tv.tv_sec = CACHECTL_REDIS_TIMEOUT_MS / 1000;
    tv.tv_usec = (CACHECTL_REDIS_TIMEOUT_MS % 1000) * 1000;

    if (strncmp(conf->redis, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(conf->redis + 5, tv);

    } else {
        colon = strrchr(conf->redis, ':');
        port = strtol(colon + 1, NULL, 10);

        if ((size_t) (colon - conf->redis) >= sizeof(host) || port <= 0
            || port > 65535)
        {
            snprintf(err, size, "invalid Redis address \"%s\"", conf->redis);
            return NULL;
        }

        memcpy(host, conf->redis, colon - conf->redis);
        host[colon - conf->redis] = '\0';

        c = redisConnectWithTimeout(host, (int) port, tv);
    }

    if (c == NULL || c->err) {
        snprintf(err, size, "Redis %s: %s", conf->redis,
                 c ? c->errstr : "out of memory");
        if (c) {
            redisFree(c);
        }
        return NULL;
    }

    if (redisSetTimeout(c, tv) != REDIS_OK) {
        snprintf(err, size, "Redis %s: cannot set a timeout", conf->redis);
        redisFree(c);
        return NULL;
    }

    if (conf->password[0]) {
        r = redisCommand(c, "AUTH %s", conf->password);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, size, "Redis %s: AUTH: %s", conf->redis,
                     r ? r->str : c->errstr);
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    /*
     * Without AUTH or SELECT nothing has answered yet: a server that wants
     * a password, or that is not Redis at all, would otherwise make every
     * later command fail with a stranger message ("not in Redis").
     */
    if (conf->password[0] == '\0' && conf->db == 0) {
        r = redisCommand(c, "PING");

        if (r == NULL || r->type != REDIS_REPLY_STATUS) {
            snprintf(err, size, "Redis %s: PING: %s", conf->redis,
                     r == NULL ? c->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                     : "unexpected reply");
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    if (conf->db) {
        r = redisCommand(c, "SELECT %d", conf->db);

        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, size, "Redis %s: SELECT %d: %s", conf->redis,
                     conf->db, r ? r->str : c->errstr);
            if (r) {
                freeReplyObject(r);
            }
            redisFree(c);
            return NULL;
        }

        freeReplyObject(r);
    }

    return c;
}


redisReply *
cachectl_redis_cmd(redisContext *c, char *err, size_t size,
    const char *fmt, ...)
{
    va_list      ap;
    redisReply  *r;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);

    if (r == NULL) {
        snprintf(err, size, "Redis: %s", c->errstr[0] ? c->errstr
                                                      : "connection lost");
    }

    return r;
}


redisReply *
cachectl_redis_argv(redisContext *c, char *err, size_t size, int argc,
    const char **argv, const size_t *argvlen)
{
    redisReply  *r;

    r = redisCommandArgv(c, argc, argv, argvlen);

    if (r == NULL) {
        snprintf(err, size, "Redis: %s", c->errstr[0] ? c->errstr
                                                      : "connection lost");
    }

    return r;
}
