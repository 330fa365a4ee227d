/*
 * Sessions at the edge: keeping them alive (connect-redis's touch, a
 * sliding EXPIRE, throttled per worker and capped by cachectl's age
 * limit), and the per-worker tables that bound what a flood can cost.
 *
 * Both tables are direct-mapped arrays of fixed size, keyed by a SipHash
 * with a per-worker random key: a collision evicts, so the worst a flood
 * of distinct keys can do is a few more touches or log lines, never more
 * memory.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_siphash.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_session_int.h"


#define NGX_HTTP_JPULSE_SESSION_TOUCHES   8192
#define NGX_HTTP_JPULSE_SESSION_CLIENTS   1024
#define NGX_HTTP_JPULSE_SESSION_LOG_EVERY 60        /* seconds */
#define NGX_HTTP_JPULSE_SESSION_SWEEP     64        /* slots per use */


typedef struct {
    uint64_t                    hash;       /* 0: free */
    ngx_msec_t                  until;      /* free again from then on */
} ngx_http_jpulse_session_slot_t;


typedef struct {
    size_t                      len;
    int64_t                     ttl;
    u_char                      key[1];     /* <ns>sess:<sid> */
} ngx_http_jpulse_session_expire_t;


static void ngx_http_jpulse_session_sweep(ngx_msec_t now);
static void ngx_http_jpulse_session_limited(redisReply *reply, void *data);


/*
 * KEYS: the session, cachectl's max age, cachectl's first-seen hash;
 * ARGV: the TTL in seconds, the sid. The TTL goes no further than
 * first-seen + max age (both on Redis's clock); a session past it is left
 * alone, for cachectl's pass to delete. Without a first-seen record (not
 * yet seen by cachectl) or a max age (no limit, or no cachectl), the TTL
 * is connect-redis's.
 */

static ngx_str_t  ngx_http_jpulse_session_touch_script = ngx_string(
    "local ttl = tonumber(ARGV[1]) "
    "local max = tonumber(redis.call('GET', KEYS[2]) or '') "
    "if max and max > 0 then "
      "local rec = redis.call('HGET', KEYS[3], ARGV[2]) "
      "local first = rec and tonumber(string.match(rec, '^%d+')) "
      "if first then "
        "local t = redis.call('TIME') "
        "local left = first + max - (tonumber(t[1]) * 1000 "
                                    "+ math.floor(tonumber(t[2]) / 1000)) "
        "if left <= 0 then return -2 end "
        "if left < ttl * 1000 then "
          "return redis.call('PEXPIRE', KEYS[1], left) "
        "end "
      "end "
    "end "
    "return redis.call('EXPIRE', KEYS[1], ttl)");


/*
 * The same in cluster mode, where the session (its own slot) cannot be in
 * the script of the sess group: KEYS: the max age, the first-seen hash;
 * ARGV: the TTL, the sid. Returns the ms left when they cut the TTL, -2
 * past the limit, -1 for connect-redis's TTL; the EXPIRE follows.
 */

static ngx_str_t  ngx_http_jpulse_session_limit_script = ngx_string(
    "local ttl = tonumber(ARGV[1]) "
    "local max = tonumber(redis.call('GET', KEYS[1]) or '') "
    "if max and max > 0 then "
      "local rec = redis.call('HGET', KEYS[2], ARGV[2]) "
      "local first = rec and tonumber(string.match(rec, '^%d+')) "
      "if first then "
        "local t = redis.call('TIME') "
        "local left = first + max - (tonumber(t[1]) * 1000 "
                                    "+ math.floor(tonumber(t[2]) / 1000)) "
        "if left <= 0 then return -2 end "
        "if left < ttl * 1000 then return left end "
      "end "
    "end "
    "return -1");


static ngx_http_jpulse_session_slot_t
    ngx_http_jpulse_session_touches[NGX_HTTP_JPULSE_SESSION_TOUCHES];
static ngx_http_jpulse_session_slot_t
    ngx_http_jpulse_session_clients[NGX_HTTP_JPULSE_SESSION_CLIENTS];
static jp_siphash_key_t  ngx_http_jpulse_session_key;
static ngx_uint_t        ngx_http_jpulse_session_entries;
static ngx_uint_t        ngx_http_jpulse_session_cursor;


ngx_int_t
ngx_http_jpulse_session_touch_init(ngx_cycle_t *cycle)
{
    ngx_uint_t  i;
    u_char      bytes[JP_SIPHASH_KEY_LEN];

    for (i = 0; i < JP_SIPHASH_KEY_LEN; i++) {
        bytes[i] = (u_char) ngx_random();
    }

    jp_siphash_key(&ngx_http_jpulse_session_key, bytes);

    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_TABLE_BYTES,
                                sizeof(ngx_http_jpulse_session_touches)
                                + sizeof(ngx_http_jpulse_session_clients));
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES, 0);

    return NGX_OK;
}


