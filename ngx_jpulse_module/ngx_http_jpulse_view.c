/*
 * View sets and their per-worker runtimes (see ngx_http_jpulse_view.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_config.h"
#include "jp_themes.h"
#include "ngx_http_jpulse_view.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_metrics.h"


#define NGX_HTTP_JPULSE_VIEW_CACHE_SIZE   (32 * 1024 * 1024)
#define NGX_HTTP_JPULSE_VIEW_INTERVAL     1000
#define NGX_HTTP_JPULSE_VIEW_DEPTH_MAX    64


static ngx_int_t ngx_http_jpulse_view_same(ngx_http_jpulse_view_conf_t *vc,
    ngx_http_jpulse_view_t *v);
static json_t *ngx_http_jpulse_view_load(ngx_conf_t *cf, ngx_log_t *log,
    ngx_str_t *path);
static void ngx_http_jpulse_view_json_cleanup(void *data);
static ngx_int_t ngx_http_jpulse_view_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static ngx_http_jpulse_view_rt_t *ngx_http_jpulse_view_rt_create(
    ngx_http_jpulse_view_t *view, ngx_log_t *log);
static void ngx_http_jpulse_view_check_config(ngx_http_jpulse_view_rt_t *rt);
static void ngx_http_jpulse_view_check_roots(ngx_http_jpulse_view_rt_t *rt);
static void ngx_http_jpulse_view_derive(ngx_http_jpulse_view_rt_t *rt);
static void ngx_http_jpulse_view_themes(ngx_http_jpulse_view_rt_t *rt);
static uint64_t ngx_http_jpulse_view_stamp(ngx_str_t *path);


ngx_http_jpulse_view_shm_t  *ngx_http_jpulse_view_shm;

/* this worker's sets, from the cycle's main conf */
static ngx_array_t          *ngx_http_jpulse_views;
static ngx_atomic_uint_t     ngx_http_jpulse_view_seen[NGX_HTTP_JPULSE_INV_KINDS];

/* bumped whenever any config source changes; runtimes re-derive */
static ngx_uint_t            ngx_http_jpulse_config_generation = 1;


void
ngx_http_jpulse_view_conf_init(ngx_http_jpulse_view_conf_t *vc)
{
    /*
     * set by ngx_pcalloc():
     *
     *     vc->config_path = { 0, NULL };
     *     vc->i18n_dir = { 0, NULL };
     *     vc->view = NULL;
     */

    vc->roots = NGX_CONF_UNSET_PTR;
    vc->cache_size = NGX_CONF_UNSET_SIZE;
    vc->check_interval = NGX_CONF_UNSET_MSEC;
}


