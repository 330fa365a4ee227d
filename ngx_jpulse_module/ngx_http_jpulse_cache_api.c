/*
 * The cache API. A refresh marks this instance's caches stale through the
 * shared invalidation counters (every worker, even without Redis), then,
 * with Redis, bumps <ns>gen and publishes the invalidation event so that
 * every worker of every instance follows; jPulse clears only the worker
 * that took the request.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_cache_api.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_view.h"


typedef struct {
    ngx_uint_t      kind;           /* NGX_HTTP_JPULSE_INV_*, KINDS: all */
    ngx_msec_t      start;
    ngx_int_t       receivers;
} ngx_http_jpulse_cache_api_ctx_t;


static ngx_int_t ngx_http_jpulse_cache_api_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_cache_refresh(ngx_http_request_t *r,
    ngx_uint_t kind);
static void ngx_http_jpulse_cache_published(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_cache_refreshed(ngx_http_request_t *r,
    ngx_http_jpulse_cache_api_ctx_t *ca, ngx_uint_t published);
static ngx_int_t ngx_http_jpulse_cache_stats(ngx_http_request_t *r);


/* jPulse's cache names, by what they hold here */
static const char  *ngx_http_jpulse_cache_names[] = {
    "TemplateCache", "IncludeCache", "TranslationCache", "ConfigCache"
};


char *
ngx_http_jpulse_cache_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t  *jlcf = conf;

    return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                       NGX_HTTP_JPULSE_HANDLER_CACHE_API,
                                       ngx_http_jpulse_cache_api_handler);
}


static ngx_int_t
ngx_http_jpulse_cache_api_handler(ngx_http_request_t *r)
{
    u_char     *p, *end;
    ngx_int_t   rc;
    ngx_str_t   tail;
    ngx_uint_t  k;

    static ngx_str_t  kinds[] = {
        ngx_string("view"), ngx_string("config"), ngx_string("i18n")
    };

    if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_CACHE_API) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* no endpoint reads a body; drop it before any answer, 405s included */

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    /* what follows ".../cache/" in the URI */
    end = r->uri.data + r->uri.len;
    tail.data = NULL;

    for (p = r->uri.data; p + 7 <= end; p++) {
        if (ngx_strncmp(p, "/cache/", 7) == 0) {
            tail.data = p + 7;
        }
    }

    if (tail.data == NULL) {
        goto not_found;
    }

    tail.len = end - tail.data;

    if (tail.len && tail.data[tail.len - 1] == '/') {
        tail.len--;
    }

    if (tail.len == 5 && ngx_strncmp(tail.data, "stats", 5) == 0) {
        if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
            return ngx_http_jpulse_send_405(r, "GET, HEAD");
        }

        rc = ngx_http_jpulse_access_admin_api(r);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        return ngx_http_jpulse_cache_stats(r);
    }

    if (tail.len < 7 || ngx_strncmp(tail.data, "refresh", 7) != 0) {
        goto not_found;
    }

    tail.data += 7;
    tail.len -= 7;

    if (tail.len == 0 || (tail.len == 4
                          && ngx_strncmp(tail.data, "/all", 4) == 0))
    {
        k = NGX_HTTP_JPULSE_INV_KINDS;

    } else {
        for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
            if (tail.len == kinds[k].len + 1 && tail.data[0] == '/'
                && ngx_strncmp(tail.data + 1, kinds[k].data, kinds[k].len)
                   == 0)
            {
                break;
            }
        }

        if (k == NGX_HTTP_JPULSE_INV_KINDS) {
            goto not_found;
        }
    }

    if (r->method != NGX_HTTP_POST) {
        return ngx_http_jpulse_send_405(r, "POST");
    }

    /* with sessions on here, jPulse's gate: the admin roles */
    rc = ngx_http_jpulse_access_admin_api(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    return ngx_http_jpulse_cache_refresh(r, k);

not_found:

    return ngx_http_jpulse_send_error(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                      "No such cache endpoint: expected "
                                      "POST refresh[/view|/i18n|/config] "
                                      "or GET stats", NULL);
}


