/*
 * L1 lookups for a render (see ngx_http_jpulse_lookup.h).
 *
 * An entry is fresh while its epoch is the cache's (no invalidation since)
 * and, from Redis, while Redis is usable, or, from disk, for
 * check_interval after its last check. A stale entry is revalidated by
 * the etag in Redis's index or by the file's stamp on disk, and rebuilt
 * only when those moved. A rebuild that fails to compile keeps the last
 * good value and remembers the stamp that failed, so the error is logged
 * once per version of the file.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_lookup.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_render.h"


static ngx_http_jpulse_tentry_t *ngx_http_jpulse_lookup_usable(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e);
static ngx_uint_t ngx_http_jpulse_lookup_fresh(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e);
static ngx_int_t ngx_http_jpulse_lookup_need(ngx_http_jpulse_render_ctx_t *rc,
    ngx_uint_t kind, ngx_str_t *lang, u_char *path, size_t len);
static ngx_uint_t ngx_http_jpulse_lookup_spa(
    ngx_http_jpulse_render_ctx_t *rc, char *name, char *src, size_t len,
    ngx_uint_t from);
static ngx_http_jpulse_tentry_t *ngx_http_jpulse_lookup_build(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e,
    ngx_uint_t kind, u_char *path, size_t len, char *src, size_t src_len,
    ngx_uint_t from, uint64_t stamp, int64_t mtime);
static void ngx_http_jpulse_lookup_revalidated(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e);
static ngx_http_jpulse_tentry_t *ngx_http_jpulse_lookup_failed(
    ngx_http_jpulse_render_ctx_t *rc, ngx_http_jpulse_tentry_t *e,
    ngx_uint_t from, uint64_t stamp);
static int ngx_http_jpulse_host_read(void *data, const char *path,
    char **src, size_t *len);
static int ngx_http_jpulse_host_mtime(void *data, const char *path,
    int64_t *ms);
static int ngx_http_jpulse_host_list(void *data, const char *dir,
    jp_tpl_list_pt cb, void *arg);
static int64_t ngx_http_jpulse_host_now(void *data);
static const jp_tpl_program_t *ngx_http_jpulse_host_program(void *data,
    const char *path, json_t *i18n, jp_tpl_error_t *err);


/* programs embed their translations (jPulse's i18n pre-pass) */
#define ngx_http_jpulse_lookup_deps_ok(rc, e)                                 \
    ((e)->kind == NGX_HTTP_JPULSE_T_RAW || (e)->deps == (rc)->i18n_stamp)

#define ngx_http_jpulse_lookup_lang(rc, kind)                                 \
    (((kind) == NGX_HTTP_JPULSE_T_PAGE || (kind) == NGX_HTTP_JPULSE_T_INCLUDE)\
     ? &(rc)->lang : NULL)


/* an entry that never compiled is no page: the caller answers 500 */

static ngx_http_jpulse_tentry_t *
ngx_http_jpulse_lookup_usable(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e)
{
    if (e->broken && e->value == NULL) {
        rc->broken = 1;
        return NULL;
    }

    return e;
}


static ngx_uint_t
ngx_http_jpulse_lookup_fresh(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e)
{
    ngx_http_jpulse_view_rt_t  *rt = rc->rt;

    if (e->epoch != (e->kind == NGX_HTTP_JPULSE_T_I18N ? rt->i18n_epoch
                                                        : rt->cache.epoch))
    {
        return 0;
    }

    if ((e->kind == NGX_HTTP_JPULSE_T_PAGE
         || e->kind == NGX_HTTP_JPULSE_T_INCLUDE)
        && e->deps != rc->i18n_stamp)
    {
        return 0;
    }

    if (e->from == NGX_HTTP_JPULSE_FROM_REDIS && ngx_http_jpulse_l2_usable()) {
        return 1;
    }

    /* from disk, or from Redis while it is away: the disk is asked again
     * after the interval */
    return ngx_current_msec - e->checked < rt->view->check_interval;
}


