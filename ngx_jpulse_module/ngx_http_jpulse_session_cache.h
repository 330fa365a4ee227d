/*
 * The per-worker session cache (jpulse_session_cache SIZE TTL, off by
 * default): the JSON of <ns>sess:<sid> as Redis last returned it, by the
 * sid's digest (jp_session_sid_digest(): the revocation event names no
 * sid), so that a signed-in user's next requests need no Redis round trip.
 * Only signed-in sessions are stored (the load path decides): a login
 * shows at once, whatever request made it.
 *
 * Bounded by bytes (least recently used out first) and by age: an entry
 * is served for at most TTL after the GET that brought it, whatever its
 * use. It is dropped earlier by the revocation event
 * (<ns>bc:controller:session:cache:revoked, docs/protocol.md), on every
 * Redis resync (messages may have been lost), and when a request carrying
 * the session cookie other than GET or HEAD went to an upstream (jPulse's
 * login, logout and preference changes are POST or PUT): once that request
 * is done (log phase), its worker drops the session and publishes the
 * event for every other worker.
 *
 * ngx_http_jpulse_session_cache_module is a module of its own in the .so
 * (directive, configuration, init process, log phase handler); the session
 * load path calls lookup() before its GET and store() after it.
 */

#ifndef NGX_HTTP_JPULSE_SESSION_CACHE_H
#define NGX_HTTP_JPULSE_SESSION_CACHE_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL                                \
    "controller:session:cache:revoked"


extern ngx_module_t  ngx_http_jpulse_session_cache_module;


/* configured on (SIZE > 0) in this worker */
ngx_uint_t ngx_http_jpulse_session_cache_enabled(void);

/*
 * NGX_OK: json is the cached session; it points into the cache and stays
 * valid only until the next call of this API (parse or copy it at once).
 * NGX_DECLINED: not cached (or the cache is off); *token is for store().
 */
ngx_int_t ngx_http_jpulse_session_cache_lookup(ngx_str_t *sid,
    ngx_str_t *json, ngx_uint_t *token);

/*
 * Keeps what a GET that missed returned. token is lookup()'s: a drop that
 * happened between the two (the GET's reply may predate it) makes the
 * store a no-op, so a revoked session is never put back.
 */
void ngx_http_jpulse_session_cache_store(ngx_str_t *sid, u_char *json,
    size_t len, ngx_uint_t token);

void ngx_http_jpulse_session_cache_drop(ngx_str_t *sid);
void ngx_http_jpulse_session_cache_drop_all(void);


#endif /* NGX_HTTP_JPULSE_SESSION_CACHE_H */
