/*
 * jpulse_metrics_zone NAME SIZE;  and the log-phase counting.
 *
 * Zone life cycle:
 *   - a reload with the same size reuses the zone: counts go on;
 *   - a reload with another size gets a new zone, and the totals of the
 *     old one are carried into it (slots of workers still draining keep
 *     counting in the old zone until they exit; that tail is not carried);
 *   - each worker claims a free slot when it starts and frees it on exit;
 *     the slot of a worker that died without exiting is taken back.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_metrics.h"


#define NGX_HTTP_JPULSE_METRICS_MAGIC   0x6a70756c        /* "jpul" */
#define NGX_HTTP_JPULSE_METRICS_LAYOUT  10
#define NGX_HTTP_JPULSE_METRICS_MIN_SLOTS  4
#define NGX_HTTP_JPULSE_METRICS_MAX_SLOTS  1024

/* slots sit on their own cache lines: workers never share one */
#define NGX_HTTP_JPULSE_CACHE_LINE      128


static ngx_int_t ngx_http_jpulse_metrics_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_http_jpulse_metrics_carry_over(ngx_shm_zone_t *shm_zone,
    ngx_http_jpulse_metrics_shm_t *sh);
static void ngx_http_jpulse_metrics_claim(ngx_log_t *log);
static void ngx_http_jpulse_counts_add(ngx_http_jpulse_counts_t *to,
    ngx_http_jpulse_counts_t *from);
static ngx_int_t ngx_http_jpulse_metrics_log_handler(ngx_http_request_t *r);


ngx_http_jpulse_slot_t  *ngx_http_jpulse_metrics_slot;

static ngx_http_jpulse_metrics_ctx_t  *ngx_http_jpulse_metrics_ctx;
static ngx_uint_t                      ngx_http_jpulse_metrics_unslotted;
static ngx_uint_t                      ngx_http_jpulse_metrics_logged;
static time_t                          ngx_http_jpulse_metrics_last_claim;


ngx_uint_t  ngx_http_jpulse_latency_bounds_ms[] = {
    5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000
};


ngx_uint_t  ngx_http_jpulse_redis_bounds_us[] = {
    100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000,
    1000000
};


ngx_uint_t  ngx_http_jpulse_mongo_bounds_ms[] = {
    1, 5, 10, 50, 100, 500, 1000, 5000
};


/* the names callers give their operations (op->name); others: "other" */
ngx_str_t  ngx_http_jpulse_mongo_op_names[] = {
    ngx_string("ping"),
    ngx_string("search"),
    ngx_string("config"),
    ngx_string("doctypes"),
    ngx_string("other")
};


ngx_str_t  ngx_http_jpulse_mongo_outcome_names[] = {
    ngx_string("ok"),
    ngx_string("error"),
    ngx_string("busy"),
    ngx_string("unavailable")
};


ngx_str_t  ngx_http_jpulse_handler_names[] = {
    ngx_string("other"),
    ngx_string("health"),
    ngx_string("metrics"),
    ngx_string("cluster"),
    ngx_string("render"),
    ngx_string("cache"),
    ngx_string("dashboard")
};


ngx_str_t  ngx_http_jpulse_status_class_names[] = {
    ngx_string("1xx"),
    ngx_string("2xx"),
    ngx_string("3xx"),
    ngx_string("4xx"),
    ngx_string("5xx"),
    ngx_string("other")
};


ngx_str_t  ngx_http_jpulse_counter_names[] = {
    ngx_string("template_renders"),
    ngx_string("template_cache_hits"),
    ngx_string("template_cache_misses"),
    ngx_string("template_cache_evictions"),
    ngx_string("redis_commands"),
    ngx_string("redis_errors"),
    ngx_string("redis_reconnects"),
    ngx_string("errors"),
    ngx_string("broadcasts_published"),
    ngx_string("broadcasts_received"),
    ngx_string("broadcast_received_bytes"),
    ngx_string("redis_refused"),
    ngx_string("redis_failovers"),
    ngx_string("redis_cluster_moved"),
    ngx_string("redis_cluster_ask"),
    ngx_string("redis_cluster_tryagain"),
    ngx_string("redis_cluster_refreshes")
};