static ngx_int_t
ngx_http_jpulse_cache_refresh(ngx_http_request_t *r, ngx_uint_t kind)
{
    ngx_int_t                         rc;
    ngx_uint_t                        k;
    ngx_http_jpulse_ctx_t            *ctx;
    ngx_http_jpulse_cache_api_ctx_t  *ca;

    ca = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_cache_api_ctx_t));
    if (ca == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ctx = ngx_http_jpulse_ctx(r);
    ctx->data = ca;

    ca->kind = kind;
    ca->start = ngx_current_msec;
    ca->receivers = -1;

    /* this worker now, the instance's other workers on their next request */

    for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
        if (kind == NGX_HTTP_JPULSE_INV_KINDS || kind == k) {
            ngx_http_jpulse_view_invalidate_instance(k);
        }
    }

    if (!ngx_http_jpulse_redis_configured()) {
        return ngx_http_jpulse_cache_refreshed(r, ca, 0);
    }

    rc = ngx_http_jpulse_l2_publish(r, kind, ngx_http_jpulse_cache_published,
                                    &ca->receivers);

    if (rc == NGX_OK) {
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_cache_refreshed(r, ca, 0);
}


static void
ngx_http_jpulse_cache_published(ngx_http_request_t *r)
{
    ngx_http_jpulse_ctx_t            *ctx;
    ngx_http_jpulse_cache_api_ctx_t  *ca;

    ctx = ngx_http_jpulse_ctx(r);
    ca = ctx->data;

    ngx_http_finalize_request(r,
        ngx_http_jpulse_cache_refreshed(r, ca, ca->receivers >= 0));
}


