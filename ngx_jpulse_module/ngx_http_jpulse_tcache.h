/*
 * The per-worker template cache (L1): compiled programs, raw files,
 * translations, directory listings and file times, keyed by (kind,
 * language, relative path) inside one view set, least recently used
 * first out once its bytes pass the cap.
 *
 * Entries are never dropped by an invalidation, only marked stale (by an
 * epoch bump): the next request revalidates them, and a replacement that
 * fails to compile leaves the last good version in place.
 */

#ifndef NGX_HTTP_JPULSE_TCACHE_H
#define NGX_HTTP_JPULSE_TCACHE_H

#include <ngx_config.h>
#include <ngx_core.h>


typedef enum {
    NGX_HTTP_JPULSE_T_PAGE = 0,     /* compiled page, per language */
    NGX_HTTP_JPULSE_T_INCLUDE,      /* compiled include, per language */
    NGX_HTTP_JPULSE_T_RAW,          /* a file served as it is */
    NGX_HTTP_JPULSE_T_SOURCE,       /* source from Redis, until compiled */
    NGX_HTTP_JPULSE_T_I18N,         /* a language's translations */
    NGX_HTTP_JPULSE_T_LIST,         /* a directory's entry names */
    NGX_HTTP_JPULSE_T_STAT,         /* a file's modification time */
    NGX_HTTP_JPULSE_T_OUTPUT,       /* a rendered page, per language+theme */
    NGX_HTTP_JPULSE_T_PLAN,         /* a page's plan (jp_tpl_render_plan) */
    NGX_HTTP_JPULSE_T_KINDS
} ngx_http_jpulse_tkind_e;


typedef enum {
    NGX_HTTP_JPULSE_FROM_NONE = 0,  /* negative: no such file */
    NGX_HTTP_JPULSE_FROM_DISK,
    NGX_HTTP_JPULSE_FROM_REDIS
} ngx_http_jpulse_tfrom_e;


typedef struct ngx_http_jpulse_tentry_s  ngx_http_jpulse_tentry_t;

struct ngx_http_jpulse_tentry_s {
    ngx_http_jpulse_tentry_t   *next;       /* hash chain */
    ngx_queue_t                 lru;
    uint32_t                    hash;
    unsigned                    kind:4;
    unsigned                    from:2;
    unsigned                    broken:1;   /* stamp failed; value older */
    unsigned                    not_l2:1;   /* Redis has none this epoch */

    uint64_t                    stamp;      /* what the value was built from */
    uint64_t                    deps;       /* e.g. the translations' stamp */
    int64_t                     mtime;      /* ms since the epoch */
    ngx_msec_t                  checked;    /* last revalidation */
    ngx_uint_t                  used;       /* render serial, pins it */
    ngx_uint_t                  epoch;      /* the cache's, when validated */

    void                       *value;
    size_t                      len;        /* of a raw value */
    size_t                      size;       /* bytes counted against cap */

    size_t                      key_len;
    u_char                      key[1];     /* kind, lang, '\0', path */
};


typedef struct {
    ngx_http_jpulse_tentry_t  **buckets;
    ngx_uint_t                  nbuckets;   /* a power of two */
    ngx_uint_t                  count;
    ngx_queue_t                 lru;        /* most recent first */
    size_t                      bytes;
    size_t                      max_bytes;
    ngx_uint_t                  epoch;
    ngx_uint_t                  serial;     /* of the render under way */
    ngx_uint_t                  rendering;
    ngx_array_t                *graveyard;  /* values freed after it */
    uint64_t                    hits;
    uint64_t                    misses;
    uint64_t                    evictions;
    ngx_log_t                  *log;
} ngx_http_jpulse_tcache_t;


ngx_int_t ngx_http_jpulse_tcache_init(ngx_http_jpulse_tcache_t *tc,
    size_t max_bytes, ngx_log_t *log);
void ngx_http_jpulse_tcache_destroy(ngx_http_jpulse_tcache_t *tc);

/* the entry, moved to the front of the LRU; NULL when absent */
ngx_http_jpulse_tentry_t *ngx_http_jpulse_tcache_find(
    ngx_http_jpulse_tcache_t *tc, ngx_uint_t kind, ngx_str_t *lang,
    u_char *path, size_t len);

/* a new, empty entry (replacing an existing one); NULL on no memory */
ngx_http_jpulse_tentry_t *ngx_http_jpulse_tcache_add(
    ngx_http_jpulse_tcache_t *tc, ngx_uint_t kind, ngx_str_t *lang,
    u_char *path, size_t len);

/*
 * Gives e a new value of size bytes, freeing the old one, then evicts
 * from the cold end until the cache fits its cap again (never e itself).
 */
void ngx_http_jpulse_tcache_set(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e, void *value, size_t len, size_t size);

void ngx_http_jpulse_tcache_remove(ngx_http_jpulse_tcache_t *tc,
    ngx_http_jpulse_tentry_t *e);

/*
 * Between begin and end (one render), every entry found is pinned: the
 * engine holds pointers into it, so it is neither evicted nor its old
 * value freed before end.
 */
void ngx_http_jpulse_tcache_begin(ngx_http_jpulse_tcache_t *tc);
void ngx_http_jpulse_tcache_end(ngx_http_jpulse_tcache_t *tc);

/* marks every entry stale */
#define ngx_http_jpulse_tcache_flush(tc)  (tc)->epoch++

/* the relative path of an entry */
void ngx_http_jpulse_tentry_path(ngx_http_jpulse_tentry_t *e, ngx_str_t *p);


#endif /* NGX_HTTP_JPULSE_TCACHE_H */