static ngx_int_t
ngx_http_jpulse_lookup_need(ngx_http_jpulse_render_ctx_t *rc,
    ngx_uint_t kind, ngx_str_t *lang, u_char *path, size_t len)
{
    ngx_uint_t               i;
    ngx_http_jpulse_need_t  *need;

    need = rc->needs->elts;

    for (i = 0; i < rc->needs->nelts; i++) {
        if (need[i].kind == kind && need[i].path.len == len
            && ngx_strncmp(need[i].path.data, path, len) == 0
            && (lang == NULL
                || (need[i].lang.len == lang->len
                    && ngx_strncmp(need[i].lang.data, lang->data,
                                   lang->len) == 0)))
        {
            return NGX_OK;
        }
    }

    need = ngx_array_push(rc->needs);
    if (need == NULL) {
        return NGX_ERROR;
    }

    need->kind = kind;
    need->path.len = len;
    need->path.data = ngx_pstrdup(rc->request->pool,
                                  &(ngx_str_t) { len, path });
    if (need->path.data == NULL && len) {
        return NGX_ERROR;
    }

    if (lang) {
        need->lang = *lang;

    } else {
        ngx_str_null(&need->lang);
    }

    return NGX_OK;
}


/* Redis first unless it said it has none this epoch, then the disk */

static ngx_uint_t
ngx_http_jpulse_lookup_ask_l2(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e, ngx_uint_t epoch)
{
    if (rc->no_l2 || !ngx_http_jpulse_l2_usable()) {
        return 0;
    }

    return !(e && e->not_l2 && e->epoch == epoch);
}


void
ngx_http_jpulse_lookup_i18n(ngx_http_jpulse_render_ctx_t *rc)
{
    u_char                     *p, path[NGX_MAX_PATH];
    json_t                     *j;
    uint64_t                    stamp;
    ngx_str_t                   file;
    json_error_t                err;
    ngx_file_info_t             fi;
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;
    rc->i18n = NULL;
    rc->i18n_stamp = 0;

    e = ngx_http_jpulse_tcache_find(&rt->cache, NGX_HTTP_JPULSE_T_I18N,
                                    &rc->lang, (u_char *) "", 0);

    if (e && ngx_http_jpulse_lookup_fresh(rc, e)) {
        goto found;
    }

    if (ngx_http_jpulse_lookup_ask_l2(rc, e, rt->i18n_epoch)) {
        (void) ngx_http_jpulse_lookup_need(rc, NGX_HTTP_JPULSE_T_I18N,
                                           &rc->lang, (u_char *) "", 0);
        return;
    }

    if (e == NULL) {
        e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_I18N,
                                       &rc->lang, (u_char *) "", 0);
        if (e == NULL) {
            return;
        }

        e->not_l2 = ngx_http_jpulse_l2_usable() && !rc->no_l2;
    }

    e->checked = ngx_current_msec;
    e->epoch = rt->i18n_epoch;

    if (rt->view->i18n_dir.len == 0
        || rt->view->i18n_dir.len + rc->lang.len + 7 > sizeof(path))
    {
        goto found;
    }

    p = ngx_sprintf(path, "%V/%V.json", &rt->view->i18n_dir, &rc->lang);
    *p = '\0';

    file.data = path;
    file.len = p - path;

    if (ngx_file_info(path, &fi) == NGX_FILE_ERROR) {
        /* none on disk: while Redis is away its copy beats none */
        if (e->from != NGX_HTTP_JPULSE_FROM_REDIS
            || ngx_http_jpulse_l2_usable())
        {
            e->broken = 0;
            ngx_http_jpulse_tcache_set(&rt->cache, e, NULL, 0, 0);
            e->from = NGX_HTTP_JPULSE_FROM_NONE;
        }

        goto found;
    }

    stamp = ((uint64_t) ngx_file_mtime(&fi) << 32)
            ^ ((uint64_t) fi.st_mtim.tv_nsec << 1)
            ^ ((uint64_t) ngx_file_size(&fi) << 20)
            ^ (uint64_t) ngx_file_uniq(&fi);

    if (e->stamp == stamp && e->from != NGX_HTTP_JPULSE_FROM_REDIS) {
        goto found;
    }

    e->stamp = stamp;

    j = json_load_file((char *) path, 0, &err);

    if (!json_is_object(j)) {
        ngx_log_error(NGX_LOG_ERR, rc->request->connection->log, 0,
                      "jpulse i18n \"%V\": line %d, column %d: %s; keeping "
                      "the previous translations", &file, err.line,
                      err.column, j ? "not a JSON object" : err.text);
        json_decref(j);
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);

        /* with no good copy, remembered out of the negative pool */
        if (e->value == NULL) {
            e->broken = 1;
            ngx_http_jpulse_tcache_set(&rt->cache, e, NULL, 0, 0);
        }

        goto found;
    }

    e->from = NGX_HTTP_JPULSE_FROM_DISK;
    e->broken = 0;
    ngx_http_jpulse_tcache_set(&rt->cache, e, j, 0,
                               (size_t) ngx_file_size(&fi) * 3);

