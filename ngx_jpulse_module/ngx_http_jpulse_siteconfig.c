/*
 * siteConfig (contract 4.5, 9.9). jPulse keeps it in MongoDB, configs
 * {_id:"global"}.data, and announces a write with the broadcast
 * controller:config:data:changed {"id":"global",...}: each instance then
 * reads the document again. With jpulse_mongodb every worker does the
 * same: it reads the document at start, on that event, on every Redis
 * resync (events may have been lost), when MongoDB comes back, and every
 * poll interval while Redis is not there to tell it. Without
 * jpulse_mongodb, <ns>cfg:site (written by cachectl, read by l2) is the
 * source, as before.
 *
 * One read in flight per worker: a trigger while it runs is remembered
 * and the document read again once it is back, so no change is missed
 * and no older answer lands after a newer one.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "jp_config.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_siteconfig.h"
#include "ngx_http_jpulse_view.h"


#define NGX_HTTP_JPULSE_SITECONFIG_POLL_MIN   1000
#define NGX_HTTP_JPULSE_SITECONFIG_POLL_DEF   5000    /* no view sets */
#define NGX_HTTP_JPULSE_SITECONFIG_DEPTH      64      /* $date, $oid within */


/* what the last read found: logged when it changes, not at every poll */
enum {
    NGX_HTTP_JPULSE_SITECONFIG_UNREAD = 0,
    NGX_HTTP_JPULSE_SITECONFIG_OK,
    NGX_HTTP_JPULSE_SITECONFIG_MISSING,
    NGX_HTTP_JPULSE_SITECONFIG_BAD,
    NGX_HTTP_JPULSE_SITECONFIG_FAILED
};


typedef struct {
    ngx_uint_t   seq;           /* the trigger it answers */
    size_t       max;           /* result_max, 0: none */
    json_t      *data;          /* .data, when an object */
    size_t       size;          /* .data's BSON size */
    unsigned     found:1;
    unsigned     bad:1;         /* .data missing or not an object */
    unsigned     big:1;         /* over max */
} ngx_http_jpulse_siteconfig_read_t;


static void ngx_http_jpulse_siteconfig_read(void);
static void ngx_http_jpulse_siteconfig_post(void);
static void ngx_http_jpulse_siteconfig_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client);
static json_t *ngx_http_jpulse_siteconfig_js(json_t *v, ngx_uint_t depth);
static void ngx_http_jpulse_siteconfig_done(ngx_http_jpulse_mongo_op_t *op);
static void ngx_http_jpulse_siteconfig_free(ngx_http_jpulse_mongo_op_t *op);
static void ngx_http_jpulse_siteconfig_state(ngx_uint_t state,
    const char *fmt, ...);
static void ngx_http_jpulse_siteconfig_message(ngx_str_t *channel,
    ngx_str_t *msg, void *data);
static void ngx_http_jpulse_siteconfig_resync(void *data);
static void ngx_http_jpulse_siteconfig_db_state(ngx_uint_t connected,
    void *data);
static void ngx_http_jpulse_siteconfig_poll(ngx_event_t *ev);


static json_t                      *ngx_http_jpulse_site;
static json_t                      *ngx_http_jpulse_site_auth;

static ngx_uint_t                   ngx_http_jpulse_site_mongo;
static ngx_uint_t                   ngx_http_jpulse_site_noticed;
static ngx_uint_t                   ngx_http_jpulse_site_state;
static ngx_uint_t                   ngx_http_jpulse_site_wanted;
static ngx_uint_t                   ngx_http_jpulse_site_owed;
static ngx_http_jpulse_mongo_op_t  *ngx_http_jpulse_site_op;
static ngx_msec_t                   ngx_http_jpulse_site_interval;
static ngx_event_t                  ngx_http_jpulse_site_timer;


