/*
 * Per-request context (see ngx_http_jpulse_context.h). What does not
 * change between requests (app, the filtered config, siteConfig) is
 * shared by reference; the template engine never writes to its context.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_json.h"
#include "ngx_http_jpulse_context.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_redis.h"


#define NGX_HTTP_JPULSE_PARAMS_MAX  64


static json_t *ngx_http_jpulse_context_config(
    ngx_http_jpulse_render_ctx_t *rc);
static json_t *ngx_http_jpulse_context_url(ngx_http_request_t *r,
    const char *code, ngx_str_t *msg);
static json_t *ngx_http_jpulse_context_params(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_decode(ngx_pool_t *pool, u_char *p,
    u_char *end, ngx_str_t *out);
static json_t *ngx_http_jpulse_string(ngx_pool_t *pool, u_char *p,
    size_t len);


ngx_int_t
ngx_http_jpulse_context(ngx_http_jpulse_render_ctx_t *rc, const char *code,
    ngx_str_t *msg)
{
    json_t  *ctx, *app, *site;

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
        || json_object_set_new(ctx, "vars", json_object()) != 0
        || json_object_set_new(ctx, "components", json_object()) != 0
        || json_object_set_new(ctx, "appCluster",
               json_pack("{sb}", "available",
                         (int) ngx_http_jpulse_redis_ready())) != 0)
    {
        json_decref(ctx);
        return NGX_ERROR;
    }

    json_decref(rc->context);
    rc->context = ctx;

    return NGX_OK;
}


/* the filtered config, with a system object of this request's own */

static json_t *
ngx_http_jpulse_context_config(ngx_http_jpulse_render_ctx_t *rc)
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
    ngx_str_t   host, port, proto;

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
    ngx_memcpy(search + 1, r->args.data, r->args.len);

    param = ngx_http_jpulse_context_params(r);
    if (param == NULL) {
        return NULL;
    }

    if (code) {
        if (json_object_set_new(param, "code", json_string(code)) != 0
            || json_object_set_new(param, "msg",
                   ngx_http_jpulse_string(r->pool, msg->data, msg->len)) != 0)
        {
            json_decref(param);
            return NULL;
        }
    }

    url = json_object();

    if (url == NULL
        || json_object_set_new(url, "domain",
                               ngx_http_jpulse_string(r->pool, p, len)) != 0
        || json_object_set_new(url, "protocol",
                               json_stringn((char *) proto.data, proto.len))
           != 0
        || json_object_set_new(url, "hostname",
                               ngx_http_jpulse_string(r->pool, host.data,
                                                      host.len)) != 0
        || json_object_set_new(url, "port",
                               ngx_http_jpulse_string(r->pool, port.data,
                                                      port.len)) != 0
        || json_object_set_new(url, "pathname",
                               ngx_http_jpulse_string(r->pool,
                                                      r->unparsed_uri.data,
                                                      r->args.len
                                                      ? (size_t) (r->args.data
                                                        - 1
                                                        - r->unparsed_uri.data)
                                                      : r->unparsed_uri.len))
           != 0
        || json_object_set_new(url, "search",
                               ngx_http_jpulse_string(r->pool, search,
                                   r->args.len ? r->args.len + 1 : 0)) != 0
        || json_object_set_new(url, "param", param) != 0)
    {
        json_decref(url);
        return NULL;
    }

    return url;
}


/* a query string part, '+' as a space, then %XX decoded */

static ngx_int_t
ngx_http_jpulse_decode(ngx_pool_t *pool, u_char *p, u_char *end,
    ngx_str_t *out)
{
    u_char  *buf, *src, *dst;
    size_t   i, len;

    len = end - p;

    buf = ngx_pnalloc(pool, len + 1);
    if (buf == NULL) {
        return NGX_ERROR;
    }

    for (i = 0; i < len; i++) {
        buf[i] = p[i] == '+' ? ' ' : p[i];
    }

    src = buf;
    dst = buf;
    ngx_unescape_uri(&dst, &src, len, 0);

    out->data = buf;
    out->len = dst - buf;

    return NGX_OK;
}


/* req.query: the last of repeated names wins */

static json_t *
ngx_http_jpulse_context_params(ngx_http_request_t *r)
{
    u_char      *p, *end, *amp, *eq;
    json_t      *param, *v;
    ngx_str_t    name, value;
    ngx_uint_t   n;

    param = json_object();
    if (param == NULL || r->args.len == 0) {
        return param;
    }

    p = r->args.data;
    end = p + r->args.len;

    for (n = 0; p < end && n < NGX_HTTP_JPULSE_PARAMS_MAX; p = amp + 1) {
        amp = ngx_strlchr(p, end, '&');
        if (amp == NULL) {
            amp = end;
        }

        eq = ngx_strlchr(p, amp, '=');
        if (eq == NULL) {
            eq = amp;
        }

        if (eq == p) {
            continue;
        }

        if (ngx_http_jpulse_decode(r->pool, p, eq, &name) != NGX_OK
            || ngx_http_jpulse_decode(r->pool, eq < amp ? eq + 1 : amp, amp,
                                      &value) != NGX_OK)
        {
            json_decref(param);
            return NULL;
        }

        if (name.len == 0
            || ngx_strlchr(name.data, name.data + name.len, '\0') != NULL)
        {
            continue;
        }

        v = ngx_http_jpulse_string(r->pool, value.data, value.len);

        /* a name that is not UTF-8 is dropped, not fatal */
        if (v == NULL
            || json_object_setn_new(param, (char *) name.data, name.len, v)
               != 0)
        {
            continue;
        }

        n++;
    }

    return param;
}


/* a JSON string of p; bytes that are not UTF-8 become U+FFFD */

static json_t *
ngx_http_jpulse_string(ngx_pool_t *pool, u_char *p, size_t len)
{
    u_char  *buf, *d, *end;
    size_t   n;

    if (len == 0) {
        return json_string("");
    }

    end = p + len;

    for (d = p; d < end; d += n) {
        n = jp_utf8_sequence_len(d, end);
        if (n == 0) {
            break;
        }
    }

    if (d == end) {
        return json_stringn((char *) p, len);
    }

    buf = ngx_pnalloc(pool, len * 3);
    if (buf == NULL) {
        return NULL;
    }

    for (d = buf; p < end; p += n ? n : 1) {
        n = jp_utf8_sequence_len(p, end);

        if (n == 0) {
            *d++ = 0xef;
            *d++ = 0xbf;
            *d++ = 0xbd;
            continue;
        }

        d = ngx_cpymem(d, p, n);
    }

    return json_stringn((char *) buf, d - buf);
}
