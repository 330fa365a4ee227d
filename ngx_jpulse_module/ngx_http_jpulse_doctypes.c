/*
 * docTypes: logs.distinct("data.docType"), sorted (contract 4.5). jPulse
 * keeps it per process for 300 s, refreshed lazily; here N instances
 * share one copy in Redis, <ns>cache:controller:log:docTypes (EX 300),
 * and only the worker holding <ns>cache:controller:log:docTypes:refresh
 * (SET NX PX 30000, our instance id) asks MongoDB for it. A worker keeps
 * what it read as long, then GETs the key again.
 *
 * A render never waits for it: it takes the worker's copy (jPulse's
 * fallback ["config","user"] until one is known) and, when that copy is
 * old, starts a refresh in the background. jPulse fills the list at boot,
 * but its pages only read it in the admin log view, which can show the
 * fallback on a worker's very first render as well as jPulse shows it
 * while its own boot query runs.
 *
 * Without Redis (or while it is away) each worker queries MongoDB itself,
 * once per TTL.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_doctypes.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_redis.h"
#include "ngx_http_jpulse_view.h"


#define NGX_HTTP_JPULSE_DOCTYPES_TTL        300         /* s: key and copy */
#define NGX_HTTP_JPULSE_DOCTYPES_LOCK       "30000"     /* ms */
#define NGX_HTTP_JPULSE_DOCTYPES_WAIT       1000        /* another refreshes */
#define NGX_HTTP_JPULSE_DOCTYPES_RETRY      5000        /* after a failure */
#define NGX_HTTP_JPULSE_DOCTYPES_MAX        1000        /* entries */
#define NGX_HTTP_JPULSE_DOCTYPES_NAME_MAX   256         /* bytes each */
#define NGX_HTTP_JPULSE_DOCTYPES_BYTES      65536       /* in Redis */
#define NGX_HTTP_JPULSE_DOCTYPES_KEY_MAX    512


typedef struct {
    size_t       max;           /* result_max, 0: none */
    json_t      *list;          /* sorted strings */
} ngx_http_jpulse_doctypes_query_t;


static void ngx_http_jpulse_doctypes_refresh(void);
static void ngx_http_jpulse_doctypes_get_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_doctypes_lock_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_doctypes_recheck_reply(redisReply *reply,
    void *data);
static void ngx_http_jpulse_doctypes_query(void);
static void ngx_http_jpulse_doctypes_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client);
static int ngx_http_jpulse_doctypes_cmp(const void *a, const void *b);
static void ngx_http_jpulse_doctypes_done(ngx_http_jpulse_mongo_op_t *op);
static void ngx_http_jpulse_doctypes_free(ngx_http_jpulse_mongo_op_t *op);
static void ngx_http_jpulse_doctypes_failed(const char *why);
static void ngx_http_jpulse_doctypes_unlock(void);
static json_t *ngx_http_jpulse_doctypes_valid(const char *text, size_t len);
static void ngx_http_jpulse_doctypes_install(json_t *list);
static void ngx_http_jpulse_doctypes_later(ngx_msec_t ms);


static ngx_uint_t    ngx_http_jpulse_doctypes_on;
static json_t       *ngx_http_jpulse_doctypes_list;
static json_t       *ngx_http_jpulse_doctypes_fallback;
static ngx_msec_t    ngx_http_jpulse_doctypes_next;     /* refresh from */
static ngx_uint_t    ngx_http_jpulse_doctypes_busy;     /* a refresh runs */
static ngx_uint_t    ngx_http_jpulse_doctypes_locked;   /* it holds :refresh */
static ngx_uint_t    ngx_http_jpulse_doctypes_bad_logged;
static ngx_uint_t    ngx_http_jpulse_doctypes_failing;

static ngx_http_jpulse_mongo_op_t  *ngx_http_jpulse_doctypes_op;