found:

    if (e->value) {
        rc->i18n = e->value;
        rc->i18n_stamp = e->stamp ^ e->from;
    }
}


ngx_http_jpulse_tentry_t *
ngx_http_jpulse_lookup(ngx_http_jpulse_render_ctx_t *rc, ngx_uint_t kind,
    u_char *path, size_t len, ngx_uint_t append)
{
    char                       *src, cpath[NGX_MAX_PATH];
    size_t                      src_len;
    int64_t                     mtime;
    uint64_t                    stamp;
    ngx_int_t                   rc2;
    ngx_str_t                  *lang;
    ngx_http_jpulse_tentry_t   *e, *s;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;
    lang = ngx_http_jpulse_lookup_lang(rc, kind);

    e = ngx_http_jpulse_tcache_find(&rt->cache, kind, lang, path, len);

    if (e && ngx_http_jpulse_lookup_fresh(rc, e)) {
        rt->cache.hits++;
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_CACHE_HITS, 1);
        return ngx_http_jpulse_lookup_usable(rc, e);
    }

    rt->cache.misses++;
    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_CACHE_MISSES, 1);

    if (ngx_http_jpulse_lookup_ask_l2(rc, e, rt->cache.epoch)) {

        rc2 = ngx_http_jpulse_l2_index_lookup(path, len, &stamp, &mtime);

        if (rc2 == NGX_AGAIN) {
            (void) ngx_http_jpulse_lookup_need(rc, NGX_HTTP_JPULSE_NEED_INDEX,
                                               NULL, (u_char *) "", 0);
            return NULL;
        }

        if (rc2 == NGX_OK) {
            if (e && e->stamp == stamp
            && ngx_http_jpulse_lookup_deps_ok(rc, e)
                && (e->from == NGX_HTTP_JPULSE_FROM_REDIS || e->broken))
            {
                ngx_http_jpulse_lookup_revalidated(rc, e);
                return ngx_http_jpulse_lookup_usable(rc, e);
            }

            s = ngx_http_jpulse_tcache_find(&rt->cache,
                                            NGX_HTTP_JPULSE_T_SOURCE, NULL,
                                            path, len);

            if (s == NULL || s->epoch != rt->cache.epoch
                || (!s->not_l2 && s->stamp != stamp))
            {
                (void) ngx_http_jpulse_lookup_need(rc,
                                                   NGX_HTTP_JPULSE_T_SOURCE,
                                                   NULL, path, len);
                return NULL;
            }

            if (!s->not_l2) {
                /* the source moves into the entry built from it */
                src = s->value;
                src_len = s->len;
                mtime = s->mtime;
                s->value = NULL;
                ngx_http_jpulse_tcache_remove(&rt->cache, s);

                return ngx_http_jpulse_lookup_build(rc, e, kind, path, len,
                                                    src, src_len,
                                                    NGX_HTTP_JPULSE_FROM_REDIS,
                                                    stamp, mtime);
            }

            /* gone from Redis since the index was read */
            ngx_http_jpulse_tcache_remove(&rt->cache, s);
        }

        /* not in Redis: the disk, and Redis is not asked again this epoch */
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&rt->cache, kind, lang, path, len);
            if (e == NULL) {
                return NULL;
            }
        }

        e->not_l2 = 1;
    }

    if (len >= sizeof(cpath) || rt->disk == NULL) {
        return NULL;
    }

    ngx_memcpy(cpath, path, len);
    cpath[len] = '\0';

    if (jp_tpl_disk_stamp(rt->disk, cpath, append ? JP_TPL_DISK_APPEND : 0,
                          &stamp, &mtime) != 0)
    {
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&rt->cache, kind, lang, path, len);
            if (e == NULL) {
                return NULL;
            }
        }

        /*
         * Redis down (or its index unreadable), or this request's fetch
         * could not go out or failed (no_l2: a cluster node failing over
         * while the others answer), and no file here: the copy from Redis
         * still serves. Only an index read this epoch says it is gone.
         */
        if (e->from != NGX_HTTP_JPULSE_FROM_REDIS
            || (!rc->no_l2 && ngx_http_jpulse_l2_reachable()))
        {
            e->broken = 0;
            ngx_http_jpulse_tcache_set(&rt->cache, e, NULL, 0, 0);
            e->from = NGX_HTTP_JPULSE_FROM_NONE;

            /* jPulse reads a directory and fails: its 500, not a 404 */
            e->dir = !append && jp_tpl_disk_is_dir(rt->disk, cpath) == 1;

        } else if (rc->no_l2 && ngx_http_jpulse_l2_reachable()) {
            /*
             * For this request only: Redis answers others, so the next
             * one asks its index again (the page may be gone).
             */
            return e;
        }

        ngx_http_jpulse_lookup_revalidated(rc, e);
        return e;
    }

    if (e && e->stamp == stamp
            && ngx_http_jpulse_lookup_deps_ok(rc, e)
        && (e->from == NGX_HTTP_JPULSE_FROM_DISK || e->broken))
    {
        ngx_http_jpulse_lookup_revalidated(rc, e);
        return ngx_http_jpulse_lookup_usable(rc, e);
    }

    if (jp_tpl_disk_read_flags(rt->disk, cpath,
                               append ? JP_TPL_DISK_APPEND : 0,
                               &src, &src_len) != 0)
    {
        ngx_log_error(NGX_LOG_ERR, rc->request->connection->log, ngx_errno,
                      "jpulse: cannot read \"%s\" from the view roots%s",
                      cpath, e && e->value ? "; serving the last good version"
                                           : "");
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);

        /* remembered as a version that does not build: said once */
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&rt->cache, kind, lang, path, len);
            if (e == NULL) {
                return NULL;
            }
        }

        return ngx_http_jpulse_lookup_failed(rc, e, NGX_HTTP_JPULSE_FROM_DISK,
                                             stamp);
    }

    return ngx_http_jpulse_lookup_build(rc, e, kind, path, len, src, src_len,
                                        NGX_HTTP_JPULSE_FROM_DISK, stamp,
                                        mtime);
}


