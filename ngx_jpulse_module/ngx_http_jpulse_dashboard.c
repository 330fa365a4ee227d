/*
 * jpulse_dashboard [templates=DIR] [metrics=URI] [refresh=TIME];
 *
 * The cluster's status page. The request takes the metrics path (the
 * local snapshot, then ngx_http_jpulse_cluster_metrics(): the registry
 * and one MGET of the heartbeats, the request parked meanwhile), and the
 * answer jPulse's metrics JSON would be comes back here instead of being
 * sent (ngx_http_jpulse_metrics_answer()). Two more commands then add
 * what only Redis knows: the template generations (<ns>gen) and the
 * cachectl daemons' status records (last publish, refused files). The
 * page is rendered in strict mode (every value escaped: instance and
 * file names come from Redis) from admin/jpulse-dashboard/index.shtml of
 * the location's view roots, else of the shipped templates; the script
 * and the style sheet are served the same way (?asset=js, ?asset=css),
 * so the page needs no inline script or style (CSP).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "jp_time.h"
#include "jp_tpl.h"
#include "jp_version.h"

#include <nginx.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_cluster.h"
#include "ngx_http_jpulse_dashboard.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics_display.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_render.h"
#include "ngx_http_jpulse_session.h"


#define NGX_HTTP_JPULSE_DASHBOARD_PAGE   0
#define NGX_HTTP_JPULSE_DASHBOARD_JS     1
#define NGX_HTTP_JPULSE_DASHBOARD_CSS    2
#define NGX_HTTP_JPULSE_DASHBOARD_FILES  3

/* how often a worker looks at the files again */
#define NGX_HTTP_JPULSE_DASHBOARD_CHECK  1000       /* ms */

/* cachectl daemons whose status records are read */
#define NGX_HTTP_JPULSE_DASHBOARD_DAEMONS  64

/* what an instance does not report */
#define NGX_HTTP_JPULSE_DASHBOARD_DASH  "\xe2\x80\x93"

/* refused files listed per daemon */
#define NGX_HTTP_JPULSE_DASHBOARD_REFUSED  50

/* what is fetched and shown: a status record, generations, rows */
#define NGX_HTTP_JPULSE_DASHBOARD_RECORD   (256 * 1024)
#define NGX_HTTP_JPULSE_DASHBOARD_GENS     64
#define NGX_HTTP_JPULSE_DASHBOARD_ROWS     1024

/* a string of the context, in bytes, before the ellipsis */
#define NGX_HTTP_JPULSE_DASHBOARD_STR      512
#define NGX_HTTP_JPULSE_DASHBOARD_ELLIPSIS  "\xe2\x80\xa6"

#define NGX_HTTP_JPULSE_DASHBOARD_INT_MAX  ((json_int_t) 0x7fffffffffffffffLL)


/* one shipped (or overridden) file, per worker */
typedef struct {
    const char                  *path;
    ngx_uint_t                   loaded;
    uint64_t                     stamp;
    ngx_msec_t                   checked;
    jp_tpl_program_t            *prog;          /* the page */
    char                        *data;          /* the assets (malloc) */
    size_t                       len;
} ngx_http_jpulse_dashboard_file_t;


typedef struct {
    ngx_str_t                    dir;
    ngx_str_t                    metrics;
    ngx_msec_t                   refresh;
    ngx_array_t                 *roots;         /* the location's views */
    jp_tpl_disk_t               *disk;          /* per worker */
    ngx_uint_t                   disk_failed;
    ngx_http_jpulse_dashboard_file_t  files[NGX_HTTP_JPULSE_DASHBOARD_FILES];
} ngx_http_jpulse_dashboard_conf_t;


/* one page request, in r->pool */
typedef struct {
    ngx_http_jpulse_dashboard_conf_t  *dcf;
    json_t                      *answer;        /* the metrics answer */
    json_t                      *generations;
    json_t                      *daemons;       /* [{id, status}] */
    json_int_t                   gens_more;     /* fields not fetched */
    ngx_uint_t                   records;       /* render them */
} ngx_http_jpulse_dashboard_req_t;


