/*
 * Request and module counters in a shared memory zone.
 *
 * Every worker process owns one slot of the zone and is its only writer,
 * so counting takes no lock and no atomic instruction; readers add the
 * slots up. A slot outlives its worker: counts are never lost when workers
 * are replaced by a reload, and a new worker keeps adding to a free slot.
 */

#ifndef NGX_HTTP_JPULSE_METRICS_H
#define NGX_HTTP_JPULSE_METRICS_H

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"


#define NGX_HTTP_JPULSE_STATUS_CLASSES   6      /* 1xx .. 5xx, other */
#define NGX_HTTP_JPULSE_LATENCY_BUCKETS  12     /* 11 bounds and +Inf */
#define NGX_HTTP_JPULSE_WINDOW           60     /* seconds of "per minute" */
#define NGX_HTTP_JPULSE_REDIS_BUCKETS    13     /* 12 bounds and +Inf */
#define NGX_HTTP_JPULSE_MONGO_BUCKETS    9      /* 8 bounds and +Inf */


/* MongoDB operations (issue 13): by name, then outcome */
typedef enum {
    NGX_HTTP_JPULSE_MONGO_OP_PING = 0,
    NGX_HTTP_JPULSE_MONGO_OP_SEARCH,
    NGX_HTTP_JPULSE_MONGO_OP_CONFIG,
    NGX_HTTP_JPULSE_MONGO_OP_DOCTYPES,
    NGX_HTTP_JPULSE_MONGO_OP_OTHER,
    NGX_HTTP_JPULSE_MONGO_OP_NAMES
} ngx_http_jpulse_mongo_op_name_e;


typedef enum {
    NGX_HTTP_JPULSE_MONGO_OP_OK = 0,
    NGX_HTTP_JPULSE_MONGO_OP_ERROR,
    NGX_HTTP_JPULSE_MONGO_OP_BUSY,            /* refused: max_queue */
    NGX_HTTP_JPULSE_MONGO_OP_UNAVAILABLE,     /* refused while down, or
                                                 the server unreachable */
    NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES
} ngx_http_jpulse_mongo_outcome_e;


/* counters that other concerns of the module add to */
typedef enum {
    NGX_HTTP_JPULSE_TEMPLATE_RENDERS = 0,
    NGX_HTTP_JPULSE_CACHE_HITS,
    NGX_HTTP_JPULSE_CACHE_MISSES,
    NGX_HTTP_JPULSE_CACHE_EVICTIONS,
    NGX_HTTP_JPULSE_REDIS_COMMANDS,
    NGX_HTTP_JPULSE_REDIS_ERRORS,
    NGX_HTTP_JPULSE_REDIS_RECONNECTS,
    NGX_HTTP_JPULSE_ERRORS,
    NGX_HTTP_JPULSE_BROADCASTS_PUBLISHED,
    NGX_HTTP_JPULSE_BROADCASTS_RECEIVED,
    NGX_HTTP_JPULSE_BROADCAST_BYTES_RECEIVED,
    NGX_HTTP_JPULSE_REDIS_REFUSED,
    NGX_HTTP_JPULSE_REDIS_FAILOVERS,         /* primary switches followed */
    NGX_HTTP_JPULSE_REDIS_CLUSTER_MOVED,     /* redirects followed */
    NGX_HTTP_JPULSE_REDIS_CLUSTER_ASK,
    NGX_HTTP_JPULSE_REDIS_CLUSTER_TRYAGAIN,
    NGX_HTTP_JPULSE_REDIS_CLUSTER_REFRESHES, /* CLUSTER SLOTS asked */
    NGX_HTTP_JPULSE_COUNTERS
} ngx_http_jpulse_counter_e;


/*
 * Sessions (issue 14): loads by state (in the order of
 * ngx_http_jpulse_session_state_e), then events. The per-worker session
 * cache adds its hits, misses and evictions here (and its bytes and
 * entries among the gauges below).
 */
typedef enum {
    NGX_HTTP_JPULSE_SESS_LOADS_NONE = 0,
    NGX_HTTP_JPULSE_SESS_LOADS_INVALID,
    NGX_HTTP_JPULSE_SESS_LOADS_ANONYMOUS,
    NGX_HTTP_JPULSE_SESS_LOADS_USER,
    NGX_HTTP_JPULSE_SESS_LOADS_ERROR,
    NGX_HTTP_JPULSE_SESS_REDIS_ERRORS,
    NGX_HTTP_JPULSE_SESS_BAD_SIGNATURES,
    NGX_HTTP_JPULSE_SESS_TOO_BIG,
    NGX_HTTP_JPULSE_SESS_TOUCHES,
    NGX_HTTP_JPULSE_SESS_TOUCHES_THROTTLED,
    NGX_HTTP_JPULSE_SESS_CACHE_HITS,
    NGX_HTTP_JPULSE_SESS_CACHE_MISSES,
    NGX_HTTP_JPULSE_SESS_CACHE_EVICTIONS,
    NGX_HTTP_JPULSE_SESS_COUNTERS
} ngx_http_jpulse_session_counter_e;