ngx_str_t  ngx_http_jpulse_session_counter_names[] = {
    ngx_string("session_loads_none"),
    ngx_string("session_loads_invalid"),
    ngx_string("session_loads_anonymous"),
    ngx_string("session_loads_user"),
    ngx_string("session_loads_error"),
    ngx_string("session_redis_errors"),
    ngx_string("session_bad_signatures"),
    ngx_string("session_too_big"),
    ngx_string("session_touches"),
    ngx_string("session_touches_throttled"),
    ngx_string("session_cache_hits"),
    ngx_string("session_cache_misses"),
    ngx_string("session_cache_evictions")
};


char *
ngx_http_jpulse_metrics_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_main_conf_t *jmcf = conf;

    ssize_t                         size;
    ngx_str_t                      *value;
    ngx_shm_zone_t                 *shm_zone;
    ngx_http_jpulse_metrics_ctx_t  *ctx;

    if (jmcf->metrics_zone) {
        return "is duplicate";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_metrics_zone size \"%V\"",
                           &value[2]);
        return NGX_CONF_ERROR;
    }

    if (size < (ssize_t) (8 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_metrics_zone \"%V\" is too small: %V, "
                           "at least %uzk is needed", &value[1], &value[2],
                           8 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    ctx = ngx_pcalloc(cf->pool, sizeof(ngx_http_jpulse_metrics_ctx_t));
    if (ctx == NULL) {
        return NGX_CONF_ERROR;
    }

    ctx->name = value[1];
    ctx->size = size;

    shm_zone = ngx_shared_memory_add(cf, &value[1], size,
                                     &ngx_http_jpulse_module);
    if (shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (shm_zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "jpulse_metrics_zone \"%V\" is already declared",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    shm_zone->init = ngx_http_jpulse_metrics_init_zone;
    shm_zone->data = ctx;

    jmcf->metrics_zone = shm_zone;

    return NGX_CONF_OK;
}


char *
ngx_http_jpulse_metrics(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_jpulse_loc_conf_t *jlcf = conf;

    ngx_str_t                    *value;
    ngx_http_jpulse_main_conf_t  *jmcf;

    value = cf->args->elts;

    if (cf->args->nelts == 1 || ngx_strcmp(value[1].data, "json") == 0) {
        jlcf->metrics_format = NGX_HTTP_JPULSE_METRICS_JSON;

    } else if (ngx_strcmp(value[1].data, "prometheus") == 0) {
        jlcf->metrics_format = NGX_HTTP_JPULSE_METRICS_PROMETHEUS;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid jpulse_metrics format \"%V\": expected "
                           "\"json\" or \"prometheus\"", &value[1]);
        return NGX_CONF_ERROR;
    }

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jpulse_module);
    jmcf->metrics_used = 1;

    return ngx_http_jpulse_set_handler(cf, cmd, jlcf,
                                       NGX_HTTP_JPULSE_HANDLER_METRICS,
                                       ngx_http_jpulse_metrics_handler);
}


ngx_int_t
ngx_http_jpulse_metrics_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt          *h;
    ngx_http_core_main_conf_t    *cmcf;
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_jpulse_module);

    if (jmcf->metrics_zone == NULL) {
        if (jmcf->metrics_used) {
            ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                               "jpulse_metrics is used without "
                               "jpulse_metrics_zone: request counters are "
                               "not collected");
        }

        return NGX_OK;
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_jpulse_metrics_log_handler;

    return NGX_OK;
}


