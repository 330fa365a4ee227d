/*
 * jpulse_app_cluster_api;
 *
 * POST .../broadcast/<channel> with {"data":{...}} publishes
 *   {"channel":"<channel>","data":{...},"instanceId":"<id>","timestamp":ms}
 * on "<ns>bc:<channel>", where every jPulse peer (Node or nginx) of the
 * site receives it. Without Redis the message is delivered to this
 * worker's listeners only and the answer says "fallback", as jPulse does.
 * GET .../broadcast/status tells whether broadcasts reach the cluster.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jansson.h>

#include "jp_channel.h"
#include "jp_time.h"
#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_access.h"
#include "ngx_http_jpulse_broadcast.h"
#include "ngx_http_jpulse_instance.h"
#include "ngx_http_jpulse_metrics.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_redis.h"


typedef struct {
    ngx_str_t                    channel;
    ngx_str_t                    message;
    uint64_t                     timestamp;     /* ms since the epoch */
    ngx_msec_t                   start;
} ngx_http_jpulse_broadcast_ctx_t;


static ngx_int_t ngx_http_jpulse_app_cluster_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_broadcast_status(ngx_http_request_t *r);
static void ngx_http_jpulse_broadcast_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_broadcast_publish(ngx_http_request_t *r);
static ngx_int_t ngx_http_jpulse_broadcast_message(ngx_http_request_t *r,
    ngx_http_jpulse_broadcast_ctx_t *bc, ngx_str_t *body,
    const char **error);
static void ngx_http_jpulse_broadcast_published(ngx_http_request_t *r,
    redisReply *reply, void *data);
static ngx_int_t ngx_http_jpulse_broadcast_done(ngx_http_request_t *r,
    ngx_http_jpulse_broadcast_ctx_t *bc, ngx_uint_t fallback);
static void ngx_http_jpulse_broadcast_received(ngx_str_t *channel,
    ngx_str_t *message, void *data);


static ngx_str_t  ngx_http_jpulse_broadcast_segment =
    ngx_string("/broadcast/");


ngx_conf_enum_t  ngx_http_jpulse_reserved_channels[] = {
    { ngx_string("deny"), 0 },
    { ngx_string("allow"), 1 },
    { ngx_null_string, 0 }
};


char *
ngx_http_jpulse_app_cluster_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    return ngx_http_jpulse_set_handler(cf, cmd, conf,
                                       NGX_HTTP_JPULSE_HANDLER_CLUSTER,
                                       ngx_http_jpulse_app_cluster_handler);
}


ngx_int_t
ngx_http_jpulse_broadcast_init_process(ngx_cycle_t *cycle)
{
    /* with or without Redis: local deliveries count as well */

    return ngx_http_jpulse_redis_on_message("",
                                    ngx_http_jpulse_broadcast_received, NULL);
}


/* Counted for the metrics; the concerns that act on messages listen too. */

static void
ngx_http_jpulse_broadcast_received(ngx_str_t *channel, ngx_str_t *message,
    void *data)
{
    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_BROADCASTS_RECEIVED, 1);
    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_BROADCAST_BYTES_RECEIVED,
                                message->len);
}


