/*
 * jpulse_render: jPulse's view routing and rendering (contract 5.1).
 *
 *   /            302 /home/, query kept
 *   /admin/...   302 to the error page, code 401 (anonymous) or 403
 *   /x           302 to the error page, code 404 (jPulse's rule 11):
 *                one segment is a view only as *.shtml, *.tmpl or
 *                /jpulse-*.js|css
 *   /x/          /x/index.shtml (controller.view.defaultTemplate)
 *   /ns/a/b      /ns/index.shtml when ns is a single-page app and the
 *                path does not end in .shtml
 *   raw types    .json and images (controller.view.rawExtensions): as is
 *   *.js, *.css  append mode: every root's file, then expanded
 *   anything else in the view tree: expanded
 *   missing      /error/index.shtml with status 404 and url.param.code/msg
 *   failing      302 to the error page, code 500
 *
 * A request that needs something from Redis parks while it is fetched
 * and then runs again from the top; everything else is served from L1
 * without a system call but the write.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <openssl/sha.h>

#include "jp_config.h"
#include "jp_tpl.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
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
static ngx_int_t ngx_http_jpulse_render_not_found(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_page(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, jp_tpl_program_t *prog);
static ngx_int_t ngx_http_jpulse_render_send(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, u_char *data, size_t len,
    int64_t mtime, ngx_uint_t copy);
static void ngx_http_jpulse_render_failed(ngx_http_jpulse_render_ctx_t *rc,
    jp_tpl_error_t *err);
static ngx_int_t ngx_http_jpulse_render_etag(ngx_http_request_t *r,
    size_t len, u_char *digest);
static ngx_int_t ngx_http_jpulse_render_found(ngx_http_request_t *r,
    u_char *to, size_t len);
static ngx_int_t ngx_http_jpulse_render_nowhere(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_nowhere_handler(
    ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_render_gate(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_failure(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, const char *error);
static ngx_int_t ngx_http_jpulse_render_spa(ngx_http_jpulse_render_ctx_t *rc);
static ngx_uint_t ngx_http_jpulse_render_one_segment_view(u_char *uri,
    size_t len);
static ngx_uint_t ngx_http_jpulse_render_cacheable(
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_uint_t ngx_http_jpulse_render_plannable(
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_int_t ngx_http_jpulse_render_plan_variant(ngx_http_request_t *r,
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


/* the anonymous user without a timezone cookie: one per worker, shared */
static json_t    *ngx_http_jpulse_render_server_user;

static ngx_str_t  ngx_http_jpulse_render_private =
    ngx_string("private, no-cache");


ngx_http_jpulse_who_pt   ngx_http_jpulse_render_who =
    ngx_http_jpulse_render_anonymous_who;
ngx_http_jpulse_user_pt  ngx_http_jpulse_render_user =
    ngx_http_jpulse_render_anonymous;


typedef struct {
    const char  *ext;
    const char  *type;
} ngx_http_jpulse_type_t;

/*
 * jPulse's controller.view.contentTypes (app.conf), under the config's own
 * map as jPulse merges the site's over the framework's. The charset of a
 * rendered file is Express's (ngx_http_jpulse_render_type).
 */
static ngx_http_jpulse_type_t  ngx_http_jpulse_types[] = {
    { "css", "text/css" },
    { "gif", "image/gif" },
    { "html", "text/html" },
    { "shtml", "text/html" },
    { "tmpl", "text/html" },
    { "ico", "image/x-icon" },
    { "jpg", "image/jpeg" },
    { "jpeg", "image/jpeg" },
    { "js", "application/javascript" },
    { "json", "application/json; charset=utf-8" },
    { "png", "image/png" },
    { "svg", "image/svg+xml; charset=utf-8" },
    { "webp", "image/webp" },
    { NULL, NULL }
};

static const char  *ngx_http_jpulse_raw_default[] = {
    "json", "gif", "ico", "jpg", "jpeg", "png", "webp", NULL
};


/* jpulse_render [not_found] */

