/*
 * The per-worker session cache: a red-black tree by the sid's digest
 * (jp_session_sid_digest(), what the revocation event names: O(log n) per
 * lookup and per revoked session, and no sid is kept), a recency queue
 * for eviction by bytes and an insertion queue for expiry (every entry
 * lives TTL from its store, so insertion order is expiry order and
 * expired entries leave in O(1)).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_session.h"

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_session.h"
#include "ngx_http_jpulse_session_cache.h"


#define NGX_HTTP_JPULSE_SC_MIN_SIZE     8192
#define NGX_HTTP_JPULSE_SC_SID_MAX      256     /* express-session: 32 */
/* what a worker parses of one event; cachectl's are 100 digests, ~7 KB */
#define NGX_HTTP_JPULSE_SC_EVENT_MAX    65536
#define NGX_HTTP_JPULSE_SC_EVENT_ITEMS  1000


typedef struct {
    size_t                      size;       /* 0: off */
    ngx_msec_t                  ttl;
} ngx_http_jpulse_sc_main_conf_t;


typedef struct {
    ngx_str_node_t              sn;         /* sn.str: the digest,
                                               below */
    ngx_queue_t                 lru;        /* most recently used first */
    ngx_queue_t                 fifo;       /* oldest (first to expire)
                                               first */
    ngx_msec_t                  expires;
    size_t                      size;       /* what the cap counts */
    size_t                      len;
    u_char                     *json;
    /* the sid's digest, then the JSON */
} ngx_http_jpulse_sc_entry_t;


typedef struct {
    ngx_rbtree_t                tree;
    ngx_rbtree_node_t           sentinel;
    ngx_queue_t                 lru;
    ngx_queue_t                 fifo;
    size_t                      max;
    size_t                      bytes;
    ngx_uint_t                  entries;
    ngx_msec_t                  ttl;
    ngx_uint_t                  seq;        /* bumped by every drop */
    ngx_str_t                   ns;
    time_t                      logged;     /* hostile-event logs: the */
    ngx_uint_t                  nlogged;    /* second, and how many */
    unsigned                    on:1;
} ngx_http_jpulse_sc_t;


