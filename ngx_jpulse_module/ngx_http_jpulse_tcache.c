/*
 * The per-worker template cache: a chained hash table over the keys and a
 * queue in recency order per pool. Only this worker touches it, so there
 * are no locks; memory comes from malloc() because entries come and go for
 * the life of the process.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include <sys/random.h>
#include <jansson.h>

#include "jp_tpl.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_tcache.h"


typedef struct {
    ngx_uint_t                  kind;
    void                       *value;
} ngx_http_jpulse_grave_t;


#define NGX_HTTP_JPULSE_TCACHE_BUCKETS  256

/* the pools' shares of the cap: 1/16 negative, 1/4 rendered pages */
#define NGX_HTTP_JPULSE_TCACHE_NONE_SHIFT    4
#define NGX_HTTP_JPULSE_TCACHE_OUTPUT_SHIFT  2


static void ngx_http_jpulse_tcache_seed(ngx_http_jpulse_tcache_t *tc);
static uint32_t ngx_http_jpulse_tcache_key(ngx_http_jpulse_tcache_t *tc,
    u_char *key, ngx_uint_t kind, ngx_str_t *lang, u_char *path, size_t len,
    size_t *key_len);
static void ngx_http_jpulse_tcache_fit(ngx_http_jpulse_tcache_t *tc,
    ngx_uint_t pool, ngx_http_jpulse_tentry_t *keep);
static void ngx_http_jpulse_tcache_free_value(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e);
static void ngx_http_jpulse_tcache_free(ngx_uint_t kind, void *value);
static void ngx_http_jpulse_tcache_grow(ngx_http_jpulse_tcache_t *tc);
static void ngx_http_jpulse_tcache_unlink(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e);


ngx_int_t
ngx_http_jpulse_tcache_init(ngx_http_jpulse_tcache_t *tc, size_t max_bytes,
    ngx_log_t *log)
{
    ngx_uint_t  i;

    ngx_memzero(tc, sizeof(ngx_http_jpulse_tcache_t));

    tc->buckets = ngx_calloc(NGX_HTTP_JPULSE_TCACHE_BUCKETS
                             * sizeof(ngx_http_jpulse_tentry_t *), log);
    if (tc->buckets == NULL) {
        return NGX_ERROR;
    }

    tc->graveyard = ngx_array_create(ngx_cycle->pool, 8,
                                     sizeof(ngx_http_jpulse_grave_t));
    if (tc->graveyard == NULL) {
        ngx_free(tc->buckets);
        tc->buckets = NULL;
        return NGX_ERROR;
    }

    tc->nbuckets = NGX_HTTP_JPULSE_TCACHE_BUCKETS;
    tc->max_bytes = max_bytes;
    tc->log = log;

    for (i = 0; i < NGX_HTTP_JPULSE_TPOOLS; i++) {
        ngx_queue_init(&tc->pools[i].lru);
    }

    tc->pools[NGX_HTTP_JPULSE_TPOOL_NONE].max_bytes =
        max_bytes >> NGX_HTTP_JPULSE_TCACHE_NONE_SHIFT;
    tc->pools[NGX_HTTP_JPULSE_TPOOL_OUTPUT].max_bytes =
        max_bytes >> NGX_HTTP_JPULSE_TCACHE_OUTPUT_SHIFT;
    tc->pools[NGX_HTTP_JPULSE_TPOOL_MAIN].max_bytes = max_bytes
        - tc->pools[NGX_HTTP_JPULSE_TPOOL_NONE].max_bytes
        - tc->pools[NGX_HTTP_JPULSE_TPOOL_OUTPUT].max_bytes;

    ngx_http_jpulse_tcache_seed(tc);

    return NGX_OK;
}


/*
 * The key stays in this worker: without it, which paths share a chain
 * cannot be worked out from outside. getrandom() does not block once the
 * kernel's pool is ready, which it is long before nginx starts; if it
 * fails anyway, what the process has that varies is better than a known
 * key.
 */

