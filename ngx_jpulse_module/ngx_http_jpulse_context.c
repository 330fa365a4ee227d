/*
 * Per-request context (see ngx_http_jpulse_context.h). What does not
 * change between requests (app, appConfig per language, theme and
 * signed-in state, siteConfig) is shared by reference; the template
 * engine never writes to its context.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_query.h"
#include "ngx_http_jpulse_context.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_render.h"


#define NGX_HTTP_JPULSE_PARAMS_MAX  64

/* request bytes as a JSON string, U+FFFD where they are not UTF-8 */
#define ngx_http_jpulse_str(p, len)                                          \
    jp_json_string_lossy((char *) (p), len)


static json_t *ngx_http_jpulse_context_config(
    ngx_http_jpulse_render_ctx_t *rc);
static json_t *ngx_http_jpulse_context_config_new(
    ngx_http_jpulse_render_ctx_t *rc);
static json_t *ngx_http_jpulse_context_url(ngx_http_request_t *r,
    const char *code, ngx_str_t *msg);


/* the parts every context has alike: one per worker, shared */
static json_t  *ngx_http_jpulse_context_empty;
static json_t  *ngx_http_jpulse_context_cluster[2];


ngx_int_t
ngx_http_jpulse_context(ngx_http_jpulse_render_ctx_t *rc, const char *code,
    ngx_str_t *msg)
{
    json_t      *ctx, *app, *site, **cluster;
    ngx_uint_t   ready;

    if (rc->user == NULL) {
        /* a request that parked keeps it for the next round */
        rc->user = ngx_http_jpulse_render_user(rc->request);
        if (rc->user == NULL) {
            return NGX_ERROR;
        }
    }

    ready = ngx_http_jpulse_redis_ready() ? 1 : 0;
    cluster = &ngx_http_jpulse_context_cluster[ready];

    if (*cluster == NULL) {
        *cluster = json_pack("{sb}", "available", (int) ready);
    }

    if (ngx_http_jpulse_context_empty == NULL) {
        ngx_http_jpulse_context_empty = json_object();
    }

    if (*cluster == NULL || ngx_http_jpulse_context_empty == NULL) {
        return NGX_ERROR;
    }

    ctx = json_object();
    if (ctx == NULL) {
        return NGX_ERROR;
    }

    app = json_object_get(rc->rt->effective, "app");
    site = ngx_http_jpulse_l2_site_config();

    if (json_object_set_new(ctx, "app", app ? json_incref(app)
                                            : json_object()) != 0
        || json_object_set_new(ctx, "appConfig",
                               ngx_http_jpulse_context_config(rc)) != 0
        || json_object_set_new(ctx, "siteConfig", site ? json_incref(site)
                                                       : json_object()) != 0
        || json_object_set_new(ctx, "url",
                               ngx_http_jpulse_context_url(rc->request, code,
                                                           msg)) != 0
        || json_object_set(ctx, "user", rc->user) != 0
        || json_object_set_new(ctx, "i18n", rc->i18n ? json_incref(rc->i18n)
                                                     : json_object()) != 0
        || json_object_set(ctx, "vars", ngx_http_jpulse_context_empty) != 0
        || json_object_set(ctx, "components", ngx_http_jpulse_context_empty)
           != 0
        || json_object_set(ctx, "appCluster", *cluster) != 0)
    {
        json_decref(ctx);
        return NGX_ERROR;
    }

    json_decref(rc->context);
    rc->context = ctx;

    return NGX_OK;
}


/* the filtered config as this request's variant sees it (a reference) */

static json_t *
ngx_http_jpulse_context_config(ngx_http_jpulse_render_ctx_t *rc)
{
    json_t                       *config;
    ngx_uint_t                    i;
    ngx_http_jpulse_view_rt_t    *rt;
    ngx_http_jpulse_appconfig_t  *ac;

    rt = rc->rt;

    for (i = 0; i < NGX_HTTP_JPULSE_APPCONFIGS; i++) {
        ac = &rt->appconfigs[i];

        if (ac->config != NULL
            && ac->version == rt->config_version
            && ac->authenticated == rc->authenticated
            && ac->len == rc->variant.len
            && ngx_memcmp(ac->variant, rc->variant.data, ac->len) == 0)
        {
            return json_incref(ac->config);
        }
    }

    config = ngx_http_jpulse_context_config_new(rc);

    if (config == NULL || rc->variant.len > NGX_HTTP_JPULSE_APPCONFIG_KEY) {
        return config;
    }

    /* a few variants are common; the oldest slot makes room */
    ac = &rt->appconfigs[rt->appconfig_next++ % NGX_HTTP_JPULSE_APPCONFIGS];

    json_decref(ac->config);

    ac->config = json_incref(config);
    ac->version = rt->config_version;
    ac->authenticated = rc->authenticated;
    ac->len = rc->variant.len;
    ngx_memcpy(ac->variant, rc->variant.data, rc->variant.len);

    return config;
}