static ngx_int_t ngx_http_jpulse_dashboard_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_dashboard_gate(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_dashboard_asset(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf, ngx_uint_t which);
static ngx_int_t ngx_http_jpulse_dashboard_load(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf, ngx_uint_t which);
static ngx_int_t ngx_http_jpulse_dashboard_disk(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf);
static void ngx_http_jpulse_dashboard_generations(ngx_http_request_t *r,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_jpulse_dashboard_fetch_daemons(
    ngx_http_request_t *r, ngx_http_jpulse_dashboard_req_t *dr);
static void ngx_http_jpulse_dashboard_statuses(ngx_http_request_t *r,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_jpulse_dashboard_page(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_req_t *dr);
static json_t *ngx_http_jpulse_dashboard_context(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_req_t *dr);
static json_t *ngx_http_jpulse_dashboard_row(json_t *server,
    json_t *instance);
static json_t *ngx_http_jpulse_dashboard_daemon(json_t *entry);
static u_char *ngx_http_jpulse_dashboard_key(ngx_http_request_t *r,
    const char *what, json_t *id, size_t *len);
static json_t *ngx_http_jpulse_dashboard_clip(json_t *v);
static json_t *ngx_http_jpulse_dashboard_clipn(const char *s, size_t len);
static json_int_t ngx_http_jpulse_dashboard_count(json_t *v,
    const char *path);
static json_t *ngx_http_jpulse_dashboard_get(json_t *v, const char *path);
static json_int_t ngx_http_jpulse_dashboard_int(json_t *v, const char *path);
static json_t *ngx_http_jpulse_dashboard_bytes(json_int_t n);
static json_t *ngx_http_jpulse_dashboard_iso(json_int_t ms);
static ngx_int_t ngx_http_jpulse_dashboard_headers(ngx_http_request_t *r);
static void ngx_http_jpulse_dashboard_req_cleanup(void *data);
static void ngx_http_jpulse_dashboard_conf_cleanup(void *data);


/*
 * The row's fields (dashboard.js PATHS: the same paths): as they are,
 * byte counts written out, arrays counted.
 */
static struct {
    const char  *name;
    const char  *path;
    ngx_uint_t   bytes;
} ngx_http_jpulse_dashboard_fields[] = {
    { "version", "jPulse.version", 0 },
    { "redis", "redis.status", 0 },
    { "mongodb", "database.status", 0 },
    { "rpm", "metrics.requestsPerMin", 0 },
    { "errorRate", "metrics.errorRate", 0 },
    { "requests", "components.http.stats.requests", 0 },
    { "bytesOut", "components.http.stats.bytesOut", 1 },
    { "cacheBytes", "components.module.stats.template_cache_bytes", 1 },
    { "workers", "workers", 0 },
    { "sessions", "components.cachectl.stats.sessions.live", 0 },
    { "refused", "components.cachectl.stats.refused", 0 },
    { "files", "components.cachectl.stats.filesTracked", 0 },
    { NULL, NULL, 0 }
};


static const char  *ngx_http_jpulse_dashboard_paths[] = {
    "admin/jpulse-dashboard/index.shtml",
    "admin/jpulse-dashboard/dashboard.js",
    "admin/jpulse-dashboard/dashboard.css"
};

/*
 * HGETALL of the generations, if there are no more than ARGV[1] fields
 * (else their count), each string cut to ARGV[2] bytes.
 */
static const char  ngx_http_jpulse_dashboard_gen_lua[] =
    "if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then return {} end "
    "local n = redis.call('HLEN', KEYS[1]) "
    "if n > tonumber(ARGV[1]) then return n end "
    "local all = redis.call('HGETALL', KEYS[1]) "
    "local m = tonumber(ARGV[2]) "
    "for i = 1, #all do all[i] = string.sub(all[i], 1, m) end "
    "return all";


static ngx_str_t  ngx_http_jpulse_dashboard_types[] = {
    ngx_string("text/html; charset=utf-8"),
    ngx_string("application/javascript; charset=utf-8"),
    ngx_string("text/css; charset=utf-8")
};

/* the page and its assets come from this server only */
static ngx_str_t  ngx_http_jpulse_dashboard_csp = ngx_string(
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'");


char *
ngx_http_jpulse_dashboard(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t *jlcf = conf;

    ngx_str_t                         *value, s;
    ngx_uint_t                         i;
    ngx_pool_cleanup_t                *cln;
    ngx_http_jpulse_dashboard_conf_t  *dcf;

    if (jlcf->dashboard != NULL) {
        return "is duplicate";
    }

    dcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_dashboard_conf_t));
    if (dcf == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_str_set(&dcf->dir, NGX_HTTP_JPULSE_DASHBOARD_DIR);
    ngx_str_set(&dcf->metrics, "/api/1/health/metrics");
    dcf->refresh = 5000;

    value = cf->args->elts;

    for (i = 1; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "templates=", 10) == 0) {
            s.data = value[i].data + 10;
            s.len = value[i].len - 10;

            if (s.len == 0) {
                goto invalid;
            }

            if (ngx_conf_full_name(cf->cycle, &s, 1) != NGX_OK) {
                return NGX_CONF_ERROR;
            }

            dcf->dir = s;
            continue;
        }

        if (ngx_strncmp(value[i].data, "metrics=", 8) == 0) {
            dcf->metrics.data = value[i].data + 8;
            dcf->metrics.len = value[i].len - 8;

            /* a path of this server: the page's CSP allows no other */
            if (dcf->metrics.len == 0 || dcf->metrics.data[0] != '/'
                || (dcf->metrics.len > 1 && dcf->metrics.data[1] == '/')
                || ngx_strlchr(dcf->metrics.data,
                               dcf->metrics.data + dcf->metrics.len, '\\')
                   != NULL)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(value[i].data, "refresh=", 8) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 8, &dcf->refresh, 0)
                != NGX_OK
                || dcf->refresh < 1000)
            {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_jpulse_dashboard_conf_cleanup;
    cln->data = dcf;

    for (i = 0; i < NGX_HTTP_JPULSE_DASHBOARD_FILES; i++) {
        dcf->files[i].path = ngx_http_jpulse_dashboard_paths[i];
    }

    jlcf->dashboard = dcf;

    return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                       NGX_HTTP_JPULSE_HANDLER_DASHBOARD,
                                       ngx_http_jpulse_dashboard_handler);

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid jpulse_dashboard parameter \"%V\"",
                       &value[i]);
    return NGX_CONF_ERROR;
}


static void
ngx_http_jpulse_dashboard_conf_cleanup(void *data)
{
    ngx_http_jpulse_dashboard_conf_t *dcf = data;

    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_JPULSE_DASHBOARD_FILES; i++) {
        if (dcf->files[i].prog) {
            jp_tpl_free(dcf->files[i].prog);
            dcf->files[i].prog = NULL;
        }

        free(dcf->files[i].data);
        dcf->files[i].data = NULL;
    }

    if (dcf->disk) {
        jp_tpl_disk_destroy(dcf->disk);
        dcf->disk = NULL;
    }
}


