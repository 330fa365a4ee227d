/*
 * jpulse_redis: configuration, the two connections of each worker, and
 * the API the other concerns use (commands, request-bound commands,
 * broadcast messages, resync).
 *
 * The pub/sub connection PSUBSCRIBEs "<ns>bc:*" (jPulse's broadcast
 * channels) and SUBSCRIBEs a private keepalive channel, to which the
 * command connection PUBLISHes every ping_interval: a keepalive that does
 * not come back within command_timeout means the subscription is dead even
 * if TCP says otherwise, and the connection is recycled. Every
 * (re)subscription signals "resync": messages may have been lost.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_health.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_redis_conn.h"
#include "ngx_http_jpulse_redis_sentinel.h"
#include "ngx_http_jpulse_redis_cluster.h"


#define NGX_HTTP_JPULSE_REDIS_HANDLERS   16
#define NGX_HTTP_JPULSE_REDIS_PASSWORD_MAX  1024


typedef struct {
    ngx_str_t                           prefix;
    ngx_http_jpulse_redis_message_pt    handler;
    void                               *data;
} ngx_http_jpulse_redis_listener_t;


typedef struct {
    ngx_http_jpulse_redis_resync_pt     handler;
    void                               *data;
} ngx_http_jpulse_redis_resync_t;


typedef struct {
    ngx_http_request_t                 *request;     /* NULL once gone */
    ngx_http_cleanup_t                 *cleanup;
    ngx_http_jpulse_redis_request_pt    handler;
    void                               *data;
} ngx_http_jpulse_redis_binding_t;


static char *ngx_http_jpulse_redis_address(ngx_conf_t *cf,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_str_t *value);
static char *ngx_http_jpulse_redis_nodes(ngx_conf_t *cf, ngx_str_t *value,
    size_t skip, in_port_t port, const char *what, ngx_array_t **nodes);
static char *ngx_http_jpulse_redis_read_password(ngx_conf_t *cf,
    ngx_str_t *file, ngx_str_t *password);
static ngx_int_t ngx_http_jpulse_redis_start_subscriber(
    ngx_http_jpulse_redis_conn_t *rc);
static void ngx_http_jpulse_redis_keepalive_published(redisReply *reply,
    void *data);
static void ngx_http_jpulse_redis_subscription(redisAsyncContext *ac,
    void *r, void *privdata);
static void ngx_http_jpulse_redis_dispatch(redisReply *channel,
    redisReply *message);
static ngx_http_jpulse_dep_state_e ngx_http_jpulse_redis_state(void);
static void ngx_http_jpulse_redis_request_cleanup(void *data);
static void ngx_http_jpulse_redis_request_reply(redisReply *reply,
    void *data);


static ngx_http_jpulse_redis_conf_t   *ngx_http_jpulse_redis_conf;
static ngx_http_jpulse_redis_conn_t    ngx_http_jpulse_redis_commands;
static ngx_http_jpulse_redis_conn_t    ngx_http_jpulse_redis_subscriber;

static ngx_str_t  ngx_http_jpulse_redis_pattern;       /* <ns>bc:* */
static ngx_str_t  ngx_http_jpulse_redis_ping_channel;

static ngx_http_jpulse_redis_listener_t
    ngx_http_jpulse_redis_listeners[NGX_HTTP_JPULSE_REDIS_HANDLERS];
static ngx_uint_t  ngx_http_jpulse_redis_nlisteners;

static ngx_http_jpulse_redis_resync_t
    ngx_http_jpulse_redis_resyncs[NGX_HTTP_JPULSE_REDIS_HANDLERS];
static ngx_uint_t  ngx_http_jpulse_redis_nresyncs;


/*
 * jpulse_redis host[:port] | unix:/path | sentinel=H:P[,H:P...] master=NAME
 *     [sentinel_password=S | sentinel_password_file=F] [db=N]
 *     [password=P | password_file=F] [connect_timeout=T]
 *     [command_timeout=T] [ping_interval=T] [max_pending=N];
 */

