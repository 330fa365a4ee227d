/*
 * Sessions at the edge: the session module's directives, and the load of
 * a request's session (cookie verified, <ns>sess:<sid> read through the
 * async Redis API while the request is parked).
 *
 * The load runs in the rewrite phase, before the rewrite module's own
 * handler of the location (ours is registered later, and a phase runs
 * its handlers last registered first): "return", "if" and "set" of the
 * location already see the session, the access phase (jpulse_require_role)
 * too. It runs once per request: an internal redirect finds the session
 * again through the pool cleanup that owns it, as the realip module
 * finds its context.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_session_int.h"
#include "ngx_http_jpulse_session_cache.h"


#define NGX_HTTP_JPULSE_SESSION_SECRET_MAX  4096
#define NGX_HTTP_JPULSE_SESSION_WARN_EVERY  10      /* seconds */


static ngx_int_t ngx_http_jpulse_session_preconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_jpulse_session_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_jpulse_session_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_session_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static char *ngx_http_jpulse_session_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_jpulse_session_init_process(ngx_cycle_t *cycle);

static ngx_int_t ngx_http_jpulse_session_handler(ngx_http_request_t *r);
static ngx_http_jpulse_session_ctx_t *ngx_http_jpulse_session_find(
    ngx_http_request_t *r);
static void ngx_http_jpulse_session_cleanup(void *data);
static ngx_uint_t ngx_http_jpulse_session_cookie(ngx_http_request_t *r,
    ngx_http_jpulse_session_loc_conf_t *slcf,
    ngx_http_jpulse_session_ctx_t *ctx);
static ngx_int_t ngx_http_jpulse_session_send(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx);
static void ngx_http_jpulse_session_ready(ngx_http_request_t *r,
    ngx_uint_t ready, void *data);
static void ngx_http_jpulse_session_resume(ngx_http_request_t *r);
static void ngx_http_jpulse_session_loaded(ngx_http_request_t *r,
    redisReply *reply, void *data);
static void ngx_http_jpulse_session_record(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, redisReply *reply);
static ngx_int_t ngx_http_jpulse_session_fill(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx);
static void ngx_http_jpulse_session_done(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, ngx_uint_t state);
static void ngx_http_jpulse_session_warn(ngx_http_request_t *r,
    const char *why);


