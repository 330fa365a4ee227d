/*
 * jpulse_mongodb URI [db=NAME] [pool_max=N] [thread_pool=NAME]
 *     [ping_interval=TIME] [password_file=FILE] [max_queue=N]
 *     [timeout=TIME] [result_max=SIZE];
 *
 * Everything that can be wrong is found here, at configuration time, so
 * that nginx -t names it: the URI is parsed by mongoc itself, the
 * password file is read, the database name is checked and the thread
 * pool is registered. Nothing here talks to MongoDB: the master never
 * does (mongoc is not fork-safe); each worker makes its own client pool
 * from this URI (ngx_http_jpulse_mongo.c).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <sys/mman.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_mongo_int.h"


static char *ngx_http_jpulse_mongo_password(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf, ngx_str_t *file);
static char *ngx_http_jpulse_mongo_set_db(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf, const char *db);
static char *ngx_http_jpulse_mongo_timeouts(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf);
static char *ngx_http_jpulse_mongo_hosts(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf);
static char *ngx_http_jpulse_mongo_add_thread_pool(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf);
static void ngx_http_jpulse_mongo_uri_cleanup(void *data);


static ngx_str_t  ngx_http_jpulse_mongo_default_pool = ngx_string("default");


char *
ngx_http_jpulse_mongodb(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t *jmcf = conf;

    u_char                        *p;
    ssize_t                        size;
    ngx_int_t                      n;
    ngx_str_t                     *value, file, s, db;
    ngx_uint_t                     i, pool_max_set;
    bson_error_t                   error;
    ngx_pool_cleanup_t            *cln;
    ngx_http_jpulse_mongo_conf_t  *mcf;

    if (jmcf->mongo) {
        return "is duplicate";
    }

    mcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_mongo_conf_t));
    if (mcf == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->pool_max = 16;
    mcf->max_queue = 256;
    mcf->ping_interval = 5000;
    mcf->timeout = 5000;
    mcf->result_max = 8 * 1024 * 1024;
    mcf->thread_pool_name = ngx_http_jpulse_mongo_default_pool;

    value = cf->args->elts;

    ngx_str_null(&file);
    ngx_str_null(&db);
    pool_max_set = 0;

    for (i = 2; i < cf->args->nelts; i++) {
        p = value[i].data;

        if (ngx_strncmp(p, "db=", 3) == 0) {
            db.data = p + 3;
            db.len = value[i].len - 3;
            continue;
        }

        if (ngx_strncmp(p, "pool_max=", 9) == 0) {
            n = ngx_atoi(p + 9, value[i].len - 9);
            if (n == NGX_ERROR || n < 1 || n > 10000) {
                goto invalid;
            }

            mcf->pool_max = n;
            pool_max_set = 1;
            continue;
        }

        if (ngx_strncmp(p, "max_queue=", 10) == 0) {
            n = ngx_atoi(p + 10, value[i].len - 10);
            if (n == NGX_ERROR || n < 1
                || n > NGX_HTTP_JPULSE_MONGO_MAX_QUEUE_MAX)
            {
                goto invalid;
            }

            mcf->max_queue = n;
            continue;
        }

        if (ngx_strncmp(p, "thread_pool=", 12) == 0) {
            mcf->thread_pool_name.data = p + 12;
            mcf->thread_pool_name.len = value[i].len - 12;

            if (mcf->thread_pool_name.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "ping_interval=", 14) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 14, &mcf->ping_interval,
                                          0)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "timeout=", 8) == 0) {
            /* mongoc takes int32 milliseconds */
            if (ngx_http_jpulse_conf_msec(&value[i], 8, &mcf->timeout, 0)
                != NGX_OK
                || mcf->timeout > 3600000)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "result_max=", 11) == 0) {
            s.data = p + 11;
            s.len = value[i].len - 11;

            size = ngx_parse_size(&s);
            if (size == NGX_ERROR || size < 1024) {
                goto invalid;
            }

            mcf->result_max = size;
            continue;
        }

        if (ngx_strncmp(p, "password_file=", 14) == 0) {
            file.data = p + 14;
            file.len = value[i].len - 14;

            if (file.len == 0) {
                goto invalid;
            }

            continue;
        }

        goto invalid;
    }

    /* the token is NUL-terminated */

    mcf->uri = mongoc_uri_new_with_error((char *) value[1].data, &error);

    if (mcf->uri == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_mongodb URI: %s", error.message);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        mongoc_uri_destroy(mcf->uri);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_jpulse_mongo_uri_cleanup;
    cln->data = mcf->uri;

    if (file.len
        && ngx_http_jpulse_mongo_password(cf, mcf, &file) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (db.len) {
        if (db.len != ngx_strlen(db.data)) {
            goto invalid;
        }

        p = db.data;

    } else {
        p = (u_char *) mongoc_uri_get_database(mcf->uri);

        if (p == NULL || *p == '\0') {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_mongodb needs a database: \"db=NAME\" "
                               "or the URI's \"/NAME\"");
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_http_jpulse_mongo_set_db(cf, mcf, (const char *) p)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    /* the URI's maxPoolSize stands unless pool_max= says otherwise */

    if (!pool_max_set && mongoc_uri_has_option(mcf->uri,
                                               MONGOC_URI_MAXPOOLSIZE))
    {
        n = mongoc_uri_get_option_as_int32(mcf->uri, MONGOC_URI_MAXPOOLSIZE,
                                           16);
        mcf->pool_max = n > 0 ? n : 16;
    }

    if (!mongoc_uri_set_option_as_int32(mcf->uri, MONGOC_URI_MAXPOOLSIZE,
                                        (int32_t) mcf->pool_max))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_mongodb: cannot set maxPoolSize");
        return NGX_CONF_ERROR;
    }

    if (ngx_http_jpulse_mongo_timeouts(cf, mcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_jpulse_mongo_hosts(cf, mcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    if (ngx_http_jpulse_mongo_add_thread_pool(cf, mcf) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    jmcf->mongo = mcf;

    return NGX_CONF_OK;

invalid:

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid jpulse_mongodb parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;
}


/* Read at load time, as jpulse_redis's: a secret kept out of nginx.conf. */

static char *
ngx_http_jpulse_mongo_password(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf, ngx_str_t *file)
{
    u_char  *last;
    char    *rv;
    size_t   len;
    u_char   buf[NGX_HTTP_JPULSE_MONGO_PASSWORD_MAX + 1];

    if (mongoc_uri_get_username(mcf->uri) == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_mongodb: \"password_file=\" needs a user "
                           "name in the URI (mongodb://USER@host/db)");
        return NGX_CONF_ERROR;
    }

    rv = ngx_http_jpulse_conf_read_secret(cf, "jpulse_mongodb", file, buf,
                                          NGX_HTTP_JPULSE_MONGO_PASSWORD_MAX,
                                          &len);
    if (rv != NGX_CONF_OK) {
        goto done;
    }

    rv = NGX_CONF_ERROR;
    last = buf + len;

    if (last == buf || ngx_strlchr(buf, last, '\0') != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_mongodb: password_file \"%V\" is empty "
                           "or holds a NUL byte", file);
        goto done;
    }

    *last = '\0';

    if (!mongoc_uri_set_password(mcf->uri, (const char *) buf)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_mongodb: the password in \"%V\" is not "
                           "valid UTF-8", file);
        goto done;
    }

    rv = NGX_CONF_OK;

done:

    ngx_explicit_memzero(buf, sizeof(buf));

    return rv;
}


/* MongoDB's own rules for a database name, checked before it is used */

static char *
ngx_http_jpulse_mongo_set_db(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf, const char *db)
{
    size_t  len;

    len = ngx_strlen(db);

    if (len == 0 || len > 63 || strpbrk(db, "/\\. \"$*<>:|?") != NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_mongodb: invalid database name \"%s\"",
                           db);
        return NGX_CONF_ERROR;
    }

    mcf->db.data = ngx_pnalloc(cf->pool, len + 1);
    if (mcf->db.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(mcf->db.data, db, len + 1);
    mcf->db.len = len;

    return NGX_CONF_OK;
}


/*
 * timeout= bounds every wait on the server unless the URI names its own:
 * selecting a server and connecting take at most that; a socket waits a
 * second longer, so that maxTimeMS (the same budget, sent with each
 * command) ends a slow command on the server before the socket gives up
 * on the connection and mongoc has to make a new one.
 */

static char *
ngx_http_jpulse_mongo_timeouts(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf)
{
    ngx_uint_t   i;
    int32_t      ms;

    static const char  *names[] = {
        MONGOC_URI_CONNECTTIMEOUTMS,
        MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
        MONGOC_URI_SOCKETTIMEOUTMS
    };

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (mongoc_uri_has_option(mcf->uri, names[i])) {
            continue;
        }

        ms = (int32_t) mcf->timeout;

        if (i == 2) {
            ms += 1000;
        }

        if (!mongoc_uri_set_option_as_int32(mcf->uri, names[i], ms)) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_mongodb: cannot set %s", names[i]);
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* "host:port,host:port" for the logs: the URI itself may hold secrets */

static char *
ngx_http_jpulse_mongo_hosts(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf)
{
    u_char                     *p, *last;
    size_t                      len;
    const mongoc_host_list_t   *h;

    len = 0;

    for (h = mongoc_uri_get_hosts(mcf->uri); h; h = h->next) {
        len += ngx_strlen(h->host_and_port) + 1;
    }

    if (len == 0) {
        /* mongodb+srv://: the hosts come from DNS */
        ngx_str_set(&mcf->hosts, "(srv)");
        return NGX_CONF_OK;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    mcf->hosts.data = p;
    last = p + len;

    for (h = mongoc_uri_get_hosts(mcf->uri); h; h = h->next) {
        p = ngx_slprintf(p, last, "%s%s", p == mcf->hosts.data ? "" : ",",
                         h->host_and_port);
    }

    mcf->hosts.len = p - mcf->hosts.data;

    return NGX_CONF_OK;
}


/*
 * A pool other than "default" must be declared by "thread_pool NAME
 * threads=N;" in the main context, before or after http{}: so its
 * absence is only known once the whole file was read, and nginx reports
 * it as 'unknown thread pool "NAME" in FILE:LINE', FILE and LINE being
 * where the pool was first named. When that is here, FILE says what to
 * add.
 */

static char *
ngx_http_jpulse_mongo_add_thread_pool(ngx_conf_t *cf,
    ngx_http_jpulse_mongo_conf_t *mcf)
{
    u_char     *saved, *hint;
    size_t      len;
    ngx_str_t  *name;

    name = &mcf->thread_pool_name;

    if (ngx_thread_pool_get(cf->cycle, name) != NULL
        || (name->len == ngx_http_jpulse_mongo_default_pool.len
            && ngx_strncmp(name->data, "default", 7) == 0))
    {
        mcf->thread_pool = ngx_thread_pool_add(cf, name);
        return mcf->thread_pool ? NGX_CONF_OK : NGX_CONF_ERROR;
    }

    saved = cf->conf_file->file.name.data;

    len = cf->conf_file->file.name.len + 2 * name->len + 128;

    hint = ngx_pnalloc(cf->pool, len);
    if (hint == NULL) {
        return NGX_CONF_ERROR;
    }

    *ngx_snprintf(hint, len - 1,
                  "%V (jpulse_mongodb thread_pool=%V needs "
                  "\"thread_pool %V threads=4;\" in the main context, "
                  "outside http{}), line",
                  &cf->conf_file->file.name, name, name) = '\0';

    cf->conf_file->file.name.data = hint;
    mcf->thread_pool = ngx_thread_pool_add(cf, name);
    cf->conf_file->file.name.data = saved;

    return mcf->thread_pool ? NGX_CONF_OK : NGX_CONF_ERROR;
}


static void
ngx_http_jpulse_mongo_uri_cleanup(void *data)
{
    mongoc_uri_destroy(data);
}


/*
 * libmongoc initializes itself when it is loaded (nginx loads the module
 * in the master, and in each "nginx -t" or "-s" run), putting its
 * counters in a shared memory segment "/mongoc-<pid>" that only a normal
 * exit removes: a master killed would leave it in /dev/shm, and a later
 * process given the same pid would print mongoc's "Falling back to
 * malloc" warning. The name goes now; the mapping stays valid.
 */

ngx_int_t
ngx_http_jpulse_mongo_postconfiguration(ngx_conf_t *cf)
{
    char  name[32];

    static ngx_pid_t  unlinked;

    if (unlinked != ngx_getpid()) {
        unlinked = ngx_getpid();
        ngx_snprintf((u_char *) name, sizeof(name), "/mongoc-%P%Z",
                     unlinked);
        (void) shm_unlink(name);
    }

    return NGX_OK;
}


ngx_http_jpulse_mongo_conf_t *
ngx_http_jpulse_mongo_conf(void)
{
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_jpulse_module);

    return jmcf ? jmcf->mongo : NULL;
}


ngx_uint_t
ngx_http_jpulse_mongo_configured(void)
{
    return ngx_http_jpulse_mongo_conf() != NULL;
}


size_t
ngx_http_jpulse_mongo_result_max(void)
{
    ngx_http_jpulse_mongo_conf_t  *mcf;

    mcf = ngx_http_jpulse_mongo_conf();

    return mcf ? mcf->result_max : 0;
}


const char *
ngx_http_jpulse_mongo_db_name(void)
{
    ngx_http_jpulse_mongo_conf_t  *mcf;

    mcf = ngx_http_jpulse_mongo_conf();

    return mcf ? (const char *) mcf->db.data : "";
}
