/*
 * L2: the view tree, config and translations cachectl publishes to Redis
 * (docs/protocol.md), fetched on demand for requests and kept fresh by
 * events, generation polling and resyncs.
 *
 * Fetches are unbound commands on the worker's command connection, one
 * in flight per key: a request that needs a key someone already asked for
 * waits on that fetch instead of sending its own. A parked request is a
 * heap "wait" linked to each fetch it needs; it resumes when the last one
 * has been stored. A client that leaves unlinks and frees its wait (an
 * http cleanup); a fetch is freed by its reply, which hiredis delivers
 * (NULL) even when the connection is lost or the worker exits.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_config.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_l2.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_siteconfig.h"
#include "ngx_http_jpulse_view.h"


#define NGX_HTTP_JPULSE_L2_RETRY   1000     /* after a failed index fetch */
#define NGX_HTTP_JPULSE_L2_KEY_MAX (NGX_MAX_PATH + 512)
#define NGX_HTTP_JPULSE_L2_BUCKETS 64       /* of fetches in flight */


typedef struct ngx_http_jpulse_l2_wait_s  ngx_http_jpulse_l2_wait_t;


typedef struct {
    ngx_queue_t                     queue;      /* ngx_http_jpulse_l2_fetches */
    ngx_queue_t                     waiters;    /* links */
    ngx_http_jpulse_view_rt_t      *rt;
    ngx_uint_t                      kind;
    ngx_uint_t                      epoch;      /* the cache's, at send */
    ngx_str_t                       lang;
    ngx_str_t                       path;
    u_char                          data[1];
} ngx_http_jpulse_l2_fetch_t;


/* a parked request waiting on one fetch */
typedef struct {
    ngx_queue_t                     queue;      /* in fetch->waiters */
    ngx_http_jpulse_l2_fetch_t     *fetch;      /* NULL once stored */
    ngx_http_jpulse_l2_wait_t      *wait;
} ngx_http_jpulse_l2_link_t;


struct ngx_http_jpulse_l2_wait_s {
    ngx_http_request_t             *request;
    ngx_http_cleanup_t             *cleanup;
    ngx_http_jpulse_l2_resume_pt    resume;
    ngx_uint_t                      pending;    /* links still attached */
    ngx_uint_t                      nlinks;
    ngx_http_jpulse_l2_link_t       links[1];
};


typedef struct {
    ngx_http_jpulse_l2_resume_pt    done;
    ngx_int_t                      *receivers;
} ngx_http_jpulse_l2_pub_t;


static void ngx_http_jpulse_l2_message(ngx_str_t *channel, ngx_str_t *msg,
    void *data);
static void ngx_http_jpulse_l2_event_gen(ngx_uint_t k, ngx_str_t *msg);
static void ngx_http_jpulse_l2_config_message(ngx_str_t *channel,
    ngx_str_t *msg, void *data);
static void ngx_http_jpulse_l2_resync(void *data);
static ngx_int_t ngx_http_jpulse_l2_index_find(json_t *index, u_char *path,
    size_t len, uint64_t *etag, int64_t *mtime);
static void ngx_http_jpulse_l2_poll(ngx_event_t *ev);
static void ngx_http_jpulse_l2_gen_reply(redisReply *reply, void *data);
static void ngx_http_jpulse_l2_fetch_config(void);
static void ngx_http_jpulse_l2_config_reply(redisReply *reply, void *data);
static ngx_uint_t ngx_http_jpulse_l2_epoch(ngx_http_jpulse_view_rt_t *rt,
    ngx_uint_t kind);
static ngx_queue_t *ngx_http_jpulse_l2_bucket(ngx_http_jpulse_need_t *need);
static ngx_http_jpulse_l2_fetch_t *ngx_http_jpulse_l2_find(
    ngx_http_jpulse_view_rt_t *rt, ngx_http_jpulse_need_t *need);
static ngx_int_t ngx_http_jpulse_l2_send(ngx_http_jpulse_view_rt_t *rt,
    ngx_http_jpulse_need_t *need, ngx_http_jpulse_l2_fetch_t **fp);
static void ngx_http_jpulse_l2_reply(redisReply *reply, void *data);
static void ngx_http_jpulse_l2_wake(ngx_http_jpulse_l2_wait_t *w);
static void ngx_http_jpulse_l2_wait_cleanup(void *data);
static void ngx_http_jpulse_l2_wait_free(ngx_http_jpulse_l2_wait_t *w);
static void ngx_http_jpulse_l2_store(ngx_http_jpulse_l2_fetch_t *f,
    redisReply *reply);
static void ngx_http_jpulse_l2_store_index(redisReply *reply);
static void ngx_http_jpulse_l2_store_source(ngx_http_jpulse_l2_fetch_t *f,
    redisReply *reply);
static void ngx_http_jpulse_l2_store_i18n(ngx_http_jpulse_l2_fetch_t *f,
    redisReply *reply);
static void ngx_http_jpulse_l2_published(ngx_http_request_t *r,
    redisReply *reply, void *data);


static ngx_str_t     ngx_http_jpulse_l2_ns;    /* channels */
static ngx_str_t     ngx_http_jpulse_l2_keys;  /* the l2 group's keys */
static ngx_uint_t    ngx_http_jpulse_l2_on;
static ngx_event_t   ngx_http_jpulse_l2_timer;

static json_t       *ngx_http_jpulse_l2_index;      /* path -> "mtime:etag" */
static ngx_uint_t    ngx_http_jpulse_l2_index_gen;  /* invalidations */
static size_t        ngx_http_jpulse_l2_index_size;