char *
ngx_http_jpulse_render(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t  *jlcf = conf;

    ngx_str_t  *value;

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "not_found") != 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" in \"%V\"",
                               &value[1], &cmd->name);
            return NGX_CONF_ERROR;
        }

        return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                        NGX_HTTP_JPULSE_HANDLER_RENDER,
                                        ngx_http_jpulse_render_nowhere_handler);
    }

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

    /* jPulse's view rules are GET and HEAD: others fall to its not-found
     * redirect (it answers no 405) */
    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_RENDER) == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_jpulse_render_nowhere(r);
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

    /* a session's user not signed in still shows in user.* */
    rc->personal = ngx_http_jpulse_access_personal(r);

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

    if (ngx_http_jpulse_render_url_variant(r, rc) != NGX_OK
        || ngx_http_jpulse_render_plan_variant(r, rc) != NGX_OK)
    {
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
    u_char     *p, *last, *q;
    size_t      dlen;
    ngx_str_t   ext;

    if (r->uri.len == 1 && r->uri.data[0] == '/') {
        /* the query as sent, a bare "?" included */
        q = ngx_strlchr(r->unparsed_uri.data,
                        r->unparsed_uri.data + r->unparsed_uri.len, '?');

        ext.len = sizeof("/home/") - 1
                  + (q ? r->unparsed_uri.data + r->unparsed_uri.len - q : 0);
        ext.data = ngx_pnalloc(r->pool, ext.len);
        if (ext.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        p = ngx_cpymem(ext.data, "/home/", 6);

        if (q) {
            ngx_memcpy(p, q, r->unparsed_uri.data + r->unparsed_uri.len - q);
        }

        return ngx_http_jpulse_render_found(r, ext.data, ext.len);
    }

    if (!ngx_http_jpulse_render_one_segment_view(r->uri.data, r->uri.len)) {
        return ngx_http_jpulse_render_nowhere(r);
    }

    /* decided once the translations are there (the message) */
    rc->gate = (r->uri.len >= 7
                && ngx_strncmp(r->uri.data, "/admin/", 7) == 0);

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

    /*
     * Two segments or more, not ending in ".shtml" (after the default
     * template was added): the namespace's index when it is an SPA.
     */
    if (last != NULL
        && !(rc->path.len >= 6
             && ngx_strcmp(rc->path.data + rc->path.len - 6, ".shtml") == 0))
    {
        q = ngx_strlchr(rc->path.data, rc->path.data + rc->path.len, '/');

        rc->spa.len = q - rc->path.data + sizeof(NGX_HTTP_JPULSE_SPA_INDEX);
        rc->spa.data = ngx_pnalloc(r->pool, rc->spa.len + 1);
        if (rc->spa.data == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_sprintf(rc->spa.data, "%*s/" NGX_HTTP_JPULSE_SPA_INDEX "%Z",
                    (size_t) (q - rc->path.data), rc->path.data);
    }

    last = last ? last + 1 : rc->path.data;

    ext.data = (u_char *) strrchr((char *) last, '.');

    if (ext.data == NULL) {
        /* "a/b": a file without an extension, expanded */
        rc->raw = 0;
        rc->append = 0;
        return NGX_DECLINED;
    }

    ext.data++;
    ext.len = rc->path.data + rc->path.len - ext.data;

    rc->raw = ngx_http_jpulse_render_is_raw(rc, &ext);
    rc->append = !rc->raw && jp_tpl_disk_is_append((char *) rc->path.data);

    return NGX_DECLINED;
}


/*
 * A path of one segment reaches jPulse's view controller only as rule 5
 * ("*.shtml", "*.tmpl", case-sensitive), rule 6 ("/jpulse-" and ".js" or
 * ".css") or rule 8 ("/name/"); any other, "/home" included, falls to its
 * static files and then to the not-found redirect. Longer paths are
 * views where nginx sends them to jpulse_render (see nginx.conf.example).
 */

static ngx_uint_t
ngx_http_jpulse_render_one_segment_view(u_char *uri, size_t len)
{
    u_char  *end;

    if (len < 2 || uri[0] != '/') {
        return 1;
    }

    end = uri + len;

    if (ngx_strlchr(uri + 1, end - 1, '/') != NULL || end[-1] == '/') {
        return 1;
    }

    if ((len > 6 && ngx_strncmp(end - 6, ".shtml", 6) == 0)
        || (len > 5 && ngx_strncmp(end - 5, ".tmpl", 5) == 0))
    {
        return 1;
    }

    return len > 8 && ngx_strncmp(uri, "/jpulse-", 8) == 0
           && ((len >= 11 && ngx_strncmp(end - 3, ".js", 3) == 0)
               || (len >= 12 && ngx_strncmp(end - 4, ".css", 4) == 0));
}


/*
 * NGX_OK when rc->path is settled: the SPA's index in its place when its
 * namespace is one. NGX_AGAIN: it must be fetched first.
 */

static ngx_int_t
ngx_http_jpulse_render_spa(ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_http_jpulse_tentry_t  *e;

    if (rc->spa.len == 0) {
        return NGX_OK;
    }

    e = ngx_http_jpulse_lookup(rc, NGX_HTTP_JPULSE_T_PAGE, rc->spa.data,
                               rc->spa.len, 0);

    if (rc->needs->nelts) {
        return NGX_AGAIN;
    }

    /* an index that does not compile is no SPA to ask: the path is */
    rc->broken = 0;

    if (e != NULL && e->value != NULL && e->spa) {
        rc->path = rc->spa;
        rc->raw = 0;
        rc->append = 0;
    }

    ngx_str_null(&rc->spa);

    return NGX_OK;
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

    if (rc->needs->nelts == 0 && rc->gate) {
        rc2 = ngx_http_jpulse_render_gate(r, rc);
        if (rc2 != NGX_DECLINED) {
            return rc2;
        }

        /* an admin: the page renders (not asked again after a wait) */
        rc->gate = 0;
    }

    if (rc->needs->nelts == 0
        && ngx_http_jpulse_render_spa(rc) == NGX_AGAIN)
    {
        goto fetch;
    }

    if (rc->needs->nelts == 0 && ngx_http_jpulse_render_cacheable(rc)) {
        e = ngx_http_jpulse_render_output(rc);

        if (e != NULL) {
            rc->digest = e->digest ? (u_char *) e->value + e->len : NULL;
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

    if (e == NULL && rc->broken) {
        return ngx_http_jpulse_render_failure(r, rc,
                                              "the page does not compile");
    }

    if (e != NULL && e->value == NULL && e->dir && !rc->not_found) {
        return ngx_http_jpulse_render_failure(r, rc,
                            "EISDIR: illegal operation on a directory, read");
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
        rc->digest = e->digest ? (u_char *) e->value + e->len : NULL;
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
    unsigned                   uses, flags;
    ngx_int_t                  rc2;
    ngx_uint_t                 cacheable, plannable;
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
    plannable = rc2 == NGX_OK && ngx_http_jpulse_render_plannable(rc);
    pe = plannable ? ngx_http_jpulse_render_plan(rc, prog) : NULL;

    /*
     * The context holds the request's data only under ctx.url, and the
     * session's user under ctx.user: every read of it is a use then.
     */
    flags = JP_TPL_URL_TOP_ONLY;

    if (rc->authenticated || rc->personal) {
        flags |= JP_TPL_USER_DYNAMIC;
    }

    if (pe != NULL) {
        rc2 = jp_tpl_render_plan(pe->value, rc->context, &rc->host, &limits,
                                 flags, &out, &err, &uses);

        if (rc2 == JP_TPL_PLAN_DIVERGED) {
            /* this request goes where the recording did not */
            rc2 = jp_tpl_render_uses(prog, rc->context, &rc->host, &limits,
                                     flags, &out, &err, &uses);
        }

    } else if (plannable) {
        rc2 = jp_tpl_render_record(prog, rc->context, &rc->host, &limits,
                                   flags, &out, &err, &uses, &plan);

    } else {
        rc2 = jp_tpl_render_uses(prog, rc->context, &rc->host, &limits,
                                 flags, &out, &err, &uses);
    }

    if (rc2 != 0) {
        jp_tpl_buf_free(&out);

        ngx_http_jpulse_render_failed(rc, &err);

        return ngx_http_jpulse_render_failure(r, rc, err.message);
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
    return !rc->authenticated && !rc->personal
           && ngx_http_jpulse_render_plannable(rc);
}


/*
 * A plan is kept for signed-in users too: what differs between two of
 * them is under ctx.user, rendered again (JP_TPL_USER_DYNAMIC); what
 * differs by auth class only (the filtered appConfig and siteConfig) is
 * in the plan's key (rc->plan_variant).
 */

static ngx_uint_t
ngx_http_jpulse_render_plannable(ngx_http_jpulse_render_ctx_t *rc)
{
    return !rc->raw && rc->status == NGX_HTTP_OK
           && rc->rt->view->check_interval > 0;
}


/*
 * "lang theme", "lang theme +u" (signed in: withAuth) or "lang theme +p"
 * (a session's user not signed in, with the anonymous filter): a plan
 * recorded for an anonymous visitor holds user.* as bytes, and one
 * recorded for a signed-in user holds what the filter shows only them.
 * Neither a language nor a theme has a space or a '+'.
 */

static ngx_int_t
ngx_http_jpulse_render_plan_variant(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    u_char  *p;

    if (!rc->authenticated && !rc->personal) {
        rc->plan_variant = rc->variant;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, rc->variant.len + sizeof(" +u") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    rc->plan_variant.data = p;
    p = ngx_cpymem(p, rc->variant.data, rc->variant.len);
    p = ngx_cpymem(p, rc->authenticated ? " +u" : " +p", sizeof(" +u") - 1);
    rc->plan_variant.len = p - rc->plan_variant.data;

    return NGX_OK;
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

    /* the ETag's digest, computed once, follows the bytes */
    copy = ngx_alloc(out->len + NGX_HTTP_JPULSE_DIGEST_LEN,
                     rc->request->connection->log);
    if (copy == NULL) {
        return;
    }

    /* an empty page has no buffer at all */
    if (out->len) {
        ngx_memcpy(copy, out->data, out->len);
    }

    ngx_http_jpulse_render_digest(copy, out->len, copy + out->len);

    e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_OUTPUT,
                                   variant, rc->path.data, rc->path.len);
    if (e == NULL) {
        ngx_free(copy);
        return;
    }

    ngx_http_jpulse_render_stamp(rc, e);
    e->digest = 1;
    rc->digest = copy + out->len;

    ngx_http_jpulse_tcache_set(&rt->cache, e, copy, out->len,
                               out->len + NGX_HTTP_JPULSE_DIGEST_LEN);
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
                                    &rc->plan_variant, rc->path.data,
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
                                   &rc->plan_variant, rc->path.data,
                                   rc->path.len);
    if (e == NULL) {
        jp_tpl_plan_free(plan);
        return;
    }

    ngx_http_jpulse_render_stamp(rc, e);

    ngx_http_jpulse_tcache_set(&rt->cache, e, plan, 0, size);
}


/*
 * Every answer gets Express's weak ETag of its bytes (a raw file's and a
 * kept page's digest was computed once, rc->digest), so nginx's
 * not_modified filter answers If-None-Match on a 200 with 304, as Express
 * does. No Last-Modified, as jPulse sends none: for a raw file it would
 * be the time of the file found first, and a file that comes to shadow it
 * with an older time would pass If-Modified-Since as unchanged. mtime >= 0:
 * a raw file, which takes ranges; else a page, which gets the configured
 * Cache-Control. copy: data belongs to the cache, which may replace it
 * before a slow client has it all.
 */

static ngx_int_t
ngx_http_jpulse_render_send(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, u_char *data, size_t len,
    int64_t mtime, ngx_uint_t copy)
{
    u_char                       *p, digest[NGX_HTTP_JPULSE_DIGEST_LEN];
    size_t                       bytes;
    ngx_int_t                    rc2;
    ngx_buf_t                   *b;
    ngx_str_t                   *cc;
    ngx_chain_t                  out;
    ngx_http_core_loc_conf_t    *clcf;
    ngx_http_jpulse_loc_conf_t  *jlcf;

    ngx_http_jpulse_view_totals((ngx_cycle_t *) ngx_cycle, &bytes,
                                &(ngx_uint_t) { 0 }, NULL);
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_CACHE_BYTES, bytes);

    r->headers_out.status = rc->status;
    r->headers_out.content_length_n = len;

    if (ngx_http_jpulse_render_type(r, rc) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    /* the SHA-1 of a 10 KB page costs about what serving it does */
    if (rc->digest == NULL && clcf->etag) {
        ngx_http_jpulse_render_digest(data, len, digest);
        rc->digest = digest;
    }

    rc2 = ngx_http_jpulse_render_etag(r, len, rc->digest);

    /* it may point into an entry that the next round replaces */
    rc->digest = NULL;

    if (rc2 != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (mtime >= 0) {
        r->allow_ranges = 1;

    } else {
        jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

        cc = &jlcf->cache_control;

        /* a page made for one user: no shared cache may keep it */
        if ((rc->authenticated || rc->personal)
            && rc->status < NGX_HTTP_BAD_REQUEST)
        {
            cc = &ngx_http_jpulse_render_private;
        }

        /* like expires: a 404 kept by a shared cache outlives the fix */
        if (cc->len && rc->status < NGX_HTTP_BAD_REQUEST
            && ngx_http_jpulse_cache_control(r, cc) != NGX_OK)
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
 * The type of the file served (the SPA index or the error page, not the
 * name asked for), by its last extension in lower case: the config's map,
 * else jPulse's; unlisted, text/html for a rendered file and
 * application/octet-stream for a raw one. Express sends a rendered file,
 * a string, with "charset=utf-8" in place of any charset the type names;
 * a raw file goes with its type as it is.
 */

static ngx_int_t
ngx_http_jpulse_render_type(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    u_char      *dot, *p, *q, *end, ext[18];
    size_t       len;
    json_t      *v;
    ngx_str_t    t;
    ngx_uint_t   i;
    const char  *type;

    type = NULL;

    dot = (u_char *) strrchr((char *) rc->path.data, '.');
    len = dot ? rc->path.data + rc->path.len - dot : 0;

    if (dot && ngx_strlchr(dot, dot + len, '/') == NULL
        && len < sizeof(ext) - 1)
    {
        /* ".ext" */
        ngx_strlow(ext, dot, len);
        ext[len] = '\0';

        if (rc->rt->content_types) {
            v = json_object_get(rc->rt->content_types, (char *) ext);
            if (v == NULL) {
                v = json_object_get(rc->rt->content_types, (char *) ext + 1);
            }

            type = json_is_string(v) ? json_string_value(v) : NULL;

            /*
             * Redis's app config is an input: a type with a control
             * character (CR LF would start a header of its own, Node
             * refuses to send it) is taken as unlisted.
             */
            for (p = (u_char *) type; p != NULL && *p; p++) {
                if (*p < 0x20 || *p == 0x7f) {
                    type = NULL;
                    break;
                }
            }
        }

        for (i = 0; type == NULL && ngx_http_jpulse_types[i].ext; i++) {
            if (ngx_strcmp(ngx_http_jpulse_types[i].ext, ext + 1) == 0) {
                type = ngx_http_jpulse_types[i].type;
            }
        }
    }

    if (type == NULL) {
        type = rc->raw ? "application/octet-stream" : "text/html";
    }

    len = ngx_strlen(type);

    /*
     * A copy: the config may change before the log phase reads it. Each
     * parameter is written after "; ", one byte more than a bare ';'.
     */
    t.data = ngx_pnalloc(r->pool, 2 * len + sizeof("; charset=utf-8"));
    if (t.data == NULL) {
        return NGX_ERROR;
    }

    if (rc->raw) {
        t.len = ngx_cpymem(t.data, type, len) - t.data;
        ngx_http_jpulse_set_content_type(r, &t);
        return NGX_OK;
    }

    /* the parameters but charset, then charset=utf-8 */
    end = (u_char *) type + len;
    q = ngx_strlchr((u_char *) type, end, ';');
    p = ngx_cpymem(t.data, type, (q ? q : end) - (u_char *) type);

    while (p > t.data && p[-1] == ' ') {
        p--;
    }

    while (q != NULL) {
        dot = q + 1;
        q = ngx_strlchr(dot, end, ';');

        while (dot < (q ? q : end) && *dot == ' ') {
            dot++;
        }

        if (dot == (q ? q : end)
            || ((q ? q : end) - dot >= 8
                && ngx_strncasecmp(dot, (u_char *) "charset=", 8) == 0))
        {
            continue;
        }

        p = ngx_cpymem(p, "; ", 2);
        p = ngx_cpymem(p, dot, (q ? q : end) - dot);
    }

    p = ngx_cpymem(p, "; charset=utf-8", sizeof("; charset=utf-8") - 1);
    t.len = p - t.data;

    ngx_http_jpulse_set_content_type(r, &t);

    return NGX_OK;
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


void
ngx_http_jpulse_render_exit_process(ngx_cycle_t *cycle)
{
    json_decref(ngx_http_jpulse_render_server_user);
    ngx_http_jpulse_render_server_user = NULL;
}


json_t *
ngx_http_jpulse_render_anonymous(ngx_http_request_t *r)
{
    u_char             *p;
    json_t             *user;
    ngx_str_t           name, tz;

    static ngx_str_t    server_tz;

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
    if (tz.data == server_tz.data
        && ngx_http_jpulse_render_server_user != NULL)
    {
        return json_incref(ngx_http_jpulse_render_server_user);
    }

    user = json_pack("{ss ss ss ss ss ss ss s[] s{} sb sb s{} ss#}",
                     "id", "", "username", "", "firstName", "",
                     "nickName", "", "lastName", "", "email", "",
                     "initials", "?", "roles", "hasRole",
                     "isAuthenticated", 0, "isAdmin", 0,
                     "preferences", "timezone", (char *) tz.data,
                     (int) tz.len);

    if (user != NULL && tz.data == server_tz.data) {
        ngx_http_jpulse_render_server_user = json_incref(user);
    }

    return user;
}


/*
 * Routing and the response side (issue 12): jPulse's redirects, its
 * access rule for /admin/, its content types and Express's weak ETag.
 */


/*
 * Express's weak ETag: W/"<length hex>-<27 of base64(SHA-1(body))>".
 * OpenSSL's SHA-1 (the libcrypto nginx itself links): a page rendered
 * per request is hashed on every response, and nginx's portable
 * ngx_sha1 took 5x the render's own time on a 10 KB page.
 */

void
ngx_http_jpulse_render_digest(u_char *data, size_t len, u_char *out)
{
    u_char       sha[SHA_DIGEST_LENGTH], b64[32];
    ngx_str_t    src, dst;

    SHA1(data, len, sha);

    src.data = sha;
    src.len = sizeof(sha);
    dst.data = b64;

    ngx_encode_base64(&dst, &src);

    ngx_memcpy(out, b64, NGX_HTTP_JPULSE_DIGEST_LEN);
}


static ngx_int_t
ngx_http_jpulse_render_etag(ngx_http_request_t *r, size_t len,
    u_char *digest)
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

    etag->value.data = ngx_pnalloc(r->pool, sizeof("W/\"-\"") - 1
                                            + NGX_OFF_T_LEN
                                            + NGX_HTTP_JPULSE_DIGEST_LEN);
    if (etag->value.data == NULL) {
        etag->hash = 0;
        return NGX_ERROR;
    }

    etag->value.len = ngx_sprintf(etag->value.data, "W/\"%xz-%*s\"", len,
                                  (size_t) NGX_HTTP_JPULSE_DIGEST_LEN,
                                  digest)
                      - etag->value.data;

    r->headers_out.etag = etag;

    return NGX_OK;
}


/*
 * Express's encodeurl() of a Location: what may not stand in a URL is
 * percent-encoded, a valid %XX escape is left alone.
 */

static ngx_uint_t
ngx_http_jpulse_render_url_safe(u_char c)
{
    return c == 0x21 || (c >= 0x26 && c <= 0x3b) || c == 0x3d
           || (c >= 0x3f && c <= 0x5b) || c == 0x5d || c == 0x5f
           || (c >= 0x61 && c <= 0x7a) || c == 0x7e;
}


static ngx_uint_t
ngx_http_jpulse_render_hex(u_char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}


static u_char *
ngx_http_jpulse_render_encodeurl(u_char *dst, u_char *src, size_t len)
{
    u_char   *end;

    static u_char  hex[] = "0123456789ABCDEF";

    for (end = src + len; src < end; src++) {
        if (ngx_http_jpulse_render_url_safe(*src)
            || (*src == '%' && end - src > 2
                && ngx_http_jpulse_render_hex(src[1])
                && ngx_http_jpulse_render_hex(src[2])))
        {
            *dst++ = *src;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src & 0xf];
    }

    return dst;
}


/* encodeURIComponent(): all but A-Z a-z 0-9 - _ . ! ~ * ' ( ) */

static u_char *
ngx_http_jpulse_render_component(u_char *dst, u_char *src, size_t len)
{
    u_char   *end;

    static u_char  hex[] = "0123456789ABCDEF";

    for (end = src + len; src < end; src++) {
        if ((*src >= '0' && *src <= '9') || (*src >= 'A' && *src <= 'Z')
            || (*src >= 'a' && *src <= 'z')
            || ngx_strlchr((u_char *) "-_.!~*'()",
                           (u_char *) "-_.!~*'()" + 9, *src))
        {
            *dst++ = *src;
            continue;
        }

        *dst++ = '%';
        *dst++ = hex[*src >> 4];
        *dst++ = hex[*src & 0xf];
    }

    return dst;
}


/*
 * Which body Express's res.redirect() sends: it negotiates text/plain
 * (first) and text/html on Accept as the negotiator package does (the
 * highest q, then the most specific range, then the earlier range, then
 * text/plain). 0: text, 1: html, 2: neither (an empty body).
 */

static ngx_uint_t
ngx_http_jpulse_render_accepts(ngx_http_request_t *r)
{
    u_char           *p, *end, *range, *range_end, *slash, *q;
    ngx_int_t         qv, best_q[2], best_s[2], best_o[2], s, o, w;
    ngx_str_t        *accept;
    ngx_uint_t        i, n, k;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    static ngx_str_t  sub[2] = { ngx_string("plain"), ngx_string("html") };

    /* the first Accept, as Node gives it when it is sent once */
    accept = NULL;
    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; accept == NULL; i++) {
        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == 6
            && ngx_strncasecmp(h[i].key.data, (u_char *) "Accept", 6) == 0)
        {
            accept = &h[i].value;
        }
    }

    if (accept == NULL) {
        return 0;
    }

    for (i = 0; i < 2; i++) {
        best_q[i] = -1;
        best_s[i] = -1;
        best_o[i] = 0;
    }

    p = accept->data;
    end = p + accept->len;

    for (o = 0, n = 0; p < end && n < 64; o++, n++) {
        while (p < end && (*p == ' ' || *p == ',')) {
            p++;
        }

        range = p;
        while (p < end && *p != ',') {
            p++;
        }

        range_end = p;

        q = ngx_strlchr(range, range_end, ';');
        slash = ngx_strlchr(range, q ? q : range_end, '/');

        if (slash == NULL) {
            continue;
        }

        /* q=, in thousandths */
        qv = 1000;

        while (q != NULL) {
            q++;
            while (q < range_end && *q == ' ') {
                q++;
            }

            if (range_end - q >= 2 && (q[0] == 'q' || q[0] == 'Q')
                && q[1] == '=')
            {
                qv = 0;
                w = 1000;
                k = 0;

                for (q += 2;
                     q < range_end && ((*q >= '0' && *q <= '9') || *q == '.');
                     q++)
                {
                    if (*q == '.') {
                        k = 1;
                        continue;
                    }

                    if (k == 0) {
                        qv = qv * 10 + (*q - '0') * 1000;

                    } else if (w > 1) {
                        w /= 10;
                        qv += (*q - '0') * w;
                    }

                    if (qv > 1000) {
                        qv = 1000;
                    }
                }
            }

            q = ngx_strlchr(q, range_end, ';');
        }

        for (i = 0; i < 2; i++) {
            s = 0;

            if (slash - range == 4 && ngx_strncasecmp(range, (u_char *) "text",
                                                      4) == 0)
            {
                s |= 4;

            } else if (!(slash - range == 1 && *range == '*')) {
                continue;
            }

            for (p = slash + 1; p < range_end && *p != ';' && *p != ' '; p++)
            {
                /* void */
            }

            if ((size_t) (p - slash - 1) == sub[i].len
                && ngx_strncasecmp(slash + 1, sub[i].data, sub[i].len) == 0)
            {
                s |= 2;

            } else if (!(p - slash - 1 == 1 && slash[1] == '*')) {
                continue;
            }

            if (s > best_s[i] || (s == best_s[i] && qv > best_q[i])) {
                best_s[i] = s;
                best_q[i] = qv;
                best_o[i] = o;
            }
        }

        p = range_end;
    }

    for (i = 0; i < 2; i++) {
        if (best_s[i] < 0 || best_q[i] <= 0) {
            best_q[i] = -1;
        }
    }

    if (best_q[0] < 0 && best_q[1] < 0) {
        return 2;
    }

    if (best_q[0] != best_q[1]) {
        return best_q[1] > best_q[0];
    }

    if (best_s[0] != best_s[1]) {
        return best_s[1] > best_s[0];
    }

    return best_o[1] < best_o[0];
}


/*
 * jPulse's redirects (Express's res.redirect()): "302 Found", the target
 * as given (relative: nginx's absolute_redirect does not apply), encoded
 * by encodeurl(), "Vary: Accept" and a short body in the negotiated type.
 */

static ngx_int_t
ngx_http_jpulse_render_found(ngx_http_request_t *r, u_char *to, size_t len)
{
    u_char           *loc, *p, *body;
    size_t            n, i;
    ngx_int_t         rc;
    ngx_buf_t        *b;
    ngx_str_t         type;
    ngx_uint_t        which;
    ngx_chain_t       out;
    ngx_table_elt_t  *h;

    loc = ngx_pnalloc(r->pool, 3 * len + 1);
    if (loc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    n = ngx_http_jpulse_render_encodeurl(loc, to, len) - loc;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* not headers_out.location, which nginx would make absolute */
    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Location");
    h->value.data = loc;
    h->value.len = n;

    ngx_http_clear_location(r);

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Vary");
    ngx_str_set(&h->value, "Accept");

    which = ngx_http_jpulse_render_accepts(r);

    /* the HTML body escapes as escape-html does: & < > " ' */
    body = ngx_pnalloc(r->pool, sizeof("<p>Found. Redirecting to </p>")
                                + 5 * n);
    if (body == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = body;

    if (which == 0) {
        p = ngx_cpymem(p, "Found. Redirecting to ", 22);
        p = ngx_cpymem(p, loc, n);
        ngx_str_set(&type, "text/plain; charset=utf-8");

    } else if (which == 1) {
        p = ngx_cpymem(p, "<p>Found. Redirecting to ", 25);

        for (i = 0; i < n; i++) {
            switch (loc[i]) {
            case '&':
                p = ngx_cpymem(p, "&amp;", 5);
                break;
            case '<':
                p = ngx_cpymem(p, "&lt;", 4);
                break;
            case '>':
                p = ngx_cpymem(p, "&gt;", 4);
                break;
            case '"':
                p = ngx_cpymem(p, "&quot;", 6);
                break;
            case '\'':
                p = ngx_cpymem(p, "&#39;", 5);
                break;
            default:
                *p++ = loc[i];
            }
        }

        p = ngx_cpymem(p, "</p>", 4);
        ngx_str_set(&type, "text/html; charset=utf-8");

    } else {
        ngx_str_null(&type);
    }

    r->headers_out.status = NGX_HTTP_MOVED_TEMPORARILY;
    ngx_str_set(&r->headers_out.status_line, "302 Found");
    r->headers_out.content_length_n = p - body;

    if (type.len) {
        ngx_http_jpulse_set_content_type(r, &type);
    }

    if (r->method == NGX_HTTP_HEAD || p == body) {
        r->header_only = 1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = body;
    b->last = p;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* "/error/index.shtml?msg=<encodeURIComponent(msg)>&code=<code>" */

ngx_int_t
ngx_http_jpulse_error_redirect(ngx_http_request_t *r,
    const char *code, ngx_str_t *msg)
{
    u_char  *to, *p;

    to = ngx_pnalloc(r->pool, sizeof("/error/index.shtml?msg=&code=")
                              + 3 * msg->len + ngx_strlen(code));
    if (to == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(to, "/error/index.shtml?msg=", 23);
    p = ngx_http_jpulse_render_component(p, msg->data, msg->len);
    p = ngx_cpymem(p, "&code=", 6);
    p = ngx_cpymem(p, code, ngx_strlen(code));

    return ngx_http_jpulse_render_found(r, to, p - to);
}


/*
 * Rule 11 (nothing serves the URL): "Page not found: " and the URL as the
 * client sent it, query included, untranslated.
 */

static ngx_int_t
ngx_http_jpulse_render_nowhere(ngx_http_request_t *r)
{
    u_char     *p;
    ngx_str_t   msg;

    msg.len = sizeof("Page not found: ") - 1 + r->unparsed_uri.len;
    msg.data = ngx_pnalloc(r->pool, msg.len);
    if (msg.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(msg.data, "Page not found: ", 16);
    ngx_memcpy(p, r->unparsed_uri.data, r->unparsed_uri.len);

    return ngx_http_jpulse_error_redirect(r, "404", &msg);
}


/* jpulse_render not_found: the fallback of the static locations */

static ngx_int_t
ngx_http_jpulse_render_nowhere_handler(ngx_http_request_t *r)
{
    ngx_int_t  rc;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* counted with the renders */
    if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_RENDER) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_render_nowhere(r);
}


/*
 * i18n.translate(): the text at key in the user's translations with
 * "{{name}}" replaced by value, else the English text jPulse ships.
 */

ngx_int_t
ngx_http_jpulse_render_translate(ngx_http_jpulse_render_ctx_t *rc,
    const char *key, const char *english, const char *name,
    ngx_str_t *value, ngx_str_t *out)
{
    u_char      *p, *s, *end;
    json_t      *t;
    size_t       slen, nlen, count;
    const char  *text;

    t = rc->i18n ? jp_config_get(rc->i18n, key) : NULL;
    text = json_is_string(t) ? json_string_value(t) : english;

    s = (u_char *) text;
    slen = ngx_strlen(s);
    end = s + slen;
    nlen = name ? ngx_strlen(name) : 0;

    /* at most one value per "{{name}}" that fits in the text */
    count = name ? slen / (nlen + 4) + 1 : 0;

    out->data = ngx_pnalloc(rc->request->pool,
                            slen + count * (value ? value->len : 0) + 1);
    if (out->data == NULL) {
        return NGX_ERROR;
    }

    p = out->data;

    while (s < end) {
        if (name && end - s >= (ssize_t) (nlen + 4) && s[0] == '{'
            && s[1] == '{' && ngx_strncmp(s + 2, name, nlen) == 0
            && s[2 + nlen] == '}' && s[3 + nlen] == '}')
        {
            p = ngx_cpymem(p, value->data, value->len);
            s += nlen + 4;
            continue;
        }

        *p++ = *s++;
    }

    out->len = p - out->data;

    return NGX_OK;
}


/*
 * jPulse's one access rule on views: any GET or HEAD under /admin/ needs
 * a signed-in admin. Anonymous: 401, else without an admin role 403,
 * each as a redirect to the error page. ngx_http_jpulse_access.c
 * installs the check (a signed-in user without an admin role).
 */

static ngx_uint_t
ngx_http_jpulse_render_not_admin(ngx_http_request_t *r)
{
    return 1;
}


ngx_http_jpulse_admin_pt  ngx_http_jpulse_render_admin_check =
    ngx_http_jpulse_render_not_admin;


static ngx_int_t
ngx_http_jpulse_render_gate(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_str_t  msg, roles;

    if (!rc->authenticated) {
        if (ngx_http_jpulse_render_translate(rc,
                "controller.auth.authenticationRequired",
                "Authentication required", NULL, NULL, &msg)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_jpulse_error_redirect(r, "401", &msg);
    }

    if (ngx_http_jpulse_render_admin_check(r)) {
        /* the effective admin roles: siteConfig's, else admin, root */
        if (ngx_http_jpulse_access_admin_list(r->pool, &roles) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_jpulse_render_translate(rc, "controller.auth.roleRequired",
                "Insufficient privileges. Required roles: {{roles}}",
                "roles", &roles, &msg)
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_jpulse_error_redirect(r, "403", &msg);
    }

    return NGX_DECLINED;
}


/* an exception in jPulse's view controller: the 500 redirect */

static ngx_int_t
ngx_http_jpulse_render_failure(ngx_http_request_t *r,
    ngx_http_jpulse_render_ctx_t *rc, const char *error)
{
    ngx_str_t  msg, e;

    /* the error page itself fails: no redirect to it again */
    if (rc->not_found
        || (rc->path.len == sizeof(NGX_HTTP_JPULSE_ERROR_PAGE) - 1
            && ngx_strncmp(rc->path.data, NGX_HTTP_JPULSE_ERROR_PAGE,
                           rc->path.len) == 0))
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    e.data = (u_char *) error;
    e.len = ngx_strlen(error);

    if (ngx_http_jpulse_render_translate(rc,
            "controller.view.internalServerError",
            "Internal server error: {{error}}", "error", &e, &msg)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_error_redirect(r, "500", &msg);
}
