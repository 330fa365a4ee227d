/*
 * Per-request context (see ngx_http_jpulse_context.h), in jPulse's key
 * order (jpulse-view-pipeline.md 3.1): app, user, siteConfig, appConfig,
 * appCluster, url, i18n, components, vars, authProviders,
 * passwordResetAvailable, pageDisableSidebars. What does not change
 * between requests (app, appConfig per language, theme and signed-in
 * state, siteConfig) is shared by reference; the template engine never
 * writes to its context.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_config.h"
#include "jp_query.h"
#include "ngx_http_jpulse_context.h"
#include "ngx_http_jpulse_doctypes.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_render.h"


/* qs's parameterLimit: parts of a query read at most */
#define NGX_HTTP_JPULSE_PARAMS_MAX     1000

/* a broadcast message expanded as a template: its output at most */
#define NGX_HTTP_JPULSE_BROADCAST_MAX  (64 * 1024)

/* request bytes as a JSON string, U+FFFD where they are not UTF-8 */
#define ngx_http_jpulse_str(p, len)                                          \
    jp_json_string_lossy((char *) (p), len)


static json_t *ngx_http_jpulse_context_config(
    ngx_http_jpulse_render_ctx_t *rc);
static json_t *ngx_http_jpulse_context_config_full(
    ngx_http_jpulse_render_ctx_t *rc, json_t *message);
static json_t *ngx_http_jpulse_context_url(ngx_http_jpulse_render_ctx_t *rc);
static json_t *ngx_http_jpulse_context_not_found(
    ngx_http_jpulse_render_ctx_t *rc);
static ngx_uint_t ngx_http_jpulse_context_reset(
    ngx_http_jpulse_render_ctx_t *rc, json_t *site);
static ngx_int_t ngx_http_jpulse_context_broadcast(
    ngx_http_jpulse_render_ctx_t *rc, json_t *ctx, json_t *message);
static ngx_uint_t ngx_http_jpulse_truthy(json_t *v);


/* the parts every context has alike: one per worker, shared */
static json_t  *ngx_http_jpulse_context_empty;
static json_t  *ngx_http_jpulse_context_none;
static json_t  *ngx_http_jpulse_context_cluster[2];


void
ngx_http_jpulse_context_exit_process(ngx_cycle_t *cycle)
{
    json_decref(ngx_http_jpulse_context_empty);
    json_decref(ngx_http_jpulse_context_none);
    json_decref(ngx_http_jpulse_context_cluster[0]);
    json_decref(ngx_http_jpulse_context_cluster[1]);

    ngx_http_jpulse_context_empty = NULL;
    ngx_http_jpulse_context_none = NULL;
    ngx_http_jpulse_context_cluster[0] = NULL;
    ngx_http_jpulse_context_cluster[1] = NULL;
}


/* the message of siteConfig.broadcast, when there is one */

static json_t *
ngx_http_jpulse_context_message(json_t *site)
{
    json_t  *m;

    m = jp_config_get(site, "broadcast.message");

    return (json_is_string(m) && json_string_length(m)) ? m : NULL;
}


