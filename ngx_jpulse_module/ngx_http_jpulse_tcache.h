/*
 * The per-worker template cache (L1): compiled programs, raw files,
 * translations, directory listings and file times, keyed by (kind,
 * language, relative path) inside one view set, least recently used
 * first out once its bytes pass the cap.
 *
 * The cap is split in three pools, each with its own recency order, so
 * that what anonymous clients can make the cache hold by naming paths and
 * hosts never pushes out what pages are built from: negative entries (no
 * such file: a 404 remembered) get a sixteenth, rendered pages a quarter,
 * compiled programs, raw files and the rest what is left. Chains are
 * hashed with SipHash under a key drawn per worker, so nobody can aim
 * many keys at one chain.
 *
 * Entries are never dropped by an invalidation, only marked stale (by an
 * epoch bump): the next request revalidates them, and a replacement that
 * fails to compile leaves the last good version in place.
 */

#ifndef NGX_HTTP_JPULSE_TCACHE_H
#define NGX_HTTP_JPULSE_TCACHE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "jp_siphash.h"


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
    unsigned                    pool:2;     /* NGX_HTTP_JPULSE_TPOOL_* */
    unsigned                    logged:1;   /* its value failed, said so */
    unsigned                    spa:1;      /* T_PAGE: jPulse's SPA markers */
    unsigned                    dir:1;      /* none: a directory is there */
    unsigned                    digest:1;   /* T_RAW, T_OUTPUT: the ETag's
                                               27 bytes follow the value */

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


/* which part of the cap an entry counts against */
typedef enum {
    NGX_HTTP_JPULSE_TPOOL_MAIN = 0,     /* what pages are built from */
    NGX_HTTP_JPULSE_TPOOL_NONE,         /* no value: "no such file" */
    NGX_HTTP_JPULSE_TPOOL_OUTPUT,       /* rendered pages and plans kept */
    NGX_HTTP_JPULSE_TPOOLS
} ngx_http_jpulse_tpool_e;


typedef struct {
    ngx_queue_t                 lru;        /* most recent first */
    ngx_uint_t                  count;
    size_t                      bytes;
    size_t                      max_bytes;
    uint64_t                    evictions;
} ngx_http_jpulse_tpool_t;


typedef struct {
    ngx_http_jpulse_tentry_t  **buckets;
    ngx_uint_t                  nbuckets;   /* a power of two */
    ngx_uint_t                  count;
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
    ngx_http_jpulse_tpool_t     pools[NGX_HTTP_JPULSE_TPOOLS];
    jp_siphash_key_t            key;        /* per worker, for the chains */
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
 * Gives e a new value of size bytes, freeing the old one, moves it to the
 * pool its kind and value belong to (an entry without a value that is
 * broken says "this version does not build": not a negative one), then
 * evicts from that pool's cold end until the pool fits its cap again
 * (never e itself).
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

/* the entries of each kind that have a value (by_kind[T_KINDS]) */
void ngx_http_jpulse_tcache_kinds(ngx_http_jpulse_tcache_t *tc,
    ngx_uint_t *by_kind);

/* the relative path of an entry */
void ngx_http_jpulse_tentry_path(ngx_http_jpulse_tentry_t *e, ngx_str_t *p);


#endif /* NGX_HTTP_JPULSE_TCACHE_H */