/* the index made stale, until a new one is read: what Redis last held */
static json_t       *ngx_http_jpulse_l2_index_last;
static size_t        ngx_http_jpulse_l2_index_last_size;
static ngx_msec_t    ngx_http_jpulse_l2_index_failed;
static ngx_uint_t    ngx_http_jpulse_l2_index_failing;

static json_t       *ngx_http_jpulse_l2_app;

/* a config read that could not go out or came back empty: the poll owes it */
static ngx_uint_t    ngx_http_jpulse_l2_config_owed;

static int64_t       ngx_http_jpulse_l2_gen[NGX_HTTP_JPULSE_INV_KINDS];
static ngx_uint_t    ngx_http_jpulse_l2_gen_known;

/* both connections were up at the last look (ngx_http_jpulse_l2_sync) */
static ngx_uint_t    ngx_http_jpulse_l2_was_ready;

/* fetches in flight, by key; what they and parked requests hold */
static ngx_queue_t   ngx_http_jpulse_l2_fetches[NGX_HTTP_JPULSE_L2_BUCKETS];
static ngx_uint_t    ngx_http_jpulse_l2_nfetches;
static ngx_uint_t    ngx_http_jpulse_l2_nwaits;

static const char   *ngx_http_jpulse_l2_kinds[] = { "view", "config", "i18n" };


ngx_int_t
ngx_http_jpulse_l2_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                    i;
    ngx_array_t                  *views;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);
    views = ngx_http_jpulse_view_sets();

    /* the cache API publishes even where nothing is rendered */
    ngx_http_jpulse_l2_ns = jmcf->namespace;
    ngx_http_jpulse_l2_keys = jmcf->ns_l2;

    if (!ngx_http_jpulse_redis_configured()
        || views == NULL || views->nelts == 0)
    {
        return NGX_OK;
    }

    ngx_http_jpulse_l2_on = 1;

    for (i = 0; i < NGX_HTTP_JPULSE_L2_BUCKETS; i++) {
        ngx_queue_init(&ngx_http_jpulse_l2_fetches[i]);
    }

    if (ngx_http_jpulse_redis_on_message("controller:cache:invalidate:",
                                         ngx_http_jpulse_l2_message, NULL)
        != NGX_OK
        || ngx_http_jpulse_redis_on_message("controller:config:data:changed",
                                            ngx_http_jpulse_l2_config_message,
                                            NULL) != NGX_OK
        || ngx_http_jpulse_redis_on_resync(ngx_http_jpulse_l2_resync, NULL)
           != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_jpulse_l2_timer.handler = ngx_http_jpulse_l2_poll;
    ngx_http_jpulse_l2_timer.log = cycle->log;
    ngx_http_jpulse_l2_timer.data = cycle;
    ngx_http_jpulse_l2_timer.cancelable = 1;

    ngx_add_timer(&ngx_http_jpulse_l2_timer, NGX_HTTP_JPULSE_GEN_POLL);

    return NGX_OK;
}


void
ngx_http_jpulse_l2_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_jpulse_l2_timer.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_l2_timer);
    }

    json_decref(ngx_http_jpulse_l2_index);
    json_decref(ngx_http_jpulse_l2_index_last);
    json_decref(ngx_http_jpulse_l2_app);

    ngx_http_jpulse_l2_index = NULL;
    ngx_http_jpulse_l2_index_last = NULL;
    ngx_http_jpulse_l2_app = NULL;
    ngx_http_jpulse_l2_on = 0;
}


ngx_uint_t
ngx_http_jpulse_l2_usable(void)
{
    return ngx_http_jpulse_l2_on && ngx_http_jpulse_redis_ready();
}


json_t *
ngx_http_jpulse_l2_app_config(void)
{
    return ngx_http_jpulse_l2_app;
}


json_t *
ngx_http_jpulse_l2_site_config(void)
{
    return ngx_http_jpulse_siteconfig();
}


json_t *
ngx_http_jpulse_l2_site_config_for(ngx_uint_t authenticated)
{
    return ngx_http_jpulse_siteconfig_for(authenticated);
}


size_t
ngx_http_jpulse_l2_bytes(void)
{
    return (ngx_http_jpulse_l2_index ? ngx_http_jpulse_l2_index_size : 0)
           + (ngx_http_jpulse_l2_index_last
              ? ngx_http_jpulse_l2_index_last_size : 0);
}


void
ngx_http_jpulse_l2_index_stale(void)
{
    /* an HGETALL in flight may have been answered before the change */
    ngx_http_jpulse_l2_index_gen++;

    if (ngx_http_jpulse_l2_index) {
        json_decref(ngx_http_jpulse_l2_index_last);
        ngx_http_jpulse_l2_index_last = ngx_http_jpulse_l2_index;
        ngx_http_jpulse_l2_index_last_size = ngx_http_jpulse_l2_index_size;
        ngx_http_jpulse_l2_index = NULL;
    }

    ngx_http_jpulse_l2_index_failing = 0;
}


uint64_t
ngx_http_jpulse_l2_hash(const u_char *p, size_t len)
{
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h ^= *p++;
        h *= 0x100000001b3ULL;
    }

    return h;
}


ngx_int_t
ngx_http_jpulse_l2_index_lookup(u_char *path, size_t len, uint64_t *etag,
    int64_t *mtime)
{
    if (!ngx_http_jpulse_l2_usable()) {
        return NGX_DECLINED;
    }

    if (ngx_http_jpulse_l2_index == NULL) {
        if (ngx_http_jpulse_l2_index_failing
            && ngx_current_msec - ngx_http_jpulse_l2_index_failed
               < NGX_HTTP_JPULSE_L2_RETRY)
        {
            return NGX_DECLINED;
        }

        return NGX_AGAIN;
    }

    return ngx_http_jpulse_l2_index_find(ngx_http_jpulse_l2_index, path, len,
                                         etag, mtime);
}


