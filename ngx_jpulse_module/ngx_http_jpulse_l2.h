/*
 * The L2 template cache: the effective view tree, the config and the
 * translations in Redis (docs/protocol.md, "Templates and config"), and
 * how this worker keeps its L1 in step: invalidation events, generation
 * polling, and "everything is stale" after a reconnect.
 */

#ifndef NGX_HTTP_JPULSE_L2_H
#define NGX_HTTP_JPULSE_L2_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_tpl.h"


#define NGX_HTTP_JPULSE_GEN_POLL   2000     /* ms between HMGET <ns>gen */


/* what a request waits for */
typedef struct {
    ngx_uint_t                  kind;       /* NGX_HTTP_JPULSE_T_*, or: */
    ngx_str_t                   lang;
    ngx_str_t                   path;
} ngx_http_jpulse_need_t;

#define NGX_HTTP_JPULSE_NEED_INDEX   100


struct ngx_http_jpulse_view_rt_s;

typedef void (*ngx_http_jpulse_l2_resume_pt)(ngx_http_request_t *r);


ngx_int_t ngx_http_jpulse_l2_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_l2_exit_process(ngx_cycle_t *cycle);

/* notices Redis becoming usable again: everything is stale then */
void ngx_http_jpulse_l2_sync(void);

/* Redis is configured and ready: L2 is consulted first */
ngx_uint_t ngx_http_jpulse_l2_usable(void);

/* <ns>cfg:app and <ns>cfg:site as last read (borrowed), or NULL */
json_t *ngx_http_jpulse_l2_app_config(void);
json_t *ngx_http_jpulse_l2_site_config(void);
/* siteConfig as templates see it, filtered for a signed-in user or not */
json_t *ngx_http_jpulse_l2_site_config_for(ngx_uint_t authenticated);

void ngx_http_jpulse_l2_index_stale(void);

/*
 * Whether the effective tree in Redis has path: NGX_OK (etag's hash and
 * mtime filled), NGX_DECLINED (not in Redis: use the disk), NGX_AGAIN (the
 * index must be fetched first).
 */
ngx_int_t ngx_http_jpulse_l2_index_lookup(u_char *path, size_t len,
    uint64_t *etag, int64_t *mtime);

/*
 * While Redis cannot be asked (down, or its index unreadable): whether the
 * last index read names path. The tree Redis last held stands in for it,
 * as the copies in the caches do, rather than a 404 on a host whose view
 * roots are empty.
 */
ngx_int_t ngx_http_jpulse_l2_index_kept(u_char *path, size_t len,
    int64_t *mtime);

/*
 * Redis answers for the tree: usable, and its index readable (a cluster
 * whose l2 group's primary fails over is up, but cannot say what exists)
 */
ngx_uint_t ngx_http_jpulse_l2_reachable(void);

/* the names right under dir in the index; NGX_DECLINED when none */
ngx_int_t ngx_http_jpulse_l2_index_list(const char *dir, jp_tpl_list_pt cb,
    void *arg);

size_t ngx_http_jpulse_l2_bytes(void);

/* 64-bit FNV-1a, for etags */
uint64_t ngx_http_jpulse_l2_hash(const u_char *p, size_t len);

/*
 * Fetches every need of the array into rt's cache (or the index), then
 * calls resume on r. A need already in flight is waited for, not sent
 * again. NGX_DONE: r is parked until then (if it ends first, resume is
 * not called and nothing is left behind); NGX_DECLINED: Redis is not
 * ready, r is not parked.
 */
ngx_int_t ngx_http_jpulse_l2_fetch(ngx_http_request_t *r,
    struct ngx_http_jpulse_view_rt_s *rt, ngx_array_t *needs,
    ngx_http_jpulse_l2_resume_pt resume);

/* publishes an invalidation event and bumps <ns>gen (the cache API) */
ngx_int_t ngx_http_jpulse_l2_publish(ngx_http_request_t *r, ngx_uint_t kind,
    ngx_http_jpulse_l2_resume_pt done, ngx_int_t *receivers);


#endif /* NGX_HTTP_JPULSE_L2_H */