/* values a worker sets rather than adds to; they leave with the worker */
typedef enum {
    NGX_HTTP_JPULSE_CACHE_BYTES = 0,
    NGX_HTTP_JPULSE_REDIS_PENDING,
    NGX_HTTP_JPULSE_SESS_TABLE_BYTES,       /* touch and log tables */
    NGX_HTTP_JPULSE_SESS_TABLE_ENTRIES,
    NGX_HTTP_JPULSE_SESS_CACHE_BYTES,       /* the session cache's */
    NGX_HTTP_JPULSE_SESS_CACHE_ENTRIES,
    NGX_HTTP_JPULSE_MONGO_PENDING,          /* posted, not completed */
    NGX_HTTP_JPULSE_MONGO_RUNNING,          /* on a thread now */
    NGX_HTTP_JPULSE_MONGO_POOL_MAX,         /* the worker's pool_max */
    NGX_HTTP_JPULSE_GAUGES
} ngx_http_jpulse_gauge_e;


typedef struct {
    uint32_t                    sec;
    uint32_t                    requests;
    uint32_t                    errors;
} ngx_http_jpulse_second_t;


/* counts that only grow; all uint64_t, so they add up as an array */
typedef struct {
    uint64_t                    requests[NGX_HTTP_JPULSE_HANDLERS]
                                        [NGX_HTTP_JPULSE_STATUS_CLASSES];
    uint64_t                    bytes_out;
    uint64_t                    latency[NGX_HTTP_JPULSE_LATENCY_BUCKETS];
    uint64_t                    latency_ms;
    uint64_t                    counters[NGX_HTTP_JPULSE_COUNTERS];
    uint64_t                    redis_latency[NGX_HTTP_JPULSE_REDIS_BUCKETS];
    uint64_t                    redis_latency_us;
    uint64_t                    sessions[NGX_HTTP_JPULSE_SESS_COUNTERS];
    uint64_t                    mongo_ops[NGX_HTTP_JPULSE_MONGO_OP_NAMES]
                                         [NGX_HTTP_JPULSE_MONGO_OP_OUTCOMES];
    uint64_t                    mongo_latency[NGX_HTTP_JPULSE_MONGO_BUCKETS];
    uint64_t                    mongo_latency_us;
} ngx_http_jpulse_counts_t;


typedef struct {
    ngx_pid_t                   pid;        /* owner, 0 while free */
    ngx_int_t                   worker;     /* the owner's ngx_worker */
    time_t                      claimed;

    ngx_http_jpulse_counts_t    counts;
    uint64_t                    gauges[NGX_HTTP_JPULSE_GAUGES];

    ngx_http_jpulse_second_t    window[NGX_HTTP_JPULSE_WINDOW];
} ngx_http_jpulse_slot_t;


typedef struct {
    uint32_t                    magic;
    uint32_t                    layout;
    ngx_uint_t                  nslots;
    size_t                      slot_size;
    time_t                      created;
    ngx_uint_t                  reloads;
    ngx_uint_t                  resizes;
    ngx_uint_t                  claim_failures;
    ngx_uint_t                  unslotted;      /* workers without a slot */
    ngx_uint_t                  used;           /* slots ever claimed */
    u_char                     *slots;
} ngx_http_jpulse_metrics_shm_t;


typedef struct {
    ngx_http_jpulse_metrics_shm_t  *sh;
    ngx_slab_pool_t                *shpool;
    ngx_str_t                       name;
    size_t                          size;
} ngx_http_jpulse_metrics_ctx_t;


/* the sum of slots, as one read sees them */
typedef struct {
    ngx_http_jpulse_counts_t    counts;
    uint64_t                    gauges[NGX_HTTP_JPULSE_GAUGES];
    uint64_t                    recent_requests;
    uint64_t                    recent_errors;
} ngx_http_jpulse_totals_t;