ngx_uint_t
ngx_http_jpulse_l2_reachable(void)
{
    return ngx_http_jpulse_l2_usable()
           && !(ngx_http_jpulse_l2_index == NULL
                && ngx_http_jpulse_l2_index_failing);
}


ngx_int_t
ngx_http_jpulse_l2_index_kept(u_char *path, size_t len, int64_t *mtime)
{
    json_t    *index;
    uint64_t   etag;

    if (!ngx_http_jpulse_l2_on || ngx_http_jpulse_l2_reachable()) {
        return NGX_DECLINED;
    }

    index = ngx_http_jpulse_l2_index ? ngx_http_jpulse_l2_index
                                     : ngx_http_jpulse_l2_index_last;

    if (index == NULL) {
        return NGX_DECLINED;
    }

    return ngx_http_jpulse_l2_index_find(index, path, len, &etag, mtime);
}


static ngx_int_t
ngx_http_jpulse_l2_index_find(json_t *index, u_char *path, size_t len,
    uint64_t *etag, int64_t *mtime)
{
    u_char       key[NGX_MAX_PATH];
    u_char      *colon, *value;
    size_t       vlen;
    json_t      *j;
    ngx_int_t    n;

    if (len >= sizeof(key)) {
        return NGX_DECLINED;
    }

    ngx_memcpy(key, path, len);
    key[len] = '\0';

    j = json_object_get(index, (char *) key);
    if (!json_is_string(j)) {
        return NGX_DECLINED;
    }

    value = (u_char *) json_string_value(j);
    vlen = json_string_length(j);

    colon = ngx_strlchr(value, value + vlen, ':');
    if (colon == NULL) {
        return NGX_DECLINED;
    }

    n = ngx_atoi(value, colon - value);
    *mtime = n == NGX_ERROR ? 0 : n;
    *etag = ngx_http_jpulse_l2_hash(colon + 1, value + vlen - colon - 1);

    return NGX_OK;
}


ngx_int_t
ngx_http_jpulse_l2_index_list(const char *dir, jp_tpl_list_pt cb, void *arg)
{
    size_t       dlen;
    json_t      *v;
    ngx_uint_t   found;
    const char  *key, *name, *slash;

    if (!ngx_http_jpulse_l2_usable() || ngx_http_jpulse_l2_index == NULL) {
        return NGX_DECLINED;
    }

    dlen = ngx_strlen(dir);
    found = 0;

    json_object_foreach(ngx_http_jpulse_l2_index, key, v) {
        if (dlen) {
            if (ngx_strncmp(key, dir, dlen) != 0 || key[dlen] != '/') {
                continue;
            }

            name = key + dlen + 1;

        } else {
            name = key;
        }

        if (*name == '\0') {
            continue;
        }

        /* a file deeper down names its subdirectory here, "sub/" (once
         * per file: file.list takes each directory once) */
        slash = (const char *) ngx_strchr(name, '/');

        found++;

        if (cb(arg, name, slash ? (size_t) (slash - name + 1)
                                : ngx_strlen(name)) != 0)
        {
            return NGX_ERROR;
        }
    }

    return found ? NGX_OK : NGX_DECLINED;
}


/* <ns>bc:controller:cache:invalidate:{view,config,i18n,all} */

static void
ngx_http_jpulse_l2_message(ngx_str_t *channel, ngx_str_t *msg, void *data)
{
    u_char      *kind;
    size_t       len;
    ngx_uint_t   k;

    kind = channel->data + sizeof("controller:cache:invalidate:") - 1;
    len = channel->data + channel->len - kind;

    for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
        if (len == 3 && ngx_strncmp(kind, "all", 3) == 0) {
            ngx_http_jpulse_view_invalidate(k);
            continue;
        }

        if (len == ngx_strlen(ngx_http_jpulse_l2_kinds[k])
            && ngx_strncmp(kind, ngx_http_jpulse_l2_kinds[k], len) == 0)
        {
            ngx_http_jpulse_view_invalidate(k);
            ngx_http_jpulse_l2_event_gen(k, msg);

            if (k == NGX_HTTP_JPULSE_INV_CONFIG) {
                ngx_http_jpulse_l2_fetch_config();
            }

            return;
        }
    }

    if (len == 3 && ngx_strncmp(kind, "all", 3) == 0) {
        ngx_http_jpulse_l2_fetch_config();
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0,
                  "jpulse: ignoring invalidation \"%V\"", channel);
}


/*
 * The counter an event carries ("data":{"gen":N}) is the one polling would
 * find: taking it now spares the same flush again at the next poll.
 */

static void
ngx_http_jpulse_l2_event_gen(ngx_uint_t k, ngx_str_t *msg)
{
    json_t        *j, *gen;
    json_error_t   err;

    if (!ngx_http_jpulse_l2_gen_known) {
        return;
    }

    j = json_loadb((char *) msg->data, msg->len, 0, &err);
    gen = json_object_get(json_object_get(j, "data"), "gen");

    if (json_is_integer(gen)
        && json_integer_value(gen) > ngx_http_jpulse_l2_gen[k])
    {
        ngx_http_jpulse_l2_gen[k] = json_integer_value(gen);
    }

    json_decref(j);
}


/* jPulse's own: the site config (configs{_id:"global"}) was written */

static void
ngx_http_jpulse_l2_config_message(ngx_str_t *channel, ngx_str_t *msg,
    void *data)
{
    ngx_http_jpulse_l2_fetch_config();
}