static u_char        ngx_http_jpulse_doctypes_key[
                         NGX_HTTP_JPULSE_DOCTYPES_KEY_MAX];
static size_t        ngx_http_jpulse_doctypes_key_len;
static u_char        ngx_http_jpulse_doctypes_lock[
                         NGX_HTTP_JPULSE_DOCTYPES_KEY_MAX];
static size_t        ngx_http_jpulse_doctypes_lock_len;

/*
 * The lock's value: the instance id is the same in every worker of this
 * nginx, so the worker's pid is added; a worker whose lock expired never
 * deletes the one another worker took since.
 */
static u_char        ngx_http_jpulse_doctypes_owner[
                         NGX_HTTP_JPULSE_DOCTYPES_KEY_MAX];
static size_t        ngx_http_jpulse_doctypes_owner_len;

/* deletes the lock only while it is still ours (it may have expired) */
static const char    ngx_http_jpulse_doctypes_unlock_lua[] =
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('del', KEYS[1]) end return 0";


ngx_int_t
ngx_http_jpulse_doctypes_init_process(ngx_cycle_t *cycle)
{
    ngx_http_jpulse_main_conf_t  *jmcf;

    if (!ngx_http_jpulse_mongo_configured()) {
        return NGX_OK;
    }

    jmcf = ngx_http_cycle_get_module_main_conf(cycle, ngx_http_jpulse_module);

    ngx_http_jpulse_doctypes_key_len =
        ngx_snprintf(ngx_http_jpulse_doctypes_key,
                     sizeof(ngx_http_jpulse_doctypes_key),
                     "%Vcache:controller:log:docTypes", &jmcf->namespace)
        - ngx_http_jpulse_doctypes_key;

    ngx_http_jpulse_doctypes_lock_len =
        ngx_snprintf(ngx_http_jpulse_doctypes_lock,
                     sizeof(ngx_http_jpulse_doctypes_lock),
                     "%Vcache:controller:log:docTypes:refresh",
                     &jmcf->namespace)
        - ngx_http_jpulse_doctypes_lock;

    ngx_http_jpulse_doctypes_owner_len =
        ngx_snprintf(ngx_http_jpulse_doctypes_owner,
                     sizeof(ngx_http_jpulse_doctypes_owner) - 1, "%V:%P",
                     &ngx_http_jpulse_instance.instance_id, ngx_pid)
        - ngx_http_jpulse_doctypes_owner;

    /* jPulse's LogController fallback */
    ngx_http_jpulse_doctypes_fallback = json_pack("[ss]", "config", "user");
    if (ngx_http_jpulse_doctypes_fallback == NULL) {
        return NGX_ERROR;
    }

    ngx_http_jpulse_doctypes_on = 1;
    ngx_http_jpulse_doctypes_next = ngx_current_msec;

    return NGX_OK;
}


void
ngx_http_jpulse_doctypes_exit_process(ngx_cycle_t *cycle)
{
    json_decref(ngx_http_jpulse_doctypes_list);
    json_decref(ngx_http_jpulse_doctypes_fallback);

    ngx_http_jpulse_doctypes_list = NULL;
    ngx_http_jpulse_doctypes_fallback = NULL;
    ngx_http_jpulse_doctypes_on = 0;
}


json_t *
ngx_http_jpulse_doctypes(void)
{
    if (!ngx_http_jpulse_doctypes_on) {
        return NULL;
    }

    if (!ngx_http_jpulse_doctypes_busy
        && (ngx_msec_int_t) (ngx_current_msec - ngx_http_jpulse_doctypes_next)
           >= 0)
    {
        ngx_http_jpulse_doctypes_refresh();
    }

    return ngx_http_jpulse_doctypes_list ? ngx_http_jpulse_doctypes_list
                                         : ngx_http_jpulse_doctypes_fallback;
}


