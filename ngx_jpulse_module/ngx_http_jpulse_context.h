/*
 * The context a page is rendered over, as jPulse builds it
 * (jpulse-view-pipeline.md 3; docs/templates.md "The page context"):
 * app, user, siteConfig, appConfig (contextFilter applied, with
 * system.defaultTheme, htmlAttrs, colorScheme, themes and
 * broadcastMessage), appCluster, url, i18n, components, vars,
 * authProviders, passwordResetAvailable and pageDisableSidebars.
 */

#ifndef NGX_HTTP_JPULSE_CONTEXT_H
#define NGX_HTTP_JPULSE_CONTEXT_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_lookup.h"


/*
 * rc->context for the request that renders prog (the top-level program:
 * pageDisableSidebars); on the 404 page (rc->not_found) url.param is
 * {code, msg}. NGX_OK; NGX_DECLINED: the context holds what the render
 * does not record (a broadcast message that read the request, the user
 * or the clock), so the page must be neither kept nor planned;
 * NGX_ERROR: no memory.
 */
ngx_int_t ngx_http_jpulse_context(ngx_http_jpulse_render_ctx_t *rc,
    const jp_tpl_program_t *prog);

/*
 * i18n.translate() (ngx_http_jpulse_render.c): the text at key in the
 * page's translations with each "{{name}}" replaced by value, else
 * english; in the request's pool.
 */
ngx_int_t ngx_http_jpulse_render_translate(ngx_http_jpulse_render_ctx_t *rc,
    const char *key, const char *english, const char *name,
    ngx_str_t *value, ngx_str_t *out);

/* frees the per-worker parts every context shares */
void ngx_http_jpulse_context_exit_process(ngx_cycle_t *cycle);

/* user.timezone without a cookie: the server's zone, as Node names it */
void ngx_http_jpulse_context_server_tz(ngx_str_t *tz);

/*
 * The path as the client sent it (url.pathname): the request line's URI
 * up to its '?'. r->args may point elsewhere (set $args, a rewrite or an
 * include with a query), so it says nothing about where the path ends.
 */
void ngx_http_jpulse_context_raw_path(ngx_http_request_t *r,
    ngx_str_t *path);


#endif /* NGX_HTTP_JPULSE_CONTEXT_H */
