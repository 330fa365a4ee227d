/*
 * jpulse_search's configuration: a module of its own in the same .so,
 * its directives, and what they read once at configuration time (the
 * schema, the projection, the cursor keys). Requests are served by
 * ngx_http_jpulse_search.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jp_search.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_search.h"


#define NGX_HTTP_JPULSE_SEARCH_FILE_MAX  65536   /* schema, projection */
#define NGX_HTTP_JPULSE_SECRET_FILE_MAX  4096


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