static void *ngx_http_jpulse_sc_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_jpulse_sc_init_main_conf(ngx_conf_t *cf, void *conf);
static char *ngx_http_jpulse_sc_directive(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_jpulse_sc_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_jpulse_sc_init_process(ngx_cycle_t *cycle);
static void ngx_http_jpulse_sc_exit_process(ngx_cycle_t *cycle);
static ngx_int_t ngx_http_jpulse_sc_log_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_sc_digest(ngx_str_t *sid, u_char *out);
static void ngx_http_jpulse_sc_drop_digest(ngx_str_t *digest);
static void ngx_http_jpulse_sc_publish(ngx_str_t *digest);
static void ngx_http_jpulse_sc_message(ngx_str_t *channel,
    ngx_str_t *message, void *data);
static void ngx_http_jpulse_sc_hostile(ngx_str_t *message, const char *why);
static void ngx_http_jpulse_sc_resync(void *data);
static void ngx_http_jpulse_sc_remove(ngx_http_jpulse_sc_entry_t *e);
static void ngx_http_jpulse_sc_expire(void);
static void ngx_http_jpulse_sc_gauges(void);


static ngx_http_jpulse_sc_t   ngx_http_jpulse_sc;


static ngx_command_t  ngx_http_jpulse_sc_commands[] = {

    { ngx_string("jpulse_session_cache"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE12,
      ngx_http_jpulse_sc_directive,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_jpulse_sc_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_jpulse_sc_postconfiguration,  /* postconfiguration */
    ngx_http_jpulse_sc_create_main_conf,   /* create main configuration */
    ngx_http_jpulse_sc_init_main_conf,     /* init main configuration */
    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */
    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_jpulse_session_cache_module = {
    NGX_MODULE_V1,
    &ngx_http_jpulse_sc_module_ctx,        /* module context */
    ngx_http_jpulse_sc_commands,           /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_jpulse_sc_init_process,       /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_jpulse_sc_exit_process,       /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static void *
ngx_http_jpulse_sc_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_jpulse_sc_main_conf_t  *scf;

    scf = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_sc_main_conf_t));
    if (scf == NULL) {
        return NULL;
    }

    scf->size = NGX_CONF_UNSET_SIZE;
    scf->ttl = NGX_CONF_UNSET_MSEC;

    return scf;
}


static char *
ngx_http_jpulse_sc_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_jpulse_sc_main_conf_t  *scf = conf;

    ngx_conf_init_size_value(scf->size, 0);
    ngx_conf_init_msec_value(scf->ttl, 0);

    return NGX_CONF_OK;
}


/* jpulse_session_cache SIZE TTL | off */

static char *
ngx_http_jpulse_sc_directive(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_sc_main_conf_t  *scf = conf;

    ssize_t     size;
    ngx_int_t   ttl;
    ngx_str_t  *value;

    if (scf->size != NGX_CONF_UNSET_SIZE) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") != 0) {
            return "expects \"off\" or SIZE TTL";
        }

        scf->size = 0;
        scf->ttl = 0;
        return NGX_CONF_OK;
    }

    size = ngx_parse_size(&value[1]);

    if (size == NGX_ERROR || size < NGX_HTTP_JPULSE_SC_MIN_SIZE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_session_cache size \"%V\" "
                           "(at least 8k)", &value[1]);
        return NGX_CONF_ERROR;
    }

    ttl = ngx_parse_time(&value[2], 0);

    if (ttl == NGX_ERROR || ttl <= 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_session_cache ttl \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    scf->size = size;
    scf->ttl = ttl;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_jpulse_sc_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt             *h;
    ngx_http_core_main_conf_t       *cmcf;
    ngx_http_jpulse_sc_main_conf_t  *scf;

    scf = ngx_http_conf_get_module_main_conf(cf,
                                         ngx_http_jpulse_session_cache_module);

    if (scf->size == 0) {
        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_jpulse_sc_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_sc_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_sc_t            *sc;
    ngx_http_jpulse_main_conf_t     *jmcf;
    ngx_http_jpulse_sc_main_conf_t  *scf;

    sc = &ngx_http_jpulse_sc;

    if (ngx_http_cycle_get_module_main_conf(cycle, ngx_http_core_module)
        == NULL)
    {
        return NGX_OK;                      /* no http{} */
    }

    scf = ngx_http_cycle_get_module_main_conf(cycle,
                                         ngx_http_jpulse_session_cache_module);
    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    if (scf == NULL || scf->size == 0) {
        return NGX_OK;
    }

    ngx_rbtree_init(&sc->tree, &sc->sentinel, ngx_str_rbtree_insert_value);
    ngx_queue_init(&sc->lru);
    ngx_queue_init(&sc->fifo);

    sc->max = scf->size;
    sc->ttl = scf->ttl;
    sc->ns = jmcf->namespace;
    sc->on = 1;

    ngx_http_jpulse_sc_gauges();

    if (ngx_http_jpulse_redis_on_message(NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL,
                                         ngx_http_jpulse_sc_message, NULL)
        != NGX_OK
        || ngx_http_jpulse_redis_on_resync(ngx_http_jpulse_sc_resync, NULL)
           != NGX_OK)
    {
        ngx_log_error(NGX_LOG_EMERG, cycle->log, 0,
                      "jpulse_session_cache: too many Redis listeners");
        return NGX_ERROR;
    }

    return NGX_OK;
}


static void
ngx_http_jpulse_sc_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_jpulse_sc.on) {
        ngx_http_jpulse_session_cache_drop_all();
        ngx_http_jpulse_sc.on = 0;
    }
}


ngx_uint_t
ngx_http_jpulse_session_cache_enabled(void)
{
    return ngx_http_jpulse_sc.on;
}


/* out: JP_SESSION_DIGEST_LEN bytes; NGX_ERROR: not a sid we keep */

static ngx_int_t
ngx_http_jpulse_sc_digest(ngx_str_t *sid, u_char *out)
{
    u_char  buf[JP_SESSION_DIGEST_LEN + 1];

    if (sid->len == 0 || sid->len > NGX_HTTP_JPULSE_SC_SID_MAX
        || jp_session_sid_digest(sid->data, sid->len, (char *) buf) != 0)
    {
        return NGX_ERROR;
    }

    ngx_memcpy(out, buf, JP_SESSION_DIGEST_LEN);

    return NGX_OK;
}