ngx_int_t
ngx_http_jpulse_siteconfig_init_process(ngx_cycle_t *cycle)
{
    ngx_uint_t                i;
    ngx_msec_t                interval;
    ngx_array_t              *sets;
    ngx_http_jpulse_view_t  **vp;

    ngx_http_jpulse_site_mongo = ngx_http_jpulse_mongo_configured();

    if (!ngx_http_jpulse_site_mongo) {
        return NGX_OK;
    }

    /* polled as often as the templates are checked, at most once a second */

    interval = 0;
    sets = ngx_http_jpulse_view_sets();
    vp = sets ? sets->elts : NULL;

    for (i = 0; sets && i < sets->nelts; i++) {
        if (i == 0 || vp[i]->check_interval < interval) {
            interval = vp[i]->check_interval;
        }
    }

    if (sets == NULL || sets->nelts == 0) {
        interval = NGX_HTTP_JPULSE_SITECONFIG_POLL_DEF;
    }

    ngx_http_jpulse_site_interval =
        ngx_max(interval, NGX_HTTP_JPULSE_SITECONFIG_POLL_MIN);

    if (ngx_http_jpulse_redis_configured()
        && (ngx_http_jpulse_redis_on_message(
                "controller:config:data:changed",
                ngx_http_jpulse_siteconfig_message, NULL) != NGX_OK
            || ngx_http_jpulse_redis_on_resync(
                   ngx_http_jpulse_siteconfig_resync, NULL) != NGX_OK))
    {
        return NGX_ERROR;
    }

    if (ngx_http_jpulse_mongo_on_state(ngx_http_jpulse_siteconfig_db_state,
                                       NULL)
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    ngx_http_jpulse_site_timer.handler = ngx_http_jpulse_siteconfig_poll;
    ngx_http_jpulse_site_timer.log = cycle->log;
    ngx_http_jpulse_site_timer.data = cycle;
    ngx_http_jpulse_site_timer.cancelable = 1;

    /* the first read from the event loop, once every module has started */
    ngx_http_jpulse_site_owed = 1;
    ngx_add_timer(&ngx_http_jpulse_site_timer, 1);

    return NGX_OK;
}


void
ngx_http_jpulse_siteconfig_exit_process(ngx_cycle_t *cycle)
{
    if (ngx_http_jpulse_site_timer.timer_set) {
        ngx_del_timer(&ngx_http_jpulse_site_timer);
    }

    json_decref(ngx_http_jpulse_site);
    json_decref(ngx_http_jpulse_site_auth);

    ngx_http_jpulse_site = NULL;
    ngx_http_jpulse_site_auth = NULL;
}


json_t *
ngx_http_jpulse_siteconfig(void)
{
    return ngx_http_jpulse_site;
}


json_t *
ngx_http_jpulse_siteconfig_for(ngx_uint_t authenticated)
{
    return authenticated ? ngx_http_jpulse_site_auth : ngx_http_jpulse_site;
}


ngx_uint_t
ngx_http_jpulse_siteconfig_install(json_t *raw)
{
    json_t      *site, *auth;
    ngx_uint_t   changed;

    site = raw ? jp_config_site(raw) : NULL;
    auth = (raw && site) ? jp_config_site_for(raw, 1) : NULL;

    if (site != NULL && auth == NULL) {
        /* no memory: signed-in users see what anonymous ones do */
        auth = json_incref(site);
    }

    /* kept pages show siteConfig: a change makes them go */
    changed = (site == NULL) != (ngx_http_jpulse_site == NULL)
              || (site != NULL && !json_equal(site, ngx_http_jpulse_site));

    json_decref(ngx_http_jpulse_site);
    json_decref(ngx_http_jpulse_site_auth);

    ngx_http_jpulse_site = site;
    ngx_http_jpulse_site_auth = auth;

    return changed;
}


ngx_uint_t
ngx_http_jpulse_siteconfig_redis_ignored(void)
{
    if (!ngx_http_jpulse_site_mongo) {
        return 0;
    }

    if (!ngx_http_jpulse_site_noticed) {
        ngx_http_jpulse_site_noticed = 1;
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "jpulse: siteConfig comes from MongoDB "
                      "(jpulse_mongodb): Redis' cfg:site is ignored");
    }

    return 1;
}


/* a reason to read the document again */

static void
ngx_http_jpulse_siteconfig_read(void)
{
    ngx_http_jpulse_site_wanted++;
    ngx_http_jpulse_site_owed = 0;

    if (ngx_http_jpulse_site_op != NULL) {
        /* read again once the one in flight is back */
        return;
    }

    ngx_http_jpulse_siteconfig_post();
}


static void
ngx_http_jpulse_siteconfig_post(void)
{
    ngx_int_t                           rc;
    ngx_http_jpulse_mongo_op_t         *op;
    ngx_http_jpulse_siteconfig_read_t  *rd;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    op = ngx_http_jpulse_mongo_op_create(
                           sizeof(ngx_http_jpulse_siteconfig_read_t),
                           ngx_cycle->log);
    if (op == NULL) {
        ngx_http_jpulse_site_owed = 1;
        return;
    }

    op->run = ngx_http_jpulse_siteconfig_run;
    op->bg_done = ngx_http_jpulse_siteconfig_done;
    op->free = ngx_http_jpulse_siteconfig_free;
    op->name = "config";

    rd = op->data;
    rd->seq = ngx_http_jpulse_site_wanted;
    rd->max = ngx_http_jpulse_mongo_result_max();

    /* before post: a refusal frees op at once, through our free */
    ngx_http_jpulse_site_op = op;

    rc = ngx_http_jpulse_mongo_post(NULL, op);

    if (rc != NGX_OK) {
        /* down or busy: the poll tries again */
        ngx_http_jpulse_site_op = NULL;
        ngx_http_jpulse_site_owed = 1;

        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_FAILED,
            "configs {_id:\"global\"} not read: MongoDB is %s; keeping the "
            "config in force, retrying every %M ms",
            rc == NGX_BUSY ? "busy" : "unavailable",
            ngx_http_jpulse_site_interval);
    }
}