static ngx_int_t
ngx_http_jpulse_metrics_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_http_jpulse_metrics_ctx_t  *octx = data;

    size_t                          slot_size, header, avail;
    ngx_uint_t                      nslots;
    ngx_slab_pool_t                *shpool;
    ngx_http_jpulse_metrics_shm_t  *sh;
    ngx_http_jpulse_metrics_ctx_t  *ctx;

    ctx = shm_zone->data;
    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (octx) {
        /*
         * A reload of the same zone: keep counting. (A reload never brings
         * a new slot layout: nginx keeps the module it already loaded.)
         */
        ctx->sh = octx->sh;
        ctx->shpool = octx->shpool;
        ctx->sh->reloads++;
        return NGX_OK;
    }

    if (shm_zone->shm.exists) {
        ctx->shpool = shpool;
        ctx->sh = shpool->data;
        return NGX_OK;
    }

    ctx->shpool = shpool;

    /* first, as it takes a page of small chunks; the slots get the rest */

    shpool->log_ctx = ngx_slab_alloc(shpool,
                                     sizeof(" in jpulse_metrics_zone \"\"")
                                     + shm_zone->shm.name.len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in jpulse_metrics_zone \"%V\"%Z",
                &shm_zone->shm.name);

    slot_size = ngx_align(sizeof(ngx_http_jpulse_slot_t),
                          NGX_HTTP_JPULSE_CACHE_LINE);
    header = ngx_align(sizeof(ngx_http_jpulse_metrics_shm_t),
                       NGX_HTTP_JPULSE_CACHE_LINE);

    /* whole pages of the slab pool, less what aligning the slots costs */
    avail = shpool->pfree * ngx_pagesize;

    if (avail < header + NGX_HTTP_JPULSE_CACHE_LINE) {
        nslots = 0;

    } else {
        nslots = (avail - header - NGX_HTTP_JPULSE_CACHE_LINE) / slot_size;
    }

    if (nslots < NGX_HTTP_JPULSE_METRICS_MIN_SLOTS) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "jpulse_metrics_zone \"%V\" is too small for %d "
                      "worker slots of %uz bytes", &shm_zone->shm.name,
                      NGX_HTTP_JPULSE_METRICS_MIN_SLOTS, slot_size);
        return NGX_ERROR;
    }

    nslots = ngx_min(nslots, NGX_HTTP_JPULSE_METRICS_MAX_SLOTS);

    sh = ngx_slab_calloc(shpool, header + NGX_HTTP_JPULSE_CACHE_LINE
                                 + nslots * slot_size);
    if (sh == NULL) {
        return NGX_ERROR;
    }

    sh->magic = NGX_HTTP_JPULSE_METRICS_MAGIC;
    sh->layout = NGX_HTTP_JPULSE_METRICS_LAYOUT;
    sh->nslots = nslots;
    sh->slot_size = slot_size;
    sh->created = ngx_time();
    sh->slots = ngx_align_ptr((u_char *) sh + header,
                              NGX_HTTP_JPULSE_CACHE_LINE);

    ngx_http_jpulse_metrics_carry_over(shm_zone, sh);

    ctx->sh = sh;
    shpool->data = sh;

    return NGX_OK;
}


/*
 * A reload changed the zone's size: nginx made a new zone, and the old one
 * is still mapped until the new configuration is committed. The old
 * cycle is ngx_cycle at this point.
 */

static void
ngx_http_jpulse_metrics_carry_over(ngx_shm_zone_t *shm_zone,
    ngx_http_jpulse_metrics_shm_t *sh)
{
    ngx_uint_t                      i, j;
    ngx_list_part_t                *part;
    ngx_shm_zone_t                 *zone;
    ngx_http_jpulse_slot_t         *from, *to;
    ngx_http_jpulse_metrics_shm_t  *osh;
    ngx_http_jpulse_metrics_ctx_t  *octx;

    if (ngx_cycle == NULL) {
        return;
    }

    part = (ngx_list_part_t *) &ngx_cycle->shared_memory.part;
    zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return;
            }

            part = part->next;
            zone = part->elts;
            i = 0;
        }

        if (zone[i].tag != &ngx_http_jpulse_module
            || zone[i].shm.name.len != shm_zone->shm.name.len
            || ngx_strncmp(zone[i].shm.name.data, shm_zone->shm.name.data,
                           shm_zone->shm.name.len) != 0)
        {
            continue;
        }

        octx = zone[i].data;

        if (octx == NULL || octx->sh == NULL) {
            return;
        }

        osh = octx->sh;

        if (osh->magic != NGX_HTTP_JPULSE_METRICS_MAGIC
            || osh->layout != NGX_HTTP_JPULSE_METRICS_LAYOUT
            || osh->slot_size != sh->slot_size)
        {
            return;
        }

        /* every old slot's history goes into new slot 0, which is free */

        to = ngx_http_jpulse_metrics_slot_at(sh, 0);

        for (j = 0; j < osh->nslots; j++) {
            from = ngx_http_jpulse_metrics_slot_at(osh, j);

            ngx_http_jpulse_counts_add(&to->counts, &from->counts);
        }

        sh->used = 1;

        sh->created = osh->created;
        sh->reloads = osh->reloads + 1;
        sh->resizes = osh->resizes + 1;

        ngx_log_error(NGX_LOG_NOTICE, shm_zone->shm.log, 0,
                      "jpulse_metrics_zone \"%V\" resized to %uz bytes, "
                      "%ui worker slots; counters carried over",
                      &shm_zone->shm.name, shm_zone->shm.size, sh->nslots);
        return;
    }
}