static void
ngx_http_jpulse_lookup_revalidated(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e)
{
    e->epoch = rc->rt->cache.epoch;
    e->checked = ngx_current_msec;
}


/*
 * jPulse's verdict on a namespace, kept with its index page and rebuilt
 * with it (jPulse keeps it for the life of the process): "<ns>/index.shtml"
 * whose raw text, before any processing, has one of the markers, from the
 * site or the framework. A plugin's index is never one; from Redis, which
 * holds the first root's file, that cannot be told: the text decides.
 */

static ngx_uint_t
ngx_http_jpulse_lookup_spa(ngx_http_jpulse_render_ctx_t *rc, char *name,
    char *src, size_t len, ngx_uint_t from)
{
    char  *slash;

    slash = strchr(name, '/');

    if (slash == NULL || slash == name
        || ngx_strcmp(slash, "/" NGX_HTTP_JPULSE_SPA_INDEX) != 0
        || !jp_tpl_disk_is_spa(src, len))
    {
        return 0;
    }

    if (from == NGX_HTTP_JPULSE_FROM_DISK && rc->rt->disk != NULL
        && jp_tpl_disk_in_plugin(rc->rt->disk, name) != 0)
    {
        return 0;
    }

    return 1;
}


/*
 * Builds the value of kind from src (malloc()ed, taken over). A compile
 * error keeps e's last good program: logged once, counted.
 */