static void
ngx_http_jpulse_l2_resync(void *data)
{
    ngx_uint_t  k;

    /* whatever was published while we were away is lost: start over */

    for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
        ngx_http_jpulse_view_invalidate(k);
    }

    ngx_http_jpulse_l2_gen_known = 0;

    /* the config and the generation baseline are read again now, or when
     * the command connection is back too (it reconnects on its own) */
    if (ngx_http_jpulse_redis_ready()) {
        ngx_http_jpulse_l2_was_ready = 1;
        ngx_http_jpulse_l2_fetch_config();
        ngx_http_jpulse_l2_poll(NULL);
        return;
    }

    /* ngx_http_jpulse_l2_sync() does it once both are up */
    ngx_http_jpulse_l2_was_ready = 0;
}


/*
 * Redis became usable again (both connections): what was revalidated
 * against the disk while it was away (a copy from Redis kept because the
 * disk had none) must be checked against Redis, and events may have been
 * missed. Called at every request and poll: one comparison.
 */

void
ngx_http_jpulse_l2_sync(void)
{
    ngx_uint_t  ready, k;

    ready = ngx_http_jpulse_l2_on && ngx_http_jpulse_redis_ready();

    if (ready && !ngx_http_jpulse_l2_was_ready) {
        ngx_http_jpulse_l2_was_ready = 1;

        for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
            if (k != NGX_HTTP_JPULSE_INV_CONFIG) {
                ngx_http_jpulse_view_invalidate(k);
            }
        }

        ngx_http_jpulse_l2_gen_known = 0;
        ngx_http_jpulse_l2_fetch_config();
        return;
    }

    ngx_http_jpulse_l2_was_ready = ready;
}


static void
ngx_http_jpulse_l2_poll(ngx_event_t *ev)
{
    u_char      key[NGX_HTTP_JPULSE_L2_KEY_MAX];
    size_t      argvlen[5];
    const char *argv[5];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_jpulse_l2_sync();

    if (ngx_http_jpulse_redis_ready()) {
        /* first: with the connection nearly full the debt goes out */
        if (ngx_http_jpulse_l2_config_owed) {
            ngx_http_jpulse_l2_fetch_config();
        }

        argv[0] = "HMGET";
        argv[1] = (const char *) key;
        argv[2] = "view";
        argv[3] = "config";
        argv[4] = "i18n";

        argvlen[0] = 5;
        argvlen[1] = ngx_snprintf(key, sizeof(key), "%Vgen",
                                  &ngx_http_jpulse_l2_keys) - key;
        argvlen[2] = 4;
        argvlen[3] = 6;
        argvlen[4] = 4;

        (void) ngx_http_jpulse_redis_command(ngx_http_jpulse_l2_gen_reply,
                                             NULL, 5, argv, argvlen);
    }

    if (ngx_http_jpulse_l2_timer.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_l2_timer);
    }

    ngx_add_timer(&ngx_http_jpulse_l2_timer, NGX_HTTP_JPULSE_GEN_POLL);
}


static void
ngx_http_jpulse_l2_gen_reply(redisReply *reply, void *data)
{
    int64_t     gen;
    ngx_int_t   n;
    ngx_uint_t  k;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != NGX_HTTP_JPULSE_INV_KINDS)
    {
        return;
    }

    for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
        gen = 0;

        if (reply->element[k]->type == REDIS_REPLY_STRING) {
            n = ngx_atoi((u_char *) reply->element[k]->str,
                         reply->element[k]->len);
            gen = n == NGX_ERROR ? 0 : n;
        }

        if (ngx_http_jpulse_l2_gen_known
            && gen != ngx_http_jpulse_l2_gen[k])
        {
            /* an event we did not hear */
            ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                           "jpulse l2: generation of %s moved to %L",
                           ngx_http_jpulse_l2_kinds[k], gen);

            ngx_http_jpulse_view_invalidate(k);

            if (k == NGX_HTTP_JPULSE_INV_CONFIG) {
                ngx_http_jpulse_l2_fetch_config();
            }
        }

        ngx_http_jpulse_l2_gen[k] = gen;
    }

    ngx_http_jpulse_l2_gen_known = 1;
}


static void
ngx_http_jpulse_l2_fetch_config(void)
{
    u_char      app[NGX_HTTP_JPULSE_L2_KEY_MAX];
    u_char      site[NGX_HTTP_JPULSE_L2_KEY_MAX];
    size_t      argvlen[3];
    const char *argv[3];

    argv[0] = "MGET";
    argv[1] = (const char *) app;
    argv[2] = (const char *) site;

    argvlen[0] = 4;
    argvlen[1] = ngx_snprintf(app, sizeof(app), "%Vcfg:app",
                              &ngx_http_jpulse_l2_keys) - app;
    argvlen[2] = ngx_snprintf(site, sizeof(site), "%Vcfg:site",
                              &ngx_http_jpulse_l2_keys) - site;

    /*
     * Refused (max_pending) or not connected: the event that asked for it
     * has moved the generation we know, so the poll alone would never ask
     * again.
     */
    ngx_http_jpulse_l2_config_owed =
        ngx_http_jpulse_redis_command(ngx_http_jpulse_l2_config_reply, NULL,
                                      3, argv, argvlen)
        != NGX_OK;
}