char *
ngx_http_jpulse_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t *jmcf = conf;

    u_char                        *p;
    ngx_int_t                      n;
    ngx_str_t                     *value, file, sfile, s;
    ngx_uint_t                     i, j, first, address;
    ngx_http_jpulse_redis_conf_t  *rcf;

    if (jmcf->redis) {
        return "is duplicate";
    }

    rcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_redis_conf_t));
    if (rcf == NULL) {
        return NGX_CONF_ERROR;
    }

    rcf->connect_timeout = 1000;
    rcf->command_timeout = 1000;
    rcf->ping_interval = 10000;
    rcf->max_pending = 10000;

    value = cf->args->elts;
    rcf->name = value[1];

    /* an address has no "=" (a unix path may) */

    address = (value[1].len > 5
               && ngx_strncmp(value[1].data, "unix:", 5) == 0)
              || ngx_strlchr(value[1].data, value[1].data + value[1].len, '=')
                 == NULL;

    if (address) {
        if (ngx_http_jpulse_redis_address(cf, rcf, &value[1])
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        first = 2;

    } else {
        first = 1;
    }

    ngx_str_null(&sfile);

    ngx_str_null(&file);

    for (i = first; i < cf->args->nelts; i++) {
        p = value[i].data;

        if (ngx_strncmp(p, "sentinel=", 9) == 0) {
            if (rcf->sentinels) {
                goto invalid;
            }

            if (ngx_http_jpulse_redis_nodes(cf, &value[i], 9, 26379,
                                            "sentinel", &rcf->sentinels)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            continue;
        }

        if (ngx_strncmp(p, "cluster=", 8) == 0) {
            if (rcf->cluster) {
                goto invalid;
            }

            if (ngx_http_jpulse_redis_nodes(cf, &value[i], 8, 6379,
                                            "cluster", &rcf->cluster)
                != NGX_CONF_OK)
            {
                return NGX_CONF_ERROR;
            }

            rcf->name.data = p + 8;
            rcf->name.len = value[i].len - 8;

            continue;
        }

        if (ngx_strncmp(p, "master=", 7) == 0) {
            if (rcf->master.data) {
                goto twice;
            }

            rcf->master.data = p + 7;
            rcf->master.len = value[i].len - 7;

            if (rcf->master.len == 0) {
                goto invalid;
            }

            /* +switch-master is split on spaces: such a name never matches */

            for (j = 0; j < rcf->master.len; j++) {
                if (rcf->master.data[j] <= ' ' || rcf->master.data[j] == 0x7f)
                {
                    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                       "jpulse_redis \"master=\" must not "
                                       "contain spaces or control "
                                       "characters");
                    return NGX_CONF_ERROR;
                }
            }

            continue;
        }

        if (ngx_strncmp(p, "sentinel_password=", 18) == 0) {
            if (rcf->sentinel_password.data) {
                goto twice;
            }

            rcf->sentinel_password.data = p + 18;
            rcf->sentinel_password.len = value[i].len - 18;

            if (rcf->sentinel_password.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "sentinel_password_file=", 23) == 0) {
            if (sfile.data) {
                goto twice;
            }

            sfile.data = p + 23;
            sfile.len = value[i].len - 23;

            if (sfile.len == 0) {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "db=", 3) == 0) {
            n = ngx_atoi(p + 3, value[i].len - 3);
            if (n == NGX_ERROR) {
                goto invalid;
            }

            rcf->db = n;
            rcf->db_set = 1;
            continue;
        }

        if (ngx_strncmp(p, "password=", 9) == 0) {
            rcf->password.data = p + 9;
            rcf->password.len = value[i].len - 9;

            if (rcf->password.len == 0) {
                goto invalid;
            }

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

        if (ngx_strncmp(p, "connect_timeout=", 16) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 16,
                                          &rcf->connect_timeout, 0)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "command_timeout=", 16) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 16,
                                          &rcf->command_timeout, 0)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "ping_interval=", 14) == 0) {
            if (ngx_http_jpulse_conf_msec(&value[i], 14,
                                          &rcf->ping_interval, 1)
                != NGX_OK)
            {
                goto invalid;
            }

            continue;
        }

        if (ngx_strncmp(p, "max_pending=", 12) == 0) {
            n = ngx_atoi(p + 12, value[i].len - 12);
            if (n == NGX_ERROR || n == 0) {
                goto invalid;
            }

            rcf->max_pending = n;
            continue;
        }

        goto invalid;
    }

    if (file.len) {
        if (rcf->password.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_redis takes \"password=\" or "
                               "\"password_file=\", not both");
            return NGX_CONF_ERROR;
        }

        s.len = 0;

        if (ngx_http_jpulse_redis_read_password(cf, &file, &s)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        rcf->password = s;
    }

    if (rcf->cluster && (rcf->sentinels || address)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"cluster=\" cannot be used with %s",
                           rcf->sentinels ? "\"sentinel=\"" : "an address");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinels && address) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis takes an address or \"sentinel=\", "
                           "not both");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinels == NULL && rcf->cluster == NULL && !address) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis needs an address or \"sentinel=\" "
                           "(or \"cluster=\")");
        return NGX_CONF_ERROR;
    }

    /* a cluster has only database 0: SELECT fails on every node */

    if (rcf->cluster && rcf->db_set) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"db=\" cannot be used with "
                           "\"cluster=\" (a cluster has database 0 only)");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinels && rcf->master.len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"sentinel=\" needs \"master=\" "
                           "(the name the sentinels monitor)");
        return NGX_CONF_ERROR;
    }

    if (rcf->sentinels == NULL
        && (rcf->master.len || rcf->sentinel_password.len || sfile.len))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"%s\" is only for \"sentinel=\"",
                           rcf->master.len ? "master="
                           : rcf->sentinel_password.len
                             ? "sentinel_password="
                             : "sentinel_password_file=");
        return NGX_CONF_ERROR;
    }

    if (sfile.len) {
        if (rcf->sentinel_password.len) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_redis takes \"sentinel_password=\" or "
                               "\"sentinel_password_file=\", not both");
            return NGX_CONF_ERROR;
        }

        s.len = 0;

        if (ngx_http_jpulse_redis_read_password(cf, &sfile, &s)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        rcf->sentinel_password = s;
    }

    if (rcf->sentinels) {
        /* the logs name the master */
        rcf->name = rcf->master;
    }

    jmcf->redis = rcf;

    return NGX_CONF_OK;