static ngx_int_t
ngx_http_jpulse_app_cluster_handler(ngx_http_request_t *r)
{
    u_char                           *p, *last;
    ngx_int_t                         rc;
    ngx_http_jpulse_loc_conf_t       *jlcf;
    ngx_http_jpulse_broadcast_ctx_t  *bc;

    if (ngx_http_jpulse_serve(r, NGX_HTTP_JPULSE_HANDLER_CLUSTER) == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    last = r->uri.data + r->uri.len;
    p = ngx_strlcasestrn(r->uri.data, last,
                         ngx_http_jpulse_broadcast_segment.data,
                         ngx_http_jpulse_broadcast_segment.len - 1);

    if (p == NULL) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_jpulse_send_error(r, NGX_HTTP_NOT_FOUND, "NOT_FOUND",
                                          "Not found", NULL);
    }

    p += ngx_http_jpulse_broadcast_segment.len;

    if (last - p == 6 && ngx_strncmp(p, "status", 6) == 0) {
        rc = ngx_http_jpulse_read_only(r);
        if (rc != NGX_DECLINED) {
            return rc;
        }

        return ngx_http_jpulse_broadcast_status(r);
    }

    if (r->method != NGX_HTTP_POST) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_jpulse_send_405(r, "POST");
    }

    /* with sessions on here, publishing is for signed-in users */
    rc = ngx_http_jpulse_access_user_api(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    if (!jp_channel_valid_rest((char *) p, last - p)) {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_jpulse_send_error(r, NGX_HTTP_BAD_REQUEST,
                                          "INVALID_CHANNEL_NAME",
                                          "Invalid channel name: expected "
                                          "layer:component:domain:action "
                                          "with layer controller, model or "
                                          "view", NULL);
    }

    /*
     * A client that could publish what the module listens to would make
     * every worker of every instance drop its caches, or show instances
     * that do not exist in the cluster view and remove real ones.
     */

    jlcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_module);

    if (!jlcf->reserved_channels
        && jp_channel_reserved((char *) p, last - p))
    {
        rc = ngx_http_discard_request_body(r);
        if (rc != NGX_OK) {
            return rc;
        }

        return ngx_http_jpulse_send_error(r, NGX_HTTP_FORBIDDEN,
                                          "RESERVED_CHANNEL",
                                          "Channel reserved for the "
                                          "cluster's own messages", NULL);
    }

    bc = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_broadcast_ctx_t));
    if (bc == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    bc->channel.data = p;
    bc->channel.len = last - p;
    bc->start = ngx_current_msec;

    ngx_http_jpulse_ctx(r)->data = bc;

    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_jpulse_broadcast_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static void
ngx_http_jpulse_broadcast_body(ngx_http_request_t *r)
{
    ngx_http_finalize_request(r, ngx_http_jpulse_broadcast_publish(r));
}


static ngx_int_t
ngx_http_jpulse_broadcast_publish(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_str_t                         body, key;
    const char                       *argv[3], *error;
    size_t                            argvlen[3];
    ngx_http_jpulse_broadcast_ctx_t  *bc;
    ngx_http_jpulse_main_conf_t      *jmcf;

    bc = ngx_http_jpulse_ctx(r)->data;

    if (ngx_http_jpulse_read_body(r, &body) != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_broadcast_message(r, bc, &body, &error);

    if (rc == NGX_DECLINED) {
        return ngx_http_jpulse_send_error(r, NGX_HTTP_BAD_REQUEST,
                                          "INVALID_DATA", error, NULL);
    }

    if (rc != NGX_OK) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    jmcf = ngx_http_get_module_main_conf(r, ngx_http_jpulse_module);

    key.len = jmcf->namespace.len + sizeof("bc:") - 1 + bc->channel.len;
    key.data = ngx_pnalloc(r->pool, key.len);
    if (key.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_sprintf(key.data, "%Vbc:%V", &jmcf->namespace, &bc->channel);

    argv[0] = "PUBLISH";
    argvlen[0] = 7;
    argv[1] = (char *) key.data;
    argvlen[1] = key.len;
    argv[2] = (char *) bc->message.data;
    argvlen[2] = bc->message.len;

    rc = ngx_http_jpulse_redis_request(r, ngx_http_jpulse_broadcast_published,
                                       bc, 3, argv, argvlen);

    if (rc == NGX_OK) {
        /* parked: the reply finishes the request */
        return NGX_DONE;
    }

    if (rc == NGX_ERROR) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* no Redis: this worker is the whole cluster, as jPulse does */

    ngx_http_jpulse_redis_deliver(&bc->channel, &bc->message);

    return ngx_http_jpulse_broadcast_done(r, bc, 1);
}


/*
 * {"channel":...,"data":<data, compact>,"instanceId":...,"timestamp":...}
 * NGX_DECLINED with *error set when the body is not {"data":{...}}.
 */

static ngx_int_t
ngx_http_jpulse_broadcast_message(ngx_http_request_t *r,
    ngx_http_jpulse_broadcast_ctx_t *bc, ngx_str_t *body, const char **error)
{
    u_char        *p;
    size_t         n;
    json_t        *root, *data;
    ngx_time_t    *tp;
    json_error_t   err;

    root = json_loadb((char *) body->data, body->len, 0, &err);

    if (root == NULL) {
        *error = "The body must be JSON: {\"data\":{...}}";
        return NGX_DECLINED;
    }

    data = json_object_get(root, "data");

    if (!json_is_object(data)) {
        json_decref(root);
        *error = "\"data\" must be an object";
        return NGX_DECLINED;
    }

    tp = ngx_timeofday();
    bc->timestamp = (uint64_t) tp->sec * 1000 + tp->msec;

    n = json_dumpb(data, NULL, 0, JSON_COMPACT);

    bc->message.len = sizeof("{\"channel\":\"\",\"data\":,\"instanceId\":"
                             "\"\",\"timestamp\":}") - 1
                      + bc->channel.len + n
                      + ngx_http_jpulse_instance.instance_id.len
                      + NGX_INT64_LEN;

    bc->message.data = ngx_pnalloc(r->pool, bc->message.len);
    if (bc->message.data == NULL) {
        json_decref(root);
        return NGX_ERROR;
    }

    /* the channel passed the REST rule: no character needs escaping */

    p = ngx_sprintf(bc->message.data, "{\"channel\":\"%V\",\"data\":",
                    &bc->channel);
    p += json_dumpb(data, (char *) p, n, JSON_COMPACT);
    p = ngx_sprintf(p, ",\"instanceId\":\"%V\",\"timestamp\":%uL}",
                    &ngx_http_jpulse_instance.instance_id, bc->timestamp);

    bc->message.len = p - bc->message.data;

    json_decref(root);

    return NGX_OK;
}


static void
ngx_http_jpulse_broadcast_published(ngx_http_request_t *r, redisReply *reply,
    void *data)
{
    ngx_http_jpulse_broadcast_ctx_t  *bc = data;

    if (reply == NULL || reply->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "jpulse broadcast on \"%V\" failed: %s", &bc->channel,
                      reply ? reply->str : "no answer from Redis");

        ngx_http_finalize_request(r,
            ngx_http_jpulse_send_error(r, NGX_HTTP_SERVICE_UNAVAILABLE,
                                       "BROADCAST_FAILED",
                                       "Redis did not take the broadcast",
                                       NULL));
        return;
    }

    ngx_http_finalize_request(r, ngx_http_jpulse_broadcast_done(r, bc, 0));
}


/*
 * jPulse's answer: the time of the answer as Date.toISOString() writes it
 * (the message on the wire keeps its number of ms), and the English text
 * of controller.broadcast.publishSuccessful or .publishSkipped. The
 * channel passed the REST rule: no character needs escaping.
 */

static ngx_int_t
ngx_http_jpulse_broadcast_done(ngx_http_request_t *r,
    ngx_http_jpulse_broadcast_ctx_t *bc, ngx_uint_t fallback)
{
    ngx_http_jpulse_out_t  out;

    ngx_http_jpulse_metrics_add(NGX_HTTP_JPULSE_BROADCASTS_PUBLISHED, 1);

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out,
        "{\"success\":true,\"data\":{\"channel\":\"%V\","
        "\"instanceId\":\"%V\",",
        &bc->channel, &ngx_http_jpulse_instance.instance_id);
    ngx_http_jpulse_out_timestamp(&out);

    if (fallback) {
        ngx_http_jpulse_out_printf(&out,
            ",\"fallback\":true},\"message\":\"Broadcast skipped - Redis "
            "unavailable (graceful fallback)\",");

    } else {
        ngx_http_jpulse_out_printf(&out,
            "},\"message\":\"Broadcast published to %V\",", &bc->channel);
    }

    ngx_http_jpulse_out_printf(&out, "\"elapsed\":%M}",
                               ngx_current_msec - bc->start);

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}


static ngx_int_t
ngx_http_jpulse_broadcast_status(ngx_http_request_t *r)
{
    ngx_http_jpulse_out_t  out;

    ngx_http_jpulse_out_init(&out, r->pool);

    ngx_http_jpulse_out_printf(&out,
        "{\"success\":true,\"data\":{\"instanceId\":\"%V\","
        "\"redisAvailable\":%s,\"redisMode\":\"%s\","
        "\"broadcastEnabled\":true,",
        &ngx_http_jpulse_instance.instance_id,
        ngx_http_jpulse_redis_ready() ? "true" : "false",
        ngx_http_jpulse_redis_configured() ? "single" : "none");
    ngx_http_jpulse_out_timestamp(&out);
    ngx_http_jpulse_out_printf(&out, "}}");

    return ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);
}