/* on a pool thread: mongoc and op only */

static void
ngx_http_jpulse_siteconfig_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client)
{
    ngx_http_jpulse_siteconfig_read_t  *rd = op->data;

    char                 *text;
    size_t                len;
    bson_t               *filter, *opts, sub;
    uint32_t              blen;
    bson_iter_t           it;
    const bson_t         *doc;
    const uint8_t        *buf;
    json_error_t          err;
    mongoc_cursor_t      *cursor;
    mongoc_collection_t  *coll;

    coll = mongoc_client_get_collection(client, op->db, "configs");
    filter = BCON_NEW("_id", BCON_UTF8("global"));
    opts = BCON_NEW("projection", "{", "data", BCON_INT32(1), "}",
                    "limit", BCON_INT64(1));

    if (opts != NULL && op->deadline_ms > 0) {
        BSON_APPEND_INT64(opts, "maxTimeMS", op->deadline_ms);
    }

    cursor = mongoc_collection_find_with_opts(coll, filter, opts, NULL);

    if (mongoc_cursor_next(cursor, &doc)) {
        rd->found = 1;

        if (!bson_iter_init_find(&it, doc, "data")
            || !BSON_ITER_HOLDS_DOCUMENT(&it))
        {
            rd->bad = 1;

        } else {
            bson_iter_document(&it, &blen, &buf);
            rd->size = blen;

            if (rd->max && blen > rd->max) {
                rd->big = 1;

            } else if (bson_init_static(&sub, buf, blen)) {
                /* relaxed: numbers stay numbers, as templates print them */
                text = bson_as_relaxed_extended_json(&sub, &len);

                if (text != NULL) {
                    rd->data = json_loadb(text, len, 0, &err);
                    bson_free(text);
                }

                if (!json_is_object(rd->data)) {
                    json_decref(rd->data);
                    rd->data = NULL;
                    rd->bad = 1;

                } else {
                    (void) ngx_http_jpulse_siteconfig_js(rd->data, 0);
                }

            } else {
                rd->bad = 1;
            }
        }
    }

    op->rc = mongoc_cursor_error(cursor, &op->error) ? NGX_ERROR : NGX_OK;
    op->result_size = rd->size;

    mongoc_cursor_destroy(cursor);
    bson_destroy(opts);
    bson_destroy(filter);
    mongoc_collection_destroy(coll);
}


/*
 * What jPulse's JSON.stringify() shows of the values Extended JSON wraps:
 * a Date as its toISOString() ({"$date":"...Z"}, milliseconds added), an
 * ObjectId as its hex string. Returns the replacement of v, or NULL to
 * keep it; objects and arrays are changed in place. Thread side: jansson
 * only.
 */

static json_t *
ngx_http_jpulse_siteconfig_js(json_t *v, ngx_uint_t depth)
{
    char         buf[64];
    size_t       i, len;
    json_t      *w, *r;
    const char  *k, *s;

    if (depth > NGX_HTTP_JPULSE_SITECONFIG_DEPTH) {
        return NULL;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, w) {
            r = ngx_http_jpulse_siteconfig_js(w, depth + 1);
            if (r != NULL) {
                (void) json_array_set_new(v, i, r);
            }
        }

        return NULL;
    }

    if (!json_is_object(v)) {
        return NULL;
    }

    if (json_object_size(v) == 1) {
        w = json_object_get(v, "$oid");

        if (json_is_string(w) && json_string_length(w) == 24) {
            return json_incref(w);
        }

        w = json_object_get(v, "$date");
        s = json_string_value(w);
        len = json_string_length(w);

        /* relaxed: "YYYY-MM-DDTHH:MM:SS[.mmm]Z" for years 1970-9999 */
        if (s != NULL && (len == 20 || len == 24) && s[len - 1] == 'Z'
            && s[10] == 'T')
        {
            if (len == 24) {
                return json_incref(w);
            }

            memcpy(buf, s, 19);
            memcpy(buf + 19, ".000Z", 5);

            return json_stringn(buf, 24);
        }
    }

    json_object_foreach(v, k, w) {
        r = ngx_http_jpulse_siteconfig_js(w, depth + 1);
        if (r != NULL) {
            (void) json_object_set_new(v, k, r);
        }
    }

    return NULL;
}