invalid:

    /* a misspelt password (pasword=, sentinel_passwd=) must not put the
     * secret into the error log */

    p = ngx_strlchr(value[i].data, value[i].data + value[i].len, '=');

    if (p != NULL
        && (ngx_strlcasestrn(value[i].data, p, (u_char *) "pas", 3 - 1)
            != NULL
            || ngx_strlcasestrn(value[i].data, p, (u_char *) "secret", 6 - 1)
               != NULL
            || ngx_strlcasestrn(value[i].data, p, (u_char *) "auth", 4 - 1)
               != NULL))
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_redis parameter \"%*s=\" (its "
                           "value is not shown)",
                           (size_t) (p - value[i].data), value[i].data);
        return NGX_CONF_ERROR;
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid jpulse_redis parameter \"%V\"", &value[i]);

    return NGX_CONF_ERROR;

twice:

    /* the name only: the value may be a password */

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "jpulse_redis parameter \"%*s\" is given twice",
                       (size_t) (ngx_strlchr(p, p + value[i].len, '=') - p
                                 + 1), p);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_jpulse_redis_address(ngx_conf_t *cf,
    ngx_http_jpulse_redis_conf_t *rcf, ngx_str_t *value)
{
    size_t     len;
    ngx_url_t  u;
    u_char     text[NGX_SOCKADDR_STRLEN];

    if (value->len > 5 && ngx_strncmp(value->data, "unix:", 5) == 0) {
        /* the token is NUL-terminated, so is its tail */
        rcf->unix_path.data = value->data + 5;
        rcf->unix_path.len = value->len - 5;
        return NGX_CONF_OK;
    }

    ngx_memzero(&u, sizeof(ngx_url_t));

    u.url = *value;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_redis address \"%V\": %s",
                           value, u.err ? u.err : "host not found");
        return NGX_CONF_ERROR;
    }

    if (u.no_port == 0 && u.port == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_redis port in \"%V\"", value);
        return NGX_CONF_ERROR;
    }

    /* resolved now: hiredis would resolve names with blocking DNS */

    len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen, text,
                        NGX_SOCKADDR_STRLEN, 0);

    rcf->host.data = ngx_pnalloc(cf->pool, len + 1);
    if (rcf->host.data == NULL) {
        return NGX_CONF_ERROR;
    }

    *ngx_cpymem(rcf->host.data, text, len) = '\0';
    rcf->host.len = len;
    rcf->port = ngx_inet_get_port(u.addrs[0].sockaddr);

    /*
     * A name (managed Redis fails over by DNS) is resolved again before
     * each connect when the http block has a resolver: which one is known
     * after the whole block was read.
     */

    if (u.host.len && u.host.data[0] != '['
        && ngx_inet_addr(u.host.data, u.host.len) == INADDR_NONE)
    {
        rcf->resolve.data = ngx_pstrdup(cf->pool, &u.host);
        if (rcf->resolve.data == NULL) {
            return NGX_CONF_ERROR;
        }

        rcf->resolve.len = u.host.len;
        rcf->http = ngx_http_conf_get_module_loc_conf(cf,
                                                     ngx_http_core_module);
    }

    return NGX_CONF_OK;
}