static ngx_command_t  ngx_http_jpulse_session_commands[] = {

    { ngx_string("jpulse_session"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_session_loc_conf_t, enable),
      NULL },

    { ngx_string("jpulse_session_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_session_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_session_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_session_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      1,
      NULL },

    { ngx_string("jpulse_session_cookie"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_session_loc_conf_t, cookie),
      NULL },

    { ngx_string("jpulse_session_touch_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_session_loc_conf_t, touch_interval),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_jpulse_session_module_ctx = {
    ngx_http_jpulse_session_preconfiguration, /* preconfiguration */
    ngx_http_jpulse_session_postconfiguration, /* postconfiguration */
    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    ngx_http_jpulse_session_create_loc_conf, /* create location conf */
    ngx_http_jpulse_session_merge_loc_conf /* merge location conf */
};


ngx_module_t  ngx_http_jpulse_session_module = {
    NGX_MODULE_V1,
    &ngx_http_jpulse_session_module_ctx,   /* module context */
    ngx_http_jpulse_session_commands,      /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_jpulse_session_init_process,  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static time_t  ngx_http_jpulse_session_warned;
static ngx_uint_t  ngx_http_jpulse_session_unwarned;


static ngx_int_t
ngx_http_jpulse_session_preconfiguration(ngx_conf_t *cf)
{
    return ngx_http_jpulse_session_add_variables(cf);
}


static ngx_int_t
ngx_http_jpulse_session_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_jpulse_session_handler;

    ngx_http_jpulse_render_who = ngx_http_jpulse_session_who;

    return NGX_OK;
}


static void *
ngx_http_jpulse_session_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_jpulse_session_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_session_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     conf->secrets = NULL;
     *     conf->cookie = { 0, NULL };
     */

    conf->enable = NGX_CONF_UNSET;
    conf->touch_interval = NGX_CONF_UNSET_MSEC;

    return conf;
}


static char *
ngx_http_jpulse_session_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_jpulse_session_loc_conf_t  *prev = parent;
    ngx_http_jpulse_session_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->enable, prev->enable, 0);
    ngx_conf_merge_str_value(conf->cookie, prev->cookie, "connect.sid");
    ngx_conf_merge_msec_value(conf->touch_interval, prev->touch_interval,
                              60000);

    /* a level's secrets replace the outer level's, as a whole */
    if (conf->secrets == NULL) {
        conf->secrets = prev->secrets;
    }

    if (conf->cookie.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_session_cookie: an empty name");
        return NGX_CONF_ERROR;
    }

    if (conf->enable && conf->secrets == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jpulse_session on\" without "
                           "\"jpulse_session_secret\" or "
                           "\"jpulse_session_secret_file\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


/* jpulse_session_secret VALUE; jpulse_session_secret_file PATH (cmd->offset
   1): in the order written, the first one signs (express-session) */

static char *
ngx_http_jpulse_session_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_jpulse_session_loc_conf_t  *slcf = conf;

    u_char               *p;
    ssize_t               n;
    ngx_fd_t              fd;
    ngx_str_t            *value, file;
    jp_session_secret_t  *s;
    u_char                buf[NGX_HTTP_JPULSE_SESSION_SECRET_MAX + 1];

    value = cf->args->elts;

    if (slcf->secrets == NULL) {
        slcf->secrets = ngx_array_create(cf->pool, 2,
                                         sizeof(jp_session_secret_t));
        if (slcf->secrets == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    s = ngx_array_push(slcf->secrets);
    if (s == NULL) {
        return NGX_CONF_ERROR;
    }

    if (cmd->offset == 0) {
        if (value[1].len == 0) {
            return "is empty";
        }

        s->data = value[1].data;
        s->len = value[1].len;

        return NGX_CONF_OK;
    }

    /* read now, once: a request never waits for a file */

    file = value[1];

    if (ngx_conf_full_name(cf->cycle, &file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file.data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "jpulse_session_secret_file: cannot open \"%V\"",
                           &file);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, sizeof(buf));

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", &file);
    }

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "jpulse_session_secret_file: cannot read \"%V\"",
                           &file);
        return NGX_CONF_ERROR;
    }

    if (n > NGX_HTTP_JPULSE_SESSION_SECRET_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_session_secret_file: \"%V\" is longer "
                           "than %d bytes", &file,
                           NGX_HTTP_JPULSE_SESSION_SECRET_MAX);
        return NGX_CONF_ERROR;
    }

    /* editors end files with a newline that is not part of the secret */
    if (n > 0 && buf[n - 1] == '\n') {
        n--;

        if (n > 0 && buf[n - 1] == '\r') {
            n--;
        }
    }

    if (n == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_session_secret_file: \"%V\" is empty",
                           &file);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, n);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, buf, n);
    ngx_explicit_memzero(buf, sizeof(buf));

    s->data = p;
    s->len = n;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_session_init_process(ngx_cycle_t *cycle)
{
    return ngx_http_jpulse_session_touch_init(cycle);
}


ngx_uint_t
ngx_http_jpulse_session_enabled(ngx_http_request_t *r)
{
    ngx_http_jpulse_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_session_module);

    return slcf->enable;
}


ngx_http_jpulse_session_t *
ngx_http_jpulse_session_get(ngx_http_request_t *r)
{
    ngx_http_jpulse_session_ctx_t  *ctx;

    ctx = ngx_http_jpulse_session_find(r);

    if (ctx == NULL || !ctx->loaded) {
        return NULL;
    }

    return &ctx->session;
}