static void
ngx_http_jpulse_tcache_seed(ngx_http_jpulse_tcache_t *tc)
{
    u_char      bytes[JP_SIPHASH_KEY_LEN];
    uint64_t    v[2];
    ngx_time_t *tp;

    if (getrandom(bytes, sizeof(bytes), GRND_NONBLOCK)
        != (ssize_t) sizeof(bytes))
    {
        ngx_log_error(NGX_LOG_WARN, tc->log, ngx_errno,
                      "jpulse cache: getrandom() failed, hash key from "
                      "the clock and pid");

        tp = ngx_timeofday();
        v[0] = ((uint64_t) tp->sec << 20) ^ (uint64_t) tp->msec
               ^ ((uint64_t) ngx_pid << 40) ^ (uintptr_t) tc;
        v[1] = ((uint64_t) ngx_random() << 32) ^ (uint64_t) ngx_random()
               ^ (uintptr_t) &v;
        ngx_memcpy(bytes, v, sizeof(bytes));
    }

    jp_siphash_key(&tc->key, bytes);
}


void
ngx_http_jpulse_tcache_destroy(ngx_http_jpulse_tcache_t *tc)
{
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_http_jpulse_tentry_t  *e;

    if (tc->buckets == NULL) {
        return;
    }

    ngx_http_jpulse_tcache_end(tc);

    for (i = 0; i < NGX_HTTP_JPULSE_TPOOLS; i++) {
        while (!ngx_queue_empty(&tc->pools[i].lru)) {
            q = ngx_queue_head(&tc->pools[i].lru);
            e = ngx_queue_data(q, ngx_http_jpulse_tentry_t, lru);
            ngx_http_jpulse_tcache_remove(tc, e);
        }
    }

    ngx_free(tc->buckets);
    tc->buckets = NULL;
}


/* key = kind byte, language, '\0', path; buffer of 2 + lang + len bytes */

static uint32_t
ngx_http_jpulse_tcache_key(ngx_http_jpulse_tcache_t *tc, u_char *key,
    ngx_uint_t kind, ngx_str_t *lang, u_char *path, size_t len,
    size_t *key_len)
{
    u_char  *p;

    p = key;
    *p++ = (u_char) kind;

    if (lang != NULL) {
        p = ngx_cpymem(p, lang->data, lang->len);
    }

    *p++ = '\0';
    p = ngx_cpymem(p, path, len);

    *key_len = p - key;

    return (uint32_t) jp_siphash24(&tc->key, key, *key_len);
}


ngx_http_jpulse_tentry_t *
ngx_http_jpulse_tcache_find(ngx_http_jpulse_tcache_t *tc, ngx_uint_t kind,
    ngx_str_t *lang, u_char *path, size_t len)
{
    u_char                     key[NGX_MAX_PATH + 64];
    size_t                     key_len;
    uint32_t                   hash;
    ngx_http_jpulse_tentry_t  *e;

    if (len + (lang ? lang->len : 0) + 2 > sizeof(key)) {
        return NULL;
    }

    hash = ngx_http_jpulse_tcache_key(tc, key, kind, lang, path, len,
                                      &key_len);

    for (e = tc->buckets[hash & (tc->nbuckets - 1)]; e; e = e->next) {
        if (e->hash == hash && e->key_len == key_len
            && ngx_memcmp(e->key, key, key_len) == 0)
        {
            ngx_queue_remove(&e->lru);
            ngx_queue_insert_head(&tc->pools[e->pool].lru, &e->lru);

            if (tc->rendering) {
                e->used = tc->serial;
            }

            return e;
        }
    }

    return NULL;
}