static ngx_int_t
ngx_http_jpulse_dashboard_handler(ngx_http_request_t *r)
{
    ngx_int_t                          rc;
    ngx_str_t                          arg, blob;
    ngx_http_jpulse_out_t              out;
    ngx_http_jpulse_snapshot_t         snap;
    ngx_http_jpulse_loc_conf_t        *jlcf;
    ngx_http_jpulse_main_conf_t       *jmcf;
    ngx_http_jpulse_dashboard_conf_t  *dcf;

    if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_DASHBOARD) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_read_only(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    rc = ngx_http_jpulse_dashboard_gate(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);
    dcf = jlcf->dashboard;

    if (dcf == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "jpulse_dashboard: no configuration here");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (dcf->roots == NULL) {
        dcf->roots = jlcf->view.roots;
    }

    if (ngx_http_arg(r, (u_char *) "asset", 5, &arg) == NGX_OK) {
        if (arg.len == 2 && ngx_strncmp(arg.data, "js", 2) == 0) {
            return ngx_http_jpulse_dashboard_asset(r, dcf,
                                            NGX_HTTP_JPULSE_DASHBOARD_JS);
        }

        if (arg.len == 3 && ngx_strncmp(arg.data, "css", 3) == 0) {
            return ngx_http_jpulse_dashboard_asset(r, dcf,
                                            NGX_HTTP_JPULSE_DASHBOARD_CSS);
        }

        return NGX_HTTP_NOT_FOUND;
    }

    /* the page: the template first, so a missing one costs no Redis */

    if (ngx_http_jpulse_dashboard_load(r, dcf, NGX_HTTP_JPULSE_DASHBOARD_PAGE)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    if (ngx_http_jpulse_metrics_snapshot(r->pool, jmcf, &snap) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_out_init(&out, r->pool);

    if (ngx_http_jpulse_metrics_blob(&snap, &out) != NGX_OK
        || ngx_http_jpulse_out_flatten(&out, &blob) != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* comes back through ngx_http_jpulse_dashboard_answer() */

    return ngx_http_jpulse_cluster_metrics(r, &blob);
}


/*
 * jPulse's admin pages: anonymous (or no sessions here: nobody is signed
 * in) the redirect to the error page with code 401; signed in without an
 * admin role, 403.
 */

static ngx_int_t
ngx_http_jpulse_dashboard_gate(ngx_http_request_t *r)
{
    ngx_str_t  msg;

    if (!ngx_http_jpulse_session_enabled(r)
        || !ngx_http_jpulse_access_signed_in(r))
    {
        ngx_str_set(&msg, "Authentication required");
        return ngx_http_jpulse_error_redirect(r, "401", &msg);
    }

    if (!ngx_http_jpulse_access_is_admin(r)) {
        return NGX_HTTP_FORBIDDEN;
    }

    return NGX_DECLINED;
}


ngx_uint_t
ngx_http_jpulse_dashboard_wants(ngx_http_request_t *r)
{
    ngx_http_jpulse_ctx_t  *ctx;

    ctx = ngx_http_jpulse_ctx(r);

    return ctx != NULL && ctx->handler == NGX_HTTP_JPULSE_HANDLER_DASHBOARD;
}


static ngx_int_t
ngx_http_jpulse_dashboard_asset(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf, ngx_uint_t which)
{
    u_char                            *p;
    ngx_http_jpulse_out_t              out;
    ngx_http_jpulse_dashboard_file_t  *f;

    if (ngx_http_jpulse_dashboard_load(r, dcf, which) != NGX_OK) {
        return NGX_HTTP_NOT_FOUND;
    }

    f = &dcf->files[which];

    /* a copy: the next check may replace the file's bytes mid-send */

    p = ngx_pnalloc(r->pool, f->len ? f->len : 1);
    if (p == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_memcpy(p, f->data, f->len);

    if (ngx_http_jpulse_dashboard_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, p, f->len);

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK,
                                    &ngx_http_jpulse_dashboard_types[which]);
}


/*
 * The location's view roots, then the shipped directory; roots that do
 * not exist (yet) are left out, and the set is made again at the next
 * check while one is missing.
 */

static ngx_int_t
ngx_http_jpulse_dashboard_disk(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf)
{
    char             **paths, *p;
    ngx_str_t         *root;
    ngx_uint_t         i, n, nroots, missing;
    ngx_file_info_t    fi;

    nroots = dcf->roots ? dcf->roots->nelts : 0;
    root = dcf->roots ? dcf->roots->elts : NULL;

    paths = ngx_pcalloc(r->pool, (nroots + 1) * sizeof(char *));
    if (paths == NULL) {
        return NGX_ERROR;
    }

    n = 0;
    missing = 0;

    for (i = 0; i <= nroots; i++) {
        p = (char *) ngx_pnalloc(r->pool, (i < nroots ? root[i].len
                                                      : dcf->dir.len) + 1);
        if (p == NULL) {
            return NGX_ERROR;
        }

        if (i < nroots) {
            *ngx_cpymem(p, root[i].data, root[i].len) = '\0';

        } else {
            *ngx_cpymem(p, dcf->dir.data, dcf->dir.len) = '\0';
        }

        if (ngx_file_info(p, &fi) == NGX_FILE_ERROR || !ngx_is_dir(&fi)) {
            missing = 1;
            continue;
        }

        paths[n++] = p;
    }

    if (dcf->disk) {
        jp_tpl_disk_destroy(dcf->disk);
    }

    dcf->disk = jp_tpl_disk_create((const char *const *) paths, n);
    dcf->disk_failed = missing;

    if (dcf->disk == NULL) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "jpulse_dashboard: no template roots");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_dashboard_load(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_conf_t *dcf, ngx_uint_t which)
{
    char                              *src;
    size_t                             len;
    uint64_t                           stamp;
    ngx_msec_t                         now;
    jp_tpl_error_t                     err;
    jp_tpl_program_t                  *prog;
    ngx_http_jpulse_dashboard_file_t  *f;

    f = &dcf->files[which];
    now = ngx_current_msec;

    if (f->loaded && now - f->checked < NGX_HTTP_JPULSE_DASHBOARD_CHECK) {
        return NGX_OK;
    }

    if (dcf->disk == NULL
        || (dcf->disk_failed
            && now - f->checked >= NGX_HTTP_JPULSE_DASHBOARD_CHECK))
    {
        if (ngx_http_jpulse_dashboard_disk(r, dcf) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    f->checked = now;

    if (jp_tpl_disk_stamp(dcf->disk, f->path, 0, &stamp, NULL) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jpulse_dashboard: \"%s\" is in none of the view "
                      "roots nor in \"%V\"", f->path, &dcf->dir);
        return f->loaded ? NGX_OK : NGX_ERROR;
    }

    if (f->loaded && stamp == f->stamp) {
        return NGX_OK;
    }

    if (jp_tpl_disk_read_flags(dcf->disk, f->path, 0, &src, &len) != 0) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jpulse_dashboard: \"%s\" cannot be read", f->path);
        return f->loaded ? NGX_OK : NGX_ERROR;
    }

    if (which != NGX_HTTP_JPULSE_DASHBOARD_PAGE) {
        free(f->data);
        f->data = src;
        f->len = len;

    } else {
        ngx_memzero(&err, sizeof(jp_tpl_error_t));

        prog = jp_tpl_compile(src, len, f->path, NULL, &err);
        free(src);

        if (prog == NULL) {
            /* the last good version stays */
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "jpulse_dashboard: %s:%ud:%ud: %s", err.file,
                          err.line, err.column, err.message);
            return f->loaded ? NGX_OK : NGX_ERROR;
        }

        if (f->prog) {
            jp_tpl_free(f->prog);
        }

        f->prog = prog;
    }

    f->stamp = stamp;
    f->loaded = 1;

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_dashboard_answer(ngx_http_request_t *r, json_t *answer)
{
    u_char                           *key, *gens, *strs;
    u_char                            nums[2 * NGX_INT_T_LEN];
    size_t                            len, argvlen[6];
    const char                       *argv[6];
    ngx_pool_cleanup_t               *cln;
    ngx_http_jpulse_loc_conf_t       *jlcf;
    ngx_http_jpulse_dashboard_req_t  *dr;

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_jpulse_dashboard_req_t));
    if (cln == NULL) {
        json_decref(answer);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    dr = cln->data;
    ngx_memzero(dr, sizeof(ngx_http_jpulse_dashboard_req_t));

    cln->handler = ngx_http_jpulse_dashboard_req_cleanup;

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    dr->dcf = jlcf->dashboard;
    dr->answer = answer;
    dr->records = 1;

    if (dr->dcf == NULL || answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!ngx_http_jpulse_redis_ready()) {
        return ngx_http_jpulse_dashboard_page(r, dr);
    }

    key = ngx_http_jpulse_dashboard_key(r, "gen", NULL, &len);
    if (key == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* a bound on both the count and the strings (the page cuts them) */
    gens = ngx_sprintf(nums, "%d", NGX_HTTP_JPULSE_DASHBOARD_GENS);
    strs = ngx_sprintf(gens, "%d", NGX_HTTP_JPULSE_DASHBOARD_STR + 8);

    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = ngx_http_jpulse_dashboard_gen_lua;
    argvlen[1] = sizeof(ngx_http_jpulse_dashboard_gen_lua) - 1;
    argv[2] = "1";
    argvlen[2] = 1;
    argv[3] = (char *) key;
    argvlen[3] = len;
    argv[4] = (char *) nums;
    argvlen[4] = gens - nums;
    argv[5] = (char *) gens;
    argvlen[5] = strs - gens;

    if (ngx_http_jpulse_redis_request(r, ngx_http_jpulse_dashboard_generations,
                                      dr, 6, argv, argvlen)
        != NGX_OK)
    {
        return ngx_http_jpulse_dashboard_page(r, dr);
    }

    return NGX_DONE;
}


static void
ngx_http_jpulse_dashboard_req_cleanup(void *data)
{
    ngx_http_jpulse_dashboard_req_t *dr = data;

    json_decref(dr->answer);
    json_decref(dr->generations);
    json_decref(dr->daemons);
}


static void
ngx_http_jpulse_dashboard_generations(ngx_http_request_t *r,
    redisReply *reply, void *data)
{
    ngx_http_jpulse_dashboard_req_t *dr = data;

    size_t       i;
    json_t      *gen;
    ngx_int_t    rc;
    redisReply  *k, *v;

    gen = json_array();

    if (reply && reply->type == REDIS_REPLY_INTEGER) {
        /* more fields than the page shows: none fetched */
        dr->gens_more = (json_int_t) reply->integer;
    }

    if (gen && reply && reply->type == REDIS_REPLY_ARRAY) {

        for (i = 0; i + 1 < reply->elements; i += 2) {
            k = reply->element[i];
            v = reply->element[i + 1];

            if (k->type != REDIS_REPLY_STRING
                || v->type != REDIS_REPLY_STRING)
            {
                continue;
            }

            (void) json_array_append_new(gen,
                json_pack("{s:o,s:o}",
                          "kind", ngx_http_jpulse_dashboard_clipn(k->str,
                                                              (size_t) k->len),
                          "gen", ngx_http_jpulse_dashboard_clipn(v->str,
                                                          (size_t) v->len)));
        }
    }

    dr->generations = gen;

    rc = ngx_http_jpulse_dashboard_fetch_daemons(r, dr);

    if (rc == NGX_DONE) {
        /* the MGET holds the request now */
        ngx_http_finalize_request(r, NGX_DONE);
        return;
    }

    ngx_http_finalize_request(r, ngx_http_jpulse_dashboard_page(r, dr));
}


/* the status records of the cachectl daemons the cluster view lists */

static ngx_int_t
ngx_http_jpulse_dashboard_fetch_daemons(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_req_t *dr)
{
    size_t        i, j, len, *argvlen;
    json_t       *servers, *server, *inst, *id, *kind;
    ngx_uint_t    n;
    const char  **argv;

    dr->daemons = json_array();
    if (dr->daemons == NULL) {
        return NGX_ERROR;
    }

    servers = ngx_http_jpulse_dashboard_get(dr->answer, "data.servers");

    /* EVAL script numkeys key... cap total */

    argv = ngx_palloc(r->pool, (NGX_HTTP_JPULSE_DASHBOARD_DAEMONS + 5)
                               * sizeof(char *));
    argvlen = ngx_palloc(r->pool, (NGX_HTTP_JPULSE_DASHBOARD_DAEMONS + 5)
                                  * sizeof(size_t));
    if (argv == NULL || argvlen == NULL) {
        return NGX_ERROR;
    }

    n = 0;

    json_array_foreach(servers, i, server) {
        json_array_foreach(json_object_get(server, "instances"), j, inst) {
            kind = json_object_get(inst, "kind");
            id = json_object_get(inst, "instanceId");

            if (!json_is_string(kind) || !json_is_string(id)
                || ngx_strcmp(json_string_value(kind), "cachectl") != 0
                || n == NGX_HTTP_JPULSE_DASHBOARD_DAEMONS)
            {
                continue;
            }

            /* the entry first: the keys and the entries stay in step */
            if (json_array_append_new(dr->daemons,
                                      json_pack("{s:O}", "instance", inst))
                != 0)
            {
                continue;
            }

            argv[n + 3] = (char *) ngx_http_jpulse_dashboard_key(r,
                                              "cachectl:status:", id, &len);
            if (argv[n + 3] == NULL) {
                return NGX_ERROR;
            }

            argvlen[n + 3] = len;
            n++;
        }
    }

    if (n == 0) {
        return NGX_OK;
    }

    /* no total of its own: n records within the cap never reach this one */

    if (ngx_http_jpulse_mget_capped(r, ngx_http_jpulse_dashboard_statuses, dr,
                                    argv, argvlen, n,
                                    NGX_HTTP_JPULSE_DASHBOARD_RECORD,
                                    n * NGX_HTTP_JPULSE_DASHBOARD_RECORD)
        != NGX_OK)
    {
        return NGX_OK;
    }

    return NGX_DONE;
}


static void
ngx_http_jpulse_dashboard_statuses(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_dashboard_req_t *dr = data;

    size_t         i;
    json_t        *status, *entry;
    redisReply    *v;
    json_error_t   err;

    for (i = 0; reply && reply->type == REDIS_REPLY_ARRAY
                && i < reply->elements
                && i < json_array_size(dr->daemons); i++)
    {
        v = reply->element[i];
        entry = json_array_get(dr->daemons, i);

        if (v->type == REDIS_REPLY_STATUS) {
            /* larger than a status record is: not fetched */
            (void) json_object_set_new(entry, "status",
                json_pack("{s:s,s:s}", "state", "unknown", "message",
                          "status record larger than 256 KB, not shown"));
            continue;
        }

        if (v->type != REDIS_REPLY_STRING) {
            continue;
        }

        status = json_loadb(v->str, v->len, 0, &err);

        if (json_is_object(status)) {
            (void) json_object_set_new(entry, "status", status);

        } else {
            json_decref(status);
        }
    }

    ngx_http_finalize_request(r, ngx_http_jpulse_dashboard_page(r, dr));
}


static ngx_int_t
ngx_http_jpulse_dashboard_page(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_req_t *dr)
{
    json_t                            *ctx;
    jp_tpl_buf_t                       buf;
    jp_tpl_host_t                      host;
    jp_tpl_error_t                     err;
    ngx_http_jpulse_out_t              out;
    ngx_http_jpulse_dashboard_conf_t  *dcf;

    dcf = dr->dcf;

    /* the template again: the worker may have checked it meanwhile */

    if (ngx_http_jpulse_dashboard_load(r, dcf, NGX_HTTP_JPULSE_DASHBOARD_PAGE)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    jp_tpl_disk_host(dcf->disk, &host);

    for ( ;; ) {
        ctx = ngx_http_jpulse_dashboard_context(r, dr);
        if (ctx == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        jp_tpl_buf_init(&buf, 0);
        ngx_memzero(&err, sizeof(jp_tpl_error_t));

        if (jp_tpl_render(dcf->files[NGX_HTTP_JPULSE_DASHBOARD_PAGE].prog,
                          ctx, &host, NULL, JP_TPL_STRICT, &buf, &err)
            == 0)
        {
            json_decref(ctx);
            break;
        }

        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jpulse_dashboard: render failed%s: %s",
                      dr->records ? "" : " without the records",
                      err.message);
        json_decref(ctx);
        jp_tpl_buf_free(&buf);

        if (!dr->records) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* the page is most needed when the cluster is in trouble */
        dr->records = 0;
    }

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, (u_char *) buf.data, buf.len);
    jp_tpl_buf_free(&buf);

    if (ngx_http_jpulse_dashboard_headers(r) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK,
                      &ngx_http_jpulse_dashboard_types[
                                             NGX_HTTP_JPULSE_DASHBOARD_PAGE]);
}


/*
 * The page's context: "dashboard" (where things are), "statistics",
 * "instances" (one row per instance, the fields the script computes the
 * same way from the metrics JSON), "generations" and "cachectl".
 */

static json_t *
ngx_http_jpulse_dashboard_context(ngx_http_request_t *r,
    ngx_http_jpulse_dashboard_req_t *dr)
{
    char                          iso[JP_ISO8601_LEN + 1];
    size_t                        i, j;
    json_t                       *ctx, *rows, *row, *servers, *server;
    json_t                       *inst, *daemons, *d, *stats, *dash, *u;
    ngx_str_t                    *uri;
    json_int_t                    rpm, sessions, more;
    ngx_time_t                   *tp;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);
    uri = &r->uri;
    tp = ngx_timeofday();

    (void) jp_time_iso8601(iso, sizeof(iso), tp->sec, (unsigned) tp->msec);

    rows = json_array();
    daemons = json_array();

    servers = ngx_http_jpulse_dashboard_get(dr->answer, "data.servers");
    stats = ngx_http_jpulse_dashboard_get(dr->answer, "data.statistics");

    more = 0;

    json_array_foreach(servers, i, server) {
        json_array_foreach(json_object_get(server, "instances"), j, inst) {
            if (json_array_size(rows) == NGX_HTTP_JPULSE_DASHBOARD_ROWS) {
                more++;
                continue;
            }

            row = ngx_http_jpulse_dashboard_row(server, inst);
            if (row == NULL || json_array_append_new(rows, row) != 0) {
                json_decref(rows);
                json_decref(daemons);
                return NULL;
            }
        }
    }

    json_array_foreach(dr->records ? dr->daemons : NULL, i, d) {
        (void) json_array_append_new(daemons,
                                     ngx_http_jpulse_dashboard_daemon(d));
    }

    /*
     * The path as nginx decoded it: not UTF-8 (%FF), no JSON string; the
     * page's links are then relative ("?asset=css": this same path).
     */
    u = json_stringn((char *) uri->data, uri->len);
    if (u == NULL) {
        u = json_string("");
    }

    dash = json_pack("{s:o,s:s%,s:I,s:s,s:s%,s:s%,s:s%,s:s,s:s,s:s}",
                     "uri", u,
                     "metrics", dr->dcf->metrics.data, dr->dcf->metrics.len,
                     "refresh", (json_int_t) (dr->dcf->refresh / 1000),
                     "generated", iso,
                     "siteId", jmcf->site_id.data, jmcf->site_id.len,
                     "mode", jmcf->mode.data, jmcf->mode.len,
                     "self", ngx_http_jpulse_instance.instance_id.data,
                     ngx_http_jpulse_instance.instance_id.len,
                     "version", JP_VERSION,
                     "redis", ngx_http_jpulse_redis_configured()
                              ? (ngx_http_jpulse_redis_ready()
                                 ? "connected" : "disconnected")
                              : "not configured",
                     "nginxVersion", NGINX_VERSION);

    /* the sessions every daemon counts are the same: the largest count */

    rpm = 0;
    sessions = 0;

    json_array_foreach(rows, i, row) {
        /* saturating: the figures are whatever the heartbeats say */
        if (__builtin_add_overflow(rpm,
                               ngx_http_jpulse_dashboard_count(row, "rpm"),
                               &rpm))
        {
            rpm = NGX_HTTP_JPULSE_DASHBOARD_INT_MAX;
        }

        sessions = ngx_max(sessions,
                           ngx_http_jpulse_dashboard_count(row, "sessions"));
    }

    ctx = json_pack("{s:o,s:{s:I,s:I,s:I,s:I,s:I},s:o,s:I,s:o,s:O,s:I,"
                    "s:b}",
                    "dashboard", dash,
                    "statistics",
                        "servers",
                        ngx_http_jpulse_dashboard_int(stats, "totalServers"),
                        "instances",
                        ngx_http_jpulse_dashboard_int(stats,
                                                      "totalInstances"),
                        "processes",
                        ngx_http_jpulse_dashboard_int(stats,
                                                      "runningProcesses"),
                        "rpm", rpm,
                        "sessions", sessions,
                    "instances", rows,
                    "instancesMore", more,
                    "cachectl", daemons,
                    "generations", dr->generations && dr->records
                                   ? dr->generations : json_null(),
                    "generationsMore", dr->gens_more,
                    "records", (int) dr->records);

    return ctx;
}


/*
 * One instance as the page shows it; dashboard.js rows() computes the
 * same fields from the metrics JSON. What an instance of its kind does
 * not report (a cachectl daemon serves no requests, a Node peer has no
 * template cache of ours) is an en dash.
 */

static json_t *
ngx_http_jpulse_dashboard_row(json_t *server, json_t *instance)
{
    char        rate[32];
    json_t     *kind, *row, *v, *hits, *misses;
    ngx_uint_t  i;
    json_int_t  h, m;

    kind = json_object_get(instance, "kind");

    row = json_pack("{s:o,s:o?,s:o?,s:o?,s:o?,s:o?,s:o?}",
                    "kind", json_is_string(kind)
                            ? ngx_http_jpulse_dashboard_clip(kind)
                            : json_string(
                                  ngx_http_jpulse_dashboard_int(instance,
                                                                "pm2Id")
                                  == JP_PM2ID_NGINX ? "nginx" : "node"),
                    "host", ngx_http_jpulse_dashboard_clip(
                                json_object_get(server, "hostname")),
                    "id", ngx_http_jpulse_dashboard_clip(
                              json_object_get(instance, "instanceId")),
                    "name", ngx_http_jpulse_dashboard_clip(
                                json_object_get(instance, "instanceName")),
                    "pid", ngx_http_jpulse_dashboard_clip(
                               json_object_get(instance, "pid")),
                    "status", ngx_http_jpulse_dashboard_clip(
                                  json_object_get(instance, "status")),
                    "uptime", ngx_http_jpulse_dashboard_clip(
                                  json_object_get(instance,
                                                  "uptimeFormatted")));
    if (row == NULL) {
        return NULL;
    }

    for (i = 0; ngx_http_jpulse_dashboard_fields[i].name; i++) {
        v = ngx_http_jpulse_dashboard_get(instance,
                                      ngx_http_jpulse_dashboard_fields[i].path);

        if (v == NULL || json_is_null(v)) {
            v = json_string(NGX_HTTP_JPULSE_DASHBOARD_DASH);

        } else if (ngx_http_jpulse_dashboard_fields[i].bytes) {
            v = ngx_http_jpulse_dashboard_bytes(
                    ngx_http_jpulse_dashboard_int(v, ""));

        } else if (json_is_array(v)) {
            v = json_integer((json_int_t) json_array_size(v));

        } else {
            v = ngx_http_jpulse_dashboard_clip(v);
        }

        if (json_object_set_new(row, ngx_http_jpulse_dashboard_fields[i].name,
                                v)
            != 0)
        {
            json_decref(row);
            return NULL;
        }
    }

    hits = ngx_http_jpulse_dashboard_get(instance,
                                 "components.module.stats.template_cache_hits");
    misses = ngx_http_jpulse_dashboard_get(instance,
                               "components.module.stats.template_cache_misses");
    h = ngx_http_jpulse_dashboard_int(hits, "");
    m = ngx_http_jpulse_dashboard_int(misses, "");

    /* in double: h + m may not fit */
    if (h >= 0 && m >= 0 && (h > 0 || m > 0)) {
        (void) ngx_snprintf((u_char *) rate, sizeof(rate), "%.1f%%%Z",
                            (double) h * 100 / ((double) h + (double) m));

    } else {
        ngx_cpystrn((u_char *) rate,
                    (u_char *) NGX_HTTP_JPULSE_DASHBOARD_DASH, sizeof(rate));
    }

    if (json_object_set_new(row, "cacheHitRate", json_string(rate)) != 0) {
        json_decref(row);
        return NULL;
    }

    return row;
}


/* a cachectl daemon: its instance and what its status record says */

static json_t *
ngx_http_jpulse_dashboard_daemon(json_t *entry)
{
    size_t   i;
    json_t  *inst, *status, *d, *refused, *list, *f;

    inst = json_object_get(entry, "instance");
    status = json_object_get(entry, "status");

    d = json_pack("{s:o?,s:o?,s:o?,s:o?,s:o?}",
                  "id", ngx_http_jpulse_dashboard_clip(
                            json_object_get(inst, "instanceId")),
                  "name", ngx_http_jpulse_dashboard_clip(
                              json_object_get(inst, "instanceName")),
                  "uptime", ngx_http_jpulse_dashboard_clip(
                                json_object_get(inst, "uptimeFormatted")),
                  "state", ngx_http_jpulse_dashboard_clip(
                               json_object_get(status, "state")),
                  "message", ngx_http_jpulse_dashboard_clip(
                                 json_object_get(status, "message")));
    if (d == NULL) {
        return NULL;
    }

    (void) json_object_set_new(d, "lastSync",
        ngx_http_jpulse_dashboard_iso(ngx_http_jpulse_dashboard_int(status,
                                                                 "lastSync")));
    (void) json_object_set_new(d, "known", json_boolean(status != NULL));

    refused = json_object_get(status, "refused");
    list = json_array();

    json_array_foreach(refused, i, f) {
        if (i == NGX_HTTP_JPULSE_DASHBOARD_REFUSED) {
            break;
        }

        (void) json_array_append_new(list,
                         json_pack("{s:o?,s:o?}",
                                   "path", ngx_http_jpulse_dashboard_clip(
                                               json_object_get(f, "path")),
                                   "error", ngx_http_jpulse_dashboard_clip(
                                                json_object_get(f, "error"))));
    }

    (void) json_object_set_new(d, "refused", list);
    (void) json_object_set_new(d, "refusedCount",
                        json_integer((json_int_t) json_array_size(refused)));

    return d;
}


/* a dotted path into nested objects; NULL when any step is missing */

static json_t *
ngx_http_jpulse_dashboard_get(json_t *v, const char *path)
{
    char         key[64];
    size_t       n;
    const char  *dot;

    while (v != NULL && *path) {
        dot = ngx_strchr(path, '.');
        n = dot ? (size_t) (dot - path) : ngx_strlen(path);

        if (n >= sizeof(key)) {
            return NULL;
        }

        ngx_memcpy(key, path, n);
        key[n] = '\0';

        v = json_object_get(v, key);
        path += n + (dot ? 1 : 0);
    }

    return v;
}


static json_int_t
ngx_http_jpulse_dashboard_int(json_t *v, const char *path)
{
    double  d;

    v = ngx_http_jpulse_dashboard_get(v, path);

    if (json_is_integer(v)) {
        return json_integer_value(v);
    }

    if (json_is_real(v)) {
        d = json_real_value(v);

        /* clamped: a conversion out of range is undefined */
        if (!(d > 0)) {
            return 0;
        }

        if (d >= 9223372036854775807.0) {
            return NGX_HTTP_JPULSE_DASHBOARD_INT_MAX;
        }

        return (json_int_t) d;
    }

    return 0;
}


/* a counter: a negative one is ignored */

static json_int_t
ngx_http_jpulse_dashboard_count(json_t *v, const char *path)
{
    json_int_t  n;

    n = ngx_http_jpulse_dashboard_int(v, path);

    return n > 0 ? n : 0;
}


/*
 * The dashboard's Redis keys, built here only: <ns>what, <ns>what<id>.
 */

static u_char *
ngx_http_jpulse_dashboard_key(ngx_http_request_t *r, const char *what,
    json_t *id, size_t *len)
{
    u_char                       *key, *p;
    size_t                        n;
    ngx_str_t                    *prefix;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    /*
     * <ns>gen is the l2 group's, cachectl's status records the metrics
     * group's: tagged in cluster mode, so that one EVAL reaches them all
     */
    prefix = id ? &jmcf->ns_metrics : &jmcf->ns_l2;

    n = prefix->len + ngx_strlen(what) + (id ? json_string_length(id) : 0);

    key = ngx_pnalloc(r->pool, n);
    if (key == NULL) {
        return NULL;
    }

    p = ngx_sprintf(key, "%V%s", prefix, what);

    if (id) {
        p = ngx_cpymem(p, json_string_value(id), json_string_length(id));
    }

    *len = p - key;

    return key;
}


/*
 * A value for the context: a string cut to NGX_HTTP_JPULSE_DASHBOARD_STR
 * bytes (on a character's boundary) with an ellipsis, other scalars as
 * they are, objects and arrays (no figure of a row) none.
 */

static json_t *
ngx_http_jpulse_dashboard_clip(json_t *v)
{
    if (v == NULL || json_is_object(v) || json_is_array(v)) {
        return NULL;
    }

    if (!json_is_string(v)) {
        return json_incref(v);
    }

    if (json_string_length(v) <= NGX_HTTP_JPULSE_DASHBOARD_STR) {
        return json_incref(v);
    }

    return ngx_http_jpulse_dashboard_clipn(json_string_value(v),
                                           json_string_length(v));
}


static json_t *
ngx_http_jpulse_dashboard_clipn(const char *s, size_t len)
{
    u_char  buf[NGX_HTTP_JPULSE_DASHBOARD_STR
                + sizeof(NGX_HTTP_JPULSE_DASHBOARD_ELLIPSIS)];
    size_t  n;

    if (len <= NGX_HTTP_JPULSE_DASHBOARD_STR) {
        return json_stringn(s, len);
    }

    n = NGX_HTTP_JPULSE_DASHBOARD_STR;

    /* not inside a UTF-8 sequence */
    while (n > 0 && (s[n] & 0xc0) == 0x80) {
        n--;
    }

    ngx_memcpy(buf, s, n);
    ngx_memcpy(buf + n, NGX_HTTP_JPULSE_DASHBOARD_ELLIPSIS,
               sizeof(NGX_HTTP_JPULSE_DASHBOARD_ELLIPSIS) - 1);

    return json_stringn((char *) buf,
                        n + sizeof(NGX_HTTP_JPULSE_DASHBOARD_ELLIPSIS) - 1);
}


/* 1023 B, 1.5 KB, 12.0 MB: as dashboard.js bytes() writes them */

static json_t *
ngx_http_jpulse_dashboard_bytes(json_int_t n)
{
    u_char       buf[32], *p;
    double       d;
    ngx_uint_t   u;
    static char *units[] = { "B", "KB", "MB", "GB", "TB" };

    if (n < 1024) {
        p = ngx_snprintf(buf, sizeof(buf), "%L B", (int64_t) ngx_max(n, 0));
        return json_stringn((char *) buf, p - buf);
    }

    d = (double) n;

    for (u = 0; d >= 1024 && u < 4; u++) {
        d /= 1024;
    }

    p = ngx_snprintf(buf, sizeof(buf), "%.1f %s", d, units[u]);

    return json_stringn((char *) buf, p - buf);
}


static json_t *
ngx_http_jpulse_dashboard_iso(json_int_t ms)
{
    char  iso[JP_ISO8601_LEN + 1];

    if (ms <= 0) {
        return json_null();
    }

    (void) jp_time_iso8601(iso, sizeof(iso), (time_t) (ms / 1000),
                           (unsigned) (ms % 1000));

    return json_string(iso);
}


static ngx_int_t
ngx_http_jpulse_dashboard_headers(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Content-Security-Policy");
    h->value = ngx_http_jpulse_dashboard_csp;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Content-Type-Options");
    ngx_str_set(&h->value, "nosniff");

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "X-Frame-Options");
    ngx_str_set(&h->value, "DENY");

    return NGX_OK;
}