static ngx_http_jpulse_sc_entry_t *
ngx_http_jpulse_sc_find(ngx_str_t *digest)
{
    return (ngx_http_jpulse_sc_entry_t *)
               ngx_str_rbtree_lookup(&ngx_http_jpulse_sc.tree, digest,
                                     ngx_crc32_short(digest->data,
                                                     digest->len));
}


ngx_int_t
ngx_http_jpulse_session_cache_lookup(ngx_str_t *sid, ngx_str_t *json,
    ngx_uint_t *token)
{
    ngx_str_t                    digest;
    ngx_http_jpulse_sc_t        *sc;
    ngx_http_jpulse_sc_entry_t  *e;
    u_char                       buf[JP_SESSION_DIGEST_LEN];

    sc = &ngx_http_jpulse_sc;
    *token = sc->seq;

    if (!sc->on || ngx_http_jpulse_sc_digest(sid, buf) != NGX_OK) {
        return NGX_DECLINED;
    }

    digest.data = buf;
    digest.len = sizeof(buf);

    ngx_http_jpulse_sc_expire();

    e = ngx_http_jpulse_sc_find(&digest);

    if (e == NULL) {
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_CACHE_MISSES);
        return NGX_DECLINED;
    }

    ngx_queue_remove(&e->lru);
    ngx_queue_insert_head(&sc->lru, &e->lru);

    json->data = e->json;
    json->len = e->len;

    ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_CACHE_HITS);

    return NGX_OK;
}


void
ngx_http_jpulse_session_cache_store(ngx_str_t *sid, u_char *json,
    size_t len, ngx_uint_t token)
{
    size_t                       size;
    ngx_str_t                    digest;
    ngx_queue_t                 *q;
    ngx_http_jpulse_sc_t        *sc;
    ngx_http_jpulse_sc_entry_t  *e;
    u_char                       buf[JP_SESSION_DIGEST_LEN];

    sc = &ngx_http_jpulse_sc;

    if (!sc->on || token != sc->seq
        || ngx_http_jpulse_sc_digest(sid, buf) != NGX_OK)
    {
        return;
    }

    digest.data = buf;
    digest.len = sizeof(buf);

    size = sizeof(ngx_http_jpulse_sc_entry_t) + digest.len + len;

    /* one session may not push out more than a quarter of the others */

    if (size > sc->max / 4) {
        return;
    }

    e = ngx_http_jpulse_sc_find(&digest);
    if (e) {
        ngx_http_jpulse_sc_remove(e);   /* a concurrent miss stored it */
    }

    ngx_http_jpulse_sc_expire();

    while (sc->bytes + size > sc->max && !ngx_queue_empty(&sc->lru)) {
        q = ngx_queue_last(&sc->lru);
        ngx_http_jpulse_sc_remove(
                    ngx_queue_data(q, ngx_http_jpulse_sc_entry_t, lru));
        ngx_http_jpulse_metrics_session(NGX_HTTP_JPULSE_SESS_CACHE_EVICTIONS);
    }

    e = ngx_alloc(size, ngx_cycle->log);
    if (e == NULL) {
        return;
    }

    e->sn.str.data = (u_char *) (e + 1);
    e->sn.str.len = digest.len;
    e->sn.node.key = ngx_crc32_short(digest.data, digest.len);
    e->json = ngx_cpymem(e->sn.str.data, digest.data, digest.len);
    ngx_memcpy(e->json, json, len);
    e->len = len;
    e->size = size;
    e->expires = ngx_current_msec + sc->ttl;

    ngx_rbtree_insert(&sc->tree, &e->sn.node);
    ngx_queue_insert_head(&sc->lru, &e->lru);
    ngx_queue_insert_tail(&sc->fifo, &e->fifo);

    sc->bytes += size;
    sc->entries++;

    ngx_http_jpulse_sc_gauges();
}


void
ngx_http_jpulse_session_cache_drop(ngx_str_t *sid)
{
    ngx_str_t  digest;
    u_char     buf[JP_SESSION_DIGEST_LEN];

    if (!ngx_http_jpulse_sc.on) {
        return;
    }

    if (ngx_http_jpulse_sc_digest(sid, buf) != NGX_OK) {
        ngx_http_jpulse_sc.seq++;
        return;
    }

    digest.data = buf;
    digest.len = sizeof(buf);

    ngx_http_jpulse_sc_drop_digest(&digest);
}