static void
ngx_http_jpulse_doctypes_refresh(void)
{
    size_t       argvlen[2];
    const char  *argv[2];

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    ngx_http_jpulse_doctypes_busy = 1;
    ngx_http_jpulse_doctypes_locked = 0;

    argv[0] = "GET";
    argv[1] = (const char *) ngx_http_jpulse_doctypes_key;
    argvlen[0] = 3;
    argvlen[1] = ngx_http_jpulse_doctypes_key_len;

    if (ngx_http_jpulse_redis_ready()
        && ngx_http_jpulse_redis_command(ngx_http_jpulse_doctypes_get_reply,
                                         NULL, 2, argv, argvlen)
           == NGX_OK)
    {
        return;
    }

    /* no Redis: this worker's own copy, once per TTL */
    ngx_http_jpulse_doctypes_query();
}


static void
ngx_http_jpulse_doctypes_get_reply(redisReply *reply, void *data)
{
    u_char      *id;
    size_t       argvlen[6];
    json_t      *list;
    const char  *argv[6];

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR
        || ngx_exiting || ngx_terminate || ngx_quit)
    {
        /* lost: the copy in force stays, asked again soon */
        ngx_http_jpulse_doctypes_busy = 0;
        ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_WAIT);
        return;
    }

    if (reply->type == REDIS_REPLY_STRING) {
        list = ngx_http_jpulse_doctypes_valid(reply->str, reply->len);

        if (list != NULL) {
            ngx_http_jpulse_doctypes_install(list);
            json_decref(list);
            ngx_http_jpulse_doctypes_busy = 0;
            ngx_http_jpulse_doctypes_later(
                                     NGX_HTTP_JPULSE_DOCTYPES_TTL * 1000);
            return;
        }

        /* what is there is no list: replaced as if it were missing */
    }

    id = ngx_http_jpulse_doctypes_owner;

    argv[0] = "SET";
    argv[1] = (const char *) ngx_http_jpulse_doctypes_lock;
    argv[2] = (const char *) id;
    argv[3] = "NX";
    argv[4] = "PX";
    argv[5] = NGX_HTTP_JPULSE_DOCTYPES_LOCK;

    argvlen[0] = 3;
    argvlen[1] = ngx_http_jpulse_doctypes_lock_len;
    argvlen[2] = ngx_http_jpulse_doctypes_owner_len;
    argvlen[3] = 2;
    argvlen[4] = 2;
    argvlen[5] = sizeof(NGX_HTTP_JPULSE_DOCTYPES_LOCK) - 1;

    if (ngx_http_jpulse_redis_command(ngx_http_jpulse_doctypes_lock_reply,
                                      NULL, 6, argv, argvlen)
        != NGX_OK)
    {
        ngx_http_jpulse_doctypes_busy = 0;
        ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_WAIT);
    }
}


static void
ngx_http_jpulse_doctypes_lock_reply(redisReply *reply, void *data)
{
    size_t       argvlen[2];
    const char  *argv[2];

    if (reply != NULL && reply->type == REDIS_REPLY_STATUS
        && !(ngx_exiting || ngx_terminate || ngx_quit))
    {
        ngx_http_jpulse_doctypes_locked = 1;

        /*
         * Ours, but the holder before us may have written the list (and
         * let the lock go) between our GET and our SET: look again.
         */

        argv[0] = "GET";
        argv[1] = (const char *) ngx_http_jpulse_doctypes_key;
        argvlen[0] = 3;
        argvlen[1] = ngx_http_jpulse_doctypes_key_len;

        if (ngx_http_jpulse_redis_command(
                ngx_http_jpulse_doctypes_recheck_reply, NULL, 2, argv,
                argvlen)
            != NGX_OK)
        {
            ngx_http_jpulse_doctypes_query();
        }

        return;
    }

    /* another refreshes it (nil), or Redis went away: look again soon */
    ngx_http_jpulse_doctypes_busy = 0;
    ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_WAIT);
}