extern ngx_http_jpulse_slot_t  *ngx_http_jpulse_metrics_slot;
extern ngx_uint_t               ngx_http_jpulse_latency_bounds_ms[];
extern ngx_uint_t               ngx_http_jpulse_redis_bounds_us[];
extern ngx_uint_t               ngx_http_jpulse_mongo_bounds_ms[];
extern ngx_str_t                ngx_http_jpulse_mongo_op_names[];
extern ngx_str_t                ngx_http_jpulse_mongo_outcome_names[];
extern ngx_str_t                ngx_http_jpulse_handler_names[];
extern ngx_str_t                ngx_http_jpulse_status_class_names[];
extern ngx_str_t                ngx_http_jpulse_counter_names[];
extern ngx_str_t                ngx_http_jpulse_session_counter_names[];


static ngx_inline void
ngx_http_jpulse_metrics_add(ngx_http_jpulse_counter_e counter, uint64_t n)
{
    if (ngx_http_jpulse_metrics_slot) {
        ngx_http_jpulse_metrics_slot->counts.counters[counter] += n;
    }
}


/* one Redis command answered (or failed) after usec microseconds */

static ngx_inline void
ngx_http_jpulse_metrics_redis(uint64_t usec, ngx_uint_t failed)
{
    ngx_uint_t               b;
    ngx_http_jpulse_slot_t  *slot;

    slot = ngx_http_jpulse_metrics_slot;

    if (slot == NULL) {
        return;
    }

    for (b = 0; b < NGX_HTTP_JPULSE_REDIS_BUCKETS - 1; b++) {
        if (usec <= ngx_http_jpulse_redis_bounds_us[b]) {
            break;
        }
    }

    slot->counts.counters[NGX_HTTP_JPULSE_REDIS_COMMANDS]++;
    slot->counts.counters[NGX_HTTP_JPULSE_REDIS_ERRORS] += failed ? 1 : 0;
    slot->counts.redis_latency[b]++;
    slot->counts.redis_latency_us += usec;
}


/*
 * One MongoDB operation (the op's name) ended with outcome after usec
 * microseconds on its thread; usec < 0: refused, it never ran.
 */

static ngx_inline void
ngx_http_jpulse_metrics_mongo(const char *name,
    ngx_http_jpulse_mongo_outcome_e outcome, int64_t usec)
{
    ngx_uint_t               n, b;
    ngx_http_jpulse_slot_t  *slot;

    slot = ngx_http_jpulse_metrics_slot;

    if (slot == NULL) {
        return;
    }

    for (n = 0; n < NGX_HTTP_JPULSE_MONGO_OP_OTHER; n++) {
        if (name && ngx_strcmp(name,
                               ngx_http_jpulse_mongo_op_names[n].data) == 0)
        {
            break;
        }
    }

    slot->counts.mongo_ops[n][outcome]++;

    if (usec < 0) {
        return;
    }

    for (b = 0; b < NGX_HTTP_JPULSE_MONGO_BUCKETS - 1; b++) {
        if ((uint64_t) usec <= ngx_http_jpulse_mongo_bounds_ms[b] * 1000) {
            break;
        }
    }

    slot->counts.mongo_latency[b]++;
    slot->counts.mongo_latency_us += usec;
}


static ngx_inline void
ngx_http_jpulse_metrics_session(ngx_http_jpulse_session_counter_e counter)
{
    if (ngx_http_jpulse_metrics_slot) {
        ngx_http_jpulse_metrics_slot->counts.sessions[counter]++;
    }
}


static ngx_inline void
ngx_http_jpulse_metrics_set(ngx_http_jpulse_gauge_e gauge, uint64_t value)
{
    if (ngx_http_jpulse_metrics_slot) {
        ngx_http_jpulse_metrics_slot->gauges[gauge] = value;
    }
}


char *ngx_http_jpulse_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_jpulse_metrics(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
ngx_int_t ngx_http_jpulse_metrics_postconfiguration(ngx_conf_t *cf);
ngx_int_t ngx_http_jpulse_metrics_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_metrics_exit_process(ngx_cycle_t *cycle);

ngx_http_jpulse_slot_t *ngx_http_jpulse_metrics_slot_at(
    ngx_http_jpulse_metrics_shm_t *sh, ngx_uint_t i);
uint64_t ngx_http_jpulse_metrics_redis_quantile(
    ngx_http_jpulse_counts_t *counts, ngx_uint_t permille);
void ngx_http_jpulse_metrics_add_slot(ngx_http_jpulse_totals_t *t,
    ngx_http_jpulse_slot_t *slot, time_t now);

/* the content handler, in ngx_http_jpulse_metrics_display.c */
ngx_int_t ngx_http_jpulse_metrics_handler(ngx_http_request_t *r);


#endif /* NGX_HTTP_JPULSE_METRICS_H */
