/*
 * ngx_http_jpulse_module: module definition, identity directives and the
 * configuration life cycle. Each concern lives in its own file:
 *   ngx_http_jpulse_health.c           jpulse_health
 *   ngx_http_jpulse_metrics.c          jpulse_metrics_zone, counting
 *   ngx_http_jpulse_metrics_display.c  jpulse_metrics (JSON, Prometheus)
 *   ngx_http_jpulse_instance.c         who this nginx instance is
 *   ngx_http_jpulse_out.c              JSON responses and envelopes
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"


#define NGX_HTTP_JPULSE_SITE_ID_MAX  64


static void *ngx_http_jpulse_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_jpulse_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_jpulse_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_jpulse_init_process(ngx_cycle_t *cycle);
static void ngx_http_jpulse_exit_process(ngx_cycle_t *cycle);

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
    NULL,                                  /* init module */
    ngx_http_jpulse_init_process,          /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_jpulse_exit_process,          /* exit process */
    NULL,                                  /* exit master */
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
     */

    return jmcf;
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
     *     jlcf->health_mode = NGX_HTTP_JPULSE_HEALTH_BY_URI;
     *     jlcf->metrics_format = NGX_HTTP_JPULSE_METRICS_JSON;
     */

    return jlcf;
}


static char *
ngx_http_jpulse_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    /*
     * Nothing is inherited: like every content handler, jpulse_health and
     * jpulse_metrics belong to the location they are written in, and so do
     * the settings that go with them.
     */

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_postconfiguration(ngx_conf_t *cf)
{
    return ngx_http_jpulse_metrics_postconfiguration(cf);
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

    return ngx_http_jpulse_metrics_init_process(cycle);
}


static void
ngx_http_jpulse_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_metrics_exit_process(cycle);
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
