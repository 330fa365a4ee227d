/*
 * jpulse_search: jPulse's paginated search (contract §3) as a content
 * handler, a module of its own in the same .so. Its configuration is
 * read once at configuration time (the schema, the projection, the
 * cursor keys); a request is parsed and its find built here, in the
 * event loop, and the find runs on a thread (ngx_http_jpulse_search_run.c)
 * while the request is parked.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jp_search.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_search.h"


#define NGX_HTTP_JPULSE_SEARCH_FILE_MAX  65536   /* schema, projection */
#define NGX_HTTP_JPULSE_SECRET_FILE_MAX  4096


typedef struct {
    ngx_str_t                   collection;     /* NUL-terminated */
    jp_search_schema_t         *schema;
    json_t                     *projection;
    ngx_str_t                   message;        /* "... {{count}} ..." */
    ngx_array_t                *keys;           /* jp_search_key_t */
    ngx_flag_t                  fallback;
} ngx_http_jpulse_search_loc_conf_t;


typedef struct {
    jp_search_request_t         req;
    ngx_msec_t                  start;
} ngx_http_jpulse_search_ctx_t;


static void *ngx_http_jpulse_search_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_search_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);
static ngx_int_t ngx_http_jpulse_search_postconfiguration(ngx_conf_t *cf);
static char *ngx_http_jpulse_search(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_jpulse_cursor_secret(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jpulse_cursor_secret_file(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_jpulse_search_add_key(ngx_conf_t *cf,
    ngx_http_jpulse_search_loc_conf_t *slcf, u_char *data, size_t len);
static char *ngx_http_jpulse_search_check_projection(json_t *proj);
static ngx_int_t ngx_http_jpulse_search_read_file(ngx_conf_t *cf,
    ngx_str_t *name, size_t max, ngx_str_t *content);
static void ngx_http_jpulse_search_cleanup_schema(void *data);
static void ngx_http_jpulse_search_cleanup_json(void *data);
static void ngx_http_jpulse_search_cleanup_request(void *data);
static ngx_int_t ngx_http_jpulse_search_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_search_refuse(ngx_http_request_t *r,
    jp_search_error_t *err);
static ngx_int_t ngx_http_jpulse_search_op(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf,
    ngx_http_jpulse_search_ctx_t *ctx, ngx_http_jpulse_search_op_t *so);
static char *ngx_http_jpulse_search_projection(json_t *projection,
    json_t *sort);
static void ngx_http_jpulse_search_done(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op);
static ngx_int_t ngx_http_jpulse_search_answer(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf, json_t *page,
    ngx_msec_t start);


static ngx_uint_t  ngx_http_jpulse_search_used;


static ngx_command_t  ngx_http_jpulse_search_commands[] = {

    { ngx_string("jpulse_search"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_jpulse_search,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_cursor_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_cursor_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_cursor_secret_file"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_jpulse_cursor_secret_file,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("jpulse_search_cursor_fallback"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_jpulse_search_loc_conf_t, fallback),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_jpulse_search_module_ctx = {
    NULL,                                   /* preconfiguration */
    ngx_http_jpulse_search_postconfiguration, /* postconfiguration */
    NULL,                                   /* create main configuration */
    NULL,                                   /* init main configuration */
    NULL,                                   /* create server configuration */
    NULL,                                   /* merge server configuration */
    ngx_http_jpulse_search_create_loc_conf, /* create location configuration */
    ngx_http_jpulse_search_merge_loc_conf   /* merge location configuration */
};


ngx_module_t  ngx_http_jpulse_search_module = {
    NGX_MODULE_V1,
    &ngx_http_jpulse_search_module_ctx,     /* module context */
    ngx_http_jpulse_search_commands,        /* module directives */
    NGX_HTTP_MODULE,                        /* module type */
    NULL,                                   /* init master */
    NULL,                                   /* init module */
    NULL,                                   /* init process */
    NULL,                                   /* init thread */
    NULL,                                   /* exit thread */
    NULL,                                   /* exit process */
    NULL,                                   /* exit master */
    NGX_MODULE_V1_PADDING
};


static ngx_str_t  ngx_http_jpulse_search_msg_users =
    ngx_string("Found {{count}} users");
static ngx_str_t  ngx_http_jpulse_search_msg_logs =
    ngx_string("Found {{count}} log entries");
static ngx_str_t  ngx_http_jpulse_search_msg_other =
    ngx_string("Found {{count}} documents");


static void *
ngx_http_jpulse_search_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_jpulse_search_loc_conf_t  *slcf;

    slcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_search_loc_conf_t));
    if (slcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     slcf->collection = { 0, NULL };
     *     slcf->schema = NULL;
     *     slcf->projection = NULL;
     *     slcf->message = { 0, NULL };
     *     slcf->keys = NULL;
     */

    slcf->fallback = NGX_CONF_UNSET;

    return slcf;
}


static char *
ngx_http_jpulse_search_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_jpulse_search_loc_conf_t  *prev = parent;
    ngx_http_jpulse_search_loc_conf_t  *conf = child;

    ngx_conf_merge_value(conf->fallback, prev->fallback, 0);

    if (conf->keys == NULL) {
        conf->keys = prev->keys;
    }

    /*
     * A cursor made by one worker is read by another, or by another
     * instance: a key of its own per worker would refuse them all.
     */

    if (conf->collection.len && conf->keys == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jpulse_search %V\" needs "
                           "\"jpulse_cursor_secret\" or "
                           "\"jpulse_cursor_secret_file\" (the same on "
                           "every instance)", &conf->collection);
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_search_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_jpulse_main_conf_t  *jmcf;

    if (!ngx_http_jpulse_search_used) {
        return NGX_OK;
    }

    ngx_http_jpulse_search_used = 0;

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jpulse_module);

    if (jmcf->mongo == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"jpulse_search\" needs \"jpulse_mongodb\" "
                           "at the http level");
        return NGX_ERROR;
    }

    return NGX_OK;
}


