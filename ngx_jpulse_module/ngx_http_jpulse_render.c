/*
 * jpulse_render: jPulse's view routing and rendering (contract 5.1).
 *
 *   /            302 /home/, query kept
 *   /x/          /x/index.shtml (controller.view.defaultTemplate)
 *   /x           301 /x/ when /x/index.shtml exists
 *   raw types    .json and images (controller.view.rawExtensions): as is
 *   jpulse-*.js|css  append mode: every root's file, then expanded
 *   anything else in the view tree: expanded
 *   missing      /error/index.shtml with status 404 and url.param.code/msg
 *
 * A request that needs something from Redis parks while it is fetched
 * and then runs again from the top; everything else is served from L1
 * without a system call but the write.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_tpl.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_context.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_lookup.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_view.h"


#define NGX_HTTP_JPULSE_ROUNDS_MAX   16
#define NGX_HTTP_JPULSE_ERROR_PAGE   "error/index.shtml"


static ngx_int_t ngx_http_jpulse_render_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_route(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_run(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_step(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static void ngx_http_jpulse_render_resume(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_redirect(ngx_http_request_t *r,
    ngx_uint_t status, ngx_str_t *to);
static ngx_int_t ngx_http_jpulse_render_not_found(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_slash(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_page(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, jp_tpl_program_t *prog);
static ngx_int_t ngx_http_jpulse_render_send(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, u_char *data, size_t len,
    int64_t mtime, ngx_uint_t copy);
static void ngx_http_jpulse_render_failed(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_error_t *err);
static ngx_int_t ngx_http_jpulse_render_etag(ngx_http_request_t *r,
    uint64_t hash);
static uint64_t ngx_http_jpulse_render_hash(u_char *p, size_t len);
static ngx_uint_t ngx_http_jpulse_render_cacheable(
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_url_variant(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_uint_t ngx_http_jpulse_render_known_host(ngx_http_request_t *r,
    ngx_str_t *host);
static ngx_http_jpulse_tentry_t *ngx_http_jpulse_render_output(
    ngx_http_jpulse_render_ctx_t *rc);
static void ngx_http_jpulse_render_stamp(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e);
static ngx_uint_t ngx_http_jpulse_render_fresh(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e);
static void ngx_http_jpulse_render_keep(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_buf_t *out, ngx_str_t *variant);
static ngx_http_jpulse_tentry_t *ngx_http_jpulse_render_plan(
    ngx_http_jpulse_render_ctx_t *rc, jp_tpl_program_t *prog);
static void ngx_http_jpulse_render_plan_keep(
    ngx_http_jpulse_render_ctx_t *rc, jp_tpl_plan_t *plan);
static void ngx_http_jpulse_render_cleanup(void *data);
static ngx_int_t ngx_http_jpulse_render_type(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_uint_t ngx_http_jpulse_render_path_ok(u_char *path, size_t len);
static ngx_uint_t ngx_http_jpulse_render_is_raw(
    ngx_http_jpulse_render_ctx_t *rc, ngx_str_t *ext);


ngx_http_jpulse_who_pt   ngx_http_jpulse_render_who =
    ngx_http_jpulse_render_anonymous_who;
ngx_http_jpulse_user_pt  ngx_http_jpulse_render_user =
    ngx_http_jpulse_render_anonymous;


typedef struct {
    const char  *ext;
    const char  *type;
} ngx_http_jpulse_type_t;

static ngx_http_jpulse_type_t  ngx_http_jpulse_types[] = {
    { "shtml", "text/html; charset=utf-8" },
    { "tmpl", "text/html; charset=utf-8" },
    { "html", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "js", "application/javascript; charset=utf-8" },
    { "json", "application/json; charset=utf-8" },
    { "txt", "text/plain; charset=utf-8" },
    { "md", "text/markdown; charset=utf-8" },
    { "xml", "application/xml" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "gif", "image/gif" },
    { "ico", "image/x-icon" },
    { "webp", "image/webp" },
    { NULL, NULL }
};

static const char  *ngx_http_jpulse_raw_default[] = {
    "json", "gif", "ico", "jpg", "jpeg", "png", "webp", NULL
};


char *
ngx_http_jpulse_render(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t  *jlcf = conf;

    return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                       NGX_HTTP_JPULSE_HANDLER_RENDER,
                                       ngx_http_jpulse_render_handler);
}


/* jpulse_render_cache_control value | off: "off" is kept as "" */

