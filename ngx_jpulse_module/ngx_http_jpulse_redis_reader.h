#ifndef NGX_HTTP_JPULSE_REDIS_READER_H
#define NGX_HTTP_JPULSE_REDIS_READER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/async.h>


/*
 * The array elements one reply may hold, nested arrays' included. A
 * CLUSTER SLOTS of 16384 ranges with 6 nodes each (Redis 7: 6 elements a
 * node with its metadata, 737,280 in all) stays under it, as do the
 * module's own replies (an HGETALL of the L2 index: 2 a template; an
 * MGET of the heartbeats: 1 an instance). Some 70 bytes an element.
 */
#define NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS    1048576
#define NGX_HTTP_JPULSE_REDIS_REPLY_ELEMENTS_S  "1048576"

/*
 * The bytes of one reply's strings, and of a reply not parsed yet in the
 * connection's buffer: above any reply of the module (heartbeats are read
 * 32 MB at most, a template 8 MB: JP_TPL_SOURCE_MAX), below what would
 * hurt a worker.
 */
#define NGX_HTTP_JPULSE_REDIS_REPLY_BYTES       (64 * 1024 * 1024)
#define NGX_HTTP_JPULSE_REDIS_REPLY_BYTES_S     "64 MB"


/*
 * Makes the context's reader refuse replies that hiredis 0.14 would fail
 * an assert on or misroute (a reply to no command, a pub/sub message of
 * the wrong shape or for no subscription of rc->sub_channel and
 * rc->sub_pattern) or that are too large: the connection fails instead
 * of the worker. NGX_DECLINED: a hiredis whose reader is not the default
 * one, left unguarded.
 */
ngx_int_t ngx_http_jpulse_redis_reader_guard(redisAsyncContext *ac);


#endif /* NGX_HTTP_JPULSE_REDIS_READER_H */
