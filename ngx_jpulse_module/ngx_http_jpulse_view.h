/*
 * View sets: what jpulse_view_roots, jpulse_config, jpulse_i18n_dir,
 * jpulse_template_cache_size and jpulse_template_check_interval describe
 * together. Locations with equal settings share one set, and each worker
 * keeps one runtime per set: the disk host, the L1 cache and the config
 * as templates see it.
 */

#ifndef NGX_HTTP_JPULSE_VIEW_H
#define NGX_HTTP_JPULSE_VIEW_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_tpl.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_tcache.h"


/* what an invalidation covers */
typedef enum {
    NGX_HTTP_JPULSE_INV_VIEW = 0,
    NGX_HTTP_JPULSE_INV_CONFIG,
    NGX_HTTP_JPULSE_INV_I18N,
    NGX_HTTP_JPULSE_INV_KINDS
} ngx_http_jpulse_inv_e;


typedef struct ngx_http_jpulse_view_rt_s  ngx_http_jpulse_view_rt_t;


/*
 * appConfig as a page sees it (contextFilter applied, system.htmlAttrs and
 * the theme's defaults added) for one "lang theme" and signed-in state,
 * shared by reference by the contexts of every request that renders it
 * while the config in force does not change.
 */
#define NGX_HTTP_JPULSE_APPCONFIGS     8
#define NGX_HTTP_JPULSE_APPCONFIG_KEY  64

typedef struct {
    json_t                     *config;     /* NULL: free slot */
    ngx_uint_t                  version;    /* rt->config_version */
    ngx_uint_t                  authenticated;
    size_t                      len;
    u_char                      variant[NGX_HTTP_JPULSE_APPCONFIG_KEY];
} ngx_http_jpulse_appconfig_t;

typedef struct ngx_http_jpulse_view_s {
    ngx_array_t                *roots;          /* of ngx_str_t, NUL-ended */
    ngx_str_t                   config_path;
    ngx_str_t                   i18n_dir;
    size_t                      cache_size;
    ngx_msec_t                  check_interval;
    json_t                     *config;         /* as loaded by nginx -t */
    ngx_http_jpulse_view_rt_t  *rt;             /* this worker's */
} ngx_http_jpulse_view_t;


struct ngx_http_jpulse_view_rt_s {
    ngx_http_jpulse_view_t     *view;
    jp_tpl_disk_t              *disk;
    ngx_http_jpulse_tcache_t    cache;
    ngx_uint_t                  i18n_epoch;
    ngx_log_t                  *log;

    /* the roots resolved again: a release swapped behind a symlink */
    ngx_msec_t                  roots_checked;
    unsigned                    roots_failing:1;    /* that one is logged */

    /* the config file, revalidated like the templates */
    json_t                     *config_file;
    uint64_t                    config_stamp;
    ngx_msec_t                  config_checked;
    ngx_uint_t                  config_version;     /* derived from */

    /* derived from the effective config (Redis's cfg:app, else the file) */
    json_t                     *effective;     /* config in force */
    json_t                     *anon_config;    /* contextFilter withoutAuth */
    json_t                     *auth_config;    /* withAuth */
    json_t                     *raw_exts;
    json_t                     *content_types;
    const char                 *default_lang;
    const char                 *default_theme;
    const char                 *default_template;
    ngx_uint_t                  max_depth;

    ngx_http_jpulse_appconfig_t appconfigs[NGX_HTTP_JPULSE_APPCONFIGS];
    ngx_uint_t                  appconfig_next;     /* replaced next */

    /*
     * appConfig.system.themes from the view roots' themes/ (jp_themes),
     * and the colour scheme of every theme CSS: looked at again after a
     * check interval or an invalidation of the views; a change is a
     * config change (kept pages and appConfig variants go).
     */
    json_t                     *themes;
    json_t                     *theme_schemes;
    ngx_msec_t                  themes_checked;
    ngx_uint_t                  themes_epoch;       /* rt->cache.epoch */

    /* siteConfig.broadcast.message compiled, for the config it is from */
    jp_tpl_program_t           *broadcast;
    ngx_uint_t                  broadcast_version;
};


/* instance-wide invalidation counters, bumped by the cache API */
typedef struct {
    ngx_atomic_t                gen[NGX_HTTP_JPULSE_INV_KINDS];
} ngx_http_jpulse_view_shm_t;


extern ngx_http_jpulse_view_shm_t  *ngx_http_jpulse_view_shm;


void ngx_http_jpulse_view_conf_init(ngx_http_jpulse_view_conf_t *vc);
char *ngx_http_jpulse_view_conf_merge(ngx_conf_t *cf,
    ngx_http_jpulse_view_conf_t *prev, ngx_http_jpulse_view_conf_t *conf);

char *ngx_http_jpulse_view_roots(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_jpulse_view_path(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

ngx_int_t ngx_http_jpulse_view_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_view_exit_process(ngx_cycle_t *cycle);

/* catches up with invalidations and config changes before a request */
void ngx_http_jpulse_view_sync(ngx_http_jpulse_view_rt_t *rt);

/* a config source (the file, Redis) changed: runtimes re-derive */
void ngx_http_jpulse_view_config_changed(void);

/* flushes kind in every view set of this worker */
void ngx_http_jpulse_view_invalidate(ngx_uint_t kind);

/* bumps kind's instance-wide counter (every worker follows) */
void ngx_http_jpulse_view_invalidate_instance(ngx_uint_t kind);

/* the sum over this worker's caches, for metrics and the stats API */
void ngx_http_jpulse_view_totals(ngx_cycle_t *cycle, size_t *bytes,
    ngx_uint_t *entries, ngx_uint_t *by_kind);

ngx_array_t *ngx_http_jpulse_view_sets(void);

/* the colour scheme of a theme name: "light" when it has no CSS */
const char *ngx_http_jpulse_view_color_scheme(ngx_http_jpulse_view_rt_t *rt,
    ngx_str_t *theme);

/*
 * A language or theme name: 1-32 of [A-Za-z0-9_-]. They go into the
 * page as raw HTML (appConfig.system.htmlAttrs), into file names
 * (<i18n_dir>/<lang>.json) and into Redis keys: nothing else may pass.
 */
ngx_uint_t ngx_http_jpulse_view_token(u_char *p, size_t len);


#endif /* NGX_HTTP_JPULSE_VIEW_H */