static void
ngx_http_jpulse_l2_config_reply(redisReply *reply, void *data)
{
    json_t        *j;
    ngx_uint_t     i, changed;
    redisReply    *e;
    json_error_t   err;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY
        || reply->elements != 2)
    {
        ngx_http_jpulse_l2_config_owed = 1;
        return;
    }

    changed = 0;

    for (i = 0; i < 2; i++) {
        e = reply->element[i];
        j = NULL;

        if (i == 1 && ngx_http_jpulse_siteconfig_redis_ignored()) {
            continue;
        }

        if (e->type == REDIS_REPLY_STRING) {
            j = json_loadb(e->str, e->len, 0, &err);

            if (!json_is_object(j)) {
                /* a broken publish never replaces the config in force */
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "jpulse: %Vcfg:%s: line %d, column %d: %s; "
                              "keeping the previous config",
                              &ngx_http_jpulse_l2_keys, i ? "site" : "app",
                              err.line, err.column,
                              j ? "not a JSON object" : err.text);
                json_decref(j);
                ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
                continue;
            }
        }

        if (i == 0) {
            if (j == NULL && ngx_http_jpulse_l2_app == NULL) {
                continue;
            }

            if (j != NULL && ngx_http_jpulse_l2_app != NULL
                && json_equal(j, ngx_http_jpulse_l2_app))
            {
                json_decref(j);
                continue;
            }

            json_decref(ngx_http_jpulse_l2_app);
            ngx_http_jpulse_l2_app = j;
            changed = 1;
            continue;
        }

        if (ngx_http_jpulse_siteconfig_install(j)) {
            changed = 1;
        }

        json_decref(j);
    }

    if (changed) {
        ngx_http_jpulse_view_config_changed();
    }
}


ngx_int_t
ngx_http_jpulse_l2_fetch(ngx_http_request_t *r,
    ngx_http_jpulse_view_rt_t *rt, ngx_array_t *needs,
    ngx_http_jpulse_l2_resume_pt resume)
{
    ngx_int_t                    rc;
    ngx_uint_t                   i;
    ngx_http_cleanup_t          *cln;
    ngx_http_jpulse_need_t      *need;
    ngx_http_jpulse_l2_link_t   *link;
    ngx_http_jpulse_l2_wait_t   *w;
    ngx_http_jpulse_l2_fetch_t  *f;

    if (!ngx_http_jpulse_l2_usable() || needs->nelts == 0) {
        return NGX_DECLINED;
    }

    /* not from the request pool: it must outlive a client that leaves */

    w = ngx_alloc(offsetof(ngx_http_jpulse_l2_wait_t, links)
                  + needs->nelts * sizeof(ngx_http_jpulse_l2_link_t),
                  r->connection->log);
    if (w == NULL) {
        return NGX_ERROR;
    }

    w->request = r;
    w->cleanup = NULL;
    w->resume = resume;
    w->pending = 0;
    w->nlinks = 0;

    ngx_http_jpulse_l2_nwaits++;

    /* an http cleanup runs when the request is terminated, not only freed */

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_http_jpulse_l2_wait_free(w);
        return NGX_ERROR;
    }

    need = needs->elts;

    for (i = 0; i < needs->nelts; i++) {
        f = ngx_http_jpulse_l2_find(rt, &need[i]);

        if (f == NULL) {
            rc = ngx_http_jpulse_l2_send(rt, &need[i], &f);

            if (rc != NGX_OK) {
                /* what went out is still stored when its reply comes */
                ngx_http_jpulse_l2_wait_free(w);
                return rc;
            }

        } else {
            ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                           "jpulse l2: joining the fetch of %ui \"%V%V\"",
                           f->kind, &f->lang, &f->path);
        }

        link = &w->links[w->nlinks++];
        link->fetch = f;
        link->wait = w;
        ngx_queue_insert_tail(&f->waiters, &link->queue);
        w->pending++;
    }

    cln->handler = ngx_http_jpulse_l2_wait_cleanup;
    cln->data = w;
    w->cleanup = cln;

    ngx_http_jpulse_redis_park(r);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse l2: request parked on %ui fetches", w->pending);

    return NGX_DONE;
}


static ngx_uint_t
ngx_http_jpulse_l2_epoch(ngx_http_jpulse_view_rt_t *rt, ngx_uint_t kind)
{
    switch (kind) {

    case NGX_HTTP_JPULSE_NEED_INDEX:
        return ngx_http_jpulse_l2_index_gen;

    case NGX_HTTP_JPULSE_T_I18N:
        return rt->i18n_epoch;

    default: /* NGX_HTTP_JPULSE_T_SOURCE */
        return rt->cache.epoch;
    }
}


static ngx_queue_t *
ngx_http_jpulse_l2_bucket(ngx_http_jpulse_need_t *need)
{
    uint64_t  h;

    h = ngx_http_jpulse_l2_hash(need->lang.data, need->lang.len)
        ^ ngx_http_jpulse_l2_hash(need->path.data, need->path.len)
        ^ need->kind;

    return &ngx_http_jpulse_l2_fetches[h % NGX_HTTP_JPULSE_L2_BUCKETS];
}


/*
 * The fetch in flight for this key, if it was sent after the last
 * invalidation of what it reads: an older one's reply will be dropped.
 */

static ngx_http_jpulse_l2_fetch_t *
ngx_http_jpulse_l2_find(ngx_http_jpulse_view_rt_t *rt,
    ngx_http_jpulse_need_t *need)
{
    ngx_uint_t                   epoch;
    ngx_queue_t                 *b, *q;
    ngx_http_jpulse_l2_fetch_t  *f;

    b = ngx_http_jpulse_l2_bucket(need);
    epoch = ngx_http_jpulse_l2_epoch(rt, need->kind);

    for (q = ngx_queue_head(b); q != ngx_queue_sentinel(b);
         q = ngx_queue_next(q))
    {
        f = ngx_queue_data(q, ngx_http_jpulse_l2_fetch_t, queue);

        if (f->kind == need->kind
            && f->epoch == epoch
            && (f->kind == NGX_HTTP_JPULSE_NEED_INDEX || f->rt == rt)
            && f->lang.len == need->lang.len
            && f->path.len == need->path.len
            && (f->lang.len == 0
                || ngx_memcmp(f->lang.data, need->lang.data, f->lang.len)
                   == 0)
            && (f->path.len == 0
                || ngx_memcmp(f->path.data, need->path.data, f->path.len)
                   == 0))
        {
            return f;
        }
    }

    return NULL;
}


