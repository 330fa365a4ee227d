#ifndef NGX_HTTP_JPULSE_REDIS_READER_H
#define NGX_HTTP_JPULSE_REDIS_READER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/async.h>


/*
 * The array elements one reply may hold, nested arrays' included. A
 * CLUSTER SLOTS of 16384 ranges with 3 replicas each (507,904) stays
 * under it, as do the module's own replies (an HGETALL of the L2 index:
 * 2 a template; an MGET of the heartbeats: 1 an instance).
 */
#define NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS    524288
#define NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS_S  "524288"

/*
 * The bytes of a reply not parsed yet: above any reply of the module
 * (heartbeats are read 32 MB at most, a template 8 MB:
 * JP_TPL_SOURCE_MAX), below what would hurt a worker.
 */
#define NGX_HTTP_JPULSE_REDIS_REPLY_BYTES       (64 * 1024 * 1024)
#define NGX_HTTP_JPULSE_REDIS_REPLY_BYTES_S     "64 MB"


/*
 * Makes the context's reader refuse replies that would fail an assert in
 * hiredis (a reply to no command, a pub/sub message of the wrong shape)
 * or that is too large: the connection fails instead of the worker. NGX_DECLINED: a hiredis
 * whose reader is not the default one, left unguarded.
 */
ngx_int_t ngx_http_jpulse_redis_reader_guard(redisAsyncContext *ac);


#endif /* NGX_HTTP_JPULSE_REDIS_READER_H */