static void
ngx_http_jpulse_doctypes_recheck_reply(redisReply *reply, void *data)
{
    json_t  *list;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        ngx_http_jpulse_doctypes_busy = 0;
        return;
    }

    list = NULL;

    if (reply != NULL && reply->type == REDIS_REPLY_STRING) {
        list = ngx_http_jpulse_doctypes_valid(reply->str, reply->len);
    }

    if (list == NULL) {
        /* this worker asks MongoDB for the cluster */
        ngx_http_jpulse_doctypes_query();
        return;
    }

    ngx_http_jpulse_doctypes_install(list);
    json_decref(list);

    ngx_http_jpulse_doctypes_unlock();
    ngx_http_jpulse_doctypes_busy = 0;
    ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_TTL * 1000);
}


static void
ngx_http_jpulse_doctypes_query(void)
{
    ngx_int_t                          rc;
    ngx_http_jpulse_mongo_op_t        *op;
    ngx_http_jpulse_doctypes_query_t  *q;

    op = ngx_http_jpulse_mongo_op_create(
                                 sizeof(ngx_http_jpulse_doctypes_query_t),
                                 ngx_cycle->log);
    if (op == NULL) {
        ngx_http_jpulse_doctypes_failed("out of memory");
        return;
    }

    op->run = ngx_http_jpulse_doctypes_run;
    op->bg_done = ngx_http_jpulse_doctypes_done;
    op->free = ngx_http_jpulse_doctypes_free;
    op->name = "doctypes";

    q = op->data;
    q->max = ngx_http_jpulse_mongo_result_max();

    ngx_http_jpulse_doctypes_op = op;

    rc = ngx_http_jpulse_mongo_post(NULL, op);

    if (rc != NGX_OK) {
        /* refused (down, busy): op is freed already */
        ngx_http_jpulse_doctypes_op = NULL;

        ngx_http_jpulse_doctypes_failed(rc == NGX_BUSY
                                        ? "MongoDB is busy"
                                        : "MongoDB is unavailable");
    }
}


/* on a pool thread: mongoc and op only */

static void
ngx_http_jpulse_doctypes_run(ngx_http_jpulse_mongo_op_t *op,
    mongoc_client_t *client)
{
    ngx_http_jpulse_doctypes_query_t  *q = op->data;

    size_t                i, n;
    bson_t                cmd, reply;
    uint32_t              len;
    json_t               *str;
    bson_iter_t           it, values;
    const char           *s, **v;
    mongoc_collection_t  *coll;

    coll = mongoc_client_get_collection(client, op->db, "logs");

    bson_init(&cmd);
    BSON_APPEND_UTF8(&cmd, "distinct", "logs");
    BSON_APPEND_UTF8(&cmd, "key", "data.docType");

    if (op->deadline_ms > 0) {
        BSON_APPEND_INT64(&cmd, "maxTimeMS", op->deadline_ms);
    }

    op->rc = NGX_ERROR;

    if (!mongoc_collection_read_command_with_opts(coll, &cmd, NULL, NULL,
                                                  &reply, &op->error))
    {
        goto done;
    }

    op->result_size = reply.len;

    if (q->max && reply.len > q->max) {
        bson_set_error(&op->error, MONGOC_ERROR_BSON, 0,
                       "distinct reply of %u bytes over result_max",
                       (unsigned) reply.len);
        goto done;
    }

    if (!bson_iter_init_find(&it, &reply, "values")
        || !BSON_ITER_HOLDS_ARRAY(&it)
        || !bson_iter_recurse(&it, &values))
    {
        bson_set_error(&op->error, MONGOC_ERROR_BSON, 0,
                       "distinct reply without values");
        goto done;
    }

    v = malloc(NGX_HTTP_JPULSE_DOCTYPES_MAX * sizeof(char *));
    if (v == NULL) {
        bson_set_error(&op->error, MONGOC_ERROR_BSON, 0, "out of memory");
        goto done;
    }

    n = 0;

    /* jPulse's list holds the strings: null and other types name nothing */
    while (bson_iter_next(&values) && n < NGX_HTTP_JPULSE_DOCTYPES_MAX) {
        if (!BSON_ITER_HOLDS_UTF8(&values)) {
            continue;
        }

        s = bson_iter_utf8(&values, &len);

        if (len > 0 && len <= NGX_HTTP_JPULSE_DOCTYPES_NAME_MAX
            && strlen(s) == len)
        {
            v[n++] = s;
        }
    }

    qsort(v, n, sizeof(char *), ngx_http_jpulse_doctypes_cmp);

    q->list = json_array();

    for (i = 0; q->list != NULL && i < n; i++) {
        str = json_string(v[i]);

        if (str == NULL) {
            /* not UTF-8: no template could print it */
            continue;
        }

        if (json_array_append_new(q->list, str) != 0) {
            json_decref(q->list);
            q->list = NULL;
        }
    }

    free(v);

    if (q->list == NULL) {
        bson_set_error(&op->error, MONGOC_ERROR_BSON, 0,
                       "out of memory");
        goto done;
    }

    op->rc = NGX_OK;

done:

    bson_destroy(&reply);
    bson_destroy(&cmd);
    mongoc_collection_destroy(coll);
}