/*
 * The main request's context; after an internal redirect (which clears
 * every module's context) found again in the pool cleanup that owns it.
 */

static ngx_http_jpulse_session_ctx_t *
ngx_http_jpulse_session_find(ngx_http_request_t *r)
{
    ngx_pool_cleanup_t             *cln;
    ngx_http_jpulse_session_ctx_t  *ctx;

    r = r->main;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jpulse_session_module);
    if (ctx != NULL) {
        return ctx;
    }

    /* not only after r->internal redirects: named locations clear too */

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_jpulse_session_cleanup) {
            ctx = cln->data;
            ngx_http_set_ctx(r, ctx, ngx_http_jpulse_session_module);
            return ctx;
        }
    }

    return NULL;
}


static void
ngx_http_jpulse_session_cleanup(void *data)
{
    ngx_http_jpulse_session_ctx_t  *ctx = data;

    jp_session_free(&ctx->record);
    ctx->session.data = NULL;
    ctx->session.user = NULL;
}


static ngx_int_t
ngx_http_jpulse_session_handler(ngx_http_request_t *r)
{
    ngx_int_t                            rc;
    ngx_str_t                            cached;
    redisReply                           hit;
    ngx_pool_cleanup_t                  *cln;
    ngx_http_jpulse_session_ctx_t       *ctx;
    ngx_http_jpulse_session_loc_conf_t  *slcf;

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_session_module);

    if (!slcf->enable) {
        return NGX_DECLINED;
    }

    ctx = ngx_http_jpulse_session_find(r);

    if (ctx != NULL) {
        /* a redirect, or a subrequest: loaded once, for the main request */
        return ctx->waiting ? NGX_DONE : NGX_DECLINED;
    }

    if (r != r->main) {
        /* a subrequest never loads: it has its main request's or none */
        return NGX_DECLINED;
    }

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_session_ctx_t));
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_ERROR;
    }

    cln->handler = ngx_http_jpulse_session_cleanup;
    cln->data = ctx;

    ctx->session.method = r->method;

    ngx_http_set_ctx(r, ctx, ngx_http_jpulse_session_module);

    if (ngx_http_jpulse_session_cookie(r, slcf, ctx)
        != NGX_HTTP_JPULSE_SESSION_ANONYMOUS)
    {
        /* no cookie, or one that does not verify: nothing to load */
        return NGX_DECLINED;
    }

    /* jpulse_session_cache: a hit is read as the GET's reply would be */

    if (ngx_http_jpulse_session_cache_lookup(&ctx->session.sid, &cached,
                                             &ctx->cache_token)
        == NGX_OK)
    {
        ngx_memzero(&hit, sizeof(redisReply));
        hit.type = REDIS_REPLY_STRING;
        hit.str = (char *) cached.data;
        hit.len = cached.len;

        ngx_http_jpulse_session_record(r, ctx, &hit);
        return NGX_DECLINED;
    }

    if (!ngx_http_jpulse_redis_configured()) {
        ngx_http_jpulse_session_warn(r, "Redis is not configured");
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return NGX_DECLINED;
    }

    rc = ngx_http_jpulse_session_send(r, ctx);

    if (rc == NGX_DECLINED) {
        /*
         * The worker is still connecting to Redis (it just started, or
         * reconnects): wait for the connection rather than take a
         * signed-in user for anonymous. Only the session load waits.
         */

        rc = ngx_http_jpulse_redis_when_ready(r,
                                              ngx_http_jpulse_session_ready,
                                              ctx);
    }

    if (rc == NGX_ERROR) {
        return NGX_ERROR;
    }

    if (rc != NGX_OK) {
        ngx_http_jpulse_session_warn(r, "Redis is not ready");
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_REDIS_ERRORS);
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return NGX_DECLINED;
    }

    /*
     * Parked (count raised): the reply resumes the phases. Nothing runs
     * them before: a write event would re-enter this phase.
     */

    ctx->waiting = 1;
    r->write_event_handler = ngx_http_request_empty_handler;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse session: parked");

    return NGX_DONE;
}