static ngx_int_t
ngx_http_jpulse_l2_send(ngx_http_jpulse_view_rt_t *rt,
    ngx_http_jpulse_need_t *need, ngx_http_jpulse_l2_fetch_t **fp)
{
    int                          argc;
    u_char                       key[NGX_HTTP_JPULSE_L2_KEY_MAX];
    size_t                       argvlen[5];
    ngx_int_t                    rc;
    ngx_queue_t                 *b;
    const char                  *argv[5];
    ngx_http_jpulse_l2_fetch_t  *f;

    argv[1] = (const char *) key;

    switch (need->kind) {

    case NGX_HTTP_JPULSE_NEED_INDEX:
        argv[0] = "HGETALL";
        argvlen[0] = 7;
        argvlen[1] = ngx_snprintf(key, sizeof(key), "%Vtplindex",
                                  &ngx_http_jpulse_l2_keys) - key;
        argc = 2;
        break;

    case NGX_HTTP_JPULSE_T_I18N:
        if (need->lang.len > 64) {
            return NGX_DECLINED;
        }

        argv[0] = "GET";
        argvlen[0] = 3;
        argvlen[1] = ngx_snprintf(key, sizeof(key), "%Vi18n:%V",
                                  &ngx_http_jpulse_l2_keys, &need->lang) - key;
        argc = 2;
        break;

    default: /* NGX_HTTP_JPULSE_T_SOURCE */
        if (need->path.len > NGX_MAX_PATH) {
            return NGX_DECLINED;
        }

        argv[0] = "HMGET";
        argv[2] = "source";
        argv[3] = "etag";
        argv[4] = "mtime";
        argvlen[0] = 5;
        argvlen[1] = ngx_snprintf(key, sizeof(key), "%Vtpl:%V",
                                  &ngx_http_jpulse_l2_keys, &need->path) - key;
        argvlen[2] = 6;
        argvlen[3] = 4;
        argvlen[4] = 5;
        argc = 5;
    }

    f = ngx_alloc(sizeof(ngx_http_jpulse_l2_fetch_t) + need->lang.len
                  + need->path.len, ngx_cycle->log);
    if (f == NULL) {
        return NGX_ERROR;
    }

    f->rt = rt;
    f->kind = need->kind;
    f->epoch = ngx_http_jpulse_l2_epoch(rt, need->kind);
    f->lang.len = need->lang.len;
    f->lang.data = f->data;
    f->path.len = need->path.len;
    f->path.data = f->data + need->lang.len;

    /* the index has neither: no copy from a NULL pointer */
    if (need->lang.len) {
        ngx_memcpy(f->lang.data, need->lang.data, need->lang.len);
    }

    if (need->path.len) {
        ngx_memcpy(f->path.data, need->path.data, need->path.len);
    }

    rc = ngx_http_jpulse_redis_command(ngx_http_jpulse_l2_reply, f, argc,
                                       argv, argvlen);
    if (rc != NGX_OK) {
        ngx_free(f);
        return rc;
    }

    b = ngx_http_jpulse_l2_bucket(need);

    ngx_queue_insert_tail(b, &f->queue);
    ngx_queue_init(&f->waiters);

    ngx_http_jpulse_l2_nfetches++;

    ngx_log_debug4(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse l2: fetching %ui \"%V%V\", epoch %ui",
                   f->kind, &f->lang, &f->path, f->epoch);

    *fp = f;

    return NGX_OK;
}


/*
 * Called once per fetch, with NULL when the connection was lost or the
 * worker exits: stores the reply, then resumes the requests for which it
 * was the last one missing.
 */

static void
ngx_http_jpulse_l2_reply(redisReply *reply, void *data)
{
    ngx_http_jpulse_l2_fetch_t  *f = data;

    ngx_queue_t                 waiters, *q;
    ngx_http_jpulse_l2_link_t  *link;
    ngx_http_jpulse_l2_wait_t  *w;

    /* answered: whoever needs the key now sends a new fetch */
    ngx_queue_remove(&f->queue);

    ngx_http_jpulse_l2_store(f, reply);

    /*
     * A resumed request may park again, finish, or end others (whose
     * cleanups then unlink their links): walk a list of our own.
     */

    ngx_queue_init(&waiters);

    if (!ngx_queue_empty(&f->waiters)) {
        ngx_queue_add(&waiters, &f->waiters);
    }

    while (!ngx_queue_empty(&waiters)) {
        q = ngx_queue_head(&waiters);
        ngx_queue_remove(q);

        link = ngx_queue_data(q, ngx_http_jpulse_l2_link_t, queue);
        link->fetch = NULL;
        w = link->wait;

        if (--w->pending == 0) {
            ngx_http_jpulse_l2_wake(w);
        }
    }

    ngx_free(f);
    ngx_http_jpulse_l2_nfetches--;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse l2: %ui fetches, %ui parked requests outstanding",
                   ngx_http_jpulse_l2_nfetches, ngx_http_jpulse_l2_nwaits);
}


static void
ngx_http_jpulse_l2_wake(ngx_http_jpulse_l2_wait_t *w)
{
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_jpulse_l2_resume_pt   resume;

    r = w->request;
    resume = w->resume;

    ngx_http_jpulse_l2_wait_free(w);

    if (ngx_http_jpulse_redis_closing()) {
        /* exit_process: the process and its requests are going away */
        return;
    }

    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    resume(r);

    ngx_http_run_posted_requests(c);
}


/* the client left (or the request ended otherwise) while parked */