char *
ngx_http_jpulse_view_conf_merge(ngx_conf_t *cf,
    ngx_http_jpulse_view_conf_t *prev, ngx_http_jpulse_view_conf_t *conf)
{
    ngx_uint_t                    i;
    ngx_pool_cleanup_t           *cln;
    ngx_http_jpulse_view_t       *v, **vp;
    ngx_http_jpulse_main_conf_t  *jmcf;

    ngx_conf_merge_ptr_value(conf->roots, prev->roots, NULL);
    ngx_conf_merge_str_value(conf->config_path, prev->config_path, "");
    ngx_conf_merge_str_value(conf->i18n_dir, prev->i18n_dir, "");
    ngx_conf_merge_size_value(conf->cache_size, prev->cache_size,
                              NGX_HTTP_JPULSE_VIEW_CACHE_SIZE);
    ngx_conf_merge_msec_value(conf->check_interval, prev->check_interval,
                              NGX_HTTP_JPULSE_VIEW_INTERVAL);

    if (conf->roots == NULL) {
        return NGX_CONF_OK;
    }

    if (conf->cache_size < 64 * 1024) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_template_cache_size must be at least 64k");
        return NGX_CONF_ERROR;
    }

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jpulse_module);

    vp = jmcf->views->elts;

    for (i = 0; i < jmcf->views->nelts; i++) {
        if (ngx_http_jpulse_view_same(conf, vp[i])) {
            conf->view = vp[i];
            return NGX_CONF_OK;
        }
    }

    v = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_view_t));
    if (v == NULL) {
        return NGX_CONF_ERROR;
    }

    v->roots = conf->roots;
    v->config_path = conf->config_path;
    v->i18n_dir = conf->i18n_dir;
    v->cache_size = conf->cache_size;
    v->check_interval = conf->check_interval;

    if (v->config_path.len) {
        /* nginx -t names a broken config file and its line */
        v->config = ngx_http_jpulse_view_load(cf, cf->log, &v->config_path);
        if (v->config == NULL) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            json_decref(v->config);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_jpulse_view_json_cleanup;
        cln->data = v->config;
    }

    vp = ngx_array_push(jmcf->views);
    if (vp == NULL) {
        return NGX_CONF_ERROR;
    }

    *vp = v;
    conf->view = v;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_view_same(ngx_http_jpulse_view_conf_t *vc,
    ngx_http_jpulse_view_t *v)
{
    ngx_uint_t   i;
    ngx_str_t   *a, *b;

    if (vc->roots->nelts != v->roots->nelts
        || vc->cache_size != v->cache_size
        || vc->check_interval != v->check_interval
        || vc->config_path.len != v->config_path.len
        || vc->i18n_dir.len != v->i18n_dir.len
        || ngx_strncmp(vc->config_path.data, v->config_path.data,
                       v->config_path.len) != 0
        || ngx_strncmp(vc->i18n_dir.data, v->i18n_dir.data,
                       v->i18n_dir.len) != 0)
    {
        return 0;
    }

    a = vc->roots->elts;
    b = v->roots->elts;

    for (i = 0; i < v->roots->nelts; i++) {
        if (a[i].len != b[i].len
            || ngx_strncmp(a[i].data, b[i].data, a[i].len) != 0)
        {
            return 0;
        }
    }

    return 1;
}


/* a JSON object from path; NULL with the reason logged */

static json_t *
ngx_http_jpulse_view_load(ngx_conf_t *cf, ngx_log_t *log, ngx_str_t *path)
{
    json_t        *j;
    json_error_t   err;

    j = json_load_file((char *) path->data, 0, &err);

    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
        ngx_cpystrn((u_char *) err.text, (u_char *) "not a JSON object",
                    sizeof(err.text));
        err.line = 1;
        err.column = 1;
    }

    if (j == NULL && err.line < 1) {
        /* not a syntax error: the file itself (missing, unreadable) */
        if (cf) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "jpulse_config: %s",
                               err.text);
        } else {
            ngx_log_error(NGX_LOG_ERR, log, 0, "jpulse_config: %s; keeping "
                          "the previous config", err.text);
        }

    } else if (j == NULL) {
        if (cf) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_config \"%V\": line %d, column %d: %s",
                               path, err.line, err.column, err.text);
        } else {
            ngx_log_error(NGX_LOG_ERR, log, 0,
                          "jpulse_config \"%V\": line %d, column %d: %s; "
                          "keeping the previous config",
                          path, err.line, err.column, err.text);
        }
    }

    return j;
}


static void
ngx_http_jpulse_view_json_cleanup(void *data)
{
    json_decref(data);
}