/* GET <ns>sess:<sid>: NGX_OK parked, NGX_DECLINED Redis not ready */

static ngx_int_t
ngx_http_jpulse_session_send(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx)
{
    size_t                        n;
    u_char                       *key, *p;
    const char                   *argv[2];
    size_t                        argvlen[2];
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    n = jmcf->namespace.len + sizeof("sess:") - 1 + ctx->session.sid.len;

    key = ngx_pnalloc(r->pool, n);
    if (key == NULL) {
        return NGX_ERROR;
    }

    p = ngx_cpymem(key, jmcf->namespace.data, jmcf->namespace.len);
    p = ngx_cpymem(p, "sess:", sizeof("sess:") - 1);
    ngx_memcpy(p, ctx->session.sid.data, ctx->session.sid.len);

    argv[0] = "GET";
    argvlen[0] = 3;
    argv[1] = (const char *) key;
    argvlen[1] = n;

    return ngx_http_jpulse_redis_request(r, ngx_http_jpulse_session_loaded,
                                         ctx, 2, argv, argvlen);
}


/* the connection the request waited for is ready, or its attempt failed */

static void
ngx_http_jpulse_session_ready(ngx_http_request_t *r, ngx_uint_t ready,
    void *data)
{
    ngx_http_jpulse_session_ctx_t  *ctx = data;

    /* the wait's reference; a GET sent takes its own */
    r->main->count--;

    if (ready && ngx_http_jpulse_session_send(r, ctx) == NGX_OK) {
        return;
    }

    /* an allocation that failed is taken as Redis trouble: no 500 now */

    ngx_http_jpulse_session_warn(r, ready ? "the GET could not be sent"
                                          : "the connection to Redis "
                                            "failed while requests waited");
    ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_REDIS_ERRORS);
    ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);

    ctx->waiting = 0;

    ngx_http_jpulse_session_resume(r);
}


static void
ngx_http_jpulse_session_resume(ngx_http_request_t *r)
{
    if (!r->discard_body) {
        r->read_event_handler = ngx_http_block_reading;
    }

    r->write_event_handler = ngx_http_core_run_phases;

    ngx_http_core_run_phases(r);
}


/*
 * The session cookie as express-session reads it. Returns the state so
 * far: NONE, INVALID (both final), or ANONYMOUS with the verified sid.
 */

static ngx_uint_t
ngx_http_jpulse_session_cookie(ngx_http_request_t *r,
    ngx_http_jpulse_session_loc_conf_t *slcf,
    ngx_http_jpulse_session_ctx_t *ctx)
{
    u_char             *buf, *sid;
    size_t              len, sid_len;
    ngx_uint_t          i;
    ngx_table_elt_t   **h;
    jp_session_sid_e    rc;
    const u_char       *value, *s;

    h = r->headers_in.cookies.elts;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (jp_session_cookie_find(h[i]->value.data, h[i]->value.len,
                                   (char *) slcf->cookie.data,
                                   slcf->cookie.len, &value, &len))
        {
            break;
        }
    }

    if (i == r->headers_in.cookies.nelts) {
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_NONE);
        return NGX_HTTP_JPULSE_SESSION_NONE;
    }

    buf = NULL;

    if (len > 0 && len <= JP_SESSION_COOKIE_MAX) {
        buf = ngx_pnalloc(r->pool, 2 * len);
        if (buf == NULL) {
            ngx_http_jpulse_session_done(r, ctx,
                                         NGX_HTTP_JPULSE_SESSION_ERROR);
            return NGX_HTTP_JPULSE_SESSION_ERROR;
        }
    }

    rc = jp_session_verify(value, len, slcf->secrets->elts,
                           slcf->secrets->nelts, buf, &s, &sid_len);

    if (rc == JP_SESSION_SID_NONE) {
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_NONE);
        return NGX_HTTP_JPULSE_SESSION_NONE;
    }

    if (rc == JP_SESSION_SID_INVALID) {
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_BAD_SIGNATURES);

        if (ngx_http_jpulse_session_log_allowed(r)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "jpulse session: the \"%V\" cookie (%uz bytes) "
                          "does not verify with the configured secrets, "
                          "anonymous", &slcf->cookie, len);
        }

        ngx_http_jpulse_session_done(r, ctx,
                                     NGX_HTTP_JPULSE_SESSION_INVALID);
        return NGX_HTTP_JPULSE_SESSION_INVALID;
    }

    sid = (u_char *) s;

    ctx->session.sid.data = sid;
    ctx->session.sid.len = sid_len;

    return NGX_HTTP_JPULSE_SESSION_ANONYMOUS;
}