static void
ngx_http_jpulse_l2_wait_cleanup(void *data)
{
    ngx_http_jpulse_l2_wait_t  *w = data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse l2: parked request gone");

    w->cleanup = NULL;

    ngx_http_jpulse_l2_wait_free(w);
}


static void
ngx_http_jpulse_l2_wait_free(ngx_http_jpulse_l2_wait_t *w)
{
    ngx_uint_t  i;

    for (i = 0; i < w->nlinks; i++) {
        if (w->links[i].fetch) {
            ngx_queue_remove(&w->links[i].queue);
        }
    }

    if (w->cleanup) {
        w->cleanup->handler = NULL;
    }

    ngx_free(w);
    ngx_http_jpulse_l2_nwaits--;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse l2: %ui fetches, %ui parked requests outstanding",
                   ngx_http_jpulse_l2_nfetches, ngx_http_jpulse_l2_nwaits);
}


static void
ngx_http_jpulse_l2_store(ngx_http_jpulse_l2_fetch_t *f, redisReply *reply)
{
    if (f->kind == NGX_HTTP_JPULSE_NEED_INDEX) {
        if (f->epoch != ngx_http_jpulse_l2_index_gen) {
            /* its waiters resume without it and fetch it again */
            ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                           "jpulse l2: index read before an invalidation "
                           "dropped");
            return;
        }

        ngx_http_jpulse_l2_store_index(reply);
        return;
    }

    if (!ngx_http_jpulse_l2_on || f->rt->view->rt != f->rt) {
        /* the worker is exiting */
        return;
    }

    /* an invalidation came while this was on the way: it may be old */
    if (f->epoch != (f->kind == NGX_HTTP_JPULSE_T_I18N ? f->rt->i18n_epoch
                                                        : f->rt->cache.epoch))
    {
        return;
    }

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        return;
    }

    if (f->kind == NGX_HTTP_JPULSE_T_I18N) {
        ngx_http_jpulse_l2_store_i18n(f, reply);

    } else {
        ngx_http_jpulse_l2_store_source(f, reply);
    }
}


static void
ngx_http_jpulse_l2_store_index(redisReply *reply)
{
    size_t       i, size;
    json_t      *index, *v;
    redisReply  *k, *e;

    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY) {
        ngx_http_jpulse_l2_index_failing = 1;
        ngx_http_jpulse_l2_index_failed = ngx_current_msec;
        return;
    }

    index = json_object();
    if (index == NULL) {
        return;
    }

    size = 256;

    for (i = 0; i + 1 < reply->elements; i += 2) {
        k = reply->element[i];
        e = reply->element[i + 1];

        if (k->type != REDIS_REPLY_STRING || e->type != REDIS_REPLY_STRING
            || k->len == 0 || k->len >= NGX_MAX_PATH
            || ngx_strlchr((u_char *) k->str, (u_char *) k->str + k->len,
                           '\0') != NULL)
        {
            continue;
        }

        v = json_stringn(e->str, e->len);

        if (v == NULL || json_object_setn_new(index, k->str, k->len, v) != 0) {
            json_decref(index);
            return;
        }

        size += k->len + e->len + 96;
    }

    json_decref(ngx_http_jpulse_l2_index);
    ngx_http_jpulse_l2_index = index;
    ngx_http_jpulse_l2_index_size = size;
    ngx_http_jpulse_l2_index_failing = 0;

    json_decref(ngx_http_jpulse_l2_index_last);
    ngx_http_jpulse_l2_index_last = NULL;
}


static void
ngx_http_jpulse_l2_store_source(ngx_http_jpulse_l2_fetch_t *f,
    redisReply *reply)
{
    u_char                    *src;
    ngx_int_t                  n;
    redisReply               **el;
    ngx_http_jpulse_tentry_t  *e;

    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) {
        return;
    }

    el = reply->element;

    e = ngx_http_jpulse_tcache_add(&f->rt->cache, NGX_HTTP_JPULSE_T_SOURCE,
                                   NULL, f->path.data, f->path.len);
    if (e == NULL) {
        return;
    }

    e->checked = ngx_current_msec;

    if (el[0]->type != REDIS_REPLY_STRING) {
        /* gone since the index was read: the disk decides */
        e->not_l2 = 1;
        return;
    }

    src = ngx_alloc(el[0]->len + 1, ngx_cycle->log);
    if (src == NULL) {
        ngx_http_jpulse_tcache_remove(&f->rt->cache, e);
        return;
    }

    ngx_memcpy(src, el[0]->str, el[0]->len);
    src[el[0]->len] = '\0';

    e->from = NGX_HTTP_JPULSE_FROM_REDIS;

    if (el[1]->type == REDIS_REPLY_STRING) {
        e->stamp = ngx_http_jpulse_l2_hash((u_char *) el[1]->str,
                                           el[1]->len);
    }

    if (el[2]->type == REDIS_REPLY_STRING) {
        n = ngx_atoi((u_char *) el[2]->str, el[2]->len);
        e->mtime = n == NGX_ERROR ? 0 : n;
    }

    ngx_http_jpulse_tcache_set(&f->rt->cache, e, src, el[0]->len,
                               el[0]->len + 1);
}


