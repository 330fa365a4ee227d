/*
 * jpulse_search's requests: jPulse's paginated search (contract §3) as a
 * content handler. A request is parsed and its find built here, in the
 * event loop; the find runs on a thread (ngx_http_jpulse_search_run.c)
 * while the request is parked, and the page is answered here again.
 * The directives are in ngx_http_jpulse_search_conf.c.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <jp_search.h>

#include "ngx_http_jpulse_module.h"
#include "ngx_http_jpulse_mongo.h"
#include "ngx_http_jpulse_out.h"
#include "ngx_http_jpulse_search.h"


typedef struct {
    jp_search_request_t         req;
    ngx_msec_t                  start;
} ngx_http_jpulse_search_ctx_t;


static void ngx_http_jpulse_search_cleanup_request(void *data);
static ngx_int_t ngx_http_jpulse_search_refuse(ngx_http_request_t *r,
    jp_search_error_t *err);
static ngx_int_t ngx_http_jpulse_search_op(
    ngx_http_jpulse_search_loc_conf_t *slcf,
    ngx_http_jpulse_search_ctx_t *ctx, ngx_http_jpulse_search_op_t *so);
static char *ngx_http_jpulse_search_projection(json_t *projection,
    json_t *sort);
static void ngx_http_jpulse_search_done(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op);
static ngx_int_t ngx_http_jpulse_search_answer(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf, json_t *page,
    ngx_msec_t start);


static void
ngx_http_jpulse_search_cleanup_request(void *data)
{
    jp_search_request_free(data);
}


ngx_int_t
ngx_http_jpulse_search_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    jp_search_error_t                   err;
    ngx_pool_cleanup_t                 *cln;
    ngx_http_jpulse_mongo_op_t         *op;
    ngx_http_jpulse_search_ctx_t       *ctx;
    ngx_http_jpulse_search_loc_conf_t  *slcf;

    rc = ngx_http_jpulse_read_only(r);
    if (rc != NGX_DECLINED) {
        return rc;
    }

    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_search_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_jpulse_search_ctx_t));
    if (ctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    cln->handler = ngx_http_jpulse_search_cleanup_request;
    cln->data = &ctx->req;

    ctx->start = ngx_current_msec;

    ngx_memzero(&err, sizeof(jp_search_error_t));

    if (jp_search_parse(slcf->schema, (char *) slcf->collection.data,
                        r->args.len ? (char *) r->args.data : "",
                        r->args.len,
                        slcf->keys->elts, slcf->keys->nelts,
                        slcf->fallback, &ctx->req, &err)
        != 0)
    {
        return ngx_http_jpulse_search_refuse(r, &err);
    }

    ngx_http_set_ctx(r, ctx, ngx_http_jpulse_search_module);

    op = ngx_http_jpulse_mongo_op_create(sizeof(ngx_http_jpulse_search_op_t),
                                         r->connection->log);
    if (op == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    op->run = ngx_http_jpulse_search_run;
    op->done = ngx_http_jpulse_search_done;
    op->free = ngx_http_jpulse_search_free;
    op->name = "search";

    if (ngx_http_jpulse_search_op(slcf, ctx, op->data) != NGX_OK) {
        ngx_http_jpulse_mongo_op_free(op);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = ngx_http_jpulse_mongo_post(r, op);

    switch (rc) {

    case NGX_OK:
        return NGX_DONE;

    default:
        /* NGX_ERROR as well: the JSON envelope, 500 DATABASE_ERROR */
        return ngx_http_jpulse_mongo_send_refusal(r, rc);
    }
}


static ngx_int_t
ngx_http_jpulse_search_refuse(ngx_http_request_t *r, jp_search_error_t *err)
{
    ngx_str_t              details, *dp;
    ngx_http_jpulse_out_t  out;

    dp = NULL;

    if (err->param[0] != '\0') {
        ngx_http_jpulse_out_init(&out, r->pool);
        ngx_http_jpulse_out_raw(&out, (u_char *) "{\"param\":", 9);
        ngx_http_jpulse_out_json_str(&out, (u_char *) err->param,
                                     ngx_strnlen((u_char *) err->param,
                                                 sizeof(err->param)));
        ngx_http_jpulse_out_raw(&out, (u_char *) "}", 1);

        if (ngx_http_jpulse_out_flatten(&out, &details) == NGX_OK) {
            dp = &details;
        }
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "jpulse search refused: %s %s",
                   err->code ? err->code : "-", err->message);

    return ngx_http_jpulse_send_error(r, NGX_HTTP_BAD_REQUEST,
                                      err->code ? err->code
                                                : "INVALID_PARAMETER",
                                      err->message[0] ? err->message
                                                      : "Invalid request",
                                      dp);
}