static ngx_http_jpulse_tentry_t *
ngx_http_jpulse_lookup_build(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e, ngx_uint_t kind, u_char *path, size_t len,
    char *src, size_t src_len, ngx_uint_t from, uint64_t stamp,
    int64_t mtime)
{
    char                        name[NGX_MAX_PATH], *p;
    size_t                      size;
    ngx_uint_t                  not_l2, spa;
    jp_tpl_error_t              err;
    jp_tpl_program_t           *prog;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;
    not_l2 = e ? e->not_l2 : 0;

    spa = 0;

    if (kind == NGX_HTTP_JPULSE_T_RAW) {
        /* the ETag's digest is computed once, and kept after the bytes */
        p = realloc(src, src_len + NGX_HTTP_JPULSE_DIGEST_LEN + 1);
        if (p == NULL) {
            free(src);
            return NULL;
        }

        src = p;
        ngx_http_jpulse_render_digest((u_char *) src, src_len,
                                      (u_char *) src + src_len);
        src[src_len + NGX_HTTP_JPULSE_DIGEST_LEN] = '\0';

        prog = (jp_tpl_program_t *) src;
        size = src_len + NGX_HTTP_JPULSE_DIGEST_LEN;

    } else {
        ngx_memcpy(name, path, ngx_min(len, sizeof(name) - 1));
        name[ngx_min(len, sizeof(name) - 1)] = '\0';

        if (kind == NGX_HTTP_JPULSE_T_PAGE) {
            spa = ngx_http_jpulse_lookup_spa(rc, name, src, src_len, from);
        }

        prog = kind == NGX_HTTP_JPULSE_T_PAGE
               ? jp_tpl_compile(src, src_len, name, rc->i18n, &err)
               : jp_tpl_compile_include(src, src_len, name, NULL, &err);

        free(src);

        if (prog == NULL) {
            ngx_log_error(NGX_LOG_ERR, rc->request->connection->log, 0,
                          "jpulse template %s:%ui:%ui: %s (from %s)%s",
                          err.file, (ngx_uint_t) err.line,
                          (ngx_uint_t) err.column, err.message,
                          from == NGX_HTTP_JPULSE_FROM_REDIS ? "redis"
                                                             : "disk",
                          e && e->value ? "; serving the last good version"
                                        : "");
            ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);

            if (e == NULL) {
                e = ngx_http_jpulse_tcache_add(&rt->cache, kind,
                                        ngx_http_jpulse_lookup_lang(rc, kind),
                                        path, len);
                if (e == NULL) {
                    rc->broken = 1;
                    return NULL;
                }

                e->not_l2 = not_l2;
            }

            return ngx_http_jpulse_lookup_failed(rc, e, from, stamp);
        }

        size = jp_tpl_program_size(prog);
    }

    if (e == NULL) {
        e = ngx_http_jpulse_tcache_add(&rt->cache, kind,
                                       ngx_http_jpulse_lookup_lang(rc, kind),
                                       path, len);
        if (e == NULL) {
            if (kind == NGX_HTTP_JPULSE_T_RAW) {
                free(src);

            } else {
                jp_tpl_free(prog);
            }

            return NULL;
        }
    }

    e->from = from;
    e->broken = 0;
    e->spa = spa;
    e->dir = 0;
    e->digest = (kind == NGX_HTTP_JPULSE_T_RAW);
    e->not_l2 = not_l2;
    e->stamp = stamp;
    e->deps = rc->i18n_stamp;
    e->mtime = mtime;
    ngx_http_jpulse_lookup_revalidated(rc, e);

    ngx_http_jpulse_tcache_set(&rt->cache, e, prog, src_len, size);

    return e;
}


/*
 * The version stamp of e's file does not build (compile error, cannot be
 * read): e keeps its last good value, or with none it stays as a broken
 * entry in the templates' pool, where no flood of unknown paths evicts it,
 * so the error is logged again only when the file changes.
 */

static ngx_http_jpulse_tentry_t *
ngx_http_jpulse_lookup_failed(ngx_http_jpulse_render_ctx_t *rc,
    ngx_http_jpulse_tentry_t *e, ngx_uint_t from, uint64_t stamp)
{
    e->broken = 1;
    e->stamp = stamp;
    e->deps = rc->i18n_stamp;
    ngx_http_jpulse_lookup_revalidated(rc, e);

    if (e->value == NULL) {
        e->from = from;
        ngx_http_jpulse_tcache_set(&rc->rt->cache, e, NULL, 0, 0);
    }

    return ngx_http_jpulse_lookup_usable(rc, e);
}


