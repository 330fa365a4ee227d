/*
 * ngx_http_jpulse_module: module definition, identity directives and the
 * configuration life cycle. Each concern lives in its own file:
 *   ngx_http_jpulse_health.c           jpulse_health
 *   ngx_http_jpulse_metrics.c          jpulse_metrics_zone, counting
 *   ngx_http_jpulse_metrics_display.c  jpulse_metrics (JSON, Prometheus)
 *   ngx_http_jpulse_instance.c         who this nginx instance is
 *   ngx_http_jpulse_redis.c            jpulse_redis, the Redis API
 *   ngx_http_jpulse_redis_conn.c       one hiredis connection on nginx
 *   ngx_http_jpulse_broadcast.c        jpulse_app_cluster_api
 *   ngx_http_jpulse_cluster.c          jpulse_heartbeat, the cluster view
 *   ngx_http_jpulse_out.c              JSON responses and envelopes
 *   ngx_http_jpulse_view.c             jpulse_view_roots etc., view sets
 *   ngx_http_jpulse_tcache.c           the per-worker template cache (L1)
 *   ngx_http_jpulse_l2.c               Redis as L2, invalidation
 *   ngx_http_jpulse_lookup.c           filling L1 from Redis or disk
 *   ngx_http_jpulse_context.c          what templates see
 *   ngx_http_jpulse_render.c           jpulse_render: routing, rendering
 *   ngx_http_jpulse_cache_api.c        jpulse_cache_api
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_redis_cluster.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_broadcast.h"
#include "ngx_http_jpulse_cache_api.h"
#include "ngx_http_jpulse_cluster.h"
#include "ngx_http_jpulse_context.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_view.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_siteconfig.h"
#include "ngx_http_jpulse_doctypes.h"
#include "ngx_http_jpulse_dashboard.h"


#define NGX_HTTP_JPULSE_SITE_ID_MAX  64


static void *ngx_http_jpulse_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_jpulse_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_jpulse_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_jpulse_init_module(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_jpulse_init_process(ngx_cycle_t *cycle);
static void ngx_http_jpulse_exit_process(ngx_cycle_t *cycle);
static void ngx_http_jpulse_exit_master(ngx_cycle_t *cycle);

static char *ngx_http_jpulse_site_id(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_jpulse_mode(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);


static ngx_command_t  ngx_http_jpulse_commands[] = {

    { ngx_string("jpulse_site_id"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_site_id,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_mode"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_mode,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_mongodb"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_mongodb,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_heartbeat"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_heartbeat,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_health"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_jpulse_health,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_metrics_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE2,
      ngx_http_jpulse_metrics_zone,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_metrics"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_jpulse_metrics,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_dashboard"),
      NGX_HTTP_LOC_CONF|NGX_CONF_ANY,
      ngx_http_jpulse_dashboard,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_app_cluster_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_jpulse_app_cluster_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_app_cluster_reserved_channels"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, reserved_channels),
      &ngx_http_jpulse_reserved_channels },

    { ngx_string("jpulse_view_roots"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_view_roots,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_config"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_view_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, view.config_path),
      NULL },

    { ngx_string("jpulse_i18n_dir"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_view_path,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, view.i18n_dir),
      NULL },

    { ngx_string("jpulse_template_cache_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, view.cache_size),
      NULL },

    { ngx_string("jpulse_template_check_interval"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, view.check_interval),
      NULL },

    { ngx_string("jpulse_render"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS|NGX_CONF_TAKE1,
      ngx_http_jpulse_render,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_render_cache_control"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_render_cache_control,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_loc_conf_t, cache_control),
      NULL },

    { ngx_string("jpulse_require_role"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_require_role,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_cache_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_jpulse_cache_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_jpulse_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_jpulse_postconfiguration,     /* postconfiguration */

    ngx_http_jpulse_create_main_conf,      /* create main configuration */
    ngx_http_jpulse_init_main_conf,        /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_jpulse_create_loc_conf,       /* create location configuration */
    ngx_http_jpulse_merge_loc_conf         /* merge location configuration */
};