/* the find of the request, as heap strings for the thread */

static ngx_int_t
ngx_http_jpulse_search_op(ngx_http_jpulse_search_loc_conf_t *slcf,
    ngx_http_jpulse_search_ctx_t *ctx, ngx_http_jpulse_search_op_t *so)
{
    long                  limit, skip;
    json_t               *filter, *sort, *count, *collation;
    ngx_int_t             rc;
    jp_search_request_t  *req;

    req = &ctx->req;

    filter = NULL;
    sort = NULL;
    count = NULL;
    collation = NULL;
    rc = NGX_ERROR;

    if (jp_search_find(req, &filter, &sort, &limit, &skip) != 0) {
        goto done;
    }

    so->collection = strdup((char *) slcf->collection.data);
    so->filter = json_dumps(filter, JSON_COMPACT);
    so->sort = json_dumps(sort, JSON_COMPACT);

    if (so->collection == NULL || so->filter == NULL || so->sort == NULL) {
        goto done;
    }

    so->limit = limit;
    so->skip = (req->mode == JP_SEARCH_OFFSET) ? skip : 0;
    so->result_max = ngx_http_jpulse_mongo_result_max();

    /* jPulse counts on the first cursor page and on every offset page */

    if (req->mode == JP_SEARCH_OFFSET || !req->has_cursor) {
        count = jp_search_count_filter(req);
        if (count == NULL) {
            goto done;
        }

        so->count = json_dumps(count, JSON_COMPACT);
        if (so->count == NULL) {
            goto done;
        }

    } else {
        so->total = req->total;
    }

    collation = jp_search_collation(req);
    if (collation != NULL) {
        so->collation = json_dumps(collation, JSON_COMPACT);
        if (so->collation == NULL) {
            goto done;
        }
    }

    if (slcf->projection != NULL) {
        so->projection = ngx_http_jpulse_search_projection(slcf->projection,
                                                           req->sort);
        if (so->projection == NULL) {
            goto done;
        }
    }

    rc = NGX_OK;

done:

    json_decref(filter);
    json_decref(sort);
    json_decref(count);
    json_decref(collation);

    return rc;
}


/*
 * The configured projection, with the page's sort keys returned whatever
 * it says: the next and prev cursors are made of their values. MongoDB
 * refuses a projection whose paths collide ("a" with "a.b"), so a path
 * that contains a sort key, or lies inside one, makes way for it.
 */

static char *
ngx_http_jpulse_search_projection(json_t *projection, json_t *sort)
{
    char        *s;
    size_t       klen, plen;
    json_t      *proj, *v;
    const char  *key, *path;
    void        *tmp;
    ngx_uint_t   inclusion;

    proj = json_deep_copy(projection);
    if (proj == NULL) {
        return NULL;
    }

    inclusion = 0;

    json_object_foreach(proj, path, v) {
        if (ngx_strcmp(path, "_id") != 0
            && (json_is_true(v)
                || (json_is_number(v) && json_number_value(v) != 0)))
        {
            inclusion = 1;
        }
    }

    json_object_foreach(sort, key, v) {
        klen = ngx_strlen(key);

        json_object_foreach_safe(proj, tmp, path, v) {
            plen = ngx_strlen(path);

            if (plen == klen && ngx_strcmp(path, key) == 0) {
                json_object_del(proj, path);

            } else if (plen < klen && key[plen] == '.'
                       && ngx_strncmp(path, key, plen) == 0)
            {
                /* a parent of the key: included, it already has it */
                if (!inclusion) {
                    json_object_del(proj, path);
                }

            } else if (plen > klen && path[klen] == '.'
                       && ngx_strncmp(path, key, klen) == 0)
            {
                json_object_del(proj, path);
            }
        }

        if (inclusion && json_object_set_new(proj, key, json_integer(1)) != 0)
        {
            json_decref(proj);
            return NULL;
        }
    }

    s = json_dumps(proj, JSON_COMPACT);
    json_decref(proj);

    return s;
}