static int
ngx_http_jpulse_doctypes_cmp(const void *a, const void *b)
{
    /* byte order of UTF-8: JavaScript's sort() for the BMP */
    return strcmp(*(const char **) a, *(const char **) b);
}


static void
ngx_http_jpulse_doctypes_done(ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_doctypes_query_t  *q = op->data;

    u_char      *text, ttl[NGX_INT_T_LEN];
    size_t       argvlen[5];
    const char  *argv[5];

    ngx_http_jpulse_doctypes_op = NULL;

    if (op->rc != NGX_OK) {
        ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_ERRORS, 1);
        ngx_http_jpulse_doctypes_failed(op->error.message);
        return;
    }

    if (ngx_http_jpulse_doctypes_failing) {
        ngx_http_jpulse_doctypes_failing = 0;
        ngx_log_error(NGX_LOG_NOTICE, ngx_cycle->log, 0,
                      "jpulse: docTypes read from MongoDB again");
    }

    ngx_http_jpulse_doctypes_install(q->list);

    ngx_http_jpulse_doctypes_busy = 0;
    ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_TTL * 1000);

    if (!ngx_http_jpulse_doctypes_locked) {
        return;
    }

    /* for the cluster, then the lock goes (a SET, an EVAL: in order) */

    text = (u_char *) json_dumps(q->list, JSON_COMPACT);

    if (text != NULL) {
        argv[0] = "SET";
        argv[1] = (const char *) ngx_http_jpulse_doctypes_key;
        argv[2] = (const char *) text;
        argv[3] = "EX";
        argv[4] = (const char *) ttl;

        argvlen[0] = 3;
        argvlen[1] = ngx_http_jpulse_doctypes_key_len;
        argvlen[2] = ngx_strlen(text);
        argvlen[3] = 2;
        argvlen[4] = ngx_sprintf(ttl, "%d", NGX_HTTP_JPULSE_DOCTYPES_TTL)
                     - ttl;

        (void) ngx_http_jpulse_redis_command(NULL, NULL, 5, argv, argvlen);

        free(text);
    }

    ngx_http_jpulse_doctypes_unlock();
}


static void
ngx_http_jpulse_doctypes_free(ngx_http_jpulse_mongo_op_t *op)
{
    ngx_http_jpulse_doctypes_query_t  *q = op->data;

    json_decref(q->list);
    q->list = NULL;

    if (ngx_http_jpulse_doctypes_op == op) {
        /* never done: the worker exits */
        ngx_http_jpulse_doctypes_op = NULL;
        ngx_http_jpulse_doctypes_busy = 0;
    }
}