ngx_module_t  ngx_http_jpulse_module = {
    NGX_MODULE_V1,
    &ngx_http_jpulse_module_ctx,           /* module context */
    ngx_http_jpulse_commands,              /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_jpulse_init_module,           /* init module */
    ngx_http_jpulse_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_jpulse_exit_process,          /* exit process */
    ngx_http_jpulse_exit_master,           /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_jpulse_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_main_conf_t));
    if (jmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     jmcf->site_id = { 0, NULL };
     *     jmcf->mode = { 0, NULL };
     *     jmcf->metrics_zone = NULL;
     *     jmcf->redis = NULL;
     *     jmcf->heartbeat_interval = 0;
     *     jmcf->heartbeat_ttl = 0;
     */

    jmcf->heartbeat = NGX_CONF_UNSET;

    jmcf->views = ngx_array_create(cf->pool, 2,
                                   sizeof(ngx_http_jpulse_view_t *));
    if (jmcf->views == NULL) {
        return NULL;
    }

    return jmcf;
}


/*
 * The key groups' prefixes. In cluster mode the namespace goes inside a
 * hash tag: one with a '{' or '}' would make another tag the first.
 */

static ngx_int_t
ngx_http_jpulse_group_prefixes(ngx_conf_t *cf,
    ngx_http_jpulse_main_conf_t *jmcf)
{
    int          cluster, n;
    size_t       cap;
    ngx_str_t   *ns, *dst[3];
    ngx_uint_t   i;
    static const char  *groups[] = { JP_RC_GROUP_L2, JP_RC_GROUP_METRICS,
                                     JP_RC_GROUP_SESS };

    ns = &jmcf->namespace;
    cluster = jmcf->redis != NULL && jmcf->redis->cluster != NULL;

    if (cluster && !jp_rc_namespace_ok((char *) ns->data, ns->len)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"cluster=\": the namespace "
                           "\"%V\" must not contain \"{\" or \"}\"", ns);
        return NGX_ERROR;
    }

    dst[0] = &jmcf->ns_l2;
    dst[1] = &jmcf->ns_metrics;
    dst[2] = &jmcf->ns_sess;

    cap = 2 * ns->len + JP_RC_GROUP_EXTRA + 1;

    for (i = 0; i < 3; i++) {
        dst[i]->data = ngx_pnalloc(cf->pool, cap);
        if (dst[i]->data == NULL) {
            return NGX_ERROR;
        }

        n = jp_rc_group_prefix((char *) dst[i]->data, cap, (char *) ns->data,
                               ns->len, groups[i], cluster);
        if (n < 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse: cannot make the \"%s\" key prefix "
                               "of namespace \"%V\"", groups[i], ns);
            return NGX_ERROR;
        }

        dst[i]->len = n;
    }

    return NGX_OK;
}


static char *
ngx_http_jpulse_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_jpulse_main_conf_t  *jmcf = conf;

    if (jmcf->site_id.data == NULL) {
        ngx_str_set(&jmcf->site_id, "jpulse");
    }

    if (jmcf->mode.data == NULL) {
        ngx_str_set(&jmcf->mode, "prod");
    }

    jmcf->namespace.len = jmcf->site_id.len + 1 + jmcf->mode.len + 1;
    jmcf->namespace.data = ngx_pnalloc(cf->pool, jmcf->namespace.len);
    if (jmcf->namespace.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_sprintf(jmcf->namespace.data, "%V:%V:", &jmcf->site_id, &jmcf->mode);

    if (ngx_http_jpulse_group_prefixes(cf, jmcf) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(jmcf->heartbeat, 1);

    if (jmcf->heartbeat_interval == 0) {
        jmcf->heartbeat_interval = 15000;
    }

    if (jmcf->heartbeat_ttl == 0) {
        jmcf->heartbeat_ttl = 60000;
    }

    if (jmcf->heartbeat_ttl <= jmcf->heartbeat_interval) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_heartbeat ttl must be longer than its "
                           "interval");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_jpulse_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_jpulse_loc_conf_t  *jlcf;

    jlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_loc_conf_t));
    if (jlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     jlcf->handler = NGX_HTTP_JPULSE_HANDLER_OTHER;
     */

    jlcf->health_mode = NGX_CONF_UNSET_UINT;
    jlcf->metrics_format = NGX_CONF_UNSET_UINT;
    jlcf->reserved_channels = NGX_CONF_UNSET_UINT;
    jlcf->require_roles = NGX_CONF_UNSET_PTR;

    ngx_http_jpulse_view_conf_init(&jlcf->view);

    return jlcf;
}