static void
ngx_http_jpulse_session_loaded(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_session_ctx_t  *ctx = data;

    ctx->waiting = 0;

    /* the park's reference: the phases go on with the request's own */
    r->main->count--;

    ngx_http_jpulse_session_record(r, ctx, reply);

    /* signed-in sessions only: a login by a GET (OAuth) shows at once */

    if (ctx->session.state == NGX_HTTP_JPULSE_SESSION_USER) {
        ngx_http_jpulse_session_cache_store(&ctx->session.sid,
                                            (u_char *) reply->str,
                                            reply->len, ctx->cache_token);
    }

    ngx_http_jpulse_session_resume(r);
}


static void
ngx_http_jpulse_session_record(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, redisReply *reply)
{
    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_REDIS_ERRORS);
        ngx_http_jpulse_session_warn(r, reply == NULL
                                        ? "no reply from Redis"
                                        : "Redis refused the GET");
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return;
    }

    if (reply->type == REDIS_REPLY_NIL) {
        /* expired, revoked or logged out: a new visitor to jPulse */
        ngx_http_jpulse_session_done(r, ctx,
                                     NGX_HTTP_JPULSE_SESSION_ANONYMOUS);
        return;
    }

    if (reply->type != REDIS_REPLY_STRING) {
        ngx_http_jpulse_session_warn(r, "the session key is not a string");
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return;
    }

    ngx_http_jpulse_session_apply(r, ctx, (u_char *) reply->str,
                                  reply->len);
}


/*
 * A session record (the GET's reply; or the session cache's copy, which
 * then answers before the GET is sent) becomes the request's session.
 */

void
ngx_http_jpulse_session_apply(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, u_char *json, size_t len)
{
    ngx_str_t           sid;
    jp_session_parse_e  rc;

    rc = jp_session_parse((char *) json, len, &ctx->record);

    switch (rc) {

    case JP_SESSION_PARSE_OK:
        break;

    case JP_SESSION_PARSE_TOO_BIG:
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_TOO_BIG);
        ngx_http_jpulse_session_warn(r, "the session is larger than "
                                        "64 KB, refused");
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return;

    default:
        ngx_http_jpulse_session_warn(r, "the session is not a JSON object");
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return;
    }

    if (ngx_http_jpulse_session_fill(r, ctx) != NGX_OK) {
        /* out of memory: nothing of the record may stay pointed at */
        jp_session_free(&ctx->record);
        sid = ctx->session.sid;
        ngx_memzero(&ctx->session, sizeof(ngx_http_jpulse_session_t));
        ctx->session.sid = sid;
        ngx_http_jpulse_session_done(r, ctx, NGX_HTTP_JPULSE_SESSION_ERROR);
        return;
    }

    ngx_http_jpulse_session_done(r, ctx, ctx->record.authenticated
                                         ? NGX_HTTP_JPULSE_SESSION_USER
                                         : NGX_HTTP_JPULSE_SESSION_ANONYMOUS);

    /* the record exists: connect-redis would touch it now */
    ngx_http_jpulse_session_touch(r, ctx);
}