ngx_int_t
ngx_http_jpulse_context(ngx_http_jpulse_render_ctx_t *rc,
    const jp_tpl_program_t *prog)
{
    json_t      *ctx, *app, *site, *config, *url, *message, **cluster;
    ngx_int_t    rv;
    ngx_uint_t   ready, sidebars, reset;

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

    if (ngx_http_jpulse_context_none == NULL) {
        ngx_http_jpulse_context_none = json_array();
    }

    if (*cluster == NULL || ngx_http_jpulse_context_empty == NULL
        || ngx_http_jpulse_context_none == NULL)
    {
        return NGX_ERROR;
    }

    app = json_object_get(rc->rt->effective, "app");
    /* jPulse's schema contextFilter: withAuth for signed-in users */
    site = ngx_http_jpulse_l2_site_config_for(rc->authenticated);

    /*
     * jPulse tests the raw text of .shtml pages only: not .tmpl, not
     * appended assets; a page, an SPA index or the 404 page.
     */
    sidebars = rc->path.len > 6
               && ngx_strncmp(rc->path.data + rc->path.len - 6, ".shtml", 6)
                  == 0
               && prog != NULL
               && jp_tpl_program_disables_sidebars(prog);

    reset = ngx_http_jpulse_context_reset(rc,
                                         ngx_http_jpulse_l2_site_config());

    config = ngx_http_jpulse_context_config(rc);
    url = ngx_http_jpulse_context_url(rc);

    ctx = json_object();

    if (config == NULL || url == NULL || ctx == NULL
        || json_object_set_new(ctx, "app", app ? json_incref(app)
                                               : json_object()) != 0
        || json_object_set(ctx, "user", rc->user) != 0
        || json_object_set_new(ctx, "siteConfig", site ? json_incref(site)
                                                       : json_object()) != 0
        || json_object_set(ctx, "appConfig", config) != 0
        || json_object_set(ctx, "appCluster", *cluster) != 0
        || json_object_set(ctx, "url", url) != 0
        || json_object_set_new(ctx, "i18n", rc->i18n ? json_incref(rc->i18n)
                                                     : json_object()) != 0
        || json_object_set(ctx, "components", ngx_http_jpulse_context_empty)
           != 0
        || json_object_set(ctx, "vars", ngx_http_jpulse_context_empty) != 0
        || json_object_set(ctx, "authProviders", ngx_http_jpulse_context_none)
           != 0
        || json_object_set_new(ctx, "passwordResetAvailable",
                               json_boolean(reset)) != 0
        || json_object_set_new(ctx, "pageDisableSidebars",
                               json_boolean(sidebars)) != 0)
    {
        json_decref(config);
        json_decref(url);
        json_decref(ctx);
        return NGX_ERROR;
    }

    json_decref(config);
    json_decref(url);

    rv = NGX_OK;
    message = ngx_http_jpulse_context_message(site);

    if (message != NULL
        && ngx_strstr(json_string_value(message), "{{") != NULL)
    {
        rv = ngx_http_jpulse_context_broadcast(rc, ctx, message);
        if (rv == NGX_ERROR) {
            json_decref(ctx);
            return NGX_ERROR;
        }
    }

    json_decref(rc->context);
    rc->context = ctx;

    return rv;
}


/*
 * passwordResetAvailable: jPulse sets it on three pages only, when
 * controller.user.disablePasswordReset is off and its mailer is
 * configured. The mailer is configured exactly when the site config
 * has email.adminEmail (jPulse's EmailController.isConfigured()), and
 * nginx reads that same document from Redis: that is the test here.
 * The path is r->uri as nginx normalized it, so that a kept page, whose
 * key is that path, holds one value.
 */

static ngx_uint_t
ngx_http_jpulse_context_reset(ngx_http_jpulse_render_ctx_t *rc,
    json_t *site)
{
    ngx_uint_t           i;
    ngx_http_request_t  *r;

    static ngx_str_t     pages[] = {
        ngx_string("/auth/login.shtml"),
        ngx_string("/auth/reset-password.shtml"),
        ngx_string("/admin/user-profile.shtml")
    };

    r = rc->request;

    for (i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        if (r->uri.len == pages[i].len
            && ngx_strncmp(r->uri.data, pages[i].data, r->uri.len) == 0)
        {
            break;
        }
    }

    if (i == sizeof(pages) / sizeof(pages[0])) {
        return 0;
    }

    return !ngx_http_jpulse_truthy(jp_config_get(rc->rt->effective,
                                   "controller.user.disablePasswordReset"))
           && ngx_http_jpulse_truthy(jp_config_get(site, "email.adminEmail"));
}


/* JavaScript's truthiness of a JSON value (NULL: undefined) */

static ngx_uint_t
ngx_http_jpulse_truthy(json_t *v)
{
    switch (v ? json_typeof(v) : JSON_NULL) {

    case JSON_FALSE:
    case JSON_NULL:
        return 0;

    case JSON_STRING:
        return json_string_length(v) != 0;

    case JSON_INTEGER:
        return json_integer_value(v) != 0;

    case JSON_REAL:
        return json_real_value(v) != 0;

    default:
        return 1;
    }
}


/*
 * A broadcast message with "{{" is expanded once per request, as jPulse
 * does, over the context before filtering (the whole appConfig: a leak
 * jPulse has too, and the site's own choice of message). What it reads
 * of the request, the user or the clock makes the page depend on them:
 * NGX_DECLINED then tells the caller not to keep the page nor plan it.
 */