void
ngx_http_jpulse_lookup_host(ngx_http_jpulse_render_ctx_t *rc)
{
    ngx_memzero(&rc->host, sizeof(jp_tpl_host_t));

    rc->host.data = rc;
    rc->host.read = ngx_http_jpulse_host_read;
    rc->host.mtime = ngx_http_jpulse_host_mtime;
    rc->host.list = ngx_http_jpulse_host_list;
    rc->host.now = ngx_http_jpulse_host_now;
    rc->host.program = ngx_http_jpulse_host_program;
}


static const jp_tpl_program_t *
ngx_http_jpulse_host_program(void *data, const char *path, json_t *i18n,
    jp_tpl_error_t *err)
{
    ngx_http_jpulse_render_ctx_t  *rc = data;

    ngx_http_jpulse_tentry_t  *e;

    e = ngx_http_jpulse_lookup(rc, NGX_HTTP_JPULSE_T_INCLUDE, (u_char *) path,
                               ngx_strlen(path), 0);

    if (e != NULL && e->value != NULL) {
        return e->value;
    }

    ngx_cpystrn((u_char *) err->file, (u_char *) path, sizeof(err->file));
    err->line = 0;
    err->column = 0;
    ngx_cpystrn((u_char *) err->message,
                (u_char *) (e ? "file not found"
                              : rc->broken ? "does not compile"
                                           : "not loaded yet"),
                sizeof(err->message));

    rc->broken = 0;

    return NULL;
}


static int
ngx_http_jpulse_host_read(void *data, const char *path, char **src,
    size_t *len)
{
    ngx_http_jpulse_render_ctx_t  *rc = data;

    char                      *p;
    ngx_http_jpulse_tentry_t  *e;

    e = ngx_http_jpulse_lookup(rc, NGX_HTTP_JPULSE_T_RAW, (u_char *) path,
                               ngx_strlen(path), 0);

    if (e == NULL || e->value == NULL) {
        return -1;
    }

    p = malloc(e->len + 1);
    if (p == NULL) {
        return -1;
    }

    ngx_memcpy(p, e->value, e->len);
    p[e->len] = '\0';

    *src = p;
    *len = e->len;

    return 0;
}


static int
ngx_http_jpulse_host_mtime(void *data, const char *path, int64_t *ms)
{
    ngx_http_jpulse_render_ctx_t  *rc = data;

    int64_t                     mtime;
    uint64_t                    stamp;
    ngx_int_t                   rc2;
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    if (!rc->no_l2) {
        rc2 = ngx_http_jpulse_l2_index_lookup((u_char *) path,
                                              ngx_strlen(path), &stamp, ms);
        if (rc2 == NGX_OK) {
            return 0;
        }

        if (rc2 == NGX_AGAIN) {
            (void) ngx_http_jpulse_lookup_need(rc, NGX_HTTP_JPULSE_NEED_INDEX,
                                               NULL, (u_char *) "", 0);
            return -1;
        }
    }

    e = ngx_http_jpulse_tcache_find(&rt->cache, NGX_HTTP_JPULSE_T_STAT, NULL,
                                    (u_char *) path, ngx_strlen(path));

    if (e == NULL || !ngx_http_jpulse_lookup_fresh(rc, e)) {
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_STAT,
                                           NULL, (u_char *) path,
                                           ngx_strlen(path));
            if (e == NULL) {
                return -1;
            }
        }

        e->from = (rt->disk != NULL
                   && jp_tpl_disk_stamp(rt->disk, path,
                                        jp_tpl_disk_is_append(path)
                                        ? JP_TPL_DISK_APPEND : 0,
                                        &stamp, &mtime) == 0)
                  ? NGX_HTTP_JPULSE_FROM_DISK : NGX_HTTP_JPULSE_FROM_NONE;
        e->mtime = e->from == NGX_HTTP_JPULSE_FROM_DISK ? mtime : 0;
        ngx_http_jpulse_lookup_revalidated(rc, e);
    }

    if (e->from == NGX_HTTP_JPULSE_FROM_NONE) {
        /* not on disk; Redis away: what it held when last reached */
        if (!rc->no_l2
            && ngx_http_jpulse_l2_index_kept((u_char *) path,
                                             ngx_strlen(path), ms)
               == NGX_OK)
        {
            return 0;
        }

        return -1;
    }

    *ms = e->mtime;

    return 0;
}