static uint64_t
ngx_http_jpulse_session_hash(u_char *data, size_t len)
{
    uint64_t  h;

    h = jp_siphash24(&ngx_http_jpulse_session_key, data, len);

    /* 0 marks a free slot */
    return h ? h : 1;
}


#define ngx_http_jpulse_session_live(slot, now)                              \
    ((ngx_msec_int_t) ((slot)->until - (now)) > 0)


/*
 * A few slots of both tables freed at each use, once their time is past:
 * the entries gauge (slots live) goes down as well as up, without a
 * timer; in an idle worker it lags until the next request.
 */

static void
ngx_http_jpulse_session_sweep(ngx_msec_t now)
{
    ngx_uint_t                       i, n;
    ngx_http_jpulse_session_slot_t  *slot;

    n = NGX_HTTP_JPULSE_SESSION_TOUCHES + NGX_HTTP_JPULSE_SESSION_CLIENTS;

    for (i = 0; i < NGX_HTTP_JPULSE_SESSION_SWEEP; i++) {
        ngx_http_jpulse_session_cursor =
                                   (ngx_http_jpulse_session_cursor + 1) % n;

        slot = (ngx_http_jpulse_session_cursor
                < NGX_HTTP_JPULSE_SESSION_TOUCHES)
               ? &ngx_http_jpulse_session_touches[
                                          ngx_http_jpulse_session_cursor]
               : &ngx_http_jpulse_session_clients[
                                          ngx_http_jpulse_session_cursor
                                          - NGX_HTTP_JPULSE_SESSION_TOUCHES];

        if (slot->hash != 0 && !ngx_http_jpulse_session_live(slot, now)) {
            slot->hash = 0;
            ngx_http_jpulse_session_entries--;
        }
    }

    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES,
                                ngx_http_jpulse_session_entries);
}


/* info about a bad cookie: once a minute per client address at most */

ngx_uint_t
ngx_http_jpulse_session_log_allowed(ngx_http_request_t *r)
{
    uint64_t                         h;
    ngx_msec_t                       now;
    ngx_connection_t                *c;
    ngx_http_jpulse_session_slot_t  *slot;

    c = r->connection;

    h = ngx_http_jpulse_session_hash(c->addr_text.data, c->addr_text.len);
    slot = &ngx_http_jpulse_session_clients[h
                                    % NGX_HTTP_JPULSE_SESSION_CLIENTS];
    now = ngx_current_msec;

    ngx_http_jpulse_session_sweep(now);

    if (slot->hash == h && ngx_http_jpulse_session_live(slot, now)) {
        return 0;
    }

    if (slot->hash == 0) {
        ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES,
                                    ++ngx_http_jpulse_session_entries);
    }

    slot->hash = h;
    slot->until = now + NGX_HTTP_JPULSE_SESSION_LOG_EVERY * 1000;

    return 1;
}