/* jpulse_search COLLECTION [schema=FILE] [projection=FILE] [message=TEXT] */

static char *
ngx_http_jpulse_search(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_search_loc_conf_t  *slcf = conf;

    char                      err[256], *rv;
    u_char                   *p;
    json_t                   *proj;
    ngx_str_t                *value, name, content, schema_file, proj_file;
    ngx_uint_t                i;
    json_error_t              jerr;
    ngx_pool_cleanup_t       *cln;
    ngx_http_core_loc_conf_t *clcf;

    if (slcf->collection.len) {
        return "is duplicate";
    }

    value = cf->args->elts;

    /* MongoDB's own rules: no "$", no NUL, not "system.*", not empty */

    name = value[1];

    if (name.len == 0 || name.len > 120
        || ngx_strlchr(name.data, name.data + name.len, '$') != NULL
        || ngx_strlchr(name.data, name.data + name.len, '\0') != NULL
        || (name.len >= 7 && ngx_strncmp(name.data, "system.", 7) == 0))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid collection name \"%V\"", &name);
        return NGX_CONF_ERROR;
    }

    slcf->collection = name;    /* the parser's strings end with NUL */

    ngx_str_null(&schema_file);
    ngx_str_null(&proj_file);

    for (i = 2; i < cf->args->nelts; i++) {

        if (ngx_strncmp(value[i].data, "schema=", 7) == 0) {
            schema_file.data = value[i].data + 7;
            schema_file.len = value[i].len - 7;
            continue;
        }

        if (ngx_strncmp(value[i].data, "projection=", 11) == 0) {
            proj_file.data = value[i].data + 11;
            proj_file.len = value[i].len - 11;
            continue;
        }

        if (ngx_strncmp(value[i].data, "message=", 8) == 0) {
            slcf->message.data = value[i].data + 8;
            slcf->message.len = value[i].len - 8;
            continue;
        }

        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", &value[i]);
        return NGX_CONF_ERROR;
    }

    /*
     * Without a schema nothing says which fields may be filtered and
     * sorted on, or which are never to be returned (users' passwordHash):
     * jPulse's own collections have theirs built in, any other is refused
     * rather than guessed.
     */

    err[0] = '\0';

    if (schema_file.len == 0) {
        slcf->schema = jp_search_schema_builtin((char *) name.data, err,
                                                sizeof(err));
        if (slcf->schema == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"jpulse_search %V\" needs schema=FILE "
                               "(only users and logs have one built in)",
                               &name);
            return NGX_CONF_ERROR;
        }

    } else {
        if (ngx_conf_full_name(cf->cycle, &schema_file, 1) != NGX_OK) {
            return NGX_CONF_ERROR;
        }

        slcf->schema = jp_search_schema_load((char *) schema_file.data, err,
                                             sizeof(err));
        if (slcf->schema == NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%s",
                               err[0] ? err : "search schema not usable");
            return NGX_CONF_ERROR;
        }
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        jp_search_schema_free(slcf->schema);
        slcf->schema = NULL;
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_jpulse_search_cleanup_schema;
    cln->data = slcf->schema;

    if (proj_file.len) {
        if (ngx_http_jpulse_search_read_file(cf, &proj_file,
                                             NGX_HTTP_JPULSE_SEARCH_FILE_MAX,
                                             &content)
            != NGX_OK)
        {
            return NGX_CONF_ERROR;
        }

        proj = json_loadb((char *) content.data, content.len, 0, &jerr);
        if (proj == NULL || !json_is_object(proj)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "projection \"%V\": %s", &proj_file,
                               proj ? "not a JSON object" : jerr.text);
            json_decref(proj);
            return NGX_CONF_ERROR;
        }

        rv = ngx_http_jpulse_search_check_projection(proj);
        if (rv != NULL) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "projection \"%V\": %s", &proj_file, rv);
            json_decref(proj);
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            json_decref(proj);
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_jpulse_search_cleanup_json;
        cln->data = proj;

        slcf->projection = proj;
    }

    if (slcf->message.len == 0) {
        p = name.data;
        slcf->message = (name.len == 5 && ngx_strncmp(p, "users", 5) == 0)
                        ? ngx_http_jpulse_search_msg_users
                        : (name.len == 4 && ngx_strncmp(p, "logs", 4) == 0)
                        ? ngx_http_jpulse_search_msg_logs
                        : ngx_http_jpulse_search_msg_other;
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler != NULL) {
        return "is in a location that already has a content handler";
    }

    clcf->handler = ngx_http_jpulse_search_handler;

    ngx_http_jpulse_search_used = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_jpulse_cursor_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *value;

    value = cf->args->elts;

    return ngx_http_jpulse_search_add_key(cf, conf, value[1].data,
                                          value[1].len);
}