ngx_http_jpulse_tentry_t *
ngx_http_jpulse_tcache_add(ngx_http_jpulse_tcache_t *tc, ngx_uint_t kind,
    ngx_str_t *lang, u_char *path, size_t len)
{
    size_t                     max;
    ngx_uint_t                 b;
    ngx_http_jpulse_tentry_t  *e, *old;

    max = len + (lang ? lang->len : 0) + 2;

    if (max > NGX_MAX_PATH + 64) {
        return NULL;
    }

    old = ngx_http_jpulse_tcache_find(tc, kind, lang, path, len);
    if (old != NULL) {
        ngx_http_jpulse_tcache_remove(tc, old);
    }

    e = ngx_alloc(offsetof(ngx_http_jpulse_tentry_t, key) + max, tc->log);
    if (e == NULL) {
        return NULL;
    }

    ngx_memzero(e, offsetof(ngx_http_jpulse_tentry_t, key));

    e->hash = ngx_http_jpulse_tcache_key(tc, e->key, kind, lang, path, len,
                                         &e->key_len);
    e->kind = kind;
    e->pool = (kind == NGX_HTTP_JPULSE_T_OUTPUT
               || kind == NGX_HTTP_JPULSE_T_PLAN)
              ? NGX_HTTP_JPULSE_TPOOL_OUTPUT : NGX_HTTP_JPULSE_TPOOL_NONE;
    e->epoch = tc->epoch;
    e->used = tc->rendering ? tc->serial : 0;
    e->size = offsetof(ngx_http_jpulse_tentry_t, key) + max;

    b = e->hash & (tc->nbuckets - 1);
    e->next = tc->buckets[b];
    tc->buckets[b] = e;

    ngx_queue_insert_head(&tc->pools[e->pool].lru, &e->lru);

    tc->count++;
    tc->bytes += e->size;
    tc->pools[e->pool].count++;
    tc->pools[e->pool].bytes += e->size;

    if (tc->count > tc->nbuckets * 2) {
        ngx_http_jpulse_tcache_grow(tc);
    }

    /* entries start empty: a flood of names must not grow past the cap
     * before their values are set */
    ngx_http_jpulse_tcache_fit(tc, e->pool, e);

    return e;
}


void
ngx_http_jpulse_tcache_set(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e, void *value, size_t len, size_t size)
{
    size_t                    base;
    ngx_uint_t                pool;
    ngx_http_jpulse_tpool_t  *from, *to;

    base = offsetof(ngx_http_jpulse_tentry_t, key) + e->key_len;

    ngx_http_jpulse_tcache_free_value(tc, e);

    /* what renders leave behind, per page and variant */
    if (e->kind == NGX_HTTP_JPULSE_T_OUTPUT
        || e->kind == NGX_HTTP_JPULSE_T_PLAN)
    {
        pool = NGX_HTTP_JPULSE_TPOOL_OUTPUT;

    } else {
        pool = (value || e->broken) ? NGX_HTTP_JPULSE_TPOOL_MAIN
                                    : NGX_HTTP_JPULSE_TPOOL_NONE;
    }

    from = &tc->pools[e->pool];
    to = &tc->pools[pool];

    tc->bytes -= e->size;
    from->bytes -= e->size;
    from->count--;

    e->value = value;
    e->len = len;
    e->size = base + size;
    e->logged = 0;

    tc->bytes += e->size;
    to->bytes += e->size;
    to->count++;

    if (pool != e->pool) {
        ngx_queue_remove(&e->lru);
        ngx_queue_insert_head(&to->lru, &e->lru);
        e->pool = pool;
    }

    ngx_http_jpulse_tcache_fit(tc, pool, e);
}


static void
ngx_http_jpulse_tcache_fit(ngx_http_jpulse_tcache_t *tc, ngx_uint_t pool,
    ngx_http_jpulse_tentry_t *keep)
{
    ngx_queue_t               *q;
    ngx_http_jpulse_tpool_t   *p;
    ngx_http_jpulse_tentry_t  *cold;

    p = &tc->pools[pool];
    q = ngx_queue_last(&p->lru);

    while (p->bytes > p->max_bytes && q != ngx_queue_sentinel(&p->lru)) {
        cold = ngx_queue_data(q, ngx_http_jpulse_tentry_t, lru);
        q = ngx_queue_prev(q);

        /* keep itself, and what the render under way holds, stay */
        if (cold == keep || (tc->rendering && cold->used == tc->serial)) {
            continue;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, tc->log, 0,
                       "jpulse cache: evict kind %ui from pool %ui, "
                       "%uz bytes", (ngx_uint_t) cold->kind, pool,
                       cold->size);

        ngx_http_jpulse_tcache_remove(tc, cold);
        tc->evictions++;
        p->evictions++;
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_CACHE_EVICTIONS, 1);
    }
}


void
ngx_http_jpulse_tcache_begin(ngx_http_jpulse_tcache_t *tc)
{
    tc->serial++;
    tc->rendering = 1;
}