static void
ngx_http_jpulse_search_done(ngx_http_request_t *r,
    ngx_http_jpulse_mongo_op_t *op)
{
    json_t                             *page;
    ngx_int_t                           rc;
    jp_search_key_t                    *keys;
    ngx_http_jpulse_search_op_t        *so;
    ngx_http_jpulse_search_ctx_t       *ctx;
    ngx_http_jpulse_search_loc_conf_t  *slcf;

    so = op->data;
    ctx = ngx_http_get_module_ctx(r, ngx_http_jpulse_search_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_jpulse_search_module);

    if (op->rc != NGX_OK) {

        if (so->too_large) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "jpulse search on \"%V\": the result passed "
                          "result_max (%uz bytes of JSON held, %uz allowed)",
                          &slcf->collection, so->bytes, so->result_max);

            rc = ngx_http_jpulse_send_error(r,
                                     NGX_HTTP_INTERNAL_SERVER_ERROR,
                                     "DATABASE_ERROR",
                                     "The search result is too large", NULL);

        } else {
            rc = ngx_http_jpulse_mongo_send_error(r, op);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    keys = slcf->keys->elts;

    page = jp_search_page(slcf->schema, (char *) slcf->collection.data,
                          &ctx->req, so->docs, so->total, &keys[0]);
    if (page == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    rc = ngx_http_jpulse_search_answer(r, slcf, page, ctx->start);

    json_decref(page);

    ngx_http_finalize_request(r, rc);
}


/*
 * jPulse's answer, keys in its order: success, message, then the
 * pagination result (data, count, pagination), then elapsed.
 */

static ngx_int_t
ngx_http_jpulse_search_answer(ngx_http_request_t *r,
    ngx_http_jpulse_search_loc_conf_t *slcf, json_t *page, ngx_msec_t start)
{
    char                   *s;
    u_char                 *p, *end, *q;
    u_char                  num[NGX_INT64_LEN];
    size_t                  n;
    json_t                 *answer, *count;
    ngx_int_t               rc;
    ngx_str_t               message;
    json_int_t              c;
    ngx_http_jpulse_out_t   out;

    count = json_object_get(page, "count");
    c = json_is_integer(count) ? json_integer_value(count) : 0;

    /* the message with {{count}} in it */

    n = ngx_sprintf(num, "%L", (int64_t) c) - num;

    message.data = ngx_pnalloc(r->pool, slcf->message.len * (n + 1) + 1);
    if (message.data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    q = message.data;
    p = slcf->message.data;
    end = p + slcf->message.len;

    while (p < end) {
        if (end - p >= 9 && ngx_strncmp(p, "{{count}}", 9) == 0) {
            q = ngx_cpymem(q, num, n);
            p += 9;
            continue;
        }

        *q++ = *p++;
    }

    message.len = q - message.data;

    answer = json_object();
    if (answer == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    rc = NGX_HTTP_INTERNAL_SERVER_ERROR;

    if (json_object_set_new(answer, "success", json_true()) != 0
        || json_object_set_new(answer, "message",
                               json_stringn((char *) message.data,
                                            message.len)) != 0
        || json_object_set(answer, "data",
                           json_object_get(page, "data")) != 0
        || json_object_set(answer, "count", count) != 0
        || json_object_set(answer, "pagination",
                           json_object_get(page, "pagination")) != 0
        || json_object_set_new(answer, "elapsed",
                               json_integer((json_int_t)
                                            (ngx_current_msec - start)))
           != 0)
    {
        goto done;
    }

    s = json_dumps(answer, JSON_COMPACT);
    if (s == NULL) {
        goto done;
    }

    ngx_http_jpulse_out_init(&out, r->pool);
    ngx_http_jpulse_out_raw(&out, (u_char *) s, ngx_strlen(s));
    free(s);

    rc = ngx_http_jpulse_out_send(r, &out, NGX_HTTP_OK, NULL);

done:

    json_decref(answer);

    return rc;
}