static ngx_int_t
ngx_http_jpulse_cache_refreshed(ngx_http_request_t *r,
    ngx_http_jpulse_cache_api_ctx_t *ca, ngx_uint_t published)
{
    ngx_uint_t              i, first, last;
    ngx_http_jpulse_out_t   out;

    if (ngx_http_jpulse_redis_configured() && !published) {
        /* the other instances did not hear it: say so, with a 500 */
        return ngx_http_jpulse_send_error(r, NGX_HTTP_INTERNAL_SERVER_ERROR,
                                          "REFRESH_ERROR",
                                          "Refreshed on this instance only: "
                                          "Redis is unavailable, other "
                                          "instances catch up through the "
                                          "generation counter once it is "
                                          "back", NULL);
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    switch (ca->kind) {

    case NGX_HTTP_JPULSE_INV_VIEW:
        ngx_http_jpulse_out_printf(&out, "{\"success\":true,\"message\":"
                                   "\"Refreshed view caches\"");
        first = 0;
        last = 1;
        break;

    case NGX_HTTP_JPULSE_INV_I18N:
        ngx_http_jpulse_out_printf(&out, "{\"success\":true,\"message\":"
                                   "\"TranslationCache refreshed "
                                   "successfully\"");
        first = 1;
        last = 0;
        break;

    case NGX_HTTP_JPULSE_INV_CONFIG:
        ngx_http_jpulse_out_printf(&out, "{\"success\":true,\"message\":"
                                   "\"ConfigCache refreshed successfully\"");
        first = 1;
        last = 0;
        break;

    default:
        ngx_http_jpulse_out_printf(&out, "{\"success\":true,\"message\":"
                                   "\"Refreshed 4 cache types\"");
        first = 0;
        last = 3;
    }

    if (first <= last) {
        ngx_http_jpulse_out_printf(&out, ",\"results\":{");

        for (i = first; i <= last; i++) {
            ngx_http_jpulse_out_printf(&out, "%s\"%s\":{\"success\":true,"
                                       "\"message\":\"%s refreshed "
                                       "successfully\"}",
                                       i == first ? "" : ",",
                                       ngx_http_jpulse_cache_names[i],
                                       ngx_http_jpulse_cache_names[i]);
        }

        ngx_http_jpulse_out_printf(&out, "}");
    }

    ngx_http_jpulse_out_printf(&out, ",\"cluster\":{\"published\":%s,"
                               "\"receivers\":%i},\"duration\":%M}",
                               published ? "true" : "false",
                               published ? ca->receivers : 0,
                               ngx_current_msec - ca->start);

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}


/*
 * jPulse's stats shape (contract 2.3) with what is true of this worker
 * (docs/directives.md, jpulse_cache_api): "interval" is the shortest
 * jpulse_template_check_interval of its view sets (each set's is in
 * worker.viewSets), "directoryCount" only where directories are kept
 * (the listings of file.list, IncludeCache), ConfigCache counts the config
 * documents held: jpulse_config files and Redis' cfg:app and cfg:site.
 */

static ngx_int_t
ngx_http_jpulse_cache_stats(ngx_http_request_t *r)
{
    size_t                      bytes, max_bytes;
    u_char                      every[NGX_INT_T_LEN + 1];
    uint64_t                    hits, misses, evictions;
    ngx_str_t                   every_text;
    ngx_msec_t                  start, interval;
    ngx_uint_t                  i, j, entries, nsets, dirs, total_files;
    ngx_uint_t                  files[4], n[NGX_HTTP_JPULSE_T_KINDS];
    ngx_array_t                *sets;
    ngx_http_jpulse_view_t    **vp;
    ngx_http_jpulse_out_t       out;

    start = ngx_current_msec;

    ngx_http_jpulse_view_totals((ngx_cycle_t *) ngx_cycle, &bytes, &entries,
                                n);

    max_bytes = 0;
    hits = misses = evictions = 0;
    interval = 0;
    nsets = 0;

    files[3] = (ngx_http_jpulse_l2_app_config() != NULL)
               + (ngx_http_jpulse_l2_site_config() != NULL);

    sets = ngx_http_jpulse_view_sets();
    vp = sets ? sets->elts : NULL;

    for (i = 0; sets && i < sets->nelts; i++) {
        if (vp[i]->rt == NULL) {
            continue;
        }

        if (nsets++ == 0 || vp[i]->check_interval < interval) {
            interval = vp[i]->check_interval;
        }

        max_bytes += vp[i]->cache_size;
        hits += vp[i]->rt->cache.hits;
        misses += vp[i]->rt->cache.misses;
        evictions += vp[i]->rt->cache.evictions;

        if (vp[i]->rt->config_file == NULL) {
            continue;
        }

        /* sets that differ in other settings share one file */

        for (j = 0; j < i; j++) {
            if (vp[j]->rt && vp[j]->rt->config_file
                && vp[j]->config_path.len == vp[i]->config_path.len
                && ngx_strncmp(vp[j]->config_path.data,
                               vp[i]->config_path.data,
                               vp[i]->config_path.len) == 0)
            {
                break;
            }
        }

        files[3] += (j == i);
    }

    files[0] = n[NGX_HTTP_JPULSE_T_PAGE] + n[NGX_HTTP_JPULSE_T_RAW];
    files[1] = n[NGX_HTTP_JPULSE_T_INCLUDE];
    files[2] = n[NGX_HTTP_JPULSE_T_I18N];
    dirs = n[NGX_HTTP_JPULSE_T_LIST];

    total_files = files[0] + files[1] + files[2] + files[3];

    /* no view set: no cache, and no interval to speak of */

    if (nsets) {
        every_text.data = every;
        every_text.len = ngx_sprintf(every, "%M", interval) - every;

    } else {
        ngx_str_set(&every_text, "null");
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out, "{\"success\":true,\"stats\":{"
                               "\"totalCaches\":4,\"totalFilesCached\":%ui,"
                               "\"totalDirectoriesCached\":%ui,"
                               "\"caches\":{", total_files, dirs);

    for (i = 0; i < 4; i++) {
        ngx_http_jpulse_out_printf(&out, "%s\"%s\":{\"enabled\":%s,"
                                   "\"interval\":%V,\"fileCount\":%ui,",
                                   i ? "," : "",
                                   ngx_http_jpulse_cache_names[i],
                                   nsets ? "true" : "false", &every_text,
                                   files[i]);

        if (i == 1) {
            ngx_http_jpulse_out_printf(&out, "\"directoryCount\":%ui,", dirs);
        }

        ngx_http_jpulse_out_printf(&out, "\"config\":{\"enabled\":%s,"
                                   "\"checkInterval\":%V}}",
                                   nsets ? "true" : "false", &every_text);
    }

    ngx_http_jpulse_out_printf(&out, "},\"worker\":{\"pid\":%P,"
                               "\"bytes\":%uz,\"maxBytes\":%uz,"
                               "\"entries\":%ui,\"hits\":%uL,\"misses\":%uL,"
                               "\"evictions\":%uL,\"viewSets\":[",
                               ngx_pid, bytes, max_bytes, entries, hits,
                               misses, evictions);

    for (i = 0, j = 0; sets && i < sets->nelts; i++) {
        if (vp[i]->rt == NULL) {
            continue;
        }

        ngx_http_jpulse_out_printf(&out, "%s{\"checkInterval\":%M,"
                                   "\"maxBytes\":%uz,\"bytes\":%uz,"
                                   "\"entries\":%ui}",
                                   j++ ? "," : "", vp[i]->check_interval,
                                   vp[i]->cache_size, vp[i]->rt->cache.bytes,
                                   vp[i]->rt->cache.count);
    }

    ngx_http_jpulse_out_printf(&out, "]},\"redis\":{"
                               "\"configured\":%s,\"available\":%s}}",
                               ngx_http_jpulse_redis_configured()
                               ? "true" : "false",
                               ngx_http_jpulse_redis_ready()
                               ? "true" : "false");

    ngx_http_jpulse_out_printf(&out, ",\"duration\":%M}",
                               ngx_current_msec - start);

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}