static char *
ngx_http_jpulse_cursor_secret_file(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    u_char     *end;
    ngx_str_t  *value, name, content;

    value = cf->args->elts;
    name = value[1];

    if (ngx_http_jpulse_search_read_file(cf, &name,
                                         NGX_HTTP_JPULSE_SECRET_FILE_MAX,
                                         &content)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* an editor's final newline is not part of the secret */

    end = content.data + content.len;
    while (end > content.data
           && (end[-1] == LF || end[-1] == CR || end[-1] == ' '
               || end[-1] == '\t'))
    {
        end--;
    }

    return ngx_http_jpulse_search_add_key(cf, conf, content.data,
                                          end - content.data);
}


static char *
ngx_http_jpulse_search_add_key(ngx_conf_t *cf,
    ngx_http_jpulse_search_loc_conf_t *slcf, u_char *data, size_t len)
{
    jp_search_key_t  *key;

    if (len < JP_SEARCH_KEY_MIN) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "a cursor secret needs at least %d bytes, "
                           "this one has %uz", JP_SEARCH_KEY_MIN, len);
        return NGX_CONF_ERROR;
    }

    if (slcf->keys == NULL) {
        slcf->keys = ngx_array_create(cf->pool, 2, sizeof(jp_search_key_t));
        if (slcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    key = ngx_array_push(slcf->keys);
    if (key == NULL) {
        return NGX_CONF_ERROR;
    }

    key->data = data;
    key->len = len;

    return NGX_CONF_OK;
}


/*
 * What MongoDB would refuse on every search is refused by nginx -t: a
 * document libbson does not read, or inclusions mixed with exclusions
 * (_id aside).
 */

static char *
ngx_http_jpulse_search_check_projection(json_t *proj)
{
    char          *s, *rv;
    json_t        *v;
    bson_t        *doc;
    ngx_uint_t     in, out;
    const char    *key;
    bson_error_t   error;

    in = 0;
    out = 0;

    json_object_foreach(proj, key, v) {
        if (ngx_strcmp(key, "_id") == 0) {
            continue;
        }

        if (json_is_false(v)
            || (json_is_number(v) && json_number_value(v) == 0))
        {
            out++;

        } else if (json_is_true(v) || json_is_number(v)) {
            in++;

        } else {
            return "only 1/true (include) and 0/false (exclude) are allowed";
        }
    }

    if (in && out) {
        return "mixes inclusions and exclusions";
    }

    s = json_dumps(proj, JSON_COMPACT);
    if (s == NULL) {
        return "out of memory";
    }

    doc = bson_new_from_json((const uint8_t *) s, -1, &error);
    free(s);

    rv = NULL;

    if (doc == NULL) {
        rv = "not a document libbson reads";

    } else {
        bson_destroy(doc);
    }

    return rv;
}


static ngx_int_t
ngx_http_jpulse_search_read_file(ngx_conf_t *cf, ngx_str_t *name,
    size_t max, ngx_str_t *content)
{
    ssize_t          n;
    ngx_file_t       file;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, name, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_memzero(&file, sizeof(ngx_file_t));
    file.name = *name;
    file.log = cf->log;

    file.fd = ngx_open_file(name->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (file.fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", name);
        return NGX_ERROR;
    }

    if (ngx_fd_info(file.fd, &fi) == NGX_FILE_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_fd_info_n " \"%V\" failed", name);
        goto failed;
    }

    if (ngx_file_size(&fi) > (off_t) max) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is larger than %uz bytes", name, max);
        goto failed;
    }

    content->len = (size_t) ngx_file_size(&fi);
    content->data = ngx_pnalloc(cf->pool, content->len + 1);
    if (content->data == NULL) {
        goto failed;
    }

    n = ngx_read_file(&file, content->data, content->len, 0);
    if (n == NGX_ERROR) {
        goto failed;
    }

    if ((size_t) n != content->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" changed while read", name);
        goto failed;
    }

    content->data[n] = '\0';

    ngx_close_file(file.fd);

    return NGX_OK;