static void
ngx_http_jpulse_sc_drop_digest(ngx_str_t *digest)
{
    ngx_http_jpulse_sc_t        *sc;
    ngx_http_jpulse_sc_entry_t  *e;

    sc = &ngx_http_jpulse_sc;

    /* also when not cached: a GET in flight must not store its reply */

    sc->seq++;

    e = ngx_http_jpulse_sc_find(digest);

    if (e) {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "jpulse session cache: dropped %V", digest);
        ngx_http_jpulse_sc_remove(e);
    }
}


void
ngx_http_jpulse_session_cache_drop_all(void)
{
    ngx_queue_t           *q;
    ngx_http_jpulse_sc_t  *sc;

    sc = &ngx_http_jpulse_sc;

    if (!sc->on) {
        return;
    }

    sc->seq++;

    while (!ngx_queue_empty(&sc->fifo)) {
        q = ngx_queue_head(&sc->fifo);
        ngx_http_jpulse_sc_remove(
                    ngx_queue_data(q, ngx_http_jpulse_sc_entry_t, fifo));
    }
}


static void
ngx_http_jpulse_sc_remove(ngx_http_jpulse_sc_entry_t *e)
{
    ngx_http_jpulse_sc_t  *sc;

    sc = &ngx_http_jpulse_sc;

    ngx_rbtree_delete(&sc->tree, &e->sn.node);
    ngx_queue_remove(&e->lru);
    ngx_queue_remove(&e->fifo);

    sc->bytes -= e->size;
    sc->entries--;

    ngx_free(e);

    ngx_http_jpulse_sc_gauges();
}


static void
ngx_http_jpulse_sc_expire(void)
{
    ngx_queue_t                 *q;
    ngx_http_jpulse_sc_t        *sc;
    ngx_http_jpulse_sc_entry_t  *e;

    sc = &ngx_http_jpulse_sc;

    while (!ngx_queue_empty(&sc->fifo)) {
        q = ngx_queue_head(&sc->fifo);
        e = ngx_queue_data(q, ngx_http_jpulse_sc_entry_t, fifo);

        if ((ngx_msec_int_t) (e->expires - ngx_current_msec) > 0) {
            return;
        }

        ngx_http_jpulse_sc_remove(e);
    }
}


static void
ngx_http_jpulse_sc_gauges(void)
{
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_CACHE_ENTRIES,
                                ngx_http_jpulse_sc.entries);
    ngx_http_jpulse_metrics_set(NGX_HTTP_JPULSE_SESS_CACHE_BYTES,
                                ngx_http_jpulse_sc.bytes);
}


/*
 * jPulse changes a session on POST and PUT (login and its steps, logout,
 * preferences), never by a GET that nginx passes on: when such a request
 * carrying the session went to an upstream, whatever any worker cached for
 * it may be stale. Not at its response header: express-session saves a
 * modified session after sending the header and all but the last byte of
 * the body, so the drop (here) and the event (to every other worker and
 * instance) leave once the request is done, in the log phase. A GET that
 * read Redis before the save and is stored before the drop is dropped; one
 * still in flight across the drop is not stored (the token).
 */

static ngx_int_t
ngx_http_jpulse_sc_log_handler(ngx_http_request_t *r)
{
    ngx_str_t                   digest;
    ngx_http_jpulse_session_t  *s;
    u_char                      buf[JP_SESSION_DIGEST_LEN];

    /* the main request only: log_subrequest runs this for subrequests,
     * and a mirror's clone has the method of the request it copies */

    if (r != r->main || r->upstream == NULL || !ngx_http_jpulse_sc.on) {
        return NGX_OK;
    }

    s = ngx_http_jpulse_session_get(r);

    /* the method it came with: a redirect to an error page made it GET */

    if (s == NULL || s->sid.len == 0
        || (s->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))
        || ngx_http_jpulse_sc_digest(&s->sid, buf) != NGX_OK)
    {
        return NGX_OK;
    }

    digest.data = buf;
    digest.len = sizeof(buf);

    ngx_http_jpulse_sc_drop_digest(&digest);
    ngx_http_jpulse_sc_publish(&digest);

    return NGX_OK;
}