static void
ngx_http_jpulse_l2_store_i18n(ngx_http_jpulse_l2_fetch_t *f,
    redisReply *reply)
{
    json_t                    *j;
    json_error_t               err;
    ngx_http_jpulse_tentry_t  *e;

    e = ngx_http_jpulse_tcache_find(&f->rt->cache, NGX_HTTP_JPULSE_T_I18N,
                                    &f->lang, (u_char *) "", 0);

    if (reply->type != REDIS_REPLY_STRING) {
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&f->rt->cache,
                                           NGX_HTTP_JPULSE_T_I18N, &f->lang,
                                           (u_char *) "", 0);
            if (e == NULL) {
                return;
            }
        }

        /* not in Redis (any more): the disk decides, now */
        if (e->from == NGX_HTTP_JPULSE_FROM_REDIS) {
            ngx_http_jpulse_tcache_set(&f->rt->cache, e, NULL, 0, 0);
            e->from = NGX_HTTP_JPULSE_FROM_NONE;
            e->stamp = 0;
        }

        e->not_l2 = 1;
        e->epoch = f->rt->i18n_epoch;
        e->checked = ngx_current_msec - f->rt->view->check_interval - 1;
        return;
    }

    j = json_loadb(reply->str, reply->len, 0, &err);

    if (!json_is_object(j)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "jpulse: %Vi18n:%V: line %d, column %d: %s; keeping "
                      "the previous translations",
                      &ngx_http_jpulse_l2_keys, &f->lang, err.line, err.column,
                      j ? "not a JSON object" : err.text);
        json_decref(j);
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);

        /*
         * Remembered for this epoch, so that neither this request's next
         * round nor the next request fetches and logs it again: the copy
         * from Redis in force stays, else the disk decides.
         */
        if (e == NULL) {
            e = ngx_http_jpulse_tcache_add(&f->rt->cache,
                                           NGX_HTTP_JPULSE_T_I18N, &f->lang,
                                           (u_char *) "", 0);
            if (e == NULL) {
                return;
            }

            e->checked = ngx_current_msec - f->rt->view->check_interval - 1;
        }

        if (e->from != NGX_HTTP_JPULSE_FROM_REDIS) {
            e->not_l2 = 1;
        }

        e->epoch = f->rt->i18n_epoch;
        e->broken = 1;

        return;
    }

    if (e == NULL) {
        e = ngx_http_jpulse_tcache_add(&f->rt->cache, NGX_HTTP_JPULSE_T_I18N,
                                       &f->lang, (u_char *) "", 0);
        if (e == NULL) {
            json_decref(j);
            return;
        }
    }

    e->from = NGX_HTTP_JPULSE_FROM_REDIS;
    e->not_l2 = 0;
    e->broken = 0;
    e->epoch = f->rt->i18n_epoch;
    e->stamp = ngx_http_jpulse_l2_hash((u_char *) reply->str, reply->len);
    e->checked = ngx_current_msec;

    ngx_http_jpulse_tcache_set(&f->rt->cache, e, j, 0, reply->len * 3);
}


ngx_int_t
ngx_http_jpulse_l2_publish(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_http_jpulse_l2_resume_pt done, ngx_int_t *receivers)
{
    u_char                    *p, gen[NGX_HTTP_JPULSE_L2_KEY_MAX],
                               channel[NGX_HTTP_JPULSE_L2_KEY_MAX];
    size_t                     argvlen[4];
    ngx_int_t                  rc;
    ngx_uint_t                 k;
    ngx_time_t                *tp;
    const char                *argv[4], *name;
    ngx_http_jpulse_l2_pub_t  *pub;

    if (!ngx_http_jpulse_redis_ready()) {
        return NGX_DECLINED;
    }

    pub = ngx_palloc(r->pool, sizeof(ngx_http_jpulse_l2_pub_t));
    if (pub == NULL) {
        return NGX_ERROR;
    }

    pub->done = done;
    pub->receivers = receivers;

    argv[0] = "HINCRBY";
    argv[1] = (const char *) gen;
    argv[3] = "1";
    argvlen[0] = 7;
    argvlen[1] = ngx_snprintf(gen, sizeof(gen), "%Vgen",
                              &ngx_http_jpulse_l2_keys) - gen;
    argvlen[3] = 1;

    /* the counters first: a peer that misses the event still catches up */

    for (k = 0; k < NGX_HTTP_JPULSE_INV_KINDS; k++) {
        if (kind != NGX_HTTP_JPULSE_INV_KINDS && kind != k) {
            continue;
        }

        argv[2] = ngx_http_jpulse_l2_kinds[k];
        argvlen[2] = ngx_strlen(argv[2]);

        rc = ngx_http_jpulse_redis_command(NULL, NULL, 4, argv, argvlen);
        if (rc != NGX_OK) {
            return rc;
        }
    }

    name = kind == NGX_HTTP_JPULSE_INV_KINDS ? "all"
                                             : ngx_http_jpulse_l2_kinds[kind];

    p = ngx_pnalloc(r->pool, 256 + ngx_http_jpulse_instance.instance_id.len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    tp = ngx_timeofday();

    argv[0] = "PUBLISH";
    argv[1] = (const char *) channel;
    argv[2] = (const char *) p;
    argvlen[0] = 7;
    argvlen[1] = ngx_snprintf(channel, sizeof(channel),
                              "%Vbc:controller:cache:invalidate:%s",
                              &ngx_http_jpulse_l2_ns, name) - channel;
    argvlen[2] = ngx_sprintf(p, "{\"channel\":\"controller:cache:invalidate:"
                             "%s\",\"data\":{\"type\":\"%s\","
                             "\"source\":\"cache-api\"},\"instanceId\":\"%V\","
                             "\"timestamp\":%M}", name, name,
                             &ngx_http_jpulse_instance.instance_id,
                             (ngx_msec_t) (tp->sec * 1000 + tp->msec))
                 - p;

    return ngx_http_jpulse_redis_request(r, ngx_http_jpulse_l2_published, pub,
                                         3, argv, argvlen);
}


static void
ngx_http_jpulse_l2_published(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_l2_pub_t  *pub = data;

    *pub->receivers = (reply && reply->type == REDIS_REPLY_INTEGER)
                      ? (ngx_int_t) reply->integer : -1;

    pub->done(r);
}