static ngx_int_t
ngx_http_jpulse_context_broadcast(ngx_http_jpulse_render_ctx_t *rc,
    json_t *ctx, json_t *message)
{
    json_t                     *uctx, *full, *config, *system, *text;
    unsigned                    uses;
    jp_tpl_buf_t                out;
    jp_tpl_error_t              err;
    jp_tpl_limits_t             limits;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    if (rt->broadcast_version != rt->config_version) {
        /* compiled once per config: the message is siteConfig's */
        if (rt->broadcast) {
            jp_tpl_free(rt->broadcast);
        }

        /* no i18n pre-pass: {{i18n.x}} reads the context's i18n */
        rt->broadcast = jp_tpl_compile(json_string_value(message),
                                       json_string_length(message),
                                       "broadcast.message", NULL, &err);
        rt->broadcast_version = rt->config_version;
    }

    text = NULL;
    uses = 0;

    if (rt->broadcast) {
        full = ngx_http_jpulse_context_config_full(rc, NULL);
        uctx = full ? json_copy(ctx) : NULL;

        if (uctx == NULL
            || json_object_set_new(uctx, "appConfig", full) != 0)
        {
            if (uctx == NULL) {
                json_decref(full);
            }

            json_decref(uctx);
            return NGX_ERROR;
        }

        ngx_memzero(&limits, sizeof(jp_tpl_limits_t));
        limits.max_depth = rt->max_depth;

        jp_tpl_buf_init(&out, NGX_HTTP_JPULSE_BROADCAST_MAX);

        /* a message that greets the user is this user's */
        if (jp_tpl_render_uses(rt->broadcast, uctx, &rc->host, &limits,
                               (rc->authenticated || rc->personal)
                               ? JP_TPL_URL_TOP_ONLY | JP_TPL_USER_DYNAMIC
                               : JP_TPL_URL_TOP_ONLY,
                               &out, &err, &uses)
            == 0)
        {
            text = jp_json_string_lossy(out.data, out.len);
            if (text == NULL) {
                jp_tpl_buf_free(&out);
                json_decref(uctx);
                return NGX_ERROR;
            }
        }

        jp_tpl_buf_free(&out);
        json_decref(uctx);
    }

    /* a message that does not compile or render is shown as it is */
    if (text == NULL) {
        text = json_incref(message);
    }

    /* the shared appConfig stays as it is: this request's own copy */
    config = json_copy(json_object_get(ctx, "appConfig"));
    system = config ? json_object_get(config, "system") : NULL;
    system = json_is_object(system) ? json_copy(system) : json_object();

    if (config == NULL || system == NULL) {
        json_decref(text);
        json_decref(system);
        json_decref(config);
        return NGX_ERROR;
    }

    /* each set_new() takes its value, also when it fails */
    if (json_object_set_new(system, "broadcastMessage", text) != 0) {
        json_decref(system);
        json_decref(config);
        return NGX_ERROR;
    }

    if (json_object_set_new(config, "system", system) != 0) {
        json_decref(config);
        return NGX_ERROR;
    }

    if (json_object_set_new(ctx, "appConfig", config) != 0) {
        return NGX_ERROR;
    }

    return uses ? NGX_DECLINED : NGX_OK;
}


/* the filtered config as this request's variant sees it (a reference) */