static ngx_int_t
ngx_http_jpulse_session_fill(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx)
{
    u_char                     *p;
    size_t                      len;
    ngx_uint_t                  i;
    ngx_str_t                  *role;
    jp_session_t               *rec;
    ngx_http_jpulse_session_t  *s;

    rec = &ctx->record;
    s = &ctx->session;

    s->data = rec->data;
    s->user = rec->user;
    s->expires_ms = rec->expires_ms;

    if (!rec->authenticated) {
        return NGX_OK;
    }

    s->user_id.data = (u_char *) rec->id.data;
    s->user_id.len = rec->id.len;
    s->username.data = (u_char *) rec->username.data;
    s->username.len = rec->username.len;
    s->language.data = (u_char *) rec->language.data;
    s->language.len = rec->language.len;
    s->theme.data = (u_char *) rec->theme.data;
    s->theme.len = rec->theme.len;

    if (rec->unsafe && ngx_http_jpulse_session_log_allowed(r)) {
        /* left out by the parse: they would have reached headers */
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "jpulse session: a control byte (or a comma in a "
                      "role), left out of the $jpulse_* variables:%s%s%s",
                      (rec->unsafe & JP_SESSION_UNSAFE_ID)
                      ? " user.id" : "",
                      (rec->unsafe & JP_SESSION_UNSAFE_USERNAME)
                      ? " user.username" : "",
                      (rec->unsafe & JP_SESSION_UNSAFE_ROLE)
                      ? " user.roles" : "");
    }

    if (rec->nroles == 0) {
        return NGX_OK;
    }

    s->role_list = ngx_array_create(r->pool, rec->nroles, sizeof(ngx_str_t));
    if (s->role_list == NULL) {
        return NGX_ERROR;
    }

    len = 0;

    for (i = 0; i < rec->nroles; i++) {
        role = ngx_array_push(s->role_list);
        if (role == NULL) {
            return NGX_ERROR;
        }

        role->data = (u_char *) rec->roles[i].data;
        role->len = rec->roles[i].len;

        len += role->len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    s->roles.data = p;

    for (i = 0; i < rec->nroles; i++) {
        if (i > 0) {
            *p++ = ',';
        }

        p = ngx_cpymem(p, rec->roles[i].data, rec->roles[i].len);
    }

    s->roles.len = p - s->roles.data;

    return NGX_OK;
}


static void
ngx_http_jpulse_session_done(ngx_http_request_t *r,
    ngx_http_jpulse_session_ctx_t *ctx, ngx_uint_t state)
{
    ctx->session.state = state;
    ctx->loaded = 1;

    ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_LOADS_NONE + state);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse session: state %ui", state);
}


/* Redis trouble: a warning now and then, never a failed request */

static void
ngx_http_jpulse_session_warn(ngx_http_request_t *r, const char *why)
{
    time_t  now;

    now = ngx_time();

    if (now - ngx_http_jpulse_session_warned
        < NGX_HTTP_JPULSE_SESSION_WARN_EVERY)
    {
        ngx_http_jpulse_session_unwarned++;
        return;
    }

    ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                  "jpulse session: %s, the request goes on anonymous "
                  "(%ui more like it not logged in the last %d s)",
                  why, ngx_http_jpulse_session_unwarned,
                  NGX_HTTP_JPULSE_SESSION_WARN_EVERY);

    ngx_http_jpulse_session_warned = now;
    ngx_http_jpulse_session_unwarned = 0;
}


ngx_uint_t
ngx_http_jpulse_session_has_role(ngx_http_jpulse_session_t *s, u_char *role,
    size_t len)
{
    ngx_str_t   *r;
    ngx_uint_t   i;

    if (!ngx_http_jpulse_session_signed_in(s) || s->role_list == NULL) {
        return 0;
    }

    r = s->role_list->elts;

    for (i = 0; i < s->role_list->nelts; i++) {
        if (r[i].len == len && ngx_memcmp(r[i].data, role, len) == 0) {
            return 1;
        }
    }

    return 0;
}