/*
 * sentinel=H:P[,H:P...] and cluster=H:P[,H:P...]: up to 16, each resolved
 * now (the first address of a name: hiredis would resolve with blocking
 * DNS), port 26379 (a sentinel) or 6379 (a cluster node) when none is
 * given.
 */

static char *
ngx_http_jpulse_redis_nodes(ngx_conf_t *cf, ngx_str_t *value, size_t skip,
    in_port_t port, const char *what, ngx_array_t **nodes)
{
    u_char                                 *p, *last, *comma;
    size_t                                  len;
    ngx_url_t                               u;
    ngx_str_t                               one;
    ngx_http_jpulse_redis_sentinel_addr_t  *sa;

    p = value->data + skip;
    last = value->data + value->len;

    if (p == last) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis \"%s=\" is empty", what);
        return NGX_CONF_ERROR;
    }

    *nodes = ngx_array_create(cf->pool, 3,
                              sizeof(ngx_http_jpulse_redis_sentinel_addr_t));
    if (*nodes == NULL) {
        return NGX_CONF_ERROR;
    }

    for ( ;; ) {
        comma = ngx_strlchr(p, last, ',');

        one.data = p;
        one.len = (comma ? comma : last) - p;

        if (one.len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_redis \"%s=\" has an empty "
                               "address in \"%V\"", what, value);
            return NGX_CONF_ERROR;
        }

        if ((*nodes)->nelts == NGX_HTTP_JPULSE_REDIS_SENTINELS_MAX) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "jpulse_redis \"%s=\" has more than %d "
                               "%s", what,
                               NGX_HTTP_JPULSE_REDIS_SENTINELS_MAX,
                               what[0] == 's' ? "sentinels" : "nodes");
            return NGX_CONF_ERROR;
        }

        if (one.len > 5 && ngx_strncmp(one.data, "unix:", 5) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid jpulse_redis %s \"%V\": "
                               "a unix socket is not supported", what, &one);
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&u, sizeof(ngx_url_t));

        u.url = one;
        u.default_port = port;

        if (ngx_parse_url(cf->pool, &u) != NGX_OK || u.naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid jpulse_redis %s \"%V\": %s",
                               what, &one, u.err ? u.err : "host not found");
            return NGX_CONF_ERROR;
        }

        if (u.no_port == 0 && u.port == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid jpulse_redis %s port in \"%V\"",
                               what, &one);
            return NGX_CONF_ERROR;
        }

        sa = ngx_array_push(*nodes);
        if (sa == NULL) {
            return NGX_CONF_ERROR;
        }

        len = ngx_sock_ntop(u.addrs[0].sockaddr, u.addrs[0].socklen,
                            sa->host, NGX_SOCKADDR_STRLEN, 0);
        sa->host[len] = '\0';
        sa->port = ngx_inet_get_port(u.addrs[0].sockaddr);
        sa->name = one;

        if (comma == NULL) {
            break;
        }

        p = comma + 1;
    }

    return NGX_CONF_OK;
}


/* Read at load time: a secret kept out of nginx.conf. */