void
ngx_http_jpulse_session_touch(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx)
{
    u_char                              *p, *key, *maxage, *first;
    size_t                               n;
    int64_t                              ttl;
    uint64_t                             h;
    ngx_int_t                            rc;
    ngx_msec_t                           now;
    const char                          *argv[8];
    size_t                               argvlen[8];
    ngx_str_t                           *ns, *sess;
    ngx_http_jpulse_session_expire_t    *ex;
    ngx_http_jpulse_main_conf_t         *jmcf;
    ngx_http_jpulse_session_slot_t      *slot;
    ngx_http_jpulse_session_loc_conf_t  *slcf;
    u_char                               ttlbuf[NGX_INT64_LEN];

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_session_module);

    if (slcf->touch_interval == 0) {
        return;
    }

    h = ngx_http_jpulse_session_hash(ctx->session.sid.data,
                                     ctx->session.sid.len);
    slot = &ngx_http_jpulse_session_touches[h
                                    % NGX_HTTP_JPULSE_SESSION_TOUCHES];
    now = ngx_current_msec;

    ngx_http_jpulse_session_sweep(now);

    if (slot->hash == h && ngx_http_jpulse_session_live(slot, now)) {
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_TOUCHES_THROTTLED);
        return;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);
    ns = &jmcf->namespace;
    sess = &jmcf->ns_sess;      /* cachectl's keys: the sess group */

    n = ns->len + sizeof("sess:") - 1 + ctx->session.sid.len;

    key = ngx_pnalloc(r->pool, n + 2 * sess->len
                               + sizeof("cachectl:sessmaxage") - 1
                               + sizeof("cachectl:sessfirst") - 1);
    if (key == NULL) {
        return;
    }

    p = ngx_cpymem(key, ns->data, ns->len);
    p = ngx_cpymem(p, "sess:", sizeof("sess:") - 1);
    p = ngx_cpymem(p, ctx->session.sid.data, ctx->session.sid.len);

    maxage = p;
    p = ngx_cpymem(p, sess->data, sess->len);
    p = ngx_cpymem(p, "cachectl:sessmaxage", sizeof("cachectl:sessmaxage") - 1);

    first = p;
    p = ngx_cpymem(p, sess->data, sess->len);
    p = ngx_cpymem(p, "cachectl:sessfirst", sizeof("cachectl:sessfirst") - 1);

    ttl = jp_session_touch_ttl(&ctx->record, (int64_t) ngx_time() * 1000);

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = (const char *) ngx_http_jpulse_session_touch_script.data;
    argvlen[1] = ngx_http_jpulse_session_touch_script.len;
    argv[2] = "3";
    argvlen[2] = 1;
    argv[3] = (const char *) key;
    argvlen[3] = n;
    argv[4] = (const char *) maxage;
    argvlen[4] = first - maxage;
    argv[5] = (const char *) first;
    argvlen[5] = p - first;
    argv[6] = (const char *) ttlbuf;
    argvlen[6] = ngx_sprintf(ttlbuf, "%L", ttl) - ttlbuf;

    argv[7] = (const char *) ctx->session.sid.data;
    argvlen[7] = ctx->session.sid.len;

    if (sess->len == ns->len) {
        /* fire and forget: nothing waits, a failure costs one touch */
        rc = ngx_http_jpulse_redis_command(NULL, NULL, 8, argv, argvlen);

    } else {
        /* cluster mode: the limit first, then the session's EXPIRE */

        ex = ngx_alloc(sizeof(ngx_http_jpulse_session_expire_t) + n,
                       r->connection->log);
        if (ex == NULL) {
            return;
        }

        ex->len = n;
        ex->ttl = ttl;
        ngx_memcpy(ex->key, key, n);

        /* the same arguments, the session's key left out */

        argv[1] = (const char *) ngx_http_jpulse_session_limit_script.data;
        argvlen[1] = ngx_http_jpulse_session_limit_script.len;
        argv[2] = "2";

        argv[3] = argv[4];
        argvlen[3] = argvlen[4];
        argv[4] = argv[5];
        argvlen[4] = argvlen[5];
        argv[5] = argv[6];
        argvlen[5] = argvlen[6];
        argv[6] = argv[7];
        argvlen[6] = argvlen[7];

        rc = ngx_http_jpulse_redis_command(ngx_http_jpulse_session_limited,
                                           ex, 7, argv, argvlen);
        if (rc != NGX_OK) {
            ngx_free(ex);
        }
    }

    if (rc != NGX_OK) {
        return;
    }

    if (slot->hash == 0) {
        ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES,
                                    ++ngx_http_jpulse_session_entries);
    }

    slot->hash = h;
    slot->until = now + slcf->touch_interval;

    ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_TOUCHES);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse session: touched, ttl %L s", ttl);
}


/* cluster mode: the limit script answered, the session's TTL follows */

static void
ngx_http_jpulse_session_limited(redisReply *reply, void *data)
{
    ngx_http_jpulse_session_expire_t  *ex = data;

    const char  *argv[3];
    size_t       argvlen[3];
    u_char       n[NGX_INT64_LEN];

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER
        || reply->integer == -2 || ngx_http_jpulse_redis_closing())
    {
        /* failed (one touch lost), or past the limit: cachectl deletes */
        ngx_free(ex);
        return;
    }

    argv[1] = (const char *) ex->key;
    argvlen[1] = ex->len;
    argv[2] = (const char *) n;

    if (reply->integer > 0) {
        argv[0] = "PEXPIRE";
        argvlen[0] = 7;
        argvlen[2] = ngx_sprintf(n, "%L", (int64_t) reply->integer) - n;

    } else {
        argv[0] = "EXPIRE";
        argvlen[0] = 6;
        argvlen[2] = ngx_sprintf(n, "%L", ex->ttl) - n;
    }

    /* the arguments are copied: ex can go */
    (void) ngx_http_jpulse_redis_command(NULL, NULL, 3, argv, argvlen);

    ngx_free(ex);
}