static void
ngx_http_jpulse_siteconfig_done(ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_siteconfig_read_t  *rd = op->data;

    json_t      *empty;
    ngx_uint_t   changed;

    ngx_http_jpulse_site_op = NULL;
    changed = 0;

    if (op->rc != NGX_OK) {
        ngx_http_jpulse_site_owed = 1;
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_FAILED,
            "reading configs {_id:\"global\"} failed: %s; keeping the "
            "config in force, retrying every %M ms", op->error.message,
            ngx_http_jpulse_site_interval);

    } else if (!rd->found) {
        /* jPulse without the document: siteConfig is {} (globalConfig?.data
         * || {}), admin roles their default */
        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_MISSING,
            "no configs {_id:\"global\"} document: siteConfig is empty, "
            "as jPulse has it, admin roles are admin, root");

        empty = json_object();
        if (empty != NULL) {
            changed = ngx_http_jpulse_siteconfig_install(empty);
            json_decref(empty);
        }

    } else if (rd->big) {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_BAD,
            "configs {_id:\"global\"}.data is %uz bytes, over the result "
            "size cap of %uz; keeping the config in force",
            rd->size, rd->max);

    } else if (rd->bad) {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_BAD,
            "configs {_id:\"global\"}.data is not an object; keeping the "
            "config in force");

    } else {
        ngx_http_jpulse_siteconfig_state(NGX_HTTP_JPULSE_SITECONFIG_OK,
                                         "siteConfig read from MongoDB");
        changed = ngx_http_jpulse_siteconfig_install(rd->data);
    }

    if (changed) {
        ngx_http_jpulse_view_config_changed();
    }

    if (ngx_http_jpulse_site_wanted != rd->seq) {
        /* asked again while this one ran: what it read may be old */
        ngx_http_jpulse_siteconfig_post();
    }
}


static void
ngx_http_jpulse_siteconfig_free(ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_siteconfig_read_t  *rd = op->data;

    json_decref(rd->data);
    rd->data = NULL;

    if (ngx_http_jpulse_site_op == op) {
        /* never done (the worker exits): nothing is in flight now */
        ngx_http_jpulse_site_op = NULL;
        ngx_http_jpulse_site_owed = 1;
    }
}


/* the outcome of a read, logged when it differs from the last one's */

static void
ngx_http_jpulse_siteconfig_state(ngx_uint_t state, const char *fmt, ...)
{
    u_char      *p, msg[NGX_MAX_ERROR_STR];
    va_list      args;
    ngx_uint_t   level, was;

    was = ngx_http_jpulse_site_state;
    ngx_http_jpulse_site_state = state;

    if (state == was) {
        return;
    }

    switch (state) {

    case NGX_HTTP_JPULSE_SITECONFIG_OK:
        if (was == NGX_HTTP_JPULSE_SITECONFIG_UNREAD) {
            level = NGX_LOG_INFO;
        } else {
            level = NGX_LOG_NOTICE;
        }

        break;

    case NGX_HTTP_JPULSE_SITECONFIG_MISSING:
        level = NGX_LOG_WARN;
        break;

    default:
        level = NGX_LOG_ERR;
    }

    va_start(args, fmt);
    p = ngx_vslprintf(msg, msg + sizeof(msg), fmt, args);
    va_end(args);

    ngx_log_error(level, ngx_cycle->log, 0, "jpulse: %*s", p - msg, msg);
}


/* jPulse's {"channel":...,"data":{"id":"global","action":...},...} */

static void
ngx_http_jpulse_siteconfig_message(ngx_str_t *channel, ngx_str_t *msg,
    void *data)
{
    json_t        *j, *id;
    json_error_t   err;

    if (channel->len != sizeof("controller:config:data:changed") - 1) {
        return;
    }

    j = json_loadb((char *) msg->data, msg->len, 0, &err);
    id = json_object_get(json_object_get(j, "data"), "id");

    if (json_is_string(id) && ngx_strcmp(json_string_value(id), "global") == 0)
    {
        ngx_http_jpulse_siteconfig_read();

    } else {
        ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "jpulse siteconfig: not the global config: %V", msg);
    }

    json_decref(j);
}


static void
ngx_http_jpulse_siteconfig_resync(void *data)
{
    /* a change announced while we were away went unheard */
    ngx_http_jpulse_siteconfig_read();
}


static void
ngx_http_jpulse_siteconfig_db_state(ngx_uint_t connected, void *data)
{
    if (connected) {
        ngx_http_jpulse_siteconfig_read();
    }
}


/*
 * Without Redis (or while it is away) nothing announces a change: read at
 * every tick. With it, only a read that failed or was refused is owed.
 */

static void
ngx_http_jpulse_siteconfig_poll(ngx_event_t *ev)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (ngx_http_jpulse_site_owed || !ngx_http_jpulse_redis_ready()) {
        ngx_http_jpulse_siteconfig_read();
    }

    ngx_add_timer(&ngx_http_jpulse_site_timer, ngx_http_jpulse_site_interval);
}