static char *
ngx_http_jpulse_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_jpulse_loc_conf_t *prev = parent;
    ngx_http_jpulse_loc_conf_t *conf = child;

    /*
     * An "if" block inside a location keeps that location's content
     * handler but gets a configuration of its own: it must see the
     * handler's settings.
     */

    ngx_conf_merge_uint_value(conf->health_mode, prev->health_mode,
                              NGX_HTTP_JPULSE_HEALTH_BY_URI);
    ngx_conf_merge_uint_value(conf->metrics_format, prev->metrics_format,
                              NGX_HTTP_JPULSE_METRICS_JSON);
    ngx_conf_merge_uint_value(conf->reserved_channels,
                              prev->reserved_channels, 0);
    ngx_conf_merge_ptr_value(conf->require_roles, prev->require_roles, NULL);

    /*
     * the dashboard's handler in an "if": the location's state (a nested
     * location does not inherit the handler, so sharing it is harmless)
     */
    if (conf->dashboard == NULL) {
        conf->dashboard = prev->dashboard;
    }

    /* dynamic HTML: a cache may keep it, but asks before each reuse */
    ngx_conf_merge_str_value(conf->cache_control, prev->cache_control,
                             "no-cache");

    if (ngx_http_jpulse_view_conf_merge(cf, &prev->view, &conf->view)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (conf->handler == NGX_HTTP_JPULSE_HANDLER_RENDER
        && conf->view.view == NULL)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jpulse_render\" needs \"jpulse_view_roots\"");
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static const char  *ngx_http_jpulse_handler_directives[] = {
    NULL,
    "jpulse_health",
    "jpulse_metrics",
    "jpulse_app_cluster_api",
    "jpulse_render",
    "jpulse_cache_api",
    "jpulse_dashboard"
};


char *
ngx_http_jpulse_set_handler(ngx_conf_t *cf, ngx_command_t *cmd,
    ngx_http_jpulse_loc_conf_t *jlcf, ngx_http_jpulse_handler_e handler,
    ngx_http_handler_pt pt)
{
    ngx_http_core_loc_conf_t  *clcf;

    if (jlcf->handler == handler) {
        return "is duplicate";
    }

    if (jlcf->handler != NGX_HTTP_JPULSE_HANDLER_OTHER) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" conflicts with \"%s\" in this location",
                           &cmd->name,
                           ngx_http_jpulse_handler_directives[jlcf->handler]);
        return NGX_CONF_ERROR;
    }

    jlcf->handler = handler;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = pt;

    return NGX_CONF_OK;
}


/*
 * A password_file= of who ("jpulse_redis", "jpulse_mongodb"), read at load
 * time into buf (max + 1 bytes, the caller's: it clears it after use), so
 * that a secret stays out of nginx.conf. *len excludes the blanks and
 * newlines editors leave at the end; it may be 0.
 */

char *
ngx_http_jpulse_conf_read_secret(ngx_conf_t *cf, const char *who,
    ngx_str_t *file, u_char *buf, size_t max, size_t *len)
{
    u_char    *last;
    ssize_t    n;
    ngx_fd_t   fd;

    if (ngx_conf_full_name(cf->cycle, file, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    fd = ngx_open_file(file->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%s: cannot open password_file \"%V\"",
                           who, file);
        return NGX_CONF_ERROR;
    }

    n = ngx_read_fd(fd, buf, max + 1);

    if (ngx_close_file(fd) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_ALERT, cf, ngx_errno,
                           ngx_close_file_n " \"%V\" failed", file);
    }

    if (n == -1) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           "%s: cannot read password_file \"%V\"",
                           who, file);
        return NGX_CONF_ERROR;
    }

    if ((size_t) n > max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "%s: password_file \"%V\" is longer than %uz "
                           "bytes", who, file, max);
        return NGX_CONF_ERROR;
    }

    last = buf + n;

    while (last > buf && (last[-1] == '\n' || last[-1] == '\r'
                          || last[-1] == ' ' || last[-1] == '\t'))
    {
        last--;
    }

    *len = last - buf;

    return NGX_CONF_OK;
}


/* The time after "name=" in a directive parameter: name_len skips it. */