failed:

    ngx_close_file(file.fd);

    return NGX_ERROR;
}


static void
ngx_http_jpulse_search_cleanup_schema(void *data)
{
    jp_search_schema_free(data);
}


static void
ngx_http_jpulse_search_cleanup_json(void *data)
{
    json_decref(data);
}


static void
ngx_http_jpulse_search_cleanup_request(void *data)
{
    jp_search_request_free(data);
}


static ngx_int_t
ngx_http_jpulse_search_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    jp_search_error_t                   err;
    ngx_pool_cleanup_t                 *cln;
    ngx_http_jpulse_mongo_op_t         *op;
    ngx_http_jpulse_search_ctx_t       *ctx;
    ngx_http_jpulse_search_loc_conf_t  *slcf;

    rc = ngx_http_jpulse_read_only(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_search_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_search_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_jpulse_search_cleanup_request;
    cln->data = &ctx->req;

    ctx->start = ngx_current_msec;

    ngx_memzero(&err, sizeof(jp_search_error_t));

    if (jp_search_parse(slcf->schema, (char *) slcf->collection.data,
                        r->args.len ? (char *) r->args.data : "",
                        r->args.len,
                        slcf->keys->elts, slcf->keys->nelts,
                        slcf->fallback, &ctx->req, &err)
        != 0)
    {
        return ngx_http_jpulse_search_refuse(r, &err);
    }

    ngx_http_set_ctx(r, ctx, ngx_http_jpulse_search_module);

    op = ngx_http_jpulse_mongo_op_create(sizeof(ngx_http_jpulse_search_op_t),
                                         r->connection->log);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op->run = ngx_http_jpulse_search_run;
    op->done = ngx_http_jpulse_search_done;
    op->free = ngx_http_jpulse_search_free;
    op->name = "search";

    if (ngx_http_jpulse_search_op(r, slcf, ctx, op->data) != NGX_OK) {
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_mongo_post(r, op);

    switch (rc) {

    case NGX_OK:
        return NGX_DONE;

    case NGX_BUSY:
    case NGX_DECLINED:
        return ngx_http_jpulse_mongo_send_refusal(r, rc);

    default:
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}


static ngx_int_t
ngx_http_jpulse_search_refuse(ngx_http_request_t *r, jp_search_error_t *err)
{
    ngx_str_t              details, *dp;
    ngx_http_jpulse_out_t  out;

    dp = NULL;

    if (err->param[0] != '\0') {
        ngx_http_jpulse_out_init(&out, r->pool);
        ngx_http_jpulse_out_raw(&out, (u_char *) "{\"param\":", 9);
        ngx_http_jpulse_out_json_str(&out, (u_char *) err->param,
                                     ngx_strnlen((u_char *) err->param,
                                                 sizeof(err->param)));
        ngx_http_jpulse_out_raw(&out, (u_char *) "}", 1);

        if (ngx_http_jpulse_out_flatten(&out, &details) == NGX_OK) {
            dp = &details;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse search refused: %s %s",
                   err->code ? err->code : "-", err->message);

    return ngx_http_jpulse_send_error(r, NGX_HTTP_BAD_REQUEST,
                                      err->code ? err->code
                                                : "INVALID_PARAMETER",
                                      err->message[0] ? err->message
                                                      : "Invalid request",
                                      dp);
}


/* the find of the request, as heap strings for the thread */

static ngx_int_t
ngx_http_jpulse_search_op(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf,
    ngx_http_jpulse_search_ctx_t *ctx, ngx_http_jpulse_search_op_t *so)
{
    long                  limit, skip;
    json_t               *filter, *sort, *count, *collation;
    ngx_int_t             rc;
    jp_search_request_t  *req;

    req = &ctx->req;

    filter = NULL;
    sort = NULL;
    count = NULL;
    collation = NULL;
    rc = NGX_ERROR;

    if (jp_search_find(req, &filter, &sort, &limit, &skip) != 0) {
        goto done;
    }

    so->collection = strdup((char *) slcf->collection.data);
    so->filter = json_dumps(filter, JSON_COMPACT);
    so->sort = json_dumps(sort, JSON_COMPACT);

    if (so->collection == NULL || so->filter == NULL || so->sort == NULL) {
        goto done;
    }

    so->limit = limit;
    so->skip = (req->mode == JP_SEARCH_OFFSET) ? skip : 0;
    so->result_max = ngx_http_jpulse_mongo_result_max();

    /* jPulse counts on the first cursor page and on every offset page */

    if (req->mode == JP_SEARCH_OFFSET || !req->has_cursor) {
        count = jp_search_count_filter(req);
        if (count == NULL) {
            goto done;
        }

        so->count = json_dumps(count, JSON_COMPACT);
        if (so->count == NULL) {
            goto done;
        }

    } else {
        so->total = req->total;
    }

    collation = jp_search_collation(req);
    if (collation != NULL) {
        so->collation = json_dumps(collation, JSON_COMPACT);
        if (so->collation == NULL) {
            goto done;
        }
    }

    if (slcf->projection != NULL) {
        so->projection = ngx_http_jpulse_search_projection(slcf->projection,
                                                           req->sort);
        if (so->projection == NULL) {
            goto done;
        }
    }

    rc = NGX_OK;

done:

    json_decref(filter);
    json_decref(sort);
    json_decref(count);
    json_decref(collation);

    return rc;
}


/*
 * The configured projection, with the page's sort keys returned whatever
 * it says: the next and prev cursors are made of their values. MongoDB
 * refuses a projection whose paths collide ("a" with "a.b"), so a path
 * that contains a sort key, or lies inside one, makes way for it.
 */

static char *
ngx_http_jpulse_search_projection(json_t *projection, json_t *sort)
{
    char        *s;
    size_t       klen, plen;
    json_t      *proj, *v;
    const char  *key, *path;
    void        *tmp;
    ngx_uint_t   inclusion;

    proj = json_deep_copy(projection);
    if (proj == NULL) {
        return NULL;
    }

    inclusion = 0;

    json_object_foreach(proj, path, v) {
        if (ngx_strcmp(path, "_id") != 0
            && (json_is_true(v)
                || (json_is_number(v) && json_number_value(v) != 0)))
        {
            inclusion = 1;
        }
    }

    json_object_foreach(sort, key, v) {
        klen = ngx_strlen(key);

        json_object_foreach_safe(proj, tmp, path, v) {
            plen = ngx_strlen(path);

            if (plen == klen && ngx_strcmp(path, key) == 0) {
                json_object_del(proj, path);

            } else if (plen < klen && key[plen] == '.'
                       && ngx_strncmp(path, key, plen) == 0)
            {
                /* a parent of the key: included, it already has it */
                if (!inclusion) {
                    json_object_del(proj, path);
                }

            } else if (plen > klen && path[klen] == '.'
                       && ngx_strncmp(path, key, klen) == 0)
            {
                json_object_del(proj, path);
            }
        }

        if (inclusion && json_object_set_new(proj, key, json_integer(1)) != 0)
        {
            json_decref(proj);
            return NULL;
        }
    }

    s = json_dumps(proj, JSON_COMPACT);
    json_decref(proj);

    return s;
}


static void
ngx_http_jpulse_search_done(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    json_t                             *page;
    ngx_int_t                           rc;
    jp_search_key_t                    *keys;
    ngx_http_jpulse_search_op_t        *so;
    ngx_http_jpulse_search_ctx_t       *ctx;
    ngx_http_jpulse_search_loc_conf_t  *slcf;

    so = op->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_jpulse_search_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_search_module);

    if (op->rc != NGX_OK) {

        if (so->too_large) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "jpulse search on \"%V\": the result passed "
                          "result_max (%uz bytes read, %uz allowed)",
                          &slcf->collection, so->bytes, so->result_max);

            rc = ngx_http_jpulse_send_error(r,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "DATABASE_ERROR",
                                     "The search result is too large", NULL);

        } else {
            rc = ngx_http_jpulse_mongo_send_error(r, op);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    keys = slcf->keys->elts;

    page = jp_search_page(slcf->schema, (char *) slcf->collection.data,
                          &ctx->req, so->docs, so->total, &keys[0]);
    if (page == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_jpulse_search_answer(r, slcf, page, ctx->start);

    json_decref(page);

    ngx_http_finalize_request(r, rc);
}


/*
 * jPulse's answer, keys in its order: success, message, then the
 * pagination result (data, count, pagination), then elapsed.
 */

static ngx_int_t
ngx_http_jpulse_search_answer(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf, json_t *page, ngx_msec_t start)
{
    char                   *s;
    u_char                 *p, *end, *q;
    u_char                  num[NGX_INT64_LEN];
    size_t                  n;
    json_t                 *answer, *count;
    ngx_int_t               rc;
    ngx_str_t               message;
    json_int_t              c;
    ngx_http_jpulse_out_t   out;

    count = json_object_get(page, "count");
    c = json_is_integer(count) ? json_integer_value(count) : 0;

    /* the message with {{count}} in it */

    n = ngx_sprintf(num, "%L", (int64_t) c) - num;

    message.data = ngx_pnalloc(r->pool, slcf->message.len * (n + 1) + 1);
    if (message.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = message.data;
    p = slcf->message.data;
    end = p + slcf->message.len;

    while (p < end) {
        if (end - p >= 9 && ngx_strncmp(p, "{{count}}", 9) == 0) {
            q = ngx_cpymem(q, num, n);
            p += 9;
            continue;
        }

        *q++ = *p++;
    }

    message.len = q - message.data;

    answer = json_object();
    if (answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    if (json_object_set_new(answer, "success", json_true()) != 0
        || json_object_set_new(answer, "message",
                               json_stringn((char *) message.data,
                                            message.len)) != 0
        || json_object_set(answer, "data",
                           json_object_get(page, "data")) != 0
        || json_object_set(answer, "count", count) != 0
        || json_object_set(answer, "pagination",
                           json_object_get(page, "pagination")) != 0
        || json_object_set_new(answer, "elapsed",
                               json_integer((json_int_t)
                                            (ngx_current_msec - start)))
           != 0)
    {
        goto done;
    }

    s = json_dumps(answer, JSON_COMPACT);
    if (s == NULL) {
        goto done;
    }

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, (u_char *) s, ngx_strlen(s));
    free(s);

    rc = ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);

done:

    json_decref(answer);

    return rc;
}