static void
ngx_http_jpulse_doctypes_failed(const char *why)
{
    if (!ngx_http_jpulse_doctypes_failing) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "jpulse: docTypes: logs.distinct(\"data.docType\") "
                      "failed: %s; keeping %s, retrying every %d ms", why,
                      ngx_http_jpulse_doctypes_list ? "the list in force"
                      : "jPulse's fallback [\"config\",\"user\"]",
                      NGX_HTTP_JPULSE_DOCTYPES_RETRY);
    }

    ngx_http_jpulse_doctypes_failing = 1;
    ngx_http_jpulse_doctypes_busy = 0;
    ngx_http_jpulse_doctypes_later(NGX_HTTP_JPULSE_DOCTYPES_RETRY);

    /* another instance may have better luck now */
    ngx_http_jpulse_doctypes_unlock();
}


static void
ngx_http_jpulse_doctypes_unlock(void)
{
    size_t       argvlen[5];
    const char  *argv[5];

    if (!ngx_http_jpulse_doctypes_locked) {
        return;
    }

    ngx_http_jpulse_doctypes_locked = 0;

    argv[0] = "EVAL";
    argv[1] = ngx_http_jpulse_doctypes_unlock_lua;
    argv[2] = "1";
    argv[3] = (const char *) ngx_http_jpulse_doctypes_lock;
    argv[4] = (const char *) ngx_http_jpulse_doctypes_owner;

    argvlen[0] = 4;
    argvlen[1] = sizeof(ngx_http_jpulse_doctypes_unlock_lua) - 1;
    argvlen[2] = 1;
    argvlen[3] = ngx_http_jpulse_doctypes_lock_len;
    argvlen[4] = ngx_http_jpulse_doctypes_owner_len;

    /* not sent: it expires (PX) */
    (void) ngx_http_jpulse_redis_command(NULL, NULL, 5, argv, argvlen);
}


/*
 * What another instance (or anyone with access to Redis) wrote: a JSON
 * array of at most NGX_HTTP_JPULSE_DOCTYPES_MAX short strings, else NULL
 * (logged once per worker).
 */

static json_t *
ngx_http_jpulse_doctypes_valid(const char *text, size_t len)
{
    size_t         i;
    json_t        *j, *v;
    json_error_t   err;

    j = NULL;

    if (len <= NGX_HTTP_JPULSE_DOCTYPES_BYTES) {
        j = json_loadb(text, len, 0, &err);
    }

    if (json_is_array(j) && json_array_size(j) <= NGX_HTTP_JPULSE_DOCTYPES_MAX)
    {
        json_array_foreach(j, i, v) {
            if (!json_is_string(v)
                || json_string_length(v) > NGX_HTTP_JPULSE_DOCTYPES_NAME_MAX)
            {
                break;
            }
        }

        if (i == json_array_size(j)) {
            return j;
        }
    }

    json_decref(j);

    if (!ngx_http_jpulse_doctypes_bad_logged) {
        ngx_http_jpulse_doctypes_bad_logged = 1;
        ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0,
                      "jpulse: %*s: %uz bytes that are not a JSON array of "
                      "at most %d strings; ignored, read from MongoDB",
                      ngx_http_jpulse_doctypes_key_len,
                      ngx_http_jpulse_doctypes_key, len,
                      NGX_HTTP_JPULSE_DOCTYPES_MAX);
    }

    return NULL;
}


static void
ngx_http_jpulse_doctypes_install(json_t *list)
{
    if (ngx_http_jpulse_doctypes_list != NULL
        && json_equal(list, ngx_http_jpulse_doctypes_list))
    {
        return;
    }

    json_decref(ngx_http_jpulse_doctypes_list);
    ngx_http_jpulse_doctypes_list = json_incref(list);

    /* appConfig is kept per config generation: it must be built again */
    ngx_http_jpulse_view_config_changed();
}


static void
ngx_http_jpulse_doctypes_later(ngx_msec_t ms)
{
    ngx_http_jpulse_doctypes_next = ngx_current_msec + ms;
}