void
ngx_http_jpulse_tcache_end(ngx_http_jpulse_tcache_t *tc)
{
    ngx_uint_t                i;
    ngx_http_jpulse_grave_t  *g;

    tc->rendering = 0;

    g = tc->graveyard->elts;

    for (i = 0; i < tc->graveyard->nelts; i++) {
        ngx_http_jpulse_tcache_free(g[i].kind, g[i].value);
    }

    tc->graveyard->nelts = 0;
}


void
ngx_http_jpulse_tcache_remove(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e)
{
    ngx_http_jpulse_tcache_unlink(tc, e);
    ngx_queue_remove(&e->lru);
    ngx_http_jpulse_tcache_free_value(tc, e);

    tc->count--;
    tc->bytes -= e->size;
    tc->pools[e->pool].count--;
    tc->pools[e->pool].bytes -= e->size;

    ngx_free(e);
}


void
ngx_http_jpulse_tcache_kinds(ngx_http_jpulse_tcache_t *tc,
    ngx_uint_t *by_kind)
{
    ngx_uint_t                 i;
    ngx_queue_t               *q;
    ngx_http_jpulse_tentry_t  *e;

    for (i = 0; i < NGX_HTTP_JPULSE_TPOOLS; i++) {
        for (q = ngx_queue_head(&tc->pools[i].lru);
             q != ngx_queue_sentinel(&tc->pools[i].lru);
             q = ngx_queue_next(q))
        {
            e = ngx_queue_data(q, ngx_http_jpulse_tentry_t, lru);

            if (e->from != NGX_HTTP_JPULSE_FROM_NONE) {
                by_kind[e->kind]++;
            }
        }
    }
}


void
ngx_http_jpulse_tentry_path(ngx_http_jpulse_tentry_t *e, ngx_str_t *p)
{
    u_char  *nul;

    nul = ngx_strlchr(e->key + 1, e->key + e->key_len, '\0');

    p->data = nul + 1;
    p->len = e->key + e->key_len - p->data;
}


static void
ngx_http_jpulse_tcache_unlink(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e)
{
    ngx_http_jpulse_tentry_t  **pp;

    for (pp = &tc->buckets[e->hash & (tc->nbuckets - 1)]; *pp;
         pp = &(*pp)->next)
    {
        if (*pp == e) {
            *pp = e->next;
            return;
        }
    }
}


static void
ngx_http_jpulse_tcache_free_value(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e)
{
    ngx_http_jpulse_grave_t  *g;

    if (e->value == NULL) {
        return;
    }

    if (tc->rendering && e->used == tc->serial) {
        g = ngx_array_push(tc->graveyard);

        if (g != NULL) {
            g->kind = e->kind;
            g->value = e->value;
            e->value = NULL;
            return;
        }

        /* no memory to defer it: leaking beats a use after free */
        e->value = NULL;
        return;
    }

    ngx_http_jpulse_tcache_free(e->kind, e->value);
    e->value = NULL;
}


static void
ngx_http_jpulse_tcache_free(ngx_uint_t kind, void *value)
{
    switch (kind) {

    case NGX_HTTP_JPULSE_T_PAGE:
    case NGX_HTTP_JPULSE_T_INCLUDE:
        jp_tpl_free(value);
        break;

    case NGX_HTTP_JPULSE_T_I18N:
        json_decref(value);
        break;

    case NGX_HTTP_JPULSE_T_PLAN:
        jp_tpl_plan_free(value);
        break;

    default:
        ngx_free(value);
    }
}


/* doubles the table; on no memory the chains just get longer */

static void
ngx_http_jpulse_tcache_grow(ngx_http_jpulse_tcache_t *tc)
{
    ngx_uint_t                  i, n;
    ngx_http_jpulse_tentry_t  **buckets, *e, *next;

    n = tc->nbuckets * 2;

    buckets = ngx_calloc(n * sizeof(ngx_http_jpulse_tentry_t *), tc->log);
    if (buckets == NULL) {
        return;
    }

    for (i = 0; i < tc->nbuckets; i++) {
        for (e = tc->buckets[i]; e; e = next) {
            next = e->next;
            e->next = buckets[e->hash & (n - 1)];
            buckets[e->hash & (n - 1)] = e;
        }
    }

    ngx_free(tc->buckets);
    tc->buckets = buckets;
    tc->nbuckets = n;
}