ngx_http_jpulse_slot_t *
ngx_http_jpulse_metrics_slot_at(ngx_http_jpulse_metrics_shm_t *sh,
    ngx_uint_t i)
{
    return (ngx_http_jpulse_slot_t *) (sh->slots + i * sh->slot_size);
}


ngx_int_t
ngx_http_jpulse_metrics_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_main_conf_t  *jmcf;

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    /* cache manager and loader processes serve no requests */

    if (jmcf->metrics_zone == NULL
        || (ngx_process != NGX_PROCESS_WORKER
            && ngx_process != NGX_PROCESS_SINGLE))
    {
        return NGX_OK;
    }

    ngx_http_jpulse_metrics_ctx = jmcf->metrics_zone->data;

    ngx_http_jpulse_metrics_claim(cycle->log);

    return NGX_OK;
}


/*
 * Takes a free slot for this worker. Slots of workers that died without
 * exiting (killed, crashed) are freed first, so they are neither reported
 * as running nor kept from new workers. Without a free slot the worker
 * tries again later (ngx_http_jpulse_metrics_log_handler), as draining
 * workers of a reload give theirs back.
 */

static void
ngx_http_jpulse_metrics_claim(ngx_log_t *log)
{
    ngx_uint_t                      i, index;
    ngx_http_jpulse_slot_t         *slot, *claim;
    ngx_http_jpulse_metrics_shm_t  *sh;
    ngx_http_jpulse_metrics_ctx_t  *ctx;

    ctx = ngx_http_jpulse_metrics_ctx;
    sh = ctx->sh;
    claim = NULL;
    index = 0;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    for (i = 0; i < sh->nslots; i++) {
        slot = ngx_http_jpulse_metrics_slot_at(sh, i);

        if (slot->pid && kill(slot->pid, 0) == -1 && ngx_errno == NGX_ESRCH) {
            slot->pid = 0;
            ngx_memzero(slot->gauges, sizeof(slot->gauges));
        }

        if (slot->pid == 0 && claim == NULL) {
            claim = slot;
            index = i;
        }
    }

    if (claim) {
        /*
         * The lowest free slot is taken, so the slots ever claimed are a
         * prefix: readers add up only those, not the whole zone.
         */
        if (sh->used < index + 1) {
            sh->used = index + 1;
        }

        claim->pid = ngx_pid;
        claim->worker = (ngx_process == NGX_PROCESS_WORKER) ? ngx_worker : 0;
        claim->claimed = ngx_time();

        if (ngx_http_jpulse_metrics_unslotted) {
            sh->unslotted--;
            ngx_http_jpulse_metrics_unslotted = 0;
        }

    } else if (!ngx_http_jpulse_metrics_unslotted) {
        sh->claim_failures++;
        sh->unslotted++;
        ngx_http_jpulse_metrics_unslotted = 1;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);

    ngx_http_jpulse_metrics_slot = claim;

    if (claim == NULL && sh->unslotted && !ngx_http_jpulse_metrics_logged) {
        ngx_log_error(NGX_LOG_ERR, log, 0,
                      "jpulse_metrics_zone \"%V\" has no free worker slot "
                      "(%ui slots): requests of this worker are not counted "
                      "until one is freed, make the zone bigger",
                      &ctx->name, sh->nslots);
        ngx_http_jpulse_metrics_logged = 1;

    } else if (claim && ngx_http_jpulse_metrics_logged) {
        ngx_log_error(NGX_LOG_NOTICE, log, 0,
                      "jpulse_metrics_zone \"%V\": this worker has a slot "
                      "now, its requests are counted", &ctx->name);
        ngx_http_jpulse_metrics_logged = 0;
    }
}


void
ngx_http_jpulse_metrics_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_slot_t         *slot;
    ngx_http_jpulse_metrics_ctx_t  *ctx;

    slot = ngx_http_jpulse_metrics_slot;
    ctx = ngx_http_jpulse_metrics_ctx;

    if (ctx == NULL) {
        return;
    }

    ngx_http_jpulse_metrics_slot = NULL;

    ngx_shmtx_lock(&ctx->shpool->mutex);

    if (slot) {
        ngx_memzero(slot->gauges, sizeof(slot->gauges));
        slot->pid = 0;
    }

    if (ngx_http_jpulse_metrics_unslotted) {
        ctx->sh->unslotted--;
        ngx_http_jpulse_metrics_unslotted = 0;
    }

    ngx_shmtx_unlock(&ctx->shpool->mutex);
}