static char *
ngx_http_jpulse_redis_read_password(ngx_conf_t *cf, ngx_str_t *file,
    ngx_str_t *password)
{
    u_char  *p;
    size_t   len;
    u_char   buf[NGX_HTTP_JPULSE_REDIS_PASSWORD_MAX + 1];

    if (ngx_http_jpulse_conf_read_secret(cf, "jpulse_redis", file, buf,
                                         NGX_HTTP_JPULSE_REDIS_PASSWORD_MAX,
                                         &len)
        != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    if (len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_redis: password_file \"%V\" is empty",
                           file);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memcpy(p, buf, len);
    ngx_explicit_memzero(buf, sizeof(buf));

    password->data = p;
    password->len = len;

    return NGX_CONF_OK;
}


ngx_int_t
ngx_http_jpulse_redis_init_process(ngx_cycle_t *cycle)
{
    u_char                        *p;
    ngx_str_t                     *ns, *id;
    ngx_http_jpulse_main_conf_t   *jmcf;
    ngx_http_jpulse_redis_conf_t  *rcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    if (jmcf->redis == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ngx_http_jpulse_redis_conf = jmcf->redis;
    ns = &jmcf->namespace;
    id = &ngx_http_jpulse_instance.instance_id;

    /* http{} without "resolver" has a dummy one, with no servers */

    rcf = jmcf->redis;

    if (rcf->http && rcf->http->resolver
        && rcf->http->resolver->connections.nelts)
    {
        rcf->resolver = rcf->http->resolver;

        /* http{}'s own location conf is never merged: unset means 30s */
        rcf->resolver_timeout = rcf->http->resolver_timeout
                                != NGX_CONF_UNSET_MSEC
                                ? rcf->http->resolver_timeout : 30000;
    }

    p = ngx_pnalloc(cycle->pool, ns->len + sizeof("bc:*") - 1);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_jpulse_redis_pattern.data = p;
    ngx_http_jpulse_redis_pattern.len = ngx_sprintf(p, "%Vbc:*", ns) - p;

    /* private to this worker, outside "bc:" so no peer ever sees it */

    p = ngx_pnalloc(cycle->pool, ns->len + id->len + NGX_INT64_LEN
                                 + sizeof("ngx-jpulse:keepalive::"));
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_http_jpulse_redis_ping_channel.data = p;
    ngx_http_jpulse_redis_ping_channel.len =
        ngx_sprintf(p, "%Vngx-jpulse:keepalive:%V:%P", ns, id, ngx_pid) - p;

    ngx_http_jpulse_redis_conn_init(&ngx_http_jpulse_redis_commands,
                                    "command", jmcf->redis, cycle->log,
                                    ngx_http_jpulse_redis_conn_start_ping,
                                    ngx_http_jpulse_redis_keepalive);

    ngx_http_jpulse_redis_conn_init(&ngx_http_jpulse_redis_subscriber,
                                    "pub/sub", jmcf->redis, cycle->log,
                                    ngx_http_jpulse_redis_start_subscriber,
                                    NULL);

    ngx_http_jpulse_redis_wait_init(&ngx_http_jpulse_redis_commands,
                                    cycle->log);

    if (rcf->cluster) {
        if (ngx_http_jpulse_redis_cluster_init(cycle, rcf,
                                          &ngx_http_jpulse_redis_subscriber,
                                          ngx_http_jpulse_redis_keepalive)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEP_REDIS].state =
                                                ngx_http_jpulse_redis_state;

        /* the nodes connect as the map names them; the subscriber now */
        ngx_http_jpulse_redis_conn_connect(&ngx_http_jpulse_redis_subscriber);

        return NGX_OK;
    }

    if (rcf->sentinels
        && ngx_http_jpulse_redis_sentinel_init(cycle, rcf,
                                             &ngx_http_jpulse_redis_commands,
                                             &ngx_http_jpulse_redis_subscriber)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_jpulse_dependencies[NGX_HTTP_JPULSE_DEP_REDIS].state =
                                                ngx_http_jpulse_redis_state;

    ngx_http_jpulse_redis_conn_connect(&ngx_http_jpulse_redis_commands);
    ngx_http_jpulse_redis_conn_connect(&ngx_http_jpulse_redis_subscriber);

    return NGX_OK;
}


void
ngx_http_jpulse_redis_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_jpulse_redis_conf == NULL) {
        return;
    }

    ngx_http_jpulse_redis_sentinel_exit();
    ngx_http_jpulse_redis_conn_close(&ngx_http_jpulse_redis_subscriber);
    ngx_http_jpulse_redis_conn_close(&ngx_http_jpulse_redis_commands);

    if (ngx_http_jpulse_redis_conf->cluster) {
        /* after the closes above: closing() is set for the NULL replies */
        ngx_http_jpulse_redis_cluster_exit();
    }

    ngx_http_jpulse_redis_wait_exit();
}


ngx_uint_t
ngx_http_jpulse_redis_cluster_info(ngx_http_jpulse_redis_cluster_info_t *info)
{
    if (ngx_http_jpulse_redis_conf == NULL
        || ngx_http_jpulse_redis_conf->cluster == NULL)
    {
        return 0;
    }

    ngx_http_jpulse_redis_cluster_state(info);

    info->subscriber = ngx_http_jpulse_redis_subscriber.addr;
    info->subscriber_port = ngx_http_jpulse_redis_subscriber.port;

    return 1;
}


ngx_uint_t
ngx_http_jpulse_redis_configured(void)
{
    return ngx_http_jpulse_redis_conf != NULL;
}


ngx_uint_t
ngx_http_jpulse_redis_ready(void)
{
    if (ngx_http_jpulse_redis_conf != NULL
        && ngx_http_jpulse_redis_conf->cluster)
    {
        return ngx_http_jpulse_redis_cluster_covered()
               && ngx_http_jpulse_redis_subscriber.state
                  == NGX_HTTP_JPULSE_REDIS_READY;
    }

    return ngx_http_jpulse_redis_conf != NULL
           && ngx_http_jpulse_redis_commands.state
              == NGX_HTTP_JPULSE_REDIS_READY
           && ngx_http_jpulse_redis_subscriber.state
              == NGX_HTTP_JPULSE_REDIS_READY;
}


static ngx_http_jpulse_dep_state_e
ngx_http_jpulse_redis_state(void)
{
    return ngx_http_jpulse_redis_ready() ? NGX_HTTP_JPULSE_DEP_UP
                                         : NGX_HTTP_JPULSE_DEP_DOWN;
}


static ngx_int_t
ngx_http_jpulse_redis_start_subscriber(ngx_http_jpulse_redis_conn_t *rc)
{
    const char  *argv[2];
    size_t       argvlen[2];

    /* the reader refuses messages for anything else */
    rc->sub_channel = ngx_http_jpulse_redis_ping_channel;
    rc->sub_pattern = ngx_http_jpulse_redis_pattern;

    argv[0] = "SUBSCRIBE";
    argvlen[0] = 9;
    argv[1] = (char *) ngx_http_jpulse_redis_ping_channel.data;
    argvlen[1] = ngx_http_jpulse_redis_ping_channel.len;

    if (redisAsyncCommandArgv(rc->ac, ngx_http_jpulse_redis_subscription, rc,
                              2, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    /* answered last: its confirmation means everything is in place */

    argv[0] = "PSUBSCRIBE";
    argvlen[0] = 10;
    argv[1] = (char *) ngx_http_jpulse_redis_pattern.data;
    argvlen[1] = ngx_http_jpulse_redis_pattern.len;

    if (redisAsyncCommandArgv(rc->ac, ngx_http_jpulse_redis_subscription, rc,
                              2, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_jpulse_redis_subscription(redisAsyncContext *ac, void *r,
    void *privdata)
{
    redisReply                    *reply = r;
    ngx_http_jpulse_redis_conn_t  *rc = privdata;

    ngx_uint_t   i;
    redisReply  *kind;

    if (reply == NULL || rc->ac != ac || reply->type != REDIS_REPLY_ARRAY
        || reply->elements < 3
        || reply->element[0]->type != REDIS_REPLY_STRING)
    {
        return;
    }

    kind = reply->element[0];

    if (kind->len == 10 && ngx_strncmp(kind->str, "psubscribe", 10) == 0) {
        if (rc->state != NGX_HTTP_JPULSE_REDIS_HANDSHAKE) {
            return;
        }

        ngx_http_jpulse_redis_conn_ready(rc);

        for (i = 0; i < ngx_http_jpulse_redis_nresyncs; i++) {
            ngx_http_jpulse_redis_resyncs[i].handler(
                                     ngx_http_jpulse_redis_resyncs[i].data);
        }

        return;
    }

    if (rc->state != NGX_HTTP_JPULSE_REDIS_READY) {
        return;
    }

    /* any delivery proves the subscription alive */

    if (rc->deadline.timer_set) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rc->log, 0,
                       "jpulse redis %s: keepalive answered", rc->role);
        ngx_del_timer(&rc->deadline);
    }

    if (kind->len == 8 && ngx_strncmp(kind->str, "pmessage", 8) == 0
        && reply->elements == 4
        && reply->element[2]->type == REDIS_REPLY_STRING
        && reply->element[3]->type == REDIS_REPLY_STRING)
    {
        ngx_http_jpulse_redis_dispatch(reply->element[2], reply->element[3]);
    }
}


static void
ngx_http_jpulse_redis_dispatch(redisReply *channel, redisReply *message)
{
    size_t     skip;
    ngx_str_t  name, text;

    /* the pattern guarantees the "<ns>bc:" prefix */

    skip = ngx_http_jpulse_redis_pattern.len - 1;

    if (channel->len < skip) {
        return;
    }

    name.data = (u_char *) channel->str + skip;
    name.len = channel->len - skip;
    text.data = (u_char *) message->str;
    text.len = message->len;

    ngx_http_jpulse_redis_deliver(&name, &text);
}


void
ngx_http_jpulse_redis_deliver(ngx_str_t *channel, ngx_str_t *message)
{
    ngx_uint_t                         i;
    ngx_http_jpulse_redis_listener_t  *l;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse redis message on \"%V\", %uz bytes",
                   channel, message->len);

    for (i = 0; i < ngx_http_jpulse_redis_nlisteners; i++) {
        l = &ngx_http_jpulse_redis_listeners[i];

        if (channel->len >= l->prefix.len
            && ngx_strncmp(channel->data, l->prefix.data, l->prefix.len) == 0)
        {
            l->handler(channel, message, l->data);
        }
    }
}


void
ngx_http_jpulse_redis_keepalive(ngx_event_t *ev)
{
    ngx_http_jpulse_redis_conn_t  *rc = ev->data;

    const char                    *argv[3];
    size_t                         argvlen[3];
    ngx_http_jpulse_redis_conn_t  *sub;

    if (ngx_http_jpulse_redis_shutting_down()
        || rc->state != NGX_HTTP_JPULSE_REDIS_READY)
    {
        return;
    }

    sub = &ngx_http_jpulse_redis_subscriber;

    if (sub->state == NGX_HTTP_JPULSE_REDIS_READY) {
        /* a round trip through the subscriber proves both connections */

        argv[0] = "PUBLISH";
        argvlen[0] = 7;
        argv[1] = (char *) ngx_http_jpulse_redis_ping_channel.data;
        argvlen[1] = ngx_http_jpulse_redis_ping_channel.len;
        argv[2] = "1";
        argvlen[2] = 1;

        if (ngx_http_jpulse_redis_conn_send(rc,
                                 ngx_http_jpulse_redis_keepalive_published,
                                 NULL, 3, argv, argvlen)
            == NGX_OK)
        {
            /*
             * Armed before the echo can come: Redis may write it to the
             * subscriber before it answers the PUBLISH, and a deadline
             * armed by the answer would then wait for an echo that came.
             */

            if (sub->deadline.timer_set) {
                ngx_del_timer(&sub->deadline);
            }

            sub->deadline.cancelable = 1;
            ngx_add_timer(&sub->deadline, sub->conf->command_timeout);
        }

    } else {
        argv[0] = "PING";
        argvlen[0] = 4;

        (void) ngx_http_jpulse_redis_conn_send(rc, NULL, NULL, 1, argv,
                                               argvlen);
    }

    ngx_add_timer(ev, rc->conf->ping_interval);
}


static void
ngx_http_jpulse_redis_keepalive_published(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_conn_t  *sub;

    sub = &ngx_http_jpulse_redis_subscriber;

    if (sub->state != NGX_HTTP_JPULSE_REDIS_READY) {
        return;
    }

    if (reply == NULL || reply->type != REDIS_REPLY_INTEGER) {
        /* the command connection failed: no echo is coming, no verdict */

        if (sub->deadline.timer_set) {
            ngx_del_timer(&sub->deadline);
        }

        return;
    }

    /*
     * A cluster's PUBLISH counts the receivers of the node it was sent to
     * only: 0 says nothing there, the echo's deadline decides.
     */

    if (reply->integer == 0 && sub->conf->cluster == NULL) {
        /* Redis no longer has our subscriber */
        ngx_http_jpulse_redis_conn_fail(sub, "subscription lost");
    }
}


ngx_int_t
ngx_http_jpulse_redis_command(ngx_http_jpulse_redis_reply_pt handler,
    void *data, int argc, const char **argv, const size_t *argvlen)
{
    if (ngx_http_jpulse_redis_conf != NULL
        && ngx_http_jpulse_redis_conf->cluster)
    {
        return ngx_http_jpulse_redis_cluster_command(handler, data, argc,
                                                     argv, argvlen);
    }

    if (ngx_http_jpulse_redis_conf == NULL
        || ngx_http_jpulse_redis_commands.state
           != NGX_HTTP_JPULSE_REDIS_READY)
    {
        return NGX_DECLINED;
    }

    return ngx_http_jpulse_redis_conn_send(&ngx_http_jpulse_redis_commands,
                                           handler, data, argc, argv,
                                           argvlen);
}


ngx_int_t
ngx_http_jpulse_redis_request(ngx_http_request_t *r,
    ngx_http_jpulse_redis_request_pt handler, void *data, int argc,
    const char **argv, const size_t *argvlen)
{
    ngx_int_t                         rc;
    ngx_http_cleanup_t               *cln;
    ngx_http_jpulse_redis_binding_t  *b;

    /* not from the request pool: the reply may come after it is gone */

    b = ngx_alloc(sizeof(ngx_http_jpulse_redis_binding_t),
                  r->connection->log);
    if (b == NULL) {
        return NGX_ERROR;
    }

    /*
     * An http cleanup, not a pool one: it runs as soon as the request is
     * terminated (client gone, timeout), before r may be freed.
     */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_free(b);
        return NGX_ERROR;
    }

    b->request = r;
    b->cleanup = cln;
    b->handler = handler;
    b->data = data;

    rc = ngx_http_jpulse_redis_command(ngx_http_jpulse_redis_request_reply,
                                       b, argc, argv, argvlen);

    if (rc != NGX_OK) {
        ngx_free(b);
        return rc;
    }

    cln->handler = ngx_http_jpulse_redis_request_cleanup;
    cln->data = b;

    ngx_http_jpulse_redis_park(r);

    return NGX_OK;
}


/*
 * A content handler's request waits for Redis: it takes a reference that
 * the resume's ngx_http_finalize_request() gives back. While nginx is
 * still reading a body away, its handler (and its lingering timer) stay:
 * they notice a client that leaves and keep the connection usable for the
 * next request. Otherwise a read timer left from that discard would fire
 * into ngx_http_test_reading and cost the keep-alive connection.
 */

void
ngx_http_jpulse_redis_park(ngx_http_request_t *r)
{
    ngx_event_t  *rev;

    r->main->count++;

    if (r->discard_body) {
        return;
    }

    rev = r->connection->read;

    if (rev->timer_set) {
        ngx_del_timer(rev);
    }

    r->read_event_handler = ngx_http_test_reading;
}


static void
ngx_http_jpulse_redis_request_cleanup(void *data)
{
    ngx_http_jpulse_redis_binding_t  *b = data;

    b->request = NULL;
}


static void
ngx_http_jpulse_redis_request_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_redis_binding_t  *b = data;

    ngx_connection_t                  *c;
    ngx_http_request_t                *r;
    ngx_http_jpulse_redis_request_pt   handler;

    r = b->request;

    if (r == NULL) {
        /* the request ended without us */
        ngx_free(b);
        return;
    }

    b->cleanup->handler = NULL;

    if (ngx_http_jpulse_redis_closing()) {
        /* exit_process: the process and its requests are going away */
        ngx_free(b);
        return;
    }

    c = r->connection;
    handler = b->handler;
    data = b->data;

    ngx_free(b);

    ngx_http_set_log_request(c->log, r);

    handler(r, reply, data);

    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_jpulse_redis_on_message(const char *prefix,
    ngx_http_jpulse_redis_message_pt handler, void *data)
{
    ngx_http_jpulse_redis_listener_t  *l;

    if (ngx_http_jpulse_redis_nlisteners == NGX_HTTP_JPULSE_REDIS_HANDLERS) {
        return NGX_ERROR;
    }

    l = &ngx_http_jpulse_redis_listeners[ngx_http_jpulse_redis_nlisteners++];

    l->prefix.data = (u_char *) prefix;
    l->prefix.len = ngx_strlen(prefix);
    l->handler = handler;
    l->data = data;

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_redis_on_resync(ngx_http_jpulse_redis_resync_pt handler,
    void *data)
{
    ngx_http_jpulse_redis_resync_t  *rs;

    if (ngx_http_jpulse_redis_nresyncs == NGX_HTTP_JPULSE_REDIS_HANDLERS) {
        return NGX_ERROR;
    }

    rs = &ngx_http_jpulse_redis_resyncs[ngx_http_jpulse_redis_nresyncs++];

    rs->handler = handler;
    rs->data = data;

    return NGX_OK;
}