static json_t *
ngx_http_jpulse_context_config(ngx_http_jpulse_render_ctx_t *rc)
{
    json_t                       *config, *full, *message;
    ngx_uint_t                    i;
    ngx_http_jpulse_view_rt_t    *rt;
    ngx_http_jpulse_appconfig_t  *ac;

    rt = rc->rt;

    /* an old list is refreshed in the background (a new one bumps the
     * config generation): this render goes on with what there is */
    (void) ngx_http_jpulse_doctypes();

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

    /* a message without "{{" is the same for everyone: kept here */
    message = ngx_http_jpulse_context_message(
                                           ngx_http_jpulse_l2_site_config());

    if (message != NULL
        && ngx_strstr(json_string_value(message), "{{") != NULL)
    {
        message = NULL;
    }

    full = ngx_http_jpulse_context_config_full(rc, message);
    if (full == NULL) {
        return NULL;
    }

    /* contextFilter: alwaysAllow puts its paths back at the end */
    config = jp_config_context(full, rc->authenticated);
    json_decref(full);

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


/*
 * appConfig before filtering: the config in force whose system object
 * gets defaultTheme, htmlAttrs, colorScheme, themes and (when given) the
 * broadcast message at its end, as jPulse adds them. Shallow copies: the
 * rest is shared with rt->effective.
 */

static json_t *
ngx_http_jpulse_context_config_full(ngx_http_jpulse_render_ctx_t *rc,
    json_t *message)
{
    u_char                     *p, buf[256];
    json_t                     *config, *system, *themes, *doctypes;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    config = json_is_object(rt->effective) ? json_copy(rt->effective)
                                           : json_object();
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

    themes = rt->themes ? json_incref(rt->themes) : json_array();

    /* with jpulse_mongodb: logs.distinct("data.docType"), as jPulse */
    doctypes = ngx_http_jpulse_doctypes();

    /* json_object_set_new() takes its value, also when it fails */
    if ((doctypes != NULL
         && json_object_set(system, "docTypes", doctypes) != 0)
        || json_object_set_new(system, "defaultTheme",
                            json_string(rt->default_theme)) != 0
        || json_object_set_new(system, "htmlAttrs",
                               json_stringn((char *) buf, p - buf)) != 0
        || json_object_set_new(system, "colorScheme",
               json_string(ngx_http_jpulse_view_color_scheme(rt,
                                                             &rc->theme)))
           != 0
        || json_object_set(system, "themes", themes) != 0
        || (message != NULL
            && json_object_set(system, "broadcastMessage", message) != 0))
    {
        json_decref(themes);
        json_decref(system);
        json_decref(config);
        return NULL;
    }

    json_decref(themes);

    if (json_object_set_new(config, "system", system) != 0) {
        json_decref(config);
        return NULL;
    }

    return config;
}


/*
 * url.{domain,protocol,hostname,port,pathname,search,param} as Express
 * gives them (3.4). protocol is the connection's ($scheme): nginx faces
 * the client, and an X-Forwarded-Proto or X-Forwarded-Host it sent would
 * choose url.hostname, and with it the key of pages kept per URL; jPulse
 * honours them only because it sits behind a proxy (trustProxy).
 */

static json_t *
ngx_http_jpulse_context_url(ngx_http_jpulse_render_ctx_t *rc)
{
    u_char              *p, *colon, *end, *q;
    size_t               len;
    json_t              *url, *param;
    ngx_str_t            host, hostname, port, proto, path, search;
    ngx_http_request_t  *r;

    r = rc->request;

    ngx_str_set(&proto, "http");

#if (NGX_HTTP_SSL)
    if (r->connection->ssl) {
        ngx_str_set(&proto, "https");
    }
#endif

    ngx_str_null(&host);
    ngx_str_null(&port);

    if (r->headers_in.host) {
        host = r->headers_in.host->value;

    } else if (r->headers_in.server.len) {
        /* an absolute URI in the request line names the host */
        host = r->headers_in.server;
    }

    /*
     * hostname: the host without its port ("[::1]" keeps its brackets);
     * port: what follows the host's first ':' up to the next one, so an
     * IPv6 host has none, as Express's split(':')[1] gives.
     */
    hostname = host;
    end = host.data + host.len;

    if (host.len) {
        colon = host.data[0] == '[' ? ngx_strlchr(host.data, end, ']')
                                    : host.data;
        colon = colon ? ngx_strlchr(colon, end, ':') : NULL;

        if (colon) {
            hostname.len = colon - host.data;
        }

        colon = ngx_strlchr(host.data, end, ':');

        if (colon) {
            port.data = colon + 1;
            q = ngx_strlchr(port.data, end, ':');
            port.len = (q ? q : end) - port.data;
        }
    }

    /* "http://undefined" without a Host, as jPulse prints it */
    len = proto.len + 3 + (host.len ? host.len : sizeof("undefined") - 1);

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NULL;
    }

    q = ngx_sprintf(p, "%V://", &proto);
    len = (host.len ? ngx_cpymem(q, host.data, host.len)
                    : ngx_cpymem(q, "undefined", 9)) - p;

    /* "?" for a bare "?": the request line says whether there was one */
    ngx_str_null(&search);

    if (r->args.len) {
        search.len = r->args.len + 1;
        search.data = ngx_pnalloc(r->pool, search.len);
        if (search.data == NULL) {
            return NULL;
        }

        search.data[0] = '?';
        ngx_memcpy(search.data + 1, r->args.data, r->args.len);

    } else if (r->unparsed_uri.len
               && ngx_strlchr(r->unparsed_uri.data,
                              r->unparsed_uri.data + r->unparsed_uri.len,
                              '?') != NULL)
    {
        ngx_str_set(&search, "?");
    }

    if (rc->not_found) {
        param = ngx_http_jpulse_context_not_found(rc);

    } else {
        param = jp_query_parse((char *) r->args.data, r->args.len,
                               NGX_HTTP_JPULSE_PARAMS_MAX);
    }

    if (param == NULL) {
        return NULL;
    }

    ngx_http_jpulse_context_raw_path(r, &path);

    url = json_object();

    if (url == NULL
        || json_object_set_new(url, "domain", ngx_http_jpulse_str(p, len))
           != 0
        || json_object_set_new(url, "protocol",
                               json_stringn((char *) proto.data, proto.len))
           != 0
        /* without a Host, jPulse's JSON round trip drops the key */
        || (host.len
            && json_object_set_new(url, "hostname",
                                   ngx_http_jpulse_str(hostname.data,
                                                       hostname.len))
               != 0)
        || json_object_set_new(url, "port",
                               ngx_http_jpulse_str(port.data, port.len)) != 0
        || json_object_set_new(url, "pathname",
                               ngx_http_jpulse_str(path.data, path.len))
           != 0
        || json_object_set_new(url, "search",
                               ngx_http_jpulse_str(search.data, search.len))
           != 0)
    {
        json_decref(param);
        json_decref(url);
        return NULL;
    }

    /* it takes param, also when it fails */
    if (json_object_set_new(url, "param", param) != 0) {
        json_decref(url);
        return NULL;
    }

    return url;
}