static void
ngx_http_jpulse_sc_publish(ngx_str_t *digest)
{
    u_char          *p;
    size_t           argvlen[3];
    ngx_str_t       *ns;
    ngx_time_t      *tp;
    const char      *argv[3];
    u_char           channel[NGX_HTTP_JPULSE_SC_SID_MAX];
    u_char           text[JP_SESSION_DIGEST_LEN + 256
                          + JP_INSTANCE_ID_MAX];

    ns = &ngx_http_jpulse_sc.ns;

    if (!ngx_http_jpulse_redis_ready()
        || ns->len + sizeof(NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL) + 3
           > sizeof(channel))
    {
        return;
    }

    tp = ngx_timeofday();

    p = ngx_sprintf(text, "{\"channel\":\""
                    NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL
                    "\",\"data\":{\"digests\":[\"%V\"]},"
                    "\"instanceId\":\"%V\",\"timestamp\":%M}",
                    digest, &ngx_http_jpulse_instance.instance_id,
                    (ngx_msec_t) (tp->sec * 1000 + tp->msec));

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = (const char *) channel;
    argvlen[1] = ngx_sprintf(channel, "%Vbc:"
                             NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL, ns)
                 - channel;
    argv[2] = (const char *) text;
    argvlen[2] = p - text;

    (void) ngx_http_jpulse_redis_command(NULL, NULL, 3, argv, argvlen);
}


/*
 * {"channel":..,"data":{"digests":["<hex SHA-256 of a sid>",..]},..}:
 * every worker acts on it, its own instance's included (omitSelf would
 * skip the other workers of this instance). No form drops everything:
 * anyone who can publish there (jPulse's broadcast API, through Node)
 * could flush every cache as often as they like.
 */

static void
ngx_http_jpulse_sc_message(ngx_str_t *channel, ngx_str_t *message,
    void *data)
{
    size_t        i, n, bad;
    json_t       *root, *digests, *v;
    ngx_str_t     digest;
    json_error_t  err;

    if (channel->len != sizeof(NGX_HTTP_JPULSE_SESSION_CACHE_CHANNEL) - 1) {
        return;
    }

    if (message->len > NGX_HTTP_JPULSE_SC_EVENT_MAX) {
        ngx_http_jpulse_sc_hostile(message, "ignored a revocation event: "
                                            "too long");
        return;
    }

    root = json_loadb((char *) message->data, message->len, 0, &err);
    if (root == NULL) {
        ngx_http_jpulse_sc_hostile(message, "ignored a revocation event: "
                                            "not JSON");
        return;
    }

    digests = json_object_get(json_object_get(root, "data"), "digests");
    n = json_array_size(digests);

    if (!json_is_array(digests) || n > NGX_HTTP_JPULSE_SC_EVENT_ITEMS) {
        ngx_http_jpulse_sc_hostile(message, json_is_array(digests)
                                    ? "ignored a revocation event: "
                                      "too many digests"
                                    : "ignored a revocation event: "
                                      "no data.digests array");
        json_decref(root);
        return;
    }

    bad = 0;

    for (i = 0; i < n; i++) {
        v = json_array_get(digests, i);

        if (!json_is_string(v)
            || json_string_length(v) != JP_SESSION_DIGEST_LEN)
        {
            bad++;
            continue;
        }

        digest.data = (u_char *) json_string_value(v);
        digest.len = JP_SESSION_DIGEST_LEN;

        ngx_http_jpulse_sc_drop_digest(&digest);
    }

    if (bad) {
        ngx_http_jpulse_sc_hostile(message, "skipped the members of a "
                                            "revocation event's data.digests "
                                            "that are not digests");
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse session cache: revoked %uz digests", n - bad);

    json_decref(root);
}


/* at most 10 lines a second: whoever can publish must not flood logs */

static void
ngx_http_jpulse_sc_hostile(ngx_str_t *message, const char *why)
{
    ngx_http_jpulse_sc_t  *sc;

    sc = &ngx_http_jpulse_sc;

    if (sc->logged != ngx_time()) {
        sc->logged = ngx_time();
        sc->nlogged = 0;
    }

    if (sc->nlogged++ >= 10) {
        return;
    }

    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                  "jpulse session cache: %s (%uz bytes)", why, message->len);
}


static void
ngx_http_jpulse_sc_resync(void *data)
{
    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "jpulse session cache: resync, dropped all");

    ngx_http_jpulse_session_cache_drop_all();
}