char *
ngx_http_jpulse_render_cache_control(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_jpulse_loc_conf_t *jlcf = conf;

    u_char     *p;
    ngx_str_t  *value;

    if (jlcf->cache_control.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        ngx_str_set(&jlcf->cache_control, "");
        return NGX_CONF_OK;
    }

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            break;
        }
    }

    if (value[1].len == 0 || p != value[1].data + value[1].len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\"",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    jlcf->cache_control = value[1];

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_render_handler(ngx_http_request_t *r)
{
    u_char                        *p;
    ngx_int_t                      rc2;
    ngx_str_t                      lang, theme;
    ngx_pool_cleanup_t            *cln;
    ngx_http_jpulse_ctx_t         *ctx;
    ngx_http_jpulse_view_rt_t     *rt;
    ngx_http_jpulse_loc_conf_t    *jlcf;
    ngx_http_jpulse_render_ctx_t  *rc;

    /* before any answer: an unread body would be the next request */

    rc2 = ngx_http_discard_request_body(r);
    if (rc2 != NGX_OK) {
        return rc2;
    }

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_jpulse_send_405(r, "GET, HEAD");
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    rt = jlcf->view.view ? jlcf->view.view->rt : NULL;
    if (rt == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_RENDER);
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_render_ctx_t));
    if (rc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx->data = rc;
    rc->request = r;
    rc->rt = rt;
    rc->status = NGX_HTTP_OK;

    rc->needs = ngx_array_create(r->pool, 4, sizeof(ngx_http_jpulse_need_t));
    if (rc->needs == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_view_sync(rt);

    if (ngx_http_jpulse_render_who(r, &lang, &theme, &rc->authenticated)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* the context and the user object, built when a page is rendered */
    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_jpulse_render_cleanup;
    cln->data = rc;

    /* what the user's preferences say, when it looks like a name */
    if (!ngx_http_jpulse_view_token(lang.data, lang.len)) {
        lang.data = (u_char *) rt->default_lang;
        lang.len = ngx_strlen(rt->default_lang);
    }

    if (!ngx_http_jpulse_view_token(theme.data, theme.len)) {
        theme.data = (u_char *) rt->default_theme;
        theme.len = ngx_strlen(rt->default_theme);
    }

    /*
     * The defaults point into the config in force, which a change frees
     * while the request waits for Redis: rc->lang and rc->theme are the
     * request's own, inside rc->variant ("lang theme").
     */
    rc->variant.len = lang.len + 1 + theme.len;
    rc->variant.data = ngx_pnalloc(r->pool, rc->variant.len);
    if (rc->variant.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(rc->variant.data, lang.data, lang.len);
    *p++ = ' ';
    ngx_memcpy(p, theme.data, theme.len);

    rc->lang.data = rc->variant.data;
    rc->lang.len = lang.len;
    rc->theme.data = p;
    rc->theme.len = theme.len;

    if (ngx_http_jpulse_render_url_variant(r, rc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_lookup_host(rc);

    rc2 = ngx_http_jpulse_render_route(r, rc);
    if (rc2 != NGX_DECLINED) {
        return rc2;
    }

    return ngx_http_jpulse_render_run(r);
}


static void
ngx_http_jpulse_render_cleanup(void *data)
{
    ngx_http_jpulse_render_ctx_t  *rc = data;

    json_decref(rc->context);
    json_decref(rc->user);
}


/* NGX_DECLINED: rc->path is set, go on and render it */

static ngx_int_t
ngx_http_jpulse_render_route(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    u_char     *p, *last;
    size_t      dlen;
    ngx_str_t   to, ext;

    if (r->uri.len == 1 && r->uri.data[0] == '/') {
        to.len = sizeof("/home/") + r->args.len;
        to.data = ngx_pnalloc(r->pool, to.len);
        if (to.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(to.data, "/home/", 6);

        if (r->args.len) {
            *p++ = '?';
            p = ngx_cpymem(p, r->args.data, r->args.len);
        }

        to.len = p - to.data;

        return ngx_http_jpulse_render_redirect(r, NGX_HTTP_MOVED_TEMPORARILY,
                                               &to);
    }

    dlen = ngx_strlen(rc->rt->default_template);

    if (r->uri.len == 0 || r->uri.data[0] != '/'
        || r->uri.len + dlen + 2 >= NGX_MAX_PATH)
    {
        return ngx_http_jpulse_render_not_found(r, rc);
    }

    rc->path.len = r->uri.len - 1;
    rc->path.data = ngx_pnalloc(r->pool, rc->path.len + dlen + 2);
    if (rc->path.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(rc->path.data, r->uri.data + 1, rc->path.len);

    if (r->uri.data[r->uri.len - 1] == '/') {
        p = ngx_cpymem(p, rc->rt->default_template, dlen);
    }

    *p = '\0';
    rc->path.len = p - rc->path.data;

    if (!ngx_http_jpulse_render_path_ok(rc->path.data, rc->path.len)) {
        return ngx_http_jpulse_render_not_found(r, rc);
    }

    last = (u_char *) strrchr((char *) rc->path.data, '/');
    last = last ? last + 1 : rc->path.data;

    ext.data = (u_char *) strrchr((char *) last, '.');

    if (ext.data == NULL) {
        /* "/about": the directory when it has a page */
        ngx_str_null(&ext);
        rc->path.data[rc->path.len] = '/';
        ngx_memcpy(rc->path.data + rc->path.len + 1,
                   rc->rt->default_template, dlen);
        rc->path.len += 1 + dlen;
        rc->path.data[rc->path.len] = '\0';
        rc->not_found = 0;
        rc->raw = 0;
        rc->append = 0;
        rc->status = NGX_HTTP_MOVED_PERMANENTLY;
        return NGX_DECLINED;
    }

    ext.data++;
    ext.len = rc->path.data + rc->path.len - ext.data;

    rc->raw = ngx_http_jpulse_render_is_raw(rc, &ext);
    rc->append = !rc->raw && jp_tpl_disk_is_append((char *) rc->path.data);

    return NGX_DECLINED;
}


/*
 * The jail of includes, on r->uri as nginx decoded and normalized it:
 * decoding it again would turn "/100%25.shtml" into a miss and "%2e%2e"
 * into "..". Dot-files and dot-directories (".git/config", ".env") live
 * next to pages in a checkout but are not pages: refused like a miss.
 */

static ngx_uint_t
ngx_http_jpulse_render_path_ok(u_char *path, size_t len)
{
    u_char  *p, *end;

    end = path + len;

    if (len == 0 || (len >= 2 && path[1] == ':')) {
        return 0;
    }

    for (p = path; p < end; p++) {
        if (*p == '\\' || *p == '\0') {
            return 0;
        }

        /* a segment that is empty or starts with a dot */
        if ((p == path || p[-1] == '/') && (*p == '/' || *p == '.')) {
            return 0;
        }
    }

    return end[-1] != '/';
}


static ngx_uint_t
ngx_http_jpulse_render_is_raw(ngx_http_jpulse_render_ctx_t *rc,
    ngx_str_t *ext)
{
    size_t       i, n;
    json_t      *v;
    const char  *s;

    if (rc->rt->raw_exts == NULL) {
        for (i = 0; ngx_http_jpulse_raw_default[i]; i++) {
            s = ngx_http_jpulse_raw_default[i];

            if (ngx_strlen(s) == ext->len
                && ngx_strncasecmp((u_char *) s, ext->data, ext->len) == 0)
            {
                return 1;
            }
        }

        return 0;
    }

    /* jPulse writes them with or without the dot */
    json_array_foreach(rc->rt->raw_exts, i, v) {
        if (!json_is_string(v)) {
            continue;
        }

        s = json_string_value(v);
        s += (*s == '.');
        n = ngx_strlen(s);

        if (n == ext->len
            && ngx_strncasecmp((u_char *) s, ext->data, ext->len) == 0)
        {
            return 1;
        }
    }

    return 0;
}


static ngx_int_t
ngx_http_jpulse_render_run(ngx_http_request_t *r)
{
    ngx_int_t                      rc2;
    ngx_http_jpulse_ctx_t         *ctx;
    ngx_http_jpulse_render_ctx_t  *rc;

    ctx = ngx_http_jpulse_ctx(r);
    rc = ctx->data;

    ngx_http_jpulse_tcache_begin(&rc->rt->cache);

    rc2 = ngx_http_jpulse_render_step(r, rc);

    ngx_http_jpulse_tcache_end(&rc->rt->cache);

    return rc2;
}


static ngx_int_t
ngx_http_jpulse_render_step(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_int_t                  rc2;
    ngx_http_jpulse_tentry_t  *e;

again:

    rc->needs->nelts = 0;
    rc->broken = 0;

    ngx_http_jpulse_lookup_i18n(rc);

    if (rc->needs->nelts == 0 && ngx_http_jpulse_render_cacheable(rc)) {
        e = ngx_http_jpulse_render_output(rc);

        if (e != NULL) {
            rc->etag = e->etag;
            return ngx_http_jpulse_render_send(r, rc, e->value, e->len, -1,
                                               1);
        }
    }

    if (rc->needs->nelts == 0) {
        e = ngx_http_jpulse_lookup(rc, rc->raw ? NGX_HTTP_JPULSE_T_RAW
                                               : NGX_HTTP_JPULSE_T_PAGE,
                                   rc->path.data, rc->path.len, rc->append);
    } else {
        e = NULL;
    }

    if (rc->needs->nelts) {
        goto fetch;
    }

    if (rc->status == NGX_HTTP_MOVED_PERMANENTLY) {
        /* "/about" -> "/about/" when "about/index.shtml" exists */
        if (e != NULL && e->value != NULL) {
            return ngx_http_jpulse_render_slash(r);
        }

        (void) ngx_http_jpulse_render_not_found(r, rc);
        goto again;
    }

    if (e == NULL && rc->broken) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (e == NULL || e->value == NULL) {
        if (rc->not_found) {
            /* no error page either */
            return NGX_HTTP_NOT_FOUND;
        }

        (void) ngx_http_jpulse_render_not_found(r, rc);
        goto again;
    }

    if (rc->raw) {
        return ngx_http_jpulse_render_send(r, rc, e->value, e->len,
                                           e->mtime, 1);
    }

    rc2 = ngx_http_jpulse_render_page(r, rc, e->value);

    if (rc2 != NGX_AGAIN) {
        return rc2;
    }

fetch:

    if (++rc->rounds > NGX_HTTP_JPULSE_ROUNDS_MAX) {
        /* includes that keep moving under us: take what the disk has */
        rc->no_l2 = 1;
        goto again;
    }

    rc2 = ngx_http_jpulse_l2_fetch(r, rc->rt, rc->needs,
                                   ngx_http_jpulse_render_resume);

    if (rc2 == NGX_DONE) {
        return NGX_DONE;
    }

    if (rc2 == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* Redis went away meanwhile */
    rc->no_l2 = 1;
    goto again;
}


static void
ngx_http_jpulse_render_resume(ngx_http_request_t *r)
{
    ngx_http_jpulse_ctx_t         *ctx;
    ngx_http_jpulse_render_ctx_t  *rc;

    ctx = ngx_http_jpulse_ctx(r);
    rc = ctx->data;

    /* invalidations may have come with the replies */
    ngx_http_jpulse_view_sync(rc->rt);

    ngx_http_finalize_request(r, ngx_http_jpulse_render_run(r));
}


/* 301 to the URI with a slash, escaped as nginx escapes Location */

static ngx_int_t
ngx_http_jpulse_render_slash(ngx_http_request_t *r)
{
    u_char     *p;
    size_t      escape;
    ngx_str_t   to;

    escape = 2 * ngx_escape_uri(NULL, r->uri.data, r->uri.len,
                                NGX_ESCAPE_URI);

    to.len = r->uri.len + escape + 1 + (r->args.len ? r->args.len + 1 : 0);
    to.data = ngx_pnalloc(r->pool, to.len);
    if (to.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (escape) {
        p = (u_char *) ngx_escape_uri(to.data, r->uri.data, r->uri.len,
                                      NGX_ESCAPE_URI);
    } else {
        p = ngx_cpymem(to.data, r->uri.data, r->uri.len);
    }

    *p++ = '/';

    if (r->args.len) {
        *p++ = '?';
        p = ngx_cpymem(p, r->args.data, r->args.len);
    }

    to.len = p - to.data;

    return ngx_http_jpulse_render_redirect(r, NGX_HTTP_MOVED_PERMANENTLY,
                                           &to);
}


/* switches rc to the error page; NGX_DECLINED: go on */

static ngx_int_t
ngx_http_jpulse_render_not_found(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    rc->not_found = 1;
    rc->raw = 0;
    rc->append = 0;
    rc->status = NGX_HTTP_NOT_FOUND;

    rc->path.data = (u_char *) NGX_HTTP_JPULSE_ERROR_PAGE;
    rc->path.len = sizeof(NGX_HTTP_JPULSE_ERROR_PAGE) - 1;

    return NGX_DECLINED;
}


/* NGX_AGAIN: includes must be fetched first (rc->needs) */

static ngx_int_t
ngx_http_jpulse_render_page(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, jp_tpl_program_t *prog)
{
    unsigned                   uses;
    ngx_int_t                  rc2;
    ngx_uint_t                 cacheable;
    jp_tpl_buf_t               out;
    jp_tpl_plan_t             *plan;
    jp_tpl_error_t             err;
    jp_tpl_limits_t            limits;
    ngx_pool_cleanup_t        *cln;
    ngx_http_jpulse_tentry_t  *pe;

    rc2 = ngx_http_jpulse_context(rc, prog);

    if (rc2 == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memzero(&limits, sizeof(jp_tpl_limits_t));
    limits.max_depth = rc->rt->max_depth;

    jp_tpl_buf_init(&out, 0);

    plan = NULL;
    /* NGX_DECLINED: the context read the request where no render sees */
    cacheable = rc2 == NGX_OK && ngx_http_jpulse_render_cacheable(rc);
    pe = cacheable ? ngx_http_jpulse_render_plan(rc, prog) : NULL;

    /* the context holds the request's data only under ctx.url */

    if (pe != NULL) {
        rc2 = jp_tpl_render_plan(pe->value, rc->context, &rc->host, &limits,
                                 JP_TPL_URL_TOP_ONLY, &out, &err, &uses);

        if (rc2 == JP_TPL_PLAN_DIVERGED) {
            /* this request goes where the recording did not */
            rc2 = jp_tpl_render_uses(prog, rc->context, &rc->host, &limits,
                                     JP_TPL_URL_TOP_ONLY, &out, &err, &uses);
        }

    } else if (cacheable) {
        rc2 = jp_tpl_render_record(prog, rc->context, &rc->host, &limits,
                                   JP_TPL_URL_TOP_ONLY, &out, &err, &uses,
                                   &plan);

    } else {
        rc2 = jp_tpl_render_uses(prog, rc->context, &rc->host, &limits,
                                 JP_TPL_URL_TOP_ONLY, &out, &err, &uses);
    }

    if (rc2 != 0) {
        jp_tpl_buf_free(&out);

        ngx_http_jpulse_render_failed(rc, &err);

        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (rc->needs->nelts) {
        jp_tpl_buf_free(&out);
        jp_tpl_plan_free(plan);
        return NGX_AGAIN;
    }

    if (plan != NULL) {
        ngx_http_jpulse_render_plan_keep(rc, plan);
    }

    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_TEMPLATE_RENDERS, 1);

    /*
     * Per URL only for a path as nginx normalized it: encoded variants of
     * one page would each take a place in the cache.
     */
    if ((uses == 0
         || (uses == JP_TPL_USES_URL_PATH && rc->url_variant.len))
        && cacheable)
    {
        ngx_http_jpulse_render_keep(rc, &out,
                                    uses ? &rc->url_variant : &rc->variant);
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        jp_tpl_buf_free(&out);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = free;
    cln->data = out.data;

    return ngx_http_jpulse_render_send(r, rc, (u_char *) out.data, out.len,
                                       -1, 0);
}


/*
 * Counted every time, logged once per version of the page (its program in
 * L1): a request cannot make the error log grow.
 */

static void
ngx_http_jpulse_render_failed(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_error_t *err)
{
    ngx_http_jpulse_tentry_t  *e;

    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);

    e = ngx_http_jpulse_tcache_find(&rc->rt->cache, NGX_HTTP_JPULSE_T_PAGE,
                                    &rc->lang, rc->path.data, rc->path.len);

    if (e != NULL) {
        if (e->logged) {
            return;
        }

        e->logged = 1;
    }

    ngx_log_error(NGX_LOG_ERR, rc->request->connection->log, 0,
                  "jpulse render \"%V\": %s; not logged again until the "
                  "page changes", &rc->path, err->message);
}


/*
 * Rendered pages are kept when nothing in them depends on the request:
 * an anonymous 200 whose render read no url, no user.timezone, no clock
 * (JP_TPL_USES_*). They are valid while everything a render reads is:
 * the view epoch (events, polls, the cache API), the translations, the
 * config, and at most one check interval, the time after which a render
 * would look at the files again.
 */

static ngx_uint_t
ngx_http_jpulse_render_cacheable(ngx_http_jpulse_render_ctx_t *rc)
{
    return !rc->raw && !rc->authenticated && rc->status == NGX_HTTP_OK
           && rc->rt->view->check_interval > 0;
}


/*
 * A kept page: one that read nothing of the request, else one that read
 * only the URL without its query (a navigation bar marking the current
 * page), kept per URL.
 */

static ngx_http_jpulse_tentry_t *
ngx_http_jpulse_render_output(ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_uint_t                  i;
    ngx_str_t                  *variant[2];
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;
    variant[0] = &rc->variant;
    variant[1] = &rc->url_variant;

    for (i = 0; i < 2 && variant[i]->len; i++) {
        e = ngx_http_jpulse_tcache_find(&rt->cache, NGX_HTTP_JPULSE_T_OUTPUT,
                                        variant[i], rc->path.data,
                                        rc->path.len);

        if (!ngx_http_jpulse_render_fresh(rc, e)) {
            continue;
        }

        rt->cache.hits++;
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_CACHE_HITS, 1);

        return e;
    }

    return NULL;
}


/*
 * "lang theme|scheme://host/path": the key of a page kept per URL. The
 * host is what the render reads (url.hostname, url.port): the Host header
 * as sent. A client chooses it, and a default server answers any value,
 * so a page is kept per URL only when that host is one of the server's
 * own names (see ngx_http_jpulse_render_known_host).
 */

static ngx_int_t
ngx_http_jpulse_render_url_variant(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_str_t   host, path;

    host = r->headers_in.host ? r->headers_in.host->value
                              : r->headers_in.server;

    ngx_http_jpulse_context_raw_path(r, &path);

    if (path.len != r->uri.len
        || ngx_strncmp(path.data, r->uri.data, path.len) != 0
        || !ngx_http_jpulse_render_known_host(r, &host))
    {
        /* not kept per URL (see ngx_http_jpulse_render_page) */
        ngx_str_null(&rc->url_variant);
        return NGX_OK;
    }

    rc->url_variant.len = rc->variant.len + sizeof("|https://") - 1
                          + host.len + path.len;
    rc->url_variant.data = ngx_pnalloc(r->pool, rc->url_variant.len);
    if (rc->url_variant.data == NULL) {
        return NGX_ERROR;
    }

    rc->url_variant.len = ngx_sprintf(rc->url_variant.data, "%V|%s://%V%V",
                                      &rc->variant,
#if (NGX_HTTP_SSL)
                                      r->connection->ssl ? "https" : "http",
#else
                                      "http",
#endif
                                      &host, &path)
                          - rc->url_variant.data;

    return NGX_OK;
}


/*
 * A host as the client sent it that names this server: byte for byte its
 * first server_name, or an exact name that nginx's table of names for
 * this address leads to this server (names there are in lower case),
 * alone or with the port the connection came in on; or no host at all.
 * A wildcard or regex match, another case or port, a trailing dot: all
 * reach the same server but would each make a key of their own. (The
 * server_name list itself lives only while nginx reads its config.)
 */

static ngx_uint_t
ngx_http_jpulse_render_known_host(ngx_http_request_t *r, ngx_str_t *host)
{
    u_char                    *colon;
    size_t                     len;
    ngx_int_t                  port;
    ngx_http_virtual_names_t  *vn;
    ngx_http_core_srv_conf_t  *cscf;

    if (host->len == 0) {
        return 1;
    }

    len = host->len;
    colon = ngx_strlchr(host->data, host->data + host->len, ':');

    if (colon != NULL && host->data[0] != '[') {
        port = ngx_atoi(colon + 1, host->data + host->len - colon - 1);

        if (port == NGX_ERROR || port > 65535 || colon[1] == '0'
            || (in_port_t) port != ngx_inet_get_port(
                                         r->connection->local_sockaddr))
        {
            return 0;
        }

        len = colon - host->data;
    }

    cscf = ngx_http_get_module_srv_conf(r, ngx_http_core_module);

    if (len == cscf->server_name.len
        && ngx_strncmp(host->data, cscf->server_name.data, len) == 0)
    {
        return 1;
    }

    vn = r->http_connection ? r->http_connection->addr_conf->virtual_names
                            : NULL;

    if (vn == NULL || vn->names.hash.buckets == NULL) {
        return 0;
    }

    return ngx_hash_find(&vn->names.hash, ngx_hash_key(host->data, len),
                         host->data, len)
           == cscf;
}


/*
 * What a kept page or a plan was made from: valid while the view epoch,
 * the translations and the config are those, for one check interval.
 */

static void
ngx_http_jpulse_render_stamp(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e)
{
    e->from = NGX_HTTP_JPULSE_FROM_DISK;
    e->epoch = rc->rt->cache.epoch;
    e->deps = rc->i18n_stamp;
    e->stamp = rc->rt->config_version;
    e->checked = ngx_current_msec;
}


static ngx_uint_t
ngx_http_jpulse_render_fresh(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e)
{
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    return e != NULL && e->value != NULL
           && e->epoch == rt->cache.epoch
           && e->deps == rc->i18n_stamp
           && e->stamp == rt->config_version
           && ngx_current_msec - e->checked < rt->view->check_interval;
}


static void
ngx_http_jpulse_render_keep(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_buf_t *out, ngx_str_t *variant)
{
    u_char                     *copy;
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    /* a page that fills a good part of their pool is not worth it */
    if (out->len
        > rt->cache.pools[NGX_HTTP_JPULSE_TPOOL_OUTPUT].max_bytes / 4)
    {
        return;
    }

    copy = ngx_alloc(out->len ? out->len : 1, rc->request->connection->log);
    if (copy == NULL) {
        return;
    }

    /* an empty page has no buffer at all */
    if (out->len) {
        ngx_memcpy(copy, out->data, out->len);
    }

    e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_OUTPUT,
                                   variant, rc->path.data, rc->path.len);
    if (e == NULL) {
        ngx_free(copy);
        return;
    }

    ngx_http_jpulse_render_stamp(rc, e);
    e->etag = ngx_http_jpulse_render_hash(copy, out->len);
    rc->etag = e->etag;

    ngx_http_jpulse_tcache_set(&rt->cache, e, copy, out->len, out->len);
}


/*
 * A page that reads the request in a few places (the query, the user's
 * timezone) is rendered from its plan: the bytes of what read nothing of
 * the request, kept from a full render, and the rest rendered again. A
 * plan is kept, and valid, exactly as a kept page of the same variant
 * would be, and for the program of the page now in L1 (a plan holds
 * references on the programs it renders from).
 */

static ngx_http_jpulse_tentry_t *
ngx_http_jpulse_render_plan(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_program_t *prog)
{
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    e = ngx_http_jpulse_tcache_find(&rt->cache, NGX_HTTP_JPULSE_T_PLAN,
                                    &rc->variant, rc->path.data,
                                    rc->path.len);

    if (!ngx_http_jpulse_render_fresh(rc, e)
        || jp_tpl_plan_program(e->value) != prog)
    {
        return NULL;
    }

    return e;
}


static void
ngx_http_jpulse_render_plan_keep(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_plan_t *plan)
{
    size_t                      size;
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;
    size = jp_tpl_plan_size(plan);

    if (size > rt->cache.pools[NGX_HTTP_JPULSE_TPOOL_OUTPUT].max_bytes / 4) {
        jp_tpl_plan_free(plan);
        return;
    }

    e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_PLAN,
                                   &rc->variant, rc->path.data, rc->path.len);
    if (e == NULL) {
        jp_tpl_plan_free(plan);
        return;
    }

    ngx_http_jpulse_render_stamp(rc, e);

    ngx_http_jpulse_tcache_set(&rt->cache, e, plan, 0, size);
}


/*
 * mtime >= 0: a raw file, which gets Last-Modified and an ETag as nginx's
 * static files do. Else a page, which gets the configured Cache-Control,
 * and an ETag when it is kept (rc->etag). nginx's not_modified filter
 * answers If-None-Match and If-Modified-Since from these. copy: data
 * belongs to the cache, which may replace it before a slow client has it
 * all.
 */

static ngx_int_t
ngx_http_jpulse_render_send(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, u_char *data, size_t len,
    int64_t mtime, ngx_uint_t copy)
{
    u_char                      *p;
    size_t                       bytes;
    ngx_int_t                    rc2;
    ngx_buf_t                   *b;
    ngx_chain_t                  out;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    ngx_http_jpulse_view_totals((ngx_cycle_t *) ngx_cycle, &bytes,
                                &(ngx_uint_t) { 0 }, NULL);
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_CACHE_BYTES, bytes);

    r->headers_out.status = rc->status;
    r->headers_out.content_length_n = len;

    if (ngx_http_jpulse_render_type(r, rc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (mtime >= 0) {
        r->headers_out.last_modified_time = (time_t) (mtime / 1000);
        r->allow_ranges = 1;

        if (ngx_http_set_etag(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

    } else {
        if (rc->etag && ngx_http_jpulse_render_etag(r, rc->etag) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

        /* like expires: a 404 kept by a shared cache outlives the fix */
        if (jlcf->cache_control.len && rc->status < NGX_HTTP_BAD_REQUEST
            && ngx_http_jpulse_cache_control(r, &jlcf->cache_control)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    /* an empty page still goes through the body filters (addition) */
    if (r->method == NGX_HTTP_HEAD) {
        r->header_only = 1;
    }

    /* a 304 sets header_only */

    rc2 = ngx_http_send_header(r);

    if (rc2 == NGX_ERROR || rc2 > NGX_OK || r->header_only) {
        return rc2;
    }

    if (copy && len) {
        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_ERROR;
        }

        ngx_memcpy(p, data, len);
        data = p;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    if (len) {
        b->pos = data;
        b->last = data + len;
        b->memory = 1;

    } else {
        /* no bytes: a special buffer, never a "zero size buf" */
        b->sync = 1;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/*
 * A strong validator of a kept page: its bytes, so that every worker and
 * every instance that renders the same page gives the same one. Pages
 * rendered per request get none.
 */

static ngx_int_t
ngx_http_jpulse_render_etag(ngx_http_request_t *r, uint64_t hash)
{
    ngx_table_elt_t           *etag;
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    if (!clcf->etag) {
        return NGX_OK;
    }

    etag = ngx_list_push(&r->headers_out.headers);
    if (etag == NULL) {
        return NGX_ERROR;
    }

    etag->hash = 1;
#if (nginx_version >= 1023000)
    etag->next = NULL;
#endif
    ngx_str_set(&etag->key, "ETag");

    /* with the quotes: ngx_http_weak_etag() drops a value without them */

    etag->value.data = ngx_pnalloc(r->pool, sizeof("\"\"") - 1 + 16);
    if (etag->value.data == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->value.len = ngx_sprintf(etag->value.data, "\"%016xL\"", hash)
                      - etag->value.data;

    r->headers_out.etag = etag;

    return NGX_OK;
}


/*
 * 64 bits of a page's bytes, a word at a time: a kept page is hashed
 * once, when it is kept. Each step is a bijection of the state, so pages
 * that differ in one word never collide.
 */

static uint64_t
ngx_http_jpulse_render_hash(u_char *p, size_t len)
{
    uint64_t  h, w;

    h = 0x9e3779b97f4a7c15ULL ^ len;

    for ( /* void */ ; len >= 8; p += 8, len -= 8) {
        ngx_memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 32;
    }

    w = 0;
    ngx_memcpy(&w, p, len);

    h = (h ^ w) * 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 29;

    /* 0 means "no ETag" */
    return h ? h : 1;
}


static ngx_int_t
ngx_http_jpulse_render_type(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    u_char      *dot, ext[16];
    size_t       len;
    json_t      *v;
    ngx_str_t    t;
    ngx_uint_t   i, own;
    const char  *type;

    type = NULL;
    own = 0;

    dot = (u_char *) strrchr((char *) rc->path.data, '.');
    len = dot ? rc->path.data + rc->path.len - dot - 1 : 0;

    if (dot && len < sizeof(ext) - 1) {
        ngx_strlow(ext, dot + 1, len);
        ext[len] = '\0';

        if (rc->rt->content_types) {
            v = json_object_get(rc->rt->content_types, (char *) dot);
            if (v == NULL) {
                v = json_object_get(rc->rt->content_types, (char *) ext);
            }

            type = json_is_string(v) ? json_string_value(v) : NULL;
            own = (type != NULL);
        }

        for (i = 0; type == NULL && ngx_http_jpulse_types[i].ext; i++) {
            if (ngx_strcmp(ngx_http_jpulse_types[i].ext, ext) == 0) {
                type = ngx_http_jpulse_types[i].type;
            }
        }
    }

    if (type == NULL) {
        type = rc->raw ? "application/octet-stream"
                       : "text/plain; charset=utf-8";
    }

    t.data = (u_char *) type;
    t.len = ngx_strlen(type);

    if (own) {
        /* the config may change before the log phase reads the type */
        t.data = ngx_pstrdup(r->pool, &t);
        if (t.data == NULL) {
            return NGX_ERROR;
        }
    }

    ngx_http_jpulse_set_content_type(r, &t);

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_render_redirect(ngx_http_request_t *r, ngx_uint_t status,
    ngx_str_t *to)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Location");
    h->value = *to;

    ngx_http_clear_location(r);
    r->headers_out.location = h;

    return status;
}


ngx_int_t
ngx_http_jpulse_render_anonymous_who(ngx_http_request_t *r, ngx_str_t *lang,
    ngx_str_t *theme, ngx_uint_t *authenticated)
{
    ngx_str_null(lang);
    ngx_str_null(theme);
    *authenticated = 0;

    return NGX_OK;
}


json_t *
ngx_http_jpulse_render_anonymous(ngx_http_request_t *r)
{
    u_char             *p;
    json_t             *user;
    ngx_str_t           name, tz;

    static ngx_str_t    server_tz;
    static json_t      *server_user;

    if (server_tz.data == NULL) {
        /* the worker's environment does not change once it runs */
        ngx_http_jpulse_context_server_tz(&server_tz);
    }

    ngx_str_set(&name, "timezone");
    ngx_str_null(&tz);

    /* jPulse keeps what is between the first and the second '=' */
    if (ngx_http_parse_multi_header_lines(&r->headers_in.cookies, &name,
                                          &tz) != NGX_DECLINED
        && (p = ngx_strlchr(tz.data, tz.data + tz.len, '=')) != NULL)
    {
        tz.len = p - tz.data;
    }

    /* a reflected cookie: only what a zone name can look like */
    if (tz.data == NULL || tz.len == 0 || tz.len > 64) {
        tz = server_tz;
    }

    for (p = tz.data; p < tz.data + tz.len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '/' || *p == '_'
              || *p == '-' || *p == '+'))
        {
            tz = server_tz;
            break;
        }
    }

    /*
     * Without a timezone of its own, every anonymous request sees the same
     * user: one per worker, shared (templates never write to it).
     */
    if (tz.data == server_tz.data && server_user != NULL) {
        return json_incref(server_user);
    }

    user = json_pack("{ss ss ss ss ss ss ss s[] s{} sb sb s{} ss#}",
                     "id", "", "username", "", "firstName", "",
                     "nickName", "", "lastName", "", "email", "",
                     "initials", "?", "roles", "hasRole",
                     "isAuthenticated", 0, "isAdmin", 0,
                     "preferences", "timezone", (char *) tz.data,
                     (int) tz.len);

    if (user != NULL && tz.data == server_tz.data) {
        server_user = json_incref(user);
    }

    return user;
}