/* a copy of the filtered config with a system object of its own */

static json_t *
ngx_http_jpulse_context_config_new(ngx_http_jpulse_render_ctx_t *rc)
{
    u_char   buf[256], *p;
    json_t  *config, *system;

    config = json_copy(rc->authenticated ? rc->rt->auth_config
                                         : rc->rt->anon_config);
    if (config == NULL) {
        return NULL;
    }

    system = json_object_get(config, "system");
    system = json_is_object(system) ? json_copy(system) : json_object();

    if (system == NULL) {
        json_decref(config);
        return NULL;
    }

    p = ngx_snprintf(buf, sizeof(buf), "lang=\"%V\" data-theme=\"%V\"",
                     &rc->lang, &rc->theme);

    if (json_object_set_new(system, "htmlAttrs",
                            json_stringn((char *) buf, p - buf)) != 0
        || (json_object_get(system, "defaultTheme") == NULL
            && json_object_set_new(system, "defaultTheme",
                                   json_string(rc->rt->default_theme)) != 0)
        || (json_object_get(system, "colorScheme") == NULL
            && json_object_set_new(system, "colorScheme",
                   json_string(rc->theme.len == 4
                               && ngx_strncmp(rc->theme.data, "dark", 4) == 0
                               ? "dark" : "light")) != 0)
        || json_object_set_new(config, "system", system) != 0)
    {
        json_decref(config);
        return NULL;
    }

    return config;
}


/* url.{domain,protocol,hostname,port,pathname,search,param} */

static json_t *
ngx_http_jpulse_context_url(ngx_http_request_t *r, const char *code,
    ngx_str_t *msg)
{
    u_char     *p, *colon, *search;
    size_t      len;
    json_t     *url, *param;
    ngx_str_t   host, port, proto, path;

    proto.data = (u_char *) "http";
    proto.len = 4;

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        proto.data = (u_char *) "https";
        proto.len = 5;
    }
#endif

    host.len = 0;
    host.data = NULL;
    ngx_str_null(&port);

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

        /* "[::1]:8443": the port follows the bracket */
        colon = host.data[0] == '['
                ? ngx_strlchr(host.data, host.data + host.len, ']')
                : host.data;
        colon = colon ? ngx_strlchr(colon, host.data + host.len, ':') : NULL;

        if (colon) {
            port.data = colon + 1;
            port.len = host.data + host.len - port.data;
            host.len = colon - host.data;
        }

    } else if (r->headers_in.server.len) {
        host = r->headers_in.server;
    }

    len = proto.len + 3 + host.len + 1 + port.len;

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NULL;
    }

    len = (port.len ? ngx_sprintf(p, "%V://%V:%V", &proto, &host, &port)
                    : ngx_sprintf(p, "%V://%V", &proto, &host)) - p;

    search = ngx_pnalloc(r->pool, r->args.len + 1);
    if (search == NULL) {
        return NULL;
    }

    search[0] = '?';

    if (r->args.len) {
        ngx_memcpy(search + 1, r->args.data, r->args.len);
    }

    param = jp_query_parse((char *) r->args.data, r->args.len,
                           NGX_HTTP_JPULSE_PARAMS_MAX);
    if (param == NULL) {
        return NULL;
    }

    if (code) {
        if (json_object_set_new(param, "code", json_string(code)) != 0
            || json_object_set_new(param, "msg",
                   jp_json_string_lossy((char *) msg->data, msg->len)) != 0)
        {
            json_decref(param);
            return NULL;
        }
    }

    ngx_http_jpulse_context_raw_path(r, &path);

    url = json_object();

    if (url == NULL
        || json_object_set_new(url, "domain", ngx_http_jpulse_str(p, len))
           != 0
        || json_object_set_new(url, "protocol",
                               json_stringn((char *) proto.data, proto.len))
           != 0
        || json_object_set_new(url, "hostname",
                               ngx_http_jpulse_str(host.data, host.len)) != 0
        || json_object_set_new(url, "port",
                               ngx_http_jpulse_str(port.data, port.len)) != 0
        || json_object_set_new(url, "pathname",
                               ngx_http_jpulse_str(path.data, path.len))
           != 0
        || json_object_set_new(url, "search",
                               ngx_http_jpulse_str(search,
                                                   r->args.len
                                                   ? r->args.len + 1 : 0))
           != 0
        || json_object_set_new(url, "param", param) != 0)
    {
        json_decref(url);
        return NULL;
    }

    return url;
}


void
ngx_http_jpulse_context_raw_path(ngx_http_request_t *r, ngx_str_t *path)
{
    u_char  *q;

    q = ngx_strlchr(r->unparsed_uri.data,
                    r->unparsed_uri.data + r->unparsed_uri.len, '?');

    path->data = r->unparsed_uri.data;
    path->len = q ? (size_t) (q - r->unparsed_uri.data)
                  : r->unparsed_uri.len;
}