static ngx_int_t
ngx_http_jpulse_metrics_log_handler(ngx_http_request_t *r)
{
    time_t                       sec;
    ngx_uint_t                   status, class, bucket, handler;
    ngx_time_t                  *tp;
    ngx_msec_int_t               ms;
    ngx_http_jpulse_ctx_t       *ctx;
    ngx_http_jpulse_slot_t      *slot;
    ngx_http_jpulse_second_t    *second;

    slot = ngx_http_jpulse_metrics_slot;

    if (slot == NULL) {
        /* no slot yet: try again, once a second at most */

        if (ngx_http_jpulse_metrics_ctx == NULL
            || ngx_http_jpulse_metrics_last_claim == ngx_time())
        {
            return NGX_OK;
        }

        ngx_http_jpulse_metrics_last_claim = ngx_time();
        ngx_http_jpulse_metrics_claim(r->connection->log);

        slot = ngx_http_jpulse_metrics_slot;

        if (slot == NULL) {
            return NGX_OK;
        }
    }

    ctx = ngx_http_get_module_ctx(r, ngx_http_jpulse_module);
    handler = ctx ? ctx->handler : NGX_HTTP_JPULSE_HANDLER_OTHER;

    status = r->err_status ? r->err_status : r->headers_out.status;
    class = (status >= 100 && status < 600) ? status / 100 - 1 : 5;

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - r->start_sec) * 1000
                           + (tp->msec - r->start_msec));
    ms = ngx_max(ms, 0);

    for (bucket = 0; bucket < NGX_HTTP_JPULSE_LATENCY_BUCKETS - 1; bucket++) {
        if ((ngx_uint_t) ms <= ngx_http_jpulse_latency_bounds_ms[bucket]) {
            break;
        }
    }

    slot->counts.requests[handler][class]++;
    slot->counts.bytes_out += r->connection->sent;
    slot->counts.latency[bucket]++;
    slot->counts.latency_ms += ms;

    sec = tp->sec;
    second = &slot->window[sec % NGX_HTTP_JPULSE_WINDOW];

    if (second->sec != (uint32_t) sec) {
        second->requests = 0;
        second->errors = 0;
        second->sec = (uint32_t) sec;
    }

    second->requests++;

    if (class == 4) {
        second->errors++;
    }

    return NGX_OK;
}


static void
ngx_http_jpulse_counts_add(ngx_http_jpulse_counts_t *to,
    ngx_http_jpulse_counts_t *from)
{
    uint64_t    *t, *f;
    ngx_uint_t   i;

    t = (uint64_t *) to;
    f = (uint64_t *) from;

    for (i = 0; i < sizeof(ngx_http_jpulse_counts_t) / sizeof(uint64_t); i++)
    {
        t[i] += f[i];
    }
}


/*
 * The upper bound (in microseconds) of the bucket that holds the given
 * quantile of Redis command latencies; the last bound when it is beyond.
 */

uint64_t
ngx_http_jpulse_metrics_redis_quantile(ngx_http_jpulse_counts_t *counts,
    ngx_uint_t permille)
{
    uint64_t    total, seen, rank;
    ngx_uint_t  b;

    total = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_REDIS_BUCKETS; b++) {
        total += counts->redis_latency[b];
    }

    if (total == 0) {
        return 0;
    }

    rank = (total * permille + 999) / 1000;
    seen = 0;

    for (b = 0; b < NGX_HTTP_JPULSE_REDIS_BUCKETS - 1; b++) {
        seen += counts->redis_latency[b];

        if (seen >= rank) {
            return ngx_http_jpulse_redis_bounds_us[b];
        }
    }

    return ngx_http_jpulse_redis_bounds_us[NGX_HTTP_JPULSE_REDIS_BUCKETS - 2];
}


void
ngx_http_jpulse_metrics_add_slot(ngx_http_jpulse_totals_t *t,
    ngx_http_jpulse_slot_t *slot, time_t now)
{
    ngx_uint_t                 i;
    ngx_http_jpulse_second_t  *second;

    ngx_http_jpulse_counts_add(&t->counts, &slot->counts);

    /* the last minute: this second and the 59 before it */

    for (i = 0; i < NGX_HTTP_JPULSE_WINDOW; i++) {
        second = &slot->window[i];

        if ((time_t) second->sec + NGX_HTTP_JPULSE_WINDOW > now
            && (time_t) second->sec <= now)
        {
            t->recent_requests += second->requests;
            t->recent_errors += second->errors;
        }
    }
}