/*
 * The 404 page's url.param: exactly {code, msg}, the query dropped; msg
 * is controller.view.pageNotFoundError in the page's language with
 * {{path}} the path as the client sent it (without the query).
 */

static json_t *
ngx_http_jpulse_context_not_found(ngx_http_jpulse_render_ctx_t *rc)
{
    json_t       *param, *msg;
    ngx_str_t     path, m;

    ngx_http_jpulse_context_raw_path(rc->request, &path);

    if (ngx_http_jpulse_render_translate(rc,
            "controller.view.pageNotFoundError", "Page not found: {{path}}",
            "path", &path, &m)
        != NGX_OK)
    {
        return NULL;
    }

    msg = ngx_http_jpulse_str(m.data, m.len);
    if (msg == NULL) {
        return NULL;
    }

    param = json_object();

    if (param == NULL
        || json_object_set_new(param, "code", json_string("404")) != 0)
    {
        json_decref(msg);
        json_decref(param);
        return NULL;
    }

    if (json_object_set_new(param, "msg", msg) != 0) {
        json_decref(param);
        return NULL;
    }

    return param;
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


/*
 * user.timezone without a cookie: the server's zone as Node names it
 * (Intl's resolvedOptions().timeZone): TZ (nginx keeps it for its
 * workers), else the zone /etc/localtime links to, else UTC; the UTC
 * aliases are "UTC" as V8 canonicalizes them. Read once per worker; a
 * name that is not one (the page prints it) is UTC.
 */

void
ngx_http_jpulse_context_server_tz(ngx_str_t *tz)
{
    u_char      *p, *z;
    ssize_t      n;
    ngx_uint_t   i;

    static u_char      link[256];
    static ngx_str_t   zone;
    static const char *utc[] = {
        "Etc/UTC", "Etc/UCT", "Etc/GMT", "Etc/GMT0", "Etc/GMT+0",
        "Etc/GMT-0", "Etc/Universal", "Etc/Zulu", "Etc/Greenwich", "UCT",
        "GMT", "GMT0", "GMT+0", "GMT-0", "Universal", "Zulu", "Greenwich",
        NULL
    };

    if (zone.data != NULL) {
        *tz = zone;
        return;
    }

    p = (u_char *) getenv("TZ");

    if (p != NULL && *p == ':') {
        p++;
    }

    if (p != NULL && *p != '\0' && ngx_strlen(p) < sizeof(link)) {
        zone.len = ngx_cpystrn(link, p, sizeof(link)) - link;

    } else {
        n = readlink("/etc/localtime", (char *) link, sizeof(link) - 1);
        link[n > 0 ? n : 0] = '\0';

        z = (u_char *) ngx_strstr(link, "zoneinfo/");
        z = z ? z + sizeof("zoneinfo/") - 1 : NULL;

        if (z != NULL) {
            zone.len = ngx_cpystrn(link, z, sizeof(link)) - link;

        } else {
            zone.len = 0;
        }
    }

    zone.data = link;

    for (p = link; p < link + zone.len; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '/' || *p == '_'
              || *p == '-' || *p == '+'))
        {
            zone.len = 0;
            break;
        }
    }

    for (i = 0; utc[i] && zone.len; i++) {
        if (ngx_strlen(utc[i]) == zone.len
            && ngx_strncmp(utc[i], link, zone.len) == 0)
        {
            zone.len = 0;
        }
    }

    if (zone.len == 0 || zone.len > 64) {
        ngx_str_set(&zone, "UTC");
    }

    *tz = zone;
}