typedef struct {
    u_char     *names;
    size_t      len;
    size_t      cap;
    ngx_log_t  *log;
} ngx_http_jpulse_names_t;


static int
ngx_http_jpulse_host_collect(void *arg, const char *name, size_t len)
{
    ngx_http_jpulse_names_t  *n = arg;

    u_char  *p;
    size_t   cap;

    if (n->len + len + 1 > n->cap) {
        cap = ngx_max(n->cap * 2, n->len + len + 256);

        p = ngx_alloc(cap, n->log);
        if (p == NULL) {
            return -1;
        }

        if (n->names) {
            ngx_memcpy(p, n->names, n->len);
            ngx_free(n->names);
        }

        n->names = p;
        n->cap = cap;
    }

    ngx_memcpy(n->names + n->len, name, len);
    n->len += len;
    n->names[n->len++] = '\0';

    return 0;
}


static int
ngx_http_jpulse_host_list(void *data, const char *dir, jp_tpl_list_pt cb,
    void *arg)
{
    ngx_http_jpulse_render_ctx_t  *rc = data;

    u_char                     *p, *end;
    size_t                      len;
    int64_t                     mtime;
    uint64_t                    stamp;
    ngx_int_t                   rc2;
    jp_tpl_host_t               disk;
    ngx_http_jpulse_names_t     n;
    ngx_http_jpulse_tentry_t   *e;
    ngx_http_jpulse_view_rt_t  *rt;

    rt = rc->rt;

    if (!rc->no_l2 && ngx_http_jpulse_l2_usable()) {
        rc2 = ngx_http_jpulse_l2_index_lookup((u_char *) "", 0, &stamp,
                                              &mtime);
        if (rc2 == NGX_AGAIN) {
            (void) ngx_http_jpulse_lookup_need(rc, NGX_HTTP_JPULSE_NEED_INDEX,
                                               NULL, (u_char *) "", 0);
            return -1;
        }

        rc2 = ngx_http_jpulse_l2_index_list(dir, cb, arg);

        if (rc2 != NGX_DECLINED) {
            return rc2 == NGX_OK ? 0 : -1;
        }
    }

    len = ngx_strlen(dir);

    e = ngx_http_jpulse_tcache_find(&rt->cache, NGX_HTTP_JPULSE_T_LIST, NULL,
                                    (u_char *) dir, len);

    if (e == NULL || !ngx_http_jpulse_lookup_fresh(rc, e)) {
        ngx_memzero(&n, sizeof(ngx_http_jpulse_names_t));
        n.log = rc->request->connection->log;

        if (rt->disk != NULL) {
            jp_tpl_disk_host(rt->disk, &disk);
        }

        if (rt->disk == NULL
            || disk.list(disk.data, dir, ngx_http_jpulse_host_collect, &n)
               != 0)
        {
            ngx_free(n.names);
            return -1;
        }

        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&rt->cache, NGX_HTTP_JPULSE_T_LIST,
                                           NULL, (u_char *) dir, len);
            if (e == NULL) {
                ngx_free(n.names);
                return -1;
            }
        }

        e->from = NGX_HTTP_JPULSE_FROM_DISK;
        ngx_http_jpulse_lookup_revalidated(rc, e);
        ngx_http_jpulse_tcache_set(&rt->cache, e, n.names, n.len, n.cap);
    }

    p = e->value;
    end = p ? p + e->len : NULL;

    while (p < end) {
        len = ngx_strlen(p);

        if (cb(arg, (char *) p, len) != 0) {
            return -1;
        }

        p += len + 1;
    }

    return 0;
}


static int64_t
ngx_http_jpulse_host_now(void *data)
{
    ngx_time_t  *tp;

    tp = ngx_timeofday();

    return (int64_t) tp->sec * 1000 + tp->msec;
}
