#ifndef NGX_HTTP_JPULSE_REDIS_READER_H
#define NGX_HTTP_JPULSE_REDIS_READER_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <hiredis/async.h>


/*
 * Makes the context's reader refuse replies that would fail an assert in
 * hiredis (a reply to no command, a pub/sub message of the wrong shape):
 * the connection fails instead of the worker. NGX_DECLINED: a hiredis
 * whose reader is not the default one, left unguarded.
 */
ngx_int_t ngx_http_jpulse_redis_reader_guard(redisAsyncContext *ac);


#endif /* NGX_HTTP_JPULSE_REDIS_READER_H */