char *
ngx_http_jpulse_view_roots(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t  *jlcf = conf;

    ngx_str_t                    *value, *root, name;
    ngx_uint_t                    i;
    ngx_file_info_t               fi;
    ngx_shm_zone_t               *zone;
    ngx_http_jpulse_main_conf_t  *jmcf;

    if (jlcf->view.roots != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    jlcf->view.roots = ngx_array_create(cf->pool, cf->args->nelts - 1,
                                        sizeof(ngx_str_t));
    if (jlcf->view.roots == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {
        root = ngx_array_push(jlcf->view.roots);
        if (root == NULL) {
            return NGX_CONF_ERROR;
        }

        *root = value[i];

        if (ngx_conf_full_name(cf->cycle, root, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        if (ngx_file_info(root->data, &fi) == NGX_FILE_ERROR
            || !ngx_is_dir(&fi))
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                               "jpulse_view_roots: \"%V\" is not a "
                               "directory", root);
            return NGX_CONF_ERROR;
        }
    }

    /* one small zone for instance-wide invalidations */

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jpulse_module);

    if (jmcf->views_zone == NULL) {
        ngx_str_set(&name, "jpulse_views");

        zone = ngx_shared_memory_add(cf, &name, 8 * ngx_pagesize,
                                     &ngx_http_jpulse_module);
        if (zone == NULL) {
            return NGX_CONF_ERROR;
        }

        zone->init = ngx_http_jpulse_view_init_zone;
        jmcf->views_zone = zone;
    }

    return NGX_CONF_OK;
}


/* jpulse_config FILE, jpulse_i18n_dir DIR: a path relative to the prefix */

char *
ngx_http_jpulse_view_path(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    json_t     *j;
    ngx_str_t  *field, *value;

    field = (ngx_str_t *) (p + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    *field = value[1];

    if (field->len == 0) {
        return "takes a path";
    }

    if (ngx_conf_full_name(cf->cycle, field, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    if (cmd->offset == offsetof(ngx_http_jpulse_loc_conf_t,
                                view.config_path))
    {
        /* errors name this line; the set loads it again when merged */
        j = ngx_http_jpulse_view_load(cf, cf->log, field);
        if (j == NULL) {
            return NGX_CONF_ERROR;
        }

        json_decref(j);
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_view_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_slab_pool_t             *shpool;
    ngx_http_jpulse_view_shm_t  *sh;

    if (data) {
        shm_zone->data = data;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    sh = ngx_slab_calloc(shpool, sizeof(ngx_http_jpulse_view_shm_t));
    if (sh == NULL) {
        return NGX_ERROR;
    }

    shpool->data = sh;
    shm_zone->data = sh;

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_view_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i, k;
    ngx_http_jpulse_view_t      **vp;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    ngx_http_jpulse_views = jmcf->views;

    if (jmcf->views_zone) {
        ngx_http_jpulse_view_shm = jmcf->views_zone->data;

        for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
            ngx_http_jpulse_view_seen[k] = ngx_http_jpulse_view_shm->gen[k];
        }
    }

    vp = jmcf->views->elts;

    for (i = 0; i < jmcf->views->nelts; i++) {
        vp[i]->rt = ngx_http_jpulse_view_rt_create(vp[i], cycle->log);
        if (vp[i]->rt == NULL) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


void
ngx_http_jpulse_view_exit_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                  i, k;
    ngx_http_jpulse_view_t    **vp;
    ngx_http_jpulse_view_rt_t  *rt;

    if (ngx_http_jpulse_views == NULL) {
        return;
    }

    vp = ngx_http_jpulse_views->elts;

    for (i = 0; i < ngx_http_jpulse_views->nelts; i++) {
        rt = vp[i]->rt;

        if (rt == NULL) {
            continue;
        }

        for (k = 0; k < NGX_HTTP_JPULSE_APPCONFIGS; k++) {
            json_decref(rt->appconfigs[k].config);
        }

        if (rt->broadcast) {
            jp_tpl_free(rt->broadcast);
        }

        json_decref(rt->themes);
        json_decref(rt->theme_schemes);
        ngx_http_jpulse_tcache_destroy(&rt->cache);
        jp_tpl_disk_destroy(rt->disk);
        json_decref(rt->config_file);
        json_decref(rt->effective);
        json_decref(rt->anon_config);
        json_decref(rt->auth_config);
        ngx_free(rt);
        vp[i]->rt = NULL;
    }

    ngx_http_jpulse_views = NULL;
}


ngx_array_t *
ngx_http_jpulse_view_sets(void)
{
    return ngx_http_jpulse_views;
}


static ngx_http_jpulse_view_rt_t *
ngx_http_jpulse_view_rt_create(ngx_http_jpulse_view_t *view, ngx_log_t *log)
{
    ngx_str_t                  *root;
    ngx_uint_t                  i;
    const char                **paths;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = ngx_calloc(sizeof(ngx_http_jpulse_view_rt_t), log);
    if (rt == NULL) {
        return NULL;
    }

    rt->view = view;
    rt->log = log;

    if (ngx_http_jpulse_tcache_init(&rt->cache, view->cache_size, log)
        != NGX_OK)
    {
        ngx_free(rt);
        return NULL;
    }

    paths = ngx_alloc(view->roots->nelts * sizeof(char *), log);
    if (paths == NULL) {
        ngx_http_jpulse_tcache_destroy(&rt->cache);
        ngx_free(rt);
        return NULL;
    }

    root = view->roots->elts;

    for (i = 0; i < view->roots->nelts; i++) {
        paths[i] = (const char *) root[i].data;
    }

    rt->disk = jp_tpl_disk_create(paths, view->roots->nelts);
    rt->roots_checked = ngx_current_msec;
    ngx_free(paths);

    if (rt->disk == NULL) {
        /* e.g. the worker's user may not read them: Redis still serves */
        ngx_log_error(NGX_LOG_ALERT, log, ngx_errno,
                      "jpulse_view_roots: this worker cannot open the view "
                      "roots; only what Redis holds will be served");
    }

    if (view->config) {
        rt->config_file = json_incref(view->config);
        rt->config_stamp = ngx_http_jpulse_view_stamp(&view->config_path);
        rt->config_checked = ngx_current_msec;
    }

    ngx_http_jpulse_view_themes(rt);
    ngx_http_jpulse_view_derive(rt);

    return rt;
}


void
ngx_http_jpulse_view_sync(ngx_http_jpulse_view_rt_t *rt)
{
    ngx_uint_t  k;

    ngx_http_jpulse_l2_sync();

    if (ngx_http_jpulse_view_shm) {
        for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
            if (ngx_http_jpulse_view_seen[k]
                != ngx_http_jpulse_view_shm->gen[k])
            {
                ngx_http_jpulse_view_seen[k] =
                                           ngx_http_jpulse_view_shm->gen[k];
                ngx_http_jpulse_view_invalidate(k);
            }
        }
    }

    if (rt->disk
        && ngx_current_msec - rt->roots_checked >= rt->view->check_interval)
    {
        ngx_http_jpulse_view_check_roots(rt);
    }

    if (rt->view->config_path.len
        && ngx_current_msec - rt->config_checked
           >= rt->view->check_interval)
    {
        ngx_http_jpulse_view_check_config(rt);
    }

    if (ngx_current_msec - rt->themes_checked >= rt->view->check_interval
        || rt->themes_epoch != rt->cache.epoch)
    {
        ngx_http_jpulse_view_themes(rt);
    }

    if (rt->config_version != ngx_http_jpulse_config_generation) {
        ngx_http_jpulse_view_derive(rt);
    }
}


/*
 * A deploy that swaps a release directory behind a symlink moves a root:
 * everything read from disk through the old path goes, as after an
 * invalidation of the views, so the next requests read the new release.
 */

static void
ngx_http_jpulse_view_check_roots(ngx_http_jpulse_view_rt_t *rt)
{
    int         rc;
    size_t      i;
    ngx_str_t  *root;

    rt->roots_checked = ngx_current_msec;

    rc = jp_tpl_disk_refresh(rt->disk, &i);

    if (rc == 1) {
        root = rt->view->roots->elts;

        ngx_log_error(NGX_LOG_NOTICE, rt->log, 0,
                      "jpulse_view_roots: \"%V\" now leads to \"%s\": "
                      "the templates on disk are read again",
                      &root[i], jp_tpl_disk_root(rt->disk, i));

        ngx_http_jpulse_tcache_flush(&rt->cache);
        rt->roots_failing = 0;
        return;
    }

    if (rc == -1 && !rt->roots_failing) {
        ngx_log_error(NGX_LOG_WARN, rt->log, ngx_errno,
                      "jpulse_view_roots: a view root no longer resolves; "
                      "its last real path is kept");
    }

    rt->roots_failing = (rc == -1);
}


/*
 * jPulse lists the themes on every request; here once per check interval
 * (a readdir per root and the few small theme files), like templates.
 */

static void
ngx_http_jpulse_view_themes(ngx_http_jpulse_view_rt_t *rt)
{
    json_t         *list, *schemes;
    jp_tpl_host_t   host;

    rt->themes_checked = ngx_current_msec;
    rt->themes_epoch = rt->cache.epoch;

    if (rt->disk) {
        jp_tpl_disk_host(rt->disk, &host);

    } else {
        /* Redis only: jPulse's built-in light and dark */
        ngx_memzero(&host, sizeof(jp_tpl_host_t));
    }

    schemes = NULL;

    list = jp_themes_discover(&host, &schemes);
    if (list == NULL) {
        /* no memory: keep what we had */
        return;
    }

    if (rt->themes != NULL && json_equal(list, rt->themes)
        && json_equal(schemes, rt->theme_schemes))
    {
        json_decref(list);
        json_decref(schemes);
        return;
    }

    if (rt->themes != NULL) {
        /* what pages show changed: as for a config change */
        ngx_http_jpulse_config_generation++;
    }

    json_decref(rt->themes);
    json_decref(rt->theme_schemes);

    rt->themes = list;
    rt->theme_schemes = schemes;
}


const char *
ngx_http_jpulse_view_color_scheme(ngx_http_jpulse_view_rt_t *rt,
    ngx_str_t *theme)
{
    json_t  *v;

    v = json_object_getn(rt->theme_schemes, (char *) theme->data,
                         theme->len);

    return json_is_string(v) ? json_string_value(v) : "light";
}


static void
ngx_http_jpulse_view_check_config(ngx_http_jpulse_view_rt_t *rt)
{
    json_t    *j;
    uint64_t   stamp;

    rt->config_checked = ngx_current_msec;

    stamp = ngx_http_jpulse_view_stamp(&rt->view->config_path);

    if (stamp == rt->config_stamp) {
        return;
    }

    /* a broken edit is logged once and the last good config kept */
    rt->config_stamp = stamp;

    j = ngx_http_jpulse_view_load(NULL, rt->log, &rt->view->config_path);
    if (j == NULL) {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
        return;
    }

    json_decref(rt->config_file);
    rt->config_file = j;
    ngx_http_jpulse_config_generation++;
}


/* what identifies the file's version: changes with any edit or rename */

static uint64_t
ngx_http_jpulse_view_stamp(ngx_str_t *path)
{
    ngx_file_info_t  fi;

    if (ngx_file_info(path->data, &fi) == NGX_FILE_ERROR) {
        return 0;
    }

    return ((uint64_t) ngx_file_mtime(&fi) << 32)
           ^ ((uint64_t) fi.st_mtim.tv_nsec << 1)
           ^ ((uint64_t) ngx_file_size(&fi) << 20)
           ^ (uint64_t) ngx_file_uniq(&fi);
}


static void
ngx_http_jpulse_view_derive(ngx_http_jpulse_view_rt_t *rt)
{
    json_t      *config, *anon, *auth, *j;
    ngx_uint_t   i;

    config = ngx_http_jpulse_l2_app_config();

    if (config == NULL) {
        config = rt->config_file;
    }

    if (config == NULL) {
        config = json_object();
        if (config == NULL) {
            return;
        }

    } else {
        json_incref(config);
    }

    anon = jp_config_context(config, 0);
    auth = jp_config_context(config, 1);

    if (anon == NULL || auth == NULL) {
        /* no memory: keep what we had, try again on the next request */
        json_decref(anon);
        json_decref(auth);
        json_decref(config);
        return;
    }

    json_decref(rt->effective);
    json_decref(rt->anon_config);
    json_decref(rt->auth_config);

    /* requests that still render one hold their own reference */
    for (i = 0; i < NGX_HTTP_JPULSE_APPCONFIGS; i++) {
        json_decref(rt->appconfigs[i].config);
        rt->appconfigs[i].config = NULL;
    }

    /* rt->effective holds the effective config; the rest points into it */
    rt->effective = config;
    rt->anon_config = anon;
    rt->auth_config = auth;

    j = jp_config_get(config, "controller.view.rawExtensions");
    rt->raw_exts = json_is_array(j) ? j : NULL;

    j = jp_config_get(config, "controller.view.contentTypes");
    rt->content_types = json_is_object(j) ? j : NULL;

    rt->default_lang = jp_config_str(config, "utils.i18n.default", "en");
    rt->default_theme = jp_config_str(config, "utils.theme.default",
                                      "light");

    if (!ngx_http_jpulse_view_token((u_char *) rt->default_lang,
                                    ngx_strlen(rt->default_lang)))
    {
        rt->default_lang = "en";
    }

    if (!ngx_http_jpulse_view_token((u_char *) rt->default_theme,
                                    ngx_strlen(rt->default_theme)))
    {
        rt->default_theme = "light";
    }
    rt->default_template = jp_config_str(config,
                                         "controller.view.defaultTemplate",
                                         "index.shtml");

    if (strchr(rt->default_template, '/') != NULL
        || rt->default_template[0] == '.')
    {
        rt->default_template = "index.shtml";
    }

    rt->max_depth = (ngx_uint_t) jp_config_int(config,
                                  "controller.handlebar.maxIncludeDepth", 10);

    if (rt->max_depth == 0 || rt->max_depth > NGX_HTTP_JPULSE_VIEW_DEPTH_MAX) {
        rt->max_depth = 10;
    }

    rt->config_version = ngx_http_jpulse_config_generation;
}


void
ngx_http_jpulse_view_config_changed(void)
{
    ngx_http_jpulse_config_generation++;
}


void
ngx_http_jpulse_view_invalidate(ngx_uint_t kind)
{
    ngx_uint_t                  i;
    ngx_http_jpulse_view_t    **vp;
    ngx_http_jpulse_view_rt_t  *rt;

    if (ngx_http_jpulse_views == NULL) {
        return;
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse view: invalidate %ui", kind);

    vp = ngx_http_jpulse_views->elts;

    for (i = 0; i < ngx_http_jpulse_views->nelts; i++) {
        rt = vp[i]->rt;

        if (rt == NULL) {
            continue;
        }

        switch (kind) {

        case NGX_HTTP_JPULSE_INV_VIEW:
            ngx_http_jpulse_tcache_flush(&rt->cache);
            break;

        case NGX_HTTP_JPULSE_INV_I18N:
            rt->i18n_epoch++;
            break;

        default: /* NGX_HTTP_JPULSE_INV_CONFIG */
            rt->config_checked = ngx_current_msec - rt->view->check_interval;
            rt->config_stamp = 0;
            ngx_http_jpulse_config_generation++;
        }
    }

    if (kind == NGX_HTTP_JPULSE_INV_VIEW) {
        ngx_http_jpulse_l2_index_stale();
    }
}


void
ngx_http_jpulse_view_invalidate_instance(ngx_uint_t kind)
{
    if (ngx_http_jpulse_view_shm) {
        (void) ngx_atomic_fetch_add(&ngx_http_jpulse_view_shm->gen[kind], 1);
        return;
    }

    ngx_http_jpulse_view_invalidate(kind);
}


void
ngx_http_jpulse_view_totals(ngx_cycle_t *cycle, size_t *bytes,
    ngx_uint_t *entries, ngx_uint_t *by_kind)
{
    ngx_uint_t                  i;
    ngx_http_jpulse_view_t    **vp;
    ngx_http_jpulse_view_rt_t  *rt;

    *bytes = ngx_http_jpulse_l2_bytes();
    *entries = 0;

    if (by_kind) {
        ngx_memzero(by_kind, NGX_HTTP_JPULSE_T_KINDS * sizeof(ngx_uint_t));
    }

    if (ngx_http_jpulse_views == NULL) {
        return;
    }

    vp = ngx_http_jpulse_views->elts;

    for (i = 0; i < ngx_http_jpulse_views->nelts; i++) {
        rt = vp[i]->rt;

        if (rt == NULL) {
            continue;
        }

        *bytes += rt->cache.bytes;
        *entries += rt->cache.count;

        if (by_kind == NULL) {
            continue;
        }

        ngx_http_jpulse_tcache_kinds(&rt->cache, by_kind);
    }
}


ngx_uint_t
ngx_http_jpulse_view_token(u_char *p, size_t len)
{
    u_char  *last;

    if (len == 0 || len > 32) {
        return 0;
    }

    for (last = p + len; p < last; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
        {
            return 0;
        }
    }

    return 1;
}