ngx_int_t
ngx_http_jpulse_conf_msec(ngx_str_t *param, size_t name_len,
    ngx_msec_t *msec, ngx_uint_t zero_ok)
{
    ngx_str_t  s;
    ngx_int_t  n;

    s.data = param->data + name_len;
    s.len = param->len - name_len;

    n = ngx_parse_time(&s, 0);

    if (n == NGX_ERROR || (n == 0 && !zero_ok)) {
        return NGX_ERROR;
    }

    *msec = (ngx_msec_t) n;

    return NGX_OK;
}


ngx_http_jpulse_ctx_t *
ngx_http_jpulse_serve(ngx_http_request_t *r, ngx_http_jpulse_handler_e handler)
{
    ngx_http_jpulse_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_jpulse_module);

    if (ctx == NULL) {
        ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_ctx_t));
        if (ctx == NULL) {
            return NULL;
        }

        ngx_http_set_ctx(r, ctx, ngx_http_jpulse_module);
    }

    ctx->handler = handler;

    return ctx;
}


static ngx_int_t
ngx_http_jpulse_postconfiguration(ngx_conf_t *cf)
{
    if (ngx_http_jpulse_mongo_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_access_postconfiguration(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_jpulse_metrics_postconfiguration(cf);
}


static ngx_int_t
ngx_http_jpulse_init_module(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_instance_start(cycle);

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_init_process(ngx_cycle_t *cycle)
{
    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module)
        == NULL)
    {
        /* loaded, but no http{} block */
        return NGX_OK;
    }

    ngx_http_jpulse_instance_init(cycle);

    if (ngx_http_jpulse_metrics_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_redis_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_mongo_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_broadcast_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_view_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_l2_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_siteconfig_init_process(cycle) != NGX_OK
        || ngx_http_jpulse_doctypes_init_process(cycle) != NGX_OK)
    {
        return NGX_ERROR;
    }

    return ngx_http_jpulse_cluster_init_process(cycle);
}


static void
ngx_http_jpulse_exit_process(ngx_cycle_t *cycle)
{
    /* Redis first: its callbacks may still store into the views */
    ngx_http_jpulse_redis_exit_process(cycle);
    ngx_http_jpulse_cluster_exit_process(cycle);
    ngx_http_jpulse_mongo_exit_process(cycle);
    ngx_http_jpulse_l2_exit_process(cycle);
    ngx_http_jpulse_siteconfig_exit_process(cycle);
    ngx_http_jpulse_doctypes_exit_process(cycle);
    ngx_http_jpulse_access_exit_process(cycle);
    ngx_http_jpulse_render_exit_process(cycle);
    ngx_http_jpulse_context_exit_process(cycle);
    ngx_http_jpulse_view_exit_process(cycle);
    ngx_http_jpulse_metrics_exit_process(cycle);
}


static void
ngx_http_jpulse_exit_master(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_cluster_exit_master(cycle);
}


static char *
ngx_http_jpulse_site_id(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t  *jmcf = conf;

    u_char     *p;
    ngx_str_t  *value;

    if (jmcf->site_id.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > NGX_HTTP_JPULSE_SITE_ID_MAX) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_site_id \"%V\": must be 1 to %d "
                           "characters", &value[1],
                           NGX_HTTP_JPULSE_SITE_ID_MAX);
        return NGX_CONF_ERROR;
    }

    /* it becomes the Redis namespace "<siteId>:<mode>:", so no ':' etc. */

    for (p = value[1].data; p < value[1].data + value[1].len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
            || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_')
        {
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_site_id \"%V\": only letters, "
                           "digits, \"-\" and \"_\" are allowed", &value[1]);
        return NGX_CONF_ERROR;
    }

    jmcf->site_id = value[1];

    return NGX_CONF_OK;
}


static char *
ngx_http_jpulse_mode(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t  *jmcf = conf;

    ngx_str_t  *value;

    if (jmcf->mode.data) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if ((value[1].len == 3 && ngx_strncmp(value[1].data, "dev", 3) == 0)
        || (value[1].len == 4 && ngx_strncmp(value[1].data, "prod", 4) == 0))
    {
        jmcf->mode = value[1];
        return NGX_CONF_OK;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid jpulse_mode \"%V\": expected \"dev\" or "
                       "\"prod\"", &value[1]);

    return NGX_CONF_ERROR;
}
